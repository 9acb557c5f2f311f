/* models.h: what the MEG programs (meg-train, meg-sample, meg-eval) need
 * around the graphs: data sets (toy 2-D sets, CSV), safetensors checkpoints,
 * PNG plots and quality metrics. The one public header of models/.
 *
 * Errors: functions returning int give 0 on success and -1 on failure, with a
 * message (naming the file, line or tensor that was wrong) from rt_error() in
 * runtime.h. Nothing here aborts, exits or prints.
 */
#ifndef MEG_MODELS_H
#define MEG_MODELS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "exec.h"
#include "graph.h"
#include "util.h"

/* ---- data-space boxes and density grids -------------------------------- */

typedef struct meg_box {
    double xmin, xmax, ymin, ymax;
} meg_box;

/* Grid convention used by heat maps and grid metrics: cell (i, j), i < nx
 * along x and j < ny along y, is element j*nx + i; its centre is
 * (xmin + (i + 0.5) * dx, ymin + (j + 0.5) * dy), so row 0 is the bottom. */

/* Writes the nx*ny cell centres, (x, y) pairs in grid order, into xy. */
int meg_grid_points(meg_box box, int nx, int ny, float *xy);
/* density[i] = exp(-energy[i]) / sum, computed stably (shifted by min E).
 * Fails on a non-finite energy. density may alias energy. */
int meg_energy_to_density(const float *energy, size_t n, float *density);

/* ---- toy 2-D data sets --------------------------------------------------- */

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
/* A box that holds the set with a small border, for plots and grids. */
int meg_toy_box(const char *name, meg_box *box);

/* ---- CSV ------------------------------------------------------------------ */

/* Reads a comma-separated file of numbers into a malloc'ed row-major array
 * (*rows x *cols; free() it). *cols = 0 on entry: taken from the first line;
 * otherwise every line must have exactly *cols fields. The first non-blank
 * line is a header, and skipped, when none of its fields is a number; blank
 * lines are skipped. Errors name the file and the line. */
int meg_csv_read(const char *path, size_t *cols, float **data, size_t *rows);
/* Two-column variant: *n points as (x, y) pairs. */
int meg_csv_read_xy(const char *path, float **xy, size_t *n);

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
 * convention above; need not be normalised, must be >= 0 with a positive
 * sum). Fails when a cell is wider than 3 std, since the centre test would
 * then miss modes. */
int meg_toy_quality_grid(const float *centers, int count, float std,
                         meg_box box, int nx, int ny, const float *density,
                         meg_toy_quality *q);
/* Writes `"modes": 8, "modes_captured": 8, "hq_share": ..., "kl_uniform":
 * ..., "grid_mass_near": ...` (no braces, NaN as null) into buf. Fails when
 * it does not fit. */
int meg_toy_quality_json(const meg_toy_quality *q, char *buf, size_t cap);

/* ---- plotting onto an RGB canvas ------------------------------------------ */

typedef struct meg_rgb {
    uint8_t r, g, b;
} meg_rgb;

#define MEG_RGB(r, g, b) ((meg_rgb){(r), (g), (b)})

/* Pixels are RGB, row-major, top row first. The data box maps onto the plot
 * area [x0, x1) x [y0, y1) (a margin inside the canvas), ymax at the top. */
typedef struct meg_canvas {
    int width, height;
    uint8_t *rgb;
    meg_box box;
    int x0, y0, x1, y1;
    int font_scale;           /* pixel size of one font dot for frame and title */
} meg_canvas;

/* A white canvas; margin (pixels, each side) leaves room for ticks, labels
 * and title: about 64 at 512 x 512, where the font is drawn at scale 2
 * (scale 1 below 384 pixels); labels wider than the margin are clipped. */
int meg_canvas_init(meg_canvas *c, int width, int height, int margin, meg_box box);
void meg_canvas_free(meg_canvas *c);
void meg_canvas_fill(meg_canvas *c, meg_rgb col);
/* Data (x, y) to continuous pixel coordinates (pixel (i, j) spans
 * [i, i+1) x [j, j+1)). */
void meg_canvas_to_pixel(const meg_canvas *c, double x, double y, double *px, double *py);
/* Blends one pixel: out = (1 - alpha) * out + alpha * col; outside: ignored. */
void meg_canvas_blend(meg_canvas *c, int px, int py, meg_rgb col, double alpha);

/* Perceptual (viridis-like) colour for t in [0, 1] (clamped). */
meg_rgb meg_colormap(double t);

#define MEG_HEAT_LOG 1u       /* colour by log(value); values <= 0 get the lowest colour */

