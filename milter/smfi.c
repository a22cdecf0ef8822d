/*
 * smfi.c - the libmilter calls the callbacks make, as a table.
 *
 * Unit tests point tlspm_smfi at their own table to see every reply,
 * header and quarantine the callbacks ask for, without an MTA. The real
 * entries copy their strings: libmilter's prototypes take char *.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smfi.h"

/* A writable copy, on the heap when it does not fit the stack buffer. */
static char *
copy(const char *s, char *buf, size_t bufsz)
{
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	if (n <= bufsz) {
		memcpy(buf, s, n);
		return buf;
	}
	return strdup(s);
}

static void
release(char *p, const char *buf)
{
	if (p != buf)
		free(p);
}

static const char *
getsymval(SMFICTX *ctx, const char *name)
{
	char b[64], *n = copy(name, b, sizeof(b));
	const char *v = n ? smfi_getsymval(ctx, n) : NULL;

	release(n, b);
	return v;
}

static int
setreply(SMFICTX *ctx, const char *code, const char *xcode, const char *text)
{
	char b1[8], b2[32], b3[2048];
	char *c = copy(code, b1, sizeof(b1)), *x = copy(xcode, b2, sizeof(b2));
	char *t = copy(text, b3, sizeof(b3));
	int rc = smfi_setreply(ctx, c, x, t);

	release(c, b1);
	release(x, b2);
	release(t, b3);
	return rc;
}

static int
insheader(SMFICTX *ctx, int idx, const char *name, const char *value)
{
	char b1[128], b2[1024];
	char *n = copy(name, b1, sizeof(b1)), *v = copy(value, b2, sizeof(b2));
	int rc = (n && v) ? smfi_insheader(ctx, idx, n, v) : MI_FAILURE;

	release(n, b1);
	release(v, b2);
	return rc;
}

static int
chgheader(SMFICTX *ctx, const char *name, int idx, const char *value)
{
	char b1[128], b2[1024];
	char *n = copy(name, b1, sizeof(b1)), *v = copy(value, b2, sizeof(b2));
	int rc = n ? smfi_chgheader(ctx, n, idx, v) : MI_FAILURE;

	release(n, b1);
	release(v, b2);
	return rc;
}

static int
quarantine(SMFICTX *ctx, const char *reason)
{
	char b[1024], *r = copy(reason, b, sizeof(b));
	int rc = r ? smfi_quarantine(ctx, r) : MI_FAILURE;

	release(r, b);
	return rc;
}

static int
setsymlist(SMFICTX *ctx, int stage, const char *list)
{
	char b[512], *l = copy(list, b, sizeof(b));
	int rc = l ? smfi_setsymlist(ctx, stage, l) : MI_FAILURE;

	release(l, b);
	return rc;
}

static const struct tlspm_smfi real = {
	.getsymval = getsymval,
	.setreply = setreply,
	.insheader = insheader,
	.chgheader = chgheader,
	.quarantine = quarantine,
	.getpriv = smfi_getpriv,
	.setpriv = smfi_setpriv,
	.setsymlist = setsymlist,
};

const struct tlspm_smfi *tlspm_smfi = &real;
