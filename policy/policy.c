/*
 * policy.c - load a policy file, and the compiled policy's lifetime.
 *
 * A policy is built completely or not at all: on any error the caller gets
 * NULL and the diagnostics, and whatever policy it already had stays in
 * use. Once returned, a policy is immutable; its reference count is the
 * only thing that changes, atomically, so a reload can swap policies while
 * connections still hold the old one.
 */
#include <errno.h>
#include <fcntl.h>
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
	(void)pairs_walk(&p->pairs, 0);
	tlsp_arena_free(p->arena);
	free(p->path);
	free(p);
}

struct tlsp_policy *
tlsp_policy_load_buffer(const char *name, const char *buf, size_t len,
			enum tlsp_mta mta, struct tlsp_diags *diags)
{
	struct tlsp_arena *tree_arena = NULL;
	struct tlsp_policy *p = NULL;
	const struct tlsp_ynode *root;

	if (len > TLSP_POLICY_MAX_BYTES) {
		tlsp_diags_add(diags, 0, name, 0, 0,
			       "file is larger than %u MiB",
			       TLSP_POLICY_MAX_BYTES >> 20);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	tree_arena = tlsp_arena_new();
	if (p == NULL || tree_arena == NULL ||
	    (p->arena = tlsp_arena_new()) == NULL ||
	    (p->path = strdup(name)) == NULL) {
		tlsp_diags_add(diags, 0, name, 0, 0, "out of memory");
		goto fail;
	}
	atomic_init(&p->refs, 1);
	sha256_hex(buf, len, p->hash);
	root = tlsp_ytree_parse(tree_arena, name, buf, len, diags);
	if (root == NULL || tlsp_compile(p, root, name, mta, diags) < 0)
		goto fail;
	tlsp_arena_free(tree_arena);
	p->memory = sizeof(*p) + tlsp_arena_size(p->arena) +
		    (p->recipients.tab.mask + 1 + p->senders.tab.mask + 1) *
			    sizeof(struct tlsp_domtab_entry) +
		    pairs_walk(&p->pairs, 1);
	return p;
fail:
	tlsp_arena_free(tree_arena);
	tlsp_policy_free(p);
	return NULL;
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
static char *
read_file(const char *path, size_t *len, struct tlsp_diags *diags)
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
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

struct tlsp_policy *
tlsp_policy_load(const char *path, enum tlsp_mta mta, struct tlsp_diags *diags)
{
	struct tlsp_policy *p;
	size_t len = 0;
	char *buf = read_file(path, &len, diags);

	if (buf == NULL)
		return NULL;
	p = tlsp_policy_load_buffer(path, buf, len, mta, diags);
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
tlsp_policy_rule_count(const struct tlsp_policy *p)
{
	return p->nrules;
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
