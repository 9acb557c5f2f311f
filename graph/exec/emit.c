/* emit.c: the GLSL of every generated dispatch unit (fused elementwise
 * groups, reductions with their epilogues, matmul epilogues) and the list of
 * what it binds, from a schedule alone: no device, no buffers.
 *
 * Inside a unit every node is a local `float v<id>` evaluated at the unit's
 * linear index `i`. Values from outside the unit are texel fetches at the
 * index the op's broadcasting or remapping gives (an 8-bit input is bound
 * as an R8_UNORM view, so the same fetch gives byte / 255: nothing here
 * knows of it); constants are inlined as exact bit patterns. */
#include "exec_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- string builder ---------------------------------------------------- */

typedef struct sb {
    char *s;
    size_t n, cap;
    int oom;
} sb;

static void sb_printf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sb *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) { b->oom = 1; return; }
        if (b->s && b->n + (size_t)k < b->cap) { b->n += (size_t)k; return; }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + (size_t)k + 1) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) { b->oom = 1; return; }
        b->s = ns;
        b->cap = cap;
    }
}

/* ---- expressions ------------------------------------------------------- */

typedef struct cg {
    const g_schedule *p;
    g_graph *g;
    int ui;
    sb body;
    int in[X_MAX_IN];    /* storage node ids read through texel views */
    int nin;
    int out[X_MAX_OUT];  /* storage node ids written */
    int nout;
    int rng;             /* uses philox */
    int matmul;          /* outputs: out 0 is the template's C */
    int section;         /* 1 while emitting a matmul's extra row (its xmembers) */
    int err;
} cg;

static int in_slot(cg *c, int storage)
{
    for (int k = 0; k < c->nin; k++)
        if (c->in[k] == storage) return k;
    if (c->nin == X_MAX_IN) { c->err = 1; return 0; }
    c->in[c->nin] = storage;
    return c->nin++;
}

static int out_slot(cg *c, int storage)
{
    for (int k = 0; k < c->nout; k++)
        if (c->out[k] == storage) return k;
    if (c->nout == X_MAX_OUT) { c->err = 1; return 0; }
    c->out[c->nout] = storage;
    return c->nout++;
}

static void out_name(cg *c, int k, char *buf, size_t n)
{
    if (c->matmul && k == 0) snprintf(buf, n, "C");
    else snprintf(buf, n, "out%d", k);
}

/* A float as its exact bit pattern. */
static void lit(char *buf, size_t n, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    snprintf(buf, n, "uintBitsToFloat(0x%08xu)", u);
}

static float const_value(const g_schedule *p, const g_tensor *t)
{
    /* reshape/expand chains of a constant, or of one folded at plan time */
    while (t->op != G_OP_CONST && !p->val[t->id].folded) t = t->src[0];
    return t->op == G_OP_CONST ? t->attr.scalar : p->val[t->id].cval;
}

static void strides(const g_tensor *t, size_t *st)
{
    size_t s = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        st[d] = s;
        s *= (size_t)t->shape[d];
    }
}

/* "((i / stride) % size)": coordinate d of linear index `iv` in shape t */
static void coord(char *buf, size_t n, const g_tensor *t, int d, const char *iv)
{
    size_t st[G_MAX_DIMS];
    strides(t, st);
    if (t->shape[d] == 1) snprintf(buf, n, "0u");
    else if (d == 0) snprintf(buf, n, "(%s / %zuu)", iv, st[0]);
    else snprintf(buf, n, "((%s / %zuu) %% %uu)", iv, st[d], (unsigned)t->shape[d]);
}

/* Index into s for element `iv` of shape o, numpy broadcasting. */
static void bcast_index(sb *b, const g_tensor *s, const g_tensor *o, const char *iv)
{
    if (g_numel(s) == 1) { sb_printf(b, "0u"); return; }
    if (g_numel(s) == g_numel(o)) { sb_printf(b, "%s", iv); return; }
    size_t ss[G_MAX_DIMS];
    strides(s, ss);
    int off = o->ndim - s->ndim, any = 0;
    sb_printf(b, "(");
    for (int d = 0; d < o->ndim; d++) {
        int sd = d - off;
        if (sd < 0 || s->shape[sd] == 1) continue;
        char cb[96];
        coord(cb, sizeof cb, o, d, iv);
        sb_printf(b, "%s%s * %zuu", any ? " + " : "", cb, ss[sd]);
        any = 1;
    }
    sb_printf(b, "%s)", any ? "" : "0u");
}

/* Appends the value of source k of t (evaluated at t's index `iv`). */
static void operand(cg *c, sb *b, const g_tensor *t, int k, const char *iv)
{
    const g_tensor *s = t->src[k];
    int st = x_storage_of(c->p, s->id);
    const x_val *sv = &c->p->val[st];
    if (sv->kind == X_CONST || c->p->val[s->id].kind == X_CONST) {
        char l[48];
        lit(l, sizeof l, const_value(c->p, s));
        sb_printf(b, "%s", l);
        return;
    }
    if (c->p->val[s->id].unit == c->ui && c->p->val[s->id].alias < 0 && (int)c->p->val[s->id].xsec == c->section) {
        sb_printf(b, "v%d", s->id);
        return;
    }
    sb_printf(b, "LOAD1(in%d, ", in_slot(c, st));
    const g_tensor *o = (t->op == G_OP_ASSIGN || t->op == G_OP_ADAM || t->op == G_OP_SGD) ? t->src[0] : t;
    bcast_index(b, s, o, iv);
    sb_printf(b, ")");
}

