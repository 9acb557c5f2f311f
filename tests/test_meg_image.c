/* test_meg_image.c: MEG with the convolutional networks on 28 x 28 images:
 * the networks' shapes and initialisation, the training iteration on the
 * device against the CPU reference, the two penalty norms, a checkpoint
 * that resumes bit for bit (batch-norm running statistics included), and a
 * short run after which data has lower energy than noise. Validation on. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"
#include "io.h"
#include "meg.h"

enum { NIMG = 96, HW = 28 * 28 };

/* Two kinds of "digit": a bright horizontal or vertical bar on a dark
 * background, at a few positions, with a little noise: a set whose
 * images are far from uniform noise. */
static void fake_images(meg_dataset *d, int channels)
{
    memset(d, 0, sizeof *d);
    d->name = strdup("fake");
    d->n = NIMG;
    d->ndim = 3;
    d->shape[0] = channels;
    d->shape[1] = d->shape[2] = 28;
    size_t dim = (size_t)channels * HW;
    d->x = malloc(NIMG * dim * sizeof *d->x);
    d->u8 = malloc(NIMG * dim);
    d->labels = malloc(NIMG * sizeof *d->labels);
    uint64_t st = 12345;
    for (size_t i = 0; i < NIMG; i++) {
        int vertical = (int)(i % 2), pos = 8 + (int)(i / 2 % 12);
        d->labels[i] = vertical;
        for (size_t k = 0; k < dim; k++) {
            int r = (int)(k % HW) / 28, c = (int)(k % 28);
            int on = vertical ? (c >= pos && c < pos + 3) : (r >= pos && r < pos + 3);
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            int v = (on ? 230 : 10) + (int)((st >> 59) & 15);
            d->u8[i * dim + k] = (uint8_t)v;
            d->x[i * dim + k] = meg_pixel_value((uint8_t)v);
        }
    }
}

static void small_config(meg_config *c, int channels)
{
    meg_config_image(c, channels);
    c->width = 16;     /* channels 2, 4, 8, 16 */
    c->zdim = 8;
    c->batch = 8;
    c->n_energy = 2;
    c->lr = 1e-3f;
    c->seed = 3;
}

typedef struct run {
    meg_dataset d;
    meg_image_source src;
    meg_model m;
    g_session *s;
    g_plan *train;
} run;

static void run_open(run *r, const meg_config *c)
{
    fake_images(&r->d, c->channels);
    r->src = (meg_image_source){.set = &r->d};
    ck_assert_msg(meg_model_build_images(&r->m, c, &r->src, 16) == 0, "%s", rt_error());
    ck_assert_msg(g_session_new(th_ctx(), r->m.g, c->seed, &r->s) == 0, "%s", rt_error());
    ck_assert_msg(meg_model_upload_images(r->s, &r->m, &r->src) == 0, "%s", rt_error());
    g_tensor *roots[] = {r->m.step, r->m.loss_e, r->m.loss_g, r->m.penalty};
    ck_assert_msg(g_plan_new(r->s, roots, 4, NULL, &r->train) == 0, "%s", rt_error());
}

static void run_close(run *r)
{
    g_plan_free(r->train);
    g_session_free(r->s);
    meg_model_free(&r->m);
    meg_dataset_free(&r->d);
}

static float read1(g_session *s, g_tensor *t)
{
    float v;
    ck_assert(g_session_read(s, t, &v) == 0);
    return v;
}

