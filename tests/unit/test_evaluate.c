/*
 * test_evaluate.c - unit tests for the evaluator (policy/evaluate.c) and
 * the reply renderer (policy/reply.c).
 *
 * Policies are real YAML loaded through tlsp_policy_load_buffer() and facts
 * come from raw macros through tlsp_facts_from_macros(), so each row tests
 * what the milter would do with what an MTA sends. Every row states one
 * behaviour and its exact outcome. A test runs all rows of its table,
 * prints each row that disagrees, with its name and what differed, and
 * fails at the end if any did, so one run shows every broken behaviour.
 *
 * A verdict is compared as a summary string, one part per rule result in
 * evaluation order: "fail min_version=fail ciphers.deny=unknown | pass".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "tlspolicy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- macros */

#define PF .mta = TLSP_MTA_POSTFIX, .mta_version = "Postfix 3.7.11"
#define SM .mta = TLSP_MTA_SENDMAIL, .mta_version = "8.17.1"

#define ECDHE256 "ECDHE-RSA-AES256-GCM-SHA384"
#define ECDHE128 "ECDHE-RSA-AES128-GCM-SHA256"
#define TLS13_256 "TLS_AES_256_GCM_SHA384"

#define V(ver, c, bits) .tls_version = ver, .cipher = c, .cipher_bits = bits
#define TLS10 V("TLSv1", "AES128-SHA", "128")
#define TLS11 V("TLSv1.1", "AES128-SHA", "128")
#define TLS12 V("TLSv1.2", ECDHE256, "256")
#define TLS13 V("TLSv1.3", TLS13_256, "256")

/* Sendmail shapes: xtext DN, and the {verify} verdict. */
#define BANK_DN "/C=DE/O=Bank+20AG/CN=mx.bank.example"
#define BANK_CA "/C=DE/O=Bank+20AG/CN=Bank+20CA"
#define SM_CERT(verify_)                                                       \
	.cert_subject = BANK_DN, .cert_issuer = BANK_CA, .verify = verify_
#define SM_NOCERT .cert_subject = "", .cert_issuer = "", .verify = "NO"

#define FP_HEX "3a4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3"
#define FP_COLON "3A:4F:5E:6D:7C:8B:9A:0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3"

#define ACC TLSP_ACTION_ACCEPT
#define TAG TLSP_ACTION_TAG
#define QUA TLSP_ACTION_QUARANTINE
#define DEF TLSP_ACTION_DEFER
#define REJ TLSP_ACTION_REJECT

/* ---------------------------------------------------------- helpers */

static const char *
str_or_null(const char *s)
{
	return s != NULL ? s : "(null)";
}

static const char *
status_name(enum tlsp_status st)
{
	switch (st) {
	case TLSP_PASS:
		return "pass";
	case TLSP_FAIL:
		return "fail";
	case TLSP_UNKNOWN:
		return "unknown";
	}
	return "?";
}

static void
print_diags(const char *name, const struct tlsp_diags *d)
{
	char buf[512];
	size_t i;

	for (i = 0; i < d->count; i++)
		print_error("%s: %s\n", name,
			    tlsp_diag_format(&d->v[i], buf, sizeof(buf)));
}

static struct tlsp_policy *
load(const char *name, const char *yaml)
{
	struct tlsp_diags d = {0};
	struct tlsp_policy *p;

	p = tlsp_policy_load_buffer(name, yaml, strlen(yaml), TLSP_MTA_UNKNOWN,
				    &d);
	if (p == NULL)
		print_diags(name, &d);
	tlsp_diags_free(&d);
	return p;
}

/* "fail min_version=fail | exempt" (see the file comment). */
static void
summarize(const struct tlsp_verdict *v, char *buf, size_t bufsz)
{
	size_t i, j, len = 0;

	buf[0] = '\0';
	for (i = 0; i < v->nrules && len < bufsz; i++) {
		const struct tlsp_rule_result *r = &v->r[i];

		len += (size_t)snprintf(buf + len, bufsz - len, "%s%s",
					i > 0 ? " | " : "",
					r->exempt ? "exempt"
						  : status_name(r->status));
		for (j = 0; j < r->nfail && len < bufsz; j++)
			len += (size_t)snprintf(
				buf + len, bufsz - len, " %s=%s",
				str_or_null(tlsp_req_name(r->fail[j].req)),
				status_name(r->fail[j].status));
	}
}

static void
rule_names(const struct tlsp_verdict *v, char *buf, size_t bufsz)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < v->nrules && len < bufsz; i++)
		len += (size_t)snprintf(buf + len, bufsz - len, "%s%s",
					i > 0 ? "," : "",
					tlsp_rule_name(v->r[i].rule));
}

/* What must hold for every verdict, whatever the row. */
static int
check_invariants(const char *name, const struct tlsp_verdict *v)
{
	int bad = 0;
	size_t i;

	for (i = 0; i < v->nrules; i++) {
		const struct tlsp_rule_result *r = &v->r[i];
		enum tlsp_action want = r->status == TLSP_FAIL
						? tlsp_rule_action(r->rule)
						: TLSP_ACTION_ACCEPT;

		if (r->action != want || r->mode != tlsp_rule_mode(r->rule)) {
			print_error("%s: result %zu: action %s mode %s\n", name,
				    i, tlsp_action_name(r->action),
				    tlsp_mode_name(r->mode));
			bad = 1;
		}
		if (r->exempt && (r->status != TLSP_PASS || r->nfail != 0)) {
			print_error("%s: exempt result with failures\n", name);
			bad = 1;
		}
	}
	if (v->action > v->would_action) {
		print_error("%s: action above would_action\n", name);
		bad = 1;
	}
	if ((v->action == REJ || v->action == DEF) != (v->reply[0] != '\0')) {
		print_error("%s: reply \"%s\" with action %s\n", name, v->reply,
			    tlsp_action_name(v->action));
		bad = 1;
	}
	return bad;
}

/* ------------------------------------------------------------ rows */

/*
 * One evaluation. For the requirement table `rule` is the flow mapping of
 * the recipient rule for example.com and `policy` is unused; the other
 * tables name a shared policy. NULL `want_*` strings are not checked;
 * `decided` "" means "no rule decided".
 */
struct eval_row {
	const char *name;
	int policy;
	const char *rule;
	struct tlsp_macros m;
	const char *sender, *rcpt;
	enum tlsp_action action, would;
	const char *results;
	const char *rules;
	const char *decided;
	unsigned flags;
	const char *reply;
	const char *required, *observed; /* first failure of first result */
};

static int
same(const char *what, const char *name, const char *want, const char *got)
{
	if (want == NULL || strcmp(want, got) == 0)
		return 0;
	print_error("%s: %s: want \"%s\", got \"%s\"\n", name, what, want, got);
	return 1;
}

static int
check_row(const struct eval_row *row, const struct tlsp_verdict *v)
{
	char buf[1024];
	int bad = 0;
	const struct tlsp_failure *f0 = v->nrules > 0 && v->r[0].nfail > 0
						? &v->r[0].fail[0]
						: NULL;

	if (v->action != row->action || v->would_action != row->would) {
		print_error("%s: want action %s would %s, got %s would %s\n",
			    row->name, tlsp_action_name(row->action),
			    tlsp_action_name(row->would),
			    tlsp_action_name(v->action),
			    tlsp_action_name(v->would_action));
		bad = 1;
	}
	summarize(v, buf, sizeof(buf));
	bad |= same("results", row->name, row->results, buf);
	rule_names(v, buf, sizeof(buf));
	bad |= same("rules", row->name, row->rules, buf);
	bad |= same("decided_by", row->name, row->decided,
		    v->decided_by ? tlsp_rule_name(v->decided_by) : "");
	if (v->flags != row->flags) {
		print_error("%s: want flags %#x, got %#x\n", row->name,
			    row->flags, v->flags);
		bad = 1;
	}
	bad |= same("reply", row->name, row->reply, v->reply);
	if ((row->required != NULL || row->observed != NULL) && f0 == NULL) {
		print_error("%s: no failure to check texts on\n", row->name);
		bad = 1;
	} else if (f0 != NULL) {
		bad |= same("required", row->name, row->required, f0->required);
		bad |= same("observed", row->name, row->observed, f0->observed);
	}
	return bad | check_invariants(row->name, v);
}

/*
 * tlsp_evaluate() sets only what a verdict's reader looks at (it does not
 * clear 8 KiB per call): rows are evaluated into fresh, uninitialised
 * memory (valgrind runs this test and reports any read of it) and, every
 * other row, into memory full of 0xa5, which the checks would see.
 */
static int
evaluate_row(const struct eval_row *row, const struct tlsp_policy *p,
	     const char *sender, const char *rcpt, size_t i)
{
	struct tlsp_facts f;
	struct tlsp_verdict *v = malloc(sizeof(*v));
	int bad;

	assert_non_null(v);
	if (i % 2)
		memset(v, 0xa5, sizeof(*v));
	tlsp_facts_from_macros(&row->m, &f);
	tlsp_evaluate(p, &f, sender, rcpt, time(NULL), v);
	bad = check_row(row, v);
	free(v);
	return bad;
}

/* --------------------------------------------- single requirements */

#define REQ_POLICY(rule)                                                       \
	"version: 1\n"                                                         \
	"profiles:\n"                                                          \
	"  baseline:\n"                                                        \
	"    min_version: TLSv1.2\n"                                           \
	"    min_cipher_bits: 128\n"                                           \
	"    ciphers: {deny: [RC4, 3DES, NULL, EXPORT, ANON, MD5]}\n"          \
	"  modern:\n"                                                          \
	"    extends: baseline\n"                                              \
	"    forward_secrecy: true\n"                                          \
	"    ciphers: {deny: [RC4, 3DES, NULL, EXPORT, ANON, MD5, CBC]}\n"     \
	"recipients:\n"                                                        \
	"  example.com: " rule "\n"

