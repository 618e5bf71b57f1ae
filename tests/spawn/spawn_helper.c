/* The command the spawn tests run: one small program whose modes behave in
 * the ways a sandboxed command can misbehave (ignore SIGTERM, setsid,
 * double-fork, hold the output pipe, flood output, write before reading
 * stdin, kill or stop its reaper), recording the pid of every process it
 * starts in a file so the tests can check that not one survives. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *pidfile;

/* Append our pid to the pid file (O_APPEND: one write per line is atomic
 * between processes). */
static void record_pid(void)
{
	if (!pidfile)
		return;
	int fd = open(pidfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		_exit(90);
	char line[32];
	int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (write(fd, line, (size_t)n) != n)
		_exit(91);
	close(fd);
}

/* A child tells its parent it has recorded its pid, so the parent cannot
 * finish (and get the child killed) before the pid is on file. */
static int ready[2];

static void ready_prepare(void)
{
	if (pipe(ready) < 0)
		_exit(93);
}

static void ready_signal(void)
{
	if (write(ready[1], "r", 1) != 1)
		_exit(94);
	close(ready[0]);
	close(ready[1]);
}

static void ready_wait(void)
{
	char c;
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		_exit(95);
	close(ready[0]);
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(92);
		}
		p += n;
		len -= (size_t)n;
	}
}

static void say(const char *s) { write_all(1, s, strlen(s)); }

static void ignore_term(void) { signal(SIGTERM, SIG_IGN); }

static void forever(void)
{
	for (;;)
		pause();
}

