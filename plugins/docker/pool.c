/* The warm pool: K containers created, attached and started ahead of
 * time, each running monkey-launch (launch.c), which waits on stdin for
 * one command and execs it.  A command takes one ready container whose
 * create body equals the one its own settings give, so it never runs in
 * a container made for other settings; it is removed after the answer
 * and a filler thread starts the next one in the background.
 *
 * Commands with other settings, or arriving when none is ready, take the
 * cold path (run_launch.c, run.c); the pool then follows the latest
 * settings. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"

#ifndef DK_LAUNCHER_PATH
#define DK_LAUNCHER_PATH "/usr/local/libexec/monkey/monkey-launch"
#endif

/* Back-off between failed prestarts: a broken engine is not hammered,
 * and commands meanwhile take the cold path (which reports the error). */
#define DK_POOL_BACKOFF_MIN_MS 100
#define DK_POOL_BACKOFF_MAX_MS 5000

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A regular, non-empty, executable file (an empty one means the build had
 * no static C library). */
static char *usable(const char *path)
{
	struct stat sb;
	char real[PATH_MAX];
	if (!path || !path[0] || stat(path, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size == 0 || !(sb.st_mode & 0111) || !realpath(path, real))
		return NULL;
	return strdup(real);
}

char *dk_pool_find_launcher(const struct monkey_host *host)
{
	const char *env = secure_getenv("MONKEY_DOCKER_LAUNCHER");
	if (env && env[0])
		return usable(env);
	/* In a build tree the module is plugins/docker/.libs/docker.so and
	 * the launcher plugins/docker/monkey-launch.  The host says where the
	 * module is: dladdr names /proc/self/fd/N when it was loaded
	 * through its descriptor. */
	const char *self =
	    MONKEY_STRUCT_HAS(host, module_path) ? host->module_path : NULL;
	Dl_info info;
	if (!self && dladdr((void *)dk_pool_find_launcher, &info))
		self = info.dli_fname;
	if (self) {
		char dir[PATH_MAX], cand[PATH_MAX + 32];
		snprintf(dir, sizeof(dir), "%s", self);
		char *slash = strrchr(dir, '/');
		if (slash) {
			*slash = '\0';
			snprintf(cand, sizeof(cand), "%s/../monkey-launch",
				 dir);
			char *p = usable(cand);
			if (p)
				return p;
		}
	}
	return usable(DK_LAUNCHER_PATH);
}

/* Says how many containers wait ready, each time that changes (called
 * with pool_lock held, so the lines come in the order of the changes):
 * with --verbose a user sees the pool at work, and the tests learn when
 * the next command will find one ready. */
static void pool_changed(struct dk_state *st)
{
	st->host->log(st->host, MONKEY_LOG_DEBUG,
		      "docker: pool holds %zu prestarted container(s)",
		      st->n_ready);
}

/* ---- the filler thread ---- */

static void *filler_main(void *arg)
{
	struct dk_state *st = arg;
	pthread_mutex_lock(&st->pool_lock);
	while (!st->pool_stopping) {
		if (!st->pool_key || st->n_ready >= (size_t)st->pool_size ||
		    __atomic_load_n(&st->launcher_broken, __ATOMIC_RELAXED)) {
			pthread_cond_wait(&st->pool_cond, &st->pool_lock);
			continue;
		}
		int64_t wait = st->pool_retry_at - now_ms();
		if (wait > 0) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&st->pool_cond, &st->pool_lock,
					       &ts);
			continue;
		}
		char *key = strdup(st->pool_key);
		char *image = strdup(st->pool_image);
		struct stat git = {0};
		/* What the engine mounts is what the path names now. */
		if (st->pool_git)
			lstat(st->pool_git, &git);
		unsigned gen = st->pool_gen;
		pthread_mutex_unlock(&st->pool_lock);

		struct dk_sandbox *sb = NULL;
		struct monkey_error e = {0};
		int rc = -ENOMEM;
		if (key && image)
			rc = dk_sandbox_prepare(st, key, image, 1, DK_NO_PULL,
						&sb, &e);
		if (rc == 0) {
			sb->auto_remove = 1;
			sb->git_dev = (uint64_t)git.st_dev;
			sb->git_ino = (uint64_t)git.st_ino;
		}
		if (rc == 0 && ((rc = dk_sandbox_start(sb, &e)) < 0 ||
				(rc = dk_launch_await_ready(st, sb, &e)) < 0)) {
			dk_sandbox_destroy(sb, 0);
			sb = NULL;
		}
		free(key);
		free(image);

		pthread_mutex_lock(&st->pool_lock);
		if (rc < 0) {
			int n = st->pool_failures++;
			int64_t backoff = (int64_t)DK_POOL_BACKOFF_MIN_MS
					  << (n < 6 ? n : 6);
			if (backoff > DK_POOL_BACKOFF_MAX_MS)
				backoff = DK_POOL_BACKOFF_MAX_MS;
			st->pool_retry_at = now_ms() + backoff;
			st->host->log(st->host,
				      n ? MONKEY_LOG_DEBUG : MONKEY_LOG_INFO,
				      "docker: could not prestart a pooled "
				      "container (commands run cold meanwhile; "
				      "retry in %lld ms): %s",
				      (long long)backoff, e.message);
			continue;
		}
		st->pool_failures = 0;
		st->pool_retry_at = 0;
		if (gen != st->pool_gen || st->pool_stopping ||
		    st->n_ready >= (size_t)st->pool_size) {
			/* Made for settings no longer wanted. */
			pthread_mutex_unlock(&st->pool_lock);
			dk_sandbox_destroy(sb, 0);
			pthread_mutex_lock(&st->pool_lock);
			continue;
		}
		st->ready[st->n_ready++] = sb;
		pool_changed(st);
	}
	pthread_mutex_unlock(&st->pool_lock);
	return NULL;
}

