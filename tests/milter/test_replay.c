/*
 * test_replay.c - tlspolicy-audit replay and inventory on a log the real
 * daemon wrote.
 *
 * A daemon runs an "active" policy (a sender rule, recipient rules that
 * reject, defer and only monitor, an exempt client network, the default
 * exemption of authenticated sessions) and nine sessions go through it,
 * shaped as Postfix and Sendmail send their macros: refused at MAIL, at
 * RCPT (reject and defer), accepted, exempt. Then:
 *   - replaying the active policy itself changes nothing and replays
 *     every decision: the facts rebuilt from each record are the facts
 *     the daemon decided on;
 *   - a stricter draft gives exactly the transitions worked out below,
 *     the refusal at MAIL becoming "recipients unknown";
 *   - --as-enforced turns the monitor rule's would-be refusal into one;
 *   - --fail-on exits 3 only when something is newly refused;
 *   - a redacted sender is "cannot replay", never guessed;
 *   - a tampered log exits 1 (0 with --ignore-breaks, saying so), a
 *     draft that does not compile exits 2 with file:line:col.
 * inventory counts the same log per sender domain and client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "jsonread.h"
#include "tlspolicy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PF "Postfix 3.7.11"
#define SM "8.17.1"

/* One session: sender, recipient, client, the macros sent (NULL: not
 * sent; a NULL version is plaintext) and what the daemon must answer at
 * MAIL and RCPT ('c' continue, '5' reject, '4' defer). */
struct sess {
	const char *sender, *rcpt, *ip, *mta, *version, *cipher, *bits;
	const char *subject, *issuer, *verify, *auth;
	char at_mail, at_rcpt;
};

static const struct sess sessions[] = {
	/* 1: the bank with its verified certificate (Sendmail) */
	{"<a@bank.example>", "x@corp.example", "192.0.2.1", SM, "TLSv1.3",
	 "TLS_AES_256_GCM_SHA384", "256", "/CN=mx.bank.example", "/CN=Bank CA",
	 "OK", NULL, 'c', 'c'},
	/* 2: the bank without a certificate: refused at MAIL */
	{"<b@bank.example>", "x@corp.example", "192.0.2.2", PF, "TLSv1.2",
	 "ECDHE-RSA-AES256-GCM-SHA384", "256", NULL, NULL, NULL, NULL, '5', 0},
	/* 3: TLSv1.2 to strict.example: refused at RCPT */
	{"<c@other.example>", "x@strict.example", "192.0.2.3", PF, "TLSv1.2",
	 "ECDHE-RSA-AES256-GCM-SHA384", "256", NULL, NULL, NULL, NULL, 'c',
	 '5'},
	/* 4: TLSv1.2 to corp.example: accepted */
	{"<d@other.example>", "x@corp.example", "192.0.2.4", PF, "TLSv1.2",
	 "ECDHE-RSA-AES256-GCM-SHA384", "256", NULL, NULL, NULL, NULL, 'c',
	 'c'},
	/* 5: TLSv1.3 to strict.example: accepted (its sender is redacted
	 * below) */
	{"<five@other.example>", "x@strict.example", "192.0.2.5", PF, "TLSv1.3",
	 "TLS_AES_256_GCM_SHA384", "256", NULL, NULL, NULL, NULL, 'c', 'c'},
	/* 6: plaintext to corp.example: deferred */
	{"<f@other.example>", "x@corp.example", "192.0.2.6", PF, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, 'c', '4'},
	/* 7: TLSv1.2 to watch.example: the monitor rule would reject */
	{"<g@other.example>", "x@watch.example", "192.0.2.7", PF, "TLSv1.2",
	 "ECDHE-RSA-AES256-GCM-SHA384", "256", NULL, NULL, NULL, NULL, 'c',
	 'c'},
	/* 8: plaintext but authenticated: exempt by default */
	{"<h@other.example>", "x@corp.example", "192.0.2.8", PF, NULL, NULL,
	 NULL, NULL, NULL, NULL, "h@other.example", 'c', 'c'},
	/* 9: plaintext from the exempt network */
	{"<i@other.example>", "x@corp.example", "192.0.2.99", PF, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, 'c', 'c'},
};

