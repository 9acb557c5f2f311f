/* schedule.c: the planner. Keeps the nodes the roots need, groups them into
 * dispatch units (elementwise chains fused together and into the epilogues
 * of matmuls and reductions) and orders the units; memory.c then lays out
 * the arena. No device: the limits it respects are a g_limits.
 *
 * Grouping walks the nodes in program order. A unit stays open while later
 * nodes can join it; a node that reads an open unit's value without joining
 * it, or that conflicts with it over a parameter or state buffer (reads what
 * it writes, writes what it reads or writes), closes it first. A unit's
 * dispatch therefore runs where it is closed, after every node it needs and
 * before every node that needs it, and effects keep their program order. */
#include "exec_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MEMBERS 40
#define MAX_BINDINGS 32   /* the recorder's limit per dispatch */

/* A matmul over K = 1 of at least 2 x 2 outputs: the outer product
 * C[m, n] = A[m] B[n], one multiply per output (exactly the matmul kernel's
 * value), so it is elementwise work and fuses with its neighbours instead of
 * taking a matmul dispatch of its own (the backward of every layer of
 * width 1: E's and T's outputs). Neither operand is read at the output's
 * index, so neither is ever read from a register of the same unit. */
static int outer_product(const g_tensor *t)
{
    if (t->op != G_OP_MATMUL || t->ndim != 2 || t->shape[0] < 2 || t->shape[1] < 2) return 0;
    const g_tensor *a = t->src[0];
    return a->shape[t->attr.matmul.transpose_a ? 0 : 1] == 1;
}

/* Arithmetic on constants (autodiff's seeds: -1/B, lambda / B, ...) done
 * at plan time, so that it neither takes a dispatch nor keeps a broadcast
 * of it from fusing: the ops Vulkan rounds correctly (add, subtract,
 * multiply, negate) in fp32, as the device would. 1: t is a constant now,
 * its value in *out. */
static int fold_const(const g_schedule *p, const g_tensor *t, float *out)
{
    float a[2] = {0, 0};
    int n = t->op == G_OP_ADD || t->op == G_OP_SUB || t->op == G_OP_MUL ? 2
            : t->op == G_OP_NEG || t->op == G_OP_SCALE || t->op == G_OP_ADD_SCALAR ? 1 : 0;
    if (!n || t->nsrc != n) return 0;
    for (int k = 0; k < n; k++) {
        const g_tensor *s = t->src[k];
        if (p->val[s->id].kind != X_CONST) return 0;
        while (s->op != G_OP_CONST && !p->val[s->id].folded) s = s->src[0];   /* reshape/expand chains */
        a[k] = s->op == G_OP_CONST ? s->attr.scalar : p->val[s->id].cval;
    }
    switch (t->op) {
    case G_OP_ADD: *out = a[0] + a[1]; break;
    case G_OP_SUB: *out = a[0] - a[1]; break;
    case G_OP_MUL: *out = a[0] * a[1]; break;
    case G_OP_NEG: *out = -a[0]; break;
    case G_OP_SCALE: *out = a[0] * t->attr.scalar; break;
    default: *out = a[0] + t->attr.scalar; break;   /* add_scalar */
    }
    return 1;
}

static x_kind classify(const g_tensor *t)
{
    const g_op_info *oi = g_op_info_of(t->op);
    switch (oi->kind) {
    case G_KIND_LEAF: return X_LEAF;
    case G_KIND_CONST: return X_CONST;
    case G_KIND_MATMUL: return outer_product(t) ? X_EW : X_MATMUL;
    case G_KIND_REDUCTION: return X_REDUCE;
    default: break;
    }
    if (t->op == G_OP_GROUP) return X_NONE;
    return oi->fuse ? X_EW : X_STATIC;
}

int x_leaf_writes(const g_tensor *t, int *out)
{
    uint32_t w = g_op_info_of(t->op)->writes;
    int n = 0;
    for (int k = 0; k < t->nsrc && k < 32 && n < 3; k++)
        if (w >> k & 1u) out[n++] = t->src[k]->id;
    return n;
}

int x_is_read(const g_tensor *t, int k) { return !(t->op == G_OP_ASSIGN && k == 0); }

/* Source k of t is read at t's own linear index (so it may come from a
 * register of the same unit). */
