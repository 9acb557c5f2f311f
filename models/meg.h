/* meg.h: Maximum Entropy Generators (section 2.3 of the seed, Algorithm 1):
 * the three networks (energy E, generator G, statistics network T, MLPs of
 * nn.h), one whole training iteration as one graph (optionally refining the
 * generator's latents by MALA steps of samplers.h), and the evaluation
 * graphs (energies of points, generator samples of latents). Checkpoints
 * of the session's leaves are io.h's. The model's public header, in models/.
 *
 * Errors: functions returning int give 0 on success and -1 on failure, with
 * the message in rt_error() (util.h). Nothing here aborts, exits or prints.
 */
#ifndef MEG_MODELS_MEG_H
#define MEG_MODELS_MEG_H

#include <stddef.h>
#include <stdint.h>

#include "exec.h"
#include "graph.h"
#include "nn.h"

typedef struct meg_config {
    int dim;                  /* data dimension */
    int zdim, width, hidden, batch, n_energy;
    float lr, beta1, beta2, lambda;
    int shuffle_rows;         /* 0: each latent dimension shuffled across the batch; 1: whole rows */
    uint64_t seed;
    int mcmc_steps;           /* latent MALA steps refining the generator's samples before each
                                 energy update (section 2.3.2; 0, the seed's setting: none) */
    float mcmc_step_size;     /* their step size (prior N(0, I) included in the target) */
} meg_config;

/* The seed's defaults: 3 hidden layers of 512, z of 2, batch 256, 5 energy
 * updates, Adam lr 1e-4, betas 0.5/0.9, lambda 0.1, per-dimension shuffle. */
void meg_config_default(meg_config *c);

typedef struct meg_model {
    meg_config cfg;
    g_graph *g;
    meg_mlp E, G, T;
    size_t ndata;
    g_tensor *data;           /* input [ndata, dim]: the training set, on the device */
    g_tensor *rng;
    g_tensor *mcmc_z;         /* state [batch, zdim]: refined latents (mcmc_steps > 0) */
    g_tensor *mcmc_accept;    /* 0-d root: acceptance rate of the last refinement (mcmc_steps > 0) */
    g_tensor *step;           /* root: one whole training iteration */
    /* 0-d roots: values of the iteration (energy terms of its last energy update) */
    g_tensor *loss_e, *loss_g, *loss_h, *penalty, *e_data, *e_gen;
    int eval_n;               /* rows per evaluation run */
    g_tensor *x_in, *energy;  /* input [eval_n, dim] -> E(x) [eval_n, 1] */
    g_tensor *z_in, *gen;     /* input [eval_n, zdim] -> G(z) [eval_n, dim] */
} meg_model;

int meg_model_build(meg_model *m, const meg_config *c, size_t ndata, int eval_n);
void meg_model_free(meg_model *m);

/* Energies of n points (n x dim), through the evaluation plan in chunks. */
int meg_eval_energy(g_session *s, g_plan *p, const meg_model *m, const float *x, size_t n, float *e);
/* n generator samples from latents z (n x zdim). */
int meg_eval_generate(g_session *s, g_plan *p, const meg_model *m, const float *z, size_t n, float *x);
/* n standard normal latents (n x zdim), deterministic in seed. */
void meg_latents(float *z, size_t n, int zdim, uint64_t seed);

/* The targets of MALA on a model (a meg_energy_fn of samplers.h, with user
 * the meg_model): U(z) = E(G(z)) in latent space, U(x) = E(x) in visible
 * space, both [n, 1]. */
g_tensor *meg_latent_energy(g_graph *g, g_tensor *z, void *model);
g_tensor *meg_visible_energy(g_graph *g, g_tensor *x, void *model);

#endif
