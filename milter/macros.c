/*
 * macros.c - the MTA's macros, read into the session's facts.
 *
 * The TLS facts are read when deciding, never cached from HELO (the first
 * EHLO precedes STARTTLS). A stage whose list the MTA did not send is
 * told apart from a plaintext session by a sentinel macro of that list;
 * configuration mistakes are warned about, at most once an hour.
 */
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "macros.h"
#include "smfi.h"
#include "state.h"

static const char *
sym(SMFICTX *ctx, const char *name)
{
	return tlspm_smfi->getsymval(ctx, name);
}

static void
warn_blind(const char *sentinel)
{
	if (!tlspm_log_rate_ok(&tlspm.warned_blind))
		return;
	tlspm_log(
		LOG_WARNING,
		"the MTA sent no %s: the TLS macros of this stage cannot be "
		"trusted, so on_error applies. Postfix: set milter_mail_macros "
		"= i {mail_addr} {auth_authen} {tls_version} {cipher} "
		"{cipher_bits} {cert_subject} {cert_issuer} and "
		"milter_rcpt_macros = i {rcpt_addr} {tls_version} {cipher} "
		"{cipher_bits} {cert_subject} {cert_issuer}. Sendmail 8.14 "
		"and later send what the milter asks for; older ones: "
		"define(`confMILTER_MACROS_ENVFROM', `i, {mail_addr}, "
		"{auth_authen}, {tls_version}, {cipher}, {cipher_bits}, "
		"{cert_subject}, {cert_issuer}, {verify}, {cert_fp}') and "
		"the same for confMILTER_MACROS_ENVRCPT with {rcpt_addr}",
		sentinel);
}

static void
warn_config(const struct tlsp_facts *f)
{
	if (f->mta == TLSP_MTA_SENDMAIL && f->subject_seen && !f->verify_seen &&
	    tlspm_log_rate_ok(&tlspm.warned_verify))
		tlspm_log(LOG_WARNING,
			  "Sendmail sends {cert_subject} but not {verify} at "
			  "MAIL or RCPT: certificate verification stays "
			  "unknown. Sendmail 8.14 and later send the {verify} "
			  "the milter asks for; older ones need it in "
			  "confMILTER_MACROS_ENVFROM and "
			  "confMILTER_MACROS_ENVRCPT (not _HELO)");
}

int
tlspm_macros_read_facts(SMFICTX *ctx, struct tlspm_session *s,
			const char *sentinel)
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
	m.client_name = sym(ctx, "{client_name}");
	m.client_resolve = sym(ctx, "{client_resolve}");
	tlsp_facts_from_macros(&m, &s->facts);
	warn_config(&s->facts);
	return 0;
}

void
tlspm_macros_queue_id(SMFICTX *ctx, struct tlspm_session *s)
{
	const char *i;

	if (s->queue_id[0])
		return;
	i = sym(ctx, "i");

	if (i && i[0]) {
		(void)tlsp_text_copy(s->queue_id, sizeof(s->queue_id), i);
		tlsp_escape_log(s->queue_id, strlen(s->queue_id),
				s->queue_id_log, sizeof(s->queue_id_log));
	}
}
