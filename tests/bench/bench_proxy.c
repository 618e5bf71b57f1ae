/* The egress proxy benchmark (make bench-proxy): figures, not pass/fail.
 * A server on 127.0.0.1 (its own process) answers small requests and big
 * downloads; the proxy runs in this process with the server's name pinned;
 * bench-proxy-client makes the requests: directly, through the proxy's
 * socket, through monkey-proxy-forward on the host, and from inside a
 * container (the sandbox's path: forwarder, bind-mounted socket, proxy)
 * when the docker backend and its image are there.
 *   p50/p90/p99 of N small requests per path, and the p50 added over the
 *   direct requests on the host (target <= 1 ms);
 *   a BYTES download through CONNECT (target >= 200 MB/s) and the growth
 *   of this process's RSS meanwhile (target <= 8 MiB).
 *   tests/bench_proxy [-n N] [--bytes B] [--image IMG] [--no-container] */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <monkey/exec.h>
#include <monkey/proxy.h>

#define MIB (1024.0 * 1024.0)

static char builddir[4096], client[4200], forwarder[4200];
static int server_port;

/* ---- the server, in a process of its own ---- */

static void serve_one(int fd)
{
	static char block[1 << 16];
	char req[4096];
	size_t n = 0;
	while (n < sizeof(req) - 1) {
		ssize_t r = read(fd, req + n, sizeof(req) - 1 - n);
		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	unsigned long long big = 0;
	char head[256];
	if (sscanf(req, "GET /big/%llu ", &big) != 1)
		big = 0;
	int hl = big ? snprintf(head, sizeof(head),
				"HTTP/1.1 200 OK\r\nContent-Length: %llu\r\n"
				"Connection: close\r\n\r\n",
				big)
		     : snprintf(head, sizeof(head),
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
				"Connection: close\r\n\r\nok");
	if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) != hl)
		return;
	while (big) {
		size_t k = big < sizeof(block) ? (size_t)big : sizeof(block);
		ssize_t w = send(fd, block, k, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		big -= (unsigned long long)w;
	}
}

static pid_t start_server(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 512) < 0) {
		perror("server");
		exit(1);
	}
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	server_port = ntohs(sa.sin_port);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			int fd = accept(lfd, NULL, NULL);
			if (fd < 0)
				continue;
			serve_one(fd);
			close(fd);
		}
	}
	close(lfd);
	return pid;
}

/* ---- helpers ---- */

/* Run argv and return the first line of its output (static). */
static const char *run_line(char *const argv[])
{
	static char line[512];
	int p[2];
	line[0] = '\0';
	if (pipe(p) < 0)
		return line;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(line) - 1 &&
	       (r = read(p[0], line + n, sizeof(line) - 1 - n)) > 0)
		n += (size_t)r;
	line[n] = '\0';
	close(p[0]);
	waitpid(pid, NULL, 0);
	return line;
}

static pid_t start_forwarder(const char *sock, int *port)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(ready[1], 3);
		execl(forwarder, forwarder, "--port", "0", "--ready-fd", "3",
		      "--die-with-parent", sock, (char *)NULL);
		_exit(127);
	}
	close(ready[1]);
	char line[64] = "";
	ssize_t n = read(ready[0], line, sizeof(line) - 1);
	close(ready[0]);
	if (n <= 0 || sscanf(line, "ready %d", port) != 1) {
		fprintf(stderr, "the forwarder did not start (%s)\n",
			forwarder);
		exit(1);
	}
	return pid;
}

struct lat {
	const char *name;
	double p50, p90, p99;
	bool ok;
	char note[256];
};

static void parse_lat(struct lat *l, const char *line)
{
	l->ok = sscanf(line, "n=%*d p50_us=%lf p90_us=%lf p99_us=%lf", &l->p50,
		       &l->p90, &l->p99) == 3;
	if (!l->ok)
		snprintf(l->note, sizeof(l->note), "failed: %s", line);
}

static void host_latency(struct lat *l, const char *name, int n,
			 const char *mode)
{
	char count[16], port[16];
	snprintf(count, sizeof(count), "%d", n);
	snprintf(port, sizeof(port), "%d", server_port);
	char *argv[] = {client, "latency",    count, "bench.test",
			port,	(char *)mode, NULL};
	l->name = name;
	parse_lat(l, run_line(argv));
}

/* ---- inside a container ---- */

struct box {
	struct monkey_executor *ex;
	char mounts[3][4400];
	char why[1100];
};

