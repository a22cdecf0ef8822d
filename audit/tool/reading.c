/*
 * reading.c - what inventory, replay and suggest share: their options
 * for reading a log (window, domain filter, key, strictness, and for
 * the first two the output format and --top), the files, the decision
 * records, and the end (the evidence line and the exit status).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "report.h"

int
tlspa_reading_option(struct tlspa_reading *rd, const char *cmd, int c,
		     char *arg)
{
	char **nv, *end;

	switch (c) {
	case 'S':
		rd->since = arg;
		return 1;
	case 'U':
		rd->until = arg;
		return 1;
	case 'z':
		rd->tz = arg;
		return 1;
	case 'E':
		rd->scan.allow_empty = 1;
		return 1;
	case 'I':
		rd->ignore_breaks = 1;
		return 1;
	case 'k':
		return tlspa_tool_key(&rd->key, arg) < 0 ? -TLSPA_EX_ERROR : 1;
	case 'd':
		nv = realloc(rd->domains, (rd->ndomains + 1) * sizeof(*nv));
		if (nv == NULL)
			return -TLSPA_EX_ERROR;
		nv[rd->ndomains++] = arg;
		rd->domains = nv;
		return 1;
	case 'f':
		if (strcmp(arg, "text") == 0)
			rd->format = F_TEXT;
		else if (strcmp(arg, "csv") == 0)
			rd->format = F_CSV;
		else if (strcmp(arg, "json") == 0)
			rd->format = F_JSON;
		else {
			fprintf(stderr,
				"tlspolicy-audit: --format %s: expected text, "
				"csv or json\n",
				arg);
			return -TLSPA_EX_ERROR;
		}
		return 1;
	case 'n':
		rd->top = strtoul(arg, &end, 10);
		if (rd->top == 0 || *end != '\0')
			return -tlspa_tool_usage(cmd);
		return 1;
	default:
		return 0;
	}
}

int
tlspa_reading_start(struct tlspa_reading *rd, const char *cmd, int argc,
		    char **argv)
{
	if (tlspa_scan_window(&rd->scan, rd->tz, rd->since, rd->until) < 0)
		return TLSPA_EX_ERROR;
	if (optind >= argc) {
		fprintf(stderr, "tlspolicy-audit %s: no FILE given\n", cmd);
		return tlspa_tool_usage(cmd);
	}
	rd->scan.files = argv + optind;
	rd->scan.nfiles = argc - optind;
	rd->scan.key = &rd->key;
	return 0;
}

int
tlspa_reading_wants(const struct tlspa_reading *rd, const char *domain)
{
	size_t i;

	if (rd->ndomains == 0)
		return 1;
	for (i = 0; domain[0] != '\0' && i < rd->ndomains; i++)
		if (tlspa_text_domain_match(domain, rd->domains[i]))
			return 1;
	return 0;
}

int
tlspa_reading_decision(const struct tlspa_jv *rec)
{
	const struct tlspa_jv *type = tlspa_jv_get(rec, "type");

	if (tlspa_jv_is(type, tlsp_event_type_name(TLSP_EV_MESSAGE)))
		return TLSP_EV_MESSAGE;
	if (tlspa_jv_is(type, tlsp_event_type_name(TLSP_EV_RCPT)))
		return TLSP_EV_RCPT;
	if (tlspa_jv_is(type, tlsp_event_type_name(TLSP_EV_MAIL)))
		return TLSP_EV_MAIL;
	return -1;
}

int
tlspa_reading_end(struct tlspa_reading *rd, int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "tlspolicy-audit: standard output: write "
				"error\n");
		return TLSPA_EX_ERROR;
	}
	if (rc != 0)
		return rc;
	return tlspa_scan_status(&rd->scan.chain, rd->ignore_breaks);
}

void
tlspa_reading_free(struct tlspa_reading *rd)
{
	tlspa_scan_close(&rd->scan);
	tlsp_chain_key_free(&rd->key);
	free(rd->domains);
}