/* A row of the requirement table: one rule, one session (the macros come
 * last), its outcome. */
#define R(n, rule_, res, act, wa, req, obs, ...)                               \
	{                                                                      \
		.name = n, .rule = rule_, .results = res, .action = act,       \
		.would = wa, .required = req, .observed = obs,                 \
		.rules = "recipient:example.com",                              \
		.m = { __VA_ARGS__ }                                           \
	}

#define MINV "{min_version: TLSv1.2}"
#define MAXV "{max_version: TLSv1.2}"
#define BITS128 "{min_cipher_bits: 128}"
#define BITS256 "{min_cipher_bits: 256}"
#define DENY "{ciphers: {deny: [RC4, 3DES, CBC]}}"
#define ALLOW "{ciphers: {allow: [AEAD, AES128-SHA]}}"
#define FS "{forward_secrecy: true}"
#define PRESENTED "{client_cert: presented}"
#define VERIFIED "{client_cert: verified}"
#define IGNORE(r) "{on_unobservable: ignore, " r "}"
#define SUBJ "subject: [mx1.partner.example, \"*.mail.partner.example\"]"
#define BANK_DN_PAT "/C=DE/O=Bank AG/CN=mx.bank.example"
#define BANK_CA_PAT "/C=DE/O=Bank AG/CN=Bank CA"
#define FPS "fingerprints: [\"" FP_COLON "\"]"
#define SUBJECT(s) .cert_subject = s
#define LONG_NAME(n) "host-0" #n ".long-domain-name.example"
#define LONG_SUBJ                                                              \
	"subject: [" LONG_NAME(1) ", " LONG_NAME(2) ", " LONG_NAME(            \
		3) ", " LONG_NAME(4) ", " LONG_NAME(5) ", " LONG_NAME(6) "]"
#define CADDR "{client_addr: [192.0.2.0/24, \"2001:db8::/32\", 198.51.100.7]}"
#define CNAME "{client_name: [mx1.partner.example, \".out.partner.example\"]}"
#define E1 "\xc3\xa9" /* U+00E9, two bytes */
#define E10 E1 E1 E1 E1 E1 E1 E1 E1 E1 E1
#define E100 E10 E10 E10 E10 E10 E10 E10 E10 E10 E10

