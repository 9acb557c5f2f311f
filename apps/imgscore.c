/* imgscore.c: generated images scored by the evaluation classifier, chunk
 * by chunk (see imgscore.h). */
#include "imgscore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int imgscore_open(imgscore *s, const char *clf_path, rt_ctx *ctx, const char *device, const char *data_dir,
                  int channels, int h, int w, size_t cap)
{
    memset(s, 0, sizeof *s);
    meg_dataset test = {0}, train = {0};
    meg_stacked pool = {0};
    char dir[4096];
    if (clfrun_load(&s->clf, clf_path, ctx, device) || clfrun_eval_plan(&s->clf)) goto fail;
    const meg_clf_config *c = &s->clf.cfg;
    if (h != c->height || w != c->width) {
        rt_set_error("images of %d x %d, the classifier %s takes %d x %d", h, w, clf_path, c->height, c->width);
        goto fail;
    }
    /* a StackedMNIST sample stacks one-channel digits */
    s->k = channels == c->channels ? 1 : channels;
    if (s->k > 1 && (c->channels != 1 || c->classes != 10 || (s->k != 3 && s->k != 4))) {
        rt_set_error("%d-channel images, but the classifier %s takes %d: only 3 or 4 stacked MNIST digits are "
                     "scored channel by channel, with a 10-class one-channel classifier", channels, clf_path,
                     c->channels);
        goto fail;
    }
    s->channels = channels;
    s->h = h;
    s->w = w;
    s->cap = cap;
    size_t K = (size_t)c->classes, F = (size_t)c->hidden, ni = cap * (size_t)s->k;
    size_t nfd = ni < IMGSCORE_FD_MAX ? ni : IMGSCORE_FD_MAX;
    s->feat = malloc(nfd * F * sizeof *s->feat);
    s->probs = malloc(ni * K * sizeof *s->probs);
    s->digits = malloc(ni * sizeof *s->digits);
    if (!s->feat || !s->probs || !s->digits) { rt_set_error("out of host memory"); goto fail; }
    /* the reference features: the classifier's own test set */
    if (meg_data_dir(dir, sizeof dir, data_dir) || meg_dataset_named(&test, s->clf.data, "test", dir) ||
        clfrun_check_shape(&s->clf, &test))
        goto fail;
    s->nref = test.n;
    s->ref_feat = malloc(test.n * F * sizeof *s->ref_feat);
    if (!s->ref_feat) { rt_set_error("out of host memory"); goto fail; }
    if (meg_classifier_eval(s->clf.s, s->clf.eval, &s->clf.m, test.x, test.n, NULL, s->ref_feat)) goto fail;
    /* StackedMNIST modes, against the training pool (built from MNIST's training digits) */
    if (s->k > 1) {
        size_t M = meg_stacked_modes(s->k);
        s->ref_counts = malloc(M * sizeof *s->ref_counts);
        if (!s->ref_counts) { rt_set_error("out of host memory"); goto fail; }
        if (meg_dataset_named(&train, "mnist", "train", dir) || meg_stacked_new(&pool, &train, s->k, MEG_STACKED_SEED) ||
            meg_stacked_histogram(&pool, s->ref_counts))
            goto fail;
    }
    meg_dataset_free(&test);
    meg_dataset_free(&train);
    meg_stacked_free(&pool);
    return 0;
fail:
    meg_dataset_free(&test);
    meg_dataset_free(&train);
    meg_stacked_free(&pool);
    imgscore_close(s);
    return -1;
}

