/*
 * test_chain.c - the hash chain code (audit/chain.c) against the test
 * vectors and the worked examples of audit/FORMAT.md.
 *
 * The vectors (tests/audit/vectors, written by tests/audit/make-vectors.py
 * from an independent implementation of FORMAT.md) are read line by line:
 * for each line the table says what tlsp_chain_verify must answer, '+'
 * the hash is right, 'x' it is wrong (changed, or another key), 't' the
 * line is not a record (torn). Rows marked chained must also link: each
 * record's prev is the hash of the record before and seq counts up by 1.
 * Whether the whole log holds is the verifiers' business (the README
 * table, tests/check-audit-python.sh); this test pins the bytes.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "chain.h"
#include "tlspolicy/audit.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif
#define VEC SRCDIR "/tests/audit/vectors/"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define ZERO64                                                                 \
	"00000000000000000000000000000000"                                     \
	"00000000000000000000000000000000"
#define SALT1 "00112233445566778899aabbccddeeff"

/* ================================================== canonical bytes */

static const struct {
	const char *name, *in;
	const char *want; /* NULL: tlsp_chain_canon fails */
} canon_cases[] = {
	{"nothing redactable", "{\"seq\":1,\"type\":\"start\"}",
	 "{\"seq\":1,\"type\":\"start\"}"},
	{"a sender, no salt", "{\"sender\":\"a@b\"}",
	 "{\"sender\":{\"sha256\":\"c8d571b3fb62ce5b30a726a55832ea2086b1f3473c"
	 "09d74dd8247967525f65e0\"}}"},
	{"salt after the value, null name",
	 "{\"client\":{\"addr\":\"192.0.2.1\",\"name\":null},"
	 "\"salt\":\"0123456789abcdef0123456789abcdef\"}",
	 "{\"client\":{\"addr\":{\"sha256\":\"454f0691cdf8976466993ca3ee33713f2"
	 "01568b006465b89d1c46d9bac5b2859\"},\"name\":null},"
	 "\"salt\":\"0123456789abcdef0123456789abcdef\"}"},
	{"a key inside a string is not a key",
	 "{\"helo\":\"x\\\",\\\"sender\\\":\\\"y\",\"salt\":\"" SALT1 "\"}",
	 "{\"helo\":{\"sha256\":\"34eee54f03e4b48605961b1bcec339e4e93c6a21da68"
	 "27a464936da2bc95c0ed\"},\"salt\":\"" SALT1 "\"}"},
	{"a value ending in a backslash", "{\"addr\":\"a\\\\\",\"name\":\"b\"}",
	 "{\"addr\":{\"sha256\":\"db3bd8f3401c010bb8baa4f6f3f3eebdf353d0d4ec549"
	 "91efdc19b91ae236a68\"},\"name\":{\"sha256\":\"a5565c2f33869d03f4ed4fb"
	 "03bfa5aea955fe116ed4b9adccb334db15a6e1ad8\"}}"},
	{"already redacted", "{\"sender\":{\"sha256\":\"" ZERO64 "\"}}",
	 "{\"sender\":{\"sha256\":\"" ZERO64 "\"}}"},
	{"an escaped key name is another key", "{\"sende\\u0072\":\"x\"}",
	 "{\"sende\\u0072\":\"x\"}"},
	{"a salt below the top level is no salt",
	 "{\"x\":{\"salt\":\"ab\"},\"sender\":\"v\"}",
	 "{\"x\":{\"salt\":\"ab\"},\"sender\":{\"sha256\":"
	 "\"e38c6da906389fdf09a7"
	 "85ec8676d178f36e5397a7da77f715c2299df148c691\"}}"},
	{"recipients",
	 "{\"recipients\":[{\"addr\":\"a\",\"verdict\":null},"
	 "{\"addr\":\"b\"}],\"salt\":\"s\"}",
	 "{\"recipients\":[{\"addr\":{\"sha256\":\"a57ccd279aaf6e91099e16b0e03c"
	 "28e4d6c8800e969570b85484e94ba986c45e\"},\"verdict\":null},{\"addr\":"
	 "{\"sha256\":\"48620f22964d4ca17d2c1f1a2c960cf526348465155324495611df0"
	 "fee72d1e3\"}}],\"salt\":\"s\"}"},
	{"an empty value", "{\"helo\":\"\"}",
	 "{\"helo\":{\"sha256\":\"83aaac75da1c7dac3175f9cf4e3c676e4c4c16c33913"
	 "0b712690213ac016997a\"}}"},
	{"values named like keys", "{\"detail\":\"sender\",\"x\":[\"name\"]}",
	 "{\"detail\":\"sender\",\"x\":[\"name\"]}"},
	{"an unterminated string", "{\"sender\":\"abc", NULL},
	{"an unterminated key", "{\"seq\":1,\"sen", NULL},
};

