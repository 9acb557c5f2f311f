/* png.c: PNG files through stb_image_write, written atomically; canvases and
 * grids of small grayscale images. */
#include "io.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The one implementation of stb_image_write in the library; static, so it
 * cannot clash with another copy linked into a program. */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

#define PNG_MAX_SIDE 32768

static void sink(void *ctx, void *data, int size)
{
    rt_atomic_write(ctx, data, (size_t)size);
}

int meg_png_write(const char *path, int width, int height, int channels, const uint8_t *pixels)
{
    if (width <= 0 || height <= 0 || width > PNG_MAX_SIDE || height > PNG_MAX_SIDE ||
        channels < 1 || channels > 4) {
        rt_set_error("%s: bad PNG size %d x %d x %d", path, width, height, channels);
        return -1;
    }
    rt_atomic_file af;
    if (rt_atomic_open(&af, path))
        return -1;
    if (!stbi_write_png_to_func(sink, &af, width, height, channels, pixels, width * channels)) {
        if (!af.err)
            rt_set_error("%s: PNG encoding failed (out of memory?)", path);
        rt_atomic_abort(&af);
        return -1;
    }
    return rt_atomic_commit(&af);
}

int meg_canvas_write_png(const meg_canvas *c, const char *path)
{
    return meg_png_write(path, c->width, c->height, 3, c->rgb);
}

#define GRID_GAP 2
#define GRID_GAP_GREY 128

int meg_png_image_grid(const char *path, const float *images, int count, int h, int w, int cols,
                       float lo, float hi, int zoom)
{
    if (count <= 0 || h <= 0 || w <= 0 || cols <= 0 || zoom <= 0 || !(hi > lo)) {
        rt_set_error("%s: bad image grid (%d images of %d x %d, %d per row, zoom %d, range %g..%g)",
                     path, count, h, w, cols, zoom, (double)lo, (double)hi);
        return -1;
    }
    if (cols > count)
        cols = count;
    int rows = (count + cols - 1) / cols;
    long long W = (long long)cols * (w * (long long)zoom + GRID_GAP) + GRID_GAP;
    long long H = (long long)rows * (h * (long long)zoom + GRID_GAP) + GRID_GAP;
    if (W > PNG_MAX_SIDE || H > PNG_MAX_SIDE) {
        rt_set_error("%s: image grid of %lld x %lld pixels is too large", path, W, H);
        return -1;
    }
    uint8_t *pix = malloc((size_t)W * (size_t)H);
    if (!pix) {
        rt_set_error("%s: out of memory for a %lld x %lld image grid", path, W, H);
        return -1;
    }
    memset(pix, GRID_GAP_GREY, (size_t)W * (size_t)H);
    for (int n = 0; n < count; n++) {
        const float *img = images + (size_t)n * h * w;
        long long ox = GRID_GAP + (long long)(n % cols) * (w * zoom + GRID_GAP);
        long long oy = GRID_GAP + (long long)(n / cols) * (h * zoom + GRID_GAP);
        for (int y = 0; y < h * zoom; y++)
            for (int x = 0; x < w * zoom; x++) {
                double t = (img[(size_t)(y / zoom) * w + x / zoom] - lo) / (double)(hi - lo);
                t = t > 0 ? (t < 1 ? t : 1) : 0;      /* NaN goes to black as well */
                pix[(size_t)(oy + y) * W + (size_t)(ox + x)] = (uint8_t)lround(255 * t);
            }
    }
    int rc = meg_png_write(path, (int)W, (int)H, 1, pix);
    free(pix);
    return rc;
}
