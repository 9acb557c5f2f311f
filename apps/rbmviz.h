/* rbmviz.h: the pictures of a trained RBM (rbmviz.c), PNG grids of h x wd
 * images. Apps only. */
#ifndef MEG_APPS_RBMVIZ_H
#define MEG_APPS_RBMVIZ_H

#include "rbm.h"

/* The first count hidden units' weights as images, each scaled to its own range. */
int rbmviz_filters(const char *path, const meg_rbm_weights *w, int count, int h, int wd);
/* n binary vectors v (at most eval_n, a multiple of 10) beside their
 * mean-field reconstructions, through the evaluation plan (root recon_in). */
int rbmviz_reconstructions(const char *path, g_session *s, g_plan *eval, const meg_rbm *m, const float *v, int n,
                           int h, int wd);
/* The model's sample chains started from uniform noise (seed), `steps`
 * Gibbs steps through the sampling plan (roots sample_step and sample_pv),
 * the last step's p(v | h) drawn. */
int rbmviz_samples(const char *path, g_session *s, g_plan *sample, const meg_rbm *m, int steps, uint64_t seed,
                   int h, int wd);

#endif
