/*
 * decide.c - from macros to an action, at MAIL, RCPT, DATA and EOM.
 *
 * The TLS facts are read when deciding, never cached from HELO (the first
 * EHLO precedes STARTTLS). Recipient rules decide per recipient at RCPT
 * with their own reply; tag and quarantine act on the whole message at
 * EOM. A decision that cannot be recorded is not taken: on_error is.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "milter.h"

static const char *
sym(SMFICTX *ctx, const char *name)
{
	return tlspm_smfi->getsymval(ctx, name);
}

int
tlspm_rate_ok(_Atomic(long) *last)
{
	long now = (long)time(NULL), prev = atomic_load(last);

	return now - prev >= 3600 && atomic_compare_exchange_strong(last, &prev, now);
}

static void
warn_blind(const char *sentinel)
{
	if (!tlspm_rate_ok(&tlspm.warned_blind))
		return;
	tlspm_log(LOG_WARNING,
		  "the MTA sent no %s: the TLS macros of this stage cannot be "
		  "trusted, so on_error applies. Postfix: set milter_mail_macros "
		  "= i {mail_addr} {auth_authen} {tls_version} {cipher} "
		  "{cipher_bits} {cert_subject} {cert_issuer} and "
		  "milter_rcpt_macros = i {rcpt_addr} {tls_version} {cipher} "
		  "{cipher_bits} {cert_subject} {cert_issuer}. Sendmail: "
		  "define(`confMILTER_MACROS_ENVFROM', `i, {mail_addr}, "
		  "{auth_authen}, {tls_version}, {cipher}, {cipher_bits}, "
		  "{cert_subject}, {cert_issuer}, {verify}, {cert_fp}')",
		  sentinel);
}

static void
warn_config(const struct tlsp_facts *f)
{
	if (f->mta == TLSP_MTA_SENDMAIL && f->subject_seen && !f->verify_seen &&
	    tlspm_rate_ok(&tlspm.warned_verify))
		tlspm_log(LOG_WARNING, "Sendmail sends {cert_subject} but not "
			  "{verify}: add {verify} to confMILTER_MACROS_HELO, or "
			  "certificate verification stays unknown");
}

int
tlspm_read_facts(SMFICTX *ctx, struct tlspm_session *s, const char *sentinel)
{
	struct tlsp_macros m;

	if (sentinel && sym(ctx, sentinel) == NULL) {
		warn_blind(sentinel);
		return -1;
	}
	/* TLS cannot start or change inside a transaction (STARTTLS is
	 * refused there, and resets the session): what showed TLS at MAIL
	 * holds for every RCPT. A transaction that looked plaintext is read
	 * again, for an MTA that sends the TLS macros only with RCPT. */
	if (s->in_tx && s->facts.version != TLSP_VER_NONE)
		return 0;
	memset(&m, 0, sizeof(m));
	m.mta_version = sym(ctx, "v");
	m.tls_version = sym(ctx, "{tls_version}");
	m.cipher = sym(ctx, "{cipher}");
	m.cipher_bits = sym(ctx, "{cipher_bits}");
	m.cert_subject = sym(ctx, "{cert_subject}");
	m.cert_issuer = sym(ctx, "{cert_issuer}");
	m.verify = sym(ctx, "{verify}");
	m.cert_fp = sym(ctx, "{cert_fp}");
	if (m.cert_fp == NULL)
		m.cert_fp = sym(ctx, "{cert_md5}");
	m.auth_authen = sym(ctx, "{auth_authen}");
	m.daemon_name = sym(ctx, "{daemon_name}");
	m.client_addr = s->client_addr;
	tlsp_facts_from_macros(&m, &s->facts);
	warn_config(&s->facts);
	return 0;
}

/* The queue id arrives at DATA or EOM on Postfix, earlier on Sendmail;
 * once known it holds for the transaction. */
static void
update_queue_id(SMFICTX *ctx, struct tlspm_session *s)
{
	const char *i;

	if (s->queue_id[0])
		return;
	i = sym(ctx, "i");

	if (i && i[0])
		tlsp_escape(i, strlen(i), s->queue_id, sizeof(s->queue_id));
}

