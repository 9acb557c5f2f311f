/* graph.h: the dataflow-graph IR: ops (declared in ops.def), builders,
 * autodiff, the CPU reference interpreter, initialisers and Philox. Pure C:
 * no Vulkan, no device. Running graphs on a device is graph/exec/exec.h.
 *
 * A graph owns its nodes. Builder functions only append nodes and check
 * shapes; nothing is computed when a graph is built. Node creation order is
 * the program order: it is a valid topological order, and it is also the
 * order in which side effects (assign, optimizer updates) happen. A node that
 * reads a parameter or state buffer sees every write made by effect nodes
 * created before it (within the same run), and none made after it.
 *
 * Errors: the first builder error is kept in the graph (g_graph_error) and
 * the failing builder returns NULL; every builder given a NULL input returns
 * NULL without a new message, so a chain of builder calls can be checked
 * once at the end. Nothing here aborts or exits.
 *
 * Shapes follow numpy: shape[0] is the outermost dimension, the last one is
 * contiguous. 0 to 4 dimensions; a 0-d tensor is a scalar holding one value.
 * All values are fp32 on the device (double in the CPU reference); only an
 * 8-bit input (g_input_u8) is stored otherwise, as bytes, and every op reads
 * it as byte / 255.
 */
#ifndef MEG_GRAPH_H
#define MEG_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define G_MAX_DIMS 4
#define G_NAME_MAX 64

/* A shape literal for the builders: g_input(g, "x", 2, G_SHAPE(256, 2)). */
#define G_SHAPE(...) ((const int[]){__VA_ARGS__})

/* Every op is declared once, in ops.def (name, sources, kind, which sources
 * carry gradients, which leaves an effect writes, whether it fuses). */
#define G_VARIADIC (-1)
#define G_ALL 0xffffffffu

typedef enum g_op {
#define G_OP(id, name, nsrc, kind, diff, writes, fuse) G_OP_##id,
#include "ops.def"
#undef G_OP
    G_OP_COUNT
} g_op;

typedef enum g_op_kind {
    G_KIND_LEAF,         /* input, param, state: a buffer of their own */
    G_KIND_CONST,        /* a value known when the graph is built */
    G_KIND_ELEMENTWISE,  /* out[i] from the sources at i (numpy broadcasting) */
    G_KIND_LAYOUT,       /* out[i] from the sources at remapped indices (max pooling: a window of them) */
    G_KIND_REDUCTION,    /* sums over some axes, maxima along one */
    G_KIND_MATMUL,
    G_KIND_CONVOLUTION,
    G_KIND_RANDOM,       /* draws from a generator (g_rng) */
    G_KIND_EFFECT,       /* writes leaves, has no value */
} g_op_kind;

typedef struct g_op_info {
    const char *name;
    int nsrc;            /* G_VARIADIC: one or more */
    g_op_kind kind;
    uint32_t diff;       /* bit k: source k carries a gradient */
    uint32_t writes;     /* effects: bit k: source k is a leaf the effect writes */
    int fuse;            /* 1: emitted inline in generated kernels */
} g_op_info;

/* The op's row of ops.def; an unknown op gets a row named "unknown". */
const g_op_info *g_op_info_of(g_op op);

/* Typed attributes: each op reads the member its ops.def line names. */
typedef struct g_matmul_attr { int transpose_a, transpose_b; } g_matmul_attr;
typedef struct g_conv_attr { int stride, pad, out_pad, kh, kw; } g_conv_attr;
typedef struct g_axis_attr { int axis, start; } g_axis_attr;
typedef struct g_permute_attr { int perm[G_MAX_DIMS]; } g_permute_attr;
typedef struct g_rand_attr {
    uint64_t seed;       /* the generator's key */
    int stream;          /* the op's stream number (its node id; an adjoint reuses it) */
    int n;               /* rand_int: values 0 .. n-1 */
    int whole_rows;      /* shuffle: 1 permutes whole rows, 0 each column */
    int inverse;         /* shuffle: 1 applies the inverse permutation */
} g_rand_attr;
typedef struct g_optim_attr {
    float lr, beta1, beta2, eps;
    float decay_steps, lr_final;   /* adam: see g_adam_opts */
} g_optim_attr;

