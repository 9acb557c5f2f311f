/* kernels.c: the kernel registry (embedded SPIR-V by name), descriptor
 * bindings read from the SPIR-V, compute pipelines cached per
 * (kernel, specialization constants), and the on-disk VkPipelineCache. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BINDINGS 32
#define MAX_SPEC 32
#define PUSH_SIZE 128   /* the most rt_cmd_dispatch pushes; the layout's range is the shader's block */

typedef struct rt_kbinding {
    VkDescriptorType type;
    bool writes;
    bool used;           /* declared but optimised away: bound by the caller, ignored */
} rt_kbinding;

struct rt_cached_kernel {
    char key[256];
    uint32_t spec[MAX_SPEC];
    int nspec;
    struct rt_kernel *k;
};

struct rt_kernel {
    char name[256];
    int nbind;
    rt_kbinding bind[MAX_BINDINGS];
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
    VkShaderModule module;
    uint32_t push_size;  /* bytes of the shader's push-constant block; 0: none */
};

const char *rt_source(const char *name)
{
    for (const rt_embedded_kernel *k = rt_embedded_kernels; k->name; k++)
        if (!strcmp(k->name, name)) return k->source;
    for (const rt_embedded_source *s = rt_embedded_sources; s->name; s++)
        if (!strcmp(s->name, name)) return s->source;
    return NULL;
}

/* ---- SPIR-V reflection: just the descriptor bindings of set 0 ---------- */

enum {
    OP_TYPE_INT = 21, OP_TYPE_FLOAT = 22, OP_TYPE_VECTOR = 23, OP_TYPE_IMAGE = 25, OP_TYPE_SAMPLED_IMAGE = 27, OP_TYPE_STRUCT = 30, OP_TYPE_POINTER = 32,
    OP_VARIABLE = 59, OP_DECORATE = 71, OP_MEMBER_DECORATE = 72,
    DEC_BLOCK = 2, DEC_BUFFER_BLOCK = 3, DEC_NON_WRITABLE = 24, DEC_BINDING = 33, DEC_SET = 34, DEC_OFFSET = 35,
    SC_UNIFORM_CONSTANT = 0, SC_UNIFORM = 2, SC_PUSH_CONSTANT = 9, SC_STORAGE_BUFFER = 12,
};

typedef struct id_info {
    uint16_t op;            /* defining opcode */
    uint32_t a, b, c;       /* operands (meaning per op) */
    int32_t binding, set;
    uint8_t block, buffer_block, nonwritable, member_nonwritable, member_writable;
} id_info;

