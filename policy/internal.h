/*
 * internal.h - the compiled policy, shared by the loader (load.c,
 * compile.c), the domain table (domtab.c) and the evaluator (evaluate.c).
 * Nothing outside policy/ includes this file, except the unit tests.
 */
#ifndef TLSP_POLICY_INTERNAL_H
#define TLSP_POLICY_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "tlspolicy/policy.h"

/* A client network (CIDR), IPv4 mapped into IPv6 space. */
struct tlsp_cidr {
	uint8_t addr[16];
	unsigned prefix; /* 0..128, in IPv6 bits */
};

/* Which sessions a rule applies to. */
struct tlsp_scope {
	int exempt_authenticated; /* default 1 */
	size_t ndaemons;	  /* 0: every listener */
	char **daemons;		  /* enforce only for these {daemon_name} */
	size_t nclients;
	struct tlsp_cidr *exempt_clients;
};

/* A subject/issuer pattern: a CN ("mx.example", "*.example") or a full DN
 * ("/C=DE/O=Bank/CN=mx.bank.example"), compared case-insensitively. */
struct tlsp_name_pat {
	char *text;
	int full_dn; /* starts with '/' */
};

/*
 * A set of client networks for `client_addr:`, built for a lookup that
 * stays flat with 100,000 entries: the networks are stored masked and
 * grouped by prefix length, one run per distinct length, each with a
 * hash table; a lookup masks the address once per run and probes it.
 */
struct tlsp_cidr_run {
	unsigned prefix;
	size_t start, count;
	uint32_t *slots; /* index + 1 into v; 0 is empty */
	size_t mask;	 /* slots - 1, a power of two minus one */
};
#define TLSP_CIDRSET_SHOWN 8
struct tlsp_cidrset {
	size_t n, nruns;
	struct tlsp_cidr *v;
	struct tlsp_cidr_run *runs;
	/* the first networks in the policy's order, for `required` texts */
	struct tlsp_cidr *shown;
};
struct tlsp_arena;
/* Sorts and indexes `v[0..n-1]` (masked in place) in the arena; 0 or -1. */
int tlsp_cidrset_build(struct tlsp_arena *, struct tlsp_cidr *v, size_t n,
		       struct tlsp_cidrset *out);
/* 1 if addr16 is inside one of the networks. */
int tlsp_cidrset_match(const struct tlsp_cidrset *, const uint8_t addr16[16]);

/* A client host name pattern: "mx.example" (that name), ".example" or
 * "*.example" (any name below it), lowercase, no trailing dot. */
struct tlsp_host_pat {
	char *name;
	int sub;
};

/* The requirements, resolved through the profile chain. */
struct tlsp_reqs {
	unsigned set; /* bit (1u << enum tlsp_req) for each stated req */
	int tls_required;
	enum tlsp_version min_version, max_version;
	int min_cipher_bits;
	size_t nallow, ndeny;
	char **allow_names, **deny_names; /* exact OpenSSL names */
	unsigned allow_families, deny_families;
	int forward_secrecy;
	enum tlsp_cert_state client_cert; /* NONE: no requirement */
	size_t nsubject, nissuer, nfp;
	struct tlsp_name_pat *subject, *issuer;
	char **fingerprints; /* lowercase hex, no colons */
	struct tlsp_cidrset client_addrs;
	size_t nhosts;
	struct tlsp_host_pat *hosts; /* client_name */
};

/*
 * What a rule demands and does, resolved through its profile chain. Rules
 * that only name a profile share the profile's spec, so a million
 * "example.com: baseline" rules cost a pointer each.
 */
struct tlsp_spec {
	struct tlsp_reqs req;
	const struct tlsp_scope *scope; /* the global scope unless overridden */
	enum tlsp_action action;	/* default reject */
	enum tlsp_mode mode;		/* default enforce */
	int on_unobservable_fail;	/* 1: unknown counts as a failure */
	const char *profile;		/* profile name, or NULL */
	char *reply; /* template with %{..}; NULL: default text */
};

enum tlsp_direction {
	TLSP_DIR_RECIPIENT = 0,
	TLSP_DIR_SENDER,
	TLSP_DIR_PAIR, /* pairs: sender > recipient */
};

struct tlsp_rule {
	char *name;	     /* "recipient:example.com" (arena) */
	const char *pattern; /* points into name: "example.com", ".x.org",
				"a.example>.b.example" (a pair),
				"[192.0.2.1]", "default", "<>" */
	const struct tlsp_spec *spec;
	uint32_t line, col; /* where it was defined */
	uint8_t dir;	    /* enum tlsp_direction */
	uint8_t is_default;
};

/*
 * Domain table: open addressing keyed by normalised domain name. Each
 * entry holds the rule for the exact name and the rule for its strict
 * subdomains (".name"), either may be NULL.
 */
