/* meg-bench: benchmarks of the device and of our kernels. */
#include "common.h"
#include "megrun.h"
#include "samplers.h"

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
            "  peak            the device's own limits, measured with dedicated shaders: fp32 FMA\n"
            "                  GFLOP/s of several shapes of peak_fma.comp (scalar or vec4 fma,\n"
            "                  chains, unroll; the best is the peak) and bandwidth GB/s (bytes\n"
            "                  read + written) of peak_copy.comp copying and reading and of\n"
            "                  vkCmdCopyBuffer (the best is the peak); best dispatch of 3 rounds\n"
            "  kernels         the peaks, then ms per call, GFLOP/s or GB/s and %% of peak (FMA\n"
            "                  peak for matmul and convolutions, bandwidth peak for the rest; for\n"
            "                  those FLOP kernels also the arithmetic intensity and the roofline) of:\n"
            "                  matmul at the `matmul` shapes; conv2d, conv_transpose2d and\n"
            "                  conv2d_wgrad at the MNIST networks' shapes (batch 64, 5x5 kernels,\n"
            "                  stride 2, padding 2); a fused add+leaky_relu+mul over 256x512 and\n"
            "                  4096x4096; sums of the rows and columns of 256x512 and of all of\n"
            "                  4096x4096 (small graphs, timed with g_plan_run)\n"
            "  list-devices    the Vulkan devices: index, name, type, driver, memory\n"
            "\n"
            "options:\n"
            "  --device D      device index or name substring (default: $MEG_DEVICE, else the\n"
            "                  first discrete GPU, then integrated, virtual, CPU)\n"
            "  --list-devices  same as the list-devices command\n"
            "  --json          print one JSON object instead of a table\n"
            "  --shape MxKxN   matmul: only this shape (repeatable)\n"
            "  --variant V     matmul: register-block variant (0 automatic, or $MEG_MATMUL_VARIANT when set;\n"
            "                  'all' compares all; 20 is the shared-memory tiled kernel for GPUs)\n"
            "  --transpose T   matmul: nn (default), tn, nt or tt (which operand is stored transposed)\n"
            "  --reps N        timed repetitions per measurement (default 10); peak: dispatches\n"
            "                  per round (at least 3); kernels: matmul dispatches per median (best\n"
            "                  of up to 3), graph runs per submit (at least N, more to fill 0.25 s;\n"
            "                  best of 3 submits, or of 2 runs when one takes over 0.25 s)\n"
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
    int v0 = o->variant < 0 ? 0 : o->variant, v1 = o->variant < 0 ? rt_matmul_variants() - 1 : o->variant;
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
        fprintf(o->json ? stderr : stdout,
                "time per kernel of one iteration:\n%s"
                "(timed with a timestamp around every dispatch, which costs time of its own: the same\n"
                "iteration without them took %.1f ms above)\n",
                prof, its > 0 ? 1e3 / its : 0.0);
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

/* ---- peak and kernels ----------------------------------------------------
 * The device's own limits (fp32 FMA throughput, streaming bandwidth),
 * measured with dedicated shaders, and the project's kernels as a share of
 * them. */

typedef struct peak_info {
    double fma_gflops;          /* the best FMA shape */
    char fma_shape[48];
    double copy_gbps;           /* peak_copy.comp, copy mode */
    double read_gbps;           /* peak_copy.comp, read mode */
    double copy_buffer_gbps;    /* vkCmdCopyBuffer */
    double bw_gbps;             /* the bandwidth peak: the best of the three */
    const char *bw_source;
} peak_info;

/* FMA shapes tried: scalar or vec4 fma, independent chains per invocation,
 * rounds of all chains per loop trip (llvmpipe pays much per loop trip). */
typedef struct fma_shape { int vec4, chains, unroll; } fma_shape;
static const fma_shape FMA_SHAPES[] = {{0, 8, 4}, {0, 16, 4}, {0, 8, 8}, {1, 4, 4},
                                       {1, 8, 4}, {1, 8, 8}, {1, 8, 1}};
enum { FMA_PER_INVOCATION = 1 << 15 };
static const double PEAK_TARGET_MS = 20.0;   /* per dispatch: the fixed dispatch cost stays under 1% */
enum { PEAK_ROUNDS = 3 };                     /* rounds over all shapes; the best dispatch counts */

/* Workgroup counts for n groups (x at most 65535, as the kernels expect). */
static void groups_for(size_t n, uint32_t g[3])
{
    if (n == 0) n = 1;
    g[0] = n > 65535 ? 65535 : (uint32_t)n;
    g[1] = (uint32_t)((n + g[0] - 1) / g[0]);
    g[2] = 1;
}

