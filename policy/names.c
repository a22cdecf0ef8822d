/*
 * names.c - the name <-> enum tables of the policy engine.
 *
 * One static table per enum, indexed by the enum value, so a name and its
 * value can never drift apart. The names are the spellings the policy file,
 * the logs and the audit records use. Name functions return NULL for a
 * value outside the enum (a programmer error, or a corrupt record read
 * back). Lookups compare ASCII case-insensitively by hand: strcasecmp()
 * follows the locale, and in a Turkish locale "tls" != "TLS".
 */
#include <stddef.h>

#include "tlspolicy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const mta_names[] = {
	[TLSP_MTA_UNKNOWN] = "unknown",
	[TLSP_MTA_POSTFIX] = "postfix",
	[TLSP_MTA_SENDMAIL] = "sendmail",
};

static const char *const version_names[] = {
	[TLSP_VER_NONE] = "none",	  [TLSP_VER_UNKNOWN] = "UNKNOWN",
	[TLSP_VER_SSLV2] = "SSLv2",	  [TLSP_VER_SSLV3] = "SSLv3",
	[TLSP_VER_TLSV1] = "TLSv1",	  [TLSP_VER_TLSV1_1] = "TLSv1.1",
	[TLSP_VER_TLSV1_2] = "TLSv1.2", [TLSP_VER_TLSV1_3] = "TLSv1.3",
};

static const char *const cert_state_names[] = {
	[TLSP_CERT_UNKNOWN] = "unknown",
	[TLSP_CERT_NONE] = "none",
	[TLSP_CERT_PRESENTED] = "presented",
	[TLSP_CERT_PRESENTED_UNKNOWN] = "presented (verification unknown)",
	[TLSP_CERT_NOT_VERIFIED] = "not verified",
	[TLSP_CERT_VERIFIED] = "verified",
};

static const char *const action_names[] = {
	[TLSP_ACTION_ACCEPT] = "accept",
	[TLSP_ACTION_TAG] = "tag",
	[TLSP_ACTION_QUARANTINE] = "quarantine",
	[TLSP_ACTION_DEFER] = "defer",
	[TLSP_ACTION_REJECT] = "reject",
};

static const char *const mode_names[] = {
	[TLSP_MODE_ENFORCE] = "enforce",
	[TLSP_MODE_MONITOR] = "monitor",
};

static const char *const req_names[TLSP_REQ_COUNT] = {
	[TLSP_REQ_TLS] = "tls",
	[TLSP_REQ_MIN_VERSION] = "min_version",
	[TLSP_REQ_MAX_VERSION] = "max_version",
	[TLSP_REQ_MIN_CIPHER_BITS] = "min_cipher_bits",
	[TLSP_REQ_CIPHER_ALLOW] = "ciphers.allow",
	[TLSP_REQ_CIPHER_DENY] = "ciphers.deny",
	[TLSP_REQ_FORWARD_SECRECY] = "forward_secrecy",
	[TLSP_REQ_CLIENT_CERT] = "client_cert",
	[TLSP_REQ_SUBJECT] = "subject",
	[TLSP_REQ_ISSUER] = "issuer",
	[TLSP_REQ_FINGERPRINT] = "fingerprints",
};

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
name_eq(const char *a, const char *b, int fold)
{
	for (; *a && *b; a++, b++) {
		int ca = (unsigned char)*a, cb = (unsigned char)*b;

		if (fold ? ascii_lower(ca) != ascii_lower(cb) : ca != cb)
			return 0;
	}
	return *a == *b;
}

/* Index of name in tab[first..n), or -1. */
static int
table_lookup(const char *const *tab, size_t n, size_t first,
	     const char *name, int fold)
{
	if (name == NULL)
		return -1;
	for (size_t i = first; i < n; i++)
		if (tab[i] != NULL && name_eq(name, tab[i], fold))
			return (int)i;
	return -1;
}

static const char *
table_name(const char *const *tab, size_t n, int value)
{
	return value >= 0 && (size_t)value < n ? tab[value] : NULL;
}

const char *
tlsp_mta_name(enum tlsp_mta v)
{
	return table_name(mta_names, NELEM(mta_names), (int)v);
}

const char *
tlsp_version_name(enum tlsp_version v)
{
	return table_name(version_names, NELEM(version_names), (int)v);
}

const char *
tlsp_cert_state_name(enum tlsp_cert_state v)
{
	return table_name(cert_state_names, NELEM(cert_state_names), (int)v);
}

const char *
tlsp_action_name(enum tlsp_action v)
{
	return table_name(action_names, NELEM(action_names), (int)v);
}

const char *
tlsp_mode_name(enum tlsp_mode v)
{
	return table_name(mode_names, NELEM(mode_names), (int)v);
}

const char *
tlsp_req_name(enum tlsp_req v)
{
	return table_name(req_names, NELEM(req_names), (int)v);
}

int
tlsp_mta_lookup(const char *name)
{
	return table_lookup(mta_names, NELEM(mta_names), 0, name, 1);
}

int
tlsp_action_lookup(const char *name)
{
	return table_lookup(action_names, NELEM(action_names), 0, name, 1);
}

int
tlsp_mode_lookup(const char *name)
{
	return table_lookup(mode_names, NELEM(mode_names), 0, name, 1);
}

/* YAML keys are case-sensitive, so requirement names are too. */
int
tlsp_req_lookup(const char *name)
{
	return table_lookup(req_names, NELEM(req_names), 0, name, 0);
}

/*
 * "none" names the absence of TLS, which no MTA sends as a version, so
 * the search starts after it. "UNKNOWN" is found: Sendmail sends it.
 */
int
tlsp_version_lookup(const char *name)
{
	if (name != NULL && name_eq(name, "TLSv1.0", 1))
		return TLSP_VER_TLSV1;
	return table_lookup(version_names, NELEM(version_names),
			    TLSP_VER_NONE + 1, name, 1);
}
