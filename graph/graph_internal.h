/* graph_internal.h: what the pure-C parts of graph/ share (the graph
 * container, node creation, error recording). Not a public header. */
#ifndef MEG_GRAPH_INTERNAL_H
#define MEG_GRAPH_INTERNAL_H

#include "graph.h"

#define G__ERR_MAX 512

struct g_graph {
    g_tensor **nodes;        /* nodes[id]; each node allocated on its own */
    int n, cap;
    int *leaves;             /* ids of input/param/state leaves, for name lookup */
    int nleaves, leaves_cap;
    int has_err;
    char err[G__ERR_MAX];
};

/* Records msg as the graph's error unless one is already kept. */
void g__fail(g_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Common graph of src[0..n-1]: NULL (silently) when a source is NULL, NULL
 * with an error naming `what` when they belong to different graphs or, unless
 * allow_effects, when one is an effect (effects have no value to read). */
g_graph *g__check_srcs(const char *what, int n, g_tensor *const *src, int allow_effects);

/* Appends a node (sources copied; attributes zero). NULL with an error naming
 * `what` when out of memory. */
g_tensor *g__node(g_graph *g, const char *what, g_op op, int ndim, const int *shape, int nsrc,
                  g_tensor *const *src);

/* 0 when ndim/shape is a valid tensor shape, else -1 with an error naming `what`. */
int g__check_shape(g_graph *g, const char *what, int ndim, const int *shape);
/* A possibly negative axis of x normalised, or -1 with an error. */
int g__norm_axis(g_graph *g, const char *what, int axis, const g_tensor *x);

/* "[2, 3]" for a raw shape. */
char *g__shape_str(int ndim, const int *shape, char *buf, size_t n);

/* one_hot along any axis: idx has 1 there, the result k (g_one_hot's op;
 * the mask of g_max's gradient). */
g_tensor *g__one_hot(g_tensor *idx, int axis, int k);

/* 1 for a generator made by g_rng (a [1] state leaf flagged G_FLAG_RNG). */
int g__is_rng(const g_tensor *t);


#endif
