/* batches.h: data sets on the device, as graph builders. A set's values and
 * labels are graph inputs written once, and every run of a training graph
 * draws its minibatch there (indices from a generator, rows gathered), so
 * nothing crosses from the host per step. Values are 8-bit inputs
 * (g_input_u8, a quarter of the floats) where the set has its bytes.
 * StackedMNIST is never made into images (its 4-digit pool would be 16 GB
 * of floats): the device holds the digits once and the pool's index tuples,
 * and a minibatch gathers each entry's channels.
 *
 * One input is read through one texel view, so a set with more values than
 * a view holds (maxTexelBufferElements, g_limits.max_texels) is split into
 * several inputs of whole rows, and a minibatch gathers from each part and
 * keeps, row by row, the part its index falls in.
 *
 * Like models/nn, the make and batch functions only build nodes; the upload
 * functions write a set's inputs into a session (or into the CPU reference,
 * for tests). Errors: make and upload functions return 0, or -1 with the
 * message in rt_error() (util.h); batch functions follow graph.h (NULL on
 * error, the message kept in the graph). Nothing here aborts or prints.
 */
#ifndef MEG_MODELS_DATA_BATCHES_H
#define MEG_MODELS_DATA_BATCHES_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "exec.h"
#include "graph.h"

/* Parts a matrix may be split into; one minibatch gather reads them all in
 * one kernel, so they stay well within its bindings. */
#define MEG_DEVICE_MAX_PARTS 16

/* A matrix [n, cols] on the device as inputs of whole rows: part p is rows
 * start[p] .. start[p + 1] - 1, each part within one texel view. */
typedef struct meg_device_rows {
    size_t n;                 /* rows */
    int cols;
    int u8;                   /* the parts are 8-bit inputs */
    int nparts;               /* 0: the set has no such matrix */
    g_tensor *part[MEG_DEVICE_MAX_PARTS];
    size_t start[MEG_DEVICE_MAX_PARTS + 1];
} meg_device_rows;

typedef struct meg_device_set {
    char name[G_NAME_MAX];
    size_t n;                 /* examples (StackedMNIST: pool entries) */
    int ndim;                 /* of one example: 1 ([D]) or 3 ([C, H, W]; StackedMNIST [k, H, W]) */
    int shape[MEG_DATA_MAX_DIMS];
    /* values [n, dim], as bytes (values.u8: each read as byte / 255 * 2 - 1,
     * meg_pixel_value) or floats; StackedMNIST: the digits [digits, H * W] */
    meg_device_rows values;
    meg_device_rows labels;   /* [n, 1] integers as floats; nparts 0: no labels. StackedMNIST: the modes */
    int k;                    /* StackedMNIST: digits per entry; 0 for other sets */
    meg_device_rows tuples;   /* StackedMNIST: [n, k] digit indices as floats */
} meg_device_set;

/* Inputs for data set d: values "<name>.x" (8-bit when d has its bytes
 * (d->u8) and use_u8, else fp32) and, when d has labels, "<name>.y" [n, 1];
 * parts are "<name>.x.0", ... where a matrix is split (by lim: NULL for
 * g_limits_default; a device's from g_limits_of). n is at most 2^24, so
 * that every index is an exact fp32 integer. */
int meg_device_set_make(g_graph *g, const char *name, const meg_dataset *d, int use_u8, const g_limits *lim,
                        meg_device_set *out);
/* Writes d's values and labels into the set's inputs (d must be the set it
 * was made for: its count, shape and labels are checked). */
int meg_device_set_upload(g_session *s, const meg_device_set *ds, const meg_dataset *d);
int meg_device_set_upload_ref(g_ref *r, const meg_device_set *ds, const meg_dataset *d);

/* StackedMNIST: the digits of `digits` (the set pool was drawn from) once,
 * 8-bit when it has its bytes, as "<name>.digits" [digits, H * W]; the
 * pool's index tuples "<name>.tuples" [n, k] and its modes "<name>.modes"
 * [n, 1] as floats. Examples are [k, H, W], labels their modes. */
int meg_device_stacked_make(g_graph *g, const char *name, const meg_stacked *pool, const meg_dataset *digits,
                            const g_limits *lim, meg_device_set *out);
int meg_device_stacked_upload(g_session *s, const meg_device_set *ds, const meg_stacked *pool,
                              const meg_dataset *digits);
int meg_device_stacked_upload_ref(g_ref *r, const meg_device_set *ds, const meg_stacked *pool,
                                  const meg_dataset *digits);

/* The examples at idx ([B] integers as floats, clamped to 0 .. n - 1):
 * x [B, <example shape>] with values in the set's float convention (for
 * bytes v, v / 255 * 2 - 1 within fp32 rounding of meg_pixel_value(v)),
 * and, when labels is not NULL, *labels [B] (NULL for a set without). */
g_tensor *meg_device_set_gather(const meg_device_set *ds, g_tensor *idx, g_tensor **labels);
/* A minibatch of `batch` examples drawn uniformly with replacement by rng
 * (a new one on every run after g_rng_advance): meg_device_set_gather of
 * g_rand_int(rng, n, [batch]). */
g_tensor *meg_device_set_batch(const meg_device_set *ds, g_tensor *rng, int batch, g_tensor **labels);

#endif
