/*
 * cases.c - read a policy's test cases (tlspolicy-milter --test).
 *
 * A case file is a YAML list; each case is a mapping of facts (named as
 * the query mode's arguments, which the query mode checks) and `expect:`,
 * a mapping from each recipient to the verdict wanted. This file checks
 * the shape and the expectation words, every error with its position,
 * all in one pass; it keeps the strings and positions for the runner.
 * The file is read as a policy file is (regular, not blocking, capped).
 */
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "ytree.h"

/* The keys of one recipient's expectation. */
enum { EXP_ACTION, EXP_RULE, EXP_WOULD };
static const struct tlsp_name_code expect_keys[] = {
	{"action", EXP_ACTION},
	{"rule", EXP_RULE},
	{"would", EXP_WOULD},
	{NULL, -1},
};

struct reader {
	struct tlsp_cases *c;
	struct tlsp_diags *d;
	int bad;
};

/* An error at node y of the case file. */
#define ERR(r, y, ...)                                                         \
	((void)tlsp_diags_add((r)->d, 0, (r)->c->path, (y)->line, (y)->col,    \
			      __VA_ARGS__),                                    \
	 (r)->bad = 1)

static const char *
keep(struct reader *r, const struct tlsp_ynode *y)
{
	char *s = tlsp_arena_strndup(r->c->arena, y->str, y->len);

	if (s == NULL)
		r->bad = 1;
	return s;
}

/* An action word of the policy's vocabulary, with "did you mean". */
static int
action_word(struct reader *r, const struct tlsp_ynode *v, const char *key)
{
	const char *near;
	int code;

	if (v->type != TLSP_YNODE_SCALAR) {
		ERR(r, v, "'%s' expects an action, found %s", key,
		    tlsp_ytree_kind(v));
		return -1;
	}
	code = tlsp_name_code(tlsp_action_names, v->str);
	if (code >= 0)
		return code;
	near = tlsp_diag_suggest_name(v->str, tlsp_action_names);
	tlsp_diags_add(r->d, 0, r->c->path, v->line, v->col,
		       "'%s': unknown action '%.64s'%s%s%s (accept, tag, "
		       "quarantine, defer, reject)",
		       key, v->str, near ? "; did you mean '" : "",
		       near ? near : "", near ? "'?" : "");
	r->bad = 1;
	return -1;
}

/* One recipient's expectation: an action word, or a mapping of
 * action/rule/would. */
static void
read_expect(struct reader *r, const struct tlsp_ynode *k,
	    const struct tlsp_ynode *v, struct tlsp_case_expect *e)
{
	size_t i;
	int stated = 0;

	e->line = k->line;
	e->col = k->col;
	e->action = e->would = -1;
	if (k->type != TLSP_YNODE_SCALAR || k->len == 0) {
		ERR(r, k, "a recipient must be an address");
		return;
	}
	e->rcpt = keep(r, k);
	if (v->type == TLSP_YNODE_SCALAR) {
		e->action = action_word(r, v, "action");
		return;
	}
	if (v->type != TLSP_YNODE_MAP) {
		ERR(r, v,
		    "expected an action or a mapping of action, rule "
		    "and would, found %s",
		    tlsp_ytree_kind(v));
		return;
	}
	for (i = 0; i < v->n; i++) {
		const struct tlsp_ynode *ek = v->kids[2 * i],
					*ev = v->kids[2 * i + 1];
		const char *near;
		int which = ek->type == TLSP_YNODE_SCALAR
				    ? tlsp_name_code(expect_keys, ek->str)
				    : -1;

		if (which == EXP_ACTION || which == EXP_WOULD) {
			int *slot = which == EXP_ACTION ? &e->action
							: &e->would;

			*slot = action_word(r, ev, ek->str);
			stated = 1;
		} else if (which == EXP_RULE) {
			stated = 1;
			if (ev->type != TLSP_YNODE_SCALAR || ev->len == 0)
				ERR(r, ev,
				    "'rule' expects a rule name "
				    "(recipient:example.com) or none, "
				    "found %s",
				    tlsp_ytree_kind(ev));
			else
				e->rule = keep(r, ev);
		} else {
			near = ek->type == TLSP_YNODE_SCALAR
				       ? tlsp_diag_suggest_name(ek->str,
								expect_keys)
				       : NULL;
			tlsp_diags_add(r->d, 0, r->c->path, ek->line, ek->col,
				       "unknown key '%.64s' in an expectation "
				       "(action, rule, would)%s%s%s",
				       ek->type == TLSP_YNODE_SCALAR ? ek->str
								     : "?",
				       near ? "; did you mean '" : "",
				       near ? near : "", near ? "'?" : "");
			r->bad = 1;
		}
	}
	if (!stated)
		ERR(r, v,
		    "an expectation states at least one of action, "
		    "rule and would");
}

