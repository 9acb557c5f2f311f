/* modes.c: StackedMNIST mode counting: per-channel digits to mode ids, and
 * the samples' mode histogram against uniform and against a reference
 * (modes covered, two KL divergences). Definitions and the convention for
 * empty modes: metrics.h. */
#include "metrics.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int meg_stacked_mode_ids(const int *digits, size_t n, int k, int *ids)
{
    if (k < 1 || k > MEG_MODES_MAX_DIGITS) {
        rt_set_error("mode ids: %d digits per sample, expected 1..%d", k, MEG_MODES_MAX_DIGITS);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int id = 0;
        for (int j = 0; j < k; j++) {
            int v = digits[i * (size_t)k + (size_t)j];
            if (v < 0 || v > 9) {
                rt_set_error("mode ids: sample %zu, channel %d has digit %d, expected 0..9", i, j, v);
                return -1;
            }
            id = 10 * id + v;
        }
        ids[i] = id;
    }
    return 0;
}

static size_t max_modes(void)
{
    size_t m = 1;
    for (int i = 0; i < MEG_MODES_MAX_DIGITS; i++)
        m *= 10;
    return m;
}

int meg_mode_coverage(const int *ids, size_t n, size_t modes, const size_t *ref_counts,
                      meg_mode_stats *out, size_t *hist)
{
    memset(out, 0, sizeof *out);
    out->kl_uniform = out->kl_ref = NAN;
    if (modes < 1 || modes > max_modes()) {
        rt_set_error("mode coverage: %zu modes, expected 1..%zu", modes, max_modes());
        return -1;
    }
    if (n == 0) {
        rt_set_error("mode coverage: no samples");
        return -1;
    }
    double ref_total = 0;
    if (ref_counts) {
        for (size_t m = 0; m < modes; m++)
            ref_total += (double)ref_counts[m];
        if (!(ref_total > 0)) {
            rt_set_error("mode coverage: the reference histogram of %zu modes is empty", modes);
            return -1;
        }
    }
    size_t *count = hist ? hist : malloc(modes * sizeof *count);
    if (!count) {
        rt_set_error("mode coverage: out of memory for %zu modes", modes);
        return -1;
    }
    memset(count, 0, modes * sizeof *count);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= modes) {
            rt_set_error("mode coverage: sample %zu has mode %d, expected 0..%zu", i, ids[i], modes - 1);
            if (!hist)
                free(count);
            return -1;
        }
        count[ids[i]]++;
    }
    double kl_u = 0, kl_r = 0;
    for (size_t m = 0; m < modes; m++) {
        if (!count[m])
            continue;                         /* p log p -> 0 as p -> 0 */
        double p = (double)count[m] / (double)n;
        out->modes_covered++;
        kl_u += p * log(p * (double)modes);
        if (!ref_counts)
            continue;
        if (!ref_counts[m]) {
            out->ref_unsupported_modes++;
            out->ref_unsupported_samples += count[m];
        } else {
            kl_r += p * log(p / ((double)ref_counts[m] / ref_total));
        }
    }
    out->modes = modes;
    out->samples = n;
    /* a histogram spread exactly evenly sums to a rounding error below 0 */
    out->kl_uniform = kl_u > 0 ? kl_u : 0;
    if (ref_counts)
        out->kl_ref = out->ref_unsupported_modes ? INFINITY : kl_r;
    if (!hist)
        free(count);
    return 0;
}

static void num(char *buf, size_t cap, double v)
{
    if (isfinite(v))
        snprintf(buf, cap, "%.6g", v);
    else
        snprintf(buf, cap, "null");
}

int meg_mode_stats_json(const meg_mode_stats *s, char *buf, size_t cap)
{
    char u[32], r[32];
    num(u, sizeof u, s->kl_uniform);
    num(r, sizeof r, s->kl_ref);
    int len = snprintf(buf, cap,
                       "\"modes\": %zu, \"modes_covered\": %zu, \"kl_uniform\": %s, \"kl_ref\": %s, "
                       "\"ref_unsupported_modes\": %zu, \"ref_unsupported_samples\": %zu",
                       s->modes, s->modes_covered, u, r, s->ref_unsupported_modes,
                       s->ref_unsupported_samples);
    if (len < 0 || (size_t)len >= cap) {
        rt_set_error("mode stats: the JSON needs %d bytes, the buffer has %zu", len, cap);
        return -1;
    }
    return 0;
}
