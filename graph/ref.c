/* ref.c: the CPU reference interpreter. Double values, double accumulation,
 * nodes evaluated in id (program) order; leaves hold their current storage,
 * which effects overwrite in place, so a node reads a leaf as it is when the
 * node runs. */
#include "graph_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RNG_TAG 0x4d454721u

struct g_ref {
    g_graph *g;
    uint64_t seed;
    int n, cap;                /* nodes known (synced) and array capacity */
    double **val;              /* per node; leaves: their storage */
    unsigned char *written;    /* inputs: written by the host or an assign */
    unsigned char *evaluated;  /* non-leaves: evaluated by the last run */
    unsigned char *need;       /* scratch for a run */
    int round_f32;             /* round every computed value to fp32 */
    char err[G__ERR_MAX];
    int has_err;
};

static int fail(g_ref *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(g_ref *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->has_err = 1;
    return -1;
}

const char *g_ref_error(const g_ref *r)
{
    if (!r) return "no reference interpreter (out of memory?)";
    return r->has_err ? r->err : NULL;
}

/* Numel with 0-d = 1 (effects are never stored). */
static size_t count(const g_tensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
    return n;
}

/* Brings the arrays up to the graph's current size and initialises new leaves. */
static int sync(g_ref *r)
{
    g_graph *g = r->g;
    if (g->n > r->cap) {
        int cap = r->cap ? r->cap : 64;
        while (cap < g->n) cap *= 2;
        double **val = realloc(r->val, (size_t)cap * sizeof *val);
        if (val) r->val = val;
        unsigned char *w = realloc(r->written, (size_t)cap);
        if (w) r->written = w;
        unsigned char *e = realloc(r->evaluated, (size_t)cap);
        if (e) r->evaluated = e;
        unsigned char *nd = realloc(r->need, (size_t)cap);
        if (nd) r->need = nd;
        if (!val || !w || !e || !nd) return fail(r, "ref: out of memory");
        for (int i = r->cap; i < cap; i++) {
            r->val[i] = NULL;
            r->written[i] = r->evaluated[i] = r->need[i] = 0;
        }
        r->cap = cap;
    }
    for (; r->n < g->n; r->n++) {
        g_tensor *t = g->nodes[r->n];
        if (!g_is_leaf(t)) continue;
        size_t n = count(t);
        r->val[t->id] = calloc(n, sizeof(double));
        if (!r->val[t->id]) return fail(r, "ref: out of memory for leaf '%s'", t->name);
        if (t->op == G_OP_INPUT) continue;
        float *f = malloc(n * sizeof *f);
        if (!f) return fail(r, "ref: out of memory for leaf '%s'", t->name);
        if (g_init_values(t, r->seed, f)) {
            free(f);
            return fail(r, "ref: cannot initialise leaf '%s'", t->name);
        }
        for (size_t j = 0; j < n; j++) r->val[t->id][j] = f[j];
        free(f);
    }
    return 0;
}

g_ref *g_ref_new(g_graph *g, uint64_t seed)
{
    if (!g) return NULL;
    g_ref *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->g = g;
    r->seed = seed;
    sync(r);   /* a failure stays in g_ref_error */
    return r;
}

void g_ref_free(g_ref *r)
{
    if (!r) return;
    for (int i = 0; i < r->cap; i++) free(r->val[i]);
    free(r->val);
    free(r->written);
    free(r->evaluated);
    free(r->need);
    free(r);
}

static int check_leaf(g_ref *r, const g_tensor *leaf, const void *values)
{
    if (!leaf || !values) return fail(r, "ref write: missing leaf or values");
    if (leaf->graph != r->g) return fail(r, "ref write: leaf '%s' is from another graph", leaf->name);
    if (!g_is_leaf(leaf))
        return fail(r, "ref write: node %d (%s) is not a leaf", leaf->id, g_op_name(leaf->op));
    return sync(r);
}

/* A float write of an 8-bit input would hold values its bytes cannot. */
static int check_not_u8(g_ref *r, const g_tensor *leaf)
{
    if (g_is_u8(leaf))
        return fail(r, "ref write: input '%s' is 8-bit (g_input_u8): write its bytes with g_ref_write_u8", leaf->name);
    return 0;
}

int g_ref_write(g_ref *r, g_tensor *leaf, const double *values)
{
    if (!r) return -1;
    if (check_leaf(r, leaf, values) || check_not_u8(r, leaf)) return -1;
    memcpy(r->val[leaf->id], values, count(leaf) * sizeof(double));
    r->written[leaf->id] = 1;
    return 0;
}

int g_ref_write_f(g_ref *r, g_tensor *leaf, const float *values)
{
    if (!r) return -1;
    if (check_leaf(r, leaf, values) || check_not_u8(r, leaf)) return -1;
    size_t n = count(leaf);
    for (size_t j = 0; j < n; j++) r->val[leaf->id][j] = values[j];
    r->written[leaf->id] = 1;
    return 0;
}

int g_ref_write_u8(g_ref *r, g_tensor *leaf, const uint8_t *bytes)
{
    if (!r) return -1;
    if (check_leaf(r, leaf, bytes)) return -1;
    if (!g_is_u8(leaf))
        return fail(r, "ref write: leaf '%s' is not an 8-bit input (g_input_u8); write its values with g_ref_write",
                    leaf->name);
    size_t n = count(leaf);
    for (size_t j = 0; j < n; j++) r->val[leaf->id][j] = bytes[j] / 255.0;
    r->written[leaf->id] = 1;
    return 0;
}

void g_ref_round_to_f32(g_ref *r, int on)
{
    if (r) r->round_f32 = on != 0;
}

const double *g_ref_value(const g_ref *r, const g_tensor *t)
{
    if (!r || !t || t->graph != r->g || t->id >= r->n || g_is_effect(t)) return NULL;
    if (g_is_leaf(t)) return t->op == G_OP_INPUT && !r->written[t->id] ? NULL : r->val[t->id];
    return r->evaluated[t->id] ? r->val[t->id] : NULL;
}

/* ---- index helpers --------------------------------------------------------- */

/* t's shape padded on the left with ones to 4 dimensions */
static void pad4(const g_tensor *t, int *s4)
{
    int off = 4 - t->ndim;
    for (int d = 0; d < 4; d++) s4[d] = d < off ? 1 : t->shape[d - off];
}

/* strides of t read as a broadcast into a 4-d padded shape (0 where t has 1) */
static void bstrides(const g_tensor *t, size_t *st)
{
    int s4[4];
    pad4(t, s4);
    size_t acc = 1;
    for (int d = 3; d >= 0; d--) {
        st[d] = s4[d] == 1 ? 0 : acc;
        acc *= (size_t)s4[d];
    }
}

/* out (shape of o) = f over broadcast reads of srcs; iterates o's padded index */
#define FOR4(o4) \
    for (int i0 = 0; i0 < o4[0]; i0++) for (int i1 = 0; i1 < o4[1]; i1++) \
    for (int i2 = 0; i2 < o4[2]; i2++) for (int i3 = 0; i3 < o4[3]; i3++)
#define OFF(st) ((size_t)i0 * st[0] + (size_t)i1 * st[1] + (size_t)i2 * st[2] + (size_t)i3 * st[3])

static double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

static double unary(g_op op, double x, double f0)
{
    switch (op) {
    case G_OP_NEG: return -x;
    case G_OP_SCALE: return x * f0;
    case G_OP_ADD_SCALAR: return x + f0;
    case G_OP_EXP: return exp(x);
    case G_OP_LOG: return log(x);
    case G_OP_SQRT: return sqrt(x);
    case G_OP_SQUARE: return x * x;
    case G_OP_ABS: return fabs(x);
    case G_OP_RELU: return x > 0 ? x : 0.0;
    case G_OP_LEAKY_RELU: return x > 0 ? x : f0 * x;
    case G_OP_TANH: return tanh(x);
    case G_OP_SIGMOID: return sigmoid(x);
    case G_OP_SOFTPLUS: return softplus(x);
    case G_OP_LOG_SIGMOID: return -softplus(-x);
    default: return NAN;
    }
}

static double binary(g_op op, double a, double b)
{
    switch (op) {
    case G_OP_ADD: return a + b;
    case G_OP_SUB: return a - b;
    case G_OP_MUL: return a * b;
    case G_OP_DIV: return a / b;
    case G_OP_GT: return a > b;
    case G_OP_GE: return a >= b;
    case G_OP_LT: return a < b;
    case G_OP_LE: return a <= b;
    case G_OP_EQ: return a == b;
    default: return NAN;
    }
}

/* Row index clamp of gather/scatter: truncation toward zero, then clamped to
 * [0, rows-1]; NaN goes to row 0. */
static size_t clamp_row(double v, int rows)
{
    if (!(v >= 1.0)) return 0;
    if (v >= (double)(rows - 1)) return (size_t)(rows - 1);
    return (size_t)v;
}

/* outer (before axis), dim (axis) and inner (after axis) extents */
static void split_axis(const g_tensor *t, int axis, size_t *outer, size_t *dim, size_t *inner)
{
    *outer = *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= (size_t)t->shape[d];
    for (int d = axis + 1; d < t->ndim; d++) *inner *= (size_t)t->shape[d];
    *dim = (size_t)t->shape[axis];
}

/* ---- random numbers ----------------------------------------------------- */

static void draw(const g_tensor *t, uint32_t j, uint32_t r, uint32_t w[4])
{
    uint32_t ctr[4] = {j, (uint32_t)t->attr.rand.stream, r, RNG_TAG};
    g_philox((uint32_t)t->attr.rand.seed, (uint32_t)(t->attr.rand.seed >> 32), ctr, w);
}

static double unit(uint32_t w) { return ((double)(w >> 8) + 0.5) * (1.0 / 16777216.0); }

static uint32_t counter(const double *rng)
{
    double v = rng[0];
    return v > 0 ? (uint32_t)v : 0;
}

typedef struct { uint32_t key, row; } shuf_key;

static int cmp_key(const void *pa, const void *pb)
{
    const shuf_key *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

/* out[rank(row)] = x[row] per column (or whole rows); inverse: out[row] = x[rank(row)] */
static int shuffle(const g_tensor *t, const double *x, uint32_t r, double *out)
{
    int R = t->shape[0], C = t->shape[1], rows_mode = t->attr.rand.whole_rows, inverse = t->attr.rand.inverse;
    int ncols = rows_mode ? 1 : C;
    shuf_key *keys = malloc((size_t)R * sizeof *keys);
    if (!keys) return -1;
    for (int c = 0; c < ncols; c++) {
        for (int row = 0; row < R; row++) {
            uint32_t w[4];
            draw(t, rows_mode ? (uint32_t)row : (uint32_t)row * (uint32_t)C + (uint32_t)c, r, w);
            keys[row].key = w[0];
            keys[row].row = (uint32_t)row;
        }
        qsort(keys, (size_t)R, sizeof *keys, cmp_key);
        /* keys[rank].row is the source row that lands at rank */
        for (int rank = 0; rank < R; rank++) {
            size_t src = keys[rank].row, dst = (size_t)rank;
            if (inverse) {
                src = (size_t)rank;
                dst = keys[rank].row;
            }
            if (rows_mode)
                memcpy(out + dst * (size_t)C, x + src * (size_t)C, (size_t)C * sizeof *out);
            else
                out[dst * (size_t)C + (size_t)c] = x[src * (size_t)C + (size_t)c];
        }
    }
    free(keys);
    return 0;
}

/* ---- evaluation ----------------------------------------------------------- */

/* The first maximum (row-major) of window (ho, wo) of image nc of x
 * [N,C,H,W]: its offset in x; *best gets its value. */
static size_t window_argmax(const g_tensor *x, const double *v, size_t nc, int ho, int wo, int k, double *best)
{
    int H = x->shape[2], W = x->shape[3];
    size_t at = (nc * (size_t)H + (size_t)ho * k) * W + (size_t)wo * k;
    double m = -INFINITY;
    for (int p = 0; p < k; p++)
        for (int q = 0; q < k; q++) {
            size_t j = (nc * (size_t)H + (size_t)ho * k + p) * W + (size_t)wo * k + q;
            if (v[j] > m) {
                m = v[j];
                at = j;
            }
        }
    *best = m;
    return at;
}

static void max_pool2d(const g_tensor *t, const double *x, const double *gy, double *out)
{
    const g_tensor *xs = t->src[0];
    int k = t->attr.conv.kh, Ho = xs->shape[2] / k, Wo = xs->shape[3] / k;
    size_t nc = (size_t)xs->shape[0] * xs->shape[1];
    if (gy) memset(out, 0, count(t) * sizeof *out);
    for (size_t c = 0; c < nc; c++)
        for (int ho = 0; ho < Ho; ho++)
            for (int wo = 0; wo < Wo; wo++) {
                double m;
                size_t at = window_argmax(xs, x, c, ho, wo, k, &m), o = (c * Ho + ho) * Wo + wo;
                if (gy) out[at] = gy[o];
                else out[o] = m;
            }
}

static void conv2d(const g_tensor *t, const double *x, const double *w, double *out)
{
    const g_tensor *xs = t->src[0], *ws = t->src[1];
    int N = xs->shape[0], C = xs->shape[1], H = xs->shape[2], W = xs->shape[3];
    int O = ws->shape[0], KH = ws->shape[2], KW = ws->shape[3];
    int Ho = t->shape[2], Wo = t->shape[3], s = t->attr.conv.stride, p = t->attr.conv.pad;
    for (int n = 0; n < N; n++) for (int o = 0; o < O; o++)
    for (int ho = 0; ho < Ho; ho++) for (int wo = 0; wo < Wo; wo++) {
        double acc = 0;
        for (int c = 0; c < C; c++) for (int kh = 0; kh < KH; kh++) {
            int h = ho * s - p + kh;
            if (h < 0 || h >= H) continue;
            for (int kw = 0; kw < KW; kw++) {
                int ww = wo * s - p + kw;
                if (ww < 0 || ww >= W) continue;
                acc += x[(((size_t)n * C + c) * H + h) * W + ww] *
                       w[(((size_t)o * C + c) * KH + kh) * KW + kw];
            }
        }
        out[(((size_t)n * O + o) * Ho + ho) * Wo + wo] = acc;
    }
}

static void conv_transpose2d(const g_tensor *t, const double *x, const double *w, double *out)
{
    const g_tensor *xs = t->src[0], *ws = t->src[1];
    int N = xs->shape[0], C = xs->shape[1], H = xs->shape[2], W = xs->shape[3];
    int O = ws->shape[1], KH = ws->shape[2], KW = ws->shape[3];
    int Ho = t->shape[2], Wo = t->shape[3], s = t->attr.conv.stride, p = t->attr.conv.pad;
    /* out[y] gathers every x[h] with h*s - p + kh = y */
    for (int n = 0; n < N; n++) for (int o = 0; o < O; o++)
    for (int y = 0; y < Ho; y++) for (int xo = 0; xo < Wo; xo++) {
        double acc = 0;
        for (int kh = 0; kh < KH; kh++) {
            int hn = y + p - kh;
            if (hn < 0 || hn % s) continue;
            int h = hn / s;
            if (h >= H) continue;
            for (int kw = 0; kw < KW; kw++) {
                int wn = xo + p - kw;
                if (wn < 0 || wn % s) continue;
                int ww = wn / s;
                if (ww >= W) continue;
                for (int c = 0; c < C; c++)
                    acc += x[(((size_t)n * C + c) * H + h) * W + ww] *
                           w[(((size_t)c * O + o) * KH + kh) * KW + kw];
            }
        }
        out[(((size_t)n * O + o) * Ho + y) * Wo + xo] = acc;
    }
}

static void conv2d_wgrad(const g_tensor *t, const double *xr, const double *gr, double *out)
{
    const g_tensor *xs = t->src[0], *gs = t->src[1];
    int N = xs->shape[0], B = xs->shape[1], H = xs->shape[2], W = xs->shape[3];
    int A = gs->shape[1], Ho = gs->shape[2], Wo = gs->shape[3];
    int s = t->attr.conv.stride, p = t->attr.conv.pad, KH = t->attr.conv.kh, KW = t->attr.conv.kw;
    for (int a = 0; a < A; a++) for (int b = 0; b < B; b++)
    for (int kh = 0; kh < KH; kh++) for (int kw = 0; kw < KW; kw++) {
        double acc = 0;
        for (int n = 0; n < N; n++) for (int ho = 0; ho < Ho; ho++) {
            int h = ho * s - p + kh;
            if (h < 0 || h >= H) continue;
            for (int wo = 0; wo < Wo; wo++) {
                int ww = wo * s - p + kw;
                if (ww < 0 || ww >= W) continue;
                acc += gr[(((size_t)n * A + a) * Ho + ho) * Wo + wo] *
                       xr[(((size_t)n * B + b) * H + h) * W + ww];
            }
        }
        out[(((size_t)a * B + b) * KH + kh) * KW + kw] = acc;
    }
}

static void matmul(const g_tensor *t, const double *a, const double *b, double *out)
{
    const g_tensor *as = t->src[0], *bs = t->src[1];
    int ta = t->attr.matmul.transpose_a, tb = t->attr.matmul.transpose_b, M = t->shape[0], N = t->shape[1];
    int K = as->shape[ta ? 0 : 1];
    size_t lda = (size_t)as->shape[1], ldb = (size_t)bs->shape[1];
    for (int m = 0; m < M; m++) for (int n = 0; n < N; n++) {
        double acc = 0;
        for (int k = 0; k < K; k++) {
            double av = ta ? a[(size_t)k * lda + m] : a[(size_t)m * lda + k];
            double bv = tb ? b[(size_t)n * ldb + k] : b[(size_t)k * ldb + n];
            acc += av * bv;
        }
        out[(size_t)m * N + n] = acc;
    }
}

static void adam(g_ref *r, const g_tensor *t)
{
    double *p = r->val[t->src[0]->id], *m = r->val[t->src[2]->id], *v = r->val[t->src[3]->id];
    const double *gr = r->val[t->src[1]->id], step = r->val[t->src[4]->id][0] + 1.0; /* src4: steps before this one */
    double lr = t->attr.optim.lr, b1 = t->attr.optim.beta1, b2 = t->attr.optim.beta2, eps = t->attr.optim.eps;
    double c1 = 1.0 - pow(b1, step), c2 = 1.0 - pow(b2, step);
    if (t->attr.optim.decay_steps > 0)
        lr *= 1.0 - (1.0 - t->attr.optim.lr_final) * fmin(step / t->attr.optim.decay_steps, 1.0);
    size_t n = count(t->src[0]);
    for (size_t j = 0; j < n; j++) {
        m[j] = b1 * m[j] + (1.0 - b1) * gr[j];
        v[j] = b2 * v[j] + (1.0 - b2) * gr[j] * gr[j];
        p[j] -= lr * (m[j] / c1) / (sqrt(v[j] / c2) + eps);
    }
}

/* Evaluates node t (its sources already hold their values). */
static int eval(g_ref *r, g_tensor *t)
{
    double **V = r->val;
    switch (t->op) {
    case G_OP_INPUT: case G_OP_PARAM: case G_OP_STATE: return 0;
    case G_OP_ASSIGN: {
        g_tensor *dst = t->src[0];
        memmove(V[dst->id], V[t->src[1]->id], count(dst) * sizeof(double));
        if (dst->op == G_OP_INPUT) r->written[dst->id] = 1;
        return 0;
    }
    case G_OP_ADAM: adam(r, t); return 0;
    case G_OP_SGD: {
        double *p = V[t->src[0]->id];
        const double *gr = V[t->src[1]->id];
        size_t n = count(t->src[0]);
        for (size_t j = 0; j < n; j++) p[j] -= (double)t->attr.optim.lr * gr[j];
        return 0;
    }
    case G_OP_GROUP: return 0;
    default: break;
    }

    size_t n = count(t);
    if (!V[t->id]) {
        V[t->id] = malloc(n * sizeof(double));
        if (!V[t->id]) return fail(r, "ref: out of memory evaluating node %d (%s)", t->id, g_op_name(t->op));
    }
    double *out = V[t->id];
    const double *x = t->nsrc > 0 ? V[t->src[0]->id] : NULL;
    const double *y = t->nsrc > 1 ? V[t->src[1]->id] : NULL;
    int o4[4];
    pad4(t, o4);

    switch (t->op) {
    case G_OP_CONST:
        for (size_t j = 0; j < n; j++) out[j] = t->attr.scalar;
        return 0;
    case G_OP_NEG: case G_OP_SCALE: case G_OP_ADD_SCALAR: case G_OP_EXP: case G_OP_LOG:
    case G_OP_SQRT: case G_OP_SQUARE: case G_OP_ABS: case G_OP_RELU: case G_OP_LEAKY_RELU:
    case G_OP_TANH: case G_OP_SIGMOID: case G_OP_SOFTPLUS: case G_OP_LOG_SIGMOID:
        for (size_t j = 0; j < n; j++) out[j] = unary(t->op, x[j], t->attr.scalar);
        return 0;
    case G_OP_ADD: case G_OP_SUB: case G_OP_MUL: case G_OP_DIV: case G_OP_GT: case G_OP_GE:
    case G_OP_LT: case G_OP_LE: case G_OP_EQ: {
        size_t sa[4], sb[4], so[4];
        bstrides(t->src[0], sa);
        bstrides(t->src[1], sb);
        bstrides(t, so);
        FOR4(o4) out[OFF(so)] = binary(t->op, x[OFF(sa)], y[OFF(sb)]);
        return 0;
    }
    case G_OP_SELECT: {
        size_t sc[4], sa[4], sb[4], so[4];
        const double *z = V[t->src[2]->id];
        bstrides(t->src[0], sc);
        bstrides(t->src[1], sa);
        bstrides(t->src[2], sb);
        bstrides(t, so);
        FOR4(o4) out[OFF(so)] = x[OFF(sc)] != 0 ? y[OFF(sa)] : z[OFF(sb)];
        return 0;
    }
    case G_OP_EXPAND: {
        size_t sx[4], so[4];
        bstrides(t->src[0], sx);
        bstrides(t, so);
        FOR4(o4) out[OFF(so)] = x[OFF(sx)];
        return 0;
    }
    case G_OP_SUM_TO: {
        /* iterate the source; dimensions where the output has 1 (or none) collapse */
        size_t sx[4], so[4];
        int x4[4];
        pad4(t->src[0], x4);
        bstrides(t->src[0], sx);
        bstrides(t, so);
        memset(out, 0, n * sizeof *out);
        FOR4(x4) out[OFF(so)] += x[OFF(sx)];
        return 0;
    }
    case G_OP_MAX: case G_OP_ARGMAX: {
        /* first maximum: only a strictly larger value moves it */
        size_t outer, dim, inner;
        split_axis(t->src[0], t->attr.axis.axis, &outer, &dim, &inner);
        for (size_t o = 0; o < outer; o++)
            for (size_t in = 0; in < inner; in++) {
                double m = -INFINITY, at = 0;
                for (size_t j = 0; j < dim; j++) {
                    double v = x[(o * dim + j) * inner + in];
                    if (v > m) {
                        m = v;
                        at = (double)j;
                    }
                }
                out[o * inner + in] = t->op == G_OP_MAX ? m : at;
            }
        return 0;
    }
    case G_OP_STOP_GRADIENT:
    case G_OP_RESHAPE:
        memcpy(out, x, n * sizeof *out);
        return 0;
    case G_OP_ONE_HOT: {
        size_t sx[4], so[4];
        int ax = t->attr.axis.axis + 4 - t->ndim;
        bstrides(t->src[0], sx);
        bstrides(t, so);
        FOR4(o4) {
            int c4[4] = {i0, i1, i2, i3};
            out[OFF(so)] = trunc(x[OFF(sx)]) == (double)c4[ax];
        }
        return 0;
    }
    case G_OP_MAX_POOL2D: max_pool2d(t, x, NULL, out); return 0;
    case G_OP_MAX_POOL2D_GRAD: max_pool2d(t, x, y, out); return 0;
    case G_OP_PERMUTE: {
        const g_tensor *s = t->src[0];
        size_t st[G_MAX_DIMS], acc = 1;
        for (int d = s->ndim - 1; d >= 0; d--) {
            st[d] = acc;
            acc *= (size_t)s->shape[d];
        }
        for (size_t j = 0; j < n; j++) {
            size_t rem = j, off = 0;
            for (int d = t->ndim - 1; d >= 0; d--) {
                off += (rem % (size_t)t->shape[d]) * st[t->attr.permute.perm[d]];
                rem /= (size_t)t->shape[d];
            }
            out[j] = x[off];
        }
        return 0;
    }
    case G_OP_CONCAT: {
        size_t outer, dim, inner, pos = 0;
        split_axis(t, t->attr.axis.axis, &outer, &dim, &inner);
        for (int k = 0; k < t->nsrc; k++) {
            size_t len = (size_t)t->src[k]->shape[t->attr.axis.axis];
            const double *s = V[t->src[k]->id];
            for (size_t o = 0; o < outer; o++)
                memcpy(out + (o * dim + pos) * inner, s + o * len * inner, len * inner * sizeof *out);
            pos += len;
        }
        return 0;
    }
    case G_OP_SLICE: case G_OP_PAD: {
        int slice = t->op == G_OP_SLICE;
        size_t outer, dim, inner, sdim, off = (size_t)t->attr.axis.start;
        split_axis(t->src[0], t->attr.axis.axis, &outer, &sdim, &inner);
        dim = (size_t)t->shape[t->attr.axis.axis];
        if (!slice) memset(out, 0, n * sizeof *out);
        for (size_t o = 0; o < outer; o++) {
            if (slice)
                memcpy(out + o * dim * inner, x + (o * sdim + off) * inner, dim * inner * sizeof *out);
            else
                memcpy(out + (o * dim + off) * inner, x + o * sdim * inner, sdim * inner * sizeof *out);
        }
        return 0;
    }
    case G_OP_GATHER_ROWS: case G_OP_SCATTER_ADD_ROWS: {
        int xrows = t->src[0]->shape[0], R = t->src[1]->shape[0];
        size_t row = count(t->src[0]) / (size_t)xrows;
        if (t->op == G_OP_GATHER_ROWS) {
            for (int i = 0; i < R; i++)
                memcpy(out + (size_t)i * row, x + clamp_row(y[i], xrows) * row, row * sizeof *out);
        } else {
            memset(out, 0, n * sizeof *out);
            for (int i = 0; i < R; i++) {
                double *dst = out + clamp_row(y[i], t->attr.rows) * row;
                for (size_t j = 0; j < row; j++) dst[j] += x[(size_t)i * row + j];
            }
        }
        return 0;
    }
    case G_OP_MATMUL: matmul(t, x, y, out); return 0;
    case G_OP_CONV2D: conv2d(t, x, y, out); return 0;
    case G_OP_CONV_TRANSPOSE2D: conv_transpose2d(t, x, y, out); return 0;
    case G_OP_CONV2D_WGRAD: conv2d_wgrad(t, x, y, out); return 0;
    case G_OP_RAND_UNIFORM: case G_OP_RAND_NORMAL: case G_OP_RAND_INT: {
        uint32_t rc = counter(x), w[4];
        for (size_t j = 0; j < n; j++) {
            draw(t, (uint32_t)j, rc, w);
            double u = unit(w[0]);
            if (t->op == G_OP_RAND_UNIFORM) {
                out[j] = u;
            } else if (t->op == G_OP_RAND_NORMAL) {
                double u2 = (double)(w[1] >> 8) * (1.0 / 16777216.0);
                out[j] = sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * u2);
            } else {
                double k = floor(u * t->attr.rand.n);
                out[j] = k < t->attr.rand.n - 1 ? k : t->attr.rand.n - 1;
            }
        }
        return 0;
    }
    case G_OP_SHUFFLE:
        if (shuffle(t, y, counter(x), out))
            return fail(r, "ref: out of memory evaluating node %d (shuffle)", t->id);
        return 0;
    default:
        return fail(r, "ref: cannot evaluate op %s (node %d)", g_op_name(t->op), t->id);
    }
}

int g_ref_run(g_ref *r, g_tensor **roots, int n)
{
    if (!r) return -1;
    if (sync(r)) return -1;
    if (r->g->has_err) return fail(r, "ref: the graph has an error: %s", r->g->err);
    if (n < 0 || (n > 0 && !roots)) return fail(r, "ref run: bad roots");
    for (int i = 0; i < n; i++)
        if (!roots[i] || roots[i]->graph != r->g)
            return fail(r, "ref run: root %d is %s", i, roots[i] ? "from another graph" : "NULL");

    g_graph *g = r->g;
    int top = -1;
    memset(r->need, 0, (size_t)g->n);
    for (int i = 0; i < n; i++) {
        r->need[roots[i]->id] = 1;
        if (roots[i]->id > top) top = roots[i]->id;
    }
    for (int id = top; id >= 0; id--) {
        if (!r->need[id]) continue;
        g_tensor *t = g->nodes[id];
        for (int k = 0; k < t->nsrc; k++) r->need[t->src[k]->id] = 1;
    }

    /* dry run: every input read must have been written (by the host or an
     * earlier assign) before anything is changed */
    unsigned char *w = malloc((size_t)g->n);
    if (!w) return fail(r, "ref: out of memory");
    memcpy(w, r->written, (size_t)g->n);
    for (int id = 0; id <= top; id++) {
        g_tensor *t = g->nodes[id];
        if (!r->need[id] || g_is_leaf(t)) continue;
        for (int k = t->op == G_OP_ASSIGN ? 1 : 0; k < t->nsrc; k++) {
            g_tensor *s = t->src[k];
            if (s->op == G_OP_INPUT && !w[s->id]) {
                char b[64];
                fail(r, "ref: input '%s' %s is read by node %d (%s) but was never written",
                     s->name, g_shape_str(s, b, sizeof b), t->id, g_op_name(t->op));
                free(w);
                return -1;
            }
        }
        if (t->op == G_OP_ASSIGN && t->src[0]->op == G_OP_INPUT) w[t->src[0]->id] = 1;
    }
    for (int i = 0; i < n; i++) {
        if (roots[i]->op == G_OP_INPUT && !w[roots[i]->id]) {
            fail(r, "ref: input '%s' is a root but was never written", roots[i]->name);
            free(w);
            return -1;
        }
    }
    free(w);

    memset(r->evaluated, 0, (size_t)g->n);
    for (int id = 0; id <= top; id++) {
        if (!r->need[id]) continue;
        g_tensor *t = g->nodes[id];
        if (eval(r, t)) return -1;
        r->evaluated[id] = 1;
        if (r->round_f32 && !g_is_leaf(t) && !g_is_effect(t))
            for (size_t j = 0, n = count(t); j < n; j++) r->val[id][j] = (float)r->val[id][j];
    }
    return 0;
}