/* Index expression into src x from explicit per-dimension coordinate strings. */
static void index_from_coords(sb *b, const g_tensor *x, char cs[G_MAX_DIMS][160])
{
    size_t xs[G_MAX_DIMS];
    strides(x, xs);
    sb_printf(b, "(0u");
    for (int d = 0; d < x->ndim; d++)
        if (x->shape[d] > 1) sb_printf(b, " + (%s) * %zuu", cs[d], xs[d]);
    sb_printf(b, ")");
}

/* A constant, or a constant in another shape, has no buffer: ops that read
 * their source at a remapped index take its value instead of a fetch. */
static int is_const(const cg *c, const g_tensor *x)
{
    return c->p->val[x_storage_of(c->p, x->id)].kind == X_CONST || c->p->val[x->id].kind == X_CONST;
}

/* x at the index given by per-dimension coordinates. */
static void fetch(cg *c, sb *b, const g_tensor *x, char cs[G_MAX_DIMS][160])
{
    if (is_const(c, x)) {
        char l[48];
        lit(l, sizeof l, const_value(c->p, x));
        sb_printf(b, "%s", l);
        return;
    }
    sb_printf(b, "LOAD1(in%d, ", in_slot(c, x_storage_of(c->p, x->id)));
    index_from_coords(b, x, cs);
    sb_printf(b, ")");
}

/* x at the index expression idx, as text. */
static void value_at(cg *c, const g_tensor *x, const char *idx, char *out, size_t n)
{
    if (is_const(c, x)) lit(out, n, const_value(c->p, x));
    else snprintf(out, n, "LOAD1(in%d, %s)", in_slot(c, x_storage_of(c->p, x->id)), idx);
}

