/* plot.c: an RGB canvas with a data box, and the marks drawn in data
 * coordinates (heat map, discs, polylines). Frame and text: axes.c, font.c. */
#include "io.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CANVAS_MAX 16384

void meg_canvas_paste(meg_canvas *dst, const meg_canvas *src, int x, int y)
{
    for (int r = 0; r < src->height; r++) {
        int py = y + r;
        if (py < 0 || py >= dst->height) continue;
        int c0 = x < 0 ? -x : 0, c1 = src->width;
        if (x + c1 > dst->width) c1 = dst->width - x;
        if (c1 <= c0) return;
        memcpy(dst->rgb + ((size_t)py * dst->width + x + c0) * 3, src->rgb + ((size_t)r * src->width + c0) * 3,
               (size_t)(c1 - c0) * 3);
    }
}

int meg_canvas_init(meg_canvas *c, int width, int height, int margin, meg_box box)
{
    memset(c, 0, sizeof *c);
    if (width <= 0 || height <= 0 || width > CANVAS_MAX || height > CANVAS_MAX || margin < 0 ||
        2 * margin >= width || 2 * margin >= height) {
        rt_set_error("canvas: bad size %d x %d with margin %d", width, height, margin);
        return -1;
    }
    if (!(box.xmax > box.xmin) || !(box.ymax > box.ymin) || !isfinite(box.xmax - box.xmin) ||
        !isfinite(box.ymax - box.ymin)) {
        rt_set_error("canvas: bad data box [%g, %g] x [%g, %g]", box.xmin, box.xmax, box.ymin, box.ymax);
        return -1;
    }
    c->rgb = malloc((size_t)width * height * 3);
    if (!c->rgb) {
        rt_set_error("canvas: out of memory for %d x %d", width, height);
        return -1;
    }
    c->width = width;
    c->height = height;
    c->box = box;
    c->x0 = margin;
    c->y0 = margin;
    c->x1 = width - margin;
    c->y1 = height - margin;
    c->font_scale = (width < height ? width : height) >= 384 ? 2 : 1;
    meg_canvas_fill(c, MEG_RGB(255, 255, 255));
    return 0;
}

void meg_canvas_free(meg_canvas *c)
{
    free(c->rgb);
    c->rgb = NULL;
}

void meg_canvas_fill(meg_canvas *c, meg_rgb col)
{
    size_t n = (size_t)c->width * c->height;
    for (size_t i = 0; i < n; i++) {
        c->rgb[3 * i] = col.r;
        c->rgb[3 * i + 1] = col.g;
        c->rgb[3 * i + 2] = col.b;
    }
}

void meg_canvas_to_pixel(const meg_canvas *c, double x, double y, double *px, double *py)
{
    const meg_box *b = &c->box;
    *px = c->x0 + (x - b->xmin) / (b->xmax - b->xmin) * (c->x1 - c->x0);
    *py = c->y1 - (y - b->ymin) / (b->ymax - b->ymin) * (c->y1 - c->y0);
}

static uint8_t mix(uint8_t a, uint8_t b, double t) { return (uint8_t)lround(a + (b - a) * t); }

void meg_canvas_blend(meg_canvas *c, int px, int py, meg_rgb col, double alpha)
{
    if (px < 0 || py < 0 || px >= c->width || py >= c->height)
        return;
    alpha = alpha < 0 ? 0 : alpha > 1 ? 1 : alpha;
    uint8_t *p = c->rgb + 3 * ((size_t)py * c->width + px);
    p[0] = mix(p[0], col.r, alpha);
    p[1] = mix(p[1], col.g, alpha);
    p[2] = mix(p[2], col.b, alpha);
}

/* Dark violet through blue and green to yellow: monotone in lightness, so
 * the order of values reads right in grey too (viridis-like anchors). */
static const meg_rgb cmap_anchors[] = {
    {68, 1, 84},    {72, 40, 120},   {62, 74, 137},   {49, 104, 142},  {38, 130, 142},
    {31, 158, 137}, {53, 183, 121}, {109, 205, 89}, {180, 222, 44}, {253, 231, 37},
};

meg_rgb meg_colormap(double t)
{
    const int n = (int)(sizeof cmap_anchors / sizeof cmap_anchors[0]);
    if (!(t > 0))
        t = 0;              /* also catches NaN */
    if (t > 1)
        t = 1;
    double f = t * (n - 1);
    int k = (int)f;
    if (k >= n - 1)
        return cmap_anchors[n - 1];
    double u = f - k;
    meg_rgb a = cmap_anchors[k], b = cmap_anchors[k + 1];
    return MEG_RGB(mix(a.r, b.r, u), mix(a.g, b.g, u), mix(a.b, b.b, u));
}

/* The value drawn for a cell; 0 when unusable (NaN or, with log, <= 0). */
static int heat_value(float v, unsigned flags, double *out)
{
    if (!isfinite(v))
        return 0;
    if (flags & MEG_HEAT_LOG) {
        if (v <= 0)
            return 0;
        *out = log(v);
    } else {
        *out = v;
    }
    return 1;
}

