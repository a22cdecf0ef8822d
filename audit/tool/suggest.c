/*
 * suggest.c - tlspolicy-audit suggest: the strictest rules that each
 * sender domain's and each recipient domain's recorded traffic always
 * met, as a draft policy.
 *
 * One pass over the decision records in the chain (scan.c). For every
 * sender domain (client-side requirements: TLS, version, cipher, forward
 * secrecy, certificate, subject and issuer pins) and every recipient
 * domain (the same without the certificate), a row keeps the weakest of
 * what was seen: the lowest version, the fewest bits, whether any
 * session lacked forward secrecy, the cipher families seen, the
 * certificate states, the first few subjects and issuers. A rule is
 * suggested only from enough evidence (--min-messages, --min-days), and
 * a requirement only where every record showed it met: a fact the MTA
 * did not show (bits of an unknown suite, a certificate Postfix did not
 * ask for) suggests nothing. Authenticated sessions are left out: the
 * draft's default scope exempts them. Every rule starts in monitor mode
 * with a comment stating its evidence. Values from the log reach the
 * YAML only when they are plain printable ASCII, double-quoted.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "report.h"

#define NPIN 3	      /* subjects or issuers pinned at most */
#define NDAYBITS 1024 /* days told apart exactly, from a row's first */
#define DAY_MS 86400000LL

/* The first NPIN distinct values seen, and whether there were more. */
struct pins {
	char *v[NPIN];
	int more, missing; /* more values; a record without one */
};

struct srow {
	struct tlspa_ent e;
	uint64_t n;
	int64_t first, last, base_day, last_day;
	uint32_t ndays;
	unsigned char days[NDAYBITS / 8];
	uint64_t plain, ver[NVER], cert[NCERT];
	int low_ver;	  /* enum tlsp_version, the lowest seen over TLS */
	int64_t low_bits; /* -1: none known yet */
	uint64_t bits_unknown, fs_no, fs_unknown, cipher_unknown;
	unsigned families; /* TLSP_CF_* of every suite seen */
	struct pins subject, issuer;
};

struct suggest {
	struct tlspa_reading rd;
	uint64_t min_messages, min_days;
	int64_t first_ms, last_ms;
	uint64_t records, authenticated;
	struct tlspa_table sender, rcpt;
};

/* What a record says, read once for its sender and recipient rows. */
struct facts {
	int64_t ms;
	int ver, vb, cert, fs; /* ver: enum tlsp_version; vb: V_*; fs: 1/0/-1 */
	int64_t bits;	       /* -1 unknown */
	unsigned families;
	int cipher_known;
	const struct tlspa_jv *subject, *issuer;
};

/* ========================================================== counting */

static void
pins_add(struct pins *p, const struct tlspa_jv *v)
{
	int i;

	if (v == NULL || v->type != TLSPA_J_STR || v->len == 0) {
		p->missing = 1;
		return;
	}
	for (i = 0; i < NPIN && p->v[i] != NULL; i++)
		if (strlen(p->v[i]) == v->len &&
		    memcmp(p->v[i], v->s, v->len) == 0)
			return;
	if (i == NPIN || (p->v[i] = strndup(v->s, v->len)) == NULL)
		p->more = 1;
}

static void
add_day(struct srow *w, int64_t ms)
{
	int64_t day = ms / DAY_MS, off;

	if (w->n == 1) {
		w->base_day = day;
		w->days[0] = 1;
		w->ndays = 1;
		w->last_day = day;
		return;
	}
	off = day - w->base_day;
	if (off >= 0 && off < NDAYBITS) {
		if (!(w->days[off / 8] & (1u << (off % 8)))) {
			w->days[off / 8] |= (unsigned char)(1u << (off % 8));
			w->ndays++;
		}
	} else if (day != w->last_day)
		w->ndays++; /* out of the map: counted at each change */
	w->last_day = day;
}

