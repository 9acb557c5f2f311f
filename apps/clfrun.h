/* clfrun.h: what the programs share about the evaluation classifier
 * (models/classifier.h): its configuration in the file's metadata, a
 * session with its plans, test accuracy. meg-train --model classifier
 * writes the file; meg-eval images and the image models read it. Apps only. */
#ifndef MEG_APPS_CLFRUN_H
#define MEG_APPS_CLFRUN_H

#include "classifier.h"
#include "data.h"
#include "io.h"
#include "runtime.h"

#define CLFRUN_EVAL_ROWS 500

typedef struct clfrun {
    meg_clf_config cfg;
    char data[64];            /* the data set's name (mnist, fashion) */
    size_t n;                 /* training images */
    long iteration;
    long log_rows;            /* rows of log.jsonl that belong to the run so far (-1: unknown) */
    double test_accuracy;     /* NAN until measured */
    meg_classifier m;
    rt_ctx *ctx;
    int own_ctx;
    g_session *s;
    g_plan *train, *eval;
} clfrun;

/* Checkpoint metadata of the configuration, and back (strings in `store`). */
int clfrun_meta(const clfrun *r, meg_st_kv *kv, size_t cap, char *store, size_t store_n, size_t *n);
/* Fills cfg, data, n, iteration, log_rows and test_accuracy from a file's
 * metadata and checks the weights' shapes; errors name the file and key. */
int clfrun_from_meta(clfrun *r, const meg_st_file *f);
/* Opens the device (ctx NULL: the one named by device), builds the model
 * for the training set train (NULL for evaluation only: the training set is
 * an input, never saved), creates the session and uploads train. */
int clfrun_open(clfrun *r, const meg_dataset *train, rt_ctx *ctx, const char *device);
/* A classifier file, ready to evaluate: metadata, model, weights. */
int clfrun_load(clfrun *r, const char *path, rt_ctx *ctx, const char *device);
int clfrun_eval_plan(clfrun *r);
/* Share of the set's images whose most probable class is their label;
 * pred (n entries) may be NULL. */
int clfrun_accuracy(clfrun *r, const meg_dataset *set, double *acc, int32_t *pred);
/* Checks that a data set's examples fit the classifier's input. */
int clfrun_check_shape(const clfrun *r, const meg_dataset *set);
void clfrun_close(clfrun *r);

#endif
