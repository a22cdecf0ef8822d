/*
 * scan.c - the records that report and show read: every line of the
 * files that parses as a record, in a window of time.
 *
 * Lines come from the bounded reader (reader.c) and parser
 * (jsonread.c); a line that is not a record is warned about with its
 * FILE:LINE and counted, never fatal.
 */
#include <stdio.h>

#include "tool.h"

static int
scan_line(struct tlspa_scan *s)
{
	const struct tlspa_reader_line *ln = &s->line;
	const struct tlspa_jv *t;

	if (ln->overlong) {
		tlspa_tool_warn(ln->path, ln->lineno,
				"line of %zu bytes skipped "
				"(longer than %zu)",
				ln->len, s->lines.max);
		return 0;
	}
	if ((s->rec = tlspa_json_parse(&s->json, ln->p, ln->len)) == NULL) {
		tlspa_tool_warn(ln->path, ln->lineno,
				"not a record: %s at byte %zu%s", s->json.err,
				s->json.errpos + 1,
				ln->lf ? "" : " (torn last line)");
		return 0;
	}
	if (s->rec->type != TLSPA_J_OBJ ||
	    tlspa_jv_get(s->rec, "seq") == NULL) {
		tlspa_tool_warn(ln->path, ln->lineno,
				"not a record: no \"seq\"");
		return 0;
	}
	t = tlspa_jv_get(s->rec, "time");
	if (t == NULL || t->type != TLSPA_J_STR ||
	    tlspa_time_rfc3339(t->s, t->len, &s->ms) < 0)
		s->ms = TLSPA_TIME_MIN;
	return 1;
}

int
tlspa_scan_next(struct tlspa_scan *s)
{
	int rc;

	if (!s->started) {
		s->started = 1;
		s->lines.files = s->files;
		s->lines.nfiles = s->nfiles;
	}
	while ((rc = tlspa_reader_next(&s->lines, &s->line)) > 0) {
		if (!scan_line(s)) {
			s->bad++;
			continue;
		}
		if ((s->since != TLSPA_TIME_MIN ||
		     s->until != TLSPA_TIME_MAX) &&
		    (s->ms == TLSPA_TIME_MIN || s->ms < s->since ||
		     s->ms >= s->until)) {
			s->outside++;
			continue;
		}
		s->records++;
		return 1;
	}
	if (rc < 0)
		fprintf(stderr, "tlspolicy-audit: %s\n", s->lines.err);
	return rc;
}

void
tlspa_scan_close(struct tlspa_scan *s)
{
	tlspa_reader_close(&s->lines);
	tlspa_json_free(&s->json);
}
