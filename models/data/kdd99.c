/* kdd99.c: the KDD Cup 99 "10 percent" file (raw or gzipped) into the
 * train and test sets of the seed's anomaly-detection protocol: one-hot
 * categories, normal rows as anomalies, a seeded 50/50 split, min-max
 * scaling fitted on the rows trained on. Every bad row is an error naming
 * the file and line; nothing stays allocated on failure. */
#include "data.h"
#include "util.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FIELDS (MEG_KDD99_FEATURES_RAW + 1)
#define NUMERIC (MEG_KDD99_FEATURES_RAW - MEG_KDD99_CAT_COLS)
/* A KDD row is about 150 bytes; a longer line is not one (a binary file). */
#define LINE_MAX_BYTES 4096
#define CHUNK ((size_t)1 << 18)
/* Category and label names: services are at most 11 bytes. */
#define CAT_NAME_MAX 32
/* Distinct values per encoded column (the ids are 16-bit). */
#define CAT_MAX 4096

static const char *const col_names[MEG_KDD99_FEATURES_RAW] = {
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land", "wrong_fragment",
    "urgent", "hot", "num_failed_logins", "logged_in", "num_compromised", "root_shell", "su_attempted",
    "num_root", "num_file_creations", "num_shells", "num_access_files", "num_outbound_cmds", "is_host_login",
    "is_guest_login", "count", "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate", "srv_rerror_rate",
    "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate", "dst_host_count", "dst_host_srv_count",
    "dst_host_same_srv_rate", "dst_host_diff_srv_rate", "dst_host_same_src_port_rate",
    "dst_host_srv_diff_host_rate", "dst_host_serror_rate", "dst_host_srv_serror_rate", "dst_host_rerror_rate",
    "dst_host_srv_rerror_rate"};

/* The encoded columns (0-based), in the order of their one-hot blocks;
 * the last four hold 0 or 1. */
static const int cat_cols[MEG_KDD99_CAT_COLS] = {1, 2, 3, 6, 11, 20, 21};
#define FIRST_BINARY 3

/* The distinct values of one encoded column, ids in order of appearance. */
typedef struct vocab {
    char (*name)[CAT_NAME_MAX];
    size_t n, cap;
    size_t last;              /* the id found last: rows repeat their neighbours' */
} vocab;

/* The parsed file: per row the numeric columns, the category ids, the label. */
typedef struct table {
    size_t n, cap;
    float *num;               /* [n, NUMERIC] */
    uint16_t *cat;            /* [n, MEG_KDD99_CAT_COLS] */
    uint8_t *label;           /* [n]: 1 for "normal." */
    vocab voc[MEG_KDD99_CAT_COLS];
} table;

typedef struct lines {
    const char *path;
    gzFile g;
    char *buf;
    size_t len, pos;          /* unread bytes are buf[pos..len) */
    int eof;
    size_t lineno;
} lines;

static void table_free(table *t)
{
    free(t->num);
    free(t->cat);
    free(t->label);
    for (int k = 0; k < MEG_KDD99_CAT_COLS; k++)
        free(t->voc[k].name);
    memset(t, 0, sizeof *t);
}

/* The message of a failed gzread or of a stream that ended inside itself;
 * 0 when the file has been read cleanly. */
static int gz_failed(lines *l)
{
    int e = Z_OK;
    const char *msg = gzerror(l->g, &e);
    if (e == Z_OK)
        return 0;
    if (e == Z_ERRNO)
        rt_set_error("%s: read error after line %zu: %s", l->path, l->lineno, strerror(errno));
    else if (e == Z_BUF_ERROR)
        rt_set_error("%s: gzip stream truncated after line %zu (the file ends inside it)", l->path, l->lineno);
    else
        rt_set_error("%s: gzip stream corrupt after line %zu: %s", l->path, l->lineno, msg ? msg : "inflate failed");
    return -1;
}

/* The next line (without its '\n') in *out, NUL-terminated in place: 1, 0
 * at the end of the file, -1 on an error (message set). */
