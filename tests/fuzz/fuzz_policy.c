/*
 * fuzz_policy.c - libFuzzer target: the YAML loader and compiler.
 *
 * Any byte string must give either a policy or diagnostics, never a crash,
 * a leak or a hang; a policy that loads must evaluate a session cleanly.
 */
#include <stddef.h>
#include <stdint.h>

#include "tlspolicy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsp_macros m = {.tls_version = "TLSv1.2",
				.cipher = "ECDHE-RSA-AES128-SHA",
				.cert_subject = "mx.example",
				.mta = TLSP_MTA_POSTFIX};
	struct tlsp_diags d = {0};
	struct tlsp_policy *p;
	struct tlsp_facts f;
	struct tlsp_verdict v;
	char line[1400];
	size_t i;

	p = tlsp_policy_load_buffer("fuzz.yaml", (const char *)data, size,
				    TLSP_MTA_UNKNOWN, &d);
	for (i = 0; i < d.count; i++)
		tlsp_diag_format(&d.v[i], line, sizeof(line));
	if (p) {
		tlsp_facts_from_macros(&m, &f);
		tlsp_evaluate_sender(p, &f, "a@b.example.com", time(NULL), &v);
		tlsp_evaluate(p, &f, "a@b.example.com", "c@d.example.org",
			      time(NULL), &v);
		tlsp_evaluate(p, &f, "", "postmaster", time(NULL), &v);
		tlsp_policy_unref(p);
	}
	tlsp_diags_free(&d);
	return 0;
}
