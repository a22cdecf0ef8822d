/*
 * test_callbacks.c - the milter callbacks without an MTA.
 *
 * tlspm_smfi is pointed at a fake table that serves macros and records
 * every reply, header change and quarantine, so each row checks what the
 * MTA would have been told at each stage, including the on_error paths
 * (an audit log that cannot be written, macros the MTA did not send).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "callbacks.h"
#include "holder.h"
#include "log.h"
#include "session.h"
#include "smfi.h"
#include "state.h"

/* The fake MTA side of one connection. */
struct fake {
	const char *const *macros; /* name, value, name, value, ..., NULL */
	void *priv;
	char reply[2200];
	char headers[4][1024]; /* inserted "name: value" */
	int nheaders, nremoved;
	int removed[64]; /* the indices deleted, in order */
	char quarantine[1024];
};

static const char *
f_getsymval(SMFICTX *ctx, const char *name)
{
	struct fake *f = (struct fake *)(void *)ctx;
	size_t i;

	for (i = 0; f->macros && f->macros[i]; i += 2)
		if (strcmp(f->macros[i], name) == 0)
			return f->macros[i + 1];
	return NULL;
}

static int
f_setreply(SMFICTX *ctx, const char *code, const char *x, const char *t)
{
	struct fake *f = (struct fake *)(void *)ctx;

	snprintf(f->reply, sizeof(f->reply), "%s %s %s", code, x ? x : "-", t);
	return MI_SUCCESS;
}

static int
f_insheader(SMFICTX *ctx, int idx, const char *name, const char *value)
{
	struct fake *f = (struct fake *)(void *)ctx;

	(void)idx;
	if (f->nheaders < 4)
		snprintf(f->headers[f->nheaders++], 1024, "%s: %s", name,
			 value);
	return MI_SUCCESS;
}

static int
f_chgheader(SMFICTX *ctx, const char *name, int idx, const char *value)
{
	struct fake *f = (struct fake *)(void *)ctx;

	(void)name;
	if (value == NULL && f->nremoved < 64)
		f->removed[f->nremoved++] = idx;
	return MI_SUCCESS;
}

static int
f_quarantine(SMFICTX *ctx, const char *reason)
{
	struct fake *f = (struct fake *)(void *)ctx;

	snprintf(f->quarantine, sizeof(f->quarantine), "%s", reason);
	return MI_SUCCESS;
}

static void *
f_getpriv(SMFICTX *ctx)
{
	return ((struct fake *)(void *)ctx)->priv;
}

static int
f_setpriv(SMFICTX *ctx, void *p)
{
	((struct fake *)(void *)ctx)->priv = p;
	return MI_SUCCESS;
}

static int
f_setsymlist(SMFICTX *ctx, int stage, const char *list)
{
	(void)ctx;
	(void)stage;
	(void)list;
	return MI_SUCCESS;
}

static const struct tlspm_smfi fake_table = {
	f_getsymval,  f_setreply, f_insheader, f_chgheader,
	f_quarantine, f_getpriv,  f_setpriv,   f_setsymlist,
};

static const char policy[] =
	"version: 1\n"
	"milter: {authserv_id: mx.test.example}\n"
	"recipients:\n"
	"  strict.example: {min_version: TLSv1.2, action: reject}\n"
	"  later.example: {min_version: TLSv1.3, action: defer}\n"
	"  tag.example: {min_version: TLSv1.3, action: tag}\n"
	"  hold.example: {min_version: TLSv1.3, action: quarantine}\n"
	"  watch.example: {min_version: TLSv1.3, mode: monitor}\n"
	"  default: {}\n"
	"senders:\n"
	"  bank.example: {min_version: TLSv1.3, reply: \"550 5.7.1 Bank mail "
	"needs TLS 1.3 (100%% sure)\"}\n";

static void
use_policy(const char *yaml)
{
	struct tlsp_diags d = {0};
	struct tlsp_policy *p = tlsp_policy_load_buffer("t.yaml", yaml,
							strlen(yaml), 0, &d);

	assert_non_null(p);
	tlsp_diags_free(&d);
	tlspm_holder_set(p);
}

static SMFICTX *
ctx_of(struct fake *f)
{
	return (SMFICTX *)(void *)f;
}

