/* build.c: the graph container, leaves and every builder of graph.h, with
 * the shape checks. Builders only append nodes; nothing is computed here. */
#include "graph_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[G_OP_COUNT] = {
    [G_OP_INPUT] = "input", [G_OP_PARAM] = "param", [G_OP_STATE] = "state",
    [G_OP_CONST] = "const", [G_OP_NEG] = "neg", [G_OP_SCALE] = "scale",
    [G_OP_ADD_SCALAR] = "add_scalar", [G_OP_EXP] = "exp", [G_OP_LOG] = "log",
    [G_OP_SQRT] = "sqrt", [G_OP_SQUARE] = "square", [G_OP_ABS] = "abs",
    [G_OP_RELU] = "relu", [G_OP_LEAKY_RELU] = "leaky_relu", [G_OP_TANH] = "tanh",
    [G_OP_SIGMOID] = "sigmoid", [G_OP_SOFTPLUS] = "softplus",
    [G_OP_LOG_SIGMOID] = "log_sigmoid", [G_OP_ADD] = "add", [G_OP_SUB] = "sub",
    [G_OP_MUL] = "mul", [G_OP_DIV] = "div", [G_OP_GT] = "gt", [G_OP_GE] = "ge",
    [G_OP_LT] = "lt", [G_OP_LE] = "le", [G_OP_EQ] = "eq", [G_OP_SELECT] = "select",
    [G_OP_EXPAND] = "expand", [G_OP_SUM_TO] = "sum_to", [G_OP_RESHAPE] = "reshape",
    [G_OP_PERMUTE] = "permute", [G_OP_CONCAT] = "concat", [G_OP_SLICE] = "slice",
    [G_OP_PAD] = "pad", [G_OP_GATHER_ROWS] = "gather_rows",
    [G_OP_SCATTER_ADD_ROWS] = "scatter_add_rows", [G_OP_MATMUL] = "matmul",
    [G_OP_CONV2D] = "conv2d", [G_OP_CONV_TRANSPOSE2D] = "conv_transpose2d",
    [G_OP_CONV2D_WGRAD] = "conv2d_wgrad", [G_OP_RAND_UNIFORM] = "rand_uniform",
    [G_OP_RAND_NORMAL] = "rand_normal", [G_OP_RAND_INT] = "rand_int",
    [G_OP_SHUFFLE] = "shuffle", [G_OP_ASSIGN] = "assign", [G_OP_ADAM] = "adam",
    [G_OP_SGD] = "sgd", [G_OP_GROUP] = "group",
};

const char *g_op_name(g_op op)
{
    if ((int)op < 0 || op >= G_OP_COUNT || !op_names[op]) return "unknown";
    return op_names[op];
}

/* ---- container and errors ---------------------------------------------- */

g_graph *g_graph_new(void) { return calloc(1, sizeof(g_graph)); }

void g_graph_free(g_graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->n; i++) {
        free(g->nodes[i]->src);
        free(g->nodes[i]);
    }
    free(g->nodes);
    free(g->leaves);
    free(g);
}

const char *g_graph_error(const g_graph *g)
{
    if (!g) return "no graph (out of memory?)";
    return g->has_err ? g->err : NULL;
}

void g__fail(g_graph *g, const char *fmt, ...)
{
    if (!g || g->has_err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, sizeof g->err, fmt, ap);
    va_end(ap);
    g->has_err = 1;
}

int g_graph_size(const g_graph *g) { return g ? g->n : 0; }

g_tensor *g_graph_node(const g_graph *g, int id)
{
    if (!g || id < 0 || id >= g->n) return NULL;
    return g->nodes[id];
}

g_tensor *g_graph_find(const g_graph *g, const char *leaf_name)
{
    if (!g || !leaf_name) return NULL;
    for (int i = 0; i < g->nleaves; i++) {
        g_tensor *t = g->nodes[g->leaves[i]];
        if (strcmp(t->name, leaf_name) == 0) return t;
    }
    return NULL;
}

/* ---- small queries ------------------------------------------------------ */

int g_is_leaf(const g_tensor *t)
{
    return t && (t->op == G_OP_INPUT || t->op == G_OP_PARAM || t->op == G_OP_STATE);
}

