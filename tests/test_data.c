/* test_data.c: models/data/ without a device: the toy 2-D sets
 * (determinism, mixture statistics, the roll's scale), the CSV reader and
 * its messages, the IDX reader (raw and gzipped files it writes itself,
 * every kind of broken file), the data folder and the named image sets,
 * StackedMNIST pools, the data-set type from all of them, grid points, the
 * KDD Cup 99 reader (encoding, split, scaling, every kind of broken row and
 * file), CSV tables of named features (the reader's messages, the label
 * column, the split, the scaling fitted on train or given) and the
 * held-out digit split.
 * When MNIST has been fetched (tools/data mnist), the real files are
 * checked too, and so is the real KDD Cup 99 file when $MEG_TEST_KDD99
 * names one; otherwise those tests say they skipped. Suite "data". */
#include "data.h"
#include "filetest.h"
#include "util.h"

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

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

/* ---- IDX files ------------------------------------------------------------------------ */

/* The bytes of an IDX file: magic, big-endian dims, then data. */
static size_t idx_bytes(unsigned char *out, uint32_t magic, const uint32_t *dims, int ndim, const void *data,
                        size_t n)
{
    size_t k = 0;
    for (int s = 24; s >= 0; s -= 8)
        out[k++] = (unsigned char)(magic >> s);
    for (int d = 0; d < ndim; d++)
        for (int s = 24; s >= 0; s -= 8)
            out[k++] = (unsigned char)(dims[d] >> s);
    memcpy(out + k, data, n);
    return k + n;
}

static void write_gz(const char *path, const void *p, size_t n)
{
    gzFile g = gzopen(path, "wb9");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, p, (unsigned)n), (int)n);
    ck_assert_int_eq(gzclose(g), Z_OK);
}

/* An IDX file at path, gzipped when gz. */
static void write_idx(const char *path, int gz, uint32_t magic, const uint32_t *dims, int ndim, const void *data,
                      size_t n)
{
    unsigned char *buf = malloc(4 + 4 * (size_t)ndim + n);
    size_t len = idx_bytes(buf, magic, dims, ndim, data, n);
    if (gz)
        write_gz(path, buf, len);
    else
        write_bytes(path, buf, len);
    free(buf);
}

/* 5 images of 3 x 4 covering byte values 0, 255 and the ones between, and
 * their labels. */
#define IM_N 5
#define IM_H 3
#define IM_W 4
static unsigned char im_px[IM_N * IM_H * IM_W];
static const unsigned char im_labels[IM_N] = {5, 0, 9, 1, 4};

static void write_digits(const char *images, const char *labels, int gz)
{
    for (size_t i = 0; i < sizeof im_px; i++)
        im_px[i] = (unsigned char)(i * 37 % 256);
    im_px[0] = 0;
    im_px[1] = 255;
    const uint32_t dims[3] = {IM_N, IM_H, IM_W}, ldims[1] = {IM_N};
    write_idx(images, gz, 0x803, dims, 3, im_px, sizeof im_px);
    if (labels)
        write_idx(labels, gz, 0x801, ldims, 1, im_labels, sizeof im_labels);
}

START_TEST(idx_pixel_values)
{
    ck_assert_float_eq(meg_pixel_value(0), -1.0f);
    ck_assert_float_eq(meg_pixel_value(255), 1.0f);
    for (int v = 0; v < 256; v++) {
        float x = meg_pixel_value((uint8_t)v);
        ck_assert_float_eq(x, (float)(v / 255.0 * 2.0 - 1.0));
        ck_assert(x >= -1.0f && x <= 1.0f);
        if (v)
            ck_assert(x > meg_pixel_value((uint8_t)(v - 1)));
    }
}
END_TEST

START_TEST(idx_round_trip_raw_and_gzipped)
{
    for (int gz = 0; gz < 2; gz++) {
        const char *im = tpath(gz ? "im.idx.gz" : "im.idx"), *lb = tpath(gz ? "lb.idx.gz" : "lb.idx");
        write_digits(im, lb, gz);
        meg_idx m;
        ck_assert_msg(meg_idx_read(im, &m) == 0, "%s", rt_error());
        ck_assert_int_eq(m.ndim, 3);
        ck_assert_uint_eq(m.dims[0], IM_N);
        ck_assert_uint_eq(m.dims[1], IM_H);
        ck_assert_uint_eq(m.dims[2], IM_W);
        ck_assert_uint_eq(m.count, sizeof im_px);
        ck_assert(!memcmp(m.data, im_px, sizeof im_px));
        meg_idx_free(&m);
        ck_assert_ptr_null(m.data);

        meg_dataset ds;
        ck_assert_msg(meg_dataset_idx(&ds, im, lb) == 0, "%s", rt_error());
        ck_assert_str_eq(ds.name, im);
        ck_assert_uint_eq(ds.n, IM_N);
        ck_assert_int_eq(ds.ndim, 3);
        ck_assert_int_eq(ds.shape[0], 1);
        ck_assert_int_eq(ds.shape[1], IM_H);
        ck_assert_int_eq(ds.shape[2], IM_W);
        ck_assert_uint_eq(meg_dataset_dim(&ds), IM_H * IM_W);
        for (size_t i = 0; i < sizeof im_px; i++) {
            ck_assert_float_eq(ds.x[i], (float)(im_px[i] / 255.0 * 2.0 - 1.0));
            ck_assert_uint_eq(ds.u8[i], im_px[i]);
        }
        ck_assert_float_eq(ds.x[0], -1.0f);
        ck_assert_float_eq(ds.x[1], 1.0f);
        for (int i = 0; i < IM_N; i++)
            ck_assert_int_eq(ds.labels[i], im_labels[i]);
        meg_dataset_free(&ds);
        ck_assert_ptr_null(ds.u8);

        /* no labels file: no labels */
        ck_assert_msg(meg_dataset_idx(&ds, im, NULL) == 0, "%s", rt_error());
        ck_assert_ptr_null(ds.labels);
        ck_assert_uint_eq(ds.n, IM_N);
        meg_dataset_free(&ds);
    }
    /* a raw images file with gzipped labels; gzip told by content, not name */
    const char *im = tpath("mixed_im"), *lb = tpath("mixed_lb");
    write_digits(im, NULL, 0);
    const uint32_t ldims[1] = {IM_N};
    write_idx(lb, 1, 0x801, ldims, 1, im_labels, IM_N);
    meg_dataset ds;
    ck_assert_msg(meg_dataset_idx(&ds, im, lb) == 0, "%s", rt_error());
    ck_assert_int_eq(ds.labels[2], 9);
    meg_dataset_free(&ds);
    /* two gzip members one after the other are one stream (gzip allows it) */
    unsigned char buf[64];
    size_t len = idx_bytes(buf, 0x801, ldims, 1, im_labels, IM_N);
    const char *two = tpath("two_members.gz");
    gzFile g = gzopen(two, "wb");
    ck_assert_int_eq(gzwrite(g, buf, 5), 5);
    ck_assert_int_eq(gzclose(g), Z_OK);
    g = gzopen(two, "ab");
    ck_assert_int_eq(gzwrite(g, buf + 5, (unsigned)len - 5), (int)len - 5);
    ck_assert_int_eq(gzclose(g), Z_OK);
    meg_idx m;
    ck_assert_msg(meg_idx_read(two, &m) == 0, "%s", rt_error());
    ck_assert_uint_eq(m.count, IM_N);
    ck_assert(!memcmp(m.data, im_labels, IM_N));
    meg_idx_free(&m);
}
END_TEST

/* meg_idx_read on bytes (gzipped when gz) must fail naming the file and
 * saying what; the output is left alone. */
static void idx_fails(const void *bytes, size_t n, int gz, const char *what)
{
    const char *p = tpath(gz ? "bad_idx.gz" : "bad_idx");
    if (gz)
        write_gz(p, bytes, n);
    else
        write_bytes(p, bytes, n);
    meg_idx m = {.ndim = 77, .data = (uint8_t *)1};
    ck_assert_msg(meg_idx_read(p, &m) == -1, "%s: read, should fail with '%s'", p, what);
    ck_assert_int_eq(m.ndim, 77);
    ck_assert_ptr_eq(m.data, (uint8_t *)1);
    assert_error_has(p);
    assert_error_has(what);
}

