/* kstack.c: K stacking. A weight gradient is often a sum of products
 * dW = A_1^T B_1 + A_2^T B_2 + ... (each of E's layers in MEG: the real
 * batch, the generated batch and the penalty's double backward), each
 * product a matmul unit of its own and the sum made by adds in the last
 * one's epilogue. Laid end to end along K, [A_1; A_2; ...]^T [B_1; B_2; ...]
 * is the same sum in one matmul. This pass folds the units of such products
 * into the unit that sums them and records their K order (x_unit.seg);
 * memory.c places the A_s, and the B_s, contiguously in the arena so that
 * one texel view reads each stack, and the emitter makes the adds copies of
 * the running sum. Bias gradients, the column sums of the B_s that have one
 * (schedule.c's extra row of ones), fold the same way: those products come
 * last in K and the row of ones starts at the first of them.
 *
 * It applies only where nothing but rounding can change: every product and
 * every partial sum is read by nothing but the next add; the operands are
 * intermediates, so reading them later reads the same values (no leaf that
 * an effect in between could write); a unit folded holds nothing but its
 * product, and its bias reduction with the adds of the bias's own sum. */
#include "exec_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct ctx {
    g_schedule *p;
    int *uses;              /* per node: kept nodes reading it (a root counts once more) */
    int *reader;            /* per node: the last kept node reading it (-1: none) */
    unsigned char *stacked; /* per storage id: already in a block */
} ctx;

static int same_shape(const g_tensor *a, const g_tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return 0;
    return 1;
}

/* A^T B, A [K, M] and B [K, N] stored row-major: stacks along K are rows. */
static int weight_gradient(const g_tensor *t)
{
    return t->op == G_OP_MATMUL && t->ndim == 2 && t->attr.matmul.transpose_a && !t->attr.matmul.transpose_b &&
           t->src[0]->ndim == 2 && t->src[1]->ndim == 2;
}

static int k_of(const g_tensor *t) { return t->src[0]->shape[0]; }

/* A value that a stack may hold: produced by a unit (an intermediate, or a
 * constant that a unit fills for a matmul), stored in the arena, in no
 * other stack. */
static int stackable(const ctx *c, const g_tensor *s)
{
    const g_schedule *p = c->p;
    int st = x_storage_of(p, s->id);
    const x_val *v = &p->val[st];
    if (v->kind == X_LEAF || v->kind == X_NONE || v->unit < 0 || v->root) return 0;
    return !c->stacked[st];
}

/* x, like head h, is a product alone in a matmul unit other than fi. */
static int foldable(const ctx *c, int fi, const g_tensor *h, const g_tensor *x)
{
    const g_schedule *p = c->p;
    if (!weight_gradient(x) || !same_shape(x, h) || c->uses[x->id] != 1 || p->val[x->id].root) return 0;
    int xi = p->val[x->id].unit;
    if (xi < 0 || xi == fi) return 0;
    const x_unit *u = &p->units[xi];
    if (u->kind != X_MATMUL || u->nmembers != 1 || u->members[0] != x->id || u->nparts || u->nseg) return 0;
    return stackable(c, x->src[0]) && stackable(c, x->src[1]);
}

/* The bias side: the extra rows of units `bi` (their sum_to heads and the
 * adds of their own sum) fold into one running sum when those adds chain
 * every head exactly once, and units other than f hold nothing else there.
 * Fills heads (per unit), root (the head that takes the row's value) and
 * pass (the adds, which become copies of the running sum). */
