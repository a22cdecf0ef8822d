/*
 * show.c - tlspolicy-audit show: find records and print them for people.
 *
 * Filters select records by what an investigation starts from: a queue
 * id from the MTA's log, our transaction id, an address or a domain, an
 * action, a record type, a time window. Options of the same kind are
 * alternatives (any may match); options of different kinds must all
 * match. Each selected record is printed as a labelled block; every
 * value passes through tlspa_text_put_safe, so a HELO name or a certificate
 * subject chosen by an attacker cannot move the cursor, recolour the
 * terminal or hide text. Redacted values show as their digest. With
 * --json the selected lines are printed exactly as they are in the file.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "body.h"
#include "tool.h"

struct strlist {
	const char **v;
	size_t n;
};

struct show {
	struct strlist qid, txid, domain, sender, rcpt, action, type;
	int json, ignore_breaks;
	struct tlsp_chain_key key;
	struct tlspa_scan scan;
	unsigned long long shown;
};

/* ============================================================ options */

static int
list_add(struct strlist *l, const char *s)
{
	const char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return -1;
	l->v = nv;
	l->v[l->n++] = s;
	return 0;
}

static struct strlist *
option_list(struct show *sh, int c)
{
	switch (c) {
	case 'Q':
		return &sh->qid;
	case 'X':
		return &sh->txid;
	case 'd':
		return &sh->domain;
	case 's':
		return &sh->sender;
	case 'r':
		return &sh->rcpt;
	case 'a':
		return &sh->action;
	case 't':
		return &sh->type;
	}
	return NULL;
}

static int
time_option(const char *name, const char *arg, int is_until, int64_t *ms)
{
	if (tlspa_time_arg(arg, is_until, ms) == 0)
		return 0;
	fprintf(stderr,
		"tlspolicy-audit: --%s %s: expected YYYY-MM-DD or "
		"RFC 3339 (2026-11-01T08:00:00Z)\n",
		name, arg);
	return -1;
}

static int
show_options(struct show *sh, int argc, char **argv)
{
	static const struct option opts[] = {
		{"queue-id", required_argument, NULL, 'Q'},
		{"txid", required_argument, NULL, 'X'},
		{"domain", required_argument, NULL, 'd'},
		{"sender", required_argument, NULL, 's'},
		{"recipient", required_argument, NULL, 'r'},
		{"action", required_argument, NULL, 'a'},
		{"type", required_argument, NULL, 't'},
		{"since", required_argument, NULL, 'S'},
		{"until", required_argument, NULL, 'U'},
		{"tz", required_argument, NULL, 'z'},
		{"json", no_argument, NULL, 'j'},
		{"key", required_argument, NULL, 'k'},
		{"allow-empty", no_argument, NULL, 'E'},
		{"ignore-breaks", no_argument, NULL, 'I'},
		{NULL, 0, NULL, 0},
	};
	const char *since = NULL, *until = NULL, *tz = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			sh->json = 1;
		else if (c == 'E')
			sh->scan.allow_empty = 1;
		else if (c == 'I')
			sh->ignore_breaks = 1;
		else if (c == 'k') {
			if (tlspa_tool_key(&sh->key, optarg) < 0)
				return TLSPA_EX_ERROR;
		} else if (c == 'S')
			since = optarg;
		else if (c == 'U')
			until = optarg;
		else if (c == 'z')
			tz = optarg;
		else if (option_list(sh, c) == NULL)
			return tlspa_tool_usage("show");
		else if (list_add(option_list(sh, c), optarg) < 0)
			return TLSPA_EX_ERROR;
	}
	if (tlspa_time_zone(tz) < 0) {
		fprintf(stderr, "tlspolicy-audit: --tz %s: unknown time zone\n",
			tz);
		return TLSPA_EX_ERROR;
	}
	sh->scan.since = TLSPA_TIME_MIN;
	sh->scan.until = TLSPA_TIME_MAX;
	if ((since && time_option("since", since, 0, &sh->scan.since) < 0) ||
	    (until && time_option("until", until, 1, &sh->scan.until) < 0))
		return TLSPA_EX_ERROR;
	if (optind >= argc) {
		fprintf(stderr, "tlspolicy-audit show: no FILE given\n");
		return tlspa_tool_usage("show");
	}
	return 0;
}

