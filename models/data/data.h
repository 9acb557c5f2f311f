/* data.h: data sets for the models: one data-set type (vectors or images,
 * optional integer labels) with constructors for the generated toy 2-D sets
 * and numeric CSV files; the data-space box and grid that plots and grid
 * metrics share. The one public header of models/data/.
 *
 * Errors: functions returning int give 0 on success and -1 on failure, with
 * a message (naming the file, line or set that was wrong) in rt_error()
 * (util.h). Nothing here touches the device, aborts, exits or prints.
 */
#ifndef MEG_MODELS_DATA_H
#define MEG_MODELS_DATA_H

#include <stddef.h>
#include <stdint.h>

/* ---- data sets ---------------------------------------------------------- */

#define MEG_DATA_MAX_DIMS 3

/* n examples of one shape: [D] (vectors: toy sets, tabular rows) or
 * [C, H, W] (images), stored example-major, each example row-major. */
typedef struct meg_dataset {
    char *name;               /* the toy set's name or the file's path (owned) */
    size_t n;                 /* examples */
    int ndim;                 /* 1 or 3 */
    int shape[MEG_DATA_MAX_DIMS];
    float *x;                 /* n * meg_dataset_dim() values (owned) */
    int32_t *labels;          /* n labels (owned), or NULL when the set has none */
} meg_dataset;

/* Values per example: the product of the shape. */
size_t meg_dataset_dim(const meg_dataset *d);
/* Frees what the set owns and zeroes it; a zeroed set may be freed again. */
void meg_dataset_free(meg_dataset *d);

/* n points of a toy set (meg_toy_generate): shape [2], no labels. */
int meg_dataset_toy(meg_dataset *d, const char *name, size_t n, uint64_t seed);
/* A numeric CSV file (meg_csv_read) with cols columns (0: as many as the
 * first line has). label_col >= 0 (counted from 0) names a column of
 * integer labels, taken out of the values (shape [cols - 1]); -1: no labels
 * (shape [cols]).
 * Errors name the file, and the line and column where there is one. */
int meg_dataset_csv(meg_dataset *d, const char *path, size_t cols, int label_col);

/* ---- toy 2-D data sets ---------------------------------------------------- */

#define MEG_TOY_MAX_MODES 25

/* 1 if name is "8gaussians", "25gaussians" or "swissroll", else 0. */
int meg_toy_is_known(const char *name);
/* The known names, comma separated, for help texts and messages. */
const char *meg_toy_names(void);
/* n points (x, y pairs) into xy; the same (name, seed) gives the same
 * points on every run, and point i does not depend on n. */
int meg_toy_generate(const char *name, size_t n, uint64_t seed, float *xy);
/* Mixture centres (up to MEG_TOY_MAX_MODES pairs) and the per-coordinate std,
 * in data coordinates. A set without discrete modes (swissroll) gives
 * count 0 and std 0 and succeeds. */
int meg_toy_modes(const char *name, float *centers, int *count, float *std);

/* ---- CSV ------------------------------------------------------------------ */

/* Reads a comma-separated file of numbers into a malloc'ed row-major array
 * (*rows x *cols; free() it). *cols = 0 on entry: taken from the first line;
 * otherwise every line must have exactly *cols fields. The first non-blank
 * line is a header, and skipped, when none of its fields is a number; blank
 * lines are skipped. Errors name the file and the line. */
int meg_csv_read(const char *path, size_t *cols, float **data, size_t *rows);

/* ---- data-space boxes and grids ------------------------------------------
 * The rectangle of the 2-D data space that plots show and density grids
 * cover; it lives here because the data sets define it (meg_toy_box), and
 * plots (io.h) and grid metrics (metrics.h) both take it. */

typedef struct meg_box {
    double xmin, xmax, ymin, ymax;
} meg_box;

/* A box that holds the toy set with a small border, for plots and grids. */
int meg_toy_box(const char *name, meg_box *box);

/* Grid convention used by heat maps and grid metrics: cell (i, j), i < nx
 * along x and j < ny along y, is element j*nx + i; its centre is
 * (xmin + (i + 0.5) * dx, ymin + (j + 0.5) * dy), so row 0 is the bottom. */

/* Writes the nx*ny cell centres, (x, y) pairs in grid order, into xy. */
int meg_grid_points(meg_box box, int nx, int ny, float *xy);

#endif
