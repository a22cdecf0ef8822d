/*
 * test_escape.c - every escaper of policy/escape.c with every class of
 * character: printable ASCII, the quote and the backslash, C0 controls,
 * DEL, C1 controls, valid UTF-8, invalid UTF-8, and the format
 * characters a viewer acts on (line and paragraph separators,
 * bidirectional controls, zero-width characters, the BOM, tag
 * characters).
 *
 * Tables of exact outputs, one row per class, for the log line, the JSON
 * string of the audit record, the tag header and the SMTP reply; then a
 * sweep over every code point that checks the format set of
 * tlsp_is_format_char against the list this file states on its own (the
 * general categories Cf, Zl and Zp of Unicode 15.1), through both the
 * log and the JSON escaper. And tlsp_text_copy, the bounded copy that
 * keeps a string as sent for the sinks to escape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tlspolicy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct row {
	const char *name;
	const char *in;
	const char *log;  /* tlsp_escape_log */
	const char *json; /* tlsp_escape_json */
};

/* One row per class of character (the NUL cannot reach a C string). */
static const struct row rows[] = {
	{"printable ASCII", "mx-1.example", "mx-1.example", "mx-1.example"},
	{"double quote", "evil\"host", "evil\\x22host", "evil\\\"host"},
	{"backslash", "a\\b", "a\\x5cb", "a\\\\b"},
	{"CR LF", "a\r\nb", "a\\x0d\\x0ab", "a\\r\\nb"},
	{"ESC (C0)", "\x1b[31m", "\\x1b[31m", "\\u001b[31m"},
	{"DEL", "\x7f", "\\x7f", "\\u007f"},
	{"NEL (C1)", "\xc2\x85", "\\xc2\\x85", "\\u0085"},
	{"CSI (C1)", "\xc2\x9b", "\\xc2\\x9b", "\\u009b"},
	{"e-acute kept", "caf\xc3\xa9", "caf\xc3\xa9", "caf\xc3\xa9"},
	{"emoji kept", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80",
	 "\xf0\x9f\x98\x80"},
	{"invalid byte", "mx\xff.example", "mx\\xff.example",
	 "mx\\udcff.example"},
	{"cut character", "a\xe2\x82", "a\\xe2\\x82", "a\\udce2\\udc82"},
	{"surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80",
	 "\\udced\\udca0\\udc80"},
	{"U+2028 line separator", "a\xe2\x80\xa8z", "a\\xe2\\x80\\xa8z",
	 "a\\u2028z"},
	{"U+2029 paragraph separator", "\xe2\x80\xa9", "\\xe2\\x80\\xa9",
	 "\\u2029"},
	{"U+202E right-to-left override",
	 "moc.\xe2\x80\xae"
	 "example",
	 "moc.\\xe2\\x80\\xaeexample", "moc.\\u202eexample"},
	{"U+202A left-to-right embedding", "\xe2\x80\xaa", "\\xe2\\x80\\xaa",
	 "\\u202a"},
	{"U+2066 left-to-right isolate", "\xe2\x81\xa6", "\\xe2\\x81\\xa6",
	 "\\u2066"},
	{"U+2069 pop directional isolate", "\xe2\x81\xa9", "\\xe2\\x81\\xa9",
	 "\\u2069"},
	{"U+200F right-to-left mark", "\xe2\x80\x8f", "\\xe2\\x80\\x8f",
	 "\\u200f"},
	{"U+200B zero width space", "pay\xe2\x80\x8bpal",
	 "pay\\xe2\\x80\\x8bpal", "pay\\u200bpal"},
	{"U+061C Arabic letter mark", "\xd8\x9c", "\\xd8\\x9c", "\\u061c"},
	{"U+FEFF byte order mark", "\xef\xbb\xbf", "\\xef\\xbb\\xbf",
	 "\\ufeff"},
	{"U+00AD soft hyphen",
	 "ex\xc2\xad"
	 "ample",
	 "ex\\xc2\\xad"
	 "ample",
	 "ex\\u00adample"},
	{"U+E0041 tag character (past U+FFFF)", "\xf3\xa0\x81\x81",
	 "\\xf3\\xa0\\x81\\x81", "\\udb40\\udc41"},
	{"U+202F narrow no-break space kept", "\xe2\x80\xaf", "\xe2\x80\xaf",
	 "\xe2\x80\xaf"},
	{"U+2065 (unassigned) kept", "\xe2\x81\xa5", "\xe2\x81\xa5",
	 "\xe2\x81\xa5"},
	{"U+00A0 no-break space kept", "\xc2\xa0", "\xc2\xa0", "\xc2\xa0"},
};

