/* The command environment: allowlist, secrets, and what users name. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "env.h"

static bool has(const struct monkey_strv *sv, const char *entry)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], entry) == 0)
			return true;
	return false;
}

static bool has_name(const struct monkey_strv *sv, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < sv->n; i++)
		if (strncmp(sv->v[i], name, nl) == 0 && sv->v[i][nl] == '=')
			return true;
	return false;
}

static char *host_env[] = {
    "PATH=/usr/bin:/bin",
    "HOME=/home/u",
    "LANG=C.UTF-8",
    "LC_ALL=C",
    "TERM=xterm",
    "ANTHROPIC_API_KEY=sk-ant-secret",
    "GITHUB_TOKEN=ghp_secret",
    "AWS_SECRET_ACCESS_KEY=aws-secret",
    "DB_PASSWORD=hunter2",
    "LD_PRELOAD=/evil.so",
    "RANDOM_VAR=1",
    NULL,
};

static void build(struct monkey_exec_options *o, struct monkey_strv *env,
		  struct monkey_strv *user, int want)
{
	struct monkey_error err = {0};
	int r = monkey_env_build(o, host_env, env, user, &err);
	if (r != want)
		fail_msg("monkey_env_build: %d (%s)", r, err.message);
}

static void test_allowlist_passes_and_everything_else_is_dropped(void **s)
{
	(void)s;
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	struct monkey_strv env = {0}, user = {0};
	build(&o, &env, &user, 0);
	assert_true(has(&env, "PATH=/usr/bin:/bin"));
	assert_true(has(&env, "HOME=/home/u"));
	assert_true(has(&env, "LANG=C.UTF-8"));
	assert_true(has(&env, "LC_ALL=C"));
	assert_true(has(&env, "TERM=xterm"));
	assert_false(has_name(&env, "ANTHROPIC_API_KEY"));
	assert_false(has_name(&env, "GITHUB_TOKEN"));
	assert_false(has_name(&env, "AWS_SECRET_ACCESS_KEY"));
	assert_false(has_name(&env, "DB_PASSWORD"));
	assert_false(has_name(&env, "LD_PRELOAD"));
	assert_false(has_name(&env, "RANDOM_VAR"));
	assert_int_equal(user.n, 0);
	assert_non_null(user.v);
	monkey_strv_free(&env);
	monkey_strv_free(&user);
}

/* LC_* is the one allowlisted prefix under which any name fits, so it is
 * where the credential check must hold on its own. */
static void
test_credential_like_lc_names_are_dropped_though_allowlisted(void **s)
{
	(void)s;
	char *host[] = {
	    "LC_ALL=C",		"LC_TIME=en_GB.UTF-8", "LC_API_TOKEN=leaked",
	    "LC_SECRET=leaked", "LC_MY_PASSWORD=x",    NULL};
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	struct monkey_strv env = {0}, user = {0};
	struct monkey_error err = {0};
	assert_int_equal(monkey_env_build(&o, host, &env, &user, &err), 0);
	assert_true(has(&env, "LC_ALL=C"));
	assert_true(has(&env, "LC_TIME=en_GB.UTF-8"));
	assert_false(has_name(&env, "LC_API_TOKEN"));
	assert_false(has_name(&env, "LC_SECRET"));
	assert_false(has_name(&env, "LC_MY_PASSWORD"));
	monkey_strv_free(&env);
	monkey_strv_free(&user);
}

static void test_secret_names_are_detected_case_insensitively(void **s)
{
	(void)s;
	assert_true(monkey_env_name_is_secret("openai_api_key"));
	assert_true(monkey_env_name_is_secret("MyToken"));
	assert_true(monkey_env_name_is_secret("X_SECRET_Y"));
	assert_true(monkey_env_name_is_secret("PGPASSWORD"));
	assert_false(monkey_env_name_is_secret("PATH"));
	assert_false(monkey_env_name_is_secret("LANG"));
}

static void test_named_variables_reach_the_command(void **s)
{
	(void)s;
	const char *pass[] = {"GITHUB_TOKEN", "UNSET_VAR"};
	const char *set[] = {"FOO=bar", "PATH=/opt/bin", "OPENAI_API_KEY=x"};
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	o.pass_env = pass;
	o.n_pass_env = 2;
	o.env = set;
	o.n_env = 3;
	struct monkey_strv env = {0}, user = {0};
	build(&o, &env, &user, 0);
	assert_true(has(&env, "GITHUB_TOKEN=ghp_secret"));
	assert_true(has(&env, "FOO=bar"));
	assert_true(has(&env, "PATH=/opt/bin"));
	assert_false(has(&env, "PATH=/usr/bin:/bin"));
	assert_true(has(&env, "OPENAI_API_KEY=x"));
	assert_false(has_name(&env, "UNSET_VAR"));
	assert_false(has_name(&env, "ANTHROPIC_API_KEY"));
	assert_int_equal(user.n, 4);
	assert_true(has(&user, "GITHUB_TOKEN=ghp_secret"));
	monkey_strv_free(&env);
	monkey_strv_free(&user);
}

static void test_bad_env_option_is_an_error_naming_it(void **s)
{
	(void)s;
	const char *set[] = {"1BAD=x"};
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	o.env = set;
	o.n_env = 1;
	struct monkey_strv env = {0}, user = {0};
	struct monkey_error err = {0};
	assert_int_equal(monkey_env_build(&o, host_env, &env, &user, &err),
			 -EINVAL);
	assert_non_null(strstr(err.message, "--env '1BAD=x'"));
	monkey_strv_free(&env);
	monkey_strv_free(&user);
}

static void test_missing_path_gets_a_default(void **s)
{
	(void)s;
	char *bare[] = {"HOME=/h", NULL};
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	struct monkey_strv env = {0}, user = {0};
	struct monkey_error err = {0};
	assert_int_equal(monkey_env_build(&o, bare, &env, &user, &err), 0);
	assert_true(has_name(&env, "PATH"));
	monkey_strv_free(&env);
	monkey_strv_free(&user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_allowlist_passes_and_everything_else_is_dropped),
	    cmocka_unit_test(
		test_credential_like_lc_names_are_dropped_though_allowlisted),
	    cmocka_unit_test(test_secret_names_are_detected_case_insensitively),
	    cmocka_unit_test(test_named_variables_reach_the_command),
	    cmocka_unit_test(test_bad_env_option_is_an_error_naming_it),
	    cmocka_unit_test(test_missing_path_gets_a_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