static bool box_open(struct box *b, struct monkey_proxy *px, const char *img,
		     char *workspace)
{
	const char *m[3] = {b->mounts[0], b->mounts[1], b->mounts[2]};
	snprintf(b->mounts[0], sizeof(b->mounts[0]), "%s:/monkey-proxy:ro",
		 monkey_proxy_dir(px));
	snprintf(b->mounts[1], sizeof(b->mounts[1]),
		 "%s:/monkey/monkey-proxy-forward:ro", forwarder);
	snprintf(b->mounts[2], sizeof(b->mounts[2]),
		 "%s:/monkey/bench-proxy-client:ro", client);
	struct monkey_exec_options o;
	monkey_exec_options_init(&o);
	o.sandbox = "docker";
	o.no_fallback = true;
	o.image = img;
	o.workspace = workspace;
	o.mounts = m;
	o.n_mounts = 3;
	o.timeout_ms = 600000;
	o.explicit_set = MONKEY_OPT_MOUNTS;
	struct monkey_error err = {0};
	if (monkey_executor_open(&o, &b->ex, &err) < 0) {
		snprintf(b->why, sizeof(b->why), "%s", err.message);
		return false;
	}
	return true;
}

/* The client's line from inside a container, after the forwarder is up
 * on 3128. */
static const char *box_run(struct box *b, const char *args)
{
	static char line[1200];
	char script[1024];
	snprintf(script, sizeof(script),
		 "mkfifo /tmp/r; /monkey/monkey-proxy-forward --port 3128 "
		 "--ready-fd 3 --die-with-parent /monkey-proxy/proxy.sock "
		 "3>/tmp/r & read r </tmp/r; /monkey/bench-proxy-client %s",
		 args);
	const char *argv[] = {"sh", "-c", script, NULL};
	struct monkey_command cmd = {.argv = argv};
	struct monkey_result res;
	struct monkey_error err = {0};
	memset(&res, 0, sizeof(res));
	line[0] = '\0';
	if (monkey_executor_run(b->ex, &cmd, &res, &err) < 0) {
		snprintf(line, sizeof(line), "%s", err.message);
		return line;
	}
	char *out = monkey_capture_join(&res.out, NULL);
	snprintf(line, sizeof(line), "%s%s", out ? out : "", res.error);
	free(out);
	monkey_result_free(&res);
	return line;
}

/* ---- RSS ---- */

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char l[256];
	long v = -1;
	while (f && fgets(l, sizeof(l), f))
		if (sscanf(l, "VmRSS: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static volatile bool sampling;
static long rss_peak;

static void *sampler(void *arg)
{
	(void)arg;
	while (sampling) {
		long r = rss_kib();
		if (r > rss_peak)
			rss_peak = r;
		usleep(2000);
	}
	return NULL;
}

struct dl {
	double mbs;
	long growth_kib;
	bool ok;
	char line[512];
};

static void download(struct dl *d, unsigned long long bytes, const char *mode,
		     struct box *b)
{
	char args[256], size[32], port[16];
	snprintf(size, sizeof(size), "%llu", bytes);
	snprintf(port, sizeof(port), "%d", server_port);
	long before = rss_kib();
	rss_peak = before;
	sampling = true;
	pthread_t t;
	pthread_create(&t, NULL, sampler, NULL);
	const char *line;
	if (b) {
		snprintf(args, sizeof(args), "download bench.test %s %s %s",
			 port, size, mode);
		line = box_run(b, args);
	} else {
		char *argv[] = {client, "download",   "bench.test", port,
				size,	(char *)mode, NULL};
		line = run_line(argv);
	}
	sampling = false;
	pthread_join(t, NULL);
	unsigned long long got = 0;
	double s = 0;
	snprintf(d->line, sizeof(d->line), "%s", line);
	d->ok = sscanf(line, "bytes=%llu seconds=%lf", &got, &s) == 2 &&
		got >= bytes && s > 0;
	d->mbs = d->ok ? (double)got / 1e6 / s : 0;
	d->growth_kib = rss_peak - before;
}

/* ---- report ---- */

static void print_lat(const struct lat *l, const struct lat *direct)
{
	if (!l->ok) {
		printf("  %-34s %s\n", l->name, l->note);
		return;
	}
	printf("  %-34s %8.0f %8.0f %8.0f", l->name, l->p50, l->p90, l->p99);
	if (l != direct && direct->ok)
		printf("   %+7.0f", l->p50 - direct->p50);
	printf("\n");
}

static void print_dl(const char *name, const struct dl *d)
{
	if (!d->ok)
		printf("  %-40s failed: %s\n", name, d->line);
	else
		printf("  %-40s %8.0f MB/s   RSS growth %6.2f MiB\n", name,
		       d->mbs, d->growth_kib / 1024.0);
}

struct opts {
	int n;
	unsigned long long bytes;
	const char *image;
	bool container;
};

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"bytes", required_argument, NULL, 'b'},
	    {"image", required_argument, NULL, 'i'},
	    {"no-container", no_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "n:", lo, NULL)) != -1) {
		if (c == 'n')
			o->n = atoi(optarg);
		else if (c == 'b')
			o->bytes = strtoull(optarg, NULL, 10);
		else if (c == 'i')
			o->image = optarg;
		else if (c == 'c')
			o->container = false;
		else
			exit(2);
	}
	if (o->n < 10 || !o->bytes)
		exit(2);
}

