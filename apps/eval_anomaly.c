/* eval_anomaly.c: meg-eval anomaly: scores the test split of a model
 * trained by meg-train --data kdd99:PATH, csv:PATH or mnist-heldout:D (or,
 * for csv:PATH, any file with its features, with or without labels) with
 * its energy E(x) and with
 * ||dE/dx||^2, prints precision, recall, F1 (threshold at the 80th
 * percentile), AUPRC and ROC AUC of both as one JSON object, and writes
 * scores.csv (one row per test row: both scores and the label) so that
 * anyone can recompute them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly.h"
#include "common.h"
#include "eval_anomaly.h"
#include "toyviz.h"

static const char *PROG = "meg-eval anomaly";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: meg-eval anomaly --checkpoint FILE [--data kdd99:PATH | csv:PATH] [options]\n"
            "\n"
            "Scores the test split of a model trained by meg-train --data kdd99:PATH (the same file:\n"
            "its 50/50 split by the fixed seed; a checkpoint's metadata is never opened as a path),\n"
            "--data csv:PATH (any CSV table with the model's features, see below) or --data\n"
            "mnist-heldout:D (the other digits' 20%% and every D, table 2.4 of the seed)\n"
            "with the learned energy E(x) (the seed's authors' code) and with ||dE/dx||^2 (the\n"
            "paper's text). Higher scores are more anomalous; the rows at or above the 80th\n"
            "percentile of the test scores are flagged; the anomalies are KDD's \"normal.\" rows\n"
            "(about 20%%, as in the seed's protocol) or a CSV table's rows labelled 1. Prints one\n"
            "JSON object: checkpoint, iteration, n (the rows scored), percentile,\n"
            "anomalies, then energy_precision, energy_recall, energy_f1, energy_auprc (trapezoid over\n"
            "the precision-recall curve, as sklearn's auc(recall, precision)), energy_auroc, and the\n"
            "same with grad2_ for ||dE/dx||^2, labelled (whether the rows had labels), scores.\n"
            "\n"
            "CSV tables (csv:PATH; csv-unscaled:PATH for a model trained so): the file's features are\n"
            "scaled by the min-max scaling saved in the checkpoint at training, whatever file it is,\n"
            "and must be as many as the model's. With --label-column NAME the test half of the file's\n"
            "50/50 split is scored and judged (for the file trained on: the rows it did not train on);\n"
            "without, every row is scored, anomalies and the numbers are null and scores.csv has no\n"
            "label column.\n"
            "\n"
            "options:\n"
            "  --checkpoint FILE  checkpoint.safetensors of meg-train --data kdd99:PATH, csv:PATH or\n"
            "                     mnist-heldout:D\n"
            "  --data kdd99:PATH  the KDD Cup 99 \"10 percent\" file the model was trained on\n"
            "                     (kdd99-unscaled:PATH for a model trained so); not needed for a\n"
            "                     held-out digit model\n"
            "  --data csv:PATH    a CSV table to score (header line of names, one number per cell)\n"
            "  --label-column NAME  csv:PATH: its column of labels (0 normal, 1 anomaly)\n"
            "  --data-dir DIR     where tools/data put MNIST (held-out digits)\n"
            "  --scores FILE.csv  where to write the scores (default scores.csv beside the checkpoint):\n"
            "                     energy,grad2,label per test row (energy,grad2 without labels), in\n"
            "                     the split's (the file's) order\n"
            "  --write-split DIR  instead: write the split and features of --data kdd99:PATH (or\n"
            "                     csv:PATH with --label-column) as DIR/train.csv (the rows trained on)\n"
            "                     and DIR/test.csv (features, then the label), no header, for baselines\n"
            "                     on the same rows\n"
            "  --device D         Vulkan device index or name substring\n"
            "  -h, --help         this text\n");
}

/* rows of d as CSV: its values, then the label when with_label */
static int write_csv(const char *path, const meg_dataset *d, int with_label)
{
    size_t D = meg_dataset_dim(d), C = D + (with_label ? 1 : 0);
    float *v = malloc(d->n * C * sizeof *v);
    if (!v) { rt_set_error("out of host memory"); return -1; }
    for (size_t i = 0; i < d->n; i++) {
        memcpy(v + i * C, d->x + i * D, D * sizeof *v);
        if (with_label) v[i * C + D] = (float)d->labels[i];
    }
    int rc = viz_csv(path, v, d->n, (int)C, NULL);
    free(v);
    return rc;
}

/* The split and features meg-train uses, as train.csv (features) and
 * test.csv (features, label), for baselines run on exactly these rows. */
