/* libFuzzer target: tool arguments as a model might send them (any bytes,
 * meant to be JSON) through argument checking, workspace path confinement,
 * the read-only file tools, argv quoting, the diff shown for a file change
 * and escaping.  Errors must come back as messages, never as crashes. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "quote.h"
#include "tools.h"

static char *root;

/* A small workspace with a file, a directory and symlinks in and out. */
static void make_workspace(void)
{
	char tmpl[] = "/tmp/monkey-fuzz-XXXXXX";
	char *d = mkdtemp(tmpl);
	if (!d)
		abort();
	root = realpath(d, NULL);
	char p[4096];
	snprintf(p, sizeof(p), "%s/a.txt", root);
	FILE *f = fopen(p, "w");
	fputs("alpha\nbeta\n", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/sub", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sub/in", root);
	symlink("../a.txt", p);
	snprintf(p, sizeof(p), "%s/out", root);
	symlink("/etc", p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = {"shell_execute", "read_file",
				      "write_file",    "edit_file",
				      "list_files",    "no_such_tool"};
	if (!root)
		make_workspace();
	if (size < 1)
		return 0;
	const char *name = names[data[0] % 6];
	char *json = malloc(size);
	memcpy(json, data + 1, size - 1);
	json[size - 1] = '\0';
	struct tool_args a;
	struct monkey_error err = {0};
	int r = tools_parse(name, json, &a, &err);
	if (r == 0) {
		if (a.path) {
			char *abs = NULL;
			struct monkey_error e = {0};
			tools_path_resolve(root, a.path, TOOLS_PATH_EXISTING,
					   false, &abs, &e);
			free(abs);
		}
		if (a.kind == TOOL_READ_FILE || a.kind == TOOL_LIST_FILES) {
			char *content = NULL;
			bool is_error;
			tools_fs_run(root, &a, 1024, &content, &is_error);
			free(content);
		}
		if (a.kind == TOOL_SHELL) {
			free(monkey_quote_argv((const char *const *)a.argv.v));
			if (a.workdir) {
				char *rel = NULL;
				struct monkey_error e = {0};
				tools_shell_workdir(root, a.workdir, &rel, &e);
				free(rel);
			}
		}
	} else if (r == -EINVAL && !err.message[0]) {
		abort(); /* every refusal must say why */
	}
	/* What a person is shown: the bytes as a diff against a.txt's, and
	 * escaped, must never carry a control character raw. */
	struct tools_diff d;
	if (tools_diff("alpha\nbeta\n", 11, json, size - 1, &d) == 0) {
		if (strchr(d.text, '\033') || strchr(d.text, '\r'))
			abort();
		tools_diff_free(&d);
	}
	char *e = monkey_escape(json, size - 1, MONKEY_ESC_MULTILINE, NULL);
	for (size_t i = 0; e && e[i]; i++)
		if ((unsigned char)e[i] < 0x20 && e[i] != '\n' && e[i] != '\t')
			abort();
	free(e);
	tools_args_free(&a);
	free(json);
	return 0;
}
