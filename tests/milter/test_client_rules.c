/*
 * test_client_rules.c - client_addr, client_name and pair rules through
 * the real daemon over its socket.
 *
 * Each row is one SMTP session as an MTA would present it: the client's
 * address (the connect packet), {client_name} and {client_resolve} in
 * Postfix's or Sendmail's shape (tests/e2e measured both), a sender and
 * one recipient. The row says what the daemon must answer at MAIL and
 * RCPT, and what the audit record of the decision must hold, byte for
 * byte: the rules that were evaluated, the one that decided, and the
 * failures, whose observed is null for the client's own requirements
 * (the address and name are the record's client member, redactable).
 * The daemon must also ask for {client_name} and {client_resolve} at
 * MAIL and RCPT, or a real MTA would never send them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"
#include "fixture.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PF "Postfix 3.7.11"
#define SM "8.17.1.9"

static const char policy_text[] =
	"version: 1\n"
	"milter: {authserv_id: mx.test.example, strip_forged_headers: never}\n"
	"audit: {file: %s, sync: always, addresses: full}\n"
	"senders:\n"
	"  partner.example:\n"
	"    client_addr: [192.0.2.0/24, \"2001:db8::/32\"]\n"
	"    client_name: [.partner.example]\n"
	"  solo.example: {client_addr: 192.0.2.0/24}\n"
	"recipients:\n"
	"  finance.example.com: {client_cert: verified}\n"
	"pairs:\n"
	"  partner.example:\n"
	"    finance.example.com:\n"
	"      client_addr: 198.51.100.7\n"
	"      client_name: mx.partner.example\n";

/*
 * One session. name/resolve NULL: the macro is not sent. mail/rcpt: the
 * reply code wanted (SMFIR_CONTINUE, or SMFIR_REPLYCODE with a 5xx);
 * record: the members of its audit record from "rules" to the end of
 * the verdict, exactly; "" when the decision is not to be recorded at
 * that stage.
 */
struct row {
	const char *label;
	const char *ip, *mta, *name, *resolve;
	const char *from, *to;
	int mail, rcpt;
	const char *record;
};

#define REF SMFIR_REPLYCODE
#define CONT SMFIR_CONTINUE
#define FAILS(rule, st, req, required)                                         \
	"{\"rule\":\"" rule "\",\"exempt\":false,\"status\":\"fail\","         \
	"\"action\":\"reject\",\"mode\":\"enforce\",\"failures\":["            \
	"{\"requirement\":\"" req "\",\"status\":\"" st                        \
	"\",\"required\":\"" required "\",\"observed\":null}]}"
#define PAIR "pair:partner.example>finance.example.com"

static const struct row rows[] = {
	{"postfix, verified name and address: through", "192.0.2.5", PF,
	 "mx1.partner.example", "OK", "s1@partner.example", "r1@other.example",
	 CONT, CONT, ""},
	{"postfix, PTR name not confirmed ({client_name} unknown)", "192.0.2.5",
	 PF, "unknown", "FORGED", "s2@partner.example", "r2@other.example",
	 CONT, REF,
	 FAILS("sender:partner.example", "fail", "client_name",
	       "verified, one of .partner.example")},
	{"sendmail FORGED, its {client_name} the PTR name: not believed",
	 "192.0.2.5", SM, "mx1.partner.example", "FORGED", "s3@partner.example",
	 "r3@other.example", CONT, REF,
	 FAILS("sender:partner.example", "fail", "client_name",
	       "verified, one of .partner.example")},
	{"sendmail without {client_resolve}: unknown, which fails", "192.0.2.5",
	 SM, "mx1.partner.example", NULL, "s4@partner.example",
	 "r4@other.example", CONT, REF,
	 FAILS("sender:partner.example", "unknown", "client_name",
	       "verified, one of .partner.example")},
	{"sendmail OK over IPv6", "2001:db8::25", SM, "mx1.partner.example",
	 "OK", "s5@partner.example", "r5@other.example", CONT, CONT, ""},
	{"address outside the networks", "203.0.113.9", PF,
	 "mx1.partner.example", "OK", "s6@partner.example", "r6@other.example",
	 CONT, REF,
	 FAILS("sender:partner.example", "fail", "client_addr",
	       "one of 192.0.2.0/24, 2001:db8::/32")},
	{"pair replaces both rules: passes from its own client", "198.51.100.7",
	 PF, "mx.partner.example", "OK", "s7@partner.example",
	 "r7@finance.example.com", CONT, CONT, ""},
	{"pair: the sender rule's client is not the pair's", "192.0.2.5", PF,
	 "mx.partner.example", "OK", "s8@partner.example",
	 "r8@finance.example.com", CONT, REF,
	 FAILS(PAIR, "fail", "client_addr", "one of 198.51.100.7/32")},
	{"a sender no pair names is refused at MAIL", "203.0.113.9", PF,
	 "mx.solo.example", "OK", "s9@solo.example", "r9@other.example", REF, 0,
	 FAILS("sender:solo.example", "fail", "client_addr",
	       "one of 192.0.2.0/24")},
};

struct fx {
	struct hn_daemon d;
};

static int
send_macros(struct mt_conn *c, int cmd, const struct row *w, const char *id)
{
	const struct mt_macro m[] = {
		{"j", "mx.test.example"},
		{"{daemon_name}", "smtpd"},
		{"v", w->mta},
		{"{tls_version}", "TLSv1.3"},
		{"{cipher}", "TLS_AES_256_GCM_SHA384"},
		{"{cipher_bits}", "256"},
		{"i", cmd == SMFIC_CONNECT || cmd == SMFIC_HELO ? NULL : id},
		{"{mail_addr}", w->from},
		{"{rcpt_addr}", w->to},
		{"{client_addr}", w->ip},
		{"{client_name}", w->name},
		{"{client_resolve}", w->resolve},
	};

	return mt_macros(c, cmd, m, NELEM(m)) < 0 ? -1 : 0;
}

