/* ops.c: the first kernels (fill, copy, axpy, matmul): specialization
 * constants, view formats and group counts. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void rt_groups_1d(const rt_ctx *ctx, size_t invocations, uint32_t local, uint32_t groups[3])
{
    const uint32_t *max = ctx->props.limits.maxComputeWorkGroupCount;
    size_t g = (invocations + local - 1) / (local ? local : 1);
    if (g == 0) g = 1;
    groups[0] = g > max[0] ? max[0] : (uint32_t)g;
    size_t rest = (g + groups[0] - 1) / groups[0];
    groups[1] = rest > max[1] ? max[1] : (uint32_t)rest;
    rest = (rest + groups[1] - 1) / groups[1];
    /* past every axis: the recorder's limit check names the dispatch */
    groups[2] = rest > UINT32_MAX ? UINT32_MAX : (uint32_t)rest;
}

static int check_count(size_t count, const char *what)
{
    if (count > 0xffffffffu) { rt_set_error("%s of %zu elements (at most 2^32 - 1)", what, count); return -1; }
    return 0;
}

int rt_fill(rt_cmd *c, rt_buffer *dst, size_t offset, size_t count, float value)
{
    if (check_count(count, "fill")) return -1;
    rt_kernel *k;
    if (rt_kernel_get(((struct rt_buffer *)dst)->ctx, "fill", NULL, 0, &k)) return -1;
    struct { uint32_t count; float value; } p = {(uint32_t)count, value};
    rt_binding b = {dst, offset, count * 4, 0};
    uint32_t gr[3];
    rt_groups_1d(dst->ctx, count, 64, gr);
    return rt_cmd_dispatch(c, k, &b, 1, &p, sizeof p, gr[0], gr[1], gr[2], "fill");
}

int rt_copy_kernel(rt_cmd *c, rt_buffer *src, size_t src_off, rt_buffer *dst, size_t dst_off, size_t count)
{
    if (check_count(count, "copy")) return -1;
    rt_kernel *k;
    if (rt_kernel_get(src->ctx, "copy", NULL, 0, &k)) return -1;
    uint32_t p = (uint32_t)count;
    rt_binding b[2] = {{src, src_off, count * 4, 0}, {dst, dst_off, count * 4, 0}};
    uint32_t gr[3];
    rt_groups_1d(src->ctx, count, 64, gr);
    return rt_cmd_dispatch(c, k, b, 2, &p, sizeof p, gr[0], gr[1], gr[2], "copy");
}

int rt_axpy(rt_cmd *c, float a, rt_buffer *x, size_t x_off, rt_buffer *y, size_t y_off, size_t count)
{
    if (check_count(count, "axpy")) return -1;
    rt_kernel *k;
    if (rt_kernel_get(x->ctx, "axpy", NULL, 0, &k)) return -1;
    struct { uint32_t count; float a; } p = {(uint32_t)count, a};
    rt_binding b[2] = {{x, x_off, count * 4, 0}, {y, y_off, count * 4, 0}};
    uint32_t gr[3];
    rt_groups_1d(x->ctx, count, 64, gr);
    return rt_cmd_dispatch(c, k, b, 2, &p, sizeof p, gr[0], gr[1], gr[2], "axpy");
}

/* Register-block shapes the benchmark compares (variant 1..); variant 0
 * picks by shape. */
typedef struct mm_shape { uint32_t tm, tn, wg, lanes_m, tiled; } mm_shape;
static const mm_shape variants[] = {
    {0, 0, 0, 0},   /* 0: automatic */
    {4, 4, 16, 0},  /* 1 */
    {8, 4, 16, 0},  /* 2 */
    {8, 8, 16, 0},  /* 3 */
    {16, 4, 16, 0}, /* 4 */
    {4, 8, 16, 0},  /* 5 */
    {8, 4, 64, 0},  /* 6 */
    {4, 16, 16, 0}, /* 7 */
    {8, 4, 8, 0},   /* 8 */
    {8, 8, 16, 1},  /* 9: lanes along M */
    {4, 8, 16, 1},  /* 10 */
    {8, 8, 8, 0},   /* 11 */
    {8, 8, 32, 0},  /* 12 */
    {12, 4, 16, 0}, /* 13 */
    {4, 12, 16, 0}, /* 14 */
    {16, 8, 16, 0}, /* 15 */
    /* wider workgroups: a GPU runs 32 or 64 invocations per subgroup, so 16
     * leave lanes idle there (not measured on a GPU yet: tools/device-check) */
    {4, 4, 64, 0},  /* 16 */
    {4, 4, 64, 1},  /* 17 */
    {8, 8, 64, 1},  /* 18 */
    {4, 8, 128, 1}, /* 19 */
    /* 20: shared-memory tiles (64 x 64 outputs, 4 x 4 per invocation, 256
     * invocations): the usual GPU form; slow on llvmpipe, where shared
     * memory and barriers are dear */
    {4, 4, 256, 0, 1},
};
#define NVARIANTS ((int)(sizeof variants / sizeof variants[0]))

int rt_matmul_variants(void) { return NVARIANTS; }

