/*
 * act.c - doing what was decided: the SMTP reply of a refusal or of
 * on_error, removing forged copies of our tag header, adding ours, and
 * quarantine.
 *
 * A refusal is given only once it is recorded; what cannot be recorded
 * follows on_error. The tag header carries policy values and sanitised
 * TLS facts, never an address (it would leak Bcc recipients).
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "act.h"
#include "log.h"
#include "record.h"
#include "smfi.h"
#include "state.h"

/* Hands "550 5.7.1 text" to libmilter, which takes the text as a format. */
static int
set_reply(SMFICTX *ctx, const char *reply)
{
	char code[4], xcode[16] = "", text[2048];
	const char *p = reply + 4;
	size_t n;

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
	tlsp_escape_reply(p, text, sizeof(text));
	if (tlspm_smfi->setreply(ctx, code, xcode[0] ? xcode : NULL, text) !=
	    MI_SUCCESS)
		return -1;
	return 0;
}

sfsistat
tlspm_act_on_error(SMFICTX *ctx, const struct tlspm_session *s, const char *why)
{
	enum tlsp_on_error oe = s ? s->st->on_error : TLSP_ON_ERROR_TEMPFAIL;
	const char *id = s ? tlspm_session_logid(s) : "-";

	switch (oe) {
	case TLSP_ON_ERROR_REJECT:
		tlspm_log(LOG_ERR, "%s: %s; on_error=reject", id, why);
		set_reply(ctx, "550 5.7.0 TLS policy could not be applied");
		return SMFIS_REJECT;
	case TLSP_ON_ERROR_ACCEPT:
		tlspm_log(LOG_CRIT,
			  "%s: %s; on_error=accept: letting it "
			  "through unchecked",
			  id, why);
		return SMFIS_CONTINUE;
	default:
		tlspm_log(LOG_ERR, "%s: %s; on_error=tempfail", id, why);
		set_reply(ctx, "451 4.7.0 TLS policy check unavailable, try "
			       "again later");
		return SMFIS_TEMPFAIL;
	}
}

sfsistat
tlspm_act_unrecorded(SMFICTX *ctx, struct tlspm_session *s, const char *what)
{
	char why[400], err[256];

	snprintf(why, sizeof(why), "audit: cannot record %s: %s", what,
		 tlsp_audit_last_error(tlspm.audit, err, sizeof(err)));
	return tlspm_act_on_error(ctx, s, why);
}

sfsistat
tlspm_act_refuse(SMFICTX *ctx, struct tlspm_session *s,
		 enum tlsp_event_type type, const char *addr,
		 const struct tlsp_verdict *v)
{
	if (tlspm_record_refusal(s, type, addr, v, v->reply) < 0)
		return tlspm_act_unrecorded(ctx, s,
					    v->action == TLSP_ACTION_REJECT
						    ? "a reject"
						    : "a defer");
	if (set_reply(ctx, v->reply) < 0) {
		char shown[1100];

		tlsp_escape_log(v->reply, strlen(v->reply), shown,
				sizeof(shown));
		tlspm_log(LOG_ERR, "%s: the MTA refused the reply \"%s\"",
			  tlspm_session_logid(s), shown);
	}
	return v->action == TLSP_ACTION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

int
tlspm_act_strips_headers(const struct tlspm_session *s)
{
	unsigned marks = (1u << TLSP_ACTION_TAG) |
			 (1u << TLSP_ACTION_QUARANTINE);

	switch (s->st->strip_forged) {
	case TLSP_STRIP_NEVER:
	case TLSP_STRIP_MTA: /* the MTA removes them before we see them */
		return 0;
	case TLSP_STRIP_ALWAYS:
		return 1;
	default:
		return (tlsp_policy_actions(s->policy) & marks) != 0;
	}
}

const char *
tlspm_act_tag_header(const struct tlspm_session *s)
{
	return s->st->tag_header ? s->st->tag_header : "X-TLS-Policy";
}

/*
 * Deletes from the highest index down to 1: after a deletion Postfix
 * renumbers the copies left and Sendmail does not, so only this order
 * removes every copy on both (an index that no longer exists is ignored
 * by both).
 */
int
tlspm_act_strip(SMFICTX *ctx, struct tlspm_session *s)
{
	const char *name = tlspm_act_tag_header(s);
	unsigned i;

	for (i = s->forged; i >= 1; i--)
		if (tlspm_smfi->chgheader(ctx, name, (int)i, NULL) !=
		    MI_SUCCESS)
			return -1;
	if (s->forged)
		tlspm_log(LOG_NOTICE, "%s: removed %u incoming %s header%s",
			  tlspm_session_logid(s), s->forged, name,
			  s->forged == 1 ? "" : "s");
	return 0;
}

/* Appends `word` to a comma list unless it is there already. */
static void
list_add(char *buf, size_t bufsz, const char *word)
{
	size_t len = strlen(buf), wl = strlen(word);
	const char *p;

	for (p = strstr(buf, word); p; p = strstr(p + 1, word))
		if ((p == buf || p[-1] == ',') &&
		    (p[wl] == ',' || p[wl] == '\0'))
			return;
	if (len + wl + 2 < bufsz)
		snprintf(buf + len, bufsz - len, "%s%s", len ? "," : "", word);
}

/* Whether every verdict evaluated rule r (so naming it tells no
 * recipient about another: a Bcc recipient's domain stays hidden). */
static int
shared_by_all(const struct tlsp_rule *r, const struct tlsp_verdict *vs,
	      size_t n)
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
	char all[512];	 /* every rule: for the quarantine reason */
	char shown[512]; /* the rules every recipient shares: the header */
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

			if (r->status != TLSP_FAIL ||
			    r->mode != TLSP_MODE_ENFORCE ||
			    r->action < TLSP_ACTION_TAG)
				continue;
			list_add(m->all, sizeof(m->all),
				 tlsp_rule_name(r->rule));
			if (shared_by_all(r->rule, vs, n))
				list_add(m->shown, sizeof(m->shown),
					 tlsp_rule_name(r->rule));
			for (k = 0; k < r->nfail; k++)
				list_add(m->failed, sizeof(m->failed),
					 tlsp_req_name(r->fail[k].req));
		}
}