/* Best and median milliseconds of one dispatch among `reps` recorded in one
 * command buffer: timestamps where the device has them, else the submit's
 * wall time over reps (for both). The caller warms the pipeline first. */
static int time_dispatches(rt_ctx *ctx, rt_kernel *k, const rt_binding *b, int nb, const void *push,
                           uint32_t push_size, const uint32_t g[3], int reps, double *best, double *med)
{
    rt_cmd *c = NULL;
    double t[256] = {0};
    int nt = 0;
    if (reps > 256) reps = 256;
    if (rt_cmd_begin(ctx, RT_CMD_TIMESTAMPS, &c)) return -1;
    for (int i = 0; i < reps; i++)
        if (rt_cmd_dispatch(c, k, b, nb, push, push_size, g[0], g[1], g[2], NULL)) goto fail;
    double t0 = app_now();
    if (rt_cmd_submit(c, 1)) goto fail;
    double wall = (app_now() - t0) * 1e3 / reps;
    for (int i = 0; i < reps; i++) {
        double ms;
        if (rt_cmd_timing(c, i, &ms, NULL)) break;
        t[nt++] = ms;
    }
    rt_cmd_free(c);
    if (nt == reps) {
        *best = t[0];
        for (int i = 1; i < nt; i++)
            if (t[i] < *best) *best = t[i];
        *med = median(t, nt);
    } else {
        *best = *med = wall;
    }
    return 0;
fail:
    rt_cmd_free(c);
    return -1;
}

/* A calibrated FMA dispatch of one shape, and its best time so far. */
typedef struct fma_run {
    rt_kernel *k;
    rt_buffer *out;
    uint32_t g[3];
    size_t invocations;
    double flops, ms;
} fma_run;
static const struct { float m, c; } FMA_PUSH = {0.9999f, 1e-4f};   /* fixed point 1: no overflow, no denormals */

/* Warms the shape's pipeline (the JIT) and sizes its dispatch to take about
 * PEAK_TARGET_MS. */
static int fma_prepare(rt_ctx *ctx, const fma_shape *sh, fma_run *r)
{
    uint32_t per_trip = (uint32_t)(sh->chains * sh->unroll * (sh->vec4 ? 4 : 1));
    uint32_t spec[4] = {FMA_PER_INVOCATION / per_trip, (uint32_t)sh->chains, (uint32_t)sh->vec4, (uint32_t)sh->unroll};
    if (rt_kernel_get(ctx, "peak_fma", spec, 4, &r->k)) return -1;
    size_t max_groups = rt_ctx_limits(ctx)->maxStorageBufferRange / (64 * 4);
    if (max_groups > (1u << 18)) max_groups = 1u << 18;
    size_t ng = 64;
    for (int pass = 0; pass < 2; pass++) {
        groups_for(ng, r->g);
        r->invocations = (size_t)r->g[0] * r->g[1] * 64;
        rt_buffer_destroy(r->out);
        r->out = NULL;
        if (rt_buffer_create(ctx, r->invocations * 4, &r->out)) return -1;
        if (pass) break;
        rt_binding b = {r->out, 0, 0, 0};
        double best, med;
        if (time_dispatches(ctx, r->k, &b, 1, &FMA_PUSH, sizeof FMA_PUSH, r->g, 1, &best, &med) ||
            time_dispatches(ctx, r->k, &b, 1, &FMA_PUSH, sizeof FMA_PUSH, r->g, 2, &best, &med))
            return -1;
        double want = (double)ng * PEAK_TARGET_MS / (best > 1e-3 ? best : 1e-3);
        ng = want < 64 ? 64 : want > (double)max_groups ? max_groups : (size_t)want;
    }
    r->flops = 2.0 * spec[0] * per_trip * (double)r->invocations;
    r->ms = 1e30;
    return 0;
}

/* One command buffer of reps dispatches; keeps the best time. */
static int fma_round(rt_ctx *ctx, fma_run *r, int reps)
{
    rt_binding b = {r->out, 0, 0, 0};
    double best, med;
    if (time_dispatches(ctx, r->k, &b, 1, &FMA_PUSH, sizeof FMA_PUSH, r->g, reps, &best, &med)) return -1;
    if (best < r->ms) r->ms = best;
    return 0;
}

