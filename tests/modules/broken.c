/* Test-only backends that the loader must refuse (or, for "future",
 * accept).  One source, several modules: BROKEN_KIND selects the defect. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <monkey/backend.h>

__attribute__((unused)) static int b_init(const struct monkey_host *h, const char *c, void **s,
		  struct monkey_error *e)
{
	(void)h, (void)c, (void)e;
	*s = NULL;
	return 0;
}
__attribute__((unused)) static int b_probe(void *s, struct monkey_error *e)
{
	(void)s;
#if BROKEN_KIND == 6
	/* -ENODEV: absent, the host may fall back.  MONKEY_TEST_PROBE_ERRNO
	 * makes it another failure (the engine answered and refused). */
	const char *other = getenv("MONKEY_TEST_PROBE_ERRNO");
	e->code = other ? -atoi(other) : -ENODEV;
	snprintf(e->message, sizeof(e->message),
		 other ? "test engine refused: no such image"
		       : "test engine not reachable at /nonexistent.sock");
	return e->code;
#else
	(void)e;
	return 0;
#endif
}
__attribute__((unused)) static int b_exec(void *s, const struct monkey_exec_request *r,
		  struct monkey_exec_result *res, struct monkey_error *e)
{
	(void)s, (void)r, (void)e;
	res->exit_code = 0;
	return 0;
}
__attribute__((unused)) static void b_fini(void *s)
{
	(void)s;
}

/* A descriptor from a future minor version: same start, more fields. */
struct future_backend {
	struct monkey_backend base;
	void *new_entry_point;
	int new_flag;
};

#if BROKEN_KIND == 1 /* badabi: another ABI major */
static const struct monkey_backend desc = {
	.abi_major = MONKEY_BACKEND_ABI_MAJOR + 1, .abi_minor = 0,
	.struct_size = sizeof(struct monkey_backend), .name = "badabi",
	.init = b_init, .probe = b_probe, .exec = b_exec, .fini = b_fini};
MONKEY_BACKEND_EXPORT(&desc)
#elif BROKEN_KIND == 2 /* small: descriptor shorter than the host needs */
static const struct monkey_backend desc = {
	.abi_major = MONKEY_BACKEND_ABI_MAJOR, .abi_minor = 0,
	.struct_size = offsetof(struct monkey_backend, exec), .name = "small",
	.init = b_init, .probe = b_probe, .exec = b_exec, .fini = b_fini};
MONKEY_BACKEND_EXPORT(&desc)
#elif BROKEN_KIND == 3 /* incomplete: no exec */
static const struct monkey_backend desc = {
	MONKEY_BACKEND_HEADER, .name = "incomplete",
	.init = b_init, .probe = b_probe, .fini = b_fini};
MONKEY_BACKEND_EXPORT(&desc)
#elif BROKEN_KIND == 4 /* noentry: exports something else */
__attribute__((visibility("default"))) int not_a_backend(void);
int not_a_backend(void)
{
	return b_exec(NULL, NULL, NULL, NULL);
}
#elif BROKEN_KIND == 5 /* future: newer minor with appended fields */
static const struct future_backend desc = {
	.base = {.abi_major = MONKEY_BACKEND_ABI_MAJOR,
		 .abi_minor = MONKEY_BACKEND_ABI_MINOR + 3,
		 .struct_size = sizeof(struct future_backend),
		 .name = "future", .description = "from a later minor ABI",
		 .init = b_init, .probe = b_probe, .exec = b_exec,
		 .fini = b_fini},
	.new_flag = 1};
MONKEY_BACKEND_EXPORT(&desc.base)
#elif BROKEN_KIND == 6 /* unavail: probe fails */
static const struct monkey_backend desc = {
	MONKEY_BACKEND_HEADER, .name = "unavail",
	.description = "test backend whose engine is never reachable",
	.safety = MONKEY_SAFETY_HIGH,
	.init = b_init, .probe = b_probe, .exec = b_exec, .fini = b_fini};
MONKEY_BACKEND_EXPORT(&desc)
#elif BROKEN_KIND == 7 /* misnamed: file name and descriptor name differ */
static const struct monkey_backend desc = {
	MONKEY_BACKEND_HEADER, .name = "othername",
	.init = b_init, .probe = b_probe, .exec = b_exec, .fini = b_fini};
MONKEY_BACKEND_EXPORT(&desc)
#endif
