/*
 * test_load.c - the policy loader: the sample loads, and each kind of
 * mistake yields its exact message at its exact position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "internal.h"

struct err_row {
	const char *name;
	const char *yaml;
	const char *want; /* the first error, formatted */
	size_t nerrors;
};

static const struct err_row err_rows[] = {
	/* client_addr, client_name, pairs */
	{"misspelt client_addr",
	 "version: 1\nrecipients:\n  a.example:\n    client_adr: "
	 "[192.0.2.0/24]\n",
	 "t.yaml:4:5: recipient:a.example: unknown key 'client_adr'; did you "
	 "mean 'client_addr'?",
	 1},
	{"client_addr not a network",
	 "version: 1\nrecipients:\n  a.example:\n    client_addr: "
	 "[192.0.2.0/24, 192.0.2.300]\n",
	 "t.yaml:4:33: recipient:a.example: 'client_addr': '192.0.2.300' is not "
	 "an address or network (192.0.2.0/24, 2001:db8::/32)",
	 1},
	{"client_addr prefix too long",
	 "version: 1\nrecipients:\n  a.example:\n    client_addr: "
	 "[\"2001:db8::/129\", 192.0.2.0/33]\n",
	 "t.yaml:4:19: recipient:a.example: 'client_addr': '2001:db8::/129' is "
	 "not an address or network (192.0.2.0/24, 2001:db8::/32)",
	 2},
	{"client_addr a mapping",
	 "version: 1\nrecipients:\n  a.example:\n    client_addr: {a: b}\n",
	 "t.yaml:4:18: recipient:a.example: 'client_addr' expects a list, found "
	 "a mapping",
	 1},
	{"client_name empty label",
	 "version: 1\nsenders:\n  a.example:\n    client_name: "
	 "[\"mx..a.example\"]\n",
	 "t.yaml:4:19: sender:a.example: 'client_name': 'mx..a.example' is not a "
	 "host name pattern (mx.example, .example, *.example): empty label",
	 1},
	{"client_name unknown",
	 "version: 1\nsenders:\n  a.example:\n    client_name: unknown\n",
	 "t.yaml:4:18: sender:a.example: 'client_name': 'unknown' is not a host "
	 "name pattern (mx.example, .example, *.example): Postfix's word for a "
	 "name that did not verify never matches",
	 1},
	{"client_name an address",
	 "version: 1\nsenders:\n  a.example:\n    client_name: "
	 "[\"[192.0.2.1]\"]\n",
	 "t.yaml:4:19: sender:a.example: 'client_name': '[192.0.2.1]' is not a "
	 "host name pattern (mx.example, .example, *.example)",
	 1},
	{"misspelt pairs", "version: 1\npair:\n  a.example: {}\n",
	 "t.yaml:2:1: unknown top-level key 'pair'; did you mean 'pairs'?", 1},
	{"pairs a list", "version: 1\npairs: [a]\n",
	 "t.yaml:2:8: 'pairs' expects a mapping of sender domain patterns, "
	 "found a list",
	 1},
	{"pair sender default",
	 "version: 1\npairs:\n  default:\n    b.example: {}\n",
	 "t.yaml:3:3: pairs: a pair names a sender domain pattern; 'default' "
	 "belongs under 'senders'",
	 1},
	{"pair recipient default",
	 "version: 1\npairs:\n  a.example:\n    default: {}\n",
	 "t.yaml:4:5: pairs: a pair names a recipient domain pattern; 'default' "
	 "belongs under 'recipients'",
	 1},
	{"pair null sender",
	 "version: 1\npairs:\n  \"<>\":\n    b.example: {}\n",
	 "t.yaml:3:3: pairs: a pair names domain patterns; '<>' (the null "
	 "sender) has its rule under 'senders'",
	 1},
	{"pair sender maps to a list", "version: 1\npairs:\n  a.example: [x]\n",
	 "t.yaml:3:14: pairs: a sender in 'pairs' maps recipient domain "
	 "patterns to rules, found a list",
	 1},
	{"pair sender twice",
	 "version: 1\npairs:\n  a.example:\n    b.example: {}\n  "
	 "A.Example.:\n    c.example: {}\n",
	 "t.yaml:5:3: pairs: duplicate sender pattern 'a.example' (the same as "
	 "line 3, column 3)",
	 1},
	{"pair twice",
	 "version: 1\npairs:\n  .a.example:\n    b.example: {}\n    "
	 "B.example.: {}\n",
	 "t.yaml:5:5: pair:.a.example>b.example: duplicate pair (the same as "
	 "line 4, column 5)",
	 1},
	{"pair misspelt key",
	 "version: 1\npairs:\n  a.example:\n    \"*.b.example\": "
	 "{min_verison: TLSv1.2}\n",
	 "t.yaml:4:21: pair:a.example>.b.example: unknown key 'min_verison'; did "
	 "you mean 'min_version'?",
	 1},
	{"pair unknown profile",
	 "version: 1\nprofiles:\n  strict: {}\npairs:\n  a.example:\n    "
	 "b.example: strikt\n",
	 "t.yaml:6:16: pair:a.example>b.example: unknown profile 'strikt'; did "
	 "you mean 'strict'?",
	 1},
	{"missing version", "recipients: {}\n",
	 "t.yaml:1:1: missing 'version: 1' at the top of the file", 1},
	{"empty file", "",
	 "t.yaml:1:1: missing 'version: 1' at the top of the file", 1},
	{"unsupported version", "version: 2\n",
	 "t.yaml:1:10: unsupported 'version' 2; this tlspolicy reads version 1",
	 1},
	{"top level is a list", "- a\n- b\n",
	 "t.yaml:1:1: expected a mapping at the top of the file, found a list",
	 1},
	{"YAML syntax",
	 "version: 1\nrecipients:\n  a.example: {tls: required\n",
	 "t.yaml:4:1: YAML syntax error: did not find expected ',' or '}' while "
	 "parsing a flow mapping (line 3)",
	 1},
	{"tab indentation", "version: 1\nrecipients:\n\ta.example: x\n",
	 "t.yaml:3:1: YAML syntax error: a tab; YAML indents with spaces only",
	 1},
	{"misspelt top-level key", "version: 1\nrecipient:\n  a.example: {}\n",
	 "t.yaml:2:1: unknown top-level key 'recipient'; did you mean "
	 "'recipients'?",
	 1},
	{"misspelt rule key",
	 "version: 1\nrecipients:\n  a.example:\n    "
	 "min_verison: TLSv1.2\n",
	 "t.yaml:4:5: recipient:a.example: unknown key 'min_verison'; did you "
	 "mean 'min_version'?",
	 1},
	{"unknown key, nothing close",
	 "version: 1\nrecipients:\n  a.example:\n"
	 "    colour: blue\n",
	 "t.yaml:4:5: recipient:a.example: unknown key 'colour'", 1},
	{"extends in a rule",
	 "version: 1\nrecipients:\n  a.example:\n    "
	 "extends: x\n",
	 "t.yaml:4:5: recipient:a.example: 'extends' is for profiles; a rule "
	 "names its profile with 'profile'",
	 1},
	{"profile in a profile",
	 "version: 1\nprofiles:\n  p:\n    profile: q\n",
	 "t.yaml:4:5: profiles: p: a profile inherits with 'extends', not "
	 "'profile'",
	 1},
	{"SSLv3 minimum",
	 "version: 1\nrecipients:\n  a.example:\n    "
	 "min_version: SSLv3\n",
	 "t.yaml:4:18: recipient:a.example: 'min_version': SSLv3 is never good "
	 "enough; the lowest version is TLSv1",
	 1},
	{"bad version name",
	 "version: 1\nrecipients:\n  a.example:\n    "
	 "max_version: TLS1.2\n",
	 "t.yaml:4:18: recipient:a.example: 'max_version' expects TLSv1, "
	 "TLSv1.1, TLSv1.2 or TLSv1.3, found 'TLS1.2'",
	 1},
	{"min above max",
	 "version: 1\nrecipients:\n  a.example: {min_version: "
	 "TLSv1.3, max_version: TLSv1.2}\n",
	 "t.yaml:3:14: recipient:a.example: min_version TLSv1.3 is above "
	 "max_version TLSv1.2",
	 1},
	{"misspelt action",
	 "version: 1\nrecipients:\n  a.example:\n    "
	 "action: rejct\n",
	 "t.yaml:4:13: recipient:a.example: 'action' expects accept, tag, "
	 "quarantine, defer or reject, found 'rejct'; did you mean 'reject'?",
	 1},
	{"yes is not a boolean",
	 "version: 1\nrecipients:\n  a.example:\n    "
	 "forward_secrecy: yes\n",
	 "t.yaml:4:22: recipient:a.example: 'forward_secrecy' expects true or "
	 "false, found 'yes'",
	 1},
	{"quoted true is a string",
	 "version: 1\nrecipients:\n  a.example:\n    "
	 "forward_secrecy: \"true\"\n",
	 "t.yaml:4:22: recipient:a.example: 'forward_secrecy' expects true or "
	 "false, found the quoted string \"true\"; remove the quotes",
	 1},
	{"bits out of range",
	 "version: 1\nrecipients:\n  a.example:\n    "
	 "min_cipher_bits: 1000\n",
	 "t.yaml:4:22: recipient:a.example: 'min_cipher_bits' expects a whole "
	 "number from 0 to 512, found '1000'",
	 1},
	{"bits not a number",
	 "version: 1\nrecipients:\n  a.example:\n    "
	 "min_cipher_bits: 12x\n",
	 "t.yaml:4:22: recipient:a.example: 'min_cipher_bits' expects a whole "
	 "number from 0 to 512, found '12x'",
	 1},
	{"duplicate key",
	 "version: 1\nrecipients:\n  a.example:\n    tls: "
	 "required\n    tls: optional\n",
	 "t.yaml:5:5: duplicate key 'tls' (first at line 4)", 1},
	{"duplicate pattern after normalising",
	 "version: 1\nrecipients:\n  "
	 "example.com: {}\n  Example.COM.: {}\n",
	 "t.yaml:4:3: duplicate pattern 'example.com' (the same as line 3, "
	 "column 3)",
	 1},
	{"two defaults are one duplicate key",
	 "version: 1\nsenders:\n  default: "
	 "{}\n  default: {}\n",
	 "t.yaml:4:3: duplicate key 'default' (first at line 3)", 1},
	{"anchor", "version: 1\nprofiles:\n  a: &x {tls: required}\n",
	 "t.yaml:3:6: anchors are not allowed: use a profile to share settings",
	 1},
	{"alias", "version: 1\nrecipients:\n  a.example: *x\n",
	 "t.yaml:3:14: aliases are not allowed: write the value out, or use a "
	 "profile",
	 1},
	{"tag", "version: 1\nrecipients: !!map {}\n",
	 "t.yaml:2:13: tags are not allowed", 1},
	{"two documents", "version: 1\n---\nversion: 1\n",
	 "t.yaml:2:1: more than one document: remove the '---'", 1},
	{"nesting too deep",
	 "version: 1\nmilter: {a: {b: {c: {d: {e: {f: {g: "
	 "{h: {i: {j: {k: {l: {m: {n: {o: {p: 1}}}}}}}}}}}}}}}}\n",
	 "t.yaml:2:69: nesting too deep: the policy format needs at most 16 "
	 "levels",
	 1},
	{"profile cycle",
	 "version: 1\nprofiles:\n  a: {extends: b}\n  b: "
	 "{extends: a}\n",
	 "t.yaml:3:16: profiles: a: profile 'a' extends itself (a cycle through "
	 "'extends')",
	 1},
	{"self extension", "version: 1\nprofiles:\n  a: {extends: a}\n",
	 "t.yaml:3:16: profiles: a: profile 'a' extends itself (a cycle through "
	 "'extends')",
	 1},
	{"unknown profile",
	 "version: 1\nprofiles:\n  strict: {tls: required}\n"
	 "recipients:\n  a.example: strikt\n",
	 "t.yaml:5:14: recipient:a.example: unknown profile 'strikt'; did you "
	 "mean 'strict'?",
	 1},
	{"unknown extends", "version: 1\nprofiles:\n  a: {extends: nothere}\n",
	 "t.yaml:3:16: profiles: a: unknown profile 'nothere'", 1},
	{"reply class vs action",
	 "version: 1\nrecipients:\n  a.example:\n    "
	 "action: defer\n    reply: \"550 5.7.1 no\"\n",
	 "t.yaml:4:5: recipient:a.example: action defer needs a 4xx reply, but "
	 "the reply (line 5) is '550'",
	 1},
	{"reply enhanced code class",
	 "version: 1\nrecipients:\n  a.example:\n"
	 "    reply: \"550 4.7.1 no\"\n",
	 "t.yaml:4:12: recipient:a.example: 'reply': enhanced status code must "
	 "be 5.x.y to match 550",
	 1},
	{"reply lone percent",
	 "version: 1\nrecipients:\n  a.example:\n    "
	 "reply: \"550 5.7.1 100% sure\"\n",
	 "t.yaml:4:12: recipient:a.example: 'reply': a lone '%' must be written "
	 "'%%' (placeholders look like %{rule})",
	 1},
	{"reply unknown placeholder",
	 "version: 1\nrecipients:\n  a.example:\n"
	 "    reply: \"550 5.7.1 %{rulle}\"\n",
	 "t.yaml:4:12: recipient:a.example: 'reply': unknown placeholder "
	 "%{rulle}; did you mean %{rule}?",
	 1},
	{"reply placeholder too long to be one",
	 "version: 1\nrecipients:\n  a.example:\n"
	 "    reply: \"550 5.7.1 %{a_placeholder_name_of_forty_characters}\"\n",
	 "t.yaml:4:12: recipient:a.example: 'reply': unknown placeholder "
	 "%{a_placeholder_na...} (names are short: %{rule}, %{min_version}, "
	 "...)",
	 1},
	{"reply 2xx",
	 "version: 1\nrecipients:\n  a.example:\n    reply: \"250 "
	 "ok\"\n",
	 "t.yaml:4:12: recipient:a.example: 'reply' must be a 4xx or 5xx code "
	 "and text, like \"550 5.7.1 text\"; found '250 ok'",
	 1},
	{"reply without text",
	 "version: 1\nrecipients:\n  a.example:\n    "
	 "reply: \"550\"\n",
	 "t.yaml:4:12: recipient:a.example: 'reply' must be a 4xx or 5xx code "
	 "and text, like \"550 5.7.1 text\"; found '550'",
	 1},
	{"unquoted address literal",
	 "version: 1\nrecipients:\n  [192.0.2.1]: "
	 "{}\n",
	 "t.yaml:3:3: a rule's key must be a domain pattern; quote address "
	 "literals: \"[192.0.2.1]\"",
	 1},
	{"reply with CR LF",
	 "version: 1\nrecipients:\n  a.example:\n    reply: "
	 "\"550 5.7.1 a\\r\\n250 ok\"\n",
	 "t.yaml:4:12: recipient:a.example: 'reply' must be one line with no "
	 "control characters",
	 1},
	{"cipher list errors, all reported",
	 "version: 1\nrecipients:\n  "
	 "a.example: {ciphers: {deny: [RC4, \"bad name!\"], allw: [AES]}}\n",
	 "t.yaml:3:37: recipient:a.example: 'ciphers.deny': 'bad name!' is "
	 "neither a cipher family (RC4, 3DES, CBC, NULL, EXPORT, ...) nor an "
	 "OpenSSL cipher name",
	 2},
	{"bad CIDR", "version: 1\nscope: {exempt_clients: [10.0.0.0/33]}\n",
	 "t.yaml:2:26: scope: 'exempt_clients': '10.0.0.0/33' is not an address "
	 "or network (192.0.2.0/24, 2001:db8::/32)",
	 1},
	{"bad fingerprint",
	 "version: 1\nrecipients:\n  a.example: "
	 "{fingerprints: [\"zz:11\"]}\n",
	 "t.yaml:3:30: recipient:a.example: 'fingerprints': 'zz:11' is not a hex "
	 "fingerprint (MD5, SHA-1 or SHA-256, colons allowed)",
	 1},
	{"bad pattern", "version: 1\nrecipients:\n  \"exa mple.com\": {}\n",
	 "t.yaml:3:3: recipients: 'exa mple.com' is not a domain pattern: "
	 "invalid character",
	 1},
	{"null sender under recipients",
	 "version: 1\nrecipients:\n  \"<>\": {}\n",
	 "t.yaml:3:3: recipients: '<>' is the null sender; it belongs under "
	 "'senders'",
	 1},
	{"bad literal", "version: 1\nrecipients:\n  \"[300.1.1.1]\": {}\n",
	 "t.yaml:3:3: recipients: '[300.1.1.1]' is not a domain pattern: not an "
	 "address literal like [192.0.2.1] or [IPv6:2001:db8::1]",
	 1},
	{"rule is a list", "version: 1\nrecipients:\n  a.example: [1, 2]\n",
	 "t.yaml:3:14: recipient:a.example: expected a mapping of requirements "
	 "or a profile name, found a list",
	 1},
	{"every error in one pass",
	 "version: 1\nrecipients:\n  a.example: {tls: "
	 "maybe}\n  b.example: {action: nope}\n  c.example: {mode: x}\n",
	 "t.yaml:3:20: recipient:a.example: 'tls' expects optional or required, "
	 "found 'maybe'",
	 3},
	{"misspelt milter key", "version: 1\nmilter:\n  sockett: unix:/x\n",
	 "t.yaml:3:3: milter: unknown key 'sockett'; did you mean 'socket'?",
	 1},
	{"misspelt strip_forged_headers word",
	 "version: 1\nmilter: {strip_forged_headers: mat}\n",
	 "t.yaml:2:32: milter: 'strip_forged_headers' expects auto, never, "
	 "always or mta, found 'mat'; did you mean 'mta'?",
	 1},
	{"socket mode nobody can use",
	 "version: 1\nmilter: {socket_mode: \"000\"}\n",
	 "t.yaml:2:23: milter: 'socket_mode' 000: the owner must read and "
	 "write the socket (0600 at least; the MTA's group needs 0660)",
	 1},
	{"socket mode with setgid",
	 "version: 1\nmilter: {socket_mode: \"2660\"}\n",
	 "t.yaml:2:23: milter: 'socket_mode' 2660: setuid, setgid and sticky "
	 "bits mean nothing on a socket; expected a mode like 0660",
	 1},
	{"bad socket", "version: 1\nmilter: {socket: /run/x.sock}\n",
	 "t.yaml:2:18: milter: 'socket' expects unix:/path, inet:port@address or "
	 "inet6:port@address, found '/run/x.sock'",
	 1},
	{"relative audit file", "version: 1\naudit: {file: audit.log}\n",
	 "t.yaml:2:15: audit: 'file' must be an absolute path, found "
	 "'audit.log'",
	 1},
	{"relative spill", "version: 1\naudit: {file: /l, spill: l.spill}\n",
	 "t.yaml:2:26: audit: 'spill' must be an absolute path, found "
	 "'l.spill'",
	 1},
	{"spill is the log", "version: 1\naudit: {file: /l, spill: /l}\n",
	 "t.yaml:2:26: audit: 'spill' must name another file than 'file'", 1},
	{"pseudonymize without a key",
	 "version: 1\naudit: {file: /l, addresses: pseudonymize}\n",
	 "t.yaml:2:30: audit: 'addresses: pseudonymize' needs "
	 "'pseudonym_key_file' (a file of 16 to 4096 secret bytes)",
	 1},
	{"bad addresses word", "version: 1\naudit: {addresses: hashed}\n",
	 "t.yaml:2:20: audit: 'addresses' expects full, pseudonymize or domain, "
	 "found 'hashed'",
	 1},
	{"checkpoint out of range", "version: 1\naudit: {checkpoint: -5}\n",
	 "t.yaml:2:21: audit: 'checkpoint' expects a whole number from 0 to "
	 "86400, found '-5'",
	 1},
	{"metrics file not *.prom",
	 "version: 1\nmilter: {metrics_file: /var/lib/m/tlspolicy.txt}\n",
	 "t.yaml:2:24: milter: 'metrics_file' must name a file ending in .prom "
	 "(the textfile collector reads no other), found "
	 "'/var/lib/m/tlspolicy.txt'",
	 1},
	{"metrics file relative",
	 "version: 1\nmilter: {metrics_file: t.prom}\n",
	 "t.yaml:2:24: milter: 'metrics_file' must be an absolute path, found "
	 "'t.prom'",
	 1},
	{"metrics interval zero", "version: 1\nmilter: {metrics_interval: 0}\n",
	 "t.yaml:2:28: milter: 'metrics_interval' expects a whole number from 1 "
	 "to 3600, found '0'",
	 1},
	{"partner window too big",
	 "version: 1\nmilter: {partner_window: 5000}\n",
	 "t.yaml:2:26: milter: 'partner_window' expects a whole number from 1 "
	 "to 1000, found '5000'",
	 1},
	{"relative key file", "version: 1\naudit: {key_file: k}\n",
	 "t.yaml:2:19: audit: 'key_file' must be an absolute path, found 'k'",
	 1},
	{"bad tag header", "version: 1\nmilter: {tag_header: \"X Bad\"}\n",
	 "t.yaml:2:22: milter: 'tag_header': 'X Bad' is not a header field name",
	 1},
	{"NUL in a value",
	 "version: 1\nrecipients:\n  a.example: {reply: "
	 "\"550 5.7.1 a\\0b\"}\n",
	 "t.yaml:3:22: NUL character in a value", 1},
	/* libyaml's reader gives a byte offset only: the position is counted
	 * from it, at the first byte of the bad sequence. */
	{"invalid UTF-8 in a key",
	 "version: 1\nrecipients:\n  b\xffr.example: {}\n",
	 "t.yaml:3:4: invalid UTF-8 (byte 0xff at byte offset 26); a policy "
	 "file is UTF-8 text",
	 1},
	{"Latin-1 in a comment, after UTF-8",
	 "version: 1\n# caf\xc3\xa9 and caf\xe9\nrecipients: {}\n",
	 "t.yaml:2:15: invalid UTF-8 (byte 0xe9 at byte offset 26); a policy "
	 "file is UTF-8 text",
	 1},
	{"UTF-8 cut short at the end",
	 "version: 1\r\nrecipients:\r\n  a\xe2\x82",
	 "t.yaml:3:4: invalid UTF-8 (byte 0xe2 at byte offset 28); a policy "
	 "file is UTF-8 text",
	 1},
	{"overlong UTF-8 after a BOM", "\xef\xbb\xbfversion: 1 # \xc0\xae\n",
	 "t.yaml:1:14: invalid UTF-8 (byte 0xc0 at byte offset 16); a policy "
	 "file is UTF-8 text",
	 1},
	{"raw control character",
	 "version: 1\nrecipients:\n  a.example: \x01\n",
	 "t.yaml:3:14: control characters are not allowed (U+0001 at byte "
	 "offset 36)",
	 1},
};

