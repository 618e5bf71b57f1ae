/* "monkey sandbox list", "monkey sandbox info NAME" and "monkey sandbox
 * verify NAME": what backends are installed, what they claim to enforce,
 * whether they can run commands now, and whether their claims hold. */
#include "config.h"

#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <monkey/sandbox.h>
#include <monkey/verify.h>

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
						st[i].available ? "note"
						: st[i].loaded	? "unavailable"
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
			printf(
			    "sessions:     %s\n",
			    (st.capabilities & MONKEY_CAP_SESSION)
				? "yes: files a command writes anywhere "
				  "persist to the session's next command"
				: "no: state does not persist; every command "
				  "of a session runs in a fresh sandbox");
			monkey_cli_line(
			    stdout, "available:    %s%s%s%s",
			    st.available ? "yes" : "no",
			    !st.reason[0]  ? ""
			    : st.available ? " (note: "
					   : " - ",
			    st.reason, st.reason[0] && st.available ? ")" : "");
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

/* Machine names of the verdicts, for --json. */
static const char *verdict_key(int v)
{
	static const char *const keys[] = {"verified",	 "failed",
					   "holds",	 "does-not-hold",
					   "not-probed", "setup-failed"};
	return v >= 0 && v <= MONKEY_VERDICT_SETUP_FAILED ? keys[v] : "unknown";
}

static struct json_object *names_of(const struct monkey_verify_report *r,
				    bool failed)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < r->n_items; i++) {
		const struct monkey_verify_item *it = &r->items[i];
		int v = it->verdict;
		if (failed ? v == MONKEY_VERDICT_FAILED
			   : it->claimed && (v == MONKEY_VERDICT_NOT_PROBED ||
					     v == MONKEY_VERDICT_SETUP_FAILED))
			json_object_array_add(a,
					      json_object_new_string(it->name));
	}
	return a;
}

static struct json_object *verify_json(const struct monkey_verify_report *r)
{
	struct json_object *o = json_object_new_object();
	char abi[32];
	snprintf(abi, sizeof(abi), "%u.%u", r->abi_major, r->abi_minor);
	json_object_object_add(o, "backend", json_object_new_string(r->name));
	json_object_object_add(o, "path", json_object_new_string(r->path));
	json_object_object_add(o, "abi", json_object_new_string(abi));
	json_object_object_add(o, "ok", json_object_new_boolean(!r->n_failed));
	json_object_object_add(o, "verified",
			       json_object_new_int64((int64_t)r->n_verified));
	json_object_object_add(o, "failed", names_of(r, true));
	json_object_object_add(o, "notProbed", names_of(r, false));
	json_object_object_add(o, "helper", json_object_new_string(r->helper));
	json_object_object_add(o, "durationMs",
			       json_object_new_int64(r->duration_ms));
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < r->n_items; i++) {
		const struct monkey_verify_item *it = &r->items[i];
		struct json_object *e = json_object_new_object();
		json_object_object_add(e, "name",
				       json_object_new_string(it->name));
		json_object_object_add(e, "claimed",
				       json_object_new_boolean(it->claimed));
		json_object_object_add(
		    e, "verdict",
		    json_object_new_string(verdict_key(it->verdict)));
		json_object_object_add(e, "tried",
				       json_object_new_string(it->tried));
		json_object_object_add(e, "happened",
				       json_object_new_string(it->happened));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "capabilities", a);
	return o;
}

static void print_verify(const struct monkey_verify_report *r)
{
	printf("backend %s (%s, ABI %u.%u)\n", r->name, r->path, r->abi_major,
	       r->abi_minor);
	printf("probe helper: %s\n\n", r->helper);
	printf("%-18s %-26s %s\n", "CAPABILITY", "VERDICT",
	       "WHAT WAS TRIED / -> WHAT HAPPENED");
	for (size_t i = 0; i < r->n_items; i++) {
		const struct monkey_verify_item *it = &r->items[i];
		const char *v = monkey_verdict_name(it->verdict);
		char verdict[64];
		/* "not probed" says whether the flag is claimed. */
		if (it->verdict == MONKEY_VERDICT_NOT_PROBED ||
		    it->verdict == MONKEY_VERDICT_SETUP_FAILED)
			snprintf(verdict, sizeof(verdict), "%s, %s",
				 it->claimed ? "claimed" : "not claimed", v);
		else
			snprintf(verdict, sizeof(verdict), "%s", v);
		printf("%-18s %-26s %s\n%46s-> %s\n", it->name, verdict,
		       it->tried, "", it->happened);
	}
	printf("\n%s: %zu claimed capabilit%s verified, %zu FAILED, %zu not "
	       "probed (%.1f s)\n",
	       r->name, r->n_verified, r->n_verified == 1 ? "y" : "ies",
	       r->n_failed, r->n_not_probed, (double)r->duration_ms / 1000.0);
}

