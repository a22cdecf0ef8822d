/*
 * report.h - the counters of tlspolicy-audit report, shared by the
 * counting (report.c) and the writers of its formats (report_out.c).
 * Private to the tool.
 */
#ifndef TLSPOLICY_AUDIT_REPORT_H
#define TLSPOLICY_AUDIT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "fleet.h"
#include "table.h"
#include "tlspolicy/policy.h"
#include "tool.h"

/*
 * Histograms: each is a list of buckets in the order the report prints
 * them, the last taking what no other matched. A bucket that is a value
 * of a vocabulary with a table of its own takes its name from that
 * table: requirement bucket i < TLSP_REQ_COUNT is tlsp_req_name(i),
 * action bucket i is tlsp_action_name(i), certificate and version
 * buckets are the engine's (policy/names.c), status and record type
 * buckets the audit record's (audit/body.c). The report's own buckets
 * ("other", "SSL", the ranges of bits) are rows of report.c.
 */
enum { V_TLS13, V_TLS12, V_TLS11, V_TLS10, V_SSL, V_OTHER, V_NONE, NVER };
enum { B_NOTLS, B_UNKNOWN, B_LOW, B_128, B_256, NBITS };
enum { FS_YES, FS_NO, FS_UNKNOWN, NFS };
enum {
	C_NONE,
	C_PRESENTED,
	C_PRESENTED_UNKNOWN,
	C_NOT_VERIFIED,
	C_VERIFIED,
	C_UNKNOWN,
	C_OTHER,
	NCERT
};
/* Actions: bucket i < A_OTHER is the enum tlsp_action i. */
enum { A_OTHER = TLSP_ACTION_REJECT + 1, NACT };
/* Requirements: bucket i < R_OTHER is the enum tlsp_req i. */
enum { R_OTHER = TLSP_REQ_COUNT, NREQ };
/* Statuses: bucket i is the enum tlsp_status i; the last, TLSP_UNKNOWN,
 * takes the rest. */
enum { NSTATUS = TLSP_UNKNOWN + 1 };
enum {
	T_MESSAGE,
	T_RCPT,
	T_MAIL,
	T_ABORT,
	T_START,
	T_STOP,
	T_RELOAD,
	T_RELOAD_FAILED,
	T_ROTATE,
	T_CHECKPOINT,
	T_OTHER,
	NTYPE
};

/* A histogram: its number of buckets and the name of bucket i. */
struct tlspa_hist {
	int n;
	const char *(*name)(int i);
};

extern const struct tlspa_hist tlspa_report_ver, tlspa_report_bits,
	tlspa_report_fs, tlspa_report_cert, tlspa_report_act, tlspa_report_req,
	tlspa_report_status, tlspa_report_type;

/* What a set of decisions looked like. */
struct tlspa_tally {
	uint64_t n;		 /* decisions (rules: evaluations) */
	uint64_t messages;	 /* message records with such a decision */
	uint64_t refused;	 /* refused: reject or defer (enforced) */
	uint64_t passed, failed; /* every rule passed, or not */
	uint64_t ver[NVER], bits[NBITS], fs[NFS], cert[NCERT];
	uint64_t action[NACT]; /* enforced */
	uint64_t would[NACT];  /* monitor: would-be action, where it differs */
	uint64_t status[NSTATUS], exempt, monitor; /* rules only */
	uint64_t req[NREQ][2]; /* failures: [status fail, status unknown] */
	uint64_t waived[NREQ]; /* failures an exception waived */
	uint64_t last_rec;     /* private: the record counted last */
};

/* A domain, rule or client. */
struct tlspa_row {
	struct tlspa_ent e;
	struct tlspa_tally t;
	char *name; /* clients: the host name first seen; owned */
	char *cert; /* clients, html: the first certificate's subject and
		       issuer, as "subject / issuer"; owned */
	/* rules, html: this rule's entry in dayrule for the day starting at
	 * dayrule_start (a cache: no lookup per evaluation) */
	struct tlspa_dayrule *dayrule;
	int64_t dayrule_start;
	/* clients, html: bit i set when a rule of --policy file i names the
	 * client, by its address or by any name it was seen with */
	uint64_t named;
};

