/* monkey cache list | prune: the dependency caches --cache made, the
 * host's directories and, given a backend that keeps volumes (--docker),
 * its volumes. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

enum { OPT_OLDER_THAN = 1000 };

struct entry {
	char where[32];
	char name[80];
	int64_t size, last_use;
};

struct list {
	struct entry *v;
	size_t n;
};

static void collect(void *ctx, const char *where, const char *name,
		    int64_t size, int64_t last_use)
{
	struct list *l = ctx;
	struct entry *v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return;
	l->v = v;
	struct entry *e = &v[l->n++];
	snprintf(e->where, sizeof(e->where), "%s", where);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->size = size;
	e->last_use = last_use;
}

static void help(FILE *f)
{
	fprintf(f,
		"Usage: monkey cache list [--docker | --sandbox NAME]\n"
		"       monkey cache prune [NAME...] [--older-than DAYS] "
		"[--docker | --sandbox NAME]\n"
		"\n"
		"Lists or removes the dependency caches that --cache made: "
		"directories\n"
		"under $XDG_CACHE_HOME/monkey/caches (else "
		"~/.cache/monkey/caches), and\n"
		"with --docker (DOCKER_HOST picks docker or podman) the "
		"engine's\n"
		"monkey-cache-NAME volumes.  prune removes the caches named, "
		"or all;\n"
		"--older-than keeps those used in the last DAYS days.\n");
}

static void print(const struct entry *e)
{
	char size[32] = "?", used[32] = "unknown";
	if (e->size >= 0)
		snprintf(size, sizeof(size), "%.1f MiB",
			 (double)e->size / (1024.0 * 1024.0));
	if (e->last_use >= 0) {
		struct tm tm;
		time_t t = (time_t)e->last_use;
		localtime_r(&t, &tm);
		strftime(used, sizeof(used), "%Y-%m-%d %H:%M", &tm);
	}
	monkey_cli_line(stdout, "%-10s %-24s %12s  %s", e->where, e->name, size,
			used);
}

/* Should prune remove e?  Named ones only, when names are given; with
 * --older-than only those whose last use is known to be older. */
static bool chosen(const struct entry *e, char **names, int n_names, long days)
{
	bool named = n_names == 0;
	for (int i = 0; i < n_names; i++)
		named = named || !strcmp(names[i], e->name);
	if (!named)
		return false;
	if (days < 0)
		return true;
	return e->last_use >= 0 &&
	       (int64_t)time(NULL) - e->last_use > (int64_t)days * 86400;
}

static int prune(struct monkey_executor *ex, const struct list *l, char **names,
		 int n_names, long days)
{
	int status = 0, removed = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->v[i];
		if (!chosen(e, names, n_names, days))
			continue;
		struct monkey_error err = {0};
		if (monkey_cache_remove(ex, e->where, e->name, &err) < 0) {
			monkey_cli_error("cache: %s", err.message);
			status = 1;
			continue;
		}
		removed++;
		monkey_cli_line(stdout, "removed %s cache %s", e->where,
				e->name);
	}
	for (int i = 0; i < n_names; i++) {
		bool seen = false;
		for (size_t k = 0; k < l->n; k++)
			seen = seen || !strcmp(l->v[k].name, names[i]);
		if (!seen) {
			monkey_cli_error("cache: no cache named %s", names[i]);
			status = 1;
		}
	}
	if (!removed && !status)
		monkey_cli_line(stdout, "nothing to remove");
	return status;
}

/* Parse; returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, struct monkey_cli_sandbox *s,
		 long *days)
{
	static const struct option extra[] = {
	    {"older-than", required_argument, NULL, OPT_OLDER_THAN},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	_cleanup_free_ struct option *longopts = monkey_cli_longopts(extra);
	if (!longopts)
		return 1;
	struct monkey_error err = {0};
	int c;
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == OPT_OLDER_THAN) {
			char *end;
			*days = strtol(optarg, &end, 10);
			if (*end || *days < 0) {
				monkey_cli_error("cache: --older-than %s: "
						 "give a number of days",
						 optarg);
				return 2;
			}
			continue;
		}
		if (c == 'h') {
			help(stdout);
			return 0;
		}
		int r = monkey_cli_sandbox_option(s, c, optarg, &err);
		if (r < 0)
			monkey_cli_error("%s", err.message);
		if (r <= 0)
			return 2;
	}
	return -1;
}

int monkey_cli_cache(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "list") && strcmp(argv[1], "prune"))) {
		help(argc < 2 ? stderr : stdout);
		return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	bool pruning = !strcmp(argv[1], "prune");
	struct monkey_cli_sandbox s;
	monkey_cli_sandbox_init(&s);
	long days = -1;
	int status = parse(argc - 1, argv + 1, &s, &days);
	int first_name = optind + 1;
	struct monkey_executor *ex = NULL;
	struct monkey_error err = {0};
	if (status < 0 && !pruning && first_name < argc) {
		monkey_cli_error("cache list takes no names");
		status = 2;
	}
	if (status < 0 && s.opts.sandbox) {
		monkey_cli_sandbox_finish(&s);
		s.opts.no_fallback = true;
		s.opts.pool = 0;
		if (monkey_executor_open(&s.opts, &ex, &err) < 0) {
			monkey_cli_error("cache: %s", err.message);
			status = 1;
		}
	}
	struct list l = {0};
	if (status < 0 && monkey_caches_list(ex, collect, &l, &err) < 0) {
		monkey_cli_error("cache: %s", err.message);
		status = 1;
	}
	if (status < 0 && pruning)
		status =
		    prune(ex, &l, argv + first_name, argc - first_name, days);
	else if (status < 0) {
		for (size_t i = 0; i < l.n; i++)
			print(&l.v[i]);
		if (!l.n)
			monkey_cli_line(stdout, "no caches");
		status = 0;
	}
	free(l.v);
	monkey_executor_close(ex);
	monkey_cli_sandbox_free(&s);
	return status;
}
