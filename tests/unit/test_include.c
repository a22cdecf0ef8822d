/*
 * test_include.c - split policies: include: globs, sorted and relative to
 * the including file; cycles, depth, files included twice and duplicate
 * patterns across files refused with both places named; every included
 * file gets the main file's checks; the hash covers every file in load
 * order. Each row builds its files in a fresh directory and loads the
 * main file from disk, as the daemon does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "internal.h"

#define MAXF 12

struct file {
	const char *path; /* relative to the row's directory */
	const char *text; /* NULL: a FIFO */
};

struct row {
	const char *name;
	struct file f[MAXF]; /* f[0] is the main file */
	/* Loaded: the files in load order ('@' is the directory). Not
	 * loaded: want_error is the first error. */
	const char *order[MAXF];
	const char *want_error;
	const char *want_warning; /* the first warning, or NULL: none */
	size_t rules;
	const char *writable; /* a file made mode 0666, or NULL */
};

#define V "version: 1\n"
static const struct row rows[] = {
	{"glob sorted, relative to the including file, depth first",
	 {{"main.yaml", V "include: [p/*.yaml]\n"
			  "recipients: {corp.example: {tls: required}}\n"},
	  {"p/b.yaml", "senders: {b.example: {tls: required}}\n"},
	  {"p/a.yaml", "include: ../x.yaml\n"
		       "senders: {a.example: {min_version: TLSv1.2}}\n"},
	  {"p/notes.txt", "not yaml: ["},
	  {"x.yaml", "recipients: {x.example: {}}\n"}},
	 {"@/main.yaml", "@/p/a.yaml", "@/p/../x.yaml", "@/p/b.yaml"},
	 NULL,
	 NULL,
	 4,
	 NULL},
	{"a literal name, and a list",
	 {{"main.yaml", V "include: [one.yaml, two.yaml]\n"},
	  {"one.yaml", "recipients: {one.example: {}}\n"},
	  {"two.yaml", "recipients: {two.example: {}}\n"}},
	 {"@/main.yaml", "@/one.yaml", "@/two.yaml"},
	 NULL,
	 NULL,
	 2,
	 NULL},
	{"an included rule names a profile of the main file",
	 {{"main.yaml", V "profiles: {strict: {min_version: TLSv1.2}}\n"
			  "include: p.yaml\n"},
	  {"p.yaml", "senders: {bank.example: strict}\n"}},
	 {"@/main.yaml", "@/p.yaml"},
	 NULL,
	 NULL,
	 1,
	 NULL},
	{"a glob that matches nothing yet",
	 {{"main.yaml",
	   V "include: partners/*.yaml\nrecipients: {a.example: {}}\n"}},
	 {"@/main.yaml"},
	 NULL,
	 "@/main.yaml:2:10: warning: include 'partners/*.yaml' matches no "
	 "file (nothing included)",
	 1,
	 NULL},
	{"a world-writable included file is read, with a warning",
	 {{"main.yaml", V "include: p.yaml\n"},
	  {"p.yaml", "recipients: {a.example: {}}\n"}},
	 {"@/main.yaml", "@/p.yaml"},
	 NULL,
	 "@/p.yaml: warning: writable by any user, who could change what "
	 "mail is accepted (chmod o-w)",
	 1,
	 "p.yaml"},
	{"a literal name that is missing",
	 {{"main.yaml", V "include: nope.yaml\n"}},
	 {NULL},
	 "@/main.yaml:2:10: include 'nope.yaml' matches no file",
	 NULL,
	 0,
	 NULL},
	{"an error in an included file names it, line and column",
	 {{"main.yaml", V "include: p/*.yaml\n"},
	  {"p/a.yaml", "recipients:\n  a.example: {tsl: required}\n"}},
	 {NULL},
	 "@/p/a.yaml:2:15: recipient:a.example: unknown key 'tsl'; did you "
	 "mean 'tls'?",
	 NULL,
	 0,
	 NULL},
	{"YAML syntax in an included file",
	 {{"main.yaml", V "include: p.yaml\n"},
	  {"p.yaml", "recipients: {a.example: [\n"}},
	 {NULL},
	 "@/p.yaml:2:1: YAML syntax error: did not find expected node "
	 "content while parsing a flow node (line 2)",
	 NULL,
	 0,
	 NULL},
	{"a duplicate pattern across files names both places",
	 {{"main.yaml",
	   V "include: p.yaml\nrecipients:\n  corp.example: {tls: required}\n"},
	  {"p.yaml", "recipients:\n  Corp.Example.: {}\n"}},
	 {NULL},
	 "@/p.yaml:2:3: duplicate pattern 'corp.example' (the same as "
	 "@/main.yaml:4:3)",
	 NULL,
	 0,
	 NULL},
	{"the main file's settings stay in the main file",
	 {{"main.yaml", V "include: p.yaml\n"},
	  {"p.yaml", "milter: {on_error: accept}\n"}},
	 {NULL},
	 "@/p.yaml:1:1: 'milter' belongs in the main policy file "
	 "(@/main.yaml); an included file holds rules and include only",
	 NULL,
	 0,
	 NULL},
	{"a cycle back to the main file",
	 {{"main.yaml", V "include: a.yaml\n"},
	  {"a.yaml", "include: main.yaml\n"}},
	 {NULL},
	 "@/main.yaml: include cycle: included from @/a.yaml:1:10 while it "
	 "is being read (it includes that file, directly or through others)",
	 NULL,
	 0,
	 NULL},
	{"a file including itself",
	 {{"main.yaml", V "include: a.yaml\n"},
	  {"a.yaml", "include: a.yaml\n"}},
	 {NULL},
	 "@/a.yaml: include cycle: included from @/a.yaml:1:10 while it is "
	 "being read (it includes that file, directly or through others)",
	 NULL,
	 0,
	 NULL},
	{"one file included twice",
	 {{"main.yaml", V "include: [a.yaml, b.yaml]\n"},
	  {"a.yaml", "include: b.yaml\n"},
	  {"b.yaml", "recipients: {b.example: {}}\n"}},
	 {NULL},
	 "@/b.yaml: included twice: from @/a.yaml:1:10 and from "
	 "@/main.yaml:2:19",
	 NULL,
	 0,
	 NULL},
	{"includes nested deeper than 8",
	 {{"main.yaml", V "include: 1.yaml\n"},
	  {"1.yaml", "include: 2.yaml\n"},
	  {"2.yaml", "include: 3.yaml\n"},
	  {"3.yaml", "include: 4.yaml\n"},
	  {"4.yaml", "include: 5.yaml\n"},
	  {"5.yaml", "include: 6.yaml\n"},
	  {"6.yaml", "include: 7.yaml\n"},
	  {"7.yaml", "include: 8.yaml\n"},
	  {"8.yaml", "include: 9.yaml\n"},
	  {"9.yaml", "recipients: {}\n"}},
	 {NULL},
	 "@/8.yaml:1:10: includes nest deeper than 8 files",
	 NULL,
	 0,
	 NULL},
	{"a FIFO is refused at once, not waited on",
	 {{"main.yaml", V "include: p/*.yaml\n"}, {"p/f.yaml", NULL}},
	 {NULL},
	 "@/p/f.yaml: is a FIFO (named pipe), not a regular file",
	 NULL,
	 0,
	 NULL},
	{"a directory the glob matches",
	 {{"main.yaml", V "include: p/*\n"}, {"p/sub/x.yaml", "{}\n"}},
	 {NULL},
	 "@/p/sub: is a directory, not a file",
	 NULL,
	 0,
	 NULL},
	{"include: is a name or a list of names",
	 {{"main.yaml", V "include: {a: b}\n"}},
	 {NULL},
	 "@/main.yaml:2:10: 'include' expects a file name or glob, or a list "
	 "of them, found a mapping",
	 NULL,
	 0,
	 NULL},
};

