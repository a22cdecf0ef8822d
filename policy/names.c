/*
 * names.c - the name <-> value tables of the policy engine.
 *
 * One table per vocabulary, each row a {name, code} pair as in Postfix's
 * NAME_CODE, so a name and its value can never drift apart: the parser,
 * the printer and the logs all read the same rows. The names are the
 * spellings the policy file, the logs and the audit records use. Name
 * functions return NULL for a value outside the table (a programmer error,
 * or a corrupt record read back). Lookups compare ASCII case-insensitively
 * by hand where they fold: strcasecmp() follows the locale, and in a
 * Turkish locale "tls" != "TLS".
 */
#include <stddef.h>

#include "internal.h"

const struct tlsp_name_code tlsp_mta_names[] = {
	{"unknown", TLSP_MTA_UNKNOWN},
	{"postfix", TLSP_MTA_POSTFIX},
	{"sendmail", TLSP_MTA_SENDMAIL},
	{NULL, -1},
};

const struct tlsp_name_code tlsp_version_names[] = {
	{"none", TLSP_VER_NONE},
	{"UNKNOWN", TLSP_VER_UNKNOWN},
	{"SSLv2", TLSP_VER_SSLV2},
	{"SSLv3", TLSP_VER_SSLV3},
	{"TLSv1", TLSP_VER_TLSV1},
	{"TLSv1.1", TLSP_VER_TLSV1_1},
	{"TLSv1.2", TLSP_VER_TLSV1_2},
	{"TLSv1.3", TLSP_VER_TLSV1_3},
	{NULL, -1},
};

const struct tlsp_name_code tlsp_cert_state_names[] = {
	{"unknown", TLSP_CERT_UNKNOWN},
	{"none", TLSP_CERT_NONE},
	{"presented", TLSP_CERT_PRESENTED},
	{"presented (verification unknown)", TLSP_CERT_PRESENTED_UNKNOWN},
	{"not verified", TLSP_CERT_NOT_VERIFIED},
	{"verified", TLSP_CERT_VERIFIED},
	{NULL, -1},
};

const struct tlsp_name_code tlsp_name_state_names[] = {
	{"unknown", TLSP_NAME_UNKNOWN},
	{"not verified", TLSP_NAME_NONE},
	{"verified", TLSP_NAME_VERIFIED},
	{NULL, -1},
};

/* In order of strictness: "did you mean" and the list of choices in a
 * message follow the table's order. */
const struct tlsp_name_code tlsp_action_names[] = {
	{"accept", TLSP_ACTION_ACCEPT},		{"tag", TLSP_ACTION_TAG},
	{"quarantine", TLSP_ACTION_QUARANTINE}, {"defer", TLSP_ACTION_DEFER},
	{"reject", TLSP_ACTION_REJECT},		{NULL, -1},
};

/* compliance: tags, for the control mapping of tlspolicy-audit's html
 * report: the frameworks' names and the editions the mapping knows. */
const struct tlsp_name_code tlsp_compliance_names[] = {
	{"pci-dss-4.0.1", 0}, {"hipaa", 1}, {"gdpr", 2},
	{"bsi-tr-03108", 3},  {NULL, -1},
};

const struct tlsp_name_code tlsp_mode_names[] = {
	{"enforce", TLSP_MODE_ENFORCE},
	{"monitor", TLSP_MODE_MONITOR},
	{NULL, -1},
};

/* THE list of requirement kinds: every report, record and log line that
 * names a requirement reads it from here. */
const struct tlsp_name_code tlsp_req_names[] = {
	{"tls", TLSP_REQ_TLS},
	{"min_version", TLSP_REQ_MIN_VERSION},
	{"max_version", TLSP_REQ_MAX_VERSION},
	{"min_cipher_bits", TLSP_REQ_MIN_CIPHER_BITS},
	{"ciphers.allow", TLSP_REQ_CIPHER_ALLOW},
	{"ciphers.deny", TLSP_REQ_CIPHER_DENY},
	{"forward_secrecy", TLSP_REQ_FORWARD_SECRECY},
	{"client_cert", TLSP_REQ_CLIENT_CERT},
	{"subject", TLSP_REQ_SUBJECT},
	{"issuer", TLSP_REQ_ISSUER},
	{"fingerprints", TLSP_REQ_FINGERPRINT},
	{"client_addr", TLSP_REQ_CLIENT_ADDR},
	{"client_name", TLSP_REQ_CLIENT_NAME},
	{NULL, -1},
};
_Static_assert(sizeof(tlsp_req_names) / sizeof(tlsp_req_names[0]) ==
		       TLSP_REQ_COUNT + 1,
	       "one row per requirement in tlsp_req_names");

