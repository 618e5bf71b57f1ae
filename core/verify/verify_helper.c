/* monkey-probe: the attacks "monkey sandbox verify" needs more than sh for
 * (touch memory, fork, spin, connect, open files, crash), run inside the
 * sandbox under test.  Built static, so that it runs in an image holding
 * nothing but busybox, and bind-mounted read-only into backends that honour
 * mounts (others reach it at its host path, or the probe falls back to sh).
 *
 * Each subcommand prints one result line on stdout that the verifier
 * parses ("touched 64", "forked 16 11", ...); errors are errno numbers,
 * which the verifier names.  Everything it starts ends with it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HELPER_VERSION "monkey-probe 2"
#define MIB (1024 * 1024)

/* stdout may be a pipe the backend reads slowly: every line goes out at
 * once, so that a process killed next still told how far it got. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	ssize_t w = write(1, buf, (size_t)n);
	(void)w;
}

static long arg_num(const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*end || v < 0 || v > max) {
		say("bad-argument %s\n", s);
		exit(2);
	}
	return v;
}

/* Touch up to mb MiB, one MiB at a time, saying how far it got every
 * 4 MiB: a kill leaves the last line standing. */
static int do_alloc(long mb)
{
	long i;
	for (i = 1; i <= mb; i++) {
		char *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			say("alloc-failed %ld %d\n", i - 1, errno);
			return 3;
		}
		memset(p, (int)i, MIB);
		if (i % 4 == 0)
			say("touched %ld\n", i);
	}
	say("done %ld\n", mb);
	return 0;
}

/* Fork up to n children that wait to be killed; report how many forks
 * succeeded and the errno of the first that failed. */
static int do_fork(long n)
{
	pid_t *kids = calloc((size_t)n + 1, sizeof(*kids));
	long ok = 0;
	int e = 0;
	if (!kids)
		return 4;
	for (; ok < n; ok++) {
		pid_t pid = fork();
		if (pid < 0) {
			e = errno;
			break;
		}
		if (pid == 0) {
			/* Bounded even if nobody kills it. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			alarm(10);
			pause();
			_exit(0);
		}
		kids[ok] = pid;
	}
	say("forked %ld %d\n", ok, e);
	for (long i = 0; i < ok; i++)
		kill(kids[i], SIGKILL);
	for (long i = 0; i < ok; i++)
		waitpid(kids[i], NULL, 0);
	free(kids);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t tv_ms(struct timeval tv)
{
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void spin_until(int64_t end)
{
	volatile unsigned long x = 0;
	while (now_ms() < end)
		for (int i = 0; i < 100000; i++)
			x++;
}

/* Two processes spin for ms of wall time; report the CPU time they got. */
static int do_spin(long ms)
{
	int64_t start = now_ms(), end = start + ms;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		spin_until(end);
		_exit(0);
	}
	spin_until(end);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	int64_t wall = now_ms() - start;
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	int64_t cpu = tv_ms(self.ru_utime) + tv_ms(self.ru_stime) +
		      tv_ms(kids.ru_utime) + tv_ms(kids.ru_stime);
	say("spun %lld %lld\n", (long long)cpu, (long long)wall);
	return 0;
}

/* TCP connect with a deadline of two seconds; the numeric address only
 * (never a name: nothing leaves the machine). */
static int do_connect(const char *addr, long port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		len = sizeof(*in6);
	} else {
		say("bad-argument %s\n", addr);
		return 2;
	}
	int s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (s < 0) {
		say("connect-failed %s %d\n", addr, errno);
		return 0;
	}
	int r = connect(s, (struct sockaddr *)&ss, len);
	if (r < 0 && errno == EINPROGRESS) {
		struct pollfd p = {s, POLLOUT, 0};
		int e = 0;
		socklen_t el = sizeof(e);
		if (poll(&p, 1, 2000) == 1 &&
		    getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el) == 0)
			errno = e;
		else
			errno = ETIMEDOUT;
		r = errno ? -1 : 0;
	}
	if (r == 0) {
		ssize_t w = write(s, "monkey-verify\n", 14);
		(void)w;
		say("connected %s\n", addr);
	} else {
		say("connect-failed %s %d\n", addr, errno);
	}
	close(s);
	return 0;
}

/* Ask the egress proxy's forwarder on 127.0.0.1:proxy_port for a tunnel
 * to host:port and print its answer's status line as "answer HOST LINE"
 * (nothing when none came within three seconds). */
static int do_tunnel(long proxy_port, const char *host, long port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)proxy_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		say("tunnel-failed %s %d\n", host, errno);
		if (s >= 0)
			close(s);
		return 0;
	}
	char req[600], line[256];
	int n = snprintf(req, sizeof(req),
			 "CONNECT %.255s:%ld HTTP/1.1\r\nHost: %.255s:%ld"
			 "\r\n\r\n",
			 host, port, host, port);
	ssize_t w = write(s, req, (size_t)n);
	(void)w;
	size_t got = 0;
	struct pollfd p = {s, POLLIN, 0};
	while (got < sizeof(line) - 1 && poll(&p, 1, 3000) == 1) {
		ssize_t r = read(s, line + got, 1);
		if (r <= 0 || line[got] == '\n')
			break;
		if (line[got] != '\r')
			got++;
	}
	line[got] = '\0';
	if (got)
		say("answer %s %s\n", host, line);
	close(s);
	return 0;
}

/* Open /dev/null up to n times; report how many opens succeeded and the
 * errno of the first that failed. */
static int do_open(long n)
{
	long ok = 0;
	int e = 0;
	for (; ok < n; ok++)
		if (open("/dev/null", O_RDONLY) < 0) {
			e = errno;
			break;
		}
	say("opened %ld %d\n", ok, e);
	return 0;
}

/* A real fault: even the first process of a PID namespace dies of it,
 * where a signal sent from inside would be ignored. */
static int do_crash(void)
{
	volatile int *volatile p = NULL;
	signal(SIGSEGV, SIG_DFL);
	return *p;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	if (!strcmp(cmd, "version") && argc == 2) {
		say("%s\n", HELPER_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "alloc") && argc == 3)
		return do_alloc(arg_num(argv[2], 1 << 20));
	if (!strcmp(cmd, "fork") && argc == 3)
		return do_fork(arg_num(argv[2], 4096));
	if (!strcmp(cmd, "spin") && argc == 3)
		return do_spin(arg_num(argv[2], 60000));
	if (!strcmp(cmd, "connect") && argc == 4)
		return do_connect(argv[2], arg_num(argv[3], 65535));
	if (!strcmp(cmd, "tunnel") && argc == 5)
		return do_tunnel(arg_num(argv[2], 65535), argv[3],
				 arg_num(argv[4], 65535));
	if (!strcmp(cmd, "open") && argc == 3)
		return do_open(arg_num(argv[2], 1 << 20));
	if (!strcmp(cmd, "crash") && argc == 2)
		return do_crash();
	fprintf(stderr,
		"usage: monkey-probe version | alloc MIB | fork N | spin MS | "
		"connect ADDR PORT | tunnel PROXY-PORT HOST PORT | open N | "
		"crash\n"
		"(run by \"monkey sandbox verify\" inside a sandbox)\n");
	return 2;
}
