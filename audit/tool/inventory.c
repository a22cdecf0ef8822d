/*
 * inventory.c - tlspolicy-audit inventory: what each partner's mail
 * looked like, the table an admin reads before writing a rule.
 *
 * One pass over the decision records (message, rcpt, mail) that the
 * chain follower finds in the chain (scan.c): each is added to its
 * sender's domain and to the client that sent it (a transaction that
 * refused a recipient at RCPT and delivered to others has two). A row
 * keeps histograms (TLS version, cipher bits, forward secrecy,
 * certificate state: the report's buckets, report.c), the first few
 * distinct cipher suites, certificate subjects, issuers and fingerprints
 * with their counts, and what the rules that applied found. Memory grows
 * with distinct senders and clients, never with records; the tables are
 * bounded (table.c) and say what they could not place.
 *
 * A record carries the failures of a rule, not the requirements it
 * checked: per requirement the inventory counts failures and unknowns,
 * and per row how many rule evaluations passed every requirement.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "json.h"
#include "report.h"

#define NVALS 4 /* distinct values kept per row and kind */

/* The first NVALS distinct values of a kind, counted; the rest summed. */
struct vals {
	char *v[NVALS];
	size_t len[NVALS];
	uint64_t c[NVALS];
	uint64_t more;
};

enum { K_CIPHER, K_SUBJECT, K_ISSUER, K_FP, NKIND };

static const char *const kind_names[NKIND] = {
	[K_CIPHER] = "ciphers",
	[K_SUBJECT] = "subjects",
	[K_ISSUER] = "issuers",
	[K_FP] = "fingerprints",
};

/* A sender domain or a client. */
struct irow {
	struct tlspa_ent e;
	char *name; /* clients: the host name seen first; owned */
	uint64_t n, messages;
	int64_t first, last;
	uint64_t ver[NVER], bits[NBITS], fs[NFS], cert[NCERT];
	struct vals vals[NKIND];
	uint64_t rules, passed; /* rule evaluations, and those passing */
	uint64_t req[NREQ][2];	/* [fail, unknown] */
};

struct inventory {
	struct tlspa_reading rd;
	uint64_t records;
	struct tlspa_table sender, client;
};

/* ========================================================== counting */

static void
vals_add(struct vals *vs, const struct tlspa_jv *v)
{
	int i;

	if (v == NULL || v->type != TLSPA_J_STR || v->len == 0)
		return;
	for (i = 0; i < NVALS && vs->v[i] != NULL; i++)
		if (vs->len[i] == v->len &&
		    memcmp(vs->v[i], v->s, v->len) == 0) {
			vs->c[i]++;
			return;
		}
	if (i == NVALS || (vs->v[i] = strndup(v->s, v->len)) == NULL) {
		vs->more++;
		return;
	}
	vs->len[i] = v->len;
	vs->c[i] = 1;
}

/* What one record says, read once for the two rows it goes into. */
struct session {
	int ver, bits, fs, cert, message;
	int64_t ms;
	const struct tlspa_jv *val[NKIND];
	uint64_t rules, passed;
	int nfail;
	unsigned char fail[2 * NREQ]; /* req * 2 + unknown */
};

/* The rules of a verdict that did not exempt the session. */
static void
read_rules(struct session *ss, const struct tlspa_jv *verdict)
{
	const struct tlspa_jv *r = tlspa_jv_get(verdict, "rules"), *f;
	const struct tlspa_jv *ex;
	int unknown, req;

	for (r = r != NULL && r->type == TLSPA_J_ARR ? r->kids : NULL; r;
	     r = r->next) {
		ex = tlspa_jv_get(r, "exempt");
		if (ex != NULL && ex->type == TLSPA_J_TRUE)
			continue;
		ss->rules++;
		ss->passed += tlspa_jv_is(tlspa_jv_get(r, "status"),
					  tlsp_body_status_name(TLSP_PASS));
		f = tlspa_jv_get(r, "failures");
		for (f = f != NULL && f->type == TLSPA_J_ARR ? f->kids : NULL;
		     f && ss->nfail < (int)sizeof(ss->fail); f = f->next) {
			unknown = tlspa_jv_is(
				tlspa_jv_get(f, "status"),
				tlsp_body_status_name(TLSP_UNKNOWN));
			req = tlspa_report_bucket(tlspa_jv_get(f,
							       "requirement"),
						  &tlspa_report_req, R_OTHER);
			ss->fail[ss->nfail++] =
				(unsigned char)(req * 2 + unknown);
		}
	}
}