static void emit_member(cg *c, const g_tensor *t)
{
    sb *b = &c->body;
    char l0[48], l1[48], l2[48], l3[48];
    int id = t->id;
    const x_val *xv = &c->p->val[id];
    if (xv->ksum) return;   /* summed over K by the matmul itself (kstack.c) */
    if (xv->kpass) {        /* the running sum already holds the other term */
        int k = c->p->val[t->src[0]->id].ksum ? 1 : 0;
        sb_printf(b, "    float v%d = v%d;\n", id, t->src[k]->id);
        return;
    }
    if (t->op == G_OP_CONST) {
        lit(l0, sizeof l0, t->attr.scalar);
        sb_printf(b, "    float v%d = %s;\n", id, l0);
        return;
    }
    if (t->op == G_OP_ASSIGN) {
        char on[16];
        out_name(c, out_slot(c, t->src[0]->id), on, sizeof on);
        sb_printf(b, "    %s[i] = ", on);
        operand(c, b, t, 1, "i");
        sb_printf(b, ";\n");
        return;
    }
    if (t->op == G_OP_SGD) {
        char on[16];
        out_name(c, out_slot(c, t->src[0]->id), on, sizeof on);
        lit(l0, sizeof l0, t->attr.optim.lr);
        sb_printf(b, "    { float p_ = ");
        operand(c, b, t, 0, "i");
        sb_printf(b, "; float g_ = ");
        operand(c, b, t, 1, "i");
        sb_printf(b, "; %s[i] = p_ - %s * g_; }\n", on, l0);
        return;
    }
    if (t->op == G_OP_ADAM) {
        char op_[16], om[16], ov[16];
        out_name(c, out_slot(c, t->src[0]->id), op_, sizeof op_);
        out_name(c, out_slot(c, t->src[2]->id), om, sizeof om);
        out_name(c, out_slot(c, t->src[3]->id), ov, sizeof ov);
        lit(l0, sizeof l0, t->attr.optim.lr);
        lit(l1, sizeof l1, t->attr.optim.beta1);
        lit(l2, sizeof l2, t->attr.optim.beta2);
        lit(l3, sizeof l3, t->attr.optim.eps);
        const char *nm[5] = {"p_", "g_", "m_", "s_", "t_"};
        sb_printf(b, "    {\n");
        for (int k = 0; k < 5; k++) {
            sb_printf(b, "        float %s = ", nm[k]);
            operand(c, b, t, k, "i");
            sb_printf(b, ";\n");
        }
        sb_printf(b, "        t_ += 1.0;\n");
        if (t->attr.optim.decay_steps > 0) {
            char ld[48], lf[48];
            lit(ld, sizeof ld, t->attr.optim.decay_steps);
            lit(lf, sizeof lf, 1.0f - t->attr.optim.lr_final);
            sb_printf(b, "        float lr_ = %s * (1.0 - %s * min(t_ / %s, 1.0));\n", l0, lf, ld);
        } else {
            sb_printf(b, "        float lr_ = %s;\n", l0);
        }
        sb_printf(b,
                  "        m_ = %s * m_ + (1.0 - %s) * g_;\n"
                  "        s_ = %s * s_ + (1.0 - %s) * g_ * g_;\n"
                  "        float c1_ = 1.0 - pow(%s, t_), c2_ = 1.0 - pow(%s, t_);\n"
                  "        %s[i] = p_ - lr_ * (m_ / c1_) / (sqrt(s_ / c2_) + %s);\n"
                  "        %s[i] = m_;\n        %s[i] = s_;\n    }\n",
                  l1, l1, l2, l2, l1, l2, op_, l3, om, ov);
        return;
    }

    /* value ops: operands first, in locals */
    switch (t->op) {
    case G_OP_PERMUTE: case G_OP_SLICE: case G_OP_PAD: case G_OP_CONCAT: case G_OP_GATHER_ROWS:
    case G_OP_SCATTER_ADD_ROWS: case G_OP_RAND_UNIFORM: case G_OP_RAND_NORMAL: case G_OP_RAND_INT:
    case G_OP_MAX_POOL2D: case G_OP_MAX_POOL2D_GRAD: case G_OP_MATMUL:
        break;
    default:
        sb_printf(b, "    float v%d;\n    {\n", id);
        for (int k = 0; k < t->nsrc; k++) {
            sb_printf(b, "        float a%d = ", k);
            operand(c, b, t, k, "i");
            sb_printf(b, ";\n");
        }
        break;
    }
    lit(l0, sizeof l0, t->attr.scalar);
    const char *cmp = NULL;
    switch (t->op) {
    case G_OP_NEG: sb_printf(b, "        v%d = -a0;\n", id); break;
    case G_OP_SCALE: sb_printf(b, "        v%d = a0 * %s;\n", id, l0); break;
    case G_OP_ADD_SCALAR: sb_printf(b, "        v%d = a0 + %s;\n", id, l0); break;
    case G_OP_EXP: sb_printf(b, "        v%d = exp(a0);\n", id); break;
    case G_OP_LOG: sb_printf(b, "        v%d = log(a0);\n", id); break;
    case G_OP_SQRT: sb_printf(b, "        v%d = sqrt(a0);\n", id); break;
    case G_OP_SQUARE: sb_printf(b, "        v%d = a0 * a0;\n", id); break;
    case G_OP_ABS: sb_printf(b, "        v%d = abs(a0);\n", id); break;
    case G_OP_RELU: sb_printf(b, "        v%d = max(a0, 0.0);\n", id); break;
    case G_OP_LEAKY_RELU: sb_printf(b, "        v%d = a0 > 0.0 ? a0 : %s * a0;\n", id, l0); break;
    /* tanh of a large argument overflows exp in some drivers' tanh */
    case G_OP_TANH: sb_printf(b, "        v%d = tanh(clamp(a0, -15.0, 15.0));\n", id); break;
    case G_OP_SIGMOID: sb_printf(b, "        v%d = 1.0 / (1.0 + exp(-a0));\n", id); break;
    case G_OP_SOFTPLUS: sb_printf(b, "        v%d = max(a0, 0.0) + log(1.0 + exp(-abs(a0)));\n", id); break;
    case G_OP_LOG_SIGMOID: sb_printf(b, "        v%d = min(a0, 0.0) - log(1.0 + exp(-abs(a0)));\n", id); break;
    case G_OP_ADD: sb_printf(b, "        v%d = a0 + a1;\n", id); break;
    case G_OP_SUB: sb_printf(b, "        v%d = a0 - a1;\n", id); break;
    case G_OP_MUL: sb_printf(b, "        v%d = a0 * a1;\n", id); break;
    case G_OP_DIV: sb_printf(b, "        v%d = a0 / a1;\n", id); break;
    case G_OP_GT: cmp = ">"; break;
    case G_OP_GE: cmp = ">="; break;
    case G_OP_LT: cmp = "<"; break;
    case G_OP_LE: cmp = "<="; break;
    case G_OP_EQ: cmp = "=="; break;
    case G_OP_SELECT: sb_printf(b, "        v%d = a0 != 0.0 ? a1 : a2;\n", id); break;
    case G_OP_EXPAND: case G_OP_RESHAPE: case G_OP_STOP_GRADIENT: sb_printf(b, "        v%d = a0;\n", id); break;
    case G_OP_ONE_HOT: {
        char cb[96];
        coord(cb, sizeof cb, t, t->attr.axis.axis, "i");
        sb_printf(b, "        v%d = trunc(a0) == float(%s) ? 1.0 : 0.0;\n", id, cb);
        break;
    }
    case G_OP_MAX_POOL2D: case G_OP_MAX_POOL2D_GRAD: {
        /* the window's first maximum: only a strictly larger value moves it */
        const g_tensor *x = t->src[0];
        unsigned k = (unsigned)t->attr.conv.kh, H = (unsigned)x->shape[2], W = (unsigned)x->shape[3];
        unsigned Ho = H / k, Wo = W / k;
        char xs[128], gs[128], gi[96];
        value_at(c, x, "j_", xs, sizeof xs);
        if (t->op == G_OP_MAX_POOL2D) {
            sb_printf(b, "    float v%d = uintBitsToFloat(0xff800000u);\n"
                         "    { uint q_ = i / %uu, wo_ = i %% %uu, ho_ = q_ %% %uu, nc_ = q_ / %uu;\n"
                         "      uint b_ = (nc_ * %uu + ho_ * %uu) * %uu + wo_ * %uu;\n",
                      id, Wo, Wo, Ho, Ho, H, k, W, k);
        } else {
            snprintf(gi, sizeof gi, "(nc_ * %uu + ho_) * %uu + wo_", Ho, Wo);
            value_at(c, t->src[1], gi, gs, sizeof gs);
            sb_printf(b, "    float v%d = 0.0;\n"
                         "    { uint q_ = i / %uu, w_ = i %% %uu, h_ = q_ %% %uu, nc_ = q_ / %uu;\n"
                         "      uint ho_ = h_ / %uu, wo_ = w_ / %uu;\n"
                         "      if (ho_ < %uu && wo_ < %uu) {\n"
                         "      uint b_ = (nc_ * %uu + ho_ * %uu) * %uu + wo_ * %uu, a_ = b_;\n"
                         "      float m_ = uintBitsToFloat(0xff800000u);\n",
                      id, W, W, H, H, k, k, Ho, Wo, H, k, W, k);
        }
        sb_printf(b, "      for (uint p_ = 0u; p_ < %uu; p_++)\n"
                     "        for (uint r_ = 0u; r_ < %uu; r_++) {\n"
                     "          uint j_ = b_ + p_ * %uu + r_;\n          float x_ = %s;\n",
                  k, k, W, xs);
        if (t->op == G_OP_MAX_POOL2D) {
            sb_printf(b, "          if (x_ > v%d) v%d = x_;\n        }\n    }\n", id, id);
        } else {
            sb_printf(b, "          if (x_ > m_) { m_ = x_; a_ = j_; }\n        }\n"
                         "      if (a_ == i) v%d = %s;\n    } }\n",
                      id, gs);
        }
        return;
    }
    case G_OP_MATMUL: {   /* K = 1 only (schedule.c): the outer product C[m, n] = A[m] B[n] */
        char ai[48], bi[48], as[128], bs[128];
        unsigned n = (unsigned)t->shape[1];
        snprintf(ai, sizeof ai, "i / %uu", n);
        snprintf(bi, sizeof bi, "i %% %uu", n);
        value_at(c, t->src[0], ai, as, sizeof as);
        value_at(c, t->src[1], bi, bs, sizeof bs);
        sb_printf(b, "    float v%d = %s * %s;\n", id, as, bs);
        return;
    }
    case G_OP_RAND_UNIFORM: case G_OP_RAND_NORMAL: case G_OP_RAND_INT: {
        c->rng = 1;
        int slot = in_slot(c, x_storage_of(c->p, t->src[0]->id));
        unsigned k0 = (unsigned)(t->attr.rand.seed & 0xffffffffu), k1 = (unsigned)(t->attr.rand.seed >> 32);
        if (t->op == G_OP_RAND_UNIFORM)
            sb_printf(b, "    float v%d = meg_uniform(uvec2(%uu, %uu), i, %uu, uint(LOAD1(in%d, 0u)));\n", id, k0,
                      k1, (unsigned)t->attr.rand.stream, slot);
        else if (t->op == G_OP_RAND_NORMAL)
            sb_printf(b, "    float v%d = meg_normal(uvec2(%uu, %uu), i, %uu, uint(LOAD1(in%d, 0u)));\n", id, k0,
                      k1, (unsigned)t->attr.rand.stream, slot);
        else
            sb_printf(b, "    float v%d = meg_randint(uvec2(%uu, %uu), i, %uu, uint(LOAD1(in%d, 0u)), %uu);\n", id,
                      k0, k1, (unsigned)t->attr.rand.stream, slot, (unsigned)t->attr.rand.n);
        return;
    }
    case G_OP_PERMUTE: case G_OP_SLICE: case G_OP_PAD: {
        const g_tensor *x = t->src[0];
        char cs[G_MAX_DIMS][160];
        for (int d = 0; d < t->ndim; d++) {
            char cb[96];
            coord(cb, sizeof cb, t, d, "i");
            if (t->op == G_OP_PERMUTE) snprintf(cs[t->attr.permute.perm[d]], sizeof cs[0], "%s", cb);
            else if (t->op == G_OP_SLICE && d == t->attr.axis.axis) snprintf(cs[d], sizeof cs[0], "%s + %uu", cb, (unsigned)t->attr.axis.start);
            else if (t->op == G_OP_PAD && d == t->attr.axis.axis) snprintf(cs[d], sizeof cs[0], "uint(c_)");
            else snprintf(cs[d], sizeof cs[0], "%s", cb);
        }
        if (t->op == G_OP_PAD) {
            char cb[96];
            coord(cb, sizeof cb, t, t->attr.axis.axis, "i");
            sb_printf(b, "    float v%d = 0.0;\n    { int c_ = int(%s) - %d;\n      if (c_ >= 0 && c_ < %d) v%d = ", id, cb,
                      t->attr.axis.start, x->shape[t->attr.axis.axis], id);
            fetch(c, b, x, cs);
            sb_printf(b, "; }\n");
        } else {
            sb_printf(b, "    float v%d = ", id);
            fetch(c, b, x, cs);
            sb_printf(b, ";\n");
        }
        return;
    }
    case G_OP_CONCAT: {
        int axis = t->attr.axis.axis;
        char cb[96];
        coord(cb, sizeof cb, t, axis, "i");
        sb_printf(b, "    float v%d;\n    { uint c_ = %s;\n", id, cb);
        int start = 0;
        for (int k = 0; k < t->nsrc; k++) {
            const g_tensor *x = t->src[k];
            char cs[G_MAX_DIMS][160];
            for (int d = 0; d < t->ndim; d++) {
                char cd[96];
                coord(cd, sizeof cd, t, d, "i");
                if (d == axis) snprintf(cs[d], sizeof cs[0], "c_ - %uu", (unsigned)start);
                else snprintf(cs[d], sizeof cs[0], "%s", cd);
            }
            start += x->shape[axis];
            if (c->p->val[x_storage_of(c->p, x->id)].kind == X_CONST) {
                lit(l1, sizeof l1, const_value(c->p, x));
                sb_printf(b, "      %sif (c_ < %uu) v%d = %s;\n", k ? "else " : "", (unsigned)start, id, l1);
                continue;
            }
            int slot = in_slot(c, x_storage_of(c->p, x->id));
            sb_printf(b, "      %sif (c_ < %uu) v%d = LOAD1(in%d, ", k ? "else " : "", (unsigned)start, id, slot);
            index_from_coords(b, x, cs);
            sb_printf(b, ");\n");
        }
        sb_printf(b, "      else v%d = 0.0;\n    }\n", id);
        return;
    }
    case G_OP_GATHER_ROWS: {
        const g_tensor *x = t->src[0], *ix = t->src[1];
        size_t row = g_numel(x) / (size_t)x->shape[0];
        char xs[128], is[128], xi[64], ii[64];
        snprintf(xi, sizeof xi, "uint(r_) * %zuu + i %% %zuu", row, row);
        snprintf(ii, sizeof ii, "i / %zuu", row);
        value_at(c, x, xi, xs, sizeof xs);
        value_at(c, ix, ii, is, sizeof is);
        sb_printf(b, "    float v%d;\n    { int r_ = clamp(int(%s), 0, %d);\n      v%d = %s; }\n", id, is,
                  x->shape[0] - 1, id, xs);
        return;
    }
    case G_OP_SCATTER_ADD_ROWS: {
        const g_tensor *x = t->src[0], *ix = t->src[1];
        size_t row = g_numel(t) / (size_t)t->shape[0];
        char xs[128], is[128], xi[64];
        snprintf(xi, sizeof xi, "r_ * %zuu + j_", row);
        value_at(c, x, xi, xs, sizeof xs);
        value_at(c, ix, "r_", is, sizeof is);
        sb_printf(b, "    float v%d = 0.0;\n    { uint k_ = i / %zuu, j_ = i %% %zuu;\n"
                     "      for (uint r_ = 0u; r_ < %zuu; r_++)\n"
                     "        if (uint(clamp(int(%s), 0, %d)) == k_) v%d += %s; }\n",
                  id, row, row, g_numel(ix), is, t->shape[0] - 1, id, xs);
        return;
    }
    default:
        c->err = 2;
        rt_set_error("code generation: op %s cannot be fused (a planner bug)", g_op_name(t->op));
        return;
    }
    if (cmp) sb_printf(b, "        v%d = a0 %s a1 ? 1.0 : 0.0;\n", id, cmp);
    sb_printf(b, "    }\n");
}

