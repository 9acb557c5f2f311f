/* filetest.h: what the suites of file formats and host-side code share
 * (io, data, metrics): a temporary folder for the run, paths in it, small
 * file writers and readers, and checks of error messages. */
#ifndef MEG_TEST_FILETEST_H
#define MEG_TEST_FILETEST_H

#include <check.h>
#include <stddef.h>

/* The folder's path of name, in a rotating static buffer (a few at a time). */
const char *tpath(const char *name);
void write_text(const char *path, const char *text);
void write_bytes(const char *path, const void *p, size_t n);
/* The whole file, malloc'ed; *n gets its size. */
void *read_bytes(const char *path, size_t *n);
/* Fails the test unless rt_error() contains part. */
void assert_error_has(const char *part);
/* Temporary files ("*.tmp.*") left in the folder: atomic writers leave none. */
int leftover_temps(void);
/* Makes the folder, runs the suite (th_run), removes the folder with what
 * is in it; returns the exit status. */
int tf_run(Suite *s);

#endif
