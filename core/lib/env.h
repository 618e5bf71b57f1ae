/* The environment a sandboxed command gets: an allowlist of harmless host
 * variables plus what the user names; never secrets by accident. */
#ifndef MONKEY_ENV_H
#define MONKEY_ENV_H

#include <stdbool.h>

#include <monkey/exec.h>

#include "util.h"

/* True for names that look like credentials (KEY, TOKEN, SECRET, PASSWORD,
 * PASSWD, CREDENTIAL; case-insensitive). */
bool monkey_env_name_is_secret(const char *name);

/* True for a valid variable name ([A-Za-z_][A-Za-z0-9_]*). */
bool monkey_env_name_valid(const char *name, size_t len);

/* Build the command environment from host (NULL-terminated "NAME=value",
 * usually environ): allowlisted names that do not look like secrets, then
 * opts->pass_env names as they are in host, then opts->env "KEY=VAL"
 * entries (later entries replace earlier ones of the same name).  *user
 * receives only the entries the user named.  Errors name the bad option. */
int monkey_env_build(const struct monkey_exec_options *opts, char *const *host,
		     struct monkey_strv *env, struct monkey_strv *user,
		     struct monkey_error *err);

#endif
