/*
 * fuzz_audit_verify.c - libFuzzer target: `tlspolicy-audit verify` on
 * hostile logs.
 *
 * The input is a log, preceded by option lines and cut into files:
 *
 *   --key            (or --key=wrong, --key=short: the key files of
 *                    tests/audit/vectors; any other option line is dropped)
 *   --anchor=SEQ:HASH
 *   ...the lines of the first file...
 *   --file
 *   ...the lines of the next file (at most 4 files)...
 *
 * The files are written to a private directory and checked by
 * tlspa_verify_main, the code behind `tlspolicy-audit verify` (options,
 * line reader, gzip by magic, the chain follower with its torn-line
 * rule, JSON checks, anchors), whose exit
 * status must be 0, 1 or 2. Each line of the log also goes straight
 * through tlsp_chain_parse, tlsp_chain_verify (with and without a key),
 * tlsp_chain_canon and tlsp_chain_salt, in a buffer of exactly its size.
 *
 * The tool's warning helpers live in tool.c next to its main(), which
 * cannot be linked with libFuzzer's: the few verify.c calls are provided
 * here with the same contract (messages go to stderr; run with
 * -close_fd_mask=2 to keep them quiet, sanitizer reports stay visible).
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "tool.h"

#define MAX_FILES 4
#define MAX_OPTS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ------------------------------------------- what tool.c gives verify.c */

int tlspa_tool_quiet;

void
tlspa_tool_warn(const char *path, unsigned long long lineno, const char *fmt,
		...)
{
	va_list ap;

	fprintf(stderr, "%s:%llu: warning: ", path != NULL ? path : "-",
		lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
tlspa_tool_break(const char *path, unsigned long long lineno, const char *fmt,
		 ...)
{
	va_list ap;

	fprintf(stderr, "%s:%llu: ", path, lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
tlspa_tool_say(void *arg, enum tlspa_follow_kind kind, const char *path,
	       unsigned long long lineno, const char *text)
{
	(void)arg;
	fprintf(stderr, "%s:%llu: %d: %s\n", path, lineno, (int)kind, text);
}

int
tlspa_tool_usage(const char *command)
{
	fprintf(stderr, "usage: tlspolicy-audit %s\n", command ? command : "");
	return TLSPA_EX_ERROR;
}

/* ------------------------------------------------------------- target */

static char tmpdir[256], paths[MAX_FILES][300];
static struct tlsp_chain_key key;

static void
check(int ok)
{
	if (!ok)
		abort();
}

static void
cleanup(void)
{
	int i;

	for (i = 0; i < MAX_FILES; i++)
		unlink(paths[i]);
	rmdir(tmpdir);
	tlsp_chain_key_free(&key);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");
	char err[512];
	int i;

	snprintf(tmpdir, sizeof(tmpdir), "%s/fuzz-verify.XXXXXX",
		 t != NULL && *t != '\0' ? t : "/tmp");
	check(mkdtemp(tmpdir) != NULL);
	for (i = 0; i < MAX_FILES; i++)
		snprintf(paths[i], sizeof(paths[i]), "%s/audit-%d.jsonl",
			 tmpdir, i);
	check(tlsp_chain_key_load(FUZZ_VECTORS "/key", &key, err,
				  sizeof(err)) == 0);
	atexit(cleanup);
	return 0;
}

/* One line, in a buffer of exactly its size, through chain.h directly. */
static void
chain_line(const char *p, size_t len, struct tlsp_jbuf *scratch)
{
	char *l = malloc(len ? len : 1);
	struct tlsp_chain_rec r1, r2, r3;
	const char *salt;
	size_t n;
	int a, b, c;

	check(l != NULL);
	memcpy(l, p, len);
	a = tlsp_chain_parse(l, len, &r1);
	b = tlsp_chain_verify(l, len, NULL, scratch, &r2);
	c = tlsp_chain_verify(l, len, &key, scratch, &r3);
	/* Verification parses, then tokenizes to hash: a line that does not
	 * parse never verifies, and the key changes the answer, not whether
	 * there is one. */
	check((a == 0 || b < 0) && (b < 0) == (c < 0));
	if (b >= 0)
		check(r1.seq == r2.seq && r1.seq > 0 &&
		      strcmp(r1.hash, r2.hash) == 0 &&
		      strcmp(r1.prev, r2.prev) == 0);
	if (tlsp_chain_salt(l, len, &salt, &n) == 0 && salt != NULL)
		check(salt >= l && salt + n <= l + len);
	(void)tlsp_chain_canon(l, len, scratch);
	free(l);
}

/* The option line at p (len bytes, "--..."), as an argument or NULL. */
static char *
option(const char *p, size_t len)
{
	char *o = NULL;

	if (len == 5 && memcmp(p, "--key", 5) == 0)
		o = strdup("--key=" FUZZ_VECTORS "/key");
	else if (len == 11 && memcmp(p, "--key=wrong", 11) == 0)
		o = strdup("--key=" FUZZ_VECTORS "/wrong.key");
	else if (len == 11 && memcmp(p, "--key=short", 11) == 0)
		o = strdup("--key=" FUZZ_VECTORS "/short.key");
	else if (len > 9 && memcmp(p, "--anchor=", 9) == 0 &&
		 memchr(p, '\0', len) == NULL)
		o = strndup(p, len);
	else
		return NULL;
	check(o != NULL);
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	char *argv[2 + MAX_OPTS + MAX_FILES + 1];
	struct tlsp_jbuf scratch = {0};
	int argc = 0, nopts = 0, nfiles = 0, fd = -1, i, rc;
	size_t len;

	argv[argc++] = (char *)"verify";
	/* Option lines first. */
	while (p < end && end - p >= 2 && p[0] == '-' && p[1] == '-') {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)((nl ? nl : end) - p);
		if (len == 6 && memcmp(p, "--file", 6) == 0)
			break;
		if (nopts < MAX_OPTS && (argv[argc] = option(p, len)) != NULL) {
			argc++;
			nopts++;
		}
		p = nl ? nl + 1 : end;
	}
	argv[argc++] = (char *)"--";
	/* Then the files, cut at "--file" lines. */
	for (;;) {
		fd = open(paths[nfiles],
			  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		check(fd >= 0);
		argv[argc++] = paths[nfiles++];
		while (p < end) {
			nl = memchr(p, '\n', (size_t)(end - p));
			len = (size_t)((nl ? nl : end) - p);
			if (len == 6 && memcmp(p, "--file", 6) == 0 &&
			    nfiles < MAX_FILES) {
				p = nl ? nl + 1 : end;
				break;
			}
			chain_line(p, len, &scratch);
			len += nl ? 1 : 0;
			check(write(fd, p, len) == (ssize_t)len);
			p += len;
		}
		close(fd);
		if (p >= end)
			break;
	}
	argv[argc] = NULL;

	optind = 0; /* glibc: a fresh getopt for each run */
	rc = tlspa_verify_main(argc, argv);
	check(rc == 0 || rc == TLSPA_EX_BROKEN || rc == TLSPA_EX_ERROR);

	for (i = 1; i < 1 + nopts; i++)
		free(argv[i]);
	tlsp_jb_free(&scratch);
	return 0;
}