static void
session_read(struct session *ss, const struct tlspa_jv *rec, int64_t ms,
	     int message)
{
	const struct tlspa_jv *tls = tlspa_jv_get(rec, "tls");
	const struct tlspa_jv *b = tlspa_jv_get(tls, "bits");
	const struct tlspa_jv *fs = tlspa_jv_get(tls, "forward_secrecy");
	const struct tlspa_jv *rc;

	memset(ss, 0, sizeof(*ss));
	ss->ms = ms;
	ss->message = message;
	ss->ver = tlspa_report_version(tlspa_jv_get(tls, "version"));
	if (ss->ver == V_NONE)
		ss->bits = B_NOTLS;
	else if (b == NULL || b->type != TLSPA_J_NUM || !b->is_int)
		ss->bits = B_UNKNOWN;
	else
		ss->bits = b->i < 128 ? B_LOW : b->i < 256 ? B_128 : B_256;
	ss->fs = fs == NULL || fs->type == TLSPA_J_NULL ? FS_UNKNOWN
		 : fs->type == TLSPA_J_TRUE		? FS_YES
							: FS_NO;
	ss->cert = tlspa_report_bucket(tlspa_jv_get(tls, "cert"),
				       &tlspa_report_cert, C_UNKNOWN);
	ss->val[K_CIPHER] = tlspa_jv_get(tls, "cipher");
	ss->val[K_SUBJECT] = tlspa_jv_get(tls, "subject");
	ss->val[K_ISSUER] = tlspa_jv_get(tls, "issuer");
	ss->val[K_FP] = tlspa_jv_get(tls, "fingerprint");
	read_rules(ss, tlspa_jv_get(rec, "sender_verdict"));
	rc = tlspa_jv_get(rec, "recipients");
	for (rc = rc != NULL && rc->type == TLSPA_J_ARR ? rc->kids : NULL; rc;
	     rc = rc->next)
		read_rules(ss, tlspa_jv_get(rc, "verdict"));
}

static void
add_row(struct irow *w, const struct session *ss)
{
	int i;

	w->n++;
	w->messages += ss->message;
	if (w->n == 1 || ss->ms < w->first)
		w->first = ss->ms;
	if (w->n == 1 || ss->ms > w->last)
		w->last = ss->ms;
	w->ver[ss->ver]++;
	w->bits[ss->bits]++;
	w->fs[ss->fs]++;
	w->cert[ss->cert]++;
	for (i = 0; i < NKIND; i++)
		vals_add(&w->vals[i], ss->val[i]);
	w->rules += ss->rules;
	w->passed += ss->passed;
	for (i = 0; i < ss->nfail; i++)
		w->req[ss->fail[i] >> 1][ss->fail[i] & 1]++;
}

/* The key of a value that may be redacted ({"sha256":...}) or absent. */
static const char *
key_of(const struct tlspa_jv *v, size_t *len, const char *absent)
{
	if (v != NULL && v->type == TLSPA_J_STR) {
		*len = v->len;
		return v->s;
	}
	if (v != NULL && v->type == TLSPA_J_OBJ) {
		*len = strlen("(redacted)");
		return "(redacted)";
	}
	*len = strlen(absent);
	return absent;
}

static int
count_record(struct inventory *inv, const struct tlspa_jv *rec, int64_t ms)
{
	const struct tlspa_jv *sender = tlspa_jv_get(rec, "sender");
	const struct tlspa_jv *client = tlspa_jv_get(rec, "client");
	const struct tlspa_jv *name = tlspa_jv_get(client, "name");
	struct session ss;
	struct irow *w;
	char domain[256];
	const char *k;
	size_t kn;
	int type = tlspa_reading_decision(rec);

	if (type < 0)
		return 0;
	tlspa_text_sender_key(sender, domain, sizeof(domain));
	if (!tlspa_reading_wants(&inv->rd, domain))
		return 0;
	inv->records++;
	session_read(&ss, rec, ms, type == TLSP_EV_MESSAGE);
	if ((w = tlspa_table_get(&inv->sender, domain, strlen(domain))) != NULL)
		add_row(w, &ss);
	k = key_of(tlspa_jv_get(client, "addr"), &kn, "(no address)");
	if ((w = tlspa_table_get(&inv->client, k, kn)) == NULL)
		return 0;
	if (w->n == 0 && name != NULL && name->type == TLSPA_J_STR &&
	    (w->name = strndup(name->s, name->len)) == NULL)
		return -1;
	add_row(w, &ss);
	return 0;
}

