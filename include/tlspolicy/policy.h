/*
 * policy.h - the public interface of the policy engine (policy/).
 *
 * The engine turns a YAML policy file into an immutable, reference-counted
 * compiled policy, and a session's TLS facts plus an envelope into a
 * verdict. It is pure: no libmilter, no syslog, no global state. Errors are
 * returned as values carrying "file:line:col: message".
 *
 * Thread safety: a compiled policy is immutable once tlsp_policy_load()
 * returns it; any number of threads may evaluate against it at once.
 * tlsp_policy_ref()/tlsp_policy_unref() are atomic.
 */
#ifndef TLSPOLICY_POLICY_H
#define TLSPOLICY_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- enums */

/* Which MTA sent the macros; it decides how certificate facts are read. */
enum tlsp_mta {
	TLSP_MTA_UNKNOWN = 0,
	TLSP_MTA_POSTFIX,
	TLSP_MTA_SENDMAIL,
};

/* Protocol versions in increasing order of strength. */
enum tlsp_version {
	TLSP_VER_NONE = 0, /* plaintext: no {tls_version} */
	TLSP_VER_UNKNOWN,  /* a {tls_version} we cannot order */
	TLSP_VER_SSLV2,
	TLSP_VER_SSLV3,
	TLSP_VER_TLSV1,
	TLSP_VER_TLSV1_1,
	TLSP_VER_TLSV1_2,
	TLSP_VER_TLSV1_3,
};

/*
 * What the evidence says about the client certificate. Postfix sends
 * {cert_subject} only for a trusted chain, so "no subject" there means
 * "none or not verified" (NOT_VERIFIED); Sendmail sends the subject of any
 * presented certificate and the verdict in {verify}, which an unconfigured
 * Sendmail omits (PRESENTED_UNKNOWN).
 */
enum tlsp_cert_state {
	TLSP_CERT_UNKNOWN = 0,	     /* nothing is known */
	TLSP_CERT_NONE,		     /* no certificate presented */
	TLSP_CERT_PRESENTED,	     /* presented, not verified */
	TLSP_CERT_PRESENTED_UNKNOWN, /* presented; verification unknown */
	TLSP_CERT_NOT_VERIFIED,	     /* none, or presented but not verified */
	TLSP_CERT_VERIFIED,	     /* presented and verified */
};

/*
 * The client's host name as the MTA verified it (forward-confirmed
 * reverse DNS). Postfix and Sendmail both send {client_resolve} (OK, FAIL,
 * FORGED, TEMP) and {client_name}; Postfix's {client_name} is "unknown"
 * unless verified, Sendmail's is "[addr]" for FAIL and FORGED (8.17),
 * and {client_ptr} is the unverified name on both: never read.
 */
enum tlsp_name_state {
	TLSP_NAME_UNKNOWN = 0, /* not shown, or a temporary DNS failure */
	TLSP_NAME_NONE,	       /* no name, or one that does not verify */
	TLSP_NAME_VERIFIED,    /* client_name holds the verified name */
};

/* Ordered by strictness: a larger value wins when rules combine. */
enum tlsp_action {
	TLSP_ACTION_ACCEPT = 0,
	TLSP_ACTION_TAG,
	TLSP_ACTION_QUARANTINE,
	TLSP_ACTION_DEFER,
	TLSP_ACTION_REJECT,
};

enum tlsp_mode {
	TLSP_MODE_ENFORCE = 0,
	TLSP_MODE_MONITOR,
};

/* The requirements a rule can state; a verdict names each one that failed. */
enum tlsp_req {
	TLSP_REQ_TLS = 0, /* tls: required */
	TLSP_REQ_MIN_VERSION,
	TLSP_REQ_MAX_VERSION,
	TLSP_REQ_MIN_CIPHER_BITS,
	TLSP_REQ_CIPHER_ALLOW,
	TLSP_REQ_CIPHER_DENY,
	TLSP_REQ_FORWARD_SECRECY,
	TLSP_REQ_CLIENT_CERT,
	TLSP_REQ_SUBJECT,
	TLSP_REQ_ISSUER,
	TLSP_REQ_FINGERPRINT,
	TLSP_REQ_CLIENT_ADDR, /* client_addr: the client's network */
	TLSP_REQ_CLIENT_NAME, /* client_name: its name, as the MTA verified it */
	TLSP_REQ_COUNT
};

/*
 * Vocabularies (policy/names.c): one table per vocabulary, each row a name
 * and its value, ending with {NULL, -1}. Names are the spellings of the
 * policy file, the logs and the audit records. The tables and every
 * string returned are static: nothing to free, safe from any thread.
 */