static const char active_rules[] =
	"scope: {exempt_clients: [192.0.2.99/32]}\n"
	"senders:\n"
	"  bank.example: {tls: required, client_cert: verified, "
	"action: reject}\n"
	"recipients:\n"
	"  strict.example: {min_version: TLSv1.3, action: reject}\n"
	"  corp.example: {min_version: TLSv1.2, action: defer}\n"
	"  watch.example: {min_version: TLSv1.3, action: reject, "
	"mode: monitor}\n";

struct fx {
	struct hn_daemon d;
	char out[HN_PATH], err[HN_PATH];
	char draft[HN_PATH], redacted[HN_PATH], tampered[HN_PATH];
};

/* ============================================================ the log */

static int
send_macros(struct mt_conn *c, int cmd, const struct sess *s)
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
		{"{auth_authen}", cmd == SMFIC_MAIL || cmd == SMFIC_RCPT
					  ? (s->auth ? s->auth : "")
					  : NULL},
		{"{client_addr}", s->ip},
		/* the name verifies for the first session only */
		{"{client_name}", "client.example"},
		{"{client_resolve}",
		 strcmp(s->ip, "192.0.2.1") == 0 ? "OK" : "FORGED"},
		{"i", cmd == SMFIC_CONNECT || cmd == SMFIC_HELO ? NULL : "Q1"},
		{"{mail_addr}", s->sender},
		{"{rcpt_addr}", s->rcpt},
	};

	return mt_macros(c, cmd, m, NELEM(m)) < 0 ? -1 : 0;
}

static void
session(const struct fx *f, const struct sess *s)
{
	char to[132], err[256];
	const char *from = s->sender, *arg = to;
	struct mt_reply *r = calloc(1, sizeof(*r));
	struct mt_conn *c;
	char got;

	assert_non_null(r);
	snprintf(to, sizeof(to), "<%s>", s->rcpt);
	if ((c = mt_open(f->d.spec, 10000, err, sizeof(err))) == NULL)
		fail_msg("%s: %s", s->sender, err);
	if (mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0 ||
	    send_macros(c, SMFIC_CONNECT, s) < 0 ||
	    mt_connect(c, "client.example", SMFIA_INET, 25, s->ip, r) < 0 ||
	    send_macros(c, SMFIC_HELO, s) < 0 ||
	    mt_helo(c, "client.example", r) < 0 ||
	    send_macros(c, SMFIC_MAIL, s) < 0 || mt_mail(c, &from, 1, r) < 0)
		fail_msg("%s: %s", s->sender, mt_error(c));
	got = r->code == SMFIR_CONTINUE ? 'c' : r->text[0];
	if (got != s->at_mail)
		fail_msg("%s: MAIL got %s %s", s->sender, mt_code_name(r->code),
			 r->text);
	if (s->at_mail == 'c') {
		if (send_macros(c, SMFIC_RCPT, s) < 0 ||
		    mt_rcpt(c, &arg, 1, r) < 0)
			fail_msg("%s: %s", s->sender, mt_error(c));
		got = r->code == SMFIR_CONTINUE ? 'c' : r->text[0];
		if (got != s->at_rcpt)
			fail_msg("%s: RCPT got %s %s", s->sender,
				 mt_code_name(r->code), r->text);
		if (got == 'c' &&
		    (send_macros(c, SMFIC_DATA, s) < 0 || mt_data(c, r) < 0 ||
		     r->code != SMFIR_ACCEPT))
			fail_msg("%s: DATA: %s (%s)", s->sender, mt_error(c),
				 mt_code_name(r->code));
	}
	if (got != 'c' || s->at_mail != 'c')
		assert_int_equal(mt_abort(c), 0);
	assert_int_equal(mt_quit(c), 0);
	mt_close(c);
	free(r);
}