static int bias_chain(const ctx *c, int f, const int *bi, int nb, int *heads, int *root, int *pass, int *npass)
{
    const g_schedule *p = c->p;
    for (int k = 0; k < nb; k++) {
        const x_unit *u = &p->units[bi[k]];
        heads[k] = u->xmembers[0];
        const g_tensor *s = g_graph_node(p->g, heads[k]);
        if (s->op != G_OP_SUM_TO || c->uses[s->id] != 1 || p->val[s->id].root) return 0;
        if (k && !same_shape(s, g_graph_node(p->g, heads[0]))) return 0;
    }
    /* the extra rows' other nodes in program order (ids are topological) */
    int cand[4 * X_MAX_SEG + 64], ncand = 0;
    for (int k = 0; k < nb; k++) {
        const x_unit *u = &p->units[bi[k]];
        for (int m = 1; m < u->nxmembers; m++) {
            if (ncand == (int)(sizeof cand / sizeof *cand)) return 0;
            cand[ncand++] = u->xmembers[m];
        }
    }
    for (int i = 1; i < ncand; i++)
        for (int j = i; j > 0 && cand[j] < cand[j - 1]; j--) { int t = cand[j]; cand[j] = cand[j - 1]; cand[j - 1] = t; }
    unsigned used = 0;
    int chain = -1;
    *npass = 0;
    if (nb == 1) {
        used = 1;
        *root = heads[0];
    }
    for (int i = 0; i < ncand; i++) {
        const g_tensor *t = g_graph_node(p->g, cand[i]);
        int in_f = p->val[t->id].unit == f;
        int ok = 0;
        if (t->op == G_OP_ADD && t->nsrc == 2 && same_shape(t, g_graph_node(p->g, heads[0])) &&
            (int)used != (1 << nb) - 1) {
            int h0 = -1, h1 = -1;
            for (int k = 0; k < nb; k++) {
                if (!(used >> k & 1u) && t->src[0]->id == heads[k]) h0 = k;
                if (!(used >> k & 1u) && t->src[1]->id == heads[k]) h1 = k;
            }
            if (chain < 0 && h0 >= 0 && h1 >= 0 && h0 != h1) {
                used |= 1u << h0 | 1u << h1;
                *root = heads[h0];
                ok = 1;
            } else if (chain >= 0 && c->uses[chain] == 1 && !p->val[chain].root &&
                       ((t->src[0]->id == chain && h1 >= 0) || (t->src[1]->id == chain && h0 >= 0))) {
                used |= 1u << (t->src[0]->id == chain ? h1 : h0);
                ok = 1;
            }
        }
        if (ok) {
            chain = t->id;
            pass[(*npass)++] = t->id;
        } else if (!in_f) {
            return 0;   /* a folded unit's extra row holds something else */
        }
    }
    return (int)used == (1 << nb) - 1;
}

/* Stack rows: the bytes of every value but the last are a multiple of the
 * binding alignment (each keeps its own aligned offset for its other
 * readers), the whole within one texel view. */
static int stack_fits(const ctx *c, const int *vals, int n)
{
    const g_schedule *p = c->p;
    size_t align = p->lim.alignment < 16 ? 16 : p->lim.alignment;
    uint64_t texels = 0;
    for (int k = 0; k < n; k++) {
        size_t bytes = g_numel(g_graph_node(p->g, vals[k])) * 4;
        if (k < n - 1 && bytes % align) return 0;
        texels += bytes / 4;
        for (int j = 0; j < k; j++)
            if (vals[j] == vals[k]) return 0;
    }
    return !p->lim.max_texels || texels <= p->lim.max_texels;
}