int g_is_effect(const g_tensor *t)
{
    return t && (t->op == G_OP_ASSIGN || t->op == G_OP_ADAM || t->op == G_OP_SGD ||
                 t->op == G_OP_GROUP);
}

size_t g_numel(const g_tensor *t)
{
    if (!t || g_is_effect(t)) return 0;   /* effects have no value */
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
    return n;
}

int g_same_shape(const g_tensor *a, const g_tensor *b)
{
    if (!a || !b || a->ndim != b->ndim) return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return 0;
    return 1;
}

char *g__shape_str(int ndim, const int *shape, char *buf, size_t n)
{
    if (!buf || n == 0) return buf;
    size_t k = 0;
    buf[0] = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int d = 0; d < ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, d ? ", %d" : "%d", shape[d]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

char *g_shape_str(const g_tensor *t, char *buf, size_t n)
{
    if (!t) {
        if (buf && n) snprintf(buf, n, "(null)");
        return buf;
    }
    return g__shape_str(t->ndim, t->shape, buf, n);
}

int g__is_rng(const g_tensor *t)
{
    return t && t->op == G_OP_STATE && t->i[0] == 1 && t->ndim == 1 && t->shape[0] == 1;
}

/* ---- node creation ----------------------------------------------------- */

g_graph *g__check_srcs(const char *what, int n, g_tensor *const *src, int allow_effects)
{
    for (int k = 0; k < n; k++)
        if (!src[k]) return NULL;
    if (n == 0) return NULL;
    g_graph *g = src[0]->graph;
    for (int k = 1; k < n; k++) {
        if (src[k]->graph != g) {
            g__fail(g, "%s: operands belong to different graphs (operand %d)", what, k);
            return NULL;
        }
    }
    if (!allow_effects) {
        for (int k = 0; k < n; k++) {
            if (g_is_effect(src[k])) {
                g__fail(g, "%s: operand %d is an effect (%s) and has no value", what, k,
                        g_op_name(src[k]->op));
                return NULL;
            }
        }
    }
    return g;
}

g_tensor *g__node(g_graph *g, const char *what, g_op op, int ndim, const int *shape, int nsrc,
                  g_tensor *const *src)
{
    if (g->n == g->cap) {
        int cap = g->cap ? 2 * g->cap : 64;
        g_tensor **nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) goto oom;
        g->nodes = nodes;
        g->cap = cap;
    }
    g_tensor *t = calloc(1, sizeof *t);
    if (!t) goto oom;
    if (nsrc > 0) {
        t->src = malloc((size_t)nsrc * sizeof *t->src);
        if (!t->src) {
            free(t);
            goto oom;
        }
        memcpy(t->src, src, (size_t)nsrc * sizeof *t->src);
    }
    t->id = g->n;
    t->op = op;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    t->nsrc = nsrc;
    t->graph = g;
    g->nodes[g->n++] = t;
    return t;
oom:
    g__fail(g, "%s: out of memory", what);
    return NULL;
}

/* 0 when ndim/shape is a valid tensor shape, else -1 with an error. */
static int check_shape(g_graph *g, const char *what, int ndim, const int *shape)
{
    char b[64];
    if (ndim < 0 || ndim > G_MAX_DIMS) {
        g__fail(g, "%s: %d dimensions (0 to %d allowed)", what, ndim, G_MAX_DIMS);
        return -1;
    }
    if (ndim > 0 && !shape) {
        g__fail(g, "%s: shape missing for %d dimensions", what, ndim);
        return -1;
    }
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 1) {
            g__fail(g, "%s: dimension %d of %s is not positive", what, d,
                    g__shape_str(ndim, shape, b, sizeof b));
            return -1;
        }
    }
    return 0;
}

/* Normalises a possibly negative axis for an ndim tensor; -1 with an error. */
static int norm_axis(g_graph *g, const char *what, int axis, const g_tensor *x)
{
    char b[64];
    int a = axis < 0 ? axis + x->ndim : axis;
    if (a < 0 || a >= x->ndim) {
        g__fail(g, "%s: axis %d out of range for x %s", what, axis, g_shape_str(x, b, sizeof b));
        return -1;
    }
    return a;
}

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
    if (check_shape(g, what, ndim, shape)) return NULL;
    if (op != G_OP_INPUT && check_init(g, what, name, init)) return NULL;
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
    if (check_shape(g, "const", ndim, shape)) return NULL;
    g_tensor *t = g__node(g, "const", G_OP_CONST, ndim, shape, 0, NULL);
    if (t) t->f[0] = value;
    return t;
}

