/*
 * report_html.c - tlspolicy-audit report --format html: one file an
 * officer can hand to an auditor.
 *
 * Self-contained: the CSS is inline (allowed by its SHA-256 in a
 * Content-Security-Policy that forbids every other source, so opening the
 * file makes no request), the charts are inline SVG (svg.c), and there is
 * no script. The verification result of the pass that counted the
 * records comes first, and a log that did not verify says so in the
 * title. Every value from the log is made safe twice: first as for a
 * terminal (tlspa_text_safe: controls and bidi overrides as \xHH), then
 * as HTML text (tlspa_svg_text). Tables stop at --top rows (100 by
 * default); the rows past that go to a companion CSV whose SHA-256 the
 * HTML prints, so the HTML stays small for any number of domains.
 *
 * The input files are hashed from the bytes the reader reads (one read,
 * and the hash is of exactly what was counted). The output is written to FILE.tmp and renamed, so a reader never sees half
 * a report.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "svg.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define DAYS_MAX 1100 /* a continuous x axis up to this many days */
#define SHARE_RULES 6 /* rules in the share chart */

/* =========================================================== hashing */

/* Each input file's SHA-256 over exactly the bytes the report read: the
 * reader hands them to tap() as it reads (no second read, and a log that
 * grows while the report runs is hashed as far as it was counted). A
 * file the reader could not show (gzip: it reads gzip's output) or did
 * not read to its end is hashed from disk when the report is written. */
struct tlspa_filehash {
	char *const *files;
	int n;
	EVP_MD_CTX **ctx; /* per file, while it is being read */
	int *done;	  /* the tap saw the file's end */
	char (*hex)[2 * EVP_MAX_MD_SIZE + 1];
	unsigned long long *size;
	char (*err)[128];
};