/* negotiate + connect + helo, as the MTA does. */
static void
open_conn(struct fake *f)
{
	unsigned long a, p, x, y;

	assert_int_equal(tlspm_callbacks.xxfi_negotiate(ctx_of(f), 0x1ff,
							0x1fffff, 0, 0, &a, &p,
							&x, &y),
			 SMFIS_CONTINUE);
	assert_non_null(f->priv);
	assert_int_equal(tlspm_callbacks.xxfi_connect(ctx_of(f),
						      "client.example", NULL),
			 SMFIS_NOREPLY);
	assert_int_equal(tlspm_callbacks.xxfi_helo(ctx_of(f), "client.example"),
			 SMFIS_NOREPLY);
}

static sfsistat
mail(struct fake *f, const char *from)
{
	char *argv[] = {(char *)(uintptr_t)from, NULL};

	return tlspm_callbacks.xxfi_envfrom(ctx_of(f), argv);
}

static sfsistat
rcpt(struct fake *f, const char *to)
{
	char *argv[] = {(char *)(uintptr_t)to, NULL};

	f->reply[0] = '\0';
	return tlspm_callbacks.xxfi_envrcpt(ctx_of(f), argv);
}

#define TLS12                                                                  \
	"{tls_version}", "TLSv1.2", "{cipher}", "ECDHE-RSA-AES256-GCM-SHA384"
#define SENT "{mail_addr}", "x", "{rcpt_addr}", "x", "v", "Postfix 3.7.11"

static void
test_per_recipient(void **state)
{
	static const char *const macros[] = {TLS12, SENT, "i", "4AB12C", NULL};
	struct fake f = {.macros = macros};

	(void)state;
	use_policy(policy);
	open_conn(&f);
	assert_int_equal(mail(&f, "<a@sender.example>"), SMFIS_CONTINUE);
	/* Each recipient gets its own answer; none is ACCEPT at RCPT. */
	assert_int_equal(rcpt(&f, "<b@strict.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<c@later.example>"), SMFIS_TEMPFAIL);
	assert_string_equal(f.reply, "450 4.7.1 TLS policy for the recipient "
				     "domain not met, try again later");
	assert_int_equal(rcpt(&f, "<d@tag.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<e@hold.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<f@watch.example>"), SMFIS_CONTINUE);
	/* Tag and quarantine need the message: no early accept. */
	assert_int_equal(tlspm_callbacks.xxfi_data(ctx_of(&f)), SMFIS_CONTINUE);
	assert_int_equal(tlspm_callbacks.xxfi_eom(ctx_of(&f)), SMFIS_ACCEPT);
	assert_int_equal(f.nheaders, 1);
	assert_string_equal(f.headers[0],
			    "X-TLS-Policy: mx.test.example; tls-policy=fail "
			    "action=quarantine rules=withheld "
			    "failed=min_version; "
			    "tls=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384 "
			    "bits=256 cert=not-verified");
	assert_string_equal(f.quarantine,
			    "tlspolicy: rules recipient:tag.example,"
			    "recipient:hold.example failed min_version");
	/* No recipient address reaches the header (it would leak Bcc). */
	assert_null(strstr(f.headers[0], "@"));
	tlspm_callbacks.xxfi_close(ctx_of(&f));
	assert_null(f.priv);
}

static void
test_accept_at_data(void **state)
{
	static const char *const macros[] = {TLS12, SENT, NULL};
	struct fake f = {.macros = macros};
	const char *yaml =
		"version: 1\nmilter: {strip_forged_headers: never}\n"
		"recipients: {strict.example: {min_version: TLSv1.2}}\n";

	(void)state;
	use_policy(yaml);
	open_conn(&f);
	assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<b@strict.example>"), SMFIS_CONTINUE);
	assert_int_equal(tlspm_callbacks.xxfi_data(ctx_of(&f)), SMFIS_ACCEPT);
	tlspm_callbacks.xxfi_close(ctx_of(&f));
}

static void
test_sender_rule_refuses_at_mail(void **state)
{
	static const char *const macros[] = {TLS12, SENT, NULL};
	struct fake f = {.macros = macros};

	(void)state;
	use_policy(policy);
	open_conn(&f);
	assert_int_equal(mail(&f, "<x@bank.example>"), SMFIS_REJECT);
	/* libmilter takes the text as a format: '%' goes out doubled. */
	assert_string_equal(f.reply, "550 5.7.1 Bank mail needs TLS 1.3 "
				     "(100%% sure)");
	tlspm_callbacks.xxfi_abort(ctx_of(&f));
	tlspm_callbacks.xxfi_close(ctx_of(&f));
}

/* The protocol flags asked for with the policy in yaml. */
static unsigned long
negotiated(const char *yaml)
{
	struct fake f = {0};
	unsigned long a, p, x, y;

	use_policy(yaml);
	assert_int_equal(tlspm_callbacks.xxfi_negotiate(ctx_of(&f), 0x1ff,
							0x1fffff, 0, 0, &a, &p,
							&x, &y),
			 SMFIS_CONTINUE);
	tlspm_callbacks.xxfi_close(ctx_of(&f));
	return p;
}

