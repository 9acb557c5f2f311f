/* test_data.c: models/data/ without a device: the toy 2-D sets
 * (determinism, mixture statistics, the roll's scale), the CSV reader and
 * its messages, the data-set type from both, and grid points. Suite
 * "data". */
#include "data.h"
#include "filetest.h"
#include "util.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- toy data sets ------------------------------------------------------------ */

static const char *toy_names[] = {"8gaussians", "25gaussians", "swissroll"};

START_TEST(toy_deterministic_per_seed)
{
    const size_t n = 1000;
    float *a = malloc(n * 2 * sizeof *a), *b = malloc(n * 2 * sizeof *b);
    for (int t = 0; t < 3; t++) {
        ck_assert(meg_toy_is_known(toy_names[t]));
        ck_assert_int_eq(meg_toy_generate(toy_names[t], n, 7, a), 0);
        ck_assert_int_eq(meg_toy_generate(toy_names[t], n, 7, b), 0);
        ck_assert_msg(!memcmp(a, b, n * 2 * sizeof *a), "%s: same seed, different data", toy_names[t]);
        /* Point i does not depend on n. */
        ck_assert_int_eq(meg_toy_generate(toy_names[t], 10, 7, b), 0);
        ck_assert(!memcmp(a, b, 10 * 2 * sizeof *a));
        ck_assert_int_eq(meg_toy_generate(toy_names[t], n, 8, b), 0);
        size_t same = 0;
        for (size_t i = 0; i < 2 * n; i++)
            same += a[i] == b[i];
        ck_assert_msg(same < n / 10, "%s: seeds 7 and 8 share %zu coordinates", toy_names[t], same);
    }
    free(a);
    free(b);
}
END_TEST

START_TEST(toy_unknown_name)
{
    float xy[2], c[50], s;
    int k;
    meg_box box;
    ck_assert(!meg_toy_is_known("9gaussians"));
    ck_assert(!meg_toy_is_known(NULL));
    ck_assert_int_eq(meg_toy_generate("9gaussians", 1, 0, xy), -1);
    assert_error_has("9gaussians");
    assert_error_has("swissroll");
    ck_assert_int_eq(meg_toy_modes("moons", c, &k, &s), -1);
    assert_error_has("moons");
    ck_assert_int_eq(meg_toy_box("moons", &box), -1);
}
END_TEST

/* The first points of two sets for seed 7, bit for bit as the generator
 * made them before it moved onto graph.h's g_splitmix64: a data set must not
 * change under a refactor (checkpoints record only its name and seed). */
START_TEST(toy_values_are_pinned)
{
    const float g8[6] = {-0x1.050872p+0f, -0x1.01a3c6p+0f, -0x1.68b6p+0f, 0x1.867dd6p-7f, 0x1.052126p+0f,
                         -0x1.05f388p+0f};
    const float roll[6] = {0x1.6cd436p-1f, -0x1.59663ep+0f, -0x1.83d114p-1f, -0x1.204d1cp+0f, 0x1.510482p+0f,
                           0x1.3114f4p+0f};
    float xy[6];
    ck_assert_int_eq(meg_toy_generate("8gaussians", 3, 7, xy), 0);
    ck_assert_msg(!memcmp(xy, g8, sizeof xy), "8gaussians: %a %a ... changed", xy[0], xy[1]);
    ck_assert_int_eq(meg_toy_generate("swissroll", 3, 7, xy), 0);
    ck_assert_msg(!memcmp(xy, roll, sizeof xy), "swissroll: %a %a ... changed", xy[0], xy[1]);
}
END_TEST

/* Every point within 5 std of its nearest centre in each coordinate, counts
 * per mode about uniform, and the spread per coordinate close to std. */
static void check_mixture(const char *name, int k_want, double scale, double noise)
{
    float c[2 * MEG_TOY_MAX_MODES], std;
    int k;
    ck_assert_int_eq(meg_toy_modes(name, c, &k, &std), 0);
    ck_assert_int_eq(k, k_want);
    ck_assert_double_eq_tol(std, noise / scale, 1e-7);
    const size_t per = 1000, n = per * (size_t)k;
    float *xy = malloc(n * 2 * sizeof *xy);
    size_t count[MEG_TOY_MAX_MODES] = {0};
    double ss = 0;
    ck_assert_int_eq(meg_toy_generate(name, n, 42, xy), 0);
    for (size_t i = 0; i < n; i++) {
        int best = 0;
        double bd = INFINITY;
        for (int m = 0; m < k; m++) {
            double dx = xy[2 * i] - c[2 * m], dy = xy[2 * i + 1] - c[2 * m + 1];
            if (dx * dx + dy * dy < bd)
                bd = dx * dx + dy * dy, best = m;
        }
        double ex = fabs(xy[2 * i] - c[2 * best]) / std, ey = fabs(xy[2 * i + 1] - c[2 * best + 1]) / std;
        ck_assert_msg(ex < 5 && ey < 5, "%s: point %zu is (%g, %g) std from its centre", name, i, ex, ey);
        count[best]++;
        ss += bd;
    }
    for (int m = 0; m < k; m++)   /* binomial sd is about 31: 5 sd */
        ck_assert_msg(count[m] > per - 155 && count[m] < per + 155, "%s: mode %d has %zu points",
                      name, m, count[m]);
    ck_assert_double_eq_tol(sqrt(ss / (2.0 * n)), std, 0.05 * std);
    free(xy);
}