static void
add_row(struct tlspa_table *t, const char *k, size_t kn, const struct facts *f,
	int client_side)
{
	struct srow *w = tlspa_table_get(t, k, kn);

	if (w == NULL)
		return;
	if (w->n++ == 0) {
		w->first = w->last = f->ms;
		w->low_ver = -1;
		w->low_bits = -1;
	}
	if (f->ms < w->first)
		w->first = f->ms;
	if (f->ms > w->last)
		w->last = f->ms;
	add_day(w, f->ms);
	w->ver[f->vb]++;
	if (f->ver == TLSP_VER_NONE) {
		w->plain++;
		return;
	}
	if (w->low_ver < 0 || f->ver < w->low_ver)
		w->low_ver = f->ver;
	if (f->bits < 0)
		w->bits_unknown++;
	else if (w->low_bits < 0 || f->bits < w->low_bits)
		w->low_bits = f->bits;
	w->fs_no += f->fs == 0;
	w->fs_unknown += f->fs < 0;
	w->cipher_unknown += !f->cipher_known;
	w->families |= f->families;
	if (!client_side)
		return;
	w->cert[f->cert]++;
	pins_add(&w->subject, f->subject);
	pins_add(&w->issuer, f->issuer);
}

static void
count_record(struct suggest *sg, const struct tlspa_jv *rec, int64_t ms)
{
	const struct tlspa_jv *tls = tlspa_jv_get(rec, "tls");
	const struct tlspa_jv *auth = tlspa_jv_get(rec, "authenticated");
	const struct tlspa_jv *v, *rc;
	struct tlsp_cipher_info ci;
	struct facts f;
	char dom[256];

	if (tlspa_reading_decision(rec) < 0)
		return;
	if (tls == NULL || tls->type != TLSPA_J_OBJ)
		return;
	if (auth != NULL && auth->type == TLSPA_J_TRUE) {
		sg->authenticated++;
		return;
	}
	sg->records++;
	if (ms < sg->first_ms || sg->records == 1)
		sg->first_ms = ms;
	if (ms > sg->last_ms || sg->records == 1)
		sg->last_ms = ms;
	memset(&f, 0, sizeof(f));
	f.ms = ms;
	v = tlspa_jv_get(tls, "version");
	f.ver = v != NULL && v->type == TLSPA_J_STR ? tlsp_version_lookup(v->s)
						    : TLSP_VER_NONE;
	if (f.ver < 0)
		f.ver = TLSP_VER_UNKNOWN;
	f.vb = tlspa_report_version(v);
	v = tlspa_jv_get(tls, "bits");
	f.bits = v != NULL && v->type == TLSPA_J_NUM && v->is_int ? v->i : -1;
	v = tlspa_jv_get(tls, "forward_secrecy");
	f.fs = v == NULL || v->type == TLSPA_J_NULL ? -1
	       : v->type == TLSPA_J_TRUE	    ? 1
						    : 0;
	v = tlspa_jv_get(tls, "cipher");
	if (v != NULL && v->type == TLSPA_J_STR && strlen(v->s) == v->len) {
		tlsp_cipher_classify(v->s, &ci);
		f.cipher_known = ci.known;
		f.families = ci.families;
	}
	f.cert = tlspa_report_bucket(tlspa_jv_get(tls, "cert"),
				     &tlspa_report_cert, C_UNKNOWN);
	f.subject = tlspa_jv_get(tls, "subject");
	f.issuer = tlspa_jv_get(tls, "issuer");
	tlspa_text_sender_key(tlspa_jv_get(rec, "sender"), dom, sizeof(dom));
	if (tlspa_reading_wants(&sg->rd, dom))
		add_row(&sg->sender, dom, strlen(dom), &f, 1);
	rc = tlspa_jv_get(rec, "recipients");
	for (rc = rc != NULL && rc->type == TLSPA_J_ARR ? rc->kids : NULL; rc;
	     rc = rc->next) {
		v = tlspa_jv_get(rc, "addr");
		if (v == NULL || v->type != TLSPA_J_STR ||
		    tlspa_text_domain(v->s, v->len, dom, sizeof(dom)) == 0 ||
		    !tlspa_reading_wants(&sg->rd, dom))
			continue;
		add_row(&sg->rcpt, dom, strlen(dom), &f, 0);
	}
}

/* ============================================================ output */

/* A domain name as a policy key: letters, digits, '-' and inner dots. */
static int
plain_domain(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.' || memchr(s, '.', n) == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      (s[i] == '.' && s[i + 1] != '.')))
			return 0;
	return 1;
}

