/* runtime.h: the Vulkan layer (instance and device through volk, memory,
 * kernels and pipelines, command recording with automatic barriers,
 * timestamps). The one public header of runtime/. It knows nothing of graphs.
 *
 * Errors are values: functions return 0 on success and -1 on failure, with
 * a message (naming the Vulkan call and its VkResult, the file, or the size
 * that was wrong) available from rt_error() on the same thread.
 */
#ifndef MEG_RUNTIME_H
#define MEG_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <volk.h>

#include "util.h"

/* ---- errors (rt_error, rt_set_error, rt_error_prefix: util.h) -------- */

const char *rt_vk_result_name(VkResult r);

/* ---- embedded kernels (generated at build time by tools/embed.c) ------- */

typedef struct rt_embedded_kernel {
    const char *name;
    const uint32_t *spv;
    size_t nwords;
    const char *source;      /* the GLSL it was compiled from */
} rt_embedded_kernel;

typedef struct rt_embedded_source {
    const char *name;        /* e.g. "common.glsl" */
    const char *source;
} rt_embedded_source;

extern const rt_embedded_kernel rt_embedded_kernels[];
extern const rt_embedded_source rt_embedded_sources[];
/* GLSL source of a kernel ("matmul") or include file ("common.glsl"). */
const char *rt_source(const char *name);

/* ---- devices and context ---------------------------------------------- */

typedef enum rt_device_type {
    RT_DEVICE_DISCRETE, RT_DEVICE_INTEGRATED, RT_DEVICE_VIRTUAL, RT_DEVICE_CPU, RT_DEVICE_OTHER
} rt_device_type;

typedef struct rt_device_info {
    int index;
    char name[256];
    rt_device_type type;
    const char *type_name;   /* "discrete", "integrated", "virtual", "cpu", "other" */
    char driver[256];        /* driver name and info */
    uint64_t memory;         /* bytes of the largest device-local heap */
    uint32_t vendor_id, device_id, driver_version, api_version;
    uint32_t subgroup_size;
    int is_llvmpipe;
} rt_device_info;

/* Lists the Vulkan devices (no validation, no device created). */
int rt_list_devices(rt_device_info *out, int max, int *count);

typedef struct rt_options {
    const char *device;      /* index or name substring; NULL: $MEG_DEVICE, then the best */
    int validation;          /* -1: from $MEG_VALIDATION (default off; "best": 2); 0 off; 1 on;
                              * 2 on with best practices and their AMD and NVIDIA checks */
    int quiet_validation;    /* 1: count validation messages without printing them */
    /* Lower limits than the device's, so that tests on one device run the
     * paths of smaller ones (a data set split over several inputs, a value
     * refused): texels of one texel view (maxTexelBufferElements) and bytes
     * of one storage binding (maxStorageBufferRange), and workgroups of one
     * dispatch along each axis (maxComputeWorkGroupCount: every 1-D job
     * then continues along y and z, a matmul's block rows along z). 0:
     * $MEG_LIMIT_TEXELS, $MEG_LIMIT_STORAGE_RANGE and $MEG_LIMIT_GROUPS when
     * set, else the device's. A value above the device's changes nothing
     * (so for the two below). rt_ctx_limits reports the result. */
    uint32_t max_texels;
    uint32_t max_storage_range;
    uint32_t max_groups;
    /* Descriptors one kernel may bind, per stage and per set: storage
     * buffers (maxPerStageDescriptorStorageBuffers; what kernels write) and
     * sampled descriptors (maxPerStageDescriptorSampledImages; the texel
     * views kernels read count as these). 0: $MEG_LIMIT_STORAGE_BUFFERS and
     * $MEG_LIMIT_SAMPLED when set, else the device's. Vulkan promises 4 and
     * 16; the planner then fuses less, and a kernel past them is refused
     * naming its counts. */
    uint32_t max_storage_buffers;
    uint32_t max_sampled;
    /* Matmul and convolution autotune (autotune.c): each new shape timed over candidate
     * variants at plan time, the fastest kept in a cache file per device
     * and driver. -1: $MEG_AUTOTUNE (1 on, 0 off) when set, else on for GPUs
     * and off for CPU devices, whose defaults were tuned by hand; 0 off; 1 on.
     * rt_options zeroed by hand means off: use -1 for the default. */
    int autotune;
} rt_options;

typedef struct rt_ctx rt_ctx;

int rt_ctx_create(const rt_options *opt, rt_ctx **out);
void rt_ctx_destroy(rt_ctx *ctx);
const rt_device_info *rt_ctx_device(const rt_ctx *ctx);
const VkPhysicalDeviceLimits *rt_ctx_limits(const rt_ctx *ctx);
/* 1 when the device reads 8-bit texel views (VK_FORMAT_R8_UNORM and
 * R8G8B8A8_UNORM with VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT, which
 * Vulkan requires of every device): what 8-bit graph inputs are read by. */
