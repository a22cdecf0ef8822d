/*
 * chain.c - canonical bytes and hashes of audit records (audit/FORMAT.md).
 *
 * A record's hash covers the previous record's hash and the record's own
 * bytes, except that each redactable value (an address, a host name) is
 * replaced by a salted digest of itself, so the value can later be
 * redacted without breaking the chain. Finding those values needs a
 * tokenizer, not a parser: records are written without whitespace, and a
 * string token followed by ':' is a key.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "chain.h"

const char tlsp_chain_genesis[TLSP_HASH_HEX + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

static const struct {
	const char *name;
	size_t len;
} redactable[] = {{"sender", 6}, {"addr", 4}, {"name", 4}, {"helo", 4}};

#define KEY_MIN 16
#define KEY_MAX 4096

void
tlsp_chain_hex(const unsigned char *b, size_t n, char *out)
{
	static const char hexdig[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexdig[b[i] >> 4];
		out[2 * i + 1] = hexdig[b[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 1 if s[0..n) is lowercase hex. */
static int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (hexval(s[i]) < 0)
			return 0;
	return 1;
}

int
tlsp_chain_redactable(const char *key, size_t klen)
{
	size_t i;

	for (i = 0; i < sizeof(redactable) / sizeof(redactable[0]); i++)
		if (redactable[i].len == klen &&
		    memcmp(redactable[i].name, key, klen) == 0)
			return 1;
	return 0;
}

/*
 * A backslash always escapes the byte after it: a quote closes the
 * string unless an odd run of backslashes (inside the string) precedes
 * it. memchr() finds the quotes; a record is a kilobyte of them and
 * plain text, hashed on every write and every verify.
 */
size_t
tlsp_chain_str_end(const char *p, size_t len, size_t i)
{
	const char *q;
	size_t j = i + 1, k, run;

	while (j < len && (q = memchr(p + j, '"', len - j)) != NULL) {
		k = (size_t)(q - p);
		for (run = 0; k - run > i + 1 && p[k - run - 1] == '\\'; run++)
			;
		if (run % 2 == 0)
			return k;
		j = k + 1;
	}
	return (size_t)-1;
}

int
tlsp_chain_salt(const char *p, size_t len, const char **salt, size_t *n)
{
	size_t i, e;
	int depth = 0;

	*salt = NULL;
	*n = 0;
	for (i = 0; i < len; i++) {
		if (p[i] == '{' || p[i] == '[') {
			depth++;
		} else if (p[i] == '}' || p[i] == ']') {
			depth--;
		} else if (p[i] == '"') {
			if ((e = tlsp_chain_str_end(p, len, i)) == (size_t)-1)
				return -1;
			if (depth == 1 && e - i - 1 == 4 &&
			    memcmp(p + i + 1, "salt", 4) == 0 && e + 2 < len &&
			    p[e + 1] == ':' && p[e + 2] == '"') {
				size_t ve = tlsp_chain_str_end(p, len, e + 2);

				if (ve == (size_t)-1)
					return -1;
				*salt = p + e + 3;
				*n = ve - e - 3;
				return 0;
			}
			i = e;
		}
	}
	return 0;
}

/*
 * SHA-256 and HMAC, fetched once: OpenSSL 3 otherwise looks each
 * algorithm up on every digest, which cost more than the hashing of a
 * short field.
 */
static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void
fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static const EVP_MD *
sha256(void)
{
	pthread_once(&fetch_once, fetch);
	return sha256_md != NULL ? sha256_md : EVP_sha256();
}

/*
 * What hashing a record needs, set up once: a digest context that each
 * digest re-initialises (OpenSSL keeps its state allocated), and for a
 * keyed chain an HMAC context whose key is set once; re-initialising it
 * with no key copies the prepared inner state instead of hashing the key
 * again. One thread at a time.
 */
struct tlsp_chain_ctx {
	EVP_MD_CTX *md;
	EVP_MAC_CTX *mac; /* NULL: no key */
};

struct tlsp_chain_ctx *
tlsp_chain_ctx_new(const struct tlsp_chain_key *key)
{
	struct tlsp_chain_ctx *cx = calloc(1, sizeof(*cx));
	OSSL_PARAM params[2];

	if (cx == NULL || (cx->md = EVP_MD_CTX_new()) == NULL)
		goto fail;
	if (key == NULL || key->k == NULL)
		return cx;
	(void)sha256();
	params[0] = OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (hmac_mac == NULL || (cx->mac = EVP_MAC_CTX_new(hmac_mac)) == NULL ||
	    EVP_MAC_init(cx->mac, key->k, key->len, params) != 1)
		goto fail;
	return cx;
fail:
	tlsp_chain_ctx_free(cx);
	return NULL;
}

