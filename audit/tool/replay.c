/*
 * replay.c - tlspolicy-audit replay: what a draft policy would have done
 * to the mail the log recorded.
 *
 * Every decision of the records in the chain (the sender's verdict of a
 * mail record, each recipient's verdict of a rcpt or message record) is
 * judged again by the engine the daemon links (policy/), from the facts
 * rebuilt out of the record (recfacts.c), and compared with the action
 * recorded. The daemon's stages are followed: a sender rule that refuses
 * at MAIL refuses every recipient; a mail record (refused at MAIL) has
 * no recipients, so when the draft leaves the decision to RCPT its
 * recipients are unknown and it is counted so, never guessed. A fact
 * the record does not hold (an older record, a redacted value) is tried
 * at both extremes, and the decision is counted as "cannot replay" when
 * they disagree. Memory grows with distinct rules, domains and clients,
 * never with records.
 */
#include <getopt.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "body.h"
#include "json.h"
#include "recfacts.h"
#include "report.h"

#define NA (TLSP_ACTION_REJECT + 1) /* actions */
#define TO_UNKNOWN NA		    /* "recipients unknown" */
#define NTO (NA + 1)
#define NEX 3	  /* examples per transition */
#define NREASON 8 /* distinct reasons for "cannot replay" */

/* An example of a transition: a decision, by its record. */
struct example {
	int64_t ms;
	char queue_id[64];
	char sender[256], rcpt[256], rule[128];
};

/* Changed decisions of one rule, domain or client, by transition. */
struct crow {
	struct tlspa_ent e;
	uint64_t changed;
	uint64_t tr[NA][NTO];
};

/* The record being judged. */
struct rec {
	const struct tlspa_jv *jv;
	int64_t ms;
	const char *sender; /* NULL when redacted or absent */
	char sdom[256], client[128];
	struct tlspa_recfacts rf;
	int facts_ok;
};

struct replay {
	struct tlspa_reading rd;
	const char *policy_path;
	struct tlsp_policy *draft;
	int as_enforced;
	unsigned fail_on; /* (1u << action) */
	uint64_t records, decisions, unchanged, changed, newly;
	uint64_t tr[NA][NTO];
	struct example ex[NA][NTO][NEX];
	struct {
		const char *why;
		uint64_t n;
	} cannot[NREASON];
	uint64_t cannot_n;
	struct tlspa_table rule, sender, rcpt, client;
	struct rec cur; /* the record being judged */
};

/* ========================================================== judging */

static int
refuses(enum tlsp_action a)
{
	return a == TLSP_ACTION_REJECT || a == TLSP_ACTION_DEFER;
}

/* The action of v as the replay counts it, and the rule behind it. */
static enum tlsp_action
verdict_action(const struct replay *rp, const struct tlsp_verdict *v,
	       const char **rule)
{
	enum tlsp_action a = rp->as_enforced ? v->would_action : v->action;
	size_t i;

	*rule = NULL;
	if (v->decided_by != NULL && v->action == a)
		*rule = tlsp_rule_name(v->decided_by);
	for (i = 0; *rule == NULL && a != TLSP_ACTION_ACCEPT && i < v->nrules;
	     i++)
		if (!v->r[i].exempt && v->r[i].action == a)
			*rule = tlsp_rule_name(v->r[i].rule);
	return a;
}

/*
 * An address as the engine reads it: a log kept with `addresses: domain`
 * holds "@domain", which the engine would take as unparsable (no local
 * part) and judge by the default rules only; rules are looked up by
 * domain, so any local part gives the same verdict.
 */
static const char *
engine_address(const char *a, char *buf, size_t bufsz)
{
	if (a == NULL || a[0] != '@')
		return a;
	snprintf(buf, bufsz, "x%s", a);
	return buf;
}

/*
 * One decision under the draft with facts f: the sender's verdict alone
 * (rcpt NULL: a mail record) or a recipient's. Returns the action, or
 * TO_UNKNOWN when a mail record's recipients would decide (the draft
 * lets the transaction past MAIL).
 */
