/* Prints the rootless backend's seccomp filter as C, built with libseccomp
 * when monkey is built (filter.c): the backend then has it ready, instead
 * of loading libseccomp and building the same program in every process,
 * which cost about 0.4 ms of each one-command run.  A cross build, which
 * cannot run this, builds the filter at run time instead. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <seccomp.h>

#include "rootless.h"

int main(void)
{
	const struct sock_fprog *f = NULL;
	struct monkey_error err = {0};
	if (rl_filter_build(&f, &err) < 0) {
		fprintf(stderr, "filter-gen: %s\n", err.message);
		return 1;
	}
	const struct scmp_version *v = seccomp_version();
	printf("/* The rootless backend's seccomp filter (filter.c), built by "
	       "filter-gen\n * with libseccomp %u.%u.%u.  Generated: do not "
	       "edit. */\n",
	       v->major, v->minor, v->micro);
	printf("static const struct sock_filter rl_prebuilt_filter[%u] = {\n",
	       (unsigned)f->len);
	for (unsigned i = 0; i < f->len; i++)
		printf("\t{0x%04x, %u, %u, 0x%08x},\n", f->filter[i].code,
		       f->filter[i].jt, f->filter[i].jf,
		       (unsigned)f->filter[i].k);
	printf("};\n");
	free((void *)f);
	return ferror(stdout) || fflush(stdout) ? 1 : 0;
}
