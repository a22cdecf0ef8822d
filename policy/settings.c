/*
 * settings.c - the daemon's sections of the policy file: `milter:` and
 * `audit:`.
 *
 * They live in the policy file so that one file describes the whole
 * service, and they are read here so that the milter never touches YAML.
 * Settings that only take effect at start (socket, user, pidfile) are
 * still checked on every load, so a reload reports a typo at once.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compile.h"
#include "tlspolicy/audit.h"

/* Codes are the values of enum tlsp_audit_addresses (audit.h). */
static const struct tlsp_name_code address_words[] = {
	{"full", TLSP_AUDIT_ADDR_FULL},
	{"pseudonymize", TLSP_AUDIT_ADDR_PSEUDONYMIZE},
	{"domain", TLSP_AUDIT_ADDR_DOMAIN},
	{NULL, -1},
};
/* Codes are the values of enum tlsp_audit_sync (audit.h). */
static const struct tlsp_name_code sync_words[] = {
	{"batch", TLSP_SYNC_BATCH},
	{"always", TLSP_SYNC_ALWAYS},
	{"none", TLSP_SYNC_NONE},
	{NULL, -1},
};
/* Codes are the values of tlsp_settings.strip_forged (enum tlsp_strip). */
static const struct tlsp_name_code strip_words[] = {
	{"auto", TLSP_STRIP_AUTO},
	{"never", TLSP_STRIP_NEVER},
	{"always", TLSP_STRIP_ALWAYS},
	{"mta", TLSP_STRIP_MTA},
	{NULL, -1},
};

/* A scalar copied into the policy's arena, with no control characters. */
static const char *
text(struct tlsp_compile_ctx *c, const struct tlsp_ynode *v, const char *where,
     const char *key, size_t max)
{
	size_t i;

	if (v->type != TLSP_YNODE_SCALAR || tlsp_schema_is_empty(v) ||
	    v->len > max) {
		tlsp_schema_error(c, v, where,
				  "'%s' expects a string of 1 to %zu "
				  "characters, found %s",
				  key, max, tlsp_ytree_kind(v));
		return NULL;
	}
	for (i = 0; i < v->len; i++)
		if ((unsigned char)v->str[i] < 0x20 || v->str[i] == 0x7f) {
			tlsp_schema_error(c, v, where,
					  "'%s' must not contain control "
					  "characters",
					  key);
			return NULL;
		}
	return tlsp_arena_strndup(c->a, v->str, v->len);
}

static const char *
path(struct tlsp_compile_ctx *c, const struct tlsp_ynode *v, const char *where,
     const char *key)
{
	const char *s = text(c, v, where, key, 4000);

	if (s && s[0] != '/') {
		tlsp_schema_error(c, v, where,
				  "'%s' must be an absolute path, found "
				  "'%.80s'",
				  key, s);
		return NULL;
	}
	return s;
}

static const char *
socket_spec(struct tlsp_compile_ctx *c, const struct tlsp_ynode *v,
	    const char *where)
{
	static const char *const kinds[] = {
		"unix:", "local:", "inet:", "inet6:"};
	const char *s = text(c, v, where, "socket", 4000);
	size_t i;

	for (i = 0; s && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncmp(s, kinds[i], strlen(kinds[i])) == 0 &&
		    s[strlen(kinds[i])] != '\0')
			return s;
	if (s)
		tlsp_schema_error(
			c, v, where,
			"'socket' expects unix:/path, "
			"inet:port@address or inet6:port@address, found "
			"'%.80s'",
			s);
	return NULL;
}

/* A header field name (RFC 5322: printable ASCII except ':'). */
static const char *
header_name(struct tlsp_compile_ctx *c, const struct tlsp_ynode *v,
	    const char *where)
{
	const char *s = text(c, v, where, "tag_header", 64);
	size_t i;

	for (i = 0; s && s[i]; i++)
		if (s[i] <= ' ' || s[i] == ':' || (unsigned char)s[i] > 126) {
			tlsp_schema_error(c, v, where,
					  "'tag_header': '%.64s' is not a "
					  "header field name",
					  s);
			return NULL;
		}
	return s;
}

/* The authserv-id goes into a header: a token, like a host name. */
static const char *
token(struct tlsp_compile_ctx *c, const struct tlsp_ynode *v, const char *where,
      const char *key)
{
	const char *s = text(c, v, where, key, 255);

	if (s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
			   "YZ0123456789.-_") != strlen(s)) {
		tlsp_schema_error(c, v, where,
				  "'%s': '%.64s' may hold only letters, "
				  "digits, '.', '-' and '_'",
				  key, s);
		return NULL;
	}
	return s;
}

