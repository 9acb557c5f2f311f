/* meg-train: trains MEG (Algorithm 1 of the seed) on a 2-D data set or on
 * images on the device, with a progress bar, a JSON-lines log, checkpoints
 * and pictures (and, for images, the classifier's numbers as it goes). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "anomaly.h"
#include "imgscore.h"
#include "megimages.h"
#include "megrun.h"
#include "runlog.h"
#include "train_classifier.h"
#include "train_rbm.h"
#include "metrics.h"
#include "toyviz.h"
#include "train_usage.h"

static const char *PROG = "meg-train";

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

typedef struct opts {
    const char *data, *out, *device, *data_dir, *classifier, *profile, *label;
    long iters, log_every, ckpt_every, max_submit, eval_every, eval_n, epochs;
    int wgan;                /* --model wgan-gp */
    int model_given;         /* --model was named: on --resume it must match the checkpoint's */
    int resume, force, grid, samples;
    meg_box box;
    meg_config cfg;
    unsigned set;            /* which configuration options were given */
} opts;

enum { SET_BATCH = 1, SET_WIDTH = 2, SET_HIDDEN = 4, SET_ZDIM = 8, SET_LR = 16, SET_B1 = 32, SET_B2 = 64,
       SET_LAMBDA = 128, SET_NE = 256, SET_SHUFFLE = 512, SET_SEED = 1024, SET_DATA = 2048, SET_MCMC = 4096,
       SET_MCMC_A = 8192, SET_PENALTY = 16384, SET_ITERS = 32768, SET_SAMPLES = 65536, SET_LOG = 1 << 17,
       SET_CKPT = 1 << 18, SET_EPOCHS = 1 << 19, SET_LABEL = 1 << 20, SET_EMA = 1 << 21,
       SET_DECAY = 1 << 22, SET_LR_FINAL = 1 << 23 };

/* The image profiles: "paper" (section 2.5.2 and the authors' code) and
 * "quick", sized to show learning on a 2-core CPU in about 30 minutes.
 * Options the user gave win over either. */
static void given_over(opts *o, meg_config c);

static void image_defaults(opts *o)
{
    meg_config c;
    int quick = o->profile && !strcmp(o->profile, "quick");
    meg_config_image(&c, 1);   /* the channels come from the data */
    if (quick) {
        c.width = QUICK_WIDTH;
        c.zdim = QUICK_ZDIM;
        c.n_energy = QUICK_N_ENERGY;
        c.lr = QUICK_LR;
    }
    if (!(o->set & SET_ITERS)) o->iters = quick ? QUICK_ITERS : 100000;
    if (!(o->set & SET_SAMPLES)) o->samples = 1000;
    given_over(o, c);
}

/* KDD Cup 99 (kdd99:PATH) and CSV tables (csv:PATH): the seed's tabular
 * networks and settings (meg_config_tabular; the input and output widths
 * follow the data's features); the iterations follow from --epochs once
 * the data's size is known. */
static void tabular_defaults(opts *o)
{
    meg_config c;
    meg_config_tabular(&c, 121);   /* the features come from the data */
    if (!(o->set & SET_EPOCHS)) o->epochs = 55;
    given_over(o, c);
}

/* c, with the options the user gave in o->cfg over it, becomes o->cfg. */
static void given_over(opts *o, meg_config c)
{
    meg_config *u = &o->cfg;
    if (o->set & SET_BATCH) c.batch = u->batch;
    if (o->set & SET_WIDTH) c.width = u->width;
    if (o->set & SET_ZDIM) c.zdim = u->zdim;
    if (o->set & SET_LR) c.lr = u->lr;
    if (o->set & SET_B1) c.beta1 = u->beta1;
    if (o->set & SET_B2) c.beta2 = u->beta2;
    if (o->set & SET_LAMBDA) c.lambda = u->lambda;
    if (o->set & SET_NE) c.n_energy = u->n_energy;
    if (o->set & SET_SHUFFLE) c.shuffle_rows = u->shuffle_rows;
    if (o->set & SET_SEED) c.seed = u->seed;
    if (o->set & SET_MCMC) c.mcmc_steps = u->mcmc_steps;
    if (o->set & SET_MCMC_A) c.mcmc_step_size = u->mcmc_step_size;
    if (o->set & SET_PENALTY) c.penalty_channel_norm = u->penalty_channel_norm;
    if (o->set & SET_EMA) c.g_ema = u->g_ema;
    if (o->set & SET_DECAY) c.lr_decay = u->lr_decay;
    if (o->set & SET_LR_FINAL) c.lr_final = u->lr_final;
    if (o->set & (SET_WIDTH | SET_HIDDEN)) {
        /* a width or depth given: uniform MLPs of it, as for the toy sets */
        memset(&c.e_hidden, 0, sizeof c.e_hidden);
        memset(&c.g_hidden, 0, sizeof c.g_hidden);
        memset(&c.t_hidden, 0, sizeof c.t_hidden);
    }
    c.hidden = u->hidden;   /* unused by the image networks; kept in the metadata */
    *u = c;
}

