/* exec.c: sessions (device buffers of the leaves) and plans (plan, record
 * once, replay). */
#include "exec_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sessions ---------------------------------------------------------- */

static int session_grow(g_session *s)
{
    int n = g_graph_size(s->g);
    if (n <= s->cap) return 0;
    int cap = s->cap ? s->cap : 256;
    while (cap < n) cap *= 2;
    rt_buffer **lb = realloc(s->leaf_buf, (size_t)cap * sizeof *lb);
    if (lb) s->leaf_buf = lb;
    unsigned char *wr = realloc(s->written, (size_t)cap);
    if (wr) s->written = wr;
    g_plan **rp = realloc(s->root_plan, (size_t)cap * sizeof *rp);
    if (rp) s->root_plan = rp;
    if (!lb || !wr || !rp) { rt_set_error("out of host memory"); return -1; }
    memset(s->leaf_buf + s->cap, 0, (size_t)(cap - s->cap) * sizeof *lb);
    memset(s->written + s->cap, 0, (size_t)(cap - s->cap));
    memset(s->root_plan + s->cap, 0, (size_t)(cap - s->cap) * sizeof *rp);
    s->cap = cap;
    return 0;
}

int g_session_new(rt_ctx *ctx, g_graph *g, uint64_t seed, g_session **out)
{
    *out = NULL;
    if (g_graph_error(g)) {
        rt_set_error("graph has an error: %s", g_graph_error(g));
        return -1;
    }
    g_session *s = calloc(1, sizeof *s);
    if (!s) { rt_set_error("out of host memory"); return -1; }
    s->ctx = ctx;
    s->g = g;
    s->seed = seed;
    if (session_grow(s)) { g_session_free(s); return -1; }
    *out = s;
    return 0;
}

void g_session_free(g_session *s)
{
    if (!s) return;
    for (int i = 0; i < s->cap; i++) rt_buffer_destroy(s->leaf_buf[i]);
    free(s->leaf_buf);
    free(s->written);
    free(s->root_plan);
    free(s);
}

/* The buffer of a leaf, created (and initialised) on first use. */
int x_session_leaf(g_session *s, g_tensor *leaf, rt_buffer **out)
{
    if (session_grow(s)) return -1;
    if (!g_is_leaf(leaf)) {
        rt_set_error("node %d (%s) is not a leaf", leaf->id, g_op_name(leaf->op));
        return -1;
    }
    if (s->leaf_buf[leaf->id]) { *out = s->leaf_buf[leaf->id]; return 0; }
    size_t n = g_numel(leaf);
    rt_buffer *b;
    if (rt_buffer_create(s->ctx, (n * 4 + 15) / 16 * 16, &b)) {
        rt_error_prefix("leaf '%s'", leaf->name);
        return -1;
    }
    if (leaf->op != G_OP_INPUT) {
        float *v = malloc(n * sizeof *v);
        if (!v) { rt_buffer_destroy(b); rt_set_error("out of host memory"); return -1; }
        if (g_init_values(leaf, s->seed, v) || rt_buffer_write(b, 0, v, n * 4)) {
            if (!strstr(rt_error(), leaf->name)) rt_error_prefix("initialising '%s'", leaf->name);
            free(v);
            rt_buffer_destroy(b);
            return -1;
        }
        free(v);
    }
    s->leaf_buf[leaf->id] = b;
    *out = b;
    return 0;
}

static int check_node(g_session *s, g_tensor *t, const char *what)
{
    if (!t) { rt_set_error("%s: no tensor (NULL)", what); return -1; }
    if (t->graph != s->g) { rt_set_error("%s: tensor belongs to another graph", what); return -1; }
    return 0;
}

int g_session_write(g_session *s, g_tensor *t, const float *values)
{
    if (check_node(s, t, "g_session_write")) return -1;
    if (!g_is_leaf(t)) {
        rt_set_error("g_session_write: node %d (%s) is not an input, param or state", t->id, g_op_name(t->op));
        return -1;
    }
    rt_buffer *b;
    if (x_session_leaf(s, t, &b)) return -1;
    if (rt_buffer_write(b, 0, values, g_numel(t) * 4)) return -1;
    s->written[t->id] = 1;
    return 0;
}