START_TEST(idx_broken_files)
{
    unsigned char b[4096];
    const unsigned char px[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const uint32_t d222[3] = {2, 2, 2};
    for (int gz = 0; gz < 2; gz++) {
        /* wrong magic: not IDX at all, an unsupported type, no or too many dims */
        idx_fails(b, idx_bytes(b, 0x01000803, d222, 3, px, 8), gz, "not an IDX file (magic number 0x01000803");
        idx_fails("P5\n2 2\n255\n", 11, gz, "not an IDX file");
        idx_fails(b, idx_bytes(b, 0x0D03, d222, 3, px, 8), gz, "type byte 0x0d (float) is not supported");
        idx_fails(b, idx_bytes(b, 0x0903, d222, 3, px, 8), gz, "0x09 (signed byte)");
        idx_fails(b, idx_bytes(b, 0x0800, d222, 0, px, 8), gz, "0 dimensions");
        idx_fails(b, idx_bytes(b, 0x0805, d222, 3, px, 8), gz, "5 dimensions");
        /* truncated: before the magic, in the header, in the data */
        idx_fails("", 0, gz, "truncated: 0 bytes");
        idx_fails("\0\0\x08", 3, gz, "truncated: 3 bytes");
        idx_fails(b, idx_bytes(b, 0x0803, d222, 2, px, 0), gz, "truncated in the header: 3 dimensions need 12 bytes");
        idx_fails(b, idx_bytes(b, 0x0803, d222, 3, px, 5), gz,
                  "truncated: the dimensions say 8 bytes of data, the file holds 5");
        /* trailing bytes */
        size_t len = idx_bytes(b, 0x0803, d222, 3, px, 8);
        memcpy(b + len, "abc", 3);
        idx_fails(b, len + 3, gz, "3 trailing bytes after the 8 bytes of data");
        memset(b + len, 0, 1000);
        idx_fails(b, len + 1000, gz, "at least 256 trailing bytes");
        /* dimensions whose product overflows size_t, or is absurd */
        const uint32_t huge[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, big[3] = {65536, 65536, 2},
                       zero_huge[3] = {0, 0xFFFFFFFFu, 0xFFFFFFFFu};
        idx_fails(b, idx_bytes(b, 0x0803, huge, 3, px, 8), gz,
                  "dimensions 4294967295 x 4294967295 x 4294967295: more than the 4294967296 bytes");
        idx_fails(b, idx_bytes(b, 0x0803, big, 3, px, 8), gz, "dimensions 65536 x 65536 x 2");
        /* a product of 0 is no data, so the 8 bytes trail */
        idx_fails(b, idx_bytes(b, 0x0803, zero_huge, 3, px, 8), gz, "8 trailing bytes after the 0 bytes");
    }
    /* claims 4 GiB, holds 8 bytes: truncated, found without allocating it */
    const uint32_t max[1] = {0xFFFFFFFFu};
    idx_fails(b, idx_bytes(b, 0x0801, max, 1, px, 8), 1, "the dimensions say 4294967295 bytes of data, the file holds 8");

    /* gzip streams that are broken: a corrupt body, a wrong CRC, cut short,
     * garbage after the stream */
    const char *good = tpath("good.gz");
    write_digits(good, NULL, 1);
    size_t n;
    unsigned char *z = read_bytes(good, &n);
    ck_assert_uint_gt(n, 30);
    unsigned char *c = malloc(n + 16);
    memcpy(c, z, n);
    c[n - 8] ^= 0xFF;                       /* CRC-32 of the trailer */
    const char *p = tpath("corrupt.gz");
    write_bytes(p, c, n);
    meg_idx m;
    ck_assert_int_eq(meg_idx_read(p, &m), -1);
    assert_error_has(p);
    assert_error_has("gzip stream corrupt: incorrect data check");
    memcpy(c, z, n);
    c[n - 2] ^= 0x01;                       /* uncompressed length in the trailer */
    write_bytes(p, c, n);
    ck_assert_int_eq(meg_idx_read(p, &m), -1);
    assert_error_has("gzip stream corrupt: incorrect length check");
    memcpy(c, z, n);
    c[10] = 0xFF;                           /* the first deflate block header: type 3 is reserved */
    write_bytes(p, c, n);
    ck_assert_int_eq(meg_idx_read(p, &m), -1);
    assert_error_has(p);
    assert_error_has("gzip stream corrupt");
    memcpy(c, z, n);
    c[3] = 0xE0;                            /* reserved header flags */
    write_bytes(p, c, n);
    ck_assert_int_eq(meg_idx_read(p, &m), -1);
    assert_error_has("gzip stream corrupt");
    for (size_t cut = 2; cut < n; cut += 7) {
        write_bytes(p, z, cut);
        ck_assert_int_eq(meg_idx_read(p, &m), -1);
        assert_error_has(p);
        assert_error_has("gzip stream truncated");
    }
    memcpy(c, z, n);
    memcpy(c + n, "junk", 4);
    write_bytes(p, c, n + 4);
    ck_assert_int_eq(meg_idx_read(p, &m), -1);
    assert_error_has("bytes after the end of the gzip stream");
    memcpy(c + n, "\x1f\x8bjunk", 6);       /* looks like a second member, is not */
    write_bytes(p, c, n + 6);
    ck_assert_int_eq(meg_idx_read(p, &m), -1);
    assert_error_has("gzip stream corrupt");
    free(c);
    free(z);

    const char *missing = tpath("no_such.idx");
    ck_assert_int_eq(meg_idx_read(missing, &m), -1);
    assert_error_has(missing);
    assert_error_has("cannot open");
    const char *dir = tpath("a_dir.idx");
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(meg_idx_read(dir, &m), -1);
    assert_error_has(dir);
    rmdir(dir);
}
END_TEST

/* The data-set constructor's own checks: the kinds of file, the counts,
 * the labels; a failure leaves the set zeroed. */
static void dataset_idx_fails(const char *im, const char *lb, const char *who, const char *what)
{
    meg_dataset ds;
    memset(&ds, 0x5a, sizeof ds);
    ck_assert_msg(meg_dataset_idx(&ds, im, lb) == -1, "should fail with '%s'", what);
    ck_assert_ptr_null(ds.x);
    ck_assert_ptr_null(ds.u8);
    ck_assert_ptr_null(ds.labels);
    ck_assert_ptr_null(ds.name);
    assert_error_has(who);
    assert_error_has(what);
}

START_TEST(idx_dataset_errors)
{
    const char *im = tpath("ds_im"), *lb = tpath("ds_lb"), *bad = tpath("ds_bad");
    write_digits(im, lb, 0);
    /* each file where the other belongs */
    dataset_idx_fails(lb, lb, lb, "not an images file: 1 dimension (magic 0x00000801)");
    dataset_idx_fails(lb, lb, lb, "is it the labels file?");
    dataset_idx_fails(im, im, im, "not a labels file: 3 dimensions (magic 0x00000803)");
    dataset_idx_fails(im, im, im, "is it the images file?");
    /* counts that differ */
    const uint32_t four[1] = {4}, d2[2] = {5, 12}, d0[3] = {0, 3, 4}, d50[3] = {5, 0, 4};
    write_idx(bad, 0, 0x801, four, 1, im_labels, 4);
    dataset_idx_fails(im, bad, bad, "4 labels, but");
    dataset_idx_fails(im, bad, im, "holds 5 images");
    /* a label outside 0-9 */
    const unsigned char ten[IM_N] = {1, 2, 10, 3, 4};
    const uint32_t five[1] = {IM_N};
    write_idx(bad, 1, 0x801, five, 1, ten, IM_N);
    dataset_idx_fails(im, bad, bad, "label 2 (counted from 0) is 10, not a digit class 0-9");
    /* images of the wrong rank, or with no pixels */
    write_idx(bad, 0, 0x802, d2, 2, im_px, sizeof im_px);
    dataset_idx_fails(bad, NULL, bad, "not an images file: 2 dimensions");
    write_idx(bad, 0, 0x803, d0, 3, im_px, 0);
    dataset_idx_fails(bad, NULL, bad, "no data");
    write_idx(bad, 0, 0x803, d50, 3, im_px, 0);
    dataset_idx_fails(bad, NULL, bad, "no data");
    /* the reader's errors come through */
    dataset_idx_fails(im, tpath("missing_lb"), "missing_lb", "cannot open");
    write_bytes(bad, "\0\0\x08\x03", 4);
    dataset_idx_fails(bad, lb, bad, "truncated in the header");
}
END_TEST

/* ---- the data folder and the named sets ----------------------------------------------------- */

/* The environment the data folder reads, saved and put back. */
typedef struct saved_env {
    char *v[3];
} saved_env;
static const char *env_names[3] = {"MEG_DATA_DIR", "XDG_CACHE_HOME", "HOME"};

static saved_env env_save(void)
{
    saved_env s;
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(env_names[i]);
        s.v[i] = v ? strdup(v) : NULL;
    }
    return s;
}

static void env_restore(saved_env *s)
{
    for (int i = 0; i < 3; i++) {
        if (s->v[i])
            setenv(env_names[i], s->v[i], 1);
        else
            unsetenv(env_names[i]);
        free(s->v[i]);
    }
}

START_TEST(data_dir_precedence)
{
    saved_env saved = env_save();
    char buf[512];
    setenv("MEG_DATA_DIR", "/env/data", 1);
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    setenv("HOME", "/home/u", 1);
    ck_assert_int_eq(meg_data_dir(buf, sizeof buf, "/given"), 0);
    ck_assert_str_eq(buf, "/given");
    ck_assert_int_eq(meg_data_dir(buf, sizeof buf, NULL), 0);
    ck_assert_str_eq(buf, "/env/data");
    setenv("MEG_DATA_DIR", "", 1);             /* empty counts as unset */
    ck_assert_int_eq(meg_data_dir(buf, sizeof buf, NULL), 0);
    ck_assert_str_eq(buf, "/xdg/meg/data");
    unsetenv("MEG_DATA_DIR");
    ck_assert_int_eq(meg_data_dir(buf, sizeof buf, NULL), 0);
    ck_assert_str_eq(buf, "/xdg/meg/data");
    /* the cache folder's own rule, whatever it is, plus /data */
    char cache[512];
    ck_assert_int_eq(rt_cache_dir(cache, sizeof cache), 0);
    ck_assert_str_eq(buf, strcat(cache, "/data"));
    unsetenv("XDG_CACHE_HOME");
    ck_assert_int_eq(meg_data_dir(buf, sizeof buf, NULL), 0);
    ck_assert_str_eq(buf, "/home/u/.cache/meg/data");
    unsetenv("HOME");
    ck_assert_int_eq(meg_data_dir(buf, sizeof buf, NULL), -1);
    assert_error_has("MEG_DATA_DIR");
    ck_assert_int_eq(meg_data_dir(buf, sizeof buf, "/given"), 0);   /* needs no environment */
    ck_assert_str_eq(buf, "/given");
    ck_assert_int_eq(meg_data_dir(buf, sizeof buf, ""), -1);
    assert_error_has("empty");
    ck_assert_int_eq(meg_data_dir(buf, 4, "/given"), -1);
    assert_error_has("too long");
    ck_assert_str_eq(buf, "");
    env_restore(&saved);
}
END_TEST

START_TEST(image_set_names)
{
    const char *yes[] = {"mnist", "fashion", "stackedmnist3", "stackedmnist4"};
    for (int i = 0; i < 4; i++) {
        ck_assert(meg_dataset_is_image_name(yes[i]));
        ck_assert_ptr_nonnull(strstr(meg_dataset_image_names(), yes[i]));
        ck_assert(!meg_toy_is_known(yes[i]));
    }
    const char *no[] = {"8gaussians", "swissroll", "MNIST", "mnist.csv", "stackedmnist", "stackedmnist5", ""};
    for (int i = 0; i < 7; i++)
        ck_assert_msg(!meg_dataset_is_image_name(no[i]), "%s", no[i]);
    ck_assert(!meg_dataset_is_image_name(NULL));
    ck_assert_int_eq(meg_stacked_name_k("stackedmnist3"), 3);
    ck_assert_int_eq(meg_stacked_name_k("stackedmnist4"), 4);
    ck_assert_int_eq(meg_stacked_name_k("mnist"), 0);
    ck_assert_int_eq(meg_stacked_name_k(NULL), 0);
}
END_TEST

START_TEST(named_sets_in_a_data_folder)
{
    saved_env saved = env_save();
    char dir[512], sub[600];
    snprintf(dir, sizeof dir, "%s", tpath("datadir"));
    snprintf(sub, sizeof sub, "%s/mnist", dir);
    ck_assert_int_eq(rt_mkdirs(sub), 0);
    /* train: raw images, gzipped labels; test: only the images */
    char im[700], lb[700];
    snprintf(im, sizeof im, "%s/train-images-idx3-ubyte", sub);
    snprintf(lb, sizeof lb, "%s/train-labels-idx1-ubyte.gz", sub);
    write_digits(im, lb, 0);
    const uint32_t ldims[1] = {IM_N};
    write_idx(lb, 1, 0x801, ldims, 1, im_labels, IM_N);
    snprintf(im, sizeof im, "%s/t10k-images-idx3-ubyte.gz", sub);
    write_digits(im, NULL, 1);

    meg_dataset ds;
    ck_assert_msg(meg_dataset_named(&ds, "mnist", "train", dir) == 0, "%s", rt_error());
    ck_assert_str_eq(ds.name, "mnist");
    ck_assert_uint_eq(ds.n, IM_N);
    ck_assert_int_eq(ds.shape[1], IM_H);
    ck_assert_int_eq(ds.labels[0], 5);
    ck_assert_uint_eq(ds.u8[1], 255);
    meg_dataset_free(&ds);
    /* the folder from the environment */
    setenv("MEG_DATA_DIR", dir, 1);
    ck_assert_msg(meg_dataset_named(&ds, "mnist", "train", NULL) == 0, "%s", rt_error());
    meg_dataset_free(&ds);

    /* a missing file: named, with the command that fetches it */
    char want[800];
    ck_assert_int_eq(meg_dataset_named(&ds, "mnist", "test", dir), -1);
    ck_assert_ptr_null(ds.x);
    snprintf(want, sizeof want, "%s/t10k-labels-idx1-ubyte: no such file (nor with .gz)", sub);
    assert_error_has(want);
    snprintf(want, sizeof want, "`tools/data mnist --data-dir %s`", dir);
    assert_error_has(want);
    ck_assert_int_eq(meg_dataset_named(&ds, "fashion", "train", NULL), -1);
    snprintf(want, sizeof want, "%s/fashion/train-images-idx3-ubyte", dir);
    assert_error_has(want);
    assert_error_has("`tools/data fashion`");   /* the tool reads MEG_DATA_DIR too */

    /* names and splits that are not sets */
    ck_assert_int_eq(meg_dataset_named(&ds, "cifar10", "train", dir), -1);
    assert_error_has("unknown image data set 'cifar10'");
    ck_assert_int_eq(meg_dataset_named(&ds, "stackedmnist3", "train", dir), -1);
    assert_error_has("meg_stacked_new");
    ck_assert_int_eq(meg_dataset_named(&ds, "mnist", "val", dir), -1);
    assert_error_has("unknown split 'val' (train or test)");
    ck_assert_int_eq(meg_dataset_named(&ds, "mnist", NULL, dir), -1);
    ck_assert_int_eq(meg_dataset_named(&ds, NULL, "train", dir), -1);
    env_restore(&saved);
}
END_TEST

/* ---- StackedMNIST ------------------------------------------------------------------------- */

/* 50 one-channel "digits" of 2 x 3 pixels, digit i labelled i % 10, its
 * pixels i + p / 8 so that an image shows which digit it is. */
static void fake_digits(meg_dataset *d, size_t n)
{
    memset(d, 0, sizeof *d);
    d->name = strdup("fake digits");
    d->n = n;
    d->ndim = 3;
    d->shape[0] = 1;
    d->shape[1] = 2;
    d->shape[2] = 3;
    d->x = malloc(n * 6 * sizeof *d->x);
    d->labels = malloc(n * sizeof *d->labels);
    for (size_t i = 0; i < n; i++) {
        d->labels[i] = (int32_t)(i % 10);
        for (int p = 0; p < 6; p++)
            d->x[i * 6 + (size_t)p] = (float)i + (float)p / 8;
    }
}

START_TEST(stacked_pool)
{
    meg_dataset digits;
    fake_digits(&digits, 50);
    for (int k = 3; k <= 4; k++) {
        meg_stacked s, t;
        ck_assert_msg(meg_stacked_new(&s, &digits, k, MEG_STACKED_SEED) == 0, "%s", rt_error());
        size_t modes = meg_stacked_modes(k);
        ck_assert_uint_eq(modes, k == 3 ? 1000 : 10000);
        ck_assert_uint_eq(s.n, 128 * modes);
        ck_assert_int_eq(s.k, k);
        /* each mode is the labels' number, channel 0 most significant */
        for (size_t i = 0; i < s.n; i++) {
            int32_t m = 0;
            for (int j = 0; j < k; j++) {
                int32_t t = s.index[i * (size_t)k + (size_t)j];
                ck_assert(t >= 0 && t < 50);
                m = m * 10 + digits.labels[t];
            }
            ck_assert_int_eq(s.modes[i], m);
        }
        /* the histogram: 10^k counts summing to n, each the number of its
         * mode, about 128 each (binomial sd about 11: 6 sd allowed) */
        size_t *h = calloc(modes, sizeof *h), sum = 0, lo = SIZE_MAX, hi = 0;
        ck_assert_int_eq(meg_stacked_histogram(&s, h), 0);
        for (size_t m = 0; m < modes; m++) {
            sum += h[m];
            lo = h[m] < lo ? h[m] : lo;
            hi = h[m] > hi ? h[m] : hi;
        }
        ck_assert_uint_eq(sum, s.n);
        ck_assert_msg(lo > 128 - 68 && hi < 128 + 68, "k=%d: mode counts from %zu to %zu", k, lo, hi);
        size_t c = 0;
        for (size_t i = 0; i < s.n; i++)
            c += s.modes[i] == 123;
        ck_assert_uint_eq(h[123], c);
        free(h);
        /* the same seed, the same pool; another seed, another */
        ck_assert_int_eq(meg_stacked_new(&t, &digits, k, MEG_STACKED_SEED), 0);
        ck_assert(!memcmp(s.index, t.index, s.n * (size_t)k * sizeof *s.index));
        ck_assert(!memcmp(s.modes, t.modes, s.n * sizeof *s.modes));
        meg_stacked_free(&t);
        ck_assert_int_eq(meg_stacked_new(&t, &digits, k, MEG_STACKED_SEED + 1), 0);
        size_t same = 0;
        for (size_t i = 0; i < s.n * (size_t)k; i++)
            same += s.index[i] == t.index[i];
        ck_assert_msg(same < s.n * (size_t)k / 10, "seeds differ, %zu of the indices agree", same);
        meg_stacked_free(&t);
        ck_assert_ptr_null(t.index);
        meg_stacked_free(&s);
    }
    meg_dataset_free(&digits);
}
END_TEST

/* The first entries of the 3-digit pool over 50 digits for the programs'
 * seed, as the generator made them first: the pool must not change under
 * a refactor (its histogram is what a run is measured against). */
START_TEST(stacked_values_are_pinned)
{
    meg_dataset digits;
    fake_digits(&digits, 50);
    meg_stacked s;
    ck_assert_int_eq(meg_stacked_new(&s, &digits, 3, MEG_STACKED_SEED), 0);
    const int32_t want[12] = {18, 42, 19, 11, 24, 29, 21, 26, 28, 21, 21, 0};
    char got[256];
    int len = 0;
    for (int i = 0; i < 12; i++)
        len += snprintf(got + len, sizeof got - (size_t)len, "%d, ", s.index[i]);
    ck_assert_msg(!memcmp(s.index, want, sizeof want), "pool changed: %s", got);
    meg_stacked_free(&s);
    meg_dataset_free(&digits);
}
END_TEST

START_TEST(stacked_images_and_errors)
{
    meg_dataset digits;
    fake_digits(&digits, 50);
    meg_stacked s;
    ck_assert_int_eq(meg_stacked_new(&s, &digits, 3, 5), 0);
    const size_t entries[3] = {0, 777, s.n - 1};
    float out[3 * 3 * 6];
    ck_assert_int_eq(meg_stacked_images(&s, &digits, entries, 3, out), 0);
    for (int e = 0; e < 3; e++)
        for (int j = 0; j < 3; j++)
            for (int p = 0; p < 6; p++) {
                int32_t t = s.index[entries[e] * 3 + (size_t)j];
                ck_assert_float_eq(out[(e * 3 + j) * 6 + p], digits.x[(size_t)t * 6 + (size_t)p]);
            }
    const size_t past[1] = {s.n};
    ck_assert_int_eq(meg_stacked_images(&s, &digits, past, 1, out), -1);
    assert_error_has("the pool has 128000");
    meg_dataset other;
    fake_digits(&other, 40);
    ck_assert_int_eq(meg_stacked_images(&s, &other, entries, 1, out), -1);
    assert_error_has("drawn from 50");
    meg_stacked_free(&s);

    meg_stacked bad;
    ck_assert_int_eq(meg_stacked_new(&bad, &digits, 5, 1), -1);
    assert_error_has("1 to 4");
    ck_assert_int_eq(meg_stacked_new(&bad, &digits, 0, 1), -1);
    ck_assert_ptr_null(bad.index);
    other.labels[7] = 10;
    ck_assert_int_eq(meg_stacked_new(&bad, &other, 2, 1), -1);
    assert_error_has("digit 7 has label 10");
    ck_assert_ptr_null(bad.index);
    free(other.labels);
    other.labels = NULL;
    ck_assert_int_eq(meg_stacked_new(&bad, &other, 3, 1), -1);
    assert_error_has("needs the digits' labels");
    other.shape[0] = 3;
    ck_assert_int_eq(meg_stacked_new(&bad, &other, 3, 1), -1);
    assert_error_has("one-channel");
    ck_assert_int_eq(meg_stacked_histogram(&bad, NULL), -1);
    ck_assert_uint_eq(meg_stacked_modes(5), 0);
    meg_dataset_free(&other);
    meg_dataset_free(&digits);
}
END_TEST

/* ---- KDD Cup 99 ------------------------------------------------------------------------ */

/* One row of a small KDD file: the encoded columns, duration (column 1,
 * unique per row so that rows can be found again), v (numeric column c
 * holds v * c), num_outbound_cmds (column 20) and the label. */
typedef struct krow {
    const char *proto, *service, *flag;
    int land, logged, host, guest;
    double dur, v, outb;
    const char *label;
} krow;

static const krow kdd_rows[] = {
    {"tcp", "http", "SF", 0, 1, 0, 0, 10, 1, 7, "smurf."},
    {"udp", "private", "SF", 0, 0, 0, 0, 11, 2, 7, "neptune."},
    {"icmp", "ecr_i", "S0", 0, 0, 0, 0, 12, 3, 7, "smurf."},
    {"tcp", "smtp", "SF", 1, 1, 0, 1, 13, 4, 7, "normal."},
    {"tcp", "ftp", "REJ", 0, 1, 0, 0, 14, 5, 9, "normal."},
    {"tcp", "http", "SF", 0, 1, 0, 0, 15, 6, 7, "back."},
    {"udp", "private", "S0", 0, 0, 0, 0, 16, 7, 9, "normal."},
    {"icmp", "ecr_i", "SF", 0, 0, 0, 0, 17, 8, 7, "smurf."},
    {"tcp", "http", "S1", 0, 1, 0, 0, 18, 9, 7, "teardrop."},
    {"tcp", "telnet", "SF", 0, 1, 1, 0, 19, 10, 9, "normal."},
};
#define KDD_N (sizeof kdd_rows / sizeof kdd_rows[0])
static const int kdd_cat_cols[7] = {1, 2, 3, 6, 11, 20, 21};

/* Raw column c (0-based, 0..40) of row r as the file holds it. */
static void kdd_field(const krow *r, int c, char *buf, size_t n)
{
    const char *s = NULL;
    int b = -1;
    switch (c) {
    case 1: s = r->proto; break;
    case 2: s = r->service; break;
    case 3: s = r->flag; break;
    case 6: b = r->land; break;
    case 11: b = r->logged; break;
    case 20: b = r->host; break;
    case 21: b = r->guest; break;
    case 0: snprintf(buf, n, "%g", r->dur); return;
    case 19: snprintf(buf, n, "%g", r->outb); return;
    default: snprintf(buf, n, "%g", r->v * c); return;
    }
    if (s)
        snprintf(buf, n, "%s", s);
    else
        snprintf(buf, n, "%d", b);
}

/* The rows as a KDD file's text (malloc'ed). */
static char *kdd_text(const krow *rows, size_t n)
{
    char *t = malloc(n * 400 + 1), f[64];
    size_t len = 0;
    t[0] = 0;
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < 41; c++) {
            kdd_field(&rows[i], c, f, sizeof f);
            len += (size_t)sprintf(t + len, "%s,", f);
        }
        len += (size_t)sprintf(t + len, "%s\n", rows[i].label);
    }
    return t;
}