static int identity_read(const g_tensor *t, int k)
{
    const g_tensor *s = t->src[k];
    switch (g_op_info_of(t->op)->kind) {
    case G_KIND_EFFECT:
        if (t->op == G_OP_ASSIGN) return k == 1;
        if (t->op == G_OP_ADAM) return k < 4 || g_numel(s) == g_numel(t->src[0]);
        return 1;   /* sgd */
    case G_KIND_LAYOUT:
        if (t->op == G_OP_RESHAPE) return 1;
        if (t->op == G_OP_EXPAND) return g_numel(s) == g_numel(t);
        return 0;   /* remapped indices */
    case G_KIND_RANDOM: return 0;
    case G_KIND_MATMUL: return outer_product(t) ? 0 : g_numel(s) == g_numel(t);
    default: return g_numel(s) == g_numel(t);
    }
}

/* The index space of an elementwise node: its own size, or its target's. */
static size_t index_numel(const g_tensor *t)
{
    if (g_is_effect(t) && t->op != G_OP_GROUP) return g_numel(t->src[0]);
    return g_numel(t);
}

int x_storage_of(const g_schedule *p, int id)
{
    while (p->val[id].alias >= 0) id = p->val[id].alias;
    return id;
}

typedef struct builder {
    g_schedule *p;
    g_graph *g;
    int *open;                /* open unit indices */
    int nopen;
    int *emit;                /* units in the order they are closed */
    int nemit;
} builder;

static int unit_new(builder *b, x_kind kind, size_t numel)
{
    g_schedule *p = b->p;
    if (p->nunits == p->capunits) {
        int cap = p->capunits ? 2 * p->capunits : 64;
        x_unit *nu = realloc(p->units, (size_t)cap * sizeof *nu);
        if (!nu) { rt_set_error("out of host memory"); return -1; }
        p->units = nu;
        p->capunits = cap;
    }
    x_unit *u = &p->units[p->nunits];
    memset(u, 0, sizeof *u);
    u->kind = kind;
    u->numel = numel;
    u->partner = -1;
    return p->nunits++;
}

static int unit_add(builder *b, int ui, int id)
{
    x_unit *u = &b->p->units[ui];
    if (u->nmembers == u->capmembers) {
        int cap = u->capmembers ? 2 * u->capmembers : 4;
        int *nm = realloc(u->members, (size_t)cap * sizeof *nm);
        if (!nm) { rt_set_error("out of host memory"); return -1; }
        u->members = nm;
        u->capmembers = cap;
    }
    u->members[u->nmembers++] = id;
    b->p->val[id].unit = ui;
    return 0;
}

static void drop_open(builder *b, int ui)
{
    for (int i = 0; i < b->nopen; i++)
        if (b->open[i] == ui) {
            memmove(&b->open[i], &b->open[i + 1], (size_t)(b->nopen - i - 1) * sizeof *b->open);
            b->nopen--;
            return;
        }
}

/* A unit and its partner close together, as one dispatch (the matmul's). */
static void close_unit(builder *b, int ui)
{
    x_unit *u = &b->p->units[ui];
    if (u->closed) return;
    int main = u->is_extra ? u->partner : ui;
    b->p->units[main].closed = 1;
    b->emit[b->nemit++] = main;
    drop_open(b, main);
    int other = b->p->units[main].partner;
    if (other >= 0) {
        b->p->units[other].closed = 1;
        drop_open(b, other);
    }
}

/* The unit whose value node id reads (through aliases), or -1. */
static int producer_unit(const g_schedule *p, int id) { return p->val[x_storage_of(p, id)].unit; }

static int unit_reads_leaf(const g_schedule *p, const x_unit *u, int leaf, int only_nonidentity)
{
    for (int m = 0; m < u->nmembers; m++) {
        const g_tensor *t = g_graph_node(p->g, u->members[m]);
        for (int k = 0; k < t->nsrc; k++)
            if (x_is_read(t, k) && t->src[k]->id == leaf && (!only_nonidentity || !identity_read(t, k))) return 1;
    }
    return 0;
}

static int unit_writes_leaf(const g_schedule *p, const x_unit *u, int leaf)
{
    for (int m = 0; m < u->nmembers; m++) {
        int w[3], nw = x_leaf_writes(g_graph_node(p->g, u->members[m]), w);
        for (int j = 0; j < nw; j++)
            if (w[j] == leaf) return 1;
    }
    return 0;
}

