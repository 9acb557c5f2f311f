/* compile.c: generated GLSL to SPIR-V with libshaderc, cached by a hash of
 * the source (and of the templates and includes it uses), in memory for the
 * process and on disk under the cache folder. */
#include "exec_internal.h"
#include "runtime.h"

#include <pthread.h>
#include <shaderc/shaderc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct spv_entry {
    uint64_t hash;
    uint32_t *words;
    size_t nwords;
    struct spv_entry *next;
} spv_entry;

static spv_entry *spv_cache;
static pthread_mutex_t spv_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct inc_ctx { const char *generated; } inc_ctx;

static shaderc_include_result *inc_resolve(void *user, const char *req, int type, const char *from, size_t depth)
{
    (void)type; (void)from; (void)depth;
    inc_ctx *ic = user;
    shaderc_include_result *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    const char *text = !strcmp(req, "generated.glsl") ? ic->generated : rt_source(req);
    if (text) {
        r->source_name = req;
        r->source_name_length = strlen(req);
        r->content = text;
        r->content_length = strlen(text);
    } else {
        r->source_name = "";
        r->content = "no such include file";
        r->content_length = strlen(r->content);
    }
    return r;
}

static void inc_release(void *user, shaderc_include_result *r) { (void)user; free(r); }

static void cache_path(char *out, size_t n, uint64_t h)
{
    char dir[900];
    out[0] = 0;
    if (!rt_cache_dir(dir, sizeof dir)) snprintf(out, n, "%s/spv/%016llx.spv", dir, (unsigned long long)h);
}

static int load_cached(uint64_t h, uint32_t **words, size_t *nwords)
{
    char path[1024];
    cache_path(path, sizeof path, h);
    if (!path[0]) return -1;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 20 || n % 4 || n > (16 << 20)) { fclose(f); return -1; }
    uint32_t *w = malloc((size_t)n);
    if (!w || fread(w, 1, (size_t)n, f) != (size_t)n || w[0] != 0x07230203) {
        free(w);
        fclose(f);
        return -1;
    }
    fclose(f);
    *words = w;
    *nwords = (size_t)n / 4;
    return 0;
}

/* Best effort: a cache file that cannot be written costs a compile later. */
static void store_cached(uint64_t h, const uint32_t *words, size_t nwords)
{
    char path[1024], keep[256];
    cache_path(path, sizeof path, h);
    if (!path[0]) return;
    snprintf(keep, sizeof keep, "%s", rt_error());
    if (rt_write_file_atomic(path, words, nwords * 4, RT_WRITE_MKDIRS | RT_WRITE_CACHE)) rt_set_error("%s", keep);
}

int x_compile(const char *source, int matmul_template, uint32_t **words, size_t *nwords, char *key, size_t keyn)
{
    static uint64_t salt;
    if (!salt) {
        /* the templates and includes are part of what a generated kernel is */
        const char *parts[] = {"matmul", "common.glsl", "philox.glsl"};
        uint64_t h = G_FNV_OFFSET64;
        for (int i = 0; i < 3; i++) {
            const char *t = rt_source(parts[i]);
            if (t) h = g_fnv1a64(h, t, strlen(t));
        }
        salt = h;
    }
    uint64_t h = g_fnv1a64(salt, source, strlen(source));
    h = g_fnv1a64(h, matmul_template == X_TEMPLATE_TILED ? "T" : matmul_template ? "M" : "E", 1);
    snprintf(key, keyn, "gen-%016llx", (unsigned long long)h);

    pthread_mutex_lock(&spv_lock);
    for (spv_entry *e = spv_cache; e; e = e->next)
        if (e->hash == h) {
            *words = e->words;
            *nwords = e->nwords;
            pthread_mutex_unlock(&spv_lock);
            return 0;
        }
    pthread_mutex_unlock(&spv_lock);

    uint32_t *w = NULL;
    size_t nw = 0;
    if (load_cached(h, &w, &nw)) {
        /* One compiler for the process: glslang parses its built-in
         * declarations again whenever the last compiler is released. */
        static shaderc_compiler_t comp;
        pthread_mutex_lock(&spv_lock);
        if (!comp) comp = shaderc_compiler_initialize();
        pthread_mutex_unlock(&spv_lock);
        shaderc_compile_options_t o = shaderc_compile_options_initialize();
        if (!comp || !o) {
            if (o) shaderc_compile_options_release(o);
            rt_set_error("shaderc_compiler_initialize failed");
            return -1;
        }
        shaderc_compile_options_set_target_env(o, shaderc_target_env_vulkan, shaderc_env_version_vulkan_1_1);
        shaderc_compile_options_set_optimization_level(o, shaderc_optimization_level_performance);
        inc_ctx ic = {matmul_template ? source : NULL};
        shaderc_compile_options_set_include_callbacks(o, inc_resolve, inc_release, &ic);
        const char *main_src = source;
        if (matmul_template) {
            shaderc_compile_options_add_macro_definition(o, "MEG_GENERATED", 13, "1", 1);
            if (matmul_template == X_TEMPLATE_TILED)
                shaderc_compile_options_add_macro_definition(o, "MEG_TILED", 9, "1", 1);
            main_src = rt_source("matmul");
        }
        shaderc_compilation_result_t r = shaderc_compile_into_spv(comp, main_src, strlen(main_src),
                                                                  shaderc_glsl_compute_shader, key, "main", o);
        int ok = r && shaderc_result_get_compilation_status(r) == shaderc_compilation_status_success;
        if (!ok) {
            rt_set_error("shaderc could not compile generated kernel %s: %s\n--- source ---\n%.3000s", key,
                         r ? shaderc_result_get_error_message(r) : "no result", source);
        } else {
            nw = shaderc_result_get_length(r) / 4;
            w = malloc(nw * 4);
            if (w) memcpy(w, shaderc_result_get_bytes(r), nw * 4);
            else { ok = 0; rt_set_error("out of host memory"); }
        }
        if (r) shaderc_result_release(r);
        shaderc_compile_options_release(o);
        if (!ok) return -1;
        store_cached(h, w, nw);
    }
    spv_entry *e = malloc(sizeof *e);
    if (!e) { free(w); rt_set_error("out of host memory"); return -1; }
    e->hash = h;
    e->words = w;
    e->nwords = nw;
    pthread_mutex_lock(&spv_lock);
    e->next = spv_cache;
    spv_cache = e;
    pthread_mutex_unlock(&spv_lock);
    *words = w;
    *nwords = nw;
    return 0;
}
