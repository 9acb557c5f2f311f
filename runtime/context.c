/* context.c: Vulkan instance (through volk), device choice, validation
 * messenger, queue and command pool. */
#include "internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *VALIDATION_LAYER = "VK_LAYER_KHRONOS_validation";

const char *rt__vk_call_name(const char *expr)
{
    static _Thread_local char name[128];
    size_t i = 0;
    while (expr[i] && expr[i] != '(' && i + 1 < sizeof name) {
        name[i] = expr[i];
        i++;
    }
    name[i] = 0;
    return name;
}

const char *rt_vk_result_name(VkResult r)
{
    switch (r) {
#define C(x) case x: return #x;
    C(VK_SUCCESS) C(VK_NOT_READY) C(VK_TIMEOUT) C(VK_EVENT_SET) C(VK_EVENT_RESET) C(VK_INCOMPLETE)
    C(VK_ERROR_OUT_OF_HOST_MEMORY) C(VK_ERROR_OUT_OF_DEVICE_MEMORY) C(VK_ERROR_INITIALIZATION_FAILED)
    C(VK_ERROR_DEVICE_LOST) C(VK_ERROR_MEMORY_MAP_FAILED) C(VK_ERROR_LAYER_NOT_PRESENT)
    C(VK_ERROR_EXTENSION_NOT_PRESENT) C(VK_ERROR_FEATURE_NOT_PRESENT) C(VK_ERROR_INCOMPATIBLE_DRIVER)
    C(VK_ERROR_TOO_MANY_OBJECTS) C(VK_ERROR_FORMAT_NOT_SUPPORTED) C(VK_ERROR_FRAGMENTED_POOL)
    C(VK_ERROR_UNKNOWN) C(VK_ERROR_OUT_OF_POOL_MEMORY) C(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    C(VK_ERROR_FRAGMENTATION) C(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS) C(VK_PIPELINE_COMPILE_REQUIRED)
#undef C
    default: return "VK_RESULT_UNKNOWN";
    }
}

static int volk_ready(void)
{
    static int state = 0; /* 0 unknown, 1 ok, -1 failed */
    if (state == 0) state = volkInitialize() == VK_SUCCESS ? 1 : -1;
    if (state < 0) {
        rt_set_error("volkInitialize failed: no Vulkan loader (libvulkan.so.1) found; install libvulkan1 "
                     "and a driver (mesa-vulkan-drivers provides lavapipe)");
        return -1;
    }
    return 0;
}

static rt_device_type map_type(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return RT_DEVICE_DISCRETE;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return RT_DEVICE_INTEGRATED;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return RT_DEVICE_VIRTUAL;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return RT_DEVICE_CPU;
    default: return RT_DEVICE_OTHER;
    }
}

static const char *type_names[] = {"discrete", "integrated", "virtual", "cpu", "other"};

static void fill_info(VkPhysicalDevice pd, int index, rt_device_info *info)
{
    VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties sub = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
                                              .pNext = &drv};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sub};
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(pd, &props);
    int has12 = props.apiVersion >= VK_API_VERSION_1_2;
    if (!has12) sub.pNext = NULL;
    vkGetPhysicalDeviceProperties2(pd, &p2);
    memset(info, 0, sizeof *info);
    info->index = index;
    snprintf(info->name, sizeof info->name, "%s", props.deviceName);
    info->type = map_type(props.deviceType);
    info->type_name = type_names[info->type];
    if (has12)
        snprintf(info->driver, sizeof info->driver, "%.120s %.120s", drv.driverName, drv.driverInfo);
    else
        snprintf(info->driver, sizeof info->driver, "driver version 0x%x", props.driverVersion);
    info->vendor_id = props.vendorID;
    info->device_id = props.deviceID;
    info->driver_version = props.driverVersion;
    info->api_version = props.apiVersion;
    info->subgroup_size = sub.subgroupSize;
    info->is_llvmpipe = strstr(props.deviceName, "llvmpipe") != NULL;
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    for (uint32_t h = 0; h < mp.memoryHeapCount; h++)
        if ((mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && mp.memoryHeaps[h].size > info->memory)
            info->memory = mp.memoryHeaps[h].size;
}

