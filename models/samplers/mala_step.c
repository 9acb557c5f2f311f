/* mala_step.c: one MALA step (seed section 2.3.2) as nodes of any graph:
 * the exponent V and its gradient at a position, the proposal, V at the
 * proposal and the Metropolis-Hastings test. The sampler of mala.c and
 * MEG's latent refinement during training both build their steps here. */
#include "samplers.h"
#include "util.h"

/* The exponent V(s) = U(s) / T + prior ||s||^2 / 2 as [C]. */
static g_tensor *total_energy(g_graph *g, const meg_mala_target *t, g_tensor *s)
{
    g_tensor *e = t->U(g, s, t->user);
    if (!e) {
        if (!g_graph_error(g)) rt_set_error("MALA '%s': the energy function returned NULL", t->name);
        return NULL;
    }
    int ok = (e->ndim == 1 && e->shape[0] == t->chains) ||
             (e->ndim == 2 && e->shape[0] == t->chains && e->shape[1] == 1);
    if (!ok) {
        char b[64];
        rt_set_error("MALA '%s': the energy function returned %s, expected [%d] or [%d, 1]", t->name,
                     g_shape_str(e, b, sizeof b), t->chains, t->chains);
        return NULL;
    }
    if (e->ndim == 2) e = g_reshape(e, 1, &t->chains);
    if (t->temperature != 1.0f) e = g_scale(e, 1.0f / t->temperature);
    if (t->prior) e = g_add(e, g_scale(g_sum(g_square(s), 1, 0), 0.5f));
    return e;
}

/* -1, with the graph's first error as the message when it has one (the
 * messages of total_energy stand otherwise). */
static int failed(g_graph *g, const meg_mala_target *t)
{
    if (g_graph_error(g)) rt_set_error("MALA '%s': %s", t->name, g_graph_error(g));
    return -1;
}

/* Chains are independent, so the gradient of the sum is each chain's own. */
int meg_mala_at(g_graph *g, const meg_mala_target *t, g_tensor *s, meg_mala_chain *at)
{
    at->s = s;
    at->grad = NULL;
    at->v = total_energy(g, t, s);
    if (!at->v || g_grad(g, g_sum_all(at->v), &s, 1, &at->grad)) return failed(g, t);
    return 0;
}

int meg_mala_step_build(g_graph *g, const meg_mala_target *t, meg_mala_step *st)
{
    const int C = t->chains, D = t->dim;
    const meg_mala_chain *cur = &st->cur, *into = st->into;
    g_tensor *s = cur->s, *gs = cur->grad, *a = st->a;
    st->neffects = 0;
    /* The planner fuses along data edges only (a node joins an open dispatch
     * that it reads), so the expressions below are written as chains. The
     * random nodes' stream numbers are their node ids: the order of the
     * nodes up to the uniform draw fixes the numbers a chain sees. */
    g_tensor *c2a = g_sqrt(g_div(g_scalar(g, 2.0f), a));               /* sqrt(2/a) */
    g_tensor *inv4a = g_div(g_scalar(g, 0.25f), a);
    g_tensor *eps = g_rand_normal(st->rng, 2, G_SHAPE(C, D));
    g_tensor *half_eps2 = g_scale(g_square(eps), 0.5f);
    g_tensor *log_u = g_log(g_rand_uniform(st->rng, 1, &C));
    /* s' = s + a (sqrt(2/a) eps - grad) */
    g_tensor *sp = g_add(g_mul(g_sub(g_mul(eps, c2a), gs), a), s);
    meg_mala_chain prop;
    if (meg_mala_at(g, t, sp, &prop)) return -1;
    g_tensor *log_ratio;
    if (!t->wrong_acceptance) {
        /* log q(s|s') - log q(s'|s) = sum(-||s - s' + a grad'||^2 / (4a) + ||eps||^2 / 2):
         * s' - s + a grad is sqrt(2a) eps exactly, so the forward term uses eps (no cancellation) */
        g_tensor *back = g_add(g_sub(g_mul(prop.grad, a), sp), s);
        g_tensor *lq = g_sum(g_sub(half_eps2, g_mul(g_square(back), inv4a)), 1, 0);
        log_ratio = g_add(g_sub(lq, prop.v), cur->v);                  /* + V(s) - V(s') */
    } else {
        log_ratio = g_sub(cur->v, prop.v);
    }
    /* a NaN ratio (overflowing proposal) compares false: rejected */
    g_tensor *acc = st->accepted = g_lt(log_u, log_ratio);             /* [C] of 0/1 */
    /* the [C] updates first, while acc's dispatch is open, then the [C, D] ones */
    st->next.v = g_select(acc, prop.v, cur->v);
    if (into) st->effects[st->neffects++] = g_assign(into->v, st->next.v);
    if (st->counts) st->effects[st->neffects++] = g_assign(st->counts, g_add(st->counts, acc));
    g_tensor *acc2 = g_reshape(acc, 2, G_SHAPE(C, 1));
    st->next.s = g_select(acc2, sp, s);
    if (into) st->effects[st->neffects++] = g_assign(into->s, st->next.s);
    st->next.grad = g_select(acc2, prop.grad, gs);
    if (into) st->effects[st->neffects++] = g_assign(into->grad, st->next.grad);
    return g_graph_error(g) ? failed(g, t) : 0;
}
