/*
 * test_recfacts.c - the facts replay rebuilds from a decision record
 * (audit/tool/recfacts.c): each MTA's shape back through the engine's
 * tlsp_facts_from_macros, what older records leave open, and what makes
 * a record not replayable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "recfacts.h"

#define PF_OBS                                                                  \
	"\"observed\":[\"v\",\"{tls_version}\",\"{cipher}\",\"{cipher_bits}\"," \
	"\"{cert_subject}\",\"{cert_issuer}\",\"{auth_authen}\","               \
	"\"{daemon_name}\",\"{client_addr}\"]"

struct row {
	const char *name, *json;
	int ok;			   /* tlspa_recfacts_read returns 0 */
	const char *why;	   /* a part of rf.why when not ok */
	enum tlsp_version version; /* when ok */
	enum tlsp_cert_state cert;
	const char *subject_dn, *subject_cn;
	int auth, auth_unknown, daemon_unknown;
	const char *daemon;
};

static const struct row rows[] = {
	{"postfix verified",
	 "{\"mta\":\"postfix\",\"daemon_name\":\"smtpd\",\"authenticated\":"
	 "false,\"client\":{\"addr\":\"192.0.2.1\",\"name\":null},\"tls\":{"
	 "\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_256_GCM_SHA384\","
	 "\"bits\":256,\"forward_secrecy\":true,\"cert\":\"verified\","
	 "\"subject\":\"mx.a.example\",\"issuer\":\"A CA\",\"verify\":null,"
	 "\"fingerprint\":null," PF_OBS "}}",
	 1, NULL, TLSP_VER_TLSV1_3, TLSP_CERT_VERIFIED, "", "mx.a.example", 0,
	 0, 0, "smtpd"},
	{"postfix TLS without a trusted certificate",
	 "{\"mta\":\"postfix\",\"daemon_name\":\"smtpd\",\"authenticated\":"
	 "true,\"client\":{\"addr\":\"192.0.2.1\",\"name\":null},\"tls\":{"
	 "\"version\":\"TLSv1.2\",\"cipher\":\"AES128-SHA\",\"bits\":128,"
	 "\"forward_secrecy\":false,\"cert\":\"not verified\",\"subject\":"
	 "null,\"issuer\":null,\"verify\":null,\"fingerprint\":null,"
	 "\"observed\":[\"v\",\"{tls_version}\",\"{cipher}\","
	 "\"{cipher_bits}\",\"{auth_authen}\",\"{daemon_name}\","
	 "\"{client_addr}\"]}}",
	 1, NULL, TLSP_VER_TLSV1_2, TLSP_CERT_NOT_VERIFIED, "", "", 1, 0, 0,
	 "smtpd"},
	/* Sendmail's DN comes back xtext-encoded: '+', '=' and spaces */
	{"sendmail DN with + = and spaces",
	 "{\"mta\":\"sendmail\",\"daemon_name\":\"MTA\",\"authenticated\":"
	 "false,\"client\":{\"addr\":\"192.0.2.1\",\"name\":null},\"tls\":{"
	 "\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_256_GCM_SHA384\","
	 "\"bits\":256,\"forward_secrecy\":true,\"cert\":\"verified\","
	 "\"subject\":\"/O=A+B Bank/CN=mx.bank.example\",\"issuer\":\"/CN=Bank "
	 "CA\",\"verify\":\"OK\",\"fingerprint\":null,\"observed\":[\"v\","
	 "\"{tls_version}\",\"{cipher}\",\"{cipher_bits}\",\"{cert_subject}\","
	 "\"{cert_issuer}\",\"{verify}\",\"{daemon_name}\",\"{client_addr}\"]"
	 "}}",
	 1, NULL, TLSP_VER_TLSV1_3, TLSP_CERT_VERIFIED,
	 "/O=A+B Bank/CN=mx.bank.example", "mx.bank.example", 0, 0, 0, "MTA"},
	/* FAIL with a subject: a certificate was shown, not trusted */
	{"sendmail presented",
	 "{\"mta\":\"sendmail\",\"daemon_name\":\"MTA\",\"authenticated\":"
	 "false,\"client\":{\"addr\":\"192.0.2.1\",\"name\":null},\"tls\":{"
	 "\"version\":\"TLSv1.2\",\"cipher\":\"AES128-SHA\",\"bits\":128,"
	 "\"forward_secrecy\":false,\"cert\":\"presented\",\"subject\":"
	 "\"/CN=self\",\"issuer\":\"/CN=self\",\"verify\":\"FAIL\","
	 "\"fingerprint\":null,\"observed\":[\"v\",\"{tls_version}\","
	 "\"{cipher}\",\"{cipher_bits}\",\"{cert_subject}\",\"{cert_issuer}\","
	 "\"{verify}\",\"{daemon_name}\",\"{client_addr}\"]}}",
	 1, NULL, TLSP_VER_TLSV1_2, TLSP_CERT_PRESENTED, "/CN=self", "self", 0,
	 0, 0, "MTA"},
	{"plaintext",
	 "{\"mta\":\"postfix\",\"daemon_name\":\"smtpd\",\"authenticated\":"
	 "false,\"client\":{\"addr\":\"192.0.2.1\",\"name\":null},\"tls\":{"
	 "\"version\":null,\"cipher\":null,\"bits\":null,\"forward_secrecy\":"
	 "null,\"cert\":\"none\",\"subject\":null,\"issuer\":null,\"verify\":"
	 "null,\"fingerprint\":null,\"observed\":[\"v\",\"{daemon_name}\","
	 "\"{client_addr}\"]}}",
	 1, NULL, TLSP_VER_NONE, TLSP_CERT_NONE, "", "", 0, 0, 0, "smtpd"},
	/* an MTA not recognised, whose subject reads as a DN: facts.c
	 * decoded it as xtext, so replay encodes it again ('+' intact) */
	{"unknown MTA, a DN with +",
	 "{\"mta\":\"unknown\",\"daemon_name\":null,\"authenticated\":"
	 "false,\"client\":{\"addr\":\"192.0.2.1\",\"name\":null},\"tls\":{"
	 "\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_256_GCM_SHA384\","
	 "\"bits\":256,\"forward_secrecy\":true,\"cert\":\"verified\","
	 "\"subject\":\"/CN=foo+bar\",\"issuer\":null,\"verify\":\"OK\","
	 "\"fingerprint\":null,\"observed\":[\"{tls_version}\",\"{cipher}\","
	 "\"{cipher_bits}\",\"{cert_subject}\",\"{verify}\"]}}",
	 1, NULL, TLSP_VER_TLSV1_3, TLSP_CERT_VERIFIED, "/CN=foo+bar",
	 "foo+bar", 0, 0, 0, ""},
	/* written before the two members: what was sent is open */
	{"older record: authentication and listener open",
	 "{\"mta\":\"postfix\",\"client\":{\"addr\":\"192.0.2.1\",\"name\":"
	 "null},\"tls\":{\"version\":\"TLSv1.3\",\"cipher\":"
	 "\"TLS_AES_256_GCM_SHA384\",\"bits\":256,\"forward_secrecy\":true,"
	 "\"cert\":\"verified\",\"subject\":\"mx.a.example\",\"issuer\":\"A "
	 "CA\",\"verify\":null,\"fingerprint\":null," PF_OBS "}}",
	 1, NULL, TLSP_VER_TLSV1_3, TLSP_CERT_VERIFIED, "", "mx.a.example", 0,
	 1, 1, ""},
	/* older, and the MTA did not send them: nothing is open */
	{"older record: macros not sent",
	 "{\"mta\":\"postfix\",\"client\":{\"addr\":\"192.0.2.1\",\"name\":"
	 "null},\"tls\":{\"version\":null,\"cipher\":null,\"bits\":null,"
	 "\"forward_secrecy\":null,\"cert\":\"none\",\"subject\":null,"
	 "\"issuer\":null,\"verify\":null,\"fingerprint\":null,\"observed\":"
	 "[\"{client_addr}\"]}}",
	 1, NULL, TLSP_VER_NONE, TLSP_CERT_NONE, "", "", 0, 0, 0, ""},
	{"redacted client address",
	 "{\"mta\":\"postfix\",\"daemon_name\":\"smtpd\",\"authenticated\":"
	 "false,\"client\":{\"addr\":{\"sha256\":\"00\"},\"name\":null},"
	 "\"tls\":{\"version\":null,\"cipher\":null,\"bits\":null,"
	 "\"forward_secrecy\":null,\"cert\":\"none\",\"subject\":null,"
	 "\"issuer\":null,\"verify\":null,\"fingerprint\":null,\"observed\":"
	 "[\"{client_addr}\"]}}",
	 0, "redacted", TLSP_VER_NONE, TLSP_CERT_NONE, "", "", 0, 0, 0, ""},
	{"no TLS facts", "{\"mta\":\"postfix\",\"type\":\"mail\"}", 0,
	 "no TLS facts", TLSP_VER_NONE, TLSP_CERT_NONE, "", "", 0, 0, 0, ""},
	/* a certificate state the facts cannot give: Postfix shows no
	 * subject, yet "verified" */
	{"facts that do not rebuild",
	 "{\"mta\":\"postfix\",\"daemon_name\":\"smtpd\",\"authenticated\":"
	 "false,\"client\":{\"addr\":\"192.0.2.1\",\"name\":null},\"tls\":{"
	 "\"version\":\"TLSv1.2\",\"cipher\":\"AES128-SHA\",\"bits\":128,"
	 "\"forward_secrecy\":false,\"cert\":\"verified\",\"subject\":null,"
	 "\"issuer\":null,\"verify\":null,\"fingerprint\":null,\"observed\":"
	 "[\"v\",\"{tls_version}\",\"{cipher}\",\"{cipher_bits}\"]}}",
	 0, "do not rebuild", TLSP_VER_NONE, TLSP_CERT_NONE, "", "", 0, 0, 0,
	 ""},
	/* hostile values: a NUL in the cipher is no macro; a control
	 * character in the subject is refused by the engine, so the facts
	 * do not come back as recorded */
	{"hostile cipher",
	 "{\"mta\":\"postfix\",\"daemon_name\":\"smtpd\",\"authenticated\":"
	 "false,\"client\":{\"addr\":\"192.0.2.1\",\"name\":null},\"tls\":{"
	 "\"version\":\"TLSv1.2\",\"cipher\":\"A\\u0000B\",\"bits\":null,"
	 "\"forward_secrecy\":null,\"cert\":\"not verified\",\"subject\":null,"
	 "\"issuer\":null,\"verify\":null,\"fingerprint\":null,\"observed\":"
	 "[\"v\",\"{tls_version}\",\"{cipher}\"]}}",
	 1, NULL, TLSP_VER_TLSV1_2, TLSP_CERT_NOT_VERIFIED, "", "", 0, 0, 0,
	 ""},
};