START_TEST(image_networks_have_the_authors_shapes)
{
    meg_config c;
    meg_config_image(&c, 3);
    ck_assert_int_eq(c.dim, 3 * HW);
    ck_assert(c.zdim == 128 && c.batch == 64 && c.width == 512 && c.lambda == 10.0f && c.n_energy == 5);
    meg_model m;
    ck_assert_msg(meg_model_build_images(&m, &c, NULL, 4) == 0, "%s", rt_error());
    ck_assert_ptr_null(m.step);   /* no source: evaluation only */
    ck_assert(m.gen->ndim == 4 && m.gen->shape[1] == 3 && m.gen->shape[2] == 28 && m.gen->shape[3] == 28);
    ck_assert(m.energy->ndim == 2 && m.energy->shape[0] == 4 && m.energy->shape[1] == 1);
    /* E: 3 -> 64 -> 128 -> 256 -> 512 at 14, 7, 4, 2; G mirrors it from 2 x 2 x 512 */
    const int ech[5] = {3, 64, 128, 256, 512};
    for (int l = 0; l < MEG_IMAGE_BLOCKS; l++) {
        const g_tensor *w = m.net.e_conv[l].w;
        ck_assert(w->shape[0] == ech[l + 1] && w->shape[1] == ech[l] && w->shape[2] == 5);
        const g_tensor *gw = m.net.g_conv[l].w;   /* transposed: [in, out, k, k] */
        ck_assert(gw->shape[0] == ech[4 - l] && gw->shape[1] == ech[3 - l]);
    }
    ck_assert(m.net.g_in.w->shape[1] == 2048 && m.net.e_out.w->shape[0] == 2048 && m.net.t_h.w->shape[0] == 256);
    g_tensor *ps[MEG_IMAGE_MAX_PARAMS];
    ck_assert_int_eq(meg_image_params(&m.net, 'E', ps), 10);
    ck_assert_int_eq(meg_image_params(&m.net, 'G', ps), 18);
    ck_assert_int_eq(meg_image_params(&m.net, 'T', ps), 14);
    /* the authors' initialisation: conv weights N(0, 0.02), batch-norm scales N(1, 0.02) */
    const g_tensor *leaves[2] = {m.net.e_conv[2].w, m.net.g_bn[0].gamma};
    const double want_mean[2] = {0, 1};
    for (int k = 0; k < 2; k++) {
        size_t n = g_numel(leaves[k]);
        float *v = malloc(n * sizeof *v);
        ck_assert(g_init_values(leaves[k], 1, v) == 0);
        double s = 0, ss = 0;
        for (size_t i = 0; i < n; i++) s += v[i];
        for (size_t i = 0; i < n; i++) ss += (v[i] - s / n) * (v[i] - s / n);
        double mean = s / n, sd = sqrt(ss / n);
        ck_assert_msg(fabs(mean - want_mean[k]) < 4 * 0.02 / sqrt((double)n) + 1e-4 && fabs(sd - 0.02) < 0.003,
                      "%s: mean %g, std %g", leaves[k]->name, mean, sd);
        free(v);
    }
    meg_model_free(&m);
    /* other shapes are refused */
    c.height = 32;
    ck_assert_int_eq(meg_model_build_images(&m, &c, NULL, 4), -1);
    ck_assert_msg(strstr(rt_error(), "28 x 28"), "%s", rt_error());
}
END_TEST

START_TEST(image_iteration_matches_the_reference)
{
    meg_config c;
    small_config(&c, 1);
    c.n_energy = 1;
    run a = {0};
    run_open(&a, &c);
    ck_assert(g_plan_run(a.train, 2) == 0);
    g_ref *r = g_ref_new(a.m.g, c.seed);
    ck_assert_msg(meg_device_set_upload_ref(r, &a.m.images, &a.d) == 0, "%s", rt_error());
    g_tensor *roots[] = {a.m.step, a.m.loss_e, a.m.loss_g, a.m.penalty};
    for (int k = 0; k < 2; k++) ck_assert_msg(g_ref_run(r, roots, 4) == 0, "%s", g_ref_error(r));
    for (int k = 1; k < 4; k++) {
        float v = read1(a.s, roots[k]);
        double w = g_ref_value(r, roots[k])[0];
        ck_assert_msg(fabs(v - w) < 2e-3 * (1 + fabs(w)), "root %d: device %g, reference %g", k, v, w);
    }
    /* the running statistics moved, and agree */
    const g_tensor *rv = a.m.net.g_bn[1].run_var;
    float v[64];
    ck_assert(g_session_read(a.s, (g_tensor *)rv, v) == 0);
    const double *w = g_ref_value(r, rv);
    for (int i = 0; i < rv->shape[0]; i++) {
        ck_assert_msg(fabs(v[i] - 1.0f) > 1e-4, "running variance %d did not move", i);
        ck_assert_msg(fabs(v[i] - w[i]) < 1e-3 * (1 + fabs(w[i])), "running variance %d: %g vs %g", i, v[i], w[i]);
    }
    g_ref_free(r);
    run_close(&a);
}
END_TEST

START_TEST(channel_norm_penalty_is_the_paper_penalty_over_pixels)
{
    meg_config c;
    small_config(&c, 3);
    c.n_energy = 1;
    float pen[2];
    for (int k = 0; k < 2; k++) {
        c.penalty_channel_norm = k;
        run a = {0};
        run_open(&a, &c);
        ck_assert(g_plan_run(a.train, 1) == 0);
        pen[k] = read1(a.s, a.m.penalty);
        run_close(&a);
    }
    ck_assert_msg(pen[0] > 0 && fabs(pen[1] * HW - pen[0]) < 1e-4 * pen[0], "penalties %g (paper) and %g (authors)",
                  pen[0], pen[1]);
}
END_TEST

