/*
 * test_facts.c - the name tables (names.c) and the macro-to-facts
 * normalisation (facts.c): xtext, DN parsing, both MTAs' macro shapes,
 * the client certificate state, and hostile values in every field.
 *
 * Each table holds one behaviour per row; each test loops over one table
 * and names the failing row. The hostile-input test checks invariants
 * (never crash, macro values kept as sent or cut between characters,
 * names free of controls) rather than exact outputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tlspolicy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define PF "Postfix 3.7.11"
#define SM "8.17.1"

#define check_int(row, what, got, want)                                        \
	do {                                                                   \
		long g_ = (long)(got), w_ = (long)(want);                      \
		if (g_ != w_)                                                  \
			fail_msg("%s: %s = %ld, want %ld", (row), (what), g_,  \
				 w_);                                          \
	} while (0)

#define check_flags(row, got, want)                                            \
	do {                                                                   \
		unsigned g_ = (got), w_ = (want);                              \
		if (g_ != w_)                                                  \
			fail_msg("%s: flags = %#x, want %#x", (row), g_, w_);  \
	} while (0)

#define check_str(row, what, got, want)                                        \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		if (w_ != NULL && strcmp(g_, w_) != 0)                         \
			fail_msg("%s: %s = \"%s\", want \"%s\"", (row),        \
				 (what), g_, w_);                              \
	} while (0)

/* Big hostile values, built once by the group setup. */
#define BIG (64 * 1024)
static char big_a[BIG + 1];   /* "AAAA..." */
static char big_dn[BIG + 1];  /* "/CN=" then "+41" repeated */
static char big_hex[BIG + 1]; /* "ab:ab:..." */
static char dn_1023[1024];    /* a CN of exactly TLSP_DN_MAX - 1 bytes */
static char dn_1024[1025];    /* one byte too many */

static int
setup_big(void **state)
{
	(void)state;
	memset(big_a, 'A', BIG);
	memcpy(big_dn, "/CN=", 4);
	for (size_t i = 4; i + 3 <= BIG; i += 3)
		memcpy(big_dn + i, "+41", 3);
	for (size_t i = 0; i + 3 <= BIG; i += 3)
		memcpy(big_hex + i, "ab:", 3);
	memset(dn_1023, 'c', sizeof(dn_1023) - 1);
	memset(dn_1024, 'c', sizeof(dn_1024) - 1);
	return 0;
}

/* ------------------------------------------------------------- names */

struct lookup_row {
	const char *name;
	int (*lookup)(const char *);
	const char *in;
	int want;
};

static const struct lookup_row lookup_rows[] = {
	{"version TLSv1", tlsp_version_lookup, "TLSv1", TLSP_VER_TLSV1},
	{"version TLSv1.0 is TLSv1", tlsp_version_lookup, "TLSv1.0",
	 TLSP_VER_TLSV1},
	{"version TLSv1.1", tlsp_version_lookup, "TLSv1.1", TLSP_VER_TLSV1_1},
	{"version case-insensitive", tlsp_version_lookup, "tlsv1.2",
	 TLSP_VER_TLSV1_2},
	{"version TLSv1.3", tlsp_version_lookup, "TLSv1.3", TLSP_VER_TLSV1_3},
	{"version SSLv3", tlsp_version_lookup, "SSLv3", TLSP_VER_SSLV3},
	{"version SSLv2", tlsp_version_lookup, "SSLv2", TLSP_VER_SSLV2},
	{"version UNKNOWN (Sendmail sends it)", tlsp_version_lookup, "UNKNOWN",
	 TLSP_VER_UNKNOWN},
	{"version none is not sent", tlsp_version_lookup, "none", -1},
	{"version empty", tlsp_version_lookup, "", -1},
	{"version NULL", tlsp_version_lookup, NULL, -1},
	{"version TLSv1.4", tlsp_version_lookup, "TLSv1.4", -1},
	{"version trailing space", tlsp_version_lookup, "TLSv1.2 ", -1},
	{"version prefix only", tlsp_version_lookup, "TLSv1.", -1},
	{"action reject", tlsp_action_lookup, "reject", TLSP_ACTION_REJECT},
	{"action upper case", tlsp_action_lookup, "REJECT", TLSP_ACTION_REJECT},
	{"action quarantine", tlsp_action_lookup, "Quarantine",
	 TLSP_ACTION_QUARANTINE},
	{"action accept", tlsp_action_lookup, "accept", TLSP_ACTION_ACCEPT},
	{"action tempfail unknown", tlsp_action_lookup, "tempfail", -1},
	{"action NULL", tlsp_action_lookup, NULL, -1},
	{"mode monitor", tlsp_mode_lookup, "monitor", TLSP_MODE_MONITOR},
	{"mode upper case", tlsp_mode_lookup, "ENFORCE", TLSP_MODE_ENFORCE},
	{"mode dry-run unknown", tlsp_mode_lookup, "dry-run", -1},
	{"mta postfix", tlsp_mta_lookup, "postfix", TLSP_MTA_POSTFIX},
	{"mta upper case", tlsp_mta_lookup, "SENDMAIL", TLSP_MTA_SENDMAIL},
	{"mta unknown", tlsp_mta_lookup, "unknown", TLSP_MTA_UNKNOWN},
	{"mta exim", tlsp_mta_lookup, "exim", -1},
	{"req ciphers.allow", tlsp_req_lookup, "ciphers.allow",
	 TLSP_REQ_CIPHER_ALLOW},
	{"req fingerprints", tlsp_req_lookup, "fingerprints",
	 TLSP_REQ_FINGERPRINT},
	{"req is case-sensitive (YAML keys are)", tlsp_req_lookup, "Subject",
	 -1},
	{"req singular fingerprint", tlsp_req_lookup, "fingerprint", -1},
	{"req empty", tlsp_req_lookup, "", -1},
};

static void
test_names_lookup(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(lookup_rows); i++) {
		const struct lookup_row *r = &lookup_rows[i];

		check_int(r->name, "lookup", r->lookup(r->in), r->want);
	}
}