/* Distinct external value sources of a unit (plus t, if given). */
static int count_ext_inputs(const g_schedule *p, const x_unit *u, const g_tensor *extra, int ui)
{
    int ids[MAX_MEMBERS * 4 + 8], n = 0;
    for (int m = 0; m <= u->nmembers; m++) {
        const g_tensor *t = m < u->nmembers ? g_graph_node(p->g, u->members[m]) : extra;
        if (!t) continue;
        if (m == 0 && u->kind != X_EW) continue; /* a head's operands have their own bindings */
        for (int k = 0; k < t->nsrc; k++) {
            if (!x_is_read(t, k)) continue;
            int s = x_storage_of(p, t->src[k]->id);
            if (p->val[s].kind == X_CONST) continue;
            if (p->val[s].unit == ui && identity_read(t, k)) continue;
            int dup = 0;
            for (int j = 0; j < n && !dup; j++) dup = ids[j] == s;
            if (!dup && n < (int)(sizeof ids / sizeof ids[0])) ids[n++] = s;
        }
    }
    return n;
}

/* Buffers a unit may write: every value member (it may be read outside)
 * and every leaf its effects update. */
static int count_outputs(const g_schedule *p, const x_unit *u, const g_tensor *extra)
{
    int n = 0;
    for (int m = 0; m <= u->nmembers; m++) {
        const g_tensor *t = m < u->nmembers ? g_graph_node(p->g, u->members[m]) : extra;
        if (!t) continue;
        int w[3], nw = x_leaf_writes(t, w);
        n += nw ? nw : (t->op == G_OP_GROUP ? 0 : 1);
    }
    return n;
}

/* Whether units (with v added) stay within the device's bindings: texel
 * views count as sampled images, outputs as storage buffers; a matmul has
 * its operands and C on top. */
static int fits(const g_schedule *p, const x_unit *u, int ui, const x_unit *q, int qi, const g_tensor *v)
{
    const g_limits *l = &p->lim;
    int ins = count_ext_inputs(p, u, v, ui) + (q ? count_ext_inputs(p, q, NULL, qi) : 0);
    int outs = count_outputs(p, u, v) + (q ? count_outputs(p, q, NULL) : 0);
    int fixed = (u->kind == X_MATMUL || (q && q->kind == X_MATMUL)) ? 2 : 0;
    int max_in = (int)l->max_sampled_per_stage - fixed;
    int max_out = (int)l->max_storage_per_stage;
    int max_all = (int)l->max_resources_per_stage < MAX_BINDINGS ? (int)l->max_resources_per_stage : MAX_BINDINGS;
    return ins <= max_in && outs <= max_out && ins + outs + fixed <= max_all;
}

static int can_join(builder *b, int ui, const g_tensor *v)
{
    g_schedule *p = b->p;
    x_unit *u = &p->units[ui];
    if (p->opts.no_fusion) return 0; /* one node per dispatch */
    if (u->closed || u->kind == X_STATIC) return 0;
    if (u->numel != index_numel(v)) return 0;
    if (u->nmembers >= MAX_MEMBERS) return 0;
    int reads_member = 0;
    for (int k = 0; k < v->nsrc; k++) {
        if (!x_is_read(v, k)) continue;
        if (producer_unit(p, v->src[k]->id) == ui) {
            if (!identity_read(v, k)) return 0;
            /* a value read through an alias is read from memory, not a register */
            if (p->val[v->src[k]->id].alias >= 0) return 0;
            reads_member = 1;
        }
    }
    if (!reads_member) return 0;
    int w[3], nw = x_leaf_writes(v, w);
    for (int j = 0; j < nw; j++)
        if (unit_reads_leaf(p, u, w[j], 1) || unit_writes_leaf(p, u, w[j])) return 0;
    for (int k = 0; k < v->nsrc; k++)
        if (x_is_read(v, k) && p->val[v->src[k]->id].kind == X_LEAF && unit_writes_leaf(p, u, v->src[k]->id)) return 0;
    if (u->partner >= 0) {
        /* the partner runs in the same invocations at other indices */
        const x_unit *q = &p->units[u->partner];
        for (int j = 0; j < nw; j++)
            if (unit_reads_leaf(p, q, w[j], 0) || unit_writes_leaf(p, q, w[j])) return 0;
        for (int k = 0; k < v->nsrc; k++)
            if (x_is_read(v, k) && p->val[v->src[k]->id].kind == X_LEAF && unit_writes_leaf(p, q, v->src[k]->id)) return 0;
        if (!fits(p, u, ui, q, u->partner, v)) return 0;
    }
    if (!fits(p, u, ui, NULL, -1, v)) return 0;
    return 1;
}