static void write_file(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
write_file(const char *path, const char *fmt, ...)
{
	va_list ap;
	FILE *p = fopen(path, "we");

	assert_non_null(p);
	va_start(ap, fmt);
	vfprintf(p, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(p), 0);
}

static int
setup(void **state)
{
	struct fx *f;
	struct al_log log;
	const char *files[1];
	size_t i;
	int ok;

	if (fx_setup(state, sizeof(struct fx), "always", 0) < 0)
		return -1;
	f = *state;
	files[0] = f->d.audit;
	snprintf(f->out, sizeof(f->out), "%s/out", f->d.dir);
	snprintf(f->err, sizeof(f->err), "%s/err", f->d.dir);
	snprintf(f->draft, sizeof(f->draft), "%s/draft.yaml", f->d.dir);
	snprintf(f->redacted, sizeof(f->redacted), "%s/redacted", f->d.dir);
	snprintf(f->tampered, sizeof(f->tampered), "%s/tampered", f->d.dir);
	write_file(f->d.policy,
		   "version: 1\n"
		   "milter: {strip_forged_headers: never}\n"
		   "audit: {file: %s, sync: always}\n%s",
		   f->d.audit, active_rules);
	if (hn_start(&f->d) < 0)
		return -1;
	for (i = 0; i < NELEM(sessions); i++)
		session(f, &sessions[i]);
	fx_stop(&f->d, NULL);
	fx_assert_log(&log, files, 1, NULL);
	ok = al_count_type(&log, "mail") == 1 &&
	     al_count_type(&log, "rcpt") == 2 &&
	     al_count_type(&log, "message") == 6;
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

/* ========================================================== the tool */

/* replay --format json [extra...] LOG with the draft, expecting `want`;
 * the parsed document stays in *jp. */
static const struct tlspa_jv *
replay(const struct fx *f, struct tlspa_json *jp, char **out, const char *log,
       const char *extra, int want)
{
	const char *args[] = {
		"replay", "--policy",	       f->draft,	   "--format",
		"json",	  extra ? extra : log, extra ? log : NULL, NULL};
	const struct tlspa_jv *doc;

	*out = fx_run(f->out, f->err, "tlspolicy-audit", NULL, args, want);
	memset(jp, 0, sizeof(*jp));
	doc = tlspa_json_parse(jp, *out, strlen(*out) - 1);
	if (doc == NULL)
		fail_msg("replay: not JSON: %s", *out);
	return doc;
}

static long long
num(const struct tlspa_jv *o, const char *key)
{
	const struct tlspa_jv *v = tlspa_jv_get(o, key);

	if (v == NULL || v->type != TLSPA_J_NUM || !v->is_int)
		fail_msg("no number %s", key);
	return (long long)v->i;
}

/* The count of transition from -> to, 0 when absent. */
static long long
transition(const struct tlspa_jv *doc, const char *from, const char *to)
{
	const struct tlspa_jv *t = tlspa_jv_get(doc, "transitions");

	for (t = t != NULL ? t->kids : NULL; t != NULL; t = t->next)
		if (tlspa_jv_is(tlspa_jv_get(t, "from"), from) &&
		    tlspa_jv_is(tlspa_jv_get(t, "to"), to))
			return num(t, "count");
	return 0;
}

static void
test_replay_active_changes_nothing(void **state)
{
	struct fx *f = *state;
	const struct tlspa_jv *doc, *cannot;
	struct tlspa_json jp;
	char *out;

	write_file(f->draft, "version: 1\n%s", active_rules);
	doc = replay(f, &jp, &out, f->d.audit, NULL, 0);
	assert_int_equal(num(doc, "records"), 9);
	assert_int_equal(num(doc, "decisions"), 9);
	assert_int_equal(num(doc, "unchanged"), 9);
	assert_int_equal(num(doc, "changed"), 0);
	cannot = tlspa_jv_get(doc, "cannot_replay");
	assert_non_null(cannot);
	if (cannot->kids != NULL)
		fail_msg("cannot replay a record of the daemon: %s", out);
	assert_true(tlspa_jv_get(tlspa_jv_get(doc, "evidence"), "verified")
			    ->type == TLSPA_J_TRUE);
	tlspa_json_free(&jp);
	free(out);
}

static void
test_replay_stricter_draft(void **state)
{
	struct fx *f = *state;
	const struct tlspa_jv *doc;
	struct tlspa_json jp;
	char *out;
	const char *args[] = {"replay", "--policy", f->draft, "--fail-on",
			      "reject", f->d.audit, NULL};

	/* TLSv1.3 for everyone, no sender rule, no exempt network */
	write_file(f->draft, "version: 1\nrecipients:\n"
			     "  default: {min_version: TLSv1.3, "
			     "action: reject}\n");
	doc = replay(f, &jp, &out, f->d.audit, NULL, 0);
	/* 1, 3, 5 (TLSv1.3 or refused already) and 8 (authenticated) */
	assert_int_equal(num(doc, "unchanged"), 4);
	assert_int_equal(num(doc, "changed"), 5);
	/* 4 (TLSv1.2), 7 (the monitor rule's), 9 (no exempt network) */
	assert_int_equal(transition(doc, "accept", "reject"), 3);
	assert_int_equal(transition(doc, "defer", "reject"), 1);
	/* 2: refused at MAIL, and the draft decides at RCPT */
	assert_int_equal(transition(doc, "reject", "recipients unknown"), 1);
	tlspa_json_free(&jp);
	free(out);
	/* the same for a deploy script: 3, saying why */
	free(fx_run(f->out, f->err, "tlspolicy-audit", NULL, args, 3));
	args[4] = "tag,quarantine";
	free(fx_run(f->out, f->err, "tlspolicy-audit", NULL, args, 0));
}

static void
test_replay_as_enforced(void **state)
{
	struct fx *f = *state;
	const struct tlspa_jv *doc, *t, *ex;
	struct tlspa_json jp;
	char *out;

	write_file(f->draft, "version: 1\n%s", active_rules);
	doc = replay(f, &jp, &out, f->d.audit, "--as-enforced", 0);
	assert_int_equal(num(doc, "changed"), 1);
	assert_int_equal(transition(doc, "accept", "reject"), 1);
	/* the example names the monitor rule and the session */
	t = tlspa_jv_get(doc, "transitions");
	ex = tlspa_jv_get(t->kids, "examples");
	assert_non_null(ex);
	assert_non_null(ex->kids);
	assert_string_equal(tlspa_jv_str(tlspa_jv_get(ex->kids, "rule")),
			    "recipient:watch.example");
	assert_string_equal(tlspa_jv_str(tlspa_jv_get(ex->kids,
						      "recipient_domain")),
			    "watch.example");
	tlspa_json_free(&jp);
	free(out);
}

static void
test_replay_looser_draft(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"replay",	      "--policy", f->draft, "--fail-on",
			      "reject,defer", f->d.audit, NULL};
	const struct tlspa_jv *doc;
	struct tlspa_json jp;
	char *out;

	write_file(f->draft, "version: 1\nrecipients:\n"
			     "  default: {tls: optional}\n");
	doc = replay(f, &jp, &out, f->d.audit, NULL, 0);
	assert_int_equal(transition(doc, "reject", "accept"), 1);
	assert_int_equal(transition(doc, "defer", "accept"), 1);
	assert_int_equal(transition(doc, "reject", "recipients unknown"), 1);
	assert_int_equal(num(doc, "changed"), 3);
	tlspa_json_free(&jp);
	free(out);
	/* nothing newly refused */
	free(fx_run(f->out, f->err, "tlspolicy-audit", NULL, args, 0));
	/* a sender rule that the refused session now meets lets it past
	 * MAIL, to recipients the record never saw */
	write_file(f->draft, "version: 1\nsenders:\n"
			     "  bank.example: {tls: required}\n");
	doc = replay(f, &jp, &out, f->d.audit, NULL, 0);
	assert_int_equal(transition(doc, "reject", "recipients unknown"), 1);
	assert_int_equal(transition(doc, "reject", "accept"), 1);
	tlspa_json_free(&jp);
	free(out);
}

/* A client_name rule: replayed from the record's client name and the
 * MTA's {client_resolve}, as the daemon would have judged it. */
static void
test_replay_client_name(void **state)
{
	struct fx *f = *state;
	const struct tlspa_jv *doc, *cannot;
	struct tlspa_json jp;
	char *out;

	write_file(f->draft, "version: 1\nrecipients:\n"
			     "  corp.example: {client_name: [client.example], "
			     "action: reject}\n");
	doc = replay(f, &jp, &out, f->d.audit, NULL, 0);
	cannot = tlspa_jv_get(doc, "cannot_replay");
	if (cannot == NULL || cannot->kids != NULL)
		fail_msg("%s", out);
	/* 1 verified: unchanged; 4 and 9 forged: refused; 6 deferred
	 * before, refused now; 8 authenticated: exempt */
	assert_int_equal(transition(doc, "accept", "reject"), 2);
	assert_int_equal(transition(doc, "defer", "reject"), 1);
	assert_int_equal(transition(doc, "reject", "accept"), 1);
	assert_int_equal(transition(doc, "reject", "recipients unknown"), 1);
	assert_int_equal(num(doc, "unchanged"), 4);
	tlspa_json_free(&jp);
	free(out);
}

static void
test_replay_redacted_sender(void **state)
{
	struct fx *f = *state;
	const char *redact[] = {"redact", "--value", "<five@other.example>",
				f->d.audit, NULL};
	const struct tlspa_jv *doc, *cannot;
	struct tlspa_json jp;
	char *out;

	out = fx_run(f->redacted, f->err, "tlspolicy-audit", NULL, redact, 0);
	free(out);
	write_file(f->draft, "version: 1\n%s", active_rules);
	doc = replay(f, &jp, &out, f->redacted, NULL, 0);
	cannot = tlspa_jv_get(doc, "cannot_replay");
	assert_int_equal(num(cannot, "the sender is redacted"), 1);
	assert_int_equal(num(doc, "unchanged"), 8);
	tlspa_json_free(&jp);
	free(out);
}

static void
test_replay_strict_and_bad_draft(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"replay", "--policy", f->draft, f->tampered,
			      NULL};
	const char *ignore[] = {"replay",	   "--policy",	f->draft,
				"--ignore-breaks", f->tampered, NULL};
	char *out, *log, *p;
	FILE *in;
	long n;

	/* one byte of a decision record changed: "Q1" -> "Q9" */
	assert_non_null(in = fopen(f->d.audit, "re"));
	assert_int_equal(fseek(in, 0, SEEK_END), 0);
	assert_true((n = ftell(in)) > 0);
	rewind(in);
	assert_non_null(log = malloc((size_t)n + 1));
	assert_int_equal(fread(log, 1, (size_t)n, in), (size_t)n);
	fclose(in);
	log[n] = '\0';
	assert_non_null(p = strstr(log, "\"queue_id\":\"Q1\""));
	p[strlen("\"queue_id\":\"Q")] = '9';
	in = fopen(f->tampered, "we");
	assert_non_null(in);
	assert_int_equal(fwrite(log, 1, (size_t)n, in), (size_t)n);
	assert_int_equal(fclose(in), 0);
	free(log);
	write_file(f->draft, "version: 1\n%s", active_rules);
	free(fx_run(f->out, f->err, "tlspolicy-audit", NULL, args, 1));
	out = fx_run(f->out, f->err, "tlspolicy-audit", NULL, ignore, 0);
	assert_non_null(strstr(out, "evidence: NOT VERIFIED"));
	free(out);
	/* a draft that does not compile: file:line:col, nothing replayed */
	write_file(f->draft, "version: 1\nrecipients:\n"
			     "  default: {tls: requird}\n");
	args[3] = f->d.audit;
	out = fx_run(f->out, f->err, "tlspolicy-audit", NULL, args, 2);
	assert_string_equal(out, "");
	free(out);
	assert_non_null(in = fopen(f->err, "re"));
	{
		char line[512], want[HN_PATH + 16];

		snprintf(want, sizeof(want), "%s:3:", f->draft);
		assert_non_null(fgets(line, sizeof(line), in));
		assert_true(strncmp(line, want, strlen(want)) == 0);
	}
	fclose(in);
}

