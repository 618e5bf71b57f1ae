/* Asserts on one exec call of a backend under test, shared by the docker
 * and rootless suites: their run records (struct dt_run, struct rt_run)
 * both hold rc, err, out and errout.  For cmocka test programs. */
#ifndef MONKEY_TEST_BACKEND_ASSERTS_H
#define MONKEY_TEST_BACKEND_ASSERTS_H

#include <string.h>

/* exec returned 0; otherwise fails with the backend's message. */
#define assert_ran_ok(run)                                                     \
	do {                                                                   \
		if ((run)->rc != 0)                                            \
			fail_msg("exec failed (%d): %s", (run)->rc,            \
				 (run)->err.message);                          \
	} while (0)

/* Compares stdout and shows stderr when it differs. */
#define assert_out(run, want)                                                  \
	do {                                                                   \
		if (strcmp((run)->out, (want)))                                \
			fail_msg("stdout \"%s\" is not \"%s\"; stderr: %s",    \
				 (run)->out, (want), (run)->errout);           \
	} while (0)

#define assert_contains(hay, needle)                                           \
	do {                                                                   \
		if (!strstr((hay), (needle)))                                  \
			fail_msg("\"%s\" does not contain \"%s\"", (hay),      \
				 (needle));                                    \
	} while (0)

#endif