/* v does not join unit ui: must ui be dispatched before v? */
static int conflicts(builder *b, int ui, const g_tensor *v)
{
    g_schedule *p = b->p;
    x_unit *u = &p->units[ui];
    for (int k = 0; k < v->nsrc; k++) {
        if (producer_unit(p, v->src[k]->id) == ui) return 1;
        int s = v->src[k]->id;
        if (x_is_read(v, k) && p->val[s].kind == X_LEAF && unit_writes_leaf(p, u, s)) return 1;
    }
    int w[3], nw = x_leaf_writes(v, w);
    for (int j = 0; j < nw; j++)
        if (unit_reads_leaf(p, u, w[j], 0) || unit_writes_leaf(p, u, w[j])) return 1;
    return 0;
}

/* v joins unit t and also reads open elementwise unit u: u's nodes can be
 * evaluated inside t instead of being dispatched on their own. They are
 * independent of t's nodes (each would have closed the other otherwise), so
 * only leaf hazards and binding limits decide. */
static int can_merge(builder *b, int ui, int ti, const g_tensor *v)
{
    g_schedule *p = b->p;
    x_unit *u = &p->units[ui], *t = &p->units[ti];
    if (p->opts.no_fusion || u->kind != X_EW || u->closed || u->numel != t->numel) return 0;
    if (u->partner >= 0 || t->partner >= 0) return 0;
    if (u->nmembers + t->nmembers >= MAX_MEMBERS) return 0;
    for (int k = 0; k < v->nsrc; k++)
        if (producer_unit(p, v->src[k]->id) == ui && (!identity_read(v, k) || p->val[v->src[k]->id].alias >= 0)) return 0;
    for (int m = 0; m < u->nmembers; m++) {
        const g_tensor *x = g_graph_node(b->g, u->members[m]);
        int w[3];
        if (x_leaf_writes(x, w)) return 0;
        for (int k = 0; k < x->nsrc; k++)
            if (p->val[x->src[k]->id].kind == X_LEAF && unit_writes_leaf(p, t, x->src[k]->id)) return 0;
    }
    /* v joins t next: where it writes a leaf that u reads at another
     * element's index, other invocations could read the new value */
    int w[3], nw = x_leaf_writes(v, w);
    for (int j = 0; j < nw; j++)
        if (unit_reads_leaf(p, u, w[j], 1)) return 0;
    if (!fits(p, t, ti, u, ui, v)) return 0;
    return 1;
}

static int merge_into(builder *b, int ui, int ti)
{
    x_unit *u = &b->p->units[ui];
    for (int m = 0; m < u->nmembers; m++)
        if (unit_add(b, ti, u->members[m])) return -1;
    u->nmembers = 0;
    u->closed = 1; /* gone: never emitted */
    for (int i = 0; i < b->nopen; i++)
        if (b->open[i] == ui) {
            memmove(&b->open[i], &b->open[i + 1], (size_t)(b->nopen - i - 1) * sizeof *b->open);
            b->nopen--;
            break;
        }
    return 0;
}

/* mm = A^T B (B [K, N]) and h = B summed over its rows ([N] or [1, N]). */
static int pair_shapes(const g_schedule *p, const g_tensor *mm, const g_tensor *h)
{
    if (mm->op != G_OP_MATMUL || h->op != G_OP_SUM_TO || !mm->attr.matmul.transpose_a || mm->attr.matmul.transpose_b) return 0;
    const g_tensor *bm = mm->src[1], *x = h->src[0];
    if (x_storage_of(p, bm->id) != x_storage_of(p, x->id) || x->ndim != 2 || bm->ndim != 2) return 0;
    if (g_numel(h) != (size_t)x->shape[1]) return 0;
    return (h->ndim == 1) || (h->ndim == 2 && h->shape[0] == 1);
}

