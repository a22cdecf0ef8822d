/*
 * table.h - bounded hash tables of values keyed by strings, the counters
 * of tlspolicy-audit report (private to it).
 */
#ifndef TLSPOLICY_AUDIT_TABLE_H
#define TLSPOLICY_AUDIT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define TLSPA_TABLE_MAX 100000 /* distinct keys per table */

/* Every table value begins with its key. */
struct tlspa_ent {
	const char *key;
	size_t klen;
	uint64_t seq; /* the order it was added in, 0 first (a fleet report
			 merges a host's table in that order) */
};

struct tlspa_slot {
	uint64_t h;
	struct tlspa_ent *e;
};

/* A bounded hash table of values of valsz bytes (set before use). */
struct tlspa_table {
	struct tlspa_slot *s;
	size_t n, cap, valsz;
	uint64_t dropped;	/* additions that found the table full */
	struct tlspa_ent *last; /* the value found last (private) */
};

/*
 * The value for key k (kn bytes), created zeroed if new, its struct
 * tlspa_ent filled; NULL (counted in t->dropped) when the table is full
 * or memory ran out. The table owns the value.
 */
void *tlspa_table_get(struct tlspa_table *t, const char *k, size_t kn);

/* The value for key k (kn bytes), or NULL; never adds one, never
 * counts in t->dropped. */
void *tlspa_table_find(const struct tlspa_table *t, const char *k, size_t kn);

/* The values of t (caller frees the array) sorted with cmp; NULL when
 * out of memory. */
struct tlspa_ent **tlspa_table_sorted(const struct tlspa_table *t,
				      int (*cmp)(const void *, const void *));

/* Frees every value (after free_val, if not NULL, on each) and the
 * table, which is left empty (valsz too). */
void tlspa_table_free(struct tlspa_table *t,
		      void (*free_val)(struct tlspa_ent *));

/* A qsort comparator of struct tlspa_ent *: by key, bytewise. */
int tlspa_table_by_key(const void *, const void *);

#endif