/* Called with pool_lock held. */
static void start_filler(struct dk_state *st)
{
	if (!st->filler_started && !st->pool_stopping)
		st->filler_started =
		    pthread_create(&st->filler, NULL, filler_main, st) == 0;
}

int dk_pool_exec(struct dk_state *st, const struct monkey_exec_request *req,
		 const char *image, struct monkey_exec_result *result,
		 int *handled, struct monkey_error *err)
{
	struct monkey_error e = {0};
	struct dk_sandbox *sb = NULL;
	struct dk_sandbox *drop[64];
	size_t n_drop = 0;
	char *wd = NULL;

	*handled = 0;
	if (!st->launcher || !st->ready ||
	    __atomic_load_n(&st->launcher_broken, __ATOMIC_RELAXED))
		return 0;
	/* Anything wrong with the request is the cold path's to report. */
	char *key = dk_create_body(st, req, image, st->launcher, 1, &e);
	if (!key)
		return 0;
	struct dk_git git;
	dk_git_protected(st, req, &git);
	if (req->workspace && req->workdir &&
	    !(wd = dk_container_workdir(req))) {
		free(key);
		free(git.path);
		return 0;
	}

	pthread_mutex_lock(&st->pool_lock);
	if (st->pool_stopping) {
		pthread_mutex_unlock(&st->pool_lock);
		free(key);
		free(wd);
		free(git.path);
		return 0;
	}
	if (!st->pool_key || strcmp(st->pool_key, key) ||
	    strcmp(st->pool_image, image)) {
		/* New settings: what was prestarted for the old ones goes. */
		char *img = strdup(image);
		if (img) {
			for (size_t i = 0; i < st->n_ready && n_drop < 64; i++)
				drop[n_drop++] = st->ready[i];
			st->n_ready = 0;
			pool_changed(st);
			free(st->pool_key);
			free(st->pool_image);
			free(st->pool_git);
			st->pool_key = key;
			st->pool_image = img;
			st->pool_git = git.path;
			key = NULL;
			git.path = NULL;
			st->pool_gen++;
			st->pool_failures = 0;
			st->pool_retry_at = 0;
			start_filler(st);
			pthread_cond_signal(&st->pool_cond);
		}
	} else {
		while (!sb && st->n_ready) {
			struct dk_sandbox *c = st->ready[0];
			memmove(st->ready, st->ready + 1,
				--st->n_ready * sizeof(*st->ready));
			/* Its process ended (killed from outside, engine
			 * restarted), or the .git it mounted is not the one
			 * there now: not usable. */
			if (dk_attach_stale(c->att) ||
			    (git.path &&
			     (c->git_dev != git.dev || c->git_ino != git.ino)))
				drop[n_drop++] = c;
			else
				sb = c;
			pool_changed(st);
		}
		pthread_cond_signal(&st->pool_cond);
	}
	pthread_mutex_unlock(&st->pool_lock);
	free(key);
	free(git.path);
	for (size_t i = 0; i < n_drop; i++)
		dk_sandbox_destroy(drop[i], 1);
	if (!sb) {
		free(wd);
		return 0;
	}
	*handled = 1;
	int rc = dk_launch_run(st, sb, req, wd, 1, result, err);
	free(wd);
	return rc;
}

struct dk_sandbox *dk_pool_take(struct dk_state *st, const char *key,
				const char *image)
{
	struct dk_sandbox *sb = NULL, *drop[DK_POOL_MAX];
	size_t n_drop = 0;
	if (!st->ready)
		return NULL;
	pthread_mutex_lock(&st->pool_lock);
	if (!st->pool_stopping && st->pool_key && !strcmp(st->pool_key, key) &&
	    !strcmp(st->pool_image, image)) {
		while (!sb && st->n_ready) {
			struct dk_sandbox *c = st->ready[0];
			memmove(st->ready, st->ready + 1,
				--st->n_ready * sizeof(*st->ready));
			if (dk_attach_stale(c->att))
				drop[n_drop++] = c;
			else
				sb = c;
			pool_changed(st);
		}
		pthread_cond_signal(&st->pool_cond);
	}
	pthread_mutex_unlock(&st->pool_lock);
	for (size_t i = 0; i < n_drop; i++)
		dk_sandbox_destroy(drop[i], 1);
	return sb;
}

void dk_pool_fini(struct dk_state *st)
{
	if (!st->ready)
		return;
	pthread_mutex_lock(&st->pool_lock);
	st->pool_stopping = 1;
	int started = st->filler_started;
	pthread_cond_broadcast(&st->pool_cond);
	pthread_mutex_unlock(&st->pool_lock);
	if (started)
		pthread_join(st->filler, NULL);
	/* Their processes wait for a command: a forced delete ends them. */
	while (st->n_ready)
		dk_sandbox_destroy(st->ready[--st->n_ready], 0);
	pool_changed(st);
}
