/* anomaly.c: how well scores find anomalies: the percentile threshold and
 * the precision, recall and F1 it gives, the area under the
 * precision-recall curve as the seed's authors compute it, the ROC AUC, and
 * the scoring of a data set through any model's callback. */
#include "metrics.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct scored {
    double s;
    int32_t y;
} scored;

static int descending(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x < y) - (x > y);
}

static int ascending(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Scores must be finite (a NaN would make the order meaningless) and
 * labels 0 or 1; the message names the row. */
static int check(const float *scores, const int32_t *labels, size_t n, const char *what)
{
    if (!n) {
        rt_set_error("%s: no scores", what);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(scores[i])) {
            rt_set_error("%s: the score of row %zu (counted from 0) is %g, not finite", what, i, (double)scores[i]);
            return -1;
        }
        if (labels && labels[i] != 0 && labels[i] != 1) {
            rt_set_error("%s: the label of row %zu (counted from 0) is %d, neither 0 (normal) nor 1 (anomaly)", what,
                         i, (int)labels[i]);
            return -1;
        }
    }
    return 0;
}

int meg_percentile(const float *scores, size_t n, double percentile, double *out)
{
    if (check(scores, NULL, n, "percentile"))
        return -1;
    if (!(percentile >= 0 && percentile <= 100)) {
        rt_set_error("percentile %g is outside 0..100", percentile);
        return -1;
    }
    double *v = malloc(n * sizeof *v);
    if (!v) {
        rt_set_error("percentile: out of host memory for %zu scores", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = scores[i];
    qsort(v, n, sizeof *v, ascending);
    double pos = percentile / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(pos), hi = lo + 1 < n ? lo + 1 : n - 1;
    double t = pos - (double)lo;
    /* numpy's lerp: from the nearer end, so that equal neighbours give exactly their value */
    *out = t < 0.5 ? v[lo] + (v[hi] - v[lo]) * t : v[hi] - (v[hi] - v[lo]) * (1.0 - t);
    free(v);
    return 0;
}

/* The rows by descending score, and the anomaly count. */
static scored *sorted(const float *scores, const int32_t *labels, size_t n, size_t *pos, const char *what)
{
    if (check(scores, labels, n, what))
        return NULL;
    scored *r = malloc(n * sizeof *r);
    if (!r) {
        rt_set_error("%s: out of host memory for %zu scores", what, n);
        return NULL;
    }
    *pos = 0;
    for (size_t i = 0; i < n; i++) {
        r[i].s = scores[i];
        r[i].y = labels[i];
        *pos += (size_t)labels[i];
    }
    qsort(r, n, sizeof *r, descending);
    return r;
}

/* Both areas in one walk down the scores. One point per distinct score,
 * as scikit-learn's curves take one threshold per distinct value: rows
 * that tie enter together, and the trapezoid joins the points before and
 * after them by a straight line, so a tied block of a anomalies and b
 * normals counts as if they were interleaved evenly (on the ROC curve this
 * is the usual half credit for a tie). The PR curve starts at recall 0,
 * precision 1 (the point precision_recall_curve appends); points beyond
 * full recall add nothing, since the recall no longer grows. */
static void areas(const scored *r, size_t n, size_t pos, double *auprc, double *auroc)
{
    size_t neg = n - pos, tp = 0, fp = 0;
    double pr = 0, rec0 = 0, prec0 = 1, roc = 0, tpr0 = 0, fpr0 = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && r[j].s == r[i].s) {
            tp += (size_t)r[j].y;
            fp += (size_t)!r[j].y;
            j++;
        }
        i = j;
        double rec = pos ? (double)tp / (double)pos : 0, prec = (double)tp / (double)(tp + fp);
        pr += (rec - rec0) * (prec + prec0) / 2;
        rec0 = rec;
        prec0 = prec;
        double tpr = pos ? (double)tp / (double)pos : 0, fpr = neg ? (double)fp / (double)neg : 0;
        roc += (fpr - fpr0) * (tpr + tpr0) / 2;
        tpr0 = tpr;
        fpr0 = fpr;
    }
    *auprc = pos && neg ? pr : NAN;
    *auroc = pos && neg ? roc : NAN;
}

