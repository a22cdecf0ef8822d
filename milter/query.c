/*
 * query.c - the query mode (see query.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query.h"

/* One row per argument: its name, and where it goes (a string of the
 * query, one more recipient, or the MTA's shape). */
enum arg_kind { ARG_STRING, ARG_RCPT, ARG_MTA };

static const struct arg {
	const char *name;
	enum arg_kind kind;
	size_t at; /* ARG_STRING: offset of the const char * in the query */
} args[] = {
	{"mail_addr", ARG_STRING, offsetof(struct tlspm_query, sender)},
	{"rcpt_addr", ARG_RCPT, 0},
	{"tls_version", ARG_STRING,
	 offsetof(struct tlspm_query, m.tls_version)},
	{"cipher", ARG_STRING, offsetof(struct tlspm_query, m.cipher)},
	{"cipher_bits", ARG_STRING,
	 offsetof(struct tlspm_query, m.cipher_bits)},
	{"cert_subject", ARG_STRING,
	 offsetof(struct tlspm_query, m.cert_subject)},
	{"cert_issuer", ARG_STRING,
	 offsetof(struct tlspm_query, m.cert_issuer)},
	{"verify", ARG_STRING, offsetof(struct tlspm_query, m.verify)},
	{"cert_fp", ARG_STRING, offsetof(struct tlspm_query, m.cert_fp)},
	{"auth_authen", ARG_STRING,
	 offsetof(struct tlspm_query, m.auth_authen)},
	{"daemon_name", ARG_STRING,
	 offsetof(struct tlspm_query, m.daemon_name)},
	{"client_addr", ARG_STRING,
	 offsetof(struct tlspm_query, m.client_addr)},
	{"client_name", ARG_STRING,
	 offsetof(struct tlspm_query, m.client_name)},
	{"client_resolve", ARG_STRING,
	 offsetof(struct tlspm_query, m.client_resolve)},
	{"mta", ARG_MTA, 0},
	{"v", ARG_STRING, offsetof(struct tlspm_query, m.mta_version)},
};
#define NARGS (sizeof(args) / sizeof(args[0]))

static int
set_arg(struct tlspm_query *q, const struct arg *a, const char *val, char *err,
	size_t errsz)
{
	const char **slot;
	int mta;

	switch (a->kind) {
	case ARG_RCPT:
		if (q->nrcpt == TLSPM_QUERY_MAX_RCPT) {
			snprintf(err, errsz, "at most %d rcpt_addr arguments",
				 TLSPM_QUERY_MAX_RCPT);
			return -1;
		}
		q->rcpt[q->nrcpt++] = val;
		return 0;
	case ARG_MTA:
		mta = tlsp_mta_lookup(val);
		if (mta < 0) {
			snprintf(err, errsz,
				 "mta=%.40s: expected postfix or sendmail",
				 val);
			return -1;
		}
		q->m.mta = (enum tlsp_mta)mta;
		return 0;
	case ARG_STRING:
		break;
	}
	slot = (const char **)(void *)((char *)q + a->at);
	if (*slot != NULL) {
		snprintf(err, errsz, "%s given twice", a->name);
		return -1;
	}
	*slot = val;
	return 0;
}

/* The argument named `key`, or NULL with "did you mean" in err. */
static const struct arg *
find_arg(const char *key, char *err, size_t errsz)
{
	const char *names[NARGS], *near;
	size_t k;

	for (k = 0; k < NARGS; k++) {
		if (strcmp(key, args[k].name) == 0)
			return &args[k];
		names[k] = args[k].name;
	}
	near = tlsp_diag_suggest(key, names, NARGS);
	snprintf(err, errsz, "unknown key '%s'%s%s%s", key,
		 near ? "; did you mean '" : "", near ? near : "",
		 near ? "'?" : "");
	return NULL;
}