/* A value that may go into the YAML double-quoted: printable ASCII. */
static int
plain_value(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

static void
put_quoted(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static int
pinnable(const struct pins *p)
{
	int i;

	if (p->more || p->missing || p->v[0] == NULL)
		return 0;
	for (i = 0; i < NPIN && p->v[i] != NULL; i++)
		if (!plain_value(p->v[i]))
			return 0;
	return 1;
}

static void
put_pins(const char *key, const struct pins *p)
{
	int i;

	printf("    %s: [", key);
	for (i = 0; i < NPIN && p->v[i] != NULL; i++) {
		if (i)
			printf(", ");
		put_quoted(p->v[i]);
	}
	printf("]\n");
}

/* The families a floor denies when no suite of the row had them. */
static const unsigned deny_families[] = {
	TLSP_CF_RC4,	TLSP_CF_DES,  TLSP_CF_3DES, TLSP_CF_NULL,
	TLSP_CF_EXPORT, TLSP_CF_ANON, TLSP_CF_MD5,  TLSP_CF_CBC,
};

static void
put_evidence(const struct srow *w)
{
	char a[32], b[32];
	uint64_t tls = w->n - w->plain;
	int i;

	tlspa_time_format(w->first, a);
	tlspa_time_format(w->last, b);
	printf("  # %" PRIu64 " record%s on %" PRIu32 " day%s, %.10s .. %.10s;",
	       w->n, w->n == 1 ? "" : "s", w->ndays, w->ndays == 1 ? "" : "s",
	       a, b);
	for (i = 0; i < NVER; i++)
		if (w->ver[i])
			printf(" %s %.0f%%", tlspa_report_ver.name(i),
			       100.0 * w->ver[i] / w->n);
	if (tls > 0 && w->low_bits >= 0 && w->bits_unknown == 0)
		printf("; >= %" PRId64 " bits", w->low_bits);
	if (tls > 0 && w->fs_no == 0 && w->fs_unknown == 0)
		printf("; forward secrecy always");
	if (tls > 0 && w->cert[C_VERIFIED] == tls)
		printf("; verified certificate always");
	putchar('\n');
}

/* The rule of a row whose every record was over TLS. */
static void
put_rule(const struct srow *w, int client_side)
{
	uint64_t tls = w->n;
	size_t i;
	int any = 0;

	put_evidence(w);
	printf("  ");
	put_quoted(w->e.key);
	printf(":\n    tls: required\n");
	if (w->low_ver >= TLSP_VER_TLSV1)
		printf("    min_version: %s\n",
		       tlsp_version_name((enum tlsp_version)w->low_ver));
	if (w->low_bits > 0 && w->bits_unknown == 0)
		printf("    min_cipher_bits: %" PRId64 "\n", w->low_bits);
	if (w->fs_no == 0 && w->fs_unknown == 0)
		printf("    forward_secrecy: true\n");
	if (w->cipher_unknown == 0) {
		for (i = 0; i < sizeof(deny_families) / sizeof(*deny_families);
		     i++)
			if (!(w->families & deny_families[i])) {
				printf("%s%s",
				       any ? ", "
					   : "    ciphers: "
					     "{deny: [",
				       tlsp_cipher_family_name(deny_families
								       [i]));
				any = 1;
			}
		if (any)
			printf("]}\n");
	}
	if (client_side && w->cert[C_VERIFIED] == tls) {
		printf("    client_cert: verified\n");
		if (pinnable(&w->subject))
			put_pins("subject", &w->subject);
		if (pinnable(&w->issuer))
			put_pins("issuer", &w->issuer);
	}
	printf("    mode: monitor\n");
}

static int
by_volume(const void *a, const void *b)
{
	const struct srow *x = *(const struct srow *const *)a;
	const struct srow *y = *(const struct srow *const *)b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return tlspa_table_by_key(a, b);
}

/* One section; the number of rules written. */
static size_t
put_section(const struct suggest *sg, const char *name,
	    const struct tlspa_table *t, struct tlspa_ent **v, int client_side,
	    uint64_t *few, uint64_t *plain, uint64_t *odd)
{
	const struct srow *w;
	size_t i, n = 0;

	for (i = 0; i < t->n; i++) {
		w = (const struct srow *)v[i];
		if (!plain_domain(w->e.key, w->e.klen)) {
			(*odd)++;
			continue;
		}
		if (w->n < sg->min_messages || w->ndays < sg->min_days) {
			(*few)++;
			continue;
		}
		if (w->plain > 0 || w->plain == w->n) {
			(*plain)++;
			continue;
		}
		if (n++ == 0)
			printf("%s:\n", name);
		put_rule(w, client_side);
	}
	return n;
}

static void
write_draft(const struct suggest *sg, struct tlspa_ent **s,
	    struct tlspa_ent **r)
{
	uint64_t few = 0, plain = 0, odd = 0;
	char a[32], b[32];

	tlspa_time_format(sg->first_ms, a);
	tlspa_time_format(sg->last_ms, b);
	printf("# Suggested by tlspolicy-audit suggest from %" PRIu64
	       " decision record%s, %s .. %s\n",
	       sg->records, sg->records == 1 ? "" : "s", sg->records ? a : "-",
	       sg->records ? b : "-");
	printf("# evidence: %s\n", sg->rd.evidence);
	printf("# Each rule is the strictest that all recorded traffic of its "
	       "domain met\n"
	       "# (at least %" PRIu64 " records on %" PRIu64
	       " days); every rule starts in\n"
	       "# monitor mode. Before enforcing one, see what it would do:\n"
	       "#   tlspolicy-audit replay --policy THIS_FILE --as-enforced "
	       "LOG...\n",
	       sg->min_messages, sg->min_days);
	if (sg->authenticated)
		printf("# %" PRIu64 " record%s of authenticated sessions left "
		       "out (the default scope exempts them)\n",
		       sg->authenticated, sg->authenticated == 1 ? "" : "s");
	printf("version: 1\n");
	put_section(sg, "senders", &sg->sender, s, 1, &few, &plain, &odd);
	put_section(sg, "recipients", &sg->rcpt, r, 0, &few, &plain, &odd);
	printf("# not suggested: %" PRIu64 " domain%s with too little "
	       "evidence, %" PRIu64 " with plaintext sessions, %" PRIu64
	       " key%s that are not domain names (null sender, redacted)\n",
	       few, few == 1 ? "" : "s", plain, odd, odd == 1 ? "" : "s");
}

/* ========================================================== options */

static int
number(const char *arg, uint64_t *out)
{
	char *end;

	*out = strtoull(arg, &end, 10);
	return arg[0] != '\0' && arg[0] != '-' && *end == '\0' ? 0 : -1;
}

static int
suggest_options(struct suggest *sg, int argc, char **argv)
{
	static const struct option opts[] = {
		{"min-messages", required_argument, NULL, 'm'},
		{"min-days", required_argument, NULL, 'D'},
		TLSPA_READING_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int c, r;

	sg->min_messages = 100;
	sg->min_days = 7;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((r = tlspa_reading_option(&sg->rd, "suggest", c, optarg)) <
		    0)
			return -r;
		if (r > 0)
			continue;
		if (c != 'm' && c != 'D')
			return tlspa_tool_usage("suggest");
		if (number(optarg,
			   c == 'm' ? &sg->min_messages : &sg->min_days) < 0) {
			fprintf(stderr,
				"tlspolicy-audit: --%s %s: expected a number\n",
				c == 'm' ? "min-messages" : "min-days", optarg);
			return TLSPA_EX_ERROR;
		}
	}
	return tlspa_reading_start(&sg->rd, "suggest", argc, argv);
}

/* ============================================================== main */

static void
free_row(struct tlspa_ent *e)
{
	struct srow *w = (struct srow *)e;
	int i;

	for (i = 0; i < NPIN; i++) {
		free(w->subject.v[i]);
		free(w->issuer.v[i]);
	}
}

int
tlspa_suggest_main(int argc, char **argv)
{
	struct suggest sg;
	struct tlspa_ent **s = NULL, **r = NULL;
	int rc, got;

	memset(&sg, 0, sizeof(sg));
	sg.sender.valsz = sg.rcpt.valsz = sizeof(struct srow);
	if ((rc = suggest_options(&sg, argc, argv)) != 0)
		goto done;
	while ((got = tlspa_scan_next(&sg.rd.scan)) > 0)
		count_record(&sg, sg.rd.scan.rec, sg.rd.scan.ms);
	if (got < 0) {
		rc = TLSPA_EX_ERROR;
		goto done;
	}
	tlspa_scan_evidence(&sg.rd.scan, sg.rd.evidence,
			    sizeof(sg.rd.evidence));
	s = tlspa_table_sorted(&sg.sender, by_volume);
	r = tlspa_table_sorted(&sg.rcpt, by_volume);
	if ((s == NULL && sg.sender.n) || (r == NULL && sg.rcpt.n)) {
		fprintf(stderr, "tlspolicy-audit: out of memory\n");
		rc = TLSPA_EX_ERROR;
		goto done;
	}
	write_draft(&sg, s, r);
	rc = tlspa_reading_end(&sg.rd, rc);
done:
	free(s);
	free(r);
	tlspa_table_free(&sg.sender, free_row);
	tlspa_table_free(&sg.rcpt, free_row);
	tlspa_reading_free(&sg.rd);
	return rc;
}
