/* mala.c: the Metropolis-adjusted Langevin sampler (seed section 2.3.2) as
 * graphs that run entirely on the device: one step (built by mala_step.c)
 * is one plan, replayed K times per submit; the host only writes the start
 * and reads the results. The definitions are in samplers.h. */
#include "samplers.h"
#include "util.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TARGET 0.574f  /* optimal MALA acceptance (Roberts and Rosenthal 1998) */
#define GAIN_DECAY 0.6f        /* Robbins-Monro gain g0 t^-0.6: sum diverges, sum of squares converges */

static g_tensor *leaf_state(meg_mala *m, const char *what, int ndim, const int *shape, g_init init)
{
    char name[2 * G_NAME_MAX];   /* the prefix length is checked; the size silences -Wformat-truncation */
    snprintf(name, sizeof name, "%s.%s", m->prefix, what);
    return g_state(m->g, name, ndim, shape, init);
}

static int check_opts(const meg_mala_opts *o)
{
    const char *p = o->prefix;
    if (o->chains < 1 || o->dim < 1) {
        rt_set_error("MALA '%s': chains (%d) and dim (%d) must be positive", p, o->chains, o->dim);
        return -1;
    }
    if (!(o->step_size > 0.0f) || !isfinite(o->step_size)) {
        rt_set_error("MALA '%s': step_size must be positive and finite, not %g", p, o->step_size);
        return -1;
    }
    if (!(o->target_accept > 0.0f && o->target_accept < 1.0f)) {
        rt_set_error("MALA '%s': target_accept must lie in (0, 1), not %g", p, o->target_accept);
        return -1;
    }
    if (!(o->temperature > 0.0f) || !isfinite(o->temperature) || !(o->adapt_gain > 0.0f)) {
        rt_set_error("MALA '%s': temperature (%g) and adapt_gain (%g) must be positive", p, o->temperature,
                     o->adapt_gain);
        return -1;
    }
    if (o->record_chains < 0 || o->record_chains > o->chains ||
        (o->record_chains > 0 && (o->record_slots < 1 || o->record_slots > (1 << 24))) || o->record_every < 1 ||
        o->record_every > (1 << 24)) {
        rt_set_error("MALA '%s': recording needs 0 <= record_chains (%d) <= chains (%d), record_slots (%d) in"
                     " 1..2^24 and record_every (%d) in 1..2^24", p, o->record_chains, o->chains,
                     o->record_slots, o->record_every);
        return -1;
    }
    return 0;
}

static int graph_failed(meg_mala *m)
{
    if (!g_graph_error(m->g)) return 0;
    rt_set_error("MALA '%s': %s", m->prefix, g_graph_error(m->g));
    return 1;
}

