/* monkey/proxy.h - monkey's egress proxy: the hosts a sandboxed command may
 * reach (an allowlist of names, presets and addresses), enforced by an HTTP
 * proxy on a unix socket that a backend makes reachable inside the sandbox,
 * with a record of every connection. */
#ifndef MONKEY_PROXY_H
#define MONKEY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <monkey/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults of struct monkey_proxy_options. */
#define MONKEY_PROXY_DEFAULT_MAX_CONNECTIONS 64
#define MONKEY_PROXY_DEFAULT_MAX_PENDING 64
#define MONKEY_PROXY_DEFAULT_MAX_HEADER (16 * 1024)
#define MONKEY_PROXY_DEFAULT_BUFFER (64 * 1024)
#define MONKEY_PROXY_DEFAULT_IDLE_MS (120 * 1000)
#define MONKEY_PROXY_DEFAULT_TOTAL_MS (60 * 60 * 1000)
#define MONKEY_PROXY_DEFAULT_CONNECT_MS (10 * 1000)
#define MONKEY_PROXY_DEFAULT_QUEUE_MS (10 * 1000)
#define MONKEY_PROXY_DEFAULT_MAX_RECORDS 4096
#define MONKEY_PROXY_MAX_DENIED 64

/* The socket's name inside the proxy's directory. */
#define MONKEY_PROXY_SOCKET_NAME "proxy.sock"
/* The port the in-sandbox forwarder (monkey-proxy-forward) listens on by
 * default, on 127.0.0.1 in the sandbox's own network namespace. */
#define MONKEY_PROXY_FORWARD_PORT 3128

/* ---- rules ----
 *
 * An --allow-domain PATTERN is one of
 *   HOST            that host only (example.com)
 *   *.DOMAIN        every subdomain of DOMAIN, not DOMAIN itself
 *   ADDRESS         an IPv4 address, or an IPv6 one in brackets ([::1])
 *   @PRESET         the hosts of a package ecosystem (see below)
 * each optionally followed by :PORT; without one, ports 80 and 443.
 * An IP literal target needs an address rule, and only an address rule
 * or a --proxy-resolve pin lets a connection reach a loopback, private,
 * link-local, CGNAT, multicast, reserved or cloud-metadata address.
 *
 * A --proxy-resolve HOST[:PORT]:ADDR[,ADDR...] value pins HOST (on PORT
 * only, when given) to those addresses, as curl's --resolve does, instead
 * of asking the resolver; the addresses count as named for HOST.  A pin
 * does not allow a host: an --allow-domain rule still must. */

/* Check one --allow-domain value.  0, or -EINVAL with a message naming
 * the value and what is expected. */
int monkey_proxy_check_allow(const char *pattern, struct monkey_error *err);
/* Check one --proxy-resolve value, likewise. */
int monkey_proxy_check_resolve(const char *spec, struct monkey_error *err);

/* The preset names ("@npm", "@pypi", "@crates", "@go", "@debian",
 * "@github"), NULL-terminated (static). */
const char *const *monkey_proxy_presets(void);
/* The hosts a preset expands to, NULL-terminated (static); NULL when name
 * is not a preset.  Name with or without the "@". */
const char *const *monkey_proxy_preset_hosts(const char *name);
/* One line on why a preset holds the hosts it does (static); NULL when
 * name is not a preset. */
const char *monkey_proxy_preset_note(const char *name);

/* ---- records ---- */

enum monkey_proxy_decision {
	MONKEY_PROXY_ALLOWED = 0, /* connected; bytes were relayed */
	MONKEY_PROXY_DENIED,	  /* 403: the rules refuse it */
	MONKEY_PROXY_BAD_REQUEST, /* 400, 405, 408, 411, 431: the request */
	MONKEY_PROXY_FAILED,	  /* 502: resolution or connect failed */
	MONKEY_PROXY_BUSY,	  /* 503: too many connections waited */
};

/* "allowed", "denied", "bad-request", "failed", "busy"; "?" else. */
const char *monkey_proxy_decision_name(int decision);

/* One connection to the proxy, handed out when it has ended.  Every
 * string is NUL-terminated, one line, and holds only printable ASCII:
 * host names are validated before they are kept. */
struct monkey_proxy_record {
	int64_t start_unix_ms; /* wall clock when the connection came */
	int64_t duration_ms;
	char method[16]; /* "CONNECT", "GET", ...; "" when none was read */
	char host[256];	 /* lower case name or IP literal (IPv6 without
			    brackets); "" when none was read */
	uint16_t port;
	char address[48]; /* the address connected to, or refused; "" */
	int decision;	  /* enum monkey_proxy_decision */
	int status;	  /* the status the proxy answered (200 for an
			     established CONNECT); for a plain HTTP request
			     the upstream's, 0 when it sent none */
	/* Why it was refused or failed, or how an allowed connection
	 * ended early ("idle timeout", "proxy closed"); "" else.  Denials
	 * name the option that would allow the connection. */
	char reason[384];
	uint64_t bytes_up;   /* relayed from the sandbox to the upstream
				(a plain request's header as forwarded) */
	uint64_t bytes_down; /* relayed from the upstream to the sandbox */
};