START_TEST(toy_8gaussians_stats)
{
    float c[2 * MEG_TOY_MAX_MODES], std;
    int k;
    check_mixture("8gaussians", 8, 1.414, 0.02);
    ck_assert_int_eq(meg_toy_modes("8gaussians", c, &k, &std), 0);
    for (int m = 0; m < k; m++)
        ck_assert_double_eq_tol(hypot(c[2 * m], c[2 * m + 1]), 2.0 / 1.414, 1e-6);
    ck_assert_double_eq_tol(c[0], 2.0 / 1.414, 1e-6);     /* k = 0 is on the +x axis */
    ck_assert_double_eq_tol(c[1], 0.0, 1e-6);
}
END_TEST

START_TEST(toy_25gaussians_stats)
{
    float c[2 * MEG_TOY_MAX_MODES], std;
    int k;
    check_mixture("25gaussians", 25, 2.828, 0.05);
    ck_assert_int_eq(meg_toy_modes("25gaussians", c, &k, &std), 0);
    float lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < 2 * k; i++)
        lo = fminf(lo, c[i]), hi = fmaxf(hi, c[i]);
    ck_assert_double_eq_tol(lo, -4.0 / 2.828, 1e-6);
    ck_assert_double_eq_tol(hi, 4.0 / 2.828, 1e-6);
}
END_TEST

START_TEST(toy_swissroll_scale)
{
    const size_t n = 20000;
    float *xy = malloc(n * 2 * sizeof *xy), c[2], std;
    int k = -1;
    meg_box box;
    ck_assert_int_eq(meg_toy_modes("swissroll", c, &k, &std), 0);
    ck_assert_int_eq(k, 0);
    ck_assert_int_eq(meg_toy_box("swissroll", &box), 0);
    ck_assert_int_eq(meg_toy_generate("swissroll", n, 3, xy), 0);
    double sum_r = 0, xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double x = xy[2 * i], y = xy[2 * i + 1], r = hypot(x, y) * 7.5;
        ck_assert(x > box.xmin && x < box.xmax && y > box.ymin && y < box.ymax);
        ck_assert_msg(r > 1.5 * M_PI - 1.5 && r < 4.5 * M_PI + 1.5, "radius %g off the roll", r);
        sum_r += r;
        xmin = fmin(xmin, x), xmax = fmax(xmax, x), ymin = fmin(ymin, y), ymax = fmax(ymax, y);
    }
    /* t is uniform on [1.5 pi, 4.5 pi]: mean radius 3 pi before scaling. */
    ck_assert_double_eq_tol(sum_r / n, 3 * M_PI, 0.1);
    /* Extremes of t (cos t, sin t): x in [-3pi, 4pi], y in [-3.5pi, 4.5pi], divided by 7.5. */
    ck_assert_double_eq_tol(xmin, -3 * M_PI / 7.5, 0.12);
    ck_assert_double_eq_tol(xmax, 4 * M_PI / 7.5, 0.12);
    ck_assert_double_eq_tol(ymin, -3.5 * M_PI / 7.5, 0.12);
    ck_assert_double_eq_tol(ymax, 4.5 * M_PI / 7.5, 0.12);
    free(xy);
}
END_TEST

/* ---- CSV -------------------------------------------------------------------------- */

