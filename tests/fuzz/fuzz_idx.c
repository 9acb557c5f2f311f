/* fuzz_idx.c: the IDX reader and the image data set on any bytes, raw or
 * gzipped. What the reader accepts must be consistent: the data hold the
 * product of the dimensions, and the data set built from an accepted
 * three-dimensional file agrees with the reader, pixel for pixel. */
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_input_file(data, size);
    meg_idx m = {0};
    if (meg_idx_read(path, &m) == 0) {
        size_t count = 1;
        if (m.ndim < 1 || m.ndim > MEG_IDX_MAX_DIMS || !m.data) abort();
        for (int k = 0; k < m.ndim; k++)
            count *= m.dims[k];
        if (count != m.count) abort();
        meg_dataset d = {0};
        int ok = meg_dataset_idx(&d, path, NULL) == 0;
        if (ok != (m.ndim == 3 && m.count > 0)) abort();
        if (ok) {
            if (d.n != m.dims[0] || meg_dataset_dim(&d) * d.n != m.count || memcmp(d.u8, m.data, m.count)) abort();
            for (size_t i = 0; i < m.count; i++)
                if (d.x[i] != meg_pixel_value(m.data[i])) abort();
        }
        meg_dataset_free(&d);
        meg_idx_free(&m);
    }
    return 0;
}