/* Best-practices ids that are not errors for this runtime, each with why.
 * Keyed by the layer's message id name; only seen with validation = 2.
 * An entry with no_priority set is filtered only on a device without
 * VK_EXT_memory_priority (with it, every allocation gives a priority). */
static const struct { const char *id; int no_priority, not_nvidia; const char *why; } BP_FILTERED[] = {
    {"UNASSIGNED-BestPractices-AllocateMemory-SetPriority", 1, 0,
     "NVIDIA: wants VkMemoryPriorityAllocateInfoEXT, which needs VK_EXT_memory_priority"},
    /* With no vkQueuePresentKHR the layer's "frame" is the whole run. The
     * recorder binds a pipeline only when it changes; what is left is one
     * kernel run again after barriers (each of the n-energy updates, layers
     * of one shape, forward then backward): the dependencies fix the order. */
    {"UNASSIGNED-BestPractices-Pipeline-SortAndBind", 0, 0,
     "a kernel runs at several dependent points of a step; sorting cannot merge them"},
    /* Only RT_CMD_REPEAT buffers (plans) ask for it: g_plan_run(p, k) puts
     * one buffer k times in one vkQueueSubmit, which needs simultaneous use;
     * without it each copy would be a submit that waits for the last. */
    {"UNASSIGNED-BestPractices-vkBeginCommandBuffer-simultaneous-use", 0, 0,
     "plans are replayed several times in one submit"},
    /* The layer counts barriers recorded since the last vkQueuePresentKHR,
     * so without one every barrier past the 500th of the run warns;
     * rt_cmd_end applies AMD's 500 to each command buffer instead. */
    {"UNASSIGNED-BestPractices-CmdBuffer-highBarrierCount", 0, 0,
     "a count over the whole run; checked per command buffer by rt_cmd_end"},
    /* NVIDIA reads the first 256 bytes of a layout's descriptors fast; on
     * NVIDIA devices horizontal fusion keeps its merged kernels within them
     * (g_limits.fast_descriptor_bytes), elsewhere fewer dispatches win. */
    {"UNASSIGNED-BestPractices-CreatePipelineLayout-LargePipelineLayout", 0, 1,
     "NVIDIA's fast descriptor space, honoured by horizontal fusion on NVIDIA devices only"},
    {NULL, 0, 0, NULL},
};

static int bp_filtered(const rt_ctx *ctx, const char *id)
{
    if (!id) return 0;
    for (size_t i = 0; BP_FILTERED[i].id; i++)
        if (!strcmp(BP_FILTERED[i].id, id))
            return (!BP_FILTERED[i].no_priority || !ctx->memory_priority) &&
                   (!BP_FILTERED[i].not_nvidia || ctx->props.vendorID != 0x10de);
    return 0;
}

/* The vendor checks of best practices (AMD, NVIDIA) have no enum in
 * VK_EXT_validation_features; layers before VK_EXT_layer_settings (1.3.239
 * here) read them only from $VK_LAYER_ENABLES or vk_layer_settings.txt. */
static const char *BP_LAYER_ENABLES = "VK_VALIDATION_FEATURE_ENABLE_BEST_PRACTICES_EXT:"
                                      "VALIDATION_CHECK_ENABLE_VENDOR_SPECIFIC_AMD:"
                                      "VALIDATION_CHECK_ENABLE_VENDOR_SPECIFIC_NVIDIA";

