/* hfuse.c: horizontal fusion. Elementwise units (and reductions of one
 * invocation per output) that do not depend on each other run as one
 * dispatch: invocation i runs part k at index
 * i - offset_k, the parts laid end to end, each offset a multiple of the
 * workgroup size so that a workgroup runs one part. On lavapipe every
 * dispatch costs tens of microseconds whatever its size, and on a GPU the
 * barriers between small dispatches stall; MEG's bias updates, counters,
 * random draws and small broadcasts are many such units.
 *
 * Correctness rests on moving units only past units they do not conflict
 * with. Two units conflict where one reads a value the other produces, or
 * one writes a leaf (param, state, assigned input) that the other reads or
 * writes. The pass walks the units in dispatch order; each elementwise unit
 * joins the nearest earlier group (within a window) that it does not
 * conflict with, either by moving up to it (where it conflicts with none of
 * the units in between) or by the group moving down to it (where the group
 * conflicts with none of them). Every move swaps only neighbours that do not
 * conflict, so every value is still produced before it is read and the
 * effects on a leaf keep their order. Parts never read each other's values,
 * so a member's register reads stay inside its own part. The arena is then
 * laid out again for the new order. */
#include "exec_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 64        /* slots looked back from a unit: bounds the planning time */
#define MAX_PARTS 32     /* parts of one dispatch: the if-chain that picks a part stays short */
#define MAX_BINDINGS 32  /* the recorder's limit per dispatch (runtime/record.c) */
#define GROUP_SIZE 64    /* local_size_x of generated kernels (emit.c) */

/* A sorted set of node ids. */
typedef struct iset {
    int *v;
    int n, cap;
} iset;

static int iset_add(iset *s, int x)
{
    int lo = 0, hi = s->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (s->v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    if (lo < s->n && s->v[lo] == x) return 0;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        int *nv = realloc(s->v, (size_t)cap * sizeof *nv);
        if (!nv) { rt_set_error("out of host memory"); return -1; }
        s->v = nv;
        s->cap = cap;
    }
    memmove(&s->v[lo + 1], &s->v[lo], (size_t)(s->n - lo) * sizeof *s->v);
    s->v[lo] = x;
    s->n++;
    return 0;
}

static int iset_meets(const iset *a, const iset *b)
{
    int i = 0, j = 0;
    while (i < a->n && j < b->n) {
        if (a->v[i] == b->v[j]) return 1;
        if (a->v[i] < b->v[j]) i++;
        else j++;
    }
    return 0;
}

static int iset_union_size(const iset *a, const iset *b)
{
    int n = a->n + b->n, i = 0, j = 0;
    while (i < a->n && j < b->n) {
        if (a->v[i] == b->v[j]) { n--; i++; j++; }
        else if (a->v[i] < b->v[j]) i++;
        else j++;
    }
    return n;
}

static int iset_merge(iset *dst, const iset *src)
{
    for (int k = 0; k < src->n; k++)
        if (iset_add(dst, src->v[k])) return -1;
    return 0;
}

/* A slot of the dispatch order: one unit, or a group of merged ones. */
typedef struct grp {
    int *units;          /* unit indices of the schedule, in dispatch order */
    int nunits;
    iset rd;             /* storage ids read */
    iset wr;             /* values produced and leaves written */
    iset in, out;        /* what the generated kernel binds: texel views, storage buffers */
    size_t invocations;  /* the parts end to end, each rounded up to a workgroup */
    int eligible;
} grp;

static void grp_free(grp *g)
{
    free(g->units);
    free(g->rd.v);
    free(g->wr.v);
    free(g->in.v);
    free(g->out.v);
}

/* Storage ids that source s stands for: itself, or where it is a group of
 * effects (an ordering edge), what the group collects. */
static int add_read(const g_schedule *p, iset *rd, const g_tensor *s, int depth)
{
    if (s->op == G_OP_GROUP) {
        if (depth > 16) { rt_set_error("hfuse: groups nested deeper than 16 at node %d", s->id); return -1; }
        for (int k = 0; k < s->nsrc; k++)
            if (add_read(p, rd, s->src[k], depth + 1)) return -1;
        return 0;
    }
    int st = x_storage_of(p, s->id);
    /* a constant has no buffer, except where a unit fills one for a kernel
     * that cannot inline it (a matmul's operand): then it is a value too */
    int is_const = p->val[st].kind == X_CONST || p->val[s->id].kind == X_CONST;
    if (is_const && p->val[st].unit < 0 && p->val[s->id].unit < 0) return 0;
    return iset_add(rd, st);
}