/*
 * The keys of `milter:` and `audit:`, one row each: the key, the handler
 * that reads its value, and where the value goes (a field of struct
 * tlsp_settings, and for words the table of its values). Messages name
 * the key by the row's name.
 */
struct setting {
	const char *name;
	int (*read)(struct tlsp_compile_ctx *, const struct setting *,
		    const struct tlsp_ynode *, const char *where,
		    struct tlsp_settings *);
	size_t off; /* the field of struct tlsp_settings */
	const struct tlsp_name_code *words;
};
#define FIELD(st, set, type) ((type *)(void *)((char *)(st) + (set)->off))
#define AT(field) offsetof(struct tlsp_settings, field)

static int
read_socket(struct tlsp_compile_ctx *c, const struct setting *k,
	    const struct tlsp_ynode *v, const char *where,
	    struct tlsp_settings *st)
{
	return (*FIELD(st, k, const char *) = socket_spec(c, v, where)) ? 0
									: -1;
}

/* Octal, as chmod takes it: "0660" or 660. */
static int
read_mode(struct tlsp_compile_ctx *c, const struct setting *k,
	  const struct tlsp_ynode *v, const char *where,
	  struct tlsp_settings *st)
{
	unsigned mode;

	if (v->type != TLSP_YNODE_SCALAR || v->len > 4 ||
	    strspn(v->str, "01234567") != v->len || v->len < 3) {
		tlsp_schema_error(c, v, where,
				  "'socket_mode' expects an octal "
				  "mode like 0660");
		return -1;
	}
	mode = (unsigned)strtol(v->str, NULL, 8);
	if (mode > 0777) {
		tlsp_schema_error(c, v, where,
				  "'socket_mode' %s: setuid, setgid and sticky "
				  "bits mean nothing on a socket; expected a "
				  "mode like 0660",
				  v->str);
		return -1;
	}
	if ((mode & 0600) != 0600) {
		tlsp_schema_error(c, v, where,
				  "'socket_mode' %s: the owner must read and "
				  "write the socket (0600 at least; the MTA's "
				  "group needs 0660)",
				  v->str);
		return -1;
	}
	*FIELD(st, k, unsigned) = mode;
	return 0;
}

static int
read_user(struct tlsp_compile_ctx *c, const struct setting *k,
	  const struct tlsp_ynode *v, const char *where,
	  struct tlsp_settings *st)
{
	return (*FIELD(st, k, const char *) = text(c, v, where, k->name, 128))
		       ? 0
		       : -1;
}

static int
read_path(struct tlsp_compile_ctx *c, const struct setting *k,
	  const struct tlsp_ynode *v, const char *where,
	  struct tlsp_settings *st)
{
	const char *s = path(c, v, where, k->name);

	*FIELD(st, k, const char *) = s;
	return s ? 0 : -1;
}

static int
read_facility(struct tlsp_compile_ctx *c, const struct setting *k,
	      const struct tlsp_ynode *v, const char *where,
	      struct tlsp_settings *st)
{
	int x;

	if (tlsp_schema_word(c, v, where, k->name, k->words, &x) < 0)
		return -1;
	*FIELD(st, k, const char *) = tlsp_code_name(k->words, x);
	return 0;
}

static int
read_on_error(struct tlsp_compile_ctx *c, const struct setting *k,
	      const struct tlsp_ynode *v, const char *where,
	      struct tlsp_settings *st)
{
	int x;

	if (tlsp_schema_word(c, v, where, k->name, k->words, &x) < 0)
		return -1;
	*FIELD(st, k, enum tlsp_on_error) = (enum tlsp_on_error)x;
	if (x == TLSP_ON_ERROR_ACCEPT)
		tlsp_schema_warn(c, v, where,
				 "'on_error: accept' lets mail "
				 "through when the milter cannot decide or "
				 "record");
	return 0;
}

static int
read_header(struct tlsp_compile_ctx *c, const struct setting *k,
	    const struct tlsp_ynode *v, const char *where,
	    struct tlsp_settings *st)
{
	return (*FIELD(st, k, const char *) = header_name(c, v, where)) ? 0
									: -1;
}

