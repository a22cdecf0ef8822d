/*
 * report.c - tlspolicy-audit report: what the policy did, in numbers.
 *
 * One pass over the records, in constant memory: every decision (each
 * recipient of a rcpt or message record, and each mail record, whose
 * verdict is the sender's) is added to the totals, to its recipient
 * domain, to each rule that judged it and to the client that sent it.
 * The tables are bounded hash tables (table.c): past TLSPA_TABLE_MAX
 * distinct keys a table takes no new ones and counts what it could not
 * place, which the output then says ("N more not shown"). Text is for a terminal, csv has
 * one row per total/domain/rule/client with the same columns, json holds
 * everything, and tlsrpt writes one RFC 8460-shaped report per day.
 * A fleet (--host) is read each host on a thread of its own into
 * counters of its own, merged in host order (report_merge.c).
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "report.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ====================================================== the buckets */

/* The bucket that takes the rest, at the end of most histograms. */
static const char other[] = "other";

/* Versions: the engine's where a bucket is one of its versions (V_NONE,
 * a record without one, is its "none"), else the report's own. */
static const struct {
	enum tlsp_version ver;
	const char *name; /* the report's own bucket; NULL: the engine's */
} ver_rows[NVER] = {
	[V_TLS13] = {TLSP_VER_TLSV1_3, NULL},
	[V_TLS12] = {TLSP_VER_TLSV1_2, NULL},
	[V_TLS11] = {TLSP_VER_TLSV1_1, NULL},
	[V_TLS10] = {TLSP_VER_TLSV1, NULL},
	[V_SSL] = {TLSP_VER_UNKNOWN, "SSL"},
	[V_OTHER] = {TLSP_VER_UNKNOWN, other},
	[V_NONE] = {TLSP_VER_NONE, NULL},
};

static const char *const bits_names[NBITS] = {
	[B_NOTLS] = "no TLS", [B_UNKNOWN] = "unknown", [B_LOW] = "below 128",
	[B_128] = "128-255",  [B_256] = "256+",
};

static const char *const fs_names[NFS] = {
	[FS_YES] = "yes",
	[FS_NO] = "no",
	[FS_UNKNOWN] = "unknown",
};

static const enum tlsp_cert_state cert_states[C_OTHER] = {
	[C_NONE] = TLSP_CERT_NONE,
	[C_PRESENTED] = TLSP_CERT_PRESENTED,
	[C_PRESENTED_UNKNOWN] = TLSP_CERT_PRESENTED_UNKNOWN,
	[C_NOT_VERIFIED] = TLSP_CERT_NOT_VERIFIED,
	[C_VERIFIED] = TLSP_CERT_VERIFIED,
	[C_UNKNOWN] = TLSP_CERT_UNKNOWN,
};

static const enum tlsp_event_type event_types[T_OTHER] = {
	[T_MESSAGE] = TLSP_EV_MESSAGE,
	[T_RCPT] = TLSP_EV_RCPT,
	[T_MAIL] = TLSP_EV_MAIL,
	[T_ABORT] = TLSP_EV_ABORT,
	[T_START] = TLSP_EV_START,
	[T_STOP] = TLSP_EV_STOP,
	[T_RELOAD] = TLSP_EV_RELOAD,
	[T_RELOAD_FAILED] = TLSP_EV_RELOAD_FAILED,
	[T_ROTATE] = TLSP_EV_ROTATE,
	[T_CHECKPOINT] = TLSP_EV_CHECKPOINT,
};

static const char *
ver_name(int i)
{
	return ver_rows[i].name != NULL ? ver_rows[i].name
					: tlsp_version_name(ver_rows[i].ver);
}

static const char *
bits_name(int i)
{
	return bits_names[i];
}

static const char *
fs_name(int i)
{
	return fs_names[i];
}

static const char *
cert_name(int i)
{
	return i < C_OTHER ? tlsp_cert_state_name(cert_states[i]) : other;
}

static const char *
act_name(int i)
{
	return i < A_OTHER ? tlsp_action_name((enum tlsp_action)i) : other;
}

static const char *
req_name(int i)
{
	return i < R_OTHER ? tlsp_req_name((enum tlsp_req)i) : other;
}

static const char *
status_name(int i)
{
	return tlsp_body_status_name((enum tlsp_status)i);
}

static const char *
type_name(int i)
{
	return i < T_OTHER ? tlsp_event_type_name(event_types[i]) : other;
}

const struct tlspa_hist tlspa_report_ver = {NVER, ver_name};
const struct tlspa_hist tlspa_report_bits = {NBITS, bits_name};
const struct tlspa_hist tlspa_report_fs = {NFS, fs_name};
const struct tlspa_hist tlspa_report_cert = {NCERT, cert_name};
const struct tlspa_hist tlspa_report_act = {NACT, act_name};
const struct tlspa_hist tlspa_report_req = {NREQ, req_name};
const struct tlspa_hist tlspa_report_status = {NSTATUS, status_name};
const struct tlspa_hist tlspa_report_type = {NTYPE, type_name};

/* The index among the first n buckets of h whose name is v's string
 * (bucket n - 1 takes the rest), or `absent` when v is not a string. */
static int
bucket(const struct tlspa_jv *v, const struct tlspa_hist *h, int n, int absent)
{
	int i;

	if (v == NULL || v->type != TLSPA_J_STR)
		return absent;
	for (i = 0; i < n - 1; i++) {
		const char *name = h->name(i);

		/* the first byte first: this runs several times a record */
		if (name[0] == v->s[0] && tlspa_jv_is(v, name))
			return i;
	}
	return n - 1;
}

/* 1 if v is the string of status st. */
static int
status_is(const struct tlspa_jv *v, enum tlsp_status st)
{
	return tlspa_jv_is(v, tlsp_body_status_name(st));
}

/* ========================================================= the tally */

/* What a record says about the session, worked out once per record. */
struct session {
	uint64_t recno;
	int type, ver, bits, fs, cert;
	const struct tlspa_jv *rec, *client;
	int64_t ms;
};

#define DEC_FAILS 32
_Static_assert(NREQ * 2 <= 256, "a failure is kept in a byte");

/* One decision: a verdict about one recipient, or the sender. */
struct decision {
	const struct session *ss;
	const struct tlspa_jv *verdict;
	int act, would, failed;
	/* The failures of the rules that did not exempt the session, read
	 * once for the three or four tallies it goes into: fail[i] is
	 * req * 2 + unknown; nfail -1 when there were more than DEC_FAILS. */
	int nfail;
	unsigned char fail[DEC_FAILS];
	char domain[256]; /* "" for a sender verdict */
};

static void
tally_failures(struct tlspa_tally *t, const struct tlspa_jv *rule)
{
	const struct tlspa_jv *f = tlspa_jv_get(rule, "failures");
	int st;

	for (f = f != NULL && f->type == TLSPA_J_ARR ? f->kids : NULL; f;
	     f = f->next) {
		st = status_is(tlspa_jv_get(f, "status"), TLSP_UNKNOWN);
		t->req[bucket(tlspa_jv_get(f, "requirement"), &tlspa_report_req,
			      NREQ, R_OTHER)][st]++;
	}
}

static int
is_true(const struct tlspa_jv *v)
{
	return v != NULL && v->type == TLSPA_J_TRUE;
}

/* The rules of a verdict, as a list (NULL-terminated walk). */
static const struct tlspa_jv *
rules_of(const struct tlspa_jv *verdict)
{
	const struct tlspa_jv *r = tlspa_jv_get(verdict, "rules");

	return r != NULL && r->type == TLSPA_J_ARR ? r->kids : NULL;
}