static int units_touch(const g_schedule *p, const x_unit *a, int ai, const x_unit *bu, int bi)
{
    for (int m = 0; m < a->nmembers; m++) {
        const g_tensor *t = g_graph_node(p->g, a->members[m]);
        for (int k = 0; k < t->nsrc; k++)
            if (producer_unit(p, t->src[k]->id) == bi) return 1;
        int w[3], nw = x_leaf_writes(t, w);
        for (int j = 0; j < nw; j++)
            if (unit_reads_leaf(p, bu, w[j], 0) || unit_writes_leaf(p, bu, w[j])) return 1;
    }
    (void)ai;
    return 0;
}

/* Ties a weight-gradient matmul unit and a bias-gradient reduction unit of
 * the same B into one dispatch, where nothing forbids it. */
static void try_pair(builder *b, int ui)
{
    g_schedule *p = b->p;
    if (p->opts.no_fusion) return;
    x_unit *u = &p->units[ui];
    for (int i = 0; i < b->nopen; i++) {
        int oi = b->open[i];
        x_unit *o = &p->units[oi];
        if (oi == ui || o->partner >= 0 || u->partner >= 0) continue;
        int mi = u->kind == X_MATMUL ? ui : oi, ri = u->kind == X_MATMUL ? oi : ui;
        x_unit *mu = &p->units[mi], *ru = &p->units[ri];
        if (mu->kind != X_MATMUL || ru->kind != X_REDUCE || ru->nmembers == 0 || mu->nmembers == 0) continue;
        const g_tensor *mm = g_graph_node(b->g, mu->members[0]), *rh = g_graph_node(b->g, ru->members[0]);
        if (!pair_shapes(p, mm, rh)) continue;
        if (units_touch(p, mu, mi, ru, ri) || units_touch(p, ru, ri, mu, mi)) continue;
        if (!fits(p, mu, mi, ru, ri, NULL)) continue;
        mu->partner = ri;
        ru->partner = mi;
        ru->is_extra = 1;
        return;
    }
}

/* A constant read by a kernel that cannot inline it: one unit fills it. */
static int materialize_const(builder *b, int id)
{
    g_schedule *p = b->p;
    if (p->val[id].unit >= 0) return 0;
    int ui = unit_new(b, X_EW, g_numel(g_graph_node(b->g, id)));
    if (ui < 0 || unit_add(b, ui, id)) return -1;
    close_unit(b, ui);
    return 0;
}

static int mark_kept(g_schedule *p, g_tensor *t)
{
    /* iterative DFS: graphs of MEG have tens of thousands of nodes */
    int cap = 256, n = 0;
    g_tensor **stack = malloc((size_t)cap * sizeof *stack);
    if (!stack) { rt_set_error("out of host memory"); return -1; }
    stack[n++] = t;
    while (n) {
        g_tensor *x = stack[--n];
        if (p->val[x->id].kept) continue;
        p->val[x->id].kept = 1;
        for (int k = 0; k < x->nsrc; k++) {
            if (p->val[x->src[k]->id].kept) continue;
            if (n == cap) {
                cap *= 2;
                g_tensor **ns = realloc(stack, (size_t)cap * sizeof *ns);
                if (!ns) { free(stack); rt_set_error("out of host memory"); return -1; }
                stack = ns;
            }
            stack[n++] = x->src[k];
        }
    }
    free(stack);
    return 0;
}

/* "matmul+add+relu|sum_to+adam": the unit's ops, "|" before its extra row;
 * a horizontally fused unit's parts are joined by " & ". */
static void unit_label(const g_schedule *p, x_unit *u)
{
    size_t n = 0, cap = sizeof u->label;
    u->label[0] = 0;
    int nparts = u->nparts ? u->nparts : 1, done = 0;
    for (int k = 0; k < nparts; k++) {
        int first = u->nparts ? u->parts[k].first : 0, cnt = u->nparts ? u->parts[k].n : u->nmembers + u->nxmembers;
        if (n + 24 >= cap) break;
        if (k) n += (size_t)snprintf(u->label + n, cap - n, " & ");
        for (int m = first; m < first + cnt && n + 24 < cap; m++) {
            int id = m < u->nmembers ? u->members[m] : u->xmembers[m - u->nmembers];
            const char *nm = g_op_name(g_graph_node(p->g, id)->op);
            n += (size_t)snprintf(u->label + n, cap - n, "%s%s", m == u->nmembers ? "|" : m > first ? "+" : "", nm);
        }
        done = k + 1;
    }
    if (u->nparts && done < u->nparts) snprintf(u->label + n, cap - n, " & ...(%d parts)", u->nparts);
    else if (!u->nparts && u->nmembers > 1 && n + 24 >= cap) snprintf(u->label + n, cap - n, "...(%d)", u->nmembers);
}

