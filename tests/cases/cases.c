/* cases.c: deterministic test data, medians, an MLP (see cases.h). */
#include "cases.h"

#include <stdio.h>

uint64_t tc_next(uint64_t *state)
{
    uint64_t s = *state;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return *state = s;
}

void tc_random(float *x, size_t n, uint64_t seed)
{
    /* xorshift64 from a seed spread by the golden ratio */
    uint64_t s = seed * G_GOLDEN64 + 0x632BE59BD9B4E019ull;
    for (size_t i = 0; i < n; i++) x[i] = (float)((double)(tc_next(&s) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

double tc_median(double *v, int n)
{
    if (n <= 0) return 0;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

g_tensor *tc_mlp(g_graph *g, g_tensor *x, int width, int layers, int out, g_tensor **params, int *np)
{
    g_tensor *h = x;
    int in = x ? x->shape[1] : 0;
    for (int l = 0; l < layers && h; l++) {
        int o = l == layers - 1 ? out : width;
        char wn[32], bn[32];
        snprintf(wn, sizeof wn, "w%d", l);
        snprintf(bn, sizeof bn, "b%d", l);
        g_tensor *w = g_param(g, wn, 2, G_SHAPE(in, o), g_init_torch(in));
        g_tensor *b = g_param(g, bn, 1, G_SHAPE(o), g_init_torch(in));
        params[(*np)++] = w;
        params[(*np)++] = b;
        h = g_add(g_matmul(h, w, 0, 0), b);
        if (h && l < layers - 1) h = g_leaky_relu(h, 0.2f);
        in = o;
    }
    return h;
}
