/* meg-bench: benchmarks of the device and of our kernels. */
#include "common.h"
#include "megrun.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *PROG = "meg-bench";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: meg-bench [COMMAND] [options]\n"
            "\n"
            "Benchmarks the Vulkan device and the project's kernels. Without a command it\n"
            "runs `matmul` and `dispatch`.\n"
            "\n"
            "commands:\n"
            "  matmul          fp32 matmul GFLOP/s at 256/512/1024 cubes and the MLP shapes\n"
            "                  256x2x512, 256x512x512, 256x784x512 (M x K x N)\n"
            "  dispatch        microseconds per dispatch: 1000 small dispatches in one\n"
            "                  command buffer, and one submit (and wait) each\n"
            "  train           MEG training iterations per second (the whole iteration on the\n"
            "                  device), dispatches and submits per iteration, arena and\n"
            "                  parameter bytes, FLOPs per iteration and GFLOP/s achieved\n"
            "  mala            latent MALA steps per second on U(z) = E(G(z)) + ||z||^2/2 of an\n"
            "                  untrained model (--chains C, --steps K, --width W)\n"
            "  mlp             a 4-layer 512-wide MLP (batch 256) forward + backward, planned with\n"
            "                  and without fusion: dispatches, arena bytes, milliseconds per run\n"
            "  list-devices    the Vulkan devices: index, name, type, driver, memory\n"
            "\n"
            "options:\n"
            "  --device D      device index or name substring (default: $MEG_DEVICE, else the\n"
            "                  first discrete GPU, then integrated, virtual, CPU)\n"
            "  --list-devices  same as the list-devices command\n"
            "  --json          print one JSON object instead of a table\n"
            "  --shape MxKxN   matmul: only this shape (repeatable)\n"
            "  --variant V     matmul: register-block variant (0 automatic; 'all' compares all)\n"
            "  --transpose T   matmul: nn (default), tn, nt or tt (which operand is stored transposed)\n"
            "  --reps N        timed repetitions per measurement (default 10)\n"
            "  --data D        train: data set (default 25gaussians)\n"
            "  --width W, --batch B, --n-energy K, --hidden L, --zdim Z\n"
            "                  train: model (defaults 512, 256, 5, 3, 2)\n"
            "  --iters N       train: timed iterations (default 20, after 2 warm-up ones)\n"
            "  --max-submit K  train: iterations per submit (default 25)\n"
            "  --profile       train: time per kernel of one iteration (timestamps)\n"
            "  --chains C      mala: chains (default 256)\n"
            "  --steps K       mala: timed steps (default 100, after 5 warm-up ones)\n"
            "  -h, --help      this text\n");
}

typedef struct opts {
    const char *device;
    const char *data;
    meg_config cfg;
    int iters, max_submit, profile, chains, steps;
    int json;
    int reps;
    int variant;          /* -1: all */
    int ta, tb;
    int nshapes;
    unsigned shapes[16][3];
} opts;

static int list_devices(const opts *o)
{
    rt_device_info d[16];
    int n = 0;
    if (rt_list_devices(d, 16, &n)) {
        fprintf(stderr, "%s: %s\n", PROG, rt_error());
        return 1;
    }
    if (o->json) {
        printf("{\"devices\": [");
        for (int i = 0; i < n && i < 16; i++) {
            if (i) printf(", ");
            app_json_device(stdout, &d[i]);
        }
        printf("]}\n");
        return 0;
    }
    printf("%-5s %-40s %-10s %-36s %s\n", "index", "name", "type", "driver", "memory");
    for (int i = 0; i < n && i < 16; i++)
        printf("%-5d %-40s %-10s %-36.36s %.1f GiB\n", d[i].index, d[i].name, d[i].type_name, d[i].driver,
               (double)d[i].memory / (1 << 30));
    return 0;
}

