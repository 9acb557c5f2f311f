/* meg-sample: MALA chains of a trained MEG model (toy or image), entirely
 * on the device, in the generator's latent space (U(z) = E(G(z))) or in
 * visible space (U(x) = E(x)); pictures of where they start and end,
 * trajectories, and the quality of the final samples next to the
 * generator's own (figure 2.3 of the seed, for images). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "megimages.h"
#include "megrun.h"
#include "metrics.h"
#include "samplers.h"
#include "toyviz.h"

static const char *PROG = "meg-sample";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: meg-sample --checkpoint FILE [options]\n"
            "\n"
            "Runs Metropolis-adjusted Langevin (MALA) chains of a model trained by meg-train, with no\n"
            "host round trip between steps: in latent space on U(z) = E(G(z)) + ||z||^2/2 (the\n"
            "generator's density times the N(0, I) prior, section 2.3.2 of the seed), or in visible\n"
            "space on U(x) = E(x). Chains start at z ~ N(0, I) (latent) or at G(z) (visible), so both\n"
            "start from the generator's samples.\n"
            "\n"
            "Defaults: in latent space the prior is on and the step size is adapted during 200 burn-in\n"
            "steps toward acceptance 0.574 (optimal for MALA), which keeps the chains on the modes; the\n"
            "paper's exact target, U(z) = E(G(z)) with a fixed step 0.01 and no burn-in, is --paper.\n"
            "In visible space: a fixed step 0.01, no burn-in, unless --target-accept is given.\n"
            "\n"
            "options:\n"
            "  --checkpoint FILE  checkpoint.safetensors from meg-train\n"
            "  --space S          latent (default) or visible\n"
            "  --chains C         parallel chains (default 1024; image models 64)\n"
            "  --steps K          MALA steps after burn-in (default 500; image models 100)\n"
            "  --step-size A      a fixed step size A, no adaptation (the start of the adaptation\n"
            "                     with --target-accept; default 0.01)\n"
            "  --target-accept R  adapt the step size during burn-in toward acceptance R, then freeze\n"
            "                     it (latent default 0.574; visible default: no adaptation)\n"
            "  --burn-in B        steps before the K steps (default 200 when adapting, else 0)\n"
            "  --no-prior         latent space: U(z) = E(G(z)) without the N(0, I) prior term\n"
            "  --paper            the seed's exact sampler: latent U(z) = E(G(z)), no prior, fixed step\n"
            "                     0.01 (or --step-size), no burn-in\n"
            "  --temperature T    sample exp(-U/T) (default 1)\n"
            "  --max-submit K     at most K steps per device submit, so a desktop GPU's watchdog\n"
            "                     never fires (default 100)\n"
            "  --seed S           seed of the start points and the chains' random numbers (default 1)\n"
            "  --out DIR          output folder (default meg-sample-out): start.png, end.png,\n"
            "                     chains.png, end.csv (image models: end.safetensors, the chains'\n"
            "                     last images [C, 1, 28, 28] in [-1, 1], and grids of 64 images; chains.png\n"
            "                     shows 8 chains as rows, a picture every K/10 steps)\n"
            "  --classifier FILE  image models: score the generator's samples and the chains' last ones\n"
            "                     with this classifier (meg-train --model classifier): Frechet distance\n"
            "                     and score, StackedMNIST modes and KL (see meg-eval images --help)\n"
            "  --data-dir DIR     where tools/data put the data sets (the classifier's test set)\n"
            "  --grid N           density grid of the pictures (default 300)\n"
            "  --box X0,X1,Y0,Y1  plot box (default -2,2,-2,2)\n"
            "  --device D         Vulkan device index or name substring\n"
            "  -h, --help         this text\n"
            "\n"
            "Prints the acceptance rate and steps per second; for 8gaussians and 25gaussians also the\n"
            "quality numbers (see meg-eval --help) of the generator's samples and of the chains' final\n"
            "samples, for image models with --classifier the classifier's. Image models sample with\n"
            "the generator's batch norm in evaluation mode (running statistics), so chains never\n"
            "interact. The last line of output is one JSON object.\n");
}

/* The last line: the run's settings and numbers, then `extra` (JSON members, or ""). */
static void print_summary(const char *space, long chains, long steps, long burn, float a, double acc, double sps,
                          int prior, double target, const char *extra)
{
    printf("{\"space\": \"%s\", \"chains\": %ld, \"steps\": %ld, \"burn_in\": %ld, \"step_size\": ", space, chains,
           steps, burn);
    app_json_num(stdout, a, 6);
    printf(", \"acceptance\": ");
    app_json_num(stdout, acc, 6);   /* null with no step taken */
    printf(", \"steps_per_s\": ");
    app_json_num(stdout, sps, 6);
    printf(", \"prior\": %s, \"target_accept\": ", prior ? "true" : "false");
    app_json_num(stdout, target > 0 ? target : NAN, 6);   /* null: a fixed step */
    if (extra[0]) printf(", %s", extra);
    printf("}\n");
}

