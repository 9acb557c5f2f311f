/* nn.h: network layers as graph builders: linear layers and MLPs (the
 * networks of MEG). A layer owns
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
g_tensor *meg_mlp_apply(const meg_mlp *m, g_tensor *x);
/* The parameters in order w0, b0, w1, ...; returns their count
 * (2 * nlayers: out must hold that many). */
int meg_mlp_params(const meg_mlp *m, g_tensor **out);

#endif
