/*
 * chain.h - the hash chain of the audit log (private to audit/).
 *
 * The writer and the verifier share these functions, so the bytes that
 * are hashed are defined once; audit/FORMAT.md specifies them for anyone
 * writing an independent verifier. Nothing here allocates except into the
 * caller's tlsp_jbuf (or a tlsp_chain_ctx), holds a lock or keeps state:
 * any thread may call any function.
 */
#ifndef TLSPOLICY_AUDIT_CHAIN_H
#define TLSPOLICY_AUDIT_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

#define TLSP_HASH_HEX 64 /* a hash in hex, without the NUL */
#define TLSP_SALT_HEX 32
/* `,"hash":"` 64 hex `"}`, and the same length for `,"prev":"...."}` */
#define TLSP_CHAIN_SUFFIX 75

extern const char tlsp_chain_genesis[TLSP_HASH_HEX + 1];

/* The HMAC key, or none (k == NULL). Borrowed. */
struct tlsp_chain_key {
	unsigned char *k; /* owned when loaded by tlsp_chain_key_load */
	size_t len;
};

/* What one full line says about itself. */
struct tlsp_chain_rec {
	uint64_t seq;
	char prev[TLSP_HASH_HEX + 1];
	char hash[TLSP_HASH_HEX + 1]; /* as written in the line */
};

/*
 * Replaces each redactable string value of the record `l` (len bytes,
 * no LF, without the "hash" member) by its digest object, writing the
 * canonical bytes into `out` (reset first). Returns 0, or -1 if l is not
 * tokenizable (an unterminated string). Out of memory shows in out->oom.
 */
int tlsp_chain_canon(const char *l, size_t len, struct tlsp_jbuf *out);

/*
 * The hash of the record `l` (as for tlsp_chain_canon, ending with its
 * ,"prev":"P"} member) into hex (65 bytes, NUL-terminated). `scratch` is
 * the caller's buffer for the canonical bytes, reused between calls.
 * Returns 0, or -1 when l does not end in a well-formed prev member or
 * cannot be tokenized.
 */
int tlsp_chain_hash(const char *l, size_t len, const struct tlsp_chain_key *key,
		    struct tlsp_jbuf *scratch, char hex[TLSP_HASH_HEX + 1]);

/*
 * What hashing records needs, prepared once (OpenSSL's contexts, the HMAC
 * key set): for a writer or verifier that hashes many records with one
 * key. NULL when out of memory; the caller frees it with
 * tlsp_chain_ctx_free(). It copies what it needs of key. One thread at a
 * time may use it.
 */
struct tlsp_chain_ctx;
struct tlsp_chain_ctx *tlsp_chain_ctx_new(const struct tlsp_chain_key *key);
void tlsp_chain_ctx_free(struct tlsp_chain_ctx *);

/* tlsp_chain_hash() with the key and the contexts of cx. */
int tlsp_chain_hash_with(struct tlsp_chain_ctx *cx, const char *l, size_t len,
			 struct tlsp_jbuf *scratch,
			 char hex[TLSP_HASH_HEX + 1]);

/*
 * Parses a full line (without its LF): seq from its start, prev and hash
 * from its end. Returns 0, or -1 if the line is not shaped like a record
 * (torn, foreign); it does not check the hash.
 */
int tlsp_chain_parse(const char *line, size_t len, struct tlsp_chain_rec *rec);

/*
 * Checks a full line's hash. Returns 1 when it is right, 0 when it is
 * wrong (the record was changed, or the key differs), -1 when the line
 * is not a record.
 */
int tlsp_chain_verify(const char *line, size_t len,
		      const struct tlsp_chain_key *key,
		      struct tlsp_jbuf *scratch, struct tlsp_chain_rec *rec);

/*
 * The field digest of a value token `v` (vlen bytes as written between
 * its quotes) under key name `k` and the record's salt (saltlen 0: none),
 * as 64 hex digits + NUL into hex.
 */
void tlsp_chain_field_digest(const char *salt, size_t saltlen, const char *k,
			     const char *v, size_t vlen,
			     char hex[TLSP_HASH_HEX + 1]);

/* The index of the quote that closes the string token opened at p[i],
 * or (size_t)-1 when the line ends first. */
size_t tlsp_chain_str_end(const char *p, size_t len, size_t i);

/* The record's salt: the value token of its first top-level "salt"
 * member, as written (*salt, *n; NULL and 0 when there is none). Returns
 * 0, or -1 if the line cannot be tokenized. */
int tlsp_chain_salt(const char *p, size_t len, const char **salt, size_t *n);

/* 1 if key (klen bytes) names a redactable member. */
int tlsp_chain_redactable(const char *key, size_t klen);

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void tlsp_chain_hex(const unsigned char *b, size_t n, char *out);

/* Reads a key file (whole content, 16 bytes to 4 KiB) into *key, which the
 * caller frees with tlsp_chain_key_free. 0, or -1 with err set. */
int tlsp_chain_key_load(const char *path, struct tlsp_chain_key *key, char *err,
			size_t errsz);
void tlsp_chain_key_free(struct tlsp_chain_key *key);

#endif