static void
hex_of(const unsigned char *md, unsigned n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	unsigned i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
tap(void *arg, int i, const char *p, size_t n)
{
	struct tlspa_filehash *h = arg;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (i < 0 || i >= h->n || h->done[i])
		return;
	if (h->ctx[i] == NULL) {
		if ((h->ctx[i] = EVP_MD_CTX_new()) == NULL ||
		    !EVP_DigestInit_ex(h->ctx[i], EVP_sha256(), NULL)) {
			h->done[i] = -1; /* hashed from disk at the end */
			return;
		}
	}
	if (n > 0) {
		if (!EVP_DigestUpdate(h->ctx[i], p, n))
			h->done[i] = -1;
		h->size[i] += n;
		return;
	}
	if (EVP_DigestFinal_ex(h->ctx[i], md, &mdlen)) {
		hex_of(md, mdlen, h->hex[i]);
		h->done[i] = 1;
	} else {
		h->done[i] = -1;
	}
}

/* A file the tap did not see whole, hashed from disk. */
static void
hash_file(struct tlspa_filehash *h, int i)
{
	unsigned char buf[1 << 16], md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned mdlen = 0;
	ssize_t got = 0;
	int fd = -1;

	h->size[i] = 0;
	if (strcmp(h->files[i], "-") == 0) {
		snprintf(h->err[i], sizeof(h->err[i]),
			 "standard input (compressed): not hashed");
		goto done;
	}
	if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
	    (fd = open(h->files[i], O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(h->err[i], sizeof(h->err[i]), "not hashed: %s",
			 ctx == NULL ? "out of memory" : strerror(errno));
		goto done;
	}
	while ((got = read(fd, buf, sizeof(buf))) > 0 ||
	       (got < 0 && errno == EINTR)) {
		if (got < 0)
			continue;
		EVP_DigestUpdate(ctx, buf, (size_t)got);
		h->size[i] += (unsigned long long)got;
	}
	if (got < 0 || !EVP_DigestFinal_ex(ctx, md, &mdlen))
		snprintf(h->err[i], sizeof(h->err[i]), "not hashed: %s",
			 strerror(errno));
	else
		hex_of(md, mdlen, h->hex[i]);
done:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
}

/* After the reading: every file not hashed whole by the tap, from disk. */
static void
hash_rest(struct tlspa_filehash *h)
{
	int i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n; i++)
		if (h->done[i] != 1 && h->err[i][0] == '\0' &&
		    h->hex[i][0] == '\0')
			hash_file(h, i);
}

int
tlspa_report_html_start(struct tlspa_report *r)
{
	struct tlspa_filehash *h = calloc(1, sizeof(*h));
	size_t n = (size_t)r->scan.nfiles;

	r->fh = h;
	if (h == NULL || (h->hex = calloc(n, sizeof(*h->hex))) == NULL ||
	    (h->size = calloc(n, sizeof(*h->size))) == NULL ||
	    (h->err = calloc(n, sizeof(*h->err))) == NULL ||
	    (h->ctx = calloc(n, sizeof(*h->ctx))) == NULL ||
	    (h->done = calloc(n, sizeof(*h->done))) == NULL) {
		fprintf(stderr, "tlspolicy-audit: out of memory\n");
		return -1;
	}
	h->files = r->scan.files;
	h->n = r->scan.nfiles;
	tlspa_report_html_tap(r, &r->scan.lines, 0);
	return 0;
}

void
tlspa_report_html_tap(struct tlspa_report *r, struct tlspa_reader *lr, int base)
{
	struct tlspa_filehash *h = r->fh;

	if (h == NULL || base < 0 || base + lr->nfiles > h->n)
		return;
	lr->tap = tap;
	lr->tap_arg = h;
	lr->tap_base = base;
}

void
tlspa_report_html_free(struct tlspa_report *r)
{
	struct tlspa_filehash *h = r->fh;
	int i;

	if (h == NULL)
		return;
	for (i = 0; h->ctx != NULL && i < h->n; i++)
		EVP_MD_CTX_free(h->ctx[i]);
	free(h->ctx);
	free(h->done);
	free(h->hex);
	free(h->size);
	free(h->err);
	free(h);
	r->fh = NULL;
}

/* ============================================================ output */

/* The style sheet; its SHA-256 goes into the Content-Security-Policy. */
static const char css[] =
	"body{font-family:sans-serif;margin:2em auto;max-width:60em;"
	"color:#000;background:#fff;line-height:1.35}"
	"h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #000}"
	"table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}"
	"th,td{border:1px solid #888;padding:.15em .4em;text-align:left;"
	"vertical-align:top}td.n,th.n{text-align:right;"
	"font-variant-numeric:tabular-nums}thead th{background:#e8e8e8}"
	"code,.hash{font-family:monospace;word-break:break-all}"
	".verify{border:3px solid #000;padding:.5em 1em;font-size:1.1em}"
	".verify.broken{border-style:double;border-width:6px;"
	"background:#fde0dc}.verify.ok{background:#e3f2e1}"
	".verify strong{font-size:1.2em}"
	"svg.chart{width:100%;height:auto;max-width:48em;display:block;"
	"margin:.5em 0 1.5em}.note{font-size:.9em}"
	"dl.head{display:grid;grid-template-columns:max-content auto;"
	"gap:.1em 1em}dl.head dt{font-weight:bold}dl.head dd{margin:0}"
	"@media print{body{margin:0;max-width:none;font-size:10pt}"
	"section{break-before:page}section.first{break-before:auto}"
	"tr,svg.chart,.verify,h2{break-inside:avoid}"
	"h2{break-after:avoid}thead{display:table-header-group}}";

/* A value from the log as HTML text. */
static void
esc(FILE *f, const char *s, size_t n)
{
	char buf[1024];

	tlspa_text_safe(s, n, buf, sizeof(buf));
	tlspa_svg_text(f, buf, strlen(buf));
}

void
tlspa_report_html_text(FILE *f, const char *s, size_t n)
{
	esc(f, s, n);
}

static void
escs(FILE *f, const char *s)
{
	esc(f, s, strlen(s));
}

static double
pct(uint64_t n, uint64_t of)
{
	return of ? 100.0 * (double)n / (double)of : 0.0;
}

static void
td_num(FILE *f, uint64_t n)
{
	fprintf(f, "<td class=\"n\">%llu</td>", (unsigned long long)n);
}

static void
td_pct(FILE *f, uint64_t n, uint64_t of)
{
	fprintf(f, "<td class=\"n\">%.1f%%</td>", pct(n, of));
}

/* The non-zero buckets of a histogram as "name n, name n". */
static void
td_hist(FILE *f, const struct tlspa_hist *h, const uint64_t *c)
{
	int i, first = 1;

	fputs("<td>", f);
	for (i = 0; i < h->n; i++)
		if (c[i] != 0) {
			fputs(first ? "" : ", ", f);
			escs(f, h->name(i));
			fprintf(f, " %llu", (unsigned long long)c[i]);
			first = 0;
		}
	fputs(first ? "-</td>" : "</td>", f);
}

/* Failures by requirement, "name fail/unknown". */
static void
td_failures(FILE *f, const struct tlspa_tally *t)
{
	int i, first = 1;

	fputs("<td>", f);
	for (i = 0; i < NREQ; i++)
		if (t->req[i][0] || t->req[i][1]) {
			fputs(first ? "" : ", ", f);
			escs(f, tlspa_report_req.name(i));
			fprintf(f, " %llu", (unsigned long long)t->req[i][0]);
			if (t->req[i][1])
				fprintf(f, " (+%llu unknown)",
					(unsigned long long)t->req[i][1]);
			first = 0;
		}
	fputs(first ? "-</td>" : "</td>", f);
}

static void
section(FILE *f, const char *id, const char *title, int first)
{
	fprintf(f, "<section id=\"%s\"%s><h2>", id,
		first ? " class=\"first\"" : "");
	escs(f, title);
	fputs("</h2>\n", f);
}

/* ---------------------------------------------------------- the head */

static void hosts_table(FILE *f, const struct tlspa_report *r);

static int
verified(const struct tlspa_follow *f)
{
	return f->breaks == 0 && !f->unkeyed && f->records > 0;
}

static const char *
status_word(const struct tlspa_follow *f)
{
	if (f->breaks > 0)
		return "NOT VERIFIED";
	if (f->unkeyed)
		return "NOT VERIFIED (hashes not checked: no key)";
	if (f->records == 0)
		return "no records";
	return "verified";
}

static void
head(FILE *f, const struct tlspa_report *r, const char *csp_hash)
{
	const struct tlspa_follow *c = &r->scan.chain;
	char a[32], b[32];

	fprintf(f,
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		"<meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"Content-Security-Policy\" "
		"content=\"default-src 'none'; style-src 'sha256-%s'; "
		"img-src 'none'; base-uri 'none'; form-action 'none'\">\n"
		"<meta name=\"viewport\" content=\"width=device-width\">\n"
		"<meta name=\"generator\" content=\"tlspolicy-audit %s\">\n"
		"<title>",
		csp_hash, PACKAGE_VERSION);
	fprintf(f, "%s: ", verified(c) ? "Verified" : status_word(c));
	fputs("TLS policy evidence report", f);
	if (r->first_ms <= r->last_ms) {
		tlspa_time_format(r->first_ms, a);
		tlspa_time_format(r->last_ms, b);
		fprintf(f, ", %.10s to %.10s", a, b);
	}
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
}

static void
verification(FILE *f, const struct tlspa_report *r)
{
	const struct tlspa_follow *c = &r->scan.chain;
	size_t i, k, met = 0, given = 0;

	fprintf(f, "<div class=\"verify %s\" id=\"verification\"><strong>",
		verified(c) ? "ok" : "broken");
	fprintf(f, "%s</strong>: <span id=\"evidence\">",
		verified(c) ? "Chain verified" : status_word(c));
	escs(f, r->evidence);
	fputs("</span>", f);
	if (c->records > 0 && r->hostev == NULL)
		fprintf(f,
			"<br>last hash <code class=\"hash\" "
			"id=\"last-hash\">%s</code>",
			c->hash);
	if (c->breaks > 0) {
		fputs("<br>first break: <code>", f);
		escs(f, c->first_break.path ? c->first_break.path : "");
		fprintf(f, ":%llu</code> ", c->first_break.lineno);
		escs(f, c->first_break_text);
	}
	for (i = 0; i < r->nanchors; i++)
		met += r->anchors[i].seen != 0;
	for (i = 0; i < r->fleet.n; i++) {
		given += r->fleet.hosts[i].nanchors;
		for (k = 0; k < r->fleet.hosts[i].nanchors; k++)
			met += r->fleet.hosts[i].anchors[k].seen != 0;
	}
	fprintf(f,
		"<br>key: %s; anchors (syslog checkpoints) given %zu, met "
		"%zu</div>\n",
		r->key.k != NULL    ? "HMAC key given, every hash checked"
		: r->hostev != NULL ? "per host, below"
				    : "none given",
		r->nanchors + given, met);
	hosts_table(f, r);
}

/* --host: one verification line per host. */
static void
hosts_table(FILE *f, const struct tlspa_report *r)
{
	const struct tlspa_hostev *e;
	size_t i;

	if (r->hostev == NULL)
		return;
	fputs("<table id=\"t-hosts\"><thead><tr><th>host</th>"
	      "<th class=\"n\">files</th><th class=\"n\">records</th>"
	      "<th>verification (each host's chain on its own)</th>"
	      "<th>last hash</th></tr></thead><tbody>\n",
	      f);
	for (i = 0; i < r->fleet.n; i++) {
		e = &r->hostev[i];
		fputs("<tr><td>", f);
		escs(f, e->name);
		fputs("</td>", f);
		td_num(f, (uint64_t)e->nfiles);
		td_num(f, e->records);
		fprintf(f, "<td class=\"%s\">",
			e->breaks || e->wrong || e->unkeyed ? "broken" : "ok");
		escs(f, e->evidence);
		fprintf(f, "</td><td class=\"hash\">%s</td></tr>\n",
			e->records ? e->hash : "-");
	}
	fputs("</tbody></table>\n", f);
}

static void
files_table(FILE *f, const struct tlspa_report *r)
{
	const struct tlspa_filehash *h = r->fh;
	int i;

	fputs("<table id=\"files\"><thead><tr><th>input file</th>"
	      "<th class=\"n\">bytes</th><th>SHA-256</th></tr></thead>"
	      "<tbody>\n",
	      f);
	for (i = 0; i < r->scan.nfiles; i++) {
		fputs("<tr><td><code>", f);
		escs(f, r->scan.files[i]);
		fputs("</code></td>", f);
		if (h->err[i][0] != '\0' && h->size[i] == 0)
			fputs("<td class=\"n\">-</td>", f); /* not known */
		else
			td_num(f, h->size[i]);
		if (h->err[i][0] != '\0') {
			fputs("<td>", f);
			escs(f, h->err[i]);
			fputs("</td></tr>\n", f);
		} else {
			fprintf(f, "<td class=\"hash\">%s</td></tr>\n",
				h->hex[i]);
		}
	}
	fputs("</tbody></table>\n", f);
}

static void
period(FILE *f, const struct tlspa_report *r)
{
	char a[32], b[32];

	fputs("<dt>period</dt><dd>", f);
	snprintf(a, sizeof(a), "start of the log");
	snprintf(b, sizeof(b), "end of the log");
	if (r->since != NULL)
		tlspa_time_format(r->scan.since, a);
	if (r->until != NULL)
		tlspa_time_format(r->scan.until, b);
	fprintf(f, "%s .. %s (end excluded)", a, b);
	if (r->first_ms <= r->last_ms) {
		tlspa_time_format(r->first_ms, a);
		tlspa_time_format(r->last_ms, b);
		fprintf(f, "; records from %s to %s", a, b);
	}
	fputs("</dd>\n", f);
}

static void
hosts(FILE *f, const struct tlspa_report *r, struct tlspa_ent **v)
{
	const struct tlspa_row *w;
	size_t i;

	fputs("<dt>hosts</dt><dd id=\"hosts\">", f);
	for (i = 0; i < r->hosts.n; i++) {
		w = (const struct tlspa_row *)v[i];
		fputs(i ? ", " : "", f);
		esc(f, w->e.key, w->e.klen);
		fprintf(f, " (%llu records)", (unsigned long long)w->t.n);
	}
	fputs(r->hosts.n ? "</dd>\n" : "-</dd>\n", f);
}

static void
summary(FILE *f, const struct tlspa_report *r, struct tlspa_ent **hv)
{
	const struct tlspa_tally *t = &r->total;
	char now[32];
	int i, first = 1;

	fputs("<h1>", f);
	if (!verified(&r->scan.chain)) {
		escs(f, status_word(&r->scan.chain));
		fputs(": ", f);
	}
	fputs("TLS policy evidence report</h1>\n", f);
	verification(f, r);
	fputs("<dl class=\"head\">\n", f);
	period(f, r);
	hosts(f, r, hv);
	fprintf(f, "<dt>records</dt><dd><span id=\"n-records\">%llu</span>",
		r->scan.records);
	for (i = 0; i < NTYPE; i++)
		if (r->types[i] != 0) {
			fprintf(f, "%s%s %llu", first ? " (" : ", ",
				tlspa_report_type.name(i),
				(unsigned long long)r->types[i]);
			first = 0;
		}
	fprintf(f, "%s; %llu more outside the period</dd>\n", first ? "" : ")",
		r->scan.outside);
	fprintf(f,
		"<dt>decisions</dt><dd><span id=\"n-decisions\">%llu</span> "
		"(%llu about a sender at MAIL)</dd>\n"
		"<dt>messages</dt><dd id=\"n-messages\">%llu</dd>\n"
		"<dt>met every rule</dt><dd><span id=\"n-passed\">%llu</span> "
		"(%.1f%%; exempt counts as met)</dd>\n"
		"<dt>failed a rule</dt><dd id=\"n-failed\">%llu</dd>\n"
		"<dt>refused</dt><dd><span id=\"n-refused\">%llu</span> "
		"(reject or defer, enforced)</dd>\n",
		(unsigned long long)t->n, (unsigned long long)r->mail_n,
		(unsigned long long)t->messages, (unsigned long long)t->passed,
		pct(t->passed, t->n), (unsigned long long)t->failed,
		(unsigned long long)t->refused);
	tlspa_time_format((int64_t)time(NULL) * 1000, now);
	fprintf(f,
		"<dt>made by</dt><dd>tlspolicy-audit %s at %s</dd>\n"
		"</dl>\n",
		PACKAGE_VERSION, now);
	files_table(f, r);
}

static void
reloads(FILE *f, const struct tlspa_report *r)
{
	const struct tlspa_reload *x;
	size_t i;

	section(f, "policy", "Policy in force: starts and reloads", 0);
	fputs("<p class=\"note\">A record carries the hash of the policy "
	      "it was decided under; each start or reload below set the "
	      "hash in force from its time on.</p>\n",
	      f);
	fputs("<table id=\"reloads\"><thead><tr><th>time</th><th>host</th>"
	      "<th>event</th><th>policy SHA-256</th><th>detail</th></tr>"
	      "</thead><tbody>\n",
	      f);
	for (i = 0; i < r->nreloads; i++) {
		x = &r->reloads[i];
		fputs("<tr><td>", f);
		escs(f, x->time);
		fputs("</td><td>", f);
		escs(f, x->host);
		fprintf(f, "</td><td%s>",
			strcmp(x->type, "reload_failed") == 0
				? " class=\"failed\""
				: "");
		escs(f, strcmp(x->type, "reload_failed") == 0
				? "reload FAILED (old policy kept)"
				: x->type);
		fputs("</td><td class=\"hash\">", f);
		escs(f, x->policy[0] ? x->policy : "-");
		fputs("</td><td>", f);
		escs(f, x->detail);
		fputs("</td></tr>\n", f);
	}
	if (r->nreloads == 0)
		fputs("<tr><td colspan=\"5\">no start or reload record in "
		      "the period</td></tr>\n",
		      f);
	fputs("</tbody></table>\n", f);
	if (r->reloads_dropped)
		fprintf(f, "<p>%llu more not listed.</p>\n",
			(unsigned long long)r->reloads_dropped);
	fputs("</section>\n", f);
}

/* ----------------------------------------------------------- charts */

struct days {
	size_t n;
	const char **label;	      /* "YYYY-MM-DD" */
	const struct tlspa_day **day; /* NULL: no decision that day */
	char (*buf)[16];
};

static int
day_cmp(const void *key, const void *ent)
{
	const struct tlspa_ent *e = *(const struct tlspa_ent *const *)ent;

	return strcmp(key, e->key);
}

/* The days from the first to the last with a decision, every one. */
static int
days_axis(const struct tlspa_report *r, struct tlspa_ent **v, struct days *d)
{
	const struct tlspa_day *first, *last;
	int64_t ms, start, end;
	size_t i, n = 0;
	char day[16];

	memset(d, 0, sizeof(*d));
	if (r->days.n == 0)
		return 0;
	first = (const struct tlspa_day *)v[0];
	last = (const struct tlspa_day *)v[r->days.n - 1];
	for (ms = first->start, n = 0; ms <= last->start && n <= DAYS_MAX;
	     n++) {
		tlspa_time_day(ms, day, &start, &end);
		ms = end;
	}
	if (n > DAYS_MAX)
		n = r->days.n; /* only the days with decisions */
	if ((d->label = calloc(n, sizeof(*d->label))) == NULL ||
	    (d->day = calloc(n, sizeof(*d->day))) == NULL ||
	    (d->buf = calloc(n, sizeof(*d->buf))) == NULL)
		return -1;
	d->n = n;
	for (i = 0, ms = first->start; i < n; i++) {
		struct tlspa_ent **hit;

		if (n == r->days.n) {
			d->day[i] = (const struct tlspa_day *)v[i];
		} else {
			tlspa_time_day(ms, d->buf[i], &start, &end);
			ms = end;
			hit = bsearch(d->buf[i], v, r->days.n, sizeof(*v),
				      day_cmp);
			d->day[i] = hit ? (const struct tlspa_day *)*hit : NULL;
		}
		if (d->day[i] != NULL)
			snprintf(d->buf[i], sizeof(d->buf[i]), "%s",
				 d->day[i]->e.key);
		d->label[i] = d->buf[i];
	}
	return 0;
}

static void
days_free(struct days *d)
{
	free(d->label);
	free(d->day);
	free(d->buf);
}

enum { H_VER, H_ACT, H_CERT };

static const uint64_t *
day_hist(const struct tlspa_day *x, int which)
{
	return which == H_VER ? x->ver : which == H_ACT ? x->action : x->cert;
}

/* A stacked chart of one histogram per day, its all-zero buckets left
 * out (all kept when every bucket is zero). */
static int
chart_hist(FILE *f, const struct days *d, const char *id, const char *title,
	   const struct tlspa_hist *h, int which)
{
	const char *names[TLSPA_SVG_SERIES];
	double *v = calloc(d->n * TLSPA_SVG_SERIES + 1, sizeof(*v));
	struct tlspa_svg_chart c = {
		.id = id,
		.title = title,
		.xlabel = "day",
		.ylabel = "decisions",
		.kind = TLSPA_SVG_STACKED,
		.npoints = d->n,
		.xlabels = d->label,
		.names = names,
		.v = v,
	};
	size_t i, s = 0;
	int b, rc;

	if (v == NULL)
		return -1;
	for (b = 0; b < h->n && s < TLSPA_SVG_SERIES; b++) {
		uint64_t sum = 0;

		for (i = 0; i < d->n; i++)
			if (d->day[i] != NULL) {
				v[s * d->n + i] = (double)day_hist(d->day[i],
								   which)[b];
				sum += day_hist(d->day[i], which)[b];
			}
		if (sum == 0 && d->n > 0) {
			memset(v + s * d->n, 0, d->n * sizeof(*v));
			continue;
		}
		names[s++] = h->name(b);
	}
	if (s == 0)
		for (b = 0; b < h->n && b < TLSPA_SVG_SERIES; b++)
			names[s++] = h->name(b);
	c.nseries = s;
	rc = tlspa_svg_write(f, &c);
	free(v);
	return rc;
}

static int
dayrule_cmp(const void *key, const void *ent)
{
	const struct tlspa_ent *k = key;
	const struct tlspa_ent *e = *(const struct tlspa_ent *const *)ent;
	size_t n = k->klen < e->klen ? k->klen : e->klen;
	int c = memcmp(k->key, e->key, n);

	return c ? c : k->klen < e->klen ? -1 : k->klen > e->klen;
}

/* The share of each of the busiest rules' evaluations that met the rule,
 * per day (no point on a day without one). */
static int
chart_share(FILE *f, const struct tlspa_report *r, const struct days *d,
	    struct tlspa_ent **rules, struct tlspa_ent **dr)
{
	const char *names[SHARE_RULES];
	char namebuf[SHARE_RULES][64], key[400];
	double *v = calloc(d->n * SHARE_RULES + 1, sizeof(*v));
	struct tlspa_svg_chart c = {
		.id = "c-share",
		.title = "Share of evaluations meeting each "
			 "rule, per day",
		.xlabel = "day",
		.ylabel = "met (%)",
		.kind = TLSPA_SVG_LINES,
		.npoints = d->n,
		.xlabels = d->label,
		.names = names,
		.v = v,
		.ymax = 100,
		.yunit = "%",
	};
	size_t i, s, ns = r->rule.n < SHARE_RULES ? r->rule.n : SHARE_RULES;
	struct tlspa_ent k, **hit;
	const struct tlspa_dayrule *x;
	int rc;

	if (v == NULL)
		return -1;
	for (s = 0; s < ns; s++) {
		tlspa_text_safe(rules[s]->key, rules[s]->klen, namebuf[s],
				sizeof(namebuf[s]));
		names[s] = namebuf[s];
		for (i = 0; i < d->n; i++) {
			v[s * d->n + i] = -1;
			if (rules[s]->klen > 255)
				continue;
			k.klen = (size_t)snprintf(key, sizeof(key), "%s%c%.*s",
						  d->label[i], 0,
						  (int)rules[s]->klen,
						  rules[s]->key);
			k.key = key;
			hit = bsearch(&k, dr, r->dayrule.n, sizeof(*dr),
				      dayrule_cmp);
			if (hit == NULL)
				continue;
			x = (const struct tlspa_dayrule *)*hit;
			if (x->n > 0)
				v[s * d->n + i] = pct(x->met, x->n);
		}
	}
	c.nseries = ns;
	rc = tlspa_svg_write(f, &c);
	free(v);
	return rc;
}

static int
charts(FILE *f, const struct tlspa_report *r, struct tlspa_ent **days,
       struct tlspa_ent **rules, struct tlspa_ent **dr)
{
	struct days d;
	int rc = -1;

	section(f, "charts", "Trends", 0);
	if (days_axis(r, days, &d) < 0)
		goto done;
	fprintf(f,
		"<p class=\"note\">Each decision is a recipient's verdict "
		"(or a sender's, refused at MAIL), counted on the day of its "
		"record (%s). Hatching and dashes tell the series apart "
		"without colour.</p>\n",
		r->tz != NULL ? r->tz : "UTC");
	if (chart_hist(f, &d, "c-ver", "Decisions per day by TLS version",
		       &tlspa_report_ver, H_VER) < 0 ||
	    chart_hist(f, &d, "c-act", "Decisions per day by action (enforced)",
		       &tlspa_report_act, H_ACT) < 0 ||
	    chart_share(f, r, &d, rules, dr) < 0 ||
	    chart_hist(f, &d, "c-cert",
		       "Decisions per day by client certificate state",
		       &tlspa_report_cert, H_CERT) < 0)
		goto done;
	fputs("</section>\n", f);
	rc = 0;
done:
	days_free(&d);
	return rc;
}

/* ----------------------------------------------------------- tables */

/* Whether the HTML shows row i (by count) of a domain table (dir
 * "recipient" or "sender") or of the clients: the busiest (--top), and
 * every one a rule of a --policy file the log names. The CSV holds the
 * others. */
static int
domain_shown(const struct tlspa_report *r, const char *dir, size_t i,
	     const struct tlspa_row *w)
{
	return i < r->top || tlspa_report_named(r, dir, w->e.key, w->e.klen);
}

static int
client_shown(const struct tlspa_report *r, size_t i, const struct tlspa_row *w)
{
	return i < r->top || tlspa_report_named_client(r, w->named);
}

/* Rows past `shown` went to the CSV: say so. */
static void
more(FILE *f, size_t shown, size_t n, uint64_t dropped, const char *csv)
{
	if (n > shown)
		fprintf(f,
			"<p class=\"note\">%zu more, fewer decisions each and "
			"named by no rule of a --policy file: in the companion "
			"CSV (%s).</p>\n",
			n - shown, csv);
	if (dropped)
		fprintf(f,
			"<p class=\"note\">%llu decisions not counted here: "
			"more than %d distinct names.</p>\n",
			(unsigned long long)dropped, TLSPA_TABLE_MAX);
}

/* dpairs: by domain (the key up to its first \0), then the most frequent
 * first, then by key. */
static size_t
dpair_prefix(const struct tlspa_ent *e)
{
	return strnlen(e->key, e->klen) + 1;
}

static int
dpair_cmp(const void *a, const void *b)
{
	const struct tlspa_pair *x = *(const struct tlspa_pair *const *)a;
	const struct tlspa_pair *y = *(const struct tlspa_pair *const *)b;
	size_t px = dpair_prefix(&x->e), py = dpair_prefix(&y->e);
	int c = memcmp(x->e.key, y->e.key, px < py ? px : py);

	if (c != 0)
		return c;
	if (px != py)
		return px < py ? -1 : 1;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return tlspa_table_by_key(a, b);
}

#define DPAIRS_SHOWN 3 /* per domain; the rest are counted */

/* A domain's most frequent required and observed values (dp sorted by
 * dpair_cmp), as a cell: "min_version: TLSv1.3 required, TLSv1.2
 * observed (3)". */
static void
td_dpairs(FILE *f, struct tlspa_ent **dp, size_t n, char dir, const char *d,
	  size_t dn)
{
	char pre[260];
	size_t lo = 0, hi = n, m, pn = dn + 2, shown = 0, more = 0;
	const struct tlspa_pair *p;
	const char *k, *req, *obs, *end;

	fputs("<td>", f);
	if (dn > 255) {
		fputs("-</td>", f);
		return;
	}
	pre[0] = dir;
	memcpy(pre + 1, d, dn);
	pre[dn + 1] = '\0';
	while (lo < hi) { /* the first entry not below pre */
		const struct tlspa_ent *e = dp[m = lo + (hi - lo) / 2];
		size_t pe = dpair_prefix(e);
		int c = memcmp(e->key, pre, pe < pn ? pe : pn);

		if (c < 0 || (c == 0 && pe < pn))
			lo = m + 1;
		else
			hi = m;
	}
	for (; lo < n; lo++) {
		p = (const struct tlspa_pair *)dp[lo];
		if (dpair_prefix(&p->e) != pn || memcmp(p->e.key, pre, pn) != 0)
			break;
		if (shown == DPAIRS_SHOWN) {
			more += p->n;
			continue;
		}
		end = p->e.key + p->e.klen;
		k = p->e.key + pn;
		req = k + strlen(k) + 1;
		obs = req + strnlen(req, (size_t)(end - req)) + 1;
		fputs(shown ? "; " : "", f);
		escs(f, k);
		fputs(": ", f);
		esc(f, req, strnlen(req, (size_t)(end - req)));
		fputs(" required, ", f);
		esc(f, obs < end ? obs : end,
		    obs < end ? (size_t)(end - obs) : 0);
		fprintf(f, " observed (%llu)", (unsigned long long)p->n);
		shown++;
	}
	if (more)
		fprintf(f, "; other values (%llu)", (unsigned long long)more);
	fputs(shown ? "</td>" : "-</td>", f);
}

static void
domain_rows(FILE *f, const struct tlspa_report *r, const char *dir,
	    const char *id, const char *what, struct tlspa_ent **v, size_t n,
	    uint64_t dropped, const char *csv, struct tlspa_ent **dp)
{
	const struct tlspa_row *w;
	size_t i, shown = 0;

	fprintf(f,
		"<table id=\"%s\"><thead><tr><th>%s</th>"
		"<th class=\"n\">decisions</th><th class=\"n\">messages</th>"
		"<th class=\"n\">met every rule</th><th class=\"n\">failed"
		"</th><th>failures by requirement</th><th>required and "
		"observed</th><th>actions</th></tr></thead><tbody>\n",
		id, what);
	for (i = 0; i < n; i++) {
		w = (const struct tlspa_row *)v[i];
		if (!domain_shown(r, dir, i, w))
			continue;
		shown++;
		fputs("<tr><td>", f);
		esc(f, w->e.key, w->e.klen);
		fputs("</td>", f);
		td_num(f, w->t.n);
		td_num(f, w->t.messages);
		td_pct(f, w->t.passed, w->t.n);
		td_num(f, w->t.failed);
		td_failures(f, &w->t);
		td_dpairs(f, dp, r->dpairs.n, dir[0] == 'r' ? 'R' : 'S',
			  w->e.key, w->e.klen);
		td_hist(f, &tlspa_report_act, w->t.action);
		fputs("</tr>\n", f);
	}
	if (n == 0)
		fputs("<tr><td colspan=\"8\">none in the period</td></tr>\n",
		      f);
	fputs("</tbody></table>\n", f);
	more(f, shown, n, dropped, csv);
}

struct sorted;
static void domains(FILE *f, const struct tlspa_report *r,
		    const struct sorted *s, const char *csv);

static void
rules_table(FILE *f, const struct tlspa_report *r, struct tlspa_ent **v)
{
	const struct tlspa_row *w;
	size_t i, nmon = 0;

	section(f, "rules", "Rules", 0);
	fputs("<table id=\"t-rules\"><thead><tr><th>rule</th>"
	      "<th class=\"n\">evaluations</th><th class=\"n\">met</th>"
	      "<th class=\"n\">failed</th><th class=\"n\">exempt</th>"
	      "<th>failures by requirement</th><th>enforced actions</th>"
	      "</tr></thead><tbody>\n",
	      f);
	for (i = 0; i < r->rule.n; i++) {
		w = (const struct tlspa_row *)v[i];
		nmon += w->t.monitor > 0;
		fputs("<tr><td>", f);
		esc(f, w->e.key, w->e.klen);
		fputs("</td>", f);
		td_num(f, w->t.n);
		td_pct(f, w->t.passed, w->t.n);
		td_num(f, w->t.failed);
		td_num(f, w->t.exempt);
		td_failures(f, &w->t);
		td_hist(f, &tlspa_report_act, w->t.action);
		fputs("</tr>\n", f);
	}
	if (r->rule.n == 0)
		fputs("<tr><td colspan=\"7\">no rule judged a decision in "
		      "the period</td></tr>\n",
		      f);
	fputs("</tbody></table>\n", f);

	fputs("<h3>Monitor-mode rules: what they would have done</h3>\n"
	      "<p class=\"note\">A rule in monitor mode records its verdict "
	      "and lets the message through: these counts are the rollout "
	      "evidence, what enforcing it would change.</p>\n"
	      "<table id=\"t-monitor\"><thead><tr><th>rule</th>"
	      "<th class=\"n\">evaluations in monitor mode</th>"
	      "<th>would have been</th><th class=\"n\">would refuse</th>"
	      "</tr></thead><tbody>\n",
	      f);
	for (i = 0; i < r->rule.n; i++) {
		w = (const struct tlspa_row *)v[i];
		if (w->t.monitor == 0)
			continue;
		fputs("<tr><td>", f);
		esc(f, w->e.key, w->e.klen);
		fputs("</td>", f);
		td_num(f, w->t.monitor);
		td_hist(f, &tlspa_report_act, w->t.would);
		td_pct(f,
		       w->t.would[TLSP_ACTION_REJECT] +
			       w->t.would[TLSP_ACTION_DEFER],
		       w->t.monitor);
		fputs("</tr>\n", f);
	}
	if (nmon == 0)
		fputs("<tr><td colspan=\"4\">no rule in monitor mode in the "
		      "period</td></tr>\n",
		      f);
	fputs("</tbody></table>\n", f);
	if (r->rule.dropped)
		fprintf(f,
			"<p class=\"note\">%llu evaluations not counted: "
			"too many rules.</p>\n",
			(unsigned long long)r->rule.dropped);
	fputs("</section>\n", f);
}

static void
client_cells(FILE *f, const struct tlspa_row *w)
{
	fputs("<tr><td>", f);
	esc(f, w->e.key, w->e.klen);
	fputs("</td><td>", f);
	if (w->name != NULL)
		escs(f, w->name);
	else
		fputs("-", f);
	fputs("</td>", f);
	td_num(f, w->t.n);
}

static void
clients(FILE *f, const struct tlspa_report *r, struct tlspa_ent **byfail,
	struct tlspa_ent **bycount, const char *csv)
{
	const struct tlspa_row *w;
	size_t i, shown = 0;

	section(f, "clients", "Top failing clients", 0);
	fputs("<table id=\"t-failing\"><thead><tr><th>client address</th>"
	      "<th>name</th><th class=\"n\">decisions</th>"
	      "<th class=\"n\">failed</th><th>failures by requirement</th>"
	      "<th>TLS versions</th></tr></thead><tbody>\n",
	      f);
	for (i = 0; i < r->client.n && shown < r->top; i++) {
		w = (const struct tlspa_row *)byfail[i];
		if (w->t.failed == 0)
			break;
		shown++;
		client_cells(f, w);
		td_num(f, w->t.failed);
		td_failures(f, &w->t);
		td_hist(f, &tlspa_report_ver, w->t.ver);
		fputs("</tr>\n", f);
	}
	if (shown == 0)
		fputs("<tr><td colspan=\"6\">no client failed a rule in the "
		      "period</td></tr>\n",
		      f);
	fputs("</tbody></table>\n</section>\n", f);

	section(f, "inventory",
		"Partner inventory: what each client "
		"presented",
		0);
	fputs("<table id=\"t-inventory\"><thead><tr><th>client address</th>"
	      "<th>name</th><th class=\"n\">decisions</th>"
	      "<th>TLS versions</th><th>certificate states</th>"
	      "<th>cipher bits</th><th>first certificate seen (subject / "
	      "issuer)</th></tr></thead><tbody>\n",
	      f);
	/* the busiest, and every one a rule of the policy names */
	for (i = 0, shown = 0; i < r->client.n; i++) {
		w = (const struct tlspa_row *)bycount[i];
		if (!client_shown(r, i, w))
			continue;
		shown++;
		client_cells(f, w);
		td_hist(f, &tlspa_report_ver, w->t.ver);
		td_hist(f, &tlspa_report_cert, w->t.cert);
		td_hist(f, &tlspa_report_bits, w->t.bits);
		fputs("<td>", f);
		escs(f, w->cert != NULL ? w->cert : "-");
		fputs("</td></tr>\n", f);
	}
	if (shown == 0)
		fputs("<tr><td colspan=\"7\">no client in the period</td>"
		      "</tr>\n",
		      f);
	fputs("</tbody></table>\n", f);
	more(f, shown, r->client.n, r->client.dropped, csv);
	fputs("</section>\n", f);
}

static int
pair_cmp(const void *a, const void *b)
{
	const struct tlspa_pair *x = *(const struct tlspa_pair *const *)a;
	const struct tlspa_pair *y = *(const struct tlspa_pair *const *)b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return tlspa_table_by_key(a, b);
}

/* The most frequent failures as required vs observed. */
static void
pairs(FILE *f, const struct tlspa_report *r)
{
	struct tlspa_ent **v = tlspa_table_sorted(&r->pairs, pair_cmp);
	const struct tlspa_pair *p;
	const char *k, *req, *obs;
	size_t i;

	if (v == NULL)
		return;
	fputs("<h3>Required and observed</h3>\n<table id=\"t-pairs\"><thead>"
	      "<tr><th>requirement</th><th>required</th><th>observed</th>"
	      "<th class=\"n\">failures</th></tr></thead><tbody>\n",
	      f);
	for (i = 0; i < r->pairs.n && i < r->top; i++) {
		p = (const struct tlspa_pair *)v[i];
		k = p->e.key;
		req = k + strlen(k) + 1;
		obs = req + strlen(req) + 1;
		fputs("<tr><td>", f);
		escs(f, k);
		fputs("</td><td>", f);
		esc(f, req, strnlen(req, (size_t)(k + p->e.klen - req)));
		fputs("</td><td>", f);
		esc(f, obs, (size_t)(k + p->e.klen - obs));
		fputs("</td>", f);
		td_num(f, p->n);
		fputs("</tr>\n", f);
	}
	if (r->pairs.n == 0)
		fputs("<tr><td colspan=\"4\">no failure in the period</td>"
		      "</tr>\n",
		      f);
	fputs("</tbody></table>\n", f);
	free(v);
}

/* The exceptions that waived requirements in the period: from the
 * records (name, end, decisions, what they let through), with owner,
 * reason and ticket from a --policy file the log names. */
static void
exceptions(FILE *f, const struct tlspa_report *r)
{
	struct tlspa_ent **v = tlspa_table_sorted(&r->exc,
						  tlspa_report_by_waived);
	const struct tlsp_exception *e;
	const struct tlspa_exrow *x;
	char a[32], b[32];
	size_t i;
	int k, first;

	fputs("<h3>Exceptions in force</h3>\n", f);
	if (r->exc.n == 0 || v == NULL) {
		fputs("<p id=\"exceptions\">No exception of the policy waived "
		      "a requirement in this period.</p>\n",
		      f);
		free(v);
		return;
	}
	fputs("<table id=\"exceptions\"><thead><tr><th>exception</th>"
	      "<th>owner</th><th>reason</th><th>expires</th>"
	      "<th class=\"n\">decisions</th><th class=\"n\">let "
	      "through</th><th>waived</th><th>first</th><th>last</th>"
	      "</tr></thead><tbody>\n",
	      f);
	for (i = 0; i < r->exc.n; i++) {
		x = (const struct tlspa_exrow *)v[i];
		e = tlspa_report_exception(r, x->e.key, x->e.klen);
		fputs("<tr><td>", f);
		esc(f, x->e.key, x->e.klen);
		if (e != NULL && tlsp_exception_ticket(e) != NULL) {
			fputs(" (", f);
			escs(f, tlsp_exception_ticket(e));
			fputs(")", f);
		}
		fputs("</td><td>", f);
		escs(f, e != NULL ? tlsp_exception_owner(e)
				  : "(policy text not "
				    "supplied)");
		fputs("</td><td>", f);
		escs(f, e != NULL ? tlsp_exception_reason(e) : "");
		fputs("</td><td>", f);
		escs(f, x->expires);
		fputs("</td>", f);
		td_num(f, x->n);
		td_num(f, x->let_through);
		fputs("<td>", f);
		for (k = 0, first = 1; k < NREQ; k++)
			if (x->waived[k]) {
				fprintf(f, "%s", first ? "" : ", ");
				escs(f, tlspa_report_req.name(k));
				fprintf(f, " %llu",
					(unsigned long long)x->waived[k]);
				first = 0;
			}
		tlspa_time_format(x->first_ms, a);
		tlspa_time_format(x->last_ms, b);
		fprintf(f, "</td><td>%s</td><td>%s</td></tr>\n", a, b);
	}
	fputs("</tbody></table>\n", f);
	free(v);
}

static void
totals(FILE *f, const struct tlspa_report *r)
{
	const struct tlspa_tally *t = &r->total;
	int i;

	section(f, "failures", "Failures by requirement", 0);
	fputs("<table id=\"t-req\"><thead><tr><th>requirement</th>"
	      "<th class=\"n\">failed</th><th class=\"n\">could not be "
	      "checked</th></tr></thead><tbody>\n",
	      f);
	for (i = 0; i < NREQ; i++)
		if (t->req[i][0] || t->req[i][1]) {
			fputs("<tr><td>", f);
			escs(f, tlspa_report_req.name(i));
			fputs("</td>", f);
			td_num(f, t->req[i][0]);
			td_num(f, t->req[i][1]);
			fputs("</tr>\n", f);
		}
	fputs("</tbody></table>\n", f);
	pairs(f, r);
	exceptions(f, r);
	fputs("</section>\n", f);
}

static void
footer(FILE *f)
{
	fputs("<footer><p class=\"note\">Every figure above is counted from "
	      "the audit records listed at the top, over the period shown; "
	      "the verification line says how far those records are "
	      "proven unaltered. This report states measured facts; it is "
	      "not a certification of compliance with any standard.</p>"
	      "</footer>\n</body>\n</html>\n",
	      f);
}

/* ------------------------------------------------------------- CSV */

static void
csv_cell(FILE *f, const char *s, size_t n)
{
	char buf[1024];
	size_t i, len;

	tlspa_text_safe(s, n, buf, sizeof(buf));
	len = strlen(buf);
	putc('"', f);
	if (len > 0 && strchr("=+-@\t\r", buf[0]) != NULL)
		putc('\'', f); /* not a formula to a spreadsheet */
	for (i = 0; i < len; i++) {
		if (buf[i] == '"')
			putc('"', f);
		putc(buf[i], f);
	}
	putc('"', f);
}

/* The rows of a table (dir: "recipient", "sender" or NULL for the
 * clients) that the HTML does not show; their number. */
static size_t
csv_rows(FILE *f, const struct tlspa_report *r, const char *dir,
	 const char *section, struct tlspa_ent **v, size_t n)
{
	const struct tlspa_row *w;
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		w = (const struct tlspa_row *)v[i];
		if (dir != NULL ? domain_shown(r, dir, i, w)
				: client_shown(r, i, w))
			continue;
		k++;
		if (f == NULL)
			continue;
		fprintf(f, "%s,", section);
		csv_cell(f, w->e.key, w->e.klen);
		putc(',', f);
		if (w->name != NULL)
			csv_cell(f, w->name, strlen(w->name));
		fprintf(f, ",%llu,%llu,%llu,%llu,%llu\n",
			(unsigned long long)w->t.n,
			(unsigned long long)w->t.messages,
			(unsigned long long)w->t.passed,
			(unsigned long long)w->t.failed,
			(unsigned long long)w->t.refused);
	}
	return k;
}