static void
test_inventory_of_daemon_log(void **state)
{
	struct fx *f = *state;
	const char *args[] = {"inventory", "--format", "json", f->d.audit,
			      NULL};
	const struct tlspa_jv *doc, *s, *v;
	struct tlspa_json jp = {0};
	char *out = fx_run(f->out, f->err, "tlspolicy-audit", NULL, args, 0);

	assert_non_null(doc = tlspa_json_parse(&jp, out, strlen(out) - 1));
	assert_int_equal(num(doc, "records"), 9);
	s = tlspa_jv_get(doc, "senders");
	/* other.example first (7 records), then bank.example (2) */
	assert_string_equal(tlspa_jv_str(tlspa_jv_get(s->kids, "domain")),
			    "other.example");
	assert_int_equal(num(s->kids, "records"), 7);
	s = s->kids->next;
	assert_string_equal(tlspa_jv_str(tlspa_jv_get(s, "domain")),
			    "bank.example");
	assert_int_equal(num(s, "records"), 2);
	v = tlspa_jv_get(s, "tls_version");
	assert_int_equal(num(v, "TLSv1.3"), 1);
	assert_int_equal(num(v, "TLSv1.2"), 1);
	v = tlspa_jv_get(s, "client_cert");
	assert_int_equal(num(v, "verified"), 1);
	/* Sendmail's DN, as recorded */
	v = tlspa_jv_get(s, "subjects");
	assert_string_equal(tlspa_jv_str(tlspa_jv_get(v->kids, "value")),
			    "/CN=mx.bank.example");
	tlspa_json_free(&jp);
	free(out);
}