static int reflect(const uint32_t *w, size_t n, rt_kbinding *out, int *nbind, const char *name)
{
    if (n < 5 || w[0] != 0x07230203) {
        rt_set_error("kernel %s: not SPIR-V (bad magic number)", name);
        return -1;
    }
    uint32_t bound = w[3];
    id_info *ids = calloc(bound, sizeof *ids);
    if (!ids) { rt_set_error("out of host memory"); return -1; }
    for (uint32_t i = 0; i < bound; i++) ids[i].binding = ids[i].set = -1;
    /* first pass: decorations and types */
    for (size_t p = 5; p < n;) {
        uint32_t op = w[p] & 0xffff, len = w[p] >> 16;
        if (len == 0 || p + len > n) { free(ids); rt_set_error("kernel %s: truncated SPIR-V", name); return -1; }
        const uint32_t *o = w + p + 1;
        if (op == OP_DECORATE && len >= 3 && o[0] < bound) {
            id_info *t = &ids[o[0]];
            if (o[1] == DEC_BINDING && len >= 4) t->binding = (int32_t)o[2];
            else if (o[1] == DEC_SET && len >= 4) t->set = (int32_t)o[2];
            else if (o[1] == DEC_BLOCK) t->block = 1;
            else if (o[1] == DEC_BUFFER_BLOCK) t->buffer_block = 1;
            else if (o[1] == DEC_NON_WRITABLE) t->nonwritable = 1;
        } else if (op == OP_MEMBER_DECORATE && len >= 4 && o[0] < bound) {
            if (o[2] == DEC_NON_WRITABLE) ids[o[0]].member_nonwritable = 1;
        } else if (op == OP_TYPE_IMAGE && len >= 9 && o[0] < bound) {
            ids[o[0]].op = (uint16_t)op;
            ids[o[0]].a = o[2];      /* Dim */
            ids[o[0]].b = o[6];      /* Sampled: 1 sampled, 2 storage */
        } else if (op == OP_TYPE_SAMPLED_IMAGE && len >= 3 && o[0] < bound) {
            ids[o[0]].op = (uint16_t)op;
            ids[o[0]].a = o[1];
        } else if (op == OP_TYPE_STRUCT && o[0] < bound) {
            ids[o[0]].op = (uint16_t)op;
        } else if (op == OP_TYPE_POINTER && len >= 4 && o[0] < bound) {
            ids[o[0]].op = (uint16_t)op;
            ids[o[0]].a = o[1];      /* storage class */
            ids[o[0]].b = o[2];      /* pointee */
        } else if (op == OP_VARIABLE && len >= 4 && o[1] < bound) {
            ids[o[1]].op = (uint16_t)op;
            ids[o[1]].a = o[0];      /* pointer type */
            ids[o[1]].b = o[2];      /* storage class */
        }
        p += len;
    }
    int nb = 0;
    for (uint32_t v = 0; v < bound; v++) {
        id_info *var = &ids[v];
        if (var->op != OP_VARIABLE || var->binding < 0) continue;
        if (var->set > 0) { free(ids); rt_set_error("kernel %s: only descriptor set 0 is supported", name); return -1; }
        if (var->binding >= MAX_BINDINGS) { free(ids); rt_set_error("kernel %s: binding %d is too large", name, var->binding); return -1; }
        if (var->a >= bound) continue;
        uint32_t pointee = ids[var->a].b;
        if (pointee >= bound) continue;
        id_info *t = &ids[pointee];
        rt_kbinding kb = {0};
        bool ro = var->nonwritable;
        if (var->b == SC_UNIFORM_CONSTANT) {
            id_info *img = t;
            if (t->op == OP_TYPE_SAMPLED_IMAGE && t->a < bound) img = &ids[t->a];
            if (img->op != OP_TYPE_IMAGE || img->a != 5 /* Buffer */) {
                free(ids);
                rt_set_error("kernel %s: binding %d is not a texel buffer (only buffers are supported)", name,
                             var->binding);
                return -1;
            }
            if (img->b == 2) {
                kb.type = VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
                kb.writes = !ro;
            } else {
                kb.type = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
                kb.writes = false;
            }
        } else if (var->b == SC_STORAGE_BUFFER || (var->b == SC_UNIFORM && t->buffer_block)) {
            kb.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            kb.writes = !(ro || t->member_nonwritable);
        } else if (var->b == SC_UNIFORM) {
            kb.type = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
            kb.writes = false;
        } else {
            continue;
        }
        kb.used = true;
        out[var->binding] = kb;
        if (var->binding + 1 > nb) nb = var->binding + 1;
    }
    free(ids);
    /* A gap is a binding the compiler removed as unused; the caller still
     * passes a buffer for it, which is then ignored. */
    *nbind = nb;
    return 0;
}

/* Bytes of the push-constant block (0 when there is none): the pipeline
 * layout's range covers just that, since every push-constant byte in the
 * layout costs a user-data register on some GPUs (AMD's "keep the layout
 * small"). Members of scalars and vectors are measured; anything else
 * (arrays, matrices, nested blocks) gets the whole PUSH_SIZE. */
static const uint32_t *spv_def(const uint32_t *w, size_t n, uint32_t id, uint32_t result_at, uint32_t op)
{
    for (size_t p = 5; p < n;) {
        uint32_t o = w[p] & 0xffff, len = w[p] >> 16;
        if (len == 0 || p + len > n) return NULL;
        if (o == op && len > result_at + 1 && w[p + 1 + result_at] == id) return w + p;
        p += len;
    }
    return NULL;
}

static uint32_t spv_scalar_bytes(const uint32_t *w, size_t n, uint32_t type)
{
    const uint32_t *d;
    if ((d = spv_def(w, n, type, 0, OP_TYPE_INT)) || (d = spv_def(w, n, type, 0, OP_TYPE_FLOAT))) return d[2] / 8;
    if ((d = spv_def(w, n, type, 0, OP_TYPE_VECTOR)) && (d[0] >> 16) >= 4) {
        uint32_t c = spv_scalar_bytes(w, n, d[2]);
        return c ? c * d[3] : 0;
    }
    return 0;
}