/* Streaming over n bytes (64 MiB, or the device's binding limit):
 * ms[0] peak_copy.comp copying and ms[1] reading (best dispatch,
 * timestamps), ms[2] vkCmdCopyBuffer (wall clock around one submit of reps
 * copies); PEAK_ROUNDS rounds of the three, the best of each counts.
 * *read_written: the bytes the read mode writes. */
static int peak_copy(rt_ctx *ctx, int reps, size_t *bytes, size_t *read_written, double ms[3])
{
    const VkPhysicalDeviceLimits *lim = rt_ctx_limits(ctx);
    size_t n = (size_t)64 << 20;
    if (n > lim->maxStorageBufferRange) n = lim->maxStorageBufferRange;
    if (n > (size_t)lim->maxTexelBufferElements * 16) n = (size_t)lim->maxTexelBufferElements * 16;
    n &= ~(((size_t)1 << 20) - 1);   /* read mode: whole loop trips in every workgroup */
    if (n == 0) {
        rt_set_error("the device's buffer bindings are under 1 MiB");
        return -1;
    }
    rt_buffer *src = NULL, *dst = NULL;
    rt_cmd *c = NULL;
    rt_kernel *k[2];
    uint32_t count = (uint32_t)(n / 16), g[2][3];
    rt_binding b[2][2];
    int cpu = rt_ctx_device(ctx)->type == RT_DEVICE_CPU;
    int rc = -1;
    if (rt_buffer_create(ctx, n, &src) || rt_buffer_create(ctx, n, &dst)) goto done;
    if (rt_cmd_begin(ctx, 0, &c) || rt_fill(c, src, 0, n / 4, 1.5f) || rt_cmd_submit(c, 1)) goto done;
    rt_cmd_free(c);
    c = NULL;
    for (int m = 0; m < 2; m++) {
        uint32_t spec = (uint32_t)m;
        /* read mode: a few large chunks per core on a CPU (each workgroup runs
         * on one thread), 1024 vec4s per workgroup elsewhere */
        size_t ngroups = m == 0 ? (count + 63) / 64 : cpu ? 64 : count / 1024;
        double best, med;
        if (rt_kernel_get(ctx, "peak_copy", &spec, 1, &k[m])) goto done;
        groups_for(ngroups, g[m]);
        b[m][0] = (rt_binding){src, 0, n, 1};
        b[m][1] = (rt_binding){dst, 0, m == 0 ? n : ngroups * 64 * 16, 0};
        /* warm-up: the JIT */
        if (time_dispatches(ctx, k[m], b[m], 2, &count, sizeof count, g[m], 1, &best, &med)) goto done;
    }
    if (rt_cmd_begin(ctx, 0, &c)) goto done;
    for (int i = 0; i < reps; i++)
        if (rt_cmd_copy(c, src, 0, dst, 0, n)) goto done;
    if (rt_cmd_end(c) || rt_cmd_submit(c, 1)) goto done;   /* warm-up */
    ms[0] = ms[1] = ms[2] = 1e30;
    for (int r = 0; r < PEAK_ROUNDS; r++) {
        for (int m = 0; m < 2; m++) {
            double best, med;
            if (time_dispatches(ctx, k[m], b[m], 2, &count, sizeof count, g[m], reps, &best, &med)) goto done;
            if (best < ms[m]) ms[m] = best;
        }
        double t0 = app_now();
        if (rt_cmd_submit(c, 1)) goto done;
        double t = (app_now() - t0) * 1e3 / reps;
        if (t < ms[2]) ms[2] = t;
    }
    *bytes = n;
    *read_written = b[1][1].size;
    rc = 0;
done:
    rt_cmd_free(c);
    rt_buffer_destroy(src);
    rt_buffer_destroy(dst);
    return rc;
}

/* Measures the peaks into *pk; with `report`, prints every shape tried (a
 * table, or JSON result entries). */
