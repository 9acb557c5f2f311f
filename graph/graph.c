/* graph.c: the graph container, errors kept in the graph, node creation
 * and the small queries of graph.h. */
#include "graph_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The first error sticks: later ones are consequences of it. */
static void vfail(g_graph *g, const char *fmt, va_list ap)
{
    if (!g || g->has_err) return;
    vsnprintf(g->err, sizeof g->err, fmt, ap);
    g->has_err = 1;
}

void g__fail(g_graph *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(g, fmt, ap);
    va_end(ap);
}

void g_graph_fail(g_graph *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(g, fmt, ap);
    va_end(ap);
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

int g_is_leaf(const g_tensor *t) { return t && g_op_info_of(t->op)->kind == G_KIND_LEAF; }

int g_is_effect(const g_tensor *t) { return t && g_op_info_of(t->op)->kind == G_KIND_EFFECT; }

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
    return t && t->op == G_OP_STATE && (t->flags & G_FLAG_RNG) && t->ndim == 1 && t->shape[0] == 1;
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
int g__check_shape(g_graph *g, const char *what, int ndim, const int *shape)
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
int g__norm_axis(g_graph *g, const char *what, int axis, const g_tensor *x)
{
    char b[64];
    int a = axis < 0 ? axis + x->ndim : axis;
    if (a < 0 || a >= x->ndim) {
        g__fail(g, "%s: axis %d out of range for x %s", what, axis, g_shape_str(x, b, sizeof b));
        return -1;
    }
    return a;
}

/* ---- dump ---------------------------------------------------------------- */

static void dump_attrs(const g_tensor *t, FILE *f)
{
    const g_attr *a = &t->attr;
    switch (t->op) {
    case G_OP_CONST: case G_OP_SCALE: case G_OP_ADD_SCALAR: case G_OP_LEAKY_RELU:
        fprintf(f, " %.9g", (double)a->scalar);
        break;
    case G_OP_MATMUL: fprintf(f, " ta=%d tb=%d", a->matmul.transpose_a, a->matmul.transpose_b); break;
    case G_OP_CONV2D: case G_OP_CONV_TRANSPOSE2D: case G_OP_CONV2D_WGRAD: case G_OP_MAX_POOL2D:
    case G_OP_MAX_POOL2D_GRAD:
        fprintf(f, " stride=%d pad=%d out_pad=%d k=%dx%d", a->conv.stride, a->conv.pad, a->conv.out_pad, a->conv.kh,
                a->conv.kw);
        break;
    case G_OP_MAX: case G_OP_ARGMAX: case G_OP_ONE_HOT: fprintf(f, " axis=%d", a->axis.axis); break;
    case G_OP_CONCAT: case G_OP_SLICE: case G_OP_PAD: fprintf(f, " axis=%d start=%d", a->axis.axis, a->axis.start); break;
    case G_OP_PERMUTE:
        fprintf(f, " perm=");
        for (int d = 0; d < t->ndim; d++) fprintf(f, "%s%d", d ? "," : "", a->permute.perm[d]);
        break;
    case G_OP_SCATTER_ADD_ROWS: fprintf(f, " rows=%d", a->rows); break;
    case G_OP_RAND_UNIFORM: case G_OP_RAND_NORMAL: case G_OP_RAND_INT: case G_OP_SHUFFLE:
        fprintf(f, " seed=%llu stream=%d n=%d whole_rows=%d inverse=%d", (unsigned long long)a->rand.seed,
                a->rand.stream, a->rand.n, a->rand.whole_rows, a->rand.inverse);
        break;
    case G_OP_ADAM: case G_OP_SGD:
        fprintf(f, " lr=%g b1=%g b2=%g eps=%g", (double)a->optim.lr, (double)a->optim.beta1, (double)a->optim.beta2,
                (double)a->optim.eps);
        if (a->optim.decay_steps > 0)
            fprintf(f, " decay_steps=%g lr_final=%g", (double)a->optim.decay_steps, (double)a->optim.lr_final);
        break;
    default: break;
    }
}

void g_dump(const g_graph *g, g_tensor *const *roots, int n, FILE *f)
{
    if (!g || !f || g->n == 0) return;
    unsigned char *need = calloc((size_t)g->n, 1);
    if (!need) return;
    int top = -1;
    for (int i = 0; i < n; i++)
        if (roots[i] && roots[i]->graph == g) {
            need[roots[i]->id] = 1;
            if (roots[i]->id > top) top = roots[i]->id;
        }
    for (int id = top; id >= 0; id--)
        if (need[id])
            for (int k = 0; k < g->nodes[id]->nsrc; k++) need[g->nodes[id]->src[k]->id] = 1;
    for (int id = 0; id <= top; id++) {
        if (!need[id]) continue;
        const g_tensor *t = g->nodes[id];
        char b[64];
        fprintf(f, "n%d = %s(", id, g_op_name(t->op));
        for (int k = 0; k < t->nsrc; k++) fprintf(f, "%sn%d", k ? ", " : "", t->src[k]->id);
        fprintf(f, ")");
        if (g_is_leaf(t))
            fprintf(f, " '%s'%s", t->name, t->flags & G_FLAG_RNG ? " generator" : g_is_u8(t) ? " u8" : "");
        dump_attrs(t, f);
        if (!g_is_effect(t)) fprintf(f, " %s", g_shape_str(t, b, sizeof b));
        fprintf(f, "\n");
    }
    free(need);
}
