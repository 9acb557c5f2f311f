/* rbm_net.c: the RBM's conditionals, free energy and block Gibbs sampling
 * as graph builders (rbm.h). */
#include "rbm.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

int meg_rbm_net_make(g_graph *g, const char *prefix, int visible, int hidden, float init_std, meg_rbm_net *out)
{
    char wn[2 * G_NAME_MAX], bn[2 * G_NAME_MAX], cn[2 * G_NAME_MAX];   /* too long a name: the graph's error */
    memset(out, 0, sizeof *out);
    if (visible < 1 || hidden < 1 || !(init_std >= 0)) {
        rt_set_error("RBM: %d visible and %d hidden units must be positive, init_std %g >= 0", visible, hidden,
                     (double)init_std);
        return -1;
    }
    snprintf(wn, sizeof wn, "%s.W", prefix);
    snprintf(bn, sizeof bn, "%s.b", prefix);
    snprintf(cn, sizeof cn, "%s.c", prefix);
    out->visible = visible;
    out->hidden = hidden;
    out->W = g_param(g, wn, 2, G_SHAPE(visible, hidden), g_init_normal(init_std));
    out->b = g_param(g, bn, 1, G_SHAPE(visible), g_init_zeros());
    out->c = g_param(g, cn, 1, G_SHAPE(hidden), g_init_zeros());
    if (!out->W || !out->b || !out->c) {
        rt_set_error("%s", g_graph_error(g));
        return -1;
    }
    return 0;
}

g_tensor *meg_rbm_hidden_prob(const meg_rbm_net *n, g_tensor *v)
{
    return g_sigmoid(g_add(g_matmul(v, n->W, 0, 0), n->c));
}

g_tensor *meg_rbm_visible_prob(const meg_rbm_net *n, g_tensor *h, unsigned flags)
{
    g_tensor *a = g_matmul(h, n->W, 0, 1);
    return g_sigmoid((flags & MEG_RBM_WRONG_NO_VBIAS) ? a : g_add(a, n->b));
}

g_tensor *meg_rbm_free_energy_at(const meg_rbm_net *n, g_tensor *v, g_tensor *act)
{
    return g_neg(g_add(g_sum(g_mul(v, n->b), 1, 0), g_sum(g_softplus(act), 1, 0)));
}

g_tensor *meg_rbm_free_energy(const meg_rbm_net *n, g_tensor *v)
{
    return meg_rbm_free_energy_at(n, v, g_add(g_matmul(v, n->W, 0, 0), n->c));
}

g_tensor *meg_rbm_gibbs(const meg_rbm_net *n, g_tensor *rng, g_tensor *v, int k, unsigned flags, g_tensor **pv)
{
    g_tensor *p = NULL;
    if (v && k < 1) {
        g_graph_fail(v->graph, "RBM Gibbs: %d steps (at least 1)", k);
        return NULL;
    }
    for (int s = 0; s < k; s++) {
        g_tensor *h = g_bernoulli(rng, meg_rbm_hidden_prob(n, v));
        p = meg_rbm_visible_prob(n, h, flags);
        v = g_bernoulli(rng, p);
    }
    if (pv) *pv = p;
    return v;
}
