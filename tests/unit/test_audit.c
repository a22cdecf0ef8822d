/*
 * test_audit.c - unit tests for the audit sink (audit/json.c, writer.c)
 * and its JSON escaper (tlsp_escape_json, policy/escape.c).
 *
 * The escaper is tested by tables of exact outputs and by a round trip:
 * every output is read back by a strict JSON reader written here, which
 * also enforces what the sink promises beyond JSON (valid UTF-8, no raw
 * control character, DEL, C1 control, U+2028 or U+2029), and decodes
 * \udcHH back to the byte 0xHH, as Python's surrogateescape does. The
 * writer is tested through files it wrote: every line must parse, carry
 * the expected fields in the stable order, and number records without a
 * gap, whether many threads submit at once, the process restarts, the
 * file is removed or rotated, or the file size limit makes writes fail.
 * When python3 is installed, json_lines_check.py reads the same files
 * with Python's json module, an independent reader.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "body.h"
#include "chain.h"
#include "json.h"
#include "tlspolicy/audit.h"
#include "tlspolicy/policy.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ============================================ a strict JSON reader */

enum jt { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

/* A parsed value. Strings hold the decoded bytes (NUL-terminated, but
 * may contain NULs: use len). Objects keep their keys in order. */
struct jv {
	enum jt t;
	int b;
	long long i;
	int is_int;
	char *s;
	size_t len;
	size_t n;
	struct jv *v;
	char **k;
};

struct jp {
	const unsigned char *p, *end;
	const char *err;
	int depth;
};

struct bytes {
	char *p;
	size_t len, cap;
};

static void
bytes_add(struct bytes *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
jv_free(struct jv *j)
{
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->n; i++) {
		jv_free(&j->v[i]);
		if (j->k != NULL)
			free(j->k[i]);
	}
	free(j->v);
	free(j->k);
	free(j->s);
	memset(j, 0, sizeof(*j));
}

static int
jp_fail(struct jp *jp, const char *why)
{
	if (jp->err == NULL)
		jp->err = why;
	return -1;
}

/*
 * RFC 3629's table of well-formed sequences, written out range by range
 * (independent of the decoder under test). Returns the length, or 0.
 */
static size_t
wf_utf8(const unsigned char *s, size_t n, unsigned *cp)
{
	static const struct {
		unsigned char lo0, hi0, lo1, hi1;
		size_t len;
	} rows[] = {
		{0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3},
		{0xe1, 0xec, 0x80, 0xbf, 3}, {0xed, 0xed, 0x80, 0x9f, 3},
		{0xee, 0xef, 0x80, 0xbf, 3}, {0xf0, 0xf0, 0x90, 0xbf, 4},
		{0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
	};
	size_t r, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	for (r = 0; r < NELEM(rows); r++) {
		if (s[0] < rows[r].lo0 || s[0] > rows[r].hi0)
			continue;
		if (n < rows[r].len || s[1] < rows[r].lo1 || s[1] > rows[r].hi1)
			return 0;
		for (i = 2; i < rows[r].len; i++)
			if (s[i] < 0x80 || s[i] > 0xbf)
				return 0;
		*cp = s[0] & (0x7f >> rows[r].len);
		for (i = 1; i < rows[r].len; i++)
			*cp = *cp << 6 | (s[i] & 0x3f);
		return rows[r].len;
	}
	return 0;
}

static void
utf8_put(struct bytes *b, unsigned cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12), n = 3;
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18), n = 4;
		u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	}
	if (n > 1)
		u[n - 1] = (unsigned char)(0x80 | (cp & 0x3f));
	bytes_add(b, u, n);
}

static int
jp_hex4(struct jp *jp, unsigned *u)
{
	int i, c;

	if (jp->end - jp->p < 6 || jp->p[0] != '\\' || jp->p[1] != 'u')
		return jp_fail(jp, "bad \\u escape");
	*u = 0;
	for (i = 2; i < 6; i++) {
		c = jp->p[i];
		if (c >= '0' && c <= '9')
			c -= '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			c = (c | 0x20) - 'a' + 10;
		else
			return jp_fail(jp, "bad hex digit");
		*u = *u << 4 | (unsigned)c;
	}
	jp->p += 6;
	return 0;
}

/* \uXXXX, with a surrogate pair, or \udcHH as the byte 0xHH. */
static int
jp_uescape(struct jp *jp, struct bytes *b)
{
	unsigned u, lo;
	unsigned char byte;

	if (jp_hex4(jp, &u) < 0)
		return -1;
	if (u >= 0xd800 && u <= 0xdbff) {
		if (jp_hex4(jp, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
			return jp_fail(jp, "lone high surrogate");
		utf8_put(b, 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00));
	} else if (u >= 0xdc80 && u <= 0xdcff) {
		byte = (unsigned char)(u & 0xff);
		bytes_add(b, &byte, 1);
	} else if (u >= 0xdc00 && u <= 0xdfff) {
		return jp_fail(jp, "lone surrogate below \\udc80");
	} else {
		utf8_put(b, u);
	}
	return 0;
}

static int
jp_escape(struct jp *jp, struct bytes *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;

	if (jp->end - jp->p < 2)
		return jp_fail(jp, "truncated escape");
	if (jp->p[1] == 'u')
		return jp_uescape(jp, b);
	if (jp->p[1] == '\0' || (e = strchr(from, jp->p[1])) == NULL)
		return jp_fail(jp, "unknown escape");
	bytes_add(b, &to[e - from], 1);
	jp->p += 2;
	return 0;
}

/* A string: strict JSON plus the sink's promises about raw characters. */
static int
jp_string(struct jp *jp, char **out, size_t *outlen)
{
	struct bytes b = {0};
	unsigned cp;
	size_t n;

	bytes_add(&b, "", 0);
	jp->p++;
	for (;;) {
		if (jp->p >= jp->end)
			goto bad;
		if (*jp->p == '"')
			break;
		if (*jp->p == '\\') {
			if (jp_escape(jp, &b) < 0)
				goto bad;
			continue;
		}
		if (*jp->p < 0x20 || *jp->p == 0x7f)
			goto bad;
		if ((n = wf_utf8(jp->p, (size_t)(jp->end - jp->p), &cp)) == 0)
			goto bad;
		if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
			goto bad;
		bytes_add(&b, jp->p, n);
		jp->p += n;
	}
	jp->p++;
	*out = b.p;
	*outlen = b.len;
	return 0;
bad:
	free(b.p);
	return jp_fail(jp, "bad string (raw control, invalid UTF-8, a raw "
			   "line separator, or unterminated)");
}

static int
jp_number(struct jp *jp, struct jv *j)
{
	const unsigned char *s = jp->p;
	char buf[64];

	if (*s == '-')
		s++;
	if (s < jp->end && *s == '0')
		s++;
	else if (s < jp->end && *s >= '1' && *s <= '9')
		while (s < jp->end && *s >= '0' && *s <= '9')
			s++;
	else
		return jp_fail(jp, "bad number");
	j->is_int = s == jp->end || (*s != '.' && *s != 'e' && *s != 'E');
	if (!j->is_int || s - jp->p >= (long)sizeof(buf))
		return jp_fail(jp, "only integers appear in records");
	memcpy(buf, jp->p, (size_t)(s - jp->p));
	buf[s - jp->p] = '\0';
	j->t = J_NUM;
	j->i = strtoll(buf, NULL, 10);
	jp->p = s;
	return 0;
}

static int jp_value(struct jp *jp, struct jv *j);

static void
jp_ws(struct jp *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
				   *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

static int
jp_expect(struct jp *jp, char c)
{
	jp_ws(jp);
	if (jp->p >= jp->end || *jp->p != c)
		return jp_fail(jp, "unexpected character");
	jp->p++;
	return 0;
}

/* An array or an object; keys are strings, and no key appears twice. */
static int
jp_container(struct jp *jp, struct jv *j, char close)
{
	size_t i;

	j->t = close == '}' ? J_OBJ : J_ARR;
	jp->p++;
	jp_ws(jp);
	if (jp->p < jp->end && *jp->p == close) {
		jp->p++;
		return 0;
	}
	for (;;) {
		j->v = realloc(j->v, (j->n + 1) * sizeof(*j->v));
		j->k = close == '}' ? realloc(j->k, (j->n + 1) * sizeof(char *))
				    : NULL;
		assert_non_null(j->v);
		memset(&j->v[j->n], 0, sizeof(j->v[j->n]));
		if (close == '}') {
			size_t klen;

			assert_non_null(j->k);
			j->k[j->n] = NULL;
			jp_ws(jp);
			if (jp->p >= jp->end || *jp->p != '"' ||
			    jp_string(jp, &j->k[j->n], &klen) < 0)
				return jp_fail(jp, "bad key");
			for (i = 0; i < j->n; i++)
				if (strcmp(j->k[i], j->k[j->n]) == 0)
					return jp_fail(jp, "duplicate key");
			if (jp_expect(jp, ':') < 0)
				return -1;
		}
		j->n++;
		if (jp_value(jp, &j->v[j->n - 1]) < 0)
			return -1;
		jp_ws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		return jp_expect(jp, close);
	}
}

static int
jp_literal(struct jp *jp, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, lit, n) != 0)
		return jp_fail(jp, "bad literal");
	jp->p += n;
	return 0;
}

static int
jp_value(struct jp *jp, struct jv *j)
{
	int rc;

	jp_ws(jp);
	if (jp->p >= jp->end)
		return jp_fail(jp, "missing value");
	if (++jp->depth > 32)
		return jp_fail(jp, "too deep");
	switch (*jp->p) {
	case '{':
		rc = jp_container(jp, j, '}');
		break;
	case '[':
		rc = jp_container(jp, j, ']');
		break;
	case '"':
		j->t = J_STR;
		rc = jp_string(jp, &j->s, &j->len);
		break;
	case 't':
	case 'f':
		j->t = J_BOOL;
		j->b = *jp->p == 't';
		rc = jp_literal(jp, j->b ? "true" : "false");
		break;
	case 'n':
		j->t = J_NULL;
		rc = jp_literal(jp, "null");
		break;
	default:
		rc = jp_number(jp, j);
	}
	jp->depth--;
	return rc;
}

/* Parses exactly one JSON value spanning s[0..n). 0, or -1 with *why. */
static int
json_parse(const char *s, size_t n, struct jv *j, const char **why)
{
	struct jp jp = {(const unsigned char *)s, (const unsigned char *)s + n,
			NULL, 0};

	memset(j, 0, sizeof(*j));
	if (jp_value(&jp, j) == 0) {
		jp_ws(&jp);
		if (jp.p != jp.end)
			jp_fail(&jp, "trailing characters");
	}
	*why = jp.err;
	if (jp.err != NULL)
		jv_free(j);
	return jp.err != NULL ? -1 : 0;
}

static const struct jv *
jv_get(const struct jv *j, const char *key)
{
	size_t i;

	if (j == NULL || j->t != J_OBJ)
		return NULL;
	for (i = 0; i < j->n; i++)
		if (strcmp(j->k[i], key) == 0)
			return &j->v[i];
	return NULL;
}

static const struct jv *
jv_at(const struct jv *j, size_t i)
{
	return j != NULL && j->t == J_ARR && i < j->n ? &j->v[i] : NULL;
}