static int parse(int argc, char **argv, opts *o)
{
    meg_config_default(&o->cfg);
    o->data = "25gaussians";
    o->out = "meg-out";
    o->iters = 5000;
    o->log_every = 100;
    o->ckpt_every = 1000;
    o->max_submit = 25;
    o->grid = 500;
    o->samples = 2000;
    o->box = (meg_box){-2, 2, -2, 2};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define INT(flag, lo, hi, dst, bit) APP_INT_OPT(PROG, flag, lo, hi, dst, o->set, bit)
#define FLT(flag, dst, bit) APP_FLT_OPT(PROG, flag, dst, o->set, bit)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { train_usage(stdout); exit(0); }
        if (!strcmp(a, "--model") && v) { i++; continue; }   /* "meg": checked by model_of */
        if (!strcmp(a, "--resume")) { o->resume = 1; continue; }
        if (!strcmp(a, "--force")) { o->force = 1; continue; }
        if (!strcmp(a, "--data") && v) { o->data = v; o->set |= SET_DATA; i++; continue; }
        if (!strcmp(a, "--data-dir") && v) { o->data_dir = v; i++; continue; }
        if (!strcmp(a, "--label-column") && v) { o->label = v; o->set |= SET_LABEL; i++; continue; }
        if (!strcmp(a, "--classifier") && v) { o->classifier = v; i++; continue; }
        if (!strcmp(a, "--profile") && v) {
            if (strcmp(v, "paper") && strcmp(v, "quick") && strcmp(v, "stable")) {
                fprintf(stderr, "%s: --profile expects paper, quick (images) or stable (2-D sets), got \"%s\"\n",
                        PROG, v);
                return -1;
            }
            o->profile = v;
            i++;
            continue;
        }
        if (!strcmp(a, "--penalty-norm") && v) {
            if (strcmp(v, "paper") && strcmp(v, "channel")) {
                fprintf(stderr, "%s: --penalty-norm expects paper or channel, got \"%s\"\n", PROG, v);
                return -1;
            }
            o->cfg.penalty_channel_norm = !strcmp(v, "channel");
            o->set |= SET_PENALTY;
            i++;
            continue;
        }
        if (!strcmp(a, "--out") && v) { o->out = v; i++; continue; }
        if (!strcmp(a, "--device") && v) { o->device = v; i++; continue; }
        if (!strcmp(a, "--shuffle") && v) {
            if (strcmp(v, "dim") && strcmp(v, "row")) {
                fprintf(stderr, "%s: --shuffle expects dim or row, got \"%s\"\n", PROG, v);
                return -1;
            }
            o->cfg.shuffle_rows = !strcmp(v, "row");
            o->set |= SET_SHUFFLE;
            i++;
            continue;
        }
        if (!strcmp(a, "--box") && v) {
            if (app_parse_box(PROG, v, &o->box)) return -1;
            i++;
            continue;
        }
        if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            unsigned long long s = v ? strtoull(v, &end, 10) : 0;
            if (!v || errno || *end || end == v) {
                fprintf(stderr, "%s: --seed expects a non-negative integer, got \"%s\"\n", PROG, v ? v : "");
                return -1;
            }
            o->cfg.seed = s;
            o->set |= SET_SEED;
            i++;
            continue;
        }
        INT("--iters", 0, 1000000000L, o->iters, SET_ITERS)
        INT("--eval-every", 1, 1000000000L, o->eval_every, 0)
        INT("--eval-n", 2, 10000000L, o->eval_n, 0)
        INT("--batch", 2, 1 << 20, o->cfg.batch, SET_BATCH)
        INT("--width", 1, 1 << 16, o->cfg.width, SET_WIDTH)
        INT("--hidden", 1, MEG_MAX_LAYERS - 1, o->cfg.hidden, SET_HIDDEN)
        INT("--zdim", 1, 4096, o->cfg.zdim, SET_ZDIM)
        INT("--n-energy", 1, 100, o->cfg.n_energy, SET_NE)
        INT("--mcmc-steps", 0, 1000, o->cfg.mcmc_steps, SET_MCMC)
        INT("--log-every", 1, 1000000000L, o->log_every, SET_LOG)
        INT("--checkpoint-every", 1, 1000000000L, o->ckpt_every, SET_CKPT)
        INT("--epochs", 1, 1000000L, o->epochs, SET_EPOCHS)
        INT("--max-submit", 1, 100000, o->max_submit, 0)
        INT("--grid", 8, 4096, o->grid, 0)
        INT("--samples", 1, 10000000, o->samples, SET_SAMPLES)
        FLT("--lr", o->cfg.lr, SET_LR)
        FLT("--beta1", o->cfg.beta1, SET_B1)
        FLT("--beta2", o->cfg.beta2, SET_B2)
        FLT("--lambda", o->cfg.lambda, SET_LAMBDA)
        FLT("--mcmc-step-size", o->cfg.mcmc_step_size, SET_MCMC_A)
        FLT("--ema", o->cfg.g_ema, SET_EMA)
        INT("--lr-decay", 0, 1000000000L, o->cfg.lr_decay, SET_DECAY)
        FLT("--lr-final", o->cfg.lr_final, SET_LR_FINAL)