int meg_plot_heatmap(meg_canvas *c, const float *values, int nx, int ny, unsigned flags,
                     double *vmin, double *vmax)
{
    if (nx <= 0 || ny <= 0) {
        rt_set_error("heat map: bad grid %d x %d", nx, ny);
        return -1;
    }
    size_t n = (size_t)nx * ny;
    double lo = INFINITY, hi = -INFINITY, v;
    for (size_t i = 0; i < n; i++)
        if (heat_value(values[i], flags, &v)) {
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    if (!(lo <= hi)) {
        rt_set_error("heat map: no finite%s value in the %d x %d grid",
                     (flags & MEG_HEAT_LOG) ? " positive" : "", nx, ny);
        return -1;
    }
    double w = c->x1 - c->x0, h = c->y1 - c->y0;
    for (int py = c->y0; py < c->y1; py++) {
        /* Pixel centre to a grid row, counted from the bottom of the box. */
        int j = (int)((c->y1 - (py + 0.5)) / h * ny);
        j = j < 0 ? 0 : j >= ny ? ny - 1 : j;
        for (int px = c->x0; px < c->x1; px++) {
            int i = (int)((px + 0.5 - c->x0) / w * nx);
            i = i < 0 ? 0 : i >= nx ? nx - 1 : i;
            float raw = values[(size_t)j * nx + i];
            meg_rgb col;
            if (heat_value(raw, flags, &v))
                col = meg_colormap(hi > lo ? (v - lo) / (hi - lo) : 0.5);
            else if (isfinite(raw))
                col = meg_colormap(0);            /* log of a zero density */
            else
                col = MEG_RGB(128, 128, 128);
            meg_canvas_blend(c, px, py, col, 1.0);
        }
    }
    if (vmin)
        *vmin = lo;
    if (vmax)
        *vmax = hi;
    return 0;
}

static void blend_in_area(meg_canvas *c, int px, int py, meg_rgb col, double alpha)
{
    if (px >= c->x0 && px < c->x1 && py >= c->y0 && py < c->y1)
        meg_canvas_blend(c, px, py, col, alpha);
}

void meg_plot_points(meg_canvas *c, const float *xy, size_t n, double radius, meg_rgb col,
                     double alpha)
{
    /* 0.71 > half a pixel diagonal: even a tiny disc covers the pixel it is in. */
    double r = radius > 0.71 ? radius : 0.71;
    for (size_t k = 0; k < n; k++) {
        double cx, cy;
        if (!isfinite(xy[2 * k]) || !isfinite(xy[2 * k + 1]))
            continue;
        meg_canvas_to_pixel(c, xy[2 * k], xy[2 * k + 1], &cx, &cy);
        if (cx < c->x0 - r || cx > c->x1 + r || cy < c->y0 - r || cy > c->y1 + r)
            continue;
        /* The disc's bounding box, cut to the plot area (a huge radius stays cheap). */
        int ya = (int)fmax(floor(cy - r), c->y0), yb = (int)fmin(floor(cy + r), c->y1 - 1);
        int xa = (int)fmax(floor(cx - r), c->x0), xb = (int)fmin(floor(cx + r), c->x1 - 1);
        for (int py = ya; py <= yb; py++)
            for (int px = xa; px <= xb; px++) {
                double dx = px + 0.5 - cx, dy = py + 0.5 - cy;
                if (dx * dx + dy * dy <= r * r)
                    blend_in_area(c, px, py, col, alpha);
            }
    }
}

/* Liang-Barsky: clips the segment to [xa, xb] x [ya, yb]; 0 when nothing is left. */
static int clip_segment(double *x0, double *y0, double *x1, double *y1, double xa, double xb,
                        double ya, double yb)
{
    double t0 = 0, t1 = 1, dx = *x1 - *x0, dy = *y1 - *y0;
    double p[4] = {-dx, dx, -dy, dy};
    double q[4] = {*x0 - xa, xb - *x0, *y0 - ya, yb - *y0};
    for (int k = 0; k < 4; k++) {
        if (p[k] == 0) {
            if (q[k] < 0)
                return 0;
            continue;
        }
        double t = q[k] / p[k];
        if (p[k] < 0) {
            if (t > t1)
                return 0;
            if (t > t0)
                t0 = t;
        } else {
            if (t < t0)
                return 0;
            if (t < t1)
                t1 = t;
        }
    }
    double ax = *x0 + t0 * dx, ay = *y0 + t0 * dy;
    *x1 = *x0 + t1 * dx;
    *y1 = *y0 + t1 * dy;
    *x0 = ax;
    *y0 = ay;
    return 1;
}

void meg_plot_polyline(meg_canvas *c, const float *xy, size_t n, meg_rgb col, double alpha)
{
    int last_x = -1, last_y = -1;     /* joints are shared by two segments: blend once */
    for (size_t k = 0; k + 1 < n; k++) {
        const float *a = xy + 2 * k, *b = a + 2;
        if (!isfinite(a[0]) || !isfinite(a[1]) || !isfinite(b[0]) || !isfinite(b[1]))
            continue;
        double x0, y0, x1, y1;
        meg_canvas_to_pixel(c, a[0], a[1], &x0, &y0);
        meg_canvas_to_pixel(c, b[0], b[1], &x1, &y1);
        /* Clip first, so a diverged chain far outside costs nothing. */
        if (!clip_segment(&x0, &y0, &x1, &y1, c->x0, c->x1 - 1e-9, c->y0, c->y1 - 1e-9))
            continue;
        double len = fmax(fabs(x1 - x0), fabs(y1 - y0));
        int steps = (int)ceil(len);
        for (int s = 0; s <= steps; s++) {
            double t = steps ? (double)s / steps : 0;
            int px = (int)floor(x0 + t * (x1 - x0)), py = (int)floor(y0 + t * (y1 - y0));
            if (px == last_x && py == last_y)
                continue;
            blend_in_area(c, px, py, col, alpha);
            last_x = px;
            last_y = py;
        }
    }
}
