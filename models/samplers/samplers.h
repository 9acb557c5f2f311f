/* samplers.h: Markov chains that run on the device as graphs: the
 * Metropolis-adjusted Langevin algorithm (MALA, section 2.3.2 of the seed),
 * as one step builder that any graph can unroll (MEG's training refines its
 * latents with it) and as a sampler object whose step is one plan replayed
 * K times per submit. The one public header of models/samplers/.
 *
 * Errors: functions returning int give 0 on success and -1 on failure, with
 * the message in rt_error() (util.h). Nothing here aborts, exits or prints.
 */
#ifndef MEG_MODELS_SAMPLERS_H
#define MEG_MODELS_SAMPLERS_H

#include <stdint.h>

#include "exec.h"
#include "graph.h"

/* ---- MALA ------------------------------------------------------------------
 * Section 2.3.2 of the seed. C chains of dimension D sample
 * p(s) ~ exp(-(U(s) / T + prior * ||s||^2 / 2)) with the proposal
 * s' = s - a grad(s) + sqrt(2a) eps and the Metropolis-Hastings test
 * log u < -V(s') + V(s) + log q(s|s') - log q(s'|s), where V is the whole
 * exponent above and log q(b|c) = -||b - c + a grad V(c)||^2 / (4a).
 * One step is one graph: V and its gradient are evaluated once, at the
 * proposal (those of the current state are cached in state leaves), the
 * step size is a device state, the random numbers come from the device
 * generator, and acceptance counts and trajectories accumulate on the
 * device; K steps are K replays of one recorded plan. */

/* Builds U(s): s [C, D] -> energies [C] or [C, 1]. It is called more than
 * once (current state and proposal), so it must reuse the same parameters
 * (found with g_graph_find, or held in user), and chains must not interact
 * (no statistics across the batch). It must not draw random numbers. */
typedef g_tensor *(*meg_energy_fn)(g_graph *g, g_tensor *s, void *user);

/* ---- one step, for any graph ------------------------------------------------ */

/* The target exp(-V): V(s) = U(s) / T + prior ||s||^2 / 2 for C chains of
 * dimension D. */
typedef struct meg_mala_target {
    meg_energy_fn U;
    void *user;               /* U's */
    int chains, dim;          /* C, D */
    int prior;                /* 1: add ||s||^2 / 2 (the N(0, I) latent prior) */
    float temperature;        /* T (> 0) divides U, not the prior */
    int wrong_acceptance;     /* TEST ONLY: 1 drops the log q terms (a biased chain) */
    const char *name;         /* for messages: "MALA '<name>': ..." */
} meg_mala_target;

/* A position of the chains with V and grad V there: s [C, D], v [C],
 * grad [C, D]. */
typedef struct meg_mala_chain {
    g_tensor *s, *v, *grad;
} meg_mala_chain;

/* V and grad V at s (U is built once). */
int meg_mala_at(g_graph *g, const meg_mala_target *t, g_tensor *s, meg_mala_chain *at);

/* One step: what it starts from, where its results may go, what it made. */
typedef struct meg_mala_step {
    /* in */
    g_tensor *rng;            /* the generator it draws from */
    g_tensor *a;              /* step size: [1] or 0-d, > 0 */
    meg_mala_chain cur;
    const meg_mala_chain *into;  /* NULL, or leaves to assign the chain after the test to */
    g_tensor *counts;         /* NULL, or a [C] leaf that the test's 0/1 are added to */
    /* out */
    meg_mala_chain next;      /* the chain after the test */
    g_tensor *accepted;       /* the test: [C] of 0/1 */
    g_tensor *effects[4];     /* the assigns into `into` and `counts` */
    int neffects;
} meg_mala_step;

/* Builds one step from st->cur: draws eps ~ N(0, I) [C, D], then
 * u ~ U(0, 1) [C], from rng; proposes s' = s + a (sqrt(2/a) eps - grad),
 * builds V and grad V at s' (U once more) and the Metropolis-Hastings test.
 * next is (s', V(s'), grad V(s')) where accepted and cur elsewhere; a NaN
 * ratio (an overflowing proposal) is a rejection. The assigns into `into`
 * and `counts` are built here, [C] ones first, so that the planner fuses
 * them into the test's dispatch and the [C, D] ones into one more. */
int meg_mala_step_build(g_graph *g, const meg_mala_target *t, meg_mala_step *st);

/* ---- the sampler: leaves, plans, runs, statistics ----------------------------- */