static void
test_log_rows(void **state)
{
	char out[256];
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++) {
		int cut = tlsp_escape_log(rows[i].in, strlen(rows[i].in), out,
					  sizeof(out));

		if (cut != 0 || strcmp(out, rows[i].log) != 0) {
			print_error(
				"%s: log got \"%s\" (cut %d), want \"%s\"\n",
				rows[i].name, out, cut, rows[i].log);
			bad = 1;
		}
	}
	assert_int_equal(bad, 0);
}

static void
test_json_rows(void **state)
{
	char out[256];
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < NELEM(rows); i++) {
		int n = tlsp_escape_json(rows[i].in, strlen(rows[i].in), out,
					 sizeof(out));

		if (n != (int)strlen(rows[i].json) ||
		    strcmp(out, rows[i].json) != 0) {
			print_error("%s: JSON got %d \"%s\", want \"%s\"\n",
				    rows[i].name, n, out, rows[i].json);
			bad = 1;
		}
	}
	assert_int_equal(bad, 0);
}

/* The log escaper cuts at a character (or escape) boundary, and says so. */
static void
test_log_truncation(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(tlsp_escape_log("abcdefg", 7, out, sizeof(out)), 0);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(tlsp_escape_log("abcdefgh", 8, out, sizeof(out)), 1);
	assert_string_equal(out, "abcdefg");
	/* "ab" + "\xe2\x80\xae" (12 bytes) does not fit after "ab" */
	assert_int_equal(tlsp_escape_log("ab\xe2\x80\xae", 5, out, sizeof(out)),
			 1);
	assert_string_equal(out, "ab\\xe2");
	assert_int_equal(tlsp_escape_log("abcdef\xc3\xa9", 8, out, sizeof(out)),
			 1);
	assert_string_equal(out, "abcdef");
}

struct hrow {
	const char *name, *in, *header, *reply;
};

/* The tag header keeps [A-Za-z0-9._-] and writes '?' for any other byte;
 * the reply doubles '%' (libmilter takes it as a format) and keeps the
 * rest, which only the policy's author chose. */
static const struct hrow hrows[] = {
	{"token", "TLSv1.3", "TLSv1.3", "TLSv1.3"},
	{"quote and backslash", "a\"b\\c", "a?b?c", "a\"b\\c"},
	{"CR LF", "a\r\nX: y", "a??X??y", "a\r\nX: y"},
	{"C1 and invalid", "\xc2\x85\xff", "???", "\xc2\x85\xff"},
	{"U+202E", "\xe2\x80\xae", "???", "\xe2\x80\xae"},
	{"percent", "100% sure %s", "100??sure??s", "100%% sure %%s"},
};

static void
test_header_reply_rows(void **state)
{
	char out[64];
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < NELEM(hrows); i++) {
		tlsp_escape_header(hrows[i].in, out, sizeof(out));
		if (strcmp(out, hrows[i].header) != 0) {
			print_error("%s: header got \"%s\"\n", hrows[i].name,
				    out);
			bad = 1;
		}
		tlsp_escape_reply(hrows[i].in, out, sizeof(out));
		if (strcmp(out, hrows[i].reply) != 0) {
			print_error("%s: reply got \"%s\"\n", hrows[i].name,
				    out);
			bad = 1;
		}
	}
	tlsp_escape_reply("ab%", out, 4); /* "%%" does not fit: cut before */
	assert_string_equal(out, "ab");
	assert_int_equal(bad, 0);
}

