/* train_classifier.c: meg-train --model classifier: trains the evaluation
 * classifier (models/classifier.h) on MNIST or Fashion-MNIST on the device,
 * measures its test accuracy and writes it, with its weights, into one
 * safetensors file that meg-eval images and the image models read. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clfrun.h"
#include "common.h"
#include "io.h"
#include "runlog.h"
#include "train_classifier.h"

static const char *PROG = "meg-train --model classifier";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: meg-train --model classifier [options]\n"
            "\n"
            "Trains the image classifier that evaluates generated images (mode counts, Frechet\n"
            "distance, score: meg-eval images): two 5x5 convolutions with relu and 2x2 max pooling,\n"
            "a hidden layer (the features), dropout, a linear layer, log-softmax; cross-entropy and\n"
            "Adam, minibatches and dropout drawn on the device. At the end the test set's accuracy\n"
            "goes into the file's metadata and the last line of output.\n"
            "\n"
            "  --data D         mnist or fashion (default mnist); fetch them with tools/data D\n"
            "  --data-dir DIR   where tools/data put them (default: $MEG_DATA_DIR or the cache folder)\n"
            "  --epochs E       train for E passes' worth of minibatches (default 5)\n"
            "  --iters N        or until N iterations in total (overrides --epochs)\n"
            "  --batch B        minibatch size (default 64)\n"
            "  --channels C     channels of the first convolution; the second has 2C (default 16)\n"
            "  --hidden H       features (default 128)\n"
            "  --dropout P      before the last layer (default 0.5)\n"
            "  --lr A           Adam learning rate (default 1e-3; betas 0.9, 0.999)\n"
            "  --seed S         weights, minibatches and dropout (default 1)\n"
            "  --out DIR        output folder (default clf-out): classifier.safetensors, log.jsonl,\n"
            "                   errors.png (test images it gets wrong, with their labels)\n"
            "  --resume         continue from DIR/classifier.safetensors\n"
            "  --force          start over even if DIR holds one\n"
            "  --log-every K    log the minibatch loss and accuracy every K iterations (default 100)\n"
            "  --checkpoint-every K  save every K iterations (default 2000)\n"
            "  --device D       Vulkan device index or name substring (default: $MEG_DEVICE or the best)\n"
            "  -h, --help       this text\n"
            "\n"
            "Progress goes to stderr; the last line on stdout is a JSON summary with test_accuracy.\n"
            "Ctrl-C (SIGINT) or SIGTERM stops at the next submit and saves.\n");
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

typedef struct opts {
    const char *data, *data_dir, *out, *device;
    long epochs, iters, log_every, ckpt_every;
    int resume, force;
    meg_clf_config cfg;
    unsigned set;
} opts;

enum { SET_BATCH = 1, SET_CH = 2, SET_HIDDEN = 4, SET_DROP = 8, SET_LR = 16, SET_SEED = 32, SET_DATA = 64 };

static int parse(int argc, char **argv, opts *o)
{
    meg_clf_config_default(&o->cfg);
    o->data = "mnist";
    o->out = "clf-out";
    o->epochs = 5;
    o->iters = -1;
    o->log_every = 100;
    o->ckpt_every = 2000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); exit(0); }
        if (!strcmp(a, "--model") && v) { i++; continue; }   /* meg-train's: "classifier" brought us here */
        if (!strcmp(a, "--resume")) { o->resume = 1; continue; }
        if (!strcmp(a, "--force")) { o->force = 1; continue; }
        if (!strcmp(a, "--data") && v) { o->data = v; o->set |= SET_DATA; i++; continue; }
        if (!strcmp(a, "--data-dir") && v) { o->data_dir = v; i++; continue; }
        if (!strcmp(a, "--out") && v) { o->out = v; i++; continue; }
        if (!strcmp(a, "--device") && v) { o->device = v; i++; continue; }
