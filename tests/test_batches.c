/* test_batches.c: data sets on the device (models/data/batches.h): the
 * minibatches drawn there hold the rows of the host's set (fp32 and 8-bit
 * values, labels), a set split over several inputs gives the same
 * minibatches as one input, StackedMNIST batches equal meg_stacked_images
 * of the entries drawn and the CPU reference's, and bad sets, uploads and
 * limits are refused with messages naming them. Validation on. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batches.h"
#include "cases.h"
#include "util.h"

static const uint64_t SEED = 91;

/* n examples of `shape`, with labels 0-9; u8: as bytes too (an IDX set),
 * x their pixel values. */
static void make_set(meg_dataset *d, const char *name, size_t n, int ndim, const int *shape, int u8, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    d->name = strdup(name);
    d->n = n;
    d->ndim = ndim;
    for (int k = 0; k < ndim; k++) d->shape[k] = shape[k];
    size_t dim = meg_dataset_dim(d);
    d->x = malloc(n * dim * sizeof *d->x);
    d->labels = malloc(n * sizeof *d->labels);
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) d->labels[i] = (int32_t)(tc_next(&st) % 10);
    if (u8) {
        d->u8 = malloc(n * dim);
        for (size_t j = 0; j < n * dim; j++) {
            d->u8[j] = (uint8_t)(tc_next(&st) >> 56);
            d->x[j] = meg_pixel_value(d->u8[j]);
        }
    } else {
        tc_random(d->x, n * dim, seed);
    }
}

static g_session *session(g_graph *g)
{
    g_session *s;
    ck_assert_msg(!g_graph_error(g), "%s", g_graph_error(g));
    ck_assert_msg(g_session_new(th_ctx(), g, SEED, &s) == 0, "%s", rt_error());
    return s;
}

static float *read_all(g_session *s, g_tensor *t)
{
    float *v = malloc(g_numel(t) * sizeof *v);
    ck_assert_msg(g_session_read(s, t, v) == 0, "%s", rt_error());
    return v;
}

/* The drawn rows of d: x[b] is row idx[b] of d->x (within fp32 rounding of
 * the pixel values for bytes), labels[b] its label. */
static void check_rows(const meg_dataset *d, const float *idx, int B, const float *x, const float *y, double tol)
{
    size_t dim = meg_dataset_dim(d);
    for (int b = 0; b < B; b++) {
        ck_assert_msg(idx[b] >= 0 && idx[b] < (float)d->n && idx[b] == floorf(idx[b]), "index %d is %g", b, idx[b]);
        size_t r = (size_t)idx[b];
        for (size_t j = 0; j < dim; j++)
            ck_assert_msg(fabs(x[b * dim + j] - d->x[r * dim + j]) <= tol, "%s: row %d (example %zu) value %zu: %.9g, "
                          "the set holds %.9g", d->name, b, r, j, x[b * dim + j], d->x[r * dim + j]);
        if (y) ck_assert_msg(y[b] == (float)d->labels[r], "row %d: label %g, example %zu has %d", b, y[b], r,
                             d->labels[r]);
    }
}

