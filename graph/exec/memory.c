/* memory.c: the arena layout of a schedule (intermediates placed by
 * liveness over the dispatch order, each at the lowest offset that does not
 * overlap a value still live) and the inputs a run needs written. The
 * operands a K-stacked matmul reads as one stack (kstack.c) are placed as
 * one block, end to end in K order, when the first of them is produced. */
#include "exec_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

static int arena_offsets(g_schedule *p)
{
    g_graph *g = p->g;
    int n = p->nnodes;
    /* liveness over unit positions */
    for (int id = 0; id < n; id++) {
        x_val *v = &p->val[id];
        v->first = v->unit;
        v->last = v->unit;
    }
    for (int ui = 0; ui < p->nunits; ui++) {
        x_unit *u = &p->units[ui];
        for (int m = 0; m < u->nmembers + u->nxmembers; m++) {
            const g_tensor *t = g_graph_node(g, m < u->nmembers ? u->members[m] : u->xmembers[m - u->nmembers]);
            for (int k = 0; k < t->nsrc; k++) {
                int s = x_storage_of(p, t->src[k]->id);
                if (p->val[s].unit != ui && p->val[s].last < ui) p->val[s].last = ui;
            }
        }
    }
    /* which values need memory */
    for (int id = 0; id < n; id++) {
        x_val *v = &p->val[id];
        if (!v->kept || v->kind == X_LEAF || v->kind == X_NONE || v->alias >= 0 || v->unit < 0) continue;
        const g_tensor *t = g_graph_node(g, id);
        if (g_is_effect(t)) continue;
        if (v->root || v->last > v->unit) v->materialize = 1;
    }
    for (int id = 0; id < n; id++) {
        x_val *v = &p->val[id];
        if (v->kept && v->alias >= 0 && v->root) {
            /* a reshaped root is read from its source's memory after the run */
            p->val[x_storage_of(p, id)].materialize = 1;
            p->val[x_storage_of(p, id)].root = 1;
        }
    }
    /* the stacks: per storage id its block (the unit's index, A or B) */
    int *blk = malloc((size_t)(n ? n : 1) * sizeof *blk);
    unsigned char *placed = calloc((size_t)(2 * p->nunits + 1), 1);
    if (!blk || !placed) { free(blk); free(placed); rt_set_error("out of host memory"); return -1; }
    for (int id = 0; id < n; id++) blk[id] = -1;
    for (int ui = 0; ui < p->nunits; ui++)
        for (int s = 0; s < p->units[ui].nseg; s++) {
            const g_tensor *t = g_graph_node(g, p->units[ui].seg[s]);
            blk[x_storage_of(p, t->src[0]->id)] = 2 * ui;
            blk[x_storage_of(p, t->src[1]->id)] = 2 * ui + 1;
        }
    /* offsets: greedy, by production order */
    size_t align = p->lim.alignment;
    if (align < 16) align = 16;
    typedef struct live { size_t off, end; int last; } live;
    live *act = malloc((size_t)(n + 1) * sizeof *act);
    int nact = 0;
    if (!act) { free(blk); free(placed); rt_set_error("out of host memory"); return -1; }
    size_t top = 0;
    p->intermediate_bytes = 0;
    for (int ui = 0; ui < p->nunits; ui++) {
        x_unit *u = &p->units[ui];
        /* values last read before this unit are free */
        for (int i = 0; i < nact;)
            if (act[i].last < ui) act[i] = act[--nact];
            else i++;
        for (int m = 0; m < u->nmembers + u->nxmembers; m++) {
            int id = m < u->nmembers ? u->members[m] : u->xmembers[m - u->nmembers];
            x_val *v = &p->val[id];
            if (!v->materialize) continue;
            v->bytes = align_up(g_numel(g_graph_node(g, id)) * 4, 16);
            if (v->root) { v->storage = S_ROOT; continue; }
            v->storage = S_ARENA;
            size_t need = align_up(v->bytes, align);
            int bk = blk[id], last = v->last;
            if (bk >= 0) {
                if (placed[bk]) continue;   /* placed with its block */
                /* the whole block, live until its last reader */
                const x_unit *su = &p->units[bk / 2];
                need = 0;
                for (int s = 0; s < su->nseg; s++) {
                    int sid = x_storage_of(p, g_graph_node(g, su->seg[s])->src[bk % 2]->id);
                    need += g_numel(g_graph_node(g, sid)) * 4;
                    if (p->val[sid].last > last) last = p->val[sid].last;
                }
                need = align_up(need, align);
            }
            p->intermediate_bytes += need;
            /* lowest gap between live ranges (sorted by offset) */
            for (int i = 1; i < nact; i++)
                for (int j = i; j > 0 && act[j].off < act[j - 1].off; j--) {
                    live t = act[j]; act[j] = act[j - 1]; act[j - 1] = t;
                }
            size_t off = 0;
            for (int i = 0; i < nact; i++) {
                if (act[i].off >= off + need) break;
                if (act[i].end > off) off = align_up(act[i].end, align);
            }
            v->offset = off;
            if (bk >= 0) {
                const x_unit *su = &p->units[bk / 2];
                size_t at = off;
                for (int s = 0; s < su->nseg; s++) {
                    int sid = x_storage_of(p, g_graph_node(g, su->seg[s])->src[bk % 2]->id);
                    p->val[sid].offset = at;
                    at += g_numel(g_graph_node(g, sid)) * 4;
                }
                placed[bk] = 1;
            }
            act[nact++] = (live){off, off + need, last};
            if (off + need > top) top = off + need;
        }
    }
    free(act);
    free(blk);
    free(placed);
    p->arena_bytes = top;
    return 0;
}

