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

/*
 * The decision line is built in one pass into one buffer: each value is
 * escaped where it lands, and each list is bounded as its own field, so a
 * long list or address cannot push the rest of the line out. At most
 * TLSPM_LOG_LINE - 1 bytes; what does not fit is cut off.
 */
struct line {
	char b[TLSPM_LOG_LINE];
	size_t n;
};

/* Appends n bytes of s, no further than byte `end` of the line. */
static void
put_to(struct line *l, size_t end, const char *s, size_t n)
{
	if (end > sizeof(l->b) - 1)
		end = sizeof(l->b) - 1;
	if (l->n >= end)
		return;
	if (n > end - l->n)
		n = end - l->n;
	memcpy(l->b + l->n, s, n);
	l->n += n;
}

static void
put(struct line *l, const char *s)
{
	put_to(l, sizeof(l->b), s, strlen(s));
}

/* s escaped for the log, in at most cap - 1 bytes (a character is never
 * cut). */
static void
put_escaped(struct line *l, const char *s, size_t cap)
{
	char *at = l->b + l->n;
	size_t room = sizeof(l->b) - l->n;

	tlsp_escape_log(s, strlen(s), at, cap < room ? cap : room);
	l->n += strlen(at);
}

/* A field of at most cap - 1 bytes starting now: where it must end. */
static size_t
field_end(const struct line *l, size_t cap)
{
	return l->n + cap - 1;
}

/* "name1,name2" of the failures with `status`, or "-". */
static void
put_failures(struct line *l, const struct tlsp_verdict *v,
	     enum tlsp_status status)
{
	size_t i, j, start = l->n, end = field_end(l, 300);

	for (i = 0; i < v->nrules; i++)
		for (j = 0; j < v->r[i].nfail; j++) {
			const struct tlsp_failure *f = &v->r[i].fail[j];

			if (f->status != status || l->n + 2 > end)
				continue;
			if (l->n > start)
				put_to(l, end, ",", 1);
			put_to(l, end, tlsp_req_name(f->req),
			       strlen(tlsp_req_name(f->req)));
		}
	if (l->n == start)
		put(l, "-");
}

/* " waived=req:exception,..." of the failures exceptions waived, or
 * nothing when none was. */
static void
put_waived(struct line *l, const struct tlsp_verdict *v)
{
	size_t i, j, start, end;
	const char *name;

	for (i = 0; i < v->nrules && v->r[i].nwaived == 0; i++)
		;
	if (i == v->nrules)
		return;
	put(l, " waived=");
	start = l->n;
	end = field_end(l, 600);
	for (i = 0; i < v->nrules; i++)
		for (j = v->r[i].nfail; j < v->r[i].nfail + v->r[i].nwaived;
		     j++) {
			const struct tlsp_failure *f = &v->r[i].fail[j];

			if (l->n + 2 > end)
				continue;
			if (l->n > start)
				put_to(l, end, ",", 1);
			put_to(l, end, tlsp_req_name(f->req),
			       strlen(tlsp_req_name(f->req)));
			put_to(l, end, ":", 1);
			name = tlsp_exception_name(f->waived_by);
			put_to(l, end, name, strlen(name));
		}
}

/* The rule names of a verdict, "a,b(exempt)", or "-". */
static void
put_rules(struct line *l, const struct tlsp_verdict *v)
{
	size_t i, start = l->n, end = field_end(l, 600);
	const char *name;

	for (i = 0; i < v->nrules && l->n + 2 <= end; i++) {
		if (l->n > start)
			put_to(l, end, ",", 1);
		name = tlsp_rule_name(v->r[i].rule);
		put_to(l, end, name, strlen(name));
		if (v->r[i].exempt)
			put_to(l, end, "(exempt)", 8);
	}
	if (l->n == start)
		put(l, "-");
}

void
tlspm_record_line(const struct tlspm_session *s, const char *stage,
		  const char *addr, const struct tlsp_verdict *v,
		  const char *reply)
{
	const struct tlsp_facts *f = &s->facts;
	int b = f->cipher_bits >= 0 ? f->cipher_bits : f->cipher_info.bits;
	char bits[16];
	struct line l;

	if (s->st->log_decisions == TLSP_LOG_NONE ||
	    (s->st->log_decisions == TLSP_LOG_ACTIONS &&
	     v->action == TLSP_ACTION_ACCEPT &&
	     v->would_action == TLSP_ACTION_ACCEPT &&
	     !(v->flags & TLSP_V_WAIVED)))
		return;
	l.n = 0;
	put(&l, tlspm_session_logid(s));
	put(&l, ": ");
	put(&l, stage);
	put(&l, "=");
	put_escaped(&l, addr, 600);
	put(&l, " from=");
	put_escaped(&l, s->sender ? s->sender : "", 600);
	put(&l, " client=");
	put_escaped(&l, s->client_name, 300);
	put(&l, "[");
	put(&l, s->client_addr);
	put(&l, "] tls=");
	if (f->version == TLSP_VER_NONE)
		put(&l, "none");
	else
		put_escaped(&l, f->version_raw, 4 * sizeof(f->version_raw));
	put(&l, " cipher=");
	if (f->cipher[0])
		put_escaped(&l, f->cipher, 4 * sizeof(f->cipher));
	else
		put(&l, "-");
	put(&l, " bits=");
	if (b >= 0) {
		snprintf(bits, sizeof(bits), "%d", b);
		put(&l, bits);
	} else {
		put(&l, "-");
	}
	put(&l, " cert=\"");
	put(&l, tlsp_cert_state_name(f->cert));
	put(&l, "\" rules=");
	put_rules(&l, v);
	put(&l, " action=");
	put(&l, tlsp_action_name(v->action));
	if (v->would_action != v->action) {
		put(&l, " monitor=would-");
		put(&l, tlsp_action_name(v->would_action));
	}
	put(&l, " failed=");
	put_failures(&l, v, TLSP_FAIL);
	put(&l, " unknown=");
	put_failures(&l, v, TLSP_UNKNOWN);
	put_waived(&l, v);
	put(&l, " reply=\"");
	/* the reply is last: cut it, never its closing quote */
	if (l.n + 2 < sizeof(l.b)) {
		size_t room = sizeof(l.b) - 1 - l.n; /* the quote's byte */

		put_escaped(&l, reply ? reply : "", room < 1100 ? room : 1100);
	}
	if (l.n > sizeof(l.b) - 2)
		l.n = sizeof(l.b) - 2;
	l.b[l.n++] = '"';
	l.b[l.n] = '\0';
	tlspm_log_text(LOG_INFO, l.b);
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
	ev->mail_params = s->nmail_params ? s->mail_param : NULL;
	ev->nmail_params = s->nmail_params;
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
