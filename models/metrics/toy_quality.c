/* toy_quality.c: how well samples and densities cover a 2-D Gaussian mixture
 * (modes captured, high-quality share, KL to uniform, mass near modes). The
 * definitions are in metrics.h. */
#include "metrics.h"
#include "util.h"

#include <math.h>
#include <string.h>

#define NEAR_STDS 3.0          /* "near a mode" = within 3 std */
#define CAPTURE_SHARE 0.01     /* a mode is captured by >= 1% of all samples */

void meg_toy_quality_init(meg_toy_quality *q)
{
    memset(q, 0, sizeof *q);
    q->modes = -1;
    q->modes_captured = -1;
    q->hq_share = NAN;
    q->kl_uniform = NAN;
    q->grid_mass_near = NAN;
}

static int check_modes(const char *what, int count, float std)
{
    if (count <= 0 || count > MEG_TOY_MAX_MODES || !(std > 0) || !isfinite(std)) {
        rt_set_error("%s: need 1..%d modes and a positive std (got %d modes, std %g)", what,
                     MEG_TOY_MAX_MODES, count, (double)std);
        return -1;
    }
    return 0;
}

/* Index of the nearest centre within radius r of (x, y), or -1. */
static int near_mode(const float *centers, int count, double r, double x, double y)
{
    int best = -1;
    double best_d2 = r * r;
    for (int k = 0; k < count; k++) {
        double dx = x - centers[2 * k], dy = y - centers[2 * k + 1];
        double d2 = dx * dx + dy * dy;
        if (d2 <= best_d2) {
            best_d2 = d2;
            best = k;
        }
    }
    return best;
}

int meg_toy_quality_samples(const float *centers, int count, float std, const float *xy, size_t n,
                            meg_toy_quality *q)
{
    if (check_modes("sample quality", count, std))
        return -1;
    if (n == 0) {
        rt_set_error("sample quality: no samples");
        return -1;
    }
    double r = NEAR_STDS * std;
    size_t hq = 0;
    memset(q->mode_count, 0, sizeof q->mode_count);
    for (size_t i = 0; i < n; i++) {
        int k = near_mode(centers, count, r, xy[2 * i], xy[2 * i + 1]);    /* NaN: never near */
        if (k >= 0) {
            q->mode_count[k]++;
            hq++;
        }
    }
    q->modes = count;
    q->samples = n;
    q->hq_share = (double)hq / n;
    q->modes_captured = 0;
    for (int k = 0; k < count; k++)
        q->modes_captured += q->mode_count[k] >= CAPTURE_SHARE * n;
    if (!hq) {
        q->kl_uniform = NAN;    /* no histogram to compare */
        return 0;
    }
    double kl = 0;
    for (int k = 0; k < count; k++)
        if (q->mode_count[k]) {
            double p = (double)q->mode_count[k] / hq;
            kl += p * log(p * count);
        }
    q->kl_uniform = kl > 0 ? kl : 0;     /* rounding can give -1e-17 for uniform */
    return 0;
}

int meg_toy_quality_grid(const float *centers, int count, float std, meg_box box, int nx, int ny,
                         const float *density, meg_toy_quality *q)
{
    if (check_modes("grid quality", count, std))
        return -1;
    if (nx <= 0 || ny <= 0 || !(box.xmax > box.xmin) || !(box.ymax > box.ymin)) {
        rt_set_error("grid quality: bad grid %d x %d over [%g, %g] x [%g, %g]", nx, ny, box.xmin,
                     box.xmax, box.ymin, box.ymax);
        return -1;
    }
    double r = NEAR_STDS * std;
    double dx = (box.xmax - box.xmin) / nx, dy = (box.ymax - box.ymin) / ny;
    if (dx > r || dy > r) {
        rt_set_error("grid quality: cells of %g x %g are wider than 3 std (%g); use at least %d x %d",
                     dx, dy, r, (int)ceil((box.xmax - box.xmin) / r),
                     (int)ceil((box.ymax - box.ymin) / r));
        return -1;
    }
    double total = 0, near = 0;
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            double p = density[(size_t)j * nx + i];
            if (!(p >= 0) || !isfinite(p)) {
                rt_set_error("grid quality: density at cell (%d, %d) is %g", i, j, p);
                return -1;
            }
            total += p;
            if (near_mode(centers, count, r, box.xmin + (i + 0.5) * dx, box.ymin + (j + 0.5) * dy) >= 0)
                near += p;
        }
    if (!(total > 0)) {
        rt_set_error("grid quality: the density sums to %g", total);
        return -1;
    }
    q->grid_mass_near = near / total;
    return 0;
}

/* Appends ", "key": value" (NaN as null); returns the new length or -1. */
static int put(char *buf, size_t cap, size_t len, const char *key, double v, int first)
{
    int n;
    if (len >= cap)
        return -1;
    if (isfinite(v))
        n = snprintf(buf + len, cap - len, "%s\"%s\": %.6g", first ? "" : ", ", key, v);
    else
        n = snprintf(buf + len, cap - len, "%s\"%s\": null", first ? "" : ", ", key);
    if (n < 0 || (size_t)n >= cap - len)
        return -1;
    return (int)(len + n);
}

int meg_toy_quality_json(const meg_toy_quality *q, char *buf, size_t cap)
{
    int len = 0;
    if (cap)
        buf[0] = '\0';
    len = put(buf, cap, 0, "modes", q->modes >= 0 ? q->modes : NAN, 1);
    if (len >= 0)
        len = put(buf, cap, len, "modes_captured", q->modes_captured >= 0 ? q->modes_captured : NAN, 0);
    if (len >= 0)
        len = put(buf, cap, len, "hq_share", q->hq_share, 0);
    if (len >= 0)
        len = put(buf, cap, len, "kl_uniform", q->kl_uniform, 0);
    if (len >= 0)
        len = put(buf, cap, len, "grid_mass_near", q->grid_mass_near, 0);
    if (len < 0) {
        rt_set_error("quality JSON: buffer of %zu bytes is too small", cap);
        return -1;
    }
    return 0;
}
