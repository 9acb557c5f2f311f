/* build.c: the builders of leaves, elementwise ops, broadcasting,
 * reductions and layout ops, with their shape checks. Builders only append
 * nodes; nothing is computed here. */
#include "graph_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- leaves ------------------------------------------------------------ */

static int check_init(g_graph *g, const char *what, const char *name, g_init init)
{
    switch (init.kind) {
    case G_INIT_ZEROS: case G_INIT_CONST: return 0;
    case G_INIT_NORMAL: case G_INIT_UNIFORM:
        if (!(init.a >= 0.0f)) {
            g__fail(g, "%s '%s': init scale %g must be >= 0", what, name, (double)init.a);
            return -1;
        }
        return 0;
    case G_INIT_TORCH:
        if (init.fan_in < 1) {
            g__fail(g, "%s '%s': torch init needs fan_in >= 1, got %d", what, name, init.fan_in);
            return -1;
        }
        return 0;
    }
    g__fail(g, "%s '%s': unknown init kind %d", what, name, (int)init.kind);
    return -1;
}

static g_tensor *leaf(g_graph *g, g_op op, const char *name, int ndim, const int *shape,
                      g_init init)
{
    const char *what = g_op_name(op);
    if (!g) return NULL;
    if (!name || !name[0]) {
        g__fail(g, "%s: a leaf needs a name", what);
        return NULL;
    }
    if (strlen(name) >= G_NAME_MAX) {
        g__fail(g, "%s: name '%.32s...' longer than %d characters", what, name, G_NAME_MAX - 1);
        return NULL;
    }
    if (g_graph_find(g, name)) {
        g__fail(g, "%s: leaf name '%s' is already used", what, name);
        return NULL;
    }
    if (g__check_shape(g, what, ndim, shape)) return NULL;
    if (op != G_OP_INPUT && check_init(g, what, name, init)) return NULL;
    if (op != G_OP_INPUT && init.like) {
        const g_tensor *l = init.like;
        if (l->graph != g || (l->op != G_OP_PARAM && l->op != G_OP_STATE) || l->ndim != ndim ||
            memcmp(l->shape, shape, (size_t)ndim * sizeof *shape)) {
            g__fail(g, "%s '%s': initialised like '%s', which is not a param or state of this graph with its shape",
                    what, name, l->name);
            return NULL;
        }
    }
    if (g->nleaves == g->leaves_cap) {
        int cap = g->leaves_cap ? 2 * g->leaves_cap : 32;
        int *l = realloc(g->leaves, (size_t)cap * sizeof *l);
        if (!l) {
            g__fail(g, "%s: out of memory", what);
            return NULL;
        }
        g->leaves = l;
        g->leaves_cap = cap;
    }
    g_tensor *t = g__node(g, what, op, ndim, shape, 0, NULL);
    if (!t) return NULL;
    snprintf(t->name, sizeof t->name, "%s", name);
    if (op != G_OP_INPUT) t->init = init;
    g->leaves[g->nleaves++] = t->id;
    return t;
}

g_tensor *g_input(g_graph *g, const char *name, int ndim, const int *shape)
{
    return leaf(g, G_OP_INPUT, name, ndim, shape, g_init_zeros());
}

g_tensor *g_input_u8(g_graph *g, const char *name, int ndim, const int *shape)
{
    g_tensor *t = leaf(g, G_OP_INPUT, name, ndim, shape, g_init_zeros());
    if (t) t->flags |= G_FLAG_U8;
    return t;
}

int g_is_u8(const g_tensor *t) { return t && t->op == G_OP_INPUT && (t->flags & G_FLAG_U8); }

g_init g_init_like(const g_tensor *leaf)
{
    g_init i = g_init_zeros();
    if (!leaf) return i;
    i = leaf->init;
    if (!i.like) i.like = leaf;
    return i;
}

g_tensor *g_param(g_graph *g, const char *name, int ndim, const int *shape, g_init init)
{
    return leaf(g, G_OP_PARAM, name, ndim, shape, init);
}

g_tensor *g_state(g_graph *g, const char *name, int ndim, const int *shape, g_init init)
{
    return leaf(g, G_OP_STATE, name, ndim, shape, init);
}

