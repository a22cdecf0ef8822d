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
/* 1 if name (lowercase, no trailing dot) matches the pattern. */
int tlsp_host_match(const struct tlsp_host_pat *, const char *name);

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
	/* mode monitor until this instant, enforce from it; 0: never */
	int64_t enforce_from;
	unsigned compliance; /* compliance: tags, the profiles' included */
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
	uint16_t file; /* in tlsp_policy.files: 0 the main file (padding) */
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

/* A file the policy was read from: the main file, or one it included. */
struct tlsp_policy_file {
	const char *path; /* as resolved: the including file's directory +
			     the include pattern's match (arena) */
	char hash[65];	  /* SHA-256 of its bytes, lowercase hex */
};

/* Bounds on include: (tlspolicy.yaml(5), "Split policies"). */
#define TLSP_INCLUDE_MAX_DEPTH 8
#define TLSP_INCLUDE_MAX_FILES 4096
/*
 * An exception: in force until `expires`, it waives the requirements of
 * `waive` for mail whose sender, recipient and client match every
 * selector it states (a list matches if any of its items does). Domain
 * patterns are normalised, "." first for subdomains only.
 */
struct tlsp_exception {
	char *name, *reason, *owner, *ticket; /* ticket may be NULL */
	int64_t expires;
	unsigned waive; /* (1u << enum tlsp_req) bits */
	size_t nsenders, nrecipients, nclients;
	char **senders, **recipients;
	struct tlsp_cidr *clients;
	uint32_t line, col, index; /* index: position in the file */
	uint8_t expires_is_date;
};

/* Exceptions by selector: a multimap from a key (a domain pattern, or a
 * prefix length and masked address) to the exceptions that state it, so
 * that lookup cost does not grow with the number of exceptions. */
struct tlsp_exlink {
	const struct tlsp_exception *ex;
	struct tlsp_exlink *next;
};
struct tlsp_exslot {
	const unsigned char *key; /* arena; NULL: empty */
	uint32_t len, hash;
	struct tlsp_exlink *list;
};
struct tlsp_exmap {
	struct tlsp_exslot *slots; /* arena; sized once */
	size_t mask, used;
};
struct tlsp_exindex {
	struct tlsp_exmap senders, recipients, clients;
	uint8_t prefixes[129]; /* distinct client prefix lengths, longest 1st */
	size_t nprefixes;
	/* For exceptions that name recipients only (no sender, no client),
	 * which any sender may meet: per requirement, the latest end of
	 * those that waive it (0: none). What MAIL needs, in O(1). */
	int64_t rcpt_only_until[TLSP_REQ_COUNT];
};

/* Time zones (tz.c): read once at compile time, never through TZ. */
struct tlsp_tz;
/* Loads a zone of the tz database ("UTC" needs no file). NULL with a
 * static reason in *why. Free with tlsp_tz_free (NULL is fine). */
struct tlsp_tz *tlsp_tz_load(const char *name, const char **why);
void tlsp_tz_free(struct tlsp_tz *);
const char *tlsp_tz_name(const struct tlsp_tz *); /* NULL tz: "UTC" */
/* Seconds east of UTC at instant t (a NULL tz is UTC). */
long tlsp_tz_offset(const struct tlsp_tz *, int64_t t);
/* The instant of a wall-clock time (seconds since the epoch as if UTC). */
int64_t tlsp_tz_from_local(const struct tlsp_tz *, int64_t local);
/* "2027-01-31" (its start, or with end_of_day its end: the next day's
 * midnight in tz) or "2027-01-31T18:00[:00](Z|+HH:MM)". Returns 0, or -1
 * with a static reason in *why. *is_date tells which form it was. */
int tlsp_tz_parse_when(const struct tlsp_tz *, const char *s, int end_of_day,
		       int64_t *out, int *is_date, const char **why);
/* "2027-01-31T23:00:00+01:00" (Z at offset 0), on tz's wall clock. */
void tlsp_tz_format(const struct tlsp_tz *, int64_t t, char *buf, size_t bufsz);
/* The zone name of the database nearest `name` into out, or "". */
void tlsp_tz_suggest(const char *name, char *out, size_t outsz);

struct tlsp_policy {
	atomic_uint refs;
	struct tlsp_arena *arena; /* owns rules, specs, scopes, strings */
	char *path;
	char hash[65]; /* the main file's, or over every file's: policy.c */
	struct tlsp_policy_file *files; /* load order; [0] the main file */
	size_t nfiles;
	struct tlsp_ruleset recipients, senders;
	struct tlsp_domtab pairs; /* sender pattern -> struct tlsp_pairset */
	size_t npairs;
	size_t nrules, nprofiles, nspecs;
	struct tlsp_rule *rules; /* all rules, one array */
	const struct tlsp_scope *global_scope;
	size_t memory;	  /* bytes the compiled policy holds */
	unsigned actions; /* (1u << action) of every enforcing spec */
	struct tlsp_settings settings;
	struct tlsp_tz *tz; /* timezone:, NULL for UTC; heap */
	size_t nexceptions;
	struct tlsp_exception *exceptions;	 /* in file order (arena) */
	const struct tlsp_exception **by_expiry; /* ascending (arena) */
	struct tlsp_exindex exidx;
	size_t nscheduled; /* rules with an enforce_from */
	/* the specs with client_addr or client_name, each once (arena) */
	const struct tlsp_spec **client_specs;
	size_t nclient_specs;
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

/* Reads a whole regular file as a policy file is read (policy.c): not
 * blocking on a FIFO, capped at TLSP_POLICY_MAX_BYTES, a warning when
 * anyone may change it. Returns a malloc'd, NUL-terminated copy and its
 * length (and its stat, if stp), or NULL with an error in *diags. */
struct stat;
char *tlsp_policy_read_file(const char *path, size_t *len, struct stat *stp,
			    struct tlsp_diags *diags);

/* Frees everything a policy owns (used by unref and on load failure). */
void tlsp_policy_free(struct tlsp_policy *);

/* Diagnostics helpers (diag.c). Both copy their strings. Return -1 on
 * ENOMEM, else 0. */
int tlsp_diags_add(struct tlsp_diags *, int is_warning, const char *file,
		   unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));


/* exception.c: reads `exceptions:` (after `timezone:`) and builds the
 * index, all in the policy's arena. */
struct tlsp_compile_ctx;
struct tlsp_ynode;
int tlsp_exception_read(struct tlsp_compile_ctx *,
			const struct tlsp_ynode *list);
/* The exceptions in force at `now` that match the envelope and client,
 * at most `max`, in file order; a NULL sender or recipient matches only
 * exceptions that do not name one (with any_rcpt, the recipient is not
 * known yet: those found by sender or client that name one match too). */
size_t tlsp_exception_match(const struct tlsp_policy *, const char *sender,
			    const char *recipient, int any_rcpt,
			    const uint8_t *client16, int64_t now,
			    const struct tlsp_exception **out, size_t max);

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