static uint32_t push_block_size(const uint32_t *w, size_t n)
{
    uint32_t block = 0;
    for (size_t p = 5; p < n;) {
        uint32_t op = w[p] & 0xffff, len = w[p] >> 16;
        if (len == 0 || p + len > n) return PUSH_SIZE;
        if (op == OP_VARIABLE && len >= 4 && w[p + 3] == SC_PUSH_CONSTANT) {
            const uint32_t *ptr = spv_def(w, n, w[p + 1], 0, OP_TYPE_POINTER);
            if (!ptr || (ptr[0] >> 16) < 4) return PUSH_SIZE;
            block = ptr[3];
            break;
        }
        p += len;
    }
    if (!block) return 0;
    const uint32_t *st = spv_def(w, n, block, 0, OP_TYPE_STRUCT);
    if (!st) return PUSH_SIZE;
    uint32_t nmem = (st[0] >> 16) - 2, end = 0;
    for (uint32_t m = 0; m < nmem; m++) {
        uint32_t bytes = spv_scalar_bytes(w, n, st[2 + m]), off = UINT32_MAX;
        for (size_t p = 5; p < n;) {
            uint32_t op = w[p] & 0xffff, len = w[p] >> 16;
            if (op == OP_MEMBER_DECORATE && len >= 5 && w[p + 1] == block && w[p + 2] == m && w[p + 3] == DEC_OFFSET)
                off = w[p + 4];
            p += len;
        }
        if (!bytes || off == UINT32_MAX) return PUSH_SIZE;
        if (off + bytes > end) end = off + bytes;
    }
    end = (end + 3) / 4 * 4;
    return end > PUSH_SIZE ? PUSH_SIZE : end;
}

/* ---- pipelines --------------------------------------------------------- */

static void kernel_destroy(rt_ctx *ctx, struct rt_kernel *k)
{
    if (!k) return;
    if (k->pipeline) vkDestroyPipeline(ctx->dev, k->pipeline, NULL);
    if (k->layout) vkDestroyPipelineLayout(ctx->dev, k->layout, NULL);
    if (k->set_layout) vkDestroyDescriptorSetLayout(ctx->dev, k->set_layout, NULL);
    if (k->module) vkDestroyShaderModule(ctx->dev, k->module, NULL);
    free(k);
}

