/* The egress proxy's rules and addresses: what --allow-domain and
 * --proxy-resolve accept and how they fail, what presets expand to, which
 * hosts and ports a rule allows, and which addresses are special (loopback,
 * private, metadata, ..., also inside IPv6 forms of IPv4). */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <monkey/proxy.h>

#include "proxy_rules.h"

static struct proxy_rules rules_of(const char *const *allow, size_t n)
{
	struct proxy_rules r = {0};
	struct monkey_error err = {0};
	for (size_t i = 0; i < n; i++)
		if (proxy_rules_add_allow(&r, allow[i], &err) < 0)
			fail_msg("%s: %s", allow[i], err.message);
	return r;
}

static bool allows(const struct proxy_rules *r, const char *hostport)
{
	struct proxy_host h;
	uint16_t port;
	if (proxy_parse_hostport(hostport, strlen(hostport), &h, &port))
		fail_msg("%s does not parse", hostport);
	return proxy_rules_allow(r, &h, port ? port : 443);
}

static void test_host_rule_allows_that_host_on_80_and_443(void **state)
{
	(void)state;
	const char *allow[] = {"Example.COM."};
	struct proxy_rules r = rules_of(allow, 1);
	assert_true(allows(&r, "example.com:443"));
	assert_true(allows(&r, "EXAMPLE.com:80"));
	assert_true(allows(&r, "example.com.:443"));
	assert_false(allows(&r, "example.com:8080"));
	assert_false(allows(&r, "www.example.com:443"));
	assert_false(allows(&r, "example.com.evil.test:443"));
	assert_false(allows(&r, "badexample.com:443"));
	proxy_rules_free(&r);
}

static void test_wildcard_allows_subdomains_not_the_domain(void **state)
{
	(void)state;
	const char *allow[] = {"*.example.com:8443"};
	struct proxy_rules r = rules_of(allow, 1);
	assert_true(allows(&r, "a.example.com:8443"));
	assert_true(allows(&r, "a.b.example.com:8443"));
	assert_false(allows(&r, "example.com:8443"));
	assert_false(allows(&r, "a.example.com:443"));
	assert_false(allows(&r, "aexample.com:8443"));
	proxy_rules_free(&r);
}

static void test_address_rules_match_addresses_only(void **state)
{
	(void)state;
	const char *allow[] = {"10.0.0.5", "[2001:db8::1]:8080"};
	struct proxy_rules r = rules_of(allow, 2);
	assert_true(allows(&r, "10.0.0.5:443"));
	assert_true(allows(&r, "[::ffff:10.0.0.5]:443"));
	assert_false(allows(&r, "10.0.0.6:443"));
	assert_true(allows(&r, "[2001:0db8:0::1]:8080"));
	assert_false(allows(&r, "[2001:db8::1]:443"));
	struct proxy_addr a;
	assert_int_equal(proxy_addr_parse("10.0.0.5", &a), 0);
	assert_true(proxy_rules_names(&r, NULL, &a));
	assert_int_equal(proxy_addr_parse("10.0.0.6", &a), 0);
	assert_false(proxy_rules_names(&r, NULL, &a));
	proxy_rules_free(&r);
}

static void test_presets_expand_to_their_hosts(void **state)
{
	(void)state;
	const char *allow[] = {"@npm", "@pypi",	  "@crates",
			       "@go",  "@debian", "@github"};
	struct proxy_rules r = rules_of(allow, 6);
	const char *want[] = {"registry.npmjs.org:443",
			      "pypi.org:443",
			      "files.pythonhosted.org:443",
			      "crates.io:443",
			      "static.crates.io:443",
			      "index.crates.io:443",
			      "proxy.golang.org:443",
			      "sum.golang.org:443",
			      "deb.debian.org:80",
			      "security.debian.org:80",
			      "github.com:443",
			      "codeload.github.com:443",
			      "objects.githubusercontent.com:443"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!allows(&r, want[i]))
			fail_msg("the presets do not allow %s", want[i]);
	assert_false(allows(&r, "npmjs.org:443"));
	assert_false(allows(&r, "gist.github.com:443"));
	proxy_rules_free(&r);
	/* Each preset has hosts and a note, under its name with or without
	 * the "@". */
	for (const char *const *p = monkey_proxy_presets(); *p; p++) {
		assert_non_null(monkey_proxy_preset_hosts(*p));
		assert_non_null(monkey_proxy_preset_hosts(*p + 1));
		assert_non_null(monkey_proxy_preset_note(*p));
	}
	assert_null(monkey_proxy_preset_hosts("@nope"));
	assert_string_equal(monkey_proxy_preset_hosts("npm")[0],
			    "registry.npmjs.org");
}

struct bad {
	const char *value;
	const char *says;
};