/* j, which the test needs: NULL fails the test here, not in a crash
 * (cmocka's assertions do not tell the compiler they end the test). */
static const struct jv *
jv_must(const struct jv *j)
{
	static const struct jv none;

	assert_non_null(j);
	return j != NULL ? j : &none;
}

/* The keys of an object, comma-separated, into buf. */
static const char *
jv_keys(const struct jv *j, char *buf, size_t bufsz)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; j != NULL && j->t == J_OBJ && i < j->n; i++)
		len += (size_t)snprintf(buf + len, bufsz - len, "%s%s",
					i > 0 ? "," : "", j->k[i]);
	return buf;
}

/* The string at key, or "(null)" for null, "(missing)", "(not a string)". */
static const char *
jv_str(const struct jv *obj, const char *key)
{
	const struct jv *j = jv_get(obj, key);

	if (j == NULL)
		return "(missing)";
	if (j->t == J_NULL)
		return "(null)";
	return j->t == J_STR ? j->s : "(not a string)";
}

static void
assert_null_at(const struct jv *obj, const char *key)
{
	const struct jv *j = jv_get(obj, key);

	assert_non_null(j);
	assert_int_equal(j->t, J_NULL);
}

/* Decodes a JSON string body (no quotes) into the bytes it stands for. */
static int
json_unescape(const char *body, size_t n, struct bytes *out)
{
	struct bytes q = {0};
	struct jv j;
	const char *why;
	int rc;

	bytes_add(&q, "\"", 1);
	bytes_add(&q, body, n);
	bytes_add(&q, "\"", 1);
	rc = json_parse(q.p, q.len, &j, &why);
	free(q.p);
	if (rc < 0) {
		print_error("unescape: %s\n", why);
		return -1;
	}
	out->len = 0;
	bytes_add(out, j.s, j.len);
	jv_free(&j);
	return 0;
}

/* ================================================ tlsp_escape_json */

struct esc_row {
	const char *name;
	const char *in;
	size_t inlen; /* 0: strlen(in) */
	const char *want;
};

#define ROW(name, in, want)                                                    \
	{                                                                      \
		name, in, 0, want                                              \
	}
#define ROWN(name, in, len, want)                                              \
	{                                                                      \
		name, in, len, want                                            \
	}

static const struct esc_row esc_rows[] = {
	ROW("empty", "", ""),
	ROW("plain ASCII", "mx.example.com", "mx.example.com"),
	ROW("quote", "a\"b", "a\\\"b"),
	ROW("backslash", "a\\b", "a\\\\b"),
	ROW("slash stays", "/C=DE/CN=x", "/C=DE/CN=x"),
	ROW("short forms", "\b\f\n\r\t", "\\b\\f\\n\\r\\t"),
	ROWN("NUL", "\0", 1, "\\u0000"),
	ROWN("NUL inside", "a\0b", 3, "a\\u0000b"),
	ROW("ESC", "\x1b[31m", "\\u001b[31m"),
	ROW("vertical tab", "\v", "\\u000b"),
	ROW("unit separator", "\x1f", "\\u001f"),
	ROW("space and tilde stay", " ~", " ~"),
	ROW("DEL", "\x7f", "\\u007f"),
	ROW("2-byte e-acute stays", "caf\xc3\xa9", "caf\xc3\xa9"),
	ROW("3-byte euro stays", "\xe2\x82\xac", "\xe2\x82\xac"),
	ROW("4-byte emoji stays", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"),
	ROW("U+10FFFF stays", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"),
	ROW("U+0080 (C1)", "\xc2\x80", "\\u0080"),
	ROW("NEL (C1)", "\xc2\x85", "\\u0085"),
	ROW("CSI (C1)", "\xc2\x9b", "\\u009b"),
	ROW("U+00A0 stays", "\xc2\xa0", "\xc2\xa0"),
	ROW("U+2028", "a\xe2\x80\xa8z", "a\\u2028z"),
	ROW("U+2029", "\xe2\x80\xa9", "\\u2029"),
	ROW("U+2027 stays", "\xe2\x80\xa7", "\xe2\x80\xa7"),
	ROW("U+202A escaped", "\xe2\x80\xaa", "\\u202a"),
	ROW("U+2066 escaped", "\xe2\x81\xa6", "\\u2066"),
	ROW("BOM escaped", "\xef\xbb\xbf", "\\ufeff"),
	ROW("tag U+E0001 as a pair", "\xf3\xa0\x80\x81", "\\udb40\\udc01"),
	ROW("U+202F stays", "\xe2\x80\xaf", "\xe2\x80\xaf"),
	ROW("lone continuation", "\x80", "\\udc80"),
	ROW("0xff", "\xff", "\\udcff"),
	ROW("0xfe", "\xfe", "\\udcfe"),
	ROW("F5 lead", "\xf5\x80\x80\x80", "\\udcf5\\udc80\\udc80\\udc80"),
	ROW("overlong slash", "\xc0\xaf", "\\udcc0\\udcaf"),
	ROW("overlong NUL", "\xc0\x80", "\\udcc0\\udc80"),
	ROW("overlong C1 lead", "\xc1\xbf", "\\udcc1\\udcbf"),
	ROW("overlong 3-byte", "\xe0\x80\xaf", "\\udce0\\udc80\\udcaf"),
	ROW("overlong 4-byte", "\xf0\x80\x80\xaf",
	    "\\udcf0\\udc80\\udc80\\udcaf"),
	ROW("high surrogate D800", "\xed\xa0\x80", "\\udced\\udca0\\udc80"),
	ROW("low surrogate DC80", "\xed\xb2\x80", "\\udced\\udcb2\\udc80"),
	ROW("CESU pair", "\xed\xa0\xbd\xed\xb8\x80",
	    "\\udced\\udca0\\udcbd\\udced\\udcb8\\udc80"),
	ROW("past U+10FFFF", "\xf4\x90\x80\x80",
	    "\\udcf4\\udc90\\udc80\\udc80"),
	ROW("truncated at end", "\xe2\x82", "\\udce2\\udc82"),
	ROW("truncated then ASCII",
	    "\xe2\x82"
	    "A",
	    "\\udce2\\udc82A"),
	ROW("invalid then valid", "\xff\xc3\xa9", "\\udcff\xc3\xa9"),
	ROW("Latin-1 text", "M\xfcnchen", "M\\udcfcnchen"),
	ROW("a forged record", "\"}\n{\"seq\":1,\"type\":\"x",
	    "\\\"}\\n{\\\"seq\\\":1,\\\"type\\\":\\\"x"),
	ROW("CRLF injection", "a\r\nb", "a\\r\\nb"),
};

static void
test_escape_table(void **state)
{
	char out[256];
	struct bytes back = {0};
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < NELEM(esc_rows); i++) {
		const struct esc_row *r = &esc_rows[i];
		size_t inlen = r->inlen ? r->inlen : strlen(r->in);
		int n = tlsp_escape_json(r->in, inlen, out, sizeof(out));

		if (n != (int)strlen(r->want) || strcmp(out, r->want) != 0) {
			print_error("%s: got %d \"%s\", want \"%s\"\n", r->name,
				    n, out, r->want);
			bad = 1;
			continue;
		}
		if (json_unescape(out, (size_t)n, &back) < 0 ||
		    back.len != inlen || memcmp(back.p, r->in, inlen) != 0) {
			print_error("%s: does not decode to the input\n",
				    r->name);
			bad = 1;
		}
	}
	free(back.p);
	assert_int_equal(bad, 0);
}

/* Every single byte, against a rule stated independently of escape.c. */
static void
test_escape_every_byte(void **state)
{
	static const char shortf[] = "\bb\ff\nn\rr\tt\"\"\\\\";
	char in, out[16], want[16];
	const char *s;
	int c, n;

	(void)state;
	for (c = 0; c < 256; c++) {
		in = (char)c;
		n = tlsp_escape_json(&in, 1, out, sizeof(out));
		s = c != 0 ? strchr(shortf, c) : NULL;
		if (s != NULL && (s - shortf) % 2 == 0)
			snprintf(want, sizeof(want), "\\%c", s[1]);
		else if (c < 0x20 || c == 0x7f)
			snprintf(want, sizeof(want), "\\u%04x", c);
		else if (c >= 0x80)
			snprintf(want, sizeof(want), "\\udc%02x", c);
		else
			snprintf(want, sizeof(want), "%c", c);
		if (strcmp(out, want) != 0)
			print_error("byte 0x%02x: got \"%s\", want \"%s\"\n", c,
				    out, want);
		assert_string_equal(out, want);
		assert_int_equal(n, (int)strlen(want));
	}
}

struct trunc_row {
	const char *name;
	const char *in;
	size_t outsz;
	int ret;
	const char *out;
};

static const struct trunc_row trunc_rows[] = {
	{"exact fit", "abc", 4, 3, "abc"},
	{"one byte short", "abc", 3, -1, "ab"},
	{"room for the NUL only", "abc", 1, -1, ""},
	{"empty input, NUL only", "", 1, 0, ""},
	{"short escape not split", "a\n", 3, -1, "a"},
	{"short escape exact", "a\n", 4, 3, "a\\n"},
	{"\\u escape not split", "\x01", 6, -1, ""},
	{"\\u escape exact", "\x01", 7, 6, "\\u0001"},
	{"multibyte not split", "a\xe2\x82\xac", 4, -1, "a"},
	{"multibyte exact", "a\xe2\x82\xac", 5, 4, "a\xe2\x82\xac"},
	{"emoji not split", "\xf0\x9f\x98\x80", 4, -1, ""},
	{"surrogateescape not split", "x\xff", 7, -1, "x"},
	{"surrogateescape exact", "x\xff", 8, 7, "x\\udcff"},
	{"stops before the line separator", "ab\xe2\x80\xa8", 7, -1, "ab"},
	{"surrogate pair not split", "a\xf3\xa0\x80\x81", 13, -1, "a"},
	{"surrogate pair exact", "a\xf3\xa0\x80\x81", 14, 13,
	 "a\\udb40\\udc01"},
};

static void
test_escape_truncation(void **state)
{
	char out[64];
	size_t i;
	int n, bad = 0;

	(void)state;
	for (i = 0; i < NELEM(trunc_rows); i++) {
		const struct trunc_row *r = &trunc_rows[i];

		memset(out, 'Z', sizeof(out));
		n = tlsp_escape_json(r->in, strlen(r->in), out, r->outsz);
		if (n != r->ret || strcmp(out, r->out) != 0 ||
		    out[r->outsz] != 'Z') {
			print_error("%s: got %d \"%s\", want %d \"%s\"\n",
				    r->name, n, out, r->ret, r->out);
			bad = 1;
		}
	}
	/* No room at all: nothing is written. */
	out[0] = 'Z';
	assert_int_equal(tlsp_escape_json("a", 1, out, 0), -1);
	assert_int_equal(out[0], 'Z');
	assert_int_equal(tlsp_escape_json(NULL, 0, out, 1), 0);
	assert_int_equal(bad, 0);
}

static uint32_t
xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Random bytes, biased towards what breaks escapers, round trip. */
static void
test_escape_roundtrip(void **state)
{
	static const char *const pieces[] = {
		"\xe2\x80\xa8",
		"\xc2\x85",
		"\xf0\x9f\x98\x80",
		"\xe2\x80\xae",
		"\xf3\xa0\x81\x81",
		"\xef\xbb\xbf",
		"\xed\xa0\x80",
		"\xc3\xa9",
		"\"",
		"\\",
		"\n",
		"\x7f",
		"\xe2\x82",
	};
	uint32_t seed = 0x2545f491;
	char in[96], out[96 * 6 + 1];
	struct bytes back = {0};
	size_t len, p;
	int i, n;

	(void)state;
	for (i = 0; i < 5000; i++) {
		len = xorshift(&seed) % 64;
		for (p = 0; p < len;) {
			uint32_t r = xorshift(&seed);
			const char *pc = pieces[r % NELEM(pieces)];

			if (r % 3 == 0 && p + strlen(pc) <= len) {
				memcpy(in + p, pc, strlen(pc));
				p += strlen(pc);
			} else {
				in[p++] = (char)(r >> 8);
			}
		}
		n = tlsp_escape_json(in, len, out, sizeof(out));
		assert_true(n >= 0);
		assert_int_equal(json_unescape(out, (size_t)n, &back), 0);
		assert_int_equal(back.len, len);
		assert_memory_equal(back.p, in, len);
	}
	free(back.p);
}

static void
test_builder(void **state)
{
	struct tlsp_jbuf jb;

	(void)state;
	tlsp_jb_init(&jb);
	tlsp_jb_open(&jb, '{');
	tlsp_jb_kint(&jb, "a", -9223372036854775807LL - 1);
	tlsp_jb_key(&jb, "b");
	tlsp_jb_open(&jb, '[');
	tlsp_jb_bool(&jb, 1);
	tlsp_jb_bool(&jb, 0);
	tlsp_jb_null(&jb);
	tlsp_jb_str(&jb, "x\"y");
	tlsp_jb_str(&jb, NULL);
	tlsp_jb_uint(&jb, UINT64_MAX);
	tlsp_jb_open(&jb, '{');
	tlsp_jb_close(&jb, '}');
	tlsp_jb_open(&jb, '[');
	tlsp_jb_close(&jb, ']');
	tlsp_jb_close(&jb, ']');
	tlsp_jb_kstr(&jb, "k\n", "");
	tlsp_jb_kbool(&jb, "t", 1);
	tlsp_jb_close(&jb, '}');
	assert_int_equal(jb.oom, 0);
	assert_string_equal(jb.p, "{\"a\":-9223372036854775808,\"b\":[true,"
				  "false,null,\"x\\\"y\",null,"
				  "18446744073709551615,{},[]],\"k\\n\":\"\","
				  "\"t\":true}");
	tlsp_jb_reset(&jb);
	assert_int_equal(jb.len, 0);
	tlsp_jb_str(&jb, "again");
	assert_string_equal(jb.p, "\"again\"");
	tlsp_jb_free(&jb);
	tlsp_jb_free(&jb);
}

/*
 * The builder copies runs of plain bytes at once and escapes the rest one
 * character at a time; tlsp_escape_json() does every character alone. They
 * must agree on any input: random strings biased to long plain runs broken
 * by quotes, backslashes, controls, DEL, UTF-8 (valid, overlong, cut short)
 * and stray high bytes, at every length up to 3000.
 */
static void
test_builder_escape_agrees(void **state)
{
	static const unsigned char odd[] = {
		'"',  '\\', '\n', '\r', '\t', 0,    0x1f, 0x7f, 0x80,
		0xc2, 0x85, 0xe2, 0x80, 0xa8, 0xc3, 0xa9, 0xf0, 0x9f,
		0x98, 0x80, 0xc0, 0xaf, 0xff, 0xed, 0xa0, 0x80,
	};
	static char in[3001], out[3000 * 6 + 4];
	struct tlsp_jbuf jb;
	unsigned seed = 12345;
	size_t n, i;
	int k, t;

	(void)state;
	tlsp_jb_init(&jb);
	for (t = 0; t < 400; t++) {
		n = (size_t)(t * 7 % (int)sizeof(in));
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			/* every 10th string is escapes only: the most growth */
			in[i] = (seed >> 16) % 8 == 0 || t % 10 == 0
					? (char)odd[(seed >> 8) % sizeof(odd)]
					: (char)(0x20 + (seed >> 20) % 0x5f);
		}
		k = tlsp_escape_json(in, n, out + 1, sizeof(out) - 2);
		assert_true(k >= 0);
		out[0] = '"';
		out[k + 1] = '"';
		out[k + 2] = '\0';
		/* half of them into a new buffer, which must grow at escapes */
		if (t % 2)
			tlsp_jb_free(&jb);
		else
			tlsp_jb_reset(&jb);
		tlsp_jb_strn(&jb, in, n);
		assert_int_equal(jb.oom, 0);
		assert_int_equal(jb.len, (size_t)k + 2);
		assert_memory_equal(jb.p, out, jb.len + 1);
		/* a key (up to its first NUL): plain ones take a short cut */
		in[n] = '\0';
		k = tlsp_escape_json(in, strlen(in), out + 1, sizeof(out) - 3);
		assert_true(k >= 0);
		out[k + 1] = '"';
		out[k + 2] = ':';
		out[k + 3] = '\0';
		tlsp_jb_reset(&jb);
		tlsp_jb_key(&jb, in);
		assert_int_equal(jb.oom, 0);
		assert_int_equal(jb.len, (size_t)k + 3);
		assert_memory_equal(jb.p, out, jb.len + 1);
	}
	/* format characters, the longest escapes (a tag character: 4 bytes
	 * in, 12 out), in a fresh buffer: it grows at every one */
	for (n = 0; n + 7 <= 2800; n += 7)
		memcpy(in + n, "\xf3\xa0\x81\x81\xe2\x80\xae", 7);
	k = tlsp_escape_json(in, n, out + 1, sizeof(out) - 2);
	assert_int_equal(k, (int)(n / 7 * 18));
	out[0] = '"';
	out[k + 1] = '"';
	out[k + 2] = '\0';
	tlsp_jb_free(&jb);
	tlsp_jb_strn(&jb, in, n);
	assert_int_equal(jb.oom, 0);
	assert_int_equal(jb.len, (size_t)k + 2);
	assert_memory_equal(jb.p, out, jb.len + 1);
	tlsp_jb_free(&jb);
}