int g_session_read(g_session *s, g_tensor *t, float *values)
{
    if (check_node(s, t, "g_session_read")) return -1;
    if (session_grow(s)) return -1;
    if (g_is_leaf(t)) {
        if (t->op == G_OP_INPUT && !s->written[t->id]) {
            rt_set_error("g_session_read: input '%s' was never written", t->name);
            return -1;
        }
        rt_buffer *b;
        if (x_session_leaf(s, t, &b)) return -1;
        return rt_buffer_read(b, 0, values, g_numel(t) * 4);
    }
    g_plan *p = s->root_plan[t->id];
    if (!p) {
        char sh[64];
        rt_set_error("g_session_read: node %d (%s %s) is not a root of a plan that has run", t->id,
                     g_op_name(t->op), g_shape_str(t, sh, sizeof sh));
        return -1;
    }
    int st = x_storage_of(p, t->id);
    x_val *v = &p->val[st];
    if (v->storage == S_ROOT) return rt_buffer_read(v->buf, 0, values, g_numel(t) * 4);
    if (v->storage == S_LEAF || p->val[st].kind == X_LEAF)
        return g_session_read(s, g_graph_node(s->g, st), values);
    rt_set_error("g_session_read: node %d has no readable storage", t->id);
    return -1;
}

/* ---- plans ------------------------------------------------------------- */

int x_binding_of(g_plan *p, int id, rt_binding *b)
{
    g_graph *g = p->s->g;
    int st = x_storage_of(p, id);
    g_tensor *t = g_graph_node(g, st);
    x_val *v = &p->val[st];
    memset(b, 0, sizeof *b);
    b->size = g_numel(g_graph_node(g, id)) * 4;
    if (v->kind == X_LEAF) {
        if (x_session_leaf(p->s, t, &b->buf)) return -1;
        return 0;
    }
    if (v->storage == S_ROOT) { b->buf = v->buf; return 0; }
    if (v->storage == S_ARENA) {
        b->buf = p->arena;
        b->offset = v->offset;
        return 0;
    }
    char sh[64];
    rt_set_error("internal: node %d (%s %s) has no storage in this plan", id, g_op_name(t->op),
                 g_shape_str(t, sh, sizeof sh));
    return -1;
}

static int validate(g_session *s, g_tensor **roots, int n)
{
    if (g_graph_error(s->g)) { rt_set_error("graph has an error: %s", g_graph_error(s->g)); return -1; }
    if (n < 1) { rt_set_error("g_plan_new: no roots"); return -1; }
    for (int i = 0; i < n; i++)
        if (check_node(s, roots[i], "g_plan_new")) return -1;
    return 0;
}

int g_plan_new(g_session *s, g_tensor **roots, int n, const g_plan_opts *opts, g_plan **out)
{
    *out = NULL;
    if (validate(s, roots, n) || session_grow(s)) return -1;
    g_plan *p = calloc(1, sizeof *p);
    if (!p) { rt_set_error("out of host memory"); return -1; }
    p->s = s;
    if (opts) p->opts = *opts;
    p->nnodes = g_graph_size(s->g);
    p->val = calloc((size_t)p->nnodes, sizeof *p->val);
    p->roots = malloc((size_t)n * sizeof *p->roots);
    if (!p->val || !p->roots) { rt_set_error("out of host memory"); goto fail; }
    for (int i = 0; i < n; i++) p->roots[i] = roots[i]->id;
    p->nroots = n;
    if (x_plan_build(p, roots, n)) goto fail;
    /* buffers: arena, roots; leaves on first use */
    if (rt_buffer_create(s->ctx, p->arena_bytes ? p->arena_bytes : 16, &p->arena)) {
        rt_error_prefix("plan arena of %zu bytes", p->arena_bytes);
        goto fail;
    }
    for (int id = 0; id < p->nnodes; id++) {
        x_val *v = &p->val[id];
        if (v->storage == S_ROOT && rt_buffer_create(s->ctx, v->bytes, &v->buf)) goto fail;
    }
    for (int id = 0; id < p->nnodes; id++)
        if (p->val[id].kept && p->val[id].kind == X_LEAF) {
            rt_buffer *b;
            if (x_session_leaf(s, g_graph_node(s->g, id), &b)) goto fail;
        }
    if (x_codegen(p)) goto fail;
    if (rt_cmd_begin(s->ctx, p->opts.timestamps ? RT_CMD_TIMESTAMPS : 0, &p->cmd)) goto fail;
    for (int ui = 0; ui < p->nunits; ui++) {
        x_unit *u = &p->units[ui];
        if (rt_cmd_dispatch(p->cmd, u->kernel, u->bind, u->nbind, NULL, 0, u->groups[0], u->groups[1], u->groups[2],
                            u->label)) {
            rt_error_prefix("recording %s", u->label);
            goto fail;
        }
    }
    if (rt_cmd_end(p->cmd)) goto fail;
    *out = p;
    return 0;
fail:
    g_plan_free(p);
    return -1;
}

