/* test_classifier.c: the evaluation classifier (models/classifier.h): its
 * evaluation and training graphs on the device against the CPU reference
 * (the training set as fp32 images, as bytes, and as bytes split over
 * several inputs), and a short training run that learns to tell two kinds
 * of small images apart. Validation on. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "classifier.h"

/* n images [1, 8, 8] as a data set: class 0 a horizontal bar, class 1 a
 * vertical one, at a random place, on noise; labels alternate. With u8 the
 * set holds bytes as an IDX set does (d->u8, x their pixel values). */
static void bars(meg_dataset *d, size_t n, uint64_t seed, int u8)
{
    memset(d, 0, sizeof *d);
    d->name = strdup("bars");
    d->n = n;
    d->ndim = 3;
    d->shape[0] = 1;
    d->shape[1] = d->shape[2] = 8;
    d->x = malloc(n * 64 * sizeof *d->x);
    d->labels = malloc(n * sizeof *d->labels);
    th_random(d->x, n * 64, seed);
    for (size_t i = 0; i < n; i++) {
        float *im = d->x + i * 64;
        for (int p = 0; p < 64; p++) im[p] = 0.3f * im[p] - 0.7f;
        int cls = (int)(i % 2), at = (int)((i * 2654435761u + seed) >> 3) % 8;
        for (int t = 0; t < 8; t++) im[cls ? t * 8 + at : at * 8 + t] = 0.9f;
        d->labels[i] = cls;
    }
    if (u8) {
        d->u8 = malloc(n * 64);
        for (size_t j = 0; j < n * 64; j++) {
            d->u8[j] = (uint8_t)lrintf((d->x[j] + 1.0f) * 127.5f);
            d->x[j] = meg_pixel_value(d->u8[j]);
        }
    }
}

static void small(meg_clf_config *c)
{
    meg_clf_config_default(c);
    c->height = 8;
    c->width = 8;
    c->classes = 2;
    c->c1 = 4;
    c->c2 = 6;
    c->hidden = 10;
    c->batch = 32;
    c->dropout = 0.25f;
    c->lr = 3e-3f;
    c->seed = 5;
}

START_TEST(evaluation_matches_the_reference)
{
    meg_clf_config c;
    small(&c);
    c.height = 9;   /* a size that pooling floors: 9 -> 4 -> 2 */
    c.width = 11;
    meg_classifier m;
    ck_assert_msg(meg_classifier_build(&m, &c, NULL, NULL, 7) == 0, "%s", rt_error());
    ck_assert_ptr_null(m.step);   /* evaluation only: no training graph */
    size_t D = 9 * 11;
    float *x = malloc(7 * D * sizeof *x), lp[7 * 2], ft[7 * 10];
    th_random(x, 7 * D, 3);
    g_session *s;
    g_plan *p;
    ck_assert_msg(g_session_new(th_ctx(), m.g, c.seed, &s) == 0, "%s", rt_error());
    g_tensor *roots[2] = {m.logp, m.features};
    ck_assert_msg(g_plan_new(s, roots, 2, NULL, &p) == 0, "%s", rt_error());
    ck_assert_msg(meg_classifier_eval(s, p, &m, x, 7, lp, ft) == 0, "%s", rt_error());
    g_ref *r = g_ref_new(m.g, c.seed);
    ck_assert(r && g_ref_write_f(r, m.x_in, x) == 0 && g_ref_run(r, roots, 2) == 0);
    const double *rl = g_ref_value(r, m.logp), *rf = g_ref_value(r, m.features);
    for (int i = 0; i < 7; i++) {
        double sum = 0;
        for (int k = 0; k < 2; k++) {
            ck_assert_msg(fabs(lp[i * 2 + k] - rl[i * 2 + k]) < 1e-4, "logp[%d,%d] %g vs %g", i, k, lp[i * 2 + k],
                          rl[i * 2 + k]);
            sum += exp(lp[i * 2 + k]);
        }
        ck_assert_msg(fabs(sum - 1) < 1e-5, "row %d: probabilities sum to %g", i, sum);
        for (int f = 0; f < 10; f++) {
            ck_assert_msg(fabs(ft[i * 10 + f] - rf[i * 10 + f]) < 1e-4 * (1 + fabs(rf[i * 10 + f])),
                          "features[%d,%d] %g vs %g", i, f, ft[i * 10 + f], rf[i * 10 + f]);
            ck_assert(ft[i * 10 + f] >= 0);
        }
    }
    g_ref_free(r);
    g_plan_free(p);
    g_session_free(s);
    meg_classifier_free(&m);
    free(x);
}
END_TEST

/* Three training steps on the device and in the reference: the minibatches
 * (drawn on the device from fp32 images, from bytes, and from bytes split
 * over three inputs), dropout masks and Adam updates agree. */
