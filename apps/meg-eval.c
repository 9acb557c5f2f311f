/* meg-eval: measures a trained MEG model. `toy`: for the 2-D Gaussian
 * mixtures, modes captured, share of high-quality samples, KL of the mode
 * histogram to uniform, and the learned density's mass near the modes; for
 * any 2-D model, the mean energy on data and on uniform noise over the box. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "megrun.h"
#include "metrics.h"
#include "toyviz.h"

static const char *PROG = "meg-eval";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: meg-eval toy --checkpoint FILE [options]\n"
            "\n"
            "Quality of a MEG model trained on a 2-D set (meg-train's checkpoint). Prints one JSON\n"
            "object: for 8gaussians and 25gaussians, modes (how many), modes_captured (a mode is\n"
            "captured when >= 1%% of generator samples lie within 3 std of it), hq_share (share of\n"
            "samples within 3 std of some mode), kl_uniform (KL of the histogram of captured-mode\n"
            "assignments to the uniform distribution over all modes), grid_mass_near (share of the\n"
            "learned density exp(-E), normalised on the grid, within 3 std of a mode); for every\n"
            "set, e_data and e_noise (mean energy on data and on uniform noise over the box), and\n"
            "energy_distance: the energy distance (2 E|X-Y| - E|X-X'| - E|Y-Y'|, Euclidean) between\n"
            "the generator samples (at most 10000) and as many data points; 0 when the\n"
            "distributions agree, needs no modes (swissroll too).\n"
            "\n"
            "options:\n"
            "  --checkpoint FILE  checkpoint.safetensors written by meg-train\n"
            "  --data D           the data set for e_data: by default the checkpoint's toy set; a\n"
            "                     model trained on a CSV file needs its path here (a checkpoint's\n"
            "                     metadata is never opened as a path)\n"
            "  --samples N        generator samples (default 10000)\n"
            "  --grid N           density grid N x N over the box (default 500)\n"
            "  --box X0,X1,Y0,Y1  box (default -2,2,-2,2)\n"
            "  --seed S           seed of the latents and the noise (default 99)\n"
            "  --device D         Vulkan device index or name substring\n"
            "  -h, --help         this text\n");
}

int main(int argc, char **argv)
{
    const char *ckpath = NULL, *device = NULL, *cmd = NULL, *data = NULL;
    long samples = 10000, grid = 500, seed = 99;
    meg_box box = {-2, 2, -2, 2};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--checkpoint") && v) { ckpath = v; i++; }
        else if (!strcmp(a, "--device") && v) { device = v; i++; }
        else if (!strcmp(a, "--data") && v) { data = v; i++; }
        else if (!strcmp(a, "--samples")) { if (app_parse_int(PROG, a, v, 1, 10000000, &samples)) return 2; i++; }
        else if (!strcmp(a, "--grid")) { if (app_parse_int(PROG, a, v, 8, 4096, &grid)) return 2; i++; }
        else if (!strcmp(a, "--seed")) { if (app_parse_int(PROG, a, v, 0, 1L << 40, &seed)) return 2; i++; }
        else if (!strcmp(a, "--box") && v) {
            if (app_parse_box(PROG, v, &box)) return 2;
            i++;
        } else if (a[0] != '-' && !cmd) cmd = a;
        else {
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", PROG, a);
            return 2;
        }
    }
    if (!cmd || strcmp(cmd, "toy")) {
        fprintf(stderr, "%s: expected the command `toy` (see --help)\n", PROG);
        return 2;
    }
    if (!ckpath) {
        fprintf(stderr, "%s: --checkpoint FILE is required\n", PROG);
        return 2;
    }
    megrun r = {0};
    meg_st_file *ck = NULL;
    float *z = NULL, *xs = NULL, *e = NULL, *d = NULL, *noise = NULL, *en = NULL;
    int rc = 1;
    if (meg_st_read(ckpath, &ck) || megrun_from_meta(&r, ck)) goto fail;
    const char *use = megrun_checkpoint_data(&r, data, ckpath);
    if (!use || megrun_load_data(&r, use, r.cfg.seed)) goto fail;
    if (megrun_open(&r, device) || meg_checkpoint_load(ck, r.s, r.m.g) || megrun_eval_plans(&r)) goto fail;
    size_t ns = (size_t)samples, nn = (size_t)grid * (size_t)grid;
    z = malloc(ns * (size_t)r.cfg.zdim * sizeof *z);
    xs = malloc(ns * 2 * sizeof *xs);
    d = malloc(nn * sizeof *d);
    noise = malloc(ns * 2 * sizeof *noise);
    en = malloc(ns * sizeof *en);
    float *ed = malloc(ns * sizeof *ed);
    if (!z || !xs || !d || !noise || !en || !ed) { free(ed); rt_set_error("out of host memory"); goto fail; }
    meg_latents(z, ns, r.cfg.zdim, (uint64_t)seed);
    if (meg_eval_generate(r.s, r.gen, &r.m, z, ns, xs)) { free(ed); goto fail; }
    /* mean energy on data and on uniform noise over the box */
    uint64_t st = (uint64_t)seed * G_GOLDEN64 + 1;
    for (size_t i = 0; i < ns; i++) {
        st ^= st << 13; st ^= st >> 7; st ^= st << 17;
        double u = (double)(st >> 11) / 9007199254740992.0;
        st ^= st << 13; st ^= st >> 7; st ^= st << 17;
        double w = (double)(st >> 11) / 9007199254740992.0;
        noise[2 * i] = (float)(box.xmin + u * (box.xmax - box.xmin));
        noise[2 * i + 1] = (float)(box.ymin + w * (box.ymax - box.ymin));
    }
    size_t nd = ns < r.n ? ns : r.n;
    if (meg_eval_energy(r.s, r.energy, &r.m, noise, ns, en) || meg_eval_energy(r.s, r.energy, &r.m, r.set.x, nd, ed)) {
        free(ed);
        goto fail;
    }
    double sd = 0, sn = 0;
    for (size_t i = 0; i < nd; i++) sd += ed[i];
    for (size_t i = 0; i < ns; i++) sn += en[i];
    free(ed);
    size_t ne = ns < 10000 ? ns : 10000, nde = r.n < ne ? r.n : ne;
    double edist = meg_energy_distance(xs, ne, r.set.x, nde, 2);
    if (!isfinite(sd) || !isfinite(sn)) {
        rt_set_error("%s: the model's energies are not finite (NaN or infinite weights?)", ckpath);
        goto fail;
    }
    /* everything measured first: the one JSON object is printed only when
     * the whole evaluation succeeded */
    char js[512] = "";
    int have_q = 0;
    if (meg_toy_is_known(r.data)) {
        if (megrun_energy_grid(&r, box, (int)grid, &e) || meg_energy_to_density(e, nn, d)) goto fail;
        int qr = viz_quality(r.data, xs, ns, d, (int)grid, box, js, sizeof js);
        if (qr < 0) goto fail;
        have_q = qr == 0;   /* swissroll has no modes */
    }
    printf("{\"checkpoint\": ");
    app_json_string(stdout, ckpath);
    printf(", \"data\": ");
    app_json_string(stdout, r.data);
    printf(", \"iteration\": %ld, \"samples\": %zu, \"e_data\": ", r.iteration, ns);
    app_json_num(stdout, sd / (double)nd, 6);
    printf(", \"e_noise\": ");
    app_json_num(stdout, sn / (double)ns, 6);
    printf(", \"energy_distance\": ");
    app_json_num(stdout, edist, 6);
    if (have_q) printf(", %s", js);
    printf("}\n");
    rc = 0;
fail:
    if (rc) fprintf(stderr, "%s: %s\n", PROG, rt_error());
    free(z); free(xs); free(e); free(d); free(noise); free(en);
    meg_st_free(ck);
    megrun_close(&r);
    return rc;
}
