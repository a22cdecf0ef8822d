/*
 * settings.c - the daemon's sections of the policy file: `milter:` and
 * `audit:`.
 *
 * They live in the policy file so that one file describes the whole
 * service, and they are read here so that the milter never touches YAML.
 * Settings that only take effect at start (socket, user, pidfile) are
 * still checked on every load, so a reload reports a typo at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compile.h"

static const char *const milter_keys[] = {
    "socket",	     "socket_mode", "user",	   "pidfile",
    "syslog_facility", "on_error",  "tag_header", "authserv_id",
    "strip_forged_headers", "log_decisions",
};
static const char *const audit_keys[] = {
    "file", "sync", "key_file", "addresses", "pseudonym_key_file",
    "checkpoint",
};
static const char *const address_words[] = {"full", "pseudonymize", "domain"};
static const char *const on_error_words[] = {"tempfail", "reject", "accept"};
static const char *const strip_words[] = {"auto", "never", "always"};
static const char *const log_words[] = {"actions", "all", "none"};
static const char *const sync_words[] = {"batch", "always", "none"};
static const char *const facilities[] = {
    "mail",   "daemon", "user",	  "local0", "local1", "local2",
    "local3", "local4", "local5", "local6", "local7",
};

/* A scalar copied into the policy's arena, with no control characters. */
static const char *
text(struct tlsp_compile_ctx *c, const struct ynode *v, const char *where,
     const char *key, size_t max)
{
	size_t i;

	if (v->type != YNODE_SCALAR || tlsp_schema_is_empty(v) || v->len > max) {
		tlsp_schema_error(c, v, where, "'%s' expects a string of 1 to %zu "
				  "characters, found %s", key, max, tlsp_ytree_kind(v));
		return NULL;
	}
	for (i = 0; i < v->len; i++)
		if ((unsigned char)v->str[i] < 0x20 || v->str[i] == 0x7f) {
			tlsp_schema_error(c, v, where, "'%s' must not contain control "
					  "characters", key);
			return NULL;
		}
	return tlsp_arena_strndup(c->a, v->str, v->len);
}

static const char *
path(struct tlsp_compile_ctx *c, const struct ynode *v, const char *where,
     const char *key)
{
	const char *s = text(c, v, where, key, 4000);

	if (s && s[0] != '/') {
		tlsp_schema_error(c, v, where, "'%s' must be an absolute path, found "
				  "'%.80s'", key, s);
		return NULL;
	}
	return s;
}

static const char *
socket_spec(struct tlsp_compile_ctx *c, const struct ynode *v, const char *where)
{
	static const char *const kinds[] = {"unix:", "local:", "inet:",
					    "inet6:"};
	const char *s = text(c, v, where, "socket", 4000);
	size_t i;

	for (i = 0; s && i < 4; i++)
		if (strncmp(s, kinds[i], strlen(kinds[i])) == 0 &&
		    s[strlen(kinds[i])] != '\0')
			return s;
	if (s)
		tlsp_schema_error(c, v, where, "'socket' expects unix:/path, "
				  "inet:port@address or inet6:port@address, found "
				  "'%.80s'", s);
	return NULL;
}

/* A header field name (RFC 5322: printable ASCII except ':'). */
static const char *
header_name(struct tlsp_compile_ctx *c, const struct ynode *v, const char *where)
{
	const char *s = text(c, v, where, "tag_header", 64);
	size_t i;

	for (i = 0; s && s[i]; i++)
		if (s[i] <= ' ' || s[i] == ':' || (unsigned char)s[i] > 126) {
			tlsp_schema_error(c, v, where, "'tag_header': '%.64s' is not a "
					  "header field name", s);
			return NULL;
		}
	return s;
}

/* The authserv-id goes into a header: a token, like a host name. */
static const char *
token(struct tlsp_compile_ctx *c, const struct ynode *v, const char *where,
      const char *key)
{
	const char *s = text(c, v, where, key, 255);

	if (s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
			   "YZ0123456789.-_") != strlen(s)) {
		tlsp_schema_error(c, v, where, "'%s': '%.64s' may hold only letters, "
				  "digits, '.', '-' and '_'", key, s);
		return NULL;
	}
	return s;
}