/* ========================================================== matching */

/* An address without its angle brackets. */
static void
bare(const char *s, size_t n, const char **b, size_t *bn)
{
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	*b = s;
	*bn = n;
}

static int
addr_is(const struct tlspa_jv *v, const char *want)
{
	const char *a, *w;
	size_t an, wn;

	if (v == NULL || v->type != TLSPA_J_STR)
		return 0;
	bare(v->s, v->len, &a, &an);
	bare(want, strlen(want), &w, &wn);
	return an == wn && strncasecmp(a, w, an) == 0;
}

static int
addr_in_domain(const struct tlspa_jv *v, const char *pattern)
{
	char dom[256];

	if (v == NULL || v->type != TLSPA_J_STR ||
	    tlspa_text_domain(v->s, v->len, dom, sizeof(dom)) == 0)
		return 0;
	return tlspa_text_domain_match(dom, pattern);
}

static int
any_of(const struct strlist *l, const struct tlspa_jv *v,
       int (*match)(const struct tlspa_jv *, const char *))
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (match(v, l->v[i]))
			return 1;
	return 0;
}

static int
str_is(const struct tlspa_jv *v, const char *s)
{
	return tlspa_jv_is(v, s);
}

/* Our txid is CONNECTION.N: the connection id alone matches them all. */
static int
txid_is(const struct tlspa_jv *v, const char *s)
{
	size_t n = strlen(s);

	return tlspa_jv_is(v, s) ||
	       (v != NULL && v->type == TLSPA_J_STR && v->len > n &&
		memcmp(v->s, s, n) == 0 && v->s[n] == '.');
}

/* The verdict's action, or the record's own. */
static int
action_is(const struct tlspa_jv *rec, const char *a)
{
	const struct tlspa_jv *r, *sv;

	if (tlspa_jv_is(tlspa_jv_get(rec, "action"), a))
		return 1;
	sv = tlspa_jv_get(rec, "sender_verdict");
	if (tlspa_jv_is(tlspa_jv_get(sv, "action"), a))
		return 1;
	r = tlspa_jv_get(rec, "recipients");
	for (r = r != NULL && r->type == TLSPA_J_ARR ? r->kids : NULL; r;
	     r = r->next)
		if (tlspa_jv_is(tlspa_jv_get(tlspa_jv_get(r, "verdict"),
					     "action"),
				a))
			return 1;
	return 0;
}

static int
rcpt_matches(const struct tlspa_jv *rec, const struct strlist *l,
	     int (*match)(const struct tlspa_jv *, const char *))
{
	const struct tlspa_jv *r = tlspa_jv_get(rec, "recipients");

	for (r = r != NULL && r->type == TLSPA_J_ARR ? r->kids : NULL; r;
	     r = r->next)
		if (any_of(l, tlspa_jv_get(r, "addr"), match))
			return 1;
	return 0;
}

static int
show_match(const struct show *sh, const struct tlspa_jv *rec)
{
	size_t i;
	int ok;

	if (sh->type.n && !any_of(&sh->type, tlspa_jv_get(rec, "type"), str_is))
		return 0;
	if (sh->qid.n &&
	    !any_of(&sh->qid, tlspa_jv_get(rec, "queue_id"), str_is))
		return 0;
	if (sh->txid.n &&
	    !any_of(&sh->txid, tlspa_jv_get(rec, "txid"), txid_is))
		return 0;
	if (sh->sender.n &&
	    !any_of(&sh->sender, tlspa_jv_get(rec, "sender"), addr_is))
		return 0;
	if (sh->rcpt.n && !rcpt_matches(rec, &sh->rcpt, addr_is))
		return 0;
	if (sh->domain.n && !rcpt_matches(rec, &sh->domain, addr_in_domain) &&
	    !any_of(&sh->domain, tlspa_jv_get(rec, "sender"), addr_in_domain))
		return 0;
	for (i = 0, ok = sh->action.n == 0; i < sh->action.n && !ok; i++)
		ok = action_is(rec, sh->action.v[i]);
	return ok;
}

