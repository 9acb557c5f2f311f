/* record.c: the command recorder. Dispatches carry their buffer bindings;
 * the recorder keeps the ranges read and written since the last barrier and
 * inserts a barrier only before a dispatch that reads what an earlier one
 * wrote, or writes what an earlier one read or wrote. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct range {
    VkBuffer buf;
    size_t off, end;
} range;

typedef struct view_entry {
    VkBuffer buf;
    size_t off, size;
    VkFormat fmt;
    VkBufferView view;
} view_entry;

struct rt_cmd {
    rt_ctx *ctx;
    VkCommandBuffer cb;
    VkFence fence;
    VkDescriptorPool *pools;
    int npools, cappools;
    view_entry *views;
    int nviews, capviews;
    range *reads, *writes;
    int nreads, nwrites, capreads, capwrites;
    int ndispatch, nbarrier;
    int no_barriers;          /* RT_CMD_NO_BARRIERS (tests) */
    int repeat;               /* RT_CMD_REPEAT: simultaneous use */
    VkPipeline bound;         /* the pipeline bound last, not bound again */
    uint32_t sets_left, desc_left[4];   /* what the newest descriptor pool has left */
    int ended, pending;
    /* timestamps */
    int timestamps;
    VkQueryPool qpool;
    int qcap;
    char *names;
    size_t names_len, names_cap;
    size_t *label_off;
    int caplabels;
    uint64_t *ts;
    int ts_valid;
};

static int grow(void **p, int *cap, int need, size_t elem)
{
    if (need <= *cap) return 0;
    int c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *np = realloc(*p, (size_t)c * elem);
    if (!np) { rt_set_error("out of host memory"); return -1; }
    *p = np;
    *cap = c;
    return 0;
}

static const VkDescriptorPoolSize POOL_SIZES[4] = {
    {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1024},
    {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, 1024},
    {VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, 256},
    {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 64},
};
enum { POOL_SETS = 256 };

static int pool_slot(VkDescriptorType t)
{
    for (int i = 0; i < 4; i++)
        if (POOL_SIZES[i].type == t) return i;
    return -1;
}

static int new_pool(rt_cmd *c)
{
    if (grow((void **)&c->pools, &c->cappools, c->npools + 1, sizeof *c->pools)) return -1;
    VkDescriptorPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = POOL_SETS,
                                     .poolSizeCount = 4, .pPoolSizes = POOL_SIZES};
    VKCHECK(vkCreateDescriptorPool(c->ctx->dev, &ci, NULL, &c->pools[c->npools]));
    c->npools++;
    c->sets_left = POOL_SETS;
    for (int i = 0; i < 4; i++) c->desc_left[i] = POOL_SIZES[i].descriptorCount;
    return 0;
fail:
    return -1;
}

int rt_cmd_begin(rt_ctx *ctx, int flags, rt_cmd **out)
{
    *out = NULL;
    rt_cmd *c = calloc(1, sizeof *c);
    if (!c) { rt_set_error("out of host memory"); return -1; }
    c->ctx = ctx;
    c->no_barriers = (flags & RT_CMD_NO_BARRIERS) != 0;
    c->repeat = (flags & RT_CMD_REPEAT) != 0;
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = ctx->pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VKCHECK(vkAllocateCommandBuffers(ctx->dev, &ai, &c->cb));
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VKCHECK(vkCreateFence(ctx->dev, &fi, NULL, &c->fence));
    /* Simultaneous use: one submit may hold this buffer several times. */
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = c->repeat ? VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT : 0};
    VKCHECK(vkBeginCommandBuffer(c->cb, &bi));
    if ((flags & RT_CMD_TIMESTAMPS) && ctx->timestamps_ok) {
        c->timestamps = 1;
        c->qcap = 4096;
        VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                    .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = (uint32_t)c->qcap};
        VKCHECK(vkCreateQueryPool(ctx->dev, &qi, NULL, &c->qpool));
        c->ts = calloc((size_t)c->qcap, sizeof *c->ts);
        if (!c->ts) { rt_set_error("out of host memory"); goto fail; }
        vkCmdResetQueryPool(c->cb, c->qpool, 0, (uint32_t)c->qcap);
        vkCmdWriteTimestamp(c->cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, c->qpool, 0);
    }
    /* Orders this buffer after whatever ran before it (an earlier copy of
     * itself in the same submit included). */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                                           VK_ACCESS_HOST_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                           VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    vkCmdPipelineBarrier(c->cb,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                             VK_PIPELINE_STAGE_HOST_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0,
                         NULL, 0, NULL);
    *out = c;
    return 0;
