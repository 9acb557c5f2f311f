/* harness.h: what every test suite shares: one validated Vulkan context,
 * and a fixture that fails any test whose run produced a validation message. */
#ifndef MEG_TEST_HARNESS_H
#define MEG_TEST_HARNESS_H

#include <check.h>
#include <stdint.h>
#include "runtime.h"

rt_ctx *th_ctx(void);                 /* created on first use, validation on */
/* Adds the validation fixture to a test case. */
void th_validated(TCase *tc);
/* Runs the suite (no fork), frees the context, returns the exit status. */
int th_run(Suite *s);

/* Deterministic test data in [-1, 1). */
void th_random(float *x, size_t n, uint64_t seed);

#endif
