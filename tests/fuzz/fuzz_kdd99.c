/* fuzz_kdd99.c: the KDD Cup 99 reader on any bytes, raw or gzipped. What
 * it accepts must be consistent: the split's counts add up, every value is
 * finite, labels are 0 or 1, train holds no anomaly and lies in [0, 1]
 * (the scaling is fitted on it), and the raw values of a second read
 * without scaling map onto the scaled ones through the fitted min and max. */
#include <math.h>
#include <stdlib.h>

#include "data.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_set(const meg_dataset *d, int features, int train)
{
    if (d->ndim != 1 || d->shape[0] != features || !d->x || !d->labels) abort();
    for (size_t i = 0; i < d->n * (size_t)features; i++)
        if (!isfinite(d->x[i]) || (train && (d->x[i] < 0 || d->x[i] > 1))) abort();
    for (size_t r = 0; r < d->n; r++)
        if (d->labels[r] != 0 && (train || d->labels[r] != 1)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_input_file(data, size);
    meg_dataset tr, te, rtr, rte;
    meg_kdd99_info in, rin;
    if (meg_dataset_kdd99(&tr, &te, path, NULL, &in) != 0) {
        if (tr.x || te.x || tr.n || te.n) abort();   /* nothing half-loaded */
        return 0;
    }
    if (in.features < MEG_KDD99_FEATURES_RAW) abort();   /* 34 numbers and a category per encoded column */
    if (in.train_half != in.rows / 2 || te.n != in.rows - in.rows / 2 || !tr.n ||
        tr.n + in.train_dropped != in.train_half || in.train_dropped + in.test_anomalies != in.anomalies)
        abort();
    check_set(&tr, in.features, 1);
    check_set(&te, in.features, 0);
    meg_kdd99_options o;
    meg_kdd99_options_default(&o);
    o.no_scaling = 1;
    if (meg_dataset_kdd99(&rtr, &rte, path, &o, &rin) != 0 || rin.features != in.features || rtr.n != tr.n) abort();
    size_t D = (size_t)in.features;
    for (size_t i = 0; i < tr.n * D; i++) {
        size_t j = i % D;
        double range = in.max[j] > in.min[j] ? in.max[j] - in.min[j] : 1.0;
        if (tr.x[i] != (float)((rtr.x[i] - in.min[j]) / range)) abort();
    }
    meg_dataset_free(&rtr);
    meg_dataset_free(&rte);
    meg_kdd99_info_free(&rin);
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
    meg_kdd99_info_free(&in);
    return 0;
}
