/* test_metrics.c: models/metrics/ without a device: energies to grid
 * densities, the toy mixture quality numbers on known answers, on the
 * generator's own data and on grid densities, and the image metrics
 * (StackedMNIST modes and KL, the Frechet distance against closed forms,
 * the Inception-like score) on known answers, and the anomaly metrics
 * (threshold, precision, recall, F1, AUPRC, ROC AUC) on hand-computed
 * cases with and without ties. Suite "metrics". */
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

/* ---- StackedMNIST modes ------------------------------------------------------------------- */

START_TEST(mode_ids_from_digits)
{
    const int digits[9] = {1, 2, 3, 0, 0, 7, 9, 9, 9};
    int ids[3];
    ck_assert_int_eq(meg_stacked_mode_ids(digits, 3, 3, ids), 0);
    ck_assert_int_eq(ids[0], 123);
    ck_assert_int_eq(ids[1], 7);
    ck_assert_int_eq(ids[2], 999);
    int ones[9];
    ck_assert_int_eq(meg_stacked_mode_ids(digits, 9, 1, ones), 0);    /* one stack: the digit itself */
    ck_assert_int_eq(ones[5], 7);
    const int bad[6] = {1, 2, 3, 4, 5, 10};
    ck_assert_int_eq(meg_stacked_mode_ids(bad, 2, 3, ids), -1);
    assert_error_has("sample 1, channel 2 has digit 10");
    ck_assert_int_eq(meg_stacked_mode_ids(digits, 1, 0, ids), -1);
    ck_assert_int_eq(meg_stacked_mode_ids(digits, 1, 9, ids), -1);
}
END_TEST

START_TEST(mode_coverage_known_answers)
{
    meg_mode_stats st;
    size_t hist[10];
    char json[256];
    /* half the samples in mode 0, half in mode 1, of 10 */
    const int ids[4] = {0, 1, 0, 1};
    ck_assert_int_eq(meg_mode_coverage(ids, 4, 10, NULL, &st, hist), 0);
    ck_assert_uint_eq(st.modes, 10);
    ck_assert_uint_eq(st.samples, 4);
    ck_assert_uint_eq(st.modes_covered, 2);
    ck_assert_double_eq_tol(st.kl_uniform, log(5.0), 1e-12);   /* sum 0.5 log(0.5 * 10) */
    ck_assert(isnan(st.kl_ref));                                /* no reference */
    ck_assert_uint_eq(hist[0], 2);
    ck_assert_uint_eq(hist[1], 2);
    ck_assert_uint_eq(hist[2], 0);
    /* against a uniform reference, KL is the same as against uniform */
    size_t flat[10] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    ck_assert_int_eq(meg_mode_coverage(ids, 4, 10, flat, &st, NULL), 0);
    ck_assert_double_eq_tol(st.kl_ref, log(5.0), 1e-12);
    ck_assert_uint_eq(st.ref_unsupported_modes, 0);
    /* reference q = (3/4, 1/4): KL = 1/2 log(2/3) + 1/2 log 2 = 1/2 log(4/3) */
    size_t ref[10] = {3, 1};
    ck_assert_int_eq(meg_mode_coverage(ids, 4, 10, ref, &st, NULL), 0);
    ck_assert_double_eq_tol(st.kl_ref, 0.5 * log(4.0 / 3), 1e-12);
    /* a sample where the reference has none: KL is infinite, and says so */
    const int ids3[5] = {0, 1, 0, 1, 7};
    ck_assert_int_eq(meg_mode_coverage(ids3, 5, 10, ref, &st, NULL), 0);
    ck_assert_uint_eq(st.modes_covered, 3);
    ck_assert(isinf(st.kl_ref) && st.kl_ref > 0);
    ck_assert_uint_eq(st.ref_unsupported_modes, 1);
    ck_assert_uint_eq(st.ref_unsupported_samples, 1);
    ck_assert_double_eq_tol(st.kl_uniform, 2 * 0.4 * log(4.0) + 0.2 * log(2.0), 1e-12);
    ck_assert_int_eq(meg_mode_stats_json(&st, json, sizeof json), 0);
    ck_assert_str_eq(json, "\"modes\": 10, \"modes_covered\": 3, \"kl_uniform\": 1.24766, \"kl_ref\": null, "
                           "\"ref_unsupported_modes\": 1, \"ref_unsupported_samples\": 1");
    ck_assert_int_eq(meg_mode_stats_json(&st, json, 30), -1);
    /* 3 stacks: every one of 1000 modes twice is perfect; one mode is log 1000 */
    int *all = malloc(2000 * sizeof *all);
    for (int i = 0; i < 2000; i++)
        all[i] = i % 1000;
    size_t *pool = malloc(1000 * sizeof *pool);
    for (int m = 0; m < 1000; m++)
        pool[m] = 60;
    ck_assert_int_eq(meg_mode_coverage(all, 2000, 1000, pool, &st, NULL), 0);
    ck_assert_uint_eq(st.modes_covered, 1000);
    ck_assert_double_eq_tol(st.kl_uniform, 0, 1e-12);
    ck_assert_double_eq_tol(st.kl_ref, 0, 1e-12);
    for (int i = 0; i < 2000; i++)
        all[i] = 123;
    ck_assert_int_eq(meg_mode_coverage(all, 2000, 1000, pool, &st, NULL), 0);
    ck_assert_uint_eq(st.modes_covered, 1);
    ck_assert_double_eq_tol(st.kl_uniform, log(1000.0), 1e-12);
    ck_assert_double_eq_tol(st.kl_ref, log(1000.0), 1e-12);
    /* bad input */
    all[17] = 1000;
    ck_assert_int_eq(meg_mode_coverage(all, 2000, 1000, pool, &st, NULL), -1);
    assert_error_has("sample 17 has mode 1000, expected 0..999");
    ck_assert_int_eq(meg_mode_coverage(all, 0, 1000, pool, &st, NULL), -1);
    memset(pool, 0, 1000 * sizeof *pool);
    ck_assert_int_eq(meg_mode_coverage(all, 10, 1000, pool, &st, NULL), -1);
    assert_error_has("reference histogram of 1000 modes is empty");
    free(all);
    free(pool);
}
END_TEST

