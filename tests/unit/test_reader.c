/*
 * test_reader.c - unit tests for the reader of tlspolicy-audit
 * (audit/tool/jsonread.c, audit/tool/reader.c): the JSON parser and the
 * line reader.
 *
 * The parser is tested by tables: each row is one input and either the
 * exact tree it must give, written back in a compact form where string
 * bytes outside printable ASCII show as \xHH, or the error and its byte
 * position. Hostile rows cover what a tampered log can hold: NUL bytes,
 * raw controls, bad escapes, deep nesting, too many values, truncation.
 * The surrogateescape round trip feeds byte strings through the writer's
 * escaper (tlsp_escape_json) and back through the parser: every byte
 * must come back. The line reader is tested on files written here,
 * plain and gzip-compressed, with lines past its cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "jsonread.h"
#include "reader.h"
#include "tlspolicy/audit.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ============================================= a compact tree dump */

struct out {
	char *p;
	size_t len, cap;
};

static void
out_add(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->p = realloc(o->p, o->cap);
		assert_non_null(o->p);
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
out_str(struct out *o, const char *s, size_t n)
{
	char buf[8];
	size_t i;

	out_add(o, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			out_add(o, s + i, 1);
		} else {
			snprintf(buf, sizeof(buf), "\\x%02x", c);
			out_add(o, buf, 4);
		}
	}
	out_add(o, "\"", 1);
}

static void
dump(struct out *o, const struct tlspa_jv *v)
{
	const struct tlspa_jv *k;

	switch (v->type) {
	case TLSPA_J_NULL:
		out_add(o, "null", 4);
		break;
	case TLSPA_J_TRUE:
		out_add(o, "true", 4);
		break;
	case TLSPA_J_FALSE:
		out_add(o, "false", 5);
		break;
	case TLSPA_J_NUM:
		out_add(o, v->s, v->len);
		out_add(o, v->is_int ? "i" : "n", 1);
		break;
	case TLSPA_J_STR:
		out_str(o, v->s, v->len);
		break;
	case TLSPA_J_ARR:
	case TLSPA_J_OBJ:
		out_add(o, v->type == TLSPA_J_ARR ? "[" : "{", 1);
		for (k = v->kids; k != NULL; k = k->next) {
			if (k != v->kids)
				out_add(o, ",", 1);
			if (v->type == TLSPA_J_OBJ) {
				out_str(o, k->key, k->keylen);
				out_add(o, ":", 1);
			}
			dump(o, k);
		}
		out_add(o, v->type == TLSPA_J_ARR ? "]" : "}", 1);
		break;
	}
}

/* ===================================================== parse: good */

struct good {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen */
	const char *want;
};

