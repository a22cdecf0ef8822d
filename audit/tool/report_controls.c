/*
 * report_controls.c - the policy text and the control mapping of the
 * HTML report (report --format html --policy FILE...).
 *
 * A record carries the hash of the policy it was decided under, not its
 * text. A policy file given with --policy is used only when a start or
 * reload record of the period names its hash; otherwise the report says
 * that it does not match the log. The rules of the matching files and
 * their compliance: tags (policy/compile.c) give the mapping: for each
 * framework that some rule claims, the controls the log can speak to,
 * what each asks (in our words), and what the log measured for the rules
 * that carry the tag. The wording is of measured facts: it never says
 * that a control is met, a framework complied with, or anything
 * certified.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* What the log can say about a control. */
enum evidence {
	EV_TRANSPORT, /* the tagged rules' evaluations and their outcome */
	EV_ENCRYPTED, /* the tagged rules' sessions with and without TLS */
	EV_MODERN,    /* TLS 1.2 or newer, forward secrecy */
	EV_INVENTORY, /* the partner inventory */
	EV_LOGGING,   /* records kept, hosts, period */
	EV_CHAIN,     /* the chain's verification */
	EV_RETENTION, /* the period the records span */
};

/* The controls per framework (code of tlsp_compliance_names). */
static const struct control {
	int framework;
	const char *id, *asks;
	enum evidence ev;
} controls[] = {
	{0, "PCI DSS v4.0.1 4.2.1",
	 "strong cryptography protects cardholder data while it travels over "
	 "open, public networks",
	 EV_TRANSPORT},
	{0, "PCI DSS v4.0.1 4.2.1.1",
	 "an inventory of the trusted keys and certificates is kept",
	 EV_INVENTORY},
	{0, "PCI DSS v4.0.1 10.2.1", "audit logs are enabled and active",
	 EV_LOGGING},
	{0, "PCI DSS v4.0.1 10.3.2",
	 "audit log files are protected against modification", EV_CHAIN},
	{0, "PCI DSS v4.0.1 10.3.4",
	 "changes to existing audit log content are detected", EV_CHAIN},
	{0, "PCI DSS v4.0.1 10.5.1", "audit log history is retained",
	 EV_RETENTION},
	{1, "HIPAA 45 CFR 164.312(e)(1)",
	 "transmission security: guard electronic protected health "
	 "information sent over a network",
	 EV_TRANSPORT},
	{1, "HIPAA 45 CFR 164.312(e)(2)(ii)",
	 "encryption of electronic protected health information in transit",
	 EV_ENCRYPTED},
	{1, "HIPAA 45 CFR 164.312(b)",
	 "audit controls record and examine activity", EV_LOGGING},
	{1, "HIPAA 45 CFR 164.312(b)",
	 "the records examined are those that were written", EV_CHAIN},
	{2, "GDPR Art. 32(1)(a)",
	 "encryption of personal data, as a measure appropriate to the risk",
	 EV_ENCRYPTED},
	{2, "GDPR Art. 32(1)(d)",
	 "regular testing and evaluation of the measures' effectiveness",
	 EV_TRANSPORT},
	{2, "GDPR Art. 32(1)(b)",
	 "integrity of the systems that process personal data", EV_CHAIN},
	{3, "BSI TR-03108",
	 "mail between providers travels over TLS configured after the "
	 "BSI's guidelines (TLS 1.2 or newer, forward secrecy)",
	 EV_MODERN},
	{3, "BSI TR-03108", "the rules were applied to the traffic",
	 EV_TRANSPORT},
};

