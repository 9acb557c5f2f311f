/* devices.c: `meg-bench list-devices` (or --list-devices), the Vulkan
 * devices, without creating one; and the device row of every report. */
#include "bench.h"

void bench_device_row(bench_row *row, const rt_device_info *d)
{
    bench_row_init(row, NULL, "devices");
    bench_int(row, "index", "index", "5", d->index);
    bench_str(row, "name", "name", "40", d->name);
    bench_str(row, "type", "type", "10", d->type_name);
    bench_str(row, "driver", "driver", "36", d->driver);
    bench_unit(bench_int(row, "memory_bytes", "memory", "6.1", (long long)d->memory), "GiB", 1.0 / (1 << 30));
    bench_int(row, "subgroup_size", NULL, NULL, d->subgroup_size);
}

int bench_devices(const bench_opts *o, bench_report *rep, rt_ctx *unused)
{
    (void)o;
    (void)unused;
    rt_device_info d[16];
    int n = 0;
    if (rt_list_devices(d, 16, &n)) {
        fprintf(stderr, "%s: %s\n", BENCH_PROG, rt_error());
        return 1;
    }
    for (int i = 0; i < n && i < 16; i++) {
        bench_row row;
        bench_device_row(&row, &d[i]);
        bench_add(rep, &row);
    }
    return 0;
}
