/* megrun.c: data, configuration metadata and plans of a MEG model, shared by
 * the programs. */
#include "megrun.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int megrun_is_image(const megrun *r) { return r->cfg.channels > 0; }

/* The tabular names and their prefixes: KDD Cup 99 and the user's CSV
 * tables, each scaled or not. */
static const struct { const char *prefix; int csv, unscaled; } TABULAR[] = {
    {"kdd99:", 0, 0}, {"kdd99-unscaled:", 0, 1}, {"csv:", 1, 0}, {"csv-unscaled:", 1, 1}};

const char *megrun_tabular_path(const char *data, int *unscaled)
{
    for (size_t i = 0; i < sizeof TABULAR / sizeof TABULAR[0]; i++) {
        size_t n = strlen(TABULAR[i].prefix);
        if (strncmp(data, TABULAR[i].prefix, n)) continue;
        if (unscaled) *unscaled = TABULAR[i].unscaled;
        return data + n;
    }
    return NULL;
}

int megrun_is_tabular_name(const char *data) { return megrun_tabular_path(data, NULL) != NULL; }

int megrun_is_csv_name(const char *data) { return !strncmp(data, "csv:", 4) || !strncmp(data, "csv-unscaled:", 13); }

int megrun_heldout_digit(const char *data)
{
    if (strncmp(data, "mnist-heldout:", 14) || data[14] < '0' || data[14] > '9' || data[15]) return -1;
    return data[14] - '0';
}

int megrun_is_image_name(const char *data)
{
    return meg_dataset_is_image_name(data) || megrun_heldout_digit(data) >= 0;
}

int megrun_has_anomaly_test(const char *data)
{
    return megrun_is_tabular_name(data) || megrun_heldout_digit(data) >= 0;
}

static int load_images(megrun *r, const char *data_dir)
{
    if (meg_data_dir(r->data_dir, sizeof r->data_dir, data_dir)) return -1;
    int k = meg_stacked_name_k(r->data), d = megrun_heldout_digit(r->data);
    meg_config *c = &r->cfg;
    if (d >= 0) {
        /* the normal digits: 80% to train; the rest and every image of d to test */
        meg_dataset a = {0}, b = {0};
        int rc = meg_dataset_named(&a, "mnist", "train", r->data_dir) ||
                 meg_dataset_named(&b, "mnist", "test", r->data_dir) ||
                 meg_dataset_heldout_digit(&r->set, &r->test, &a, &b, d, MEG_HELDOUT_SEED);
        meg_dataset_free(&a);
        meg_dataset_free(&b);
        if (rc) return -1;
    } else if (meg_dataset_named(&r->set, k ? "mnist" : r->data, "train", r->data_dir)) {
        return -1;
    }
    if (k) {
        if (meg_stacked_new(&r->pool, &r->set, k, MEG_STACKED_SEED)) return -1;
        r->src = (meg_image_source){.pool = &r->pool, .digits = &r->set};
        r->n = r->pool.n;
    } else {
        r->src = (meg_image_source){.set = &r->set};
        r->n = r->set.n;
    }
    c->channels = k ? k : r->set.shape[0];
    c->height = r->set.shape[1];
    c->img_width = r->set.shape[2];
    c->dim = c->channels * c->height * c->img_width;
    return 0;
}

/* A CSV table (csv:PATH): split by r->label (or not), scaled by the
 * checkpoint's scaling when r holds one, else fitted, which r then keeps
 * for the checkpoint. */
static int load_csv(megrun *r)
{
    meg_tabular_options to;
    meg_tabular_info in;
    meg_tabular_options_default(&to);
    const char *path = megrun_tabular_path(r->data, &to.no_scaling);
    to.label = r->label;
    if (r->scale_n > 0) {
        to.scale_n = r->scale_n;
        to.scale_min = r->scale_min;
        to.scale_range = r->scale_range;
    }
    if (meg_dataset_tabular(&r->set, &r->test, path, &to, &in)) return -1;
    free(r->scale_min);
    free(r->scale_range);
    r->scale_min = r->scale_range = NULL;
    r->scale_n = 0;
    if (!to.no_scaling) {
        /* kept (the given one, or the fitted one) for the checkpoint */
        r->scale_min = in.min;
        r->scale_range = in.range;
        r->scale_n = in.features;
        in.min = in.range = NULL;
    }
    meg_tabular_info_free(&in);
    r->n = r->set.n;
    r->cfg.dim = (int)meg_dataset_dim(&r->set);
    return 0;
}