/* Image models: start.png (the generator's samples), end.png (the chains'
 * last states), chains.png (rows: chains; columns: a picture every `every`
 * steps from the start), end.safetensors; with a classifier, its numbers
 * for both sets of samples into js as "generator": {..}, "mala": {..}. */
static int image_outputs(megrun *r, const char *out, const char *clf, const char *data_dir, const float *x0,
                         const float *xend, size_t C, const float *trajx, int rec_chains, int records, int every,
                         const char *space, long steps, double acc, char *js, size_t jn)
{
    char path[4200], title[200];
    const meg_config *c = &r->cfg;
    size_t X = (size_t)c->dim;
    snprintf(path, sizeof path, "%s/start.png", out);
    snprintf(title, sizeof title, "start: G(z), z ~ N(0, I)");
    if (megimages_grid(r, path, x0, C, title)) return -1;
    snprintf(path, sizeof path, "%s/end.png", out);
    snprintf(title, sizeof title, "%s MALA, %ld steps, acceptance %.2f", space, steps, acc);
    if (megimages_grid(r, path, xend, C, title)) return -1;
    if (records > 0) {
        /* the records are [slot, chain]: a row per chain */
        float *rows = malloc((size_t)records * rec_chains * X * sizeof *rows);
        if (!rows) { rt_set_error("out of host memory"); return -1; }
        for (int k = 0; k < rec_chains; k++)
            for (int t = 0; t < records; t++)
                memcpy(rows + ((size_t)k * records + t) * X, trajx + ((size_t)t * rec_chains + k) * X, X * sizeof *rows);
        snprintf(path, sizeof path, "%s/chains.png", out);
        snprintf(title, sizeof title, "%d %s chains, a picture every %d steps", rec_chains, space, every);
        meg_sample_grid g = {.cols = records, .title = title};
        int rc = meg_png_sample_grid(path, rows, records * rec_chains, c->channels, c->height, c->img_width, &g);
        free(rows);
        if (rc) return -1;
    }
    snprintf(path, sizeof path, "%s/end.safetensors", out);
    meg_st_kv meta[2] = {{"source", "meg-sample"}, {"space", space}};
    if (meg_samples_write(path, xend, (int64_t)C, c->channels, c->height, c->img_width, meta, 2)) return -1;
    js[0] = 0;
    if (!clf) return 0;
    imgscore sc;
    imgscore_result rg, rm;
    char jg[512], jm[512];
    if (imgscore_open(&sc, clf, r->ctx, NULL, data_dir, c->channels, c->height, c->img_width, C)) return -1;
    int rc = imgscore_add(&sc, x0, C) || imgscore_finish(&sc, &rg) || imgscore_json(&rg, jg, sizeof jg);
    imgscore_reset(&sc);
    rc = rc || imgscore_add(&sc, xend, C) || imgscore_finish(&sc, &rm) || imgscore_json(&rm, jm, sizeof jm);
    imgscore_close(&sc);
    if (rc) return -1;
    snprintf(js, jn, "\"generator\": {%s}, \"mala\": {%s}", jg, jm);
    fprintf(stderr, "%s: generator samples: %s\n%s: after %s MALA:    %s\n", PROG, jg, PROG, space, jm);
    return 0;
}

