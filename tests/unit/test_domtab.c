/*
 * test_domtab.c - unit tests for the domain table (policy/domtab.c) and for
 * the way a policy finds the rule for an envelope domain through it.
 *
 * The table is tested directly with stand-in rules: exact and subdomain
 * slots, growth, length-limited keys and the precedence of a match. Then
 * the same precedence is tested end to end: real YAML loaded through
 * tlsp_policy_load_buffer(), a plaintext session, and rules that all say
 * `tls: required`, so every rule that applies fails and the verdict names
 * exactly the rules the lookup chose. Duplicate patterns must be refused
 * with the position of the second one, and a 100,000-domain policy must
 * load, answer sampled lookups exactly and stay within the memory budget.
 *
 * Every table row states one behaviour and its exact outcome. A test runs
 * all rows of its table, prints each row that disagrees with its name and
 * what differed, and fails at the end if any did.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "tlspolicy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *
str_or_none(const char *s)
{
	return s != NULL ? s : "(none)";
}

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* ------------------------------------------------- the table directly */

#define MAX_PATS 6

/*
 * A table built from patterns: "name" fills the exact slot of "name",
 * ".name" the subdomain slot. Each pattern gets a stand-in rule whose
 * `pattern` is the pattern itself, so a match is reported by pattern.
 */
struct pat_table {
	struct tlsp_domtab tab;
	struct tlsp_rule rules[MAX_PATS];
};

static int
pat_table_build(struct pat_table *pt, const char *const *pats)
{
	size_t i;

	memset(pt, 0, sizeof(*pt));
	if (tlsp_domtab_init(&pt->tab, 16) < 0)
		return -1;
	for (i = 0; i < MAX_PATS && pats[i] != NULL; i++) {
		int sub = pats[i][0] == '.';
		struct tlsp_domtab_entry *e;
		const struct tlsp_rule **slot;

		pt->rules[i].pattern = pats[i];
		e = tlsp_domtab_upsert(&pt->tab, sub ? pats[i] + 1 : pats[i]);
		if (e == NULL)
			return -1;
		slot = sub ? &e->sub : &e->exact;
		if (*slot != NULL)
			return -1; /* a row that states a pattern twice */
		*slot = &pt->rules[i];
	}
	return 0;
}

struct match_case {
	const char *name;
	const char *pats[MAX_PATS]; /* NULL-terminated */
	const char *query;
	const char *want; /* pattern of the rule found; NULL: none */
};

/* "a.a. ... .a": 127 one-letter labels, 253 octets, the deepest name
 * DNS allows. DEEP + 1 is ".a. ... .a", the subdomain pattern of its
 * 126-label parent; DEEP + 2 is that parent. */
/* A longer name with the same 32-bit FNV-1a hash as "example.com" (found
 * offline by meeting in the middle: the hash step is invertible), so a
 * lookup of "example.com" probes its entry and only the length can tell
 * them apart. */
#define COLLIDES "example.com.fjzqcqct"

#define DEEP_LABELS 127
static char deep[2 * DEEP_LABELS];

static void
deep_init(void)
{
	size_t i;

	for (i = 0; i < DEEP_LABELS; i++) {
		deep[2 * i] = 'a';
		deep[2 * i + 1] = '.';
	}
	deep[2 * DEEP_LABELS - 1] = '\0';
}

static void
test_domtab_match(void **state)
{
	const struct match_case cases[] = {
		/* exact and subdomain slots */
		{"exact rule, its name",
		 {"example.com"},
		 "example.com",
		 "example.com"},
		{"exact rule, a child", {"example.com"}, "a.example.com", NULL},
		{"sub rule does not match its own name",
		 {".example.com"},
		 "example.com",
		 NULL},
		{"sub rule, a child",
		 {".example.com"},
		 "a.example.com",
		 ".example.com"},
		{"sub rule, a grandchild",
		 {".example.com"},
		 "x.y.example.com",
		 ".example.com"},
		{"both slots, the name takes exact",
		 {"example.com", ".example.com"},
		 "example.com",
		 "example.com"},
		{"both slots, a child takes sub",
		 {"example.com", ".example.com"},
		 "a.example.com",
		 ".example.com"},

		/* precedence */
		{"exact beats the parent's sub rule",
		 {".example.com", "a.example.com"},
		 "a.example.com",
		 "a.example.com"},
		{"longest parent wins",
		 {".example.com", ".b.example.com"},
		 "a.b.example.com",
		 ".b.example.com"},
		{"longest parent wins, inserted first",
		 {".b.example.com", ".example.com"},
		 "a.b.example.com",
		 ".b.example.com"},
		{"own sub rule skipped for the parent's",
		 {".b.example.com", ".example.com"},
		 "b.example.com",
		 ".example.com"},
		{"exact-only entry on the walk is passed",
		 {"b.example.com", ".example.com"},
		 "a.b.example.com",
		 ".example.com"},
		{"top-level sub rule", {".com"}, "a.b.example.com", ".com"},
		{"top-level exact rule is not a parent",
		 {"com"},
		 "example.com",
		 NULL},
		{"parents split at dots only",
		 {".ample.com", "ample.com"},
		 "example.com",
		 NULL},
		{"a child's rule is not the parent's",
		 {"a.example.com", ".a.example.com"},
		 "example.com",
		 NULL},

		/* a longer key with the same hash */
		{"colliding longer key, its prefix",
		 {COLLIDES},
		 "example.com",
		 NULL},
		{"colliding longer sub rule, prefix's child",
		 {"." COLLIDES},
		 "mx.example.com",
		 NULL},
		{"colliding longer key, itself",
		 {COLLIDES},
		 COLLIDES,
		 COLLIDES},
		{"colliding keys side by side",
		 {COLLIDES, ".example.com"},
		 "mx.example.com",
		 ".example.com"},

		/* names with no dots */
		{"no dots, exact", {"localhost"}, "localhost", "localhost"},
		{"no dots, own sub rule", {".localhost"}, "localhost", NULL},
		{"no dots, miss", {"com", ".com"}, "localhost", NULL},
		{"child of a dotless name",
		 {".localhost"},
		 "mx.localhost",
		 ".localhost"},

		/* deep names */
		{"127 labels, exact", {deep}, deep, deep},
		{"127 labels, immediate parent",
		 {".a", deep + 1},
		 deep,
		 deep + 1},
		{"127 labels, longest of several",
		 {".a", ".a.a.a"},
		 deep,
		 ".a.a.a"},
		{"127 labels, top-level sub rule", {".a"}, deep, ".a"},
		{"127 labels, miss", {"a", ".b", deep + 2}, deep, NULL},
		{"126-label parent's own sub rule", {deep + 1}, deep + 2, NULL},

		/* empty table */
		{"empty table", {NULL}, "example.com", NULL},
		{"empty table, no dots", {NULL}, "localhost", NULL},
		{"empty table, empty name", {NULL}, "", NULL},
	};
	struct pat_table pt;
	size_t i;
	int bad = 0;

	(void)state;
	deep_init();
	for (i = 0; i < NELEM(cases); i++) {
		const struct match_case *c = &cases[i];
		const struct tlsp_rule *r;

		if (pat_table_build(&pt, c->pats) < 0) {
			print_error("%s: table not built\n", c->name);
			bad++;
			tlsp_domtab_free(&pt.tab);
			continue;
		}
		r = tlsp_domtab_match(&pt.tab, c->query);
		if (!same_str(r != NULL ? r->pattern : NULL, c->want)) {
			print_error("%s: want %s, got %s\n", c->name,
				    str_or_none(c->want),
				    str_or_none(r != NULL ? r->pattern : NULL));
			bad++;
		}
		tlsp_domtab_free(&pt.tab);
	}
	if (bad)
		fail_msg("%d of %zu match rows failed", bad, NELEM(cases));
}