static void write_kdd(const char *path, const krow *rows, size_t n, int gz)
{
    char *t = kdd_text(rows, n);
    if (gz)
        write_gz(path, t, strlen(t));
    else
        write_text(path, t);
    free(t);
}

static int is_cat_col(int c)
{
    for (int k = 0; k < 7; k++)
        if (kdd_cat_cols[k] == c)
            return 1;
    return 0;
}

static int by_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The row of kdd_rows with this duration, or -1. */
static int kdd_row_of(double dur)
{
    for (size_t i = 0; i < KDD_N; i++)
        if (kdd_rows[i].dur == dur)
            return (int)i;
    return -1;
}

/* Checks raw (unscaled) sets against kdd_rows: the split's sizes, which
 * rows went where (train: attacks only), the numeric columns, and the
 * one-hot blocks recomputed here from the rows the categories come from
 * (every row, or only those in train). */
static void check_kdd_raw(const meg_dataset *tr, const meg_dataset *te, const meg_kdd99_info *in, int from_train)
{
    int where[KDD_N];   /* 0: not in an output (an anomaly of the training half), 1 train, 2 test */
    for (size_t i = 0; i < KDD_N; i++)
        where[i] = 0;
    const meg_dataset *sets[2] = {tr, te};
    int D = in->features;
    ck_assert_uint_eq(in->rows, KDD_N);
    ck_assert_uint_eq(in->train_half, KDD_N / 2);
    ck_assert_uint_eq(in->test_half, KDD_N - KDD_N / 2);
    ck_assert_uint_eq(te->n, in->test_half);
    ck_assert_uint_eq(tr->n + in->train_dropped, in->train_half);
    ck_assert_uint_eq(in->anomalies, 4);
    for (int s = 0; s < 2; s++) {
        ck_assert_int_eq(sets[s]->ndim, 1);
        ck_assert_int_eq(sets[s]->shape[0], D);
        int last = -1;
        for (size_t r = 0; r < sets[s]->n; r++) {
            int i = kdd_row_of(sets[s]->x[r * (size_t)D]);
            ck_assert_msg(i >= 0 && !where[i], "set %d row %zu: duration %g", s, r, sets[s]->x[r * (size_t)D]);
            ck_assert_int_gt(i, last);   /* the file's order */
            last = i;
            where[i] = s + 1;
            int normal = !strcmp(kdd_rows[i].label, "normal.");
            ck_assert_int_eq(sets[s]->labels[r], normal);
            if (s == 0)
                ck_assert(!normal);
        }
    }
    size_t dropped = 0, test_anom = 0;
    for (size_t i = 0; i < KDD_N; i++) {
        int normal = !strcmp(kdd_rows[i].label, "normal.");
        if (!where[i])
            ck_assert_msg(normal, "attack row %zu is in neither set", i);
        dropped += !where[i];
        test_anom += where[i] == 2 && normal;
    }
    ck_assert_uint_eq(dropped, in->train_dropped);
    ck_assert_uint_eq(test_anom, in->test_anomalies);
    /* the blocks: sorted distinct values of the rows they come from */
    int f = 34;
    char val[64];
    for (int k = 0; k < 7; k++) {
        const char *names[KDD_N];
        char store[KDD_N][64];
        size_t m = 0;
        for (size_t i = 0; i < KDD_N; i++) {
            if (from_train && where[i] != 1)
                continue;
            kdd_field(&kdd_rows[i], kdd_cat_cols[k], val, sizeof val);
            int dup = 0;
            for (size_t j = 0; j < m; j++)
                dup |= !strcmp(names[j], val);
            if (!dup) {
                snprintf(store[m], sizeof store[m], "%s", val);
                names[m] = store[m];
                m++;
            }
        }
        qsort(names, m, sizeof *names, by_str);
        ck_assert_int_eq(in->categories[k], (int)m);
        for (size_t j = 0; j < m; j++) {
            char want[128];
            static const char *const cn[7] = {"protocol_type", "service", "flag", "land", "logged_in",
                                              "is_host_login", "is_guest_login"};
            snprintf(want, sizeof want, "%s=%s", cn[k], names[j]);
            ck_assert_str_eq(meg_kdd99_feature_name(in, f + (int)j), want);
        }
        for (int s = 0; s < 2; s++)
            for (size_t r = 0; r < sets[s]->n; r++) {
                const float *x = sets[s]->x + r * (size_t)D;
                int i = kdd_row_of(x[0]);
                kdd_field(&kdd_rows[i], kdd_cat_cols[k], val, sizeof val);
                for (size_t j = 0; j < m; j++)
                    ck_assert_float_eq(x[f + (int)j], strcmp(names[j], val) ? 0.0f : 1.0f);
            }
        f += (int)m;
    }
    ck_assert_int_eq(f, D);
    /* the numeric columns, in file order */
    for (int s = 0; s < 2; s++)
        for (size_t r = 0; r < sets[s]->n; r++) {
            const float *x = sets[s]->x + r * (size_t)D;
            int i = kdd_row_of(x[0]), j = 0;
            for (int c = 0; c < 41; c++) {
                if (is_cat_col(c))
                    continue;
                kdd_field(&kdd_rows[i], c, val, sizeof val);
                ck_assert_float_eq(x[j], (float)strtod(val, NULL));
                j++;
            }
        }
    ck_assert_str_eq(meg_kdd99_feature_name(in, 0), "duration");
    ck_assert_str_eq(meg_kdd99_feature_name(in, 33), "dst_host_srv_rerror_rate");
    ck_assert_str_eq(meg_kdd99_feature_name(in, D), "");
    ck_assert_str_eq(meg_kdd99_feature_name(in, -1), "");
}

