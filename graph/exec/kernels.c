/* kernels.c: the kernel of every unit of a plan and its bindings: the
 * generated source compiled (compile.c), the matmul variant chosen for the
 * device, the convolutions' register blocks and the embedded kernels. */
#include "exec_internal.h"
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

int x_binding_of(g_plan *p, int id, rt_binding *b)
{
    const g_schedule *sc = p->sch;
    g_graph *g = sc->g;
    int st = x_storage_of(sc, id);
    g_tensor *t = g_graph_node(g, st);
    const x_val *v = &sc->val[st];
    memset(b, 0, sizeof *b);
    b->size = g_numel(g_graph_node(g, id)) * 4;
    if (v->kind == X_LEAF) {
        /* an 8-bit input: bytes, which every kernel reads through a texel view of R8_UNORM */
        b->u8 = g_is_u8(t);
        if (b->u8) b->size = g_numel(t);
        return x_session_leaf(p->s, t, &b->buf);
    }
    if (v->storage == S_ROOT) { b->buf = p->root_buf[st]; return 0; }
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

/* The unit's workgroups within the device's maxComputeWorkGroupCount: a
 * shape too large for one dispatch fails the plan here, before any run. */
static int check_groups(g_plan *p, int ui, const uint32_t *groups)
{
    const VkPhysicalDeviceLimits *l = rt_ctx_limits(p->s->ctx);
    for (int d = 0; d < 3; d++)
        if (groups[d] > l->maxComputeWorkGroupCount[d]) {
            const x_unit *u = &p->sch->units[ui];
            char sh[64];
            rt_set_error("%s on %s needs %u x %u x %u workgroups, more than this device's %u x %u x %u in one "
                         "dispatch (a smaller shape fits)",
                         u->label, g_shape_str(g_graph_node(p->sch->g, u->members[0]), sh, sizeof sh), groups[0],
                         groups[1], groups[2], l->maxComputeWorkGroupCount[0], l->maxComputeWorkGroupCount[1],
                         l->maxComputeWorkGroupCount[2]);
            return -1;
        }
    return 0;
}

/* Bindings of a generated kernel: `pre` fixed ones, then the outputs (a
 * matmul's first is its C, already in pre), then the inputs. */
static int generated_bindings(g_plan *p, x_dispatch *dp, const x_source *src, const rt_binding *pre, int npre)
{
    int skip = src->matmul ? 1 : 0;
    dp->nbind = npre + (src->nout - skip) + src->nin;
    dp->bind = calloc((size_t)dp->nbind, sizeof *dp->bind);
    if (!dp->bind) { rt_set_error("out of host memory"); return -1; }
    int k = 0;
    for (int i = 0; i < npre; i++) dp->bind[k++] = pre[i];
    for (int i = skip; i < src->nout; i++)
        if (x_binding_of(p, src->out[i], &dp->bind[k++])) return -1;
    for (int i = 0; i < src->nin; i++)
        if (x_binding_of(p, src->in[i], &dp->bind[k++])) return -1;
    return 0;
}

static int compile_unit(g_plan *p, int ui, const char *glsl, int template, const uint32_t *spec, int nspec)
{
    uint32_t *words;
    size_t nwords;
    char key[64];
    if (x_compile(glsl, template, &words, &nwords, key, sizeof key)) {
        rt_error_prefix("kernel for %s", p->sch->units[ui].label);
        return -1;
    }
    return rt_kernel_from_spirv(p->s->ctx, key, words, nwords, spec, nspec, &p->disp[ui].kernel);
}

static int generated_kernel(g_plan *p, int ui, const x_source *src)
{
    x_dispatch *dp = &p->disp[ui];
    if (src->group_per_output) {
        rt_groups_1d(p->s->ctx, src->invocations, 1, dp->groups);   /* one workgroup per output */
    } else {
        rt_groups_1d(p->s->ctx, src->invocations, 64, dp->groups);
    }
    if (check_groups(p, ui, dp->groups)) return -1;
    return generated_bindings(p, dp, src, NULL, 0) || compile_unit(p, ui, src->glsl, X_TEMPLATE_NONE, NULL, 0) ? -1 : 0;
}

/* A matmul unit: the variant chosen for the device, with the generated
 * epilogue (src->glsl) or, without one, the embedded kernel. */
static int matmul_kernel(g_plan *p, int ui, const x_source *src)
{
    const x_unit *u = &p->sch->units[ui];
    x_dispatch *dp = &p->disp[ui];
    const g_tensor *h = g_graph_node(p->sch->g, u->members[0]), *a = h->src[0], *bm = h->src[1];
    int ta = h->attr.matmul.transpose_a, tb = h->attr.matmul.transpose_b;
    rt_matmul_desc d = {.m = (uint32_t)(ta ? a->shape[1] : a->shape[0]), .k = (uint32_t)(ta ? a->shape[0] : a->shape[1]),
                        .n = (uint32_t)(tb ? bm->shape[0] : bm->shape[1]), .transpose_a = ta, .transpose_b = tb,
                        .ones_row = u->nxmembers > 0, .ones_from = u->ones_from};
    rt_binding ba, bb, bc;
    if (u->nseg > 1) {
        /* a sum over K segments (kstack.c): each operand's stack, end to end from its first segment's */
        const g_tensor *s0 = g_graph_node(p->sch->g, u->seg[0]);
        if (x_binding_of(p, s0->src[0]->id, &ba) || x_binding_of(p, s0->src[1]->id, &bb)) return -1;
        ba.size = bb.size = 0;
        d.k = 0;
        for (int s = 0; s < u->nseg; s++) {
            const g_tensor *t = g_graph_node(p->sch->g, u->seg[s]);
            d.k += (uint32_t)t->src[0]->shape[0];
            ba.size += g_numel(t->src[0]) * 4;
            bb.size += g_numel(t->src[1]) * 4;
        }
    } else if (x_binding_of(p, a->id, &ba) || x_binding_of(p, bm->id, &bb)) {
        return -1;
    }
    rt_matmul_plan mp;
    if (rt_matmul_choose(p->s->ctx, &d, ba.offset, bb.offset, 0, &mp)) return -1;
    ba.vec4 = mp.vec4_a;
    bb.vec4 = mp.vec4_b;
    memcpy(dp->groups, mp.groups, sizeof dp->groups);
    if (check_groups(p, ui, dp->groups)) return -1;
    if (!src->glsl) {
        if (rt_kernel_get(p->s->ctx, mp.tiled ? "matmul_tiled" : "matmul", mp.spec, mp.nspec, &dp->kernel)) return -1;
        if (x_binding_of(p, h->id, &bc)) return -1;
    } else {
        if (x_binding_of(p, src->out[0], &bc)) return -1;
        if (compile_unit(p, ui, src->glsl, mp.tiled ? X_TEMPLATE_TILED : X_TEMPLATE_MATMUL, mp.spec, mp.nspec))
            return -1;
    }
    rt_binding pre[3] = {ba, bb, bc};
    if (!src->glsl) {
        dp->nbind = 3;
        dp->bind = malloc(sizeof pre);
        if (!dp->bind) { rt_set_error("out of host memory"); return -1; }
        memcpy(dp->bind, pre, sizeof pre);
        return 0;
    }
    return generated_bindings(p, dp, src, pre, 3);
}

/* The convolution's register blocks: $MEG_CONV_CANDIDATE's where set (a
 * user's or a test's choice for every convolution; a shape with fewer
 * candidates keeps the default), else the autotune's (the default where
 * it is off). */
static int conv_choice(g_plan *p, const g_tensor *t, const char *name, const uint32_t *shape, double flops,
                       rt_tune_cand *out)
{
    rt_ctx *ctx = p->s->ctx;
    rt_tune_cand cand[RT_TUNE_MAX_CANDIDATES];
    int n = x_conv_candidates(t->op, shape, rt_ctx_device(ctx)->subgroup_size,
                              rt_ctx_limits(ctx)->maxComputeWorkGroupCount, cand);
    int best = 0;
    const char *env = getenv("MEG_CONV_CANDIDATE");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end || v < 0 || v >= RT_TUNE_MAX_CANDIDATES) {
            rt_set_error("MEG_CONV_CANDIDATE=%s: not a convolution candidate (0..%d, or unset for automatic)", env,
                         RT_TUNE_MAX_CANDIDATES - 1);
            return -1;
        }
        best = v < n ? (int)v : 0;
    } else {
        const g_tensor *x = t->src[0], *w = t->src[1];
        size_t bytes[3] = {g_numel(x) * 4, g_numel(w) * 4, g_numel(t) * 4};
        if (rt_autotune_kernel(ctx, name, 11, cand, n, bytes, 3, flops, &best)) return -1;
    }
    *out = cand[best];
    return 0;
}

