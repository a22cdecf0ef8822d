/*
 * test_daemon.c - the real tlspolicy-milter, driven over its socket.
 *
 * The daemon is started in the foreground on a unix socket with a test
 * policy and an audit log, and spoken to by tests/milter/client.c exactly
 * as Postfix or Sendmail would: negotiation, the macros each MTA sends,
 * every stage. Rows check what the MTA is told per recipient, what is
 * done to the message, what reaches the audit log, and that reloads
 * under open connections keep each connection on its own policy.
 * Every wait is bounded.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* The daemon (tests/milter/harness.c), its policy the one below. */
static struct hn_daemon daemon_;

static const char policy_a[] =
	"version: 1\n"
	"milter: {authserv_id: mx.test.example}\n"
	"audit: {file: AUDIT, sync: always}\n"
	"profiles:\n"
	"  mtls: {min_version: TLSv1.2, client_cert: verified, subject: "
	"client.partner.example, issuer: \"Test CA\"}\n"
	"recipients:\n"
	"  strict.example: {min_version: TLSv1.2, action: reject}\n"
	"  later.example: {min_version: TLSv1.3, action: defer}\n"
	"  tag.example: {min_version: TLSv1.3, action: tag}\n"
	"  hold.example: {min_version: TLSv1.3, action: quarantine}\n"
	"  reload.example: {min_version: TLSv1.3}\n"
	"  default: {}\n"
	"senders:\n"
	"  partner.example: mtls\n"
	"  bank.example: {min_version: TLSv1.3}\n";

/* The same, but reload.example is content with TLSv1.2. */
static const char policy_b_diff[] =
	"  reload.example: {min_version: TLSv1.2}\n";

static void
write_policy(int variant)
{
	char *text = strdup(policy_a), *p;
	FILE *f;

	assert_non_null(text);
	p = strstr(text, "AUDIT");
	assert_non_null(p);
	f = fopen(daemon_.policy, "w");
	assert_non_null(f);
	fprintf(f, "%.*s%s", (int)(p - text), text, daemon_.audit);
	p += 5;
	if (variant) {
		char *r = strstr(p, "  reload.example:");
		char *e = strchr(r, '\n') + 1;

		fprintf(f, "%.*s%s%s", (int)(r - p), p, policy_b_diff, e);
	} else {
		fputs(p, f);
	}
	assert_int_equal(fclose(f), 0);
	free(text);
}

/* Group setup: the daemon started on the policy above. */
static int
start_daemon(void **state)
{
	(void)state;
	if (hn_init(&daemon_, "always", 0) < 0)
		return -1;
	write_policy(0);
	return hn_start(&daemon_);
}

/* Group teardown: kills the daemon if a test left it running, and
 * removes its directory. */
static int
cleanup_daemon(void **state)
{
	(void)state;
	hn_cleanup(&daemon_);
	return 0;
}

static int audit_count(const char *a, const char *b);

/* The last test: SIGTERM stops the daemon cleanly (exit 0, no sanitizer
 * report in its log), with a stop record. */
static void
test_stop(void **state)
{
	(void)state;
	assert_int_equal(hn_stop(&daemon_), 0);
	assert_int_equal(audit_count("\"type\":\"stop\"", NULL), 1);
	assert_int_equal(access(daemon_.sock, F_OK), -1); /* socket removed */
}

/* What one MTA shows of one session. NULL: macro not sent. */
struct shape {
	const char *v, *version, *cipher, *bits, *subject, *issuer, *verify;
};

static const struct shape pf12 = {.v = "Postfix 3.7.11",
				  .version = "TLSv1.2",
				  .cipher = "ECDHE-RSA-AES256-GCM-SHA384",
				  .bits = "256"};
static const struct shape pf13 = {.v = "Postfix 3.7.11",
				  .version = "TLSv1.3",
				  .cipher = "TLS_AES_256_GCM_SHA384",
				  .bits = "256"};