/* Whether any row goes to the companion CSV. */
static int
rest(const struct tlspa_report *r, struct tlspa_ent **dom,
     struct tlspa_ent **snd, struct tlspa_ent **cli)
{
	return csv_rows(NULL, r, "recipient", NULL, dom, r->dom.n) +
		       csv_rows(NULL, r, "sender", NULL, snd, r->sender.n) +
		       csv_rows(NULL, r, NULL, NULL, cli, r->client.n) >
	       0;
}

/* Writes the rows the HTML does not show to path (via path.tmp) and their SHA-256
 * into hex. 0, or -1 after saying why. */
static int
write_csv(const struct tlspa_report *r, struct tlspa_ent **dom,
	  struct tlspa_ent **snd, struct tlspa_ent **cli, const char *path,
	  char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char *buf = NULL, tmp[4200];
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len), *out;
	int rc = -1;

	if (m == NULL)
		return -1;
	fputs("section,name,client_name,decisions,messages,met,failed,"
	      "refused\n",
	      m);
	csv_rows(m, r, "recipient", "recipient_domain", dom, r->dom.n);
	csv_rows(m, r, "sender", "sender_domain", snd, r->sender.n);
	csv_rows(m, r, NULL, "client", cli, r->client.n);
	if (fclose(m) != 0 || buf == NULL)
		goto done;
	EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
	hex_of(md, mdlen, hex);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((out = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "tlspolicy-audit: %s: %s\n", tmp,
			strerror(errno));
		goto done;
	}
	if (fwrite(buf, 1, len, out) != len || fclose(out) != 0 ||
	    rename(tmp, path) != 0) {
		fprintf(stderr, "tlspolicy-audit: %s: %s\n", path,
			strerror(errno));
		unlink(tmp);
		goto done;
	}
	rc = 0;
