/*
 * report_merge.c - one host's report counters added to a fleet's
 * (report.h, tlspa_report_merge): one merge per kind of table.
 *
 * Each host of a fleet is counted on a thread of its own into counters
 * of its own; merged in the order the hosts were given, they are what
 * counting the hosts one after the other into one set of counters
 * gives, byte for byte in every format. So a host's table is walked in
 * the order its keys were first seen (struct tlspa_ent.seq), the order
 * in which they would have entered the fleet's table; where a key
 * cannot enter (the table is full), every addition it stands for
 * counts as dropped, as each would have. What is "first seen" (a
 * client's name and certificate, a TLS-RPT policy's host and rules, an
 * exception's first time) keeps the earlier host's; what is "last
 * seen" (an exception's expiry, the day) takes the later host's.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

static int
by_seq(const void *a, const void *b)
{
	const struct tlspa_ent *x = *(const struct tlspa_ent *const *)a;
	const struct tlspa_ent *y = *(const struct tlspa_ent *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The values of `from` in the order their keys were added; NULL when
 * out of memory. The caller frees the array. */
static struct tlspa_ent **
in_order(const struct tlspa_table *from)
{
	return tlspa_table_sorted(from, by_seq);
}

/* The value of key e in `to`, added if new; NULL when `to` is full (or
 * out of memory), with the `adds` additions that e stands for counted
 * as dropped (tlspa_table_get counted one). */
static void *
merge_get(struct tlspa_table *to, const struct tlspa_ent *e, uint64_t adds)
{
	void *v = tlspa_table_get(to, e->key, e->klen);

	if (v == NULL && adds > 1)
		to->dropped += adds - 1;
	return v;
}

static void
add(uint64_t *to, const uint64_t *from, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		to[i] += from[i];
}

static void
tally_merge(struct tlspa_tally *to, const struct tlspa_tally *from)
{
	to->n += from->n;
	to->messages += from->messages;
	to->refused += from->refused;
	to->passed += from->passed;
	to->failed += from->failed;
	add(to->ver, from->ver, NVER);
	add(to->bits, from->bits, NBITS);
	add(to->fs, from->fs, NFS);
	add(to->cert, from->cert, NCERT);
	add(to->action, from->action, NACT);
	add(to->would, from->would, NACT);
	add(to->status, from->status, NSTATUS);
	to->exempt += from->exempt;
	to->monitor += from->monitor;
	add(&to->req[0][0], &from->req[0][0], NREQ * 2);
	add(to->waived, from->waived, NREQ);
	/* last_rec numbers a host's own records: not merged */
}

/* Domains, rules, clients, senders, hosts: each addition counts one
 * decision (a host: one record) in t.n. */
static int
merge_rows(struct tlspa_table *to, struct tlspa_table *from)
{
	struct tlspa_ent **v = in_order(from);
	struct tlspa_row *x, *y;
	size_t i;

	if (v == NULL)
		return -1;
	for (i = 0; i < from->n; i++) {
		x = (struct tlspa_row *)v[i];
		if ((y = merge_get(to, v[i], x->t.n)) == NULL)
			continue;
		tally_merge(&y->t, &x->t);
		y->named |= x->named;
		if (y->name == NULL) {
			y->name = x->name;
			x->name = NULL;
		}
		if (y->cert == NULL) {
			y->cert = x->cert;
			x->cert = NULL;
		}
	}
	to->dropped += from->dropped;
	free(v);
	return 0;
}

int
tlspa_report_merge_pairs(struct tlspa_table *to, const struct tlspa_table *from)
{
	struct tlspa_ent **v = in_order(from);
	const struct tlspa_pair *x;
	struct tlspa_pair *y;
	size_t i;

	if (v == NULL)
		return -1;
	for (i = 0; i < from->n; i++) {
		x = (const struct tlspa_pair *)v[i];
		if ((y = merge_get(to, v[i], x->n)) != NULL)
			y->n += x->n;
	}
	to->dropped += from->dropped;
	free(v);
	return 0;
}