/* ---- Frechet distance -------------------------------------------------------------------- */

/* Q M Q^T in place (n x n), Q the product of Givens rotations of angle
 * (i + 1) * 0.37 in every coordinate pair (i, j): a dense orthogonal Q. */
static void rotate_sym(double *m, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double c = cos((i + 1) * 0.37 + j * 0.11), s = sin((i + 1) * 0.37 + j * 0.11);
            for (int k = 0; k < n; k++) {          /* rows i, j: G M */
                double a = m[i * n + k], b = m[j * n + k];
                m[i * n + k] = c * a - s * b;
                m[j * n + k] = s * a + c * b;
            }
            for (int k = 0; k < n; k++) {          /* columns i, j: M G^T */
                double a = m[k * n + i], b = m[k * n + j];
                m[k * n + i] = c * a - s * b;
                m[k * n + j] = s * a + c * b;
            }
        }
}

/* R diag(e1, e2) R^T for the rotation by t, into the 2 x 2 block at (o, o). */
static void block2(double *m, int n, int o, double e1, double e2, double t)
{
    double c = cos(t), s = sin(t);
    m[o * n + o] = c * c * e1 + s * s * e2;
    m[(o + 1) * n + o + 1] = s * s * e1 + c * c * e2;
    m[o * n + o + 1] = m[(o + 1) * n + o] = c * s * (e1 - e2);
}

