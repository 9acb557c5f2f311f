/* difftest.c: the differential tester of the planner and the code
 * generator. Random graphs of ops from the op table, at shapes around
 * every threshold the planner and the kernels use (1, 3, 63-65, 255-257,
 * the register blocks 8 and 16 and their neighbours), with broadcasting,
 * constants, params and inputs (8-bit ones too) as operands, gradients
 * and gradients of gradients of random scalars, and effects (Adam, SGD,
 * assign). Each graph runs fused and unfused on the device and in the CPU
 * reference; a difference beyond the tolerance prints the seed and the
 * smallest failing part of the graph (the nodes the first differing node
 * needs).
 *
 *   difftest [--graphs N] [--seed S] [--seconds T] [--verbose] [--dump]
 *
 * runs graphs S, S+1, ... until N have run (default 20) or, with --seconds,
 * until T seconds have passed; --dump prints each graph. Exit status 1 on a difference, a failure to
 * plan or run, or a validation message (the layer is on). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases.h"
#include "exec.h"
#include "graph.h"
#include "runtime.h"

#define MAX_POOL 256
#define MAX_NUMEL 70000      /* per tensor: keeps the reference quick */

typedef struct gen {
    uint64_t s;
    g_graph *g;
    g_tensor *pool[MAX_POOL];   /* values the next ops may read */
    int npool;
    g_tensor *leaves[64];       /* inputs to fill */
    int nleaves;
    g_tensor *params[32];
    int nparams;
    int names;
    g_tensor *rng;
} gen;

static uint64_t next(gen *q) { return tc_next(&q->s); }
static int below(gen *q, int n) { return (int)(next(q) % (uint64_t)n); }
static int chance(gen *q, int percent) { return below(q, 100) < percent; }

/* Sizes where strategies change: group and block edges, the 256 of the
 * reductions' workgroup-per-output form. */
static const int DIMS[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 256, 257};
#define NDIMS ((int)(sizeof DIMS / sizeof DIMS[0]))

static size_t numel_of(int nd, const int *sh)
{
    size_t n = 1;
    for (int d = 0; d < nd; d++) n *= (size_t)sh[d];
    return n;
}

static void random_shape(gen *q, int *nd, int *sh)
{
    do {
        *nd = 1 + below(q, 3);
        for (int d = 0; d < *nd; d++) sh[d] = DIMS[below(q, NDIMS)];
    } while (numel_of(*nd, sh) > MAX_NUMEL);
}

static void add(gen *q, g_tensor *t)
{
    if (t && q->npool < MAX_POOL) q->pool[q->npool++] = t;
}

/* A new leaf (input, param or constant) of the given shape. */
static g_tensor *leaf(gen *q, int nd, const int *sh)
{
    char name[32];
    snprintf(name, sizeof name, "l%d", q->names++);
    int k = below(q, 10);
    if (k == 0 && q->nleaves < 64) {   /* an 8-bit input, read by whatever op the graph puts on it */
        snprintf(name, sizeof name, "u%d", q->names - 1);
        return q->leaves[q->nleaves++] = g_input_u8(q->g, name, nd, sh);
    }
    if (k < 4 && q->nleaves < 64) return q->leaves[q->nleaves++] = g_input(q->g, name, nd, sh);
    if (k < 8 && q->nparams < 32)
        return q->params[q->nparams++] = g_param(q->g, name, nd, sh, g_init_uniform(1.0f));
    return g_const(q->g, (float)(below(q, 9) - 4) * 0.375f, nd, sh);
}

static g_tensor *pick(gen *q) { return q->pool[below(q, q->npool)]; }

/* An operand that broadcasts with x: its shape, some dims set to 1, or
 * fewer leading dims; from the pool when one fits, else a new leaf. */
static g_tensor *partner(gen *q, const g_tensor *x)
{
    int nd = x->ndim, sh[G_MAX_DIMS];
    for (int d = 0; d < nd; d++) sh[d] = x->shape[d];
    int mode = below(q, 4);
    if (mode == 1)
        for (int d = 0; d < nd; d++)
            if (chance(q, 50)) sh[d] = 1;
    if (mode == 2 && nd > 0) {
        int drop = 1 + below(q, nd);
        nd -= drop;
        memmove(sh, sh + drop, (size_t)nd * sizeof *sh);
    }
    for (int i = 0; i < 6; i++) {
        g_tensor *c = pick(q);
        if (c->ndim == nd && !memcmp(c->shape, sh, (size_t)nd * sizeof *sh)) return c;
    }
    return leaf(q, nd, sh);
}