g_tensor *g_scalar(g_graph *g, float value) { return g_const(g, value, 0, NULL); }

/* ---- elementwise --------------------------------------------------------- */

static g_tensor *unary(g_op op, g_tensor *x, float f0)
{
    g_graph *g = g__check_srcs(g_op_name(op), 1, &x, 0);
    if (!g) return NULL;
    g_tensor *t = g__node(g, g_op_name(op), op, x->ndim, x->shape, 1, &x);
    if (t) t->f[0] = f0;
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
    if (check_shape(g, "expand", ndim, shape)) return NULL;
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
    if (check_shape(g, "sum_to", ndim, shape)) return NULL;
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

static g_tensor *sum_axis(const char *what, g_tensor *x, int axis, int keepdim, int mean)
{
    g_graph *g = g__check_srcs(what, 1, &x, 0);
    if (!g) return NULL;
    int a = norm_axis(g, what, axis, x);
    if (a < 0) return NULL;
    int keep[G_MAX_DIMS], drop[G_MAX_DIMS], nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        keep[d] = d == a ? 1 : x->shape[d];
        if (d != a) drop[nd++] = x->shape[d];
    }
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
    if (check_shape(g, "reshape", ndim, shape)) return NULL;
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
        for (int d = 0; d < x->ndim; d++) t->i[d] = perm[d];
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
    int a = norm_axis(g, "concat", axis, xs[0]);
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
    if (t) t->i[0] = a;
    return t;
}

g_tensor *g_slice(g_tensor *x, int axis, int start, int len)
{
    g_graph *g = g__check_srcs("slice", 1, &x, 0);
    if (!g) return NULL;
    int a = norm_axis(g, "slice", axis, x);
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
        t->i[0] = a;
        t->i[1] = start;
    }
    return t;
}

g_tensor *g_pad(g_tensor *x, int axis, int before, int total)
{
    g_graph *g = g__check_srcs("pad", 1, &x, 0);
    if (!g) return NULL;
    int a = norm_axis(g, "pad", axis, x);
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
        t->i[0] = a;
        t->i[1] = before;
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
    if (t) t->i[0] = rows;
    return t;
}

/* ---- linear algebra and convolution ----------------------------------- */

g_tensor *g_matmul(g_tensor *a, g_tensor *b, int transpose_a, int transpose_b)
{
    g_tensor *src[2] = {a, b};
    g_graph *g = g__check_srcs("matmul", 2, src, 0);
    if (!g) return NULL;
    char ba[64], bb[64];
    int ta = transpose_a != 0, tb = transpose_b != 0;
    if (a->ndim != 2 || b->ndim != 2) {
        g__fail(g, "matmul: operands must be 2-d: a %s vs b %s", g_shape_str(a, ba, sizeof ba),
                g_shape_str(b, bb, sizeof bb));
        return NULL;
    }
    int m = a->shape[ta], ka = a->shape[1 - ta], kb = b->shape[tb], n = b->shape[1 - tb];
    if (ka != kb) {
        g__fail(g, "matmul: inner dimensions differ: a %s (transposed %d) vs b %s (transposed %d)",
                g_shape_str(a, ba, sizeof ba), ta, g_shape_str(b, bb, sizeof bb), tb);
        return NULL;
    }
    int sh[2] = {m, n};
    g_tensor *t = g__node(g, "matmul", G_OP_MATMUL, 2, sh, 2, src);
    if (t) {
        t->i[0] = ta;
        t->i[1] = tb;
    }
    return t;
}