static void
test_event_names(void **state)
{
	static const char *const want[] = {
		"start", "reload",  "reload_failed", "stop",   "mail",
		"rcpt",	 "message", "abort",	     "rotate", "checkpoint",
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(want); i++)
		assert_string_equal(tlsp_event_type_name((enum tlsp_event_type)
								 i),
				    want[i]);
	assert_null(tlsp_event_type_name((enum tlsp_event_type)NELEM(want)));
}

/* "format":2 right after "type" in start and reload records, and in no
 * other record (audit/FORMAT.md section 1, format versions). */
static void
test_format_member(void **state)
{
	struct tlsp_body_opts o = {.host = "h"};
	struct tlsp_audit_event ev;
	struct tlsp_jbuf jb;
	char want[64];
	int t;

	(void)state;
	tlsp_jb_init(&jb);
	for (t = TLSP_EV_START; t <= TLSP_EV_CHECKPOINT; t++) {
		const char *name =
			tlsp_event_type_name((enum tlsp_event_type)t);
		int has = t == TLSP_EV_START || t == TLSP_EV_RELOAD;

		memset(&ev, 0, sizeof(ev));
		ev.type = (enum tlsp_event_type)t;
		ev.detail = "d";
		tlsp_jb_reset(&jb);
		assert_int_equal(tlsp_body_build(&jb, &o, &ev), 0);
		snprintf(want, sizeof(want),
			 "{\"host\":\"h\",\"type\":\"%s\"%s", name,
			 has ? ",\"format\":2," : ",");
		if (strncmp(jb.p, want, strlen(want)) != 0 ||
		    (!has && strstr(jb.p, "\"format\"") != NULL))
			fail_msg("%s: %s", name, jb.p);
	}
	tlsp_jb_free(&jb);
}

/* ===================================================== log files */

static char tmpdir[256];
static struct tlsp_policy *policy;

static void
path_in(char *buf, size_t bufsz, const char *name)
{
	snprintf(buf, bufsz, "%s/%s", tmpdir, name);
}

static char *
read_all(const char *path, size_t *lenp)
{
	FILE *fp = fopen(path, "rb");
	struct bytes b = {0};
	char buf[65536];
	size_t n;

	if (fp == NULL)
		return NULL;
	bytes_add(&b, "", 0);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		bytes_add(&b, buf, n);
	fclose(fp);
	*lenp = b.len;
	return b.p;
}

static void
write_file(const char *path, const char *s, const char *mode)
{
	FILE *fp = fopen(path, mode);

	assert_non_null(fp);
	fputs(s, fp);
	assert_int_equal(fclose(fp), 0);
}

/* A log read back: every line parsed, in file order. */
struct logv {
	struct jv *v;
	size_t n;
};

static void
logv_free(struct logv *lv)
{
	size_t i;

	for (i = 0; i < lv->n; i++)
		jv_free(&lv->v[i]);
	free(lv->v);
	memset(lv, 0, sizeof(*lv));
}

/* Reads the log at path; fails the test unless the file ends with a
 * newline and every line is one strict JSON object. */
static void
logv_load(const char *path, struct logv *lv)
{
	size_t len, start, end, count = 0;
	char *raw = read_all(path, &len);
	const char *why;

	memset(lv, 0, sizeof(*lv));
	assert_non_null(raw);
	assert_true(len == 0 || raw[len - 1] == '\n');
	for (end = 0; end < len; end++)
		count += raw[end] == '\n';
	lv->v = calloc(count + 1, sizeof(*lv->v));
	assert_non_null(lv->v);
	for (start = 0; start < len; start = end + 1) {
		end = (size_t)((char *)memchr(raw + start, '\n', len - start) -
			       raw);
		if (json_parse(raw + start, end - start, &lv->v[lv->n], &why) <
			    0 ||
		    lv->v[lv->n].t != J_OBJ) {
			print_error("%s: line %zu: %s: %.200s\n", path,
				    lv->n + 1, why ? why : "not an object",
				    raw + start);
			fail();
		}
		lv->n++;
	}
	free(raw);
}

static long long
seq_of(const struct jv *rec)
{
	const struct jv *s = jv_must(jv_get(rec, "seq"));

	assert_int_equal(s->t, J_NUM);
	return s->i;
}

/* Records first..first+n-1, in order, no gap. */
static void
assert_seqs(const struct logv *lv, long long first)
{
	size_t i;

	for (i = 0; i < lv->n; i++)
		assert_int_equal(seq_of(&lv->v[i]), first + (long long)i);
}

static struct tlsp_audit *
open_log(const char *path, enum tlsp_audit_sync sync)
{
	char err[512];
	struct tlsp_audit *a = tlsp_audit_open(path, "mx1.test", sync, err,
					       sizeof(err));

	if (a == NULL)
		print_error("open %s: %s\n", path, err);
	assert_non_null(a);
	return a;
}

static void
submit_ok(struct tlsp_audit *a, const struct tlsp_audit_event *ev, int durable)
{
	char err[512];

	if (tlsp_audit_submit(a, ev, durable) != 0) {
		print_error("submit: %s\n",
			    tlsp_audit_last_error(a, err, sizeof(err)));
		fail();
	}
}