START_TEST(minibatches_hold_the_rows_of_the_set)
{
    /* vectors of fp32 values, and images of bytes */
    for (int u8 = 0; u8 < 2; u8++) {
        meg_dataset d;
        if (u8) make_set(&d, "images", 300, 3, G_SHAPE(2, 5, 7), 1, 4);
        else make_set(&d, "vectors", 1000, 1, G_SHAPE(13), 0, 5);
        g_graph *g = g_graph_new();
        meg_device_set ds;
        ck_assert_msg(meg_device_set_make(g, "train", &d, 1, NULL, &ds) == 0, "%s", rt_error());
        ck_assert_int_eq(ds.values.nparts, 1);
        ck_assert_int_eq(ds.values.u8, u8);
        ck_assert(g_is_u8(ds.values.part[0]) == u8);
        ck_assert_ptr_eq(g_graph_find(g, "train.x"), ds.values.part[0]);
        ck_assert_ptr_eq(g_graph_find(g, "train.y"), ds.labels.part[0]);
        g_tensor *rng = g_rng(g, "rng", 3);
        int B = 67;
        g_tensor *idx = g_rand_int(rng, (int)d.n, 1, G_SHAPE(B)), *y;
        g_tensor *x = meg_device_set_gather(&ds, idx, &y);
        ck_assert_msg(x && y, "%s", g_graph_error(g));
        ck_assert_int_eq(x->ndim, 1 + d.ndim);
        ck_assert_int_eq(x->shape[0], B);
        ck_assert_int_eq(x->shape[d.ndim], d.shape[d.ndim - 1]);
        g_tensor *roots[4] = {x, y, idx, g_rng_advance(rng)};
        g_session *s = session(g);
        ck_assert_msg(meg_device_set_upload(s, &ds, &d) == 0, "%s", rt_error());
        g_plan *p;
        ck_assert_msg(g_plan_new(s, roots, 4, NULL, &p) == 0, "%s", rt_error());
        float *first = NULL;
        for (int run = 0; run < 2; run++) {
            ck_assert_msg(g_plan_run(p, 1) == 0, "%s", rt_error());
            float *xv = read_all(s, x), *yv = read_all(s, y), *iv = read_all(s, idx);
            check_rows(&d, iv, B, xv, yv, u8 ? 2.5e-7 : 0);
            if (!run) first = iv;
            else {
                int same = 0;
                for (int b = 0; b < B; b++) same += first[b] == iv[b];
                ck_assert_msg(same < B / 4, "the second run drew %d of the same %d indices", same, B);
                free(iv);
            }
            free(xv);
            free(yv);
        }
        free(first);
        g_plan_free(p);
        g_session_free(s);
        g_graph_free(g);
        meg_dataset_free(&d);
    }
}
END_TEST

/* One graph, one draw of indices, the set in one input and split by lower
 * limits (and by $MEG_LIMIT_TEXELS): the same minibatches bit for bit. */
