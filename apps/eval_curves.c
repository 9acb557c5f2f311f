/* eval_curves.c: meg-eval curves: quality curves of 2-D models against
 * iterations (tools/quality-curve's curve.jsonl, rows of meg-eval toy), one
 * line per curve in three panels (modes captured, high-quality share,
 * energy distance to the data), in one PNG. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "eval_curves.h"
#include "io.h"
#include "util.h"

static const char *PROG = "meg-eval curves";

#define MAX_CURVES 8
#define PANEL_W 520
#define PANEL_H 400
#define HEADER 40
#define LEGEND_ROW 26

static const char *KEYS[3] = {"modes_captured", "hq_share", "energy_distance"};
static const char *NAMES[3] = {"modes captured", "high-quality share", "energy distance"};
static const meg_rgb COLOURS[MAX_CURVES] = {{200, 40, 40},  {40, 90, 200}, {30, 150, 60},  {230, 140, 0},
                                            {140, 60, 170}, {0, 160, 170}, {120, 120, 120}, {0, 0, 0}};

typedef struct curve {
    const char *path;
    char label[96];
    size_t n;
    float *xy[3];     /* (iteration, value) per panel; NaN values break the line */
    double modes;     /* the set's mode count (the modes panel's top), 0 when none */
} curve;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: meg-eval curves --curve FILE[=LABEL] [--curve ...] --out FILE.png [--title T]\n"
            "\n"
            "Quality curves of 2-D models against iterations: each FILE a curve.jsonl of\n"
            "tools/quality-curve (one meg-eval toy object per line, with \"iteration\"), at most %d.\n"
            "Draws modes captured, the high-quality share and the energy distance to the data, one\n"
            "coloured line per curve (LABEL, default the file's folder), in one PNG written\n"
            "atomically. Prints one JSON object: per curve its rows, the last row's numbers and the\n"
            "best high-quality share with its iteration.\n"
            "\n"
            "options:\n"
            "  --curve FILE[=LABEL]  a curve (repeatable)\n"
            "  --out FILE.png        the picture (required)\n"
            "  --title T             the line above the panels\n"
            "  -h, --help            this text\n", MAX_CURVES);
}

static void curve_free(curve *c)
{
    for (int k = 0; k < 3; k++) free(c->xy[k]);
}

/* The label of a curve: after '=', else its folder's name. */
static void default_label(const char *path, char *out, size_t n)
{
    const char *end = strrchr(path, '/');
    if (!end) { snprintf(out, n, "%.40s", path); return; }
    const char *start = end;
    while (start > path && start[-1] != '/') start--;
    snprintf(out, n, "%.*s", (int)(end - start > 40 ? 40 : end - start), start);
    if (!out[0]) snprintf(out, n, "%.40s", path);
}

static int read_curve(curve *c)
{
    FILE *f = fopen(c->path, "r");
    if (!f) { rt_set_error("%s: cannot open the curve", c->path); return -1; }
    size_t cap = 0;
    char line[4096];
    long lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            fclose(f);
            rt_set_error("%s:%ld: a line longer than %zu bytes (not a curve of meg-eval toy rows)", c->path, lineno,
                         sizeof line - 1);
            return -1;
        }
        double it = app_json_field(line, "iteration");
        if (!isfinite(it)) continue;
        if (c->n == cap) {
            cap = cap ? 2 * cap : 32;
            for (int k = 0; k < 3; k++) {
                float *t = realloc(c->xy[k], cap * 2 * sizeof *t);
                if (!t) { fclose(f); rt_set_error("out of host memory"); return -1; }
                c->xy[k] = t;
            }
        }
        for (int k = 0; k < 3; k++) {
            c->xy[k][2 * c->n] = (float)it;
            c->xy[k][2 * c->n + 1] = (float)app_json_field(line, KEYS[k]);
        }
        double m = app_json_field(line, "modes");
        if (isfinite(m) && m > c->modes) c->modes = m;
        c->n++;
    }
    fclose(f);
    if (!c->n) {
        rt_set_error("%s: no rows with an \"iteration\" (a curve.jsonl of tools/quality-curve is expected)", c->path);
        return -1;
    }
    return 0;
}

/* Panel k over every curve, into the figure at (x, y). */
static int draw_panel(meg_canvas *fig, int k, const curve *cs, int n, int x, int y)
{
    double xmax = 1, ymax = 0;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < cs[i].n; j++) {
            double it = cs[i].xy[k][2 * j], v = cs[i].xy[k][2 * j + 1];
            if (it > xmax) xmax = it;
            if (isfinite(v) && v > ymax) ymax = v;
        }
    if (k == 0)
        for (int i = 0; i < n; i++)
            if (cs[i].modes > ymax) ymax = cs[i].modes;
    if (k == 1 && ymax < 0.05) ymax = 0.05;
    meg_canvas p;
    if (meg_canvas_init(&p, PANEL_W, PANEL_H, 84, (meg_box){0, xmax * 1.03, 0, ymax > 0 ? ymax * 1.08 : 1}))
        return -1;
    meg_canvas_fill(&p, MEG_RGB(255, 255, 255));
    for (int i = 0; i < n; i++) {
        meg_plot_polyline(&p, cs[i].xy[k], cs[i].n, COLOURS[i], 1.0);
        meg_plot_points(&p, cs[i].xy[k], cs[i].n, 2.5, COLOURS[i], 1.0);
    }
    meg_plot_frame(&p, MEG_RGB(0, 0, 0));
    meg_plot_title(&p, NAMES[k], MEG_RGB(0, 0, 0));
    meg_canvas_paste(fig, &p, x, y);
    meg_canvas_free(&p);
    return 0;
}

