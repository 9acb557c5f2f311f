/* meg.c: the three networks of MEG (MLPs, or meg_image.c's convolutional
 * ones), Algorithm 1 of the seed as ONE graph (n_energy energy updates,
 * each optionally on latents refined by MALA, then one generator and
 * statistics update, Adam on each), and the evaluation graphs. */
#include "meg.h"
#include "samplers.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void meg_config_default(meg_config *c)
{
    memset(c, 0, sizeof *c);
    c->dim = 2;
    c->zdim = 2;
    c->width = 512;
    c->hidden = 3;
    c->batch = 256;
    c->n_energy = 5;
    c->lr = 1e-4f;
    c->beta1 = 0.5f;
    c->beta2 = 0.9f;
    c->lambda = 0.1f;
    c->shuffle_rows = 0;
    c->seed = 1;
    c->mcmc_steps = 0;
    c->mcmc_step_size = 0.01f;
}

void meg_config_image(meg_config *c, int channels)
{
    meg_config_default(c);
    c->channels = channels;
    c->height = c->img_width = 28;
    c->dim = channels * 28 * 28;
    c->zdim = 128;
    c->width = 512;
    c->batch = 64;
    c->lambda = 10.0f;
}

void meg_config_tabular(meg_config *c, int dim)
{
    meg_config_default(c);
    c->dim = dim;
    c->zdim = 32;
    c->batch = 256;
    c->lambda = 100.0f;
    c->n_energy = 1;
    c->g_hidden = (meg_widths){2, {64, 128}};
    c->e_hidden = (meg_widths){3, {256, 128, 128}};
    c->t_hidden = (meg_widths){3, {256, 128, 128}};
}

static int check_config(const meg_config *c, size_t ndata)
{
    if (c->objective != MEG_OBJECTIVE_MEG && c->objective != MEG_OBJECTIVE_WGAN_GP) {
        rt_set_error("MEG configuration: objective %d (MEG 0 or WGAN-GP 1)", c->objective);
        return -1;
    }
    if (c->objective == MEG_OBJECTIVE_WGAN_GP && c->mcmc_steps > 0) {
        rt_set_error("MEG configuration: WGAN-GP takes no latent MCMC in training");
        return -1;
    }
    if (c->dim < 1 || c->zdim < 1 || c->width < 1 || c->hidden < 1 || c->batch < 2 || c->n_energy < 1) {
        rt_set_error("MEG configuration: dim %d, zdim %d, width %d, hidden %d, batch %d, n_energy %d must all be "
                     "positive (batch at least 2)", c->dim, c->zdim, c->width, c->hidden, c->batch, c->n_energy);
        return -1;
    }
    if (!(c->lr > 0) || !(c->lambda >= 0) || !(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1)) {
        rt_set_error("MEG configuration: lr %g must be > 0, lambda %g >= 0, betas %g, %g in [0, 1)", (double)c->lr,
                     (double)c->lambda, (double)c->beta1, (double)c->beta2);
        return -1;
    }
    if (c->mcmc_steps < 0 || c->mcmc_steps > 1000 || (c->mcmc_steps > 0 && !(c->mcmc_step_size > 0))) {
        rt_set_error("MEG configuration: %d MCMC steps (0 to 1000) with step size %g (> 0)", c->mcmc_steps,
                     (double)c->mcmc_step_size);
        return -1;
    }
    if (c->lr_decay < 0 || !(c->lr_final >= 0 && c->lr_final <= 1)) {
        rt_set_error("MEG configuration: a learning-rate decay over %d iterations (>= 0; 0: none) to a fraction "
                     "%g of lr (in [0, 1])", c->lr_decay, (double)c->lr_final);
        return -1;
    }
    if (!(c->g_ema >= 0 && c->g_ema < 1) || (c->g_ema > 0 && c->channels > 0)) {
        rt_set_error("MEG configuration: an average of G's weights with decay %g (in [0, 1); vectors only: the "
                     "image generator's batch statistics belong to its own weights)", (double)c->g_ema);
        return -1;
    }
    if (ndata < 1 || ndata > (1u << 24)) {
        rt_set_error("MEG: %zu data points (1 to 2^24 supported: indices are drawn as exact fp32 integers)", ndata);
        return -1;
    }
    return 0;
}