/* Stores of the members whose values are read outside the unit. */
static void emit_stores_of(cg *c, const int *members, int n)
{
    for (int m = 0; m < n; m++) {
        int id = members[m];
        const x_val *v = &c->p->val[id];
        if (!v->materialize) continue;
        char on[16];
        out_name(c, out_slot(c, id), on, sizeof on);
        sb_printf(&c->body, "    %s[i] = v%d;\n", on, id);
    }
}

static void emit_stores(cg *c, const x_unit *u) { emit_stores_of(c, u->members, u->nmembers); }

static void emit_decls(cg *c, sb *h, int first_binding)
{
    int bnd = first_binding;
    for (int k = c->matmul ? 1 : 0; k < c->nout; k++)
        sb_printf(h, "layout(binding = %d) writeonly buffer O%d { float out%d[]; };\n", bnd++, k, k);
    for (int k = 0; k < c->nin; k++) sb_printf(h, "layout(binding = %d) uniform samplerBuffer in%d;\n", bnd++, k);
}

static const char *HEADER = "#version 450\n#extension GL_GOOGLE_include_directive : require\n#include \"common.glsl\"\n";

/* Moves what c collected into out (the source becomes out->glsl). */
static int finish(cg *c, const x_unit *u, sb *src, x_source *out)
{
    if (c->err || c->body.oom || src->oom) {
        if (c->err != 2) rt_set_error("code generation for %s: too many bindings or out of memory", u->label);
        free(src->s);
        return -1;
    }
    out->glsl = src->s;
    out->matmul = c->matmul;
    memcpy(out->out, c->out, sizeof c->out);
    out->nout = c->nout;
    memcpy(out->in, c->in, sizeof c->in);
    out->nin = c->nin;
    return 0;
}

