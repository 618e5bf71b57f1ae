/* The backend loader: what it loads, from where, and everything it
 * refuses. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "loader.h"
#include "testutil.h"

static int load(const char *dir, const char *name,
		struct monkey_loaded_backend **lb, struct monkey_error *err)
{
	struct monkey_strv dirs = {0};
	monkey_strv_push(&dirs, dir);
	int r = monkey_backend_load(name, &dirs, lb, err);
	monkey_strv_free(&dirs);
	return r;
}

static void expect_refusal(const char *name, int code, const char *needle)
{
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	int r = load(tu_modules_dir(), name, &lb, &err);
	if (r != code || !strstr(err.message, needle))
		fail_msg("loading %s: got %d '%s', wanted %d with '%s'", name,
			 r, err.message, code, needle);
	assert_null(lb);
}

static void test_loads_uninstalled_module_from_build_tree(void **s)
{
	(void)s;
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	assert_int_equal(load(tu_modules_dir(), "reqdump", &lb, &err), 0);
	assert_string_equal(lb->desc.name, "reqdump");
	assert_int_equal(lb->desc.abi_major, MONKEY_BACKEND_ABI_MAJOR);
	assert_true(tu_contains(lb->path, "reqdump.la"));
	monkey_backend_unload(lb);
}

static void test_refuses_name_with_slash(void **s)
{
	(void)s;
	expect_refusal("../modules/reqdump", -EINVAL, "may not contain '/'");
	expect_refusal("/tmp/evil", -EINVAL, "may not contain '/'");
}

static void test_refuses_name_with_dotdot(void **s)
{
	(void)s;
	expect_refusal("..", -EINVAL, "'..'");
	expect_refusal("a..b", -EINVAL, "'..'");
}

static void test_refuses_other_abi_major_naming_both(void **s)
{
	(void)s;
	char want[128];
	snprintf(want, sizeof(want),
		 "built for backend ABI %d.0 but this "
		 "monkey speaks ABI %d.%d",
		 MONKEY_BACKEND_ABI_MAJOR + 1, MONKEY_BACKEND_ABI_MAJOR,
		 MONKEY_BACKEND_ABI_MINOR);
	expect_refusal("badabi", -EPROTO, want);
}

static void test_refuses_descriptor_too_small(void **s)
{
	(void)s;
	expect_refusal("small", -EPROTO, "smaller than the");
}

static void test_refuses_incomplete_descriptor(void **s)
{
	(void)s;
	expect_refusal("incomplete", -EPROTO,
		       "incomplete, its descriptor has no exec");
}

static void test_refuses_module_without_entry_symbol(void **s)
{
	(void)s;
	expect_refusal("noentry", -EPROTO,
		       "does not export the entry symbol monkey_backend_entry");
}

static void test_refuses_module_whose_name_differs(void **s)
{
	(void)s;
	expect_refusal("misnamed", -EPROTO, "calls itself 'othername'");
}

static void test_accepts_newer_minor_with_appended_fields(void **s)
{
	(void)s;
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	assert_int_equal(load(tu_modules_dir(), "future", &lb, &err), 0);
	assert_string_equal(lb->desc.description, "from a later minor ABI");
	monkey_backend_unload(lb);
}

/* Copies the built reqdump object into a fresh directory as NAME.so. */
static char *copy_module(const char *dir, const char *as, mode_t mode)
{
	char src[4096], dst[4096];
	snprintf(src, sizeof(src), "%s/.libs/reqdump.so", tu_modules_dir());
	snprintf(dst, sizeof(dst), "%s/%s.so", dir, as);
	FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
	assert_non_null(in);
	assert_non_null(out);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
	chmod(dst, mode);
	return strdup(dst);
}

static void test_loads_installed_style_so_file(void **s)
{
	(void)s;
	char *dir = tu_mkdtemp();
	free(copy_module(dir, "reqdump", 0755));
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	assert_int_equal(load(dir, "reqdump", &lb, &err), 0);
	assert_true(tu_contains(lb->path, "/reqdump.so"));
	monkey_backend_unload(lb);
	tu_rmrf(dir);
	free(dir);
}