int megrun_load_data(megrun *r, const char *data, uint64_t seed, const char *data_dir)
{
    if (data != r->data) snprintf(r->data, sizeof r->data, "%s", data);
    meg_dataset_free(&r->set);
    meg_dataset_free(&r->test);
    meg_stacked_free(&r->pool);
    memset(&r->src, 0, sizeof r->src);
    if (megrun_is_image_name(r->data)) return load_images(r, data_dir);
    if (megrun_is_csv_name(r->data)) return load_csv(r);
    if (megrun_is_tabular_name(r->data)) {
        meg_kdd99_options ko;
        meg_kdd99_options_default(&ko);
        const char *path = megrun_tabular_path(r->data, &ko.no_scaling);
        if (meg_dataset_kdd99(&r->set, &r->test, path, &ko, NULL)) return -1;
        r->n = r->set.n;
        r->cfg.dim = (int)meg_dataset_dim(&r->set);
        return 0;
    }
    int rc = meg_toy_is_known(r->data) ? meg_dataset_toy(&r->set, r->data, MEGRUN_TOY_POINTS, seed)
                                       : meg_dataset_csv(&r->set, r->data, 2, -1);
    if (rc) return -1;
    r->n = r->set.n;
    r->cfg.dim = (int)meg_dataset_dim(&r->set);
    return 0;
}