static struct tlsp_policy *
load(const char *yaml, struct tlsp_diags *d)
{
	return tlsp_policy_load_buffer("t.yaml", yaml, strlen(yaml),
				       TLSP_MTA_UNKNOWN, d);
}

static void
test_errors(void **state)
{
	size_t i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++) {
		const struct err_row *r = &err_rows[i];
		struct tlsp_diags d = {0};
		struct tlsp_policy *p = load(r->yaml, &d);
		char got[1400] = "(none)";
		size_t j;

		for (j = 0; j < d.count; j++)
			if (!d.v[j].is_warning) {
				tlsp_diag_format(&d.v[j], got, sizeof(got));
				break;
			}
		if (p != NULL || strcmp(got, r->want) != 0 ||
		    d.errors != r->nerrors) {
			print_error(
				"row '%s':\n  want %s (%zu errors)\n  got  %s "
				"(%zu errors)%s\n",
				r->name, r->want, r->nerrors, got, d.errors,
				p ? " and a policy" : "");
			bad++;
		}
		tlsp_policy_unref(p);
		tlsp_diags_free(&d);
	}
	assert_int_equal(bad, 0);
}

struct warn_row {
	const char *name;
	enum tlsp_mta mta;
	const char *yaml;
	const char *want[4]; /* every warning, formatted, in order */
};