fail:
    rt_cmd_free(c);
    return -1;
}

static int overlaps(const range *set, int n, const range *r)
{
    for (int i = 0; i < n; i++)
        if (set[i].buf == r->buf && set[i].off < r->end && r->off < set[i].end) return 1;
    return 0;
}

static void barrier(rt_cmd *c)
{
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                           VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    VkPipelineStageFlags st = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    vkCmdPipelineBarrier(c->cb, st, st, 0, 1, &mb, 0, NULL, 0, NULL);
    c->nreads = c->nwrites = 0;
    c->nbarrier++;
}

/* Adds the accesses of the next command, first placing a barrier if any of
 * them conflicts with what ran since the last one. */
static int track(rt_cmd *c, const range *rd, int nrd, const range *wr, int nwr)
{
    int need = 0;
    for (int i = 0; i < nrd && !need; i++) need = overlaps(c->writes, c->nwrites, &rd[i]);
    for (int i = 0; i < nwr && !need; i++)
        need = overlaps(c->writes, c->nwrites, &wr[i]) || overlaps(c->reads, c->nreads, &wr[i]);
    if (need && !c->no_barriers) barrier(c);
    if (grow((void **)&c->reads, &c->capreads, c->nreads + nrd, sizeof *c->reads) ||
        grow((void **)&c->writes, &c->capwrites, c->nwrites + nwr, sizeof *c->writes))
        return -1;
    if (nrd) memcpy(c->reads + c->nreads, rd, (size_t)nrd * sizeof *rd);
    c->nreads += nrd;
    if (nwr) memcpy(c->writes + c->nwrites, wr, (size_t)nwr * sizeof *wr);
    c->nwrites += nwr;
    return 0;
}

static int get_view(rt_cmd *c, VkBuffer buf, size_t off, size_t size, VkFormat fmt, VkBufferView *out)
{
    for (int i = 0; i < c->nviews; i++) {
        view_entry *v = &c->views[i];
        if (v->buf == buf && v->off == off && v->size == size && v->fmt == fmt) { *out = v->view; return 0; }
    }
    if (grow((void **)&c->views, &c->capviews, c->nviews + 1, sizeof *c->views)) return -1;
    VkBufferViewCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO, .buffer = buf, .format = fmt,
                                 .offset = off, .range = size};
    VKCHECK(vkCreateBufferView(c->ctx->dev, &ci, NULL, out));
    c->views[c->nviews++] = (view_entry){buf, off, size, fmt, *out};
    return 0;
fail:
    return -1;
}

static int add_label(rt_cmd *c, int i, const char *label)
{
    if (grow((void **)&c->label_off, &c->caplabels, i + 1, sizeof *c->label_off)) return -1;
    size_t n = strlen(label) + 1;
    if (c->names_len + n > c->names_cap) {
        size_t cap = c->names_cap ? c->names_cap * 2 : 4096;
        while (cap < c->names_len + n) cap *= 2;
        char *nn = realloc(c->names, cap);
        if (!nn) { rt_set_error("out of host memory"); return -1; }
        c->names = nn;
        c->names_cap = cap;
    }
    memcpy(c->names + c->names_len, label, n);
    c->label_off[i] = c->names_len;
    c->names_len += n;
    return 0;
}