static int grp_init(const g_schedule *p, int ui, grp *g)
{
    const x_unit *u = &p->units[ui];
    memset(g, 0, sizeof *g);
    g->units = malloc(sizeof *g->units);
    if (!g->units) { rt_set_error("out of host memory"); return -1; }
    g->units[0] = ui;
    g->nunits = 1;
    for (int m = 0; m < u->nmembers + u->nxmembers; m++) {
        int id = m < u->nmembers ? u->members[m] : u->xmembers[m - u->nmembers];
        const g_tensor *t = g_graph_node(p->g, id);
        if (iset_add(&g->wr, id)) return -1;
        int w[3], nw = x_leaf_writes(t, w);
        for (int j = 0; j < nw; j++)
            if (iset_add(&g->wr, w[j])) return -1;
        for (int k = 0; k < t->nsrc; k++)
            if (x_is_read(t, k) && add_read(p, &g->rd, t->src[k], 0)) return -1;
    }
    /* elementwise units, and reductions with one invocation per output (a
     * workgroup per output needs its own dispatch shape) */
    g->eligible = (u->kind == X_EW || u->kind == X_REDUCE) && u->nparts == 0 && u->nmembers > 0 && u->nxmembers == 0;
    if (!g->eligible) return 0;
    x_source src;
    if (x_emit_unit(p, ui, &src)) return -1;
    if (src.group_per_output) g->eligible = 0;
    int rc = 0;
    for (int k = 0; k < src.nin && !rc; k++) rc = iset_add(&g->in, src.in[k]);
    for (int k = 0; k < src.nout && !rc; k++) rc = iset_add(&g->out, src.out[k]);
    g->invocations = (src.invocations + GROUP_SIZE - 1) / GROUP_SIZE * GROUP_SIZE;
    x_source_free(&src);
    return rc;
}

static int conflict(const grp *a, const grp *b)
{
    return iset_meets(&a->rd, &b->wr) || iset_meets(&a->wr, &b->rd) || iset_meets(&a->wr, &b->wr);
}

/* Whether a and b together stay within one kernel's bindings (as the
 * planner's own rule in schedule.c counts them) and index range. */
static int fits(const g_schedule *p, const grp *a, const grp *b)
{
    const g_limits *l = &p->lim;
    if (a->nunits + b->nunits > MAX_PARTS) return 0;
    if (a->invocations + b->invocations > (size_t)UINT32_MAX / 2) return 0;
    int ins = iset_union_size(&a->in, &b->in), outs = iset_union_size(&a->out, &b->out);
    int max_all = (int)l->max_resources_per_stage < MAX_BINDINGS ? (int)l->max_resources_per_stage : MAX_BINDINGS;
    if (l->fast_descriptor_bytes && 4 * (uint32_t)ins + 16 * (uint32_t)outs > l->fast_descriptor_bytes) return 0;
    return ins <= (int)l->max_sampled_per_stage && outs <= (int)l->max_storage_per_stage && ins + outs <= max_all;
}

