/* atomic.c: write a file so that readers see either the old one or the whole
 * new one (a crash never leaves a torn checkpoint or picture). */
#include "models.h"
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void release(meg_atomic_file *af)
{
    free(af->path);
    free(af->tmp);
    af->path = af->tmp = NULL;
    af->f = NULL;
}

int meg_atomic_open(meg_atomic_file *af, const char *path)
{
    memset(af, 0, sizeof *af);
    size_t cap = strlen(path) + 32;
    af->path = strdup(path);
    af->tmp = malloc(cap);
    if (!af->path || !af->tmp) {
        release(af);
        rt_set_error("%s: out of memory", path);
        return -1;
    }
    snprintf(af->tmp, cap, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp, "wb");
    if (!af->f) {
        rt_set_error("%s: cannot create temporary file %s: %s", path, af->tmp, strerror(errno));
        release(af);
        return -1;
    }
    return 0;
}

int meg_atomic_write(meg_atomic_file *af, const void *p, size_t n)
{
    if (af->err)
        return -1;
    errno = 0;
    if (n && fwrite(p, 1, n, af->f) != n) {
        af->err = errno ? errno : EIO;
        rt_set_error("%s: write failed: %s", af->path, strerror(af->err));
        return -1;
    }
    return 0;
}

void meg_atomic_abort(meg_atomic_file *af)
{
    if (af->f)
        fclose(af->f);
    if (af->tmp)
        unlink(af->tmp);
    release(af);
}

/* Makes the rename itself durable; some file systems refuse, which is harmless. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int meg_atomic_commit(meg_atomic_file *af)
{
    int e = af->err;
    const char *what = "write";
    if (!e && fflush(af->f) != 0)
        e = errno, what = "flush";
    if (!e && fsync(fileno(af->f)) != 0)
        e = errno, what = "fsync";
    int closed = fclose(af->f);
    af->f = NULL;
    if (!e && closed != 0)
        e = errno, what = "close";
    if (!e && rename(af->tmp, af->path) != 0)
        e = errno, what = "rename";
    if (e) {
        rt_set_error("%s: %s failed: %s", af->path, what, strerror(e));
        meg_atomic_abort(af);
        return -1;
    }
    sync_parent_dir(af->path);
    release(af);
    return 0;
}
