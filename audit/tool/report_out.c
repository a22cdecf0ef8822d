/*
 * report_out.c - the formats of tlspolicy-audit report.
 *
 * text: sections and aligned columns for a terminal, the biggest tables
 * cut to --top rows, every name from the log made safe to print.
 * csv: one row per total, domain, rule and client, all with the same
 * columns, so a spreadsheet can filter and sum them; a cell that a
 * spreadsheet would take for a formula is prefixed with "'".
 * json: everything, in one object. tlsrpt: one report per day, shaped
 * after RFC 8460 (TLS-RPT), one JSON object per line. JSON is built with
 * the audit builder (json.h), which escapes every string, and written
 * out in pieces, so memory stays bounded by the tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "report.h"

#define NAME_W 32 /* widest name column in text */

/* ============================================================== text */

static double
pct(uint64_t n, uint64_t of)
{
	return of ? 100.0 * (double)n / (double)of : 0.0;
}

static void
text_hist(const char *title, const struct tlspa_hist *h, const uint64_t *c,
	  uint64_t of)
{
	int i, n = h->n, any = 0;

	for (i = 0; i < n; i++)
		any |= c[i] != 0;
	if (!any)
		return;
	printf("\n%s\n", title);
	for (i = 0; i < n; i++)
		if (c[i] != 0)
			printf("  %-34s %10llu %6.1f%%\n", h->name(i),
			       (unsigned long long)c[i], pct(c[i], of));
}

static void
text_period(const struct tlspa_report *r)
{
	char a[32], b[32];

	if (r->since != NULL || r->until != NULL) {
		snprintf(a, sizeof(a), "start");
		snprintf(b, sizeof(b), "end");
		if (r->since != NULL)
			tlspa_time_format(r->scan.since, a);
		if (r->until != NULL)
			tlspa_time_format(r->scan.until, b);
		printf("period       %s .. %s (end excluded)\n", a, b);
	}
	if (r->first_ms <= r->last_ms) {
		tlspa_time_format(r->first_ms, a);
		tlspa_time_format(r->last_ms, b);
		printf("records from %s to %s\n", a, b);
	}
}

static void
text_head(const struct tlspa_report *r)
{
	const struct tlspa_tally *t = &r->total;
	int i, first = 1;

	printf("tlspolicy-audit report\n");
	text_period(r);
	printf("files        %d\nrecords      %llu", r->scan.nfiles,
	       r->scan.records);
	for (i = 0; i < NTYPE; i++)
		if (r->types[i] != 0) {
			printf("%s%s %llu", first ? " (" : ", ",
			       tlspa_report_type.name(i),
			       (unsigned long long)r->types[i]);
			first = 0;
		}
	printf("%s\n", first ? "" : ")");
	if (r->scan.outside > 0)
		printf("             %llu more outside the period\n",
		       r->scan.outside);
	printf("evidence     %s\n", r->evidence);
	printf("\ndecisions    %llu: %llu recipient%s, %llu sender%s refused "
	       "at MAIL\nmessages     %llu\n",
	       (unsigned long long)t->n, (unsigned long long)(t->n - r->mail_n),
	       t->n - r->mail_n == 1 ? "" : "s", (unsigned long long)r->mail_n,
	       r->mail_n == 1 ? "" : "s", (unsigned long long)t->messages);
	printf("passed       %llu (every rule passed or exempt)\n"
	       "failed       %llu\nrefused      %llu (reject or defer, "
	       "enforced)\n",
	       (unsigned long long)t->passed, (unsigned long long)t->failed,
	       (unsigned long long)t->refused);
}

static void
text_failures(const struct tlspa_tally *t)
{
	int i, any = 0;

	for (i = 0; i < NREQ; i++)
		any |= t->req[i][0] || t->req[i][1];
	if (!any)
		return;
	printf("\nFailures by requirement%*s %10s %10s\n", 12, "", "fail",
	       "unknown");
	for (i = 0; i < NREQ; i++)
		if (t->req[i][0] || t->req[i][1])
			printf("  %-33s %10llu %10llu\n",
			       tlspa_report_req.name(i),
			       (unsigned long long)t->req[i][0],
			       (unsigned long long)t->req[i][1]);
}