static const struct warn_row warn_rows[] = {
	{"postfix cannot show presented, DNs, fingerprints",
	 TLSP_MTA_POSTFIX,
	 "version: 1\nrecipients:\n  a.example: {client_cert: presented, subject: "
	 "[\"/O=X/CN=y\"], fingerprints: [\"00112233445566778899aabbccddeeff\"]}\n",
	 {"t.yaml:3:14: warning: recipient:a.example: on Postfix, 'client_cert: "
	  "presented' can only be seen as 'verified' (Postfix shows no untrusted "
	  "certificate); otherwise it fails",
	  "t.yaml:3:14: warning: recipient:a.example: on Postfix, subject "
	  "'/O=X/CN=y' cannot be checked (Postfix sends only the CN); it fails",
	  "t.yaml:3:14: warning: recipient:a.example: on Postfix, 'fingerprints' "
	  "cannot be checked (Postfix sends no fingerprint); it fails"}},
	{"ignore says so",
	 TLSP_MTA_POSTFIX,
	 "version: 1\non_unobservable: ignore\nprofiles:\n  p: {issuer: "
	 "\"/O=CA\"}\nrecipients:\n  a.example: p\n",
	 {"t.yaml:4:6: warning: profiles: p: on Postfix, issuer '/O=CA' cannot "
	  "be checked (Postfix sends only the CN); it is ignored"}},
	/* {verify} comes at MAIL and RCPT as the milter asks: nothing to
	 * say about client_cert; the fingerprint's digest is Sendmail's
	 * choice. */
	{"sendmail: which digest a pin must be",
	 TLSP_MTA_SENDMAIL,
	 "version: 1\nrecipients:\n  a.example: {client_cert: verified, "
	 "fingerprints: [\"00112233445566778899aabbccddeeff\"]}\n",
	 {"t.yaml:3:14: warning: recipient:a.example: on Sendmail, "
	  "'fingerprints' are compared with {cert_fp}, in the digest of "
	  "CertFingerprintAlgorithm (confCERT_FINGERPRINT_ALGORITHM), or "
	  "without that option with {cert_md5} (MD5): pin that digest"}},
	{"sendmail: client_name needs {client_resolve}",
	 TLSP_MTA_SENDMAIL,
	 "version: 1\nsenders:\n  a.example: {client_name: .a.example, "
	 "client_addr: 192.0.2.0/24}\n",
	 {"t.yaml:3:14: warning: sender:a.example: on Sendmail, 'client_name' "
	  "is matched only when {client_resolve} is OK; the milter asks for "
	  "{client_name} and {client_resolve} at MAIL and RCPT (Sendmail 8.14 "
	  "and later send them); for older ones add both to "
	  "confMILTER_MACROS_ENVFROM and confMILTER_MACROS_ENVRCPT (see "
	  "contrib/sendmail/tlspolicy.mc.snippet)"}},
	{"postfix: client_name and client_addr are observable",
	 TLSP_MTA_POSTFIX,
	 "version: 1\nsenders:\n  a.example: {client_name: .a.example, "
	 "client_addr: 192.0.2.0/24}\n",
	 {NULL}},
	{"verified CN is fine on postfix",
	 TLSP_MTA_POSTFIX,
	 "version: 1\nrecipients:\n  a.example: {client_cert: verified, subject: "
	 "mx.a.example}\n",
	 {NULL}},
	{"reply unused with tag",
	 TLSP_MTA_UNKNOWN,
	 "version: 1\nrecipients:\n  a.example: {action: tag, reply: \"550 5.7.1 "
	 "x\"}\n",
	 {"t.yaml:3:14: warning: recipient:a.example: 'reply' is used only with "
	  "reject or defer; action is tag"}},
	{"unknown cipher name compared by name",
	 TLSP_MTA_UNKNOWN,
	 "version: 1\nrecipients:\n  a.example: {ciphers: {allow: "
	 "[NOT-A-CIPHER]}}\n",
	 {"t.yaml:3:33: warning: recipient:a.example: 'ciphers.allow': cipher "
	  "'NOT-A-CIPHER' is not in this OpenSSL's table; it is compared by name "
	  "only"}},
	{"failing open is allowed, loudly",
	 TLSP_MTA_UNKNOWN,
	 "version: 1\nmilter: {on_error: accept}\nrecipients: {a.example: {}}\n",
	 {"t.yaml:2:20: warning: milter: 'on_error: accept' lets mail through "
	  "when the milter cannot decide or record"}},
	{"spill without a log",
	 TLSP_MTA_UNKNOWN,
	 "version: 1\naudit: {spill: /s}\nrecipients: {a.example: {}}\n",
	 {"t.yaml:2:16: warning: audit: 'spill' does nothing without 'file'"}},
	{"no rules",
	 TLSP_MTA_UNKNOWN,
	 "version: 1\n",
	 {"t.yaml: warning: the policy has no rules: every message is accepted"}},
};

