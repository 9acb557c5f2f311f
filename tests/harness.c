/* harness.c: the shared test fixture. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

static rt_ctx *ctx;
static int count_before;

rt_ctx *th_ctx(void)
{
    if (!ctx) {
        rt_options o = {.validation = 1};
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

void th_random(float *x, size_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
}
