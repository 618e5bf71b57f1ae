/* The backend loader: what it loads, from where, and everything it
 * refuses; that what it loads is the file it checked; that both hosts
 * tell a module where it was loaded from. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <monkey/exec.h>
#include <monkey/sandbox.h>

#include "loader.h"
#include "testutil.h"

/* Allocation failures on demand: the nth strdup or strndup from now on
 * fails (0: none).  The library is linked into this program
 * (libmonkey-internal), so its calls come here. */
static int alloc_fail_in;

static int alloc_fails(void)
{
	if (alloc_fail_in <= 0 || --alloc_fail_in > 0)
		return 0;
	errno = ENOMEM;
	return 1;
}

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = alloc_fails() ? NULL : malloc(n);
	return d ? memcpy(d, s, n) : NULL;
}

char *strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *d = alloc_fails() ? NULL : malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

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
	assert_true(tu_contains(lb->path, "/.libs/reqdump.so"));
	assert_true(tu_contains(lb->real_path, "/.libs/reqdump.so"));
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

/* Copies the built reqdump object into a directory as NAME.so (a new file,
 * whatever was there: never written through a symlink). */
static char *copy_module(const char *dir, const char *as, mode_t mode)
{
	char src[4096], dst[4096];
	snprintf(src, sizeof(src), "%s/reqdump.so", tu_modules_dir());
	snprintf(dst, sizeof(dst), "%s/%s.so", dir, as);
	unlink(dst);
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
	unsetenv("MONKEY_BACKEND_PATH_ONLY");
	setenv("MONKEY_BACKEND_PATH", "/env/one::/env/two", 1);
	struct monkey_strv dirs = {0};
	struct monkey_error err = {0};
	assert_int_equal(monkey_backend_search_path("/cli/dir", &dirs, &err),
			 0);
	assert_int_equal(dirs.n, 4);
	assert_string_equal(dirs.v[0], "/cli/dir");
	assert_string_equal(dirs.v[1], "/env/one");
	assert_string_equal(dirs.v[2], "/env/two");
	assert_string_equal(dirs.v[3], MONKEY_BACKEND_DIR);
	monkey_strv_free(&dirs);
	unsetenv("MONKEY_BACKEND_PATH");
	setenv("MONKEY_BACKEND_PATH_ONLY", "1", 1);
}

/* make check sets it: a monkey installed in the configured prefix must not
 * stand in for a backend the build left out. */
static void test_path_only_drops_the_built_in_directory(void **s)
{
	(void)s;
	setenv("MONKEY_BACKEND_PATH", "/env/one", 1);
	const char *keep[] = {"0", ""}; /* and unset: above */
	for (size_t i = 0; i < 2; i++) {
		setenv("MONKEY_BACKEND_PATH_ONLY", keep[i], 1);
		struct monkey_strv dirs = {0};
		struct monkey_error err = {0};
		assert_int_equal(monkey_backend_search_path(NULL, &dirs, &err),
				 0);
		assert_int_equal(dirs.n, 2);
		assert_string_equal(dirs.v[1], MONKEY_BACKEND_DIR);
		monkey_strv_free(&dirs);
	}
	setenv("MONKEY_BACKEND_PATH_ONLY", "1", 1);
	struct monkey_strv dirs = {0};
	struct monkey_error err = {0};
	assert_int_equal(monkey_backend_search_path("/cli/dir", &dirs, &err),
			 0);
	assert_int_equal(dirs.n, 2);
	assert_string_equal(dirs.v[0], "/cli/dir");
	assert_string_equal(dirs.v[1], "/env/one");
	monkey_strv_free(&dirs);
	unsetenv("MONKEY_BACKEND_PATH");
	struct monkey_loaded_backend *lb = NULL;
	assert_int_equal(monkey_backend_search_path(NULL, &dirs, &err), 0);
	assert_int_equal(dirs.n, 0);
	assert_int_equal(monkey_backend_load("spawn", &dirs, &lb, &err),
			 -ENOENT);
	assert_true(tu_contains(err.message, "looked in no directory: "
					     "MONKEY_BACKEND_PATH_ONLY=1"));
	monkey_strv_free(&dirs);
}

/* A typo must not quietly bring the installed backends back. */
static void test_path_only_refuses_other_values(void **s)
{
	(void)s;
	setenv("MONKEY_BACKEND_PATH_ONLY", "yes", 1);
	struct monkey_strv dirs = {0};
	struct monkey_error err = {0};
	assert_int_equal(monkey_backend_search_path(NULL, &dirs, &err),
			 -EINVAL);
	assert_true(tu_contains(err.message, "MONKEY_BACKEND_PATH_ONLY='yes'"));
	monkey_strv_free(&dirs);
	setenv("MONKEY_BACKEND_PATH_ONLY", "1", 1);
}

