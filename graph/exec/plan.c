/* plan.c: plans: a schedule made for a session's device, its buffers (the
 * arena and the roots' own), a kernel per unit, recorded once into a
 * command buffer and replayed; stats and the per-kernel profile. */
#include "exec_internal.h"
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void g_limits_of(const rt_ctx *ctx, g_limits *l)
{
    const VkPhysicalDeviceLimits *d = rt_ctx_limits(ctx);
    /* one set per kernel: its own limits bound it too */
    l->max_sampled_per_stage = d->maxPerStageDescriptorSampledImages < d->maxDescriptorSetSampledImages
                                   ? d->maxPerStageDescriptorSampledImages : d->maxDescriptorSetSampledImages;
    l->max_storage_per_stage = d->maxPerStageDescriptorStorageBuffers < d->maxDescriptorSetStorageBuffers
                                   ? d->maxPerStageDescriptorStorageBuffers : d->maxDescriptorSetStorageBuffers;
    l->max_resources_per_stage = d->maxPerStageResources;
    l->alignment = rt_ctx_alignment(ctx);
    l->max_texels = d->maxTexelBufferElements;
    l->max_storage_range = d->maxStorageBufferRange;
    l->fast_descriptor_bytes = rt_ctx_device(ctx)->vendor_id == 0x10de ? 256 : 0;
}

/* 8-bit inputs are read through R8_UNORM views: a device without them
 * cannot run the plan (Vulkan requires them; say so rather than fail
 * deep in the recorder). */
static int check_u8_support(g_session *s, const g_schedule *sc)
{
    if (rt_ctx_u8_texels(s->ctx)) return 0;
    for (int id = 0; id < sc->nnodes; id++) {
        g_tensor *t = g_graph_node(s->g, id);
        if (sc->val[id].kept && g_is_u8(t)) {
            rt_set_error("8-bit input '%s' cannot be read on %s: the device has no uniform texel views of "
                         "VK_FORMAT_R8_UNORM / R8G8B8A8_UNORM; use an fp32 input (g_input)",
                         t->name, rt_ctx_device(s->ctx)->name);
            return -1;
        }
    }
    return 0;
}