struct tlsp_name_code {
	const char *name;
	int code;
};
extern const struct tlsp_name_code tlsp_mta_names[];
extern const struct tlsp_name_code tlsp_version_names[];
extern const struct tlsp_name_code tlsp_cert_state_names[];
extern const struct tlsp_name_code tlsp_name_state_names[];
extern const struct tlsp_name_code tlsp_action_names[];
extern const struct tlsp_name_code tlsp_mode_names[];
extern const struct tlsp_name_code tlsp_req_names[]; /* TLSP_REQ_COUNT rows */
/* The frameworks a rule or profile may be tagged with (`compliance:`);
 * code i is bit 1 << i of tlsp_policy_rule_at's mask. */
extern const struct tlsp_name_code tlsp_compliance_names[];
extern const struct tlsp_name_code tlsp_on_error_names[];
extern const struct tlsp_name_code tlsp_log_decisions_names[];
/* milter.syslog_facility: codes are RFC 5424 facility numbers (mail 2,
 * local0 16), which syslog.h's LOG_* are shifted left by 3. */
extern const struct tlsp_name_code tlsp_syslog_facility_names[];
/* The name of `code` in `tab`, or NULL if the table has no such code. */
const char *tlsp_code_name(const struct tlsp_name_code *tab, int code);
/* The code of `name` (exact match), or -1 if absent or name is NULL (so
 * a table with a -1 code is searched by its rows instead). */
int tlsp_name_code(const struct tlsp_name_code *tab, const char *name);
/* The same, comparing ASCII case-insensitively (not by the locale). */
int tlsp_name_code_fold(const struct tlsp_name_code *tab, const char *name);
/* The number of rows before the {NULL, -1} end. */
size_t tlsp_name_code_count(const struct tlsp_name_code *tab);

/* The wrappers everyone calls: names return NULL for a value outside the
 * enum; lookups return -1 when the name is unknown. Requirement names are
 * exact (YAML keys are case-sensitive); the others fold case. */
const char *tlsp_mta_name(enum tlsp_mta);
const char *tlsp_version_name(enum tlsp_version);
const char *tlsp_cert_state_name(enum tlsp_cert_state);
const char *tlsp_action_name(enum tlsp_action);
const char *tlsp_mode_name(enum tlsp_mode);
const char *tlsp_req_name(enum tlsp_req);
int tlsp_mta_lookup(const char *name);
int tlsp_action_lookup(const char *name);
int tlsp_mode_lookup(const char *name);
int tlsp_req_lookup(const char *name);
/* Accepts the MTA spellings (TLSv1, TLSv1.1, ..., SSLv3, UNKNOWN) and
 * TLSv1.0; not "none", which no MTA sends. */
int tlsp_version_lookup(const char *name);

/*
 * Escaping, one function per sink (policy/escape.c). Each writes into
 * the caller's buffer and always NUL-terminates it (outsz > 0).
 *
 * tlsp_escape_log: for a log line: control characters (C0, DEL and C1),
 * '"', '\', invalid UTF-8 and format characters (tlsp_is_format_char)
 * become \xHH, one per byte; other valid UTF-8 stays. Truncates at a
 * character boundary. Returns 1 if `in` was truncated, else 0.
 */
int tlsp_escape_log(const char *in, size_t inlen, char *out, size_t outsz);

/*
 * tlsp_escape_json: `in` as the body of a JSON string (without the
 * quotes), as audit/FORMAT.md §1 defines it: '"', '\', C0 and C1
 * controls, DEL and format characters escaped (the short forms, else
 * \uXXXX, a surrogate pair past U+FFFF), other valid UTF-8 kept, and
 * each byte 0xHH of invalid UTF-8 written as the lone surrogate \udcHH
 * ("surrogateescape"), so a reader restores the exact bytes (Python:
 * s.encode("utf-8", "surrogateescape")). Returns the length (without the
 * NUL), or -1 if it did not fit (out then holds the escapes of a prefix,
 * never half an escape or character; -1 also when outsz is 0).
 */
int tlsp_escape_json(const char *in, size_t inlen, char *out, size_t outsz);
/* The longest JSON form of one input character: a surrogate pair,
 * "\udb40\udc01". */
#define TLSP_ESCAPE_JSON_MAX 12
/* The JSON form of the one character at s (n > 0 bytes available), into
 * out, which has room for TLSP_ESCAPE_JSON_MAX bytes (not terminated).
 * Returns the bytes written and sets *used to the input bytes consumed:
 * the whole character, or one byte of invalid UTF-8. */
size_t tlsp_escape_json_char(const unsigned char *s, size_t n, char *out,
			     size_t *used);