/* Sets one argument; 0, or -1 with a message in err. */
static int
query_set(struct tlspm_query *q, const char *key, const char *val, char *err,
	  size_t errsz)
{
	const struct arg *a = find_arg(key, err, errsz);

	return a == NULL ? -1 : set_arg(q, a, val, err, errsz);
}

int
tlspm_query_parse(int argc, char *const argv[], struct tlspm_query *q,
		  char *err, size_t errsz)
{
	int i;

	memset(q, 0, sizeof(*q));
	for (i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		char key[32];
		size_t klen;

		klen = eq ? (size_t)(eq - argv[i]) : 0;
		if (eq == NULL || klen == 0 || klen >= sizeof(key)) {
			snprintf(err, errsz, "'%.40s': expected key=value",
				 argv[i]);
			return -1;
		}
		memcpy(key, argv[i], klen);
		key[klen] = '\0';
		/* Accept the macro spelling too: {tls_version}=TLSv1.2. */
		if (key[0] == '{' && key[klen - 1] == '}') {
			memmove(key, key + 1, klen - 2);
			key[klen - 2] = '\0';
		}
		if (query_set(q, key, eq + 1, err, errsz) < 0)
			return -1;
	}
	if (q->nrcpt == 0) {
		snprintf(err, errsz, "give at least one rcpt_addr=ADDRESS");
		return -1;
	}
	return 0;
}

/* The evidence of client_addr and client_name rules. */
static void
print_client(const struct tlsp_facts *f, FILE *out)
{
	char addr[4 * sizeof(f->client_addr)],
		res[4 * sizeof(f->client_resolve)];

	if (!(f->sent & (TLSP_SENT_CLIENT_ADDR | TLSP_SENT_CLIENT_NAME |
			 TLSP_SENT_CLIENT_RESOLVE)))
		return;
	tlsp_escape_log(f->client_addr, strlen(f->client_addr), addr,
			sizeof(addr));
	tlsp_escape_log(f->client_resolve, strlen(f->client_resolve), res,
			sizeof(res));
	fprintf(out, "client: addr=%s name=%s (%s", addr[0] ? addr : "(absent)",
		f->client_name[0] ? f->client_name : "-",
		tlsp_code_name(tlsp_name_state_names, f->client_name_state));
	if (f->sent & TLSP_SENT_CLIENT_RESOLVE)
		fprintf(out, ", client_resolve=%s", res);
	fprintf(out, ")\n");
}

static void
print_facts(const struct tlsp_facts *f, FILE *out)
{
	const struct tlsp_cipher_info *ci = &f->cipher_info;
	char ver[4 * sizeof(f->version_raw)], cipher[4 * sizeof(f->cipher)];

	/* the facts are as the MTA sent them: escaped once, here */
	tlsp_escape_log(f->version_raw, strlen(f->version_raw), ver,
			sizeof(ver));
	tlsp_escape_log(f->cipher, strlen(f->cipher), cipher, sizeof(cipher));
	fprintf(out, "session: mta=%s tls=%s", tlsp_mta_name(f->mta),
		f->version == TLSP_VER_NONE ? "none" : ver);
	if (f->version != TLSP_VER_NONE) {
		fprintf(out, " cipher=%s", f->cipher[0] ? cipher : "(absent)");
		if (f->cipher_bits >= 0)
			fprintf(out, " bits=%d", f->cipher_bits);
		else if (ci->bits >= 0)
			fprintf(out, " bits=%d(from cipher)", ci->bits);
		fprintf(out, " fs=%s",
			ci->forward_secrecy > 0	   ? "yes"
			: ci->forward_secrecy == 0 ? "no"
						   : "unknown");
		fprintf(out, " client_cert=\"%s\"",
			tlsp_cert_state_name(f->cert));
	}
	if (f->authenticated)
		fprintf(out, " authenticated=yes");
	fputc('\n', out);
	print_client(f, out);
	if (f->flags)
		fprintf(out,
			"note: some macro values were malformed and are "
			"treated as absent (flags 0x%x)\n",
			f->flags);
}

