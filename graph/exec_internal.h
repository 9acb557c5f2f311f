/* exec_internal.h: what the planner, the code generator and the executor
 * share (not a public header). */
#ifndef MEG_GRAPH_EXEC_INTERNAL_H
#define MEG_GRAPH_EXEC_INTERNAL_H

#include "graph.h"
#include "runtime.h"

/* How a kept node is computed. */
typedef enum x_kind {
    X_LEAF,      /* input, param, state: a session buffer */
    X_CONST,     /* inlined where read by generated code; materialized otherwise */
    X_NONE,      /* group: no value, no work */
    X_EW,        /* elementwise (and index-remapping, random, effect) ops: generated code */
    X_MATMUL,    /* matmul kernel, with a generated epilogue when it heads a group */
    X_REDUCE,    /* sum_to: generated reduction kernel (+ epilogue) */
    X_STATIC,    /* convolutions, shuffle: embedded kernels, not fused */
} x_kind;

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
    char label[96];
    /* filled by codegen/record */
    rt_kernel *kernel;
    rt_binding *bind;
    int nbind;
    uint32_t groups[3];
} x_unit;

typedef enum x_storage { S_NONE, S_LEAF, S_ARENA, S_ROOT } x_storage;

/* Per node id, what the plan knows about its value. */
typedef struct x_val {
    unsigned kept : 1;
    unsigned materialize : 1;   /* needs a buffer (read outside its unit, or a root) */
    unsigned root : 1;
    unsigned xsec : 1;          /* in the extra-row part of a matmul unit */
    x_kind kind;
    int unit;                   /* producing unit (-1: leaf, const, alias) */
    int alias;                  /* reshape of a value with storage: the node whose storage it shares */
    x_storage storage;
    size_t offset, bytes;
    int first, last;            /* units that produce and last read it */
    rt_buffer *buf;             /* S_ROOT: the plan's own buffer */
} x_val;

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
    g_plan_opts opts;
    int nnodes;                 /* graph size when planned */
    x_val *val;
    x_unit *units;
    int nunits, capunits;
    rt_buffer *arena;
    size_t arena_bytes, intermediate_bytes;
    int *needs_input;           /* input leaves that must be written before a run */
    int nneeds;
    int *roots;
    int nroots;
    rt_cmd *cmd;
    double flops;
    int ran;
};

/* session side (exec.c) */
int x_session_leaf(g_session *s, g_tensor *leaf, rt_buffer **out);

/* planner (plan.c): units and memory */
int x_plan_build(g_plan *p, g_tensor **roots, int n);
/* the node whose storage t reads (follows reshape aliases) */
int x_storage_of(const g_plan *p, int id);
int x_binding_of(g_plan *p, int id, rt_binding *b);

/* code generation (codegen.c): kernels and bindings for every unit */
int x_codegen(g_plan *p);
/* SPIR-V of generated GLSL, cached by a hash of the source (memory and
 * disk). matmul_template: X_TEMPLATE_NONE for an elementwise or reduction
 * kernel; else the source is the epilogue of matmul.comp's register
 * (MATMUL) or shared-memory tiled (TILED) path. */
enum { X_TEMPLATE_NONE, X_TEMPLATE_MATMUL, X_TEMPLATE_TILED };
int x_compile(const char *source, int matmul_template, uint32_t **words, size_t *nwords, char *key, size_t keyn);

#endif