void
tlsp_chain_ctx_free(struct tlsp_chain_ctx *cx)
{
	if (cx == NULL)
		return;
	EVP_MD_CTX_free(cx->md);
	EVP_MAC_CTX_free(cx->mac);
	free(cx);
}

/* The field digest with a context the caller reuses (NULL: one of its
 * own). */
static void
field_digest(EVP_MD_CTX *ctx, const char *salt, size_t saltlen, const char *k,
	     const char *v, size_t vlen, char hex[TLSP_HASH_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const unsigned char zero = 0;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, salt, saltlen) != 1 ||
	    EVP_DigestUpdate(ctx, &zero, 1) != 1 ||
	    EVP_DigestUpdate(ctx, k, strlen(k)) != 1 ||
	    EVP_DigestUpdate(ctx, &zero, 1) != 1 ||
	    EVP_DigestUpdate(ctx, v, vlen) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
		/* Only out of memory gets here; a digest that matches
		 * nothing makes the record fail verification loudly. */
		memset(md, 0xff, 32);
	}
	tlsp_chain_hex(md, 32, hex);
}

void
tlsp_chain_field_digest(const char *salt, size_t saltlen, const char *k,
			const char *v, size_t vlen, char hex[TLSP_HASH_HEX + 1])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	field_digest(ctx, salt, saltlen, k, v, vlen, hex);
	EVP_MD_CTX_free(ctx);
}

/* Appends the canonical bytes of p to out, the field digests made
 * with md. */
static int
canon_append(EVP_MD_CTX *md, const char *p, size_t len, struct tlsp_jbuf *out)
{
	const char *salt;
	size_t saltlen, i, e, ve, last = 0;
	char hex[TLSP_HASH_HEX + 1], key[8];

	if (tlsp_chain_salt(p, len, &salt, &saltlen) < 0)
		return -1;
	for (i = 0; i < len; i++) {
		const char *q = memchr(p + i, '"', len - i);

		if (q == NULL)
			break;
		i = (size_t)(q - p);
		if ((e = tlsp_chain_str_end(p, len, i)) == (size_t)-1)
			return -1;
		if (e + 2 < len && p[e + 1] == ':' && p[e + 2] == '"' &&
		    tlsp_chain_redactable(p + i + 1, e - i - 1)) {
			if ((ve = tlsp_chain_str_end(p, len, e + 2)) ==
			    (size_t)-1)
				return -1;
			memcpy(key, p + i + 1, e - i - 1);
			key[e - i - 1] = '\0';
			field_digest(md, salt, saltlen, key, p + e + 3,
				     ve - e - 3, hex);
			tlsp_jb_raw(out, p + last, e + 2 - last);
			tlsp_jb_raw(out, "{\"sha256\":\"", 11);
			tlsp_jb_raw(out, hex, TLSP_HASH_HEX);
			tlsp_jb_raw(out, "\"}", 2);
			last = ve + 1;
			i = ve;
		} else {
			i = e;
		}
	}
	tlsp_jb_raw(out, p + last, len - last);
	return 0;
}

int
tlsp_chain_canon(const char *p, size_t len, struct tlsp_jbuf *out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc;

	tlsp_jb_reset(out);
	rc = canon_append(md, p, len, out);
	EVP_MD_CTX_free(md);
	return rc;
}

/* Decodes 64 hex digits into 32 bytes; -1 if they are not hex. */
static int
unhex32(const char *s, unsigned char *b)
{
	size_t i;

	if (!is_hex(s, TLSP_HASH_HEX))
		return -1;
	for (i = 0; i < 32; i++)
		b[i] = (unsigned char)(hexval(s[2 * i]) << 4 |
				       hexval(s[2 * i + 1]));
	return 0;
}

/* If s (len) ends with ,"<name>":"<64 hex>"} returns a pointer to the
 * hex; name has four letters. */
static const char *
suffix_hex(const char *s, size_t len, const char name[4])
{
	const char *h;

	if (len < TLSP_CHAIN_SUFFIX)
		return NULL;
	h = s + len - TLSP_CHAIN_SUFFIX;
	if (memcmp(h, ",\"", 2) != 0 || memcmp(h + 2, name, 4) != 0 ||
	    memcmp(h + 6, "\":\"", 3) != 0 || h[73] != '"' || h[74] != '}' ||
	    !is_hex(h + 9, TLSP_HASH_HEX))
		return NULL;
	return h + 9;
}

int
tlsp_chain_hash_with(struct tlsp_chain_ctx *cx, const char *l, size_t len,
		     struct tlsp_jbuf *scratch, char hex[TLSP_HASH_HEX + 1])
{
	const char *prev = suffix_hex(l, len, "prev");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t maclen = 0;
	int ok;