/* " (monitor until ...)" or " (enforced since ...)" for a scheduled rule. */
static void
print_schedule_note(const struct tlsp_policy *p, const struct tlsp_rule *rule,
		    enum tlsp_mode mode, FILE *out)
{
	time_t from = tlsp_rule_enforce_from(rule);
	char when[40];

	if (from == 0)
		return;
	tlsp_policy_format_time(p, from, when, sizeof(when));
	fprintf(out, " (%s %s)",
		mode == TLSP_MODE_MONITOR ? "monitor until" : "enforced since",
		when);
}

static void
print_waived(const struct tlsp_policy *p, const struct tlsp_rule_result *r,
	     FILE *out)
{
	size_t i;

	for (i = r->nfail; i < r->nfail + r->nwaived; i++) {
		const struct tlsp_failure *x = &r->fail[i];
		char seen[4 * sizeof(x->observed)], when[40];

		tlsp_escape_log(x->observed, strlen(x->observed), seen,
				sizeof(seen));
		tlsp_policy_format_time(p, tlsp_exception_expires(x->waived_by),
					when, sizeof(when));
		fprintf(out,
			"    waived %s: required %s, observed %s (exception "
			"%s, until %s)\n",
			tlsp_req_name(x->req), x->required, seen,
			tlsp_exception_name(x->waived_by), when);
	}
}

static void
print_result(const struct tlsp_policy *p, const struct tlsp_rule_result *r,
	     FILE *out)
{
	size_t i;

	fprintf(out, "  rule %s: %s", tlsp_rule_name(r->rule),
		r->exempt		 ? "exempt (out of scope)"
		: r->status == TLSP_PASS ? "pass"
					 : "FAIL");
	if (!r->exempt && r->status != TLSP_PASS)
		fprintf(out, " -> %s%s",
			r->mode == TLSP_MODE_MONITOR ? "would " : "",
			tlsp_action_name(tlsp_rule_action(r->rule)));
	print_schedule_note(p, r->rule, r->mode, out);
	fputc('\n', out);
	for (i = 0; i < r->nfail; i++) {
		const struct tlsp_failure *x = &r->fail[i];
		char seen[4 * sizeof(x->observed)];

		tlsp_escape_log(x->observed, strlen(x->observed), seen,
				sizeof(seen));
		fprintf(out, "    %s %s: required %s, observed %s\n",
			x->status == TLSP_UNKNOWN ? "unknown" : "failed",
			tlsp_req_name(x->req), x->required,
			seen[0] ? seen : "the client above");
	}
	print_waived(p, r, out);
}

static void
print_verdict(const struct tlsp_policy *p, const char *who,
	      const struct tlsp_verdict *v, FILE *out)
{
	size_t i;
	char shown[600];

	tlsp_escape_log(who, strlen(who), shown, sizeof(shown));
	fprintf(out, "%s\n", shown);
	if (v->flags & TLSP_V_SENDER_UNPARSABLE)
		fprintf(out,
			"  note: sender address unparsable; sender default "
			"rules only\n");
	if (v->flags & TLSP_V_RCPT_UNPARSABLE)
		fprintf(out, "  note: recipient address unparsable; recipient "
			     "default rule only\n");
	if (v->flags & TLSP_V_NO_RULE)
		fprintf(out, "  no rule applies\n");
	if (v->nrules == 1 &&
	    strncmp(tlsp_rule_name(v->r[0].rule), "pair:", 5) == 0)
		fprintf(out, "  note: a pair rule replaces the sender and "
			     "recipient rules for this recipient\n");
	for (i = 0; i < v->nrules; i++)
		print_result(p, &v->r[i], out);
	fprintf(out, "  verdict: %s", tlsp_action_name(v->action));
	if (v->would_action != v->action)
		fprintf(out, " (monitor: would %s)",
			tlsp_action_name(v->would_action));
	if (v->reply[0])
		fprintf(out, " \"%s\"", v->reply);
	fputc('\n', out);
}

