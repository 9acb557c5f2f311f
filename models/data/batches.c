/* batches.c: data sets on the device (batches.h): their inputs, split into
 * parts of whole rows within one texel view each, minibatches gathered
 * across the parts, and the uploads into a session or the CPU reference. */
#include "batches.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Indices travel as fp32 values: integers up to 2^24 are exact. */
#define MAX_ROWS ((size_t)1 << 24)

/* ---- making the inputs ------------------------------------------------------- */

/* Inputs "<name>" (or "<name>.<p>" when split) holding rows [n, cols]: as
 * few parts as keep each part's values within one texel view, rows shared
 * out evenly. */
static int make_rows(g_graph *g, const char *set, const char *name, size_t n, int cols, int u8, const g_limits *lim,
                     meg_device_rows *r)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->cols = cols;
    r->u8 = u8;
    uint64_t per = lim->max_texels ? lim->max_texels / (uint64_t)cols : (uint64_t)n;
    if (per == 0) {
        rt_set_error("%s: one row of %s holds %d values, more than one texel view holds on this device (%llu, "
                     "maxTexelBufferElements)", set, name, cols, (unsigned long long)lim->max_texels);
        return -1;
    }
    size_t nparts = (size_t)((n + per - 1) / per);
    if (nparts > MEG_DEVICE_MAX_PARTS) {
        rt_set_error("%s: %s of %zu rows of %d values needs %zu inputs of at most %llu rows (one texel view each, "
                     "maxTexelBufferElements %llu); at most %d are supported",
                     set, name, n, cols, nparts, (unsigned long long)per, (unsigned long long)lim->max_texels,
                     MEG_DEVICE_MAX_PARTS);
        return -1;
    }
    r->nparts = (int)nparts;
    for (size_t p = 0; p <= nparts; p++) r->start[p] = p * n / nparts;   /* sizes differ by one at most */
    for (int p = 0; p < r->nparts; p++) {
        char nm[2 * G_NAME_MAX];   /* a name too long is the graph's error to report */
        if (nparts == 1) snprintf(nm, sizeof nm, "%s", name);
        else snprintf(nm, sizeof nm, "%s.%d", name, p);
        int shape[2] = {(int)(r->start[p + 1] - r->start[p]), cols};
        r->part[p] = u8 ? g_input_u8(g, nm, 2, shape) : g_input(g, nm, 2, shape);
        if (!r->part[p]) {
            rt_set_error("%s", g_graph_error(g));
            return -1;
        }
    }
    return 0;
}

static int start_set(g_graph *g, const char *name, const g_limits *lim, g_limits *l, meg_device_set *out)
{
    memset(out, 0, sizeof *out);
    if (!g || !name || !name[0]) {
        rt_set_error("device data set: needs a graph and a name");
        return -1;
    }
    if (strlen(name) >= sizeof out->name) {
        rt_set_error("device data set '%.32s...': name longer than %zu characters", name, sizeof out->name - 1);
        return -1;
    }
    snprintf(out->name, sizeof out->name, "%s", name);
    if (lim) *l = *lim;
    else g_limits_default(l);
    return 0;
}

static int check_count(const char *set, const char *what, size_t n)
{
    if (n < 1 || n > MAX_ROWS) {
        rt_set_error("%s: %zu %s (1 to 2^24 supported: indices are drawn as exact fp32 integers)", set, n, what);
        return -1;
    }
    return 0;
}