#undef INT
#undef FLT
        fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", PROG, a);
        return -1;
    }
    if (o->resume && o->force) {
        fprintf(stderr, "%s: --resume and --force contradict each other\n", PROG);
        return -1;
    }
    int image = megrun_is_image_name(o->data);
    if (image && (o->set & SET_EMA) && o->cfg.g_ema != 0) {
        fprintf(stderr, "%s: --ema is for the MLP generators (2-D and tabular data): the image generator's batch "
                        "statistics belong to its own weights\n", PROG);
        return -1;
    }
    if ((o->set & SET_EMA) && !(o->cfg.g_ema >= 0 && o->cfg.g_ema < 1)) {
        fprintf(stderr, "%s: --ema %g: a decay in [0, 1) (0: off)\n", PROG, (double)o->cfg.g_ema);
        return -1;
    }
    if ((o->set & SET_LR_FINAL) && !(o->cfg.lr_final >= 0 && o->cfg.lr_final <= 1)) {
        fprintf(stderr, "%s: --lr-final %g: a fraction of --lr in [0, 1]\n", PROG, (double)o->cfg.lr_final);
        return -1;
    }
    int tabular = megrun_is_tabular_name(o->data), anomaly = megrun_has_anomaly_test(o->data);
    int toy = !image && !tabular;
    if (o->profile && ((image && !strcmp(o->profile, "stable")) || (toy && !strcmp(o->profile, "quick")) || tabular)) {
        fprintf(stderr, "%s: --profile %s is not for %s: images take paper or quick, 2-D sets paper or stable, "
                        "tables none\n", PROG, o->profile, o->data);
        return -1;
    }
    if (toy && o->profile && !strcmp(o->profile, "stable") && o->wgan) {
        fprintf(stderr, "%s: --profile stable is MEG's; WGAN-GP has its own lambda\n", PROG);
        return -1;
    }
    if (!image && (o->classifier || (o->set & SET_PENALTY))) {
        fprintf(stderr, "%s: --classifier and --penalty-norm are for image sets (%s)\n", PROG,
                meg_dataset_image_names());
        return -1;
    }
    if (!anomaly && (o->set & SET_EPOCHS)) {
        fprintf(stderr, "%s: --epochs is for anomaly-detection sets (kdd99:PATH, csv:PATH, mnist-heldout:D); "
                        "others count --iters\n", PROG);
        return -1;
    }
    if ((o->set & SET_LABEL) && !megrun_is_csv_name(o->data)) {
        fprintf(stderr, "%s: --label-column is for CSV tables (--data csv:PATH or csv-unscaled:PATH)\n", PROG);
        return -1;
    }
    if (o->label && (!*o->label || strlen(o->label) >= sizeof ((megrun *)0)->label)) {
        fprintf(stderr, "%s: --label-column expects a column name of 1 to %zu bytes\n", PROG,
                sizeof ((megrun *)0)->label - 1);
        return -1;
    }
    if (image) image_defaults(o);
    if (tabular) tabular_defaults(o);
    if (toy && o->profile && !strcmp(o->profile, "stable")) {
        /* the configuration whose quality curves keep every mode (README) */
        if (!(o->set & SET_LAMBDA)) o->cfg.lambda = STABLE_LAMBDA;
        if (!(o->set & SET_WIDTH)) o->cfg.width = STABLE_WIDTH;
        if (!(o->set & SET_DECAY)) o->cfg.lr_decay = STABLE_ITERS;
        if (!(o->set & SET_ITERS)) o->iters = STABLE_ITERS;
    }
    if (o->wgan) {
        /* Gulrajani et al.'s lambda; the rest of the seed's settings stay */
        o->cfg.objective = MEG_OBJECTIVE_WGAN_GP;
        if (!(o->set & SET_LAMBDA)) o->cfg.lambda = 10.0f;
        if (o->set & SET_MCMC) {
            fprintf(stderr, "%s: --mcmc-steps is MEG's; WGAN-GP trains without it\n", PROG);
            return -1;
        }
    }
    if (anomaly && !tabular) {
        /* held-out digits (table 2.4): the image networks with lambda 100, 55 epochs */
        if (!(o->set & SET_LAMBDA)) o->cfg.lambda = 100.0f;
        if (!(o->set & SET_EPOCHS)) o->epochs = 55;
    }
    return 0;
}

/* On --resume: the checkpoint's configuration, with every option given
 * checked against it. */