/* suggest -> the checker accepts it -> replayed as enforced over the
 * same log, it newly refuses or marks nothing */
static void
test_suggest_round_trip(void **state)
{
	struct fx *f = *state;
	const char *sug[] = {"suggest", "--min-messages", "1", "--min-days",
			     "1",	f->d.audit,	  NULL};
	const char *check[] = {"-c", f->draft, "-n", NULL};
	const char *rep[] = {"replay",	  "--policy",
			     f->draft,	  "--as-enforced",
			     "--fail-on", "reject,defer,quarantine,tag",
			     f->d.audit,  NULL};
	char *out = fx_run(f->draft, f->err, "tlspolicy-audit", NULL, sug, 0);

	/* bank.example: TLSv1.3 with a certificate, TLSv1.2 without */
	assert_non_null(strstr(out, "senders:\n"));
	assert_non_null(strstr(out, "  \"bank.example\":\n"
				    "    tls: required\n"
				    "    min_version: TLSv1.2\n"));
	/* other.example had plaintext sessions: no rule */
	assert_null(strstr(out, "\"other.example\":"));
	/* strict.example got TLSv1.2 and TLSv1.3 (the refused one too) */
	assert_non_null(strstr(out, "  \"strict.example\":\n"
				    "    tls: required\n"
				    "    min_version: TLSv1.2\n"));
	free(out);
	free(fx_run(f->out, f->err, "tlspolicy-milter", NULL, check, 0));
	out = fx_run(f->out, f->err, "tlspolicy-audit", NULL, rep, 0);
	/* what was accepted stays accepted (what was refused may not be:
	 * the draft is what the traffic met, refused sessions included) */
	if (strstr(out, "  accept -> ") != NULL ||
	    strstr(out, "cannot replay: 0") == NULL)
		fail_msg("%s", out);
	free(out);
}