/* Hands "550 5.7.1 text" to libmilter, which takes the text as a format:
 * every '%' goes out as "%%". */
static int
set_reply(SMFICTX *ctx, const char *reply)
{
	char code[4], xcode[16] = "", text[2048];
	const char *p = reply + 4;
	size_t j = 0, n;

	if (strlen(reply) < 5)
		return -1;
	memcpy(code, reply, 3);
	code[3] = '\0';
	n = strspn(p, "0123456789.");
	if (n > 0 && n < sizeof(xcode) && p[n] == ' ') {
		memcpy(xcode, p, n);
		xcode[n] = '\0';
		p += n + 1;
	}
	for (; *p && j + 2 < sizeof(text); p++) {
		if (*p == '%')
			text[j++] = '%';
		text[j++] = *p;
	}
	text[j] = '\0';
	return tlspm_smfi->setreply(ctx, code, xcode[0] ? xcode : NULL, text) ==
		       MI_SUCCESS ? 0 : -1;
}

sfsistat
tlspm_on_error(SMFICTX *ctx, const struct tlspm_session *s, const char *why)
{
	enum tlsp_on_error oe = s ? s->st->on_error : TLSP_ON_ERROR_TEMPFAIL;
	const char *id = s ? tlspm_session_logid(s) : "-";

	switch (oe) {
	case TLSP_ON_ERROR_REJECT:
		tlspm_log(LOG_ERR, "%s: %s; on_error=reject", id, why);
		set_reply(ctx, "550 5.7.0 TLS policy could not be applied");
		return SMFIS_REJECT;
	case TLSP_ON_ERROR_ACCEPT:
		tlspm_log(LOG_CRIT, "%s: %s; on_error=accept: letting it "
			  "through unchecked", id, why);
		return SMFIS_CONTINUE;
	default:
		tlspm_log(LOG_ERR, "%s: %s; on_error=tempfail", id, why);
		set_reply(ctx, "451 4.7.0 TLS policy check unavailable, try "
			       "again later");
		return SMFIS_TEMPFAIL;
	}
}

/* A decision that could not be recorded: on_error, with the audit
 * sink's own error in the log line. */
static sfsistat
unrecorded(SMFICTX *ctx, struct tlspm_session *s, const char *what)
{
	char why[400], err[256];

	snprintf(why, sizeof(why), "audit: cannot record %s: %s", what,
		 tlsp_audit_last_error(tlspm.audit, err, sizeof(err)));
	return tlspm_on_error(ctx, s, why);
}