int g_plan_new(g_session *s, g_tensor **roots, int n, const g_plan_opts *opts, g_plan **out)
{
    *out = NULL;
    if (!s) { rt_set_error("g_plan_new: no session"); return -1; }
    if (x_session_grow(s)) return -1;
    g_plan *p = calloc(1, sizeof *p);
    if (!p) { rt_set_error("out of host memory"); return -1; }
    p->s = s;
    g_limits lim;
    g_limits_of(s->ctx, &lim);
    if (g_schedule_new(s->g, roots, n, opts, &lim, &p->sch)) goto fail;
    const g_schedule *sc = p->sch;
    if (check_u8_support(s, sc)) goto fail;
    p->root_buf = calloc((size_t)(sc->nnodes ? sc->nnodes : 1), sizeof *p->root_buf);
    p->disp = calloc((size_t)(sc->nunits ? sc->nunits : 1), sizeof *p->disp);
    if (!p->root_buf || !p->disp) { rt_set_error("out of host memory"); goto fail; }
    /* buffers: arena, roots; leaves on first use */
    if (rt_buffer_create(s->ctx, sc->arena_bytes ? sc->arena_bytes : 16, &p->arena)) {
        rt_error_prefix("plan arena of %zu bytes", sc->arena_bytes);
        goto fail;
    }
    for (int id = 0; id < sc->nnodes; id++) {
        const x_val *v = &sc->val[id];
        if (v->storage == S_ROOT && rt_buffer_create(s->ctx, v->bytes, &p->root_buf[id])) goto fail;
    }
    for (int id = 0; id < sc->nnodes; id++)
        if (sc->val[id].kept && sc->val[id].kind == X_LEAF) {
            rt_buffer *b;
            if (x_session_leaf(s, g_graph_node(s->g, id), &b)) goto fail;
        }
    for (int ui = 0; ui < sc->nunits; ui++)
        if (x_unit_kernel(p, ui)) goto fail;
    /* plans are replayed, several times in one submit (g_plan_run) */
    if (rt_cmd_begin(s->ctx, RT_CMD_REPEAT | (sc->opts.timestamps ? RT_CMD_TIMESTAMPS : 0), &p->cmd)) goto fail;
    for (int ui = 0; ui < sc->nunits; ui++) {
        const x_dispatch *d = &p->disp[ui];
        const char *label = sc->units[ui].label;
        if (rt_cmd_dispatch(p->cmd, d->kernel, d->bind, d->nbind, NULL, 0, d->groups[0], d->groups[1], d->groups[2],
                            label)) {
            rt_error_prefix("recording %s", label);
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
    const g_schedule *sc = p->sch;
    if (sc) {
        if (p->s)
            for (int i = 0; i < sc->nnodes && i < p->s->cap; i++)
                if (p->s->root_plan[i] == p) p->s->root_plan[i] = NULL;
        if (p->disp)
            for (int ui = 0; ui < sc->nunits; ui++) free(p->disp[ui].bind);
        if (p->root_buf)
            for (int id = 0; id < sc->nnodes; id++) rt_buffer_destroy(p->root_buf[id]);
    }
    free(p->disp);
    free(p->root_buf);
    rt_buffer_destroy(p->arena);
    g_schedule_free(p->sch);
    free(p);
}

int g_plan_run(g_plan *p, int times)
{
    g_session *s = p->s;
    const g_schedule *sc = p->sch;
    if (times < 1) return 0;
    for (int i = 0; i < sc->nneeds; i++)
        if (!s->written[sc->needs_input[i]]) {
            g_tensor *t = g_graph_node(s->g, sc->needs_input[i]);
            rt_set_error("plan reads input '%s' that was never written (g_session_write it first)", t->name);
            return -1;
        }
    if (rt_cmd_submit(p->cmd, times)) return -1;
    for (int i = 0; i < sc->nroots; i++) s->root_plan[sc->roots[i]] = p;
    for (int id = 0; id < sc->nnodes; id++) {
        if (!sc->val[id].kept) continue;
        g_tensor *t = g_graph_node(s->g, id);
        if (t->op == G_OP_ASSIGN) s->written[t->src[0]->id] = 1;
    }
    p->ran = 1;
    return 0;
}

void g_plan_stats_get(const g_plan *p, g_plan_stats *st) { g_schedule_stats(p->sch, st); }

const g_schedule *g_plan_schedule(const g_plan *p) { return p ? p->sch : NULL; }

int g_plan_profile(const g_plan *p, char *buf, size_t n)
{
    const g_schedule *sc = p->sch;
    if (!sc->opts.timestamps) { rt_set_error("plan was made without timestamps"); return -1; }
    if (!p->ran) { rt_set_error("plan has not run yet"); return -1; }
    /* aggregate by label, with the matmul and convolution FLOPs of those units (dispatch i is unit i) */
    typedef struct agg { const char *label; int calls; double ms, flops; } agg;
    agg *a = calloc((size_t)(sc->nunits ? sc->nunits : 1), sizeof *a);
    if (!a) { rt_set_error("out of host memory"); return -1; }
    int na = 0;
    double total = 0, total_flops = 0;
    for (int i = 0; i < sc->nunits; i++) {
        double ms;
        const char *label;
        if (rt_cmd_timing(p->cmd, i, &ms, &label)) { free(a); return -1; }
        total += ms;
        total_flops += sc->units[i].flops;
        int j = 0;
        while (j < na && strcmp(a[j].label, label)) j++;
        if (j == na) a[na++] = (agg){label, 0, 0, 0};
        a[j].calls++;
        a[j].ms += ms;
        a[j].flops += sc->units[i].flops;
    }
    for (int i = 1; i < na; i++)
        for (int j = i; j > 0 && a[j].ms > a[j - 1].ms; j--) {
            agg t = a[j]; a[j] = a[j - 1]; a[j - 1] = t;
        }
    size_t off = 0;
    off += (size_t)snprintf(buf + off, off < n ? n - off : 0, "%10s %6s %6s %10s %8s  %s\n", "ms", "calls", "share",
                            "MFLOP", "GFLOP/s", "kernel");
    for (int i = 0; i <= na && off < n; i++) {
        /* the last row is the total */
        const char *label = i < na ? a[i].label : "total";
        double ms = i < na ? a[i].ms : total, fl = i < na ? a[i].flops : total_flops;
        int calls = i < na ? a[i].calls : sc->nunits;
        char mf[32] = "-", gf[32] = "-";
        if (fl > 0) {
            snprintf(mf, sizeof mf, "%.2f", fl / 1e6);
            if (ms > 0) snprintf(gf, sizeof gf, "%.2f", fl / (ms * 1e6));
        }
        off += (size_t)snprintf(buf + off, off < n ? n - off : 0, "%10.3f %6d %5.1f%% %10s %8s  %s\n", ms, calls,
                                total > 0 ? 100.0 * ms / total : 0.0, mf, gf, label);
    }
    free(a);
    return 0;
}