static void
test_rows(void **state)
{
	struct tlspa_recfacts rf;
	struct tlspa_json jp;
	const struct tlspa_jv *rec;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
		const struct row *r = &rows[i];

		memset(&jp, 0, sizeof(jp));
		rec = tlspa_json_parse(&jp, r->json, strlen(r->json));
		if (rec == NULL)
			fail_msg("%s: the test's JSON does not parse", r->name);
		memset(&rf, 0xa5, sizeof(rf)); /* nothing relies on zeroes */
		rc = tlspa_recfacts_read(rec, &rf);
		if ((rc == 0) != r->ok)
			fail_msg("%s: returned %d (%s)", r->name, rc,
				 rf.why ? rf.why : "");
		if (!r->ok) {
			if (rf.why == NULL || strstr(rf.why, r->why) == NULL)
				fail_msg("%s: why '%s'", r->name,
					 rf.why ? rf.why : "(null)");
			tlspa_json_free(&jp);
			continue;
		}
		if (rf.f.version != r->version || rf.f.cert != r->cert)
			fail_msg("%s: version %d cert %s", r->name,
				 (int)rf.f.version,
				 tlsp_cert_state_name(rf.f.cert));
		if (strcmp(rf.f.subject_dn, r->subject_dn) != 0 ||
		    strcmp(rf.f.subject_cn, r->subject_cn) != 0)
			fail_msg("%s: subject '%s' / '%s'", r->name,
				 rf.f.subject_dn, rf.f.subject_cn);
		if (rf.f.authenticated != r->auth ||
		    rf.auth_unknown != r->auth_unknown ||
		    rf.daemon_unknown != r->daemon_unknown ||
		    strcmp(rf.f.daemon_name, r->daemon) != 0)
			fail_msg("%s: auth %d/%d daemon '%s'/%d", r->name,
				 rf.f.authenticated, rf.auth_unknown,
				 rf.f.daemon_name, rf.daemon_unknown);
		tlspa_json_free(&jp);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
