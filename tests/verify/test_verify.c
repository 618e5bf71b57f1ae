/* "monkey sandbox verify" against real backends on this machine: spawn's
 * and none's claims hold and their gaps are found, the lying test backends
 * fail exactly where they lie (and nothing they let live outlives the
 * verification), a missing helper makes probes "not probed", never
 * "FAILED", and the CLI prints, exits and refuses as documented. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <monkey/verify.h>

#include "testutil.h"

static const struct monkey_verify_item *
item(const struct monkey_verify_report *r, const char *name)
{
	for (size_t i = 0; i < r->n_items; i++)
		if (!strcmp(r->items[i].name, name))
			return &r->items[i];
	fail_msg("the report has no item %s", name);
	return NULL;
}

static void dump(const struct monkey_verify_report *r)
{
	for (size_t i = 0; i < r->n_items; i++)
		print_message("#   %-18s %-26s %s -> %s\n", r->items[i].name,
			      monkey_verdict_name(r->items[i].verdict),
			      r->items[i].tried, r->items[i].happened);
}

/* Each name in the NULL-terminated list has verdict v. */
static void expect(const struct monkey_verify_report *r, int v, ...)
{
	va_list ap;
	va_start(ap, v);
	const char *n;
	while ((n = va_arg(ap, const char *))) {
		const struct monkey_verify_item *it = item(r, n);
		if (it->verdict != v) {
			dump(r);
			fail_msg("%s: %s, expected %s (%s)", n,
				 monkey_verdict_name(it->verdict),
				 monkey_verdict_name(v), it->happened);
		}
	}
	va_end(ap);
}

/* The names of the FAILED items, ", "-joined. */
static void failed_names(const struct monkey_verify_report *r, char *buf,
			 size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < r->n_items; i++)
		if (r->items[i].verdict == MONKEY_VERDICT_FAILED)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
				 buf[0] ? ", " : "", r->items[i].name);
}

static struct monkey_verify_report *verify(const char *name, const char *dir,
					   const char *helper)
{
	struct monkey_verify_options o;
	monkey_verify_options_init(&o);
	o.backend_dir = dir;
	o.helper = helper;
	struct monkey_verify_report *r = NULL;
	struct monkey_error err = {0};
	if (monkey_sandbox_verify(name, &o, &r, &err) < 0)
		fail_msg("verify %s: %s", name, err.message);
	return r;
}

/* This program's own TMPDIR, under which every verification it starts
 * makes its probes' directory. */
static char own_tmp[512];

/* Processes whose command line names one of the kill-tree probe's
 * leftovers and whose working directory lies in own_tmp: none may outlive
 * a verification.  Verifications that other programs run meanwhile (in
 * containers too) have leftovers of their own, elsewhere. */
static int in_own_tmp(const char *pid)
{
	char path[300], cwd[1024];
	snprintf(path, sizeof(path), "/proc/%s/cwd", pid);
	ssize_t n = readlink(path, cwd, sizeof(cwd) - 1);
	if (n < 0)
		return 0;
	cwd[n] = '\0';
	size_t len = strlen(own_tmp);
	return !strncmp(cwd, own_tmp, len) && cwd[len] == '/';
}

static int leftovers(void)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[300], buf[256] = "";
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t k = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		for (size_t i = 0; i < k; i++)
			if (!buf[i])
				buf[i] = ' ';
		if (strstr(buf, "leftover-ignterm") ||
		    strstr(buf, "leftover-setsid") ||
		    strstr(buf, "leftover-daemon"))
			n += in_own_tmp(de->d_name);
	}
	if (d)
		closedir(d);
	return n;
}

static void test_spawn_claims_hold_and_its_gaps_are_found(void **s)
{
	(void)s;
	struct monkey_verify_report *r = verify("spawn", NULL, NULL);
	expect(r, MONKEY_VERDICT_VERIFIED, "timeout", "kill-tree", "clean-env",
	       "stdin", "cancel", "memory-rlimit", "cpu-time", "file-size",
	       "open-files", "exit-status", NULL);
	/* Attacks that succeed on a process sandbox: each probe can fail. */
	expect(r, MONKEY_VERDICT_NOT_HOLDS, "network-isolation", "fs-isolation",
	       "read-only-root", "mounts", "pids", NULL);
	expect(r, MONKEY_VERDICT_NOT_PROBED, "image", "pool", "oom-report",
	       NULL);
	assert_int_equal(r->n_failed, 0);
	assert_int_equal(r->n_not_probed, 0);
	assert_true(tu_contains(r->helper, "run at its host path"));
	assert_true(tu_contains(item(r, "fs-isolation")->happened, "/proc/"));
	monkey_verify_report_free(r);
}