#define INT(flag, lo, hi, dst, bit) APP_INT_OPT(PROG, flag, lo, hi, dst, o->set, bit)
#define FLT(flag, dst, bit) APP_FLT_OPT(PROG, flag, dst, o->set, bit)
        INT("--epochs", 0, 100000, o->epochs, 0)
        INT("--iters", 0, 1000000000L, o->iters, 0)
        INT("--batch", 1, 1 << 16, o->cfg.batch, SET_BATCH)
        INT("--hidden", 1, 1 << 16, o->cfg.hidden, SET_HIDDEN)
        INT("--seed", 0, 1L << 62, o->cfg.seed, SET_SEED)
        INT("--log-every", 1, 1000000000L, o->log_every, 0)
        INT("--checkpoint-every", 1, 1000000000L, o->ckpt_every, 0)
        if (!strcmp(a, "--channels")) {
            long n;
            if (app_parse_int(PROG, a, v, 1, 2048, &n)) return -1;
            o->cfg.c1 = (int)n;
            o->cfg.c2 = 2 * (int)n;
            o->set |= SET_CH;
            i++;
            continue;
        }
        FLT("--dropout", o->cfg.dropout, SET_DROP)
        FLT("--lr", o->cfg.lr, SET_LR)
#undef INT
#undef FLT
        fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", PROG, a);
        return -1;
    }
    if (o->resume && o->force) {
        fprintf(stderr, "%s: --resume and --force contradict each other\n", PROG);
        return -1;
    }
    if (strcmp(o->data, "mnist") && strcmp(o->data, "fashion")) {
        fprintf(stderr, "%s: --data expects mnist or fashion, got \"%s\"\n", PROG, o->data);
        return -1;
    }
    if (!(o->cfg.dropout >= 0 && o->cfg.dropout < 1) || !(o->cfg.lr > 0)) {
        fprintf(stderr, "%s: --dropout must be in [0, 1) and --lr > 0 (got %g, %g)\n", PROG, (double)o->cfg.dropout,
                (double)o->cfg.lr);
        return -1;
    }
    return 0;
}

/* On --resume: options given must agree with the file's configuration. */
static int check_resume(const opts *o, const clfrun *r, const char *path)
{
    const meg_clf_config *c = &r->cfg, *u = &o->cfg;
    struct { unsigned bit; int differs; const char *name; } chk[] = {
        {SET_BATCH, c->batch != u->batch, "--batch"}, {SET_CH, c->c1 != u->c1, "--channels"},
        {SET_HIDDEN, c->hidden != u->hidden, "--hidden"}, {SET_DROP, c->dropout != u->dropout, "--dropout"},
        {SET_LR, c->lr != u->lr, "--lr"}, {SET_SEED, c->seed != u->seed, "--seed"},
        {SET_DATA, strcmp(r->data, o->data) != 0, "--data"},
    };
    for (size_t i = 0; i < sizeof chk / sizeof chk[0]; i++)
        if ((o->set & chk[i].bit) && chk[i].differs) {
            rt_set_error("%s: %s differs from its configuration (drop it, or start over with --force)", path,
                         chk[i].name);
            return -1;
        }
    return 0;
}

static int save(clfrun *r, const char *path)
{
    meg_st_kv kv[32];
    char store[2048];
    size_t n;
    if (clfrun_meta(r, kv, 32, store, sizeof store, &n)) return -1;
    return meg_checkpoint_save(path, r->s, r->m.g, kv, n);
}

