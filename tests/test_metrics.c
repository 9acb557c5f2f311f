/* test_metrics.c: models/metrics/ without a device: energies to grid
 * densities, and the toy mixture quality numbers on known answers, on the
 * generator's own data and on grid densities. Suite "metrics". */
#include "data.h"
#include "filetest.h"
#include "graph.h"   /* g_splitmix64 */
#include "metrics.h"
#include "util.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- grid densities -------------------------------------------------------------------- */

START_TEST(energy_to_density)
{
    float e[3] = {0, (float)log(2.0), 1000}, p[3];
    ck_assert_int_eq(meg_energy_to_density(e, 3, p), 0);
    ck_assert_float_eq_tol(p[0], 2.0 / 3, 1e-6);
    ck_assert_float_eq_tol(p[1], 1.0 / 3, 1e-6);
    ck_assert_float_eq(p[2], 0);
    ck_assert_int_eq(meg_energy_to_density(e, 3, e), 0);     /* in place */
    ck_assert_float_eq_tol(e[0], 2.0 / 3, 1e-6);
    e[1] = NAN;
    ck_assert_int_eq(meg_energy_to_density(e, 3, p), -1);
    assert_error_has("cell 1");
}
END_TEST

/* ---- quality metrics -------------------------------------------------------------------- */

/* Samples placed by count at the 8gaussians centres (offset by `off` std in x). */
static float *at_modes(const float *c, const size_t *counts, int k, float std, double off, size_t *n)
{
    size_t total = 0;
    for (int m = 0; m < k; m++)
        total += counts[m];
    float *xy = malloc((total ? total : 1) * 2 * sizeof *xy);
    size_t i = 0;
    for (int m = 0; m < k; m++)
        for (size_t j = 0; j < counts[m]; j++, i++) {
            xy[2 * i] = c[2 * m] + (float)(off * std);
            xy[2 * i + 1] = c[2 * m + 1];
        }
    *n = total;
    return xy;
}

/* Normal draws of mean mu, sd 1 (Box-Muller on the splitmix64 stream). */
static void normals(float *v, size_t n, double mu, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        double u1 = ((double)(g_splitmix64(seed + 2 * i) >> 11) + 0.5) / 9007199254740992.0;
        double u2 = (double)(g_splitmix64(seed + 2 * i + 1) >> 11) / 9007199254740992.0;
        v[i] = (float)(mu + sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
    }
}

START_TEST(energy_distance_known_answers)
{
    /* two point masses d apart: 2 d (the within-sample terms are 0) */
    float a[40] = {0}, b[40];
    for (int i = 0; i < 40; i++) b[i] = 1.5f;
    ck_assert_double_eq_tol(meg_energy_distance(a, 40, b, 40, 1), 3.0, 1e-12);
    ck_assert_double_eq_tol(meg_energy_distance(a, 20, b, 20, 2), 2 * 1.5 * sqrt(2.0), 1e-12);
    /* N(0, 1) against N(1, 1): 2 E|Z| - 2 E|X - X'|, Z ~ N(1, 2), E|X - X'| = 2 / sqrt(pi) */
    enum { N = 3000 };
    static float x[N], y[N], ys[N];
    normals(x, N, 0.0, 11);
    normals(y, N, 1.0, 99);
    double s = sqrt(2.0), mu = 1.0;
    double ez = s * sqrt(2 / M_PI) * exp(-mu * mu / (2 * s * s)) + mu * erf(mu / (s * sqrt(2.0)));
    double want = 2 * ez - 2 * (2 / sqrt(M_PI));
    double got = meg_energy_distance(x, N, y, N, 1);
    ck_assert_msg(fabs(got - want) < 0.03, "energy distance %.4f, expected %.4f", got, want);
    ck_assert_double_eq_tol(meg_energy_distance(y, N, x, N, 1), got, 1e-9);   /* symmetric */
    /* the same distribution: near 0 (the unbiased form may dip below) */
    normals(ys, N, 0.0, 12345);
    ck_assert_msg(fabs(meg_energy_distance(x, N, ys, N, 1)) < 0.01, "same distribution: %.4f",
                  meg_energy_distance(x, N, ys, N, 1));
    /* a shift of both samples changes nothing */
    for (int i = 0; i < N; i++) { x[i] += 7; y[i] += 7; }
    ck_assert_double_eq_tol(meg_energy_distance(x, N, y, N, 1), got, 1e-3);
    ck_assert(isnan(meg_energy_distance(x, 1, y, N, 1)));   /* too few points */
}
END_TEST