int rt_cmd_dispatch(rt_cmd *c, rt_kernel *k, const rt_binding *b, int nb, const void *push, uint32_t push_size,
                    uint32_t gx, uint32_t gy, uint32_t gz, const char *label)
{
    rt_ctx *ctx = c->ctx;
    const char *kname = rt_kernel_name(k);
    if (c->ended) { rt_set_error("dispatch of %s after the command buffer was ended", kname); return -1; }
    /* More bindings than the SPIR-V has are fine: the compiler may drop
     * trailing ones that the code turned out not to use. */
    if (nb < rt_kernel_binding_count(k)) {
        rt_set_error("kernel %s takes %d bindings, %d given", kname, rt_kernel_binding_count(k), nb);
        return -1;
    }
    if (push_size > rt__kernel_push_size(k)) {
        rt_set_error("kernel %s: %u bytes of push constants, its shader's block holds %u", kname, push_size,
                     rt__kernel_push_size(k));
        return -1;
    }
    const VkPhysicalDeviceLimits *lim = &ctx->props.limits;
    if (gx == 0 || gy == 0 || gz == 0) return 0; /* nothing to do */
    if (gx > lim->maxComputeWorkGroupCount[0] || gy > lim->maxComputeWorkGroupCount[1] ||
        gz > lim->maxComputeWorkGroupCount[2]) {
        rt_set_error("kernel %s: %u x %u x %u workgroups exceed the device's limit %u x %u x %u", kname, gx, gy, gz,
                     lim->maxComputeWorkGroupCount[0], lim->maxComputeWorkGroupCount[1],
                     lim->maxComputeWorkGroupCount[2]);
        return -1;
    }

    VkDescriptorSet set = VK_NULL_HANDLE;
    VkDescriptorSetLayout sl = rt__kernel_set_layout(k);
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorSetCount = 1, .pSetLayouts = &sl};
    /* Count what the pool has left rather than let an allocation fail:
     * a failed vkAllocateDescriptorSets is slow on some drivers. */
    uint32_t need[4] = {0};
    for (int i = 0; i < rt_kernel_binding_count(k); i++) {
        bool writes, used;
        VkDescriptorType t = rt__kernel_binding_type(k, i, &writes, &used);
        int slot = pool_slot(t);
        if (used && slot < 0) { rt_set_error("kernel %s: binding %d has a descriptor type no pool holds", kname, i); return -1; }
        if (used) need[slot]++;
    }
    int fits = c->npools && c->sets_left > 0;
    for (int i = 0; i < 4 && fits; i++) fits = need[i] <= c->desc_left[i];
    if (!fits && new_pool(c)) return -1;
    ai.descriptorPool = c->pools[c->npools - 1];
    VkResult r = vkAllocateDescriptorSets(ctx->dev, &ai, &set);
    if (r != VK_SUCCESS) { rt_set_error("vkAllocateDescriptorSets failed: %s", rt_vk_result_name(r)); return -1; }
    c->sets_left--;
    for (int i = 0; i < 4; i++) c->desc_left[i] -= need[i];

    VkWriteDescriptorSet w[32];
    VkDescriptorBufferInfo bi[32];
    VkBufferView views[32];
    range rd[32], wr[32];
    int nrd = 0, nwr = 0, nw = 0;
    if (nb > 32) { rt_set_error("kernel %s: %d bindings (at most 32)", kname, nb); return -1; }
    int nk = rt_kernel_binding_count(k);
    for (int i = 0; i < nb; i++) {
        if (!b[i].buf) { rt_set_error("kernel %s: binding %d has no buffer", kname, i); return -1; }
        if (i >= nk) continue;
        size_t size = b[i].size ? b[i].size : b[i].buf->size - b[i].offset;
        if (b[i].offset > b[i].buf->size || size > b[i].buf->size - b[i].offset) {
            rt_set_error("kernel %s: binding %d (%zu bytes at offset %zu) is outside its buffer of %zu bytes", kname,
                         i, size, b[i].offset, b[i].buf->size);
            return -1;
        }
        bool writes, used;
        VkDescriptorType t = rt__kernel_binding_type(k, i, &writes, &used);
        if (!used) continue;
        int wi = nw++;
        w[wi] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set,
                                      .dstBinding = (uint32_t)i, .descriptorCount = 1, .descriptorType = t};
        if (b[i].u8 && t != VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER) {
            rt_set_error("kernel %s: binding %d holds bytes and can only be read through a uniform texel view", kname,
                         i);
            return -1;
        }
        if (b[i].u8 && !ctx->u8_texels) {
            rt_set_error("kernel %s: binding %d holds bytes, but this device cannot read R8_UNORM texel views "
                         "(no VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT)", kname, i);
            return -1;
        }
        if (t == VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER || t == VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER) {
            size_t texel = (b[i].vec4 ? 4 : 1) * (b[i].u8 ? 1 : 4);
            size_t align = t == VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER ? lim->minTexelBufferOffsetAlignment
                                                                        : lim->minTexelBufferOffsetAlignment;
            if (b[i].offset % align) {
                rt_set_error("kernel %s: texel binding %d at offset %zu is not aligned to %zu", kname, i,
                             b[i].offset, align);
                return -1;
            }
            size_t vsize = size / texel * texel;
            if (vsize == 0) vsize = texel <= b[i].buf->size - b[i].offset ? texel : 0;
            if (vsize == 0) { rt_set_error("kernel %s: texel binding %d is empty", kname, i); return -1; }
            if (vsize / texel > lim->maxTexelBufferElements) {
                rt_set_error("kernel %s: texel binding %d has %zu elements (device limit %u)", kname, i,
                             vsize / texel, lim->maxTexelBufferElements);
                return -1;
            }
            VkFormat fmt = b[i].u8 ? (b[i].vec4 ? VK_FORMAT_R8G8B8A8_UNORM : VK_FORMAT_R8_UNORM)
                                   : (b[i].vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT);
            if (get_view(c, b[i].buf->buf, b[i].offset, vsize, fmt, &views[i])) return -1;
            w[wi].pTexelBufferView = &views[i];
        } else {
            if (b[i].offset % lim->minStorageBufferOffsetAlignment) {
                rt_set_error("kernel %s: storage binding %d at offset %zu is not aligned to %llu", kname, i,
                             b[i].offset, (unsigned long long)lim->minStorageBufferOffsetAlignment);
                return -1;
            }
            if (size > lim->maxStorageBufferRange) {
                rt_set_error("kernel %s: storage binding %d of %zu bytes exceeds the device's range %u", kname, i,
                             size, lim->maxStorageBufferRange);
                return -1;
            }
            bi[i] = (VkDescriptorBufferInfo){.buffer = b[i].buf->buf, .offset = b[i].offset, .range = size};
            w[wi].pBufferInfo = &bi[i];
        }
        range rg = {b[i].buf->buf, b[i].offset, b[i].offset + size};
        if (writes) wr[nwr++] = rg;
        else rd[nrd++] = rg;
    }
    vkUpdateDescriptorSets(ctx->dev, (uint32_t)nw, w, 0, NULL);
    if (track(c, rd, nrd, wr, nwr)) return -1;
    if (c->bound != rt__kernel_pipeline(k)) {
        vkCmdBindPipeline(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, rt__kernel_pipeline(k));
        c->bound = rt__kernel_pipeline(k);
    }
    vkCmdBindDescriptorSets(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, rt__kernel_layout(k), 0, 1, &set, 0, NULL);
    if (push_size) vkCmdPushConstants(c->cb, rt__kernel_layout(k), VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size, push);
    vkCmdDispatch(c->cb, gx, gy, gz);
    if (c->timestamps) {
        if (c->ndispatch + 2 >= c->qcap) {
            rt_set_error("more than %d timed dispatches in one command buffer", c->qcap - 2);
            return -1;
        }
        vkCmdWriteTimestamp(c->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, c->qpool, (uint32_t)c->ndispatch + 1);
        if (add_label(c, c->ndispatch, label ? label : kname)) return -1;
    }
    c->ndispatch++;
    return 0;
}