struct get_case {
	const char *name;
	const char *text; /* copied, without its NUL, into an exact buffer */
	size_t off, len;  /* the view of text that is looked up */
	const char *want; /* key of the entry found; NULL: none */
};

static void
test_domtab_get(void **state)
{
	static const char *const keys[] = {"example.com", "a.example.com",
					   "com", "localhost"};
	static const struct get_case cases[] = {
		{"whole key", "example.com", 0, 11, "example.com"},
		{"prefix of a longer text", "example.comXYZ", 0, 11,
		 "example.com"},
		{"prefix up to a dot", "example.com.au", 0, 11, "example.com"},
		{"parent view of a name", "a.example.com", 2, 11,
		 "example.com"},
		{"top-level view of a name", "a.example.com", 10, 3, "com"},
		{"middle view", "xx.a.example.com.yy", 3, 13, "a.example.com"},
		{"dotless key", "localhost.", 0, 9, "localhost"},
		{"a key's prefix is not the key", "example.com", 0, 10, NULL},
		{"one octet past the key", "example.comm", 0, 12, NULL},
		{"suffix of a key is not the key", "example.com", 1, 10, NULL},
		{"case is not folded", "EXAMPLE.COM", 0, 11, NULL},
		{"zero length", "example.com", 0, 0, NULL},
		{"absent key", "example.org", 0, 11, NULL},
	};
	struct tlsp_domtab t;
	size_t i;
	int bad = 0;

	(void)state;
	assert_int_equal(tlsp_domtab_init(&t, 16), 0);
	for (i = 0; i < NELEM(keys); i++)
		assert_non_null(tlsp_domtab_upsert(&t, keys[i]));
	for (i = 0; i < NELEM(cases); i++) {
		const struct get_case *c = &cases[i];
		const struct tlsp_domtab_entry *e;
		char *view;

		/* No NUL after the view: ASan catches a read past it. */
		view = malloc(c->len > 0 ? c->len : 1);
		assert_non_null(view);
		memcpy(view, c->text + c->off, c->len);
		e = tlsp_domtab_get(&t, view, c->len);
		if (!same_str(e != NULL ? e->key : NULL, c->want)) {
			print_error("%s: want %s, got %s\n", c->name,
				    str_or_none(c->want),
				    str_or_none(e != NULL ? e->key : NULL));
			bad++;
		}
		free(view);
	}
	tlsp_domtab_free(&t);
	if (bad)
		fail_msg("%d of %zu get rows failed", bad, NELEM(cases));
}

/* A zeroed table (never initialised, or freed) answers every lookup. */
static void
test_domtab_zeroed(void **state)
{
	struct tlsp_domtab t;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_null(tlsp_domtab_get(&t, "example.com", 11));
	assert_null(tlsp_domtab_match(&t, "a.example.com"));
	assert_int_equal(tlsp_domtab_init(&t, 0), 0);
	assert_null(tlsp_domtab_match(&t, "a.example.com"));
	tlsp_domtab_free(&t);
	assert_null(t.slots);
	assert_null(tlsp_domtab_get(&t, "example.com", 11));
	assert_null(tlsp_domtab_match(&t, "example.com"));
}

#define GROW_KEYS 10000
#define GROW_KEYLEN 16 /* "k00000.example" and its NUL */