struct name_row {
	const char *name;
	const char *(*fn)(int);
	int value;
	const char *want; /* NULL: out of range */
};

/* The name functions take enums; these shims let one table hold them. */
static const char *
mta_n(int v)
{
	return tlsp_mta_name((enum tlsp_mta)v);
}
static const char *
ver_n(int v)
{
	return tlsp_version_name((enum tlsp_version)v);
}
static const char *
cert_n(int v)
{
	return tlsp_cert_state_name((enum tlsp_cert_state)v);
}
static const char *
act_n(int v)
{
	return tlsp_action_name((enum tlsp_action)v);
}
static const char *
mode_n(int v)
{
	return tlsp_mode_name((enum tlsp_mode)v);
}
static const char *
req_n(int v)
{
	return tlsp_req_name((enum tlsp_req)v);
}

static const struct name_row name_rows[] = {
	{"mta unknown", mta_n, TLSP_MTA_UNKNOWN, "unknown"},
	{"mta sendmail", mta_n, TLSP_MTA_SENDMAIL, "sendmail"},
	{"mta out of range", mta_n, 3, NULL},
	{"version none", ver_n, TLSP_VER_NONE, "none"},
	{"version UNKNOWN", ver_n, TLSP_VER_UNKNOWN, "UNKNOWN"},
	{"version TLSv1", ver_n, TLSP_VER_TLSV1, "TLSv1"},
	{"version TLSv1.3", ver_n, TLSP_VER_TLSV1_3, "TLSv1.3"},
	{"version negative", ver_n, -1, NULL},
	{"cert unknown", cert_n, TLSP_CERT_UNKNOWN, "unknown"},
	{"cert none", cert_n, TLSP_CERT_NONE, "none"},
	{"cert presented", cert_n, TLSP_CERT_PRESENTED, "presented"},
	{"cert presented unknown", cert_n, TLSP_CERT_PRESENTED_UNKNOWN,
	 "presented (verification unknown)"},
	{"cert not verified", cert_n, TLSP_CERT_NOT_VERIFIED, "not verified"},
	{"cert verified", cert_n, TLSP_CERT_VERIFIED, "verified"},
	{"cert out of range", cert_n, 6, NULL},
	{"action tag", act_n, TLSP_ACTION_TAG, "tag"},
	{"action defer", act_n, TLSP_ACTION_DEFER, "defer"},
	{"action out of range", act_n, 5, NULL},
	{"mode monitor", mode_n, TLSP_MODE_MONITOR, "monitor"},
	{"mode out of range", mode_n, 2, NULL},
	{"req tls", req_n, TLSP_REQ_TLS, "tls"},
	{"req ciphers.deny", req_n, TLSP_REQ_CIPHER_DENY, "ciphers.deny"},
	{"req COUNT is no name", req_n, TLSP_REQ_COUNT, NULL},
};

static void
test_names_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(name_rows); i++) {
		const struct name_row *r = &name_rows[i];
		const char *got = r->fn(r->value);

		if (r->want == NULL && got != NULL)
			fail_msg("%s: got \"%s\", want NULL", r->name, got);
		if (r->want != NULL && (got == NULL || strcmp(got, r->want)))
			fail_msg("%s: got \"%s\", want \"%s\"", r->name,
				 got ? got : "(null)", r->want);
	}
}

/* Every name of every enum looks itself up (except version "none"). */
static void
test_names_round_trip(void **state)
{
	(void)state;
	for (int v = TLSP_VER_UNKNOWN; v <= TLSP_VER_TLSV1_3; v++)
		check_int(ver_n(v), "version", tlsp_version_lookup(ver_n(v)),
			  v);
	for (int v = 0; v <= TLSP_MTA_SENDMAIL; v++)
		check_int(mta_n(v), "mta", tlsp_mta_lookup(mta_n(v)), v);
	for (int v = 0; v <= TLSP_ACTION_REJECT; v++)
		check_int(act_n(v), "action", tlsp_action_lookup(act_n(v)), v);
	for (int v = 0; v <= TLSP_MODE_MONITOR; v++)
		check_int(mode_n(v), "mode", tlsp_mode_lookup(mode_n(v)), v);
	for (int v = 0; v < TLSP_REQ_COUNT; v++)
		check_int(req_n(v), "req", tlsp_req_lookup(req_n(v)), v);
}

/* ------------------------------------------------------------- xtext */

struct xtext_row {
	const char *name;
	const char *in;
	size_t outsz;
	int want_rc;
	const char *want; /* compared over want_rc bytes when >= 0 */
};

static const struct xtext_row xtext_rows[] = {
	{"plain text", "abc", 64, 3, "abc"},
	{"+20 is a space", "Bank+20AG", 64, 7, "Bank AG"},
	{"+2F is a slash", "a+2Fb", 64, 3, "a/b"},
	{"lower-case hex accepted", "a+2fb", 64, 3, "a/b"},
	{"+2B is a plus", "1+2B1", 64, 3, "1+1"},
	{"UTF-8 bytes pass raw", "+C3+BC", 64, 2, "\xc3\xbc"},
	{"empty", "", 64, 0, ""},
	{"+00 decodes to a NUL byte", "a+00b", 64, 3, "a\0b"},
	{"trailing +", "abc+", 64, -1, "abc"},
	{"+ with one digit", "abc+2", 64, -1, "abc"},
	{"+ with non-hex", "a+ZZb", 64, -1, "a"},
	{"+ with G", "+G0", 64, -1, ""},
	{"+ with a space", "+ 0", 64, -1, ""},
	{"exact fit", "abc", 4, 3, "abc"},
	{"overflow keeps a prefix", "abcdef", 4, -1, "abc"},
	{"overflow inside an escape", "ab+41+42", 3, -1, "ab"},
	{"outsz 1, empty input", "", 1, 0, ""},
	{"outsz 1, one byte", "a", 1, -1, ""},
	{"NULL input", NULL, 8, -1, ""},
};

