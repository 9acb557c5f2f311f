/* common.c: helpers shared by the programs. */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

rt_ctx *app_open_device(const char *prog, const char *device)
{
    rt_options o = {.device = device, .validation = -1, .autotune = -1};
    rt_ctx *ctx;
    if (rt_ctx_create(&o, &ctx)) {
        fprintf(stderr, "%s: %s\n", prog, rt_error());
        return NULL;
    }
    return ctx;
}

int app_prepare_out(const char *dir)
{
    if (rt_mkdirs(dir)) return -1;
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.meg-write-test.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
    if (fd < 0) {
        rt_set_error("cannot write into the output folder %s: %s", dir, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
}

double app_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void app_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 32 || c >= 127) fprintf(f, "\\u%04x", c);   /* valid JSON whatever the bytes */
        else fputc(c, f);
    }
    fputc('"', f);
}

void app_json_num(FILE *f, double v, int digits)
{
    if (isfinite(v)) fprintf(f, "%.*g", digits, v);
    else fputs("null", f);
}

int app_parse_int(const char *prog, const char *flag, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "%s: %s expects an integer from %ld to %ld, got \"%s\"\n", prog, flag, lo, hi, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

int app_parse_float(const char *prog, const char *flag, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || errno || *end || end == s || !isfinite(v)) {
        fprintf(stderr, "%s: %s expects a number, got \"%s\"\n", prog, flag, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

void app_progress_init(app_progress *p, FILE *f, long start, long total)
{
    p->f = f;
    p->tty = isatty(fileno(f));
    p->total = total;
    p->start = start;
    p->t0 = app_now();
    p->drawn = 0;
}

static void fmt_time(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0) snprintf(buf, n, "--");
    else if (s >= 3600) snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

void app_progress_update(app_progress *p, long done, double rate, const char *extra)
{
    char eta[32];
    fmt_time(eta, sizeof eta, rate > 0 ? (double)(p->total - done) / rate : NAN);
    int pct = p->total > 0 ? (int)(100.0 * (double)done / (double)p->total) : 100;
    if (p->tty) {
        char bar[31];
        int fill = p->total > 0 ? (int)(30.0 * (double)done / (double)p->total) : 30;
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        fprintf(p->f, "\r%ld/%ld [%s] %3d%% %7.2f it/s ETA %s %s\033[K", done, p->total, bar, pct, rate, eta,
                extra ? extra : "");
        p->drawn = 1;
    } else {
        fprintf(p->f, "%ld/%ld (%d%%) %.2f it/s ETA %s %s\n", done, p->total, pct, rate, eta, extra ? extra : "");
    }
    fflush(p->f);
}

void app_progress_end(app_progress *p)
{
    if (p->tty && p->drawn) fputc('\n', p->f);
    p->drawn = 0;
}


int app_parse_box(const char *prog, const char *s, meg_box *out)
{
    meg_box b;
    char extra;
    if (!s || sscanf(s, "%lf,%lf,%lf,%lf%c", &b.xmin, &b.xmax, &b.ymin, &b.ymax, &extra) != 4 || !(b.xmax > b.xmin) ||
        !(b.ymax > b.ymin)) {
        fprintf(stderr, "%s: --box expects X0,X1,Y0,Y1 with X0 < X1 and Y0 < Y1, got \"%s\"\n", prog, s ? s : "");
        return -1;
    }
    *out = b;
    return 0;
}

/* A number of the metadata in [lo, hi] (an integer when integer is 1). */
int app_meta_num(const meg_st_file *f, const char *key, double lo, double hi, int integer, double *out)
{
    const char *v = meg_st_meta(f, key);
    if (!v) { rt_set_error("%s: checkpoint metadata lacks \"%s\"", meg_st_path(f), key); return -1; }
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || *end || end == v || !isfinite(d) || d < lo || d > hi || (integer && d != floor(d))) {
        char shown[200];
        rt_set_error("%s: checkpoint metadata \"%s\" = \"%s\" is not %s in [%g, %g]", meg_st_path(f), key,
                     rt_escape(v, 40, shown, sizeof shown), integer ? "an integer" : "a number", lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

void app_kv_put(app_kv *b, const char *key, const char *fmt, ...)
{
    if (b->n >= b->cap || b->off >= b->store_n) { b->overflow = 1; return; }
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->store + b->off, b->store_n - b->off, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= b->store_n - b->off) { b->overflow = 1; return; }
    b->kv[b->n].key = key;
    b->kv[b->n].value = b->store + b->off;
    b->off += (size_t)w + 1;
    b->n++;
}

int app_kv_done(const app_kv *b, size_t *n)
{
    if (b->overflow) { rt_set_error("checkpoint metadata: more keys or text than the %zu keys and %zu bytes kept", b->cap, b->store_n); return -1; }
    *n = b->n;
    return 0;
}

int app_training_out(const char *prog, const char *out, const char *file, int resume, int force, char *path,
                     size_t n, int *have)
{
    if (app_prepare_out(out)) { fprintf(stderr, "%s: %s\n", prog, rt_error()); return -1; }
    snprintf(path, n, "%s/%s", out, file);
    struct stat st;
    *have = stat(path, &st) == 0;
    if (resume && !*have) {
        fprintf(stderr, "%s: --resume: %s does not exist\n", prog, path);
        return -1;
    }
    if (*have && !resume && !force) {
        fprintf(stderr, "%s: %s already holds %s; pass --resume to continue it or --force to start over\n", prog,
                out, file);
        return -1;
    }
    return 0;
}

double app_json_field(const char *line, const char *key)
{
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    if (!p) return NAN;
    char *end;
    double v = strtod(p + strlen(pat), &end);
    return end == p + strlen(pat) ? NAN : v;
}
