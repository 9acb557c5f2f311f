/* idx.c: IDX files (the format of MNIST and Fashion-MNIST), raw or gzipped,
 * read whole into memory, and the image data sets made of an images file
 * and a labels file. Every error names the file and what is wrong, and
 * frees whatever was read: nothing is ever half-loaded. */
#include "data.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* More data than this is refused as a broken header rather than tried:
 * MNIST's largest file holds 47 MB. */
#define IDX_MAX_BYTES ((uint64_t)1 << 32)
/* The data buffer grows as bytes arrive, so that a short file whose header
 * claims gigabytes fails as truncated without allocating them first. */
#define IDX_FIRST_CAP ((size_t)1 << 20)
#define IDX_IN_CHUNK (1u << 16)

/* The bytes of a file, inflated on the way when it is gzipped. */
typedef struct source {
    const char *path;
    FILE *f;
    int gz;                   /* 1: a gzip stream, inflated through z */
    int z_open;               /* inflateInit2 succeeded: inflateEnd owed */
    int z_end;                /* the current gzip member has ended */
    z_stream z;
    unsigned char *in;        /* compressed input, IDX_IN_CHUNK bytes */
    char err[160];            /* what went wrong below the format ("" if nothing) */
} source;

static void source_close(source *s)
{
    if (s->z_open)
        inflateEnd(&s->z);
    if (s->f)
        fclose(s->f);
    free(s->in);
}

/* Fills s->in when it is empty: 0, or -1 with s->err on a read error. */
static int refill(source *s)
{
    if (s->z.avail_in)
        return 0;
    size_t got = fread(s->in, 1, IDX_IN_CHUNK, s->f);
    if (!got && ferror(s->f)) {
        snprintf(s->err, sizeof s->err, "read error: %s", strerror(errno));
        return -1;
    }
    s->z.next_in = s->in;
    s->z.avail_in = (uInt)got;
    return 0;
}

/* Up to n bytes into p: how many, fewer only at the end of the data (or on
 * an error, with s->err set). In a gzip file the end of the data is the
 * end of its last member; a member may follow another (gzip allows it),
 * anything else after one is an error. */
static size_t source_read(source *s, void *p, size_t n)
{
    if (!s->gz) {
        size_t got = fread(p, 1, n, s->f);
        if (got < n && ferror(s->f))
            snprintf(s->err, sizeof s->err, "read error: %s", strerror(errno));
        return got;
    }
    unsigned char *out = p;
    size_t done = 0;
    while (done < n && !s->err[0]) {
        if (refill(s))
            break;
        if (s->z_end) {
            /* after a member: the end of the file, another member or garbage */
            if (!s->z.avail_in)
                break;
            if (s->z.next_in[0] != 0x1f) {
                snprintf(s->err, sizeof s->err, "bytes after the end of the gzip stream");
                break;
            }
            inflateReset(&s->z);
            s->z_end = 0;
        }
        uInt want = n - done > (1u << 30) ? (1u << 30) : (uInt)(n - done);
        s->z.next_out = out + done;
        s->z.avail_out = want;
        int at_eof = !s->z.avail_in && feof(s->f);
        int rc = inflate(&s->z, Z_NO_FLUSH);
        done += want - s->z.avail_out;
        if (rc == Z_STREAM_END) {
            s->z_end = 1;
        } else if (rc == Z_BUF_ERROR && at_eof) {
            snprintf(s->err, sizeof s->err, "gzip stream truncated (the file ends inside it)");
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            snprintf(s->err, sizeof s->err, "gzip stream corrupt: %s",
                     rc == Z_MEM_ERROR ? "out of memory" : s->z.msg ? s->z.msg : "inflate failed");
        }
    }
    return done;
}

