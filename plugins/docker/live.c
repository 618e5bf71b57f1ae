/* The containers this process created and has not removed yet, and the
 * janitor thread that sweeps once and removes stopped containers after
 * their command's caller has its answer: fini removes what is left, so
 * that an interrupted command leaves nothing behind. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"

int dk_live_add(struct dk_state *st, const char *id)
{
	char *copy = strdup(id);
	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&st->lock);
	if (st->n_live == st->cap_live) {
		size_t n = st->cap_live ? st->cap_live * 2 : 8;
		char **p = realloc(st->live, n * sizeof(*p));
		if (!p) {
			pthread_mutex_unlock(&st->lock);
			free(copy);
			return -ENOMEM;
		}
		st->live = p;
		st->cap_live = n;
	}
	st->live[st->n_live++] = copy;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

void dk_live_remove(struct dk_state *st, const char *id)
{
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->n_live; i++) {
		if (!strcmp(st->live[i], id)) {
			free(st->live[i]);
			st->live[i] = st->live[--st->n_live];
			break;
		}
	}
	pthread_mutex_unlock(&st->lock);
}

int dk_remove_now(struct dk_state *st, const char *id, struct monkey_error *err)
{
	int rc = dk_container_remove(st, id, err);
	if (rc == 0)
		dk_live_remove(st, id);
	return rc;
}

/* The janitor: sweeps once when asked, then deletes queued containers,
 * until fini says stop and nothing is left to do. */
static void *janitor_main(void *arg)
{
	struct dk_state *st = arg;
	struct monkey_error e = {0};

	pthread_mutex_lock(&st->lock);
	for (;;) {
		while (!st->n_doomed && !st->sweep_pending && !st->stopping)
			pthread_cond_wait(&st->doomed_cond, &st->lock);
		if (st->sweep_pending) {
			st->sweep_pending = 0;
			pthread_mutex_unlock(&st->lock);
			dk_sweep(st);
			pthread_mutex_lock(&st->lock);
			continue;
		}
		if (!st->n_doomed)
			break;
		char *id = st->doomed[--st->n_doomed];
		pthread_mutex_unlock(&st->lock);
		if (dk_remove_now(st, id, &e) < 0)
			st->host->log(
			    st->host, MONKEY_LOG_WARNING,
			    "docker: container %.12s could not be removed: %s",
			    id, e.message);
		free(id);
		pthread_mutex_lock(&st->lock);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* Called with st->lock held: 1 when the janitor runs. */
static int janitor_running(struct dk_state *st)
{
	if (!st->remover_started && !st->stopping)
		st->remover_started =
		    pthread_create(&st->remover, NULL, janitor_main, st) == 0;
	return st->remover_started;
}

void dk_sweep_once(struct dk_state *st)
{
	pthread_mutex_lock(&st->lock);
	int first = !st->swept;
	st->swept = 1;
	int background = first && janitor_running(st);
	if (background) {
		st->sweep_pending = 1;
		pthread_cond_signal(&st->doomed_cond);
	}
	pthread_mutex_unlock(&st->lock);
	if (first && !background)
		dk_sweep(st);
}

void dk_remove_later(struct dk_state *st, const char *id)
{
	struct monkey_error e = {0};
	char *copy = strdup(id);

	pthread_mutex_lock(&st->lock);
	int running = copy && janitor_running(st);
	if (running && st->n_doomed == st->cap_doomed) {
		size_t n = st->cap_doomed ? st->cap_doomed * 2 : 8;
		char **p = realloc(st->doomed, n * sizeof(*p));
		if (p) {
			st->doomed = p;
			st->cap_doomed = n;
		}
	}
	int queued = 0;
	if (running && st->n_doomed < st->cap_doomed) {
		st->doomed[st->n_doomed++] = copy;
		queued = 1;
		pthread_cond_signal(&st->doomed_cond);
	}
	pthread_mutex_unlock(&st->lock);
	if (queued)
		return;
	/* No thread or no memory: remove now. */
	free(copy);
	if (dk_remove_now(st, id, &e) < 0)
		st->host->log(
		    st->host, MONKEY_LOG_WARNING,
		    "docker: container %.12s could not be removed: %s", id,
		    e.message);
}

void dk_live_stop(struct dk_state *st)
{
	struct monkey_error e = {0};
	/* Let the janitor finish its sweep and queue. */
	pthread_mutex_lock(&st->lock);
	st->stopping = 1;
	int started = st->remover_started;
	pthread_cond_signal(&st->doomed_cond);
	pthread_mutex_unlock(&st->lock);
	if (started)
		pthread_join(st->remover, NULL);
	/* Containers a failed removal left: one more try each. */
	while (st->n_live) {
		char *id = st->live[st->n_live - 1];
		char copy[DK_ID_MAX];
		snprintf(copy, sizeof(copy), "%s", id);
		if (dk_remove_now(st, copy, &e) < 0) {
			st->host->log(
			    st->host, MONKEY_LOG_WARNING,
			    "docker: container %.12s is left behind: %s", copy,
			    e.message);
			dk_live_remove(st, copy);
		}
	}
}
