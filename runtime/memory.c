/* memory.c: buffers sub-allocated from a few large VkDeviceMemory blocks,
 * and host transfers (direct through a mapping where the device memory is
 * host-visible, through a staging buffer otherwise). */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE ((VkDeviceSize)64 << 20)

static int find_type(const rt_ctx *ctx, uint32_t bits, VkMemoryPropertyFlags want)
{
    for (uint32_t i = 0; i < ctx->memprops.memoryTypeCount; i++)
        if ((bits & (1u << i)) && (ctx->memprops.memoryTypes[i].propertyFlags & want) == want) return (int)i;
    return -1;
}

static const VkBufferUsageFlags USAGE = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                                        VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                        VK_BUFFER_USAGE_TRANSFER_DST_BIT;

int rt__memory_init(rt_ctx *ctx)
{
    /* Probe the memory types a buffer can live in. */
    VkBuffer probe = VK_NULL_HANDLE;
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 4096, .usage = USAGE};
    VKCHECK(vkCreateBuffer(ctx->dev, &bi, NULL, &probe));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx->dev, probe, &req);
    vkDestroyBuffer(ctx->dev, probe, NULL);
    int t = find_type(ctx, req.memoryTypeBits,
                      VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                          VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    ctx->device_mappable = t >= 0;
    if (t < 0) t = find_type(ctx, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (t < 0) {
        t = find_type(ctx, req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
        ctx->device_mappable = t >= 0;
    }
    if (t < 0) {
        rt_set_error("device %s offers no memory type for storage buffers", ctx->info.name);
        return -1;
    }
    ctx->device_type = (uint32_t)t;
    return 0;
fail:
    return -1;
}

static int block_new(rt_ctx *ctx, uint32_t type, VkDeviceSize size, int *out)
{
    if (ctx->nblocks == ctx->capblocks) {
        int cap = ctx->capblocks ? 2 * ctx->capblocks : 8;
        rt_block *nb = realloc(ctx->blocks, (size_t)cap * sizeof *nb);
        if (!nb) { rt_set_error("out of host memory"); return -1; }
        ctx->blocks = nb;
        ctx->capblocks = cap;
    }
    rt_block *b = &ctx->blocks[ctx->nblocks];
    memset(b, 0, sizeof *b);
    /* device-local blocks hold what the kernels write: kept resident first */
    VkMemoryPriorityAllocateInfoEXT prio = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_PRIORITY_ALLOCATE_INFO_EXT,
        .priority = ctx->memprops.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT ? 1.0f : 0.5f};
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .pNext = ctx->memory_priority ? &prio : NULL, .allocationSize = size,
                               .memoryTypeIndex = type};
    VkResult r = vkAllocateMemory(ctx->dev, &ai, NULL, &b->mem);
    if (r != VK_SUCCESS) {
        rt_set_error("vkAllocateMemory failed: %s (a block of %llu bytes; %zu bytes already in use)",
                     rt_vk_result_name(r), (unsigned long long)size, ctx->used_bytes);
        return -1;
    }
    b->size = size;
    b->type_index = type;
    if (ctx->memprops.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
        r = vkMapMemory(ctx->dev, b->mem, 0, VK_WHOLE_SIZE, 0, &b->mapped);
        if (r != VK_SUCCESS) {
            vkFreeMemory(ctx->dev, b->mem, NULL);
            rt_set_error("vkMapMemory failed: %s", rt_vk_result_name(r));
            return -1;
        }
    }
    b->free = malloc(4 * sizeof *b->free);
    if (!b->free) {
        vkFreeMemory(ctx->dev, b->mem, NULL);
        rt_set_error("out of host memory");
        return -1;
    }
    b->capfree = 4;
    b->nfree = 1;
    b->free[0].off = 0;
    b->free[0].size = size;
    *out = ctx->nblocks++;
    return 0;
}

/* First fit within one block; returns 0 and the offset, or -1. */
static int block_take(rt_block *b, VkDeviceSize size, VkDeviceSize align, VkDeviceSize *off)
{
    for (int i = 0; i < b->nfree; i++) {
        VkDeviceSize start = (b->free[i].off + align - 1) / align * align;
        VkDeviceSize end = b->free[i].off + b->free[i].size;
        if (start + size > end) continue;
        VkDeviceSize head = start - b->free[i].off, tail = end - (start + size);
        if (head && tail) {
            if (b->nfree == b->capfree) {
                struct rt_range *nf = realloc(b->free, (size_t)b->capfree * 2 * sizeof *nf);
                if (!nf) return -1;
                b->free = nf;
                b->capfree *= 2;
            }
            memmove(&b->free[i + 2], &b->free[i + 1], (size_t)(b->nfree - i - 1) * sizeof *b->free);
            b->free[i].size = head;
            b->free[i + 1].off = start + size;
            b->free[i + 1].size = tail;
            b->nfree++;
        } else if (head) {
            b->free[i].size = head;
        } else if (tail) {
            b->free[i].off = start + size;
            b->free[i].size = tail;
        } else {
            memmove(&b->free[i], &b->free[i + 1], (size_t)(b->nfree - i - 1) * sizeof *b->free);
            b->nfree--;
        }
        b->used += size;
        *off = start;
        return 0;
    }
    return -1;
}

