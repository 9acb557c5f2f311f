/* autodiff.c: reverse mode as a graph transformation. Every vector-Jacobian
 * product is written with the ordinary builders, so the gradient graph can
 * itself be differentiated (double backward). */
#include "graph_internal.h"

#include <stdlib.h>

/* 1 when src k of n carries a gradient (the op's diff mask in ops.def). */
static int diff_edge(const g_tensor *n, int k) { return k < 32 && (g_op_info_of(n->op)->diff >> k & 1u); }

/* Reduces a broadcast cotangent back to x's shape. */
static g_tensor *unb(g_tensor *c, const g_tensor *x)
{
    if (!c || g_same_shape(c, x)) return c;
    return g_sum_to(c, x->ndim, x->shape);
}

/* The input gradient of a stride-s conv2d whose output cotangent is gy
 * (conv_transpose2d), cut to x's spatial size. Output padding is one number
 * for both axes, so where H and W need different amounts the larger one is
 * used and the other axis sliced back: the extra rows are simply unused. */
static g_tensor *conv_input_grad(g_tensor *gy, g_tensor *w, int s, int p, const g_tensor *x)
{
    int oph = x->shape[2] - ((gy->shape[2] - 1) * s - 2 * p + w->shape[2]);
    int opw = x->shape[3] - ((gy->shape[3] - 1) * s - 2 * p + w->shape[3]);
    int op = oph > opw ? oph : opw;
    if (oph < 0 || opw < 0 || op >= s) {
        char bx[64], bg[64], bw[64];
        g__fail(gy->graph, "grad of conv2d: cannot represent the input gradient of x %s from"
                " gy %s, w %s, stride %d pad %d (output padding %d, %d)",
                g_shape_str(x, bx, sizeof bx), g_shape_str(gy, bg, sizeof bg),
                g_shape_str(w, bw, sizeof bw), s, p, oph, opw);
        return NULL;
    }
    g_tensor *r = g_conv_transpose2d(gy, w, s, p, op);
    if (r && r->shape[2] != x->shape[2]) r = g_slice(r, 2, 0, x->shape[2]);
    if (r && r->shape[3] != x->shape[3]) r = g_slice(r, 3, 0, x->shape[3]);
    return r;
}

/* The sum of each k x k window (stride k) of v [N,C,H,W] into like's
 * shape [N,C,H/k,W/k]: the adjoint of routing values into the windows. */
static g_tensor *window_sum(g_tensor *v, int k, const g_tensor *like)
{
    if (!v) return NULL;
    int nch = like->shape[0] * like->shape[1] * like->shape[2], ho = like->shape[2], wo = like->shape[3];
    if (v->shape[2] != ho * k) v = g_slice(v, 2, 0, ho * k);
    if (v && v->shape[3] != wo * k) v = g_slice(v, 3, 0, wo * k);
    v = g_sum_to(g_reshape(v, 4, G_SHAPE(nch, k, wo, k)), 4, G_SHAPE(nch, 1, wo, 1));
    return g_reshape(v, 4, like->shape);
}

static g_tensor *matmul_grad(g_tensor *n, int k, g_tensor *gy)
{
    g_tensor *a = n->src[0], *b = n->src[1];
    int ta = n->attr.matmul.transpose_a, tb = n->attr.matmul.transpose_b;
    if (k == 0) {
        if (!ta) return tb ? g_matmul(gy, b, 0, 0) : g_matmul(gy, b, 0, 1);
        return tb ? g_matmul(b, gy, 1, 1) : g_matmul(b, gy, 0, 1);
    }
    if (!tb) return ta ? g_matmul(a, gy, 0, 0) : g_matmul(a, gy, 1, 0);
    return ta ? g_matmul(gy, a, 1, 1) : g_matmul(gy, a, 1, 0);
}