int megrun_meta(const megrun *r, meg_st_kv *kv, size_t cap, char *store, size_t store_n, size_t *n)
{
    const meg_config *c = &r->cfg;
    app_kv b = {kv, cap, 0, store, store_n, 0};
    app_kv_put(&b, "format", "meg-checkpoint-1");
    app_kv_put(&b, "model", megrun_is_image(r) ? "meg-image" : "meg-mlp");
    app_kv_put(&b, "data", "%s", r->data);
    if (r->label[0]) app_kv_put(&b, "label_column", "%s", r->label);
    app_kv_put(&b, "objective", "%s", c->objective == MEG_OBJECTIVE_WGAN_GP ? "wgan-gp" : "meg");
    if (megrun_is_image(r)) {
        app_kv_put(&b, "channels", "%d", c->channels);
        app_kv_put(&b, "height", "%d", c->height);
        app_kv_put(&b, "img_width", "%d", c->img_width);
        app_kv_put(&b, "penalty_norm", "%s", c->penalty_channel_norm ? "channel" : "paper");
    }
    app_kv_put(&b, "ndata", "%zu", r->n);
    app_kv_put(&b, "dim", "%d", c->dim);
    app_kv_put(&b, "zdim", "%d", c->zdim);
    app_kv_put(&b, "width", "%d", c->width);
    app_kv_put(&b, "hidden", "%d", c->hidden);
    const meg_widths *ws[3] = {&c->e_hidden, &c->g_hidden, &c->t_hidden};
    const char *wk[3] = {"e_hidden", "g_hidden", "t_hidden"};
    for (int k = 0; k < 3; k++)
        if (ws[k]->n > 0) {
            char list[128] = "";
            for (int l = 0; l < ws[k]->n; l++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", l ? "," : "", ws[k]->w[l]);
            app_kv_put(&b, wk[k], "%s", list);
        }
    app_kv_put(&b, "batch", "%d", c->batch);
    app_kv_put(&b, "n_energy", "%d", c->n_energy);
    app_kv_put(&b, "lr", "%.9g", (double)c->lr);
    app_kv_put(&b, "beta1", "%.9g", (double)c->beta1);
    app_kv_put(&b, "beta2", "%.9g", (double)c->beta2);
    app_kv_put(&b, "lambda", "%.9g", (double)c->lambda);
    app_kv_put(&b, "shuffle", "%s", c->shuffle_rows ? "row" : "dim");
    app_kv_put(&b, "seed", "%llu", (unsigned long long)c->seed);
    app_kv_put(&b, "mcmc_steps", "%d", c->mcmc_steps);
    app_kv_put(&b, "mcmc_step_size", "%.9g", (double)c->mcmc_step_size);
    if (c->g_ema > 0) app_kv_put(&b, "g_ema", "%.9g", (double)c->g_ema);
    if (c->lr_decay > 0) {
        app_kv_put(&b, "lr_decay", "%d", c->lr_decay);
        app_kv_put(&b, "lr_final", "%.9g", (double)c->lr_final);
    }
    app_kv_put(&b, "iteration", "%ld", r->iteration);
    app_kv_put(&b, "log_rows", "%ld", r->log_rows);
    return app_kv_done(&b, n);
}

/* The tensors the configuration implies, with their shapes: the three
 * networks' weights and biases, and the latent MCMC state. */
static int check_image_tensors(const megrun *r, const meg_st_file *f)
{
    const meg_config *c = &r->cfg;
    const float *d;
    if (meg_st_get(f, "E.w0", 4, (int64_t[]){c->width / 8, c->channels, 5, 5}, &d) ||
        meg_st_get(f, "G.win", 2, (int64_t[]){c->zdim, 4 * c->width}, &d)) {
        rt_error_prefix("the checkpoint's metadata (channels %d, zdim %d, width %d) does not match its tensors",
                        c->channels, c->zdim, c->width);
        return -1;
    }
    return 0;
}

static int check_tensors(const megrun *r, const meg_st_file *f)
{
    const meg_config *c = &r->cfg;
    if (megrun_is_image(r) && check_image_tensors(r, f)) return -1;
    struct { const char *net; int in, out; } nets[] = {
        {"E", c->dim, 1}, {"G", c->zdim, c->dim}, {"T", c->dim + c->zdim, 1}};
    const meg_widths *ws[3] = {&c->e_hidden, &c->g_hidden, &c->t_hidden};
    int nnets = c->objective == MEG_OBJECTIVE_WGAN_GP ? 2 : 3;   /* WGAN-GP has no T */
    for (int k = 0; k < nnets && !megrun_is_image(r); k++) {
        int in = nets[k].in, nh = ws[k]->n > 0 ? ws[k]->n : c->hidden;
        for (int l = 0; l <= nh; l++) {
            int o = l == nh ? nets[k].out : ws[k]->n > 0 ? ws[k]->w[l] : c->width;
            char wn[32], bn[32];
            snprintf(wn, sizeof wn, "%s.w%d", nets[k].net, l);
            snprintf(bn, sizeof bn, "%s.b%d", nets[k].net, l);
            const float *d;
            if (meg_st_get(f, wn, 2, (int64_t[]){in, o}, &d) || meg_st_get(f, bn, 1, (int64_t[]){o}, &d)) {
                rt_error_prefix("the checkpoint's metadata (dim %d, zdim %d, width %d, hidden %d) does not match "
                                "its tensors", c->dim, c->zdim, c->width, c->hidden);
                return -1;
            }
            in = o;
        }
    }
    const meg_st_tensor *mz = meg_st_find(f, "mcmc.z");
    if (c->mcmc_steps > 0) {
        const float *d;
        if (meg_st_get(f, "mcmc.z", 2, (int64_t[]){c->batch, c->zdim}, &d)) {
            rt_error_prefix("metadata mcmc_steps = %d needs the latent MCMC state", c->mcmc_steps);
            return -1;
        }
    } else if (mz) {
        rt_set_error("%s: holds \"mcmc.z\" but its metadata says mcmc_steps = 0", meg_st_path(f));
        return -1;
    }
    return 0;
}

/* A csv:PATH model's per-feature scaling, saved beside its weights so that
 * any file with its features is scored as the model was trained. */
static int scaling_of(megrun *r, const meg_st_file *f)
{
    free(r->scale_min);
    free(r->scale_range);
    r->scale_min = r->scale_range = NULL;
    r->scale_n = 0;
    int unscaled = 0;
    if (!megrun_is_csv_name(r->data) || (megrun_tabular_path(r->data, &unscaled), unscaled)) return 0;
    const float *mn, *rg;
    int64_t shape[1] = {r->cfg.dim};
    if (meg_st_get(f, MEGRUN_SCALE_MIN, 1, shape, &mn) || meg_st_get(f, MEGRUN_SCALE_RANGE, 1, shape, &rg)) {
        rt_error_prefix("a model trained on csv:PATH keeps its feature scaling (%s, %s [%d])", MEGRUN_SCALE_MIN,
                        MEGRUN_SCALE_RANGE, r->cfg.dim);
        return -1;
    }
    size_t bytes = (size_t)r->cfg.dim * sizeof(float);
    r->scale_min = malloc(bytes);
    r->scale_range = malloc(bytes);
    if (!r->scale_min || !r->scale_range) { rt_set_error("out of host memory"); return -1; }
    memcpy(r->scale_min, mn, bytes);
    memcpy(r->scale_range, rg, bytes);
    r->scale_n = r->cfg.dim;
    return 0;
}

/* An optional list of hidden widths "256,128,128" (absent: n = 0). */
static int widths_of(const meg_st_file *f, const char *key, meg_widths *w)
{
    memset(w, 0, sizeof *w);
    const char *v = meg_st_meta(f, key);
    if (!v) return 0;
    const char *p = v;
    while (*p) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < 1 || x > 65536 || w->n >= MEG_MAX_LAYERS - 1 || (*end && *end != ',')) {
            char shown[200];
            rt_set_error("%s: checkpoint metadata \"%s\" = \"%s\" is not a list of 1 to %d widths", meg_st_path(f),
                         key, rt_escape(v, 60, shown, sizeof shown), MEG_MAX_LAYERS - 1);
            return -1;
        }
        w->w[w->n++] = (int)x;
        p = *end ? end + 1 : end;
    }
    return 0;
}

