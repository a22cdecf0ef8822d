/*
 * escape.c - make untrusted bytes safe for each place they go to.
 *
 * Certificate subjects, addresses and HELO names come from the network.
 * Every sink has its own rules, and they are all here, named by the
 * sink: a log line (tlsp_escape_log), a JSON string of the audit record
 * (tlsp_escape_json), a token of the tag header (tlsp_escape_header), and
 * the text of an SMTP reply as libmilter takes it (tlsp_escape_reply).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "tlspolicy/policy.h"

size_t
tlsp_utf8_decode(const unsigned char *s, size_t n, unsigned *cpp)
{
	static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len, i;
	unsigned cp;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cpp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1fu;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0fu;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	/* No overlong forms, surrogates or code points past U+10FFFF. */
	if (cp < min[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	*cpp = cp;
	return len;
}

/* C1 controls (U+0080..U+009F) can drive a terminal like ESC does. */
static int
is_c1(const unsigned char *s, size_t n)
{
	return n == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

/*
 * The characters a viewer acts on instead of showing: every code point
 * of general category Cf (format: bidirectional embeddings, overrides,
 * isolates and marks, zero-width spaces and joiners, the soft hyphen,
 * the byte order mark, tag characters...), Zl and Zp (U+2028, U+2029),
 * as of Unicode 15.1. A fixed list, not a lookup in whatever Unicode
 * database is at hand, so that every writer and reader of the audit log
 * (audit/FORMAT.md section 1) agrees on the same set.
 */
static const struct {
	unsigned lo, hi;
} format_chars[] = {
	{0x00ad, 0x00ad},   {0x0600, 0x0605},	{0x061c, 0x061c},
	{0x06dd, 0x06dd},   {0x070f, 0x070f},	{0x0890, 0x0891},
	{0x08e2, 0x08e2},   {0x180e, 0x180e},	{0x200b, 0x200f},
	{0x2028, 0x202e},   {0x2060, 0x2064},	{0x2066, 0x206f},
	{0xfeff, 0xfeff},   {0xfff9, 0xfffb},	{0x110bd, 0x110bd},
	{0x110cd, 0x110cd}, {0x13430, 0x1343f}, {0x1bca0, 0x1bca3},
	{0x1d173, 0x1d17a}, {0xe0001, 0xe0001}, {0xe0020, 0xe007f},
};

int
tlsp_is_format_char(unsigned cp)
{
	size_t i;

	for (i = 0; i < sizeof(format_chars) / sizeof(format_chars[0]); i++)
		if (cp <= format_chars[i].hi)
			return cp >= format_chars[i].lo;
	return 0;
}

int
tlsp_escape_log(const char *in, size_t inlen, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, j = 0;

	if (outsz == 0)
		return inlen > 0;
	while (i < inlen) {
		unsigned cp;
		size_t n = tlsp_utf8_decode(s + i, inlen - i, &cp);
		int plain = (n > 1 && !is_c1(s + i, n) &&
			     !tlsp_is_format_char(cp)) ||
			    (n == 1 && s[i] >= 0x20 && s[i] != 0x7f &&
			     s[i] != '"' && s[i] != '\\');

		if (plain) {
			if (j + n >= outsz)
				break;
			while (n--)
				out[j++] = (char)s[i++];
		} else {
			if (j + 4 >= outsz)
				break;
			snprintf(out + j, 5, "\\x%02x", s[i++]);
			j += 4;
		}
	}
	out[j] = '\0';
	return i < inlen;
}

/* Not an escaper: the one bounded copy of a network string that is
 * stored as sent and escaped later, by each sink. */
int
tlsp_text_copy(char *dst, size_t dstsz, const char *src)
{
	const unsigned char *u = (const unsigned char *)src;
	size_t n = strnlen(src, dstsz), i, len;
	unsigned cp;

	if (n < dstsz) {
		memcpy(dst, src, n + 1);
		return 0;
	}
	/* Whole characters only (a byte of invalid UTF-8 is one). */
	for (i = 0, n = dstsz - 1; i < n; i += len) {
		len = tlsp_utf8_decode(u + i, strnlen(src + i, 4), &cp);
		if (len == 0)
			len = 1;
		if (i + len > n)
			break;
	}
	memcpy(dst, src, i);
	dst[i] = '\0';
	return 1;
}

/* ------------------------------------------------------------- JSON */

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

size_t
tlsp_escape_json_char(const unsigned char *s, size_t n, char *out, size_t *used)
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
	/* C1 controls (NEL among them) and format characters; one past
	 * U+FFFF as its surrogate pair. */
	if (cp <= 0x9f || (tlsp_is_format_char(cp) && cp <= 0xffff))
		return put_u(out, cp);
	if (tlsp_is_format_char(cp)) {
		put_u(out, 0xd800u + ((cp - 0x10000u) >> 10));
		return 6 + put_u(out + 6, 0xdc00u + ((cp - 0x10000u) & 0x3ffu));
	}
	memcpy(out, s, len);
	return len;
}

int
tlsp_escape_json(const char *in, size_t inlen, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in;
	char tmp[TLSP_ESCAPE_JSON_MAX];
	size_t i = 0, j = 0, used, k;

	if (outsz == 0)
		return -1;
	while (i < inlen) {
		k = tlsp_escape_json_char(s + i, inlen - i, tmp, &used);
		if (k >= outsz - j || j + k > INT_MAX)
			break;
		memcpy(out + j, tmp, k);
		j += k;
		i += used;
	}
	out[j] = '\0';
	return i < inlen ? -1 : (int)j;
}

/* ----------------------------------------------------- header, reply */

void
tlsp_escape_header(const char *in, char *out, size_t outsz)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < outsz; i++)
		out[i] =
			strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
			       "XYZ0123456789._-",
			       in[i])
				? in[i]
				: '?';
	out[i] = '\0';
}

void
tlsp_escape_reply(const char *in, char *out, size_t outsz)
{
	size_t j = 0;

	for (; *in && j + 2 < outsz; in++) {
		if (*in == '%')
			out[j++] = '%';
		out[j++] = *in;
	}
	out[j] = '\0';
}