START_TEST(kdd_features_split_and_labels)
{
    for (int gz = 0; gz < 2; gz++)
        for (int from_train = 0; from_train < 2; from_train++) {
            const char *p = tpath(gz ? "kdd.gz" : "kdd.txt");
            write_kdd(p, kdd_rows, KDD_N, gz);
            meg_kdd99_options o;
            meg_kdd99_options_default(&o);
            ck_assert_uint_eq(o.seed, MEG_KDD99_SEED);
            o.no_scaling = 1;
            o.categories = from_train ? MEG_KDD99_CATEGORIES_TRAIN : MEG_KDD99_CATEGORIES_FILE;
            meg_dataset tr, te;
            meg_kdd99_info in;
            ck_assert_msg(meg_dataset_kdd99(&tr, &te, p, &o, &in) == 0, "%s", rt_error());
            check_kdd_raw(&tr, &te, &in, from_train);
            if (!from_train) {
                /* every value of the file: 3 protocols, 6 services, 4 flags, 2 + 2 + 2 + 2 */
                ck_assert_int_eq(in.features, 34 + 3 + 6 + 4 + 2 + 2 + 2 + 2);
                /* the categories of the file do not depend on the split */
                meg_kdd99_options o2 = o;
                o2.seed = 12345;
                meg_dataset tr2, te2;
                meg_kdd99_info in2;
                ck_assert_int_eq(meg_dataset_kdd99(&tr2, &te2, p, &o2, &in2), 0);
                ck_assert_int_eq(in2.features, in.features);
                check_kdd_raw(&tr2, &te2, &in2, 0);
                meg_dataset_free(&tr2);
                meg_dataset_free(&te2);
                meg_kdd99_info_free(&in2);
            } else {
                /* ftp, REJ and telnet occur in normal rows only: never trained on */
                for (int j = 0; j < in.features; j++) {
                    ck_assert_ptr_null(strstr(meg_kdd99_feature_name(&in, j), "=ftp"));
                    ck_assert_ptr_null(strstr(meg_kdd99_feature_name(&in, j), "=REJ"));
                    ck_assert_ptr_null(strstr(meg_kdd99_feature_name(&in, j), "=telnet"));
                }
            }
            ck_assert_str_eq(tr.name, gz ? tpath("kdd.gz:train") : tpath("kdd.txt:train"));
            meg_dataset_free(&tr);
            meg_dataset_free(&te);
            meg_kdd99_info_free(&in);
            ck_assert_ptr_null(in.min);
        }
}
END_TEST

START_TEST(kdd_scaling_fitted_on_train)
{
    const char *p = tpath("kdd_scale.txt");
    write_kdd(p, kdd_rows, KDD_N, 0);
    meg_kdd99_options o;
    meg_kdd99_options_default(&o);
    meg_dataset rtr, rte, tr, te;
    meg_kdd99_info rin, in;
    o.no_scaling = 1;
    ck_assert_int_eq(meg_dataset_kdd99(&rtr, &rte, p, &o, &rin), 0);
    o.no_scaling = 0;
    ck_assert_int_eq(meg_dataset_kdd99(&tr, &te, p, &o, &in), 0);
    ck_assert_int_eq(in.features, rin.features);
    ck_assert_uint_eq(tr.n, rtr.n);
    size_t D = (size_t)in.features;
    int constant_seen = 0;
    for (size_t j = 0; j < D; j++) {
        /* the scaling is fitted on the rows of train, with or without applying it */
        double lo = INFINITY, hi = -INFINITY;
        for (size_t r = 0; r < rtr.n; r++) {
            lo = fmin(lo, rtr.x[r * D + j]);
            hi = fmax(hi, rtr.x[r * D + j]);
        }
        ck_assert_double_eq(in.min[j], lo);
        ck_assert_double_eq(in.max[j], hi);
        ck_assert_double_eq(rin.min[j], lo);
        ck_assert_double_eq(rin.max[j], hi);
        double range = hi > lo ? hi - lo : 1;
        for (size_t r = 0; r < tr.n; r++) {
            ck_assert(tr.x[r * D + j] >= 0.0f && tr.x[r * D + j] <= 1.0f);
            ck_assert_float_eq(tr.x[r * D + j], (float)((rtr.x[r * D + j] - lo) / range));
        }
        for (size_t r = 0; r < te.n; r++)
            ck_assert_float_eq(te.x[r * D + j], (float)((rte.x[r * D + j] - lo) / range));
        if (hi == lo)
            for (size_t r = 0; r < tr.n; r++)
                ck_assert_float_eq(tr.x[r * D + j], 0.0f);
    }
    /* num_outbound_cmds (feature 14) is 7 in every attack row, 9 in some
     * normal ones: constant in training, so 9 is shifted to 2, not divided */
    ck_assert_str_eq(meg_kdd99_feature_name(&in, 14), "num_outbound_cmds");
    ck_assert_double_eq(in.min[14], 7);
    ck_assert_double_eq(in.max[14], 7);
    for (size_t r = 0; r < te.n; r++)
        if (rte.x[r * D + 14] == 9) {
            ck_assert_float_eq(te.x[r * D + 14], 2.0f);
            constant_seen++;
        }
    ck_assert_int_gt(constant_seen, 0);
    meg_dataset_free(&rtr);
    meg_dataset_free(&rte);
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
    meg_kdd99_info_free(&rin);
    meg_kdd99_info_free(&in);
    /* info is optional, options too */
    ck_assert_int_eq(meg_dataset_kdd99(&tr, &te, p, NULL, NULL), 0);
    ck_assert_uint_eq(te.n, KDD_N - KDD_N / 2);
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
}
END_TEST

/* A test value far outside a tiny training range saturates at FLT_MAX
 * instead of becoming infinite. */