static void
tally_session(struct tlspa_tally *t, const struct decision *d)
{
	t->n++;
	t->ver[d->ss->ver]++;
	t->bits[d->ss->bits]++;
	t->fs[d->ss->fs]++;
	t->cert[d->ss->cert]++;
	if (d->ss->type == T_MESSAGE && t->last_rec != d->ss->recno)
		t->messages++;
	t->last_rec = d->ss->recno;
}

/* The failures exceptions waived: [{"requirement":..., "exception":...}]. */
static const struct tlspa_jv *
waived_of(const struct tlspa_jv *rule)
{
	const struct tlspa_jv *w = tlspa_jv_get(rule, "waived");

	return w != NULL && w->type == TLSPA_J_ARR ? w->kids : NULL;
}

static void
tally_waived(struct tlspa_tally *t, const struct tlspa_jv *rule)
{
	const struct tlspa_jv *w;

	for (w = waived_of(rule); w != NULL; w = w->next)
		t->waived[bucket(tlspa_jv_get(w, "requirement"),
				 &tlspa_report_req, NREQ, R_OTHER)]++;
}

/* Adds a decision to the totals, a domain or a client. */
static void
tally_add(struct tlspa_tally *t, const struct decision *d)
{
	const struct tlspa_jv *r;
	int i;

	tally_session(t, d);
	t->refused += d->act == TLSP_ACTION_REJECT ||
		      d->act == TLSP_ACTION_DEFER;
	t->passed += !d->failed;
	t->failed += d->failed;
	t->action[d->act]++;
	if (d->would != d->act)
		t->would[d->would]++;
	for (r = rules_of(d->verdict); r != NULL; r = r->next)
		if (!is_true(tlspa_jv_get(r, "exempt")))
			tally_waived(t, r);
	if (d->nfail >= 0) {
		for (i = 0; i < d->nfail; i++)
			t->req[d->fail[i] >> 1][d->fail[i] & 1]++;
		return;
	}
	for (r = rules_of(d->verdict); r != NULL; r = r->next)
		if (!is_true(tlspa_jv_get(r, "exempt")))
			tally_failures(t, r);
}

/* Adds one rule's judgement of a decision to the rule's tally. */
static void
tally_rule(struct tlspa_tally *t, const struct decision *d,
	   const struct tlspa_jv *r)
{
	int act = bucket(tlspa_jv_get(r, "action"), &tlspa_report_act, NACT,
			 TLSP_ACTION_ACCEPT);
	int st = bucket(tlspa_jv_get(r, "status"), &tlspa_report_status,
			NSTATUS, TLSP_UNKNOWN);

	tally_session(t, d);
	t->status[st]++;
	if (is_true(tlspa_jv_get(r, "exempt")))
		t->exempt++;
	if (tlspa_jv_is(tlspa_jv_get(r, "mode"),
			tlsp_mode_name(TLSP_MODE_MONITOR))) {
		t->monitor++;
		if (act != TLSP_ACTION_ACCEPT)
			t->would[act]++;
	} else {
		t->action[act]++;
		t->refused += act == TLSP_ACTION_REJECT ||
			      act == TLSP_ACTION_DEFER;
	}
	if (st == TLSP_PASS)
		t->passed++;
	else
		t->failed++;
	tally_failures(t, r);
	tally_waived(t, r);
}

/* ========================================================= the report */

static int
report_format(struct tlspa_report *r, const char *s)
{
	static const struct {
		const char *name;
		enum tlspa_format format;
	} formats[] = {
		{"text", F_TEXT},     {"csv", F_CSV},	{"json", F_JSON},
		{"tlsrpt", F_TLSRPT}, {"html", F_HTML},
	};
	size_t i;

	for (i = 0; i < NELEM(formats); i++)
		if (strcmp(s, formats[i].name) == 0) {
			r->format = formats[i].format;
			return 0;
		}
	fprintf(stderr,
		"tlspolicy-audit: --format %s: expected text, csv, "
		"json, tlsrpt or html\n",
		s);
	return -1;
}

static int
add_arg(char ***v, size_t *n, char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (nv == NULL)
		return -1;
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

static int
report_anchor(struct tlspa_report *r, const char *arg)
{
	struct tlspa_follow_anchor *na;

	na = realloc(r->anchors, (r->nanchors + 1) * sizeof(*na));
	if (na == NULL)
		return -1;
	r->anchors = na;
	if (tlspa_verify_anchor(arg, &na[r->nanchors]) < 0) {
		fprintf(stderr,
			"tlspolicy-audit: --anchor %s: expected SEQ:HASH (64 "
			"hex digits)\n",
			arg);
		return -1;
	}
	r->nanchors++;
	return 0;
}

static int
add_policy(struct tlspa_report *r, const char *path)
{
	struct tlspa_policyf *np;

	np = realloc(r->policies, (r->npolicies + 1) * sizeof(*np));
	if (np == NULL)
		return -1;
	r->policies = np;
	memset(&np[r->npolicies], 0, sizeof(*np));
	np[r->npolicies++].path = path;
	return 0;
}

/* What --format html needs, and what only it takes. */
static int
report_html_options(struct tlspa_report *r)
{
	if (r->format == F_HTML && r->out == NULL) {
		fprintf(stderr, "tlspolicy-audit report: --format html needs "
				"-o FILE\n");
		return -1;
	}
	if (r->format != F_HTML && r->out != NULL) {
		fprintf(stderr, "tlspolicy-audit report: -o is for --format "
				"html\n");
		return -1;
	}
	if (r->format != F_HTML && r->npolicies > 0) {
		fprintf(stderr, "tlspolicy-audit report: --policy is for "
				"--format html\n");
		return -1;
	}
	if (tlspa_report_policies_load(r) < 0)
		return -1;
	if (r->format == F_HTML && !r->top_given)
		r->top = 100;
	return 0;
}

static int
report_time(struct tlspa_report *r, const char *since, const char *until)
{
	r->since = since;
	r->until = until;
	return tlspa_scan_window(&r->scan, r->tz, since, until);
}

static int
report_options(struct tlspa_report *r, int argc, char **argv)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, 'S'},
		{"until", required_argument, NULL, 'U'},
		{"tz", required_argument, NULL, 'z'},
		{"domain", required_argument, NULL, 'd'},
		{"rule", required_argument, NULL, 'r'},
		{"format", required_argument, NULL, 'f'},
		{"top", required_argument, NULL, 'n'},
		{"contact", required_argument, NULL, 'c'},
		{"key", required_argument, NULL, 'k'},
		{"allow-empty", no_argument, NULL, 'E'},
		{"ignore-breaks", no_argument, NULL, 'I'},
		{"anchor", required_argument, NULL, 'a'},
		{"output", required_argument, NULL, 'o'},
		{"policy", required_argument, NULL, 'P'},
		{NULL, 0, NULL, 0},
	};
	const char *since = NULL, *until = NULL;
	char *end;
	int c;

	r->top = 20;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (c == 'o')
			r->out = optarg;
		else if (c == 'P' && add_policy(r, optarg) < 0)
			return TLSPA_EX_ERROR;
		else if (c == 'a' && report_anchor(r, optarg) < 0)
			return TLSPA_EX_ERROR;
		else if (c == 'S')
			since = optarg;
		else if (c == 'U')
			until = optarg;
		else if (c == 'z')
			r->tz = optarg;
		else if (c == 'c')
			r->contact = optarg;
		else if (c == 'E')
			r->scan.allow_empty = 1;
		else if (c == 'I')
			r->ignore_breaks = 1;
		else if (c == 'k' && tlspa_tool_key(&r->key, optarg) < 0)
			return TLSPA_EX_ERROR;
		else if (c == 'd' &&
			 add_arg(&r->domains, &r->ndomains, optarg) < 0)
			return TLSPA_EX_ERROR;
		else if (c == 'r' && add_arg(&r->rulef, &r->nrulef, optarg) < 0)
			return TLSPA_EX_ERROR;
		else if (c == 'f' && report_format(r, optarg) < 0)
			return TLSPA_EX_ERROR;
		else if (c == 'n' &&
			 ((r->top = strtoul(optarg, &end, 10)) == 0 ||
			  *end != '\0'))
			return tlspa_tool_usage("report");
		else if (c == 'n')
			r->top_given = 1;
		else if (c == '?' || c == ':')
			return tlspa_tool_usage("report");
	}
	if (report_time(r, since, until) < 0 || report_html_options(r) < 0)
		return TLSPA_EX_ERROR;
	if (r->fleet.n > 0 && optind < argc) {
		fprintf(stderr,
			"tlspolicy-audit report: %s: a file before "
			"the first --host\n",
			argv[optind]);
		return tlspa_tool_usage("report");
	}
	if (r->fleet.n > 0 && (r->key.k != NULL || r->nanchors > 0)) {
		fprintf(stderr, "tlspolicy-audit report: --key and --anchor go "
				"after their --host\n");
		return TLSPA_EX_ERROR;
	}
	if (optind >= argc && r->fleet.n == 0) {
		fprintf(stderr, "tlspolicy-audit report: no FILE given\n");
		return tlspa_tool_usage("report");
	}
	return 0;
}

