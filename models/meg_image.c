/* meg_image.c: the authors' convolutional E, G and T of MEG for 28 x 28
 * images with C channels (section 2.5.2 of the seed; width w = 512 in the
 * paper, the largest channel count):
 *   G: z -> Linear(z, 2*2*w) -> 4 x [batch norm, ReLU, 5x5 stride-2
 *      transposed conv] w -> w/2 -> w/4 -> w/8 -> C (2 -> 4 -> 7 -> 14 -> 28)
 *      -> tanh
 *   E: 4 x [5x5 stride-2 conv, LeakyReLU 0.2] C -> w/8 -> w/4 -> w/2 -> w
 *      (28 -> 14 -> 7 -> 4 -> 2) -> Linear(2*2*w, 1); no batch norm, which
 *      would couple the samples of the gradient penalty
 *   T(x, z): E's trunk -> Linear(2*2*w, zdim), concatenated with z ->
 *      Linear(2 zdim, w) -> LeakyReLU 0.2 -> Linear(w, 1)
 * Convolution weights N(0, 0.02) with zero biases, batch-norm scales
 * N(1, 0.02), linear layers PyTorch's default, as in the authors' code. */
#include "meg.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define CONV_STD 0.02f

/* output padding of G's four upsamplings: 2 -> 4 -> 7 -> 14 -> 28 */
static const int OUT_PAD[MEG_IMAGE_BLOCKS] = {1, 0, 1, 1};

static int check_shape(const meg_config *c)
{
    if (c->channels < 1 || c->channels > 16 || c->height != 28 || c->img_width != 28 || c->width < 8 ||
        c->width % 8 || c->dim != c->channels * c->height * c->img_width) {
        rt_set_error("MEG image networks: images [%d, %d, %d] (dim %d) and width %d; the networks take 28 x 28 "
                     "images of 1 to 16 channels (dim = C x 28 x 28) and a width that is a multiple of 8",
                     c->channels, c->height, c->img_width, c->dim, c->width);
        return -1;
    }
    return 0;
}

static int trunk_make(g_graph *g, const char *prefix, int C, int w, meg_conv2d *conv)
{
    int ch[MEG_IMAGE_BLOCKS + 1] = {C, w / 8, w / 4, w / 2, w};
    for (int l = 0; l < MEG_IMAGE_BLOCKS; l++) {
        char tag[8];
        snprintf(tag, sizeof tag, "%d", l);
        if (meg_conv2d_make(g, prefix, tag, ch[l], ch[l + 1], 5, 2, 2, CONV_STD, &conv[l])) return -1;
    }
    return 0;
}

int meg_image_nets_make(g_graph *g, const meg_config *c, meg_image_nets *n)
{
    memset(n, 0, sizeof *n);
    if (check_shape(c)) return -1;
    const int C = c->channels, w = c->width, Z = c->zdim;
    n->channels = C;
    n->width = w;
    /* E */
    if (trunk_make(g, "E", C, w, n->e_conv) || meg_linear_make(g, "E", "out", 4 * w, 1, &n->e_out)) return -1;
    /* G */
    if (meg_linear_make(g, "G", "in", Z, 4 * w, &n->g_in)) return -1;
    int ch[MEG_IMAGE_BLOCKS + 1] = {w, w / 2, w / 4, w / 8, C};
    for (int l = 0; l < MEG_IMAGE_BLOCKS; l++) {
        char tag[8];
        snprintf(tag, sizeof tag, "%d", l);
        if (meg_batchnorm_make(g, "G", tag, ch[l], 1e-5f, 0.1f, CONV_STD, &n->g_bn[l]) ||
            meg_conv_transpose2d_make(g, "G", tag, ch[l], ch[l + 1], 5, 2, 2, OUT_PAD[l], CONV_STD, &n->g_conv[l]))
            return -1;
    }
    /* T (MEG only: WGAN-GP has no statistics network) */
    if (c->objective != MEG_OBJECTIVE_MEG) return 0;
    if (trunk_make(g, "T", C, w, n->t_conv) || meg_linear_make(g, "T", "x", 4 * w, Z, &n->t_x) ||
        meg_linear_make(g, "T", "h", 2 * Z, w, &n->t_h) || meg_linear_make(g, "T", "out", w, 1, &n->t_out))
        return -1;
    return 0;
}