static void
submit_detail(struct tlsp_audit *a, const char *detail)
{
	struct tlsp_audit_event ev = {
		.type = TLSP_EV_RELOAD, .policy_hash = "abc", .detail = detail};

	submit_ok(a, &ev, 0);
}

/* ===================================================== fixtures */

static const char fixture_yaml[] =
	"version: 1\n"
	"recipients:\n"
	"  bank.example: {min_version: TLSv1.2, client_cert: verified}\n"
	"  monitor.example: {min_version: TLSv1.3, mode: monitor}\n"
	"  default: {tls: optional}\n"
	"senders:\n"
	"  partner.example: {min_version: TLSv1.2, action: defer}\n";

/* A Sendmail session over TLSv1.1 with an unverified certificate. */
static const struct tlsp_macros sm_macros = {
	.mta = TLSP_MTA_SENDMAIL,
	.mta_version = "8.17.1",
	.tls_version = "TLSv1.1",
	.cipher = "ECDHE-RSA-AES128-SHA",
	.cipher_bits = "128",
	.cert_subject = "/C=DE/O=Bank+20AG/CN=mx.bank.example",
	.cert_issuer = "/C=DE/O=Bank+20AG/CN=Bank+20CA",
	.verify = "FAIL",
	.cert_fp = "3A:4F:5E:6D",
	.client_addr = "192.0.2.7",
};

/* A message with a sender verdict and two recipients. Heap-allocated:
 * facts and verdicts are large. */
struct fixture {
	struct tlsp_facts f;
	struct tlsp_verdict sv, v[2];
	struct tlsp_event_rcpt rcpt[2];
	struct tlsp_audit_event ev;
};

static struct fixture *
fixture_new(void)
{
	static const char sender[] = "alice@partner.example";
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	tlsp_facts_from_macros(&sm_macros, &fx->f);
	assert_int_equal(tlsp_evaluate_sender(policy, &fx->f, sender,
					      time(NULL), &fx->sv),
			 1);
	tlsp_evaluate(policy, &fx->f, sender, "bob@bank.example", time(NULL),
		      &fx->v[0]);
	tlsp_evaluate(policy, &fx->f, sender, "carol@monitor.example",
		      time(NULL), &fx->v[1]);
	fx->rcpt[0] = (struct tlsp_event_rcpt){"<bob@bank.example>", &fx->v[0],
					       "550 5.7.1 TLS policy"};
	fx->rcpt[1] = (struct tlsp_event_rcpt){"<carol@monitor.example>",
					       &fx->v[1], NULL};
	fx->ev = (struct tlsp_audit_event){
		.type = TLSP_EV_MESSAGE,
		.txid = "T0001",
		.queue_id = "4Xyz1",
		.client_addr = "192.0.2.7",
		.client_name = "mail.partner.example",
		.helo = "mail.partner.example",
		.sender = "<alice@partner.example>",
		.facts = &fx->f,
		.sender_verdict = &fx->sv,
		.rcpts = fx->rcpt,
		.nrcpts = 2,
		.action = fx->v[0].action,
		.mode = TLSP_MODE_ENFORCE,
		.would_action = fx->v[0].would_action,
		.reply = "550 5.7.1 TLS policy",
		.policy_hash = tlsp_policy_hash(policy),
		.detail = "eom",
	};
	return fx;
}

/* ===================================================== record fields */

static const char *
status_name(enum tlsp_status st)
{
	return st == TLSP_PASS ? "pass" : st == TLSP_FAIL ? "fail" : "unknown";
}

/* The flags of a verdict, as the record must list them. */
static void
check_flags(const struct jv *j, unsigned flags)
{
	static const char *const names[] = {"sender_unparsable",
					    "rcpt_unparsable", "no_rule",
					    "session_exempt"};
	size_t i, n = 0;

	assert_int_equal(j->t, J_ARR);
	for (i = 0; i < NELEM(names); i++) {
		if (!(flags & (1u << i)))
			continue;
		assert_true(n < j->n);
		assert_string_equal(jv_must(jv_at(j, n))->s, names[i]);
		n++;
	}
	assert_int_equal(j->n, n);
}

static void
check_failure(const struct jv *j, const struct tlsp_failure *fl)
{
	char keys[256];

	assert_string_equal(jv_keys(j, keys, sizeof(keys)),
			    "requirement,status,required,observed");
	assert_string_equal(jv_str(j, "requirement"), tlsp_req_name(fl->req));
	assert_string_equal(jv_str(j, "status"), status_name(fl->status));
	assert_string_equal(jv_str(j, "required"), fl->required);
	assert_string_equal(jv_str(j, "observed"), fl->observed);
}

static void
check_rule(const struct jv *j, const struct tlsp_rule_result *r)
{
	char keys[256];
	size_t i;

	assert_string_equal(jv_keys(j, keys, sizeof(keys)),
			    "rule,exempt,status,action,mode,failures");
	assert_string_equal(jv_str(j, "rule"), tlsp_rule_name(r->rule));
	assert_int_equal(jv_must(jv_get(j, "exempt"))->t, J_BOOL);
	assert_int_equal(jv_must(jv_get(j, "exempt"))->b, r->exempt);
	assert_string_equal(jv_str(j, "status"), status_name(r->status));
	assert_string_equal(jv_str(j, "action"), tlsp_action_name(r->action));
	assert_string_equal(jv_str(j, "mode"), tlsp_mode_name(r->mode));
	assert_int_equal(jv_must(jv_get(j, "failures"))->n, r->nfail);
	for (i = 0; i < r->nfail; i++)
		check_failure(jv_at(jv_get(j, "failures"), i), &r->fail[i]);
}

/* The JSON verdict says exactly what the struct says. */
static void
check_verdict(const struct jv *j, const struct tlsp_verdict *v)
{
	char keys[256];
	size_t i;

	assert_non_null(j);
	assert_string_equal(jv_keys(j, keys, sizeof(keys)),
			    "action,would_action,decided_by,flags,rules");
	assert_string_equal(jv_str(j, "action"), tlsp_action_name(v->action));
	assert_string_equal(jv_str(j, "would_action"),
			    tlsp_action_name(v->would_action));
	if (v->decided_by != NULL)
		assert_string_equal(jv_str(j, "decided_by"),
				    tlsp_rule_name(v->decided_by));
	else
		assert_null_at(j, "decided_by");
	check_flags(jv_get(j, "flags"), v->flags);
	assert_int_equal(jv_must(jv_get(j, "rules"))->n, v->nrules);
	for (i = 0; i < v->nrules; i++)
		check_rule(jv_at(jv_get(j, "rules"), i), &v->r[i]);
}

/* "2024-05-01T12:34:56.789Z", and within a minute of now. */
static void
check_time(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	struct tm tm = {0};
	time_t t;
	size_t i;

	assert_int_equal(strlen(s), strlen(shape));
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd')
			assert_true(s[i] >= '0' && s[i] <= '9');
		else
			assert_int_equal(s[i], shape[i]);
	assert_non_null(strptime(s, "%Y-%m-%dT%H:%M:%S", &tm));
	t = timegm(&tm);
	assert_true(llabs((long long)(t - time(NULL))) < 60);
}

static void
check_tls(const struct jv *tls, const struct tlsp_facts *f)
{
	char keys[512];
	const struct jv *obs = jv_get(tls, "observed");
	const struct jv *abs = jv_get(tls, "absent");
	static const char *const want_obs[] = {
		"v",
		"{tls_version}",
		"{cipher}",
		"{cipher_bits}",
		"{cert_subject}",
		"{cert_issuer}",
		"{verify}",
		"{cert_fp}",
		"{client_addr}",
	};
	static const char *const want_abs[] = {"{auth_authen}", "{daemon_name}",
					       "{client_name}",
					       "{client_resolve}"};
	size_t i;

	assert_string_equal(jv_keys(tls, keys, sizeof(keys)),
			    "version,cipher,bits,forward_secrecy,cert,subject,"
			    "issuer,verify,fingerprint,observed,absent");
	assert_int_equal(abs->n, NELEM(want_abs));
	for (i = 0; i < NELEM(want_abs); i++)
		assert_string_equal(jv_must(jv_at(abs, i))->s, want_abs[i]);
	assert_string_equal(jv_str(tls, "version"), "TLSv1.1");
	assert_string_equal(jv_str(tls, "cipher"), "ECDHE-RSA-AES128-SHA");
	assert_int_equal(jv_must(jv_get(tls, "bits"))->i, 128);
	assert_int_equal(jv_must(jv_get(tls, "forward_secrecy"))->t, J_BOOL);
	assert_int_equal(jv_must(jv_get(tls, "forward_secrecy"))->b, 1);
	assert_string_equal(jv_str(tls, "cert"), tlsp_cert_state_name(f->cert));
	assert_string_equal(jv_str(tls, "cert"), "presented");
	assert_string_equal(jv_str(tls, "subject"),
			    "/C=DE/O=Bank AG/CN=mx.bank.example");
	assert_string_equal(jv_str(tls, "issuer"),
			    "/C=DE/O=Bank AG/CN=Bank CA");
	assert_string_equal(jv_str(tls, "verify"), "FAIL");
	assert_string_equal(jv_str(tls, "fingerprint"), "3a4f5e6d");
	assert_int_equal(obs->n, NELEM(want_obs));
	for (i = 0; i < NELEM(want_obs); i++)
		assert_string_equal(jv_must(jv_at(obs, i))->s, want_obs[i]);
}

static void
check_rcpts(const struct jv *rc, const struct fixture *fx)
{
	char keys[256];
	size_t i;

	assert_int_equal(rc->n, 2);
	for (i = 0; i < 2; i++) {
		const struct jv *r = jv_at(rc, i);

		assert_string_equal(jv_keys(r, keys, sizeof(keys)),
				    "addr,verdict,reply");
		assert_string_equal(jv_str(r, "addr"), fx->rcpt[i].addr);
		check_verdict(jv_get(r, "verdict"), &fx->v[i]);
	}
	assert_string_equal(jv_str(jv_at(rc, 0), "reply"),
			    "550 5.7.1 TLS policy");
	assert_null_at(jv_at(rc, 1), "reply");
}

/* The rule result named `name` in a JSON verdict, or NULL. */
static const struct jv *
find_rule(const struct jv *verdict, const char *name)
{
	const struct jv *rules = jv_get(verdict, "rules");
	size_t i;

	for (i = 0; rules != NULL && i < rules->n; i++)
		if (strcmp(jv_str(jv_at(rules, i), "rule"), name) == 0)
			return jv_at(rules, i);
	return NULL;
}

