/* metrics.h: numbers that say how good a model is, computed on the host
 * from what the device produced: densities normalised over a grid, the
 * quality of 2-D samples and densities against a toy Gaussian mixture, and
 * for image models the StackedMNIST mode counts, the Frechet distance
 * between feature sets and the Inception-like score of a classifier's
 * predictions; the precision, recall, F1, AUPRC and ROC AUC of anomaly
 * scores. The one public header of models/metrics/.
 *
 * Errors: functions returning int give 0 on success and -1 on failure, with
 * a message in rt_error() (util.h). Nothing here touches the device, aborts,
 * exits or prints.
 */
#ifndef MEG_MODELS_METRICS_H
#define MEG_MODELS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"   /* meg_box, the grid convention, MEG_TOY_MAX_MODES */

/* ---- densities on a grid --------------------------------------------------- */

/* density[i] = exp(-energy[i]) / sum, computed stably (shifted by min E):
 * the model's density normalised over a grid (data.h's convention). Fails
 * on a non-finite energy. density may alias energy. */
int meg_energy_to_density(const float *energy, size_t n, float *density);

/* ---- a distance between two samples, for any data set ------------------------
 * The energy distance (Szekely and Rizzo) between the distributions of n
 * points x and m points y of dimension dim (row-major):
 *   D = 2 E|X - Y| - E|X - X'| - E|Y - Y'|   (Euclidean norms),
 * the within-sample means over distinct pairs (the unbiased form). D >= 0,
 * 0 exactly when the distributions agree, so it needs no modes (swissroll).
 * O((n + m)^2 dim) on the host: about a second for 10,000 points each. */
double meg_energy_distance(const float *x, size_t n, const float *y, size_t m, int dim);

/* ---- quality of samples from the 2-D Gaussian mixtures ------------------- */

/* With the K centres and std of meg_toy_modes, and r = 3 * std (Euclidean
 * distance to a centre):
 * - a sample is high quality when it lies within r of some centre, and is
 *   then assigned to the nearest one;
 * - a mode is captured when at least 1% of all samples are assigned to it;
 * - kl_uniform = KL(p || uniform over all K modes) = sum_k p_k log(p_k K),
 *   p the histogram of assignments normalised over the high-quality
 *   samples; 0 when every mode gets the same share, log(K/m) when m modes
 *   share evenly; NaN when no sample is high quality;
 * - grid_mass_near: share of a normalised density on a grid that lies in
 *   cells whose centre is within r of some centre. */
typedef struct meg_toy_quality {
    int modes;                /* K */
    int modes_captured;
    size_t samples;           /* n */
    double hq_share;          /* high-quality samples / n */
    double kl_uniform;
    double grid_mass_near;    /* NaN until meg_toy_quality_grid */
    size_t mode_count[MEG_TOY_MAX_MODES]; /* samples assigned to each mode */
} meg_toy_quality;

/* Marks every number as not computed (NaN, -1). */
void meg_toy_quality_init(meg_toy_quality *q);
/* Fills every field except grid_mass_near from n samples (x, y pairs). */
int meg_toy_quality_samples(const float *centers, int count, float std,
                            const float *xy, size_t n, meg_toy_quality *q);
/* Sets q->grid_mass_near from a density on an nx x ny grid over box (grid
 * convention of data.h; need not be normalised, must be >= 0 with a positive
 * sum). Fails when a cell is wider than 3 std, since the centre test would
 * then miss modes. */
int meg_toy_quality_grid(const float *centers, int count, float std,
                         meg_box box, int nx, int ny, const float *density,
                         meg_toy_quality *q);
/* Writes `"modes": 8, "modes_captured": 8, "hq_share": ..., "kl_uniform":
 * ..., "grid_mass_near": ...` (no braces, NaN as null) into buf. Fails when
 * it does not fit. */
int meg_toy_quality_json(const meg_toy_quality *q, char *buf, size_t cap);

/* ---- StackedMNIST modes ------------------------------------------------------
 * A StackedMNIST sample stacks k digits, one per channel; its mode is the
 * k-digit number they spell, channel 0 the leading digit, so there are 10^k
 * modes (1000 for 3 stacks). */
