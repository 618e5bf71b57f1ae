/* Internals of the egress proxy shared by its files: the proxy itself, the
 * connection slots its threads serve, and the calls between the acceptor
 * (proxy.c), a connection's life (proxy_conn.c), dialing (proxy_dial.c)
 * and relaying (proxy_relay.c). */
#ifndef MONKEY_PROXY_INT_H
#define MONKEY_PROXY_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <monkey/proxy.h>

#include "proxy_request.h"
#include "proxy_rules.h"
#include "util.h"

struct monkey_proxy;

enum slot_state {
	SLOT_FREE = 0, /* no thread */
	SLOT_BUSY,     /* its thread serves connections */
	SLOT_DONE,     /* its thread has ended; to be joined */
};

/* One thread's worth of serving: the two fixed buffers it reuses for
 * every connection it serves. */
struct proxy_slot {
	struct monkey_proxy *p;
	pthread_t thread;
	int state;	 /* enum slot_state, under p->lock */
	int fd;		 /* the first connection it is to serve */
	char *up, *down; /* buffer_size each, allocated once */
};

struct proxy_pending {
	int fd;
	int64_t since_ms;
};

struct monkey_proxy {
	struct proxy_rules rules;
	struct monkey_proxy_options o; /* scalars only: strings not kept */
	char dir[PATH_MAX];
	char sock[PATH_MAX];
	int listen_fd;
	/* Closed to stop: every poll of every thread watches its read end,
	 * which then reads as end of file. */
	int stop_pipe[2];
	pthread_t acceptor;
	bool acceptor_started;

	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when a connection ends */
	struct proxy_slot *slots;
	unsigned n_busy;
	struct proxy_pending *pending; /* a ring of max_pending */
	unsigned pending_head, n_pending;

	struct monkey_proxy_record *ring; /* max_records */
	size_t ring_head, n_ring;
	uint64_t dropped;
	char (*denied)[PROXY_HOST_MAX + 16];
	size_t n_denied;
};

/* Serve connection fd (and then whatever is pending) on slot's thread. */
void *proxy_slot_main(void *slot);

/* The next pending connection for a slot whose connection ended, or -1
 * (the slot is then marked done and its thread must return). */
int proxy_next_pending(struct monkey_proxy *p, struct proxy_slot *slot);

/* Keep a finished connection's record (and its denied host). */
void proxy_keep_record(struct monkey_proxy *p,
		       const struct monkey_proxy_record *rec);

/* A connection being served. */
struct proxy_conn {
	struct monkey_proxy *p;
	int cfd, ufd;	 /* client (sandbox) and upstream sockets */
	char *up, *down; /* the slot's buffers */
	size_t up_off, up_len, down_off, down_len;
	int64_t start_ms, last_ms;
	struct proxy_request req;
	struct monkey_proxy_record rec;
};

/* Wait until fd is ready for events (POLLIN/POLLOUT), within the idle and
 * total timeouts.  0; -ETIMEDOUT (rec.reason says which); -ECANCELED when
 * the proxy closes. */
int proxy_wait(struct proxy_conn *c, int fd, short events);
/* The same for two sockets (fd -1: not watched). */
int proxy_wait2(struct proxy_conn *c, int fd1, short ev1, int fd2, short ev2);

/* Serve one accepted connection to its end and keep its record. */
void proxy_conn_serve(struct monkey_proxy *p, struct proxy_slot *slot, int fd);

/* Resolve the request's host (pin or resolver), refuse special addresses
 * that are not named, and connect.  0 with c->ufd; else the status to
 * answer (403 or 502) with rec.reason set. */
int proxy_dial(struct proxy_conn *c);

/* Relay bytes both ways until both ends are done (CONNECT) or the
 * upstream's answer is through (a plain request, whose body is bounded by
 * its Content-Length). */
void proxy_relay(struct proxy_conn *c);

/* Answer the client with a status and a one-line text body. */
void proxy_answer(struct proxy_conn *c, int status, const char *body);

#endif
