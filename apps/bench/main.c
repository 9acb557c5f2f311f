/* meg-bench: benchmarks of the device and of our kernels. This file: the
 * usage, the options and the dispatch to the subcommands (one file each). */
#include "bench.h"

#include <string.h>

typedef struct bench_cmd {
    const char *name;
    bench_fn *run;
    int device;           /* main opens the device for it */
    const char *help;     /* lines after the first are indented under it */
} bench_cmd;

static const bench_cmd CMDS[] = {
    {"matmul", bench_matmul, 1,
     "fp32 matmul GFLOP/s at 256/512/1024 cubes and the MLP shapes\n"
     "256x2x512, 256x512x512, 256x784x512 (M x K x N)"},
    {"dispatch", bench_dispatch, 1,
     "microseconds per dispatch: 1000 small dispatches in one\n"
     "command buffer, and one submit (and wait) each"},
    {"train", bench_train, 0,
     "MEG training iterations per second (the whole iteration on the\n"
     "device), dispatches and submits per iteration, arena and\n"
     "parameter bytes, FLOPs per iteration and GFLOP/s achieved"},
    {"mala", bench_mala, 0,
     "latent MALA steps per second on U(z) = E(G(z)) + ||z||^2/2 of an\n"
     "untrained model (--chains C, --steps K, --width W)"},
    {"mlp", bench_mlp, 1,
     "a 4-layer 512-wide MLP (batch 256) forward + backward, planned with\n"
     "and without fusion: dispatches, arena bytes, milliseconds per run\n"
     "(--reps runs, after 2 warm-up ones)"},
    {"peak", bench_peak, 1,
     "the device's own limits, measured with dedicated shaders: fp32 FMA\n"
     "GFLOP/s of several shapes of peak_fma.comp (scalar or vec4 fma,\n"
     "chains, unroll; the best is the peak) and bandwidth GB/s (bytes\n"
     "read + written) of peak_copy.comp copying and reading and of\n"
     "vkCmdCopyBuffer (the best is the peak); best dispatch of 3 rounds"},
    {"kernels", bench_kernels, 1,
     "the peaks, then ms per call, GFLOP/s or GB/s and % of peak (FMA\n"
     "peak for matmul and convolutions, bandwidth peak for the rest; for\n"
     "those FLOP kernels also the arithmetic intensity and the roofline) of\n"
     "the bench rows of the op case table (tests/cases/op_cases.c): matmul\n"
     "at the `matmul` shapes (the kernel alone, as `matmul` times it);\n"
     "conv2d, conv_transpose2d and conv2d_wgrad at the MNIST networks'\n"
     "shapes (batch 64, 5x5 kernels, stride 2, padding 2); a fused\n"
     "add+leaky_relu+mul over 256x512 and 4096x4096; sums of the rows and\n"
     "columns of 256x512 and of all of 4096x4096 (small graphs, timed with\n"
     "g_plan_run); each row's \"name\" is the case's"},
    {"list-devices", bench_devices, 0, "the Vulkan devices: index, name, type, driver, memory"},
};
enum { NCMDS = sizeof CMDS / sizeof CMDS[0] };

