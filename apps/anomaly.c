/* anomaly.c: anomaly scores of a tabular MEG model's test split, and the
 * means over the last epochs of a run's log (see anomaly.h). */
#include "anomaly.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
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