/* The certificate state as a header token. */
static const char *const cert_tokens[] = {
	[TLSP_CERT_UNKNOWN] = "unknown",
	[TLSP_CERT_NONE] = "none",
	[TLSP_CERT_PRESENTED] = "presented",
	[TLSP_CERT_PRESENTED_UNKNOWN] = "presented-unchecked",
	[TLSP_CERT_NOT_VERIFIED] = "not-verified",
	[TLSP_CERT_VERIFIED] = "verified",
};

static void
tag_value(const struct tlspm_session *s, const char *rules, const char *failed,
	  enum tlsp_action act, char *buf, size_t bufsz)
{
	const struct tlsp_facts *f = &s->facts;
	char ver[40], cipher[130], bits[16] = "unknown";
	const char *id = s->st->authserv_id ? s->st->authserv_id
					    : tlspm.hostname;
	int b = f->cipher_bits >= 0 ? f->cipher_bits : f->cipher_info.bits;

	tlsp_escape_header(f->version == TLSP_VER_NONE ? "none"
						       : f->version_raw,
			   ver, sizeof(ver));
	tlsp_escape_header(f->cipher[0] ? f->cipher : "none", cipher,
			   sizeof(cipher));
	if (b >= 0)
		snprintf(bits, sizeof(bits), "%d", b);
	snprintf(buf, bufsz,
		 "%s; tls-policy=fail action=%s rules=%s "
		 "failed=%s; tls=%s cipher=%s bits=%s cert=%s",
		 id, tlsp_action_name(act), rules[0] ? rules : "withheld",
		 failed[0] ? failed : "none", ver, cipher, bits,
		 cert_tokens[f->cert]);
}

int
tlspm_act_mark(SMFICTX *ctx, struct tlspm_session *s,
	       const struct tlsp_verdict *vs, enum tlsp_action act)
{
	struct marks m;
	char value[900], reason[800];

	marks(vs, s->nrcpts, &m);
	tag_value(s, m.shown, m.failed, act, value, sizeof(value));
	if (tlspm_smfi->insheader(ctx, 0, tlspm_act_tag_header(s), value) !=
	    MI_SUCCESS)
		return -1;
	if (act != TLSP_ACTION_QUARANTINE)
		return 0;
	snprintf(reason, sizeof(reason), "tlspolicy: rules %s failed %s", m.all,
		 m.failed[0] ? m.failed : "none");
	return tlspm_smfi->quarantine(ctx, reason) == MI_SUCCESS ? 0 : -1;
}
