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

/* The macros a record lists in tls.observed, one bit each. */
enum {
	M_V = 1 << 0,
	M_VERSION = 1 << 1,
	M_CIPHER = 1 << 2,
	M_BITS = 1 << 3,
	M_SUBJECT = 1 << 4,
	M_ISSUER = 1 << 5,
	M_VERIFY = 1 << 6,
	M_FP = 1 << 7,
	M_MD5 = 1 << 8,
	M_AUTH = 1 << 9,
	M_DAEMON = 1 << 10,
	M_ADDR = 1 << 11,
	M_CNAME = 1 << 12,
	M_RESOLVE = 1 << 13,
};

static unsigned
observed(const struct tlspa_jv *tls)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{"v", M_V},
		{"{tls_version}", M_VERSION},
		{"{cipher}", M_CIPHER},
		{"{cipher_bits}", M_BITS},
		{"{cert_subject}", M_SUBJECT},
		{"{cert_issuer}", M_ISSUER},
		{"{verify}", M_VERIFY},
		{"{cert_fp}", M_FP},
		{"{cert_md5}", M_MD5},
		{"{auth_authen}", M_AUTH},
		{"{daemon_name}", M_DAEMON},
		{"{client_addr}", M_ADDR},
		{"{client_name}", M_CNAME},
		{"{client_resolve}", M_RESOLVE},
	};
	const struct tlspa_jv *o = tlspa_jv_get(tls, "observed");
	unsigned seen = 0;
	size_t i;

	for (o = o != NULL && o->type == TLSPA_J_ARR ? o->kids : NULL; o;
	     o = o->next)
		for (i = 0; i < sizeof(names) / sizeof(*names); i++)
			if (tlspa_jv_is(o, names[i].name)) {
				seen |= names[i].bit;
				break;
			}
	return seen;
}

/* The macro's value as the MTA sent it: the member's value, "" when the
 * macro was sent and the member is null, NULL when it was not sent. */
static const char *
macro(unsigned seen, unsigned bit, const char *value)
{
	if (!(seen & bit))
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

/* 1 if facts.c reads value v as an xtext DN (facts_cert_name). */
static int
sendmail_dn(enum tlsp_mta mta, const char *v)
{
	return v != NULL && (mta == TLSP_MTA_SENDMAIL ||
			     (mta == TLSP_MTA_UNKNOWN && v[0] == '/'));
}

int
tlspa_recfacts_read(const struct tlspa_jv *rec, struct tlspa_recfacts *rf)
{
	const struct tlspa_jv *tls = tlspa_jv_get(rec, "tls");
	const struct tlspa_jv *client = tlspa_jv_get(rec, "client");
	const struct tlspa_jv *addr = tlspa_jv_get(client, "addr");
	const struct tlspa_jv *name = tlspa_jv_get(client, "name");
	const struct tlspa_jv *bits = tlspa_jv_get(tls, "bits");
	const struct tlspa_jv *auth = tlspa_jv_get(rec, "authenticated");
	const struct tlspa_jv *daemon = tlspa_jv_get(rec, "daemon_name");
	const char *cert = str_of(tlspa_jv_get(tls, "cert"));
	const char *ver = str_of(tlspa_jv_get(tls, "version"));
	const char *mta_name = str_of(tlspa_jv_get(rec, "mta"));
	struct tlsp_macros m;
	unsigned seen;
	int mta;

	/* not the whole struct: its buffers are written before they are
	 * read, and facts_from_macros clears the facts */
	rf->auth_unknown = rf->daemon_unknown = 0;
	rf->why = NULL;
	rf->bits[0] = '\0';
	memset(&m, 0, sizeof(m));
	if (tls == NULL || tls->type != TLSPA_J_OBJ || cert == NULL) {
		rf->why = "no TLS facts in the record";
		return -1;
	}
	seen = observed(tls);
	mta = mta_name != NULL ? tlsp_mta_lookup(mta_name) : -1;
	m.mta = mta < 0 ? TLSP_MTA_UNKNOWN : (enum tlsp_mta)mta;
	m.mta_version = macro(seen, M_V, "recorded");
	m.tls_version = macro(seen, M_VERSION, ver);
	m.cipher = macro(seen, M_CIPHER, str_of(tlspa_jv_get(tls, "cipher")));
	if (bits != NULL && bits->type == TLSPA_J_NUM && bits->is_int)
		snprintf(rf->bits, sizeof(rf->bits), "%lld",
			 (long long)bits->i);
	m.cipher_bits = macro(seen, M_BITS, rf->bits[0] ? rf->bits : NULL);
	m.cert_subject = str_of(tlspa_jv_get(tls, "subject"));
	m.cert_issuer = str_of(tlspa_jv_get(tls, "issuer"));
	/* the record holds decoded DNs where facts.c decoded xtext: from
	 * Sendmail, or from an unknown MTA a value that begins with '/' */
	if (sendmail_dn(m.mta, m.cert_subject))
		m.cert_subject = xtext(m.cert_subject, rf->subject,
				       sizeof(rf->subject));
	if (sendmail_dn(m.mta, m.cert_issuer))
		m.cert_issuer = xtext(m.cert_issuer, rf->issuer,
				      sizeof(rf->issuer));
	m.cert_subject = macro(seen, M_SUBJECT, m.cert_subject);
	m.cert_issuer = macro(seen, M_ISSUER, m.cert_issuer);
	m.verify = macro(seen, M_VERIFY, str_of(tlspa_jv_get(tls, "verify")));
	m.cert_fp = macro(seen, M_FP, str_of(tlspa_jv_get(tls, "fingerprint")));
	if (m.cert_fp == NULL)
		m.cert_fp = macro(seen, M_MD5,
				  str_of(tlspa_jv_get(tls, "fingerprint")));
	/* format 2: the boolean, never the user name (personal data) */
	if (auth != NULL)
		m.auth_authen = macro(seen, M_AUTH,
				      auth->type == TLSPA_J_TRUE ? "recorded"
								 : "");
	else if ((m.auth_authen = macro(seen, M_AUTH, "")) != NULL)
		rf->auth_unknown = 1;
	if (daemon != NULL)
		m.daemon_name = macro(seen, M_DAEMON, str_of(daemon));
	else if ((m.daemon_name = macro(seen, M_DAEMON, "")) != NULL)
		rf->daemon_unknown = 1;
	if (addr != NULL && addr->type == TLSPA_J_OBJ && (seen & M_ADDR)) {
		rf->why = "the client address is redacted";
		return -1;
	}
	m.client_addr = macro(seen, M_ADDR, str_of(addr));
	/* the record's name is the connect callback's, which is the MTA's
	 * {client_name} once verified and "[addr]" or "unknown" otherwise:
	 * the same verdict through facts.c */
	if (name != NULL && name->type == TLSPA_J_OBJ && (seen & M_CNAME)) {
		rf->why = "the client name is redacted";
		return -1;
	}
	m.client_name = macro(seen, M_CNAME, str_of(name));
	m.client_resolve = macro(seen, M_RESOLVE,
				 str_of(tlspa_jv_get(client, "resolve")));
	tlsp_facts_from_macros(&m, &rf->f);
	if (strcmp(tlsp_cert_state_name(rf->f.cert), cert) != 0 ||
	    (ver == NULL) != (rf->f.version == TLSP_VER_NONE)) {
		rf->why = "the recorded facts do not rebuild (a record of "
			  "another version?)";
		return -1;
	}
	return 0;
}
