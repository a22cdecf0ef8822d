/*
 * json.c - the record builder of the audit log.
 *
 * Audit records carry strings an attacker chose: HELO names, envelope
 * addresses, certificate subjects. Each is escaped as JSON by the rules
 * of tlsp_escape_json() (policy/escape.c, with every other sink's
 * escaping: controls, invalid UTF-8 and the format characters a viewer
 * acts on, such as U+2028 and the bidirectional overrides); the builder
 * copies the plain bytes of a string, nearly all of them, without a call
 * per character: every non-ASCII character goes through
 * tlsp_escape_json_char().
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tlspolicy/audit.h"

/* The longest escape of one input character (tlsp_escape_json_char). */
#define ESC_MAX TLSP_ESCAPE_JSON_MAX

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

/* The bytes tlsp_escape_json_char() copies as they are on their own: printable
 * ASCII but the quote and the backslash. */
static int
plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
/* Nonzero when a byte of w is below b (b <= 0x80; exact for "any").
 * Not formatted: clang-format takes "(w) - ONES" for a cast. */
/* clang-format off */
#define ANY_BELOW(w, b) (((w) - ONES * (b)) & ~(w) & HIGHS)
#define ANY_EQ(w, b) ANY_BELOW((w) ^ (ONES * (b)), 1)
/* clang-format on */

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
 * ESC_MAX bytes) and the rest. The same output as tlsp_escape_json(). */
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
		o += tlsp_escape_json_char(u + i, n - i, o, &used);
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