int megrun_from_meta(megrun *r, const meg_st_file *f)
{
    const char *fmt = meg_st_meta(f, "format");
    char shown[200];
    if (!fmt || strcmp(fmt, "meg-checkpoint-1")) {
        rt_set_error("%s: not a MEG checkpoint (metadata \"format\" is %s%s%s)", meg_st_path(f), fmt ? "\"" : "",
                     fmt ? rt_escape(fmt, 40, shown, sizeof shown) : "missing", fmt ? "\"" : "");
        return -1;
    }
    const char *data = meg_st_meta(f, "data"), *sh = meg_st_meta(f, "shuffle");
    if (!data || !sh) { rt_set_error("%s: checkpoint metadata lacks \"data\" or \"shuffle\"", meg_st_path(f)); return -1; }
    if (strcmp(sh, "row") && strcmp(sh, "dim")) {
        rt_set_error("%s: checkpoint metadata \"shuffle\" = \"%s\" is neither \"dim\" nor \"row\"", meg_st_path(f),
                     rt_escape(sh, 40, shown, sizeof shown));
        return -1;
    }
    if (strlen(data) >= sizeof r->data) {
        rt_set_error("%s: checkpoint metadata \"data\" is longer than %zu bytes", meg_st_path(f), sizeof r->data - 1);
        return -1;
    }
    const char *model = meg_st_meta(f, "model");
    int image = model && !strcmp(model, "meg-image");
    if (model && !image && strcmp(model, "meg-mlp")) {
        rt_set_error("%s: checkpoint metadata \"model\" = \"%s\" is neither meg-mlp nor meg-image", meg_st_path(f),
                     rt_escape(model, 40, shown, sizeof shown));
        return -1;
    }
    meg_config *c = &r->cfg;
    const char *obj = meg_st_meta(f, "objective");
    if (obj && strcmp(obj, "meg") && strcmp(obj, "wgan-gp")) {
        rt_set_error("%s: checkpoint metadata \"objective\" = \"%s\" is neither meg nor wgan-gp", meg_st_path(f),
                     rt_escape(obj, 40, shown, sizeof shown));
        return -1;
    }
    c->objective = obj && !strcmp(obj, "wgan-gp") ? MEG_OBJECTIVE_WGAN_GP : MEG_OBJECTIVE_MEG;
    c->channels = c->height = c->img_width = 0;
    c->penalty_channel_norm = 0;
    if (image) {
        double ch, h, w;
        const char *pn = meg_st_meta(f, "penalty_norm");
        if (app_meta_num(f, "channels", 1, 16, 1, &ch) || app_meta_num(f, "height", 28, 28, 1, &h) ||
            app_meta_num(f, "img_width", 28, 28, 1, &w))
            return -1;
        if (!pn || (strcmp(pn, "paper") && strcmp(pn, "channel"))) {
            rt_set_error("%s: checkpoint metadata \"penalty_norm\" is %s (paper or channel)", meg_st_path(f),
                         pn ? "neither" : "missing");
            return -1;
        }
        c->channels = (int)ch;
        c->height = (int)h;
        c->img_width = (int)w;
        c->penalty_channel_norm = !strcmp(pn, "channel");
    }
    double v[13];
    /* the programs train and evaluate 2-D data (dim 2) or images of C x 28 x 28 */
    const char *keys[] = {"dim", "zdim", "width", "hidden", "batch", "n_energy", "lr", "beta1", "beta2", "lambda",
                          "seed", "iteration", "ndata"};
    int tabular = megrun_is_tabular_name(data);
    double dim = image ? (double)(c->channels * c->height * c->img_width) : 2;
    const double lo[] = {tabular ? 1 : dim, 1, 1, 1, 2, 1, 0, 0, 0, 0, 0, 0, 1};
    const double hi[] = {tabular ? 65536 : dim, 4096, 1 << 16, MEG_MAX_LAYERS - 1, 1 << 20, 100, 1e6, 1, 1, 1e9, 1.8446744073709552e19, 1e15,
                         1 << 24};
    const int integer[] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1};
    for (int i = 0; i < 13; i++)
        if (app_meta_num(f, keys[i], lo[i], hi[i], integer[i], &v[i])) return -1;
    c->dim = (int)v[0];
    c->zdim = (int)v[1];
    c->width = (int)v[2];
    c->hidden = (int)v[3];
    c->batch = (int)v[4];
    c->n_energy = (int)v[5];
    c->lr = (float)v[6];
    c->beta1 = (float)v[7];
    c->beta2 = (float)v[8];
    c->lambda = (float)v[9];
    c->seed = strtoull(meg_st_meta(f, "seed"), NULL, 10);
    c->shuffle_rows = !strcmp(sh, "row");
    if (widths_of(f, "e_hidden", &c->e_hidden) || widths_of(f, "g_hidden", &c->g_hidden) ||
        widths_of(f, "t_hidden", &c->t_hidden))
        return -1;
    /* optional keys (older checkpoints): latent MCMC in training, log rows */
    c->mcmc_steps = 0;
    c->mcmc_step_size = 0.01f;
    if (meg_st_meta(f, "mcmc_steps")) {
        double ms, ma;
        if (app_meta_num(f, "mcmc_steps", 0, 1000, 1, &ms) || app_meta_num(f, "mcmc_step_size", 0, 1e6, 0, &ma)) return -1;
        c->mcmc_steps = (int)ms;
        c->mcmc_step_size = (float)ma;
    }
    c->g_ema = 0;
    if (meg_st_meta(f, "g_ema")) {
        double d;
        if (app_meta_num(f, "g_ema", 0, 0.999999999, 0, &d)) return -1;
        c->g_ema = (float)d;
    }
    c->lr_decay = 0;
    c->lr_final = 0;
    if (meg_st_meta(f, "lr_decay")) {
        double d, fr;
        if (app_meta_num(f, "lr_decay", 1, 1e9, 1, &d) || app_meta_num(f, "lr_final", 0, 1, 0, &fr)) return -1;
        c->lr_decay = (int)d;
        c->lr_final = (float)fr;
    }
    r->log_rows = -1;
    if (meg_st_meta(f, "log_rows")) {
        double lr;
        if (app_meta_num(f, "log_rows", 0, 1e15, 1, &lr)) return -1;
        r->log_rows = (long)lr;
    }
    r->iteration = (long)v[11];
    snprintf(r->data, sizeof r->data, "%s", data);
    r->n = (size_t)v[12];
    const char *label = meg_st_meta(f, "label_column");
    if (label && (strlen(label) >= sizeof r->label || !*label)) {
        rt_set_error("%s: checkpoint metadata \"label_column\" is empty or longer than %zu bytes", meg_st_path(f),
                     sizeof r->label - 1);
        return -1;
    }
    snprintf(r->label, sizeof r->label, "%s", label ? label : "");
    if (check_tensors(r, f)) return -1;
    return scaling_of(r, f);
}