static const struct good good_rows[] = {
	{"empty object", "{}", 0, "{}"},
	{"empty array", "[]", 0, "[]"},
	{"scalars", "[null,true,false,0,-1,12.5,1e3,-0.0E-2]", 0,
	 "[null,true,false,0i,-1i,12.5n,1e3n,-0.0E-2n]"},
	{"int64 edge", "[9223372036854775807,9223372036854775808]", 0,
	 "[9223372036854775807i,9223372036854775808n]"},
	{"whitespace around tokens", " { \"a\" : [ 1 , 2 ] }\t\r\n", 0,
	 "{\"a\":[1i,2i]}"},
	{"short escapes", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 0,
	 "\"\\x22\\x5c/\\x08\\x0c\\x0a\\x0d\\x09\""},
	{"\\u0000 is a NUL byte", "\"a\\u0000b\"", 0, "\"a\\x00b\""},
	{"\\u escapes to UTF-8", "\"\\u00e9\\u20ac\"", 0,
	 "\"\\xc3\\xa9\\xe2\\x82\\xac\""},
	{"uppercase hex", "\"\\u00E9\"", 0, "\"\\xc3\\xa9\""},
	{"surrogate pair", "\"\\ud83d\\ude00\"", 0, "\"\\xf0\\x9f\\x98\\x80\""},
	{"surrogateescape byte", "\"\\udcff\\udc80\"", 0, "\"\\xff\\x80\""},
	{"lone high surrogate is U+FFFD", "\"\\ud800x\"", 0,
	 "\"\\xef\\xbf\\xbdx\""},
	{"lone low below dc80 is U+FFFD", "\"\\udc7f\"", 0,
	 "\"\\xef\\xbf\\xbd\""},
	{"high then escaped byte: byte stays", "\"\\ud800\\udcff\"", 0,
	 "\"\\xf0\\x90\\x83\\xbf\""},
	{"raw UTF-8 kept",
	 "\"b\xc3\xb6"
	 "b\"",
	 0, "\"b\\xc3\\xb6b\""},
	{"raw invalid UTF-8 kept", "\"\xff\xfe\"", 0, "\"\\xff\\xfe\""},
	{"redacted value", "{\"sender\":{\"sha256\":\"ab\"}}", 0,
	 "{\"sender\":{\"sha256\":\"ab\"}}"},
	{"duplicate keys kept in order", "{\"a\":1,\"a\":2}", 0,
	 "{\"a\":1i,\"a\":2i}"},
	{"escaped key", "{\"s\\u0061lt\":\"x\"}", 0, "{\"salt\":\"x\"}"},
	{"nesting 64 deep",
	 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	 0,
	 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"},
};

/* The input in a heap buffer of its exact size, so that ASan sees any
 * read past its end. */
static char *
exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static void
test_parse_good(void **state)
{
	struct tlspa_json jp = {0};
	const struct tlspa_jv *v;
	struct out o = {0};
	size_t i, n;
	int bad = 0;
	char *in;

	(void)state;
	for (i = 0; i < NELEM(good_rows); i++) {
		n = good_rows[i].len ? good_rows[i].len
				     : strlen(good_rows[i].in);
		in = exact(good_rows[i].in, n);
		o.len = 0;
		v = tlspa_json_parse(&jp, in, n);
		if (v != NULL)
			dump(&o, v);
		if (v == NULL || strcmp(o.p, good_rows[i].want) != 0) {
			print_error("%s: got %s (%s at %zu), want %s\n",
				    good_rows[i].name, v ? o.p : "error",
				    jp.err ? jp.err : "-", jp.errpos,
				    good_rows[i].want);
			bad = 1;
		}
		free(in);
	}
	free(o.p);
	tlspa_json_free(&jp);
	assert_false(bad);
}

/* ================================================== parse: hostile */

struct hostile {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen */
	const char *err;
	size_t pos;
};

static const struct hostile bad_rows[] = {
	{"nothing", "", 0, "unexpected end", 0},
	{"only whitespace", "  ", 0, "unexpected end", 2},
	{"open object", "{", 0, "expected a member name", 1},
	{"unterminated string", "{\"a\":\"xyz", 0, "unterminated string", 5},
	{"backslash at the end", "\"ab\\", 0, "unterminated string", 0},
	{"raw tab in a string", "\"a\tb\"", 0, "control character in a string",
	 2},
	{"raw NUL in a string", "\"a\0b\"", 5, "control character in a string",
	 2},
	{"NUL outside strings", "{}\0", 3, "bytes after the value", 2},
	{"raw LF in a string", "\"a\nb\"", 0, "control character in a string",
	 2},
	{"bad short escape", "\"\\x41\"", 0, "bad escape in a string", 0},
	{"bad \\u hex", "\"\\u12G4\"", 0, "bad escape in a string", 0},
	{"short \\u", "\"\\u12\"", 0, "bad escape in a string", 0},
	{"trailing bytes", "{} x", 0, "bytes after the value", 3},
	{"two values", "{}{}", 0, "bytes after the value", 2},
	{"missing colon", "{\"a\" 1}", 0, "expected ':'", 5},
	{"missing comma", "[1 2]", 0, "expected ',' or ']'", 3},
	{"trailing comma", "[1,]", 0, "unexpected character", 3},
	{"key not a string", "{1:2}", 0, "expected a member name", 1},
	{"leading zero", "[01]", 0, "expected ',' or ']'", 2},
	{"lone minus", "-", 0, "bad number", 1},
	{"dot without digits", "1.", 0, "bad number", 1},
	{"exponent without digits", "1e+", 0, "bad number", 3},
	{"plus sign", "+1", 0, "unexpected character", 0},
	{"truncated word", "tru", 0, "unexpected character", 0},
	{"NaN", "NaN", 0, "unexpected character", 0},
	{"single quotes", "'a'", 0, "unexpected character", 0},
	{"cut record", "{\"seq\":1,\"time\":\"2026", 0, "unterminated string",
	 16},
	{"nesting 65 deep",
	 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	 0, "nested too deeply", 64},
};

static void
test_parse_hostile(void **state)
{
	struct tlspa_json jp = {0};
	size_t i, n;
	int bad = 0;
	char *in;

	(void)state;
	for (i = 0; i < NELEM(bad_rows); i++) {
		n = bad_rows[i].len ? bad_rows[i].len : strlen(bad_rows[i].in);
		in = exact(bad_rows[i].in, n);
		if (tlspa_json_parse(&jp, in, n) != NULL ||
		    strcmp(jp.err, bad_rows[i].err) != 0 ||
		    jp.errpos != bad_rows[i].pos) {
			print_error("%s: got %s at %zu, want %s at %zu\n",
				    bad_rows[i].name,
				    jp.err ? jp.err : "a tree", jp.errpos,
				    bad_rows[i].err, bad_rows[i].pos);
			bad = 1;
		}
		free(in);
	}
	tlspa_json_free(&jp);
	assert_false(bad);
}

/* Deep nesting far past the cap, and more values than a line may hold:
 * an error, no stack overflow, no unbounded memory. */
static void
test_parse_limits(void **state)
{
	struct tlspa_json jp = {0};
	size_t n = 1u << 20, i;
	char *in = malloc(2 * n + 2);

	(void)state;
	assert_non_null(in);
	memset(in, '[', n);
	memset(in + n, ']', n);
	assert_null(tlspa_json_parse(&jp, in, 2 * n));
	assert_string_equal(jp.err, "nested too deeply");
	in[0] = '[';
	for (i = 1; i + 1 < 2 * n; i += 2) {
		in[i] = '0';
		in[i + 1] = ',';
	}
	in[i - 1] = ']';
	assert_null(tlspa_json_parse(&jp, in, i));
	assert_string_equal(jp.err, "too many values");
	/* The parser is still usable afterwards. */
	assert_non_null(tlspa_json_parse(&jp, "{\"a\":1}", 7));
	free(in);
	tlspa_json_free(&jp);
}

/* ====================================================== round trip */

/* Escapes b (n bytes) as the writer does, parses it back, compares. */
static int
round_trip(struct tlspa_json *jp, const unsigned char *b, size_t n)
{
	size_t cap = 6 * n + 3;
	char *q = malloc(cap);
	const struct tlspa_jv *v;
	int len, ok;

	assert_non_null(q);
	q[0] = '"';
	len = tlsp_escape_json((const char *)b, n, q + 1, cap - 2);
	assert_true(len >= 0);
	q[len + 1] = '"';
	v = tlspa_json_parse(jp, q, (size_t)len + 2);
	ok = v != NULL && v->type == TLSPA_J_STR && v->len == n &&
	     memcmp(v->s, b, n) == 0 && v->rawlen == (size_t)len &&
	     memcmp(v->raw, q + 1, v->rawlen) == 0;
	free(q);
	return ok;
}

static void
test_surrogateescape(void **state)
{
	static const struct {
		const char *name;
		const char *b;
		size_t n;
	} rows[] = {
		{"plain", "user@example.com", 16},
		{"controls and quotes", "a\"b\\c\n\r\t\x01\x7f", 11},
		{"NUL inside", "a\0b", 3},
		{"valid UTF-8",
		 "b\xc3\xb6"
		 "b@b\xc3\xa4nk",
		 10},
		{"lone continuation bytes", "\x80\xbf", 2},
		{"overlong slash", "\xc0\xaf", 2},
		{"encoded surrogate", "\xed\xa0\x80", 3},
		{"past U+10FFFF", "\xf4\x90\x80\x80", 4},
		{"cut sequence at the end", "ok\xe2\x82", 4},
		{"C1 control (NEL)", "\xc2\x85", 2},
		{"line separator", "\xe2\x80\xa8", 3},
		{"Latin-1 name", "M\xfcller", 6},
	};
	struct tlspa_json jp = {0};
	unsigned char b[64];
	size_t i, k;
	unsigned seed = 12345;
	int bad = 0;

	(void)state;
	for (i = 0; i < NELEM(rows); i++)
		if (!round_trip(&jp, (const unsigned char *)rows[i].b,
				rows[i].n)) {
			print_error("%s: bytes do not come back\n",
				    rows[i].name);
			bad = 1;
		}
	for (i = 0; i < 256; i++) {
		b[0] = (unsigned char)i;
		if (!round_trip(&jp, b, 1)) {
			print_error("byte 0x%02zx does not come back\n", i);
			bad = 1;
		}
	}
	for (i = 0; i < 2000; i++) {
		for (k = 0; k < sizeof(b); k++) {
			seed = seed * 1103515245u + 12345u;
			b[k] = (unsigned char)(seed >> 16);
		}
		if (!round_trip(&jp, b, 1 + i % sizeof(b))) {
			print_error("random string %zu does not come back\n",
				    i);
			bad = 1;
		}
	}
	tlspa_json_free(&jp);
	assert_false(bad);
}

/* ======================================================= accessors */

static void
test_accessors(void **state)
{
	static const char rec[] =
		"{\"seq\":7,\"sender\":{\"sha256\":\"0123456789abcdef0123456789"
		"abcdef0123456789abcdef0123456789abcdef\"},\"helo\":{\"sha256\":"
		"\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789"
		"abcdef\"},\"name\":{\"sha256\":\"ab\"},\"addr\":\"a@b\"}";
	struct tlspa_json jp = {0};
	const struct tlspa_jv *r;

	(void)state;
	r = tlspa_json_parse(&jp, rec, strlen(rec));
	assert_non_null(r);
	assert_true(tlspa_jv_get(r, "seq")->is_int);
	assert_int_equal(tlspa_jv_get(r, "seq")->i, 7);
	assert_non_null(tlspa_jv_digest(tlspa_jv_get(r, "sender")));
	assert_null(tlspa_jv_digest(tlspa_jv_get(r, "helo"))); /* uppercase */
	assert_null(tlspa_jv_digest(tlspa_jv_get(r, "name"))); /* short */
	assert_null(tlspa_jv_digest(tlspa_jv_get(r, "addr")));
	assert_string_equal(tlspa_jv_str(tlspa_jv_get(r, "addr")), "a@b");
	assert_null(tlspa_jv_str(tlspa_jv_get(r, "sender")));
	assert_true(tlspa_jv_is(tlspa_jv_get(r, "addr"), "a@b"));
	assert_false(tlspa_jv_is(tlspa_jv_get(r, "addr"), "a@"));
	assert_null(tlspa_jv_get(r, "missing"));
	assert_null(tlspa_jv_get(tlspa_jv_get(r, "seq"), "x"));
	assert_null(tlspa_jv_get(NULL, "x"));
	tlspa_json_free(&jp);
}

/* ===================================================== line reader */

static char dir[] = "/tmp/tlsp-reader.XXXXXX";

static void
write_file(const char *name, const char *s, size_t n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static char *
path_of(const char *name)
{
	static char paths[8][256];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

struct want_line {
	const char *file;
	unsigned long long lineno;
	const char *p; /* NULL: overlong */
	size_t len;
	int lf;
};

static void
expect_lines(struct tlspa_reader *lr, const struct want_line *w, size_t n)
{
	struct tlspa_reader_line ln;
	size_t i;

	for (i = 0; i < n; i++) {
		assert_int_equal(tlspa_reader_next(lr, &ln), 1);
		assert_string_equal(ln.path, path_of(w[i].file));
		assert_int_equal(ln.lineno, w[i].lineno);
		assert_int_equal(ln.len, w[i].len);
		assert_int_equal(ln.lf, w[i].lf);
		if (w[i].p == NULL) {
			assert_true(ln.overlong);
			assert_null(ln.p);
		} else {
			assert_false(ln.overlong);
			assert_memory_equal(ln.p, w[i].p, w[i].len);
			assert_int_equal(ln.p[ln.len], '\0');
		}
	}
	assert_int_equal(tlspa_reader_next(lr, &ln), 0);
}

static void
test_lines(void **state)
{
	static const char a[] = "one\ntwo\r\n\nnul\0inside\nlast";
	static const char b[] =
		"0123456789012345678901234567890123456789\nshort\n";
	const struct want_line want[] = {
		{"a", 1, "one", 3, 1},
		{"a", 2, "two\r", 4, 1},
		{"a", 3, "", 0, 1},
		{"a", 4, "nul\0inside", 10, 1},
		{"a", 5, "last", 4, 0},
		{"b", 1, NULL, 40, 1},
		{"b", 2, "short", 5, 1},
		{"empty", 0, NULL, 0, 0}, /* placeholder, not read */
	};
	char *files[3];
	struct tlspa_reader lr = {0};

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file("a", a, sizeof(a) - 1);
	write_file("b", b, sizeof(b) - 1);
	write_file("empty", "", 0);
	files[0] = path_of("a");
	files[1] = path_of("empty");
	files[2] = path_of("b");
	lr.files = files;
	lr.nfiles = 3;
	lr.max = 16;
	expect_lines(&lr, want, NELEM(want) - 1);
	tlspa_reader_close(&lr);
}

/* A line longer than the buffer's first size but within the cap is
 * whole; the buffer grows only up to the cap. */
static void
test_lines_long(void **state)
{
	size_t n = (3u << 20) + 17;
	char *s = malloc(n + 1), *files[1];
	struct tlspa_reader lr = {0};
	struct tlspa_reader_line ln;

	(void)state;
	assert_non_null(s);
	memset(s, 'x', n);
	s[n] = '\n';
	write_file("long", s, n + 1);
	files[0] = path_of("long");
	lr.files = files;
	lr.nfiles = 1;
	assert_int_equal(tlspa_reader_next(&lr, &ln), 1);
	assert_false(ln.overlong);
	assert_int_equal(ln.len, n);
	assert_memory_equal(ln.p, s, n);
	assert_int_equal(tlspa_reader_next(&lr, &ln), 0);
	tlspa_reader_close(&lr);
	free(s);
}

static void
test_lines_errors(void **state)
{
	char *files[2];
	struct tlspa_reader lr = {0};
	struct tlspa_reader_line ln;

	(void)state;
	files[0] = path_of("does-not-exist");
	lr.files = files;
	lr.nfiles = 1;
	assert_int_equal(tlspa_reader_next(&lr, &ln), -1);
	assert_non_null(strstr(lr.err, "cannot open"));
	tlspa_reader_close(&lr);

	memset(&lr, 0, sizeof(lr));
	files[0] = dir;
	lr.files = files;
	lr.nfiles = 1;
	assert_int_equal(tlspa_reader_next(&lr, &ln), -1);
	assert_non_null(strstr(lr.err, "is a directory"));
	tlspa_reader_close(&lr);
}

static int
have_gzip(void)
{
	return system("gzip --version >/dev/null 2>&1") == 0;
}

static void
test_lines_gzip(void **state)
{
	char cmd[600], *files[2];
	struct tlspa_reader lr = {0};
	struct tlspa_reader_line ln;
	const struct want_line want[] = {
		{"a.gz", 1, "one", 3, 1},
		{"a.gz", 2, "two\r", 4, 1},
		{"a.gz", 3, "", 0, 1},
		{"a.gz", 4, "nul\0inside", 10, 1},
		{"a.gz", 5, "last", 4, 0},
		{"renamed", 1, "one", 3, 1},
		{"renamed", 2, "two\r", 4, 1},
		{"renamed", 3, "", 0, 1},
		{"renamed", 4, "nul\0inside", 10, 1},
		{"renamed", 5, "last", 4, 0},
	};

	(void)state;
	if (!have_gzip())
		skip();
	snprintf(cmd, sizeof(cmd),
		 "gzip -c %s/a >%s/a.gz && cp %s/a.gz "
		 "%s/renamed",
		 dir, dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	files[0] = path_of("a.gz");
	files[1] = path_of("renamed"); /* found by its magic bytes */
	lr.files = files;
	lr.nfiles = 2;
	expect_lines(&lr, want, NELEM(want));
	tlspa_reader_close(&lr);

	/* A cut archive is an error at its end, not a short log. */
	snprintf(cmd, sizeof(cmd), "head -c 20 %s/a.gz >%s/cut.gz", dir, dir);
	assert_int_equal(system(cmd), 0);
	memset(&lr, 0, sizeof(lr));
	files[0] = path_of("cut.gz");
	lr.files = files;
	lr.nfiles = 1;
	while (tlspa_reader_next(&lr, &ln) > 0)
		;
	assert_non_null(strstr(lr.err, "gzip -dc failed"));
	tlspa_reader_close(&lr);

	/* Stopping early kills the child instead of waiting for it. */
	memset(&lr, 0, sizeof(lr));
	files[0] = path_of("a.gz");
	lr.files = files;
	lr.nfiles = 1;
	assert_int_equal(tlspa_reader_next(&lr, &ln), 1);
	tlspa_reader_close(&lr);
}

static int
cleanup(void **state)
{
	char cmd[300];

	(void)state;
	if (strchr(dir, 'X') == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_surrogateescape),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_lines_long),
		cmocka_unit_test(test_lines_errors),
		cmocka_unit_test(test_lines_gzip),
	};

	return cmocka_run_group_tests(tests, NULL, cleanup);
}