static g_tensor *unary(gen *q, g_tensor *x)
{
    switch (below(q, 13)) {
    case 0: return g_neg(x);
    case 1: return g_scale(x, 1.5f);
    case 2: return g_add_scalar(x, -0.25f);
    case 3: return g_exp(g_tanh(x));                       /* bounded */
    case 4: return g_log(g_add_scalar(g_square(x), 0.5f)); /* positive argument */
    case 5: return g_sqrt(g_add_scalar(g_abs(x), 0.25f));
    case 6: return g_relu(x);
    case 7: return g_leaky_relu(x, 0.2f);
    case 8: return g_tanh(x);
    case 9: return g_sigmoid(x);
    case 10: return g_softplus(x);
    case 11: return g_log_sigmoid(x);
    default: return g_abs(x);
    }
}

static g_tensor *binary(gen *q, g_tensor *a)
{
    g_tensor *b = partner(q, a);
    if (chance(q, 30)) {
        g_tensor *t = a;
        a = b;
        b = t;
    }
    switch (below(q, 7)) {
    case 0: return g_add(a, b);
    case 1: return g_sub(a, b);
    case 2: return g_mul(a, b);
    case 3: return g_div(a, g_add_scalar(g_abs(b), 0.5f));
    case 4: return g_select(g_gt(a, b), a, b);
    case 5: return g_mul(g_le(a, b), a);
    default: return g_add(g_mul(g_eq(a, a), b), g_lt(b, a));
    }
}

static g_tensor *reduction(gen *q, g_tensor *x)
{
    if (x->ndim == 0) return g_sum_all(x);
    switch (below(q, 7)) {
    case 0: return g_sum(x, below(q, x->ndim), below(q, 2));
    case 1: return g_mean(x, below(q, x->ndim), below(q, 2));
    case 2: {
        int sh[G_MAX_DIMS];
        for (int d = 0; d < x->ndim; d++) sh[d] = chance(q, 50) ? 1 : x->shape[d];
        return g_sum_to(x, x->ndim, sh);
    }
    case 4: return g_max(x, below(q, x->ndim) - x->ndim, below(q, 2));
    case 5: return g_argmax(x, below(q, x->ndim), below(q, 2));
    case 6: return g_log_softmax(x, below(q, x->ndim));
    default: return g_sum_all(x);
    }
}

/* x as [N,C,H,W] (leading ones added), max-pooled by a window that fits */
static g_tensor *pool(gen *q, g_tensor *x)
{
    int sh[4] = {1, 1, 1, 1};
    for (int d = 0; d < x->ndim; d++) sh[4 - x->ndim + d] = x->shape[d];
    int lim = sh[2] < sh[3] ? sh[2] : sh[3], k = 1 + below(q, 3);
    if (k > lim) k = lim;
    return g_max_pool2d(x->ndim == 4 ? x : g_reshape(x, 4, sh), k);
}

