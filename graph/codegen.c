/* codegen.c: GLSL for every dispatch unit (fused elementwise groups,
 * matmul epilogues, reductions), compiled with libshaderc and cached by a
 * hash of the source, in memory and on disk; and the bindings of every unit.
 *
 * Inside a unit every node is a local `float v<id>` evaluated at the unit's
 * linear index `i`. Values from outside the unit are texel fetches at the
 * index the op's broadcasting or remapping gives; constants are inlined as
 * exact bit patterns. */
#include "exec_internal.h"

#include <errno.h>
#include <pthread.h>
#include <shaderc/shaderc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- compilation and cache -------------------------------------------- */

typedef struct spv_entry {
    uint64_t hash;
    uint32_t *words;
    size_t nwords;
    struct spv_entry *next;
} spv_entry;

static spv_entry *spv_cache;
static pthread_mutex_t spv_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct inc_ctx { const char *generated; } inc_ctx;

static shaderc_include_result *inc_resolve(void *user, const char *req, int type, const char *from, size_t depth)
{
    (void)type; (void)from; (void)depth;
    inc_ctx *ic = user;
    shaderc_include_result *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    const char *text = !strcmp(req, "generated.glsl") ? ic->generated : rt_source(req);
    if (text) {
        r->source_name = req;
        r->source_name_length = strlen(req);
        r->content = text;
        r->content_length = strlen(text);
    } else {
        r->source_name = "";
        r->content = "no such include file";
        r->content_length = strlen(r->content);
    }
    return r;
}

static void inc_release(void *user, shaderc_include_result *r) { (void)user; free(r); }

static void cache_path(char *out, size_t n, uint64_t h)
{
    char dir[900];
    out[0] = 0;
    if (!rt_cache_dir(dir, sizeof dir)) snprintf(out, n, "%s/spv/%016llx.spv", dir, (unsigned long long)h);
}

static int load_cached(uint64_t h, uint32_t **words, size_t *nwords)
{
    char path[1024];
    cache_path(path, sizeof path, h);
    if (!path[0]) return -1;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 20 || n % 4 || n > (16 << 20)) { fclose(f); return -1; }
    uint32_t *w = malloc((size_t)n);
    if (!w || fread(w, 1, (size_t)n, f) != (size_t)n || w[0] != 0x07230203) {
        free(w);
        fclose(f);
        return -1;
    }
    fclose(f);
    *words = w;
    *nwords = (size_t)n / 4;
    return 0;
}

/* Best effort: a cache file that cannot be written costs a compile later. */
static void store_cached(uint64_t h, const uint32_t *words, size_t nwords)
{
    char path[1024], keep[256];
    cache_path(path, sizeof path, h);
    if (!path[0]) return;
    snprintf(keep, sizeof keep, "%s", rt_error());
    if (rt_write_file_atomic(path, words, nwords * 4, RT_WRITE_MKDIRS | RT_WRITE_CACHE)) rt_set_error("%s", keep);
}