g_tensor *meg_energy_of(const meg_model *m, g_tensor *x)
{
    return m->image ? meg_image_energy(&m->net, x) : meg_mlp_apply(&m->E, x);
}

g_tensor *meg_generator_of(const meg_model *m, g_tensor *z, g_tensor **update)
{
    if (m->image) return meg_image_generate(&m->net, z, update);
    if (update) *update = NULL;
    return meg_mlp_apply(&m->G, z);
}

g_tensor *meg_sampler_of(const meg_model *m, g_tensor *z)
{
    if (!m->image && m->cfg.g_ema > 0) return meg_mlp_apply(&m->G_ema, z);
    return meg_generator_of(m, z, NULL);
}

g_tensor *meg_statistics_of(const meg_model *m, g_tensor *x, g_tensor *z)
{
    if (m->image) return meg_image_statistics(&m->net, x, z);
    if (!x || !z) return NULL;
    g_tensor *pair[2] = {x, z};
    return meg_mlp_apply(&m->T, g_concat(z->graph, pair, 2, 1));
}

g_tensor *meg_latent_energy(g_graph *g, g_tensor *z, void *model)
{
    (void)g;
    const meg_model *m = model;
    return meg_energy_of(m, meg_sampler_of(m, z));
}

/* U(z) = E(G(z)) with the generator being trained (the refinement in training) */
static g_tensor *training_latent_energy(g_graph *g, g_tensor *z, void *model)
{
    (void)g;
    const meg_model *m = model;
    return meg_energy_of(m, meg_generator_of(m, z, NULL));
}

g_tensor *meg_visible_energy(g_graph *g, g_tensor *x, void *model)
{
    (void)g;
    return meg_energy_of(model, x);
}

/* mean over the batch of ||dE/dx||^2 of each sample: over every value of
 * it (the paper), or, for images with penalty_channel_norm, over the
 * channels and then averaged over the pixels (the authors' code) */
static g_tensor *penalty_of(const meg_config *c, g_tensor *gx)
{
    if (!gx) return NULL;
    int B = gx->shape[0];
    g_tensor *sq = g_sum(g_square(g_reshape(gx, 2, G_SHAPE(B, (int)(g_numel(gx) / (size_t)B)))), 1, 0);
    g_tensor *pen = g_mean_all(sq);
    if (c->channels > 0 && c->penalty_channel_norm) pen = g_scale(pen, 1.0f / (float)(c->height * c->img_width));
    return pen;
}

/* Latent MALA refinement of z (section 2.3.2) unrolled into the graph, on
 * U(z) = E(G(z)) + ||z||^2 / 2 with the model's generator. The result is
 * written into a state leaf and read back from it: a leaf has no gradient,
 * so the energy update does not differentiate through the chain. */
static g_tensor *refine_latents(meg_model *m, g_tensor *z, g_tensor **effect)
{
    g_graph *g = m->g;
    const meg_config *c = &m->cfg;
    meg_mala_target t = {.U = training_latent_energy, .user = m, .chains = z->shape[0], .dim = z->shape[1],
                         .prior = 1, .temperature = 1.0f, .name = "mcmc"};
    g_tensor *a = g_const(g, c->mcmc_step_size, 1, G_SHAPE(1)), *accepted = g_scalar(g, 0.0f);
    meg_mala_step st = {.rng = m->rng, .a = a};
    if (meg_mala_at(g, &t, z, &st.cur)) return NULL;
    for (int k = 0; k < c->mcmc_steps; k++) {
        if (meg_mala_step_build(g, &t, &st)) return NULL;
        st.cur = st.next;
        accepted = g_add(accepted, g_mean_all(st.accepted));
    }
    m->mcmc_accept = g_scale(accepted, 1.0f / (float)c->mcmc_steps);
    *effect = g_assign(m->mcmc_z, st.cur.s);
    return *effect ? m->mcmc_z : NULL;
}