static void
test_warnings(void **state)
{
	size_t i, j, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(warn_rows) / sizeof(warn_rows[0]); i++) {
		const struct warn_row *r = &warn_rows[i];
		struct tlsp_diags d = {0};
		struct tlsp_policy *p =
			tlsp_policy_load_buffer("t.yaml", r->yaml,
						strlen(r->yaml), r->mta, &d);
		char got[1400];

		if (p == NULL) {
			print_error("row '%s': did not load\n", r->name);
			bad++;
		}
		for (j = 0; j < 4; j++) {
			const char *g = j < d.count
						? tlsp_diag_format(&d.v[j], got,
								   sizeof(got))
						: NULL;

			if ((g == NULL) != (r->want[j] == NULL) ||
			    (g && strcmp(g, r->want[j]) != 0)) {
				print_error(
					"row '%s' warning %zu:\n  want %s\n  "
					"got  %s\n",
					r->name, j,
					r->want[j] ? r->want[j] : "(none)",
					g ? g : "(none)");
				bad++;
			}
		}
		tlsp_policy_unref(p);
		tlsp_diags_free(&d);
	}
	assert_int_equal(bad, 0);
}

static const struct tlsp_rule *
rule_named(const struct tlsp_policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nrules; i++)
		if (strcmp(p->rules[i].name, name) == 0)
			return &p->rules[i];
	fail_msg("no rule %s", name);
	return NULL;
}

