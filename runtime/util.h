/* util.h: the part of runtime/ that needs no Vulkan: the thread-local error
 * message every module reports through, and the file helpers every writer
 * shares (mkdir -p, the cache folder, atomic writes). File formats, plots
 * and the graph's code cache include this header, not runtime.h.
 *
 * Errors are values: functions return 0 on success and -1 on failure, with
 * the message (naming the file and what went wrong) in rt_error().
 */
#ifndef MEG_RUNTIME_UTIL_H
#define MEG_RUNTIME_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- errors ----------------------------------------------------------- */

/* The last message set on this thread ("no error" when none). */
const char *rt_error(void);
void rt_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prepends "context: " to the current message (for callers adding where). */
void rt_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Bytes from outside (a file, a flag) made safe to show in a message: at
 * most max of them, printable ASCII as it is, anything else (terminal
 * escapes, UTF-8, NUL) as \xNN, "..." after a cut. Returns buf. */
char *rt_escape(const char *s, size_t max, char *buf, size_t n);

/* ---- lowered device limits (tests) --------------------------------------- */

/* A limit from the environment ($MEG_LIMIT_TEXELS and the others of
 * rt_options in runtime.h): 0 with *out = 0 when `name` is unset or empty,
 * 0 with the value when it is a whole number 1 .. 2^32 - 1, else -1 with a
 * message naming the variable. */
int rt_limit_env(const char *name, uint32_t *out);

/* ---- files ------------------------------------------------------------ */

/* mkdir -p with mode 0755; fails naming the path when a part cannot be
 * made or exists and is not a folder. */
int rt_mkdirs(const char *path);

/* The project's cache folder: "$XDG_CACHE_HOME/meg", else "$HOME/.cache/meg"
 * (not created). -1 without a message when neither variable is set or the
 * path does not fit. */
int rt_cache_dir(char *buf, size_t n);

/* Atomic writes: the data go to a new temporary file beside path (created
 * with O_CREAT | O_EXCL | O_NOFOLLOW, mode 0644, so a file or link planted
 * at that name is never followed or reused), which replaces path on
 * commit after fflush and fsync. Readers see the old file or the whole new
 * one; on any failure the temporary file is removed and path is untouched. */
typedef struct rt_atomic_file {
    FILE *f;
    char *path, *tmp;
    int err;                  /* errno of the first failed write, 0 if none */
    int no_sync;              /* set after open: commit without fsync */
} rt_atomic_file;

int rt_atomic_open(rt_atomic_file *af, const char *path);
/* After a failure, later writes do nothing; commit reports it. */
int rt_atomic_write(rt_atomic_file *af, const void *p, size_t n);
int rt_atomic_commit(rt_atomic_file *af);
/* Removes the temporary file; keeps the current error message. */
void rt_atomic_abort(rt_atomic_file *af);
/* The whole of data[0..n) into path, atomically. Flags: RT_WRITE_MKDIRS
 * makes its folder first; RT_WRITE_CACHE skips the fsyncs (a cache file
 * lost in a crash only costs time). */
enum { RT_WRITE_MKDIRS = 1, RT_WRITE_CACHE = 2 };
int rt_write_file_atomic(const char *path, const void *data, size_t n, int flags);

#endif