static void
test_xtext(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(xtext_rows); i++) {
		const struct xtext_row *r = &xtext_rows[i];
		char out[64];
		int rc;

		memset(out, 'Z', sizeof(out));
		rc = tlsp_facts_xtext_decode(r->in, out, r->outsz);
		check_int(r->name, "rc", rc, r->want_rc);
		if (rc >= 0 && memcmp(out, r->want, (size_t)rc + 1) != 0)
			fail_msg("%s: out differs", r->name);
		if (rc < 0)
			check_str(r->name, "prefix", out, r->want);
	}
}

static void
test_xtext_zero_size(void **state)
{
	char out[1] = {'Z'};

	(void)state;
	assert_int_equal(tlsp_facts_xtext_decode("a", out, 0), -1);
	assert_int_equal(out[0], 'Z');
	assert_int_equal(tlsp_facts_xtext_decode("a", NULL, 8), -1);
}

/* ---------------------------------------------------------------- DN */

struct dn_row {
	const char *name;
	const char *dn;
	size_t outsz;
	int want_rc;
	const char *want;
};

static const struct dn_row dn_rows[] = {
	{"Sendmail DN", "/C=US/O=Example Corp/CN=mx.example.com", 64, 0,
	 "mx.example.com"},
	{"CN first", "/CN=mx.example.com/O=Example", 64, 0, "mx.example.com"},
	{"last CN wins", "/CN=a.example/CN=b.example", 64, 0, "b.example"},
	{"attribute names case-insensitive", "/c=US/cn=mx.example", 64, 0,
	 "mx.example"},
	{"commonName spelled out", "/commonName=mx.example", 64, 0,
	 "mx.example"},
	{"CN by OID", "/2.5.4.3=mx.example", 64, 0, "mx.example"},
	{"slash inside another value", "/O=A/B Corp/CN=mx.example", 64, 0,
	 "mx.example"},
	{"slash inside the CN", "/CN=mx/1.example/O=x", 64, 0, "mx/1.example"},
	{"space in a value", "/C=DE/O=Bank AG/CN=mx.bank.example", 64, 0,
	 "mx.bank.example"},
	{"emailAddress after CN", "/CN=mx.example/emailAddress=pm@example", 64,
	 0, "mx.example"},
	{"CNAME is not CN", "/CNAME=x", 64, -1, ""},
	{"no CN", "/C=US/O=Example", 64, -1, ""},
	{"empty CN", "/CN=", 64, -1, ""},
	{"empty CN before another", "/CN=/O=x", 64, -1, ""},
	{"Postfix CN copied", "mx.example.com", 64, 0, "mx.example.com"},
	{"Postfix CN with spaces", "Partner Issuing CA", 64, 0,
	 "Partner Issuing CA"},
	{"Postfix CN with = and /", "a=b/c", 64, 0, "a=b/c"},
	{"empty string", "", 64, -1, ""},
	{"NULL", NULL, 64, -1, ""},
	{"a lone slash", "/", 64, -1, ""},
	{"slash without =", "/CN", 64, -1, ""},
	{"empty attribute type", "/=x", 64, -1, ""},
	{"exact fit", "/CN=abc", 4, 0, "abc"},
	/* OpenSSL's escapes, as Sendmail 8.17 passes them on. */
	{"escaped slash stays in the value", "/O=A\\/B/CN=a\\/CN=b", 64, 0,
	 "a/CN=b"},
	{"escaped plus", "/CN=mx\\+1.example", 64, 0, "mx+1.example"},
	{"non-ASCII as \\xHH", "/O=X/CN=M\\xC3\\xBCller", 64, 0,
	 "M\xc3\xbcller"},
	{"escaped backslash", "/CN=a\\\\b", 64, 0, "a\\b"},
	{"overflow", "/CN=abcdef", 4, -1, ""},
	{"Postfix CN overflow", "abcdef", 4, -1, ""},
};

static void
test_dn_cn(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(dn_rows); i++) {
		const struct dn_row *r = &dn_rows[i];
		char out[64];

		memset(out, 'Z', sizeof(out));
		check_int(r->name, "rc", tlsp_facts_dn_cn(r->dn, out, r->outsz),
			  r->want_rc);
		check_str(r->name, "cn", out, r->want);
	}
}

/* ------------------------------------------------------------ version */

struct version_row {
	const char *name;
	const char *in;
	enum tlsp_version want;
	unsigned flags;
	const char *raw;
};

static const struct version_row version_rows[] = {
	{"absent is plaintext", NULL, TLSP_VER_NONE, 0, ""},
	{"empty is plaintext", "", TLSP_VER_NONE, 0, ""},
	{"TLSv1 (Postfix's TLS 1.0)", "TLSv1", TLSP_VER_TLSV1, 0, "TLSv1"},
	{"TLSv1.0 too", "TLSv1.0", TLSP_VER_TLSV1, 0, "TLSv1.0"},
	{"TLSv1.1", "TLSv1.1", TLSP_VER_TLSV1_1, 0, "TLSv1.1"},
	{"TLSv1.2", "TLSv1.2", TLSP_VER_TLSV1_2, 0, "TLSv1.2"},
	{"TLSv1.3", "TLSv1.3", TLSP_VER_TLSV1_3, 0, "TLSv1.3"},
	{"SSLv3 (Sendmail)", "SSLv3", TLSP_VER_SSLV3, 0, "SSLv3"},
	{"UNKNOWN (Sendmail) is not garbage", "UNKNOWN", TLSP_VER_UNKNOWN, 0,
	 "UNKNOWN"},
	{"garbage", "TLSv9", TLSP_VER_UNKNOWN, TLSP_FACT_BAD_VERSION, "TLSv9"},
	{"none is not a version", "none", TLSP_VER_UNKNOWN,
	 TLSP_FACT_BAD_VERSION, "none"},
	{"CRLF kept as sent", "TLSv1.2\r\n", TLSP_VER_UNKNOWN,
	 TLSP_FACT_BAD_VERSION, "TLSv1.2\r\n"},
	{"too long truncated", "TLSv1.2-but-much-longer-than-32-bytes",
	 TLSP_VER_UNKNOWN, TLSP_FACT_BAD_VERSION | TLSP_FACT_TRUNCATED,
	 "TLSv1.2-but-much-longer-than-32"},
};