static void
text_totals(const struct tlspa_tally *t)
{
	text_hist("TLS version", &tlspa_report_ver, t->ver, t->n);
	text_hist("Cipher strength (bits)", &tlspa_report_bits, t->bits, t->n);
	text_hist("Forward secrecy", &tlspa_report_fs, t->fs, t->n);
	text_hist("Client certificate", &tlspa_report_cert, t->cert, t->n);
	text_hist("Actions (enforced)", &tlspa_report_act, t->action, t->n);
	text_hist("Monitor mode: would-be actions where they differ",
		  &tlspa_report_act, t->would, t->n);
	text_failures(t);
}

uint64_t
tlspa_report_sum(const uint64_t *c, int n)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += c[i];
	return s;
}

/* Prints s made safe in a column of NAME_W characters (not bytes: a
 * UTF-8 domain name must not push the columns after it). */
static void
put_name(const char *s, size_t n)
{
	char buf[4 * NAME_W];
	int w = 0;
	const char *p;

	tlspa_text_safe(s, n, buf, NAME_W + 1);
	for (p = buf; *p != '\0'; p++)
		w += ((unsigned char)*p & 0xc0) != 0x80;
	printf("  %s%*s", buf, w < NAME_W ? NAME_W - w : 0, "");
}

static void
text_more(size_t shown, size_t n, const struct tlspa_table *t, const char *what)
{
	if (n > shown)
		printf("  (%zu more not shown)\n", n - shown);
	if (t->dropped > 0)
		printf("  (%llu more decisions not counted: more than %d %s)\n",
		       (unsigned long long)t->dropped, TLSPA_TABLE_MAX, what);
}

static void
text_domains(const struct tlspa_report *r, struct tlspa_ent **v)
{
	const struct tlspa_tally *t;
	size_t i;

	printf("\nRecipient domains: %zu, by decisions\n", r->dom.n);
	printf("  %-*s%8s %8s %8s %8s %8s %8s %8s %8s %8s\n", NAME_W, "DOMAIN",
	       "RCPTS", "MSGS", "TLSv1.3", "TLSv1.2", "OLDER", "NO-TLS",
	       "FAILED", "REFUSED", "WOULD");
	for (i = 0; i < r->dom.n && i < r->top; i++) {
		t = &((struct tlspa_row *)v[i])->t;
		put_name(v[i]->key, v[i]->klen);
		printf("%8llu %8llu %8llu %8llu %8llu %8llu %8llu %8llu "
		       "%8llu\n",
		       (unsigned long long)t->n,
		       (unsigned long long)t->messages,
		       (unsigned long long)t->ver[V_TLS13],
		       (unsigned long long)t->ver[V_TLS12],
		       (unsigned long long)(t->n - t->ver[V_TLS13] -
					    t->ver[V_TLS12] - t->ver[V_NONE]),
		       (unsigned long long)t->ver[V_NONE],
		       (unsigned long long)t->failed,
		       (unsigned long long)t->refused,
		       (unsigned long long)tlspa_report_sum(t->would, NACT));
	}
	text_more(i, r->dom.n, &r->dom, "domains");
}

static const char *
top_failure(const struct tlspa_tally *t)
{
	int i, best = -1;
	uint64_t most = 0;

	for (i = 0; i < NREQ; i++)
		if (t->req[i][0] + t->req[i][1] > most) {
			most = t->req[i][0] + t->req[i][1];
			best = i;
		}
	return best < 0 ? "-" : tlspa_report_req.name(best);
}

static void
text_rules(const struct tlspa_report *r, struct tlspa_ent **v)
{
	const struct tlspa_tally *t;
	size_t i;

	printf("\nRules: %zu, by evaluations\n", r->rule.n);
	printf("  %-*s%8s %8s %8s %8s %8s %8s %8s  %s\n", NAME_W, "RULE",
	       "EVAL", "PASS", "FAIL", "UNKNOWN", "EXEMPT", "REFUSED", "WOULD",
	       "TOP FAILURE");
	for (i = 0; i < r->rule.n && i < r->top; i++) {
		t = &((struct tlspa_row *)v[i])->t;
		put_name(v[i]->key, v[i]->klen);
		printf("%8llu %8llu %8llu %8llu %8llu %8llu %8llu  %s\n",
		       (unsigned long long)t->n,
		       (unsigned long long)t->status[TLSP_PASS],
		       (unsigned long long)t->status[TLSP_FAIL],
		       (unsigned long long)t->status[TLSP_UNKNOWN],
		       (unsigned long long)t->exempt,
		       (unsigned long long)t->refused,
		       (unsigned long long)tlspa_report_sum(t->would, NACT),
		       top_failure(t));
	}
	text_more(i, r->rule.n, &r->rule, "rules");
}