static void test_flawed_backend_fails_every_claim(void **s)
{
	(void)s;
	struct monkey_verify_report *r =
	    verify("flawed", tu_modules_dir(), NULL);
	char names[512];
	failed_names(r, names, sizeof(names));
	if (strcmp(names, "network-isolation, stdin, timeout, kill-tree, "
			  "clean-env, cancel, egress-proxy, exit-status")) {
		dump(r);
		fail_msg("FAILED: %s", names);
	}
	assert_true(tu_contains(item(r, "stdin")->happened, "came back"));
	assert_true(tu_contains(item(r, "clean-env")->happened,
				"the command's environment"));
	assert_true(tu_contains(item(r, "exit-status")->happened,
				"a missing program gave 125"));
	assert_true(tu_contains(item(r, "egress-proxy")->happened,
				"a direct connection reached"));
	assert_int_equal(r->n_failed, 8);
	assert_int_equal(leftovers(), 0);
	monkey_verify_report_free(r);
}

static void test_without_the_helper_its_probes_are_not_probed(void **s)
{
	(void)s;
	struct monkey_verify_report *r =
	    verify("spawn", NULL, "/nonexistent/monkey-probe");
	expect(r, MONKEY_VERDICT_NOT_PROBED, "memory-rlimit", "open-files",
	       "cpu", NULL);
	/* The probes with a shell fallback still attack. */
	expect(r, MONKEY_VERDICT_NOT_HOLDS, "pids", NULL);
	expect(r, MONKEY_VERDICT_VERIFIED, "kill-tree", "timeout",
	       "exit-status", NULL);
	assert_int_equal(r->n_failed, 0);
	assert_int_equal(r->n_not_probed, 2);
	assert_true(tu_contains(r->helper, "/nonexistent/monkey-probe"));
	assert_true(tu_contains(item(r, "open-files")->happened,
				"needs the monkey-probe helper"));
	monkey_verify_report_free(r);
}

static void test_what_cannot_be_verified_is_an_error(void **s)
{
	(void)s;
	struct monkey_verify_report *r = NULL;
	struct monkey_error err = {0};
	assert_int_equal(
	    monkey_sandbox_verify("no-such-backend", NULL, &r, &err), -ENOENT);
	assert_true(tu_contains(err.message, "is not installed"));
	assert_int_equal(monkey_sandbox_verify("../spawn", NULL, &r, &err),
			 -EINVAL);
	struct monkey_verify_options o;
	monkey_verify_options_init(&o);
	o.backend_dir = tu_modules_dir();
	assert_true(monkey_sandbox_verify("unavail", &o, &r, &err) < 0);
	assert_true(tu_contains(err.message, "is not available"));
	assert_null(r);
	/* The secret planted for the probes does not stay behind. */
	assert_null(getenv("MONKEY_VERIFY_SECRET"));
}

/* ---- the CLI ---- */

static char env_path[4096];
static char *env_extra[] = {env_path, NULL};

static void monkey(struct tu_run *r, ...)
{
	char *argv[16];
	int n = 0;
	argv[n++] = (char *)tu_monkey();
	va_list ap;
	va_start(ap, r);
	char *a;
	while ((a = va_arg(ap, char *)) && n < 15)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(tu_run(r, NULL, argv, env_extra), 0);
}

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(o, k, &v))
		fail_msg("no field %s", k);
	return v;
}

static void test_cli_liar_fails_exactly_on_its_two_lies(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, "sandbox", "verify", "liar", "--backend-dir",
	       tu_modules_dir(), "--json", NULL);
	if (r.status != 1)
		fail_msg("status %d, stderr %s", r.status, r.err);
	assert_true(tu_contains(r.err, "backend 'liar' does not do what it "
				       "claims: network-isolation, kill-tree "
				       "FAILED"));
	struct json_object *o = json_tokener_parse(r.out);
	if (!o)
		fail_msg("not JSON: %s", r.out);
	assert_false(json_object_get_boolean(get(o, "ok")));
	assert_string_equal(json_object_to_json_string(get(o, "failed")),
			    "[ \"network-isolation\", \"kill-tree\" ]");
	struct json_object *caps = get(o, "capabilities");
	size_t checked = 0;
	for (size_t i = 0; i < json_object_array_length(caps); i++) {
		struct json_object *c = json_object_array_get_idx(caps, i);
		const char *name = json_object_get_string(get(c, "name"));
		const char *v = json_object_get_string(get(c, "verdict"));
		bool lie = !strcmp(name, "network-isolation") ||
			   !strcmp(name, "kill-tree");
		if (!json_object_get_boolean(get(c, "claimed")))
			continue;
		checked++;
		if (strcmp(v, lie ? "failed" : "verified"))
			fail_msg("%s: %s (%s)", name, v,
				 json_object_get_string(get(c, "happened")));
	}
	/* Six claims and exit-status. */
	assert_int_equal(checked, 7);
	json_object_put(o);
	tu_run_free(&r);
	assert_int_equal(leftovers(), 0);
}