int x_compile(const char *source, int matmul_template, uint32_t **words, size_t *nwords, char *key, size_t keyn)
{
    static uint64_t salt;
    if (!salt) {
        /* the templates and includes are part of what a generated kernel is */
        const char *parts[] = {"matmul", "common.glsl", "philox.glsl"};
        uint64_t h = G_FNV_OFFSET64;
        for (int i = 0; i < 3; i++) {
            const char *t = rt_source(parts[i]);
            if (t) h = g_fnv1a64(h, t, strlen(t));
        }
        salt = h;
    }
    uint64_t h = g_fnv1a64(salt, source, strlen(source));
    h = g_fnv1a64(h, matmul_template == X_TEMPLATE_TILED ? "T" : matmul_template ? "M" : "E", 1);
    snprintf(key, keyn, "gen-%016llx", (unsigned long long)h);

    pthread_mutex_lock(&spv_lock);
    for (spv_entry *e = spv_cache; e; e = e->next)
        if (e->hash == h) {
            *words = e->words;
            *nwords = e->nwords;
            pthread_mutex_unlock(&spv_lock);
            return 0;
        }
    pthread_mutex_unlock(&spv_lock);

    uint32_t *w = NULL;
    size_t nw = 0;
    if (load_cached(h, &w, &nw)) {
        /* One compiler for the process: glslang parses its built-in
         * declarations again whenever the last compiler is released. */
        static shaderc_compiler_t comp;
        pthread_mutex_lock(&spv_lock);
        if (!comp) comp = shaderc_compiler_initialize();
        pthread_mutex_unlock(&spv_lock);
        shaderc_compile_options_t o = shaderc_compile_options_initialize();
        if (!comp || !o) {
            if (o) shaderc_compile_options_release(o);
            rt_set_error("shaderc_compiler_initialize failed");
            return -1;
        }
        shaderc_compile_options_set_target_env(o, shaderc_target_env_vulkan, shaderc_env_version_vulkan_1_1);
        shaderc_compile_options_set_optimization_level(o, shaderc_optimization_level_performance);
        inc_ctx ic = {matmul_template ? source : NULL};
        shaderc_compile_options_set_include_callbacks(o, inc_resolve, inc_release, &ic);
        const char *main_src = source;
        if (matmul_template) {
            shaderc_compile_options_add_macro_definition(o, "MEG_GENERATED", 13, "1", 1);
            if (matmul_template == X_TEMPLATE_TILED)
                shaderc_compile_options_add_macro_definition(o, "MEG_TILED", 9, "1", 1);
            main_src = rt_source("matmul");
        }
        shaderc_compilation_result_t r = shaderc_compile_into_spv(comp, main_src, strlen(main_src),
                                                                  shaderc_glsl_compute_shader, key, "main", o);
        int ok = r && shaderc_result_get_compilation_status(r) == shaderc_compilation_status_success;
        if (!ok) {
            rt_set_error("shaderc could not compile generated kernel %s: %s\n--- source ---\n%.3000s", key,
                         r ? shaderc_result_get_error_message(r) : "no result", source);
        } else {
            nw = shaderc_result_get_length(r) / 4;
            w = malloc(nw * 4);
            if (w) memcpy(w, shaderc_result_get_bytes(r), nw * 4);
            else { ok = 0; rt_set_error("out of host memory"); }
        }
        if (r) shaderc_result_release(r);
        shaderc_compile_options_release(o);
        if (!ok) return -1;
        store_cached(h, w, nw);
    }
    spv_entry *e = malloc(sizeof *e);
    if (!e) { free(w); rt_set_error("out of host memory"); return -1; }
    e->hash = h;
    e->words = w;
    e->nwords = nw;
    pthread_mutex_lock(&spv_lock);
    e->next = spv_cache;
    spv_cache = e;
    pthread_mutex_unlock(&spv_lock);
    *words = w;
    *nwords = nw;
    return 0;
}

/* ---- expressions ------------------------------------------------------- */

typedef struct cg {
    g_plan *p;
    g_graph *g;
    int ui;
    sb body;
    int in[64];          /* storage node ids read through texel views */
    int nin;
    int out[32];         /* storage node ids written */
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
    if (c->nin == 64) { c->err = 1; return 0; }
    c->in[c->nin] = storage;
    return c->nin++;
}

static int out_slot(cg *c, int storage)
{
    for (int k = 0; k < c->nout; k++)
        if (c->out[k] == storage) return k;
    if (c->nout == 32) { c->err = 1; return 0; }
    c->out[c->nout] = storage;
    return c->nout++;
}

static void out_name(cg *c, int k, char *buf, size_t n)
{
    if (c->matmul && k == 0) snprintf(buf, n, "C");
    else snprintf(buf, n, "out%d", k);
}

static void lit(char *buf, size_t n, float f) { snprintf(buf, n, "uintBitsToFloat(0x%08xu)", rt_f2u(f)); }