/* The contribution of n's cotangent gy to the cotangent of src k. */
static g_tensor *vjp(g_graph *g, g_tensor *n, int k, g_tensor *gy)
{
    g_tensor *x = n->src[k], *a = n->src[0], *b = n->nsrc > 1 ? n->src[1] : NULL;
    const g_conv_attr *cv = &n->attr.conv;
    switch (n->op) {
    case G_OP_NEG: return g_neg(gy);
    case G_OP_SCALE: return g_scale(gy, n->attr.scalar);
    case G_OP_ADD_SCALAR: return gy;
    case G_OP_EXP: return g_mul(gy, n);
    case G_OP_LOG: return g_div(gy, a);
    case G_OP_SQRT: return g_scale(g_div(gy, n), 0.5f);
    case G_OP_SQUARE: return g_mul(gy, g_scale(a, 2.0f));
    case G_OP_ABS: {
        g_tensor *z = g_scalar(g, 0.0f);
        return g_mul(gy, g_sub(g_gt(a, z), g_lt(a, z)));
    }
    case G_OP_RELU: return g_mul(gy, g_gt(a, g_scalar(g, 0.0f)));
    case G_OP_LEAKY_RELU:
        return g_mul(gy, g_select(g_gt(a, g_scalar(g, 0.0f)), g_scalar(g, 1.0f),
                                  g_scalar(g, n->attr.scalar)));
    case G_OP_TANH: return g_mul(gy, g_add_scalar(g_neg(g_square(n)), 1.0f));
    case G_OP_SIGMOID: return g_mul(gy, g_mul(n, g_add_scalar(g_neg(n), 1.0f)));
    case G_OP_SOFTPLUS: return g_mul(gy, g_sigmoid(a));
    case G_OP_LOG_SIGMOID: return g_mul(gy, g_sigmoid(g_neg(a)));
    case G_OP_ADD: return unb(gy, x);
    case G_OP_SUB: return unb(k ? g_neg(gy) : gy, x);
    case G_OP_MUL: return unb(g_mul(gy, n->src[1 - k]), x);
    case G_OP_DIV:   /* d(a/b)/db = -(a/b)/b */
        return k == 0 ? unb(g_div(gy, b), x) : unb(g_neg(g_div(g_mul(gy, n), b)), x);
    case G_OP_SELECT: {
        g_tensor *z = g_scalar(g, 0.0f);
        return unb(k == 1 ? g_select(a, gy, z) : g_select(a, z, gy), x);
    }
    case G_OP_EXPAND: return unb(gy, a);
    case G_OP_SUM_TO: return g_expand(gy, a->ndim, a->shape);
    case G_OP_RESHAPE: return g_reshape(gy, a->ndim, a->shape);
    case G_OP_PERMUTE: {
        int inv[G_MAX_DIMS];
        for (int d = 0; d < n->ndim; d++) inv[n->attr.permute.perm[d]] = d;
        return g_permute(gy, inv);
    }
    case G_OP_CONCAT: {
        int axis = n->attr.axis.axis, off = 0;
        for (int j = 0; j < k; j++) off += n->src[j]->shape[axis];
        return g_slice(gy, axis, off, x->shape[axis]);
    }
    case G_OP_SLICE: return g_pad(gy, n->attr.axis.axis, n->attr.axis.start, a->shape[n->attr.axis.axis]);
    case G_OP_PAD: return g_slice(gy, n->attr.axis.axis, n->attr.axis.start, a->shape[n->attr.axis.axis]);
    case G_OP_GATHER_ROWS: return g_scatter_add_rows(gy, b, a->shape[0]);
    case G_OP_SCATTER_ADD_ROWS: return g_gather_rows(gy, b);
    case G_OP_MAX: {   /* the first maximum's one-hot mask, as the value picks it */
        int axis = n->attr.axis.axis;
        return g_mul(g__one_hot(g_argmax(a, axis, 1), axis, a->shape[axis]), gy);
    }
    case G_OP_MAX_POOL2D: return g_max_pool2d_grad(a, gy, n->attr.conv.kh);
    case G_OP_MAX_POOL2D_GRAD: {   /* wrt gy: gather at each window's first maximum */
        int kk = n->attr.conv.kh;
        g_tensor *mask = g_max_pool2d_grad(a, g_const(g, 1.0f, b->ndim, b->shape), kk);
        return window_sum(g_mul(mask, gy), kk, b);
    }
    case G_OP_MATMUL: return matmul_grad(n, k, gy);
    case G_OP_CONV2D:
        return k == 0 ? conv_input_grad(gy, b, cv->stride, cv->pad, a)
                      : g_conv2d_wgrad(a, gy, b->shape[2], b->shape[3], cv->stride, cv->pad);
    case G_OP_CONV_TRANSPOSE2D:
        return k == 0 ? g_conv2d(gy, b, cv->stride, cv->pad)
                      : g_conv2d_wgrad(gy, a, b->shape[2], b->shape[3], cv->stride, cv->pad);
    case G_OP_CONV2D_WGRAD:   /* gy has the kernel's shape [A,B,KH,KW] */
        return k == 0 ? conv_input_grad(b, gy, cv->stride, cv->pad, a) : g_conv2d(a, gy, cv->stride, cv->pad);
    case G_OP_SHUFFLE: {
        /* the adjoint is the inverse permutation: same generator, same stream */
        g_tensor *src[2] = {a, gy};
        g_tensor *t = g__node(g, "shuffle", G_OP_SHUFFLE, 2, gy->shape, 2, src);
        if (t) {
            t->attr.rand = n->attr.rand;
            t->attr.rand.inverse = !n->attr.rand.inverse;
        }
        return t;
    }
    default:
        g__fail(g, "grad: no derivative for op %s (node %d)", g_op_name(n->op), n->id);
        return NULL;
    }
}