static int source_open(source *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->f = fopen(path, "rb");
    if (!s->f) {
        rt_set_error("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    /* gzip by its magic bytes, not by the name: a renamed file still reads */
    int c0 = getc(s->f), c1 = getc(s->f);
    if (c0 == 0x1f && c1 == 0x8b) {
        s->gz = 1;
        s->in = malloc(IDX_IN_CHUNK);
        /* 16 + MAX_WBITS: a gzip header and trailer (CRC-32, length), not zlib's */
        if (!s->in || inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) {
            rt_set_error("%s: out of memory for the gzip stream", path);
            source_close(s);
            return -1;
        }
        s->z_open = 1;
        s->in[0] = 0x1f;
        s->in[1] = 0x8b;
        s->z.next_in = s->in;
        s->z.avail_in = 2;
    } else if (ferror(s->f) || fseek(s->f, 0, SEEK_SET)) {
        rt_set_error("%s: cannot read: %s", path, strerror(errno));
        source_close(s);
        return -1;
    }
    return 0;
}

/* The message of a failed read: the source's error when it has one (a
 * corrupt gzip stream is not "truncated"), else what the caller says. */
static int read_fail(source *s, const char *what)
{
    rt_set_error("%s: %s", s->path, s->err[0] ? s->err : what);
    return -1;
}

const char *meg_idx_type_name(int type)
{
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
    }
}

void meg_idx_free(meg_idx *m)
{
    free(m->data);
    memset(m, 0, sizeof *m);
}

/* The whole file into m (zeroed first); on failure m stays zeroed. */
static int idx_read(source *s, meg_idx *m)
{
    unsigned char head[4 + 4 * MEG_IDX_MAX_DIMS];
    size_t got = source_read(s, head, 4);
    if (got < 4) {
        char msg[96];
        snprintf(msg, sizeof msg, "truncated: %zu bytes, where an IDX file starts with a 4-byte magic number", got);
        return read_fail(s, msg);
    }
    uint32_t magic = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
    if (head[0] || head[1]) {
        rt_set_error("%s: not an IDX file (magic number 0x%08x; IDX files start with two zero bytes, MNIST's "
                     "images with 0x00000803, its labels with 0x00000801)", s->path, magic);
        return -1;
    }
    int type = head[2], ndim = head[3];
    if (type != 0x08) {
        rt_set_error("%s: IDX type byte 0x%02x (%s) is not supported: only 0x08 (unsigned byte) is read",
                     s->path, type, meg_idx_type_name(type));
        return -1;
    }
    if (ndim < 1 || ndim > MEG_IDX_MAX_DIMS) {
        rt_set_error("%s: IDX file with %d dimensions (magic 0x%08x): 1 to %d are read", s->path, ndim, magic,
                     MEG_IDX_MAX_DIMS);
        return -1;
    }
    got = source_read(s, head + 4, 4 * (size_t)ndim);
    if (got < 4 * (size_t)ndim) {
        char msg[96];
        snprintf(msg, sizeof msg, "truncated in the header: %d dimensions need %d bytes, the file has %zu", ndim,
                 4 * ndim, got);
        return read_fail(s, msg);
    }
    uint64_t count = 1;
    int over = 0;
    for (int k = 0; k < ndim; k++) {
        const unsigned char *b = head + 4 + 4 * k;
        m->dims[k] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        /* each factor is below 2^32 and the product so far at most 2^32 */
        if (!over && m->dims[k] && count > IDX_MAX_BYTES / m->dims[k])
            over = 1;
        if (!over)
            count *= m->dims[k];
    }
    m->ndim = ndim;
    if (over || count > SIZE_MAX) {
        char dims[128];
        int len = 0;
        for (int k = 0; k < ndim; k++)
            len += snprintf(dims + len, sizeof dims - (size_t)len, "%s%u", k ? " x " : "", m->dims[k]);
        rt_set_error("%s: dimensions %s: more than the %llu bytes an IDX file may hold here (a broken header?)",
                     s->path, dims, (unsigned long long)IDX_MAX_BYTES);
        memset(m, 0, sizeof *m);
        return -1;
    }
    m->count = (size_t)count;
    size_t cap = m->count < IDX_FIRST_CAP ? m->count : IDX_FIRST_CAP, have = 0;
    m->data = malloc(cap ? cap : 1);
    while (m->data) {
        have += source_read(s, m->data + have, cap - have);
        if (have < cap || cap == m->count)
            break;
        size_t next = cap > m->count / 2 ? m->count : 2 * cap;
        uint8_t *nd = realloc(m->data, next);
        if (!nd) {
            free(m->data);
            m->data = NULL;
            break;
        }
        m->data = nd;
        cap = next;
    }
    if (!m->data) {
        rt_set_error("%s: out of host memory for %zu bytes of data", s->path, m->count);
        memset(m, 0, sizeof *m);
        return -1;
    }
    if (have < m->count) {
        char msg[160];
        snprintf(msg, sizeof msg, "truncated: the dimensions say %zu bytes of data, the file holds %zu", m->count,
                 have);
        meg_idx_free(m);
        return read_fail(s, msg);
    }
    /* Reading on to the end checks a gzip stream's CRC and length too. */
    unsigned char extra[256];
    size_t more = source_read(s, extra, sizeof extra);
    if (s->err[0] || more) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s%zu trailing bytes after the %zu bytes of data its dimensions say",
                 more == sizeof extra ? "at least " : "", more, m->count);
        meg_idx_free(m);
        return read_fail(s, msg);
    }
    return 0;
}