START_TEST(kdd_scaling_saturates)
{
    krow rows[KDD_N];
    for (size_t i = 0; i < KDD_N; i++) {
        rows[i] = kdd_rows[i];
        int normal = !strcmp(rows[i].label, "normal.");
        rows[i].v = normal ? 1e30 : i % 2 ? 1e-30 : 2e-30;
    }
    const char *p = tpath("kdd_sat.txt");
    write_kdd(p, rows, KDD_N, 0);
    meg_dataset tr, te;
    meg_kdd99_info in;
    ck_assert_msg(meg_dataset_kdd99(&tr, &te, p, NULL, &in) == 0, "%s", rt_error());
    /* src_bytes (feature 1) holds 4 v: 4e-30 and 8e-30 in train, 4e30 in normal rows */
    ck_assert_str_eq(meg_kdd99_feature_name(&in, 1), "src_bytes");
    ck_assert_double_eq_tol(in.max[1] - in.min[1], 4e-30, 1e-36);
    size_t saturated = 0;
    for (size_t r = 0; r < te.n; r++) {
        ck_assert(isfinite(te.x[r * (size_t)in.features + 1]));
        if (te.labels[r]) {
            ck_assert_float_eq(te.x[r * (size_t)in.features + 1], FLT_MAX);
            saturated++;
        }
    }
    ck_assert_uint_gt(saturated, 0);
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
    meg_kdd99_info_free(&in);
}
END_TEST

/* The split depends on the seed only, is half the rows, and is pinned: a
 * refactor must not move rows between the halves (a run's numbers are
 * reported by seed). */
START_TEST(kdd_split_is_seeded_and_pinned)
{
    enum { N = 1000 };
    krow *rows = malloc(N * sizeof *rows);
    for (int i = 0; i < N; i++) {
        rows[i] = kdd_rows[i % KDD_N];
        rows[i].dur = i;
        rows[i].label = i % 5 == 0 ? "normal." : "smurf.";
    }
    const char *p = tpath("kdd_big.txt");
    write_kdd(p, rows, N, 0);
    meg_kdd99_options o;
    meg_kdd99_options_default(&o);
    o.no_scaling = 1;
    meg_dataset a, at, b, bt;
    meg_kdd99_info ia, ib;
    ck_assert_int_eq(meg_dataset_kdd99(&a, &at, p, &o, &ia), 0);
    ck_assert_int_eq(meg_dataset_kdd99(&b, &bt, p, &o, &ib), 0);
    ck_assert_uint_eq(a.n, b.n);
    ck_assert(!memcmp(a.x, b.x, a.n * meg_dataset_dim(&a) * sizeof *a.x));
    ck_assert_uint_eq(ia.train_half, N / 2);
    ck_assert_uint_eq(ia.test_half, N / 2);
    ck_assert_uint_eq(ia.anomalies, N / 5);
    ck_assert_uint_eq(ia.train_dropped + ia.test_anomalies, N / 5);
    ck_assert_uint_eq(a.n, N / 2 - ia.train_dropped);
    /* about half of the 200 anomalies in each half */
    ck_assert(ia.test_anomalies > 70 && ia.test_anomalies < 130);
    size_t D = meg_dataset_dim(&a);
    /* the pin: what the default seed gave when the reader was written */
    ck_assert_uint_eq(a.n, 408);
    ck_assert_uint_eq(ia.test_anomalies, 108);
    const float first[4] = {1, 7, 12, 13};
    for (int r = 0; r < 4; r++)
        ck_assert_float_eq(a.x[(size_t)r * D], first[r]);
    meg_dataset_free(&b);
    meg_dataset_free(&bt);
    meg_kdd99_info_free(&ib);
    o.seed = 2;
    ck_assert_int_eq(meg_dataset_kdd99(&b, &bt, p, &o, &ib), 0);
    size_t same = 0, m = a.n < b.n ? a.n : b.n;
    for (size_t r = 0; r < m; r++)
        same += a.x[r * D] == b.x[r * D];
    ck_assert_msg(same < m / 4, "seeds %u and 2 put %zu of %zu train rows in the same places", MEG_KDD99_SEED,
                  same, m);
    meg_dataset_free(&a);
    meg_dataset_free(&at);
    meg_dataset_free(&b);
    meg_dataset_free(&bt);
    meg_kdd99_info_free(&ia);
    meg_kdd99_info_free(&ib);
    free(rows);
}
END_TEST

/* text holds good rows with `bad` as line 3 (or alone when bad starts
 * with '!'): loading must fail naming the file, the line and what. */
static void kdd_fails_bytes(const char *bytes, size_t n, int gz, const char *where, const char *what)
{
    const char *p = tpath(gz ? "bad_kdd.gz" : "bad_kdd.txt");
    if (gz)
        write_gz(p, bytes, n);
    else
        write_bytes(p, bytes, n);
    meg_dataset tr = {.n = 77}, te = {.n = 77};
    meg_kdd99_info in;
    ck_assert_msg(meg_dataset_kdd99(&tr, &te, p, NULL, &in) == -1, "%s: loaded, should fail with '%s'", p, what);
    ck_assert_ptr_null(tr.x);
    ck_assert_ptr_null(te.x);
    ck_assert_uint_eq(tr.n, 0);
    ck_assert_uint_eq(te.n, 0);
    char buf[600];
    snprintf(buf, sizeof buf, "%s%s", p, where);
    assert_error_has(buf);
    assert_error_has(what);
}

/* Two good rows, then line 3 made of good fields with field c (0-based)
 * replaced by value (c = -1: the whole line is value). */
static void kdd_bad_line(int c, const char *value, const char *what)
{
    char *good = kdd_text(kdd_rows, 2), line[1200], f[64];
    size_t len = 0;
    if (c < 0) {
        snprintf(line, sizeof line, "%s", value);
    } else {
        for (int k = 0; k <= 41; k++) {
            if (k == c)
                snprintf(f, sizeof f, "%s", value);
            else if (k == 41)
                snprintf(f, sizeof f, "smurf.");
            else
                kdd_field(&kdd_rows[2], k, f, sizeof f);
            len += (size_t)snprintf(line + len, sizeof line - len, "%s%s", f, k < 41 ? "," : "");
        }
    }
    char *all = malloc(2 * strlen(good) + strlen(line) + 200);
    sprintf(all, "%s%s\n%s", good, line, good);
    for (int gz = 0; gz < 2; gz++)
        kdd_fails_bytes(all, strlen(all), gz, ":3:", what);
    free(all);
    free(good);
}

START_TEST(kdd_broken_rows)
{
    /* field counts */
    char *one = kdd_text(kdd_rows, 1);
    one[strlen(one) - 1] = 0;
    char line[1500];
    char *cut = strrchr(one, ',');
    *cut = 0;   /* 41 fields: the label is gone */
    kdd_bad_line(-1, one, "expected 42 fields (41 features and a label), found 41");
    *cut = ',';
    snprintf(line, sizeof line, "0,%s", one);
    kdd_bad_line(-1, line, "found 43");
    kdd_bad_line(-1, "1,2,3", "found 3");
    free(one);
    /* numbers */
    kdd_bad_line(0, "12x", "column 1 (duration): '12x' is not a number");
    kdd_bad_line(4, "", "column 5 (src_bytes) is empty");
    kdd_bad_line(24, "nan", "column 25 (serror_rate): 'nan' is not a finite float");
    kdd_bad_line(5, "inf", "not a finite float");
    kdd_bad_line(5, "1e39", "not a finite float");
    kdd_bad_line(6, "2", "column 7 (land): '2' is neither 0 nor 1");
    kdd_bad_line(11, "yes", "column 12 (logged_in): 'yes' is not a number");
    /* categories */
    kdd_bad_line(2, "ht tp", "column 3 (service): 'ht tp' is not a category name");
    kdd_bad_line(1, "", "column 2 (protocol_type) is empty");
    kdd_bad_line(3, "S\x1b[31m", "'S\\x1b[31m' is not a category name");   /* escaped in the message */
    kdd_bad_line(2, "a_service_name_of_more_than_31_bytes", "at most 31 bytes");
    /* labels */
    kdd_bad_line(41, "normal", "label 'normal' is not a KDD Cup 99 label");
    kdd_bad_line(41, "smurf..", "label 'smurf..' is not");
    kdd_bad_line(41, ".", "label '.' is not");
    kdd_bad_line(41, "", "label '' is not");
    kdd_bad_line(41, "3", "label '3' is not");
    /* bytes that are not text */
    char *good = kdd_text(kdd_rows, 3);
    size_t n = strlen(good);
    char *nul = malloc(n + 1);
    memcpy(nul, good, n);
    nul[n - 10] = '\0';   /* inside line 3 */
    kdd_fails_bytes(nul, n, 0, ":3:", "NUL byte");
    free(nul);
    size_t big = 10000;
    char *longl = malloc(n + big + 2);
    memcpy(longl, good, n);
    memset(longl + n, '1', big);
    longl[n + big] = '\n';
    kdd_fails_bytes(longl, n + big + 1, 0, ":4:", "longer than 4096 bytes");
    kdd_fails_bytes(longl, n + big + 1, 1, ":4:", "longer than 4096 bytes");
    free(longl);
    free(good);
}
END_TEST

START_TEST(kdd_broken_files)
{
    /* no rows, one row, nothing to train on */
    kdd_fails_bytes("", 0, 0, "", "no data rows");
    kdd_fails_bytes("\n  \n\r\n", 5, 1, "", "no data rows");
    char *one = kdd_text(kdd_rows, 1);
    kdd_fails_bytes(one, strlen(one), 0, "", "the 50/50 split needs at least 2");
    free(one);
    krow normals[6];
    for (int i = 0; i < 6; i++) {
        normals[i] = kdd_rows[3];
        normals[i].label = "normal.";
    }
    char *all_normal = kdd_text(normals, 6);
    kdd_fails_bytes(all_normal, strlen(all_normal), 0, "", "holds no attack rows");
    free(all_normal);

    /* gzip: a flipped CRC, a cut stream */
    char *good = kdd_text(kdd_rows, KDD_N);
    const char *gp = tpath("kdd_ok.gz");
    write_gz(gp, good, strlen(good));
    size_t gn;
    unsigned char *gzb = read_bytes(gp, &gn);
    gzb[gn - 6] ^= 0x55;   /* the CRC-32 in the trailer */
    kdd_fails_bytes((const char *)gzb, gn, 0, "", "gzip stream corrupt");
    gzb[gn - 6] ^= 0x55;
    kdd_fails_bytes((const char *)gzb, gn / 2, 0, "", "gzip stream truncated");
    free(gzb);

    /* not there, a folder, an unknown option */
    meg_dataset tr, te;
    const char *missing = tpath("no_such_kdd");
    ck_assert_int_eq(meg_dataset_kdd99(&tr, &te, missing, NULL, NULL), -1);
    assert_error_has(missing);
    assert_error_has("cannot open");
    const char *dir = tpath("kdd_dir");
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(meg_dataset_kdd99(&tr, &te, dir, NULL, NULL), -1);
    assert_error_has(dir);
    rmdir(dir);
    const char *p = tpath("kdd_opt.txt");
    write_text(p, good);
    meg_kdd99_options o;
    meg_kdd99_options_default(&o);
    o.categories = 7;
    ck_assert_int_eq(meg_dataset_kdd99(&tr, &te, p, &o, NULL), -1);
    assert_error_has("categories option 7");
    /* what is accepted: CRLF, spaces around fields, "0.0" for 0, no final newline */
    char *crlf = malloc(strlen(good) * 2 + 8);
    size_t k = 0;
    for (const char *s = good; *s; s++) {
        if (*s == '\n')
            crlf[k++] = '\r';
        crlf[k++] = *s == ',' && s[1] == '0' && s[2] == ',' ? ',' : *s;
    }
    crlf[k - 2] = 0;   /* no final CRLF */
    char *spaced = malloc(k * 2);
    size_t m = 0;
    for (const char *s = crlf; *s; s++) {
        spaced[m++] = *s;
        if (*s == ',')
            spaced[m++] = ' ';
    }
    spaced[m] = 0;
    write_text(p, spaced);
    meg_dataset a, at;
    ck_assert_msg(meg_dataset_kdd99(&a, &at, p, NULL, NULL) == 0, "%s", rt_error());
    write_text(p, good);
    ck_assert_int_eq(meg_dataset_kdd99(&tr, &te, p, NULL, NULL), 0);
    ck_assert_uint_eq(a.n, tr.n);
    ck_assert(!memcmp(a.x, tr.x, a.n * meg_dataset_dim(&a) * sizeof *a.x));
    meg_dataset_free(&a);
    meg_dataset_free(&at);
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
    free(spaced);
    free(crlf);
    free(good);
}
END_TEST