/* Header callbacks (without a reply to each, and never the body) only
 * where the milter removes forged copies itself. */
static void
test_header_negotiation(void **state)
{
	static const struct {
		const char *name, *strip;
		int headers;
	} rows[] = {
		{"a tagging policy, auto", "auto", 1},
		{"always", "always", 1},
		{"never", "never", 0},
		{"the MTA removes them", "mta", 0},
	};
	char yaml[300];
	unsigned long p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "version: 1\nmilter: {strip_forged_headers: %s}\n"
			 "recipients: {tag.example: {tls: required, "
			 "action: tag}}\n",
			 rows[i].strip);
		p = negotiated(yaml);
		print_message("%s\n", rows[i].name);
		assert_int_equal((p & SMFIP_NOHDRS) == 0, rows[i].headers);
		assert_int_equal((p & SMFIP_NR_HDR) != 0, rows[i].headers);
		assert_true(p & SMFIP_NOBODY);
		assert_true(p & SMFIP_NOEOH);
		tlspm_holder_set(NULL);
	}
	/* auto, with nothing to tag or quarantine: no header callbacks */
	assert_true(negotiated("version: 1\nrecipients: {a.example: "
			       "{tls: required}}\n") &
		    SMFIP_NOHDRS);
}

/*
 * Every copy goes, whatever the case of its name, deleted from the last
 * down to the first: after a deletion Postfix renumbers the copies left
 * and Sendmail does not, and only this order is right on both.
 */
static void
test_forged_headers_removed(void **state)
{
	static const char *const macros[] = {TLS12, SENT, NULL};
	static const char *const names[] = {"x-tls-policy", "X-TLS-Policy",
					    "X-Tls-POLICY"};
	struct fake f = {.macros = macros};
	size_t i;

	(void)state;
	use_policy(policy); /* it tags, so headers are watched */
	open_conn(&f);
	assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<b@strict.example>"), SMFIS_CONTINUE);
	assert_int_equal(tlspm_callbacks.xxfi_data(ctx_of(&f)), SMFIS_CONTINUE);
	for (i = 0; i < 3; i++) {
		assert_int_equal(tlspm_callbacks.xxfi_header(ctx_of(&f),
							     "Received", "x"),
				 SMFIS_NOREPLY);
		assert_int_equal(tlspm_callbacks.xxfi_header(ctx_of(&f),
							     (char *)(uintptr_t)
								     names[i],
							     "forged;\n\tpass"),
				 SMFIS_NOREPLY);
	}
	assert_int_equal(tlspm_callbacks.xxfi_eom(ctx_of(&f)), SMFIS_ACCEPT);
	assert_int_equal(f.nremoved, 3);
	assert_int_equal(f.removed[0], 3);
	assert_int_equal(f.removed[1], 2);
	assert_int_equal(f.removed[2], 1);
	assert_int_equal(f.nheaders, 0); /* the message passed: no tag */
	/* the next message of the session has none: nothing is deleted */
	f.nremoved = 0;
	assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<b@strict.example>"), SMFIS_CONTINUE);
	assert_int_equal(tlspm_callbacks.xxfi_data(ctx_of(&f)), SMFIS_CONTINUE);
	assert_int_equal(tlspm_callbacks.xxfi_eom(ctx_of(&f)), SMFIS_ACCEPT);
	assert_int_equal(f.nremoved, 0);
	tlspm_callbacks.xxfi_close(ctx_of(&f));
}

/* strip_forged_headers: mta: the MTA removes forged copies, so a message
 * with nothing to mark is accepted at DATA; a tagged one gets our header
 * and no deletion. */
static void
test_strip_by_mta(void **state)
{
	static const char *const macros[] = {TLS12, SENT, NULL};
	struct fake f = {.macros = macros};

	(void)state;
	use_policy("version: 1\nmilter: {strip_forged_headers: mta}\n"
		   "recipients: {tag.example: {min_version: TLSv1.3, "
		   "action: tag}, ok.example: {}}\n");
	open_conn(&f);
	assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<b@ok.example>"), SMFIS_CONTINUE);
	assert_int_equal(tlspm_callbacks.xxfi_data(ctx_of(&f)), SMFIS_ACCEPT);
	assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<b@tag.example>"), SMFIS_CONTINUE);
	assert_int_equal(tlspm_callbacks.xxfi_data(ctx_of(&f)), SMFIS_CONTINUE);
	assert_int_equal(tlspm_callbacks.xxfi_eom(ctx_of(&f)), SMFIS_ACCEPT);
	assert_int_equal(f.nremoved, 0);
	assert_int_equal(f.nheaders, 1);
	tlspm_callbacks.xxfi_close(ctx_of(&f));
}