static const struct shape pf_plain = {.v = "Postfix 3.7.11"};
/* Postfix sends the CNs only, and only for a trusted chain. */
static const struct shape pf_mtls = {.v = "Postfix 3.7.11",
				     .version = "TLSv1.3",
				     .cipher = "TLS_AES_256_GCM_SHA384",
				     .bits = "256",
				     .subject = "client.partner.example",
				     .issuer = "Test CA"};
static const struct shape sm_ok = {
	"8.17.1",
	"TLSv1.3",
	"TLS_AES_256_GCM_SHA384",
	"256",
	"/C=DE/O=Partner+20Bank+20AG/CN=client.partner.example",
	"/C=DE/O=Test/CN=Test+20CA",
	"OK"};
static const struct shape sm_fail = {
	"8.17.1",
	"TLSv1.3",
	"TLS_AES_256_GCM_SHA384",
	"256",
	"/C=DE/O=Partner+20Bank+20AG/CN=client.partner.example",
	"/C=DE/O=Test/CN=Test+20CA",
	"FAIL"};

static struct mt_reply *
reply_buf(void)
{
	struct mt_reply *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	return r;
}

/* Sends the stage's macros: the TLS ones, plus what the stage adds. */
static void
send_macros(struct mt_conn *c, int cmd, const struct shape *s,
	    const char *addr_name, const char *addr)
{
	struct mt_macro m[] = {
		{"j", "mx.test.example"},
		{"{daemon_name}", "smtpd"},
		{"v", s->v},
		{"{tls_version}", s->version},
		{"{cipher}", s->cipher},
		{"{cipher_bits}", s->bits},
		{"{cert_subject}", s->subject},
		{"{cert_issuer}", s->issuer},
		{"{verify}", s->verify},
		{"i", "4QUEUE1D"},
		{addr_name ? addr_name : "{none}", addr},
	};

	assert_true(mt_macros(c, cmd, m, sizeof(m) / sizeof(m[0])) >= 0);
}

static struct mt_conn *
open_session(const struct shape *s)
{
	char err[256];
	struct mt_conn *c = mt_open(daemon_.spec, 10000, err, sizeof(err));
	struct mt_reply *r = reply_buf();

	if (c == NULL)
		fail_msg("connect: %s", err);
	assert_int_equal(mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL), 0);
	send_macros(c, SMFIC_CONNECT, s, NULL, NULL);
	assert_int_equal(mt_connect(c, "client.example", SMFIA_INET, 25,
				    "192.0.2.10", r),
			 0);
	send_macros(c, SMFIC_HELO, s, NULL, NULL);
	assert_int_equal(mt_helo(c, "client.example", r), 0);
	free(r);
	return c;
}

static void
strip_brackets(const char *addr, char *out, size_t outsz)
{
	size_t n = strlen(addr);

	if (n >= 2 && addr[0] == '<' && addr[n - 1] == '>')
		snprintf(out, outsz, "%.*s", (int)n - 2, addr + 1);
	else
		snprintf(out, outsz, "%s", addr);
}

static void
mail(struct mt_conn *c, const struct shape *s, const char *from,
     struct mt_reply *r)
{
	char bare[512];

	strip_brackets(from, bare, sizeof(bare));
	send_macros(c, SMFIC_MAIL, s, "{mail_addr}", bare);
	if (mt_mail(c, &from, 1, r) < 0)
		fail_msg("MAIL: %s", mt_error(c));
}

static void
rcpt(struct mt_conn *c, const struct shape *s, const char *to,
     struct mt_reply *r)
{
	char bare[512];

	strip_brackets(to, bare, sizeof(bare));
	send_macros(c, SMFIC_RCPT, s, "{rcpt_addr}", bare);
	if (mt_rcpt(c, &to, 1, r) < 0)
		fail_msg("RCPT: %s", mt_error(c));
}

/* "y 550 5.7.1 ..." or "c" for a reply, to compare in one string. */
static const char *
shown(const struct mt_reply *r, char *buf, size_t bufsz)
{
	if (r->code == 'y')
		snprintf(buf, bufsz, "y %.*s", (int)bufsz - 3, r->text);
	else
		snprintf(buf, bufsz, "%c", r->code ? r->code : '0');
	return buf;
}

