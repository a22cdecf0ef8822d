/*
 * ytree.h - a YAML document as a small tree with positions.
 *
 * The loader reads the file with libyaml's event API into this tree, so the
 * compiler can walk it with every node's line and column at hand. The
 * reader enforces the limits of the format: no anchors or aliases (alias
 * bombs), no tags, one document, bounded nesting, no duplicate keys.
 */
#ifndef TLSP_YTREE_H
#define TLSP_YTREE_H

#include <stddef.h>

#include "internal.h"

enum ynode_type {
	TLSP_YNODE_SCALAR = 0,
	TLSP_YNODE_MAP,
	TLSP_YNODE_SEQ,
};

/* 40 bytes: a million-rule policy is some seven million of these. Sizes
 * fit 32 bits, as a policy is at most TLSP_POLICY_MAX_BYTES. */
struct tlsp_ynode {
	enum ynode_type type;
	unsigned line, col; /* 1-based */
	int plain;	    /* an unquoted scalar (so `true` is a boolean) */
	const char *str;    /* scalar text, NUL-terminated */
	uint32_t len;
	uint32_t n; /* map: pairs; seq: items */
	struct tlsp_ynode *
		*kids; /* map: key0, val0, key1, val1...; seq: items */
};

/*
 * Parses buf into a tree allocated from `arena`. Returns the root (an
 * empty map for an empty document), or NULL with errors added to *diags,
 * each positioned in `name`.
 */
struct tlsp_ynode *tlsp_ytree_parse(struct tlsp_arena *arena, const char *name,
				    const char *buf, size_t len,
				    struct tlsp_diags *diags);

/* The node's value if it is a map key's value, by key name; NULL. */
const struct tlsp_ynode *tlsp_ytree_get(const struct tlsp_ynode *map,
					const char *key);

/* "a mapping", "a list", "a string" - for "expected X, found Y". */
const char *tlsp_ytree_kind(const struct tlsp_ynode *);

#endif
