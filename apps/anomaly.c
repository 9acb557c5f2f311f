/* anomaly.c: anomaly scores of a tabular MEG model's test split, the
 * means over the last epochs of a run's log and its picture by epoch (see
 * anomaly.h). */
#include "anomaly.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "io.h"
#include "util.h"

static const char *KEYS[5] = {"precision", "recall", "f1", "auprc", "auroc"};

static void values(const meg_anomaly_stats *s, double v[5])
{
    v[0] = s->precision;
    v[1] = s->recall;
    v[2] = s->f1;
    v[3] = s->auprc;
    v[4] = s->auroc;
}

int anomaly_score(megrun *r, anomaly_result *out, float *scores)
{
    const meg_dataset *t = &r->test;
    if (!t->n) { rt_set_error("%s: no test rows to score", r->data); return -1; }
    float *s = scores ? scores : malloc(2 * t->n * sizeof *s);
    if (!s) { rt_set_error("out of host memory"); return -1; }
    int rc = -1;
    if (megrun_eval_plans(r)) goto done;
    if (!r->grad2 && g_plan_new(r->s, &r->m.grad2, 1, NULL, &r->grad2)) goto done;
    if (meg_eval_energy(r->s, r->energy, &r->m, t->x, t->n, s) ||
        meg_eval_grad2(r->s, r->grad2, &r->m, t->x, t->n, s + t->n))
        goto done;
    if (!t->labels) {
        /* rows without labels (a CSV table scored only): the scores, and no numbers to judge them by */
        meg_anomaly_stats none = {.n = t->n, .percentile = ANOMALY_PERCENTILE, .threshold = NAN, .precision = NAN,
                                  .recall = NAN, .f1 = NAN, .auprc = NAN, .auroc = NAN};
        out->energy = out->grad2 = none;
        rc = 0;
        goto done;
    }
    if (meg_anomaly_metrics(s, t->labels, t->n, ANOMALY_PERCENTILE, &out->energy) ||
        meg_anomaly_metrics(s + t->n, t->labels, t->n, ANOMALY_PERCENTILE, &out->grad2))
        goto done;
    rc = 0;
done:
    if (s != scores) free(s);
    return rc;
}

static int put(char *buf, size_t cap, size_t *at, const char *key, double v)
{
    int w = isfinite(v) ? snprintf(buf + *at, cap - *at, "%s\"%s\": %.6g", *at ? ", " : "", key, v)
                        : snprintf(buf + *at, cap - *at, "%s\"%s\": null", *at ? ", " : "", key);
    if (w < 0 || (size_t)w >= cap - *at) { rt_set_error("anomaly: the numbers do not fit in %zu bytes", cap); return -1; }
    *at += (size_t)w;
    return 0;
}

int anomaly_json(const anomaly_result *a, char *buf, size_t cap)
{
    size_t at = 0;
    const meg_anomaly_stats *st[2] = {&a->energy, &a->grad2};
    const char *pre[2] = {"energy", "grad2"};
    buf[0] = 0;
    for (int k = 0; k < 2; k++) {
        double v[5];
        values(st[k], v);
        for (int j = 0; j < 5; j++) {
            char key[32];
            snprintf(key, sizeof key, "%s_%s", pre[k], KEYS[j]);
            if (put(buf, cap, &at, key, v[j])) return -1;
        }
    }
    return 0;
}


int anomaly_last_mean(const char *log, int k, char *buf, size_t cap)
{
    enum { NV = 10 };
    FILE *f = fopen(log, "r");
    if (!f) { rt_set_error("%s: cannot open the log", log); return -1; }
    double *rows = malloc((size_t)k * NV * sizeof *rows);
    if (!rows) { fclose(f); rt_set_error("out of host memory"); return -1; }
    char line[4096];
    long n = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "\"energy_f1\"")) continue;
        double *row = rows + (size_t)(n % k) * NV;   /* a ring of the last k rows */
        for (int j = 0; j < NV; j++) {
            char key[32];
            snprintf(key, sizeof key, "%s_%s", j < 5 ? "energy" : "grad2", KEYS[j % 5]);
            row[j] = app_json_field(line, key);
        }
        n++;
    }
    fclose(f);
    size_t at = 0;
    buf[0] = 0;
    long m = n < k ? n : k;
    int rc = 0;
    if (m > 0) {
        rc = put(buf, cap, &at, "last_k", (double)m);
        for (int j = 0; j < NV && !rc; j++) {
            double s = 0, ss = 0;
            for (long i = 0; i < m; i++) s += rows[i * NV + j];
            double mean = s / m;
            for (long i = 0; i < m; i++) ss += (rows[i * NV + j] - mean) * (rows[i * NV + j] - mean);
            char key[48];
            snprintf(key, sizeof key, "%s_%s_mean", j < 5 ? "energy" : "grad2", KEYS[j % 5]);
            rc = put(buf, cap, &at, key, mean);
            snprintf(key, sizeof key, "%s_%s_std", j < 5 ? "energy" : "grad2", KEYS[j % 5]);
            if (!rc) rc = put(buf, cap, &at, key, m > 1 ? sqrt(ss / (m - 1)) : 0.0);
        }
    }
    free(rows);
    return rc;
}

