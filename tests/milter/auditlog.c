/*
 * auditlog.c - an audit log read back and checked (see auditlog.h).
 *
 * The hash of each line is checked with tlsp_chain_verify(), the function
 * the writer's hashing shares, and the links and numbers by the rules of
 * audit/FORMAT.md section 4; an independent check is tlspolicy-audit
 * verify, which the tests also run when it is built. The fields a test
 * looks at are picked out by a small tokenizer that tracks nesting, so a
 * recipient's "addr" is never taken for the client's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditlog.h"
#include "chain.h"
#include "harness.h"

struct al_key {
	char kind;
	const char *key;
	size_t rec; /* index into v */
};

/* Copies a string token into a field, cut to fit. */
static void
put(char *dst, size_t dstsz, const char *v, size_t vlen)
{
	if (vlen >= dstsz)
		vlen = dstsz - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

#define KEY_IS(k, kl, name)                                                    \
	((kl) == strlen(name) && memcmp((k), (name), (kl)) == 0)

static void
store(struct al_rec *r, int depth, const char *k, size_t kl, const char *v,
      size_t vl)
{
	if (depth == 1) {
		if (KEY_IS(k, kl, "type"))
			put(r->type, sizeof(r->type), v, vl);
		else if (KEY_IS(k, kl, "queue_id"))
			put(r->queue_id, sizeof(r->queue_id), v, vl);
		else if (KEY_IS(k, kl, "action"))
			put(r->action, sizeof(r->action), v, vl);
		else if (KEY_IS(k, kl, "reply"))
			put(r->reply, sizeof(r->reply), v, vl);
		else if (KEY_IS(k, kl, "detail"))
			put(r->detail, sizeof(r->detail), v, vl);
	} else if (depth == 3 && KEY_IS(k, kl, "addr") && r->addr[0] == '\0') {
		/* {"recipients":[{"addr": - the client's is at depth 2 */
		put(r->addr, sizeof(r->addr), v, vl);
	}
}

/* Picks out the fields of one record line. */
static void
fields(const char *l, size_t len, struct al_rec *r)
{
	const char *key = NULL;
	size_t i = 0, j, klen = 0;
	int depth = 0;

	while (i < len) {
		if (l[i] == '"') {
			for (j = i + 1; j < len && l[j] != '"';)
				j += l[j] == '\\' ? 2 : 1;
			if (j >= len)
				return;
			if (j + 1 < len && l[j + 1] == ':') {
				key = l + i + 1;
				klen = j - i - 1;
			} else if (key != NULL) {
				store(r, depth, key, klen, l + i + 1,
				      j - i - 1);
				key = NULL;
			}
			i = j + 1;
			continue;
		}
		if (l[i] == '{' || l[i] == '[')
			depth++;
		else if (l[i] == '}' || l[i] == ']')
			depth--;
		if (l[i] != ':')
			key = NULL; /* the value was not a string */
		i++;
	}
}

static int fail(struct al_log *log, const char *path, long line,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fail(struct al_log *log, const char *path, long line, const char *fmt, ...)
{
	int n = snprintf(log->err, sizeof(log->err), "%s:%ld: ", path, line);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log->err + n, sizeof(log->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
grow(struct al_log *log, size_t *cap)
{
	struct al_rec *nv;

	if (log->n < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 1024;
	if ((nv = realloc(log->v, *cap * sizeof(*nv))) == NULL)
		return -1;
	log->v = nv;
	return 0;
}

/* Checks one complete line and appends its record. 0, 1 when it was
 * torn (skipped), -1 on a break. */
static int
one_line(struct al_log *log, const char *path, int file, long lineno,
	 char *line, size_t len, const struct tlsp_chain_key *key,
	 struct tlsp_jbuf *scratch)
{
	struct tlsp_chain_rec cr;
	const struct al_rec *last = log->n ? &log->v[log->n - 1] : NULL;
	struct al_rec *r;
	int rc = tlsp_chain_verify(line, len, key, scratch, &cr);

	if (rc < 0)
		return 1;
	if (rc == 0)
		return fail(log, path, lineno,
			    "hash is wrong (changed record, "
			    "or another key)");
	if (last == NULL && strcmp(cr.prev, tlsp_chain_genesis) == 0 &&
	    cr.seq != 1)
		return fail(log, path, lineno, "genesis record with seq %llu",
			    (unsigned long long)cr.seq);
	if (last != NULL && strcmp(cr.prev, last->hash) != 0)
		return fail(log, path, lineno,
			    "prev %.16s... does not link to "
			    "the record before (hash %.16s...)",
			    cr.prev, last->hash);
	if (last != NULL && cr.seq != last->seq + 1)
		return fail(log, path, lineno, "seq %llu after seq %llu",
			    (unsigned long long)cr.seq,
			    (unsigned long long)last->seq);
	r = &log->v[log->n++];
	memset(r, 0, sizeof(*r));
	r->seq = cr.seq;
	r->file = file;
	r->line = lineno;
	memcpy(r->prev, cr.prev, sizeof(r->prev));
	memcpy(r->hash, cr.hash, sizeof(r->hash));
	fields(line, len, r);
	return 0;
}

static int
load_file(struct al_log *log, const char *path, int file, int last_file,
	  const struct tlsp_chain_key *key, struct tlsp_jbuf *scratch,
	  size_t *cap)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t lcap = 0;
	ssize_t got;
	long lineno = 0;
	int rc = 0, complete;

	if (f == NULL)
		return fail(log, path, 0, "cannot open: %s", strerror(errno));
	while (rc == 0 && (got = getline(&line, &lcap, f)) > 0) {
		lineno++;
		complete = line[got - 1] == '\n';
		if (complete)
			got--;
		if (grow(log, cap) < 0) {
			rc = fail(log, path, lineno, "out of memory");
			break;
		}
		rc = complete ? one_line(log, path, file, lineno, line,
					 (size_t)got, key, scratch)
			      : 1;
		if (rc == 1) {
			log->torn++;
			log->torn_at_end = last_file && !complete;
			rc = 0;
		} else {
			log->torn_at_end = 0;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct al_key *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind - y->kind;
	return strcmp(x->key, y->key);
}

static int
index_keys(struct al_log *log)
{
	size_t i;

	log->keys = calloc(log->n ? log->n : 1, sizeof(*log->keys));
	if (log->keys == NULL)
		return -1;
	for (i = 0; i < log->n; i++) {
		struct al_key *k = &log->keys[log->nkeys];

		if (strcmp(log->v[i].type, "rcpt") == 0) {
			k->kind = 'r';
			k->key = log->v[i].addr;
		} else if (strcmp(log->v[i].type, "message") == 0) {
			k->kind = 'm';
			k->key = log->v[i].queue_id;
		} else {
			continue;
		}
		k->rec = i;
		log->nkeys++;
	}
	qsort(log->keys, log->nkeys, sizeof(*log->keys), key_cmp);
	return 0;
}

int
al_load(struct al_log *log, const char *const *files, size_t nfiles,
	const char *keyfile)
{
	struct tlsp_chain_key key = {0};
	struct tlsp_jbuf scratch;
	size_t i, cap = 0;
	int rc = 0;

	memset(log, 0, sizeof(*log));
	memset(&scratch, 0, sizeof(scratch));
	if (keyfile != NULL &&
	    tlsp_chain_key_load(keyfile, &key, log->err, sizeof(log->err)) < 0)
		return -1;
	for (i = 0; rc == 0 && i < nfiles; i++)
		rc = load_file(log, files[i], (int)i, i + 1 == nfiles, &key,
			       &scratch, &cap);
	tlsp_jb_free(&scratch);
	tlsp_chain_key_free(&key);
	if (rc == 0 && index_keys(log) < 0)
		rc = fail(log, files[0], 0, "out of memory");
	return rc;
}

const struct al_rec *
al_find(const struct al_log *log, char kind, const char *key, size_t *count)
{
	struct al_key want = {kind, key, 0}, *hit;
	size_t lo, hi;

	if (count != NULL)
		*count = 0;
	hit = log->nkeys ? bsearch(&want, log->keys, log->nkeys,
				   sizeof(*log->keys), key_cmp)
			 : NULL;
	if (hit == NULL)
		return NULL;
	lo = hi = (size_t)(hit - log->keys);
	while (lo > 0 && key_cmp(&log->keys[lo - 1], &want) == 0)
		lo--;
	while (hi + 1 < log->nkeys && key_cmp(&log->keys[hi + 1], &want) == 0)
		hi++;
	if (count != NULL)
		*count = hi - lo + 1;
	return &log->v[log->keys[lo].rec];
}

const struct al_rec *
al_first_of(const struct al_log *log, int file)
{
	size_t i;

	for (i = 0; i < log->n; i++)
		if (log->v[i].file == file)
			return &log->v[i];
	return NULL;
}

size_t
al_count_type(const struct al_log *log, const char *type)
{
	size_t i, n = 0;

	for (i = 0; i < log->n; i++)
		n += strcmp(log->v[i].type, type) == 0;
	return n;
}

const char *
al_mismatch(const struct al_log *log, const struct hn_decision *d)
{
	size_t count;
	const struct al_rec *r = al_find(log, d->kind, d->key, &count);

	if (d->on_error)
		return r != NULL ? "answered with on_error, yet on record"
				 : NULL;
	if (r == NULL)
		return "told to the MTA, not on record";
	if (count != 1)
		return "on record more than once";
	if (d->kind == 'r' && (strcmp(r->action, "reject") != 0 ||
			       strcmp(r->reply, d->reply) != 0))
		return "on record with another action or reply";
	if (d->kind == 'm' &&
	    strcmp(r->action, d->tagged ? "tag" : "accept") != 0)
		return "on record with another action";
	return NULL;
}

void
al_free(struct al_log *log)
{
	free(log->v);
	free(log->keys);
	memset(log, 0, sizeof(*log));
}