g_tensor *g_conv2d(g_tensor *x, g_tensor *w, int stride, int pad)
{
    g_tensor *src[2] = {x, w};
    g_graph *g = g__check_srcs("conv2d", 2, src, 0);
    if (!g) return NULL;
    char bx[64], bw[64];
    g_shape_str(x, bx, sizeof bx);
    g_shape_str(w, bw, sizeof bw);
    if (x->ndim != 4 || w->ndim != 4) {
        g__fail(g, "conv2d: x [N,C,H,W] and w [O,C,KH,KW] must be 4-d: x %s, w %s", bx, bw);
        return NULL;
    }
    if (x->shape[1] != w->shape[1]) {
        g__fail(g, "conv2d: channels differ: x %s has %d, w %s expects %d", bx, x->shape[1], bw,
                w->shape[1]);
        return NULL;
    }
    if (stride < 1 || pad < 0) {
        g__fail(g, "conv2d: stride %d must be >= 1 and pad %d >= 0 (x %s, w %s)", stride, pad, bx, bw);
        return NULL;
    }
    int hp = x->shape[2] + 2 * pad, wp = x->shape[3] + 2 * pad;
    if (hp < w->shape[2] || wp < w->shape[3]) {
        g__fail(g, "conv2d: kernel larger than the padded input: x %s pad %d, w %s", bx, pad, bw);
        return NULL;
    }
    int sh[4] = {x->shape[0], w->shape[0], (hp - w->shape[2]) / stride + 1,
                 (wp - w->shape[3]) / stride + 1};
    g_tensor *t = g__node(g, "conv2d", G_OP_CONV2D, 4, sh, 2, src);
    if (t) {
        t->i[0] = stride;
        t->i[1] = pad;
    }
    return t;
}

g_tensor *g_conv_transpose2d(g_tensor *x, g_tensor *w, int stride, int pad, int out_pad)
{
    g_tensor *src[2] = {x, w};
    g_graph *g = g__check_srcs("conv_transpose2d", 2, src, 0);
    if (!g) return NULL;
    char bx[64], bw[64];
    g_shape_str(x, bx, sizeof bx);
    g_shape_str(w, bw, sizeof bw);
    if (x->ndim != 4 || w->ndim != 4) {
        g__fail(g, "conv_transpose2d: x [N,C,H,W] and w [C,O,KH,KW] must be 4-d: x %s, w %s", bx, bw);
        return NULL;
    }
    if (x->shape[1] != w->shape[0]) {
        g__fail(g, "conv_transpose2d: channels differ: x %s has %d, w %s expects %d", bx,
                x->shape[1], bw, w->shape[0]);
        return NULL;
    }
    if (stride < 1 || pad < 0 || out_pad < 0 || out_pad >= stride) {
        g__fail(g, "conv_transpose2d: needs stride >= 1, pad >= 0 and 0 <= output padding < stride;"
                " got stride %d pad %d output padding %d (x %s, w %s)", stride, pad, out_pad, bx, bw);
        return NULL;
    }
    int ho = (x->shape[2] - 1) * stride - 2 * pad + w->shape[2] + out_pad;
    int wo = (x->shape[3] - 1) * stride - 2 * pad + w->shape[3] + out_pad;
    if (ho < 1 || wo < 1) {
        g__fail(g, "conv_transpose2d: empty output %dx%d: x %s, w %s, stride %d pad %d", ho, wo,
                bx, bw, stride, pad);
        return NULL;
    }
    int sh[4] = {x->shape[0], w->shape[1], ho, wo};
    g_tensor *t = g__node(g, "conv_transpose2d", G_OP_CONV_TRANSPOSE2D, 4, sh, 2, src);
    if (t) {
        t->i[0] = stride;
        t->i[1] = pad;
        t->i[2] = out_pad;
    }
    return t;
}

