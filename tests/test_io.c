/* test_io.c: models/io/ without a device: PNG plots (canvas, heat maps,
 * points, lines, axes, the font), PNG files, image grids and sample grids
 * (gray, RGB, 2 x 2 blocks, titles) written atomically, and safetensors
 * files (round trips, bad arguments, torn and corrupt files, samples). Suite
 * "io". */
#include "filetest.h"
#include "io.h"
#include "util.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
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

/* ---- sample grids ---------------------------------------------------------------------- */

/* Pixel (x, y) of an RGB PNG read back. */
static meg_rgb png_px(const uint8_t *img, int w, int x, int y)
{
    const uint8_t *p = img + 3 * ((size_t)y * w + x);
    return MEG_RGB(p[0], p[1], p[2]);
}

static uint8_t *load_rgb(const char *p, int *w, int *h)
{
    int ch;
    uint8_t *img = stbi_load(p, w, h, &ch, 3);
    ck_assert_msg(img != NULL, "%s: not a PNG stb_image reads", p);
    return img;
}

START_TEST(sample_grid_gray_rgb)
{
    const char *p = tpath("samples1.png");
    /* 3 gray samples 4 x 5, 2 per row, zoom 2: gaps of 4 pixels */
    float g[3 * 4 * 5];
    for (int i = 0; i < 60; i++)
        g[i] = -1;
    g[20] = 1;              /* sample 1, pixel (0, 0) */
    g[40 + 7] = 0;          /* sample 2, row 1, column 2 */
    g[40 + 8] = 3;          /* clamped to white */
    g[40 + 9] = NAN;        /* black */
    meg_sample_grid o = {.cols = 2, .zoom = 2};
    ck_assert_msg(meg_png_sample_grid(p, g, 3, 1, 4, 5, &o) == 0, "%s", rt_error());
    int w, h;
    uint8_t *img = load_rgb(p, &w, &h);
    ck_assert_int_eq(w, 2 * (5 * 2 + 4) + 4);
    ck_assert_int_eq(h, 2 * (4 * 2 + 4) + 4);
    ck_assert_rgb(png_px(img, w, 0, 0), MEG_RGB(128, 128, 128));       /* gap */
    ck_assert_rgb(png_px(img, w, 4, 4), MEG_RGB(0, 0, 0));             /* sample 0: -1 */
    ck_assert_rgb(png_px(img, w, 13, 11), MEG_RGB(0, 0, 0));           /* its last pixel */
    ck_assert_rgb(png_px(img, w, 14, 4), MEG_RGB(128, 128, 128));      /* gap after it */
    ck_assert_rgb(png_px(img, w, 18, 4), MEG_RGB(255, 255, 255));      /* sample 1 at x = 4 + 14 */
    ck_assert_rgb(png_px(img, w, 19, 5), MEG_RGB(255, 255, 255));      /* zoom 2 */
    ck_assert_rgb(png_px(img, w, 20, 4), MEG_RGB(0, 0, 0));
    int y2 = 4 + 12 + 2;                                               /* sample 2, its row 1 */
    ck_assert_rgb(png_px(img, w, 4 + 4, y2), MEG_RGB(128, 128, 128));  /* 0 -> mid grey */
    ck_assert_rgb(png_px(img, w, 4 + 6, y2), MEG_RGB(255, 255, 255));
    ck_assert_rgb(png_px(img, w, 4 + 8, y2), MEG_RGB(0, 0, 0));
    ck_assert_rgb(png_px(img, w, 30, 20), MEG_RGB(128, 128, 128));     /* the empty fourth cell */
    stbi_image_free(img);

    /* RGB: channel j is colour j; one 2 x 2 sample at zoom 1, gaps of 2 */
    float c[3 * 4] = {1, 1, 1, 1, -1, -1, -1, -1, 0, 0, 0, 0.5f};
    o = (meg_sample_grid){.zoom = 1};
    ck_assert_msg(meg_png_sample_grid(p, c, 1, 3, 2, 2, &o) == 0, "%s", rt_error());
    img = load_rgb(p, &w, &h);
    ck_assert_int_eq(w, 6);
    ck_assert_int_eq(h, 6);
    ck_assert_rgb(png_px(img, w, 2, 2), MEG_RGB(255, 0, 128));
    ck_assert_rgb(png_px(img, w, 3, 3), MEG_RGB(255, 0, 191));        /* 0.5 -> 255 * 0.75 */
    ck_assert_rgb(png_px(img, w, 4, 4), MEG_RGB(128, 128, 128));
    stbi_image_free(img);
    ck_assert_int_eq(leftover_temps(), 0);
}
END_TEST

