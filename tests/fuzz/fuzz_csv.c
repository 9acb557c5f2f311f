/* fuzz_csv.c: the CSV reader and the CSV data set on any bytes. What the
 * reader accepts must be consistent: rows x cols finite values, and the
 * data set with a label column must agree with it. */
#include <math.h>
#include <stdlib.h>

#include "data.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_input_file(data, size);
    size_t cols = 0, rows = 0;
    float *v = NULL;
    if (meg_csv_read(path, &cols, &v, &rows) == 0) {
        if (cols == 0 || rows == 0) abort();
        for (size_t i = 0; i < rows * cols; i++)
            if (!isfinite(v[i])) abort();
        meg_dataset d = {0};
        if (meg_dataset_csv(&d, path, 0, -1) || d.n != rows || meg_dataset_dim(&d) != cols) abort();
        meg_dataset_free(&d);
        free(v);
    }
    return 0;
}
