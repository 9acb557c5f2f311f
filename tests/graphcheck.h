/* graphcheck.h: a graph on the device against the CPU reference
 * (graphcheck.c), for the test suites. */
#ifndef MEG_TESTS_GRAPHCHECK_H
#define MEG_TESTS_GRAPHCHECK_H

#include <stdint.h>

#include "exec.h"
#include "graph.h"

#define GC_SEED 1234u   /* of every session and reference here */

/* An input and how its values are drawn. */
typedef struct inval {
    g_tensor *t;
    int positive;   /* values in [0.1, 2.1) instead of [-1, 1) */
    float scale;    /* 0: 1 */
} inval;

/* Bytes of an 8-bit input: every value 0 .. 255 turns up, both ends included. */
uint8_t *gc_input_bytes(const g_tensor *t, int k);
/* The values of input k (the caller frees them). */
float *gc_input_values(const inval *in, int k);
/* Runs roots on the device (fused or not, `runs` times) and in the
 * reference, and compares every non-effect root, and every leaf in `leaves`. */
void check_graph_ex(g_graph *g, g_tensor **roots, int nroots, const inval *ins, int nins, g_tensor **leaves,
                    int nleaves, double tol, int no_fusion, int runs);
/* check_graph_ex once fused and once not. */
void check_graph(g_graph *g, g_tensor **roots, int nroots, const inval *ins, int nins, double tol);

#endif