static int make_nets(meg_model *m)
{
    const meg_config *c = &m->cfg;
    g_graph *g = m->g;
    if (m->image) return meg_image_nets_make(g, c, &m->net);
    /* leaky relu (0.2) in E and T, relu in G, as in the seed's code */
    meg_widths we = c->e_hidden, wg = c->g_hidden, wt = c->t_hidden;
    meg_widths *ws[3] = {&we, &wg, &wt};
    for (int k = 0; k < 3; k++)
        if (ws[k]->n == 0) {
            ws[k]->n = c->hidden;
            for (int l = 0; l < c->hidden && l < MEG_MAX_LAYERS - 1; l++) ws[k]->w[l] = c->width;
        }
    if (meg_mlp_make_widths(g, "E", c->dim, we.w, we.n, 1, G_ACT_LEAKY_RELU, 0.2f, &m->E) ||
        meg_mlp_make_widths(g, "G", c->zdim, wg.w, wg.n, c->dim, G_ACT_RELU, 0.0f, &m->G) ||
        (c->objective == MEG_OBJECTIVE_MEG &&
         meg_mlp_make_widths(g, "T", c->dim + c->zdim, wt.w, wt.n, 1, G_ACT_LEAKY_RELU, 0.2f, &m->T)))
        return -1;
    if (c->g_ema > 0) {
        /* G's layers over states "ema.<param>" that start equal to G's params */
        m->G_ema = m->G;
        for (int l = 0; l < m->G.nlayers; l++) {
            g_tensor **dst[2] = {&m->G_ema.layer[l].w, &m->G_ema.layer[l].b};
            for (int k = 0; k < 2; k++) {
                const g_tensor *p = *dst[k];
                char name[G_NAME_MAX];
                int len = snprintf(name, sizeof name, "ema.%s", p->name);
                if (len < 0 || len >= (int)sizeof name) {
                    rt_set_error("MEG: the average's name for '%s' is too long", p->name);
                    return -1;
                }
                *dst[k] = g_state(g, name, p->ndim, p->shape, g_init_like(p));
            }
        }
        if (g_graph_error(g)) { rt_set_error("%s", g_graph_error(g)); return -1; }
    }
    return 0;
}

/* ema <- d ema + (1 - d) w for each of G's params, after G's update (one
 * group node); NULL when there is no average. */
static g_tensor *ema_update(meg_model *m)
{
    if (m->image || !(m->cfg.g_ema > 0)) return NULL;
    g_tensor *p[2 * MEG_MAX_LAYERS], *s[2 * MEG_MAX_LAYERS], *a[2 * MEG_MAX_LAYERS];
    int n = meg_mlp_params(&m->G, p);
    meg_mlp_params(&m->G_ema, s);
    float d = m->cfg.g_ema;
    for (int i = 0; i < n; i++) a[i] = g_assign(s[i], g_add(g_scale(s[i], d), g_scale(p[i], 1.0f - d)));
    return g_group(m->g, a, n);
}

static int params_of(const meg_model *m, char net, g_tensor **out)
{
    if (m->image) return meg_image_params(&m->net, net, out);
    return meg_mlp_params(net == 'E' ? &m->E : net == 'G' ? &m->G : &m->T, out);
}

/* A minibatch of B training examples, drawn on the device */
static g_tensor *real_batch(meg_model *m)
{
    int B = m->cfg.batch;
    if (m->image) return meg_device_set_batch(&m->images, m->rng, B, NULL);
    return g_gather_rows(m->data, g_rand_int(m->rng, (int)m->ndata, 1, G_SHAPE(B)));
}

static g_tensor *critic_of(void *model, g_tensor *x) { return meg_energy_of(model, x); }