/* Whether code point cp is one a viewer acts on instead of showing: of
 * general category Cf, Zl or Zp in Unicode 15.1 (bidirectional controls
 * U+202A..U+202E and U+2066..U+2069, U+2028, U+2029, zero-width
 * characters U+200B..U+200F, U+061C, U+FEFF, the soft hyphen, tag
 * characters...). Escaped by the log and JSON escapers. */
int tlsp_is_format_char(unsigned cp);

/* Not an escaper: copies src into dst (dstsz > 0) as it is, cut to at
 * most dstsz - 1 bytes at a UTF-8 character boundary (a byte of invalid
 * UTF-8 counts as one character). Returns 1 if it was cut, else 0. For
 * network strings kept as sent, to be escaped by each sink. */
int tlsp_text_copy(char *dst, size_t dstsz, const char *src);

/* tlsp_escape_header: `in` as a token of our tag header: letters, digits,
 * '.', '_' and '-' stay, any other byte becomes '?'. Truncates. */
void tlsp_escape_header(const char *in, char *out, size_t outsz);

/* tlsp_escape_reply: the text of an SMTP reply as libmilter takes it (a
 * printf format): every '%' doubled. Truncates. */
void tlsp_escape_reply(const char *in, char *out, size_t outsz);

/* Decodes the UTF-8 character at s (n bytes available): returns its
 * length (1..4) and sets *cp, or returns 0 when s does not start a valid
 * shortest-form scalar value (no overlong forms, surrogates, or code
 * points past U+10FFFF). Shared by every escaper. */
size_t tlsp_utf8_decode(const unsigned char *s, size_t n, unsigned *cp);

/* The candidate closest to `word` within a small edit distance, or NULL:
 * for "did you mean ...?" in error messages. */
const char *tlsp_diag_suggest(const char *word, const char *const *cands,
			      size_t n);
/* The same over the names of a table (policy/diag.c). */
const char *tlsp_diag_suggest_name(const char *word,
				   const struct tlsp_name_code *tab);

/* ------------------------------------------------------------ diagnostics */

/* One error or warning. file may be NULL for errors with no position. */
struct tlsp_diag {
	char *file;
	unsigned line, col; /* 1-based; 0 when unknown */
	char *msg;
	int is_warning;
};

/* A growable list of diagnostics. Zero-initialise; free with
 * tlsp_diags_free(). count stops growing at TLSP_DIAGS_MAX, after which
 * `truncated` is set. */
#define TLSP_DIAGS_MAX 100
struct tlsp_diags {
	struct tlsp_diag *v;
	size_t count;
	size_t errors;
	int truncated;
};
void tlsp_diags_free(struct tlsp_diags *);
/* Formats diagnostic i as "file:line:col: [warning: ]message" into buf
 * (always NUL-terminated, truncated to bufsz). Returns buf. */
char *tlsp_diag_format(const struct tlsp_diag *, char *buf, size_t bufsz);

/* ---------------------------------------------------------------- facts */

/*
 * The raw macro values as the MTA sent them (NULL when absent). The milter
 * fills this from smfi_getsymval(); the query mode from its arguments.
 * Nothing here is trusted: every value is attacker-influenced.
 */
struct tlsp_macros {
	const char *mta_version; /* "v": tells Postfix from Sendmail */
	const char *tls_version; /* {tls_version} */
	const char *cipher;	 /* {cipher} */
	const char *cipher_bits; /* {cipher_bits} */
	const char *cert_subject;
	const char *cert_issuer;
	const char *verify;	    /* {verify}, Sendmail only */
	const char *cert_fp;	    /* {cert_fp} or {cert_md5}, Sendmail only */
	const char *auth_authen;    /* {auth_authen} */
	const char *daemon_name;    /* {daemon_name} */
	const char *client_addr;    /* {client_addr} */
	const char *client_name;    /* {client_name} */
	const char *client_resolve; /* {client_resolve} */
	enum tlsp_mta mta; /* TLSP_MTA_UNKNOWN: derive from mta_version */
};

/* What we know about a cipher suite, from OpenSSL's table or its name. */
struct tlsp_cipher_info {
	int known;	     /* found in OpenSSL's table */
	int bits;	     /* symmetric strength; -1 unknown */
	int forward_secrecy; /* 1 yes, 0 no, -1 unknown */
	int aead;	     /* 1 yes, 0 no, -1 unknown */
	unsigned families;   /* TLSP_CF_* bits */
};