static g_tensor *layout(gen *q, g_tensor *x)
{
    int nd = x->ndim, sh[G_MAX_DIMS];
    for (int d = 0; d < nd; d++) sh[d] = x->shape[d];
    switch (below(q, 8)) {
    case 7: return pool(q, x);
    case 0: {   /* flatten, or split the first axis */
        size_t n = g_numel(x);
        if (nd >= 1 && sh[0] % 2 == 0 && nd < G_MAX_DIMS) {
            int s2[G_MAX_DIMS] = {2, sh[0] / 2};
            for (int d = 1; d < nd; d++) s2[d + 1] = sh[d];
            return g_reshape(x, nd + 1, s2);
        }
        int n1 = (int)n;
        return g_reshape(x, 1, &n1);
    }
    case 1:
        if (nd >= 2) return g_transpose(x);
        return g_reshape(x, 2, (int[]){1, nd ? sh[0] : 1});
    case 2: {
        if (nd < 2) return g_expand(x, 2, (int[]){3, nd ? sh[0] : 1});
        int perm[G_MAX_DIMS];
        for (int d = 0; d < nd; d++) perm[d] = nd - 1 - d;
        return g_permute(x, perm);
    }
    case 3: {
        if (nd == 0) break;
        int a = below(q, nd);
        if (sh[a] < 2) break;
        int len = 1 + below(q, sh[a] - 1);
        return g_slice(x, a, below(q, sh[a] - len + 1), len);
    }
    case 4: {
        if (nd == 0) break;
        int a = below(q, nd), extra = 1 + below(q, 3);
        return g_pad(x, a, below(q, extra + 1), sh[a] + extra);
    }
    case 5: {
        if (nd == 0) break;
        int a = below(q, nd);
        sh[a] = DIMS[below(q, 6)];
        if (numel_of(nd, sh) > MAX_NUMEL) break;
        g_tensor *parts[2] = {x, leaf(q, nd, sh)};
        if (chance(q, 50)) {
            parts[0] = parts[1];
            parts[1] = x;
        }
        return g_concat(q->g, parts, 2, a);
    }
    default: {   /* expand a size-1 axis */
        for (int d = 0; d < nd; d++)
            if (sh[d] == 1) {
                sh[d] = DIMS[below(q, NDIMS)];
                if (numel_of(nd, sh) <= MAX_NUMEL) return g_expand(x, nd, sh);
                break;
            }
        int s2[G_MAX_DIMS] = {3};
        for (int d = 0; d < nd && d + 1 < G_MAX_DIMS; d++) s2[d + 1] = sh[d];
        if (nd + 1 <= G_MAX_DIMS && numel_of(nd + 1, s2) <= MAX_NUMEL) return g_expand(x, nd + 1, s2);
        break;
    }
    }
    return g_neg(x);
}

/* x as [M, K] (flattened), times a new [K, N] operand in a random layout,
 * with a bias and an activation half the time (the fused epilogue). */
static g_tensor *matmul(gen *q, g_tensor *x)
{
    size_t n = g_numel(x);
    int k = x->ndim ? x->shape[x->ndim - 1] : 1, m = (int)(n / (size_t)k);
    g_tensor *a = g_reshape(x, 2, (int[]){m, k});
    int ta = chance(q, 30), tb = chance(q, 30), nn;
    do nn = DIMS[below(q, NDIMS)];
    while ((size_t)k * nn > MAX_NUMEL || (size_t)m * nn > MAX_NUMEL);
    if (ta) a = g_transpose(a);   /* stored [K, M]: matmul reads it transposed back */
    g_tensor *b = leaf(q, 2, tb ? (int[]){nn, k} : (int[]){k, nn});
    g_tensor *y = g_matmul(a, b, ta, tb);
    if (chance(q, 50)) y = g_leaky_relu(g_add(y, leaf(q, 1, &nn)), 0.2f);
    return y;
}

static g_tensor *gather(gen *q, g_tensor *x)
{
    if (x->ndim == 0) return g_neg(x);
    char name[32];
    snprintf(name, sizeof name, "idx%d", q->names++);
    int r = DIMS[below(q, 9)];
    g_tensor *idx = g_input(q->g, name, 1, &r);
    if (q->nleaves < 64) q->leaves[q->nleaves++] = idx;
    if (g_numel(x) / (size_t)x->shape[0] * (size_t)r > MAX_NUMEL) return g_neg(x);
    g_tensor *y = g_gather_rows(x, idx);
    if (chance(q, 40)) y = g_scatter_add_rows(y, idx, x->shape[0]);
    return y;
}

static g_tensor *conv(gen *q)
{
    int nb = 1 + below(q, 2), c = 1 + below(q, 4), h = 5 + below(q, 5), w = 5 + below(q, 5);
    int o = DIMS[below(q, 9)], kk = 2 + below(q, 2), s = 1 + below(q, 2), p = below(q, 2);
    g_tensor *x = leaf(q, 4, (int[]){nb, c, h, w});
    if (chance(q, 50)) return g_conv2d(x, leaf(q, 4, (int[]){o, c, kk, kk}), s, p);
    int op = s > 1 ? below(q, s) : 0;
    return g_conv_transpose2d(x, leaf(q, 4, (int[]){c, o, kk, kk}), s, p, op);
}