void g_plan_free(g_plan *p)
{
    if (!p) return;
    rt_cmd_free(p->cmd);
    if (p->s)
        for (int i = 0; i < p->nnodes && i < p->s->cap; i++)
            if (p->s->root_plan[i] == p) p->s->root_plan[i] = NULL;
    for (int ui = 0; ui < p->nunits; ui++) {
        free(p->units[ui].members);
        free(p->units[ui].xmembers);
        free(p->units[ui].bind);
    }
    free(p->units);
    if (p->val)
        for (int id = 0; id < p->nnodes; id++) rt_buffer_destroy(p->val[id].buf);
    rt_buffer_destroy(p->arena);
    free(p->val);
    free(p->needs_input);
    free(p->roots);
    free(p);
}

int g_plan_run(g_plan *p, int times)
{
    g_session *s = p->s;
    if (times < 1) return 0;
    for (int i = 0; i < p->nneeds; i++)
        if (!s->written[p->needs_input[i]]) {
            g_tensor *t = g_graph_node(s->g, p->needs_input[i]);
            rt_set_error("plan reads input '%s' that was never written (g_session_write it first)", t->name);
            return -1;
        }
    if (rt_cmd_submit(p->cmd, times)) return -1;
    for (int i = 0; i < p->nroots; i++) s->root_plan[p->roots[i]] = p;
    for (int id = 0; id < p->nnodes; id++) {
        if (!p->val[id].kept) continue;
        g_tensor *t = g_graph_node(s->g, id);
        if (t->op == G_OP_ASSIGN) s->written[t->src[0]->id] = 1;
    }
    p->ran = 1;
    return 0;
}

void g_plan_stats_get(const g_plan *p, g_plan_stats *st)
{
    memset(st, 0, sizeof *st);
    for (int id = 0; id < p->nnodes; id++) st->nodes += p->val[id].kept;
    st->dispatches = p->nunits;
    for (int ui = 0; ui < p->nunits; ui++) st->fused_groups += p->units[ui].nmembers + p->units[ui].nxmembers > 1;
    st->arena_bytes = p->arena_bytes;
    st->intermediate_bytes = p->intermediate_bytes;
    for (int id = 0; id < g_graph_size(p->s->g) && id < p->nnodes; id++) {
        g_tensor *t = g_graph_node(p->s->g, id);
        if (t->op == G_OP_PARAM) st->param_bytes += g_numel(t) * 4;
        if (t->op == G_OP_STATE) st->state_bytes += g_numel(t) * 4;
    }
    st->flops = p->flops;
}

int g_plan_profile(const g_plan *p, char *buf, size_t n)
{
    if (!p->opts.timestamps) { rt_set_error("plan was made without timestamps"); return -1; }
    if (!p->ran) { rt_set_error("plan has not run yet"); return -1; }
    /* aggregate by label */
    typedef struct agg { const char *label; int calls; double ms; } agg;
    agg *a = calloc((size_t)(p->nunits ? p->nunits : 1), sizeof *a);
    if (!a) { rt_set_error("out of host memory"); return -1; }
    int na = 0;
    double total = 0;
    for (int i = 0; i < p->nunits; i++) {
        double ms;
        const char *label;
        if (rt_cmd_timing(p->cmd, i, &ms, &label)) { free(a); return -1; }
        total += ms;
        int j = 0;
        while (j < na && strcmp(a[j].label, label)) j++;
        if (j == na) a[na++] = (agg){label, 0, 0};
        a[j].calls++;
        a[j].ms += ms;
    }
    for (int i = 1; i < na; i++)
        for (int j = i; j > 0 && a[j].ms > a[j - 1].ms; j--) {
            agg t = a[j]; a[j] = a[j - 1]; a[j - 1] = t;
        }
    size_t off = 0;
    off += (size_t)snprintf(buf + off, off < n ? n - off : 0, "%10s %6s %6s  %s\n", "ms", "calls", "share", "kernel");
    for (int i = 0; i < na && off < n; i++)
        off += (size_t)snprintf(buf + off, off < n ? n - off : 0, "%10.3f %6d %5.1f%%  %s\n", a[i].ms, a[i].calls,
                                total > 0 ? 100.0 * a[i].ms / total : 0.0, a[i].label);
    if (off < n) snprintf(buf + off, n - off, "%10.3f %6d %5.1f%%  total\n", total, p->nunits, 100.0);
    free(a);
    return 0;
}