/* ---- MNIST with one digit held out ------------------------------------------------------ */

/* n images of [1, 2, 2] whose first byte is a unique id (first + i), label
 * (i + shift) % 10, x the bytes as floats. */
static void id_images(meg_dataset *d, const char *name, size_t n, int first, int shift, int bytes)
{
    memset(d, 0, sizeof *d);
    d->name = strdup(name);
    d->n = n;
    d->ndim = 3;
    d->shape[0] = 1;
    d->shape[1] = 2;
    d->shape[2] = 2;
    d->x = malloc(n * 4 * sizeof *d->x);
    d->labels = malloc(n * sizeof *d->labels);
    d->u8 = bytes ? malloc(n * 4) : NULL;
    for (size_t i = 0; i < n; i++) {
        d->labels[i] = (int32_t)((i + (size_t)shift) % 10);
        for (int j = 0; j < 4; j++) {
            uint8_t v = (uint8_t)(j ? 200 + j : first + (int)i);
            d->x[i * 4 + (size_t)j] = v;
            if (bytes)
                d->u8[i * 4 + (size_t)j] = v;
        }
    }
}

START_TEST(heldout_digit_split)
{
    meg_dataset a, b, tr, te;
    id_images(&a, "a", 40, 0, 0, 1);
    id_images(&b, "b", 20, 100, 3, 1);
    const int d = 3;
    /* normals: 36 of a, 18 of b; 80% of 54 is 43.2: 43 train, 11 test + 6 of d */
    ck_assert_msg(meg_dataset_heldout_digit(&tr, &te, &a, &b, d, MEG_HELDOUT_SEED) == 0, "%s", rt_error());
    ck_assert_uint_eq(tr.n, 43);
    ck_assert_uint_eq(te.n, 11 + 6);
    ck_assert_int_eq(tr.ndim, 3);
    ck_assert_int_eq(te.shape[2], 2);
    ck_assert_str_eq(tr.name, "a:without-3:train");
    ck_assert_ptr_nonnull(tr.u8);
    int seen[256] = {0};
    size_t anomalies = 0;
    const meg_dataset *sets[2] = {&tr, &te};
    for (int s = 0; s < 2; s++) {
        int last = -1;
        for (size_t r = 0; r < sets[s]->n; r++) {
            int id = sets[s]->u8[r * 4];
            ck_assert_float_eq(sets[s]->x[r * 4], (float)id);
            ck_assert_float_eq(sets[s]->x[r * 4 + 3], 203.0f);
            ck_assert_int_eq(sets[s]->u8[r * 4 + 2], 202);
            ck_assert_int_gt(id, last);   /* a's order then b's */
            last = id;
            ck_assert_int_eq(seen[id], 0);
            seen[id] = 1;
            int digit = id < 100 ? id % 10 : (id - 100 + 3) % 10;
            ck_assert_int_eq(sets[s]->labels[r], digit == d);
            if (s == 0)
                ck_assert_int_ne(digit, d);
            anomalies += sets[s]->labels[r];
        }
    }
    ck_assert_uint_eq(anomalies, 6);
    for (int id = 0; id < 40; id++)
        ck_assert(seen[id]);
    for (int id = 100; id < 120; id++)
        ck_assert(seen[id]);
    /* the same seed, the same split; another seed, another */
    meg_dataset tr2, te2;
    ck_assert_int_eq(meg_dataset_heldout_digit(&tr2, &te2, &a, &b, d, MEG_HELDOUT_SEED), 0);
    ck_assert(!memcmp(tr.u8, tr2.u8, tr.n * 4));
    meg_dataset_free(&tr2);
    meg_dataset_free(&te2);
    ck_assert_int_eq(meg_dataset_heldout_digit(&tr2, &te2, &a, &b, d, 5), 0);
    ck_assert_uint_eq(tr2.n, 43);
    ck_assert(memcmp(tr.u8, tr2.u8, tr.n * 4));
    meg_dataset_free(&tr2);
    meg_dataset_free(&te2);
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
    /* one source; a source without bytes gives sets without bytes */
    ck_assert_int_eq(meg_dataset_heldout_digit(&tr, &te, &a, NULL, 0, 1), 0);
    ck_assert_uint_eq(tr.n, 36 * 4 / 5);
    ck_assert_uint_eq(te.n, 40 - 36 * 4 / 5);
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
    free(b.u8);
    b.u8 = NULL;
    ck_assert_int_eq(meg_dataset_heldout_digit(&tr, &te, &a, &b, 9, 1), 0);
    ck_assert_ptr_null(tr.u8);
    ck_assert_ptr_null(te.u8);
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
    meg_dataset_free(&b);
    meg_dataset_free(&a);
}
END_TEST

START_TEST(heldout_digit_errors)
{
    meg_dataset a, b, tr, te;
    id_images(&a, "a", 20, 0, 0, 1);
    id_images(&b, "b", 20, 100, 0, 1);
    ck_assert_int_eq(meg_dataset_heldout_digit(&tr, &te, &a, &b, 10, 1), -1);
    assert_error_has("held-out digit 10");
    ck_assert_int_eq(meg_dataset_heldout_digit(&tr, &te, &a, &b, -1, 1), -1);
    b.shape[1] = 4;
    b.shape[2] = 1;
    ck_assert_int_eq(meg_dataset_heldout_digit(&tr, &te, &a, &b, 1, 1), -1);
    assert_error_has("b: held-out digit split: its images are not the shape of a's");
    b.shape[1] = 2;
    b.shape[2] = 2;
    b.labels[7] = 11;
    ck_assert_int_eq(meg_dataset_heldout_digit(&tr, &te, &a, &b, 1, 1), -1);
    assert_error_has("b: held-out digit split: label 7 (counted from 0) is 11");
    b.labels[7] = 7;
    int32_t *keep = a.labels;
    a.labels = NULL;
    ck_assert_int_eq(meg_dataset_heldout_digit(&tr, &te, &a, &b, 1, 1), -1);
    assert_error_has("has no labels");
    a.labels = keep;
    for (size_t i = 0; i < a.n; i++)
        a.labels[i] = 4;
    ck_assert_int_eq(meg_dataset_heldout_digit(&tr, &te, &a, NULL, 4, 1), -1);
    assert_error_has("every image is of it");
    ck_assert_int_eq(meg_dataset_heldout_digit(&tr, &te, &a, NULL, 5, 1), -1);
    assert_error_has("no image of it");
    ck_assert_ptr_null(tr.x);
    ck_assert_ptr_null(te.x);
    meg_dataset_free(&a);
    meg_dataset_free(&b);
}
END_TEST

/* ---- the real KDD Cup 99 file, when there ------------------------------------------------ */

/* $MEG_TEST_KDD99 (tests/meson.build points it at ../shared/data/kddcup99/
 * beside the source tree): the counts of UCI's file and of the protocol. */
START_TEST(real_kdd99_when_present)
{
    const char *p = getenv("MEG_TEST_KDD99");
    struct stat st;
    if (!p || !*p || stat(p, &st)) {
        printf("data: skipped the real KDD Cup 99 file: %s\n", p && *p ? p : "MEG_TEST_KDD99 is not set");
        if (p && *p)
            printf("data: (no such file: %s)\n", p);
        return;
    }
    meg_dataset tr, te;
    meg_kdd99_info in;
    ck_assert_msg(meg_dataset_kdd99(&tr, &te, p, NULL, &in) == 0, "%s", rt_error());
    ck_assert_uint_eq(in.rows, 494021);
    ck_assert_uint_eq(in.anomalies, 97278);
    ck_assert_int_eq(in.features, 121);
    const int cats[7] = {3, 66, 11, 2, 2, 1, 2};
    for (int k = 0; k < 7; k++)
        ck_assert_int_eq(in.categories[k], cats[k]);
    ck_assert_uint_eq(in.train_half, 247010);
    ck_assert_uint_eq(in.test_half, 247011);
    ck_assert_uint_eq(tr.n, in.train_half - in.train_dropped);
    ck_assert_uint_eq(te.n, in.test_half);
    /* the default seed's split, pinned (the numbers the notes report) */
    ck_assert_uint_eq(tr.n, 198325);
    ck_assert_uint_eq(in.test_anomalies, 48593);
    double share = (double)in.test_anomalies / (double)te.n;
    ck_assert_msg(share > 0.19 && share < 0.205, "test anomaly share %g", share);
    /* counted first and asserted once: a check per value costs a write each */
    size_t D = 121, anom = 0, outside = 0, labelled = 0;
    for (size_t i = 0; i < tr.n * D; i++)
        outside += !(tr.x[i] >= 0.0f && tr.x[i] <= 1.0f);
    for (size_t r = 0; r < tr.n; r++)
        labelled += tr.labels[r] != 0;
    for (size_t r = 0; r < te.n; r++)
        anom += (size_t)te.labels[r];
    ck_assert_uint_eq(outside, 0);
    ck_assert_uint_eq(labelled, 0);
    ck_assert_uint_eq(anom, in.test_anomalies);
    ck_assert_str_eq(meg_kdd99_feature_name(&in, 34), "protocol_type=icmp");
    ck_assert_str_eq(meg_kdd99_feature_name(&in, 120), "is_guest_login=1");
    printf("data: real KDD Cup 99 file %s: %zu rows (%zu normal.), %d features; train %zu rows (%zu anomalies "
           "of the training half left out), test %zu rows, %zu anomalies (%.4f)\n",
           p, in.rows, in.anomalies, in.features, tr.n, in.train_dropped, te.n, in.test_anomalies, share);
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
    meg_kdd99_info_free(&in);
}
END_TEST

/* ---- the real files, when fetched ------------------------------------------------------------ */

