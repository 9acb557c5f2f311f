/* common.h: what the programs share (device flag, context, JSON strings,
 * timing). Not a library header: only apps/ includes it. */
#ifndef MEG_APPS_COMMON_H
#define MEG_APPS_COMMON_H

#include <stdio.h>

#include "data.h"   /* meg_box */
#include "io.h"     /* meg_st_file, meg_st_kv */
#include "runtime.h"

/* Creates the context for --device (NULL: $MEG_DEVICE or the best) and
 * prints the error itself on failure. */
rt_ctx *app_open_device(const char *prog, const char *device);
double app_now(void);                     /* seconds, monotonic */
/* Makes the output folder and checks that a file can be created in it,
 * before any work; 0, or -1 with a message naming it. */
int app_prepare_out(const char *dir);
void app_json_string(FILE *f, const char *s);
/* v with `digits` significant digits, or null when it is not finite (JSON
 * has no NaN or infinity). */
void app_json_num(FILE *f, double v, int digits);
int app_parse_int(const char *prog, const char *flag, const char *s, long lo, long hi, long *out);
int app_parse_float(const char *prog, const char *flag, const char *s, double *out);
/* In a loop over argv whose option is `a`, its value `v` (NULL past the end)
 * and index `i`: a numeric option into dst, bit set in `set` (the function
 * returns -1 on a bad value, the message printed). */
#define APP_INT_OPT(prog, flag, lo, hi, dst, set, bit)                          \
    if (!strcmp(a, flag)) {                                                     \
        long n_;                                                                \
        if (app_parse_int(prog, flag, v, lo, hi, &n_)) return -1;               \
        dst = n_;                                                               \
        set |= bit;                                                             \
        i++;                                                                    \
        continue;                                                               \
    }
#define APP_FLT_OPT(prog, flag, dst, set, bit)                                  \
    if (!strcmp(a, flag)) {                                                     \
        double d_;                                                              \
        if (app_parse_float(prog, flag, v, &d_)) return -1;                     \
        dst = (float)d_;                                                        \
        set |= bit;                                                             \
        i++;                                                                    \
        continue;                                                               \
    }
/* "X0,X1,Y0,Y1" with X0 < X1 and Y0 < Y1 (the --box option); prints the error. */
int app_parse_box(const char *prog, const char *s, meg_box *out);

/* Progress on a terminal (one line redrawn in place), or one line per call
 * elsewhere. `extra` is appended (latest losses). */
typedef struct app_progress {
    FILE *f;
    int tty;
    long total;
    double t0;
    long start;       /* done when the clock started (a resumed run) */
    int drawn;
} app_progress;
void app_progress_init(app_progress *p, FILE *f, long start, long total);
void app_progress_update(app_progress *p, long done, double rate, const char *extra);
void app_progress_end(app_progress *p);

/* A training program's output folder: makes it (app_prepare_out), puts
 * out/file into path, and applies the rules of --resume and --force (a
 * file there is continued or replaced only when asked); *have: the file
 * exists. Prints the error itself; 0 or -1. */
int app_training_out(const char *prog, const char *out, const char *file, int resume, int force, char *path,
                     size_t n, int *have);

/* Checkpoint metadata. A number of f's metadata in [lo, hi] (an integer when
 * integer is 1); errors name the file and the key (escaped). */
int app_meta_num(const meg_st_file *f, const char *key, double lo, double hi, int integer, double *out);
/* Metadata being written: key = printf(fmt, ...), the strings kept in store. */
typedef struct app_kv {
    meg_st_kv *kv;
    size_t cap, n;
    char *store;
    size_t store_n, off;
    int overflow;
} app_kv;
void app_kv_put(app_kv *b, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The count of keys put into *n; -1 when kv or store overflowed. */
int app_kv_done(const app_kv *b, size_t *n);
/* The number after "key": in a line of JSON (a log row of flat keys); NAN
 * when the key is absent or its value is not a number (null). */
double app_json_field(const char *line, const char *key);

#endif