/* Cipher families usable in allow/deny lists. */
#define TLSP_CF_RC4 (1u << 0)
#define TLSP_CF_DES (1u << 1) /* single DES */
#define TLSP_CF_3DES (1u << 2)
#define TLSP_CF_CBC (1u << 3)
#define TLSP_CF_NULL (1u << 4) /* no encryption */
#define TLSP_CF_EXPORT (1u << 5)
#define TLSP_CF_ANON (1u << 6) /* no authentication (aNULL) */
#define TLSP_CF_MD5 (1u << 7)  /* MD5 MAC */
#define TLSP_CF_SHA1 (1u << 8) /* SHA-1 MAC */
#define TLSP_CF_AEAD (1u << 9)
#define TLSP_CF_GCM (1u << 10)
#define TLSP_CF_CCM (1u << 11)
#define TLSP_CF_CHACHA20 (1u << 12)
#define TLSP_CF_AES (1u << 13)
#define TLSP_CF_CAMELLIA (1u << 14)
#define TLSP_CF_ARIA (1u << 15)
#define TLSP_CF_TLS13 (1u << 16) /* a TLS 1.3 suite */

/* Family name <-> bit ("RC4", "3DES", ..., case-insensitive). 0: unknown. */
unsigned tlsp_cipher_family_lookup(const char *name);
const char *tlsp_cipher_family_name(unsigned bit);

/* Classifies an OpenSSL cipher name. Thread-safe; the first call builds a
 * table from OpenSSL (call tlsp_cipher_init() early to pay that up front). */
void tlsp_cipher_classify(const char *name, struct tlsp_cipher_info *out);
/* The OpenSSL name (what MTAs send in {cipher}) of a suite given by its
 * OpenSSL or IANA name, case-insensitively; NULL if OpenSSL does not know
 * it. The string is static. */
const char *tlsp_cipher_openssl_name(const char *name);
int tlsp_cipher_init(void);

#define TLSP_DN_MAX 1024
#define TLSP_FP_MAX 160
#define TLSP_DOMAIN_MAX 255

/* A session's TLS facts, normalised from either MTA's macro shape. */
struct tlsp_facts {
	enum tlsp_mta mta;
	enum tlsp_version version;
	/* Macro values are kept as sent (bounded, cut between characters,
	 * flagged TLSP_FACT_TRUNCATED); each sink escapes them once. */
	char version_raw[32]; /* as sent; "" if absent */
	char cipher[128];     /* as sent; "" if absent */
	int cipher_bits;      /* -1 if absent or unparsable */
	struct tlsp_cipher_info cipher_info;
	enum tlsp_cert_state cert;
	int verify_seen;	      /* {verify} was sent */
	char verify[32];	      /* {verify} as sent */
	int subject_seen;	      /* {cert_subject} was sent (even "") */
	char subject_dn[TLSP_DN_MAX]; /* decoded full DN (Sendmail); "" */
	char subject_cn[TLSP_DN_MAX]; /* CN (both MTAs); "" if none */
	int issuer_seen;
	char issuer_dn[TLSP_DN_MAX];
	char issuer_cn[TLSP_DN_MAX];
	char fingerprint[TLSP_FP_MAX]; /* lowercase hex, no colons; "" */
	int authenticated;	       /* {auth_authen} non-empty */
	char daemon_name[64];
	char client_addr[64];
	/* The verified host name, normalised (lowercase, no trailing dot);
	 * "" unless client_name_state is TLSP_NAME_VERIFIED. */
	enum tlsp_name_state client_name_state;
	char client_name[TLSP_DOMAIN_MAX + 1];
	char client_resolve[16]; /* {client_resolve} as sent; "" */
	unsigned flags;		 /* TLSP_FACT_* */
	unsigned sent; /* TLSP_SENT_*: the macros the MTA sent (even "") */
};
/* One bit per macro of struct tlsp_macros, in its order. */
#define TLSP_SENT_MTA_VERSION (1u << 0)
#define TLSP_SENT_TLS_VERSION (1u << 1)
#define TLSP_SENT_CIPHER (1u << 2)
#define TLSP_SENT_CIPHER_BITS (1u << 3)
#define TLSP_SENT_CERT_SUBJECT (1u << 4)
#define TLSP_SENT_CERT_ISSUER (1u << 5)
#define TLSP_SENT_VERIFY (1u << 6)
#define TLSP_SENT_CERT_FP (1u << 7)
#define TLSP_SENT_AUTH_AUTHEN (1u << 8)
#define TLSP_SENT_DAEMON_NAME (1u << 9)
#define TLSP_SENT_CLIENT_ADDR (1u << 10)
#define TLSP_SENT_CLIENT_NAME (1u << 11)
#define TLSP_SENT_CLIENT_RESOLVE (1u << 12)
#define TLSP_FACT_BAD_VERSION (1u << 0) /* {tls_version} unrecognised */
#define TLSP_FACT_BAD_BITS (1u << 1)	/* {cipher_bits} not a number */
#define TLSP_FACT_BAD_SUBJECT (1u << 2) /* bad xtext / DN / too long */
#define TLSP_FACT_BAD_ISSUER (1u << 3)
#define TLSP_FACT_BAD_FP (1u << 4)
#define TLSP_FACT_BAD_CLIENT (1u << 5)
#define TLSP_FACT_TRUNCATED (1u << 6)	    /* some value exceeded its buffer */
#define TLSP_FACT_BAD_CLIENT_NAME (1u << 7) /* not a host name */