START_TEST(real_mnist_when_fetched)
{
    char dir[4096], probe[4200];
    struct stat st;
    if (meg_data_dir(dir, sizeof dir, NULL)) {
        printf("data: skipped the real MNIST files: no data folder (%s)\n", rt_error());
        return;
    }
    snprintf(probe, sizeof probe, "%s/mnist/train-labels-idx1-ubyte", dir);
    if (stat(probe, &st)) {
        snprintf(probe, sizeof probe, "%s/mnist/train-labels-idx1-ubyte.gz", dir);
        if (stat(probe, &st)) {
            printf("data: skipped the real MNIST files: not fetched into %s (tools/data mnist)\n", dir);
            return;
        }
    }
    meg_dataset tr, te;
    ck_assert_msg(meg_dataset_named(&tr, "mnist", "train", NULL) == 0, "%s", rt_error());
    ck_assert_msg(meg_dataset_named(&te, "mnist", "test", NULL) == 0, "%s", rt_error());
    ck_assert_uint_eq(tr.n, 60000);
    ck_assert_uint_eq(te.n, 10000);
    ck_assert_int_eq(tr.shape[1], 28);
    ck_assert_int_eq(tr.shape[2], 28);
    /* the well-known first labels of each split */
    const int32_t tr5[5] = {5, 0, 4, 1, 9}, te5[5] = {7, 2, 1, 0, 4};
    ck_assert(!memcmp(tr.labels, tr5, sizeof tr5));
    ck_assert(!memcmp(te.labels, te5, sizeof te5));
    size_t per[10] = {0};
    for (size_t i = 0; i < tr.n; i++)
        per[tr.labels[i]]++;
    ck_assert_uint_eq(per[1], 6742);   /* the commonest class of the training set */
    ck_assert_uint_eq(per[5], 5421);   /* the rarest */
    ck_assert_float_eq(tr.x[0], -1.0f); /* the border is blank */
    /* table 2.4's sets for digit 1: 7,877 ones (6,742 + 1,135), 62,123
     * normals of which floor(4/5) train */
    meg_dataset htr, hte;
    ck_assert_int_eq(meg_dataset_heldout_digit(&htr, &hte, &tr, &te, 1, MEG_HELDOUT_SEED), 0);
    ck_assert_uint_eq(htr.n, 62123 * 4 / 5);
    ck_assert_uint_eq(hte.n, 70000 - 62123 * 4 / 5);
    size_t ones = 0;
    for (size_t i = 0; i < hte.n; i++)
        ones += (size_t)hte.labels[i];
    ck_assert_uint_eq(ones, 7877);
    ck_assert_ptr_nonnull(htr.u8);
    meg_dataset_free(&htr);
    meg_dataset_free(&hte);
    meg_stacked s;
    ck_assert_int_eq(meg_stacked_new(&s, &tr, 4, MEG_STACKED_SEED), 0);
    size_t *h = calloc(10000, sizeof *h), nonzero = 0;
    ck_assert_int_eq(meg_stacked_histogram(&s, h), 0);
    for (int m = 0; m < 10000; m++)
        nonzero += h[m] > 0;
    ck_assert_uint_eq(nonzero, 10000);   /* 128 expected per mode: none empty */
    free(h);
    meg_stacked_free(&s);
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
    printf("data: checked the real MNIST files in %s/mnist\n", dir);
}
END_TEST

/* ---- CSV tables of the user's features (table.c, tabular.c) ------------------ */

/* meg_csv_table_read of text must fail with an error holding path:line and want. */
static void table_fails(const char *name, const char *text, const char *line, const char *want)
{
    const char *p = tpath(name);
    write_text(p, text);
    meg_csv_table t;
    ck_assert_int_eq(meg_csv_table_read(p, &t), -1);
    ck_assert_ptr_null(t.v);
    ck_assert_ptr_null(t.names);
    char where[4200];
    snprintf(where, sizeof where, "%s%s", p, line);
    assert_error_has(where);
    assert_error_has(want);
}

START_TEST(table_good_files)
{
    /* a byte order mark, a quoted name, CRLF line ends, spaces, blank lines, exponents */
    const char *p = tpath("table_good.csv");
    write_text(p, "\xEF\xBB\xBF" "\"first\", second ,y\r\n1,2.5,0\r\n\r\n -3e2 , 0x10 ,1\r\n  \n4,5,0");
    meg_csv_table t;
    ck_assert_msg(meg_csv_table_read(p, &t) == 0, "%s", rt_error());
    ck_assert_int_eq(t.cols, 3);
    ck_assert_uint_eq(t.rows, 3);
    ck_assert_str_eq(t.names[0], "first");
    ck_assert_str_eq(t.names[1], "second");
    ck_assert_str_eq(t.names[2], "y");
    static const double want[9] = {1, 2.5, 0, -300, 16, 1, 4, 5, 0};
    for (int i = 0; i < 9; i++)
        ck_assert_double_eq(t.v[i], want[i]);
    /* the file's lines, blank ones counted, for later messages */
    ck_assert_uint_eq(t.lines[0], 2);
    ck_assert_uint_eq(t.lines[1], 4);
    ck_assert_uint_eq(t.lines[2], 6);
    ck_assert_int_eq(meg_csv_table_column(&t, p, "second"), 1);
    ck_assert_int_eq(meg_csv_table_column(&t, p, "nope"), -1);
    assert_error_has("no column is named 'nope' (the header names 'first', 'second', 'y')");
    meg_csv_table_free(&t);
    meg_csv_table_free(&t);   /* a freed table is zeroed */
    /* a numeric header is still the header: the first line always names the columns */
    write_text(p, "0,1\n5,6\n");
    ck_assert_int_eq(meg_csv_table_read(p, &t), 0);
    ck_assert_uint_eq(t.rows, 1);
    ck_assert_str_eq(t.names[1], "1");
    meg_csv_table_free(&t);
    /* the same name twice is an error only when it is looked up */
    write_text(p, "a,a,b\n1,2,3\n");
    ck_assert_int_eq(meg_csv_table_read(p, &t), 0);
    ck_assert_int_eq(meg_csv_table_column(&t, p, "b"), 2);
    ck_assert_int_eq(meg_csv_table_column(&t, p, "a"), -1);
    assert_error_has("columns 1 and 2 are both named 'a'");
    meg_csv_table_free(&t);
}
END_TEST

START_TEST(table_broken_rows)
{
    const char *h = "a,b,c\n1,2,3\n";
    char text[256];
#define ROW(r) (snprintf(text, sizeof text, "%s%s\n4,5,6\n", h, r), text)
    table_fails("t1.csv", ROW("1,x,3"), ":3:", "column 2 (b): 'x' is not a number");
    table_fails("t2.csv", ROW("1,2"), ":3:", "column 3 (c) is missing: 2 cells, the header names 3 columns");
    table_fails("t3.csv", ROW("1,2,3,4"), ":3:", "column 4 is past the last named one: 4 cells");
    table_fails("t4.csv", ROW("nan,2,3"), ":3:", "column 1 (a): 'nan' is not finite");
    table_fails("t5.csv", ROW("1,-inf,3"), ":3:", "column 2 (b): '-inf' is not finite");
    table_fails("t6.csv", ROW("1,,3"), ":3:", "column 2 (b) is empty");
    table_fails("t7.csv", ROW("1,2,1e39"), ":3:", "column 3 (c): '1e39' is out of float range");
    table_fails("t8.csv", ROW("1,2,3x"), ":3:", "column 3 (c): '3x' is not a number");
    table_fails("t9.csv", ROW("1,2,\"3\""), ":3:", "column 3 (c): '\"3\"' is not a number");
    table_fails("t10.csv", ROW("1,2,\x1b[31m"), ":3:", "'\\x1b[31m' is not a number");   /* escaped */
    /* CRLF files count lines the same way */
    table_fails("t11.csv", "a,b\r\n1,2\r\n3,oops\r\n", ":3:", "column 2 (b): 'oops' is not a number");
#undef ROW
    /* empty files, a header alone */
    const char *p = tpath("t_empty.csv");
    meg_csv_table t;
    write_text(p, "");
    ck_assert_int_eq(meg_csv_table_read(p, &t), -1);
    assert_error_has("t_empty.csv: empty file");
    write_text(p, "\n  \n");
    ck_assert_int_eq(meg_csv_table_read(p, &t), -1);
    assert_error_has("empty file");
    write_text(p, "a,b\n\n");
    ck_assert_int_eq(meg_csv_table_read(p, &t), -1);
    assert_error_has("t_empty.csv: a header and no data rows");
    ck_assert_int_eq(meg_csv_table_read(tpath("t_missing.csv"), &t), -1);
    assert_error_has("t_missing.csv: cannot open");
    write_bytes(p, "a,b\n1,2\n3\0,4\n", 13);
    ck_assert_int_eq(meg_csv_table_read(p, &t), -1);
    assert_error_has(":3: NUL byte");
}
END_TEST

/* A table of n rows: columns "id" (the row's index), "y" (the label: row
 * i is an anomaly when i % 5 == 0), "lin" (2i - 100), "k" (7 everywhere
 * except 9 in anomalies: constant on the normal rows trained on). */
static const char *write_labelled(const char *name, int n)
{
    const char *p = tpath(name);
    size_t cap = 64 + (size_t)n * 48, at = 0;
    char *s = malloc(cap);
    at += (size_t)snprintf(s + at, cap - at, "id,y,lin,k\n");
    for (int i = 0; i < n; i++)
        at += (size_t)snprintf(s + at, cap - at, "%d,%d,%d,%d\n", i, i % 5 == 0, 2 * i - 100, i % 5 ? 7 : 9);
    write_text(p, s);
    free(s);
    return p;
}

START_TEST(tabular_label_column_and_split)
{
    const int N = 101;
    const char *p = write_labelled("tab_split.csv", N);
    meg_tabular_options o;
    meg_tabular_options_default(&o);
    o.label = "y";
    o.no_scaling = 1;
    meg_dataset tr, te;
    meg_tabular_info in;
    ck_assert_msg(meg_dataset_tabular(&tr, &te, p, &o, &in) == 0, "%s", rt_error());
    /* the label column (second) is taken out; the others stay in file order */
    ck_assert_int_eq(in.features, 3);
    ck_assert_int_eq(tr.shape[0], 3);
    ck_assert_int_eq(te.shape[0], 3);
    ck_assert_ptr_null(tr.labels);
    ck_assert_ptr_nonnull(te.labels);
    /* the counts add up */
    ck_assert_uint_eq(in.rows, N);
    ck_assert_uint_eq(in.anomalies, 21);
    ck_assert_uint_eq(in.train_half, N / 2);
    ck_assert_uint_eq(in.test_half, N - N / 2);
    ck_assert_uint_eq(te.n, N - N / 2);
    ck_assert_uint_eq(tr.n + in.train_dropped, N / 2);
    ck_assert_uint_eq(in.train_dropped + in.test_anomalies, in.anomalies);
    /* the split is meg_split_half's with the fixed seed; train holds only
     * normal rows of its half, test every row of the other, in file order */
    uint8_t half[101];
    ck_assert_int_eq(meg_split_half(N, MEG_CSV_SEED, half), 0);
    size_t a = 0, b = 0, test_anom = 0;
    for (int i = 0; i < N; i++) {
        int anomaly = i % 5 == 0;
        if (half[i] && anomaly) continue;
        const meg_dataset *d = half[i] ? &tr : &te;
        size_t r = half[i] ? a++ : b++;
        ck_assert_float_eq(d->x[r * 3], (float)i);
        ck_assert_float_eq(d->x[r * 3 + 1], (float)(2 * i - 100));
        if (!half[i]) {
            ck_assert_int_eq(te.labels[r], anomaly);
            test_anom += (size_t)anomaly;
        }
    }
    ck_assert_uint_eq(a, tr.n);
    ck_assert_uint_eq(b, te.n);
    ck_assert_uint_eq(test_anom, in.test_anomalies);
    ck_assert_uint_gt(in.test_anomalies, 0);
    ck_assert_ptr_nonnull(strstr(tr.name, "tab_split.csv:train"));
    ck_assert_ptr_nonnull(strstr(te.name, "tab_split.csv:test"));
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
    meg_tabular_info_free(&in);
}
END_TEST