static float const_value(const g_tensor *t)
{
    while (t->op != G_OP_CONST) t = t->src[0];   /* reshape/expand chains of a constant */
    return t->f[0];
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
    x_val *sv = &c->p->val[st];
    if (sv->kind == X_CONST || c->p->val[s->id].kind == X_CONST) {
        char l[48];
        lit(l, sizeof l, const_value(s));
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

static void emit_member(cg *c, const g_tensor *t)
{
    sb *b = &c->body;
    char l0[48], l1[48], l2[48], l3[48];
    int id = t->id;
    if (t->op == G_OP_CONST) {
        lit(l0, sizeof l0, t->f[0]);
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
        lit(l0, sizeof l0, t->f[0]);
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
        lit(l0, sizeof l0, t->f[0]);
        lit(l1, sizeof l1, t->f[1]);
        lit(l2, sizeof l2, t->f[2]);
        lit(l3, sizeof l3, t->f[3]);
        const char *nm[5] = {"p_", "g_", "m_", "s_", "t_"};
        sb_printf(b, "    {\n");
        for (int k = 0; k < 5; k++) {
            sb_printf(b, "        float %s = ", nm[k]);
            operand(c, b, t, k, "i");
            sb_printf(b, ";\n");
        }
        sb_printf(b,
                  "        t_ += 1.0;\n"
                  "        m_ = %s * m_ + (1.0 - %s) * g_;\n"
                  "        s_ = %s * s_ + (1.0 - %s) * g_ * g_;\n"
                  "        float c1_ = 1.0 - pow(%s, t_), c2_ = 1.0 - pow(%s, t_);\n"
                  "        %s[i] = p_ - %s * (m_ / c1_) / (sqrt(s_ / c2_) + %s);\n"
                  "        %s[i] = m_;\n        %s[i] = s_;\n    }\n",
                  l1, l1, l2, l2, l1, l2, op_, l0, l3, om, ov);
        return;
    }

    /* value ops: operands first, in locals */
    switch (t->op) {
    case G_OP_PERMUTE: case G_OP_SLICE: case G_OP_PAD: case G_OP_CONCAT: case G_OP_GATHER_ROWS:
    case G_OP_SCATTER_ADD_ROWS: case G_OP_RAND_UNIFORM: case G_OP_RAND_NORMAL: case G_OP_RAND_INT:
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
    lit(l0, sizeof l0, t->f[0]);
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
    case G_OP_EXPAND: case G_OP_RESHAPE: sb_printf(b, "        v%d = a0;\n", id); break;
    case G_OP_RAND_UNIFORM: case G_OP_RAND_NORMAL: case G_OP_RAND_INT: {
        c->rng = 1;
        int slot = in_slot(c, x_storage_of(c->p, t->src[0]->id));
        unsigned k0 = (unsigned)(t->seed & 0xffffffffu), k1 = (unsigned)(t->seed >> 32);
        if (t->op == G_OP_RAND_UNIFORM)
            sb_printf(b, "    float v%d = meg_uniform(uvec2(%uu, %uu), i, %uu, uint(LOAD1(in%d, 0u)));\n", id, k0,
                      k1, (unsigned)t->stream, slot);
        else if (t->op == G_OP_RAND_NORMAL)
            sb_printf(b, "    float v%d = meg_normal(uvec2(%uu, %uu), i, %uu, uint(LOAD1(in%d, 0u)));\n", id, k0,
                      k1, (unsigned)t->stream, slot);
        else
            sb_printf(b, "    float v%d = meg_randint(uvec2(%uu, %uu), i, %uu, uint(LOAD1(in%d, 0u)), %uu);\n", id,
                      k0, k1, (unsigned)t->stream, slot, (unsigned)t->i[0]);
        return;
    }
    case G_OP_PERMUTE: case G_OP_SLICE: case G_OP_PAD: {
        const g_tensor *x = t->src[0];
        char cs[G_MAX_DIMS][160];
        for (int d = 0; d < t->ndim; d++) {
            char cb[96];
            coord(cb, sizeof cb, t, d, "i");
            if (t->op == G_OP_PERMUTE) snprintf(cs[t->i[d]], sizeof cs[0], "%s", cb);
            else if (t->op == G_OP_SLICE && d == t->i[0]) snprintf(cs[d], sizeof cs[0], "%s + %uu", cb, (unsigned)t->i[1]);
            else if (t->op == G_OP_PAD && d == t->i[0]) snprintf(cs[d], sizeof cs[0], "uint(c_)");
            else snprintf(cs[d], sizeof cs[0], "%s", cb);
        }
        int slot = in_slot(c, x_storage_of(c->p, x->id));
        if (t->op == G_OP_PAD) {
            char cb[96];
            coord(cb, sizeof cb, t, t->i[0], "i");
            sb_printf(b, "    float v%d = 0.0;\n    { int c_ = int(%s) - %d;\n      if (c_ >= 0 && c_ < %d) v%d = LOAD1(in%d, ",
                      id, cb, t->i[1], x->shape[t->i[0]], id, slot);
            index_from_coords(b, x, cs);
            sb_printf(b, "); }\n");
        } else {
            sb_printf(b, "    float v%d = LOAD1(in%d, ", id, slot);
            index_from_coords(b, x, cs);
            sb_printf(b, ");\n");
        }
        return;
    }
    case G_OP_CONCAT: {
        int axis = t->i[0];
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
                lit(l1, sizeof l1, const_value(x));
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
        int sx = in_slot(c, x_storage_of(c->p, x->id));
        int si = in_slot(c, x_storage_of(c->p, ix->id));
        sb_printf(b, "    float v%d;\n    { int r_ = clamp(int(LOAD1(in%d, i / %zuu)), 0, %d);\n"
                     "      v%d = LOAD1(in%d, uint(r_) * %zuu + i %% %zuu); }\n",
                  id, si, row, x->shape[0] - 1, id, sx, row, row);
        return;
    }
    case G_OP_SCATTER_ADD_ROWS: {
        const g_tensor *x = t->src[0], *ix = t->src[1];
        size_t row = g_numel(t) / (size_t)t->shape[0];
        int sx = in_slot(c, x_storage_of(c->p, x->id));
        int si = in_slot(c, x_storage_of(c->p, ix->id));
        sb_printf(b, "    float v%d = 0.0;\n    { uint k_ = i / %zuu, j_ = i %% %zuu;\n"
                     "      for (uint r_ = 0u; r_ < %zuu; r_++)\n"
                     "        if (uint(clamp(int(LOAD1(in%d, r_)), 0, %d)) == k_) v%d += LOAD1(in%d, r_ * %zuu + j_); }\n",
                  id, row, row, g_numel(ix), si, t->shape[0] - 1, id, sx, row);
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
        x_val *v = &c->p->val[id];
        if (!v->materialize) continue;
        char on[16];
        out_name(c, out_slot(c, id), on, sizeof on);
        sb_printf(&c->body, "    %s[i] = v%d;\n", on, id);
    }
}

static void emit_stores(cg *c, x_unit *u) { emit_stores_of(c, u->members, u->nmembers); }

static void emit_decls(cg *c, sb *h, int first_binding)
{
    int bnd = first_binding;
    for (int k = c->matmul ? 1 : 0; k < c->nout; k++)
        sb_printf(h, "layout(binding = %d) writeonly buffer O%d { float out%d[]; };\n", bnd++, k, k);
    for (int k = 0; k < c->nin; k++) sb_printf(h, "layout(binding = %d) uniform samplerBuffer in%d;\n", bnd++, k);
}

static const char *HEADER = "#version 450\n#extension GL_GOOGLE_include_directive : require\n#include \"common.glsl\"\n";


static int binding_for(g_plan *p, int storage, int vec4, rt_binding *b)
{
    if (x_binding_of(p, storage, b)) return -1;
    b->vec4 = vec4;
    return 0;
}

/* Bindings of a generated kernel: outputs then inputs (after `pre` fixed ones). */
static int make_bindings(cg *c, x_unit *u, const rt_binding *pre, int npre)
{
    int skip_c = c->matmul ? 1 : 0;
    u->nbind = npre + (c->nout - skip_c) + c->nin;
    u->bind = calloc((size_t)u->nbind, sizeof *u->bind);
    if (!u->bind) { rt_set_error("out of host memory"); return -1; }
    int k = 0;
    for (int i = 0; i < npre; i++) u->bind[k++] = pre[i];
    for (int i = skip_c; i < c->nout; i++)
        if (binding_for(c->p, c->out[i], 0, &u->bind[k++])) return -1;
    for (int i = 0; i < c->nin; i++)
        if (binding_for(c->p, c->in[i], 0, &u->bind[k++])) return -1;
    return 0;
}

static void label_unit(g_plan *p, x_unit *u)
{
    g_graph *g = p->s->g;
    size_t n = 0;
    u->label[0] = 0;
    for (int m = 0; m < u->nmembers + u->nxmembers && n + 24 < sizeof u->label; m++) {
        int id = m < u->nmembers ? u->members[m] : u->xmembers[m - u->nmembers];
        const char *nm = g_op_name(g_graph_node(g, id)->op);
        n += (size_t)snprintf(u->label + n, sizeof u->label - n, "%s%s", m == u->nmembers ? "|" : m ? "+" : "", nm);
    }
    if (u->nmembers > 1 && n + 24 >= sizeof u->label)
        snprintf(u->label + n, sizeof u->label - n, "...(%d)", u->nmembers);
}

static int compile_generated(g_plan *p, x_unit *u, const char *src, int matmul, const uint32_t *spec, int nspec)
{
    uint32_t *words;
    size_t nwords;
    char key[64];
    if (x_compile(src, matmul, &words, &nwords, key, sizeof key)) {
        rt_error_prefix("kernel for %s", u->label);
        return -1;
    }
    return rt_kernel_from_spirv(p->s->ctx, key, words, nwords, spec, nspec, &u->kernel);
}

static int gen_ew(g_plan *p, int ui)
{
    x_unit *u = &p->units[ui];
    cg c = {.p = p, .g = p->s->g, .ui = ui};
    for (int m = 0; m < u->nmembers; m++) emit_member(&c, g_graph_node(c.g, u->members[m]));
    emit_stores(&c, u);
    if (c.err || c.body.oom) {
        if (c.err != 2) rt_set_error("code generation for %s: too many bindings or out of memory", u->label);
        free(c.body.s);
        return -1;
    }
    sb src = {0};
    sb_printf(&src, "%s%slayout(local_size_x = 64) in;\n", HEADER, c.rng ? "#include \"philox.glsl\"\n" : "");
    emit_decls(&c, &src, 0);
    sb_printf(&src, "void main()\n{\n    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * 64u);\n"
                    "    if (i >= %zuu) return;\n%s}\n", u->numel, c.body.s ? c.body.s : "");
    free(c.body.s);
    if (src.oom) { free(src.s); rt_set_error("out of host memory"); return -1; }
    int rc = make_bindings(&c, u, NULL, 0);
    if (!rc) rc = compile_generated(p, u, src.s, 0, NULL, 0);
    free(src.s);
    rt_groups_1d(u->numel, 64, u->groups);
    return rc;
}

static int gen_reduce(g_plan *p, int ui)
{
    x_unit *u = &p->units[ui];
    g_graph *g = p->s->g;
    const g_tensor *h = g_graph_node(g, u->members[0]), *x = h->src[0];
    cg c = {.p = p, .g = g, .ui = ui};
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
    int wg = g_numel(h) < 256 && rn >= 256;   /* a workgroup per output */
    sb body = {0};
    int xconst = p->val[x_storage_of(p, x->id)].kind == X_CONST || p->val[x->id].kind == X_CONST;
    int slot = xconst ? -1 : in_slot(&c, x_storage_of(p, x->id));
    /* base offset of output i in x */
    sb base = {0};
    sb_printf(&base, "0u");
    for (int d = 0; d < x->ndim; d++) {
        int od = d - off;
        if (od < 0 || h->shape[od] != x->shape[d] || x->shape[d] == 1) continue;
        char cb[96];
        coord(cb, sizeof cb, h, od, "i");
        sb_printf(&base, " + %s * %zuu", cb, xs[d]);
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
    char cl[48];
    if (xconst) lit(cl, sizeof cl, const_value(x));
    if (xconst) sb_printf(&body, "        acc = %s * %zu.0;\n", cl, rn);
    else if (wg)
        sb_printf(&body, "        for (uint r = lane; r < %zuu; r += 64u) acc += LOAD1(in%d, base + %s);\n", rn, slot,
                  roff.s);
    else sb_printf(&body, "        for (uint r = 0u; r < %zuu; r++) acc += LOAD1(in%d, base + %s);\n", rn, slot, roff.s);
    sb_printf(&c.body, "    float v%d = acc;\n", h->id);
    for (int m = 1; m < u->nmembers; m++) emit_member(&c, g_graph_node(g, u->members[m]));
    emit_stores(&c, u);
    if (c.err || c.body.oom || body.oom || base.oom || roff.oom) {
        if (c.err != 2) rt_set_error("code generation for %s: too many bindings or out of memory", u->label);
        free(c.body.s); free(body.s); free(base.s); free(roff.s);
        return -1;
    }
    sb src = {0};
    sb_printf(&src, "%s%slayout(local_size_x = 64) in;\n", HEADER, c.rng ? "#include \"philox.glsl\"\n" : "");
    emit_decls(&c, &src, 0);
    if (wg) {
        sb_printf(&src,
                  "shared float part[64];\nvoid main()\n{\n"
                  "    uint i = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;\n"
                  "    uint lane = gl_LocalInvocationID.x;\n    float acc = 0.0;\n"
                  "    if (i < %zuu) {\n        uint base = %s;\n%s    }\n"
                  "    part[lane] = acc;\n    barrier();\n"
                  "    for (uint s = 32u; s > 0u; s >>= 1) {\n        if (lane < s) part[lane] += part[lane + s];\n"
                  "        barrier();\n    }\n"
                  "    if (lane != 0u || i >= %zuu) return;\n    acc = part[0];\n%s}\n",
                  g_numel(h), base.s, xconst ? "" : body.s, g_numel(h), c.body.s);
        if (xconst) {
            rt_set_error("internal: constant reduction in workgroup mode");
        }
    } else {
        sb_printf(&src,
                  "void main()\n{\n    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * 64u);\n"
                  "    if (i >= %zuu) return;\n    float acc = 0.0;\n    {\n        uint base = %s;\n%s    }\n%s}\n",
                  g_numel(h), base.s, body.s, c.body.s);
    }
    free(c.body.s); free(body.s); free(base.s); free(roff.s);
    if (src.oom) { free(src.s); rt_set_error("out of host memory"); return -1; }
    int rc = make_bindings(&c, u, NULL, 0);
    if (!rc) rc = compile_generated(p, u, src.s, 0, NULL, 0);
    free(src.s);
    if (wg) {
        size_t n = g_numel(h);
        u->groups[0] = n > 65535 ? 65535 : (uint32_t)n;
        u->groups[1] = (uint32_t)((n + u->groups[0] - 1) / u->groups[0]);
        u->groups[2] = 1;
    } else {
        rt_groups_1d(g_numel(h), 64, u->groups);
    }
    return rc;
}

static int gen_matmul(g_plan *p, int ui)
{
    x_unit *u = &p->units[ui];
    g_graph *g = p->s->g;
    const g_tensor *h = g_graph_node(g, u->members[0]), *a = h->src[0], *bm = h->src[1];
    int ta = h->i[0], tb = h->i[1];
    rt_matmul_desc d = {.m = (uint32_t)(ta ? a->shape[1] : a->shape[0]), .k = (uint32_t)(ta ? a->shape[0] : a->shape[1]),
                        .n = (uint32_t)(tb ? bm->shape[0] : bm->shape[1]), .transpose_a = ta, .transpose_b = tb,
                        .ones_row = u->nxmembers > 0};
    p->flops += 2.0 * d.m * d.n * d.k;
    rt_binding ba, bb;
    if (x_binding_of(p, x_storage_of(p, a->id), &ba) || x_binding_of(p, x_storage_of(p, bm->id), &bb)) return -1;
    rt_matmul_plan mp;
    if (rt_matmul_choose(p->s->ctx, &d, ba.offset, bb.offset, 0, &mp)) return -1;
    ba.vec4 = mp.vec4_a;
    bb.vec4 = mp.vec4_b;
    rt_binding dummy = ba;
    dummy.vec4 = 0;
    memcpy(u->groups, mp.groups, sizeof u->groups);
    cg c = {.p = p, .g = g, .ui = ui, .matmul = 1};
    if (u->nmembers == 1 && u->nxmembers == 0) {
        /* no epilogue: the embedded kernel */
        if (rt_kernel_get(p->s->ctx, mp.tiled ? "matmul_tiled" : "matmul", mp.spec, mp.nspec, &u->kernel)) return -1;
        rt_binding cb;
        if (x_binding_of(p, h->id, &cb)) return -1;
        u->nbind = 4;
        u->bind = calloc(4, sizeof *u->bind);
        if (!u->bind) { rt_set_error("out of host memory"); return -1; }
        u->bind[0] = ba;
        u->bind[1] = bb;
        u->bind[2] = dummy;
        u->bind[3] = cb;
        return 0;
    }
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
    if (c.err || c.body.oom) {
        if (c.err != 2) rt_set_error("code generation for %s: too many bindings or out of memory", u->label);
        free(c.body.s);
        return -1;
    }
    if (c.nout == 0) {
        free(c.body.s);
        rt_set_error("internal: matmul unit %s has no output", u->label);
        return -1;
    }
    sb src = {0};
    if (c.rng) sb_printf(&src, "#include \"philox.glsl\"\n");
    emit_decls(&c, &src, 4);
    sb_printf(&src, "void meg_store(uint m, uint n, float acc)\n{\n%s}\n", c.body.s);
    free(c.body.s);
    if (src.oom) { free(src.s); rt_set_error("out of host memory"); return -1; }
    rt_binding cb;
    if (binding_for(p, c.out[0], 0, &cb)) { free(src.s); return -1; }
    rt_binding pre[4] = {ba, bb, dummy, cb};
    int rc = make_bindings(&c, u, pre, 4);
    if (!rc) rc = compile_generated(p, u, src.s, mp.tiled ? X_TEMPLATE_TILED : X_TEMPLATE_MATMUL, mp.spec, mp.nspec);
    free(src.s);
    return rc;
}

/* Register blocks of the convolution kernels: TM output channels (of the
 * weight gradient: channels a) and, for conv2d and conv_transpose2d, TN
 * pixels per invocation (spec ids 11 and 12 after the 11 shape constants;
 * 13: conv_transpose2d's class padding, the subgroup size). Gives the
 * invocation count and the number of channel blocks. */
static void conv_blocks(g_op op, uint32_t subgroup, uint32_t *spec, int *nspec, size_t *lanes_y)
{
    uint32_t nb = spec[0], o = spec[4], kh = spec[5], s = spec[7], ho = spec[9], wo = spec[10];
    /* 16 x 8 measured best on llvmpipe at the MNIST shapes (meg-bench kernels:
     * 1.1-1.9x the speed of 8 x 4; 16 x 16 and 32 x 4 slower) */
    uint32_t tm = o < 16 ? o : 16, tn = 8;
    spec[11] = tm;
    *nspec = 12;
    if (op == G_OP_CONV2D_WGRAD) {
        lanes_y[0] = (size_t)((o + tm - 1) / tm) * spec[1] * kh;
        lanes_y[1] = 1;
        return;
    }
    spec[12] = tn;
    *nspec = 13;
    if (op == G_OP_CONV2D) {
        lanes_y[0] = (size_t)nb * ho * ((wo + tn - 1) / tn);
    } else {
        size_t hoc = (ho + s - 1) / s, woc = (wo + s - 1) / s;
        uint32_t run = subgroup >= 1 && subgroup <= 64 ? subgroup : 8;
        size_t cls = (hoc * ((woc + tn - 1) / tn) + run - 1) / run * run;
        spec[13] = run;
        *nspec = 14;
        lanes_y[0] = (size_t)nb * s * s * cls;
    }
    lanes_y[1] = (o + tm - 1) / tm;
}

static int gen_static(g_plan *p, int ui)
{
    size_t lanes_y[2] = {0, 1};
    x_unit *u = &p->units[ui];
    const g_tensor *t = g_graph_node(p->s->g, u->members[0]);
    uint32_t spec[16];
    int nspec = 0;
    const char *name = NULL;
    int nb = 3;
    rt_binding b[3];
    if (t->op == G_OP_SHUFFLE) {
        const g_tensor *x = t->src[1];
        name = "shuffle";
        spec[0] = (uint32_t)x->shape[0];
        spec[1] = (uint32_t)(g_numel(x) / (size_t)x->shape[0]);
        spec[2] = (uint32_t)t->i[0];
        spec[3] = (uint32_t)t->i[1];
        spec[4] = (uint32_t)(t->seed & 0xffffffffu);
        spec[5] = (uint32_t)(t->seed >> 32);
        spec[6] = (uint32_t)t->stream;
        nspec = 7;
        if (x_binding_of(p, x_storage_of(p, t->src[0]->id), &b[0]) ||
            x_binding_of(p, x_storage_of(p, x->id), &b[1]))
            return -1;
    } else {
        const g_tensor *x = t->src[0], *w = t->src[1];
        int s = t->i[0], pd = t->i[1];
        if (t->op == G_OP_CONV2D) {
            name = "conv2d";
            uint32_t sp[] = {(uint32_t)x->shape[0], (uint32_t)x->shape[1], (uint32_t)x->shape[2], (uint32_t)x->shape[3],
                             (uint32_t)w->shape[0], (uint32_t)w->shape[2], (uint32_t)w->shape[3], (uint32_t)s,
                             (uint32_t)pd, (uint32_t)t->shape[2], (uint32_t)t->shape[3]};
            memcpy(spec, sp, sizeof sp);
            p->flops += 2.0 * (double)g_numel(t) * x->shape[1] * w->shape[2] * w->shape[3];
        } else if (t->op == G_OP_CONV_TRANSPOSE2D) {
            name = "conv_transpose2d";
            uint32_t sp[] = {(uint32_t)x->shape[0], (uint32_t)x->shape[1], (uint32_t)x->shape[2], (uint32_t)x->shape[3],
                             (uint32_t)w->shape[1], (uint32_t)w->shape[2], (uint32_t)w->shape[3], (uint32_t)s,
                             (uint32_t)pd, (uint32_t)t->shape[2], (uint32_t)t->shape[3]};
            memcpy(spec, sp, sizeof sp);
            p->flops += 2.0 * (double)g_numel(x) * w->shape[1] * w->shape[2] * w->shape[3];
        } else {
            name = "conv2d_wgrad";
            /* xr [N,B,H,W], gr [N,A,HO,WO] */
            uint32_t sp[] = {(uint32_t)x->shape[0], (uint32_t)x->shape[1], (uint32_t)x->shape[2], (uint32_t)x->shape[3],
                             (uint32_t)w->shape[1], (uint32_t)t->i[2], (uint32_t)t->i[3], (uint32_t)s,
                             (uint32_t)pd, (uint32_t)w->shape[2], (uint32_t)w->shape[3]};
            memcpy(spec, sp, sizeof sp);
            p->flops += 2.0 * (double)g_numel(t) * x->shape[0] * w->shape[2] * w->shape[3];
        }
        nspec = 11;
        if (x_binding_of(p, x_storage_of(p, x->id), &b[0]) || x_binding_of(p, x_storage_of(p, w->id), &b[1]))
            return -1;
        conv_blocks(t->op, rt_ctx_device(p->s->ctx)->subgroup_size, spec, &nspec, lanes_y);
    }
    if (x_binding_of(p, t->id, &b[2])) return -1;
    if (rt_kernel_get(p->s->ctx, name, spec, nspec, &u->kernel)) return -1;
    u->nbind = nb;
    u->bind = calloc((size_t)nb, sizeof *u->bind);
    if (!u->bind) { rt_set_error("out of host memory"); return -1; }
    memcpy(u->bind, b, sizeof b);
    if (t->op == G_OP_SHUFFLE) {
        rt_groups_1d(g_numel(t), 64, u->groups);
    } else {
        /* convolutions: x (and z) over the invocations, y over channel blocks */
        rt_groups_1d(lanes_y[0], 64, u->groups);
        u->groups[2] = u->groups[1];
        u->groups[1] = (uint32_t)lanes_y[1];
    }
    return 0;
}

int x_codegen(g_plan *p)
{
    p->flops = 0;
    for (int ui = 0; ui < p->nunits; ui++) {
        x_unit *u = &p->units[ui];
        label_unit(p, u);
        int rc;
        switch (u->kind) {
        case X_EW: rc = gen_ew(p, ui); break;
        case X_REDUCE: rc = gen_reduce(p, ui); break;
        case X_MATMUL: rc = gen_matmul(p, ui); break;
        case X_STATIC: rc = gen_static(p, ui); break;
        default: rt_set_error("internal: unit of kind %d", (int)u->kind); rc = -1; break;
        }
        if (rc) return -1;
    }
    return 0;
}