static void
test_domtab_growth(void **state)
{
	struct tlsp_domtab t;
	struct tlsp_rule *rules;
	char *keys, name[64];
	size_t i, cap0, cap;
	int bad = 0;

	(void)state;
	keys = malloc(GROW_KEYS * GROW_KEYLEN);
	rules = calloc(GROW_KEYS, sizeof(*rules));
	assert_non_null(keys);
	assert_non_null(rules);
	assert_int_equal(tlsp_domtab_init(&t, 16), 0);
	cap0 = t.mask + 1;
	assert_true(cap0 >= 32 && cap0 < GROW_KEYS);

	for (i = 0; i < GROW_KEYS; i++) {
		char *k = keys + i * GROW_KEYLEN;
		struct tlsp_domtab_entry *e;

		snprintf(k, GROW_KEYLEN, "k%05zu.example", i);
		e = tlsp_domtab_upsert(&t, k);
		assert_non_null(e);
		assert_ptr_equal(e->key, k);
		assert_null(e->exact);
		assert_null(e->sub);
		e->exact = &rules[i];
		if (i % 3 == 0)
			e->sub = &rules[i];
		rules[i].pattern = k;
	}
	cap = t.mask + 1;
	assert_int_equal(t.used, GROW_KEYS);
	assert_true(cap > cap0);
	assert_int_equal(cap & (cap - 1), 0);
	assert_true(t.used * 2 <= cap); /* load factor at most one half */

	/* Every entry survived the moves, under its own key and rules. */
	for (i = 0; i < GROW_KEYS; i++) {
		const char *k = keys + i * GROW_KEYLEN;
		const struct tlsp_domtab_entry *e;
		const struct tlsp_rule *r;

		e = tlsp_domtab_get(&t, k, strlen(k));
		if (e == NULL || e->key != k || e->exact != &rules[i] ||
		    e->sub != (i % 3 == 0 ? &rules[i] : NULL)) {
			if (bad++ < 10)
				print_error("key %s: entry lost or mixed up\n",
					    k);
			continue;
		}
		snprintf(name, sizeof(name), "mx.%s", k);
		r = tlsp_domtab_match(&t, name);
		if (r != (i % 3 == 0 ? &rules[i] : NULL)) {
			if (bad++ < 10)
				print_error("%s: wrong subdomain match\n",
					    name);
		}
	}
	/* Upserting a present key finds it, with a different pointer to the
	 * same text, and adds nothing. */
	for (i = 0; i < GROW_KEYS; i += 97) {
		char copy[GROW_KEYLEN];
		const struct tlsp_domtab_entry *e;

		memcpy(copy, keys + i * GROW_KEYLEN, GROW_KEYLEN);
		e = tlsp_domtab_get(&t, copy, strlen(copy));
		if (tlsp_domtab_upsert(&t, copy) != e || e == NULL ||
		    e->key != keys + i * GROW_KEYLEN) {
			if (bad++ < 10)
				print_error("key %s: upsert did not find it\n",
					    copy);
		}
	}
	assert_int_equal(t.used, GROW_KEYS);
	assert_int_equal(t.mask + 1, cap);
	assert_null(tlsp_domtab_get(&t, "k10000.example", 14));
	assert_null(tlsp_domtab_match(&t, "k10000.example"));
	assert_null(tlsp_domtab_match(&t, "example"));

	tlsp_domtab_free(&t);
	free(rules);
	free(keys);
	if (bad)
		fail_msg("%d growth checks failed", bad);
}

/* ---------------------------------------- precedence through the loader */

static struct tlsp_policy *
load(const char *name, const char *yaml, struct tlsp_diags *d)
{
	memset(d, 0, sizeof(*d));
	return tlsp_policy_load_buffer(name, yaml, strlen(yaml),
				       TLSP_MTA_UNKNOWN, d);
}

static void
print_diags(const char *row, const struct tlsp_diags *d)
{
	char buf[1024];
	size_t i;

	for (i = 0; i < d->count; i++)
		print_error("%s: %s\n", row,
			    tlsp_diag_format(&d->v[i], buf, sizeof(buf)));
}

static void
plaintext_facts(struct tlsp_facts *f)
{
	struct tlsp_macros m;

	memset(&m, 0, sizeof(m));
	tlsp_facts_from_macros(&m, f);
}

/* Every rule fails a plaintext session with the default action, reject. */
#define RULE(pat) "  " pat ": {tls: required}\n"
#define RCPTS "recipients:\n"
#define SNDRS "senders:\n"

#define P_PREC                                                                 \
	RCPTS RULE("example.com") RULE(".example.com")                         \
		RULE("'*.b.example.com'") RULE("default")
#define P_SPREC                                                                \
	SNDRS RULE("example.com") RULE(".example.com")                         \
		RULE("'*.b.example.com'") RULE("default")                      \
			RCPTS RULE("default")
#define P_CASE RCPTS RULE("EXAMPLE.com") RULE(".EXAMPLE.ORG") RULE("default")
#define P_DOT RCPTS RULE("example.com.") RULE(".example.org.") RULE("default")
#define P_IDN_U                                                                \
	RCPTS RULE("b\xc3\xbc"                                                 \
		   "cher.example") RULE(".b\xc3\xbc"                           \
					"cher.example") RULE("default")
#define P_IDN_A RCPTS RULE("xn--bcher-kva.example") RULE("default")
#define P_LIT                                                                  \
	RCPTS RULE("'[192.0.2.1]'") RULE("'[IPv6:2001:DB8::1]'")               \
		RULE(".0.2.1") RULE(".1") RULE("default")
#define P_COLLIDE RCPTS RULE(COLLIDES) RULE("." COLLIDES) RULE("default")
#define P_LIT_ONLY RCPTS RULE("'[192.0.2.1]'") RULE("default")
#define P_NULL_NONE                                                            \
	SNDRS RULE("default") RULE("partner.example") RCPTS RULE("default")
#define P_NULL_SDEF SNDRS RULE("default")
#define P_NULL_RULE                                                            \
	SNDRS RULE("'<>'") RULE("default") RCPTS RULE("default")               \
		RULE("example.com")
#define P_ENV                                                                  \
	SNDRS RULE("example.com") RULE("evil.example") RULE("default")         \
		RCPTS RULE("example.com") RULE("evil.example")                 \
			RULE("relay.example") RULE("default")

/* Deep names as string literals: D126 is "a." 126 times, so D126 "a" has 127
 * labels and 253 octets, the most a name may have; one more is too many. */
#define D1 "a."
#define D2 D1 D1
#define D4 D2 D2
#define D8 D4 D4
#define D16 D8 D8
#define D32 D16 D16
#define D64 D32 D32
#define D125 D64 D32 D16 D8 D4 D1
#define D126 D64 D32 D16 D8 D4 D2
#define P_DEEP                                                                 \
	RCPTS RULE(D126 "a") RULE("." D125 "a") RULE(".a") RULE("default")

#define S_BAD TLSP_V_SENDER_UNPARSABLE
#define R_BAD TLSP_V_RCPT_UNPARSABLE