static int create_instance(int validation, VkInstance *out)
{
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "meg",
        .applicationVersion = 1,
        .pEngineName = "meg",
        .engineVersion = 1,
        .apiVersion = VK_API_VERSION_1_2,
    };
    uint32_t loader_version = VK_API_VERSION_1_0;
    if (vkEnumerateInstanceVersion) vkEnumerateInstanceVersion(&loader_version);
    if (loader_version < VK_API_VERSION_1_1) {
        rt_set_error("the Vulkan loader supports only version %u.%u; 1.1 or newer is needed",
                     VK_API_VERSION_MAJOR(loader_version), VK_API_VERSION_MINOR(loader_version));
        return -1;
    }
    if (loader_version < VK_API_VERSION_1_2) app.apiVersion = VK_API_VERSION_1_1;

    const char *layers[1];
    uint32_t nlayers = 0;
    const char *exts[4];
    uint32_t nexts = 0;
    VkInstanceCreateFlags flags = 0;
    int set_enables = 0;

    uint32_t n = 0;
    vkEnumerateInstanceExtensionProperties(NULL, &n, NULL);
    VkExtensionProperties *ep = calloc(n ? n : 1, sizeof *ep);
    if (!ep) { rt_set_error("out of host memory"); return -1; }
    vkEnumerateInstanceExtensionProperties(NULL, &n, ep);
    for (uint32_t i = 0; i < n; i++) {
        /* MoltenVK lists its devices only with portability enumeration. */
        if (!strcmp(ep[i].extensionName, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
            exts[nexts++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
            flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
        }
    }
    free(ep);

    if (validation) {
        uint32_t nl = 0;
        vkEnumerateInstanceLayerProperties(&nl, NULL);
        VkLayerProperties *lp = calloc(nl ? nl : 1, sizeof *lp);
        if (!lp) { rt_set_error("out of host memory"); return -1; }
        vkEnumerateInstanceLayerProperties(&nl, lp);
        int found = 0;
        for (uint32_t i = 0; i < nl; i++)
            if (!strcmp(lp[i].layerName, VALIDATION_LAYER)) found = 1;
        free(lp);
        if (!found) {
            rt_set_error("validation was requested (MEG_VALIDATION=%s) but %s is not installed "
                         "(Debian: vulkan-validationlayers)", validation == 2 ? "best" : "1", VALIDATION_LAYER);
            return -1;
        }
        layers[nlayers++] = VALIDATION_LAYER;
        exts[nexts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        exts[nexts++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
        /* the layer reads it at vkCreateInstance (unset again below); a value the user set wins */
        if (validation == 2 && !getenv("VK_LAYER_ENABLES")) set_enables = !setenv("VK_LAYER_ENABLES", BP_LAYER_ENABLES, 0);
    }
    /* with validation, synchronization validation too: a missing barrier
     * between dependent dispatches is reported like any other error */
    VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT,
                                              VK_VALIDATION_FEATURE_ENABLE_BEST_PRACTICES_EXT};
    VkValidationFeaturesEXT vf = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                  .enabledValidationFeatureCount = validation == 2 ? 2 : 1,
                                  .pEnabledValidationFeatures = enables};

    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = validation ? &vf : NULL,
        .flags = flags,
        .pApplicationInfo = &app,
        .enabledLayerCount = nlayers,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = nexts,
        .ppEnabledExtensionNames = exts,
    };
    VkResult r = vkCreateInstance(&ci, NULL, out);
    if (set_enables) unsetenv("VK_LAYER_ENABLES");   /* later contexts get only what they ask for */
    if (r != VK_SUCCESS) {
        rt_set_error("vkCreateInstance failed: %s", rt_vk_result_name(r));
        return -1;
    }
    volkLoadInstance(*out);
    return 0;
}

static int rank_of(rt_device_type t) { return (int)t; } /* discrete < integrated < virtual < cpu < other */

int rt_list_devices(rt_device_info *out, int max, int *count)
{
    if (volk_ready()) return -1;
    VkInstance inst;
    if (create_instance(0, &inst)) return -1;
    uint32_t n = 0;
    VkPhysicalDevice *pds = NULL;
    VKCHECK(vkEnumeratePhysicalDevices(inst, &n, NULL));
    pds = calloc(n ? n : 1, sizeof *pds);
    if (!pds) { rt_set_error("out of host memory"); goto fail; }
    VKCHECK(vkEnumeratePhysicalDevices(inst, &n, pds));
    for (uint32_t i = 0; i < n && (int)i < max; i++) fill_info(pds[i], (int)i, &out[i]);
    *count = (int)n;
    free(pds);
    vkDestroyInstance(inst, NULL);
    return 0;
fail:
    free(pds);
    vkDestroyInstance(inst, NULL);
    return -1;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                     VkDebugUtilsMessageTypeFlagsEXT type,
                                                     const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                     void *user)
{
    (void)type;
    rt_ctx *ctx = user;
    if (severity < VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) return VK_FALSE;
    if (bp_filtered(ctx, data ? data->pMessageIdName : NULL)) return VK_FALSE;
    __atomic_add_fetch(&ctx->validation_count, 1, __ATOMIC_SEQ_CST);
    if (!ctx->quiet_validation)
        fprintf(stderr, "[vulkan validation %s] %s\n",
                severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
                data && data->pMessage ? data->pMessage : "(no message)");
    return VK_FALSE;
}