/* ========================================================== counting */

/*
 * The bucket of a version as the MTA spelled it, read as the engine reads
 * it (tlsp_version_lookup: any case, "TLSv1.0" for TLSv1), so that a
 * session the policy judged as TLSv1.2 is counted as TLSv1.2.
 */
static int
ver_bucket(const struct tlspa_jv *v)
{
	int ver, i;

	if (v == NULL || v->type != TLSPA_J_STR)
		return V_NONE;
	ver = strlen(v->s) == v->len ? tlsp_version_lookup(v->s) : -1;
	for (i = 0; i < V_NONE; i++)
		if (ver_rows[i].name == NULL && (int)ver_rows[i].ver == ver)
			return i;
	if (ver == TLSP_VER_SSLV2 || ver == TLSP_VER_SSLV3 ||
	    (v->len >= 3 && memcmp(v->s, "SSL", 3) == 0))
		return V_SSL;
	return V_OTHER;
}

static void
session_tls(struct session *ss, const struct tlspa_jv *tls)
{
	const struct tlspa_jv *b = tlspa_jv_get(tls, "bits");
	const struct tlspa_jv *fs = tlspa_jv_get(tls, "forward_secrecy");

	ss->ver = ver_bucket(tlspa_jv_get(tls, "version"));
	if (ss->ver == V_NONE)
		ss->bits = B_NOTLS;
	else if (b == NULL || b->type != TLSPA_J_NUM || !b->is_int)
		ss->bits = B_UNKNOWN;
	else
		ss->bits = b->i < 128 ? B_LOW : b->i < 256 ? B_128 : B_256;
	ss->fs = fs == NULL || fs->type == TLSPA_J_NULL ? FS_UNKNOWN
		 : fs->type == TLSPA_J_TRUE		? FS_YES
							: FS_NO;
	ss->cert = bucket(tlspa_jv_get(tls, "cert"), &tlspa_report_cert, NCERT,
			  C_UNKNOWN);
}

static int
domain_wanted(const struct tlspa_report *r, const char *domain)
{
	size_t i;

	if (r->ndomains == 0)
		return 1;
	for (i = 0; i < r->ndomains; i++)
		if (domain[0] != '\0' &&
		    tlspa_text_domain_match(domain, r->domains[i]))
			return 1;
	return 0;
}

static int
rule_wanted(const struct tlspa_report *r, const struct tlspa_jv *rule)
{
	size_t i;

	if (r->nrulef == 0)
		return 1;
	for (i = 0; i < r->nrulef; i++)
		if (tlspa_jv_is(rule, r->rulef[i]))
			return 1;
	return 0;
}

static int
verdict_wanted(const struct tlspa_report *r, const struct tlspa_jv *verdict)
{
	const struct tlspa_jv *x;

	if (r->nrulef == 0)
		return 1;
	for (x = rules_of(verdict); x != NULL; x = x->next)
		if (rule_wanted(r, tlspa_jv_get(x, "rule")))
			return 1;
	return 0;
}

/* The key of a value that may be redacted: its text, or "sha256:..." */
static const char *
value_key(const struct tlspa_jv *v, size_t *n, char buf[80])
{
	const char *d = tlspa_jv_digest(v);

	if (v != NULL && v->type == TLSPA_J_STR) {
		*n = v->len;
		return v->s;
	}
	if (d != NULL) {
		*n = (size_t)snprintf(buf, 80, "sha256:%.16s", d);
		return buf;
	}
	*n = 1;
	return "-";
}

/* html: the subject and issuer of the first certificate a client
 * presented, for the partner inventory. */
static void
client_cert(struct tlspa_row *row, const struct decision *d)
{
	const struct tlspa_jv *tls = tlspa_jv_get(d->ss->rec, "tls");
	const char *sub = tlspa_jv_str(tlspa_jv_get(tls, "subject"));
	const char *iss = tlspa_jv_str(tlspa_jv_get(tls, "issuer"));

	if (sub == NULL && iss == NULL)
		return;
	if (asprintf(&row->cert, "%.255s / %.255s", sub ? sub : "-",
		     iss ? iss : "-") < 0)
		row->cert = NULL;
}

static void
count_client(struct tlspa_report *r, const struct decision *d)
{
	const struct tlspa_jv *name = tlspa_jv_get(d->ss->client, "name");
	char buf[80], nbuf[80];
	const char *k, *nk;
	size_t n, nn;
	struct tlspa_row *row;

	k = value_key(tlspa_jv_get(d->ss->client, "addr"), &n, buf);
	if ((row = tlspa_table_get(&r->client, k, n)) == NULL)
		return;
	if (r->format == F_HTML && r->npolicies > 0 && row->t.n == 0)
		row->named |= tlspa_report_client_mask(r, k, n, NULL);
	tally_add(&row->t, d);
	if (r->format == F_HTML && row->cert == NULL)
		client_cert(row, d);
	if (name == NULL || name->type == TLSPA_J_NULL)
		return; /* no name: the first one seen is kept */
	nk = value_key(name, &nn, nbuf);
	if (nn > 255)
		nn = 255;
	/* html: a rule may name the client by any name it was seen with */
	if (r->format == F_HTML && r->npolicies > 0 &&
	    name->type == TLSPA_J_STR &&
	    (row->name == NULL || strlen(row->name) != nn ||
	     memcmp(row->name, nk, nn) != 0)) {
		char one[256];

		memcpy(one, nk, nn);
		one[nn] = '\0';
		row->named |= tlspa_report_client_mask(r, NULL, 0, one);
	}
	if (row->name == NULL && (row->name = malloc(nn + 1)) != NULL) {
		memcpy(row->name, nk, nn);
		row->name[nn] = '\0';
	}
}

/* RFC 8460 result types, from our requirements where they fit; the
 * others, "other" (a requirement this version does not know) included,
 * are "validation-failure". */
static const char *const rpt_results[NREQ] = {
	[TLSP_REQ_TLS] = "starttls-not-supported",
	[TLSP_REQ_CLIENT_CERT] = "certificate-not-trusted",
	[TLSP_REQ_SUBJECT] = "certificate-host-mismatch",
	[TLSP_REQ_ISSUER] = "certificate-not-trusted",
	[TLSP_REQ_FINGERPRINT] = "certificate-not-trusted",
};

static const char *
rpt_result(int req)
{
	return rpt_results[req] != NULL ? rpt_results[req]
					: "validation-failure";
}

