/* Parsing and matching of the egress proxy's rules: host names, wildcards,
 * IP literals and ports of --allow-domain, the package ecosystem presets,
 * and the --proxy-resolve pins. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <monkey/proxy.h>

#include "proxy_rules.h"
#include "util.h"

/* ---- presets ---- */

struct preset {
	const char *name;
	const char *const *hosts;
	const char *note;
};

/* What each tool contacts with its default configuration. */
static const char *const npm_hosts[] = {"registry.npmjs.org", NULL};
static const char *const pypi_hosts[] = {"pypi.org", "files.pythonhosted.org",
					 NULL};
static const char *const crates_hosts[] = {"crates.io", "index.crates.io",
					   "static.crates.io", NULL};
static const char *const go_hosts[] = {"proxy.golang.org", "sum.golang.org",
				       "storage.googleapis.com", NULL};
static const char *const debian_hosts[] = {"deb.debian.org",
					   "security.debian.org", NULL};
static const char *const github_hosts[] = {
    "github.com",
    "api.github.com",
    "codeload.github.com",
    "raw.githubusercontent.com",
    "objects.githubusercontent.com",
    "release-assets.githubusercontent.com",
    NULL};

static const struct preset presets[] = {
    {"npm", npm_hosts,
     "npm and yarn's npm mode: metadata and tarballs both come from the "
     "registry"},
    {"pypi", pypi_hosts,
     "pip: the simple index on pypi.org, the files on files.pythonhosted.org"},
    {"crates", crates_hosts,
     "cargo: the sparse index, the API and the crate downloads "
     "(the old git index is on github.com: add @github)"},
    {"go", go_hosts,
     "go modules: the module proxy and the checksum database; the proxy "
     "redirects zip downloads to storage.googleapis.com, which also serves "
     "every public Google Cloud Storage bucket"},
    {"debian", debian_hosts,
     "apt on Debian: the mirror network (port 80 by default) and the "
     "security archive"},
    {"github", github_hosts,
     "git over https and GitHub downloads: the repositories, the API, "
     "archives (codeload), raw files and release assets"},
};

#define N_PRESETS (sizeof(presets) / sizeof(presets[0]))

MONKEY_EXPORT const char *const *monkey_proxy_presets(void)
{
	static const char *const names[] = {
	    "@npm", "@pypi", "@crates", "@go", "@debian", "@github", NULL};
	return names;
}