START_TEST(a_split_set_gives_the_minibatches_of_an_unsplit_one)
{
    meg_dataset d;
    make_set(&d, "images", 1001, 3, G_SHAPE(1, 6, 5), 1, 8);
    for (int u8 = 0; u8 < 2; u8++) {
        g_graph *g = g_graph_new();
        g_limits lim;
        g_limits_default(&lim);
        meg_device_set one, split, env;
        ck_assert_msg(meg_device_set_make(g, "one", &d, u8, &lim, &one) == 0, "%s", rt_error());
        lim.max_texels = 250 * 30;   /* 250 images an input: 5 parts (of 200 or 201) */
        ck_assert_msg(meg_device_set_make(g, "split", &d, u8, &lim, &split) == 0, "%s", rt_error());
        ck_assert_int_eq(split.values.nparts, 5);
        ck_assert_int_eq(split.labels.nparts, 1);
        ck_assert_uint_eq(split.values.start[1], 200);
        ck_assert_uint_eq(split.values.start[5], 1001);
        ck_assert_ptr_nonnull(g_graph_find(g, "split.x.4"));
        /* the limits of $MEG_LIMIT_TEXELS (unset before any check can stop the test) */
        ck_assert_int_eq(setenv("MEG_LIMIT_TEXELS", "90", 1), 0);   /* 3 images an input: 334 parts */
        int rc = meg_device_set_make(g, "env", &d, u8, NULL, &env);
        unsetenv("MEG_LIMIT_TEXELS");
        ck_assert_int_eq(rc, -1);   /* more parts than supported */
        ck_assert_msg(strstr(rt_error(), "env.x") && strstr(rt_error(), "334 inputs"), "%s", rt_error());
        ck_assert_int_eq(setenv("MEG_LIMIT_TEXELS", "3000", 1), 0);   /* 100 images an input: 11 parts */
        rc = meg_device_set_make(g, "env", &d, u8, NULL, &env);
        unsetenv("MEG_LIMIT_TEXELS");
        ck_assert_msg(rc == 0, "%s", rt_error());
        ck_assert_int_eq(env.values.nparts, 11);
        g_tensor *rng = g_rng(g, "rng", 12);
        /* every part's first and last rows, and the ends clamped */
        g_tensor *idx = g_input(g, "idx", 1, G_SHAPE(64));
        g_tensor *drawn = g_rand_int(rng, (int)d.n, 1, G_SHAPE(300));
        g_tensor *y1, *y2, *y3, *z1, *z2, *z3;
        g_tensor *roots[] = {meg_device_set_gather(&one, idx, &y1), meg_device_set_gather(&split, idx, &y2),
                             meg_device_set_gather(&env, idx, &y3), meg_device_set_gather(&one, drawn, &z1),
                             meg_device_set_gather(&split, drawn, &z2), meg_device_set_gather(&env, drawn, &z3),
                             y1, y2, y3, z1, z2, z3, drawn};
        g_session *s = session(g);
        ck_assert(meg_device_set_upload(s, &one, &d) == 0 && meg_device_set_upload(s, &split, &d) == 0 &&
                  meg_device_set_upload(s, &env, &d) == 0);
        float iv[64];
        int k = 0;
        for (int p = 0; p <= 5; p++)
            for (int e = -1; e <= 1; e++) iv[k++] = (float)split.values.start[p] + e;
        for (; k < 64; k++) iv[k] = (float)(k * 97 % 1003) - 1;
        ck_assert(g_session_write(s, idx, iv) == 0);
        g_plan *p;
        ck_assert_msg(g_plan_new(s, roots, 13, NULL, &p) == 0, "%s", rt_error());
        ck_assert_msg(g_plan_run(p, 1) == 0, "%s", rt_error());
        float *v[13];
        for (int r = 0; r < 13; r++) v[r] = read_all(s, roots[r]);
        for (int r = 0; r < 12; r += 3) {
            size_t n = g_numel(roots[r]);
            ck_assert_msg(!memcmp(v[r], v[r + 1], n * sizeof(float)), "u8 %d: root %d: split in 5 differs", u8, r);
            ck_assert_msg(!memcmp(v[r], v[r + 2], n * sizeof(float)), "u8 %d: root %d: split in 11 differs", u8, r);
        }
        for (int j = 0; j < 64; j++) iv[j] = iv[j] < 0 ? 0 : iv[j] > 1000 ? 1000 : iv[j];   /* gathers clamp */
        check_rows(&d, iv, 64, v[0], v[6], u8 ? 2.5e-7 : 0);
        check_rows(&d, v[12], 300, v[3], v[9], u8 ? 2.5e-7 : 0);
        for (int r = 0; r < 13; r++) free(v[r]);
        g_plan_free(p);
        g_session_free(s);
        g_graph_free(g);
    }
    meg_dataset_free(&d);
}
END_TEST

/* A pool over small fake digits: 300 of 28 x 28 with labels. */
static void fake_digits(meg_dataset *d) { make_set(d, "digits", 300, 3, G_SHAPE(1, 28, 28), 1, 21); }