/* Refuses with the verdict's reply once the refusal is recorded. */
static sfsistat
refuse(SMFICTX *ctx, struct tlspm_session *s, enum tlsp_event_type type,
       const char *addr, const struct tlsp_verdict *v)
{
	if (tlspm_record_refusal(s, type, addr, v, v->reply) < 0)
		return unrecorded(ctx, s, v->action == TLSP_ACTION_REJECT
						  ? "a reject"
						  : "a defer");
	if (set_reply(ctx, v->reply) < 0)
		tlspm_log(LOG_ERR, "%s: the MTA refused the reply \"%s\"",
			  tlspm_session_logid(s), v->reply);
	return v->action == TLSP_ACTION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

static int
refuses(const struct tlsp_verdict *v)
{
	return v->action == TLSP_ACTION_REJECT || v->action == TLSP_ACTION_DEFER;
}

sfsistat
tlspm_decide_mail(SMFICTX *ctx, struct tlspm_session *s, const char *sender)
{
	struct tlsp_verdict v;

	tlspm_session_begin_tx(s);
	s->sender = strdup(sender);
	if (s->sender == NULL)
		return tlspm_on_error(ctx, s, "out of memory at MAIL");
	update_queue_id(ctx, s);
	if (tlspm_read_facts(ctx, s, "{mail_addr}") < 0)
		return tlspm_on_error(ctx, s, "TLS state unknown at MAIL");
	if (!tlsp_evaluate_sender(s->policy, &s->facts, sender, &v))
		return SMFIS_CONTINUE;
	tlspm_log_decision(s, "mail", sender, &v, v.reply);
	return refuses(&v) ? refuse(ctx, s, TLSP_EV_MAIL, sender, &v)
			   : SMFIS_CONTINUE;
}

/* Certificate rules that keep failing on TLS sessions which never show
 * a certificate: Postfix does not ask for one unless told to. */
static void
watch_certificates(const struct tlspm_session *s, const struct tlsp_verdict *v)
{
	unsigned long n;
	size_t i, j;

	if (s->facts.version == TLSP_VER_NONE)
		return;
	if (s->facts.subject_seen && s->facts.subject_cn[0])
		atomic_fetch_add(&tlspm.certs_seen, 1);
	for (i = 0; i < v->nrules; i++)
		for (j = 0; j < v->r[i].nfail; j++)
			if (v->r[i].fail[j].req == TLSP_REQ_CLIENT_CERT)
				goto counted;
	return;
counted:
	n = atomic_fetch_add(&tlspm.tls_cert_rule_sessions, 1) + 1;
	if (n >= 20 && atomic_load(&tlspm.certs_seen) == 0 &&
	    tlspm_rate_ok(&tlspm.warned_nocert))
		tlspm_log(LOG_WARNING, "client certificate rules have failed %lu "
			  "TLS sessions and no client certificate was ever seen: "
			  "Postfix needs smtpd_tls_ask_ccert = yes and "
			  "smtpd_tls_CAfile; Sendmail needs {cert_subject} and "
			  "{verify} in its macro lists", n);
}

sfsistat
tlspm_decide_rcpt(SMFICTX *ctx, struct tlspm_session *s, const char *rcpt)
{
	struct tlsp_verdict v;

	update_queue_id(ctx, s);
	if (tlspm_read_facts(ctx, s, "{rcpt_addr}") < 0)
		return tlspm_on_error(ctx, s, "TLS state unknown at RCPT");
	tlsp_evaluate(s->policy, &s->facts, s->sender, rcpt, &v);
	watch_certificates(s, &v);
	tlspm_log_decision(s, "rcpt", rcpt, &v, v.reply);
	if (refuses(&v)) {
		sfsistat rc = refuse(ctx, s, TLSP_EV_RCPT, rcpt, &v);

		/* on_error: accept let it through unrecorded: it must still
		 * count in the message's record and actions. */
		if (rc != SMFIS_CONTINUE)
			return rc;
	}
	if (tlspm_session_add_rcpt(s, rcpt, &v) < 0)
		return tlspm_on_error(ctx, s, "out of memory at RCPT");
	return SMFIS_CONTINUE;
}

int
tlspm_strips_headers(const struct tlspm_session *s)
{
	unsigned marks = (1u << TLSP_ACTION_TAG) | (1u << TLSP_ACTION_QUARANTINE);

	if (s->st->strip_forged >= 0)
		return s->st->strip_forged;
	return (tlsp_policy_actions(s->policy) & marks) != 0;
}

const char *
tlspm_tag_header(const struct tlspm_session *s)
{
	return s->st->tag_header ? s->st->tag_header : "X-TLS-Policy";
}

/* The message-wide action: the strictest of the accepted recipients'. */
static void
message_action(const struct tlspm_session *s, enum tlsp_action *act,
	       enum tlsp_action *would)
{
	size_t i;

	*act = *would = TLSP_ACTION_ACCEPT;
	for (i = 0; i < s->nrcpts; i++) {
		*act = tlsp_action_max(*act, s->rcpts[i].action);
		*would = tlsp_action_max(*would, s->rcpts[i].would);
	}
}

/*
 * The verdict of every accepted recipient, again: evaluation is pure, so
 * the same pinned policy and facts give what each got at RCPT, without
 * storing a verdict per recipient. The caller frees the array; NULL when
 * out of memory.
 */
static struct tlsp_verdict *
evaluate_all(const struct tlspm_session *s)
{
	/* not calloc: a verdict is 8 KiB, and tlsp_evaluate sets what is read */
	size_t i, n = s->nrcpts ? s->nrcpts : 1;
	struct tlsp_verdict *vs =
	    n > SIZE_MAX / sizeof(*vs) ? NULL : malloc(n * sizeof(*vs));

	for (i = 0; vs && i < s->nrcpts; i++)
		tlsp_evaluate(s->policy, &s->facts, s->sender, s->rcpts[i].addr,
			      &vs[i]);
	return vs;
}

sfsistat
tlspm_decide_data(SMFICTX *ctx, struct tlspm_session *s)
{
	enum tlsp_action act, would;
	struct tlsp_verdict *vs;
	sfsistat rc = SMFIS_ACCEPT;

	update_queue_id(ctx, s);
	message_action(s, &act, &would);
	if (act != TLSP_ACTION_ACCEPT || tlspm_strips_headers(s))
		return SMFIS_CONTINUE;
	/* Nothing left to do: record the message and leave the rest of the
	 * transaction to the MTA. */
	vs = evaluate_all(s);
	if (vs == NULL)
		return tlspm_on_error(ctx, s, "out of memory at DATA");
	if (tlspm_record_message(s, vs, act, would) < 0)
		rc = unrecorded(ctx, s, "the message");
	free(vs);
	if (rc == SMFIS_CONTINUE) /* on_error: accept */
		rc = SMFIS_ACCEPT;
	if (rc == SMFIS_ACCEPT)
		tlspm_session_reset_tx(s);
	return rc;
}

/* Copies a value into a header as a token: anything else becomes '?'. */
static void
token(char *dst, size_t dstsz, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < dstsz; i++)
		dst[i] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
				"XYZ0123456789._-", src[i]) ? src[i] : '?';
	dst[i] = '\0';
}

