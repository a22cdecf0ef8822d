/*
 * verify.c - tlspolicy-audit verify: does the hash chain hold?
 *
 * Checks the files, oldest first, exactly as audit/FORMAT.md sections 4
 * and 5 say: each record's hash is right (with the HMAC key if one is
 * given), links to the record before it, and numbers one more; a torn
 * line is skipped with a warning; a second genesis is a break; each
 * --anchor SEQ:HASH (from the daemon's syslog checkpoints) is found with
 * that hash, or is exactly the record the files begin after. The first
 * break ends the run with FILE:LINE and what broke. Only the bytes of
 * the lines are used: no JSON parser is involved, so what is checked is
 * what the daemon hashed.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "tool.h"

struct anchor {
	uint64_t seq;
	char hash[TLSP_HASH_HEX + 1];
	int seen;
};

struct verify {
	struct tlsp_chain_key key;
	struct anchor *anchors;
	size_t nanchors;
	struct tlsp_jbuf scratch;

	unsigned long long records;
	uint64_t first_seq, seq;      /* of the first and last record */
	char hash[TLSP_HASH_HEX + 1]; /* of the last record */
	char time[32];		      /* of the last record, if any */
	struct tlspa_json json;
	const char *path; /* where the last record is */
	unsigned long long lineno;
	unsigned long long torn_line; /* skipped since the last record */
};

/* ============================================================ options */

/* "SEQ:HASH", or what the daemon logs: "[audit checkpoint ]seq=N
 * hash=H[ ...]"; SEQ 0 is the genesis. Hex digits may be uppercase. */