typedef union g_attr {
    float scalar;        /* const value; scale and add_scalar constant; leaky_relu slope */
    int rows;            /* scatter_add_rows: rows of the output */
    g_matmul_attr matmul;
    g_conv_attr conv;    /* convolutions; max pooling (kh = kw = stride = k) */
    g_axis_attr axis;    /* concat, max, argmax, one_hot (axis); slice and pad (axis, start) */
    g_permute_attr permute;
    g_rand_attr rand;    /* random ops, shuffle, and a generator's state leaf */
    g_optim_attr optim;  /* adam, sgd */
} g_attr;

enum {
    G_FLAG_RNG = 1u,     /* a state leaf made by g_rng: a generator random ops accept */
    G_FLAG_U8 = 2u,      /* an input made by g_input_u8: bytes, read as byte / 255 */
};

typedef enum g_init_kind {
    G_INIT_ZEROS,
    G_INIT_CONST,      /* every element = a */
    G_INIT_NORMAL,     /* normal(mean, a) */
    G_INIT_UNIFORM,    /* uniform(-a, a) */
    G_INIT_TORCH,      /* PyTorch's default for Linear and Conv weights and biases:
                          uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
} g_init_kind;

typedef struct g_init {
    g_init_kind kind;
    float a;
    int fan_in;        /* G_INIT_TORCH only */
    float mean;        /* G_INIT_NORMAL only (batch-norm scales: N(1, 0.02) in DCGAN-style nets) */
    const struct g_node *like;   /* g_init_like: the leaf whose initial values these are */
} g_init;

typedef struct g_node g_tensor;
typedef struct g_graph g_graph;

struct g_node {
    int id;                    /* index in the graph, = creation order */
    g_op op;
    int ndim;
    int shape[G_MAX_DIMS];
    int nsrc;
    g_tensor **src;            /* owned by the graph */
    g_attr attr;               /* see the op's line in ops.def */
    unsigned flags;            /* G_FLAG_* */
    g_init init;               /* param and state leaves */
    char name[G_NAME_MAX];     /* leaves: unique among leaves; other nodes: may be empty */
    g_graph *graph;
};

/* ---- graph ------------------------------------------------------------ */

g_graph *g_graph_new(void);            /* NULL only when out of memory */
void g_graph_free(g_graph *g);
const char *g_graph_error(const g_graph *g);   /* NULL while no error */
/* Records a message as the graph's error unless one is already kept: for
 * builders outside graph/ (models' layers, data sets) that find a problem
 * of their own. */