/* Normalises raw macros into facts. Never fails: malformed values are
 * recorded as absent/unknown and flagged. */
void tlsp_facts_from_macros(const struct tlsp_macros *, struct tlsp_facts *);

/* Decodes RFC 3461 xtext ("+HH") in place semantics: writes at most
 * outsz-1 bytes plus NUL. Returns decoded length, or -1 on a malformed
 * escape or overflow (out then holds a truncated prefix). */
int tlsp_facts_xtext_decode(const char *in, char *out, size_t outsz);

/* Extracts the last CN= value of a "/C=../O=../CN=.." DN (Sendmail
 * style) or, for a string with no "/" attribute syntax, the string itself
 * (Postfix sends the CN only). Returns 0, or -1 if there is no CN. */
int tlsp_facts_dn_cn(const char *dn, char *out, size_t outsz);

/* ------------------------------------------------------------- addresses */

enum tlsp_addr_kind {
	TLSP_ADDR_DOMAIN = 0, /* local@domain; domain normalised */
	TLSP_ADDR_LITERAL,    /* local@[literal]; domain holds "[...]" */
	TLSP_ADDR_NULL,	      /* <> */
	TLSP_ADDR_NODOMAIN,   /* a local part only (e.g. <postmaster>) */
	TLSP_ADDR_INVALID,    /* unparsable */
};

struct tlsp_addr {
	enum tlsp_addr_kind kind;
	char domain[TLSP_DOMAIN_MAX + 1]; /* lowercase A-labels, no dot */
	const char *why; /* static reason when INVALID/NODOMAIN */
};

/* Parses an envelope address as sent in MAIL FROM/RCPT TO (with or
 * without angle brackets, with ESMTP parameters already stripped by the
 * MTA). Source routes are dropped, quoted local parts honoured, the last
 * '@' outside quotes splits. Returns kind (also stored in out->kind). */
enum tlsp_addr_kind tlsp_addr_parse(const char *raw, struct tlsp_addr *out);

/* Normalises a domain name: lowercase, one trailing dot removed, U-labels
 * converted to A-labels (IDNA2008 via libidn2). Returns 0, or -1 with
 * *why set to a static reason. */
int tlsp_domain_normalize(const char *in, char *out, size_t outsz,
			  const char **why);

/* ---------------------------------------------------------------- policy */

struct tlsp_policy;
struct tlsp_rule;

/* Caps on input (documented in tlspolicy.yaml(5)). */
#define TLSP_POLICY_MAX_BYTES (256u * 1024 * 1024)
#define TLSP_POLICY_MAX_DEPTH 16

/*
 * Loads and compiles a policy file. Returns a new policy with a reference
 * count of 1 (release with tlsp_policy_unref), or NULL with every error
 * found appended to *diags. Warnings (e.g. unobservable requirements for
 * `mta`) are appended too; TLSP_MTA_UNKNOWN gives Postfix's, the MTA that
 * shows the least. The caller owns *diags either way.
 */
struct tlsp_policy *tlsp_policy_load(const char *path, enum tlsp_mta mta,
				     struct tlsp_diags *diags);
/* Same, from memory; `name` is used in messages in place of a path. */
struct tlsp_policy *tlsp_policy_load_buffer(const char *name, const char *buf,
					    size_t len, enum tlsp_mta mta,
					    struct tlsp_diags *diags);

struct tlsp_policy *tlsp_policy_ref(struct tlsp_policy *);
void tlsp_policy_unref(struct tlsp_policy *); /* NULL is fine */

/* The policy's SHA-256, lowercase hex (64 chars): of the file's bytes;
 * with included files, of one line per file in load order, that file's
 * SHA-256 in hex and a newline (tlspolicy.yaml(5), "Split policies"). */
const char *tlsp_policy_hash(const struct tlsp_policy *);
const char *tlsp_policy_path(const struct tlsp_policy *);
/* The files read, in load order: 0 is the main file, then each included
 * file, depth first. tlsp_policy_file() returns the path (NULL past the
 * end) and sets *sha256 (if not NULL) to its SHA-256 in hex; both are
 * the policy's. */