/* ========================================================== printing */

static void
field(const char *indent, const char *label, const struct tlspa_jv *v)
{
	if (v == NULL)
		return;
	printf("%s%-*s ", indent, 12 - (int)strlen(indent), label);
	tlspa_text_put_value(stdout, v);
	putchar('\n');
}

/* A field that says nothing when null is left out. */
static void
field_set(const char *indent, const char *label, const struct tlspa_jv *v)
{
	if (v != NULL && v->type != TLSPA_J_NULL)
		field(indent, label, v);
}

/* "a b c" of a list of strings. */
static void
put_list(const struct tlspa_jv *l)
{
	const struct tlspa_jv *e;

	if (l == NULL || l->type != TLSPA_J_ARR || l->len == 0) {
		fputs("-", stdout);
		return;
	}
	for (e = l->kids; e != NULL; e = e->next) {
		tlspa_text_put_value(stdout, e);
		if (e->next != NULL)
			putchar(' ');
	}
}

static void
show_tls(const struct tlspa_jv *tls)
{
	const struct tlspa_jv *fs;

	if (tls == NULL)
		return;
	printf("tls          ");
	tlspa_text_put_value(stdout, tlspa_jv_get(tls, "version"));
	printf(", cipher ");
	tlspa_text_put_value(stdout, tlspa_jv_get(tls, "cipher"));
	printf(", bits ");
	tlspa_text_put_value(stdout, tlspa_jv_get(tls, "bits"));
	fs = tlspa_jv_get(tls, "forward_secrecy");
	printf(", forward secrecy %s\n", fs == NULL || fs->type == TLSPA_J_NULL
						 ? "unknown"
					 : fs->type == TLSPA_J_TRUE ? "yes"
								    : "no");
	field("", "cert", tlspa_jv_get(tls, "cert"));
	field_set("  ", "subject", tlspa_jv_get(tls, "subject"));
	field_set("  ", "issuer", tlspa_jv_get(tls, "issuer"));
	field_set("  ", "verify", tlspa_jv_get(tls, "verify"));
	field_set("  ", "fingerprint", tlspa_jv_get(tls, "fingerprint"));
	printf("  %-10s ", "observed");
	put_list(tlspa_jv_get(tls, "observed"));
	putchar('\n');
}

static void
show_failure(const struct tlspa_jv *f)
{
	const struct tlspa_jv *obs;

	printf("      ");
	tlspa_text_put_value(stdout, tlspa_jv_get(f, "requirement"));
	printf(": ");
	tlspa_text_put_value(stdout, tlspa_jv_get(f, "status"));
	printf(" (required ");
	tlspa_text_put_value(stdout, tlspa_jv_get(f, "required"));
	printf(", observed ");
	obs = tlspa_jv_get(f, "observed");
	/* client_addr, client_name: the evidence is the client line */
	if (obs != NULL && obs->type == TLSPA_J_NULL)
		printf("the client");
	else
		tlspa_text_put_value(stdout, obs);
	printf(")\n");
}

static void
show_rule(const struct tlspa_jv *r)
{
	const struct tlspa_jv *f = tlspa_jv_get(r, "failures");

	printf("    rule ");
	tlspa_text_put_value(stdout, tlspa_jv_get(r, "rule"));
	printf(": ");
	tlspa_text_put_value(stdout, tlspa_jv_get(r, "status"));
	if (tlspa_jv_get(r, "exempt") != NULL &&
	    tlspa_jv_get(r, "exempt")->type == TLSPA_J_TRUE)
		printf(" (exempt)");
	printf(", action ");
	tlspa_text_put_value(stdout, tlspa_jv_get(r, "action"));
	printf(", mode ");
	tlspa_text_put_value(stdout, tlspa_jv_get(r, "mode"));
	if (tlspa_jv_get(r, "enforce_from") != NULL) {
		printf(" (enforces from ");
		tlspa_text_put_value(stdout, tlspa_jv_get(r, "enforce_from"));
		putchar(')');
	}
	putchar('\n');
	for (f = f != NULL && f->type == TLSPA_J_ARR ? f->kids : NULL; f;
	     f = f->next)
		show_failure(f);
	/* format 2: what an exception of the policy waived */
	f = tlspa_jv_get(r, "waived");
	for (f = f != NULL && f->type == TLSPA_J_ARR ? f->kids : NULL; f;
	     f = f->next) {
		printf("      waived by exception ");
		tlspa_text_put_value(stdout, tlspa_jv_get(f, "exception"));
		printf(" (until ");
		tlspa_text_put_value(stdout, tlspa_jv_get(f, "expires"));
		printf("):\n  ");
		show_failure(f);
	}
}

