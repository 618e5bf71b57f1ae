/* "monkey sandbox list" and "monkey sandbox info NAME": what backends are
 * installed, what they enforce, and whether they can run commands now. */
#include "config.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <monkey/sandbox.h>

#include "cli.h"
#include "escape.h"

static void caps_string(uint32_t caps, char *buf, size_t len)
{
	buf[0] = '\0';
	for (uint32_t bit = 1; bit; bit <<= 1) {
		if (!(caps & bit))
			continue;
		const char *n = monkey_capability_name(bit);
		if (!n)
			continue;
		if (buf[0])
			strncat(buf, ",", len - strlen(buf) - 1);
		strncat(buf, n, len - strlen(buf) - 1);
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

/* Print text wrapped at width columns (backends give one long paragraph;
 * blank-line paragraph breaks are kept). */
static void print_wrapped(const char *text, int width)
{
	int col = 0;
	const char *p = text;
	while (*p) {
		if (*p == '\n') {
			putchar('\n');
			col = 0;
			p++;
			continue;
		}
		if (*p == ' ') {
			p++;
			continue;
		}
		int len = (int)strcspn(p, " \n");
		if (col > 0 && col + 1 + len > width) {
			putchar('\n');
			col = 0;
		} else if (col > 0) {
			putchar(' ');
			col++;
		}
		fwrite(p, 1, (size_t)len, stdout);
		col += len;
		p += len;
	}
	if (col)
		putchar('\n');
}

static struct json_object *status_json(const struct monkey_backend_status *st)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(st->name));
	json_object_object_add(o, "path", json_object_new_string(st->path));
	json_object_object_add(o, "loaded",
			       json_object_new_boolean(st->loaded));
	if (st->loaded) {
		char abi[32];
		snprintf(abi, sizeof(abi), "%u.%u", st->abi_major,
			 st->abi_minor);
		json_object_object_add(o, "abi", json_object_new_string(abi));
		json_object_object_add(o, "description",
				       json_object_new_string(st->description));
		json_object_object_add(
		    o, "safety",
		    json_object_new_string(monkey_safety_name(st->safety)));
		struct json_object *caps = json_object_new_array();
		for (uint32_t bit = 1; bit; bit <<= 1)
			if ((st->capabilities & bit) &&
			    monkey_capability_name(bit))
				json_object_array_add(
				    caps, json_object_new_string(
					      monkey_capability_name(bit)));
		json_object_object_add(o, "capabilities", caps);
		json_object_object_add(
		    o, "details",
		    st->details ? json_object_new_string(st->details) : NULL);
	}
	json_object_object_add(o, "available",
			       json_object_new_boolean(st->available));
	json_object_object_add(
	    o, "reason",
	    st->reason[0] ? json_object_new_string(st->reason) : NULL);
	return o;
}

static void print_json(struct json_object *o)
{
	monkey_cli_print_json(
	    stdout,
	    json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static int do_list(const char *backend_dir, bool json)
{
	struct monkey_backend_status *st = NULL;
	size_t n = 0;
	char *dirs = NULL;
	struct monkey_error err = {0};
	if (monkey_sandbox_list(backend_dir, &st, &n, &dirs, &err) < 0) {
		monkey_cli_error("%s", err.message);
		return MONKEY_EXIT_FAILURE;
	}
	if (json) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, status_json(&st[i]));
		print_json(a);
	} else if (n == 0) {
		monkey_cli_line(stdout, "No backends found (looked in %s).",
				dirs ? dirs : "?");
	} else {
		printf("%-10s %-5s %-7s %-9s %s\n", "NAME", "ABI", "SAFETY",
		       "AVAILABLE", "PATH");
		for (size_t i = 0; i < n; i++) {
			char abi[16] = "?";
			if (st[i].loaded)
				snprintf(abi, sizeof(abi), "%u.%u",
					 st[i].abi_major, st[i].abi_minor);
			monkey_cli_line(
			    stdout, "%-10s %-5s %-7s %-9s %s", st[i].name, abi,
			    st[i].loaded ? monkey_safety_name(st[i].safety)
					 : "?",
			    st[i].available ? "yes" : "no", st[i].path);
			if (st[i].loaded) {
				char caps[512];
				caps_string(st[i].capabilities, caps,
					    sizeof(caps));
				printf("           enforces: %s\n", caps);
			}
			if (st[i].reason[0])
				monkey_cli_line(stdout, "           %s: %s",
						st[i].loaded ? "unavailable"
							     : "refused",
						st[i].reason);
		}
	}
	monkey_backend_status_list_free(st, n);
	free(dirs);
	return 0;
}