struct tlspa_det;

/* An exception that waived a requirement in the period (the log names
 * only those that did: the policy, by its hash, lists the rest). */
struct tlspa_exrow {
	struct tlspa_ent e;   /* its name */
	char expires[32];     /* as recorded (the last seen) */
	uint64_t n;	      /* decisions it waived something in */
	uint64_t let_through; /* ... that were not refused */
	uint64_t waived[NREQ];
	int64_t first_ms, last_ms;
	uint64_t last_dec; /* private: the decision counted last */
};

/* A TLS-RPT policy: one recipient domain on one day (key day\0domain). */
struct tlspa_pol {
	struct tlspa_ent e;
	char day[16];
	int64_t start, end; /* the day, in ms */
	uint64_t ok, failed;
	char host[256];
	char rules[4][128];
	int nrules;
	struct tlspa_det *details;
};

/* A TLS-RPT failure detail of a policy. */
struct tlspa_det {
	struct tlspa_ent e;
	struct tlspa_det *next;
	const struct tlspa_pol *pol; /* whose detail it is (its key holds
					the address) */
	const char *result;	     /* RFC 8460 result-type; static */
	const char *reason;	     /* our requirement name; static */
	int unknown;		     /* the requirement could not be checked */
	char ip[80];
	uint64_t count;
};

enum tlspa_format { F_TEXT, F_CSV, F_JSON, F_TLSRPT, F_HTML };

/* html: one day's decisions (key "YYYY-MM-DD"). */
struct tlspa_day {
	struct tlspa_ent e;
	int64_t start; /* the day's first ms, for sorting */
	uint64_t n, passed, failed;
	uint64_t ver[NVER], cert[NCERT], action[NACT];
};

/* html: one rule on one day (key day\0rule): evaluations, and those that
 * passed or were exempt. */
struct tlspa_dayrule {
	struct tlspa_ent e;
	uint64_t n, met;
};

/* html: how often a requirement failed with this required and observed
 * value (key req\0required\0observed). */
struct tlspa_pair {
	struct tlspa_ent e;
	uint64_t n;
};

/* html: a start, reload or failed reload record, in the order read. */
struct tlspa_reload {
	char time[32], type[16], host[64], policy[72], detail[128];
};

#define TLSPA_RELOADS_MAX 1000 /* kept; the rest are only counted */

/* A host of a fleet (--host): what its chain verification found. */
struct tlspa_hostev {
	const char *name;
	int nfiles;
	unsigned long long records, breaks, wrong; /* wrong: other host */
	int unkeyed;
	char hash[TLSP_HASH_HEX + 1];
	char evidence[512];
};

/* html: a policy file given with --policy, and whether a start or
 * reload record in the period names its hash. */
struct tlspa_policyf {
	const char *path;
	struct tlsp_policy *p;
	const struct tlspa_reload *from; /* the first record naming it */
};

/* html: the files' SHA-256, from the bytes the reader reads
 * (report_html.c). */
struct tlspa_filehash;

struct tlspa_report {
	enum tlspa_format format;
	size_t top;
	const char *tz, *contact;
	char **domains, **rulef; /* --domain, --rule */
	size_t ndomains, nrulef;
	const char *since, *until; /* as given */
	struct tlspa_scan scan;
	struct tlsp_chain_key key; /* --key */
	int ignore_breaks;
	char evidence[512];	   /* what verified: tlspa_scan_evidence */
	int64_t first_ms, last_ms; /* of the records counted */
	uint64_t types[NTYPE];
	struct tlspa_tally total;
	uint64_t mail_n; /* decisions that are sender verdicts (mail) */
	struct tlspa_table dom, rule, client, pol, det, exc;
	uint64_t ndec; /* decisions counted (numbers them for exc) */
	char day[16];  /* the day of the last record (tlsrpt, html) */
	int64_t day_start, day_end;