static void
text_clients(const struct tlspa_report *r, struct tlspa_ent **v)
{
	const struct tlspa_row *w;
	size_t i, n = 0;

	for (i = 0; i < r->client.n && ((struct tlspa_row *)v[i])->t.failed;
	     i++)
		n++;
	if (n == 0)
		return;
	printf("\nClients with failed decisions: %zu, most first\n", n);
	printf("  %-*s  %-*s%8s %8s %8s\n", NAME_W, "CLIENT", NAME_W, "NAME",
	       "DECIDED", "FAILED", "REFUSED");
	for (i = 0; i < n && i < r->top; i++) {
		w = (struct tlspa_row *)v[i];
		put_name(w->e.key, w->e.klen);
		put_name(w->name ? w->name : "-",
			 w->name ? strlen(w->name) : 1);
		printf("%8llu %8llu %8llu\n", (unsigned long long)w->t.n,
		       (unsigned long long)w->t.failed,
		       (unsigned long long)w->t.refused);
	}
	text_more(i, n, &r->client, "clients");
}

/* "min_version 3, tls 1": what an exception waived, most first. */
static void
text_waived(const uint64_t *w)
{
	int done[NREQ] = {0}, i, best, first = 1;

	for (;;) {
		for (best = -1, i = 0; i < NREQ; i++)
			if (!done[i] && w[i] > 0 &&
			    (best < 0 || w[i] > w[best]))
				best = i;
		if (best < 0)
			break;
		done[best] = 1;
		printf("%s%s %llu", first ? "" : ", ",
		       tlspa_report_req.name(best),
		       (unsigned long long)w[best]);
		first = 0;
	}
}

static void
text_exceptions(const struct tlspa_report *r, struct tlspa_ent **v)
{
	const struct tlspa_exrow *x;
	char first[32], last[32];
	size_t i;

	printf("\nExceptions that waived requirements: %zu\n", r->exc.n);
	printf("  %-*s%-21s %8s %8s  %-20s  %-20s  %s\n", NAME_W, "EXCEPTION",
	       "EXPIRES", "DECIDED", "LET-IN", "FIRST", "LAST", "WAIVED");
	for (i = 0; i < r->exc.n && i < r->top; i++) {
		x = (const struct tlspa_exrow *)v[i];
		tlspa_time_format(x->first_ms, first);
		tlspa_time_format(x->last_ms, last);
		put_name(x->e.key, x->e.klen);
		printf("%-21s %8llu %8llu  %-20s  %-20s  ", x->expires,
		       (unsigned long long)x->n,
		       (unsigned long long)x->let_through, first, last);
		text_waived(x->waived);
		putchar('\n');
	}
	text_more(i, r->exc.n, &r->exc, "exceptions");
}

static int
write_text(const struct tlspa_report *r, struct tlspa_ent **dom,
	   struct tlspa_ent **rule, struct tlspa_ent **client,
	   struct tlspa_ent **exc)
{
	text_head(r);
	text_totals(&r->total);
	if (r->dom.n > 0 || r->dom.dropped > 0)
		text_domains(r, dom);
	if (r->rule.n > 0 || r->rule.dropped > 0)
		text_rules(r, rule);
	text_clients(r, client);
	if (r->exc.n > 0 || r->exc.dropped > 0)
		text_exceptions(r, exc);
	return 0;
}

/* =============================================================== csv */

