/* test_models_io.c: toy data sets, CSV, PNG plots, safetensors checkpoints and
 * toy quality metrics of models/ (no device needed). */
#include "models.h"
#include "runtime.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
/* File-wide: stb_image declares a static it never defines, reported at the end. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

static char tmpdir[256];

/* tmpdir/name into a static rotating buffer (tests use a few at a time). */
static const char *tpath(const char *name)
{
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, 512, "%s/%s", tmpdir, name);
    return b;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static void *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(*n ? *n : 1);
    ck_assert_uint_eq(fread(p, 1, *n, f), *n);
    fclose(f);
    return p;
}

static void assert_error_has(const char *part)
{
    ck_assert_msg(strstr(rt_error(), part) != NULL, "error \"%s\" does not mention \"%s\"", rt_error(), part);
}

/* Temporary files ("*.tmp.*") left in tmpdir. */
static int leftover_temps(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

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
    const char *p = tpath("ok.csv");
    write_text(p, "x, y\n1.5, -2\n3e2,4\r\n\n-0.25,  1e-3 \n\n");
    ck_assert_int_eq(meg_csv_read_xy(p, &xy, &n), 0);
    ck_assert_uint_eq(n, 3);
    const float want[] = {1.5f, -2, 300, 4, -0.25f, 1e-3f};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(xy[i], want[i]);
    free(xy);

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

    float *d;
    size_t n;
    const char *missing = tpath("missing.csv");
    ck_assert_int_eq(meg_csv_read_xy(missing, &d, &n), -1);
    assert_error_has(missing);
    assert_error_has("cannot open");

    const char *dir = tpath("a_dir.csv");      /* opens, but cannot be read */
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(meg_csv_read_xy(dir, &d, &n), -1);
    assert_error_has(dir);
    assert_error_has("read error");
    rmdir(dir);

    const char *bin = tpath("nul.csv");
    write_bytes(bin, "1,2\n3,\0" "4\n", 9);
    ck_assert_int_eq(meg_csv_read_xy(bin, &d, &n), -1);
    assert_error_has(":2:");
    assert_error_has("NUL");
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

/* ---- plots and PNG ------------------------------------------------------------------- */

static meg_rgb pixel(const meg_canvas *c, int x, int y)
{
    const uint8_t *p = c->rgb + 3 * ((size_t)y * c->width + x);
    return MEG_RGB(p[0], p[1], p[2]);
}

#define ck_assert_rgb(got, want)                                                              \
    ck_assert_msg((got).r == (want).r && (got).g == (want).g && (got).b == (want).b,          \
                  "colour (%d,%d,%d), expected (%d,%d,%d)", (got).r, (got).g, (got).b,      \
                  (want).r, (want).g, (want).b)

START_TEST(colormap_anchors)
{
    meg_rgb lo = meg_colormap(0), hi = meg_colormap(1);
    ck_assert_rgb(meg_colormap(-3), lo);
    ck_assert_rgb(meg_colormap(NAN), lo);
    ck_assert_rgb(meg_colormap(7), hi);
    /* Perceptual: dark to light, lightness never going down. */
    double last = -1;
    for (int i = 0; i <= 100; i++) {
        meg_rgb c = meg_colormap(i / 100.0);
        double l = 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
        ck_assert_msg(l >= last - 0.5, "lightness drops at t = %g", i / 100.0);
        last = l;
    }
    ck_assert(0.2126 * lo.r + 0.7152 * lo.g + 0.0722 * lo.b < 40);
    ck_assert(0.2126 * hi.r + 0.7152 * hi.g + 0.0722 * hi.b > 200);
}
END_TEST

START_TEST(plot_png_roundtrip)
{
    meg_canvas c;
    const char *p = tpath("plot.png");
    ck_assert_int_eq(meg_canvas_init(&c, 200, 160, 20, (meg_box){-1, 1, -1, 1}), 0);
    ck_assert_int_eq(c.x0, 20);
    ck_assert_int_eq(c.x1, 180);
    ck_assert_int_eq(c.y1, 140);
    /* Row 0 of the grid is the bottom: 0 1 at the bottom, 2 3 at the top. */
    const float v[4] = {0, 1, 2, 3};
    double vmin, vmax;
    ck_assert_int_eq(meg_plot_heatmap(&c, v, 2, 2, 0, &vmin, &vmax), 0);
    ck_assert_double_eq(vmin, 0);
    ck_assert_double_eq(vmax, 3);
    ck_assert_rgb(pixel(&c, 30, 130), meg_colormap(0));       /* bottom left */
    ck_assert_rgb(pixel(&c, 170, 130), meg_colormap(1.0 / 3)); /* bottom right */
    ck_assert_rgb(pixel(&c, 30, 30), meg_colormap(2.0 / 3));   /* top left */
    ck_assert_rgb(pixel(&c, 170, 30), meg_colormap(1));        /* top right */
    ck_assert_rgb(pixel(&c, 5, 5), MEG_RGB(255, 255, 255));     /* margin untouched */

    /* Data (0.5, -0.5) is pixel (140, 110): an opaque red disc there. */
    const float pt[2] = {0.5f, -0.5f}, half[2] = {-0.5f, 0.5f};
    meg_plot_points(&c, pt, 1, 3, MEG_RGB(255, 0, 0), 1.0);
    ck_assert_rgb(pixel(&c, 140, 110), MEG_RGB(255, 0, 0));
    ck_assert_rgb(pixel(&c, 142, 111), MEG_RGB(255, 0, 0));
    ck_assert_rgb(pixel(&c, 145, 110), meg_colormap(1.0 / 3));  /* outside radius 3 */
    /* Half-transparent white over the top-left colour. */
    meg_plot_points(&c, half, 1, 2, MEG_RGB(255, 255, 255), 0.5);
    meg_rgb under = meg_colormap(2.0 / 3), got = pixel(&c, 60, 50);
    ck_assert_int_eq(got.r, (int)lround((under.r + 255) / 2.0));
    ck_assert_int_eq(got.g, (int)lround((under.g + 255) / 2.0));
    ck_assert_int_eq(got.b, (int)lround((under.b + 255) / 2.0));

    meg_plot_frame(&c, MEG_RGB(0, 0, 0));
    meg_plot_title(&c, "test 1", MEG_RGB(0, 0, 0));
    ck_assert_rgb(pixel(&c, 19, 19), MEG_RGB(0, 0, 0));        /* frame corner */
    ck_assert_rgb(pixel(&c, 180, 140), MEG_RGB(0, 0, 0));
    int dark_below = 0, dark_above = 0;
    for (int y = 142; y < 160; y++)
        for (int x = 0; x < 200; x++)
            dark_below += pixel(&c, x, y).r == 0;
    for (int y = 0; y < 19; y++)
        for (int x = 0; x < 200; x++)
            dark_above += pixel(&c, x, y).r == 0;
    ck_assert_msg(dark_below > 40, "no tick labels under the plot");
    ck_assert_msg(dark_above > 20, "no title above the plot");

    ck_assert_int_eq(meg_canvas_write_png(&c, p), 0);
    ck_assert_int_eq(leftover_temps(), 0);
    int w, h, ch;
    uint8_t *img = stbi_load(p, &w, &h, &ch, 3);
    ck_assert_ptr_nonnull(img);
    ck_assert_int_eq(w, 200);
    ck_assert_int_eq(h, 160);
    ck_assert_int_eq(ch, 3);
    ck_assert_msg(!memcmp(img, c.rgb, 200 * 160 * 3), "PNG pixels differ from the canvas");
    meg_rgb heat = {img[3 * (30 * 200 + 170)], img[3 * (30 * 200 + 170) + 1], img[3 * (30 * 200 + 170) + 2]};
    meg_rgb red = {img[3 * (110 * 200 + 140)], img[3 * (110 * 200 + 140) + 1], img[3 * (110 * 200 + 140) + 2]};
    ck_assert_rgb(heat, meg_colormap(1));
    ck_assert_rgb(red, MEG_RGB(255, 0, 0));
    stbi_image_free(img);
    meg_canvas_free(&c);
}
END_TEST

START_TEST(plot_heatmap_log_and_errors)
{
    meg_canvas c;
    ck_assert_int_eq(meg_canvas_init(&c, 100, 100, 10, (meg_box){0, 4, 0, 1}), 0);
    const float v[4] = {0, 1, (float)M_E, (float)(M_E * M_E)};
    double lo, hi;
    ck_assert_int_eq(meg_plot_heatmap(&c, v, 4, 1, MEG_HEAT_LOG, &lo, &hi), 0);
    ck_assert_double_eq_tol(lo, 0, 1e-6);
    ck_assert_double_eq_tol(hi, 2, 1e-6);
    ck_assert_rgb(pixel(&c, 15, 50), meg_colormap(0));     /* density 0: lowest colour */
    ck_assert_rgb(pixel(&c, 35, 50), meg_colormap(0));
    ck_assert_rgb(pixel(&c, 55, 50), meg_colormap((log(v[2]) - lo) / (hi - lo)));
    ck_assert_rgb(pixel(&c, 85, 50), meg_colormap(1));
    const float bad[2] = {NAN, INFINITY}, neg[2] = {-1, 0};
    ck_assert_int_eq(meg_plot_heatmap(&c, bad, 2, 1, 0, NULL, NULL), -1);
    assert_error_has("no finite");
    ck_assert_int_eq(meg_plot_heatmap(&c, neg, 2, 1, MEG_HEAT_LOG, NULL, NULL), -1);
    const float some_nan[2] = {NAN, 1};
    ck_assert_int_eq(meg_plot_heatmap(&c, some_nan, 2, 1, 0, NULL, NULL), 0);
    ck_assert_rgb(pixel(&c, 15, 50), MEG_RGB(128, 128, 128));
    meg_canvas_free(&c);
    ck_assert_int_eq(meg_canvas_init(&c, 100, 100, 50, (meg_box){0, 1, 0, 1}), -1);
    ck_assert_int_eq(meg_canvas_init(&c, 100, 100, 10, (meg_box){0, 1, 1, 1}), -1);
}
END_TEST

START_TEST(plot_polyline_clipped)
{
    meg_canvas c;
    ck_assert_int_eq(meg_canvas_init(&c, 100, 100, 10, (meg_box){-1, 1, -1, 1}), 0);
    /* Through y = 0 (pixel row 50) from far left to far right, then off to 1e30. */
    const float line[6] = {-5, 0.001f, 5, 0.001f, 1e30f, 1e30f};
    meg_plot_polyline(&c, line, 3, MEG_RGB(0, 0, 255), 1.0);
    for (int x = 10; x < 90; x++)
        ck_assert_rgb(pixel(&c, x, 49), MEG_RGB(0, 0, 255));
    ck_assert_rgb(pixel(&c, 9, 49), MEG_RGB(255, 255, 255));
    ck_assert_rgb(pixel(&c, 90, 49), MEG_RGB(255, 255, 255));
    /* A vertical half-transparent line: each pixel blended once. */
    const float v[6] = {0, -0.5f, 0, 0, 0, 0.5f};
    meg_plot_polyline(&c, v, 3, MEG_RGB(0, 0, 0), 0.5);
    ck_assert_rgb(pixel(&c, 50, 50), MEG_RGB(128, 128, 128));
    ck_assert_rgb(pixel(&c, 50, 65), MEG_RGB(128, 128, 128));
    meg_canvas_free(&c);
}
END_TEST

START_TEST(text_metrics)
{
    ck_assert_int_eq(meg_text_width("", 2), 0);
    ck_assert_int_eq(meg_text_width("-1.5", 1), 23);
    ck_assert_int_eq(meg_text_width("-1.5", 2), 46);
    ck_assert_int_eq(meg_text_height(2), 14);
    meg_canvas c;
    ck_assert_int_eq(meg_canvas_init(&c, 40, 20, 1, (meg_box){0, 1, 0, 1}), 0);
    meg_plot_text(&c, 1, 1, 1, "1", MEG_RGB(0, 0, 0));
    /* The '1' glyph: stem in column 2 on every row, foot on the last. */
    for (int r = 0; r < 7; r++)
        ck_assert_rgb(pixel(&c, 3, 1 + r), MEG_RGB(0, 0, 0));
    ck_assert_rgb(pixel(&c, 2, 7), MEG_RGB(0, 0, 0));
    ck_assert_rgb(pixel(&c, 1, 1), MEG_RGB(255, 255, 255));
    meg_canvas_free(&c);
}
END_TEST

START_TEST(png_image_grid)
{
    const char *p = tpath("grid.png");
    float imgs[3 * 4 * 5];
    for (int i = 0; i < 60; i++)
        imgs[i] = -1;
    imgs[20] = 1;          /* image 1, pixel (0, 0) */
    imgs[40 + 7] = 0;      /* image 2, pixel (1, 2) */
    ck_assert_int_eq(meg_png_image_grid(p, imgs, 3, 4, 5, 2, -1, 1, 2), 0);
    int w, h, ch;
    uint8_t *g = stbi_load(p, &w, &h, &ch, 1);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(ch, 1);
    ck_assert_int_eq(w, 2 * (5 * 2 + 2) + 2);
    ck_assert_int_eq(h, 2 * (4 * 2 + 2) + 2);
    ck_assert_int_eq(g[0], 128);                         /* gap */
    ck_assert_int_eq(g[2 * w + 2], 0);                   /* image 0 corner: -1 -> black */
    ck_assert_int_eq(g[3 * w + 3], 0);
    ck_assert_int_eq(g[2 * w + 14], 255);                /* image 1 starts at x = 14 */
    ck_assert_int_eq(g[3 * w + 15], 255);
    ck_assert_int_eq(g[2 * w + 16], 0);
    ck_assert_int_eq(g[(12 + 2) * w + 2 + 4], 128);      /* image 2 (row 1): pixel (1, 2) at 0 */
    stbi_image_free(g);
    ck_assert_int_eq(meg_png_image_grid(p, imgs, 3, 4, 5, 2, 1, 1, 1), -1);
    assert_error_has(p);
    ck_assert_int_eq(leftover_temps(), 0);
}
END_TEST

START_TEST(png_atomic_failures)
{
    uint8_t px[12] = {0};
    const char *nodir = tpath("no/such/dir/x.png");
    ck_assert_int_eq(meg_png_write(nodir, 2, 2, 3, px), -1);
    assert_error_has(nodir);
    /* Rename onto a directory fails after the data was written: temp removed. */
    const char *dir = tpath("is_a_dir.png");
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_int_eq(meg_png_write(dir, 2, 2, 3, px), -1);
    assert_error_has(dir);
    assert_error_has("rename");
    ck_assert_int_eq(leftover_temps(), 0);
    rmdir(dir);
    /* An existing file is replaced whole. */
    const char *p = tpath("replace.png");
    write_text(p, "old");
    ck_assert_int_eq(meg_png_write(p, 2, 2, 3, px), 0);
    int w, h, ch;
    uint8_t *img = stbi_load(p, &w, &h, &ch, 3);
    ck_assert_ptr_nonnull(img);
    ck_assert_int_eq(w, 2);
    stbi_image_free(img);
    ck_assert_int_eq(meg_png_write(p, 0, 2, 3, px), -1);
    ck_assert_int_eq(leftover_temps(), 0);
}
END_TEST

/* ---- safetensors ------------------------------------------------------------------------ */

static const float w0[6] = {1.5f, -0.0f, 3.25e-40f /* subnormal */, -7, 1e30f, 0.1f};
static const float b0[3] = {0.5f, -0.5f, 2};
static const float sc[1] = {42};

static void write_checkpoint(const char *p)
{
    float nan_bits;
    uint32_t u = 0x7FC01234u;          /* a NaN with a payload must survive */
    memcpy(&nan_bits, &u, 4);
    static float b1[3];
    memcpy(b1, b0, sizeof b0);
    b1[2] = nan_bits;
    meg_st_tensor t[4] = {
        {.name = "E.w0", .ndim = 2, .shape = {2, 3}, .data = w0},
        {.name = "E.b0", .ndim = 1, .shape = {3}, .data = b1},
        {.name = "step", .ndim = 0, .data = sc},
        {.name = "empty", .ndim = 2, .shape = {0, 4}, .data = NULL},
    };
    meg_st_kv meta[3] = {{"format", "pt"}, {"note \"q\"", "line\nbreak \\ tab\t caf\xc3\xa9"},
                         {"lambda", "0.1"}};
    ck_assert_msg(meg_st_write(p, t, 4, meta, 3) == 0, "%s", rt_error());
}

START_TEST(st_roundtrip)
{
    const char *p = tpath("ck.safetensors");
    write_checkpoint(p);
    ck_assert_int_eq(leftover_temps(), 0);

    /* The layout on disk: LE header length, padded to 8, JSON, data. */
    size_t size;
    uint8_t *raw = read_bytes(p, &size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | raw[i];
    ck_assert_uint_eq(n % 8, 0);
    ck_assert_uint_eq(size, 8 + n + (6 + 3 + 1) * 4);
    ck_assert_int_eq(raw[8], '{');
    ck_assert_int_eq(raw[8 + n + 4 * 6], 0x00);          /* E.b0[0] = 0.5f = 0x3F000000 LE */
    ck_assert_int_eq(raw[8 + n + 4 * 6 + 3], 0x3F);
    free(raw);

    meg_st_file *f;
    ck_assert_msg(meg_st_read(p, &f) == 0, "%s", rt_error());
    ck_assert_str_eq(meg_st_path(f), p);
    ck_assert_uint_eq(meg_st_count(f), 4);
    ck_assert_str_eq(meg_st_at(f, 0)->name, "E.w0");
    ck_assert_str_eq(meg_st_at(f, 3)->name, "empty");
    ck_assert_ptr_null(meg_st_at(f, 4));
    const float *d;
    const int64_t s23[2] = {2, 3}, s3[1] = {3}, s04[2] = {0, 4};
    ck_assert_int_eq(meg_st_get(f, "E.w0", 2, s23, &d), 0);
    ck_assert(!memcmp(d, w0, sizeof w0));
    ck_assert_int_eq(meg_st_get(f, "E.b0", 1, s3, &d), 0);
    uint32_t u;
    memcpy(&u, &d[2], 4);
    ck_assert_uint_eq(u, 0x7FC01234u);
    ck_assert(!memcmp(d, b0, 2 * sizeof *b0));
    ck_assert_int_eq(meg_st_get(f, "step", 0, NULL, &d), 0);
    ck_assert_float_eq(d[0], 42);
    ck_assert_int_eq(meg_st_get(f, "empty", 2, s04, &d), 0);
    ck_assert_int_eq(meg_st_get(f, "empty", -1, NULL, &d), 0);

    ck_assert_uint_eq(meg_st_meta_count(f), 3);
    ck_assert_str_eq(meg_st_meta(f, "format"), "pt");
    ck_assert_str_eq(meg_st_meta(f, "note \"q\""), "line\nbreak \\ tab\t caf\xc3\xa9");
    ck_assert_str_eq(meg_st_meta_at(f, 2)->key, "lambda");
    ck_assert_ptr_null(meg_st_meta(f, "nope"));
    ck_assert_ptr_null(meg_st_find(f, "nope"));

    /* Wrong expectations name the file and the tensor. */
    const int64_t s24[2] = {2, 4};
    ck_assert_int_eq(meg_st_get(f, "E.w0", 2, s24, &d), -1);
    assert_error_has(p);
    assert_error_has("'E.w0' has shape [2, 3], expected [2, 4]");
    ck_assert_int_eq(meg_st_get(f, "E.b0", 2, s23, &d), -1);
    assert_error_has("expected [2, 3]");
    ck_assert_int_eq(meg_st_get(f, "G.w0", 2, s23, &d), -1);
    assert_error_has(p);
    assert_error_has("'G.w0'");
    meg_st_free(f);
}
END_TEST

START_TEST(st_write_errors)
{
    const char *p = tpath("bad_w.safetensors");
    meg_st_tensor dup[2] = {{.name = "a", .ndim = 1, .shape = {1}, .data = sc},
                            {.name = "a", .ndim = 1, .shape = {1}, .data = sc}};
    ck_assert_int_eq(meg_st_write(p, dup, 2, NULL, 0), -1);
    assert_error_has("'a' is used twice");
    meg_st_tensor reserved = {.name = "__metadata__", .ndim = 0, .data = sc};
    ck_assert_int_eq(meg_st_write(p, &reserved, 1, NULL, 0), -1);
    meg_st_tensor deep = {.name = "d", .ndim = 9, .data = sc};
    ck_assert_int_eq(meg_st_write(p, &deep, 1, NULL, 0), -1);
    assert_error_has("'d'");
    meg_st_tensor nodata = {.name = "n", .ndim = 1, .shape = {2}, .data = NULL};
    ck_assert_int_eq(meg_st_write(p, &nodata, 1, NULL, 0), -1);
    meg_st_kv dupmeta[2] = {{"k", "1"}, {"k", "2"}};
    ck_assert_int_eq(meg_st_write(p, dup, 1, dupmeta, 2), -1);
    assert_error_has("'k'");
    const char *nodir = tpath("none/x.safetensors");
    ck_assert_int_eq(meg_st_write(nodir, dup, 1, NULL, 0), -1);
    assert_error_has(nodir);
    ck_assert_int_eq(access(p, F_OK), -1);     /* nothing written */
    ck_assert_int_eq(leftover_temps(), 0);
}
END_TEST

START_TEST(st_torn_files)
{
    const char *p = tpath("whole.safetensors"), *t = tpath("torn.safetensors");
    write_checkpoint(p);
    size_t size;
    uint8_t *raw = read_bytes(p, &size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | raw[i];
    const size_t cuts[] = {0, 3, 8, 9, 8 + n / 2, 8 + n - 1, 8 + n, 8 + n + 4, size - 4, size - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        meg_st_file *f = (meg_st_file *)1;
        write_bytes(t, raw, cuts[k]);
        ck_assert_msg(meg_st_read(t, &f) == -1, "truncated at %zu of %zu: accepted", cuts[k], size);
        ck_assert_ptr_null(f);
        assert_error_has(t);
    }
    /* One extra byte is not ours either. */
    uint8_t *more = malloc(size + 1);
    memcpy(more, raw, size);
    more[size] = 0;
    write_bytes(t, more, size + 1);
    meg_st_file *f;
    ck_assert_int_eq(meg_st_read(t, &f), -1);
    assert_error_has("belong to no tensor");
    free(more);
    free(raw);
    ck_assert_int_eq(meg_st_read(tpath("absent.safetensors"), &f), -1);
    assert_error_has("absent.safetensors: cannot open");
}
END_TEST

/* A file with the given header (length prefix added, no padding) and data. */
static const char *raw_st(const char *header, size_t data_bytes)
{
    const char *p = tpath("crafted.safetensors");
    size_t n = strlen(header);
    uint8_t *buf = calloc(1, 8 + n + data_bytes);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, header, n);
    write_bytes(p, buf, 8 + n + data_bytes);
    free(buf);
    return p;
}

static void st_rejects(const char *header, size_t data_bytes, const char *what)
{
    const char *p = raw_st(header, data_bytes);
    meg_st_file *f;
    ck_assert_msg(meg_st_read(p, &f) == -1, "accepted: %s", header);
    assert_error_has(p);
    assert_error_has(what);
}

#define T(name, dt, shape, b, e) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

START_TEST(st_corrupt_headers)
{
    /* The crafted-file helper itself makes valid files. */
    meg_st_file *f;
    const char *ok = raw_st("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[]", 8, 12) "}  ", 12);
    ck_assert_msg(meg_st_read(ok, &f) == 0, "%s", rt_error());
    ck_assert_uint_eq(meg_st_count(f), 2);
    meg_st_free(f);

    st_rejects("{" T("a", "F32", "[1]", 0, 4), 4, "bad JSON header");
    st_rejects("[" T("a", "F32", "[1]", 0, 4) "]", 4, "expected '{'");
    st_rejects("{" T("a", "F32", "[1]", 0, 4) "} x", 4, "unexpected bytes after");
    st_rejects("{" T("w", "F64", "[1]", 0, 8) "}", 8, "'w': dtype F64 is not supported");
    st_rejects("{" T("i", "I64", "[1]", 0, 8) "}", 8, "'i': dtype I64");
    st_rejects("{" T("a", "F32", "[1]", 0, 4) "," T("b", "F32", "[1]", 0, 4) "}", 4,
               "overlaps");
    st_rejects("{" T("a", "F32", "[1]", 0, 4) "," T("b", "F32", "[1]", 8, 12) "}", 12,
               "unused bytes before tensor 'b'");
    st_rejects("{" T("a", "F32", "[2]", 0, 8) "}", 4, "'a': data_offsets [0, 8] reach past");
    st_rejects("{" T("a", "F32", "[3]", 0, 8) "}", 8, "'a': data_offsets [0, 8] do not match shape [3]");
    st_rejects("{" T("a", "F32", "[1]", 4, 0) "}", 4, "'a'");
    st_rejects("{" T("a", "F32", "[-1]", 0, 4) "}", 4, "negative");
    st_rejects("{" T("a", "F32", "[1.5]", 0, 4) "}", 4, "integer");
    st_rejects("{" T("a", "F32", "[1,1,1,1,1,1,1,1,1]", 0, 4) "}", 4, "'a': \"shape\" has more than 8");
    st_rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "'a': missing \"data_offsets\"");
    st_rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
               "'a': unexpected or repeated key 'x'");
    st_rejects("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               "repeated key 'dtype'");
    st_rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "needs 2 entries");
    st_rejects("{" T("a", "F32", "[1]", 0, 4) "," T("a", "F32", "[1]", 4, 8) "}", 8,
               "'a': appears twice");
    st_rejects("{\"__metadata__\":{\"k\":1}," T("a", "F32", "[1]", 0, 4) "}", 4,
               "metadata value of 'k' is not a string");
    st_rejects("{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", 0, "'k' appears twice");
    st_rejects("{\"a\\q\":{}}", 0, "bad escape");
    st_rejects("{\"a\nb\":{}}", 0, "control character");
    st_rejects("{\"a\\u0000\":{}}", 0, "\\u0000");
    st_rejects("{\"\\ud800\":{}}", 0, "surrogate");
    st_rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[099],\"data_offsets\":[0,4]}}", 4, "leading zero");
    st_rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4,
               "too large");
    st_rejects("{" T("a", "F32", "[1]", 0, 4) "}", 8, "4 bytes after the last tensor");

    /* An escaped name and a surrogate pair decode to UTF-8. */
    ok = raw_st("{\"\\u00e9\\ud83d\\ude00\\\"\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4);
    ck_assert_msg(meg_st_read(ok, &f) == 0, "%s", rt_error());
    ck_assert_str_eq(meg_st_at(f, 0)->name, "\xc3\xa9\xf0\x9f\x98\x80\"");
    meg_st_free(f);

    /* A header length beyond the file, and one of zero. */
    uint8_t huge[16] = {0x00, 0xCA, 0x9A, 0x3B, 0, 0, 0, 0, '{', '}'};
    const char *p = tpath("huge.safetensors");
    write_bytes(p, huge, 16);
    ck_assert_int_eq(meg_st_read(p, &f), -1);
    assert_error_has(p);
    assert_error_has("header length 1000000000 does not fit a 16-byte file");
    memset(huge, 0, 8);
    write_bytes(p, huge, 16);
    ck_assert_int_eq(meg_st_read(p, &f), -1);
    assert_error_has("header length 0");
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

/* ---- runner --------------------------------------------------------------------------- */

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        char p[1024];
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static Suite *models_io_suite(void)
{
    Suite *s = suite_create("models_io");
    TCase *toy = tcase_create("toy");
    tcase_add_test(toy, toy_deterministic_per_seed);
    tcase_add_test(toy, toy_unknown_name);
    tcase_add_test(toy, toy_8gaussians_stats);
    tcase_add_test(toy, toy_25gaussians_stats);
    tcase_add_test(toy, toy_swissroll_scale);
    suite_add_tcase(s, toy);
    TCase *csv = tcase_create("csv");
    tcase_add_test(csv, csv_happy_paths);
    tcase_add_test(csv, csv_errors);
    suite_add_tcase(s, csv);
    TCase *plot = tcase_create("plot");
    tcase_add_test(plot, grid_convention);
    tcase_add_test(plot, colormap_anchors);
    tcase_add_test(plot, plot_png_roundtrip);
    tcase_add_test(plot, plot_heatmap_log_and_errors);
    tcase_add_test(plot, plot_polyline_clipped);
    tcase_add_test(plot, text_metrics);
    tcase_add_test(plot, png_image_grid);
    tcase_add_test(plot, png_atomic_failures);
    suite_add_tcase(s, plot);
    TCase *st = tcase_create("safetensors");
    tcase_add_test(st, st_roundtrip);
    tcase_add_test(st, st_write_errors);
    tcase_add_test(st, st_torn_files);
    tcase_add_test(st, st_corrupt_headers);
    suite_add_tcase(s, st);
    TCase *q = tcase_create("quality");
    tcase_add_test(q, quality_known_answers);
    tcase_add_test(q, quality_generated_data);
    tcase_add_test(q, quality_grid_mass);
    suite_add_tcase(s, q);
    return s;
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/meg_models_io_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    SRunner *sr = srunner_create(models_io_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    remove_tree(tmpdir);
    return failed ? 1 : 0;
}
