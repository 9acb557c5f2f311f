/* tabular.c: a CSV table (table.c) as the train and test sets of the
 * anomaly-detection protocol KDD Cup 99 uses: the label column taken out,
 * the seeded 50/50 split, training on normal rows only, min-max scaling
 * fitted on the rows trained on, or a saved scaling applied so that a
 * trained model scores any file with the same features as it was trained. */
#include "data.h"
#include "util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void meg_tabular_options_default(meg_tabular_options *o)
{
    memset(o, 0, sizeof *o);
    o->seed = MEG_CSV_SEED;
}

void meg_tabular_info_free(meg_tabular_info *info)
{
    free(info->min);
    free(info->range);
    memset(info, 0, sizeof *info);
}

static int make_set(meg_dataset *d, const char *path, const char *part, size_t n, int features, int labels)
{
    memset(d, 0, sizeof *d);
    size_t len = strlen(path) + strlen(part) + 2;
    d->name = malloc(len);
    d->x = malloc((n ? n : 1) * (size_t)features * sizeof *d->x);
    if (labels) d->labels = malloc((n ? n : 1) * sizeof *d->labels);
    if (!d->name || !d->x || (labels && !d->labels)) return -1;
    snprintf(d->name, len, "%s:%s", path, part);
    d->n = n;
    d->ndim = 1;
    d->shape[0] = features;
    return 0;
}

/* The labels of column lab as 0/1 into out; -1 naming the line of another value. */
static int read_labels(const meg_csv_table *t, const char *path, int lab, uint8_t *out)
{
    for (size_t i = 0; i < t->rows; i++) {
        double v = t->v[i * (size_t)t->cols + (size_t)lab];
        if (v != 0.0 && v != 1.0) {
            char shown[176];
            rt_set_error("%s:%zu: column %d (%s): label %.9g is neither 0 (normal) nor 1 (anomaly)", path,
                         t->lines[i], lab + 1, rt_escape(t->names[lab], 40, shown, sizeof shown), v);
            return -1;
        }
        out[i] = v != 0.0;
    }
    return 0;
}

/* min and range of each feature over the rows of train (raw values), as the
 * floats that are applied: a constant column gets range 1, so it maps to 0;
 * a range below float's smallest normal is one too (float features cannot
 * tell such values apart anyway), one above FLT_MAX is capped. */
static void fit(const meg_dataset *train, float *min, float *range)
{
    size_t D = meg_dataset_dim(train);
    for (size_t j = 0; j < D; j++) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t r = 0; r < train->n; r++) {
            double x = train->x[r * D + j];
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        double rg = hi - lo;
        min[j] = (float)lo;
        range[j] = rg > FLT_MAX ? FLT_MAX : rg >= FLT_MIN ? (float)rg : 1.0f;
    }
}

static void apply(meg_dataset *d, const float *min, const float *range)
{
    size_t D = meg_dataset_dim(d);
    for (size_t r = 0; r < d->n; r++)
        for (size_t j = 0; j < D; j++) {
            float *x = &d->x[r * D + j];
            double v = ((double)*x - min[j]) / range[j];
            /* a value far outside a small training range saturates, not inf */
            *x = (float)(v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v);
        }
}

/* A scaling from outside (a checkpoint) must fit and be usable. */
static int check_scaling(const char *name, size_t features, const float *min, const float *range, int n)
{
    if ((size_t)n != features) {
        rt_set_error("%s: %zu feature columns, the scaling to apply (the model's) is for %d", name, features, n);
        return -1;
    }
    for (int j = 0; j < n; j++)
        if (!isfinite(min[j]) || !isfinite(range[j]) || !(range[j] > 0)) {
            rt_set_error("%s: the scaling to apply has feature %d's min %g and range %g (finite, range > 0)", name,
                         j + 1, (double)min[j], (double)range[j]);
            return -1;
        }
    return 0;
}

