/*
 * test_report_reqs.c - every requirement's row in every report format,
 * from a log the real daemon wrote.
 *
 * A daemon runs a policy with one recipient rule per requirement, each
 * stating only that requirement, and each of its sessions (one per
 * requirement, each from its own client address) fails exactly that
 * one. Two more sessions pass a rule and meet no rule at all. The log
 * is then read by tlspolicy-audit: in text, CSV, JSON and TLS-RPT every
 * requirement's total must be 1, and the rows of the domain, the rule
 * and the client of that requirement's session must name it and only
 * it, so two requirements' rows swapped (in the names, the columns or
 * the counts) cannot pass. `show` must print each failure's required
 * and observed values as the engine wrote them, and say what decided a
 * verdict that no rule decided.
 *
 * What this daemon's policy cannot write without failing a requirement
 * twice, or at all, is checked on logs chained by tests/audit/mklog: the
 * report's "other" bucket (a requirement this version does not know, as
 * a newer daemon may record) and the verdicts of monitor-mode rules and
 * exempt sessions in `show`.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "jsonread.h"
#include "tlspolicy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PF "Postfix 3.7.11"
#define SM "8.17.1"
#define FP_SEEN "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

/*
 * One session: the client, the macros it sends, the recipient domain
 * (whose rule is "recipient:DOMAIN") and what the audit record must say
 * of the failure: required, observed, and the RFC 8460 result type the
 * TLS-RPT report gives it (the table in tlspolicy-audit(1)). A NULL
 * tls_version is a plaintext session; a NULL macro is not sent.
 */
struct sess {
	const char *domain, *ip, *mta;
	const char *version, *cipher, *bits, *subject, *issuer, *verify, *fp;
	const char *required, *observed, *result;
	const char *client_name, *client_resolve; /* NULL: not sent */
};

/* Indexed by enum tlsp_req: the session that fails that requirement. */
static const struct sess fails[TLSP_REQ_COUNT] = {
	[TLSP_REQ_TLS] = {"tls.example", "192.0.2.21", PF, NULL, NULL, NULL,
			  NULL, NULL, NULL, NULL, "TLS", "plaintext",
			  "starttls-not-supported", NULL, NULL},
	[TLSP_REQ_MIN_VERSION] = {"minv.example", "192.0.2.22", PF, "TLSv1.2",
				  "ECDHE-RSA-AES256-GCM-SHA384", "256", NULL,
				  NULL, NULL, NULL, "TLSv1.3 or higher",
				  "TLSv1.2", "validation-failure", NULL, NULL},
	[TLSP_REQ_MAX_VERSION] = {"maxv.example", "192.0.2.23", PF, "TLSv1.2",
				  "ECDHE-RSA-AES256-GCM-SHA384", "256", NULL,
				  NULL, NULL, NULL, "TLSv1.1 or lower",
				  "TLSv1.2", "validation-failure", NULL, NULL},
	[TLSP_REQ_MIN_CIPHER_BITS] = {"bits.example", "192.0.2.24", PF,
				      "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256",
				      "128", NULL, NULL, NULL, NULL,
				      ">= 256 bits", "128 bits",
				      "validation-failure", NULL, NULL},
	[TLSP_REQ_CIPHER_ALLOW] = {"allow.example", "192.0.2.25", PF, "TLSv1.2",
				   "ECDHE-RSA-AES128-GCM-SHA256", "128", NULL,
				   NULL, NULL, NULL,
				   "one of ECDHE-RSA-AES256-GCM-SHA384",
				   "ECDHE-RSA-AES128-GCM-SHA256",
				   "validation-failure", NULL, NULL},
	[TLSP_REQ_CIPHER_DENY] = {"deny.example", "192.0.2.26", PF, "TLSv1.2",
				  "ECDHE-RSA-AES256-SHA384", "256", NULL, NULL,
				  NULL, NULL, "not CBC",
				  "ECDHE-RSA-AES256-SHA384",
				  "validation-failure", NULL, NULL},
	[TLSP_REQ_FORWARD_SECRECY] = {"fs.example", "192.0.2.27", PF, "TLSv1.2",
				      "AES256-GCM-SHA384", "256", NULL, NULL,
				      NULL, NULL, "forward secrecy",
				      "AES256-GCM-SHA384", "validation-failure",
				      NULL, NULL},
	[TLSP_REQ_CLIENT_CERT] = {"cert.example", "192.0.2.28", PF, "TLSv1.2",
				  "ECDHE-RSA-AES256-GCM-SHA384", "256", NULL,
				  NULL, NULL, NULL, "verified certificate",
				  "not verified", "certificate-not-trusted",
				  NULL, NULL},
	/* each name session's other name matches the other rule's pattern:
	 * facts or records that swapped the two would show here */
	[TLSP_REQ_SUBJECT] = {"subj.example", "192.0.2.29", PF, "TLSv1.2",
			      "ECDHE-RSA-AES256-GCM-SHA384", "256",
			      "mx.bad.example", "Good CA", NULL, NULL,
			      "one of mx.good.example", "mx.bad.example",
			      "certificate-host-mismatch", NULL, NULL},
	[TLSP_REQ_ISSUER] = {"iss.example", "192.0.2.30", PF, "TLSv1.2",
			     "ECDHE-RSA-AES256-GCM-SHA384", "256",
			     "mx.good.example", "Bad CA", NULL, NULL,
			     "one of Good CA", "Bad CA",
			     "certificate-not-trusted", NULL, NULL},
	/* Postfix sends no fingerprint: Sendmail's {cert_fp} */
	[TLSP_REQ_FINGERPRINT] = {"fp.example", "192.0.2.31", SM, "TLSv1.3",
				  "TLS_AES_256_GCM_SHA384", "256",
				  "/CN=mx.good.example", "/CN=Good CA", "OK",
				  FP_SEEN,
				  "one of 00112233445566778899aabbccddeeff",
				  "abcdef0123456789abcdef0123456789",
				  "certificate-not-trusted", NULL, NULL},
	/* the client's own evidence is the record's client member:
	 * `show` says so for observed (null in the record) */
	[TLSP_REQ_CLIENT_ADDR] = {"caddr.example", "192.0.2.34", PF, "TLSv1.2",
				  "ECDHE-RSA-AES256-GCM-SHA384", "256", NULL,
				  NULL, NULL, NULL, "one of 198.51.100.0/24",
				  "the client", "validation-failure",
				  "mx.good.example", "OK"},
	/* Postfix: a PTR name that did not resolve back */
	[TLSP_REQ_CLIENT_NAME] = {"cname.example", "192.0.2.35", PF, "TLSv1.2",
				  "ECDHE-RSA-AES256-GCM-SHA384", "256", NULL,
				  NULL, NULL, NULL,
				  "verified, one of mx.good.example",
				  "the client", "validation-failure", "unknown",
				  "FORGED"},
};