static int
judge_once(const struct replay *rp, const struct tlsp_facts *f,
	   const char *sender, const char *rcpt, time_t at, const char **rule)
{
	char sbuf[TLSP_DOMAIN_MAX + 8], rbuf[TLSP_DOMAIN_MAX + 8];
	struct tlsp_verdict v;
	enum tlsp_action a;

	sender = engine_address(sender, sbuf, sizeof(sbuf));
	rcpt = engine_address(rcpt, rbuf, sizeof(rbuf));
	if (tlsp_evaluate_sender(rp->draft, f, sender, at, &v)) {
		a = verdict_action(rp, &v, rule);
		if (refuses(a))
			return a;
	}
	/* past MAIL, a mail record's recipients would decide: unknown */
	if (rcpt == NULL)
		return TO_UNKNOWN;
	tlsp_evaluate(rp->draft, f, sender, rcpt, at, &v);
	return verdict_action(rp, &v, rule);
}

/*
 * The same over every value the record leaves open (authenticated or
 * not, a listener listed or not): an unknown fact only ever adds or
 * removes exemptions, so the extremes bound every case between them.
 * Returns the action, or -1 when the extremes disagree.
 */
static int
judge(const struct replay *rp, const struct rec *r, const char *rcpt,
      const char **rule)
{
	static const char unlisted[] = "\001(not recorded)";
	/* at the record's time: schedules and exceptions as they were */
	time_t at = (time_t)(r->ms / 1000);
	struct tlsp_facts f;
	int auth, dmn, a, first = -1;

	if (!r->rf.auth_unknown && !r->rf.daemon_unknown)
		return judge_once(rp, &r->rf.f, r->sender, rcpt, at, rule);
	f = r->rf.f;
	for (auth = 0; auth < 1 + r->rf.auth_unknown; auth++)
		for (dmn = 0; dmn < 1 + r->rf.daemon_unknown; dmn++) {
			if (r->rf.auth_unknown)
				f.authenticated = auth;
			if (r->rf.daemon_unknown)
				snprintf(f.daemon_name, sizeof(f.daemon_name),
					 "%s", dmn ? unlisted : "");
			a = judge_once(rp, &f, r->sender, rcpt, at, rule);
			if (first >= 0 && a != first)
				return -1;
			first = a;
		}
	return first;
}

/* ========================================================= counting */

static void
cannot(struct replay *rp, const char *why)
{
	size_t i;

	rp->cannot_n++;
	for (i = 0; i < NREASON && rp->cannot[i].why != NULL; i++)
		if (rp->cannot[i].why == why)
			break;
	if (i == NREASON)
		i = NREASON - 1; /* the last takes the rest */
	if (rp->cannot[i].why == NULL)
		rp->cannot[i].why = why;
	rp->cannot[i].n++;
}

static void
add_crow(struct tlspa_table *t, const char *k, size_t kn, int from, int to)
{
	struct crow *w = tlspa_table_get(t, k, kn);

	if (w == NULL)
		return;
	w->changed++;
	w->tr[from][to]++;
}

/* Keeps the NEX newest examples of a transition (an empty slot has no
 * sender: every decision has a sender key). */
static void
add_example(struct example *ex, const struct rec *r, const char *rdom,
	    const char *rule)
{
	const struct tlspa_jv *q = tlspa_jv_get(r->jv, "queue_id");
	struct example *e = &ex[0];
	int i;

	for (i = 0; i < NEX && e->sender[0] != '\0'; i++)
		if (ex[i].sender[0] == '\0' || ex[i].ms < e->ms)
			e = &ex[i];
	if (e->sender[0] != '\0' && e->ms > r->ms)
		return;
	memset(e, 0, sizeof(*e));
	e->ms = r->ms;
	if (q != NULL && q->type == TLSPA_J_STR)
		snprintf(e->queue_id, sizeof(e->queue_id), "%s", q->s);
	snprintf(e->sender, sizeof(e->sender), "%s", r->sdom);
	snprintf(e->rcpt, sizeof(e->rcpt), "%s", rdom);
	snprintf(e->rule, sizeof(e->rule), "%s", rule);
}