static int
anchor_parse(const char *arg, struct anchor *a)
{
	const char *h;
	char *end;
	size_t i;

	if (strncmp(arg, "audit checkpoint ", 17) == 0)
		arg += 17;
	if (strncmp(arg, "seq=", 4) == 0)
		arg += 4;
	if (arg[0] < '0' || arg[0] > '9' ||
	    (arg[0] == '0' && arg[1] >= '0' && arg[1] <= '9'))
		return -1;
	a->seq = strtoull(arg, &end, 10);
	if (*end == ':')
		h = end + 1;
	else if (strncmp(end, " hash=", 6) == 0)
		h = end + 6;
	else
		return -1;
	for (i = 0; i < TLSP_HASH_HEX; i++) {
		char c = h[i] >= 'A' && h[i] <= 'F' ? (char)(h[i] - 'A' + 'a')
						    : h[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		a->hash[i] = c;
	}
	if (h[i] != '\0' && (*end == ':' || h[i] != ' '))
		return -1;
	a->hash[TLSP_HASH_HEX] = '\0';
	a->seen = 0;
	return 0;
}

static int
verify_options(struct verify *v, int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"anchor", required_argument, NULL, 'a'},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	char err[512];
	struct anchor *na;
	int c;

	while ((c = getopt_long(argc, argv, "qk:a:", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			tlspa_tool_quiet = 1;
			break;
		case 'k':
			tlsp_chain_key_free(&v->key);
			if (tlsp_chain_key_load(optarg, &v->key, err,
						sizeof(err)) < 0) {
				fprintf(stderr, "tlspolicy-audit: --key %s\n",
					err);
				return TLSPA_EX_ERROR;
			}
			break;
		case 'a':
			na = realloc(v->anchors,
				     (v->nanchors + 1) * sizeof(*na));
			if (na == NULL)
				return TLSPA_EX_ERROR;
			v->anchors = na;
			if (anchor_parse(optarg, &v->anchors[v->nanchors]) <
			    0) {
				fprintf(stderr,
					"tlspolicy-audit: --anchor %s: "
					"expected SEQ:HASH (64 lowercase hex "
					"digits)\n",
					optarg);
				return TLSPA_EX_ERROR;
			}
			v->nanchors++;
			break;
		default:
			return tlspa_tool_usage("verify");
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "tlspolicy-audit verify: no FILE given (- for "
				"standard input)\n");
		return tlspa_tool_usage("verify");
	}
	return 0;
}

/* ============================================================ checks */

/* Reports the break at ln: "FILE:LINE: what". Returns the status. */
static int broke(const struct tlspa_reader_line *ln, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
broke(const struct tlspa_reader_line *ln, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%llu: ", ln->path, ln->lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return TLSPA_EX_BROKEN;
}

/* The first record: a genesis, an anchored continuation, or a start
 * that nothing here can check (a note says so). */
static int
check_first(struct verify *v, const struct tlspa_reader_line *ln,
	    const struct tlsp_chain_rec *r)
{
	int checked = 0;
	size_t i;

	if (strcmp(r->prev, tlsp_chain_genesis) == 0) {
		if (r->seq != 1)
			return broke(
				ln, "a new chain starts at seq 1, not %" PRIu64,
				r->seq);
		checked = 1;
	}
	for (i = 0; i < v->nanchors; i++) {
		struct anchor *a = &v->anchors[i];

		if (a->seq >= r->seq)
			continue;
		if (a->seq + 1 < r->seq)
			return broke(ln,
				     "anchor %" PRIu64 " not found: the log "
				     "begins at seq %" PRIu64 " (older records "
				     "missing: head cut?)",
				     a->seq, r->seq);
		if (strcmp(a->hash, r->prev) != 0)
			return broke(ln,
				     "anchor %" PRIu64 ": hash differs "
				     "(anchor %s, prev of the first record %s)",
				     a->seq, a->hash, r->prev);
		a->seen = 1;
		checked = 1;
	}
	if (!checked && !tlspa_tool_quiet)
		fprintf(stderr,
			"%s:%llu: note: the chain starts at seq %" PRIu64
			" with prev %s, not at the genesis: what came before "
			"is unchecked (give --anchor %" PRIu64 ":HASH)\n",
			ln->path, ln->lineno, r->seq, r->prev, r->seq - 1);
	return 0;
}

static int
check_link(struct verify *v, const struct tlspa_reader_line *ln,
	   const struct tlsp_chain_rec *r)
{
	char after[96] = "";

	if (v->torn_line > 0)
		snprintf(after, sizeof(after),
			 "; line %llu before it was "
			 "skipped as torn",
			 v->torn_line);
	if (strcmp(r->prev, tlsp_chain_genesis) == 0)
		return broke(ln,
			     "new chain started (genesis prev) after the "
			     "first record: the log was replaced?%s",
			     after);
	if (strcmp(r->prev, v->hash) != 0)
		return broke(ln,
			     "does not link to the previous record "
			     "(deleted, inserted or reordered records?): "
			     "seq %" PRIu64 " after seq %" PRIu64
			     " at %s:%llu%s",
			     r->seq, v->seq, v->path, v->lineno, after);
	if (r->seq != v->seq + 1)
		return broke(ln,
			     "sequence gap: seq %" PRIu64 " after %" PRIu64
			     "%s",
			     r->seq, v->seq, after);
	return 0;
}

/* 1 if t is the writer's time format, 2026-11-23T08:41:07.123Z. */
static int
time_shaped(const struct tlspa_jv *t)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	if (t == NULL || t->type != TLSPA_J_STR || t->len != sizeof(pat) - 1)
		return 0;
	for (i = 0; i < t->len; i++)
		if (pat[i] == 'd' ? t->s[i] < '0' || t->s[i] > '9'
				  : t->s[i] != pat[i])
			return 0;
	return 1;
}

/*
 * A record must be one JSON object with a time: a line forged with a
 * right hash but bytes no JSON reader accepts would read differently in
 * different tools. The clock may step back (NTP): a warning, since only
 * the order of seq is proof.
 */
/* 1 if some object in j names a member twice: JSON readers disagree on
 * which value such a record holds. */
static int
dup_member(const struct tlspa_jv *j)
{
	const struct tlspa_jv *a, *b;

	if (j->type != TLSPA_J_OBJ && j->type != TLSPA_J_ARR)
		return 0;
	for (a = j->kids; a != NULL; a = a->next) {
		if (j->type == TLSPA_J_OBJ)
			for (b = a->next; b != NULL; b = b->next)
				if (a->keylen == b->keylen &&
				    memcmp(a->key, b->key, a->keylen) == 0)
					return 1;
		if (dup_member(a))
			return 1;
	}
	return 0;
}

static int
check_json(struct verify *v, const struct tlspa_reader_line *ln)
{
	const struct tlspa_jv *root = tlspa_json_parse(&v->json, ln->p,
						       ln->len);
	const struct tlspa_jv *t = tlspa_jv_get(root, "time");

	if (root == NULL)
		return broke(ln, "record is not valid JSON (%s at byte %zu)",
			     v->json.err, v->json.errpos + 1);
	if (dup_member(root))
		return broke(ln, "record is not valid JSON (a member name "
				 "appears twice)");
	if (t == NULL || t->type != TLSPA_J_STR)
		return broke(ln, "record is not a JSON object with a time");
	if (!time_shaped(t))
		return 0;
	if (v->time[0] != '\0' && memcmp(t->s, v->time, t->len) < 0)
		tlspa_tool_warn(ln->path, ln->lineno,
				"clock stepped back (%s after "
				"%s)",
				t->s, v->time);
	memcpy(v->time, t->s, t->len + 1);
	return 0;
}

static int
verify_line(struct verify *v, const struct tlspa_reader_line *ln)
{
	struct tlsp_chain_rec r;
	struct anchor *a;
	size_t i;
	int rc;

	/* A last line lacking only its LF is still a record (FORMAT.md 1). */
	rc = ln->overlong ? -1
			  : tlsp_chain_verify(ln->p, ln->len, &v->key,
					      &v->scratch, &r);
	if (rc < 0) {
		tlspa_tool_warn(ln->path, ln->lineno, "torn line skipped%s",
				ln->overlong ? " (longer than 16 MiB)" : "");
		v->torn_line = ln->lineno;
		return 0;
	}
	if (v->scratch.oom) {
		fprintf(stderr, "tlspolicy-audit: out of memory\n");
		return TLSPA_EX_ERROR;
	}
	if (rc == 0)
		return broke(ln, "record changed (%s)",
			     v->key.k != NULL
				     ? "or wrong --key"
				     : "or the log is keyed: give --key");
	rc = v->records == 0 ? check_first(v, ln, &r) : check_link(v, ln, &r);
	if (rc != 0 || (rc = check_json(v, ln)) != 0)
		return rc;
	for (i = 0; i < v->nanchors; i++) {
		a = &v->anchors[i];
		if (a->seq != r.seq)
			continue;
		if (strcmp(a->hash, r.hash) != 0)
			return broke(ln,
				     "anchor %" PRIu64 ": hash differs "
				     "(anchor %s, record %s)",
				     a->seq, a->hash, r.hash);
		a->seen = 1;
	}
	if (v->records++ == 0)
		v->first_seq = r.seq;
	v->seq = r.seq;
	memcpy(v->hash, r.hash, sizeof(v->hash));
	v->path = ln->path;
	v->lineno = ln->lineno;
	v->torn_line = 0;
	return 0;
}

/* After the last line: every anchor must have been met. */
static int
verify_end(struct verify *v, int nfiles, const char *lastpath)
{
	size_t i;

	for (i = 0; i < v->nanchors; i++) {
		if (v->anchors[i].seen)
			continue;
		if (v->records == 0) {
			fprintf(stderr,
				"%s:0: anchor %" PRIu64 " not found: no "
				"records\n",
				lastpath, v->anchors[i].seq);
			return TLSPA_EX_BROKEN;
		}
		fprintf(stderr,
			"%s:%llu: anchor %" PRIu64 " not found: the log "
			"ends at seq %" PRIu64 " before it (tail cut?)\n",
			v->path, v->lineno, v->anchors[i].seq, v->seq);
		return TLSPA_EX_BROKEN;
	}
	if (v->records == 0) {
		tlspa_tool_warn(lastpath, 0, "no records");
		if (!tlspa_tool_quiet)
			printf("OK: 0 records, files %d\n", nfiles);
		return 0;
	}
	if (!tlspa_tool_quiet)
		printf("OK: %llu records, seq %" PRIu64 "..%" PRIu64
		       ", files %d, "
		       "last hash %s\n",
		       v->records, v->first_seq, v->seq, nfiles, v->hash);
	return 0;
}

static int
verify_run(struct verify *v, char **files, int nfiles)
{
	struct tlspa_reader lr = {.files = files, .nfiles = nfiles};
	struct tlspa_reader_line ln;
	int rc = 0, got;

	while ((got = tlspa_reader_next(&lr, &ln)) > 0)
		if ((rc = verify_line(v, &ln)) != 0)
			break;
	if (got < 0) {
		fprintf(stderr, "tlspolicy-audit: %s\n", lr.err);
		rc = TLSPA_EX_ERROR;
	}
	tlspa_reader_close(&lr);
	if (rc == 0 && got == 0)
		rc = verify_end(v, nfiles, files[nfiles - 1]);
	return rc;
}

int
tlspa_verify_main(int argc, char **argv)
{
	struct verify v;
	int rc;

	memset(&v, 0, sizeof(v));
	if ((rc = verify_options(&v, argc, argv)) == 0)
		rc = verify_run(&v, argv + optind, argc - optind);
	tlsp_chain_key_free(&v.key);
	tlsp_jb_free(&v.scratch);
	tlspa_json_free(&v.json);
	free(v.anchors);
	return rc;
}
