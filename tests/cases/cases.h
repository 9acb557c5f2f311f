/* cases.h: what the test suites and meg-bench share: the one table of op
 * cases (as ggml's test-backend-ops: the same rows drive the
 * finite-difference gradient tests, the device-against-reference tests and
 * the kernel timings), deterministic test data, medians and an MLP builder.
 * Linked into the tests and into meg-bench; not part of the installed
 * library. */
#ifndef MEG_TESTS_CASES_H
#define MEG_TESTS_CASES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "graph.h"

/* ---- op cases ------------------------------------------------------------- */

typedef enum tc_fill_kind {
    TC_SIGNED,     /* +-[0.2, 1.2]: away from the kinks of relu, abs, ... at 0 */
    TC_POSITIVE,   /* [0.5, 2]: for log, sqrt and divisors */
    TC_INDEX,      /* integers -1 .. rows (rows of the tensor indexed; the ends are clamped) */
    TC_U8,         /* an 8-bit input (g_input_u8): bytes (tc_fill_u8), values byte / 255 */
} tc_fill_kind;

typedef struct tc_input {
    int ndim;
    int shape[G_MAX_DIMS];
    tc_fill_kind fill;
    int diff;      /* gradients are checked with respect to it */
    int rows;      /* TC_INDEX: the rows it indexes */
} tc_input;

/* What a row feeds: gradients (first and second order, finite differences
 * on the CPU reference), the device against the reference (fused and
 * unfused), the kernel timings of `meg-bench kernels`. */
enum { TC_GRAD = 1, TC_DEVICE = 2, TC_BENCH = 4 };

typedef struct tc_case tc_case;
struct tc_case {
    const char *name;
    int uses;
    int nin;
    tc_input in[4];
    g_tensor *(*build)(g_graph *g, g_tensor **x, const tc_case *c);   /* the op on inputs x */
    g_tensor *(*un)(g_tensor *);                  /* what some builders apply */
    g_tensor *(*bin)(g_tensor *, g_tensor *);
    int arg[G_MAX_DIMS + 1];                      /* the builder's integer arguments */
    float farg;
    double tol;                                   /* device vs reference, relative; 0: 2e-6 */
};

extern const tc_case tc_cases[];
extern const int tc_ncases;
const tc_case *tc_find(const char *name);
/* Rows with any of the bits of `use`, and the k-th of them. */
int tc_count(int use);
const tc_case *tc_nth(int use, int k);
/* Inputs "x0", "x1", ... of g with the row's shapes (TC_U8 ones 8-bit),
 * then the op on them. */
g_tensor *tc_build(const tc_case *c, g_graph *g, g_tensor **inputs);
/* Values of one input, deterministic in seed (of a TC_U8 input: the bytes
 * of tc_fill_u8 over 255). */
void tc_fill(const tc_input *in, double *v, size_t n, uint64_t seed);
/* The bytes of a TC_U8 input: 0 and 255 first, then every value 0 .. 255
 * in turn, deterministic in seed. */
void tc_fill_u8(uint8_t *b, size_t n, uint64_t seed);

/* ---- data, timings, networks ------------------------------------------------ */

/* The next state of the xorshift64 stream behind the test data. */
uint64_t tc_next(uint64_t *state);
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
