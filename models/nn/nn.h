/* nn.h: network layers as graph builders: linear layers and MLPs (the
 * networks of MEG), 2-d convolutions and transposed convolutions, and batch
 * normalisation with running statistics (the image networks). A layer owns
 * its parameter leaves, named "<prefix>.<kind><tag>"; applying it appends
 * nodes to the graph and computes nothing. Activations are graph.h's g_act,
 * applied with g_activation. The one public header of models/nn/.
 *
 * Errors: make functions return 0, or -1 with the graph's error in
 * rt_error() (util.h); apply functions follow graph.h (NULL on error, the
 * message kept in the graph).
 */
#ifndef MEG_MODELS_NN_H
#define MEG_MODELS_NN_H

#include "graph.h"

/* ---- linear layers ---------------------------------------------------------- */

/* y = x W + b with W [in, out] and b [out]: x [N, in] -> y [N, out]. */
typedef struct meg_linear {
    g_tensor *w, *b;
    int in, out;
} meg_linear;

/* Params "<prefix>.w<tag>" and "<prefix>.b<tag>" with PyTorch's default
 * Linear initialisation (both uniform in +-1/sqrt(in)). */
int meg_linear_make(g_graph *g, const char *prefix, const char *tag, int in, int out, meg_linear *l);
g_tensor *meg_linear_apply(const meg_linear *l, g_tensor *x);

/* ---- multilayer perceptrons --------------------------------------------------- */

#define MEG_MAX_LAYERS 8

/* in -> width (x hidden) -> out: hidden + 1 linear layers, the activation
 * after each but the last (the output is linear). */
typedef struct meg_mlp {
    int nlayers;
    g_act act;
    float slope;              /* of G_ACT_LEAKY_RELU */
    meg_linear layer[MEG_MAX_LAYERS];
} meg_mlp;

/* Layer l has params "<prefix>.w<l>", "<prefix>.b<l>"; at most
 * MEG_MAX_LAYERS - 1 hidden layers. */
int meg_mlp_make(g_graph *g, const char *prefix, int in, int width, int hidden, int out, g_act act,
                 float leaky_slope, meg_mlp *m);
/* The same with hidden layer l of widths[l] (hidden entries). */
int meg_mlp_make_widths(g_graph *g, const char *prefix, int in, const int *widths, int hidden, int out, g_act act,
                        float leaky_slope, meg_mlp *m);
g_tensor *meg_mlp_apply(const meg_mlp *m, g_tensor *x);
/* The parameters in order w0, b0, w1, ...; returns their count
 * (2 * nlayers: out must hold that many). */
int meg_mlp_params(const meg_mlp *m, g_tensor **out);

/* ---- 2-d convolutions (NCHW images) ---------------------------------------- */

/* conv2d: x [N, in, H, W] -> [N, out, (H + 2 pad - k) / stride + 1, ...];
 * transposed: -> [N, out, (H - 1) stride - 2 pad + k + out_pad, ...] (the
 * generator's upsampling). Both add a bias per output channel. */
typedef struct meg_conv2d {
    g_tensor *w, *b;          /* w [out, in, k, k] (transposed: [in, out, k, k]), b [out] */
    int in, out, k, stride, pad, out_pad;
    int transposed;
} meg_conv2d;

/* Params "<prefix>.w<tag>", "<prefix>.b<tag>". w_std 0: PyTorch's default
 * (both uniform in +-1/sqrt(fan_in), fan_in = in k^2 for a convolution and
 * out k^2 for a transposed one, as PyTorch computes it); w_std > 0: weights
 * N(0, w_std) and biases 0 (DCGAN's init with 0.02). */
int meg_conv2d_make(g_graph *g, const char *prefix, const char *tag, int in, int out, int k, int stride, int pad,
                    float w_std, meg_conv2d *c);
int meg_conv_transpose2d_make(g_graph *g, const char *prefix, const char *tag, int in, int out, int k, int stride,
                              int pad, int out_pad, float w_std, meg_conv2d *c);
g_tensor *meg_conv2d_apply(const meg_conv2d *c, g_tensor *x);

/* ---- batch normalisation ----------------------------------------------------- */

/* Over every axis but the channels (x [N, C] or [N, C, H, W]). Params
 * "<prefix>.gamma<tag>" (1, or N(1, gamma_std) when gamma_std > 0, as
 * DCGAN-style nets initialise it) and "<prefix>.beta<tag>" (0); state leaves
 * "<prefix>.run_mean<tag>" (0) and "<prefix>.run_var<tag>" (1), saved by
 * checkpoints like every state. */
typedef struct meg_batchnorm {
    g_tensor *gamma, *beta;           /* params [C] */
    g_tensor *run_mean, *run_var;     /* states [C] */
    int channels;
    float eps, momentum;              /* PyTorch's defaults: 1e-5, 0.1 */
} meg_batchnorm;

int meg_batchnorm_make(g_graph *g, const char *prefix, const char *tag, int channels, float eps, float momentum,
                       float gamma_std, meg_batchnorm *bn);
/* Training mode: x normalised with the batch's mean and (biased) variance
 * (g_batchnorm_train), then scaled and shifted. *update is an effect that
 * moves the running statistics toward the batch's, as PyTorch does:
 * mean <- (1 - momentum) mean + momentum batch mean, and the same for the
 * variance with the unbiased batch variance; group it with the step's other
 * effects (it reads the running values before any later node writes them). */
g_tensor *meg_batchnorm_train(const meg_batchnorm *bn, g_tensor *x, g_tensor **update);
/* Evaluation mode: (x - running mean) / sqrt(running var + eps) * gamma + beta. */
g_tensor *meg_batchnorm_eval(const meg_batchnorm *bn, g_tensor *x);

#endif
