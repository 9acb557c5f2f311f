/* imgscore.h: the quality of generated images by the evaluation classifier
 * (clfrun.h), fed chunk by chunk: StackedMNIST modes and their KL (each
 * channel one digit), the Fréchet distance of the classifier's features to
 * those of its real test set, and the Inception-like score. meg-eval
 * images, meg-train (curves during training) and meg-sample share it.
 * Apps only. */
#ifndef MEG_APPS_IMGSCORE_H
#define MEG_APPS_IMGSCORE_H

#include "clfrun.h"
#include "metrics.h"

#define IMGSCORE_FD_MAX 50000     /* images (channels) the Fréchet distance takes at most */

typedef struct imgscore_result {
    size_t n;                     /* samples scored */
    size_t images;                /* classified images: n x k */
    int k;                        /* digits per sample: 1, or 3 and 4 for StackedMNIST */
    meg_mode_stats modes;         /* k > 1 only */
    double fd, score;
    size_t fd_images;
} imgscore_result;

typedef struct imgscore {
    clfrun clf;
    int k, channels, h, w;
    size_t cap, n;                /* samples expected at most, and added */
    float *feat, *probs, *logp, *fchunk;
    int32_t *digits;
    float *ref_feat;              /* the classifier's test set's features */
    size_t nref;
    size_t *ref_counts;           /* StackedMNIST: the training pool's mode histogram */
} imgscore;

/* Loads the classifier at clf_path on ctx (NULL: opens the device named by
 * device) for samples of `channels` x h x w (channels other than the
 * classifier's: 3 or 4 StackedMNIST digits), up to cap samples; data_dir
 * finds its test set (and MNIST's training digits, for the pool's modes). */
int imgscore_open(imgscore *s, const char *clf_path, rt_ctx *ctx, const char *device, const char *data_dir,
                  int channels, int h, int w, size_t cap);
/* Classifies m more samples x [m, channels, h, w]. */
int imgscore_add(imgscore *s, const float *x, size_t m);
/* The numbers of every sample added since open or the last reset. */
int imgscore_finish(imgscore *s, imgscore_result *out);
void imgscore_reset(imgscore *s);
/* `"modes": .., "modes_total": .., "kl_train": .., "kl_uniform": .., "fd": .., "score": ..` (the
 * modes only for StackedMNIST) into buf. */
int imgscore_json(const imgscore_result *r, char *buf, size_t cap);
void imgscore_close(imgscore *s);

#endif