static void
test_sample_loads(void **state)
{
	struct tlsp_diags d = {0};
	struct tlsp_policy *p;
	const struct tlsp_rule *r;

	(void)state;
	p = tlsp_policy_load(SRCDIR "/contrib/tlspolicy.yaml.sample",
			     TLSP_MTA_UNKNOWN, &d);
	assert_non_null(p);
	assert_int_equal(d.count, 0);
	assert_int_equal(tlsp_policy_rule_count(p), 10);
	assert_int_equal(tlsp_policy_profile_count(p), 3);

	/* health.example: profile modern, overriding version and action. */
	r = rule_named(p, "recipient:health.example");
	assert_string_equal(r->spec->profile, "modern");
	assert_int_equal(r->spec->req.min_version, TLSP_VER_TLSV1_3);
	assert_int_equal(r->spec->action, TLSP_ACTION_DEFER);
	assert_true(r->spec->req.forward_secrecy);
	assert_true(r->spec->req.deny_families & TLSP_CF_CBC);

	/* A bare profile name shares the profile's spec. */
	r = rule_named(p, "recipient:.example.com");
	assert_string_equal(r->spec->profile, "baseline");
	assert_int_equal(r->spec->req.min_version, TLSP_VER_TLSV1_2);
	assert_false(r->spec->req.deny_families & TLSP_CF_CBC);

	/* partner-mtls extends modern extends baseline. */
	r = rule_named(p, "sender:partner.example");
	assert_int_equal(r->spec->req.client_cert, TLSP_CERT_VERIFIED);
	assert_int_equal(r->spec->req.nsubject, 2);
	assert_int_equal(r->spec->req.min_version, TLSP_VER_TLSV1_2);
	assert_int_equal(r->spec->scope->nclients, 2);

	assert_non_null(p->senders.null_sender);
	assert_non_null(p->recipients.deflt);
	assert_int_equal(p->recipients.deflt->spec->action, TLSP_ACTION_TAG);
	assert_false(p->recipients.deflt->spec->req.tls_required);
	tlsp_policy_unref(p);
	tlsp_diags_free(&d);
}

