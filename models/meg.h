/* meg.h: Maximum Entropy Generators (section 2.3 of the seed, Algorithm 1):
 * the three networks (energy E, generator G, statistics network T: MLPs of
 * nn.h for vectors, the authors' convolutional networks for 28 x 28
 * images), one whole training iteration as one graph (optionally refining the
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

#include "batches.h"
#include "data.h"
#include "exec.h"
#include "graph.h"
#include "nn.h"

/* Hidden layer widths of one MLP; n = 0: cfg.hidden layers of cfg.width. */
typedef struct meg_widths {
    int n;
    int w[MEG_MAX_LAYERS - 1];
} meg_widths;

/* What the networks are trained for: MEG (Algorithm 1 of the seed), or the
 * WGAN-GP baseline (Gulrajani et al. 2017) with E as the critic, D = -E. */
enum { MEG_OBJECTIVE_MEG = 0, MEG_OBJECTIVE_WGAN_GP = 1 };

typedef struct meg_config {
    int objective;            /* MEG_OBJECTIVE_*; WGAN-GP has no T */
    int dim;                  /* data dimension (images: channels x height x img_width) */
    int channels, height, img_width;   /* images [C, 28, 28]: the convolutional networks; channels 0:
                                          vectors of dim values, the MLPs */
    int zdim, width, hidden, batch, n_energy;
    float lr, beta1, beta2, lambda;
    int shuffle_rows;         /* 0: each latent dimension shuffled across the batch; 1: whole rows */
    uint64_t seed;
    int mcmc_steps;           /* latent MALA steps refining the generator's samples before each
                                 energy update (section 2.3.2; 0, the seed's setting: none) */
    float mcmc_step_size;     /* their step size (prior N(0, I) included in the target) */
    meg_widths e_hidden, g_hidden, t_hidden;   /* vectors: each network's own hidden widths (n > 0) */
    int penalty_channel_norm; /* images: the authors' code's penalty, ||dE/dx||^2 over the channel axis
                                 averaged over pixels (the paper's over C x H x W, divided by H x W);
                                 0: the paper's */
    float g_ema;              /* vectors: > 0 keeps an exponential moving average of G's weights
                                 (states "ema.G.*", starting equal to G's, each iteration
                                 ema <- g_ema ema + (1 - g_ema) w after G's update), and every
                                 evaluation and sampling graph (gen, meg_latent_energy) uses it;
                                 training uses G itself. 0, the seed's setting: off */
    int lr_decay;             /* > 0: every learning rate decays linearly over the first lr_decay
                                 iterations to lr x lr_final, then stays there (each optimizer over
                                 its own updates: E's n_energy per iteration); 0, the seed's
                                 setting: constant */
    float lr_final;           /* the fraction of lr reached at lr_decay, in [0, 1] */
    int stack_t_rows;         /* 1: T(x, z) and T(x, shuffled z) stacked as one batch of 2 x batch
                                 rows (T has no batch statistics: the same values to rounding, in
                                 fewer dispatches); 0, the default, two batches, until more seeds
                                 than the demo test's one show the rounding changes nothing */
    int stack_e_rows;         /* MEG: 1: E(x) and E(G(z)) as one batch of 2 x batch rows [x; G(z)] (E
                                 has no batch statistics): fewer, larger dispatches, but the
                                 penalty's backward and double backward run over 2 x batch rows,
                                 the generated half zero; 0: two batches */
} meg_config;

/* The seed's defaults: 3 hidden layers of 512, z of 2, batch 256, 5 energy
 * updates, Adam lr 1e-4, betas 0.5/0.9, lambda 0.1, per-dimension shuffle. */
void meg_config_default(meg_config *c);
/* The seed's image settings (section 2.5.2, the authors' code) for images
 * of `channels` x 28 x 28: width 512, z of 128, batch 64, lambda 10, 5
 * energy updates, Adam 1e-4 (0.5, 0.9). */
void meg_config_image(meg_config *c, int channels);

/* The seed's KDD Cup 99 settings (section 2.5.4, the authors' code) for
 * dim features: G z 32 -> 64 -> 128 -> dim (ReLU), E dim -> 256 -> 128 ->
 * 128 -> 1 and T (x, z) -> 256 -> 128 -> 128 -> 1 (LeakyReLU 0.2), batch
 * 256, lambda 100, one energy update per generator update, Adam 1e-4 (0.5,
 * 0.9). */
void meg_config_tabular(meg_config *c, int dim);

/* ---- the image networks (meg_image.c) ---------------------------------------- */

#define MEG_IMAGE_BLOCKS 4

typedef struct meg_image_nets {
    int channels, width;
    meg_conv2d e_conv[MEG_IMAGE_BLOCKS];
    meg_linear e_out;                     /* [4 w] -> 1 */
    meg_linear g_in;                      /* z -> [w, 2, 2] */
    meg_batchnorm g_bn[MEG_IMAGE_BLOCKS];
    meg_conv2d g_conv[MEG_IMAGE_BLOCKS];  /* transposed */
    meg_conv2d t_conv[MEG_IMAGE_BLOCKS];
    meg_linear t_x, t_h, t_out;           /* [4 w] -> z, [2 z] -> w, w -> 1 */
} meg_image_nets;

#define MEG_IMAGE_MAX_PARAMS 18           /* G's: 2 + 4 x (2 + 2) */

/* Params "E.w0".."E.w3", "E.wout", "G.win", "G.gamma0", ..., "T.wh"; c's
 * width (a multiple of 8), zdim and image shape (28 x 28) are used. */
