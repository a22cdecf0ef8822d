/*
 * domtab.c - the domain table: one hash probe per label.
 *
 * A policy may hold a million domains, and every RCPT asks for the most
 * specific one. Entries are keyed by normalised name and carry both the
 * exact rule and the subdomain rule for that name, so a lookup of
 * a.b.example.com probes "a.b.example.com", then "b.example.com",
 * "example.com", "com": O(labels), independent of the number of rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/*
 * A table of a million domains is 64 MiB probed at random. Where the
 * system gives transparent huge pages on request (madvise mode), asking
 * for them makes the compile take a page fault per 2 MiB rather than per
 * 4 KiB, and a probe miss the TLB less. glibc serves a block this large
 * with a fresh mapping of its own, not yet touched beyond its header.
 */
#define SLOTS_HUGE_MIN (4u * 1024 * 1024)

static struct tlsp_domtab_entry *
slots_alloc(size_t cap)
{
	struct tlsp_domtab_entry *p = calloc(cap, sizeof(*p));
	size_t bytes = cap * sizeof(*p), page = 4096;
	uintptr_t a = (uintptr_t)p, lo, hi;

	if (p == NULL || bytes < SLOTS_HUGE_MIN)
		return p;
	lo = (a + page - 1) & ~(uintptr_t)(page - 1);
	hi = (a + bytes) & ~(uintptr_t)(page - 1);
#ifdef MADV_HUGEPAGE
	(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#endif
	return p;
}

/* FNV-1a: short keys, no adversary controls the table's contents (the
 * policy author does), and lookups of hostile names only probe. */
static uint32_t
hash_name(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

int
tlsp_domtab_init(struct tlsp_domtab *t, size_t expected)
{
	size_t cap = 16;

	while (cap < expected * 2)
		cap <<= 1;
	t->slots = slots_alloc(cap);
	if (t->slots == NULL)
		return -1;
	t->mask = cap - 1;
	t->used = 0;
	return 0;
}

static int
grow(struct tlsp_domtab *t)
{
	struct tlsp_domtab_entry *old = t->slots;
	size_t oldcap = t->mask + 1, cap = oldcap * 2, i;

	t->slots = slots_alloc(cap);
	if (t->slots == NULL) {
		t->slots = old;
		return -1;
	}
	t->mask = cap - 1;
	for (i = 0; i < oldcap; i++) {
		size_t j;

		if (old[i].key == NULL)
			continue;
		for (j = old[i].hash & t->mask; t->slots[j].key;
		     j = (j + 1) & t->mask)
			;
		t->slots[j] = old[i];
	}
	free(old);
	return 0;
}

struct tlsp_domtab_entry *
tlsp_domtab_upsert(struct tlsp_domtab *t, const char *key)
{
	size_t len = strlen(key), j;
	uint32_t h = hash_name(key, len);

	/* Keep the load factor at or under one half. */
	if ((t->used + 1) * 2 > t->mask + 1 && grow(t) < 0)
		return NULL;
	for (j = h & t->mask; t->slots[j].key; j = (j + 1) & t->mask) {
		if (t->slots[j].hash == h && strcmp(t->slots[j].key, key) == 0)
			return &t->slots[j];
	}
	t->slots[j].key = key;
	t->slots[j].hash = h;
	t->used++;
	return &t->slots[j];
}

const struct tlsp_domtab_entry *
tlsp_domtab_get(const struct tlsp_domtab *t, const char *key, size_t len)
{
	uint32_t h;
	size_t j;

	if (t->slots == NULL)
		return NULL;
	h = hash_name(key, len);
	for (j = h & t->mask; t->slots[j].key; j = (j + 1) & t->mask) {
		const struct tlsp_domtab_entry *e = &t->slots[j];

		if (e->hash == h && strncmp(e->key, key, len) == 0 &&
		    e->key[len] == '\0')
			return e;
	}
	return NULL;
}

const struct tlsp_rule *
tlsp_domtab_match(const struct tlsp_domtab *t, const char *domain)
{
	const struct tlsp_domtab_entry *e;
	const char *p;
	size_t len = strlen(domain);

	e = tlsp_domtab_get(t, domain, len);
	if (e && e->exact)
		return e->exact;
	/* Walk up the parents; the first subdomain rule is the longest. */
	for (p = strchr(domain, '.'); p; p = strchr(p + 1, '.')) {
		e = tlsp_domtab_get(t, p + 1, len - (size_t)(p + 1 - domain));
		if (e && e->sub)
			return e->sub;
	}
	return NULL;
}

void
tlsp_domtab_free(struct tlsp_domtab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->used = 0;
}