struct lookup_case {
	const char *name;
	const char *policy;		/* after "version: 1\n" */
	const char *sender, *recipient; /* NULL: not given */
	const char *want; /* rules evaluated, in order, ", "-separated */
	unsigned flags;	  /* TLSP_V_* */
};

static const struct lookup_case lookup_cases[] = {
	/* exact, .sub, *.sub, default */
	{"exact name", P_PREC, NULL, "u@example.com", "recipient:example.com",
	 0},
	{".sub, a child", P_PREC, NULL, "u@a.example.com",
	 "recipient:.example.com", 0},
	{".sub, a grandchild", P_PREC, NULL, "u@x.a.example.com",
	 "recipient:.example.com", 0},
	{"*.sub does not match its own name", P_PREC, NULL, "u@b.example.com",
	 "recipient:.example.com", 0},
	{"*.sub, a child", P_PREC, NULL, "u@c.b.example.com",
	 "recipient:.b.example.com", 0},
	{"*.sub, a grandchild", P_PREC, NULL, "u@d.c.b.example.com",
	 "recipient:.b.example.com", 0},
	{"unrelated domain takes default", P_PREC, NULL, "u@example.org",
	 "recipient:default", 0},
	{"no label boundary takes default", P_PREC, NULL, "u@notexample.com",
	 "recipient:default", 0},
	{"parent of the rules takes default", P_PREC, NULL, "u@com",
	 "recipient:default", 0},
	{"rule name inside a longer name", P_PREC, NULL, "u@example.com.evil",
	 "recipient:default", 0},
	{"sender exact", P_SPREC, "a@example.com", "u@x.example",
	 "sender:example.com", 0},
	{"sender .sub", P_SPREC, "a@b.example.com", "u@x.example",
	 "sender:.example.com", 0},
	{"sender *.sub", P_SPREC, "a@c.b.example.com", "u@x.example",
	 "sender:.b.example.com", 0},
	{"sender miss takes both defaults", P_SPREC, "a@example.org",
	 "u@x.example", "sender:default, recipient:default", 0},

	/* a longer rule with the same hash as the name looked up */
	{"hash-colliding longer rule, prefix name", P_COLLIDE, NULL,
	 "u@example.com", "recipient:default", 0},
	{"hash-colliding longer sub rule, prefix's child", P_COLLIDE, NULL,
	 "u@mx.example.com", "recipient:default", 0},
	{"hash-colliding rule, its own name", P_COLLIDE, NULL, "u@" COLLIDES,
	 "recipient:" COLLIDES, 0},

	/* deep names */
	{"127 labels, exact rule", P_DEEP, NULL, "u@" D126 "a",
	 "recipient:" D126 "a", 0},
	{"127 labels, 126-label parent's sub rule", P_DEEP, NULL,
	 "u@b." D125 "a", "recipient:." D125 "a", 0},
	{"127 labels, top-level sub rule", P_DEEP, NULL,
	 "u@b.b." D64 D32 D16 D8 D4 "a", "recipient:.a", 0},
	{"128 labels is unparsable", P_DEEP, NULL, "u@b." D126 "a",
	 "recipient:default", R_BAD},

	/* case and trailing dots */
	{"rule and address case folded", P_CASE, NULL, "user@Example.COM.",
	 "recipient:example.com", 0},
	{"uppercase address", P_CASE, NULL, "USER@EXAMPLE.COM",
	 "recipient:example.com", 0},
	{"uppercase sub rule", P_CASE, NULL, "u@MX.Example.Org",
	 "recipient:.example.org", 0},
	{"trailing-dot rule, plain address", P_DOT, NULL, "u@example.com",
	 "recipient:example.com", 0},
	{"trailing-dot rule, trailing-dot address", P_DOT, NULL,
	 "u@example.com.", "recipient:example.com", 0},
	{"trailing-dot sub rule", P_DOT, NULL, "u@mx.example.org.",
	 "recipient:.example.org", 0},
	{"trailing-dot sub rule, own name", P_DOT, NULL, "u@example.org.",
	 "recipient:default", 0},

	/* internationalised names */
	{"U-label rule, A-label address", P_IDN_U, NULL,
	 "u@xn--bcher-kva.example", "recipient:xn--bcher-kva.example", 0},
	{"U-label rule, U-label address", P_IDN_U, NULL,
	 "u@b\xc3\xbc"
	 "cher.example",
	 "recipient:xn--bcher-kva.example", 0},
	{"U-label rule, uppercase U-label address", P_IDN_U, NULL,
	 "u@B\xc3\x9c"
	 "CHER.example",
	 "recipient:xn--bcher-kva.example", 0},
	{"U-label sub rule, A-label child", P_IDN_U, NULL,
	 "u@mx.xn--bcher-kva.example", "recipient:.xn--bcher-kva.example", 0},
	{"A-label rule, U-label address", P_IDN_A, NULL,
	 "u@b\xc3\xbc"
	 "cher.example",
	 "recipient:xn--bcher-kva.example", 0},
	{"A-label rule, uppercase A-label address", P_IDN_A, NULL,
	 "u@XN--BCHER-KVA.EXAMPLE", "recipient:xn--bcher-kva.example", 0},
	{"A-label rule, other name", P_IDN_A, NULL, "u@bucher.example",
	 "recipient:default", 0},

	/* address literals */
	{"IPv4 literal", P_LIT, NULL, "u@[192.0.2.1]", "recipient:[192.0.2.1]",
	 0},
	{"IPv4 literal, leading zeros", P_LIT, NULL, "u@[192.000.002.001]",
	 "recipient:[192.0.2.1]", 0},
	{"other IPv4 literal takes default", P_LIT_ONLY, NULL, "u@[192.0.2.2]",
	 "recipient:default", 0},
	{"literal never takes a sub rule", P_LIT, NULL, "u@[10.0.2.1]",
	 "recipient:default", 0},
	{"unlisted literal with sub rules takes default", P_LIT, NULL,
	 "u@[192.0.2.2]", "recipient:default", 0},
	{"IPv6 literal, other spelling", P_LIT, NULL,
	 "u@[ipv6:2001:db8:0:0::1]", "recipient:[ipv6:2001:db8::1]", 0},
	{"dotted quad without brackets is not the literal", P_LIT_ONLY, NULL,
	 "u@192.0.2.1", "recipient:default", 0},

	/* the null sender */
	{"null sender, no <> rule: sender default skipped", P_NULL_NONE, "<>",
	 "u@example.com", "recipient:default", 0},
	{"empty sender is the null sender", P_NULL_NONE, "", "u@example.com",
	 "recipient:default", 0},
	{"ordinary sender takes the sender default", P_NULL_NONE,
	 "a@other.example", "u@example.com",
	 "sender:default, recipient:default", 0},
	{"null sender, only a sender default: no rule", P_NULL_SDEF, "<>",
	 "u@example.com", "", TLSP_V_NO_RULE},
	{"null sender with a <> rule", P_NULL_RULE, "<>", "u@example.org",
	 "sender:<>", 0},
	{"<> rule and a specific recipient", P_NULL_RULE, "<>", "u@example.com",
	 "sender:<>, recipient:example.com", 0},
	{"ordinary sender beside a <> rule", P_NULL_RULE, "a@example.org",
	 "u@example.org", "sender:default, recipient:default", 0},
	{"recipient <> is unparsable", P_NULL_RULE, "a@example.org", "<>",
	 "sender:default, recipient:default", R_BAD},

	/* local parts and source routes */
	{"quoted @ in the recipient's local part", P_ENV, NULL,
	 "\"a@evil.example\"@example.com", "recipient:example.com", 0},
	{"quoted @ in the sender's local part", P_ENV,
	 "\"a@evil.example\"@example.com", "u@other.example",
	 "sender:example.com", 0},
	{"escaped @ outside quotes is local", P_ENV, NULL, "a\\@evil.example",
	 "recipient:default", R_BAD},
	{"source route dropped", P_ENV, NULL, "<@relay.example:u@example.com>",
	 "recipient:example.com", 0},
	{"two-hop source route dropped", P_ENV, NULL,
	 "<@relay.example,@evil.example:u@example.com>",
	 "recipient:example.com", 0},
	{"sender source route dropped", P_ENV, "<@evil.example:a@example.com>",
	 "u@other.example", "sender:example.com", 0},

	/* unparsable addresses */
	{"unparsable sender takes defaults", P_ENV, "<a@example.com",
	 "u@other.example", "sender:default, recipient:default", S_BAD},
	{"unparsable recipient takes default", P_ENV, NULL, "u@example..com",
	 "recipient:default", R_BAD},
	{"local part only takes default", P_ENV, NULL, "postmaster",
	 "recipient:default", R_BAD},
	{"both unparsable", P_ENV, "a b@example.com", "u@",
	 "sender:default, recipient:default", S_BAD | R_BAD},
	{"bad literal beside a specific sender", P_ENV, "a@example.com",
	 "u@[300.1.1.1]", "sender:example.com", R_BAD},
	{"unparsable recipient, specific recipient lost", P_ENV, NULL,
	 "u@evil.example>", "recipient:default", R_BAD},
};

