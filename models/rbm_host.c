/* rbm_host.c: the RBM on the host, in double (rbm.h): binarised sets, the
 * base-rate biases, free energies, and log Z by enumeration for models
 * small enough. */
#include "rbm.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

int meg_rbm_binarize_set(const meg_dataset *d, size_t n, meg_rbm_binarize how, uint64_t seed, float *out)
{
    size_t D = meg_dataset_dim(d);
    if (n > d->n) {
        rt_set_error("RBM: %zu examples asked of %s, which has %zu", n, d->name ? d->name : "a set", d->n);
        return -1;
    }
    uint64_t st = seed * G_GOLDEN64 + 0x52424D42494E4152ull;
    for (size_t i = 0; i < n * D; i++) {
        double x = d->x[i];
        if (how == MEG_RBM_STOCHASTIC) {
            uint64_t r = g_splitmix64(st);   /* the splitmix64 stream of st */
            st += G_GOLDEN64;
            out[i] = ((double)(r >> 11) + 0.5) / 9007199254740992.0 < (x + 1) / 2 ? 1.0f : 0.0f;
        } else {
            out[i] = x > 0 ? 1.0f : 0.0f;
        }
    }
    return 0;
}

void meg_rbm_base_rate(const meg_dataset *d, meg_rbm_binarize how, float *b)
{
    size_t D = meg_dataset_dim(d);
    for (size_t i = 0; i < D; i++) {
        double sum = 0;
        for (size_t r = 0; r < d->n; r++) {
            double x = d->x[r * D + i];
            sum += how == MEG_RBM_STOCHASTIC ? (x + 1) / 2 : x > 0;
        }
        double p = (sum + 0.5) / ((double)d->n + 1.0);
        b[i] = (float)log(p / (1 - p));
    }
}

int meg_rbm_read_weights(g_session *s, const meg_rbm_net *n, meg_rbm_weights *w)
{
    size_t V = (size_t)n->visible, H = (size_t)n->hidden;
    float *W = malloc(V * H * sizeof *W), *b = malloc(V * sizeof *b), *c = malloc(H * sizeof *c);
    memset(w, 0, sizeof *w);
    if (!W || !b || !c) {
        free(W), free(b), free(c);
        rt_set_error("out of host memory");
        return -1;
    }
    if (g_session_read(s, n->W, W) || g_session_read(s, n->b, b) || g_session_read(s, n->c, c)) {
        free(W), free(b), free(c);
        return -1;
    }
    *w = (meg_rbm_weights){n->visible, n->hidden, W, b, c};
    return 0;
}

double meg_rbm_free_energy_host(const meg_rbm_weights *w, const float *v)
{
    size_t V = (size_t)w->visible, H = (size_t)w->hidden;
    double f = 0;
    for (size_t i = 0; i < V; i++) f -= v[i] * (double)w->b[i];
    for (size_t j = 0; j < H; j++) {
        double a = w->c[j];
        for (size_t i = 0; i < V; i++)
            if (v[i] != 0) a += v[i] * (double)w->W[i * H + j];
        f -= softplus(a);
    }
    return f;
}

/* log of the unnormalised marginal of one hidden state h (bits of `bits`):
 * c.h + sum_i softplus((W h + b)_i) */
static double hidden_marginal(const meg_rbm_weights *w, uint32_t bits)
{
    size_t V = (size_t)w->visible, H = (size_t)w->hidden;
    double s = 0;
    for (size_t j = 0; j < H; j++)
        if (bits >> j & 1) s += w->c[j];
    for (size_t i = 0; i < V; i++) {
        double a = w->b[i];
        for (size_t j = 0; j < H; j++)
            if (bits >> j & 1) a += w->W[i * H + j];
        s += softplus(a);
    }
    return s;
}

int meg_rbm_log_z_exact(const meg_rbm_weights *w, double *log_z)
{
    int by_visible = w->visible <= w->hidden, bits = by_visible ? w->visible : w->hidden;
    if (bits > 24) {
        rt_set_error("RBM: exact log Z enumerates 2^%d states of the smaller layer (%d visible, %d hidden); at most "
                     "2^24", bits, w->visible, w->hidden);
        return -1;
    }
    size_t count = (size_t)1 << bits;
    double *lp = malloc(count * sizeof *lp);
    float *v = malloc((size_t)w->visible * sizeof *v);
    if (!lp || !v) {
        free(lp), free(v);
        rt_set_error("out of host memory");
        return -1;
    }
    double mx = -INFINITY;
    for (size_t s = 0; s < count; s++) {
        if (by_visible) {
            for (int i = 0; i < w->visible; i++) v[i] = (float)(s >> i & 1);
            lp[s] = -meg_rbm_free_energy_host(w, v);
        } else {
            lp[s] = hidden_marginal(w, (uint32_t)s);
        }
        if (lp[s] > mx) mx = lp[s];
    }
    double sum = 0;
    for (size_t s = 0; s < count; s++) sum += exp(lp[s] - mx);
    *log_z = mx + log(sum);
    free(lp);
    free(v);
    return 0;
}