int meg_idx_read(const char *path, meg_idx *out)
{
    meg_idx m = {0};
    source s;
    if (source_open(&s, path))
        return -1;
    int rc = idx_read(&s, &m);
    source_close(&s);
    if (rc)
        return -1;
    *out = m;
    return 0;
}

/* ---- image data sets -------------------------------------------------------- */

float meg_pixel_value(uint8_t v) { return (float)((double)v / 255.0 * 2.0 - 1.0); }

/* The file's role from its dimensions: 3 for images, 1 for labels. */
static int expect_ndim(const char *path, const meg_idx *m, int want)
{
    if (m->ndim == want)
        return 0;
    if (want == 3)
        rt_set_error("%s: not an images file: %d dimension%s (magic 0x%08x), images have 3 [n, rows, cols] "
                     "(0x00000803)%s", path, m->ndim, m->ndim == 1 ? "" : "s", 0x800u | (unsigned)m->ndim,
                     m->ndim == 1 ? "; is it the labels file?" : "");
    else
        rt_set_error("%s: not a labels file: %d dimensions (magic 0x%08x), labels have 1 [n] (0x00000801)%s",
                     path, m->ndim, 0x800u | (unsigned)m->ndim, m->ndim == 3 ? "; is it the images file?" : "");
    return -1;
}

int meg_dataset_idx(meg_dataset *d, const char *images_path, const char *labels_path)
{
    meg_idx im = {0}, lb = {0};
    memset(d, 0, sizeof *d);
    if (meg_idx_read(images_path, &im))
        return -1;
    if (expect_ndim(images_path, &im, 3))
        goto fail;
    if (!im.dims[0] || !im.dims[1] || !im.dims[2]) {
        rt_set_error("%s: %u images of %u x %u pixels: no data", images_path, im.dims[0], im.dims[1], im.dims[2]);
        goto fail;
    }
    /* the shape is int, and one image is one example of a model */
    if ((uint64_t)im.dims[1] * im.dims[2] > (uint64_t)1 << 30) {
        rt_set_error("%s: images of %u x %u pixels: more than 2^30 per image", images_path, im.dims[1],
                     im.dims[2]);
        goto fail;
    }
    if (labels_path) {
        if (meg_idx_read(labels_path, &lb))
            goto fail;
        if (expect_ndim(labels_path, &lb, 1))
            goto fail;
        if (lb.dims[0] != im.dims[0]) {
            rt_set_error("%s: %u labels, but %s holds %u images", labels_path, lb.dims[0], images_path, im.dims[0]);
            goto fail;
        }
        for (size_t i = 0; i < lb.count; i++)
            if (lb.data[i] > 9) {
                rt_set_error("%s: label %zu (counted from 0) is %u, not a digit class 0-9", labels_path, i,
                             lb.data[i]);
                goto fail;
            }
    }
    d->name = strdup(images_path);
    d->n = im.dims[0];
    d->ndim = 3;
    d->shape[0] = 1;
    d->shape[1] = (int)im.dims[1];     /* both at most 2^30: they fit an int */
    d->shape[2] = (int)im.dims[2];
    d->x = malloc(im.count * sizeof *d->x);
    if (labels_path)
        d->labels = malloc(d->n * sizeof *d->labels);
    if (!d->name || !d->x || (labels_path && !d->labels)) {
        rt_set_error("%s: out of host memory for %zu images", images_path, d->n);
        goto fail;
    }
    float table[256];
    for (int v = 0; v < 256; v++)
        table[v] = meg_pixel_value((uint8_t)v);
    for (size_t i = 0; i < im.count; i++)
        d->x[i] = table[im.data[i]];
    for (size_t i = 0; labels_path && i < d->n; i++)
        d->labels[i] = lb.data[i];
    d->u8 = im.data;                   /* the bytes as read: the set keeps them */
    meg_idx_free(&lb);
    return 0;
fail:
    meg_idx_free(&im);
    meg_idx_free(&lb);
    meg_dataset_free(d);
    return -1;
}