static void to_devnull(void)
{
	int fd = open("/dev/null", O_RDWR);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/* A classic daemon: fork, setsid, fork again, drop the terminal and the
 * output pipes; the middle process exits so the daemon is orphaned. */
static void spawn_daemon(void)
{
	ready_prepare();
	pid_t p = fork();
	if (p == 0) {
		setsid();
		if (fork() == 0) {
			to_devnull();
			ignore_term();
			record_pid();
			ready_signal();
			forever();
		}
		_exit(0);
	}
	waitpid(p, NULL, 0);
	ready_wait();
}

static int usage(void)
{
	fprintf(stderr, "spawn_helper: unknown mode\n");
	return 2;
}

/* Each argument followed by a NUL byte. */
static int m_args(int argc, char **argv)
{
	for (int i = 2; i < argc; i++)
		write_all(1, argv[i], strlen(argv[i]) + 1);
	return 0;
}

static int m_exit(int argc, char **argv)
{
	(void)argc;
	return atoi(argv[2]);
}

static int m_raise(int argc, char **argv)
{
	(void)argc;
	signal(atoi(argv[2]), SIG_DFL);
	raise(atoi(argv[2]));
	return 99;
}

/* Prints, then ignores SIGTERM and waits to be killed. */
static int m_trap_term(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ignore_term();
	record_pid();
	say("partial output\n");
	forever();
	return 0;
}

static int m_sleep(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	record_pid();
	say("partial output\n");
	forever();
	return 0;
}

/* A child that leaves our session (and ignores SIGTERM). */
static int m_setsid_grandchild(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	record_pid();
	ready_prepare();
	if (fork() == 0) {
		setsid();
		ignore_term();
		record_pid();
		ready_signal();
		forever();
	}
	ready_wait();
	say("started\n");
	forever();
	return 0;
}

/* Leaves a double-forked daemon behind; argv[2] "wait" makes
 * the main process wait to be killed instead of exiting. */
static int m_daemon(int argc, char **argv)
{
	record_pid();
	spawn_daemon();
	say("daemonized\n");
	if (argc > 2 && !strcmp(argv[2], "wait"))
		forever();
	return 0;
}

/* Leaves a setsid child that ignores SIGTERM, then sends our
 * parent (the backend's reaper) SIGKILL or SIGSTOP (argv[2]
 * "KILL" or "STOP") and waits. */
static int m_attack_reaper(int argc, char **argv)
{
	record_pid();
	ready_prepare();
	if (fork() == 0) {
		setsid();
		ignore_term();
		record_pid();
		ready_signal();
		forever();
	}
	ready_wait();
	say("attacking\n");
	int sig = argc > 2 && !strcmp(argv[2], "STOP") ? SIGSTOP : SIGKILL;
	if (kill(getppid(), sig) < 0)
		return 96;
	forever();
	return 0;
}

/* A grandchild keeps stdout and stderr open after we exit. */
static int m_hold_pipe(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	record_pid();
	ready_prepare();
	if (fork() == 0) {
		ignore_term();
		record_pid();
		ready_signal();
		forever();
	}
	ready_wait();
	say("parent done\n");
	return 0;
}

/* Exits at once, leaving a child that has closed its output
 * (so only the leftover sweep can find it). */
static int m_leave_child(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	record_pid();
	ready_prepare();
	if (fork() == 0) {
		to_devnull();
		record_pid();
		ready_signal();
		forever();
	}
	ready_wait();
	say("left a child\n");
	return 0;
}

/* Keeps forking children that ignore SIGTERM, as fast as it
 * can, until killed. */
static int m_forker(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ignore_term();
	record_pid();
	say("forking\n");
	for (int i = 0; i < 200; i++) {
		ready_prepare();
		if (fork() == 0) {
			record_pid();
			ready_signal();
			forever();
		}
		ready_wait();
		usleep(2000);
	}
	forever();
	return 0;
}

/* argv[2] bytes of 'x' (in 1 MiB writes) to stdout. */
static int m_spew(int argc, char **argv)
{
	(void)argc;
	unsigned long long left = strtoull(argv[2], NULL, 10);
	size_t sz = 1 << 20;
	char *buf = malloc(sz);
	memset(buf, 'x', sz);
	while (left) {
		size_t n = left < sz ? (size_t)left : sz;
		write_all(1, buf, n);
		left -= n;
	}
	free(buf);
	return 0;
}

/* Every byte value, then invalid UTF-8, on both streams. */
static int m_binary(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	unsigned char b[256 + 6];
	for (int i = 0; i < 256; i++)
		b[i] = (unsigned char)i;
	memcpy(b + 256, "\xc3\x28\xff\xfe\xed\xa0", 6);
	write_all(1, b, sizeof(b));
	write_all(2, b, sizeof(b));
	return 0;
}

/* Writes argv[2] bytes to stdout before reading stdin; then
 * prints how many stdin bytes it read, and their sum, to
 * stderr. */
static int m_write_then_read(int argc, char **argv)
{
	(void)argc;
	unsigned long long n = strtoull(argv[2], NULL, 10);
	char buf[65536];
	memset(buf, 'o', sizeof(buf));
	while (n) {
		size_t k = n < sizeof(buf) ? (size_t)n : sizeof(buf);
		write_all(1, buf, k);
		n -= k;
	}
	unsigned long long total = 0, sum = 0;
	ssize_t r;
	while ((r = read(0, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
		for (ssize_t i = 0; i < r; i++) {
			total++;
			sum += (unsigned char)buf[i];
		}
	char line[128];
	snprintf(line, sizeof(line), "read %llu sum %llu\n", total, sum);
	write_all(2, line, strlen(line));
	return 0;
}

/* argv[3] bytes to the file argv[2]. */
static int m_write_file(int argc, char **argv)
{
	(void)argc;
	signal(SIGXFSZ, SIG_DFL);
	FILE *f = fopen(argv[2], "w");
	if (!f)
		return 3;
	size_t n = strtoul(argv[3], NULL, 10);
	for (size_t i = 0; i < n; i++)
		fputc('f', f);
	return fclose(f) == 0 ? 0 : 4;
}

/* Uses CPU until a limit stops it. */
static int m_burn(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	volatile unsigned long x = 0;
	for (;;)
		x++;
	return 0;
}

/* Allocates argv[2] bytes and touches every page, so that all of them
 * are resident at once, then exits. */
static int m_alloc(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	size_t n = strtoull(argv[2], NULL, 10);
	volatile char *p = malloc(n);
	if (!p)
		return 1;
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 1;
	free((void *)p);
	return 0;
}

/* Uses argv[2] milliseconds of CPU time (user time, mostly), then
 * exits. */
static int m_spin(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	long ms = atol(argv[2]);
	volatile unsigned long x = 0;
	struct timespec t;
	do {
		for (int i = 0; i < 100000; i++)
			x++;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	} while (t.tv_sec * 1000 + t.tv_nsec / 1000000 < ms);
	return 0;
}

/* pid, process group and session, and whether we are the
 * leader of both. */
static int m_session(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("%s\n", getsid(0) == getpid() && getpgrp() == getpid()
			   ? "leader"
			   : "not-leader");
	return 0;
}

static int m_pwd(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return 3;
	say(cwd);
	say("\n");
	return 0;
}

/* argv[2] repeated argv[3] times on stdout and stderr, from
 * this process and from a child, with small pauses. */
static int m_tag(int argc, char **argv)
{
	(void)argc;
	int n = atoi(argv[3]);
	pid_t c = fork();
	for (int i = 0; i < n; i++) {
		char line[128];
		snprintf(line, sizeof(line), "%s %s %d\n", argv[2],
			 c == 0 ? "child" : "parent", i);
		write_all(1, line, strlen(line));
		write_all(2, line, strlen(line));
		usleep(500);
	}
	if (c == 0)
		_exit(0);
	int st;
	waitpid(c, &st, 0);
	return atoi(argv[2]) % 100;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} modes[] = {
    {"args", m_args},
    {"exit", m_exit},
    {"raise", m_raise},
    {"trap-term", m_trap_term},
    {"sleep", m_sleep},
    {"setsid-grandchild", m_setsid_grandchild},
    {"daemon", m_daemon},
    {"attack-reaper", m_attack_reaper},
    {"hold-pipe", m_hold_pipe},
    {"leave-child", m_leave_child},
    {"forker", m_forker},
    {"spew", m_spew},
    {"binary", m_binary},
    {"write-then-read", m_write_then_read},
    {"write-file", m_write_file},
    {"burn", m_burn},
    {"alloc", m_alloc},
    {"spin", m_spin},
    {"session", m_session},
    {"pwd", m_pwd},
    {"tag", m_tag},
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	pidfile = getenv("PIDFILE");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name))
			return modes[i].run(argc, argv);
	return usage();
}