START_TEST(sample_grid_blocks_and_title)
{
    const char *p = tpath("samples4.png");
    /* 2 samples of 4 channels 2 x 3, zoom 2: each a 2 x 2 block of 6 x 4
     * images 1 pixel apart, so a cell is 13 x 9, with gaps of 4 */
    const float level[4] = {-1, -0.5f, 0.5f, 1};
    const uint8_t want[4] = {0, 64, 191, 255};
    float x[2 * 4 * 6];
    for (int k = 0; k < 2; k++)
        for (int q = 0; q < 4; q++)
            for (int i = 0; i < 6; i++)
                x[(k * 4 + q) * 6 + i] = k ? level[q] : -1;
    meg_sample_grid o = {.cols = 2, .zoom = 2};
    ck_assert_msg(meg_png_sample_grid(p, x, 2, 4, 2, 3, &o) == 0, "%s", rt_error());
    int w, h;
    uint8_t *img = load_rgb(p, &w, &h);
    ck_assert_int_eq(w, 2 * (13 + 4) + 4);
    ck_assert_int_eq(h, 9 + 8);
    int ox = 4 + 17, oy = 4;                                   /* sample 1 */
    for (int q = 0; q < 4; q++) {
        int qx = ox + (q % 2) * 7, qy = oy + (q / 2) * 5;
        uint8_t v = want[q];
        ck_assert_rgb(png_px(img, w, qx, qy), MEG_RGB(v, v, v));
        ck_assert_rgb(png_px(img, w, qx + 5, qy + 3), MEG_RGB(v, v, v));
    }
    ck_assert_rgb(png_px(img, w, ox + 6, oy), MEG_RGB(128, 128, 128));   /* between channels 0 and 1 */
    ck_assert_rgb(png_px(img, w, ox, oy + 4), MEG_RGB(128, 128, 128));   /* between channels 0 and 2 */
    stbi_image_free(img);

    /* Defaults: 28 x 28 digits at 2x, ceil(sqrt(5)) = 3 per row; the title
     * and caption widen the picture past the grid, which stays centred with
     * its last gap at the bottom. */
    enum { N = 5, S = 28 };
    static float d[N * S * S];
    for (int i = 0; i < N * S * S; i++)
        d[i] = -1;
    d[4 * S * S] = 1;                                          /* sample 4 (row 1, column 1), pixel (0, 0) */
    o = (meg_sample_grid){.title = "StackedMNIST samples, MEG width 128", .caption = "iteration 1200"};
    ck_assert_msg(meg_png_sample_grid(p, d, N, 1, S, S, &o) == 0, "%s", rt_error());
    img = load_rgb(p, &w, &h);
    int gw = 3 * (56 + 4) + 4, gh = 2 * (56 + 4) + 4;        /* 184 < 384: the font at scale 1 */
    ck_assert_int_eq(w, meg_text_width(o.title, 1) + 8);
    ck_assert(w > gw);
    ck_assert(h > gh);
    int gx = (w - gw) / 2, gy = h - gh;
    ck_assert_rgb(png_px(img, w, gx, gy), MEG_RGB(128, 128, 128));
    ck_assert_rgb(png_px(img, w, gx - 1, gy), MEG_RGB(255, 255, 255));  /* beside the grid: white */
    ck_assert_rgb(png_px(img, w, gx + 4, gy + 4), MEG_RGB(0, 0, 0));    /* sample 0 */
    ck_assert_rgb(png_px(img, w, gx + 4 + 60, gy + 4 + 60), MEG_RGB(255, 255, 255));
    ck_assert_rgb(png_px(img, w, gx + 4 + 61, gy + 4 + 61), MEG_RGB(255, 255, 255));
    ck_assert_rgb(png_px(img, w, gx + 4 + 62, gy + 4 + 60), MEG_RGB(0, 0, 0));
    /* two lines of black text in the white band, none of it over the grid */
    int dark = 0, dark_rows = 0;
    for (int y = 0; y < gy; y++) {
        int row = 0;
        for (int xx = 0; xx < w; xx++)
            row += png_px(img, w, xx, y).r == 0;
        dark += row;
        dark_rows += row > 0;
    }
    ck_assert(dark > 100);
    ck_assert_int_ge(dark_rows, 14);
    stbi_image_free(img);

    /* The grid is as wide as its text needs, and no wider. */
    o = (meg_sample_grid){.title = "x", .zoom = 1};
    ck_assert_int_eq(meg_png_sample_grid(p, d, 1, 1, S, S, &o), 0);
    img = load_rgb(p, &w, &h);
    ck_assert_int_eq(w, 28 + 4);
    stbi_image_free(img);
    ck_assert_int_eq(leftover_temps(), 0);
}
END_TEST