/* The values the policy gives, so the checks above are not vacuous. */
static void
check_fixture_outcome(const struct jv *rec)
{
	const struct jv *rc = jv_get(rec, "recipients");
	const struct jv *bank = jv_get(jv_at(rc, 0), "verdict");
	const struct jv *mon = jv_get(jv_at(rc, 1), "verdict");
	const struct jv *rule, *fl;

	assert_string_equal(jv_str(bank, "action"), "reject");
	assert_string_equal(jv_str(bank, "decided_by"),
			    "recipient:bank.example");
	rule = find_rule(bank, "recipient:bank.example");
	assert_non_null(rule);
	assert_string_equal(jv_str(rule, "status"), "fail");
	fl = jv_get(rule, "failures");
	assert_int_equal(fl->n, 2);
	assert_string_equal(jv_str(jv_at(fl, 0), "requirement"), "min_version");
	assert_string_equal(jv_str(jv_at(fl, 0), "status"), "fail");
	assert_string_equal(jv_str(jv_at(fl, 0), "observed"), "TLSv1.1");
	assert_string_equal(jv_str(jv_at(fl, 1), "requirement"), "client_cert");
	assert_string_equal(jv_str(mon, "would_action"), "reject");
	assert_string_equal(jv_str(find_rule(mon, "recipient:monitor.example"),
				   "mode"),
			    "monitor");
	assert_string_equal(jv_str(jv_get(rec, "sender_verdict"), "action"),
			    "defer");
}

/* Created 0640, less what the umask takes away. */
static void
check_mode(const char *path)
{
	mode_t mask = umask(022);
	struct stat st;

	umask(mask);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640 & ~mask);
}

static void
test_writer_fields(void **state)
{
	struct fixture *fx = fixture_new();
	struct tlsp_audit_event start = {.type = TLSP_EV_START,
					 .policy_hash = "0123abcd",
					 .detail = "tlspolicy 0.1.0"};
	char path[512], keys[1024];
	struct tlsp_audit *a;
	struct logv lv;
	const struct jv *rec;

	(void)state;
	path_in(path, sizeof(path), "fields.log");
	a = open_log(path, TLSP_SYNC_ALWAYS);
	submit_ok(a, &start, 1);
	submit_ok(a, &fx->ev, 0);
	tlsp_audit_close(a);
	check_mode(path);

	logv_load(path, &lv);
	assert_int_equal(lv.n, 2);
	assert_seqs(&lv, 1);
	rec = &lv.v[0];
	assert_string_equal(jv_keys(rec, keys, sizeof(keys)),
			    "seq,time,host,type,format,policy,detail,prev,"
			    "hash");
	assert_int_equal(jv_must(jv_get(rec, "format"))->t, J_NUM);
	assert_int_equal(jv_get(rec, "format")->i, TLSP_AUDIT_FORMAT);
	assert_int_equal(TLSP_AUDIT_FORMAT, 2);
	check_time(jv_str(rec, "time"));
	assert_string_equal(jv_str(rec, "host"), "mx1.test");
	assert_string_equal(jv_str(rec, "type"), "start");
	assert_string_equal(jv_str(rec, "detail"), "tlspolicy 0.1.0");

	rec = &lv.v[1];
	assert_string_equal(jv_keys(rec, keys, sizeof(keys)),
			    "seq,time,host,type,salt,txid,queue_id,client,"
			    "helo,sender,mta,daemon_name,authenticated,tls,"
			    "sender_verdict,recipients,"
			    "action,mode,would_action,reply,policy,detail,"
			    "prev,hash");
	assert_string_equal(jv_str(rec, "type"), "message");
	assert_string_equal(jv_str(rec, "txid"), "T0001");
	assert_string_equal(jv_str(rec, "queue_id"), "4Xyz1");
	assert_string_equal(jv_keys(jv_get(rec, "client"), keys, sizeof(keys)),
			    "addr,name");
	assert_string_equal(jv_str(jv_get(rec, "client"), "addr"), "192.0.2.7");
	assert_string_equal(jv_str(rec, "sender"), "<alice@partner.example>");
	assert_string_equal(jv_str(rec, "mta"), "sendmail");
	check_tls(jv_get(rec, "tls"), &fx->f);
	check_verdict(jv_get(rec, "sender_verdict"), &fx->sv);
	check_rcpts(jv_get(rec, "recipients"), fx);
	check_fixture_outcome(rec);
	assert_string_equal(jv_str(rec, "action"), "reject");
	assert_string_equal(jv_str(rec, "mode"), "enforce");
	assert_string_equal(jv_str(rec, "policy"), tlsp_policy_hash(policy));
	logv_free(&lv);
	free(fx);
}

/* The salt of one body built from ev, into salt (33 bytes). */
static void
body_salt(const struct tlsp_audit_event *ev, char *salt)
{
	struct tlsp_body_opts o = {.host = "h"};
	struct tlsp_jbuf jb;
	const char *p;

	memset(&jb, 0, sizeof(jb));
	assert_int_equal(tlsp_body_build(&jb, &o, ev), 0);
	tlsp_jb_raw(&jb, "", 1);
	p = strstr(jb.p, "\"salt\":\"");
	assert_non_null(p);
	memcpy(salt, p + 8, 32);
	salt[32] = '\0';
	assert_int_equal(strspn(salt, "0123456789abcdef"), 32);
	tlsp_jb_free(&jb);
}

static int
cmp_salt(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * Salts come from a pool refilled 4 KiB at a time: across several
 * refills no two repeat, and a forked child (the daemon forks once at
 * start) does not hand out what its parent will.
 */
static void
test_body_salts(void **state)
{
	struct fixture *fx = fixture_new();
	static char salts[1000][33];
	char parent[33], child[33] = "";
	int pfd[2], status;
	size_t i;
	pid_t pid;

	(void)state;
	for (i = 0; i < 1000; i++)
		body_salt(&fx->ev, salts[i]);
	qsort(salts, 1000, sizeof(salts[0]), cmp_salt);
	for (i = 1; i < 1000; i++)
		assert_string_not_equal(salts[i - 1], salts[i]);

	body_salt(&fx->ev, parent); /* the pool is part used */
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		body_salt(&fx->ev, child);
		_exit(write(pfd[1], child, 32) == 32 ? 0 : 1);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], child, 32), 32);
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	body_salt(&fx->ev, parent);
	assert_string_not_equal(parent, child);
	free(fx);
}

/* Plaintext, nothing sent: the TLS object says so with nulls. */
static void
test_writer_plaintext(void **state)
{
	struct tlsp_macros m = {.mta = TLSP_MTA_POSTFIX};
	struct tlsp_facts f;
	struct tlsp_verdict v;
	struct tlsp_event_rcpt r = {"<x@example.org>", &v, NULL};
	struct tlsp_audit_event ev = {.type = TLSP_EV_RCPT,
				      .facts = &f,
				      .rcpts = &r,
				      .nrcpts = 1,
				      .client_name = "unknown"};
	char path[512], keys[512];
	struct tlsp_audit *a;
	struct logv lv;
	const struct jv *tls, *client;

	(void)state;
	tlsp_facts_from_macros(&m, &f);
	tlsp_evaluate(policy, &f, "", "x@example.org", time(NULL), &v);
	path_in(path, sizeof(path), "plain.log");
	a = open_log(path, TLSP_SYNC_NONE);
	submit_ok(a, &ev, 0);
	tlsp_audit_close(a);
	logv_load(path, &lv);
	assert_int_equal(lv.n, 1);
	assert_string_equal(jv_keys(&lv.v[0], keys, sizeof(keys)),
			    "seq,time,host,type,salt,client,mta,daemon_name,"
			    "authenticated,tls,recipients,action,mode,"
			    "would_action,prev,hash");
	client = jv_get(&lv.v[0], "client");
	assert_null_at(client, "addr");
	assert_string_equal(jv_str(client, "name"), "unknown");
	tls = jv_get(&lv.v[0], "tls");
	assert_null_at(tls, "version");
	assert_null_at(tls, "cipher");
	assert_null_at(tls, "bits");
	assert_null_at(tls, "forward_secrecy");
	assert_string_equal(jv_str(tls, "cert"), "none");
	assert_null_at(tls, "subject");
	assert_null_at(tls, "issuer");
	assert_null_at(tls, "verify");
	assert_null_at(tls, "fingerprint");
	assert_int_equal(jv_must(jv_get(tls, "observed"))->n, 0);
	/* none was sent */
	assert_int_equal(jv_must(jv_get(tls, "absent"))->n, 13);
	check_verdict(jv_get(jv_at(jv_get(&lv.v[0], "recipients"), 0),
			     "verdict"),
		      &v);
	logv_free(&lv);
}

/* ===================================================== threads */

#define THREADS 8
#define PER_THREAD 200

struct worker {
	struct tlsp_audit *a;
	const struct fixture *fx;
	unsigned id;
	unsigned failed;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct tlsp_audit_event ev = w->fx->ev;
	char detail[32];
	unsigned i;

	ev.detail = detail;
	for (i = 0; i < PER_THREAD; i++) {
		snprintf(detail, sizeof(detail), "t%u-%u", w->id, i);
		if (tlsp_audit_submit(w->a, &ev, i % 50 == 0) != 0)
			w->failed++;
	}
	return NULL;
}

/* Every record of every thread is there once, whole, in its thread's
 * order, and the file numbers them 1..N without a gap. */
static size_t check_chain(const char *const *paths, size_t npaths,
			  const struct tlsp_chain_key *key,
			  const char *first_prev, char last[TLSP_HASH_HEX + 1]);

/* Queued (batch) and group-committed (always) alike: every record once,
 * each thread's in its order, one unbroken chain. */
static void
writer_threads(enum tlsp_audit_sync mode, const char *name)
{
	struct fixture *fx = fixture_new();
	struct worker w[THREADS];
	pthread_t tid[THREADS];
	int next[THREADS] = {0};
	char path[512], last[TLSP_HASH_HEX + 1];
	const char *paths[1] = {path};
	struct logv lv;
	unsigned t, k;
	size_t i;

	path_in(path, sizeof(path), name);
	for (t = 0; t < THREADS; t++) {
		w[t] = (struct worker){NULL, fx, t, 0};
		if (t == 0)
			w[t].a = open_log(path, mode);
		else
			w[t].a = w[0].a;
	}
	for (t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&tid[t], NULL, worker_run,
						&w[t]),
				 0);
	for (t = 0; t < THREADS; t++) {
		pthread_join(tid[t], NULL);
		assert_int_equal(w[t].failed, 0);
	}
	tlsp_audit_close(w[0].a);

	logv_load(path, &lv);
	assert_int_equal(lv.n, THREADS * PER_THREAD);
	assert_seqs(&lv, 1);
	for (i = 0; i < lv.n; i++) {
		assert_int_equal(sscanf(jv_str(&lv.v[i], "detail"), "t%u-%u",
					&t, &k),
				 2);
		assert_true(t < THREADS);
		assert_int_equal((int)k, next[t]);
		next[t]++;
		check_rcpts(jv_get(&lv.v[i], "recipients"), fx);
	}
	logv_free(&lv);
	assert_int_equal(check_chain(paths, 1, NULL, tlsp_chain_genesis, last),
			 THREADS * PER_THREAD);
	free(fx);
}

static void
test_writer_threads(void **state)
{
	(void)state;
	writer_threads(TLSP_SYNC_BATCH, "threads-batch.log");
	writer_threads(TLSP_SYNC_ALWAYS, "threads-always.log");
}

/* ===================================================== hostile input */

/* What a field must read back as. */
struct expect {
	const char *what;
	const char *bytes;
	size_t len;
};

static void
expect_str(const struct jv *j, const struct expect *e)
{
	if (j == NULL || j->t != J_STR || j->len != e->len ||
	    memcmp(j->s, e->bytes, e->len) != 0) {
		print_error("%s: does not read back as sent\n", e->what);
		fail();
	}
}

