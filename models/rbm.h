/* rbm.h: the Bernoulli-Bernoulli restricted Boltzmann machine (chapter 1
 * of the seed): its conditionals, free energy and block Gibbs sampling as
 * graph builders, training by CD-k or PCD-k as one graph per update (the
 * minibatch drawn and binarised on the device, k Gibbs steps unrolled, SGD
 * or Adam), and its log-likelihood: log Z by annealed importance sampling
 * on the device (Salakhutdinov and Murray 2008), exactly by enumeration for
 * small models. The model's public header, in models/.
 *
 * Energy E(v, h) = -v.b - h.c - v W h, v in {0,1}^V, h in {0,1}^H, W [V, H];
 * free energy F(v) = -v.b - sum_j softplus((v W + c)_j), p(v) = exp(-F(v)) / Z;
 * p(h_j = 1 | v) = sigmoid((v W + c)_j), p(v_i = 1 | h) = sigmoid((W h + b)_i).
 *
 * Errors: functions returning int give 0 on success and -1 on failure, with
 * the message in rt_error() (util.h); builders returning tensors follow
 * graph.h (NULL, the message kept in the graph). Nothing here aborts,
 * exits or prints.
 */
#ifndef MEG_MODELS_RBM_H
#define MEG_MODELS_RBM_H

#include <stddef.h>
#include <stdint.h>

#include "batches.h"
#include "data.h"
#include "exec.h"
#include "graph.h"

/* ---- the network as graph builders ----------------------------------------- */

/* The three tensors of an RBM: params for a trained model, inputs where a
 * caller writes given weights (AIS, tests). */
typedef struct meg_rbm_net {
    int visible, hidden;
    g_tensor *W;              /* [V, H] */
    g_tensor *b;              /* [V] visible biases */
    g_tensor *c;              /* [H] hidden biases */
} meg_rbm_net;

/* Params "<prefix>.W" (normal(0, init_std)), "<prefix>.b", "<prefix>.c" (zeros). */
int meg_rbm_net_make(g_graph *g, const char *prefix, int visible, int hidden, float init_std, meg_rbm_net *out);

/* Test only: p(v | h) without the visible biases, a wrong conditional that
 * the exact checks must catch. */
#define MEG_RBM_WRONG_NO_VBIAS 1u

/* v [B, V] -> p(h = 1 | v) [B, H]; h [B, H] -> p(v = 1 | h) [B, V] (flags: 0, or
 * MEG_RBM_WRONG_NO_VBIAS). */
g_tensor *meg_rbm_hidden_prob(const meg_rbm_net *n, g_tensor *v);
g_tensor *meg_rbm_visible_prob(const meg_rbm_net *n, g_tensor *h, unsigned flags);
/* v [B, V] -> F(v) [B]. */
g_tensor *meg_rbm_free_energy(const meg_rbm_net *n, g_tensor *v);
/* The same with act = v W + c [B, H] already built (shared with p(h | v)). */
g_tensor *meg_rbm_free_energy_at(const meg_rbm_net *n, g_tensor *v, g_tensor *act);
/* k block Gibbs steps v -> h -> v from v [B, V] with Bernoulli draws of rng
 * (g_bernoulli): the visible sample after the last step. *pv (when not
 * NULL) gets the last step's p(v | h), the picture of a chain. */
g_tensor *meg_rbm_gibbs(const meg_rbm_net *n, g_tensor *rng, g_tensor *v, int k, unsigned flags, g_tensor **pv);

/* ---- the model: training graph, evaluation, sampling --------------------------- */

typedef enum meg_rbm_binarize {
    MEG_RBM_THRESHOLD,        /* v = 1 where the pixel value is > 0 (byte >= 128) */
    MEG_RBM_STOCHASTIC,       /* v ~ Bernoulli((x + 1) / 2), drawn anew for every minibatch */
} meg_rbm_binarize;

typedef struct meg_rbm_config {
    int visible, hidden;
    int batch;
    int k;                    /* Gibbs steps per update */
    int persistent;           /* 0: CD-k (chains start at the minibatch); 1: PCD-k (chains kept) */
    int adam;                 /* 0: SGD; 1: Adam (beta1, beta2) */
    float lr, beta1, beta2;
    float init_std;           /* of W */
    meg_rbm_binarize binarize;
    uint64_t seed;
    int samples;              /* chains of the sampling graph */
    unsigned wrong;           /* test only: MEG_RBM_WRONG_* in every conditional of training */
} meg_rbm_config;

/* 784 visible, 500 hidden, batch 100, CD-1, SGD lr 0.05 (Adam: 1e-3, 0.9,
 * 0.999), W normal(0, 0.01), threshold binarisation, seed 1, 100 sample chains. */
void meg_rbm_config_default(meg_rbm_config *c);

