/* density.c: energies to a density normalised over a grid, the form that
 * density plots and the grid-mass metric take. */
#include "metrics.h"
#include "util.h"

#include <math.h>

int meg_energy_to_density(const float *energy, size_t n, float *density)
{
    if (n == 0) {
        rt_set_error("energy to density: empty grid");
        return -1;
    }
    double emin = INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(energy[i])) {
            rt_set_error("energy to density: energy at cell %zu is %g", i, (double)energy[i]);
            return -1;
        }
        if (energy[i] < emin)
            emin = energy[i];
    }
    /* Shifting by the minimum keeps every exp in (0, 1], so the sum is >= 1. */
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += exp(-(energy[i] - emin));
    for (size_t i = 0; i < n; i++)
        density[i] = (float)(exp(-(energy[i] - emin)) / sum);
    return 0;
}