/* A rule that passes, over a version spelled in lower case (which the
 * engine takes as TLSv1.2, and the report must too); and no rule. */
static const struct sess passes = {"pass.example",
				   "192.0.2.32",
				   PF,
				   "tlsv1.2",
				   "ECDHE-RSA-AES256-GCM-SHA384",
				   "256",
				   NULL,
				   NULL,
				   NULL,
				   NULL,
				   NULL,
				   NULL,
				   NULL,
				   NULL,
				   NULL};
static const struct sess norule = {"norule.example",
				   "192.0.2.33",
				   PF,
				   "TLSv1.2",
				   "ECDHE-RSA-AES256-GCM-SHA384",
				   "256",
				   NULL,
				   NULL,
				   NULL,
				   NULL,
				   NULL,
				   NULL,
				   NULL,
				   NULL,
				   NULL};

/* Decisions in the log, and how many were over TLSv1.2, TLSv1.3 and
 * without TLS. */
#define NDECISIONS (TLSP_REQ_COUNT + 2)
#define N_TLS12 (NDECISIONS - 2)

static const char policy_text[] =
	"version: 1\n"
	"milter: {authserv_id: mx.test.example, strip_forged_headers: never}\n"
	"audit: {file: %s, sync: always}\n"
	"recipients:\n"
	"  tls.example: {tls: required, action: reject}\n"
	"  minv.example: {min_version: TLSv1.3, action: reject}\n"
	"  maxv.example: {max_version: TLSv1.1, action: reject}\n"
	"  bits.example: {min_cipher_bits: 256, action: reject}\n"
	"  allow.example: {ciphers: {allow: ECDHE-RSA-AES256-GCM-SHA384}, "
	"action: reject}\n"
	"  deny.example: {ciphers: {deny: CBC}, action: reject}\n"
	"  fs.example: {forward_secrecy: true, action: reject}\n"
	"  cert.example: {client_cert: verified, action: reject}\n"
	"  subj.example: {subject: mx.good.example, action: reject}\n"
	"  iss.example: {issuer: Good CA, action: reject}\n"
	"  fp.example: {fingerprints: 00112233445566778899aabbccddeeff, "
	"action: reject}\n"
	"  caddr.example: {client_addr: 198.51.100.0/24, action: reject}\n"
	"  cname.example: {client_name: mx.good.example, action: reject}\n"
	"  pass.example: {min_version: TLSv1.2, action: reject}\n";

struct fx {
	struct hn_daemon d;
	char out[HN_PATH]; /* the tool's output, captured */
	char err[HN_PATH]; /* ... and its standard error */
};

/* ============================================================ the log */

