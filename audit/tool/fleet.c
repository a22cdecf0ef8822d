/*
 * fleet.c - the command line of several hosts (fleet.h), shared by
 * verify and report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet.h"
#include "tool.h"

int
tlspa_fleet_find(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return -1;
		if (strcmp(argv[i], "--host") == 0 ||
		    strncmp(argv[i], "--host=", 7) == 0)
			return i;
	}
	return -1;
}

/* The value of "--opt VALUE" or "--opt=VALUE" at argv[*i]; NULL if
 * argv[*i] is not opt. Advances *i past a separate value. */
static const char *
opt_value(int argc, char **argv, int *i, const char *opt, int *missing)
{
	size_t n = strlen(opt);

	if (strncmp(argv[*i], opt, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

static struct tlspa_host *
new_host(struct tlspa_fleet *fl, const char *name)
{
	struct tlspa_host *h;
	size_t i;

	for (i = 0; i < fl->n; i++)
		if (strcmp(fl->hosts[i].name, name) == 0) {
			fprintf(stderr,
				"tlspolicy-audit: --host %s given twice\n",
				name);
			return NULL;
		}
	if (name[0] == '\0') {
		fprintf(stderr, "tlspolicy-audit: --host needs a name\n");
		return NULL;
	}
	h = realloc(fl->hosts, (fl->n + 1) * sizeof(*h));
	if (h == NULL)
		return NULL;
	fl->hosts = h;
	h = &fl->hosts[fl->n++];
	memset(h, 0, sizeof(*h));
	h->name = name;
	return h;
}

static int
host_anchor(struct tlspa_host *h, const char *arg)
{
	struct tlspa_follow_anchor *na;

	na = realloc(h->anchors, (h->nanchors + 1) * sizeof(*na));
	if (na == NULL)
		return -1;
	h->anchors = na;
	if (tlspa_verify_anchor(arg, &na[h->nanchors]) < 0) {
		fprintf(stderr,
			"tlspolicy-audit: --host %s: --anchor %s: expected "
			"SEQ:HASH (64 hex digits)\n",
			h->name, arg);
		return -1;
	}
	h->nanchors++;
	return 0;
}

static int
host_file(struct tlspa_host *h, char *path)
{
	char **nf = realloc(h->files, (size_t)(h->nfiles + 1) * sizeof(*nf));

	if (nf == NULL)
		return -1;
	h->files = nf;
	h->files[h->nfiles++] = path;
	return 0;
}

/* One word of a host's group at argv[*i]. 0, or -1 after saying why. */
static int
host_word(struct tlspa_host *h, int argc, char **argv, int *i)
{
	const char *v;
	char err[512];
	int missing = 0;

	if ((v = opt_value(argc, argv, i, "--key", &missing)) != NULL) {
		tlsp_chain_key_free(&h->key);
		if (tlsp_chain_key_load(v, &h->key, err, sizeof(err)) == 0)
			return 0;
		fprintf(stderr, "tlspolicy-audit: --host %s: --key %s\n",
			h->name, err);
		return -1;
	}
	if (!missing &&
	    (v = opt_value(argc, argv, i, "--anchor", &missing)) != NULL)
		return host_anchor(h, v);
	if (missing || (argv[*i][0] == '-' && argv[*i][1] != '\0')) {
		fprintf(stderr,
			"tlspolicy-audit: --host %s: %s: expected --key, "
			"--anchor or a file%s\n",
			h->name, argv[*i],
			missing ? " (the option needs a value)" : "");
		return -1;
	}
	return host_file(h, argv[*i]);
}

int
tlspa_fleet_parse(struct tlspa_fleet *fl, int argc, char **argv, int from)
{
	struct tlspa_host *h = NULL;
	const char *name;
	int i, missing = 0;

	for (i = from; i < argc; i++) {
		if ((name = opt_value(argc, argv, &i, "--host", &missing)) !=
		    NULL) {
			if (h != NULL && h->nfiles == 0)
				break;
			if ((h = new_host(fl, name)) == NULL)
				return TLSPA_EX_ERROR;
			continue;
		}
		if (missing) {
			fprintf(stderr, "tlspolicy-audit: --host needs a "
					"name\n");
			return TLSPA_EX_ERROR;
		}
		if (h == NULL || host_word(h, argc, argv, &i) < 0)
			return TLSPA_EX_ERROR;
	}
	if (h == NULL || h->nfiles == 0) {
		fprintf(stderr, "tlspolicy-audit: --host %s: no FILE given\n",
			h != NULL ? h->name : "");
		return TLSPA_EX_ERROR;
	}
	return 0;
}

void
tlspa_fleet_free(struct tlspa_fleet *fl)
{
	size_t i;

	for (i = 0; i < fl->n; i++) {
		tlsp_chain_key_free(&fl->hosts[i].key);
		free(fl->hosts[i].anchors);
		free(fl->hosts[i].files);
	}
	free(fl->hosts);
	fl->hosts = NULL;
	fl->n = 0;
}

int
tlspa_fleet_wrong_host(const struct tlspa_jv *rec, const char *name)
{
	const struct tlspa_jv *h = tlspa_jv_get(rec, "host");

	return h == NULL || h->type != TLSPA_J_STR || strlen(name) != h->len ||
	       memcmp(h->s, name, h->len) != 0;
}

size_t
tlspa_fleet_workers(size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t w = cpus > 0 ? (size_t)cpus : 1;

	return w < n ? w : n > 0 ? n : 1;
}