/* Reads the whole file at path (malloc'd, NUL-terminated). */
static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	assert_non_null(fp);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* A TLS-Required header (RFC 8689) reaches the message's audit record
 * where header callbacks run: "no" for its one value in any case and
 * folding, "other" for anything else, nothing when absent. */
static void
test_tls_required_recorded(void **state)
{
	static const struct {
		const char *name, *value, *want;
	} rows[] = {
		{"TLS-Required", "No", "\"tls_required\":\"no\""},
		{"tls-required", " no\r\n\t", "\"tls_required\":\"no\""},
		{"TLS-Required", "Yes", "\"tls_required\":\"other\""},
		{"TLS-Required", "No thanks", "\"tls_required\":\"other\""},
		{"Subject", "No", NULL},
	};
	static const char *const macros[] = {TLS12, SENT, NULL};
	struct fake f = {.macros = macros};
	char err[256], dir[] = "/tmp/tlsp-cb-XXXXXX", path[64], *log, *line;
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	use_policy(policy); /* it tags: header callbacks run */
	tlspm.audit = tlsp_audit_open(path, "h", TLSP_SYNC_ALWAYS, err,
				      sizeof(err));
	assert_non_null(tlspm.audit);
	open_conn(&f);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
		assert_int_equal(rcpt(&f, "<b@strict.example>"),
				 SMFIS_CONTINUE);
		assert_int_equal(tlspm_callbacks.xxfi_data(ctx_of(&f)),
				 SMFIS_CONTINUE);
		assert_int_equal(tlspm_callbacks
					 .xxfi_header(ctx_of(&f),
						      (char *)(uintptr_t)rows[i]
							      .name,
						      (char *)(uintptr_t)rows[i]
							      .value),
				 SMFIS_NOREPLY);
		assert_int_equal(tlspm_callbacks.xxfi_eom(ctx_of(&f)),
				 SMFIS_ACCEPT);
	}
	tlspm_callbacks.xxfi_close(ctx_of(&f));
	tlsp_audit_close(tlspm.audit);
	tlspm.audit = NULL;
	log = slurp(path);
	/* one message record per row, in order */
	line = log;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *end;

		line = strstr(line, "\"type\":\"message\"");
		assert_non_null(line);
		end = strchr(line, '\n');
		assert_non_null(end);
		*end = '\0';
		print_message("%s: %s\n", rows[i].name, rows[i].value);
		if (rows[i].want)
			assert_non_null(strstr(line, rows[i].want));
		else
			assert_null(strstr(line, "tls_required"));
		line = end + 1;
	}
	free(log);
	unlink(path);
	rmdir(dir);
}

/*
 * TLS cannot change inside a transaction: the facts that showed TLS at
 * MAIL decide every RCPT of it, whatever the RCPT stage's macros say. A
 * transaction that looked plaintext at MAIL is read again at RCPT (an MTA
 * may send the TLS macros only there), and the next transaction reads
 * afresh.
 */
static void
test_facts_per_transaction(void **state)
{
	static const char *const tls[] = {TLS12, SENT, NULL};
	static const char *const plain[] = {SENT, NULL};
	struct fake f = {.macros = tls};

	(void)state;
	use_policy(policy);
	open_conn(&f);
	assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
	f.macros = plain;
	assert_int_equal(rcpt(&f, "<b@strict.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<c@strict.example>"), SMFIS_CONTINUE);
	assert_int_equal(tlspm_callbacks.xxfi_data(ctx_of(&f)), SMFIS_CONTINUE);
	assert_int_equal(tlspm_callbacks.xxfi_eom(ctx_of(&f)), SMFIS_ACCEPT);
	/* the next transaction: plaintext at MAIL and at RCPT */
	assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<b@strict.example>"), SMFIS_REJECT);
	assert_string_equal(f.reply, "530 5.7.0 Must issue a STARTTLS command "
				     "first");
	/* plaintext at MAIL, TLS at RCPT: RCPT reads again */
	f.macros = tls;
	assert_int_equal(rcpt(&f, "<c@strict.example>"), SMFIS_CONTINUE);
	tlspm_callbacks.xxfi_abort(ctx_of(&f));
	tlspm_callbacks.xxfi_close(ctx_of(&f));
}