static int static_kernel(g_plan *p, int ui)
{
    x_unit *u = &p->sch->units[ui];
    rt_tune_cand cc;
    x_dispatch *dp = &p->disp[ui];
    const g_tensor *t = g_graph_node(p->sch->g, u->members[0]);
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
        spec[2] = (uint32_t)t->attr.rand.whole_rows;
        spec[3] = (uint32_t)t->attr.rand.inverse;
        spec[4] = (uint32_t)(t->attr.rand.seed & 0xffffffffu);
        spec[5] = (uint32_t)(t->attr.rand.seed >> 32);
        spec[6] = (uint32_t)t->attr.rand.stream;
        nspec = 7;
        if (x_binding_of(p, t->src[0]->id, &b[0]) || x_binding_of(p, x->id, &b[1]))
            return -1;
    } else {
        const g_tensor *x = t->src[0], *w = t->src[1];
        int s = t->attr.conv.stride, pd = t->attr.conv.pad;
        if (t->op == G_OP_CONV2D) {
            name = "conv2d";
            uint32_t sp[] = {(uint32_t)x->shape[0], (uint32_t)x->shape[1], (uint32_t)x->shape[2], (uint32_t)x->shape[3],
                             (uint32_t)w->shape[0], (uint32_t)w->shape[2], (uint32_t)w->shape[3], (uint32_t)s,
                             (uint32_t)pd, (uint32_t)t->shape[2], (uint32_t)t->shape[3]};
            memcpy(spec, sp, sizeof sp);
        } else if (t->op == G_OP_CONV_TRANSPOSE2D) {
            name = "conv_transpose2d";
            uint32_t sp[] = {(uint32_t)x->shape[0], (uint32_t)x->shape[1], (uint32_t)x->shape[2], (uint32_t)x->shape[3],
                             (uint32_t)w->shape[1], (uint32_t)w->shape[2], (uint32_t)w->shape[3], (uint32_t)s,
                             (uint32_t)pd, (uint32_t)t->shape[2], (uint32_t)t->shape[3]};
            memcpy(spec, sp, sizeof sp);
        } else {
            name = "conv2d_wgrad";
            /* xr [N,B,H,W], gr [N,A,HO,WO] */
            uint32_t sp[] = {(uint32_t)x->shape[0], (uint32_t)x->shape[1], (uint32_t)x->shape[2], (uint32_t)x->shape[3],
                             (uint32_t)w->shape[1], (uint32_t)t->attr.conv.kh, (uint32_t)t->attr.conv.kw, (uint32_t)s,
                             (uint32_t)pd, (uint32_t)w->shape[2], (uint32_t)w->shape[3]};
            memcpy(spec, sp, sizeof sp);
        }
        if (x_binding_of(p, x->id, &b[0]) || x_binding_of(p, w->id, &b[1]) ||
            conv_choice(p, t, name, spec, u->flops, &cc))
            return -1;
        memcpy(spec, cc.spec, sizeof spec);
        nspec = cc.nspec;
    }
    if (x_binding_of(p, t->id, &b[2])) return -1;
    if (rt_kernel_get(p->s->ctx, name, spec, nspec, &dp->kernel)) return -1;
    dp->nbind = nb;
    dp->bind = calloc((size_t)nb, sizeof *dp->bind);
    if (!dp->bind) { rt_set_error("out of host memory"); return -1; }
    memcpy(dp->bind, b, sizeof b);
    if (t->op == G_OP_SHUFFLE) rt_groups_1d(p->s->ctx, g_numel(t), 64, dp->groups);
    else memcpy(dp->groups, cc.groups, sizeof dp->groups);
    return check_groups(p, ui, dp->groups);
}

int x_unit_kernel(g_plan *p, int ui)
{
    const x_unit *u = &p->sch->units[ui];
    x_source src;
    if (x_emit_unit(p->sch, ui, &src)) return -1;
    int rc;
    switch (u->kind) {
    case X_EW: case X_REDUCE: rc = generated_kernel(p, ui, &src); break;
    case X_MATMUL: rc = matmul_kernel(p, ui, &src); break;
    case X_STATIC: rc = static_kernel(p, ui); break;
    default: rt_set_error("internal: unit %s of kind %d", u->label, (int)u->kind); rc = -1; break;
    }
    x_source_free(&src);
    return rc;
}