START_TEST(sample_grid_errors)
{
    const char *p = tpath("bad_grid.png");
    float x[4 * 4] = {0};
    ck_assert_int_eq(meg_png_sample_grid(p, x, 2, 2, 2, 2, NULL), -1);
    assert_error_has(p);
    assert_error_has("[2, 2, 2, 2]");
    ck_assert_int_eq(meg_png_sample_grid(p, x, 0, 1, 2, 2, NULL), -1);
    ck_assert_int_eq(meg_png_sample_grid(p, x, 1, 1, 2, 2, &(meg_sample_grid){.zoom = 17}), -1);
    assert_error_has("zoom 17");
    static float big[4];
    /* 10,000 samples of 28 x 28 at zoom 16 would be 47,000 pixels a side */
    ck_assert_int_eq(meg_png_sample_grid(p, big, 10000, 1, 28, 28, &(meg_sample_grid){.zoom = 16}), -1);
    assert_error_has("more than 16384 a side");
    struct stat st;
    ck_assert_int_ne(stat(p, &st), 0);                       /* nothing written */
    ck_assert_int_eq(leftover_temps(), 0);
}
END_TEST

/* ---- samples.safetensors ----------------------------------------------------------------- */

START_TEST(samples_roundtrip)
{
    const char *p = tpath("samples.safetensors");
    float x[2 * 3 * 2 * 2];
    for (int i = 0; i < 24; i++)
        x[i] = (float)(i - 12) / 10;     /* -1.2 .. 1.1: the ends clamp */
    meg_st_kv meta[2] = {{"source", "meg-train"}, {"iteration", "1200"}};
    ck_assert_msg(meg_samples_write(p, x, 2, 3, 2, 2, meta, 2) == 0, "%s", rt_error());
    ck_assert_int_eq(leftover_temps(), 0);

    /* plain safetensors: the header a reader elsewhere would parse */
    size_t size;
    uint8_t *raw = read_bytes(p, &size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | raw[i];
    ck_assert_uint_eq(size, 8 + n + 24 * 4);
    char *hdr = strndup((const char *)raw + 8, n);
    ck_assert_ptr_nonnull(strstr(hdr, "\"images\":{\"dtype\":\"F32\",\"shape\":[2,3,2,2],\"data_offsets\":[0,96]}"));
    ck_assert_ptr_nonnull(strstr(hdr, "\"iteration\":\"1200\""));
    ck_assert_ptr_nonnull(strstr(hdr, "\"layout\":\"NCHW\""));
    float first;
    memcpy(&first, raw + 8 + n, 4);
    ck_assert_float_eq(first, -1);                           /* -1.2 clamped */
    free(hdr);
    free(raw);

    meg_samples s;
    ck_assert_msg(meg_samples_read(p, 3, 2, 2, &s) == 0, "%s", rt_error());
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(s.c, 3);
    ck_assert_int_eq(s.h, 2);
    ck_assert_int_eq(s.w, 2);
    ck_assert_float_eq(s.images[0], -1);
    ck_assert_float_eq(s.images[1], -1);                     /* -1.1 */
    ck_assert_float_eq_tol(s.images[5], -0.7, 1e-7);
    ck_assert_float_eq(s.images[23], 1);                     /* 1.1 */
    ck_assert_float_eq_tol(s.images[21], 0.9, 1e-7);
    ck_assert_str_eq(meg_st_meta(s.file, "source"), "meg-train");
    ck_assert_str_eq(meg_st_meta(s.file, "range"), "[-1, 1]");
    meg_samples_free(&s);
    ck_assert_ptr_null(s.file);
    ck_assert_int_eq(meg_samples_read(p, 0, 0, 0, &s), 0);   /* any shape */
    ck_assert_int_eq(s.c, 3);
    meg_samples_free(&s);
}
END_TEST

START_TEST(samples_errors)
{
    const char *p = tpath("samples_bad.safetensors");
    float x[8] = {0, 0, 0, 0, 0, 0, NAN, 0};
    ck_assert_int_eq(meg_samples_write(p, x, 2, 1, 2, 2, NULL, 0), -1);
    assert_error_has(p);
    assert_error_has("sample 1 has a non-finite value");
    assert_error_has("row 1, column 0");
    x[6] = 0;
    meg_st_kv clash[1] = {{"range", "0..1"}};
    ck_assert_int_eq(meg_samples_write(p, x, 2, 1, 2, 2, clash, 1), -1);
    assert_error_has("'range'");
    ck_assert_int_eq(meg_samples_write(p, x, 0, 1, 2, 2, NULL, 0), -1);
    assert_error_has("[0, 1, 2, 2]");
    struct stat st;
    ck_assert_int_ne(stat(p, &st), 0);

    meg_samples s;
    ck_assert_int_eq(meg_samples_write(p, x, 2, 1, 2, 2, NULL, 0), 0);
    ck_assert_int_eq(meg_samples_read(p, 3, 2, 2, &s), -1);
    assert_error_has(p);
    assert_error_has("shape [2, 1, 2, 2], expected [N, 3, 2, 2]");
    ck_assert_ptr_null(s.file);
    ck_assert_int_eq(meg_samples_read(p, 1, 0, 4, &s), -1);
    assert_error_has("expected [N, 1, any, 4]");
    ck_assert_int_eq(meg_samples_read(tpath("none.safetensors"), 1, 2, 2, &s), -1);
    assert_error_has("none.safetensors");
    /* a file without "images", and one where it is not 4-D */
    meg_st_tensor t = {.name = "features", .ndim = 2, .shape = {2, 4}, .data = x};
    ck_assert_int_eq(meg_st_write(p, &t, 1, NULL, 0), 0);
    ck_assert_int_eq(meg_samples_read(p, 0, 0, 0, &s), -1);
    assert_error_has("no tensor 'images'");
    t.name = "images";
    ck_assert_int_eq(meg_st_write(p, &t, 1, NULL, 0), 0);
    ck_assert_int_eq(meg_samples_read(p, 0, 0, 0, &s), -1);
    assert_error_has("shape [2, 4], expected [N, any, any, any]");
    /* non-finite values written by another tool are refused on reading */
    t = (meg_st_tensor){.name = "images", .ndim = 4, .shape = {2, 1, 2, 2}, .data = x};
    x[5] = INFINITY;
    ck_assert_int_eq(meg_st_write(p, &t, 1, NULL, 0), 0);
    ck_assert_int_eq(meg_samples_read(p, 0, 0, 0, &s), -1);
    assert_error_has("sample 1 of 'images' has a non-finite value");
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

int main(void)
{
    Suite *s = suite_create("io");
    TCase *plot = tcase_create("plot");
    tcase_add_test(plot, colormap_anchors);
    tcase_add_test(plot, plot_png_roundtrip);
    tcase_add_test(plot, plot_heatmap_log_and_errors);
    tcase_add_test(plot, plot_polyline_clipped);
    tcase_add_test(plot, text_metrics);
    suite_add_tcase(s, plot);
    TCase *png = tcase_create("png");
    tcase_add_test(png, png_image_grid);
    tcase_add_test(png, png_atomic_failures);
    tcase_add_test(png, sample_grid_gray_rgb);
    tcase_add_test(png, sample_grid_blocks_and_title);
    tcase_add_test(png, sample_grid_errors);
    suite_add_tcase(s, png);
    TCase *safetensors = tcase_create("safetensors");
    tcase_add_test(safetensors, st_roundtrip);
    tcase_add_test(safetensors, st_write_errors);
    tcase_add_test(safetensors, st_torn_files);
    tcase_add_test(safetensors, st_corrupt_headers);
    tcase_add_test(safetensors, samples_roundtrip);
    tcase_add_test(safetensors, samples_errors);
    suite_add_tcase(s, safetensors);
    return tf_run(s);
}