/* The verdict for recipient i: what -q prints and --test compares. */
static void
query_verdict(const struct tlsp_policy *p, const struct tlsp_facts *f,
	      const struct tlspm_query *q, size_t i, struct tlsp_verdict *v)
{
	tlsp_evaluate(p, f, q->sender, q->rcpt[i], q->at, v);
}

enum tlsp_action
tlspm_query_run(const struct tlsp_policy *p, const struct tlspm_query *q,
		FILE *out)
{
	enum tlsp_action worst = TLSP_ACTION_ACCEPT;
	struct tlsp_verdict *v = malloc(sizeof(*v));
	struct tlsp_facts f;
	char who[600];
	size_t i;

	if (v == NULL) {
		fprintf(out, "out of memory\n");
		return TLSP_ACTION_DEFER;
	}
	tlsp_facts_from_macros(&q->m, &f);
	fprintf(out, "policy: %s (sha256 %s)\n", tlsp_policy_path(p),
		tlsp_policy_hash(p));
	print_facts(&f, out);
	if (q->at_given || tlsp_policy_scheduled_count(p) ||
	    tlsp_policy_exception_count(p)) {
		char when[40];

		fprintf(out, "time: %s (timezone %s)\n",
			tlsp_policy_format_time(p, q->at, when, sizeof(when)),
			tlsp_policy_timezone(p));
	}
	if (q->sender && tlsp_evaluate_sender(p, &f, q->sender, q->at, v)) {
		snprintf(who, sizeof(who), "MAIL FROM:%s%s%s",
			 q->sender[0] == '<' ? "" : "<", q->sender,
			 q->sender[0] == '<' ? "" : ">");
		print_verdict(p, who, v, out);
		worst = v->action;
	}
	for (i = 0; i < q->nrcpt; i++) {
		query_verdict(p, &f, q, i, v);
		snprintf(who, sizeof(who), "RCPT TO:%s%s%s",
			 q->rcpt[i][0] == '<' ? "" : "<", q->rcpt[i],
			 q->rcpt[i][0] == '<' ? "" : ">");
		print_verdict(p, who, v, out);
		worst = tlsp_action_max(worst, v->action);
	}
	free(v);
	return worst;
}

/* ------------------------------------------------------------ --test */

_Static_assert(TLSP_CASE_MAX_RCPT <= TLSPM_QUERY_MAX_RCPT,
	       "a case's recipients fit a query");

/* Facts a case may state besides the -q arguments. */
enum case_key { CK_TIME, CK_RCPT };
static const struct tlsp_name_code case_keys[] = {
	{"time", CK_TIME},
	{"rcpt_addr", CK_RCPT},
	{NULL, -1},
};

/* Fills q from case c; prints each bad fact as file:line:col (of the
 * key when the key is unknown, else of the value). Returns the number
 * of bad facts. */
static int
case_query(const struct tlsp_policy *p, const struct tlsp_cases *cs,
	   const struct tlsp_case *c, enum tlsp_mta mta, time_t now,
	   struct tlspm_query *q, FILE *out)
{
	const char *why = NULL;
	char err[300];
	size_t i;
	int bad = 0;