/* Not an escaper: the bounded copy of a string kept as sent. */
static void
test_text_copy(void **state)
{
	char out[6];

	(void)state;
	assert_int_equal(tlsp_text_copy(out, sizeof(out), "a\"\\\xff\n"), 0);
	assert_string_equal(out, "a\"\\\xff\n");
	assert_int_equal(tlsp_text_copy(out, sizeof(out), "abcdef"), 1);
	assert_string_equal(out, "abcde");
	/* U+202E does not fit after "abc": cut before it, not inside */
	assert_int_equal(tlsp_text_copy(out, sizeof(out), "abc\xe2\x80\xae"),
			 1);
	assert_string_equal(out, "abc");
	/* invalid bytes are one character each */
	assert_int_equal(tlsp_text_copy(out, sizeof(out), "abcd\xe2\x80"), 1);
	assert_string_equal(out, "abcd\xe2");
	assert_int_equal(tlsp_text_copy(out, 1, "a"), 1);
	assert_string_equal(out, "");
}

/* Cf, Zl and Zp of Unicode 15.1 (DerivedGeneralCategory.txt), stated
 * here again so that a change of escape.c's table shows. */
static const unsigned expect_format[][2] = {
	{0x00ad, 0x00ad},   {0x0600, 0x0605},	{0x061c, 0x061c},
	{0x06dd, 0x06dd},   {0x070f, 0x070f},	{0x0890, 0x0891},
	{0x08e2, 0x08e2},   {0x180e, 0x180e},	{0x200b, 0x200f},
	{0x2028, 0x2029},   {0x202a, 0x202e},	{0x2060, 0x2064},
	{0x2066, 0x206f},   {0xfeff, 0xfeff},	{0xfff9, 0xfffb},
	{0x110bd, 0x110bd}, {0x110cd, 0x110cd}, {0x13430, 0x1343f},
	{0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001},
	{0xe0020, 0xe007f},
};

static int
expected_format(unsigned cp)
{
	for (size_t i = 0; i < NELEM(expect_format); i++)
		if (cp >= expect_format[i][0] && cp <= expect_format[i][1])
			return 1;
	return 0;
}

static size_t
utf8(unsigned cp, char *u)
{
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (char)(0xf0 | cp >> 18);
	u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	u[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Every scalar value from U+00A0 on: a format character is escaped by
 * both escapers (JSON as \uXXXX or its surrogate pair, the log as
 * \xHH per byte), any other is kept as it is. */
static void
test_format_sweep(void **state)
{
	unsigned cp, nformat = 0;
	char u[4], log[32], json[32], want[32];
	size_t n;

	(void)state;
	for (cp = 0xa0; cp <= 0x10ffff; cp++) {
		int fmt = expected_format(cp);

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = utf8(cp, u);
		assert_int_equal(tlsp_is_format_char(cp), fmt);
		tlsp_escape_log(u, n, log, sizeof(log));
		tlsp_escape_json(u, n, json, sizeof(json));
		if (!fmt) {
			if (strlen(log) != n || memcmp(log, u, n) != 0 ||
			    strlen(json) != n || memcmp(json, u, n) != 0)
				fail_msg("U+%04X: changed, not a format "
					 "character",
					 cp);
			continue;
		}
		nformat++;
		for (size_t i = 0; i < n; i++)
			snprintf(want + 4 * i, 5, "\\x%02x",
				 (unsigned char)u[i]);
		assert_string_equal(log, want);
		if (cp <= 0xffff)
			snprintf(want, sizeof(want), "\\u%04x", cp);
		else
			snprintf(want, sizeof(want), "\\u%04x\\u%04x",
				 0xd800 + ((cp - 0x10000) >> 10),
				 0xdc00 + ((cp - 0x10000) & 0x3ff));
		assert_string_equal(json, want);
	}
	/* the size of the set, counted from the list above */
	assert_int_equal(nformat, 172);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_rows),
		cmocka_unit_test(test_json_rows),
		cmocka_unit_test(test_log_truncation),
		cmocka_unit_test(test_header_reply_rows),
		cmocka_unit_test(test_text_copy),
		cmocka_unit_test(test_format_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
