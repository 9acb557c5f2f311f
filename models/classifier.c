/* classifier.c: the evaluation classifier (classifier.h): its network, one
 * training iteration as one graph, and the evaluation graph. */
#include "classifier.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void meg_clf_config_default(meg_clf_config *c)
{
    memset(c, 0, sizeof *c);
    c->channels = 1;
    c->height = 28;
    c->width = 28;
    c->classes = 10;
    c->c1 = 16;   /* convolutions run at ~9 GFLOP/s on lavapipe: 16 and 32 channels train an epoch in 3 minutes */
    c->c2 = 32;
    c->hidden = 128;
    c->dropout = 0.5f;
    c->batch = 64;
    c->lr = 1e-3f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->seed = 1;
}

static int check_config(const meg_clf_config *c, const meg_dataset *train)
{
    if (c->channels < 1 || c->height < 4 || c->width < 4 || c->classes < 2 || c->c1 < 1 || c->c2 < 1 ||
        c->hidden < 1 || c->batch < 1) {
        rt_set_error("classifier configuration: images %d x %d x %d (at least 1 x 4 x 4), %d classes (at least 2), "
                     "channels %d, %d, hidden %d, batch %d must be positive",
                     c->channels, c->height, c->width, c->classes, c->c1, c->c2, c->hidden, c->batch);
        return -1;
    }
    if (!(c->lr > 0) || !(c->dropout >= 0 && c->dropout < 1) || !(c->beta1 >= 0 && c->beta1 < 1) ||
        !(c->beta2 >= 0 && c->beta2 < 1)) {
        rt_set_error("classifier configuration: lr %g must be > 0, dropout %g and betas %g, %g in [0, 1)",
                     (double)c->lr, (double)c->dropout, (double)c->beta1, (double)c->beta2);
        return -1;
    }
    if (!train) return 0;
    const char *dn = train->name ? train->name : "(unnamed set)";
    if (train->ndim != 3 || train->shape[0] != c->channels || train->shape[1] != c->height ||
        train->shape[2] != c->width || !train->labels) {
        rt_set_error("classifier: %s is not a set of labelled images [%d, %d, %d]", dn, c->channels, c->height,
                     c->width);
        return -1;
    }
    if (train->n < 1 || train->n > (1u << 24)) {
        rt_set_error("classifier: %zu training images (1 to 2^24 supported: indices are drawn as exact fp32 "
                     "integers)", train->n);
        return -1;
    }
    return 0;
}

/* x [N, C, H, W] -> the features [N, hidden] */
static g_tensor *trunk(const meg_classifier *m, g_tensor *x)
{
    const meg_clf_config *c = &m->cfg;
    g_tensor *h = g_max_pool2d(g_relu(meg_conv2d_apply(&m->conv1, x)), 2);     /* [N, c1, H/2, W/2] */
    h = g_max_pool2d(g_relu(meg_conv2d_apply(&m->conv2, h)), 2);               /* [N, c2, H/4, W/4] */
    int n = x->shape[0], flat = c->c2 * (c->height / 4) * (c->width / 4);
    return g_relu(meg_linear_apply(&m->fc1, g_reshape(h, 2, G_SHAPE(n, flat))));
}

/* One training iteration: a minibatch drawn on the device, cross-entropy,
 * one Adam step. -1 with the graph's error. */
static int build_training(meg_classifier *m)
{
    const meg_clf_config *c = &m->cfg;
    g_graph *g = m->g;
    g_tensor *y;
    g_tensor *x = meg_device_set_batch(&m->data, m->rng, c->batch, &y);
    g_tensor *logits = meg_linear_apply(&m->fc2, g_dropout(m->rng, trunk(m, x), c->dropout));
    m->loss = g_cross_entropy(logits, y);
    m->accuracy = g_mean_all(g_eq(g_argmax(logits, 1, 0), y));
    g_tensor *params[8] = {m->conv1.w, m->conv1.b, m->conv2.w, m->conv2.b, m->fc1.w, m->fc1.b, m->fc2.w, m->fc2.b};
    g_tensor *grads[8];
    if (g_graph_error(g) || g_grad(g, m->loss, params, 8, grads)) return -1;
    g_adam_opts ao = {c->lr, c->beta1, c->beta2, 1e-8f};
    g_tensor *effects[2] = {g_adam(g, "adamC", params, grads, 8, ao), NULL};
    effects[1] = g_rng_advance(m->rng);
    m->step = g_group(g, effects, 2);
    return g_graph_error(g) ? -1 : 0;
}

