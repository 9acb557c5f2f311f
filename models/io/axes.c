/* axes.c: the frame around the plot area, ticks at round numbers with their
 * labels, and the title. */
#include "io.h"

#include <math.h>
#include <stdio.h>

/* Pixels per tick at font scale 1: room for a label like "-1.5" and a gap. */
#define TICK_PIXELS 40

/* The 1, 2 or 5 times a power of ten nearest to range / target. */
static double nice_step(double range, int target)
{
    double raw = range / target;
    double p = pow(10, floor(log10(raw)));
    double f = raw / p;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

/* Digits after the point that a multiple of step needs. */
static int step_decimals(double step)
{
    int d = (int)-floor(log10(step) + 1e-9);
    return d < 0 ? 0 : d;
}

typedef struct ticks {
    double step;
    long first, last;         /* tick k is at k * step */
    int decimals;
} ticks;

/* Bigger fonts get fewer ticks, so labels never run into each other. */
static ticks make_ticks(double lo, double hi, int pixels, int scale)
{
    int target = pixels / (TICK_PIXELS * scale);
    ticks t;
    target = target < 2 ? 2 : target > 10 ? 10 : target;
    t.step = nice_step(hi - lo, target);
    t.first = (long)ceil(lo / t.step - 1e-9);
    t.last = (long)floor(hi / t.step + 1e-9);
    t.decimals = step_decimals(t.step);
    return t;
}

static void tick_label(const ticks *t, long k, char *buf, size_t cap)
{
    /* k * step, not a running sum, so 0 prints as "0" and never "-0.0". */
    snprintf(buf, cap, "%.*f", t->decimals, k == 0 ? 0.0 : k * t->step);
}

static void hline(meg_canvas *c, int xa, int xb, int y, meg_rgb col)
{
    for (int x = xa; x <= xb; x++)
        meg_canvas_blend(c, x, y, col, 1.0);
}

static void vline(meg_canvas *c, int x, int ya, int yb, meg_rgb col)
{
    for (int y = ya; y <= yb; y++)
        meg_canvas_blend(c, x, y, col, 1.0);
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void meg_plot_frame(meg_canvas *c, meg_rgb col)
{
    int s = c->font_scale, len = 4 * s, gap = 2 * s;
    char buf[32];
    /* The frame sits just outside the plot area so it never hides data. */
    hline(c, c->x0 - 1, c->x1, c->y0 - 1, col);
    hline(c, c->x0 - 1, c->x1, c->y1, col);
    vline(c, c->x0 - 1, c->y0 - 1, c->y1, col);
    vline(c, c->x1, c->y0 - 1, c->y1, col);

    ticks tx = make_ticks(c->box.xmin, c->box.xmax, c->x1 - c->x0, s);
    for (long k = tx.first; k <= tx.last; k++) {
        double px, py;
        meg_canvas_to_pixel(c, k * tx.step, c->box.ymin, &px, &py);
        int x = clampi((int)floor(px), c->x0, c->x1 - 1);
        vline(c, x, c->y1 + 1, c->y1 + len, col);
        tick_label(&tx, k, buf, sizeof buf);
        meg_plot_text(c, x - meg_text_width(buf, s) / 2, c->y1 + len + gap, s, buf, col);
    }
    ticks ty = make_ticks(c->box.ymin, c->box.ymax, c->y1 - c->y0, s);
    for (long k = ty.first; k <= ty.last; k++) {
        double px, py;
        meg_canvas_to_pixel(c, c->box.xmin, k * ty.step, &px, &py);
        int y = clampi((int)floor(py), c->y0, c->y1 - 1);
        hline(c, c->x0 - 1 - len, c->x0 - 2, y, col);
        tick_label(&ty, k, buf, sizeof buf);
        meg_plot_text(c, c->x0 - 1 - len - gap - meg_text_width(buf, s),
                      y - meg_text_height(s) / 2, s, buf, col);
    }
}

void meg_plot_title(meg_canvas *c, const char *title, meg_rgb col)
{
    int s = c->font_scale;
    int y = (c->y0 - meg_text_height(s)) / 2;
    meg_plot_text(c, (c->width - meg_text_width(title, s)) / 2, y < 1 ? 1 : y, s, title, col);
}
