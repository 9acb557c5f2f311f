/* autotune.c: the matmul variant per shape, and the register blocks of other
 * embedded kernels (the convolutions), measured on this device. The
 * hand-picked defaults of ops.c and graph/exec were tuned on llvmpipe; on
 * another device a plan's shapes are timed once over a set of candidates
 * and the fastest kept, in memory and in a cache file per device and
 * driver, so later plans (and later runs) pay nothing. */
#include "internal.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A shape's key: everything rt_matmul_choose's result depends on. */
typedef struct tune_key {
    uint32_t m, k, n;
    uint8_t ta, tb, ones, aligned_a, aligned_b;
} tune_key;

struct rt_tune_entry {
    tune_key key;
    int variant;
    double ms;
};

/* An embedded kernel's choice: its name and every specialization constant
 * of the winner (the first nkey are the shape, the rest its blocks). */
struct rt_tune_kentry {
    char name[32];
    uint32_t spec[RT_TUNE_MAX_SPEC];
    int nspec, nkey;
    double ms;
};

/* Shapes this small are bound by the dispatch itself; too large ones take
 * too long to time at plan time. FLOPs are 2 m n k. */
#define TUNE_MIN_MNK (1u << 16)
#define TUNE_MAX_MNK ((uint64_t)1 << 33)
#define TUNE_MIN_FLOPS (2.0 * (1u << 16))
#define TUNE_MAX_FLOPS (2.0 * ((uint64_t)1 << 33))

/* Candidates, by device: a CPU has no shared-memory advantage and compiles
 * slowly (few candidates); a GPU gets the wide and tiled forms too. */
static const int CPU_CANDIDATES[] = {0, 3, 4, 6, 9, 12, 15};
static const int GPU_CANDIDATES[] = {0, 3, 6, 12, 15, 16, 17, 18, 19, 20};

int rt_autotune_enabled(const rt_ctx *ctx) { return ctx->autotune; }
int rt_autotune_measured(const rt_ctx *ctx) { return ctx->tune_measured; }

static int key_eq(const tune_key *a, const tune_key *b)
{
    return a->m == b->m && a->k == b->k && a->n == b->n && a->ta == b->ta && a->tb == b->tb && a->ones == b->ones &&
           a->aligned_a == b->aligned_a && a->aligned_b == b->aligned_b;
}

static void cache_path(rt_ctx *ctx)
{
    char dir[900];
    if (rt_cache_dir(dir, sizeof dir)) return;
    snprintf(ctx->tune_path, sizeof ctx->tune_path, "%s/autotune-%08x-%08x-%08x.txt", dir, ctx->props.vendorID,
             ctx->props.deviceID, ctx->props.driverVersion);
}

static void uuid_hex(const rt_ctx *ctx, char *out)
{
    for (int i = 0; i < (int)VK_UUID_SIZE; i++) sprintf(out + 2 * i, "%02x", ctx->props.pipelineCacheUUID[i]);
}

static int push_entry(rt_ctx *ctx, const tune_key *k, int variant, double ms)
{
    if (ctx->ntune == ctx->captune) {
        int cap = ctx->captune ? 2 * ctx->captune : 32;
        rt_tune_entry *e = realloc(ctx->tune, (size_t)cap * sizeof *e);
        if (!e) {
            rt_set_error("out of host memory");
            return -1;
        }
        ctx->tune = e;
        ctx->captune = cap;
    }
    ctx->tune[ctx->ntune++] = (rt_tune_entry){*k, variant, ms};
    return 0;
}

static int push_kentry(rt_ctx *ctx, const rt_tune_kentry *e)
{
    for (int i = 0; i < ctx->nktune; i++) {
        rt_tune_kentry *o = &ctx->ktune[i];
        if (!strcmp(o->name, e->name) && o->nkey == e->nkey && !memcmp(o->spec, e->spec, (size_t)e->nkey * 4)) {
            *o = *e;   /* a new measurement of the same shape replaces the old one */
            return 0;
        }
    }
    if (ctx->nktune == ctx->capktune) {
        int cap = ctx->capktune ? 2 * ctx->capktune : 16;
        rt_tune_kentry *n = realloc(ctx->ktune, (size_t)cap * sizeof *n);
        if (!n) {
            rt_set_error("out of host memory");
            return -1;
        }
        ctx->ktune = n;
        ctx->capktune = cap;
    }
    ctx->ktune[ctx->nktune++] = *e;
    return 0;
}