static int
send_macros(struct mt_conn *c, int cmd, const struct sess *s, const char *rcpt)
{
	const struct mt_macro m[] = {
		{"j", "mx.test.example"},
		{"{daemon_name}", "smtpd"},
		{"v", s->mta},
		{"{tls_version}", s->version},
		{"{cipher}", s->cipher},
		{"{cipher_bits}", s->bits},
		{"{cert_subject}", s->subject},
		{"{cert_issuer}", s->issuer},
		{"{verify}", s->verify},
		{"{cert_fp}", s->fp},
		{"i", cmd == SMFIC_CONNECT || cmd == SMFIC_HELO ? NULL : "Q1"},
		{"{mail_addr}", "s@sender.example"},
		{"{rcpt_addr}", rcpt},
		{"{client_name}", s->client_name},
		{"{client_resolve}", s->client_resolve},
	};

	return mt_macros(c, cmd, m, NELEM(m)) < 0 ? -1 : 0;
}

/* One session, one recipient at s->domain: refused at RCPT when the
 * session fails its rule, else accepted and decided at DATA. */
static void
session(const struct fx *f, const struct sess *s, int refused)
{
	char to[132], bare[128], err[256];
	const char *from = "<s@sender.example>", *arg = to;
	struct mt_reply *r = calloc(1, sizeof(*r));
	struct mt_conn *c;

	assert_non_null(r);
	snprintf(bare, sizeof(bare), "x@%s", s->domain);
	snprintf(to, sizeof(to), "<%s>", bare);
	if ((c = mt_open(f->d.spec, 10000, err, sizeof(err))) == NULL)
		fail_msg("%s: %s", s->domain, err);
	if (mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0 ||
	    send_macros(c, SMFIC_CONNECT, s, NULL) < 0 ||
	    mt_connect(c, "client.example", SMFIA_INET, 25, s->ip, r) < 0 ||
	    send_macros(c, SMFIC_HELO, s, NULL) < 0 ||
	    mt_helo(c, "client.example", r) < 0 ||
	    send_macros(c, SMFIC_MAIL, s, NULL) < 0 ||
	    mt_mail(c, &from, 1, r) < 0 || r->code != SMFIR_CONTINUE ||
	    send_macros(c, SMFIC_RCPT, s, bare) < 0 ||
	    mt_rcpt(c, &arg, 1, r) < 0)
		fail_msg("%s: %s (last reply %s %s)", s->domain, mt_error(c),
			 mt_code_name(r->code), r->text);
	if (refused) {
		if (r->code != SMFIR_REPLYCODE || r->text[0] != '5')
			fail_msg("%s: RCPT got %s %s, not a refusal", s->domain,
				 mt_code_name(r->code), r->text);
		assert_int_equal(mt_abort(c), 0);
	} else if (r->code != SMFIR_CONTINUE ||
		   send_macros(c, SMFIC_DATA, s, NULL) < 0 ||
		   mt_data(c, r) < 0 || r->code != SMFIR_ACCEPT) {
		fail_msg("%s: %s (last reply %s %s)", s->domain, mt_error(c),
			 mt_code_name(r->code), r->text);
	}
	assert_int_equal(mt_quit(c), 0);
	mt_close(c);
	free(r);
}

static int
setup(void **state)
{
	struct fx *f;
	struct al_log log;
	const char *files[1];
	FILE *p;
	size_t i;
	int ok;

	if (fx_setup(state, sizeof(struct fx), "always", 0) < 0)
		return -1;
	f = *state;
	files[0] = f->d.audit;
	snprintf(f->out, sizeof(f->out), "%s/out", f->d.dir);
	snprintf(f->err, sizeof(f->err), "%s/err", f->d.dir);
	if ((p = fopen(f->d.policy, "we")) == NULL)
		return -1;
	fprintf(p, policy_text, f->d.audit);
	if (fclose(p) != 0 || hn_start(&f->d) < 0)
		return -1;
	for (i = 0; i < TLSP_REQ_COUNT; i++)
		if (fails[i].domain == NULL) {
			fprintf(stderr, "requirement %s has no session here\n",
				tlsp_req_name((enum tlsp_req)i));
			return -1;
		}
	for (i = 0; i < TLSP_REQ_COUNT; i++)
		session(f, &fails[i], 1);
	session(f, &passes, 0);
	session(f, &norule, 0);
	fx_stop(&f->d, NULL);
	/* the chain holds, and every decision is on record once */
	fx_assert_log(&log, files, 1, NULL);
	ok = al_count_type(&log, "rcpt") == TLSP_REQ_COUNT &&
	     al_count_type(&log, "message") == 2;
	al_free(&log);
	return ok ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f != NULL)
		fx_cleanup(&f->d, NULL);
	free(f);
	return 0;
}

/* ============================================================ the tool */

/* Runs a program of the build tree (fx_run); it must exit 0. */
static char *
run(const struct fx *f, const char *prog, const char *in,
    const char *const *args)
{
	return fx_run(f->out, f->err, prog, in, args, 0);
}

static char *
report(const struct fx *f, const char *format)
{
	const char *args[] = {"report", "--format", format, f->d.audit, NULL};

	return run(f, "tlspolicy-audit", NULL, args);
}

/* The requirement whose session comes from ip / has this domain, or
 * -1 (the passing sessions). */