static void
test_facts_version(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(version_rows); i++) {
		const struct version_row *r = &version_rows[i];
		struct tlsp_macros m = {.mta_version = PF,
					.tls_version = r->in};
		struct tlsp_facts f;

		tlsp_facts_from_macros(&m, &f);
		check_int(r->name, "version", f.version, r->want);
		check_flags(r->name, f.flags, r->flags);
		check_str(r->name, "version_raw", f.version_raw, r->raw);
	}
}

/* --------------------------------------------------------------- mta */

struct mta_row {
	const char *name;
	enum tlsp_mta given;
	const char *v;
	enum tlsp_mta want;
};

static const struct mta_row mta_rows[] = {
	{"Postfix from v", TLSP_MTA_UNKNOWN, PF, TLSP_MTA_POSTFIX},
	{"postfix lower case", TLSP_MTA_UNKNOWN, "postfix 3.8.1",
	 TLSP_MTA_POSTFIX},
	{"Sendmail from its version number", TLSP_MTA_UNKNOWN, SM,
	 TLSP_MTA_SENDMAIL},
	{"other MTA", TLSP_MTA_UNKNOWN, "Exim 4.96", TLSP_MTA_UNKNOWN},
	{"no v", TLSP_MTA_UNKNOWN, NULL, TLSP_MTA_UNKNOWN},
	{"empty v", TLSP_MTA_UNKNOWN, "", TLSP_MTA_UNKNOWN},
	{"given mta beats v", TLSP_MTA_SENDMAIL, PF, TLSP_MTA_SENDMAIL},
	{"given postfix", TLSP_MTA_POSTFIX, NULL, TLSP_MTA_POSTFIX},
	{"out-of-range mta derived from v", (enum tlsp_mta)42, SM,
	 TLSP_MTA_SENDMAIL},
};

static void
test_facts_mta(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(mta_rows); i++) {
		const struct mta_row *r = &mta_rows[i];
		struct tlsp_macros m = {.mta = r->given, .mta_version = r->v};
		struct tlsp_facts f;

		tlsp_facts_from_macros(&m, &f);
		check_int(r->name, "mta", f.mta, r->want);
	}
}

/* -------------------------------------------------------------- bits */

struct bits_row {
	const char *name;
	const char *in;
	int want;
	unsigned flags;
};

static const struct bits_row bits_rows[] = {
	{"absent", NULL, -1, 0},
	{"empty is absent", "", -1, 0},
	{"256", "256", 256, 0},
	{"zero (NULL cipher)", "0", 0, 0},
	{"leading zero", "0128", 128, 0},
	{"maximum", "65535", 65535, 0},
	{"one too many", "65536", -1, TLSP_FACT_BAD_BITS},
	{"huge", "99999999999999999999999", -1, TLSP_FACT_BAD_BITS},
	{"negative", "-1", -1, TLSP_FACT_BAD_BITS},
	{"plus sign", "+128", -1, TLSP_FACT_BAD_BITS},
	{"leading space", " 128", -1, TLSP_FACT_BAD_BITS},
	{"trailing garbage", "128abc", -1, TLSP_FACT_BAD_BITS},
	{"trailing CRLF", "128\r\n", -1, TLSP_FACT_BAD_BITS},
	{"hex", "0x80", -1, TLSP_FACT_BAD_BITS},
};

static void
test_facts_bits(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(bits_rows); i++) {
		const struct bits_row *r = &bits_rows[i];
		struct tlsp_macros m = {.mta_version = PF,
					.tls_version = "TLSv1.2",
					.cipher_bits = r->in};
		struct tlsp_facts f;

		tlsp_facts_from_macros(&m, &f);
		check_int(r->name, "cipher_bits", f.cipher_bits, r->want);
		check_flags(r->name, f.flags, r->flags);
	}
}

static void
test_facts_cipher_info(void **state)
{
	struct tlsp_macros m = {.mta_version = PF,
				.tls_version = "TLSv1.2",
				.cipher = "ECDHE-RSA-AES256-GCM-SHA384"};
	struct tlsp_facts f;

	(void)state;
	tlsp_facts_from_macros(&m, &f);
	assert_string_equal(f.cipher, "ECDHE-RSA-AES256-GCM-SHA384");
	assert_int_equal(f.cipher_bits, -1); /* not sent: no fallback here */
	assert_int_equal(f.cipher_info.known, 1);
	assert_int_equal(f.cipher_info.bits, 256);
	m.cipher = NULL;
	tlsp_facts_from_macros(&m, &f);
	assert_string_equal(f.cipher, "");
	assert_int_equal(f.cipher_info.known, 0);
	assert_int_equal(f.cipher_info.bits, -1);
	assert_int_equal(f.cipher_info.forward_secrecy, -1);
	assert_int_equal(f.cipher_info.aead, -1);
	assert_int_equal(f.cipher_info.families, 0);
}

/* A NULL macro set is "nothing sent", not a crash. */
static void
test_facts_null(void **state)
{
	struct tlsp_facts f;

	(void)state;
	memset(&f, 0x5a, sizeof(f));
	tlsp_facts_from_macros(NULL, &f);
	assert_int_equal(f.mta, TLSP_MTA_UNKNOWN);
	assert_int_equal(f.version, TLSP_VER_NONE);
	assert_int_equal(f.cert, TLSP_CERT_NONE);
	assert_int_equal(f.cipher_bits, -1);
	assert_int_equal(f.flags, 0);
	assert_string_equal(f.subject_cn, "");
}

/* ------------------------------------------------------- cert state */

struct cert_row {
	const char *name;
	const char *v;
	int plaintext;
	const char *verify;
	const char *subject;
	enum tlsp_cert_state want;
};

