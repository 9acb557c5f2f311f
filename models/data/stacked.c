/* stacked.c: StackedMNIST, the mode-counting benchmark of GAN papers: a
 * fixed pool of 128 x 10^k samples, each k training digits drawn at random
 * and stacked as channels, whose mode is the k-digit number their labels
 * spell. The pool is kept as indices into the digit set, never as images
 * (the 4-digit pool would be 16 GB of floats); its pictures are made for
 * the entries asked for. */
#include "data.h"
#include "graph.h"   /* g_splitmix64 */
#include "util.h"

#include <stdlib.h>
#include <string.h>

static size_t pow10z(int k)
{
    size_t p = 1;
    for (int i = 0; i < k; i++)
        p *= 10;
    return p;
}

size_t meg_stacked_modes(int k) { return k >= 1 && k <= MEG_STACKED_MAX_K ? pow10z(k) : 0; }

/* Uniform in [0, n) from the splitmix64 stream of *st (graph.h): r % n
 * after rejecting the 2^64 mod n lowest values, so that no index is
 * favoured; integer arithmetic only, the same pool on every machine. */
static uint32_t draw(uint64_t *st, uint32_t n)
{
    uint64_t low = (0 - (uint64_t)n) % n, r;
    do {
        r = g_splitmix64(*st);
        *st += G_GOLDEN64;
    } while (r < low);
    return (uint32_t)(r % n);
}

void meg_stacked_free(meg_stacked *s)
{
    free(s->index);
    free(s->modes);
    memset(s, 0, sizeof *s);
}

/* The digit set must be one-channel images with labels 0-9. */
static int check_digits(const meg_dataset *digits)
{
    const char *name = digits && digits->name ? digits->name : "(unnamed)";
    if (!digits || digits->ndim != 3 || digits->shape[0] != 1 || !digits->x) {
        rt_set_error("%s: StackedMNIST needs one-channel images [1, H, W]", name);
        return -1;
    }
    if (!digits->labels) {
        rt_set_error("%s: StackedMNIST needs the digits' labels", name);
        return -1;
    }
    if (!digits->n || digits->n > INT32_MAX) {
        rt_set_error("%s: StackedMNIST needs 1 to 2^31 - 1 digits, the set has %zu", name, digits->n);
        return -1;
    }
    return 0;
}

int meg_stacked_new(meg_stacked *s, const meg_dataset *digits, int k, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    if (k < 1 || k > MEG_STACKED_MAX_K) {
        rt_set_error("StackedMNIST with %d digits: 1 to %d", k, MEG_STACKED_MAX_K);
        return -1;
    }
    if (check_digits(digits))
        return -1;
    size_t n = MEG_STACKED_POOL_PER_MODE * pow10z(k);
    s->index = malloc(n * (size_t)k * sizeof *s->index);
    s->modes = malloc(n * sizeof *s->modes);
    if (!s->index || !s->modes) {
        rt_set_error("out of host memory for a StackedMNIST pool of %zu", n);
        meg_stacked_free(s);
        return -1;
    }
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) {
        int32_t mode = 0;
        for (int j = 0; j < k; j++) {
            uint32_t t = draw(&st, (uint32_t)digits->n);
            int32_t label = digits->labels[t];
            if (label < 0 || label > 9) {
                rt_set_error("%s: digit %u has label %d, not 0-9", digits->name ? digits->name : "(unnamed)", t,
                             (int)label);
                meg_stacked_free(s);
                return -1;
            }
            s->index[i * (size_t)k + (size_t)j] = (int32_t)t;
            mode = mode * 10 + label;   /* channel 0 the most significant digit */
        }
        s->modes[i] = mode;
    }
    s->n = n;
    s->k = k;
    s->digits_n = digits->n;
    s->height = digits->shape[1];
    s->width = digits->shape[2];
    return 0;
}

int meg_stacked_histogram(const meg_stacked *s, size_t *counts)
{
    size_t m = meg_stacked_modes(s->k);
    if (!m || !s->modes) {
        rt_set_error("StackedMNIST histogram of an empty pool");
        return -1;
    }
    memset(counts, 0, m * sizeof *counts);
    for (size_t i = 0; i < s->n; i++)
        counts[s->modes[i]]++;
    return 0;
}

int meg_stacked_images(const meg_stacked *s, const meg_dataset *digits, const size_t *entries, size_t count,
                       float *out)
{
    if (check_digits(digits))
        return -1;
    if (digits->n != s->digits_n || digits->shape[1] != s->height || digits->shape[2] != s->width) {
        rt_set_error("%s: %zu digits of %d x %d, but the StackedMNIST pool was drawn from %zu of %d x %d",
                     digits->name ? digits->name : "(unnamed)", digits->n, digits->shape[1], digits->shape[2],
                     s->digits_n, s->height, s->width);
        return -1;
    }
    for (size_t e = 0; e < count; e++)
        if (entries[e] >= s->n) {
            rt_set_error("StackedMNIST entry %zu: the pool has %zu", entries[e], s->n);
            return -1;
        }
    size_t px = (size_t)s->height * (size_t)s->width;
    for (size_t e = 0; e < count; e++)
        for (int j = 0; j < s->k; j++) {
            size_t t = (size_t)s->index[entries[e] * (size_t)s->k + (size_t)j];
            memcpy(out + (e * (size_t)s->k + (size_t)j) * px, digits->x + t * px, px * sizeof *out);
        }
    return 0;
}
