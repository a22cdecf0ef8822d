/*
 * record.c - what a decision leaves behind: one key=value log line per
 * recipient, and an audit event.
 *
 * The session keeps values from the network (addresses, client name,
 * HELO, queue id, and in its facts the TLS macro values) as they were
 * sent; each sink escapes them once: the log line here
 * (tlsp_escape_log), the audit record as JSON (audit/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "record.h"
#include "state.h"

/* Appends "name1,name2" of the failures with `status` to buf. */
static void
failure_list(const struct tlsp_verdict *v, enum tlsp_status status, char *buf,
	     size_t bufsz)
{
	size_t i, j, len = 0;

	buf[0] = '\0';
	for (i = 0; i < v->nrules; i++)
		for (j = 0; j < v->r[i].nfail; j++) {
			const struct tlsp_failure *f = &v->r[i].fail[j];

			if (f->status != status || len + 2 >= bufsz)
				continue;
			len += (size_t)snprintf(buf + len, bufsz - len, "%s%s",
						len ? "," : "",
						tlsp_req_name(f->req));
		}
}

/* The rule names of a verdict, "a,b". */
static void
rule_list(const struct tlsp_verdict *v, char *buf, size_t bufsz)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < v->nrules && len + 2 < bufsz; i++)
		len += (size_t)snprintf(buf + len, bufsz - len, "%s%s%s",
					len ? "," : "",
					tlsp_rule_name(v->r[i].rule),
					v->r[i].exempt ? "(exempt)" : "");
}

void
tlspm_record_line(const struct tlspm_session *s, const char *stage,
		  const char *addr, const struct tlsp_verdict *v,
		  const char *reply)
{
	const struct tlsp_facts *f = &s->facts;
	char eaddr[600], esender[600], ename[300], rules[600];
	char failed[300], unknown[300], ereply[1100], bits[16] = "-";
	char ever[4 * sizeof(f->version_raw)], ecipher[4 * sizeof(f->cipher)];
	int b = f->cipher_bits >= 0 ? f->cipher_bits : f->cipher_info.bits;

	if (s->st->log_decisions == TLSP_LOG_NONE ||
	    (s->st->log_decisions == TLSP_LOG_ACTIONS &&
	     v->action == TLSP_ACTION_ACCEPT &&
	     v->would_action == TLSP_ACTION_ACCEPT))
		return;
	tlsp_escape_log(addr, strlen(addr), eaddr, sizeof(eaddr));
	tlsp_escape_log(s->sender ? s->sender : "",
			s->sender ? strlen(s->sender) : 0, esender,
			sizeof(esender));
	tlsp_escape_log(s->client_name, strlen(s->client_name), ename,
			sizeof(ename));
	tlsp_escape_log(reply ? reply : "", reply ? strlen(reply) : 0, ereply,
			sizeof(ereply));
	tlsp_escape_log(f->version_raw, strlen(f->version_raw), ever,
			sizeof(ever));
	tlsp_escape_log(f->cipher, strlen(f->cipher), ecipher, sizeof(ecipher));
	if (b >= 0)
		snprintf(bits, sizeof(bits), "%d", b);
	rule_list(v, rules, sizeof(rules));
	failure_list(v, TLSP_FAIL, failed, sizeof(failed));
	failure_list(v, TLSP_UNKNOWN, unknown, sizeof(unknown));
	tlspm_log(LOG_INFO,
		  "%s: %s=%s from=%s client=%s[%s] tls=%s cipher=%s "
		  "bits=%s cert=\"%s\" rules=%s action=%s%s%s failed=%s "
		  "unknown=%s reply=\"%s\"",
		  tlspm_session_logid(s), stage, eaddr, esender, ename,
		  s->client_addr, f->version == TLSP_VER_NONE ? "none" : ever,
		  f->cipher[0] ? ecipher : "-", bits,
		  tlsp_cert_state_name(f->cert), rules[0] ? rules : "-",
		  tlsp_action_name(v->action),
		  v->would_action != v->action ? " monitor=would-" : "",
		  v->would_action != v->action
			  ? tlsp_action_name(v->would_action)
			  : "",
		  failed[0] ? failed : "-", unknown[0] ? unknown : "-", ereply);
}