done:
	free(buf);
	return rc;
}

/* The companion CSV's name: FILE without .html or .htm, then ".csv". */
static void
csv_path(const char *out, char *buf, size_t n)
{
	size_t len = strlen(out);

	if (len > 5 && strcmp(out + len - 5, ".html") == 0)
		len -= 5;
	else if (len > 4 && strcmp(out + len - 4, ".htm") == 0)
		len -= 4;
	snprintf(buf, n, "%.*s.csv", (int)len, out);
}

/* ------------------------------------------------------- the report */

static void
csp_hash(char out[64])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	EVP_Digest(css, strlen(css), md, &mdlen, EVP_sha256(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

struct sorted {
	struct tlspa_ent **dom, **snd, **rule, **byfail, **bycount, **days,
		**dr, **hosts, **rbykey, **dp;
};

static void
domains(FILE *f, const struct tlspa_report *r, const struct sorted *s,
	const char *csv)
{
	section(f, "domains", "Compliance per domain", 0);
	fputs("<h3>Recipient domains</h3>\n", f);
	domain_rows(f, r, "recipient", "t-rcpt", "recipient domain", s->dom,
		    r->dom.n, r->dom.dropped, csv, s->dp);
	fputs("<h3>Sender domains</h3>\n", f);
	domain_rows(f, r, "sender", "t-sender", "sender domain", s->snd,
		    r->sender.n, r->sender.dropped, csv, s->dp);
	if (r->dpairs.dropped)
		fprintf(f,
			"<p class=\"note\">%llu failures of a recipient or "
			"sender domain (one failure counts for each) not in the "
			"required and observed columns: more than %d distinct "
			"domain and value pairs.</p>\n",
			(unsigned long long)r->dpairs.dropped, TLSPA_TABLE_MAX);
	fputs("</section>\n", f);
}

static int
sort_all(const struct tlspa_report *r, struct sorted *s)
{
	s->dom = tlspa_table_sorted(&r->dom, tlspa_report_by_count);
	s->snd = tlspa_table_sorted(&r->sender, tlspa_report_by_count);
	s->rule = tlspa_table_sorted(&r->rule, tlspa_report_by_count);
	s->byfail = tlspa_table_sorted(&r->client, tlspa_report_by_failed);
	s->bycount = tlspa_table_sorted(&r->client, tlspa_report_by_count);
	s->days = tlspa_table_sorted(&r->days, tlspa_table_by_key);
	s->dr = tlspa_table_sorted(&r->dayrule, tlspa_table_by_key);
	s->hosts = tlspa_table_sorted(&r->hosts, tlspa_table_by_key);
	s->rbykey = tlspa_table_sorted(&r->rule, tlspa_table_by_key);
	s->dp = tlspa_table_sorted(&r->dpairs, dpair_cmp);
	return s->dom && s->snd && s->rule && s->byfail && s->bycount &&
			       s->days && s->dr && s->hosts && s->rbykey &&
			       s->dp
		       ? 0
		       : -1;
}

static void
sorted_free(struct sorted *s)
{
	free(s->dom);
	free(s->snd);
	free(s->rule);
	free(s->byfail);
	free(s->bycount);
	free(s->days);
	free(s->dr);
	free(s->hosts);
	free(s->rbykey);
	free(s->dp);
}

static int
write_html(FILE *f, const struct tlspa_report *r, const struct sorted *s,
	   const char *csv, const char *csvhex)
{
	char hash[64];

	csp_hash(hash);
	head(f, r, hash);
	fputs("<header>\n", f);
	summary(f, r, s->hosts);
	fputs("<p class=\"note\" id=\"companion\">", f);
	if (csvhex != NULL) {
		fputs("Rows past the first of each table are in the companion "
		      "file <code>",
		      f);
		escs(f, csv);
		fprintf(f, "</code>, SHA-256 <code class=\"hash\">%s</code>.",
			csvhex);
	} else {
		fputs("Every row is shown: no companion file.", f);
	}
	fputs("</p>\n</header>\n", f);
	reloads(f, r);
	if (charts(f, r, s->days, s->rule, s->dr) < 0)
		return -1;
	domains(f, r, s, csv);
	rules_table(f, r, s->rule);
	clients(f, r, s->byfail, s->bycount, csv);
	totals(f, r);
	tlspa_report_controls(f, r, s->rbykey);
	footer(f);
	return 0;
}

int
tlspa_report_html_write(struct tlspa_report *r)
{
	char csv[4096], csvhex[65], tmp[4200];
	const char *base;
	struct sorted s = {0};
	int rc = TLSPA_EX_ERROR, have_csv = 0;
	FILE *f = NULL;

	hash_rest(r->fh);
	if (sort_all(r, &s) < 0 || tlspa_report_named_collect(r) < 0) {
		fprintf(stderr, "tlspolicy-audit: out of memory\n");
		goto done;
	}
	csv_path(r->out, csv, sizeof(csv));
	if (rest(r, s.dom, s.snd, s.bycount)) {
		if (write_csv(r, s.dom, s.snd, s.bycount, csv, csvhex) < 0)
			goto done;
		have_csv = 1;
	}
	base = strrchr(csv, '/') ? strrchr(csv, '/') + 1 : csv;
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->out);
	if ((f = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "tlspolicy-audit: %s: %s\n", tmp,
			strerror(errno));
		goto done;
	}
	if (write_html(f, r, &s, base, have_csv ? csvhex : NULL) < 0) {
		fprintf(stderr, "tlspolicy-audit: out of memory\n");
		fclose(f);
		unlink(tmp);
		goto done;
	}
	if (ferror(f) | (fclose(f) != 0) || rename(tmp, r->out) != 0) {
		fprintf(stderr, "tlspolicy-audit: %s: %s\n", r->out,
			strerror(errno));
		unlink(tmp);
		goto done;
	}
	rc = 0;
done:
	sorted_free(&s);
	return rc;
}
