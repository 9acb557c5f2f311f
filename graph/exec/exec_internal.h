/* exec_internal.h: what the scheduler, the GLSL emitter, the compiler and the
 * executor of graph/exec/ share (not a public header).
 *
 * The pure half (schedule.c, memory.c, emit*.c) works on a g_schedule and
 * includes no Vulkan header; the device half (compile.c, session.c,
 * plan.c, kernels.c) turns a schedule into buffers, pipelines and a
 * recorded command buffer. */
#ifndef MEG_GRAPH_EXEC_INTERNAL_H
#define MEG_GRAPH_EXEC_INTERNAL_H

#include "exec.h"
#include "graph.h"
#include "util.h"

/* How a kept node is computed. */
typedef enum x_kind {
    X_LEAF,      /* input, param, state: a session buffer */
    X_CONST,     /* inlined where read by generated code; materialized otherwise */
    X_NONE,      /* group: no value, no work */
    X_EW,        /* elementwise (and index-remapping, random, effect) ops: generated code */
    X_MATMUL,    /* matmul kernel, with a generated epilogue when it heads a unit */
    X_REDUCE,    /* sum_to, max, argmax: generated reduction kernel (+ epilogue) */
    X_STATIC,    /* convolutions, shuffle: embedded kernels, not fused */
} x_kind;

/* One part of a horizontally fused unit (hfuse.c): members [first,
 * first + n) of the unit, run over their own index space of numel at the
 * unit's invocations offset .. offset + numel - 1. */
typedef struct x_part {
    int first, n;
    size_t numel, offset;
} x_part;

#define X_MAX_SEG 8   /* products summed by one matmul (kstack.c) */

/* One dispatch: a unit of one or more nodes. */
typedef struct x_unit {
    x_kind kind;             /* X_EW, X_MATMUL, X_REDUCE, X_STATIC */
    int *members;            /* node ids in program order; the head first */
    int nmembers, capmembers;
    size_t numel;            /* index space (outputs of the head / members) */
    int closed;
    /* A matmul A^T B and a reduction of B over its rows (a weight gradient
     * and its bias gradient) run as one dispatch: the reduction is the
     * matmul's extra row of ones. While planning they are two units tied by
     * `partner`; afterwards the reduction's nodes are the matmul's xmembers. */
    int partner;             /* -1: none */
    int is_extra;            /* this is the reduction side */
    int *xmembers;
    int nxmembers;
    /* Independent elementwise units merged into this one dispatch (X_EW
     * only); 0 parts: an ordinary unit whose members share one index. */
    x_part *parts;
    int nparts;
    /* A sum of products A_s^T B_s (kstack.c): the matmul nodes in K order,
     * their A_s (and their B_s) laid end to end in the arena so that one
     * matmul over K = sum K_s computes it; the extra row sums only K rows
     * ones_from.. (the products that had a bias reduction, which come last).
     * nseg 0: the head alone. */
    int seg[X_MAX_SEG];
    int nseg;
    uint32_t ones_from;
    double flops;            /* matmul and convolution FLOPs of one run */
    char label[160];
} x_unit;

typedef enum x_storage { S_NONE, S_LEAF, S_ARENA, S_ROOT } x_storage;

/* Per node id, what the schedule knows about its value. */
typedef struct x_val {
    unsigned kept : 1;
    unsigned materialize : 1;   /* needs a buffer (read outside its unit, or a root) */
    unsigned root : 1;
    unsigned xsec : 1;          /* in the extra-row part of a matmul unit */
    unsigned ksum : 1;          /* a product (or reduction) the unit's matmul sums over K: no code of its own */
    unsigned kpass : 1;         /* an add of a ksum value to the running sum: the running sum's value */
    unsigned folded : 1;        /* X_CONST computed from constants at plan time: its value is cval */
    float cval;
    x_kind kind;
    int unit;                   /* producing unit (-1: leaf, const, alias) */
    int alias;                  /* reshape of a value with storage: the node whose storage it shares */
    x_storage storage;
    size_t offset, bytes;       /* S_ARENA: where in the arena; bytes of its buffer */
    int first, last;            /* units that produce and last read it */
} x_val;

/* A planned graph: units in dispatch order and an arena layout. Made
 * without a device (g_schedule_new) or for one (g_plan_new). */
struct g_schedule {
    g_graph *g;
    g_plan_opts opts;
    g_limits lim;
    int nnodes;                 /* graph size when planned */
    x_val *val;
    x_unit *units;
    int nunits, capunits;
    size_t arena_bytes, intermediate_bytes;
    int *needs_input;           /* input leaves that must be written before a run */
    int nneeds;
    int *roots;
    int nroots;
    double flops;
};

/* ---- scheduling (schedule.c, memory.c) ---------------------------------- */