g_tensor *g_conv2d_wgrad(g_tensor *xr, g_tensor *gr, int kh, int kw, int stride, int pad)
{
    g_tensor *src[2] = {xr, gr};
    g_graph *g = g__check_srcs("conv2d_wgrad", 2, src, 0);
    if (!g) return NULL;
    char bx[64], bg[64];
    g_shape_str(xr, bx, sizeof bx);
    g_shape_str(gr, bg, sizeof bg);
    if (xr->ndim != 4 || gr->ndim != 4 || xr->shape[0] != gr->shape[0]) {
        g__fail(g, "conv2d_wgrad: xr [N,B,H,W] and gr [N,A,Ho,Wo] must be 4-d with the same N:"
                " xr %s, gr %s", bx, bg);
        return NULL;
    }
    if (kh < 1 || kw < 1 || stride < 1 || pad < 0 || xr->shape[2] + 2 * pad < kh ||
        xr->shape[3] + 2 * pad < kw) {
        g__fail(g, "conv2d_wgrad: bad kernel %dx%d, stride %d or pad %d for xr %s", kh, kw,
                stride, pad, bx);
        return NULL;
    }
    /* gr must be the conv2d output of xr: the adjoints rely on it */
    int ho = (xr->shape[2] + 2 * pad - kh) / stride + 1;
    int wo = (xr->shape[3] + 2 * pad - kw) / stride + 1;
    if (gr->shape[2] != ho || gr->shape[3] != wo) {
        g__fail(g, "conv2d_wgrad: gr %s spatial size %dx%d is not the conv2d output %dx%d of xr %s"
                " (kernel %dx%d stride %d pad %d)", bg, gr->shape[2], gr->shape[3], ho, wo, bx,
                kh, kw, stride, pad);
        return NULL;
    }
    int sh[4] = {gr->shape[1], xr->shape[1], kh, kw};
    g_tensor *t = g__node(g, "conv2d_wgrad", G_OP_CONV2D_WGRAD, 4, sh, 2, src);
    if (t) {
        t->i[0] = stride;
        t->i[1] = pad;
        t->i[2] = kh;
        t->i[3] = kw;
    }
    return t;
}

g_tensor *g_batchnorm_train(g_tensor *x, g_tensor *gamma, g_tensor *beta, float eps)
{
    g_tensor *src[3] = {x, gamma, beta};
    g_graph *g = g__check_srcs("batchnorm_train", 3, src, 0);
    if (!g) return NULL;
    char bx[64], bg[64], bb[64];
    if ((x->ndim != 2 && x->ndim != 4) || gamma->ndim != 1 || beta->ndim != 1 ||
        gamma->shape[0] != x->shape[1] || beta->shape[0] != x->shape[1]) {
        g__fail(g, "batchnorm_train: needs x [N,C] or [N,C,H,W] and gamma, beta [C]:"
                " x %s, gamma %s, beta %s", g_shape_str(x, bx, sizeof bx),
                g_shape_str(gamma, bg, sizeof bg), g_shape_str(beta, bb, sizeof bb));
        return NULL;
    }
    int st[4] = {1, x->shape[1], 1, 1};
    double count = (double)g_numel(x) / x->shape[1];
    float inv_n = (float)(1.0 / count);
    g_tensor *mean = g_scale(g_sum_to(x, x->ndim, st), inv_n);
    g_tensor *xc = g_sub(x, mean);
    g_tensor *var = g_scale(g_sum_to(g_square(xc), x->ndim, st), inv_n);
    g_tensor *inv = g_div(g_scalar(g, 1.0f), g_sqrt(g_add_scalar(var, eps)));
    g_tensor *y = g_mul(xc, inv);
    y = g_mul(y, g_reshape(gamma, x->ndim, st));
    return g_add(y, g_reshape(beta, x->ndim, st));
}

/* ---- random numbers --------------------------------------------------- */

g_tensor *g_rng(g_graph *g, const char *name, uint64_t seed)
{
    int one = 1;
    g_tensor *t = g_state(g, name, 1, &one, g_init_zeros());
    if (t) {
        t->seed = seed;
        t->i[0] = 1;   /* marks a generator (see g__is_rng) */
    }
    return t;
}

static int check_rng(g_graph *g, const char *what, const g_tensor *rng)
{
    if (g__is_rng(rng)) return 0;
    char b[64];
    g__fail(g, "%s: rng argument is not a generator made by g_rng: %s '%s' %s", what,
            g_op_name(rng->op), rng->name, g_shape_str(rng, b, sizeof b));
    return -1;
}

static g_tensor *rand_op(const char *what, g_op op, g_tensor *rng, int ndim, const int *shape)
{
    g_graph *g = g__check_srcs(what, 1, &rng, 0);
    if (!g) return NULL;
    if (check_rng(g, what, rng) || check_shape(g, what, ndim, shape)) return NULL;
    g_tensor *t = g__node(g, what, op, ndim, shape, 1, &rng);
    if (t) {
        t->seed = rng->seed;
        t->stream = t->id;
    }
    return t;
}

