/*
 * fuzz_macros.c - libFuzzer target: everything the MTA sends us.
 *
 * The input is split at NUL bytes into macro values, an envelope sender
 * and a recipient; they go through fact normalisation (xtext, DN and CN
 * parsing, version and cipher classification), address parsing and a
 * full evaluation against the sample policy. Outputs that may reach a log
 * must stay NUL-terminated within their buffers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlspolicy/policy.h"

#define NFIELDS 14

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tlsp_policy *policy;

static struct tlsp_policy *
sample(void)
{
	struct tlsp_diags d = {0};

	if (policy == NULL)
		policy = tlsp_policy_load(FUZZ_SAMPLE, TLSP_MTA_UNKNOWN, &d);
	tlsp_diags_free(&d);
	if (policy == NULL)
		abort();
	return policy;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *field[NFIELDS] = {0};
	struct tlsp_macros m;
	struct tlsp_facts f;
	struct tlsp_verdict v;
	struct tlsp_addr a;
	char *buf = malloc(size + 1), out[512];
	size_t i, n = 0;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	/* Field k is absent unless the input reaches it. */
	for (i = 0; i <= size && n < NFIELDS; i++)
		if (i == 0 || buf[i - 1] == '\0')
			field[n++] = buf + i;
	memset(&m, 0, sizeof(m));
	m.tls_version = field[0];
	m.cipher = field[1];
	m.cipher_bits = field[2];
	m.cert_subject = field[3];
	m.cert_issuer = field[4];
	m.verify = field[5];
	m.cert_fp = field[6];
	m.auth_authen = field[7];
	m.daemon_name = field[8];
	m.client_addr = field[9];
	m.mta_version = field[10];
	tlsp_facts_from_macros(&m, &f);
	tlsp_evaluate_sender(sample(), &f, field[11], time(NULL), &v);
	tlsp_evaluate(sample(), &f, field[11], field[12] ? field[12] : "",
		      time(NULL), &v);
	for (i = 0; i < NFIELDS; i++) {
		if (field[i] == NULL)
			continue;
		tlsp_addr_parse(field[i], &a);
		tlsp_facts_xtext_decode(field[i], out, sizeof(out));
		tlsp_facts_dn_cn(field[i], out, sizeof(out));
		tlsp_escape_log(field[i], strlen(field[i]), out, sizeof(out));
	}
	free(buf);
	return 0;
}
