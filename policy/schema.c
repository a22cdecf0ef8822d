/*
 * schema.c - reading and checking single policy values.
 *
 * Each reader says precisely what it expected and what it found, at the
 * value's line and column, and suggests the nearest valid word for a
 * misspelling: a policy editor should never have to guess.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compile.h"

static void report(struct tlsp_compile_ctx *, int, const struct tlsp_ynode *,
		   const char *, const char *, va_list)
	__attribute__((format(printf, 5, 0)));

static void
report(struct tlsp_compile_ctx *c, int warn, const struct tlsp_ynode *y,
       const char *where, const char *fmt, va_list ap)
{
	char msg[768];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (tlsp_diags_add(c->d, warn, c->file, y ? y->line : 0, y ? y->col : 0,
			   "%s%s%s", where ? where : "", where ? ": " : "",
			   msg) < 0)
		c->oom = 1;
}

void
tlsp_schema_error(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
		  const char *where, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, 0, y, where, fmt, ap);
	va_end(ap);
}

void
tlsp_schema_warn(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
		 const char *where, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, 1, y, where, fmt, ap);
	va_end(ap);
}

/* A value quoted for a message: printable, and short. */
static const char *
shown(const struct tlsp_ynode *y, char *buf, size_t bufsz)
{
	size_t i, j = 0;

	if (y->type != TLSP_YNODE_SCALAR)
		return tlsp_ytree_kind(y);
	for (i = 0; i < y->len && j + 5 < bufsz; i++) {
		unsigned char ch = (unsigned char)y->str[i];

		if (ch < 0x20 || ch == 0x7f || ch == '\'' || ch == '\\')
			j += (size_t)snprintf(buf + j, bufsz - j, "\\x%02x",
					      ch);
		else
			buf[j++] = (char)ch;
	}
	if (i < y->len && j + 4 < bufsz) {
		memcpy(buf + j, "...", 3);
		j += 3;
	}
	buf[j] = '\0';
	return buf;
}

int
tlsp_schema_is_empty(const struct tlsp_ynode *y)
{
	return y == NULL || (y->type == TLSP_YNODE_SCALAR && y->plain &&
			     (y->len == 0 || strcmp(y->str, "~") == 0 ||
			      strcmp(y->str, "null") == 0));
}

static int
want_scalar(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
	    const char *where, const char *key, const char *what)
{
	if (y->type == TLSP_YNODE_SCALAR && !tlsp_schema_is_empty(y))
		return 0;
	tlsp_schema_error(c, y, where, "'%s' expects %s, found %s", key, what,
			  tlsp_ytree_kind(y));
	return -1;
}

int
tlsp_schema_bool(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
		 const char *where, const char *key, int *out)
{
	char b[64];

	if (want_scalar(c, y, where, key, "true or false") < 0)
		return -1;
	if (y->plain && strcasecmp(y->str, "true") == 0) {
		*out = 1;
		return 0;
	}
	if (y->plain && strcasecmp(y->str, "false") == 0) {
		*out = 0;
		return 0;
	}
	if (!y->plain && (strcasecmp(y->str, "true") == 0 ||
			  strcasecmp(y->str, "false") == 0)) {
		tlsp_schema_error(c, y, where,
				  "'%s' expects true or false, found the "
				  "quoted string \"%s\"; remove the quotes",
				  key, y->str);
		return -1;
	}
	tlsp_schema_error(c, y, where, "'%s' expects true or false, found '%s'",
			  key, shown(y, b, sizeof(b)));
	return -1;
}

int
tlsp_schema_int(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
		const char *where, const char *key, long min, long max,
		long *out)
{
	char b[64], *end;
	long v;

	if (want_scalar(c, y, where, key, "a number") < 0)
		return -1;
	errno = 0;
	v = strtol(y->str, &end, 10);
	if (!isdigit((unsigned char)y->str[0]) || *end != '\0' ||
	    errno == ERANGE || v < min || v > max) {
		tlsp_schema_error(
			c, y, where,
			"'%s' expects a whole number from %ld to %ld, "
			"found '%s'",
			key, min, max, shown(y, b, sizeof(b)));
		return -1;
	}
	*out = v;
	return 0;
}

