/* The prepared root view: the first command with a given view builds it
 * and hands its user and mount namespaces over; later commands with the
 * same view enter them and take a copy of the mounts instead of building
 * them again.  Nothing a command can write lives in it: every mount of the
 * template is read-only except the workspace and read-write --mounts, and
 * /tmp, /dev/shm, /proc... are mounted fresh in each command's copy. */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rootless.h"

/* root, then each bind as source, target and mode, then the hidden paths,
 * separated by newlines (paths with a newline are possible but then only
 * make two different views share no template). */
char *rl_template_key(const struct rl_view *v)
{
	size_t len = strlen(v->root) + 2;
	for (size_t i = 0; i < v->n_binds; i++)
		len +=
		    strlen(v->binds[i].source) + strlen(v->binds[i].target) + 6;
	for (char *const *h = v->hide; h && *h; h++)
		len += strlen(*h) + 1;
	char *key = malloc(len), *p = key;
	if (!key)
		return NULL;
	p = stpcpy(p, v->root);
	*p++ = '\n';
	for (size_t i = 0; i < v->n_binds; i++) {
		p = stpcpy(p, v->binds[i].source);
		*p++ = '\n';
		p = stpcpy(p, v->binds[i].target);
		p = stpcpy(p, v->binds[i].read_only ? "\nro\n" : "\nrw\n");
	}
	for (char *const *h = v->hide; h && *h; h++) {
		p = stpcpy(p, *h);
		*p++ = '\n';
	}
	*p = '\0';
	return key;
}

void rl_template_get(struct rl_state *st, const char *key, int *userns_fd,
		     int *mntns_fd, unsigned *gen)
{
	*userns_fd = *mntns_fd = -1;
	pthread_mutex_lock(&st->lock);
	*gen = st->tmpl.gen;
	if (st->tmpl.key && !strcmp(st->tmpl.key, key)) {
		/* Copies: another thread may replace the template while
		 * this command still enters it. */
		*userns_fd = fcntl(st->tmpl.userns_fd, F_DUPFD_CLOEXEC, 3);
		*mntns_fd = fcntl(st->tmpl.mntns_fd, F_DUPFD_CLOEXEC, 3);
		if (*userns_fd < 0 || *mntns_fd < 0) {
			if (*userns_fd >= 0)
				close(*userns_fd);
			if (*mntns_fd >= 0)
				close(*mntns_fd);
			*userns_fd = *mntns_fd = -1;
		}
	}
	pthread_mutex_unlock(&st->lock);
}

void rl_template_put(struct rl_state *st, const char *key, int userns_fd,
		     int mntns_fd)
{
	char *copy = strdup(key);
	pthread_mutex_lock(&st->lock);
	if (!copy || (st->tmpl.key && !strcmp(st->tmpl.key, key))) {
		/* Another thread's is already there. */
		pthread_mutex_unlock(&st->lock);
		free(copy);
		close(userns_fd);
		close(mntns_fd);
		return;
	}
	struct rl_template old = st->tmpl;
	st->tmpl.key = copy;
	st->tmpl.userns_fd = userns_fd;
	st->tmpl.mntns_fd = mntns_fd;
	st->tmpl.gen = ++st->tmpl_gen;
	pthread_mutex_unlock(&st->lock);
	if (old.key) {
		free(old.key);
		close(old.userns_fd);
		close(old.mntns_fd);
	}
}

void rl_template_clear(struct rl_state *st)
{
	if (st->tmpl.key) {
		free(st->tmpl.key);
		close(st->tmpl.userns_fd);
		close(st->tmpl.mntns_fd);
	}
	memset(&st->tmpl, 0, sizeof(st->tmpl));
}