static void
event_init(struct tlsp_audit_event *ev, enum tlsp_event_type type,
	   const struct tlspm_session *s)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->txid = s->txid[0] ? s->txid : NULL;
	ev->queue_id = s->queue_id[0] ? s->queue_id : NULL;
	ev->client_addr = s->client_addr;
	ev->client_name = s->client_name;
	ev->helo = s->helo[0] ? s->helo : NULL;
	ev->sender = s->sender;
	ev->facts = &s->facts;
	ev->policy_hash = tlsp_policy_hash(s->policy);
}

int
tlspm_record_refusal(const struct tlspm_session *s, enum tlsp_event_type type,
		     const char *rcpt, const struct tlsp_verdict *v,
		     const char *reply)
{
	struct tlsp_audit_event ev;
	struct tlsp_event_rcpt r = {rcpt, v, reply};

	if (tlspm.audit == NULL)
		return 0;
	event_init(&ev, type, s);
	if (type == TLSP_EV_MAIL) {
		ev.sender_verdict = v;
	} else {
		ev.rcpts = &r;
		ev.nrcpts = 1;
	}
	ev.action = v->action;
	ev.would_action = v->would_action;
	ev.mode = TLSP_MODE_ENFORCE;
	ev.reply = reply;
	return tlsp_audit_submit(tlspm.audit, &ev, 0);
}

/* The audit record's words for enum tlspm_tls_required; absent: none. */
static const struct tlsp_name_code tls_required_words[] = {
	{"no", TLSPM_TLSREQ_NO},
	{"other", TLSPM_TLSREQ_OTHER},
	{NULL, -1},
};

int
tlspm_record_message(const struct tlspm_session *s,
		     const struct tlsp_verdict *verdicts,
		     enum tlsp_action action, enum tlsp_action would)
{
	struct tlsp_audit_event ev;
	struct tlsp_event_rcpt *r;
	size_t i;
	int rc;

	if (tlspm.audit == NULL)
		return 0;
	r = calloc(s->nrcpts ? s->nrcpts : 1, sizeof(*r));
	if (r == NULL)
		return -1;
	for (i = 0; i < s->nrcpts; i++) {
		r[i].addr = s->rcpts[i].addr;
		r[i].v = &verdicts[i];
	}
	event_init(&ev, TLSP_EV_MESSAGE, s);
	ev.tls_required = tlsp_code_name(tls_required_words, s->tls_required);
	ev.rcpts = r;
	ev.nrcpts = s->nrcpts;
	ev.action = action;
	ev.would_action = would;
	ev.mode = action == would ? TLSP_MODE_ENFORCE : TLSP_MODE_MONITOR;
	rc = tlsp_audit_submit(tlspm.audit, &ev, 0);
	free(r);
	return rc;
}

void
tlspm_record_abort(struct tlspm_session *s)
{
	struct tlsp_audit_event ev;
	char err[256];

	if (tlspm.audit == NULL || !s->in_tx)
		return;
	event_init(&ev, TLSP_EV_ABORT, s);
	if (tlsp_audit_submit(tlspm.audit, &ev, 0) < 0)
		tlspm_log(LOG_ERR, "%s: audit: cannot record abort: %s",
			  tlspm_session_logid(s),
			  tlsp_audit_last_error(tlspm.audit, err, sizeof(err)));
}

void
tlspm_record_lifecycle(enum tlsp_event_type type, const struct tlsp_policy *p,
		       const char *detail)
{
	struct tlsp_audit_event ev;
	char err[256];

	if (tlspm.audit == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.policy_hash = p ? tlsp_policy_hash(p) : NULL;
	ev.detail = detail;
	if (tlsp_audit_submit(tlspm.audit, &ev, 1) < 0)
		tlspm_log(LOG_ERR, "audit: cannot record %s: %s",
			  tlsp_event_type_name(type),
			  tlsp_audit_last_error(tlspm.audit, err, sizeof(err)));
}

void
tlspm_record_close(const struct tlsp_policy *p)
{
	struct tlsp_audit_event ev;

	if (tlspm.audit == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = TLSP_EV_STOP;
	ev.policy_hash = p ? tlsp_policy_hash(p) : NULL;
	tlsp_audit_close_with(tlspm.audit, &ev);
	tlspm.audit = NULL;
}