static void
hex_line(FILE *fp, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(fp, "%02x", (unsigned char)s[i]);
	fputc('\n', fp);
}

/* Runs json_lines_check.py on the log, if python3 is installed. */
static void
python_check(const char *log, const struct expect *e, size_t ne)
{
	char exp[512], cmd[2048];
	FILE *fp;
	size_t i;
	int rc;

	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		print_message("python3 not found: Python check skipped\n");
		return;
	}
	path_in(exp, sizeof(exp), "expect.hex");
	fp = fopen(exp, "w");
	assert_non_null(fp);
	for (i = 0; i < ne; i++)
		hex_line(fp, e[i].bytes, e[i].len);
	assert_int_equal(fclose(fp), 0);
	snprintf(cmd, sizeof(cmd),
		 "python3 '%s/tests/unit/json_lines_check.py' '%s' '%s'",
		 SRCDIR, log, exp);
	rc = system(cmd);
	if (rc != 0)
		print_error("%s: exit status %d\n", cmd, rc);
	assert_int_equal(rc, 0);
}

/* A string that tries everything at once, and a large binary one. */
static const char forge[] =
	"x\"},{\"seq\":999,\"type\":\"forged\"}\r\n{\"seq\":999,\"type\":"
	"\"forged\",\"x\":\"\\\xff\xfe\xc0\xaf\xed\xa0\x80\xe2\x80\xa8\xc2\x85"
	"\x1b[2J\x7f\t\b\f\x01";

/* What Sendmail's "/CN=a\"b\\c+FF+E2+80+A8\"}" decodes to. */
/* The subject below arrives xtext-encoded ("+FF..."); what the facts keep: OpenSSL's "\\c" escape (Sendmail's DN format) is
 * undone before the DN is stored. */
static const char xt_subject_stored[] = "/CN=a\"bc\xff\xe2\x80\xa8\"}";

static char *
binary_string(size_t len)
{
	char *s = malloc(len + 1);
	size_t i;

	assert_non_null(s);
	for (i = 0; i < len; i++)
		s[i] = (char)(1 + i * 7 % 255); /* every byte but NUL */
	s[len] = '\0';
	return s;
}

/*
 * Hostile values in every string a peer controls: the envelope, the
 * client, and the certificate names (through Sendmail's xtext, and
 * written straight into the facts, which the sink must not trust to be
 * printable). Each record stays one line and reads back byte for byte.
 */
static void
test_writer_hostile(void **state)
{
	struct fixture *fx = fixture_new();
	char *big = binary_string(64 * 1024);
	char *subj = binary_string(TLSP_DN_MAX - 1);
	struct tlsp_macros m = sm_macros;
	struct tlsp_audit_event ev = fx->ev;
	char path[512];
	struct tlsp_audit *a;
	struct logv lv;
	size_t i;
	const struct expect e[] = {
		{"helo", forge, sizeof(forge) - 1},
		{"sender", big, 64 * 1024},
		{"subject via xtext", xt_subject_stored,
		 sizeof(xt_subject_stored) - 1},
		{"subject in facts", subj, TLSP_DN_MAX - 1},
	};

	(void)state;
	m.cert_subject = "/CN=a\"b\\c+FF+E2+80+A8\"}";
	tlsp_facts_from_macros(&m, &fx->f);
	assert_int_equal(fx->f.flags & TLSP_FACT_BAD_SUBJECT, 0);
	ev.helo = forge;
	ev.client_name = forge;
	ev.sender = big;
	ev.detail = big;
	fx->rcpt[1].addr = forge;
	path_in(path, sizeof(path), "hostile.log");
	a = open_log(path, TLSP_SYNC_NONE);
	submit_ok(a, &ev, 0);
	memcpy(fx->f.subject_dn, subj, TLSP_DN_MAX);
	memcpy(fx->f.issuer_dn, forge, sizeof(forge));
	submit_ok(a, &ev, 0);
	tlsp_audit_close(a);

	logv_load(path, &lv);
	assert_int_equal(lv.n, 2);
	assert_seqs(&lv, 1);
	for (i = 0; i < lv.n; i++) {
		const struct jv *rec = &lv.v[i];

		assert_string_equal(jv_str(rec, "type"), "message");
		expect_str(jv_get(rec, "helo"), &e[0]);
		expect_str(jv_get(jv_get(rec, "client"), "name"), &e[0]);
		expect_str(jv_get(rec, "sender"), &e[1]);
		expect_str(jv_get(rec, "detail"), &e[1]);
		expect_str(jv_get(jv_at(jv_get(rec, "recipients"), 1), "addr"),
			   &e[0]);
	}
	expect_str(jv_get(jv_get(&lv.v[0], "tls"), "subject"), &e[2]);
	expect_str(jv_get(jv_get(&lv.v[1], "tls"), "subject"), &e[3]);
	expect_str(jv_get(jv_get(&lv.v[1], "tls"), "issuer"), &e[0]);
	logv_free(&lv);
	python_check(path, e, NELEM(e));
	free(big);
	free(subj);
	free(fx);
}

/* ===================================================== lifecycle */

static void
test_writer_restart(void **state)
{
	char path[512];
	struct tlsp_audit *a;
	struct logv lv;
	int i;

	(void)state;
	path_in(path, sizeof(path), "restart.log");
	for (i = 0; i < 3; i++) {
		a = open_log(path, TLSP_SYNC_BATCH);
		submit_detail(a, "one");
		submit_detail(a, "two");
		tlsp_audit_close(a);
	}
	logv_load(path, &lv);
	assert_int_equal(lv.n, 6);
	assert_seqs(&lv, 1);
	logv_free(&lv);
}

/* A crash can leave half a line. The next record starts on a line of its
 * own and continues the chain after the last complete record. */
static void
test_writer_torn_tail(void **state)
{
	char path[512];
	struct tlsp_audit *a;
	size_t len;
	char *raw;

	(void)state;
	path_in(path, sizeof(path), "torn.log");
	a = open_log(path, TLSP_SYNC_NONE);
	submit_detail(a, "whole");
	tlsp_audit_close(a);
	write_file(path, "{\"seq\":7,\"ti", "a");
	a = open_log(path, TLSP_SYNC_NONE);
	submit_detail(a, "after torn");
	tlsp_audit_close(a);
	write_file(path, "garbage without a number", "a");
	a = open_log(path, TLSP_SYNC_NONE);
	submit_detail(a, "after garbage");
	tlsp_audit_close(a);

	raw = read_all(path, &len);
	assert_non_null(raw);
	assert_non_null(strstr(raw, "}\n{\"seq\":7,\"ti\n{\"seq\":2,"));
	assert_non_null(strstr(raw, "}\ngarbage without a number\n"
				    "{\"seq\":3,"));
	assert_true(raw[len - 1] == '\n');
	free(raw);
}

static void
test_writer_not_a_log(void **state)
{
	char path[512], err[512];

	(void)state;
	path_in(path, sizeof(path), "notes.txt");
	write_file(path, "shopping list\n", "w");
	assert_null(tlsp_audit_open(path, "h", TLSP_SYNC_NONE, err,
				    sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not a tlspolicy audit log"));
}

/* Errors name the path and say what went wrong. */
static void
test_writer_unwritable(void **state)
{
	char path[512], err[512];

	(void)state;
	path_in(path, sizeof(path), "no/such/dir/audit.log");
	assert_null(tlsp_audit_open(path, "h", TLSP_SYNC_NONE, err,
				    sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, strerror(ENOENT)));

	assert_null(tlsp_audit_open(tmpdir, "h", TLSP_SYNC_NONE, err,
				    sizeof(err)));
	assert_non_null(strstr(err, strerror(EISDIR)));

	assert_null(tlsp_audit_open("", "h", TLSP_SYNC_NONE, err, sizeof(err)));
	assert_non_null(strstr(err, "no path"));

	if (geteuid() != 0) {
		char dir[512];

		path_in(dir, sizeof(dir), "ro");
		assert_int_equal(mkdir(dir, 0500), 0);
		path_in(path, sizeof(path), "ro/audit.log");
		assert_null(tlsp_audit_open(path, "h", TLSP_SYNC_NONE, err,
					    sizeof(err)));
		assert_non_null(strstr(err, strerror(EACCES)));
		rmdir(dir);
	}
}

/* A second writer would reuse sequence numbers: it is refused. */
static void
test_writer_locked(void **state)
{
	char path[512], err[512];
	struct tlsp_audit *a;

	(void)state;
	path_in(path, sizeof(path), "locked.log");
	a = open_log(path, TLSP_SYNC_NONE);
	assert_null(tlsp_audit_open(path, "h", TLSP_SYNC_NONE, err,
				    sizeof(err)));
	assert_non_null(strstr(err, "locked"));
	/* Reopening the same, unmoved file keeps it. */
	assert_int_equal(tlsp_audit_reopen(a), 0);
	submit_detail(a, "still here");
	tlsp_audit_close(a);
}

static void
test_writer_removed(void **state)
{
	char path[512];
	struct tlsp_audit *a;
	struct logv lv;

	(void)state;
	path_in(path, sizeof(path), "removed.log");
	a = open_log(path, TLSP_SYNC_ALWAYS);
	submit_detail(a, "first");
	assert_int_equal(unlink(path), 0);
	submit_detail(a, "second");
	submit_detail(a, "third");
	tlsp_audit_close(a);
	logv_load(path, &lv);
	assert_int_equal(lv.n, 3);
	assert_seqs(&lv, 2);
	assert_string_equal(jv_str(&lv.v[0], "type"), "rotate");
	assert_string_equal(jv_str(&lv.v[1], "detail"), "second");
	logv_free(&lv);
}

/*
 * Records nobody waits for are written in batches a few milliseconds
 * after they are queued, never left for the next sync or checkpoint
 * deadline (60 s here): a lone record is in the file well within 2 s.
 */
static void
test_writer_lone_record(void **state)
{
	static const enum tlsp_audit_sync modes[] = {TLSP_SYNC_NONE,
						     TLSP_SYNC_BATCH};
	char path[512];
	struct tlsp_audit *a;
	struct timespec t0, t;
	size_t i, len;
	char *raw;
	int found;

	(void)state;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/lone%zu.log", tmpdir, i);
		a = open_log(path, modes[i]);
		usleep(20000); /* the writer is asleep when it comes */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		submit_detail(a, "lone");
		do {
			usleep(1000);
			raw = read_all(path, &len);
			found = strstr(raw, "\"detail\":\"lone\"") != NULL;
			free(raw);
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while (!found && t.tv_sec - t0.tv_sec < 3);
		if (!found)
			print_error("sync mode %zu: the record was not written "
				    "within 2 s\n",
				    i);
		assert_true(found);
		assert_true((t.tv_sec - t0.tv_sec) * 1000000000L +
				    (t.tv_nsec - t0.tv_nsec) <
			    2000000000L);
		tlsp_audit_close(a);
	}
}

/* logrotate: rename, then reopen on a signal. */
static void
test_writer_rotate(void **state)
{
	char path[512], old[512];
	struct tlsp_audit *a;
	struct logv lv;

	(void)state;
	path_in(path, sizeof(path), "rotate.log");
	path_in(old, sizeof(old), "rotate.log.1");
	a = open_log(path, TLSP_SYNC_BATCH);
	submit_detail(a, "a");
	submit_detail(a, "b");
	assert_int_equal(rename(path, old), 0);
	submit_detail(a, "c, still in the renamed file");
	assert_int_equal(tlsp_audit_reopen(a), 0);
	submit_detail(a, "d");
	submit_detail(a, "e");
	tlsp_audit_close(a);

	logv_load(old, &lv);
	assert_int_equal(lv.n, 3);
	assert_seqs(&lv, 1);
	logv_free(&lv);
	logv_load(path, &lv);
	assert_int_equal(lv.n, 3);
	assert_seqs(&lv, 4);
	assert_string_equal(jv_str(&lv.v[0], "type"), "rotate");
	assert_string_equal(jv_str(&lv.v[1], "detail"), "d");
	logv_free(&lv);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/*
 * RLIMIT_FSIZE makes write(2) fail with EFBIG (SIGXFSZ ignored, as the
 * daemon does), after a short write that leaves part of the record in
 * the file. The submit fails, the part is cut off again, and once the
 * limit is lifted the next record takes the number the failed one did
 * not use. Nothing is asserted while the limit holds: cmocka's output
 * may itself go to a file.
 */
static void
test_writer_efbig(void **state)
{
	char path[512], err[512];
	struct tlsp_audit *a;
	struct rlimit old, lim;
	struct logv lv;
	off_t size;
	int rc1, rc2;

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	path_in(path, sizeof(path), "efbig.log");
	a = open_log(path, TLSP_SYNC_ALWAYS);
	submit_detail(a, "before");
	size = file_size(path);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 20;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc1 = tlsp_audit_submit(a,
				&(struct tlsp_audit_event){.type = TLSP_EV_STOP,
							   .detail = "too big"},
				1);
	rc2 = tlsp_audit_submit(a,
				&(struct tlsp_audit_event){
					.type = TLSP_EV_STOP,
					.detail = "still too big"},
				0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);

	assert_int_equal(rc1, -1);
	assert_int_equal(rc2, -1);
	tlsp_audit_last_error(a, err, sizeof(err));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, strerror(EFBIG)));
	assert_int_equal(file_size(path), size);
	submit_detail(a, "after");
	tlsp_audit_close(a);
	logv_load(path, &lv);
	assert_int_equal(lv.n, 2);
	assert_seqs(&lv, 1);
	assert_string_equal(jv_str(&lv.v[1], "detail"), "after");
	logv_free(&lv);
}

static void
test_writer_sync_modes(void **state)
{
	static const enum tlsp_audit_sync modes[] = {
		TLSP_SYNC_BATCH, TLSP_SYNC_ALWAYS, TLSP_SYNC_NONE};
	char path[512], err[64];
	struct tlsp_audit *a;
	struct logv lv;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(modes); i++) {
		snprintf(err, sizeof(err), "sync%zu.log", i);
		path_in(path, sizeof(path), err);
		a = open_log(path, modes[i]);
		assert_string_equal(tlsp_audit_last_error(a, err, sizeof(err)),
				    "");
		submit_detail(a, "1");
		submit_ok(a, &(struct tlsp_audit_event){.type = TLSP_EV_STOP},
			  1);
		usleep(60 * 1000); /* past the batch interval */
		submit_detail(a, "3");
		tlsp_audit_close(a);
		logv_load(path, &lv);
		assert_int_equal(lv.n, 3);
		assert_seqs(&lv, 1);
		logv_free(&lv);
	}
	assert_int_equal(tlsp_audit_submit(NULL, NULL, 0), -1);
	assert_int_equal(tlsp_audit_reopen(NULL), -1);
	tlsp_audit_close(NULL);
}


