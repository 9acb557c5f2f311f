/* megimages.h: what meg-train and meg-sample do with an image MEG model
 * (megrun.h): generator samples from fixed latents, their grid PNG and
 * samples.safetensors, and their numbers by the evaluation classifier
 * (imgscore.h). Apps only. */
#ifndef MEG_APPS_MEGIMAGES_H
#define MEG_APPS_MEGIMAGES_H

#include "imgscore.h"
#include "megrun.h"

#define MEGIMAGES_GRID 64         /* samples in a grid picture */

/* n generator samples [n, C, H, W] (batch norm in evaluation mode) from the
 * latents meg_latents(seed) into a new buffer *x (the caller frees it). */
int megimages_generate(megrun *r, size_t n, uint64_t seed, float **x);
/* The grid of the first MEGIMAGES_GRID (or n) of x into png, titled. */
int megimages_grid(const megrun *r, const char *png, const float *x, size_t n, const char *title);
/* n samples from the fixed latents of the run (seed + 7, as the toy
 * pictures): dir/samples.png (the first 64) and dir/samples.safetensors
 * (all n), both written atomically. */
int megimages_write(megrun *r, const char *dir, size_t n);
/* The classifier's numbers of n samples from fresh latents (seed), made
 * and classified chunk by chunk. */
int megimages_score(megrun *r, imgscore *sc, size_t n, uint64_t seed, imgscore_result *res);

/* The classifier's numbers against iterations, from the evaluation rows of
 * log (meg-train's log.jsonl: rows with "eval_n"): StackedMNIST's modes,
 * or the Fréchet distance, as a line plot into png (written atomically).
 * Nothing is drawn (and 0 returned) with fewer than 2 rows. */
int megimages_curve(const char *log, const char *png, const char *data);

#endif