static g_tensor *random_op(gen *q)
{
    g_tensor *x = pick(q);
    switch (below(q, 20)) {
    case 0: case 1: case 2: case 3: return unary(q, x);
    case 4: case 5: case 6: case 7: return binary(q, x);
    case 8: case 9: case 10: return reduction(q, x);
    case 11: case 12: case 13: return layout(q, x);
    case 14: case 15: return matmul(q, x);
    case 16: return gather(q, x);
    case 17: return conv(q);
    case 18: {
        int nd, sh[G_MAX_DIMS];
        random_shape(q, &nd, sh);
        if (chance(q, 50)) return g_rand_uniform(q->rng, nd, sh);
        g_tensor *r = g_rand_normal(q->rng, nd, sh);
        return g_add(r, partner(q, r));
    }
    default:
        if (x->ndim == 2 && x->shape[0] > 1) return g_shuffle(q->rng, x, chance(q, 50));
        return unary(q, x);
    }
}

typedef struct built {
    g_tensor *roots[48];
    int nroots;
    g_tensor *written[32];   /* leaves the effects write: compared after the run */
    int nwritten;
} built;

static int build(gen *q, uint64_t seed, built *b)
{
    memset(b, 0, sizeof *b);
    q->s = seed * G_GOLDEN64 + 12345;
    q->g = g_graph_new();
    q->rng = g_rng(q->g, "rng", seed);
    int nstart = 2 + below(q, 3);
    for (int i = 0; i < nstart; i++) {
        int nd, sh[G_MAX_DIMS];
        random_shape(q, &nd, sh);
        add(q, leaf(q, nd, sh));
    }
    int nops = 4 + below(q, 12);
    for (int i = 0; i < nops; i++) {
        g_tensor *t = random_op(q);
        if (!t) return -1;
        add(q, t);
    }
    /* a random scalar of the last values, its gradients and their gradients */
    g_tensor *last = q->pool[q->npool - 1];
    g_tensor *loss = g_sum_all(g_mul(g_tanh(last), partner(q, last)));
    if (q->npool > 2) loss = g_add(loss, g_mean_all(g_square(g_tanh(q->pool[q->npool - 2]))));
    b->roots[b->nroots++] = loss;
    g_tensor *grads[32] = {NULL};
    int ng = 0;
    if (q->nparams > 0 && chance(q, 70)) {
        ng = q->nparams;
        if (g_grad(q->g, loss, q->params, ng, grads)) return -1;
        for (int i = 0; i < ng; i++) b->roots[b->nroots++] = grads[i];
        if (chance(q, 40)) {   /* double backward: the gradient of ||grad||^2 */
            g_tensor *h = g_sum_all(g_square(grads[below(q, ng)])), *gg[32];
            if (g_grad(q->g, h, q->params, ng, gg)) return -1;
            for (int i = 0; i < ng && b->nroots < 40; i++) b->roots[b->nroots++] = gg[i];
        }
    }
    for (int i = 0; i < 4 && b->nroots < 44; i++) b->roots[b->nroots++] = pick(q);
    /* effects, after every read above */
    g_tensor *eff[4];
    int ne = 0;
    if (ng > 0 && chance(q, 50)) {
        /* eps 1: Adam's first step is lr * g / (|g| + eps), so with a tiny eps
         * a gradient that cancels to 1e-6 in double and to 0 in fp32 moves
         * the param by lr against 0 (ill-conditioned, not a planner bug;
         * seed 1050); eps 1 keeps the step near lr * g */
        g_adam_opts ao = {0.01f, 0.5f, 0.9f, 1.0f, chance(q, 50) ? 3.0f : 0.0f, 0.1f};
        eff[ne++] = chance(q, 50) ? g_adam(q->g, "adam", q->params, grads, ng, ao)
                                  : g_sgd(q->g, q->params, grads, ng, 0.1f);
        for (int i = 0; i < ng; i++) b->written[b->nwritten++] = q->params[i];
    }
    if (chance(q, 40)) {
        g_tensor *v = pick(q);
        g_tensor *st = g_state(q->g, "st", v->ndim, v->shape, g_init_zeros());
        eff[ne++] = g_assign(st, g_add_scalar(v, 1.0f));
        b->written[b->nwritten++] = st;
    }
    eff[ne++] = g_rng_advance(q->rng);
    b->roots[b->nroots++] = g_group(q->g, eff, ne);
    return g_graph_error(q->g) ? -1 : 0;
}