static const struct cert_row cert_rows[] = {
	{"Postfix plaintext", PF, 1, NULL, NULL, TLSP_CERT_NONE},
	{"Sendmail plaintext", SM, 1, NULL, NULL, TLSP_CERT_NONE},
	{"unknown MTA plaintext", NULL, 1, NULL, NULL, TLSP_CERT_NONE},
	{"plaintext beats a stray subject", SM, 1, "OK", "/CN=x",
	 TLSP_CERT_NONE},
	{"Postfix subject means verified", PF, 0, NULL, "mx.example",
	 TLSP_CERT_VERIFIED},
	{"Postfix no subject: none or untrusted", PF, 0, NULL, NULL,
	 TLSP_CERT_NOT_VERIFIED},
	{"Postfix empty subject", PF, 0, NULL, "", TLSP_CERT_NOT_VERIFIED},
	{"Postfix ignores a {verify}", PF, 0, "FAIL", "mx.example",
	 TLSP_CERT_VERIFIED},
	{"Sendmail OK", SM, 0, "OK", "/CN=mx.example", TLSP_CERT_VERIFIED},
	{"Sendmail TRUSTED", SM, 0, "TRUSTED", "/CN=mx.example",
	 TLSP_CERT_VERIFIED},
	{"Sendmail OK with empty subject", SM, 0, "OK", "", TLSP_CERT_VERIFIED},
	{"Sendmail lower-case ok is not OK", SM, 0, "ok", "/CN=mx.example",
	 TLSP_CERT_PRESENTED},
	{"Sendmail FAIL with subject", SM, 0, "FAIL", "/CN=mx.example",
	 TLSP_CERT_PRESENTED},
	{"Sendmail FAIL without subject", SM, 0, "FAIL", "", TLSP_CERT_NONE},
	{"Sendmail TEMP with subject", SM, 0, "TEMP", "/CN=mx.example",
	 TLSP_CERT_PRESENTED},
	{"Sendmail PROTOCOL with subject", SM, 0, "PROTOCOL", "/CN=x",
	 TLSP_CERT_PRESENTED},
	{"Sendmail SOFTWARE without subject", SM, 0, "SOFTWARE", NULL,
	 TLSP_CERT_NONE},
	{"Sendmail NO", SM, 0, "NO", "", TLSP_CERT_NONE},
	{"Sendmail NOT", SM, 0, "NOT", "", TLSP_CERT_NONE},
	{"Sendmail NONE", SM, 0, "NONE", NULL, TLSP_CERT_NONE},
	{"Sendmail CLEAR", SM, 0, "CLEAR", "", TLSP_CERT_NONE},
	{"Sendmail NOT with subject", SM, 0, "NOT", "/CN=x",
	 TLSP_CERT_PRESENTED},
	{"Sendmail unknown verdict", SM, 0, "MAYBE", "/CN=x",
	 TLSP_CERT_PRESENTED},
	{"Sendmail empty verdict", SM, 0, "", "/CN=x", TLSP_CERT_PRESENTED},
	{"Sendmail no {verify}, subject", SM, 0, NULL, "/CN=x",
	 TLSP_CERT_PRESENTED_UNKNOWN},
	{"Sendmail no {verify}, empty subject", SM, 0, NULL, "",
	 TLSP_CERT_NONE},
	{"Sendmail no {verify}, no subject", SM, 0, NULL, NULL,
	 TLSP_CERT_UNKNOWN},
	{"Sendmail bad xtext subject still presented", SM, 0, NULL, "/CN=a+Z",
	 TLSP_CERT_PRESENTED_UNKNOWN},
	{"unknown MTA with OK", NULL, 0, "OK", "/CN=x", TLSP_CERT_VERIFIED},
	{"unknown MTA with FAIL", NULL, 0, "FAIL", "/CN=x",
	 TLSP_CERT_PRESENTED},
	{"unknown MTA subject only", NULL, 0, NULL, "mx.example",
	 TLSP_CERT_PRESENTED_UNKNOWN},
	{"unknown MTA empty subject", NULL, 0, NULL, "", TLSP_CERT_UNKNOWN},
	{"unknown MTA nothing", NULL, 0, NULL, NULL, TLSP_CERT_UNKNOWN},
};

static void
test_facts_cert(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(cert_rows); i++) {
		const struct cert_row *r = &cert_rows[i];
		struct tlsp_macros m = {
			.mta_version = r->v,
			.tls_version = r->plaintext ? NULL : "TLSv1.3",
			.verify = r->verify,
			.cert_subject = r->subject,
		};
		struct tlsp_facts f;

		tlsp_facts_from_macros(&m, &f);
		if (f.cert != r->want)
			fail_msg("%s: cert = %s, want %s", r->name,
				 tlsp_cert_state_name(f.cert),
				 tlsp_cert_state_name(r->want));
		check_int(r->name, "verify_seen", f.verify_seen,
			  r->verify != NULL);
		check_int(r->name, "subject_seen", f.subject_seen,
			  r->subject != NULL);
	}
}

/* ------------------------------------------------- subject and issuer */

struct cname_row {
	const char *name;
	const char *v; /* MTA version */
	const char *in;
	const char *dn, *cn;
	unsigned bad;	/* 1: BAD_SUBJECT / BAD_ISSUER expected */
	unsigned flags; /* other flags expected */
};