/* "NAME NKEY NSPEC s0 s1 ... MS": a line that does not read is skipped. */
static int load_kernel_line(rt_ctx *ctx, const char *line)
{
    rt_tune_kentry e;
    memset(&e, 0, sizeof e);
    int used = 0;
    if (sscanf(line, "%31s %d %d%n", e.name, &e.nkey, &e.nspec, &used) != 3 || e.nspec < 1 ||
        e.nspec > RT_TUNE_MAX_SPEC || e.nkey < 1 || e.nkey > e.nspec)
        return 0;
    const char *at = line + used;
    for (int i = 0; i < e.nspec; i++) {
        unsigned v;
        if (sscanf(at, " %u%n", &v, &used) != 1) return 0;
        e.spec[i] = v;
        at += used;
    }
    char end;
    if (sscanf(at, " %lf %c", &e.ms, &end) != 1) return 0;
    return push_kentry(ctx, &e);
}

/* The cache file: a header naming the driver's pipeline-cache UUID, then one
 * shape per line. A file of another driver build, or a line that does not
 * read, is ignored: it is a cache, and measuring again repairs it. */
static void load(rt_ctx *ctx)
{
    ctx->tune_loaded = 1;
    cache_path(ctx);
    if (!ctx->tune_path[0]) return;
    FILE *f = fopen(ctx->tune_path, "r");
    if (!f) return;
    char line[256], want[2 * VK_UUID_SIZE + 1], got[64];
    uuid_hex(ctx, want);
    if (!fgets(line, sizeof line, f) || sscanf(line, "# meg autotune 1 %63s", got) != 1 || strcmp(got, want)) {
        fclose(f);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "K ", 2)) {
            if (load_kernel_line(ctx, line + 2)) break;
            continue;
        }
        unsigned m, k, n, ta, tb, ones, aa, ab;
        int v;
        double ms;
        char end;
        if (sscanf(line, "%u %u %u %u %u %u %u %u %d %lf %c", &m, &k, &n, &ta, &tb, &ones, &aa, &ab, &v, &ms, &end) !=
                10 ||
            v < 0 || v >= rt_matmul_variants() || ta > 1 || tb > 1 || ones > 1 || aa > 1 || ab > 1 || !m || !k || !n)
            continue;
        tune_key key = {m, k, n, (uint8_t)ta, (uint8_t)tb, (uint8_t)ones, (uint8_t)aa, (uint8_t)ab};
        int dup = 0;
        for (int i = 0; i < ctx->ntune && !dup; i++) dup = key_eq(&ctx->tune[i].key, &key);
        if (!dup && push_entry(ctx, &key, v, ms)) break;
    }
    fclose(f);
}

/* Best effort, as the pipeline cache: a table that cannot be saved only
 * costs a measurement next run, so its message is dropped. */