int meg_anomaly_auprc(const float *scores, const int32_t *labels, size_t n, double *auprc)
{
    size_t pos;
    double roc;
    scored *r = sorted(scores, labels, n, &pos, "AUPRC");
    if (!r)
        return -1;
    areas(r, n, pos, auprc, &roc);
    free(r);
    return 0;
}

int meg_anomaly_auroc(const float *scores, const int32_t *labels, size_t n, double *auroc)
{
    size_t pos;
    double pr;
    scored *r = sorted(scores, labels, n, &pos, "ROC AUC");
    if (!r)
        return -1;
    areas(r, n, pos, &pr, auroc);
    free(r);
    return 0;
}

int meg_anomaly_metrics(const float *scores, const int32_t *labels, size_t n, double percentile,
                        meg_anomaly_stats *out)
{
    meg_anomaly_stats s = {.n = n, .percentile = percentile};
    if (meg_percentile(scores, n, percentile, &s.threshold))
        return -1;
    scored *r = sorted(scores, labels, n, &s.anomalies, "anomaly metrics");
    if (!r)
        return -1;
    for (size_t i = 0; i < n && r[i].s >= s.threshold; i++) {
        s.flagged++;
        s.true_pos += (size_t)r[i].y;
    }
    s.precision = s.flagged ? (double)s.true_pos / (double)s.flagged : 0;
    s.recall = s.anomalies ? (double)s.true_pos / (double)s.anomalies : 0;
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
    areas(r, n, s.anomalies, &s.auprc, &s.auroc);
    free(r);
    *out = s;
    return 0;
}

static void num(char *buf, size_t cap, double v)
{
    if (isfinite(v))
        snprintf(buf, cap, "%.17g", v);
    else
        snprintf(buf, cap, "null");
}

int meg_anomaly_stats_json(const meg_anomaly_stats *s, char *buf, size_t cap)
{
    char v[7][32];
    const double x[7] = {s->percentile, s->threshold, s->precision, s->recall, s->f1, s->auprc, s->auroc};
    for (int i = 0; i < 7; i++)
        num(v[i], sizeof v[i], x[i]);
    int len = snprintf(buf, cap,
                       "\"n\": %zu, \"anomalies\": %zu, \"percentile\": %s, \"threshold\": %s, \"flagged\": %zu, "
                       "\"precision\": %s, \"recall\": %s, \"f1\": %s, \"auprc\": %s, \"auroc\": %s",
                       s->n, s->anomalies, v[0], v[1], s->flagged, v[2], v[3], v[4], v[5], v[6]);
    if (len < 0 || (size_t)len >= cap) {
        rt_set_error("anomaly stats: the JSON needs %d bytes, the buffer has %zu", len, cap);
        return -1;
    }
    return 0;
}

int meg_anomaly_score_set(const meg_dataset *d, meg_score_fn fn, void *ctx, size_t batch, double percentile,
                          float *scores, meg_anomaly_stats *out)
{
    const char *name = d->name ? d->name : "data set";
    if (!d->labels) {
        rt_set_error("%s: no labels to measure anomaly scores against", name);
        return -1;
    }
    if (!d->n) {
        rt_set_error("%s: no rows to score", name);
        return -1;
    }
    float *own = scores ? NULL : malloc(d->n * sizeof *own);
    float *sc = scores ? scores : own;
    if (!sc) {
        rt_set_error("%s: out of host memory for %zu scores", name, d->n);
        return -1;
    }
    size_t dim = meg_dataset_dim(d), step = batch ? batch : d->n;
    int rc = 0;
    for (size_t i = 0; i < d->n && !rc; i += step) {
        size_t m = d->n - i < step ? d->n - i : step;
        if (fn(ctx, d->x + i * dim, m, dim, sc + i)) {
            rt_error_prefix("%s: scoring rows %zu to %zu", name, i, i + m - 1);
            rc = -1;
        }
    }
    if (!rc)
        rc = meg_anomaly_metrics(sc, d->labels, d->n, percentile, out);
    free(own);
    return rc;
}
