/*
 * decide.c - from facts to an action, at MAIL, RCPT, DATA and EOM.
 *
 * Sender rules decide at MAIL; recipient rules decide per recipient at
 * RCPT with their own reply; tag and quarantine act on the whole message
 * at EOM, and a message with nothing left to do is accepted at DATA.
 * Every decision is logged and recorded (record.c) before act.c carries
 * it out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "act.h"
#include "decide.h"
#include "log.h"
#include "macros.h"
#include "metrics.h"
#include "record.h"
#include "state.h"

static int
refuses(const struct tlsp_verdict *v)
{
	return v->action == TLSP_ACTION_REJECT ||
	       v->action == TLSP_ACTION_DEFER;
}

/* strip_forged_headers: mta trusts the MTA to remove incoming copies of
 * our header; Sendmail has nothing that does. */
static void
warn_mta_strip(const struct tlspm_session *s)
{
	if (s->st->strip_forged == TLSP_STRIP_MTA &&
	    s->facts.mta == TLSP_MTA_SENDMAIL &&
	    tlspm_log_rate_ok(&tlspm.warned_mta_strip))
		tlspm_log(LOG_WARNING,
			  "strip_forged_headers: mta, but the MTA is "
			  "Sendmail, which cannot remove incoming %s headers: "
			  "forged copies reach the mailbox; use auto or always",
			  tlspm_act_tag_header(s));
}

sfsistat
tlspm_decide_mail(SMFICTX *ctx, struct tlspm_session *s, char *const *argv)
{
	const char *sender = argv[0];
	struct tlsp_verdict v;
	uint64_t t0 = tlspm_metrics_clock();
	sfsistat rc;

	tlspm_session_begin_tx(s);
	tlspm_session_mail_params(s, argv + 1);
	s->sender = strdup(sender);
	if (s->sender == NULL)
		return tlspm_act_on_error(ctx, s, "out of memory at MAIL");
	tlspm_macros_queue_id(ctx, s);
	if (tlspm_macros_read_facts(ctx, s, "{mail_addr}") < 0)
		return tlspm_act_on_error(ctx, s, "TLS state unknown at MAIL");
	warn_mta_strip(s);
	if (!tlsp_evaluate_sender(s->policy, &s->facts, sender, s->tx_time, &v))
		return SMFIS_CONTINUE;
	tlspm_record_line(s, "mail", sender, &v, v.reply);
	rc = refuses(&v) ? tlspm_act_refuse(ctx, s, TLSP_EV_MAIL, sender, &v)
			 : SMFIS_CONTINUE;
	tlspm_metrics_decision(TLSPM_STAGE_MAIL, &v, s->facts.version, sender,
			       s->client_addr, tlspm_session_logid(s), t0);
	return rc;
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
	    tlspm_log_rate_ok(&tlspm.warned_nocert))
		tlspm_log(
			LOG_WARNING,
			"client certificate rules have failed %lu "
			"TLS sessions and no client certificate was ever seen: "
			"Postfix needs smtpd_tls_ask_ccert = yes and "
			"smtpd_tls_CAfile; Sendmail needs {cert_subject} and "
			"{verify} in its macro lists",
			n);
}

sfsistat
tlspm_decide_rcpt(SMFICTX *ctx, struct tlspm_session *s, const char *rcpt)
{
	struct tlsp_verdict v;
	uint64_t t0 = tlspm_metrics_clock();
	sfsistat rc = SMFIS_CONTINUE;

	tlspm_macros_queue_id(ctx, s);
	if (tlspm_macros_read_facts(ctx, s, "{rcpt_addr}") < 0)
		return tlspm_act_on_error(ctx, s, "TLS state unknown at RCPT");
	tlsp_evaluate(s->policy, &s->facts, s->sender, rcpt, s->tx_time, &v);
	watch_certificates(s, &v);
	tlspm_record_line(s, "rcpt", rcpt, &v, v.reply);
	if (refuses(&v))
		rc = tlspm_act_refuse(ctx, s, TLSP_EV_RCPT, rcpt, &v);
	tlspm_metrics_decision(TLSPM_STAGE_RCPT, &v, s->facts.version,
			       s->sender, s->client_addr,
			       tlspm_session_logid(s), t0);
	/* on_error: accept let a refusal through unrecorded: it must still
	 * count in the message's record and actions. */
	if (rc != SMFIS_CONTINUE)
		return rc;
	if (tlspm_session_add_rcpt(s, rcpt, &v) < 0)
		return tlspm_act_on_error(ctx, s, "out of memory at RCPT");
	return SMFIS_CONTINUE;
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
	struct tlsp_verdict *vs = n > SIZE_MAX / sizeof(*vs)
					  ? NULL
					  : malloc(n * sizeof(*vs));

	for (i = 0; vs && i < s->nrcpts; i++)
		tlsp_evaluate(s->policy, &s->facts, s->sender, s->rcpts[i].addr,
			      s->tx_time, &vs[i]);
	return vs;
}

sfsistat
tlspm_decide_data(SMFICTX *ctx, struct tlspm_session *s)
{
	enum tlsp_action act, would;
	struct tlsp_verdict *vs;
	sfsistat rc = SMFIS_ACCEPT;

	tlspm_macros_queue_id(ctx, s);
	message_action(s, &act, &would);
	if (act != TLSP_ACTION_ACCEPT || tlspm_act_strips_headers(s))
		return SMFIS_CONTINUE;
	/* Nothing left to do: record the message and leave the rest of the
	 * transaction to the MTA. */
	vs = evaluate_all(s);
	if (vs == NULL)
		return tlspm_act_on_error(ctx, s, "out of memory at DATA");
	if (tlspm_record_message(s, vs, act, would) < 0)
		rc = tlspm_act_unrecorded(ctx, s, "the message");
	free(vs);
	if (rc == SMFIS_CONTINUE) /* on_error: accept */
		rc = SMFIS_ACCEPT;
	if (rc == SMFIS_ACCEPT)
		tlspm_session_reset_tx(s);
	return rc;
}

sfsistat
tlspm_decide_eom(SMFICTX *ctx, struct tlspm_session *s)
{
	enum tlsp_action act, would;
	struct tlsp_verdict *vs;
	sfsistat rc = SMFIS_ACCEPT;

	tlspm_macros_queue_id(ctx, s);
	message_action(s, &act, &would);
	vs = evaluate_all(s);
	if (vs == NULL)
		return tlspm_act_on_error(ctx, s,
					  "out of memory at end of message");
	if (tlspm_act_strips_headers(s) && tlspm_act_strip(ctx, s) < 0)
		rc = tlspm_act_on_error(ctx, s,
					"the MTA refused to remove a header");
	else if (act >= TLSP_ACTION_TAG && tlspm_act_mark(ctx, s, vs, act) < 0)
		rc = tlspm_act_on_error(ctx, s,
					"the MTA refused to tag or quarantine");
	/* Whatever went out (on_error: accept included) is recorded. */
	if (rc == SMFIS_ACCEPT || rc == SMFIS_CONTINUE) {
		if (tlspm_record_message(s, vs, act, would) < 0)
			rc = tlspm_act_unrecorded(ctx, s, "the message");
	}
	if (rc == SMFIS_ACCEPT && act >= TLSP_ACTION_TAG)
		tlspm_log(LOG_INFO, "%s: message %s", tlspm_session_logid(s),
			  act == TLSP_ACTION_QUARANTINE ? "quarantined"
							: "tagged");
	free(vs);
	tlspm_session_reset_tx(s);
	return rc == SMFIS_CONTINUE ? SMFIS_ACCEPT : rc;
}
