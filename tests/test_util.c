/* test_util.c: the Vulkan-free helpers of runtime/util.h (errors, mkdir -p,
 * the cache folder, atomic writes). No device needed. */
#include "filetest.h"
#include "util.h"

#include <check.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The first bytes of a file, as a string. */
static char *slurp(const char *path)
{
    static char buf[256];
    size_t n;
    char *p = read_bytes(path, &n);
    snprintf(buf, sizeof buf, "%.*s", (int)n, p);
    free(p);
    return buf;
}

START_TEST(error_prefix_prepends_context)
{
    rt_set_error("bad shape [%d]", 3);
    rt_error_prefix("layer %s", "E.w0");
    ck_assert_str_eq(rt_error(), "layer E.w0: bad shape [3]");
}
END_TEST

START_TEST(mkdirs_makes_every_level_and_refuses_a_file)
{
    ck_assert_int_eq(rt_mkdirs(tpath("a/b/c")), 0);
    struct stat st;
    ck_assert_int_eq(stat(tpath("a/b/c"), &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(rt_mkdirs(tpath("a/b/c")), 0);   /* exists: fine */
    FILE *f = fopen(tpath("file"), "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(rt_mkdirs(tpath("file")), -1);
    ck_assert_ptr_nonnull(strstr(rt_error(), "not a folder"));
    ck_assert_int_eq(rt_mkdirs(tpath("file/sub")), -1);
    ck_assert_ptr_nonnull(strstr(rt_error(), "file"));
    ck_assert_int_eq(rt_mkdirs(""), -1);
}
END_TEST

START_TEST(cache_dir_follows_xdg_then_home)
{
    char buf[512];
    setenv("XDG_CACHE_HOME", "/x/cache", 1);
    ck_assert_int_eq(rt_cache_dir(buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "/x/cache/meg");
    setenv("XDG_CACHE_HOME", "", 1);
    setenv("HOME", "/h", 1);
    ck_assert_int_eq(rt_cache_dir(buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "/h/.cache/meg");
    ck_assert_int_eq(rt_cache_dir(buf, 4), -1);   /* does not fit */
    unsetenv("HOME");
    ck_assert_int_eq(rt_cache_dir(buf, sizeof buf), -1);
}
END_TEST

START_TEST(atomic_write_replaces_whole_and_leaves_no_temp)
{
    const char *p = tpath("out.txt");
    ck_assert_int_eq(rt_write_file_atomic(p, "old", 3, 0), 0);
    ck_assert_int_eq(rt_write_file_atomic(p, "new data", 8, 0), 0);
    ck_assert_str_eq(slurp(p), "new data");
    ck_assert_int_eq(rt_write_file_atomic(tpath("deep/er/x.bin"), "x", 1, RT_WRITE_MKDIRS | RT_WRITE_CACHE), 0);
    ck_assert_str_eq(slurp(tpath("deep/er/x.bin")), "x");
    ck_assert_int_eq(rt_write_file_atomic(tpath("no/such/x.bin"), "x", 1, 0), -1);
    ck_assert_ptr_nonnull(strstr(rt_error(), "no/such/x.bin"));
    ck_assert_int_eq(leftover_temps(), 0);
}
END_TEST

/* A link planted at the temporary name is neither followed nor replaced. */
START_TEST(atomic_open_never_follows_a_planted_link)
{
    const char *p = tpath("victim.txt"), *target = tpath("target.txt");
    FILE *f = fopen(target, "w");
    ck_assert_ptr_nonnull(f);
    fputs("precious", f);
    fclose(f);
    char planted[600];
    /* the name the writer used before (<path>.tmp.<pid>, opened with
     * fopen("wb"): it followed the link) and the ones it may use now */
    snprintf(planted, sizeof planted, "%s.tmp.%ld", p, (long)getpid());
    ck_assert_int_eq(symlink(target, planted), 0);
    for (int k = 0; k < 2; k++) {
        snprintf(planted, sizeof planted, "%s.tmp.%ld.%d", p, (long)getpid(), k);
        ck_assert_int_eq(symlink(target, planted), 0);
    }
    ck_assert_int_eq(rt_write_file_atomic(p, "fresh", 5, 0), 0);
    ck_assert_str_eq(slurp(target), "precious");
    ck_assert_str_eq(slurp(p), "fresh");
    struct stat st;
    ck_assert_int_eq(lstat(p, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_int_eq(st.st_mode & 0022, 0);   /* 0644 before the umask */
    for (int k = -1; k < 2; k++) {
        if (k < 0) snprintf(planted, sizeof planted, "%s.tmp.%ld", p, (long)getpid());
        else snprintf(planted, sizeof planted, "%s.tmp.%ld.%d", p, (long)getpid(), k);
        ck_assert_int_eq(lstat(planted, &st), 0);   /* left alone */
        ck_assert(S_ISLNK(st.st_mode));
        unlink(planted);
    }
}
END_TEST

START_TEST(atomic_abort_removes_the_temporary_file)
{
    rt_atomic_file af;
    const char *p = tpath("aborted.txt");
    ck_assert_int_eq(rt_atomic_open(&af, p), 0);
    ck_assert_int_eq(rt_atomic_write(&af, "abc", 3), 0);
    rt_atomic_abort(&af);
    ck_assert_int_eq(access(p, F_OK), -1);
    ck_assert_int_eq(leftover_temps(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("util");
    tcase_add_test(tc, error_prefix_prepends_context);
    tcase_add_test(tc, mkdirs_makes_every_level_and_refuses_a_file);
    tcase_add_test(tc, cache_dir_follows_xdg_then_home);
    tcase_add_test(tc, atomic_write_replaces_whole_and_leaves_no_temp);
    tcase_add_test(tc, atomic_open_never_follows_a_planted_link);
    tcase_add_test(tc, atomic_abort_removes_the_temporary_file);
    suite_add_tcase(s, tc);
    return tf_run(s);
}