static void
test_canon(void **state)
{
	struct tlsp_jbuf out = {0};
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(canon_cases); i++) {
		rc = tlsp_chain_canon(canon_cases[i].in,
				      strlen(canon_cases[i].in), &out);
		if (canon_cases[i].want == NULL) {
			if (rc != -1)
				fail_msg("%s: canon succeeded",
					 canon_cases[i].name);
			continue;
		}
		if (rc != 0 || out.oom)
			fail_msg("%s: canon failed", canon_cases[i].name);
		if (out.len != strlen(canon_cases[i].want) ||
		    memcmp(out.p, canon_cases[i].want, out.len) != 0)
			fail_msg("%s:\n got %.*s\nwant %s", canon_cases[i].name,
				 (int)out.len, out.p, canon_cases[i].want);
	}
	tlsp_jb_free(&out);
}

/* ====================================================== field digest */

#define X10 "xxxxxxxxxx"
#define X50 X10 X10 X10 X10 X10
#define X200 X50 X50 X50 X50
static const struct {
	const char *name, *salt, *key, *value, *want;
} digest_cases[] = {
	{"FORMAT.md example 3", SALT1, "sender", "a\\\"b@example.org",
	 "d071748a0c4310f0a81940e1cdbe2cc595cb93c434b6dc9763580245c1005070"},
	{"no salt", "", "sender", "a@b",
	 "c8d571b3fb62ce5b30a726a55832ea2086b1f3473c09d74dd8247967525f65e0"},
	{"a salt", "0123456789abcdef0123456789abcdef", "addr", "192.0.2.1",
	 "454f0691cdf8976466993ca3ee33713f201568b006465b89d1c46d9bac5b2859"},
	{"an empty value", "", "helo", "",
	 "83aaac75da1c7dac3175f9cf4e3c676e4c4c16c339130b712690213ac016997a"},
	/* values longer than a block, around 256 bytes in all */
	{"218 bytes", "0123456789abcdef0123456789abcdef", "addr",
	 X200 X10 "xxxxxxxx",
	 "2446635ca91532dc546c5ed5b354fee7b9abb52c649e34025e9d3aae7ddf3ac8"},
	{"219 bytes", "0123456789abcdef0123456789abcdef", "addr",
	 X200 X10 "xxxxxxxxx",
	 "b8f88a39cd8378d65967aef668a6f67aa76b56709f7fd98932517e7b570770b3"},
	{"300 bytes", "0123456789abcdef0123456789abcdef", "addr", X200 X50 X50,
	 "d041d00fa593d5a52819e4c16a31bd0f6d1cc7ce498469c7940c50e3cd020bd0"},
};

static void
test_field_digest(void **state)
{
	char hex[TLSP_HASH_HEX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(digest_cases); i++) {
		tlsp_chain_field_digest(digest_cases[i].salt,
					strlen(digest_cases[i].salt),
					digest_cases[i].key,
					digest_cases[i].value,
					strlen(digest_cases[i].value), hex);
		if (strcmp(hex, digest_cases[i].want) != 0)
			fail_msg("%s: got %s", digest_cases[i].name, hex);
	}
}