/* The backends a distribution packages on their own name their package
 * (configure --with-backend-package); a third-party name does not. */
static void test_missing_optional_backend_names_its_package(void **s)
{
	(void)s;
	const char *fmt = MONKEY_BACKEND_PACKAGE;
	const char *at = strstr(fmt, "%s");
	const char *names[] = {"docker", "rootless"};
	for (size_t i = 0; i < 2; i++) {
		struct monkey_loaded_backend *lb = NULL;
		struct monkey_error err = {0};
		assert_int_equal(load(tu_modules_dir(), names[i], &lb, &err),
				 -ENOENT);
		char want[512];
		snprintf(want, sizeof(want), "; install it with: %s %.*s%s%s",
			 MONKEY_PACKAGE_INSTALL, at ? (int)(at - fmt) : 0, fmt,
			 names[i], at ? at + 2 : "");
		if (at)
			assert_true(tu_contains(err.message, want));
		else
			assert_false(tu_contains(err.message, "install it"));
	}
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	assert_int_equal(load(tu_modules_dir(), "kubernetes", &lb, &err),
			 -ENOENT);
	assert_false(tu_contains(err.message, "install it"));
}

/* The working directory is the workspace, which commands can write. */
static void test_refuses_relative_backend_dir(void **s)
{
	(void)s;
	unsetenv("MONKEY_BACKEND_PATH");
	const char *rel[] = {"plugins", "./plugins", "../x"};
	for (size_t i = 0; i < 3; i++) {
		struct monkey_strv dirs = {0};
		struct monkey_error err = {0};
		assert_int_equal(
		    monkey_backend_search_path(rel[i], &dirs, &err), -EINVAL);
		assert_true(tu_contains(err.message, rel[i]));
		assert_true(tu_contains(err.message, "--backend-dir"));
		assert_true(tu_contains(err.message, "not an absolute path"));
		monkey_strv_free(&dirs);
	}
}

static void test_refuses_relative_backend_path_entry(void **s)
{
	(void)s;
	setenv("MONKEY_BACKEND_PATH", "/abs/one:rel/two", 1);
	struct monkey_strv dirs = {0};
	struct monkey_error err = {0};
	assert_int_equal(monkey_backend_search_path(NULL, &dirs, &err),
			 -EINVAL);
	assert_true(tu_contains(err.message, "'rel/two'"));
	assert_true(tu_contains(err.message, "MONKEY_BACKEND_PATH"));
	monkey_strv_free(&dirs);
	unsetenv("MONKEY_BACKEND_PATH");
}

