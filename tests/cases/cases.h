/* cases.h: what the test suites and meg-bench share: deterministic test
 * data, medians of timings. (The op case table joins it.) Linked into the
 * tests and into meg-bench; not part of the installed library. */
#ifndef MEG_TESTS_CASES_H
#define MEG_TESTS_CASES_H

#include <stddef.h>
#include <stdint.h>

/* n floats in [-1, 1), the same for the same seed on every machine. */
void tc_random(float *x, size_t n, uint64_t seed);
/* The median of v[0..n) (v is sorted in place); 0 for n = 0. */
double tc_median(double *v, int n);

#endif