/* One recorded decision: rcpt NULL for a mail record's sender verdict. */
static void
decision(struct replay *rp, const struct rec *r, const struct tlspa_jv *addr,
	 const struct tlspa_jv *verdict)
{
	const struct tlspa_jv *ra = tlspa_jv_get(verdict, "action");
	const struct tlspa_jv *rdb = tlspa_jv_get(verdict, "decided_by");
	const char *rcpt = NULL, *rule = NULL;
	char rdom[256] = "";
	int from, to;

	if (addr != NULL && addr->type == TLSPA_J_STR) {
		rcpt = addr->s;
		if (tlspa_text_domain(addr->s, addr->len, rdom, sizeof(rdom)) ==
		    0)
			snprintf(rdom, sizeof(rdom), "(no domain)");
	} else if (addr != NULL)
		snprintf(rdom, sizeof(rdom), "(redacted)");
	if (!tlspa_reading_wants(&rp->rd, r->sdom) &&
	    !tlspa_reading_wants(&rp->rd, rdom))
		return;
	rp->decisions++;
	from = ra != NULL && ra->type == TLSPA_J_STR ? tlsp_action_lookup(ra->s)
						     : -1;
	if (from < 0) {
		cannot(rp, "no recorded action");
		return;
	}
	if (!r->facts_ok) {
		cannot(rp, r->rf.why);
		return;
	}
	if (r->sender == NULL) {
		cannot(rp, "the sender is redacted");
		return;
	}
	if (addr != NULL && rcpt == NULL) {
		cannot(rp, "the recipient is redacted");
		return;
	}
	if ((to = judge(rp, r, rcpt, &rule)) < 0) {
		cannot(rp, "a fact the record lacks would decide "
			   "(authenticated, daemon_name)");
		return;
	}
	if (to == from) {
		rp->unchanged++;
		return;
	}
	/* the rule behind the change: the draft's when it acts, else the
	 * recorded one that no longer does */
	if (rule == NULL && rdb != NULL && rdb->type == TLSPA_J_STR)
		rule = rdb->s;
	if (rule == NULL)
		rule = "(none)";
	rp->changed++;
	rp->tr[from][to]++;
	if (to < NA && (rp->fail_on & (1u << to)) &&
	    !(rp->fail_on & (1u << from)))
		rp->newly++;
	add_example(rp->ex[from][to], r, rdom, rule);
	add_crow(&rp->rule, rule, strlen(rule), from, to);
	add_crow(&rp->sender, r->sdom, strlen(r->sdom), from, to);
	if (rdom[0] != '\0')
		add_crow(&rp->rcpt, rdom, strlen(rdom), from, to);
	add_crow(&rp->client, r->client, strlen(r->client), from, to);
}

static void
count_record(struct replay *rp, const struct tlspa_jv *jv, int64_t ms)
{
	const struct tlspa_jv *s = tlspa_jv_get(jv, "sender");
	const struct tlspa_jv *c = tlspa_jv_get(tlspa_jv_get(jv, "client"),
						"addr");
	const struct tlspa_jv *rc;
	struct rec *r;
	int type = tlspa_reading_decision(jv);

	if (type < 0)
		return;
	r = &rp->cur;
	memset(r, 0, offsetof(struct rec, rf));
	r->jv = jv;
	r->ms = ms;
	rp->records++;
	tlspa_text_sender_key(s, r->sdom, sizeof(r->sdom));
	if (s != NULL && s->type == TLSPA_J_STR && strlen(s->s) == s->len)
		r->sender = s->s;
	snprintf(r->client, sizeof(r->client), "%s",
		 c != NULL && c->type == TLSPA_J_STR ? c->s
		 : c != NULL			     ? "(redacted)"
						     : "(no address)");
	r->facts_ok = tlspa_recfacts_read(jv, &r->rf) == 0;
	if (type == TLSP_EV_MAIL) {
		decision(rp, r, NULL, tlspa_jv_get(jv, "sender_verdict"));
		return;
	}
	rc = tlspa_jv_get(jv, "recipients");
	for (rc = rc != NULL && rc->type == TLSPA_J_ARR ? rc->kids : NULL; rc;
	     rc = rc->next)
		decision(rp, r, tlspa_jv_get(rc, "addr"),
			 tlspa_jv_get(rc, "verdict"));
}

/* ========================================================== options */