static int
req_of_ip(const char *ip)
{
	int i;

	for (i = 0; i < TLSP_REQ_COUNT; i++)
		if (strcmp(fails[i].ip, ip) == 0)
			return i;
	return -1;
}

static int
req_of_domain(const char *domain)
{
	int i;

	for (i = 0; i < TLSP_REQ_COUNT; i++)
		if (strcmp(fails[i].domain, domain) == 0)
			return i;
	return -1;
}

/* "recipient:DOMAIN" -> the requirement of DOMAIN's rule. */
static int
req_of_rule(const char *rule)
{
	const char *prefix = "recipient:";

	if (strncmp(rule, prefix, strlen(prefix)) != 0)
		return -1;
	return req_of_domain(rule + strlen(prefix));
}

/* The line after p's (at the text's end: its NUL). */
static const char *
next_line(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl != NULL ? nl + 1 : p + strlen(p);
}

/* The line after the one that begins with `head` (NULL if none). */
static const char *
section(const char *text, const char *head)
{
	const char *p = text;

	while (p != NULL && strncmp(p, head, strlen(head)) != 0)
		p = (p = strchr(p, '\n')) != NULL ? p + 1 : NULL;
	return p != NULL && (p = strchr(p, '\n')) != NULL ? p + 1 : NULL;
}

/* ================================================================ text */

/* The text's "Failures by requirement": one row for each requirement
 * whose bit is in `want`, each failed once, none unknown. */
static void
text_failures(const char *out, unsigned want, const char *what)
{
	int seen[TLSP_REQ_COUNT] = {0}, i;
	unsigned long long a, b;
	const char *p;
	char name[128];

	p = section(out, "Failures by requirement");
	if (p == NULL)
		fail_msg("%s: no \"Failures by requirement\" in:\n%s", what,
			 out);
	for (; p != NULL && p[0] == ' '; p = next_line(p)) {
		assert_int_equal(sscanf(p, "%127s %llu %llu", name, &a, &b), 3);
		i = tlsp_req_lookup(name);
		if (i < 0 || !(want & (1u << i)))
			fail_msg("%s: a failure row for \"%s\"", what, name);
		seen[i]++;
		if (a != 1 || b != 0)
			fail_msg("%s: %s: %llu fail, %llu unknown; want 1, 0",
				 what, name, a, b);
	}
	for (i = 0; i < TLSP_REQ_COUNT; i++)
		if (seen[i] != !!(want & (1u << i)))
			fail_msg("%s: %s: %d rows", what, tlsp_req_name(i),
				 seen[i]);
}

/* Each requirement's domain alone: its one failure is its own. */
static void
test_text_by_domain(void **state)
{
	const struct fx *f = *state;
	const char *args[] = {"report", "--domain", NULL, f->d.audit, NULL};
	char *out;
	int i;

	for (i = 0; i < TLSP_REQ_COUNT; i++) {
		args[2] = fails[i].domain;
		out = run(f, "tlspolicy-audit", NULL, args);
		text_failures(out, 1u << i, fails[i].domain);
		free(out);
	}
}

static void
test_text(void **state)
{
	const struct fx *f = *state;
	char *out = report(f, "text"), name[128], top[64];
	unsigned long long a, eval, pass, fail, unk, ex, ref, would;
	int rules = 0, i;
	const char *p;

	/* every requirement once, as a failure */
	text_failures(out, (1u << TLSP_REQ_COUNT) - 1, "all");

	/* each rule fails once, and its one failure is its own */
	p = section(section(out, "Rules: "), "  RULE");
	for (; p != NULL && p[0] == ' '; p = next_line(p), rules++) {
		assert_int_equal(sscanf(p,
					"%127s %llu %llu %llu %llu %llu "
					"%llu %llu %63s",
					name, &eval, &pass, &fail, &unk, &ex,
					&ref, &would, top),
				 9);
		i = req_of_rule(name);
		if (i < 0) {
			assert_string_equal(name, "recipient:pass.example");
			assert_true(eval == 1 && pass == 1 && fail == 0);
			assert_string_equal(top, "-");
			continue;
		}
		if (eval != 1 || pass != 0 || fail != 1 || unk != 0 ||
		    ref != 1 || strcmp(top, tlsp_req_name(i)) != 0)
			fail_msg("rule %s: eval %llu pass %llu fail %llu "
				 "unknown %llu refused %llu top \"%s\"; want "
				 "1 0 1 0 1 \"%s\"",
				 name, eval, pass, fail, unk, ref, top,
				 tlsp_req_name(i));
	}
	assert_int_equal(rules, TLSP_REQ_COUNT + 1);

	/* versions: "tlsv1.2" is TLSv1.2 */
	p = section(out, "TLS version");
	for (i = 0; p != NULL && p[0] == ' '; p = next_line(p), i++) {
		assert_int_equal(sscanf(p, "%127s %llu", name, &a), 2);
		if (strcmp(name, "TLSv1.2") == 0)
			assert_int_equal(a, N_TLS12);
		else if (strcmp(name, "TLSv1.3") == 0 ||
			 strcmp(name, "none") == 0)
			assert_int_equal(a, 1);
		else
			fail_msg("version row \"%s\" (%llu)", name, a);
	}
	assert_int_equal(i, 3);
	free(out);
}