	memset(q, 0, sizeof(*q));
	q->m.mta = mta;
	q->at = now; /* unless the case gives its time */
	for (i = 0; i < c->nfacts; i++) {
		const struct tlsp_case_fact *f = &c->facts[i];
		const struct arg *a;
		int rc = 0, at_key = 1;

		switch (tlsp_name_code(case_keys, f->key)) {
		case CK_RCPT:
			snprintf(err, sizeof(err),
				 "the recipients are the keys of 'expect'");
			rc = -1;
			break;
		case CK_TIME:
			at_key = 0;
			if (tlsp_policy_parse_time(p, f->value, 0, &q->at,
						   &why) < 0) {
				snprintf(err, sizeof(err),
					 "time '%.64s': %s (a date, read in "
					 "the policy's timezone, or a "
					 "date-time with its offset: "
					 "2027-01-15T08:00:00Z)",
					 f->value, why);
				rc = -1;
			}
			break;
		default:
			a = find_arg(f->key, err, sizeof(err));
			rc = a ? set_arg(q, a, f->value, err, sizeof(err)) : -1;
			at_key = a == NULL;
			break;
		}
		if (rc < 0) {
			fprintf(out, "%s:%u:%u: %s\n", cs->path,
				at_key ? f->line : f->vline,
				at_key ? f->col : f->vcol, err);
			bad++;
		}
	}
	for (i = 0; i < c->nexpect; i++)
		q->rcpt[q->nrcpt++] = c->expect[i].rcpt;
	return bad;
}

/* The rule that decided, or in monitor mode the first that would have;
 * "none" when no rule acts. */
static const char *
deciding_rule(const struct tlsp_verdict *v)
{
	size_t i;

	if (v->decided_by)
		return tlsp_rule_name(v->decided_by);
	for (i = 0; v->would_action != TLSP_ACTION_ACCEPT && i < v->nrules; i++)
		if (!v->r[i].exempt && v->r[i].status == TLSP_FAIL &&
		    v->r[i].action == v->would_action)
			return tlsp_rule_name(v->r[i].rule);
	return "none";
}

static int
mismatch(const struct tlsp_case_expect *e, const struct tlsp_verdict *v)
{
	return (e->action >= 0 && e->action != (int)v->action) ||
	       (e->would >= 0 && e->would != (int)v->would_action) ||
	       (e->rule && strcmp(e->rule, deciding_rule(v)) != 0);
}

static void
print_mismatch(const struct tlsp_cases *cs, const struct tlsp_case *c,
	       const struct tlsp_case_expect *e, const struct tlsp_verdict *v,
	       FILE *out)
{
	char name[400], rcpt[1100];

	tlsp_escape_log(c->name ? c->name : "", c->name ? strlen(c->name) : 0,
			name, sizeof(name));
	tlsp_escape_log(e->rcpt, strlen(e->rcpt), rcpt, sizeof(rcpt));
	fprintf(out, "%s:%u:%u: case%s%s%s (line %u): %s:\n", cs->path, e->line,
		e->col, c->name ? " \"" : "", name, c->name ? "\"" : "",
		c->line, rcpt);
	fprintf(out, "  expected");
	if (e->action >= 0)
		fprintf(out, " action=%s", tlsp_action_name(e->action));
	if (e->rule)
		fprintf(out, " rule=%s", e->rule);
	if (e->would >= 0)
		fprintf(out, " would=%s", tlsp_action_name(e->would));
	fprintf(out, "\n  got      action=%s rule=%s would=%s\n",
		tlsp_action_name(v->action), deciding_rule(v),
		tlsp_action_name(v->would_action));
}

int
tlspm_query_cases(const struct tlsp_policy *p, const struct tlsp_cases *cs,
		  enum tlsp_mta mta, time_t now, FILE *out)
{
	struct tlspm_query *q = calloc(cs->n ? cs->n : 1, sizeof(*q));
	struct tlsp_verdict *v = malloc(sizeof(*v));
	size_t i, j, verdicts = 0, bad = 0;
	int facts_bad = 0, rc, at_mail;