static int kernel_build(rt_ctx *ctx, const char *key, const uint32_t *words, size_t nwords, const uint32_t *spec,
                        int nspec, struct rt_kernel **out)
{
    struct rt_kernel *k = calloc(1, sizeof *k);
    if (!k) { rt_set_error("out of host memory"); return -1; }
    snprintf(k->name, sizeof k->name, "%s", key);
    if (reflect(words, nwords, k->bind, &k->nbind, key)) { free(k); return -1; }

    /* past the device's descriptor limits the layout is invalid: refuse it
     * here, naming the counts, rather than leave it to the driver */
    const VkPhysicalDeviceLimits *lim = rt_ctx_limits(ctx);
    uint32_t nstorage = 0, nsampled = 0, nall = 0;
    for (int i = 0; i < k->nbind; i++) {
        if (!k->bind[i].used) continue;
        nall++;
        VkDescriptorType t = k->bind[i].type;
        if (t == VK_DESCRIPTOR_TYPE_STORAGE_BUFFER) nstorage++;
        if (t == VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER || t == VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE ||
            t == VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER)
            nsampled++;
    }
    uint32_t max_storage = lim->maxPerStageDescriptorStorageBuffers < lim->maxDescriptorSetStorageBuffers
                               ? lim->maxPerStageDescriptorStorageBuffers : lim->maxDescriptorSetStorageBuffers;
    uint32_t max_sampled = lim->maxPerStageDescriptorSampledImages < lim->maxDescriptorSetSampledImages
                               ? lim->maxPerStageDescriptorSampledImages : lim->maxDescriptorSetSampledImages;
    if (nstorage > max_storage || nsampled > max_sampled || nall > lim->maxPerStageResources) {
        rt_set_error("kernel %s binds %u storage buffers, %u texel views (sampled descriptors) and %u resources in "
                     "all; the device allows %u, %u and %u per stage", key, nstorage, nsampled, nall, max_storage,
                     max_sampled, lim->maxPerStageResources);
        free(k);
        return -1;
    }
    VkDescriptorSetLayoutBinding lb[MAX_BINDINGS];
    uint32_t nlb = 0;
    for (int i = 0; i < k->nbind; i++) {
        if (!k->bind[i].used) continue;
        lb[nlb++] = (VkDescriptorSetLayoutBinding){.binding = (uint32_t)i, .descriptorType = k->bind[i].type,
                                                   .descriptorCount = 1,
                                                   .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    }
    VkDescriptorSetLayoutCreateInfo dl = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                          .bindingCount = nlb, .pBindings = lb};
    VKCHECK(vkCreateDescriptorSetLayout(ctx->dev, &dl, NULL, &k->set_layout));
    k->push_size = push_block_size(words, nwords);
    VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = k->push_size};
    VkPipelineLayoutCreateInfo pl = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                     .pSetLayouts = &k->set_layout, .pushConstantRangeCount = k->push_size ? 1 : 0,
                                     .pPushConstantRanges = &pr};
    VKCHECK(vkCreatePipelineLayout(ctx->dev, &pl, NULL, &k->layout));
    VkShaderModuleCreateInfo sm = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                   .codeSize = nwords * 4, .pCode = words};
    VKCHECK(vkCreateShaderModule(ctx->dev, &sm, NULL, &k->module));
    VkSpecializationMapEntry me[MAX_SPEC];
    for (int i = 0; i < nspec; i++)
        me[i] = (VkSpecializationMapEntry){.constantID = (uint32_t)i, .offset = (uint32_t)(4 * i), .size = 4};
    VkSpecializationInfo si = {.mapEntryCount = (uint32_t)nspec, .pMapEntries = me,
                               .dataSize = (size_t)nspec * 4, .pData = spec};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = k->module, .pName = "main",
                  .pSpecializationInfo = nspec ? &si : NULL},
        .layout = k->layout,
    };
    VKCHECK(vkCreateComputePipelines(ctx->dev, ctx->pcache, 1, &ci, NULL, &k->pipeline));
    if (ctx->validation) {
        /* validation messages then name the kernel, not just a handle */
        VkDebugUtilsObjectNameInfoEXT ni = {.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT,
                                            .objectType = VK_OBJECT_TYPE_PIPELINE,
                                            .objectHandle = (uint64_t)k->pipeline, .pObjectName = k->name};
        VKCHECK(vkSetDebugUtilsObjectNameEXT(ctx->dev, &ni));
    }
    *out = k;
    return 0;
fail:
    rt_error_prefix("kernel %s", key);
    kernel_destroy(ctx, k);
    return -1;
}

static int kernel_lookup(rt_ctx *ctx, const char *key, const uint32_t *words, size_t nwords, const uint32_t *spec,
                         int nspec, rt_kernel **out)
{
    if (nspec > MAX_SPEC) { rt_set_error("kernel %s: %d specialization constants (at most %d)", key, nspec, MAX_SPEC); return -1; }
    for (int i = 0; i < ctx->nkernels; i++) {
        rt_cached_kernel *c = ctx->kernels[i];
        if (c->nspec == nspec && !strcmp(c->key, key) && (nspec == 0 || !memcmp(c->spec, spec, (size_t)nspec * 4))) {
            *out = c->k;
            return 0;
        }
    }
    if (!words) return 1; /* caller supplies the code */
    struct rt_kernel *k;
    if (kernel_build(ctx, key, words, nwords, spec, nspec, &k)) return -1;
    if (ctx->nkernels == ctx->capkernels) {
        int cap = ctx->capkernels ? 2 * ctx->capkernels : 32;
        rt_cached_kernel **nk = realloc(ctx->kernels, (size_t)cap * sizeof *nk);
        if (!nk) { kernel_destroy(ctx, k); rt_set_error("out of host memory"); return -1; }
        ctx->kernels = nk;
        ctx->capkernels = cap;
    }
    rt_cached_kernel *c = calloc(1, sizeof *c);
    if (!c) { kernel_destroy(ctx, k); rt_set_error("out of host memory"); return -1; }
    snprintf(c->key, sizeof c->key, "%s", key);
    if (nspec) memcpy(c->spec, spec, (size_t)nspec * 4);
    c->nspec = nspec;
    c->k = k;
    ctx->kernels[ctx->nkernels++] = c;
    *out = k;
    return 0;
}

int rt_kernel_get(rt_ctx *ctx, const char *name, const uint32_t *spec, int nspec, rt_kernel **out)
{
    for (const rt_embedded_kernel *e = rt_embedded_kernels; e->name; e++)
        if (!strcmp(e->name, name)) return kernel_lookup(ctx, name, e->spv, e->nwords, spec, nspec, out);
    rt_set_error("unknown kernel \"%s\" (not among the embedded shaders)", name);
    return -1;
}