/* ================================================================= csv */

struct csv {
	char *text;
	char **cell; /* rows x cols */
	size_t rows, cols;
};

/* A row of the report's data, as opposed to any other line. */
static int
csv_data(const char *line)
{
	static const char *const sections[] = {"total,", "domain,", "rule,",
					       "client,"};
	size_t i;

	for (i = 0; i < NELEM(sections); i++)
		if (strncmp(line, sections[i], strlen(sections[i])) == 0)
			return 1;
	return 0;
}

/*
 * Splits the CSV from its header ("section,...") on, keeping the header
 * and the data rows (a line of another kind, such as a note a later
 * version may add, is not a row). No cell of this log needs quotes, and
 * none may be quoted.
 */
static void
csv_parse(struct csv *c, char *text)
{
	size_t n = 0, cap = 0, cols = 0;
	char *p, *line, *save = NULL;

	memset(c, 0, sizeof(*c));
	c->text = text;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t k = 1;

		if (cols == 0 ? strncmp(line, "section,", 8) != 0
			      : !csv_data(line))
			continue;
		if (strchr(line, '"') != NULL)
			fail_msg("a quoted cell: %s", line);
		for (p = line; *p != '\0'; p++)
			k += *p == ',';
		if (cols == 0)
			cols = k;
		if (k != cols)
			fail_msg("%zu cells, header has %zu: %s", k, cols,
				 line);
		if (n + k > cap) {
			cap = (n + k) * 2;
			assert_non_null(c->cell =
						realloc(c->cell,
							cap * sizeof(char *)));
		}
		for (p = line;; p++) {
			c->cell[n++] = p;
			if ((p = strchr(p, ',')) == NULL)
				break;
			*p = '\0';
		}
		c->rows++;
	}
	c->cols = cols;
}

static size_t
csv_col(const struct csv *c, const char *prefix, const char *name)
{
	char want[128];
	size_t i;

	snprintf(want, sizeof(want), "%s_%s", prefix, name);
	for (i = 0; i < c->cols; i++)
		if (strcmp(c->cell[i], want) == 0)
			return i;
	fail_msg("no CSV column %s", want);
	return 0;
}

static unsigned long
csv_num(const struct csv *c, size_t row, const char *prefix, const char *name)
{
	return strtoul(c->cell[row * c->cols + csv_col(c, prefix, name)], NULL,
		       10);
}

/* Row `row` has a failure of `want` only (want < 0: of none), and no
 * unknown. */
static void
csv_row_fails(const struct csv *c, size_t row, int want)
{
	const char *what = c->cell[row * c->cols + 1];
	int i;

	for (i = 0; i < TLSP_REQ_COUNT; i++)
		if (csv_num(c, row, "fail", tlsp_req_name(i)) != (i == want) ||
		    csv_num(c, row, "unknown", tlsp_req_name(i)) != 0)
			fail_msg("%s %s: fail_%s %lu, unknown_%s %lu; the "
				 "failure is %s's",
				 c->cell[row * c->cols], what, tlsp_req_name(i),
				 csv_num(c, row, "fail", tlsp_req_name(i)),
				 tlsp_req_name(i),
				 csv_num(c, row, "unknown", tlsp_req_name(i)),
				 want < 0 ? "no one" : tlsp_req_name(want));
	assert_int_equal(csv_num(c, row, "fail", "other"), 0);
}

static void
test_csv(void **state)
{
	const struct fx *f = *state;
	int dom[TLSP_REQ_COUNT] = {0}, rule[TLSP_REQ_COUNT] = {0};
	int client[TLSP_REQ_COUNT] = {0}, i;
	struct csv c;
	size_t r;

	csv_parse(&c, report(f, "csv"));
	assert_true(c.rows > 1);
	assert_string_equal(c.cell[0], "section");
	assert_string_equal(c.cell[c.cols], "total");
	for (i = 0; i < TLSP_REQ_COUNT; i++)
		if (csv_num(&c, 1, "fail", tlsp_req_name(i)) != 1 ||
		    csv_num(&c, 1, "unknown", tlsp_req_name(i)) != 0)
			fail_msg("total: fail_%s %lu; want 1", tlsp_req_name(i),
				 csv_num(&c, 1, "fail", tlsp_req_name(i)));
	assert_int_equal(csv_num(&c, 1, "fail", "other"), 0);
	assert_int_equal(csv_num(&c, 1, "version", "TLSv1.2"), N_TLS12);
	assert_int_equal(csv_num(&c, 1, "version", "other"), 0);
	for (r = 2; r < c.rows; r++) {
		const char *sec = c.cell[r * c.cols];
		const char *name = c.cell[r * c.cols + 1];

		if (strcmp(sec, "domain") == 0 &&
		    (i = req_of_domain(name)) >= 0)
			dom[i]++;
		else if (strcmp(sec, "rule") == 0 &&
			 (i = req_of_rule(name)) >= 0)
			rule[i]++;
		else if (strcmp(sec, "client") == 0 &&
			 (i = req_of_ip(name)) >= 0)
			client[i]++;
		else
			i = -1;
		csv_row_fails(&c, r, i);
	}
	for (i = 0; i < TLSP_REQ_COUNT; i++)
		if (dom[i] != 1 || rule[i] != 1 || client[i] != 1)
			fail_msg("%s: %d domain, %d rule, %d client rows",
				 tlsp_req_name(i), dom[i], rule[i], client[i]);
	free(c.cell);
	free(c.text);
}