/* ========================================================== options */

static int
inventory_options(struct inventory *inv, int argc, char **argv)
{
	static const struct option opts[] = {
		TLSPA_READING_OPTIONS,
		TLSPA_OUTPUT_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if ((r = tlspa_reading_option(&inv->rd, "inventory", c,
					      optarg)) <= 0)
			return r < 0 ? -r : tlspa_tool_usage("inventory");
	return tlspa_reading_start(&inv->rd, "inventory", argc, argv);
}

/* ============================================================ output */

static int
by_volume(const void *a, const void *b)
{
	const struct irow *x = *(const struct irow *const *)a;
	const struct irow *y = *(const struct irow *const *)b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return tlspa_table_by_key(a, b);
}

/* "  title: name 90.0%, name 10.0%" over the non-zero buckets. */
static void
text_share(const char *title, const struct tlspa_hist *h, const uint64_t *c)
{
	uint64_t t = tlspa_report_sum(c, h->n);
	const char *sep = "";
	int i;

	printf("  %s:", title);
	for (i = 0; i < h->n; i++) {
		if (c[i] == 0)
			continue;
		printf("%s %s %.1f%%", sep, h->name(i), 100.0 * c[i] / t);
		sep = ",";
	}
	putchar('\n');
}

static void
text_vals(const char *title, const struct vals *vs)
{
	int i;

	if (vs->v[0] == NULL)
		return;
	printf("  %s:", title);
	for (i = 0; i < NVALS && vs->v[i] != NULL; i++) {
		printf("%s ", i ? "," : "");
		tlspa_text_put_safe(stdout, vs->v[i], strlen(vs->v[i]));
		printf(" (%" PRIu64 ")", vs->c[i]);
	}
	if (vs->more)
		printf(", others (%" PRIu64 ")", vs->more);
	putchar('\n');
}

static void
text_rules(const struct irow *w)
{
	int i;

	if (w->rules == 0) {
		printf("  rules: none applied\n");
		return;
	}
	printf("  rules: %" PRIu64 " evaluation%s, %" PRIu64 " passed every "
	       "requirement",
	       w->rules, w->rules == 1 ? "" : "s", w->passed);
	for (i = 0; i < NREQ; i++)
		if (w->req[i][0] || w->req[i][1])
			printf("; %s: %" PRIu64 " failed, %" PRIu64 " unknown",
			       tlspa_report_req.name(i), w->req[i][0],
			       w->req[i][1]);
	putchar('\n');
}

static void
text_row(const struct irow *w)
{
	char a[32], b[32];

	tlspa_text_put_safe(stdout, w->e.key, w->e.klen);
	if (w->name != NULL) {
		putchar(' ');
		tlspa_text_put_safe(stdout, w->name, strlen(w->name));
	}
	tlspa_time_format(w->first, a);
	tlspa_time_format(w->last, b);
	printf(": %" PRIu64 " record%s (%" PRIu64 " message%s), %s .. "
	       "%s\n",
	       w->n, w->n == 1 ? "" : "s", w->messages,
	       w->messages == 1 ? "" : "s", a, b);
	text_share("TLS versions", &tlspa_report_ver, w->ver);
	text_share("cipher bits", &tlspa_report_bits, w->bits);
	text_share("forward secrecy", &tlspa_report_fs, w->fs);
	text_share("client certificate", &tlspa_report_cert, w->cert);
	text_vals(kind_names[K_CIPHER], &w->vals[K_CIPHER]);
	text_vals("certificate subjects", &w->vals[K_SUBJECT]);
	text_vals("certificate issuers", &w->vals[K_ISSUER]);
	text_vals("certificate fingerprints", &w->vals[K_FP]);
	text_rules(w);
}

static size_t
shown(const struct inventory *inv, size_t n)
{
	return inv->rd.top != 0 && inv->rd.top < n ? inv->rd.top : n;
}

static void
text_table(const struct inventory *inv, const char *title,
	   const struct tlspa_table *t, struct tlspa_ent **v)
{
	size_t i, n = shown(inv, t->n);

	printf("\n%s, by volume (%zu):\n", title, t->n);
	for (i = 0; i < n; i++)
		text_row((const struct irow *)v[i]);
	if (n < t->n)
		printf("(%zu more not shown: --top)\n", t->n - n);
	if (t->dropped)
		printf("(%" PRIu64 " record%s of more than %d distinct "
		       "not counted here)\n",
		       t->dropped, t->dropped == 1 ? "" : "s", TLSPA_TABLE_MAX);
}

static void
write_text(const struct inventory *inv, struct tlspa_ent **s,
	   struct tlspa_ent **c)
{
	printf("tlspolicy-audit inventory: %" PRIu64 " decision record%s "
	       "from %zu sender domain%s and %zu client%s\n",
	       inv->records, inv->records == 1 ? "" : "s", inv->sender.n,
	       inv->sender.n == 1 ? "" : "s", inv->client.n,
	       inv->client.n == 1 ? "" : "s");
	printf("evidence: %s\n", inv->rd.evidence);
	text_table(inv, "Sender domains", &inv->sender, s);
	text_table(inv, "Clients", &inv->client, c);
}

static void
csv_header(void)
{
	const struct tlspa_hist *h[] = {&tlspa_report_ver, &tlspa_report_bits,
					&tlspa_report_fs, &tlspa_report_cert};
	const char *prefix[] = {"version", "bits", "fs", "cert"};
	size_t k;
	int i;

	printf("section,key,name,records,messages,first,last");
	for (k = 0; k < 4; k++)
		for (i = 0; i < h[k]->n; i++)
			tlspa_report_csv_col(prefix[k], h[k]->name(i));
	for (k = 0; k < NKIND; k++)
		printf(",%s", kind_names[k]);
	printf(",rule_evaluations,rules_passed");
	for (i = 0; i < NREQ; i++) {
		tlspa_report_csv_col(tlspa_report_req.name(i), "failed");
		tlspa_report_csv_col(tlspa_report_req.name(i), "unknown");
	}
	putchar('\n');
}

static void
csv_nums(const uint64_t *c, int n)
{
	int i;

	for (i = 0; i < n; i++)
		printf(",%" PRIu64, c[i]);
}

/* "value=count;value=count;...=count" as one cell. */
static void
csv_vals(const struct vals *vs)
{
	char cell[2048], *p = cell;
	size_t left = sizeof(cell);
	int i, n;

	cell[0] = '\0';
	for (i = 0; i < NVALS && vs->v[i] != NULL && left > 1; i++) {
		n = snprintf(p, left, "%s%s=%" PRIu64, i ? ";" : "", vs->v[i],
			     vs->c[i]);
		if (n < 0 || (size_t)n >= left)
			break;
		p += n;
		left -= (size_t)n;
	}
	if (vs->more && left > 1)
		snprintf(p, left, ";...=%" PRIu64, vs->more);
	putchar(',');
	tlspa_report_csv_cell(cell, strlen(cell));
}

static void
csv_rows(const char *section, const struct inventory *inv,
	 const struct tlspa_table *t, struct tlspa_ent **v)
{
	const struct irow *w;
	char a[32], b[32];
	size_t i, k, n = shown(inv, t->n);

	for (i = 0; i < n; i++) {
		w = (const struct irow *)v[i];
		printf("%s,", section);
		tlspa_report_csv_cell(w->e.key, w->e.klen);
		putchar(',');
		if (w->name != NULL)
			tlspa_report_csv_cell(w->name, strlen(w->name));
		tlspa_time_format(w->first, a);
		tlspa_time_format(w->last, b);
		printf(",%" PRIu64 ",%" PRIu64 ",%s,%s", w->n, w->messages, a,
		       b);
		csv_nums(w->ver, NVER);
		csv_nums(w->bits, NBITS);
		csv_nums(w->fs, NFS);
		csv_nums(w->cert, NCERT);
		for (k = 0; k < NKIND; k++)
			csv_vals(&w->vals[k]);
		printf(",%" PRIu64 ",%" PRIu64, w->rules, w->passed);
		for (k = 0; k < NREQ; k++)
			printf(",%" PRIu64 ",%" PRIu64, w->req[k][0],
			       w->req[k][1]);
		putchar('\n');
	}
}

static void
write_csv(const struct inventory *inv, struct tlspa_ent **s,
	  struct tlspa_ent **c)
{
	csv_header();
	csv_rows("sender", inv, &inv->sender, s);
	csv_rows("client", inv, &inv->client, c);
	printf("evidence,");
	tlspa_report_csv_cell(inv->rd.evidence, strlen(inv->rd.evidence));
	putchar('\n');
}

static void
j_counts(struct tlsp_jbuf *jb, const char *key, const struct tlspa_hist *h,
	 const uint64_t *c)
{
	int i;

	tlsp_jb_key(jb, key);
	tlsp_jb_open(jb, '{');
	for (i = 0; i < h->n; i++) {
		if (c[i] == 0)
			continue;
		tlsp_jb_key(jb, h->name(i));
		tlsp_jb_uint(jb, c[i]);
	}
	tlsp_jb_close(jb, '}');
}

static void
j_vals(struct tlsp_jbuf *jb, const char *key, const struct vals *vs)
{
	int i;

	tlsp_jb_key(jb, key);
	tlsp_jb_open(jb, '[');
	for (i = 0; i < NVALS && vs->v[i] != NULL; i++) {
		tlsp_jb_open(jb, '{');
		tlsp_jb_kstr(jb, "value", vs->v[i]);
		tlsp_jb_key(jb, "count");
		tlsp_jb_uint(jb, vs->c[i]);
		tlsp_jb_close(jb, '}');
	}
	tlsp_jb_close(jb, ']');
	if (vs->more) {
		tlsp_jb_key(jb, "other_values");
		tlsp_jb_uint(jb, vs->more);
	}
}

static void
j_row(struct tlsp_jbuf *jb, const char *keyname, const struct irow *w)
{
	char t[32];
	size_t k;
	int i;

	tlsp_jb_open(jb, '{');
	tlsp_jb_key(jb, keyname);
	tlsp_jb_strn(jb, w->e.key, w->e.klen);
	if (w->name != NULL)
		tlsp_jb_kstr(jb, "name", w->name);
	tlsp_jb_key(jb, "records");
	tlsp_jb_uint(jb, w->n);
	tlsp_jb_key(jb, "messages");
	tlsp_jb_uint(jb, w->messages);
	tlspa_time_format(w->first, t);
	tlsp_jb_kstr(jb, "first_seen", t);
	tlspa_time_format(w->last, t);
	tlsp_jb_kstr(jb, "last_seen", t);
	j_counts(jb, "tls_version", &tlspa_report_ver, w->ver);
	j_counts(jb, "cipher_bits", &tlspa_report_bits, w->bits);
	j_counts(jb, "forward_secrecy", &tlspa_report_fs, w->fs);
	j_counts(jb, "client_cert", &tlspa_report_cert, w->cert);
	for (k = 0; k < NKIND; k++)
		j_vals(jb, kind_names[k], &w->vals[k]);
	tlsp_jb_key(jb, "rules");
	tlsp_jb_open(jb, '{');
	tlsp_jb_key(jb, "evaluations");
	tlsp_jb_uint(jb, w->rules);
	tlsp_jb_key(jb, "passed");
	tlsp_jb_uint(jb, w->passed);
	tlsp_jb_key(jb, "requirements");
	tlsp_jb_open(jb, '{');
	for (i = 0; i < NREQ; i++) {
		if (!w->req[i][0] && !w->req[i][1])
			continue;
		tlsp_jb_key(jb, tlspa_report_req.name(i));
		tlsp_jb_open(jb, '{');
		tlsp_jb_key(jb, "fail");
		tlsp_jb_uint(jb, w->req[i][0]);
		tlsp_jb_key(jb, "unknown");
		tlsp_jb_uint(jb, w->req[i][1]);
		tlsp_jb_close(jb, '}');
	}
	tlsp_jb_close(jb, '}');
	tlsp_jb_close(jb, '}');
	tlsp_jb_close(jb, '}');
}

static void
j_rows(struct tlsp_jbuf *jb, const struct inventory *inv, const char *key,
       const char *keyname, const struct tlspa_table *t, struct tlspa_ent **v)
{
	size_t i, n = shown(inv, t->n);

	tlsp_jb_key(jb, key);
	tlsp_jb_open(jb, '[');
	for (i = 0; i < n; i++) {
		j_row(jb, keyname, (const struct irow *)v[i]);
		tlspa_report_json_flush(jb, 0);
	}
	tlsp_jb_close(jb, ']');
}

static int
write_json(const struct inventory *inv, struct tlspa_ent **s,
	   struct tlspa_ent **c)
{
	const struct tlspa_follow *f = &inv->rd.scan.chain;
	struct tlsp_jbuf jb;
	int oom;

	tlsp_jb_init(&jb);
	tlsp_jb_open(&jb, '{');
	tlsp_jb_key(&jb, "evidence");
	tlsp_jb_open(&jb, '{');
	tlsp_jb_kbool(&jb, "verified", f->breaks == 0 && !f->unkeyed);
	tlsp_jb_kbool(&jb, "hashes_checked", !f->unkeyed);
	tlsp_jb_kstr(&jb, "summary", inv->rd.evidence);
	tlsp_jb_close(&jb, '}');
	tlsp_jb_key(&jb, "records");
	tlsp_jb_uint(&jb, inv->records);
	tlsp_jb_key(&jb, "senders_total");
	tlsp_jb_uint(&jb, inv->sender.n);
	tlsp_jb_key(&jb, "clients_total");
	tlsp_jb_uint(&jb, inv->client.n);
	j_rows(&jb, inv, "senders", "domain", &inv->sender, s);
	j_rows(&jb, inv, "clients", "addr", &inv->client, c);
	tlsp_jb_close(&jb, '}');
	tlsp_jb_raw(&jb, "\n", 1);
	oom = jb.oom;
	if (!oom)
		tlspa_report_json_flush(&jb, 1);
	tlsp_jb_free(&jb);
	if (oom) {
		fprintf(stderr, "tlspolicy-audit: out of memory\n");
		return TLSPA_EX_ERROR;
	}
	return 0;
}

/* ============================================================== main */

static void
free_row(struct tlspa_ent *e)
{
	struct irow *w = (struct irow *)e;
	int k, i;

	free(w->name);
	for (k = 0; k < NKIND; k++)
		for (i = 0; i < NVALS; i++)
			free(w->vals[k].v[i]);
}

int
tlspa_inventory_main(int argc, char **argv)
{
	struct inventory inv;
	struct tlspa_ent **s = NULL, **c = NULL;
	int rc, got;

	memset(&inv, 0, sizeof(inv));
	inv.sender.valsz = inv.client.valsz = sizeof(struct irow);
	if ((rc = inventory_options(&inv, argc, argv)) != 0)
		goto done;
	while ((got = tlspa_scan_next(&inv.rd.scan)) > 0)
		if (count_record(&inv, inv.rd.scan.rec, inv.rd.scan.ms) < 0)
			break;
	if (got != 0) {
		if (got > 0)
			fprintf(stderr, "tlspolicy-audit: out of memory\n");
		rc = TLSPA_EX_ERROR;
		goto done;
	}
	tlspa_scan_evidence(&inv.rd.scan, inv.rd.evidence,
			    sizeof(inv.rd.evidence));
	s = tlspa_table_sorted(&inv.sender, by_volume);
	c = tlspa_table_sorted(&inv.client, by_volume);
	if ((s == NULL && inv.sender.n) || (c == NULL && inv.client.n)) {
		fprintf(stderr, "tlspolicy-audit: out of memory\n");
		rc = TLSPA_EX_ERROR;
		goto done;
	}
	if (inv.rd.format == F_CSV)
		write_csv(&inv, s, c);
	else if (inv.rd.format == F_JSON)
		rc = write_json(&inv, s, c);
	else
		write_text(&inv, s, c);
	rc = tlspa_reading_end(&inv.rd, rc);
done:
	free(s);
	free(c);
	tlspa_table_free(&inv.sender, free_row);
	tlspa_table_free(&inv.client, free_row);
	tlspa_reading_free(&inv.rd);
	return rc;
}
