/* graph.h: the dataflow-graph layer (IR, builders, autodiff, CPU reference,
 * planner and executor). The one public header of graph/.
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
 * All values are fp32 on the device (double in the CPU reference).
 */
#ifndef MEG_GRAPH_H
#define MEG_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#define G_MAX_DIMS 4
#define G_NAME_MAX 64

/* A shape literal for the builders: g_input(g, "x", 2, G_SHAPE(256, 2)). */
#define G_SHAPE(...) ((const int[]){__VA_ARGS__})

typedef enum g_op {
    /* leaves */
    G_OP_INPUT,        /* written by the host (or by an assign of another plan) */
    G_OP_PARAM,        /* persistent, initialised by its g_init */
    G_OP_STATE,        /* persistent (optimizer moments, counters), initialised by its g_init */
    G_OP_CONST,        /* every element = f[0]; has no storage of its own */

    /* elementwise unary: out[i] = f(src0[i]) */
    G_OP_NEG,
    G_OP_SCALE,        /* src0 * f[0] */
    G_OP_ADD_SCALAR,   /* src0 + f[0] */
    G_OP_EXP,
    G_OP_LOG,
    G_OP_SQRT,
    G_OP_SQUARE,
    G_OP_ABS,
    G_OP_RELU,
    G_OP_LEAKY_RELU,   /* x > 0 ? x : f[0] * x */
    G_OP_TANH,
    G_OP_SIGMOID,
    G_OP_SOFTPLUS,     /* log(1 + exp(x)), computed stably */
    G_OP_LOG_SIGMOID,  /* -softplus(-x) */

    /* elementwise binary with numpy broadcasting (shapes aligned right; each
     * dimension equal or 1 in one of them; the output takes the larger) */
    G_OP_ADD,
    G_OP_SUB,
    G_OP_MUL,
    G_OP_DIV,
    G_OP_GT,           /* 1 if a > b else 0; zero gradient */
    G_OP_GE,
    G_OP_LT,
    G_OP_LE,
    G_OP_EQ,
    G_OP_SELECT,       /* src0 != 0 ? src1 : src2, three-way broadcasting */

    /* broadcasting and reduction (inverse of each other) */
    G_OP_EXPAND,       /* broadcast src0 to this node's shape (numpy rules) */
    G_OP_SUM_TO,       /* sum src0 down to this node's shape: the dimensions where
                          the output (aligned right) has 1 or is missing are summed */

    /* layout */
    G_OP_RESHAPE,      /* same values, same order, new shape */
    G_OP_PERMUTE,      /* out dimension d is src0 dimension i[d] (i[0..ndim-1]) */
    G_OP_CONCAT,       /* along axis i[0]; nsrc >= 1 inputs */
    G_OP_SLICE,        /* along axis i[0]: start i[1], length = out shape[axis] */
    G_OP_PAD,          /* inverse of slice: src0 placed at offset i[1] along axis
                          i[0] of a zero tensor of this node's shape */
    G_OP_GATHER_ROWS,  /* out[r, ...] = src0[clamp(int(src1[r])), ...]; src1 1-d */
    G_OP_SCATTER_ADD_ROWS, /* out[k, ...] = sum over r with clamp(int(src1[r])) == k of
                          src0[r, ...]; out rows = i[0]; the adjoint of gather */

    /* linear algebra and convolution (2-d matmul, NCHW images) */
    G_OP_MATMUL,       /* op(a) op(b); i[0] = transpose a, i[1] = transpose b;
                          a is [M,K] (or [K,M] if transposed), b [K,N] (or [N,K]) */
    G_OP_CONV2D,       /* x [N,C,H,W], w [O,C,KH,KW]; i[0] stride, i[1] pad;
                          out [N,O,(H+2p-KH)/s+1,(W+2p-KW)/s+1] */
    G_OP_CONV_TRANSPOSE2D, /* x [N,C,H,W], w [C,O,KH,KW]; i[0] stride, i[1] pad,
                          i[2] output padding; out [N,O,(H-1)s-2p+KH+op, ...];
                          the adjoint of conv2d in its input */
    G_OP_CONV2D_WGRAD, /* xr [N,B,H,W], gr [N,A,Ho,Wo]; i[0] stride, i[1] pad,
                          i[2] KH, i[3] KW; out [A,B,KH,KW] with
                          out[a,b,kh,kw] = sum_{n,ho,wo} gr[n,a,ho,wo] *
                          xr[n,b,ho*s-p+kh,wo*s-p+kw] (zero outside xr) */

    /* random numbers: Philox4x32-10, see the note below. src0 is the rng
     * state tensor (its value, the run counter, is read on the device). */
    G_OP_RAND_UNIFORM, /* in (0, 1) */
    G_OP_RAND_NORMAL,  /* standard normal */
    G_OP_RAND_INT,     /* integers 0 .. i[0]-1 as floats */
    G_OP_SHUFFLE,      /* src0 rng, src1 x [R,C]; i[0] = 0: each column shuffled
                          independently across rows; 1: whole rows permuted;
                          i[1] = 1: the inverse permutation (the adjoint) */

    /* effects: they write into the buffer of a leaf; they have no value */
    G_OP_ASSIGN,       /* src0 = target leaf, src1 = value of the same shape */
    G_OP_ADAM,         /* src0 param, src1 grad, src2 m, src3 v, src4 the count of
                          steps before this one (shape [1]; the update is step
                          t = src4 + 1); f[0] lr, f[1] beta1, f[2] beta2, f[3] eps.
                          Updates param, m, v. */
    G_OP_SGD,          /* src0 param, src1 grad; f[0] lr */
    G_OP_GROUP,        /* no value; depends on all its sources (collects effects) */

    G_OP_COUNT
} g_op;