static struct tlspa_pol *
rpt_policy(struct tlspa_report *r, const struct decision *d)
{
	char key[300];
	struct tlspa_pol *p;
	int n;

	if (d->ss->ms < r->day_start || d->ss->ms >= r->day_end)
		tlspa_time_day(d->ss->ms, r->day, &r->day_start, &r->day_end);
	n = snprintf(key, sizeof(key), "%s%c%s", r->day, 0, d->domain);
	if ((p = tlspa_table_get(&r->pol, key, (size_t)n)) == NULL)
		return NULL;
	if (p->day[0] == '\0') {
		memcpy(p->day, r->day, sizeof(p->day));
		p->start = r->day_start;
		p->end = r->day_end;
		snprintf(p->host, sizeof(p->host), "%s",
			 tlspa_jv_str(tlspa_jv_get(d->ss->rec, "host"))
				 ? tlspa_jv_str(tlspa_jv_get(d->ss->rec,
							     "host"))
				 : "-");
	}
	return p;
}

static void
rpt_rule(struct tlspa_pol *p, const struct tlspa_jv *name)
{
	int i;

	if (name == NULL || name->type != TLSPA_J_STR || name->len >= 128)
		return;
	for (i = 0; i < p->nrules; i++)
		if (strcmp(p->rules[i], name->s) == 0)
			return;
	if (p->nrules < 4)
		memcpy(p->rules[p->nrules++], name->s, name->len + 1);
}

static void
rpt_detail(struct tlspa_report *r, struct tlspa_pol *p,
	   const struct decision *d, const struct tlspa_jv *f)
{
	int req = bucket(tlspa_jv_get(f, "requirement"), &tlspa_report_req,
			 NREQ, R_OTHER);
	int unknown = status_is(tlspa_jv_get(f, "status"), TLSP_UNKNOWN);
	char key[400], buf[80];
	const char *ip;
	size_t ipn;
	struct tlspa_det *x;
	int n;

	ip = value_key(tlspa_jv_get(d->ss->client, "addr"), &ipn, buf);
	if (ipn > 79)
		ipn = 79;
	n = snprintf(key, sizeof(key), "%p%c%d%c%d%c%.*s", (void *)p, 0, req, 0,
		     unknown, 0, (int)ipn, ip);
	if ((x = tlspa_table_get(&r->det, key, (size_t)n)) == NULL)
		return;
	if (x->result == NULL) {
		x->result = rpt_result(req);
		x->reason = tlspa_report_req.name(req);
		x->unknown = unknown;
		memcpy(x->ip, ip, ipn);
		x->pol = p;
		x->next = p->details;
		p->details = x;
	}
	x->count++;
}

static void
count_tlsrpt(struct tlspa_report *r, const struct decision *d)
{
	const struct tlspa_jv *rule, *f;
	struct tlspa_pol *p;

	if (d->domain[0] == '\0' || d->ss->ms == TLSPA_TIME_MIN ||
	    (p = rpt_policy(r, d)) == NULL)
		return;
	p->ok += !d->failed;
	p->failed += d->failed;
	for (rule = rules_of(d->verdict); rule != NULL; rule = rule->next) {
		rpt_rule(p, tlspa_jv_get(rule, "rule"));
		if (is_true(tlspa_jv_get(rule, "exempt")))
			continue;
		f = tlspa_jv_get(rule, "failures");
		for (f = f != NULL && f->type == TLSPA_J_ARR ? f->kids : NULL;
		     f; f = f->next)
			rpt_detail(r, p, d, f);
	}
}

/* Each exception named in the decision's waived failures: counted once
 * per decision, each requirement it waived once per rule. */
static void
count_exceptions(struct tlspa_report *r, const struct decision *d)
{
	const struct tlspa_jv *rule, *w, *name, *exp;
	struct tlspa_exrow *x;

	r->ndec++;
	for (rule = rules_of(d->verdict); rule != NULL; rule = rule->next) {
		if (is_true(tlspa_jv_get(rule, "exempt")))
			continue;
		for (w = waived_of(rule); w != NULL; w = w->next) {
			name = tlspa_jv_get(w, "exception");
			if (name == NULL || name->type != TLSPA_J_STR ||
			    (x = tlspa_table_get(&r->exc, name->s,
						 name->len)) == NULL)
				continue;
			exp = tlspa_jv_get(w, "expires");
			if (exp != NULL && exp->type == TLSPA_J_STR)
				snprintf(x->expires, sizeof(x->expires), "%s",
					 exp->s);
			x->waived[bucket(tlspa_jv_get(w, "requirement"),
					 &tlspa_report_req, NREQ, R_OTHER)]++;
			if (x->last_dec == r->ndec)
				continue;
			x->last_dec = r->ndec;
			x->n++;
			x->let_through += d->act != TLSP_ACTION_REJECT &&
					  d->act != TLSP_ACTION_DEFER;
			if (x->n == 1 || d->ss->ms < x->first_ms)
				x->first_ms = d->ss->ms;
			if (x->n == 1 || d->ss->ms > x->last_ms)
				x->last_ms = d->ss->ms;
		}
	}
}

/* html: the decision's day. */
static void
count_day(struct tlspa_report *r, const struct decision *d)
{
	struct tlspa_day *day;

	if (d->ss->ms == TLSPA_TIME_MIN)
		return;
	if (r->cur_day == NULL || d->ss->ms < r->day_start ||
	    d->ss->ms >= r->day_end) {
		tlspa_time_day(d->ss->ms, r->day, &r->day_start, &r->day_end);
		r->cur_day = tlspa_table_get(&r->days, r->day, strlen(r->day));
		if (r->cur_day != NULL)
			r->cur_day->start = r->day_start;
	}
	if ((day = r->cur_day) == NULL)
		return;
	day->n++;
	day->passed += !d->failed;
	day->failed += d->failed;
	day->ver[d->ss->ver]++;
	day->cert[d->ss->cert]++;
	day->action[d->act]++;
}

/* html: a rule's evaluation on the decision's day (count_day ran first),
 * and whether it met the rule. The day's entry is cached in the rule's
 * row: one lookup per rule and day, not per evaluation. */
static void
count_dayrule(struct tlspa_report *r, const struct decision *d,
	      struct tlspa_row *row, const struct tlspa_jv *rule,
	      const struct tlspa_jv *name)
{
	struct tlspa_dayrule *dr = row->dayrule;
	char key[400];
	size_t n;

	if (d->ss->ms == TLSPA_TIME_MIN || r->cur_day == NULL)
		return;
	if (dr == NULL || row->dayrule_start != r->day_start) {
		if (name == NULL || name->type != TLSPA_J_STR ||
		    name->len > 255)
			return;
		n = strlen(r->day); /* day \0 rule, without printf */
		memcpy(key, r->day, n);
		key[n++] = '\0';
		memcpy(key + n, name->s, name->len);
		n += name->len;
		dr = tlspa_table_get(&r->dayrule, key, n);
		row->dayrule = dr;
		row->dayrule_start = r->day_start;
		if (dr == NULL)
			return;
	}
	dr->n++;
	dr->met += is_true(tlspa_jv_get(rule, "exempt")) ||
		   status_is(tlspa_jv_get(rule, "status"), TLSP_PASS);
}

/* A requirement's required or observed value as text, into buf. */
static size_t
pair_value(const struct tlspa_jv *v, char *buf, size_t n)
{
	if (v == NULL)
		return (size_t)snprintf(buf, n, "(absent)");
	if (v->type == TLSPA_J_STR || v->type == TLSPA_J_NUM)
		return (size_t)snprintf(buf, n, "%.*s",
					(int)(v->len < 100 ? v->len : 100),
					v->s);
	return (size_t)snprintf(buf, n, "%s",
				v->type == TLSPA_J_TRUE	   ? "true"
				: v->type == TLSPA_J_FALSE ? "false"
				: v->type == TLSPA_J_NULL  ? "null"
							   : "(a list)");
}