static void
test_redactable(void **state)
{
	static const struct {
		const char *key;
		int want;
	} cases[] = {
		{"sender", 1}, {"addr", 1},    {"name", 1},   {"helo", 1},
		{"salt", 0},   {"senders", 0}, {"Sender", 0}, {"", 0},
		{"nam", 0},    {"rcpt", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++)
		if (tlsp_chain_redactable(cases[i].key, strlen(cases[i].key)) !=
		    cases[i].want)
			fail_msg("%s: not %d", cases[i].key, cases[i].want);
}

/* ========================================= FORMAT.md section 7 examples */

#define EX1_BODY                                                               \
	"{\"seq\":1,\"time\":\"2026-11-23T08:41:07.123Z\",\"host\":\"mx\","    \
	"\"type\":\"start\",\"detail\":\"tlspolicy 0.1\",\"prev\":\"" ZERO64   \
	"\""
#define EX1_HASH                                                               \
	"2828f71a73e241ab9b3f7da75790054a"                                     \
	"15b8504eb550c70594ef781b45297d27"
#define EX1_KEYED                                                              \
	"4afa28f86948bd569ae64f0b74ed52c8"                                     \
	"39aaa70423bc1cd37a985b0ad189a215"
#define EX3_BODY                                                               \
	"{\"seq\":2,\"time\":\"2026-11-23T08:41:08.460Z\",\"host\":\"mx\","    \
	"\"type\":\"mail\",\"sender\":\"a\\\"b@example.org\",\"action\":"      \
	"\"reject\",\"mode\":\"enforce\",\"would_action\":\"reject\","         \
	"\"salt\":\"" SALT1 "\",\"prev\":\"" EX1_HASH "\""
#define EX3_HASH                                                               \
	"9aebe94fcf7d4a4a49360535f75683f4"                                     \
	"e1285fef00e98870bd11a2f0885930ab"

static void
test_examples(void **state)
{
	static const char line1[] = EX1_BODY ",\"hash\":\"" EX1_HASH "\"}";
	static const char line3[] = EX3_BODY ",\"hash\":\"" EX3_HASH "\"}";
	static const char redacted3[] =
		"{\"seq\":2,\"time\":\"2026-11-23T08:41:08.460Z\",\"host\":"
		"\"mx\","
		"\"type\":\"mail\",\"sender\":{\"sha256\":"
		"\"d071748a0c4310f0a8194"
		"0e1cdbe2cc595cb93c434b6dc9763580245c1005070\"},\"action\":"
		"\"reject\",\"mode\":\"enforce\",\"would_action\":\"reject\","
		"\"salt\":\"" SALT1 "\",\"prev\":\"" EX1_HASH
		"\",\"hash\":\"" EX3_HASH "\"}";
	unsigned char k[32];
	struct tlsp_chain_key key = {k, sizeof(k)};
	struct tlsp_jbuf scratch = {0};
	struct tlsp_chain_rec rec;
	char hex[TLSP_HASH_HEX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(k); i++)
		k[i] = (unsigned char)i;
	assert_int_equal(tlsp_chain_hash(EX1_BODY "}", strlen(EX1_BODY "}"),
					 NULL, &scratch, hex),
			 0);
	assert_string_equal(hex, EX1_HASH);
	assert_int_equal(tlsp_chain_hash(EX1_BODY "}", strlen(EX1_BODY "}"),
					 &key, &scratch, hex),
			 0);
	assert_string_equal(hex, EX1_KEYED);
	assert_int_equal(tlsp_chain_verify(line1, strlen(line1), NULL, &scratch,
					   &rec),
			 1);
	assert_int_equal(rec.seq, 1);
	assert_string_equal(rec.prev, tlsp_chain_genesis);
	assert_int_equal(tlsp_chain_verify(line1, strlen(line1), &key, &scratch,
					   &rec),
			 0);
	assert_int_equal(tlsp_chain_verify(line3, strlen(line3), NULL, &scratch,
					   &rec),
			 1);
	assert_int_equal(rec.seq, 2);
	assert_string_equal(rec.prev, EX1_HASH);
	assert_string_equal(rec.hash, EX3_HASH);
	assert_int_equal(tlsp_chain_verify(redacted3, strlen(redacted3), NULL,
					   &scratch, &rec),
			 1);
	tlsp_jb_free(&scratch);
}

/* ============================================================ parse */

static void
test_parse(void **state)
{
	static const struct {
		const char *name, *line;
		int want; /* 0 a record, -1 not */
		uint64_t seq;
	} cases[] = {
		{"a record",
		 "{\"seq\":18446744073709551615,\"prev\":\"" ZERO64
		 "\",\"hash\":\"" EX1_HASH "\"}",
		 0, UINT64_MAX},
		{"seq too large",
		 "{\"seq\":18446744073709551616,\"prev\":\"" ZERO64
		 "\",\"hash\":\"" EX1_HASH "\"}",
		 -1, 0},
		{"seq 0",
		 "{\"seq\":0,\"prev\":\"" ZERO64 "\",\"hash\":\"" EX1_HASH
		 "\"}",
		 -1, 0},
		{"a leading zero",
		 "{\"seq\":01,\"prev\":\"" ZERO64 "\",\"hash\":\"" EX1_HASH
		 "\"}",
		 -1, 0},
		{"an uppercase hash",
		 "{\"seq\":1,\"prev\":\"" ZERO64 "\",\"hash\":"
		 "\"2828F71A73E241AB9B3F7DA75790054A15B8504EB550C70594EF7"
		 "81B45297D27\"}",
		 -1, 0},
		{"no prev",
		 "{\"seq\":1,\"time\":\"" ZERO64 "\",\"hash\":\"" EX1_HASH
		 "\"}",
		 -1, 0},
		{"a short hash",
		 "{\"seq\":1,\"prev\":\"" ZERO64 "\",\"hash\":\"2828\"}", -1,
		 0},
		{"a cut line",
		 "{\"seq\":1,\"time\":\"2026-11-23T08:41:07.123Z\"", -1, 0},
		{"not a record",
		 "Nov 23 08:41:07 mx tlspolicy-milter[1]: hello", -1, 0},
	};
	struct tlsp_chain_rec rec;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		int rc = tlsp_chain_parse(cases[i].line, strlen(cases[i].line),
					  &rec);

		if (rc != cases[i].want)
			fail_msg("%s: parse gave %d", cases[i].name, rc);
		if (rc == 0 && rec.seq != cases[i].seq)
			fail_msg("%s: seq %llu", cases[i].name,
				 (unsigned long long)rec.seq);
	}
}

