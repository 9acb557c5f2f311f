/* fuzz_table.c: CSV tables of named features (meg_csv_table_read) and the
 * anomaly-detection sets over them (meg_dataset_tabular) on any bytes.
 * What is accepted must be consistent: finite values, a line per row in
 * increasing order, and sets whose rows add up to the table's with the
 * label column (the first column, when it is named "y") taken out. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_input_file(data, size);
    meg_csv_table t;
    if (meg_csv_table_read(path, &t)) {
        if (t.v || t.names || t.rows) abort();   /* nothing kept on failure */
        return 0;
    }
    if (t.cols < 1 || t.rows < 1) abort();
    for (size_t i = 0; i < t.rows * (size_t)t.cols; i++)
        if (!isfinite(t.v[i])) abort();
    for (size_t i = 1; i < t.rows; i++)
        if (t.lines[i] <= t.lines[i - 1]) abort();
    int labelled = !strcmp(t.names[0], "y");
    meg_tabular_options o;
    meg_tabular_options_default(&o);
    o.label = labelled ? "y" : NULL;
    meg_dataset tr, te;
    meg_tabular_info in;
    if (meg_dataset_tabular(&tr, &te, path, &o, &in) == 0) {
        size_t D = (size_t)in.features;
        if (D != (size_t)t.cols - (size_t)labelled || meg_dataset_dim(&tr) != D) abort();
        if (tr.n + in.train_dropped + te.n != t.rows || in.rows != t.rows) abort();
        if (!labelled && (te.n || tr.n != t.rows)) abort();
        for (size_t i = 0; i < tr.n * D; i++)
            if (!isfinite(tr.x[i]) || tr.x[i] < -1e-6f || tr.x[i] > 2.000001f)
                abort();   /* fitted on train: [0, 1], [0, 2] where a range past FLT_MAX is capped */
        for (size_t i = 0; i < te.n * D; i++)
            if (!isfinite(te.x[i])) abort();
        meg_dataset_free(&tr);
        meg_dataset_free(&te);
        meg_tabular_info_free(&in);
    } else if (tr.x || te.x) {
        abort();
    }
    meg_csv_table_free(&t);
    return 0;
}
