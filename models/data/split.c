/* split.c: the seeded 50/50 split of the anomaly-detection sets (KDD Cup
 * 99, CSV tables), one function so that every set splits the same way. */
#include "data.h"
#include "graph.h"   /* g_splitmix64 */
#include "util.h"

#include <stdlib.h>
#include <string.h>

size_t meg_uniform_index(uint64_t *st, size_t n)
{
    uint64_t low = (0 - (uint64_t)n) % n, r;
    do {
        r = g_splitmix64(*st);
        *st += G_GOLDEN64;
    } while (r < low);
    return (size_t)(r % n);
}

int meg_split_half(size_t n, uint64_t seed, uint8_t *in_train)
{
    if (!n) return 0;
    size_t *perm = malloc(n * sizeof *perm);
    if (!perm) {
        rt_set_error("out of host memory for the split of %zu rows", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    uint64_t st = g_splitmix64(seed);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = meg_uniform_index(&st, i + 1), tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    memset(in_train, 0, n);
    for (size_t i = 0; i < n / 2; i++)
        in_train[perm[i]] = 1;
    free(perm);
    return 0;
}
