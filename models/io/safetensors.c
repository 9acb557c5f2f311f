/* safetensors.c: fp32 tensors in the safetensors format (8-byte
 * little-endian header length, JSON header, raw little-endian data), so
 * PyTorch and numpy can read them. Written atomically; read with full
 * validation, the header through the strict JSON reader of json.c. */
#include "io.h"
#include "json_internal.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HEADER_MAX (100u << 20)    /* the format's own limit on the JSON header */
#define META_KEY "__metadata__"

struct meg_st_file {
    char *path;
    meg_st_tensor *tensors;       /* names owned here; data points into `data` */
    uint64_t (*offsets)[2];       /* data_offsets of each tensor */
    size_t ntensors, tensors_cap;
    meg_st_kv *meta;              /* keys and values owned here */
    size_t nmeta, meta_cap;
    float *data;                  /* the data area, native byte order */
    size_t data_size;             /* bytes */
};

/* ---- shared helpers --------------------------------------------------------- */

/* Elements of a shape, or -1 when it overflows what a file could hold. */
static int64_t shape_count(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return -1;
        if (shape[d] && n > (INT64_MAX / 4) / shape[d])
            return -1;
        n *= shape[d];
    }
    return n;
}

static void format_shape(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void swap32(void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++, b += 4) {
        uint8_t t0 = b[0], t1 = b[1];
        b[0] = b[3];
        b[1] = b[2];
        b[2] = t1;
        b[3] = t0;
    }
}

/* ---- writer -------------------------------------------------------------------- */


static int check_write_args(const char *path, const meg_st_tensor *t, size_t nt,
                            const meg_st_kv *meta, size_t nmeta)
{
    for (size_t i = 0; i < nt; i++) {
        const char *name = t[i].name;
        if (!name || !*name || !strcmp(name, META_KEY)) {
            rt_set_error("%s: tensor %zu has an empty or reserved name", path, i);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(t[j].name, name)) {
                rt_set_error("%s: tensor name '%s' is used twice", path, name);
                return -1;
            }
        int64_t count = t[i].ndim >= 0 && t[i].ndim <= MEG_ST_MAX_DIMS
                            ? shape_count(t[i].ndim, t[i].shape) : -1;
        if (count < 0) {
            rt_set_error("%s: tensor '%s' has a bad shape (%d dimensions, at most %d, sizes >= 0)",
                         path, name, t[i].ndim, MEG_ST_MAX_DIMS);
            return -1;
        }
        if (count && !t[i].data) {
            rt_set_error("%s: tensor '%s' has no data", path, name);
            return -1;
        }
    }
    for (size_t i = 0; i < nmeta; i++) {
        if (!meta[i].key || !meta[i].value) {
            rt_set_error("%s: metadata entry %zu has no key or value", path, i);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(meta[j].key, meta[i].key)) {
                rt_set_error("%s: metadata key '%s' is used twice", path, meta[i].key);
                return -1;
            }
    }
    return 0;
}

