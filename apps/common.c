/* common.c: helpers shared by the programs. */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

rt_ctx *app_open_device(const char *prog, const char *device)
{
    rt_options o = {.device = device, .validation = -1};
    rt_ctx *ctx;
    if (rt_ctx_create(&o, &ctx)) {
        fprintf(stderr, "%s: %s\n", prog, rt_error());
        return NULL;
    }
    return ctx;
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
        else if (c < 32) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void app_json_device(FILE *f, const rt_device_info *d)
{
    fprintf(f, "{\"index\": %d, \"name\": ", d->index);
    app_json_string(f, d->name);
    fprintf(f, ", \"type\": \"%s\", \"driver\": ", d->type_name);
    app_json_string(f, d->driver);
    fprintf(f, ", \"memory_bytes\": %llu, \"subgroup_size\": %u}", (unsigned long long)d->memory, d->subgroup_size);
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