int g_grad(g_graph *g, g_tensor *y, g_tensor **wrt, int n, g_tensor **out)
{
    if (!g) return -1;
    if (out)
        for (int i = 0; i < n; i++) out[i] = NULL;
    if (!y || !out || n < 0 || (n > 0 && !wrt)) {
        g__fail(g, "grad: missing y, wrt or out");
        return -1;
    }
    char b[64];
    if (y->graph != g) {
        g__fail(g, "grad: y belongs to a different graph");
        return -1;
    }
    if (g_is_effect(y) || g_numel(y) != 1) {
        g__fail(g, "grad: y must be a scalar (one element), got %s %s", g_op_name(y->op),
                g_is_effect(y) ? "(an effect)" : g_shape_str(y, b, sizeof b));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (!wrt[i]) {
            g__fail(g, "grad: wrt %d is NULL", i);
            return -1;
        }
        if (wrt[i]->graph != g || g_is_effect(wrt[i])) {
            g__fail(g, "grad: wrt %d is %s", i,
                    wrt[i]->graph != g ? "from a different graph" : "an effect");
            return -1;
        }
    }

    int ny = y->id + 1, rc = -1;
    unsigned char *dep = calloc((size_t)ny, 1), *need = calloc((size_t)ny, 1);
    g_tensor **ct = calloc((size_t)ny, sizeof *ct);
    if (!dep || !need || !ct) {
        g__fail(g, "grad: out of memory");
        goto done;
    }
    /* dep: depends on a wrt tensor through differentiable edges */
    for (int i = 0; i < n; i++)
        if (wrt[i]->id < ny) dep[wrt[i]->id] = 1;
    for (int id = 0; id < ny; id++) {
        g_tensor *t = g->nodes[id];
        for (int k = 0; k < t->nsrc && !dep[id]; k++)
            if (diff_edge(t, k) && dep[t->src[k]->id]) dep[id] = 1;
    }
    /* need: y depends on it through differentiable edges */
    need[y->id] = 1;
    for (int id = ny - 1; id >= 0; id--) {
        g_tensor *t = g->nodes[id];
        if (!need[id]) continue;
        for (int k = 0; k < t->nsrc; k++)
            if (diff_edge(t, k)) need[t->src[k]->id] = 1;
    }

    if (dep[y->id]) {
        ct[y->id] = g_const(g, 1.0f, y->ndim, y->shape);
        if (!ct[y->id]) goto done;
    }
    for (int id = ny - 1; id >= 0; id--) {
        g_tensor *t = g->nodes[id], *gy = ct[id];
        if (!gy) continue;
        for (int k = 0; k < t->nsrc; k++) {
            g_tensor *s = t->src[k];
            if (!diff_edge(t, k) || !dep[s->id] || !need[s->id]) continue;
            g_tensor *c = vjp(g, t, k, gy);
            if (c && ct[s->id]) c = g_add(ct[s->id], c);
            if (!c) {
                g__fail(g, "grad: could not build the derivative of %s (node %d)",
                        g_op_name(t->op), t->id);
                goto done;
            }
            ct[s->id] = c;
        }
    }
    for (int i = 0; i < n; i++) {
        g_tensor *c = wrt[i]->id < ny ? ct[wrt[i]->id] : NULL;
        out[i] = c ? c : g_const(g, 0.0f, wrt[i]->ndim, wrt[i]->shape);
        if (!out[i]) goto done;
    }
    rc = 0;
done:
    if (rc)
        for (int i = 0; i < n; i++) out[i] = NULL;
    free(dep);
    free(need);
    free(ct);
    return rc;
}