START_TEST(frechet_known_moments)
{
    double fd;
    /* diagonal: |mu_a - mu_b|^2 + sum (sqrt a - sqrt b)^2 = 5 + 1 + 0 + 1 */
    const double ma[3] = {1, 2, 3}, mb[3] = {0, 2, 5};
    const double sa[9] = {4, 0, 0, 0, 1, 0, 0, 0, 9}, sb[9] = {1, 0, 0, 0, 1, 0, 0, 0, 4};
    ck_assert_msg(meg_frechet_from_moments(ma, sa, mb, sb, 3, &fd) == 0, "%s", rt_error());
    ck_assert_double_eq_tol(fd, 7, 1e-12);
    ck_assert_int_eq(meg_frechet_from_moments(mb, sb, ma, sa, 3, &fd), 0);
    ck_assert_double_eq_tol(fd, 7, 1e-12);

    /* Non-diagonal, non-commuting: three 2 x 2 blocks whose eigenbases differ
     * between A and B, then one dense rotation Q of the whole space (FD is
     * unchanged by a common rotation). For a 2 x 2 block, tr sqrt(M) =
     * sqrt(tr M + 2 sqrt(det M)) with M = Sa^1/2 Sb Sa^1/2, tr M = tr(Sa Sb)
     * and det M = det Sa det Sb: a closed form independent of any eigensolver. */
    enum { D = 6 };
    double ca[D * D] = {0}, cb[D * D] = {0}, zero[D] = {0}, mu[D] = {0.5, -1, 0, 2, 0, 0.25};
    const double ea[3][2] = {{4, 1}, {2, 0.5}, {9, 0.01}}, eb[3][2] = {{1, 3}, {0.2, 5}, {1, 1}};
    const double ta[3] = {0.3, 1.1, -0.7}, tb[3] = {-0.9, 0.2, 0.4};
    double want = 0;
    for (int i = 0; i < D; i++)
        want += mu[i] * mu[i];
    for (int k = 0; k < 3; k++) {
        block2(ca, D, 2 * k, ea[k][0], ea[k][1], ta[k]);
        block2(cb, D, 2 * k, eb[k][0], eb[k][1], tb[k]);
        const double *a = ca + 2 * k * D + 2 * k, *b = cb + 2 * k * D + 2 * k;   /* the block, stride D */
        double tr_ab = a[0] * b[0] + a[1] * b[D] + a[D] * b[1] + a[D + 1] * b[D + 1];
        double det = (a[0] * a[D + 1] - a[1] * a[D]) * (b[0] * b[D + 1] - b[1] * b[D]);
        want += a[0] + a[D + 1] + b[0] + b[D + 1] - 2 * sqrt(tr_ab + 2 * sqrt(det));
    }
    rotate_sym(ca, D);
    rotate_sym(cb, D);
    ck_assert(fabs(ca[1]) > 0.1 && fabs(cb[2 * D + 5]) > 0.01);       /* dense now */
    ck_assert_msg(meg_frechet_from_moments(mu, ca, zero, cb, D, &fd) == 0, "%s", rt_error());
    ck_assert_msg(fabs(fd - want) < 1e-10 * want, "FD %.15g, closed form %.15g", fd, want);
    ck_assert_int_eq(meg_frechet_from_moments(zero, cb, mu, ca, D, &fd), 0);    /* symmetric */
    ck_assert_msg(fabs(fd - want) < 1e-10 * want, "FD(B, A) %.15g, closed form %.15g", fd, want);
    /* only the upper triangle is read */
    for (int i = 0; i < D; i++)
        for (int j = 0; j < i; j++)
            ca[i * D + j] = NAN;
    ck_assert_int_eq(meg_frechet_from_moments(mu, ca, zero, cb, D, &fd), 0);
    ck_assert_msg(fabs(fd - want) < 1e-10 * want, "FD from upper triangles %.15g", fd);
    ca[1] = INFINITY;
    ck_assert_int_eq(meg_frechet_from_moments(mu, ca, zero, cb, D, &fd), -1);
    assert_error_has("(0, 1) is not finite");
    ck_assert_int_eq(meg_frechet_from_moments(mu, ca, zero, cb, 0, &fd), -1);
    assert_error_has("dimension 0");
}
END_TEST