static int resume_config(const opts *o, megrun *r, const meg_st_file *f)
{
    if (megrun_from_meta(r, f)) return -1;
    const meg_config *c = &r->cfg, *u = &o->cfg;
    if (o->model_given && c->objective != u->objective) {
        rt_set_error("%s: a %s checkpoint; resume it with --model %s (or start over with --force)", meg_st_path(f),
                     c->objective == MEG_OBJECTIVE_WGAN_GP ? "WGAN-GP" : "MEG",
                     c->objective == MEG_OBJECTIVE_WGAN_GP ? "wgan-gp" : "meg");
        return -1;
    }
    struct { unsigned bit; int differs; const char *name; } chk[] = {
        {SET_BATCH, c->batch != u->batch, "--batch"},   {SET_WIDTH, c->width != u->width, "--width"},
        {SET_HIDDEN, c->hidden != u->hidden, "--hidden"}, {SET_ZDIM, c->zdim != u->zdim, "--zdim"},
        {SET_LR, c->lr != u->lr, "--lr"},               {SET_B1, c->beta1 != u->beta1, "--beta1"},
        {SET_B2, c->beta2 != u->beta2, "--beta2"},      {SET_LAMBDA, c->lambda != u->lambda, "--lambda"},
        {SET_NE, c->n_energy != u->n_energy, "--n-energy"}, {SET_SHUFFLE, c->shuffle_rows != u->shuffle_rows, "--shuffle"},
        {SET_SEED, c->seed != u->seed, "--seed"},       {SET_DATA, strcmp(r->data, o->data) != 0, "--data"},
        {SET_MCMC, c->mcmc_steps != u->mcmc_steps, "--mcmc-steps"},
        {SET_MCMC_A, c->mcmc_step_size != u->mcmc_step_size, "--mcmc-step-size"},
        {SET_PENALTY, c->penalty_channel_norm != u->penalty_channel_norm, "--penalty-norm"},
        {SET_EMA, c->g_ema != u->g_ema, "--ema"},
        {SET_DECAY, c->lr_decay != u->lr_decay, "--lr-decay"},
        {SET_LR_FINAL, c->lr_final != u->lr_final, "--lr-final"},
    };
    for (size_t i = 0; i < sizeof chk / sizeof chk[0]; i++)
        if ((o->set & chk[i].bit) && chk[i].differs) {
            rt_set_error("%s: %s differs from the checkpoint's configuration (drop it, or start over with --force)",
                         meg_st_path(f), chk[i].name);
            return -1;
        }
    if ((o->set & SET_LABEL) && strcmp(r->label, o->label)) {
        rt_set_error("%s: --label-column differs from the checkpoint's (%s%s%s; drop it, or start over with --force)",
                     meg_st_path(f), r->label[0] ? "\"" : "", r->label[0] ? r->label : "none", r->label[0] ? "\"" : "");
        return -1;
    }
    /* the data: the checkpoint's toy set, or the CSV path the user passes again */
    if (!(o->set & SET_DATA) && !megrun_checkpoint_data(r, NULL, meg_st_path(f))) return -1;
    return 0;
}

static int save_checkpoint(megrun *r, const char *path)
{
    meg_st_kv kv[32];
    meg_st_tensor extra[2];
    char store[4096];
    size_t n;
    if (megrun_meta(r, kv, 32, store, sizeof store, &n)) return -1;
    /* a CSV table's scaling goes with the weights: scoring needs it */
    int ne = megrun_scaling_tensors(r, extra);
    return meg_checkpoint_save_extra(path, r->s, r->m.g, extra, (size_t)ne, kv, n);
}

static int write_outputs(megrun *r, const opts *o, int *quality_json_ok, char *qjson, size_t qn)
{
    char path[4200], title[128];
    /* generator samples */
    size_t ns = (size_t)o->samples;
    float *z = malloc(ns * (size_t)r->cfg.zdim * sizeof *z), *xs = malloc(ns * 2 * sizeof *xs), *e = NULL;
    int rc = -1;
    if (!z || !xs) { rt_set_error("out of host memory"); goto done; }
    meg_latents(z, ns, r->cfg.zdim, r->cfg.seed + 7);
    if (megrun_eval_plans(r) || meg_eval_generate(r->s, r->gen, &r->m, z, ns, xs)) goto done;
    snprintf(path, sizeof path, "%s/samples.csv", o->out);
    if (viz_csv(path, xs, ns, 2, "x,y")) goto done;
    snprintf(path, sizeof path, "%s/samples.png", o->out);
    snprintf(title, sizeof title, "G samples (red), data (gray), iter %ld", r->iteration);
    size_t nbg = r->n < 5000 ? r->n : 5000;
    if (viz_points(path, r->set.x, nbg, xs, ns, NULL, 0, o->box, title)) goto done;
    /* density exp(-E) on the grid */
    if (megrun_energy_grid(r, o->box, o->grid, &e)) goto done;
    snprintf(path, sizeof path, "%s/density.png", o->out);
    snprintf(title, sizeof title, "learned density exp(-E), iter %ld", r->iteration);
    if (viz_density(path, e, o->grid, o->box, title)) goto done;
    /* quality numbers for the Gaussian mixtures */
    *quality_json_ok = 0;
    if (meg_toy_is_known(r->data)) {
        size_t nn = (size_t)o->grid * (size_t)o->grid;
        float *d = malloc(nn * sizeof *d);
        if (!d) { rt_set_error("out of host memory"); goto done; }
        int ok = !meg_energy_to_density(e, nn, d) && viz_quality(r->data, xs, ns, d, o->grid, o->box, qjson, qn) == 0;
        free(d);
        *quality_json_ok = ok;
    }
    rc = 0;
done:
    free(z);
    free(xs);
    free(e);
    return rc;
}