static void block_give(rt_block *b, VkDeviceSize off, VkDeviceSize size)
{
    int i = 0;
    while (i < b->nfree && b->free[i].off < off) i++;
    int merged = 0;
    if (i > 0 && b->free[i - 1].off + b->free[i - 1].size == off) {
        b->free[i - 1].size += size;
        merged = 1;
        if (i < b->nfree && off + size == b->free[i].off) {
            b->free[i - 1].size += b->free[i].size;
            memmove(&b->free[i], &b->free[i + 1], (size_t)(b->nfree - i - 1) * sizeof *b->free);
            b->nfree--;
        }
    } else if (i < b->nfree && off + size == b->free[i].off) {
        b->free[i].off = off;
        b->free[i].size += size;
        merged = 1;
    }
    if (!merged) {
        if (b->nfree == b->capfree) {
            struct rt_range *nf = realloc(b->free, (size_t)b->capfree * 2 * sizeof *nf);
            if (!nf) return; /* leaks the range; cannot fail otherwise */
            b->free = nf;
            b->capfree *= 2;
        }
        memmove(&b->free[i + 1], &b->free[i], (size_t)(b->nfree - i) * sizeof *b->free);
        b->free[i].off = off;
        b->free[i].size = size;
        b->nfree++;
    }
    b->used -= size;
}

static int buffer_create_typed(rt_ctx *ctx, size_t size, uint32_t type, rt_buffer **out)
{
    *out = NULL;
    if (size == 0) size = 16;
    VkDeviceSize heap = ctx->memprops.memoryHeaps[ctx->memprops.memoryTypes[type].heapIndex].size;
    if (size > heap) {
        rt_set_error("out of device memory: a buffer of %zu bytes is larger than the device's memory heap (%llu bytes)",
                     size, (unsigned long long)heap);
        return -1;
    }
    rt_buffer *rb = calloc(1, sizeof *rb);
    if (!rb) { rt_set_error("out of host memory"); return -1; }
    rb->ctx = ctx;
    rb->size = size;
    rb->block = -1;
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = USAGE,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = vkCreateBuffer(ctx->dev, &bi, NULL, &rb->buf);
    if (r != VK_SUCCESS) {
        rt_set_error("vkCreateBuffer failed: %s (a buffer of %zu bytes)", rt_vk_result_name(r), size);
        free(rb);
        return -1;
    }
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx->dev, rb->buf, &req);
    if (!(req.memoryTypeBits & (1u << type))) {
        rt_set_error("buffer of %zu bytes cannot live in memory type %u", size, type);
        goto fail;
    }
    VkDeviceSize off = 0;
    int bi_found = -1;
    for (int i = 0; i < ctx->nblocks && bi_found < 0; i++)
        if (ctx->blocks[i].type_index == type && block_take(&ctx->blocks[i], req.size, req.alignment, &off) == 0)
            bi_found = i;
    if (bi_found < 0) {
        VkDeviceSize bsize = req.size > BLOCK_SIZE ? req.size : BLOCK_SIZE;
        int nb;
        if (block_new(ctx, type, bsize, &nb)) {
            rt_error_prefix("out of device memory for a buffer of %zu bytes", size);
            goto fail;
        }
        if (block_take(&ctx->blocks[nb], req.size, req.alignment, &off)) {
            rt_set_error("allocator failed for a buffer of %zu bytes", size);
            goto fail;
        }
        bi_found = nb;
    }
    rb->block = bi_found;
    rb->mem_off = off;
    rb->mem_size = req.size;
    r = vkBindBufferMemory(ctx->dev, rb->buf, ctx->blocks[bi_found].mem, off);
    if (r != VK_SUCCESS) {
        rt_set_error("vkBindBufferMemory failed: %s", rt_vk_result_name(r));
        goto fail;
    }
    ctx->used_bytes += req.size;
    *out = rb;
    return 0;
fail:
    if (rb->block >= 0) block_give(&ctx->blocks[rb->block], rb->mem_off, rb->mem_size);
    vkDestroyBuffer(ctx->dev, rb->buf, NULL);
    free(rb);
    return -1;
}