static void save(rt_ctx *ctx)
{
    if (!ctx->tune_path[0]) return;
    size_t cap = 96 + (size_t)ctx->ntune * 96 + (size_t)ctx->nktune * (48 + 11 * RT_TUNE_MAX_SPEC + 16), at = 0;
    char *buf = malloc(cap);
    if (!buf) return;
    char hex[2 * VK_UUID_SIZE + 1];
    uuid_hex(ctx, hex);
    at += (size_t)snprintf(buf + at, cap - at, "# meg autotune 1 %s\n", hex);
    for (int i = 0; i < ctx->ntune; i++) {
        const rt_tune_entry *e = &ctx->tune[i];
        at += (size_t)snprintf(buf + at, cap - at, "%u %u %u %u %u %u %u %u %d %.6g\n", e->key.m, e->key.k, e->key.n,
                               e->key.ta, e->key.tb, e->key.ones, e->key.aligned_a, e->key.aligned_b, e->variant, e->ms);
    }
    for (int i = 0; i < ctx->nktune; i++) {
        const rt_tune_kentry *e = &ctx->ktune[i];
        at += (size_t)snprintf(buf + at, cap - at, "K %s %d %d", e->name, e->nkey, e->nspec);
        for (int j = 0; j < e->nspec; j++) at += (size_t)snprintf(buf + at, cap - at, " %u", e->spec[j]);
        at += (size_t)snprintf(buf + at, cap - at, " %.6g\n", e->ms);
    }
    char keep[256];
    snprintf(keep, sizeof keep, "%s", rt_error());
    if (rt_write_file_atomic(ctx->tune_path, buf, at, RT_WRITE_MKDIRS | RT_WRITE_CACHE)) rt_set_error("%s", keep);
    free(buf);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Milliseconds per dispatch of what rec records (one dispatch): the
 * median of 5 timed ones, after a warm-up the first time (the driver
 * compiles there). */
typedef int (*record_fn)(rt_cmd *cmd, const void *what);

static int time_dispatch(rt_ctx *ctx, record_fn rec, const void *what, int warm, double *ms)
{
    rt_cmd *cmd = NULL;
    if (warm && (rt_cmd_begin(ctx, 0, &cmd) || rec(cmd, what) || rt_cmd_submit(cmd, 1))) goto fail;
    rt_cmd_free(cmd);
    cmd = NULL;
    enum { REPS = 5 };
    if (rt_cmd_begin(ctx, ctx->timestamps_ok ? RT_CMD_TIMESTAMPS : 0, &cmd)) goto fail;
    for (int i = 0; i < REPS; i++)
        if (rec(cmd, what)) goto fail;
    double t0 = now_ms();
    if (rt_cmd_submit(cmd, 1)) goto fail;
    double wall = (now_ms() - t0) / REPS, t[REPS];
    int nt = 0;
    for (int i = 0; ctx->timestamps_ok && i < REPS; i++)
        if (!rt_cmd_timing(cmd, i, &t[nt], NULL)) nt++;
    if (nt == REPS) {
        qsort(t, REPS, sizeof t[0], cmp_double);
        *ms = t[REPS / 2];
    } else {
        *ms = wall;
    }
    rt_cmd_free(cmd);
    return 0;
fail:
    rt_cmd_free(cmd);
    return -1;
}

typedef struct matmul_job {
    rt_matmul_desc d;
    rt_binding a, b, c;
} matmul_job;

static int record_matmul(rt_cmd *cmd, const void *what)
{
    const matmul_job *j = what;
    return rt_matmul(cmd, &j->d, j->a, j->b, j->c);
}

/* Milliseconds per dispatch of variant v on k's shape. */
static int time_variant(rt_ctx *ctx, const tune_key *k, int v, int warm, rt_binding a, rt_binding b, rt_binding c,
                        double *ms)
{
    matmul_job j = {{.m = k->m, .n = k->n, .k = k->k, .transpose_a = k->ta, .transpose_b = k->tb, .variant = v,
                     .ones_row = k->ones},
                    a, b, c};
    return time_dispatch(ctx, record_matmul, &j, warm, ms);
}

/* Times the candidates on scratch buffers at offset 0: a plan's operands
 * sit at the device's binding alignment, so its vec4 loads match these
 * wherever the shape allows them (aligned_a/b keep the rare other case
 * apart in the table). */
static int measure(rt_ctx *ctx, const tune_key *k, int *best)
{
    size_t na = (size_t)k->m * k->k, nb = (size_t)k->k * k->n, nc = ((size_t)k->m + k->ones) * k->n;
    rt_buffer *a = NULL, *b = NULL, *c = NULL;
    int rc = -1;
    if (rt_buffer_create(ctx, na * 4, &a) || rt_buffer_create(ctx, nb * 4, &b) || rt_buffer_create(ctx, nc * 4, &c))
        goto done;
    /* zeros: the values do not change the time, and buffers start undefined */
    rt_cmd *cmd = NULL;
    if (rt_cmd_begin(ctx, 0, &cmd) || rt_fill(cmd, a, 0, na, 0.0f) || rt_fill(cmd, b, 0, nb, 0.0f) ||
        rt_cmd_submit(cmd, 1)) {
        rt_cmd_free(cmd);
        goto done;
    }
    rt_cmd_free(cmd);
    rt_binding ba = {a, 0, na * 4, 0, 0}, bb = {b, 0, nb * 4, 0, 0}, bc = {c, 0, nc * 4, 0, 0};
    int cpu = ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
    const int *cand = cpu ? CPU_CANDIDATES : GPU_CANDIDATES;
    int ncand = cpu ? (int)(sizeof CPU_CANDIDATES / sizeof *CPU_CANDIDATES)
                    : (int)(sizeof GPU_CANDIDATES / sizeof *GPU_CANDIDATES);
    /* rounds over all candidates, each keeping its fastest: other work on
     * the machine slows a round, not one candidate's every round */
    enum { ROUNDS = 3, MAXC = 16 };
    double fastest[MAXC];
    ctx->tuning = 1;   /* variant 0 below is the heuristic, not a lookup */
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < ncand && i < MAXC; i++) {
            double ms;
            if (time_variant(ctx, k, cand[i], r == 0, ba, bb, bc, &ms)) {
                ctx->tuning = 0;
                goto done;
            }
            if (r == 0 || ms < fastest[i]) fastest[i] = ms;
        }
    ctx->tuning = 0;
    double best_ms = fastest[0];
    *best = cand[0];
    for (int i = 1; i < ncand && i < MAXC; i++)
        if (fastest[i] < best_ms) best_ms = fastest[i], *best = cand[i];
    ctx->tune_measured++;
    rc = push_entry(ctx, k, *best, best_ms);
    if (!rc) save(ctx);
done:
    rt_buffer_destroy(a);
    rt_buffer_destroy(b);
    rt_buffer_destroy(c);
    if (rc) rt_error_prefix("autotune of matmul %u x %u x %u (M x K x N)", k->m, k->k, k->n);
    return rc;
}

