/* rbm.c: the RBM model (rbm.h): one CD-k or PCD-k update as one graph (a
 * minibatch drawn and binarised on the device, k Gibbs steps, the gradient
 * of the free-energy difference, SGD or Adam), the evaluation graph and
 * the sampling chains' step. */
#include "rbm.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void meg_rbm_config_default(meg_rbm_config *c)
{
    memset(c, 0, sizeof *c);
    c->visible = 784;
    c->hidden = 500;
    c->batch = 100;
    c->k = 1;
    c->persistent = 0;
    c->adam = 0;
    c->lr = 0.05f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->init_std = 0.01f;
    c->binarize = MEG_RBM_THRESHOLD;
    c->seed = 1;
    c->samples = 100;
}

static int check_config(const meg_rbm_config *c, const meg_dataset *train, int eval_n)
{
    if (c->visible < 1 || c->hidden < 1 || c->batch < 1 || c->k < 1 || c->k > 1000 || c->samples < 1 || eval_n < 1) {
        rt_set_error("RBM configuration: %d visible, %d hidden, batch %d, %d Gibbs steps (1 to 1000), %d sample "
                     "chains, %d evaluation rows must all be positive", c->visible, c->hidden, c->batch, c->k,
                     c->samples, eval_n);
        return -1;
    }
    if (!(c->lr > 0) || !(c->init_std >= 0) || !(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) ||
        (c->binarize != MEG_RBM_THRESHOLD && c->binarize != MEG_RBM_STOCHASTIC)) {
        rt_set_error("RBM configuration: lr %g must be > 0, init_std %g >= 0, betas %g, %g in [0, 1), binarisation "
                     "threshold or stochastic", (double)c->lr, (double)c->init_std, (double)c->beta1,
                     (double)c->beta2);
        return -1;
    }
    if (!train) return 0;
    const char *dn = train->name ? train->name : "(unnamed set)";
    if (meg_dataset_dim(train) != (size_t)c->visible) {
        rt_set_error("RBM: %s has %zu values per example, the model %d visible units", dn, meg_dataset_dim(train),
                     c->visible);
        return -1;
    }
    if (train->n < 1 || train->n > (1u << 24)) {
        rt_set_error("RBM: %zu training examples (1 to 2^24 supported: indices are drawn as exact fp32 integers)",
                     train->n);
        return -1;
    }
    return 0;
}

/* values in [-1, 1] -> binary visible vectors, as meg_rbm_binarize_set does on the host */
static g_tensor *binarize(meg_rbm *m, g_tensor *x)
{
    if (m->cfg.binarize == MEG_RBM_STOCHASTIC) return g_bernoulli(m->rng, g_scale(g_add_scalar(x, 1.0f), 0.5f));
    return g_gt(x, g_scalar(m->g, 0.0f));
}

/* One update: L = mean F(v_data) - mean F(v_k), v_k the chains' ends behind
 * a stop_gradient, so dL/dtheta is the positive phase minus the negative.
 * v_data W + c is built once: F(v_data) and the first step from the data share it. */
static int build_training(meg_rbm *m)
{
    const meg_rbm_config *c = &m->cfg;
    const meg_rbm_net *n = &m->net;
    g_graph *g = m->g;
    int B = c->batch, V = c->visible;
    g_tensor *x = g_reshape(meg_device_set_batch(&m->data, m->rng, B, NULL), 2, G_SHAPE(B, V));
    g_tensor *v0 = binarize(m, x);
    g_tensor *a0 = g_add(g_matmul(v0, n->W, 0, 0), n->c);
    g_tensor *pv1 = meg_rbm_visible_prob(n, g_bernoulli(m->rng, g_sigmoid(a0)), c->wrong);
    g_tensor *vk;
    if (c->persistent) {
        m->chain = g_state(g, "pcd.v", 2, G_SHAPE(B, V), g_init_zeros());
        vk = meg_rbm_gibbs(n, m->rng, m->chain, c->k, c->wrong, NULL);
    } else {
        vk = g_bernoulli(m->rng, pv1);
        if (c->k > 1) vk = meg_rbm_gibbs(n, m->rng, vk, c->k - 1, c->wrong, NULL);
    }
    m->fe_data = g_mean_all(meg_rbm_free_energy_at(n, v0, a0));
    m->fe_model = g_mean_all(meg_rbm_free_energy(n, g_stop_gradient(vk)));
    m->recon = g_scale(g_sum_all(g_square(g_sub(v0, pv1))), 1.0f / (float)B);
    g_tensor *params[3] = {m->net.W, m->net.b, m->net.c}, *grads[3];
    if (g_graph_error(g) || g_grad(g, g_sub(m->fe_data, m->fe_model), params, 3, grads)) return -1;
    g_tensor *effects[3];
    int ne = 0;
    if (c->adam) {
        g_adam_opts ao = {c->lr, c->beta1, c->beta2, 1e-8f};
        effects[ne++] = g_adam(g, "adam", params, grads, 3, ao);
    } else {
        effects[ne++] = g_sgd(g, params, grads, 3, c->lr);
    }
    if (c->persistent) effects[ne++] = g_assign(m->chain, vk);
    effects[ne++] = g_rng_advance(m->rng);
    m->step = g_group(g, effects, ne);
    return g_graph_error(g) ? -1 : 0;
}