static double median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void random_fill(float *x, size_t n, unsigned seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        x[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
}

/* Median milliseconds of one matmul, from `reps` dispatches in one command
 * buffer (timestamps where the device has them, else wall time). */
static int time_matmul(rt_ctx *ctx, const rt_matmul_desc *d, int reps, double *ms_out)
{
    size_t na = (size_t)d->m * d->k, nb = (size_t)d->k * d->n, nc = (size_t)d->m * d->n;
    rt_buffer *a = NULL, *b = NULL, *c = NULL;
    float *h = malloc((na > nb ? na : nb) * sizeof *h);
    int rc = -1;
    rt_cmd *cmd = NULL;
    if (!h) { rt_set_error("out of host memory"); return -1; }
    if (rt_buffer_create(ctx, na * 4, &a) || rt_buffer_create(ctx, nb * 4, &b) || rt_buffer_create(ctx, nc * 4, &c))
        goto done;
    random_fill(h, na, 1);
    if (rt_buffer_write(a, 0, h, na * 4)) goto done;
    random_fill(h, nb, 2);
    if (rt_buffer_write(b, 0, h, nb * 4)) goto done;
    rt_binding ba = {a, 0, 0, 0}, bb = {b, 0, 0, 0}, bc = {c, 0, 0, 0};
    /* warm-up: the driver compiles at the first dispatch */
    if (rt_cmd_begin(ctx, 0, &cmd) || rt_matmul(cmd, d, ba, bb, bc, bc) || rt_cmd_submit(cmd, 1)) goto done;
    rt_cmd_free(cmd);
    cmd = NULL;
    if (rt_cmd_begin(ctx, RT_CMD_TIMESTAMPS, &cmd)) goto done;
    for (int i = 0; i < reps; i++)
        if (rt_matmul(cmd, d, ba, bb, bc, bc)) goto done;
    double t0 = app_now();
    if (rt_cmd_submit(cmd, 1)) goto done;
    double wall = (app_now() - t0) * 1e3 / reps;
    double t[256];
    int nt = 0;
    for (int i = 0; i < reps && i < 256; i++) {
        double ms;
        if (rt_cmd_timing(cmd, i, &ms, NULL)) break;
        t[nt++] = ms;
    }
    *ms_out = nt == reps ? median(t, nt) : wall;
    rc = 0;
done:
    rt_cmd_free(cmd);
    rt_buffer_destroy(a);
    rt_buffer_destroy(b);
    rt_buffer_destroy(c);
    free(h);
    return rc;
}

static int first_result = 1;
static void json_sep(void)
{
    if (!first_result) printf(",");
    first_result = 0;
    printf("\n    ");
}

static int bench_matmul(rt_ctx *ctx, const opts *o)
{
    static const unsigned def[][3] = {{256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024},
                                      {256, 2, 512},   {256, 512, 512}, {256, 784, 512}};
    int ns = o->nshapes ? o->nshapes : (int)(sizeof def / sizeof def[0]);
    int v0 = o->variant < 0 ? 0 : o->variant, v1 = o->variant < 0 ? 8 : o->variant;
    if (!o->json) printf("%-22s %-8s %-7s %10s %10s\n", "matmul (M x K x N)", "layout", "variant", "ms", "GFLOP/s");
    for (int s = 0; s < ns; s++) {
        const unsigned *sh = o->nshapes ? o->shapes[s] : def[s];
        for (int v = v0; v <= v1; v++) {
            rt_matmul_desc d = {.m = sh[0], .k = sh[1], .n = sh[2], .transpose_a = o->ta, .transpose_b = o->tb,
                                .variant = v};
            double ms;
            if (time_matmul(ctx, &d, o->reps, &ms)) {
                fprintf(stderr, "%s: matmul %ux%ux%u: %s\n", PROG, sh[0], sh[1], sh[2], rt_error());
                return -1;
            }
            double gf = 2.0 * sh[0] * sh[1] * sh[2] / (ms * 1e-3) / 1e9;
            const char *lay = o->ta ? (o->tb ? "tt" : "tn") : (o->tb ? "nt" : "nn");
            if (o->json) {
                json_sep();
                printf("{\"name\": \"matmul\", \"m\": %u, \"k\": %u, \"n\": %u, \"layout\": \"%s\", \"variant\": %d, "
                       "\"ms\": %.4f, \"gflops\": %.3f}", sh[0], sh[1], sh[2], lay, v, ms, gf);
            } else {
                char name[64];
                snprintf(name, sizeof name, "%ux%ux%u", sh[0], sh[1], sh[2]);
                printf("%-22s %-8s %-7d %10.3f %10.2f\n", name, lay, v, ms, gf);
                fflush(stdout);
            }
        }
    }
    return 0;
}

static int bench_dispatch(rt_ctx *ctx, const opts *o)
{
    const int n = 1000;
    rt_buffer *buf;
    rt_cmd *c = NULL;
    if (rt_buffer_create(ctx, (size_t)n * 256, &buf)) goto fail;
    /* warm-up (pipeline JIT) */
    if (rt_cmd_begin(ctx, 0, &c) || rt_fill(c, buf, 0, 64, 1.0f) || rt_cmd_submit(c, 1)) goto fail;
    rt_cmd_free(c);
    c = NULL;
    /* disjoint ranges: no barriers between them */
    if (rt_cmd_begin(ctx, 0, &c)) goto fail;
    for (int i = 0; i < n; i++)
        if (rt_fill(c, buf, (size_t)i * 256, 64, (float)i)) goto fail;
    if (rt_cmd_end(c)) goto fail;
    double t[5];
    for (int r = 0; r < 5; r++) {
        double t0 = app_now();
        if (rt_cmd_submit(c, 1)) goto fail;
        t[r] = (app_now() - t0) * 1e6 / n;
    }
    double one_cb = median(t, 5);
    rt_cmd_free(c);
    c = NULL;
    if (rt_cmd_begin(ctx, 0, &c) || rt_fill(c, buf, 0, 64, 2.0f) || rt_cmd_end(c)) goto fail;
    const int m = 200;
    for (int r = 0; r < 5; r++) {
        double t0 = app_now();
        for (int i = 0; i < m; i++)
            if (rt_cmd_submit(c, 1)) goto fail;
        t[r] = (app_now() - t0) * 1e6 / m;
    }
    double each = median(t, 5);
    rt_cmd_free(c);
    c = NULL;
    rt_buffer_destroy(buf);
    if (o->json) {
        json_sep();
        printf("{\"name\": \"dispatch_one_command_buffer\", \"dispatches\": %d, \"us_per_dispatch\": %.2f}", n, one_cb);
        json_sep();
        printf("{\"name\": \"dispatch_submit_each\", \"dispatches\": %d, \"us_per_dispatch\": %.2f}", m, each);
    } else {
        printf("%-44s %10.2f us\n", "dispatch, 1000 in one command buffer", one_cb);
        printf("%-44s %10.2f us\n", "dispatch, one submit and wait each", each);
    }
    return 0;
fail:
    fprintf(stderr, "%s: dispatch: %s\n", PROG, rt_error());
    rt_cmd_free(c);
    return -1;
}

static int bench_train(const opts *o)
{
    megrun r = {0};
    r.cfg = o->cfg;
    r.train_timestamps = o->profile;
    int rc = -1;
    if (megrun_load_data(&r, o->data, r.cfg.seed) || megrun_open(&r, o->device)) goto done;
    double t0 = app_now();
    if (megrun_train_plan(&r)) goto done;
    double plan_s = app_now() - t0;
    g_plan_stats st;
    g_plan_stats_get(r.train, &st);
    /* warm-up: the driver compiles kernels at their first dispatch */
    t0 = app_now();
    if (g_plan_run(r.train, 2)) goto done;
    double warm_s = app_now() - t0;
    int done_its = 0, submits = 0;
    t0 = app_now();
    while (done_its < o->iters) {
        int k = o->iters - done_its < o->max_submit ? o->iters - done_its : o->max_submit;
        if (g_plan_run(r.train, k)) goto done;
        done_its += k;
        submits++;
    }
    double dt = app_now() - t0;
    double its = done_its / dt;
    const rt_device_info *dev = rt_ctx_device(r.ctx);
    if (o->json) {
        printf("{\"device\": ");
        app_json_device(stdout, dev);
        printf(", \"results\": [\n    {\"name\": \"train\", \"data\": ");
        app_json_string(stdout, o->data);
        printf(", \"width\": %d, \"hidden\": %d, \"batch\": %d, \"n_energy\": %d, \"iters\": %d, "
               "\"its_per_s\": %.4f, \"dispatches_per_iter\": %d, \"fused_dispatches_per_iter\": %d, "
               "\"submits_per_iter\": %.4f, \"arena_bytes\": %zu, \"intermediate_bytes\": %zu, "
               "\"param_bytes\": %zu, \"state_bytes\": %zu, \"flops_per_iter\": %.6g, \"gflops\": %.3f, "
               "\"plan_s\": %.3f, \"warmup_s\": %.3f}\n  ]}\n",
               r.cfg.width, r.cfg.hidden, r.cfg.batch, r.cfg.n_energy, done_its, its, st.dispatches, st.fused_groups,
               (double)submits / done_its, st.arena_bytes, st.intermediate_bytes, st.param_bytes, st.state_bytes,
               st.flops, st.flops * its / 1e9, plan_s, warm_s);
    } else {
        printf("device: %s (%s, %s)\n", dev->name, dev->type_name, dev->driver);
        printf("MEG training, %s, width %d, %d hidden, batch %d, %d energy updates\n", o->data, r.cfg.width,
               r.cfg.hidden, r.cfg.batch, r.cfg.n_energy);
        printf("  %-34s %10.3f\n", "iterations per second", its);
        printf("  %-34s %10d (%d fused)\n", "dispatches per iteration", st.dispatches, st.fused_groups);
        printf("  %-34s %10.4f\n", "submits per iteration", (double)submits / done_its);
        printf("  %-34s %10.2f MFLOP (%.2f GFLOP/s achieved)\n", "FLOPs per iteration (matmul, conv)",
               st.flops / 1e6, st.flops * its / 1e9);
        printf("  %-34s %10.2f MiB (intermediates %.2f MiB)\n", "arena", st.arena_bytes / 1048576.0,
               st.intermediate_bytes / 1048576.0);
        printf("  %-34s %10.2f MiB (+ %.2f MiB optimizer and generator state)\n", "parameters",
               st.param_bytes / 1048576.0, st.state_bytes / 1048576.0);
        printf("  %-34s %10.2f s (+ %.2f s first dispatches)\n", "planning", plan_s, warm_s);
    }
    if (o->profile) {
        static char prof[1 << 16];
        if (g_plan_run(r.train, 1) || g_plan_profile(r.train, prof, sizeof prof)) goto done;
        fprintf(o->json ? stderr : stdout, "time per kernel of one iteration:\n%s", prof);
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, "%s: train: %s\n", PROG, rt_error());
    if (!rc && r.ctx && rt_validation_count(r.ctx)) {
        fprintf(stderr, "%s: %d Vulkan validation message(s)\n", PROG, rt_validation_count(r.ctx));
        rc = -1;
    }
    megrun_close(&r);
    return rc ? 1 : 0;
}

static int bench_mlp(const opts *o)
{
    rt_ctx *ctx = app_open_device(PROG, o->device);
    if (!ctx) return 1;
    g_graph *g = g_graph_new();
    enum { B = 256, W = 512, L = 4 };
    g_tensor *x = g_input(g, "x", 2, (int[]){B, W}), *h = x, *params[2 * L];
    for (int l = 0; l < L; l++) {
        char wn[16], bn[16];
        snprintf(wn, sizeof wn, "w%d", l);
        snprintf(bn, sizeof bn, "b%d", l);
        params[2 * l] = g_param(g, wn, 2, (int[]){W, W}, g_init_torch(W));
        params[2 * l + 1] = g_param(g, bn, 1, (int[]){W}, g_init_torch(W));
        h = g_add(g_matmul(h, params[2 * l], 0, 0), params[2 * l + 1]);
        if (l < L - 1) h = g_leaky_relu(h, 0.2f);
    }
    g_tensor *loss = g_mean_all(g_square(h)), *grads[2 * L];
    int rc = 1;
    g_session *s = NULL;
    float *xv = malloc((size_t)B * W * sizeof *xv);
    if (!xv || g_grad(g, loss, params, 2 * L, grads) || g_session_new(ctx, g, 1, &s)) goto done;
    random_fill(xv, (size_t)B * W, 3);
    if (g_session_write(s, x, xv)) goto done;
    g_tensor *roots[2 * L + 1];
    roots[0] = loss;
    memcpy(roots + 1, grads, sizeof grads);
    if (o->json) {
        printf("{\"device\": ");
        app_json_device(stdout, rt_ctx_device(ctx));
        printf(", \"results\": [");
    } else {
        printf("4-layer MLP, width %d, batch %d: forward and backward (gradients of all 8 parameters)\n", W, B);
        printf("  %-9s %10s %8s %12s %16s %10s\n", "fusion", "dispatches", "fused", "arena MiB", "intermediates MiB", "ms/run");
    }
    for (int nf = 0; nf < 2; nf++) {
        g_plan_opts po = {.no_fusion = nf};
        g_plan *p;
        if (g_plan_new(s, roots, 2 * L + 1, &po, &p)) goto done;
        g_plan_stats st;
        g_plan_stats_get(p, &st);
        if (g_plan_run(p, 2)) { g_plan_free(p); goto done; }
        double t0 = app_now();
        if (g_plan_run(p, o->reps)) { g_plan_free(p); goto done; }
        double ms = (app_now() - t0) * 1e3 / o->reps;
        g_plan_free(p);
        if (o->json)
            printf("%s\n    {\"name\": \"mlp\", \"fusion\": %s, \"dispatches\": %d, \"fused_groups\": %d, "
                   "\"arena_bytes\": %zu, \"intermediate_bytes\": %zu, \"ms_per_run\": %.3f}",
                   nf ? "," : "", nf ? "false" : "true", st.dispatches, st.fused_groups, st.arena_bytes,
                   st.intermediate_bytes, ms);
        else
            printf("  %-9s %10d %8d %12.2f %16.2f %10.2f\n", nf ? "off" : "on", st.dispatches, st.fused_groups,
                   st.arena_bytes / 1048576.0, st.intermediate_bytes / 1048576.0, ms);
    }
    if (o->json) printf("\n  ]}\n");
    rc = 0;
done:
    if (rc) fprintf(stderr, "%s: mlp: %s\n", PROG, g_graph_error(g) ? g_graph_error(g) : rt_error());
    free(xv);
    g_session_free(s);
    g_graph_free(g);
    rt_ctx_destroy(ctx);
    return rc;
}

typedef struct mala_cb { const meg_model *m; } mala_cb;
static g_tensor *latent_energy(g_graph *g, g_tensor *z, void *user)
{
    (void)g;
    const mala_cb *cb = user;
    return meg_mlp_apply(&cb->m->E, meg_mlp_apply(&cb->m->G, z));
}

static int bench_mala(const opts *o)
{
    megrun r = {0};
    r.cfg = o->cfg;
    r.n = 1;
    meg_mala mala = {0};
    int have = 0, rc = -1;
    float *z = NULL;
    if (megrun_open(&r, o->device)) goto done;
    mala_cb cb = {&r.m};
    meg_mala_opts mo = {.prefix = "bench", .chains = o->chains, .dim = r.cfg.zdim, .step_size = 0.05f, .prior = 1,
                        .seed = 3};
    if (meg_mala_build(r.m.g, &mo, latent_energy, &cb, &mala)) goto done;
    have = 1;
    double t0 = app_now();
    if (meg_mala_prepare(r.s, &mala)) goto done;
    double plan_s = app_now() - t0;
    z = malloc((size_t)o->chains * r.cfg.zdim * sizeof *z);
    if (!z) { rt_set_error("out of host memory"); goto done; }
    meg_latents(z, (size_t)o->chains, r.cfg.zdim, 5);
    if (meg_mala_set_state(r.s, &mala, z) || meg_mala_run(r.s, &mala, 5, 0, 0) || meg_mala_reset_stats(r.s, &mala))
        goto done;
    t0 = app_now();
    if (meg_mala_run(r.s, &mala, o->steps, o->max_submit, 0)) goto done;
    double dt = app_now() - t0, sps = o->steps / dt, acc = 0;
    if (meg_mala_acceptance(r.s, &mala, &acc, NULL)) goto done;
    g_plan_stats st;
    g_plan_stats_get(mala.p_step, &st);
    const rt_device_info *dev = rt_ctx_device(r.ctx);
    if (o->json) {
        printf("{\"device\": ");
        app_json_device(stdout, dev);
        printf(", \"results\": [\n    {\"name\": \"mala\", \"space\": \"latent\", \"width\": %d, \"chains\": %d, "
               "\"steps\": %d, \"steps_per_s\": %.4f, \"chain_steps_per_s\": %.1f, \"acceptance\": %.4f, "
               "\"dispatches_per_step\": %d, \"flops_per_step\": %.6g, \"gflops\": %.3f, \"plan_s\": %.3f}\n  ]}\n",
               r.cfg.width, o->chains, o->steps, sps, sps * o->chains, acc, st.dispatches, st.flops,
               st.flops * sps / 1e9, plan_s);
    } else {
        printf("device: %s (%s, %s)\n", dev->name, dev->type_name, dev->driver);
        printf("latent MALA on E(G(z)) + ||z||^2/2, width %d, %d chains\n", r.cfg.width, o->chains);
        printf("  %-34s %10.2f (%.0f chain-steps/s)\n", "steps per second", sps, sps * o->chains);
        printf("  %-34s %10.4f\n", "acceptance (step size 0.05)", acc);
        printf("  %-34s %10d\n", "dispatches per step", st.dispatches);
        printf("  %-34s %10.2f MFLOP (%.2f GFLOP/s achieved)\n", "FLOPs per step", st.flops / 1e6,
               st.flops * sps / 1e9);
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, "%s: mala: %s\n", PROG, rt_error());
    if (have) meg_mala_release(&mala);
    free(z);
    megrun_close(&r);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    opts o = {.reps = 10, .data = "25gaussians", .iters = 20, .max_submit = 25, .chains = 256, .steps = 100};
    meg_config_default(&o.cfg);
    const char *cmd = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--json")) o.json = 1;
        else if (!strcmp(a, "--list-devices")) cmd = "list-devices";
        else if (!strcmp(a, "--device") && i + 1 < argc) o.device = argv[++i];
        else if (!strcmp(a, "--data") && i + 1 < argc) o.data = argv[++i];
        else if (!strcmp(a, "--profile")) o.profile = 1;
        else if (!strcmp(a, "--width") || !strcmp(a, "--batch") || !strcmp(a, "--n-energy") || !strcmp(a, "--hidden") ||
                 !strcmp(a, "--zdim") || !strcmp(a, "--iters") || !strcmp(a, "--max-submit") ||
                 !strcmp(a, "--chains") || !strcmp(a, "--steps")) {
            if (app_parse_int(PROG, a, i + 1 < argc ? argv[i + 1] : NULL, 1, 1 << 20, &v)) return 2;
            i++;
            if (!strcmp(a, "--width")) o.cfg.width = (int)v;
            else if (!strcmp(a, "--batch")) o.cfg.batch = (int)v;
            else if (!strcmp(a, "--n-energy")) o.cfg.n_energy = (int)v;
            else if (!strcmp(a, "--hidden")) o.cfg.hidden = (int)v;
            else if (!strcmp(a, "--zdim")) o.cfg.zdim = (int)v;
            else if (!strcmp(a, "--iters")) o.iters = (int)v;
            else if (!strcmp(a, "--chains")) o.chains = (int)v;
            else if (!strcmp(a, "--steps")) o.steps = (int)v;
            else o.max_submit = (int)v;
        }
        else if (!strcmp(a, "--reps") && i + 1 < argc) {
            if (app_parse_int(PROG, a, argv[++i], 1, 256, &v)) return 2;
            o.reps = (int)v;
        } else if (!strcmp(a, "--variant") && i + 1 < argc) {
            i++;
            if (!strcmp(argv[i], "all")) o.variant = -1;
            else {
                if (app_parse_int(PROG, a, argv[i], 0, 8, &v)) return 2;
                o.variant = (int)v;
            }
        } else if (!strcmp(a, "--transpose") && i + 1 < argc) {
            const char *t = argv[++i];
            if (strlen(t) != 2 || (t[0] != 'n' && t[0] != 't') || (t[1] != 'n' && t[1] != 't')) {
                fprintf(stderr, "%s: --transpose expects nn, tn, nt or tt\n", PROG);
                return 2;
            }
            o.ta = t[0] == 't';
            o.tb = t[1] == 't';
        } else if (!strcmp(a, "--shape") && i + 1 < argc) {
            unsigned m, k, n;
            char extra;
            if (o.nshapes >= 16 || sscanf(argv[++i], "%ux%ux%u%c", &m, &k, &n, &extra) != 3 || !m || !k || !n) {
                fprintf(stderr, "%s: --shape expects MxKxN with positive integers, got \"%s\"\n", PROG, argv[i]);
                return 2;
            }
            o.shapes[o.nshapes][0] = m;
            o.shapes[o.nshapes][1] = k;
            o.shapes[o.nshapes][2] = n;
            o.nshapes++;
        } else if (a[0] != '-' && !cmd) cmd = a;
        else {
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", PROG, a);
            return 2;
        }
    }
    if (cmd && !strcmp(cmd, "list-devices")) return list_devices(&o);
    if (cmd && !strcmp(cmd, "train")) return bench_train(&o);
    if (cmd && !strcmp(cmd, "mala")) return bench_mala(&o);
    if (cmd && !strcmp(cmd, "mlp")) return bench_mlp(&o);
    int do_mm = !cmd || !strcmp(cmd, "matmul"), do_disp = !cmd || !strcmp(cmd, "dispatch");
    if (!do_mm && !do_disp) {
        fprintf(stderr, "%s: unknown command \"%s\" (see --help)\n", PROG, cmd);
        return 2;
    }
    rt_ctx *ctx = app_open_device(PROG, o.device);
    if (!ctx) return 1;
    const rt_device_info *dev = rt_ctx_device(ctx);
    if (o.json) {
        printf("{\"device\": ");
        app_json_device(stdout, dev);
        printf(", \"results\": [");
    } else {
        printf("device: %s (%s, %s)\n", dev->name, dev->type_name, dev->driver);
    }
    int rc = 0;
    if (do_mm && bench_matmul(ctx, &o)) rc = 1;
    if (!rc && do_disp && bench_dispatch(ctx, &o)) rc = 1;
    if (o.json) printf("\n  ]}\n");
    if (rt_validation_count(ctx)) {
        fprintf(stderr, "%s: %d Vulkan validation message(s)\n", PROG, rt_validation_count(ctx));
        rc = 1;
    }
    rt_ctx_destroy(ctx);
    return rc;
}