/* html: a failure's pair under a recipient ('R') or sender ('S') domain. */
static void
count_dpair(struct tlspa_report *r, char dir, const char *dom, size_t dn,
	    const char *pk, size_t pn)
{
	struct tlspa_pair *p;
	char key[700];

	if (dn > 255 || pn > sizeof(key) - 2 - dn)
		return;
	key[0] = dir;
	memcpy(key + 1, dom, dn);
	key[1 + dn] = '\0';
	memcpy(key + 2 + dn, pk, pn);
	if ((p = tlspa_table_get(&r->dpairs, key, 2 + dn + pn)) != NULL)
		p->n++;
}

/* html: each failure of a rule that did not exempt the session, by
 * requirement, required and observed value; overall and per domain
 * (count_sender ran first: r->sender_row is the record's sender). */
static void
count_pairs(struct tlspa_report *r, const struct decision *d)
{
	const struct tlspa_jv *rule, *f, *req;
	struct tlspa_pair *p;
	char key[400];
	size_t n, m;

	for (rule = rules_of(d->verdict); rule != NULL; rule = rule->next) {
		if (is_true(tlspa_jv_get(rule, "exempt")))
			continue;
		f = tlspa_jv_get(rule, "failures");
		for (f = f != NULL && f->type == TLSPA_J_ARR ? f->kids : NULL;
		     f != NULL; f = f->next) {
			req = tlspa_jv_get(f, "requirement");
			n = (size_t)
				snprintf(key, sizeof(key), "%s",
					 tlspa_report_req
						 .name(bucket(req,
							      &tlspa_report_req,
							      NREQ, R_OTHER)));
			key[n++] = '\0';
			m = pair_value(tlspa_jv_get(f, "required"), key + n,
				       120);
			n += (m < 120 ? m : 119) + 1;
			m = pair_value(tlspa_jv_get(f, "observed"), key + n,
				       120);
			n += m < 120 ? m : 119;
			if ((p = tlspa_table_get(&r->pairs, key, n)) != NULL)
				p->n++;
			if (d->domain[0] != '\0')
				count_dpair(r, 'R', d->domain,
					    strlen(d->domain), key, n);
			if (r->sender_row != NULL)
				count_dpair(r, 'S', r->sender_row->e.key,
					    r->sender_row->e.klen, key, n);
		}
	}
}

/* html: the decision under its sender's domain. */
static void
count_sender(struct tlspa_report *r, const struct decision *d)
{
	char key[256];

	/* once per record: its recipients share the sender */
	if (r->sender_rec != d->ss->recno || r->sender_row == NULL) {
		tlspa_text_sender_key(tlspa_jv_get(d->ss->rec, "sender"), key,
				      sizeof(key));
		r->sender_rec = d->ss->recno;
		r->sender_row = tlspa_table_get(&r->sender, key, strlen(key));
	}
	if (r->sender_row != NULL)
		tally_add(&r->sender_row->t, d);
}

static void
count_decision(struct tlspa_report *r, struct decision *d)
{
	const struct tlspa_jv *rule;
	struct tlspa_row *row;

	tally_add(&r->total, d);
	if (r->format == F_HTML)
		count_day(r, d);
	if (d->domain[0] != '\0' &&
	    (row = tlspa_table_get(&r->dom, d->domain, strlen(d->domain))) !=
		    NULL)
		tally_add(&row->t, d);
	for (rule = rules_of(d->verdict); rule != NULL; rule = rule->next) {
		const struct tlspa_jv *name = tlspa_jv_get(rule, "rule");
		char buf[80];
		const char *k;
		size_t n;

		if (!rule_wanted(r, name))
			continue;
		k = value_key(name, &n, buf);
		if ((row = tlspa_table_get(&r->rule, k, n)) == NULL)
			continue;
		tally_rule(&row->t, d, rule);
		if (r->format == F_HTML)
			count_dayrule(r, d, row, rule, name);
	}
	count_client(r, d);
	count_exceptions(r, d);
	if (r->format == F_TLSRPT)
		count_tlsrpt(r, d);
	if (r->format == F_HTML) {
		count_sender(r, d);
		if (d->failed)
			count_pairs(r, d);
	}
}

/* Fills d from a verdict (a recipient's or the sender's). */
static void
decide(struct decision *d, const struct session *ss,
       const struct tlspa_jv *verdict)
{
	const struct tlspa_jv *rule, *src, *f;

	d->ss = ss;
	d->verdict = verdict != NULL && verdict->type == TLSPA_J_OBJ ? verdict
								     : NULL;
	src = d->verdict != NULL ? d->verdict : ss->rec;
	d->act = bucket(tlspa_jv_get(src, "action"), &tlspa_report_act, NACT,
			TLSP_ACTION_ACCEPT);
	d->would = bucket(tlspa_jv_get(src, "would_action"), &tlspa_report_act,
			  NACT, d->act);
	d->failed = 0;
	d->nfail = 0;
	for (rule = rules_of(d->verdict); rule != NULL; rule = rule->next) {
		if (is_true(tlspa_jv_get(rule, "exempt")))
			continue;
		if (!status_is(tlspa_jv_get(rule, "status"), TLSP_PASS))
			d->failed = 1;
		f = tlspa_jv_get(rule, "failures");
		for (f = f != NULL && f->type == TLSPA_J_ARR ? f->kids : NULL;
		     f != NULL && d->nfail >= 0; f = f->next) {
			if (d->nfail == DEC_FAILS) {
				d->nfail = -1;
				break;
			}
			d->fail[d->nfail++] =
				(unsigned char)(bucket(tlspa_jv_get(
							       f,
							       "requirement"),
						       &tlspa_report_req, NREQ,
						       R_OTHER) *
							2 +
						status_is(tlspa_jv_get(
								  f, "status"),
							  TLSP_UNKNOWN));
		}
	}
}

static void
count_recipients(struct tlspa_report *r, const struct session *ss)
{
	const struct tlspa_jv *rc = tlspa_jv_get(ss->rec, "recipients");
	const struct tlspa_jv *addr;
	struct decision d;

	for (rc = rc != NULL && rc->type == TLSPA_J_ARR ? rc->kids : NULL; rc;
	     rc = rc->next) {
		addr = tlspa_jv_get(rc, "addr");
		if (addr != NULL && addr->type == TLSPA_J_STR) {
			if (tlspa_text_domain(addr->s, addr->len, d.domain,
					      sizeof(d.domain)) == 0)
				snprintf(d.domain, sizeof(d.domain), "(none)");
		} else {
			snprintf(d.domain, sizeof(d.domain), "%s",
				 tlspa_jv_digest(addr) ? "(redacted)"
						       : "(none)");
		}
		if (!domain_wanted(r, d.domain))
			continue;
		decide(&d, ss, tlspa_jv_get(rc, "verdict"));
		if (verdict_wanted(r, d.verdict))
			count_decision(r, &d);
	}
}

static void
copy_str(char *dst, size_t n, const struct tlspa_jv *v)
{
	const char *s = tlspa_jv_str(v);

	snprintf(dst, n, "%s", s != NULL ? s : "");
}

/* html: the hosts, and the records that name a policy. */
static void
count_html(struct tlspa_report *r, const struct tlspa_jv *rec, int type)
{
	const struct tlspa_jv *host = tlspa_jv_get(rec, "host");
	struct tlspa_reload *x;
	struct tlspa_row *row;

	if (host != NULL && host->type == TLSPA_J_STR &&
	    (row = tlspa_table_get(&r->hosts, host->s, host->len)) != NULL)
		row->t.n++;
	if (type != T_START && type != T_RELOAD && type != T_RELOAD_FAILED)
		return;
	if (r->nreloads == TLSPA_RELOADS_MAX ||
	    (r->reloads == NULL &&
	     (r->reloads = calloc(TLSPA_RELOADS_MAX, sizeof(*x))) == NULL)) {
		r->reloads_dropped++;
		return;
	}
	x = &r->reloads[r->nreloads++];
	copy_str(x->time, sizeof(x->time), tlspa_jv_get(rec, "time"));
	copy_str(x->type, sizeof(x->type), tlspa_jv_get(rec, "type"));
	copy_str(x->host, sizeof(x->host), host);
	copy_str(x->policy, sizeof(x->policy), tlspa_jv_get(rec, "policy"));
	copy_str(x->detail, sizeof(x->detail), tlspa_jv_get(rec, "detail"));
}

