/* frechet.c: the Frechet distance between Gaussians fitted to two feature
 * sets (metrics.h): moments accumulated in double, the trace of the matrix
 * square root through LAPACK's symmetric eigensolver.
 *
 * LAPACK is called through its Fortran symbol with a local prototype, not
 * LAPACKE: the C wrapper would add a second library and header for two
 * calls, and the bare symbol is what every LAPACK Debian can put behind
 * liblapack.so.3 provides (reference, OpenBLAS, BLIS), so a faster one
 * serves without a rebuild. */
#include "metrics.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Fortran passes everything by reference; gfortran appends the lengths of
 * character arguments as hidden trailing size_t parameters, which LAPACK
 * builds since gfortran 8 may read, so they are passed (always 1). */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                    double *w, double *work, const int *lwork, int *iwork, const int *liwork,
                    int *info, size_t jobz_len, size_t uplo_len);

#define CHUNK 32                /* rows per pass over the covariance: 256 KiB at d = 1024 */

static int check_dim(const char *what, int d)
{
    if (d < 1 || d > MEG_FD_MAX_DIM) {
        rt_set_error("%s: feature dimension %d, expected 1..%d", what, d, MEG_FD_MAX_DIM);
        return -1;
    }
    return 0;
}

int meg_feature_moments(const float *x, size_t n, int d, double *mean, double *cov)
{
    if (check_dim("feature moments", d))
        return -1;
    if (n < 2) {
        rt_set_error("feature moments: %zu rows, a covariance needs at least 2", n);
        return -1;
    }
    size_t D = (size_t)d;
    double *xc = malloc(D * CHUNK * sizeof *xc);
    if (!xc) {
        rt_set_error("feature moments: out of memory for %d features", d);
        return -1;
    }
    /* Two passes: the mean first, so the covariance sums centred values and
     * loses nothing to a large common offset. */
    memset(mean, 0, D * sizeof *mean);
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < D; i++) {
            float v = x[r * D + i];
            if (!isfinite(v)) {
                rt_set_error("feature moments: row %zu, feature %zu is not finite (%g)", r, i, (double)v);
                free(xc);
                return -1;
            }
            mean[i] += v;
        }
    for (size_t i = 0; i < D; i++)
        mean[i] /= (double)n;
    memset(cov, 0, D * D * sizeof *cov);
    /* CHUNK centred rows at a time; two covariance rows are updated together
     * along contiguous j (vectorised, no reduction chain), so each row of
     * the chunk is read once per pair of covariance rows from cache. */
    for (size_t r0 = 0; r0 < n; r0 += CHUNK) {
        size_t m = n - r0 < CHUNK ? n - r0 : CHUNK;
        for (size_t b = 0; b < m; b++)
            for (size_t i = 0; i < D; i++)
                xc[b * D + i] = (double)x[(r0 + b) * D + i] - mean[i];
        for (size_t i = 0; i < D; i += 2) {
            double *c0 = cov + i * D, *c1 = i + 1 < D ? c0 + D : NULL;
            for (size_t b = 0; b < m; b++) {
                const double *xb = xc + b * D;
                double x0 = xb[i];
                if (c1) {
                    double x1 = xb[i + 1];
                    c0[i] += x0 * xb[i];
                    for (size_t j = i + 1; j < D; j++) {
                        c0[j] += x0 * xb[j];
                        c1[j] += x1 * xb[j];
                    }
                } else {
                    c0[i] += x0 * xb[i];
                }
            }
        }
    }
    for (size_t i = 0; i < D; i++)
        for (size_t j = i; j < D; j++) {
            cov[i * D + j] /= (double)(n - 1);
            cov[j * D + i] = cov[i * D + j];
        }
    free(xc);
    return 0;
}

/* Eigenvalues into w (ascending) and, with vectors, eigenvectors into the
 * rows of a (a symmetric d x d matrix, overwritten). */
static int eigen(double *a, int d, double *w, int vectors)
{
    const char jobz = vectors ? 'V' : 'N', uplo = 'U';
    int lwork = -1, liwork = -1, info = 0, iq;
    double wq;
    dsyevd_(&jobz, &uplo, &d, a, &d, w, &wq, &lwork, &iq, &liwork, &info, 1, 1);
    if (info) {
        rt_set_error("Frechet distance: LAPACK dsyevd workspace query failed (info %d)", info);
        return -1;
    }
    lwork = (int)wq;
    liwork = iq;
    double *work = malloc((size_t)lwork * sizeof *work);
    int *iwork = malloc((size_t)liwork * sizeof *iwork);
    if (!work || !iwork) {
        free(work);
        free(iwork);
        rt_set_error("Frechet distance: out of memory for the eigensolver (d = %d)", d);
        return -1;
    }
    dsyevd_(&jobz, &uplo, &d, a, &d, w, work, &lwork, iwork, &liwork, &info, 1, 1);
    free(work);
    free(iwork);
    if (info) {
        rt_set_error("Frechet distance: LAPACK dsyevd did not converge on a %d x %d covariance (info %d)",
                     d, d, info);
        return -1;
    }
    return 0;
}

