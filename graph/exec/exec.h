/* exec.h: running graphs on a device, and the planning behind it. The
 * public header of graph/exec/.
 *
 * Planning (no device needed): the part of a graph that some roots need is
 * kept, dead nodes dropped, elementwise chains fused (and folded into the
 * epilogues of matmuls and reductions, optimizer updates included; a bias
 * gradient rides along its weight gradient's matmul as an extra row of
 * ones), and every intermediate given an offset in one arena by liveness.
 * The result, a schedule, can be inspected: its units and the GLSL of each.
 *
 * Execution: a session holds the device buffers of a graph's leaves
 * (inputs, params, states), shared by every plan made from that graph. A
 * plan is a schedule made for the session's device, compiled, bound and
 * recorded once into a command buffer that is replayed.
 *
 * Errors: the functions return 0 or -1 with the message in rt_error()
 * (runtime/util.h); any internal failure fails the call that met it.
 */
#ifndef MEG_GRAPH_EXEC_H
#define MEG_GRAPH_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

typedef struct rt_ctx rt_ctx;
typedef struct g_session g_session;
typedef struct g_plan g_plan;
typedef struct g_schedule g_schedule;

typedef struct g_plan_opts {
    int no_fusion;       /* 1: one dispatch per op (the fusion-equivalence tests) */
    int timestamps;      /* 1: time every dispatch (g_plan_profile) */
    /* 1: no horizontal fusion (independent elementwise units stay separate
     * dispatches); $MEG_HFUSE=0 turns it off for every plan as well */
    int no_hfuse;
    /* 1: a sum of matmuls A_s^T B_s (a weight gradient's terms) stays one
     * matmul per term instead of one over the terms' K laid end to end
     * (kstack.c); $MEG_KSTACK=0 turns it off for every plan as well */
    int no_kstack;
} g_plan_opts;

/* What the planner must respect of a device: bindings per kernel (texel
 * views count as sampled images, outputs as storage buffers), the offset
 * alignment of bindings into the arena, and the size of one binding: every
 * value is read through a texel view of at most max_texels elements
 * (maxTexelBufferElements), and every value a kernel writes (intermediates,
 * roots, params, states, assigned inputs) is a storage binding of at most
 * max_storage_range bytes (maxStorageBufferRange). 0: no limit. A value
 * past them fails the schedule with a message naming it; a data set larger
 * than one input may hold is split into several (models/data/batches.h). */
typedef struct g_limits {
    uint32_t max_sampled_per_stage;
    uint32_t max_storage_per_stage;
    uint32_t max_resources_per_stage;
    size_t alignment;
    uint64_t max_texels;
    uint64_t max_storage_range;
    /* NVIDIA's fast descriptor space in bytes (texel views 4 each, storage
     * buffers 16): horizontal fusion stays within it where a device has
     * one (256 on NVIDIA, whose best practices say so), 0 elsewhere. */
    uint32_t fast_descriptor_bytes;
} g_limits;

/* The limits of lavapipe, so that a schedule made without a device is the
 * one this project's reference device runs; $MEG_LIMIT_TEXELS and
 * $MEG_LIMIT_STORAGE_RANGE lower the last two, as they do a context's
 * (rt_options in runtime.h). */
void g_limits_default(g_limits *l);
/* The limits of the device of ctx (with the context's lowered limits). */
void g_limits_of(const rt_ctx *ctx, g_limits *l);

typedef struct g_plan_stats {
    int nodes;           /* nodes kept */
    int dispatches;      /* per run */
    int fused_groups;    /* dispatches that run more than one node */
    size_t arena_bytes;  /* the intermediates' arena */
    size_t intermediate_bytes; /* sum of all intermediates' sizes (no reuse) */
    size_t param_bytes;  /* params of the whole graph */
    size_t state_bytes;  /* states of the whole graph */
    double flops;        /* matmul and convolution FLOPs per run */
} g_plan_stats;

/* ---- schedules: planning without a device -------------------------------- */

/* lim NULL: g_limits_default. */
int g_schedule_new(g_graph *g, g_tensor **roots, int n, const g_plan_opts *opts, const g_limits *lim,
                   g_schedule **out);
void g_schedule_free(g_schedule *s);
void g_schedule_stats(const g_schedule *s, g_plan_stats *st);
int g_schedule_units(const g_schedule *s);
/* "matmul+add+relu": the ops of unit i in program order ("|" before the
 * part that runs as a matmul's extra row). */
const char *g_schedule_label(const g_schedule *s, int unit);
/* The GLSL of unit i (malloc'ed, the caller frees it) and its number of
 * bindings: a whole compute shader, or for a matmul unit the epilogue that
 * shaders/matmul.comp includes. *glsl is NULL for a unit that runs an
 * embedded kernel (convolutions, shuffle, a matmul with no epilogue). */
int g_schedule_glsl(const g_schedule *s, int unit, char **glsl, int *nbindings);

/* ---- sessions and plans on a device ---------------------------------------- */

int g_session_new(rt_ctx *ctx, g_graph *g, uint64_t seed, g_session **out);
void g_session_free(g_session *s);
/* Host <-> leaf values (numel floats). Reading a plan root is allowed after
 * a run of that plan. An 8-bit input (g_input_u8) is written with
 * g_session_write_u8 (numel bytes; g_session_write refuses it) and reads
 * back as its values, byte / 255. */
int g_session_write(g_session *s, g_tensor *t, const float *values);
int g_session_write_u8(g_session *s, g_tensor *t, const uint8_t *bytes);
int g_session_read(g_session *s, g_tensor *t, float *values);

int g_plan_new(g_session *s, g_tensor **roots, int n, const g_plan_opts *opts, g_plan **out);
void g_plan_free(g_plan *p);
/* Runs the plan `times` times back to back in one submit and waits. */
int g_plan_run(g_plan *p, int times);
void g_plan_stats_get(const g_plan *p, g_plan_stats *st);
/* The plan's schedule (owned by the plan). */
const g_schedule *g_plan_schedule(const g_plan *p);
/* After a run with timestamps: one line per dispatch kind (total ms,
 * calls, share of the time, matmul and convolution MFLOP and the GFLOP/s
 * they ran at, "-" for kinds without them, the label), then a total line,
 * written into buf. */
int g_plan_profile(const g_plan *p, char *buf, size_t n);

#endif
