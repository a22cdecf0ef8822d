/*
 * compile.h - shared by the policy compiler's two halves: compile.c walks
 * the document's structure (top level, profiles, rules), schema.c reads
 * and checks single values. Both report through struct cctx.
 */
#ifndef TLSP_COMPILE_H
#define TLSP_COMPILE_H

#include "internal.h"
#include "ytree.h"

struct cctx {
	struct tlsp_policy *pol;
	struct tlsp_arena *a; /* the policy's arena */
	const char *file;
	struct tlsp_diags *d;
	enum tlsp_mta mta;
	int oom;
};

/* Reports an error (or warning) at a node; `where` is the key path, e.g.
 * "recipients: example.com", or NULL. */
void cc_error(struct cctx *, const struct ynode *, const char *where,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void cc_warn(struct cctx *, const struct ynode *, const char *where,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Value readers: return 0, or -1 after reporting what was expected. */
int cc_bool(struct cctx *, const struct ynode *, const char *where,
	    const char *key, int *out);
int cc_int(struct cctx *, const struct ynode *, const char *where,
	   const char *key, long min, long max, long *out);
int cc_word(struct cctx *, const struct ynode *, const char *where,
	    const char *key, const char *const *words, size_t n, int *out);
/* A scalar or a list of scalars; items point into the tree. */
int cc_list(struct cctx *, const struct ynode *, const char *where,
	    const char *key, const struct ynode ***items, size_t *n);
int cc_is_empty(const struct ynode *);

int cc_version(struct cctx *, const struct ynode *, const char *where,
	       const char *key, enum tlsp_version *out);
int cc_ciphers(struct cctx *, const struct ynode *, const char *where,
	       struct tlsp_reqs *, unsigned *set);
int cc_names(struct cctx *, const struct ynode *, const char *where,
	     const char *key, struct tlsp_name_pat **out, size_t *n);
int cc_fingerprints(struct cctx *, const struct ynode *, const char *where,
		    struct tlsp_reqs *);
int cc_scope(struct cctx *, const struct ynode *, const char *where,
	     struct tlsp_scope *out, unsigned *set);
#define SCOPE_AUTH (1u << 0)
#define SCOPE_DAEMONS (1u << 1)
#define SCOPE_CLIENTS (1u << 2)

/* Checks a reply template's syntax: "NNN [N.N.N] text" with %{..}
 * placeholders. Returns the code's class digit ('4' or '5') or -1. */
int cc_reply(struct cctx *, const struct ynode *, const char *where);



/* Reads the `milter:` and `audit:` sections (either may be NULL). */
int cc_settings(struct cctx *, const struct ynode *milter,
		const struct ynode *audit, struct tlsp_settings *out);

/* Compiles a document into `pol`, whose arena must be set. Returns 0, or
 * -1 with errors in *diags (the caller then frees pol). */
int tlsp_compile(struct tlsp_policy *pol, const struct ynode *root,
		 const char *file, enum tlsp_mta mta, struct tlsp_diags *diags);
#endif