/* ================================================================ json */

static long long
j_int(const struct tlspa_jv *o, const char *key)
{
	const struct tlspa_jv *v = tlspa_jv_get(o, key);

	if (v == NULL || v->type != TLSPA_J_NUM || !v->is_int)
		fail_msg("no integer \"%s\"", key);
	return v->i;
}

/* A "failures" object: `want` failed once (want < 0: none), nothing
 * else, nothing unknown. */
static void
j_fails(const struct tlspa_jv *o, const char *what, int want)
{
	const struct tlspa_jv *fl = tlspa_jv_get(o, "failures"), *m;

	if (fl == NULL || fl->type != TLSPA_J_OBJ)
		fail_msg("%s: no failures object", what);
	if (fl->len != (want >= 0))
		fail_msg("%s: %zu requirements failed, want %d", what, fl->len,
			 want >= 0);
	if (want < 0)
		return;
	m = fl->kids;
	if (m->keylen != strlen(tlsp_req_name(want)) ||
	    memcmp(m->key, tlsp_req_name(want), m->keylen) != 0)
		fail_msg("%s: failure \"%.*s\", want \"%s\"", what,
			 (int)m->keylen, m->key, tlsp_req_name(want));
	if (j_int(m, "fail") != 1 || j_int(m, "unknown") != 0)
		fail_msg("%s: %s fail %lld unknown %lld", what,
			 tlsp_req_name(want), j_int(m, "fail"),
			 j_int(m, "unknown"));
}

/* Each row of list `key` (named by member `name`), found by `find`. */
static void
j_rows(const struct tlspa_jv *doc, const char *key, const char *name,
       int (*find)(const char *))
{
	const struct tlspa_jv *l = tlspa_jv_get(doc, key), *r;
	int seen[TLSP_REQ_COUNT] = {0}, i;
	const char *s;

	assert_non_null(l);
	assert_int_equal(l->type, TLSPA_J_ARR);
	for (r = l->kids; r != NULL; r = r->next) {
		s = tlspa_jv_str(tlspa_jv_get(r, name));
		assert_non_null(s);
		i = find(s);
		if (i >= 0)
			seen[i]++;
		j_fails(r, s, i);
	}
	for (i = 0; i < TLSP_REQ_COUNT; i++)
		if (seen[i] != 1)
			fail_msg("%s: %d rows for %s", key, seen[i],
				 tlsp_req_name(i));
}

static void
test_json(void **state)
{
	const struct fx *f = *state;
	char *out = report(f, "json");
	struct tlspa_json jp = {0};
	const struct tlspa_jv *doc, *total, *fl, *m;
	size_t len = strlen(out);
	int i;

	assert_true(len > 0 && out[len - 1] == '\n');
	if ((doc = tlspa_json_parse(&jp, out, len - 1)) == NULL)
		fail_msg("report json: %s at %zu", jp.err, jp.errpos);
	total = tlspa_jv_get(doc, "total");
	assert_int_equal(j_int(total, "decisions"), NDECISIONS);
	assert_int_equal(j_int(tlspa_jv_get(total, "tls_version"), "TLSv1.2"),
			 N_TLS12);
	assert_int_equal(j_int(tlspa_jv_get(total, "tls_version"), "other"), 0);
	fl = tlspa_jv_get(total, "failures");
	assert_non_null(fl);
	assert_int_equal(fl->len, TLSP_REQ_COUNT);
	for (i = 0; i < TLSP_REQ_COUNT; i++) {
		m = tlspa_jv_get(fl, tlsp_req_name(i));
		if (m == NULL || j_int(m, "fail") != 1 ||
		    j_int(m, "unknown") != 0)
			fail_msg("total: %s not failed exactly once",
				 tlsp_req_name(i));
	}
	j_rows(doc, "domains", "domain", req_of_domain);
	j_rows(doc, "rules", "rule", req_of_rule);
	j_rows(doc, "clients", "client", req_of_ip);
	tlspa_json_free(&jp);
	free(out);
}

/* ============================================================== tlsrpt */