/* Fills the plot area from an ny x nx grid over the canvas box (grid
 * convention above), colour scaled from min to max of the finite values
 * (non-finite cells are grey). The range used (after log) goes to
 * *vmin, *vmax when not NULL. Fails when no value is usable. */
int meg_plot_heatmap(meg_canvas *c, const float *values, int nx, int ny,
                     unsigned flags, double *vmin, double *vmax);
/* Filled discs of the given radius (pixels) at n (x, y) data points,
 * clipped to the plot area; non-finite points are skipped. */
void meg_plot_points(meg_canvas *c, const float *xy, size_t n, double radius,
                     meg_rgb col, double alpha);
/* A 1-pixel line through n (x, y) data points (e.g. an MCMC chain),
 * clipped to the plot area; a pixel where consecutive steps meet is blended
 * once. Non-finite points break the line. */
void meg_plot_polyline(meg_canvas *c, const float *xy, size_t n, meg_rgb col,
                       double alpha);
/* A frame around the plot area with outward ticks at round numbers and
 * their labels. */
void meg_plot_frame(meg_canvas *c, meg_rgb col);
/* A title centred in the top margin. */
void meg_plot_title(meg_canvas *c, const char *title, meg_rgb col);

/* Built-in 5x7 font (digits, letters, space and - . , : = ( ) [ ] _ / + * %
 * ' #; anything else shows as '?'), each dot scale x scale pixels, with
 * (x, y) the top-left corner; g j p q y descend one dot below the 7. */
void meg_plot_text(meg_canvas *c, int x, int y, int scale, const char *s, meg_rgb col);
int meg_text_width(const char *s, int scale);
int meg_text_height(int scale);

/* ---- PNG files --------------------------------------------------------------- */

/* All PNG writers go through rt_atomic_* (util.h): the destination is either
 * left alone or replaced by the complete picture. */
int meg_png_write(const char *path, int width, int height, int channels,
                  const uint8_t *pixels);
int meg_canvas_write_png(const meg_canvas *c, const char *path);
/* count grayscale images of h x w floats (image-major, row-major) tiled cols
 * per row with 2-pixel grey gaps; lo..hi maps to black..white (clamped), e.g.
 * 0..1 or -1..1; each image pixel becomes zoom x zoom pixels. */
int meg_png_image_grid(const char *path, const float *images, int count,
                       int h, int w, int cols, float lo, float hi, int zoom);

/* ---- safetensors checkpoints ---------------------------------------------- */

#define MEG_ST_MAX_DIMS 8

/* A named fp32 tensor: input to the writer, and what the reader hands out
 * (there name and data point into the meg_st_file). */
typedef struct meg_st_tensor {
    const char *name;
    int ndim;                 /* 0 (scalar) .. MEG_ST_MAX_DIMS */
    int64_t shape[MEG_ST_MAX_DIMS];
    const float *data;        /* product(shape) values */
} meg_st_tensor;

typedef struct meg_st_kv {
    const char *key, *value;
} meg_st_kv;

/* Writes tensors (in the given order, contiguous) and string metadata
 * atomically. Names must be unique, non-empty and not "__metadata__". */
int meg_st_write(const char *path, const meg_st_tensor *tensors, size_t ntensors,
                 const meg_st_kv *meta, size_t nmeta);

typedef struct meg_st_file meg_st_file;

/* Reads and validates a whole file (header length, JSON, dtype F32 only,
 * shapes against sizes, offsets inside the data area without overlap or
 * holes). Errors name the file, and the tensor where there is one. */
int meg_st_read(const char *path, meg_st_file **out);
void meg_st_free(meg_st_file *f);
const char *meg_st_path(const meg_st_file *f);
size_t meg_st_count(const meg_st_file *f);
const meg_st_tensor *meg_st_at(const meg_st_file *f, size_t i);
/* NULL when absent (no error set). */
const meg_st_tensor *meg_st_find(const meg_st_file *f, const char *name);
/* The tensor's data, after checking it exists and has exactly the expected
 * shape (ndim < 0: any shape); errors name the file and the tensor. */
int meg_st_get(const meg_st_file *f, const char *name, int ndim,
               const int64_t *shape, const float **data);
size_t meg_st_meta_count(const meg_st_file *f);
const meg_st_kv *meg_st_meta_at(const meg_st_file *f, size_t i);
/* NULL when absent. */
const char *meg_st_meta(const meg_st_file *f, const char *key);

/* ---- MEG: networks, the training iteration, evaluation, checkpoints -------
 * Section 2.3 of the seed (Algorithm 1). Weights are [in, out] (y = x W + b)
 * with PyTorch's default Linear initialisation. */

#define MEG_MAX_LAYERS 8

enum { MEG_ACT_LEAKY, MEG_ACT_RELU };