void rt__validation_message(rt_ctx *ctx, const char *fmt, ...)
{
    __atomic_add_fetch(&ctx->validation_count, 1, __ATOMIC_SEQ_CST);
    if (ctx->quiet_validation) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[vulkan validation warning] ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return 1;
    }
    return n == 0;
}

static int pick_device(rt_ctx *ctx, const char *want)
{
    uint32_t n = 0;
    VkPhysicalDevice *pds = NULL;
    VKCHECK(vkEnumeratePhysicalDevices(ctx->instance, &n, NULL));
    if (n == 0) {
        rt_set_error("vkEnumeratePhysicalDevices found no Vulkan device; install a driver "
                     "(mesa-vulkan-drivers provides lavapipe, which runs on the CPU)");
        return -1;
    }
    pds = calloc(n, sizeof *pds);
    if (!pds) { rt_set_error("out of host memory"); return -1; }
    VKCHECK(vkEnumeratePhysicalDevices(ctx->instance, &n, pds));
    int best = -1, best_rank = 1 << 30;
    rt_device_info info;
    if (want && *want) {
        char *end;
        long idx = strtol(want, &end, 10);
        if (*end == 0) {
            if (idx < 0 || idx >= (long)n) {
                rt_set_error("device index %ld is out of range: %u device(s) (meg-bench --list-devices lists them)",
                             idx, n);
                goto fail;
            }
            best = (int)idx;
        } else {
            for (uint32_t i = 0; i < n; i++) {
                fill_info(pds[i], (int)i, &info);
                if (icontains(info.name, want) || icontains(info.driver, want)) { best = (int)i; break; }
            }
            if (best < 0) {
                char shown[200];
                rt_set_error("no Vulkan device matches \"%s\" (meg-bench --list-devices lists them)",
                             rt_escape(want, 100, shown, sizeof shown));
                goto fail;
            }
        }
    } else {
        for (uint32_t i = 0; i < n; i++) {
            fill_info(pds[i], (int)i, &info);
            int r = rank_of(info.type);
            if (r < best_rank) { best_rank = r; best = (int)i; }
        }
    }
    ctx->phys = pds[best];
    fill_info(ctx->phys, best, &ctx->info);
    free(pds);
    return 0;
fail:
    free(pds);
    return -1;
}

