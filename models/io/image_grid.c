/* image_grid.c: grids of generated image samples as PNG (grayscale, RGB, or
 * four channels as a 2 x 2 block of digits), with a title and a caption
 * drawn above them in the built-in font. The layout is described in io.h. */
#include "io.h"
#include "util.h"

#include <math.h>
#include <string.h>

#define GRID_GREY 128
#define SIDE_MAX 16384          /* the canvas limit of plot.c */
#define AUTO_SIDE 56            /* a 28-pixel digit at 2x reads well */
#define AUTO_ZOOM_MAX 8
#define ZOOM_MAX 16

/* [-1, 1] to 0..255; NaN goes to black with everything below -1. */
static uint8_t level(float v)
{
    double t = ((double)v + 1.0) / 2.0;
    t = t > 0 ? (t < 1 ? t : 1) : 0;
    return (uint8_t)lround(255 * t);
}

static void put(meg_canvas *cv, long x, long y, uint8_t r, uint8_t g, uint8_t b)
{
    uint8_t *p = cv->rgb + 3 * ((size_t)y * (size_t)cv->width + (size_t)x);
    p[0] = r;
    p[1] = g;
    p[2] = b;
}

static void fill_rect(meg_canvas *cv, long x0, long y0, long w, long h, uint8_t v)
{
    for (long y = y0; y < y0 + h; y++)
        for (long x = x0; x < x0 + w; x++)
            put(cv, x, y, v, v, v);
}

/* One h x w image (plane: one channel, or three for RGB) at (ox, oy). */
static void draw_image(meg_canvas *cv, const float *plane, size_t plane_size, int rgb, int h, int w,
                       int zoom, long ox, long oy)
{
    for (int y = 0; y < h * zoom; y++)
        for (int x = 0; x < w * zoom; x++) {
            size_t i = (size_t)(y / zoom) * (size_t)w + (size_t)(x / zoom);
            uint8_t r = level(plane[i]);
            if (rgb)
                put(cv, ox + x, oy + y, r, level(plane[plane_size + i]), level(plane[2 * plane_size + i]));
            else
                put(cv, ox + x, oy + y, r, r, r);
        }
}

int meg_png_sample_grid(const char *path, const float *images, int n, int c, int h, int w,
                        const meg_sample_grid *opt)
{
    meg_sample_grid o = opt ? *opt : (meg_sample_grid){0};
    if (!images || n <= 0 || h <= 0 || w <= 0 || (c != 1 && c != 3 && c != 4)) {
        rt_set_error("%s: cannot draw samples of shape [%d, %d, %d, %d]: need N, H, W >= 1 and "
                     "C = 1 (gray), 3 (RGB) or 4 (a 2 x 2 block)", path, n, c, h, w);
        return -1;
    }
    if (o.cols < 0 || o.zoom < 0 || o.zoom > ZOOM_MAX) {
        rt_set_error("%s: bad sample grid layout (%d per row, zoom %d; zoom 1..%d or 0 for auto)",
                     path, o.cols, o.zoom, ZOOM_MAX);
        return -1;
    }
    int side = h > w ? h : w;
    if (side > SIDE_MAX) {
        rt_set_error("%s: samples of %d x %d pixels are larger than a picture may be (%d a side)", path,
                     h, w, SIDE_MAX);
        return -1;
    }
    int zoom = o.zoom;
    if (!zoom) {
        zoom = (AUTO_SIDE + side - 1) / side;
        zoom = zoom < 1 ? 1 : zoom > AUTO_ZOOM_MAX ? AUTO_ZOOM_MAX : zoom;
    }
    int cols = o.cols ? o.cols : (int)ceil(sqrt((double)n));
    while (!o.cols && (long long)cols * cols < n)      /* sqrt rounding */
        cols++;
    if (cols > n)
        cols = n;
    int rows = (n + cols - 1) / cols;
    long long gap = 2LL * zoom, inner = zoom / 2 > 1 ? zoom / 2 : 1;
    long long cw = (long long)w * zoom, ch = (long long)h * zoom;
    if (c == 4) {
        cw = 2 * cw + inner;
        ch = 2 * ch + inner;
    }
    long long gw = cols * (cw + gap) + gap, gh = rows * (ch + gap) + gap;

    /* the band of text lines above the grid */
    const char *lines[2];
    int nlines = 0;
    if (o.title && *o.title) lines[nlines++] = o.title;
    if (o.caption && *o.caption) lines[nlines++] = o.caption;
    int s = gw >= 384 ? 2 : 1;
    int pad = 4 * s, line_h = meg_text_height(s) + 2 * s;   /* room for descenders */
    long long text_w = 0;
    for (int i = 0; i < nlines; i++) {
        long long tw = meg_text_width(lines[i], s);
        text_w = tw > text_w ? tw : text_w;
    }
    long long band = nlines ? 2LL * pad + (long long)nlines * line_h : 0;
    long long width = nlines && text_w + 2 * pad > gw ? text_w + 2 * pad : gw, height = band + gh;
    if (width > SIDE_MAX || height > SIDE_MAX) {
        rt_set_error("%s: a grid of %d samples [%d, %d, %d] at zoom %d, %d per row, is %lld x %lld "
                     "pixels, more than %d a side (fewer samples or a smaller zoom)",
                     path, n, c, h, w, zoom, cols, width, height, SIDE_MAX);
        return -1;
    }
    meg_canvas cv;
    if (meg_canvas_init(&cv, (int)width, (int)height, 0, (meg_box){0, 1, 0, 1})) {
        rt_error_prefix("%s", path);
        return -1;
    }
    long long gx = (width - gw) / 2;                      /* the grid, centred below the band */
    fill_rect(&cv, gx, band, gw, gh, GRID_GREY);
    size_t plane = (size_t)h * (size_t)w;
    for (int k = 0; k < n; k++) {
        const float *img = images + (size_t)k * (size_t)c * plane;
        long ox = (long)(gx + gap + (k % cols) * (cw + gap));
        long oy = (long)(band + gap + (k / cols) * (ch + gap));
        if (c == 4)
            for (int q = 0; q < 4; q++)
                draw_image(&cv, img + (size_t)q * plane, plane, 0, h, w, zoom,
                           ox + (q % 2) * (long)(w * zoom + inner), oy + (q / 2) * (long)(h * zoom + inner));
        else
            draw_image(&cv, img, plane, c == 3, h, w, zoom, ox, oy);
    }
    for (int i = 0; i < nlines; i++)
        meg_plot_text(&cv, (int)((width - meg_text_width(lines[i], s)) / 2), pad + i * line_h, s, lines[i],
                      MEG_RGB(0, 0, 0));
    int rc = meg_canvas_write_png(&cv, path);
    meg_canvas_free(&cv);
    return rc;
}