/* Exceptions: each addition is one waived failure. */
static int
merge_exc(struct tlspa_table *to, const struct tlspa_table *from)
{
	struct tlspa_ent **v = in_order(from);
	const struct tlspa_exrow *x;
	struct tlspa_exrow *y;
	uint64_t adds;
	size_t i;
	int k;

	if (v == NULL)
		return -1;
	for (i = 0; i < from->n; i++) {
		x = (const struct tlspa_exrow *)v[i];
		for (adds = 0, k = 0; k < NREQ; k++)
			adds += x->waived[k];
		if ((y = merge_get(to, v[i], adds)) == NULL)
			continue;
		if (x->expires[0] != '\0')
			memcpy(y->expires, x->expires, sizeof(y->expires));
		if (y->n == 0 || (x->n > 0 && x->first_ms < y->first_ms))
			y->first_ms = x->first_ms;
		if (y->n == 0 || (x->n > 0 && x->last_ms > y->last_ms))
			y->last_ms = x->last_ms;
		y->n += x->n;
		y->let_through += x->let_through;
		add(y->waived, x->waived, NREQ);
		/* last_dec numbers a host's own decisions: not merged */
	}
	to->dropped += from->dropped;
	free(v);
	return 0;
}

/* TLS-RPT policies (each addition one decision: ok or failed) and their
 * rules, the first four named. */
static int
merge_pol(struct tlspa_table *to, const struct tlspa_table *from)
{
	struct tlspa_ent **v = in_order(from);
	const struct tlspa_pol *x;
	struct tlspa_pol *y;
	size_t i;
	int k, j;

	if (v == NULL)
		return -1;
	for (i = 0; i < from->n; i++) {
		x = (const struct tlspa_pol *)v[i];
		if ((y = merge_get(to, v[i], x->ok + x->failed)) == NULL)
			continue;
		if (y->day[0] == '\0') {
			memcpy(y->day, x->day, sizeof(y->day));
			y->start = x->start;
			y->end = x->end;
			memcpy(y->host, x->host, sizeof(y->host));
		}
		y->ok += x->ok;
		y->failed += x->failed;
		for (k = 0; k < x->nrules && y->nrules < 4; k++) {
			for (j = 0; j < y->nrules; j++)
				if (strcmp(y->rules[j], x->rules[k]) == 0)
					break;
			if (j == y->nrules)
				memcpy(y->rules[y->nrules++], x->rules[k],
				       sizeof(y->rules[0]));
		}
	}
	to->dropped += from->dropped;
	free(v);
	return 0;
}

/* TLS-RPT failure details, after the policies: a detail's key begins
 * with its policy's address, so it is made again with the fleet's
 * policy, to whose list it is added as report.c adds it (at the head,
 * when first seen). A detail of a policy that did not enter the fleet's
 * table was never looked for, so it is not dropped either. */
static int
merge_det(struct tlspa_table *to, const struct tlspa_table *from,
	  const struct tlspa_table *pols)
{
	struct tlspa_ent **v = in_order(from);
	const struct tlspa_det *x;
	struct tlspa_pol *p;
	struct tlspa_det *y;
	struct tlspa_ent k;
	char key[400];
	size_t i, at;

	if (v == NULL)
		return -1;
	for (i = 0; i < from->n; i++) {
		x = (const struct tlspa_det *)v[i];
		p = tlspa_table_find(pols, x->pol->e.key, x->pol->e.klen);
		at = strlen(x->e.key) + 1; /* past the address */
		if (p == NULL || at > x->e.klen)
			continue;
		k.klen = (size_t)snprintf(key, sizeof(key), "%p", (void *)p);
		if (k.klen + 1 + x->e.klen - at > sizeof(key))
			continue;
		key[k.klen++] = '\0';
		memcpy(key + k.klen, x->e.key + at, x->e.klen - at);
		k.klen += x->e.klen - at;
		k.key = key;
		if ((y = merge_get(to, &k, x->count)) == NULL)
			continue;
		if (y->result == NULL) {
			y->result = x->result;
			y->reason = x->reason;
			y->unknown = x->unknown;
			memcpy(y->ip, x->ip, sizeof(y->ip));
			y->pol = p;
			y->next = p->details;
			p->details = y;
		}
		y->count += x->count;
	}
	to->dropped += from->dropped;
	free(v);
	return 0;
}