g_tensor *meg_wgan_penalty(g_tensor *(*critic)(void *user, g_tensor *x), void *user, g_tensor *x_real,
                           g_tensor *x_fake, g_tensor *alpha)
{
    if (!x_real || !x_fake || !alpha) return NULL;
    g_graph *g = x_real->graph;
    int B = x_real->shape[0], nd = x_real->ndim;
    int sh[G_MAX_DIMS] = {B, 1, 1, 1};
    g_tensor *a = g_reshape(alpha, nd, sh);
    /* x^ = x_fake + alpha (x_real - x_fake); gradients flow to neither sample (they are data here) */
    g_tensor *xh = g_add(g_stop_gradient(x_fake), g_mul(a, g_sub(g_stop_gradient(x_real), g_stop_gradient(x_fake))));
    g_tensor *d = critic(user, xh), *gx;
    if (!d || g_grad(g, g_sum_all(d), &xh, 1, &gx)) return NULL;
    g_tensor *sq = g_sum(g_square(g_reshape(gx, 2, G_SHAPE(B, (int)(g_numel(gx) / (size_t)B)))), 1, 0);
    /* the norm's square root with a floor far below any real gradient, so that its derivative stays finite */
    g_tensor *norm = g_sqrt(g_add_scalar(sq, 1e-12f));
    return g_mean_all(g_square(g_add_scalar(norm, -1.0f)));
}

/* Adam's settings for an optimizer that takes `per_iter` updates each
 * iteration, its schedule counted in its own updates. */
static g_adam_opts adam_opts(const meg_config *c, int per_iter)
{
    return (g_adam_opts){c->lr, c->beta1, c->beta2, 1e-8f, (float)c->lr_decay * (float)per_iter, c->lr_final};
}

/* WGAN-GP with E as the critic (D = -E, so that E stays low on data as an
 * energy): n_energy updates of L_D = mean E(x) - mean E(G(z)) + lambda GP,
 * then one generator update of L_G = mean E(G(z)); Adam on each. loss_h
 * holds the Wasserstein estimate mean D(x) - mean D(G(z)) of the last
 * critic update. */
static int build_step_wgan(meg_model *m)
{
    g_graph *g = m->g;
    const meg_config *c = &m->cfg;
    int B = c->batch, Z = c->zdim;
    g_adam_opts ae = adam_opts(c, c->n_energy), ao = adam_opts(c, 1);
    enum { MAXP = 2 * MEG_MAX_LAYERS > MEG_IMAGE_MAX_PARAMS ? 2 * MEG_MAX_LAYERS : MEG_IMAGE_MAX_PARAMS };
    g_tensor *pe[MAXP], *pg[MAXP], *grads[MAXP];
    int npe = params_of(m, 'E', pe), npg = params_of(m, 'G', pg), neff = 0;
    g_tensor **effects = calloc(2 * (size_t)c->n_energy + 5, sizeof *effects);
    if (!effects) { rt_set_error("out of host memory"); return -1; }
    for (int j = 0; j < c->n_energy; j++) {
        g_tensor *x = real_batch(m);
        g_tensor *z = g_rand_normal(m->rng, 2, G_SHAPE(B, Z)), *bn = NULL;
        g_tensor *xf = meg_generator_of(m, z, &bn);
        if (bn) effects[neff++] = bn;
        g_tensor *alpha = g_rand_uniform(m->rng, 1, G_SHAPE(B));
        g_tensor *pen = meg_wgan_penalty(critic_of, m, x, xf, alpha);
        g_tensor *ed = g_mean_all(meg_energy_of(m, x)), *eg = g_mean_all(meg_energy_of(m, g_stop_gradient(xf)));
        g_tensor *ld = g_add(g_sub(ed, eg), g_scale(pen, c->lambda));
        if (!ld || g_grad(g, ld, pe, npe, grads)) goto fail;
        effects[neff++] = g_adam(g, "adamE", pe, grads, npe, ae);
        m->loss_e = ld;
        m->penalty = pen;
        m->e_data = ed;
        m->e_gen = eg;
        m->loss_h = g_sub(eg, ed);
    }
    g_tensor *z = g_rand_normal(m->rng, 2, G_SHAPE(B, Z)), *bn = NULL;
    g_tensor *xf = meg_generator_of(m, z, &bn);
    if (bn) effects[neff++] = bn;
    g_tensor *lg = g_mean_all(meg_energy_of(m, xf));
    if (!lg || g_grad(g, lg, pg, npg, grads)) goto fail;
    effects[neff++] = g_adam(g, "adamG", pg, grads, npg, ao);
    if (c->g_ema > 0) effects[neff++] = ema_update(m);
    m->loss_g = lg;
    effects[neff++] = g_rng_advance(m->rng);
    m->step = g_group(g, effects, neff);
    free(effects);
    return 0;
fail:
    free(effects);
    return -1;
}