/* Samples the classifier scores: the seed's counts (table 2.1 counts modes
 * over 26,000 samples of 3 stacks; 10,000 images for the Fréchet distance). */
static long default_eval_n(const char *data)
{
    int k = meg_stacked_name_k(data);
    return k == 3 ? 26000 : k == 4 ? 260000 : 10000;
}

/* A log row of the classifier's numbers at this iteration. */
static int score_row(megrun *r, imgscore *sc, const opts *o, const runlog *lg, imgscore_result *res)
{
    FILE *log = lg->f;
    double t = app_now();
    char js[512];
    if (megimages_score(r, sc, (size_t)o->eval_n, r->cfg.seed + 11, res) || imgscore_json(res, js, sizeof js))
        return -1;
    fprintf(log, "{\"iter\": %ld, \"eval_n\": %ld, %s, \"eval_s\": %.2f}\n", r->iteration, o->eval_n, js,
            app_now() - t);
    fflush(log);
    r->log_rows++;
    char png[4200];
    snprintf(png, sizeof png, "%s/curve.png", o->out);
    if (megimages_curve(lg->is_pending ? lg->pending : lg->path, png, r->data)) return -1;
    fprintf(stderr, "%s: iteration %ld: %s\n", PROG, r->iteration, js);
    return 0;
}

/* A log row of the anomaly numbers of the test split at this iteration, and
 * curve.png redrawn from the log's rows. */
static int anomaly_row(megrun *r, const runlog *lg, const char *out, anomaly_result *a)
{
    char js[1024];
    long per_epoch = (long)((r->n + (size_t)r->cfg.batch - 1) / (size_t)r->cfg.batch);
    if (anomaly_score(r, a, NULL) || anomaly_json(a, js, sizeof js)) return -1;
    fprintf(lg->f, "{\"iter\": %ld, \"epoch\": %.6g, %s}\n", r->iteration, (double)r->iteration / (double)per_epoch,
            js);
    fflush(lg->f);
    r->log_rows++;
    char png[4200];
    snprintf(png, sizeof png, "%s/curve.png", out);
    if (anomaly_curve(lg->is_pending ? lg->pending : lg->path, png, r->data)) return -1;
    fprintf(stderr, "%s: iteration %ld: F1 %.4f (energy), %.4f (||dE/dx||^2); AUPRC %.4f, %.4f\n", PROG, r->iteration,
            a->energy.f1, a->grad2.f1, a->energy.auprc, a->grad2.auprc);
    return 0;
}

/* The model named by --model: "meg" (this file), "classifier" or "rbm". */
static int model_of(int argc, char **argv, const char **model, int *given)
{
    *model = "meg";
    *given = 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--model")) {
            if (i + 1 >= argc || (strcmp(argv[i + 1], "meg") && strcmp(argv[i + 1], "classifier") &&
                                  strcmp(argv[i + 1], "rbm") && strcmp(argv[i + 1], "wgan-gp"))) {
                fprintf(stderr, "%s: --model expects meg, wgan-gp, classifier or rbm, got \"%s\"\n", PROG,
                        i + 1 < argc ? argv[i + 1] : "");
                return -1;
            }
            *model = argv[i + 1];
            *given = 1;
        }
    return 0;
}

