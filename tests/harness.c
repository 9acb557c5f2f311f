/* harness.c: the shared test fixture. */
#include "harness.h"
#include "cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rt_ctx *ctx;
static int count_before;

rt_ctx *th_ctx(void)
{
    if (!ctx) {
        /* best practices too with MEG_VALIDATION=best (or, under meson test,
         * whose MEG_VALIDATION=1 wins, MEG_TEST_VALIDATION=best: --setup best) */
        const char *v = getenv("MEG_TEST_VALIDATION");
        if (!v) v = getenv("MEG_VALIDATION");
        rt_options o = {.validation = v && !strcmp(v, "best") ? 2 : 1};
        if (rt_ctx_create(&o, &ctx)) {
            fprintf(stderr, "test harness: cannot create a Vulkan context: %s\n", rt_error());
            exit(1);
        }
    }
    return ctx;
}

static void setup(void) { count_before = rt_validation_count(th_ctx()); }

static void teardown(void)
{
    int n = rt_validation_count(th_ctx()) - count_before;
    ck_assert_msg(n == 0, "%d Vulkan validation message(s) during this test (printed above)", n);
}

void th_validated(TCase *tc) { tcase_add_checked_fixture(tc, setup, teardown); }

int th_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (ctx) {
        int n = rt_validation_count(ctx);
        rt_ctx_destroy(ctx);
        ctx = NULL;
        if (n) {
            fprintf(stderr, "%d Vulkan validation message(s) in this suite\n", n);
            failed++;
        }
    }
    return failed ? 1 : 0;
}

void th_random(float *x, size_t n, uint64_t seed) { tc_random(x, n, seed); }
