/* init.c: initial values of param and state leaves, deterministic in
 * (seed, leaf name) so the device session and the CPU reference agree. */
#include "graph_internal.h"

#include <math.h>
#include <string.h>

#define INIT_TAG 0x494e4954u   /* "INIT": keeps init draws apart from rng ops */

/* uniform in (0, 1) from the top 24 bits of a word, as the rng ops do */
static double unit_open(uint32_t w) { return ((double)(w >> 8) + 0.5) * (1.0 / 16777216.0); }

int g_init_values(const g_tensor *leaf, uint64_t seed, float *out)
{
    if (!leaf || !out || (leaf->op != G_OP_PARAM && leaf->op != G_OP_STATE)) return -1;
    size_t n = g_numel(leaf);
    g_init in = leaf->init;
    double a = in.a;
    if (in.kind == G_INIT_TORCH) {
        if (in.fan_in < 1) return -1;
        a = 1.0 / sqrt((double)in.fan_in);
    }
    const char *name = in.like ? in.like->name : leaf->name;
    uint64_t key = g_splitmix64(seed ^ g_splitmix64(g_fnv1a64(G_FNV_OFFSET64, name, strlen(name))));
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (size_t j = 0; j < n; j++) {
        uint32_t ctr[4] = {(uint32_t)j, (uint32_t)((uint64_t)j >> 32), 0, INIT_TAG}, w[4];
        switch (in.kind) {
        case G_INIT_ZEROS: out[j] = 0.0f; break;
        case G_INIT_CONST: out[j] = in.a; break;
        case G_INIT_NORMAL:
            g_philox(k0, k1, ctr, w);
            out[j] = (float)(in.mean + a * sqrt(-2.0 * log(unit_open(w[0]))) *
                             cos(2.0 * M_PI * (double)(w[1] >> 8) * (1.0 / 16777216.0)));
            break;
        case G_INIT_UNIFORM:
        case G_INIT_TORCH:
            g_philox(k0, k1, ctr, w);
            out[j] = (float)(a * (2.0 * unit_open(w[0]) - 1.0));
            break;
        default: return -1;
        }
    }
    return 0;
}