/* The line for name in the text report, or fail. */
static const char *line_of(const char *out, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = out; p && *p;
	     p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (!strncmp(p, name, n) && p[n] == ' ')
			return p;
	fail_msg("no line for %s in:\n%s", name, out);
	return NULL;
}

static void test_cli_prints_a_verdict_per_capability(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, "sandbox", "verify", "none", NULL);
	if (r.status != 0)
		fail_msg("status %d, stderr %s", r.status, r.err);
	assert_true(tu_contains(r.out, "backend none ("));
	assert_true(!strncmp(line_of(r.out, "kill-tree"),
			     "kill-tree          verified ", 28));
	assert_true(!strncmp(line_of(r.out, "network-isolation"),
			     "network-isolation  not claimed, does not hold ",
			     46));
	assert_true(!strncmp(line_of(r.out, "pool"),
			     "pool               not claimed, not probed ",
			     43));
	assert_true(!strncmp(line_of(r.out, "exit-status"),
			     "exit-status        verified ", 28));
	/* What happened is on the next line. */
	const char *next = strchr(line_of(r.out, "exit-status"), '\n');
	assert_true(
	    next &&
	    tu_contains(next, "-> exit 3 gave 3, a missing program gave 127"));
	assert_true(tu_contains(
	    r.out, "none: 6 claimed capabilities verified, 0 FAILED, 0 not "
		   "probed"));
	tu_run_free(&r);
}

static void test_cli_usage_errors(void **s)
{
	(void)s;
	struct tu_run r;
	monkey(&r, "sandbox", "verify", NULL);
	assert_int_equal(r.status, 125);
	assert_true(tu_contains(r.err, "give exactly one backend name"));
	tu_run_free(&r);
	monkey(&r, "sandbox", "verify", "no-such-backend", NULL);
	assert_int_equal(r.status, 125);
	assert_true(tu_contains(r.err, "backend 'no-such-backend' is not "
				       "installed"));
	tu_run_free(&r);
	monkey(&r, "sandbox", "list", "--image", "x", NULL);
	assert_int_equal(r.status, 125);
	assert_true(tu_contains(r.err, "--image goes with info and verify"));
	tu_run_free(&r);
	monkey(&r, "sandbox", "--help", NULL);
	assert_int_equal(r.status, 0);
	assert_true(tu_contains(r.out, "monkey sandbox verify NAME"));
	tu_run_free(&r);
}

int main(void)
{
	char *tmp = tu_mkdtemp();
	if (!tmp || strlen(tmp) >= sizeof(own_tmp))
		return 99;
	snprintf(own_tmp, sizeof(own_tmp), "%s", tmp);
	chmod(own_tmp, 0755); /* as /tmp is, for a sandbox's other user */
	setenv("TMPDIR", own_tmp, 1);
	snprintf(
	    env_path, sizeof(env_path),
	    "MONKEY_BACKEND_PATH=%s/plugins/spawn/.libs:%s/plugins/none/.libs",
	    tu_builddir(), tu_builddir());
	setenv("MONKEY_BACKEND_PATH", env_path + strlen("MONKEY_BACKEND_PATH="),
	       1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spawn_claims_hold_and_its_gaps_are_found),
	    cmocka_unit_test(test_flawed_backend_fails_every_claim),
	    cmocka_unit_test(test_without_the_helper_its_probes_are_not_probed),
	    cmocka_unit_test(test_what_cannot_be_verified_is_an_error),
	    cmocka_unit_test(test_cli_liar_fails_exactly_on_its_two_lies),
	    cmocka_unit_test(test_cli_prints_a_verdict_per_capability),
	    cmocka_unit_test(test_cli_usage_errors),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tu_rmrf(own_tmp);
	free(tmp);
	return rc;
}