int rt_kernel_from_spirv(rt_ctx *ctx, const char *key, const uint32_t *words, size_t nwords, const uint32_t *spec,
                         int nspec, rt_kernel **out)
{
    return kernel_lookup(ctx, key, words, nwords, spec, nspec, out);
}

const char *rt_kernel_name(const rt_kernel *k) { return k->name; }
int rt_kernel_binding_count(const rt_kernel *k) { return k->nbind; }
uint32_t rt__kernel_push_size(const rt_kernel *k) { return k->push_size; }
VkPipeline rt__kernel_pipeline(const rt_kernel *k) { return k->pipeline; }
VkPipelineLayout rt__kernel_layout(const rt_kernel *k) { return k->layout; }
VkDescriptorSetLayout rt__kernel_set_layout(const rt_kernel *k) { return k->set_layout; }
VkDescriptorType rt__kernel_binding_type(const rt_kernel *k, int i, bool *writes, bool *used)
{
    *writes = k->bind[i].writes;
    *used = k->bind[i].used;
    return k->bind[i].type;
}

void rt__kernels_free(rt_ctx *ctx)
{
    for (int i = 0; i < ctx->nkernels; i++) {
        kernel_destroy(ctx, ctx->kernels[i]->k);
        free(ctx->kernels[i]);
    }
    free(ctx->kernels);
    ctx->kernels = NULL;
    ctx->nkernels = ctx->capkernels = 0;
}

/* ---- pipeline cache on disk ------------------------------------------- */

int rt__pipeline_cache_init(rt_ctx *ctx)
{
    char dir[900];
    void *data = NULL;
    size_t size = 0;
    if (!rt_cache_dir(dir, sizeof dir)) {
        snprintf(ctx->pcache_path, sizeof ctx->pcache_path, "%s/pipelines-%08x-%08x-%08x.bin", dir,
                 ctx->props.vendorID, ctx->props.deviceID, ctx->props.driverVersion);
        FILE *f = fopen(ctx->pcache_path, "rb");
        if (f) {
            fseek(f, 0, SEEK_END);
            long n = ftell(f);
            fseek(f, 0, SEEK_SET);
            /* Only hand the driver data whose header names this device. */
            if (n >= 16 + VK_UUID_SIZE && n < (256L << 20)) {
                data = malloc((size_t)n);
                if (data && fread(data, 1, (size_t)n, f) == (size_t)n) {
                    const uint32_t *h = data;
                    if (h[0] >= 16 + VK_UUID_SIZE && h[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
                        h[2] == ctx->props.vendorID && h[3] == ctx->props.deviceID &&
                        !memcmp((const char *)data + 16, ctx->props.pipelineCacheUUID, VK_UUID_SIZE))
                        size = (size_t)n;
                }
            }
            fclose(f);
        }
    }
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                    .initialDataSize = size, .pInitialData = size ? data : NULL};
    VkResult r = vkCreatePipelineCache(ctx->dev, &ci, NULL, &ctx->pcache);
    if (r != VK_SUCCESS && size) {
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        r = vkCreatePipelineCache(ctx->dev, &ci, NULL, &ctx->pcache);
    }
    free(data);
    if (r != VK_SUCCESS) {
        rt_set_error("vkCreatePipelineCache failed: %s", rt_vk_result_name(r));
        return -1;
    }
    return 0;
}

/* Best effort: a cache that cannot be saved only costs time next run. */
void rt__pipeline_cache_save(rt_ctx *ctx)
{
    if (!ctx->pcache_path[0]) return;
    size_t n = 0;
    if (vkGetPipelineCacheData(ctx->dev, ctx->pcache, &n, NULL) != VK_SUCCESS || n == 0) return;
    void *data = malloc(n);
    if (!data) return;
    if (vkGetPipelineCacheData(ctx->dev, ctx->pcache, &n, data) != VK_SUCCESS) { free(data); return; }
    /* best effort: the message of a failure is dropped with it */
    char keep[256];
    snprintf(keep, sizeof keep, "%s", rt_error());
    if (rt_write_file_atomic(ctx->pcache_path, data, n, RT_WRITE_MKDIRS)) rt_set_error("%s", keep);
    free(data);
}
