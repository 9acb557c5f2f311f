/* train_rbm.c: meg-train --model rbm: trains a Bernoulli-Bernoulli RBM
 * (models/rbm.h) on binarised MNIST or Fashion-MNIST by CD-k or PCD-k on
 * the device, then estimates its test log-likelihood by AIS and draws its
 * filters, reconstructions and samples. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "io.h"
#include "rbm.h"
#include "rbmviz.h"
#include "runlog.h"
#include "train_rbm.h"

static const char *PROG = "meg-train --model rbm";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: meg-train --model rbm [options]\n"
            "\n"
            "Trains a Bernoulli-Bernoulli restricted Boltzmann machine on binarised images by\n"
            "contrastive divergence, entirely on the device: each update draws a minibatch,\n"
            "binarises it, runs K block Gibbs steps v -> h -> v with Bernoulli draws (unrolled in\n"
            "the update's graph) and follows the gradient of F(data) - F(chain ends). Then it\n"
            "estimates log Z by annealed importance sampling (Salakhutdinov and Murray 2008: a base\n"
            "model with the data's visible biases, runs in parallel on the device) and reports\n"
            "the mean test log-likelihood -F(v) - log Z in nats per image.\n"
            "\n"
            "  --data D         mnist or fashion (default mnist); fetch them with tools/data D\n"
            "  --data-dir DIR   where tools/data put them (default: $MEG_DATA_DIR or the cache folder)\n"
            "  --cd K           CD-K: chains start at the minibatch (default, K = 1)\n"
            "  --pcd K          PCD-K: persistent chains, one per minibatch row, kept across updates\n"
            "  --hidden H       hidden units (default 500)\n"
            "  --batch B        minibatch size (default 100)\n"
            "  --lr A           learning rate (default 0.05 for SGD, 0.001 with --adam)\n"
            "  --adam           Adam (betas 0.9, 0.999) instead of plain SGD\n"
            "  --epochs E       train for E passes' worth of minibatches (default 1)\n"
            "  --iters N        or for N updates (overrides --epochs)\n"
            "  --binarize M     threshold (pixel > 0.5, default) or stochastic (v ~ Bernoulli(pixel),\n"
            "                   a new draw per minibatch; the test set drawn once from --seed)\n"
            "  --seed S         weights, minibatches, Gibbs draws, AIS (default 1)\n"
            "  --ais-runs R     AIS runs (default 100)\n"
            "  --ais-betas T    AIS temperatures (default 14500, spaced as in the paper)\n"
            "  --test-n N       test images whose log-likelihood is averaged (default: all)\n"
            "  --sample-steps K Gibbs steps of the sample chains started from noise (default 1000)\n"
            "  --out DIR        output folder (default rbm-out): checkpoint.safetensors, log.jsonl,\n"
            "                   filters.png, reconstructions.png, samples.png\n"
            "  --resume         continue DIR/checkpoint.safetensors (its configuration is used;\n"
            "                   options given must agree with it) until --iters or --epochs in total\n"
            "  --force          start over even if DIR holds a checkpoint\n"
            "  --log-every K    log F(data), F(chains) and the reconstruction error every K updates (100)\n"
            "  --device D       Vulkan device index or name substring (default: $MEG_DEVICE or the best)\n"
            "  -h, --help       this text\n"
            "\n"
            "Progress goes to stderr; the last line on stdout is a JSON summary with test_ll_nats\n"
            "and its AIS bounds test_ll_lo and test_ll_hi (log Z -+ 3 standard errors of the mean\n"
            "importance weight). Ctrl-C (SIGINT) or SIGTERM stops at the next submit and saves the\n"
            "checkpoint, without the evaluation.\n");
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

typedef struct opts {
    const char *data, *data_dir, *out, *device;
    long epochs, iters, log_every, ais_runs, ais_betas, test_n, sample_steps;
    int resume, force, cd_set, pcd_set;
    meg_rbm_config cfg;
    unsigned set;            /* which configuration options were given */
} opts;

enum { SET_HIDDEN = 1, SET_BATCH = 2, SET_LR = 4, SET_ADAM = 8, SET_CHAINS = 16, SET_BIN = 32, SET_SEED = 64,
       SET_DATA = 128 };