START_TEST(stacked_batches_are_the_pool_entries_drawn)
{
    meg_dataset digits;
    fake_digits(&digits);
    meg_stacked pool;
    ck_assert_msg(meg_stacked_new(&pool, &digits, 3, 7) == 0, "%s", rt_error());
    g_graph *g = g_graph_new();
    meg_device_set ds, sp;
    ck_assert_msg(meg_device_stacked_make(g, "sm", &pool, &digits, NULL, &ds) == 0, "%s", rt_error());
    ck_assert(ds.values.u8 && ds.k == 3 && ds.n == pool.n && ds.shape[0] == 3 && ds.shape[2] == 28);
    ck_assert_ptr_nonnull(g_graph_find(g, "sm.digits"));
    ck_assert_ptr_nonnull(g_graph_find(g, "sm.tuples"));
    ck_assert_ptr_nonnull(g_graph_find(g, "sm.modes"));
    g_limits lim;
    g_limits_default(&lim);
    lim.max_texels = 100000;   /* digits in 3 parts, the tuples (384,000 values) in 4, the modes in 2 */
    ck_assert_msg(meg_device_stacked_make(g, "sp", &pool, &digits, &lim, &sp) == 0, "%s", rt_error());
    ck_assert(sp.values.nparts == 3 && sp.tuples.nparts == 4 && sp.labels.nparts == 2);
    g_tensor *rng = g_rng(g, "rng", 5);
    int B = 37;
    g_tensor *e = g_rand_int(rng, (int)pool.n, 1, G_SHAPE(B)), *y, *ys;
    g_tensor *x = meg_device_set_gather(&ds, e, &y), *xs = meg_device_set_gather(&sp, e, &ys);
    ck_assert_msg(x && xs, "%s", g_graph_error(g));
    ck_assert(x->ndim == 4 && x->shape[0] == B && x->shape[1] == 3 && x->shape[2] == 28 && x->shape[3] == 28);
    g_tensor *roots[6] = {x, y, e, xs, ys, g_rng_advance(rng)};
    g_session *s = session(g);
    ck_assert_msg(meg_device_stacked_upload(s, &ds, &pool, &digits) == 0, "%s", rt_error());
    ck_assert_msg(meg_device_stacked_upload(s, &sp, &pool, &digits) == 0, "%s", rt_error());
    g_plan *p;
    ck_assert_msg(g_plan_new(s, roots, 6, NULL, &p) == 0, "%s", rt_error());
    size_t px = 3 * 28 * 28;
    float *host = malloc((size_t)B * px * sizeof *host);
    for (int run = 0; run < 2; run++) {
        ck_assert_msg(g_plan_run(p, 1) == 0, "%s", rt_error());
        float *xv = read_all(s, x), *yv = read_all(s, y), *ev = read_all(s, e), *xsv = read_all(s, xs),
              *ysv = read_all(s, ys);
        size_t entries[37];
        for (int b = 0; b < B; b++) {
            ck_assert(ev[b] >= 0 && ev[b] < (float)pool.n);
            entries[b] = (size_t)ev[b];
            ck_assert_msg(yv[b] == (float)pool.modes[entries[b]], "entry %zu: mode %g, the pool's %d", entries[b],
                          yv[b], pool.modes[entries[b]]);
        }
        ck_assert_msg(meg_stacked_images(&pool, &digits, entries, (size_t)B, host) == 0, "%s", rt_error());
        for (size_t j = 0; j < (size_t)B * px; j++)
            ck_assert_msg(fabsf(xv[j] - host[j]) <= 2.5e-7f, "run %d, value %zu (entry %zu, channel %zu): %.9g, "
                          "meg_stacked_images %.9g", run, j, entries[j / px], j % px / 784, xv[j], host[j]);
        ck_assert(!memcmp(xv, xsv, (size_t)B * px * sizeof *xv) && !memcmp(yv, ysv, (size_t)B * sizeof *yv));
        free(xv); free(yv); free(ev); free(xsv); free(ysv);
    }
    free(host);
    g_plan_free(p);
    g_session_free(s);
    g_graph_free(g);
    meg_stacked_free(&pool);
    meg_dataset_free(&digits);
}
END_TEST