int rt_ctx_create(const rt_options *opt, rt_ctx **out)
{
    *out = NULL;
    rt_options o = {0};
    o.validation = -1;
    o.autotune = -1;
    if (opt) o = *opt;
    uint32_t lim_texels = o.max_texels, lim_range = o.max_storage_range, lim_groups = o.max_groups;
    uint32_t lim_storage = o.max_storage_buffers, lim_sampled = o.max_sampled;
    if ((!lim_texels && rt_limit_env("MEG_LIMIT_TEXELS", &lim_texels)) ||
        (!lim_range && rt_limit_env("MEG_LIMIT_STORAGE_RANGE", &lim_range)) ||
        (!lim_groups && rt_limit_env("MEG_LIMIT_GROUPS", &lim_groups)) ||
        (!lim_storage && rt_limit_env("MEG_LIMIT_STORAGE_BUFFERS", &lim_storage)) ||
        (!lim_sampled && rt_limit_env("MEG_LIMIT_SAMPLED", &lim_sampled)))
        return -1;
    if (volk_ready()) return -1;
    rt_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) { rt_set_error("out of host memory"); return -1; }
    if (o.validation < 0) {
        const char *v = getenv("MEG_VALIDATION");
        o.validation = !v || !*v || !strcmp(v, "0") ? 0 : !strcmp(v, "best") ? 2 : 1;
    }
    ctx->validation = o.validation;
    ctx->quiet_validation = o.quiet_validation;
    if (create_instance(ctx->validation, &ctx->instance)) goto fail_nolabel;

    if (ctx->validation) {
        VkDebugUtilsMessengerCreateInfoEXT mi = {
            .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
            .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
            .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
            .pfnUserCallback = on_validation,
            .pUserData = ctx,
        };
        VKCHECK(vkCreateDebugUtilsMessengerEXT(ctx->instance, &mi, NULL, &ctx->messenger));
    }

    const char *want = o.device ? o.device : getenv("MEG_DEVICE");
    if (o.device && !o.device[0]) {
        /* "" would match every name: say so rather than pick one */
        rt_set_error("an empty device name matches every device; give an index or a name substring "
                     "(meg-bench --list-devices lists them)");
        goto fail_nolabel;
    }
    if (pick_device(ctx, want)) goto fail_nolabel;
    vkGetPhysicalDeviceProperties(ctx->phys, &ctx->props);
    vkGetPhysicalDeviceMemoryProperties(ctx->phys, &ctx->memprops);
    if (ctx->props.apiVersion < VK_API_VERSION_1_1) {
        rt_set_error("device %s supports Vulkan %u.%u only; 1.1 is needed", ctx->info.name,
                     VK_API_VERSION_MAJOR(ctx->props.apiVersion), VK_API_VERSION_MINOR(ctx->props.apiVersion));
        goto fail_nolabel;
    }

    /* tests' lower limits (rt_options, read above) */
    VkPhysicalDeviceLimits *lim = &ctx->props.limits;
    if (lim_texels && lim_texels < lim->maxTexelBufferElements) lim->maxTexelBufferElements = lim_texels;
    if (lim_range && lim_range < lim->maxStorageBufferRange) lim->maxStorageBufferRange = lim_range;
    for (int a = 0; a < 3; a++)
        if (lim_groups && lim_groups < lim->maxComputeWorkGroupCount[a]) lim->maxComputeWorkGroupCount[a] = lim_groups;
    uint32_t *per[4] = {&lim->maxPerStageDescriptorStorageBuffers, &lim->maxDescriptorSetStorageBuffers,
                        &lim->maxPerStageDescriptorSampledImages, &lim->maxDescriptorSetSampledImages};
    for (int k = 0; k < 4; k++) {
        uint32_t v = k < 2 ? lim_storage : lim_sampled;
        if (v && v < *per[k]) *per[k] = v;
    }
    VkFormatProperties f8, f8x4;
    vkGetPhysicalDeviceFormatProperties(ctx->phys, VK_FORMAT_R8_UNORM, &f8);
    vkGetPhysicalDeviceFormatProperties(ctx->phys, VK_FORMAT_R8G8B8A8_UNORM, &f8x4);
    ctx->u8_texels = (f8.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT) &&
                     (f8x4.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT);

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(ctx->phys, &nq, NULL);
    VkQueueFamilyProperties qp[16];
    if (nq > 16) nq = 16;
    vkGetPhysicalDeviceQueueFamilyProperties(ctx->phys, &nq, qp);
    int qf = -1;
    for (uint32_t i = 0; i < nq; i++)
        if (qp[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
            /* prefer a family with compute; take the first */
            qf = (int)i;
            break;
        }
    if (qf < 0) {
        rt_set_error("device %s has no compute queue", ctx->info.name);
        goto fail_nolabel;
    }
    ctx->queue_family = (uint32_t)qf;
    ctx->timestamps_ok = qp[qf].timestampValidBits > 0 && ctx->props.limits.timestampComputeAndGraphics;
    ctx->timestamp_period = ctx->props.limits.timestampPeriod;

    /* Device extensions: portability subset must be enabled where offered. */
    uint32_t ne = 0;
    vkEnumerateDeviceExtensionProperties(ctx->phys, NULL, &ne, NULL);
    VkExtensionProperties *dext = calloc(ne ? ne : 1, sizeof *dext);
    const char *enable[2];
    uint32_t nenable = 0;
    int has_priority = 0;
    if (dext) {
        vkEnumerateDeviceExtensionProperties(ctx->phys, NULL, &ne, dext);
        for (uint32_t i = 0; i < ne; i++) {
            if (!strcmp(dext[i].extensionName, "VK_KHR_portability_subset")) enable[nenable++] = "VK_KHR_portability_subset";
            if (!strcmp(dext[i].extensionName, VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME)) has_priority = 1;
        }
        free(dext);
    }
    /* Memory priority: under memory pressure the OS keeps the blocks the
     * kernels write (all of them) in device memory first. */
    VkPhysicalDeviceMemoryPriorityFeaturesEXT mpf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PRIORITY_FEATURES_EXT};
    if (has_priority) {
        VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &mpf};
        vkGetPhysicalDeviceFeatures2(ctx->phys, &f2);
    }
    ctx->memory_priority = has_priority && mpf.memoryPriority;
    if (ctx->memory_priority) enable[nenable++] = VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME;

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = ctx->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = ctx->memory_priority ? &mpf : NULL,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
        .enabledExtensionCount = nenable,
        .ppEnabledExtensionNames = enable,
    };
    VKCHECK(vkCreateDevice(ctx->phys, &dci, NULL, &ctx->dev));
    volkLoadDevice(ctx->dev);
    vkGetDeviceQueue(ctx->dev, ctx->queue_family, 0, &ctx->queue);

    VkCommandPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        /* no RESET_COMMAND_BUFFER_BIT: buffers are recorded once and freed, never reset */
        .queueFamilyIndex = ctx->queue_family,
    };
    VKCHECK(vkCreateCommandPool(ctx->dev, &pci, NULL, &ctx->pool));
    if (rt__memory_init(ctx)) goto fail_nolabel;
    if (rt__pipeline_cache_init(ctx)) goto fail_nolabel;
    if (o.autotune < 0) {
        const char *v = getenv("MEG_AUTOTUNE");
        if (v && *v && strcmp(v, "0") && strcmp(v, "1")) {
            rt_set_error("MEG_AUTOTUNE=%s: expected 1 (on) or 0 (off)", v);
            goto fail_nolabel;
        }
        o.autotune = v && *v ? !strcmp(v, "1") : ctx->props.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU;
    }
    ctx->autotune = o.autotune != 0;
    *out = ctx;
    return 0;