const struct tlsp_name_code tlsp_on_error_names[] = {
	{"tempfail", TLSP_ON_ERROR_TEMPFAIL},
	{"reject", TLSP_ON_ERROR_REJECT},
	{"accept", TLSP_ON_ERROR_ACCEPT},
	{NULL, -1},
};

const struct tlsp_name_code tlsp_log_decisions_names[] = {
	{"actions", TLSP_LOG_ACTIONS},
	{"all", TLSP_LOG_ALL},
	{"none", TLSP_LOG_NONE},
	{NULL, -1},
};

const struct tlsp_name_code tlsp_syslog_facility_names[] = {
	{"mail", 2},	{"daemon", 3},	{"user", 1},	{"local0", 16},
	{"local1", 17}, {"local2", 18}, {"local3", 19}, {"local4", 20},
	{"local5", 21}, {"local6", 22}, {"local7", 23}, {NULL, -1},
};

/* What `client_cert:` may require: a subset of the certificate states. */
const struct tlsp_name_code tlsp_client_cert_names[] = {
	{"none", TLSP_CERT_NONE},
	{"presented", TLSP_CERT_PRESENTED},
	{"verified", TLSP_CERT_VERIFIED},
	{NULL, -1},
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

static int
lookup(const struct tlsp_name_code *tab, const char *name, int fold)
{
	if (name == NULL)
		return -1;
	for (; tab->name != NULL; tab++)
		if (name_eq(name, tab->name, fold))
			return tab->code;
	return -1;
}

const char *
tlsp_code_name(const struct tlsp_name_code *tab, int code)
{
	for (; tab->name != NULL; tab++)
		if (tab->code == code)
			return tab->name;
	return NULL;
}

int
tlsp_name_code(const struct tlsp_name_code *tab, const char *name)
{
	return lookup(tab, name, 0);
}

int
tlsp_name_code_fold(const struct tlsp_name_code *tab, const char *name)
{
	return lookup(tab, name, 1);
}

size_t
tlsp_name_code_count(const struct tlsp_name_code *tab)
{
	size_t n = 0;

	while (tab[n].name != NULL)
		n++;
	return n;
}

const char *
tlsp_mta_name(enum tlsp_mta v)
{
	return tlsp_code_name(tlsp_mta_names, (int)v);
}

const char *
tlsp_version_name(enum tlsp_version v)
{
	return tlsp_code_name(tlsp_version_names, (int)v);
}

const char *
tlsp_cert_state_name(enum tlsp_cert_state v)
{
	return tlsp_code_name(tlsp_cert_state_names, (int)v);
}

const char *
tlsp_action_name(enum tlsp_action v)
{
	return tlsp_code_name(tlsp_action_names, (int)v);
}

const char *
tlsp_mode_name(enum tlsp_mode v)
{
	return tlsp_code_name(tlsp_mode_names, (int)v);
}

const char *
tlsp_req_name(enum tlsp_req v)
{
	return tlsp_code_name(tlsp_req_names, (int)v);
}

int
tlsp_mta_lookup(const char *name)
{
	return tlsp_name_code_fold(tlsp_mta_names, name);
}

int
tlsp_action_lookup(const char *name)
{
	return tlsp_name_code_fold(tlsp_action_names, name);
}

int
tlsp_mode_lookup(const char *name)
{
	return tlsp_name_code_fold(tlsp_mode_names, name);
}

/* YAML keys are case-sensitive, so requirement names are too. */
int
tlsp_req_lookup(const char *name)
{
	return tlsp_name_code(tlsp_req_names, name);
}

/*
 * "none" names the absence of TLS, which no MTA sends as a version, so it
 * is not found. "UNKNOWN" is found: Sendmail sends it.
 */
int
tlsp_version_lookup(const char *name)
{
	int v;

	if (name != NULL && name_eq(name, "TLSv1.0", 1))
		return TLSP_VER_TLSV1;
	v = tlsp_name_code_fold(tlsp_version_names, name);
	return v == TLSP_VER_NONE ? -1 : v;
}
