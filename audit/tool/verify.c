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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "fleet.h"
#include "follow.h"
#include "tool.h"

struct verify {
	struct tlsp_chain_key key;
	struct tlspa_follow_anchor *anchors;
	size_t nanchors;
	int allow_empty, ignore_breaks;
	int fleet; /* --host given: the options before it are global */
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
	if (v->fleet && optind < argc) {
		fprintf(stderr,
			"tlspolicy-audit verify: %s: a file before the "
			"first --host\n",
			argv[optind]);
		return tlspa_tool_usage("verify");
	}
	if (optind >= argc && !v->fleet) {
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

/* ============================================================ fleet */

/* One host of a fleet, verified on a thread of its own: what it would
 * print is kept in `msgs` and printed in the order of the hosts. */
struct host_run {
	const struct verify *v;
	struct tlspa_host *h;
	struct tlspa_follow f;
	FILE *m;
	char *msgs;
	size_t msglen;
	unsigned long long wrong; /* records naming another host */
	int rc;
};

struct fleet_run {
	struct host_run *runs;
	size_t n, next;
	pthread_mutex_t lock;
};

static void
host_say(void *arg, enum tlspa_follow_kind kind, const char *path,
	 unsigned long long lineno, const char *text)
{
	struct host_run *hr = arg;

	if (kind == TLSPA_FOLLOW_BREAK && !hr->v->ignore_breaks &&
	    hr->f.breaks > 1)
		return;
	if (kind != TLSPA_FOLLOW_BREAK && tlspa_tool_quiet)
		return;
	fprintf(hr->m, "%s: %s:%llu: %s%s\n", hr->h->name, path, lineno,
		kind == TLSPA_FOLLOW_WARN   ? "warning: "
		: kind == TLSPA_FOLLOW_NOTE ? "note: "
					    : "",
		text);
}

/* A record that names another host than declared is a break of this
 * host's evidence: the files were mixed up, or changed. */
static void
host_check(struct host_run *hr, const struct tlspa_reader_line *ln)
{
	const struct tlspa_jv *name = tlspa_jv_get(hr->f.tree, "host");
	char buf[128];

	if (!tlspa_fleet_wrong_host(hr->f.tree, hr->h->name))
		return;
	if (hr->wrong++ == 0)
		fprintf(hr->m,
			"%s: %s:%llu: the record names host \"%s\", not the "
			"host declared\n",
			hr->h->name, ln->path, ln->lineno,
			name != NULL && name->type == TLSPA_J_STR
				? tlspa_text_safe(name->s, name->len, buf,
						  sizeof(buf))
				: "(none)");
}

static void
host_verify(struct host_run *hr)
{
	struct tlspa_reader lr = {.files = hr->h->files,
				  .nfiles = hr->h->nfiles};
	struct tlspa_reader_line ln;
	struct tlspa_follow *f = &hr->f;
	int got, in, oom = 0;

	f->files = hr->h->files;
	f->nfiles = hr->h->nfiles;
	f->key = &hr->h->key;
	f->anchors = hr->h->anchors;
	f->nanchors = hr->h->nanchors;
	f->allow_empty = hr->v->allow_empty;
	f->say = host_say;
	f->say_arg = hr;
	while ((got = tlspa_reader_next(&lr, &ln)) > 0) {
		if ((in = tlspa_follow_line(f, &ln)) < 0) {
			oom = 1;
			break;
		}
		if (in > 0)
			host_check(hr, &ln);
		if ((f->breaks > 0 || hr->wrong > 0) && !hr->v->ignore_breaks)
			break;
	}
	if (got < 0)
		fprintf(hr->m, "%s: %s\n", hr->h->name, lr.err);
	tlspa_reader_close(&lr);
	if (got == 0 && !oom &&
	    ((f->breaks == 0 && hr->wrong == 0) || hr->v->ignore_breaks))
		oom = tlspa_follow_end(f) < 0;
	if (oom)
		fprintf(hr->m, "%s: out of memory\n", hr->h->name);
	hr->rc = got < 0 || oom				  ? TLSPA_EX_ERROR
		 : f->breaks > 0 || hr->wrong > 0	  ? TLSPA_EX_BROKEN
		 : f->records == 0 && !hr->v->allow_empty ? TLSPA_EX_BROKEN
							  : TLSPA_EX_OK;
}

static void *
fleet_worker(void *arg)
{
	struct fleet_run *fr = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&fr->lock);
		i = fr->next++;
		pthread_mutex_unlock(&fr->lock);
		if (i >= fr->n)
			return NULL;
		host_verify(&fr->runs[i]);
	}
}