/* ======================================================== the vectors */

static const struct {
	const char *file;
	int keyed;	  /* verified with the file "key" */
	const char *want; /* one of + x t per line */
	int chained;	  /* the records ('+') must also link */
} vector_cases[] = {
	{"good-unkeyed.jsonl", 0, "+++++++++++", 1},
	{"good-unkeyed.jsonl", 1, "xxxxxxxxxxx", 0},
	{"good-keyed.jsonl", 1, "+++++++++++", 1},
	{"good-keyed.jsonl", 0, "xxxxxxxxxxx", 0},
	{"redacted.jsonl", 0, "+++++++++++", 1},
	{"changed-action.jsonl", 0, "++x++++++++", 0},
	{"changed-byte.jsonl", 0, "+++x+++++++", 0},
	{"changed-digest.jsonl", 0, "+++x+++++++", 0},
	{"deleted-line.jsonl", 0, "++++++++++", 0},
	{"swapped-lines.jsonl", 0, "+++++++++++", 0},
	{"duplicate-line.jsonl", 0, "++++++++++++", 0},
	{"genesis-restart.jsonl", 0, "+++++++++", 0},
	{"seq-gap.jsonl", 0, "++++++++", 0},
	{"torn-last.jsonl", 0, "++++++++++t", 1},
	{"torn-middle.jsonl", 0, "+++++t++++++", 1},
	{"torn-middle.jsonl", 1, "xxxxxtxxxxxx", 0},
	{"clock-back.jsonl", 0, "++++++", 1},
	/* Not JSON, but its hash is right: chain.c checks only bytes. */
	{"not-json.jsonl", 0, "+++++++++++", 1},
	{"genesis-seq.jsonl", 0, "++++", 0},
	{"tail-cut.jsonl", 0, "++++++++", 1},
	{"rotate-1.jsonl", 0, "++++++", 1},
	{"rotate-2.jsonl", 0, "++++", 1},
};

