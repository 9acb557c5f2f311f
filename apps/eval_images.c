/* eval_images.c: meg-eval images: how good a set of images is, by the
 * project's own classifier (meg-train --model classifier): StackedMNIST
 * modes and their KL to the training pool and to uniform (table 2.1 of the
 * seed), the Fréchet distance between the classifier's features of the
 * images and of the real test set, and the Inception-like score. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "eval_images.h"
#include "imgscore.h"

static const char *PROG = "meg-eval images";

#define CHUNK_SAMPLES 2000

static void usage(FILE *f)
{
    fprintf(f,
            "usage: meg-eval images --samples S --classifier FILE [options]\n"
            "\n"
            "Scores images with a classifier trained by meg-train --model classifier. S is a\n"
            "samples.safetensors file (tensor \"images\" [N, C, H, W] in [-1, 1], as meg-train and\n"
            "meg-sample write them), or a real set by name: mnist or fashion (N random training\n"
            "images), stackedmnist3 or stackedmnist4 (N random entries of the StackedMNIST pool).\n"
            "Images of one channel are scored as they are; images of k = 3 or 4 channels are\n"
            "StackedMNIST: each channel is classified as a digit, and the k digits name the mode.\n"
            "Prints one JSON object:\n"
            "  modes, modes_total   modes with at least one sample, of 10^k (StackedMNIST)\n"
            "  kl_train, kl_uniform KL of the samples' mode histogram to the training pool's and to\n"
            "                       uniform (no smoothing: a mode absent from the pool makes kl_train\n"
            "                       infinite, printed null, and ref_unsupported_samples says how many)\n"
            "  fd                   Frechet distance between the classifier's features (its hidden\n"
            "                       layer) of the images (every channel, for StackedMNIST; at most the\n"
            "                       first %d) and of the classifier's real test set\n"
            "  score                exp(E KL(p(y|x) || p(y))) over every image (channel)\n"
            "\n"
            "options:\n"
            "  --samples S        the images (see above)\n"
            "  --classifier FILE  classifier.safetensors of meg-train --model classifier\n"
            "  --n N              images drawn from a named set (default 10000 for mnist and fashion,\n"
            "                     26000 for stackedmnist3, 260000 for stackedmnist4, the seed's counts);\n"
            "                     for a file: use its first N\n"
            "  --data-dir DIR     where tools/data put the data sets (default: $MEG_DATA_DIR or the cache)\n"
            "  --seed S           which images a named set gives (default 99)\n"
            "  --grid FILE.png    also draw the first 64 images (StackedMNIST: 3 channels as RGB, 4 as\n"
            "                     2 x 2 blocks of digits)\n"
            "  --write-samples FILE  also write the scored images as a samples.safetensors file (at most\n"
            "                     2^28 values), e.g. to make test sets of a named set\n"
            "  --device D         Vulkan device index or name substring\n"
            "  -h, --help         this text\n", IMGSCORE_FD_MAX);
}

/* What is scored: images, or StackedMNIST entries made into images chunk by chunk. */
typedef struct source {
    const float *x;           /* [n, c, h, w] when the images are at hand */
    size_t n;
    int c, h, w;
    const meg_stacked *pool;  /* or: pool entries entry[0..n) of these digits */
    const meg_dataset *digits;
    size_t *entry;
} source;

/* The images of samples [i, i + k) into buf (k * c * h * w floats), or a
 * pointer to them. */
static const float *source_chunk(const source *s, size_t i, size_t k, float *buf)
{
    size_t D = (size_t)s->c * s->h * s->w;
    if (s->x) return s->x + i * D;
    if (meg_stacked_images(s->pool, s->digits, s->entry + i, k, buf)) return NULL;
    return buf;
}

