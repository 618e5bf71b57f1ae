/* The whole egress path through real containers (Docker's engine, then
 * podman's): the proxy runs here, its directory and monkey-proxy-forward
 * are bind-mounted into a container without a network, the command starts
 * the forwarder itself and talks to 127.0.0.1:3128 with busybox wget and
 * nc.  Servers listen on 127.0.0.1 of the host and names are pinned to
 * them: nothing leaves the machine.  Without an engine the tests skip,
 * unless MONKEY_REQUIRE_DOCKER=1 or CI=true makes that a failure. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <monkey/exec.h>

#include "proxy_harness.h"
#include "testutil.h"

#define SOCK_DIR "/monkey-proxy"
#define FORWARDER "/monkey/monkey-proxy-forward"

static struct ph_server *web, *echo;
static struct monkey_proxy *px;
static char *workspace;
static char web_rule[64], echo_rule[64], local_rule[64];

static bool required(void)
{
	const char *ci = getenv("CI"), *req = getenv("MONKEY_REQUIRE_DOCKER");
	return (ci && !strcmp(ci, "true")) || (req && !strcmp(req, "1"));
}

static void short_idle(struct monkey_proxy_options *o)
{
	/* busybox nc does not half-close: the tunnel ends idle. */
	o->idle_timeout_ms = 2000;
}

static int setup(void **state)
{
	(void)state;
	char fwd[4200];
	struct stat st;
	snprintf(fwd, sizeof(fwd), "%s/core/proxy/monkey-proxy-forward",
		 tu_builddir());
	if (stat(fwd, &st) < 0 || st.st_size == 0)
		skip(); /* no static C library: no forwarder was built */
	web = ph_server_start(PH_HTTP);
	echo = ph_server_start(PH_ECHO);
	snprintf(web_rule, sizeof(web_rule), "allowed.test:%u",
		 ph_server_port(web));
	snprintf(echo_rule, sizeof(echo_rule), "tunnel.test:%u",
		 ph_server_port(echo));
	/* localhost is allowed but not named: it resolves (through the
	 * host's /etc/hosts, no traffic) to a loopback address. */
	snprintf(local_rule, sizeof(local_rule), "localhost:%u",
		 ph_server_port(echo));
	const char *allow[] = {web_rule, echo_rule, local_rule};
	const char *resolve[] = {"allowed.test:127.0.0.1",
				 "tunnel.test:127.0.0.1"};
	px = ph_proxy(allow, 3, resolve, 2, short_idle);
	workspace = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	monkey_proxy_close(px);
	ph_server_stop(web);
	ph_server_stop(echo);
	if (workspace)
		tu_rmrf(workspace);
	free(workspace);
	px = NULL;
	web = echo = NULL;
	workspace = NULL;
	return 0;
}

/* Run the script after starting the forwarder, in a container of the
 * engine at docker_host (NULL: Docker's default socket). */
