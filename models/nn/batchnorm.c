/* batchnorm.c: batch normalisation as a layer: scale and shift params, and
 * running statistics kept as state leaves, so that training normalises with
 * the batch's statistics (and moves the running ones toward them) and
 * evaluation with the running ones, as PyTorch's BatchNorm does. */
#include "nn.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

static g_tensor *leaf(g_graph *g, g_op kind, const char *prefix, const char *what, const char *tag, int c,
                      g_init init)
{
    char name[2 * G_NAME_MAX];   /* too long a name is the graph's error to report */
    snprintf(name, sizeof name, "%s.%s%s", prefix, what, tag);
    return kind == G_OP_PARAM ? g_param(g, name, 1, &c, init) : g_state(g, name, 1, &c, init);
}

int meg_batchnorm_make(g_graph *g, const char *prefix, const char *tag, int channels, float eps, float momentum,
                       float gamma_std, meg_batchnorm *bn)
{
    memset(bn, 0, sizeof *bn);
    if (channels < 1 || !(eps > 0) || !(momentum >= 0 && momentum <= 1) || !(gamma_std >= 0)) {
        rt_set_error("%s: batch norm of %d channels with eps %g (> 0), momentum %g (in [0, 1]) and scale std %g "
                     "(>= 0)", prefix, channels, (double)eps, (double)momentum, (double)gamma_std);
        return -1;
    }
    bn->channels = channels;
    bn->eps = eps;
    bn->momentum = momentum;
    g_init gi = gamma_std > 0 ? g_init_normal_mean(1.0f, gamma_std) : g_init_const(1.0f);
    bn->gamma = leaf(g, G_OP_PARAM, prefix, "gamma", tag, channels, gi);
    bn->beta = leaf(g, G_OP_PARAM, prefix, "beta", tag, channels, g_init_zeros());
    bn->run_mean = leaf(g, G_OP_STATE, prefix, "run_mean", tag, channels, g_init_zeros());
    bn->run_var = leaf(g, G_OP_STATE, prefix, "run_var", tag, channels, g_init_const(1.0f));
    if (!bn->gamma || !bn->beta || !bn->run_mean || !bn->run_var) {
        rt_set_error("%s", g_graph_error(g));
        return -1;
    }
    return 0;
}

/* [C] as [1, C] or [1, C, 1, 1], to broadcast against x along channels. */
static g_tensor *per_channel(g_tensor *v, const g_tensor *x)
{
    return g_reshape(v, x->ndim, x->ndim == 2 ? G_SHAPE(1, v->shape[0]) : G_SHAPE(1, v->shape[0], 1, 1));
}

g_tensor *meg_batchnorm_train(const meg_batchnorm *bn, g_tensor *x, g_tensor **update)
{
    *update = NULL;
    g_tensor *y = g_batchnorm_train(x, bn->gamma, bn->beta, bn->eps);
    if (!y) return NULL;
    g_graph *g = x->graph;
    const int C = bn->channels;
    /* The batch's statistics once more, for the running ones (g_batchnorm_train
     * keeps its own inside). They are not differentiated: the update is an
     * effect, and nothing that a loss reads depends on it. */
    double count = (double)g_numel(x) / C;
    const int *st = x->ndim == 2 ? G_SHAPE(1, C) : G_SHAPE(1, C, 1, 1);
    g_tensor *mean = g_scale(g_sum_to(x, x->ndim, st), (float)(1.0 / count));
    g_tensor *var = g_sum_to(g_square(g_sub(x, mean)), x->ndim, st);
    /* PyTorch: the running variance takes the unbiased batch variance */
    var = g_scale(var, (float)(1.0 / (count > 1 ? count - 1 : 1)));
    float m = bn->momentum;
    g_tensor *fx[2] = {
        g_assign(bn->run_mean, g_add(g_scale(bn->run_mean, 1 - m), g_scale(g_reshape(mean, 1, &C), m))),
        g_assign(bn->run_var, g_add(g_scale(bn->run_var, 1 - m), g_scale(g_reshape(var, 1, &C), m))),
    };
    *update = g_group(g, fx, 2);
    return *update ? y : NULL;
}

g_tensor *meg_batchnorm_eval(const meg_batchnorm *bn, g_tensor *x)
{
    if (!x) return NULL;
    g_graph *g = x->graph;
    /* y = x * scale + shift, scale = gamma / sqrt(var + eps), shift = beta - mean * scale */
    g_tensor *scale = g_mul(bn->gamma, g_div(g_scalar(g, 1.0f), g_sqrt(g_add_scalar(bn->run_var, bn->eps))));
    g_tensor *shift = g_sub(bn->beta, g_mul(bn->run_mean, scale));
    return g_add(g_mul(x, per_channel(scale, x)), per_channel(shift, x));
}
