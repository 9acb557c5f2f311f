/* grid.c: the cell centres of a grid over a data-space box (the convention
 * is in data.h), where energies and densities are evaluated. */
#include "data.h"
#include "util.h"

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