/* The line of one host on stdout. */
static void
host_line(const struct host_run *hr)
{
	const struct tlspa_follow *f = &hr->f;

	if (hr->rc == TLSPA_EX_ERROR)
		printf("%s: ERROR: could not be read to the end\n",
		       hr->h->name);
	else if (hr->wrong > 0)
		printf("%s: BROKEN: %llu record%s name%s another host\n",
		       hr->h->name, hr->wrong, hr->wrong == 1 ? "" : "s",
		       hr->wrong == 1 ? "s" : "");
	else if (f->breaks > 0)
		printf("%s: BROKEN: the first break at %s:%llu: %s\n",
		       hr->h->name, f->first_break.path, f->first_break.lineno,
		       f->first_break_text);
	else if (f->records == 0)
		printf("%s: %s: 0 records, files %d\n", hr->h->name,
		       hr->rc ? "BROKEN" : "OK", hr->h->nfiles);
	else
		printf("%s: OK: %llu record%s, seq %" PRIu64 "..%" PRIu64
		       ", files %d, last hash %s%s\n",
		       hr->h->name, f->records, f->records == 1 ? "" : "s",
		       f->first_seq, f->seq, hr->h->nfiles, f->hash,
		       f->unkeyed || hr->h->key.k == NULL ? " (no key)" : "");
}

static int
verify_fleet(struct verify *v, struct tlspa_fleet *fl)
{
	struct fleet_run fr = {.n = fl->n};
	size_t i, nw = tlspa_fleet_workers(fl->n), started = 0;
	pthread_t *th = calloc(nw, sizeof(*th));
	int rc = TLSPA_EX_OK, bad = 0;

	fr.runs = calloc(fl->n, sizeof(*fr.runs));
	if (th == NULL || fr.runs == NULL) {
		free(th);
		free(fr.runs);
		fprintf(stderr, "tlspolicy-audit: out of memory\n");
		return TLSPA_EX_ERROR;
	}
	pthread_mutex_init(&fr.lock, NULL);
	for (i = 0; i < fl->n; i++) {
		fr.runs[i].v = v;
		fr.runs[i].h = &fl->hosts[i];
		fr.runs[i].m = open_memstream(&fr.runs[i].msgs,
					      &fr.runs[i].msglen);
		if (fr.runs[i].m == NULL)
			fr.runs[i].m = stderr; /* says it at once */
	}
	for (i = 0; i < nw; i++)
		if (pthread_create(&th[i], NULL, fleet_worker, &fr) == 0)
			started++;
	if (started == 0)
		fleet_worker(&fr); /* no thread: one after the other */
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < fl->n; i++) {
		struct host_run *hr = &fr.runs[i];

		if (hr->m != stderr)
			fclose(hr->m);
		if (hr->msgs != NULL)
			fputs(hr->msgs, stderr);
		host_line(hr);
		bad += hr->rc != 0;
		if (hr->rc > rc)
			rc = hr->rc;
		free(hr->msgs);
		tlspa_follow_free(&hr->f);
	}
	if (!tlspa_tool_quiet || bad)
		printf("%s: %zu host%s, %d failed\n", bad ? "BROKEN" : "OK",
		       fl->n, fl->n == 1 ? "" : "s", bad);
	pthread_mutex_destroy(&fr.lock);
	free(fr.runs);
	free(th);
	return rc;
}

int
tlspa_verify_main(int argc, char **argv)
{
	struct tlspa_fleet fl = {0};
	struct verify v;
	int rc, at = tlspa_fleet_find(argc, argv);

	memset(&v, 0, sizeof(v));
	v.fleet = at > 0;
	if ((rc = verify_options(&v, at > 0 ? at : argc, argv)) == 0 &&
	    at > 0) {
		if (v.key.k != NULL || v.nanchors > 0) {
			fprintf(stderr, "tlspolicy-audit verify: --key and "
					"--anchor go after their --host\n");
			rc = TLSPA_EX_ERROR;
		} else if ((rc = tlspa_fleet_parse(&fl, argc, argv, at)) == 0) {
			rc = verify_fleet(&v, &fl);
		}
		tlspa_fleet_free(&fl);
	} else if (rc == 0) {
		rc = verify_run(&v, argv + optind, argc - optind);
	}
	tlsp_chain_key_free(&v.key);
	tlspa_follow_free(&v.f);
	free(v.anchors);
	return rc;
}