int main(int argc, char **argv)
{
    const char *ckpath = NULL, *device = NULL, *out = "meg-sample-out", *space = "latent", *clf = NULL,
               *data_dir = NULL;
    long chains = -1, steps = -1, burn = -1, max_submit = 100, grid = 300;
    double step = -1, target = 0, temp = 1;
    int prior = -1, paper = 0;
    unsigned long long seed = 1;
    meg_box box = {-2, 2, -2, 2};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--checkpoint") && v) { ckpath = v; i++; }
        else if (!strcmp(a, "--classifier") && v) { clf = v; i++; }
        else if (!strcmp(a, "--data-dir") && v) { data_dir = v; i++; }
        else if (!strcmp(a, "--device") && v) { device = v; i++; }
        else if (!strcmp(a, "--out") && v) { out = v; i++; }
        else if (!strcmp(a, "--space") && v) {
            if (strcmp(v, "latent") && strcmp(v, "visible")) {
                fprintf(stderr, "%s: --space expects latent or visible, got \"%s\"\n", PROG, v);
                return 2;
            }
            space = v;
            i++;
        } else if (!strcmp(a, "--prior")) prior = 1;   /* the default in latent space; kept for old scripts */
        else if (!strcmp(a, "--no-prior")) prior = 0;
        else if (!strcmp(a, "--paper")) paper = 1;
        else if (!strcmp(a, "--chains")) { if (app_parse_int(PROG, a, v, 1, 1 << 22, &chains)) return 2; i++; }
        else if (!strcmp(a, "--steps")) { if (app_parse_int(PROG, a, v, 0, 1 << 24, &steps)) return 2; i++; }
        else if (!strcmp(a, "--burn-in")) { if (app_parse_int(PROG, a, v, 0, 1 << 24, &burn)) return 2; i++; }
        else if (!strcmp(a, "--max-submit")) { if (app_parse_int(PROG, a, v, 1, 1 << 24, &max_submit)) return 2; i++; }
        else if (!strcmp(a, "--grid")) { if (app_parse_int(PROG, a, v, 8, 4096, &grid)) return 2; i++; }
        else if (!strcmp(a, "--step-size")) {
            if (app_parse_float(PROG, a, v, &step)) return 2;
            if (!(step > 0)) { fprintf(stderr, "%s: --step-size must be positive\n", PROG); return 2; }
            i++;
        } else if (!strcmp(a, "--target-accept")) {
            if (app_parse_float(PROG, a, v, &target)) return 2;
            if (!(target > 0 && target < 1)) { fprintf(stderr, "%s: --target-accept must be in (0, 1)\n", PROG); return 2; }
            i++;
        } else if (!strcmp(a, "--temperature")) {
            if (app_parse_float(PROG, a, v, &temp)) return 2;
            if (!(temp > 0)) { fprintf(stderr, "%s: --temperature must be positive\n", PROG); return 2; }
            i++;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            seed = v ? strtoull(v, &end, 10) : 0;
            if (!v || errno || *end || end == v) { fprintf(stderr, "%s: --seed expects a non-negative integer\n", PROG); return 2; }
            i++;
        } else if (!strcmp(a, "--box") && v) {
            if (app_parse_box(PROG, v, &box)) return 2;
            i++;
        } else {
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", PROG, a);
            return 2;
        }
    }
    if (!ckpath) { fprintf(stderr, "%s: --checkpoint FILE is required (see --help)\n", PROG); return 2; }
    int latent = !strcmp(space, "latent");
    if (paper && (!latent || prior == 1 || target > 0)) {
        fprintf(stderr, "%s: --paper is the seed's latent sampler (no prior, fixed step): it goes with neither "
                        "--space visible, --prior nor --target-accept\n", PROG);
        return 2;
    }
    if (prior == 1 && !latent) { fprintf(stderr, "%s: --prior applies to --space latent only\n", PROG); return 2; }
    /* latent defaults: the prior, and a step adapted toward 0.574 unless a fixed one is asked for */
    if (prior < 0) prior = latent && !paper;
    if (latent && !paper && target <= 0 && step <= 0) target = 0.574;
    if (step <= 0) step = 0.01;
    if (burn < 0) burn = target > 0 ? 200 : 0;

    megrun r = {0};
    meg_st_file *ck = NULL;
    meg_mala mala = {0};
    int have_mala = 0, rc = 1;
    float *z0 = NULL, *x0 = NULL, *st = NULL, *xend = NULL, *e = NULL, *dens = NULL, *traj = NULL, *trajx = NULL;
    /* an output folder that cannot be written is refused before any work */
    if (app_prepare_out(out) || meg_st_read(ckpath, &ck) || megrun_from_meta(&r, ck)) goto fail;
    int image = megrun_is_image(&r);
    if (clf && !image) { rt_set_error("--classifier scores image models; %s is a %s model", ckpath, r.data); goto fail; }
    /* images: fewer chains and steps by default (each step runs the convolutional networks) */
    if (chains < 0) chains = image ? 64 : 1024;
    if (steps < 0) steps = image ? 100 : 500;
    if (megrun_open(&r, device) || meg_checkpoint_load(ck, r.s, r.m.g)) goto fail;
    meg_st_free(ck);
    ck = NULL;
    int D = latent ? r.cfg.zdim : r.cfg.dim, X = r.cfg.dim;
    int rec_chains = chains < 8 ? (int)chains : 8;
    /* toy: up to 200 points per trajectory; images: up to 10 pictures per chain after the start */
    int per = image ? 10 : 200;
    int rec_every = steps > per ? (int)((steps + per - 1) / per) : 1;
    int slots = (int)(steps / rec_every) + 1;
    meg_mala_opts mo = {.prefix = "mala", .chains = (int)chains, .dim = D, .step_size = (float)step,
                        .target_accept = (float)target, .prior = prior, .temperature = (float)temp,
                        .record_chains = rec_chains, .record_slots = slots, .record_every = rec_every,
                        .seed = seed * G_GOLDEN64 + 17};
    if (meg_mala_build(r.m.g, &mo, latent ? meg_latent_energy : meg_visible_energy, &r.m, &mala)) goto fail;
    have_mala = 1;
    if (megrun_eval_plans(&r) || meg_mala_prepare(r.s, &mala)) goto fail;

    size_t C = (size_t)chains;
    z0 = malloc(C * (size_t)r.cfg.zdim * sizeof *z0);
    x0 = malloc(C * (size_t)X * sizeof *x0);
    st = malloc(C * (size_t)D * sizeof *st);
    xend = malloc(C * (size_t)X * sizeof *xend);
    if (!z0 || !x0 || !st || !xend) { rt_set_error("out of host memory"); goto fail; }
    meg_latents(z0, C, r.cfg.zdim, seed);
    if (meg_eval_generate(r.s, r.gen, &r.m, z0, C, x0)) goto fail;
    if (meg_mala_set_state(r.s, &mala, latent ? z0 : x0)) goto fail;
    fprintf(stderr, "%s: %s MALA, %ld chains on %s; %s\n", PROG, space, chains, rt_ctx_device(r.ctx)->name,
            target > 0 ? "adapting the step size during burn-in" : "fixed step size");
    if (burn > 0) {
        if (meg_mala_run(r.s, &mala, burn, max_submit, target > 0)) goto fail;
        if (meg_mala_reset_stats(r.s, &mala)) goto fail;
    }
    float a;
    if (meg_mala_step_size(r.s, &mala, &a)) goto fail;
    app_progress pr;
    app_progress_init(&pr, stderr, 0, steps);
    double t0 = app_now();
    for (long done = 0; done < steps;) {
        long k = steps - done < max_submit ? steps - done : max_submit;
        if (meg_mala_run(r.s, &mala, k, max_submit, 0)) { app_progress_end(&pr); goto fail; }
        done += k;
        double el = app_now() - t0;
        app_progress_update(&pr, done, el > 0 ? done / el : 0, NULL);
    }
    app_progress_end(&pr);
    double dt = app_now() - t0, sps = steps > 0 && dt > 0 ? steps / dt : 0;
    double acc = NAN;
    if (meg_mala_acceptance(r.s, &mala, &acc, NULL)) goto fail;
    if (g_session_read(r.s, mala.state, st)) goto fail;
    if (latent) {
        if (meg_eval_generate(r.s, r.gen, &r.m, st, C, xend)) goto fail;
    } else {
        memcpy(xend, st, C * (size_t)X * sizeof *xend);
    }
    /* trajectories in data space */
    int records = 0;
    traj = malloc((size_t)slots * rec_chains * D * sizeof *traj);
    trajx = malloc((size_t)slots * rec_chains * X * sizeof *trajx);
    if (!traj || !trajx) { rt_set_error("out of host memory"); goto fail; }
    if (meg_mala_trajectory(r.s, &mala, traj, &records)) goto fail;
    size_t np = (size_t)records * rec_chains;
    if (latent) {
        if (np && meg_eval_generate(r.s, r.gen, &r.m, traj, np, trajx)) goto fail;
    } else {
        memcpy(trajx, traj, np * (size_t)X * sizeof *trajx);
    }
    if (image) {
        char js[1400];
        if (image_outputs(&r, out, clf, data_dir, x0, xend, C, trajx, rec_chains, records, rec_every, space, steps,
                          acc, js, sizeof js))
            goto fail;
        fprintf(stderr, "%s: acceptance %.4f, %.2f steps/s (step size %.5g); wrote %s/start.png, end.png, chains.png, "
                        "end.safetensors\n", PROG, acc, sps, (double)a, out);
        print_summary(space, chains, steps, burn, a, acc, sps, prior, target, js);
        goto checked;
    }
    /* pictures over the learned density */
    if (megrun_energy_grid(&r, box, (int)grid, &e)) goto fail;
    size_t nn = (size_t)grid * grid;
    dens = malloc(nn * sizeof *dens);
    if (!dens || meg_energy_to_density(e, nn, dens)) { if (!dens) rt_set_error("out of host memory"); goto fail; }
    char path[4200], title[160];
    snprintf(path, sizeof path, "%s/start.png", out);
    snprintf(title, sizeof title, "start: G(z), z ~ N(0, I)");
    if (viz_points(path, NULL, 0, x0, C, dens, (int)grid, box, title)) goto fail;
    snprintf(path, sizeof path, "%s/end.png", out);
    snprintf(title, sizeof title, "%s MALA, %ld steps, acceptance %.2f", space, steps, acc);
    if (viz_points(path, NULL, 0, xend, C, dens, (int)grid, box, title)) goto fail;
    snprintf(path, sizeof path, "%s/chains.png", out);
    snprintf(title, sizeof title, "%d chains, a point every %d steps", rec_chains, rec_every);
    if (records > 0 && viz_chains(path, trajx, rec_chains, records, dens, (int)grid, box, title)) goto fail;
    snprintf(path, sizeof path, "%s/end.csv", out);
    if (viz_csv(path, xend, C, 2, "x,y")) goto fail;
    fprintf(stderr, "%s: acceptance %.4f, %.2f steps/s (step size %.5g); wrote %s/start.png, end.png, chains.png, end.csv\n",
            PROG, acc, sps, (double)a, out);
    /* quality against the toy set: modes (the mixtures) and the energy
     * distance to 10,000 of its points (any toy set) */
    char qg[640] = "", qm[640] = "";
    int hq = 0;
    if (meg_toy_is_known(r.data)) {
        size_t nd = 10000, nc = C < nd ? C : nd;
        float *pts = malloc(nd * 2 * sizeof *pts);
        if (!pts || meg_toy_generate(r.data, nd, r.cfg.seed, pts)) {
            if (!pts) rt_set_error("out of host memory");
            free(pts);
            goto fail;
        }
        double dg = meg_energy_distance(x0, nc, pts, nd, 2), dm = meg_energy_distance(xend, nc, pts, nd, 2);
        free(pts);
        char mg[512] = "", mm[512] = "";
        int modes = viz_quality(r.data, x0, C, NULL, 0, box, mg, sizeof mg) == 0 &&
                    viz_quality(r.data, xend, C, NULL, 0, box, mm, sizeof mm) == 0;
        snprintf(qg, sizeof qg, "%s%s\"energy_distance\": %.6g", modes ? mg : "", modes ? ", " : "", dg);
        snprintf(qm, sizeof qm, "%s%s\"energy_distance\": %.6g", modes ? mm : "", modes ? ", " : "", dm);
        hq = isfinite(dg) && isfinite(dm);
        if (hq) {
            fprintf(stderr, "%s: generator samples: %s\n", PROG, qg);
            fprintf(stderr, "%s: after %s MALA:    %s\n", PROG, space, qm);
        }
    }
    char js[1400] = "";
    if (hq) snprintf(js, sizeof js, "\"generator\": {%s}, \"mala\": {%s}", qg, qm);
    print_summary(space, chains, steps, burn, a, acc, sps, prior, target, js);
checked:
    rc = rt_validation_count(r.ctx) ? 1 : 0;
    if (rc) fprintf(stderr, "%s: %d Vulkan validation message(s)\n", PROG, rt_validation_count(r.ctx));
    goto done;
fail:
    fprintf(stderr, "%s: %s\n", PROG, rt_error());
    rc = 1;
done:
    if (have_mala) meg_mala_release(&mala);
    free(z0); free(x0); free(st); free(xend); free(e); free(dens); free(traj); free(trajx);
    meg_st_free(ck);
    megrun_close(&r);
    return rc;
}