int meg_mala_build(g_graph *g, const meg_mala_opts *opts, meg_energy_fn U, void *user, meg_mala *m)
{
    memset(m, 0, sizeof *m);
    if (!g || !opts || !U) { rt_set_error("meg_mala_build: missing graph, options or energy function"); return -1; }
    if (g_graph_error(g)) { rt_set_error("meg_mala_build: graph has an error: %s", g_graph_error(g)); return -1; }
    meg_mala_opts *o = &m->o;
    *o = *opts;
    if (!o->prefix) o->prefix = "mala";
    if (strlen(o->prefix) + 16 >= G_NAME_MAX) {
        rt_set_error("MALA: prefix '%s' is too long for leaf names", o->prefix);
        return -1;
    }
    /* a copy, so that error messages never read the caller's string later */
    snprintf(m->prefix, sizeof m->prefix, "%s", o->prefix);
    o->prefix = m->prefix;
    if (o->target_accept == 0.0f) o->target_accept = DEFAULT_TARGET;
    if (o->adapt_gain == 0.0f) o->adapt_gain = 1.0f;
    if (o->temperature == 0.0f) o->temperature = 1.0f;
    if (o->record_every == 0) o->record_every = 1;
    if (o->record_chains == 0) o->record_slots = 0;
    if (check_opts(o)) return -1;
    m->g = g;
    const int C = o->chains, D = o->dim, R = o->record_chains, S = o->record_slots;
    const int cd[2] = {C, D}, one = 1;

    /* ---- leaves ---- */
    m->state = leaf_state(m, "state", 2, cd, g_init_normal(1.0f));
    m->energy = leaf_state(m, "energy", 1, &C, g_init_zeros());
    m->grad = leaf_state(m, "grad", 2, cd, g_init_zeros());
    m->log_step = leaf_state(m, "log_step", 1, &one, g_init_const(logf(o->step_size)));
    m->adapt_t = leaf_state(m, "adapt_t", 1, &one, g_init_zeros());
    m->accepted = leaf_state(m, "accepted", 1, &C, g_init_zeros());
    /* steps since the reset = generator counter - this (no counter of its own to update) */
    m->rng_at_reset = leaf_state(m, "rng_at_reset", 1, &one, g_init_zeros());
    char name[G_NAME_MAX];
    snprintf(name, sizeof name, "%s.rng", o->prefix);
    m->rng = g_rng(g, name, o->seed);
    if (R > 0) {
        const int srd[3] = {S, R, D}, s11[3] = {S, 1, 1};
        m->traj = leaf_state(m, "traj", 3, srd, g_init_zeros());
        m->rec_phase = leaf_state(m, "rec_phase", 1, &one, g_init_zeros());
        m->rec_count = leaf_state(m, "rec_count", 1, &one, g_init_zeros());
        /* no iota op: the host writes the slot numbers once (meg_mala_prepare) */
        snprintf(name, sizeof name, "%s.slot_index", o->prefix);
        m->slot_index = g_input(g, name, 3, s11);
    }
    if (graph_failed(m)) return -1;

    /* ---- refresh: the cache from the state ---- */
    meg_mala_target t = {.U = U, .user = user, .chains = C, .dim = D, .prior = o->prior,
                         .temperature = o->temperature, .wrong_acceptance = o->wrong_acceptance, .name = m->prefix};
    meg_mala_chain now;
    if (meg_mala_at(g, &t, m->state, &now)) return -1;
    g_tensor *fx[2] = {g_assign(m->energy, now.v), g_assign(m->grad, now.grad)};
    m->refresh = g_group(g, fx, 2);
    if (graph_failed(m)) return -1;

    /* ---- one step, from the state and its cache and back into them ---- */
    const meg_mala_chain leaves = {m->state, m->energy, m->grad};
    meg_mala_step st = {.rng = m->rng, .a = g_exp(m->log_step), .cur = leaves, .into = &leaves,
                        .counts = m->accepted};
    if (meg_mala_step_build(g, &t, &st)) return -1;
    g_tensor *effects[16], *acc = st.accepted;
    int ne = 0;
    for (int i = 0; i < st.neffects; i++) effects[ne++] = st.effects[i];
    if (R > 0) {
        /* a record every M steps into slot rec_count (none once the slots are full) */
        g_tensor *ph = g_add_scalar(m->rec_phase, 1.0f);
        g_tensor *rec = g_ge(ph, g_scalar(g, (float)o->record_every));
        g_tensor *mask = g_mul(g_eq(m->slot_index, m->rec_count), rec);  /* [S, 1, 1] */
        g_tensor *rows = R == C ? st.next.s : g_slice(st.next.s, 0, 0, R);
        rows = g_reshape(rows, 3, (int[]){1, R, D});
        effects[ne++] = g_assign(m->traj, g_select(mask, rows, m->traj));
        effects[ne++] = g_assign(m->rec_count, g_add(m->rec_count, rec));
        effects[ne++] = g_assign(m->rec_phase, g_select(rec, g_scalar(g, 0.0f), ph));
    }
    /* adaptation: log a += g0 (t+1)^-0.6 (mean acceptance of this step - target) */
    g_tensor *t1 = g_add_scalar(m->adapt_t, 1.0f);
    g_tensor *gain = g_scale(g_exp(g_scale(g_log(t1), -GAIN_DECAY)), o->adapt_gain);
    g_tensor *err = g_add_scalar(g_mean_all(acc), -o->target_accept);
    g_tensor *adapt_fx[2] = {g_assign(m->log_step, g_add(m->log_step, g_mul(gain, err))),
                             g_assign(m->adapt_t, t1)};
    int nbase = ne;
    /* the last node that reads the generator */
    g_tensor *adv = g_rng_advance(m->rng);
    effects[ne++] = adv;
    m->step = g_group(g, effects, ne);
    effects[nbase] = adapt_fx[0];
    effects[nbase + 1] = adapt_fx[1];
    effects[nbase + 2] = adv;
    m->step_adapt = g_group(g, effects, nbase + 3);
    if (graph_failed(m)) return -1;
    return 0;
}

void meg_mala_release(meg_mala *m)
{
    g_plan_free(m->p_refresh);
    g_plan_free(m->p_step);
    g_plan_free(m->p_adapt);
    m->p_refresh = m->p_step = m->p_adapt = NULL;
    m->session = NULL;
    m->cache_ok = 0;
}

int meg_mala_prepare(g_session *s, meg_mala *m)
{
    if (!m->g || !m->step) { rt_set_error("MALA: the sampler was not built"); return -1; }
    if (m->session == s) return 0;
    if (m->session) {
        rt_set_error("MALA '%s': already prepared for another session (meg_mala_release first)", m->prefix);
        return -1;
    }
    if (m->slot_index) {
        int S = m->o.record_slots;
        float *idx = malloc((size_t)S * sizeof *idx);
        if (!idx) { rt_set_error("out of host memory"); return -1; }
        for (int i = 0; i < S; i++) idx[i] = (float)i;
        int rc = g_session_write(s, m->slot_index, idx);
        free(idx);
        if (rc) return -1;
    }
    m->session = s;
    if (g_plan_new(s, &m->refresh, 1, NULL, &m->p_refresh) || g_plan_new(s, &m->step, 1, NULL, &m->p_step) ||
        g_plan_new(s, &m->step_adapt, 1, NULL, &m->p_adapt)) {
        rt_error_prefix("MALA '%s': planning", m->prefix);
        meg_mala_release(m);
        return -1;
    }
    m->cache_ok = 0;
    return 0;
}