#define MEG_MODES_MAX_DIGITS 8

/* ids[i] = sum_j digits[i * k + j] * 10^(k - 1 - j) from per-channel digit
 * predictions [n, k] (each 0..9, e.g. a classifier's argmax). Fails naming
 * the sample and channel of a digit outside 0..9, or on k outside
 * 1..MEG_MODES_MAX_DIGITS. ids may not alias digits unless k = 1. */
int meg_stacked_mode_ids(const int *digits, size_t n, int k, int *ids);

/* With p the samples' mode histogram (counts / n) and q the reference's
 * (ref_counts / their total, e.g. the training pool's modes):
 * - modes_covered: modes with at least one sample;
 * - kl_uniform = KL(p || uniform over all modes) = sum_m p_m log(p_m M),
 *   0 when every mode gets the same share, log(M) when one mode has all;
 * - kl_ref = KL(p || q) = sum_m p_m log(p_m / q_m), the seed's convention:
 *   computed from the raw counts, no smoothing; a mode where p_m = 0 adds 0;
 *   a mode where q_m = 0 but p_m > 0 makes KL infinite, and then kl_ref is
 *   +INFINITY (printed as null in JSON) while ref_unsupported_modes and
 *   ref_unsupported_samples say how many modes and samples did that (rather
 *   than hide them with an epsilon that would decide the number);
 *   NaN when no reference is given. */
typedef struct meg_mode_stats {
    size_t modes;                   /* M, e.g. 10^k */
    size_t samples;                 /* n */
    size_t modes_covered;
    double kl_uniform;
    double kl_ref;
    size_t ref_unsupported_modes;   /* modes with samples and no reference count */
    size_t ref_unsupported_samples; /* the samples in them */
} meg_mode_stats;

/* From n mode ids in [0, modes) (errors name a sample outside), modes in
 * 1..10^MEG_MODES_MAX_DIGITS; ref_counts: modes counts with a positive sum,
 * or NULL. hist, when not NULL, gets the samples' counts (modes entries). */
int meg_mode_coverage(const int *ids, size_t n, size_t modes, const size_t *ref_counts,
                      meg_mode_stats *out, size_t *hist);
/* `"modes": 1000, "modes_covered": ..., "kl_uniform": ..., "kl_ref": ...,
 * "ref_unsupported_modes": ..., "ref_unsupported_samples": ...` (no braces,
 * non-finite numbers as null) into buf; fails when it does not fit. */
int meg_mode_stats_json(const meg_mode_stats *s, char *buf, size_t cap);

/* ---- Frechet distance between feature sets --------------------------------------
 * The Frechet (2-Wasserstein) distance between Gaussians fitted to two sets
 * of d-dimensional features (FID, when the features are Inception's):
 *   FD = |mu_a - mu_b|^2 + tr(Sa) + tr(Sb) - 2 tr((Sa^1/2 Sb Sa^1/2)^1/2),
 * means and unbiased covariances (divided by n - 1, as numpy.cov), all in
 * double. The square roots go through symmetric eigendecompositions
 * (LAPACK dsyevd); eigenvalues below 0 from rounding count as 0. The result
 * can come out a rounding error below 0 (FD(A, A)). Where a covariance is
 * singular (n <= d, or features confined to a subspace) the square root at
 * 0 magnifies rounding: then FD carries an error of about 1e-8 times the
 * largest eigenvalue per missing dimension (scipy's sqrtm too).
 * O(n d^2 + d^3): 5000 rows each of d = 128 take 0.15 s on one core, of
 * d = 1024 about 5 s (3 of them Debian's reference LAPACK; an optimised
 * liblapack.so.3 is faster). */
#define MEG_FD_MAX_DIM 4096

/* mean[d] and cov[d * d] (row-major, symmetric) of n >= 2 rows x[n, d];
 * fails on d outside 1..MEG_FD_MAX_DIM or a non-finite value (naming the
 * row). */
int meg_feature_moments(const float *x, size_t n, int d, double *mean, double *cov);
/* FD from the moments; the covariances must be symmetric (only their upper
 * triangles are read) and finite. */
