/* meg-eval: measures a trained MEG model. `toy`: for the 2-D Gaussian
 * mixtures, modes captured, share of high-quality samples, KL of the mode
 * histogram to uniform, and the learned density's mass near the modes; for
 * any 2-D model, the mean energy on data and on uniform noise over the box.
 * `fd`: the Frechet distance between two feature sets in safetensors files
 * (FID when the features are a classifier's), on the host, no device. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "megrun.h"
#include "metrics.h"
#include "toyviz.h"
#include "eval_anomaly.h"
#include "eval_curves.h"
#include "eval_figure.h"
#include "eval_images.h"

static const char *PROG = "meg-eval";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: meg-eval toy --checkpoint FILE [options]\n"
            "       meg-eval images --samples S --classifier FILE [options]   (meg-eval images --help)\n"
            "       meg-eval figure --checkpoint FILE [...] --out FILE.png   (meg-eval figure --help)\n"
            "       meg-eval curves --curve FILE [...] --out FILE.png   (meg-eval curves --help)\n"
            "       meg-eval anomaly --checkpoint FILE --data kdd99:PATH|csv:PATH   (meg-eval anomaly --help)\n"
            "       meg-eval fd --a FILE --b FILE\n"
            "\n"
            "meg-eval toy: quality of a MEG model trained on a 2-D set (meg-train's checkpoint). Prints\n"
            "one JSON object: for 8gaussians and 25gaussians, modes (how many), modes_captured (a mode is\n"
            "captured when >= 1%% of generator samples lie within 3 std of it), hq_share (share of\n"
            "samples within 3 std of some mode), kl_uniform (KL of the histogram of captured-mode\n"
            "assignments to the uniform distribution over all modes), grid_mass_near (share of the\n"
            "learned density exp(-E), normalised on the grid, within 3 std of a mode); for every\n"
            "set, e_data and e_noise (mean energy on data and on uniform noise over the box), and\n"
            "energy_distance: the energy distance (2 E|X-Y| - E|X-X'| - E|Y-Y'|, Euclidean) between\n"
            "the generator samples (at most 10000) and as many data points; 0 when the\n"
            "distributions agree, needs no modes (swissroll too).\n"
            "\n"
            "options of toy:\n"
            "  --checkpoint FILE  checkpoint.safetensors written by meg-train\n"
            "  --data D           the data set for e_data: by default the checkpoint's toy set; a\n"
            "                     model trained on a CSV file needs its path here (a checkpoint's\n"
            "                     metadata is never opened as a path)\n"
            "  --samples N        generator samples (default 10000)\n"
            "  --grid N           density grid N x N over the box (default 500)\n"
            "  --box X0,X1,Y0,Y1  box (default -2,2,-2,2)\n"
            "  --seed S           seed of the latents and the noise (default 99)\n"
            "  --device D         Vulkan device index or name substring\n"
            "\n"
            "meg-eval fd: the Frechet distance between Gaussians fitted to two feature sets,\n"
            "  |mu_a - mu_b|^2 + tr(Sa) + tr(Sb) - 2 tr((Sa^1/2 Sb Sa^1/2)^1/2),\n"
            "with means and unbiased (n - 1) covariances in double, the square roots through\n"
            "LAPACK's symmetric eigensolver (FID when the features are Inception's). Each FILE is\n"
            "a safetensors file with an F32 tensor \"features\" of shape [N, D] (N >= 2; the same D\n"
            "in both, at most %d). Needs no device. Prints one JSON object:\n"
            "{\"fd\": ..., \"n_a\": N of A, \"n_b\": N of B, \"dim\": D, \"a\": FILE, \"b\": FILE}.\n"
            "\n"
            "options of fd:\n"
            "  --a FILE           the first feature set\n"
            "  --b FILE           the second feature set\n"
            "\n"
            "  -h, --help         this text\n", MEG_FD_MAX_DIM);
}

#define FEATURES "features"

/* The F32 tensor "features" [N, D] of path; errors name the file. */
static int read_features(const char *path, meg_st_file **f, const meg_st_tensor **out)
{
    if (meg_st_read(path, f)) return -1;
    const meg_st_tensor *t = meg_st_find(*f, FEATURES);
    if (!t) {
        char names[256] = "", esc[96];
        size_t len = 0;
        for (size_t i = 0; i < meg_st_count(*f) && len < sizeof names; i++)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s'%s'", i ? ", " : "",
                                    rt_escape(meg_st_at(*f, i)->name, 40, esc, sizeof esc));
        rt_set_error("%s: no tensor '" FEATURES "' [N, D] (the file has %s)", path,
                     meg_st_count(*f) ? names : "no tensors");
        return -1;
    }
    if (t->ndim != 2 || t->shape[0] < 2 || t->shape[1] < 1 || t->shape[1] > MEG_FD_MAX_DIM) {
        char shape[160] = "[";
        size_t len = 1;
        for (int d = 0; d < t->ndim && len < sizeof shape; d++)
            len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
        if (len < sizeof shape) snprintf(shape + len, sizeof shape - len, "]");
        rt_set_error("%s: tensor '" FEATURES "' has shape %s, expected [N, D] with N >= 2 and 1 <= D <= %d",
                     path, shape, MEG_FD_MAX_DIM);
        return -1;
    }
    *out = t;
    return 0;
}