static int write_split(const char *data, const char *label, const char *dir)
{
    megrun r = {0};
    char path[4200];
    int rc = 1;
    if (!megrun_is_tabular_name(data)) {
        rt_set_error("--write-split: --data expects kdd99:PATH, kdd99-unscaled:PATH, csv:PATH or csv-unscaled:PATH, "
                     "got \"%s\"", data);
        goto done;
    }
    if (megrun_is_csv_name(data) && !label) {
        rt_set_error("--write-split: a CSV table splits by its labels: pass --label-column NAME");
        goto done;
    }
    if (label) snprintf(r.label, sizeof r.label, "%s", label);
    if (app_prepare_out(dir) || megrun_load_data(&r, data, 1, NULL)) goto done;
    snprintf(path, sizeof path, "%s/train.csv", dir);
    if (write_csv(path, &r.set, 0)) goto done;
    snprintf(path, sizeof path, "%s/test.csv", dir);
    if (write_csv(path, &r.test, 1)) goto done;
    printf("{\"train\": %zu, \"test\": %zu, \"features\": %zu, \"dir\": ", r.set.n, r.test.n,
           meg_dataset_dim(&r.set));
    app_json_string(stdout, dir);
    printf("}\n");
    rc = 0;
done:
    if (rc) fprintf(stderr, "%s: %s\n", PROG, rt_error());
    megrun_close(&r);
    return rc;
}

/* The rows a csv:PATH model scores: with a label column, the test half of
 * the file's 50/50 split (labels kept); without one, every row; both scaled
 * by the checkpoint's scaling (megrun_from_meta read it), so any file with
 * the model's features is scored as the model was trained. The training
 * rows are not needed (the device holds no data for scoring). */
static int load_scored(megrun *r, const char *data, const char *label, const char *ckpath)
{
    int ck_unscaled = 0, unscaled = 0;
    megrun_tabular_path(r->data, &ck_unscaled);
    if (!megrun_is_csv_name(data) || (megrun_tabular_path(data, &unscaled), unscaled != ck_unscaled)) {
        rt_set_error("%s was trained on %s: --data expects %s:PATH, got \"%s\"", ckpath, r->data,
                     ck_unscaled ? "csv-unscaled" : "csv", data);
        return -1;
    }
    const char *path = megrun_tabular_path(data, NULL);
    meg_tabular_options to;
    meg_dataset train = {0};
    meg_tabular_options_default(&to);
    to.label = label;
    to.no_scaling = 1;   /* raw here: the checkpoint's scaling is applied below, once the features are checked */
    if (meg_dataset_tabular(&train, &r->test, path, &to, NULL)) return -1;
    if (!label) {
        meg_dataset_free(&r->test);
        r->test = train;   /* no labels: every row is scored */
        memset(&train, 0, sizeof train);
    }
    meg_dataset_free(&train);
    size_t d = meg_dataset_dim(&r->test);
    if (d != (size_t)r->cfg.dim) {
        char hint[400] = "";
        if (r->label[0] && !label && d == (size_t)r->cfg.dim + 1)
            snprintf(hint, sizeof hint, " (it was trained with --label-column %s: pass it when the file has that "
                     "column)", r->label);
        rt_set_error("%s: %zu feature columns, the model of %s takes %d%s", path, d, ckpath, r->cfg.dim, hint);
        return -1;
    }
    if (!r->test.n) {
        rt_set_error("%s: no rows to score", path);
        return -1;
    }
    if (!unscaled && meg_tabular_scale(&r->test, r->scale_min, r->scale_range, r->scale_n)) return -1;
    snprintf(r->label, sizeof r->label, "%s", label ? label : "");
    /* r->n and cfg stay the checkpoint's: the model as trained, no data on the device */
    return 0;
}

