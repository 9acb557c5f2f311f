/* energy_distance.c: the energy distance between two samples (metrics.h),
 * every pair's distance accumulated in double. */
#include "metrics.h"

#include <math.h>

/* The sum of |a_i - b_j| over all pairs (i < j when a and b are one sample). */
static double pair_sum(const float *a, size_t na, const float *b, size_t nb, int dim, int same)
{
    double total = 0;
    for (size_t i = 0; i < na; i++) {
        const float *p = a + i * (size_t)dim;
        double row = 0;
        for (size_t j = same ? i + 1 : 0; j < nb; j++) {
            const float *q = b + j * (size_t)dim;
            double d2 = 0;
            for (int k = 0; k < dim; k++) {
                double d = (double)p[k] - (double)q[k];
                d2 += d * d;
            }
            row += sqrt(d2);
        }
        total += row;
    }
    return total;
}

double meg_energy_distance(const float *x, size_t n, const float *y, size_t m, int dim)
{
    if (!x || !y || n < 2 || m < 2 || dim < 1) return NAN;
    double xy = pair_sum(x, n, y, m, dim, 0) / ((double)n * (double)m);
    double xx = 2.0 * pair_sum(x, n, x, n, dim, 1) / ((double)n * (double)(n - 1));
    double yy = 2.0 * pair_sum(y, m, y, m, dim, 1) / ((double)m * (double)(m - 1));
    return 2.0 * xy - xx - yy;
}