/* A CSV cell: quoted when needed, safe for a spreadsheet. */
static void
csv_cell(const char *s, size_t n)
{
	char buf[1024];
	const char *p;

	int formula;

	tlspa_text_safe(s, n, buf, sizeof(buf));
	formula = buf[0] != '\0' && strchr("=+-@", buf[0]) != NULL;
	if (strpbrk(buf, ",\"") == NULL && !formula) {
		fputs(buf, stdout);
		return;
	}
	putchar('"');
	if (formula)
		putchar('\'');
	for (p = buf; *p != '\0'; p++) {
		if (*p == '"')
			putchar('"');
		putchar(*p);
	}
	putchar('"');
}

/* A column name: prefix_name with every other character made '_'. */
static void
csv_col(const char *prefix, const char *name)
{
	const char *p;

	printf(",%s_", prefix);
	for (p = name; *p != '\0'; p++)
		putchar((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
					(*p >= '0' && *p <= '9') || *p == '.'
				? *p
				: '_');
}

static void
csv_cols(const char *prefix, const struct tlspa_hist *h)
{
	int i;

	for (i = 0; i < h->n; i++)
		csv_col(prefix, h->name(i));
}

static void
csv_header(void)
{
	int i;

	printf("section,name,client_name,decisions,messages,refused,passed,"
	       "failed");
	csv_cols("version", &tlspa_report_ver);
	csv_cols("bits", &tlspa_report_bits);
	csv_cols("forward_secrecy", &tlspa_report_fs);
	csv_cols("cert", &tlspa_report_cert);
	csv_cols("action", &tlspa_report_act);
	csv_cols("would", &tlspa_report_act);
	csv_cols("status", &tlspa_report_status);
	printf(",exempt,monitor");
	for (i = 0; i < NREQ; i++) {
		csv_col("fail", tlspa_report_req.name(i));
		csv_col("unknown", tlspa_report_req.name(i));
	}
	for (i = 0; i < NREQ; i++)
		csv_col("waived", tlspa_report_req.name(i));
	putchar('\n');
}

static void
csv_nums(const uint64_t *c, int n)
{
	int i;

	for (i = 0; i < n; i++)
		printf(",%llu", (unsigned long long)c[i]);
}

static void
csv_row(const char *section, const char *name, size_t nlen, const char *cname,
	const struct tlspa_tally *t)
{
	int i;

	printf("%s,", section);
	csv_cell(name, nlen);
	putchar(',');
	if (cname != NULL)
		csv_cell(cname, strlen(cname));
	printf(",%llu,%llu,%llu,%llu,%llu", (unsigned long long)t->n,
	       (unsigned long long)t->messages, (unsigned long long)t->refused,
	       (unsigned long long)t->passed, (unsigned long long)t->failed);
	csv_nums(t->ver, NVER);
	csv_nums(t->bits, NBITS);
	csv_nums(t->fs, NFS);
	csv_nums(t->cert, NCERT);
	csv_nums(t->action, NACT);
	csv_nums(t->would, NACT);
	csv_nums(t->status, NSTATUS);
	printf(",%llu,%llu", (unsigned long long)t->exempt,
	       (unsigned long long)t->monitor);
	for (i = 0; i < NREQ; i++)
		printf(",%llu,%llu", (unsigned long long)t->req[i][0],
		       (unsigned long long)t->req[i][1]);
	csv_nums(t->waived, NREQ);
	putchar('\n');
}

/*
 * An exception's row: its name, its end in the client_name column, the
 * decisions it waived something in, of which not refused ("passed"),
 * and the waived_* counts; the other columns are empty, as they describe
 * sessions, which the domain and client rows count.
 */
static void
csv_exceptions(const struct tlspa_report *r, struct tlspa_ent **v)
{
	const struct tlspa_exrow *x;
	int i, empty = tlspa_report_ver.n + tlspa_report_bits.n +
		       tlspa_report_fs.n + tlspa_report_cert.n +
		       2 * tlspa_report_act.n + tlspa_report_status.n + 2 +
		       2 * NREQ;
	size_t k;

	for (k = 0; k < r->exc.n; k++) {
		x = (const struct tlspa_exrow *)v[k];
		printf("exception,");
		csv_cell(x->e.key, x->e.klen);
		putchar(',');
		csv_cell(x->expires, strlen(x->expires));
		printf(",%llu,,,%llu,", (unsigned long long)x->n,
		       (unsigned long long)x->let_through);
		for (i = 0; i < empty; i++)
			putchar(',');
		csv_nums(x->waived, NREQ);
		putchar('\n');
	}
}

static void
csv_rows(const char *section, struct tlspa_ent **v, size_t n)
{
	const struct tlspa_row *w;
	size_t i;

	for (i = 0; i < n; i++) {
		w = (const struct tlspa_row *)v[i];
		csv_row(section, w->e.key, w->e.klen, w->name, &w->t);
	}
}

/* What verified, in a row of its own (the name column), right under the
 * header, with the other cells empty. */
static void
csv_evidence(const struct tlspa_report *r)
{
	int i, ncols = 8 + tlspa_report_ver.n + tlspa_report_bits.n +
		       tlspa_report_fs.n + tlspa_report_cert.n +
		       2 * tlspa_report_act.n + tlspa_report_status.n + 2 +
		       3 * NREQ;

	printf("evidence,");
	csv_cell(r->evidence, strlen(r->evidence));
	for (i = 2; i < ncols; i++)
		putchar(',');
	putchar('\n');
}

static int
write_csv(const struct tlspa_report *r, struct tlspa_ent **dom,
	  struct tlspa_ent **rule, struct tlspa_ent **client,
	  struct tlspa_ent **exc)
{
	csv_header();
	csv_evidence(r);
	csv_row("total", "", 0, NULL, &r->total);
	csv_rows("domain", dom, r->dom.n);
	csv_rows("rule", rule, r->rule.n);
	csv_rows("client", client, r->client.n);
	csv_exceptions(r, exc);
	return 0;
}

/* ============================================================== json */

/* Writes out all but the last byte, which the builder looks at to place
 * its commas. */
static void
j_flush(struct tlsp_jbuf *jb, int all)
{
	if (jb->oom || jb->len == 0 || (!all && jb->len < 65536))
		return;
	if (all) {
		fwrite(jb->p, 1, jb->len, stdout);
		tlsp_jb_reset(jb);
		return;
	}
	fwrite(jb->p, 1, jb->len - 1, stdout);
	jb->p[0] = jb->p[jb->len - 1];
	jb->len = 1;
	jb->p[1] = '\0';
}

static void
j_counts(struct tlsp_jbuf *jb, const char *key, const struct tlspa_hist *h,
	 const uint64_t *c)
{
	int i;

	tlsp_jb_key(jb, key);
	tlsp_jb_open(jb, '{');
	for (i = 0; i < h->n; i++) {
		tlsp_jb_key(jb, h->name(i));
		tlsp_jb_uint(jb, c[i]);
	}
	tlsp_jb_close(jb, '}');
}

static void
j_uint(struct tlsp_jbuf *jb, const char *key, uint64_t v)
{
	tlsp_jb_key(jb, key);
	tlsp_jb_uint(jb, v);
}

static void
j_failures(struct tlsp_jbuf *jb, const struct tlspa_tally *t)
{
	int i;

	tlsp_jb_key(jb, "failures");
	tlsp_jb_open(jb, '{');
	for (i = 0; i < NREQ; i++) {
		if (!t->req[i][0] && !t->req[i][1])
			continue;
		tlsp_jb_key(jb, tlspa_report_req.name(i));
		tlsp_jb_open(jb, '{');
		j_uint(jb, "fail", t->req[i][0]);
		j_uint(jb, "unknown", t->req[i][1]);
		tlsp_jb_close(jb, '}');
	}
	tlsp_jb_close(jb, '}');
}

/* The members of a tally, inside an object the caller opened. */
static void
j_tally(struct tlsp_jbuf *jb, const struct tlspa_tally *t, int rule)
{
	j_uint(jb, "decisions", t->n);
	j_uint(jb, "messages", t->messages);
	j_uint(jb, "refused", t->refused);
	j_uint(jb, "passed", t->passed);
	j_uint(jb, "failed", t->failed);
	j_counts(jb, "tls_version", &tlspa_report_ver, t->ver);
	j_counts(jb, "cipher_bits", &tlspa_report_bits, t->bits);
	j_counts(jb, "forward_secrecy", &tlspa_report_fs, t->fs);
	j_counts(jb, "client_cert", &tlspa_report_cert, t->cert);
	j_counts(jb, "actions", &tlspa_report_act, t->action);
	j_counts(jb, "would_actions", &tlspa_report_act, t->would);
	if (rule) {
		j_counts(jb, "status", &tlspa_report_status, t->status);
		j_uint(jb, "exempt", t->exempt);
		j_uint(jb, "monitor", t->monitor);
	}
	j_failures(jb, t);
	j_counts(jb, "waived", &tlspa_report_req, t->waived);
}

static void j_time(struct tlsp_jbuf *jb, const char *key, int64_t ms);

static void
j_exceptions(struct tlsp_jbuf *jb, const struct tlspa_report *r,
	     struct tlspa_ent **v)
{
	const struct tlspa_exrow *x;
	size_t i;

	tlsp_jb_key(jb, "exceptions");
	tlsp_jb_open(jb, '[');
	for (i = 0; i < r->exc.n; i++) {
		x = (const struct tlspa_exrow *)v[i];
		tlsp_jb_open(jb, '{');
		tlsp_jb_key(jb, "exception");
		tlsp_jb_strn(jb, x->e.key, x->e.klen);
		tlsp_jb_kstr(jb, "expires", x->expires);
		j_uint(jb, "decisions", x->n);
		j_uint(jb, "let_through", x->let_through);
		j_time(jb, "first", x->first_ms);
		j_time(jb, "last", x->last_ms);
		j_counts(jb, "waived", &tlspa_report_req, x->waived);
		tlsp_jb_close(jb, '}');
		j_flush(jb, 0);
	}
	tlsp_jb_close(jb, ']');
}

static void
j_rows(struct tlsp_jbuf *jb, const char *key, const char *name,
       struct tlspa_ent **v, size_t n, int rule)
{
	const struct tlspa_row *w;
	size_t i;

	tlsp_jb_key(jb, key);
	tlsp_jb_open(jb, '[');
	for (i = 0; i < n; i++) {
		w = (const struct tlspa_row *)v[i];
		tlsp_jb_open(jb, '{');
		tlsp_jb_key(jb, name);
		tlsp_jb_strn(jb, w->e.key, w->e.klen);
		if (w->name != NULL)
			tlsp_jb_kstr(jb, "name", w->name);
		j_tally(jb, &w->t, rule);
		tlsp_jb_close(jb, '}');
		j_flush(jb, 0);
	}
	tlsp_jb_close(jb, ']');
}

static void
j_time(struct tlsp_jbuf *jb, const char *key, int64_t ms)
{
	char buf[32];

	if (ms == TLSPA_TIME_MIN || ms == TLSPA_TIME_MAX) {
		tlsp_jb_key(jb, key);
		tlsp_jb_null(jb);
		return;
	}
	tlspa_time_format(ms, buf);
	tlsp_jb_kstr(jb, key, buf);
}

/* What verified: "evidence":{"verified":true,...,"summary":"..."}. */
static void
j_evidence(struct tlsp_jbuf *jb, const struct tlspa_follow *f,
	   const char *summary)
{
	tlsp_jb_key(jb, "evidence");
	tlsp_jb_open(jb, '{');
	tlsp_jb_kbool(jb, "verified", f->breaks == 0 && !f->unkeyed);
	tlsp_jb_kbool(jb, "hashes_checked", !f->unkeyed);
	j_uint(jb, "records", f->records);
	j_uint(jb, "first_seq", f->records ? f->first_seq : 0);
	j_uint(jb, "last_seq", f->records ? f->seq : 0);
	j_uint(jb, "breaks", f->breaks);
	j_uint(jb, "not_counted", f->skipped);
	j_uint(jb, "torn_tolerated", f->torn);
	tlsp_jb_kstr(jb, "summary", summary);
	tlsp_jb_close(jb, '}');
}

static void
j_head(struct tlsp_jbuf *jb, const struct tlspa_report *r)
{
	tlsp_jb_key(jb, "period");
	tlsp_jb_open(jb, '{');
	j_time(jb, "since", r->scan.since);
	j_time(jb, "until", r->scan.until);
	j_time(jb, "first_record",
	       r->first_ms <= r->last_ms ? r->first_ms : TLSPA_TIME_MIN);
	j_time(jb, "last_record",
	       r->first_ms <= r->last_ms ? r->last_ms : TLSPA_TIME_MIN);
	tlsp_jb_close(jb, '}');
	j_uint(jb, "files", (uint64_t)r->scan.nfiles);
	j_counts(jb, "records", &tlspa_report_type, r->types);
	j_uint(jb, "outside_period", r->scan.outside);
	j_evidence(jb, &r->scan.chain, r->evidence);
	j_uint(jb, "sender_decisions", r->mail_n);
	tlsp_jb_key(jb, "not_counted");
	tlsp_jb_open(jb, '{');
	j_uint(jb, "domains", r->dom.dropped);
	j_uint(jb, "rules", r->rule.dropped);
	j_uint(jb, "clients", r->client.dropped);
	tlsp_jb_close(jb, '}');
}

static int
j_done(struct tlsp_jbuf *jb)
{
	int oom = jb->oom;

	if (!oom)
		j_flush(jb, 1);
	tlsp_jb_free(jb);
	if (oom) {
		fprintf(stderr, "tlspolicy-audit: out of memory\n");
		return TLSPA_EX_ERROR;
	}
	return 0;
}

static int
write_json(const struct tlspa_report *r, struct tlspa_ent **dom,
	   struct tlspa_ent **rule, struct tlspa_ent **client,
	   struct tlspa_ent **exc)
{
	struct tlsp_jbuf jb;

	tlsp_jb_init(&jb);
	tlsp_jb_open(&jb, '{');
	j_head(&jb, r);
	tlsp_jb_key(&jb, "total");
	tlsp_jb_open(&jb, '{');
	j_tally(&jb, &r->total, 0);
	tlsp_jb_close(&jb, '}');
	j_rows(&jb, "domains", "domain", dom, r->dom.n, 0);
	j_rows(&jb, "rules", "rule", rule, r->rule.n, 1);
	j_rows(&jb, "clients", "client", client, r->client.n, 0);
	j_exceptions(&jb, r, exc);
	tlsp_jb_close(&jb, '}');
	tlsp_jb_raw(&jb, "\n", 1);
	return j_done(&jb);
}

/* ============================================================ tlsrpt */

static void
rpt_details(struct tlsp_jbuf *jb, const struct tlspa_pol *p)
{
	const struct tlspa_det *d;
	char reason[48];

	tlsp_jb_key(jb, "failure-details");
	tlsp_jb_open(jb, '[');
	for (d = p->details; d != NULL; d = d->next) {
		tlsp_jb_open(jb, '{');
		tlsp_jb_kstr(jb, "result-type", d->result);
		tlsp_jb_kstr(jb, "sending-mta-ip", d->ip);
		tlsp_jb_kstr(jb, "receiving-mx-hostname", p->host);
		j_uint(jb, "failed-session-count", d->count);
		snprintf(reason, sizeof(reason), "%s%s", d->reason,
			 d->unknown ? " (unknown)" : "");
		tlsp_jb_kstr(jb, "failure-reason-code", reason);
		tlsp_jb_close(jb, '}');
	}
	tlsp_jb_close(jb, ']');
}

static void
rpt_policy(struct tlsp_jbuf *jb, const struct tlspa_pol *p)
{
	const char *dom = p->e.key + strlen(p->e.key) + 1;
	int i;

	tlsp_jb_open(jb, '{');
	tlsp_jb_key(jb, "policy");
	tlsp_jb_open(jb, '{');
	tlsp_jb_kstr(jb, "policy-type", "tlspolicy");
	tlsp_jb_key(jb, "policy-string");
	tlsp_jb_open(jb, '[');
	for (i = 0; i < p->nrules; i++)
		tlsp_jb_str(jb, p->rules[i]);
	tlsp_jb_close(jb, ']');
	tlsp_jb_key(jb, "policy-domain");
	tlsp_jb_strn(jb, dom, p->e.klen - (size_t)(dom - p->e.key));
	tlsp_jb_close(jb, '}');
	tlsp_jb_key(jb, "summary");
	tlsp_jb_open(jb, '{');
	j_uint(jb, "total-successful-session-count", p->ok);
	j_uint(jb, "total-failure-session-count", p->failed);
	tlsp_jb_close(jb, '}');
	rpt_details(jb, p);
	tlsp_jb_close(jb, '}');
}

static void
rpt_day_open(struct tlsp_jbuf *jb, const struct tlspa_report *r,
	     const struct tlspa_pol *p)
{
	char buf[32], id[300];

	tlsp_jb_open(jb, '{');
	tlsp_jb_kstr(jb, "organization-name", p->host);
	tlsp_jb_key(jb, "date-range");
	tlsp_jb_open(jb, '{');
	tlspa_time_format(p->start, buf);
	tlsp_jb_kstr(jb, "start-datetime", buf);
	tlspa_time_format(p->end - 1000, buf);
	tlsp_jb_kstr(jb, "end-datetime", buf);
	tlsp_jb_close(jb, '}');
	if (r->contact != NULL)
		tlsp_jb_kstr(jb, "contact-info", r->contact);
	tlsp_jb_kstr(jb, "tlspolicy-evidence", r->evidence);
	snprintf(id, sizeof(id), "%s_%s_tlspolicy", p->day, p->host);
	tlsp_jb_kstr(jb, "report-id", id);
	tlsp_jb_key(jb, "policies");
	tlsp_jb_open(jb, '[');
}

static int
write_tlsrpt(const struct tlspa_report *r)
{
	struct tlspa_ent **v = tlspa_table_sorted(&r->pol, tlspa_table_by_key);
	const struct tlspa_pol *p, *prev = NULL;
	struct tlsp_jbuf jb;
	size_t i;

	if (v == NULL)
		return TLSPA_EX_ERROR;
	tlsp_jb_init(&jb);
	for (i = 0; i < r->pol.n; i++, prev = p) {
		p = (const struct tlspa_pol *)v[i];
		if (prev != NULL && strcmp(prev->day, p->day) != 0) {
			tlsp_jb_raw(&jb, "]}\n", 3);
			j_flush(&jb, 1);
		}
		if (prev == NULL || strcmp(prev->day, p->day) != 0)
			rpt_day_open(&jb, r, p);
		rpt_policy(&jb, p);
		j_flush(&jb, 0);
	}
	if (prev != NULL)
		tlsp_jb_raw(&jb, "]}\n", 3);
	free(v);
	if (r->pol.dropped || r->det.dropped)
		fprintf(stderr,
			"tlspolicy-audit: %llu sessions not counted: more "
			"than %d domain-days or failure details\n",
			(unsigned long long)(r->pol.dropped + r->det.dropped),
			TLSPA_TABLE_MAX);
	return j_done(&jb);
}

/* ========================================================= dispatch */

int
tlspa_report_write(struct tlspa_report *r)
{
	struct tlspa_ent **dom = NULL, **rule = NULL, **client = NULL;
	struct tlspa_ent **exc = NULL;
	int rc = TLSPA_EX_ERROR;

	if (r->format == F_TLSRPT)
		return write_tlsrpt(r);
	if ((dom = tlspa_table_sorted(&r->dom, tlspa_report_by_count)) ==
		    NULL ||
	    (rule = tlspa_table_sorted(&r->rule, tlspa_report_by_count)) ==
		    NULL ||
	    (client = tlspa_table_sorted(&r->client, tlspa_report_by_failed)) ==
		    NULL ||
	    (exc = tlspa_table_sorted(&r->exc, tlspa_report_by_waived)) ==
		    NULL) {
		fprintf(stderr, "tlspolicy-audit: out of memory\n");
		goto fail;
	}
	if (r->format == F_TEXT)
		rc = write_text(r, dom, rule, client, exc);
	else if (r->format == F_CSV)
		rc = write_csv(r, dom, rule, client, exc);
	else
		rc = write_json(r, dom, rule, client, exc);
fail:
	free(exc);
	free(dom);
	free(rule);
	free(client);
	return rc;
}

/* ====================================================== for inventory */

void
tlspa_report_csv_cell(const char *s, size_t n)
{
	csv_cell(s, n);
}

void
tlspa_report_csv_col(const char *prefix, const char *name)
{
	csv_col(prefix, name);
}

void
tlspa_report_json_flush(struct tlsp_jbuf *jb, int all)
{
	j_flush(jb, all);
}