typedef struct meg_rbm {
    meg_rbm_config cfg;
    g_graph *g;
    meg_rbm_net net;          /* params "rbm.W", "rbm.b", "rbm.c" */
    meg_device_set data;      /* the training set on the device (bytes where it has them) */
    g_tensor *rng;            /* state "rng": minibatches, binarisation, Gibbs draws */
    g_tensor *chain;          /* PCD: state "pcd.v" [batch, V], the persistent chains (zeros at first) */
    g_tensor *step;           /* root: one update */
    /* 0-d roots of the update: mean F of the minibatch and of the chains' ends,
     * and the squared error per image of the minibatch's reconstruction
     * p(v | h0), h0 ~ p(h | v_data) (CD: the chains' first step) */
    g_tensor *fe_data, *fe_model, *recon;
    int eval_n;
    g_tensor *x_in;           /* input [eval_n, V]: binary visible vectors */
    g_tensor *fe;             /* [eval_n]: F(x_in) */
    g_tensor *recon_in;       /* [eval_n, V]: p(v | p(h | x_in)), the mean-field reconstruction */
    g_tensor *sample_rng;     /* state "sample.rng": the sampling chains' own generator */
    g_tensor *sample_v;       /* input [samples, V]: the chains' state, written by the host, advanced by sample_step */
    g_tensor *sample_step;    /* root: one Gibbs step of every chain */
    g_tensor *sample_pv;      /* [samples, V]: that step's p(v | h) */
} meg_rbm;

/* The model for the training set train (its examples of c->visible values,
 * e.g. [1, 28, 28] images; values in [-1, 1], binarised on the device; NULL:
 * no training graph), split to fit lim (NULL: g_limits_default), with an
 * evaluation graph of eval_n rows. */
int meg_rbm_build(meg_rbm *m, const meg_rbm_config *c, const meg_dataset *train, const g_limits *lim, int eval_n);
/* Writes the training set into the session's inputs. */
int meg_rbm_upload(g_session *s, const meg_rbm *m, const meg_dataset *train);
void meg_rbm_free(meg_rbm *m);

/* The binary visible vectors (0/1 floats) of the first n examples of d, as
 * the training graph binarises them (stochastic: drawn once from seed). */
int meg_rbm_binarize_set(const meg_dataset *d, size_t n, meg_rbm_binarize how, uint64_t seed, float *out);
/* Visible biases of the base-rate model of set d binarised as `how` says:
 * the logit of each unit's mean probability of 1 over the set, smoothed as
 * (sum + a) / (n + 2a) with a = 0.5 (finite for units always 0 or always 1). */
void meg_rbm_base_rate(const meg_dataset *d, meg_rbm_binarize how, float *b);
/* F of n binary vectors through the evaluation plan (root fe) in chunks. */
int meg_rbm_eval_fe(g_session *s, g_plan *p, const meg_rbm *m, const float *v, size_t n, double *fe);

/* ---- log Z and the log-likelihood ------------------------------------------------ */

/* Host weights of an RBM (row-major W [V, H]). */
typedef struct meg_rbm_weights {
    int visible, hidden;
    const float *W, *b, *c;
} meg_rbm_weights;

/* Reads W, b, c of a session into malloc'ed arrays (the caller frees w->W,
 * w->b, w->c, cast from const). */
int meg_rbm_read_weights(g_session *s, const meg_rbm_net *n, meg_rbm_weights *w);
/* F(v) in double for one binary vector. */
double meg_rbm_free_energy_host(const meg_rbm_weights *w, const float *v);
/* log Z exactly, summing over every state of the smaller layer (at most 2^24). */
int meg_rbm_log_z_exact(const meg_rbm_weights *w, double *log_z);

typedef struct meg_rbm_ais_opts {
    int runs;                 /* independent AIS runs, in parallel on the device (100) */
    int betas;                /* intermediate distributions (14500); the paper's spacing, scaled: 500/14500
                                 of them evenly on [0, 0.5], 4000/14500 on [0.5, 0.9], the rest on [0.9, 1] */
    int per_submit;           /* temperatures per device submit (250) */
    uint64_t seed;
    const float *base_b;      /* [V] visible biases of the base model (NULL: zeros); its W and c are zero */
} meg_rbm_ais_opts;

void meg_rbm_ais_opts_default(meg_rbm_ais_opts *o);

typedef struct meg_rbm_ais_result {
    double log_z;             /* log Z_0 + log mean w */
    double log_z_lo, log_z_hi;   /* log(mean w -+ 3 std(w) / sqrt(runs)) + log Z_0 (lo -inf when that is <= 0) */
    double log_z0;            /* of the base model */
    double logw_sd;           /* standard deviation of the runs' log weights */
    int runs, betas;
} meg_rbm_ais_result;

/* The betas' values: n + 1 of them, 0 to 1. */
void meg_rbm_ais_schedule(int n, double *beta);
/* AIS estimate of log Z of w on the device of ctx: runs chains from the base
 * model through the betas, one graph per temperature replayed per_submit
 * times per submit, the log weights summed in double on the host. */
int meg_rbm_ais(rt_ctx *ctx, const meg_rbm_weights *w, const meg_rbm_ais_opts *o, meg_rbm_ais_result *out);

#endif
