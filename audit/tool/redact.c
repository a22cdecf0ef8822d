/*
 * redact.c - tlspolicy-audit redact: take a value out of a log without
 * breaking its chain.
 *
 * An erasure request names a person's address (or a host name); every
 * redactable member (sender, addr, name, helo) whose value is that
 * string is replaced by {"sha256":"D"}, D being the field digest of
 * audit/FORMAT.md section 2. The hash covers that same digest, so the
 * chain still verifies; each changed record is verified again before it
 * is written, and a record that would stop verifying stops the run.
 * The input goes through the chain follower (follow.c) as verify reads
 * it: every line is copied, but a log that does not verify is said so
 * and exits 1, unless --ignore-breaks.
 * Lines are rewritten by the same tokenizer rule as chain.c uses (a
 * string token followed by ':' is a key), never re-serialised, so every
 * other byte stays as it was. The copy goes to standard output.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "tool.h"

struct redact {
	const char *value, *keyname;
	struct tlsp_chain_key key;
	struct tlsp_jbuf out, scratch;
	char *dec; /* decoding buffer */
	size_t deccap;
	int ignore_breaks;
	struct tlspa_follow chain;
	unsigned long long values, records, unchecked;
};

static int
redact_options(struct redact *x, int argc, char **argv)
{
	static const struct option opts[] = {
		{"value", required_argument, NULL, 'v'},
		{"key-name", required_argument, NULL, 'n'},
		{"key", required_argument, NULL, 'k'},
		{"allow-empty", no_argument, NULL, 'E'},
		{"ignore-breaks", no_argument, NULL, 'I'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'v') {
			x->value = optarg;
		} else if (c == 'n') {
			x->keyname = optarg;
			if (!tlsp_chain_redactable(optarg, strlen(optarg))) {
				fprintf(stderr,
					"tlspolicy-audit: --key-name %s: "
					"expected sender, addr, name or helo\n",
					optarg);
				return TLSPA_EX_ERROR;
			}
		} else if (c == 'k') {
			if (tlspa_tool_key(&x->key, optarg) < 0)
				return TLSPA_EX_ERROR;
		} else if (c == 'E') {
			x->chain.allow_empty = 1;
		} else if (c == 'I') {
			x->ignore_breaks = 1;
		} else {
			return tlspa_tool_usage("redact");
		}
	}
	if (x->value == NULL || x->value[0] == '\0' || optind != argc - 1) {
		fprintf(stderr, "tlspolicy-audit redact: needs --value STRING "
				"and one FILE\n");
		return tlspa_tool_usage("redact");
	}
	return 0;
}

/* 1 if the value token raw (rawlen) decodes to --value, with or without
 * the angle brackets of an envelope address. */
static int
value_matches(struct redact *x, const char *raw, size_t rawlen)
{
	size_t want = strlen(x->value);
	long n;
	char *nb;

	if (rawlen + 1 > x->deccap) {
		if ((nb = realloc(x->dec, rawlen + 1)) == NULL)
			return 0;
		x->dec = nb;
		x->deccap = rawlen + 1;
	}
	if ((n = tlspa_json_unescape(raw, rawlen, x->dec)) < 0)
		return 0;
	if ((size_t)n == want && memcmp(x->dec, x->value, want) == 0)
		return 1;
	return (size_t)n == want + 2 && x->dec[0] == '<' &&
	       x->dec[n - 1] == '>' && memcmp(x->dec + 1, x->value, want) == 0;
}

/* Writes the redacted copy of p into x->out; returns the values redacted,
 * or -1 if the line cannot be tokenized. */