/* The names of the rules a verdict evaluated, ", "-separated. */
static void
verdict_rules(const struct tlsp_verdict *v, char *buf, size_t bufsz)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < v->nrules && len < bufsz; i++)
		len += (size_t)snprintf(buf + len, bufsz - len, "%s%s",
					i > 0 ? ", " : "",
					tlsp_rule_name(v->r[i].rule));
}

/* Returns 0 when the verdict is exactly what the row wants. With every
 * rule failing alike, the first rule evaluated decides. */
static int
check_lookup(const struct lookup_case *c, const struct tlsp_verdict *v)
{
	char got[1024], first[512];
	const char *comma = strstr(c->want, ", ");
	const char *want_decided = NULL;
	const char *decided = v->decided_by ? tlsp_rule_name(v->decided_by)
					    : NULL;
	enum tlsp_action want_action = TLSP_ACTION_ACCEPT;
	int rc = 0;

	if (c->want[0] != '\0') {
		snprintf(first, sizeof(first), "%.*s",
			 comma ? (int)(comma - c->want) : (int)strlen(c->want),
			 c->want);
		want_decided = first;
		want_action = TLSP_ACTION_REJECT;
	}
	verdict_rules(v, got, sizeof(got));
	if (strcmp(got, c->want) != 0) {
		print_error("%s: want rules \"%s\", got \"%s\"\n", c->name,
			    c->want, got);
		rc = -1;
	}
	if (!same_str(decided, want_decided) || v->action != want_action) {
		print_error("%s: want %s by %s, got %s by %s\n", c->name,
			    tlsp_action_name(want_action),
			    str_or_none(want_decided),
			    tlsp_action_name(v->action), str_or_none(decided));
		rc = -1;
	}
	if (v->flags != c->flags) {
		print_error("%s: want flags %#x, got %#x\n", c->name, c->flags,
			    v->flags);
		rc = -1;
	}
	return rc;
}

static void
test_lookup_precedence(void **state)
{
	struct tlsp_facts f;
	size_t i;
	int bad = 0;

	(void)state;
	plaintext_facts(&f);
	assert_int_equal(f.version, TLSP_VER_NONE);
	for (i = 0; i < NELEM(lookup_cases); i++) {
		const struct lookup_case *c = &lookup_cases[i];
		struct tlsp_diags d;
		struct tlsp_verdict v;
		struct tlsp_policy *p;
		char yaml[2048];

		snprintf(yaml, sizeof(yaml), "version: 1\n%s", c->policy);
		p = load("lookup.yaml", yaml, &d);
		if (p == NULL || d.count != 0) {
			print_error("%s: policy did not load cleanly\n",
				    c->name);
			print_diags(c->name, &d);
			bad++;
		} else {
			tlsp_evaluate(p, &f, c->sender, c->recipient,
				      time(NULL), &v);
			if (check_lookup(c, &v) < 0)
				bad++;
		}
		tlsp_policy_unref(p);
		tlsp_diags_free(&d);
	}
	if (bad)
		fail_msg("%d of %zu lookup rows failed", bad,
			 NELEM(lookup_cases));
}