int meg_device_set_make(g_graph *g, const char *name, const meg_dataset *d, int use_u8, const g_limits *lim,
                        meg_device_set *out)
{
    g_limits l;
    if (start_set(g, name, lim, &l, out)) return -1;
    const char *dn = d && d->name ? d->name : "(unnamed set)";
    if (!d || (d->ndim != 1 && d->ndim != 3)) {
        rt_set_error("%s: a data set of vectors [D] or images [C, H, W] is needed", dn);
        return -1;
    }
    if (check_count(dn, "examples", d->n)) return -1;
    size_t dim = meg_dataset_dim(d);
    if (dim < 1 || dim > (size_t)1 << 30) {
        rt_set_error("%s: %zu values per example (1 to 2^30)", dn, dim);
        return -1;
    }
    int u8 = use_u8 && d->u8;
    if (!u8 && !d->x) {
        rt_set_error("%s: the set has no values", dn);
        return -1;
    }
    out->n = d->n;
    out->ndim = d->ndim;
    memcpy(out->shape, d->shape, sizeof out->shape);
    char nm[2 * G_NAME_MAX];
    snprintf(nm, sizeof nm, "%s.x", name);
    if (make_rows(g, dn, nm, d->n, (int)dim, u8, &l, &out->values)) return -1;
    if (d->labels) {
        snprintf(nm, sizeof nm, "%s.y", name);
        if (make_rows(g, dn, nm, d->n, 1, 0, &l, &out->labels)) return -1;
    }
    return 0;
}

/* The digit set must be the one the pool was drawn from. */
static int check_digits(const meg_stacked *pool, const meg_dataset *digits)
{
    const char *dn = digits && digits->name ? digits->name : "(unnamed set)";
    if (!pool || pool->k < 1 || pool->k > MEG_STACKED_MAX_K || !pool->index || !pool->modes) {
        rt_set_error("StackedMNIST on the device: no pool (meg_stacked_new)");
        return -1;
    }
    if (!digits || digits->ndim != 3 || digits->shape[0] != 1 || (!digits->x && !digits->u8)) {
        rt_set_error("%s: StackedMNIST needs one-channel digit images [1, H, W]", dn);
        return -1;
    }
    if (digits->n != pool->digits_n || digits->shape[1] != pool->height || digits->shape[2] != pool->width) {
        rt_set_error("%s: %zu digits of %d x %d, but the StackedMNIST pool was drawn from %zu of %d x %d", dn,
                     digits->n, digits->shape[1], digits->shape[2], pool->digits_n, pool->height, pool->width);
        return -1;
    }
    return 0;
}

int meg_device_stacked_make(g_graph *g, const char *name, const meg_stacked *pool, const meg_dataset *digits,
                            const g_limits *lim, meg_device_set *out)
{
    g_limits l;
    if (start_set(g, name, lim, &l, out) || check_digits(pool, digits)) return -1;
    const char *dn = digits->name ? digits->name : "(unnamed set)";
    if (check_count("StackedMNIST", "pool entries", pool->n) || check_count(dn, "digits", digits->n)) return -1;
    out->n = pool->n;
    out->k = pool->k;
    out->ndim = 3;
    out->shape[0] = pool->k;
    out->shape[1] = pool->height;
    out->shape[2] = pool->width;
    char nm[2 * G_NAME_MAX];
    snprintf(nm, sizeof nm, "%s.digits", name);
    if (make_rows(g, dn, nm, digits->n, pool->height * pool->width, digits->u8 != NULL, &l, &out->values))
        return -1;
    snprintf(nm, sizeof nm, "%s.tuples", name);
    if (make_rows(g, "StackedMNIST", nm, pool->n, pool->k, 0, &l, &out->tuples)) return -1;
    snprintf(nm, sizeof nm, "%s.modes", name);
    return make_rows(g, "StackedMNIST", nm, pool->n, 1, 0, &l, &out->labels);
}

/* ---- minibatches ------------------------------------------------------------- */

/* Rows idx ([B], clamped) of a matrix: [B, cols]. Split matrices gather
 * from every part at the index less the part's first row (clamped there
 * too) and keep the last part whose first row the index reaches. The
 * comparisons run at every element, not every row, so that the planner
 * fuses them with the gathers and selects into one kernel. */