int rt__autotune_matmul(rt_ctx *ctx, const rt_matmul_desc *d, size_t a_off, size_t b_off, int *variant)
{
    *variant = 0;
    if (!ctx->autotune || ctx->tuning) return 0;
    uint64_t mnk = (uint64_t)d->m * d->n * d->k;
    if (mnk < TUNE_MIN_MNK || mnk > TUNE_MAX_MNK) return 0;
    if (!ctx->tune_loaded) load(ctx);
    tune_key k = {d->m, d->k, d->n, (uint8_t)(d->transpose_a != 0), (uint8_t)(d->transpose_b != 0),
                  (uint8_t)(d->ones_row != 0), (uint8_t)(a_off % 16 == 0), (uint8_t)(b_off % 16 == 0)};
    for (int i = 0; i < ctx->ntune; i++)
        if (key_eq(&ctx->tune[i].key, &k)) {
            *variant = ctx->tune[i].variant;
            return 0;
        }
    return measure(ctx, &k, variant);
}

const char *rt_autotune_path(rt_ctx *ctx)
{
    if (!ctx->tune_path[0]) cache_path(ctx);
    return ctx->tune_path;
}

void rt__autotune_free(rt_ctx *ctx)
{
    free(ctx->tune);
    ctx->tune = NULL;
    ctx->ntune = ctx->captune = 0;
    free(ctx->ktune);
    ctx->ktune = NULL;
    ctx->nktune = ctx->capktune = 0;
}

typedef struct kernel_job {
    const char *name;
    rt_kernel *k;
    const rt_tune_cand *c;
    const rt_binding *b;
    int nbind;
} kernel_job;

static int record_kernel(rt_cmd *cmd, const void *what)
{
    const kernel_job *j = what;
    return rt_cmd_dispatch(cmd, j->k, j->b, j->nbind, NULL, 0, j->c->groups[0], j->c->groups[1], j->c->groups[2],
                           j->name);
}

/* Milliseconds per dispatch of one candidate (warmed up the first time). */
static int time_kernel(rt_ctx *ctx, const char *name, const rt_tune_cand *c, const rt_binding *b, int nbind,
                       int warm, double *ms)
{
    kernel_job j = {name, NULL, c, b, nbind};
    if (rt_kernel_get(ctx, name, c->spec, c->nspec, &j.k)) return -1;
    return time_dispatch(ctx, record_kernel, &j, warm, ms);
}