static int parse(int argc, char **argv, opts *o)
{
    meg_rbm_config_default(&o->cfg);
    o->data = "mnist";
    o->out = "rbm-out";
    o->epochs = 1;
    o->iters = -1;
    o->log_every = 100;
    o->ais_runs = 100;
    o->ais_betas = 14500;
    o->test_n = -1;
    o->sample_steps = 1000;
    long k;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); exit(0); }
        if (!strcmp(a, "--model") && v) { i++; continue; }   /* meg-train's: "rbm" brought us here */
        if (!strcmp(a, "--resume")) { o->resume = 1; continue; }
        if (!strcmp(a, "--force")) { o->force = 1; continue; }
        if (!strcmp(a, "--adam")) { o->cfg.adam = 1; o->set |= SET_ADAM; continue; }
        if (!strcmp(a, "--data") && v) { o->data = v; o->set |= SET_DATA; i++; continue; }
        if (!strcmp(a, "--data-dir") && v) { o->data_dir = v; i++; continue; }
        if (!strcmp(a, "--out") && v) { o->out = v; i++; continue; }
        if (!strcmp(a, "--device") && v) { o->device = v; i++; continue; }
        if (!strcmp(a, "--binarize") && v) {
            if (strcmp(v, "threshold") && strcmp(v, "stochastic")) {
                fprintf(stderr, "%s: --binarize expects threshold or stochastic, got \"%s\"\n", PROG, v);
                return -1;
            }
            o->cfg.binarize = strcmp(v, "threshold") ? MEG_RBM_STOCHASTIC : MEG_RBM_THRESHOLD;
            o->set |= SET_BIN;
            i++;
            continue;
        }
        if (!strcmp(a, "--cd") || !strcmp(a, "--pcd")) {
            if (app_parse_int(PROG, a, v, 1, 1000, &k)) return -1;
            o->cfg.k = (int)k;
            o->cfg.persistent = !strcmp(a, "--pcd");
            *(o->cfg.persistent ? &o->pcd_set : &o->cd_set) = 1;
            o->set |= SET_CHAINS;
            i++;
            continue;
        }
#define INT(flag, lo, hi, dst, bit) APP_INT_OPT(PROG, flag, lo, hi, dst, o->set, bit)
        INT("--hidden", 1, 1 << 16, o->cfg.hidden, SET_HIDDEN)
        INT("--batch", 1, 1 << 16, o->cfg.batch, SET_BATCH)
        INT("--seed", 0, 1L << 52, o->cfg.seed, SET_SEED)
        INT("--epochs", 0, 100000, o->epochs, 0)
        INT("--iters", 0, 1000000000L, o->iters, 0)
        INT("--ais-runs", 1, 100000, o->ais_runs, 0)
        INT("--ais-betas", 1, 1 << 23, o->ais_betas, 0)
        INT("--test-n", 1, 1L << 30, o->test_n, 0)
        INT("--sample-steps", 1, 10000000, o->sample_steps, 0)
        INT("--log-every", 1, 1000000000L, o->log_every, 0)
#undef INT
        APP_FLT_OPT(PROG, "--lr", o->cfg.lr, o->set, SET_LR)
        fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", PROG, a);
        return -1;
    }
    if (o->resume && o->force) {
        fprintf(stderr, "%s: --resume and --force contradict each other\n", PROG);
        return -1;
    }
    if (o->cd_set && o->pcd_set) {
        fprintf(stderr, "%s: --cd and --pcd contradict each other\n", PROG);
        return -1;
    }
    if (strcmp(o->data, "mnist") && strcmp(o->data, "fashion")) {
        fprintf(stderr, "%s: --data expects mnist or fashion, got \"%s\"\n", PROG, o->data);
        return -1;
    }
    if (!(o->set & SET_LR) && o->cfg.adam) o->cfg.lr = 1e-3f;
    if (!(o->cfg.lr > 0)) {
        fprintf(stderr, "%s: --lr must be > 0 (got %g)\n", PROG, (double)o->cfg.lr);
        return -1;
    }
    return 0;
}

typedef struct result {
    long iteration;
    double test_ll, train_ll;
    meg_rbm_ais_result ais;
} result;

