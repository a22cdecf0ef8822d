/*
 * recfacts.c - the facts a decision record was decided on, rebuilt the
 * way the daemon built them: the record's TLS members are put back into
 * the MTA's macros and go through the engine's tlsp_facts_from_macros(),
 * so replay judges a record with the daemon's code, not a copy of it.
 *
 * What the record cannot give back is said, never guessed: a redacted
 * client address, a record without TLS facts, facts that do not rebuild
 * to what was recorded (the certificate state or the version differ).
 * Records written before the "authenticated" and "daemon_name" members
 * (audit format 2) say only that the macro was sent: those facts are
 * flagged unknown, and replay tries both extremes.
 */
#include <stdio.h>
#include <string.h>

#include "recfacts.h"

/* The value of a string member, or NULL (absent, null, not a string, or
 * holding a NUL, which no macro can). */
static const char *
str_of(const struct tlspa_jv *v)
{
	if (v == NULL || v->type != TLSPA_J_STR || strlen(v->s) != v->len)
		return NULL;
	return v->s;
}

/* 1 if the record lists macro name in tls.observed. */
static int
observed(const struct tlspa_jv *tls, const char *name)
{
	const struct tlspa_jv *o = tlspa_jv_get(tls, "observed");

	for (o = o != NULL && o->type == TLSPA_J_ARR ? o->kids : NULL; o;
	     o = o->next)
		if (tlspa_jv_is(o, name))
			return 1;
	return 0;
}

/* The macro's value as the MTA sent it: the member's value, "" when the
 * macro was sent and the member is null, NULL when it was not sent. */
static const char *
macro(const struct tlspa_jv *tls, const char *name, const char *value)
{
	if (!observed(tls, name))
		return NULL;
	return value != NULL ? value : "";
}

/* RFC 3461 xtext, as Sendmail sends a certificate's DN. */
static const char *
xtext(const char *s, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	if (s == NULL)
		return NULL;
	for (; *s != '\0' && n + 4 < outsz; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 33 || c > 126 || c == '+' || c == '=') {
			out[n++] = '+';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		} else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return *s == '\0' ? out : NULL;
}

int
tlspa_recfacts_read(const struct tlspa_jv *rec, struct tlspa_recfacts *rf)
{
	const struct tlspa_jv *tls = tlspa_jv_get(rec, "tls");
	const struct tlspa_jv *client = tlspa_jv_get(rec, "client");
	const struct tlspa_jv *addr = tlspa_jv_get(client, "addr");
	const struct tlspa_jv *bits = tlspa_jv_get(tls, "bits");
	const struct tlspa_jv *auth = tlspa_jv_get(rec, "authenticated");
	const struct tlspa_jv *daemon = tlspa_jv_get(rec, "daemon_name");
	const char *cert = str_of(tlspa_jv_get(tls, "cert"));
	const char *ver = str_of(tlspa_jv_get(tls, "version"));
	const char *mta_name = str_of(tlspa_jv_get(rec, "mta"));
	struct tlsp_macros m;
	int mta;

	memset(rf, 0, sizeof(*rf));
	memset(&m, 0, sizeof(m));
	if (tls == NULL || tls->type != TLSPA_J_OBJ || cert == NULL) {
		rf->why = "no TLS facts in the record";
		return -1;
	}
	mta = mta_name != NULL ? tlsp_mta_lookup(mta_name) : -1;
	m.mta = mta < 0 ? TLSP_MTA_UNKNOWN : (enum tlsp_mta)mta;
	m.mta_version = macro(tls, "v", "recorded");
	m.tls_version = macro(tls, "{tls_version}", ver);
	m.cipher = macro(tls, "{cipher}", str_of(tlspa_jv_get(tls, "cipher")));
	if (bits != NULL && bits->type == TLSPA_J_NUM && bits->is_int)
		snprintf(rf->bits, sizeof(rf->bits), "%lld",
			 (long long)bits->i);
	m.cipher_bits = macro(tls, "{cipher_bits}",
			      rf->bits[0] ? rf->bits : NULL);
	m.cert_subject = str_of(tlspa_jv_get(tls, "subject"));
	m.cert_issuer = str_of(tlspa_jv_get(tls, "issuer"));
	if (m.mta == TLSP_MTA_SENDMAIL) { /* the record holds decoded DNs */
		m.cert_subject = xtext(m.cert_subject, rf->subject,
				       sizeof(rf->subject));
		m.cert_issuer = xtext(m.cert_issuer, rf->issuer,
				      sizeof(rf->issuer));
	}
	m.cert_subject = macro(tls, "{cert_subject}", m.cert_subject);
	m.cert_issuer = macro(tls, "{cert_issuer}", m.cert_issuer);
	m.verify = macro(tls, "{verify}", str_of(tlspa_jv_get(tls, "verify")));
	m.cert_fp = macro(tls, "{cert_fp}",
			  str_of(tlspa_jv_get(tls, "fingerprint")));
	if (m.cert_fp == NULL)
		m.cert_fp = macro(tls, "{cert_md5}",
				  str_of(tlspa_jv_get(tls, "fingerprint")));
	/* format 2: the boolean, never the user name (personal data) */
	if (auth != NULL)
		m.auth_authen = macro(tls, "{auth_authen}",
				      auth->type == TLSPA_J_TRUE ? "recorded"
								 : "");
	else if ((m.auth_authen = macro(tls, "{auth_authen}", "")) != NULL)
		rf->auth_unknown = 1;
	if (daemon != NULL)
		m.daemon_name = macro(tls, "{daemon_name}", str_of(daemon));
	else if ((m.daemon_name = macro(tls, "{daemon_name}", "")) != NULL)
		rf->daemon_unknown = 1;
	if (addr != NULL && addr->type == TLSPA_J_OBJ &&
	    observed(tls, "{client_addr}")) {
		rf->why = "the client address is redacted";
		return -1;
	}
	m.client_addr = macro(tls, "{client_addr}", str_of(addr));
	tlsp_facts_from_macros(&m, &rf->f);
	if (strcmp(tlsp_cert_state_name(rf->f.cert), cert) != 0 ||
	    (ver == NULL) != (rf->f.version == TLSP_VER_NONE)) {
		rf->why = "the recorded facts do not rebuild (a record of "
			  "another version?)";
		return -1;
	}
	return 0;
}