static const struct eval_row req_rows[] = {
	/* tls and versions */
	R("plaintext fails tls: required", MINV, "fail tls=fail", REJ, REJ,
	  "TLS", "plaintext", PF),
	R("plaintext passes tls: optional, other reqs unchecked",
	  "{tls: optional, min_version: TLSv1.2, client_cert: verified}",
	  "pass", ACC, ACC, NULL, NULL, PF),
	R("plaintext, max_version implies tls: required", MAXV, "fail tls=fail",
	  REJ, REJ, "TLS", "plaintext", SM),
	R("plaintext lists tls only", "modern", "fail tls=fail", REJ, REJ, NULL,
	  NULL, PF),
	R("SSLv3 below TLSv1.2", MINV, "fail min_version=fail", REJ, REJ,
	  "TLSv1.2 or higher", "SSLv3", SM, V("SSLv3", "AES128-SHA", "128")),
	R("TLSv1 below TLSv1.2", MINV, "fail min_version=fail", REJ, REJ,
	  "TLSv1.2 or higher", "TLSv1", PF, TLS10),
	R("TLSv1.1 below TLSv1.2", MINV, "fail min_version=fail", REJ, REJ,
	  NULL, "TLSv1.1", PF, TLS11),
	R("TLSv1.2 meets TLSv1.2", MINV, "pass", ACC, ACC, NULL, NULL, PF,
	  TLS12),
	R("TLSv1.3 meets TLSv1.2", MINV, "pass", ACC, ACC, NULL, NULL, PF,
	  TLS13),
	R("TLSv1.2 below TLSv1.3", "{min_version: TLSv1.3}",
	  "fail min_version=fail", REJ, REJ, "TLSv1.3 or higher", "TLSv1.2", PF,
	  TLS12),
	R("UNKNOWN version is unknown, fails by default", MINV,
	  "fail min_version=unknown", REJ, REJ, "TLSv1.2 or higher", "UNKNOWN",
	  SM, V("UNKNOWN", ECDHE256, "256")),
	R("unrecognised version, on_unobservable: ignore",
	  IGNORE("min_version: TLSv1.2"), "pass min_version=unknown", ACC, ACC,
	  NULL, "TLSv9", SM, V("TLSv9", ECDHE256, "256")),
	R("TLSv1.3 above max TLSv1.2", MAXV, "fail max_version=fail", REJ, REJ,
	  "TLSv1.2 or lower", "TLSv1.3", PF, TLS13),
	R("TLSv1.2 meets max TLSv1.2", MAXV, "pass", ACC, ACC, NULL, NULL, PF,
	  TLS12),
	R("TLSv1 meets max TLSv1.2", MAXV, "pass", ACC, ACC, NULL, NULL, PF,
	  TLS10),
	R("SSLv3 meets max TLSv1.2", MAXV, "pass", ACC, ACC, NULL, NULL, SM,
	  V("SSLv3", "AES128-SHA", "128")),
	R("UNKNOWN version vs max", MAXV, "fail max_version=unknown", REJ, REJ,
	  "TLSv1.2 or lower", NULL, SM, V("UNKNOWN", ECDHE256, "256")),
	R("min and max both unknown on UNKNOWN",
	  "{min_version: TLSv1.1, max_version: TLSv1.2}",
	  "fail min_version=unknown max_version=unknown", REJ, REJ, NULL, NULL,
	  SM, V("UNKNOWN", ECDHE256, "256")),

	/* cipher strength */
	R("bits from the macro", BITS128, "pass", ACC, ACC, NULL, NULL, PF,
	  TLS12),
	R("bits from the macro win over the table", BITS128,
	  "fail min_cipher_bits=fail", REJ, REJ, ">= 128 bits", "112 bits", PF,
	  V("TLSv1.2", ECDHE256, "112")),
	R("bits from the cipher table, too few", BITS256,
	  "fail min_cipher_bits=fail", REJ, REJ, ">= 256 bits", "128 bits", PF,
	  V("TLSv1.2", ECDHE128, NULL)),
	R("bits from the cipher table, enough", BITS256, "pass", ACC, ACC, NULL,
	  NULL, PF, V("TLSv1.2", ECDHE256, NULL)),
	R("bad bits macro falls back to the table", BITS128, "pass", ACC, ACC,
	  NULL, NULL, PF, V("TLSv1.2", ECDHE128, "lots")),
	R("no bits anywhere is unknown", BITS128,
	  "fail min_cipher_bits=unknown", REJ, REJ, ">= 128 bits", "(absent)",
	  PF, V("TLSv1.2", "NO-SUCH-CIPHER", NULL)),

	/* cipher deny */
	R("deny 3DES (and CBC)", DENY, "fail ciphers.deny=fail", REJ, REJ,
	  "not 3DES, CBC", "DES-CBC3-SHA", SM,
	  V("TLSv1", "DES-CBC3-SHA", "112")),
	R("deny RC4", DENY, "fail ciphers.deny=fail", REJ, REJ, "not RC4",
	  "RC4-SHA", SM, V("TLSv1", "RC4-SHA", "128")),
	R("deny CBC", DENY, "fail ciphers.deny=fail", REJ, REJ, "not CBC",
	  "AES128-SHA", PF, V("TLSv1.2", "AES128-SHA", "128")),
	R("GCM is not denied", DENY, "pass", ACC, ACC, NULL, NULL, PF, TLS12),
	R("TLS 1.3 suite is not denied", DENY, "pass", ACC, ACC, NULL, NULL, PF,
	  TLS13),
	R("deny by OpenSSL name, any case", "{ciphers: {deny: [aes128-sha]}}",
	  "fail ciphers.deny=fail", REJ, REJ, "not AES128-SHA", "AES128-SHA",
	  PF, V("TLSv1.2", "AES128-SHA", "128")),
	/* MTAs send OpenSSL names; the loader maps IANA names to them. */
	R("deny by IANA name",
	  "{ciphers: {deny: [TLS_RSA_WITH_AES_128_CBC_SHA]}}",
	  "fail ciphers.deny=fail", REJ, REJ, "not AES128-SHA", "AES128-SHA",
	  PF, V("TLSv1.2", "AES128-SHA", "128")),
	R("allow by IANA name",
	  "{ciphers: {allow: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]}}", "pass",
	  ACC, ACC, NULL, NULL, PF,
	  V("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", "256")),
	R("no cipher: deny is unknown", DENY, "fail ciphers.deny=unknown", REJ,
	  REJ, "not RC4, 3DES, CBC", "(absent)", PF, V("TLSv1.2", NULL, "256")),

	/* cipher allow */
	R("allow by family", ALLOW, "pass", ACC, ACC, NULL, NULL, PF, TLS12),
	R("allow by name", ALLOW, "pass", ACC, ACC, NULL, NULL, PF,
	  V("TLSv1.2", "AES128-SHA", "128")),
	R("not allowed", ALLOW, "fail ciphers.allow=fail", REJ, REJ,
	  "one of AEAD, AES128-SHA", "AES256-SHA", PF,
	  V("TLSv1.2", "AES256-SHA", "256")),
	R("no cipher: allow is unknown", ALLOW, "fail ciphers.allow=unknown",
	  REJ, REJ, NULL, "(absent)", PF, V("TLSv1.2", NULL, "256")),
	R("allow the TLSv1.3 family", "{ciphers: {allow: [TLSv1.3]}}", "pass",
	  ACC, ACC, NULL, NULL, PF, TLS13),

	/* forward secrecy */
	R("ECDHE has forward secrecy", FS, "pass", ACC, ACC, NULL, NULL, PF,
	  TLS12),
	R("DHE has forward secrecy", FS, "pass", ACC, ACC, NULL, NULL, PF,
	  V("TLSv1.2", "DHE-RSA-AES128-SHA", "128")),
	R("RSA key exchange has none", FS, "fail forward_secrecy=fail", REJ,
	  REJ, "forward secrecy", "AES128-SHA", PF,
	  V("TLSv1.2", "AES128-SHA", "128")),
	R("every TLS 1.3 suite has it", FS, "pass", ACC, ACC, NULL, NULL, PF,
	  TLS13),
	R("no cipher: forward secrecy unknown", FS,
	  "fail forward_secrecy=unknown", REJ, REJ, "forward secrecy",
	  "(absent)", PF, V("TLSv1.2", NULL, "256")),

	/* client certificate, Postfix: a subject means verified */
	R("postfix presented, subject sent", PRESENTED, "pass", ACC, ACC, NULL,
	  NULL, PF, TLS12, SUBJECT("mx1.partner.example")),
	R("postfix presented, no subject: cannot tell", PRESENTED,
	  "fail client_cert=unknown", REJ, REJ, "presented certificate",
	  "not verified", PF, TLS12),
	R("postfix presented, no subject, ignore unknowns",
	  IGNORE("client_cert: presented"), "pass client_cert=unknown", ACC,
	  ACC, NULL, NULL, PF, TLS12),
	R("postfix verified, subject sent", VERIFIED, "pass", ACC, ACC, NULL,
	  NULL, PF, TLS12, SUBJECT("mx1.partner.example")),
	R("postfix verified, no subject fails", VERIFIED,
	  "fail client_cert=fail", REJ, REJ, "verified certificate",
	  "not verified", PF, TLS12),

	/* client certificate, Sendmail: {verify} is the verdict */
	R("sendmail verified, verify OK", VERIFIED, "pass", ACC, ACC, NULL,
	  NULL, SM, TLS12, SM_CERT("OK")),
	R("sendmail verified, verify FAIL", VERIFIED, "fail client_cert=fail",
	  REJ, REJ, "verified certificate", "presented", SM, TLS12,
	  SM_CERT("FAIL")),
	R("sendmail verified, verify NO", VERIFIED, "fail client_cert=fail",
	  REJ, REJ, NULL, "none", SM, TLS12, SM_NOCERT),
	R("sendmail verified, no verify macro", VERIFIED,
	  "fail client_cert=unknown", REJ, REJ, NULL, NULL, SM, TLS12,
	  SM_CERT(NULL)),
	R("sendmail presented, no verify macro", PRESENTED, "pass", ACC, ACC,
	  NULL, NULL, SM, TLS12, SM_CERT(NULL)),
	R("sendmail presented, verify FAIL", PRESENTED, "pass", ACC, ACC, NULL,
	  NULL, SM, TLS12, SM_CERT("FAIL")),
	R("sendmail presented, verify NO", PRESENTED, "fail client_cert=fail",
	  REJ, REJ, "presented certificate", "none", SM, TLS12, SM_NOCERT),

	/* subject patterns */
	R("CN pattern, postfix", "{" SUBJ "}", "pass", ACC, ACC, NULL, NULL, PF,
	  TLS12, SUBJECT("mx1.partner.example")),
	R("CN pattern is case-insensitive", "{" SUBJ "}", "pass", ACC, ACC,
	  NULL, NULL, PF, TLS12, SUBJECT("MX1.Partner.Example")),
	R("wildcard matches one label", "{" SUBJ "}", "pass", ACC, ACC, NULL,
	  NULL, PF, TLS12, SUBJECT("a.mail.partner.example")),
	R("wildcard does not match zero labels", "{" SUBJ "}",
	  "fail subject=fail", REJ, REJ,
	  "one of mx1.partner.example, *.mail.partner.example",
	  "mail.partner.example", PF, TLS12, SUBJECT("mail.partner.example")),
	R("wildcard does not match two labels", "{" SUBJ "}",
	  "fail subject=fail", REJ, REJ, NULL, NULL, PF, TLS12,
	  SUBJECT("a.b.mail.partner.example")),
	R("postfix without subject: unknown", "{" SUBJ "}",
	  "fail subject=unknown", REJ, REJ, NULL, "(absent)", PF, TLS12),
	R("postfix without subject, ignore unknowns", IGNORE(SUBJ),
	  "pass subject=unknown", ACC, ACC, NULL, NULL, PF, TLS12),
	R("verified and subject both listed",
	  "{client_cert: verified, " SUBJ "}",
	  "fail client_cert=fail subject=unknown", REJ, REJ, NULL, NULL, PF,
	  TLS12),
	R("full DN on postfix is unobservable",
	  "{subject: [\"" BANK_DN_PAT "\"]}", "fail subject=unknown", REJ, REJ,
	  NULL, "mx.bank.example", PF, TLS12, SUBJECT("mx.bank.example")),
	R("full DN on postfix, ignore unknowns",
	  "{on_unobservable: ignore, subject: [\"" BANK_DN_PAT "\"]}",
	  "pass subject=unknown", ACC, ACC, NULL, NULL, PF, TLS12,
	  SUBJECT("mx.bank.example")),
	R("postfix: a CN pattern next to a DN one matches",
	  "{subject: [\"" BANK_DN_PAT "\", mx.bank.example]}", "pass", ACC, ACC,
	  NULL, NULL, PF, TLS12, SUBJECT("mx.bank.example")),
	R("postfix: neither matches, but the DN might have",
	  "{subject: [\"" BANK_DN_PAT "\", other.example]}",
	  "fail subject=unknown", REJ, REJ, NULL, NULL, PF, TLS12,
	  SUBJECT("mx.bank.example")),
	R("full DN on sendmail (xtext decoded)",
	  "{subject: [\"" BANK_DN_PAT "\"]}", "pass", ACC, ACC, NULL, NULL, SM,
	  TLS12, SM_CERT("OK")),
	R("full DN is case-insensitive",
	  "{subject: [\"/c=de/o=bank ag/cn=MX.bank.example\"]}", "pass", ACC,
	  ACC, NULL, NULL, SM, TLS12, SM_CERT("OK")),
	R("full DN differs",
	  "{subject: [\"/C=DE/O=Other/CN=mx.bank.example\"]}",
	  "fail subject=fail", REJ, REJ,
	  "one of /C=DE/O=Other/CN=mx.bank.example", BANK_DN_PAT, SM, TLS12,
	  SM_CERT("OK")),
	R("CN pattern against a sendmail DN", "{subject: [mx.bank.example]}",
	  "pass", ACC, ACC, NULL, NULL, SM, TLS12, SM_CERT("FAIL")),
	R("wildcard against a sendmail DN", "{subject: [\"*.bank.example\"]}",
	  "pass", ACC, ACC, NULL, NULL, SM, TLS12, SM_CERT(NULL)),
	R("sendmail, no certificate", "{subject: [mx.bank.example]}",
	  "fail subject=fail", REJ, REJ, NULL, "(absent)", SM, TLS12,
	  SM_NOCERT),
	R("wildcard needs a non-empty label", "{" SUBJ "}", "fail subject=fail",
	  REJ, REJ, NULL, NULL, PF, TLS12, SUBJECT(".mail.partner.example")),
	R("a long pattern list is cut with ...", "{" LONG_SUBJ "}",
	  "fail subject=fail", REJ, REJ,
	  "one of host-01.long-domain-name.example, "
	  "host-02.long-domain-name.example, "
	  "host-03.long-domain-name.example, ...",
	  NULL, PF, TLS12, SUBJECT("mx.example")),
	R("a long subject is cut between characters", "{" SUBJ "}",
	  "fail subject=fail", REJ, REJ, NULL,
	  E10 E10 E10 E10 E10 E10 E10 E1 E1 E1 E1 E1 E1 E1 E1 E1, PF, TLS12,
	  SUBJECT(E100 E100 E100)),
	R("hostile subject kept as sent (each sink escapes it)",
	  "{subject: [good.example]}", "fail subject=fail", REJ, REJ, NULL,
	  "a\"b\\c\xff\xc3\xa4.example", PF, TLS12,
	  SUBJECT("a\"b\\c\xff\xc3\xa4.example")),

	/* issuer patterns */
	R("issuer CN, postfix", "{issuer: [Partner Issuing CA]}", "pass", ACC,
	  ACC, NULL, NULL, PF, TLS12, SUBJECT("mx1.partner.example"),
	  .cert_issuer = "Partner Issuing CA"),
	R("issuer CN differs", "{issuer: [Partner Issuing CA]}",
	  "fail issuer=fail", REJ, REJ, "one of Partner Issuing CA", "Evil CA",
	  PF, TLS12, SUBJECT("mx1.partner.example"), .cert_issuer = "Evil CA"),
	R("issuer DN, sendmail", "{issuer: [\"" BANK_CA_PAT "\"]}", "pass", ACC,
	  ACC, NULL, NULL, SM, TLS12, SM_CERT("OK")),
	R("issuer CN, sendmail", "{issuer: [bank ca]}", "pass", ACC, ACC, NULL,
	  NULL, SM, TLS12, SM_CERT("OK")),
	R("issuer DN, postfix is unobservable",
	  "{issuer: [\"" BANK_CA_PAT "\"]}", "fail issuer=unknown", REJ, REJ,
	  NULL, "Bank CA", PF, TLS12, SUBJECT("mx.bank.example"),
	  .cert_issuer = "Bank CA"),

	/* fingerprints */
	R("sendmail fingerprint pinned", "{" FPS "}", "pass", ACC, ACC, NULL,
	  NULL, SM, TLS12, SM_CERT("OK"), .cert_fp = FP_COLON),
	R("sendmail fingerprint, lower case, no colons", "{" FPS "}", "pass",
	  ACC, ACC, NULL, NULL, SM, TLS12, SM_CERT("OK"), .cert_fp = FP_HEX),
	R("sendmail other fingerprint", "{" FPS "}", "fail fingerprints=fail",
	  REJ, REJ, "one of " FP_HEX, "00112233", SM, TLS12, SM_CERT("OK"),
	  .cert_fp = "00:11:22:33"),
	R("sendmail without {cert_fp}: unknown", "{" FPS "}",
	  "fail fingerprints=unknown", REJ, REJ, NULL, "(absent)", SM, TLS12,
	  SM_CERT("OK")),
	R("sendmail, no certificate: fails", "{" FPS "}",
	  "fail fingerprints=fail", REJ, REJ, NULL, NULL, SM, TLS12, SM_NOCERT),
	R("postfix never sends one", "{" FPS "}", "fail fingerprints=unknown",
	  REJ, REJ, NULL, NULL, PF, TLS12, SUBJECT("mx1.partner.example")),
	R("postfix, ignore unknowns", IGNORE(FPS), "pass fingerprints=unknown",
	  ACC, ACC, NULL, NULL, PF, TLS12, SUBJECT("mx1.partner.example")),

	/* actions, modes, several failures */
	R("monitor: would reject, accepts",
	  "{min_version: TLSv1.2, mode: monitor}", "fail min_version=fail", ACC,
	  REJ, NULL, NULL, PF, TLS10),
	R("monitor defer",
	  "{min_version: TLSv1.2, mode: monitor, action: defer}",
	  "fail min_version=fail", ACC, DEF, NULL, NULL, PF, TLS10),
	R("defer", "{min_version: TLSv1.2, action: defer}",
	  "fail min_version=fail", DEF, DEF, NULL, NULL, PF, TLS10),
	R("quarantine", "{min_version: TLSv1.2, action: quarantine}",
	  "fail min_version=fail", QUA, QUA, NULL, NULL, PF, TLS10),
	R("tag", "{min_version: TLSv1.2, action: tag}", "fail min_version=fail",
	  TAG, TAG, NULL, NULL, PF, TLS10),
	R("accept action", "{min_version: TLSv1.2, action: accept}",
	  "fail min_version=fail", ACC, ACC, NULL, NULL, PF, TLS10),
	R("every failure is listed, in requirement order",
	  "{min_version: TLSv1.2, min_cipher_bits: 128, forward_secrecy: true,"
	  " ciphers: {deny: [3DES]}}",
	  "fail min_version=fail min_cipher_bits=fail ciphers.deny=fail "
	  "forward_secrecy=fail",
	  REJ, REJ, "TLSv1.2 or higher", "TLSv1", SM,
	  V("TLSv1", "DES-CBC3-SHA", "112"), SM_CERT("OK")),
	R("profile by bare name", "modern",
	  "fail ciphers.deny=fail forward_secrecy=fail", REJ, REJ, "not CBC",
	  NULL, PF, V("TLSv1.2", "AES128-SHA", "128")),
	R("profile with an override", "{profile: modern, min_version: TLSv1.3}",
	  "fail min_version=fail", REJ, REJ, NULL, NULL, PF, TLS12),
	R("profile passes", "modern", "pass", ACC, ACC, NULL, NULL, PF, TLS13),

	/* client_addr: the evidence is the client (observed ""), checked
	 * on plaintext too, and implies no TLS */
	R("client_addr inside a v4 network", CADDR, "pass", ACC, ACC, NULL,
	  NULL, PF, .client_addr = "192.0.2.77"),
	R("client_addr inside a v6 network", CADDR, "pass", ACC, ACC, NULL,
	  NULL, PF, TLS12, .client_addr = "2001:db8:1::25"),
	R("client_addr exact address", CADDR, "pass", ACC, ACC, NULL, NULL, SM,
	  TLS12, .client_addr = "198.51.100.7"),
	R("client_addr IPv6: prefix (Sendmail)", CADDR, "pass", ACC, ACC, NULL,
	  NULL, SM, .client_addr = "IPv6:2001:db8::1"),
	R("client_addr outside", CADDR, "fail client_addr=fail", REJ, REJ,
	  "one of 192.0.2.0/24, 2001:db8::/32, 198.51.100.7/32", "", PF, TLS12,
	  .client_addr = "198.51.100.8"),
	R("client_addr outside, plaintext: still checked", CADDR,
	  "fail client_addr=fail", REJ, REJ, NULL, "", PF,
	  .client_addr = "203.0.113.1"),
	R("client_addr with tls: plaintext fails both, tls first",
	  "{tls: required, client_addr: 192.0.2.0/24}",
	  "fail tls=fail client_addr=fail", REJ, REJ, "TLS", "plaintext", PF,
	  .client_addr = "203.0.113.1"),
	R("client_addr with min_version: plaintext checks the client too",
	  "{min_version: TLSv1.2, client_addr: 192.0.2.0/24}", "fail tls=fail",
	  REJ, REJ, "TLS", "plaintext", PF, .client_addr = "192.0.2.1"),
	R("client_addr unknown without an address", CADDR,
	  "fail client_addr=unknown", REJ, REJ, NULL, "", PF, TLS12),
	R("client_addr unknown, ignored", IGNORE("client_addr: 192.0.2.0/24"),
	  "pass client_addr=unknown", ACC, ACC, NULL, "", PF, TLS12,
	  .client_addr = "garbage"),
	R("client_addr monitor", "{client_addr: 192.0.2.0/24, mode: monitor}",
	  "fail client_addr=fail", ACC, REJ, NULL, NULL, PF,
	  .client_addr = "192.0.3.1"),

	/* client_name: only a name the MTA verified */
	R("postfix verified name", CNAME, "pass", ACC, ACC, NULL, NULL, PF,
	  .client_name = "mx1.partner.example", .client_resolve = "OK"),
	R("postfix verified, below the subdomain pattern", CNAME, "pass", ACC,
	  ACC, NULL, NULL, PF, .client_name = "A.Out.Partner.Example.",
	  .client_resolve = "OK"),
	R("subdomain pattern is not the domain itself", CNAME,
	  "fail client_name=fail", REJ, REJ,
	  "verified, one of mx1.partner.example, .out.partner.example", "", PF,
	  .client_name = "out.partner.example", .client_resolve = "OK"),
	R("postfix 'unknown' (FORGED): fails", CNAME, "fail client_name=fail",
	  REJ, REJ, NULL, "", PF, TLS12, .client_name = "unknown",
	  .client_resolve = "FORGED"),
	R("postfix 'unknown' (FAIL): fails", CNAME, "fail client_name=fail",
	  REJ, REJ, NULL, "", PF, .client_name = "unknown",
	  .client_resolve = "FAIL"),
	R("postfix without {client_resolve}: {client_name} is verified", CNAME,
	  "pass", ACC, ACC, NULL, NULL, PF,
	  .client_name = "mx1.partner.example"),
	R("postfix TEMP: unknown", CNAME, "fail client_name=unknown", REJ, REJ,
	  NULL, "", PF, .client_name = "unknown", .client_resolve = "TEMP"),
	R("postfix sent no {client_name}: unknown", CNAME,
	  "fail client_name=unknown", REJ, REJ, NULL, "", PF, TLS12),
	R("sendmail OK", CNAME, "pass", ACC, ACC, NULL, NULL, SM, TLS12,
	  .client_name = "mx1.partner.example", .client_resolve = "OK"),
	R("sendmail FORGED: the PTR name is not believed", CNAME,
	  "fail client_name=fail", REJ, REJ, NULL, "", SM, TLS12,
	  .client_name = "mx1.partner.example", .client_resolve = "FORGED"),
	R("sendmail FAIL", CNAME, "fail client_name=fail", REJ, REJ, NULL, "",
	  SM, .client_name = "[192.0.2.1]", .client_resolve = "FAIL"),
	R("sendmail without {client_resolve}: unknown", CNAME,
	  "fail client_name=unknown", REJ, REJ, NULL, "", SM, TLS12,
	  .client_name = "mx1.partner.example"),
	R("sendmail without {client_resolve}, ignored",
	  IGNORE("client_name: mx1.partner.example"),
	  "pass client_name=unknown", ACC, ACC, NULL, NULL, SM, TLS12,
	  .client_name = "mx1.partner.example"),
	R("verified, another name", CNAME, "fail client_name=fail", REJ, REJ,
	  NULL, "", SM, TLS12, .client_name = "mx.evil.example",
	  .client_resolve = "OK"),
	R("OK with an address for a name: fails", CNAME,
	  "fail client_name=fail", REJ, REJ, NULL, "", SM,
	  .client_name = "[192.0.2.1]", .client_resolve = "OK"),
	R("every failure: client ones last",
	  "{min_version: TLSv1.3, client_addr: 192.0.2.0/24, client_name: "
	  "mx.example}",
	  "fail min_version=fail client_addr=fail client_name=fail", REJ, REJ,
	  "TLSv1.3 or higher", "TLSv1.2", SM, TLS12, .client_addr = "192.0.3.1",
	  .client_name = "mx1.partner.example", .client_resolve = "OK"),
};

