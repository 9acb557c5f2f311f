/* megrun.h: what meg-train, meg-sample, meg-eval and meg-bench share about a
 * MEG model: its data, its configuration in checkpoint metadata, and a
 * session with the training and evaluation plans. Apps only. */
#ifndef MEG_APPS_MEGRUN_H
#define MEG_APPS_MEGRUN_H

#include "data.h"
#include "io.h"
#include "meg.h"
#include "runtime.h"

#define MEGRUN_TOY_POINTS 100000
#define MEGRUN_EVAL_ROWS 4096
#define MEGRUN_IMAGE_EVAL_ROWS 250   /* images: the networks' activations per row are ~100 times a toy's */

typedef struct megrun {
    meg_config cfg;
    char data[1024];          /* toy set name, CSV path, or image set name (mnist, fashion, stackedmnist3, 4) */
    char data_dir[4096];      /* image sets: the data folder (meg_data_dir) */
    meg_dataset set;          /* the training set when loaded (megrun_load_data); StackedMNIST: its digits */
    meg_dataset test;         /* tabular sets (kdd99:PATH, csv:PATH): the test split, labels 1 for anomalies
                                 (csv:PATH without a label column: empty) */
    char label[256];          /* csv:PATH: the label column's name, "" for none */
    float *scale_min, *scale_range; /* csv:PATH scaled: the per-feature scaling [scale_n] (owned), from the
                                       checkpoint (then applied on loading) or fitted on loading */
    int scale_n;
    meg_stacked pool;         /* StackedMNIST: the pool over set */
    meg_image_source src;     /* image sets, when loaded */
    size_t n;                 /* training points: the set's, or the checkpoint's "ndata" */
    long iteration;           /* iterations done */
    long log_rows;            /* rows of log.jsonl that belong to the run so far (-1: unknown) */
    meg_model m;
    rt_ctx *ctx;
    g_session *s;
    g_plan *train, *energy, *gen, *grad2;
    int train_timestamps;
} megrun;

/* Loads a toy set (generated from seed), a CSV of two columns, KDD Cup 99
 * (kdd99:PATH: the training split into set, the test split into test; cfg.dim
 * set from it), a CSV table (csv:PATH, meg_dataset_tabular: split by the
 * label column r->label, or every row into set when it is ""; scaled by
 * r's scaling when it holds one, else by one fitted and kept in r), or an image
 * set by name from data_dir (NULL: meg_data_dir's default): then cfg's
 * image shape is set from the set's, and the rest of cfg is left alone. */
int megrun_load_data(megrun *r, const char *data, uint64_t seed, const char *data_dir);
/* 1 when the model trains on images. */
int megrun_is_image(const megrun *r);
/* 1 for a tabular set: "kdd99:PATH" (KDD Cup 99, meg_dataset_kdd99, with
 * min-max scaling) or "kdd99-unscaled:PATH" (the scaling fitted and not
 * applied, as the seed's authors' code does), and the same for the user's
 * CSV tables, "csv:PATH" and "csv-unscaled:PATH" (meg_dataset_tabular). */
int megrun_is_tabular_name(const char *data);
/* 1 for "csv:PATH" and "csv-unscaled:PATH". */
int megrun_is_csv_name(const char *data);
/* 0-9 for "mnist-heldout:D" (MNIST with digit D held out as the anomaly:
 * meg_dataset_heldout_digit over the 70,000 images; an image set whose test
 * split is scored like a tabular one), else -1. */
int megrun_heldout_digit(const char *data);
/* 1 for the names of image sets: meg_dataset_is_image_name's and mnist-heldout:D. */
int megrun_is_image_name(const char *data);
/* 1 for sets with a labelled test split of anomalies (tabular, held-out digits). */
int megrun_has_anomaly_test(const char *data);
/* Its PATH, and *unscaled (when not NULL); NULL for other names. */
const char *megrun_tabular_path(const char *data, int *unscaled);
/* The tensors a csv:PATH model's checkpoint holds beside its weights: the
 * scaling's min and range, [features] each. */
#define MEGRUN_SCALE_MIN "data.scale_min"
#define MEGRUN_SCALE_RANGE "data.scale_range"
/* Those tensors of r's scaling into out: 2, or 0 when r has none. */
int megrun_scaling_tensors(const megrun *r, meg_st_tensor out[2]);
/* Checkpoint metadata of the configuration, and back. The strings live in
 * `store` (at least 2048 bytes). */
int megrun_meta(const megrun *r, meg_st_kv *kv, size_t cap, char *store, size_t store_n, size_t *n);
/* Fills cfg, data, label, iteration and log_rows from a checkpoint's metadata
 * (and a csv:PATH model's scaling from its tensors) and
 * checks them against its tensors (the networks' weight shapes, the latent
 * MCMC state), before any graph is built: the one check every program
 * makes. Errors name the file and the key or tensor (escaped). */
int megrun_from_meta(megrun *r, const meg_st_file *f);
/* The data set to load for a checkpoint: user_data when the user gave
 * --data, else the checkpoint's when it names a toy or image set. A checkpoint that
 * names a CSV file is never opened from its metadata: the user must pass
 * the path. NULL with the message set. */
const char *megrun_checkpoint_data(const megrun *r, const char *user_data, const char *ckpath);
/* Builds the model, opens the device, creates the session and uploads the
 * data (an image model without loaded data: evaluation only). */
int megrun_open(megrun *r, const char *device);
/* Plans (on first use). */
int megrun_train_plan(megrun *r);
int megrun_eval_plans(megrun *r);
void megrun_close(megrun *r);

/* Energies on an n x n grid over box (the grid order of data.h). */
int megrun_energy_grid(megrun *r, meg_box box, int n, float **energy);

#endif
