/*
 * verify.c - tlspolicy-audit verify: does the hash chain hold?
 *
 * Checks the files, oldest first, through the chain follower (follow.c),
 * which holds the rules of audit/FORMAT.md sections 1, 4 and 5: each
 * record's hash (with the HMAC key if one is given), its link, its seq,
 * a second genesis, where a torn line may stand, and each --anchor
 * SEQ:HASH (from the daemon's syslog checkpoints). The first break ends
 * the run with FILE:LINE and what broke; with --ignore-breaks every
 * break is reported and the run goes on, and the answer is still 1.
 * Files with no records fail unless --allow-empty accepts empty ones.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "follow.h"
#include "tool.h"

struct verify {
	struct tlsp_chain_key key;
	struct tlspa_follow_anchor *anchors;
	size_t nanchors;
	int allow_empty, ignore_breaks;
	struct tlspa_follow f;
};

/* ============================================================ options */

/* "SEQ:HASH", or what the daemon logs: "[audit checkpoint ]seq=N
 * hash=H[ ...]"; SEQ 0 is the genesis. Hex digits may be uppercase. */
int
tlspa_verify_anchor(const char *arg, struct tlspa_follow_anchor *a)
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
		{"allow-empty", no_argument, NULL, 'E'},
		{"ignore-breaks", no_argument, NULL, 'I'},
		{NULL, 0, NULL, 0},
	};
	char err[512];
	struct tlspa_follow_anchor *na;
	int c;

	while ((c = getopt_long(argc, argv, "qk:a:", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			tlspa_tool_quiet = 1;
			break;
		case 'E':
			v->allow_empty = 1;
			break;
		case 'I':
			v->ignore_breaks = 1;
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
			if (tlspa_verify_anchor(optarg,
						&v->anchors[v->nanchors]) < 0) {
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

/* ============================================================ output */

/* Without --ignore-breaks only the first break is told: the run stops
 * there. */
static void
verify_say(void *arg, enum tlspa_follow_kind kind, const char *path,
	   unsigned long long lineno, const char *text)
{
	const struct verify *v = arg;

	if (kind == TLSPA_FOLLOW_BREAK &&
	    (v->ignore_breaks || v->f.breaks == 1))
		tlspa_tool_break(path, lineno, "%s", text);
	else if (kind != TLSPA_FOLLOW_BREAK)
		tlspa_tool_say(NULL, kind, path, lineno, text);
}

static int
verify_summary(const struct verify *v, int nfiles)
{
	const struct tlspa_follow *f = &v->f;

	if (f->breaks > 0) {
		if (v->ignore_breaks)
			printf("BROKEN: %llu break%s, the first at %s:%llu; "
			       "%llu line%s not in the chain; %llu record%s "
			       "checked, files %d: %s\n",
			       f->breaks, f->breaks == 1 ? "" : "s",
			       f->first_break.path, f->first_break.lineno,
			       f->skipped, f->skipped == 1 ? "" : "s",
			       f->records, f->records == 1 ? "" : "s", nfiles,
			       f->records > 0 ? "the evidence is weakened"
					      : "there is no evidence");
		return TLSPA_EX_BROKEN;
	}
	if (tlspa_tool_quiet)
		return 0;
	if (f->records == 0)
		printf("OK: 0 records, files %d (empty, as --allow-empty "
		       "accepts)\n",
		       nfiles);
	else
		printf("OK: %llu record%s, seq %" PRIu64 "..%" PRIu64
		       ", files %d, last hash %s\n",
		       f->records, f->records == 1 ? "" : "s", f->first_seq,
		       f->seq, nfiles, f->hash);
	return 0;
}

static int
verify_run(struct verify *v, char **files, int nfiles)
{
	struct tlspa_reader lr = {.files = files, .nfiles = nfiles};
	struct tlspa_reader_line ln;
	struct tlspa_follow *f = &v->f;
	int got, oom = 0;

	f->files = files;
	f->nfiles = nfiles;
	f->key = &v->key;
	f->anchors = v->anchors;
	f->nanchors = v->nanchors;
	f->allow_empty = v->allow_empty;
	f->say = verify_say;
	f->say_arg = v;
	while ((got = tlspa_reader_next(&lr, &ln)) > 0) {
		if (tlspa_follow_line(f, &ln) < 0) {
			oom = 1;
			break;
		}
		if (f->breaks > 0 && !v->ignore_breaks)
			break;
	}
	if (got < 0)
		fprintf(stderr, "tlspolicy-audit: %s\n", lr.err);
	tlspa_reader_close(&lr);
	if (got == 0 && !oom && (f->breaks == 0 || v->ignore_breaks))
		oom = tlspa_follow_end(f) < 0;
	if (oom)
		fprintf(stderr, "tlspolicy-audit: out of memory\n");
	if (got < 0 || oom)
		return TLSPA_EX_ERROR;
	return verify_summary(v, nfiles);
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
	tlspa_follow_free(&v.f);
	free(v.anchors);
	return rc;
}
