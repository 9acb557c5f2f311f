/* io.h: what the models write and read besides data sets: safetensors
 * files (checkpoints of a session's leaves and generated samples included),
 * PNG pictures (grids of sample images among them), and the RGB canvas they
 * are drawn on (heat maps, points, chains, axes, a built-in font). The one
 * public header of models/io/.
 *
 * Errors: functions returning int give 0 on success and -1 on failure, with
 * a message (naming the file or tensor that was wrong) in rt_error()
 * (util.h). Every writer replaces its file atomically (rt_atomic_*), so a
 * failure or a crash leaves the old file or none, never a torn one. Only
 * checkpoints touch the device, and they do it through the graph's session
 * calls. Nothing here aborts, exits or prints.
 */
#ifndef MEG_MODELS_IO_H
#define MEG_MODELS_IO_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"   /* meg_box */
#include "exec.h"   /* g_session */

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

/* Copies src's pixels into dst with src's top-left corner at (x, y),
 * clipped to dst (panels laid out in one figure). */
void meg_canvas_paste(meg_canvas *dst, const meg_canvas *src, int x, int y);

/* Perceptual (viridis-like) colour for t in [0, 1] (clamped). */
meg_rgb meg_colormap(double t);

#define MEG_HEAT_LOG 1u       /* colour by log(value); values <= 0 get the lowest colour */

/* Fills the plot area from an ny x nx grid over the canvas box (the grid
 * convention of data.h), colour scaled from min to max of the finite values
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

/* ---- grids of generated samples ------------------------------------------------
 * images: n samples [c, h, w] (sample-major, then channel, row, column: the
 * [N, C, H, W] layout of PyTorch), values in [-1, 1] for black..white
 * (clamped; NaN shows black). c = 1: grayscale; c = 3: RGB (StackedMNIST
 * with 3 stacks: channel j is colour j); c = 4: the four channels as four
 * grayscale images in a 2 x 2 block (channel 0 top left, 1 top right, 2
 * bottom left, 3 bottom right). Cells sit on a grey (128) background with
 * gaps of 2 * zoom pixels around every cell; a 2 x 2 block's images are
 * max(1, zoom / 2) pixels apart. The optional title and caption (e.g.
 * "iteration 1200") are drawn in black with the built-in font on a white
 * band above the grid; the picture is as wide as the grid or, when a line
 * is wider, that line plus a margin, with the grid centred and its bottom
 * row of gaps the picture's last rows. */
typedef struct meg_sample_grid {
    int cols;                 /* cells per row; 0: ceil(sqrt(n)) (at most n) */
    int zoom;                 /* pixels per image pixel, 1..16; 0: the smallest
                                 making an image's longer side >= 56 (28 x 28
                                 digits at 2x), at most 8 */
    const char *title;        /* NULL or "": no line */
    const char *caption;      /* NULL or "": no line */
} meg_sample_grid;

/* Writes an RGB PNG atomically; opt NULL: all defaults. Fails (naming path
 * and the [N, C, H, W] shape) on c other than 1, 3, 4, a bad size or a
 * picture over 16384 pixels a side. */
int meg_png_sample_grid(const char *path, const float *images, int n, int c, int h, int w,
                        const meg_sample_grid *opt);

/* ---- safetensors files ---------------------------------------------------- */

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

/* ---- samples as safetensors ------------------------------------------------------
 * samples.safetensors: one F32 tensor "images" [N, C, H, W] with values in
 * [-1, 1] and string metadata (e.g. source, iteration) plus "layout" =
 * "NCHW" and "range" = "[-1, 1]" added by the writer: a plain safetensors
 * file, so safetensors.torch.load_file or a hand-written reader opens it. */
#define MEG_SAMPLES_TENSOR "images"

/* Writes atomically; values are clamped into [-1, 1], and a non-finite value
 * fails (naming the sample) rather than reach a file promising the range.
 * meta must not use the keys "layout" and "range". */
int meg_samples_write(const char *path, const float *images, int64_t n, int c, int h, int w,
                      const meg_st_kv *meta, size_t nmeta);

typedef struct meg_samples {
    meg_st_file *file;        /* owns the data; metadata via meg_st_meta(file, key) */
    const float *images;      /* [n, c, h, w] */
    int64_t n;
    int c, h, w;
} meg_samples;

/* Reads path and checks that "images" is 4-D with every size >= 1 and,
 * where c, h, w are > 0, those sizes (errors name the file and both
 * shapes), and that every value is finite. On failure *out is empty. */
int meg_samples_read(const char *path, int c, int h, int w, meg_samples *out);
void meg_samples_free(meg_samples *s);

/* ---- checkpoints of a session's leaves ------------------------------------
 * Every param and state leaf of a graph by name (weights, Adam moments, step
 * counters, generators' run counters), plus string metadata: what a model
 * needs to resume exactly. Any model's graph serves; the values go through
 * g_session_read / g_session_write (exec.h). */
int meg_checkpoint_save(const char *path, g_session *s, g_graph *g, const meg_st_kv *meta, size_t nmeta);
/* The same with extra host tensors written after the leaves (a data set's
 * scaling, say: what a model needs to score new data, and no leaf of its
 * graph); their names must differ from the leaves'. Loading ignores them. */
int meg_checkpoint_save_extra(const char *path, g_session *s, g_graph *g, const meg_st_tensor *extra, size_t nextra,
                              const meg_st_kv *meta, size_t nmeta);
/* Checks that every leaf is in f with its shape (errors name the file and
 * the leaf), then writes them into the session. */
int meg_checkpoint_load(const meg_st_file *f, g_session *s, g_graph *g);

#endif