size_t tlsp_policy_file_count(const struct tlsp_policy *);
const char *tlsp_policy_file(const struct tlsp_policy *, size_t i,
			     const char **sha256);
size_t tlsp_policy_rule_count(const struct tlsp_policy *);
size_t tlsp_policy_profile_count(const struct tlsp_policy *);
/* Rule i (< tlsp_policy_rule_count): its name as records give it
 * (tlsp_rule_name), and in *compliance the frameworks it is tagged with,
 * its profiles' included (bit 1 << code of tlsp_compliance_names). */
const char *tlsp_policy_rule_at(const struct tlsp_policy *, size_t i,
				unsigned *compliance);
/* Bytes the compiled policy holds (for the benchmark and the logs). */
size_t tlsp_policy_memory(const struct tlsp_policy *);

/* What the milter does when it cannot decide or cannot record. */
enum tlsp_on_error {
	TLSP_ON_ERROR_TEMPFAIL = 0,
	TLSP_ON_ERROR_REJECT,
	TLSP_ON_ERROR_ACCEPT, /* fail open: only when asked for */
};

/* Which decisions get a log line (milter.log_decisions). */
enum tlsp_log_decisions {
	TLSP_LOG_ACTIONS = 0, /* those that act, or would in monitor mode */
	TLSP_LOG_ALL,
	TLSP_LOG_NONE,
};

/* Who removes incoming copies of the tag header (milter.strip_forged_headers),
 * stored in tlsp_settings.strip_forged. AUTO: the milter, when the policy
 * tags or quarantines. */
enum tlsp_strip {
	TLSP_STRIP_AUTO = -1,
	TLSP_STRIP_NEVER = 0,  /* nobody */
	TLSP_STRIP_ALWAYS = 1, /* the milter, whatever the policy */
	TLSP_STRIP_MTA = 2,    /* the MTA (Postfix header_checks IGNORE) */
};

/* The daemon's settings from the `milter:` and `audit:` sections; NULL
 * strings are unset (the daemon's defaults and command line apply). */
struct tlsp_settings {
	const char *socket;   /* "unix:/path", "inet:port@host", ... */
	unsigned socket_mode; /* unix socket permissions; 0: unset */
	const char *user;     /* "user" or "user:group" */
	const char *pidfile;
	const char *syslog_facility; /* "mail", "daemon", "local0".."local7" */
	enum tlsp_on_error on_error;
	const char *tag_header;	 /* default "X-TLS-Policy" */
	const char *authserv_id; /* default: the host name */
	int strip_forged;	 /* enum tlsp_strip */
	enum tlsp_log_decisions log_decisions;
	/* Prometheus textfile (milter.metrics_file; NULL: no metrics), written
	 * every metrics_interval seconds (default 15); partner alerts watch
	 * the last partner_window decisions (default 20) of at most
	 * partners_max partners (default 10000). */
	const char *metrics_file;
	int metrics_interval;
	int partner_window;
	int partners_max;
	const char *audit_file;	    /* NULL: no audit log */
	int audit_sync;		    /* enum tlsp_audit_sync (audit.h) */
	const char *audit_key_file; /* HMAC key of the chain, or NULL */
	int audit_addresses;	    /* enum tlsp_audit_addresses (audit.h) */
	const char *audit_pseudonym_key_file;
	int audit_checkpoint;	 /* seconds; 0: none; default 60 */
	const char *audit_spill; /* records the log cannot take at stop */
	const void *audit_addresses_node; /* private to the compiler */
	const void *audit_spill_node;	  /* private to the compiler */
};
const struct tlsp_settings *tlsp_policy_settings(const struct tlsp_policy *);

/* The actions enforced rules of the policy can take, as a bit mask of
 * (1u << enum tlsp_action): the milter asks the MTA only for what it
 * can need (headers, quarantine). */
unsigned tlsp_policy_actions(const struct tlsp_policy *);

/*
 * Time. Evaluation takes the instant to decide at (the daemon passes the
 * transaction's time, -q its --at, a replay each record's): a scheduled
 * rule (enforce_from) and an exception (expires) change with it, without
 * a reload. Dates in the policy are read on the wall clock of its
 * `timezone:` (default UTC) when it is compiled.
 */
/* The policy's time zone name ("UTC" when none was given). */
const char *tlsp_policy_timezone(const struct tlsp_policy *);
/* t as "2027-01-31T23:00:00+01:00" on the policy's wall clock ("Z" at
 * offset 0) into buf (always terminated). Returns buf. */
char *tlsp_policy_format_time(const struct tlsp_policy *, time_t t, char *buf,
			      size_t bufsz);