static int cmd_fd(const char *pa, const char *pb)
{
    meg_st_file *fa = NULL, *fb = NULL;
    const meg_st_tensor *ta, *tb;
    double *ma = NULL, *mb = NULL, *ca = NULL, *cb = NULL, fd;
    int rc = 1;
    if (read_features(pa, &fa, &ta) || read_features(pb, &fb, &tb)) goto out;
    if (ta->shape[1] != tb->shape[1]) {
        rt_set_error("the feature sets differ in D: %s has '" FEATURES "' [%lld, %lld], %s has [%lld, %lld]",
                     pa, (long long)ta->shape[0], (long long)ta->shape[1], pb, (long long)tb->shape[0],
                     (long long)tb->shape[1]);
        goto out;
    }
    int d = (int)ta->shape[1];
    size_t D = (size_t)d;
    ma = malloc(D * sizeof *ma);
    mb = malloc(D * sizeof *mb);
    ca = malloc(D * D * sizeof *ca);
    cb = malloc(D * D * sizeof *cb);
    if (!ma || !mb || !ca || !cb) { rt_set_error("out of host memory for D = %d", d); goto out; }
    /* the moments one file at a time, so a bad value is reported with its file */
    if (meg_feature_moments(ta->data, (size_t)ta->shape[0], d, ma, ca)) { rt_error_prefix("%s", pa); goto out; }
    if (meg_feature_moments(tb->data, (size_t)tb->shape[0], d, mb, cb)) { rt_error_prefix("%s", pb); goto out; }
    if (meg_frechet_from_moments(ma, ca, mb, cb, d, &fd)) goto out;
    printf("{\"fd\": ");
    app_json_num(stdout, fd, 17);
    printf(", \"n_a\": %lld, \"n_b\": %lld, \"dim\": %d, \"a\": ", (long long)ta->shape[0],
           (long long)tb->shape[0], d);
    app_json_string(stdout, pa);
    printf(", \"b\": ");
    app_json_string(stdout, pb);
    printf("}\n");
    rc = 0;
out:
    if (rc) fprintf(stderr, "%s: %s\n", PROG, rt_error());
    free(ma); free(mb); free(ca); free(cb);
    meg_st_free(fa);
    meg_st_free(fb);
    return rc;
}

int main(int argc, char **argv)
{
    /* images has its own options and help */
    if (argc > 1 && !strcmp(argv[1], "images")) return eval_images_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "figure")) return eval_figure_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "curves")) return eval_curves_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "anomaly")) return eval_anomaly_main(argc, argv);
    const char *ckpath = NULL, *device = NULL, *data = NULL, *fa = NULL, *fb = NULL;
    long samples = 10000, grid = 500, seed = 99;
    meg_box box = {-2, 2, -2, 2};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { usage(stdout); return 0; }

    /* the command comes first; each takes only its own options */
    const char *cmd = argc > 1 ? argv[1] : NULL;
    int is_toy = cmd && !strcmp(cmd, "toy"), is_fd = cmd && !strcmp(cmd, "fd");
    if (!is_toy && !is_fd) {
        char esc[64];
        if (cmd) fprintf(stderr, "%s: unknown command \"%s\": expected toy, images, figure, anomaly or fd (see --help)\n", PROG,
                         rt_escape(cmd, 40, esc, sizeof esc));
        else fprintf(stderr, "%s: expected a command, toy, images, figure, anomaly or fd (see --help)\n", PROG);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (is_fd && !strcmp(a, "--a") && v) { fa = v; i++; }
        else if (is_fd && !strcmp(a, "--b") && v) { fb = v; i++; }
        else if (is_toy && !strcmp(a, "--checkpoint") && v) { ckpath = v; i++; }
        else if (is_toy && !strcmp(a, "--device") && v) { device = v; i++; }
        else if (is_toy && !strcmp(a, "--data") && v) { data = v; i++; }
        else if (is_toy && !strcmp(a, "--samples")) { if (app_parse_int(PROG, a, v, 1, 10000000, &samples)) return 2; i++; }
        else if (is_toy && !strcmp(a, "--grid")) { if (app_parse_int(PROG, a, v, 8, 4096, &grid)) return 2; i++; }
        else if (is_toy && !strcmp(a, "--seed")) { if (app_parse_int(PROG, a, v, 0, 1L << 40, &seed)) return 2; i++; }
        else if (is_toy && !strcmp(a, "--box") && v) {
            if (app_parse_box(PROG, v, &box)) return 2;
            i++;
        } else {
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" for %s (see --help)\n", PROG, a, cmd);
            return 2;
        }
    }
    if (is_fd) {
        if (!fa || !fb) {
            fprintf(stderr, "%s: fd needs --a FILE and --b FILE\n", PROG);
            return 2;
        }
        return cmd_fd(fa, fb);
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
    if (megrun_is_image(&r)) {
        rt_set_error("%s is an image model (%s): score its samples with meg-eval images --samples FILE, or sample "
                     "it with meg-sample", ckpath, r.data);
        goto fail;
    }
    if (megrun_is_tabular_name(r.data)) {
        rt_set_error("%s is a tabular model (%s): score its test split with meg-eval anomaly", ckpath, r.data);
        goto fail;
    }
    const char *use = megrun_checkpoint_data(&r, data, ckpath);
    if (!use || megrun_load_data(&r, use, r.cfg.seed, NULL)) goto fail;
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