/* x [N, C, 28, 28] (or [N, C * 784]) -> the trunk's features [N, 4 w] */
static g_tensor *trunk(const meg_conv2d *conv, int C, g_tensor *x)
{
    if (!x) return NULL;
    int N = x->shape[0];
    if (x->ndim != 4) x = g_reshape(x, 4, G_SHAPE(N, C, 28, 28));
    for (int l = 0; l < MEG_IMAGE_BLOCKS; l++) x = g_leaky_relu(meg_conv2d_apply(&conv[l], x), 0.2f);
    return x ? g_reshape(x, 2, G_SHAPE(N, (int)(g_numel(x) / (size_t)N))) : NULL;
}

g_tensor *meg_image_energy(const meg_image_nets *n, g_tensor *x)
{
    return meg_linear_apply(&n->e_out, trunk(n->e_conv, n->channels, x));
}

g_tensor *meg_image_generate(const meg_image_nets *n, g_tensor *z, g_tensor **update)
{
    if (!z) return NULL;
    g_graph *g = z->graph;
    int N = z->shape[0];
    g_tensor *h = g_reshape(meg_linear_apply(&n->g_in, z), 4, G_SHAPE(N, n->width, 2, 2));
    g_tensor *fx[MEG_IMAGE_BLOCKS];
    for (int l = 0; l < MEG_IMAGE_BLOCKS; l++) {
        h = update ? meg_batchnorm_train(&n->g_bn[l], h, &fx[l]) : meg_batchnorm_eval(&n->g_bn[l], h);
        h = meg_conv2d_apply(&n->g_conv[l], g_relu(h));
    }
    if (update) *update = h ? g_group(g, fx, MEG_IMAGE_BLOCKS) : NULL;
    return g_tanh(h);
}

g_tensor *meg_image_statistics(const meg_image_nets *n, g_tensor *x, g_tensor *z)
{
    if (!x || !z) return NULL;
    g_tensor *pair[2] = {meg_linear_apply(&n->t_x, trunk(n->t_conv, n->channels, x)), z};
    if (!pair[0]) return NULL;
    g_tensor *h = g_leaky_relu(meg_linear_apply(&n->t_h, g_concat(z->graph, pair, 2, 1)), 0.2f);
    return meg_linear_apply(&n->t_out, h);
}

static int conv_params(const meg_conv2d *c, int n, g_tensor **out)
{
    for (int l = 0; l < n; l++) {
        out[2 * l] = c[l].w;
        out[2 * l + 1] = c[l].b;
    }
    return 2 * n;
}

int meg_image_params(const meg_image_nets *n, char net, g_tensor **out)
{
    int k = 0;
    switch (net) {
    case 'E':
        k = conv_params(n->e_conv, MEG_IMAGE_BLOCKS, out);
        out[k++] = n->e_out.w;
        out[k++] = n->e_out.b;
        return k;
    case 'G':
        out[k++] = n->g_in.w;
        out[k++] = n->g_in.b;
        for (int l = 0; l < MEG_IMAGE_BLOCKS; l++) {
            out[k++] = n->g_bn[l].gamma;
            out[k++] = n->g_bn[l].beta;
            out[k++] = n->g_conv[l].w;
            out[k++] = n->g_conv[l].b;
        }
        return k;
    case 'T': {
        k = conv_params(n->t_conv, MEG_IMAGE_BLOCKS, out);
        const meg_linear *ls[3] = {&n->t_x, &n->t_h, &n->t_out};
        for (int i = 0; i < 3; i++) {
            out[k++] = ls[i]->w;
            out[k++] = ls[i]->b;
        }
        return k;
    }
    default: return 0;
    }
}