/* Up to 64 test images the classifier gets wrong, titled with what it said. */
static int write_errors(const char *out, const meg_dataset *test, const int32_t *pred, double acc)
{
    size_t D = meg_dataset_dim(test), count = 0;
    float *img = malloc(64 * D * sizeof *img);
    if (!img) { rt_set_error("out of host memory"); return -1; }
    char caption[160];
    int off = snprintf(caption, sizeof caption, "test accuracy %.2f%%, label/said:", 100 * acc);
    for (size_t i = 0; i < test->n && count < 64; i++) {
        if (pred[i] == test->labels[i]) continue;
        memcpy(img + count * D, test->x + i * D, D * sizeof *img);
        if (count < 8 && off < (int)sizeof caption - 8)
            off += snprintf(caption + off, sizeof caption - (size_t)off, " %d/%d", test->labels[i], pred[i]);
        count++;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/errors.png", out);
    meg_sample_grid g = {.cols = 8, .title = "test images the classifier gets wrong", .caption = caption};
    int rc = count ? meg_png_sample_grid(path, img, (int)count, test->shape[0], test->shape[1], test->shape[2], &g) : 0;
    free(img);
    return rc;
}

int train_classifier_main(int argc, char **argv)
{
    opts o = {0};
    if (parse(argc, argv, &o)) return 2;
    clfrun r = {0};
    meg_st_file *ck = NULL;
    meg_dataset train = {0}, test = {0};
    runlog lg = {0};
    app_progress pr = {.f = stderr};
    int32_t *pred = NULL;
    int rc = 1;
    char ckpath[4200], dir[4096];
    r.test_accuracy = NAN;
    int have_ck;
    if (app_training_out(PROG, o.out, "classifier.safetensors", o.resume, o.force, ckpath, sizeof ckpath, &have_ck)) return 1;
    r.cfg = o.cfg;
    snprintf(r.data, sizeof r.data, "%s", o.data);
    if (o.resume) {
        if (meg_st_read(ckpath, &ck) || clfrun_from_meta(&r, ck) || check_resume(&o, &r, ckpath)) goto fail;
        r.test_accuracy = NAN;   /* measured again at the end */
    } else {
        r.log_rows = 0;
    }
    if (meg_data_dir(dir, sizeof dir, o.data_dir) || meg_dataset_named(&train, r.data, "train", dir) ||
        meg_dataset_named(&test, r.data, "test", dir))
        goto fail;
    if (!train.labels || train.ndim != 3) {
        rt_set_error("%s: the classifier needs labelled images", train.name);
        goto fail;
    }
    r.cfg.channels = train.shape[0];
    r.cfg.height = train.shape[1];
    r.cfg.width = train.shape[2];
    if (o.resume && r.n != train.n) {
        rt_set_error("%s was trained on %zu images, %s has %zu", ckpath, r.n, train.name, train.n);
        goto fail;
    }
    r.n = train.n;
    /* the training set on the device: images as bytes, labels as floats */
    if (clfrun_open(&r, &train, NULL, o.device)) goto fail;
    if (ck) {
        if (meg_checkpoint_load(ck, r.s, r.m.g)) goto fail;
        meg_st_free(ck);
        ck = NULL;
    }
    long per_epoch = (long)((train.n + (size_t)r.cfg.batch - 1) / (size_t)r.cfg.batch);
    long total = o.iters >= 0 ? o.iters : o.epochs * per_epoch;
    const rt_device_info *dev = rt_ctx_device(r.ctx);
    fprintf(stderr, "%s: %s on %s (%s); %s, %zu images; channels %d, %d, hidden %d, batch %d, lr %g, %ld iterations "
                    "(%.2f epochs)\n",
            PROG, o.resume ? "resuming" : "training", dev->name, dev->type_name, r.data, train.n, r.cfg.c1, r.cfg.c2,
            r.cfg.hidden, r.cfg.batch, (double)r.cfg.lr, total, (double)total / (double)per_epoch);
    double tp = app_now();
    g_tensor *roots[3] = {r.m.step, r.m.loss, r.m.accuracy};
    if (g_plan_new(r.s, roots, 3, NULL, &r.train)) goto fail;
    g_plan_stats ps;
    g_plan_stats_get(r.train, &ps);
    fprintf(stderr, "%s: planned in %.1f s: %d dispatches per iteration, %.1f MFLOP, arena %.1f MiB\n", PROG,
            app_now() - tp, ps.dispatches, ps.flops / 1e6, ps.arena_bytes / 1048576.0);
    if (runlog_open(&lg, o.out, o.resume, have_ck && !o.resume, &r.log_rows)) goto fail;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    app_progress_init(&pr, stderr, r.iteration, total);
    long start_it = r.iteration;
    double t0 = app_now(), rate = 0;
    float loss = NAN, acc = NAN;
    while (r.iteration < total && !interrupted) {
        long k = o.log_every - r.iteration % o.log_every;
        if (k > total - r.iteration) k = total - r.iteration;
        if (k > 25) k = 25;   /* a submit stays short: Ctrl-C is answered quickly */
        if (g_plan_run(r.train, (int)k)) goto fail;
        r.iteration += k;
        double el = app_now() - t0;
        rate = el > 0 ? (double)(r.iteration - start_it) / el : 0;
        if (r.iteration % o.log_every == 0 || r.iteration == total) {
            if (g_session_read(r.s, r.m.loss, &loss) || g_session_read(r.s, r.m.accuracy, &acc)) goto fail;
            fprintf(lg.f, "{\"iter\": %ld, \"epoch\": %.4f, \"loss\": ", r.iteration,
                    (double)r.iteration / (double)per_epoch);
            app_json_num(lg.f, loss, 7);
            fprintf(lg.f, ", \"batch_accuracy\": ");
            app_json_num(lg.f, acc, 5);
            fprintf(lg.f, ", \"its\": %.3f}\n", rate);
            fflush(lg.f);
            r.log_rows++;
            if (!isfinite(loss)) {
                app_progress_end(&pr);
                rt_set_error("the loss is not finite at iteration %ld; the last good save, if any, is %s; try a "
                             "smaller --lr", r.iteration, ckpath);
                goto fail;
            }
            char extra[96];
            snprintf(extra, sizeof extra, "loss %.4f acc %.3f", loss, acc);
            app_progress_update(&pr, r.iteration, rate, extra);
            if (r.iteration % o.ckpt_every == 0 && r.iteration < total && (save(&r, ckpath) || runlog_commit(&lg)))
                goto fail;
        } else if (pr.tty) {
            app_progress_update(&pr, r.iteration, rate, NULL);
        }
    }
    app_progress_end(&pr);
    if (interrupted) fprintf(stderr, "%s: interrupted at iteration %ld; saving\n", PROG, r.iteration);
    double te = app_now();
    pred = malloc(test.n * sizeof *pred);
    if (!pred) { rt_set_error("out of host memory"); goto fail; }
    if (clfrun_accuracy(&r, &test, &r.test_accuracy, pred)) goto fail;
    fprintf(stderr, "%s: test accuracy %.4f on %zu images (%.1f s)\n", PROG, r.test_accuracy, test.n,
            app_now() - te);
    if (save(&r, ckpath) || runlog_commit(&lg) || write_errors(o.out, &test, pred, r.test_accuracy)) goto fail;
    fprintf(stderr, "%s: wrote %s, %s/log.jsonl, %s/errors.png\n", PROG, ckpath, o.out, o.out);
    printf("{\"model\": \"classifier\", \"data\": ");
    app_json_string(stdout, r.data);
    printf(", \"iter\": %ld, \"epochs\": %.3f, \"its_per_s\": %.3f, \"loss\": ", r.iteration,
           (double)r.iteration / (double)per_epoch, rate);
    app_json_num(stdout, loss, 6);
    printf(", \"test_accuracy\": %.6f, \"test_images\": %zu, \"classifier\": ", r.test_accuracy, test.n);
    app_json_string(stdout, ckpath);
    printf("}\n");
    rc = rt_validation_count(r.ctx) ? 1 : interrupted ? 130 : 0;
    if (rt_validation_count(r.ctx)) fprintf(stderr, "%s: %d Vulkan validation message(s)\n", PROG, rt_validation_count(r.ctx));
    goto done;
fail:
    app_progress_end(&pr);
    fprintf(stderr, "%s: %s\n", PROG, rt_error());
done:
    if (lg.f) fclose(lg.f);
    free(pred);
    meg_st_free(ck);
    clfrun_close(&r);
    meg_dataset_free(&train);
    meg_dataset_free(&test);
    return rc;
}