int meg_image_nets_make(g_graph *g, const meg_config *c, meg_image_nets *n);
/* x [N, C, 28, 28] or [N, C * 784] -> E(x) [N, 1] */
g_tensor *meg_image_energy(const meg_image_nets *n, g_tensor *x);
/* z [N, zdim] -> G(z) [N, C, 28, 28] in [-1, 1]. update not NULL: batch
 * norm in training mode (batch statistics), *update the effect that moves
 * the running statistics; NULL: evaluation mode (running statistics, so
 * that samples never interact). */
g_tensor *meg_image_generate(const meg_image_nets *n, g_tensor *z, g_tensor **update);
/* T(x, z) [N, 1] */
g_tensor *meg_image_statistics(const meg_image_nets *n, g_tensor *x, g_tensor *z);
/* The params of net 'E', 'G' or 'T' into out (MEG_IMAGE_MAX_PARAMS); their count. */
int meg_image_params(const meg_image_nets *n, char net, g_tensor **out);

/* Where an image model's training images come from: an image set (MNIST,
 * Fashion-MNIST: set), or a StackedMNIST pool over its digits. */
typedef struct meg_image_source {
    const meg_dataset *set;
    const meg_stacked *pool;
    const meg_dataset *digits;
    const g_limits *lim;      /* the device's (g_limits_of), for splitting the set; NULL: the defaults */
} meg_image_source;

typedef struct meg_model {
    meg_config cfg;
    g_graph *g;
    int image;                /* cfg.channels > 0: the image networks */
    meg_mlp E, G, T;          /* vectors */
    meg_mlp G_ema;            /* vectors with cfg.g_ema > 0: G's layers over the average's states */
    meg_image_nets net;       /* images */
    size_t ndata;
    g_tensor *data;           /* vectors: input [ndata, dim], the training set on the device */
    meg_device_set images;    /* images: the training set on the device (batches.h) */
    g_tensor *rng;
    g_tensor *mcmc_z;         /* state [batch, zdim]: refined latents (mcmc_steps > 0) */
    g_tensor *mcmc_accept;    /* 0-d root: acceptance rate of the last refinement (mcmc_steps > 0) */
    g_tensor *step;           /* root: one whole training iteration */
    /* 0-d roots: values of the iteration (energy terms of its last energy update) */
    g_tensor *loss_e, *loss_g, *loss_h, *penalty, *e_data, *e_gen;
    int eval_n;               /* rows per evaluation run */
    g_tensor *x_in, *energy;  /* input [eval_n, dim] (images [eval_n, C, H, W]) -> E(x) [eval_n, 1] */
    g_tensor *z_in, *gen;     /* input [eval_n, zdim] -> G(z) [eval_n, dim] (images [eval_n, C, H, W]) */
    g_tensor *grad2;          /* ||dE/dx||^2 of x_in's rows [eval_n, 1] (an anomaly score) */
} meg_model;

int meg_model_build(meg_model *m, const meg_config *c, size_t ndata, int eval_n);
/* An image model (c->channels > 0). src NULL: no training graph (step and
 * the losses NULL), only evaluation, e.g. to sample from a checkpoint. */
int meg_model_build_images(meg_model *m, const meg_config *c, const meg_image_source *src, int eval_n);
/* Writes the training images of src (as given to meg_model_build_images) into the session. */
int meg_model_upload_images(g_session *s, const meg_model *m, const meg_image_source *src);

/* WGAN-GP's penalty: the mean over the batch of (||dD/dx (x^)|| - 1)^2 at
 * x^ = alpha x_real + (1 - alpha) x_fake, alpha [B] one per sample
 * (broadcast over the rest of the shape), D = critic(user, x) [B, 1]. The
 * norm is over all of a sample's values. */
g_tensor *meg_wgan_penalty(g_tensor *(*critic)(void *user, g_tensor *x), void *user, g_tensor *x_real,
                           g_tensor *x_fake, g_tensor *alpha);

/* The networks of either kind: E(x) [N, 1] of x [N, dim] (images also
 * [N, C, H, W]); G(z) [N, dim] or [N, C, H, W] (update: as
 * meg_image_generate; vectors ignore it and set it NULL); T(x, z) [N, 1].
 * meg_sampler_of is the generator that samples: G's average of weights when
 * cfg.g_ema > 0, else G (batch norm in evaluation mode). */
g_tensor *meg_energy_of(const meg_model *m, g_tensor *x);
g_tensor *meg_generator_of(const meg_model *m, g_tensor *z, g_tensor **update);
g_tensor *meg_sampler_of(const meg_model *m, g_tensor *z);
g_tensor *meg_statistics_of(const meg_model *m, g_tensor *x, g_tensor *z);
void meg_model_free(meg_model *m);

/* Energies of n points (n x dim), through the evaluation plan in chunks. */
int meg_eval_energy(g_session *s, g_plan *p, const meg_model *m, const float *x, size_t n, float *e);
/* ||dE/dx||^2 of n points (n x dim) (a plan of m->grad2). */
int meg_eval_grad2(g_session *s, g_plan *p, const meg_model *m, const float *x, size_t n, float *g2);
/* n generator samples from latents z (n x zdim). */
int meg_eval_generate(g_session *s, g_plan *p, const meg_model *m, const float *z, size_t n, float *x);
/* n standard normal latents (n x zdim), deterministic in seed. */
void meg_latents(float *z, size_t n, int zdim, uint64_t seed);

/* The targets of MALA on a model (a meg_energy_fn of samplers.h, with user
 * the meg_model): U(z) = E(G(z)) in latent space (G: meg_sampler_of's), U(x) = E(x) in visible
 * space, both [n, 1]; x may be [n, dim] for images too. G's batch norm is
 * in evaluation mode, so that chains never interact. */
g_tensor *meg_latent_energy(g_graph *g, g_tensor *z, void *model);
g_tensor *meg_visible_energy(g_graph *g, g_tensor *x, void *model);

#endif