/* b's units and sets into a (b is left empty). */
static int absorb(grp *a, grp *b)
{
    int *nu = realloc(a->units, (size_t)(a->nunits + b->nunits) * sizeof *nu);
    if (!nu) { rt_set_error("out of host memory"); return -1; }
    a->units = nu;
    memcpy(&a->units[a->nunits], b->units, (size_t)b->nunits * sizeof *nu);
    a->nunits += b->nunits;
    if (iset_merge(&a->rd, &b->rd) || iset_merge(&a->wr, &b->wr) || iset_merge(&a->in, &b->in) ||
        iset_merge(&a->out, &b->out))
        return -1;
    a->invocations += b->invocations;
    grp_free(b);
    memset(b, 0, sizeof *b);
    return 0;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* The merged unit of group g: members part after part, in dispatch order. */
static int merged_unit(const g_schedule *p, grp *g, x_unit *out)
{
    qsort(g->units, (size_t)g->nunits, sizeof *g->units, cmp_int);
    memset(out, 0, sizeof *out);
    out->kind = X_EW;
    out->partner = -1;
    out->closed = 1;
    int nm = 0;
    for (int k = 0; k < g->nunits; k++) nm += p->units[g->units[k]].nmembers;
    out->members = malloc((size_t)nm * sizeof *out->members);
    out->parts = malloc((size_t)g->nunits * sizeof *out->parts);
    if (!out->members || !out->parts) {
        free(out->members);
        free(out->parts);
        rt_set_error("out of host memory");
        return -1;
    }
    out->capmembers = nm;
    size_t off = 0;
    for (int k = 0; k < g->nunits; k++) {
        const x_unit *u = &p->units[g->units[k]];
        out->parts[k] = (x_part){out->nmembers, u->nmembers, u->numel, off};
        memcpy(&out->members[out->nmembers], u->members, (size_t)u->nmembers * sizeof *u->members);
        out->nmembers += u->nmembers;
        off += (u->numel + GROUP_SIZE - 1) / GROUP_SIZE * GROUP_SIZE;
    }
    out->nparts = g->nunits;
    out->numel = off;
    return 0;
}

/* Groups the slots; returns the number of slots left, or -1. */
static int group_slots(const g_schedule *p, grp *seq, int n)
{
    int pos = 0;
    while (pos < n) {
        grp *b = &seq[pos];
        int merged = 0;
        if (b->eligible) {
            int blocked = 0;   /* b conflicts with a slot between: it cannot move up past it */
            for (int q = pos - 1; q >= 0 && q >= pos - WINDOW && !merged; q--) {
                grp *s = &seq[q];
                int c = conflict(b, s);
                if (!c && s->eligible && fits(p, s, b)) {
                    int down = !blocked;
                    if (blocked) {
                        /* the group moves down to b instead, past every slot between */
                        down = 1;
                        for (int r = q + 1; r < pos && down; r++) down = !conflict(s, &seq[r]);
                        if (down) {
                            if (absorb(b, s)) return -1;
                            memmove(&seq[q], &seq[q + 1], (size_t)(n - q - 1) * sizeof *seq);
                            memset(&seq[--n], 0, sizeof *seq);
                            merged = 1;
                            break;
                        }
                    } else {
                        if (absorb(s, b)) return -1;
                        memmove(&seq[pos], &seq[pos + 1], (size_t)(n - pos - 1) * sizeof *seq);
                        memset(&seq[--n], 0, sizeof *seq);
                        merged = 1;
                        break;
                    }
                }
                if (c) blocked = 1;
            }
        }
        if (!merged) pos++;
    }
    return n;
}

static int hfuse_enabled(const g_schedule *p)
{
    if (p->opts.no_fusion || p->opts.no_hfuse) return 0;
    const char *e = getenv("MEG_HFUSE");
    return !(e && e[0] == '0' && e[1] == 0);
}

int x_hfuse(g_schedule *p)
{
    if (!hfuse_enabled(p) || p->nunits < 2) return 0;
    int n = p->nunits, rc = -1;
    grp *seq = calloc((size_t)n, sizeof *seq);
    x_unit *units = NULL;
    if (!seq) { rt_set_error("out of host memory"); return -1; }
    for (int ui = 0; ui < n; ui++)
        if (grp_init(p, ui, &seq[ui])) goto done;
    int left = group_slots(p, seq, n);
    if (left < 0) goto done;
    if (left == n) { rc = 0; goto done; }
    units = calloc((size_t)left, sizeof *units);
    if (!units) { rt_set_error("out of host memory"); goto done; }
    /* merged units first (they can fail), then the single ones moved over */
    for (int k = 0; k < left; k++)
        if (seq[k].nunits > 1 && merged_unit(p, &seq[k], &units[k])) goto done;
    for (int k = 0; k < left; k++)
        if (seq[k].nunits == 1) {
            units[k] = p->units[seq[k].units[0]];
            p->units[seq[k].units[0]].members = NULL;
            p->units[seq[k].units[0]].xmembers = NULL;
        }
    /* the old units: what was merged is copied, the rest moved */
    for (int ui = 0; ui < n; ui++) {
        free(p->units[ui].members);
        free(p->units[ui].xmembers);
        free(p->units[ui].parts);
    }
    free(p->units);
    p->units = units;
    p->nunits = p->capunits = left;
    units = NULL;
    for (int ui = 0; ui < p->nunits; ui++) {
        const x_unit *u = &p->units[ui];
        for (int m = 0; m < u->nmembers + u->nxmembers; m++)
            p->val[m < u->nmembers ? u->members[m] : u->xmembers[m - u->nmembers]].unit = ui;
    }
    /* the arena again, for the new order */
    for (int id = 0; id < p->nnodes; id++) {
        x_val *v = &p->val[id];
        v->materialize = 0;
        v->storage = S_NONE;
        v->offset = v->bytes = 0;
    }
    free(p->needs_input);
    p->needs_input = NULL;
    p->nneeds = 0;
    rc = x_plan_memory(p);
done:
    if (units) {   /* failed before the swap: only merged units were made */
        for (int k = 0; k < left; k++)
            if (units[k].nparts) { free(units[k].members); free(units[k].parts); }
        free(units);
    }
    for (int k = 0; k < n; k++) grp_free(&seq[k]);
    free(seq);
    return rc;
}
