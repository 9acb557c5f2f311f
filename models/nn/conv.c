/* conv.c: 2-d convolution and transposed-convolution layers (weight and
 * bias) for the image networks, initialised as PyTorch does by default or
 * as DCGAN does (weights N(0, std), biases 0). */
#include "nn.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

/* w: [out, in, k, k] for conv2d, [in, out, k, k] for conv_transpose2d (the
 * layouts of graph.h and PyTorch). PyTorch's default bound 1/sqrt(fan_in)
 * takes fan_in from the weight's dimension 1 times k * k: in * k * k for a
 * convolution, out * k * k for a transposed one; the bias shares it. */
static int make(g_graph *g, const char *prefix, const char *tag, int in, int out, int k, int stride, int pad,
                int out_pad, int transposed, float w_std, meg_conv2d *c)
{
    memset(c, 0, sizeof *c);
    if (in < 1 || out < 1 || k < 1 || stride < 1 || pad < 0 || out_pad < 0 || !(w_std >= 0)) {
        rt_set_error("%s: bad convolution (%d -> %d channels, kernel %d, stride %d, pad %d, output pad %d, "
                     "weight std %g)", prefix, in, out, k, stride, pad, out_pad, (double)w_std);
        return -1;
    }
    *c = (meg_conv2d){.in = in, .out = out, .k = k, .stride = stride, .pad = pad, .out_pad = out_pad,
                      .transposed = transposed};
    int fan_in = (transposed ? out : in) * k * k;
    g_init wi = w_std > 0 ? g_init_normal(w_std) : g_init_torch(fan_in);
    g_init bi = w_std > 0 ? g_init_zeros() : g_init_torch(fan_in);
    char wn[2 * G_NAME_MAX], bn[2 * G_NAME_MAX];   /* too long a name is the graph's error to report */
    snprintf(wn, sizeof wn, "%s.w%s", prefix, tag);
    snprintf(bn, sizeof bn, "%s.b%s", prefix, tag);
    c->w = g_param(g, wn, 4, transposed ? G_SHAPE(in, out, k, k) : G_SHAPE(out, in, k, k), wi);
    c->b = g_param(g, bn, 1, G_SHAPE(out), bi);
    if (!c->w || !c->b) {
        rt_set_error("%s", g_graph_error(g));
        return -1;
    }
    return 0;
}

int meg_conv2d_make(g_graph *g, const char *prefix, const char *tag, int in, int out, int k, int stride, int pad,
                    float w_std, meg_conv2d *c)
{
    return make(g, prefix, tag, in, out, k, stride, pad, 0, 0, w_std, c);
}

int meg_conv_transpose2d_make(g_graph *g, const char *prefix, const char *tag, int in, int out, int k, int stride,
                              int pad, int out_pad, float w_std, meg_conv2d *c)
{
    return make(g, prefix, tag, in, out, k, stride, pad, out_pad, 1, w_std, c);
}

g_tensor *meg_conv2d_apply(const meg_conv2d *c, g_tensor *x)
{
    g_tensor *y = c->transposed ? g_conv_transpose2d(x, c->w, c->stride, c->pad, c->out_pad)
                                : g_conv2d(x, c->w, c->stride, c->pad);
    /* the bias per channel: [1, out, 1, 1] broadcasts along N, H and W */
    return g_add(y, g_reshape(c->b, 4, G_SHAPE(1, c->out, 1, 1)));
}