int
tlsp_schema_word(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
		 const char *where, const char *key,
		 const struct tlsp_name_code *words, int *out)
{
	char b[64], list[256] = "";
	const char *near;
	size_t i, n;

	/* By row, not by tlsp_name_code(): a code may be -1 ("auto"). */
	for (i = 0; y->type == TLSP_YNODE_SCALAR && words[i].name != NULL; i++)
		if (strcmp(y->str, words[i].name) == 0) {
			*out = words[i].code;
			return 0;
		}
	/* The list of choices only for the message: a million rules that
	 * say "action: reject" should not each format it. */
	n = tlsp_name_code_count(words);
	for (i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", i ? (i + 1 == n ? " or " : ", ") : "",
			 words[i].name);
	if (y->type != TLSP_YNODE_SCALAR || tlsp_schema_is_empty(y)) {
		tlsp_schema_error(c, y, where, "'%s' expects %s, found %s", key,
				  list, tlsp_ytree_kind(y));
		return -1;
	}
	near = tlsp_diag_suggest_name(y->str, words);
	tlsp_schema_error(c, y, where, "'%s' expects %s, found '%s'%s%s%s", key,
			  list, shown(y, b, sizeof(b)),
			  near ? "; did you mean '" : "", near ? near : "",
			  near ? "'?" : "");
	return -1;
}

/* A scalar or a list of scalars; items point into the tree. */
static int
scalar_list(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
	    const char *where, const char *key,
	    const struct tlsp_ynode ***items, size_t *n)
{
	size_t i;

	if (y->type == TLSP_YNODE_SCALAR) {
		if (tlsp_schema_is_empty(y)) {
			*n = 0;
			*items = NULL;
			return 0;
		}
		*items = (const struct tlsp_ynode **)
			tlsp_arena_alloc(c->a, sizeof(**items));
		if (*items == NULL) {
			c->oom = 1;
			return -1;
		}
		(*items)[0] = y;
		*n = 1;
		return 0;
	}
	if (y->type != TLSP_YNODE_SEQ) {
		tlsp_schema_error(c, y, where, "'%s' expects a list, found %s",
				  key, tlsp_ytree_kind(y));
		return -1;
	}
	for (i = 0; i < y->n; i++) {
		if (y->kids[i]->type != TLSP_YNODE_SCALAR ||
		    tlsp_schema_is_empty(y->kids[i])) {
			tlsp_schema_error(
				c, y->kids[i], where,
				"'%s' expects a list of strings, found %s", key,
				tlsp_ytree_kind(y->kids[i]));
			return -1;
		}
	}
	*items = tlsp_arena_alloc(c->a, (y->n ? y->n : 1) * sizeof(**items));
	if (*items == NULL) {
		c->oom = 1;
		return -1;
	}
	for (i = 0; i < y->n; i++)
		(*items)[i] = y->kids[i];
	*n = y->n;
	return 0;
}

int
tlsp_schema_version(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
		    const char *where, const char *key, enum tlsp_version *out)
{
	char b[64];
	int v;

	if (want_scalar(c, y, where, key, "a TLS version") < 0)
		return -1;
	v = tlsp_version_lookup(y->str);
	if (v == TLSP_VER_SSLV2 || v == TLSP_VER_SSLV3) {
		tlsp_schema_error(
			c, y, where,
			"'%s': %s is never good enough; the lowest version "
			"is TLSv1",
			key, y->str);
		return -1;
	}
	if (v < TLSP_VER_TLSV1) {
		tlsp_schema_error(
			c, y, where,
			"'%s' expects TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3, "
			"found '%s'",
			key, shown(y, b, sizeof(b)));
		return -1;
	}
	*out = (enum tlsp_version)v;
	return 0;
}