START_TEST(frechet_of_samples)
{
    /* moments: rows (1, 2), (3, 6), (5, 4) have mean (3, 4), variances 4, 4
     * and covariance 2 (divided by n - 1) */
    const float x[6] = {1, 2, 3, 6, 5, 4};
    double mean[2], cov[4], fd;
    ck_assert_int_eq(meg_feature_moments(x, 3, 2, mean, cov), 0);
    ck_assert_double_eq(mean[0], 3);
    ck_assert_double_eq(mean[1], 4);
    ck_assert_double_eq_tol(cov[0], 4, 1e-12);
    ck_assert_double_eq_tol(cov[3], 4, 1e-12);
    ck_assert_double_eq_tol(cov[1], 2, 1e-12);
    ck_assert_double_eq_tol(cov[2], 2, 1e-12);
    /* {-1, 1} against {2, 4}: means 0 and 3, variances 2 and 2: 9 */
    const float a1[2] = {-1, 1}, b1[2] = {2, 4};
    ck_assert_int_eq(meg_frechet_distance(a1, 2, b1, 2, 1, &fd), 0);
    ck_assert_double_eq_tol(fd, 9, 1e-12);

    /* correlated features (each a mix of a few shared normals plus one of
     * its own, so the covariance has full rank), d = 64, and more rows than
     * CHUNK so the covariance is summed over several chunks */
    enum { N = 300, D = 64, L = 8 };
    float *a = malloc(N * D * sizeof *a), *b = malloc(N * D * sizeof *b), *z = malloc(N * (L + D) * sizeof *z);
    normals(z, N * (L + D), 0.0, 7);
    for (int r = 0; r < N; r++)
        for (int i = 0; i < D; i++) {
            double v = 100 + 0.5 * z[N * L + r * D + i];    /* a large common offset the two passes absorb */
            for (int l = 0; l < L; l++)
                v += z[r * L + l] * cos(0.3 * (i + 1) * (l + 1));
            a[r * D + i] = (float)v;
        }
    normals(b, N * D, 100.0, 8);
    ck_assert_int_eq(meg_frechet_distance(a, N, a, N, D, &fd), 0);
    ck_assert_msg(fabs(fd) < 1e-9, "FD(A, A) = %g", fd);
    double ab, ba;
    ck_assert_int_eq(meg_frechet_distance(a, N, b, N, D, &ab), 0);
    ck_assert_int_eq(meg_frechet_distance(b, N, a, N, D, &ba), 0);
    ck_assert_msg(ab > 10 && fabs(ab - ba) < 1e-9 * ab, "FD(A, B) %.15g, FD(B, A) %.15g", ab, ba);
    /* rank-deficient covariances (5 rows in 64 dimensions): eigenvalues that
     * round below 0 count as 0, and FD(A, A) is 0 to the square root of
     * rounding (about 1e-8 of the trace per missing dimension, metrics.h) */
    double tr5 = 0, m5[D], c5[D * D];
    ck_assert_int_eq(meg_feature_moments(a, 5, D, m5, c5), 0);
    for (int i = 0; i < D; i++)
        tr5 += c5[i * D + i];
    ck_assert_int_eq(meg_frechet_distance(a, 5, a, 5, D, &fd), 0);
    ck_assert_msg(fabs(fd) < 1e-6 * tr5, "rank-deficient FD(A, A) = %g, trace %g", fd, tr5);
    /* a sample of N(0, 1) against N(mu, 4) in 3 dimensions: FD near
     * 3 (mu^2 + (1 - 2)^2) = 6 for mu = 1 */
    enum { M = 20000 };
    float *p = malloc(M * 3 * sizeof *p), *q = malloc(M * 3 * sizeof *q);
    normals(p, M * 3, 0.0, 21);
    normals(q, M * 3, 0.0, 22);
    for (int i = 0; i < M * 3; i++)
        q[i] = 1 + 2 * q[i];
    ck_assert_int_eq(meg_frechet_distance(p, M, q, M, 3, &fd), 0);
    ck_assert_msg(fabs(fd - 6) < 0.15, "FD of N(0, 1) and N(1, 4) in 3-D: %g, expected 6", fd);

    a[3 * D + 5] = NAN;
    ck_assert_int_eq(meg_frechet_distance(b, N, a, N, D, &fd), -1);
    assert_error_has("set B");
    assert_error_has("row 3, feature 5");
    ck_assert_int_eq(meg_frechet_distance(b, 1, b, N, D, &fd), -1);
    assert_error_has("at least 2");
    free(a);
    free(b);
    free(z);
    free(p);
    free(q);
}
END_TEST

/* ---- Inception-like score ------------------------------------------------------------------ */

