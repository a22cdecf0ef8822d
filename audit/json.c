/*
 * json.c - JSON string escaping and the record builder of the audit log.
 *
 * Audit records carry strings an attacker chose: HELO names, envelope
 * addresses, certificate subjects. Each one is written so that it can
 * neither end its string nor its line, and so that a reader gets back the
 * exact bytes that were sent: valid UTF-8 stays as it is, every byte of
 * invalid UTF-8 becomes the lone surrogate \udcHH (Python's
 * "surrogateescape"), and everything a line-oriented reader could take
 * for a line end (C0 and C1 controls, DEL, U+2028, U+2029) is written as a
 * \u escape. Output is therefore always valid UTF-8 with no raw control
 * character, one record per line whatever the input.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tlspolicy/audit.h"

/* The longest escape of one input character: "\udcHH" or "\u2028". */
#define ESC_MAX 6

static const char hexdig[] = "0123456789abcdef";

/* Writes "\uXXXX" (lowercase hex) at out; returns 6. */
static size_t
put_u(char *out, unsigned u)
{
	out[0] = '\\';
	out[1] = 'u';
	out[2] = hexdig[(u >> 12) & 0xf];
	out[3] = hexdig[(u >> 8) & 0xf];
	out[4] = hexdig[(u >> 4) & 0xf];
	out[5] = hexdig[u & 0xf];
	return 6;
}

/* The short escape of an ASCII character, or 0 if it has none. */
static char
short_escape(unsigned char c)
{
	switch (c) {
	case '"':
		return '"';
	case '\\':
		return '\\';
	case '\b':
		return 'b';
	case '\f':
		return 'f';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '\t':
		return 't';
	}
	return 0;
}

/*
 * Writes the JSON form of the character at s (n > 0 bytes available) into
 * out, which has room for ESC_MAX bytes. Returns the bytes written and
 * sets *used to the input bytes consumed: the whole character, or one
 * byte of invalid UTF-8.
 */
static size_t
escape_one(const unsigned char *s, size_t n, char *out, size_t *used)
{
	unsigned cp;
	size_t len = tlsp_utf8_decode(s, n, &cp);
	char e;

	*used = len > 0 ? len : 1;
	if (len == 0)
		return put_u(out, 0xdc00u | s[0]);
	if (len == 1) {
		if ((e = short_escape(s[0])) != 0) {
			out[0] = '\\';
			out[1] = e;
			return 2;
		}
		if (cp < 0x20 || cp == 0x7f)
			return put_u(out, cp);
		out[0] = (char)s[0];
		return 1;
	}
	/* C1 controls (NEL among them) and the Unicode line separators. */
	if (cp <= 0x9f || cp == 0x2028 || cp == 0x2029)
		return put_u(out, cp);
	memcpy(out, s, len);
	return len;
}

/*
 * The output is NUL-terminated whenever outsz > 0, and the returned length
 * does not count the NUL: the body fits when its length is below outsz. On
 * -1, out holds the escapes of a prefix of `in` that fitted, never half of
 * an escape or of a character.
 */
int
tlsp_json_escape(const char *in, size_t inlen, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in;
	char tmp[ESC_MAX];
	size_t i = 0, j = 0, used, k;

	if (outsz == 0)
		return -1;
	while (i < inlen) {
		k = escape_one(s + i, inlen - i, tmp, &used);
		if (k >= outsz - j || j + k > INT_MAX)
			break;
		memcpy(out + j, tmp, k);
		j += k;
		i += used;
	}
	out[j] = '\0';
	return i < inlen ? -1 : (int)j;
}

/* ------------------------------------------------------------ builder */

void
tlsp_jb_init(struct tlsp_jbuf *jb)
{
	memset(jb, 0, sizeof(*jb));
}

void
tlsp_jb_free(struct tlsp_jbuf *jb)
{
	free(jb->p);
	tlsp_jb_init(jb);
}

void
tlsp_jb_reset(struct tlsp_jbuf *jb)
{
	jb->len = 0;
	jb->oom = 0;
	if (jb->p != NULL)
		jb->p[0] = '\0';
}

/* Makes room for n more bytes and the NUL. 0, or -1 (oom set). */
static int
jb_room(struct tlsp_jbuf *jb, size_t n)
{
	size_t cap = jb->cap > 0 ? jb->cap : 256;
	char *p;

	if (jb->oom)
		return -1;
	if (n < jb->cap - jb->len)
		return 0;
	if (n >= SIZE_MAX / 2 - jb->len) {
		jb->oom = 1;
		return -1;
	}
	while (cap - jb->len <= n)
		cap *= 2;
	if ((p = realloc(jb->p, cap)) == NULL) {
		jb->oom = 1;
		return -1;
	}
	jb->p = p;
	jb->cap = cap;
	return 0;
}

void
tlsp_jb_reserve(struct tlsp_jbuf *jb, size_t n)
{
	(void)jb_room(jb, n);
}

void
tlsp_jb_raw(struct tlsp_jbuf *jb, const char *s, size_t n)
{
	if (jb_room(jb, n) < 0)
		return;
	memcpy(jb->p + jb->len, s, n);
	jb->len += n;
	jb->p[jb->len] = '\0';
}