fail:
fail_nolabel:
    rt_ctx_destroy(ctx);
    return -1;
}

void rt_ctx_destroy(rt_ctx *ctx)
{
    if (!ctx) return;
    if (ctx->dev) {
        vkDeviceWaitIdle(ctx->dev);
        rt__kernels_free(ctx);
        rt__autotune_free(ctx);
        if (ctx->pcache) {
            rt__pipeline_cache_save(ctx);
            vkDestroyPipelineCache(ctx->dev, ctx->pcache, NULL);
        }
        rt__memory_free(ctx);
        if (ctx->pool) vkDestroyCommandPool(ctx->dev, ctx->pool, NULL);
        vkDestroyDevice(ctx->dev, NULL);
    }
    if (ctx->messenger) vkDestroyDebugUtilsMessengerEXT(ctx->instance, ctx->messenger, NULL);
    if (ctx->instance) vkDestroyInstance(ctx->instance, NULL);
    free(ctx);
}

const rt_device_info *rt_ctx_device(const rt_ctx *ctx) { return &ctx->info; }
const VkPhysicalDeviceLimits *rt_ctx_limits(const rt_ctx *ctx) { return &ctx->props.limits; }
int rt_ctx_u8_texels(const rt_ctx *ctx) { return ctx->u8_texels; }
int rt_validation_count(const rt_ctx *ctx) { return ctx->validation_count; }
int rt_validation_enabled(const rt_ctx *ctx) { return ctx->validation; }

size_t rt_ctx_alignment(const rt_ctx *ctx)
{
    size_t a = 16;
    const VkPhysicalDeviceLimits *l = &ctx->props.limits;
    if (l->minStorageBufferOffsetAlignment > a) a = l->minStorageBufferOffsetAlignment;
    if (l->minTexelBufferOffsetAlignment > a) a = l->minTexelBufferOffsetAlignment;
    return a;
}