/*
 * An address literal is looked up as itself and never walks up to a
 * parent. No YAML can file a subdomain rule under a literal's parent
 * (".2.1]" is not a domain), so the rule is planted in the table, under
 * every suffix the walk would probe and under the literal itself.
 */
static void
test_literal_ignores_sub_rules(void **state)
{
	static const char *const planted[] = {"[192.0.2.1]", "0.2.1]", "2.1]",
					      "1]"};
	const char *yaml = "version: 1\n" RCPTS RULE(".example.com")
		RULE("default");
	const struct tlsp_domtab_entry *got;
	const struct tlsp_rule *sub;
	struct tlsp_facts f;
	struct tlsp_verdict v;
	struct tlsp_diags d;
	struct tlsp_policy *p;
	size_t i;

	(void)state;
	plaintext_facts(&f);
	p = load("literal.yaml", yaml, &d);
	assert_non_null(p);
	got = tlsp_domtab_get(&p->recipients.tab, "example.com", 11);
	assert_non_null(got);
	sub = got->sub;
	assert_non_null(sub);
	for (i = 0; i < NELEM(planted); i++) {
		struct tlsp_domtab_entry *e;

		e = tlsp_domtab_upsert(&p->recipients.tab, planted[i]);
		assert_non_null(e);
		e->sub = sub;
	}
	tlsp_evaluate(p, &f, NULL, "u@[192.0.2.1]", time(NULL), &v);
	assert_int_equal(v.nrules, 1);
	assert_string_equal(tlsp_rule_name(v.r[0].rule), "recipient:default");
	tlsp_evaluate(p, &f, NULL, "u@a.example.com", time(NULL), &v);
	assert_int_equal(v.nrules, 1);
	assert_string_equal(tlsp_rule_name(v.r[0].rule),
			    "recipient:.example.com");
	tlsp_policy_unref(p);
	tlsp_diags_free(&d);
}

/* -------------------------------------------------- duplicate patterns */

#define SECOND_RULE(pat) "  " pat ": {tls: optional}\n"

struct dup_case {
	const char *name;
	const char *policy; /* after "version: 1\n"; the first rule is on
			       line 3, column 3 */
	const char *want;   /* the one error; NULL: loads */
	size_t rules;	    /* rules when it loads */
};

static const struct dup_case dup_cases[] = {
	{"case and trailing dot",
	 RCPTS RULE("example.com") SECOND_RULE("Example.COM."),
	 "dup.yaml:4:3: duplicate pattern 'example.com' (the same as line 3, "
	 "column 3)",
	 0},
	{".sub and *.sub",
	 RCPTS RULE(".example.com") SECOND_RULE("'*.example.com'"),
	 "dup.yaml:4:3: duplicate pattern '.example.com' (the same as line "
	 "3, column 3)",
	 0},
	{"*.sub and .sub, other spelling",
	 RCPTS RULE("'*.Example.com'") SECOND_RULE(".example.com."),
	 "dup.yaml:4:3: duplicate pattern '.example.com' (the same as line "
	 "3, column 3)",
	 0},
	{"U-label and A-label",
	 RCPTS RULE("b\xc3\xbc"
		    "cher.example") SECOND_RULE("xn--bcher-kva.example"),
	 "dup.yaml:4:3: duplicate pattern 'xn--bcher-kva.example' (the same "
	 "as line 3, column 3)",
	 0},
	{"A-label sub and uppercase U-label sub",
	 RCPTS RULE(".xn--bcher-kva.example") SECOND_RULE("'*.B\xc3\x9c"
							  "CHER.example'"),
	 "dup.yaml:4:3: duplicate pattern '.xn--bcher-kva.example' (the same "
	 "as line 3, column 3)",
	 0},
	{"IPv4 literal spellings",
	 RCPTS RULE("'[192.0.2.1]'") SECOND_RULE("'[192.000.002.001]'"),
	 "dup.yaml:4:3: duplicate pattern '[192.0.2.1]' (the same as line 3, "
	 "column 3)",
	 0},
	{"IPv6 literal spellings",
	 RCPTS RULE("'[IPv6:2001:db8::1]'")
		 SECOND_RULE("'[ipv6:2001:DB8:0::1]'"),
	 "dup.yaml:4:3: duplicate pattern '[ipv6:2001:db8::1]' (the same as "
	 "line 3, column 3)",
	 0},
	{"a rule between the two",
	 RCPTS RULE("example.com") RULE("other.example")
		 SECOND_RULE("EXAMPLE.COM"),
	 "dup.yaml:5:3: duplicate pattern 'example.com' (the same as line 3, "
	 "column 3)",
	 0},
	{"sender duplicates",
	 SNDRS RULE("example.com") SECOND_RULE("example.com."),
	 "dup.yaml:4:3: duplicate pattern 'example.com' (the same as line 3, "
	 "column 3)",
	 0},
	{"position in a flow mapping",
	 "recipients: {example.com: {tls: required}, EXAMPLE.com: {}}\n",
	 "dup.yaml:2:44: duplicate pattern 'example.com' (the same as line 2, "
	 "column 14)",
	 0},
	{"two defaults", RCPTS RULE("default") SECOND_RULE("default"),
	 "dup.yaml:4:3: duplicate key 'default' (first at line 3)", 0},
	{"two null-sender rules", SNDRS RULE("'<>'") SECOND_RULE("\"<>\""),
	 "dup.yaml:4:3: duplicate key '<>' (first at line 3)", 0},

	/* not duplicates */
	{"exact and .sub of one name",
	 RCPTS RULE("example.com") SECOND_RULE(".example.com"), NULL, 2},
	{"exact and *.sub of one name",
	 RCPTS RULE("Example.com") SECOND_RULE("'*.example.com'"), NULL, 2},
	{"a name and its parent's sub rule",
	 RCPTS RULE("a.example.com") SECOND_RULE(".example.com"), NULL, 2},
	{"one pattern as sender and recipient",
	 SNDRS RULE("example.com") RCPTS SECOND_RULE("example.com"), NULL, 2},
	{"names with the same hash",
	 RCPTS RULE("example.com") SECOND_RULE(COLLIDES), NULL, 2},
	{"default beside a domain named like it",
	 RCPTS RULE("default") SECOND_RULE("default.example"), NULL, 2},
};

