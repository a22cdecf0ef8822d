/*
 * policy.c - load a policy file, and the compiled policy's lifetime.
 *
 * A policy is built completely or not at all: on any error the caller gets
 * NULL and the diagnostics, and whatever policy it already had stays in
 * use. Once returned, a policy is immutable; its reference count is the
 * only thing that changes, atomically, so a reload can swap policies while
 * connections still hold the old one.
 *
 * A policy may be split: `include:` names files (globs) relative to the
 * including file. The loader reads the main file and every file it
 * includes, depth first, each with the same checks, parses each into
 * the same tree arena, and hands the whole list to the compiler; the
 * policy's hash then covers every file (hash_files()).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "compile.h"
#include "ytree.h"

static void
sha256_hex(const char *buf, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL))
		mdlen = 0;
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[2 * i] = '\0';
}

/* Frees the pair tables (or, with `count`, only counts their bytes). */
static size_t
pairs_walk(struct tlsp_domtab *t, int count)
{
	size_t i, bytes = t->slots ? (t->mask + 1) * sizeof(*t->slots) : 0;

	for (i = 0; t->slots != NULL && i <= t->mask; i++) {
		const struct tlsp_rule *side[2] = {t->slots[i].exact,
						   t->slots[i].sub};

		for (int j = 0; j < 2; j++) {
			struct tlsp_domtab *r;

			if (side[j] == NULL)
				continue;
			r = &tlsp_pairset_of(side[j])->rcpts;
			if (count)
				bytes += (r->mask + 1) * sizeof(*r->slots);
			else
				tlsp_domtab_free(r);
		}
	}
	if (!count)
		tlsp_domtab_free(t);
	return bytes;
}

void
tlsp_policy_free(struct tlsp_policy *p)
{
	if (p == NULL)
		return;
	tlsp_domtab_free(&p->recipients.tab);
	tlsp_domtab_free(&p->senders.tab);
	tlsp_tz_free(p->tz);
	(void)pairs_walk(&p->pairs, 0);
	tlsp_arena_free(p->arena);
	free(p->path);
	free(p);
}

/*
 * Whoever can write the policy decides what mail gets through: warn when
 * any user can, through the file's mode or by replacing it in a directory
 * that others may write to without the sticky bit.
 */
static void
warn_writable(const char *path, const struct stat *st, struct tlsp_diags *diags)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct stat ds;

	if (st->st_mode & S_IWOTH)
		tlsp_diags_add(diags, 1, path, 0, 0,
			       "writable by any user, who could change what "
			       "mail is accepted (chmod o-w)");
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s",
			 (int)(slash == path ? 1 : slash - path), path);
	if (stat(dir, &ds) == 0 && (ds.st_mode & S_IWOTH) &&
	    !(ds.st_mode & S_ISVTX))
		tlsp_diags_add(diags, 1, path, 0, 0,
			       "its directory %s is writable by any user, who "
			       "could replace the policy (chmod o-w %s)",
			       dir, dir);
}

static const char *
not_regular(mode_t mode)
{
	if (S_ISDIR(mode))
		return "is a directory, not a file";
	if (S_ISFIFO(mode))
		return "is a FIFO (named pipe), not a regular file";
	if (S_ISSOCK(mode))
		return "is a socket, not a regular file";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "is a device, not a regular file";
	return "not a regular file";
}

/*
 * Reads a whole regular file; refuses directories, FIFOs, devices and
 * files over the size cap before reading them. Opened with O_NONBLOCK so
 * that a FIFO is refused at once instead of blocking the open (and with
 * it a reload, and a stop that waits for the reload) until a writer
 * comes; a regular file then reads in blocking mode.
 */