g_tensor *g_const(g_graph *g, float value, int ndim, const int *shape)
{
    if (!g) return NULL;
    if (g__check_shape(g, "const", ndim, shape)) return NULL;
    g_tensor *t = g__node(g, "const", G_OP_CONST, ndim, shape, 0, NULL);
    if (t) t->attr.scalar = value;
    return t;
}

g_tensor *g_scalar(g_graph *g, float value) { return g_const(g, value, 0, NULL); }

/* ---- elementwise --------------------------------------------------------- */

static g_tensor *unary(g_op op, g_tensor *x, float f0)
{
    g_graph *g = g__check_srcs(g_op_name(op), 1, &x, 0);
    if (!g) return NULL;
    g_tensor *t = g__node(g, g_op_name(op), op, x->ndim, x->shape, 1, &x);
    if (t) t->attr.scalar = f0;
    return t;
}

g_tensor *g_neg(g_tensor *x) { return unary(G_OP_NEG, x, 0); }
g_tensor *g_scale(g_tensor *x, float c) { return unary(G_OP_SCALE, x, c); }
g_tensor *g_add_scalar(g_tensor *x, float c) { return unary(G_OP_ADD_SCALAR, x, c); }
g_tensor *g_exp(g_tensor *x) { return unary(G_OP_EXP, x, 0); }
g_tensor *g_log(g_tensor *x) { return unary(G_OP_LOG, x, 0); }
g_tensor *g_sqrt(g_tensor *x) { return unary(G_OP_SQRT, x, 0); }
g_tensor *g_square(g_tensor *x) { return unary(G_OP_SQUARE, x, 0); }
g_tensor *g_abs(g_tensor *x) { return unary(G_OP_ABS, x, 0); }
g_tensor *g_relu(g_tensor *x) { return unary(G_OP_RELU, x, 0); }
g_tensor *g_leaky_relu(g_tensor *x, float slope) { return unary(G_OP_LEAKY_RELU, x, slope); }
g_tensor *g_tanh(g_tensor *x) { return unary(G_OP_TANH, x, 0); }
g_tensor *g_sigmoid(g_tensor *x) { return unary(G_OP_SIGMOID, x, 0); }
g_tensor *g_softplus(g_tensor *x) { return unary(G_OP_SOFTPLUS, x, 0); }
g_tensor *g_log_sigmoid(g_tensor *x) { return unary(G_OP_LOG_SIGMOID, x, 0); }

g_tensor *g_activation(g_tensor *x, g_act act, float leaky_slope)
{
    switch (act) {
    case G_ACT_NONE: return x;
    case G_ACT_RELU: return g_relu(x);
    case G_ACT_LEAKY_RELU: return g_leaky_relu(x, leaky_slope);
    case G_ACT_TANH: return g_tanh(x);
    case G_ACT_SIGMOID: return g_sigmoid(x);
    }
    if (x) g__fail(x->graph, "activation: unknown kind %d", (int)act);
    return NULL;
}

/* numpy broadcasting of n shapes; 0 on success. */
static int broadcast(int n, g_tensor *const *src, int *ndim, int *shape)
{
    int nd = 0;
    for (int k = 0; k < n; k++)
        if (src[k]->ndim > nd) nd = src[k]->ndim;
    for (int d = 0; d < nd; d++) shape[d] = 1;
    for (int k = 0; k < n; k++) {
        int off = nd - src[k]->ndim;
        for (int d = 0; d < src[k]->ndim; d++) {
            int s = src[k]->shape[d], *o = &shape[off + d];
            if (s == *o || s == 1) continue;
            if (*o != 1) return -1;
            *o = s;
        }
    }
    *ndim = nd;
    return 0;
}

static g_tensor *binary(g_op op, g_tensor *a, g_tensor *b)
{
    g_tensor *src[2] = {a, b};
    const char *what = g_op_name(op);
    g_graph *g = g__check_srcs(what, 2, src, 0);
    if (!g) return NULL;
    int nd, sh[G_MAX_DIMS];
    if (broadcast(2, src, &nd, sh)) {
        char ba[64], bb[64];
        g__fail(g, "%s: shapes do not broadcast: a %s vs b %s", what,
                g_shape_str(a, ba, sizeof ba), g_shape_str(b, bb, sizeof bb));
        return NULL;
    }
    return g__node(g, what, op, nd, sh, 2, src);
}