int rt_cmd_copy(rt_cmd *c, rt_buffer *src, size_t so, rt_buffer *dst, size_t dof, size_t n)
{
    if (so > src->size || n > src->size - so || dof > dst->size || n > dst->size - dof) {
        rt_set_error("copy of %zu bytes (from offset %zu of %zu, to offset %zu of %zu) is out of range", n, so,
                     src->size, dof, dst->size);
        return -1;
    }
    if (n == 0) return 0;
    range rd = {src->buf, so, so + n}, wr = {dst->buf, dof, dof + n};
    if (track(c, &rd, 1, &wr, 1)) return -1;
    VkBufferCopy region = {.srcOffset = so, .dstOffset = dof, .size = n};
    vkCmdCopyBuffer(c->cb, src->buf, dst->buf, 1, &region);
    return 0;
}

/* AMD's best-practices budget of barriers per frame; a recorded buffer
 * (a plan: one step) is this runtime's frame. */
enum { BP_MAX_BARRIERS = 500 };

int rt_cmd_end(rt_cmd *c)
{
    if (c->ended) return 0;
    if (c->ctx->validation == 2 && c->nbarrier > BP_MAX_BARRIERS)
        rt__validation_message(c->ctx, "[AMD] best practices: a command buffer of %d dispatches holds %d barriers "
                               "(at most %d recommended per frame)", c->ndispatch, c->nbarrier, BP_MAX_BARRIERS);
    /* Make the results visible to the host and to whatever follows. */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT |
                                           VK_ACCESS_SHADER_WRITE_BIT};
    vkCmdPipelineBarrier(c->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0,
                         NULL);
    VKCHECK(vkEndCommandBuffer(c->cb));
    c->ended = 1;
    return 0;
