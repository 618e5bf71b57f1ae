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
	/* An available backend's reason is a note of its probe. */
	bool why = st->reason[0] && !st->available;
	json_object_object_add(o, "reason",
			       why ? json_object_new_string(st->reason) : NULL);
	json_object_object_add(o, "note",
			       st->reason[0] && st->available
				   ? json_object_new_string(st->reason)
				   : NULL);
	return o;
}

static void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(
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
		printf("No backends found (looked in %s).\n",
		       dirs ? dirs : "?");
	} else {
		printf("%-10s %-5s %-7s %-9s %s\n", "NAME", "ABI", "SAFETY",
		       "AVAILABLE", "PATH");
		for (size_t i = 0; i < n; i++) {
			char abi[16] = "?";
			if (st[i].loaded)
				snprintf(abi, sizeof(abi), "%u.%u",
					 st[i].abi_major, st[i].abi_minor);
			printf("%-10s %-5s %-7s %-9s %s\n", st[i].name, abi,
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
				printf("           %s: %s\n",
				       st[i].available ? "note"
				       : st[i].loaded  ? "unavailable"
						       : "refused",
				       st[i].reason);
		}
	}
	monkey_backend_status_list_free(st, n);
	free(dirs);
	return 0;
}

/* {"image": image} for the backend's init, or NULL; caller frees. */
static char *image_config(const char *image)
{
	if (!image)
		return NULL;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "image", json_object_new_string(image));
	char *s = strdup(json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

static int do_info(const char *backend_dir, const char *name, const char *image,
		   bool json)
{
	struct monkey_backend_status st;
	struct monkey_error err = {0};
	memset(&st, 0, sizeof(st));
	_cleanup_free_ char *cfg = image_config(image);
	if (monkey_sandbox_info_with(backend_dir, name, cfg, &st, &err) < 0) {
		monkey_cli_error("%s", err.message);
		return MONKEY_EXIT_FAILURE;
	}
	int status = st.loaded ? 0 : MONKEY_EXIT_FAILURE;
	if (json) {
		print_json(status_json(&st));
	} else {
		printf("name:         %s\n", st.name);
		printf("path:         %s\n", st.path);
		if (st.loaded) {
			char caps[512];
			caps_string(st.capabilities, caps, sizeof(caps));
			printf("description:  %s\n", st.description);
			printf("ABI:          %u.%u\n", st.abi_major,
			       st.abi_minor);
			printf("safety:       %s\n",
			       monkey_safety_name(st.safety));
			printf("enforces:     %s\n", caps);
			printf("available:    %s%s%s%s\n",
			       st.available ? "yes" : "no",
			       !st.reason[0]  ? ""
			       : st.available ? " (note: "
					      : " - ",
			       st.reason,
			       st.reason[0] && st.available ? ")" : "");
			if (st.details) {
				putchar('\n');
				print_wrapped(st.details, 76);
			}
		} else {
			printf("refused:      %s\n", st.reason);
		}
	}
	monkey_backend_status_free(&st, 1);
	return status;
}

static void help(void)
{
	printf("Usage: monkey sandbox list [--json] [--backend-dir DIR]\n"
	       "       monkey sandbox info NAME [--json] [--backend-dir DIR] "
	       "[--image NAME]\n"
	       "\n"
	       "Lists the sandbox backends found in --backend-dir, then the\n"
	       "colon-separated MONKEY_BACKEND_PATH, then %s: for each, its\n"
	       "ABI, safety level, what it enforces, whether it can run\n"
	       "commands now (and why not) and its file.  Looking changes\n"
	       "nothing: no image is pulled, no container removed.  info\n"
	       "--image checks that image (default: MONKEY_DOCKER_IMAGE, else\n"
	       "the backend's own).\n",
	       MONKEY_BACKEND_DIR);
}

int monkey_cli_sandbox(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"backend-dir", required_argument, NULL, 'd'},
	    {"image", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	bool json = false;
	const char *dir = NULL, *image = NULL;
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
		case 'i':
			image = optarg;
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
	if (strcmp(verb, "list") == 0 && optind + 1 == argc && !image)
		return do_list(dir, json);
	if (strcmp(verb, "info") == 0 && optind + 2 == argc)
		return do_info(dir, argv[optind + 1], image, json);
	if (strcmp(verb, "list") == 0 && image)
		monkey_cli_error("sandbox list: --image goes with info, e.g. "
				 "monkey sandbox info docker --image %s",
				 image);
	else if (strcmp(verb, "info") == 0)
		monkey_cli_error("sandbox info: give exactly one backend name, "
				 "e.g. monkey sandbox info docker");
	else
		monkey_cli_error("sandbox: unknown subcommand '%s'; say 'list' "
				 "or 'info NAME'",
				 verb);
	return MONKEY_EXIT_FAILURE;
}