static int
check_dup(const struct dup_case *c, struct tlsp_policy *p,
	  const struct tlsp_diags *d)
{
	char got[1024];

	if (c->want == NULL) {
		if (p == NULL || d->count != 0 ||
		    tlsp_policy_rule_count(p) != c->rules) {
			print_error("%s: want a clean load with %zu rules, got "
				    "%zu\n",
				    c->name, c->rules,
				    p ? tlsp_policy_rule_count(p) : 0);
			print_diags(c->name, d);
			return -1;
		}
		return 0;
	}
	if (p != NULL || d->count != 1 || d->errors != 1) {
		print_error("%s: want one error, got a policy %s and %zu "
			    "diagnostics\n",
			    c->name, p ? "loaded" : "refused", d->count);
		print_diags(c->name, d);
		return -1;
	}
	tlsp_diag_format(&d->v[0], got, sizeof(got));
	if (strcmp(got, c->want) != 0) {
		print_error("%s: want \"%s\", got \"%s\"\n", c->name, c->want,
			    got);
		return -1;
	}
	return 0;
}

static void
test_duplicate_patterns(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < NELEM(dup_cases); i++) {
		const struct dup_case *c = &dup_cases[i];
		struct tlsp_diags d;
		struct tlsp_policy *p;
		char yaml[1024];

		snprintf(yaml, sizeof(yaml), "version: 1\n%s", c->policy);
		p = load("dup.yaml", yaml, &d);
		if (check_dup(c, p, &d) < 0)
			bad++;
		tlsp_policy_unref(p);
		tlsp_diags_free(&d);
	}
	if (bad)
		fail_msg("%d of %zu duplicate rows failed", bad,
			 NELEM(dup_cases));
}

/* ---------------------------------------------------------------- scale */

/*
 * d00000.example .. d99999.example, even ones `strict`, odd ones
 * `relaxed`; every 7th also has ".dN.example: subs"; the default has its
 * own body. Each decides with its own action, so a lookup that found the
 * right name but the wrong spec fails too.
 */
#define SCALE_DOMAINS 100000u
#define SCALE_SUB_EVERY 7u
#define SCALE_SUBS ((SCALE_DOMAINS + SCALE_SUB_EVERY - 1) / SCALE_SUB_EVERY)
#define SCALE_RULES (SCALE_DOMAINS + SCALE_SUBS + 1)
#define SCALE_SAMPLES 1000u
#define BYTES_PER_RULE_MAX 512u

static const char scale_head[] = "version: 1\n"
				 "profiles:\n"
				 "  strict: {tls: required, action: reject}\n"
				 "  relaxed: {tls: required, action: defer}\n"
				 "  subs: {tls: required, action: quarantine}\n"
				 "recipients:\n";
static const char scale_tail[] = "  default: {tls: required, action: tag}\n";

static char *
scale_policy(size_t *len)
{
	size_t cap = sizeof(scale_head) + sizeof(scale_tail) +
		     (size_t)SCALE_DOMAINS * 56;
	char *buf = malloc(cap), *o;
	unsigned n;

	if (buf == NULL)
		return NULL;
	o = buf + snprintf(buf, cap, "%s", scale_head);
	for (n = 0; n < SCALE_DOMAINS; n++) {
		o += snprintf(o, cap - (size_t)(o - buf),
			      "  d%05u.example: %s\n", n,
			      n % 2 ? "relaxed" : "strict");
		if (n % SCALE_SUB_EVERY == 0)
			o += snprintf(o, cap - (size_t)(o - buf),
				      "  .d%05u.example: subs\n", n);
	}
	o += snprintf(o, cap - (size_t)(o - buf), "%s", scale_tail);
	*len = (size_t)(o - buf);
	return buf;
}

struct sample {
	char rcpt[64];
	char want[64];
	enum tlsp_action action;
};

/* Six kinds in turn: exact; exact where a sub rule exists too; a child
 * and a deep descendant of a name with a sub rule; a child of one
 * without; a name not in the policy. */
static void
scale_sample(unsigned i, unsigned n, struct sample *s)
{
	unsigned sub = n - n % SCALE_SUB_EVERY;
	unsigned nosub = n % SCALE_SUB_EVERY ? n : n + 1;

	switch (i % 6) {
	case 0:
	case 1:
		if (i % 6 == 1)
			n = sub;
		snprintf(s->rcpt, sizeof(s->rcpt), "u@d%05u.example", n);
		snprintf(s->want, sizeof(s->want), "recipient:d%05u.example",
			 n);
		s->action = n % 2 ? TLSP_ACTION_DEFER : TLSP_ACTION_REJECT;
		return;
	case 2:
	case 3:
		snprintf(s->rcpt, sizeof(s->rcpt), "u@%sd%05u.example",
			 i % 6 == 2 ? "mx." : "a.b.c.", sub);
		snprintf(s->want, sizeof(s->want), "recipient:.d%05u.example",
			 sub);
		s->action = TLSP_ACTION_QUARANTINE;
		return;
	case 4:
		snprintf(s->rcpt, sizeof(s->rcpt), "u@mx.d%05u.example", nosub);
		break;
	default:
		snprintf(s->rcpt, sizeof(s->rcpt),
			 i % 12 == 5 ? "u@e%05u.example" : "u@d%06u.example",
			 i % 12 == 5 ? n : n + SCALE_DOMAINS);
		break;
	}
	snprintf(s->want, sizeof(s->want), "recipient:default");
	s->action = TLSP_ACTION_TAG;
}