static char **
dup_names(struct tlsp_compile_ctx *c, const struct tlsp_ynode **items, size_t n)
{
	char **v = tlsp_arena_alloc(c->a, (n ? n : 1) * sizeof(*v));
	size_t i;

	if (v == NULL) {
		c->oom = 1;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		v[i] = tlsp_arena_strndup(c->a, items[i]->str, items[i]->len);
		if (v[i] == NULL) {
			c->oom = 1;
			return NULL;
		}
	}
	return v;
}

/* One list of ciphers: family names become bits, the rest OpenSSL names. */
static int
cipher_list(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
	    const char *where, const char *key, char ***names, size_t *nnames,
	    unsigned *fams)
{
	const struct tlsp_ynode **items, **nv;
	size_t n, i, k = 0;
	int bad = 0;

	if (scalar_list(c, y, where, key, &items, &n) < 0)
		return -1;
	nv = tlsp_arena_alloc(c->a, (n ? n : 1) * sizeof(*nv));
	if (nv == NULL) {
		c->oom = 1;
		return -1;
	}
	*fams = 0;
	for (i = 0; i < n; i++) {
		const char *s = items[i]->str;
		unsigned fam = tlsp_cipher_family_lookup(s);
		struct tlsp_cipher_info info;

		if (fam) {
			*fams |= fam;
			continue;
		}
		if (strspn(s,
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789-_.") != items[i]->len) {
			tlsp_schema_error(
				c, items[i], where,
				"'%s': '%s' is neither a cipher family (RC4, "
				"3DES, CBC, NULL, EXPORT, ...) nor an OpenSSL "
				"cipher name",
				key, s);
			bad = 1;
			continue;
		}
		tlsp_cipher_classify(s, &info);
		if (!info.known)
			tlsp_schema_warn(
				c, items[i], where,
				"'%s': cipher '%s' is not in this OpenSSL's "
				"table; it is compared by name only",
				key, s);
		nv[k++] = items[i];
	}
	if (bad)
		return -1;
	*names = dup_names(c, nv, k);
	*nnames = k;
	if (*names == NULL)
		return -1;
	/* MTAs send OpenSSL's names: an IANA name is kept as OpenSSL's. */
	for (i = 0; i < k; i++) {
		const char *ossl = tlsp_cipher_openssl_name((*names)[i]);

		if (ossl && strcmp(ossl, (*names)[i]) != 0 &&
		    ((*names)[i] = tlsp_arena_strndup(c->a, ossl,
						      strlen(ossl))) == NULL)
			return c->oom = 1, -1;
	}
	return 0;
}

int
tlsp_schema_ciphers(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
		    const char *where, struct tlsp_reqs *r, unsigned *set)
{
	static const struct tlsp_name_code keys[] = {
		{"allow", TLSP_REQ_CIPHER_ALLOW},
		{"deny", TLSP_REQ_CIPHER_DENY},
		{NULL, -1},
	};
	size_t i;
	int rc = 0;

	if (y->type != TLSP_YNODE_MAP) {
		tlsp_schema_error(
			c, y, where,
			"'ciphers' expects a mapping with 'allow' and/or "
			"'deny', found %s",
			tlsp_ytree_kind(y));
		return -1;
	}
	for (i = 0; i < y->n; i++) {
		const struct tlsp_ynode *k = y->kids[2 * i],
					*v = y->kids[2 * i + 1];
		const char *key;
		int which, bad;

		if (tlsp_schema_word(c, k, where, "ciphers", keys, &which) <
		    0) {
			rc = -1;
			continue;
		}
		key = tlsp_req_name((enum tlsp_req)which); /* "ciphers.allow" */
		if (which == TLSP_REQ_CIPHER_ALLOW)
			bad = cipher_list(c, v, where, key, &r->allow_names,
					  &r->nallow, &r->allow_families);
		else
			bad = cipher_list(c, v, where, key, &r->deny_names,
					  &r->ndeny, &r->deny_families);
		if (bad == 0)
			*set |= 1u << which;
		else
			rc = -1;
	}
	return rc;
}

static int
has_control(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

int
tlsp_schema_names(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
		  const char *where, const char *key,
		  struct tlsp_name_pat **out, size_t *n)
{
	const struct tlsp_ynode **items;
	size_t i;

	if (scalar_list(c, y, where, key, &items, n) < 0)
		return -1;
	*out = tlsp_arena_alloc(c->a, (*n ? *n : 1) * sizeof(**out));
	if (*out == NULL) {
		c->oom = 1;
		return -1;
	}
	for (i = 0; i < *n; i++) {
		const struct tlsp_ynode *it = items[i];

		if (it->len >= TLSP_DN_MAX || has_control(it->str, it->len)) {
			tlsp_schema_error(
				c, it, where,
				"'%s': a name must be under %d characters "
				"with no control characters",
				key, TLSP_DN_MAX);
			return -1;
		}
		if (it->str[0] == '/' && strchr(it->str, '=') == NULL) {
			tlsp_schema_error(
				c, it, where,
				"'%s': '%s' starts with '/' but is not a DN "
				"like /O=Example/CN=mx.example",
				key, it->str);
			return -1;
		}
		(*out)[i].text = tlsp_arena_strndup(c->a, it->str, it->len);
		if ((*out)[i].text == NULL) {
			c->oom = 1;
			return -1;
		}
		(*out)[i].full_dn = it->str[0] == '/';
	}
	return 0;
}

int
tlsp_schema_fingerprints(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
			 const char *where, struct tlsp_reqs *r)
{
	const struct tlsp_ynode **items;
	size_t i, n;

	if (scalar_list(c, y, where, "fingerprints", &items, &n) < 0)
		return -1;
	r->fingerprints = tlsp_arena_alloc(c->a, (n ? n : 1) * sizeof(char *));
	if (r->fingerprints == NULL) {
		c->oom = 1;
		return -1;
	}
	for (i = 0; i < n; i++) {
		char hex[TLSP_FP_MAX];
		size_t j, k = 0;
		int bad = 0;

		for (j = 0; j < items[i]->len && !bad; j++) {
			unsigned char ch = (unsigned char)items[i]->str[j];

			if (ch == ':')
				continue;
			if (!isxdigit(ch) || k + 1 >= sizeof(hex))
				bad = 1;
			else
				hex[k++] = (char)tolower(ch);
		}
		if (bad || k < 32 || k > 128 || k % 2) {
			tlsp_schema_error(
				c, items[i], where,
				"'fingerprints': '%.80s' is not a hex "
				"fingerprint (MD5, SHA-1 or SHA-256, colons "
				"allowed)",
				items[i]->str);
			return -1;
		}
		r->fingerprints[i] = tlsp_arena_strndup(c->a, hex, k);
		if (r->fingerprints[i] == NULL) {
			c->oom = 1;
			return -1;
		}
	}
	r->nfp = n;
	return 0;
}

/* client_addr: a list of networks, kept as a sorted set (cidr.c). */
int
tlsp_schema_client_addrs(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
			 const char *where, struct tlsp_reqs *r)
{
	const struct tlsp_ynode **items;
	struct tlsp_cidr *v;
	size_t i, n;
	int rc = 0;

	if (scalar_list(c, y, where, "client_addr", &items, &n) < 0)
		return -1;
	v = tlsp_arena_alloc(c->a, (n ? n : 1) * sizeof(*v));
	if (v == NULL) {
		c->oom = 1;
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (tlsp_cidr_parse(items[i]->str, &v[i]) < 0) {
			tlsp_schema_error(
				c, items[i], where,
				"'client_addr': '%.80s' is not an address "
				"or network (192.0.2.0/24, 2001:db8::/32)",
				items[i]->str);
			rc = -1;
			if (c->d->truncated)
				return -1;
		}
	}
	if (rc < 0)
		return -1;
	if (tlsp_cidrset_build(c->a, v, n, &r->client_addrs) < 0) {
		c->oom = 1;
		return -1;
	}
	return 0;
}

/* client_name: host names, ".example" / "*.example" for any name below. */
int
tlsp_schema_hosts(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
		  const char *where, struct tlsp_reqs *r)
{
	const struct tlsp_ynode **items;
	char norm[TLSP_DOMAIN_MAX + 1];
	const char *why;
	size_t i, n;

	if (scalar_list(c, y, where, "client_name", &items, &n) < 0)
		return -1;
	r->hosts = tlsp_arena_alloc(c->a, (n ? n : 1) * sizeof(*r->hosts));
	if (r->hosts == NULL) {
		c->oom = 1;
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *s = items[i]->str;
		int sub = 0;

		if (s[0] == '*' && s[1] == '.')
			s += 2, sub = 1;
		else if (s[0] == '.')
			s += 1, sub = 1;
		why = NULL;
		if (strcmp(s, "unknown") == 0)
			why = "Postfix's word for a name that did not verify "
			      "never matches";
		if (s[0] == '[' || why != NULL ||
		    tlsp_domain_normalize(s, norm, sizeof(norm), &why) < 0) {
			tlsp_schema_error(
				c, items[i], where,
				"'client_name': '%.80s' is not a host name "
				"pattern (mx.example, .example, *.example)%s%s",
				items[i]->str, why ? ": " : "", why ? why : "");
			return -1;
		}
		r->hosts[i].name = tlsp_arena_strndup(c->a, norm, strlen(norm));
		if (r->hosts[i].name == NULL) {
			c->oom = 1;
			return -1;
		}
		r->hosts[i].sub = sub;
	}
	r->nhosts = n;
	return 0;
}

static int
scope_clients(struct tlsp_compile_ctx *c, const struct tlsp_ynode *v,
	      const char *where, struct tlsp_scope *s)
{
	const struct tlsp_ynode **items;
	size_t i, n;

	if (scalar_list(c, v, where, "exempt_clients", &items, &n) < 0)
		return -1;
	s->exempt_clients =
		tlsp_arena_alloc(c->a,
				 (n ? n : 1) * sizeof(*s->exempt_clients));
	if (s->exempt_clients == NULL) {
		c->oom = 1;
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (tlsp_cidr_parse(items[i]->str, &s->exempt_clients[i]) < 0) {
			tlsp_schema_error(
				c, items[i], where,
				"'exempt_clients': '%.80s' is not an address "
				"or network (192.0.2.0/24, 2001:db8::/32)",
				items[i]->str);
			return -1;
		}
	}
	s->nclients = n;
	return 0;
}

int
tlsp_schema_scope(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
		  const char *where, struct tlsp_scope *s, unsigned *set)
{
	static const struct tlsp_name_code keys[] = {
		{"authenticated", TLSP_SCOPE_AUTH},
		{"daemons", TLSP_SCOPE_DAEMONS},
		{"exempt_clients", TLSP_SCOPE_CLIENTS},
		{NULL, -1},
	};
	/* Codes are the values of exempt_authenticated. */
	static const struct tlsp_name_code auth[] = {
		{"enforce", 0},
		{"exempt", 1},
		{NULL, -1},
	};
	const struct tlsp_ynode **items;
	size_t i;
	int rc = 0, w;

	if (y->type != TLSP_YNODE_MAP) {
		tlsp_schema_error(c, y, where,
				  "'scope' expects a mapping, found %s",
				  tlsp_ytree_kind(y));
		return -1;
	}
	for (i = 0; i < y->n; i++) {
		const struct tlsp_ynode *k = y->kids[2 * i],
					*v = y->kids[2 * i + 1];

		if (tlsp_schema_word(c, k, where, "scope", keys, &w) < 0) {
			rc = -1;
		} else if (w == TLSP_SCOPE_AUTH) {
			if (tlsp_schema_word(c, v, where, "authenticated", auth,
					     &s->exempt_authenticated) < 0)
				rc = -1;
			*set |= TLSP_SCOPE_AUTH;
		} else if (w == TLSP_SCOPE_DAEMONS) {
			if (scalar_list(c, v, where, "daemons", &items,
					&s->ndaemons) < 0 ||
			    (s->daemons = dup_names(c, items, s->ndaemons)) ==
				    NULL)
				rc = -1;
			*set |= TLSP_SCOPE_DAEMONS;
		} else {
			if (scope_clients(c, v, where, s) < 0)
				rc = -1;
			*set |= TLSP_SCOPE_CLIENTS;
		}
	}
	return rc;
}

/* Checks every '%' of a reply text: "%%" or a known "%{name}". */
static int
reply_placeholders(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
		   const char *where)
{
	const char *p = y->str, *end, *near;
	char name[32];

	for (p = strchr(p, '%'); p; p = strchr(p, '%')) {
		if (p[1] == '%') {
			p += 2;
			continue;
		}
		end = p[1] == '{' ? strchr(p + 2, '}') : NULL;
		if (end != NULL && (size_t)(end - p - 2) >= sizeof(name)) {
			tlsp_schema_error(
				c, y, where,
				"'reply': unknown placeholder %%{%.*s...} "
				"(names are short: %%{rule}, "
				"%%{min_version}, ...)",
				16, p + 2);
			return -1;
		}
		if (end == NULL) {
			tlsp_schema_error(
				c, y, where,
				"'reply': a lone '%%' must be written '%%%%' "
				"(placeholders look like %%{rule})");
			return -1;
		}
		memcpy(name, p + 2, (size_t)(end - p - 2));
		name[end - p - 2] = '\0';
		if (tlsp_name_code(tlsp_reply_placeholders, name) < 0) {
			near = tlsp_diag_suggest_name(name,
						      tlsp_reply_placeholders);
			tlsp_schema_error(
				c, y, where,
				"'reply': unknown placeholder %%{%s}%s%s%s",
				name, near ? "; did you mean %{" : "",
				near ? near : "", near ? "}?" : "");
			return -1;
		}
		p = end + 1;
	}
	return 0;
}

int
tlsp_schema_reply(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
		  const char *where)
{
	const char *s = y->str;

	if (want_scalar(c, y, where, "reply", "an SMTP reply") < 0)
		return -1;
	if (has_control(s, y->len)) {
		tlsp_schema_error(
			c, y, where,
			"'reply' must be one line with no control characters");
		return -1;
	}
	if (!(s[0] == '4' || s[0] == '5') || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]) || s[3] != ' ' ||
	    s[4 + strspn(s + 4, " ")] == '\0') {
		tlsp_schema_error(
			c, y, where,
			"'reply' must be a 4xx or 5xx code and text, like "
			"\"550 5.7.1 text\"; found '%.40s'",
			s);
		return -1;
	}
	/* An enhanced status code, if present, must be in the same class. */
	if (s[3] == ' ' && isdigit((unsigned char)s[4]) && s[5] == '.') {
		const char *p = s + 6;
		int parts = 2; /* the class digit and its dot */

		while (isdigit((unsigned char)*p) || *p == '.')
			parts += *p++ == '.';
		if (s[4] != s[0] || parts != 3 || (*p != ' ' && *p != '\0')) {
			tlsp_schema_error(
				c, y, where,
				"'reply': enhanced status code must be %c.x.y "
				"to match %.3s",
				s[0], s);
			return -1;
		}
	}
	if (reply_placeholders(c, y, where) < 0)
		return -1;
	return s[0];
}

int
tlsp_schema_when(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
		 const char *where, const char *key, int end_of_day,
		 int64_t *out, int *is_date)
{
	const char *why;
	char b[64];
	int d;

	if (want_scalar(c, y, where, key, "a date") < 0)
		return -1;
	if (tlsp_tz_parse_when(c->pol->tz, y->str, end_of_day, out,
			       is_date ? is_date : &d, &why) == 0)
		return 0;
	tlsp_schema_error(c, y, where, "%s '%s': %s", key,
			  shown(y, b, sizeof(b)), why);
	return -1;
}
