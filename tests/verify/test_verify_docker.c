/* "monkey sandbox verify docker" against the real engines, Docker's and
 * podman's: every claim the docker backend makes holds, except the two no
 * attack can check (image, pool).  Without an engine the tests skip,
 * unless MONKEY_REQUIRE_DOCKER=1 or CI=true makes that a failure. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <monkey/verify.h>

#include "testutil.h"

static bool required(void)
{
	const char *ci = getenv("CI"), *req = getenv("MONKEY_REQUIRE_DOCKER");
	return (ci && !strcmp(ci, "true")) || (req && !strcmp(req, "1"));
}

static void verify_engine(const char *docker_host)
{
	if (docker_host)
		setenv("DOCKER_HOST", docker_host, 1);
	else
		unsetenv("DOCKER_HOST");
	struct monkey_verify_options o;
	monkey_verify_options_init(&o);
	o.image = getenv("MONKEY_DOCKER_IMAGE");
	struct monkey_verify_report *r = NULL;
	struct monkey_error err = {0};
	int rc = monkey_sandbox_verify("docker", &o, &r, &err);
	if (rc < 0 && !required() &&
	    (rc == -ENOENT || strstr(err.message, "not available")))
		skip();
	if (rc < 0)
		fail_msg("verify docker at %s: %s",
			 docker_host ? docker_host : "the default socket",
			 err.message);
	char wrong[2048] = "";
	for (size_t i = 0; i < r->n_items; i++) {
		const struct monkey_verify_item *it = &r->items[i];
		print_message("#   %-18s %-26s %s\n", it->name,
			      monkey_verdict_name(it->verdict), it->happened);
		bool unprobeable = it->capability == MONKEY_CAP_IMAGE ||
				   it->capability == MONKEY_CAP_POOL ||
				   it->capability == MONKEY_CAP_CACHE_VOLUMES;
		if (it->claimed && !unprobeable &&
		    it->verdict != MONKEY_VERDICT_VERIFIED)
			snprintf(wrong + strlen(wrong),
				 sizeof(wrong) - strlen(wrong), "%s: %s (%s); ",
				 it->name, monkey_verdict_name(it->verdict),
				 it->happened);
	}
	size_t failed = r->n_failed, not_probed = r->n_not_probed;
	bool mounted = tu_contains(r->helper, "bind-mounted read-only");
	monkey_verify_report_free(r);
	if (wrong[0])
		fail_msg("%s", wrong);
	assert_int_equal(failed, 0);
	assert_int_equal(not_probed, 3);
	assert_true(mounted);
}

static void test_docker_claims_hold(void **s)
{
	(void)s;
	verify_engine(NULL);
}

static void test_docker_claims_hold_through_podman(void **s)
{
	(void)s;
	const char *sock = getenv("PODMAN_SOCK");
	char host[300];
	snprintf(host, sizeof(host), "unix://%s",
		 sock && *sock ? sock : "/run/podman/podman.sock");
	verify_engine(host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_docker_claims_hold),
	    cmocka_unit_test(test_docker_claims_hold_through_podman),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