typedef enum g_init_kind {
    G_INIT_ZEROS,
    G_INIT_CONST,      /* every element = a */
    G_INIT_NORMAL,     /* normal(0, a) */
    G_INIT_UNIFORM,    /* uniform(-a, a) */
    G_INIT_TORCH,      /* PyTorch's default for Linear and Conv weights and biases:
                          uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
} g_init_kind;

typedef struct g_init {
    g_init_kind kind;
    float a;
    int fan_in;        /* G_INIT_TORCH only */
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
    float f[4];                /* float attributes (see the op) */
    int i[8];                  /* integer attributes (see the op) */
    uint64_t seed;             /* rng ops and rng state: the generator's key */
    int stream;                /* rng ops: their stream number (unique per op) */
    g_init init;               /* leaves */
    char name[G_NAME_MAX];     /* leaves: unique among leaves; other nodes: may be empty */
    g_graph *graph;
};

/* ---- graph ------------------------------------------------------------ */

g_graph *g_graph_new(void);            /* NULL only when out of memory */
void g_graph_free(g_graph *g);
const char *g_graph_error(const g_graph *g);   /* NULL while no error */
int g_graph_size(const g_graph *g);
g_tensor *g_graph_node(const g_graph *g, int id);
g_tensor *g_graph_find(const g_graph *g, const char *leaf_name);

size_t g_numel(const g_tensor *t);   /* 1 for 0-d; 0 for effects, which have no value */
int g_same_shape(const g_tensor *a, const g_tensor *b);
int g_is_leaf(const g_tensor *t);      /* input, param or state */
int g_is_effect(const g_tensor *t);    /* assign, adam, sgd, group */
const char *g_op_name(g_op op);
/* "[256, 512]" into buf; returns buf */
char *g_shape_str(const g_tensor *t, char *buf, size_t n);

/* ---- leaves ----------------------------------------------------------- */

g_tensor *g_input(g_graph *g, const char *name, int ndim, const int *shape);
g_tensor *g_param(g_graph *g, const char *name, int ndim, const int *shape, g_init init);
g_tensor *g_state(g_graph *g, const char *name, int ndim, const int *shape, g_init init);
g_tensor *g_const(g_graph *g, float value, int ndim, const int *shape);
g_tensor *g_scalar(g_graph *g, float value);   /* 0-d constant */

static inline g_init g_init_zeros(void) { g_init i = {G_INIT_ZEROS, 0.0f, 0}; return i; }
static inline g_init g_init_const(float a) { g_init i = {G_INIT_CONST, a, 0}; return i; }
static inline g_init g_init_normal(float s) { g_init i = {G_INIT_NORMAL, s, 0}; return i; }
static inline g_init g_init_uniform(float a) { g_init i = {G_INIT_UNIFORM, a, 0}; return i; }
static inline g_init g_init_torch(int fan_in) { g_init i = {G_INIT_TORCH, 0.0f, fan_in}; return i; }

/* Initial values of a param or state leaf, deterministic in (seed, leaf
 * name): the same on the device session and in the CPU reference. */
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