static int measure_kernel(rt_ctx *ctx, const char *name, int nkey, const rt_tune_cand *cand, int ncand,
                          const size_t *bytes, int nbind, int *best)
{
    rt_buffer *buf[RT_TUNE_MAX_BINDINGS] = {0};
    rt_binding b[RT_TUNE_MAX_BINDINGS];
    int rc = -1;
    rt_cmd *cmd = NULL;
    if (rt_cmd_begin(ctx, 0, &cmd)) goto done;
    for (int i = 0; i < nbind; i++) {
        size_t n = bytes[i] < 4 ? 4 : bytes[i];
        if (rt_buffer_create(ctx, n, &buf[i]) || rt_fill(cmd, buf[i], 0, n / 4, 0.0f)) goto done;
        b[i] = (rt_binding){buf[i], 0, n, 0, 0};
    }
    if (rt_cmd_submit(cmd, 1)) goto done;
    enum { ROUNDS = 3 };
    double fastest[RT_TUNE_MAX_CANDIDATES];
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < ncand; i++) {
            double ms;
            if (time_kernel(ctx, name, &cand[i], b, nbind, r == 0, &ms)) goto done;
            if (r == 0 || ms < fastest[i]) fastest[i] = ms;
        }
    *best = 0;
    for (int i = 1; i < ncand; i++)
        if (fastest[i] < fastest[*best]) *best = i;
    ctx->tune_measured++;
    rt_tune_kentry e;
    memset(&e, 0, sizeof e);
    snprintf(e.name, sizeof e.name, "%s", name);
    memcpy(e.spec, cand[*best].spec, (size_t)cand[*best].nspec * 4);
    e.nspec = cand[*best].nspec;
    e.nkey = nkey;
    e.ms = fastest[*best];
    rc = push_kentry(ctx, &e);
    if (!rc) save(ctx);
done:
    rt_cmd_free(cmd);
    for (int i = 0; i < nbind; i++) rt_buffer_destroy(buf[i]);
    if (rc) rt_error_prefix("autotune of kernel %s", name);
    return rc;
}

int rt_autotune_kernel(rt_ctx *ctx, const char *name, int nkey, const rt_tune_cand *cand, int ncand,
                       const size_t *bytes, int nbind, double flops, int *best)
{
    *best = 0;
    if (ncand < 1 || ncand > RT_TUNE_MAX_CANDIDATES || nbind < 1 || nbind > RT_TUNE_MAX_BINDINGS || nkey < 1 ||
        strlen(name) >= sizeof ((rt_tune_kentry *)0)->name) {
        rt_set_error("autotune of kernel %s: %d candidates, %d bindings and %d key constants (at most %d, %d and "
                     "each candidate's)", name, ncand, nbind, nkey, RT_TUNE_MAX_CANDIDATES, RT_TUNE_MAX_BINDINGS);
        return -1;
    }
    for (int i = 0; i < ncand; i++)
        if (cand[i].nspec < nkey || cand[i].nspec > RT_TUNE_MAX_SPEC ||
            memcmp(cand[i].spec, cand[0].spec, (size_t)nkey * 4)) {
            rt_set_error("autotune of kernel %s: candidate %d has another shape or %d constants", name, i,
                         cand[i].nspec);
            return -1;
        }
    if (!ctx->autotune || ctx->tuning || ncand == 1 || flops < TUNE_MIN_FLOPS || flops > TUNE_MAX_FLOPS) return 0;
    if (!ctx->tune_loaded) load(ctx);
    for (int i = 0; i < ctx->nktune; i++) {
        const rt_tune_kentry *e = &ctx->ktune[i];
        if (strcmp(e->name, name) || e->nkey != nkey || memcmp(e->spec, cand[0].spec, (size_t)nkey * 4)) continue;
        /* the cached winner, where it is still a candidate; else measured again */
        for (int j = 0; j < ncand; j++)
            if (cand[j].nspec == e->nspec && !memcmp(cand[j].spec, e->spec, (size_t)e->nspec * 4)) {
                *best = j;
                return 0;
            }
    }
    return measure_kernel(ctx, name, nkey, cand, ncand, bytes, nbind, best);
}