START_TEST(training_steps_match_the_reference)
{
    static const char *what[3] = {"fp32 images", "8-bit images", "8-bit images in 3 inputs"};
    meg_clf_config c;
    small(&c);
    size_t n = 64;
    meg_dataset d;
    bars(&d, n, 11, _i > 0);
    g_limits lim;
    g_limits_default(&lim);
    if (_i == 2) lim.max_texels = 22 * 64;   /* at most 22 images an input */
    meg_classifier m;
    ck_assert_msg(meg_classifier_build(&m, &c, &d, &lim, 4) == 0, "%s", rt_error());
    ck_assert_int_eq(m.data.values.nparts, _i == 2 ? 3 : 1);
    ck_assert_int_eq(m.data.values.u8, _i > 0);
    g_session *s;
    g_plan *p;
    ck_assert_msg(g_session_new(th_ctx(), m.g, c.seed, &s) == 0, "%s", rt_error());
    ck_assert_msg(meg_classifier_upload(s, &m, &d) == 0, "%s", rt_error());
    g_tensor *roots[2] = {m.step, m.loss};
    ck_assert_msg(g_plan_new(s, roots, 2, NULL, &p) == 0, "%s", rt_error());
    g_ref *r = g_ref_new(m.g, c.seed);
    ck_assert_msg(r && meg_device_set_upload_ref(r, &m.data, &d) == 0, "%s", rt_error());
    for (int step = 0; step < 3; step++) {
        float loss;
        ck_assert_msg(g_plan_run(p, 1) == 0, "%s", rt_error());
        ck_assert(g_session_read(s, m.loss, &loss) == 0);
        ck_assert(g_ref_run(r, roots, 2) == 0);
        double rl = g_ref_value(r, m.loss)[0];
        ck_assert_msg(fabs(loss - rl) < 1e-4 * (1 + fabs(rl)), "%s, step %d: loss %g, reference %g", what[_i], step,
                      loss, rl);
    }
    float w[10 * 2];
    ck_assert(g_session_read(s, m.fc2.w, w) == 0);
    const double *rw = g_ref_value(r, m.fc2.w);
    for (int i = 0; i < 20; i++)
        ck_assert_msg(fabs(w[i] - rw[i]) < 1e-4, "%s: fc2.w[%d] %g vs %g", what[_i], i, w[i], rw[i]);
    g_ref_free(r);
    g_plan_free(p);
    g_session_free(s);
    meg_classifier_free(&m);
    meg_dataset_free(&d);
}
END_TEST

START_TEST(short_training_tells_bars_apart)
{
    meg_clf_config c;
    small(&c);
    size_t n = 512, nt = 200;
    meg_dataset d, t;
    bars(&d, n, 1, 1);   /* trained from bytes on the device */
    bars(&t, nt, 2, 1);
    float *lp = malloc(nt * 2 * sizeof *lp);
    meg_classifier m;
    ck_assert_msg(meg_classifier_build(&m, &c, &d, NULL, 64) == 0, "%s", rt_error());
    g_session *s;
    g_plan *p, *e;
    ck_assert_msg(g_session_new(th_ctx(), m.g, c.seed, &s) == 0, "%s", rt_error());
    ck_assert_msg(meg_classifier_upload(s, &m, &d) == 0, "%s", rt_error());
    g_tensor *roots[2] = {m.step, m.loss}, *eroots[2] = {m.logp, m.features};
    ck_assert_msg(g_plan_new(s, roots, 2, NULL, &p) == 0, "%s", rt_error());
    ck_assert_msg(g_plan_new(s, eroots, 2, NULL, &e) == 0, "%s", rt_error());
    ck_assert_msg(meg_classifier_eval(s, e, &m, t.x, nt, lp, NULL) == 0, "%s", rt_error());
    int32_t pred[200];
    meg_classifier_argmax(lp, nt, 2, pred);
    int right0 = 0, right = 0;
    for (size_t i = 0; i < nt; i++) right0 += pred[i] == t.labels[i];
    ck_assert_msg(g_plan_run(p, 300) == 0, "%s", rt_error());
    ck_assert_msg(meg_classifier_eval(s, e, &m, t.x, nt, lp, NULL) == 0, "%s", rt_error());
    meg_classifier_argmax(lp, nt, 2, pred);
    for (size_t i = 0; i < nt; i++) right += pred[i] == t.labels[i];
    fprintf(stderr, "bars: held-out accuracy %.3f before training, %.3f after 300 steps\n", right0 / (double)nt,
            right / (double)nt);
    ck_assert_msg(right >= 0.95 * nt, "held-out accuracy %.3f", right / (double)nt);
    g_plan_free(p);
    g_plan_free(e);
    g_session_free(s);
    meg_classifier_free(&m);
    meg_dataset_free(&d);
    meg_dataset_free(&t);
    free(lp);
}
END_TEST

START_TEST(bad_configuration_is_refused)
{
    meg_clf_config c;
    small(&c);
    meg_classifier m;
    c.dropout = 1.0f;
    ck_assert(meg_classifier_build(&m, &c, NULL, NULL, 4) != 0);
    ck_assert_msg(strstr(rt_error(), "dropout"), "%s", rt_error());
    small(&c);
    c.height = 3;
    ck_assert(meg_classifier_build(&m, &c, NULL, NULL, 4) != 0);
    ck_assert_msg(strstr(rt_error(), "3 x 8"), "%s", rt_error());
    /* a training set of other images, or without labels */
    small(&c);
    c.width = 9;
    meg_dataset d;
    bars(&d, 10, 1, 0);
    ck_assert(meg_classifier_build(&m, &c, &d, NULL, 4) != 0);
    ck_assert_msg(strstr(rt_error(), "bars") && strstr(rt_error(), "[1, 8, 9]"), "%s", rt_error());
    small(&c);
    free(d.labels);
    d.labels = NULL;
    ck_assert(meg_classifier_build(&m, &c, &d, NULL, 4) != 0);
    ck_assert_msg(strstr(rt_error(), "labelled"), "%s", rt_error());
    meg_dataset_free(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("classifier");
    TCase *tc = tcase_create("classifier");
    th_validated(tc);
    tcase_add_test(tc, bad_configuration_is_refused);
    tcase_add_test(tc, evaluation_matches_the_reference);
    tcase_add_loop_test(tc, training_steps_match_the_reference, 0, 3);
    tcase_add_test(tc, short_training_tells_bars_apart);
    suite_add_tcase(s, tc);
    return th_run(s);
}