static void
test_requirements(void **state)
{
	char yaml[2048];
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < NELEM(req_rows); i++) {
		const struct eval_row *row = &req_rows[i];
		struct tlsp_policy *p;

		snprintf(yaml, sizeof(yaml), REQ_POLICY("%s"), row->rule);
		p = load(row->name, yaml);
		if (p == NULL) {
			print_error("%s: policy did not load\n", row->name);
			bad = 1;
			continue;
		}
		bad |= evaluate_row(row, p, NULL, "user@example.com", i);
		tlsp_policy_unref(p);
	}
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------- shared policies */

enum {
	POL_COMBO,
	POL_NONULL,
	POL_SPARSE,
	POL_SCOPE,
	POL_REPLY,
	POL_SAMPLE,
	POL_PAIRS,
	POL_COUNT
};

static const char *const policy_yaml[POL_COUNT] = {
	[POL_COMBO] =
		"version: 1\n"
		"recipients:\n"
		"  example.com: {min_version: TLSv1.2}\n"
		"  .example.com: {min_version: TLSv1.1, action: defer}\n"
		"  monitor.example: {min_version: TLSv1.3, mode: monitor}\n"
		"  tag.example: {min_version: TLSv1.3, action: tag}\n"
		"  \"[192.0.2.1]\": {min_version: TLSv1.3}\n"
		"  default: {tls: optional, min_version: TLSv1.1, action: tag}\n"
		"senders:\n"
		"  partner.example: {client_cert: verified}\n"
		"  defer.example: {min_version: TLSv1.3, action: defer}\n"
		"  \"<>\": {min_version: TLSv1.2, action: defer}\n"
		"  default: {min_cipher_bits: 256, action: quarantine}\n",
	[POL_NONULL] =
		"version: 1\n"
		"recipients:\n"
		"  default: {min_version: TLSv1.2}\n"
		"senders:\n"
		"  default: {min_cipher_bits: 256, action: quarantine}\n",
	[POL_SPARSE] = "version: 1\n"
		       "recipients:\n"
		       "  example.com: {min_version: TLSv1.2}\n",
	[POL_SCOPE] = "version: 1\n"
		      "scope:\n"
		      "  authenticated: exempt\n"
		      "  daemons: [mx, smtpd-in]\n"
		      "  exempt_clients: [127.0.0.0/8, \"2001:db8::/32\"]\n"
		      "recipients:\n"
		      "  example.com: {min_version: TLSv1.2}\n"
		      "  auth.example:\n"
		      "    min_version: TLSv1.2\n"
		      "    scope: {authenticated: enforce}\n"
		      "  all.example:\n"
		      "    min_version: TLSv1.2\n"
		      "    scope: {authenticated: enforce, daemons: [], "
		      "exempt_clients: []}\n",
	[POL_REPLY] =
		"version: 1\n"
		"profiles:\n"
		"  p1:\n"
		"    min_version: TLSv1.2\n"
		"    min_cipher_bits: 128\n"
		"    client_cert: verified\n"
		"recipients:\n"
		"  example.com: {min_version: TLSv1.2}\n"
		"  defer.example: {min_version: TLSv1.2, action: defer}\n"
		"  custom.example:\n"
		"    profile: p1\n"
		"    reply: \"550 5.7.1 %{rule} (%{direction}) needs "
		"%{min_version}..%{max_version}, %{min_cipher_bits} bits, cert "
		"%{client_cert}, profile %{profile}\"\n"
		"  bare.example:\n"
		"    tls: required\n"
		"    action: defer\n"
		"    reply: \"451 4.7.1 %{min_version} %{max_version} "
		"%{min_cipher_bits} %{client_cert} %{profile}\"\n"
		"  pct.example:\n"
		"    min_version: TLSv1.2\n"
		"    reply: \"550 5.7.1 100%% sure about %{rule}\"\n"
		"  monitor.example: {min_version: TLSv1.2, mode: monitor}\n"
		"senders:\n"
		"  partner.example: {min_version: TLSv1.2}\n"
		"  \"<>\": {min_version: TLSv1.2, reply: \"550 5.7.1 %{rule}\"}\n",
	[POL_SAMPLE] = NULL, /* contrib/tlspolicy.yaml.sample */
	[POL_PAIRS] =
		"version: 1\n"
		"recipients:\n"
		"  finance.example.com: {client_cert: verified}\n"
		"  default: {tls: required, action: defer}\n"
		"senders:\n"
		"  partner.example: {min_version: TLSv1.2}\n"
		"  .partner.example: {min_version: TLSv1.3}\n"
		"  solo.example: {min_version: TLSv1.2}\n"
		"  default: {min_cipher_bits: 256, action: quarantine}\n"
		"pairs:\n"
		"  partner.example:\n"
		"    finance.example.com: {min_version: TLSv1.3, client_addr: "
		"192.0.2.0/24}\n"
		"    .example.com: {tls: optional}\n"
		"    \"[192.0.2.9]\": {min_version: TLSv1.1}\n"
		"  .partner.example:\n"
		"    finance.example.com: {client_cert: verified, mode: monitor}\n"
		"  a.partner.example:\n"
		"    hr.example.com: {min_version: TLSv1.1, action: tag}\n",
};

