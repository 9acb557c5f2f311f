/* json_internal.h: the small JSON toolkit of safetensors headers, for the
 * files of models/io/ only (not part of io.h). The reader is strict: it
 * takes exactly what a safetensors header holds (objects, strings,
 * unsigned integers, arrays of them) and names the file and the byte of
 * the first thing that is wrong, through rt_set_error (util.h). */
#ifndef MEG_MODELS_IO_JSON_INTERNAL_H
#define MEG_MODELS_IO_JSON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* ---- writing: a string that grows; after a failed allocation oom is set
 * and later appends do nothing, so a whole header is checked once. */
typedef struct meg_sbuf {
    char *p;                  /* NUL-terminated once anything was appended; free() it */
    size_t len, cap;
    int oom;
} meg_sbuf;

void meg_sb_putn(meg_sbuf *b, const char *s, size_t n);
void meg_sb_puts(meg_sbuf *b, const char *s);
void meg_sb_printf(meg_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal; bytes >= 0x80 pass through (UTF-8 stays UTF-8). */
void meg_sb_json_string(meg_sbuf *b, const char *s);

/* ---- reading: a cursor over [start, end). Every function returns 0, or -1
 * with "<path>: bad <what> at byte <base + offset>: ..." as the error. */
typedef struct meg_json {
    const char *s, *start, *end;
    const char *path;         /* the file, for messages */
    const char *what;         /* what is parsed, for messages ("JSON header") */
    size_t base;              /* the file offset of start */
    void *owner;              /* the caller's, for its member functions */
} meg_json;

int meg_json_fail(meg_json *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void meg_json_skip_ws(meg_json *p);
/* The next byte, or -1 at the end. */
int meg_json_peek(meg_json *p);
/* Skips white space, then consumes c. */
int meg_json_expect(meg_json *p, char c);
/* A string literal into a malloc'ed C string (a NUL inside is refused). */
int meg_json_string(meg_json *p, char **out);
/* A non-negative integer up to INT64_MAX (no sign, fraction or exponent). */
int meg_json_uint(meg_json *p, uint64_t *out);
/* Calls item(p, key, ctx) after each "key": of an object; item owns key
 * (free it) and parses the value. */
typedef int (*meg_json_member_fn)(meg_json *p, char *key, void *ctx);
int meg_json_object(meg_json *p, meg_json_member_fn item, void *ctx);

#endif
