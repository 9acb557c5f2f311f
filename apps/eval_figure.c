/* eval_figure.c: meg-eval figure: figure 2.2 of the seed from trained 2-D
 * models, one row per checkpoint: the data, the generator's samples and
 * the learned density exp(-E), side by side in one PNG. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "eval_figure.h"
#include "io.h"
#include "megrun.h"
#include "toyviz.h"

static const char *PROG = "meg-eval figure";

#define FIG_MAX_ROWS 8
#define PANEL 560
#define HEADER 48

static void usage(FILE *f)
{
    fprintf(f,
            "usage: meg-eval figure --checkpoint FILE [--checkpoint FILE ...] --out FILE.png [options]\n"
            "\n"
            "Figure 2.2 of the seed from meg-train's checkpoints of 2-D sets: one row per checkpoint\n"
            "(at most %d), with the data, the generator's samples and the learned density exp(-E)\n"
            "(normalised over the grid), each over the set's own box, in one PNG written atomically.\n"
            "Prints one JSON object naming the picture and the rows.\n"
            "\n"
            "options:\n"
            "  --checkpoint FILE  a row (a model trained on a toy set; a CSV model needs --data)\n"
            "  --data PATH        the data of CSV models (all rows)\n"
            "  --out FILE.png     the picture (required)\n"
            "  --title T          the line above the rows (default: iterations and width of each)\n"
            "  --samples N        data points and generator samples per panel (default 5000)\n"
            "  --grid N           density grid N x N (default 300)\n"
            "  --seed S           latents of the samples (default 99)\n"
            "  --device D         Vulkan device index or name substring\n"
            "  -h, --help         this text\n", FIG_MAX_ROWS);
}

/* Row `row` of the figure: the three panels of one checkpoint. */
static int draw_row(meg_canvas *fig, int row, const char *ckpath, const char *data, long samples, long grid,
                    long seed, const char *device, char *label, size_t label_n)
{
    megrun r = {0};
    meg_st_file *ck = NULL;
    meg_canvas p = {0};
    float *z = NULL, *xs = NULL, *e = NULL;
    int rc = -1;
    meg_box box = {-2, 2, -2, 2};
    if (meg_st_read(ckpath, &ck) || megrun_from_meta(&r, ck)) goto done;
    if (megrun_is_image(&r)) {
        rt_set_error("%s is an image model (%s): score its samples with meg-eval images --samples FILE, or sample "
                     "it with meg-sample", ckpath, r.data);
        goto done;
    }
    const char *use = megrun_checkpoint_data(&r, data, ckpath);
    if (!use || megrun_load_data(&r, use, r.cfg.seed, NULL)) goto done;
    if (meg_toy_is_known(r.data) && meg_toy_box(r.data, &box)) goto done;
    if (megrun_open(&r, device) || meg_checkpoint_load(ck, r.s, r.m.g) || megrun_eval_plans(&r)) goto done;
    size_t ns = (size_t)samples, nd = r.n < ns ? r.n : ns;
    z = malloc(ns * (size_t)r.cfg.zdim * sizeof *z);
    xs = malloc(ns * 2 * sizeof *xs);
    if (!z || !xs) { rt_set_error("out of host memory"); goto done; }
    meg_latents(z, ns, r.cfg.zdim, (uint64_t)seed);
    if (meg_eval_generate(r.s, r.gen, &r.m, z, ns, xs) || megrun_energy_grid(&r, box, (int)grid, &e)) goto done;
    char title[160];
    int y = HEADER + row * PANEL;
    snprintf(title, sizeof title, "%.60s: data", r.data);
    if (viz_canvas(&p, box) || viz_draw_points(&p, r.set.x, nd, NULL, 0, NULL, 0, title)) goto done;
    meg_canvas_paste(fig, &p, 0, y);
    meg_canvas_fill(&p, MEG_RGB(255, 255, 255));
    snprintf(title, sizeof title, "G samples, iter %ld", r.iteration);
    if (viz_draw_points(&p, NULL, 0, xs, ns, NULL, 0, title)) goto done;
    meg_canvas_paste(fig, &p, PANEL, y);
    meg_canvas_fill(&p, MEG_RGB(255, 255, 255));
    if (viz_draw_density(&p, e, (int)grid, "density exp(-E)")) goto done;
    meg_canvas_paste(fig, &p, 2 * PANEL, y);
    snprintf(label, label_n, "%.60s: width %d, %ld iterations", r.data, r.cfg.width, r.iteration);
    rc = 0;
done:
    if (rc) rt_error_prefix("%s", ckpath);
    meg_canvas_free(&p);
    free(z);
    free(xs);
    free(e);
    meg_st_free(ck);
    megrun_close(&r);
    return rc;
}