static struct tlsp_policy *policies[POL_COUNT];

static int
setup_policies(void **state)
{
	struct tlsp_diags d = {0};
	size_t i;

	(void)state;
	for (i = 0; i < POL_COUNT; i++) {
		if (policy_yaml[i] != NULL) {
			policies[i] = load("shared policy", policy_yaml[i]);
		} else {
			policies[i] = tlsp_policy_load(
				SRCDIR "/contrib/tlspolicy.yaml.sample",
				TLSP_MTA_UNKNOWN, &d);
			if (policies[i] == NULL)
				print_diags("sample", &d);
			tlsp_diags_free(&d);
		}
		if (policies[i] == NULL) {
			print_error("shared policy %zu did not load\n", i);
			return -1;
		}
	}
	return 0;
}

static int
teardown_policies(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < POL_COUNT; i++) {
		tlsp_policy_unref(policies[i]);
		policies[i] = NULL;
	}
	return 0;
}

static int
run_rows(const struct eval_row *rows, size_t n)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++)
		bad |= evaluate_row(&rows[i], policies[rows[i].policy],
				    rows[i].sender, rows[i].rcpt, i);
	return bad;
}

/* ------------------------------------------------ rule combination */

/* policy, envelope, results, rules, action, would, decided, flags,
 * then the macros. */
#define C(n, pol, from, to, res, rules_, act, wa, dec, fl, ...)                \
	{                                                                      \
		.name = n, .policy = pol, .sender = from, .rcpt = to,          \
		.results = res, .rules = rules_, .action = act, .would = wa,   \
		.decided = dec, .flags = fl,                                   \
		.m = { __VA_ARGS__ }                                           \
	}

#define RCPT_EX "recipient:example.com"
#define SND_PARTNER "sender:partner.example"
#define SND_DEF "sender:default"
#define RCPT_DEF "recipient:default"
#define UNP_S TLSP_V_SENDER_UNPARSABLE
#define UNP_R TLSP_V_RCPT_UNPARSABLE

#define PAIR_FIN "pair:partner.example>finance.example.com"

/* A matching pair rule replaces both directions' rules. */
static const struct eval_row pair_rows[] = {
	C("pair replaces sender and recipient rules: stricter", POL_PAIRS,
	  "a@partner.example", "b@finance.example.com",
	  "fail min_version=fail client_addr=fail", PAIR_FIN, REJ, REJ,
	  PAIR_FIN, 0, PF, TLS12, SUBJECT("mx.partner.example"),
	  .client_addr = "203.0.113.5"),
	C("pair passes where the recipient rule would fail", POL_PAIRS,
	  "a@partner.example", "b@finance.example.com", "pass", PAIR_FIN, ACC,
	  ACC, "", 0, PF, TLS13, .client_addr = "192.0.2.5"),
	C("pair subdomain recipient: looser than both", POL_PAIRS,
	  "a@partner.example", "b@x.example.com", "pass",
	  "pair:partner.example>.example.com", ACC, ACC, "", 0, PF),
	C("pair address literal recipient", POL_PAIRS, "a@partner.example",
	  "b@[192.0.2.9]", "fail min_version=fail",
	  "pair:partner.example>[192.0.2.9]", REJ, REJ,
	  "pair:partner.example>[192.0.2.9]", 0, PF, TLS10),
	C("no pair for this recipient: sender rule and recipient default",
	  POL_PAIRS, "a@partner.example", "b@other.example",
	  "fail min_version=fail", "sender:partner.example", REJ, REJ,
	  "sender:partner.example", 0, PF, TLS11),
	C("subdomain sender pair, monitor", POL_PAIRS, "a@b.partner.example",
	  "x@finance.example.com", "fail client_cert=fail",
	  "pair:.partner.example>finance.example.com", ACC, REJ, "", 0, PF,
	  TLS13),
	C("most specific sender first, its recipients only", POL_PAIRS,
	  "a@a.partner.example", "x@hr.example.com", "fail min_version=fail",
	  "pair:a.partner.example>hr.example.com", TAG, TAG,
	  "pair:a.partner.example>hr.example.com", 0, PF, TLS10),
	C("a less specific sender's pair when the specific has none", POL_PAIRS,
	  "a@a.partner.example", "x@finance.example.com",
	  "fail client_cert=fail", "pair:.partner.example>finance.example.com",
	  ACC, REJ, "", 0, PF, TLS13),
	C("pairs do not hold for other senders", POL_PAIRS, "a@other.example",
	  "b@finance.example.com", "fail client_cert=fail",
	  "recipient:finance.example.com", REJ, REJ,
	  "recipient:finance.example.com", 0, PF, TLS13),
	C("null sender: no pair", POL_PAIRS, "<>", "b@finance.example.com",
	  "fail client_cert=fail", "recipient:finance.example.com", REJ, REJ,
	  "recipient:finance.example.com", 0, PF, TLS13),
	C("sender domain case-folded for pairs", POL_PAIRS,
	  "a@PARTNER.Example.", "b@Finance.Example.COM", "pass", PAIR_FIN, ACC,
	  ACC, "", 0, PF, TLS13, .client_addr = "192.0.2.5"),
};