static struct monkey_proxy *open_proxy(void)
{
	char rule[64];
	const char *allow[] = {rule};
	const char *resolve[] = {"bench.test:127.0.0.1"};
	snprintf(rule, sizeof(rule), "bench.test:%d", server_port);
	struct monkey_proxy_options po;
	monkey_proxy_options_init(&po);
	po.allow = allow;
	po.n_allow = 1;
	po.resolve = resolve;
	po.n_resolve = 1;
	po.max_records = 16; /* the oldest go: a bounded record */
	struct monkey_proxy *px = NULL;
	struct monkey_error err = {0};
	if (monkey_proxy_open(&po, &px, &err) < 0) {
		fprintf(stderr, "proxy: %s\n", err.message);
		exit(1);
	}
	return px;
}

static void latency_rows(const struct opts *o, struct monkey_proxy *px,
			 int fport, struct box *b, bool boxed)
{
	struct lat l[6] = {{0}};
	char tcp[32], conn[32], unx[4200], args[128];
	snprintf(tcp, sizeof(tcp), "tcp:%d", fport);
	snprintf(conn, sizeof(conn), "connect:%d", fport);
	snprintf(unx, sizeof(unx), "unix:%s", monkey_proxy_socket_path(px));
	host_latency(&l[0], "direct to the server (host)", o->n, "direct");
	host_latency(&l[1], "proxy socket, plain HTTP (host)", o->n, unx);
	host_latency(&l[2], "forwarder, plain HTTP (host)", o->n, tcp);
	host_latency(&l[3], "forwarder, CONNECT (host)", o->n, conn);
	l[4].name = "forwarder, plain HTTP (container)";
	l[5].name = "forwarder, CONNECT (container)";
	for (int i = 4; i < 6; i++) {
		if (!boxed) {
			snprintf(l[i].note, sizeof(l[i].note), "not run: %s",
				 b->why);
			continue;
		}
		snprintf(args, sizeof(args), "latency %d bench.test %d %s",
			 o->n, server_port,
			 i == 4 ? "tcp:3128" : "connect:3128");
		parse_lat(&l[i], box_run(b, args));
	}
	printf("%d small requests each (a new connection per request), "
	       "microseconds:\n",
	       o->n);
	printf("  %-34s %8s %8s %8s   %s\n", "path", "p50", "p90", "p99",
	       "p50 added");
	for (int i = 0; i < 6; i++)
		print_lat(&l[i], &l[0]);
}

static void download_rows(const struct opts *o, struct monkey_proxy *px,
			  int fport, struct box *b, bool boxed)
{
	struct dl d[3] = {{0}};
	char conn[32], uconn[4200];
	snprintf(conn, sizeof(conn), "connect:%d", fport);
	snprintf(uconn, sizeof(uconn), "uconnect:%s",
		 monkey_proxy_socket_path(px));
	download(&d[0], o->bytes, uconn, NULL);
	download(&d[1], o->bytes, conn, NULL);
	if (boxed)
		download(&d[2], o->bytes, "connect:3128", b);
	printf("\n%.0f MiB through CONNECT (RSS: this process, which runs "
	       "the proxy):\n",
	       o->bytes / MIB);
	print_dl("proxy socket (host)", &d[0]);
	print_dl("forwarder (host)", &d[1]);
	if (boxed)
		print_dl("forwarder (container)", &d[2]);
}

int main(int argc, char **argv)
{
	struct opts o = {.n = 1000, .bytes = 256ull << 20, .container = true};
	o.image = getenv("MONKEY_DOCKER_IMAGE");
	parse_args(argc, argv, &o);
	const char *bd = getenv("MONKEY_BUILDDIR");
	snprintf(builddir, sizeof(builddir), "%s", bd ? bd : MONKEY_BUILDDIR);
	snprintf(client, sizeof(client), "%s/tests/bench/bench-proxy-client",
		 builddir);
	snprintf(forwarder, sizeof(forwarder), "%s/core/proxy/monkey-proxy-forward",
		 builddir);
	signal(SIGPIPE, SIG_IGN);
	pid_t server = start_server();
	struct monkey_proxy *px = open_proxy();
	int fport;
	pid_t fwd = start_forwarder(monkey_proxy_socket_path(px), &fport);
	char workspace[] = "/tmp/monkey-bench-proxy-XXXXXX";
	struct box b = {0};
	bool boxed = false;
	if (!mkdtemp(workspace))
		exit(1);
	if (o.container)
		boxed = box_open(&b, px, o.image, workspace);
	else
		snprintf(b.why, sizeof(b.why), "--no-container");
	printf("monkey egress proxy benchmark (loopback only; a shared "
	       "machine: figures are noisy)\n\n");
	latency_rows(&o, px, fport, &b, boxed);
	download_rows(&o, px, fport, &b, boxed);
	printf("\ntargets: p50 added <= 1000 us (container row), >= 200 MB/s, "
	       "RSS growth <= 8 MiB\n");
	if (b.ex)
		monkey_executor_close(b.ex);
	rmdir(workspace);
	kill(fwd, SIGTERM);
	waitpid(fwd, NULL, 0);
	monkey_proxy_close(px);
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	return 0;
}