fail:
    return -1;
}

int rt_cmd_submit_async(rt_cmd *c, int times)
{
    if (!c->ended && rt_cmd_end(c)) return -1;
    if (c->pending) { rt_set_error("command buffer submitted while still running"); return -1; }
    if (times < 1) return 0;
    if (times > 1 && !c->repeat) {
        rt_set_error("vkQueueSubmit of one command buffer %d times needs RT_CMD_REPEAT at rt_cmd_begin", times);
        return -1;
    }
    VkCommandBuffer stack[64];
    VkCommandBuffer *cbs = times <= 64 ? stack : malloc((size_t)times * sizeof *cbs);
    if (!cbs) { rt_set_error("out of host memory"); return -1; }
    for (int i = 0; i < times; i++) cbs[i] = c->cb;
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = (uint32_t)times,
                       .pCommandBuffers = cbs};
    VkResult r = vkQueueSubmit(c->ctx->queue, 1, &si, c->fence);
    if (cbs != stack) free(cbs);
    if (r != VK_SUCCESS) { rt_set_error("vkQueueSubmit failed: %s", rt_vk_result_name(r)); return -1; }
    c->pending = 1;
    c->ts_valid = 0;
    return 0;
}

int rt_cmd_wait(rt_cmd *c)
{
    if (!c->pending) return 0;
    VKCHECK(vkWaitForFences(c->ctx->dev, 1, &c->fence, VK_TRUE, UINT64_MAX));
    VKCHECK(vkResetFences(c->ctx->dev, 1, &c->fence));
    c->pending = 0;
    if (c->timestamps && c->ndispatch > 0) {
        VKCHECK(vkGetQueryPoolResults(c->ctx->dev, c->qpool, 0, (uint32_t)c->ndispatch + 1,
                                      (size_t)(c->ndispatch + 1) * sizeof(uint64_t), c->ts, sizeof(uint64_t),
                                      VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
        c->ts_valid = 1;
    }
    return 0;
fail:
    return -1;
}

int rt_cmd_submit(rt_cmd *c, int times)
{
    if (rt_cmd_submit_async(c, times)) return -1;
    return rt_cmd_wait(c);
}

int rt_cmd_dispatch_count(const rt_cmd *c) { return c->ndispatch; }
int rt_cmd_barrier_count(const rt_cmd *c) { return c->nbarrier; }

int rt_cmd_timing(const rt_cmd *c, int i, double *ms, const char **label)
{
    if (!c->timestamps || !c->ts_valid) { rt_set_error("no timestamps: record with RT_CMD_TIMESTAMPS and submit first"); return -1; }
    if (i < 0 || i >= c->ndispatch) { rt_set_error("dispatch %d of %d", i, c->ndispatch); return -1; }
    *ms = (double)(c->ts[i + 1] - c->ts[i]) * c->ctx->timestamp_period * 1e-6;
    if (label) *label = c->names + c->label_off[i];
    return 0;
}

void rt_cmd_free(rt_cmd *c)
{
    if (!c) return;
    rt_ctx *ctx = c->ctx;
    if (c->pending) rt_cmd_wait(c);
    for (int i = 0; i < c->npools; i++) vkDestroyDescriptorPool(ctx->dev, c->pools[i], NULL);
    for (int i = 0; i < c->nviews; i++) vkDestroyBufferView(ctx->dev, c->views[i].view, NULL);
    if (c->qpool) vkDestroyQueryPool(ctx->dev, c->qpool, NULL);
    if (c->fence) vkDestroyFence(ctx->dev, c->fence, NULL);
    if (c->cb) vkFreeCommandBuffers(ctx->dev, ctx->pool, 1, &c->cb);
    free(c->pools);
    free(c->views);
    free(c->reads);
    free(c->writes);
    free(c->names);
    free(c->label_off);
    free(c->ts);
    free(c);
}

int rt_run1(rt_ctx *ctx, rt_kernel *k, const rt_binding *b, int nb, const void *push, uint32_t push_size,
            uint32_t gx, uint32_t gy, uint32_t gz)
{
    rt_cmd *c;
    if (rt_cmd_begin(ctx, 0, &c)) return -1;
    int rc = rt_cmd_dispatch(c, k, b, nb, push, push_size, gx, gy, gz, NULL);
    if (!rc) rc = rt_cmd_submit(c, 1);
    rt_cmd_free(c);
    return rc;
}