static const struct cname_row cname_rows[] = {
	{"Postfix CN", PF, "mx.partner.example", "", "mx.partner.example", 0,
	 0},
	{"Postfix CN is not xtext", PF, "a+20b", "", "a+20b", 0, 0},
	{"Postfix CN with a leading slash stays a CN", PF, "/CN=x", "", "/CN=x",
	 0, 0},
	{"Postfix UTF-8 CN kept", PF,
	 "b\xc3\xbc"
	 "cher.example",
	 "",
	 "b\xc3\xbc"
	 "cher.example",
	 0, 0},
	{"Postfix quotes kept", PF, "a\"b'c", "", "a\"b'c", 0, 0},
	{"Postfix invalid UTF-8 kept for matching", PF, "a\xff", "", "a\xff", 0,
	 0},
	{"Postfix CR refused", PF, "mx.example\r", "", "", 1, 0},
	{"Postfix LF refused", PF, "mx\nexample", "", "", 1, 0},
	{"Postfix TAB refused", PF, "mx\texample", "", "", 1, 0},
	{"Postfix DEL refused", PF, "mx\x7f", "", "", 1, 0},
	{"Postfix empty", PF, "", "", "", 0, 0},
	{"Postfix CN of 1023 bytes fits", PF, dn_1023, "", dn_1023, 0, 0},
	{"Postfix CN of 1024 bytes", PF, dn_1024, "", "", 1,
	 TLSP_FACT_TRUNCATED},
	{"Postfix 64 KiB", PF, big_a, "", "", 1, TLSP_FACT_TRUNCATED},
	{"Sendmail DN with +20", SM, "/C=DE/O=Bank+20AG/CN=mx.bank.example",
	 "/C=DE/O=Bank AG/CN=mx.bank.example", "mx.bank.example", 0, 0},
	{"Sendmail +2F inside the CN", SM, "/O=x/CN=a+2Fb", "/O=x/CN=a/b",
	 "a/b", 0, 0},
	{"Sendmail +2F forming an attribute", SM, "/CN=a+2FO=b", "/CN=a/O=b",
	 "a", 0, 0},
	{"Sendmail lower-case xtext", SM, "/CN=a+2fb", "/CN=a/b", "a/b", 0, 0},
	{"Sendmail UTF-8 through xtext", SM, "/CN=b+C3+BCcher.example",
	 "/CN=b\xc3\xbc"
	 "cher.example",
	 "b\xc3\xbc"
	 "cher.example",
	 0, 0},
	{"Sendmail invalid UTF-8 kept for matching", SM, "/CN=a+FF",
	 "/CN=a\xff", "a\xff", 0, 0},
	{"Sendmail quotes kept", SM, "/CN=a\"b", "/CN=a\"b", "a\"b", 0, 0},
	{"Sendmail DN without CN", SM, "/C=US/O=Example", "/C=US/O=Example", "",
	 0, 0},
	{"Sendmail value without slash", SM, "mx.example", "mx.example",
	 "mx.example", 0, 0},
	{"Sendmail bad escape", SM, "/CN=a+ZZ", "", "", 1, 0},
	{"Sendmail trailing +", SM, "/CN=a+", "", "", 1, 0},
	{"Sendmail +0D decodes to CR", SM, "/CN=a+0D+0Ab", "", "", 1, 0},
	{"Sendmail +00 decodes to NUL", SM, "/CN=a+00b", "", "", 1, 0},
	{"Sendmail raw CR", SM, "/CN=a\rb", "", "", 1, 0},
	{"Sendmail 64 KiB", SM, big_dn, "", "", 1, TLSP_FACT_TRUNCATED},
	{"Sendmail empty", SM, "", "", "", 0, 0},
	{"unknown MTA DN decoded as xtext", NULL, "/CN=a+20b", "/CN=a b", "a b",
	 0, 0},
	{"unknown MTA CN kept plain", NULL, "a+20b", "", "a+20b", 0, 0},
};

static void
check_cname(const struct cname_row *r, int issuer)
{
	struct tlsp_macros m = {.mta_version = r->v, .tls_version = "TLSv1.2"};
	unsigned bad = issuer ? TLSP_FACT_BAD_ISSUER : TLSP_FACT_BAD_SUBJECT;
	struct tlsp_facts f;
	char name[160];

	snprintf(name, sizeof(name), "%s (%s)", r->name,
		 issuer ? "issuer" : "subject");
	*(issuer ? &m.cert_issuer : &m.cert_subject) = r->in;
	tlsp_facts_from_macros(&m, &f);
	check_str(name, "dn", issuer ? f.issuer_dn : f.subject_dn, r->dn);
	check_str(name, "cn", issuer ? f.issuer_cn : f.subject_cn, r->cn);
	check_flags(name, f.flags, (r->bad ? bad : 0) | r->flags);
	check_int(name, "seen", issuer ? f.issuer_seen : f.subject_seen, 1);
}

static void
test_facts_cert_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(cname_rows); i++) {
		check_cname(&cname_rows[i], 0);
		check_cname(&cname_rows[i], 1);
	}
}

/* ------------------------------------------------------- fingerprint */

struct fp_row {
	const char *name;
	const char *in;
	const char *want;
	unsigned flags;
};

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct fp_row fp_rows[] = {
	{"absent", NULL, "", 0},
	{"empty", "", "", 0},
	{"MD5 with colons", "8C:7E:1A:2B:3C:4D:5E:6F:70:81:92:A3:B4:C5:D6:E7",
	 "8c7e1a2b3c4d5e6f708192a3b4c5d6e7", 0},
	{"without colons", "ABCDEF01", "abcdef01", 0},
	{"lower case kept", "abcdef01", "abcdef01", 0},
	{"SHA-512 length fits", HEX64 HEX64, HEX64 HEX64, 0},
	{"longer than SHA-512", HEX64 HEX64 "00", "", TLSP_FACT_BAD_FP},
	{"odd length", "AB:CD:E", "", TLSP_FACT_BAD_FP},
	{"non-hex", "AB:CG", "", TLSP_FACT_BAD_FP},
	{"colons only", ":::", "", TLSP_FACT_BAD_FP},
	{"space inside", "ab cd", "", TLSP_FACT_BAD_FP},
	{"trailing CRLF", "AB:CD\r\n", "", TLSP_FACT_BAD_FP},
	{"64 KiB", big_hex, "", TLSP_FACT_BAD_FP},
};

