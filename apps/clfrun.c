/* clfrun.c: the evaluation classifier's metadata, session, plans and test
 * accuracy, shared by the programs (clfrun.h). */
#include "clfrun.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int clfrun_meta(const clfrun *r, meg_st_kv *kv, size_t cap, char *store, size_t store_n, size_t *n)
{
    const meg_clf_config *c = &r->cfg;
    app_kv b = {kv, cap, 0, store, store_n, 0, 0};
    app_kv_put(&b, "format", "meg-classifier-1");
    app_kv_put(&b, "model", "classifier");
    app_kv_put(&b, "data", "%s", r->data);
    app_kv_put(&b, "ndata", "%zu", r->n);
    app_kv_put(&b, "channels", "%d", c->channels);
    app_kv_put(&b, "height", "%d", c->height);
    app_kv_put(&b, "width", "%d", c->width);
    app_kv_put(&b, "classes", "%d", c->classes);
    app_kv_put(&b, "c1", "%d", c->c1);
    app_kv_put(&b, "c2", "%d", c->c2);
    app_kv_put(&b, "hidden", "%d", c->hidden);
    app_kv_put(&b, "dropout", "%.9g", (double)c->dropout);
    app_kv_put(&b, "batch", "%d", c->batch);
    app_kv_put(&b, "lr", "%.9g", (double)c->lr);
    app_kv_put(&b, "beta1", "%.9g", (double)c->beta1);
    app_kv_put(&b, "beta2", "%.9g", (double)c->beta2);
    app_kv_put(&b, "seed", "%llu", (unsigned long long)c->seed);
    app_kv_put(&b, "iteration", "%ld", r->iteration);
    app_kv_put(&b, "log_rows", "%ld", r->log_rows);
    if (isfinite(r->test_accuracy)) app_kv_put(&b, "test_accuracy", "%.6f", r->test_accuracy);
    return app_kv_done(&b, n);
}

int clfrun_from_meta(clfrun *r, const meg_st_file *f)
{
    const char *fmt = meg_st_meta(f, "format"), *data = meg_st_meta(f, "data");
    char shown[200];
    if (!fmt || strcmp(fmt, "meg-classifier-1")) {
        rt_set_error("%s: not a classifier file of meg-train --model classifier (metadata \"format\" is %s%s%s)",
                     meg_st_path(f), fmt ? "\"" : "", fmt ? rt_escape(fmt, 40, shown, sizeof shown) : "missing",
                     fmt ? "\"" : "");
        return -1;
    }
    if (!data || strlen(data) >= sizeof r->data) {
        rt_set_error("%s: classifier metadata \"data\" is missing or longer than %zu bytes", meg_st_path(f),
                     sizeof r->data - 1);
        return -1;
    }
    const char *keys[] = {"channels", "height", "width", "classes", "c1", "c2", "hidden", "dropout", "batch",
                          "lr", "beta1", "beta2", "seed", "iteration", "ndata", "log_rows"};
    const double lo[] = {1, 4, 4, 2, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, -1};
    const double hi[] = {64, 4096, 4096, 1 << 16, 4096, 4096, 1 << 16, 0.999, 1 << 20, 1e6, 1, 1,
                         1.8446744073709552e19, 1e15, 1 << 24, 1e15};
    const int integer[] = {1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1};
    double v[16];
    for (int i = 0; i < 16; i++)
        if (app_meta_num(f, keys[i], lo[i], hi[i], integer[i], &v[i])) return -1;
    meg_clf_config *c = &r->cfg;
    c->channels = (int)v[0];
    c->height = (int)v[1];
    c->width = (int)v[2];
    c->classes = (int)v[3];
    c->c1 = (int)v[4];
    c->c2 = (int)v[5];
    c->hidden = (int)v[6];
    c->dropout = (float)v[7];
    c->batch = (int)v[8];
    c->lr = (float)v[9];
    c->beta1 = (float)v[10];
    c->beta2 = (float)v[11];
    c->seed = strtoull(meg_st_meta(f, "seed"), NULL, 10);
    r->iteration = (long)v[13];
    r->n = (size_t)v[14];
    r->log_rows = (long)v[15];
    snprintf(r->data, sizeof r->data, "%s", data);
    r->test_accuracy = NAN;
    if (meg_st_meta(f, "test_accuracy") && app_meta_num(f, "test_accuracy", 0, 1, 0, &r->test_accuracy)) return -1;
    /* the weights the configuration implies */
    int flat = c->c2 * (c->height / 4) * (c->width / 4);
    struct { const char *name; int ndim; int64_t shape[4]; } t[] = {
        {"C.w0", 4, {c->c1, c->channels, 5, 5}}, {"C.b0", 1, {c->c1}},
        {"C.w1", 4, {c->c2, c->c1, 5, 5}},       {"C.b1", 1, {c->c2}},
        {"C.w2", 2, {flat, c->hidden}},          {"C.b2", 1, {c->hidden}},
        {"C.w3", 2, {c->hidden, c->classes}},    {"C.b3", 1, {c->classes}},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const float *d;
        if (meg_st_get(f, t[i].name, t[i].ndim, t[i].shape, &d)) {
            rt_error_prefix("the classifier's metadata (%d x %d x %d images, channels %d, %d, hidden %d, %d classes) "
                            "does not match its tensors", c->channels, c->height, c->width, c->c1, c->c2, c->hidden,
                            c->classes);
            return -1;
        }
    }
    return 0;
}