/* The record as one line of text for a terminal, e.g.
 * "CONNECT registry.npmjs.org:443 (104.16.0.35) allowed 200, 812 B up,
 * 1.2 MB down, 340 ms".  Returns what snprintf returns. */
int monkey_proxy_record_line(const struct monkey_proxy_record *rec, char *buf,
			     size_t len);
/* The record as a JSON object text (keys: host, port, address, method,
 * decision, status, reason, bytesUp, bytesDown, startUnixMs, durationMs).
 * Caller frees; NULL on allocation failure. */
char *monkey_proxy_record_json(const struct monkey_proxy_record *rec);

/* Called on a proxy thread as each connection ends, possibly from several
 * threads at once; must not call monkey_proxy_close.  The record is
 * borrowed for the call. */
typedef void (*monkey_proxy_record_fn)(void *ctx,
				       const struct monkey_proxy_record *rec);

/* ---- the proxy ---- */

/* Initialise with monkey_proxy_options_init(), then set fields.  Strings
 * are borrowed for the duration of monkey_proxy_open() only. */
struct monkey_proxy_options {
	const char *const *allow; /* --allow-domain values */
	size_t n_allow;
	const char *const *resolve; /* --proxy-resolve values */
	size_t n_resolve;
	/* The proxy's new private directory (mode 0700) is made in here;
	 * NULL: $TMPDIR, else /tmp. */
	const char *parent_dir;
	/* When >= 0, the directory and socket are given to this user and
	 * group (the sandbox's, when it is not the host's user); needs the
	 * privilege to chown. */
	long owner_uid, owner_gid;
	unsigned max_connections; /* served at once */
	unsigned max_pending;	  /* more wait, up to queue_timeout_ms;
				     beyond that 503 */
	size_t max_header;	  /* request header bytes, else 431 */
	size_t buffer_size;	  /* per direction per connection */
	int64_t idle_timeout_ms;  /* no byte either way (or no request) */
	int64_t total_timeout_ms; /* whole connection; 0 = none */
	int64_t connect_timeout_ms;
	int64_t queue_timeout_ms;
	size_t max_records; /* kept for monkey_proxy_drain; the oldest
			       go first (counted in dropped) */
	monkey_proxy_record_fn on_record; /* may be NULL */
	void *record_ctx;
};

void monkey_proxy_options_init(struct monkey_proxy_options *o);

struct monkey_proxy;

/* Parse the rules (errors name the bad value), make the private
 * directory and listen on its socket; serve connections on the proxy's
 * own threads (an acceptor and at most max_connections more, named
 * mk-proxy-*) until monkey_proxy_close.  Does not print, and raises no
 * SIGPIPE. */
int monkey_proxy_open(const struct monkey_proxy_options *o,
		      struct monkey_proxy **out, struct monkey_error *err);

/* The socket's path and its directory (borrowed): the directory is what
 * a backend bind-mounts into a sandbox. */
const char *monkey_proxy_socket_path(const struct monkey_proxy *p);
const char *monkey_proxy_dir(const struct monkey_proxy *p);

/* Wait until no connection is open or waiting (after a command ended, so
 * that its records are complete).  0, or -ETIMEDOUT. */
int monkey_proxy_wait_idle(struct monkey_proxy *p, int64_t timeout_ms);

/* What happened since the last drain. */
struct monkey_proxy_report {
	struct monkey_proxy_record *records; /* oldest first */
	size_t n_records;
	uint64_t dropped; /* records that did not fit max_records */
	/* Distinct "host:port" ("[v6]:port") that were denied, first seen
	 * first, at most MONKEY_PROXY_MAX_DENIED: what the agent's tool
	 * result names so that the model knows why a download failed. */
	char **denied;
	size_t n_denied;
};

/* Take the records and denied hosts gathered so far (thread-safe).
 * Free with monkey_proxy_report_free. */
int monkey_proxy_drain(struct monkey_proxy *p, struct monkey_proxy_report *out,
		       struct monkey_error *err);
void monkey_proxy_report_free(struct monkey_proxy_report *r);

/* Stop the threads, close every connection, remove the socket and its
 * directory.  Records not drained are lost.  A thread in the middle of a
 * name lookup finishes it first (bounded by the resolver's own timeouts,
 * resolv.conf's timeout and attempts).  NULL is fine. */
void monkey_proxy_close(struct monkey_proxy *p);

/* The environment a command in proxy mode gets, for a forwarder on
 * 127.0.0.1:port: HTTP_PROXY, HTTPS_PROXY, http_proxy, https_proxy,
 * NO_PROXY and no_proxy, as "NAME=value" strings, NULL-terminated.
 * Caller frees with monkey_proxy_env_free; NULL on allocation failure. */
char **monkey_proxy_env_new(unsigned port);
void monkey_proxy_env_free(char **env);

#ifdef __cplusplus
}
#endif

#endif