typedef struct meg_mlp {
    int nlayers;
    int act;                  /* hidden layers: leaky relu (0.2) or relu; the last is linear */
    g_tensor *w[MEG_MAX_LAYERS], *b[MEG_MAX_LAYERS];
} meg_mlp;

/* Parameters "<prefix>.w<l>", "<prefix>.b<l>" of an MLP in -> width (x hidden) -> out. */
int meg_mlp_make(g_graph *g, const char *prefix, int in, int width, int hidden, int out, int act, meg_mlp *m);
g_tensor *meg_mlp_apply(const meg_mlp *m, g_tensor *x);
/* The parameters in order w0, b0, w1, ...; returns their count. */
int meg_mlp_params(const meg_mlp *m, g_tensor **out);

typedef struct meg_config {
    int dim;                  /* data dimension */
    int zdim, width, hidden, batch, n_energy;
    float lr, beta1, beta2, lambda;
    int shuffle_rows;         /* 0: each latent dimension shuffled across the batch; 1: whole rows */
    uint64_t seed;
    int mcmc_steps;           /* latent MALA steps refining the generator's samples before each
                                 energy update (section 2.3.2; 0, the seed's setting: none) */
    float mcmc_step_size;     /* their step size (prior N(0, I) included in the target) */
} meg_config;

/* The seed's defaults: 3 hidden layers of 512, z of 2, batch 256, 5 energy
 * updates, Adam lr 1e-4, betas 0.5/0.9, lambda 0.1, per-dimension shuffle. */
void meg_config_default(meg_config *c);

typedef struct meg_model {
    meg_config cfg;
    g_graph *g;
    meg_mlp E, G, T;
    size_t ndata;
    g_tensor *data;           /* input [ndata, dim]: the training set, on the device */
    g_tensor *rng;
    g_tensor *mcmc_z;         /* state [batch, zdim]: refined latents (mcmc_steps > 0) */
    g_tensor *mcmc_accept;    /* 0-d root: acceptance rate of the last refinement (mcmc_steps > 0) */
    g_tensor *step;           /* root: one whole training iteration */
    /* 0-d roots: values of the iteration (energy terms of its last energy update) */
    g_tensor *loss_e, *loss_g, *loss_h, *penalty, *e_data, *e_gen;
    int eval_n;               /* rows per evaluation run */
    g_tensor *x_in, *energy;  /* input [eval_n, dim] -> E(x) [eval_n, 1] */
    g_tensor *z_in, *gen;     /* input [eval_n, zdim] -> G(z) [eval_n, dim] */
} meg_model;

int meg_model_build(meg_model *m, const meg_config *c, size_t ndata, int eval_n);
void meg_model_free(meg_model *m);

/* Energies of n points (n x dim), through the evaluation plan in chunks. */
int meg_eval_energy(g_session *s, g_plan *p, const meg_model *m, const float *x, size_t n, float *e);
/* n generator samples from latents z (n x zdim). */
int meg_eval_generate(g_session *s, g_plan *p, const meg_model *m, const float *z, size_t n, float *x);
/* n standard normal latents (n x zdim), deterministic in seed. */
void meg_latents(float *z, size_t n, int zdim, uint64_t seed);

/* Checkpoints: every param and state leaf of the graph by name (Adam
 * moments, step counters, the generator's run counter), plus string
 * metadata. Loading checks that every leaf is there with its shape. */
int meg_checkpoint_save(const char *path, g_session *s, g_graph *g, const meg_st_kv *meta, size_t nmeta);
int meg_checkpoint_load(const meg_st_file *f, g_session *s, g_graph *g);

/* ---- MALA: Metropolis-adjusted Langevin sampling on the device ------------
 * Section 2.3.2 of the seed. C chains of dimension D sample
 * p(s) ~ exp(-(U(s) / T + prior * ||s||^2 / 2)) with the proposal
 * s' = s - a grad(s) + sqrt(2a) eps and the Metropolis-Hastings test
 * log u < -V(s') + V(s) + log q(s|s') - log q(s'|s), where V is the whole
 * exponent above and log q(b|c) = -||b - c + a grad V(c)||^2 / (4a).
 * One step is one graph: V and its gradient are evaluated once, at the
 * proposal (those of the current state are cached in state leaves), the
 * step size is a device state, the random numbers come from the device
 * generator, and acceptance counts and trajectories accumulate on the
 * device; K steps are K replays of one recorded plan. */

/* Builds U(s): s [C, D] -> energies [C] or [C, 1]. It is called more than
 * once (current state and proposal), so it must reuse the same parameters
 * (found with g_graph_find, or held in user), and chains must not interact
 * (no statistics across the batch). It must not draw random numbers. */