void g_graph_fail(g_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int g_graph_size(const g_graph *g);
g_tensor *g_graph_node(const g_graph *g, int id);
g_tensor *g_graph_find(const g_graph *g, const char *leaf_name);

size_t g_numel(const g_tensor *t);   /* 1 for 0-d; 0 for effects, which have no value */
int g_same_shape(const g_tensor *a, const g_tensor *b);
int g_is_leaf(const g_tensor *t);      /* input, param or state */
int g_is_effect(const g_tensor *t);    /* kind G_KIND_EFFECT: assign, adam, sgd, group */
const char *g_op_name(g_op op);
/* "[256, 512]" into buf; returns buf */
char *g_shape_str(const g_tensor *t, char *buf, size_t n);
/* Writes the nodes that roots need, in program order, one per line:
 * "n12 = add(n3, n7) [257, 255]", with each node's attributes and each
 * leaf's name; for bug reports and minimal failing graphs. */
void g_dump(const g_graph *g, g_tensor *const *roots, int n, FILE *f);

/* ---- leaves ----------------------------------------------------------- */

g_tensor *g_input(g_graph *g, const char *name, int ndim, const int *shape);
/* An 8-bit input: stored as one byte per element (a quarter of an fp32
 * input: data sets of image bytes), its value byte / 255 in [0, 1] to every
 * op that reads it. Only the host writes it (g_session_write_u8,
 * g_ref_write_u8): assign refuses it as a target, optimizers as a param. */
g_tensor *g_input_u8(g_graph *g, const char *name, int ndim, const int *shape);
/* 1 for an input made by g_input_u8. */
int g_is_u8(const g_tensor *t);
g_tensor *g_param(g_graph *g, const char *name, int ndim, const int *shape, g_init init);
g_tensor *g_state(g_graph *g, const char *name, int ndim, const int *shape, g_init init);
g_tensor *g_const(g_graph *g, float value, int ndim, const int *shape);
g_tensor *g_scalar(g_graph *g, float value);   /* 0-d constant */

static inline g_init g_init_zeros(void) { g_init i = {G_INIT_ZEROS, 0.0f, 0}; return i; }
static inline g_init g_init_const(float a) { g_init i = {G_INIT_CONST, a, 0}; return i; }
static inline g_init g_init_normal(float s) { g_init i = {G_INIT_NORMAL, s, 0, 0.0f}; return i; }
static inline g_init g_init_normal_mean(float mean, float s) { g_init i = {G_INIT_NORMAL, s, 0, mean}; return i; }
static inline g_init g_init_uniform(float a) { g_init i = {G_INIT_UNIFORM, a, 0}; return i; }
static inline g_init g_init_torch(int fan_in) { g_init i = {G_INIT_TORCH, 0.0f, fan_in}; return i; }
/* The initial values of another param or state leaf of the same shape (its
 * init drawn under its name): a copy that starts equal, as an average of
 * weights does. */
g_init g_init_like(const g_tensor *leaf);

/* Initial values of a param or state leaf, deterministic in (seed, leaf
 * name, or the name of the leaf it is g_init_like): the same on the device
 * session and in the CPU reference. */
int g_init_values(const g_tensor *leaf, uint64_t seed, float *out);

/* ---- elementwise ------------------------------------------------------ */

g_tensor *g_neg(g_tensor *x);
g_tensor *g_scale(g_tensor *x, float c);
g_tensor *g_add_scalar(g_tensor *x, float c);
g_tensor *g_exp(g_tensor *x);
g_tensor *g_log(g_tensor *x);
g_tensor *g_sqrt(g_tensor *x);
g_tensor *g_square(g_tensor *x);
g_tensor *g_abs(g_tensor *x);
g_tensor *g_relu(g_tensor *x);
g_tensor *g_leaky_relu(g_tensor *x, float slope);
g_tensor *g_tanh(g_tensor *x);
g_tensor *g_sigmoid(g_tensor *x);
g_tensor *g_softplus(g_tensor *x);
g_tensor *g_log_sigmoid(g_tensor *x);

/* The activations a layer names: G_ACT_NONE returns x itself. */
typedef enum g_act { G_ACT_NONE, G_ACT_RELU, G_ACT_LEAKY_RELU, G_ACT_TANH, G_ACT_SIGMOID } g_act;
g_tensor *g_activation(g_tensor *x, g_act act, float leaky_slope);

g_tensor *g_add(g_tensor *a, g_tensor *b);
g_tensor *g_sub(g_tensor *a, g_tensor *b);
g_tensor *g_mul(g_tensor *a, g_tensor *b);
g_tensor *g_div(g_tensor *a, g_tensor *b);
g_tensor *g_gt(g_tensor *a, g_tensor *b);
g_tensor *g_ge(g_tensor *a, g_tensor *b);
g_tensor *g_lt(g_tensor *a, g_tensor *b);
g_tensor *g_le(g_tensor *a, g_tensor *b);
g_tensor *g_eq(g_tensor *a, g_tensor *b);
g_tensor *g_select(g_tensor *cond, g_tensor *a, g_tensor *b);

/* ---- shapes, reductions ------------------------------------------------ */

g_tensor *g_expand(g_tensor *x, int ndim, const int *shape);
g_tensor *g_sum_to(g_tensor *x, int ndim, const int *shape);
g_tensor *g_sum(g_tensor *x, int axis, int keepdim);   /* axis < 0 counts from the end */
g_tensor *g_mean(g_tensor *x, int axis, int keepdim);
g_tensor *g_sum_all(g_tensor *x);                      /* 0-d */
g_tensor *g_mean_all(g_tensor *x);                     /* 0-d */
g_tensor *g_reshape(g_tensor *x, int ndim, const int *shape);
g_tensor *g_permute(g_tensor *x, const int *perm);     /* perm has x->ndim entries */
g_tensor *g_transpose(g_tensor *x);                    /* swaps the last two dimensions */
g_tensor *g_concat(g_graph *g, g_tensor **xs, int n, int axis);
g_tensor *g_slice(g_tensor *x, int axis, int start, int len);
g_tensor *g_pad(g_tensor *x, int axis, int before, int total);
g_tensor *g_gather_rows(g_tensor *x, g_tensor *idx);
g_tensor *g_scatter_add_rows(g_tensor *x, g_tensor *idx, int rows);

/* ---- maxima, classification ------------------------------------------
 * Ties go to the first maximum (the lowest index along the axis, the first
 * in row-major order within a pooling window), in the value's gradient too. */
g_tensor *g_max(g_tensor *x, int axis, int keepdim);      /* gradient: gy at the first maximum */
g_tensor *g_argmax(g_tensor *x, int axis, int keepdim);   /* index as a float; no gradient */
g_tensor *g_stop_gradient(g_tensor *x);                   /* x's value; no gradient flows through it */
/* x - max - log(sum(exp(x - max))) along axis, the max a stop_gradient shift */
g_tensor *g_log_softmax(g_tensor *x, int axis);
/* labels [N] of integers as floats -> [N, k]: 1 where the column is
 * trunc(label), else 0 (a label outside 0..k-1 gives a row of zeros); no gradient */
g_tensor *g_one_hot(g_tensor *labels, int k);
/* logits [N, K], labels [N] -> 0-d: the mean over rows of
 * -log_softmax(logits)[label]; a row whose label is outside 0..K-1 adds 0 */
g_tensor *g_cross_entropy(g_tensor *logits, g_tensor *labels);

/* ---- linear algebra, convolution, normalisation ---------------------- */

g_tensor *g_matmul(g_tensor *a, g_tensor *b, int transpose_a, int transpose_b);
g_tensor *g_conv2d(g_tensor *x, g_tensor *w, int stride, int pad);
g_tensor *g_conv_transpose2d(g_tensor *x, g_tensor *w, int stride, int pad, int out_pad);
g_tensor *g_conv2d_wgrad(g_tensor *xr, g_tensor *gr, int kh, int kw, int stride, int pad);
/* x [N,C,H,W] -> [N,C,H/k,W/k] (floor): the maximum of each k x k window,
 * stride k, no padding; rows and columns past the last window are unused */
g_tensor *g_max_pool2d(g_tensor *x, int k);
/* max_pool2d's adjoint: gy [N,C,H/k,W/k] routed to the first maximum of
 * each window of x, zero elsewhere; x's shape. Linear in gy (its gradient),
 * constant in x (none) */
g_tensor *g_max_pool2d_grad(g_tensor *x, g_tensor *gy, int k);
/* Training-mode batch normalisation built from primitive ops: statistics over
 * every axis but axis 1 (x is [N,C] or [N,C,H,W]); gamma and beta are [C]. */
g_tensor *g_batchnorm_train(g_tensor *x, g_tensor *gamma, g_tensor *beta, float eps);

/* ---- random numbers ----------------------------------------------------
 * A generator is a state leaf of shape [1] named `name` whose value is the
 * run counter r (an exact integer in fp32, so up to 2^24 advances). Element j
 * of a random op with stream number s draws Philox4x32-10 with key
 * (k0, k1) = (seed & 0xffffffff, seed >> 32) and counter
 * (c0, c1, c2, c3) = (j, s, r, 0x4d454721), giving words w0..w3:
 *   uniform: u = ((w0 >> 8) + 0.5) * 2^-24
 *   normal:  u1 = ((w0 >> 8) + 0.5) * 2^-24, u2 = (w1 >> 8) * 2^-24,
 *            sqrt(-2 log u1) * cos(2 pi u2)
 *   int n:   min(floor(u * n), n - 1) with u as for uniform
 *   shuffle: the key of element (row, col) of an [R,C] input is w0 of counter
 *            (row * C + col, s, r, 0x4d454721) (columns mode) or of
 *            (row, s, r, 0x4d454721) (rows mode); within a column, rows are
 *            ordered by (key, row); out[rank(row), col] = x[row, col].
 * The stream number of a random op is its node id, so every op draws its own
 * numbers; an op's adjoint (the inverse shuffle) reuses its stream.
 * g_rng_advance must be the last node built that reads the generator before
 * the next run: nodes created after it see the advanced counter. g_rng marks
 * its leaf with G_FLAG_RNG; random ops reject any other tensor. */
g_tensor *g_rng(g_graph *g, const char *name, uint64_t seed);
g_tensor *g_rand_uniform(g_tensor *rng, int ndim, const int *shape);
g_tensor *g_rand_normal(g_tensor *rng, int ndim, const int *shape);
g_tensor *g_rand_int(g_tensor *rng, int n, int ndim, const int *shape);
g_tensor *g_shuffle(g_tensor *rng, g_tensor *x, int whole_rows);
g_tensor *g_rng_advance(g_tensor *rng);                  /* effect: r += 1 */
/* Inverted dropout: x * (u >= p) / (1 - p) with u = g_rand_uniform(rng, x's
 * shape), a new mask on every run after g_rng_advance; p = 0 returns x, p
 * outside [0, 1) is an error. */
g_tensor *g_dropout(g_tensor *rng, g_tensor *x, float p);
/* Bernoulli draws of probabilities p (any shape): 1 where u < p, else 0,
 * with u = g_rand_uniform(rng, p's shape), so P(1) is p within 2^-24 (u's
 * grid); a new draw on every run after g_rng_advance. Built from
 * rand_uniform and lt, neither of which carries a gradient: autodiff stops
 * here (d/dp is zero), as at every random op. */
g_tensor *g_bernoulli(g_tensor *rng, g_tensor *p);

/* ---- effects and optimizers ------------------------------------------- */

g_tensor *g_assign(g_tensor *target, g_tensor *value);   /* target: a leaf */
g_tensor *g_group(g_graph *g, g_tensor **deps, int n);

typedef struct g_adam_opts {
    float lr, beta1, beta2, eps;
    /* decay_steps > 0: the rate of step s (1, 2, ...) is
     * lr * (1 - (1 - lr_final) * min(s / decay_steps, 1)), a linear decay to
     * lr * lr_final at step decay_steps, then constant; s is the step counter
     * state, so a resumed run continues the schedule. 0: lr throughout. */
    float decay_steps, lr_final;
} g_adam_opts;
/* Adam on n parameters with their gradients: creates the moment states
 * "<prefix>.m.<param>", "<prefix>.v.<param>" and the step counter
 * "<prefix>.t" (or reuses them when an earlier call with the same prefix
 * made them: several updates of one optimizer in one graph), and returns one
 * group node that performs the whole update (step counter included).
 * decay_steps < 0, or lr_final outside [0, 1], is an error. */
g_tensor *g_adam(g_graph *g, const char *prefix, g_tensor **params, g_tensor **grads, int n,
                 g_adam_opts opts);
g_tensor *g_sgd(g_graph *g, g_tensor **params, g_tensor **grads, int n, float lr);

/* ---- autodiff ----------------------------------------------------------
 * Appends the backward nodes of scalar y (numel 1) with respect to each of
 * wrt[0..n-1] and stores the gradients in out[]. Gradients are ordinary
 * nodes, so g_grad can be applied again to a graph holding gradient nodes.
 * A wrt tensor that y does not depend on gets a zero constant. Returns 0, or
 * -1 with the graph's error set. */
int g_grad(g_graph *g, g_tensor *y, g_tensor **wrt, int n, g_tensor **out);

/* ---- CPU reference interpreter ----------------------------------------
 * Evaluates graphs in plain C with double values and double accumulation.
 * The oracle for the device kernels and the gradient tests. */
typedef struct g_ref g_ref;
g_ref *g_ref_new(g_graph *g, uint64_t seed);   /* leaves initialised by g_init_values */
void g_ref_free(g_ref *r);
const char *g_ref_error(const g_ref *r);
int g_ref_write(g_ref *r, g_tensor *leaf, const double *values);
int g_ref_write_f(g_ref *r, g_tensor *leaf, const float *values);
/* An 8-bit input's numel bytes (its value byte / 255); g_ref_write and
 * g_ref_write_f refuse such an input, and this any other leaf. */
int g_ref_write_u8(g_ref *r, g_tensor *leaf, const uint8_t *bytes);
/* Evaluates, in program order, every node needed by roots (effects
 * included) and applies the effects to the leaf values. */
int g_ref_run(g_ref *r, g_tensor **roots, int n);
/* on = 1: every value a node computes is rounded to fp32 as the device
 * stores it (sums inside an op stay double). How far such a reference moves
 * from the exact one measures how much fp32 rounding alone moves a value. */
void g_ref_round_to_f32(g_ref *r, int on);
/* The value of a node after the last run (leaves: their current value);
 * NULL if it was not evaluated. */
const double *g_ref_value(const g_ref *r, const g_tensor *t);

/* Philox4x32-10 as specified above (shared by the reference and the tests). */
void g_philox(uint32_t key0, uint32_t key1, const uint32_t ctr[4], uint32_t out[4]);

/* The project's two hashes, for keys and host-side streams:
 * splitmix64's finaliser of x + 0x9E3779B97F4A7C15 (so the stream of a
 * state s is g_splitmix64(s), s += G_GOLDEN64), and FNV-1a 64 over n bytes
 * continuing from h (start from G_FNV_OFFSET64). */
#define G_GOLDEN64 0x9E3779B97F4A7C15ull
#define G_FNV_OFFSET64 0xcbf29ce484222325ull
uint64_t g_splitmix64(uint64_t x);
uint64_t g_fnv1a64(uint64_t h, const void *data, size_t n);

#endif
