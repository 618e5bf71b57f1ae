/* monkey/verify.h - check a backend's capability flags by attacking them
 * ("monkey sandbox verify NAME"): every claim is tested by a probe that
 * tries to break it, and so is every flag the backend does not claim. */
#ifndef MONKEY_VERIFY_H
#define MONKEY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <monkey/backend.h>
#include <monkey/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a probe found, for one capability flag. */
enum monkey_verdict {
	MONKEY_VERDICT_VERIFIED = 0,  /* claimed, and the attack failed */
	MONKEY_VERDICT_FAILED = 1,    /* claimed, and the attack succeeded */
	MONKEY_VERDICT_HOLDS = 2,     /* not claimed, and holds anyway */
	MONKEY_VERDICT_NOT_HOLDS = 3, /* not claimed, and does not hold */
	/* Not attacked: the sandbox lacks what the probe needs (no helper, no
	 * grep), or the flag promises nothing an attack can check. */
	MONKEY_VERDICT_NOT_PROBED = 4,
	/* The probe could not prepare its attack (bind a port, plant a
	 * file): a fault of this machine, not of the backend. */
	MONKEY_VERDICT_SETUP_FAILED = 5,
};

#define MONKEY_VERIFY_TEXT_MAX 320

struct monkey_verify_item {
	/* The capability's name ("network-isolation", as in "monkey sandbox
	 * list"), or "exit-status" for the exit-code mapping every backend
	 * must get right.  Static. */
	const char *name;
	uint32_t capability; /* enum monkey_capability bit; 0: exit-status */
	bool claimed;	     /* exit-status: always */
	int verdict;	     /* enum monkey_verdict */
	/* One line each: the attack, and what happened (or why there was
	 * none).  Anything the sandbox printed is escaped. */
	char tried[MONKEY_VERIFY_TEXT_MAX];
	char happened[MONKEY_VERIFY_TEXT_MAX];
};

struct monkey_verify_report {
	char *name;
	char *path; /* the module file */
	uint32_t abi_major, abi_minor;
	uint32_t capabilities; /* what the backend claims */
	/* How the probe helper reached the sandbox ("bind-mounted read-only
	 * at /dev/.monkey-probe", "at its host path ...", or why not). */
	char helper[MONKEY_VERIFY_TEXT_MAX];
	/* One per capability flag, in bit order, then exit-status. */
	struct monkey_verify_item *items;
	size_t n_items;
	size_t n_verified;   /* claimed and verified */
	size_t n_failed;     /* claimed and FAILED, exit-status included */
	size_t n_not_probed; /* claimed but not probed or set up */
	int64_t duration_ms;
};

struct monkey_verify_options {
	const char *backend_dir; /* searched first; may be NULL */
	/* Image for backends that take one; NULL: the backend's default
	 * (docker: MONKEY_DOCKER_IMAGE). */
	const char *image;
	/* Probes run at once (exec is thread-safe by the ABI); 0: 4. */
	int jobs;
	/* The monkey-probe helper; NULL: MONKEY_PROBE_HELPER, then the
	 * build tree libmonkey was loaded from, then the installed one. */
	const char *helper;
};

void monkey_verify_options_init(struct monkey_verify_options *opts);

/* Load, initialise and probe backend name, attack each capability and
 * report.  Returns 0 with *out filled (caller frees) when the probes ran,
 * whatever they found; a negative errno when they could not (backend
 * missing, refused, unavailable, or unable to run "sh" at all).
 *
 * For the clean-environment probe it sets MONKEY_VERIFY_SECRET in this
 * process's environment for the duration (setenv(3) is not thread-safe:
 * call it while no other thread of the program reads the environment).
 * It creates and removes a directory under $TMPDIR, opens two TCP
 * listeners (127.0.0.1 and a non-loopback address of this host, never a
 * wildcard) and connects nowhere.  Takes about 10-30 s. */
int monkey_sandbox_verify(const char *name,
			  const struct monkey_verify_options *opts,
			  struct monkey_verify_report **out,
			  struct monkey_error *err);

void monkey_verify_report_free(struct monkey_verify_report *report);

/* "verified", "FAILED", "not claimed, holds", "not claimed, does not
 * hold", "not probed", "probe setup failed". */
const char *monkey_verdict_name(int verdict);

#ifdef __cplusplus
}
#endif

#endif
