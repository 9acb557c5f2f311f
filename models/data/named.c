/* named.c: the image data sets known by name (mnist, fashion and the
 * StackedMNIST pools over mnist), the data folder they live in, and where
 * in it each split's files are. tools/data fetches them into the same
 * folder; its default here and there must agree. */
#include "data.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *meg_dataset_image_names(void) { return "mnist, fashion, stackedmnist3, stackedmnist4"; }

int meg_stacked_name_k(const char *name)
{
    if (!name)
        return 0;
    if (!strcmp(name, "stackedmnist3"))
        return 3;
    if (!strcmp(name, "stackedmnist4"))
        return 4;
    return 0;
}

int meg_dataset_is_image_name(const char *name)
{
    return name && (!strcmp(name, "mnist") || !strcmp(name, "fashion") || meg_stacked_name_k(name));
}

int meg_data_dir(char *buf, size_t n, const char *override)
{
    const char *env = getenv("MEG_DATA_DIR");
    char cache[4096];
    int k;
    if (n)
        buf[0] = 0;
    if (override) {
        if (!*override) {
            rt_set_error("the data folder's name is empty");
            return -1;
        }
        k = snprintf(buf, n, "%s", override);
    } else if (env && *env) {
        k = snprintf(buf, n, "%s", env);
    } else {
        if (rt_cache_dir(cache, sizeof cache)) {
            rt_set_error("no data folder: neither MEG_DATA_DIR nor XDG_CACHE_HOME nor HOME is set "
                         "(or the path is too long)");
            return -1;
        }
        k = snprintf(buf, n, "%s/data", cache);
    }
    if (k < 0 || (size_t)k >= n) {
        if (n)
            buf[0] = 0;
        rt_set_error("the data folder's path is too long (%d bytes)", k);
        return -1;
    }
    return 0;
}

/* dir/set/file, or that with .gz, whichever exists (the raw file first: it
 * reads faster); an error naming both and the command that fetches them. */
static int find_file(char *out, size_t n, const char *dir, const char *set, const char *file,
                     const char *override)
{
    struct stat st;
    if (snprintf(out, n, "%s/%s/%s", dir, set, file) >= (int)n) {
        rt_set_error("%s: path too long in the data folder %.200s", file, dir);
        return -1;
    }
    if (!stat(out, &st))
        return 0;
    strcat(out, ".gz");   /* fits: n leaves room for it (the caller's buffer) */
    if (!stat(out, &st))
        return 0;
    out[strlen(out) - 3] = 0;
    rt_set_error("%s: no such file (nor with .gz): fetch the set with `tools/data %s%s%s`", out, set,
                 override ? " --data-dir " : "", override ? override : "");
    return -1;
}

int meg_dataset_named(meg_dataset *d, const char *name, const char *split, const char *data_dir)
{
    memset(d, 0, sizeof *d);
    if (meg_stacked_name_k(name)) {
        rt_set_error("%s is not a set of files: its pool is built from mnist's training digits "
                     "(meg_dataset_named mnist train, then meg_stacked_new)", name);
        return -1;
    }
    if (!name || (strcmp(name, "mnist") && strcmp(name, "fashion"))) {
        char shown[176];
        rt_set_error("unknown image data set '%s' (known: mnist, fashion)",
                     name ? rt_escape(name, 40, shown, sizeof shown) : "(null)");
        return -1;
    }
    int train = split && !strcmp(split, "train");
    if (!train && !(split && !strcmp(split, "test"))) {
        char shown[176];
        rt_set_error("%s: unknown split '%s' (train or test)", name,
                     split ? rt_escape(split, 40, shown, sizeof shown) : "(null)");
        return -1;
    }
    char dir[4096], images[4200], labels[4200];
    if (meg_data_dir(dir, sizeof dir, data_dir))
        return -1;
    const char *prefix = train ? "train" : "t10k";
    char file[64];
    snprintf(file, sizeof file, "%s-images-idx3-ubyte", prefix);
    if (find_file(images, sizeof images - 3, dir, name, file, data_dir))
        return -1;
    snprintf(file, sizeof file, "%s-labels-idx1-ubyte", prefix);
    if (find_file(labels, sizeof labels - 3, dir, name, file, data_dir))
        return -1;
    if (meg_dataset_idx(d, images, labels))
        return -1;
    char *nm = strdup(name);
    if (!nm) {
        rt_set_error("out of host memory");
        meg_dataset_free(d);
        return -1;
    }
    free(d->name);
    d->name = nm;
    return 0;
}