static void build_header(meg_sbuf *b, const meg_st_tensor *t, size_t nt, const meg_st_kv *meta,
                         size_t nmeta)
{
    uint64_t offset = 0;
    meg_sb_puts(b, "{");
    if (nmeta) {
        meg_sb_puts(b, "\"" META_KEY "\":{");
        for (size_t i = 0; i < nmeta; i++) {
            if (i)
                meg_sb_puts(b, ",");
            meg_sb_json_string(b, meta[i].key);
            meg_sb_puts(b, ":");
            meg_sb_json_string(b, meta[i].value);
        }
        meg_sb_puts(b, "}");
    }
    for (size_t i = 0; i < nt; i++) {
        uint64_t bytes = 4 * (uint64_t)shape_count(t[i].ndim, t[i].shape);
        if (i || nmeta)
            meg_sb_puts(b, ",");
        meg_sb_json_string(b, t[i].name);
        meg_sb_puts(b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t[i].ndim; d++)
            meg_sb_printf(b, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
        meg_sb_printf(b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                  (unsigned long long)(offset + bytes));
        offset += bytes;
    }
    meg_sb_puts(b, "}");
    /* Spaces up to a multiple of 8 keep the data area 8-byte aligned. */
    while (b->len % 8)
        meg_sb_puts(b, " ");
}

static int write_f32_le(rt_atomic_file *af, const float *x, size_t n)
{
    if (host_is_little_endian())
        return rt_atomic_write(af, x, n * 4);
    float chunk[1024];
    for (size_t i = 0; i < n; i += 1024) {
        size_t k = n - i < 1024 ? n - i : 1024;
        memcpy(chunk, x + i, k * 4);
        swap32(chunk, k);
        if (rt_atomic_write(af, chunk, k * 4))
            return -1;
    }
    return 0;
}

int meg_st_write(const char *path, const meg_st_tensor *tensors, size_t ntensors,
                 const meg_st_kv *meta, size_t nmeta)
{
    if (check_write_args(path, tensors, ntensors, meta, nmeta))
        return -1;
    meg_sbuf hdr = {0};
    build_header(&hdr, tensors, ntensors, meta, nmeta);
    if (hdr.oom) {
        free(hdr.p);
        rt_set_error("%s: out of memory for the header", path);
        return -1;
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)((uint64_t)hdr.len >> (8 * i));
    rt_atomic_file af;
    if (rt_atomic_open(&af, path)) {
        free(hdr.p);
        return -1;
    }
    rt_atomic_write(&af, len8, 8);
    rt_atomic_write(&af, hdr.p, hdr.len);
    free(hdr.p);
    for (size_t i = 0; i < ntensors; i++)
        write_f32_le(&af, tensors[i].data, (size_t)shape_count(tensors[i].ndim, tensors[i].shape));
    return rt_atomic_commit(&af);   /* reports any failed write above */
}

/* ---- the header's JSON ------------------------------------------------------- */

/* Tensor-level problems name the tensor rather than a byte position. */
static int tfail(meg_json *p, const char *tensor, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int tfail(meg_json *p, const char *tensor, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char shown[200];
    rt_set_error("%s: tensor '%s': %s", p->path, rt_escape(tensor, 64, shown, sizeof shown), msg);
    return -1;
}

/* "[n, n, ...]" with at most max entries; *n gets the count. */
static int parse_uint_array(meg_json *p, uint64_t *vals, int max, int *n, const char *tensor,
                            const char *key)
{
    *n = 0;
    if (meg_json_expect(p, '['))
        return -1;
    meg_json_skip_ws(p);
    if (meg_json_peek(p) == ']') {
        p->s++;
        return 0;
    }
    for (;;) {
        uint64_t v = 0;
        if (meg_json_uint(p, &v))
            return -1;
        if (*n == max)
            return tfail(p, tensor, "\"%s\" has more than %d entries", key, max);
        vals[(*n)++] = v;
        meg_json_skip_ws(p);
        if (meg_json_peek(p) == ',') {
            p->s++;
            continue;
        }
        return meg_json_expect(p, ']');
    }
}


static int meta_member(meg_json *p, char *key, void *ctx)
{
    meg_st_file *f = p->owner;
    char *value;
    (void)ctx;
    for (size_t i = 0; i < f->nmeta; i++)
        if (!strcmp(f->meta[i].key, key)) {
            meg_json_fail(p, "metadata key '%s' appears twice", key);
            free(key);
            return -1;
        }
    meg_json_skip_ws(p);
    if (meg_json_peek(p) != '"') {
        meg_json_fail(p, "metadata value of '%s' is not a string", key);
        free(key);
        return -1;
    }
    if (meg_json_string(p, &value)) {
        free(key);
        return -1;
    }
    if (f->nmeta == f->meta_cap) {
        size_t cap = f->meta_cap ? 2 * f->meta_cap : 8;
        meg_st_kv *nm = realloc(f->meta, cap * sizeof *nm);
        if (!nm) {
            free(key);
            free(value);
            return meg_json_fail(p, "out of memory");
        }
        f->meta = nm;
        f->meta_cap = cap;
    }
    f->meta[f->nmeta++] = (meg_st_kv){key, value};
    return 0;
}

typedef struct tensor_fields {
    const char *name;
    char *dtype;
    int has_shape, has_offsets;
    uint64_t shape[MEG_ST_MAX_DIMS], offsets[2];
    int ndim;
} tensor_fields;

static int tensor_member(meg_json *p, char *key, void *ctx)
{
    tensor_fields *tf = ctx;
    int rc = 0, n;
    if (!strcmp(key, "dtype") && !tf->dtype) {
        rc = meg_json_string(p, &tf->dtype);
    } else if (!strcmp(key, "shape") && !tf->has_shape) {
        tf->has_shape = 1;
        rc = parse_uint_array(p, tf->shape, MEG_ST_MAX_DIMS, &tf->ndim, tf->name, "shape");
    } else if (!strcmp(key, "data_offsets") && !tf->has_offsets) {
        tf->has_offsets = 1;
        rc = parse_uint_array(p, tf->offsets, 2, &n, tf->name, "data_offsets");
        if (!rc && n != 2)
            rc = tfail(p, tf->name, "\"data_offsets\" needs 2 entries, has %d", n);
    } else {
        rc = tfail(p, tf->name, "unexpected or repeated key '%s'", key);
    }
    free(key);
    return rc;
}

static int add_tensor(meg_json *p, char *name)
{
    meg_st_file *f = p->owner;
    tensor_fields tf = {.name = name};
    int rc = meg_json_object(p, tensor_member, &tf);
    if (!rc && (!tf.dtype || !tf.has_shape || !tf.has_offsets))
        rc = tfail(p, name, "missing \"%s\"", !tf.dtype ? "dtype" : !tf.has_shape ? "shape" : "data_offsets");
    if (!rc && strcmp(tf.dtype, "F32"))
        rc = tfail(p, name, "dtype %.32s is not supported (only F32)", tf.dtype);
    free(tf.dtype);
    if (!rc && f->ntensors == f->tensors_cap) {
        size_t cap = f->tensors_cap ? 2 * f->tensors_cap : 16;
        meg_st_tensor *nt = realloc(f->tensors, cap * sizeof *nt);
        uint64_t(*no)[2] = nt ? realloc(f->offsets, cap * sizeof *no) : NULL;
        if (nt)
            f->tensors = nt;
        if (no) {
            f->offsets = no;
            f->tensors_cap = cap;
        } else {
            rc = meg_json_fail(p, "out of memory");
        }
    }
    if (rc) {
        free(name);
        return -1;
    }
    meg_st_tensor *t = &f->tensors[f->ntensors];
    memset(t, 0, sizeof *t);
    t->name = name;
    t->ndim = tf.ndim;
    for (int d = 0; d < tf.ndim; d++)
        t->shape[d] = (int64_t)tf.shape[d];
    f->offsets[f->ntensors][0] = tf.offsets[0];
    f->offsets[f->ntensors][1] = tf.offsets[1];
    f->ntensors++;
    return 0;
}

static int top_member(meg_json *p, char *key, void *ctx)
{
    int *seen_meta = ctx;
    if (!strcmp(key, META_KEY)) {
        free(key);
        if ((*seen_meta)++)
            return meg_json_fail(p, "\"" META_KEY "\" appears twice");
        return meg_json_object(p, meta_member, NULL);
    }
    if (!*key) {
        free(key);
        return meg_json_fail(p, "empty tensor name");
    }
    if (meg_st_find(p->owner, key)) {
        int rc = tfail(p, key, "appears twice in the header");
        free(key);
        return rc;
    }
    return add_tensor(p, key);
}

static int parse_header(meg_st_file *f, const char *text, size_t len)
{
    /* the header starts after the 8-byte length: byte numbers count from the file's start */
    meg_json p = {.s = text, .start = text, .end = text + len, .path = f->path, .what = "JSON header", .base = 8,
                  .owner = f};
    int seen_meta = 0;
    if (meg_json_object(&p, top_member, &seen_meta))
        return -1;
    meg_json_skip_ws(&p);       /* the writer's padding */
    if (p.s != p.end)
        return meg_json_fail(&p, "unexpected bytes after the JSON object");
    return 0;
}

/* ---- reader: layout checks and access -------------------------------------------- */

typedef struct span {
    uint64_t begin, end;
    size_t idx;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Sizes match shapes, everything lies in the data area, which is covered
 * exactly once (the format allows no holes and no overlap). */
static int check_layout(meg_st_file *f)
{
    char shp[160];
    for (size_t i = 0; i < f->ntensors; i++) {
        const meg_st_tensor *t = &f->tensors[i];
        uint64_t b = f->offsets[i][0], e = f->offsets[i][1];
        char tn[200];
        rt_escape(t->name, 64, tn, sizeof tn);   /* bytes of the file, shown safely */
        int64_t count = shape_count(t->ndim, t->shape);
        format_shape(shp, sizeof shp, t->ndim, t->shape);
        if (count < 0) {
            rt_set_error("%s: tensor '%s': shape %s is too large", f->path, tn, shp);
            return -1;
        }
        if (e < b || e - b != 4 * (uint64_t)count) {
            rt_set_error("%s: tensor '%s': data_offsets [%llu, %llu] do not match shape %s of F32 "
                         "(%llu bytes)", f->path, tn, (unsigned long long)b,
                         (unsigned long long)e, shp, (unsigned long long)(4 * (uint64_t)count));
            return -1;
        }
        if (e > f->data_size) {
            rt_set_error("%s: tensor '%s': data_offsets [%llu, %llu] reach past the %zu-byte data "
                         "area (truncated file?)", f->path, tn, (unsigned long long)b,
                         (unsigned long long)e, f->data_size);
            return -1;
        }
    }
    span *s = malloc((f->ntensors ? f->ntensors : 1) * sizeof *s);
    if (!s) {
        rt_set_error("%s: out of memory", f->path);
        return -1;
    }
    for (size_t i = 0; i < f->ntensors; i++)
        s[i] = (span){f->offsets[i][0], f->offsets[i][1], i};
    qsort(s, f->ntensors, sizeof *s, cmp_span);
    uint64_t pos = 0;
    int rc = 0;
    for (size_t k = 0; k < f->ntensors && !rc; k++) {
        char name[200], other[200];
        rt_escape(f->tensors[s[k].idx].name, 64, name, sizeof name);
        if (s[k].begin < pos) {
            rt_set_error("%s: tensor '%s' overlaps tensor '%s' in the data area", f->path, name,
                         rt_escape(f->tensors[s[k - 1].idx].name, 64, other, sizeof other));
            rc = -1;
        } else if (s[k].begin > pos) {
            rt_set_error("%s: %llu unused bytes before tensor '%s' in the data area", f->path,
                         (unsigned long long)(s[k].begin - pos), name);
            rc = -1;
        }
        pos = s[k].end;
    }
    free(s);
    if (!rc && pos != f->data_size) {
        rt_set_error("%s: %llu bytes after the last tensor belong to no tensor", f->path,
                     (unsigned long long)(f->data_size - pos));
        rc = -1;
    }
    return rc;
}

/* Reads exactly n bytes, naming the file on failure. */
static int read_exact(FILE *fp, const char *path, void *buf, size_t n, const char *what)
{
    errno = 0;
    if (n && fread(buf, 1, n, fp) != n) {
        if (ferror(fp))
            rt_set_error("%s: read error in the %s: %s", path, what, strerror(errno ? errno : EIO));
        else
            rt_set_error("%s: file ended inside the %s (truncated?)", path, what);
        return -1;
    }
    return 0;
}

static int read_file(meg_st_file *f, FILE *fp)
{
    const char *path = f->path;
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        rt_set_error("%s: not a regular file", path);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t len8[8];
    if (size < 8) {
        rt_set_error("%s: %zu bytes is too short for the 8-byte header length (truncated?)", path, size);
        return -1;
    }
    if (read_exact(fp, path, len8, 8, "header length"))
        return -1;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | len8[i];
    if (n == 0 || n > HEADER_MAX || n > size - 8) {
        rt_set_error("%s: header length %llu does not fit a %zu-byte file (limit %u; truncated or "
                     "not safetensors?)", path, (unsigned long long)n, size, HEADER_MAX);
        return -1;
    }
    char *hdr = malloc(n);
    if (!hdr) {
        rt_set_error("%s: out of memory for a %llu-byte header", path, (unsigned long long)n);
        return -1;
    }
    int rc = read_exact(fp, path, hdr, n, "JSON header") || parse_header(f, hdr, n) ? -1 : 0;
    free(hdr);
    if (rc)
        return -1;
    f->data_size = size - 8 - (size_t)n;
    f->data = malloc(f->data_size ? f->data_size + 4 : 4);
    if (!f->data) {
        rt_set_error("%s: out of memory for %zu bytes of data", path, f->data_size);
        return -1;
    }
    if (read_exact(fp, path, f->data, f->data_size, "data area"))
        return -1;
    if (fgetc(fp) != EOF) {
        rt_set_error("%s: file grew while being read", path);
        return -1;
    }
    if (check_layout(f))
        return -1;
    if (!host_is_little_endian())
        swap32(f->data, f->data_size / 4);
    for (size_t i = 0; i < f->ntensors; i++)
        f->tensors[i].data = f->data + f->offsets[i][0] / 4;
    return 0;
}

int meg_st_read(const char *path, meg_st_file **out)
{
    *out = NULL;
    meg_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        rt_set_error("%s: out of memory", path);
        return -1;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        rt_set_error("%s: cannot open: %s", path, strerror(errno));
        meg_st_free(f);
        return -1;
    }
    int rc = read_file(f, fp);
    fclose(fp);
    if (rc) {
        meg_st_free(f);
        return -1;
    }
    *out = f;
    return 0;
}

void meg_st_free(meg_st_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->ntensors; i++)
        free((char *)f->tensors[i].name);
    for (size_t i = 0; i < f->nmeta; i++) {
        free((char *)f->meta[i].key);
        free((char *)f->meta[i].value);
    }
    free(f->tensors);
    free(f->offsets);
    free(f->meta);
    free(f->data);
    free(f->path);
    free(f);
}

const char *meg_st_path(const meg_st_file *f) { return f->path; }
size_t meg_st_count(const meg_st_file *f) { return f->ntensors; }
size_t meg_st_meta_count(const meg_st_file *f) { return f->nmeta; }

const meg_st_tensor *meg_st_at(const meg_st_file *f, size_t i)
{
    return i < f->ntensors ? &f->tensors[i] : NULL;
}

const meg_st_kv *meg_st_meta_at(const meg_st_file *f, size_t i)
{
    return i < f->nmeta ? &f->meta[i] : NULL;
}

const meg_st_tensor *meg_st_find(const meg_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->ntensors; i++)
        if (!strcmp(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

const char *meg_st_meta(const meg_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->nmeta; i++)
        if (!strcmp(f->meta[i].key, key))
            return f->meta[i].value;
    return NULL;
}

int meg_st_get(const meg_st_file *f, const char *name, int ndim, const int64_t *shape,
               const float **data)
{
    const meg_st_tensor *t = meg_st_find(f, name);
    if (!t) {
        rt_set_error("%s: no tensor '%s' in the file", f->path, name);
        return -1;
    }
    if (ndim >= 0) {
        int same = t->ndim == ndim;
        for (int d = 0; same && d < ndim; d++)
            same = t->shape[d] == shape[d];
        if (!same) {
            char have[160], want[160];
            format_shape(have, sizeof have, t->ndim, t->shape);
            format_shape(want, sizeof want, ndim > MEG_ST_MAX_DIMS ? MEG_ST_MAX_DIMS : ndim, shape);
            rt_set_error("%s: tensor '%s' has shape %s, expected %s", f->path, name, have, want);
            return -1;
        }
    }
    *data = t->data;
    return 0;
}