static void reduce_part(cg *c, const x_unit *u, int first, int n, sb *fn);

/* A horizontally fused unit (hfuse.c): each part a function of its own
 * index, and main picks the part of its invocation. Parts start at
 * multiples of 64, so a workgroup runs one part. A part may be a
 * reduction with one invocation per output. */
static int emit_parts(const g_schedule *p, int ui, x_source *out)
{
    const x_unit *u = &p->units[ui];
    cg c = {.p = p, .g = p->g, .ui = ui};
    sb fns = {0}, pick = {0};
    for (int k = 0; k < u->nparts; k++) {
        const x_part *pt = &u->parts[k];
        const g_tensor *head = g_graph_node(c.g, u->members[pt->first]);
        if (g_op_info_of(head->op)->kind == G_KIND_REDUCTION) {
            sb fn = {0};
            reduce_part(&c, u, pt->first, pt->n, &fn);
            sb_printf(&fns, "void meg_part%d(uint i)\n{\n%s}\n", k, fn.s ? fn.s : "");
            if (fn.oom) fns.oom = 1;
            free(fn.s);
        } else {
            for (int m = pt->first; m < pt->first + pt->n; m++) emit_member(&c, g_graph_node(c.g, u->members[m]));
            emit_stores_of(&c, &u->members[pt->first], pt->n);
            sb_printf(&fns, "void meg_part%d(uint i)\n{\n%s}\n", k, c.body.s ? c.body.s : "");
        }
        if (c.body.oom) fns.oom = 1;
        free(c.body.s);
        c.body = (sb){0};
        size_t end = k + 1 < u->nparts ? u->parts[k + 1].offset : u->numel;
        sb_printf(&pick, "    %sif (g < %zuu) { if (g - %zuu < %zuu) meg_part%d(g - %zuu); }\n", k ? "else " : "", end,
                  pt->offset, pt->numel, k, pt->offset);
    }
    sb src = {0};
    if (fns.oom || pick.oom) src.oom = 1;
    sb_printf(&src, "%s%slayout(local_size_x = 64) in;\n", HEADER, c.rng ? "#include \"philox.glsl\"\n" : "");
    emit_decls(&c, &src, 0);
    sb_printf(&src, "%svoid main()\n{\n    uint g = MEG_LINEAR_ID(64u);\n"
                    "%s}\n", fns.s ? fns.s : "", pick.s ? pick.s : "");
    free(fns.s);
    free(pick.s);
    out->invocations = u->numel;
    return finish(&c, u, &src, out);
}