static int save(const char *path, g_session *s, const meg_rbm *m, const opts *o, const result *r, long log_rows)
{
    const meg_rbm_config *c = &m->cfg;
    meg_st_kv kv[32];
    char store[2048];
    size_t n;
    app_kv b = {kv, 32, 0, store, sizeof store, 0, 0};
    app_kv_put(&b, "format", "meg-rbm-1");
    app_kv_put(&b, "model", "rbm");
    app_kv_put(&b, "data", "%s", o->data);
    app_kv_put(&b, "visible", "%d", c->visible);
    app_kv_put(&b, "hidden", "%d", c->hidden);
    app_kv_put(&b, "chains", "%s", c->persistent ? "pcd" : "cd");
    app_kv_put(&b, "k", "%d", c->k);
    app_kv_put(&b, "optimizer", "%s", c->adam ? "adam" : "sgd");
    app_kv_put(&b, "lr", "%.9g", (double)c->lr);
    app_kv_put(&b, "batch", "%d", c->batch);
    app_kv_put(&b, "binarize", "%s", c->binarize == MEG_RBM_STOCHASTIC ? "stochastic" : "threshold");
    app_kv_put(&b, "seed", "%llu", (unsigned long long)c->seed);
    app_kv_put(&b, "iteration", "%ld", r->iteration);
    app_kv_put(&b, "log_rows", "%ld", log_rows);
    if (isfinite(r->test_ll)) {
        app_kv_put(&b, "test_ll_nats", "%.6f", r->test_ll);
        app_kv_put(&b, "log_z", "%.6f", r->ais.log_z);
    }
    if (app_kv_done(&b, &n)) return -1;
    return meg_checkpoint_save(path, s, m->g, kv, n);
}

/* On --resume: the checkpoint's configuration, every option given checked
 * against it; the update count and the log rows it counts. */
static int resume_config(opts *o, const meg_st_file *f, long *iteration, long *log_rows)
{
    const char *path = meg_st_path(f), *fmt = meg_st_meta(f, "format");
    if (!fmt || strcmp(fmt, "meg-rbm-1")) {
        rt_set_error("%s: not a checkpoint of meg-train --model rbm (metadata \"format\" is not \"meg-rbm-1\")", path);
        return -1;
    }
    const char *data = meg_st_meta(f, "data"), *chains = meg_st_meta(f, "chains"), *opt = meg_st_meta(f, "optimizer");
    const char *bin = meg_st_meta(f, "binarize");
    if (!data || (strcmp(data, "mnist") && strcmp(data, "fashion")) || !chains ||
        (strcmp(chains, "cd") && strcmp(chains, "pcd")) || !opt || (strcmp(opt, "sgd") && strcmp(opt, "adam")) ||
        !bin || (strcmp(bin, "threshold") && strcmp(bin, "stochastic"))) {
        rt_set_error("%s: checkpoint metadata \"data\", \"chains\", \"optimizer\" or \"binarize\" is missing or "
                     "unknown", path);
        return -1;
    }
    double hidden, k, lr, batch, seed, it, rows;
    if (app_meta_num(f, "hidden", 1, 1 << 16, 1, &hidden) || app_meta_num(f, "k", 1, 1000, 1, &k) ||
        app_meta_num(f, "lr", 0, 1e6, 0, &lr) || app_meta_num(f, "batch", 1, 1 << 16, 1, &batch) ||
        app_meta_num(f, "seed", 0, 4503599627370496.0, 1, &seed) || app_meta_num(f, "iteration", 0, 1e15, 1, &it) ||
        app_meta_num(f, "log_rows", 0, 1e15, 1, &rows))
        return -1;
    meg_rbm_config c = o->cfg, *u = &o->cfg;
    c.hidden = (int)hidden;
    c.k = (int)k;
    c.persistent = !strcmp(chains, "pcd");
    c.adam = !strcmp(opt, "adam");
    c.lr = (float)lr;
    c.batch = (int)batch;
    c.binarize = strcmp(bin, "stochastic") ? MEG_RBM_THRESHOLD : MEG_RBM_STOCHASTIC;
    c.seed = (uint64_t)seed;
    struct { unsigned bit; int differs; const char *name; } chk[] = {
        {SET_HIDDEN, c.hidden != u->hidden, "--hidden"}, {SET_BATCH, c.batch != u->batch, "--batch"},
        {SET_LR, c.lr != u->lr, "--lr"}, {SET_ADAM, c.adam != u->adam, "--adam"},
        {SET_CHAINS, c.persistent != u->persistent || c.k != u->k, c.persistent ? "--pcd" : "--cd"},
        {SET_BIN, c.binarize != u->binarize, "--binarize"}, {SET_SEED, c.seed != u->seed, "--seed"},
        {SET_DATA, strcmp(data, o->data) != 0, "--data"},
    };
    for (size_t i = 0; i < sizeof chk / sizeof chk[0]; i++)
        if ((o->set & chk[i].bit) && chk[i].differs) {
            rt_set_error("%s: %s differs from the checkpoint's configuration (drop it, or start over with --force)",
                         path, chk[i].name);
            return -1;
        }
    o->cfg = c;
    o->data = !strcmp(data, "mnist") ? "mnist" : "fashion";
    *iteration = (long)it;
    *log_rows = (long)rows;
    return 0;
}

