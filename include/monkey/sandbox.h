/* monkey/sandbox.h - discover installed backends and what they can do
 * ("monkey sandbox list" and "monkey sandbox info"). */
#ifndef MONKEY_SANDBOX_H
#define MONKEY_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <monkey/backend.h>
#include <monkey/error.h>

#ifdef __cplusplus
extern "C" {
#endif

struct monkey_backend_status {
	char *name;
	char *path;   /* the module file */
	bool loaded;  /* false: refused or failed to load, see reason */
	uint32_t abi_major, abi_minor;
	char *description;
	char *details;
	int safety;   /* enum monkey_safety */
	uint32_t capabilities;
	bool available; /* the probe succeeded */
	/* Why it is unavailable or could not be loaded; when available, a
	 * note the probe left ("image X is not present locally; it is
	 * pulled when a command first needs it"); "" when fine. */
	char reason[MONKEY_ERROR_MESSAGE_MAX];
};

/* Every backend found in the search path (backend_dir, MONKEY_BACKEND_PATH,
 * the built-in directory), each loaded, initialised and probed.  *dirs (may
 * be NULL) receives the directories searched, ":"-joined (caller frees). */
int monkey_sandbox_list(const char *backend_dir,
			struct monkey_backend_status **out, size_t *n,
			char **dirs, struct monkey_error *err);

/* One backend by name.  -ENOENT (message lists what exists and where
 * monkey looked) or a refusal error when it cannot be loaded. */
int monkey_sandbox_info(const char *backend_dir, const char *name,
			struct monkey_backend_status *out,
			struct monkey_error *err);

/* The same, initialising the backend with config_json (a JSON object
 * string such as {"image":"debian:12"}, or NULL as monkey_sandbox_info
 * does). */
int monkey_sandbox_info_with(const char *backend_dir, const char *name,
			     const char *config_json,
			     struct monkey_backend_status *out,
			     struct monkey_error *err);

void monkey_backend_status_free(struct monkey_backend_status *st, size_t n);
/* Frees the array returned by monkey_sandbox_list as well. */
void monkey_backend_status_list_free(struct monkey_backend_status *st,
				     size_t n);

/* "none", "low", "medium", "high". */
const char *monkey_safety_name(int safety);

/* Name of one capability bit ("memory", "cpu", ...), NULL if unknown. */
const char *monkey_capability_name(uint32_t bit);

#ifdef __cplusplus
}
#endif

#endif