/* meg_device_set_batch on the device and in the CPU reference, two runs. */
START_TEST(stacked_batches_match_the_reference)
{
    meg_dataset digits;
    fake_digits(&digits);
    meg_stacked pool;
    ck_assert_msg(meg_stacked_new(&pool, &digits, 2, 9) == 0, "%s", rt_error());
    g_graph *g = g_graph_new();
    meg_device_set ds;
    g_limits lim;
    g_limits_default(&lim);
    lim.max_texels = 784 * 128;   /* the digits in 3 parts */
    ck_assert_msg(meg_device_stacked_make(g, "sm", &pool, &digits, &lim, &ds) == 0, "%s", rt_error());
    g_tensor *rng = g_rng(g, "rng", 6), *y;
    g_tensor *x = meg_device_set_batch(&ds, rng, 19, &y);
    ck_assert_msg(x && y, "%s", g_graph_error(g));
    g_tensor *roots[3] = {x, y, g_rng_advance(rng)};
    g_session *s = session(g);
    ck_assert_msg(meg_device_stacked_upload(s, &ds, &pool, &digits) == 0, "%s", rt_error());
    g_ref *r = g_ref_new(g, SEED);
    ck_assert_msg(meg_device_stacked_upload_ref(r, &ds, &pool, &digits) == 0, "%s", rt_error());
    g_plan *p;
    ck_assert_msg(g_plan_new(s, roots, 3, NULL, &p) == 0, "%s", rt_error());
    for (int run = 0; run < 2; run++) {
        ck_assert(g_plan_run(p, 1) == 0 && g_ref_run(r, roots, 3) == 0);
        float *xv = read_all(s, x), *yv = read_all(s, y);
        const double *rx = g_ref_value(r, x), *ry = g_ref_value(r, y);
        for (size_t j = 0; j < g_numel(x); j++)
            ck_assert_msg(fabs(xv[j] - rx[j]) <= 2.5e-7, "run %d value %zu: %.9g, reference %.9g", run, j, xv[j], rx[j]);
        for (int b = 0; b < 19; b++) ck_assert_float_eq(yv[b], (float)ry[b]);
        free(xv);
        free(yv);
    }
    g_plan_free(p);
    g_ref_free(r);
    g_session_free(s);
    g_graph_free(g);
    meg_stacked_free(&pool);
    meg_dataset_free(&digits);
}
END_TEST

START_TEST(bad_sets_uploads_and_limits_are_refused)
{
    meg_dataset d, other;
    make_set(&d, "images", 50, 3, G_SHAPE(1, 4, 4), 1, 2);
    make_set(&other, "others", 51, 3, G_SHAPE(1, 4, 4), 1, 3);
    g_graph *g = g_graph_new();
    meg_device_set ds;
    g_limits lim;
    g_limits_default(&lim);
    /* a row larger than a texel view */
    lim.max_texels = 15;
    ck_assert_int_eq(meg_device_set_make(g, "a", &d, 1, &lim, &ds), -1);
    ck_assert_msg(strstr(rt_error(), "images") && strstr(rt_error(), "16 values") && strstr(rt_error(), "15"), "%s",
                  rt_error());
    /* more parts than supported */
    lim.max_texels = 16 * 3;
    ck_assert_int_eq(meg_device_set_make(g, "a", &d, 1, &lim, &ds), -1);
    ck_assert_msg(strstr(rt_error(), "17 inputs of at most 3 rows") && strstr(rt_error(), "16 are supported"), "%s",
                  rt_error());
    /* more examples than indices reach exactly */
    size_t n = d.n;
    d.n = ((size_t)1 << 24) + 1;
    ck_assert_int_eq(meg_device_set_make(g, "a", &d, 1, NULL, &ds), -1);
    ck_assert_msg(strstr(rt_error(), "16777217 examples") && strstr(rt_error(), "2^24"), "%s", rt_error());
    d.n = n;
    /* uploads of another set */
    ck_assert_msg(meg_device_set_make(g, "a", &d, 1, NULL, &ds) == 0, "%s", rt_error());
    g_session *s = session(g);
    ck_assert_int_eq(meg_device_set_upload(s, &ds, &other), -1);
    ck_assert_msg(strstr(rt_error(), "others") && strstr(rt_error(), "'a'") && strstr(rt_error(), "50 examples"), "%s",
                  rt_error());
    free(d.u8);
    d.u8 = NULL;   /* a set of bytes uploaded from floats only */
    ck_assert_int_eq(meg_device_set_upload(s, &ds, &d), -1);
    ck_assert_msg(strstr(rt_error(), "bytes"), "%s", rt_error());
    g_session_free(s);
    /* a batch from a set that was not made */
    meg_device_set none;
    memset(&none, 0, sizeof none);
    g_tensor *rng = g_rng(g, "rng", 1);
    ck_assert_ptr_null(meg_device_set_batch(&none, rng, 4, NULL));
    ck_assert_msg(g_graph_error(g) && strstr(g_graph_error(g), "not made"), "%s", g_graph_error(g));
    g_graph_free(g);
    /* StackedMNIST over digits it was not drawn from */
    meg_dataset digits;
    fake_digits(&digits);
    meg_stacked pool;
    ck_assert(meg_stacked_new(&pool, &digits, 1, 3) == 0);
    g = g_graph_new();
    ck_assert_int_eq(meg_device_stacked_make(g, "sm", &pool, &other, NULL, &ds), -1);
    ck_assert_msg(strstr(rt_error(), "others") && strstr(rt_error(), "drawn from 300"), "%s", rt_error());
    g_graph_free(g);
    meg_stacked_free(&pool);
    meg_dataset_free(&digits);
    meg_dataset_free(&d);
    meg_dataset_free(&other);
}
END_TEST