g_tensor *g_add(g_tensor *a, g_tensor *b) { return binary(G_OP_ADD, a, b); }
g_tensor *g_sub(g_tensor *a, g_tensor *b) { return binary(G_OP_SUB, a, b); }
g_tensor *g_mul(g_tensor *a, g_tensor *b) { return binary(G_OP_MUL, a, b); }
g_tensor *g_div(g_tensor *a, g_tensor *b) { return binary(G_OP_DIV, a, b); }
g_tensor *g_gt(g_tensor *a, g_tensor *b) { return binary(G_OP_GT, a, b); }
g_tensor *g_ge(g_tensor *a, g_tensor *b) { return binary(G_OP_GE, a, b); }
g_tensor *g_lt(g_tensor *a, g_tensor *b) { return binary(G_OP_LT, a, b); }
g_tensor *g_le(g_tensor *a, g_tensor *b) { return binary(G_OP_LE, a, b); }
g_tensor *g_eq(g_tensor *a, g_tensor *b) { return binary(G_OP_EQ, a, b); }

g_tensor *g_select(g_tensor *cond, g_tensor *a, g_tensor *b)
{
    g_tensor *src[3] = {cond, a, b};
    g_graph *g = g__check_srcs("select", 3, src, 0);
    if (!g) return NULL;
    int nd, sh[G_MAX_DIMS];
    if (broadcast(3, src, &nd, sh)) {
        char bc[64], ba[64], bb[64];
        g__fail(g, "select: shapes do not broadcast: cond %s, a %s, b %s",
                g_shape_str(cond, bc, sizeof bc), g_shape_str(a, ba, sizeof ba),
                g_shape_str(b, bb, sizeof bb));
        return NULL;
    }
    return g__node(g, "select", G_OP_SELECT, nd, sh, 3, src);
}

/* ---- broadcasting and reductions ---------------------------------------- */

g_tensor *g_expand(g_tensor *x, int ndim, const int *shape)
{
    g_graph *g = g__check_srcs("expand", 1, &x, 0);
    if (!g) return NULL;
    if (g__check_shape(g, "expand", ndim, shape)) return NULL;
    int ok = x->ndim <= ndim;
    for (int d = 0; ok && d < x->ndim; d++) {
        int s = x->shape[d], o = shape[ndim - x->ndim + d];
        ok = s == o || s == 1;
    }
    if (!ok) {
        char bx[64], bs[64];
        g__fail(g, "expand: cannot broadcast x %s to %s", g_shape_str(x, bx, sizeof bx),
                g__shape_str(ndim, shape, bs, sizeof bs));
        return NULL;
    }
    return g__node(g, "expand", G_OP_EXPAND, ndim, shape, 1, &x);
}

g_tensor *g_sum_to(g_tensor *x, int ndim, const int *shape)
{
    g_graph *g = g__check_srcs("sum_to", 1, &x, 0);
    if (!g) return NULL;
    if (g__check_shape(g, "sum_to", ndim, shape)) return NULL;
    int ok = ndim <= x->ndim;
    for (int d = 0; ok && d < ndim; d++) {
        int o = shape[d], s = x->shape[x->ndim - ndim + d];
        ok = o == s || o == 1;
    }
    if (!ok) {
        char bx[64], bs[64];
        g__fail(g, "sum_to: cannot sum x %s down to %s", g_shape_str(x, bx, sizeof bx),
                g__shape_str(ndim, shape, bs, sizeof bs));
        return NULL;
    }
    return g__node(g, "sum_to", G_OP_SUM_TO, ndim, shape, 1, &x);
}

/* x's shape with 1 at axis a (keep), and without a (drop); returns drop's rank. */
static int reduced_shapes(const g_tensor *x, int a, int *keep, int *drop)
{
    int nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        keep[d] = d == a ? 1 : x->shape[d];
        if (d != a) drop[nd++] = x->shape[d];
    }
    return nd;
}

