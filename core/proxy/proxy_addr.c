/* Addresses for the egress proxy: parsing, conversion and the table of
 * special ranges a sandboxed command may not reach unless a rule names the
 * address. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxy_addr.h"

static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
						   0, 0, 0, 0, 0xff, 0xff};

static void set_v4(struct proxy_addr *a, const unsigned char v4[4])
{
	memcpy(a->b, v4_mapped_prefix, 12);
	memcpy(a->b + 12, v4, 4);
}

bool proxy_addr_is_v4(const struct proxy_addr *a)
{
	return memcmp(a->b, v4_mapped_prefix, 12) == 0;
}

bool proxy_addr_equal(const struct proxy_addr *x, const struct proxy_addr *y)
{
	return memcmp(x->b, y->b, 16) == 0;
}

/* inet_pton's AF_INET form is already strict (four decimal parts, no
 * octal or hex), unlike inet_aton and getaddrinfo, which take "127.1" and
 * "0x7f.1". */
int proxy_addr_parse(const char *s, struct proxy_addr *out)
{
	unsigned char v4[4];
	if (inet_pton(AF_INET, s, v4) == 1) {
		set_v4(out, v4);
		return 0;
	}
	if (strchr(s, '%'))
		return -EINVAL;
	if (inet_pton(AF_INET6, s, out->b) == 1)
		return 0;
	return -EINVAL;
}

int proxy_addr_from_sockaddr(const struct sockaddr *sa, struct proxy_addr *out)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		set_v4(out, (const unsigned char *)&in->sin_addr);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;
		memcpy(out->b, &in6->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

socklen_t proxy_addr_to_sockaddr(const struct proxy_addr *a, uint16_t port,
				 struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (proxy_addr_is_v4(a)) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, a->b + 12, 4);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	memcpy(&in6->sin6_addr, a->b, 16);
	return sizeof(*in6);
}

void proxy_addr_format(const struct proxy_addr *a, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	if (proxy_addr_is_v4(a))
		inet_ntop(AF_INET, a->b + 12, text, sizeof(text));
	else
		inet_ntop(AF_INET6, a->b, text, sizeof(text));
	snprintf(buf, len, "%s", text);
}

struct range {
	uint32_t net;
	unsigned bits;
	const char *what;
};

/* IPv4 ranges no sandboxed command has business with, the most specific
 * first.  Metadata services: AWS, GCP, Azure, OpenStack and others on
 * 169.254.169.254, Azure's wire server, Alibaba's (inside CGNAT anyway),
 * Oracle's 192.0.0.192 (inside 192.0.0.0/24). */
static const struct range v4_ranges[] = {
    {0xFFFFFFFFu, 32, "broadcast"},
    {0xA9FEA9FEu, 32, "cloud metadata"}, /* 169.254.169.254 */
    {0xA83F8110u, 32, "cloud metadata"}, /* 168.63.129.16 */
    {0x646464C8u, 32, "cloud metadata"}, /* 100.100.100.200 */
    {0xC00000C0u, 32, "cloud metadata"}, /* 192.0.0.192 */
    {0x00000000u, 8, "unspecified"},
    {0x0A000000u, 8, "private"},
    {0x64400000u, 10, "carrier-grade NAT"},
    {0x7F000000u, 8, "loopback"},
    {0xA9FE0000u, 16, "link-local"},
    {0xAC100000u, 12, "private"},
    {0xC0000000u, 24, "reserved"}, /* IETF protocol assignments */
    {0xC0000200u, 24, "reserved"}, /* documentation */
    {0xC0586300u, 24, "reserved"}, /* 6to4 relay anycast */
    {0xC0A80000u, 16, "private"},
    {0xC6120000u, 15, "reserved"}, /* benchmarking */
    {0xC6336400u, 24, "reserved"}, /* documentation */
    {0xCB007100u, 24, "reserved"}, /* documentation */
    {0xE0000000u, 4, "multicast"},
    {0xF0000000u, 4, "reserved"},
};

static const char *v4_special(const unsigned char *p)
{
	uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		     (uint32_t)p[2] << 8 | p[3];
	for (size_t i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++) {
		const struct range *r = &v4_ranges[i];
		uint32_t mask = r->bits ? 0xFFFFFFFFu << (32 - r->bits) : 0;
		if ((v & mask) == r->net)
			return r->what;
	}
	return NULL;
}

static bool has_prefix(const unsigned char *b, const unsigned char *prefix,
		       unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(b, prefix, whole))
		return false;
	if (!rest)
		return true;
	unsigned char mask = (unsigned char)(0xFF << (8 - rest));
	return (b[whole] & mask) == (prefix[whole] & mask);
}

struct range6 {
	unsigned char prefix[16];
	unsigned bits;
	const char *what;
};

static const struct range6 v6_ranges[] = {
    {{0xfd, 0, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54}, 128, "cloud metadata"},
    {{0x00, 0x64, 0xff, 0x9b, 0, 1}, 48, "private"},  /* local NAT64 */
    {{0x01, 0x00}, 64, "reserved"},		      /* discard */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "reserved"},	      /* documentation */
    {{0x20, 0x01, 0x00, 0x00}, 32, "reserved"},	      /* Teredo */
    {{0x20, 0x01, 0x00, 0x02, 0, 0}, 48, "reserved"}, /* benchmarking */
    {{0xfc}, 7, "private"},
    {{0xfe, 0x80}, 10, "link-local"},
    {{0xfe, 0xc0}, 10, "private"}, /* site-local */
    {{0xff}, 8, "multicast"},
};

const char *proxy_addr_special(const struct proxy_addr *a)
{
	static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};
	static const unsigned char loop6[16] = {[15] = 1};
	static const unsigned char any6[16] = {0};
	const unsigned char *b = a->b;
	if (proxy_addr_is_v4(a) || memcmp(b, nat64, 12) == 0)
		return v4_special(b + 12);
	if (b[0] == 0x20 && b[1] == 0x02) /* 6to4 */
		return v4_special(b + 2);
	if (memcmp(b, loop6, 16) == 0)
		return "loopback";
	if (memcmp(b, any6, 16) == 0)
		return "unspecified";
	for (size_t i = 0; i < sizeof(v6_ranges) / sizeof(v6_ranges[0]); i++)
		if (has_prefix(b, v6_ranges[i].prefix, v6_ranges[i].bits))
			return v6_ranges[i].what;
	/* Only 2000::/3 is global unicast; the rest (::/8 with the
	 * deprecated IPv4-compatible form, unassigned space) is not. */
	if ((b[0] & 0xE0) != 0x20)
		return "reserved";
	return NULL;
}
