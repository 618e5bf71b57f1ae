/* monkey audit verify: check an audit log's hash chain (and MACs, given
 * the key) and name the first record that fails. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <monkey/audit.h>

#include "cli.h"

static void help(FILE *f)
{
	fprintf(f,
		"Usage: monkey audit verify FILE [--key KEYFILE]\n"
		"\n"
		"Checks an audit log written with 'monkey agent --audit-log': "
		"each record\n"
		"must hold the SHA-256 of the one before and the next number, "
		"and with\n"
		"--key an HMAC-SHA256 of itself under the key.  Names the "
		"first bad line.\n"
		"Without a key, records appended at the end or a whole file "
		"rewritten\n"
		"cannot be told from the real thing.\n"
		"\n"
		"Exit status: 0 intact; 1 tampered with; 2 bad usage or "
		"unreadable.\n");
}

static int verify(const char *path, const char *key)
{
	struct monkey_audit_check c;
	struct monkey_error err = {0};
	if (monkey_audit_verify(path, key, &c, &err) < 0) {
		monkey_cli_error("audit: %s", err.message);
		return 2;
	}
	if (c.bad_line) {
		monkey_cli_line(stdout, "%s: line %ld: %s", path, c.bad_line,
				c.reason);
		return 1;
	}
	monkey_cli_line(stdout, "%s: %ld records, chain intact%s", path,
			c.records,
			c.keyed ? ", every MAC matches"
				: " (without --key, an appended tail or a "
				  "rewritten file is not detected)");
	return 0;
}

int monkey_cli_audit(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *key = NULL;
	int c;
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'k') {
			key = optarg;
		} else if (c == 'h') {
			help(stdout);
			return 0;
		} else {
			help(stderr);
			return 2;
		}
	}
	if (optind + 2 != argc || strcmp(argv[optind], "verify")) {
		help(stderr);
		return 2;
	}
	return verify(argv[optind + 1], key);
}