static const struct preset *find_preset(const char *name)
{
	if (!name)
		return NULL;
	if (name[0] == '@')
		name++;
	for (size_t i = 0; i < N_PRESETS; i++)
		if (strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

MONKEY_EXPORT const char *const *monkey_proxy_preset_hosts(const char *name)
{
	const struct preset *p = find_preset(name);
	return p ? p->hosts : NULL;
}

MONKEY_EXPORT const char *monkey_proxy_preset_note(const char *name)
{
	const struct preset *p = find_preset(name);
	return p ? p->note : NULL;
}

/* ---- hosts and ports ---- */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* A label resolvers could take for part of a number: all digits, or 0x
 * and hex digits. */
static bool numeric_label(const char *l, size_t n)
{
	bool hex = n > 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X');
	for (size_t i = hex ? 2 : 0; i < n; i++) {
		char c = l[i];
		if (c >= '0' && c <= '9')
			continue;
		if (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			continue;
		return false;
	}
	return true;
}

static const char *parse_name(const char *s, size_t len, struct proxy_host *h)
{
	if (len && s[len - 1] == '.') /* the root, as in "example.com." */
		len--;
	if (len == 0)
		return "the host is empty";
	if (len > 253)
		return "the host name is longer than 253 bytes";
	size_t label = 0, last = 0;
	for (size_t i = 0; i < len; i++) {
		if (!name_char(s[i]))
			return "a host name holds only letters, digits, '-', "
			       "'_' and dots";
		if (s[i] == '.') {
			if (label == 0)
				return "a host name has an empty label";
			label = 0;
			last = i + 1;
		} else if (++label > 63) {
			return "a label of the host name is longer than 63 "
			       "bytes";
		}
		h->name[i] =
		    (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	}
	if (label == 0)
		return "a host name has an empty label";
	h->name[len] = '\0';
	if (numeric_label(h->name + last, len - last))
		return "not a host name nor an IP address (a numeric last "
		       "label is an address in a form monkey does not take: "
		       "write IPv4 addresses as four decimal numbers)";
	h->is_addr = false;
	return NULL;
}

static const char *parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned v = 0;
	if (len == 0 || len > 5)
		return "the port is not a number from 1 to 65535";
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return "the port is not a number from 1 to 65535";
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return "the port is not a number from 1 to 65535";
	*port = (uint16_t)v;
	return NULL;
}

static const char *parse_literal(const char *s, size_t len,
				 struct proxy_host *h)
{
	char tmp[PROXY_HOST_MAX];
	if (len >= sizeof(tmp))
		return "the address is too long";
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (proxy_addr_parse(tmp, &h->addr) < 0)
		return NULL;
	h->is_addr = true;
	proxy_addr_format(&h->addr, h->name, sizeof(h->name));
	return NULL;
}

const char *proxy_parse_hostport(const char *s, size_t len,
				 struct proxy_host *h, uint16_t *port)
{
	const char *host = s, *colon;
	size_t hlen;
	const char *why;
	*port = 0;
	memset(h, 0, sizeof(*h));
	if (len && s[0] == '[') {
		const char *end = memchr(s, ']', len);
		if (!end)
			return "an IPv6 address in brackets lacks its ']'";
		host = s + 1;
		hlen = (size_t)(end - host);
		colon = end + 1 < s + len ? end + 1 : NULL;
		if (colon && *colon != ':')
			return "only :PORT may follow ']'";
		if ((why = parse_literal(host, hlen, h)))
			return why;
		if (!h->is_addr || memchr(host, ':', hlen) == NULL)
			return "brackets hold an IPv6 address";
	} else {
		colon = memchr(s, ':', len);
		hlen = colon ? (size_t)(colon - s) : len;
		if (colon && memchr(colon + 1, ':', len - hlen - 1))
			return "write an IPv6 address in brackets, as "
			       "[2001:db8::1]:443";
		if ((why = parse_literal(host, hlen, h)))
			return why;
		if (!h->is_addr && (why = parse_name(host, hlen, h)))
			return why;
	}
	if (colon)
		return parse_port(colon + 1, (size_t)(s + len - colon - 1),
				  port);
	return NULL;
}

/* ---- rules ---- */

#define ALLOW_EXPECTED                                                         \
	"expected HOST, *.DOMAIN, an IP address ([IPv6] in brackets) or a "    \
	"preset (@npm, @pypi, @crates, @go, @debian, @github), optionally "    \
	"followed by :PORT"

static int push_rule(struct proxy_rules *r, const struct proxy_rule *rule)
{
	struct proxy_rule *v =
	    realloc(r->rules, (r->n_rules + 1) * sizeof(*r->rules));
	if (!v)
		return -ENOMEM;
	r->rules = v;
	r->rules[r->n_rules++] = *rule;
	return 0;
}

static int add_preset(struct proxy_rules *r, const char *pattern,
		      struct monkey_error *err)
{
	const struct preset *p = find_preset(pattern);
	if (strchr(pattern, ':'))
		return monkey_set_error(err, -EINVAL,
					"--allow-domain '%s': a preset takes "
					"no port (its hosts use 80 and 443)",
					pattern);
	if (!p)
		return monkey_set_error(err, -EINVAL,
					"--allow-domain '%s': unknown preset; "
					"the presets are @npm, @pypi, "
					"@crates, @go, @debian and @github",
					pattern);
	for (const char *const *h = p->hosts; *h; h++) {
		struct proxy_rule rule = {0};
		snprintf(rule.name, sizeof(rule.name), "%s", *h);
		if (push_rule(r, &rule) < 0)
			return monkey_set_error(err, -ENOMEM, "out of memory");
	}
	return 0;
}

int proxy_rules_add_allow(struct proxy_rules *r, const char *pattern,
			  struct monkey_error *err)
{
	struct proxy_rule rule = {0};
	struct proxy_host h;
	const char *s = pattern, *why;
	if (pattern[0] == '@')
		return add_preset(r, pattern, err);
	if (strcmp(pattern, "*") == 0 || strncmp(pattern, "*:", 2) == 0)
		return monkey_set_error(err, -EINVAL,
					"--allow-domain '%s': a rule names "
					"hosts; --network gives the whole "
					"network",
					pattern);
	if (strncmp(s, "*.", 2) == 0) {
		rule.wildcard = true;
		s += 2;
	}
	why = proxy_parse_hostport(s, strlen(s), &h, &rule.port);
	if (!why && rule.wildcard && h.is_addr)
		why = "a wildcard takes a domain, not an address";
	if (!why && rule.wildcard && !strchr(h.name, '.'))
		why = "a wildcard needs a domain of two labels or more "
		      "(*.example.com), not a top-level domain";
	if (why)
		return monkey_set_error(err, -EINVAL,
					"--allow-domain '%s': %s; %s", pattern,
					why, ALLOW_EXPECTED);
	snprintf(rule.name, sizeof(rule.name), "%s", h.name);
	rule.is_addr = h.is_addr;
	rule.addr = h.addr;
	if (push_rule(r, &rule) < 0)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	return 0;
}

#define RESOLVE_EXPECTED                                                       \
	"expected HOST:ADDRESS or HOST:PORT:ADDRESS (as curl's --resolve), "   \
	"with IPv6 addresses in brackets and several addresses separated by "  \
	"commas, e.g. registry.example:10.0.0.5 or "                           \
	"mirror.example:443:[fd00::5]"

static const char *parse_pin_addrs(const char *s, struct proxy_pin *pin)
{
	while (*s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		struct proxy_host h;
		uint16_t port;
		if (pin->n == PROXY_PIN_ADDRS)
			return "more than 8 addresses";
		if (len == 0 || proxy_parse_hostport(s, len, &h, &port) ||
		    !h.is_addr || port)
			return "not an IP address (IPv6 ones in brackets)";
		if (s[0] != '[' && !proxy_addr_is_v4(&h.addr))
			return "write an IPv6 address in brackets";
		pin->addr[pin->n++] = h.addr;
		if (!end)
			break;
		s = end + 1;
		if (!*s)
			return "an address is missing after ','";
	}
	return pin->n ? NULL : "the address is missing";
}

static const char *parse_pin(const char *spec, struct proxy_pin *pin)
{
	const char *colon = strchr(spec, ':'), *rest, *why;
	struct proxy_host h;
	uint16_t port;
	if (!colon)
		return "the address is missing";
	if ((why =
		 proxy_parse_hostport(spec, (size_t)(colon - spec), &h, &port)))
		return why;
	if (h.is_addr)
		return "the host is an address already";
	snprintf(pin->name, sizeof(pin->name), "%s", h.name);
	rest = colon + 1;
	size_t digits = strspn(rest, "0123456789");
	if (digits && rest[digits] == ':') {
		if ((why = parse_port(rest, digits, &pin->port)))
			return why;
		rest += digits + 1;
	}
	return parse_pin_addrs(rest, pin);
}

int proxy_rules_add_resolve(struct proxy_rules *r, const char *spec,
			    struct monkey_error *err)
{
	struct proxy_pin pin = {0};
	const char *why = parse_pin(spec, &pin);
	if (why)
		return monkey_set_error(err, -EINVAL,
					"--proxy-resolve '%s': %s; %s", spec,
					why, RESOLVE_EXPECTED);
	struct proxy_pin *v =
	    realloc(r->pins, (r->n_pins + 1) * sizeof(*r->pins));
	if (!v)
		return monkey_set_error(err, -ENOMEM, "out of memory");
	r->pins = v;
	r->pins[r->n_pins++] = pin;
	return 0;
}

void proxy_rules_free(struct proxy_rules *r)
{
	free(r->rules);
	free(r->pins);
	memset(r, 0, sizeof(*r));
}

MONKEY_EXPORT int monkey_proxy_check_allow(const char *pattern,
					   struct monkey_error *err)
{
	struct proxy_rules r = {0};
	int rc = proxy_rules_add_allow(&r, pattern, err);
	proxy_rules_free(&r);
	return rc;
}

MONKEY_EXPORT int monkey_proxy_check_resolve(const char *spec,
					     struct monkey_error *err)
{
	struct proxy_rules r = {0};
	int rc = proxy_rules_add_resolve(&r, spec, err);
	proxy_rules_free(&r);
	return rc;
}

/* ---- matching ---- */

static bool port_ok(const struct proxy_rule *rule, uint16_t port)
{
	return rule->port ? rule->port == port : port == 80 || port == 443;
}

static bool name_matches(const struct proxy_rule *rule, const char *name)
{
	if (!rule->wildcard)
		return strcmp(rule->name, name) == 0;
	size_t n = strlen(name), d = strlen(rule->name);
	return n > d + 1 && name[n - d - 1] == '.' &&
	       strcmp(name + n - d, rule->name) == 0;
}

bool proxy_rules_allow(const struct proxy_rules *r, const struct proxy_host *h,
		       uint16_t port)
{
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct proxy_rule *rule = &r->rules[i];
		if (rule->is_addr != h->is_addr || !port_ok(rule, port))
			continue;
		if (h->is_addr ? proxy_addr_equal(&rule->addr, &h->addr)
			       : name_matches(rule, h->name))
			return true;
	}
	return false;
}

const struct proxy_pin *proxy_rules_pin(const struct proxy_rules *r,
					const char *name, uint16_t port)
{
	const struct proxy_pin *any = NULL;
	for (size_t i = 0; i < r->n_pins; i++) {
		const struct proxy_pin *pin = &r->pins[i];
		if (strcmp(pin->name, name) != 0)
			continue;
		if (pin->port == port)
			return pin;
		if (pin->port == 0 && !any)
			any = pin;
	}
	return any;
}

bool proxy_rules_names(const struct proxy_rules *r, const struct proxy_pin *pin,
		       const struct proxy_addr *a)
{
	for (size_t i = 0; pin && i < pin->n; i++)
		if (proxy_addr_equal(&pin->addr[i], a))
			return true;
	for (size_t i = 0; i < r->n_rules; i++)
		if (r->rules[i].is_addr &&
		    proxy_addr_equal(&r->rules[i].addr, a))
			return true;
	return false;
}