/* mean -F(v) of n binary vectors through the evaluation plan */
static int mean_neg_fe(g_session *s, g_plan *eval, const meg_rbm *m, const float *v, size_t n, double *out)
{
    double *fe = malloc(n * sizeof *fe), sum = 0;
    if (!fe) { rt_set_error("out of host memory"); return -1; }
    if (meg_rbm_eval_fe(s, eval, m, v, n, fe)) { free(fe); return -1; }
    for (size_t i = 0; i < n; i++) sum -= fe[i];
    free(fe);
    *out = sum / (double)n;
    return 0;
}

static void json_ll(const char *key, double v)
{
    printf(", \"%s\": ", key);
    app_json_num(stdout, v, 8);
}

int train_rbm_main(int argc, char **argv)
{
    opts o = {0};
    if (parse(argc, argv, &o)) return 2;
    meg_dataset train = {0}, test = {0};
    meg_rbm m = {0};
    rt_ctx *ctx = NULL;
    g_session *s = NULL;
    g_plan *tp = NULL, *ep = NULL, *sp = NULL;
    runlog lg = {0};
    app_progress pr = {.f = stderr};
    meg_rbm_weights w = {0};
    float *tv = NULL, *trv = NULL, *base = NULL;
    int rc = 1, have_ck;
    long log_rows = 0;
    char ckpath[4200], dir[4096], path[4300];
    result res = {.test_ll = NAN, .train_ll = NAN};
    meg_st_file *ck = NULL;
    if (app_training_out(PROG, o.out, "checkpoint.safetensors", o.resume, o.force, ckpath, sizeof ckpath, &have_ck))
        return 1;
    if (o.resume && (meg_st_read(ckpath, &ck) || resume_config(&o, ck, &res.iteration, &log_rows))) goto fail;
    if (meg_data_dir(dir, sizeof dir, o.data_dir) || meg_dataset_named(&train, o.data, "train", dir) ||
        meg_dataset_named(&test, o.data, "test", dir))
        goto fail;
    o.cfg.visible = (int)meg_dataset_dim(&train);
    int ih = train.ndim == 3 ? train.shape[1] : 1, iw = train.ndim == 3 ? train.shape[2] : o.cfg.visible;
    if (!(ctx = app_open_device(PROG, o.device))) goto done;
    g_limits lim;
    g_limits_of(ctx, &lim);
    if (meg_rbm_build(&m, &o.cfg, &train, &lim, 500) || g_session_new(ctx, m.g, o.cfg.seed, &s) ||
        meg_rbm_upload(s, &m, &train))
        goto fail;
    /* visible biases start at the data's base rates (Hinton's practical guide); AIS's base model uses them too */
    if (!(base = malloc((size_t)o.cfg.visible * sizeof *base))) { rt_set_error("out of host memory"); goto fail; }
    meg_rbm_base_rate(&train, o.cfg.binarize, base);
    if (ck ? meg_checkpoint_load(ck, s, m.g) : g_session_write(s, m.net.b, base)) goto fail;
    meg_st_free(ck);
    ck = NULL;
    long per_epoch = (long)((train.n + (size_t)o.cfg.batch - 1) / (size_t)o.cfg.batch);
    long total = o.iters >= 0 ? o.iters : o.epochs * per_epoch;
    const rt_device_info *dev = rt_ctx_device(ctx);
    fprintf(stderr, "%s: %s on %s (%s); %s, %zu images, %d visible, %d hidden; %s-%d, %s lr %g, batch %d, "
                    "%s binarisation; %ld updates (%.2f epochs)\n",
            PROG, o.resume ? "resuming" : "training", dev->name, dev->type_name, o.data, train.n, o.cfg.visible, o.cfg.hidden,
            o.cfg.persistent ? "PCD" : "CD", o.cfg.k, o.cfg.adam ? "Adam" : "SGD", (double)o.cfg.lr, o.cfg.batch,
            o.cfg.binarize == MEG_RBM_STOCHASTIC ? "stochastic" : "threshold", total, (double)total / per_epoch);
    double t_plan = app_now();
    g_tensor *roots[4] = {m.step, m.fe_data, m.fe_model, m.recon};
    g_tensor *eroots[2] = {m.fe, m.recon_in}, *sroots[2] = {m.sample_step, m.sample_pv};
    if (g_plan_new(s, roots, 4, NULL, &tp) || g_plan_new(s, eroots, 2, NULL, &ep) ||
        g_plan_new(s, sroots, 2, NULL, &sp))
        goto fail;
    g_plan_stats ps;
    g_plan_stats_get(tp, &ps);
    fprintf(stderr, "%s: planned in %.1f s: %d dispatches per update, %.1f MFLOP, arena %.1f MiB\n", PROG,
            app_now() - t_plan, ps.dispatches, ps.flops / 1e6, ps.arena_bytes / 1048576.0);
    if (runlog_open(&lg, o.out, o.resume, have_ck && !o.resume, &log_rows)) goto fail;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    app_progress_init(&pr, stderr, res.iteration, total);
    long start_it = res.iteration;
    double t0 = app_now(), rate = 0, t_train = 0;
    float fd = NAN, fm = NAN, rec = NAN;
    while (res.iteration < total && !interrupted) {
        long k = o.log_every - res.iteration % o.log_every;
        if (k > total - res.iteration) k = total - res.iteration;
        if (k > 25) k = 25;   /* a submit stays short: Ctrl-C is answered quickly */
        if (g_plan_run(tp, (int)k)) goto fail;
        res.iteration += k;
        t_train = app_now() - t0;
        rate = t_train > 0 ? (double)(res.iteration - start_it) / t_train : 0;
        if (res.iteration % o.log_every == 0 || res.iteration == total) {
            if (g_session_read(s, m.fe_data, &fd) || g_session_read(s, m.fe_model, &fm) ||
                g_session_read(s, m.recon, &rec))
                goto fail;
            fprintf(lg.f, "{\"iter\": %ld, \"epoch\": %.4f, \"fe_data\": ", res.iteration,
                    (double)res.iteration / (double)per_epoch);
            app_json_num(lg.f, fd, 7);
            fprintf(lg.f, ", \"fe_model\": ");
            app_json_num(lg.f, fm, 7);
            fprintf(lg.f, ", \"recon\": ");
            app_json_num(lg.f, rec, 7);
            fprintf(lg.f, ", \"its\": %.3f}\n", rate);
            fflush(lg.f);
            log_rows++;
            if (!isfinite(fd) || !isfinite(fm)) {
                app_progress_end(&pr);
                rt_set_error("the free energy is not finite at update %ld; try a smaller --lr", res.iteration);
                goto fail;
            }
            char extra[96];
            snprintf(extra, sizeof extra, "F(data) %.2f F(chains) %.2f recon %.2f", fd, fm, rec);
            app_progress_update(&pr, res.iteration, rate, extra);
        } else if (pr.tty) {
            app_progress_update(&pr, res.iteration, rate, NULL);
        }
    }
    app_progress_end(&pr);
    if (save(ckpath, s, &m, &o, &res, log_rows) || runlog_commit(&lg)) goto fail;
    if (interrupted) {
        fprintf(stderr, "%s: interrupted at update %ld; saved %s (no evaluation)\n", PROG, res.iteration, ckpath);
        rc = 130;
        goto done;
    }
    /* the log-likelihood: -F on the device, log Z by AIS */
    size_t nt = o.test_n > 0 && (size_t)o.test_n < test.n ? (size_t)o.test_n : test.n;
    size_t ntr = nt < train.n ? nt : train.n;
    size_t V = (size_t)o.cfg.visible;
    tv = malloc(nt * V * sizeof *tv);
    trv = malloc(ntr * V * sizeof *trv);
    if (!tv || !trv) { rt_set_error("out of host memory"); goto fail; }
    if (meg_rbm_binarize_set(&test, nt, o.cfg.binarize, o.cfg.seed + 1, tv) ||
        meg_rbm_binarize_set(&train, ntr, o.cfg.binarize, o.cfg.seed + 2, trv) ||
        meg_rbm_read_weights(s, &m.net, &w))
        goto fail;
    double nfe_test, nfe_train, t_ais = app_now();
    if (mean_neg_fe(s, ep, &m, tv, nt, &nfe_test) || mean_neg_fe(s, ep, &m, trv, ntr, &nfe_train)) goto fail;
    meg_rbm_ais_opts ao;
    meg_rbm_ais_opts_default(&ao);
    ao.runs = (int)o.ais_runs;
    ao.betas = (int)o.ais_betas;
    ao.seed = o.cfg.seed;
    ao.base_b = base;
    fprintf(stderr, "%s: AIS with %d runs, %d temperatures\n", PROG, ao.runs, ao.betas);
    if (meg_rbm_ais(ctx, &w, &ao, &res.ais)) goto fail;
    t_ais = app_now() - t_ais;
    res.test_ll = nfe_test - res.ais.log_z;
    res.train_ll = nfe_train - res.ais.log_z;
    fprintf(stderr, "%s: log Z %.3f [%.3f, %.3f] (base %.3f; sd of log w %.3f); test log-likelihood %.3f nats "
                    "per image on %zu images, train %.3f on %zu (%.1f s)\n",
            PROG, res.ais.log_z, res.ais.log_z_lo, res.ais.log_z_hi, res.ais.log_z0, res.ais.logw_sd, res.test_ll,
            nt, res.train_ll, ntr, t_ais);
    /* the pictures */
    snprintf(path, sizeof path, "%s/filters.png", o.out);
    if (ih * iw != o.cfg.visible || rbmviz_filters(path, &w, 100, ih, iw)) goto fail;
    snprintf(path, sizeof path, "%s/reconstructions.png", o.out);
    if (rbmviz_reconstructions(path, s, ep, &m, tv, nt < 50 ? (int)nt : 50, ih, iw)) goto fail;
    snprintf(path, sizeof path, "%s/samples.png", o.out);
    if (rbmviz_samples(path, s, sp, &m, (int)o.sample_steps, o.cfg.seed + 3, ih, iw)) goto fail;
    if (save(ckpath, s, &m, &o, &res, log_rows)) goto fail;
    fprintf(stderr, "%s: wrote %s, %s/log.jsonl, filters.png, reconstructions.png, samples.png\n", PROG, ckpath,
            o.out);
    printf("{\"model\": \"rbm\", \"data\": ");
    app_json_string(stdout, o.data);
    printf(", \"chains\": \"%s\", \"k\": %d, \"hidden\": %d, \"optimizer\": \"%s\", \"lr\": %g, \"batch\": %d, "
           "\"binarize\": \"%s\", \"iter\": %ld, \"epochs\": %.3f, \"its_per_s\": %.3f, \"train_s\": %.1f",
           o.cfg.persistent ? "pcd" : "cd", o.cfg.k, o.cfg.hidden, o.cfg.adam ? "adam" : "sgd", (double)o.cfg.lr,
           o.cfg.batch, o.cfg.binarize == MEG_RBM_STOCHASTIC ? "stochastic" : "threshold", res.iteration,
           (double)res.iteration / (double)per_epoch, rate, t_train);
    json_ll("recon", rec);
    json_ll("log_z", res.ais.log_z);
    json_ll("log_z_lo", res.ais.log_z_lo);
    json_ll("log_z_hi", res.ais.log_z_hi);
    printf(", \"ais_runs\": %d, \"ais_betas\": %d, \"ais_s\": %.1f", res.ais.runs, res.ais.betas, t_ais);
    json_ll("logw_sd", res.ais.logw_sd);
    json_ll("train_ll_nats", res.train_ll);
    json_ll("test_ll_nats", res.test_ll);
    json_ll("test_ll_lo", nfe_test - res.ais.log_z_hi);
    json_ll("test_ll_hi", nfe_test - res.ais.log_z_lo);
    printf(", \"test_images\": %zu, \"out\": ", nt);
    app_json_string(stdout, o.out);
    printf("}\n");
    rc = 0;
    if (rt_validation_count(ctx)) {
        fprintf(stderr, "%s: %d Vulkan validation message(s)\n", PROG, rt_validation_count(ctx));
        rc = 1;
    }
    goto done;
fail:
    app_progress_end(&pr);
    fprintf(stderr, "%s: %s\n", PROG, rt_error());
done:
    if (lg.f) fclose(lg.f);
    free((void *)w.W), free((void *)w.b), free((void *)w.c);
    free(tv), free(trv), free(base);
    meg_st_free(ck);
    g_plan_free(tp), g_plan_free(ep), g_plan_free(sp);
    g_session_free(s);
    meg_rbm_free(&m);
    if (ctx) rt_ctx_destroy(ctx);
    meg_dataset_free(&train);
    meg_dataset_free(&test);
    return rc;
}