/* 1 if the list l holds the string s. */
static int
list_has(const struct tlspa_jv *l, const char *s)
{
	const struct tlspa_jv *e;

	for (e = l != NULL && l->type == TLSPA_J_ARR ? l->kids : NULL; e;
	     e = e->next)
		if (tlspa_jv_is(e, s))
			return 1;
	return 0;
}

/*
 * What decided a verdict that names no rule: `decided_by` is the rule
 * whose enforced action won, so null means no rule applied, every rule
 * exempted the session, or the failed rules asked for nothing that was
 * enforced (monitor mode, or action accept); the verdict's action is
 * then the engine's default, accept.
 */
static void
put_decided(const struct tlspa_jv *v)
{
	const struct tlspa_jv *by = tlspa_jv_get(v, "decided_by"), *r;
	const struct tlspa_jv *flags = tlspa_jv_get(v, "flags");
	int failed = 0;

	if (by != NULL && by->type != TLSPA_J_NULL) {
		printf("decided by ");
		tlspa_text_put_value(stdout, by);
		return;
	}
	r = tlspa_jv_get(v, "rules");
	for (r = r != NULL && r->type == TLSPA_J_ARR ? r->kids : NULL; r;
	     r = r->next)
		failed |= tlspa_jv_is(tlspa_jv_get(r, "status"),
				      tlsp_body_status_name(TLSP_FAIL));
	if (list_has(flags, "no_rule"))
		printf("no rule applied");
	else if (list_has(flags, "session_exempt"))
		printf("every rule exempted the session");
	else if (failed)
		printf("no failed rule's action was enforced");
	else
		printf("every rule passed");
}

static void
show_verdict(const char *label, const struct tlspa_jv *v)
{
	const struct tlspa_jv *r;
	const char *act;

	if (v == NULL)
		return;
	printf("  %-10s ", label);
	if (v->type != TLSPA_J_OBJ) {
		tlspa_text_put_value(stdout, v);
		putchar('\n');
		return;
	}
	act = tlspa_jv_str(tlspa_jv_get(v, "action"));
	tlspa_text_put_value(stdout, tlspa_jv_get(v, "action"));
	if (!tlspa_jv_is(tlspa_jv_get(v, "would_action"),
			 act != NULL ? act : "")) {
		printf(" (monitor: would ");
		tlspa_text_put_value(stdout, tlspa_jv_get(v, "would_action"));
		putchar(')');
	}
	printf(", ");
	put_decided(v);
	printf(", flags ");
	put_list(tlspa_jv_get(v, "flags"));
	putchar('\n');
	r = tlspa_jv_get(v, "rules");
	for (r = r != NULL && r->type == TLSPA_J_ARR ? r->kids : NULL; r;
	     r = r->next)
		show_rule(r);
}

static void
show_recipients(const struct tlspa_jv *l)
{
	const struct tlspa_jv *r;

	if (l == NULL || l->type != TLSPA_J_ARR)
		return;
	for (r = l->kids; r != NULL; r = r->next) {
		field("", "recipient", tlspa_jv_get(r, "addr"));
		show_verdict("verdict", tlspa_jv_get(r, "verdict"));
		field_set("  ", "reply", tlspa_jv_get(r, "reply"));
	}
}

static const char *const known[] = {
	"seq",		"time",		  "host",	"type",	  "txid",
	"queue_id",	"client",	  "helo",	"sender", "mta",
	"tls",		"sender_verdict", "recipients", "action", "mode",
	"would_action", "reply",	  "policy",	"detail", "salt",
	"prev",		"hash",
};