int megrun_scaling_tensors(const megrun *r, meg_st_tensor out[2])
{
    if (r->scale_n <= 0) return 0;
    out[0] = (meg_st_tensor){.name = MEGRUN_SCALE_MIN, .ndim = 1, .shape = {r->scale_n}, .data = r->scale_min};
    out[1] = (meg_st_tensor){.name = MEGRUN_SCALE_RANGE, .ndim = 1, .shape = {r->scale_n}, .data = r->scale_range};
    return 2;
}

const char *megrun_checkpoint_data(const megrun *r, const char *user_data, const char *ckpath)
{
    if (user_data) return user_data;
    if (meg_toy_is_known(r->data) || megrun_is_image_name(r->data)) return r->data;
    char shown[200];
    rt_set_error("%s was trained on the file \"%s\": pass --data PATH (a checkpoint's metadata is never opened as "
                 "a path)", ckpath, rt_escape(r->data, 120, shown, sizeof shown));
    return NULL;
}

int megrun_open(megrun *r, const char *device)
{
    rt_options o = {.device = device, .validation = -1, .autotune = -1};
    if (rt_ctx_create(&o, &r->ctx)) return -1;
    if (megrun_is_image(r)) {
        int have = r->src.set || r->src.pool;
        g_limits lim;
        g_limits_of(r->ctx, &lim);
        r->src.lim = &lim;
        int rc = meg_model_build_images(&r->m, &r->cfg, have ? &r->src : NULL, MEGRUN_IMAGE_EVAL_ROWS);
        r->src.lim = NULL;
        if (rc || g_session_new(r->ctx, r->m.g, r->cfg.seed, &r->s)) return -1;
        return have ? meg_model_upload_images(r->s, &r->m, &r->src) : 0;
    }
    if (meg_model_build(&r->m, &r->cfg, r->n, MEGRUN_EVAL_ROWS)) return -1;
    if (g_session_new(r->ctx, r->m.g, r->cfg.seed, &r->s)) return -1;
    if (r->set.x && g_session_write(r->s, r->m.data, r->set.x)) return -1;
    return 0;
}