static int
read_token(struct tlsp_compile_ctx *c, const struct setting *k,
	   const struct tlsp_ynode *v, const char *where,
	   struct tlsp_settings *st)
{
	return (*FIELD(st, k, const char *) = token(c, v, where, k->name)) ? 0
									   : -1;
}

static int
read_log(struct tlsp_compile_ctx *c, const struct setting *k,
	 const struct tlsp_ynode *v, const char *where,
	 struct tlsp_settings *st)
{
	int x;

	if (tlsp_schema_word(c, v, where, k->name, k->words, &x) < 0)
		return -1;
	*FIELD(st, k, enum tlsp_log_decisions) = (enum tlsp_log_decisions)x;
	return 0;
}

/* A word stored as its code in an int field. */
static int
read_word(struct tlsp_compile_ctx *c, const struct setting *k,
	  const struct tlsp_ynode *v, const char *where,
	  struct tlsp_settings *st)
{
	return tlsp_schema_word(c, v, where, k->name, k->words,
				FIELD(st, k, int));
}

static int
read_addresses(struct tlsp_compile_ctx *c, const struct setting *k,
	       const struct tlsp_ynode *v, const char *where,
	       struct tlsp_settings *st)
{
	if (read_word(c, k, v, where, st) < 0)
		return -1;
	st->audit_addresses_node = v;
	return 0;
}

static int
read_spill(struct tlsp_compile_ctx *c, const struct setting *k,
	   const struct tlsp_ynode *v, const char *where,
	   struct tlsp_settings *st)
{
	if (read_path(c, k, v, where, st) < 0)
		return -1;
	st->audit_spill_node = v;
	return 0;
}

static int
read_checkpoint(struct tlsp_compile_ctx *c, const struct setting *k,
		const struct tlsp_ynode *v, const char *where,
		struct tlsp_settings *st)
{
	long n;

	if (tlsp_schema_int(c, v, where, k->name, 0, 86400, &n) < 0)
		return -1;
	*FIELD(st, k, int) = (int)n;
	return 0;
}

/* An integer within the row's bounds (read_bounded's table below). */
struct bounds {
	const char *key;
	long lo, hi;
};
static const struct bounds int_bounds[] = {
	{"metrics_interval", 1, 3600},
	{"partner_window", 1, 1000},
	{"partners_max", 1, 1000000},
	{NULL, 0, 0},
};

static int
read_bounded(struct tlsp_compile_ctx *c, const struct setting *k,
	     const struct tlsp_ynode *v, const char *where,
	     struct tlsp_settings *st)
{
	const struct bounds *b = int_bounds;
	long n;

	while (b->key != NULL && strcmp(b->key, k->name) != 0)
		b++;
	if (b->key == NULL ||
	    tlsp_schema_int(c, v, where, k->name, b->lo, b->hi, &n) < 0)
		return -1;
	*FIELD(st, k, int) = (int)n;
	return 0;
}

/* node_exporter's textfile collector reads only files named *.prom. */
static int
read_prom(struct tlsp_compile_ctx *c, const struct setting *k,
	  const struct tlsp_ynode *v, const char *where,
	  struct tlsp_settings *st)
{
	const char *s = path(c, v, where, k->name);
	size_t n = s ? strlen(s) : 0;

	if (s &&
	    (n < 6 || strcmp(s + n - 5, ".prom") != 0 || s[n - 6] == '/')) {
		tlsp_schema_error(c, v, where,
				  "'%s' must name a file ending in .prom (the "
				  "textfile collector reads no other), found "
				  "'%.80s'",
				  k->name, s);
		return -1;
	}
	*FIELD(st, k, const char *) = s;
	return s ? 0 : -1;
}

static const struct setting milter_keys[] = {
	{"socket", read_socket, AT(socket), NULL},
	{"socket_mode", read_mode, AT(socket_mode), NULL},
	{"user", read_user, AT(user), NULL},
	{"pidfile", read_path, AT(pidfile), NULL},
	{"syslog_facility", read_facility, AT(syslog_facility),
	 tlsp_syslog_facility_names},
	{"on_error", read_on_error, AT(on_error), tlsp_on_error_names},
	{"tag_header", read_header, AT(tag_header), NULL},
	{"authserv_id", read_token, AT(authserv_id), NULL},
	{"strip_forged_headers", read_word, AT(strip_forged), strip_words},
	{"log_decisions", read_log, AT(log_decisions),
	 tlsp_log_decisions_names},
	{"metrics_file", read_prom, AT(metrics_file), NULL},
	{"metrics_interval", read_bounded, AT(metrics_interval), NULL},
	{"partner_window", read_bounded, AT(partner_window), NULL},
	{"partners_max", read_bounded, AT(partners_max), NULL},
	{NULL, NULL, 0, NULL},
};