static int emit_ew(const g_schedule *p, int ui, x_source *out)
{
    const x_unit *u = &p->units[ui];
    if (u->nparts) return emit_parts(p, ui, out);
    cg c = {.p = p, .g = p->g, .ui = ui};
    for (int m = 0; m < u->nmembers; m++) emit_member(&c, g_graph_node(c.g, u->members[m]));
    emit_stores(&c, u);
    sb src = {0};
    sb_printf(&src, "%s%slayout(local_size_x = 64) in;\n", HEADER, c.rng ? "#include \"philox.glsl\"\n" : "");
    emit_decls(&c, &src, 0);
    sb_printf(&src, "void main()\n{\n    uint i = MEG_LINEAR_ID(64u);\n"
                    "    if (i >= %zuu) return;\n%s}\n", u->numel, c.body.s ? c.body.s : "");
    free(c.body.s);
    c.body.s = NULL;
    out->invocations = u->numel;
    return finish(&c, u, &src, out);
}

/* sum_to adds; max and argmax keep the first maximum (only a strictly
 * larger value moves it; across lanes the lower index wins a tie) */
static const char *const RED_INIT[3] = {"float acc = 0.0;", "float acc = uintBitsToFloat(0xff800000u);",
                                        "float acc = 0.0, best = uintBitsToFloat(0xff800000u);"};
static const char *const RED_STEP[3] = {
    "acc += x_;", "if (x_ > acc) acc = x_;", "if (x_ > best) { best = x_; acc = float(r); }"};