/* s with every '@' replaced by dir. */
static void
expand(const char *s, const char *dir, char *out, size_t outsz)
{
	size_t j = 0;

	for (; *s && j + strlen(dir) + 1 < outsz; s++) {
		if (*s == '@') {
			memcpy(out + j, dir, strlen(dir));
			j += strlen(dir);
		} else {
			out[j++] = *s;
		}
	}
	out[j] = '\0';
}

static void
make_file(const char *dir, const struct file *f)
{
	char path[512], *slash;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, f->path);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(path, 0755);
		*slash = '/';
	}
	if (f->text == NULL) {
		assert_int_equal(mkfifo(path, 0644), 0);
		return;
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(f->text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, 0644), 0);
}

static void
sha256(const void *buf, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int n = 0, i;

	assert_true(EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL));
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* The file's SHA-256, read back. */
static void
file_hash(const char *path, char hex[65])
{
	char buf[4096];
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	sha256(buf, n, hex);
}

/* What `sha256sum FILES | cut -c1-64 | sha256sum` prints. */
static void
want_hash(const struct tlsp_policy *p, char hex[65])
{
	char lines[MAXF * 65], h[65];
	size_t i, n = tlsp_policy_file_count(p);

	if (n == 1) {
		file_hash(tlsp_policy_file(p, 0, NULL), hex);
		return;
	}
	for (i = 0; i < n; i++) {
		file_hash(tlsp_policy_file(p, i, NULL), h);
		memcpy(lines + 65 * i, h, 64);
		lines[65 * i + 64] = '\n';
	}
	sha256(lines, 65 * n, hex);
}

