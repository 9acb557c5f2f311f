/* classifier.h: the image classifier behind the evaluation of generated
 * images (issue 13): a small convolutional network trained by this project
 * on the device (minibatches, dropout and Adam all in one replayed graph),
 * whose class probabilities count StackedMNIST modes and give the
 * Inception-like score, and whose penultimate features give the Fréchet
 * distance. The model's public header, in models/.
 *
 * Network, for images [N, C, H, W] (28 x 28 for MNIST and Fashion-MNIST):
 *   conv 5x5 pad 2, C -> c1, relu, max pool 2     [N, c1, H/2, W/2]
 *   conv 5x5 pad 2, c1 -> c2, relu, max pool 2    [N, c2, H/4, W/4]
 *   linear c2 (H/4) (W/4) -> hidden, relu          the features
 *   dropout (training only), linear hidden -> classes, log-softmax
 *
 * Errors: functions returning int give 0 on success and -1 on failure, with
 * the message in rt_error() (util.h). Nothing here aborts, exits or prints.
 */
#ifndef MEG_MODELS_CLASSIFIER_H
#define MEG_MODELS_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "batches.h"
#include "data.h"
#include "exec.h"
#include "graph.h"
#include "nn.h"

typedef struct meg_clf_config {
    int channels, height, width;  /* input images */
    int classes;
    int c1, c2, hidden;           /* conv channels, feature width */
    float dropout;                /* before the last layer, in training */
    int batch;
    float lr, beta1, beta2;       /* Adam */
    uint64_t seed;
} meg_clf_config;

/* 1 x 28 x 28 images, 10 classes, c1 16, c2 32, hidden 128, dropout 0.5,
 * batch 64, Adam 1e-3 (0.9, 0.999), seed 1. */
void meg_clf_config_default(meg_clf_config *c);

typedef struct meg_classifier {
    meg_clf_config cfg;
    g_graph *g;
    meg_conv2d conv1, conv2;
    meg_linear fc1, fc2;
    size_t ndata;             /* training images; 0: built for evaluation only */
    meg_device_set data;      /* the training images (as bytes where the set has them) and labels, on the device */
    g_tensor *rng;
    /* training (NULL when built for evaluation only) */
    g_tensor *step;           /* root: one training iteration (a minibatch drawn on the device, one Adam step) */
    g_tensor *loss, *accuracy;   /* 0-d roots: the minibatch's cross-entropy and share correct */
    int eval_n;               /* images per evaluation run */
    g_tensor *x_in;           /* input [eval_n, C, H, W] */
    g_tensor *logp;           /* [eval_n, classes]: log-probabilities (no dropout) */
    g_tensor *features;       /* [eval_n, hidden]: the penultimate layer, after relu */
} meg_classifier;

/* The network, its training graph for the labelled images train ([C, H, W]
 * as in c; NULL: evaluation only, no training graph) and its evaluation
 * graph of eval_n rows. The training set's inputs are split to fit lim (the
 * device's, g_limits_of; NULL: g_limits_default); meg_classifier_upload
 * writes them. */
int meg_classifier_build(meg_classifier *m, const meg_clf_config *c, const meg_dataset *train, const g_limits *lim,
                         int eval_n);
/* Writes the training set build was given into the session (the CPU
 * reference: meg_device_set_upload_ref of m->data). */
int meg_classifier_upload(g_session *s, const meg_classifier *m, const meg_dataset *train);
void meg_classifier_free(meg_classifier *m);

/* Log-probabilities (n x classes) and features (n x hidden) of n images
 * (n x C*H*W), through the evaluation plan (roots logp and features) in
 * chunks of eval_n; either output may be NULL. */
int meg_classifier_eval(g_session *s, g_plan *p, const meg_classifier *m, const float *x, size_t n, float *logp,
                        float *features);

/* The most probable class of each of n rows of log-probabilities (the
 * first on ties). */
void meg_classifier_argmax(const float *logp, size_t n, int classes, int32_t *out);

#endif