	if (prev == NULL)
		return -1;
	tlsp_jb_reset(scratch);
	tlsp_jb_raw(scratch, "................................", 32);
	if (scratch->oom || unhex32(prev, (unsigned char *)scratch->p) < 0)
		return -1;
	if (canon_append(cx->md, l, len, scratch) < 0 || scratch->oom)
		return -1;
	if (cx->mac != NULL) {
		/* no key: the one set at tlsp_chain_ctx_new() */
		ok = EVP_MAC_init(cx->mac, NULL, 0, NULL) == 1 &&
		     EVP_MAC_update(cx->mac, (const unsigned char *)scratch->p,
				    scratch->len) == 1 &&
		     EVP_MAC_final(cx->mac, md, &maclen, sizeof(md)) == 1;
		mdlen = (unsigned int)maclen;
	} else {
		ok = EVP_DigestInit_ex(cx->md, sha256(), NULL) == 1 &&
		     EVP_DigestUpdate(cx->md, scratch->p, scratch->len) == 1 &&
		     EVP_DigestFinal_ex(cx->md, md, &mdlen) == 1;
	}
	if (!ok || mdlen != 32)
		return -1;
	tlsp_chain_hex(md, 32, hex);
	return 0;
}

int
tlsp_chain_hash(const char *l, size_t len, const struct tlsp_chain_key *key,
		struct tlsp_jbuf *scratch, char hex[TLSP_HASH_HEX + 1])
{
	struct tlsp_chain_ctx *cx = tlsp_chain_ctx_new(key);
	int rc;

	if (cx == NULL)
		return -1;
	rc = tlsp_chain_hash_with(cx, l, len, scratch, hex);
	tlsp_chain_ctx_free(cx);
	return rc;
}

int
tlsp_chain_parse(const char *line, size_t len, struct tlsp_chain_rec *rec)
{
	static const char pfx[] = "{\"seq\":";
	const char *h, *p;
	size_t i = sizeof(pfx) - 1;
	uint64_t v = 0;

	if (len < i + 2 * TLSP_CHAIN_SUFFIX || memcmp(line, pfx, i) != 0 ||
	    line[i] < '1' || line[i] > '9')
		return -1;
	for (; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		/* Every uint64_t fits, 18446744073709551615 included. */
		if (v > (UINT64_MAX - (uint64_t)(line[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (i == len || line[i] != ',')
		return -1;
	if ((h = suffix_hex(line, len, "hash")) == NULL)
		return -1;
	/* ,"prev":"<64 hex>" sits just before ,"hash":"...."} */
	p = line + len - TLSP_CHAIN_SUFFIX - 74;
	if (memcmp(p, ",\"prev\":\"", 9) != 0 || p[73] != '"' ||
	    !is_hex(p + 9, TLSP_HASH_HEX))
		return -1;
	p += 9;
	rec->seq = v;
	memcpy(rec->hash, h, TLSP_HASH_HEX);
	rec->hash[TLSP_HASH_HEX] = '\0';
	memcpy(rec->prev, p, TLSP_HASH_HEX);
	rec->prev[TLSP_HASH_HEX] = '\0';
	return 0;
}

/* The record without its hash member is line[0 .. len-75) + '}'. */
int
tlsp_chain_verify(const char *line, size_t len,
		  const struct tlsp_chain_key *key, struct tlsp_jbuf *scratch,
		  struct tlsp_chain_rec *rec)
{
	char hex[TLSP_HASH_HEX + 1];
	struct tlsp_jbuf l = {0};
	int rc;

	if (tlsp_chain_parse(line, len, rec) < 0)
		return -1;
	tlsp_jb_raw(&l, line, len - TLSP_CHAIN_SUFFIX);
	tlsp_jb_raw(&l, "}", 1);
	if (l.oom)
		rc = -1;
	else if (tlsp_chain_hash(l.p, l.len, key, scratch, hex) < 0)
		rc = -1;
	else
		rc = memcmp(hex, rec->hash, TLSP_HASH_HEX) == 0;
	tlsp_jb_free(&l);
	return rc;
}

int
tlsp_chain_key_load(const char *path, struct tlsp_chain_key *key, char *err,
		    size_t errsz)
{
	unsigned char *buf = NULL;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	key->k = NULL;
	key->len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_size < KEY_MIN || st.st_size > KEY_MAX) {
		snprintf(err, errsz,
			 "%s: a key must hold %d to %d bytes "
			 "(has %lld; head -c 32 /dev/urandom makes one)",
			 path, KEY_MIN, KEY_MAX, (long long)st.st_size);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errsz, "%s: read: %s", path,
				 n < 0 ? strerror(errno) : "file shrank");
			goto fail;
		}
		got += (size_t)n;
	}
	close(fd);
	key->k = buf;
	key->len = got;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

void
tlsp_chain_key_free(struct tlsp_chain_key *key)
{
	if (key == NULL)
		return;
	if (key->k != NULL) {
		OPENSSL_cleanse(key->k, key->len);
		free(key->k);
	}
	key->k = NULL;
	key->len = 0;
}