/* A value or key follows: separate it from the previous one. */
static void
jb_sep(struct tlsp_jbuf *jb)
{
	char last;

	if (jb->len == 0 || jb->oom)
		return;
	last = jb->p[jb->len - 1];
	if (last != '{' && last != '[' && last != ':')
		tlsp_jb_raw(jb, ",", 1);
}

void
tlsp_jb_open(struct tlsp_jbuf *jb, char brace)
{
	jb_sep(jb);
	tlsp_jb_raw(jb, &brace, 1);
}

void
tlsp_jb_close(struct tlsp_jbuf *jb, char brace)
{
	tlsp_jb_raw(jb, &brace, 1);
}

/* The bytes escape_one() copies as they are on their own: printable
 * ASCII but the quote and the backslash. */
static int
plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
/* Nonzero when a byte of w is below b (b <= 0x80; exact for "any"). */
#define ANY_BELOW(w, b) (((w) - ONES * (b)) & ~(w) & HIGHS)
#define ANY_EQ(w, b) ANY_BELOW((w) ^ (ONES * (b)), 1)

/* Whether all eight bytes of w are plain(), eight at a time. */
static int
plain8(uint64_t w)
{
	return ((w & HIGHS) | ANY_BELOW(w, 0x20) | ANY_EQ(w, 0x7f) |
		ANY_EQ(w, '"') | ANY_EQ(w, '\\')) == 0;
}

/* Escapes in place into the buffer, quotes included: room for the
 * string as it is is made once, plain bytes (nearly every byte of a
 * record) are stored directly, eight at a time where eight in a row are
 * plain, and each other character makes room for its escape (at most
 * ESC_MAX bytes) and the rest. The same output as tlsp_json_escape(). */
static void
jb_escaped(struct tlsp_jbuf *jb, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, used, slow = 0;
	uint64_t w;
	char *o;

	if (jb_room(jb, n + 2) < 0)
		return;
	o = jb->p + jb->len;
	*o++ = '"';
	while (i < n) {
		if (i >= slow && n - i >= 8) {
			memcpy(&w, u + i, 8);
			if (plain8(w)) {
				memcpy(o, &w, 8);
				o += 8;
				i += 8;
				continue;
			}
			slow = i + 8; /* byte by byte up to there */
		}
		if (plain(u[i])) {
			*o++ = (char)u[i++];
			continue;
		}
		jb->len = (size_t)(o - jb->p);
		if (jb_room(jb, ESC_MAX + (n - i) + 1) < 0)
			return;
		o = jb->p + jb->len;
		o += escape_one(u + i, n - i, o, &used);
		i += used;
	}
	*o++ = '"';
	*o = '\0';
	jb->len = (size_t)(o - jb->p);
}

void
tlsp_jb_strn(struct tlsp_jbuf *jb, const char *s, size_t n)
{
	jb_sep(jb);
	jb_escaped(jb, s, n);
}

void
tlsp_jb_str(struct tlsp_jbuf *jb, const char *s)
{
	if (s == NULL)
		tlsp_jb_null(jb);
	else
		tlsp_jb_strn(jb, s, strlen(s));
}

void
tlsp_jb_int(struct tlsp_jbuf *jb, long long v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld", v);

	jb_sep(jb);
	tlsp_jb_raw(jb, buf, (size_t)n);
}

void
tlsp_jb_uint(struct tlsp_jbuf *jb, uint64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);

	jb_sep(jb);
	tlsp_jb_raw(jb, buf, (size_t)n);
}

void
tlsp_jb_bool(struct tlsp_jbuf *jb, int v)
{
	jb_sep(jb);
	if (v)
		tlsp_jb_raw(jb, "true", 4);
	else
		tlsp_jb_raw(jb, "false", 5);
}

void
tlsp_jb_null(struct tlsp_jbuf *jb)
{
	jb_sep(jb);
	tlsp_jb_raw(jb, "null", 4);
}

/* Keys are nearly always the record's own plain names: those are
 * copied with their quotes and colon in one go. */
void
tlsp_jb_key(struct tlsp_jbuf *jb, const char *key)
{
	size_t n = 0;
	char *o;

	while (plain((unsigned char)key[n]))
		n++;
	jb_sep(jb);
	if (key[n] != '\0') {
		jb_escaped(jb, key, n + strlen(key + n));
		tlsp_jb_raw(jb, ":", 1);
		return;
	}
	if (jb_room(jb, n + 3) < 0)
		return;
	o = jb->p + jb->len;
	*o++ = '"';
	memcpy(o, key, n);
	o += n;
	*o++ = '"';
	*o++ = ':';
	*o = '\0';
	jb->len = (size_t)(o - jb->p);
}

void
tlsp_jb_kstr(struct tlsp_jbuf *jb, const char *key, const char *s)
{
	tlsp_jb_key(jb, key);
	tlsp_jb_str(jb, s);
}

void
tlsp_jb_kint(struct tlsp_jbuf *jb, const char *key, long long v)
{
	tlsp_jb_key(jb, key);
	tlsp_jb_int(jb, v);
}

void
tlsp_jb_kbool(struct tlsp_jbuf *jb, const char *key, int v)
{
	tlsp_jb_key(jb, key);
	tlsp_jb_bool(jb, v);
}