/* A MAIL without a sender (libmilter should never send one) ends the
 * open transaction: the next RCPT is not decided with the old sender's
 * TLS facts but follows on_error. */
static void
test_mail_without_sender(void **state)
{
	static const char *const macros[] = {TLS12, SENT, NULL};
	struct fake f = {.macros = macros};
	char *argv[] = {NULL};

	(void)state;
	use_policy(policy);
	open_conn(&f);
	assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<b@strict.example>"), SMFIS_CONTINUE);
	assert_int_equal(tlspm_callbacks.xxfi_envfrom(ctx_of(&f), argv),
			 SMFIS_TEMPFAIL);
	assert_int_equal(rcpt(&f, "<c@strict.example>"), SMFIS_TEMPFAIL);
	assert_string_equal(f.reply, "451 4.7.0 TLS policy check unavailable, "
				     "try again later");
	tlspm_callbacks.xxfi_close(ctx_of(&f));
}

/* The queue id, once the MTA has sent it, holds for the transaction; the
 * next transaction starts without one. */
static void
test_queue_id_per_transaction(void **state)
{
	static const char *const first[] = {TLS12, SENT, "i", "4AB12C", NULL};
	static const char *const other[] = {TLS12, SENT, "i", "99ZZ", NULL};
	static const char *const none[] = {TLS12, SENT, NULL};
	struct fake f = {.macros = none};
	const struct tlspm_session *s;

	(void)state;
	use_policy(policy);
	open_conn(&f);
	s = f.priv;
	assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
	assert_string_equal(s->queue_id, "");
	f.macros = first;
	assert_int_equal(rcpt(&f, "<b@strict.example>"), SMFIS_CONTINUE);
	assert_string_equal(s->queue_id, "4AB12C");
	f.macros = other;
	assert_int_equal(rcpt(&f, "<c@strict.example>"), SMFIS_CONTINUE);
	assert_string_equal(s->queue_id, "4AB12C");
	tlspm_callbacks.xxfi_abort(ctx_of(&f));
	assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
	assert_string_equal(s->queue_id, "99ZZ");
	tlspm_callbacks.xxfi_close(ctx_of(&f));
}

/* The session keeps what the client and the MTA sent as it was (each
 * sink escapes it once); the queue id of log lines is escaped for them. */
static void
test_session_keeps_raw(void **state)
{
	static char helo[] = "mx\"\\\x01\xff\xe2\x80\xae.example";
	static const char *const q[] = {TLS12, SENT, "i", "Q\"1\xff", NULL};
	struct fake f = {.macros = q};
	const struct tlspm_session *s;
	unsigned long a, p, x, y;
	char name[300];

	(void)state;
	use_policy(policy);
	assert_int_equal(tlspm_callbacks.xxfi_negotiate(ctx_of(&f), 0x1ff,
							0x1fffff, 0, 0, &a, &p,
							&x, &y),
			 SMFIS_CONTINUE);
	s = f.priv;
	/* 254 bytes of 'a', then a 2-byte character that does not fit */
	memset(name, 'a', 254);
	memcpy(name + 254, "\xc3\xa9z", 4);
	assert_int_equal(tlspm_callbacks.xxfi_connect(ctx_of(&f), name, NULL),
			 SMFIS_NOREPLY);
	assert_int_equal(strlen(s->client_name), 254);
	assert_memory_equal(s->client_name, name, 254);
	assert_int_equal(tlspm_callbacks.xxfi_helo(ctx_of(&f), helo),
			 SMFIS_NOREPLY);
	assert_string_equal(s->helo, helo);
	assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
	assert_string_equal(s->queue_id, "Q\"1\xff");
	assert_string_equal(tlspm_session_logid(s), "Q\\x221\\xff");
	tlspm_callbacks.xxfi_close(ctx_of(&f));
}

/* Without {rcpt_addr} the MTA is not sending our macro list: the TLS
 * state is unknown and on_error (tempfail) applies, never accept. */
static void
test_blind_milter(void **state)
{
	static const char *const macros[] = {TLS12, "{mail_addr}", "x", NULL};
	struct fake f = {.macros = macros};

	(void)state;
	use_policy(policy);
	open_conn(&f);
	assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<b@default.example>"), SMFIS_TEMPFAIL);
	assert_string_equal(f.reply, "451 4.7.0 TLS policy check unavailable, "
				     "try again later");
	tlspm_callbacks.xxfi_close(ctx_of(&f));
}