/* Reads a date or date-time as the policy would ("2027-01-31" is that
 * day's start, or with end_of_day its end); 0, or -1 with a static
 * reason in *why. For -q --at. */
int tlsp_policy_parse_time(const struct tlsp_policy *, const char *s,
			   int end_of_day, time_t *out, const char **why);

/*
 * Exceptions (`exceptions:`): each waives some requirements for mail
 * matching its selectors until it expires. The objects belong to the
 * policy and live as long as it does.
 */
struct tlsp_exception;
size_t tlsp_policy_exception_count(const struct tlsp_policy *);
/* The i-th exception in file order, or NULL past the end. */
const struct tlsp_exception *tlsp_policy_exception(const struct tlsp_policy *,
						   size_t i);
/* The i-th exception by expiry, earliest first (ties in file order). */
const struct tlsp_exception *
tlsp_policy_exception_by_expiry(const struct tlsp_policy *, size_t i);
const char *tlsp_exception_name(const struct tlsp_exception *);
const char *tlsp_exception_reason(const struct tlsp_exception *);
const char *tlsp_exception_owner(const struct tlsp_exception *);
const char *tlsp_exception_ticket(const struct tlsp_exception *); /* NULL */
/* In force while now < expires. */
time_t tlsp_exception_expires(const struct tlsp_exception *);
/* The requirements it waives, bits (1u << enum tlsp_req). */
unsigned tlsp_exception_waives(const struct tlsp_exception *);
unsigned tlsp_exception_line(const struct tlsp_exception *);
/* Its selectors as "sender .partner.example, client 192.0.2.0/24". */
void tlsp_exception_describe(const struct tlsp_exception *, char *buf,
			     size_t bufsz);

/* Warnings (file:line:col of each exception) for the exceptions that
 * expire within `days` days of `now`, or have expired (for -n). */
void tlsp_policy_check_expiry(const struct tlsp_policy *, time_t now,
			      unsigned days, struct tlsp_diags *);
/* The i-th rule in file order (recipients, then senders), or NULL. */
const struct tlsp_rule *tlsp_policy_rule(const struct tlsp_policy *, size_t i);

/* A rule's identity, for logs and audit: "recipient:example.com",
 * "sender:.example.org", "recipient:default", "sender:<>",
 * "pair:partner.example>.example.com" (sender > recipient). */
const char *tlsp_rule_name(const struct tlsp_rule *);
enum tlsp_action tlsp_rule_action(const struct tlsp_rule *);
/* The mode the rule states (monitor for a scheduled rule). */
enum tlsp_mode tlsp_rule_mode(const struct tlsp_rule *);
/* When a `mode: monitor` rule starts to enforce (enforce_from, or the end
 * of `mode: {monitor: until ...}`); 0 for a rule with no schedule. */
time_t tlsp_rule_enforce_from(const struct tlsp_rule *);
/* The mode in effect at `now`. */
enum tlsp_mode tlsp_rule_mode_at(const struct tlsp_rule *, time_t now);
/* The number of rules and profiles with a schedule (for -n). */
size_t tlsp_policy_scheduled_count(const struct tlsp_policy *);
/* 1 if a rule of the policy (its profile's requirements included) names
 * this client: `addr` (as records and macros spell it) is inside one of
 * its client_addr networks, or `name` (may be NULL) matches one of its
 * client_name patterns; else 0. For the reports that list every client
 * a rule names. */
int tlsp_policy_names_client(const struct tlsp_policy *, const char *addr,
			     const char *name);

/* ------------------------------------------------------------- verdicts */

enum tlsp_status {
	TLSP_PASS = 0,
	TLSP_FAIL,
	TLSP_UNKNOWN, /* the MTA could not show the evidence */
};

/* One failed or unknown requirement, with what was required and seen. */
struct tlsp_failure {
	enum tlsp_req req;
	enum tlsp_status status; /* TLSP_FAIL or TLSP_UNKNOWN */
	char required[128];
	/* as sent, not escaped; "(absent)" if not sent; "" for client_addr
	 * and client_name, whose evidence is the session's client (the
	 * audit record's client member, which is redactable): the record
	 * writes null. */
	char observed[160];
	/* set on a waived failure (see tlsp_rule_result.nwaived) */
	const struct tlsp_exception *waived_by;
};

#define TLSP_MAX_FAILURES TLSP_REQ_COUNT

