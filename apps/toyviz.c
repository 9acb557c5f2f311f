/* toyviz.c: density heat maps, sample scatter plots, chain plots and CSV
 * files for the 2-D models. */
#include "toyviz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "metrics.h"
#include "util.h"

static const meg_rgb BLACK = {0, 0, 0};

static int canvas(meg_canvas *c, meg_box box)
{
    if (meg_canvas_init(c, 560, 560, 64, box)) return -1;
    return 0;
}

static int heat(meg_canvas *c, const float *density, int n)
{
    return meg_plot_heatmap(c, density, n, n, 0, NULL, NULL);
}

int viz_draw_density(meg_canvas *c, const float *energy, int n, const char *title)
{
    size_t nn = (size_t)n * n;
    float *d = malloc(nn * sizeof *d);
    if (!d) { rt_set_error("out of host memory"); return -1; }
    int rc = -1;
    if (!meg_energy_to_density(energy, nn, d) && !heat(c, d, n)) {
        meg_plot_frame(c, BLACK);
        meg_plot_title(c, title, BLACK);
        rc = 0;
    }
    free(d);
    return rc;
}

int viz_density(const char *path, const float *energy, int n, meg_box box, const char *title)
{
    meg_canvas c;
    if (canvas(&c, box)) return -1;
    int rc = viz_draw_density(&c, energy, n, title) || meg_canvas_write_png(&c, path) ? -1 : 0;
    meg_canvas_free(&c);
    return rc;
}

int viz_draw_points(meg_canvas *c, const float *bg, size_t nbg, const float *fg, size_t nfg, const float *density,
                    int n, const char *title)
{
    if (density && heat(c, density, n)) return -1;
    if (bg) meg_plot_points(c, bg, nbg, 1.2, density ? MEG_RGB(255, 255, 255) : MEG_RGB(110, 110, 110), 0.35);
    if (fg) meg_plot_points(c, fg, nfg, 1.8, MEG_RGB(230, 60, 30), 0.75);
    meg_plot_frame(c, BLACK);
    meg_plot_title(c, title, BLACK);
    return 0;
}

int viz_points(const char *path, const float *bg, size_t nbg, const float *fg, size_t nfg, const float *density,
               int n, meg_box box, const char *title)
{
    meg_canvas c;
    if (canvas(&c, box)) return -1;
    int rc = viz_draw_points(&c, bg, nbg, fg, nfg, density, n, title) || meg_canvas_write_png(&c, path) ? -1 : 0;
    meg_canvas_free(&c);
    return rc;
}

int viz_canvas(meg_canvas *c, meg_box box) { return canvas(c, box); }

int viz_chains(const char *path, const float *traj, int nchains, int nsteps, const float *density, int n,
               meg_box box, const char *title)
{
    static const meg_rgb cols[] = {{230, 60, 30}, {255, 255, 255}, {60, 200, 255}, {255, 200, 0},
                                   {200, 80, 255}, {80, 255, 120}, {255, 120, 180}, {180, 180, 180}};
    meg_canvas c;
    if (canvas(&c, box)) return -1;
    int rc = density ? heat(&c, density, n) : 0;
    float *line = malloc((size_t)nsteps * 2 * sizeof *line);
    if (!line) { meg_canvas_free(&c); rt_set_error("out of host memory"); return -1; }
    for (int k = 0; k < nchains && !rc; k++) {
        for (int t = 0; t < nsteps; t++) {
            line[2 * t] = traj[((size_t)t * nchains + k) * 2];
            line[2 * t + 1] = traj[((size_t)t * nchains + k) * 2 + 1];
        }
        meg_rgb col = cols[k % 8];
        meg_plot_polyline(&c, line, (size_t)nsteps, col, 0.9);
        meg_plot_points(&c, line, 1, 3.0, col, 1.0);                      /* start */
        meg_plot_points(&c, line + 2 * (nsteps - 1), 1, 2.0, BLACK, 1.0); /* end */
    }
    if (!rc) {
        meg_plot_frame(&c, BLACK);
        meg_plot_title(&c, title, BLACK);
        rc = meg_canvas_write_png(&c, path);
    }
    free(line);
    meg_canvas_free(&c);
    return rc;
}

int viz_csv(const char *path, const float *v, size_t rows, int cols, const char *header)
{
    rt_atomic_file af;
    if (rt_atomic_open(&af, path)) return -1;
    char line[512];
    if (header) {
        int k = snprintf(line, sizeof line, "%s\n", header);
        rt_atomic_write(&af, line, (size_t)k);
    }
    for (size_t r = 0; r < rows; r++) {
        int k = 0;
        for (int j = 0; j < cols && k < (int)sizeof line - 32; j++)
            k += snprintf(line + k, sizeof line - (size_t)k, "%s%.9g", j ? "," : "", (double)v[r * (size_t)cols + (size_t)j]);
        line[k++] = '\n';
        rt_atomic_write(&af, line, (size_t)k);
    }
    return rt_atomic_commit(&af);
}

int viz_quality(const char *data, const float *xy, size_t n, const float *density, int grid, meg_box box, char *js,
                size_t jn)
{
    float centers[2 * MEG_TOY_MAX_MODES], std;
    int count = 0;
    if (!meg_toy_is_known(data) || meg_toy_modes(data, centers, &count, &std) || count == 0) return 1;
    meg_toy_quality q;
    meg_toy_quality_init(&q);
    if (meg_toy_quality_samples(centers, count, std, xy, n, &q)) return -1;
    if (density && meg_toy_quality_grid(centers, count, std, box, grid, grid, density, &q)) q.grid_mass_near = NAN;
    return meg_toy_quality_json(&q, js, jn);
}