static const char *const RED_TREE[3] = {
    "part[lane] += part[lane + s];",
    "if (part[lane + s] > part[lane]) part[lane] = part[lane + s];",
    "if (part[lane + s] > part[lane] || (part[lane + s] == part[lane] && pidx[lane + s] < pidx[lane])) {\n"
    "            part[lane] = part[lane + s];\n            pidx[lane] = pidx[lane + s];\n        }"};

/* What a reduction h computes for output i: the base offset of output i in
 * its source, the loop over the reduced elements, the mode (0 sum, 1 max,
 * 2 argmax) and whether it takes a workgroup per output. */
typedef struct reduction {
    sb base, loop;
    int mode, wg;
} reduction;

static void reduce_setup(cg *c, const g_tensor *h, reduction *r)
{
    const g_schedule *p = c->p;
    const g_tensor *x = h->src[0];
    memset(r, 0, sizeof *r);
    /* output aligned to x's dimensions: kept and reduced axes */
    size_t xs[G_MAX_DIMS];
    strides(x, xs);
    int off = x->ndim - h->ndim;
    size_t rn = 1;
    int red[G_MAX_DIMS], nred = 0;
    for (int d = 0; d < x->ndim; d++) {
        int od = d - off;
        int keep = od >= 0 && h->shape[od] == x->shape[d];
        if (!keep && x->shape[d] > 1) { red[nred++] = d; rn *= (size_t)x->shape[d]; }
    }
    int xconst = p->val[x_storage_of(p, x->id)].kind == X_CONST || p->val[x->id].kind == X_CONST;
    /* a workgroup per output where outputs are few and long; the sum of a
     * constant is one product, so it never needs one */
    r->wg = !xconst && g_numel(h) < 256 && rn >= 256;
    int slot = xconst ? -1 : in_slot(c, x_storage_of(p, x->id));
    /* base offset of output i in x */
    sb_printf(&r->base, "0u");
    for (int d = 0; d < x->ndim; d++) {
        int od = d - off;
        if (od < 0 || h->shape[od] != x->shape[d] || x->shape[d] == 1) continue;
        char cb[96];
        coord(cb, sizeof cb, h, od, "i");
        sb_printf(&r->base, " + %s * %zuu", cb, xs[d]);
    }
    /* offset of reduced element r */
    sb roff = {0};
    sb_printf(&roff, "0u");
    size_t rstride = 1;
    for (int j = nred - 1; j >= 0; j--) {
        int d = red[j];
        if (j == 0) sb_printf(&roff, " + (r / %zuu) * %zuu", rstride, xs[d]);
        else sb_printf(&roff, " + ((r / %zuu) %% %uu) * %zuu", rstride, (unsigned)x->shape[d], xs[d]);
        rstride *= (size_t)x->shape[d];
    }
    r->mode = h->op == G_OP_MAX ? 1 : h->op == G_OP_ARGMAX ? 2 : 0;
    if (xconst) {
        char cl[48];
        lit(cl, sizeof cl, const_value(c->p, x));
        if (r->mode == 0) sb_printf(&r->loop, "        acc = %s * %zu.0;\n", cl, rn);
        else if (r->mode == 1) sb_printf(&r->loop, "        acc = %s;\n", cl);
        else sb_printf(&r->loop, "        acc = 0.0;   // every element is the first maximum\n");
    } else if (r->wg) {
        sb_printf(&r->loop, "        for (uint r = lane; r < %zuu; r += 64u) { float x_ = LOAD1(in%d, base + %s); %s }\n",
                  rn, slot, roff.s, RED_STEP[r->mode]);
    } else {
        sb_printf(&r->loop, "        for (uint r = 0u; r < %zuu; r++) { float x_ = LOAD1(in%d, base + %s); %s }\n", rn,
                  slot, roff.s, RED_STEP[r->mode]);
    }
    if (roff.oom) r->loop.oom = 1;
    free(roff.s);
}

static void reduce_free(reduction *r)
{
    free(r->base.s);
    free(r->loop.s);
}

/* A reduction with one invocation per output, as the body of a function
 * of i (a part of a horizontally fused unit): members [first, first + n)
 * of unit u, the head a reduction that reduce_setup gave no workgroup. */
static void reduce_part(cg *c, const x_unit *u, int first, int n, sb *fn)
{
    const g_tensor *h = g_graph_node(c->g, u->members[first]);
    reduction r;
    reduce_setup(c, h, &r);
    sb_printf(&c->body, "    float v%d = acc;\n", h->id);
    for (int m = first + 1; m < first + n; m++) emit_member(c, g_graph_node(c->g, u->members[m]));
    emit_stores_of(c, &u->members[first], n);
    sb_printf(fn, "    %s\n    {\n        uint base = %s;\n%s    }\n%s", RED_INIT[r.mode], r.base.s, r.loop.s,
              c->body.s ? c->body.s : "");
    if (r.wg || r.base.oom || r.loop.oom) fn->oom = 1;   /* hfuse.c never merges a workgroup reduction */
    reduce_free(&r);
}