int rt_ctx_u8_texels(const rt_ctx *ctx);
/* Validation messages (warnings and errors) seen since the context began. */
int rt_validation_count(const rt_ctx *ctx);
int rt_validation_enabled(const rt_ctx *ctx);
/* Whether matmul and kernel shapes are autotuned, and how many this context
 * measured (not found in its cache). */
int rt_autotune_enabled(const rt_ctx *ctx);
int rt_autotune_measured(const rt_ctx *ctx);
/* The cache file of this device and driver ("" without a cache folder). */
const char *rt_autotune_path(rt_ctx *ctx);
/* Kernel autotune: one candidate of an embedded kernel (rt_kernel_get's
 * name), its specialization constants and workgroup counts. */
#define RT_TUNE_MAX_SPEC 16
#define RT_TUNE_MAX_CANDIDATES 16
#define RT_TUNE_MAX_BINDINGS 8
typedef struct rt_tune_cand {
    uint32_t spec[RT_TUNE_MAX_SPEC];
    int nspec;
    uint32_t groups[3];
} rt_tune_cand;
/* The fastest of ncand candidates of kernel `name` that compute the same
 * thing in other blocks: *best its index. Every candidate's first nkey
 * constants are the shape (the same in all); the kernel binds nbind
 * scratch ranges of bytes[i] (zeros) while timed. Found in the cache (by
 * name, shape and the winner's constants, which must still be a
 * candidate), else measured at once and saved. *best is 0, the caller's
 * default, where autotune is off or flops (of one dispatch) is outside the
 * measured range, so that small and huge work keeps the default. */
int rt_autotune_kernel(rt_ctx *ctx, const char *name, int nkey, const rt_tune_cand *cand, int ncand,
                       const size_t *bytes, int nbind, double flops, int *best);
/* Offset alignment that suits storage and texel bindings. */
size_t rt_ctx_alignment(const rt_ctx *ctx);

/* ---- memory ------------------------------------------------------------
 * Buffers are sub-allocated from a few large VkDeviceMemory blocks
 * (device-local where the device has it). Every buffer can be bound as a
 * storage buffer, a uniform texel buffer and a transfer source/target. */

typedef struct rt_buffer rt_buffer;

int rt_buffer_create(rt_ctx *ctx, size_t size, rt_buffer **out);
void rt_buffer_destroy(rt_buffer *b);
size_t rt_buffer_size(const rt_buffer *b);
int rt_buffer_write(rt_buffer *b, size_t offset, const void *data, size_t n);
int rt_buffer_read(rt_buffer *b, size_t offset, void *data, size_t n);
/* Device memory in use by buffers (bytes) and reserved in blocks. */
void rt_memory_usage(const rt_ctx *ctx, size_t *used, size_t *reserved);

/* ---- kernels -----------------------------------------------------------
 * A kernel is a compute pipeline: SPIR-V plus specialization constants
 * (ids 0..nspec-1, 32-bit values). Pipelines are created on first use and
 * cached (in memory, and in a VkPipelineCache saved under
 * $XDG_CACHE_HOME/meg or ~/.cache/meg). Descriptor bindings (set 0) are
 * read from the SPIR-V: samplerBuffer -> uniform texel buffer, imageBuffer
 * -> storage texel buffer, buffer blocks -> storage buffers. A kernel
 * takes as many bytes of push constants as its shader's push-constant
 * block holds (read from the SPIR-V too; 128 at most). */

typedef struct rt_kernel rt_kernel;

int rt_kernel_get(rt_ctx *ctx, const char *name, const uint32_t *spec, int nspec, rt_kernel **out);
/* The same for SPIR-V made at run time; `key` names it in the cache. */
int rt_kernel_from_spirv(rt_ctx *ctx, const char *key, const uint32_t *words, size_t nwords,
                         const uint32_t *spec, int nspec, rt_kernel **out);
const char *rt_kernel_name(const rt_kernel *k);
int rt_kernel_binding_count(const rt_kernel *k);
static inline uint32_t rt_f2u(float f) { union { float f; uint32_t u; } c; c.f = f; return c.u; }

/* ---- recording ---------------------------------------------------------
 * A command buffer of dispatches. The recorder tracks which buffer ranges
 * each dispatch reads and writes and inserts a barrier only where a
 * dispatch depends on (or overwrites) an earlier one since the last
 * barrier. A recorded command buffer can be submitted many times. */

typedef struct rt_binding {
    rt_buffer *buf;
    size_t offset;
    size_t size;             /* bytes; 0: to the end of the buffer */
    int vec4;                /* texel bindings: 1 for an RGBA32F view, 0 for R32F */
    int u8;                  /* 1: the buffer holds bytes, bound only as a texel view of R8_UNORM
                                (RGBA8_UNORM with vec4): texelFetch gives byte / 255 */
} rt_binding;