static void usage(FILE *f)
{
    fprintf(f, "usage: meg-bench [COMMAND] [options]\n"
               "\n"
               "Benchmarks the Vulkan device and the project's kernels. Without a command it\n"
               "runs `matmul` and `dispatch`.\n"
               "\n"
               "commands:\n");
    for (int i = 0; i < NCMDS; i++) {
        fprintf(f, "  %-15s ", CMDS[i].name);
        for (const char *s = CMDS[i].help; *s; s++) {
            fputc(*s, f);
            if (*s == '\n') fprintf(f, "%18s", "");
        }
        fputc('\n', f);
    }
    fprintf(f,
            "\n"
            "options:\n"
            "  --device D      device index or name substring (default: $MEG_DEVICE, else the\n"
            "                  first discrete GPU, then integrated, virtual, CPU)\n"
            "  --list-devices  same as the list-devices command\n"
            "  --json          print one JSON object, on one line, instead of the tables\n"
            "                  (train --profile's table then goes to stderr)\n"
            "  --shape MxKxN   matmul: only this shape (repeatable, at most 16)\n"
            "  --variant V     matmul: register-block variant (0 automatic, or $MEG_MATMUL_VARIANT when set;\n"
            "                  'all' compares all; 20 is the shared-memory tiled kernel for GPUs)\n"
            "  --transpose T   matmul: nn (default), tn, nt or tt (which operand is stored transposed)\n"
            "  --only S        kernels: only the rows whose name contains S (e.g. conv)\n"
            "  --reps N        repetitions (default 10, at most 256): matmul: timed dispatches per\n"
            "                  shape (their median); mlp: timed runs in one submit; peak: dispatches\n"
            "                  per round (at least 3); kernels: matmul dispatches per median (best of\n"
            "                  up to 3), graph runs per submit (at least N, more to fill 0.25 s; best\n"
            "                  of 3 submits, or of 2 runs when one takes over 0.25 s); the others\n"
            "                  have fixed counts or their own options\n"
            "  --data D        train: data set (default 25gaussians), or an image set (mnist, fashion,\n"
            "                  stackedmnist3, stackedmnist4: the convolutional networks, with the\n"
            "                  seed's image settings: width 512, batch 64, z 128, 5 energy updates)\n"
            "  --width W, --batch B, --n-energy K, --hidden L, --zdim Z\n"
            "                  train: model (defaults 512, 256, 5, 3, 2); mala: --width, --hidden, --zdim\n"
            "  --iters N       train: timed iterations (default 20, after 2 warm-up ones)\n"
            "  --max-submit K  train: iterations per submit (default 25); mala: steps per submit\n"
            "  --profile       train: time per kernel of one iteration, with each kind's matmul and\n"
            "                  convolution MFLOP and the GFLOP/s they ran at (timestamps; to stderr\n"
            "                  with --json)\n"
            "  --stack-rows    train: E(x) and E(G(z)), and T(x, z) and T(x, shuffled z), each as\n"
            "                  one batch of twice the rows (larger matmuls, no fewer dispatches since\n"
            "                  K stacking; the penalty's backward over both halves)\n"
            "  --peak          train: also measure the FMA peak (as `peak` does, after the timed\n"
            "                  iterations) and report the iteration's GFLOP/s as a share of it\n"
            "  --chains C      mala: chains (default 256)\n"
            "  --steps K       mala: timed steps (default 100, after 5 warm-up ones)\n"
            "  -h, --help      this text\n"
            "\n"
            "Exit status: 0; 1 when the device could not be opened, a measurement failed or\n"
            "the validation layer ($MEG_VALIDATION=1) reported anything; 2 for a bad command line.\n");
}

static int bad(const char *fmt, const char *what)
{
    fprintf(stderr, "%s: ", BENCH_PROG);
    fprintf(stderr, fmt, what);
    fprintf(stderr, " (see --help)\n");
    return 2;
}

