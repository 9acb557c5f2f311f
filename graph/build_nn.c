/* build_nn.c: the builders of matmul, convolutions, batch norm, random
 * numbers, effects and optimizers, with their shape checks. */
#include "graph_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        t->attr.matmul.transpose_a = ta;
        t->attr.matmul.transpose_b = tb;
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
        t->attr.conv = (g_conv_attr){.stride = stride, .pad = pad, .kh = w->shape[2], .kw = w->shape[3]};
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
        t->attr.conv = (g_conv_attr){.stride = stride, .pad = pad, .out_pad = out_pad, .kh = w->shape[2], .kw = w->shape[3]};
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
        t->attr.conv = (g_conv_attr){.stride = stride, .pad = pad, .kh = kh, .kw = kw};
    }
    return t;
}

/* [N,C,H/k,W/k] for x [N,C,H,W] into sh, or -1 with an error naming what. */
static int pool_shape(g_graph *g, const char *what, const g_tensor *x, int k, int *sh)
{
    char bx[64];
    if (x->ndim != 4 || k < 1 || k > x->shape[2] || k > x->shape[3]) {
        g__fail(g, "%s: needs x [N,C,H,W] with H and W at least the window k >= 1: x %s, k %d", what,
                g_shape_str(x, bx, sizeof bx), k);
        return -1;
    }
    sh[0] = x->shape[0];
    sh[1] = x->shape[1];
    sh[2] = x->shape[2] / k;
    sh[3] = x->shape[3] / k;
    return 0;
}

g_tensor *g_max_pool2d(g_tensor *x, int k)
{
    g_graph *g = g__check_srcs("max_pool2d", 1, &x, 0);
    int sh[4];
    if (!g || pool_shape(g, "max_pool2d", x, k, sh)) return NULL;
    g_tensor *t = g__node(g, "max_pool2d", G_OP_MAX_POOL2D, 4, sh, 1, &x);
    if (t) t->attr.conv = (g_conv_attr){.stride = k, .kh = k, .kw = k};
    return t;
}

g_tensor *g_max_pool2d_grad(g_tensor *x, g_tensor *gy, int k)
{
    g_tensor *src[2] = {x, gy};
    g_graph *g = g__check_srcs("max_pool2d_grad", 2, src, 0);
    int sh[4];
    if (!g || pool_shape(g, "max_pool2d_grad", x, k, sh)) return NULL;
    if (gy->ndim != 4 || memcmp(gy->shape, sh, sizeof sh)) {
        char bx[64], bg[64], bs[64];
        g__fail(g, "max_pool2d_grad: gy %s is not the pooled shape %s of x %s with k %d",
                g_shape_str(gy, bg, sizeof bg), g__shape_str(4, sh, bs, sizeof bs), g_shape_str(x, bx, sizeof bx), k);
        return NULL;
    }
    g_tensor *t = g__node(g, "max_pool2d_grad", G_OP_MAX_POOL2D_GRAD, 4, x->shape, 2, src);
    if (t) t->attr.conv = (g_conv_attr){.stride = k, .kh = k, .kw = k};
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
        t->attr.rand.seed = seed;
        t->flags |= G_FLAG_RNG;
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
    if (check_rng(g, what, rng) || g__check_shape(g, what, ndim, shape)) return NULL;
    g_tensor *t = g__node(g, what, op, ndim, shape, 1, &rng);
    if (t) {
        t->attr.rand.seed = rng->attr.rand.seed;
        t->attr.rand.stream = t->id;
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
    if (t) t->attr.rand.n = n;
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
        t->attr.rand.whole_rows = whole_rows != 0;
        t->attr.rand.inverse = 0;
        t->attr.rand.seed = rng->attr.rand.seed;
        t->attr.rand.stream = t->id;
    }
    return t;
}

g_tensor *g_rng_advance(g_tensor *rng)
{
    if (!rng) return NULL;
    if (check_rng(rng->graph, "rng_advance", rng)) return NULL;
    return g_assign(rng, g_add_scalar(rng, 1.0f));
}

g_tensor *g_dropout(g_tensor *rng, g_tensor *x, float p)
{
    g_tensor *src[2] = {rng, x};
    g_graph *g = g__check_srcs("dropout", 2, src, 0);
    if (!g) return NULL;
    if (check_rng(g, "dropout", rng)) return NULL;
    if (!(p >= 0.0f && p < 1.0f)) {
        char b[64];
        g__fail(g, "dropout: p %g must be in [0, 1) (x %s)", (double)p, g_shape_str(x, b, sizeof b));
        return NULL;
    }
    if (p == 0.0f) return x;
    g_tensor *u = g_rand_uniform(rng, x->ndim, x->shape);
    g_tensor *keep = g_scale(g_ge(u, g_scalar(g, p)), (float)(1.0 / (1.0 - (double)p)));
    return g_mul(x, keep);
}

g_tensor *g_bernoulli(g_tensor *rng, g_tensor *p)
{
    g_tensor *src[2] = {rng, p};
    g_graph *g = g__check_srcs("bernoulli", 2, src, 0);
    if (!g) return NULL;
    if (check_rng(g, "bernoulli", rng)) return NULL;
    return g_lt(g_rand_uniform(rng, p->ndim, p->shape), p);
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
    if (g_is_u8(target)) {
        /* its buffer holds bytes; kernels write fp32 */
        g__fail(g, "assign: target '%s' %s is an 8-bit input (g_input_u8), which only the host writes",
                target->name, g_shape_str(target, bt, sizeof bt));
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
            g__fail(g, "%s: entry %d is not a param leaf but %s%s %s", what, k, g_is_u8(params[k]) ? "8-bit " : "",
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
    if (!(opts.decay_steps >= 0) || !(opts.lr_final >= 0 && opts.lr_final <= 1)) {
        g__fail(g, "adam: decay_steps %g must be >= 0 and lr_final %g in [0, 1]", (double)opts.decay_steps,
                (double)opts.lr_final);
        return NULL;
    }
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
        deps[k]->attr.optim = (g_optim_attr){opts.lr, opts.beta1, opts.beta2, opts.eps, opts.decay_steps,
                                             opts.lr_final};
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
        deps[k]->attr.optim.lr = lr;
    }
    res = g_group(g, deps, n);
done:
    free(deps);
    return res;
}