static const struct setting audit_keys[] = {
	{"file", read_path, AT(audit_file), NULL},
	{"sync", read_word, AT(audit_sync), sync_words},
	{"key_file", read_path, AT(audit_key_file), NULL},
	{"addresses", read_addresses, AT(audit_addresses), address_words},
	{"pseudonym_key_file", read_path, AT(audit_pseudonym_key_file), NULL},
	{"checkpoint", read_checkpoint, AT(audit_checkpoint), NULL},
	{"spill", read_spill, AT(audit_spill), NULL},
	{NULL, NULL, 0, NULL},
};

static const struct setting *
find_setting(const struct setting *keys, const char *name)
{
	for (; keys->name != NULL; keys++)
		if (strcmp(name, keys->name) == 0)
			return keys;
	return NULL;
}

static void
unknown_setting(struct tlsp_compile_ctx *c, const struct tlsp_ynode *key,
		const char *name, const struct setting *keys)
{
	const char *names[32], *near = NULL;
	size_t n = 0;

	for (; keys[n].name != NULL && n < 32; n++)
		names[n] = keys[n].name;
	if (key->type == TLSP_YNODE_SCALAR)
		near = tlsp_diag_suggest(key->str, names, n);
	tlsp_schema_error(c, key, name, "unknown key '%.64s'%s%s%s",
			  key->type == TLSP_YNODE_SCALAR ? key->str : "?",
			  near ? "; did you mean '" : "", near ? near : "",
			  near ? "'?" : "");
}

/* Walks one section, reading each key by its row. */
static int
section(struct tlsp_compile_ctx *c, const struct tlsp_ynode *y,
	const char *name, const struct setting *keys, struct tlsp_settings *st)
{
	size_t i;
	int rc = 0;

	if (tlsp_schema_is_empty(y))
		return 0;
	if (y->type != TLSP_YNODE_MAP) {
		tlsp_schema_error(c, y, NULL,
				  "'%s' expects a mapping, found %s", name,
				  tlsp_ytree_kind(y));
		return -1;
	}
	for (i = 0; i < y->n; i++) {
		const struct tlsp_ynode *key = y->kids[2 * i];
		const struct setting *k;

		k = key->type == TLSP_YNODE_SCALAR
			    ? find_setting(keys, key->str)
			    : NULL;
		if (k == NULL) {
			unknown_setting(c, key, name, keys);
			rc = -1;
		} else if (k->read(c, k, y->kids[2 * i + 1], name, st) < 0) {
			rc = -1;
		}
	}
	return rc;
}

int
tlsp_settings_read(struct tlsp_compile_ctx *c, const struct tlsp_ynode *milter,
		   const struct tlsp_ynode *audit, struct tlsp_settings *st)
{
	int rc = 0;

	memset(st, 0, sizeof(*st));
	st->strip_forged = TLSP_STRIP_AUTO;
	st->metrics_interval = 15;
	st->partner_window = 20;
	st->partners_max = 10000;
	rc |= section(c, milter, "milter", milter_keys, st);
	st->audit_checkpoint = 60;
	rc |= section(c, audit, "audit", audit_keys, st);
	if (st->audit_addresses == TLSP_AUDIT_ADDR_PSEUDONYMIZE &&
	    st->audit_pseudonym_key_file == NULL) {
		tlsp_schema_error(c, st->audit_addresses_node, "audit",
				  "'addresses: pseudonymize' needs "
				  "'pseudonym_key_file' (a file of 16 to 4096 "
				  "secret bytes)");
		rc = -1;
	}
	if (st->audit_spill != NULL && st->audit_file == NULL)
		tlsp_schema_warn(c, st->audit_spill_node, "audit",
				 "'spill' does nothing without 'file'");
	if (st->audit_spill != NULL && st->audit_file != NULL &&
	    strcmp(st->audit_spill, st->audit_file) == 0) {
		tlsp_schema_error(c, st->audit_spill_node, "audit",
				  "'spill' must name another file than "
				  "'file'");
		rc = -1;
	}
	st->audit_addresses_node = NULL;
	st->audit_spill_node = NULL;
	return rc;
}
