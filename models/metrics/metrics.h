/* metrics.h: numbers that say how good a model is, computed on the host
 * from what the device produced: densities normalised over a grid, and the
 * quality of 2-D samples and densities against a toy Gaussian mixture. The
 * one public header of models/metrics/.
 *
 * Errors: functions returning int give 0 on success and -1 on failure, with
 * a message in rt_error() (util.h). Nothing here touches the device, aborts,
 * exits or prints.
 */
#ifndef MEG_MODELS_METRICS_H
#define MEG_MODELS_METRICS_H

#include <stddef.h>

#include "data.h"   /* meg_box, the grid convention, MEG_TOY_MAX_MODES */

/* ---- densities on a grid --------------------------------------------------- */

/* density[i] = exp(-energy[i]) / sum, computed stably (shifted by min E):
 * the model's density normalised over a grid (data.h's convention). Fails
 * on a non-finite energy. density may alias energy. */
int meg_energy_to_density(const float *energy, size_t n, float *density);

/* ---- a distance between two samples, for any data set ------------------------
 * The energy distance (Szekely and Rizzo) between the distributions of n
 * points x and m points y of dimension dim (row-major):
 *   D = 2 E|X - Y| - E|X - X'| - E|Y - Y'|   (Euclidean norms),
 * the within-sample means over distinct pairs (the unbiased form). D >= 0,
 * 0 exactly when the distributions agree, so it needs no modes (swissroll).
 * O((n + m)^2 dim) on the host: about a second for 10,000 points each. */
double meg_energy_distance(const float *x, size_t n, const float *y, size_t m, int dim);

/* ---- quality of samples from the 2-D Gaussian mixtures ------------------- */

/* With the K centres and std of meg_toy_modes, and r = 3 * std (Euclidean
 * distance to a centre):
 * - a sample is high quality when it lies within r of some centre, and is
 *   then assigned to the nearest one;
 * - a mode is captured when at least 1% of all samples are assigned to it;
 * - kl_uniform = KL(p || uniform over all K modes) = sum_k p_k log(p_k K),
 *   p the histogram of assignments normalised over the high-quality
 *   samples; 0 when every mode gets the same share, log(K/m) when m modes
 *   share evenly; NaN when no sample is high quality;
 * - grid_mass_near: share of a normalised density on a grid that lies in
 *   cells whose centre is within r of some centre. */
typedef struct meg_toy_quality {
    int modes;                /* K */
    int modes_captured;
    size_t samples;           /* n */
    double hq_share;          /* high-quality samples / n */
    double kl_uniform;
    double grid_mass_near;    /* NaN until meg_toy_quality_grid */
    size_t mode_count[MEG_TOY_MAX_MODES]; /* samples assigned to each mode */
} meg_toy_quality;

/* Marks every number as not computed (NaN, -1). */
void meg_toy_quality_init(meg_toy_quality *q);
/* Fills every field except grid_mass_near from n samples (x, y pairs). */
int meg_toy_quality_samples(const float *centers, int count, float std,
                            const float *xy, size_t n, meg_toy_quality *q);
/* Sets q->grid_mass_near from a density on an nx x ny grid over box (grid
 * convention of data.h; need not be normalised, must be >= 0 with a positive
 * sum). Fails when a cell is wider than 3 std, since the centre test would
 * then miss modes. */
int meg_toy_quality_grid(const float *centers, int count, float std,
                         meg_box box, int nx, int ny, const float *density,
                         meg_toy_quality *q);
/* Writes `"modes": 8, "modes_captured": 8, "hq_share": ..., "kl_uniform":
 * ..., "grid_mass_near": ...` (no braces, NaN as null) into buf. Fails when
 * it does not fit. */
int meg_toy_quality_json(const meg_toy_quality *q, char *buf, size_t cap);

#endif