	/* html */
	const char *out;		     /* -o FILE */
	struct tlspa_follow_anchor *anchors; /* --anchor */
	size_t nanchors;
	int top_given; /* --top given */
	struct tlspa_table days, dayrule, sender, hosts, pairs;
	/* html: pairs per domain (key 'R' or 'S', the recipient or sender
	 * domain, \0, then the key of pairs) */
	struct tlspa_table dpairs;
	struct tlspa_day *cur_day;    /* the day of day_start..day_end */
	struct tlspa_row *sender_row; /* the sender of record sender_rec */
	uint64_t sender_rec;
	struct tlspa_reload *reloads; /* up to TLSPA_RELOADS_MAX */
	size_t nreloads;
	uint64_t reloads_dropped;
	struct tlspa_filehash *fh;

	struct tlspa_policyf *policies; /* --policy */
	size_t npolicies;
	char **named; /* the rule names of matching policies, sorted */
	size_t nnamed;
	uint64_t named_mask; /* bit i: policies[i] is one the log names */

	/* --host: several hosts, each its own chain */
	struct tlspa_fleet fleet;
	struct tlspa_hostev *hostev; /* fleet.n */
	char **allfiles;	     /* every host's files, in order */
};

/* qsort comparators of struct tlspa_row *: most decisions first; most
 * failed first. */
int tlspa_report_by_count(const void *, const void *);
int tlspa_report_by_failed(const void *, const void *);
/* struct tlspa_exrow *: most decisions first, then by name. */
int tlspa_report_by_waived(const void *, const void *);

/* html: the exception of this name in a --policy file that the log
 * names (its owner, reason and ticket are in the policy, not in the
 * records), or NULL. */
const struct tlsp_exception *
tlspa_report_exception(const struct tlspa_report *r, const char *name,
		       size_t len);

/* For inventory.c: the version bucket (V_*) of a record's tls.version;
 * the bucket of v in h (the last takes the rest; `absent` when v is not
 * a string); a CSV cell, quoted when needed and safe for a spreadsheet;
 * a CSV column name ",prefix_name", any other character than a letter,
 * digit or dot made '_';
 * writes out a JSON builder's bytes (all, or all but the last once it
 * holds 64 KiB). */
int tlspa_report_version(const struct tlspa_jv *v);
/* The sum of a histogram's n buckets. */
uint64_t tlspa_report_sum(const uint64_t *c, int n);
int tlspa_report_bucket(const struct tlspa_jv *v, const struct tlspa_hist *h,
			int absent);
struct tlsp_jbuf;
void tlspa_report_csv_cell(const char *s, size_t n);
void tlspa_report_csv_col(const char *prefix, const char *name);
void tlspa_report_json_flush(struct tlsp_jbuf *jb, int all);

/*
 * What inventory, replay and suggest share (reading.c): the log read as
 * report reads it, in a window, a domain filter, the output format.
 * Zero-initialise. Each command's getopt_long table holds
 * TLSPA_READING_OPTIONS (and TLSPA_OUTPUT_OPTIONS for --format and --top)
 * and passes every option to tlspa_reading_option first.
 */
struct tlspa_reading {
	struct tlspa_scan scan;
	struct tlsp_chain_key key;
	const char *since, *until, *tz;
	char **domains; /* --domain */
	size_t ndomains;
	enum tlspa_format format; /* text, csv or json */
	size_t top;		  /* 0: every row */
	int ignore_breaks;
	char evidence[512];
};
#define TLSPA_READING_OPTIONS                                                  \
	{"since", required_argument, NULL, 'S'},                               \
		{"until", required_argument, NULL, 'U'},                       \
		{"tz", required_argument, NULL, 'z'},                          \
		{"domain", required_argument, NULL, 'd'},                      \
		{"key", required_argument, NULL, 'k'},                         \
		{"allow-empty", no_argument, NULL, 'E'},                       \
	{                                                                      \
		"ignore-breaks", no_argument, NULL, 'I'                        \
	}
#define TLSPA_OUTPUT_OPTIONS                                                   \
	{"format", required_argument, NULL, 'f'},                              \
	{                                                                      \
		"top", required_argument, NULL, 'n'                            \
	}
/* 1 when option c is one of the shared ones (taken), 0 when it is not,
 * or minus an exit status after saying why. */
int tlspa_reading_option(struct tlspa_reading *rd, const char *cmd, int c,
			 char *arg);