static void test_refuses_group_writable_module(void **s)
{
	(void)s;
	char *dir = tu_mkdtemp();
	char *path = copy_module(dir, "reqdump", 0775);
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	assert_int_equal(load(dir, "reqdump", &lb, &err), -EPERM);
	assert_true(tu_contains(err.message, "is writable by its group"));
	assert_true(tu_contains(err.message, "chmod go-w"));
	chmod(path, 0757);
	assert_int_equal(load(dir, "reqdump", &lb, &err), -EPERM);
	assert_true(tu_contains(err.message, "is writable by everyone"));
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void test_refuses_symlinked_module(void **s)
{
	(void)s;
	char *dir = tu_mkdtemp();
	char *path = copy_module(dir, "real", 0755);
	char link[4096];
	snprintf(link, sizeof(link), "%s/reqdump.so", dir);
	assert_int_equal(symlink(path, link), 0);
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	assert_int_equal(load(dir, "reqdump", &lb, &err), -EPERM);
	assert_true(tu_contains(err.message, "is not a regular file"));
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void test_refuses_directory_named_like_module(void **s)
{
	(void)s;
	char *dir = tu_mkdtemp();
	char sub[4096];
	snprintf(sub, sizeof(sub), "%s/reqdump.so", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	assert_int_equal(load(dir, "reqdump", &lb, &err), -EPERM);
	assert_true(tu_contains(err.message, "is not a regular file"));
	tu_rmrf(dir);
	free(dir);
}

static void test_unknown_name_lists_backends_and_dirs(void **s)
{
	(void)s;
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	assert_int_equal(load(tu_modules_dir(), "nosuch", &lb, &err), -ENOENT);
	assert_true(
	    tu_contains(err.message, "backend 'nosuch' is not installed"));
	assert_true(tu_contains(err.message, tu_modules_dir()));
	assert_true(tu_contains(err.message, "reqdump"));
	assert_true(tu_contains(err.message, "future"));
}

static void test_search_path_order(void **s)
{
	(void)s;
	setenv("MONKEY_BACKEND_PATH", "/env/one::/env/two", 1);
	struct monkey_strv dirs = {0};
	assert_int_equal(monkey_backend_search_path("/cli/dir", &dirs), 0);
	assert_int_equal(dirs.n, 4);
	assert_string_equal(dirs.v[0], "/cli/dir");
	assert_string_equal(dirs.v[1], "/env/one");
	assert_string_equal(dirs.v[2], "/env/two");
	assert_string_equal(dirs.v[3], MONKEY_BACKEND_DIR);
	monkey_strv_free(&dirs);
}

static void test_first_directory_wins(void **s)
{
	(void)s;
	char *dir = tu_mkdtemp();
	free(copy_module(dir, "reqdump", 0755));
	struct monkey_strv dirs = {0};
	monkey_strv_push(&dirs, dir);
	monkey_strv_push(&dirs, tu_modules_dir());
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	assert_int_equal(monkey_backend_load("reqdump", &dirs, &lb, &err), 0);
	assert_true(strncmp(lb->path, dir, strlen(dir)) == 0);
	monkey_backend_unload(lb);
	monkey_strv_free(&dirs);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loads_uninstalled_module_from_build_tree),
	    cmocka_unit_test(test_loads_installed_style_so_file),
	    cmocka_unit_test(test_refuses_name_with_slash),
	    cmocka_unit_test(test_refuses_name_with_dotdot),
	    cmocka_unit_test(test_refuses_other_abi_major_naming_both),
	    cmocka_unit_test(test_refuses_descriptor_too_small),
	    cmocka_unit_test(test_refuses_incomplete_descriptor),
	    cmocka_unit_test(test_refuses_module_without_entry_symbol),
	    cmocka_unit_test(test_refuses_module_whose_name_differs),
	    cmocka_unit_test(test_accepts_newer_minor_with_appended_fields),
	    cmocka_unit_test(test_refuses_group_writable_module),
	    cmocka_unit_test(test_refuses_symlinked_module),
	    cmocka_unit_test(test_refuses_directory_named_like_module),
	    cmocka_unit_test(test_unknown_name_lists_backends_and_dirs),
	    cmocka_unit_test(test_search_path_order),
	    cmocka_unit_test(test_first_directory_wins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