static int fold_unit(ctx *c, int fi)
{
    g_schedule *p = c->p;
    x_unit *F = &p->units[fi];
    if (F->kind != X_MATMUL || F->nparts || F->nseg || F->nmembers < 2) return 0;
    const g_tensor *h = g_graph_node(p->g, F->members[0]);
    if (!weight_gradient(h) || !stackable(c, h->src[0]) || !stackable(c, h->src[1])) return 0;
    /* the running sum through F's adds, and the products it could fold */
    int prod[X_MAX_SEG], add_of[X_MAX_SEG], n = 0, chain = h->id;
    for (int m = 1; m < F->nmembers && n < X_MAX_SEG - 1; m++) {
        const g_tensor *t = g_graph_node(p->g, F->members[m]);
        if (t->op != G_OP_ADD || t->nsrc != 2) continue;
        int ci = t->src[0]->id == chain ? 0 : t->src[1]->id == chain ? 1 : -1;
        if (ci < 0) continue;
        if (c->uses[chain] != 1 || p->val[chain].root || !same_shape(t, h)) break;
        const g_tensor *x = t->src[1 - ci];
        if (foldable(c, fi, h, x)) {
            prod[n] = x->id;
            add_of[n++] = t->id;
        }
        chain = t->id;
    }
    if (!n) return 0;
    /* products with a bias reduction: folded only if the biases' sum folds too */
    int bi[X_MAX_SEG], heads[X_MAX_SEG], nb = 0, root = -1, pass[4 * X_MAX_SEG + 64], npass = 0, with_bias = 0;
    if (F->nxmembers) bi[nb++] = fi;
    for (int k = 0; k < n; k++)
        if (p->units[p->val[prod[k]].unit].nxmembers) { bi[nb++] = p->val[prod[k]].unit; with_bias++; }
    if (with_bias && !bias_chain(c, fi, bi, nb, heads, &root, pass, &npass)) {
        int keep = 0;
        for (int k = 0; k < n; k++)
            if (!p->units[p->val[prod[k]].unit].nxmembers) { prod[keep] = prod[k]; add_of[keep++] = add_of[k]; }
        n = keep;
        nb = F->nxmembers ? 1 : 0;
        with_bias = 0;
        if (!n) return 0;
    }
    /* K order: the products without a bias, then those with one */
    int seg[X_MAX_SEG], ns = 0;
    uint32_t ones_from = 0;
    for (int pass_b = 0; pass_b < 2; pass_b++) {
        for (int k = -1; k < n; k++) {
            int id = k < 0 ? h->id : prod[k];
            int has = k < 0 ? F->nxmembers > 0 : p->units[p->val[id].unit].nxmembers > 0;
            if (has == pass_b) seg[ns++] = id;
        }
        if (!pass_b)
            for (int s = 0; s < ns; s++) ones_from += (uint32_t)k_of(g_graph_node(p->g, seg[s]));
    }
    int sa[X_MAX_SEG], sb[X_MAX_SEG];
    for (int s = 0; s < ns; s++) {
        const g_tensor *t = g_graph_node(p->g, seg[s]);
        sa[s] = x_storage_of(p, t->src[0]->id);
        sb[s] = x_storage_of(p, t->src[1]->id);
        for (int r = 0; r < ns; r++)
            if (sa[s] == x_storage_of(p, g_graph_node(p->g, seg[r])->src[1]->id)) return 0;
    }
    if (!stack_fits(c, sa, ns) || !stack_fits(c, sb, ns)) return 0;

    /* commit: the products (and their extra rows) become F's */
    int nm = F->nmembers + n;
    int *members = malloc((size_t)nm * sizeof *members);
    int nx = F->nxmembers;
    for (int k = 0; k < n; k++) nx += p->units[p->val[prod[k]].unit].nxmembers;
    int *xm = nx ? malloc((size_t)nx * sizeof *xm) : NULL;
    if (!members || (nx && !xm)) {
        free(members);
        free(xm);
        rt_set_error("out of host memory");
        return -1;
    }
    members[0] = h->id;
    for (int k = 0; k < n; k++) members[1 + k] = prod[k];
    memcpy(&members[1 + n], &F->members[1], (size_t)(F->nmembers - 1) * sizeof *members);
    int nxm = 0;
    if (F->nxmembers) memcpy(xm, F->xmembers, (size_t)F->nxmembers * sizeof *xm), nxm = F->nxmembers;
    for (int k = 0; k < n; k++) {
        x_unit *u = &p->units[p->val[prod[k]].unit];
        p->val[prod[k]].ksum = 1;
        p->val[add_of[k]].kpass = 1;
        u->nmembers = 0;
        if (u->nxmembers) {
            memcpy(&xm[nxm], u->xmembers, (size_t)u->nxmembers * sizeof *xm);
            nxm += u->nxmembers;
            free(u->xmembers);
            u->xmembers = NULL;
            u->nxmembers = 0;
        }
    }
    for (int k = 0; k < nm; k++) p->val[members[k]].unit = fi;
    free(F->members);
    F->members = members;
    F->nmembers = F->capmembers = nm;
    if (nxm) {
        /* program order, the root of the biases' sum first (it takes the row's value) */
        for (int i = 1; i < nxm; i++)
            for (int j = i; j > 0 && xm[j] < xm[j - 1]; j--) { int t = xm[j]; xm[j] = xm[j - 1]; xm[j - 1] = t; }
        if (with_bias) {
            for (int i = 0; i < nxm; i++)
                if (xm[i] == root) { memmove(&xm[1], &xm[0], (size_t)i * sizeof *xm); xm[0] = root; break; }
            for (int k = 0; k < nb; k++)
                if (heads[k] != root) p->val[heads[k]].ksum = 1;   /* summed by the row of ones */
            for (int q = 0; q < npass; q++) p->val[pass[q]].kpass = 1;
        }
        for (int i = 0; i < nxm; i++) {
            p->val[xm[i]].unit = fi;
            p->val[xm[i]].xsec = 1;
        }
        free(F->xmembers);
        F->xmembers = xm;
        F->nxmembers = nxm;
    }
    memcpy(F->seg, seg, (size_t)ns * sizeof *seg);
    F->nseg = ns;
    F->ones_from = F->nxmembers ? ones_from : 0;
    for (int s = 0; s < ns; s++) c->stacked[sa[s]] = c->stacked[sb[s]] = 1;
    return 0;
}