static void test_bad_allow_values_are_named_with_what_is_expected(void **state)
{
	(void)state;
	static const struct bad bad[] = {
	    {"", "empty"},
	    {"exa mple.com", "letters, digits"},
	    {"example..com", "empty label"},
	    {"example.com:0", "port"},
	    {"example.com:65536", "port"},
	    {"example.com:http", "port"},
	    {"::1", "brackets"},
	    {"[::1", "']'"},
	    {"[example.com]", "brackets hold an IPv6"},
	    {"[::1]x", "only :PORT"},
	    {"127.1", "four decimal"},
	    {"0x7f.0.0.1", "four decimal"},
	    {"*", "--network"},
	    {"*.com", "top-level"},
	    {"*.10.0.0.1", "not an address"},
	    {"@nope", "unknown preset"},
	    {"@npm:8080", "no port"},
	    {"[fe80::1%eth0]", "brackets hold an IPv6"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct monkey_error err = {0};
		char name[128];
		if (monkey_proxy_check_allow(bad[i].value, &err) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i].value);
		snprintf(name, sizeof(name), "--allow-domain '%s'",
			 bad[i].value);
		if (!strstr(err.message, name) ||
		    !strstr(err.message, bad[i].says))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].value,
				 err.message, bad[i].says);
		if (bad[i].value[0] != '@' && bad[i].value[0] != '*' &&
		    !strstr(err.message, "expected HOST"))
			fail_msg("'%s': message '%s' says nothing of what is "
				 "expected",
				 bad[i].value, err.message);
	}
	struct monkey_error err = {0};
	char label[80];
	memset(label, 'a', 64);
	strcpy(label + 64, ".com");
	assert_int_equal(monkey_proxy_check_allow(label, &err), -EINVAL);
	assert_non_null(strstr(err.message, "63"));
}

static void test_good_allow_values_pass(void **state)
{
	(void)state;
	const char *good[] = {"example.com",	   "*.example.com",
			      "example.com:8080",  "1.2.3.4",
			      "1.2.3.4:22",	   "[2001:db8::1]",
			      "[2001:db8::1]:443", "under_score.example",
			      "@github",	   "xn--bcher-kva.example"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct monkey_error err = {0};
		if (monkey_proxy_check_allow(good[i], &err) < 0)
			fail_msg("'%s': %s", good[i], err.message);
	}
}

static void test_pins_are_per_name_and_port(void **state)
{
	(void)state;
	struct proxy_rules r = {0};
	struct monkey_error err = {0};
	assert_int_equal(
	    proxy_rules_add_resolve(&r, "Mirror.test:10.0.0.5", &err), 0);
	assert_int_equal(proxy_rules_add_resolve(
			     &r, "mirror.test:8443:[fd00::5],10.0.0.6", &err),
			 0);
	const struct proxy_pin *p = proxy_rules_pin(&r, "mirror.test", 443);
	assert_non_null(p);
	assert_int_equal(p->n, 1);
	p = proxy_rules_pin(&r, "mirror.test", 8443);
	assert_non_null(p);
	assert_int_equal(p->n, 2);
	assert_false(proxy_addr_is_v4(&p->addr[0]));
	assert_null(proxy_rules_pin(&r, "other.test", 443));
	/* A pin names its addresses, for the connection that used it. */
	struct proxy_addr a;
	proxy_addr_parse("10.0.0.6", &a);
	assert_true(proxy_rules_names(&r, p, &a));
	assert_false(proxy_rules_names(&r, NULL, &a));
	/* It does not allow the host. */
	struct proxy_host h;
	uint16_t port;
	proxy_parse_hostport("mirror.test", 11, &h, &port);
	assert_false(proxy_rules_allow(&r, &h, 443));
	proxy_rules_free(&r);
}

static void test_bad_resolve_values_are_named(void **state)
{
	(void)state;
	static const struct bad bad[] = {
	    {"mirror.test", "the address is missing"},
	    {"mirror.test:", "the address is missing"},
	    {"mirror.test:443:", "the address is missing"},
	    {"mirror.test:nope", "not an IP address"},
	    {"mirror.test:::1", "not an IP address"},
	    {"mirror.test:10.0.0.5,", "missing after ','"},
	    {"10.0.0.1:10.0.0.5", "an address already"},
	    {"bad host:10.0.0.5", "letters, digits"},
	    {"mirror.test:99999:10.0.0.5", "port"},
	    {"mirror.test:1.2.3.4:80", "not an IP address"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct monkey_error err = {0};
		char name[128];
		if (monkey_proxy_check_resolve(bad[i].value, &err) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i].value);
		snprintf(name, sizeof(name), "--proxy-resolve '%s'",
			 bad[i].value);
		if (!strstr(err.message, name) ||
		    !strstr(err.message, bad[i].says) ||
		    !strstr(err.message, "expected HOST:ADDRESS"))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].value,
				 err.message, bad[i].says);
	}
}

/* ---- addresses ---- */

struct cls {
	const char *addr;
	const char *what; /* NULL: ordinary */
};