START_TEST(inception_score_known_answers)
{
    enum { K = 10, N = 30 };
    float p[N * K];
    double is;
    for (int i = 0; i < N * K; i++)
        p[i] = 1.0f / K;
    ck_assert_int_eq(meg_inception_score(p, N, K, &is), 0);    /* uniform: no information */
    ck_assert_double_eq_tol(is, 1, 1e-9);
    memset(p, 0, sizeof p);
    for (int i = 0; i < N; i++)
        p[i * K + i % K] = 1;
    ck_assert_int_eq(meg_inception_score(p, N, K, &is), 0);    /* confident, spread evenly */
    ck_assert_double_eq_tol(is, K, 1e-9);
    for (int i = 0; i < N; i++) {
        memset(p + i * K, 0, K * sizeof *p);
        p[i * K + 3] = 1;
    }
    ck_assert_int_eq(meg_inception_score(p, N, K, &is), 0);    /* confident, all one class */
    ck_assert_double_eq_tol(is, 1, 1e-9);
    /* (0.9, 0.1) and (0.1, 0.9): p(y) = (1/2, 1/2), KL = 0.9 log 1.8 + 0.1 log 0.2 */
    const float two[4] = {0.9f, 0.1f, 0.1f, 0.9f};
    ck_assert_int_eq(meg_inception_score(two, 2, 2, &is), 0);
    ck_assert_double_eq_tol(is, exp(0.9 * log(1.8) + 0.1 * log(0.2)), 1e-6);
    /* not probabilities */
    const float logits[4] = {0.9f, 0.1f, 2.0f, -1.0f};
    ck_assert_int_eq(meg_inception_score(logits, 2, 2, &is), -1);
    assert_error_has("row 1, class 1 has probability -1");
    const float sums[4] = {0.9f, 0.1f, 0.5f, 0.6f};
    ck_assert_int_eq(meg_inception_score(sums, 2, 2, &is), -1);
    assert_error_has("row 1 sums to 1.1");
    ck_assert_int_eq(meg_inception_score(sums, 0, 2, &is), -1);
}
END_TEST

/* ---- anomaly detection ------------------------------------------------------------------ */

/* scikit-learn's own example: descending 8 (anomaly), 4, 3.5 (anomaly), 1.
 * PR points from (0, 1): (1/2, 1), (1/2, 1/2), (1, 2/3), (1, 1/2); the
 * trapezoids give 1/2 + 0 + 1/2 * (1/2 + 2/3) / 2 + 0 = 19/24. ROC AUC:
 * 3 of the 4 (anomaly, normal) pairs in order. 80th percentile: position
 * 0.8 * 3 = 2.4 between 4 and 8, 5.6; only 8 is above it. */
START_TEST(anomaly_known_answers)
{
    const float s[4] = {1, 4, 3.5f, 8};
    const int32_t y[4] = {0, 0, 1, 1};
    meg_anomaly_stats m;
    ck_assert_msg(meg_anomaly_metrics(s, y, 4, 80, &m) == 0, "%s", rt_error());
    ck_assert_uint_eq(m.n, 4);
    ck_assert_uint_eq(m.anomalies, 2);
    ck_assert_double_eq_tol(m.threshold, 5.6, 1e-12);
    ck_assert_uint_eq(m.flagged, 1);
    ck_assert_uint_eq(m.true_pos, 1);
    ck_assert_double_eq(m.precision, 1);
    ck_assert_double_eq(m.recall, 0.5);
    ck_assert_double_eq_tol(m.f1, 2.0 / 3, 1e-15);
    ck_assert_double_eq_tol(m.auprc, 19.0 / 24, 1e-15);
    ck_assert_double_eq_tol(m.auroc, 0.75, 1e-15);
    double a;
    ck_assert_int_eq(meg_anomaly_auprc(s, y, 4, &a), 0);
    ck_assert_double_eq_tol(a, 19.0 / 24, 1e-15);
    ck_assert_int_eq(meg_anomaly_auroc(s, y, 4, &a), 0);
    ck_assert_double_eq_tol(a, 0.75, 1e-15);
    /* the order of the rows does not matter */
    const float s2[4] = {8, 1, 3.5f, 4};
    const int32_t y2[4] = {1, 0, 1, 0};
    meg_anomaly_stats m2;
    ck_assert_int_eq(meg_anomaly_metrics(s2, y2, 4, 80, &m2), 0);
    ck_assert_double_eq(m2.auprc, m.auprc);
    ck_assert_double_eq(m2.f1, m.f1);
    /* a perfect score: every area 1 */
    const float s3[4] = {0, 1, 2, 3};
    ck_assert_int_eq(meg_anomaly_metrics(s3, y, 4, 50, &m), 0);
    ck_assert_double_eq(m.auprc, 1);
    ck_assert_double_eq(m.auroc, 1);
    ck_assert_double_eq(m.f1, 1);   /* the median 1.5: the top two flagged */
}
END_TEST