#define ASSERT_REPLY(r, want)                                                  \
	do {                                                                   \
		char b_[1100];                                                 \
		assert_string_equal(shown((r), b_, sizeof(b_)), (want));       \
	} while (0)

static void
test_postfix_per_recipient(void **state)
{
	struct mt_conn *c = open_session(&pf12);
	struct mt_reply *r = reply_buf();
	const struct mt_mod *m;

	(void)state;
	mail(c, &pf12, "<a@sender.example>", r);
	ASSERT_REPLY(r, "c");
	rcpt(c, &pf12, "<b@strict.example>", r);
	ASSERT_REPLY(r, "c");
	rcpt(c, &pf12, "<c@later.example>", r);
	ASSERT_REPLY(r, "y 450 4.7.1 TLS policy for the recipient domain not "
			"met, try again later");
	rcpt(c, &pf12, "<d@tag.example>", r);
	ASSERT_REPLY(r, "c");
	rcpt(c, &pf12, "<e@hold.example>", r);
	ASSERT_REPLY(r, "c");
	send_macros(c, SMFIC_DATA, &pf12, NULL, NULL);
	assert_int_equal(mt_data(c, r), 0);
	ASSERT_REPLY(r, "c");
	assert_int_equal(mt_header(c, "Subject", "hello", r), 0);
	send_macros(c, SMFIC_BODYEOB, &pf12, NULL, NULL);
	assert_int_equal(mt_eom(c, r), 0);
	ASSERT_REPLY(r, "a");
	m = mt_reply_find(r, SMFIR_INSHEADER, "X-TLS-Policy");
	assert_non_null(m);
	assert_string_equal(
		m->value, "mx.test.example; tls-policy=fail action=quarantine "
			  "rules=withheld failed=min_version; tls=TLSv1.2 "
			  "cipher=ECDHE-RSA-"
			  "AES256-GCM-SHA384 bits=256 cert=not-verified");
	m = mt_reply_find(r, SMFIR_QUARANTINE, NULL);
	assert_non_null(m);
	assert_string_equal(m->value,
			    "tlspolicy: rules recipient:tag.example,"
			    "recipient:hold.example failed min_version");
	assert_int_equal(mt_quit(c), 0);
	mt_close(c);
	free(r);
}

static void
test_plaintext_and_sender_rules(void **state)
{
	struct mt_conn *c = open_session(&pf_plain);
	struct mt_reply *r = reply_buf();

	(void)state;
	mail(c, &pf_plain, "<a@sender.example>", r);
	ASSERT_REPLY(r, "c");
	rcpt(c, &pf_plain, "<b@strict.example>", r);
	ASSERT_REPLY(r, "y 530 5.7.0 Must issue a STARTTLS command first");
	rcpt(c, &pf_plain, "<b@other.example>", r);
	ASSERT_REPLY(r, "c");
	assert_int_equal(mt_abort(c), 0);
	/* A sender rule refuses the whole transaction at MAIL. */
	mail(c, &pf_plain, "<x@bank.example>", r);
	ASSERT_REPLY(r, "y 530 5.7.0 Must issue a STARTTLS command first");
	assert_int_equal(mt_abort(c), 0);
	assert_int_equal(mt_quit(c), 0);
	mt_close(c);
	free(r);
}

/* Client certificates in both MTAs' shapes: Postfix CN-only, Sendmail
 * full xtext DNs with {verify}. */
static void
test_client_certificates(void **state)
{
	static const struct {
		const struct shape *s;
		const char *want;
	} rows[] = {
		{&pf_mtls, "c"},
		{&pf13,
		 "y 550 5.7.1 Message refused: TLS policy for the sender "
		 "domain not met"},
		{&sm_ok, "c"},
		{&sm_fail,
		 "y 550 5.7.1 Message refused: TLS policy for the sender "
		 "domain not met"},
	};
	struct mt_reply *r = reply_buf();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mt_conn *c = open_session(rows[i].s);

		mail(c, rows[i].s, "<billing@partner.example>", r);
		ASSERT_REPLY(r, rows[i].want);
		assert_int_equal(mt_abort(c), 0);
		assert_int_equal(mt_quit(c), 0);
		mt_close(c);
	}
	free(r);
}

