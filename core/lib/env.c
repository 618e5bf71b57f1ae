/* Environment scrubbing: commands never inherit the host environment whole.
 * The allowlist follows what Codex CLI and others keep (locale, terminal,
 * identity, PATH); anything credential-like is dropped even if allowlisted,
 * unless the user names it with --env or --pass-env. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "env.h"

static const char *const allow[] = {
    "PATH", "HOME", "USER",   "LOGNAME",   "SHELL",    "LANG",	   "LANGUAGE",
    "TERM", "TZ",   "TMPDIR", "COLORTERM", "NO_COLOR", "CLICOLOR", NULL,
};

static const char *const secret_words[] = {
    "KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", NULL,
};

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

bool monkey_env_name_is_secret(const char *name)
{
	for (size_t i = 0; secret_words[i]; i++) {
		size_t wl = strlen(secret_words[i]);
		for (const char *p = name; *p; p++)
			if (strncasecmp(p, secret_words[i], wl) == 0)
				return true;
	}
	return false;
}

bool monkey_env_name_valid(const char *name, size_t len)
{
	if (len == 0 || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)name[i]) || name[i] == '_'))
			return false;
	return true;
}

static bool allowed(const char *entry, size_t namelen)
{
	if (namelen > 3 && strncmp(entry, "LC_", 3) == 0)
		return true;
	for (size_t i = 0; allow[i]; i++)
		if (strlen(allow[i]) == namelen &&
		    strncmp(entry, allow[i], namelen) == 0)
			return true;
	return false;
}

/* Set or replace NAME=... in sv. */
static int env_set(struct monkey_strv *sv, const char *entry)
{
	size_t nl = strcspn(entry, "=");
	for (size_t i = 0; i < sv->n; i++)
		if (strncmp(sv->v[i], entry, nl) == 0 && sv->v[i][nl] == '=') {
			char *c = strdup(entry);
			if (!c)
				return -ENOMEM;
			free(sv->v[i]);
			sv->v[i] = c;
			return 0;
		}
	return monkey_strv_push(sv, entry);
}

static const char *host_lookup(char *const *host, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; host && host[i]; i++)
		if (strncmp(host[i], name, nl) == 0 && host[i][nl] == '=')
			return host[i];
	return NULL;
}

int monkey_env_build(const struct monkey_exec_options *opts, char *const *host,
		     struct monkey_strv *env, struct monkey_strv *user,
		     struct monkey_error *err)
{
	int r;
	for (size_t i = 0; host && host[i]; i++) {
		const char *eq = strchr(host[i], '=');
		if (!eq)
			continue;
		size_t nl = (size_t)(eq - host[i]);
		_cleanup_free_ char *name = strndup(host[i], nl);
		if (!name)
			return monkey_set_error(err, -ENOMEM, "out of memory");
		if (allowed(host[i], nl) && !monkey_env_name_is_secret(name) &&
		    (r = env_set(env, host[i])) < 0)
			return monkey_set_error(err, r, "out of memory");
	}
	if (!host_lookup(env->v, "PATH") &&
	    (r = env_set(env, "PATH=" DEFAULT_PATH)) < 0)
		return monkey_set_error(err, r, "out of memory");

	for (size_t i = 0; i < opts->n_pass_env; i++) {
		const char *name = opts->pass_env[i];
		if (!monkey_env_name_valid(name, strlen(name)))
			return monkey_set_error(
			    err, -EINVAL,
			    "--pass-env '%s': not a variable name (letters, "
			    "digits and '_', not starting with a digit)",
			    name);
		const char *e = host_lookup(host, name);
		if (!e)
			continue; /* unset in the host: nothing to pass */
		if ((r = env_set(env, e)) < 0 || (r = env_set(user, e)) < 0)
			return monkey_set_error(err, r, "out of memory");
	}
	for (size_t i = 0; i < opts->n_env; i++) {
		const char *e = opts->env[i];
		const char *eq = strchr(e, '=');
		if (!eq || !monkey_env_name_valid(e, (size_t)(eq - e)))
			return monkey_set_error(
			    err, -EINVAL,
			    "--env '%s': expected NAME=VALUE with a variable "
			    "name of letters, digits and '_'",
			    e);
		if ((r = env_set(env, e)) < 0 || (r = env_set(user, e)) < 0)
			return monkey_set_error(err, r, "out of memory");
	}
	/* Keep the vectors non-NULL so they can be handed out as envp. */
	if (!user->v) {
		user->v = calloc(1, sizeof(char *));
		if (!user->v)
			return monkey_set_error(err, -ENOMEM, "out of memory");
		user->cap = 1;
	}
	return 0;
}