START_TEST(quality_known_answers)
{
    float c[2 * MEG_TOY_MAX_MODES], std;
    int k;
    size_t n;
    meg_toy_quality q;
    char json[256];
    ck_assert_int_eq(meg_toy_modes("8gaussians", c, &k, &std), 0);

    /* All modes equally: everything captured, all high quality, KL 0. */
    size_t all[8] = {10, 10, 10, 10, 10, 10, 10, 10};
    float *xy = at_modes(c, all, k, std, 2.9, &n);
    meg_toy_quality_init(&q);
    ck_assert_int_eq(meg_toy_quality_samples(c, k, std, xy, n, &q), 0);
    ck_assert_int_eq(q.modes, 8);
    ck_assert_int_eq(q.modes_captured, 8);
    ck_assert_double_eq(q.hq_share, 1);
    ck_assert_double_eq_tol(q.kl_uniform, 0, 1e-12);
    ck_assert_uint_eq(q.mode_count[5], 10);
    ck_assert_int_eq(meg_toy_quality_json(&q, json, sizeof json), 0);
    ck_assert_str_eq(json, "\"modes\": 8, \"modes_captured\": 8, \"hq_share\": 1, \"kl_uniform\": 0, "
                           "\"grid_mass_near\": null");
    ck_assert_int_eq(meg_toy_quality_json(&q, json, 20), -1);
    free(xy);

    /* Half the modes evenly: p = 1/4 on 4 of 8, KL = 4 * 1/4 * log(8/4) = log 2. */
    size_t half[8] = {25, 0, 25, 0, 25, 0, 25, 0};
    xy = at_modes(c, half, k, std, 0, &n);
    ck_assert_int_eq(meg_toy_quality_samples(c, k, std, xy, n, &q), 0);
    ck_assert_int_eq(q.modes_captured, 4);
    ck_assert_double_eq(q.hq_share, 1);
    ck_assert_double_eq_tol(q.kl_uniform, log(2.0), 1e-12);
    free(xy);

    /* One mode: KL = log 8. Points 3.1 std away are not high quality. */
    size_t one[8] = {40, 0, 0, 0, 0, 0, 0, 0};
    xy = at_modes(c, one, k, std, 0, &n);
    ck_assert_int_eq(meg_toy_quality_samples(c, k, std, xy, n, &q), 0);
    ck_assert_double_eq_tol(q.kl_uniform, log(8.0), 1e-12);
    free(xy);
    xy = at_modes(c, one, k, std, 3.1, &n);
    ck_assert_int_eq(meg_toy_quality_samples(c, k, std, xy, n, &q), 0);
    ck_assert_int_eq(q.modes_captured, 0);
    ck_assert_double_eq(q.hq_share, 0);
    ck_assert(isnan(q.kl_uniform));
    ck_assert_int_eq(meg_toy_quality_json(&q, json, sizeof json), 0);
    ck_assert(strstr(json, "\"kl_uniform\": null") != NULL);
    free(xy);

    /* 1000 samples: 7 modes with 142, mode 7 with 6 (< 1%: not captured);
     * plus 2 far away that only lower the high-quality share. */
    size_t skew[8] = {142, 142, 142, 142, 142, 142, 142, 6};
    xy = at_modes(c, skew, k, std, 0, &n);
    xy = realloc(xy, (n + 2) * 2 * sizeof *xy);
    xy[2 * n] = xy[2 * n + 1] = 10;
    xy[2 * n + 2] = NAN;
    xy[2 * n + 3] = 0;
    n += 2;
    ck_assert_int_eq(meg_toy_quality_samples(c, k, std, xy, n, &q), 0);
    ck_assert_int_eq(q.modes_captured, 7);
    ck_assert_double_eq_tol(q.hq_share, 1000.0 / 1002, 1e-12);
    double p7 = 142.0 / 1000, p1 = 6.0 / 1000;
    ck_assert_double_eq_tol(q.kl_uniform, 7 * p7 * log(p7 * 8) + p1 * log(p1 * 8), 1e-12);
    free(xy);

    ck_assert_int_eq(meg_toy_quality_samples(c, 0, std, c, 1, &q), -1);
    ck_assert_int_eq(meg_toy_quality_samples(c, k, 0, c, 1, &q), -1);
    ck_assert_int_eq(meg_toy_quality_samples(c, k, std, c, 0, &q), -1);
}
END_TEST