/* Every record the daemon wrote here (mail, rcpt, message; both MTA
 * shapes; client_resolve, daemon_name, authenticated, mail_params) is
 * valid by the published schema, and the Python verifier accepts the
 * log. */
static void
test_daemon_records_match_schema(void **state)
{
	static const char check[] =
		"import json, sys, jsonschema\n"
		"s = json.load(open(sys.argv[1]))\n"
		"v = jsonschema.Draft202012Validator(s)\n"
		"n = 0\n"
		"for line in open(sys.argv[2], 'rb'):\n"
		"    r = json.loads(line.decode('utf-8', 'surrogateescape'))\n"
		"    for e in v.iter_errors(r):\n"
		"        sys.exit('seq %s: %s' % (r.get('seq'), e.message))\n"
		"    n += 1\n"
		"sys.exit(0 if n >= 13 else 'only %d records' % n)\n";
	struct fx *f = *state;
	const char *src = getenv("top_srcdir");
	char cmd[HN_PATH * 3 + sizeof(check) + 64];

	if (src == NULL ||
	    system("python3 -c 'import jsonschema' 2>/dev/null") != 0) {
		print_message("python3 with jsonschema, or top_srcdir, "
			      "missing: the schema cannot be checked\n");
		skip();
	}
	snprintf(cmd, sizeof(cmd),
		 "python3 -c \"%s\" '%s/contrib/audit/record.schema.json' "
		 "'%s' 1>&2",
		 check, src, f->d.audit);
	if (system(cmd) != 0)
		fail_msg("a record of the daemon does not match the schema");
	snprintf(cmd, sizeof(cmd),
		 "python3 '%s/contrib/audit/tlspolicy-verify.py' '%s' 1>&2",
		 src, f->d.audit);
	if (system(cmd) != 0)
		fail_msg("tlspolicy-verify.py rejects the daemon's log");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_active_changes_nothing),
		cmocka_unit_test(test_replay_stricter_draft),
		cmocka_unit_test(test_replay_as_enforced),
		cmocka_unit_test(test_replay_looser_draft),
		cmocka_unit_test(test_replay_client_name),
		cmocka_unit_test(test_replay_redacted_sender),
		cmocka_unit_test(test_replay_strict_and_bad_draft),
		cmocka_unit_test(test_inventory_of_daemon_log),
		cmocka_unit_test(test_suggest_round_trip),
		cmocka_unit_test(test_daemon_records_match_schema),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
