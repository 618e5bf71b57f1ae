/* write_file and edit_file on a full file system: a 64 KiB tmpfs, mounted
 * in a private mount namespace so that nothing outlives the test, is
 * filled up, and every failed write must leave the original intact and no
 * temporary file behind.  Exits 77 (SKIP) only when mounting is not
 * permitted here. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_agent_harness.h"
#include "tools.h"

#define SKIP 77

static int failures, checks;

static void check(bool ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	/* TAP, as the cmocka programs report (tests/tap-cmocka.sh). */
	printf("%s %d - ", ok ? "ok" : "not ok", ++checks);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	if (!ok)
		failures++;
}

/* Fill the file system at dir until it refuses another byte. */
static void fill(const char *dir)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/filler", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char block[4096];
	memset(block, 'f', sizeof(block));
	ssize_t w;
	while ((w = write(fd, block, sizeof(block))) > 0)
		;
	/* The last partial page, byte by byte. */
	while (write(fd, block, 1) == 1)
		;
	check(errno == ENOSPC, "the tmpfs is full (%s)", strerror(errno));
	close(fd);
}

static char *call(const char *root, const char *tool, const char *json,
		  bool *is_error)
{
	struct tool_args a;
	struct monkey_error err = {0};
	char *content = NULL;
	if (tools_parse(tool, json, &a, &err) < 0 ||
	    tools_fs_run(root, &a, 10240, &content, is_error) < 0) {
		check(false, "%s could not run: %s", tool, err.message);
		exit(1);
	}
	tools_args_free(&a);
	printf("  %s -> %s\n", tool, content);
	return content;
}

static char *big_json(const char *head, size_t n, const char *tail)
{
	char *s = malloc(strlen(head) + n + strlen(tail) + 1);
	strcpy(s, head);
	memset(s + strlen(head), 'x', n);
	strcpy(s + strlen(head) + n, tail);
	return s;
}

static int temporaries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strstr(e->d_name, ".monkey-") != NULL;
	if (d)
		closedir(d);
	return n;
}

static void expect_enospc(const char *root, const char *tool, const char *json,
			  const char *what)
{
	bool is_error = false;
	char *c = call(root, tool, json, &is_error);
	check(is_error && strstr(c, strerror(ENOSPC)),
	      "%s on a full disk is an error naming ENOSPC", what);
	free(c);
	check(temporaries(root) == 0, "%s leaves no temporary file", what);
}

static void run(const char *root)
{
	char orig[4200];
	snprintf(orig, sizeof(orig), "%s/orig.txt", root);
	tu_write_file(orig, "original\nint b;\n");
	fill(root);

	char *json =
	    big_json("{\"path\": \"orig.txt\", \"content\": \"", 32768, "\"}");
	expect_enospc(root, "write_file", json, "write_file");
	free(json);
	json = big_json("{\"path\": \"orig.txt\", \"old_string\": \"int b;\", "
			"\"new_string\": \"",
			32768, "\"}");
	expect_enospc(root, "edit_file", json, "edit_file");
	free(json);
	char *s = ta_read(orig);
	check(s && !strcmp(s, "original\nint b;\n"),
	      "the original is intact: '%.40s'", s ? s : "(missing)");
	free(s);

	json =
	    big_json("{\"path\": \"new.txt\", \"content\": \"", 32768, "\"}");
	expect_enospc(root, "write_file", json, "a new file");
	free(json);
	char path[4200];
	snprintf(path, sizeof(path), "%s/new.txt", root);
	check(access(path, F_OK) < 0, "no half-written new file exists");
}

/* In the child: a private mount namespace with the tmpfs. */
static int child(const char *dir)
{
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") <
		0) {
		if (errno == EPERM || errno == EACCES) {
			printf("SKIP: mounting a tmpfs is not permitted here "
			       "(%s)\n",
			       strerror(errno));
			return SKIP;
		}
		printf("FAIL: cannot mount a tmpfs on %s: %s\n", dir,
		       strerror(errno));
		return 1;
	}
	char *root = realpath(dir, NULL);
	run(root);
	free(root);
	printf("1..%d\n", checks);
	return failures ? 1 : 0;
}

int main(void)
{
	char *dir = tu_mkdtemp();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int r = child(dir);
		fflush(stdout);
		_exit(r);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	tu_rmrf(dir);
	free(dir);
	if (!WIFEXITED(st)) {
		printf("FAIL: the test child was killed by signal %d\n",
		       WTERMSIG(st));
		return 1;
	}
	return WEXITSTATUS(st);
}