int megrun_train_plan(megrun *r)
{
    if (r->train) return 0;
    meg_model *m = &r->m;
    g_tensor *roots[] = {m->step, m->loss_e, m->loss_g, m->loss_h, m->penalty, m->e_data, m->e_gen, m->mcmc_accept};
    g_plan_opts o = {.timestamps = r->train_timestamps};
    return g_plan_new(r->s, roots, m->mcmc_accept ? 8 : 7, &o, &r->train);
}

int megrun_eval_plans(megrun *r)
{
    if (!r->energy && g_plan_new(r->s, &r->m.energy, 1, NULL, &r->energy)) return -1;
    if (!r->gen && g_plan_new(r->s, &r->m.gen, 1, NULL, &r->gen)) return -1;
    return 0;
}

void megrun_close(megrun *r)
{
    g_plan_free(r->train);
    g_plan_free(r->energy);
    g_plan_free(r->gen);
    g_plan_free(r->grad2);
    g_session_free(r->s);
    if (r->ctx) rt_ctx_destroy(r->ctx);
    meg_model_free(&r->m);
    meg_dataset_free(&r->set);
    meg_dataset_free(&r->test);
    meg_stacked_free(&r->pool);
    free(r->scale_min);
    free(r->scale_range);
    memset(r, 0, sizeof *r);
}

int megrun_energy_grid(megrun *r, meg_box box, int n, float **energy)
{
    size_t nn = (size_t)n * n;
    float *xy = malloc(nn * 2 * sizeof *xy), *e = malloc(nn * sizeof *e);
    if (!xy || !e) { free(xy); free(e); rt_set_error("out of host memory"); return -1; }
    if (megrun_eval_plans(r) || meg_grid_points(box, n, n, xy) || meg_eval_energy(r->s, r->energy, &r->m, xy, nn, e)) {
        free(xy);
        free(e);
        return -1;
    }
    free(xy);
    *energy = e;
    return 0;
}
