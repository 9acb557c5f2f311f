/* internal.h: structures shared by the runtime's files (not public). */
#ifndef MEG_RUNTIME_INTERNAL_H
#define MEG_RUNTIME_INTERNAL_H

#include "runtime.h"

#include <stdbool.h>

#define VKCHECK(call)                                                              \
    do {                                                                           \
        VkResult vk_r_ = (call);                                                   \
        if (vk_r_ != VK_SUCCESS) {                                                 \
            rt_set_error("%s failed: %s", rt__vk_call_name(#call), rt_vk_result_name(vk_r_)); \
            goto fail;                                                             \
        }                                                                          \
    } while (0)

/* "vkCreateBuffer(dev, ...)" -> "vkCreateBuffer" (static buffer) */
const char *rt__vk_call_name(const char *expr);

typedef struct rt_block {
    VkDeviceMemory mem;
    VkDeviceSize size;
    uint32_t type_index;
    void *mapped;                 /* persistently mapped if host-visible */
    struct rt_range { VkDeviceSize off, size; } *free;  /* sorted free ranges */
    int nfree, capfree;
    VkDeviceSize used;
} rt_block;

struct rt_buffer {
    rt_ctx *ctx;
    VkBuffer buf;
    size_t size;
    int block;                    /* index into ctx->blocks */
    VkDeviceSize mem_off, mem_size;
};

typedef struct rt_cached_kernel rt_cached_kernel;
typedef struct rt_tune_entry rt_tune_entry;
typedef struct rt_tune_kentry rt_tune_kentry;

struct rt_ctx {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice phys;
    VkDevice dev;
    VkQueue queue;
    uint32_t queue_family;
    VkCommandPool pool;
    VkPipelineCache pcache;
    char pcache_path[1024];
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties memprops;
    rt_device_info info;
    int validation, quiet_validation;
    volatile int validation_count;
    float timestamp_period;
    int timestamps_ok;
    int u8_texels;                /* R8 and RGBA8 UNORM uniform texel buffers are supported */
    int memory_priority;          /* VK_EXT_memory_priority is enabled */

    /* memory */
    rt_block *blocks;
    int nblocks, capblocks;
    uint32_t device_type;         /* memory type for buffers */
    bool device_mappable;         /* that type is host-visible: no staging */
    rt_buffer *staging;           /* host-visible, grown as needed */
    size_t used_bytes;

    /* kernels */
    rt_cached_kernel **kernels;
    int nkernels, capkernels;

    /* matmul and kernel autotune (autotune.c) */
    int autotune;                 /* measure each new matmul shape's fastest variant */
    int tuning;                   /* inside a measurement: choose without looking up */
    int tune_loaded, tune_measured;
    rt_tune_entry *tune;
    int ntune, captune;
    rt_tune_kentry *ktune;        /* embedded kernels' choices (rt_autotune_kernel) */
    int nktune, capktune;
    char tune_path[1024];
};

/* autotune.c: the variant measured fastest for d's shape (0: the heuristic) */
int rt__autotune_matmul(rt_ctx *ctx, const rt_matmul_desc *d, size_t a_off, size_t b_off, int *variant);
void rt__autotune_free(rt_ctx *ctx);

/* memory.c */
int rt__memory_init(rt_ctx *ctx);
void rt__memory_free(rt_ctx *ctx);
/* kernels.c */
void rt__kernels_free(rt_ctx *ctx);
VkPipeline rt__kernel_pipeline(const rt_kernel *k);
VkPipelineLayout rt__kernel_layout(const rt_kernel *k);
uint32_t rt__kernel_push_size(const rt_kernel *k);
/* A message of the runtime's own checks, counted as a validation message. */
void rt__validation_message(rt_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
VkDescriptorSetLayout rt__kernel_set_layout(const rt_kernel *k);
/* descriptor type of binding i, whether the kernel writes it, and whether
 * it is used at all (the compiler may drop an unused binding) */
VkDescriptorType rt__kernel_binding_type(const rt_kernel *k, int i, bool *writes, bool *used);
int rt__pipeline_cache_init(rt_ctx *ctx);
void rt__pipeline_cache_save(rt_ctx *ctx);

#endif
