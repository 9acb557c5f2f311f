/* train_usage.h: meg-train's help text and the profile settings it states
 * (the image profiles' quick values, the 2-D stable profile). */
#ifndef TRAIN_USAGE_H
#define TRAIN_USAGE_H

#include <stdio.h>

/* the quick image profile (meg-train.c: image_defaults) */
#define QUICK_WIDTH 32
#define QUICK_ZDIM 64
#define QUICK_N_ENERGY 5
#define QUICK_LR 2e-4f
#define QUICK_ITERS 4000
/* the stable 2-D profile */
#define STABLE_LAMBDA 0.01f
#define STABLE_WIDTH 128
#define STABLE_ITERS 20000   /* also the decay's length: a shorter run keeps most of the rate */

/* meg-train --help */
void train_usage(FILE *f);

#endif