static int
redact_line(struct redact *x, const char *p, size_t len)
{
	const char *salt;
	size_t saltlen, i, e, ve, last = 0;
	char hex[TLSP_HASH_HEX + 1], key[8];
	int count = 0;

	if (tlsp_chain_salt(p, len, &salt, &saltlen) < 0 || salt == NULL) {
		salt = "";
		saltlen = 0;
	}
	tlsp_jb_reset(&x->out);
	for (i = 0; i < len; i++) {
		if (p[i] != '"')
			continue;
		if ((e = tlsp_chain_str_end(p, len, i)) == (size_t)-1)
			return -1;
		if (e + 2 >= len || p[e + 1] != ':' || p[e + 2] != '"' ||
		    !tlsp_chain_redactable(p + i + 1, e - i - 1) ||
		    (x->keyname != NULL &&
		     (strlen(x->keyname) != e - i - 1 ||
		      memcmp(x->keyname, p + i + 1, e - i - 1) != 0))) {
			i = e;
			continue;
		}
		if ((ve = tlsp_chain_str_end(p, len, e + 2)) == (size_t)-1)
			return -1;
		if (value_matches(x, p + e + 3, ve - e - 3)) {
			memcpy(key, p + i + 1, e - i - 1);
			key[e - i - 1] = '\0';
			tlsp_chain_field_digest(salt, saltlen, key, p + e + 3,
						ve - e - 3, hex);
			tlsp_jb_raw(&x->out, p + last, e + 2 - last);
			tlsp_jb_raw(&x->out, "{\"sha256\":\"", 11);
			tlsp_jb_raw(&x->out, hex, TLSP_HASH_HEX);
			tlsp_jb_raw(&x->out, "\"}", 2);
			last = ve + 1;
			count++;
		}
		i = ve;
	}
	tlsp_jb_raw(&x->out, p + last, len - last);
	return count;
}

/* Redacts one line and writes it out. 0, or an exit status. */
static int
redact_one(struct redact *x, const struct tlspa_reader_line *ln)
{
	struct tlsp_chain_rec rec;
	int n, before, after;

	if (ln->overlong) {
		fprintf(stderr, "%s:%llu: line too long to copy (%zu bytes)\n",
			ln->path, ln->lineno, ln->len);
		return TLSPA_EX_ERROR;
	}
	n = tlsp_chain_parse(ln->p, ln->len, &rec) < 0
		    ? 0
		    : redact_line(x, ln->p, ln->len);
	if (n <= 0 || x->out.oom) {
		fwrite(ln->p, 1, ln->len, stdout);
	} else {
		before = tlsp_chain_verify(ln->p, ln->len, &x->key, &x->scratch,
					   &rec);
		after = tlsp_chain_verify(x->out.p, x->out.len, &x->key,
					  &x->scratch, &rec);
		if (before == 1 && after != 1) {
			fprintf(stderr,
				"%s:%llu: redacting would break the "
				"chain; nothing written after this line\n",
				ln->path, ln->lineno);
			return TLSPA_EX_ERROR;
		}
		if (before != 1 && !x->chain.unkeyed) {
			x->unchecked++;
			tlspa_tool_warn(ln->path, ln->lineno,
					"record does not "
					"verify (changed, or give --key): "
					"redacted unchecked");
		}
		fwrite(x->out.p, 1, x->out.len, stdout);
		x->values += (unsigned)n;
		x->records++;
	}
	if (ln->lf)
		putchar('\n');
	return 0;
}

int
tlspa_redact_main(int argc, char **argv)
{
	struct redact x;
	struct tlspa_reader lr = {0};
	struct tlspa_reader_line ln;
	int rc, got = 0;

	memset(&x, 0, sizeof(x));
	if ((rc = redact_options(&x, argc, argv)) != 0)
		goto done;
	lr.files = argv + optind;
	lr.nfiles = 1;
	x.chain.files = lr.files;
	x.chain.nfiles = 1;
	x.chain.key = &x.key;
	x.chain.guess_key = x.key.k == NULL;
	x.chain.say = tlspa_tool_say;
	while (rc == 0 && (got = tlspa_reader_next(&lr, &ln)) > 0) {
		if (tlspa_follow_line(&x.chain, &ln) < 0) {
			fprintf(stderr, "tlspolicy-audit: out of memory\n");
			rc = TLSPA_EX_ERROR;
		} else
			rc = redact_one(&x, &ln);
	}
	if (got < 0)
		fprintf(stderr, "tlspolicy-audit: %s\n", lr.err);
	tlspa_reader_close(&lr);
	if (got < 0 || (rc == 0 && tlspa_follow_end(&x.chain) < 0))
		rc = TLSPA_EX_ERROR;
	if (rc == 0 && !tlspa_tool_quiet)
		fprintf(stderr,
			"tlspolicy-audit: redacted %llu value%s in %llu "
			"record%s\n",
			x.values, x.values == 1 ? "" : "s", x.records,
			x.records == 1 ? "" : "s");
	if (rc == 0)
		rc = tlspa_scan_status(&x.chain, x.ignore_breaks);
done:
	tlspa_follow_free(&x.chain);
	tlsp_chain_key_free(&x.key);
	tlsp_jb_free(&x.out);
	tlsp_jb_free(&x.scratch);
	free(x.dec);
	return rc;
}
