/* anomaly.h: a trained MEG energy as an anomaly score on a tabular model's
 * test split (megrun.h's test set, labels 1 for anomalies): the energy E(x)
 * (the authors' code) and ||dE/dx||^2 (the paper's text), each thresholded
 * at the 80th percentile of the test scores, with precision, recall, F1,
 * AUPRC and ROC AUC (metrics.h). meg-train logs them every epoch, meg-eval
 * anomaly prints them. Apps only. */
#ifndef MEG_APPS_ANOMALY_H
#define MEG_APPS_ANOMALY_H

#include "megrun.h"
#include "metrics.h"

#define ANOMALY_PERCENTILE 80.0

typedef struct anomaly_result {
    meg_anomaly_stats energy, grad2;
} anomaly_result;

/* Both scores of every test row (scores NULL, or 2 x n floats: energies
 * then squared gradient norms) and their numbers; a test set without
 * labels (a CSV table scored only) gets the scores and NaN numbers. */
int anomaly_score(megrun *r, anomaly_result *out, float *scores);
/* `"energy_precision": .., "energy_recall": .., "energy_f1": .., "energy_auprc": .., "energy_auroc": ..,
 * "grad2_...": ..` into buf: flat keys, so that log rows are easy to read back. */
int anomaly_json(const anomaly_result *a, char *buf, size_t cap);
/* The means and standard deviations over the last k rows of log (rows with
 * "energy_f1") of each of anomaly_json's numbers, as `"last_k": k,
 * "energy_f1_mean": .., "energy_f1_std": .., ...` into buf; 0 rows: "". */
int anomaly_last_mean(const char *log, int k, char *buf, size_t cap);
/* png (written atomically): F1, AUPRC and ROC AUC of both scores against
 * the epoch, from the log's rows with "energy_f1"; fewer than 2 rows draw
 * nothing and succeed. data names the set in the title. */
int anomaly_curve(const char *log, const char *png, const char *data);

#endif