static int measure_peak(rt_ctx *ctx, const opts *o, int report, peak_info *pk)
{
    memset(pk, 0, sizeof *pk);
    pk->bw_source = "none";
    int reps = o->reps < 3 ? 3 : o->reps;
    if (report && !o->json)
        printf("fp32 FMA (peak_fma.comp: %d fma per invocation, 2 FLOPs each; best of %d x %d dispatches)\n"
               "  %-34s %12s %10s %10s %10s\n",
               FMA_PER_INVOCATION, PEAK_ROUNDS, reps, "shape", "invocations", "GFLOP", "ms", "GFLOP/s");
    enum { NSHAPES = sizeof FMA_SHAPES / sizeof FMA_SHAPES[0] };
    fma_run runs[NSHAPES];
    char shape[NSHAPES][48];
    int rc = -1;
    memset(runs, 0, sizeof runs);
    for (int i = 0; i < NSHAPES; i++) {
        const fma_shape *sh = &FMA_SHAPES[i];
        snprintf(shape[i], sizeof shape[i], "%s fma, %d chains, unroll %d", sh->vec4 ? "vec4" : "scalar",
                 sh->chains, sh->unroll);
        if (fma_prepare(ctx, sh, &runs[i])) {
            rt_error_prefix("peak_fma (%s)", shape[i]);
            goto done;
        }
    }
    /* rounds over all shapes, so that other load on the machine, which comes
     * and goes, does not favour one shape */
    for (int r = 0; r < PEAK_ROUNDS; r++)
        for (int i = 0; i < NSHAPES; i++)
            if (fma_round(ctx, &runs[i], reps)) {
                rt_error_prefix("peak_fma (%s)", shape[i]);
                goto done;
            }
    for (int i = 0; i < NSHAPES; i++) {
        const fma_shape *sh = &FMA_SHAPES[i];
        double gf = runs[i].flops / (runs[i].ms * 1e-3) / 1e9;
        if (gf > pk->fma_gflops) {
            pk->fma_gflops = gf;
            memcpy(pk->fma_shape, shape[i], sizeof pk->fma_shape);
        }
        if (!report) continue;
        if (o->json) {
            json_sep();
            printf("{\"name\": \"peak_fma\", \"fma\": \"%s\", \"chains\": %d, \"unroll\": %d, "
                   "\"fma_per_invocation\": %d, \"invocations\": %zu, \"flops\": %.0f, \"ms\": %.4f, \"gflops\": %.3f}",
                   sh->vec4 ? "vec4" : "scalar", sh->chains, sh->unroll, FMA_PER_INVOCATION, runs[i].invocations,
                   runs[i].flops, runs[i].ms, gf);
        } else {
            printf("  %-34s %12zu %10.3f %10.3f %10.2f\n", shape[i], runs[i].invocations, runs[i].flops / 1e9,
                   runs[i].ms, gf);
        }
    }
    if (report && !o->json) fflush(stdout);
    size_t n = 0, read_written = 0;
    double ms[3] = {0, 0, 0};
    if (peak_copy(ctx, reps, &n, &read_written, ms)) {
        rt_error_prefix("peak_copy");
        goto done;
    }
    /* bytes read and written by each */
    double rd[3] = {(double)n, (double)n, (double)n}, wr[3] = {(double)n, (double)read_written, (double)n};
    double *gbps[3] = {&pk->copy_gbps, &pk->read_gbps, &pk->copy_buffer_gbps};
    static const char *what[3] = {"peak_copy.comp copy (RGBA32F texel read, vec4 storage write)",
                                  "peak_copy.comp read (RGBA32F texel reads, 1/16 as many written)",
                                  "vkCmdCopyBuffer"};
    static const char *key[3] = {"peak_copy", "peak_read", "copy_buffer"};
    if (report && !o->json)
        printf("bandwidth (%zu MiB read per dispatch or copy; GB/s counts bytes read + written; best of %d x %d)\n",
               n >> 20, PEAK_ROUNDS, reps);
    for (int i = 0; i < 3; i++) {
        *gbps[i] = (rd[i] + wr[i]) / (ms[i] * 1e-3) / 1e9;
        if (*gbps[i] > pk->bw_gbps) {
            pk->bw_gbps = *gbps[i];
            pk->bw_source = key[i];
        }
        if (report && o->json) {
            json_sep();
            printf("{\"name\": \"%s\", \"bytes_read\": %.0f, \"bytes_written\": %.0f, \"ms\": %.4f, \"gbps\": %.3f}",
                   key[i], rd[i], wr[i], ms[i], *gbps[i]);
        } else if (report) {
            printf("  %-62s %9.3f ms %8.2f GB/s\n", what[i], ms[i], *gbps[i]);
        }
    }
    rc = 0;
done:
    for (int i = 0; i < NSHAPES; i++) rt_buffer_destroy(runs[i].out);
    return rc;
}