/* The whole file; *len its size. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		fail_msg("%s: cannot open", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
test_vectors(void **state)
{
	struct tlsp_chain_key key;
	struct tlsp_jbuf scratch = {0};
	struct tlsp_chain_rec rec, last;
	char err[256], path[512];
	size_t i, len, off, n, lineno;
	int bad = 0;

	(void)state;
	if (tlsp_chain_key_load(VEC "key", &key, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(key.len, 32);
	for (i = 0; i < NELEM(vector_cases); i++) {
		const char *want = vector_cases[i].want;
		char *buf, got;
		int have_last = 0;

		snprintf(path, sizeof(path), VEC "%s", vector_cases[i].file);
		buf = slurp(path, &len);
		for (off = 0, lineno = 0; off < len; off += n + 1, lineno++) {
			const char *nl = memchr(buf + off, '\n', len - off);
			int rc;

			n = nl != NULL ? (size_t)(nl - (buf + off)) : len - off;
			rc = tlsp_chain_verify(buf + off, n,
					       vector_cases[i].keyed ? &key
								     : NULL,
					       &scratch, &rec);
			got = rc == 1 ? '+' : rc == 0 ? 'x' : 't';
			if (lineno >= strlen(want) || want[lineno] != got) {
				print_error("%s:%zu (%s): got %c, want %c\n",
					    vector_cases[i].file, lineno + 1,
					    vector_cases[i].keyed ? "key"
								  : "no key",
					    got,
					    lineno < strlen(want) ? want[lineno]
								  : '-');
				bad++;
			}
			if (rc != 1 || !vector_cases[i].chained)
				continue;
			if (have_last && (strcmp(rec.prev, last.hash) != 0 ||
					  rec.seq != last.seq + 1)) {
				print_error("%s:%zu: does not link\n",
					    vector_cases[i].file, lineno + 1);
				bad++;
			}
			if (!have_last &&
			    strcmp(rec.prev, tlsp_chain_genesis) &&
			    strcmp(vector_cases[i].file, "rotate-2.jsonl")) {
				print_error("%s: no genesis\n", path);
				bad++;
			}
			last = rec;
			have_last = 1;
		}
		if (lineno != strlen(want)) {
			print_error("%s: %zu lines, want %zu\n",
				    vector_cases[i].file, lineno, strlen(want));
			bad++;
		}
		free(buf);
	}
	tlsp_chain_key_free(&key);
	tlsp_jb_free(&scratch);
	assert_int_equal(bad, 0);
}

/*
 * A writer prepares its contexts once and hashes record after record with
 * them: every line of the good vectors gets its written hash from one
 * context reused across the file, with the key and without.
 */