static void
test_facts_fingerprint(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(fp_rows); i++) {
		const struct fp_row *r = &fp_rows[i];
		struct tlsp_macros m = {.mta_version = SM,
					.tls_version = "TLSv1.2",
					.cert_fp = r->in};
		struct tlsp_facts f;

		tlsp_facts_from_macros(&m, &f);
		check_str(r->name, "fingerprint", f.fingerprint, r->want);
		check_flags(r->name, f.flags, r->flags);
	}
}

/* ------------------------------------------- client, daemon, auth */

struct client_row {
	const char *name;
	const char *in;
	const char *want;
	unsigned flags;
};

static const struct client_row client_rows[] = {
	{"absent", NULL, "", 0},
	{"empty", "", "", 0},
	{"IPv4", "192.0.2.1", "192.0.2.1", 0},
	{"IPv6", "2001:db8::1", "2001:db8::1", 0},
	{"Sendmail IPv6: prefix", "IPv6:2001:db8::1", "IPv6:2001:db8::1", 0},
	{"prefix case-insensitive", "ipv6:::1", "ipv6:::1", 0},
	{"bracketed", "[192.0.2.1]", "[192.0.2.1]", 0},
	{"IPv6: prefix with IPv4 is bad", "IPv6:192.0.2.1", "IPv6:192.0.2.1",
	 TLSP_FACT_BAD_CLIENT},
	{"hostname", "unknown", "unknown", TLSP_FACT_BAD_CLIENT},
	{"CRLF kept as sent and flagged", "192.0.2.1\r\n", "192.0.2.1\r\n",
	 TLSP_FACT_BAD_CLIENT},
	{"unclosed bracket", "[192.0.2.1", "[192.0.2.1", TLSP_FACT_BAD_CLIENT},
	{"64 KiB", big_a, NULL, TLSP_FACT_BAD_CLIENT | TLSP_FACT_TRUNCATED},
};

static void
test_facts_client_addr(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(client_rows); i++) {
		const struct client_row *r = &client_rows[i];
		struct tlsp_macros m = {.mta_version = PF,
					.client_addr = r->in};
		struct tlsp_facts f;

		tlsp_facts_from_macros(&m, &f);
		check_str(r->name, "client_addr", f.client_addr, r->want);
		check_flags(r->name, f.flags, r->flags);
	}
}

/* How every macro value is kept, shown through {daemon_name}: as sent,
 * bounded, never cut inside a character; each sink escapes it once. */
static const struct client_row escape_rows[] = {
	{"plain", "smtpd", "smtpd", 0},
	{"CR LF", "a\r\nb", "a\r\nb", 0},
	{"NUL-free controls", "\x01\x1b[31m", "\x01\x1b[31m", 0},
	{"backslash", "a\\b", "a\\b", 0},
	{"double quote", "a\"b'c", "a\"b'c", 0},
	{"UTF-8", "caf\xc3\xa9", "caf\xc3\xa9", 0},
	{"4-byte UTF-8", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", 0},
	{"invalid byte", "a\xff", "a\xff", 0},
	{"U+202E", "a\xe2\x80\xae", "a\xe2\x80\xae", 0},
	{"C1 control NEL", "\xc2\x85", "\xc2\x85", 0},
	{"DEL", "\x7f", "\x7f", 0},
	{"cut UTF-8 at end", "a\xe2\x82", "a\xe2\x82", 0},
	{"63 bytes fit",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0},
	{"64 bytes truncated",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	 TLSP_FACT_TRUNCATED},
	{"a control character is one byte",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r", 0},
	{"invalid bytes are cut one by one",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xff\xfe",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xff",
	 TLSP_FACT_TRUNCATED},
	{"a character is never split",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	 TLSP_FACT_TRUNCATED},
};

static void
test_facts_escape(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(escape_rows); i++) {
		const struct client_row *r = &escape_rows[i];
		struct tlsp_macros m = {.mta_version = PF,
					.daemon_name = r->in};
		struct tlsp_facts f;

		tlsp_facts_from_macros(&m, &f);
		check_str(r->name, "daemon_name", f.daemon_name, r->want);
		check_flags(r->name, f.flags, r->flags);
	}
}

struct auth_row {
	const char *name;
	const char *in;
	int want;
};

static const struct auth_row auth_rows[] = {
	{"absent", NULL, 0},
	{"empty", "", 0},
	{"a user", "alice", 1},
};

static void
test_facts_auth(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(auth_rows); i++) {
		struct tlsp_macros m = {.auth_authen = auth_rows[i].in};
		struct tlsp_facts f;

		tlsp_facts_from_macros(&m, &f);
		check_int(auth_rows[i].name, "authenticated", f.authenticated,
			  auth_rows[i].want);
	}
}

/* ---------------------------------------------------- hostile inputs */

/* Decodes one UTF-8 character (independent of escape.c): its length,
 * or 0 when s does not start a valid one. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned long cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	n = (s[0] & 0xe0) == 0xc0   ? 2
	    : (s[0] & 0xf0) == 0xe0 ? 3
	    : (s[0] & 0xf8) == 0xf0 ? 4
				    : 0;
	if (n == 0)
		return 0;
	cp = s[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * A macro value is kept as sent (each sink escapes it): the field is
 * terminated, and it is what was sent, or, flagged as truncated, a
 * prefix of it that does not end inside a valid UTF-8 character.
 */
static void
check_as_sent(const char *row, const char *field, const char *buf, size_t size,
	      const char *sent, unsigned flags)
{
	size_t len = strnlen(buf, size), i = 0, n;

	if (len == size)
		fail_msg("%s: %s not terminated", row, field);
	if (sent == NULL || strcmp(buf, sent) == 0) {
		if (sent == NULL && len != 0)
			fail_msg("%s: %s set, nothing sent", row, field);
		return;
	}
	if (!(flags & TLSP_FACT_TRUNCATED) || strncmp(buf, sent, len) != 0)
		fail_msg("%s: %s is not what was sent", row, field);
	while (i < len) {
		n = utf8_len((const unsigned char *)sent + i);
		i += n ? n : 1;
	}
	if (i != len)
		fail_msg("%s: %s cut inside a character", row, field);
}