int eval_figure_main(int argc, char **argv)
{
    const char *ck[FIG_MAX_ROWS], *out = NULL, *title = NULL, *data = NULL, *device = NULL;
    int rows = 0;
    long samples = 5000, grid = 300, seed = 99;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--checkpoint") && v) {
            if (rows == FIG_MAX_ROWS) {
                fprintf(stderr, "%s: at most %d checkpoints (rows)\n", PROG, FIG_MAX_ROWS);
                return 2;
            }
            ck[rows++] = v;
            i++;
        }
        else if (!strcmp(a, "--out") && v) { out = v; i++; }
        else if (!strcmp(a, "--title") && v) { title = v; i++; }
        else if (!strcmp(a, "--data") && v) { data = v; i++; }
        else if (!strcmp(a, "--device") && v) { device = v; i++; }
        else if (!strcmp(a, "--samples")) { if (app_parse_int(PROG, a, v, 1, 1000000, &samples)) return 2; i++; }
        else if (!strcmp(a, "--grid")) { if (app_parse_int(PROG, a, v, 8, 2048, &grid)) return 2; i++; }
        else if (!strcmp(a, "--seed")) { if (app_parse_int(PROG, a, v, 0, 1L << 40, &seed)) return 2; i++; }
        else {
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", PROG, a);
            return 2;
        }
    }
    if (!rows || !out) {
        fprintf(stderr, "%s: at least one --checkpoint FILE and --out FILE.png are required (see --help)\n", PROG);
        return 2;
    }
    meg_canvas fig;
    char labels[FIG_MAX_ROWS][160];
    if (meg_canvas_init(&fig, 3 * PANEL, HEADER + rows * PANEL, 0, (meg_box){0, 1, 0, 1})) {
        fprintf(stderr, "%s: %s\n", PROG, rt_error());
        return 1;
    }
    meg_canvas_fill(&fig, MEG_RGB(255, 255, 255));
    int rc = 1;
    for (int k = 0; k < rows; k++)
        if (draw_row(&fig, k, ck[k], data, samples, grid, seed, device, labels[k], sizeof labels[k])) goto fail;
    char head[512];
    if (title) {
        snprintf(head, sizeof head, "%s", title);
    } else {
        /* the rows' settings, when they agree */
        snprintf(head, sizeof head, "MEG (figure 2.2): %s", labels[0]);
        for (int k = 1; k < rows && strlen(head) < 200; k++)
            snprintf(head + strlen(head), sizeof head - strlen(head), " / %s", labels[k]);   /* the font has no ; */
    }
    int scale = 2;
    while (scale > 1 && meg_text_width(head, scale) > fig.width - 16) scale--;
    meg_plot_text(&fig, (fig.width - meg_text_width(head, scale)) / 2, (HEADER - meg_text_height(scale)) / 2, scale,
                  head, MEG_RGB(0, 0, 0));
    if (meg_canvas_write_png(&fig, out)) goto fail;
    printf("{\"figure\": ");
    app_json_string(stdout, out);
    printf(", \"rows\": [");
    for (int k = 0; k < rows; k++) {
        printf("%s", k ? ", " : "");
        app_json_string(stdout, labels[k]);
    }
    printf("]}\n");
    rc = 0;
fail:
    if (rc) fprintf(stderr, "%s: %s\n", PROG, rt_error());
    meg_canvas_free(&fig);
    return rc;
}