static int do_info(const char *backend_dir, const char *name, bool json)
{
	struct monkey_backend_status st;
	struct monkey_error err = {0};
	memset(&st, 0, sizeof(st));
	if (monkey_sandbox_info(backend_dir, name, &st, &err) < 0) {
		monkey_cli_error("%s", err.message);
		return MONKEY_EXIT_FAILURE;
	}
	int status = st.loaded ? 0 : MONKEY_EXIT_FAILURE;
	if (json) {
		print_json(status_json(&st));
	} else {
		monkey_cli_line(stdout, "name:         %s", st.name);
		monkey_cli_line(stdout, "path:         %s", st.path);
		if (st.loaded) {
			char caps[512];
			caps_string(st.capabilities, caps, sizeof(caps));
			monkey_cli_line(stdout, "description:  %s",
					st.description);
			printf("ABI:          %u.%u\n", st.abi_major,
			       st.abi_minor);
			printf("safety:       %s\n",
			       monkey_safety_name(st.safety));
			printf("enforces:     %s\n", caps);
			monkey_cli_line(stdout, "available:    %s%s%s",
					st.available ? "yes" : "no",
					st.reason[0] ? " - " : "", st.reason);
			_cleanup_free_ char *details =
			    st.details
				? monkey_escape(st.details, strlen(st.details),
						MONKEY_ESC_MULTILINE, NULL)
				: NULL;
			if (details) {
				putchar('\n');
				print_wrapped(details, 76);
			}
		} else {
			monkey_cli_line(stdout, "refused:      %s", st.reason);
		}
	}
	monkey_backend_status_free(&st, 1);
	return status;
}

static void help(void)
{
	printf("Usage: monkey sandbox list [--json] [--backend-dir DIR]\n"
	       "       monkey sandbox info NAME [--json] [--backend-dir DIR]\n"
	       "\n"
	       "Lists the sandbox backends found in --backend-dir, then the\n"
	       "colon-separated MONKEY_BACKEND_PATH, then %s: for each, its\n"
	       "ABI, safety level, what it enforces, whether it can run\n"
	       "commands now (and why not) and its file.\n",
	       MONKEY_BACKEND_DIR);
}

int monkey_cli_sandbox(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"backend-dir", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	bool json = false;
	const char *dir = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			help();
			return 0;
		default:
			monkey_cli_error("try 'monkey sandbox --help'");
			return MONKEY_EXIT_FAILURE;
		}
	}
	if (optind >= argc) {
		monkey_cli_error("sandbox: say 'list' or 'info NAME'");
		return MONKEY_EXIT_FAILURE;
	}
	const char *verb = argv[optind];
	if (strcmp(verb, "list") == 0 && optind + 1 == argc)
		return do_list(dir, json);
	if (strcmp(verb, "info") == 0 && optind + 2 == argc)
		return do_info(dir, argv[optind + 1], json);
	if (strcmp(verb, "info") == 0)
		monkey_cli_error("sandbox info: give exactly one backend name, "
				 "e.g. monkey sandbox info docker");
	else
		monkey_cli_error("sandbox: unknown subcommand '%s'; say 'list' "
				 "or 'info NAME'",
				 verb);
	return MONKEY_EXIT_FAILURE;
}