int meg_classifier_build(meg_classifier *m, const meg_clf_config *c, const meg_dataset *train, const g_limits *lim,
                         int eval_n)
{
    memset(m, 0, sizeof *m);
    if (check_config(c, train)) return -1;
    if (eval_n < 1) { rt_set_error("classifier: %d evaluation rows (at least 1)", eval_n); return -1; }
    m->cfg = *c;
    m->ndata = train ? train->n : 0;
    m->eval_n = eval_n;
    g_graph *g = m->g = g_graph_new();
    if (!g) { rt_set_error("out of host memory"); return -1; }
    int flat = c->c2 * (c->height / 4) * (c->width / 4);
    /* the images as bytes where the set has them: a quarter of the device memory */
    if (train && meg_device_set_make(g, "data", train, 1, lim, &m->data)) goto fail;
    m->rng = g_rng(g, "rng", c->seed);
    if (meg_conv2d_make(g, "C", "0", c->channels, c->c1, 5, 1, 2, 0.0f, &m->conv1) ||
        meg_conv2d_make(g, "C", "1", c->c1, c->c2, 5, 1, 2, 0.0f, &m->conv2) ||
        meg_linear_make(g, "C", "2", flat, c->hidden, &m->fc1) ||
        meg_linear_make(g, "C", "3", c->hidden, c->classes, &m->fc2))
        goto fail;

    if (train && build_training(m)) goto fail;

    /* evaluation: no dropout */
    m->x_in = g_input(g, "eval.x", 4, G_SHAPE(eval_n, c->channels, c->height, c->width));
    m->features = trunk(m, m->x_in);
    m->logp = g_log_softmax(meg_linear_apply(&m->fc2, m->features), 1);
    if (g_graph_error(g)) goto fail;
    return 0;
fail:
    if (g && g_graph_error(g)) rt_set_error("building the classifier graph: %s", g_graph_error(g));
    meg_classifier_free(m);
    return -1;
}

int meg_classifier_upload(g_session *s, const meg_classifier *m, const meg_dataset *train)
{
    if (!m->ndata) { rt_set_error("classifier: built for evaluation only, it has no training set to upload"); return -1; }
    return meg_device_set_upload(s, &m->data, train);
}

void meg_classifier_free(meg_classifier *m)
{
    g_graph_free(m->g);
    memset(m, 0, sizeof *m);
}

int meg_classifier_eval(g_session *s, g_plan *p, const meg_classifier *m, const float *x, size_t n, float *logp,
                        float *features)
{
    const meg_clf_config *c = &m->cfg;
    size_t D = (size_t)c->channels * c->height * c->width, E = (size_t)m->eval_n;
    size_t K = (size_t)c->classes, F = (size_t)c->hidden;
    size_t cap = D > K ? D : K;
    if (F > cap) cap = F;
    float *buf = calloc(E * cap, sizeof *buf);
    if (!buf) { rt_set_error("out of host memory"); return -1; }
    int rc = -1;
    for (size_t i = 0; i < n; i += E) {
        size_t k = n - i < E ? n - i : E;
        memset(buf, 0, E * D * sizeof *buf);   /* the rows past n are zeros: their outputs are dropped */
        memcpy(buf, x + i * D, k * D * sizeof *buf);
        if (g_session_write(s, m->x_in, buf) || g_plan_run(p, 1)) goto done;
        if (logp) {
            if (g_session_read(s, m->logp, buf)) goto done;
            memcpy(logp + i * K, buf, k * K * sizeof *buf);
        }
        if (features) {
            if (g_session_read(s, m->features, buf)) goto done;
            memcpy(features + i * F, buf, k * F * sizeof *buf);
        }
    }
    rc = 0;
done:
    free(buf);
    return rc;
}

void meg_classifier_argmax(const float *logp, size_t n, int classes, int32_t *out)
{
    for (size_t i = 0; i < n; i++) {
        const float *r = logp + i * (size_t)classes;
        int best = 0;
        for (int k = 1; k < classes; k++)
            if (r[k] > r[best]) best = k;
        out[i] = best;
    }
}
