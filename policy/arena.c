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

struct chunk {
	struct chunk *next;
	size_t size, used;
	_Alignas(max_align_t) unsigned char data[];
};

struct tlsp_arena {
	struct chunk *head;
	size_t reserved;
};

struct tlsp_arena *
tlsp_arena_new(void)
{
	return calloc(1, sizeof(struct tlsp_arena));
}

void *
tlsp_arena_alloc(struct tlsp_arena *a, size_t n)
{
	const size_t align = _Alignof(max_align_t);
	struct chunk *c = a->head;
	void *p;

	n = (n + align - 1) & ~(align - 1);
	if (n == 0)
		n = align;
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;

		/* Large objects get a chunk of their own, behind the head,
		 * so the current chunk's free space is not wasted. */
		c = malloc(sizeof(*c) + size);
		if (c == NULL)
			return NULL;
		c->size = size;
		c->used = 0;
		if (a->head && size > CHUNK_MIN) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
		a->reserved += size;
	}
	p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *
tlsp_arena_strndup(struct tlsp_arena *a, const char *s, size_t n)
{
	char *p = tlsp_arena_alloc(a, n + 1);

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