static int emit_reduce(const g_schedule *p, int ui, x_source *out)
{
    const x_unit *u = &p->units[ui];
    g_graph *g = p->g;
    const g_tensor *h = g_graph_node(g, u->members[0]);
    cg c = {.p = p, .g = g, .ui = ui};
    reduction r;
    reduce_setup(&c, h, &r);
    int mode = r.mode, wg = r.wg;
    sb_printf(&c.body, "    float v%d = acc;\n", h->id);
    for (int m = 1; m < u->nmembers; m++) emit_member(&c, g_graph_node(g, u->members[m]));
    emit_stores(&c, u);
    sb src = {0};
    if (r.base.oom || r.loop.oom) src.oom = 1;
    sb_printf(&src, "%s%slayout(local_size_x = 64) in;\n", HEADER, c.rng ? "#include \"philox.glsl\"\n" : "");
    emit_decls(&c, &src, 0);
    if (wg) {
        sb_printf(&src,
                  "shared float part[64];\n%svoid main()\n{\n"
                  "    uint i = MEG_GROUP_LINEAR_ID;\n"
                  "    uint lane = gl_LocalInvocationID.x;\n    %s\n"
                  "    if (i < %zuu) {\n        uint base = %s;\n%s    }\n"
                  "    part[lane] = %s;\n%s    barrier();\n"
                  "    for (uint s = 32u; s > 0u; s >>= 1) {\n        if (lane < s) %s\n"
                  "        barrier();\n    }\n"
                  "    if (lane != 0u || i >= %zuu) return;\n    acc = %s[0];\n%s}\n",
                  mode == 2 ? "shared float pidx[64];\n" : "", RED_INIT[mode], g_numel(h), r.base.s, r.loop.s,
                  mode == 2 ? "best" : "acc", mode == 2 ? "    pidx[lane] = acc;\n" : "", RED_TREE[mode], g_numel(h),
                  mode == 2 ? "pidx" : "part", c.body.s);
    } else {
        sb_printf(&src,
                  "void main()\n{\n    uint i = MEG_LINEAR_ID(64u);\n"
                  "    if (i >= %zuu) return;\n    %s\n    {\n        uint base = %s;\n%s    }\n%s}\n",
                  g_numel(h), RED_INIT[mode], r.base.s, r.loop.s, c.body.s);
    }
    free(c.body.s);
    c.body.s = NULL;
    reduce_free(&r);
    out->invocations = g_numel(h);
    out->group_per_output = wg;
    return finish(&c, u, &src, out);
}

/* The epilogue meg_store(m, n, acc) of a matmul unit: the head's value at
 * (m, n), its fused members, and (row m == M) the extra row's members. */
static int emit_matmul(const g_schedule *p, int ui, x_source *out)
{
    const x_unit *u = &p->units[ui];
    g_graph *g = p->g;
    const g_tensor *h = g_graph_node(g, u->members[0]);
    cg c = {.p = p, .g = g, .ui = ui, .matmul = 1};
    if (u->nxmembers) {
        /* row M: the column sums of B, the partner reduction's value */
        c.section = 1;
        sb_printf(&c.body, "  if (m == M) {\n    uint i = n;\n    float v%d = acc;\n", u->xmembers[0]);
        for (int m = 1; m < u->nxmembers; m++) emit_member(&c, g_graph_node(g, u->xmembers[m]));
        emit_stores_of(&c, u->xmembers, u->nxmembers);
        sb_printf(&c.body, "    return;\n  }\n");
        c.section = 0;
    }
    sb_printf(&c.body, "    uint i = m * N + n;\n    float v%d = acc;\n", h->id);
    for (int m = 1; m < u->nmembers; m++) emit_member(&c, g_graph_node(g, u->members[m]));
    emit_stores(&c, u);
    if (!c.err && c.nout == 0) {
        free(c.body.s);
        rt_set_error("internal: matmul unit %s has no output", u->label);
        return -1;
    }
    sb src = {0};
    if (c.rng) sb_printf(&src, "#include \"philox.glsl\"\n");
    emit_decls(&c, &src, 3);
    sb_printf(&src, "void meg_store(uint m, uint n, float acc)\n{\n%s}\n", c.body.s ? c.body.s : "");
    free(c.body.s);
    c.body.s = NULL;
    return finish(&c, u, &src, out);
}

int x_emit_unit(const g_schedule *p, int ui, x_source *out)
{
    memset(out, 0, sizeof *out);
    const x_unit *u = &p->units[ui];
    switch (u->kind) {
    case X_EW: return emit_ew(p, ui, out);
    case X_REDUCE: return emit_reduce(p, ui, out);
    case X_MATMUL:
        if (u->nmembers == 1 && u->nxmembers == 0) return 0;   /* no epilogue: the embedded kernel */
        return emit_matmul(p, ui, out);
    case X_STATIC: return 0;
    default:
        rt_set_error("internal: unit %d (%s) of kind %d has no code", ui, u->label, (int)u->kind);
        return -1;
    }
}

void x_source_free(x_source *s)
{
    free(s->glsl);
    s->glsl = NULL;
}
