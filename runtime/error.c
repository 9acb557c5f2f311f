/* error.c: the thread-local last-error message. */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
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