/* A refusal that cannot be recorded is not given: on_error is. */
static void
test_unwritable_audit(void **state)
{
	static const char *const macros[] = {"{mail_addr}", "x", "{rcpt_addr}",
					     "x", NULL}; /* plaintext */
	struct fake f = {.macros = macros};
	char err[256], dir[] = "/tmp/tlsp-cb-XXXXXX", path[64];
	struct rlimit old, full = {0, 0};

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	use_policy("version: 1\nmilter: {on_error: reject}\n"
		   "recipients: {strict.example: {tls: required}}\n");
	tlspm.audit = tlsp_audit_open(path, "h", TLSP_SYNC_ALWAYS, err,
				      sizeof(err));
	assert_non_null(tlspm.audit);
	open_conn(&f);
	assert_int_equal(mail(&f, "<a@x.example>"), SMFIS_CONTINUE);
	/* The log cannot grow: EFBIG, as a full disk gives ENOSPC. */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	full.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &full), 0);
	assert_int_equal(rcpt(&f, "<b@strict.example>"), SMFIS_REJECT);
	assert_string_equal(f.reply,
			    "550 5.7.0 TLS policy could not be applied");
	/* The fault gone, the same refusal is recorded and given. */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(rcpt(&f, "<b@strict.example>"), SMFIS_REJECT);
	assert_string_equal(f.reply, "530 5.7.0 Must issue a STARTTLS command "
				     "first");
	tlspm_callbacks.xxfi_close(ctx_of(&f));
	tlsp_audit_close(tlspm.audit);
	tlspm.audit = NULL;
	unlink(path);
	rmdir(dir);
}

#define NINES10 "9999999999"
#define NINES100                                                               \
	NINES10 NINES10 NINES10 NINES10 NINES10 NINES10 NINES10 NINES10        \
		NINES10 NINES10

/* MAIL's ESMTP parameters reach the record: values of the table's
 * keywords as sent (escaped once, by the JSON sink), the keyword only
 * for the others (AUTH= names a mailbox), at most 16, each bounded. */
static void
test_mail_params_recorded(void **state)
{
	static const char *const macros[] = {"{mail_addr}", "x", "{rcpt_addr}",
					     "x", NULL}; /* plaintext */
	static const struct {
		const char *name;
		const char *params[24];
		const char *want; /* the member as written; NULL: absent */
	} rows[] = {
		{"none", {NULL}, NULL},
		{"size and body",
		 {"SIZE=1234", "BODY=8BITMIME", NULL},
		 "\"mail_params\":[\"SIZE=1234\",\"BODY=8BITMIME\"]"},
		{"personal values withheld",
		 {"AUTH=<someone@x.example>", "ENVID=QQ314159", "REQUIRETLS",
		  "smtputf8", "X-UNKNOWN=secret", NULL},
		 "\"mail_params\":[\"AUTH=\",\"ENVID=\",\"REQUIRETLS\","
		 "\"smtputf8\",\"X-UNKNOWN=\"]"},
		{"escaped once",
		 {"BODY=8BIT\"MIME\x01", NULL},
		 "\"mail_params\":[\"BODY=8BIT\\\"MIME\\u0001\"]"},
		{"each cut to 127 bytes",
		 {"SIZE=" NINES100 NINES100, NULL},
		 "\"mail_params\":[\"SIZE=" NINES100
		 "9999999999999999999999\"]"},
		{"at most 16",
		 {"BY=1", "BY=2", "BY=3", "BY=4", "BY=5", "BY=6", "BY=7",
		  "BY=8", "BY=9", "BY=10", "BY=11", "BY=12", "BY=13", "BY=14",
		  "BY=15", "BY=16", "BY=17", "BY=18", NULL},
		 "\"mail_params\":[\"BY=1\",\"BY=2\",\"BY=3\",\"BY=4\","
		 "\"BY=5\",\"BY=6\",\"BY=7\",\"BY=8\",\"BY=9\",\"BY=10\","
		 "\"BY=11\",\"BY=12\",\"BY=13\",\"BY=14\",\"BY=15\","
		 "\"BY=16\"]"},
	};
	char err[256], dir[] = "/tmp/tlsp-cb-XXXXXX", path[64];
	size_t i, j;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	use_policy("version: 1\n"
		   "recipients: {strict.example: {tls: required}}\n");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct fake f = {.macros = macros};
		char *argv[26] = {(char *)(uintptr_t) "<a@x.example>"}, *log,
		     *at;

		for (j = 0; rows[i].params[j]; j++)
			argv[j + 1] = (char *)(uintptr_t)rows[i].params[j];
		unlink(path);
		tlspm.audit = tlsp_audit_open(path, "h", TLSP_SYNC_ALWAYS, err,
					      sizeof(err));
		assert_non_null(tlspm.audit);
		open_conn(&f);
		assert_int_equal(tlspm_callbacks.xxfi_envfrom(ctx_of(&f), argv),
				 SMFIS_CONTINUE);
		assert_int_equal(rcpt(&f, "<b@strict.example>"), SMFIS_REJECT);
		tlspm_callbacks.xxfi_close(ctx_of(&f));
		tlsp_audit_close(tlspm.audit);
		tlspm.audit = NULL;
		log = slurp(path);
		at = strstr(log, "\"type\":\"rcpt\"");
		if (at == NULL)
			fail_msg("%s: no rcpt record in %s", rows[i].name, log);
		if (rows[i].want == NULL) {
			if (strstr(at, "mail_params") != NULL)
				fail_msg("%s: unexpected member", rows[i].name);
		} else if (strstr(at, rows[i].want) == NULL) {
			fail_msg("%s: want %s in %s", rows[i].name,
				 rows[i].want, at);
		}
		free(log);
	}
	unlink(path);
	unlink(strcat(path, ".head"));
	rmdir(dir);
}