/* |device - reference| within 1e-4 of the value and of the largest value of
 * the tensor (float against double through chains of ops), plus 30 times
 * the distance between the exact reference and one that rounds every value
 * to fp32 (an ill-conditioned value, 1 - tanh^2 near saturation say, moves
 * that much from rounding alone); values the reference finds non-finite or
 * huge are not compared. */
static long compare(const char *what, uint64_t seed, const g_tensor *t, const float *dv, const double *rv,
                    const double *pv, int verbose)
{
    size_t n = g_numel(t);
    double big = 0;
    for (size_t j = 0; j < n; j++)
        if (isfinite(rv[j]) && fabs(rv[j]) < 1e12 && fabs(rv[j]) > big) big = fabs(rv[j]);
    for (size_t j = 0; j < n; j++) {
        if (!isfinite(rv[j]) || fabs(rv[j]) >= 1e12 || !isfinite(pv[j])) continue;
        double err = fabs((double)dv[j] - rv[j]);
        if (!(err <= 1e-4 * (1.0 + fabs(rv[j])) + 1e-4 * big + 30 * fabs(pv[j] - rv[j]))) {
            if (verbose)
                fprintf(stderr, "difftest: seed %llu, %s: node %d (%s) element %zu: device %.9g, reference %.9g\n",
                        (unsigned long long)seed, what, t->id, g_op_name(t->op), j, dv[j], rv[j]);
            return (long)j;
        }
    }
    return -1;
}

/* Runs the roots on the device and in the reference and compares every
 * value root and every written leaf; the first differing node's id, -1
 * when all agree, -2 on a failure to plan or run. */
static int run_and_compare(rt_ctx *ctx, gen *q, built *b, uint64_t seed, int no_fusion, int verbose)
{
    g_session *s = NULL;
    g_plan *p = NULL;
    g_ref *r = g_ref_new(q->g, seed), *rp = g_ref_new(q->g, seed);   /* rp: every value rounded to fp32 */
    int bad = -1;
    if (!r || !rp || g_session_new(ctx, q->g, seed, &s)) { bad = -2; goto done; }
    g_ref_round_to_f32(rp, 1);
    for (int i = 0; i < q->nleaves; i++) {
        g_tensor *t = q->leaves[i];
        size_t n = g_numel(t);
        if (g_is_u8(t)) {
            uint8_t *b = malloc(n);
            if (!b) { bad = -2; goto done; }
            tc_fill_u8(b, n, seed * 131 + (uint64_t)i);
            int rc = g_session_write_u8(s, t, b) || g_ref_write_u8(r, t, b) || g_ref_write_u8(rp, t, b);
            free(b);
            if (rc) { bad = -2; goto done; }
            continue;
        }
        double *v = malloc(n * sizeof *v);
        float *f = malloc(n * sizeof *f);
        tc_input in = {.fill = t->name[0] == 'i' ? TC_INDEX : TC_SIGNED, .rows = 64};
        if (t->name[0] == 'i') {   /* an index input: rows of the tensors it gathers from */
            for (int id = t->id + 1; id < g_graph_size(q->g); id++) {
                g_tensor *u = g_graph_node(q->g, id);
                if (u->op == G_OP_GATHER_ROWS && u->src[1] == t) { in.rows = u->src[0]->shape[0]; break; }
            }
        }
        tc_fill(&in, v, n, seed * 131 + (uint64_t)i);
        for (size_t j = 0; j < n; j++) f[j] = (float)v[j];
        int rc = g_session_write(s, t, f) || g_ref_write_f(r, t, f) || g_ref_write_f(rp, t, f);
        free(v);
        free(f);
        if (rc) { bad = -2; goto done; }
    }
    g_plan_opts o = {.no_fusion = no_fusion};
    if (g_plan_new(s, b->roots, b->nroots, &o, &p) || g_plan_run(p, 1)) {
        fprintf(stderr, "difftest: seed %llu (fusion %s): %s\n", (unsigned long long)seed, no_fusion ? "off" : "on",
                rt_error());
        bad = -2;
        goto done;
    }
    if (g_ref_run(r, b->roots, b->nroots) || g_ref_run(rp, b->roots, b->nroots)) {
        fprintf(stderr, "difftest: seed %llu: reference: %s\n", (unsigned long long)seed, g_ref_error(r));
        bad = -2;
        goto done;
    }
    for (int i = 0; i < b->nroots + b->nwritten && bad == -1; i++) {
        g_tensor *t = i < b->nroots ? b->roots[i] : b->written[i - b->nroots];
        if (g_is_effect(t)) continue;
        size_t n = g_numel(t);
        float *dv = malloc(n * sizeof *dv);
        if (g_session_read(s, t, dv)) {
            fprintf(stderr, "difftest: seed %llu: reading node %d: %s\n", (unsigned long long)seed, t->id, rt_error());
            bad = -2;
        } else if (compare(no_fusion ? "unfused" : "fused", seed, t, dv, g_ref_value(r, t), g_ref_value(rp, t), verbose) >= 0) {
            bad = t->id;
        }
        free(dv);
    }
done:
    g_plan_free(p);
    g_session_free(s);
    g_ref_free(r);
    g_ref_free(rp);
    return bad;
}