static void print_peak_summary(const opts *o, const peak_info *pk)
{
    if (o->json)
        printf("\"peak\": {\"fma_gflops\": %.3f, \"fma_shape\": \"%s\", \"bandwidth_gbps\": %.3f, "
               "\"bandwidth_source\": \"%s\", \"copy_gbps\": %.3f, \"read_gbps\": %.3f, \"copy_buffer_gbps\": %.3f}",
               pk->fma_gflops, pk->fma_shape, pk->bw_gbps, pk->bw_source, pk->copy_gbps, pk->read_gbps,
               pk->copy_buffer_gbps);
    else
        printf("peak: %.2f GFLOP/s fp32 FMA (%s); %.2f GB/s bandwidth (%s; shader copy %.2f, shader read %.2f, "
               "vkCmdCopyBuffer %.2f)\n",
               pk->fma_gflops, pk->fma_shape, pk->bw_gbps, pk->bw_source, pk->copy_gbps, pk->read_gbps,
               pk->copy_buffer_gbps);
}

/* Opens the device and prints the header common to peak and kernels. */
static rt_ctx *open_and_header(const opts *o)
{
    rt_ctx *ctx = app_open_device(PROG, o->device);
    if (!ctx) return NULL;
    const rt_device_info *dev = rt_ctx_device(ctx);
    first_result = 1;
    if (o->json) {
        printf("{\"device\": ");
        app_json_device(stdout, dev);
        printf(", \"results\": [");
    } else {
        printf("device: %s (%s, %s)\n", dev->name, dev->type_name, dev->driver);
    }
    return ctx;
}

/* Closes what open_and_header opened; counts validation messages as a failure. */
static int close_and_check(rt_ctx *ctx, int rc)
{
    if (rt_validation_count(ctx)) {
        fprintf(stderr, "%s: %d Vulkan validation message(s)\n", PROG, rt_validation_count(ctx));
        rc = 1;
    }
    rt_ctx_destroy(ctx);
    return rc;
}

static int bench_peak(const opts *o)
{
    rt_ctx *ctx = open_and_header(o);
    if (!ctx) return 1;
    peak_info pk;
    int rc = 0;
    if (measure_peak(ctx, o, 1, &pk)) {
        fprintf(stderr, "%s: peak: %s\n", PROG, rt_error());
        rc = 1;
    }
    if (o->json) {
        printf("\n  ]");
        if (!rc) {
            printf(", ");
            print_peak_summary(o, &pk);
        }
        printf("}\n");
    } else if (!rc) {
        print_peak_summary(o, &pk);
    }
    return close_and_check(ctx, rc);
}

/* One row of `kernels`: JSON (shape fields preformatted in `fields`) or a
 * table line. rate is GFLOP/s when flops, else GB/s. For FLOP kernels,
 * `bytes` (inputs read once, the output written once) places the kernel on
 * the roofline: its arithmetic intensity, and the bound min(FMA peak,
 * intensity x bandwidth peak). */
static void kernel_row(const opts *o, const char *name, const char *fields, const char *shape, const char *role,
                       double ms, int flops, double rate, const peak_info *pk, double bytes, int dispatches)
{
    double peak = flops ? pk->fma_gflops : pk->bw_gbps;
    double share = peak > 0 ? rate / peak : 0;
    double ai = 0, roof = 0;
    if (flops && bytes > 0) {
        ai = rate * 1e9 * (ms * 1e-3) / bytes;
        roof = ai * pk->bw_gbps < pk->fma_gflops ? ai * pk->bw_gbps : pk->fma_gflops;
    }
    if (o->json) {
        json_sep();
        printf("{\"name\": \"%s\", %s, \"ms\": %.4f, \"%s\": %.3f, \"share_of_peak\": %.4f", name, fields, ms,
               flops ? "gflops" : "gbps", rate, share);
        if (flops && bytes > 0)
            printf(", \"bytes\": %.0f, \"flop_per_byte\": %.3f, \"roofline_gflops\": %.3f, "
                   "\"share_of_roofline\": %.4f, \"bound\": \"%s\"",
                   bytes, ai, roof, roof > 0 ? rate / roof : 0, roof < pk->fma_gflops ? "memory" : "compute");
        if (dispatches >= 0) printf(", \"dispatches\": %d", dispatches);
        printf("}");
    } else {
        char ais[16] = "";
        if (flops && bytes > 0) snprintf(ais, sizeof ais, "%.1f", ai);
        printf("%-17s %-42s %9.3f %9.2f %-7s %6.1f%% %7s  %s\n", name, shape, ms, rate, flops ? "GFLOP/s" : "GB/s",
               100 * share, ais, role ? role : "");
        fflush(stdout);
    }
}