/* ---- the picture: F1, AUPRC and ROC AUC of both scores by epoch ------------- */

enum { CURVE_PANELS = 3, CURVE_W = 440, CURVE_H = 400, CURVE_HEADER = 40, CURVE_LEGEND = 34 };

static const char *PANEL_KEY[CURVE_PANELS] = {"f1", "auprc", "auroc"};
static const char *PANEL_NAME[CURVE_PANELS] = {"F1 at the 80th percentile", "AUPRC", "ROC AUC"};
static const meg_rgb SCORE_COLOUR[2] = {{200, 40, 40}, {40, 90, 200}};
static const char *SCORE_NAME[2] = {"E(x)", "squared norm of dE/dx"};   /* the font has no | or ^ */

/* Rows of the log with "energy_f1": (epoch, value) per score and panel. */
static int curve_rows(const char *log, float *xy[2][CURVE_PANELS], size_t *n, double *xmax)
{
    FILE *f = fopen(log, "r");
    if (!f) { rt_set_error("%s: cannot open the log to draw the curve", log); return -1; }
    size_t cap = 0;
    char line[4096];
    *n = 0;
    *xmax = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "\"energy_f1\"")) continue;
        double x = app_json_field(line, "epoch");
        if (!isfinite(x)) x = app_json_field(line, "iter");
        if (!isfinite(x)) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            for (int s = 0; s < 2; s++)
                for (int k = 0; k < CURVE_PANELS; k++) {
                    float *t = realloc(xy[s][k], cap * 2 * sizeof *t);
                    if (!t) { fclose(f); rt_set_error("out of host memory"); return -1; }
                    xy[s][k] = t;
                }
        }
        for (int s = 0; s < 2; s++)
            for (int k = 0; k < CURVE_PANELS; k++) {
                char key[32];
                snprintf(key, sizeof key, "%s_%s", s ? "grad2" : "energy", PANEL_KEY[k]);
                xy[s][k][2 * *n] = (float)x;
                xy[s][k][2 * *n + 1] = (float)app_json_field(line, key);   /* null: NaN, a gap */
            }
        if (x > *xmax) *xmax = x;
        (*n)++;
    }
    fclose(f);
    return 0;
}

int anomaly_curve(const char *log, const char *png, const char *data)
{
    float *xy[2][CURVE_PANELS] = {{0}};
    size_t n = 0;
    double xmax = 0;
    int rc = curve_rows(log, xy, &n, &xmax);
    if (rc || n < 2) goto done;   /* one point is no curve: nothing is drawn yet */
    meg_canvas fig;
    if ((rc = meg_canvas_init(&fig, CURVE_PANELS * CURVE_W, CURVE_HEADER + CURVE_H + CURVE_LEGEND, 0,
                              (meg_box){0, 1, 0, 1})))
        goto done;
    meg_canvas_fill(&fig, MEG_RGB(255, 255, 255));
    for (int k = 0; k < CURVE_PANELS && !rc; k++) {
        meg_canvas p;
        if ((rc = meg_canvas_init(&p, CURVE_W, CURVE_H, 64, (meg_box){0, xmax * 1.03, 0, 1.05}))) break;
        meg_canvas_fill(&p, MEG_RGB(255, 255, 255));
        for (int s = 0; s < 2; s++) {
            meg_plot_polyline(&p, xy[s][k], n, SCORE_COLOUR[s], 1.0);
            meg_plot_points(&p, xy[s][k], n, 2.5, SCORE_COLOUR[s], 1.0);
        }
        meg_plot_frame(&p, MEG_RGB(0, 0, 0));
        meg_plot_title(&p, PANEL_NAME[k], MEG_RGB(0, 0, 0));
        meg_canvas_paste(&fig, &p, k * CURVE_W, CURVE_HEADER);
        meg_canvas_free(&p);
    }
    if (!rc) {
        /* "kdd99:/long/path/file.gz" is titled "kdd99:file.gz" */
        const char *colon = strchr(data, ':'), *slash = strrchr(data, '/');
        int pre = colon && slash && slash > colon ? (int)(colon - data + 1) : 0;
        char head[160];
        snprintf(head, sizeof head, "%.*s%.40s: test-split scores by epoch", pre, data, pre ? slash + 1 : data);
        int scale = 2;
        while (scale > 1 && meg_text_width(head, scale) > fig.width - 16) scale--;
        meg_plot_text(&fig, (fig.width - meg_text_width(head, scale)) / 2, (CURVE_HEADER - meg_text_height(scale)) / 2,
                      scale, head, MEG_RGB(0, 0, 0));
        for (int s = 0; s < 2; s++) {
            int lx = 60 + s * 360, ly = CURVE_HEADER + CURVE_H + 10;
            for (int dy = 0; dy < 14; dy++)
                for (int dx = 0; dx < 28; dx++) meg_canvas_blend(&fig, lx + dx, ly + dy, SCORE_COLOUR[s], 1.0);
            meg_plot_text(&fig, lx + 40, ly, 2, SCORE_NAME[s], MEG_RGB(0, 0, 0));
        }
        rc = meg_canvas_write_png(&fig, png);
    }
    meg_canvas_free(&fig);
done:
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < CURVE_PANELS; k++) free(xy[s][k]);
    return rc;
}
