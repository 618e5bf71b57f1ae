/* The client of the egress proxy benchmark (make bench-proxy): timed HTTP
 * requests to a server on the host's loopback, made directly, through the
 * proxy's unix socket or through monkey-proxy-forward's TCP port.  Built
 * static like the forwarder, so that it also runs inside a container of
 * the test image and measures there.
 *
 *   bench-proxy-client latency N HOST PORT [MODE]
 *   bench-proxy-client download HOST PORT BYTES MODE
 * MODE: direct (default), tcp:PORT (a forwarder, plain HTTP),
 *       connect:PORT (a forwarder, CONNECT then the request),
 *       unix:PATH (the proxy's socket, plain HTTP),
 *       uconnect:PATH (the proxy's socket, CONNECT then the request).
 * Prints one line: "n=N p50_us=.. p90_us=.. p99_us=.. min_us=.." or
 * "bytes=N seconds=S". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *host;
static int port;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int dial_tcp(int p)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)p),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

static int dial_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w <= 0) {
			perror("write");
			exit(1);
		}
		s += w;
		n -= (size_t)w;
	}
}

/* Read through the end of a header (one byte at a time: only the proxy's
 * short CONNECT answer is read so). */
static void read_header(int fd)
{
	char c, last[4] = {0};
	while (read(fd, &c, 1) == 1) {
		memmove(last, last + 1, 3);
		last[3] = c;
		if (memcmp(last, "\r\n\r\n", 4) == 0)
			return;
	}
	fprintf(stderr, "no CONNECT answer\n");
	exit(1);
}

static unsigned long long read_to_end(int fd)
{
	static char buf[1 << 16];
	unsigned long long total = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += (unsigned long long)n;
	return total;
}

/* Open a connection for MODE and send a request for path. */
static int request(const char *mode, const char *path)
{
	char req[512];
	int fd, tunnel = 0;
	if (strcmp(mode, "direct") == 0)
		fd = dial_tcp(port);
	else if (strncmp(mode, "tcp:", 4) == 0)
		fd = dial_tcp(atoi(mode + 4));
	else if (strncmp(mode, "connect:", 8) == 0)
		fd = dial_tcp(atoi(mode + 8)), tunnel = 1;
	else if (strncmp(mode, "unix:", 5) == 0)
		fd = dial_unix(mode + 5);
	else if (strncmp(mode, "uconnect:", 9) == 0)
		fd = dial_unix(mode + 9), tunnel = 1;
	else {
		fprintf(stderr, "unknown mode %s\n", mode);
		exit(2);
	}
	if (tunnel) {
		snprintf(req, sizeof(req), "CONNECT %s:%d HTTP/1.1\r\n\r\n",
			 host, port);
		send_all(fd, req, strlen(req));
		read_header(fd);
	}
	/* Origin form straight to the server (or through a tunnel),
	 * absolute form to the proxy. */
	if (tunnel || strcmp(mode, "direct") == 0)
		snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", path, host,
			 port);
	else
		snprintf(req, sizeof(req),
			 "GET http://%s:%d%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n",
			 host, port, path, host, port);
	send_all(fd, req, strlen(req));
	return fd;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void latency(int n, const char *mode)
{
	double *us = calloc((size_t)n, sizeof(double));
	for (int i = 0; i < n; i++) {
		double t0 = now_us();
		int fd = request(mode, "/small");
		if (read_to_end(fd) == 0) {
			fprintf(stderr, "empty answer\n");
			exit(1);
		}
		close(fd);
		us[i] = now_us() - t0;
	}
	qsort(us, (size_t)n, sizeof(double), cmp);
	printf("n=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f min_us=%.1f\n", n,
	       us[n / 2], us[n * 9 / 10], us[n * 99 / 100], us[0]);
}

static void download(unsigned long long bytes, const char *mode)
{
	char path[64];
	snprintf(path, sizeof(path), "/big/%llu", bytes);
	double t0 = now_us();
	int fd = request(mode, path);
	unsigned long long got = read_to_end(fd);
	double s = (now_us() - t0) / 1e6;
	close(fd);
	printf("bytes=%llu seconds=%.3f\n", got, s);
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "latency") == 0) {
		host = argv[3];
		port = atoi(argv[4]);
		latency(atoi(argv[2]), argc > 5 ? argv[5] : "direct");
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "download") == 0) {
		host = argv[2];
		port = atoi(argv[3]);
		download(strtoull(argv[4], NULL, 10), argv[5]);
		return 0;
	}
	fprintf(stderr, "usage: bench-proxy-client latency N HOST PORT [MODE] "
			"| download HOST PORT BYTES MODE\n");
	return 2;
}
