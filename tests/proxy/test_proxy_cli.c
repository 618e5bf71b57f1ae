/* Proxy mode through the monkey program: --allow-domain and
 * --proxy-resolve with the docker backend against Docker and podman (an
 * allowed name answers busybox wget, another gets the 403 text, a direct
 * connection to the host's server fails, --json and -v list each
 * decision, nothing is left behind), and the backends that cannot
 * enforce it (a warning; --strict refuses).  Servers listen on the host's
 * 127.0.0.1 and names are pinned to them: nothing leaves the machine. */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "cleanup.h"
#include "proxy_harness.h"
#include "testutil.h"

static struct ph_server *web;
static char *workspace, *tmpdir;
static char allow_rule[64], deny_url[96], allow_url[96], direct_url[96];

static bool required(void)
{
	const char *ci = getenv("CI"), *req = getenv("MONKEY_REQUIRE_DOCKER");
	return (ci && !strcmp(ci, "true")) || (req && !strcmp(req, "1"));
}

static int setup(void **state)
{
	(void)state;
	web = ph_server_start(PH_HTTP);
	unsigned port = ph_server_port(web);
	snprintf(allow_rule, sizeof(allow_rule), "allowed.test:%u", port);
	snprintf(allow_url, sizeof(allow_url), "http://allowed.test:%u/", port);
	snprintf(deny_url, sizeof(deny_url), "http://denied.test:%u/", port);
	snprintf(direct_url, sizeof(direct_url), "http://127.0.0.1:%u/", port);
	workspace = tu_mkdtemp();
	tmpdir = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ph_server_stop(web);
	tu_rmrf(workspace);
	tu_rmrf(tmpdir);
	free(workspace);
	free(tmpdir);
	return 0;
}

/* Nothing monkey made (the proxy's directory and socket) is left in its
 * TMPDIR once it exited. */
