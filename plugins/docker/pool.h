/* The docker backend's warm pool, on the run layer: containers started
 * ahead, each waiting to run one command (pool.c). */
#ifndef MONKEY_DOCKER_POOL_H
#define MONKEY_DOCKER_POOL_H

#include "run.h"

/* Run req in a prestarted container when one with req's settings is
 * ready (*handled = 1, the result of the run returned); otherwise keys
 * the pool to req's settings so that the next one is, and leaves the
 * command to the cold path (*handled = 0). */
int dk_pool_exec(struct dk_state *st, const struct monkey_exec_request *req,
		 const char *image, struct monkey_exec_result *result,
		 int *handled, struct monkey_error *err);
/* Find monkey-launch (MONKEY_DOCKER_LAUNCHER, next to the module, the
 * installed path); NULL when there is none usable.  Caller frees. */
char *dk_pool_find_launcher(const struct monkey_host *host);
/* A prestarted container made from create body key and image, taken out
 * of the pool (the filler then starts the next); NULL when none is
 * ready.  Its .git is checked by the launcher before each command. */
struct dk_sandbox *dk_pool_take(struct dk_state *st, const char *key,
				const char *image);
/* Stop the filler and remove every prestarted container. */
void dk_pool_fini(struct dk_state *st);

#endif