struct tlsp_domtab_entry {
	const char *key; /* points into the rule's pattern storage */
	uint32_t hash;
	const struct tlsp_rule *exact;
	const struct tlsp_rule *sub;
};
struct tlsp_domtab {
	struct tlsp_domtab_entry *slots;
	size_t mask; /* capacity - 1, capacity a power of two */
	size_t used;
};

/* Returns 0, or -1 on allocation failure. `key` must outlive the table. */
int tlsp_domtab_init(struct tlsp_domtab *, size_t expected);
/* Inserts or finds the entry for key; returns it or NULL on ENOMEM. */
struct tlsp_domtab_entry *tlsp_domtab_upsert(struct tlsp_domtab *,
					     const char *key);
const struct tlsp_domtab_entry *tlsp_domtab_get(const struct tlsp_domtab *,
						const char *key, size_t len);
/* Most specific rule for a normalised domain: exact, then the longest
 * parent with a subdomain rule. NULL when neither exists. */
const struct tlsp_rule *tlsp_domtab_match(const struct tlsp_domtab *,
					  const char *domain);
void tlsp_domtab_free(struct tlsp_domtab *);

struct tlsp_ruleset {
	struct tlsp_domtab tab;
	const struct tlsp_rule *deflt;	     /* may be NULL */
	const struct tlsp_rule *null_sender; /* senders only; may be NULL */
};

/*
 * Pair rules, keyed by sender pattern: each sender entry's `exact` or
 * `sub` points at a struct tlsp_pairset (cast), whose recipient table
 * holds the pair rules. The sender side is looked up like a sender rule
 * (most specific first), then the recipient in that sender's table.
 */
struct tlsp_pairset {
	struct tlsp_rule hdr; /* what the sender table points at; its line
				 and column are the sender key's */
	struct tlsp_domtab rcpts;
};
static inline struct tlsp_pairset *
tlsp_pairset_of(const struct tlsp_rule *hdr)
{
	return (struct tlsp_pairset *)(void *)((char *)(uintptr_t)hdr -
					       offsetof(struct tlsp_pairset,
							hdr));
}

/*
 * A bump allocator: everything a compiled policy owns lives in one arena
 * and is freed at once, so a million rules cost no per-object malloc
 * overhead and no free() walk. Not thread-safe; used only while loading.
 */
struct tlsp_arena;
struct tlsp_arena *tlsp_arena_new(void);
void *tlsp_arena_alloc(struct tlsp_arena *, size_t); /* zeroed; NULL */
char *tlsp_arena_strndup(struct tlsp_arena *, const char *, size_t);
size_t tlsp_arena_size(const struct tlsp_arena *); /* bytes reserved */
void tlsp_arena_free(struct tlsp_arena *);

struct tlsp_policy {
	atomic_uint refs;
	struct tlsp_arena *arena; /* owns rules, specs, scopes, strings */
	char *path;
	char hash[65];
	struct tlsp_ruleset recipients, senders;
	struct tlsp_domtab pairs; /* sender pattern -> struct tlsp_pairset */
	size_t npairs;
	size_t nrules, nprofiles, nspecs;
	struct tlsp_rule *rules; /* all rules, one array */
	const struct tlsp_scope *global_scope;
	size_t memory;	  /* bytes the compiled policy holds */
	unsigned actions; /* (1u << action) of every enforcing spec */
	struct tlsp_settings settings;
};

/* What `client_cert:` may require, coded as TLSP_CERT_* (names.c). */
extern const struct tlsp_name_code tlsp_client_cert_names[];

/* The %{...} placeholders of a reply template (reply.c): the loader checks
 * against the same table the renderer fills from. */
extern const struct tlsp_name_code tlsp_reply_placeholders[];

/* Renders a spec's reply (or the default reply for the action, with the
 * STARTTLS text when `plaintext`) for `rule` into buf. Policy values only.
 * Returns the length, or -1 if it did not fit. */
int tlsp_reply_render(const struct tlsp_rule *, int plaintext, char *buf,
		      size_t bufsz);

/* Frees everything a policy owns (used by unref and on load failure). */
void tlsp_policy_free(struct tlsp_policy *);

/* Diagnostics helpers (diag.c). Both copy their strings. Return -1 on
 * ENOMEM, else 0. */
int tlsp_diags_add(struct tlsp_diags *, int is_warning, const char *file,
		   unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));


/* Parses a CIDR ("192.0.2.0/24", "2001:db8::/32", or a bare address).
 * Returns 0 or -1. */
int tlsp_cidr_parse(const char *s, struct tlsp_cidr *out);
/* Writes the network as the policy spells it ("192.0.2.0/24"). */
void tlsp_cidr_format(const struct tlsp_cidr *, char *buf, size_t bufsz);
/* Returns 1 if the address (16 bytes, IPv6 space) is inside the network. */
int tlsp_cidr_match(const struct tlsp_cidr *, const uint8_t addr16[16]);
/* Parses a textual IPv4/IPv6 address (also "IPv6:..." and "[...]") into
 * IPv6 space; returns 0 or -1. */
int tlsp_cidr_parse_ip(const char *s, uint8_t out16[16]);

#endif