/* RT_CMD_NO_BARRIERS, for tests only: records no barriers at all, so that a
 * test can check that synchronization validation sees the hazard.
 * RT_CMD_REPEAT: the buffer may be submitted several times in one submit
 * (rt_cmd_submit with times > 1); recorded with simultaneous use, which
 * some drivers pay for, so only buffers that are replayed ask for it. */
enum { RT_CMD_TIMESTAMPS = 1, RT_CMD_NO_BARRIERS = 2, RT_CMD_REPEAT = 4 };

typedef struct rt_cmd rt_cmd;

int rt_cmd_begin(rt_ctx *ctx, int flags, rt_cmd **out);
int rt_cmd_dispatch(rt_cmd *c, rt_kernel *k, const rt_binding *b, int nb,
                    const void *push, uint32_t push_size,
                    uint32_t gx, uint32_t gy, uint32_t gz, const char *label);
int rt_cmd_copy(rt_cmd *c, rt_buffer *src, size_t src_off, rt_buffer *dst, size_t dst_off, size_t n);
int rt_cmd_end(rt_cmd *c);
/* Submits the recorded buffer `times` times back to back in one submit and
 * waits for the fence; times > 1 needs RT_CMD_REPEAT. */
int rt_cmd_submit(rt_cmd *c, int times);
/* Submits without waiting; rt_cmd_wait waits. */
int rt_cmd_submit_async(rt_cmd *c, int times);
int rt_cmd_wait(rt_cmd *c);
int rt_cmd_dispatch_count(const rt_cmd *c);
int rt_cmd_barrier_count(const rt_cmd *c);
/* After a submit with RT_CMD_TIMESTAMPS: milliseconds of dispatch i of the
 * last copy, and its label. */
int rt_cmd_timing(const rt_cmd *c, int i, double *ms, const char **label);
void rt_cmd_free(rt_cmd *c);

/* Groups of `local` invocations covering `invocations` (at least one
 * group) within the context's maxComputeWorkGroupCount: x first, then y,
 * then z (z > its limit only when nothing fits, which the recorder
 * refuses). Kernels rebuild the linear index with common.glsl's
 * MEG_LINEAR_ID(local): x + (y + z * NY) * NX * local. */
void rt_groups_1d(const rt_ctx *ctx, size_t invocations, uint32_t local, uint32_t groups[3]);

/* One-shot helpers for tests and benchmarks: record, submit, wait, free. */
int rt_run1(rt_ctx *ctx, rt_kernel *k, const rt_binding *b, int nb, const void *push,
            uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz);

/* ---- first kernels (fill, copy, axpy, matmul) --------------------------
 * Thin wrappers that choose specialization constants and group counts. */

typedef struct rt_matmul_desc {
    uint32_t m, n, k;
    int transpose_a, transpose_b;   /* a is [m,k] ([k,m] if transposed); b [k,n] ([n,k]) */
    int variant;                    /* 0: automatic ($MEG_MATMUL_VARIANT if set); others: see ops.c */
    int ones_row;                   /* also compute row m of [op(a); 1...1] op(b) (generated epilogues only) */
    uint32_t ones_from;             /* with ones_row: the ones start at this k (0 before it); 0: all of K */
} rt_matmul_desc;

int rt_fill(rt_cmd *c, rt_buffer *dst, size_t offset, size_t count, float value);
int rt_copy_kernel(rt_cmd *c, rt_buffer *src, size_t src_off, rt_buffer *dst, size_t dst_off, size_t count);
int rt_axpy(rt_cmd *c, float a, rt_buffer *x, size_t x_off, rt_buffer *y, size_t y_off, size_t count);
/* C = op(A) op(B) (and the row of ones as row M of C). Bias and activation
 * are the graph planner's job: it fuses them into a generated epilogue. */
int rt_matmul(rt_cmd *c, const rt_matmul_desc *d, rt_binding a, rt_binding b, rt_binding out);
/* Variants are 1 .. rt_matmul_variants() - 1 (0 is automatic). */
int rt_matmul_variants(void);
/* The group counts and spec constants a matmul dispatch uses (the planner
 * records matmuls with generated epilogues through the same choice). */
typedef struct rt_matmul_plan {
    uint32_t spec[16];
    int nspec;
    uint32_t groups[3];
    int vec4_a, vec4_b;             /* view formats for a and b */
    int tiled;                      /* kernel "matmul_tiled" (else "matmul") */
} rt_matmul_plan;
int rt_matmul_choose(rt_ctx *ctx, const rt_matmul_desc *d, size_t a_off, size_t b_off,
                     size_t out_off, rt_matmul_plan *p);

#endif
