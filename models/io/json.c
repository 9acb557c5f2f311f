/* json.c: the JSON that safetensors headers need: a growing string buffer
 * with JSON string literals for the writer, and a strict reader of strings,
 * unsigned integers and objects whose errors give the file and the byte.
 * Declared in json_internal.h (models/io/ only). */
#include "json_internal.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void meg_sb_putn(meg_sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void meg_sb_puts(meg_sbuf *b, const char *s) { meg_sb_putn(b, s, strlen(s)); }

void meg_sb_printf(meg_sbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    meg_sb_putn(b, tmp, n < (int)sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string literal; bytes >= 0x80 pass through (UTF-8 stays UTF-8). */
void meg_sb_json_string(meg_sbuf *b, const char *s)
{
    meg_sb_putn(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            meg_sb_putn(b, esc, 2);
        } else if (c == '\n') {
            meg_sb_puts(b, "\\n");
        } else if (c == '\t') {
            meg_sb_puts(b, "\\t");
        } else if (c < 0x20) {
            meg_sb_printf(b, "\\u%04x", c);
        } else {
            meg_sb_putn(b, (const char *)&c, 1);
        }
    }
    meg_sb_putn(b, "\"", 1);
}

int meg_json_fail(meg_json *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rt_set_error("%s: bad %s at byte %zu: %s", p->path, p->what, (size_t)(p->s - p->start) + p->base, msg);
    return -1;
}

void meg_json_skip_ws(meg_json *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        p->s++;
}

int meg_json_peek(meg_json *p) { return p->s < p->end ? (unsigned char)*p->s : -1; }

int meg_json_expect(meg_json *p, char c)
{
    meg_json_skip_ws(p);
    if (meg_json_peek(p) != c)
        return p->s < p->end ? meg_json_fail(p, "expected '%c', found '%c'", c, *p->s)
                             : meg_json_fail(p, "expected '%c', found the end of the %s", c, p->what);
    p->s++;
    return 0;
}

static int hex4(meg_json *p, unsigned *out)
{
    if (p->end - p->s < 4)
        return meg_json_fail(p, "short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return meg_json_fail(p, "bad \\u escape");
        v = v * 16 + (unsigned)d;
    }
    p->s += 4;
    *out = v;
    return 0;
}

static void put_utf8(meg_sbuf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    meg_sb_putn(b, u, n);
}

/* A string literal into a malloc'ed C string (no NUL inside allowed). */
int meg_json_string(meg_json *p, char **out)
{
    meg_sbuf b = {0};
    *out = NULL;
    if (meg_json_expect(p, '"'))
        return -1;
    meg_sb_putn(&b, "", 0);
    for (;;) {
        int c = meg_json_peek(p);
        if (c < 0) {
            free(b.p);
            return meg_json_fail(p, "unterminated string");
        }
        p->s++;
        if (c == '"')
            break;
        if (c < 0x20) {
            free(b.p);
            return meg_json_fail(p, "control character in a string");
        }
        if (c != '\\') {
            char ch = (char)c;
            meg_sb_putn(&b, &ch, 1);
            continue;
        }
        int e = meg_json_peek(p);
        if (e < 0) {
            free(b.p);
            return meg_json_fail(p, "unterminated string");
        }
        p->s++;
        const char *simple = e ? strchr("\"\\/bfnrt", e) : NULL;
        if (simple) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            meg_sb_putn(&b, &map[simple - "\"\\/bfnrt"], 1);
        } else if (e == 'u') {
            unsigned cp, lo;
            if (hex4(p, &cp)) {
                free(b.p);
                return -1;
            }
            if (cp >= 0xD800 && cp < 0xDC00) {      /* a surrogate pair */
                if (p->end - p->s < 2 || p->s[0] != '\\' || p->s[1] != 'u') {
                    free(b.p);
                    return meg_json_fail(p, "lone surrogate in a \\u escape");
                }
                p->s += 2;
                if (hex4(p, &lo) || lo < 0xDC00 || lo >= 0xE000) {
                    free(b.p);
                    return lo < 0xDC00 || lo >= 0xE000 ? meg_json_fail(p, "bad surrogate pair") : -1;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                free(b.p);
                return meg_json_fail(p, "lone surrogate in a \\u escape");
            }
            if (cp == 0) {
                free(b.p);
                return meg_json_fail(p, "\\u0000 in a string");
            }
            put_utf8(&b, cp);
        } else {
            free(b.p);
            return meg_json_fail(p, "bad escape in a string");
        }
    }
    if (b.oom) {
        free(b.p);
        return meg_json_fail(p, "out of memory");
    }
    *out = b.p;
    return 0;
}

int meg_json_uint(meg_json *p, uint64_t *out)
{
    meg_json_skip_ws(p);
    int c = meg_json_peek(p);
    if (c == '-')
        return meg_json_fail(p, "negative number where a size or offset belongs");
    if (c < '0' || c > '9')
        return meg_json_fail(p, "expected a number");
    if (c == '0' && p->end - p->s > 1 && p->s[1] >= '0' && p->s[1] <= '9')
        return meg_json_fail(p, "number with a leading zero");
    uint64_t v = 0;
    while ((c = meg_json_peek(p)) >= '0' && c <= '9') {
        if (v > (UINT64_MAX - 9) / 10 || v * 10 + (uint64_t)(c - '0') > (uint64_t)INT64_MAX)
            return meg_json_fail(p, "number too large");
        v = v * 10 + (uint64_t)(c - '0');
        p->s++;
    }
    if (c == '.' || c == 'e' || c == 'E')
        return meg_json_fail(p, "expected an integer");
    *out = v;
    return 0;
}


/* Calls item(p, key, ctx) for each member of an object; owns nothing. */
int meg_json_object(meg_json *p, meg_json_member_fn item, void *ctx)
{
    if (meg_json_expect(p, '{'))
        return -1;
    meg_json_skip_ws(p);
    if (meg_json_peek(p) == '}') {
        p->s++;
        return 0;
    }
    for (;;) {
        char *key;
        meg_json_skip_ws(p);
        if (meg_json_string(p, &key))
            return -1;
        if (meg_json_expect(p, ':')) {
            free(key);
            return -1;
        }
        int rc = item(p, key, ctx);     /* takes ownership of key */
        if (rc)
            return rc;
        meg_json_skip_ws(p);
        if (meg_json_peek(p) == ',') {
            p->s++;
            continue;
        }
        if (meg_json_peek(p) == '}') {
            p->s++;
            return 0;
        }
        return meg_json_fail(p, "expected ',' or '}'");
    }
}