/* After the options: the window and the files (argv + optind). 0, or an
 * exit status. */
int tlspa_reading_start(struct tlspa_reading *rd, const char *cmd, int argc,
			char **argv);
/* 1 if a domain passes --domain (always without it; never ""). */
int tlspa_reading_wants(const struct tlspa_reading *rd, const char *domain);
/* The enum tlsp_event_type of a decision record (message, rcpt, mail),
 * or -1 for any other record. */
int tlspa_reading_decision(const struct tlspa_jv *rec);
/* After the output: standard output flushed, then rc, or the status of
 * the chain (1 unless --ignore-breaks). */
int tlspa_reading_end(struct tlspa_reading *rd, int rc);
void tlspa_reading_free(struct tlspa_reading *rd);

/*
 * report_merge.c: a fleet's hosts are counted each into a struct
 * tlspa_report of its own (on a thread of its own), then merged into the
 * fleet's in the order of the hosts, so that the counters are what one
 * pass over the hosts' records one host after the other gives: sums,
 * the earliest and latest times, the first name or certificate seen,
 * the last expiry seen, the reloads in host order. A host's new keys
 * enter a table in the order that host first saw them; past
 * TLSPA_TABLE_MAX keys each addition a key stood for counts as dropped.
 * Takes from `from` what it can (names, certificates): the caller frees
 * `from` after. 0, or -1 out of memory.
 */
int tlspa_report_merge(struct tlspa_report *to, struct tlspa_report *from);
/* One table of struct tlspa_pair (key -> n) into another, as above. 0,
 * or -1 out of memory. */
int tlspa_report_merge_pairs(struct tlspa_table *to,
			     const struct tlspa_table *from);

/* Writes the report in r->format to stdout. 0, or an exit status. */
int tlspa_report_write(struct tlspa_report *r);

/* html (report_html.c): starts hashing the input files as they are read
 * (0, or -1 after saying why); writes the report to r->out and its
 * companion CSV, hashing from disk what the reader could not show (a
 * gzip file) (0, or an exit status); frees
 * what the first allocated (also when the second was never called). */
int tlspa_report_html_start(struct tlspa_report *r);
/* html: the reader lr reads files base.. of the report's files: their
 * bytes go to the files' SHA-256 (tlspa_report_html_start taps
 * r->scan.lines with base 0). */
struct tlspa_reader;
void tlspa_report_html_tap(struct tlspa_report *r, struct tlspa_reader *lr,
			   int base);
int tlspa_report_html_write(struct tlspa_report *r);
void tlspa_report_html_free(struct tlspa_report *r);

/* html (report_html.c): a value from the log as HTML text, made safe as
 * for a terminal first; a table cell of a number. */
void tlspa_report_html_text(FILE *f, const char *s, size_t n);

/* html (report_controls.c): loads the --policy files (0, or -1 after
 * saying why); writes the sections "Policy text" and "Control mapping"
 * (rules sorted by key: rbykey); frees the policies. */
int tlspa_report_policies_load(struct tlspa_report *r);
void tlspa_report_controls(FILE *f, const struct tlspa_report *r,
			   struct tlspa_ent **rbykey);
void tlspa_report_policies_free(struct tlspa_report *r);

/* html: collects the names of the rules of the --policy files that the
 * log names, and those policies (0, or -1 out of memory); 1 if a rule of them names domain
 * d (klen bytes) of direction dir ("recipient", "sender"), exactly or as
 * a subdomain of a ".parent" pattern. */
int tlspa_report_named_collect(struct tlspa_report *r);
int tlspa_report_named(const struct tlspa_report *r, const char *dir,
		       const char *d, size_t klen);
/* html, while counting: the --policy files (bit i: file i, the first 64)
 * with a rule that names the client (its address, of alen bytes, in a
 * client_addr network, or its name, NULL if none, matching a
 * client_name pattern). After tlspa_report_named_collect: 1 if a file
 * of `mask` is one the log names. */
uint64_t tlspa_report_client_mask(const struct tlspa_report *r,
				  const char *addr, size_t alen,
				  const char *name);
int tlspa_report_named_client(const struct tlspa_report *r, uint64_t mask);

#endif