int clfrun_open(clfrun *r, const meg_dataset *train, rt_ctx *ctx, const char *device)
{
    if (ctx) {
        r->ctx = ctx;
    } else {
        rt_options o = {.device = device, .validation = -1, .autotune = -1};
        if (rt_ctx_create(&o, &r->ctx)) return -1;
        r->own_ctx = 1;
    }
    /* the device first: the training set's inputs are split to fit its limits */
    g_limits lim;
    g_limits_of(r->ctx, &lim);
    if (meg_classifier_build(&r->m, &r->cfg, train, &lim, CLFRUN_EVAL_ROWS) ||
        g_session_new(r->ctx, r->m.g, r->cfg.seed, &r->s))
        return -1;
    return train ? meg_classifier_upload(r->s, &r->m, train) : 0;
}

int clfrun_load(clfrun *r, const char *path, rt_ctx *ctx, const char *device)
{
    meg_st_file *f = NULL;
    int rc = -1;
    if (meg_st_read(path, &f) || clfrun_from_meta(r, f) || clfrun_open(r, NULL, ctx, device) ||
        meg_checkpoint_load(f, r->s, r->m.g))
        goto done;
    rc = 0;
done:
    meg_st_free(f);
    return rc;
}

int clfrun_eval_plan(clfrun *r)
{
    if (r->eval) return 0;
    g_tensor *roots[2] = {r->m.logp, r->m.features};
    return g_plan_new(r->s, roots, 2, NULL, &r->eval);
}

int clfrun_check_shape(const clfrun *r, const meg_dataset *set)
{
    const meg_clf_config *c = &r->cfg;
    if (set->ndim != 3 || set->shape[0] != c->channels || set->shape[1] != c->height || set->shape[2] != c->width) {
        char got[64];
        if (set->ndim == 3)
            snprintf(got, sizeof got, "[%d, %d, %d] images", set->shape[0], set->shape[1], set->shape[2]);
        else
            snprintf(got, sizeof got, "vectors of %zu values", meg_dataset_dim(set));
        rt_set_error("%s: its %s do not fit the classifier's [%d, %d, %d] images", set->name, got, c->channels,
                     c->height, c->width);
        return -1;
    }
    return 0;
}

int clfrun_accuracy(clfrun *r, const meg_dataset *set, double *acc, int32_t *pred)
{
    if (!set->labels) { rt_set_error("%s: has no labels to measure accuracy against", set->name); return -1; }
    if (clfrun_check_shape(r, set) || clfrun_eval_plan(r)) return -1;
    size_t K = (size_t)r->cfg.classes;
    float *logp = malloc(set->n * K * sizeof *logp);
    int32_t *p = pred ? pred : malloc(set->n * sizeof *p);
    int rc = -1;
    if (!logp || !p) { rt_set_error("out of host memory"); goto done; }
    if (meg_classifier_eval(r->s, r->eval, &r->m, set->x, set->n, logp, NULL)) goto done;
    meg_classifier_argmax(logp, set->n, r->cfg.classes, p);
    size_t right = 0;
    for (size_t i = 0; i < set->n; i++) right += p[i] == set->labels[i];
    *acc = set->n ? (double)right / (double)set->n : 0.0;
    rc = 0;
done:
    free(logp);
    if (!pred) free(p);
    return rc;
}

void clfrun_close(clfrun *r)
{
    g_plan_free(r->train);
    g_plan_free(r->eval);
    g_session_free(r->s);
    if (r->own_ctx && r->ctx) rt_ctx_destroy(r->ctx);
    meg_classifier_free(&r->m);
    memset(r, 0, sizeof *r);
}