/* Hostile values never crash the daemon, never reach a reply, and the
 * session goes on. */
static void
test_hostile_macros(void **state)
{
	size_t big = 64 * 1024, i;
	char *subject = malloc(big + 1);
	struct shape s = sm_ok;
	struct mt_conn *c;
	struct mt_reply *r = reply_buf();

	(void)state;
	assert_non_null(subject);
	for (i = 0; i < big; i++)
		subject[i] = "A\r\n\"\\%\xff\xc3/+ZZ"[i % 13];
	subject[big] = '\0';
	s.subject = subject;
	s.issuer = "+2F+ZZ+\r\nX-Injected: yes";
	s.version = "TLSv1.2\r\nX-Evil: 1";
	s.cipher = "%n%s%x\"'<>";
	s.bits = "99999999999999999999";
	s.verify = "OK\n";
	c = open_session(&s);
	mail(c, &s, "<\"a@b\r\n\"@sender.example>", r);
	ASSERT_REPLY(r, "c");
	rcpt(c, &s, "<%s%n@tag.example>", r);
	ASSERT_REPLY(r, "c");
	rcpt(c, &s, "<@relay.example:\xff\xfe@strict.example>", r);
	/* An unrecognised {tls_version} is not TLSv1.2: it fails, and the
	 * reply holds policy text only. */
	ASSERT_REPLY(r, "y 550 5.7.1 Message refused: TLS policy for the "
			"recipient domain not met");
	send_macros(c, SMFIC_DATA, &s, NULL, NULL);
	assert_int_equal(mt_data(c, r), 0);
	assert_int_equal(mt_header(c, "X-TLS-Policy", "forged; tls-policy=pass",
				   r),
			 0);
	send_macros(c, SMFIC_BODYEOB, &s, NULL, NULL);
	assert_int_equal(mt_eom(c, r), 0);
	ASSERT_REPLY(r, "a");
	/* The forged copy is deleted; ours carries no CR, LF or quote. */
	assert_non_null(mt_reply_find(r, SMFIR_CHGHEADER, "X-TLS-Policy"));
	assert_non_null(mt_reply_find(r, SMFIR_INSHEADER, "X-TLS-Policy"));
	assert_null(strpbrk(mt_reply_find(r, SMFIR_INSHEADER, "X-TLS-Policy")
				    ->value,
			    "\r\n\"%@"));
	assert_int_equal(mt_quit(c), 0);
	mt_close(c);
	free(subject);
	free(r);
}

/* An MTA that does not send our macro list: the TLS state is unknown,
 * on_error (tempfail) applies; never accept. */
static void
test_blind_milter(void **state)
{
	struct mt_conn *c = open_session(&pf13);
	struct mt_reply *r = reply_buf();
	const char *to = "<b@strict.example>";

	(void)state;
	mail(c, &pf13, "<a@sender.example>", r);
	ASSERT_REPLY(r, "c");
	send_macros(c, SMFIC_RCPT, &pf13, NULL, NULL); /* no {rcpt_addr} */
	assert_int_equal(mt_rcpt(c, &to, 1, r), 0);
	ASSERT_REPLY(r, "y 451 4.7.0 TLS policy check unavailable, try again "
			"later");
	assert_int_equal(mt_abort(c), 0);
	assert_int_equal(mt_quit(c), 0);
	mt_close(c);
	free(r);
}