START_TEST(csv_happy_paths)
{
    float *xy = NULL;
    size_t n = 0, cols;
    meg_dataset ds;
    const char *p = tpath("ok.csv");
    write_text(p, "x, y\n1.5, -2\n3e2,4\r\n\n-0.25,  1e-3 \n\n");
    ck_assert_msg(meg_dataset_csv(&ds, p, 2, -1) == 0, "%s", rt_error());
    ck_assert_uint_eq(ds.n, 3);
    ck_assert_int_eq(ds.ndim, 1);
    ck_assert_int_eq(ds.shape[0], 2);
    ck_assert_uint_eq(meg_dataset_dim(&ds), 2);
    ck_assert_ptr_null(ds.labels);
    ck_assert_str_eq(ds.name, p);
    const float want[] = {1.5f, -2, 300, 4, -0.25f, 1e-3f};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(ds.x[i], want[i]);
    meg_dataset_free(&ds);
    ck_assert_ptr_null(ds.x);
    meg_dataset_free(&ds);                 /* a freed set may be freed again */

    write_text(p, "1,2,3\n4,5,6");        /* no header, no final newline, 3 columns */
    cols = 0;
    ck_assert_int_eq(meg_csv_read(p, &cols, &xy, &n), 0);
    ck_assert_uint_eq(cols, 3);
    ck_assert_uint_eq(n, 2);
    ck_assert_float_eq(xy[5], 6);
    free(xy);
}
END_TEST

static void csv_fails(const char *text, size_t cols, const char *where, const char *what)
{
    const char *p = tpath("bad.csv");
    float *d = (float *)1;
    size_t n = 0;
    write_text(p, text);
    ck_assert_int_eq(meg_csv_read(p, &cols, &d, &n), -1);
    ck_assert_ptr_eq(d, (float *)1);      /* outputs untouched on failure */
    char buf[600];
    snprintf(buf, sizeof buf, "%s%s", p, where);
    assert_error_has(buf);
    assert_error_has(what);
}

START_TEST(csv_errors)
{
    csv_fails("x,y\n1,2\n3,4,5\n", 2, ":3:", "expected 2 columns, found 3");
    csv_fails("1,2\n3\n", 0, ":2:", "expected 2 columns, found 1");
    csv_fails("x,y\n1,abc\n", 2, ":2:", "'abc' is not a number");
    csv_fails("1,2\n\n1,2x\n", 2, ":3:", "column 2");
    csv_fails("1,2\nnan,2\n", 2, ":2:", "not finite");
    csv_fails("1,inf\n", 2, ":1:", "not finite");
    csv_fails("1,1e39\n", 2, ":1:", "out of float range");
    csv_fails("1,\n", 2, ":1:", "column 2 is empty");
    csv_fails("x,1\n", 2, ":1:", "'x' is not a number");   /* half a header is not a header */
    csv_fails("x,y\n", 2, "", "no data rows");
    csv_fails("", 2, "", "no data rows");
    csv_fails("x,y,z\n1,2,3\n", 2, ":1:", "expected 2 columns, found 3");

    meg_dataset ds;
    const char *missing = tpath("missing.csv");
    ck_assert_int_eq(meg_dataset_csv(&ds, missing, 2, -1), -1);
    ck_assert_ptr_null(ds.x);
    assert_error_has(missing);
    assert_error_has("cannot open");

    const char *dir = tpath("a_dir.csv");      /* opens, but cannot be read */
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(meg_dataset_csv(&ds, dir, 2, -1), -1);
    assert_error_has(dir);
    assert_error_has("read error");
    rmdir(dir);

    const char *bin = tpath("nul.csv");
    write_bytes(bin, "1,2\n3,\0" "4\n", 9);
    ck_assert_int_eq(meg_dataset_csv(&ds, bin, 2, -1), -1);
    assert_error_has(":2:");
    assert_error_has("NUL");
}
END_TEST

/* A line with no end (--data /dev/zero) was read until memory ran out and
 * then reported as "no data rows"; lines are capped, and the message says
 * which line is too long. Bytes of the file in messages are escaped. */
START_TEST(csv_lines_are_capped_and_bytes_in_messages_are_escaped)
{
    size_t n = (1u << 20) + 10;
    char *big = malloc(n);
    memset(big, '1', n);
    big[n - 1] = '\n';
    const char *p = tpath("long_line.csv");
    write_bytes(p, "1,2\n", 4);
    FILE *f = fopen(p, "ab");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(big, 1, n, f), n);
    fclose(f);
    free(big);
    meg_dataset ds;
    ck_assert_int_eq(meg_dataset_csv(&ds, p, 0, -1), -1);
    assert_error_has(":2:");
    assert_error_has("longer than");
    ck_assert_int_eq(meg_dataset_csv(&ds, "/dev/zero", 0, -1), -1);
    assert_error_has("/dev/zero:1:");
    assert_error_has("longer than");
    /* a terminal escape sequence from the file is shown escaped */
    const char *esc = tpath("escape.csv");
    write_text(esc, "1,2\n3,\033[2Jx\n");
    ck_assert_int_eq(meg_dataset_csv(&ds, esc, 0, -1), -1);
    assert_error_has("\\x1b[2Jx");
    ck_assert_ptr_null(strchr(rt_error(), '\033'));
}
END_TEST

