/* session.c: sessions: the device buffers of a graph's leaves (made and
 * initialised on first use), host writes and reads of leaves and roots. */
#include "exec_internal.h"
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int x_session_grow(g_session *s)
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
    if (x_session_grow(s)) { g_session_free(s); return -1; }
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
    if (x_session_grow(s)) return -1;
    if (!g_is_leaf(leaf)) {
        rt_set_error("node %d (%s) is not a leaf", leaf->id, g_op_name(leaf->op));
        return -1;
    }
    if (s->leaf_buf[leaf->id]) { *out = s->leaf_buf[leaf->id]; return 0; }
    size_t n = g_numel(leaf);
    rt_buffer *b;
    /* an 8-bit input holds one byte per element */
    if (rt_buffer_create(s->ctx, (n * (g_is_u8(leaf) ? 1 : 4) + 15) / 16 * 16, &b)) {
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
    if (g_is_u8(t)) {
        rt_set_error("g_session_write: input '%s' is 8-bit (g_input_u8): write its bytes with g_session_write_u8",
                     t->name);
        return -1;
    }
    rt_buffer *b;
    if (x_session_leaf(s, t, &b)) return -1;
    if (rt_buffer_write(b, 0, values, g_numel(t) * 4)) return -1;
    s->written[t->id] = 1;
    return 0;
}

int g_session_write_u8(g_session *s, g_tensor *t, const uint8_t *bytes)
{
    if (check_node(s, t, "g_session_write_u8")) return -1;
    if (!g_is_u8(t)) {
        rt_set_error("g_session_write_u8: node %d (%s '%s') is not an 8-bit input (g_input_u8); write its values "
                     "with g_session_write", t->id, g_op_name(t->op), t->name);
        return -1;
    }
    rt_buffer *b;
    if (x_session_leaf(s, t, &b)) return -1;
    if (rt_buffer_write(b, 0, bytes, g_numel(t))) return -1;
    s->written[t->id] = 1;
    return 0;
}

/* An 8-bit input's bytes as the values every op reads, byte / 255. */
static int read_u8(rt_buffer *b, size_t n, float *values)
{
    uint8_t *bytes = malloc(n ? n : 1);
    if (!bytes) { rt_set_error("out of host memory"); return -1; }
    int rc = rt_buffer_read(b, 0, bytes, n);
    for (size_t i = 0; !rc && i < n; i++) values[i] = (float)bytes[i] / 255.0f;
    free(bytes);
    return rc;
}

int g_session_read(g_session *s, g_tensor *t, float *values)
{
    if (check_node(s, t, "g_session_read")) return -1;
    if (x_session_grow(s)) return -1;
    if (g_is_leaf(t)) {
        if (t->op == G_OP_INPUT && !s->written[t->id]) {
            rt_set_error("g_session_read: input '%s' was never written", t->name);
            return -1;
        }
        rt_buffer *b;
        if (x_session_leaf(s, t, &b)) return -1;
        if (g_is_u8(t)) return read_u8(b, g_numel(t), values);
        return rt_buffer_read(b, 0, values, g_numel(t) * 4);
    }
    g_plan *p = s->root_plan[t->id];
    if (!p) {
        char sh[64];
        rt_set_error("g_session_read: node %d (%s %s) is not a root of a plan that has run", t->id,
                     g_op_name(t->op), g_shape_str(t, sh, sizeof sh));
        return -1;
    }
    int st = x_storage_of(p->sch, t->id);
    const x_val *v = &p->sch->val[st];
    if (v->storage == S_ROOT) return rt_buffer_read(p->root_buf[st], 0, values, g_numel(t) * 4);
    if (v->storage == S_LEAF || v->kind == X_LEAF) return g_session_read(s, g_graph_node(s->g, st), values);
    rt_set_error("g_session_read: node %d has no readable storage", t->id);
    return -1;
}
