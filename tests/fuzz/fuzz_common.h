/* fuzz_common.h: what the libFuzzer targets share: the input as a file
 * (the readers take paths) and a scratch folder for what they write. */
#ifndef MEG_FUZZ_COMMON_H
#define MEG_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* The path of a file holding data[0..size) (rewritten for each input). */
const char *fz_input_file(const uint8_t *data, size_t size);
/* name inside the run's scratch folder. */
const char *fz_scratch(const char *name);

#endif