static int
parse_fail_on(struct replay *rp, const char *arg)
{
	char buf[256], *tok, *save = NULL;
	int a;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if ((a = tlsp_action_lookup(tok)) < 0 ||
		    a == TLSP_ACTION_ACCEPT) {
			fprintf(stderr,
				"tlspolicy-audit: --fail-on %s: expected "
				"actions among tag, quarantine, defer, "
				"reject\n",
				tok);
			return -1;
		}
		rp->fail_on |= 1u << a;
	}
	return rp->fail_on ? 0 : -1;
}

static int
load_draft(struct replay *rp)
{
	struct tlsp_diags d = {0};
	char line[1024];
	size_t i;

	rp->draft = tlsp_policy_load(rp->policy_path, TLSP_MTA_UNKNOWN, &d);
	for (i = 0; i < d.count; i++)
		if (rp->draft == NULL || !d.v[i].is_warning)
			fprintf(stderr, "%s\n",
				tlsp_diag_format(&d.v[i], line, sizeof(line)));
	if (rp->draft == NULL)
		fprintf(stderr,
			"tlspolicy-audit: --policy %s: the draft does not "
			"compile (%zu error%s): nothing replayed\n",
			rp->policy_path, d.errors, d.errors == 1 ? "" : "s");
	tlsp_diags_free(&d);
	return rp->draft != NULL ? 0 : -1;
}

static int
replay_options(struct replay *rp, int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"fail-on", required_argument, NULL, 'F'},
		{"as-enforced", no_argument, NULL, 'A'},
		TLSPA_READING_OPTIONS,
		TLSPA_OUTPUT_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int c, r;

	rp->rd.top = 20;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((r = tlspa_reading_option(&rp->rd, "replay", c, optarg)) <
		    0)
			return -r;
		if (r > 0)
			continue;
		if (c == 'p')
			rp->policy_path = optarg;
		else if (c == 'A')
			rp->as_enforced = 1;
		else if (c == 'F') {
			if (parse_fail_on(rp, optarg) < 0)
				return TLSPA_EX_ERROR;
		} else
			return tlspa_tool_usage("replay");
	}
	if (rp->policy_path == NULL) {
		fprintf(stderr, "tlspolicy-audit replay: --policy DRAFT is "
				"required\n");
		return tlspa_tool_usage("replay");
	}
	if ((r = tlspa_reading_start(&rp->rd, "replay", argc, argv)) != 0)
		return r;
	return load_draft(rp) < 0 ? TLSPA_EX_ERROR : 0;
}

/* ============================================================ output */

static const char *
to_name(int to)
{
	return to == TO_UNKNOWN ? "recipients unknown"
				: tlsp_action_name((enum tlsp_action)to);
}

static int
by_changed(const void *a, const void *b)
{
	const struct crow *x = *(const struct crow *const *)a;
	const struct crow *y = *(const struct crow *const *)b;

	if (x->changed != y->changed)
		return x->changed > y->changed ? -1 : 1;
	return tlspa_table_by_key(a, b);
}