/* FLOPs of a unit's matmuls (outer products in elementwise units and the
 * terms a K-stacked matmul sums included, so that the count does not depend
 * on the grouping) or its convolution (2 per multiply-add). */
static double unit_flops(const g_schedule *p, const x_unit *u)
{
    if (u->nmembers == 0) return 0;
    double f = 0;
    for (int m = 0; m < u->nmembers; m++) {
        const g_tensor *t = g_graph_node(p->g, u->members[m]);
        if (t->op != G_OP_MATMUL) continue;
        double k = t->src[0]->shape[t->attr.matmul.transpose_a ? 0 : 1];
        f += 2.0 * t->shape[0] * t->shape[1] * k;
    }
    if (f > 0) return f;
    const g_tensor *t = g_graph_node(p->g, u->members[0]);
    if (g_op_info_of(t->op)->kind != G_KIND_CONVOLUTION) return 0;
    const g_tensor *x = t->src[0], *w = t->src[1];
    if (t->op == G_OP_CONV2D) return 2.0 * (double)g_numel(t) * x->shape[1] * w->shape[2] * w->shape[3];
    if (t->op == G_OP_CONV_TRANSPOSE2D) return 2.0 * (double)g_numel(x) * w->shape[1] * w->shape[2] * w->shape[3];
    return 2.0 * (double)g_numel(t) * x->shape[0] * w->shape[2] * w->shape[3];   /* wgrad: gr is w */
}

