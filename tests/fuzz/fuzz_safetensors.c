/* fuzz_safetensors.c: the safetensors reader on any bytes, and a round
 * trip of whatever it accepts: read, write, read again, compare (names,
 * shapes, bit patterns, metadata). A crash, a sanitizer report or a
 * mismatch is a finding. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    meg_st_file *a, *b;
    if (meg_st_read(fz_input_file(data, size), &a)) return 0;   /* refused: fine, with a message */
    size_t nt = meg_st_count(a), nm = meg_st_meta_count(a);
    meg_st_tensor *ts = calloc(nt ? nt : 1, sizeof *ts);
    meg_st_kv *kv = calloc(nm ? nm : 1, sizeof *kv);
    if (!ts || !kv) abort();
    for (size_t i = 0; i < nt; i++) ts[i] = *meg_st_at(a, i);
    for (size_t i = 0; i < nm; i++) kv[i] = *meg_st_meta_at(a, i);
    const char *out = fz_scratch("roundtrip.safetensors");
    if (meg_st_write(out, ts, nt, kv, nm)) {
        /* what the reader accepts, the writer must write (names it refuses
         * to write, "__metadata__" or empty, the reader must refuse too) */
        abort();
    }
    if (meg_st_read(out, &b)) abort();
    if (meg_st_count(b) != nt || meg_st_meta_count(b) != nm) abort();
    for (size_t i = 0; i < nt; i++) {
        const meg_st_tensor *x = meg_st_at(a, i), *y = meg_st_find(b, x->name);
        if (!y || y->ndim != x->ndim) abort();
        size_t n = 1;
        for (int d = 0; d < x->ndim; d++) {
            if (y->shape[d] != x->shape[d]) abort();
            n *= (size_t)x->shape[d];
        }
        if (n && memcmp(x->data, y->data, n * 4)) abort();
    }
    for (size_t i = 0; i < nm; i++) {
        const char *v = meg_st_meta(b, kv[i].key);
        if (!v || strcmp(v, kv[i].value)) abort();
    }
    meg_st_free(b);
    meg_st_free(a);
    free(ts);
    free(kv);
    return 0;
}
