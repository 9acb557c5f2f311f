/* test_classifier.c: the evaluation classifier (models/classifier.h): its
 * evaluation and training graphs on the device against the CPU reference,
 * and a short training run that learns to tell two kinds of small images
 * apart. Validation on. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "classifier.h"

/* n images [1, 8, 8]: class 0 a horizontal bar, class 1 a vertical one, at
 * a random place, on noise; labels alternate. */
static void bars(float *x, float *labels, size_t n, uint64_t seed)
{
    th_random(x, n * 64, seed);
    for (size_t i = 0; i < n; i++) {
        float *im = x + i * 64;
        for (int p = 0; p < 64; p++) im[p] = 0.3f * im[p] - 0.7f;
        int cls = (int)(i % 2), at = (int)((i * 2654435761u + seed) >> 3) % 8;
        for (int t = 0; t < 8; t++) im[cls ? t * 8 + at : at * 8 + t] = 0.9f;
        labels[i] = (float)cls;
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
    ck_assert_msg(meg_classifier_build(&m, &c, 16, 7) == 0, "%s", rt_error());
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

START_TEST(training_steps_match_the_reference)
{
    meg_clf_config c;
    small(&c);
    size_t n = 64;
    float *x = malloc(n * 64 * sizeof *x), lab[64];
    bars(x, lab, n, 11);
    meg_classifier m;
    ck_assert_msg(meg_classifier_build(&m, &c, n, 4) == 0, "%s", rt_error());
    g_session *s;
    g_plan *p;
    ck_assert_msg(g_session_new(th_ctx(), m.g, c.seed, &s) == 0, "%s", rt_error());
    ck_assert(g_session_write(s, m.data, x) == 0 && g_session_write(s, m.labels, lab) == 0);
    g_tensor *roots[2] = {m.step, m.loss};
    ck_assert_msg(g_plan_new(s, roots, 2, NULL, &p) == 0, "%s", rt_error());
    g_ref *r = g_ref_new(m.g, c.seed);
    ck_assert(r && g_ref_write_f(r, m.data, x) == 0 && g_ref_write_f(r, m.labels, lab) == 0);
    /* three steps: the minibatches, dropout masks and Adam updates agree */
    for (int step = 0; step < 3; step++) {
        float loss;
        ck_assert_msg(g_plan_run(p, 1) == 0, "%s", rt_error());
        ck_assert(g_session_read(s, m.loss, &loss) == 0);
        ck_assert(g_ref_run(r, roots, 2) == 0);
        double rl = g_ref_value(r, m.loss)[0];
        ck_assert_msg(fabs(loss - rl) < 1e-4 * (1 + fabs(rl)), "step %d: loss %g, reference %g", step, loss, rl);
    }
    float w[10 * 2];
    ck_assert(g_session_read(s, m.fc2.w, w) == 0);
    const double *rw = g_ref_value(r, m.fc2.w);
    for (int i = 0; i < 20; i++) ck_assert_msg(fabs(w[i] - rw[i]) < 1e-4, "fc2.w[%d] %g vs %g", i, w[i], rw[i]);
    g_ref_free(r);
    g_plan_free(p);
    g_session_free(s);
    meg_classifier_free(&m);
    free(x);
}
END_TEST

START_TEST(short_training_tells_bars_apart)
{
    meg_clf_config c;
    small(&c);
    size_t n = 512, nt = 200;
    float *x = malloc(n * 64 * sizeof *x), *lab = malloc(n * sizeof *lab);
    float *xt = malloc(nt * 64 * sizeof *xt), *lt = malloc(nt * sizeof *lt), *lp = malloc(nt * 2 * sizeof *lp);
    bars(x, lab, n, 1);
    bars(xt, lt, nt, 2);
    meg_classifier m;
    ck_assert_msg(meg_classifier_build(&m, &c, n, 64) == 0, "%s", rt_error());
    g_session *s;
    g_plan *p, *e;
    ck_assert_msg(g_session_new(th_ctx(), m.g, c.seed, &s) == 0, "%s", rt_error());
    ck_assert(g_session_write(s, m.data, x) == 0 && g_session_write(s, m.labels, lab) == 0);
    g_tensor *roots[2] = {m.step, m.loss}, *eroots[2] = {m.logp, m.features};
    ck_assert_msg(g_plan_new(s, roots, 2, NULL, &p) == 0, "%s", rt_error());
    ck_assert_msg(g_plan_new(s, eroots, 2, NULL, &e) == 0, "%s", rt_error());
    ck_assert_msg(meg_classifier_eval(s, e, &m, xt, nt, lp, NULL) == 0, "%s", rt_error());
    int32_t pred[200];
    meg_classifier_argmax(lp, nt, 2, pred);
    int right0 = 0, right = 0;
    for (size_t i = 0; i < nt; i++) right0 += pred[i] == (int)lt[i];
    ck_assert_msg(g_plan_run(p, 300) == 0, "%s", rt_error());
    ck_assert_msg(meg_classifier_eval(s, e, &m, xt, nt, lp, NULL) == 0, "%s", rt_error());
    meg_classifier_argmax(lp, nt, 2, pred);
    for (size_t i = 0; i < nt; i++) right += pred[i] == (int)lt[i];
    fprintf(stderr, "bars: held-out accuracy %.3f before training, %.3f after 300 steps\n", right0 / (double)nt,
            right / (double)nt);
    ck_assert_msg(right >= 0.95 * nt, "held-out accuracy %.3f", right / (double)nt);
    g_plan_free(p);
    g_plan_free(e);
    g_session_free(s);
    meg_classifier_free(&m);
    free(x); free(lab); free(xt); free(lt); free(lp);
}
END_TEST

START_TEST(bad_configuration_is_refused)
{
    meg_clf_config c;
    small(&c);
    meg_classifier m;
    c.dropout = 1.0f;
    ck_assert(meg_classifier_build(&m, &c, 10, 4) != 0);
    ck_assert_msg(strstr(rt_error(), "dropout"), "%s", rt_error());
    small(&c);
    c.height = 3;
    ck_assert(meg_classifier_build(&m, &c, 10, 4) != 0);
    ck_assert_msg(strstr(rt_error(), "3 x 8"), "%s", rt_error());
}
END_TEST

int main(void)
{
    Suite *s = suite_create("classifier");
    TCase *tc = tcase_create("classifier");
    th_validated(tc);
    tcase_add_test(tc, bad_configuration_is_refused);
    tcase_add_test(tc, evaluation_matches_the_reference);
    tcase_add_test(tc, training_steps_match_the_reference);
    tcase_add_test(tc, short_training_tells_bars_apart);
    suite_add_tcase(s, tc);
    return th_run(s);
}
