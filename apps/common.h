/* common.h: what the programs share (device flag, context, JSON strings,
 * timing). Not a library header: only apps/ includes it. */
#ifndef MEG_APPS_COMMON_H
#define MEG_APPS_COMMON_H

#include <stdio.h>
#include "runtime.h"

/* Creates the context for --device (NULL: $MEG_DEVICE or the best) and
 * prints the error itself on failure. */
rt_ctx *app_open_device(const char *prog, const char *device);
double app_now(void);                     /* seconds, monotonic */
void app_json_string(FILE *f, const char *s);
void app_json_device(FILE *f, const rt_device_info *d);
int app_parse_int(const char *prog, const char *flag, const char *s, long lo, long hi, long *out);
int app_parse_float(const char *prog, const char *flag, const char *s, double *out);

#endif