/* Inheritance: later layers override, empty values lift, TLS is implied. */
static void
test_inheritance(void **state)
{
	static const char yaml[] =
		"version: 1\n"
		"scope: {authenticated: enforce, exempt_clients: [192.0.2.0/24]}\n"
		"profiles:\n"
		"  base: {min_version: TLSv1.2, client_cert: verified, subject: "
		"mx.example, action: defer}\n"
		"  child: {extends: base, client_cert: none, subject: []}\n"
		"recipients:\n"
		"  a.example: {profile: child, min_cipher_bits: 128, scope: "
		"{daemons: [mx]}}\n"
		"  b.example: {tls: optional, min_version: TLSv1.3}\n"
		"  c.example: {}\n"
		"  d.example: {profile: base, min_version: TLSv1.3}\n";
	struct tlsp_diags d = {0};
	struct tlsp_policy *p = load(yaml, &d);
	const struct tlsp_rule *r;
	unsigned bit_cert = 1u << TLSP_REQ_CLIENT_CERT;

	(void)state;
	assert_non_null(p);
	r = rule_named(p, "recipient:a.example");
	assert_int_equal(r->spec->req.min_version, TLSP_VER_TLSV1_2);
	assert_false(r->spec->req.set & bit_cert);
	assert_false(r->spec->req.set & (1u << TLSP_REQ_SUBJECT));
	assert_true(r->spec->req.set & (1u << TLSP_REQ_MIN_CIPHER_BITS));
	assert_true(r->spec->req.tls_required); /* implied */
	assert_int_equal(r->spec->action, TLSP_ACTION_DEFER);
	/* The rule's scope overrides daemons and keeps the global rest. */
	assert_int_equal(r->spec->scope->ndaemons, 1);
	assert_string_equal(r->spec->scope->daemons[0], "mx");
	assert_int_equal(r->spec->scope->nclients, 1);
	assert_false(r->spec->scope->exempt_authenticated);

	r = rule_named(p, "recipient:b.example");
	assert_false(r->spec->req.tls_required); /* stated optional */
	assert_true(r->spec->req.set & (1u << TLSP_REQ_MIN_VERSION));
	assert_ptr_equal(r->spec->scope, p->global_scope);

	r = rule_named(p, "recipient:c.example");
	assert_int_equal(r->spec->req.set, 0);
	assert_int_equal(r->spec->action, TLSP_ACTION_REJECT);

	r = rule_named(p, "recipient:d.example");
	assert_true(r->spec->req.set & bit_cert);
	assert_int_equal(r->spec->req.min_version, TLSP_VER_TLSV1_3);
	tlsp_policy_unref(p);
	tlsp_diags_free(&d);
}