START_TEST(tabular_scaling_fitted_on_train)
{
    const int N = 101;
    const char *p = write_labelled("tab_scale.csv", N);
    meg_tabular_options o;
    meg_tabular_options_default(&o);
    o.label = "y";
    meg_dataset rtr, rte, tr, te, gtr, gte;
    meg_tabular_info rin, in, gin;
    o.no_scaling = 1;
    ck_assert_int_eq(meg_dataset_tabular(&rtr, &rte, p, &o, &rin), 0);
    o.no_scaling = 0;
    ck_assert_int_eq(meg_dataset_tabular(&tr, &te, p, &o, &in), 0);
    /* min and range over the training rows only, with or without applying them */
    for (int j = 0; j < 3; j++) {
        double lo = INFINITY, hi = -INFINITY, all_lo = INFINITY, all_hi = -INFINITY;
        for (size_t r = 0; r < rtr.n; r++) {
            lo = fmin(lo, rtr.x[r * 3 + j]);
            hi = fmax(hi, rtr.x[r * 3 + j]);
        }
        for (size_t r = 0; r < rte.n; r++) {
            all_lo = fmin(all_lo, rte.x[r * 3 + j]);
            all_hi = fmax(all_hi, rte.x[r * 3 + j]);
        }
        /* the test half reaches past the training range (k's 9s): not fitted there */
        if (j == 2) ck_assert(all_hi > hi && all_lo == lo);
        ck_assert_float_eq(in.min[j], (float)lo);
        ck_assert_float_eq(rin.min[j], (float)lo);
        ck_assert_float_eq(in.range[j], hi > lo ? (float)(hi - lo) : 1.0f);
        ck_assert_float_eq(rin.range[j], in.range[j]);
        for (size_t r = 0; r < tr.n; r++) {
            ck_assert(tr.x[r * 3 + j] >= 0.0f && tr.x[r * 3 + j] <= 1.0f);
            ck_assert_float_eq(tr.x[r * 3 + j], (float)((rtr.x[r * 3 + j] - in.min[j]) / in.range[j]));
        }
        for (size_t r = 0; r < te.n; r++)
            ck_assert_float_eq(te.x[r * 3 + j], (float)((rte.x[r * 3 + j] - in.min[j]) / in.range[j]));
    }
    /* "k" is 7 in every normal row: constant in training, so it maps to 0
     * there and the anomalies' 9 to 2 (shifted, not divided) */
    ck_assert_float_eq(in.min[2], 7.0f);
    ck_assert_float_eq(in.range[2], 1.0f);
    int nine = 0;
    for (size_t r = 0; r < tr.n; r++)
        ck_assert_float_eq(tr.x[r * 3 + 2], 0.0f);
    for (size_t r = 0; r < te.n; r++)
        if (te.labels[r]) {
            ck_assert_float_eq(te.x[r * 3 + 2], 2.0f);
            nine++;
        }
    ck_assert_int_gt(nine, 0);
    /* the fitted scaling given back (a checkpoint's) makes the same sets, bit for bit */
    o.scale_n = in.features;
    o.scale_min = in.min;
    o.scale_range = in.range;
    ck_assert_int_eq(meg_dataset_tabular(&gtr, &gte, p, &o, &gin), 0);
    ck_assert_uint_eq(gtr.n, tr.n);
    ck_assert_uint_eq(gte.n, te.n);
    ck_assert_mem_eq(gtr.x, tr.x, tr.n * 3 * sizeof(float));
    ck_assert_mem_eq(gte.x, te.x, te.n * 3 * sizeof(float));
    ck_assert_mem_eq(gin.min, in.min, 3 * sizeof(float));
    meg_dataset_free(&gtr);
    meg_dataset_free(&gte);
    meg_tabular_info_free(&gin);
    /* and so does applying it to the raw sets afterwards (how meg-eval scores a file) */
    ck_assert_int_eq(meg_tabular_scale(&rte, in.min, in.range, in.features), 0);
    ck_assert_mem_eq(rte.x, te.x, te.n * 3 * sizeof(float));
    ck_assert_int_eq(meg_tabular_scale(&rte, in.min, in.range, 4), -1);
    assert_error_has("tab_scale.csv:test: 3 feature columns, the scaling to apply (the model's) is for 4");
    float bad_range[3] = {1, 0, 1};
    ck_assert_int_eq(meg_tabular_scale(&rte, in.min, bad_range, 3), -1);
    assert_error_has("the scaling to apply has feature 2's min");
    assert_error_has("and range 0 (finite, range > 0)");
    /* a given scaling is applied as given, not refitted */
    float mn[3] = {0, 0, 0}, rg[3] = {2, 4, 8};
    o.scale_min = mn;
    o.scale_range = rg;
    ck_assert_int_eq(meg_dataset_tabular(&gtr, &gte, p, &o, NULL), 0);
    for (size_t r = 0; r < gtr.n; r++)
        for (int j = 0; j < 3; j++)
            ck_assert_float_eq(gtr.x[r * 3 + j], (float)(rtr.x[r * 3 + j] / rg[j]));
    meg_dataset_free(&gtr);
    meg_dataset_free(&gte);
    /* one for another number of features is refused, naming both */
    o.scale_n = 2;
    ck_assert_int_eq(meg_dataset_tabular(&gtr, &gte, p, &o, NULL), -1);
    assert_error_has("tab_scale.csv: 3 feature columns, the scaling to apply (the model's) is for 2");
    ck_assert_ptr_null(gtr.x);
    ck_assert_ptr_null(gte.x);
    meg_dataset_free(&rtr);
    meg_dataset_free(&rte);
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
    meg_tabular_info_free(&rin);
    meg_tabular_info_free(&in);
}
END_TEST

START_TEST(tabular_without_labels)
{
    /* no label column: every row trained on (or scored), scaled by its own min-max */
    const char *p = tpath("tab_nolabel.csv");
    write_text(p, "u,v\n0,10\n5,10\n10,30\n");
    meg_dataset tr, te;
    meg_tabular_info in;
    ck_assert_msg(meg_dataset_tabular(&tr, &te, p, NULL, &in) == 0, "%s", rt_error());
    ck_assert_uint_eq(tr.n, 3);
    ck_assert_uint_eq(te.n, 0);
    ck_assert_ptr_null(tr.labels);
    ck_assert_ptr_null(te.labels);
    ck_assert_uint_eq(in.anomalies, 0);
    static const float want[6] = {0, 0, 0.5f, 0, 1, 1};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(tr.x[i], want[i]);
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
    meg_tabular_info_free(&in);
    /* one row is enough to score */
    write_text(p, "u,v\n3,4\n");
    ck_assert_int_eq(meg_dataset_tabular(&tr, &te, p, NULL, NULL), 0);
    ck_assert_uint_eq(tr.n, 1);
    ck_assert_float_eq(tr.x[0], 0.0f);
    meg_dataset_free(&tr);
    meg_dataset_free(&te);
}
END_TEST

/* meg_dataset_tabular with label "y" must fail on text, the message holding want. */
static void tabular_fails(const char *text, const char *label, const char *want)
{
    const char *p = tpath("tab_bad.csv");
    write_text(p, text);
    meg_tabular_options o;
    meg_tabular_options_default(&o);
    o.label = label;
    meg_dataset tr, te;
    meg_tabular_info in = {.rows = 12345};
    ck_assert_int_eq(meg_dataset_tabular(&tr, &te, p, &o, &in), -1);
    assert_error_has("tab_bad.csv");
    assert_error_has(want);
    ck_assert_ptr_null(tr.x);
    ck_assert_ptr_null(te.x);
    ck_assert_uint_eq(in.rows, 12345);   /* left alone */
}

START_TEST(tabular_bad_labels)
{
    tabular_fails("a,y\n1,0\n2,2\n3,1\n", "y", ":3: column 2 (y): label 2 is neither 0 (normal) nor 1 (anomaly)");
    tabular_fails("a,y\n1,0\n2,1\n\n3,-1\n", "y", ":5: column 2 (y): label -1 is neither");
    tabular_fails("y,a\n0.5,1\n0,2\n", "y", ":2: column 1 (y): label 0.5 is neither");
    tabular_fails("a,y\n1,0\n2,1\n", "label", "no column is named 'label' (the header names 'a', 'y')");
    tabular_fails("y,a,y\n0,1,0\n1,2,1\n", "y", "columns 1 and 3 are both named 'y'");
    tabular_fails("y\n0\n1\n", "y", "the label column is the only column");
    tabular_fails("a,y\n1,0\n", "y", "1 data row: the 50/50 split needs at least 2");
    tabular_fails("a,y\n1,1\n2,1\n3,1\n4,1\n", "y", "the training half (2 rows) holds no normal rows");
    /* the reader's errors pass through */
    tabular_fails("a,y\n1,0\n2,z\n", "y", ":3: column 2 (y): 'z' is not a number");
    tabular_fails("", NULL, "empty file");
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
    TCase *idx = tcase_create("idx");
    tcase_add_test(idx, idx_pixel_values);
    tcase_add_test(idx, idx_round_trip_raw_and_gzipped);
    tcase_add_test(idx, idx_broken_files);
    tcase_add_test(idx, idx_dataset_errors);
    suite_add_tcase(s, idx);
    TCase *named = tcase_create("named");
    tcase_add_test(named, data_dir_precedence);
    tcase_add_test(named, image_set_names);
    tcase_add_test(named, named_sets_in_a_data_folder);
    tcase_add_test(named, real_mnist_when_fetched);
    suite_add_tcase(s, named);
    TCase *stacked = tcase_create("stacked");
    tcase_add_test(stacked, stacked_pool);
    tcase_add_test(stacked, stacked_values_are_pinned);
    tcase_add_test(stacked, stacked_images_and_errors);
    suite_add_tcase(s, stacked);
    TCase *kdd = tcase_create("kdd99");
    tcase_add_test(kdd, kdd_features_split_and_labels);
    tcase_add_test(kdd, kdd_scaling_fitted_on_train);
    tcase_add_test(kdd, kdd_scaling_saturates);
    tcase_add_test(kdd, kdd_split_is_seeded_and_pinned);
    tcase_add_test(kdd, kdd_broken_rows);
    tcase_add_test(kdd, kdd_broken_files);
    tcase_add_test(kdd, real_kdd99_when_present);
    suite_add_tcase(s, kdd);
    TCase *table = tcase_create("table");
    tcase_add_test(table, table_good_files);
    tcase_add_test(table, table_broken_rows);
    tcase_add_test(table, tabular_label_column_and_split);
    tcase_add_test(table, tabular_scaling_fitted_on_train);
    tcase_add_test(table, tabular_without_labels);
    tcase_add_test(table, tabular_bad_labels);
    suite_add_tcase(s, table);
    TCase *held = tcase_create("heldout");
    tcase_add_test(held, heldout_digit_split);
    tcase_add_test(held, heldout_digit_errors);
    suite_add_tcase(s, held);
    return tf_run(s);
}
