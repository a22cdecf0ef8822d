/*
 * ytree.c - read a YAML document into a positioned tree (see ytree.h).
 *
 * libyaml's event API is used rather than its document loader so that
 * anchors, aliases and tags can be refused as they appear (an alias bomb
 * never expands) and nesting is capped before memory is spent on it.
 */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "ytree.h"

/* A container being built: its children collect here until it ends. */
struct frame {
	struct tlsp_ynode *node;
	struct tlsp_ynode **kids;
	size_t n, cap;
};

struct reader {
	struct tlsp_arena *arena;
	const char *name;
	const char *buf;
	size_t len;
	struct tlsp_diags *diags;
	struct frame stack[TLSP_POLICY_MAX_DEPTH + 1];
	int depth;
	struct tlsp_ynode *root;
	int failed;
};

static void
error_at(struct reader *r, const yaml_mark_t *m, const char *msg,
	 const char *detail)
{
	tlsp_diags_add(r->diags, 0, r->name, (unsigned)m->line + 1,
		       (unsigned)m->column + 1, "%s%s%s", msg,
		       detail ? ": " : "", detail ? detail : "");
	r->failed = 1;
}

static struct tlsp_ynode *
new_node(struct reader *r, enum ynode_type t, const yaml_mark_t *m)
{
	struct tlsp_ynode *y = tlsp_arena_alloc(r->arena, sizeof(*y));

	if (y) {
		y->type = t;
		y->line = (unsigned)m->line + 1;
		y->col = (unsigned)m->column + 1;
	}
	return y;
}

static int
push_kid(struct frame *f, struct tlsp_ynode *kid)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct tlsp_ynode **v = realloc(f->kids, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		f->kids = v;
		f->cap = cap;
	}
	f->kids[f->n++] = kid;
	return 0;
}

/* Attaches a finished node to its parent (or makes it the root). */
static int
attach(struct reader *r, struct tlsp_ynode *y)
{
	if (r->depth == 0) {
		r->root = y;
		return 0;
	}
	return push_kid(&r->stack[r->depth - 1], y);
}

static uint32_t
key_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* Duplicate keys are errors: YAML says so, and silently taking the last
 * one would hide a policy editor's mistake. A hash set of the keys seen,
 * in document order, so a million-domain map costs O(n), and each
 * duplicate is reported against the first occurrence of its key. */
static void
check_duplicates(struct reader *r, const struct tlsp_ynode *map)
{
	const struct tlsp_ynode **seen;
	size_t i, j, cap = 16;

	if (map->n < 2)
		return;
	while (cap < map->n * 2)
		cap <<= 1;
	seen = calloc(cap, sizeof(*seen));
	if (seen == NULL) {
		r->failed = 1;
		return;
	}
	for (i = 0; i < map->n; i++) {
		const struct tlsp_ynode *k = map->kids[2 * i];

		if (k->type != TLSP_YNODE_SCALAR)
			continue;
		for (j = key_hash(k->str) & (cap - 1); seen[j];
		     j = (j + 1) & (cap - 1))
			if (strcmp(seen[j]->str, k->str) == 0)
				break;
		if (seen[j] == NULL) {
			seen[j] = k;
			continue;
		}
		tlsp_diags_add(r->diags, 0, r->name, k->line, k->col,
			       "duplicate key '%s' (first at line %u)", k->str,
			       seen[j]->line);
		r->failed = 1;
	}
	free(seen);
}

static int
open_container(struct reader *r, yaml_event_t *ev, enum ynode_type t)
{
	struct tlsp_ynode *y = new_node(r, t, &ev->start_mark);

	if (y == NULL)
		return -1;
	if (r->depth >= TLSP_POLICY_MAX_DEPTH) {
		error_at(r, &ev->start_mark, "nesting too deep",
			 "the policy format needs at most 16 levels");
		return -1;
	}
	memset(&r->stack[r->depth], 0, sizeof(r->stack[0]));
	r->stack[r->depth++].node = y;
	return 0;
}

