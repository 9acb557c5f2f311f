/* linear.c: linear layers and the MLPs made of them (the three networks of
 * MEG), with PyTorch's default initialisation so that results compare with
 * the usual PyTorch code. */
#include "nn.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

int meg_linear_make(g_graph *g, const char *prefix, const char *tag, int in, int out, meg_linear *l)
{
    char wn[2 * G_NAME_MAX], bn[2 * G_NAME_MAX];   /* too long a name is the graph's error to report */
    memset(l, 0, sizeof *l);
    snprintf(wn, sizeof wn, "%s.w%s", prefix, tag);
    snprintf(bn, sizeof bn, "%s.b%s", prefix, tag);
    l->in = in;
    l->out = out;
    l->w = g_param(g, wn, 2, G_SHAPE(in, out), g_init_torch(in));
    l->b = g_param(g, bn, 1, G_SHAPE(out), g_init_torch(in));
    if (!l->w || !l->b) {
        rt_set_error("%s", g_graph_error(g));
        return -1;
    }
    return 0;
}

g_tensor *meg_linear_apply(const meg_linear *l, g_tensor *x)
{
    return g_add(g_matmul(x, l->w, 0, 0), l->b);
}

int meg_mlp_make_widths(g_graph *g, const char *prefix, int in, const int *widths, int hidden, int out, g_act act,
                        float leaky_slope, meg_mlp *m)
{
    memset(m, 0, sizeof *m);
    if (hidden < 0 || hidden + 1 > MEG_MAX_LAYERS) {
        rt_set_error("%s: %d hidden layers (0 to %d)", prefix, hidden, MEG_MAX_LAYERS - 1);
        return -1;
    }
    for (int l = 0; l < hidden; l++)
        if (widths[l] < 1) {
            rt_set_error("%s: hidden layer %d of width %d (at least 1)", prefix, l, widths[l]);
            return -1;
        }
    m->act = act;
    m->slope = leaky_slope;
    m->nlayers = hidden + 1;
    for (int l = 0; l < m->nlayers; l++) {
        char tag[16];
        snprintf(tag, sizeof tag, "%d", l);
        int o = l == hidden ? out : widths[l];
        if (meg_linear_make(g, prefix, tag, in, o, &m->layer[l])) return -1;
        in = o;
    }
    return 0;
}

int meg_mlp_make(g_graph *g, const char *prefix, int in, int width, int hidden, int out, g_act act,
                 float leaky_slope, meg_mlp *m)
{
    int w[MEG_MAX_LAYERS];
    for (int l = 0; l < MEG_MAX_LAYERS; l++) w[l] = width;
    return meg_mlp_make_widths(g, prefix, in, w, hidden, out, act, leaky_slope, m);
}

g_tensor *meg_mlp_apply(const meg_mlp *m, g_tensor *x)
{
    g_tensor *h = x;
    for (int l = 0; l < m->nlayers; l++) {
        h = meg_linear_apply(&m->layer[l], h);
        if (l < m->nlayers - 1) h = g_activation(h, m->act, m->slope);
    }
    return h;
}

int meg_mlp_params(const meg_mlp *m, g_tensor **out)
{
    int n = 0;
    for (int l = 0; l < m->nlayers; l++) {
        out[n++] = m->layer[l].w;
        out[n++] = m->layer[l].b;
    }
    return n;
}