/* Units and memory for the roots; 0, or -1 with the message in rt_error(). */
int x_schedule_build(g_schedule *p, g_tensor **roots, int n);
/* Arena offsets by liveness and the inputs a run needs (after the units). */
int x_plan_memory(g_schedule *p);
/* The node whose storage id reads (follows reshape aliases). */
int x_storage_of(const g_schedule *p, int id);
/* Leaves an effect writes (at most 3), from the op's writes mask. */
int x_leaf_writes(const g_tensor *t, int *out);
/* Source k of t is read (source 0 of an assign is only written). */
int x_is_read(const g_tensor *t, int k);
/* Horizontal fusion (hfuse.c): after the first memory plan, merges
 * independent elementwise units into single dispatches and plans the
 * memory again. 0, or -1 with the message in rt_error(). */
int x_hfuse(g_schedule *p);
/* K stacking (kstack.c): before the first memory plan, folds the matmul
 * units of a sum of weight-gradient products into the unit of the last. */
int x_kstack(g_schedule *p);

/* ---- GLSL emission (emit.c, emit_units.c) ------------------------------- */

/* The kernel source of one unit and what it binds, by storage node id: a
 * whole compute shader, or for a matmul unit the epilogue (a function
 * meg_store) that matmul.comp includes as "generated.glsl". Units that run
 * an embedded kernel (convolutions, shuffle, a matmul with no epilogue)
 * get glsl NULL. Bindings of a generated kernel: (matmul: A, B, out[0] = C,) then out[matmul ? 1 : 0 ..] as storage buffers,
 * then in[] as texel views. */
enum { X_TEMPLATE_NONE, X_TEMPLATE_MATMUL, X_TEMPLATE_TILED };
#define X_MAX_IN 64
#define X_MAX_OUT 32
typedef struct x_source {
    char *glsl;                 /* malloc'ed, or NULL */
    int matmul;                 /* 1: an epilogue for matmul.comp */
    int out[X_MAX_OUT], nout;
    int in[X_MAX_IN], nin;
    size_t invocations;         /* generated kernels of 64 invocations a group: how many run */
    int group_per_output;       /* 1: one group per output instead (a long reduction) */
} x_source;

int x_emit_unit(const g_schedule *p, int ui, x_source *out);
void x_source_free(x_source *s);

/* ---- device side ---------------------------------------------------------- */

typedef struct rt_ctx rt_ctx;
typedef struct rt_buffer rt_buffer;
typedef struct rt_kernel rt_kernel;
typedef struct rt_binding rt_binding;
typedef struct rt_cmd rt_cmd;

/* What a unit needs to be recorded. */
typedef struct x_dispatch {
    rt_kernel *kernel;
    rt_binding *bind;
    int nbind;
    uint32_t groups[3];
} x_dispatch;

struct g_session {
    rt_ctx *ctx;
    g_graph *g;
    uint64_t seed;
    int cap;                    /* arrays below are indexed by node id */
    rt_buffer **leaf_buf;
    unsigned char *written;     /* inputs: written by the host or an assign that ran */
    g_plan **root_plan;         /* roots: the plan whose run last produced the value */
};

struct g_plan {
    g_session *s;
    g_schedule *sch;
    rt_buffer *arena;
    rt_buffer **root_buf;       /* per node id: S_ROOT values' own buffers */
    x_dispatch *disp;           /* per unit */
    rt_cmd *cmd;
    int ran;
};

/* session.c: the buffer of a leaf, created (and initialised) on first use. */
int x_session_leaf(g_session *s, g_tensor *leaf, rt_buffer **out);
int x_session_grow(g_session *s);
/* conv_blocks.c: the register-block candidates of convolution op (conv2d,
 * conv_transpose2d, conv2d_wgrad) of kernel shape constants shape[0..10],
 * for a device of that subgroup size and maxComputeWorkGroupCount maxg:
 * out[0] the default, then the others, without repeats (at most
 * RT_TUNE_MAX_CANDIDATES); their count. */
struct rt_tune_cand;
int x_conv_candidates(g_op op, const uint32_t *shape, uint32_t subgroup, const uint32_t *maxg,
                      struct rt_tune_cand *out);
/* kernels.c: the kernel and bindings of unit ui. */
int x_unit_kernel(g_plan *p, int ui);
/* The buffer range of node id's value in plan p. */
int x_binding_of(g_plan *p, int id, rt_binding *b);
/* compile.c: SPIR-V of generated GLSL, cached by a hash of the source (in
 * memory and on disk). `template`: X_TEMPLATE_NONE for a whole kernel, else
 * the source is the epilogue of matmul.comp's register (MATMUL) or
 * shared-memory tiled (TILED) path. */
int x_compile(const char *source, int template, uint32_t **words, size_t *nwords, char *key, size_t keyn);

#endif