static g_tensor *sum_axis(const char *what, g_tensor *x, int axis, int keepdim, int mean)
{
    g_graph *g = g__check_srcs(what, 1, &x, 0);
    if (!g) return NULL;
    int a = g__norm_axis(g, what, axis, x);
    if (a < 0) return NULL;
    int keep[G_MAX_DIMS], drop[G_MAX_DIMS], nd = reduced_shapes(x, a, keep, drop);
    g_tensor *s = g_sum_to(x, x->ndim, keep);
    if (mean) s = g_scale(s, 1.0f / (float)x->shape[a]);
    if (!keepdim) s = g_reshape(s, nd, drop);
    return s;
}

g_tensor *g_sum(g_tensor *x, int axis, int keepdim) { return sum_axis("sum", x, axis, keepdim, 0); }
g_tensor *g_mean(g_tensor *x, int axis, int keepdim) { return sum_axis("mean", x, axis, keepdim, 1); }
g_tensor *g_sum_all(g_tensor *x) { return g_sum_to(x, 0, NULL); }

g_tensor *g_mean_all(g_tensor *x)
{
    if (!x) return NULL;
    return g_scale(g_sum_all(x), (float)(1.0 / (double)g_numel(x)));
}

/* ---- layout -------------------------------------------------------------- */

g_tensor *g_reshape(g_tensor *x, int ndim, const int *shape)
{
    g_graph *g = g__check_srcs("reshape", 1, &x, 0);
    if (!g) return NULL;
    if (g__check_shape(g, "reshape", ndim, shape)) return NULL;
    size_t n = 1;
    for (int d = 0; d < ndim; d++) n *= (size_t)shape[d];
    if (n != g_numel(x)) {
        char bx[64], bs[64];
        g__fail(g, "reshape: element counts differ: x %s (%zu) vs %s (%zu)",
                g_shape_str(x, bx, sizeof bx), g_numel(x), g__shape_str(ndim, shape, bs, sizeof bs), n);
        return NULL;
    }
    return g__node(g, "reshape", G_OP_RESHAPE, ndim, shape, 1, &x);
}

g_tensor *g_permute(g_tensor *x, const int *perm)
{
    g_graph *g = g__check_srcs("permute", 1, &x, 0);
    if (!g) return NULL;
    char bx[64];
    int seen[G_MAX_DIMS] = {0}, sh[G_MAX_DIMS];
    if (x->ndim > 0 && !perm) {
        g__fail(g, "permute: no permutation given for x %s", g_shape_str(x, bx, sizeof bx));
        return NULL;
    }
    for (int d = 0; d < x->ndim; d++) {
        if (perm[d] < 0 || perm[d] >= x->ndim || seen[perm[d]]++) {
            g__fail(g, "permute: entry %d (%d) does not make a permutation of the %d axes of x %s",
                    d, perm[d], x->ndim, g_shape_str(x, bx, sizeof bx));
            return NULL;
        }
        sh[d] = x->shape[perm[d]];
    }
    g_tensor *t = g__node(g, "permute", G_OP_PERMUTE, x->ndim, sh, 1, &x);
    if (t)
        for (int d = 0; d < x->ndim; d++) t->attr.permute.perm[d] = perm[d];
    return t;
}

g_tensor *g_transpose(g_tensor *x)
{
    g_graph *g = g__check_srcs("transpose", 1, &x, 0);
    if (!g) return NULL;
    if (x->ndim < 2) {
        char bx[64];
        g__fail(g, "transpose: x %s has fewer than 2 dimensions", g_shape_str(x, bx, sizeof bx));
        return NULL;
    }
    int perm[G_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) perm[d] = d;
    perm[x->ndim - 2] = x->ndim - 1;
    perm[x->ndim - 1] = x->ndim - 2;
    return g_permute(x, perm);
}