g_tensor *g_rand_uniform(g_tensor *rng, int ndim, const int *shape)
{
    return rand_op("rand_uniform", G_OP_RAND_UNIFORM, rng, ndim, shape);
}

g_tensor *g_rand_normal(g_tensor *rng, int ndim, const int *shape)
{
    return rand_op("rand_normal", G_OP_RAND_NORMAL, rng, ndim, shape);
}

g_tensor *g_rand_int(g_tensor *rng, int n, int ndim, const int *shape)
{
    if (rng && n < 1) {
        g__fail(rng->graph, "rand_int: n must be >= 1, got %d", n);
        return NULL;
    }
    g_tensor *t = rand_op("rand_int", G_OP_RAND_INT, rng, ndim, shape);
    if (t) t->i[0] = n;
    return t;
}

g_tensor *g_shuffle(g_tensor *rng, g_tensor *x, int whole_rows)
{
    g_tensor *src[2] = {rng, x};
    g_graph *g = g__check_srcs("shuffle", 2, src, 0);
    if (!g) return NULL;
    if (check_rng(g, "shuffle", rng)) return NULL;
    if (x->ndim != 2) {
        char b[64];
        g__fail(g, "shuffle: x must be 2-d [R,C], got %s", g_shape_str(x, b, sizeof b));
        return NULL;
    }
    g_tensor *t = g__node(g, "shuffle", G_OP_SHUFFLE, 2, x->shape, 2, src);
    if (t) {
        t->i[0] = whole_rows != 0;
        t->i[1] = 0;
        t->seed = rng->seed;
        t->stream = t->id;
    }
    return t;
}

g_tensor *g_rng_advance(g_tensor *rng)
{
    if (!rng) return NULL;
    if (check_rng(rng->graph, "rng_advance", rng)) return NULL;
    return g_assign(rng, g_add_scalar(rng, 1.0f));
}

/* ---- effects and optimizers ----------------------------------------- */

g_tensor *g_assign(g_tensor *target, g_tensor *value)
{
    g_tensor *src[2] = {target, value};
    g_graph *g = g__check_srcs("assign", 2, src, 0);
    if (!g) return NULL;
    char bt[64], bv[64];
    if (!g_is_leaf(target)) {
        g__fail(g, "assign: target must be a leaf (input, param or state), got %s %s",
                g_op_name(target->op), g_shape_str(target, bt, sizeof bt));
        return NULL;
    }
    if (!g_same_shape(target, value)) {
        g__fail(g, "assign: shapes differ: target '%s' %s vs value %s", target->name,
                g_shape_str(target, bt, sizeof bt), g_shape_str(value, bv, sizeof bv));
        return NULL;
    }
    return g__node(g, "assign", G_OP_ASSIGN, 0, NULL, 2, src);
}

g_tensor *g_group(g_graph *g, g_tensor **deps, int n)
{
    if (!g) return NULL;
    if (n < 1 || !deps) {
        g__fail(g, "group: needs at least one dependency (got %d)", n);
        return NULL;
    }
    g_graph *gs = g__check_srcs("group", n, deps, 1);
    if (!gs) return NULL;
    if (gs != g) {
        g__fail(g, "group: dependencies belong to a different graph");
        return NULL;
    }
    return g__node(g, "group", G_OP_GROUP, 0, NULL, n, deps);
}

/* Checks that params[k] are param leaves of g and grads[k] have their shapes;
 * -1 (silently when an entry is NULL) otherwise. */
static int check_updates(const char *what, g_graph *g, g_tensor **params, g_tensor **grads, int n)
{
    if (n < 1 || !params || !grads) {
        g__fail(g, "%s: needs at least one parameter (got %d)", what, n);
        return -1;
    }
    for (int k = 0; k < n; k++) {
        g_tensor *pg[2] = {params[k], grads[k]};
        g_graph *gk = g__check_srcs(what, 2, pg, 0);
        if (!gk) return -1;
        if (gk != g) {
            g__fail(g, "%s: parameter %d belongs to a different graph", what, k);
            return -1;
        }
        char bp[64], bg[64];
        if (params[k]->op != G_OP_PARAM) {
            g__fail(g, "%s: entry %d is not a param leaf but %s %s", what, k,
                    g_op_name(params[k]->op), g_shape_str(params[k], bp, sizeof bp));
            return -1;
        }
        if (!g_same_shape(params[k], grads[k])) {
            g__fail(g, "%s: gradient shape differs for '%s': param %s vs grad %s", what,
                    params[k]->name, g_shape_str(params[k], bp, sizeof bp),
                    g_shape_str(grads[k], bg, sizeof bg));
            return -1;
        }
    }
    return 0;
}