/* Ties: scores 5 5 5 2 2 1, labels 1 0 1 1 0 0. A tied block is one point
 * of the curves: PR points (2/3, 2/3), (1, 3/5), (1, 1/2) after (0, 1):
 * 2/3 * (1 + 2/3) / 2 + 1/3 * (2/3 + 3/5) / 2 = 69/90. ROC: a tie with a
 * normal counts half: (2.5 + 2.5 + 1.5) / 9 = 13/18. The 80th percentile
 * is 5 itself (position 4 of the sorted 1 2 2 5 5 5), and a row at the
 * threshold is flagged (the authors' scores >= per): the three 5s, as at
 * the median, 3.5. */
START_TEST(anomaly_ties)
{
    const float s[6] = {5, 5, 5, 2, 2, 1};
    const int32_t y[6] = {1, 0, 1, 1, 0, 0};
    meg_anomaly_stats m;
    ck_assert_int_eq(meg_anomaly_metrics(s, y, 6, 80, &m), 0);
    ck_assert_double_eq(m.threshold, 5);
    ck_assert_uint_eq(m.flagged, 3);
    ck_assert_uint_eq(m.true_pos, 2);
    ck_assert_double_eq_tol(m.auprc, 69.0 / 90, 1e-15);
    ck_assert_double_eq_tol(m.auroc, 13.0 / 18, 1e-15);
    ck_assert_int_eq(meg_anomaly_metrics(s, y, 6, 50, &m), 0);
    ck_assert_double_eq(m.threshold, 3.5);
    ck_assert_uint_eq(m.flagged, 3);
    ck_assert_uint_eq(m.true_pos, 2);
    ck_assert_double_eq_tol(m.precision, 2.0 / 3, 1e-15);
    ck_assert_double_eq_tol(m.recall, 2.0 / 3, 1e-15);
    ck_assert_double_eq_tol(m.f1, 2.0 / 3, 1e-15);
    /* all scores equal: one point (1, 1/2) after (0, 1), area 3/4; ROC 1/2 */
    const float flat[4] = {2, 2, 2, 2};
    const int32_t y4[4] = {1, 0, 0, 1};
    ck_assert_int_eq(meg_anomaly_metrics(flat, y4, 4, 80, &m), 0);
    ck_assert_double_eq(m.auprc, 0.75);
    ck_assert_double_eq(m.auroc, 0.5);
    ck_assert_uint_eq(m.flagged, 4);
}
END_TEST

/* The areas against a slow count on random scores with many ties (values
 * rounded to 20 levels): ROC AUC as the share of (anomaly, normal) pairs in
 * order, ties half; AUPRC by counting, for every distinct score t from the
 * top, the rows at or above t, and joining the points by trapezoids from
 * (recall 0, precision 1). */
