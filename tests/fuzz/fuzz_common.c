/* fuzz_common.c: input files and the scratch folder of the fuzz targets. */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64];

static void init(void)
{
    if (dir[0]) return;
    snprintf(dir, sizeof dir, "/tmp/meg-fuzz-XXXXXX");
    if (!mkdtemp(dir)) abort();
}

const char *fz_input_file(const uint8_t *data, size_t size)
{
    static char path[96];
    init();
    snprintf(path, sizeof path, "%s/input", dir);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) abort();
    return path;
}

const char *fz_scratch(const char *name)
{
    static char path[128];
    init();
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}