static void
count_record(struct tlspa_report *r, const struct tlspa_jv *rec, int64_t ms)
{
	struct session ss;
	struct decision d;

	memset(&ss, 0, sizeof(ss));
	ss.rec = rec;
	ss.ms = ms;
	ss.recno = r->scan.records;
	ss.type = bucket(tlspa_jv_get(rec, "type"), &tlspa_report_type, NTYPE,
			 T_OTHER);
	r->types[ss.type]++;
	if (r->format == F_HTML)
		count_html(r, rec, ss.type);
	if (ms != TLSPA_TIME_MIN) {
		if (ms < r->first_ms)
			r->first_ms = ms;
		if (ms > r->last_ms)
			r->last_ms = ms;
	}
	if (ss.type != T_MESSAGE && ss.type != T_RCPT && ss.type != T_MAIL)
		return;
	ss.client = tlspa_jv_get(rec, "client");
	session_tls(&ss, tlspa_jv_get(rec, "tls"));
	if (ss.type != T_MAIL) {
		count_recipients(r, &ss);
		return;
	}
	if (r->ndomains > 0)
		return; /* a sender verdict has no recipient domain */
	d.domain[0] = '\0';
	decide(&d, &ss, tlspa_jv_get(rec, "sender_verdict"));
	if (verdict_wanted(r, d.verdict)) {
		r->mail_n++;
		count_decision(r, &d);
	}
}

/* ====================================================== for inventory */

int
tlspa_report_version(const struct tlspa_jv *v)
{
	return ver_bucket(v);
}

int
tlspa_report_bucket(const struct tlspa_jv *v, const struct tlspa_hist *h,
		    int absent)
{
	return bucket(v, h, h->n, absent);
}

/* ============================================================ sorting */

int
tlspa_report_by_count(const void *a, const void *b)
{
	const struct tlspa_row *x = *(const struct tlspa_row *const *)a;
	const struct tlspa_row *y = *(const struct tlspa_row *const *)b;
	size_t n = x->e.klen < y->e.klen ? x->e.klen : y->e.klen;
	int c;

	if (x->t.n != y->t.n)
		return x->t.n > y->t.n ? -1 : 1;
	if ((c = memcmp(x->e.key, y->e.key, n)) != 0)
		return c;
	return x->e.klen < y->e.klen ? -1 : x->e.klen > y->e.klen;
}

int
tlspa_report_by_failed(const void *a, const void *b)
{
	const struct tlspa_row *x = *(const struct tlspa_row *const *)a;
	const struct tlspa_row *y = *(const struct tlspa_row *const *)b;

	if (x->t.failed != y->t.failed)
		return x->t.failed > y->t.failed ? -1 : 1;
	return tlspa_report_by_count(a, b);
}

int
tlspa_report_by_waived(const void *a, const void *b)
{
	const struct tlspa_exrow *x = *(const struct tlspa_exrow *const *)a;
	const struct tlspa_exrow *y = *(const struct tlspa_exrow *const *)b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return tlspa_table_by_key(a, b);
}

static void
free_row(struct tlspa_ent *e)
{
	free(((struct tlspa_row *)e)->name);
	free(((struct tlspa_row *)e)->cert);
}


/* The counting's tables and reloads (not the options). */
static void
counters_free(struct tlspa_report *r)
{
	tlspa_table_free(&r->dom, free_row);
	tlspa_table_free(&r->rule, free_row);
	tlspa_table_free(&r->client, free_row);
	tlspa_table_free(&r->pol, NULL);
	tlspa_table_free(&r->det, NULL);
	tlspa_table_free(&r->exc, NULL);
	tlspa_table_free(&r->days, NULL);
	tlspa_table_free(&r->dayrule, NULL);
	tlspa_table_free(&r->sender, free_row);
	tlspa_table_free(&r->hosts, free_row);
	tlspa_table_free(&r->pairs, NULL);
	tlspa_table_free(&r->dpairs, NULL);
	free(r->reloads);
	r->reloads = NULL;
}

/* Empty counters (r zeroed): the tables' value sizes, the times. */
static void
counters_init(struct tlspa_report *r)
{
	r->dom.valsz = r->rule.valsz = r->client.valsz =
		sizeof(struct tlspa_row);
	r->pol.valsz = sizeof(struct tlspa_pol);
	r->det.valsz = sizeof(struct tlspa_det);
	r->exc.valsz = sizeof(struct tlspa_exrow);
	r->days.valsz = sizeof(struct tlspa_day);
	r->dayrule.valsz = sizeof(struct tlspa_dayrule);
	r->sender.valsz = r->hosts.valsz = sizeof(struct tlspa_row);
	r->pairs.valsz = r->dpairs.valsz = sizeof(struct tlspa_pair);
	r->first_ms = TLSPA_TIME_MAX;
	r->last_ms = TLSPA_TIME_MIN;
}

static void
report_free(struct tlspa_report *r)
{
	counters_free(r);
	tlspa_report_html_free(r);
	tlspa_report_policies_free(r);
	free(r->anchors);
	tlspa_scan_close(&r->scan);
	tlsp_chain_key_free(&r->key);
	tlspa_fleet_free(&r->fleet);
	free(r->hostev);
	free(r->allfiles);
	free(r->domains);
	free(r->rulef);
}

/* ============================================================= fleet */

/*
 * Each host of a fleet is read on a thread of its own (as many threads
 * as online processors, at most one per host), into counters of its own
 * that number its own records and decisions. Nothing of it reaches
 * stderr from the thread: what it would say is kept, and after the
 * threads are joined each host in the order given says it, gives its
 * evidence and has its counters merged into the fleet's
 * (report_merge.c). The output is what reading the hosts one after the
 * other into one set of counters gives.
 */

/* What reading a host would have said: a chain finding (the arguments
 * of tlspa_tool_say), or with kind -1 a line as it is. */
struct said {
	int kind;
	const char *path; /* borrowed: a file name from argv */
	unsigned long long lineno;
	char *text; /* owned */
};

/* One host on its thread. The thread writes only here (and its
 * struct tlspa_hostev); the main thread reads it after the join. */
struct host_part {
	const struct tlspa_host *h;
	struct tlspa_hostev *ev; /* r->hostev[i]: name, nfiles, wrong */
	/* its files are r->allfiles[base ..]: the html file tap's index
	 * of its first */
	size_t base;
	struct tlspa_report part; /* its counters, and its scan */
	struct said *said;
	size_t nsaid, cap;
	/* breaks and warnings kept, and past TLSPA_TOOL_SAY_MAX only
	 * counted (by enum tlspa_follow_kind) */
	unsigned long long kept[3], unsaid[3];
	FILE *err; /* the scan's read errors, into errs */
	char *errs;
	size_t errlen;
	int got; /* the last tlspa_scan_next: -1 on an error */
	int oom;
	int done; /* read to its end (under fleet_run.lock) */
};

/* The hosts and the threads that read them: each takes the next host
 * not taken; the main thread merges host i once it is done. */
struct fleet_run {
	struct host_part *parts;
	size_t n, next;
	int stop; /* a host could not be read: take no more */
	pthread_mutex_t lock;
	pthread_cond_t read; /* a host is done */
	pthread_t *th;
	size_t started;
};