/* html: days (each addition one decision of the day) and rules by day. */
static int
merge_days(struct tlspa_table *to, const struct tlspa_table *from)
{
	struct tlspa_ent **v = in_order(from);
	const struct tlspa_day *x;
	struct tlspa_day *y;
	size_t i;

	if (v == NULL)
		return -1;
	for (i = 0; i < from->n; i++) {
		x = (const struct tlspa_day *)v[i];
		if ((y = merge_get(to, v[i], x->n)) == NULL)
			continue;
		y->start = x->start;
		y->n += x->n;
		y->passed += x->passed;
		y->failed += x->failed;
		add(y->ver, x->ver, NVER);
		add(y->cert, x->cert, NCERT);
		add(y->action, x->action, NACT);
	}
	to->dropped += from->dropped;
	free(v);
	return 0;
}

static int
merge_dayrule(struct tlspa_table *to, const struct tlspa_table *from)
{
	struct tlspa_ent **v = in_order(from);
	const struct tlspa_dayrule *x;
	struct tlspa_dayrule *y;
	size_t i;

	if (v == NULL)
		return -1;
	for (i = 0; i < from->n; i++) {
		x = (const struct tlspa_dayrule *)v[i];
		if ((y = merge_get(to, v[i], x->n)) == NULL)
			continue;
		y->n += x->n;
		y->met += x->met;
	}
	to->dropped += from->dropped;
	free(v);
	return 0;
}

/* html: starts and reloads, the earlier host's first, as many as fit. */
static int
merge_reloads(struct tlspa_report *to, const struct tlspa_report *from)
{
	size_t n = from->nreloads;

	if (n > TLSPA_RELOADS_MAX - to->nreloads)
		n = TLSPA_RELOADS_MAX - to->nreloads;
	to->reloads_dropped += from->reloads_dropped + (from->nreloads - n);
	if (n == 0)
		return 0;
	if (to->reloads == NULL &&
	    (to->reloads = calloc(TLSPA_RELOADS_MAX, sizeof(*to->reloads))) ==
		    NULL)
		return -1;
	memcpy(to->reloads + to->nreloads, from->reloads,
	       n * sizeof(*to->reloads));
	to->nreloads += n;
	return 0;
}

int
tlspa_report_merge(struct tlspa_report *to, struct tlspa_report *from)
{
	if (from->first_ms < to->first_ms)
		to->first_ms = from->first_ms;
	if (from->last_ms > to->last_ms)
		to->last_ms = from->last_ms;
	add(to->types, from->types, NTYPE);
	tally_merge(&to->total, &from->total);
	to->mail_n += from->mail_n;
	to->ndec += from->ndec;
	if (from->day[0] != '\0') {
		memcpy(to->day, from->day, sizeof(to->day));
		to->day_start = from->day_start;
		to->day_end = from->day_end;
	}
	to->cur_day = NULL; /* a cache of the counting: not used after */
	to->sender_row = NULL;
	if (merge_rows(&to->dom, &from->dom) < 0 ||
	    merge_rows(&to->rule, &from->rule) < 0 ||
	    merge_rows(&to->client, &from->client) < 0 ||
	    merge_exc(&to->exc, &from->exc) < 0 ||
	    merge_pol(&to->pol, &from->pol) < 0 ||
	    merge_det(&to->det, &from->det, &to->pol) < 0 ||
	    merge_days(&to->days, &from->days) < 0 ||
	    merge_dayrule(&to->dayrule, &from->dayrule) < 0 ||
	    merge_rows(&to->sender, &from->sender) < 0 ||
	    merge_rows(&to->hosts, &from->hosts) < 0 ||
	    tlspa_report_merge_pairs(&to->pairs, &from->pairs) < 0 ||
	    tlspa_report_merge_pairs(&to->dpairs, &from->dpairs) < 0 ||
	    merge_reloads(to, from) < 0)
		return -1;
	return 0;
}