/* ---- the data-set type --------------------------------------------------------------- */

START_TEST(dataset_from_toy)
{
    meg_dataset ds;
    float xy[2 * 50];
    ck_assert_msg(meg_dataset_toy(&ds, "25gaussians", 50, 3) == 0, "%s", rt_error());
    ck_assert_str_eq(ds.name, "25gaussians");
    ck_assert_uint_eq(ds.n, 50);
    ck_assert_int_eq(ds.ndim, 1);
    ck_assert_int_eq(ds.shape[0], 2);
    ck_assert_ptr_null(ds.labels);
    ck_assert_int_eq(meg_toy_generate("25gaussians", 50, 3, xy), 0);
    ck_assert(!memcmp(ds.x, xy, sizeof xy));
    meg_dataset_free(&ds);
    ck_assert_int_eq(meg_dataset_toy(&ds, "moons", 5, 1), -1);
    assert_error_has("moons");
    ck_assert_ptr_null(ds.x);
    ck_assert_ptr_null(ds.name);
}
END_TEST

START_TEST(dataset_csv_with_labels)
{
    meg_dataset ds;
    const char *p = tpath("labels.csv");
    write_text(p, "a,label,b\n1,3,2\n4,-1,5\n7,0,8\n");
    ck_assert_msg(meg_dataset_csv(&ds, p, 0, 1) == 0, "%s", rt_error());
    ck_assert_uint_eq(ds.n, 3);
    ck_assert_int_eq(ds.shape[0], 2);
    ck_assert_uint_eq(meg_dataset_dim(&ds), 2);
    const float x[6] = {1, 2, 4, 5, 7, 8};
    const int32_t y[3] = {3, -1, 0};
    ck_assert(!memcmp(ds.x, x, sizeof x));
    ck_assert_ptr_nonnull(ds.labels);
    ck_assert(!memcmp(ds.labels, y, sizeof y));
    meg_dataset_free(&ds);
    /* the last column as labels, the count of columns given */
    ck_assert_msg(meg_dataset_csv(&ds, p, 3, 2) == 0, "%s", rt_error());
    ck_assert_int_eq(ds.labels[1], 5);
    ck_assert_float_eq(ds.x[3], -1);
    meg_dataset_free(&ds);

    write_text(p, "1,2.5,3\n");
    ck_assert_int_eq(meg_dataset_csv(&ds, p, 0, 1), -1);
    assert_error_has(p);
    assert_error_has("data row 1: label column 2 holds 2.5, not an integer");
    ck_assert_ptr_null(ds.x);
    write_text(p, "1,2\n");
    ck_assert_int_eq(meg_dataset_csv(&ds, p, 0, 2), -1);
    assert_error_has("label column 3, but the file has 2 columns");
    write_text(p, "7\n");
    ck_assert_int_eq(meg_dataset_csv(&ds, p, 0, 0), -1);
    assert_error_has("has 1 columns");
}
END_TEST

/* ---- grids -------------------------------------------------------------------------- */

START_TEST(grid_convention)
{
    float xy[12];
    ck_assert_int_eq(meg_grid_points((meg_box){0, 2, 0, 3}, 2, 3, xy), 0);
    const float want[] = {0.5f, 0.5f, 1.5f, 0.5f, 0.5f, 1.5f, 1.5f, 1.5f, 0.5f, 2.5f, 1.5f, 2.5f};
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq_tol(xy[i], want[i], 1e-6);
    ck_assert_int_eq(meg_grid_points((meg_box){0, 0, 0, 3}, 2, 3, xy), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data");
    TCase *toy = tcase_create("toy");
    tcase_add_test(toy, toy_deterministic_per_seed);
    tcase_add_test(toy, toy_values_are_pinned);
    tcase_add_test(toy, toy_unknown_name);
    tcase_add_test(toy, toy_8gaussians_stats);
    tcase_add_test(toy, toy_25gaussians_stats);
    tcase_add_test(toy, toy_swissroll_scale);
    suite_add_tcase(s, toy);
    TCase *csv = tcase_create("csv");
    tcase_add_test(csv, csv_happy_paths);
    tcase_add_test(csv, csv_errors);
    tcase_add_test(csv, csv_lines_are_capped_and_bytes_in_messages_are_escaped);
    suite_add_tcase(s, csv);
    TCase *ds = tcase_create("dataset");
    tcase_add_test(ds, dataset_from_toy);
    tcase_add_test(ds, dataset_csv_with_labels);
    tcase_add_test(ds, grid_convention);
    suite_add_tcase(s, ds);
    return tf_run(s);
}
