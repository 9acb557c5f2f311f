/* toy.c: the toy 2-D data sets (8gaussians, 25gaussians, swissroll),
 * generated in code and deterministic for a given seed. */
#include "data.h"
#include "graph.h"   /* g_splitmix64 */
#include "util.h"

#include <math.h>
#include <string.h>

/* Divisors and noise as in the usual MEG / WGAN-GP toy-set code. */
#define G8_RADIUS 2.0
#define G8_NOISE 0.02
#define G8_SCALE 1.414
#define G25_SPACING 2.0
#define G25_NOISE 0.05
#define G25_SCALE 2.828
#define SWISS_NOISE 0.25
#define SWISS_SCALE 7.5

enum toy { TOY_8G, TOY_25G, TOY_SWISS, TOY_UNKNOWN };

static enum toy lookup(const char *name)
{
    if (!name)
        return TOY_UNKNOWN;
    if (!strcmp(name, "8gaussians"))
        return TOY_8G;
    if (!strcmp(name, "25gaussians"))
        return TOY_25G;
    if (!strcmp(name, "swissroll"))
        return TOY_SWISS;
    return TOY_UNKNOWN;
}

const char *meg_toy_names(void) { return "8gaussians, 25gaussians, swissroll"; }

int meg_toy_is_known(const char *name) { return lookup(name) != TOY_UNKNOWN; }

static int unknown(const char *name)
{
    rt_set_error("unknown toy data set '%s' (known: %s)", name ? name : "(null)", meg_toy_names());
    return -1;
}

/* The splitmix64 stream of state s (graph.h): tiny, fast, and good enough
 * for toy data. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = g_splitmix64(*s);
    *s += G_GOLDEN64;
    return z;
}

/* Uniform in [0, 1) with 53 random bits. */
static double next_unit(uint64_t *s) { return (double)(next_u64(s) >> 11) * 0x1.0p-53; }

/* Two independent N(0, 1) by Box-Muller; 1 - u keeps the log argument in (0, 1]. */
static void next_gauss2(uint64_t *s, double *a, double *b)
{
    double r = sqrt(-2.0 * log(1.0 - next_unit(s)));
    double t = 2.0 * M_PI * next_unit(s);
    *a = r * cos(t);
    *b = r * sin(t);
}

static void center_8g(int k, double *cx, double *cy)
{
    *cx = G8_RADIUS * cos(k * M_PI / 4);
    *cy = G8_RADIUS * sin(k * M_PI / 4);
}

static void center_25g(int k, double *cx, double *cy)
{
    *cx = G25_SPACING * (k / 5 - 2);
    *cy = G25_SPACING * (k % 5 - 2);
}

int meg_toy_generate(const char *name, size_t n, uint64_t seed, float *xy)
{
    enum toy t = lookup(name);
    if (t == TOY_UNKNOWN)
        return unknown(name);
    /* Hash the seed once so nearby seeds do not give shifted copies of one stream. */
    uint64_t s = g_splitmix64(seed);
    for (size_t i = 0; i < n; i++) {
        /* Exactly three draws per point, so point i never depends on n. */
        double u = next_unit(&s), ga, gb, x, y;
        next_gauss2(&s, &ga, &gb);
        if (t == TOY_8G) {
            center_8g((int)(u * 8), &x, &y);
            x = (x + G8_NOISE * ga) / G8_SCALE;
            y = (y + G8_NOISE * gb) / G8_SCALE;
        } else if (t == TOY_25G) {
            center_25g((int)(u * 25), &x, &y);
            x = (x + G25_NOISE * ga) / G25_SCALE;
            y = (y + G25_NOISE * gb) / G25_SCALE;
        } else {
            double r = 1.5 * M_PI * (1.0 + 2.0 * u);
            x = (r * cos(r) + SWISS_NOISE * ga) / SWISS_SCALE;
            y = (r * sin(r) + SWISS_NOISE * gb) / SWISS_SCALE;
        }
        xy[2 * i] = (float)x;
        xy[2 * i + 1] = (float)y;
    }
    return 0;
}

int meg_toy_modes(const char *name, float *centers, int *count, float *std)
{
    enum toy t = lookup(name);
    if (t == TOY_UNKNOWN)
        return unknown(name);
    *count = 0;
    *std = 0;
    if (t == TOY_SWISS)
        return 0;
    int k_max = t == TOY_8G ? 8 : 25;
    double scale = t == TOY_8G ? G8_SCALE : G25_SCALE;
    for (int k = 0; k < k_max; k++) {
        double x, y;
        if (t == TOY_8G)
            center_8g(k, &x, &y);
        else
            center_25g(k, &x, &y);
        centers[2 * k] = (float)(x / scale);
        centers[2 * k + 1] = (float)(y / scale);
    }
    *count = k_max;
    *std = (float)((t == TOY_8G ? G8_NOISE : G25_NOISE) / scale);
    return 0;
}

int meg_toy_box(const char *name, meg_box *box)
{
    enum toy t = lookup(name);
    if (t == TOY_UNKNOWN)
        return unknown(name);
    /* 8gaussians reach radius 1.44, 25gaussians 1.47, swissroll about 1.9 (plus noise). */
    double h = t == TOY_SWISS ? 2.25 : 2.0;
    *box = (meg_box){-h, h, -h, h};
    return 0;
}