/* A backend that honours neither its timeout nor cancel_fd keeps exec
 * from returning; nothing else can stop it. */
static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] =
	    "monkey: sandbox verify: the backend has not returned from a "
	    "command for 5 minutes (it ignores both timeout and cancel); "
	    "giving up\n";
	ssize_t n = write(2, msg, sizeof(msg) - 1);
	(void)n;
	_exit(MONKEY_EXIT_FAILURE);
}

static int do_verify(const char *backend_dir, const char *name,
		     const char *image, bool json)
{
	struct monkey_verify_options o;
	monkey_verify_options_init(&o);
	o.backend_dir = backend_dir;
	o.image = image;
	struct monkey_verify_report *r = NULL;
	struct monkey_error err = {0};
	signal(SIGALRM, on_alarm);
	alarm(300);
	int rc = monkey_sandbox_verify(name, &o, &r, &err);
	alarm(0);
	if (rc < 0) {
		monkey_cli_error("%s", err.message);
		return MONKEY_EXIT_FAILURE;
	}
	if (json)
		print_json(verify_json(r));
	else
		print_verify(r);
	int status = r->n_failed ? 1 : 0;
	if (r->n_failed) {
		char names[512] = "";
		for (size_t i = 0; i < r->n_items; i++)
			if (r->items[i].verdict == MONKEY_VERDICT_FAILED)
				snprintf(names + strlen(names),
					 sizeof(names) - strlen(names), "%s%s",
					 names[0] ? ", " : "",
					 r->items[i].name);
		monkey_cli_error("backend '%s' does not do what it claims: %s "
				 "FAILED",
				 r->name, names);
	}
	monkey_verify_report_free(r);
	return status;
}

static void help(void)
{
	printf("Usage: monkey sandbox list [--json] [--backend-dir DIR]\n"
	       "       monkey sandbox info NAME [--json] [--backend-dir DIR] "
	       "[--image NAME]\n"
	       "       monkey sandbox verify NAME [--json] [--backend-dir DIR] "
	       "[--image IMAGE]\n"
	       "\n"
	       "Lists the sandbox backends found in --backend-dir, then the\n"
	       "colon-separated MONKEY_BACKEND_PATH, then %s: for each, its\n"
	       "ABI, safety level, what it enforces, whether it can run\n"
	       "commands now (and why not) and its file.  Looking changes\n"
	       "nothing: no image is pulled, no container removed.  info\n"
	       "--image checks that image (default: MONKEY_DOCKER_IMAGE, else\n"
	       "the backend's own).\n"
	       "\n"
	       "verify attacks every capability flag of backend NAME with a\n"
	       "probe (memory, pids, network, files, timeout, kill-tree,\n"
	       "...) and prints, for each, whether it holds; exit status 0\n"
	       "when no claimed capability failed, 1 when one did, 125 when\n"
	       "the backend cannot be verified at all.\n",
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
		monkey_cli_error(
		    "sandbox: say 'list', 'info NAME' or 'verify NAME'");
		return MONKEY_EXIT_FAILURE;
	}
	const char *verb = argv[optind];
	if (strcmp(verb, "list") == 0 && optind + 1 == argc && !image)
		return do_list(dir, json);
	if (strcmp(verb, "info") == 0 && optind + 2 == argc)
		return do_info(dir, argv[optind + 1], image, json);
	if (strcmp(verb, "verify") == 0 && optind + 2 == argc)
		return do_verify(dir, argv[optind + 1], image, json);
	if (strcmp(verb, "list") == 0 && image)
		monkey_cli_error("sandbox list: --image goes with info and "
				 "verify, e.g. monkey sandbox info docker "
				 "--image %s",
				 image);
	else if (strcmp(verb, "info") == 0 || strcmp(verb, "verify") == 0)
		monkey_cli_error("sandbox %s: give exactly one backend name, "
				 "e.g. monkey sandbox %s docker",
				 verb, verb);
	else
		monkey_cli_error(
		    "sandbox: unknown subcommand '%s'; say 'list', "
		    "'info NAME' or 'verify NAME'",
		    verb);
	return MONKEY_EXIT_FAILURE;
}