int rt_matmul_choose(rt_ctx *ctx, const rt_matmul_desc *d, size_t a_off, size_t b_off, size_t out_off,
                     rt_matmul_plan *p)
{
    (void)out_off;
    if (d->m == 0 || d->n == 0 || d->k == 0) {
        rt_set_error("matmul of shape %u x %u x %u (M x K x N): every dimension must be at least 1", d->m, d->k, d->n);
        return -1;
    }
    if (d->ones_row && d->ones_from >= d->k) {
        rt_set_error("matmul of shape %u x %u x %u (M x K x N): its row of ones starts at k = %u, past K", d->m, d->k,
                     d->n, d->ones_from);
        return -1;
    }
    if (d->variant < 0 || d->variant >= NVARIANTS) {
        rt_set_error("matmul variant %d does not exist (0..%d)", d->variant, NVARIANTS - 1);
        return -1;
    }
    mm_shape s = variants[d->variant];
    const char *env = d->variant == 0 ? getenv("MEG_MATMUL_VARIANT") : NULL;
    int tuned = 0;
    if (d->variant == 0 && !(env && *env) && rt__autotune_matmul(ctx, d, a_off, b_off, &tuned)) return -1;
    if (tuned > 0) {
        s = variants[tuned];   /* measured fastest on this device (autotune.c) */
    } else if (env && *env) {
        /* a user's choice for every matmul, e.g. the best of `meg-bench matmul --variant all` on a GPU */
        char *end;
        long v = strtol(env, &end, 10);
        if (*end || v < 1 || v >= NVARIANTS) {
            rt_set_error("MEG_MATMUL_VARIANT=%s: not a matmul variant (1..%d, or unset for automatic)", env,
                         NVARIANTS - 1);
            return -1;
        }
        s = variants[v];
    } else if (d->variant == 0) {
        if (d->n < 8 && d->m >= 4 * d->n) s = (mm_shape){8, d->n < 4 ? d->n : 4, 16, 1};
        /* 16 x 8 blocks: 8-14% faster than 8 x 8 on llvmpipe at 256 x 512 x 512
         * and 512 x 256 x 512 in all layouts, measured side by side; no clear
         * gain at 256 x 128 x 128 */
        else if (d->m >= 256 && d->n >= 256) s = (mm_shape){16, 8, 16, 0};
        else s = (mm_shape){8, 8, 16, 0};
    }
    memset(p, 0, sizeof *p);
    int va = !s.tiled && (d->transpose_a ? (d->m % 4 == 0 && s.tm % 4 == 0) : d->k % 4 == 0) && a_off % 16 == 0;
    int vb = !s.tiled && (d->transpose_b ? d->k % 4 == 0 : (d->n % 4 == 0 && s.tn % 4 == 0)) && b_off % 16 == 0;
    uint32_t *sp = p->spec;
    sp[0] = s.wg;
    sp[1] = d->m;
    sp[2] = d->n;
    sp[3] = d->k;
    sp[4] = d->transpose_a ? 1 : 0;
    sp[5] = d->transpose_b ? 1 : 0;
    sp[6] = (uint32_t)va;
    sp[7] = (uint32_t)vb;
    sp[8] = sp[9] = sp[10] = 0;   /* unused */
    sp[11] = s.tm;
    sp[12] = s.tn;
    sp[13] = s.lanes_m;
    sp[14] = d->ones_row ? 1 : 0;
    sp[15] = d->ones_row ? d->ones_from : 0;
    p->nspec = 16;
    p->tiled = (int)s.tiled;
    p->vec4_a = va;
    p->vec4_b = vb;
    uint32_t rows = d->m + (d->ones_row ? 1 : 0);
    uint32_t mb = (rows + s.tm - 1) / s.tm, nb = (d->n + s.tn - 1) / s.tn;
    if (s.tiled) {
        p->groups[0] = (d->n + 63) / 64;
        p->groups[1] = (rows + 63) / 64;
    } else if (s.lanes_m) {
        p->groups[0] = (mb + s.wg - 1) / s.wg;
        p->groups[1] = nb;
    } else {
        p->groups[0] = (nb + s.wg - 1) / s.wg;
        p->groups[1] = mb;
    }
    p->groups[2] = 1;
    /* more block rows (columns) than the device's y axis: continued along z
     * (the kernel's MM_GROUP_Y); extra blocks past the end do nothing */
    uint32_t max_y = ctx->props.limits.maxComputeWorkGroupCount[1];
    if (p->groups[1] > max_y) {
        p->groups[2] = (p->groups[1] + max_y - 1) / max_y;
        p->groups[1] = (p->groups[1] + p->groups[2] - 1) / p->groups[2];
    }
    return 0;
}

int rt_matmul(rt_cmd *c, const rt_matmul_desc *d, rt_binding a, rt_binding b, rt_binding out)
{
    rt_ctx *ctx = a.buf->ctx;
    size_t need_a = (size_t)d->m * d->k * 4, need_b = (size_t)d->k * d->n * 4;
    size_t need_c = (size_t)(d->m + (d->ones_row ? 1 : 0)) * d->n * 4; /* the ones row is row M of C */
    size_t ha = a.size ? a.size : a.buf->size - a.offset, hb = b.size ? b.size : b.buf->size - b.offset;
    size_t hc = out.size ? out.size : out.buf->size - out.offset;
    if (ha < need_a || hb < need_b || hc < need_c) {
        rt_set_error("matmul %u x %u x %u (M x K x N): operand ranges of %zu, %zu, %zu bytes are smaller than "
                     "the %zu, %zu, %zu bytes needed", d->m, d->k, d->n, ha, hb, hc, need_a, need_b, need_c);
        return -1;
    }
    rt_matmul_plan p;
    if (rt_matmul_choose(ctx, d, a.offset, b.offset, out.offset, &p)) return -1;
    rt_kernel *k;
    if (rt_kernel_get(ctx, p.tiled ? "matmul_tiled" : "matmul", p.spec, p.nspec, &k)) return -1;
    rt_binding bs[3] = {a, b, out};
    bs[0].vec4 = p.vec4_a;
    bs[1].vec4 = p.vec4_b;
    return rt_cmd_dispatch(c, k, bs, 3, NULL, 0, p.groups[0], p.groups[1], p.groups[2], "matmul");
}
