/* ops.c: the op table, generated from ops.def. */
#include "graph.h"

#define G_OP(id, nm, ns, kd, df, wr, fu) \
    [G_OP_##id] = {.name = nm, .nsrc = ns, .kind = G_KIND_##kd, .diff = df, .writes = wr, .fuse = fu},
static const g_op_info op_table[] = {
#include "ops.def"
};
#undef G_OP

_Static_assert(sizeof op_table / sizeof op_table[0] == G_OP_COUNT, "ops.def and g_op disagree");

static const g_op_info unknown = {.name = "unknown", .kind = G_KIND_ELEMENTWISE};

const g_op_info *g_op_info_of(g_op op)
{
    if ((int)op < 0 || op >= G_OP_COUNT) return &unknown;
    return &op_table[op];
}

const char *g_op_name(g_op op) { return g_op_info_of(op)->name; }
