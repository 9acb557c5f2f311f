/* files.c: mkdir -p, the cache folder and atomic writes (temporary file,
 * fsync, rename), shared by checkpoints, pictures and the kernel caches. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rt_mkdirs(const char *path)
{
    char tmp[4096];
    if (!path || !path[0]) {
        rt_set_error("cannot create a folder with an empty name");
        return -1;
    }
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        rt_set_error("path too long: %.200s...", path);
        return -1;
    }
    for (char *q = tmp + 1;; q++) {
        if (*q != '/' && *q) continue;
        char c = *q;
        *q = 0;
        if (mkdir(tmp, 0755) && errno != EEXIST) {
            rt_set_error("cannot create folder %s: %s", tmp, strerror(errno));
            return -1;
        }
        *q = c;
        if (!c) break;
    }
    struct stat st;
    if (stat(tmp, &st) || !S_ISDIR(st.st_mode)) {
        rt_set_error("%s exists and is not a folder", tmp);
        return -1;
    }
    return 0;
}

int rt_cache_dir(char *buf, size_t n)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int k = -1;
    if (xdg && *xdg) k = snprintf(buf, n, "%s/meg", xdg);
    else if (home && *home) k = snprintf(buf, n, "%s/.cache/meg", home);
    if (k < 0 || (size_t)k >= n) {
        if (n) buf[0] = 0;
        return -1;
    }
    return 0;
}

static void release(rt_atomic_file *af)
{
    free(af->path);
    free(af->tmp);
    af->path = af->tmp = NULL;
    af->f = NULL;
}

int rt_atomic_open(rt_atomic_file *af, const char *path)
{
    memset(af, 0, sizeof *af);
    size_t cap = strlen(path) + 48;
    af->path = strdup(path);
    af->tmp = malloc(cap);
    if (!af->path || !af->tmp) {
        release(af);
        rt_set_error("%s: out of memory", path);
        return -1;
    }
    /* a name left by a crashed run, or planted there, is never reused */
    int fd = -1;
    for (int attempt = 0; attempt < 16 && fd < 0; attempt++) {
        snprintf(af->tmp, cap, "%s.tmp.%ld.%d", path, (long)getpid(), attempt);
        fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0 || !(af->f = fdopen(fd, "wb"))) {
        rt_set_error("%s: cannot create temporary file %s: %s", path, af->tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(af->tmp);
        }
        release(af);
        return -1;
    }
    return 0;
}

int rt_atomic_write(rt_atomic_file *af, const void *p, size_t n)
{
    if (af->err) return -1;
    errno = 0;
    if (n && fwrite(p, 1, n, af->f) != n) {
        af->err = errno ? errno : EIO;
        rt_set_error("%s: write failed: %s", af->path, strerror(af->err));
        return -1;
    }
    return 0;
}

void rt_atomic_abort(rt_atomic_file *af)
{
    if (af->f) fclose(af->f);
    if (af->tmp) unlink(af->tmp);
    release(af);
}

/* Makes the rename itself durable; some file systems refuse, which is harmless. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int rt_atomic_commit(rt_atomic_file *af)
{
    int e = af->err;
    const char *what = "write";
    if (!e && fflush(af->f) != 0) e = errno, what = "flush";
    if (!e && !af->no_sync && fsync(fileno(af->f)) != 0) e = errno, what = "fsync";
    int closed = fclose(af->f);
    af->f = NULL;
    if (!e && closed != 0) e = errno, what = "close";
    if (!e && rename(af->tmp, af->path) != 0) e = errno, what = "rename";
    if (e) {
        rt_set_error("%s: %s failed: %s", af->path, what, strerror(e));
        rt_atomic_abort(af);
        return -1;
    }
    if (!af->no_sync) sync_parent_dir(af->path);
    release(af);
    return 0;
}

int rt_write_file_atomic(const char *path, const void *data, size_t n, int flags)
{
    if (flags & RT_WRITE_MKDIRS) {
        char dir[4096];
        if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
            rt_set_error("path too long: %.200s...", path);
            return -1;
        }
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = 0;
            if (rt_mkdirs(dir)) return -1;
        }
    }
    rt_atomic_file af;
    if (rt_atomic_open(&af, path)) return -1;
    af.no_sync = (flags & RT_WRITE_CACHE) != 0;
    if (rt_atomic_write(&af, data, n)) {
        rt_atomic_abort(&af);
        return -1;
    }
    return rt_atomic_commit(&af);
}