/* One Gibbs step of the sampling chains, which live in an input the host
 * starts (from noise) and the step advances. */
static void build_sampling(meg_rbm *m)
{
    g_graph *g = m->g;
    m->sample_rng = g_rng(g, "sample.rng", m->cfg.seed ^ 0x5A4D504C45ull);
    m->sample_v = g_input(g, "sample.v", 2, G_SHAPE(m->cfg.samples, m->cfg.visible));
    g_tensor *next = meg_rbm_gibbs(&m->net, m->sample_rng, m->sample_v, 1, 0, &m->sample_pv);
    g_tensor *effects[2] = {g_assign(m->sample_v, next), g_rng_advance(m->sample_rng)};
    m->sample_step = g_group(g, effects, 2);
}

int meg_rbm_build(meg_rbm *m, const meg_rbm_config *c, const meg_dataset *train, const g_limits *lim, int eval_n)
{
    memset(m, 0, sizeof *m);
    if (check_config(c, train, eval_n)) return -1;
    m->cfg = *c;
    m->eval_n = eval_n;
    g_graph *g = m->g = g_graph_new();
    if (!g) { rt_set_error("out of host memory"); return -1; }
    /* the images as bytes where the set has them: a quarter of the device memory */
    if (train && meg_device_set_make(g, "data", train, 1, lim, &m->data)) goto fail;
    m->rng = g_rng(g, "rng", c->seed);
    if (meg_rbm_net_make(g, "rbm", c->visible, c->hidden, c->init_std, &m->net)) goto fail;
    if (train && build_training(m)) goto fail;
    m->x_in = g_input(g, "eval.v", 2, G_SHAPE(eval_n, c->visible));
    m->fe = meg_rbm_free_energy(&m->net, m->x_in);
    m->recon_in = meg_rbm_visible_prob(&m->net, meg_rbm_hidden_prob(&m->net, m->x_in), 0);
    build_sampling(m);
    if (g_graph_error(g)) goto fail;
    return 0;
fail:
    if (g && g_graph_error(g)) rt_set_error("building the RBM graph: %s", g_graph_error(g));
    meg_rbm_free(m);
    return -1;
}

int meg_rbm_upload(g_session *s, const meg_rbm *m, const meg_dataset *train)
{
    if (!m->step) { rt_set_error("RBM: built without a training set, it has none to upload"); return -1; }
    return meg_device_set_upload(s, &m->data, train);
}

void meg_rbm_free(meg_rbm *m)
{
    g_graph_free(m->g);
    memset(m, 0, sizeof *m);
}

int meg_rbm_eval_fe(g_session *s, g_plan *p, const meg_rbm *m, const float *v, size_t n, double *fe)
{
    size_t E = (size_t)m->eval_n, V = (size_t)m->cfg.visible;
    float *buf = calloc(E * V, sizeof *buf);
    if (!buf) { rt_set_error("out of host memory"); return -1; }
    for (size_t i = 0; i < n; i += E) {
        size_t k = n - i < E ? n - i : E;
        memset(buf, 0, E * V * sizeof *buf);   /* rows past n: zeros, their values dropped */
        memcpy(buf, v + i * V, k * V * sizeof *buf);
        if (g_session_write(s, m->x_in, buf) || g_plan_run(p, 1) || g_session_read(s, m->fe, buf)) {
            free(buf);
            return -1;
        }
        for (size_t j = 0; j < k; j++) fe[i + j] = buf[j];
    }
    free(buf);
    return 0;
}
