/*
 * escape.c - make untrusted bytes safe to show.
 *
 * Certificate subjects, addresses and HELO names come from the network.
 * Before one reaches a log line, a header or a JSON string it passes
 * here: valid UTF-8 text stays readable, everything that could end a
 * line, a quoted string or a record becomes \xHH.
 */
#include <stdio.h>

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

int
tlsp_escape(const char *in, size_t inlen, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, j = 0;

	if (outsz == 0)
		return inlen > 0;
	while (i < inlen) {
		unsigned cp;
		size_t n = tlsp_utf8_decode(s + i, inlen - i, &cp);
		int plain = (n > 1 && !is_c1(s + i, n)) || (n == 1 && s[i] >= 0x20 && s[i] != 0x7f &&
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