int eval_images_main(int argc, char **argv)
{
    const char *samples = NULL, *clf_path = NULL, *data_dir = NULL, *device = NULL, *grid = NULL, *wsamples = NULL;
    long n_opt = -1, seed = 99;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "images") && i == 1) continue;
        else if (!strcmp(a, "--samples") && v) { samples = v; i++; }
        else if (!strcmp(a, "--classifier") && v) { clf_path = v; i++; }
        else if (!strcmp(a, "--data-dir") && v) { data_dir = v; i++; }
        else if (!strcmp(a, "--device") && v) { device = v; i++; }
        else if (!strcmp(a, "--grid") && v) { grid = v; i++; }
        else if (!strcmp(a, "--write-samples") && v) { wsamples = v; i++; }
        else if (!strcmp(a, "--n")) { if (app_parse_int(PROG, a, v, 2, 100000000L, &n_opt)) return 2; i++; }
        else if (!strcmp(a, "--seed")) { if (app_parse_int(PROG, a, v, 0, 1L << 40, &seed)) return 2; i++; }
        else {
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", PROG, a);
            return 2;
        }
    }
    if (!samples || !clf_path) {
        fprintf(stderr, "%s: --samples S and --classifier FILE are required (see --help)\n", PROG);
        return 2;
    }
    imgscore sc = {0};
    meg_samples file = {0};
    meg_dataset real = {0};
    meg_stacked pool = {0};
    float *buf = NULL, *all = NULL, *chunk = NULL;
    source src = {0};
    int rc = 1;
    char dir[4096];
    if (meg_data_dir(dir, sizeof dir, data_dir)) goto fail;
    /* the images */
    int stacked_k = meg_stacked_name_k(samples);
    if (stacked_k > 0 || !strcmp(samples, "mnist") || !strcmp(samples, "fashion")) {
        const char *set = stacked_k > 0 ? "mnist" : samples;
        if (meg_dataset_named(&real, set, "train", dir)) goto fail;
        size_t n = n_opt > 0 ? (size_t)n_opt : stacked_k == 3 ? 26000 : stacked_k == 4 ? 260000 : 10000;
        size_t range = stacked_k > 0 ? 0 : real.n;
        if (stacked_k > 0) {
            if (meg_stacked_new(&pool, &real, stacked_k, MEG_STACKED_SEED)) goto fail;
            range = pool.n;
        }
        src.entry = malloc(n * sizeof *src.entry);
        if (!src.entry) { rt_set_error("out of host memory"); goto fail; }
        uint64_t st = (uint64_t)seed * G_GOLDEN64 + 5;
        for (size_t i = 0; i < n; i++, st += G_GOLDEN64) src.entry[i] = (size_t)(g_splitmix64(st) % range);
        src.n = n;
        src.h = real.shape[1];
        src.w = real.shape[2];
        if (stacked_k > 0) {
            src.c = stacked_k;
            src.pool = &pool;
            src.digits = &real;
        } else {
            /* a random subset of the training images, gathered once */
            size_t D = meg_dataset_dim(&real);
            float *x = malloc(n * D * sizeof *x);
            if (!x) { rt_set_error("out of host memory"); goto fail; }
            for (size_t i = 0; i < n; i++) memcpy(x + i * D, real.x + src.entry[i] * D, D * sizeof *x);
            buf = x;   /* freed at the end */
            src.x = x;
            src.c = real.shape[0];
        }
    } else {
        if (meg_samples_read(samples, 0, 0, 0, &file)) goto fail;
        src.x = file.images;
        src.n = (size_t)file.n;
        if (n_opt > 0 && (size_t)n_opt < src.n) src.n = (size_t)n_opt;
        src.c = file.c;
        src.h = file.h;
        src.w = file.w;
    }
    size_t DS = (size_t)src.c * src.h * src.w;
    if (wsamples && src.n * DS > ((size_t)1 << 28)) {
        rt_set_error("--write-samples: %zu images of [%d, %d, %d] are more than 2^28 values; ask for fewer with --n",
                     src.n, src.c, src.h, src.w);
        goto fail;
    }
    if (imgscore_open(&sc, clf_path, NULL, device, data_dir, src.c, src.h, src.w, src.n)) goto fail;
    chunk = malloc(CHUNK_SAMPLES * DS * sizeof *chunk);
    if (!chunk || (wsamples && !src.x && !(all = malloc(src.n * DS * sizeof *all)))) {
        rt_set_error("out of host memory");
        goto fail;
    }
    double t0 = app_now();
    for (size_t i = 0; i < src.n; i += CHUNK_SAMPLES) {
        size_t m = src.n - i < CHUNK_SAMPLES ? src.n - i : CHUNK_SAMPLES;
        const float *x = source_chunk(&src, i, m, chunk);
        if (!x || imgscore_add(&sc, x, m)) goto fail;
        if (all) memcpy(all + i * DS, x, m * DS * sizeof *all);
        if (grid && i == 0) {
            char title[160];
            snprintf(title, sizeof title, "%.100s: the first %zu of %zu", samples, m < 64 ? m : 64, src.n);
            meg_sample_grid g = {.title = title};
            if (meg_png_sample_grid(grid, x, m < 64 ? (int)m : 64, src.c, src.h, src.w, &g)) goto fail;
        }
        if (src.n > 20000)
            fprintf(stderr, "\r%s: %zu / %zu samples classified (%.0f s)", PROG, i + m, src.n, app_now() - t0);
    }
    if (src.n > 20000) fprintf(stderr, "\n");
    imgscore_result res;
    if (imgscore_finish(&sc, &res)) goto fail;
    if (wsamples) {
        meg_st_kv meta[2] = {{"source", samples}, {"made_by", "meg-eval images --write-samples"}};
        if (meg_samples_write(wsamples, all ? all : src.x, (int64_t)src.n, src.c, src.h, src.w, meta, 2)) goto fail;
    }
    printf("{\"samples\": ");
    app_json_string(stdout, samples);
    printf(", \"classifier\": ");
    app_json_string(stdout, clf_path);
    printf(", \"n\": %zu, \"channels\": %d, \"images_scored\": %zu", src.n, src.c, res.images);
    if (res.k > 1) {
        printf(", \"modes\": %zu, \"modes_total\": %zu, \"kl_train\": ", res.modes.modes_covered, res.modes.modes);
        app_json_num(stdout, res.modes.kl_ref, 6);
        printf(", \"kl_uniform\": ");
        app_json_num(stdout, res.modes.kl_uniform, 6);
        printf(", \"ref_unsupported_samples\": %zu", res.modes.ref_unsupported_samples);
    }
    printf(", \"fd\": ");
    app_json_num(stdout, res.fd, 6);
    printf(", \"fd_images\": %zu, \"fd_reference\": ", res.fd_images);
    app_json_string(stdout, sc.clf.data);
    printf(", \"score\": ");
    app_json_num(stdout, res.score, 6);
    printf(", \"classifier_test_accuracy\": ");
    app_json_num(stdout, sc.clf.test_accuracy, 6);
    printf("}\n");
    rc = 0;
fail:
    if (rc) fprintf(stderr, "%s: %s\n", PROG, rt_error());
    free(buf);
    free(all);
    free(chunk);
    free(src.entry);
    meg_samples_free(&file);
    meg_dataset_free(&real);
    meg_stacked_free(&pool);
    imgscore_close(&sc);
    return rc;
}