static void assert_tmpdir_empty(void)
{
	DIR *d = opendir(tmpdir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fail_msg("left behind in TMPDIR: %s", e->d_name);
	closedir(d);
}

/* monkey exec with the proxy options, with the docker backend in the
 * engine at docker_host, or with rootless when docker_host is
 * "rootless". */
static void run_monkey(struct tu_run *r, const char *docker_host,
		       const char *mode, const char *script)
{
	bool rootless = docker_host && !strcmp(docker_host, "rootless");
	if (rootless)
		docker_host = NULL;
	char tmpenv[4200], hostenv[400];
	snprintf(tmpenv, sizeof(tmpenv), "TMPDIR=%s", tmpdir);
	snprintf(hostenv, sizeof(hostenv), "DOCKER_HOST=%s",
		 docker_host ? docker_host : "");
	char *env[] = {tmpenv, hostenv, NULL};
	char *argv[] = {(char *)tu_monkey(),
			"exec",
			"--sandbox",
			rootless ? "rootless" : "docker",
			"--no-fallback",
			"--workspace",
			workspace,
			"--allow-domain",
			allow_rule,
			"--proxy-resolve",
			"allowed.test:127.0.0.1",
			"--proxy-resolve",
			"denied.test:127.0.0.1",
			(char *)mode,
			"--",
			"sh",
			"-c",
			(char *)script,
			NULL};
	assert_int_equal(tu_run(r, NULL, argv, env), 0);
	if (r->status == 125 && (rootless || !required()) &&
	    tu_contains(r->err, "not available")) {
		tu_run_free(r);
		skip();
	}
}

/* The record of host in the JSON network array, NULL when none. */
static struct json_object *record_of(struct json_object *net, const char *host)
{
	for (size_t i = 0; i < json_object_array_length(net); i++) {
		struct json_object *rec = json_object_array_get_idx(net, i);
		struct json_object *h;
		if (json_object_object_get_ex(rec, "host", &h) &&
		    !strcmp(json_object_get_string(h), host))
			return rec;
	}
	return NULL;
}

static const char *field(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no %s in %s", key, json_object_to_json_string(o));
	return json_object_get_string(v);
}

static void through_engine(const char *docker_host)
{
	char script[1024];
	snprintf(script, sizeof(script),
		 "env | grep -ci '^[a-z]*_proxy=http://127.0.0.1:3128$'; "
		 "wget -q -O- %s; wget -O- %s 2>&1 | grep -o 403 | sort -u; "
		 "http_proxy= HTTP_PROXY= wget -q -T 5 -O- %s >/dev/null "
		 "2>&1 || echo \"direct failed\"",
		 allow_url, deny_url, direct_url);
	struct tu_run r;
	unsigned before = ph_server_accepted(web);
	run_monkey(&r, docker_host, "--json", script);
	if (r.status != 0)
		fail_msg("exit %d: %s %s", r.status, r.out, r.err);
	_cleanup_json_ struct json_object *o = json_tokener_parse(r.out);
	assert_non_null(o);
	const char *out = field(o, "stdout");
	/* HTTP_PROXY, HTTPS_PROXY and the lowercase forms. */
	if (strncmp(out, "4\n", 2))
		fail_msg("the proxy variables: %s", out);
	assert_true(tu_contains(out, PH_BODY));
	if (!tu_contains(out, "\n403\n") || !tu_contains(out, "direct failed"))
		fail_msg("stdout: %s", out);
	/* Only the allowed request reached the server. */
	assert_int_equal(ph_server_accepted(web), before + 1);
	struct json_object *net, *denied;
	assert_true(json_object_object_get_ex(o, "network", &net));
	struct json_object *ok = record_of(net, "allowed.test");
	struct json_object *no = record_of(net, "denied.test");
	assert_non_null(ok);
	assert_non_null(no);
	assert_string_equal(field(ok, "decision"), "allowed");
	assert_string_equal(field(ok, "address"), "127.0.0.1");
	assert_true(
	    json_object_get_int64(json_object_object_get(ok, "bytesDown")) > 0);
	assert_string_equal(field(no, "decision"), "denied");
	assert_true(tu_contains(field(no, "reason"), "--allow-domain"));
	assert_true(json_object_object_get_ex(o, "networkDenied", &denied));
	assert_int_equal(json_object_array_length(denied), 1);
	tu_run_free(&r);
	assert_tmpdir_empty();
}

static void verbose_lists(const char *docker_host)
{
	char script[512];
	snprintf(script, sizeof(script),
		 "wget -q -O- %s; wget -q -O- %s; :", allow_url, deny_url);
	struct tu_run r;
	run_monkey(&r, docker_host, "-v", script);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	char line[128];
	snprintf(line, sizeof(line),
		 "monkey: proxy: GET %s (127.0.0.1) allowed 200", allow_rule);
	if (!tu_contains(r.err, line) ||
	    !tu_contains(r.err, "monkey: proxy: GET denied.test:") ||
	    !tu_contains(r.err, "the egress proxy refused denied.test:"))
		fail_msg("stderr: %s", r.err);
	tu_run_free(&r);
	assert_tmpdir_empty();
}

static char podman_host[300];

static void test_exec_docker(void **s)
{
	(void)s;
	through_engine(NULL);
}
static void test_verbose_docker(void **s)
{
	(void)s;
	verbose_lists(NULL);
}
static void test_exec_podman(void **s)
{
	(void)s;
	through_engine(podman_host);
}
static void test_verbose_podman(void **s)
{
	(void)s;
	verbose_lists(podman_host);
}
/* rootless runs the host's own wget (busybox's or GNU's). */
static void test_exec_rootless(void **s)
{
	(void)s;
	if (system("command -v wget >/dev/null 2>&1") != 0)
		skip();
	through_engine("rootless");
}
static void test_verbose_rootless(void **s)
{
	(void)s;
	if (system("command -v wget >/dev/null 2>&1") != 0)
		skip();
	verbose_lists("rootless");
}

/* A backend without MONKEY_CAP_EGRESS_PROXY: the command runs with a
 * warning and without the proxy's variables, or --strict refuses. */
static void run_spawn(struct tu_run *r, const char *extra)
{
	char *argv[] = {(char *)tu_monkey(),
			"exec",
			"--sandbox",
			"spawn",
			"--workspace",
			workspace,
			"--allow-domain",
			"@pypi",
			(char *)extra,
			"--",
			"sh",
			"-c",
			"echo \"[$HTTP_PROXY]\"",
			NULL};
	assert_int_equal(tu_run(r, NULL, argv, NULL), 0);
}

static void test_spawn_warns(void **s)
{
	(void)s;
	struct tu_run r;
	run_spawn(&r, "--max-output=4096");
	assert_int_equal(r.status, 0);
	assert_true(tu_contains(r.err, "monkey: warning: --allow-domain is "
				       "not enforced by the spawn backend"));
	assert_true(tu_contains(r.out, "[]"));
	tu_run_free(&r);
}

static void test_strict_refuses(void **s)
{
	(void)s;
	struct tu_run r;
	run_spawn(&r, "--strict");
	assert_int_equal(r.status, 125);
	assert_true(tu_contains(r.err, "--strict: the spawn backend does not "
				       "enforce --allow-domain"));
	assert_false(tu_contains(r.out, "["));
	tu_run_free(&r);
}

/* Values are checked while the options are read, and named. */
static void test_bad_values_named(void **s)
{
	(void)s;
	static const char *const cases[][3] = {
	    {"--allow-domain", "exa mple.com", "--allow-domain 'exa mple.com'"},
	    {"--allow-domain", "@nosuch", "@nosuch"},
	    {"--proxy-resolve", "nohost", "--proxy-resolve 'nohost'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = {(char *)tu_monkey(),
				"exec",
				(char *)cases[i][0],
				(char *)cases[i][1],
				"--",
				"true",
				NULL};
		struct tu_run r;
		assert_int_equal(tu_run(&r, NULL, argv, NULL), 0);
		assert_int_equal(r.status, 125);
		if (!tu_contains(r.err, cases[i][2]))
			fail_msg("%s %s: %s", cases[i][0], cases[i][1], r.err);
		tu_run_free(&r);
	}
	char *both[] = {
	    (char *)tu_monkey(), "exec", "--network", "--allow-domain",
	    "example.com",	 "--",	 "true",      NULL};
	struct tu_run r;
	assert_int_equal(tu_run(&r, NULL, both, NULL), 0);
	assert_int_equal(r.status, 125);
	assert_true(tu_contains(r.err, "--network"));
	tu_run_free(&r);
}

int main(void)
{
	const char *sock = getenv("PODMAN_SOCK");
	snprintf(podman_host, sizeof(podman_host), "unix://%s",
		 sock ? sock : "/run/podman/podman.sock");
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_spawn_warns),      T(test_strict_refuses),
	    T(test_bad_values_named), T(test_exec_docker),
	    T(test_verbose_docker),   T(test_exec_podman),
	    T(test_verbose_podman),   T(test_exec_rootless),
	    T(test_verbose_rootless),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