static int next_line(lines *l, char **out)
{
    for (;;) {
        char *start = l->buf + l->pos, *nl = memchr(start, '\n', l->len - l->pos);
        if (nl || (l->eof && l->pos < l->len)) {
            char *end = nl ? nl : l->buf + l->len;
            l->lineno++;
            if ((size_t)(end - start) > LINE_MAX_BYTES) {
                rt_set_error("%s:%zu: line longer than %d bytes (not a KDD Cup 99 file?)", l->path, l->lineno,
                             LINE_MAX_BYTES);
                return -1;
            }
            if (memchr(start, '\0', (size_t)(end - start))) {
                rt_set_error("%s:%zu: NUL byte in the line (not a text file?)", l->path, l->lineno);
                return -1;
            }
            *end = '\0';     /* buf has a spare byte past len for the last line */
            l->pos = (size_t)(end - l->buf) + (nl ? 1 : 0);
            *out = start;
            return 1;
        }
        if (l->eof)
            return 0;
        if (l->len - l->pos > LINE_MAX_BYTES) {
            rt_set_error("%s:%zu: line longer than %d bytes (not a KDD Cup 99 file?)", l->path, l->lineno + 1,
                         LINE_MAX_BYTES);
            return -1;
        }
        memmove(l->buf, start, l->len - l->pos);
        l->len -= l->pos;
        l->pos = 0;
        int got = gzread(l->g, l->buf + l->len, (unsigned)(CHUNK - l->len));
        if (got < 0) {
            if (!gz_failed(l))
                rt_set_error("%s: read error after line %zu", l->path, l->lineno);
            return -1;
        }
        if (got == 0) {
            l->eof = 1;
            if (gz_failed(l))
                return -1;
        }
        l->len += (size_t)got;
    }
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* A category or label name: letters, digits, '_' and '-'. */
static int is_name(const char *s, size_t n)
{
    if (!n || n >= CAT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* The id of name in v, added when new; -1 when v is full. */
static long vocab_id(vocab *v, const char *name)
{
    if (v->n && !strcmp(v->name[v->last], name))
        return (long)v->last;
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->name[i], name))
            return (long)(v->last = i);
    if (v->n == CAT_MAX)
        return -1;
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 16;
        void *p = realloc(v->name, cap * sizeof *v->name);
        if (!p)
            return -2;
        v->name = p;
        v->cap = cap;
    }
    snprintf(v->name[v->n], CAT_NAME_MAX, "%s", name);
    return (long)(v->last = v->n++);
}

static int grow(table *t)
{
    size_t cap = t->cap ? 2 * t->cap : 4096;
    float *num = realloc(t->num, cap * NUMERIC * sizeof *num);
    if (num)
        t->num = num;
    uint16_t *cat = realloc(t->cat, cap * MEG_KDD99_CAT_COLS * sizeof *cat);
    if (cat)
        t->cat = cat;
    uint8_t *label = realloc(t->label, cap);
    if (label)
        t->label = label;
    if (!num || !cat || !label)
        return -1;
    t->cap = cap;
    return 0;
}

