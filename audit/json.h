/*
 * json.h - the JSON builder of audit/ (private to audit/).
 *
 * Audit records are built by appending to a growable buffer: keys, strings
 * (always escaped with tlsp_escape_json's rules), integers, booleans and
 * nulls, with commas placed automatically. An allocation failure does not
 * stop the caller mid-record: the buffer remembers it in `oom`, later
 * appends do nothing, and the caller checks once at the end. The buffer
 * has no static storage and no locks; each one belongs to one thread.
 */
#ifndef TLSPOLICY_AUDIT_JSON_H
#define TLSPOLICY_AUDIT_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Zero-initialise (or tlsp_jb_init); release with tlsp_jb_free. `p` is
 * NUL-terminated whenever len > 0 and oom is 0. */
struct tlsp_jbuf {
	char *p;
	size_t len, cap;
	int oom; /* an append failed: the content is incomplete */
};

void tlsp_jb_init(struct tlsp_jbuf *);
void tlsp_jb_free(struct tlsp_jbuf *);
/* Empties the buffer, keeping its memory, and clears oom. */
void tlsp_jb_reset(struct tlsp_jbuf *);

/* Makes room for n more bytes at once (a hint: appends grow the buffer
 * anyway; a failure sets oom). */
void tlsp_jb_reserve(struct tlsp_jbuf *, size_t n);

/* Appends bytes as they are: the caller vouches that they are JSON. */
void tlsp_jb_raw(struct tlsp_jbuf *, const char *s, size_t n);

/* Values. Each one is preceded by a ',' unless it opens a container or
 * follows a key. tlsp_jb_str(NULL) writes null. */
void tlsp_jb_open(struct tlsp_jbuf *, char brace);  /* '{' or '[' */
void tlsp_jb_close(struct tlsp_jbuf *, char brace); /* '}' or ']' */
void tlsp_jb_str(struct tlsp_jbuf *, const char *s);
void tlsp_jb_strn(struct tlsp_jbuf *, const char *s, size_t n);
void tlsp_jb_int(struct tlsp_jbuf *, long long);
void tlsp_jb_uint(struct tlsp_jbuf *, uint64_t);
void tlsp_jb_bool(struct tlsp_jbuf *, int);
void tlsp_jb_null(struct tlsp_jbuf *);

/* A key; the next value belongs to it. The key is escaped too. */
void tlsp_jb_key(struct tlsp_jbuf *, const char *key);

/* Shorthands for key + value. */
void tlsp_jb_kstr(struct tlsp_jbuf *, const char *key, const char *s);
void tlsp_jb_kint(struct tlsp_jbuf *, const char *key, long long);
void tlsp_jb_kbool(struct tlsp_jbuf *, const char *key, int);

#endif
