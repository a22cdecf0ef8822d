/*
 * callbacks.c - the milter protocol, stage by stage: negotiate, connect,
 * helo, mail, rcpt, data, header, eom, abort, close.
 *
 * The callbacks only keep state and hand decisions to decide.c. We ask
 * the MTA for the least that does the job: no body, no end-of-headers, no
 * unknown commands, no reply at connect and HELO (we never decide there:
 * a reject at HELO would stop Postfix offering STARTTLS), headers only
 * when incoming copies of our header must be removed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "act.h"
#include "callbacks.h"
#include "decide.h"
#include "log.h"
#include "record.h"
#include "session.h"
#include "smfi.h"
#include "state.h"

#define TLS_MACROS                                                             \
	"{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer} "   \
	"{verify} {cert_fp} {cert_md5}"

/* The client's verified name for client_name rules: {client_resolve}
 * says whether {client_name} was verified (policy/facts.c). */
#define CLIENT_MACROS " {client_name} {client_resolve}"

static struct tlspm_session *
priv(SMFICTX *ctx)
{
	return tlspm_smfi->getpriv(ctx);
}

/* A callback that has nothing to say when the MTA wants no reply. */
static sfsistat
quiet(const struct tlspm_session *s, unsigned long nr_flag)
{
	return (s && (s->proto & nr_flag)) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static unsigned long
want_actions(const struct tlspm_session *s)
{
	unsigned acts = tlsp_policy_actions(s->policy);
	unsigned long f = SMFIF_SETSYMLIST;

	if (tlspm_act_strips_headers(s) || (acts & (1u << TLSP_ACTION_TAG)))
		f |= SMFIF_ADDHDRS | SMFIF_CHGHDRS;
	if (acts & (1u << TLSP_ACTION_QUARANTINE))
		f |= SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;
	return f;
}

static unsigned long
want_protocol(const struct tlspm_session *s)
{
	unsigned long f = SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN |
			  SMFIP_NR_CONN | SMFIP_NR_HELO;

	f |= tlspm_act_strips_headers(s) ? SMFIP_NR_HDR : SMFIP_NOHDRS;
	return f;
}

/*
 * For each stage we name, the MTA replaces its own macro list with ours,
 * so each list holds every macro that stage needs. The TLS macros come at
 * MAIL and RCPT too, for a client that skips the EHLO after STARTTLS.
 */
static void
request_macros(SMFICTX *ctx)
{
	static const struct {
		int stage;
		const char *list;
	} lists[] = {
		/* v tells Postfix from Sendmail, whose stock connect list
	     * lacks it; the certificate macros are read by MTA shape. */
		{SMFIM_ENVFROM,
		 "i v {mail_addr} {auth_authen} " TLS_MACROS CLIENT_MACROS},
		{SMFIM_ENVRCPT, "i v {rcpt_addr} " TLS_MACROS CLIENT_MACROS},
		{SMFIM_DATA, "i"},
		{SMFIM_EOM, "i"},
	};
	size_t i;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (tlspm_smfi->setsymlist(ctx, lists[i].stage,
					   lists[i].list) != MI_SUCCESS)
			tlspm_log(LOG_WARNING,
				  "cannot request macros for stage "
				  "%d",
				  lists[i].stage);
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
	     unsigned long f3, unsigned long *pf0, unsigned long *pf1,
	     unsigned long *pf2, unsigned long *pf3)
{
	struct tlspm_session *s = tlspm_session_new();
	unsigned long acts, proto;

	if (s == NULL) {
		tlspm_log(LOG_ERR, "out of memory at connection start");
		return SMFIS_TEMPFAIL;
	}
	acts = want_actions(s);
	proto = want_protocol(s);
	if ((f0 & acts) != acts && tlspm_log_rate_ok(&tlspm.warned_actions))
		tlspm_log(
			LOG_WARNING,
			"the MTA does not offer every action "
			"the policy needs (offered 0x%lx, wanted 0x%lx): tag, "
			"quarantine or header removal will fail",
			f0, acts);
	s->proto = proto & f1;
	tlspm_smfi->setpriv(ctx, s);
	request_macros(ctx);
	*pf0 = acts & f0;
	*pf1 = s->proto;
	*pf2 = *pf3 = 0;
	(void)f2;
	(void)f3;
	return SMFIS_CONTINUE;
}

static void
format_addr(const struct sockaddr *sa, char *buf, size_t bufsz)
{
	const void *a = NULL;

	if (sa && sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa && sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (a == NULL ||
	    inet_ntop(sa->sa_family, a, buf, (socklen_t)bufsz) == NULL)
		snprintf(buf, bufsz, "unknown");
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct tlspm_session *s = priv(ctx);
	char shown[4 * sizeof(s->client_name)];

	if (s == NULL) /* an MTA that skipped negotiation */
		return tlspm_act_on_error(ctx, NULL, "no session at connect");
	(void)tlsp_text_copy(s->client_name, sizeof(s->client_name),
			     hostname ? hostname : "unknown");
	format_addr(hostaddr, s->client_addr, sizeof(s->client_addr));
	tlsp_escape_log(s->client_name, strlen(s->client_name), shown,
			sizeof(shown));
	tlspm_log(LOG_DEBUG, "%s: connect from %s[%s]", s->conn_id, shown,
		  s->client_addr);
	return quiet(s, SMFIP_NR_CONN);
}

/* Called for each EHLO: the last one (after STARTTLS) is kept. */
static sfsistat
cb_helo(SMFICTX *ctx, char *name)
{
	struct tlspm_session *s = priv(ctx);

	if (s && name)
		(void)tlsp_text_copy(s->helo, sizeof(s->helo), name);
	return quiet(s, SMFIP_NR_HELO);
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct tlspm_session *s = priv(ctx);

	if (s == NULL || argv == NULL || argv[0] == NULL) {
		/* whatever transaction was open is over: no RCPT may be
		 * decided with its sender and TLS facts */
		if (s != NULL)
			tlspm_session_reset_tx(s);
		return tlspm_act_on_error(ctx, s,
					  "no session or sender at MAIL");
	}
	return tlspm_decide_mail(ctx, s, argv);
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct tlspm_session *s = priv(ctx);

	if (s == NULL || argv == NULL || argv[0] == NULL || !s->in_tx)
		return tlspm_act_on_error(ctx, s, "no transaction at RCPT");
	return tlspm_decide_rcpt(ctx, s, argv[0]);
}

static sfsistat
cb_data(SMFICTX *ctx)
{
	struct tlspm_session *s = priv(ctx);

	if (s == NULL || !s->in_tx)
		return tlspm_act_on_error(ctx, s, "no transaction at DATA");
	return tlspm_decide_data(ctx, s);
}

/* RFC 8689's one value, "No", in any case; folding whitespace around it
 * (a folded header comes with its line breaks) does not count. */
static enum tlspm_tls_required
tls_required(const char *value)
{
	static const char ws[] = " \t\r\n";
	size_t lead = strspn(value, ws), len = strlen(value + lead);

	while (len > 0 && strchr(ws, value[lead + len - 1]) != NULL)
		len--;
	return len == 2 && strncasecmp(value + lead, "no", 2) == 0
		       ? TLSPM_TLSREQ_NO
		       : TLSPM_TLSREQ_OTHER;
}

/* Counts incoming copies of our header, and notes a TLS-Required header;
 * the MTA waits for no reply (SMFIP_NR_HDR). */
static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct tlspm_session *s = priv(ctx);

	if (s && name && strcasecmp(name, tlspm_act_tag_header(s)) == 0)
		s->forged++;
	else if (s && name && value && strcasecmp(name, "TLS-Required") == 0 &&
		 s->tls_required != TLSPM_TLSREQ_NO)
		s->tls_required = tls_required(value);
	return quiet(s, SMFIP_NR_HDR);
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct tlspm_session *s = priv(ctx);

	if (s == NULL || !s->in_tx)
		return tlspm_act_on_error(ctx, s,
					  "no transaction at end of message");
	return tlspm_decide_eom(ctx, s);
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct tlspm_session *s = priv(ctx);

	if (s) {
		tlspm_record_abort(s);
		tlspm_session_reset_tx(s);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct tlspm_session *s = priv(ctx);

	tlspm_session_free(s); /* NULL when negotiation never happened */
	tlspm_smfi->setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

struct smfiDesc tlspm_callbacks = {
	.xxfi_name = "tlspolicy",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
		      SMFIF_SETSYMLIST,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_data = cb_data,
	.xxfi_negotiate = cb_negotiate,
};