/* Appends `word` to a comma list unless it is there already. */
static void
list_add(char *buf, size_t bufsz, const char *word)
{
	size_t len = strlen(buf), wl = strlen(word);
	const char *p;

	for (p = strstr(buf, word); p; p = strstr(p + 1, word))
		if ((p == buf || p[-1] == ',') && (p[wl] == ',' || p[wl] == '\0'))
			return;
	if (len + wl + 2 < bufsz)
		snprintf(buf + len, bufsz - len, "%s%s", len ? "," : "", word);
}

/* Whether every verdict evaluated rule r (so naming it tells no
 * recipient about another: a Bcc recipient's domain stays hidden). */
static int
shared_by_all(const struct tlsp_rule *r, const struct tlsp_verdict *vs, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < vs[i].nrules && vs[i].r[j].rule != r; j++)
			;
		if (j == vs[i].nrules)
			return 0;
	}
	return 1;
}

/* The rules that marked the message and what they found wanting. A rule
 * not shared by every recipient is withheld from the header (the audit
 * record has it); its failures are still listed. */
struct marks {
	char all[512];	  /* every rule: for the quarantine reason */
	char shown[512];  /* the rules every recipient shares: the header */
	char failed[256];
};

static void
marks(const struct tlsp_verdict *vs, size_t n, struct marks *m)
{
	size_t i, j, k;

	m->all[0] = m->shown[0] = m->failed[0] = '\0';
	for (i = 0; i < n; i++)
		for (j = 0; j < vs[i].nrules; j++) {
			const struct tlsp_rule_result *r = &vs[i].r[j];

			if (r->status != TLSP_FAIL || r->mode != TLSP_MODE_ENFORCE ||
			    r->action < TLSP_ACTION_TAG)
				continue;
			list_add(m->all, sizeof(m->all), tlsp_rule_name(r->rule));
			if (shared_by_all(r->rule, vs, n))
				list_add(m->shown, sizeof(m->shown),
					 tlsp_rule_name(r->rule));
			for (k = 0; k < r->nfail; k++)
				list_add(m->failed, sizeof(m->failed),
					 tlsp_req_name(r->fail[k].req));
		}
}

/* The tag header: policy values and sanitised TLS facts, never an
 * address (it would leak Bcc recipients). */