static void
test_settings(void **state)
{
	static const char yaml[] =
		"version: 1\n"
		"milter:\n"
		"  socket: unix:/run/tlspolicy/t.sock\n"
		"  socket_mode: \"0660\"\n"
		"  user: tlspolicy:mail\n"
		"  on_error: reject\n"
		"  tag_header: X-TLS-Check\n"
		"  authserv_id: mx.example\n"
		"  strip_forged_headers: always\n"
		"  log_decisions: all\n"
		"  metrics_file: /var/lib/prometheus/node-exporter/tlspolicy.prom\n"
		"  metrics_interval: 30\n"
		"  partner_window: 5\n"
		"  partners_max: 200\n"
		"audit: {file: /var/log/tlspolicy/audit.log, sync: always,\n"
		"        key_file: /etc/tlspolicy/audit.key, addresses: "
		"pseudonymize,\n"
		"        pseudonym_key_file: /etc/tlspolicy/p.key, checkpoint: 0}\n"
		"recipients:\n"
		"  a.example: {action: tag}\n"
		"  b.example: {action: quarantine, mode: monitor}\n"
		"  c.example: {action: defer}\n";
	struct tlsp_diags d = {0};
	struct tlsp_policy *p = load(yaml, &d);
	const struct tlsp_settings *st;

	(void)state;
	assert_non_null(p);
	st = tlsp_policy_settings(p);
	assert_string_equal(st->socket, "unix:/run/tlspolicy/t.sock");
	assert_int_equal(st->socket_mode, 0660);
	assert_string_equal(st->user, "tlspolicy:mail");
	assert_int_equal(st->on_error, TLSP_ON_ERROR_REJECT);
	assert_string_equal(st->tag_header, "X-TLS-Check");
	assert_string_equal(st->authserv_id, "mx.example");
	assert_int_equal(st->strip_forged, 1);
	assert_int_equal(st->log_decisions, TLSP_LOG_ALL);
	assert_string_equal(st->metrics_file,
			    "/var/lib/prometheus/node-exporter/tlspolicy.prom");
	assert_int_equal(st->metrics_interval, 30);
	assert_int_equal(st->partner_window, 5);
	assert_int_equal(st->partners_max, 200);
	assert_string_equal(st->audit_file, "/var/log/tlspolicy/audit.log");
	assert_int_equal(st->audit_sync, 1);
	assert_string_equal(st->audit_key_file, "/etc/tlspolicy/audit.key");
	assert_int_equal(st->audit_addresses, 1);
	assert_string_equal(st->audit_pseudonym_key_file,
			    "/etc/tlspolicy/p.key");
	assert_int_equal(st->audit_checkpoint, 0);
	/* Monitor-mode rules never act, so they ask for nothing. */
	assert_int_equal(tlsp_policy_actions(p),
			 (1u << TLSP_ACTION_TAG) | (1u << TLSP_ACTION_DEFER));
	tlsp_policy_unref(p);
	tlsp_diags_free(&d);

	p = load("version: 1\n", &d);
	assert_non_null(p);
	st = tlsp_policy_settings(p);
	assert_null(st->socket);
	assert_int_equal(st->on_error, TLSP_ON_ERROR_TEMPFAIL);
	assert_int_equal(st->strip_forged, -1);
	assert_int_equal(st->log_decisions, TLSP_LOG_ACTIONS);
	assert_null(st->audit_file);
	assert_null(st->audit_key_file);
	assert_int_equal(st->audit_addresses, 0);
	assert_int_equal(st->audit_checkpoint, 60);
	assert_null(st->metrics_file); /* metrics are off by default */
	assert_int_equal(st->metrics_interval, 15);
	assert_int_equal(st->partner_window, 20);
	assert_int_equal(st->partners_max, 10000);
	tlsp_policy_unref(p);
	tlsp_diags_free(&d);
}