static void
test_pairs(void **state)
{
	(void)state;
	assert_int_equal(run_rows(pair_rows, NELEM(pair_rows)), 0);
}

static const struct eval_row combo_rows[] = {
	C("recipient specific beats both defaults", POL_COMBO, "a@other.org",
	  "b@example.com", "fail min_version=fail", RCPT_EX, REJ, REJ, RCPT_EX,
	  0, PF, TLS10),
	C("recipient domain is case-folded, trailing dot dropped", POL_COMBO,
	  "a@other.org", "<B@EXAMPLE.COM.>", "fail min_version=fail", RCPT_EX,
	  REJ, REJ, RCPT_EX, 0, PF, TLS10),
	C("recipient subdomain rule", POL_COMBO, "a@other.org",
	  "b@mx.example.com", "fail min_version=fail", "recipient:.example.com",
	  DEF, DEF, "recipient:.example.com", 0, PF,
	  V("TLSv1", ECDHE256, "256")),
	C("sender and recipient specific: both run, both listed", POL_COMBO,
	  "a@partner.example", "b@example.com",
	  "fail client_cert=fail | fail min_version=fail",
	  SND_PARTNER "," RCPT_EX, REJ, REJ, SND_PARTNER, 0, PF, TLS10),
	C("both specific, only the recipient fails", POL_COMBO,
	  "a@partner.example", "b@example.com", "pass | fail min_version=fail",
	  SND_PARTNER "," RCPT_EX, REJ, REJ, RCPT_EX, 0, PF, TLS10,
	  SUBJECT("mx.partner.example")),
	C("strictest wins: recipient reject over sender defer", POL_COMBO,
	  "a@defer.example", "b@example.com",
	  "fail min_version=fail | fail min_version=fail",
	  "sender:defer.example," RCPT_EX, REJ, REJ, RCPT_EX, 0, PF, TLS10),
	C("sender defer alone", POL_COMBO, "a@defer.example", "b@example.com",
	  "fail min_version=fail | pass", "sender:defer.example," RCPT_EX, DEF,
	  DEF, "sender:defer.example", 0, PF, TLS12),
	C("sender specific beats the recipient default", POL_COMBO,
	  "a@partner.example", "b@nowhere.org", "fail client_cert=fail",
	  SND_PARTNER, REJ, REJ, SND_PARTNER, 0, PF, TLS12),
	C("defaults combine when nothing is specific", POL_COMBO, "a@other.org",
	  "b@nowhere.org", "fail min_cipher_bits=fail | fail min_version=fail",
	  SND_DEF "," RCPT_DEF, QUA, QUA, SND_DEF, 0, PF, TLS10),
	C("defaults, only the recipient default fails", POL_COMBO,
	  "a@other.org", "b@nowhere.org", "pass | fail min_version=fail",
	  SND_DEF "," RCPT_DEF, TAG, TAG, RCPT_DEF, 0, PF,
	  V("TLSv1", ECDHE256, "256")),
	C("null sender rule is specific", POL_COMBO, "<>", "b@nowhere.org",
	  "fail min_version=fail", "sender:<>", DEF, DEF, "sender:<>", 0, PF,
	  TLS10),
	C("Postfix's empty sender is the null sender", POL_COMBO, "",
	  "b@nowhere.org", "fail min_version=fail", "sender:<>", DEF, DEF,
	  "sender:<>", 0, PF, TLS10),
	C("null sender and recipient specific", POL_COMBO, "<>",
	  "b@example.com", "fail min_version=fail | fail min_version=fail",
	  "sender:<>," RCPT_EX, REJ, REJ, RCPT_EX, 0, PF, TLS10),
	C("null sender skips the sender default", POL_NONULL, "<>",
	  "b@nowhere.org", "fail min_version=fail", RCPT_DEF, REJ, REJ,
	  RCPT_DEF, 0, PF, TLS10),
	C("a real sender gets the sender default", POL_NONULL, "a@x.org",
	  "b@nowhere.org", "fail min_cipher_bits=fail | fail min_version=fail",
	  SND_DEF "," RCPT_DEF, REJ, REJ, RCPT_DEF, 0, PF, TLS10),
	C("no sender information: no sender rules", POL_NONULL, NULL,
	  "b@nowhere.org", "fail min_version=fail", RCPT_DEF, REJ, REJ,
	  RCPT_DEF, 0, PF, TLS10),
	C("monitor rule: would reject, accepts", POL_COMBO, "a@other.org",
	  "b@monitor.example", "fail min_version=fail",
	  "recipient:monitor.example", ACC, REJ, "", 0, PF, TLS12),
	C("monitor and enforced: enforced decides, monitor counts in would",
	  POL_COMBO, "a@defer.example", "b@monitor.example",
	  "fail min_version=fail | fail min_version=fail",
	  "sender:defer.example,recipient:monitor.example", DEF, REJ,
	  "sender:defer.example", 0, PF, TLS12),
	C("tag action", POL_COMBO, "a@other.org", "b@tag.example",
	  "fail min_version=fail", "recipient:tag.example", TAG, TAG,
	  "recipient:tag.example", 0, PF, TLS12),
	C("address literal", POL_COMBO, "a@other.org", "b@[192.0.2.1]",
	  "fail min_version=fail", "recipient:[192.0.2.1]", REJ, REJ,
	  "recipient:[192.0.2.1]", 0, PF, TLS12),
	C("other literal falls to the defaults", POL_COMBO, "a@other.org",
	  "b@[192.0.2.2]", "pass | pass", SND_DEF "," RCPT_DEF, ACC, ACC, "", 0,
	  PF, TLS12),
	C("unparsable recipient is flagged, takes the default", POL_COMBO, NULL,
	  "b@@exa mple", "fail min_version=fail", RCPT_DEF, TAG, TAG, RCPT_DEF,
	  UNP_R, PF, TLS10),
	C("recipient <> is unparsable", POL_COMBO, NULL, "<>",
	  "fail min_version=fail", RCPT_DEF, TAG, TAG, RCPT_DEF, UNP_R, PF,
	  TLS10),
	C("recipient without domain is flagged", POL_COMBO, NULL, "postmaster",
	  "fail min_version=fail", RCPT_DEF, TAG, TAG, RCPT_DEF, UNP_R, PF,
	  TLS10),
	C("unparsable sender is flagged, takes the default", POL_COMBO,
	  "a@exa mple", "b@nowhere.org", "pass | pass", SND_DEF "," RCPT_DEF,
	  ACC, ACC, "", UNP_S, PF, TLS12),
	C("sender without domain is flagged", POL_COMBO, "MAILER-DAEMON",
	  "b@example.com", "pass", RCPT_EX, ACC, ACC, "", UNP_S, PF, TLS12),
	C("no rule at all", POL_SPARSE, "a@other.org", "b@nowhere.org", "", "",
	  ACC, ACC, "", TLSP_V_NO_RULE, PF, TLS10),
	C("no recipient, no specific sender", POL_NONULL, "<>", NULL, "", "",
	  ACC, ACC, "", TLSP_V_NO_RULE, PF, TLS10),
	C("authenticated session: every rule exempt", POL_COMBO,
	  "a@partner.example", "b@example.com", "exempt | exempt",
	  SND_PARTNER "," RCPT_EX, ACC, ACC, "", TLSP_V_SESSION_EXEMPT, PF,
	  TLS10, .auth_authen = "alice"),

	/* the sample policy in contrib/ */
	C("sample: modern refuses CBC without forward secrecy", POL_SAMPLE,
	  "a@elsewhere.org", "b@example.com",
	  "fail ciphers.deny=fail forward_secrecy=fail", RCPT_EX, REJ, REJ,
	  RCPT_EX, 0, PF, V("TLSv1.2", "AES128-SHA", "128")),
	C("sample: health.example defers below TLSv1.3", POL_SAMPLE,
	  "a@elsewhere.org", "b@health.example", "fail min_version=fail",
	  "recipient:health.example", DEF, DEF, "recipient:health.example", 0,
	  PF, TLS12),
	C("sample: newsletter is monitored", POL_SAMPLE, "a@elsewhere.org",
	  "b@newsletter.example",
	  "fail min_version=fail ciphers.deny=fail forward_secrecy=fail",
	  "recipient:newsletter.example", ACC, REJ, "", 0, PF, TLS10),
	C("sample: default accepts plaintext", POL_SAMPLE, "a@elsewhere.org",
	  "b@elsewhere.org", "pass", RCPT_DEF, ACC, ACC, "", 0, PF),
	C("sample: partner over mutual TLS", POL_SAMPLE, "a@partner.example",
	  "b@elsewhere.org", "pass", SND_PARTNER, ACC, ACC, "", 0, PF, TLS13,
	  SUBJECT("mx1.partner.example"), .cert_issuer = "Partner Issuing CA"),
	C("sample: partner with a wrong issuer", POL_SAMPLE,
	  "a@partner.example", "b@example.com", "fail issuer=fail | pass",
	  SND_PARTNER "," RCPT_EX, REJ, REJ, SND_PARTNER, 0, PF, TLS13,
	  SUBJECT("mx1.partner.example"), .cert_issuer = "Other CA"),
	C("sample: loopback client is exempt", POL_SAMPLE, "a@elsewhere.org",
	  "b@example.com", "exempt", RCPT_EX, ACC, ACC, "",
	  TLSP_V_SESSION_EXEMPT, PF, .client_addr = "127.0.0.1"),
};

