/*
 * jsonread.h - a small JSON parser for audit records (private to
 * tlspolicy-audit and its tests).
 *
 * The parser turns one line into a tree of values allocated in an arena
 * that the next line reuses. Strings are decoded to their bytes,
 * including \udcHH back to the byte 0xHH (the writer's
 * "surrogateescape"), so a value that came from the network compares
 * equal to what was sent. Hostile input is an error with a position,
 * never a crash: nesting depth and the number of values per line are
 * capped.
 */
#ifndef TLSPOLICY_AUDIT_JSONREAD_H
#define TLSPOLICY_AUDIT_JSONREAD_H

#include <stddef.h>

#define TLSPA_JSON_DEPTH 64	     /* deeper nesting is an error */
#define TLSPA_JSON_VALUES (1u << 19) /* values per line */

enum tlspa_jtype {
	TLSPA_J_NULL = 0,
	TLSPA_J_FALSE,
	TLSPA_J_TRUE,
	TLSPA_J_NUM,
	TLSPA_J_STR,
	TLSPA_J_ARR,
	TLSPA_J_OBJ,
};

/*
 * A value. Everything a tree points to lives in its parser's arena or
 * in the parsed line, and is valid until the parser's next parse.
 */
struct tlspa_jv {
	enum tlspa_jtype type;
	int is_int;	 /* J_NUM: the number is an integer in range */
	long long i;	 /* J_NUM: its value when is_int */
	const char *s;	 /* J_STR: decoded bytes, NUL-terminated;
				   J_NUM: the token as written */
	size_t len;	 /* J_STR, J_NUM: bytes in s; containers:
				   number of children */
	const char *raw; /* J_STR: the token as written in the line,
				   between its quotes, not decoded */
	size_t rawlen;
	const char *key; /* a member of an object: its decoded name */
	size_t keylen;
	struct tlspa_jv *kids; /* containers: the first child */
	struct tlspa_jv *next; /* the next member or element */
};

struct tlspa_json_block;

/* A parser with its arena. Zero-initialise; free with tlspa_json_free. */
struct tlspa_json {
	struct tlspa_json_block *blocks;
	size_t nvalues;
	int depth;
	const char *line, *end; /* private: the text being parsed */
	const char *err;	/* after a failed parse: static text */
	size_t errpos;		/* ... and the byte offset (0-based) */
};

/*
 * Parses one JSON value (the whole of p[0..len), no surrounding
 * whitespace other than JSON's own) and returns its tree, or NULL with
 * jp->err and jp->errpos set. The previous tree is released. The tree
 * may point into p, which the caller keeps unchanged while using it.
 */
const struct tlspa_jv *tlspa_json_parse(struct tlspa_json *jp, const char *p,
					size_t len);

void tlspa_json_free(struct tlspa_json *jp);

/*
 * Decodes the body of a JSON string token (between its quotes) into out,
 * which has room for at least len + 1 bytes (a decoded string is never
 * longer than its token). Returns the decoded length (out is
 * NUL-terminated), or -1 if the token is not a valid string body.
 */
long tlspa_json_unescape(const char *raw, size_t len, char *out);

/* The member `key` of an object, or NULL (also when obj is not one). */
const struct tlspa_jv *tlspa_jv_get(const struct tlspa_jv *obj,
				    const char *key);

/* The decoded bytes of a string value, or NULL for anything else. */
const char *tlspa_jv_str(const struct tlspa_jv *v);

/* For a redacted value {"sha256":"<64 hex>"}: the hex digest; else NULL. */
const char *tlspa_jv_digest(const struct tlspa_jv *v);

/* 1 if v is the string s (exactly, bytes). */
int tlspa_jv_is(const struct tlspa_jv *v, const char *s);

#endif
