/* A test backend whose descriptor ends right after fini, the smallest one
 * ABI 1 accepts (a backend from before every optional field), followed in
 * memory by junk: the host must read the missing fields as NULL/0 and never
 * the bytes past struct_size. */
#include <stddef.h>
#include <string.h>

#include <monkey/backend.h>

/* The descriptor as a header ending at fini declared it. */
struct minimal_descriptor {
	uint32_t abi_major;
	uint32_t abi_minor;
	uint32_t struct_size;
	const char *name;
	const char *description;
	int safety;
	uint32_t capabilities;
	monkey_backend_init_fn init;
	monkey_backend_probe_fn probe;
	monkey_backend_exec_fn exec;
	monkey_backend_fini_fn fini;
};

_Static_assert(offsetof(struct minimal_descriptor, fini) ==
		       offsetof(struct monkey_backend, fini),
	       "the prefix must match struct monkey_backend");
_Static_assert(sizeof(struct minimal_descriptor) <
		       sizeof(struct monkey_backend),
	       "the prefix must be shorter than the current descriptor");

static int m_init(const struct monkey_host *host, const char *config,
		  void **state, struct monkey_error *err)
{
	(void)host, (void)config, (void)err;
	*state = NULL;
	return 0;
}

static int m_probe(void *state, struct monkey_error *err)
{
	(void)state, (void)err;
	return 0;
}

static int m_exec(void *state, const struct monkey_exec_request *req,
		  struct monkey_exec_result *result, struct monkey_error *err)
{
	(void)state, (void)err;
	static const char msg[] = "minimal ran\n";
	req->output(req->output_ctx, MONKEY_STREAM_STDOUT, msg,
		    sizeof(msg) - 1);
	result->exit_code = 0;
	return 0;
}

static void m_fini(void *state)
{
	(void)state;
}

/* 0xA5 everywhere after the descriptor: a host that read "details" from
 * here would dereference 0xa5a5a5a5a5a5a5a5. */
static const struct {
	struct minimal_descriptor d;
	unsigned char junk[256];
} blob = {
	.d = {
		.abi_major = MONKEY_BACKEND_ABI_MAJOR,
		.abi_minor = 0,
		.struct_size = sizeof(struct minimal_descriptor),
		.name = "minimal",
		.description = "test backend with the smallest descriptor",
		.safety = MONKEY_SAFETY_NONE,
		.init = m_init,
		.probe = m_probe,
		.exec = m_exec,
		.fini = m_fini,
	},
	.junk = {[0 ... 255] = 0xA5},
};

MONKEY_BACKEND_EXPORT((const struct monkey_backend *)&blob.d)