static void
test_ctx_reused(void **state)
{
	static const struct {
		const char *file;
		int keyed;
	} files[] = {
		{"good-keyed.jsonl", 1},
		{"good-unkeyed.jsonl", 0},
		{"redacted.jsonl", 0},
		{"rotate-1.jsonl", 0},
	};
	struct tlsp_chain_key key;
	struct tlsp_jbuf scratch = {0}, l = {0};
	struct tlsp_chain_rec rec;
	char err[256], path[512], hex[TLSP_HASH_HEX + 1];
	size_t i, len, off, n, lines;

	(void)state;
	if (tlsp_chain_key_load(VEC "key", &key, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	for (i = 0; i < NELEM(files); i++) {
		struct tlsp_chain_ctx *cx =
			tlsp_chain_ctx_new(files[i].keyed ? &key : NULL);
		char *buf;

		assert_non_null(cx);
		snprintf(path, sizeof(path), VEC "%s", files[i].file);
		buf = slurp(path, &len);
		for (off = 0, lines = 0; off < len; off += n + 1, lines++) {
			n = (size_t)((char *)memchr(buf + off, '\n',
						    len - off) -
				     (buf + off));
			assert_int_equal(tlsp_chain_parse(buf + off, n, &rec),
					 0);
			tlsp_jb_reset(&l);
			tlsp_jb_raw(&l, buf + off, n - TLSP_CHAIN_SUFFIX);
			tlsp_jb_raw(&l, "}", 1);
			assert_int_equal(tlsp_chain_hash_with(cx, l.p, l.len,
							      &scratch, hex),
					 0);
			if (strcmp(hex, rec.hash) != 0)
				fail_msg("%s:%zu: reused context gives %s, the "
					 "line says %s",
					 files[i].file, lines + 1, hex,
					 rec.hash);
		}
		assert_true(lines >= 4);
		free(buf);
		tlsp_chain_ctx_free(cx);
	}
	tlsp_chain_key_free(&key);
	tlsp_jb_free(&scratch);
	tlsp_jb_free(&l);
}

static void
test_key_load(void **state)
{
	struct tlsp_chain_key key;
	char err[256];
	size_t i;

	(void)state;
	assert_int_equal(tlsp_chain_key_load(VEC "key", &key, err, sizeof(err)),
			 0);
	assert_int_equal(key.len, 32);
	for (i = 0; i < key.len; i++)
		assert_int_equal(key.k[i], i);
	tlsp_chain_key_free(&key);
	assert_null(key.k);
	assert_int_equal(tlsp_chain_key_load(VEC "short.key", &key, err,
					     sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "16"));
	assert_int_equal(tlsp_chain_key_load(VEC "missing.key", &key, err,
					     sizeof(err)),
			 -1);
	assert_int_equal(tlsp_chain_key_load(VEC, &key, err, sizeof(err)), -1);
}

/* ============================================ the writer, read back */

/* Validates every line of the files named after it against the schema. */
static const char schema_check_py[] =
	"import json, sys\n"
	"import jsonschema\n"
	"schema = json.load(open(sys.argv[1]))\n"
	"check = jsonschema.Draft202012Validator(schema)\n"
	"for path in sys.argv[2:]:\n"
	"    for n, line in enumerate(open(path, 'rb'), 1):\n"
	"        rec = json.loads(line.decode('utf-8', 'surrogateescape'))\n"
	"        for e in check.iter_errors(rec):\n"
	"            sys.exit('%s:%d: %s at %s' % (path, n, e.message,\n"
	"                                          list(e.path)))\n";

/* Runs a shell command; its exit status, or -1. */
static int
run(const char *cmd)
{
	int st = system(cmd);

	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Checks that the lines of `path` verify and continue the chain (seq,
 * hash) of the lines before. Returns the number of records. */
static size_t
check_file(const char *path, const struct tlsp_chain_key *key,
	   struct tlsp_chain_rec *last, struct tlsp_jbuf *scratch)
{
	struct tlsp_chain_rec rec;
	size_t len, off, n, count = 0;
	char *buf = slurp(path, &len);

	assert_true(len > 0 && buf[len - 1] == '\n');
	for (off = 0; off < len; off += n + 1, count++) {
		n = (size_t)((char *)memchr(buf + off, '\n', len - off) -
			     (buf + off));
		if (tlsp_chain_verify(buf + off, n, key, scratch, &rec) != 1)
			fail_msg("%s: record %zu does not verify: %.*s", path,
				 count + 1, (int)n, buf + off);
		assert_string_equal(rec.prev, last->hash);
		assert_int_equal(rec.seq, last->seq + 1);
		*last = rec;
	}
	free(buf);
	return count;
}

/*
 * The daemon's own writer (hostile strings, a reopen after the file was
 * moved, with a key and without, full and domain-only addresses) writes
 * records that chain.c verifies; when python3 is there, the independent
 * verifier agrees, and, with the jsonschema module, every record fits
 * contrib/audit/record.schema.json.
 */
static void
test_writer(void **state)
{
	static struct tlsp_facts f;
	static struct tlsp_verdict v;
	struct tlsp_event_rcpt rcpts[2] = {
		{"b\"ob\\@bank.example", &v, "550 5.7.1 no"},
		{"\xff\xe2\x80\xa8\x01@example.org", NULL, NULL},
	};
	struct tlsp_audit_event start = {.type = TLSP_EV_START,
					 .detail = "tlspolicy 0.1",
					 .policy_hash = "00ff"};
	struct tlsp_audit_event msg = {
		.type = TLSP_EV_MESSAGE,
		.txid = "c0a8.1",
		.queue_id = "4XyQz",
		.client_addr = "192.0.2.7",
		.client_name = "h\"o\xffst\\",
		.helo = "x\",\"sender\":\"forged@example.org",
		.sender = "a\\@bank.example",
		.facts = &f,
		.rcpts = rcpts,
		.nrcpts = 2,
		.action = TLSP_ACTION_REJECT,
		.mode = TLSP_MODE_ENFORCE,
		.would_action = TLSP_ACTION_REJECT,
		.reply = "550 5.7.1 TLS policy",
		.policy_hash = "00ff",
	};
	struct tlsp_audit_event stop = {.type = TLSP_EV_STOP,
					.detail = "signal 15"};
	static const struct {
		int keyed;
		enum tlsp_audit_addresses addresses;
	} runs[] = {{1, TLSP_AUDIT_ADDR_FULL}, {0, TLSP_AUDIT_ADDR_DOMAIN}};
	char dir[] = "/tmp/tlsp-chain.XXXXXX", log[64], old[64], py[64];
	char cmd[2048], err[512];
	struct tlsp_chain_key key;
	struct tlsp_jbuf scratch = {0};
	size_t r, n;
	int python = 1;

	(void)state;
	f.mta = TLSP_MTA_POSTFIX;
	f.version = TLSP_VER_TLSV1_2;
	strcpy(f.version_raw, "TLSv1.2");
	strcpy(f.cipher, "ECDHE-RSA-AES128-GCM-SHA256");
	f.cipher_bits = 128;
	f.cipher_info.forward_secrecy = 1;
	f.cert = TLSP_CERT_NOT_VERIFIED;
	f.verify_seen = 1;
	strcpy(f.verify, "FAIL");
	f.subject_seen = 1;
	strcpy(f.subject_cn, "mail\xe2\x80\xa8.example.org");
	f.sent = TLSP_SENT_TLS_VERSION | TLSP_SENT_CIPHER |
		 TLSP_SENT_CIPHER_BITS | TLSP_SENT_CERT_SUBJECT |
		 TLSP_SENT_VERIFY;
	v.action = v.would_action = TLSP_ACTION_REJECT;
	v.nrules = 1;
	v.r[0].status = TLSP_FAIL;
	v.r[0].action = TLSP_ACTION_REJECT;
	v.r[0].nfail = 1;
	v.r[0].fail[0].req = TLSP_REQ_CLIENT_CERT;
	v.r[0].fail[0].status = TLSP_FAIL;
	strcpy(v.r[0].fail[0].required, "verified");
	strcpy(v.r[0].fail[0].observed, "not verified");

	assert_non_null(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/log.jsonl", dir);
	snprintf(old, sizeof(old), "%s/old.jsonl", dir);
	snprintf(py, sizeof(py), "%s/schema.py", dir);
	if (tlsp_chain_key_load(VEC "key", &key, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	for (r = 0; r < NELEM(runs); r++) {
		struct tlsp_audit_options o = {
			.host = "mx1.example.net",
			.sync = TLSP_SYNC_ALWAYS,
			.addresses = runs[r].addresses,
			.key_file = runs[r].keyed ? VEC "key" : NULL,
		};
		struct tlsp_chain_rec last = {.seq = 0};
		struct tlsp_audit *a = tlsp_audit_open_with(log, &o, err,
							    sizeof(err));
		DIR *d;
		struct dirent *de;
		int rc;

		if (a == NULL)
			fail_msg("%s", err);
		assert_int_equal(tlsp_audit_submit(a, &start, 1), 0);
		assert_int_equal(tlsp_audit_submit(a, &msg, 1), 0);
		assert_int_equal(rename(log, old), 0);
		assert_int_equal(tlsp_audit_reopen(a), 0);
		assert_int_equal(tlsp_audit_submit(a, &msg, 1), 0);
		assert_int_equal(tlsp_audit_submit(a, &stop, 1), 0);
		tlsp_audit_close(a);

		memcpy(last.hash, tlsp_chain_genesis, sizeof(last.hash));
		n = check_file(old, runs[r].keyed ? &key : NULL, &last,
			       &scratch);
		n += check_file(log, runs[r].keyed ? &key : NULL, &last,
				&scratch);
		/* start, message, rotate, message, stop */
		assert_int_equal(n, 5);

		snprintf(cmd, sizeof(cmd),
			 "python3 -B '%s/contrib/audit/tlspolicy-verify.py' "
			 "%s%s '%s' '%s' >/dev/null 2>&1",
			 SRCDIR, runs[r].keyed ? "--key " : "",
			 runs[r].keyed ? VEC "key" : "", old, log);
		if (python && (rc = run(cmd)) == 127) {
			print_message("no python3: the Python verifier and "
				      "the schema not tried\n");
			python = 0;
		} else if (python) {
			assert_int_equal(rc, 0);
		}
		if (python && run("python3 -c 'import jsonschema' "
				  ">/dev/null 2>&1") == 0) {
			FILE *fp = fopen(py, "w");

			assert_non_null(fp);
			fputs(schema_check_py, fp);
			fclose(fp);
			snprintf(cmd, sizeof(cmd),
				 "python3 -B '%s' "
				 "'%s/contrib/audit/record.schema.json' "
				 "'%s' '%s'",
				 py, SRCDIR, old, log);
			assert_int_equal(run(cmd), 0);
		}

		d = opendir(dir);
		assert_non_null(d);
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(cmd, sizeof(cmd), "%s/%s", dir, de->d_name);
			unlink(cmd);
		}
		closedir(d);
	}
	assert_int_equal(rmdir(dir), 0);
	tlsp_chain_key_free(&key);
	tlsp_jb_free(&scratch);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canon),
		cmocka_unit_test(test_field_digest),
		cmocka_unit_test(test_redactable),
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_ctx_reused),
		cmocka_unit_test(test_key_load),
		cmocka_unit_test(test_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