/* The training iteration: effects into m->step, values into the loss roots. */
static int build_step(meg_model *m)
{
    g_graph *g = m->g;
    const meg_config *c = &m->cfg;
    int B = c->batch, Z = c->zdim;
    g_adam_opts ae = adam_opts(c, c->n_energy), ao = adam_opts(c, 1);
    enum { MAXP = 2 * MEG_MAX_LAYERS > MEG_IMAGE_MAX_PARAMS ? 2 * MEG_MAX_LAYERS : MEG_IMAGE_MAX_PARAMS };
    g_tensor *pe[MAXP], *pgt[2 * MAXP], *grads[2 * MAXP];
    int npe = params_of(m, 'E', pe), neff = 0;
    g_tensor **effects = calloc(3 * (size_t)c->n_energy + 8, sizeof *effects);
    if (!effects) { rt_set_error("out of host memory"); return -1; }
    if (c->mcmc_steps > 0) m->mcmc_z = g_state(g, "mcmc.z", 2, G_SHAPE(B, Z), g_init_zeros());

    /* n_energy updates of E: L_E = mean E(x) - mean E(G(z)) + lambda mean ||dE/dx||^2 (real data) */
    for (int j = 0; j < c->n_energy; j++) {
        g_tensor *x = real_batch(m);
        g_tensor *z = g_rand_normal(m->rng, 2, G_SHAPE(B, Z)), *bn = NULL;
        if (c->mcmc_steps > 0 && !(z = refine_latents(m, z, &effects[neff++]))) goto fail;
        g_tensor *xf = meg_generator_of(m, z, &bn);
        if (bn) effects[neff++] = bn;
        g_tensor *er, *ef, *gx;
        if (!c->stack_e_rows) {
            er = meg_energy_of(m, x);
            ef = meg_energy_of(m, xf);
            if (g_grad(g, g_sum_all(er), &x, 1, &gx)) goto fail;
        } else {
            /* one batch of 2B rows [x; G(z)] (no batch norm in E): the forward
             * and the weight gradients are one matmul or convolution each; the
             * penalty's backward runs over all 2B rows, zero in the generated */
            g_tensor *xx[2] = {x, g_reshape(xf, x->ndim, x->shape)}, *xs = g_concat(g, xx, 2, 0), *gxs;
            g_tensor *e2 = meg_energy_of(m, xs);
            er = g_slice(e2, 0, 0, B);
            ef = g_slice(e2, 0, B, B);
            if (g_grad(g, g_sum_all(er), &xs, 1, &gxs)) goto fail;
            gx = g_slice(gxs, 0, 0, B);
        }
        g_tensor *pen = penalty_of(c, gx);
        g_tensor *ed = g_mean_all(er), *eg = g_mean_all(ef);
        g_tensor *le = g_add(g_sub(ed, eg), g_scale(pen, c->lambda));
        if (g_grad(g, le, pe, npe, grads)) goto fail;
        effects[neff++] = g_adam(g, "adamE", pe, grads, npe, ae);
        m->loss_e = le;
        m->penalty = pen;
        m->e_data = ed;
        m->e_gen = eg;
    }

    /* generator and statistics network: L_H (JSD estimator, softplus form) and L_G = mean E(G(z)) + L_H */
    g_tensor *z = g_rand_normal(m->rng, 2, G_SHAPE(B, Z)), *bn = NULL;
    g_tensor *xf = meg_generator_of(m, z, &bn);
    if (bn) effects[neff++] = bn;
    g_tensor *zs = g_shuffle(m->rng, z, c->shuffle_rows);
    g_tensor *tj, *tm;
    if (!c->stack_t_rows) {
        tj = meg_statistics_of(m, xf, z);
        tm = meg_statistics_of(m, xf, zs);
    } else {
        /* one batch of 2B rows: every layer of T is one matmul or convolution
         * each way instead of two, and no row sees another (no batch norm in T) */
        g_tensor *xx[2] = {xf, xf}, *zz[2] = {z, zs};
        g_tensor *t2 = meg_statistics_of(m, g_concat(g, xx, 2, 0), g_concat(g, zz, 2, 0));
        tj = g_slice(t2, 0, 0, B);
        tm = g_slice(t2, 0, B, B);
    }
    g_tensor *lh = g_add(g_mean_all(g_softplus(g_neg(tj))), g_mean_all(g_softplus(tm)));
    g_tensor *lg = g_add(g_mean_all(meg_energy_of(m, xf)), lh);
    /* one backward pass: d L_G / d T = d L_H / d T, since E(G(z)) does not depend on T */
    int npg = params_of(m, 'G', pgt);
    int npt = params_of(m, 'T', pgt + npg);
    if (g_grad(g, lg, pgt, npg + npt, grads)) goto fail;
    effects[neff++] = g_adam(g, "adamG", pgt, grads, npg, ao);
    effects[neff++] = g_adam(g, "adamT", pgt + npg, grads + npg, npt, ao);
    if (c->g_ema > 0) effects[neff++] = ema_update(m);
    m->loss_g = lg;
    m->loss_h = lh;
    effects[neff++] = g_rng_advance(m->rng);
    m->step = g_group(g, effects, neff);
    free(effects);
    return 0;
fail:
    free(effects);
    return -1;
}

