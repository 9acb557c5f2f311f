/* inception.c: the Inception-like score of a classifier's predictions on
 * generated samples, exp(E_x KL(p(y|x) || p(y))) (metrics.h). Any
 * classifier serves (a StackedMNIST digit classifier as well as Inception);
 * the number is only comparable between runs scored by the same one. */
#include "metrics.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>

#define ROW_SUM_TOL 1e-3       /* float softmax outputs sum to 1 within ~1e-6; this catches logits */

int meg_inception_score(const float *probs, size_t n, int k, double *score)
{
    if (n == 0 || k < 1) {
        rt_set_error("inception score: %zu samples of %d classes, need at least one of each", n, k);
        return -1;
    }
    size_t K = (size_t)k;
    double *marg = calloc(K, sizeof *marg);
    double *norm = malloc(n * sizeof *norm);
    if (!marg || !norm) {
        free(marg);
        free(norm);
        rt_set_error("inception score: out of memory for %zu x %d", n, k);
        return -1;
    }
    /* first pass: check rows, their sums (each is renormalised), p(y) */
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * K;
        double s = 0;
        for (size_t y = 0; y < K; y++) {
            if (!isfinite(p[y]) || p[y] < 0) {
                rt_set_error("inception score: row %zu, class %zu has probability %g, expected a finite "
                             "value >= 0 (probabilities, not logits)", i, y, (double)p[y]);
                goto fail;
            }
            s += p[y];
        }
        if (fabs(s - 1) > ROW_SUM_TOL) {
            rt_set_error("inception score: row %zu sums to %.6g, expected 1 (probabilities, not logits)", i, s);
            goto fail;
        }
        norm[i] = 1 / s;
        for (size_t y = 0; y < K; y++)
            marg[y] += p[y] * norm[i];
    }
    for (size_t y = 0; y < K; y++)
        marg[y] /= (double)n;
    /* second pass: the mean KL; a class with p(y|x) = 0 adds nothing, and
     * p(y|x) > 0 implies p(y) > 0, so no term is infinite */
    double kl = 0;
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * K;
        double row = 0;
        for (size_t y = 0; y < K; y++) {
            double q = p[y] * norm[i];
            if (q > 0)
                row += q * log(q / marg[y]);
        }
        kl += row;
    }
    kl /= (double)n;
    *score = exp(kl > 0 ? kl : 0);   /* KL >= 0; below is rounding */
    free(marg);
    free(norm);
    return 0;
fail:
    free(marg);
    free(norm);
    return -1;
}