START_TEST(quality_generated_data)
{
    static const char *toy_names[] = {"8gaussians", "25gaussians"};
    /* Real data from the generator scores as near perfect. */
    for (int t = 0; t < 2; t++) {
        float c[2 * MEG_TOY_MAX_MODES], std;
        int k;
        const size_t n = 10000;
        float *xy = malloc(n * 2 * sizeof *xy);
        meg_toy_quality q;
        ck_assert_int_eq(meg_toy_modes(toy_names[t], c, &k, &std), 0);
        ck_assert_int_eq(meg_toy_generate(toy_names[t], n, 11, xy), 0);
        ck_assert_int_eq(meg_toy_quality_samples(c, k, std, xy, n, &q), 0);
        ck_assert_int_eq(q.modes_captured, k);
        ck_assert(q.hq_share > 0.98);         /* P(r < 3 std) = 1 - exp(-4.5) = 0.989 */
        ck_assert(q.kl_uniform < 0.01);
        free(xy);
    }
}
END_TEST

START_TEST(quality_grid_mass)
{
    float c[2 * MEG_TOY_MAX_MODES], std;
    int k;
    meg_toy_quality q;
    const int nx = 200, ny = 200;
    const meg_box box = {-2, 2, -2, 2};
    ck_assert_int_eq(meg_toy_modes("8gaussians", c, &k, &std), 0);
    float *d = calloc((size_t)nx * ny, sizeof *d);
    /* The cell holding mode 0, and a cell far from every mode. */
    int i0 = (int)((c[0] - box.xmin) / 4 * nx), j0 = (int)((c[1] - box.ymin) / 4 * ny);
    d[(size_t)j0 * nx + i0] = 3;
    meg_toy_quality_init(&q);
    ck_assert_int_eq(meg_toy_quality_grid(c, k, std, box, nx, ny, d, &q), 0);
    ck_assert_double_eq_tol(q.grid_mass_near, 1, 1e-12);
    d[(size_t)(ny / 2) * nx + nx / 2] = 3;           /* the origin */
    ck_assert_int_eq(meg_toy_quality_grid(c, k, std, box, nx, ny, d, &q), 0);
    ck_assert_double_eq_tol(q.grid_mass_near, 0.5, 1e-12);
    ck_assert_int_eq(q.modes, -1);                   /* samples fields untouched */

    /* From energies: a density that is uniform apart from the modes. */
    float *xy = malloc((size_t)nx * ny * 2 * sizeof *xy);
    ck_assert_int_eq(meg_grid_points(box, nx, ny, xy), 0);
    size_t near = 0;
    for (size_t i = 0; i < (size_t)nx * ny; i++) {
        int close = 0;
        for (int m = 0; m < k; m++)
            close |= hypot(xy[2 * i] - c[2 * m], xy[2 * i + 1] - c[2 * m + 1]) <= 3 * std;
        near += close;
        d[i] = 0;     /* energy 0 everywhere: uniform */
    }
    ck_assert_int_eq(meg_energy_to_density(d, (size_t)nx * ny, d), 0);
    ck_assert_int_eq(meg_toy_quality_grid(c, k, std, box, nx, ny, d, &q), 0);
    ck_assert_double_eq_tol(q.grid_mass_near, (double)near / (nx * ny), 1e-6);
    ck_assert(near > 8);

    ck_assert_int_eq(meg_toy_quality_grid(c, k, std, box, 50, 50, d, &q), -1);
    assert_error_has("wider than 3 std");
    d[7] = -1;
    ck_assert_int_eq(meg_toy_quality_grid(c, k, std, box, nx, ny, d, &q), -1);
    assert_error_has("cell (7, 0)");
    memset(d, 0, (size_t)nx * ny * sizeof *d);
    ck_assert_int_eq(meg_toy_quality_grid(c, k, std, box, nx, ny, d, &q), -1);
    free(xy);
    free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *q = tcase_create("quality");
    tcase_add_test(q, energy_to_density);
    tcase_add_test(q, energy_distance_known_answers);
    tcase_add_test(q, quality_known_answers);
    tcase_add_test(q, quality_generated_data);
    tcase_add_test(q, quality_grid_mass);
    suite_add_tcase(s, q);
    return tf_run(s);
}
