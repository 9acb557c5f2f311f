/* rbm_ais.c: annealed importance sampling of an RBM's log Z on the device
 * (Salakhutdinov and Murray 2008). The intermediate models are
 *   p*_beta(v) = exp((1 - beta) v.bA + beta v.b) prod_j (1 + exp(beta (v W + c)_j)),
 * from the base model (visible biases bA, no coupling; Z_0 = 2^H prod_i (1 + e^bA_i))
 * at beta 0 to the RBM at beta 1; each run starts with an exact draw of the
 * base model and, at each beta_k, adds log p*_k(v) - log p*_{k-1}(v) to its
 * log weight and takes one Gibbs step that leaves p_k invariant. One graph
 * is one temperature for every run, replayed many times per submit; the
 * host sums the log weights in double between submits. */
#include "rbm.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void meg_rbm_ais_opts_default(meg_rbm_ais_opts *o)
{
    memset(o, 0, sizeof *o);
    o->runs = 100;
    o->betas = 14500;
    o->per_submit = 250;
    o->seed = 1;
}

void meg_rbm_ais_schedule(int n, double *beta)
{
    /* the paper's 500 steps on [0, 0.5], 4000 on [0.5, 0.9], 10000 on [0.9, 1], scaled to n */
    long n1 = lround(n * (500.0 / 14500.0)), n2 = lround(n * (4500.0 / 14500.0));
    if (n1 < 1) n1 = 1;
    if (n2 <= n1) n2 = n1 + 1;
    for (int i = 0; i <= n; i++) {
        if (n2 >= n) beta[i] = (double)i / n;   /* too few for three pieces: evenly spaced */
        else if (i <= n1) beta[i] = 0.5 * i / (double)n1;
        else if (i <= n2) beta[i] = 0.5 + 0.4 * (double)(i - n1) / (double)(n2 - n1);
        else beta[i] = 0.9 + 0.1 * (double)(i - n2) / (double)(n - n2);
    }
    beta[n] = 1.0;
}

typedef struct ais_graph {
    g_graph *g;
    g_tensor *W, *b, *c, *bA, *betas, *v, *logw, *k, *step;
} ais_graph;

static int build(ais_graph *a, int V, int H, int R, int T, uint64_t seed)
{
    g_graph *g = a->g = g_graph_new();
    if (!g) { rt_set_error("out of host memory"); return -1; }
    meg_rbm_net n = {V, H, g_input(g, "ais.W", 2, G_SHAPE(V, H)), g_input(g, "ais.b", 1, G_SHAPE(V)),
                     g_input(g, "ais.c", 1, G_SHAPE(H))};
    a->W = n.W, a->b = n.b, a->c = n.c;
    a->bA = g_input(g, "ais.bA", 1, G_SHAPE(V));
    a->betas = g_input(g, "ais.betas", 2, G_SHAPE(T + 1, 1));
    a->v = g_input(g, "ais.v", 2, G_SHAPE(R, V));
    a->logw = g_input(g, "ais.logw", 1, G_SHAPE(R));
    a->k = g_input(g, "ais.k", 1, G_SHAPE(1));
    g_tensor *rng = g_rng(g, "ais.rng", seed);
    g_tensor *b0 = g_reshape(g_gather_rows(a->betas, a->k), 1, G_SHAPE(1));
    g_tensor *b1 = g_reshape(g_gather_rows(a->betas, g_add_scalar(a->k, 1.0f)), 1, G_SHAPE(1));
    g_tensor *act = g_add(g_matmul(a->v, n.W, 0, 0), n.c);   /* [R, H] */
    /* log p*_1(v) - log p*_0(v), term by term so that fp32 cancels little */
    g_tensor *dbias = g_mul(g_sub(b1, b0), g_sum(g_mul(a->v, g_sub(n.b, a->bA)), 1, 0));
    g_tensor *dsp = g_sum(g_sub(g_softplus(g_mul(b1, act)), g_softplus(g_mul(b0, act))), 1, 0);
    g_tensor *logw = g_add(a->logw, g_add(dbias, dsp));
    /* a Gibbs step at beta_1: h | v, then v | h with the two models' visible biases mixed */
    g_tensor *h = g_bernoulli(rng, g_sigmoid(g_mul(b1, act)));
    g_tensor *av = g_add(g_mul(g_add_scalar(g_neg(b1), 1.0f), a->bA),
                         g_mul(b1, g_add(g_matmul(h, n.W, 0, 1), n.b)));
    g_tensor *v = g_bernoulli(rng, g_sigmoid(av));
    g_tensor *effects[4] = {g_assign(a->logw, logw), g_assign(a->v, v), g_assign(a->k, g_add_scalar(a->k, 1.0f)),
                            g_rng_advance(rng)};
    a->step = g_group(g, effects, 4);
    if (g_graph_error(g)) {
        rt_set_error("building the AIS graph: %s", g_graph_error(g));
        return -1;
    }
    return 0;
}