/* Parses argv into o and *cmd (NULL: the default); 0, or 2 after a message. */
static int parse(int argc, char **argv, bench_opts *o, const bench_cmd **cmd)
{
    const struct { const char *flag; int *to; } ints[] = {
        {"--width", &o->cfg.width},   {"--batch", &o->cfg.batch}, {"--n-energy", &o->cfg.n_energy},
        {"--hidden", &o->cfg.hidden}, {"--zdim", &o->cfg.zdim},   {"--iters", &o->iters},
        {"--max-submit", &o->max_submit}, {"--chains", &o->chains}, {"--steps", &o->steps},
        {"--reps", &o->reps},
    };
    unsigned given = 0;   /* bit j: ints[j] was given */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        long v;
        int known = 0;
        for (size_t j = 0; j < sizeof ints / sizeof ints[0]; j++)
            if (!strcmp(a, ints[j].flag)) {
                if (app_parse_int(BENCH_PROG, a, next, 1, ints[j].to == &o->reps ? 256 : 1 << 20, &v)) return 2;
                *ints[j].to = (int)v;
                i++;
                known = 1;
                given |= 1u << j;
            }
        if (known) continue;
        if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "--profile")) o->profile = 1;
        else if (!strcmp(a, "--peak")) o->peak = 1;
        else if (!strcmp(a, "--stack-rows")) o->cfg.stack_e_rows = o->cfg.stack_t_rows = 1;
        else if (!strcmp(a, "--list-devices")) *cmd = &CMDS[NCMDS - 1];
        else if (!strcmp(a, "--device") && next) o->device = argv[++i];
        else if (!strcmp(a, "--data") && next) o->data = argv[++i];
        else if (!strcmp(a, "--only") && next) o->only = argv[++i];
        else if (!strcmp(a, "--variant") && next) {
            i++;
            if (!strcmp(next, "all")) o->variant = -1;
            else if (app_parse_int(BENCH_PROG, a, next, 0, rt_matmul_variants() - 1, &v)) return 2;
            else o->variant = (int)v;
        } else if (!strcmp(a, "--transpose") && next) {
            i++;
            if (strlen(next) != 2 || !strchr("nt", next[0]) || !strchr("nt", next[1]))
                return bad("--transpose expects nn, tn, nt or tt, got \"%s\"", next);
            o->ta = next[0] == 't';
            o->tb = next[1] == 't';
        } else if (!strcmp(a, "--shape") && next) {
            unsigned *s = o->shapes[o->nshapes < 16 ? o->nshapes : 15];
            char extra;
            i++;
            if (o->nshapes >= 16) return bad("--shape given more than 16 times (at \"%s\")", next);
            if (sscanf(next, "%ux%ux%u%c", &s[0], &s[1], &s[2], &extra) != 3 || !s[0] || !s[1] || !s[2])
                return bad("--shape expects MxKxN with positive integers, got \"%s\"", next);
            o->nshapes++;
        } else if (a[0] != '-' && !*cmd) {
            for (int c = 0; c < NCMDS && !*cmd; c++)
                if (!strcmp(a, CMDS[c].name)) *cmd = &CMDS[c];
            if (!*cmd) return bad("unknown command \"%s\"", a);
        } else {
            return bad("unknown or incomplete option \"%s\"", a);
        }
    }
    if (meg_dataset_is_image_name(o->data)) {
        /* an image set: the seed's image settings, with the sizes given kept */
        meg_config c = o->cfg;
        meg_config_image(&o->cfg, 1);
        if (given & 1) o->cfg.width = c.width;
        if (given & 2) o->cfg.batch = c.batch;
        if (given & 4) o->cfg.n_energy = c.n_energy;
        if (given & 16) o->cfg.zdim = c.zdim;
        o->cfg.stack_e_rows = c.stack_e_rows;
        o->cfg.stack_t_rows = c.stack_t_rows;
    }
    return 0;
}

int bench_validation(rt_ctx *ctx)
{
    int n = rt_validation_count(ctx);
    if (n) fprintf(stderr, "%s: %d Vulkan validation message(s)\n", BENCH_PROG, n);
    return n != 0;
}

int main(int argc, char **argv)
{
    bench_opts o = {.reps = 10, .data = "25gaussians", .iters = 20, .max_submit = 25, .chains = 256, .steps = 100};
    meg_config_default(&o.cfg);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
    const bench_cmd *cmd = NULL;
    if (parse(argc, argv, &o, &cmd)) return 2;
    bench_report rep;
    bench_begin(&rep, &o, cmd && cmd->run == bench_devices ? "devices" : "results");
    rt_ctx *ctx = NULL;
    if (!cmd || cmd->device) {
        if (!(ctx = app_open_device(BENCH_PROG, o.device))) return 1;
        bench_device(&rep, rt_ctx_device(ctx));
    }
    int rc;
    if (cmd) rc = cmd->run(&o, &rep, ctx);
    else rc = bench_matmul(&o, &rep, ctx) || bench_dispatch(&o, &rep, ctx);
    if (ctx) {
        rc |= bench_validation(ctx);
        rt_ctx_destroy(ctx);
    }
    return bench_end(&rep, rc);
}