int x_schedule_build(g_schedule *p, g_tensor **roots, int nroots)
{
    g_graph *g = p->g;
    int n = p->nnodes;
    for (int id = 0; id < n; id++) {
        p->val[id].unit = -1;
        p->val[id].alias = -1;
        p->val[id].first = p->val[id].last = -1;
    }
    for (int r = 0; r < nroots; r++) {
        if (mark_kept(p, roots[r])) return -1;
        if (!g_is_effect(roots[r])) p->val[roots[r]->id].root = 1;
    }
    builder b = {p, g, malloc((size_t)n * sizeof(int)), 0, malloc((size_t)(2 * n + 1) * sizeof(int)), 0};
    if (!b.open || !b.emit) { free(b.open); free(b.emit); rt_set_error("out of host memory"); return -1; }
    int rc = -1;
    for (int id = 0; id < n; id++) {
        x_val *val = &p->val[id];
        if (!val->kept) continue;
        g_tensor *v = g_graph_node(g, id);
        val->kind = classify(v);
        if (val->kind == X_LEAF || val->kind == X_NONE) continue;
        if (val->kind == X_CONST) continue;
        if ((v->op == G_OP_RESHAPE || v->op == G_OP_EXPAND) && p->val[v->src[0]->id].kind == X_CONST) {
            val->kind = X_CONST; /* a constant in another shape is still a constant */
            continue;
        }
        if (val->kind == X_EW && !p->opts.no_fusion && fold_const(p, v, &val->cval)) {
            val->kind = X_CONST;
            val->folded = 1;
            continue;
        }
        if (v->op == G_OP_RESHAPE || (v->op == G_OP_EXPAND && g_numel(v) == g_numel(v->src[0]))) {
            int s = v->src[0]->id;
            /* a reshape of a stored intermediate shares its memory */
            int pu = producer_unit(p, s);
            if (p->val[s].kind != X_LEAF && (pu < 0 || p->units[pu].closed)) {
                val->alias = s;
                continue;
            }
        }
        /* choose a unit to join */
        int target = -1;
        if (val->kind == X_EW)
            for (int i = 0; i < b.nopen && target < 0; i++)
                if (can_join(&b, b.open[i], v)) target = b.open[i];
        for (int i = 0; i < b.nopen;) {
            int ui = b.open[i];
            if (ui != target && conflicts(&b, ui, v)) {
                if (target >= 0 && can_merge(&b, ui, target, v)) {
                    if (merge_into(&b, ui, target)) goto done;
                } else {
                    close_unit(&b, ui);
                }
            } else {
                i++;
            }
        }
        if (target >= 0 && p->units[target].closed) target = -1; /* closed with its partner */
        if (target >= 0) {
            if (unit_add(&b, target, id)) goto done;
            continue;
        }
        if (val->kind == X_MATMUL || val->kind == X_STATIC)
            for (int k = 0; k < v->nsrc; k++)
                if (p->val[x_storage_of(p, v->src[k]->id)].kind == X_CONST &&
                    materialize_const(&b, x_storage_of(p, v->src[k]->id)))
                    goto done;
        size_t numel = val->kind == X_EW ? index_numel(v) : g_numel(v);
        int ui = unit_new(&b, val->kind, numel);
        if (ui < 0 || unit_add(&b, ui, id)) goto done;
        if (val->kind == X_STATIC) close_unit(&b, ui);
        else {
            b.open[b.nopen++] = ui;
            if (val->kind == X_MATMUL || val->kind == X_REDUCE) try_pair(&b, ui);
        }
    }
    while (b.nopen) close_unit(&b, b.open[0]);
    /* constants and reshaped constants wanted as roots */
    for (int r = 0; r < nroots; r++) {
        int id = roots[r]->id;
        if (p->val[id].kind == X_CONST && p->val[id].unit < 0) {
            int ui = unit_new(&b, X_EW, g_numel(roots[r]));
            if (ui < 0 || unit_add(&b, ui, id)) goto done;
            close_unit(&b, ui);
        }
    }
    /* a reduction tied to a matmul becomes the matmul's extra row */
    for (int ui = 0; ui < p->nunits; ui++) {
        x_unit *u = &p->units[ui];
        if (!u->is_extra) continue;
        x_unit *m = &p->units[u->partner];
        m->xmembers = u->members;
        m->nxmembers = u->nmembers;
        for (int k = 0; k < u->nmembers; k++) {
            p->val[u->members[k]].unit = u->partner;
            p->val[u->members[k]].xsec = 1;
        }
        u->members = NULL;
        u->nmembers = 0;
    }
    /* renumber units in dispatch order */
    {
        x_unit *sorted = malloc((size_t)(p->nunits ? p->nunits : 1) * sizeof *sorted);
        int *newidx = malloc((size_t)(p->nunits ? p->nunits : 1) * sizeof *newidx);
        if (!sorted || !newidx) { free(sorted); free(newidx); rt_set_error("out of host memory"); goto done; }
        for (int i = 0; i < b.nemit; i++) {
            sorted[i] = p->units[b.emit[i]];
            newidx[b.emit[i]] = i;
        }
        for (int id = 0; id < n; id++)
            if (p->val[id].unit >= 0) p->val[id].unit = newidx[p->val[id].unit];
        for (int ui = 0; ui < p->nunits; ui++)
            if (p->units[ui].nmembers == 0) free(p->units[ui].members); /* merged into another */
        p->nunits = b.nemit;
        free(p->units);
        free(newidx);
        p->units = sorted;
        p->capunits = b.nemit ? b.nemit : 1;
    }
    if (x_kstack(p) || x_plan_memory(p) || x_hfuse(p)) goto done;
    for (int ui = 0; ui < p->nunits; ui++) {
        unit_label(p, &p->units[ui]);
        p->units[ui].flops = unit_flops(p, &p->units[ui]);
        p->flops += p->units[ui].flops;
    }
    rc = 0;
done:
    free(b.open);
    free(b.emit);
    return rc;
}

/* ---- the public face of a schedule ------------------------------------------ */

void g_limits_default(g_limits *l)
{
    /* lavapipe 22.3 */
    l->max_sampled_per_stage = 128;
    l->max_storage_per_stage = 32;
    l->max_resources_per_stage = 128;
    l->alignment = 16;
    l->max_texels = (uint64_t)1 << 27;
    l->max_storage_range = (uint64_t)1 << 27;
    l->fast_descriptor_bytes = 0;
    /* the lowered limits of tests, as a context takes them (an unreadable
     * value fails the context, which says why) */
    uint32_t v;
    if (!rt_limit_env("MEG_LIMIT_TEXELS", &v) && v && v < l->max_texels) l->max_texels = v;
    if (!rt_limit_env("MEG_LIMIT_STORAGE_RANGE", &v) && v && v < l->max_storage_range) l->max_storage_range = v;
    if (!rt_limit_env("MEG_LIMIT_STORAGE_BUFFERS", &v) && v && v < l->max_storage_per_stage) l->max_storage_per_stage = v;
    if (!rt_limit_env("MEG_LIMIT_SAMPLED", &v) && v && v < l->max_sampled_per_stage) l->max_sampled_per_stage = v;
}

