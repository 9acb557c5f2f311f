/* conv_blocks.c: the register blocks of the convolution kernels (conv2d,
 * conv_transpose2d, conv2d_wgrad): the hand-picked default, tuned on
 * llvmpipe, and the other candidates that the autotune times on a device
 * (runtime/autotune.c) or $MEG_CONV_CANDIDATE forces. Every candidate
 * computes each output by the same sum in the same order; only the blocks
 * that an invocation keeps in registers differ. */
#include "exec_internal.h"
#include "runtime.h"

#include <string.h>

/* A pixel block of at most pix outputs: TN columns (the row cut into equal
 * blocks) x RB rows, so that narrow images (7, 4, 2 wide) waste no lanes. */
static void pixel_block(uint32_t wo, uint32_t ho, uint32_t pix, uint32_t *tn, uint32_t *rb)
{
    uint32_t nbw = (wo + pix - 1) / pix;
    *tn = (wo + nbw - 1) / nbw;
    uint32_t r = pix / *tn;
    *rb = r > ho ? ho : r < 1 ? 1 : r;
}

/* One candidate: TM output channels (of the weight gradient: channels a),
 * and for conv2d and conv_transpose2d a block of at most pix pixels (spec
 * ids 11 TM, 12 TN after the 11 shape constants; conv2d 13 RB;
 * conv_transpose2d 13 its class padding, the subgroup size, 14 RB, 15 cb,
 * its channels per block). Groups: x (continued along z) over 64
 * invocations each, y over the channel blocks. */
static void candidate(g_op op, const uint32_t *shape, uint32_t subgroup, const uint32_t *maxg, uint32_t tm,
                      uint32_t pix, uint32_t cb, rt_tune_cand *c)
{
    uint32_t nb = shape[0], o = shape[4], kh = shape[5], s = shape[7], ho = shape[9], wo = shape[10], tn, rb;
    memset(c, 0, sizeof *c);
    memcpy(c->spec, shape, 11 * sizeof *shape);
    if (tm > o) tm = o;
    c->spec[11] = tm;
    c->nspec = 12;
    size_t lanes = 0;
    if (op == G_OP_CONV2D_WGRAD) {
        lanes = (size_t)((o + tm - 1) / tm) * shape[1] * kh;
    } else if (op == G_OP_CONV2D) {
        pixel_block(wo, ho, pix, &tn, &rb);
        c->spec[12] = tn;
        c->spec[13] = rb;
        c->nspec = 14;
        lanes = (size_t)nb * ((ho + rb - 1) / rb) * ((wo + tn - 1) / tn);
    } else {
        size_t hoc = (ho + s - 1) / s, woc = (wo + s - 1) / s;
        pixel_block((uint32_t)woc, (uint32_t)hoc, pix, &tn, &rb);
        uint32_t run = subgroup >= 1 && subgroup <= 64 ? subgroup : 8;
        size_t cls = ((size_t)nb * ((hoc + rb - 1) / rb) * ((woc + tn - 1) / tn) + run - 1) / run * run;
        c->spec[12] = tn;
        c->spec[13] = run;
        c->spec[14] = rb;
        c->spec[15] = cb;
        c->nspec = 16;
        lanes = (size_t)s * s * cls;
    }
    size_t g = (lanes + 63) / 64, z;
    c->groups[0] = g > maxg[0] ? maxg[0] : (uint32_t)(g ? g : 1);
    z = (g + c->groups[0] - 1) / c->groups[0];
    c->groups[1] = op == G_OP_CONV2D_WGRAD ? 1 : (o + tm - 1) / tm;
    c->groups[2] = z > UINT32_MAX ? UINT32_MAX : (uint32_t)(z ? z : 1);
}

int x_conv_candidates(g_op op, const uint32_t *shape, uint32_t subgroup, const uint32_t *maxg, rt_tune_cand *out)
{
    /* (TM, pixels, channels per block). The default first: 16 channels
     * took fewer instructions per FMA than 8 on llvmpipe (callgrind), 32
     * no better; 16 pixels spilled more than they saved; blocks of 8 or 32
     * channels in conv_transpose2d cost more instructions or cache misses.
     * The others are for devices with other register files and caches. */
    static const uint32_t blocks[][3] = {
        {16, 8, 16}, {8, 8, 16}, {32, 8, 16}, {16, 4, 16}, {8, 4, 16}, {32, 4, 16}, {16, 16, 16}, {4, 8, 16},
        {16, 8, 8},  {16, 8, 32},
    };
    int n = 0;
    for (int i = 0; i < (int)(sizeof blocks / sizeof blocks[0]) && n < RT_TUNE_MAX_CANDIDATES; i++) {
        if (op != G_OP_CONV_TRANSPOSE2D && blocks[i][2] != 16) continue;
        candidate(op, shape, subgroup, maxg, blocks[i][0], blocks[i][1], blocks[i][2], &out[n]);
        int dup = 0;
        for (int j = 0; j < n && !dup; j++)
            dup = out[j].nspec == out[n].nspec && !memcmp(out[j].spec, out[n].spec, (size_t)out[n].nspec * 4);
        if (!dup) n++;
    }
    return n;
}
