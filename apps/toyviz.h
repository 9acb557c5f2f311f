/* toyviz.h: pictures and files the 2-D programs write (apps only). */
#ifndef MEG_APPS_TOYVIZ_H
#define MEG_APPS_TOYVIZ_H

#include <stddef.h>

#include "data.h"   /* meg_box */
#include "io.h"     /* meg_canvas */

/* exp(-E) on an n x n grid over box, normalised over the grid, as a heat map. */
int viz_density(const char *path, const float *energy, int n, meg_box box, const char *title);
/* Points fg over points bg (and over a density grid when density != NULL). */
int viz_points(const char *path, const float *bg, size_t nbg, const float *fg, size_t nfg, const float *density,
               int n, meg_box box, const char *title);
/* The same two pictures drawn onto a canvas of viz_canvas (the figure of
 * several panels); fg NULL: background points only. */
int viz_canvas(meg_canvas *c, meg_box box);   /* 560 x 560, the programs' panel */
int viz_draw_density(meg_canvas *c, const float *energy, int n, const char *title);
int viz_draw_points(meg_canvas *c, const float *bg, size_t nbg, const float *fg, size_t nfg, const float *density,
                    int n, const char *title);
/* Trajectories: nchains chains of nsteps points each ([step][chain][2]). */
int viz_chains(const char *path, const float *traj, int nchains, int nsteps, const float *density, int n,
               meg_box box, const char *title);
/* Quality numbers of samples xy (n points) of a toy Gaussian mixture, and of
 * a normalised density on a grid x grid over box when density is not NULL
 * (its mass near the modes; null when the grid is too coarse), as the JSON
 * fragment of meg_toy_quality_json. 1 when data is not such a mixture. */
int viz_quality(const char *data, const float *xy, size_t n, const float *density, int grid, meg_box box, char *js,
                size_t jn);
/* Rows of `cols` numbers, atomically. header: first line or NULL. */
int viz_csv(const char *path, const float *v, size_t rows, int cols, const char *header);

#endif