static g_tensor *gather_parts(const meg_device_rows *r, g_tensor *idx)
{
    if (r->nparts == 1) return g_gather_rows(r->part[0], idx);
    g_graph *g = idx->graph;
    int B = idx->shape[0];
    g_tensor *at = g_expand(g_reshape(idx, 2, G_SHAPE(B, 1)), 2, G_SHAPE(B, r->cols));   /* each element's row */
    g_tensor *out = NULL;
    for (int p = 0; p < r->nparts; p++) {
        float first = (float)r->start[p];   /* exact: below 2^24 */
        g_tensor *v = g_gather_rows(r->part[p], p ? g_add_scalar(idx, -first) : idx);
        out = p ? g_select(g_ge(at, g_scalar(g, first)), v, out) : v;
    }
    return out;
}

g_tensor *meg_device_set_gather(const meg_device_set *ds, g_tensor *idx, g_tensor **labels)
{
    if (labels) *labels = NULL;
    if (!idx) return NULL;
    g_graph *g = idx->graph;
    char sh[64];
    if (!ds || ds->values.nparts < 1 || ds->values.part[0]->graph != g) {
        g_graph_fail(g, "device data set %s: not made for this graph (meg_device_set_make)", ds ? ds->name : "(null)");
        return NULL;
    }
    if (idx->ndim != 1) {
        g_graph_fail(g, "device data set %s: indices %s, expected [B]", ds->name, g_shape_str(idx, sh, sizeof sh));
        return NULL;
    }
    int B = idx->shape[0];
    g_tensor *rows = idx;
    if (ds->k) /* each entry's digits, channel by channel */
        rows = g_reshape(gather_parts(&ds->tuples, idx), 1, G_SHAPE(B * ds->k));
    g_tensor *x = gather_parts(&ds->values, rows);
    if (ds->values.u8) x = g_add_scalar(g_scale(x, 2.0f), -1.0f);   /* byte / 255 -> [-1, 1] */
    int shape[G_MAX_DIMS] = {B};
    for (int d = 0; d < ds->ndim; d++) shape[1 + d] = ds->shape[d];
    x = g_reshape(x, 1 + ds->ndim, shape);
    if (labels && ds->labels.nparts) *labels = g_reshape(gather_parts(&ds->labels, idx), 1, G_SHAPE(B));
    return x;
}

g_tensor *meg_device_set_batch(const meg_device_set *ds, g_tensor *rng, int batch, g_tensor **labels)
{
    if (labels) *labels = NULL;
    if (!rng) return NULL;
    if (!ds || ds->n < 1) {
        g_graph_fail(rng->graph, "device data set %s: not made (meg_device_set_make)", ds ? ds->name : "(null)");
        return NULL;
    }
    return meg_device_set_gather(ds, g_rand_int(rng, (int)ds->n, 1, G_SHAPE(batch)), labels);
}

/* ---- uploads ------------------------------------------------------------------ */

/* Where the inputs go: a session or the CPU reference. */
typedef struct target {
    g_session *s;
    g_ref *r;
} target;

static int put_f(const target *t, g_tensor *leaf, const float *v)
{
    if (t->s) return g_session_write(t->s, leaf, v);
    if (g_ref_write_f(t->r, leaf, v)) {
        rt_set_error("%s", g_ref_error(t->r));
        return -1;
    }
    return 0;
}

static int put_u8(const target *t, g_tensor *leaf, const uint8_t *v)
{
    if (t->s) return g_session_write_u8(t->s, leaf, v);
    if (g_ref_write_u8(t->r, leaf, v)) {
        rt_set_error("%s", g_ref_error(t->r));
        return -1;
    }
    return 0;
}

/* Every part of r from the rows of exactly one of f (floats), b (bytes)
 * or i (integers, made floats part by part). */