static void run(const char *docker_host, const char *script,
		struct monkey_result *res)
{
	if (docker_host)
		setenv("DOCKER_HOST", docker_host, 1);
	else
		unsetenv("DOCKER_HOST");
	char mount_dir[4200], mount_fwd[4200], web_port[32], echo_port[32];
	snprintf(mount_dir, sizeof(mount_dir), "%s:" SOCK_DIR ":ro",
		 monkey_proxy_dir(px));
	snprintf(mount_fwd, sizeof(mount_fwd),
		 "%s/core/proxy/monkey-proxy-forward:" FORWARDER ":ro",
		 tu_builddir());
	snprintf(web_port, sizeof(web_port), "WEB=%u", ph_server_port(web));
	snprintf(echo_port, sizeof(echo_port), "ECHO=%u", ph_server_port(echo));
	const char *mounts[] = {mount_dir, mount_fwd};
	const char *env[] = {"http_proxy=http://127.0.0.1:3128",
			     "no_proxy=localhost", web_port, echo_port};
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	o.sandbox = "docker";
	o.no_fallback = true;
	o.image = getenv("MONKEY_DOCKER_IMAGE");
	o.workspace = workspace;
	o.mounts = mounts;
	o.n_mounts = 2;
	o.env = env;
	o.n_env = 4;
	o.timeout_ms = 60000;
	o.explicit_set = MONKEY_OPT_MOUNTS;
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	int rc = monkey_executor_open(&o, &ex, &err);
	if (rc < 0 && !required() && strstr(err.message, "not available"))
		skip();
	if (rc < 0)
		fail_msg("docker at %s: %s",
			 docker_host ? docker_host : "the default socket",
			 err.message);
	char full[4096];
	snprintf(full, sizeof(full),
		 "mkfifo /tmp/ready || exit 90; " FORWARDER
		 " --port 3128 --ready-fd 3 --die-with-parent " SOCK_DIR
		 "/proxy.sock 3>/tmp/ready & "
		 "read r </tmp/ready; [ \"$r\" = 'ready 3128' ] || exit 91; %s",
		 script);
	const char *argv[] = {"sh", "-c", full, NULL};
	struct monkey_command cmd = {.argv = argv};
	memset(res, 0, sizeof(*res));
	rc = monkey_executor_run(ex, &cmd, res, &err);
	monkey_executor_close(ex);
	if (rc < 0)
		fail_msg("run: %s", err.message);
	if (res->exit_code == 90 || res->exit_code == 91)
		fail_msg("the forwarder did not start (%d): %s", res->exit_code,
			 res->error);
}

static char *out_of(const struct monkey_result *res)
{
	return monkey_capture_join(&res->out, NULL);
}

static void allowed_name_answers_through_wget(const char *docker_host)
{
	struct monkey_result res;
	run(docker_host, "wget -q -O- http://allowed.test:$WEB/hello", &res);
	char *out = out_of(&res);
	if (res.exit_code != 0 || strcmp(out, PH_BODY) != 0) {
		char *err = monkey_capture_join(&res.err, NULL);
		fail_msg("exit %d, out '%s', err '%s' %s", res.exit_code, out,
			 err, res.error);
	}
	free(out);
	monkey_result_free(&res);
	char *got = ph_server_last_request(web);
	assert_true(strncmp(got, "GET /hello HTTP/1.1\r\n", 21) == 0);
	free(got);
	struct monkey_proxy_report r;
	ph_drain(px, &r);
	assert_int_equal(r.n_records, 1);
	assert_string_equal(r.records[0].host, "allowed.test");
	assert_int_equal(r.records[0].decision, MONKEY_PROXY_ALLOWED);
	assert_int_equal(r.records[0].status, 200);
	monkey_proxy_report_free(&r);
}

/* busybox wget does not show a refusal's body: nc does. */
static void denied_name_gets_the_403_text(const char *docker_host)
{
	struct monkey_result res;
	run(docker_host,
	    "printf 'GET http://denied.test/ HTTP/1.1\\r\\nHost: "
	    "denied.test\\r\\n\\r\\n' | nc 127.0.0.1 3128; "
	    "wget -q -O- http://denied.test/ 2>&1; echo \"wget $?\"",
	    &res);
	char *out = out_of(&res);
	if (!strstr(out, "HTTP/1.1 403 Forbidden") ||
	    !strstr(out,
		    "monkey proxy: denied.test port 80 is not in the "
		    "allowlist; allow it with --allow-domain denied.test") ||
	    !strstr(out, "wget 1"))
		fail_msg("got '%s'", out);
	free(out);
	monkey_result_free(&res);
	struct monkey_proxy_report r;
	ph_drain(px, &r);
	assert_int_equal(r.n_records, 2);
	assert_int_equal(r.records[1].decision, MONKEY_PROXY_DENIED);
	assert_int_equal(r.n_denied, 1);
	assert_string_equal(r.denied[0], "denied.test:80");
	monkey_proxy_report_free(&r);
}

/* The container has no route out: the host's own server on its
 * loopback is not this network namespace's 127.0.0.1. */
static void direct_connection_fails(const char *docker_host)
{
	struct monkey_result res;
	unsigned before = ph_server_accepted(web);
	run(docker_host,
	    "wget -Y off -q -T 5 -O- http://127.0.0.1:$WEB/ 2>&1; "
	    "echo \"direct $?\"",
	    &res);
	char *out = out_of(&res);
	if (!strstr(out, "direct 1"))
		fail_msg("got '%s'", out);
	free(out);
	monkey_result_free(&res);
	assert_int_equal(ph_server_accepted(web), before);
}