	if (q == NULL || v == NULL) {
		fprintf(out, "%s: out of memory\n", cs->path);
		rc = -1;
		goto out;
	}
	/* every case checked before any is run: a malformed file is not a
	 * test result */
	for (i = 0; i < cs->n; i++)
		facts_bad += case_query(p, cs, &cs->v[i], mta, now, &q[i],
					stderr);
	if (facts_bad) {
		rc = -1;
		goto out;
	}
	for (i = 0; i < cs->n; i++) {
		const struct tlsp_case *c = &cs->v[i];
		struct tlsp_facts f;

		tlsp_facts_from_macros(&q[i].m, &f);
		/* as the daemon: a sender rule that refuses at MAIL gives its
		 * verdict to every recipient */
		at_mail = q[i].sender != NULL &&
			  tlsp_evaluate_sender(p, &f, q[i].sender, q[i].at,
					       v) &&
			  (v->action == TLSP_ACTION_REJECT ||
			   v->action == TLSP_ACTION_DEFER);
		for (j = 0; j < c->nexpect; j++, verdicts++) {
			if (!at_mail)
				query_verdict(p, &f, &q[i], j, v);
			if (!mismatch(&c->expect[j], v))
				continue;
			print_mismatch(cs, c, &c->expect[j], v, out);
			bad++;
		}
	}
	fprintf(out,
		"%s: %zu case%s, %zu verdict%s: %zu as expected, %zu "
		"mismatch%s\n",
		cs->path, cs->n, cs->n == 1 ? "" : "s", verdicts,
		verdicts == 1 ? "" : "s", verdicts - bad, bad,
		bad == 1 ? "" : "es");
	rc = bad > 0x7fffffff ? 0x7fffffff : (int)bad;
out:
	free(q);
	free(v);
	return rc;
}

static void
print_waives(unsigned waive, FILE *out)
{
	int r, first = 1;

	if (waive == (1u << TLSP_REQ_COUNT) - 1) {
		fputs("all", out);
		return;
	}
	for (r = 0; r < TLSP_REQ_COUNT; r++)
		if (waive & (1u << r)) {
			fprintf(out, "%s%s", first ? "" : ",",
				tlsp_req_name((enum tlsp_req)r));
			first = 0;
		}
}

void
tlspm_query_print_schedule(const struct tlsp_policy *p, time_t now, FILE *out,
			   size_t max)
{
	size_t i, n = tlsp_policy_rule_count(p), shown = 0, more = 0;
	const struct tlsp_rule *r;
	char when[40], sel[512];

	if (tlsp_policy_scheduled_count(p) > 0)
		fprintf(out, "schedule (timezone %s):\n",
			tlsp_policy_timezone(p));
	for (i = 0; i < n && tlsp_policy_scheduled_count(p); i++) {
		time_t from;

		r = tlsp_policy_rule(p, i);
		if ((from = tlsp_rule_enforce_from(r)) == 0)
			continue;
		if (shown == max) {
			more++;
			continue;
		}
		tlsp_policy_format_time(p, from, when, sizeof(when));
		fprintf(out, "  %s: %s %s\n", tlsp_rule_name(r),
			from > now ? "monitor, enforce from" : "enforced since",
			when);
		shown++;
	}
	if (more)
		fprintf(out, "  ... and %zu more scheduled rules\n", more);
	n = tlsp_policy_exception_count(p);
	if (n > 0)
		fprintf(out, "exceptions (timezone %s):\n",
			tlsp_policy_timezone(p));
	for (i = 0; i < n && i < max; i++) {
		const struct tlsp_exception *e = tlsp_policy_exception(p, i);
		const char *ticket = tlsp_exception_ticket(e);

		tlsp_exception_describe(e, sel, sizeof(sel));
		tlsp_policy_format_time(p, tlsp_exception_expires(e), when,
					sizeof(when));
		fprintf(out, "  %s (line %u): %s; waives ",
			tlsp_exception_name(e), tlsp_exception_line(e), sel);
		print_waives(tlsp_exception_waives(e), out);
		fprintf(out, "; owner %s; %s %s%s%s\n", tlsp_exception_owner(e),
			tlsp_exception_expires(e) > now ? "until" : "EXPIRED",
			when, ticket ? "; ticket " : "", ticket ? ticket : "");
	}
	if (n > max)
		fprintf(out, "  ... and %zu more exceptions\n", n - max);
}
