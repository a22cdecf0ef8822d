/*
 * facts.c - turns the MTA's raw TLS macros into one normalised set of
 * facts, whichever MTA sent them.
 *
 * Postfix and Sendmail describe the same session differently (see
 * DESIGN.md §2): Postfix sends a verified client certificate's CN and
 * nothing for an unverified one; Sendmail sends the xtext-encoded full DN
 * of any certificate and its verdict in {verify}. Everything here is
 * attacker-influenced, so nothing fails: a malformed value is dropped and
 * flagged, strings that may reach a log are made printable, and the
 * certificate names are kept as decoded bytes for matching but refused if
 * they carry control characters.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <string.h>

#include "tlspolicy/policy.h"

enum xt_status {
	XT_OK = 0,
	XT_BAD,	     /* '+' not followed by two hex digits */
	XT_OVERFLOW, /* the decoded text did not fit */
};

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
ascii_prefix(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
		if (ascii_lower((unsigned char)*s) != ascii_lower(*prefix))
			return 0;
	return 1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* ------------------------------------------------------------- xtext */

static enum xt_status
xtext_decode(const char *in, char *out, size_t outsz, size_t *lenp)
{
	enum xt_status st = XT_OK;
	size_t n = 0;

	while (*in != '\0') {
		int c = (unsigned char)*in;

		if (c == '+') {
			int hi = hexval((unsigned char)in[1]);
			int lo = hi < 0 ? -1 : hexval((unsigned char)in[2]);

			if (lo < 0) {
				st = XT_BAD;
				break;
			}
			c = hi << 4 | lo;
			in += 3;
		} else {
			in++;
		}
		if (n + 1 >= outsz) {
			st = XT_OVERFLOW;
			break;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	*lenp = n;
	return st;
}

/*
 * RFC 3461 says the hex digits are upper case; Sendmail writes them so,
 * but accepting lower case costs nothing. "+00" decodes to a NUL byte,
 * which the returned length counts and strlen(out) does not.
 */
int
tlsp_facts_xtext_decode(const char *in, char *out, size_t outsz)
{
	size_t len;

	if (out == NULL || outsz == 0)
		return -1;
	if (in == NULL) {
		out[0] = '\0';
		return -1;
	}
	if (xtext_decode(in, out, outsz, &len) != XT_OK || len > INT_MAX)
		return -1;
	return (int)len;
}

/* ---------------------------------------------------------------- DN */

/* Length of the attribute type if p starts "/TYPE=", else 0. */
static size_t
dn_boundary(const char *p)
{
	size_t n = 0;

	if (*p != '/')
		return 0;
	while ((p[n + 1] >= 'A' && p[n + 1] <= 'Z') ||
	       (p[n + 1] >= 'a' && p[n + 1] <= 'z') ||
	       (p[n + 1] >= '0' && p[n + 1] <= '9') || p[n + 1] == '.')
		n++;
	return n > 0 && p[n + 1] == '=' ? n : 0;
}

/* The next "/TYPE=" that is not escaped ("\/" is a slash in a value). */
static const char *
dn_next(const char *p)
{
	for (; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '/' && dn_boundary(p) > 0)
			return p;
	}
	return NULL;
}

/*
 * Undoes OpenSSL's escapes in a DN: "\xHH" becomes the byte (a UTF-8 name
 * then compares with Postfix's UTF-8 CN), "\C" becomes C, except that
 * "\/" stays escaped when keep_slash is set (it would end a value).
 * Returns the length written, or (size_t)-1 if it did not fit.
 */
static size_t
dn_unescape(const char *in, size_t len, char *out, size_t outsz, int keep_slash)
{
	size_t i = 0, j = 0;

	while (i < len) {
		int hi, lo,
			keep = keep_slash && in[i] == '\\' && i + 1 < len &&
			       in[i + 1] == '/';

		if (j + 1 + (size_t)keep >= outsz) /* the byte(s) and the NUL */
			return (size_t)-1;
		if (in[i] != '\\' || i + 1 >= len) {
			out[j++] = in[i++];
		} else if (in[i + 1] == 'x' && i + 3 < len &&
			   (hi = hexval((unsigned char)in[i + 2])) >= 0 &&
			   (lo = hexval((unsigned char)in[i + 3])) >= 0) {
			out[j++] = (char)(hi << 4 | lo);
			i += 4;
		} else if (keep) {
			out[j++] = in[i++];
			out[j++] = in[i++];
		} else {
			out[j++] = in[i + 1];
			i += 2;
		}
	}
	out[j] = '\0';
	return j;
}

static int
dn_is_cn(const char *type, size_t len)
{
	static const char *const names[] = {"CN", "commonName", "2.5.4.3"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && ascii_prefix(type, names[i]))
			return 1;
	return 0;
}

/*
 * Sendmail writes OpenSSL's one-line DN, which escapes '/' and '+' inside
 * a value ("\/", "\+") and non-ASCII bytes as "\xHH" (seen on Sendmail
 * 8.17 with OpenSSL 3), so a value ends where an unescaped "/TYPE="
 * begins; the CN comes back unescaped. An empty CN counts as no CN.
 */
int
tlsp_facts_dn_cn(const char *dn, char *out, size_t outsz)
{
	const char *val = NULL, *end = NULL;
	size_t len;

	if (out == NULL || outsz == 0)
		return -1;
	out[0] = '\0';
	if (dn == NULL)
		return -1;
	if (dn[0] != '/') {
		val = dn;
		end = dn + strlen(dn);
	}
	for (const char *p = dn_boundary(dn) ? dn : NULL; p != NULL;) {
		size_t tlen = dn_boundary(p);
		const char *type = p + 1, *v = type + tlen + 1;

		p = dn_next(v);
		if (dn_is_cn(type, tlen)) {
			val = v;
			end = p != NULL ? p : v + strlen(v);
		}
	}
	len = val != NULL ? (size_t)(end - val) : 0;
	if (len == 0 || len >= outsz)
		return -1;
	if (dn[0] != '/') { /* a plain CN, as Postfix sends it */
		memcpy(out, val, len);
		out[len] = '\0';
		return 0;
	}
	if (dn_unescape(val, len, out, outsz, 0) == (size_t)-1 ||
	    out[0] == '\0') {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ as sent */

/* A macro's value as sent, bounded: each sink (log line, tag header,
 * audit JSON) escapes it once by its own rules. */
static void
copy_field(char *dst, size_t dstsz, const char *src, unsigned *flags)
{
	dst[0] = '\0';
	if (src != NULL && tlsp_text_copy(dst, dstsz, src))
		*flags |= TLSP_FACT_TRUNCATED;
}

static int
has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

/* ------------------------------------------------------------- facts */

static enum tlsp_mta
facts_mta(const struct tlsp_macros *m)
{
	const char *v = m->mta_version;

	if (m->mta == TLSP_MTA_POSTFIX || m->mta == TLSP_MTA_SENDMAIL)
		return m->mta;
	if (v == NULL)
		return TLSP_MTA_UNKNOWN;
	if (ascii_prefix(v, "Postfix"))
		return TLSP_MTA_POSTFIX;
	/* Sendmail's "v" is its bare version number, "8.17.1". */
	if (v[0] >= '0' && v[0] <= '9')
		return TLSP_MTA_SENDMAIL;
	return TLSP_MTA_UNKNOWN;
}

static void
facts_version(const char *v, struct tlsp_facts *f)
{
	int ver;

	copy_field(f->version_raw, sizeof(f->version_raw), v, &f->flags);
	if (v == NULL || *v == '\0') {
		f->version = TLSP_VER_NONE;
		return;
	}
	ver = tlsp_version_lookup(v);
	if (ver < 0) {
		f->version = TLSP_VER_UNKNOWN;
		f->flags |= TLSP_FACT_BAD_VERSION;
	} else {
		f->version = (enum tlsp_version)ver;
	}
}

/* Strict decimal 0..65535. "" is treated as absent, like the version. */
static void
facts_bits(const char *v, struct tlsp_facts *f)
{
	long n = 0;

	if (v == NULL || *v == '\0')
		return;
	for (const char *p = v; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || (n = n * 10 + (*p - '0')) > 65535) {
			f->flags |= TLSP_FACT_BAD_BITS;
			return;
		}
	}
	f->cipher_bits = (int)n;
}

/*
 * A certificate name: Sendmail's xtext DN (or one that looks like a DN
 * from an unknown MTA), else a plain CN as Postfix sends it. On any fault
 * both outputs stay "" and `bad` is flagged.
 */
static void
facts_cert_name(const char *v, enum tlsp_mta mta, char *dn, char *cn,
		unsigned *flags, unsigned bad)
{
	enum xt_status st;
	size_t len;

	if (v == NULL || *v == '\0')
		return;
	if (mta == TLSP_MTA_SENDMAIL ||
	    (mta == TLSP_MTA_UNKNOWN && *v == '/')) {
		char raw[TLSP_DN_MAX];

		st = xtext_decode(v, raw, sizeof(raw), &len);
		if (st == XT_OVERFLOW)
			*flags |= TLSP_FACT_TRUNCATED;
		if (st == XT_OK) /* then OpenSSL's own escapes, "/" kept */
			len = dn_unescape(raw, len, dn, TLSP_DN_MAX, 1);
		if (st != XT_OK || len == (size_t)-1 || has_control(dn, len)) {
			*flags |= bad;
			dn[0] = '\0';
			return;
		}
		/* A certificate without a CN is legal (SAN only). */
		(void)tlsp_facts_dn_cn(dn, cn, TLSP_DN_MAX);
		return;
	}
	len = strnlen(v, TLSP_DN_MAX);
	if (len == TLSP_DN_MAX)
		*flags |= TLSP_FACT_TRUNCATED | bad;
	else if (has_control(v, len))
		*flags |= bad;
	else
		memcpy(cn, v, len + 1);
}

/* Sendmail writes "AB:CD:..."; pins are compared as bare lowercase hex. */
static void
facts_fingerprint(const char *v, struct tlsp_facts *f)
{
	size_t n = 0;

	if (v == NULL || *v == '\0')
		return;
	for (; *v != '\0'; v++) {
		if (*v == ':')
			continue;
		if (hexval((unsigned char)*v) < 0 || n == 128)
			goto bad;
		f->fingerprint[n++] = (char)ascii_lower((unsigned char)*v);
	}
	if (n == 0 || n % 2 != 0)
		goto bad;
	f->fingerprint[n] = '\0';
	return;
bad:
	f->fingerprint[0] = '\0';
	f->flags |= TLSP_FACT_BAD_FP;
}

/* Postfix sends "192.0.2.1" or "2001:db8::1", Sendmail may prefix
 * "IPv6:"; brackets are tolerated. Anything else is flagged. */
static int
client_addr_ok(const char *v)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char buf[INET6_ADDRSTRLEN + 8];
	size_t len = strnlen(v, sizeof(buf));
	char *s = buf;

	if (len == sizeof(buf))
		return 0;
	memcpy(buf, v, len + 1);
	if (len >= 2 && buf[0] == '[' && buf[len - 1] == ']') {
		buf[len - 1] = '\0';
		s++;
	}
	if (ascii_prefix(s, "IPv6:"))
		return inet_pton(AF_INET6, s + 5, bin) == 1;
	return inet_pton(AF_INET, s, bin) == 1 ||
	       inet_pton(AF_INET6, s, bin) == 1;
}

/* Sendmail's {verify}: only OK and TRUSTED mean a verified chain. */
static enum tlsp_cert_state
cert_sendmail(const struct tlsp_macros *m, int subject)
{
	if (strcmp(m->verify, "OK") == 0 || strcmp(m->verify, "TRUSTED") == 0)
		return TLSP_CERT_VERIFIED;
	/* NO, NOT, NONE, CLEAR: no certificate asked for or shown; FAIL,
	 * TEMP, PROTOCOL, SOFTWARE...: the subject tells if one was shown. */
	return subject ? TLSP_CERT_PRESENTED : TLSP_CERT_NONE;
}

/* Read the enum's comment in policy.h: what each MTA can show. */
static enum tlsp_cert_state
facts_cert(const struct tlsp_macros *m, const struct tlsp_facts *f)
{
	int subject = m->cert_subject != NULL && *m->cert_subject != '\0';

	if (f->version == TLSP_VER_NONE)
		return TLSP_CERT_NONE;
	if (f->mta == TLSP_MTA_POSTFIX)
		return subject ? TLSP_CERT_VERIFIED : TLSP_CERT_NOT_VERIFIED;
	/* Sendmail, or an MTA that sent a Sendmail-style verdict. */
	if (m->verify != NULL)
		return cert_sendmail(m, subject);
	if (subject)
		return TLSP_CERT_PRESENTED_UNKNOWN;
	/* Sendmail says "" for no certificate; others show nothing. */
	if (f->mta == TLSP_MTA_SENDMAIL && m->cert_subject != NULL)
		return TLSP_CERT_NONE;
	return TLSP_CERT_UNKNOWN;
}

/*
 * The client's verified host name. {client_resolve} says whether the
 * name was verified (both MTAs send it when asked: OK, FAIL, FORGED,
 * TEMP); without it only Postfix's {client_name} can be believed, which
 * is "unknown" unless verified. Sendmail's name without {client_resolve}
 * proves nothing: it may be the PTR name of a forged lookup.
 */
static void
facts_client_name(const struct tlsp_macros *m, struct tlsp_facts *f)
{
	const char *name = m->client_name, *why;

	copy_field(f->client_resolve, sizeof(f->client_resolve),
		   m->client_resolve, &f->flags);
	f->client_name_state = TLSP_NAME_UNKNOWN;
	if (m->client_resolve != NULL) {
		if (strcmp(m->client_resolve, "FAIL") == 0 ||
		    strcmp(m->client_resolve, "FORGED") == 0)
			f->client_name_state = TLSP_NAME_NONE;
		if (strcmp(m->client_resolve, "OK") != 0)
			return;
	} else if (f->mta != TLSP_MTA_POSTFIX) {
		return;
	}
	if (name == NULL)
		return;
	f->client_name_state = TLSP_NAME_NONE;
	if (strcmp(name, "unknown") == 0 || name[0] == '[' || name[0] == '\0')
		return;
	if (tlsp_domain_normalize(name, f->client_name, sizeof(f->client_name),
				  &why) < 0) {
		f->client_name[0] = '\0';
		f->flags |= TLSP_FACT_BAD_CLIENT_NAME;
		return;
	}
	f->client_name_state = TLSP_NAME_VERIFIED;
}

static void
facts_reset(struct tlsp_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->cipher_bits = -1;
	f->cipher_info.bits = -1;
	f->cipher_info.forward_secrecy = -1;
	f->cipher_info.aead = -1;
}

void
tlsp_facts_from_macros(const struct tlsp_macros *m, struct tlsp_facts *f)
{
	static const struct tlsp_macros none = {0};

	facts_reset(f);
	if (m == NULL)
		m = &none;
	f->sent = (m->mta_version ? TLSP_SENT_MTA_VERSION : 0) |
		  (m->tls_version ? TLSP_SENT_TLS_VERSION : 0) |
		  (m->cipher ? TLSP_SENT_CIPHER : 0) |
		  (m->cipher_bits ? TLSP_SENT_CIPHER_BITS : 0) |
		  (m->cert_subject ? TLSP_SENT_CERT_SUBJECT : 0) |
		  (m->cert_issuer ? TLSP_SENT_CERT_ISSUER : 0) |
		  (m->verify ? TLSP_SENT_VERIFY : 0) |
		  (m->cert_fp ? TLSP_SENT_CERT_FP : 0) |
		  (m->auth_authen ? TLSP_SENT_AUTH_AUTHEN : 0) |
		  (m->daemon_name ? TLSP_SENT_DAEMON_NAME : 0) |
		  (m->client_addr ? TLSP_SENT_CLIENT_ADDR : 0) |
		  (m->client_name ? TLSP_SENT_CLIENT_NAME : 0) |
		  (m->client_resolve ? TLSP_SENT_CLIENT_RESOLVE : 0);
	f->mta = facts_mta(m);
	facts_version(m->tls_version, f);
	copy_field(f->cipher, sizeof(f->cipher), m->cipher, &f->flags);
	tlsp_cipher_classify(m->cipher, &f->cipher_info);
	facts_bits(m->cipher_bits, f);
	f->verify_seen = m->verify != NULL;
	copy_field(f->verify, sizeof(f->verify), m->verify, &f->flags);
	f->subject_seen = m->cert_subject != NULL;
	facts_cert_name(m->cert_subject, f->mta, f->subject_dn, f->subject_cn,
			&f->flags, TLSP_FACT_BAD_SUBJECT);
	f->issuer_seen = m->cert_issuer != NULL;
	facts_cert_name(m->cert_issuer, f->mta, f->issuer_dn, f->issuer_cn,
			&f->flags, TLSP_FACT_BAD_ISSUER);
	facts_fingerprint(m->cert_fp, f);
	f->authenticated = m->auth_authen != NULL && *m->auth_authen != '\0';
	copy_field(f->daemon_name, sizeof(f->daemon_name), m->daemon_name,
		   &f->flags);
	copy_field(f->client_addr, sizeof(f->client_addr), m->client_addr,
		   &f->flags);
	if (m->client_addr != NULL && *m->client_addr != '\0' &&
	    !client_addr_ok(m->client_addr))
		f->flags |= TLSP_FACT_BAD_CLIENT;
	f->cert = facts_cert(m, f);
	facts_client_name(m, f);
}