static int
milter_key(struct tlsp_compile_ctx *c, int k, const struct ynode *v, struct tlsp_settings *st)
{
	const char *w = "milter";
	long mode;
	int x;

	switch (k) {
	case 0:
		return (st->socket = socket_spec(c, v, w)) ? 0 : -1;
	case 1:
		/* Octal, as chmod takes it: "0660" or 660. */
		if (v->type != YNODE_SCALAR || v->len > 4 ||
		    strspn(v->str, "01234567") != v->len || v->len < 3) {
			tlsp_schema_error(c, v, w, "'socket_mode' expects an octal mode "
					  "like 0660");
			return -1;
		}
		mode = strtol(v->str, NULL, 8);
		st->socket_mode = (unsigned)mode;
		return 0;
	case 2:
		return (st->user = text(c, v, w, "user", 128)) ? 0 : -1;
	case 3:
		return (st->pidfile = path(c, v, w, "pidfile")) ? 0 : -1;
	case 4:
		if (tlsp_schema_word(c, v, w, "syslog_facility", facilities, 11, &x) < 0)
			return -1;
		st->syslog_facility = facilities[x];
		return 0;
	case 5:
		if (tlsp_schema_word(c, v, w, "on_error", on_error_words, 3, &x) < 0)
			return -1;
		st->on_error = (enum tlsp_on_error)x;
		if (x == TLSP_ON_ERROR_ACCEPT)
			tlsp_schema_warn(c, v, w, "'on_error: accept' lets mail through "
					 "when the milter cannot decide or record");
		return 0;
	case 6:
		return (st->tag_header = header_name(c, v, w)) ? 0 : -1;
	case 7:
		return (st->authserv_id = token(c, v, w, "authserv_id")) ? 0 : -1;
	case 8:
		if (tlsp_schema_word(c, v, w, "strip_forged_headers", strip_words, 3,
				     &x) < 0)
			return -1;
		st->strip_forged = x == 0 ? -1 : x == 2;
		return 0;
	default:
		if (tlsp_schema_word(c, v, w, "log_decisions", log_words, 3, &x) < 0)
			return -1;
		st->log_decisions = (enum tlsp_log_decisions)x;
		return 0;
	}
}

/* Walks one section, dispatching each known key to `fn`. */
static int
section(struct tlsp_compile_ctx *c, const struct ynode *y, const char *name,
	const char *const *keys, size_t nkeys,
	int (*fn)(struct tlsp_compile_ctx *, int, const struct ynode *,
		  struct tlsp_settings *),
	struct tlsp_settings *st)
{
	size_t i, k;
	int rc = 0;

	if (tlsp_schema_is_empty(y))
		return 0;
	if (y->type != YNODE_MAP) {
		tlsp_schema_error(c, y, NULL, "'%s' expects a mapping, found %s", name,
				  tlsp_ytree_kind(y));
		return -1;
	}
	for (i = 0; i < y->n; i++) {
		const struct ynode *key = y->kids[2 * i];

		for (k = 0; k < nkeys; k++)
			if (key->type == YNODE_SCALAR && strcmp(key->str, keys[k]) == 0)
				break;
		if (k == nkeys) {
			const char *near = key->type == YNODE_SCALAR
					       ? tlsp_suggest(key->str, keys, nkeys)
					       : NULL;

			tlsp_schema_error(c, key, name, "unknown key '%.64s'%s%s%s",
					  key->type == YNODE_SCALAR ? key->str : "?",
					  near ? "; did you mean '" : "", near ? near : "",
					  near ? "'?" : "");
			rc = -1;
		} else if (fn(c, (int)k, y->kids[2 * i + 1], st) < 0) {
			rc = -1;
		}
	}
	return rc;
}

static int
audit_key(struct tlsp_compile_ctx *c, int k, const struct ynode *v, struct tlsp_settings *st)
{
	long n;
	int x;

	switch (k) {
	case 0:
		return (st->audit_file = path(c, v, "audit", "file")) ? 0 : -1;
	case 1:
		if (tlsp_schema_word(c, v, "audit", "sync", sync_words, 3, &x) < 0)
			return -1;
		st->audit_sync = x;
		return 0;
	case 2:
		return (st->audit_key_file = path(c, v, "audit", "key_file"))
			       ? 0
			       : -1;
	case 3:
		if (tlsp_schema_word(c, v, "audit", "addresses", address_words, 3, &x) < 0)
			return -1;
		st->audit_addresses = x;
		st->audit_addresses_node = v;
		return 0;
	case 4:
		return (st->audit_pseudonym_key_file =
				path(c, v, "audit", "pseudonym_key_file"))
			       ? 0
			       : -1;
	default:
		if (tlsp_schema_int(c, v, "audit", "checkpoint", 0, 86400, &n) < 0)
			return -1;
		st->audit_checkpoint = (int)n;
		return 0;
	}
}

int
tlsp_settings_read(struct tlsp_compile_ctx *c, const struct ynode *milter,
		   const struct ynode *audit, struct tlsp_settings *st)
{
	int rc = 0;

	memset(st, 0, sizeof(*st));
	st->strip_forged = -1;
	rc |= section(c, milter, "milter", milter_keys,
		      sizeof(milter_keys) / sizeof(milter_keys[0]), milter_key, st);
	st->audit_checkpoint = 60;
	rc |= section(c, audit, "audit", audit_keys,
		      sizeof(audit_keys) / sizeof(audit_keys[0]), audit_key, st);
	if (st->audit_addresses == 1 && st->audit_pseudonym_key_file == NULL) {
		tlsp_schema_error(c, st->audit_addresses_node, "audit",
				  "'addresses: pseudonymize' needs 'pseudonym_key_file' "
				  "(a file of 16 to 4096 secret bytes)");
		rc = -1;
	}
	st->audit_addresses_node = NULL;
	return rc;
}
