/*
 * fuzz_query_args.c - libFuzzer target: `tlspolicy-milter -q KEY=VALUE...`.
 *
 * The input is split at NUL bytes and newlines into arguments, which go
 * through tlspm_query_parse as main.c passes them; a query that parses is
 * run against the sample policy, loaded for the MTA the query names as
 * main.c does, and its report printed (to /dev/null). A parse error must
 * come with a NUL-terminated message; nothing may crash, leak or hang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

#define MAX_ARGS 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tlsp_policy *policy[3]; /* by enum tlsp_mta */
static FILE *devnull;

static void
check(int ok)
{
	if (!ok)
		abort();
}

static const struct tlsp_policy *
sample(enum tlsp_mta mta)
{
	struct tlsp_diags d = {0};

	check((unsigned)mta < 3);
	if (policy[mta] == NULL)
		policy[mta] = tlsp_policy_load(FUZZ_SAMPLE, mta, &d);
	tlsp_diags_free(&d);
	check(policy[mta] != NULL);
	return policy[mta];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 1], *buf = malloc(size + 1), err[256];
	struct tlspm_query q;
	size_t i;
	int argc = 0;

	check(buf != NULL);
	if (devnull == NULL)
		check((devnull = fopen("/dev/null", "w")) != NULL);
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0; i <= size && argc < MAX_ARGS; i++) {
		if (i == 0 || buf[i - 1] == '\0')
			argv[argc++] = buf + i;
		if (buf[i] == '\n')
			buf[i] = '\0';
	}
	/* A trailing separator does not make an empty last argument. */
	if (argc > 0 && size > 0 && argv[argc - 1] == buf + size)
		argc--;
	argv[argc] = NULL;

	memset(err, 'x', sizeof(err));
	if (tlspm_query_parse(argc, argv, &q, err, sizeof(err)) < 0) {
		check(memchr(err, '\0', sizeof(err)) != NULL);
	} else {
		check(q.nrcpt > 0 && q.nrcpt <= TLSPM_QUERY_MAX_RCPT);
		tlspm_query_run(sample(q.m.mta), &q, devnull);
	}
	free(buf);
	return 0;
}