static void
tag_value(const struct tlspm_session *s, const char *rules, const char *failed,
	  enum tlsp_action act, char *buf, size_t bufsz)
{
	const struct tlsp_facts *f = &s->facts;
	static const char *const cert_tokens[] = {
	    [TLSP_CERT_UNKNOWN] = "unknown",
	    [TLSP_CERT_NONE] = "none",
	    [TLSP_CERT_PRESENTED] = "presented",
	    [TLSP_CERT_PRESENTED_UNKNOWN] = "presented-unchecked",
	    [TLSP_CERT_NOT_VERIFIED] = "not-verified",
	    [TLSP_CERT_VERIFIED] = "verified",
	};
	char ver[40], cipher[130], bits[16] = "unknown";
	const char *id = s->st->authserv_id ? s->st->authserv_id : tlspm.hostname;
	int b = f->cipher_bits >= 0 ? f->cipher_bits : f->cipher_info.bits;

	token(ver, sizeof(ver), f->version == TLSP_VER_NONE ? "none" : f->version_raw);
	token(cipher, sizeof(cipher), f->cipher[0] ? f->cipher : "none");
	if (b >= 0)
		snprintf(bits, sizeof(bits), "%d", b);
	snprintf(buf, bufsz, "%s; tls-policy=fail action=%s rules=%s "
		 "failed=%s; tls=%s cipher=%s bits=%s cert=%s", id,
		 tlsp_action_name(act), rules[0] ? rules : "withheld",
		 failed[0] ? failed : "none", ver, cipher, bits,
		 cert_tokens[f->cert]);
}

/* Removes incoming copies of our header, so a sender cannot forge one. */
static int
strip(SMFICTX *ctx, struct tlspm_session *s)
{
	const char *name = tlspm_tag_header(s);
	unsigned i;

	for (i = s->forged; i >= 1; i--)
		if (tlspm_smfi->chgheader(ctx, name, (int)i, NULL) != MI_SUCCESS)
			return -1;
	if (s->forged)
		tlspm_log(LOG_NOTICE, "%s: removed %u incoming %s header%s",
			  tlspm_session_logid(s), s->forged, name,
			  s->forged == 1 ? "" : "s");
	return 0;
}

static int
mark_message(SMFICTX *ctx, struct tlspm_session *s, const struct tlsp_verdict *vs,
	     enum tlsp_action act)
{
	struct marks m;
	char value[900], reason[800];

	marks(vs, s->nrcpts, &m);
	tag_value(s, m.shown, m.failed, act, value, sizeof(value));
	if (tlspm_smfi->insheader(ctx, 0, tlspm_tag_header(s), value) !=
	    MI_SUCCESS)
		return -1;
	if (act != TLSP_ACTION_QUARANTINE)
		return 0;
	snprintf(reason, sizeof(reason), "tlspolicy: rules %s failed %s", m.all,
		 m.failed[0] ? m.failed : "none");
	return tlspm_smfi->quarantine(ctx, reason) == MI_SUCCESS ? 0 : -1;
}

sfsistat
tlspm_decide_eom(SMFICTX *ctx, struct tlspm_session *s)
{
	enum tlsp_action act, would;
	struct tlsp_verdict *vs;
	sfsistat rc = SMFIS_ACCEPT;

	update_queue_id(ctx, s);
	message_action(s, &act, &would);
	vs = evaluate_all(s);
	if (vs == NULL)
		return tlspm_on_error(ctx, s, "out of memory at end of message");
	if (tlspm_strips_headers(s) && strip(ctx, s) < 0)
		rc = tlspm_on_error(ctx, s, "the MTA refused to remove a header");
	else if (act >= TLSP_ACTION_TAG && mark_message(ctx, s, vs, act) < 0)
		rc = tlspm_on_error(ctx, s, "the MTA refused to tag or quarantine");
	/* Whatever went out (on_error: accept included) is recorded. */
	if (rc == SMFIS_ACCEPT || rc == SMFIS_CONTINUE) {
		if (tlspm_record_message(s, vs, act, would) < 0)
			rc = unrecorded(ctx, s, "the message");
	}
	if (rc == SMFIS_ACCEPT && act >= TLSP_ACTION_TAG)
		tlspm_log(LOG_INFO, "%s: message %s", tlspm_session_logid(s),
			  act == TLSP_ACTION_QUARANTINE ? "quarantined" : "tagged");
	free(vs);
	tlspm_session_reset_tx(s);
	return rc == SMFIS_CONTINUE ? SMFIS_ACCEPT : rc;
}