static int put_rows(const target *t, const meg_device_rows *r, const float *f, const uint8_t *b, const int32_t *i)
{
    if (!t->s && !t->r) {
        rt_set_error("device data set upload: no session");
        return -1;
    }
    float *buf = NULL;
    int rc = 0;
    for (int p = 0; p < r->nparts && !rc; p++) {
        size_t at = r->start[p] * (size_t)r->cols, count = (r->start[p + 1] - r->start[p]) * (size_t)r->cols;
        if (b) {
            rc = put_u8(t, r->part[p], b + at);
        } else if (f) {
            rc = put_f(t, r->part[p], f + at);
        } else {
            float *nb = realloc(buf, count * sizeof *buf);
            if (!nb) { rt_set_error("out of host memory"); rc = -1; break; }
            buf = nb;
            for (size_t j = 0; j < count; j++) buf[j] = (float)i[at + j];   /* exact: |i| < 2^24 */
            rc = put_f(t, r->part[p], buf);
        }
    }
    free(buf);
    return rc;
}

static int upload_set(const target *t, const meg_device_set *ds, const meg_dataset *d)
{
    const char *dn = d && d->name ? d->name : "(unnamed set)";
    if (!ds || ds->k || ds->values.nparts < 1) {
        rt_set_error("%s: upload into a device set not made by meg_device_set_make", dn);
        return -1;
    }
    if (!d || d->n != ds->n || d->ndim != ds->ndim || memcmp(d->shape, ds->shape, (size_t)ds->ndim * sizeof *d->shape) ||
        (ds->values.u8 && !d->u8) || (!ds->values.u8 && !d->x) || (ds->labels.nparts > 0) != (d->labels != NULL)) {
        rt_set_error("%s: not the data set device set '%s' was made for (%zu examples of %zu values%s%s)", dn,
                     ds->name, ds->n, (size_t)ds->values.cols, ds->values.u8 ? ", bytes" : "",
                     ds->labels.nparts ? ", labels" : ", no labels");
        return -1;
    }
    if (put_rows(t, &ds->values, ds->values.u8 ? NULL : d->x, ds->values.u8 ? d->u8 : NULL, NULL)) return -1;
    return d->labels ? put_rows(t, &ds->labels, NULL, NULL, d->labels) : 0;
}

static int upload_stacked(const target *t, const meg_device_set *ds, const meg_stacked *pool,
                          const meg_dataset *digits)
{
    if (!ds || !ds->k || ds->values.nparts < 1) {
        rt_set_error("StackedMNIST upload into a device set not made by meg_device_stacked_make");
        return -1;
    }
    if (check_digits(pool, digits)) return -1;
    if (pool->n != ds->n || pool->k != ds->k || (ds->values.u8 && !digits->u8) || (!ds->values.u8 && !digits->x)) {
        rt_set_error("StackedMNIST pool of %zu entries of %d digits is not the one device set '%s' was made for "
                     "(%zu of %d)", pool->n, pool->k, ds->name, ds->n, ds->k);
        return -1;
    }
    if (put_rows(t, &ds->values, ds->values.u8 ? NULL : digits->x, ds->values.u8 ? digits->u8 : NULL, NULL) ||
        put_rows(t, &ds->tuples, NULL, NULL, pool->index))
        return -1;
    return put_rows(t, &ds->labels, NULL, NULL, pool->modes);
}

int meg_device_set_upload(g_session *s, const meg_device_set *ds, const meg_dataset *d)
{
    target t = {s, NULL};
    return upload_set(&t, ds, d);
}

int meg_device_set_upload_ref(g_ref *r, const meg_device_set *ds, const meg_dataset *d)
{
    target t = {NULL, r};
    return upload_set(&t, ds, d);
}

int meg_device_stacked_upload(g_session *s, const meg_device_set *ds, const meg_stacked *pool,
                              const meg_dataset *digits)
{
    target t = {s, NULL};
    return upload_stacked(&t, ds, pool, digits);
}

int meg_device_stacked_upload_ref(g_ref *r, const meg_device_set *ds, const meg_stacked *pool,
                                  const meg_dataset *digits)
{
    target t = {NULL, r};
    return upload_stacked(&t, ds, pool, digits);
}