char *
tlsp_policy_read_file(const char *path, size_t *len, struct stat *stp,
		      struct tlsp_diags *diags)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		tlsp_diags_add(diags, 0, path, 0, 0, "cannot open: %s",
			       strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		tlsp_diags_add(diags, 0, path, 0, 0, "cannot stat: %s",
			       strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		tlsp_diags_add(diags, 0, path, 0, 0, "%s",
			       not_regular(st.st_mode));
		goto fail;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		tlsp_diags_add(diags, 0, path, 0, 0, "cannot read: %s",
			       strerror(errno));
		goto fail;
	}
	if ((unsigned long long)st.st_size > TLSP_POLICY_MAX_BYTES) {
		tlsp_diags_add(diags, 0, path, 0, 0,
			       "file is larger than %u MiB",
			       TLSP_POLICY_MAX_BYTES >> 20);
		goto fail;
	}
	warn_writable(path, &st, diags);
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		tlsp_diags_add(diags, 0, path, 0, 0, "out of memory");
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			tlsp_diags_add(diags, 0, path, 0, 0, "read error: %s",
				       n < 0 ? strerror(errno) : "file shrank");
			goto fail;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	*len = got;
	if (stp)
		*stp = st;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

/* The files read so far, in load order, while a policy loads. */
struct loader {
	struct tlsp_arena *tree; /* the documents and the paths */
	struct tlsp_diags *d;
	struct tlsp_source *src; /* heap */
	struct file_id {
		dev_t dev;
		ino_t ino;
		int reading;	  /* its includes are being read: a cycle */
		const char *from; /* "file:line:col" of its include, or NULL */
	} * id;
	char (*hash)[65];
	size_t n, cap, bytes;
	int failed;
};

static int read_includes(struct loader *, size_t at, unsigned depth);

/* Adds a parsed document; returns its index or -1. */
static long
add_source(struct loader *l, const char *path, const char *buf, size_t len,
	   const struct stat *st, const char *from)
{
	const struct tlsp_ynode *root;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		void *a = realloc(l->src, cap * sizeof(*l->src));
		void *b = a ? realloc(l->id, cap * sizeof(*l->id)) : NULL;
		void *c = b ? realloc(l->hash, cap * sizeof(*l->hash)) : NULL;

		if (a)
			l->src = a;
		if (b)
			l->id = b;
		if (c == NULL) {
			tlsp_diags_add(l->d, 0, path, 0, 0, "out of memory");
			return -1;
		}
		l->hash = c;
		l->cap = cap;
	}
	root = tlsp_ytree_parse(l->tree, path, buf, len, l->d);
	path = tlsp_arena_strndup(l->tree, path, strlen(path));
	if (root == NULL || path == NULL) {
		if (path == NULL)
			tlsp_diags_add(l->d, 0, l->src[0].path, 0, 0,
				       "out of memory");
		return -1;
	}
	l->src[l->n].path = path;
	l->src[l->n].root = root;
	l->id[l->n].dev = st ? st->st_dev : 0;
	l->id[l->n].ino = st ? st->st_ino : 0;
	l->id[l->n].reading = 0;
	l->id[l->n].from = from;
	sha256_hex(buf, len, l->hash[l->n]);
	l->bytes += len;
	return (long)l->n++;
}

/* The directory of `file` with glob's special characters escaped, and a
 * slash; "" for a file in the working directory. */
static void
glob_dir(const char *file, char *out, size_t outsz)
{
	const char *slash = strrchr(file, '/'), *p;
	size_t j = 0;

	for (p = file; slash && p <= slash && j + 3 < outsz; p++) {
		if (strchr("*?[]\\", *p))
			out[j++] = '\\';
		out[j++] = *p;
	}
	out[j] = '\0';
}

/* What stopped the last glob() on this thread (glob's error callback
 * takes no argument). A directory that does not exist is no error: the
 * pattern then matches nothing; one that cannot be read is. */
static _Thread_local struct {
	char path[512];
	int err;
} glob_fail;

