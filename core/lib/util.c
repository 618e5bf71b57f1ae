/* Small helpers shared by the host library and the CLI. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* A message cut to fit ends at a character boundary: it may reach a model
 * in a JSON document, which must stay UTF-8. */
static void cut_at_character(char *s)
{
	size_t len = strlen(s);
	if (!len)
		return;
	size_t lead = len - 1;
	while (lead > 0 && ((unsigned char)s[lead] & 0xC0) == 0x80)
		lead--;
	unsigned char c = (unsigned char)s[lead];
	size_t want = c < 0x80		   ? 1
		      : (c & 0xE0) == 0xC0 ? 2
		      : (c & 0xF0) == 0xE0 ? 3
		      : (c & 0xF8) == 0xF0 ? 4
					   : 1;
	if (len - lead < want)
		s[lead] = '\0';
}

int monkey_set_error_v(struct monkey_error *err, int code, const char *fmt,
		       va_list ap)
{
	if (err) {
		err->code = code;
		int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
		if (n >= (int)sizeof(err->message))
			cut_at_character(err->message);
		/* Messages are one line. */
		for (char *p = err->message; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
	}
	return code;
}

int monkey_set_error(struct monkey_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	monkey_set_error_v(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int64_t monkey_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int monkey_strv_push_owned(struct monkey_strv *sv, char *s)
{
	if (!s)
		return -ENOMEM;
	if (sv->n + 2 > sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 8;
		char **v = realloc(sv->v, cap * sizeof(*v));
		if (!v) {
			free(s);
			return -ENOMEM;
		}
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
	return 0;
}

int monkey_strv_push(struct monkey_strv *sv, const char *s)
{
	return monkey_strv_push_owned(sv, strdup(s));
}

void monkey_strv_free(struct monkey_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

char *monkey_strv_join(const struct monkey_strv *sv, const char *sep)
{
	size_t len = 1;
	for (size_t i = 0; i < sv->n; i++)
		len += strlen(sv->v[i]) + strlen(sep);
	char *s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			strcat(s, sep);
		strcat(s, sv->v[i]);
	}
	return s;
}

char *monkey_strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* "<pid>-<start time in clock ticks since boot>": unique for the life of
 * the machine, so a later monkey can tell whether the owner of a container
 * is still alive. */
void monkey_instance_id(char *buf, size_t len)
{
	unsigned long long start = 0;
	char stat[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, stat, sizeof(stat) - 1);
		close(fd);
		if (n > 0) {
			stat[n] = '\0';
			char *p = strrchr(stat, ')');
			/* Field 22 (starttime) is the 20th after ")". */
			for (int i = 0; p && i < 20; i++)
				p = strchr(p + 1, ' ');
			if (p)
				start = strtoull(p + 1, NULL, 10);
		}
	}
	snprintf(buf, len, "%ld-%llu", (long)getpid(), start);
}
