/*
 * arena.c - a bump allocator for objects that share one lifetime.
 *
 * A compiled policy and the YAML tree it is built from are made of many
 * small objects that all die together; allocating them from chunks keeps
 * a million-rule policy compact and makes freeing it one loop.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CHUNK_MIN (64u * 1024)
#define CHUNK_MAX (4u * 1024 * 1024)
/* Pointers, size_t and 64-bit integers: nothing in a policy needs more,
 * and 16 would pad every 40-byte YAML node to 48. */
#define ALIGN 8

/*
 * Chunks come zeroed from calloc, so objects need no memset of their own
 * (for a large chunk the kernel's fresh pages already are). Chunk sizes
 * double from 64 KiB to 4 MiB: a small policy stays small, a million
 * rules cost a few hundred allocations, not tens of thousands.
 */
struct chunk {
	struct chunk *next;
	size_t size, used;
	_Alignas(max_align_t) unsigned char data[];
};

struct tlsp_arena {
	struct chunk *head;
	size_t reserved;
	size_t next_size; /* of the next ordinary chunk */
};

struct tlsp_arena *
tlsp_arena_new(void)
{
	return calloc(1, sizeof(struct tlsp_arena));
}

/* n bytes at the given alignment (a power of two), zeroed. */
static void *
arena_take(struct tlsp_arena *a, size_t n, size_t align)
{
	struct chunk *c = a->head;
	size_t at;
	void *p;

	if (n == 0)
		n = 1;
	at = c ? (c->used + align - 1) & ~(align - 1) : 0;
	if (c == NULL || at > c->size || c->size - at < n) {
		size_t size;

		if (a->next_size < CHUNK_MIN)
			a->next_size = CHUNK_MIN;
		size = n > a->next_size ? n : a->next_size;
		/* Large objects get a chunk of their own, behind the head,
		 * so the current chunk's free space is not wasted. */
		c = calloc(1, sizeof(*c) + size);
		if (c == NULL)
			return NULL;
		c->size = size;
		if (a->head && size > a->next_size) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
			if (a->next_size < CHUNK_MAX)
				a->next_size *= 2;
		}
		a->reserved += size;
		at = 0;
	}
	p = c->data + at;
	c->used = at + n;
	return p;
}

void *
tlsp_arena_alloc(struct tlsp_arena *a, size_t n)
{
	return arena_take(a, n, ALIGN);
}

char *
tlsp_arena_strndup(struct tlsp_arena *a, const char *s, size_t n)
{
	char *p = arena_take(a, n + 1, 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

size_t
tlsp_arena_size(const struct tlsp_arena *a)
{
	return a ? a->reserved : 0;
}

void
tlsp_arena_free(struct tlsp_arena *a)
{
	struct chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}