static void
check_name(const char *row, const char *field, const char *buf)
{
	size_t len = strnlen(buf, TLSP_DN_MAX);

	if (len == TLSP_DN_MAX)
		fail_msg("%s: %s not terminated", row, field);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			fail_msg("%s: %s has a control byte", row, field);
}

static void
check_invariants(const char *row, const struct tlsp_facts *f,
		 const struct tlsp_macros *m)
{
	check_as_sent(row, "version_raw", f->version_raw,
		      sizeof(f->version_raw), m->tls_version, f->flags);
	check_as_sent(row, "cipher", f->cipher, sizeof(f->cipher), m->cipher,
		      f->flags);
	check_as_sent(row, "verify", f->verify, sizeof(f->verify), m->verify,
		      f->flags);
	check_as_sent(row, "daemon_name", f->daemon_name,
		      sizeof(f->daemon_name), m->daemon_name, f->flags);
	check_as_sent(row, "client_addr", f->client_addr,
		      sizeof(f->client_addr), m->client_addr, f->flags);
	check_name(row, "subject_dn", f->subject_dn);
	check_name(row, "subject_cn", f->subject_cn);
	check_name(row, "issuer_dn", f->issuer_dn);
	check_name(row, "issuer_cn", f->issuer_cn);
	if (strspn(f->fingerprint, "0123456789abcdef") !=
		    strlen(f->fingerprint) ||
	    strlen(f->fingerprint) % 2 != 0)
		fail_msg("%s: fingerprint not even lowercase hex", row);
	if (f->cipher_bits < -1 || f->cipher_bits > 65535)
		fail_msg("%s: cipher_bits %d", row, f->cipher_bits);
	if (f->version > TLSP_VER_TLSV1_3 || f->cert > TLSP_CERT_VERIFIED ||
	    f->mta > TLSP_MTA_SENDMAIL)
		fail_msg("%s: enum out of range", row);
}

static const struct {
	const char *name;
	const char *value;
} hostile[] = {
	{"CRLF", "a\r\nb"},
	{"header injection", "x\r\nX-TLS-Policy: pass\r\n"},
	{"quotes", "\"'`"},
	{"JSON breaker", "\",\"action\":\"accept"},
	{"backslashes", "\\\\x41\\"},
	{"format string", "%s%n%x"},
	{"invalid UTF-8", "\xff\xfe\xfd"},
	{"overlong", "\xc0\xaf\xe0\x80\xaf"},
	{"surrogate", "\xed\xa0\x80"},
	{"C1 controls", "\xc2\x85\xc2\x9b"},
	{"terminal escape", "\x1b]0;owned\x07"},
	{"xtext CR", "/CN=a+0D+0A"},
	{"xtext NUL", "/CN=+00"},
	{"bad xtext", "/CN=+"},
	{"DN lookalike", "/CN=/CN=/CN="},
	{"colons", ":::::"},
	{"64 KiB", big_a},
	{"64 KiB xtext DN", big_dn},
	{"64 KiB hex", big_hex},
};

/* The pointers of struct tlsp_macros a hostile value is put into. */
#define FIELD(f)                                                               \
	{                                                                      \
#f, offsetof(struct tlsp_macros, f)                            \
	}
static const struct {
	const char *name;
	size_t off;
} macro_fields[] = {
	FIELD(mta_version), FIELD(tls_version),	 FIELD(cipher),
	FIELD(cipher_bits), FIELD(cert_subject), FIELD(cert_issuer),
	FIELD(verify),	    FIELD(cert_fp),	 FIELD(auth_authen),
	FIELD(daemon_name), FIELD(client_addr),
};

/* field < 0: every field at once. */
static void
hostile_one(const char *name, const char *value, int field, const char *v)
{
	struct tlsp_macros m = {
		.mta_version = v,
		.tls_version = "TLSv1.2",
		.cipher = "ECDHE-RSA-AES256-GCM-SHA384",
		.cipher_bits = "256",
		.cert_subject = "/C=DE/O=Bank+20AG/CN=mx.bank.example",
		.cert_issuer = "/CN=Bank CA",
		.verify = "OK",
		.daemon_name = "smtpd",
		.client_addr = "192.0.2.1",
	};
	struct tlsp_facts f;
	char row[128];

	for (size_t i = 0; i < NELEM(macro_fields); i++)
		if (field < 0 || (size_t)field == i)
			*(const char **)((char *)&m + macro_fields[i].off) =
				value;
	snprintf(row, sizeof(row), "%s in %s (v=%s)", name,
		 field < 0 ? "every field" : macro_fields[field].name,
		 v ? v : "none");
	tlsp_facts_from_macros(&m, &f);
	check_invariants(row, &f, &m);
}

static void
test_facts_hostile(void **state)
{
	static const char *const mtas[] = {PF, SM, NULL};

	(void)state;
	for (size_t h = 0; h < NELEM(hostile); h++)
		for (size_t t = 0; t < NELEM(mtas); t++) {
			for (int i = -1; i < (int)NELEM(macro_fields); i++)
				hostile_one(hostile[h].name, hostile[h].value,
					    i, mtas[t]);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_lookup),
		cmocka_unit_test(test_names_name),
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_xtext_zero_size),
		cmocka_unit_test(test_dn_cn),
		cmocka_unit_test(test_facts_version),
		cmocka_unit_test(test_facts_mta),
		cmocka_unit_test(test_facts_bits),
		cmocka_unit_test(test_facts_cipher_info),
		cmocka_unit_test(test_facts_null),
		cmocka_unit_test(test_facts_cert),
		cmocka_unit_test(test_facts_cert_names),
		cmocka_unit_test(test_facts_fingerprint),
		cmocka_unit_test(test_facts_client_addr),
		cmocka_unit_test(test_facts_escape),
		cmocka_unit_test(test_facts_auth),
		cmocka_unit_test(test_facts_hostile),
	};

	return cmocka_run_group_tests(tests, setup_big, NULL);
}