int main(int argc, char **argv)
{
    const char *model;
    int model_given;
    if (model_of(argc, argv, &model, &model_given)) return 2;
    if (!strcmp(model, "classifier")) return train_classifier_main(argc, argv);
    if (!strcmp(model, "rbm")) return train_rbm_main(argc, argv);
    opts o = {.wgan = !strcmp(model, "wgan-gp"), .model_given = model_given};
    app_progress pr = {.f = stderr};
    long submits = 0;
    if (parse(argc, argv, &o)) return 2;
    megrun r = {0};
    meg_st_file *ck = NULL;
    runlog lg = {0};
    imgscore sc = {0};
    imgscore_result res = {0};
    anomaly_result ares = {0};
    int rc = 1, have_sc = 0, have_res = 0, have_ares = 0;
    char ckpath[4200];
    int have_ck;
    if (app_training_out(PROG, o.out, "checkpoint.safetensors", o.resume, o.force, ckpath, sizeof ckpath, &have_ck)) return 1;
    r.cfg = o.cfg;
    if (o.label) snprintf(r.label, sizeof r.label, "%s", o.label);
    if (o.resume) {
        if (meg_st_read(ckpath, &ck) || resume_config(&o, &r, ck)) goto fail;
    }
    if (!o.resume) r.log_rows = 0;
    size_t n_ck = r.n;
    if (megrun_load_data(&r, o.resume && !(o.set & SET_DATA) ? r.data : o.data, r.cfg.seed, o.data_dir)) goto fail;
    if (o.resume && r.n != n_ck) {
        rt_set_error("%s: the checkpoint trained on %zu examples, %s has %zu: not the data it was trained on", ckpath,
                     n_ck, r.data, r.n);
        goto fail;
    }
    /* a CSV table without a label column trains in epochs like any table, and has no test split to score */
    int image = megrun_is_image(&r), tabular = megrun_is_tabular_name(r.data),
        anomaly = megrun_has_anomaly_test(r.data) && (!tabular || r.test.labels);
    if (anomaly || tabular) {
        /* epochs of minibatches drawn with replacement: ceil(n / batch) iterations each; a log row,
         * an evaluation every epoch, a checkpoint every 5 */
        long per = (long)((r.n + (size_t)r.cfg.batch - 1) / (size_t)r.cfg.batch);
        if (!(o.set & SET_ITERS)) o.iters = o.epochs * per;
        if (!(o.set & SET_LOG)) o.log_every = per;
        if (!(o.set & SET_CKPT)) o.ckpt_every = 5 * per;
        if (o.eval_every <= 0) o.eval_every = per;
    }
    if (o.eval_every <= 0) o.eval_every = o.ckpt_every;
    if (o.eval_every % o.log_every || o.ckpt_every % o.log_every) {
        rt_set_error("--eval-every (%ld) and --checkpoint-every (%ld) must be multiples of --log-every (%ld)",
                     o.eval_every, o.ckpt_every, o.log_every);
        goto fail;
    }
    if (!image && (o.classifier || (o.set & SET_PENALTY) || (o.profile && !strcmp(o.profile, "quick")))) {
        rt_set_error("--profile quick, --classifier and --penalty-norm are for image models; %s trained on %s",
                     ckpath, r.data);
        goto fail;
    }
    if (ck && !image && o.profile && !strcmp(o.profile, "stable") &&
        ((!(o.set & SET_LAMBDA) && r.cfg.lambda != STABLE_LAMBDA) ||
         (!(o.set & SET_DECAY) && r.cfg.lr_decay != STABLE_ITERS))) {
        rt_set_error("%s: --profile stable differs from the checkpoint's configuration (lambda %g, lr decay over %d "
                     "iterations; drop it, or start over with --force)", ckpath, (double)r.cfg.lambda,
                     r.cfg.lr_decay);
        goto fail;
    }
    if (megrun_open(&r, o.device)) goto fail;
    if (ck) {
        if (meg_checkpoint_load(ck, r.s, r.m.g)) goto fail;
        meg_st_free(ck);
        ck = NULL;
    }
    const rt_device_info *dev = rt_ctx_device(r.ctx);
    if (image)
        fprintf(stderr, "%s: %s on %s (%s); %s (%zu images [%d, %d, %d]); convolutional networks of width %d, z %d, "
                        "batch %d, %d energy updates, lr %g, lambda %g (%s norm)\n",
                PROG, o.resume ? "resuming" : "training", dev->name, dev->type_name, r.data, r.n, r.cfg.channels,
                r.cfg.height, r.cfg.img_width, r.cfg.width, r.cfg.zdim, r.cfg.batch, r.cfg.n_energy, (double)r.cfg.lr,
                (double)r.cfg.lambda, r.cfg.penalty_channel_norm ? "the authors' channel" : "the paper's");
    else if (tabular)
        fprintf(stderr, "%s: %s on %s (%s); %s%s%s (%zu training rows of %d features, %zu test rows); E, G, T of "
                        "hidden widths %s, z %d, batch %d, %d energy updates, lr %g, lambda %g; %ld iterations\n", PROG,
                o.resume ? "resuming" : "training", dev->name, dev->type_name, r.data, r.label[0] ? ", label " : "",
                r.label, r.n, r.cfg.dim, r.test.n,
                r.cfg.e_hidden.n ? "the seed's" : "uniform", r.cfg.zdim, r.cfg.batch, r.cfg.n_energy,
                (double)r.cfg.lr, (double)r.cfg.lambda, o.iters);
    else {
        char ema[160] = "";
        int k = 0;
        if (r.cfg.g_ema > 0) k = snprintf(ema, sizeof ema, "; samples from G's average, decay %g", (double)r.cfg.g_ema);
        if (r.cfg.lr_decay > 0)
            snprintf(ema + k, sizeof ema - (size_t)k, "; lr decays to %g x over %d iterations", (double)r.cfg.lr_final,
                     r.cfg.lr_decay);
        fprintf(stderr, "%s: %s on %s (%s); %s; width %d, %d hidden, z %d, batch %d, %d energy updates, lr %g, "
                        "lambda %g, %s shuffle%s\n", PROG, o.resume ? "resuming" : "training", dev->name,
                dev->type_name, r.data, r.cfg.width, r.cfg.hidden, r.cfg.zdim, r.cfg.batch, r.cfg.n_energy,
                (double)r.cfg.lr, (double)r.cfg.lambda, r.cfg.shuffle_rows ? "row" : "per-dimension", ema);
    }
    if (r.cfg.lr_decay > 0 && r.cfg.lr_final == 0 && o.iters > r.cfg.lr_decay)
        fprintf(stderr, "%s: note: the learning rate reaches 0 at iteration %d, so iterations %ld to %ld change no "
                        "weight (start over with --force and a longer --iters or --lr-decay)\n", PROG,
                r.cfg.lr_decay, r.iteration > r.cfg.lr_decay ? r.iteration + 1 : (long)r.cfg.lr_decay + 1, o.iters);
    if (o.classifier) {
        if (o.eval_n <= 0) o.eval_n = default_eval_n(r.data);
        if (imgscore_open(&sc, o.classifier, r.ctx, NULL, o.data_dir, r.cfg.channels, r.cfg.height, r.cfg.img_width,
                          (size_t)o.eval_n))
            goto fail;
        have_sc = 1;
    }
    double tp = app_now();
    if (megrun_train_plan(&r)) goto fail;
    g_plan_stats ps;
    g_plan_stats_get(r.train, &ps);
    fprintf(stderr, "%s: planned in %.1f s: %d dispatches per iteration (%d fused), arena %.1f MiB, params %.2f MiB\n",
            PROG, app_now() - tp, ps.dispatches, ps.fused_groups, ps.arena_bytes / 1048576.0, ps.param_bytes / 1048576.0);
    if (runlog_open(&lg, o.out, o.resume, have_ck && !o.resume, &r.log_rows)) goto fail;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    app_progress_init(&pr, stderr, r.iteration, o.iters);
    long start_it = r.iteration;
    double t0 = app_now(), rate = 0;
    float losses[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    g_tensor *lt[6] = {r.m.loss_e, r.m.loss_g, r.m.loss_h, r.m.penalty, r.m.e_data, r.m.e_gen};
    int diverged = 0;
    while (r.iteration < o.iters && !interrupted) {
        long to_log = o.log_every - r.iteration % o.log_every;
        long k = o.iters - r.iteration;
        if (k > to_log) k = to_log;
        if (k > o.max_submit) k = o.max_submit;
        if (g_plan_run(r.train, (int)k)) goto fail;
        submits++;
        r.iteration += k;
        double el = app_now() - t0;
        rate = el > 0 ? (double)(r.iteration - start_it) / el : 0;
        if (r.iteration % o.log_every == 0 || r.iteration == o.iters) {
            for (int i = 0; i < 6; i++)
                if (g_session_read(r.s, lt[i], &losses[i])) goto fail;
            int finite = 1;
            for (int i = 0; i < 6; i++) finite &= isfinite(losses[i]);
            static const char *names[6] = {"loss_e", "loss_g", "loss_h", "penalty", "e_data", "e_gen"};
            names[2] = r.cfg.objective == MEG_OBJECTIVE_WGAN_GP ? "wasserstein" : "loss_h";
            fprintf(lg.f, "{\"iter\": %ld", r.iteration);
            for (int i = 0; i < 6; i++) {
                fprintf(lg.f, ", \"%s\": ", names[i]);
                app_json_num(lg.f, losses[i], 7);   /* a diverged loss is null: the log stays JSON */
            }
            fprintf(lg.f, ", \"its\": %.3f", rate);
            float macc;
            if (r.m.mcmc_accept) {
                if (g_session_read(r.s, r.m.mcmc_accept, &macc)) goto fail;
                fprintf(lg.f, ", \"mcmc_accept\": ");
                app_json_num(lg.f, macc, 4);
            }
            fprintf(lg.f, "}\n");
            fflush(lg.f);
            r.log_rows++;
            if (!finite) { diverged = 1; break; }
            char extra[160];
            snprintf(extra, sizeof extra, r.cfg.objective == MEG_OBJECTIVE_WGAN_GP ? "L_D %.4f L_G %.4f W %.4f pen %.4f"
                                                                               : "L_E %.4f L_G %.4f L_H %.4f pen %.4f",
                     losses[0], losses[1], losses[2], losses[3]);
            app_progress_update(&pr, r.iteration, rate, extra);
            if (have_sc && r.iteration % o.eval_every == 0) {
                if (score_row(&r, &sc, &o, &lg, &res)) goto fail;
                have_res = 1;
            }
            if (anomaly && r.iteration % o.eval_every == 0) {
                if (anomaly_row(&r, &lg, o.out, &ares)) goto fail;
                have_ares = 1;
            }
            if (r.iteration % o.ckpt_every == 0 && r.iteration < o.iters &&
                (save_checkpoint(&r, ckpath) || runlog_commit(&lg) || (image && megimages_write(&r, o.out, (size_t)o.samples))))
                goto fail;
        } else if (pr.tty) {
            app_progress_update(&pr, r.iteration, rate, NULL);
        }
    }
    app_progress_end(&pr);
    if (diverged) {
        fprintf(stderr, "%s: a loss is not finite at iteration %ld (L_E %g, L_G %g, L_H %g, penalty %g); stopped. "
                        "The last good checkpoint, if any, is %s; try a smaller --lr\n",
                PROG, r.iteration, losses[0], losses[1], losses[2], losses[3], ckpath);
        fclose(lg.f);
        megrun_close(&r);
        return 1;
    }
    if (interrupted) fprintf(stderr, "%s: interrupted at iteration %ld; saving\n", PROG, r.iteration);
    /* the end's numbers (before the checkpoint, which counts their log row), unless the last row holds them */
    if (have_sc && !interrupted && !(have_res && r.iteration % o.eval_every == 0)) {
        if (score_row(&r, &sc, &o, &lg, &res)) goto fail;
        have_res = 1;
    }
    if (anomaly && !interrupted && !(have_ares && r.iteration % o.eval_every == 0)) {
        if (anomaly_row(&r, &lg, o.out, &ares)) goto fail;
        have_ares = 1;
    }
    if (save_checkpoint(&r, ckpath) || runlog_commit(&lg)) goto fail;
    int qok = 0;
    char qjson[4096] = "";
    if (image) {
        if (megimages_write(&r, o.out, (size_t)o.samples)) goto fail;
        if (have_res) qok = !imgscore_json(&res, qjson, sizeof qjson);
        fprintf(stderr, "%s: wrote %s/samples.png, samples.safetensors, log.jsonl, checkpoint.safetensors\n", PROG,
                o.out);
    }
    if (tabular || anomaly) {
        /* the last evaluation, and the means over the last 10 (the seed's tables average its last 10 epochs) */
        char a1[1024] = "", a2[2048] = "";
        size_t at = strlen(qjson);
        if (have_ares && anomaly_json(&ares, a1, sizeof a1)) goto fail;
        if (anomaly_last_mean(lg.is_pending ? lg.pending : lg.path, 10, a2, sizeof a2)) goto fail;
        snprintf(qjson + at, sizeof qjson - at, "%s%s%s%s", at && (a1[0] || a2[0]) ? ", " : "", a1,
                 a1[0] && a2[0] ? ", " : "", a2);
        qok = qjson[0] != 0;
        if (!image) fprintf(stderr, "%s: wrote %s/log.jsonl, checkpoint.safetensors\n", PROG, o.out);
    } else if (!image) {
        if (write_outputs(&r, &o, &qok, qjson, sizeof qjson)) goto fail;
        fprintf(stderr, "%s: wrote %s/density.png, samples.png, samples.csv, log.jsonl, checkpoint.safetensors\n",
                PROG, o.out);
    }
    printf("{\"iter\": %ld, \"its_per_s\": %.3f, \"dispatches_per_iter\": %d, \"submits_per_iter\": %.4f", r.iteration,
           rate, ps.dispatches, r.iteration > start_it ? (double)submits / (double)(r.iteration - start_it) : 0.0);
    const char *lnames[3] = {"loss_e", "loss_g", "loss_h"};
    for (int i = 0; i < 3; i++) {
        printf(", \"%s\": ", lnames[i]);
        app_json_num(stdout, losses[i], 6);   /* null when the run stopped before its first log */
    }
    printf(", \"out\": ");
    app_json_string(stdout, o.out);
    if (qok) printf(", %s", qjson);
    printf("}\n");
    if (rt_validation_count(r.ctx)) {
        fprintf(stderr, "%s: %d Vulkan validation message(s)\n", PROG, rt_validation_count(r.ctx));
        rc = 1;
    } else {
        rc = interrupted ? 130 : 0;
    }
    fclose(lg.f);
    if (have_sc) imgscore_close(&sc);
    megrun_close(&r);
    return rc;
fail:
    app_progress_end(&pr);
    fprintf(stderr, "%s: %s\n", PROG, rt_error());
    if (lg.f) fclose(lg.f);
    meg_st_free(ck);
    if (have_sc) imgscore_close(&sc);
    megrun_close(&r);
    return 1;
}