static void
host_keep(struct host_part *hp, int kind, const char *path,
	  unsigned long long lineno, const char *text)
{
	struct said *ns;

	if (kind == TLSPA_FOLLOW_BREAK || kind == TLSPA_FOLLOW_WARN) {
		if (hp->kept[kind] == TLSPA_TOOL_SAY_MAX) {
			hp->unsaid[kind]++; /* it would not be shown */
			return;
		}
		hp->kept[kind]++;
	}
	if (hp->nsaid == hp->cap) {
		ns = realloc(hp->said,
			     (hp->cap ? hp->cap * 2 : 16) * sizeof(*ns));
		if (ns == NULL) {
			hp->oom = 1;
			return;
		}
		hp->said = ns;
		hp->cap = hp->cap ? hp->cap * 2 : 16;
	}
	ns = &hp->said[hp->nsaid];
	if ((ns->text = strdup(text)) == NULL) {
		hp->oom = 1;
		return;
	}
	ns->kind = kind;
	ns->path = path;
	ns->lineno = lineno;
	hp->nsaid++;
}

static void
host_say(void *arg, enum tlspa_follow_kind kind, const char *path,
	 unsigned long long lineno, const char *text)
{
	host_keep(arg, (int)kind, path, lineno, text);
}

static void
wrong_host(struct host_part *hp)
{
	const struct tlspa_scan *s = &hp->part.scan;
	const struct tlspa_jv *v = tlspa_jv_get(s->rec, "host");
	char buf[128], *line;

	if (v != NULL && v->type == TLSPA_J_STR)
		tlspa_text_safe(v->s, v->len, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "(none)");
	if (asprintf(&line,
		     "%s:%llu: the record names host \"%s\", not %s as "
		     "declared\n",
		     s->line.path, s->line.lineno, buf, hp->h->name) < 0) {
		hp->oom = 1;
		return;
	}
	host_keep(hp, -1, NULL, 0, line);
	free(line);
}

/* The records of one host, each naming that host, into its counters
 * (on its thread). */
static void
host_read(struct host_part *hp)
{
	struct tlspa_scan *s = &hp->part.scan;

	while ((hp->got = tlspa_scan_next(s)) > 0 && !hp->oom) {
		if (!tlspa_fleet_wrong_host(s->rec, hp->h->name)) {
			count_record(&hp->part, s->rec, s->ms);
			continue;
		}
		s->records--; /* not this host's evidence */
		if (hp->ev->wrong++ == 0)
			wrong_host(hp);
	}
	if (hp->oom) {
		fprintf(hp->err, "tlspolicy-audit: out of memory\n");
		hp->got = -1;
	}
	tlspa_reader_close(&s->lines); /* its buffer; the chain is read on */
	fflush(hp->err);
}

static void *
fleet_worker(void *arg)
{
	struct fleet_run *fr = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&fr->lock);
		i = fr->stop ? fr->n : fr->next++;
		pthread_mutex_unlock(&fr->lock);
		if (i >= fr->n)
			return NULL;
		host_read(&fr->parts[i]);
		pthread_mutex_lock(&fr->lock);
		fr->parts[i].done = 1;
		if (fr->parts[i].got < 0) /* the report ends at this host: */
			fr->stop = 1;	  /* no later one is started */
		pthread_cond_broadcast(&fr->read);
		pthread_mutex_unlock(&fr->lock);
	}
}

/* Host i's counters, options copied from r, its scan set up. 0, or -1
 * out of memory. */
static int
host_start(struct tlspa_report *r, struct host_part *hp, size_t i,
	   const struct tlspa_scan *keep, size_t base)
{
	struct tlspa_report *p = &hp->part;

	hp->h = &r->fleet.hosts[i];
	hp->ev = &r->hostev[i];
	hp->ev->name = hp->h->name;
	hp->ev->nfiles = hp->h->nfiles;
	hp->base = base;
	p->format = r->format;
	p->domains = r->domains;
	p->ndomains = r->ndomains;
	p->rulef = r->rulef;
	p->nrulef = r->nrulef;
	/* borrowed, read only (clients named by rules): not freed by
	 * counters_free */
	p->policies = r->policies;
	p->npolicies = r->npolicies;
	counters_init(p);
	p->scan.files = hp->h->files;
	p->scan.nfiles = hp->h->nfiles;
	p->scan.key = &hp->h->key;
	p->scan.since = keep->since;
	p->scan.until = keep->until;
	p->scan.allow_empty = keep->allow_empty;
	p->scan.chain.anchors = hp->h->anchors;
	p->scan.chain.nanchors = hp->h->nanchors;
	p->scan.say = host_say;
	p->scan.say_arg = hp;
	hp->err = open_memstream(&hp->errs, &hp->errlen);
	p->scan.err = hp->err;
	return hp->err != NULL ? 0 : -1;
}

static void
host_free(struct host_part *hp)
{
	size_t i;

	for (i = 0; i < hp->nsaid; i++)
		free(hp->said[i].text);
	free(hp->said);
	if (hp->err != NULL)
		fclose(hp->err);
	free(hp->errs);
	counters_free(&hp->part);
	tlspa_scan_close(&hp->part.scan);
}

/* What host hp would have said while read, said now. */
static void
host_said(struct host_part *hp)
{
	const struct said *x;
	size_t i;
	int k;

	for (i = 0; i < hp->nsaid; i++) {
		x = &hp->said[i];
		if (x->kind < 0)
			fputs(x->text, stderr);
		else
			tlspa_tool_say(NULL, (enum tlspa_follow_kind)x->kind,
				       x->path, x->lineno, x->text);
	}
	for (k = 0; k < 3; k++)
		tlspa_tool_unsaid((enum tlspa_follow_kind)k, hp->unsaid[k]);
	if (hp->err != NULL && fflush(hp->err) == 0 && hp->errlen > 0)
		fwrite(hp->errs, 1, hp->errlen, stderr);
}

/* After the threads, in host order: what host hp said, what its chain
 * showed into its hostev and the fleet's totals in *agg, its counters
 * into r's. 0, TLSPA_EX_BROKEN or TLSPA_EX_ERROR. */
static int
host_end(struct tlspa_report *r, struct host_part *hp, struct tlspa_follow *agg)
{
	const struct tlspa_host *h = hp->h;
	struct tlspa_hostev *ev = hp->ev;
	struct tlspa_scan *s = &hp->part.scan;
	struct tlspa_follow *f = &s->chain;
	int rc;

	host_said(hp);
	if (hp->got < 0)
		return TLSPA_EX_ERROR;
	tlspa_scan_evidence(s, ev->evidence, sizeof(ev->evidence));
	if (ev->wrong > 0)
		snprintf(ev->evidence, sizeof(ev->evidence),
			 "NOT VERIFIED: %llu record%s name%s another host "
			 "than %s",
			 ev->wrong, ev->wrong == 1 ? "" : "s",
			 ev->wrong == 1 ? "s" : "", h->name);
	ev->records = f->records - ev->wrong;
	ev->breaks = f->breaks;
	ev->unkeyed = f->unkeyed;
	memcpy(ev->hash, f->hash, sizeof(ev->hash));
	if (agg->breaks == 0 && (f->breaks > 0 || ev->wrong > 0)) {
		agg->first_break = f->first_break;
		if (f->breaks == 0)
			agg->first_break =
				(struct tlspa_follow_place){h->files[0], 0};
		snprintf(agg->first_break_text, sizeof(agg->first_break_text),
			 "host %.64s: %.400s", h->name,
			 f->breaks ? f->first_break_text : ev->evidence);
	}
	agg->records += ev->records;
	agg->breaks += f->breaks + ev->wrong;
	agg->skipped += f->skipped + ev->wrong;
	agg->unkeyed |= f->unkeyed;
	memcpy(agg->hash, f->hash, sizeof(agg->hash));
	rc = tlspa_scan_status(f, r->ignore_breaks);
	if (ev->wrong > 0 && !r->ignore_breaks)
		rc = TLSPA_EX_BROKEN;
	if (tlspa_report_merge(r, &hp->part) < 0) {
		fprintf(stderr, "tlspolicy-audit: out of memory\n");
		return TLSPA_EX_ERROR;
	}
	return rc;
}