/* One data line into row t->n; -1 with a message naming the line. */
static int parse_row(table *t, lines *l, char *s)
{
    char *f[FIELDS];
    size_t nf = 0;
    for (char *p = s;; p++) {
        if (nf < FIELDS)
            f[nf] = p;
        nf++;
        p = strchr(p, ',');
        if (!p)
            break;
        *p = '\0';
    }
    if (nf != FIELDS) {
        rt_set_error("%s:%zu: expected %d fields (41 features and a label), found %zu", l->path, l->lineno, FIELDS,
                     nf);
        return -1;
    }
    if (t->n == t->cap && grow(t)) {
        rt_set_error("%s:%zu: out of host memory", l->path, l->lineno);
        return -1;
    }
    float *num = t->num + t->n * NUMERIC;
    uint16_t *cat = t->cat + t->n * MEG_KDD99_CAT_COLS;
    char shown[176];
    int ci = 0, ni = 0;
    for (int c = 0; c < MEG_KDD99_FEATURES_RAW; c++) {
        char *v = trim(f[c]);
        rt_escape(v, 40, shown, sizeof shown);
        if (!*v) {
            rt_set_error("%s:%zu: column %d (%s) is empty", l->path, l->lineno, c + 1, col_names[c]);
            return -1;
        }
        int is_cat = ci < MEG_KDD99_CAT_COLS && cat_cols[ci] == c;
        if (!is_cat || ci >= FIRST_BINARY) {
            char *end;
            double x = strtod(v, &end);
            if (end == v || *end) {
                rt_set_error("%s:%zu: column %d (%s): '%s' is not a number", l->path, l->lineno, c + 1,
                             col_names[c], shown);
                return -1;
            }
            if (!isfinite(x) || fabs(x) > FLT_MAX) {
                rt_set_error("%s:%zu: column %d (%s): '%s' is not a finite float", l->path, l->lineno, c + 1,
                             col_names[c], shown);
                return -1;
            }
            if (!is_cat) {
                num[ni++] = (float)x;
                continue;
            }
            if (x != 0.0 && x != 1.0) {
                rt_set_error("%s:%zu: column %d (%s): '%s' is neither 0 nor 1", l->path, l->lineno, c + 1,
                             col_names[c], shown);
                return -1;
            }
            v = x != 0.0 ? "1" : "0";   /* "0.0" and "0" are one category */
        } else if (!is_name(v, strlen(v))) {
            rt_set_error("%s:%zu: column %d (%s): '%s' is not a category name (letters, digits, '_' and '-', "
                         "at most %d bytes)", l->path, l->lineno, c + 1, col_names[c], shown, CAT_NAME_MAX - 1);
            return -1;
        }
        long id = vocab_id(&t->voc[ci], v);
        if (id < 0) {
            if (id == -1)
                rt_set_error("%s:%zu: column %d (%s): more than %d distinct values", l->path, l->lineno, c + 1,
                             col_names[c], CAT_MAX);
            else
                rt_set_error("%s:%zu: out of host memory", l->path, l->lineno);
            return -1;
        }
        cat[ci++] = (uint16_t)id;
    }
    char *lab = trim(f[MEG_KDD99_FEATURES_RAW]);
    size_t n = strlen(lab);
    if (n < 2 || lab[n - 1] != '.' || !is_name(lab, n - 1)) {
        rt_escape(lab, 40, shown, sizeof shown);
        rt_set_error("%s:%zu: label '%s' is not a KDD Cup 99 label (a name ending in '.', as 'normal.' or "
                     "'smurf.')", l->path, l->lineno, shown);
        return -1;
    }
    t->label[t->n++] = !strcmp(lab, "normal.");
    return 0;
}