int main(int argc, char **argv)
{
    long graphs = 20, seconds = 0;
    uint64_t first = 1;
    int verbose = 0, dump = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--graphs") && i + 1 < argc) graphs = atol(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) first = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atol(argv[++i]);
        else if (!strcmp(argv[i], "--verbose")) verbose = 1;
        else if (!strcmp(argv[i], "--dump")) dump = 1;
        else {
            fprintf(stderr, "usage: difftest [--graphs N] [--seed S] [--seconds T] [--verbose] [--dump]\n");
            return 2;
        }
    }
    rt_ctx *ctx;
    rt_options ro = {.validation = 1};
    if (rt_ctx_create(&ro, &ctx)) {
        fprintf(stderr, "difftest: %s\n", rt_error());
        return 1;
    }
    time_t t0 = time(NULL);
    long ran = 0, failed = 0, nodes = 0, skipped = 0;
    for (uint64_t seed = first;; seed++) {
        if (seconds > 0 ? time(NULL) - t0 >= seconds : ran >= graphs) break;
        gen q = {0};
        built b;
        if (build(&q, seed, &b)) {   /* a shape the generator should not have made */
            if (verbose) fprintf(stderr, "difftest: seed %llu: not built: %s\n", (unsigned long long)seed,
                                 g_graph_error(q.g));
            g_graph_free(q.g);
            skipped++;
            continue;
        }
        nodes += g_graph_size(q.g);
        if (dump) g_dump(q.g, b.roots, b.nroots, stdout);
        for (int nf = 0; nf < 2; nf++) {
            int bad = run_and_compare(ctx, &q, &b, seed, nf, 1);
            if (bad == -1) continue;
            failed++;
            if (bad >= 0) {
                /* the smallest failing part: the first node that differs when
                 * every value is a root (where that still fails) */
                built all = b;
                all.nroots = 0;
                for (int id = 0; id < g_graph_size(q.g) && all.nroots < 48; id++) {
                    g_tensor *t = g_graph_node(q.g, id);
                    if (!g_is_effect(t) && !g_is_leaf(t) && t->op != G_OP_CONST && id <= bad) all.roots[all.nroots++] = t;
                }
                int first_bad = all.nroots ? run_and_compare(ctx, &q, &all, seed, nf, verbose) : -1;
                g_tensor *at = g_graph_node(q.g, first_bad >= 0 ? first_bad : bad);
                fprintf(stderr, "difftest: seed %llu fails (fusion %s); the graph node %d needs:\n",
                        (unsigned long long)seed, nf ? "off" : "on", at->id);
                g_dump(q.g, &at, 1, stderr);
            } else {
                fprintf(stderr, "difftest: seed %llu cannot be planned or run (fusion %s); the graph:\n",
                        (unsigned long long)seed, nf ? "off" : "on");
                g_dump(q.g, b.roots, b.nroots, stderr);
            }
            break;
        }
        g_graph_free(q.g);
        ran++;
    }
    int vmsgs = rt_validation_count(ctx);
    rt_ctx_destroy(ctx);
    printf("{\"graphs\": %ld, \"nodes\": %ld, \"failed\": %ld, \"not_built\": %ld, \"first_seed\": %llu, "
           "\"validation_messages\": %d}\n", ran, nodes, failed, skipped, (unsigned long long)first, vmsgs);
    return failed || vmsgs ? 1 : 0;
}