static int
glob_error(const char *path, int err)
{
	if (err == ENOENT || err == ENOTDIR)
		return 0;
	snprintf(glob_fail.path, sizeof(glob_fail.path), "%s", path);
	glob_fail.err = err;
	return 1;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads one file an include: pattern matched, and what it includes. */
static void
include_file(struct loader *l, const char *path, const char *from,
	     unsigned depth)
{
	struct stat st;
	size_t len = 0, i;
	char *buf;
	long at;

	if (l->n >= TLSP_INCLUDE_MAX_FILES) {
		tlsp_diags_add(l->d, 0, path, 0, 0,
			       "more than %u policy files; included from %s",
			       TLSP_INCLUDE_MAX_FILES, from);
		l->failed = 1;
		return;
	}
	buf = tlsp_policy_read_file(path, &len, &st, l->d);
	if (buf == NULL) {
		l->failed = 1;
		return;
	}
	for (i = 0; i < l->n; i++) {
		if (l->id[i].dev != st.st_dev || l->id[i].ino != st.st_ino)
			continue;
		if (l->id[i].reading)
			tlsp_diags_add(l->d, 0, path, 0, 0,
				       "include cycle: included from %s while "
				       "it is being read (it includes that "
				       "file, directly or through others)",
				       from);
		else
			tlsp_diags_add(l->d, 0, path, 0, 0,
				       "included twice: from %s and from %s",
				       l->id[i].from ? l->id[i].from
						     : "the command line",
				       from);
		l->failed = 1;
		free(buf);
		return;
	}
	if (l->bytes + len > TLSP_POLICY_MAX_BYTES) {
		tlsp_diags_add(l->d, 0, path, 0, 0,
			       "the policy's files are larger than %u MiB "
			       "together",
			       TLSP_POLICY_MAX_BYTES >> 20);
		l->failed = 1;
		free(buf);
		return;
	}
	at = add_source(l, path, buf, len, &st, from);
	free(buf);
	if (at < 0 || read_includes(l, (size_t)at, depth + 1) < 0)
		l->failed = 1;
}

/* Expands one include: pattern of the file l->src[at]. */
static void
include_pattern(struct loader *l, size_t at, const struct tlsp_ynode *v,
		unsigned depth)
{
	const char *file = l->src[at].path;
	char pat[4096 + 16], dir[8192], from[4200];
	glob_t g;
	size_t i;
	int rc;

	if (v->type != TLSP_YNODE_SCALAR || v->len == 0) {
		tlsp_diags_add(l->d, 0, file, v->line, v->col,
			       "'include' expects a file name or glob, or a "
			       "list of them, found %s",
			       tlsp_ytree_kind(v));
		l->failed = 1;
		return;
	}
	if (depth > TLSP_INCLUDE_MAX_DEPTH) {
		tlsp_diags_add(l->d, 0, file, v->line, v->col,
			       "includes nest deeper than %u files",
			       TLSP_INCLUDE_MAX_DEPTH);
		l->failed = 1;
		return;
	}
	if (v->str[0] == '/')
		dir[0] = '\0';
	else
		glob_dir(file, dir, sizeof(dir));
	if ((size_t)snprintf(pat, sizeof(pat), "%s%s", dir, v->str) >=
	    sizeof(pat)) {
		tlsp_diags_add(l->d, 0, file, v->line, v->col,
			       "the include path is too long");
		l->failed = 1;
		return;
	}
	snprintf(from, sizeof(from), "%s:%u:%u", file, v->line, v->col);
	glob_fail.err = 0;
	rc = glob(pat, GLOB_NOSORT, glob_error, &g);
	if (rc == GLOB_NOMATCH) {
		/* a literal name must exist; a glob may match nothing yet */
		int literal = strpbrk(v->str, "*?[") == NULL;

		tlsp_diags_add(l->d, !literal, file, v->line, v->col,
			       "include '%.200s' matches no file%s", v->str,
			       literal ? "" : " (nothing included)");
		l->failed |= literal;
		return;
	}
	if (rc != 0) {
		if (rc == GLOB_NOSPACE || glob_fail.err == 0)
			tlsp_diags_add(l->d, 0, file, v->line, v->col,
				       "include '%.200s': %s", v->str,
				       rc == GLOB_NOSPACE ? "out of memory"
							  : "glob failed");
		else
			tlsp_diags_add(l->d, 0, file, v->line, v->col,
				       "include '%.200s': cannot read "
				       "directory %s: %s",
				       v->str, glob_fail.path,
				       strerror(glob_fail.err));
		l->failed = 1;
		globfree(&g);
		return;
	}
	/* byte order, whatever the locale: the load order is the hash's */
	qsort(g.gl_pathv, g.gl_pathc, sizeof(*g.gl_pathv), by_name);
	for (i = 0; i < g.gl_pathc && !l->d->truncated; i++)
		include_file(l, g.gl_pathv[i],
			     tlsp_arena_strndup(l->tree, from, strlen(from)),
			     depth);
	globfree(&g);
}

/* Reads what the file l->src[at] includes, depth first. */
static int
read_includes(struct loader *l, size_t at, unsigned depth)
{
	const struct tlsp_ynode *inc;
	size_t i;

	if (l->src[at].root->type != TLSP_YNODE_MAP)
		return 0; /* the compiler says what it expected */
	inc = tlsp_ytree_get(l->src[at].root, "include");
	if (inc == NULL || tlsp_schema_is_empty(inc))
		return 0;
	l->id[at].reading = 1;
	if (inc->type == TLSP_YNODE_SEQ)
		for (i = 0; i < inc->n; i++)
			include_pattern(l, at, inc->kids[i], depth);
	else
		include_pattern(l, at, inc, depth);
	l->id[at].reading = 0;
	return 0;
}

/*
 * The policy's hash: with one file, the SHA-256 of its bytes; with
 * included files, the SHA-256 of one line per file in load order, its
 * SHA-256 in lowercase hex and a newline, which is what
 * `sha256sum FILES | cut -c1-64 | sha256sum` computes.
 */
static int
hash_files(struct tlsp_policy *p, const struct loader *l)
{
	char *lines;
	size_t i;

	p->files = tlsp_arena_alloc(p->arena, l->n * sizeof(*p->files));
	if (p->files == NULL)
		return -1;
	for (i = 0; i < l->n; i++) {
		p->files[i].path = tlsp_arena_strndup(p->arena, l->src[i].path,
						      strlen(l->src[i].path));
		if (p->files[i].path == NULL)
			return -1;
		memcpy(p->files[i].hash, l->hash[i], 65);
	}
	p->nfiles = l->n;
	if (l->n == 1) {
		memcpy(p->hash, l->hash[0], 65);
		return 0;
	}
	lines = malloc(l->n * 65);
	if (lines == NULL)
		return -1;
	for (i = 0; i < l->n; i++) {
		memcpy(lines + 65 * i, l->hash[i], 64);
		lines[65 * i + 64] = '\n';
	}
	sha256_hex(lines, l->n * 65, p->hash);
	free(lines);
	return 0;
}

static struct tlsp_policy *
load(const char *name, const char *buf, size_t len, const struct stat *st,
     enum tlsp_mta mta, struct tlsp_diags *diags)
{
	struct loader l = {.d = diags};
	struct tlsp_policy *p = NULL;

	if (len > TLSP_POLICY_MAX_BYTES) {
		tlsp_diags_add(diags, 0, name, 0, 0,
			       "file is larger than %u MiB",
			       TLSP_POLICY_MAX_BYTES >> 20);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	l.tree = tlsp_arena_new();
	if (p == NULL || l.tree == NULL ||
	    (p->arena = tlsp_arena_new()) == NULL ||
	    (p->path = strdup(name)) == NULL) {
		tlsp_diags_add(diags, 0, name, 0, 0, "out of memory");
		goto fail;
	}
	atomic_init(&p->refs, 1);
	if (add_source(&l, name, buf, len, st, NULL) < 0 ||
	    read_includes(&l, 0, 1) < 0 || l.failed)
		goto fail;
	if (hash_files(p, &l) < 0) {
		tlsp_diags_add(diags, 0, name, 0, 0, "out of memory");
		goto fail;
	}
	if (tlsp_compile(p, l.src, l.n, mta, diags) < 0)
		goto fail;
	p->memory = sizeof(*p) + tlsp_arena_size(p->arena) +
		    (p->recipients.tab.mask + 1 + p->senders.tab.mask + 1) *
			    sizeof(struct tlsp_domtab_entry) +
		    pairs_walk(&p->pairs, 1);
	goto out;
fail:
	tlsp_policy_free(p);
	p = NULL;
out:
	tlsp_arena_free(l.tree);
	free(l.src);
	free(l.id);
	free(l.hash);
	return p;
}

struct tlsp_policy *
tlsp_policy_load_buffer(const char *name, const char *buf, size_t len,
			enum tlsp_mta mta, struct tlsp_diags *diags)
{
	struct stat st;

	/* When `name` is the file, a file including it back is a cycle. */
	return load(name, buf, len, stat(name, &st) == 0 ? &st : NULL, mta,
		    diags);
}

struct tlsp_policy *
tlsp_policy_load(const char *path, enum tlsp_mta mta, struct tlsp_diags *diags)
{
	struct tlsp_policy *p;
	struct stat st;
	size_t len = 0;
	char *buf = tlsp_policy_read_file(path, &len, &st, diags);

	if (buf == NULL)
		return NULL;
	p = load(path, buf, len, &st, mta, diags);
	free(buf);
	return p;
}

struct tlsp_policy *
tlsp_policy_ref(struct tlsp_policy *p)
{
	if (p)
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void
tlsp_policy_unref(struct tlsp_policy *p)
{
	if (p &&
	    atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		tlsp_policy_free(p);
}

const char *
tlsp_policy_hash(const struct tlsp_policy *p)
{
	return p->hash;
}

const char *
tlsp_policy_path(const struct tlsp_policy *p)
{
	return p->path;
}

size_t
tlsp_policy_file_count(const struct tlsp_policy *p)
{
	return p->nfiles;
}

const char *
tlsp_policy_file(const struct tlsp_policy *p, size_t i, const char **sha256)
{
	if (i >= p->nfiles)
		return NULL;
	if (sha256)
		*sha256 = p->files[i].hash;
	return p->files[i].path;
}

size_t
tlsp_policy_rule_count(const struct tlsp_policy *p)
{
	return p->nrules;
}

const char *
tlsp_policy_rule_at(const struct tlsp_policy *p, size_t i, unsigned *compliance)
{
	if (i >= p->nrules)
		return NULL;
	*compliance = p->rules[i].spec != NULL ? p->rules[i].spec->compliance
					       : 0;
	return tlsp_rule_name(&p->rules[i]);
}

size_t
tlsp_policy_profile_count(const struct tlsp_policy *p)
{
	return p->nprofiles;
}

size_t
tlsp_policy_memory(const struct tlsp_policy *p)
{
	return p->memory;
}

const struct tlsp_settings *
tlsp_policy_settings(const struct tlsp_policy *p)
{
	return &p->settings;
}

unsigned
tlsp_policy_actions(const struct tlsp_policy *p)
{
	return p->actions;
}

const char *
tlsp_policy_timezone(const struct tlsp_policy *p)
{
	return tlsp_tz_name(p->tz);
}

char *
tlsp_policy_format_time(const struct tlsp_policy *p, time_t t, char *buf,
			size_t bufsz)
{
	tlsp_tz_format(p->tz, (int64_t)t, buf, bufsz);
	return buf;
}

int
tlsp_policy_parse_time(const struct tlsp_policy *p, const char *s,
		       int end_of_day, time_t *out, const char **why)
{
	int64_t t;
	int is_date;

	if (tlsp_tz_parse_when(p->tz, s, end_of_day, &t, &is_date, why) < 0)
		return -1;
	*out = (time_t)t;
	return 0;
}

size_t
tlsp_policy_scheduled_count(const struct tlsp_policy *p)
{
	return p->nscheduled;
}

int
tlsp_policy_names_client(const struct tlsp_policy *p, const char *addr,
			 const char *name)
{
	char low[TLSP_DOMAIN_MAX + 1];
	int have_ip, have_name = 0;
	uint8_t ip[16];
	size_t i, k, n;

	have_ip = addr != NULL && tlsp_cidr_parse_ip(addr, ip) == 0;
	if (name != NULL && (n = strlen(name)) > 0 && n < sizeof(low)) {
		for (k = 0; k < n; k++)
			low[k] = name[k] >= 'A' && name[k] <= 'Z'
					 ? (char)(name[k] - 'A' + 'a')
					 : name[k];
		n -= n > 1 && low[n - 1] == '.';
		low[n] = '\0';
		have_name = 1;
	}
	for (i = 0; i < p->nclient_specs; i++) {
		const struct tlsp_reqs *q = &p->client_specs[i]->req;

		if (have_ip && q->client_addrs.n > 0 &&
		    tlsp_cidrset_match(&q->client_addrs, ip))
			return 1;
		for (k = 0; have_name && k < q->nhosts; k++)
			if (tlsp_host_match(&q->hosts[k], low))
				return 1;
	}
	return 0;
}

const struct tlsp_rule *
tlsp_policy_rule(const struct tlsp_policy *p, size_t i)
{
	return i < p->nrules ? &p->rules[i] : NULL;
}