/* Inputs that must have been written before a run: read before any assign
 * of this schedule. */
static void add_needed(g_schedule *p, int id)
{
    for (int j = 0; j < p->nneeds; j++)
        if (p->needs_input[j] == id) return;
    p->needs_input[p->nneeds++] = id;
}

static int needed_inputs(g_schedule *p)
{
    g_graph *g = p->g;
    int n = p->nnodes;
    p->needs_input = malloc((size_t)(n ? n : 1) * sizeof(int));
    unsigned char *assigned = calloc((size_t)(n ? n : 1), 1);
    if (!p->needs_input || !assigned) {
        free(assigned);
        rt_set_error("out of host memory");
        return -1;
    }
    for (int id = 0; id < n; id++) {
        if (!p->val[id].kept) continue;
        g_tensor *t = g_graph_node(g, id);
        for (int k = 0; k < t->nsrc; k++) {
            g_tensor *s = t->src[k];
            if (s->op == G_OP_INPUT && x_is_read(t, k) && !assigned[s->id]) add_needed(p, s->id);
        }
        if (t->op == G_OP_ASSIGN) assigned[t->src[0]->id] = 1;
    }
    for (int r = 0; r < p->nroots; r++) {
        g_tensor *t = g_graph_node(g, p->roots[r]);
        if (t->op == G_OP_INPUT && !assigned[t->id]) add_needed(p, t->id);
    }
    free(assigned);
    return 0;
}

/* Every value is bound whole: read through one texel view (max_texels
 * elements) and, where a kernel writes it, as one storage buffer
 * (max_storage_range bytes). A value past either fails here, naming it,
 * rather than in the recorder. Inputs that no kernel writes are only read,
 * so a data set of fp32 rows may hold more bytes than a storage binding. */
static int check_sizes(g_schedule *p)
{
    g_graph *g = p->g;
    const g_limits *l = &p->lim;
    int n = p->nnodes;
    unsigned char *written = calloc((size_t)(n ? n : 1), 1);
    if (!written) { rt_set_error("out of host memory"); return -1; }
    for (int id = 0; id < n; id++) {
        if (!p->val[id].kept) continue;
        int w[3], nw = x_leaf_writes(g_graph_node(g, id), w);
        for (int j = 0; j < nw; j++) written[w[j]] = 1;
    }
    int rc = 0;
    for (int id = 0; id < n && !rc; id++) {
        const x_val *v = &p->val[id];
        const g_tensor *t = g_graph_node(g, id);
        int leaf = v->kept && v->kind == X_LEAF;
        if (!leaf && !(v->materialize && (v->storage == S_ARENA || v->storage == S_ROOT))) continue;
        uint64_t texels = g_numel(t), bytes = texels * (g_is_u8(t) ? 1 : 4);
        int stored = !leaf || written[id];
        int over_t = l->max_texels && texels > l->max_texels;
        int over_s = stored && l->max_storage_range && bytes > l->max_storage_range;
        if (!over_t && !over_s) continue;
        char what[160], sh[64], lim[160];
        if (leaf) snprintf(what, sizeof what, "%s%s '%s' %s", g_is_u8(t) ? "8-bit " : "", g_op_name(t->op), t->name,
                           g_shape_str(t, sh, sizeof sh));
        else snprintf(what, sizeof what, "node %d (%s %s)", id, g_op_name(t->op), g_shape_str(t, sh, sizeof sh));
        if (over_t)
            snprintf(lim, sizeof lim, "%llu values, more than one texel view holds on this device (%llu, "
                     "maxTexelBufferElements)", (unsigned long long)texels, (unsigned long long)l->max_texels);
        else
            snprintf(lim, sizeof lim, "%llu bytes, more than one storage binding holds on this device (%llu, "
                     "maxStorageBufferRange)", (unsigned long long)bytes, (unsigned long long)l->max_storage_range);
        rt_set_error("%s: %s; %s", what, lim,
                     t->op == G_OP_INPUT ? "split it into inputs of fewer rows (models/data/batches.h splits data sets)"
                                         : "a smaller shape fits");
        rc = -1;
    }
    free(written);
    return rc;
}

int x_plan_memory(g_schedule *p)
{
    return arena_offsets(p) || needed_inputs(p) || check_sizes(p) ? -1 : 0;
}
