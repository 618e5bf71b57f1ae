/* Resource use as the user reads it: the figures after a command's exit
 * status, and the live line while a long command runs on a terminal. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* "12 MiB" (rounded), or "640 KiB" below one MiB. */
static void size_text(int64_t bytes, char *buf, size_t len)
{
	if (bytes >= 1024 * 1024)
		snprintf(buf, len, "%lld MiB",
			 (long long)((bytes + 512 * 1024) / (1024 * 1024)));
	else
		snprintf(buf, len, "%lld KiB", (long long)(bytes / 1024));
}

void monkey_cli_usage_text(const struct monkey_result *r, char *buf, size_t len)
{
	char mem[32] = "";
	buf[0] = '\0';
	if (r->peak_memory_bytes >= 0) {
		size_text(r->peak_memory_bytes, mem, sizeof(mem));
		snprintf(buf, len, ", %s", mem);
	}
	if (r->cpu_user_ms >= 0 && r->cpu_system_ms >= 0) {
		size_t n = strlen(buf);
		snprintf(buf + n, len - n, ", %lld ms CPU",
			 (long long)(r->cpu_user_ms + r->cpu_system_ms));
	}
}

void monkey_cli_live_init(struct monkey_cli_live *l, FILE *f)
{
	l->f = f;
	l->tty = isatty(fileno(f));
	l->shown = false;
}

void monkey_cli_live_update(struct monkey_cli_live *l,
			    const struct monkey_progress *p)
{
	/* Short commands end before anybody wonders; a pipe or a file would
	 * keep every update. */
	if (!l->tty || p->elapsed_ms < 1000)
		return;
	char mem[32] = "";
	if (p->memory_bytes >= 0) {
		mem[0] = ',';
		mem[1] = ' ';
		size_text(p->memory_bytes, mem + 2, sizeof(mem) - 2);
	}
	fprintf(l->f, "\r  ... running %lld.%lld s%s\033[K",
		(long long)(p->elapsed_ms / 1000),
		(long long)(p->elapsed_ms % 1000 / 100), mem);
	fflush(l->f);
	l->shown = true;
}

void monkey_cli_live_clear(struct monkey_cli_live *l)
{
	if (!l->shown)
		return;
	fputs("\r\033[K", l->f);
	fflush(l->f);
	l->shown = false;
}
