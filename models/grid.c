/* grid.c: cell centres of a density grid over a box, and energies to a
 * normalised density on it (the convention is in models.h). */
#include "models.h"
#include "runtime.h"

#include <math.h>

int meg_grid_points(meg_box box, int nx, int ny, float *xy)
{
    if (nx <= 0 || ny <= 0 || !(box.xmax > box.xmin) || !(box.ymax > box.ymin)) {
        rt_set_error("grid: need nx, ny > 0 and a non-empty box (got %d x %d over [%g, %g] x [%g, %g])",
                     nx, ny, box.xmin, box.xmax, box.ymin, box.ymax);
        return -1;
    }
    double dx = (box.xmax - box.xmin) / nx, dy = (box.ymax - box.ymin) / ny;
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            size_t k = (size_t)j * nx + i;
            xy[2 * k] = (float)(box.xmin + (i + 0.5) * dx);
            xy[2 * k + 1] = (float)(box.ymin + (j + 0.5) * dy);
        }
    return 0;
}

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