int meg_tabular_scale(meg_dataset *d, const float *min, const float *range, int features)
{
    if (check_scaling(d->name ? d->name : "the set", meg_dataset_dim(d), min, range, features)) return -1;
    apply(d, min, range);
    return 0;
}

int meg_dataset_tabular(meg_dataset *train, meg_dataset *test, const char *path, const meg_tabular_options *opt,
                        meg_tabular_info *info)
{
    meg_tabular_options o;
    meg_tabular_info in = {0};
    meg_csv_table t;
    uint8_t *label = NULL, *in_train = NULL;
    int rc = -1, lab = -1;
    if (opt)
        o = *opt;
    else
        meg_tabular_options_default(&o);
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (meg_csv_table_read(path, &t)) return -1;
    int labelled = o.label && *o.label;
    if (labelled && (lab = meg_csv_table_column(&t, path, o.label)) < 0) goto out;
    in.rows = t.rows;
    in.features = t.cols - labelled;
    if (in.features < 1) {
        rt_set_error("%s: the label column is the only column: no features", path);
        goto out;
    }
    if (o.scale_n > 0 && check_scaling(path, (size_t)in.features, o.scale_min, o.scale_range, o.scale_n)) goto out;
    label = calloc(t.rows, 1);
    in_train = malloc(t.rows);
    if (!label || !in_train) goto oom;
    if (labelled) {
        if (read_labels(&t, path, lab, label)) goto out;
        if (t.rows < 2) {
            rt_set_error("%s: 1 data row: the 50/50 split needs at least 2", path);
            goto out;
        }
        if (meg_split_half(t.rows, o.seed, in_train)) goto out;
    } else {
        memset(in_train, 1, t.rows);   /* no labels: every row is trained on (or scored) */
    }
    size_t ntrain = 0, ntest = 0;
    for (size_t i = 0; i < t.rows; i++) {
        in.anomalies += label[i];
        ntrain += in_train[i] && !label[i];
        ntest += !in_train[i];
        in.train_dropped += in_train[i] && label[i];
        in.test_anomalies += !in_train[i] && label[i];
    }
    in.train_half = labelled ? t.rows / 2 : t.rows;
    in.test_half = ntest;
    if (!ntrain) {
        rt_set_error("%s: the training half (%zu rows) holds no normal rows (label 0) to train on", path,
                     in.train_half);
        goto out;
    }
    size_t D = (size_t)in.features;
    in.min = malloc(D * sizeof *in.min);
    in.range = malloc(D * sizeof *in.range);
    if (!in.min || !in.range || make_set(train, path, "train", ntrain, in.features, 0) ||
        make_set(test, path, "test", ntest, in.features, labelled))
        goto oom;
    size_t a = 0, b = 0;
    for (size_t i = 0; i < t.rows; i++) {
        if (in_train[i] && label[i]) continue;
        meg_dataset *d = in_train[i] ? train : test;
        size_t r = in_train[i] ? a++ : b++;
        const double *row = t.v + i * (size_t)t.cols;
        for (int j = 0, k = 0; j < t.cols; j++)
            if (j != lab) d->x[r * D + (size_t)k++] = (float)row[j];
        if (d->labels) d->labels[r] = label[i];
    }
    if (o.scale_n > 0) {
        memcpy(in.min, o.scale_min, D * sizeof *in.min);
        memcpy(in.range, o.scale_range, D * sizeof *in.range);
    } else {
        fit(train, in.min, in.range);
    }
    if (!o.no_scaling) {
        apply(train, in.min, in.range);
        apply(test, in.min, in.range);
    }
    rc = 0;
    goto out;
oom:
    rt_set_error("%s: out of host memory for %zu rows", path, t.rows);
out:
    meg_csv_table_free(&t);
    free(label);
    free(in_train);
    if (rc) {
        meg_dataset_free(train);
        meg_dataset_free(test);
        meg_tabular_info_free(&in);
    } else if (info) {
        *info = in;
    } else {
        meg_tabular_info_free(&in);
    }
    return rc;
}