/* Bytes 0, 255, CR, LF and others through CONNECT, and back. */
static void connect_passes_raw_bytes(const char *docker_host)
{
	struct monkey_result res;
	run(docker_host,
	    "{ printf 'CONNECT tunnel.test:%s HTTP/1.1\\r\\n\\r\\n' $ECHO; "
	    "sleep 1; printf '\\000\\001\\377\\r\\n\\200x'; } | "
	    "nc 127.0.0.1 3128 | od -An -c | tr -s ' \\n' ' '",
	    &res);
	char *out = out_of(&res);
	if (!strstr(out, "2 0 0 C o n n e c t i o n") ||
	    !strstr(out, "\\r \\n \\r \\n \\0 001 377 \\r \\n 200 x"))
		fail_msg("got '%s'", out);
	free(out);
	monkey_result_free(&res);
	struct monkey_proxy_report r;
	ph_drain(px, &r);
	assert_int_equal(r.n_records, 1);
	assert_int_equal(r.records[0].bytes_up, 7);
	assert_int_equal(r.records[0].bytes_down, 7);
	monkey_proxy_report_free(&r);
}

static void ip_literal_and_private_names_refused(const char *docker_host)
{
	struct monkey_result res;
	run(docker_host,
	    "printf 'CONNECT 127.0.0.1:%s HTTP/1.1\\r\\n\\r\\n' $ECHO | "
	    "nc 127.0.0.1 3128; "
	    "printf 'CONNECT localhost:%s HTTP/1.1\\r\\n\\r\\n' $ECHO | "
	    "nc 127.0.0.1 3128",
	    &res);
	char *out = out_of(&res);
	if (!strstr(out, "an IP address needs an address rule") ||
	    !strstr(out, "localhost resolves to loopback address") ||
	    !strstr(out, "--proxy-resolve localhost:"))
		fail_msg("got '%s'", out);
	free(out);
	monkey_result_free(&res);
	assert_int_equal(ph_server_accepted(echo), 0);
}

#define ENGINE_TESTS(name, host)                                               \
	static void test_allowed_name_answers_through_wget_##name(void **s)    \
	{                                                                      \
		(void)s;                                                       \
		allowed_name_answers_through_wget(host);                       \
	}                                                                      \
	static void test_denied_name_gets_the_403_text_##name(void **s)        \
	{                                                                      \
		(void)s;                                                       \
		denied_name_gets_the_403_text(host);                           \
	}                                                                      \
	static void test_direct_connection_fails_##name(void **s)              \
	{                                                                      \
		(void)s;                                                       \
		direct_connection_fails(host);                                 \
	}                                                                      \
	static void test_connect_passes_raw_bytes_##name(void **s)             \
	{                                                                      \
		(void)s;                                                       \
		connect_passes_raw_bytes(host);                                \
	}                                                                      \
	static void test_ip_literal_and_private_refused_##name(void **s)       \
	{                                                                      \
		(void)s;                                                       \
		ip_literal_and_private_names_refused(host);                    \
	}

static char podman_host[300];
ENGINE_TESTS(docker, NULL)
ENGINE_TESTS(podman, podman_host)

int main(void)
{
	const char *sock = getenv("PODMAN_SOCK");
	snprintf(podman_host, sizeof(podman_host), "unix://%s",
		 sock ? sock : "/run/podman/podman.sock");
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_allowed_name_answers_through_wget_docker),
	    T(test_denied_name_gets_the_403_text_docker),
	    T(test_direct_connection_fails_docker),
	    T(test_connect_passes_raw_bytes_docker),
	    T(test_ip_literal_and_private_refused_docker),
	    T(test_allowed_name_answers_through_wget_podman),
	    T(test_denied_name_gets_the_403_text_podman),
	    T(test_direct_connection_fails_podman),
	    T(test_connect_passes_raw_bytes_podman),
	    T(test_ip_literal_and_private_refused_podman),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