typedef g_tensor *(*meg_energy_fn)(g_graph *g, g_tensor *s, void *user);

typedef struct meg_mala_opts {
    const char *prefix;       /* leaf names "<prefix>.state" etc.; NULL: "mala" */
    int chains, dim;          /* C, D */
    float step_size;          /* a (> 0): the fixed value, or adaptation's start */
    float target_accept;      /* of the adaptation; 0: 0.574 (optimal for MALA) */
    float adapt_gain;         /* Robbins-Monro gain g0 on log a; 0: 1 */
    int prior;                /* 1: add ||s||^2 / 2 (the N(0, I) latent prior) */
    float temperature;        /* T divides U (not the prior); 0: 1 */
    int record_chains;        /* R: the first R chains are recorded (0: none) */
    int record_slots;         /* records kept (the first ones) */
    int record_every;         /* M: one record every M steps; 0: 1 */
    uint64_t seed;            /* the generator's key */
    int wrong_acceptance;     /* TEST ONLY: 1 drops the log q terms (a biased chain) */
} meg_mala_opts;

typedef struct meg_mala {
    meg_mala_opts o;          /* with the defaults filled in (o.prefix points to prefix) */
    char prefix[G_NAME_MAX];
    g_graph *g;
    /* state leaves (counts are exact integers in fp32: up to 2^24 steps in all) */
    g_tensor *state;          /* [C, D]; starts as N(0, 1) from the session seed */
    g_tensor *energy, *grad;  /* [C], [C, D]: V and grad V at state (the cache) */
    g_tensor *log_step;       /* [1]: log a */
    g_tensor *adapt_t;        /* [1]: adaptation steps taken (the gain's clock) */
    g_tensor *accepted;       /* [C]: accepted proposals since the last reset */
    g_tensor *rng;            /* its counter counts the steps taken */
    g_tensor *rng_at_reset;   /* [1]: the counter at the last reset */
    g_tensor *traj;           /* [slots, R, D] (NULL without recording) */
    g_tensor *rec_phase, *rec_count;  /* [1]: steps since the last record; records made */
    g_tensor *slot_index;     /* input [slots, 1, 1] = 0, 1, ...: the record mask's key */
    /* roots */
    g_tensor *refresh;        /* recomputes the cache from state */
    g_tensor *step;           /* one step, step size frozen */
    g_tensor *step_adapt;     /* one step, then log a += g0 t^-0.6 (batch acceptance - target) */
    /* device plans, made on first use for one session (meg_mala_release) */
    g_session *session;
    g_plan *p_refresh, *p_step, *p_adapt;
    int cache_ok;             /* the cache matches state */
} meg_mala;

/* Appends the sampler's leaves and graphs to g. */
int meg_mala_build(g_graph *g, const meg_mala_opts *o, meg_energy_fn U, void *user, meg_mala *m);
/* Makes the three plans for session s (done by the other calls when
 * needed); a sampler serves one session until meg_mala_release. */
int meg_mala_prepare(g_session *s, meg_mala *m);
/* Frees the plans; call it before g_session_free. m stays usable. */
void meg_mala_release(meg_mala *m);
/* Writes state (C x D floats) and recomputes the cache. After writing
 * m->state or a parameter of U any other way, call meg_mala_refresh. */
int meg_mala_set_state(g_session *s, meg_mala *m, const float *state);
int meg_mala_refresh(g_session *s, meg_mala *m);
/* steps steps (adapting the step size when adapt is 1), in submits of at
 * most max_steps_per_submit replays (0: all in one), so that a desktop
 * GPU's watchdog never fires; the host touches nothing between steps.
 * Computes the cache first if it is stale. Fails, running nothing, where the
 * generator's counter would pass 2^24 (2^24 steps per session in all).
 * The same seed, start and device give bit-identical results. */
int meg_mala_run(g_session *s, meg_mala *m, long steps, long max_steps_per_submit, int adapt);
/* Mean acceptance rate of all chains since the last reset, and (per_chain
 * not NULL) each chain's (C floats); NaN when no step was taken. */
int meg_mala_acceptance(g_session *s, meg_mala *m, double *rate, float *per_chain);
/* Zeroes the acceptance counters, the step count and the trajectory. */
int meg_mala_reset_stats(g_session *s, meg_mala *m);
int meg_mala_step_size(g_session *s, meg_mala *m, float *a);
/* Sets a (> 0) and restarts the adaptation's gain schedule. */
int meg_mala_set_step_size(g_session *s, meg_mala *m, float a);
/* The records since the last reset, oldest first: *records (<= slots)
 * times [R, D] into out (slots x R x D floats). */
int meg_mala_trajectory(g_session *s, meg_mala *m, float *out, int *records);

#endif