int rt_buffer_create(rt_ctx *ctx, size_t size, rt_buffer **out)
{
    return buffer_create_typed(ctx, size, ctx->device_type, out);
}

void rt_buffer_destroy(rt_buffer *b)
{
    if (!b) return;
    rt_ctx *ctx = b->ctx;
    vkDestroyBuffer(ctx->dev, b->buf, NULL);
    if (b->block >= 0) {
        block_give(&ctx->blocks[b->block], b->mem_off, b->mem_size);
        ctx->used_bytes -= b->mem_size;
    }
    free(b);
}

size_t rt_buffer_size(const rt_buffer *b) { return b->size; }

void rt_memory_usage(const rt_ctx *ctx, size_t *used, size_t *reserved)
{
    size_t r = 0;
    for (int i = 0; i < ctx->nblocks; i++) r += ctx->blocks[i].size;
    if (used) *used = ctx->used_bytes;
    if (reserved) *reserved = r;
}

static int staging_get(rt_ctx *ctx, size_t n, rt_buffer **out)
{
    if (ctx->staging && ctx->staging->size >= n) { *out = ctx->staging; return 0; }
    rt_buffer_destroy(ctx->staging);
    ctx->staging = NULL;
    int t = -1;
    for (uint32_t i = 0; i < ctx->memprops.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = ctx->memprops.memoryTypes[i].propertyFlags;
        if ((f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)) {
            t = (int)i;
            if (f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) break; /* cached reads back faster */
        }
    }
    if (t < 0) { rt_set_error("device %s has no host-visible memory for transfers", ctx->info.name); return -1; }
    size_t sz = n < ((size_t)16 << 20) ? ((size_t)16 << 20) : n;
    if (buffer_create_typed(ctx, sz, (uint32_t)t, &ctx->staging)) return -1;
    *out = ctx->staging;
    return 0;
}

static int check_range(const rt_buffer *b, size_t offset, size_t n, const char *what)
{
    if (offset > b->size || n > b->size - offset) {
        rt_set_error("%s of %zu bytes at offset %zu is outside a buffer of %zu bytes", what, n, offset, b->size);
        return -1;
    }
    return 0;
}

static int copy_now(rt_ctx *ctx, rt_buffer *src, size_t so, rt_buffer *dst, size_t dof, size_t n)
{
    rt_cmd *c;
    if (rt_cmd_begin(ctx, 0, &c)) return -1;
    int rc = rt_cmd_copy(c, src, so, dst, dof, n);
    if (!rc) rc = rt_cmd_end(c);
    if (!rc) rc = rt_cmd_submit(c, 1);
    rt_cmd_free(c);
    return rc;
}

int rt_buffer_write(rt_buffer *b, size_t offset, const void *data, size_t n)
{
    if (check_range(b, offset, n, "write")) return -1;
    if (n == 0) return 0;
    rt_ctx *ctx = b->ctx;
    rt_block *blk = &ctx->blocks[b->block];
    if (blk->mapped) {
        memcpy((char *)blk->mapped + b->mem_off + offset, data, n);
        return 0;
    }
    rt_buffer *st;
    if (staging_get(ctx, n, &st)) return -1;
    memcpy((char *)ctx->blocks[st->block].mapped + st->mem_off, data, n);
    return copy_now(ctx, st, 0, b, offset, n);
}

int rt_buffer_read(rt_buffer *b, size_t offset, void *data, size_t n)
{
    if (check_range(b, offset, n, "read")) return -1;
    if (n == 0) return 0;
    rt_ctx *ctx = b->ctx;
    rt_block *blk = &ctx->blocks[b->block];
    if (blk->mapped) {
        memcpy(data, (char *)blk->mapped + b->mem_off + offset, n);
        return 0;
    }
    rt_buffer *st;
    if (staging_get(ctx, n, &st)) return -1;
    if (copy_now(ctx, b, offset, st, 0, n)) return -1;
    memcpy(data, (char *)ctx->blocks[st->block].mapped + st->mem_off, n);
    return 0;
}

void rt__memory_free(rt_ctx *ctx)
{
    rt_buffer_destroy(ctx->staging);
    ctx->staging = NULL;
    for (int i = 0; i < ctx->nblocks; i++) {
        if (ctx->blocks[i].mapped) vkUnmapMemory(ctx->dev, ctx->blocks[i].mem);
        vkFreeMemory(ctx->dev, ctx->blocks[i].mem, NULL);
        free(ctx->blocks[i].free);
    }
    free(ctx->blocks);
    ctx->blocks = NULL;
    ctx->nblocks = 0;
}
