/* Addresses as the egress proxy sees them: one 16-byte form for IPv4 and
 * IPv6, strict parsing of IP literals, and which addresses are special
 * (loopback, private, metadata, ...) and refused unless named. */
#ifndef MONKEY_PROXY_ADDR_H
#define MONKEY_PROXY_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util.h"

/* IPv4 addresses are kept IPv4-mapped (::ffff:a.b.c.d), so that one
 * comparison serves both families and a mapped address is the IPv4 one. */
struct proxy_addr {
	unsigned char b[16];
};

/* Longest text proxy_addr_format writes, NUL included. */
#define PROXY_ADDR_TEXT 48

/* A dotted quad (exactly four decimal parts) or an IPv6 address without
 * brackets or zone.  0, or -EINVAL. */
int proxy_addr_parse(const char *s, struct proxy_addr *out);
/* From an AF_INET or AF_INET6 socket address; -EAFNOSUPPORT else. */
int proxy_addr_from_sockaddr(const struct sockaddr *sa, struct proxy_addr *out);
/* To a socket address of the right family (AF_INET for mapped ones). */
socklen_t proxy_addr_to_sockaddr(const struct proxy_addr *a, uint16_t port,
				 struct sockaddr_storage *ss);
bool proxy_addr_is_v4(const struct proxy_addr *a);
bool proxy_addr_equal(const struct proxy_addr *x, const struct proxy_addr *y);
/* Dotted quad, or IPv6 text without brackets. */
void proxy_addr_format(const struct proxy_addr *a, char *buf, size_t len);

/* What kind of special address a is ("loopback", "private",
 * "link-local", "carrier-grade NAT", "multicast", "unspecified",
 * "broadcast", "cloud metadata", "reserved"), looking through the IPv6
 * forms that carry an IPv4 address (mapped, NAT64, 6to4); NULL when it is
 * an ordinary public address. */
const char *proxy_addr_special(const struct proxy_addr *a);

#endif