static void
test_error_cap(void **state)
{
	size_t i, len = 0, cap = 64 * 1024;
	char *yaml = malloc(cap);
	struct tlsp_diags d = {0};

	(void)state;
	assert_non_null(yaml);
	len += (size_t)snprintf(yaml, cap, "version: 1\nrecipients:\n");
	for (i = 0; i < 300; i++)
		len += (size_t)snprintf(yaml + len, cap - len,
					"  d%zu.example: {tls: maybe}\n", i);
	assert_null(tlsp_policy_load_buffer("t.yaml", yaml, len,
					    TLSP_MTA_UNKNOWN, &d));
	assert_int_equal(d.count, TLSP_DIAGS_MAX);
	assert_true(d.truncated);
	tlsp_diags_free(&d);
	free(yaml);
}

static void
test_file_errors(void **state)
{
	struct tlsp_diags d = {0};
	char got[1400];
	static const char big[] = "version: 1\n";

	(void)state;
	assert_null(tlsp_policy_load("/nonexistent/p.yaml", 0, &d));
	assert_string_equal(tlsp_diag_format(&d.v[0], got, sizeof(got)),
			    "/nonexistent/p.yaml: cannot open: No such file or "
			    "directory");
	tlsp_diags_free(&d);

	assert_null(tlsp_policy_load("/", 0, &d));
	assert_string_equal(tlsp_diag_format(&d.v[0], got, sizeof(got)),
			    "/: is a directory, not a file");
	tlsp_diags_free(&d);

	/* The size cap is checked before a byte is read. */
	assert_null(tlsp_policy_load_buffer("t.yaml", big,
					    (size_t)TLSP_POLICY_MAX_BYTES + 1,
					    0, &d));
	assert_string_equal(tlsp_diag_format(&d.v[0], got, sizeof(got)),
			    "t.yaml: file is larger than 256 MiB");
	tlsp_diags_free(&d);
}

/* A policy anyone can change is loaded, with a warning that says why. */
static void
test_writable_warning(void **state)
{
	static const struct {
		mode_t dir, file;
		int want; /* 0 none, 1 the file, 2 the directory */
	} rows[] = {
		{0755, 0644, 0},
		{0755, 0666, 1},
		{0777, 0644, 2},
		{01777, 0644, 0}, /* sticky, like /tmp */
	};
	char dir[] = "/tmp/tlsp-load-XXXXXX", path[64], got[1400], want[600];
	struct tlsp_diags d = {0};
	struct tlsp_policy *p;
	size_t i;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("version: 1\nrecipients: {a.example: {}}\n", f);
	fclose(f);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(chmod(dir, rows[i].dir), 0);
		assert_int_equal(chmod(path, rows[i].file), 0);
		p = tlsp_policy_load(path, 0, &d);
		assert_non_null(p);
		if (rows[i].want == 0) {
			assert_int_equal(d.count, 0);
		} else {
			assert_int_equal(d.count, 1);
			if (rows[i].want == 1)
				snprintf(want, sizeof(want),
					 "%s: warning: writable by any user, "
					 "who could change what mail is "
					 "accepted (chmod o-w)",
					 path);
			else
				snprintf(want, sizeof(want),
					 "%s: warning: its directory %s is "
					 "writable by any user, who could "
					 "replace the policy (chmod o-w %s)",
					 path, dir, dir);
			assert_string_equal(tlsp_diag_format(&d.v[0], got,
							     sizeof(got)),
					    want);
		}
		tlsp_policy_unref(p);
		tlsp_diags_free(&d);
	}
	unlink(path);
	rmdir(dir);
}

static void
test_hash_and_refs(void **state)
{
	static const char yaml[] = "version: 1\nrecipients: {a.example: {}}\n";
	unsigned char md[32];
	unsigned int n = 0;
	char hex[65];
	struct tlsp_diags d = {0};
	struct tlsp_policy *p = load(yaml, &d);
	size_t i;

	(void)state;
	assert_non_null(p);
	assert_true(EVP_Digest(yaml, strlen(yaml), md, &n, EVP_sha256(), NULL));
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(tlsp_policy_hash(p), hex);
	assert_ptr_equal(tlsp_policy_ref(p), p);
	tlsp_policy_unref(p);
	tlsp_policy_unref(p); /* ASan reports a leak or a double free */
	tlsp_policy_unref(NULL);
	tlsp_diags_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_sample_loads),
		cmocka_unit_test(test_inheritance),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_hash_and_refs),
		cmocka_unit_test(test_writable_warning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