int meg_mala_refresh(g_session *s, meg_mala *m)
{
    if (meg_mala_prepare(s, m)) return -1;
    if (g_plan_run(m->p_refresh, 1)) { rt_error_prefix("MALA '%s': refresh", m->prefix); return -1; }
    m->cache_ok = 1;
    return 0;
}

int meg_mala_set_state(g_session *s, meg_mala *m, const float *state)
{
    if (meg_mala_prepare(s, m)) return -1;
    if (g_session_write(s, m->state, state)) return -1;
    return meg_mala_refresh(s, m);
}

int meg_mala_run(g_session *s, meg_mala *m, long steps, long max_steps_per_submit, int adapt)
{
    if (steps < 0) { rt_set_error("MALA '%s': %ld steps", m->prefix, steps); return -1; }
    if (meg_mala_prepare(s, m)) return -1;
    if (!m->cache_ok && meg_mala_refresh(s, m)) return -1;
    /* the generator's counter is an fp32 integer: past 2^24 it would stop and repeat numbers */
    float r;
    if (g_session_read(s, m->rng, &r)) return -1;
    if ((double)r + (double)steps > 16777216.0) {
        rt_set_error("MALA '%s': %ld more steps would take the generator's counter (%.0f) past 2^24", m->prefix,
                     steps, r);
        return -1;
    }
    long chunk = max_steps_per_submit > 0 ? max_steps_per_submit : steps;
    if (chunk > INT_MAX) chunk = INT_MAX;
    g_plan *p = adapt ? m->p_adapt : m->p_step;
    for (long done = 0; done < steps;) {
        long k = steps - done < chunk ? steps - done : chunk;
        if (g_plan_run(p, (int)k)) {
            rt_error_prefix("MALA '%s': steps %ld..%ld", m->prefix, done, done + k);
            return -1;
        }
        done += k;
    }
    return 0;
}

static int read1(g_session *s, g_tensor *t, float *v) { return g_session_read(s, t, v); }

int meg_mala_acceptance(g_session *s, meg_mala *m, double *rate, float *per_chain)
{
    int C = m->o.chains;
    float r0, r1;
    float *acc = per_chain ? per_chain : malloc((size_t)C * sizeof *acc);
    if (!acc) { rt_set_error("out of host memory"); return -1; }
    int rc = read1(s, m->rng, &r1) || read1(s, m->rng_at_reset, &r0) || g_session_read(s, m->accepted, acc);
    if (!rc) {
        float n = r1 - r0;
        double sum = 0;
        for (int c = 0; c < C; c++) {
            sum += acc[c];
            acc[c] = n > 0 ? acc[c] / n : NAN;
        }
        if (rate) *rate = n > 0 ? sum / ((double)C * n) : NAN;
    }
    if (acc != per_chain) free(acc);
    return rc ? -1 : 0;
}

static int write_zeros(g_session *s, g_tensor *t)
{
    float *z = calloc(g_numel(t), sizeof *z);
    if (!z) { rt_set_error("out of host memory"); return -1; }
    int rc = g_session_write(s, t, z);
    free(z);
    return rc;
}

int meg_mala_reset_stats(g_session *s, meg_mala *m)
{
    float r;
    if (write_zeros(s, m->accepted) || read1(s, m->rng, &r) || g_session_write(s, m->rng_at_reset, &r)) return -1;
    if (m->traj && (write_zeros(s, m->traj) || write_zeros(s, m->rec_phase) || write_zeros(s, m->rec_count)))
        return -1;
    return 0;
}

int meg_mala_step_size(g_session *s, meg_mala *m, float *a)
{
    float la;
    if (read1(s, m->log_step, &la)) return -1;
    *a = expf(la);
    return 0;
}

int meg_mala_set_step_size(g_session *s, meg_mala *m, float a)
{
    if (!(a > 0.0f) || !isfinite(a)) {
        rt_set_error("MALA '%s': step size must be positive and finite, not %g", m->prefix, a);
        return -1;
    }
    float la = logf(a), zero = 0.0f;
    if (g_session_write(s, m->log_step, &la) || g_session_write(s, m->adapt_t, &zero)) return -1;
    return 0;
}

int meg_mala_trajectory(g_session *s, meg_mala *m, float *out, int *records)
{
    *records = 0;
    if (!m->traj) { rt_set_error("MALA '%s': built without recording (record_chains = 0)", m->prefix); return -1; }
    float n;
    if (read1(s, m->rec_count, &n) || g_session_read(s, m->traj, out)) return -1;
    *records = n < (float)m->o.record_slots ? (int)n : m->o.record_slots;
    return 0;
}
