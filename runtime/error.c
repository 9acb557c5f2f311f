/* error.c: the thread-local last-error message, and the lowered limits
 * read from the environment. */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char err_buf[2048];

const char *rt_error(void) { return err_buf[0] ? err_buf : "no error"; }

void rt_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
}

char *rt_escape(const char *s, size_t max, char *buf, size_t n)
{
    size_t k = 0, i = 0;
    if (!n) return buf;
    for (; s && s[i] && i < max && k + 5 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') buf[k++] = (char)c;
        else k += (size_t)snprintf(buf + k, n - k, c == '\\' ? "\\\\" : "\\x%02x", c);
    }
    if (s && s[i] && k + 4 <= n) k += (size_t)snprintf(buf + k, n - k, "...");
    buf[k < n ? k : n - 1] = 0;
    return buf;
}

void rt_error_prefix(const char *fmt, ...)
{
    char pre[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(pre, sizeof pre - 2, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t np = strlen(pre);
    pre[np++] = ':';
    pre[np++] = ' ';
    size_t old = strnlen(err_buf, sizeof err_buf - 1);
    if (np + old >= sizeof err_buf) old = sizeof err_buf - 1 - np;
    memmove(err_buf + np, err_buf, old);
    memcpy(err_buf, pre, np);
    err_buf[np + old] = 0;
}

int rt_limit_env(const char *name, uint32_t *out)
{
    *out = 0;
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (*end || errno || v[0] == '-' || x < 1 || x > 0xffffffffull) {
        char shown[64];
        rt_set_error("%s=%s: not a limit (a whole number from 1 to 4294967295, or unset for the device's)", name,
                     rt_escape(v, 40, shown, sizeof shown));
        return -1;
    }
    *out = (uint32_t)x;
    return 0;
}
