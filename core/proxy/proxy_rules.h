/* The egress proxy's rules: --allow-domain patterns (names, wildcards,
 * addresses, presets) and --proxy-resolve pins, parsed once and matched
 * against every request. */
#ifndef MONKEY_PROXY_RULES_H
#define MONKEY_PROXY_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <monkey/error.h>

#include "proxy_addr.h"
#include "util.h"

#define PROXY_HOST_MAX 256
#define PROXY_PIN_ADDRS 8

/* A validated host: a lower-case DNS name (no trailing dot), or an IP
 * literal (name then holds its canonical text, without brackets). */
struct proxy_host {
	char name[PROXY_HOST_MAX];
	bool is_addr;
	struct proxy_addr addr;
};

/* Parse len bytes of s as HOST, HOST:PORT, [V6] or [V6]:PORT.  *port is 0
 * when none was given.  NULL on success, else what is wrong (static).
 * Names are letters, digits, '-', '_' and dots, at most 253 bytes in
 * labels of at most 63; a name whose last label is numeric (as "127.1" or
 * "0x7f.1", which resolvers read as addresses) is refused. */
const char *proxy_parse_hostport(const char *s, size_t len,
				 struct proxy_host *h, uint16_t *port);

struct proxy_rule {
	char name[PROXY_HOST_MAX]; /* host, or the domain of a wildcard */
	bool wildcard;		   /* subdomains of name, not name */
	bool is_addr;
	struct proxy_addr addr;
	uint16_t port; /* 0: 80 and 443 */
};

struct proxy_pin {
	char name[PROXY_HOST_MAX];
	uint16_t port; /* 0: every port */
	size_t n;
	struct proxy_addr addr[PROXY_PIN_ADDRS];
};

struct proxy_rules {
	struct proxy_rule *rules;
	size_t n_rules;
	struct proxy_pin *pins;
	size_t n_pins;
};

/* Add one --allow-domain / --proxy-resolve value; -EINVAL with a message
 * naming the value and what is expected. */
int proxy_rules_add_allow(struct proxy_rules *r, const char *pattern,
			  struct monkey_error *err);
int proxy_rules_add_resolve(struct proxy_rules *r, const char *spec,
			    struct monkey_error *err);
void proxy_rules_free(struct proxy_rules *r);

/* Whether a rule allows connecting to host on port (an IP literal needs
 * an address rule). */
bool proxy_rules_allow(const struct proxy_rules *r, const struct proxy_host *h,
		       uint16_t port);
/* The pin for host name on port (a pin for that port before one for every
 * port), or NULL. */
const struct proxy_pin *proxy_rules_pin(const struct proxy_rules *r,
					const char *name, uint16_t port);
/* Whether a is named, so that a special address may be reached: by an
 * address rule (any port), or by the pin used for this connection. */
bool proxy_rules_names(const struct proxy_rules *r, const struct proxy_pin *pin,
		       const struct proxy_addr *a);

#endif
