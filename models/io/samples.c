/* samples.c: generated image samples as a plain safetensors file (one F32
 * tensor "images" [N, C, H, W] in [-1, 1]), so other tools (a PyTorch
 * classifier, an FID script) can read what a model drew. */
#include "io.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int meg_samples_write(const char *path, const float *images, int64_t n, int c, int h, int w,
                      const meg_st_kv *meta, size_t nmeta)
{
    if (!images || n <= 0 || c <= 0 || h <= 0 || w <= 0) {
        rt_set_error("%s: cannot write samples of shape [%lld, %d, %d, %d]", path, (long long)n, c, h, w);
        return -1;
    }
    for (size_t i = 0; i < nmeta; i++)
        if (meta[i].key && (!strcmp(meta[i].key, "layout") || !strcmp(meta[i].key, "range"))) {
            rt_set_error("%s: metadata key '%s' is the samples writer's own", path, meta[i].key);
            return -1;
        }
    /* each step checked: c * h * w of ints can pass 2^64 before n multiplies it */
    size_t per = (size_t)c * (size_t)h, count = 0;
    int fits = per / (size_t)h == (size_t)c && per <= SIZE_MAX / (size_t)w;
    if (fits) {
        per *= (size_t)w;
        count = (size_t)n * per;
        fits = count / per == (size_t)n && count <= SIZE_MAX / sizeof(float);
    }
    if (!fits) {
        rt_set_error("%s: %lld samples of %zu values are too many", path, (long long)n, per);
        return -1;
    }
    meg_st_kv *kv = malloc((nmeta + 2) * sizeof *kv);
    float *clamped = malloc(count * sizeof *clamped);
    if (!kv || !clamped) {
        free(kv);
        free(clamped);
        rt_set_error("%s: out of memory for %lld samples", path, (long long)n);
        return -1;
    }
    int rc = -1;
    for (size_t i = 0; i < count; i++) {
        float v = images[i];
        if (!isfinite(v)) {
            rt_set_error("%s: sample %zu has a non-finite value (%g at channel %zu, row %zu, column %zu)",
                         path, i / per, (double)v, i % per / ((size_t)h * w), i % ((size_t)h * w) / (size_t)w,
                         i % (size_t)w);
            goto out;
        }
        clamped[i] = v < -1 ? -1.0f : v > 1 ? 1.0f : v;
    }
    if (nmeta)
        memcpy(kv, meta, nmeta * sizeof *kv);
    kv[nmeta] = (meg_st_kv){"layout", "NCHW"};
    kv[nmeta + 1] = (meg_st_kv){"range", "[-1, 1]"};
    meg_st_tensor t = {.name = MEG_SAMPLES_TENSOR, .ndim = 4, .shape = {n, c, h, w}, .data = clamped};
    rc = meg_st_write(path, &t, 1, kv, nmeta + 2);
out:
    free(kv);
    free(clamped);
    return rc;
}

/* "[1, 3, 28, 28]" with "any" for a size not asked for. */
static void want_shape(char *buf, size_t cap, int c, int h, int w)
{
    char part[3][24];
    const int v[3] = {c, h, w};
    for (int i = 0; i < 3; i++) {
        if (v[i] > 0)
            snprintf(part[i], sizeof part[i], "%d", v[i]);
        else
            snprintf(part[i], sizeof part[i], "any");
    }
    snprintf(buf, cap, "[N, %s, %s, %s]", part[0], part[1], part[2]);
}

int meg_samples_read(const char *path, int c, int h, int w, meg_samples *out)
{
    memset(out, 0, sizeof *out);
    meg_st_file *f;
    if (meg_st_read(path, &f))
        return -1;
    const meg_st_tensor *t = meg_st_find(f, MEG_SAMPLES_TENSOR);
    char want[96];
    want_shape(want, sizeof want, c, h, w);
    if (!t) {
        rt_set_error("%s: no tensor '" MEG_SAMPLES_TENSOR "' (samples %s)", path, want);
        goto fail;
    }
    int ok = t->ndim == 4;
    for (int d = 0; ok && d < 4; d++)
        ok = t->shape[d] >= 1 && (d == 0 || t->shape[d] <= INT32_MAX);
    ok = ok && (c <= 0 || t->shape[1] == c) && (h <= 0 || t->shape[2] == h) && (w <= 0 || t->shape[3] == w);
    if (!ok) {
        char have[160] = "[";
        size_t len = 1;
        for (int d = 0; d < t->ndim && len < sizeof have; d++)
            len += (size_t)snprintf(have + len, sizeof have - len, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
        if (len < sizeof have)
            snprintf(have + len, sizeof have - len, "]");
        rt_set_error("%s: tensor '" MEG_SAMPLES_TENSOR "' has shape %s, expected %s with sizes >= 1", path,
                     have, want);
        goto fail;
    }
    size_t count = (size_t)t->shape[0] * (size_t)t->shape[1] * (size_t)t->shape[2] * (size_t)t->shape[3];
    for (size_t i = 0; i < count; i++)
        if (!isfinite(t->data[i])) {
            rt_set_error("%s: sample %zu of '" MEG_SAMPLES_TENSOR "' has a non-finite value", path,
                         i / (count / (size_t)t->shape[0]));
            goto fail;
        }
    out->file = f;
    out->images = t->data;
    out->n = t->shape[0];
    out->c = (int)t->shape[1];
    out->h = (int)t->shape[2];
    out->w = (int)t->shape[3];
    return 0;
fail:
    meg_st_free(f);
    return -1;
}

void meg_samples_free(meg_samples *s)
{
    meg_st_free(s->file);
    memset(s, 0, sizeof *s);
}