static void
test_scale(void **state)
{
	struct tlsp_facts f;
	struct tlsp_diags d;
	struct tlsp_policy *p;
	uint32_t rng = 2463534242u;
	size_t len = 0, bytes_per_rule;
	char *yaml;
	unsigned i;
	int bad = 0;

	(void)state;
	yaml = scale_policy(&len);
	assert_non_null(yaml);
	memset(&d, 0, sizeof(d));
	p = tlsp_policy_load_buffer("scale.yaml", yaml, len, TLSP_MTA_UNKNOWN,
				    &d);
	free(yaml);
	if (p == NULL || d.count != 0)
		print_diags("scale", &d);
	assert_non_null(p);
	assert_int_equal(d.count, 0);
	assert_int_equal(tlsp_policy_rule_count(p), SCALE_RULES);
	assert_int_equal(tlsp_policy_profile_count(p), 3);

	bytes_per_rule = tlsp_policy_memory(p) / tlsp_policy_rule_count(p);
	print_message("scale: %u rules, %zu bytes, %zu bytes/rule\n",
		      (unsigned)SCALE_RULES, tlsp_policy_memory(p),
		      bytes_per_rule);
	assert_true(bytes_per_rule < BYTES_PER_RULE_MAX);

	plaintext_facts(&f);
	for (i = 0; i < SCALE_SAMPLES; i++) {
		struct tlsp_verdict v;
		struct sample s;
		const char *got;
		unsigned n;

		/* xorshift32; the ends of the range first. */
		rng ^= rng << 13;
		rng ^= rng >> 17;
		rng ^= rng << 5;
		n = i < 12 ? (i % 2 ? SCALE_DOMAINS - 1 : 0)
			   : rng % SCALE_DOMAINS;
		scale_sample(i, n, &s);
		tlsp_evaluate(p, &f, NULL, s.rcpt, time(NULL), &v);
		got = v.decided_by ? tlsp_rule_name(v.decided_by) : NULL;
		if (v.nrules != 1 || !same_str(got, s.want) ||
		    v.action != s.action) {
			if (bad++ < 10)
				print_error("%s: want %s by %s, got %s by %s\n",
					    s.rcpt, tlsp_action_name(s.action),
					    s.want, tlsp_action_name(v.action),
					    str_or_none(got));
		}
	}
	tlsp_policy_unref(p);
	tlsp_diags_free(&d);
	if (bad)
		fail_msg("%d of %u sampled lookups failed", bad, SCALE_SAMPLES);
}

/*
 * client_addr's network set (policy/cidr.c) against the plain one-by-one
 * match: random networks of every prefix length, IPv4 and IPv6, with
 * duplicates and nested networks, and random addresses, half of them
 * drawn from inside a network. The set must agree on every address.
 */
static uint64_t
xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
random_addr(uint64_t *s, uint8_t a[16])
{
	static const uint8_t v4map[12] = {0, 0, 0, 0, 0,    0,
					  0, 0, 0, 0, 0xff, 0xff};
	int v4 = xs(s) % 2;

	for (int i = 0; i < 16; i++) /* few distinct values: many hits */
		a[i] = (uint8_t)(xs(s) % 8);
	if (v4)
		memcpy(a, v4map, sizeof v4map);
}

static void
test_cidrset(void **state)
{
	enum { NNET = 3000, NADDR = 20000 };
	struct tlsp_arena *ar = tlsp_arena_new();
	struct tlsp_cidr *v, *copy;
	struct tlsp_cidrset set;
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	size_t i, j, hits = 0;
	char text[64];

	(void)state;
	assert_non_null(ar);
	v = tlsp_arena_alloc(ar, NNET * sizeof(*v));
	copy = malloc(NNET * sizeof(*copy));
	assert_non_null(v);
	assert_non_null(copy);
	for (i = 0; i < NNET; i++) {
		uint8_t a[16];
		int v4;

		random_addr(&s, a);
		v4 = a[10] == 0xff && a[11] == 0xff && a[0] == 0;
		/* the policy's spelling, parsed as the loader does */
		if (v4)
			snprintf(text, sizeof(text), "%u.%u.%u.%u/%u", a[12],
				 a[13], a[14], a[15],
				 20 + (unsigned)(xs(&s) % 13));
		else
			snprintf(text, sizeof(text),
				 "%x:%x:%x:%x:%x:%x:%x:%x/%u", a[0] << 8 | a[1],
				 a[2] << 8 | a[3], a[4] << 8 | a[5],
				 a[6] << 8 | a[7], a[8] << 8 | a[9],
				 a[10] << 8 | a[11], a[12] << 8 | a[13],
				 a[14] << 8 | a[15],
				 100 + (unsigned)(xs(&s) % 29));
		assert_int_equal(tlsp_cidr_parse(text, &v[i]), 0);
	}
	memcpy(copy, v, NNET * sizeof(*v));
	assert_int_equal(tlsp_cidrset_build(ar, v, NNET, &set), 0);
	assert_int_equal(set.n, NNET);
	assert_true(set.nruns >= 25); /* most prefix lengths occur */
	/* the first networks keep the policy's order, for messages */
	assert_memory_equal(set.shown, copy, sizeof(*copy));
	for (i = 0; i < NADDR; i++) {
		uint8_t a[16];
		int want = 0, got;

		random_addr(&s, a);
		for (j = 0; j < NNET && !want; j++)
			want = tlsp_cidr_match(&copy[j], a);
		got = tlsp_cidrset_match(&set, a);
		if (got != want)
			fail_msg("address %zu: set says %d, one by one %d", i,
				 got, want);
		hits += (size_t)want;
	}
	/* both outcomes were exercised, plenty of each */
	print_message("%zu of %d addresses inside\n", hits, NADDR);
	assert_true(hits > NADDR / 10 && hits < NADDR - NADDR / 10);
	free(copy);
	tlsp_arena_free(ar);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domtab_match),
		cmocka_unit_test(test_domtab_get),
		cmocka_unit_test(test_domtab_zeroed),
		cmocka_unit_test(test_domtab_growth),
		cmocka_unit_test(test_lookup_precedence),
		cmocka_unit_test(test_literal_ignores_sub_rules),
		cmocka_unit_test(test_duplicate_patterns),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_cidrset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