static const char *const framework_titles[] = {
	"PCI DSS v4.0.1",
	"HIPAA Security Rule (45 CFR 164.312)",
	"GDPR Article 32",
	"BSI TR-03108 (Secure E-Mail Transport)",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ============================================================ loading */

int
tlspa_report_policies_load(struct tlspa_report *r)
{
	struct tlsp_diags d;
	char line[1024];
	size_t i, k;

	for (i = 0; i < r->npolicies; i++) {
		memset(&d, 0, sizeof(d));
		r->policies[i].p = tlsp_policy_load(r->policies[i].path,
						    TLSP_MTA_UNKNOWN, &d);
		for (k = 0; k < d.count; k++)
			if (r->policies[i].p == NULL && !d.v[k].is_warning)
				fprintf(stderr, "%s\n",
					tlsp_diag_format(&d.v[k], line,
							 sizeof(line)));
		tlsp_diags_free(&d);
		if (r->policies[i].p == NULL) {
			fprintf(stderr,
				"tlspolicy-audit: --policy %s: does not "
				"compile\n",
				r->policies[i].path);
			return -1;
		}
	}
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const struct tlspa_reload *recorded(const struct tlspa_report *r,
					   const struct tlsp_policy *p);

int
tlspa_report_named_collect(struct tlspa_report *r)
{
	const char *name;
	unsigned tags;
	size_t i, k, n = 0;

	for (i = 0; i < r->npolicies; i++)
		if (recorded(r, r->policies[i].p) != NULL)
			n += tlsp_policy_rule_count(r->policies[i].p);
	if (n == 0)
		return 0;
	if ((r->named = calloc(n, sizeof(*r->named))) == NULL)
		return -1;
	for (i = 0; i < r->npolicies; i++) {
		if (recorded(r, r->policies[i].p) == NULL)
			continue;
		if (i < 64)
			r->named_mask |= (uint64_t)1 << i;
		for (k = 0; (name = tlsp_policy_rule_at(r->policies[i].p, k,
							&tags)) != NULL;
		     k++)
			if ((r->named[r->nnamed++] = strdup(name)) == NULL)
				return -1;
	}
	qsort(r->named, r->nnamed, sizeof(*r->named), str_cmp);
	return 0;
}

static int
named_has(const struct tlspa_report *r, const char *key)
{
	return r->nnamed > 0 && bsearch(&key, r->named, r->nnamed,
					sizeof(*r->named), str_cmp) != NULL;
}

int
tlspa_report_named(const struct tlspa_report *r, const char *dir, const char *d,
		   size_t klen)
{
	char key[300];
	size_t i;

	if (r->nnamed == 0 || klen > 255)
		return 0;
	snprintf(key, sizeof(key), "%s:%.*s", dir, (int)klen, d);
	if (named_has(r, key))
		return 1;
	for (i = 0; i < klen; i++) /* ".parent" patterns */
		if (d[i] == '.') {
			snprintf(key, sizeof(key), "%s:%.*s", dir,
				 (int)(klen - i), d + i);
			if (named_has(r, key))
				return 1;
		}
	return 0;
}

uint64_t
tlspa_report_client_mask(const struct tlspa_report *r, const char *addr,
			 size_t alen, const char *name)
{
	uint64_t mask = 0;
	char a[80];
	size_t i;

	if (addr == NULL || alen >= sizeof(a))
		alen = 0;
	if (alen > 0)
		memcpy(a, addr, alen);
	a[alen] = '\0';
	for (i = 0; i < r->npolicies && i < 64; i++)
		if (r->policies[i].p != NULL &&
		    tlsp_policy_names_client(r->policies[i].p, alen ? a : NULL,
					     name))
			mask |= (uint64_t)1 << i;
	return mask;
}

int
tlspa_report_named_client(const struct tlspa_report *r, uint64_t mask)
{
	return (mask & r->named_mask) != 0;
}

void
tlspa_report_policies_free(struct tlspa_report *r)
{
	size_t i;

	for (i = 0; i < r->nnamed; i++)
		free(r->named[i]);
	free(r->named);
	r->named = NULL;
	r->nnamed = 0;
	r->named_mask = 0;
	for (i = 0; i < r->npolicies; i++)
		tlsp_policy_unref(r->policies[i].p);
	free(r->policies);
	r->policies = NULL;
	r->npolicies = 0;
}

/* The first start or reload record of the period that names p's hash. */
static const struct tlspa_reload *
recorded(const struct tlspa_report *r, const struct tlsp_policy *p)
{
	const char *h = tlsp_policy_hash(p);
	size_t i;

	for (i = 0; i < r->nreloads; i++)
		if (strcmp(r->reloads[i].policy, h) == 0)
			return &r->reloads[i];
	return NULL;
}

/* ============================================================ helpers */

static void
text(FILE *f, const char *s)
{
	tlspa_report_html_text(f, s, strlen(s));
}

static double
pct(uint64_t n, uint64_t of)
{
	return of ? 100.0 * (double)n / (double)of : 0.0;
}

static const struct tlspa_row *
rule_row(const struct tlspa_report *r, struct tlspa_ent **rbykey,
	 const char *name)
{
	size_t lo = 0, hi = r->rule.n, mid, n = strlen(name), m;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		m = rbykey[mid]->klen < n ? rbykey[mid]->klen : n;
		c = memcmp(rbykey[mid]->key, name, m);
		if (c == 0)
			c = rbykey[mid]->klen < n ? -1 : rbykey[mid]->klen > n;
		if (c == 0)
			return (const struct tlspa_row *)rbykey[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The tallies of the rules of the matching policies tagged with
 * framework fw, added up; the number of such rules into *nrules. */
static void
tagged(const struct tlspa_report *r, struct tlspa_ent **rbykey, int fw,
       struct tlspa_tally *sum, size_t *nrules)
{
	const struct tlspa_row *row;
	const char *name;
	unsigned tags;
	size_t i, k;
	int j;

	memset(sum, 0, sizeof(*sum));
	*nrules = 0;
	for (i = 0; i < r->npolicies; i++) {
		if (recorded(r, r->policies[i].p) == NULL)
			continue;
		for (k = 0; (name = tlsp_policy_rule_at(r->policies[i].p, k,
							&tags)) != NULL;
		     k++) {
			if (!(tags & (1u << fw)))
				continue;
			(*nrules)++;
			if ((row = rule_row(r, rbykey, name)) == NULL)
				continue;
			sum->n += row->t.n;
			sum->passed += row->t.passed;
			sum->failed += row->t.failed;
			sum->refused += row->t.refused;
			sum->exempt += row->t.exempt;
			sum->monitor += row->t.monitor;
			for (j = 0; j < NVER; j++)
				sum->ver[j] += row->t.ver[j];
			for (j = 0; j < NFS; j++)
				sum->fs[j] += row->t.fs[j];
		}
	}
}

/* ======================================================== the sections */

static void
policy_text(FILE *f, const struct tlspa_report *r)
{
	const struct tlspa_reload *from;
	const char *name;
	unsigned tags;
	size_t i, k;
	int j, first;

	fputs("<section id=\"policy-text\"><h2>Policy text</h2>\n", f);
	if (r->npolicies == 0) {
		fputs("<p id=\"policy-status\">Policy text not supplied: a "
		      "record carries the policy's hash, not its text (give "
		      "<code>--policy FILE</code>).</p>\n</section>\n",
		      f);
		return;
	}
	fputs("<table id=\"t-policies\"><thead><tr><th>file</th>"
	      "<th>SHA-256</th><th>in the log</th></tr></thead><tbody>\n",
	      f);
	for (i = 0; i < r->npolicies; i++) {
		from = recorded(r, r->policies[i].p);
		fputs("<tr><td><code>", f);
		text(f, r->policies[i].path);
		fprintf(f, "</code></td><td class=\"hash\">%s</td><td>",
			tlsp_policy_hash(r->policies[i].p));
		if (from != NULL) {
			fputs("matches: in force from ", f);
			text(f, from->time);
			fputs(" on ", f);
			text(f, from->host);
			fputs(" (", f);
			text(f, from->type);
			fputs(" record)", f);
		} else {
			fputs("does not match the log: no start or reload "
			      "record in the period names this hash; its rules "
			      "are not used",
			      f);
		}
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n<table id=\"t-policy-rules\"><thead><tr>"
	      "<th>rule</th><th>compliance tags</th></tr></thead><tbody>\n",
	      f);
	for (i = 0; i < r->npolicies; i++) {
		if (recorded(r, r->policies[i].p) == NULL)
			continue;
		for (k = 0; (name = tlsp_policy_rule_at(r->policies[i].p, k,
							&tags)) != NULL;
		     k++) {
			fputs("<tr><td>", f);
			text(f, name);
			fputs("</td><td>", f);
			for (j = 0, first = 1; tlsp_compliance_names[j].name;
			     j++)
				if (tags &
				    (1u << tlsp_compliance_names[j].code)) {
					fputs(first ? "" : ", ", f);
					text(f, tlsp_compliance_names[j].name);
					first = 0;
				}
			fputs(first ? "-</td></tr>\n" : "</td></tr>\n", f);
		}
	}
	fputs("</tbody></table>\n</section>\n", f);
}

static void
evidence(FILE *f, const struct tlspa_report *r, const struct control *c,
	 const struct tlspa_tally *t, size_t nrules)
{
	const struct tlspa_follow *ch = &r->scan.chain;
	uint64_t tls = t->n - t->ver[V_NONE];
	uint64_t modern = t->ver[V_TLS13] + t->ver[V_TLS12];
	char a[32], b[32];

	switch (c->ev) {
	case EV_TRANSPORT:
		fprintf(f,
			"%zu tagged rule%s judged %llu decision%s: %llu "
			"(%.1f%%) met every requirement, %llu failed, %llu "
			"were refused (enforced), %llu evaluations were in "
			"monitor mode.",
			nrules, nrules == 1 ? "" : "s",
			(unsigned long long)t->n, t->n == 1 ? "" : "s",
			(unsigned long long)t->passed, pct(t->passed, t->n),
			(unsigned long long)t->failed,
			(unsigned long long)t->refused,
			(unsigned long long)t->monitor);
		break;
	case EV_ENCRYPTED:
		fprintf(f,
			"Of %llu decisions by the tagged rules, %llu (%.1f%%) "
			"were on TLS sessions and %llu without TLS.",
			(unsigned long long)t->n, (unsigned long long)tls,
			pct(tls, t->n), (unsigned long long)t->ver[V_NONE]);
		break;
	case EV_MODERN:
		fprintf(f,
			"Of %llu decisions by the tagged rules, %llu (%.1f%%) "
			"were on TLS 1.2 or 1.3, %llu (%.1f%%) with forward "
			"secrecy.",
			(unsigned long long)t->n, (unsigned long long)modern,
			pct(modern, t->n), (unsigned long long)t->fs[FS_YES],
			pct(t->fs[FS_YES], t->n));
		break;
	case EV_INVENTORY:
		fprintf(f,
			"The partner inventory lists %zu client%s with the TLS "
			"versions and certificate states each presented and the "
			"first certificate's subject and issuer; %llu "
			"decisions were on a verified client certificate.",
			r->client.n, r->client.n == 1 ? "" : "s",
			(unsigned long long)r->total.cert[C_VERIFIED]);
		break;
	case EV_LOGGING:
		fprintf(f, "%llu audit records from %zu host%s",
			r->scan.records, r->hosts.n,
			r->hosts.n == 1 ? "" : "s");
		if (r->first_ms <= r->last_ms) {
			tlspa_time_format(r->first_ms, a);
			tlspa_time_format(r->last_ms, b);
			fprintf(f, ", from %s to %s", a, b);
		}
		fprintf(f, "; %llu decisions recorded.",
			(unsigned long long)r->total.n);
		break;
	case EV_CHAIN:
		fputs("The records form a hash chain; this report's "
		      "verification of it: ",
		      f);
		text(f, r->evidence);
		fprintf(f, "%s.",
			ch->unkeyed ? " (hashes not checked: no key)" : "");
		break;
	case EV_RETENTION:
		if (r->first_ms <= r->last_ms) {
			tlspa_time_format(r->first_ms, a);
			tlspa_time_format(r->last_ms, b);
			fprintf(f,
				"The records read span %s to %s (%.0f days). "
				"How long older logs are kept is not visible "
				"in them.",
				a, b,
				(double)(r->last_ms - r->first_ms) /
					86400000.0);
		} else {
			fputs("No records in the period.", f);
		}
		break;
	}
}

static void
framework(FILE *f, const struct tlspa_report *r, struct tlspa_ent **rbykey,
	  int fw)
{
	struct tlspa_tally t;
	size_t i, nrules;

	tagged(r, rbykey, fw, &t, &nrules);
	if (nrules == 0)
		return;
	fprintf(f, "<h3 id=\"fw-%s\">", tlsp_compliance_names[fw].name);
	text(f, framework_titles[fw]);
	fputs("</h3>\n<table class=\"controls\"><thead><tr><th>control"
	      "</th><th>what it asks (our summary)</th><th>measured from "
	      "this log</th></tr></thead><tbody>\n",
	      f);
	for (i = 0; i < NELEM(controls); i++) {
		if (controls[i].framework != fw)
			continue;
		fputs("<tr><td>", f);
		text(f, controls[i].id);
		fputs("</td><td>", f);
		text(f, controls[i].asks);
		fputs("</td><td>", f);
		evidence(f, r, &controls[i], &t, nrules);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

void
tlspa_report_controls(FILE *f, const struct tlspa_report *r,
		      struct tlspa_ent **rbykey)
{
	struct tlspa_tally t;
	size_t nrules, any = 0;
	int fw;

	policy_text(f, r);
	fputs("<section id=\"controls\"><h2>Control mapping</h2>\n"
	      "<p class=\"note\">For each framework that a rule of the "
	      "policy claims (its <code>compliance:</code> tag), the "
	      "controls this log can speak to and what it measured. These "
	      "are facts about the period and the records shown; whether "
	      "they satisfy a control is for the assessor to judge. This is "
	      "not a certification.</p>\n",
	      f);
	for (fw = 0; fw < (int)NELEM(framework_titles); fw++) {
		tagged(r, rbykey, fw, &t, &nrules);
		any += nrules;
		framework(f, r, rbykey, fw);
	}
	if (any == 0)
		fputs("<p id=\"controls-none\">No rule of a policy that "
		      "matches the log carries a <code>compliance:</code> "
		      "tag.</p>\n",
		      f);
	fputs("</section>\n", f);
}

/* ======================================================== exceptions */

const struct tlsp_exception *
tlspa_report_exception(const struct tlspa_report *r, const char *name,
		       size_t len)
{
	const struct tlsp_exception *e;
	size_t i, k;

	for (i = 0; i < r->npolicies; i++) {
		if (r->policies[i].p == NULL ||
		    recorded(r, r->policies[i].p) == NULL)
			continue;
		for (k = 0;
		     (e = tlsp_policy_exception(r->policies[i].p, k)) != NULL;
		     k++)
			if (strlen(tlsp_exception_name(e)) == len &&
			    memcmp(tlsp_exception_name(e), name, len) == 0)
				return e;
	}
	return NULL;
}