int meg_frechet_from_moments(const double *mu_a, const double *cov_a, const double *mu_b,
                             const double *cov_b, int d, double *fd)
{
    if (check_dim("Frechet distance", d))
        return -1;
    size_t D = (size_t)d;
    for (size_t i = 0; i < D; i++)
        for (size_t j = i; j < D; j++)
            if (!isfinite(cov_a[i * D + j]) || !isfinite(cov_b[i * D + j]) ||
                (i == j && (!isfinite(mu_a[i]) || !isfinite(mu_b[i])))) {
                rt_set_error("Frechet distance: a mean or covariance entry (%zu, %zu) is not finite", i, j);
                return -1;
            }
    double *v = malloc(D * D * sizeof *v), *t = malloc(D * D * sizeof *t), *l = malloc(D * sizeof *l);
    double *mm = malloc(D * D * sizeof *mm);
    if (!v || !t || !l || !mm) {
        free(v);
        free(t);
        free(l);
        free(mm);
        rt_set_error("Frechet distance: out of memory for d = %d", d);
        return -1;
    }
    int rc = -1;
    double mean2 = 0, tr = 0;
    for (size_t i = 0; i < D; i++) {
        double dm = mu_a[i] - mu_b[i];
        mean2 += dm * dm;
        tr += cov_a[i * D + i] + cov_b[i * D + i];
    }
    /* Sa = V^T diag(l) V, V's rows the eigenvectors. The eigenvalues of
     * Sa^1/2 Sb Sa^1/2 are those of diag(sqrt l) (V Sb V^T) diag(sqrt l),
     * the same matrix in Sa's eigenbasis, so Sa^1/2 itself is never formed. */
    for (size_t i = 0; i < D; i++)
        for (size_t j = i; j < D; j++)
            v[i * D + j] = v[j * D + i] = cov_a[i * D + j];
    if (eigen(v, d, l, 1))
        goto out;
    for (size_t i = 0; i < D; i++)
        l[i] = l[i] > 0 ? sqrt(l[i]) : 0;     /* a PSD matrix's negative eigenvalues are rounding */
    /* t = V Sb, Sb made whole from its upper triangle first so the inner
     * loop runs along rows */
    for (size_t i = 0; i < D; i++)
        for (size_t j = i; j < D; j++)
            mm[i * D + j] = mm[j * D + i] = cov_b[i * D + j];
    memset(t, 0, D * D * sizeof *t);
    for (size_t j = 0; j < D; j++) {
        double *tj = t + j * D;
        for (size_t i = 0; i < D; i++) {
            double vji = v[j * D + i];
            const double *bi = mm + i * D;
            for (size_t k = 0; k < D; k++)
                tj[k] += vji * bi[k];
        }
    }
    /* M = diag(l) (V Sb V^T) diag(l) = diag(l) t V^T diag(l). With V^T in
     * the buffer Sb used, row j of t V^T is sum_q t_jq (row q of V^T), a
     * sum along contiguous k; only k >= j is computed (M is symmetric) and
     * mirrored, so either triangle convention reads it. M goes into V's
     * buffer, which V^T has made free. */
    for (size_t q = 0; q < D; q++)
        for (size_t k = 0; k < D; k++)
            mm[q * D + k] = v[k * D + q];
    for (size_t j = 0; j < D; j++) {
        const double *tj = t + j * D;
        double *row = v + j * D;
        for (size_t k = j; k < D; k++)
            row[k] = 0;
        for (size_t q = 0; q < D; q++) {
            double tjq = tj[q];
            const double *wq = mm + q * D;
            for (size_t k = j; k < D; k++)
                row[k] += tjq * wq[k];
        }
        for (size_t k = j; k < D; k++) {
            row[k] *= l[j] * l[k];
            v[k * D + j] = row[k];
        }
    }
    if (eigen(v, d, l, 0))
        goto out;
    double root = 0;
    for (size_t i = 0; i < D; i++)
        root += l[i] > 0 ? sqrt(l[i]) : 0;
    *fd = mean2 + tr - 2 * root;
    rc = 0;
out:
    free(v);
    free(t);
    free(l);
    free(mm);
    return rc;
}

int meg_frechet_distance(const float *a, size_t na, const float *b, size_t nb, int d, double *fd)
{
    if (check_dim("Frechet distance", d))
        return -1;
    size_t D = (size_t)d;
    double *ma = malloc(D * sizeof *ma), *mb = malloc(D * sizeof *mb);
    double *ca = malloc(D * D * sizeof *ca), *cb = malloc(D * D * sizeof *cb);
    int rc = -1;
    if (!ma || !mb || !ca || !cb) {
        rt_set_error("Frechet distance: out of memory for d = %d", d);
        goto out;
    }
    if (meg_feature_moments(a, na, d, ma, ca)) {
        rt_error_prefix("set A");
        goto out;
    }
    if (meg_feature_moments(b, nb, d, mb, cb)) {
        rt_error_prefix("set B");
        goto out;
    }
    rc = meg_frechet_from_moments(ma, ca, mb, cb, d, fd);
out:
    free(ma);
    free(mb);
    free(ca);
    free(cb);
    return rc;
}