/* The macro list asked for at a stage names the client's macros. */
static void
assert_asks(const struct mt_conn *c, int stage)
{
	const char *l = mt_symlist(c, stage);

	if (l == NULL || strstr(l, "{client_name}") == NULL ||
	    strstr(l, "{client_resolve}") == NULL)
		fail_msg("stage %d asks for \"%s\"", stage, l ? l : "(none)");
}

static void
session(const struct fx *f, const struct row *w, int i)
{
	char from[160], to[160], id[16], err[256];
	const char *fa = from, *ta = to;
	struct mt_reply *r = calloc(1, sizeof(*r));
	struct mt_conn *c;
	int family = strchr(w->ip, ':') ? SMFIA_INET6 : SMFIA_INET;

	assert_non_null(r);
	snprintf(from, sizeof(from), "<%s>", w->from);
	snprintf(to, sizeof(to), "<%s>", w->to);
	snprintf(id, sizeof(id), "Q%d", i);
	if ((c = mt_open(f->d.spec, 10000, err, sizeof(err))) == NULL)
		fail_msg("%s: %s", w->label, err);
	if (mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0)
		fail_msg("%s: %s", w->label, mt_error(c));
	assert_asks(c, SMFIM_ENVFROM);
	assert_asks(c, SMFIM_ENVRCPT);
	if (send_macros(c, SMFIC_CONNECT, w, id) < 0 ||
	    mt_connect(c, "client.example", family, 25, w->ip, r) < 0 ||
	    send_macros(c, SMFIC_HELO, w, id) < 0 ||
	    mt_helo(c, "client.example", r) < 0 ||
	    send_macros(c, SMFIC_MAIL, w, id) < 0 || mt_mail(c, &fa, 1, r) < 0)
		fail_msg("%s: %s", w->label, mt_error(c));
	if (r->code != w->mail ||
	    (w->mail == REF && strncmp(r->text, "550", 3) != 0))
		fail_msg("%s: MAIL got %s %s", w->label, mt_code_name(r->code),
			 r->text);
	if (w->mail == CONT) {
		if (send_macros(c, SMFIC_RCPT, w, id) < 0 ||
		    mt_rcpt(c, &ta, 1, r) < 0)
			fail_msg("%s: %s", w->label, mt_error(c));
		if (r->code != w->rcpt ||
		    (w->rcpt == REF && strncmp(r->text, "550", 3) != 0))
			fail_msg("%s: RCPT got %s %s", w->label,
				 mt_code_name(r->code), r->text);
	}
	if (w->mail == CONT && w->rcpt == CONT &&
	    (send_macros(c, SMFIC_DATA, w, id) < 0 || mt_data(c, r) < 0 ||
	     r->code != SMFIR_ACCEPT))
		fail_msg("%s: DATA got %s %s", w->label, mt_code_name(r->code),
			 r->text);
	else if (w->mail != CONT || w->rcpt != CONT)
		assert_int_equal(mt_abort(c), 0);
	assert_int_equal(mt_quit(c), 0);
	mt_close(c);
	free(r);
}

/* The whole log, read once the daemon stopped. */
static char *
slurp(const char *path)
{
	FILE *in = fopen(path, "re");
	char *buf;
	long n;

	assert_non_null(in);
	assert_int_equal(fseek(in, 0, SEEK_END), 0);
	n = ftell(in);
	assert_true(n > 0);
	rewind(in);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, in), (size_t)n);
	buf[n] = '\0';
	fclose(in);
	return buf;
}

/* The one line of the log naming `token`; NULL if none or several. */
static char *
line_with(char *log, const char *token, char *out, size_t outsz)
{
	char *hit = strstr(log, token), *start, *end;

	if (hit == NULL || strstr(hit + 1, token) != NULL)
		return NULL;
	for (start = hit; start > log && start[-1] != '\n'; start--)
		;
	end = strchr(hit, '\n');
	if (end == NULL || (size_t)(end - start) >= outsz)
		return NULL;
	memcpy(out, start, (size_t)(end - start));
	out[end - start] = '\0';
	return out;
}

static void
test_client_rules(void **state)
{
	struct fx *f = *state;
	const char *files[1] = {f->d.audit};
	struct al_log log;
	char *text, line[8192], tok[200];
	size_t i;

	for (i = 0; i < NELEM(rows); i++)
		session(f, &rows[i], (int)i);
	fx_stop(&f->d, NULL);
	fx_assert_log(&log, files, 1, NULL);
	al_free(&log);
	text = slurp(f->d.audit);
	for (i = 0; i < NELEM(rows); i++) {
		const struct row *w = &rows[i];

		if (w->record[0] == '\0')
			continue;
		/* a refusal's record names its address once */
		snprintf(tok, sizeof(tok), "<%s>",
			 w->mail == REF ? w->from : w->to);
		if (line_with(text, tok, line, sizeof(line)) == NULL)
			fail_msg("%s: no one record with %s", w->label, tok);
		snprintf(tok, sizeof(tok), "\"rules\":[%s]", w->record);
		if (strstr(line, tok) == NULL)
			fail_msg("%s: want %s in\n%s", w->label, tok, line);
	}
	free(text);
}

static int
setup(void **state)
{
	struct fx *f;
	FILE *p;

	if (fx_setup(state, sizeof(struct fx), "always", 0) < 0)
		return -1;
	f = *state;
	if ((p = fopen(f->d.policy, "we")) == NULL)
		return -1;
	fprintf(p, policy_text, f->d.audit);
	return fclose(p) != 0 || hn_start(&f->d) < 0 ? -1 : 0;
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_rules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