/* One policy of a TLS-RPT report: its domain's session and its count. */
static void
rpt_policy(const struct tlspa_jv *pol, int seen[TLSP_REQ_COUNT], int *ok)
{
	const char *dom = tlspa_jv_str(tlspa_jv_get(tlspa_jv_get(pol, "policy"),
						    "policy-domain"));
	const struct tlspa_jv *sum = tlspa_jv_get(pol, "summary");
	const struct tlspa_jv *det = tlspa_jv_get(pol, "failure-details");
	int i;

	assert_non_null(dom);
	assert_non_null(det);
	i = req_of_domain(dom);
	if (i < 0) {
		/* the passing sessions */
		assert_int_equal(j_int(sum, "total-successful-session-count"),
				 1);
		assert_int_equal(j_int(sum, "total-failure-session-count"), 0);
		assert_int_equal(det->len, 0);
		(*ok)++;
		return;
	}
	seen[i]++;
	assert_int_equal(j_int(sum, "total-successful-session-count"), 0);
	assert_int_equal(j_int(sum, "total-failure-session-count"), 1);
	if (det->len != 1)
		fail_msg("%s: %zu failure details", dom, det->len);
	det = det->kids;
	if (!tlspa_jv_is(tlspa_jv_get(det, "failure-reason-code"),
			 tlsp_req_name(i)) ||
	    !tlspa_jv_is(tlspa_jv_get(det, "result-type"), fails[i].result) ||
	    !tlspa_jv_is(tlspa_jv_get(det, "sending-mta-ip"), fails[i].ip) ||
	    j_int(det, "failed-session-count") != 1)
		fail_msg("%s: reason \"%s\", result \"%s\", ip \"%s\"; want "
			 "\"%s\", \"%s\", \"%s\"",
			 dom,
			 tlspa_jv_str(tlspa_jv_get(det, "failure-reason-code")),
			 tlspa_jv_str(tlspa_jv_get(det, "result-type")),
			 tlspa_jv_str(tlspa_jv_get(det, "sending-mta-ip")),
			 tlsp_req_name(i), fails[i].result, fails[i].ip);
}

static void
test_tlsrpt(void **state)
{
	const struct fx *f = *state;
	char *out = report(f, "tlsrpt"), *line, *save = NULL;
	const struct tlspa_jv *doc, *pol;
	struct tlspa_json jp = {0};
	int seen[TLSP_REQ_COUNT] = {0}, ok = 0, i;

	/* one report per day: the test may run across midnight */
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if ((doc = tlspa_json_parse(&jp, line, strlen(line))) == NULL)
			fail_msg("tlsrpt: %s at %zu", jp.err, jp.errpos);
		pol = tlspa_jv_get(doc, "policies");
		assert_non_null(pol);
		for (pol = pol->kids; pol != NULL; pol = pol->next)
			rpt_policy(pol, seen, &ok);
	}
	for (i = 0; i < TLSP_REQ_COUNT; i++)
		if (seen[i] != 1)
			fail_msg("%s: %d policies", fails[i].domain, seen[i]);
	assert_int_equal(ok, 2);
	tlspa_json_free(&jp);
	free(out);
}

/* ================================================================ show */

static char *
show(const struct fx *f, const char *domain)
{
	char rcpt[128];
	const char *args[] = {"show", "--recipient", rcpt, f->d.audit, NULL};

	snprintf(rcpt, sizeof(rcpt), "x@%s", domain);
	return run(f, "tlspolicy-audit", NULL, args);
}

/* Each failure's line as the engine wrote it, and who decided. */
static void
test_show(void **state)
{
	const struct fx *f = *state;
	char want[512], *out;
	int i;

	for (i = 0; i < TLSP_REQ_COUNT; i++) {
		out = show(f, fails[i].domain);
		snprintf(want, sizeof(want),
			 "\n      %s: fail (required %s, observed %s)\n",
			 tlsp_req_name(i), fails[i].required,
			 fails[i].observed);
		if (strstr(out, want) == NULL)
			fail_msg("no line%sin:\n%s", want, out);
		snprintf(want, sizeof(want), "reject, decided by recipient:%s,",
			 fails[i].domain);
		if (strstr(out, want) == NULL)
			fail_msg("no \"%s\" in:\n%s", want, out);
		free(out);
	}
}

/* A verdict no rule decided says why, never "decided by null". */
static void
test_show_undecided(void **state)
{
	const struct fx *f = *state;
	const char *args[] = {"show", f->d.audit, NULL};
	char *out;

	out = show(f, passes.domain);
	if (strstr(out, "verdict    accept, every rule passed, flags -\n") ==
	    NULL)
		fail_msg("passing verdict:\n%s", out);
	free(out);
	out = show(f, norule.domain);
	if (strstr(out,
		   "verdict    accept, no rule applied, flags no_rule\n") ==
	    NULL)
		fail_msg("verdict without a rule:\n%s", out);
	free(out);
	out = run(f, "tlspolicy-audit", NULL, args);
	if (strstr(out, "decided by null") != NULL ||
	    strstr(out, "decided by -") != NULL)
		fail_msg("\"decided by\" nothing in:\n%s", out);
	free(out);
}

