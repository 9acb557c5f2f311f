/* cases.h: what the test suites and meg-bench share: deterministic test
 * data, medians of timings, an MLP builder. (The op case table joins it.)
 * Linked into the tests and into meg-bench; not part of the installed
 * library. */
#ifndef MEG_TESTS_CASES_H
#define MEG_TESTS_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

/* n floats in [-1, 1), the same for the same seed on every machine. */
void tc_random(float *x, size_t n, uint64_t seed);
/* The median of v[0..n) (v is sorted in place); 0 for n = 0. */
double tc_median(double *v, int n);

/* A multilayer perceptron on x [batch, in]: `layers` layers h @ w + b of
 * `width` outputs (the last one: `out`), leaky_relu(0.2) between them;
 * params "w<l>" [in, out] and "b<l>" [out] with PyTorch's default init,
 * appended to params[*np]. NULL on a graph error (g_graph_error). */
g_tensor *tc_mlp(g_graph *g, g_tensor *x, int width, int layers, int out, g_tensor **params, int *np);

#endif