/* Through the CLI: exec and sandbox list say what is wrong (125). */
static void test_cli_refuses_relative_backend_dirs(void **s)
{
	(void)s;
	char *ws = tu_mkdtemp();
	char *exec_argv[] = {
	    (char *)tu_monkey(), "exec", "--workspace", ws,  "--backend-dir",
	    "plugins",		 "--",	 "true",	NULL};
	char *env[] = {"MONKEY_BACKEND_PATH=", NULL};
	struct tu_run r;
	assert_int_equal(tu_run(&r, NULL, exec_argv, env), 0);
	assert_int_equal(r.status, 125);
	assert_true(tu_contains(r.err, "'plugins' (--backend-dir)"));
	tu_run_free(&r);
	char *list_argv[] = {(char *)tu_monkey(), "sandbox", "list", NULL};
	char *env2[] = {"MONKEY_BACKEND_PATH=plugins/spawn/.libs", NULL};
	assert_int_equal(tu_run(&r, NULL, list_argv, env2), 0);
	assert_int_equal(r.status, 125);
	assert_true(tu_contains(r.err, "MONKEY_BACKEND_PATH"));
	tu_run_free(&r);
	tu_rmrf(ws);
	free(ws);
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

/* A .la names its object somewhere else (libdir=, dlname=), a place never
 * checked: today it is no module at all.  The attack: a .la whose libdir
 * leads to a world-writable module. */
static void test_la_file_alone_is_no_module(void **s)
{
	(void)s;
	char *dir = tu_mkdtemp(), *elsewhere = tu_mkdtemp();
	char *evil = copy_module(elsewhere, "reqdump", 0666);
	char la[PATH_MAX], text[2 * PATH_MAX];
	snprintf(la, sizeof(la), "%s/reqdump.la", dir);
	snprintf(text, sizeof(text),
		 "dlname='reqdump.so'\nlibrary_names='reqdump.so'\n"
		 "installed=yes\nlibdir='%s'\n",
		 elsewhere);
	tu_write_file(la, text);
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	assert_int_equal(load(dir, "reqdump", &lb, &err), -ENOENT);
	assert_null(lb);
	assert_true(tu_contains(err.message, "not installed"));
	struct monkey_strv dirs = {0}, names = {0}, paths = {0};
	monkey_strv_push(&dirs, dir);
	monkey_backend_scan(&dirs, &names, &paths);
	assert_int_equal(names.n, 0);
	monkey_strv_free(&dirs);
	monkey_strv_free(&names);
	monkey_strv_free(&paths);
	tu_rmrf(dir);
	tu_rmrf(elsewhere);
	free(dir);
	free(elsewhere);
	free(evil);
}

static void test_refuses_module_of_another_user(void **s)
{
	(void)s;
	if (geteuid() != 0)
		skip(); /* only root can give a file away */
	char *dir = tu_mkdtemp();
	char *path = copy_module(dir, "reqdump", 0755);
	assert_int_equal(chown(path, 65534, 65534), 0);
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	assert_int_equal(load(dir, "reqdump", &lb, &err), -EPERM);
	assert_true(tu_contains(err.message, "belongs to uid 65534"));
	assert_true(tu_contains(err.message, "neither root nor you"));
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void test_refuses_module_in_a_directory_others_can_write(void **s)
{
	(void)s;
	char *dir = tu_mkdtemp();
	free(copy_module(dir, "reqdump", 0755));
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	chmod(dir, 0775);
	assert_int_equal(load(dir, "reqdump", &lb, &err), -EPERM);
	assert_true(tu_contains(err.message, "its directory"));
	assert_true(tu_contains(err.message, "is writable by its group"));
	chmod(dir, 0757);
	assert_int_equal(load(dir, "reqdump", &lb, &err), -EPERM);
	assert_true(tu_contains(err.message, "is writable by everyone"));
	/* Sticky helps only when root owns the directory. */
	chmod(dir, 01777);
	int r = load(dir, "reqdump", &lb, &err);
	if (geteuid() == 0) {
		assert_int_equal(r, 0);
		monkey_backend_unload(lb);
	} else {
		assert_int_equal(r, -EPERM);
	}
	chmod(dir, 0700);
	tu_rmrf(dir);
	free(dir);
}

/* Between the checks and the load, the file at the path is replaced: with
 * a file that is no module (the loader would fail on it, or on a module
 * anything else could be in its place), and with a symlink to one.  What
 * was checked is what loads. */
static char *swap_src;
static void swap_file(const char *path)
{
	if (rename(swap_src, path) < 0)
		fail_msg("rename %s: %s", swap_src, strerror(errno));
}

static void test_file_swapped_after_the_check_is_not_what_loads(void **s)
{
	(void)s;
	char *dir = tu_mkdtemp();
	char other[PATH_MAX], junk[PATH_MAX];
	snprintf(other, sizeof(other), "%s/other", dir);
	snprintf(junk, sizeof(junk), "%s/junk.so", dir);
	tu_write_file(junk, "not an ELF object\n");
	for (int i = 0; i < 2; i++) {
		free(copy_module(dir, "reqdump", 0755));
		if (i == 0)
			tu_write_file(other, "not an ELF object\n");
		else
			assert_int_equal(symlink(junk, other), 0);
		swap_src = other;
		monkey_loader_checked_hook = swap_file;
		struct monkey_loaded_backend *lb = NULL;
		struct monkey_error err = {0};
		int r = load(dir, "reqdump", &lb, &err);
		monkey_loader_checked_hook = NULL;
		if (r != 0)
			fail_msg("swap %d: %d %s", i, r, err.message);
		assert_string_equal(lb->desc.name, "reqdump");
		monkey_backend_unload(lb);
	}
	tu_rmrf(dir);
	free(dir);
}

/* host.module_path, from both hosts, is the real path of the file that was
 * checked: with the directory's symlinks resolved, not /proc/self/fd/N. */
static void test_both_hosts_say_where_the_module_is(void **s)
{
	(void)s;
	char *dir = tu_mkdtemp();
	free(copy_module(dir, "reqdump", 0755));
	char *real = realpath(dir, NULL);
	char link[PATH_MAX], want[PATH_MAX], line[PATH_MAX + 16];
	snprintf(link, sizeof(link), "%s-link", dir);
	assert_int_equal(symlink(dir, link), 0);
	snprintf(want, sizeof(want), "%s/reqdump.so", real);
	snprintf(line, sizeof(line), "module=%s\n", want);

	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	assert_int_equal(load(link, "reqdump", &lb, &err), 0);
	assert_string_equal(lb->real_path, want);
	assert_true(strncmp(lb->path, link, strlen(link)) == 0);
	monkey_backend_unload(lb);

	/* sandbox info: reqdump's probe fails without a module_path. */
	struct monkey_backend_status st;
	assert_int_equal(monkey_sandbox_info(link, "reqdump", &st, &err), 0);
	if (!st.available)
		fail_msg("sandbox info: %s", st.reason);
	monkey_backend_status_free(&st, 1);

	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	o.sandbox = "reqdump";
	o.backend_dir = link;
	o.workspace = dir;
	o.no_fallback = true;
	struct monkey_executor *ex = NULL;
	if (monkey_executor_open(&o, &ex, &err) < 0)
		fail_msg("executor: %s", err.message);
	const char *argv[] = {"x", NULL};
	struct monkey_command cmd = {.argv = argv};
	struct monkey_result res;
	assert_int_equal(monkey_executor_run(ex, &cmd, &res, &err), 0);
	char *out = monkey_capture_join(&res.out, NULL);
	if (!tu_contains(out, line))
		fail_msg("no '%s' in:\n%s", line, out);
	free(out);
	monkey_result_free(&res);
	monkey_executor_close(ex);
	unlink(link);
	tu_rmrf(dir);
	free(dir);
	free(real);
}

/* A module the program also opened by its path stays mapped after the
 * loader unloads it, under the "/proc/self/fd/N" name as an alias.  The
 * next module, opened on the same descriptor number, must still be
 * itself, not the one that name used to mean. */
static void test_a_reused_descriptor_name_loads_the_new_module(void **s)
{
	(void)s;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/reqdump.so", tu_modules_dir());
	void *pin = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(pin);
	struct monkey_loaded_backend *lb = NULL;
	struct monkey_error err = {0};
	assert_int_equal(load(tu_modules_dir(), "reqdump", &lb, &err), 0);
	int first_fd = lb->fd;
	monkey_backend_unload(lb);
	lb = NULL;
	if (load(tu_modules_dir(), "unavail", &lb, &err) < 0)
		fail_msg("loading unavail after reqdump: %s", err.message);
	assert_string_equal(lb->desc.name, "unavail");
	print_message("reqdump had fd %d, unavail has %d\n", first_fd, lb->fd);
	monkey_backend_unload(lb);
	dlclose(pin);
}

/* Memory running out at any allocation of a scan: it fails, or it finds
 * every module; names[i] is found at paths[i] either way. */
static void test_scan_out_of_memory_keeps_names_and_paths_aligned(void **s)
{
	(void)s;
	struct monkey_strv dirs = {0}, all = {0}, all_paths = {0};
	monkey_strv_push(&dirs, tu_modules_dir());
	assert_int_equal(monkey_backend_scan(&dirs, &all, &all_paths), 0);
	assert_true(all.n > 2);
	for (int k = 1; k <= 2 * (int)all.n + 2; k++) {
		struct monkey_strv names = {0}, paths = {0};
		alloc_fail_in = k;
		int r = monkey_backend_scan(&dirs, &names, &paths);
		int injected = alloc_fail_in == 0;
		alloc_fail_in = 0;
		if (r != 0 && r != -ENOMEM)
			fail_msg("allocation %d failing: scan returned %d", k,
				 r);
		if (r == 0 && names.n != all.n)
			fail_msg("allocation %d failing: scan found %zu of "
				 "%zu modules and said nothing",
				 k, names.n, all.n);
		if (!injected)
			assert_int_equal(r, 0);
		assert_int_equal(names.n, paths.n);
		for (size_t i = 0; i < names.n; i++) {
			char tail[256];
			snprintf(tail, sizeof(tail), "/%s.so", names.v[i]);
			size_t tl = strlen(tail), pl = strlen(paths.v[i]);
			if (pl < tl || strcmp(paths.v[i] + pl - tl, tail))
				fail_msg("allocation %d failing: %s is "
					 "listed at %s",
					 k, names.v[i], paths.v[i]);
		}
		monkey_strv_free(&names);
		monkey_strv_free(&paths);
	}
	monkey_strv_free(&all);
	monkey_strv_free(&all_paths);
	monkey_strv_free(&dirs);
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
	    cmocka_unit_test(test_path_only_drops_the_built_in_directory),
	    cmocka_unit_test(test_path_only_refuses_other_values),
	    cmocka_unit_test(test_missing_optional_backend_names_its_package),
	    cmocka_unit_test(test_refuses_relative_backend_dir),
	    cmocka_unit_test(test_refuses_relative_backend_path_entry),
	    cmocka_unit_test(test_cli_refuses_relative_backend_dirs),
	    cmocka_unit_test(test_la_file_alone_is_no_module),
	    cmocka_unit_test(test_refuses_module_of_another_user),
	    cmocka_unit_test(
		test_refuses_module_in_a_directory_others_can_write),
	    cmocka_unit_test(
		test_file_swapped_after_the_check_is_not_what_loads),
	    cmocka_unit_test(test_both_hosts_say_where_the_module_is),
	    cmocka_unit_test(
		test_a_reused_descriptor_name_loads_the_new_module),
	    cmocka_unit_test(test_first_directory_wins),
	    cmocka_unit_test(
		test_scan_out_of_memory_keeps_names_and_paths_aligned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