static int build(meg_model *m, const meg_config *c, size_t ndata, const meg_image_source *src, int eval_n)
{
    memset(m, 0, sizeof *m);
    m->image = c->channels > 0;
    if (m->image && src && !(src->pool ? src->digits : src->set)) {
        rt_set_error("MEG: an image source needs a set, or a StackedMNIST pool with its digits");
        return -1;
    }
    if (m->image) ndata = src ? (src->pool ? src->pool->n : src->set->n) : 1;
    if (check_config(c, ndata)) return -1;
    if (eval_n < 1) { rt_set_error("MEG: %d evaluation rows (at least 1)", eval_n); return -1; }
    m->cfg = *c;
    m->ndata = ndata;
    m->eval_n = eval_n;
    g_graph *g = m->g = g_graph_new();
    if (!g) { rt_set_error("out of host memory"); return -1; }
    int D = c->dim, Z = c->zdim;
    if (!m->image) {
        m->data = g_input(g, "data", 2, G_SHAPE((int)ndata, D));
    } else if (src) {
        int rc = src->pool ? meg_device_stacked_make(g, "data", src->pool, src->digits, src->lim, &m->images)
                           : meg_device_set_make(g, "data", src->set, 1, src->lim, &m->images);
        if (rc) goto fail;
        if (m->images.ndim != 3 || m->images.shape[0] != c->channels || m->images.shape[1] != c->height ||
            m->images.shape[2] != c->img_width) {
            rt_set_error("MEG: the training images are not [%d, %d, %d], as the configuration says", c->channels,
                         c->height, c->img_width);
            goto fail;
        }
    }
    m->rng = g_rng(g, "rng", c->seed);
    if (make_nets(m)) goto fail;
    if ((!m->image || src) && (c->objective == MEG_OBJECTIVE_WGAN_GP ? build_step_wgan(m) : build_step(m))) goto fail;

    /* evaluation: energies of given points, generator samples of given latents */
    m->x_in = m->image ? g_input(g, "eval.x", 4, G_SHAPE(eval_n, c->channels, c->height, c->img_width))
                       : g_input(g, "eval.x", 2, G_SHAPE(eval_n, D));
    m->energy = meg_energy_of(m, m->x_in);
    m->z_in = g_input(g, "eval.z", 2, G_SHAPE(eval_n, Z));
    m->gen = meg_sampler_of(m, m->z_in);
    g_tensor *gx;
    if (g_grad(g, g_sum_all(m->energy), &m->x_in, 1, &gx)) goto fail;
    m->grad2 = g_sum(g_square(g_reshape(gx, 2, G_SHAPE(eval_n, D))), 1, 1);
    if (g_graph_error(g)) {
        rt_set_error("building the MEG graph: %s", g_graph_error(g));
        goto fail;
    }
    return 0;
fail:
    if (g && g_graph_error(g) && !strstr(rt_error(), g_graph_error(g))) rt_set_error("%s", g_graph_error(g));
    meg_model_free(m);
    return -1;
}