static void
test_combination(void **state)
{
	(void)state;
	assert_int_equal(run_rows(combo_rows, NELEM(combo_rows)), 0);
}

/* ---------------------------------------------------------- scope */

static const struct eval_row scope_rows[] = {
	C("listed daemon, outside client: enforced", POL_SCOPE, NULL,
	  "b@example.com", "fail min_version=fail", RCPT_EX, REJ, REJ, RCPT_EX,
	  0, PF, TLS10, .daemon_name = "mx", .client_addr = "192.0.2.1"),
	C("second listed daemon", POL_SCOPE, NULL, "b@example.com",
	  "fail min_version=fail", RCPT_EX, REJ, REJ, RCPT_EX, 0, PF, TLS10,
	  .daemon_name = "smtpd-in", .client_addr = "192.0.2.1"),
	C("unlisted daemon is exempt", POL_SCOPE, NULL, "b@example.com",
	  "exempt", RCPT_EX, ACC, ACC, "", TLSP_V_SESSION_EXEMPT, PF, TLS10,
	  .daemon_name = "submission", .client_addr = "192.0.2.1"),
	C("daemon names are case-sensitive", POL_SCOPE, NULL, "b@example.com",
	  "exempt", RCPT_EX, ACC, ACC, "", TLSP_V_SESSION_EXEMPT, PF, TLS10,
	  .daemon_name = "MX", .client_addr = "192.0.2.1"),
	/* An MTA that omits {daemon_name} must not open a hole. */
	C("no daemon name with a daemon list is enforced", POL_SCOPE, NULL,
	  "b@example.com", "fail min_version=fail", RCPT_EX, REJ, REJ, RCPT_EX,
	  0, PF, TLS10, .client_addr = "192.0.2.1"),
	C("exempt IPv4 client", POL_SCOPE, NULL, "b@example.com", "exempt",
	  RCPT_EX, ACC, ACC, "", TLSP_V_SESSION_EXEMPT, PF, TLS10,
	  .daemon_name = "mx", .client_addr = "127.0.0.2"),
	C("exempt IPv6 client, Sendmail spelling", POL_SCOPE, NULL,
	  "b@example.com", "exempt", RCPT_EX, ACC, ACC, "",
	  TLSP_V_SESSION_EXEMPT, SM, TLS10, .daemon_name = "mx",
	  .client_addr = "IPv6:2001:db8::5"),
	C("IPv6 client outside the list", POL_SCOPE, NULL, "b@example.com",
	  "fail min_version=fail", RCPT_EX, REJ, REJ, RCPT_EX, 0, PF, TLS10,
	  .daemon_name = "mx", .client_addr = "2001:db9::5"),
	C("unparsable client address is not exempt", POL_SCOPE, NULL,
	  "b@example.com", "fail min_version=fail", RCPT_EX, REJ, REJ, RCPT_EX,
	  0, PF, TLS10, .daemon_name = "mx", .client_addr = "unknown"),
	C("authenticated is exempt", POL_SCOPE, NULL, "b@example.com", "exempt",
	  RCPT_EX, ACC, ACC, "", TLSP_V_SESSION_EXEMPT, PF, TLS10,
	  .daemon_name = "mx", .client_addr = "192.0.2.1",
	  .auth_authen = "alice"),
	C("rule scope enforces authenticated", POL_SCOPE, NULL,
	  "b@auth.example", "fail min_version=fail", "recipient:auth.example",
	  REJ, REJ, "recipient:auth.example", 0, PF, TLS10, .daemon_name = "mx",
	  .client_addr = "192.0.2.1", .auth_authen = "alice"),
	C("rule scope with empty lists enforces everywhere", POL_SCOPE, NULL,
	  "b@all.example", "fail min_version=fail", "recipient:all.example",
	  REJ, REJ, "recipient:all.example", 0, PF, TLS10,
	  .daemon_name = "submission", .client_addr = "127.0.0.1",
	  .auth_authen = "alice"),
};

static void
test_scope(void **state)
{
	(void)state;
	assert_int_equal(run_rows(scope_rows, NELEM(scope_rows)), 0);
}

/* -------------------------------------------------- replies, evaluated */

#define Y(n, from, to, act, rep, ...)                                          \
	{                                                                      \
		.name = n, .policy = POL_REPLY, .sender = from, .rcpt = to,    \
		.action = act, .would = act, .reply = rep,                     \
		.m = { __VA_ARGS__ }                                           \
	}

#define STARTTLS_REJ "530 5.7.0 Must issue a STARTTLS command first"
#define STARTTLS_DEF "450 4.7.0 Must issue a STARTTLS command first"

static const struct eval_row reply_rows[] = {
	Y("default reject, plaintext", NULL, "b@example.com", REJ, STARTTLS_REJ,
	  PF),
	Y("default reject, TLS", NULL, "b@example.com", REJ,
	  "550 5.7.1 Message refused: TLS policy for the recipient domain "
	  "not met",
	  PF, TLS10),
	Y("default defer, plaintext", NULL, "b@defer.example", DEF,
	  STARTTLS_DEF, PF),
	Y("default defer, TLS", NULL, "b@defer.example", DEF,
	  "450 4.7.1 TLS policy for the recipient domain not met, try again "
	  "later",
	  PF, TLS10),
	Y("default reject for a sender rule", "a@partner.example",
	  "b@nowhere.org", REJ,
	  "550 5.7.1 Message refused: TLS policy for the sender domain not "
	  "met",
	  PF, TLS10),
	Y("template with every placeholder", NULL, "b@custom.example", REJ,
	  "550 5.7.1 custom.example (recipient) needs TLSv1.2..any, 128 bits, "
	  "cert verified, profile p1",
	  PF, TLS10),
	Y("template used on plaintext too", NULL, "b@custom.example", REJ,
	  "550 5.7.1 custom.example (recipient) needs TLSv1.2..any, 128 bits, "
	  "cert verified, profile p1",
	  PF),
	Y("unset requirements read any/none", NULL, "b@bare.example", DEF,
	  "451 4.7.1 any any any none none", PF),
	Y("%% is a percent sign", NULL, "b@pct.example", REJ,
	  "550 5.7.1 100% sure about pct.example", PF, TLS10),
	Y("null sender rule's template", "<>", "b@nowhere.org", REJ,
	  "550 5.7.1 <>", PF, TLS10),
	{.name = "monitor: no reply",
	 .policy = POL_REPLY,
	 .rcpt = "b@monitor.example",
	 .action = ACC,
	 .would = REJ,
	 .reply = "",
	 .m = {PF, TLS10}},
	Y("pass: no reply", NULL, "b@example.com", ACC, "", PF, TLS12),
};

static void
test_reply_evaluated(void **state)
{
	(void)state;
	assert_int_equal(run_rows(reply_rows, NELEM(reply_rows)), 0);
}

/* ----------------------------------------------- replies, rendered */

/*
 * tlsp_reply_render() on hand-built rules, for what the loader would not
 * let through (unknown placeholders, stray '%') and for buffer limits.
 */
struct render_row {
	const char *name;
	enum tlsp_action action;
	enum tlsp_direction dir;
	const char *tmpl; /* NULL: the default text */
	int plaintext;
	size_t bufsz;
	int ret;
	const char *want;
};

static const struct render_row render_rows[] = {
	{"unknown placeholder is literal", REJ, TLSP_DIR_RECIPIENT,
	 "550 5.7.1 %{nope} %{rule}", 0, 256, 29,
	 "550 5.7.1 %{nope} example.org"},
	{"unclosed placeholder is literal", REJ, TLSP_DIR_RECIPIENT,
	 "550 5.7.1 %{rule", 0, 256, 16, "550 5.7.1 %{rule"},
	{"%%{rule} is not a placeholder", REJ, TLSP_DIR_RECIPIENT,
	 "550 5.7.1 %%{rule}", 0, 256, 17, "550 5.7.1 %{rule}"},
	{"lone % is literal", REJ, TLSP_DIR_RECIPIENT, "550 5.7.1 50% 5%", 0,
	 256, 16, "550 5.7.1 50% 5%"},
	{"%%% gives two", REJ, TLSP_DIR_RECIPIENT, "550 5.7.1 %%%", 0, 256, 12,
	 "550 5.7.1 %%"},
	{"direction sender", DEF, TLSP_DIR_SENDER, "450 4.7.1 %{direction}", 0,
	 256, 16, "450 4.7.1 sender"},
	{"default reject, sender", REJ, TLSP_DIR_SENDER, NULL, 0, 256, 67,
	 "550 5.7.1 Message refused: TLS policy for the sender domain not "
	 "met"},
	{"default defer, plaintext", DEF, TLSP_DIR_SENDER, NULL, 1, 256, 45,
	 STARTTLS_DEF},
	{"exact fit", REJ, TLSP_DIR_RECIPIENT, "550 5.7.1 %{rule}", 0, 22, 21,
	 "550 5.7.1 example.org"},
	{"one byte short", REJ, TLSP_DIR_RECIPIENT, "550 5.7.1 %{rule}", 0, 21,
	 -1, ""},
	{"no room at all", REJ, TLSP_DIR_RECIPIENT, NULL, 0, 1, -1, ""},
	{"accept has no reply", ACC, TLSP_DIR_RECIPIENT, "550 5.7.1 x", 0, 256,
	 0, ""},
	{"tag has no reply", TAG, TLSP_DIR_RECIPIENT, "550 5.7.1 x", 0, 256, 0,
	 ""},
	{"quarantine has no reply", QUA, TLSP_DIR_RECIPIENT, NULL, 1, 256, 0,
	 ""},
};