START_TEST(image_checkpoint_resumes_bit_for_bit)
{
    meg_config c;
    small_config(&c, 1);
    run a = {0}, b = {0};
    run_open(&a, &c);
    ck_assert(g_plan_run(a.train, 5) == 0);
    run_open(&b, &c);
    ck_assert(g_plan_run(b.train, 3) == 0);
    char path[256];
    snprintf(path, sizeof path, "/tmp/meg-test-%d-image.safetensors", (int)getpid());
    ck_assert_msg(meg_checkpoint_save(path, b.s, b.m.g, NULL, 0) == 0, "%s", rt_error());
    run_close(&b);
    run_open(&b, &c);
    meg_st_file *f;
    ck_assert_msg(meg_st_read(path, &f) == 0, "%s", rt_error());
    ck_assert_ptr_nonnull(meg_st_find(f, "G.run_mean0"));
    ck_assert_msg(meg_checkpoint_load(f, b.s, b.m.g) == 0, "%s", rt_error());
    meg_st_free(f);
    ck_assert(g_plan_run(b.train, 2) == 0);
    for (int id = 0; id < g_graph_size(a.m.g); id++) {
        g_tensor *t = g_graph_node(a.m.g, id);
        if (t->op != G_OP_PARAM && t->op != G_OP_STATE) continue;
        size_t n = g_numel(t);
        float *va = malloc(n * sizeof *va), *vb = malloc(n * sizeof *vb);
        ck_assert(g_session_read(a.s, t, va) == 0 && g_session_read(b.s, g_graph_node(b.m.g, id), vb) == 0);
        ck_assert_msg(!memcmp(va, vb, n * sizeof *va), "%s differs after resuming", t->name);
        free(va);
        free(vb);
    }
    remove(path);
    run_close(&a);
    run_close(&b);
}
END_TEST

START_TEST(short_image_training_puts_data_below_noise)
{
    meg_config c;
    small_config(&c, 1);
    run a = {0};
    run_open(&a, &c);
    for (int k = 0; k < 6; k++) {
        ck_assert_msg(g_plan_run(a.train, 10) == 0, "%s", rt_error());
        ck_assert(isfinite(read1(a.s, a.m.loss_e)) && isfinite(read1(a.s, a.m.loss_g)));
    }
    /* energies of 16 training images against 16 images of uniform noise */
    g_plan *pe;
    ck_assert_msg(g_plan_new(a.s, &a.m.energy, 1, NULL, &pe) == 0, "%s", rt_error());
    float x[16 * HW], e[2][16];
    for (int k = 0; k < 2; k++) {
        if (k == 0) memcpy(x, a.d.x + 16 * HW, sizeof x);
        else {
            th_random(x, 16 * HW, 9);
            for (int i = 0; i < 16 * HW; i++) x[i] = x[i] > 1 ? 1 : x[i] < -1 ? -1 : x[i];
        }
        ck_assert(meg_eval_energy(a.s, pe, &a.m, x, 16, e[k]) == 0);
    }
    double md = 0, mn = 0;
    for (int i = 0; i < 16; i++) md += e[0][i] / 16, mn += e[1][i] / 16;
    ck_assert_msg(md < mn - 0.1, "mean energy of data %g, of noise %g", md, mn);
    /* generated images are images: G(z) in [-1, 1] of the right size */
    g_plan *pg;
    ck_assert_msg(g_plan_new(a.s, &a.m.gen, 1, NULL, &pg) == 0, "%s", rt_error());
    float z[16 * 8], xs[16 * HW];
    meg_latents(z, 16, 8, 1);
    ck_assert(meg_eval_generate(a.s, pg, &a.m, z, 16, xs) == 0);
    for (int i = 0; i < 16 * HW; i++) ck_assert(xs[i] >= -1 && xs[i] <= 1);
    g_plan_free(pg);
    g_plan_free(pe);
    run_close(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meg_image");
    TCase *tc = tcase_create("meg_image");
    th_validated(tc);
    tcase_add_test(tc, image_networks_have_the_authors_shapes);
    tcase_add_test(tc, image_iteration_matches_the_reference);
    tcase_add_test(tc, channel_norm_penalty_is_the_paper_penalty_over_pixels);
    tcase_add_test(tc, image_checkpoint_resumes_bit_for_bit);
    tcase_add_test(tc, short_image_training_puts_data_below_noise);
    suite_add_tcase(s, tc);
    return th_run(s);
}