START_TEST(anomaly_areas_match_brute_force)
{
    enum { N = 400 };
    float s[N];
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        uint64_t r = g_splitmix64(77 + (uint64_t)i);
        y[i] = (r & 7) < 2;   /* about a quarter anomalies */
        s[i] = (float)((r >> 8) % 20) + (y[i] ? 3.0f : 0.0f);
    }
    double pairs = 0, np = 0, nn = 0;
    for (int i = 0; i < N; i++) {
        np += y[i];
        nn += !y[i];
        for (int j = 0; y[i] && j < N; j++)
            if (!y[j])
                pairs += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
    }
    double pr = 0, r0 = 0, p0 = 1;
    for (float t = 40; t >= -1; t -= 1) {
        double tp = 0, k = 0;
        for (int i = 0; i < N; i++)
            if (s[i] >= t) {
                k++;
                tp += y[i];
            }
        int distinct = 0;
        for (int i = 0; i < N; i++)
            distinct |= s[i] == t;
        if (!distinct)
            continue;
        double r = tp / np, p = tp / k;
        pr += (r - r0) * (p + p0) / 2;
        r0 = r;
        p0 = p;
    }
    meg_anomaly_stats m;
    ck_assert_int_eq(meg_anomaly_metrics(s, y, N, 80, &m), 0);
    ck_assert_double_eq_tol(m.auroc, pairs / (np * nn), 1e-12);
    ck_assert_double_eq_tol(m.auprc, pr, 1e-12);
    ck_assert(m.auroc > 0.6 && m.auroc < 0.9);   /* the shift of 3 makes it informative, not perfect */
    /* flagged: exactly the rows at or above the threshold */
    size_t above = 0, tp = 0;
    for (int i = 0; i < N; i++) {
        above += s[i] >= m.threshold;
        tp += s[i] >= m.threshold && y[i];
    }
    ck_assert_uint_eq(m.flagged, above);
    ck_assert_uint_eq(m.true_pos, tp);
}
END_TEST

START_TEST(percentile_like_numpy)
{
    const float v[4] = {4, 1, 3, 2};
    double p;
    const double at[6] = {0, 25, 50, 80, 100, 37.5};
    /* np.percentile([1, 2, 3, 4], at) */
    const double want[6] = {1, 1.75, 2.5, 3.4, 4, 2.125};
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(meg_percentile(v, 4, at[i], &p), 0);
        ck_assert_double_eq_tol(p, want[i], 1e-15);
    }
    const float one = 7;
    ck_assert_int_eq(meg_percentile(&one, 1, 80, &p), 0);
    ck_assert_double_eq(p, 7);
    ck_assert_int_eq(meg_percentile(v, 4, 100.5, &p), -1);
    assert_error_has("percentile 100.5");
    ck_assert_int_eq(meg_percentile(v, 4, NAN, &p), -1);
    ck_assert_int_eq(meg_percentile(v, 0, 50, &p), -1);
    assert_error_has("no scores");
}
END_TEST

START_TEST(anomaly_one_class_and_errors)
{
    const float s[3] = {1, 2, 3};
    const int32_t none[3] = {0, 0, 0}, all[3] = {1, 1, 1};
    meg_anomaly_stats m;
    ck_assert_int_eq(meg_anomaly_metrics(s, none, 3, 80, &m), 0);
    ck_assert(isnan(m.auprc) && isnan(m.auroc));
    ck_assert_uint_eq(m.flagged, 1);
    ck_assert_double_eq(m.precision, 0);
    ck_assert_double_eq(m.recall, 0);
    ck_assert_int_eq(meg_anomaly_metrics(s, all, 3, 80, &m), 0);
    ck_assert(isnan(m.auprc) && isnan(m.auroc));
    ck_assert_double_eq(m.precision, 1);
    ck_assert_double_eq_tol(m.recall, 1.0 / 3, 1e-15);
    char buf[512];
    ck_assert_int_eq(meg_anomaly_stats_json(&m, buf, sizeof buf), 0);
    ck_assert_ptr_nonnull(strstr(buf, "\"auprc\": null, \"auroc\": null"));
    ck_assert_ptr_nonnull(strstr(buf, "\"n\": 3, \"anomalies\": 3, \"percentile\": 80, "));
    ck_assert_ptr_nonnull(strstr(buf, "\"flagged\": 1, \"precision\": 1, "));
    ck_assert_int_eq(meg_anomaly_stats_json(&m, buf, 40), -1);
    assert_error_has("JSON needs");

    const float bad[3] = {1, NAN, 3};
    const int32_t y[3] = {0, 1, 0}, y2[3] = {0, 2, 1};
    double a;
    ck_assert_int_eq(meg_anomaly_metrics(bad, y, 3, 80, &m), -1);
    assert_error_has("row 1");
    assert_error_has("not finite");
    ck_assert_int_eq(meg_anomaly_auprc(bad, y, 3, &a), -1);
    assert_error_has("AUPRC");
    const float inf[2] = {INFINITY, 0};
    ck_assert_int_eq(meg_anomaly_auroc(inf, y, 2, &a), -1);
    assert_error_has("row 0");
    ck_assert_int_eq(meg_anomaly_metrics(s, y2, 3, 80, &m), -1);
    assert_error_has("the label of row 1");
    assert_error_has("is 2");
    ck_assert_int_eq(meg_anomaly_metrics(s, y, 0, 80, &m), -1);
    assert_error_has("no scores");
    ck_assert_int_eq(meg_anomaly_metrics(s, y, 3, -1, &m), -1);
    assert_error_has("outside 0..100");
}
END_TEST