/* Starts reading the hosts, fr->n of them, on up to nw threads (none
 * started: reads them all here, one after the other). */
static void
fleet_start(struct fleet_run *fr, size_t nw)
{
	size_t i;

	pthread_mutex_init(&fr->lock, NULL);
	pthread_cond_init(&fr->read, NULL);
	fr->th = calloc(nw, sizeof(*fr->th));
	for (i = 0; fr->th != NULL && i < nw; i++)
		if (pthread_create(&fr->th[fr->started], NULL, fleet_worker,
				   fr) == 0)
			fr->started++;
	if (fr->started == 0)
		fleet_worker(fr);
}

/* Waits until host i has been read. */
static void
fleet_wait(struct fleet_run *fr, size_t i)
{
	pthread_mutex_lock(&fr->lock);
	while (!fr->parts[i].done)
		pthread_cond_wait(&fr->read, &fr->lock);
	pthread_mutex_unlock(&fr->lock);
}

/* No more hosts taken (those being read are read to their end); the
 * threads joined. */
static void
fleet_join(struct fleet_run *fr)
{
	size_t i;

	pthread_mutex_lock(&fr->lock);
	fr->stop = 1;
	pthread_mutex_unlock(&fr->lock);
	for (i = 0; i < fr->started; i++)
		pthread_join(fr->th[i], NULL);
	pthread_cond_destroy(&fr->read);
	pthread_mutex_destroy(&fr->lock);
	free(fr->th);
}

/* Every host's files, in order, into r->allfiles; r->hostev. 0, or -1
 * out of memory. */
static int
fleet_files(struct tlspa_report *r, size_t *nf)
{
	size_t i;

	for (i = 0, *nf = 0; i < r->fleet.n; i++)
		*nf += (size_t)r->fleet.hosts[i].nfiles;
	r->allfiles = calloc(*nf + 1, sizeof(*r->allfiles));
	r->hostev = calloc(r->fleet.n, sizeof(*r->hostev));
	if (r->allfiles == NULL || r->hostev == NULL)
		return -1;
	for (i = 0, *nf = 0; i < r->fleet.n; i++) {
		memcpy(r->allfiles + *nf, r->fleet.hosts[i].files,
		       (size_t)r->fleet.hosts[i].nfiles * sizeof(char *));
		*nf += (size_t)r->fleet.hosts[i].nfiles;
	}
	return 0;
}

/* Each host's chain on its own, each host on a thread of its own into
 * counters of its own, merged in host order; then the scan is made to
 * describe the whole fleet. */
static int
report_fleet(struct tlspa_report *r)
{
	struct tlspa_scan keep = r->scan; /* the window, allow_empty */
	struct fleet_run fr = {.n = r->fleet.n};
	struct tlspa_follow agg;
	unsigned long long records = 0, outside = 0, bad = 0;
	size_t i, nf = 0, merged = 0;
	int rc = 0, st;

	memset(&agg, 0, sizeof(agg));
	if (fleet_files(r, &nf) < 0 ||
	    (fr.parts = calloc(r->fleet.n, sizeof(*fr.parts))) == NULL)
		goto oom;
	for (i = 0, nf = 0; i < r->fleet.n; i++) {
		if (host_start(r, &fr.parts[i], i, &keep, nf) < 0)
			goto oom;
		nf += (size_t)r->fleet.hosts[i].nfiles;
	}
	r->scan.files = r->allfiles;
	r->scan.nfiles = (int)nf;
	if (r->format == F_HTML && tlspa_report_html_start(r) < 0) {
		rc = TLSPA_EX_ERROR;
		goto done;
	}
	for (i = 0; r->format == F_HTML && i < r->fleet.n; i++)
		tlspa_report_html_tap(r, &fr.parts[i].part.scan.lines,
				      (int)fr.parts[i].base);
	/* Host i is merged (and its counters freed) as soon as it and the
	 * hosts before it are read, while the threads read on. */
	fleet_start(&fr, tlspa_fleet_workers(r->fleet.n));
	for (i = 0; i < r->fleet.n && rc != TLSPA_EX_ERROR; i++) {
		fleet_wait(&fr, i);
		st = host_end(r, &fr.parts[i], &agg);
		bad += st != 0 || r->hostev[i].breaks || r->hostev[i].wrong;
		rc = st > rc ? st : rc;
		records += fr.parts[i].part.scan.records;
		outside += fr.parts[i].part.scan.outside;
		host_free(&fr.parts[i]);
		merged = i + 1;
	}
	fleet_join(&fr);
	memset(&r->scan, 0, sizeof(r->scan));
	r->scan.since = keep.since;
	r->scan.until = keep.until;
	r->scan.files = r->allfiles;
	r->scan.nfiles = (int)nf;
	r->scan.records = records;
	r->scan.outside = outside;
	r->scan.chain = agg;
	if (bad == 0 && !agg.unkeyed)
		snprintf(r->evidence, sizeof(r->evidence),
			 "verified: %zu hosts, %llu records, each host's "
			 "chain on its own",
			 r->fleet.n, agg.records);
	else
		snprintf(r->evidence, sizeof(r->evidence),
			 "NOT VERIFIED: %llu of %zu hosts%s", bad, r->fleet.n,
			 agg.unkeyed ? "; hashes not checked on some (no key)"
				     : "");
	goto done;
oom:
	fprintf(stderr, "tlspolicy-audit: out of memory\n");
	rc = TLSPA_EX_ERROR;
done:
	for (i = merged; fr.parts != NULL && i < r->fleet.n; i++)
		host_free(&fr.parts[i]);
	free(fr.parts);
	return rc;
}

int
tlspa_report_main(int argc, char **argv)
{
	struct tlspa_report r;
	int rc, got, at = tlspa_fleet_find(argc, argv), st;

	memset(&r, 0, sizeof(r));
	counters_init(&r);
	if (at > 0 && (rc = tlspa_fleet_parse(&r.fleet, argc, argv, at)) != 0)
		goto done;
	if ((rc = report_options(&r, at > 0 ? at : argc, argv)) != 0)
		goto done;
	if (at > 0) {
		if ((st = report_fleet(&r)) == TLSPA_EX_ERROR) {
			rc = st;
			goto done;
		}
		rc = r.format == F_HTML ? tlspa_report_html_write(&r)
					: tlspa_report_write(&r);
		if (rc == 0)
			rc = st;
		goto done;
	}
	r.scan.files = argv + optind;
	r.scan.nfiles = argc - optind;
	r.scan.key = &r.key;
	r.scan.chain.anchors = r.anchors;
	r.scan.chain.nanchors = r.nanchors;
	if (r.format == F_HTML && tlspa_report_html_start(&r) < 0) {
		rc = TLSPA_EX_ERROR;
		goto done;
	}
	while ((got = tlspa_scan_next(&r.scan)) > 0)
		count_record(&r, r.scan.rec, r.scan.ms);
	if (got < 0) {
		rc = TLSPA_EX_ERROR;
		goto done;
	}
	tlspa_scan_evidence(&r.scan, r.evidence, sizeof(r.evidence));
	if ((rc = r.format == F_HTML ? tlspa_report_html_write(&r)
				     : tlspa_report_write(&r)) == 0)
		rc = tlspa_scan_status(&r.scan.chain, r.ignore_breaks);
done:
	report_free(&r);
	return rc;
}