/* Runs one transaction with the log on stderr, into a file; returns
 * what was logged (malloc'd). With qid, the MTA sends that queue id. */
static char *
logged_transaction(const char *yaml, const char *qid)
{
	const char *const macros[] = {TLS12, SENT, "i", qid, NULL};
	struct fake f = {.macros = macros};
	char path[] = "/tmp/tlsp-cb-log-XXXXXX", *text;
	int fd = mkstemp(path), saved = dup(2);
	long len;
	FILE *fp;

	assert_true(fd >= 0 && saved >= 0);
	use_policy(yaml);
	fflush(stderr);
	assert_true(dup2(fd, 2) == 2);
	tlspm_log_open("test", LOG_MAIL, 1, 0);
	open_conn(&f);
	assert_int_equal(mail(&f, "<a@sender.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<ok@default.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<w@watch.example>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&f, "<s@strict.example>"), SMFIS_REJECT);
	tlspm_callbacks.xxfi_close(ctx_of(&f));
	fflush(stderr);
	assert_true(dup2(saved, 2) == 2);
	close(saved);
	tlspm_log_open("test", LOG_MAIL, 0, 0);
	fp = fdopen(fd, "r");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	unlink(path);
	return text;
}

/* The length of the log id at s when the MTA sent no queue id: the
 * connection id (13 to 15 hex digits, random), ".", the transaction's
 * number in the connection. 0 when s does not start with one. */
static size_t
conn_logid_len(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef"), k;

	if (n < 13 || n > 15 || s[n] != '.')
		return 0;
	k = strspn(s + n + 1, "0123456789");
	return k > 0 ? n + 1 + k : 0;
}

/*
 * Whether `line` (len bytes, no newline) is the decision line `want`,
 * whole: "tlspolicy-milter: info: ID: " and exactly `want` after it,
 * where ID is the queue id qid or, without one, a connection's log id
 * (the only part of the line that varies, matched exactly as that).
 */
static int
is_decision_line(const char *line, size_t len, const char *qid,
		 const char *want)
{
	static const char prefix[] = "tlspolicy-milter: info: ";
	const char *end = line + len;
	size_t n;

	if (len < sizeof(prefix) - 1 ||
	    memcmp(line, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	line += sizeof(prefix) - 1;
	n = qid ? strlen(qid) : conn_logid_len(line);
	if (n == 0 || line + n + 2 > end ||
	    (qid != NULL && memcmp(line, qid, n) != 0) ||
	    memcmp(line + n, ": ", 2) != 0)
		return 0;
	line += n + 2;
	return (size_t)(end - line) == strlen(want) &&
	       memcmp(line, want, (size_t)(end - line)) == 0;
}

/* The log holds exactly the lines `want` (NULL-terminated), in order,
 * each under the log id of qid (see is_decision_line). */
static void
assert_log_lines(const char *text, const char *qid, const char *const *want)
{
	const char *p = text, *nl, *id = qid ? qid : "ID";
	size_t i = 0;

	for (; *p != '\0'; p = nl + 1, i++) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		if (want[i] == NULL ||
		    !is_decision_line(p, (size_t)(nl - p), qid, want[i]))
			fail_msg("log line %zu is\n  %.*s\nnot\n  "
				 "tlspolicy-milter: info: %s: %s",
				 i + 1, (int)(nl - p), p, id,
				 want[i] ? want[i] : "(none)");
	}
	if (want[i] != NULL)
		fail_msg("log line %zu missing:\n  tlspolicy-milter: info: %s: "
			 "%s",
			 i + 1, id, want[i]);
}

/* The decision lines of logged_transaction(), after the log id. */
#define DECIDED(rcpt)                                                          \
	"rcpt=<" rcpt "> from=<a@sender.example> "                             \
	"client=client.example[unknown] tls=TLSv1.2 "                          \
	"cipher=ECDHE-RSA-AES256-GCM-SHA384 bits=256 cert=\"not verified\" "
static const char accepted_line[] =
	DECIDED("ok@default.example") "rules=recipient:default action=accept "
				      "failed=- unknown=- reply=\"\"";
static const char monitored_line[] = DECIDED(
	"w@watch.example") "rules=recipient:watch.example action=accept "
			   "monitor=would-reject failed=min_version unknown=- reply=\"\"";
static const char refused_line[] = DECIDED(
	"s@strict.example") "rules=recipient:strict.example "
			    "action=reject failed=min_version unknown=- reply=\"550 5.7.1 Message "
			    "refused: TLS policy for the recipient domain not met\"";

/*
 * milter.log_decisions: by default only decisions that act (or would,
 * in monitor mode) are logged; "all" adds accepted recipients, "none"
 * leaves decisions to the audit log. The decision line is an interface:
 * each is compared whole.
 */
static void
test_log_decisions(void **state)
{
	static const struct {
		const char *mode;
		const char *qid; /* the MTA's queue id, or none */
		const char *want[4];
	} rows[] = {
		{"", NULL, {monitored_line, refused_line, NULL}},
		{"", "4AB12C", {monitored_line, refused_line, NULL}},
		{"log_decisions: all",
		 NULL,
		 {accepted_line, monitored_line, refused_line, NULL}},
		{"log_decisions: none", NULL, {NULL}},
	};
	char yaml[512], *text;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "version: 1\nmilter: {%s}\nrecipients:\n"
			 "  strict.example: {min_version: TLSv1.3, action: "
			 "reject}\n"
			 "  watch.example: {min_version: TLSv1.3, mode: "
			 "monitor}\n"
			 "  default: {}\n",
			 rows[i].mode);
		text = logged_transaction(yaml, rows[i].qid);
		print_message("log_decisions: {%s}, queue id %s\n",
			      rows[i].mode, rows[i].qid ? rows[i].qid : "none");
		assert_log_lines(text, rows[i].qid, rows[i].want);
		free(text);
	}
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Connection ids: unique within a run, hex, 13 to 15 characters. */
static void
test_conn_ids(void **state)
{
	static char ids[5000][24];
	struct tlspm_session *s;
	size_t i, len;

	(void)state;
	use_policy(policy);
	for (i = 0; i < 5000; i++) {
		s = tlspm_session_new();
		assert_non_null(s);
		len = strlen(s->conn_id);
		assert_true(len >= 13 && len <= 15);
		assert_int_equal(strspn(s->conn_id, "0123456789abcdef"), len);
		memcpy(ids[i], s->conn_id, len + 1);
		tlspm_session_free(s);
	}
	qsort(ids, 5000, sizeof(ids[0]), cmp_id);
	for (i = 1; i < 5000; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
}

static int
teardown(void **state)
{
	(void)state;
	tlspm_holder_set(NULL);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_per_recipient, teardown),
		cmocka_unit_test_teardown(test_accept_at_data, teardown),
		cmocka_unit_test_teardown(test_sender_rule_refuses_at_mail,
					  teardown),
		cmocka_unit_test_teardown(test_header_negotiation, teardown),
		cmocka_unit_test_teardown(test_forged_headers_removed,
					  teardown),
		cmocka_unit_test_teardown(test_strip_by_mta, teardown),
		cmocka_unit_test_teardown(test_tls_required_recorded, teardown),
		cmocka_unit_test_teardown(test_facts_per_transaction, teardown),
		cmocka_unit_test_teardown(test_queue_id_per_transaction,
					  teardown),
		cmocka_unit_test_teardown(test_session_keeps_raw, teardown),
		cmocka_unit_test_teardown(test_mail_without_sender, teardown),
		cmocka_unit_test_teardown(test_blind_milter, teardown),
		cmocka_unit_test_teardown(test_unwritable_audit, teardown),
		cmocka_unit_test_teardown(test_mail_params_recorded, teardown),
		cmocka_unit_test_teardown(test_conn_ids, teardown),
		cmocka_unit_test_teardown(test_log_decisions, teardown),
	};

	tlspm_smfi = &fake_table;
	tlspm.hostname = "host.test";
	tlspm_log_open("test", 0, 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