/* A bias reduction sum_to(B) left in a unit of its own (schedule.c pairs it
 * with the matmul A^T B only while both are open) becomes that matmul's
 * extra row, so that it folds with the product. Safe wherever its one
 * reader runs after the matmul: B is the matmul's operand, so it is there. */
static void adopt_reductions(ctx *c)
{
    g_schedule *p = c->p;
    for (int ri = 0; ri < p->nunits; ri++) {
        x_unit *r = &p->units[ri];
        if (r->kind != X_REDUCE || r->nmembers != 1 || r->nxmembers || r->nparts || r->partner >= 0) continue;
        const g_tensor *s = g_graph_node(p->g, r->members[0]);
        if (s->op != G_OP_SUM_TO || c->uses[s->id] != 1 || p->val[s->id].root || c->reader[s->id] < 0) continue;
        int bs = x_storage_of(p, s->src[0]->id);
        int ru = p->val[c->reader[s->id]].unit;
        for (int xi = 0; xi < p->nunits; xi++) {
            x_unit *x = &p->units[xi];
            if (x->kind != X_MATMUL || x->nmembers != 1 || x->nxmembers || x->nparts || ru <= xi) continue;
            const g_tensor *m = g_graph_node(p->g, x->members[0]);
            if (!weight_gradient(m) || x_storage_of(p, m->src[1]->id) != bs) continue;
            if (s->src[0]->ndim != 2 || g_numel(s) != (size_t)s->src[0]->shape[1]) continue;
            if (!(s->ndim == 1 || (s->ndim == 2 && s->shape[0] == 1))) continue;
            x->xmembers = r->members;
            x->nxmembers = 1;
            r->members = NULL;
            r->nmembers = r->capmembers = 0;
            p->val[s->id].unit = xi;
            p->val[s->id].xsec = 1;
            break;
        }
    }
}

static int kstack_enabled(const g_schedule *p)
{
    if (p->opts.no_fusion || p->opts.no_kstack) return 0;
    const char *e = getenv("MEG_KSTACK");
    return !(e && e[0] == '0' && e[1] == 0);
}

int x_kstack(g_schedule *p)
{
    if (!kstack_enabled(p)) return 0;
    int n = p->nnodes;
    ctx c = {p, calloc((size_t)(n ? n : 1), sizeof(int)), malloc((size_t)(n ? n : 1) * sizeof(int)),
             calloc((size_t)(n ? n : 1), 1)};
    if (!c.uses || !c.reader || !c.stacked) {
        free(c.uses);
        free(c.reader);
        free(c.stacked);
        rt_set_error("out of host memory");
        return -1;
    }
    for (int id = 0; id < n; id++) c.reader[id] = -1;
    for (int id = 0; id < n; id++) {
        if (!p->val[id].kept) continue;
        const g_tensor *t = g_graph_node(p->g, id);
        for (int k = 0; k < t->nsrc; k++) {
            c.uses[t->src[k]->id]++;
            c.reader[t->src[k]->id] = id;
        }
        if (p->val[id].root) c.uses[id]++;
    }
    adopt_reductions(&c);
    int rc = 0;
    for (int ui = 0; ui < p->nunits && !rc; ui++) rc = fold_unit(&c, ui);
    free(c.uses);
    free(c.reader);
    free(c.stacked);
    if (rc) return -1;
    /* drop the units folded away, keeping the dispatch order */
    int *newidx = malloc((size_t)(p->nunits ? p->nunits : 1) * sizeof *newidx);
    if (!newidx) { rt_set_error("out of host memory"); return -1; }
    int kept = 0;
    for (int ui = 0; ui < p->nunits; ui++) {
        x_unit *u = &p->units[ui];
        if (u->nmembers == 0 && u->nxmembers == 0) {
            free(u->members);
            free(u->xmembers);
            free(u->parts);
            newidx[ui] = -1;
            continue;
        }
        newidx[ui] = kept;
        if (kept != ui) p->units[kept] = *u;
        kept++;
    }
    for (int id = 0; id < n; id++)
        if (p->val[id].unit >= 0) p->val[id].unit = newidx[p->val[id].unit];
    p->nunits = kept;
    free(newidx);
    return 0;
}