static void
test_reply_render(void **state)
{
	char name[] = "recipient:example.org", buf[256];
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < NELEM(render_rows); i++) {
		const struct render_row *row = &render_rows[i];
		struct tlsp_spec spec = {.action = row->action};
		struct tlsp_rule rule = {.name = name,
					 .pattern = name + 10,
					 .spec = &spec,
					 .dir = (uint8_t)row->dir};
		char tmpl[128];
		int ret;

		if (row->tmpl != NULL) {
			snprintf(tmpl, sizeof(tmpl), "%s", row->tmpl);
			spec.reply = tmpl;
		}
		assert_true(row->bufsz <= sizeof(buf));
		memset(buf, 'x', sizeof(buf));
		ret = tlsp_reply_render(&rule, row->plaintext, buf, row->bufsz);
		if (ret != row->ret || strcmp(buf, row->want) != 0) {
			print_error("%s: want %d \"%s\", got %d \"%s\"\n",
				    row->name, row->ret, row->want, ret, buf);
			bad = 1;
		}
	}
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------------ sender stage */

struct sender_row {
	const char *name;
	int policy;
	const char *sender;
	int ret;
	const char *results; /* "" when ret is 0 */
	const char *rules;
	enum tlsp_action action;
	struct tlsp_macros m;
};

static const struct sender_row sender_rows[] = {
	{"specific sender rule",
	 POL_COMBO,
	 "a@partner.example",
	 1,
	 "fail client_cert=fail",
	 SND_PARTNER,
	 REJ,
	 {PF, TLS12}},
	{"specific sender rule passes",
	 POL_COMBO,
	 "a@partner.example",
	 1,
	 "pass",
	 SND_PARTNER,
	 ACC,
	 {PF, TLS12, SUBJECT("mx.partner.example")}},
	{"null sender rule",
	 POL_COMBO,
	 "<>",
	 1,
	 "fail min_version=fail",
	 "sender:<>",
	 DEF,
	 {PF, TLS10}},
	{"only a default: wait for RCPT",
	 POL_COMBO,
	 "a@other.org",
	 0,
	 "",
	 "",
	 ACC,
	 {PF, TLS10}},
	{"null sender without its rule",
	 POL_NONULL,
	 "<>",
	 0,
	 "",
	 "",
	 ACC,
	 {PF, TLS10}},
	{"unparsable sender", POL_COMBO, "a@@b", 0, "", "", ACC, {PF, TLS10}},
	/* a pair may replace the sender rule for some recipient */
	{"sender named by a pair: wait for RCPT",
	 POL_PAIRS,
	 "a@partner.example",
	 0,
	 "",
	 "",
	 ACC,
	 {PF, TLS10}},
	{"below a pair's subdomain sender: wait for RCPT",
	 POL_PAIRS,
	 "a@c.partner.example",
	 0,
	 "",
	 "",
	 ACC,
	 {PF, TLS10}},
	{"a sender no pair names: its rule decides at MAIL",
	 POL_PAIRS,
	 "a@solo.example",
	 1,
	 "fail min_version=fail",
	 "sender:solo.example",
	 REJ,
	 {PF, TLS10}},
	{"no sender", POL_COMBO, NULL, 0, "", "", ACC, {PF, TLS10}},
};

static void
test_sender_stage(void **state)
{
	char buf[1024];
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < NELEM(sender_rows); i++) {
		const struct sender_row *row = &sender_rows[i];
		struct tlsp_facts f;
		struct tlsp_verdict v;
		int ret;

		tlsp_facts_from_macros(&row->m, &f);
		ret = tlsp_evaluate_sender(policies[row->policy], &f,
					   row->sender, time(NULL), &v);
		if (ret != row->ret || v.action != row->action) {
			print_error("%s: want %d %s, got %d %s\n", row->name,
				    row->ret, tlsp_action_name(row->action),
				    ret, tlsp_action_name(v.action));
			bad = 1;
		}
		if (ret == 0 && (v.nrules != 0 || v.flags != 0 ||
				 v.decided_by != NULL || v.reply[0] != '\0')) {
			print_error("%s: verdict not empty\n", row->name);
			bad = 1;
		}
		summarize(&v, buf, sizeof(buf));
		bad |= same("results", row->name, row->results, buf);
		rule_names(&v, buf, sizeof(buf));
		bad |= same("rules", row->name, row->rules, buf);
		bad |= check_invariants(row->name, &v);
	}
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------------- accessors */

static void
test_rule_accessors(void **state)
{
	struct tlsp_policy *p = policies[POL_COMBO];
	struct tlsp_facts f;
	struct tlsp_verdict v;
	struct tlsp_macros m = {PF, TLS10};

	(void)state;
	tlsp_facts_from_macros(&m, &f);
	tlsp_evaluate(p, &f, "a@other.org", "b@monitor.example", time(NULL),
		      &v);
	assert_int_equal(v.nrules, 1);
	assert_string_equal(tlsp_rule_name(v.r[0].rule),
			    "recipient:monitor.example");
	assert_int_equal(tlsp_rule_action(v.r[0].rule), REJ);
	assert_int_equal(tlsp_rule_mode(v.r[0].rule), TLSP_MODE_MONITOR);
	tlsp_evaluate(p, &f, "a@defer.example", "b@x.org", time(NULL), &v);
	assert_int_equal(v.nrules, 1);
	assert_string_equal(tlsp_rule_name(v.r[0].rule),
			    "sender:defer.example");
	assert_int_equal(tlsp_rule_action(v.r[0].rule), DEF);
	assert_int_equal(tlsp_rule_mode(v.r[0].rule), TLSP_MODE_ENFORCE);
}

/* Which clients a rule names (for the reports that list them all): the
 * networks of client_addr, the patterns of client_name, through a profile
 * and a pair, each spec once; nothing for a policy without them. */
static void
test_names_client(void **state)
{
	struct tlsp_policy *p, *none;

	(void)state;
	p = load("names-client.yaml",
		 "version: 1\n"
		 "profiles:\n"
		 "  lan:\n"
		 "    client_addr: [10.1.0.0/16]\n"
		 "recipients:\n"
		 "  a.example: lan\n"
		 "  b.example: lan\n"
		 "  c.example:\n"
		 "    client_addr: [192.0.2.0/28, \"2001:db8::/32\"]\n"
		 "  d.example:\n"
		 "    client_name: [mx.partner.example, .relay.example]\n"
		 "pairs:\n"
		 "  s.example:\n"
		 "    e.example:\n"
		 "      client_addr: [203.0.113.9]\n");
	assert_non_null(p);
	assert_int_equal(tlsp_policy_names_client(p, "10.1.200.3", NULL), 1);
	assert_int_equal(tlsp_policy_names_client(p, "10.2.0.1", NULL), 0);
	assert_int_equal(tlsp_policy_names_client(p, "192.0.2.15", NULL), 1);
	assert_int_equal(tlsp_policy_names_client(p, "192.0.2.16", NULL), 0);
	assert_int_equal(tlsp_policy_names_client(p, "2001:db8::25", NULL), 1);
	assert_int_equal(tlsp_policy_names_client(p, "IPv6:2001:db8::25", NULL),
			 1);
	assert_int_equal(tlsp_policy_names_client(p, "2001:db9::1", NULL), 0);
	assert_int_equal(tlsp_policy_names_client(p, "203.0.113.9", NULL), 1);
	assert_int_equal(tlsp_policy_names_client(p, "203.0.113.8", NULL), 0);
	/* names: exact, below a ".parent", case and a final dot */
	assert_int_equal(tlsp_policy_names_client(p, "198.51.100.1",
						  "MX.Partner.Example."),
			 1);
	assert_int_equal(tlsp_policy_names_client(p, NULL, "a.relay.example"),
			 1);
	assert_int_equal(tlsp_policy_names_client(p, NULL, "relay.example"), 0);
	assert_int_equal(tlsp_policy_names_client(p, NULL,
						  "x.mx.partner.example"),
			 0);
	/* what a redacted record or a broken value gives: not named */
	assert_int_equal(tlsp_policy_names_client(p, "sha256:0123abcd", ""), 0);
	assert_int_equal(tlsp_policy_names_client(p, "", NULL), 0);
	assert_int_equal(tlsp_policy_names_client(p, NULL, NULL), 0);
	tlsp_policy_unref(p);
	none = load("names-none.yaml", "version: 1\n"
				       "recipients:\n"
				       "  a.example: {tls: required}\n");
	assert_non_null(none);
	assert_int_equal(tlsp_policy_names_client(none, "10.1.200.3", "x"), 0);
	tlsp_policy_unref(none);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requirements),
		cmocka_unit_test(test_combination),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_reply_evaluated),
		cmocka_unit_test(test_reply_render),
		cmocka_unit_test(test_sender_stage),
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_rule_accessors),
		cmocka_unit_test(test_names_client),
	};

	return cmocka_run_group_tests(tests, setup_policies, teardown_policies);
}
