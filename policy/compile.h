/*
 * compile.h - shared by the policy compiler's parts: compile.c walks the
 * document's structure (top level, profiles, rules), schema.c reads and
 * checks single values (tlsp_schema_*), settings.c reads the `milter:` and
 * `audit:` sections. All report through struct tlsp_compile_ctx.
 */
#ifndef TLSP_COMPILE_H
#define TLSP_COMPILE_H

#include "internal.h"
#include "ytree.h"

struct tlsp_compile_ctx {
	struct tlsp_policy *pol;
	struct tlsp_arena *a; /* the policy's arena */
	const char *file;
	struct tlsp_diags *d;
	enum tlsp_mta mta;
	int oom;
};

/* Reports an error (or warning) at a node; `where` is the key path, e.g.
 * "recipients: example.com", or NULL. */
void tlsp_schema_error(struct tlsp_compile_ctx *, const struct tlsp_ynode *,
		       const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void tlsp_schema_warn(struct tlsp_compile_ctx *, const struct tlsp_ynode *,
		      const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Value readers: return 0, or -1 after reporting what was expected. */
int tlsp_schema_bool(struct tlsp_compile_ctx *, const struct tlsp_ynode *,
		     const char *where, const char *key, int *out);
int tlsp_schema_int(struct tlsp_compile_ctx *, const struct tlsp_ynode *,
		    const char *where, const char *key, long min, long max,
		    long *out);
/* One of the names of `words` (exact); *out gets its row's code. The
 * message lists the names in the table's order and suggests the nearest. */
int tlsp_schema_word(struct tlsp_compile_ctx *, const struct tlsp_ynode *,
		     const char *where, const char *key,
		     const struct tlsp_name_code *words, int *out);
int tlsp_schema_is_empty(const struct tlsp_ynode *);

int tlsp_schema_version(struct tlsp_compile_ctx *, const struct tlsp_ynode *,
			const char *where, const char *key,
			enum tlsp_version *out);
int tlsp_schema_ciphers(struct tlsp_compile_ctx *, const struct tlsp_ynode *,
			const char *where, struct tlsp_reqs *, unsigned *set);
int tlsp_schema_names(struct tlsp_compile_ctx *, const struct tlsp_ynode *,
		      const char *where, const char *key,
		      struct tlsp_name_pat **out, size_t *n);
int tlsp_schema_fingerprints(struct tlsp_compile_ctx *,
			     const struct tlsp_ynode *, const char *where,
			     struct tlsp_reqs *);
int tlsp_schema_client_addrs(struct tlsp_compile_ctx *,
			     const struct tlsp_ynode *, const char *where,
			     struct tlsp_reqs *);
int tlsp_schema_hosts(struct tlsp_compile_ctx *, const struct tlsp_ynode *,
		      const char *where, struct tlsp_reqs *);
int tlsp_schema_scope(struct tlsp_compile_ctx *, const struct tlsp_ynode *,
		      const char *where, struct tlsp_scope *out, unsigned *set);
#define TLSP_SCOPE_AUTH (1u << 0)
#define TLSP_SCOPE_DAEMONS (1u << 1)
#define TLSP_SCOPE_CLIENTS (1u << 2)

/* A date or date-time (tlsp_tz_parse_when) on the policy's clock; with
 * end_of_day a date means its end. *is_date may be NULL. */
int tlsp_schema_when(struct tlsp_compile_ctx *, const struct tlsp_ynode *,
		     const char *where, const char *key, int end_of_day,
		     int64_t *out, int *is_date);

/* Checks a reply template's syntax: "NNN [N.N.N] text" with %{..}
 * placeholders. Returns the code's class digit ('4' or '5') or -1. */
int tlsp_schema_reply(struct tlsp_compile_ctx *, const struct tlsp_ynode *,
		      const char *where);

/* Reads the `milter:` and `audit:` sections (either may be NULL). */
int tlsp_settings_read(struct tlsp_compile_ctx *,
		       const struct tlsp_ynode *milter,
		       const struct tlsp_ynode *audit,
		       struct tlsp_settings *out);

/* One parsed file of a policy: the main file first, then each included
 * file in load order (pol->files[i] is the same file). */
struct tlsp_source {
	const char *path;
	const struct tlsp_ynode *root;
};

/* Compiles the documents into `pol`, whose arena must be set. The main
 * file (src[0]) says everything; an included file holds rules and
 * include: only. Returns 0, or -1 with errors in *diags (the caller
 * then frees pol). */
int tlsp_compile(struct tlsp_policy *pol, const struct tlsp_source *src,
		 size_t nsrc, enum tlsp_mta mta, struct tlsp_diags *diags);
#endif