/* A set made for the default limits, planned on a device whose limits are
 * lower: the plan is refused naming the input, not a crash in a kernel. */
START_TEST(an_unsplit_set_past_the_device_limits_is_refused_by_the_plan)
{
    meg_dataset d;
    make_set(&d, "images", 100, 3, G_SHAPE(1, 8, 8), 1, 2);
    rt_options o = {.validation = 1, .max_texels = 4096};
    rt_ctx *ctx;
    ck_assert_msg(rt_ctx_create(&o, &ctx) == 0, "%s", rt_error());
    for (int split = 0; split < 2; split++) {
        g_graph *g = g_graph_new();
        meg_device_set ds;
        g_limits lim;
        g_limits_of(ctx, &lim);
        ck_assert_msg(meg_device_set_make(g, "train", &d, 1, split ? &lim : NULL, &ds) == 0, "%s", rt_error());
        ck_assert_int_eq(ds.values.nparts, split ? 2 : 1);
        g_tensor *x = meg_device_set_batch(&ds, g_rng(g, "rng", 1), 8, NULL);
        g_session *s;
        ck_assert(x && g_session_new(ctx, g, 1, &s) == 0);
        ck_assert_msg(meg_device_set_upload(s, &ds, &d) == 0, "%s", rt_error());
        g_plan *p = NULL;
        if (split) {
            ck_assert_msg(g_plan_new(s, &x, 1, NULL, &p) == 0, "%s", rt_error());
            ck_assert_msg(g_plan_run(p, 1) == 0, "%s", rt_error());
        } else {
            ck_assert_int_eq(g_plan_new(s, &x, 1, NULL, &p), -1);
            ck_assert_msg(strstr(rt_error(), "'train.x' [100, 64]") && strstr(rt_error(), "6400 values") &&
                              strstr(rt_error(), "4096"), "%s", rt_error());
        }
        g_plan_free(p);
        g_session_free(s);
        g_graph_free(g);
    }
    ck_assert_int_eq(rt_validation_count(ctx), 0);
    rt_ctx_destroy(ctx);
    meg_dataset_free(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batches");
    TCase *tc = tcase_create("batches");
    th_validated(tc);
    tcase_add_test(tc, minibatches_hold_the_rows_of_the_set);
    tcase_add_test(tc, a_split_set_gives_the_minibatches_of_an_unsplit_one);
    tcase_add_test(tc, stacked_batches_are_the_pool_entries_drawn);
    tcase_add_test(tc, stacked_batches_match_the_reference);
    tcase_add_test(tc, bad_sets_uploads_and_limits_are_refused);
    tcase_add_test(tc, an_unsplit_set_past_the_device_limits_is_refused_by_the_plan);
    suite_add_tcase(s, tc);
    return th_run(s);
}
