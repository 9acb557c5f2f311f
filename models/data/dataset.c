/* dataset.c: the one data-set type and its constructors from the toy sets
 * and CSV files; the readers themselves are toy.c and csv.c (the IDX
 * image sets are built in idx.c). */
#include "data.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t meg_dataset_dim(const meg_dataset *d)
{
    size_t n = 1;
    for (int k = 0; k < d->ndim; k++)
        n *= (size_t)d->shape[k];
    return n;
}

void meg_dataset_free(meg_dataset *d)
{
    free(d->name);
    free(d->x);
    free(d->labels);
    free(d->u8);
    memset(d, 0, sizeof *d);
}

/* A zeroed set that owns a copy of name; the caller fills the rest. */
static int start(meg_dataset *d, const char *name)
{
    memset(d, 0, sizeof *d);
    d->name = strdup(name);
    if (!d->name) {
        rt_set_error("out of host memory");
        return -1;
    }
    return 0;
}

int meg_dataset_toy(meg_dataset *d, const char *name, size_t n, uint64_t seed)
{
    if (start(d, name ? name : "(null)"))
        return -1;
    d->n = n;
    d->ndim = 1;
    d->shape[0] = 2;
    d->x = malloc((n ? n : 1) * 2 * sizeof *d->x);
    if (!d->x) {
        rt_set_error("%s: out of host memory for %zu points", d->name, n);
        meg_dataset_free(d);
        return -1;
    }
    if (meg_toy_generate(name, n, seed, d->x)) {
        meg_dataset_free(d);
        return -1;
    }
    return 0;
}

/* Moves column c of the rows x cols values into integer labels, closing
 * the gap in place. */
static int take_labels(meg_dataset *d, size_t cols, size_t c)
{
    d->labels = malloc((d->n ? d->n : 1) * sizeof *d->labels);
    if (!d->labels) {
        rt_set_error("%s: out of host memory for %zu labels", d->name, d->n);
        return -1;
    }
    float *out = d->x;
    for (size_t i = 0; i < d->n; i++) {
        const float *row = d->x + i * cols;
        float v = row[c];
        /* every int32 label up to 2^24 is exact in the float the reader made */
        if (v != floorf(v) || fabsf(v) > 16777216.0f) {
            rt_set_error("%s: data row %zu: label column %zu holds %g, not an integer (|label| <= 2^24)", d->name,
                         i + 1, c + 1, (double)v);
            return -1;
        }
        d->labels[i] = (int32_t)v;
        /* memmove: the row being read and the row being written overlap */
        memmove(out, row, c * sizeof *out);
        memmove(out + c, row + c + 1, (cols - c - 1) * sizeof *out);
        out += cols - 1;
    }
    return 0;
}

int meg_dataset_csv(meg_dataset *d, const char *path, size_t cols, int label_col)
{
    if (start(d, path))
        return -1;
    if (meg_csv_read(path, &cols, &d->x, &d->n)) {
        meg_dataset_free(d);
        return -1;
    }
    size_t dim = cols;
    if (label_col >= 0) {
        if ((size_t)label_col >= cols || cols < 2) {
            rt_set_error("%s: label column %d, but the file has %zu columns (values need one more)", path,
                         label_col + 1, cols);
            meg_dataset_free(d);
            return -1;
        }
        if (take_labels(d, cols, (size_t)label_col)) {
            meg_dataset_free(d);
            return -1;
        }
        dim = cols - 1;
    }
    if (dim > (size_t)1 << 30) {
        rt_set_error("%s: %zu columns", path, dim);
        meg_dataset_free(d);
        return -1;
    }
    d->ndim = 1;
    d->shape[0] = (int)dim;
    return 0;
}