static void
read_expects(struct reader *r, const struct tlsp_ynode *v, struct tlsp_case *c)
{
	size_t i;

	if (v->type != TLSP_YNODE_MAP || v->n == 0) {
		ERR(r, v,
		    "'expect' expects a mapping of recipients to "
		    "verdicts, found %s",
		    v->type == TLSP_YNODE_MAP ? "an empty mapping"
					      : tlsp_ytree_kind(v));
		return;
	}
	if (v->n > TLSP_CASE_MAX_RCPT) {
		tlsp_diags_add(r->d, 0, r->c->path, v->line, v->col,
			       "more than %d recipients in one case",
			       TLSP_CASE_MAX_RCPT);
		r->bad = 1;
		return;
	}
	c->expect = tlsp_arena_alloc(r->c->arena, v->n * sizeof(*c->expect));
	if (c->expect == NULL) {
		r->bad = 1;
		return;
	}
	for (i = 0; i < v->n; i++)
		read_expect(r, v->kids[2 * i], v->kids[2 * i + 1],
			    &c->expect[c->nexpect++]);
}

/* One case: name, expect, and facts for the query mode to check. */
static void
read_case(struct reader *r, const struct tlsp_ynode *y, struct tlsp_case *c)
{
	const struct tlsp_ynode *exp = NULL;
	size_t i;

	c->line = y->line;
	c->col = y->col;
	if (y->type != TLSP_YNODE_MAP) {
		ERR(r, y,
		    "a case is a mapping of facts and 'expect', "
		    "found %s",
		    tlsp_ytree_kind(y));
		return;
	}
	c->facts = tlsp_arena_alloc(r->c->arena,
				    (y->n ? y->n : 1) * sizeof(*c->facts));
	if (c->facts == NULL) {
		r->bad = 1;
		return;
	}
	for (i = 0; i < y->n; i++) {
		const struct tlsp_ynode *k = y->kids[2 * i],
					*v = y->kids[2 * i + 1];
		struct tlsp_case_fact *f;

		if (k->type != TLSP_YNODE_SCALAR) {
			ERR(r, k, "a key must be a string");
			continue;
		}
		if (strcmp(k->str, "expect") == 0) {
			exp = v;
			continue;
		}
		if (v->type != TLSP_YNODE_SCALAR) {
			ERR(r, v, "'%s' expects a string, found %s", k->str,
			    tlsp_ytree_kind(v));
			continue;
		}
		if (strcmp(k->str, "name") == 0) {
			c->name = keep(r, v);
			continue;
		}
		f = &c->facts[c->nfacts++];
		f->key = keep(r, k);
		f->value = keep(r, v);
		f->line = k->line;
		f->col = k->col;
		f->vline = v->line;
		f->vcol = v->col;
	}
	if (exp == NULL)
		ERR(r, y,
		    "a case needs 'expect': the verdict for each "
		    "recipient");
	else
		read_expects(r, exp, c);
}

struct tlsp_cases *
tlsp_cases_load(const char *path, struct tlsp_diags *diags)
{
	struct tlsp_arena *tree = tlsp_arena_new();
	struct tlsp_cases *c = calloc(1, sizeof(*c));
	struct reader r = {c, diags, 0};
	const struct tlsp_ynode *root;
	size_t len = 0, i;
	char *buf = NULL;

	if (c == NULL || tree == NULL ||
	    (c->arena = tlsp_arena_new()) == NULL ||
	    (c->path = tlsp_arena_strndup(c->arena, path, strlen(path))) ==
		    NULL) {
		tlsp_diags_add(diags, 0, path, 0, 0, "out of memory");
		goto fail;
	}
	buf = tlsp_policy_read_file(path, &len, NULL, diags);
	if (buf == NULL)
		goto fail;
	root = tlsp_ytree_parse(tree, c->path, buf, len, diags);
	if (root == NULL)
		goto fail;
	if (root->type != TLSP_YNODE_SEQ || root->n == 0) {
		ERR(&r, root, "expected a list of cases, found %s",
		    root->type == TLSP_YNODE_SEQ ? "an empty list"
						 : tlsp_ytree_kind(root));
		goto fail;
	}
	c->v = tlsp_arena_alloc(c->arena, root->n * sizeof(*c->v));
	if (c->v == NULL)
		goto fail;
	for (i = 0; i < root->n && !diags->truncated; i++)
		read_case(&r, root->kids[i], &c->v[c->n++]);
	if (r.bad)
		goto fail;
	free(buf);
	tlsp_arena_free(tree);
	return c;
fail:
	if (diags->errors == 0)
		tlsp_diags_add(diags, 0, path, 0, 0, "out of memory");
	free(buf);
	tlsp_arena_free(tree);
	tlsp_cases_free(c);
	return NULL;
}

void
tlsp_cases_free(struct tlsp_cases *c)
{
	if (c == NULL)
		return;
	tlsp_arena_free(c->arena);
	free(c);
}