static int
close_container(struct reader *r)
{
	struct frame *f = &r->stack[--r->depth];
	struct tlsp_ynode *y = f->node;

	y->kids = tlsp_arena_alloc(r->arena,
				   (f->n ? f->n : 1) * sizeof(*y->kids));
	if (y->kids == NULL) {
		free(f->kids);
		return -1;
	}
	if (f->n)
		memcpy(y->kids, f->kids, f->n * sizeof(*y->kids));
	y->n = (uint32_t)(y->type == TLSP_YNODE_MAP ? f->n / 2 : f->n);
	free(f->kids);
	f->kids = NULL;
	if (y->type == TLSP_YNODE_MAP)
		check_duplicates(r, y);
	return attach(r, y);
}

static int
scalar(struct reader *r, yaml_event_t *ev)
{
	struct tlsp_ynode *y = new_node(r, TLSP_YNODE_SCALAR, &ev->start_mark);
	size_t len = ev->data.scalar.length;

	if (y == NULL)
		return -1;
	if (memchr(ev->data.scalar.value, '\0', len)) {
		error_at(r, &ev->start_mark, "NUL character in a value", NULL);
		return -1;
	}
	y->str = tlsp_arena_strndup(r->arena,
				    (const char *)ev->data.scalar.value, len);
	if (y->str == NULL)
		return -1;
	y->len = (uint32_t)len;
	y->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return attach(r, y);
}

/* Refuses what the policy format does not use, where it appears. */
static int
refuse_extras(struct reader *r, yaml_event_t *ev)
{
	const yaml_char_t *anchor = NULL, *tag = NULL;
	int implicit = 1;

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		error_at(r, &ev->start_mark, "aliases are not allowed",
			 "write the value out, or use a profile");
		return -1;
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		implicit = ev->data.scalar.plain_implicit ||
			   ev->data.scalar.quoted_implicit;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		implicit = ev->data.sequence_start.implicit;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		implicit = ev->data.mapping_start.implicit;
		break;
	default:
		return 0;
	}
	if (anchor) {
		error_at(r, &ev->start_mark, "anchors are not allowed",
			 "use a profile to share settings");
		return -1;
	}
	if (tag && !implicit) {
		error_at(r, &ev->start_mark, "tags are not allowed", NULL);
		return -1;
	}
	return 0;
}

static int
handle(struct reader *r, yaml_event_t *ev, int *docs)
{
	if (refuse_extras(r, ev) < 0)
		return -1;
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1) {
			error_at(r, &ev->start_mark, "more than one document",
				 "remove the '---'");
			return -1;
		}
		return 0;
	case YAML_SCALAR_EVENT:
		return scalar(r, ev);
	case YAML_SEQUENCE_START_EVENT:
		return open_container(r, ev, TLSP_YNODE_SEQ);
	case YAML_MAPPING_START_EVENT:
		return open_container(r, ev, TLSP_YNODE_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_container(r);
	default:
		return 0;
	}
}

static unsigned char
byte_at(const struct reader *r, size_t i)
{
	return i < r->len ? (unsigned char)r->buf[i] : 0;
}

/*
 * libyaml's reader errors (invalid UTF-8, control characters) carry a byte
 * offset, not a mark, as the reader fails before it has counted lines. For
 * a bad trailing byte the offset is that byte; the sequence's first byte is
 * what an editor shows as wrong, so point there.
 */
static size_t
bad_byte(const struct reader *r, const yaml_parser_t *p)
{
	size_t off = p->problem_offset;

	if (strstr(p->problem, "trailing") == NULL)
		return off;
	while (off > 0 && (byte_at(r, off - 1) & 0xc0) == 0x80)
		off--;
	if (off > 0 && byte_at(r, off - 1) >= 0xc0)
		off--;
	return off;
}

/* The bytes before `off` were decoded, so they are valid UTF-8: count line
 * breaks as libyaml does, and characters since the last one (a BOM is not
 * a column, as libyaml skips it). */