g_tensor *g_concat(g_graph *g, g_tensor **xs, int n, int axis)
{
    if (!g) return NULL;
    if (n < 1 || !xs) {
        g__fail(g, "concat: needs at least one input (got %d)", n);
        return NULL;
    }
    g_graph *gs = g__check_srcs("concat", n, xs, 0);
    if (!gs) return NULL;
    if (gs != g) {
        g__fail(g, "concat: inputs belong to a different graph");
        return NULL;
    }
    int a = g__norm_axis(g, "concat", axis, xs[0]);
    if (a < 0) return NULL;
    int sh[G_MAX_DIMS];
    for (int d = 0; d < xs[0]->ndim; d++) sh[d] = xs[0]->shape[d];
    sh[a] = 0;
    for (int k = 0; k < n; k++) {
        int ok = xs[k]->ndim == xs[0]->ndim;
        for (int d = 0; ok && d < xs[0]->ndim; d++)
            ok = d == a || xs[k]->shape[d] == xs[0]->shape[d];
        if (!ok) {
            char b0[64], bk[64];
            g__fail(g, "concat: input %d %s does not match input 0 %s outside axis %d", k,
                    g_shape_str(xs[k], bk, sizeof bk), g_shape_str(xs[0], b0, sizeof b0), a);
            return NULL;
        }
        sh[a] += xs[k]->shape[a];
    }
    g_tensor *t = g__node(g, "concat", G_OP_CONCAT, xs[0]->ndim, sh, n, xs);
    if (t) t->attr.axis.axis = a;
    return t;
}

g_tensor *g_slice(g_tensor *x, int axis, int start, int len)
{
    g_graph *g = g__check_srcs("slice", 1, &x, 0);
    if (!g) return NULL;
    int a = g__norm_axis(g, "slice", axis, x);
    if (a < 0) return NULL;
    if (start < 0 || len < 1 || start > x->shape[a] - len) {
        char bx[64];
        g__fail(g, "slice: range start %d length %d out of bounds for axis %d of x %s", start,
                len, a, g_shape_str(x, bx, sizeof bx));
        return NULL;
    }
    int sh[G_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) sh[d] = x->shape[d];
    sh[a] = len;
    g_tensor *t = g__node(g, "slice", G_OP_SLICE, x->ndim, sh, 1, &x);
    if (t) {
        t->attr.axis.axis = a;
        t->attr.axis.start = start;
    }
    return t;
}

g_tensor *g_pad(g_tensor *x, int axis, int before, int total)
{
    g_graph *g = g__check_srcs("pad", 1, &x, 0);
    if (!g) return NULL;
    int a = g__norm_axis(g, "pad", axis, x);
    if (a < 0) return NULL;
    if (before < 0 || before > total - x->shape[a]) {
        char bx[64];
        g__fail(g, "pad: x %s does not fit at offset %d in %d along axis %d",
                g_shape_str(x, bx, sizeof bx), before, total, a);
        return NULL;
    }
    int sh[G_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) sh[d] = x->shape[d];
    sh[a] = total;
    g_tensor *t = g__node(g, "pad", G_OP_PAD, x->ndim, sh, 1, &x);
    if (t) {
        t->attr.axis.axis = a;
        t->attr.axis.start = before;
    }
    return t;
}

g_tensor *g_gather_rows(g_tensor *x, g_tensor *idx)
{
    g_tensor *src[2] = {x, idx};
    g_graph *g = g__check_srcs("gather_rows", 2, src, 0);
    if (!g) return NULL;
    char bx[64], bi[64];
    if (x->ndim < 1 || idx->ndim != 1) {
        g__fail(g, "gather_rows: needs x with at least 1 dimension and a 1-d idx: x %s, idx %s",
                g_shape_str(x, bx, sizeof bx), g_shape_str(idx, bi, sizeof bi));
        return NULL;
    }
    int sh[G_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) sh[d] = x->shape[d];
    sh[0] = idx->shape[0];
    return g__node(g, "gather_rows", G_OP_GATHER_ROWS, x->ndim, sh, 2, src);
}

g_tensor *g_scatter_add_rows(g_tensor *x, g_tensor *idx, int rows)
{
    g_tensor *src[2] = {x, idx};
    g_graph *g = g__check_srcs("scatter_add_rows", 2, src, 0);
    if (!g) return NULL;
    char bx[64], bi[64];
    if (x->ndim < 1 || idx->ndim != 1 || idx->shape[0] != x->shape[0] || rows < 1) {
        g__fail(g, "scatter_add_rows: needs a 1-d idx with one entry per row of x and rows >= 1:"
                " x %s, idx %s, rows %d",
                g_shape_str(x, bx, sizeof bx), g_shape_str(idx, bi, sizeof bi), rows);
        return NULL;
    }
    int sh[G_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) sh[d] = x->shape[d];
    sh[0] = rows;
    g_tensor *t = g__node(g, "scatter_add_rows", G_OP_SCATTER_ADD_ROWS, x->ndim, sh, 2, src);
    if (t) t->attr.rows = rows;
    return t;
}

