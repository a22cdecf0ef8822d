/*
 * table.c - bounded hash tables for the counters of tlspolicy-audit
 * report.
 *
 * Open addressing with linear probing, FNV-1a keys, doubling at half
 * full. Past TLSPA_TABLE_MAX distinct keys a table takes no new ones and
 * counts what it could not place, so memory stays bounded by the table
 * size whatever the log holds.
 */
#include <stdlib.h>
#include <string.h>

#include "table.h"

static uint64_t
hash_key(const char *k, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--) {
		h ^= (unsigned char)*k++;
		h *= 1099511628211ULL;
	}
	/* 0 marks an empty slot. (Not h | 1: the slot index is h's low
	 * bits, and an always-odd index left every other slot a home to
	 * none, so that probes ran long.) */
	return h != 0 ? h : 1;
}

static int
table_grow(struct tlspa_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024, i, j;
	struct tlspa_slot *ns = calloc(ncap, sizeof(*ns));

	if (ns == NULL)
		return -1;
	for (i = 0; i < t->cap; i++) {
		if (t->s[i].h == 0)
			continue;
		for (j = t->s[i].h & (ncap - 1); ns[j].h != 0;
		     j = (j + 1) & (ncap - 1))
			;
		ns[j] = t->s[i];
	}
	free(t->s);
	t->s = ns;
	t->cap = ncap;
	return 0;
}

void *
tlspa_table_get(struct tlspa_table *t, const char *k, size_t kn)
{
	struct tlspa_ent *e = t->last;
	uint64_t h;
	size_t j;

	/* The same key as last time is common (the client and the rules of
	 * a message's recipients): no hash, no probe. */
	if (e != NULL && e->klen == kn && memcmp(e->key, k, kn) == 0)
		return e;
	h = hash_key(k, kn);
	if (t->cap > 0)
		for (j = h & (t->cap - 1); t->s[j].h != 0;
		     j = (j + 1) & (t->cap - 1))
			if (t->s[j].h == h && t->s[j].e->klen == kn &&
			    memcmp(t->s[j].e->key, k, kn) == 0)
				return t->last = t->s[j].e;
	if (t->n >= TLSPA_TABLE_MAX ||
	    ((t->n + 1) * 2 > t->cap && table_grow(t) < 0) ||
	    (e = calloc(1, t->valsz + kn + 1)) == NULL) {
		t->dropped++;
		return NULL;
	}
	memcpy((char *)e + t->valsz, k, kn);
	e->key = (char *)e + t->valsz;
	e->klen = kn;
	e->seq = t->n;
	for (j = h & (t->cap - 1); t->s[j].h != 0; j = (j + 1) & (t->cap - 1))
		;
	t->s[j].h = h;
	t->s[j].e = e;
	t->n++;
	return t->last = e;
}

void *
tlspa_table_find(const struct tlspa_table *t, const char *k, size_t kn)
{
	uint64_t h = hash_key(k, kn);
	size_t j;

	if (t->cap == 0)
		return NULL;
	for (j = h & (t->cap - 1); t->s[j].h != 0; j = (j + 1) & (t->cap - 1))
		if (t->s[j].h == h && t->s[j].e->klen == kn &&
		    memcmp(t->s[j].e->key, k, kn) == 0)
			return t->s[j].e;
	return NULL;
}

struct tlspa_ent **
tlspa_table_sorted(const struct tlspa_table *t,
		   int (*cmp)(const void *, const void *))
{
	struct tlspa_ent **v = malloc((t->n ? t->n : 1) * sizeof(*v));
	size_t i, n = 0;

	if (v == NULL)
		return NULL;
	for (i = 0; i < t->cap; i++)
		if (t->s[i].h != 0)
			v[n++] = t->s[i].e;
	qsort(v, n, sizeof(*v), cmp);
	return v;
}

void
tlspa_table_free(struct tlspa_table *t, void (*free_val)(struct tlspa_ent *))
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		if (t->s[i].h != 0) {
			if (free_val != NULL)
				free_val(t->s[i].e);
			free(t->s[i].e);
		}
	free(t->s);
	memset(t, 0, sizeof(*t));
}

int
tlspa_table_by_key(const void *a, const void *b)
{
	const struct tlspa_ent *x = *(const struct tlspa_ent *const *)a;
	const struct tlspa_ent *y = *(const struct tlspa_ent *const *)b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	return c != 0 ? c : (x->klen < y->klen ? -1 : x->klen > y->klen);
}