static void
position(const struct reader *r, size_t off, unsigned *line, unsigned *col)
{
	size_t i = 0;

	*line = *col = 1;
	if (off >= 3 && memcmp(r->buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	for (; i < off; i++) {
		unsigned char c = byte_at(r, i);

		if (c == '\n' || (c == '\r' && byte_at(r, i + 1) != '\n') ||
		    (c == 0xc2 && byte_at(r, i + 1) == 0x85) ||
		    (c == 0xe2 && byte_at(r, i + 1) == 0x80 &&
		     (byte_at(r, i + 2) & 0xfe) == 0xa8)) {
			(*line)++;
			*col = 0;
		}
		if ((c & 0xc0) != 0x80)
			(*col)++;
	}
}

static void
reader_error(struct reader *r, const yaml_parser_t *p)
{
	size_t off = bad_byte(r, p);
	unsigned line = 0, col = 0;

	if (p->encoding == YAML_UTF8_ENCODING && off < r->len)
		position(r, off, &line, &col);
	if (strstr(p->problem, "UTF-8") || strstr(p->problem, "Unicode"))
		tlsp_diags_add(r->diags, 0, r->name, line, col,
			       "invalid UTF-8 (byte 0x%02x at byte offset "
			       "%zu); a policy file is UTF-8 text",
			       byte_at(r, off), off);
	else if (p->problem_value >= 0)
		tlsp_diags_add(r->diags, 0, r->name, line, col,
			       "%s (U+%04X at byte offset %zu)", p->problem,
			       (unsigned)p->problem_value, off);
	else
		tlsp_diags_add(r->diags, 0, r->name, line, col,
			       "%s (at byte offset %zu)", p->problem, off);
}

static void
syntax_error(struct reader *r, const yaml_parser_t *p)
{
	const yaml_mark_t *m = &p->problem_mark;
	const char *what = p->problem ? p->problem : "cannot parse";

	if (p->error == YAML_MEMORY_ERROR) {
		tlsp_diags_add(r->diags, 0, r->name, 0, 0, "out of memory");
	} else if (p->error == YAML_READER_ERROR && p->problem) {
		reader_error(r, p);
	} else if (m->index < r->len && r->buf[m->index] == '\t') {
		tlsp_diags_add(r->diags, 0, r->name, (unsigned)m->line + 1,
			       (unsigned)m->column + 1,
			       "YAML syntax error: a tab; YAML indents with "
			       "spaces only");
	} else if (p->context) {
		tlsp_diags_add(r->diags, 0, r->name, (unsigned)m->line + 1,
			       (unsigned)m->column + 1,
			       "YAML syntax error: %s %s (line %u)", what,
			       p->context, (unsigned)p->context_mark.line + 1);
	} else {
		tlsp_diags_add(r->diags, 0, r->name, (unsigned)m->line + 1,
			       (unsigned)m->column + 1, "YAML syntax error: %s",
			       what);
	}
	r->failed = 1;
}

struct tlsp_ynode *
tlsp_ytree_parse(struct tlsp_arena *arena, const char *name, const char *buf,
		 size_t len, struct tlsp_diags *diags)
{
	struct reader r = {.arena = arena,
			   .name = name,
			   .diags = diags,
			   .buf = buf,
			   .len = len};
	yaml_parser_t p;
	yaml_event_t ev;
	int docs = 0, done = 0;

	if (!yaml_parser_initialize(&p)) {
		tlsp_diags_add(diags, 0, name, 0, 0, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(&r, &p);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		if (handle(&r, &ev, &docs) < 0) {
			if (!r.failed)
				tlsp_diags_add(diags, 0, name, 0, 0,
					       "out of memory");
			r.failed = 1;
			yaml_event_delete(&ev);
			break;
		}
		yaml_event_delete(&ev);
	}
	while (r.depth > 0)
		free(r.stack[--r.depth].kids);
	yaml_parser_delete(&p);
	if (r.failed)
		return NULL;
	if (r.root == NULL) { /* an empty file is an empty mapping */
		yaml_mark_t m = {0, 0, 0};

		r.root = new_node(&r, TLSP_YNODE_MAP, &m);
		if (r.root)
			r.root->kids = NULL;
	}
	return r.root;
}

const struct tlsp_ynode *
tlsp_ytree_get(const struct tlsp_ynode *map, const char *key)
{
	size_t i;

	if (map == NULL || map->type != TLSP_YNODE_MAP)
		return NULL;
	for (i = 0; i < map->n; i++) {
		const struct tlsp_ynode *k = map->kids[2 * i];

		if (k->type == TLSP_YNODE_SCALAR && strcmp(k->str, key) == 0)
			return map->kids[2 * i + 1];
	}
	return NULL;
}

const char *
tlsp_ytree_kind(const struct tlsp_ynode *y)
{
	if (y == NULL)
		return "nothing";
	switch (y->type) {
	case TLSP_YNODE_MAP:
		return "a mapping";
	case TLSP_YNODE_SEQ:
		return "a list";
	default:
		return y->len == 0 && y->plain ? "an empty value" : "a string";
	}
}