/* Counts audit records containing all of the given substrings. */
static int
audit_count(const char *a, const char *b)
{
	FILE *f = fopen(daemon_.audit, "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

	if (f == NULL)
		return 0;
	while (getline(&line, &cap, f) > 0)
		if (strstr(line, a) && (b == NULL || strstr(line, b)))
			n++;
	free(line);
	fclose(f);
	return n;
}

static void
wait_for_record(const char *type, int count)
{
	int i;

	for (i = 0; i < 200; i++) { /* up to 10 s */
		if (audit_count(type, NULL) >= count)
			return;
		usleep(50000);
	}
	fail_msg("no %d %s record(s) in %s", count, type, daemon_.audit);
}

static void
reload_rcpt(struct mt_conn *c, const char *want)
{
	struct mt_reply *r = reply_buf();

	mail(c, &pf12, "<a@sender.example>", r);
	ASSERT_REPLY(r, "c");
	rcpt(c, &pf12, "<b@reload.example>", r);
	ASSERT_REPLY(r, want);
	assert_int_equal(mt_abort(c), 0);
	free(r);
}

/* A reload swaps the policy for new connections only; a bad file keeps
 * the old one. */
static void
test_reload_pins_policy(void **state)
{
	static const char refused[] = "y 550 5.7.1 Message refused: TLS "
				      "policy for the recipient domain not met";
	struct mt_conn *old = open_session(&pf12), *new;
	int reloads = audit_count("\"type\":\"reload\"", NULL);
	int failed = audit_count("\"type\":\"reload_failed\"", NULL);
	FILE *f;

	(void)state;
	reload_rcpt(old, refused);
	write_policy(1);
	kill(daemon_.pid, SIGUSR1);
	wait_for_record("\"type\":\"reload\"", reloads + 1);
	reload_rcpt(old, refused); /* pinned to the policy it started with */
	new = open_session(&pf12);
	reload_rcpt(new, "c");
	/* Garbage: the daemon keeps the last good policy. */
	f = fopen(daemon_.policy, "a");
	assert_non_null(f);
	fputs("recipients: [\n", f);
	fclose(f);
	kill(daemon_.pid, SIGUSR1);
	wait_for_record("\"type\":\"reload_failed\"", failed + 1);
	assert_true(audit_count("\"type\":\"reload_failed\"",
				"YAML syntax error") > 0);
	reload_rcpt(new, "c");
	mt_close(old);
	old = open_session(&pf12);
	reload_rcpt(old, "c");
	write_policy(0);
	mt_close(old);
	mt_close(new);
}

#define THREADS 8
#define TX_PER_THREAD 40

struct worker {
	int failures;
	char first[1200];
};

/* Thread-safe: no cmocka asserts off the main thread. */
static int
queue_macros(struct mt_conn *c, int cmd, const char *name, const char *value)
{
	struct mt_macro m[] = {
		{"j", "mx.test.example"},
		{"{daemon_name}", "smtpd"},
		{"v", pf12.v},
		{"{tls_version}", pf12.version},
		{"{cipher}", pf12.cipher},
		{"{cipher_bits}", pf12.bits},
		{name ? name : "{none}", value},
	};

	return mt_macros(c, cmd, m, sizeof(m) / sizeof(m[0])) < 0 ? -1 : 0;
}

static struct mt_conn *
worker_open(struct mt_reply *r, char *err, size_t errsz)
{
	struct mt_conn *c = mt_open(daemon_.spec, 10000, err, errsz);

	if (c == NULL)
		return NULL;
	if (mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0 ||
	    queue_macros(c, SMFIC_CONNECT, NULL, NULL) < 0 ||
	    mt_connect(c, "client.example", SMFIA_INET, 25, "192.0.2.10", r) <
		    0 ||
	    queue_macros(c, SMFIC_HELO, NULL, NULL) < 0 ||
	    mt_helo(c, "client.example", r) < 0) {
		snprintf(err, errsz, "open: %s", mt_error(c));
		mt_close(c);
		return NULL;
	}
	return c;
}

/* One transaction whose answers do not depend on which of the two
 * policies the connection pinned. Returns 0, or -1 with a reason. */
static int
worker_tx(struct mt_conn *c, struct mt_reply *r, char *err, size_t errsz)
{
	const char *from = "<a@sender.example>", *to1 = "<b@strict.example>",
		   *to2 = "<c@later.example>";
	char b[200];

#define STEP(call, ok, what)                                                   \
	do {                                                                   \
		if ((call) < 0) {                                              \
			snprintf(err, errsz, "%s: %s", what, mt_error(c));     \
			return -1;                                             \
		}                                                              \
		if (!(ok)) {                                                   \
			snprintf(err, errsz, "%s: got %s", what,               \
				 shown(r, b, sizeof(b)));                      \
			return -1;                                             \
		}                                                              \
	} while (0)
	STEP(queue_macros(c, SMFIC_MAIL, "{mail_addr}", "a@sender.example"), 1,
	     "macros");
	STEP(mt_mail(c, &from, 1, r), r->code == 'c', "mail");
	STEP(queue_macros(c, SMFIC_RCPT, "{rcpt_addr}", "b@strict.example"), 1,
	     "macros");
	STEP(mt_rcpt(c, &to1, 1, r), r->code == 'c', "strict");
	STEP(queue_macros(c, SMFIC_RCPT, "{rcpt_addr}", "c@later.example"), 1,
	     "macros");
	STEP(mt_rcpt(c, &to2, 1, r),
	     r->code == 'y' && strncmp(r->text, "450 4.7.1", 9) == 0, "later");
	STEP(mt_data(c, r), r->code == 'c' || r->code == 'a', "data");
	if (r->code == 'a')
		return 0;
	/* An MTA always passes at least its own Received: header; libmilter
	 * does not take the end of a message that had none. */
	STEP(mt_header(c, "Received", "from client.example by mx.test.example",
		       r),
	     1, "header");
	STEP(mt_eom(c, r), r->code == 'a', "eom");
#undef STEP
	return 0;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct mt_reply *r = calloc(1, sizeof(*r));
	struct mt_conn *c = NULL;
	char err[1100];
	int i;

	for (i = 0; r && i < TX_PER_THREAD; i++) {
		if (c == NULL ||
		    i % 10 == 0) { /* new connections now and then */
			if (c) {
				mt_quit(c);
				mt_close(c);
			}
			c = worker_open(r, err, sizeof(err));
		}
		if (c == NULL || worker_tx(c, r, err, sizeof(err)) < 0) {
			if (w->failures++ == 0)
				snprintf(w->first, sizeof(w->first),
					 "tx %d: %s", i, c ? err : err);
			mt_close(c);
			c = NULL;
		}
	}
	if (c) {
		mt_quit(c);
		mt_close(c);
	}
	free(r);
	return NULL;
}

static void
test_load_with_reloads(void **state)
{
	pthread_t t[THREADS];
	struct worker w[THREADS];
	int i, failures = 0;

	(void)state;
	memset(w, 0, sizeof(w));
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	for (i = 0; i < 20; i++) { /* a reload storm, bounded */
		write_policy(i % 2);
		kill(daemon_.pid, SIGUSR1);
		usleep(20000);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		if (w[i].failures)
			print_error("thread %d: %d failures, first: %s\n", i,
				    w[i].failures, w[i].first);
		failures += w[i].failures;
	}
	assert_int_equal(failures, 0);
}

/* Every line of the audit log is one record, numbered without gaps. */
static void
test_audit_log(void **state)
{
	FILE *f = fopen(daemon_.audit, "r");
	char *line = NULL;
	size_t cap = 0;
	long want = 1, seq;

	(void)state;
	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		assert_int_equal(sscanf(line, "{\"seq\":%ld,", &seq), 1);
		assert_int_equal(seq, want++);
		assert_int_equal(line[strlen(line) - 2], '}');
	}
	free(line);
	fclose(f);
	assert_true(want > 1);
	assert_true(audit_count("\"type\":\"start\"", NULL) == 1);
	assert_true(audit_count("\"type\":\"rcpt\"", "later.example") >=
		    THREADS * TX_PER_THREAD);
	assert_true(audit_count("\"type\":\"message\"", "hold.example") >= 1);
	assert_true(audit_count("\"type\":\"mail\"", "bank.example") >= 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postfix_per_recipient),
		cmocka_unit_test(test_plaintext_and_sender_rules),
		cmocka_unit_test(test_client_certificates),
		cmocka_unit_test(test_hostile_macros),
		cmocka_unit_test(test_blind_milter),
		cmocka_unit_test(test_reload_pins_policy),
		cmocka_unit_test(test_load_with_reloads),
		cmocka_unit_test(test_audit_log),
		cmocka_unit_test(test_stop),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, start_daemon, cleanup_daemon);
}
