/* megimages.c: samples, pictures and classifier numbers of an image MEG
 * model (see megimages.h). */
#include "megimages.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "util.h"

#define SCORE_CHUNK 2000

static size_t dim_of(const megrun *r) { return (size_t)r->cfg.channels * r->cfg.height * r->cfg.img_width; }

int megimages_generate(megrun *r, size_t n, uint64_t seed, float **x)
{
    *x = NULL;
    float *z = malloc(n * (size_t)r->cfg.zdim * sizeof *z), *xs = malloc(n * dim_of(r) * sizeof *xs);
    if (!z || !xs) {
        free(z);
        free(xs);
        rt_set_error("out of host memory for %zu samples", n);
        return -1;
    }
    meg_latents(z, n, r->cfg.zdim, seed);
    int rc = megrun_eval_plans(r) || meg_eval_generate(r->s, r->gen, &r->m, z, n, xs) ? -1 : 0;
    free(z);
    if (rc) free(xs);
    else *x = xs;
    return rc;
}

int megimages_grid(const megrun *r, const char *png, const float *x, size_t n, const char *title)
{
    meg_sample_grid g = {.title = title};
    int k = n < MEGIMAGES_GRID ? (int)n : MEGIMAGES_GRID;
    return meg_png_sample_grid(png, x, k, r->cfg.channels, r->cfg.height, r->cfg.img_width, &g);
}

int megimages_write(megrun *r, const char *dir, size_t n)
{
    float *x;
    char path[4200], title[160], it[32];
    if (megimages_generate(r, n, r->cfg.seed + 7, &x)) return -1;
    snprintf(path, sizeof path, "%s/samples.png", dir);
    snprintf(title, sizeof title, "MEG samples, %.60s, iteration %ld", r->data, r->iteration);
    snprintf(it, sizeof it, "%ld", r->iteration);
    meg_st_kv meta[3] = {{"source", "meg-train"}, {"data", r->data}, {"iteration", it}};
    int rc = megimages_grid(r, path, x, n, title);
    snprintf(path, sizeof path, "%s/samples.safetensors", dir);
    if (!rc) rc = meg_samples_write(path, x, (int64_t)n, r->cfg.channels, r->cfg.height, r->cfg.img_width, meta, 3);
    free(x);
    return rc;
}

int megimages_score(megrun *r, imgscore *sc, size_t n, uint64_t seed, imgscore_result *res)
{
    imgscore_reset(sc);
    size_t Z = (size_t)r->cfg.zdim, D = dim_of(r), m = n < SCORE_CHUNK ? n : SCORE_CHUNK;
    float *z = malloc(n * Z * sizeof *z), *x = malloc(m * D * sizeof *x);
    int rc = -1;
    if (!z || !x) { rt_set_error("out of host memory for %zu samples", n); goto done; }
    meg_latents(z, n, r->cfg.zdim, seed);
    if (megrun_eval_plans(r)) goto done;
    for (size_t i = 0; i < n; i += m) {
        size_t k = n - i < m ? n - i : m;
        if (meg_eval_generate(r->s, r->gen, &r->m, z + i * Z, k, x) || imgscore_add(sc, x, k)) goto done;
    }
    rc = imgscore_finish(sc, res);
done:
    free(z);
    free(x);
    return rc;
}


int megimages_curve(const char *log, const char *png, const char *data)
{
    FILE *f = fopen(log, "r");
    if (!f) { rt_set_error("%s: cannot open the log to draw the curve", log); return -1; }
    int stacked = meg_stacked_name_k(data) > 0;
    const char *key = stacked ? "modes" : "fd";
    size_t n = 0, cap = 0;
    float *xy = NULL;
    char line[2048];
    double ymax = 0, xmax = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "\"eval_n\"")) continue;
        double it = app_json_field(line, "iter"), v = app_json_field(line, key);
        if (!isfinite(it) || !isfinite(v)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            float *t = realloc(xy, cap * 2 * sizeof *t);
            if (!t) { free(xy); fclose(f); rt_set_error("out of host memory"); return -1; }
            xy = t;
        }
        xy[2 * n] = (float)it;
        xy[2 * n + 1] = (float)v;
        if (v > ymax) ymax = v;
        if (it > xmax) xmax = it;
        n++;
    }
    fclose(f);
    int rc = 0;
    if (n >= 2) {
        double top = stacked ? meg_stacked_modes(meg_stacked_name_k(data)) * 1.05 : ymax * 1.1;
        meg_canvas c;
        meg_box box = {0, xmax * 1.02, 0, top > 0 ? top : 1};
        char title[160];
        /* short enough for the canvas at the font's scale 2 */
        snprintf(title, sizeof title, "%.20s: %s by iteration", data, stacked ? "modes" : "Frechet distance");
        rc = meg_canvas_init(&c, 640, 400, 64, box);
        if (!rc) {
            meg_plot_polyline(&c, xy, n, (meg_rgb){200, 40, 40}, 1.0);
            meg_plot_points(&c, xy, n, 2.5, (meg_rgb){200, 40, 40}, 1.0);
            meg_plot_frame(&c, (meg_rgb){0, 0, 0});
            meg_plot_title(&c, title, (meg_rgb){0, 0, 0});
            rc = meg_canvas_write_png(&c, png);
            meg_canvas_free(&c);
        }
    }
    free(xy);
    return rc;
}