typedef struct meg_mala_opts {
    const char *prefix;       /* leaf names "<prefix>.state" etc.; NULL: "mala" */
    int chains, dim;          /* C, D */
    float step_size;          /* a (> 0): the fixed value, or adaptation's start */
    float target_accept;      /* of the adaptation; 0: 0.574 (optimal for MALA) */
    float adapt_gain;         /* Robbins-Monro gain g0 on log a; 0: 1 */
    int prior;                /* 1: add ||s||^2 / 2 (the N(0, I) latent prior) */
    float temperature;        /* T divides U (not the prior); 0: 1 */
    int record_chains;        /* R: the first R chains are recorded (0: none) */
    int record_slots;         /* records kept (the first ones) */
    int record_every;         /* M: one record every M steps; 0: 1 */
    uint64_t seed;            /* the generator's key */
    int wrong_acceptance;     /* TEST ONLY: 1 drops the log q terms (a biased chain) */
} meg_mala_opts;

typedef struct meg_mala {
    meg_mala_opts o;          /* with the defaults filled in (o.prefix points to prefix) */
    char prefix[G_NAME_MAX];
    g_graph *g;
    /* state leaves (counts are exact integers in fp32: up to 2^24 steps in all) */
    g_tensor *state;          /* [C, D]; starts as N(0, 1) from the session seed */
    g_tensor *energy, *grad;  /* [C], [C, D]: V and grad V at state (the cache) */
    g_tensor *log_step;       /* [1]: log a */
    g_tensor *adapt_t;        /* [1]: adaptation steps taken (the gain's clock) */
    g_tensor *accepted;       /* [C]: accepted proposals since the last reset */
    g_tensor *rng;            /* its counter counts the steps taken */
    g_tensor *rng_at_reset;   /* [1]: the counter at the last reset */
    g_tensor *traj;           /* [slots, R, D] (NULL without recording) */
    g_tensor *rec_phase, *rec_count;  /* [1]: steps since the last record; records made */
    g_tensor *slot_index;     /* input [slots, 1, 1] = 0, 1, ...: the record mask's key */
    /* roots */
    g_tensor *refresh;        /* recomputes the cache from state */
    g_tensor *step;           /* one step, step size frozen */
    g_tensor *step_adapt;     /* one step, then log a += g0 t^-0.6 (batch acceptance - target) */
    /* device plans, made on first use for one session (meg_mala_release) */
    g_session *session;
    g_plan *p_refresh, *p_step, *p_adapt;
    int cache_ok;             /* the cache matches state */
} meg_mala;

/* Appends the sampler's leaves and graphs to g. */
int meg_mala_build(g_graph *g, const meg_mala_opts *o, meg_energy_fn U, void *user, meg_mala *m);
/* Makes the three plans for session s (done by the other calls when
 * needed); a sampler serves one session until meg_mala_release. */
int meg_mala_prepare(g_session *s, meg_mala *m);
/* Frees the plans; call it before g_session_free. m stays usable. */
void meg_mala_release(meg_mala *m);
/* Writes state (C x D floats) and recomputes the cache. After writing
 * m->state or a parameter of U any other way, call meg_mala_refresh. */
int meg_mala_set_state(g_session *s, meg_mala *m, const float *state);
int meg_mala_refresh(g_session *s, meg_mala *m);
/* steps steps (adapting the step size when adapt is 1), in submits of at
 * most max_steps_per_submit replays (0: all in one), so that a desktop
 * GPU's watchdog never fires; the host touches nothing between steps.
 * Computes the cache first if it is stale. Fails, running nothing, where the
 * generator's counter would pass 2^24 (2^24 steps per session in all).
 * The same seed, start and device give bit-identical results. */
int meg_mala_run(g_session *s, meg_mala *m, long steps, long max_steps_per_submit, int adapt);
/* Mean acceptance rate of all chains since the last reset, and (per_chain
 * not NULL) each chain's (C floats); NaN when no step was taken. */
int meg_mala_acceptance(g_session *s, meg_mala *m, double *rate, float *per_chain);
/* Zeroes the acceptance counters, the step count and the trajectory. */
int meg_mala_reset_stats(g_session *s, meg_mala *m);
int meg_mala_step_size(g_session *s, meg_mala *m, float *a);
/* Sets a (> 0) and restarts the adaptation's gain schedule. */
int meg_mala_set_step_size(g_session *s, meg_mala *m, float a);
/* The records since the last reset, oldest first: *records (<= slots)
 * times [R, D] into out (slots x R x D floats). */
int meg_mala_trajectory(g_session *s, meg_mala *m, float *out, int *records);

#endif
