/* heldout.c: MNIST with one digit held out as the anomaly class (table 2.4
 * of the seed): the other nine digits split 80/20 by a fixed seed into
 * train and test, every image of the held-out digit added to test. */
#include "data.h"
#include "graph.h"   /* g_splitmix64 */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_source(const meg_dataset *s, const meg_dataset *a, const char *which)
{
    if (!s->labels) {
        rt_set_error("%s: held-out digit split: the %s set has no labels", s->name ? s->name : "?", which);
        return -1;
    }
    if (s->ndim != a->ndim || meg_dataset_dim(s) != meg_dataset_dim(a) ||
        memcmp(s->shape, a->shape, sizeof s->shape)) {
        rt_set_error("%s: held-out digit split: its images are not the shape of %s's", s->name ? s->name : "?",
                     a->name ? a->name : "?");
        return -1;
    }
    for (size_t i = 0; i < s->n; i++)
        if (s->labels[i] < 0 || s->labels[i] > 9) {
            rt_set_error("%s: held-out digit split: label %zu (counted from 0) is %d, not a digit 0-9",
                         s->name ? s->name : "?", i, (int)s->labels[i]);
            return -1;
        }
    return 0;
}

static int make_set(meg_dataset *d, const meg_dataset *a, const char *part, int digit, size_t n, int bytes)
{
    size_t dim = meg_dataset_dim(a), len = strlen(a->name ? a->name : "?") + 64;
    d->name = malloc(len);
    d->x = malloc((n ? n : 1) * dim * sizeof *d->x);
    d->labels = malloc((n ? n : 1) * sizeof *d->labels);
    d->u8 = bytes ? malloc((n ? n : 1) * dim) : NULL;
    if (!d->name || !d->x || !d->labels || (bytes && !d->u8))
        return -1;
    snprintf(d->name, len, "%s:without-%d:%s", a->name ? a->name : "?", digit, part);
    d->n = n;
    d->ndim = a->ndim;
    memcpy(d->shape, a->shape, sizeof d->shape);
    return 0;
}

int meg_dataset_heldout_digit(meg_dataset *train, meg_dataset *test, const meg_dataset *a, const meg_dataset *b,
                              int digit, uint64_t seed)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (digit < 0 || digit > 9) {
        rt_set_error("held-out digit %d is not a digit 0-9", digit);
        return -1;
    }
    if (check_source(a, a, "first") || (b && check_source(b, a, "second")))
        return -1;
    const meg_dataset *src[2] = {a, b};
    size_t total = a->n + (b ? b->n : 0), normals = 0;
    for (int s = 0; s < 2 && src[s]; s++)
        for (size_t i = 0; i < src[s]->n; i++)
            normals += src[s]->labels[i] != digit;
    if (!normals || normals == total) {
        rt_set_error("%s: held-out digit %d: %s", a->name ? a->name : "?", digit,
                     normals ? "no image of it (nothing to detect)" : "every image is of it (no normal class)");
        return -1;
    }
    size_t ntrain = normals * 4 / 5;
    /* where[k] = 1: the k-th normal image (in source order) goes to train */
    uint8_t *where = calloc(normals, 1);
    size_t *perm = malloc(normals * sizeof *perm);
    int bytes = a->u8 && (!b || b->u8);
    int rc = -1;
    if (!where || !perm)
        goto oom;
    for (size_t k = 0; k < normals; k++)
        perm[k] = k;
    uint64_t st = g_splitmix64(seed);
    for (size_t k = normals - 1; k > 0; k--) {
        size_t j = meg_uniform_index(&st, k + 1), tmp = perm[k];
        perm[k] = perm[j];
        perm[j] = tmp;
    }
    for (size_t k = 0; k < ntrain; k++)
        where[perm[k]] = 1;
    if (make_set(train, a, "train", digit, ntrain, bytes) ||
        make_set(test, a, "test", digit, total - ntrain, bytes))
        goto oom;
    size_t dim = meg_dataset_dim(a), k = 0, r0 = 0, r1 = 0;
    for (int s = 0; s < 2 && src[s]; s++)
        for (size_t i = 0; i < src[s]->n; i++) {
            int anomaly = src[s]->labels[i] == digit;
            meg_dataset *d = !anomaly && where[k] ? train : test;
            size_t r = d == train ? r0++ : r1++;
            k += !anomaly;
            memcpy(d->x + r * dim, src[s]->x + i * dim, dim * sizeof *d->x);
            if (bytes)
                memcpy(d->u8 + r * dim, src[s]->u8 + i * dim, dim);
            d->labels[r] = anomaly;
        }
    rc = 0;
    goto out;
oom:
    rt_set_error("%s: out of host memory for the held-out digit split (%zu images)", a->name ? a->name : "?",
                 total);
out:
    free(where);
    free(perm);
    if (rc) {
        meg_dataset_free(train);
        meg_dataset_free(test);
    }
    return rc;
}