/* ===================================================== the hash chain */

/*
 * Checks every line of the files (in order) with the chain code: each
 * hash right, each prev the hash before it, sequence numbers contiguous.
 * The first prev must be `first_prev` (genesis for a new log). Returns
 * the number of records and leaves the last hash in last.
 */
static size_t
check_chain(const char *const *paths, size_t npaths,
	    const struct tlsp_chain_key *key, const char *first_prev,
	    char last[TLSP_HASH_HEX + 1])
{
	struct tlsp_jbuf scratch = {0};
	struct tlsp_chain_rec rec;
	char prev[TLSP_HASH_HEX + 1];
	uint64_t seq = 0;
	size_t i, n = 0, len;
	char *raw, *p, *nl;

	snprintf(prev, sizeof(prev), "%s", first_prev);
	for (i = 0; i < npaths; i++) {
		raw = read_all(paths[i], &len);
		assert_non_null(raw);
		for (p = raw; (nl = memchr(p, '\n', len - (size_t)(p - raw)));
		     p = nl + 1) {
			assert_int_equal(tlsp_chain_verify(p, (size_t)(nl - p),
							   key, &scratch, &rec),
					 1);
			assert_string_equal(rec.prev, prev);
			if (seq != 0)
				assert_int_equal(rec.seq, seq + 1);
			seq = rec.seq;
			memcpy(prev, rec.hash, sizeof(prev));
			n++;
		}
		free(raw);
	}
	tlsp_jb_free(&scratch);
	memcpy(last, prev, TLSP_HASH_HEX + 1);
	return n;
}

/* Restart, rotation and removal: one chain across all the files. */
static void
test_chain_continues(void **state)
{
	char p0[512], p1[512], p2[512], last[TLSP_HASH_HEX + 1];
	const char *paths[3] = {p2, p1, p0};
	struct tlsp_audit *a;

	(void)state;
	path_in(p0, sizeof(p0), "chain.log");
	path_in(p1, sizeof(p1), "chain.log.1");
	path_in(p2, sizeof(p2), "chain.log.2");
	a = open_log(p0, TLSP_SYNC_BATCH);
	submit_detail(a, "a");
	tlsp_audit_close(a);
	a = open_log(p0, TLSP_SYNC_ALWAYS); /* restart: from the tail */
	submit_detail(a, "b");
	assert_int_equal(rename(p0, p2), 0);
	assert_int_equal(tlsp_audit_reopen(a), 0); /* rotate record */
	submit_detail(a, "c");
	tlsp_audit_close(a);
	/* rotated while the daemon is down: path.head links the new file */
	assert_int_equal(rename(p0, p1), 0);
	a = open_log(p0, TLSP_SYNC_NONE);
	submit_detail(a, "d");
	tlsp_audit_close(a);
	assert_int_equal(check_chain(paths, 3, NULL, tlsp_chain_genesis, last),
			 5);

	/* a changed byte breaks the record it is in */
	{
		struct tlsp_jbuf scratch = {0};
		struct tlsp_chain_rec rec;
		size_t len;
		char *raw = read_all(p0, &len), *d = strstr(raw, "\"d\"");

		assert_non_null(d);
		d[1] = 'e';
		assert_int_equal(tlsp_chain_verify(raw, len - 1, NULL, &scratch,
						   &rec),
				 0);
		free(raw);
		tlsp_jb_free(&scratch);
	}
}

/* A log of format 1 (tests/audit/vectors/escaping-v1.jsonl: no format
 * member, format characters raw) is continued like any log: the chain
 * goes on from its last record, the new records are format 2. */
static void
test_chain_from_format1(void **state)
{
	char path[512], last[TLSP_HASH_HEX + 1];
	const char *paths[1] = {path};
	struct tlsp_audit *a;
	size_t len;
	char *v1 = read_all(SRCDIR "/tests/audit/vectors/escaping-v1.jsonl",
			    &len),
	     *all;

	(void)state;
	assert_non_null(v1);
	assert_null(strstr(v1, "\"format\""));
	assert_non_null(strstr(v1, "\xe2\x80\xae")); /* U+202E raw */
	path_in(path, sizeof(path), "format1.log");
	write_file(path, v1, "w");
	a = open_log(path, TLSP_SYNC_ALWAYS);
	submit_detail(a, "reloaded");
	tlsp_audit_close(a);
	assert_int_equal(check_chain(paths, 1, NULL, tlsp_chain_genesis, last),
			 5);
	all = read_all(path, &len);
	assert_non_null(all);
	assert_memory_equal(all, v1, strlen(v1)); /* old records untouched */
	assert_non_null(strstr(all + strlen(v1),
			       "{\"seq\":5,")); /* one more, numbered on */
	assert_non_null(strstr(all + strlen(v1),
			       "\"type\":\"reload\",\"format\":2,"));
	free(all);
	free(v1);
}

/* A crash that cut off only the newline of the last record: that record
 * is whole once the next write supplies the newline, so the chain goes on
 * from it. */
static void
test_chain_missing_newline(void **state)
{
	char path[512], last[TLSP_HASH_HEX + 1];
	const char *paths[1] = {path};
	struct tlsp_audit *a;
	size_t len;
	char *raw;

	(void)state;
	path_in(path, sizeof(path), "nolf.log");
	a = open_log(path, TLSP_SYNC_NONE);
	submit_detail(a, "one");
	submit_detail(a, "two");
	tlsp_audit_close(a);
	raw = read_all(path, &len);
	assert_int_equal(truncate(path, (off_t)len - 1), 0);
	free(raw);
	a = open_log(path, TLSP_SYNC_NONE);
	submit_detail(a, "three");
	tlsp_audit_close(a);
	assert_int_equal(check_chain(paths, 1, NULL, tlsp_chain_genesis, last),
			 3);
}

static void
test_chain_head_file(void **state)
{
	char path[512], head[600], err[512];

	(void)state;
	path_in(path, sizeof(path), "head.log");
	snprintf(head, sizeof(head), "%s.head", path);
	write_file(head, "not a head\n", "w");
	assert_null(tlsp_audit_open(path, "h", TLSP_SYNC_NONE, err,
				    sizeof(err)));
	assert_non_null(strstr(err, head));
	assert_non_null(strstr(err, "remove the file"));
	unlink(head);
	tlsp_audit_close(open_log(path, TLSP_SYNC_NONE)); /* no record */
	assert_int_equal(access(head, F_OK), -1); /* nothing to continue */
}

static void
test_chain_keyed(void **state)
{
	char path[512], keyf[512], err[512], last[TLSP_HASH_HEX + 1];
	const char *paths[1] = {path};
	struct tlsp_audit_options o = {.host = "h", .sync = TLSP_SYNC_NONE};
	struct tlsp_chain_key key;
	struct tlsp_audit *a;
	struct tlsp_jbuf scratch = {0};
	struct tlsp_chain_rec rec;
	size_t len;
	char *raw;

	(void)state;
	path_in(path, sizeof(path), "keyed.log");
	path_in(keyf, sizeof(keyf), "key");
	write_file(keyf, "short", "w");
	o.key_file = keyf;
	assert_null(tlsp_audit_open_with(path, &o, err, sizeof(err)));
	assert_non_null(strstr(err, "16 to 4096 bytes"));
	write_file(keyf, "0123456789abcdef0123456789abcdef", "w");
	a = tlsp_audit_open_with(path, &o, err, sizeof(err));
	assert_non_null(a);
	submit_detail(a, "keyed");
	tlsp_audit_close(a);
	assert_int_equal(tlsp_chain_key_load(keyf, &key, err, sizeof(err)), 0);
	assert_int_equal(check_chain(paths, 1, &key, tlsp_chain_genesis, last),
			 1);
	raw = read_all(path, &len);
	assert_int_equal(tlsp_chain_verify(raw, len - 1, NULL, &scratch, &rec),
			 0); /* without the key it does not verify */
	free(raw);
	tlsp_jb_free(&scratch);
	tlsp_chain_key_free(&key);
}