/* The result of one rule against one session. */
struct tlsp_rule_result {
	const struct tlsp_rule *rule;
	int exempt;		 /* the session is out of the rule's scope */
	enum tlsp_status status; /* PASS when no requirement failed */
	enum tlsp_action action; /* rule's action if it failed, else ACCEPT */
	enum tlsp_mode mode;	 /* in effect at the evaluation's time */
	size_t nfail;
	/* Failures an exception in force waived follow the others:
	 * fail[nfail .. nfail + nwaived - 1], each with waived_by set. They
	 * count for nothing in status and action. */
	size_t nwaived;
	struct tlsp_failure fail[TLSP_MAX_FAILURES];
};

/* At most a sender rule and a recipient rule apply to one recipient (or
 * one pair rule, which replaces both). */
#define TLSP_MAX_RULES_PER_VERDICT 2

/*
 * A verdict for one recipient (or, at MAIL, for the sender alone).
 * `action` is what to enforce: the strictest action of the enforced rules
 * that failed. `would_action` includes monitor-mode rules. `reply` is the
 * SMTP reply for reject/defer ("550 5.7.1 ..."), "" otherwise; it holds
 * policy values only, never a network string. The evaluators set only
 * r[0..nrules-1] and, in each, fail[0..nfail-1]: the rest is undefined.
 */
struct tlsp_verdict {
	size_t nrules;
	struct tlsp_rule_result r[TLSP_MAX_RULES_PER_VERDICT];
	enum tlsp_action action;
	enum tlsp_action would_action;
	const struct tlsp_rule *decided_by; /* rule whose action won; NULL */
	char reply[1024];
	unsigned flags; /* TLSP_V_* */
};
#define TLSP_V_SENDER_UNPARSABLE (1u << 0)
#define TLSP_V_RCPT_UNPARSABLE (1u << 1)
#define TLSP_V_NO_RULE (1u << 2) /* no rule at all applied */
#define TLSP_V_SESSION_EXEMPT (1u << 3)
#define TLSP_V_WAIVED (1u << 4) /* an exception waived some failure */

/*
 * The sender stage (MAIL): evaluates only a specific (non-default) sender
 * rule, which applies to every recipient of the transaction. Returns 1 and
 * fills *v when such a rule exists, 0 when the decision waits for RCPT
 * (also when an exception naming recipients may waive its failures, or
 * when a pair rule names the sender: it may replace the sender rule for
 * some recipient).
 */
int tlsp_evaluate_sender(const struct tlsp_policy *, const struct tlsp_facts *,
			 const char *sender, time_t now,
			 struct tlsp_verdict *v);

/*
 * The recipient stage (RCPT): the verdict for one recipient, combining the
 * sender's and the recipient's rules (see tlspolicy.yaml(5), "How rules
 * combine"). Pure; thread-safe.
 */
void tlsp_evaluate(const struct tlsp_policy *, const struct tlsp_facts *,
		   const char *sender, const char *recipient, time_t now,
		   struct tlsp_verdict *v);

/* Strictness order for combining verdicts across recipients. */
static inline enum tlsp_action
tlsp_action_max(enum tlsp_action a, enum tlsp_action b)
{
	return a > b ? a : b;
}

/* ---------------------------------------------------------------- cases */

/*
 * A policy's test cases (tlspolicy-milter --test, tlspolicy-milter(8)):
 * a YAML list, each case a mapping of facts named as the query mode's
 * arguments (checked by the query mode, not here), an optional `name`,
 * and `expect`: each recipient with the verdict wanted. Strings and
 * positions are the file's; all belong to the struct tlsp_cases.
 */
#define TLSP_CASE_MAX_RCPT 64
struct tlsp_case_fact {
	const char *key, *value;
	unsigned line, col;   /* of the key */
	unsigned vline, vcol; /* of the value */
};
struct tlsp_case_expect {
	const char *rcpt;
	unsigned line, col;
	int action;	  /* enum tlsp_action; -1: not stated */
	int would;	  /* enum tlsp_action; -1: not stated */
	const char *rule; /* a rule name, "none", or NULL: not stated */
};
struct tlsp_case {
	const char *name; /* NULL when the case has none */
	unsigned line, col;
	struct tlsp_case_fact *facts;
	size_t nfacts;
	struct tlsp_case_expect *expect;
	size_t nexpect;
};
struct tlsp_cases {
	const char *path;
	struct tlsp_case *v;
	size_t n;
	struct tlsp_arena *arena; /* private */
};
/* Reads a case file (a regular file, read as a policy file is). Returns
 * the cases, or NULL with every error in *diags (file:line:col). Free
 * with tlsp_cases_free (NULL is fine). */
struct tlsp_cases *tlsp_cases_load(const char *path, struct tlsp_diags *diags);
void tlsp_cases_free(struct tlsp_cases *);

#ifdef __cplusplus
}
#endif
#endif