int imgscore_add(imgscore *s, const float *x, size_t m)
{
    if (s->n + m > s->cap) {
        rt_set_error("imgscore: %zu samples added, more than the %zu it was opened for", s->n + m, s->cap);
        return -1;
    }
    const meg_clf_config *c = &s->clf.cfg;
    size_t K = (size_t)c->classes, F = (size_t)c->hidden, mi = m * (size_t)s->k, first = s->n * (size_t)s->k;
    size_t nfd = s->cap * (size_t)s->k < IMGSCORE_FD_MAX ? s->cap * (size_t)s->k : IMGSCORE_FD_MAX;
    float *logp = realloc(s->logp, mi * K * sizeof *logp);
    if (logp) s->logp = logp;
    float *fc = realloc(s->fchunk, mi * F * sizeof *fc);
    if (fc) s->fchunk = fc;
    if (!logp || !fc) { rt_set_error("out of host memory"); return -1; }
    /* [m, k, h, w] is [m k, 1, h, w]: the channels become images; features
     * only for the images the Fréchet distance takes */
    if (meg_classifier_eval(s->clf.s, s->clf.eval, &s->clf.m, x, mi, logp, first < nfd ? fc : NULL)) return -1;
    if (first < nfd) {
        size_t nf = nfd - first < mi ? nfd - first : mi;
        memcpy(s->feat + first * F, fc, nf * F * sizeof *fc);
    }
    for (size_t j = 0; j < mi * K; j++) s->probs[first * K + j] = expf(logp[j]);
    meg_classifier_argmax(logp, mi, c->classes, s->digits + first);
    s->n += m;
    return 0;
}

int imgscore_finish(imgscore *s, imgscore_result *out)
{
    memset(out, 0, sizeof *out);
    const meg_clf_config *c = &s->clf.cfg;
    size_t ni = s->n * (size_t)s->k;
    out->n = s->n;
    out->images = ni;
    out->k = s->k;
    out->fd_images = ni < IMGSCORE_FD_MAX ? ni : IMGSCORE_FD_MAX;
    if (s->n < 2) { rt_set_error("imgscore: %zu samples (at least 2)", s->n); return -1; }
    if (meg_frechet_distance(s->feat, out->fd_images, s->ref_feat, s->nref, c->hidden, &out->fd) ||
        meg_inception_score(s->probs, ni, c->classes, &out->score))
        return -1;
    if (s->k > 1) {
        int *ids = malloc(s->n * sizeof *ids);
        if (!ids) { rt_set_error("out of host memory"); return -1; }
        int rc = meg_stacked_mode_ids(s->digits, s->n, s->k, ids) ||
                 meg_mode_coverage(ids, s->n, meg_stacked_modes(s->k), s->ref_counts, &out->modes, NULL);
        free(ids);
        if (rc) return -1;
    }
    return 0;
}

void imgscore_reset(imgscore *s) { s->n = 0; }

/* a number, or null when it is not finite (the output stays JSON) */
static int num(char *buf, size_t cap, const char *key, double v)
{
    return isfinite(v) ? snprintf(buf, cap, "\"%s\": %.6g", key, v) : snprintf(buf, cap, "\"%s\": null", key);
}

int imgscore_json(const imgscore_result *r, char *buf, size_t cap)
{
    size_t at = 0;
    int w;
#define PUT(expr)                                                       \
    do {                                                                \
        w = (expr);                                                     \
        if (w < 0 || (size_t)w >= cap - at) goto full;                  \
        at += (size_t)w;                                                \
    } while (0)
    if (r->k > 1) {
        PUT(snprintf(buf + at, cap - at, "\"modes\": %zu, \"modes_total\": %zu, ", r->modes.modes_covered,
                     r->modes.modes));
        PUT(num(buf + at, cap - at, "kl_train", r->modes.kl_ref));
        PUT(snprintf(buf + at, cap - at, ", "));
        PUT(num(buf + at, cap - at, "kl_uniform", r->modes.kl_uniform));
        PUT(snprintf(buf + at, cap - at, ", "));
    }
    PUT(num(buf + at, cap - at, "fd", r->fd));
    PUT(snprintf(buf + at, cap - at, ", "));
    PUT(num(buf + at, cap - at, "score", r->score));
#undef PUT
    return 0;
full:
    rt_set_error("imgscore: the numbers do not fit in %zu bytes", cap);
    return -1;
}

void imgscore_close(imgscore *s)
{
    free(s->feat);
    free(s->probs);
    free(s->logp);
    free(s->fchunk);
    free(s->digits);
    free(s->ref_feat);
    free(s->ref_counts);
    clfrun_close(&s->clf);
    memset(s, 0, sizeof *s);
}