static void test_special_addresses_are_classified(void **state)
{
	(void)state;
	static const struct cls cls[] = {
	    {"8.8.8.8", NULL},
	    {"1.1.1.1", NULL},
	    {"127.0.0.1", "loopback"},
	    {"127.255.0.9", "loopback"},
	    {"10.1.2.3", "private"},
	    {"172.16.0.1", "private"},
	    {"172.31.255.255", "private"},
	    {"172.32.0.1", NULL},
	    {"192.168.1.1", "private"},
	    {"100.64.0.1", "carrier-grade NAT"},
	    {"100.127.255.255", "carrier-grade NAT"},
	    {"100.128.0.1", NULL},
	    {"169.254.1.1", "link-local"},
	    {"169.254.169.254", "cloud metadata"},
	    {"168.63.129.16", "cloud metadata"},
	    {"100.100.100.200", "cloud metadata"},
	    {"192.0.0.192", "cloud metadata"},
	    {"0.0.0.0", "unspecified"},
	    {"0.1.2.3", "unspecified"},
	    {"224.0.0.1", "multicast"},
	    {"239.255.255.250", "multicast"},
	    {"240.0.0.1", "reserved"},
	    {"255.255.255.255", "broadcast"},
	    {"198.18.0.1", "reserved"},
	    {"::", "unspecified"},
	    {"::1", "loopback"},
	    {"fe80::1", "link-local"},
	    {"fc00::1", "private"},
	    {"fd12:3456::1", "private"},
	    {"fd00:ec2::254", "cloud metadata"},
	    {"fd00:ec2::253", "private"},
	    {"ff02::1", "multicast"},
	    {"fec0::1", "private"},
	    {"2001:db8::1", "reserved"},
	    {"2606:4700::6810:84e5", NULL},
	    {"2a00:1450:4001:82b::2011", NULL},
	    /* IPv4 inside IPv6: mapped, NAT64, 6to4, the old compatible
	     * form. */
	    {"::ffff:127.0.0.1", "loopback"},
	    {"::ffff:169.254.169.254", "cloud metadata"},
	    {"::ffff:8.8.8.8", NULL},
	    {"64:ff9b::10.0.0.1", "private"},
	    {"64:ff9b::8.8.8.8", NULL},
	    {"64:ff9b:1::1", "private"},
	    {"2002:7f00:1::1", "loopback"},
	    {"2002:a9fe:a9fe::1", "cloud metadata"},
	    {"::127.0.0.1", "reserved"},
	    {"4000::1", "reserved"},
	};
	for (size_t i = 0; i < sizeof(cls) / sizeof(cls[0]); i++) {
		struct proxy_addr a;
		if (proxy_addr_parse(cls[i].addr, &a) < 0)
			fail_msg("%s does not parse", cls[i].addr);
		const char *what = proxy_addr_special(&a);
		if ((what == NULL) != (cls[i].what == NULL) ||
		    (what && strcmp(what, cls[i].what) != 0))
			fail_msg("%s: got %s, want %s", cls[i].addr,
				 what ? what : "ordinary",
				 cls[i].what ? cls[i].what : "ordinary");
	}
}

static void test_address_parsing_is_strict(void **state)
{
	(void)state;
	struct proxy_addr a;
	const char *bad[] = {"127.1",	  "0x7f.0.0.1", "017.0.0.1",
			     "1.2.3",	  "1.2.3.4.5",	"256.0.0.1",
			     "fe80::1%1", "",		" 1.2.3.4"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (proxy_addr_parse(bad[i], &a) == 0)
			fail_msg("'%s' parsed as an address", bad[i]);
	char text[PROXY_ADDR_TEXT];
	assert_int_equal(proxy_addr_parse("::ffff:1.2.3.4", &a), 0);
	assert_true(proxy_addr_is_v4(&a));
	proxy_addr_format(&a, text, sizeof(text));
	assert_string_equal(text, "1.2.3.4");
	assert_int_equal(proxy_addr_parse("2001:DB8:0:0::1", &a), 0);
	proxy_addr_format(&a, text, sizeof(text));
	assert_string_equal(text, "2001:db8::1");
}

static void test_numeric_looking_names_are_refused(void **state)
{
	(void)state;
	const char *bad[] = {"2130706433", "127.1", "0x7f000001", "a.b.123",
			     "a.0xff"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct proxy_host h;
		uint16_t port;
		if (!proxy_parse_hostport(bad[i], strlen(bad[i]), &h, &port))
			fail_msg("'%s' was taken as a name", bad[i]);
	}
	struct proxy_host h;
	uint16_t port;
	assert_null(proxy_parse_hostport("123.example", 11, &h, &port));
	assert_null(proxy_parse_hostport("a.0xzz", 6, &h, &port));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_rule_allows_that_host_on_80_and_443),
	    cmocka_unit_test(test_wildcard_allows_subdomains_not_the_domain),
	    cmocka_unit_test(test_address_rules_match_addresses_only),
	    cmocka_unit_test(test_presets_expand_to_their_hosts),
	    cmocka_unit_test(
		test_bad_allow_values_are_named_with_what_is_expected),
	    cmocka_unit_test(test_good_allow_values_pass),
	    cmocka_unit_test(test_pins_are_per_name_and_port),
	    cmocka_unit_test(test_bad_resolve_values_are_named),
	    cmocka_unit_test(test_special_addresses_are_classified),
	    cmocka_unit_test(test_address_parsing_is_strict),
	    cmocka_unit_test(test_numeric_looking_names_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