/* addresses: pseudonymize | domain */
static void
test_privacy_modes(void **state)
{
	static const struct {
		enum tlsp_audit_addresses mode;
		const char *sender, *rcpt;
	} rows[] = {
		{TLSP_AUDIT_ADDR_FULL, "Alice@Example.ORG", "bob@example.com"},
		{TLSP_AUDIT_ADDR_DOMAIN, "@example.org", "@example.com"},
		{TLSP_AUDIT_ADDR_PSEUDONYMIZE, "hmac:", "hmac:"},
	};
	char path[512], keyf[512], err[512], name[32];
	struct tlsp_event_rcpt r = {"bob@example.com", NULL, NULL};
	struct tlsp_audit_event ev = {.type = TLSP_EV_RCPT,
				      .sender = "Alice@Example.ORG",
				      .rcpts = &r,
				      .nrcpts = 1};
	struct tlsp_audit_options o = {.host = "h", .sync = TLSP_SYNC_NONE};
	struct tlsp_audit *a;
	struct logv lv;
	const char *s1, *s2;
	size_t i;

	(void)state;
	path_in(keyf, sizeof(keyf), "pkey");
	write_file(keyf, "pseudonym key, 32 bytes or so..", "w");
	path_in(path, sizeof(path), "pseudo-nokey.log");
	o.addresses = TLSP_AUDIT_ADDR_PSEUDONYMIZE;
	assert_null(tlsp_audit_open_with(path, &o, err, sizeof(err)));
	assert_non_null(strstr(err, "pseudonym key"));
	o.pseudonym_key_file = keyf;
	for (i = 0; i < NELEM(rows); i++) {
		snprintf(name, sizeof(name), "privacy%zu.log", i);
		path_in(path, sizeof(path), name);
		o.addresses = rows[i].mode;
		a = tlsp_audit_open_with(path, &o, err, sizeof(err));
		assert_non_null(a);
		submit_ok(a, &ev, 0);
		ev.sender = "alice@example.org"; /* same mailbox, other case */
		submit_ok(a, &ev, 0);
		ev.sender = "Alice@Example.ORG";
		tlsp_audit_close(a);
		logv_load(path, &lv);
		assert_int_equal(lv.n, 2);
		s1 = jv_str(&lv.v[0], "sender");
		s2 = jv_str(jv_at(jv_get(&lv.v[0], "recipients"), 0), "addr");
		assert_non_null(strstr(s1, rows[i].sender));
		assert_non_null(strstr(s2, rows[i].rcpt));
		if (rows[i].mode == TLSP_AUDIT_ADDR_PSEUDONYMIZE) {
			assert_int_equal(strlen(s1),
					 strlen("hmac:") + 16 +
						 strlen("@example.org"));
			assert_null(strstr(s1, "lice"));
			assert_string_equal(s1, jv_str(&lv.v[1], "sender"));
		}
		logv_free(&lv);
	}
}

struct heard {
	pthread_mutex_t lock;
	char msgs[16][256];
	int n;
};

static void
hear(void *arg, int pri, const char *msg)
{
	struct heard *h = arg;

	(void)pri;
	pthread_mutex_lock(&h->lock);
	if (h->n < 16)
		snprintf(h->msgs[h->n++], sizeof(h->msgs[0]), "%s", msg);
	pthread_mutex_unlock(&h->lock);
}

/* A checkpoint record every checkpoint_secs, its hash said aloud. */
static void
test_checkpoints(void **state)
{
	struct heard h = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct tlsp_audit_options o = {.host = "h",
				       .sync = TLSP_SYNC_BATCH,
				       .checkpoint_secs = 1,
				       .notify = hear,
				       .notify_arg = &h};
	char path[512], err[512], want[200], last[TLSP_HASH_HEX + 1];
	const char *paths[1] = {path};
	struct tlsp_audit *a;
	struct logv lv;

	(void)state;
	path_in(path, sizeof(path), "checkpoint.log");
	a = tlsp_audit_open_with(path, &o, err, sizeof(err));
	assert_non_null(a);
	submit_detail(a, "x");
	usleep(1300 * 1000);
	tlsp_audit_close(a);
	logv_load(path, &lv);
	assert_int_equal(lv.n, 2);
	assert_string_equal(jv_str(&lv.v[1], "type"), "checkpoint");
	snprintf(want, sizeof(want), "audit checkpoint seq=2 hash=%s",
		 jv_str(&lv.v[1], "hash"));
	assert_true(h.n >= 2);
	assert_string_equal(h.msgs[0], want);
	assert_non_null(strstr(h.msgs[h.n - 1], want)); /* at close */
	assert_non_null(strstr(h.msgs[h.n - 1], "(closed)"));
	assert_int_equal(check_chain(paths, 1, NULL, tlsp_chain_genesis, last),
			 2);
	logv_free(&lv);
}

/* A checkpoint that cannot be written is dropped, not queued again: an
 * outage must not pile up one checkpoint per retry. */
static void
test_checkpoint_outage(void **state)
{
	struct heard h = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct tlsp_audit_options o = {.host = "h",
				       .sync = TLSP_SYNC_ALWAYS,
				       .checkpoint_secs = 1,
				       .notify = hear,
				       .notify_arg = &h};
	char path[512], err[512], last[TLSP_HASH_HEX + 1];
	const char *paths[1] = {path};
	struct rlimit old, lim;
	struct tlsp_audit *a;
	struct logv lv;
	size_t i, checkpoints = 0, after = 0;

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	path_in(path, sizeof(path), "cpoutage.log");
	a = tlsp_audit_open_with(path, &o, err, sizeof(err));
	assert_non_null(a);
	submit_detail(a, "before");
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)file_size(path) + 20;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	usleep(3500 * 1000); /* three checkpoint intervals, all failing */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	submit_detail(a, "after");
	tlsp_audit_close(a);
	logv_load(path, &lv);
	for (i = 0; i < lv.n; i++) {
		checkpoints += strcmp(jv_str(&lv.v[i], "type"), "checkpoint") ==
			       0;
		after += strcmp(jv_str(&lv.v[i], "detail"), "after") == 0;
	}
	assert_true(checkpoints <= 2);
	assert_int_equal(after, 1);
	assert_int_equal(check_chain(paths, 1, NULL, tlsp_chain_genesis, last),
			 lv.n);
	logv_free(&lv);
}

/*
 * sync: batch while the disk refuses: a record already acknowledged is
 * kept and written once the disk takes it again, before anything newer;
 * a record submitted while the log is failing waits and gets -1; the
 * notify hook hears the failure and the recovery.
 */
static void
test_writer_batch_failure(void **state)
{
	struct heard h = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct tlsp_audit_options o = {.host = "h",
				       .sync = TLSP_SYNC_BATCH,
				       .notify = hear,
				       .notify_arg = &h};
	char path[512], err[512], last[TLSP_HASH_HEX + 1];
	const char *paths[1] = {path};
	struct rlimit old, lim;
	struct tlsp_audit *a;
	struct logv lv;
	int i, rc;

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	path_in(path, sizeof(path), "batchfail.log");
	a = tlsp_audit_open_with(path, &o, err, sizeof(err));
	assert_non_null(a);
	submit_ok(a, &(struct tlsp_audit_event){.type = TLSP_EV_START}, 1);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)file_size(path) + 20;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	submit_detail(a, "acknowledged"); /* queued: returns 0 */
	for (i = 0; i < 500 && !tlsp_audit_last_error(a, err, sizeof(err))[0];
	     i++)
		usleep(2000);
	assert_non_null(strstr(err, strerror(EFBIG)));
	rc = tlsp_audit_submit(a,
			       &(struct tlsp_audit_event){
				       .type = TLSP_EV_RELOAD,
				       .detail = "refused"},
			       0);
	assert_int_equal(rc, -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	submit_ok(a,
		  &(struct tlsp_audit_event){.type = TLSP_EV_RELOAD,
					     .detail = "after"},
		  0);
	tlsp_audit_close(a);
	logv_load(path, &lv);
	assert_int_equal(lv.n, 3);
	assert_string_equal(jv_str(&lv.v[1], "detail"), "acknowledged");
	assert_string_equal(jv_str(&lv.v[2], "detail"), "after");
	logv_free(&lv);
	assert_int_equal(check_chain(paths, 1, NULL, tlsp_chain_genesis, last),
			 3);
	assert_true(h.n >= 2);
	assert_non_null(strstr(h.msgs[0], strerror(EFBIG)));
	assert_non_null(strstr(h.msgs[0], "on_error"));
	assert_non_null(strstr(h.msgs[1], "writable again"));
}

/* ===================================================== setup */

static int
setup(void **state)
{
	struct tlsp_diags d = {0};
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_audit.XXXXXX",
		 base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	policy = tlsp_policy_load_buffer("fixture", fixture_yaml,
					 strlen(fixture_yaml),
					 TLSP_MTA_SENDMAIL, &d);
	tlsp_diags_free(&d);
	return policy != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char path[512];
	struct dirent *de;
	DIR *dir = opendir(tmpdir);

	(void)state;
	while (dir != NULL && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue; /* ".", ".."; the test makes no dot files */
		path_in(path, sizeof(path), de->d_name);
		unlink(path);
	}
	if (dir != NULL)
		closedir(dir);
	rmdir(tmpdir);
	tlsp_policy_unref(policy);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_every_byte),
		cmocka_unit_test(test_escape_truncation),
		cmocka_unit_test(test_escape_roundtrip),
		cmocka_unit_test(test_builder),
		cmocka_unit_test(test_builder_escape_agrees),
		cmocka_unit_test(test_event_names),
		cmocka_unit_test(test_format_member),
		cmocka_unit_test(test_writer_fields),
		cmocka_unit_test(test_writer_plaintext),
		cmocka_unit_test(test_writer_threads),
		cmocka_unit_test(test_writer_hostile),
		cmocka_unit_test(test_writer_restart),
		cmocka_unit_test(test_writer_torn_tail),
		cmocka_unit_test(test_writer_not_a_log),
		cmocka_unit_test(test_writer_unwritable),
		cmocka_unit_test(test_writer_locked),
		cmocka_unit_test(test_writer_removed),
		cmocka_unit_test(test_writer_lone_record),
		cmocka_unit_test(test_body_salts),
		cmocka_unit_test(test_writer_rotate),
		cmocka_unit_test(test_writer_efbig),
		cmocka_unit_test(test_writer_sync_modes),
		cmocka_unit_test(test_chain_continues),
		cmocka_unit_test(test_chain_from_format1),
		cmocka_unit_test(test_chain_missing_newline),
		cmocka_unit_test(test_chain_head_file),
		cmocka_unit_test(test_chain_keyed),
		cmocka_unit_test(test_privacy_modes),
		cmocka_unit_test(test_checkpoints),
		cmocka_unit_test(test_writer_batch_failure),
		cmocka_unit_test(test_checkpoint_outage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