/* ---- linear algebra, convolution, normalisation ---------------------- */

g_tensor *g_matmul(g_tensor *a, g_tensor *b, int transpose_a, int transpose_b);
g_tensor *g_conv2d(g_tensor *x, g_tensor *w, int stride, int pad);
g_tensor *g_conv_transpose2d(g_tensor *x, g_tensor *w, int stride, int pad, int out_pad);
g_tensor *g_conv2d_wgrad(g_tensor *xr, g_tensor *gr, int kh, int kw, int stride, int pad);
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
 * its leaf with i[0] = 1; random ops reject any other tensor. */
g_tensor *g_rng(g_graph *g, const char *name, uint64_t seed);
g_tensor *g_rand_uniform(g_tensor *rng, int ndim, const int *shape);
g_tensor *g_rand_normal(g_tensor *rng, int ndim, const int *shape);
g_tensor *g_rand_int(g_tensor *rng, int n, int ndim, const int *shape);
g_tensor *g_shuffle(g_tensor *rng, g_tensor *x, int whole_rows);
g_tensor *g_rng_advance(g_tensor *rng);                  /* effect: r += 1 */

/* ---- effects and optimizers ------------------------------------------- */

g_tensor *g_assign(g_tensor *target, g_tensor *value);   /* target: a leaf */
g_tensor *g_group(g_graph *g, g_tensor **deps, int n);

typedef struct g_adam_opts {
    float lr, beta1, beta2, eps;
} g_adam_opts;
/* Adam on n parameters with their gradients: creates the moment states
 * "<prefix>.m.<param>", "<prefix>.v.<param>" and the step counter
 * "<prefix>.t" (or reuses them when an earlier call with the same prefix
 * made them: several updates of one optimizer in one graph), and returns one
 * group node that performs the whole update (step counter included). */
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
/* Evaluates, in program order, every node needed by roots (effects
 * included) and applies the effects to the leaf values. */
int g_ref_run(g_ref *r, g_tensor **roots, int n);
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

/* ---- device execution (planner and executor) --------------------------
 * A session holds the device buffers of a graph's leaves (inputs, params,
 * states), shared by every plan made from that graph. A plan is the part of
 * the graph that some roots need: dead nodes dropped, elementwise chains
 * fused (and folded into the epilogues of matmuls and reductions, optimizer
 * updates included; a bias gradient rides along its weight gradient's matmul
 * as an extra row of ones), every intermediate given an offset in one arena
 * by liveness, recorded once into a command buffer and replayed. Errors: the
 * functions return 0 or -1 with the message in rt_error(). */
typedef struct rt_ctx rt_ctx;
typedef struct g_session g_session;
typedef struct g_plan g_plan;

typedef struct g_plan_opts {
    int no_fusion;       /* 1: one dispatch per op (the fusion-equivalence tests) */
    int timestamps;      /* 1: time every dispatch (g_plan_profile) */
} g_plan_opts;

typedef struct g_plan_stats {
    int nodes;           /* nodes kept */
    int dispatches;      /* per run */
    int fused_groups;    /* dispatches that run more than one node */
    size_t arena_bytes;  /* the intermediates' arena */
    size_t intermediate_bytes; /* sum of all intermediates' sizes (no reuse) */
    size_t param_bytes;  /* params of the whole graph */
    size_t state_bytes;  /* states of the whole graph */
    double flops;        /* matmul and convolution FLOPs per run */
} g_plan_stats;

int g_session_new(rt_ctx *ctx, g_graph *g, uint64_t seed, g_session **out);
void g_session_free(g_session *s);
/* Host <-> leaf values (numel floats). Reading a plan root is allowed after
 * a run of that plan. */
int g_session_write(g_session *s, g_tensor *t, const float *values);
int g_session_read(g_session *s, g_tensor *t, float *values);

int g_plan_new(g_session *s, g_tensor **roots, int n, const g_plan_opts *opts, g_plan **out);
void g_plan_free(g_plan *p);
/* Runs the plan `times` times back to back in one submit and waits. */
int g_plan_run(g_plan *p, int times);
void g_plan_stats_get(const g_plan *p, g_plan_stats *st);
/* After a run with timestamps: one line per dispatch kind (name, calls,
 * total ms), written into buf. */
int g_plan_profile(const g_plan *p, char *buf, size_t n);

#endif