/* Members this version does not know are shown too, not hidden. */
static void
show_others(const struct tlspa_jv *rec)
{
	const struct tlspa_jv *m;
	char label[64];
	size_t i;

	for (m = rec->kids; m != NULL; m = m->next) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (m->keylen == strlen(known[i]) &&
			    memcmp(m->key, known[i], m->keylen) == 0)
				break;
		if (i < sizeof(known) / sizeof(known[0]))
			continue;
		field("",
		      tlspa_text_safe(m->key, m->keylen, label, sizeof(label)),
		      m);
	}
}

static void
show_record(const struct tlspa_reader_line *ln, const struct tlspa_jv *rec)
{
	const struct tlspa_jv *c = tlspa_jv_get(rec, "client");

	printf("%s:%llu: seq ", ln->path, ln->lineno);
	tlspa_text_put_value(stdout, tlspa_jv_get(rec, "seq"));
	putchar(' ');
	tlspa_text_put_value(stdout, tlspa_jv_get(rec, "time"));
	putchar(' ');
	tlspa_text_put_value(stdout, tlspa_jv_get(rec, "type"));
	printf(" on ");
	tlspa_text_put_value(stdout, tlspa_jv_get(rec, "host"));
	putchar('\n');
	field("", "queue id", tlspa_jv_get(rec, "queue_id"));
	field("", "txid", tlspa_jv_get(rec, "txid"));
	if (c != NULL) {
		printf("%-12s ", "client");
		tlspa_text_put_value(stdout, tlspa_jv_get(c, "name"));
		printf(" [");
		tlspa_text_put_value(stdout, tlspa_jv_get(c, "addr"));
		printf("]\n");
	}
	field("", "helo", tlspa_jv_get(rec, "helo"));
	field("", "sender", tlspa_jv_get(rec, "sender"));
	field("", "mta", tlspa_jv_get(rec, "mta"));
	show_tls(tlspa_jv_get(rec, "tls"));
	if (tlspa_jv_get(rec, "sender_verdict") != NULL) {
		printf("sender rules\n");
		show_verdict("verdict", tlspa_jv_get(rec, "sender_verdict"));
	}
	show_recipients(tlspa_jv_get(rec, "recipients"));
	field("", "action", tlspa_jv_get(rec, "action"));
	field("", "would action", tlspa_jv_get(rec, "would_action"));
	field("", "mode", tlspa_jv_get(rec, "mode"));
	field("", "reply", tlspa_jv_get(rec, "reply"));
	field("", "policy", tlspa_jv_get(rec, "policy"));
	field("", "detail", tlspa_jv_get(rec, "detail"));
	show_others(rec);
	putchar('\n');
}

int
tlspa_show_main(int argc, char **argv)
{
	struct show sh;
	int rc, got;

	memset(&sh, 0, sizeof(sh));
	if ((rc = show_options(&sh, argc, argv)) != 0)
		goto done;
	sh.scan.files = argv + optind;
	sh.scan.nfiles = argc - optind;
	sh.scan.key = &sh.key;
	while ((got = tlspa_scan_next(&sh.scan)) > 0) {
		if (!show_match(&sh, sh.scan.rec))
			continue;
		sh.shown++;
		if (sh.json) {
			fwrite(sh.scan.line.p, 1, sh.scan.line.len, stdout);
			putchar('\n');
		} else
			show_record(&sh.scan.line, sh.scan.rec);
	}
	rc = got < 0 ? TLSPA_EX_ERROR
		     : tlspa_scan_status(&sh.scan.chain, sh.ignore_breaks);
	if (!sh.json && sh.shown == 0 && got == 0 &&
	    sh.scan.records + sh.scan.outside > 0)
		fprintf(stderr,
			"tlspolicy-audit: no record matched (%llu "
			"read)\n",
			sh.scan.records + sh.scan.outside);
done:
	tlspa_scan_close(&sh.scan);
	tlsp_chain_key_free(&sh.key);
	free(sh.qid.v);
	free(sh.txid.v);
	free(sh.domain.v);
	free(sh.sender.v);
	free(sh.rcpt.v);
	free(sh.action.v);
	free(sh.type.v);
	return rc;
}