/* A fake model: the score of a row is its first value plus ten times its
 * second; it counts its calls and fails on a row whose first value is -1. */
typedef struct fake_model {
    int calls;
    size_t largest;
} fake_model;

static int fake_energy(void *ctx, const float *x, size_t n, size_t dim, float *scores)
{
    fake_model *f = ctx;
    f->calls++;
    f->largest = n > f->largest ? n : f->largest;
    for (size_t i = 0; i < n; i++) {
        if (x[i * dim] == -1) {
            rt_set_error("the fake model refuses row %zu of its batch", i);
            return -1;
        }
        scores[i] = x[i * dim] + 10 * x[i * dim + 1];
    }
    return 0;
}

START_TEST(anomaly_score_set_through_a_callback)
{
    float x[12] = {0.1f, 0, 0.2f, 0.8f, 0.4f, 0, 0.3f, 0.9f, 0.5f, 0.1f, 0, 0};
    int32_t y[6] = {0, 1, 0, 1, 0, 0};
    meg_dataset d = {.name = "fake", .n = 6, .ndim = 1, .shape = {2}, .x = x, .labels = y};
    fake_model f = {0};
    float sc[6];
    meg_anomaly_stats m, want;
    ck_assert_msg(meg_anomaly_score_set(&d, fake_energy, &f, 4, 80, sc, &m) == 0, "%s", rt_error());
    ck_assert_int_eq(f.calls, 2);
    ck_assert_uint_eq(f.largest, 4);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(sc[i], x[2 * i] + 10 * x[2 * i + 1]);
    ck_assert_int_eq(meg_anomaly_metrics(sc, y, 6, 80, &want), 0);
    ck_assert(!memcmp(&m, &want, sizeof m));
    /* the two anomalies score highest: perfect areas; the 80th percentile
     * of 6 scores is the fifth (8.2): 8.2 and 9.3 are flagged */
    ck_assert_double_eq(m.auprc, 1);
    ck_assert_double_eq(m.auroc, 1);
    ck_assert_double_eq_tol(m.threshold, 8.2, 1e-6);
    ck_assert_uint_eq(m.flagged, 2);
    f.calls = 0;
    ck_assert_int_eq(meg_anomaly_score_set(&d, fake_energy, &f, 0, 80, NULL, &m), 0);
    ck_assert_int_eq(f.calls, 1);
    ck_assert(!memcmp(&m, &want, sizeof m));
    x[10] = -1;   /* row 5: in the second batch */
    ck_assert_int_eq(meg_anomaly_score_set(&d, fake_energy, &f, 4, 80, NULL, &m), -1);
    assert_error_has("fake: scoring rows 4 to 5");
    assert_error_has("refuses row 1");
    d.labels = NULL;
    ck_assert_int_eq(meg_anomaly_score_set(&d, fake_energy, &f, 4, 80, NULL, &m), -1);
    assert_error_has("no labels");
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
    TCase *im = tcase_create("images");
    tcase_add_test(im, mode_ids_from_digits);
    tcase_add_test(im, mode_coverage_known_answers);
    tcase_add_test(im, frechet_known_moments);
    tcase_add_test(im, frechet_of_samples);
    tcase_add_test(im, inception_score_known_answers);
    suite_add_tcase(s, im);
    TCase *an = tcase_create("anomaly");
    tcase_add_test(an, anomaly_known_answers);
    tcase_add_test(an, anomaly_ties);
    tcase_add_test(an, anomaly_areas_match_brute_force);
    tcase_add_test(an, percentile_like_numpy);
    tcase_add_test(an, anomaly_one_class_and_errors);
    tcase_add_test(an, anomaly_score_set_through_a_callback);
    suite_add_tcase(s, an);
    return tf_run(s);
}