int eval_anomaly_main(int argc, char **argv)
{
    const char *ckpath = NULL, *data = NULL, *scores_path = NULL, *device = NULL, *data_dir = NULL, *split = NULL,
               *label = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--checkpoint") && v) { ckpath = v; i++; }
        else if (!strcmp(a, "--data") && v) { data = v; i++; }
        else if (!strcmp(a, "--scores") && v) { scores_path = v; i++; }
        else if (!strcmp(a, "--data-dir") && v) { data_dir = v; i++; }
        else if (!strcmp(a, "--write-split") && v) { split = v; i++; }
        else if (!strcmp(a, "--label-column") && v) { label = v; i++; }
        else if (!strcmp(a, "--device") && v) { device = v; i++; }
        else {
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", PROG, a);
            return 2;
        }
    }
    if (split) {
        if (ckpath || !data) {
            fprintf(stderr, "%s: --write-split DIR takes --data kdd99:PATH and no checkpoint\n", PROG);
            return 2;
        }
        return write_split(data, label, split);
    }
    if (label && (!*label || strlen(label) >= sizeof ((megrun *)0)->label)) {
        fprintf(stderr, "%s: --label-column expects a column name of 1 to %zu bytes\n", PROG,
                sizeof ((megrun *)0)->label - 1);
        return 2;
    }
    if (!ckpath) {
        fprintf(stderr, "%s: --checkpoint FILE is required (see --help)\n", PROG);
        return 2;
    }
    megrun r = {0};
    meg_st_file *ck = NULL;
    float *s = NULL, *rows = NULL;
    int rc = 1;
    char path[4200], js[1024];
    if (meg_st_read(ckpath, &ck) || megrun_from_meta(&r, ck)) goto fail;
    if (!megrun_has_anomaly_test(r.data)) {
        rt_set_error("%s was trained on %s, not on an anomaly-detection set (kdd99:PATH, csv:PATH, mnist-heldout:D)",
                     ckpath, r.data);
        goto fail;
    }
    if (!data) data = megrun_checkpoint_data(&r, NULL, ckpath);   /* a held-out digit: the checkpoint's */
    if (!data) goto fail;
    if (!megrun_has_anomaly_test(data)) {
        rt_set_error("--data expects kdd99:PATH, kdd99-unscaled:PATH, csv:PATH, csv-unscaled:PATH or mnist-heldout:D, "
                     "got \"%s\"", data);
        goto fail;
    }
    size_t n_ck = r.n;
    int dim_ck = r.cfg.dim, csv = megrun_is_csv_name(r.data);
    if (csv && load_scored(&r, data, label, ckpath)) goto fail;
    if (!csv && label) {
        rt_set_error("--label-column is for models trained on a CSV table (csv:PATH); %s was trained on %s", ckpath,
                     r.data);
        goto fail;
    }
    if (!csv && megrun_load_data(&r, data, r.cfg.seed, data_dir)) goto fail;
    if (!csv && (r.set.n != n_ck || meg_dataset_dim(&r.set) != (size_t)dim_ck)) {
        rt_set_error("%s: its training split has %zu rows of %zu features, the checkpoint's %zu of %d: not the file "
                     "the model was trained on", megrun_tabular_path(data, NULL), r.set.n, meg_dataset_dim(&r.set), n_ck,
                     dim_ck);
        goto fail;
    }
    if (megrun_open(&r, device) || meg_checkpoint_load(ck, r.s, r.m.g)) goto fail;
    meg_st_free(ck);
    ck = NULL;
    size_t n = r.test.n;
    s = malloc(2 * n * sizeof *s);
    if (!s) { rt_set_error("out of host memory"); goto fail; }
    anomaly_result a;
    int labelled = r.test.labels != NULL;
    if (anomaly_score(&r, &a, s) || anomaly_json(&a, js, sizeof js)) goto fail;
    /* scores.csv, whole or not at all */
    if (!scores_path) {
        const char *slash = strrchr(ckpath, '/');
        snprintf(path, sizeof path, "%.*sscores.csv", slash ? (int)(slash - ckpath + 1) : 0, ckpath);
        scores_path = path;
    }
    /* a row per scored row: both scores, then the label when there are labels */
    int C = labelled ? 3 : 2;
    rows = malloc((size_t)C * (n ? n : 1) * sizeof *rows);
    if (!rows) { rt_set_error("out of host memory"); goto fail; }
    for (size_t i = 0; i < n; i++) {
        rows[C * i] = s[i];
        rows[C * i + 1] = s[n + i];
        if (labelled) rows[C * i + 2] = (float)r.test.labels[i];
    }
    if (viz_csv(scores_path, rows, n, C, labelled ? "energy,grad2,label" : "energy,grad2")) goto fail;
    printf("{\"checkpoint\": ");
    app_json_string(stdout, ckpath);
    printf(", \"iteration\": %ld, \"n\": %zu, \"anomalies\": ", r.iteration, n);
    if (labelled) printf("%zu", a.energy.anomalies);
    else printf("null");
    printf(", \"percentile\": %g, %s, \"labelled\": %s, \"scores\": ", ANOMALY_PERCENTILE, js,
           labelled ? "true" : "false");
    app_json_string(stdout, scores_path);
    printf("}\n");
    rc = rt_validation_count(r.ctx) ? 1 : 0;
    if (rc) fprintf(stderr, "%s: %d Vulkan validation message(s)\n", PROG, rt_validation_count(r.ctx));
    goto done;
fail:
    fprintf(stderr, "%s: %s\n", PROG, rt_error());
    rc = 1;
done:
    free(s);
    free(rows);
    meg_st_free(ck);
    megrun_close(&r);
    return rc;
}
