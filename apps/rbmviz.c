/* rbmviz.c: the pictures of a trained RBM (rbmviz.h): its filters, its
 * reconstructions of test images, and samples of long Gibbs chains started
 * from noise, as PNG grids. */
#include "rbmviz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "util.h"

int rbmviz_filters(const char *path, const meg_rbm_weights *w, int count, int h, int wd)
{
    int V = w->visible, H = w->hidden;
    if (count > H) count = H;
    float *img = malloc((size_t)count * (size_t)V * sizeof *img);
    if (!img) { rt_set_error("out of host memory"); return -1; }
    for (int j = 0; j < count; j++) {
        double mx = 1e-12;   /* each filter scaled by its own largest |weight|: its shape, not its size */
        for (int i = 0; i < V; i++) mx = fmax(mx, fabs(w->W[(size_t)i * H + j]));
        for (int i = 0; i < V; i++) img[(size_t)j * V + i] = (float)(w->W[(size_t)i * H + j] / mx);
    }
    meg_sample_grid g = {.cols = 10, .title = "RBM filters: weights of hidden units", .caption = "each scaled to its own range"};
    int rc = meg_png_sample_grid(path, img, count, 1, h, wd, &g);
    free(img);
    return rc;
}

int rbmviz_reconstructions(const char *path, g_session *s, g_plan *eval, const meg_rbm *m, const float *v, int n,
                           int h, int wd)
{
    size_t V = (size_t)m->cfg.visible, E = (size_t)m->eval_n;
    if (n > m->eval_n) n = m->eval_n;
    n -= n % 10;
    float *buf = calloc(E * V, sizeof *buf), *img = malloc(2 * (size_t)n * V * sizeof *img);
    int rc = -1;
    if (!buf || !img) { rt_set_error("out of host memory"); goto done; }
    memcpy(buf, v, (size_t)n * V * sizeof *buf);
    if (g_session_write(s, m->x_in, buf) || g_plan_run(eval, 1) || g_session_read(s, m->recon_in, buf)) goto done;
    /* rows of 10 images, then their 10 reconstructions; [0, 1] shown as [-1, 1] */
    for (int r = 0; r < n / 10; r++)
        for (int k = 0; k < 10; k++)
            for (size_t i = 0; i < V; i++) {
                size_t e = (size_t)r * 10 + (size_t)k;
                img[((size_t)r * 20 + (size_t)k) * V + i] = 2 * v[e * V + i] - 1;
                img[((size_t)r * 20 + 10 + (size_t)k) * V + i] = 2 * buf[e * V + i] - 1;
            }
    meg_sample_grid g = {.cols = 10, .title = "test images (odd rows) and their mean-field reconstructions"};
    rc = meg_png_sample_grid(path, img, 2 * n, 1, h, wd, &g);
done:
    free(buf);
    free(img);
    return rc;
}

int rbmviz_samples(const char *path, g_session *s, g_plan *sample, const meg_rbm *m, int steps, uint64_t seed,
                   int h, int wd)
{
    size_t V = (size_t)m->cfg.visible, n = (size_t)m->cfg.samples;
    float *v = malloc(n * V * sizeof *v);
    if (!v) { rt_set_error("out of host memory"); return -1; }
    uint64_t st = seed * G_GOLDEN64 + 0x4E4F495345ull;
    for (size_t i = 0; i < n * V; i++) {
        v[i] = (float)(g_splitmix64(st) >> 63);   /* uniform noise: each unit 0 or 1 with probability 1/2 */
        st += G_GOLDEN64;
    }
    int rc = -1;
    if (g_session_write(s, m->sample_v, v)) goto done;
    for (int done_k = 0; done_k < steps;) {
        int k = steps - done_k < 100 ? steps - done_k : 100;
        if (g_plan_run(sample, k)) goto done;
        done_k += k;
    }
    if (g_session_read(s, m->sample_pv, v)) goto done;
    for (size_t i = 0; i < n * V; i++) v[i] = 2 * v[i] - 1;
    char caption[96];
    snprintf(caption, sizeof caption, "p(v given h) after %d Gibbs steps from noise", steps);
    meg_sample_grid g = {.cols = 10, .title = "RBM samples", .caption = caption};
    rc = meg_png_sample_grid(path, v, (int)n, 1, h, wd, &g);
done:
    free(v);
    return rc;
}
