/*
 * fuzz_audit_reader.c - libFuzzer target: how tlspolicy-audit reads logs.
 *
 * The input is parsed as one JSON value (tlspa_json_parse, then every
 * accessor on every node of the tree), then written to a file and read
 * back through the line reader (tlspa_reader_next) twice: with a line cap
 * of 64 bytes, so overlong lines are skipped and counted, and with a cap
 * of 64 KiB (longer than any input; the tool's 16 MiB would only make
 * each run allocate more), the file given twice; every line goes through
 * the parser as the report and show commands do. One parser serves every
 * run, as one serves every line of a log: its arena is reset, not
 * reallocated. The file is named without ".gz", so gzip is used only when
 * the input starts with gzip's magic bytes, as the tool does (such an
 * input is read once, not twice: each read forks a gzip). Any input
 * must parse or fail with an error and a position inside the line, never
 * crash, leak or hang; a string's token must decode to the same bytes
 * through tlspa_json_unescape as through the parser.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonread.h"
#include "reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char tmpdir[256], logpath[300];
static struct tlspa_json parser;

static void
check(int ok)
{
	if (!ok)
		abort();
}

/* Every accessor on every node; a string's token decodes to its value. */
static void
walk(const struct tlspa_jv *v, size_t *n)
{
	const struct tlspa_jv *k;
	size_t kids = 0;
	char *out;
	long len;

	++*n;
	(void)tlspa_jv_get(v, "time");
	(void)tlspa_jv_get(v, "seq");
	(void)tlspa_jv_str(v);
	(void)tlspa_jv_is(v, "mail");
	if (tlspa_jv_digest(v) != NULL)
		check(v->type == TLSPA_J_OBJ);
	if (v->type == TLSPA_J_STR) {
		check(v->s[v->len] == '\0');
		out = malloc(v->rawlen + 1);
		check(out != NULL);
		len = tlspa_json_unescape(v->raw, v->rawlen, out);
		check(len >= 0 && (size_t)len == v->len &&
		      memcmp(out, v->s, v->len) == 0);
		free(out);
	}
	if (v->type != TLSPA_J_OBJ && v->type != TLSPA_J_ARR)
		return;
	for (k = v->kids; k != NULL; k = k->next, kids++) {
		if (v->type == TLSPA_J_OBJ)
			check(k->key != NULL && k->key[k->keylen] == '\0');
		walk(k, n);
	}
	check(kids == v->len);
}

static void
parse(struct tlspa_json *jp, const char *p, size_t len)
{
	const struct tlspa_jv *root = tlspa_json_parse(jp, p, len);
	size_t n = 0;

	if (root == NULL) {
		check(jp->err != NULL && jp->errpos <= len);
		return;
	}
	walk(root, &n);
	check(n <= TLSPA_JSON_VALUES);
}

/* Reads the log file with a line cap, parsing each line. */
static void
read_lines(struct tlspa_json *jp, size_t max, int nfiles)
{
	char *files[2] = {logpath, logpath};
	struct tlspa_reader lr = {.files = files, .nfiles = nfiles, .max = max};
	struct tlspa_reader_line ln;

	while (tlspa_reader_next(&lr, &ln) > 0) {
		if (ln.overlong) {
			check(ln.p == NULL && ln.len > lr.max);
			continue;
		}
		check(ln.len <= lr.max && ln.p[ln.len] == '\0');
		parse(jp, ln.p, ln.len);
	}
	tlspa_reader_close(&lr);
	tlspa_reader_close(&lr);
}

static void
cleanup(void)
{
	unlink(logpath);
	rmdir(tmpdir);
	tlspa_json_free(&parser);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/fuzz-reader.XXXXXX",
		 t != NULL && *t != '\0' ? t : "/tmp");
	check(mkdtemp(tmpdir) != NULL);
	snprintf(logpath, sizeof(logpath), "%s/audit.jsonl", tmpdir);
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1), *out = malloc(size + 1);
	int fd;

	check(buf != NULL && out != NULL);
	/* Exactly size bytes, no NUL: the parser must stay inside them. */
	memcpy(buf, data, size);
	parse(&parser, buf, size);
	parse(&parser, buf, size); /* the arena reused */
	(void)tlspa_json_unescape(buf, size, out);

	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	check(fd >= 0 && write(fd, data, size) == (ssize_t)size);
	close(fd);
	if (size < 2 || data[0] != 0x1f || data[1] != 0x8b)
		read_lines(&parser, 64, 1);
	read_lines(&parser, (size_t)64 << 10, 2);
	unlink(logpath);

	free(buf);
	free(out);
	return 0;
}