static int kernels_matmul(rt_ctx *ctx, const opts *o, const peak_info *pk)
{
    static const unsigned sh[][3] = {{256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024},
                                     {256, 2, 512},   {256, 512, 512}, {256, 784, 512}};
    for (size_t s = 0; s < sizeof sh / sizeof sh[0]; s++) {
        rt_matmul_desc d = {.m = sh[s][0], .k = sh[s][1], .n = sh[s][2]};
        double best = 1e30;
        /* best of up to 3 medians (other load on the machine comes and goes),
         * fewer when one median already took over a second */
        for (int r = 0; r < 3 && (r == 0 || best * o->reps < 1e3); r++) {
            double ms;
            if (time_matmul(ctx, &d, o->reps, &ms)) {
                rt_error_prefix("matmul %ux%ux%u", sh[s][0], sh[s][1], sh[s][2]);
                return -1;
            }
            if (ms < best) best = ms;
        }
        double gf = 2.0 * sh[s][0] * sh[s][1] * sh[s][2] / (best * 1e-3) / 1e9;
        char fields[96], shape[64];
        snprintf(fields, sizeof fields, "\"m\": %u, \"k\": %u, \"n\": %u, \"flops\": %.0f", sh[s][0], sh[s][1],
                 sh[s][2], 2.0 * sh[s][0] * sh[s][1] * sh[s][2]);
        snprintf(shape, sizeof shape, "%ux%ux%u (M x K x N)", sh[s][0], sh[s][1], sh[s][2]);
        double bytes = 4.0 * ((double)sh[s][0] * sh[s][1] + (double)sh[s][1] * sh[s][2] + (double)sh[s][0] * sh[s][2]);
        kernel_row(o, "matmul", fields, shape, NULL, best, 1, gf, pk, bytes, 1);
    }
    return 0;
}

/* The graph-built cases of `kernels`. */
typedef enum gk_kind { GK_CONV, GK_CONVT, GK_WGRAD, GK_EW, GK_SUM, GK_SUM_ALL } gk_kind;
typedef struct gk_case {
    gk_kind kind;
    const char *role;        /* where the shape comes from */
    int a[4], b[4];          /* input shapes (b: conv weight or output gradient; unused otherwise) */
    int nd;                  /* dimensions of a (and b) */
    int out_pad;             /* conv_transpose2d */
    int axis;                /* GK_SUM */
} gk_case;

/* The seed's MNIST networks: 5x5 kernels, stride 2, padding 2, batch 64. */
static const gk_case GK_CASES[] = {
    {GK_CONV, "energy conv1", {64, 1, 28, 28}, {64, 1, 5, 5}, 4, 0, 0},
    {GK_CONV, "energy conv2", {64, 64, 14, 14}, {128, 64, 5, 5}, 4, 0, 0},
    {GK_CONVT, "generator deconv1; energy conv2 dx", {64, 128, 7, 7}, {128, 64, 5, 5}, 4, 1, 0},
    {GK_CONVT, "generator deconv2; energy conv1 dx", {64, 64, 14, 14}, {64, 1, 5, 5}, 4, 1, 0},
    {GK_WGRAD, "energy conv1 dw; generator deconv2 dw", {64, 1, 28, 28}, {64, 64, 14, 14}, 4, 0, 0},
    {GK_WGRAD, "energy conv2 dw; generator deconv1 dw", {64, 64, 14, 14}, {64, 128, 7, 7}, 4, 0, 0},
    {GK_EW, "add+leaky_relu+mul, fused", {256, 512}, {0}, 2, 0, 0},
    {GK_EW, "add+leaky_relu+mul, fused", {4096, 4096}, {0}, 2, 0, 0},
    {GK_SUM, "sum of each row", {256, 512}, {0}, 2, 0, 1},
    {GK_SUM, "sum of each column", {256, 512}, {0}, 2, 0, 0},
    {GK_SUM_ALL, "sum of all", {4096, 4096}, {0}, 2, 0, 0},
};
enum { CONV_K = 5, CONV_S = 2, CONV_P = 2 };

static const char *gk_name(gk_kind k)
{
    static const char *names[] = {"conv2d", "conv_transpose2d", "conv2d_wgrad", "elementwise", "sum", "sum"};
    return names[k];
}

