/* runlog.c: the training log kept in step with checkpoints (runlog.h). */
#include "runlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Keeps the first `rows` lines of path (all when rows < 0), atomically;
 * *kept: how many. */
static int keep_rows(const char *path, long rows, long *kept)
{
    *kept = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT && rows <= 0) return 0;
        rt_set_error("cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    long lines = 0;
    int c;
    while ((rows < 0 || lines < rows) && (c = getc(f)) != EOF) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap = cap ? 2 * cap : 4096);
            if (!nb) { free(buf); fclose(f); rt_set_error("out of host memory"); return -1; }
            buf = nb;
        }
        buf[n++] = (char)c;
        lines += c == '\n';
    }
    fclose(f);
    int rc = 0;
    if (rows >= 0 && lines < rows) {
        rt_set_error("%s has %ld rows but the checkpoint counts %ld", path, lines, rows);
        rc = -1;
    } else {
        rc = rt_write_file_atomic(path, buf ? buf : "", n, 0);
        *kept = lines;
    }
    free(buf);
    return rc;
}

/* Lines of a file; -1 when it cannot be read. */
static long count_rows(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    long lines = 0;
    int c;
    while ((c = getc(f)) != EOF) lines += c == '\n';
    fclose(f);
    return lines;
}

int runlog_open(runlog *lg, const char *out, int resume, int over_old, long *rows)
{
    long kept;
    snprintf(lg->path, sizeof lg->path, "%s/log.jsonl", out);
    snprintf(lg->pending, sizeof lg->pending, "%s.new", lg->path);
    if (resume) {
        /* a crash between a checkpoint and its log's rename left the rows in .new */
        if (*rows >= 0 && count_rows(lg->path) < *rows && count_rows(lg->pending) >= *rows &&
            rename(lg->pending, lg->path)) {
            rt_set_error("cannot rename %s: %s", lg->pending, strerror(errno));
            return -1;
        }
        remove(lg->pending);
        if (keep_rows(lg->path, *rows, &kept)) return -1;
        *rows = kept;   /* an older checkpoint counts none: its whole log is kept */
        lg->f = fopen(lg->path, "a");
    } else if (over_old) {
        /* an old checkpoint stays with its log until this run's first one */
        lg->is_pending = 1;
        lg->f = fopen(lg->pending, "w");
    } else {
        remove(lg->pending);
        lg->f = fopen(lg->path, "w");
    }
    if (!lg->f) {
        rt_set_error("cannot write %s: %s", lg->is_pending ? lg->pending : lg->path, strerror(errno));
        return -1;
    }
    return 0;
}

int runlog_commit(runlog *lg)
{
    if (!lg->is_pending) return 0;
    if (fflush(lg->f) || rename(lg->pending, lg->path)) {
        rt_set_error("cannot rename %s to %s: %s", lg->pending, lg->path, strerror(errno));
        return -1;
    }
    lg->is_pending = 0;
    return 0;
}