static void
rm_tree(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void
check_row(const struct row *r)
{
	char dir[] = "/tmp/tlsp-inc-XXXXXX", main_path[512], want[1400],
	     got[1400], hex[65];
	struct tlsp_diags d = {0};
	struct tlsp_policy *p;
	const char *fh = NULL;
	size_t i, nwarn = 0;

	assert_non_null(mkdtemp(dir));
	for (i = 0; i < MAXF && r->f[i].path; i++)
		make_file(dir, &r->f[i]);
	if (r->writable) {
		snprintf(main_path, sizeof(main_path), "%s/%s", dir,
			 r->writable);
		assert_int_equal(chmod(main_path, 0666), 0);
	}
	snprintf(main_path, sizeof(main_path), "%s/%s", dir, r->f[0].path);
	p = tlsp_policy_load(main_path, TLSP_MTA_UNKNOWN, &d);
	for (i = 0; i < d.count; i++) {
		if (!d.v[i].is_warning)
			continue;
		if (r->want_warning == NULL)
			fail_msg("%s: unexpected warning %s", r->name,
				 tlsp_diag_format(&d.v[i], got, sizeof(got)));
		if (nwarn++ == 0) {
			expand(r->want_warning, dir, want, sizeof(want));
			tlsp_diag_format(&d.v[i], got, sizeof(got));
			if (strcmp(got, want) != 0)
				fail_msg("%s:\n got %s\nwant %s", r->name, got,
					 want);
		}
	}
	if (r->want_warning && nwarn == 0)
		fail_msg("%s: no warning", r->name);
	if (r->want_error) {
		if (p != NULL)
			fail_msg("%s: loaded", r->name);
		expand(r->want_error, dir, want, sizeof(want));
		strcpy(got, "(no error)");
		for (i = 0; i < d.count; i++)
			if (!d.v[i].is_warning) {
				tlsp_diag_format(&d.v[i], got, sizeof(got));
				break;
			}
		if (strcmp(got, want) != 0)
			fail_msg("%s:\n got %s\nwant %s", r->name, got, want);
	} else {
		if (p == NULL)
			fail_msg("%s: not loaded: %s", r->name,
				 d.count ? tlsp_diag_format(&d.v[0], got,
							    sizeof(got))
					 : "");
		assert_int_equal(tlsp_policy_rule_count(p), r->rules);
		for (i = 0; r->order[i]; i++) {
			expand(r->order[i], dir, want, sizeof(want));
			if (tlsp_policy_file(p, i, &fh) == NULL ||
			    strcmp(tlsp_policy_file(p, i, NULL), want) != 0)
				fail_msg("%s: file %zu is %s, want %s", r->name,
					 i,
					 tlsp_policy_file(p, i, NULL)
						 ? tlsp_policy_file(p, i, NULL)
						 : "(none)",
					 want);
			file_hash(want, hex);
			assert_string_equal(fh, hex);
		}
		assert_int_equal(tlsp_policy_file_count(p), i);
		want_hash(p, hex);
		assert_string_equal(tlsp_policy_hash(p), hex);
	}
	tlsp_policy_unref(p);
	tlsp_diags_free(&d);
	rm_tree(dir);
}

static void
test_rows(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(&rows[i]);
}

/* The hash changes with any included file's bytes, and with the order
 * the files load in (a rename that sorts differently). */
static void
test_hash_covers_every_file(void **state)
{
	static const struct file base[] = {
		{"main.yaml", V "include: p/*.yaml\n"},
		{"p/a.yaml", "recipients: {a.example: {}}\n"},
		{"p/b.yaml", "recipients: {b.example: {}}\n"},
	};
	char dir[] = "/tmp/tlsp-inc-XXXXXX", path[512], from[512], h[3][65];
	struct tlsp_diags d = {0};
	struct tlsp_policy *p;
	size_t i;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < 3; i++)
		make_file(dir, &base[i]);
	snprintf(path, sizeof(path), "%s/main.yaml", dir);
	p = tlsp_policy_load(path, 0, &d);
	assert_non_null(p);
	strcpy(h[0], tlsp_policy_hash(p));
	tlsp_policy_unref(p);
	/* a comment added to an included file */
	snprintf(from, sizeof(from), "%s/p/b.yaml", dir);
	fp = fopen(from, "a");
	assert_non_null(fp);
	fputs("# changed\n", fp);
	fclose(fp);
	p = tlsp_policy_load(path, 0, &d);
	assert_non_null(p);
	strcpy(h[1], tlsp_policy_hash(p));
	tlsp_policy_unref(p);
	assert_string_not_equal(h[0], h[1]);
	/* b.yaml renamed to 0.yaml: the same bytes, loaded first */
	snprintf(path, sizeof(path), "%s/p/0.yaml", dir);
	assert_int_equal(rename(from, path), 0);
	snprintf(path, sizeof(path), "%s/main.yaml", dir);
	p = tlsp_policy_load(path, 0, &d);
	assert_non_null(p);
	strcpy(h[2], tlsp_policy_hash(p));
	tlsp_policy_unref(p);
	assert_string_not_equal(h[1], h[2]);
	assert_int_equal(d.count, 0);
	tlsp_diags_free(&d);
	rm_tree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_hash_covers_every_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
