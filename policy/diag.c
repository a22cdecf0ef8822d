/*
 * diag.c - errors and warnings as values.
 *
 * The loader reports every problem it finds in one pass, each with a
 * position, so a policy editor fixes a file in one round trip. A list is
 * capped (TLSP_DIAGS_MAX) so a hostile file cannot grow it without bound.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int
tlsp_diags_add(struct tlsp_diags *d, int is_warning, const char *file,
	       unsigned line, unsigned col, const char *fmt, ...)
{
	struct tlsp_diag *nv, *x;
	char msg[1024];
	va_list ap;

	if (!is_warning)
		d->errors++;
	if (d->count >= TLSP_DIAGS_MAX) {
		d->truncated = 1;
		return 0;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	nv = realloc(d->v, (d->count + 1) * sizeof(*nv));
	if (nv == NULL)
		return -1;
	d->v = nv;
	x = &d->v[d->count];
	memset(x, 0, sizeof(*x));
	x->file = file ? strdup(file) : NULL;
	x->msg = strdup(msg);
	if ((file && x->file == NULL) || x->msg == NULL) {
		free(x->file);
		free(x->msg);
		return -1;
	}
	x->line = line;
	x->col = col;
	x->is_warning = is_warning;
	d->count++;
	return 0;
}

void
tlsp_diags_free(struct tlsp_diags *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->count; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

char *
tlsp_diag_format(const struct tlsp_diag *x, char *buf, size_t bufsz)
{
	const char *w = x->is_warning ? "warning: " : "";

	if (bufsz == 0)
		return buf;
	if (x->file && x->line)
		snprintf(buf, bufsz, "%s:%u:%u: %s%s", x->file, x->line, x->col,
			 w, x->msg);
	else if (x->file)
		snprintf(buf, bufsz, "%s: %s%s", x->file, w, x->msg);
	else
		snprintf(buf, bufsz, "%s%s", w, x->msg);
	return buf;
}

/* Optimal string alignment distance, capped: keys are short. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[33][33];

	if (la > 32 || lb > 32)
		return (size_t)-1;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* Allow roughly one typo per three characters, at least one. */
static size_t
typo_limit(const char *word)
{
	size_t limit = strlen(word) / 3;

	if (limit < 1)
		limit = 1;
	if (limit > 3)
		limit = 3;
	return limit;
}

const char *
tlsp_diag_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1, i, limit = typo_limit(word);

	for (i = 0; i < n; i++) {
		size_t dist = edit_distance(word, cands[i]);

		if (dist <= limit && dist < bestd) {
			bestd = dist;
			best = cands[i];
		}
	}
	return best;
}

const char *
tlsp_diag_suggest_name(const char *word, const struct tlsp_name_code *tab)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1, limit = typo_limit(word);

	for (; tab->name != NULL; tab++) {
		size_t dist = edit_distance(word, tab->name);

		if (dist <= limit && dist < bestd) {
			bestd = dist;
			best = tab->name;
		}
	}
	return best;
}