/* ---- maxima, classification ------------------------------------------------ */

/* A MAX or ARGMAX node along axis a: x's shape with 1 there. */
static g_tensor *max_axis(const char *what, g_op op, g_tensor *x, int axis, int keepdim)
{
    g_graph *g = g__check_srcs(what, 1, &x, 0);
    if (!g) return NULL;
    int a = g__norm_axis(g, what, axis, x);
    if (a < 0) return NULL;
    int keep[G_MAX_DIMS], drop[G_MAX_DIMS], nd = reduced_shapes(x, a, keep, drop);
    g_tensor *t = g__node(g, what, op, x->ndim, keep, 1, &x);
    if (!t) return NULL;
    t->attr.axis.axis = a;
    return keepdim ? t : g_reshape(t, nd, drop);
}

g_tensor *g_max(g_tensor *x, int axis, int keepdim) { return max_axis("max", G_OP_MAX, x, axis, keepdim); }
g_tensor *g_argmax(g_tensor *x, int axis, int keepdim) { return max_axis("argmax", G_OP_ARGMAX, x, axis, keepdim); }

g_tensor *g_stop_gradient(g_tensor *x) { return unary(G_OP_STOP_GRADIENT, x, 0); }

g_tensor *g__one_hot(g_tensor *idx, int axis, int k)
{
    g_graph *g = g__check_srcs("one_hot", 1, &idx, 0);
    if (!g) return NULL;
    char b[64];
    if (axis < 0 || axis >= idx->ndim || idx->shape[axis] != 1 || k < 1) {
        g__fail(g, "one_hot: needs k >= 1 and indices with 1 along axis %d: k %d, indices %s", axis, k,
                g_shape_str(idx, b, sizeof b));
        return NULL;
    }
    int sh[G_MAX_DIMS];
    for (int d = 0; d < idx->ndim; d++) sh[d] = d == axis ? k : idx->shape[d];
    g_tensor *t = g__node(g, "one_hot", G_OP_ONE_HOT, idx->ndim, sh, 1, &idx);
    if (t) t->attr.axis.axis = axis;
    return t;
}

g_tensor *g_one_hot(g_tensor *labels, int k)
{
    g_graph *g = g__check_srcs("one_hot", 1, &labels, 0);
    if (!g) return NULL;
    if (labels->ndim != 1 || k < 1) {
        char b[64];
        g__fail(g, "one_hot: needs 1-d labels [N] and k >= 1: labels %s, k %d", g_shape_str(labels, b, sizeof b), k);
        return NULL;
    }
    return g__one_hot(g_reshape(labels, 2, G_SHAPE(labels->shape[0], 1)), 1, k);
}

g_tensor *g_log_softmax(g_tensor *x, int axis)
{
    g_graph *g = g__check_srcs("log_softmax", 1, &x, 0);
    if (!g) return NULL;
    int a = g__norm_axis(g, "log_softmax", axis, x);
    if (a < 0) return NULL;
    /* the value does not depend on the shift, so it carries no gradient */
    g_tensor *z = g_sub(x, g_stop_gradient(g_max(x, a, 1)));
    return g_sub(z, g_log(g_sum(g_exp(z), a, 1)));
}

g_tensor *g_cross_entropy(g_tensor *logits, g_tensor *labels)
{
    g_tensor *src[2] = {logits, labels};
    g_graph *g = g__check_srcs("cross_entropy", 2, src, 0);
    if (!g) return NULL;
    if (logits->ndim != 2 || labels->ndim != 1 || labels->shape[0] != logits->shape[0]) {
        char bl[64], bb[64];
        g__fail(g, "cross_entropy: needs logits [N, K] and labels [N]: logits %s, labels %s",
                g_shape_str(logits, bl, sizeof bl), g_shape_str(labels, bb, sizeof bb));
        return NULL;
    }
    g_tensor *picked = g_mul(g_one_hot(labels, logits->shape[1]), g_log_softmax(logits, 1));
    return g_scale(g_sum_all(picked), (float)(-1.0 / logits->shape[0]));
}