/* ============================================ what no daemon writes yet */

/* Chains `bodies` (record bodies, one a line) with tests/audit/mklog
 * into the file `name` in the test's directory, whose path goes to log. */
static void
mklog(const struct fx *f, const char *name, const char *bodies,
      char log[HN_PATH])
{
	const char *none[] = {NULL};
	char in[HN_PATH], *out;
	FILE *b;

	snprintf(in, HN_PATH, "%s/%s.in", f->d.dir, name);
	snprintf(log, HN_PATH, "%s/%s.log", f->d.dir, name);
	assert_non_null(b = fopen(in, "we"));
	assert_true(fputs(bodies, b) >= 0);
	assert_int_equal(fclose(b), 0);
	out = run(f, "tests/audit/mklog", in, none);
	assert_non_null(b = fopen(log, "we"));
	assert_true(fputs(out, b) >= 0);
	assert_int_equal(fclose(b), 0);
	free(out);
}

/* A record of one recipient of x.example with this verdict. */
#define ONE_RCPT(type, action, verdict)                                        \
	"{\"time\":\"2026-12-06T10:00:00.000Z\",\"host\":\"mx\","              \
	"\"type\":\"" type "\",\"client\":{\"addr\":\"192.0.2.40\","           \
	"\"name\":null},\"tls\":{\"version\":\"TLSv1.3\"},"                    \
	"\"recipients\":[{\"addr\":\"x@x.example\",\"verdict\":" verdict       \
	",\"reply\":null}],\"action\":\"" action "\",\"mode\":\"enforce\","    \
	"\"would_action\":\"" action "\"}\n"

/*
 * A requirement this version does not know (a newer daemon's) lands in
 * "other", which TLS-RPT calls validation-failure like every failure
 * without a result type of its own.
 */
static void
test_other_requirement(void **state)
{
	static const char body[] = ONE_RCPT(
		"rcpt", "reject",
		"{\"action\":\"reject\",\"would_action\":\"reject\","
		"\"decided_by\":\"recipient:x.example\",\"flags\":[],"
		"\"rules\":[{\"rule\":\"recipient:x.example\","
		"\"exempt\":false,\"status\":\"fail\",\"action\":\"reject\","
		"\"mode\":\"enforce\",\"failures\":[{\"requirement\":"
		"\"dane\",\"status\":\"fail\",\"required\":\"TLSA match\","
		"\"observed\":\"no match\"}]}]}");
	const struct fx *f = *state;
	char log[HN_PATH], *out;
	const char *args[] = {"report", "--format", "tlsrpt", log, NULL};

	mklog(f, "other", body, log);
	out = run(f, "tlspolicy-audit", NULL, args);
	if (strstr(out, "\"result-type\":\"validation-failure\"") == NULL ||
	    strstr(out, "\"failure-reason-code\":\"other\"") == NULL)
		fail_msg("an unknown requirement in TLS-RPT:\n%s", out);
	free(out);
}

/* The other verdicts without a deciding rule, which this daemon's
 * policy cannot give without failing a requirement twice. */
static void
test_show_undecided_kinds(void **state)
{
	static const char bodies[] =
		/* a monitor-mode rule failed */
		ONE_RCPT("message", "accept",
			 "{\"action\":\"accept\",\"would_action\":\"reject\","
			 "\"decided_by\":null,\"flags\":[],\"rules\":[{"
			 "\"rule\":\"recipient:x.example\",\"exempt\":false,"
			 "\"status\":\"fail\",\"action\":\"reject\","
			 "\"mode\":\"monitor\",\"failures\":[]}]}")
		/* the client is out of every rule's scope */
		ONE_RCPT("message", "accept",
			 "{\"action\":\"accept\",\"would_action\":\"accept\","
			 "\"decided_by\":null,\"flags\":[\"session_exempt\"],"
			 "\"rules\":[{\"rule\":\"recipient:x.example\","
			 "\"exempt\":true,\"status\":\"pass\","
			 "\"action\":\"accept\",\"mode\":\"enforce\","
			 "\"failures\":[]}]}");
	static const char *const want[] = {
		"verdict    accept (monitor: would reject), no failed rule's "
		"action was enforced, flags -\n",
		"verdict    accept, every rule exempted the session, flags "
		"session_exempt\n",
	};
	const struct fx *f = *state;
	char log[HN_PATH], *out;
	const char *args[] = {"show", log, NULL};
	size_t i;

	mklog(f, "undecided", bodies, log);
	out = run(f, "tlspolicy-audit", NULL, args);
	for (i = 0; i < NELEM(want); i++)
		if (strstr(out, want[i]) == NULL)
			fail_msg("no \"%s\" in:\n%s", want[i], out);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_by_domain),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_tlsrpt),
		cmocka_unit_test(test_show),
		cmocka_unit_test(test_show_undecided),
		cmocka_unit_test(test_other_requirement),
		cmocka_unit_test(test_show_undecided_kinds),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