/* log mean w and the bounds log(mean w -+ 3 sd(w) / sqrt(R)), from log weights */
static void summarise(const double *lw, int R, meg_rbm_ais_result *out)
{
    double mx = -INFINITY, m = 0, ss = 0, lm = 0, lss = 0;
    for (int r = 0; r < R; r++) mx = fmax(mx, lw[r]);
    for (int r = 0; r < R; r++) m += exp(lw[r] - mx), lm += lw[r];
    m /= R;
    lm /= R;
    for (int r = 0; r < R; r++) {
        double d = exp(lw[r] - mx) - m;
        ss += d * d;
        lss += (lw[r] - lm) * (lw[r] - lm);
    }
    double se = R > 1 ? sqrt(ss / (R - 1)) / sqrt((double)R) : 0;
    out->logw_sd = R > 1 ? sqrt(lss / (R - 1)) : 0;
    out->log_z = out->log_z0 + mx + log(m);
    out->log_z_hi = out->log_z0 + mx + log(m + 3 * se);
    out->log_z_lo = m - 3 * se > 0 ? out->log_z0 + mx + log(m - 3 * se) : -INFINITY;
}

int meg_rbm_ais(rt_ctx *ctx, const meg_rbm_weights *w, const meg_rbm_ais_opts *o, meg_rbm_ais_result *out)
{
    int V = w->visible, H = w->hidden, R = o->runs, T = o->betas;
    memset(out, 0, sizeof *out);
    if (R < 1 || T < 1 || T > (1 << 23) || o->per_submit < 1) {
        rt_set_error("AIS: %d runs, %d betas (1 to 2^23) and %d per submit must be positive", R, T, o->per_submit);
        return -1;
    }
    ais_graph a = {0};
    g_session *s = NULL;
    g_plan *p = NULL;
    int rc = -1;
    size_t nv = (size_t)R * (size_t)V;
    double *beta = malloc((size_t)(T + 1) * sizeof *beta), *lw = calloc((size_t)R, sizeof *lw);
    float *fb = malloc((size_t)(T + 1) * sizeof *fb), *bA = calloc((size_t)V, sizeof *bA);
    float *v = malloc(nv * sizeof *v), *fw = calloc((size_t)R, sizeof *fw), k0 = 0;
    if (!beta || !lw || !fb || !bA || !v || !fw) { rt_set_error("out of host memory"); goto done; }
    meg_rbm_ais_schedule(T, beta);
    for (int i = 0; i <= T; i++) fb[i] = (float)beta[i];
    if (o->base_b) memcpy(bA, o->base_b, (size_t)V * sizeof *bA);
    /* Z_0 = 2^H prod_i (1 + e^bA_i), and exact draws of the base model */
    out->log_z0 = H * log(2.0);
    for (int i = 0; i < V; i++) out->log_z0 += bA[i] > 0 ? bA[i] + log1p(exp(-bA[i])) : log1p(exp(bA[i]));
    uint64_t st = o->seed * G_GOLDEN64 + 0x414953;
    for (size_t j = 0; j < nv; j++) {
        double pi = 1 / (1 + exp(-(double)bA[j % (size_t)V]));
        uint64_t r = g_splitmix64(st);
        st += G_GOLDEN64;
        v[j] = ((double)(r >> 11) + 0.5) / 9007199254740992.0 < pi ? 1.0f : 0.0f;
    }
    if (build(&a, V, H, R, T, o->seed) || g_session_new(ctx, a.g, o->seed, &s) ||
        g_session_write(s, a.W, w->W) || g_session_write(s, a.b, w->b) || g_session_write(s, a.c, w->c) ||
        g_session_write(s, a.bA, bA) || g_session_write(s, a.betas, fb) || g_session_write(s, a.v, v) ||
        g_session_write(s, a.logw, fw) || g_session_write(s, a.k, &k0) || g_plan_new(s, &a.step, 1, NULL, &p))
        goto done;
    for (int done_k = 0; done_k < T;) {
        int n = T - done_k < o->per_submit ? T - done_k : o->per_submit;
        if (g_plan_run(p, n) || g_session_read(s, a.logw, fw)) goto done;
        for (int r = 0; r < R; r++) lw[r] += fw[r], fw[r] = 0;
        if (g_session_write(s, a.logw, fw)) goto done;   /* fp32 sums stay short: each submit's only */
        done_k += n;
    }
    for (int r = 0; r < R; r++)
        if (!isfinite(lw[r])) { rt_set_error("AIS: run %d has a log weight that is not finite", r); goto done; }
    out->runs = R;
    out->betas = T;
    summarise(lw, R, out);
    rc = 0;
done:
    g_plan_free(p);
    g_session_free(s);
    g_graph_free(a.g);
    free(beta), free(lw), free(fb), free(bA), free(v), free(fw);
    return rc;
}