/* The curve's last finite value of panel k, and its best (largest) with
 * its iteration. */
static void last_best(const curve *c, int k, double *last, double *best, double *best_at)
{
    *last = *best = *best_at = NAN;
    for (size_t j = 0; j < c->n; j++) {
        double v = c->xy[k][2 * j + 1];
        if (!isfinite(v)) continue;
        *last = v;
        if (!(v <= *best)) { *best = v; *best_at = c->xy[k][2 * j]; }
    }
}

static void json_num(double v)
{
    if (isfinite(v)) printf("%.6g", v);
    else printf("null");
}

int eval_curves_main(int argc, char **argv)
{
    curve cs[MAX_CURVES];
    memset(cs, 0, sizeof cs);
    int n = 0, rc = 1;
    const char *out = NULL, *title = NULL;
    char *args[MAX_CURVES] = {0};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--curve") && v) {
            if (n == MAX_CURVES) {
                fprintf(stderr, "%s: at most %d curves\n", PROG, MAX_CURVES);
                rc = 2;
                goto done;
            }
            if (!(args[n] = strdup(v))) { fprintf(stderr, "%s: out of host memory\n", PROG); goto done; }
            char *eq = strchr(args[n], '=');
            if (eq) {
                *eq = 0;
                snprintf(cs[n].label, sizeof cs[n].label, "%.60s", eq + 1);
            } else {
                default_label(args[n], cs[n].label, sizeof cs[n].label);
            }
            cs[n].path = args[n];
            n++;
            i++;
        }
        else if (!strcmp(a, "--out") && v) { out = v; i++; }
        else if (!strcmp(a, "--title") && v) { title = v; i++; }
        else {
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", PROG, a);
            rc = 2;
            goto done;
        }
    }
    if (!n || !out) {
        fprintf(stderr, "%s: at least one --curve FILE and --out FILE.png are required (see --help)\n", PROG);
        rc = 2;
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (read_curve(&cs[i])) { fprintf(stderr, "%s: %s\n", PROG, rt_error()); goto done; }
    int legend = n * LEGEND_ROW + 12;
    meg_canvas fig;
    if (meg_canvas_init(&fig, 3 * PANEL_W, HEADER + PANEL_H + legend, 0, (meg_box){0, 1, 0, 1})) {
        fprintf(stderr, "%s: %s\n", PROG, rt_error());
        goto done;
    }
    meg_canvas_fill(&fig, MEG_RGB(255, 255, 255));
    for (int k = 0; k < 3; k++)
        if (draw_panel(&fig, k, cs, n, k * PANEL_W, HEADER)) {
            fprintf(stderr, "%s: %s\n", PROG, rt_error());
            meg_canvas_free(&fig);
            goto done;
        }
    const char *head = title ? title : "quality against iterations";
    int scale = 2;
    while (scale > 1 && meg_text_width(head, scale) > fig.width - 16) scale--;
    meg_plot_text(&fig, (fig.width - meg_text_width(head, scale)) / 2, (HEADER - meg_text_height(scale)) / 2, scale,
                  head, MEG_RGB(0, 0, 0));
    for (int i = 0; i < n; i++) {
        int ly = HEADER + PANEL_H + 6 + i * LEGEND_ROW;
        for (int dy = 0; dy < 14; dy++)
            for (int dx = 0; dx < 28; dx++) meg_canvas_blend(&fig, 60 + dx, ly + dy, COLOURS[i], 1.0);
        meg_plot_text(&fig, 100, ly, 2, cs[i].label, MEG_RGB(0, 0, 0));
    }
    rc = meg_canvas_write_png(&fig, out) ? 1 : 0;
    meg_canvas_free(&fig);
    if (rc) { fprintf(stderr, "%s: %s\n", PROG, rt_error()); goto done; }
    printf("{\"figure\": ");
    app_json_string(stdout, out);
    printf(", \"curves\": [");
    for (int i = 0; i < n; i++) {
        double lm, bm, bma, lh, bh, bha, le, be, bea;
        last_best(&cs[i], 0, &lm, &bm, &bma);
        last_best(&cs[i], 1, &lh, &bh, &bha);
        last_best(&cs[i], 2, &le, &be, &bea);
        printf("%s{\"label\": ", i ? ", " : "");
        app_json_string(stdout, cs[i].label);
        printf(", \"rows\": %zu, \"last_iteration\": ", cs[i].n);
        json_num(cs[i].xy[0][2 * (cs[i].n - 1)]);
        printf(", \"last_modes_captured\": ");
        json_num(lm);
        printf(", \"last_hq_share\": ");
        json_num(lh);
        printf(", \"last_energy_distance\": ");
        json_num(le);
        printf(", \"best_hq_share\": ");
        json_num(bh);
        printf(", \"best_hq_share_at\": ");
        json_num(bha);
        printf("}");
    }
    printf("]}\n");
done:
    for (int i = 0; i < MAX_CURVES; i++) {
        curve_free(&cs[i]);
        free(args[i]);
    }
    return rc;
}