static int read_table(table *t, const char *path)
{
    lines l = {.path = path};
    memset(t, 0, sizeof *t);
    errno = 0;
    l.g = gzopen(path, "rb");   /* zlib reads a file that is not gzip as it is */
    if (!l.g) {
        rt_set_error("%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
        return -1;
    }
    l.buf = malloc(CHUNK + 1);
    if (!l.buf) {
        rt_set_error("%s: out of host memory", path);
        gzclose(l.g);
        return -1;
    }
    int rc;
    char *s;
    while ((rc = next_line(&l, &s)) == 1) {
        s = trim(s);
        if (!*s)
            continue;   /* blank lines, the end of the file's last line */
        if (parse_row(t, &l, s)) {
            rc = -1;
            break;
        }
    }
    free(l.buf);
    gzclose(l.g);
    if (!rc && !t->n) {
        rt_set_error("%s: no data rows", path);
        rc = -1;
    }
    if (rc)
        table_free(t);
    return rc;
}

/* ---- split, encoding, scaling ------------------------------------------------ */

static const vocab *sort_voc;
static int by_name(const void *a, const void *b)
{
    return strcmp(sort_voc->name[*(const uint16_t *)a], sort_voc->name[*(const uint16_t *)b]);
}

/* col[k][id]: the feature of category id of encoded column k (-1: none),
 * blocks after the numeric features, each sorted by name; the feature
 * count in *features and the block sizes in info. */
static int encode_columns(const table *t, const uint8_t *use, int32_t *col[MEG_KDD99_CAT_COLS], int *features,
                          meg_kdd99_info *info)
{
    int next = NUMERIC;
    uint16_t order[CAT_MAX];
    for (int k = 0; k < MEG_KDD99_CAT_COLS; k++) {
        const vocab *v = &t->voc[k];
        uint8_t seen[CAT_MAX] = {0};
        for (size_t i = 0; i < t->n; i++)
            if (use[i])
                seen[t->cat[i * MEG_KDD99_CAT_COLS + k]] = 1;
        size_t m = 0;
        for (size_t id = 0; id < v->n; id++) {
            col[k][id] = -1;
            if (seen[id])
                order[m++] = (uint16_t)id;
        }
        sort_voc = v;
        qsort(order, m, sizeof *order, by_name);
        for (size_t r = 0; r < m; r++)
            col[k][order[r]] = next++;
        info->categories[k] = (int)m;
    }
    *features = next;
    return 0;
}

static void feature_names(const table *t, int32_t *const col[MEG_KDD99_CAT_COLS], char *names)
{
    int ni = 0, ci = 0;
    for (int c = 0; c < MEG_KDD99_FEATURES_RAW; c++) {
        if (ci < MEG_KDD99_CAT_COLS && cat_cols[ci] == c) {
            for (size_t id = 0; id < t->voc[ci].n; id++)
                if (col[ci][id] >= 0)
                    snprintf(names + (size_t)col[ci][id] * MEG_KDD99_NAME_MAX, MEG_KDD99_NAME_MAX, "%s=%s",
                             col_names[c], t->voc[ci].name[id]);
            ci++;
        } else {
            snprintf(names + (size_t)ni++ * MEG_KDD99_NAME_MAX, MEG_KDD99_NAME_MAX, "%s", col_names[c]);
        }
    }
}

static void encode_row(const table *t, size_t i, int32_t *const col[MEG_KDD99_CAT_COLS], int features, float *out)
{
    memset(out, 0, (size_t)features * sizeof *out);
    memcpy(out, t->num + i * NUMERIC, NUMERIC * sizeof *out);
    for (int k = 0; k < MEG_KDD99_CAT_COLS; k++) {
        int32_t j = col[k][t->cat[i * MEG_KDD99_CAT_COLS + k]];
        if (j >= 0)
            out[j] = 1.0f;   /* a category without a feature stays all zeros */
    }
}

static int make_set(meg_dataset *d, const char *path, const char *part, size_t n, int features)
{
    memset(d, 0, sizeof *d);
    size_t len = strlen(path) + strlen(part) + 2;
    d->name = malloc(len);
    d->x = malloc((n ? n : 1) * (size_t)features * sizeof *d->x);
    d->labels = malloc((n ? n : 1) * sizeof *d->labels);
    if (!d->name || !d->x || !d->labels)
        return -1;
    snprintf(d->name, len, "%s:%s", path, part);
    d->n = n;
    d->ndim = 1;
    d->shape[0] = features;
    return 0;
}

void meg_kdd99_options_default(meg_kdd99_options *o)
{
    memset(o, 0, sizeof *o);
    o->seed = MEG_KDD99_SEED;
    o->categories = MEG_KDD99_CATEGORIES_FILE;
}

void meg_kdd99_info_free(meg_kdd99_info *info)
{
    free(info->min);
    free(info->max);
    free(info->names);
    memset(info, 0, sizeof *info);
}

const char *meg_kdd99_feature_name(const meg_kdd99_info *info, int j)
{
    if (!info || !info->names || j < 0 || j >= info->features)
        return "";
    return info->names + (size_t)j * MEG_KDD99_NAME_MAX;
}

int meg_dataset_kdd99(meg_dataset *train, meg_dataset *test, const char *path, const meg_kdd99_options *opt,
                      meg_kdd99_info *info)
{
    meg_kdd99_options o;
    meg_kdd99_info in = {0};
    table t;
    uint8_t *in_train = NULL, *use = NULL;
    int32_t *col[MEG_KDD99_CAT_COLS] = {0};
    int rc = -1;
    if (opt)
        o = *opt;
    else
        meg_kdd99_options_default(&o);
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (o.categories != MEG_KDD99_CATEGORIES_FILE && o.categories != MEG_KDD99_CATEGORIES_TRAIN) {
        rt_set_error("%s: categories option %d is neither FILE (0) nor TRAIN (1)", path, o.categories);
        return -1;
    }
    if (read_table(&t, path))
        return -1;
    in.rows = t.n;
    if (t.n < 2) {
        rt_set_error("%s: %zu data row: the 50/50 split needs at least 2", path, t.n);
        goto out;
    }
    in_train = malloc(t.n);
    use = malloc(t.n);
    for (int k = 0; k < MEG_KDD99_CAT_COLS; k++)
        col[k] = malloc((t.voc[k].n ? t.voc[k].n : 1) * sizeof *col[k]);
    for (int k = 0; k < MEG_KDD99_CAT_COLS; k++)
        if (!col[k])
            goto oom;
    if (!in_train || !use || meg_split_half(t.n, o.seed, in_train))
        goto oom;
    size_t ntrain = 0, ntest = 0;
    for (size_t i = 0; i < t.n; i++) {
        in.anomalies += t.label[i];
        use[i] = in_train[i] && !t.label[i];   /* the rows trained on */
        ntrain += use[i];
        ntest += !in_train[i];
        in.train_dropped += in_train[i] && t.label[i];
        in.test_anomalies += !in_train[i] && t.label[i];
    }
    in.train_half = t.n / 2;
    in.test_half = ntest;
    if (!ntrain) {
        rt_set_error("%s: the training half (%zu rows) holds no attack rows (label 0) to train on", path,
                     in.train_half);
        goto out;
    }
    if (o.categories == MEG_KDD99_CATEGORIES_FILE)
        memset(use, 1, t.n);
    encode_columns(&t, use, col, &in.features, &in);
    in.min = malloc((size_t)in.features * sizeof *in.min);
    in.max = malloc((size_t)in.features * sizeof *in.max);
    in.names = calloc((size_t)in.features, MEG_KDD99_NAME_MAX);
    if (!in.min || !in.max || !in.names || make_set(train, path, "train", ntrain, in.features) ||
        make_set(test, path, "test", ntest, in.features))
        goto oom;
    feature_names(&t, col, in.names);
    size_t a = 0, b = 0, D = (size_t)in.features;
    for (size_t i = 0; i < t.n; i++) {
        if (in_train[i] && t.label[i])
            continue;
        meg_dataset *d = in_train[i] ? train : test;
        size_t r = in_train[i] ? a++ : b++;
        encode_row(&t, i, col, in.features, d->x + r * D);
        d->labels[r] = t.label[i];
    }
    for (size_t j = 0; j < D; j++) {
        in.min[j] = INFINITY;
        in.max[j] = -INFINITY;
    }
    for (size_t r = 0; r < ntrain; r++)
        for (size_t j = 0; j < D; j++) {
            double x = train->x[r * D + j];
            in.min[j] = x < in.min[j] ? x : in.min[j];
            in.max[j] = x > in.max[j] ? x : in.max[j];
        }
    if (!o.no_scaling) {
        meg_dataset *sets[2] = {train, test};
        for (int s = 0; s < 2; s++)
            for (size_t r = 0; r < sets[s]->n; r++)
                for (size_t j = 0; j < D; j++) {
                    /* a constant column is shifted only, as MinMaxScaler does */
                    double range = in.max[j] > in.min[j] ? in.max[j] - in.min[j] : 1.0;
                    float *x = &sets[s]->x[r * D + j];
                    double v = (*x - in.min[j]) / range;
                    /* a test value far outside a tiny training range saturates, not inf */
                    *x = (float)(v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v);
                }
    }
    rc = 0;
    goto out;
oom:
    rt_set_error("%s: out of host memory for %zu rows", path, t.n);
out:
    table_free(&t);
    free(in_train);
    free(use);
    for (int k = 0; k < MEG_KDD99_CAT_COLS; k++)
        free(col[k]);
    if (rc) {
        meg_dataset_free(train);
        meg_dataset_free(test);
        meg_kdd99_info_free(&in);
    } else if (info) {
        *info = in;
    } else {
        meg_kdd99_info_free(&in);
    }
    return rc;
}