int meg_frechet_from_moments(const double *mu_a, const double *cov_a, const double *mu_b,
                             const double *cov_b, int d, double *fd);
/* FD between rows a[na, d] and b[nb, d] (na, nb >= 2). */
int meg_frechet_distance(const float *a, size_t na, const float *b, size_t nb, int d, double *fd);

/* ---- Inception-like score ---------------------------------------------------------
 * exp(E_x KL(p(y|x) || p(y))), p(y) the mean of p(y|x) over the samples,
 * from probs[n, k]: each row a classifier's class probabilities (softmax
 * outputs, not logits or log-probabilities: what a classifier script saves
 * and what the formula reads; 0 log 0 counts 0). 1 when every sample gets
 * the same prediction, k when predictions are confident and spread evenly
 * over the k classes. Rows must be finite, >= 0 and sum to 1 within 1e-3
 * (each is renormalised in double); errors name the row. */
int meg_inception_score(const float *probs, size_t n, int k, double *score);

/* ---- anomaly detection --------------------------------------------------------
 * From n scores (higher = more anomalous: an energy, a gradient norm) and
 * labels (1 = anomaly, 0 = normal), the numbers of tables 2.3 and 2.4 of
 * the seed, computed as its authors' code does (numpy and scikit-learn):
 * - threshold: the percentile of the scores with numpy's default (linear)
 *   interpolation; a row is flagged when its score is at or above it
 *   (np.percentile(scores, 80) and labs[scores >= per] = 1 in the authors'
 *   ebm_kdd.py): at 80 the top 20%, more when scores tie at the threshold;
 * - precision, recall and F1 of the anomaly class over the flagged rows
 *   (0 where a denominator is 0, as scikit-learn's default);
 * - auprc: the trapezoid over the precision-recall curve, as sklearn's
 *   auc(recall, precision) of precision_recall_curve (not its step-wise
 *   average_precision_score); auroc: the area under the ROC curve (as
 *   roc_auc_score). Both NaN when the labels hold one class only. */
typedef struct meg_anomaly_stats {
    size_t n;                 /* rows */
    size_t anomalies;         /* rows labelled 1 */
    double percentile;        /* of the threshold, 0..100 */
    double threshold;
    size_t flagged;           /* rows with a score at or above the threshold */
    size_t true_pos;          /* anomalies among them */
    double precision, recall, f1;
    double auprc, auroc;
} meg_anomaly_stats;

/* The percentile (0..100) of n >= 1 finite scores, numpy's linear way:
 * sorted v, position p/100 * (n - 1), interpolated between its neighbours. */
int meg_percentile(const float *scores, size_t n, double percentile, double *out);
/* AUPRC and ROC AUC alone (NaN with one class); errors as below. */
int meg_anomaly_auprc(const float *scores, const int32_t *labels, size_t n, double *auprc);
int meg_anomaly_auroc(const float *scores, const int32_t *labels, size_t n, double *auroc);
/* Everything above at the given percentile of the scores (80 in the seed).
 * Fails on n = 0, a score that is not finite or a label other than 0 and 1,
 * naming the row. */
int meg_anomaly_metrics(const float *scores, const int32_t *labels, size_t n, double percentile,
                        meg_anomaly_stats *out);
/* `"n": ..., "anomalies": ..., "percentile": ..., "threshold": ...,
 * "flagged": ..., "precision": ..., "recall": ..., "f1": ..., "auprc": ...,
 * "auroc": ...` (no braces, NaN as null) into buf; fails when it does not fit. */
int meg_anomaly_stats_json(const meg_anomaly_stats *s, char *buf, size_t cap);

/* Any model's score of n rows x[n, dim] into scores[n]: 0, or -1 with a
 * message (a device error, say). */
typedef int (*meg_score_fn)(void *ctx, const float *x, size_t n, size_t dim, float *scores);
/* Scores every row of d (with labels 0/1) through fn, at most batch rows a
 * call (0: all at once), into scores (d->n of them; NULL: kept inside), and
 * the metrics of those scores at the percentile into out. */
int meg_anomaly_score_set(const meg_dataset *d, meg_score_fn fn, void *ctx, size_t batch, double percentile,
                          float *scores, meg_anomaly_stats *out);

#endif