int meg_model_build(meg_model *m, const meg_config *c, size_t ndata, int eval_n)
{
    if (c->channels > 0) {
        rt_set_error("MEG: an image configuration is built by meg_model_build_images");
        return -1;
    }
    return build(m, c, ndata, NULL, eval_n);
}

int meg_model_build_images(meg_model *m, const meg_config *c, const meg_image_source *src, int eval_n)
{
    if (c->channels < 1) {
        rt_set_error("MEG: meg_model_build_images needs an image configuration (channels > 0)");
        return -1;
    }
    return build(m, c, 0, src, eval_n);
}

int meg_model_upload_images(g_session *s, const meg_model *m, const meg_image_source *src)
{
    if (!m->image || !m->images.values.nparts || !src) {
        rt_set_error("MEG: the model has no training images to upload");
        return -1;
    }
    return src->pool ? meg_device_stacked_upload(s, &m->images, src->pool, src->digits)
                     : meg_device_set_upload(s, &m->images, src->set);
}

void meg_model_free(meg_model *m)
{
    g_graph_free(m->g);
    memset(m, 0, sizeof *m);
}

static int eval_chunks(g_session *s, g_plan *p, g_tensor *in, g_tensor *out, int eval_n, int din, int dout,
                       const float *x, size_t n, float *y)
{
    float *buf = calloc((size_t)eval_n * (size_t)(din > dout ? din : dout), sizeof *buf);
    if (!buf) { rt_set_error("out of host memory"); return -1; }
    for (size_t i = 0; i < n; i += (size_t)eval_n) {
        size_t k = n - i < (size_t)eval_n ? n - i : (size_t)eval_n;
        memset(buf, 0, (size_t)eval_n * (size_t)din * sizeof *buf);
        memcpy(buf, x + i * (size_t)din, k * (size_t)din * sizeof *buf);
        if (g_session_write(s, in, buf) || g_plan_run(p, 1) || g_session_read(s, out, buf)) {
            free(buf);
            return -1;
        }
        memcpy(y + i * (size_t)dout, buf, k * (size_t)dout * sizeof *buf);
    }
    free(buf);
    return 0;
}

int meg_eval_energy(g_session *s, g_plan *p, const meg_model *m, const float *x, size_t n, float *e)
{
    return eval_chunks(s, p, m->x_in, m->energy, m->eval_n, m->cfg.dim, 1, x, n, e);
}

int meg_eval_grad2(g_session *s, g_plan *p, const meg_model *m, const float *x, size_t n, float *g2)
{
    return eval_chunks(s, p, m->x_in, m->grad2, m->eval_n, m->cfg.dim, 1, x, n, g2);
}

int meg_eval_generate(g_session *s, g_plan *p, const meg_model *m, const float *z, size_t n, float *x)
{
    return eval_chunks(s, p, m->z_in, m->gen, m->eval_n, m->cfg.zdim, m->cfg.dim, z, n, x);
}

void meg_latents(float *z, size_t n, int zdim, uint64_t seed)
{
    uint64_t st = seed * G_GOLDEN64 + 0xD1B54A32D192ED03ull;
    for (size_t i = 0; i < n * (size_t)zdim; i += 2) {
        double u[2];
        for (int k = 0; k < 2; k++) {
            uint64_t v = g_splitmix64(st);   /* the splitmix64 stream of st */
            st += G_GOLDEN64;
            u[k] = ((double)(v >> 11) + 0.5) / 9007199254740992.0;
        }
        double r = sqrt(-2.0 * log(u[0]));
        z[i] = (float)(r * cos(2 * M_PI * u[1]));
        if (i + 1 < n * (size_t)zdim) z[i + 1] = (float)(r * sin(2 * M_PI * u[1]));
    }
}