/* A moment or step state of an optimizer: made on the first call with this
 * prefix, found again on later ones (one optimizer, several updates). */
static g_tensor *adam_state(g_graph *g, const char *name, int ndim, const int *shape)
{
    g_tensor *t = g_graph_find(g, name);
    if (!t) return g_state(g, name, ndim, shape, g_init_zeros());
    if (t->op != G_OP_STATE || t->ndim != ndim || memcmp(t->shape, shape, (size_t)ndim * sizeof *shape)) {
        g__fail(g, "adam: '%s' exists and is not a state of the parameter's shape", name);
        return NULL;
    }
    return t;
}

g_tensor *g_adam(g_graph *g, const char *prefix, g_tensor **params, g_tensor **grads, int n,
                 g_adam_opts opts)
{
    if (!g) return NULL;
    if (!prefix || !prefix[0]) {
        g__fail(g, "adam: needs a name prefix for its states");
        return NULL;
    }
    if (check_updates("adam", g, params, grads, n)) return NULL;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (params[a] == params[b]) {
                g__fail(g, "adam: parameter '%s' is given twice", params[a]->name);
                return NULL;
            }
    /* deps[k] first holds m_k, deps[n + k] v_k; then the ADAM nodes, built
     * back to back so a planner can run them as one dispatch */
    g_tensor **deps = calloc(2 * (size_t)n + 1, sizeof *deps);
    if (!deps) {
        g__fail(g, "adam: out of memory");
        return NULL;
    }
    g_tensor *res = NULL;
    char name[2 * G_NAME_MAX];
    int one = 1;
    for (int k = 0; k < 2 * n; k++) {
        g_tensor *p = params[k % n];
        snprintf(name, sizeof name, "%s.%c.%s", prefix, k < n ? 'm' : 'v', p->name);
        if (strlen(name) >= G_NAME_MAX) {
            g__fail(g, "adam: state name '%s' longer than %d characters", name, G_NAME_MAX - 1);
            goto done;
        }
        deps[k] = adam_state(g, name, p->ndim, p->shape);
        if (!deps[k]) goto done;
    }
    snprintf(name, sizeof name, "%s.t", prefix);
    g_tensor *t = adam_state(g, name, 1, &one);
    g_tensor *t1 = g_add_scalar(t, 1.0f);
    if (!t1) goto done;
    /* the updates read the count before this step (and add one themselves),
     * so they do not wait for t1 */
    for (int k = 0; k < n; k++) {
        g_tensor *src[5] = {params[k], grads[k], deps[k], deps[n + k], t};
        deps[k] = g__node(g, "adam", G_OP_ADAM, 0, NULL, 5, src);
        if (!deps[k]) goto done;
        deps[k]->f[0] = opts.lr;
        deps[k]->f[1] = opts.beta1;
        deps[k]->f[2] = opts.beta2;
        deps[k]->f[3] = opts.eps;
    }
    deps[n] = g_assign(t, t1);   /* after the updates, which read t */
    if (deps[n]) res = g_group(g, deps, n + 1);
done:
    free(deps);
    return res;
}

g_tensor *g_sgd(g_graph *g, g_tensor **params, g_tensor **grads, int n, float lr)
{
    if (!g) return NULL;
    if (check_updates("sgd", g, params, grads, n)) return NULL;
    g_tensor **deps = calloc((size_t)n, sizeof *deps);
    if (!deps) {
        g__fail(g, "sgd: out of memory");
        return NULL;
    }
    g_tensor *res = NULL;
    for (int k = 0; k < n; k++) {
        g_tensor *src[2] = {params[k], grads[k]};
        deps[k] = g__node(g, "sgd", G_OP_SGD, 0, NULL, 2, src);
        if (!deps[k]) goto done;
        deps[k]->f[0] = lr;
    }
    res = g_group(g, deps, n);
done:
    free(deps);
    return res;
}