/* The examples of a transition, newest first. */
static size_t
examples(const struct example *ex, const struct example **out)
{
	size_t n = 0, i, j;

	for (i = 0; i < NEX; i++)
		if (ex[i].sender[0] != '\0')
			out[n++] = &ex[i];
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && out[j]->ms > out[j - 1]->ms; j--) {
			const struct example *t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static void
text_safe(const char *s)
{
	tlspa_text_put_safe(stdout, s, strlen(s));
}

static void
text_transitions(const uint64_t tr[NA][NTO], const char *sep)
{
	int f, t;

	for (f = 0; f < NA; f++)
		for (t = 0; t < NTO; t++)
			if (tr[f][t]) {
				printf("%s%s->%s %" PRIu64, sep,
				       tlsp_action_name((enum tlsp_action)f),
				       to_name(t), tr[f][t]);
				sep = ", ";
			}
}

static void
text_table(const struct replay *rp, const char *title,
	   const struct tlspa_table *t, struct tlspa_ent **v)
{
	size_t i, n = rp->rd.top < t->n ? rp->rd.top : t->n;
	const struct crow *w;

	if (t->n == 0)
		return;
	printf("\nChanged, by %s:\n", title);
	for (i = 0; i < n; i++) {
		w = (const struct crow *)v[i];
		printf("  ");
		tlspa_text_put_safe(stdout, w->e.key, w->e.klen);
		printf(": %" PRIu64 " (", w->changed);
		text_transitions(w->tr, "");
		printf(")\n");
	}
	if (n < t->n)
		printf("  (%zu more not shown: --top)\n", t->n - n);
}

static void
write_text(const struct replay *rp, struct tlspa_ent **v[4])
{
	const struct example *ex[NEX];
	char when[32];
	size_t i, k, n;
	int f, t;

	printf("tlspolicy-audit replay: draft %s (policy %.16s...)%s\n",
	       rp->policy_path, tlsp_policy_hash(rp->draft),
	       rp->as_enforced ? ", monitor rules as enforced" : "");
	printf("evidence: %s\n", rp->rd.evidence);
	printf("decision records: %" PRIu64 "; decisions re-evaluated: "
	       "%" PRIu64 "\n",
	       rp->records, rp->decisions);
	printf("unchanged: %" PRIu64 "; changed: %" PRIu64
	       "; cannot replay: %" PRIu64 "\n",
	       rp->unchanged, rp->changed, rp->cannot_n);
	for (i = 0; i < NREASON && rp->cannot[i].why != NULL; i++)
		printf("  cannot replay: %s: %" PRIu64 "\n", rp->cannot[i].why,
		       rp->cannot[i].n);
	if (rp->changed)
		printf("\nChanges (recorded -> draft), with the newest "
		       "examples:\n");
	for (f = 0; f < NA; f++)
		for (t = 0; t < NTO; t++) {
			if (!rp->tr[f][t])
				continue;
			printf("  %s -> %s: %" PRIu64 "\n",
			       tlsp_action_name((enum tlsp_action)f),
			       to_name(t), rp->tr[f][t]);
			n = examples(rp->ex[f][t], ex);
			for (k = 0; k < n; k++) {
				tlspa_time_format(ex[k]->ms, when);
				printf("    %s queue id ", when);
				text_safe(ex[k]->queue_id[0] ? ex[k]->queue_id
							     : "-");
				printf(", from ");
				text_safe(ex[k]->sender);
				printf(" to ");
				text_safe(ex[k]->rcpt[0] ? ex[k]->rcpt
							 : "(at MAIL)");
				printf(", rule ");
				text_safe(ex[k]->rule);
				putchar('\n');
			}
		}
	text_table(rp, "rule", &rp->rule, v[0]);
	text_table(rp, "sender domain", &rp->sender, v[1]);
	text_table(rp, "recipient domain", &rp->rcpt, v[2]);
	text_table(rp, "client", &rp->client, v[3]);
}

static void
csv_row(const char *section, const char *key, size_t klen, int f, int t,
	uint64_t n)
{
	printf("%s,", section);
	tlspa_report_csv_cell(key, klen);
	printf(",%s,%s,%" PRIu64 "\n",
	       f < 0 ? "" : tlsp_action_name((enum tlsp_action)f),
	       t < 0 ? "" : to_name(t), n);
}

static void
csv_table(const char *section, const struct replay *rp,
	  const struct tlspa_table *tab, struct tlspa_ent **v)
{
	size_t i, n = rp->rd.top < tab->n ? rp->rd.top : tab->n;
	const struct crow *w;
	int f, t;

	for (i = 0; i < n; i++) {
		w = (const struct crow *)v[i];
		for (f = 0; f < NA; f++)
			for (t = 0; t < NTO; t++)
				if (w->tr[f][t])
					csv_row(section, w->e.key, w->e.klen, f,
						t, w->tr[f][t]);
	}
}

static void
write_csv(const struct replay *rp, struct tlspa_ent **v[4])
{
	size_t i;
	int f, t;

	printf("section,key,from,to,count\n");
	csv_row("summary", "records", 7, -1, -1, rp->records);
	csv_row("summary", "decisions", 9, -1, -1, rp->decisions);
	csv_row("summary", "unchanged", 9, -1, -1, rp->unchanged);
	csv_row("summary", "changed", 7, -1, -1, rp->changed);
	csv_row("summary", "cannot replay", 13, -1, -1, rp->cannot_n);
	for (i = 0; i < NREASON && rp->cannot[i].why != NULL; i++)
		csv_row("cannot", rp->cannot[i].why, strlen(rp->cannot[i].why),
			-1, -1, rp->cannot[i].n);
	for (f = 0; f < NA; f++)
		for (t = 0; t < NTO; t++)
			if (rp->tr[f][t])
				csv_row("transition", "", 0, f, t,
					rp->tr[f][t]);
	csv_table("rule", rp, &rp->rule, v[0]);
	csv_table("sender", rp, &rp->sender, v[1]);
	csv_table("recipient", rp, &rp->rcpt, v[2]);
	csv_table("client", rp, &rp->client, v[3]);
	csv_row("evidence", rp->rd.evidence, strlen(rp->rd.evidence), -1, -1,
		rp->rd.scan.chain.breaks);
}

static void
j_transitions(struct tlsp_jbuf *jb, const struct replay *rp,
	      const uint64_t tr[NA][NTO], const struct example (*ex)[NTO][NEX])
{
	const struct example *e[NEX];
	char when[32];
	size_t k, n;
	int f, t;

	tlsp_jb_key(jb, "transitions");
	tlsp_jb_open(jb, '[');
	for (f = 0; f < NA; f++)
		for (t = 0; t < NTO; t++) {
			if (!tr[f][t])
				continue;
			tlsp_jb_open(jb, '{');
			tlsp_jb_kstr(jb, "from",
				     tlsp_action_name((enum tlsp_action)f));
			tlsp_jb_kstr(jb, "to", to_name(t));
			tlsp_jb_key(jb, "count");
			tlsp_jb_uint(jb, tr[f][t]);
			if (ex != NULL) {
				tlsp_jb_key(jb, "examples");
				tlsp_jb_open(jb, '[');
				n = examples(ex[f][t], e);
				for (k = 0; k < n; k++) {
					tlsp_jb_open(jb, '{');
					tlspa_time_format(e[k]->ms, when);
					tlsp_jb_kstr(jb, "time", when);
					tlsp_jb_kstr(jb, "queue_id",
						     e[k]->queue_id[0]
							     ? e[k]->queue_id
							     : NULL);
					tlsp_jb_kstr(jb, "sender_domain",
						     e[k]->sender);
					tlsp_jb_kstr(jb, "recipient_domain",
						     e[k]->rcpt[0] ? e[k]->rcpt
								   : NULL);
					tlsp_jb_kstr(jb, "rule", e[k]->rule);
					tlsp_jb_close(jb, '}');
				}
				tlsp_jb_close(jb, ']');
			}
			tlsp_jb_close(jb, '}');
		}
	tlsp_jb_close(jb, ']');
	(void)rp;
}

static void
j_table(struct tlsp_jbuf *jb, const struct replay *rp, const char *key,
	const struct tlspa_table *tab, struct tlspa_ent **v)
{
	size_t i, n = rp->rd.top < tab->n ? rp->rd.top : tab->n;
	const struct crow *w;

	tlsp_jb_key(jb, key);
	tlsp_jb_open(jb, '[');
	for (i = 0; i < n; i++) {
		w = (const struct crow *)v[i];
		tlsp_jb_open(jb, '{');
		tlsp_jb_key(jb, "key");
		tlsp_jb_strn(jb, w->e.key, w->e.klen);
		tlsp_jb_key(jb, "changed");
		tlsp_jb_uint(jb, w->changed);
		j_transitions(jb, rp, w->tr, NULL);
		tlsp_jb_close(jb, '}');
		tlspa_report_json_flush(jb, 0);
	}
	tlsp_jb_close(jb, ']');
}

static int
write_json(const struct replay *rp, struct tlspa_ent **v[4])
{
	const struct tlspa_follow *fo = &rp->rd.scan.chain;
	struct tlsp_jbuf jb;
	size_t i;
	int oom;

	tlsp_jb_init(&jb);
	tlsp_jb_open(&jb, '{');
	tlsp_jb_kstr(&jb, "draft", rp->policy_path);
	tlsp_jb_kstr(&jb, "draft_policy", tlsp_policy_hash(rp->draft));
	tlsp_jb_kbool(&jb, "as_enforced", rp->as_enforced);
	tlsp_jb_key(&jb, "evidence");
	tlsp_jb_open(&jb, '{');
	tlsp_jb_kbool(&jb, "verified", fo->breaks == 0 && !fo->unkeyed);
	tlsp_jb_kbool(&jb, "hashes_checked", !fo->unkeyed);
	tlsp_jb_kstr(&jb, "summary", rp->rd.evidence);
	tlsp_jb_close(&jb, '}');
	tlsp_jb_key(&jb, "records");
	tlsp_jb_uint(&jb, rp->records);
	tlsp_jb_key(&jb, "decisions");
	tlsp_jb_uint(&jb, rp->decisions);
	tlsp_jb_key(&jb, "unchanged");
	tlsp_jb_uint(&jb, rp->unchanged);
	tlsp_jb_key(&jb, "changed");
	tlsp_jb_uint(&jb, rp->changed);
	tlsp_jb_key(&jb, "cannot_replay");
	tlsp_jb_open(&jb, '{');
	for (i = 0; i < NREASON && rp->cannot[i].why != NULL; i++) {
		tlsp_jb_key(&jb, rp->cannot[i].why);
		tlsp_jb_uint(&jb, rp->cannot[i].n);
	}
	tlsp_jb_close(&jb, '}');
	tlsp_jb_key(&jb, "newly_matching_fail_on");
	tlsp_jb_uint(&jb, rp->newly);
	j_transitions(&jb, rp, rp->tr, rp->ex);
	j_table(&jb, rp, "rules", &rp->rule, v[0]);
	j_table(&jb, rp, "sender_domains", &rp->sender, v[1]);
	j_table(&jb, rp, "recipient_domains", &rp->rcpt, v[2]);
	j_table(&jb, rp, "clients", &rp->client, v[3]);
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

int
tlspa_replay_main(int argc, char **argv)
{
	static struct replay zero;
	struct replay *rp = malloc(sizeof(*rp));
	struct tlspa_table *tabs[4];
	struct tlspa_ent **v[4] = {NULL, NULL, NULL, NULL};
	int rc, got, i;

	if (rp == NULL) {
		fprintf(stderr, "tlspolicy-audit: out of memory\n");
		return TLSPA_EX_ERROR;
	}
	*rp = zero;
	tabs[0] = &rp->rule;
	tabs[1] = &rp->sender;
	tabs[2] = &rp->rcpt;
	tabs[3] = &rp->client;
	for (i = 0; i < 4; i++)
		tabs[i]->valsz = sizeof(struct crow);
	if ((rc = replay_options(rp, argc, argv)) != 0)
		goto done;
	while ((got = tlspa_scan_next(&rp->rd.scan)) > 0)
		count_record(rp, rp->rd.scan.rec, rp->rd.scan.ms);
	if (got < 0) {
		rc = TLSPA_EX_ERROR;
		goto done;
	}
	tlspa_scan_evidence(&rp->rd.scan, rp->rd.evidence,
			    sizeof(rp->rd.evidence));
	for (i = 0; i < 4; i++)
		if ((v[i] = tlspa_table_sorted(tabs[i], by_changed)) == NULL &&
		    tabs[i]->n > 0) {
			fprintf(stderr, "tlspolicy-audit: out of memory\n");
			rc = TLSPA_EX_ERROR;
			goto done;
		}
	if (rp->rd.format == F_CSV)
		write_csv(rp, v);
	else if (rp->rd.format == F_JSON)
		rc = write_json(rp, v);
	else
		write_text(rp, v);
	rc = tlspa_reading_end(&rp->rd, rc);
	if (rc == 0 && rp->newly > 0) {
		fprintf(stderr,
			"tlspolicy-audit: --fail-on: %" PRIu64 " decision%s "
			"would newly be refused or marked by the draft\n",
			rp->newly, rp->newly == 1 ? "" : "s");
		rc = TLSPA_EX_MATCHED;
	}
done:
	for (i = 0; i < 4; i++) {
		free(v[i]);
		tlspa_table_free(tabs[i], NULL);
	}
	tlspa_reading_free(&rp->rd);
	tlsp_policy_unref(rp->draft);
	free(rp);
	return rc;
}