/* "64x1x28x28" for text, "[64, 1, 28, 28]" for JSON. */
static void dims_str(char *buf, size_t n, const int *d, int nd, int json)
{
    size_t at = (size_t)snprintf(buf, n, "%s", json ? "[" : "");
    for (int i = 0; i < nd && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%d", i ? (json ? ", " : "x") : "", d[i]);
    if (json && at < n) snprintf(buf + at, n - at, "]");
    if (!json && nd == 0) snprintf(buf, n, "scalar");
}

/* Milliseconds per g_plan_run of plan p, after a warm-up run (the JIT).
 * Runs that take over KERNEL_ROUND_S: the better of two. Others: at least
 * reps runs per submit, more to fill about KERNEL_ROUND_S, best of 3 submits. */
static const double KERNEL_ROUND_S = 0.25;
static int time_plan(g_plan *p, int reps, double *ms)
{
    if (g_plan_run(p, 1)) return -1;
    double t0 = app_now();
    if (g_plan_run(p, 1)) return -1;
    double one = app_now() - t0;
    *ms = one * 1e3;
    if (one >= KERNEL_ROUND_S) {
        t0 = app_now();
        if (g_plan_run(p, 1)) return -1;
        double m = (app_now() - t0) * 1e3;
        if (m < *ms) *ms = m;
        return 0;
    }
    int runs = one > 0 && KERNEL_ROUND_S / one > reps ? (int)(KERNEL_ROUND_S / one) : reps;
    if (runs > 1000) runs = 1000;
    for (int r = 0; r < 3; r++) {
        t0 = app_now();
        if (g_plan_run(p, runs)) return -1;
        double m = (app_now() - t0) * 1e3 / runs;
        if (m < *ms) *ms = m;
    }
    return 0;
}

static int kernels_graph_case(rt_ctx *ctx, const opts *o, const peak_info *pk, const gk_case *kc)
{
    g_graph *g = g_graph_new();
    g_session *s = NULL;
    g_plan *p = NULL;
    float *h = NULL;
    int rc = -1;
    if (!g) { rt_set_error("out of host memory"); return -1; }
    g_tensor *in[3] = {NULL, NULL, NULL}, *y = NULL;
    int nin = 2;
    in[0] = g_input(g, "a", kc->nd, kc->a);
    switch (kc->kind) {
    case GK_CONV:
        in[1] = g_input(g, "w", 4, kc->b);
        y = g_conv2d(in[0], in[1], CONV_S, CONV_P);
        break;
    case GK_CONVT:
        in[1] = g_input(g, "w", 4, kc->b);
        y = g_conv_transpose2d(in[0], in[1], CONV_S, CONV_P, kc->out_pad);
        break;
    case GK_WGRAD:
        in[1] = g_input(g, "dy", 4, kc->b);
        y = g_conv2d_wgrad(in[0], in[1], CONV_K, CONV_K, CONV_S, CONV_P);
        break;
    case GK_EW:
        in[1] = g_input(g, "b", kc->nd, kc->a);
        in[2] = g_input(g, "c", kc->nd, kc->a);
        nin = 3;
        y = g_mul(g_leaky_relu(g_add(in[0], in[1]), 0.2f), in[2]);
        break;
    case GK_SUM: nin = 1; y = g_sum(in[0], kc->axis, 0); break;
    case GK_SUM_ALL: nin = 1; y = g_sum_all(in[0]); break;
    }
    if (!y) {
        rt_set_error("building the graph: %s", g_graph_error(g) ? g_graph_error(g) : "unknown error");
        goto done;
    }
    if (g_session_new(ctx, g, 1, &s)) goto done;
    size_t in_elems = 0;
    for (int i = 0; i < nin; i++) {
        size_t ne = g_numel(in[i]);
        float *nh = realloc(h, ne * sizeof *h);
        if (!nh) { rt_set_error("out of host memory"); goto done; }
        h = nh;
        random_fill(h, ne, 10 + (unsigned)i);
        if (g_session_write(s, in[i], h)) goto done;
        in_elems += ne;
    }
    if (g_plan_new(s, &y, 1, NULL, &p)) goto done;
    g_plan_stats st;
    g_plan_stats_get(p, &st);
    double ms;
    if (time_plan(p, o->reps, &ms)) goto done;
    /* the shape: inputs -> output, as text and as JSON fields */
    char t0[48], t1[48], t2[48], j0[48], j1[48], j2[48], shape[192], fields[512];
    dims_str(t0, sizeof t0, in[0]->shape, in[0]->ndim, 0);
    dims_str(j0, sizeof j0, in[0]->shape, in[0]->ndim, 1);
    dims_str(t1, sizeof t1, in[1] ? in[1]->shape : NULL, in[1] ? in[1]->ndim : 0, 0);
    dims_str(j1, sizeof j1, in[1] ? in[1]->shape : NULL, in[1] ? in[1]->ndim : 0, 1);
    dims_str(t2, sizeof t2, y->shape, y->ndim, 0);
    dims_str(j2, sizeof j2, y->shape, y->ndim, 1);
    int conv = kc->kind == GK_CONV || kc->kind == GK_CONVT || kc->kind == GK_WGRAD;
    double bytes = 4.0 * ((double)in_elems + (double)g_numel(y));   /* inputs read, output written */
    if (conv) {
        snprintf(shape, sizeof shape, "%s, %s %s -> %s", t0, kc->kind == GK_WGRAD ? "dy" : "w", t1, t2);
        snprintf(fields, sizeof fields,
                 "\"role\": \"%s\", \"input\": %s, \"%s\": %s, \"output\": %s, \"kernel\": %d, \"stride\": %d, "
                 "\"pad\": %d, \"out_pad\": %d, \"flops\": %.0f",
                 kc->role, j0, kc->kind == GK_WGRAD ? "grad" : "weight", j1, j2, CONV_K, CONV_S, CONV_P, kc->out_pad,
                 st.flops);
    } else if (kc->kind == GK_EW) {
        snprintf(shape, sizeof shape, "3 x %s -> %s", t0, t2);
        snprintf(fields, sizeof fields,
                 "\"op\": \"%s\", \"inputs\": 3, \"input\": %s, \"output\": %s, \"bytes\": %.0f", kc->role, j0,
                 j2, bytes);
    } else {
        snprintf(shape, sizeof shape, "%s -> %s", t0, t2);
        snprintf(fields, sizeof fields, "\"op\": \"%s\", \"input\": %s, \"output\": %s, \"bytes\": %.0f",
                 kc->role, j0, j2, bytes);
    }
    if (conv)
        kernel_row(o, gk_name(kc->kind), fields, shape, kc->role, ms, 1, st.flops / (ms * 1e-3) / 1e9, pk, bytes,
                   st.dispatches);
    else
        kernel_row(o, gk_name(kc->kind), fields, shape, kc->role, ms, 0, bytes / (ms * 1e-3) / 1e9, pk, 0,
                   st.dispatches);
    rc = 0;
done:
    if (rc) rt_error_prefix("%s (%s)", gk_name(kc->kind), kc->role);
    free(h);
    g_plan_free(p);
    g_session_free(s);
    g_graph_free(g);
    return rc;
}

static int bench_kernels(const opts *o)
{
    rt_ctx *ctx = open_and_header(o);
    if (!ctx) return 1;
    peak_info pk;
    int rc = 0;
    if (!o->json) {
        printf("measuring the peaks (meg-bench peak) ...\n");
        fflush(stdout);
    }
    if (measure_peak(ctx, o, 0, &pk)) rc = 1;
    if (!rc && !o->json) {
        print_peak_summary(o, &pk);
        printf("%% peak: share of the FMA peak for matmul and convolutions, of the bandwidth peak (bytes read +\n"
               "written) for the rest; FLOP/B: arithmetic intensity (FLOPs per byte of inputs read once and\n"
               "output written once; below this device's ridge, FMA peak / bandwidth peak = %.1f, a kernel\n"
               "is memory-bound); ms per call include the fixed cost of a dispatch\n",
               pk.bw_gbps > 0 ? pk.fma_gflops / pk.bw_gbps : 0);
        printf("%-17s %-42s %9s %17s %7s %7s  %s\n", "kernel", "shape", "ms", "rate", "% peak", "FLOP/B", "what");
    }
    if (!rc && kernels_matmul(ctx, o, &pk)) rc = 1;
    for (size_t i = 0; !rc && i < sizeof GK_CASES / sizeof GK_CASES[0]; i++)
        if (kernels_graph_case(ctx, o, &pk, &GK_CASES[i])) rc = 1;
    if (rc) fprintf(stderr, "%s: kernels: %s\n", PROG, rt_error());
    if (o->json) {
        printf("\n  ]");
        if (pk.fma_gflops > 0 && pk.bw_gbps > 0) {
            printf(", ");
            print_peak_summary(o, &pk);
        }
        printf("}\n");
    }
    return close_and_check(ctx, rc);
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
                if (app_parse_int(PROG, a, argv[i], 0, rt_matmul_variants() - 1, &v)) return 2;
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
    if (cmd && !strcmp(cmd, "peak")) return bench_peak(&o);
    if (cmd && !strcmp(cmd, "kernels")) return bench_kernels(&o);
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