void g_schedule_free(g_schedule *p)
{
    if (!p) return;
    for (int ui = 0; ui < p->nunits; ui++) {
        free(p->units[ui].members);
        free(p->units[ui].xmembers);
        free(p->units[ui].parts);
    }
    free(p->units);
    free(p->val);
    free(p->needs_input);
    free(p->roots);
    free(p);
}

int g_schedule_new(g_graph *g, g_tensor **roots, int n, const g_plan_opts *opts, const g_limits *lim,
                   g_schedule **out)
{
    *out = NULL;
    if (!g) { rt_set_error("g_schedule_new: no graph"); return -1; }
    if (g_graph_error(g)) { rt_set_error("graph has an error: %s", g_graph_error(g)); return -1; }
    if (n < 1 || !roots) { rt_set_error("g_schedule_new: no roots"); return -1; }
    for (int i = 0; i < n; i++)
        if (!roots[i] || roots[i]->graph != g) {
            rt_set_error("g_schedule_new: root %d is %s", i, roots[i] ? "from another graph" : "NULL");
            return -1;
        }
    g_schedule *p = calloc(1, sizeof *p);
    if (!p) { rt_set_error("out of host memory"); return -1; }
    p->g = g;
    if (opts) p->opts = *opts;
    if (lim) p->lim = *lim;
    else g_limits_default(&p->lim);
    if (p->lim.alignment < 16) p->lim.alignment = 16;
    p->nnodes = g_graph_size(g);
    p->val = calloc((size_t)p->nnodes, sizeof *p->val);
    p->roots = malloc((size_t)n * sizeof *p->roots);
    if (!p->val || !p->roots) { g_schedule_free(p); rt_set_error("out of host memory"); return -1; }
    for (int i = 0; i < n; i++) p->roots[i] = roots[i]->id;
    p->nroots = n;
    if (x_schedule_build(p, roots, n)) { g_schedule_free(p); return -1; }
    *out = p;
    return 0;
}

void g_schedule_stats(const g_schedule *p, g_plan_stats *st)
{
    memset(st, 0, sizeof *st);
    for (int id = 0; id < p->nnodes; id++) st->nodes += p->val[id].kept;
    st->dispatches = p->nunits;
    for (int ui = 0; ui < p->nunits; ui++) st->fused_groups += p->units[ui].nmembers + p->units[ui].nxmembers > 1;
    st->arena_bytes = p->arena_bytes;
    st->intermediate_bytes = p->intermediate_bytes;
    for (int id = 0; id < p->nnodes; id++) {
        g_tensor *t = g_graph_node(p->g, id);
        if (t->op == G_OP_PARAM) st->param_bytes += g_numel(t) * 4;
        if (t->op == G_OP_STATE) st->state_bytes += g_numel(t) * 4;
    }
    st->flops = p->flops;
}

int g_schedule_units(const g_schedule *p) { return p ? p->nunits : 0; }

const char *g_schedule_label(const g_schedule *p, int unit)
{
    if (!p || unit < 0 || unit >= p->nunits) return NULL;
    return p->units[unit].label;
}

int g_schedule_glsl(const g_schedule *p, int unit, char **glsl, int *nbindings)
{
    *glsl = NULL;
    if (!p || unit < 0 || unit >= p->nunits) {
        rt_set_error("g_schedule_glsl: no unit %d (the schedule has %d)", unit, p ? p->nunits : 0);
        return -1;
    }
    x_source src;
    if (x_emit_unit(p, unit, &src)) return -1;
    if (nbindings) *nbindings = src.glsl ? (src.matmul ? 2 : 0) + src.nout + src.nin : 0;
    *glsl = src.glsl;
    src.glsl = NULL;
    x_source_free(&src);
    return 0;
}
