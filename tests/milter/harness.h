/*
 * harness.h - a real tlspolicy-milter under a test's control, and an MTA
 * that remembers every decision it was told (for the audit durability
 * and fault tests).
 *
 * A daemon runs in the foreground in its own temporary directory, with a
 * policy that refuses recipients of refuse.example at RCPT, tags mail to
 * tag.example at end of message and accepts everything else at DATA; its
 * stderr (the daemon's log with -f) goes to a file the test reads. The
 * MTA side is tests/milter/client.c. Every wait is bounded; nothing here
 * calls cmocka, so the MTA functions may run on several threads (one
 * struct hn_mta per thread).
 */
#ifndef TLSP_TESTS_MILTER_HARNESS_H
#define TLSP_TESTS_MILTER_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include "client.h"

#define HN_PATH 256

/* The reply on_error gives with its default, tempfail (milter/act.c). */
#define HN_ON_ERROR_REPLY                                                      \
	"451 4.7.0 TLS policy check unavailable, try again later"
#define HN_REFUSED_REPLY "550 5.7.1"

struct hn_daemon {
	char dir[128];	      /* private temporary directory */
	char logdir[HN_PATH]; /* where the audit log lives: dir/log */
	char audit[HN_PATH];  /* logdir/audit.log */
	char sock[HN_PATH], spec[HN_PATH + 8], policy[HN_PATH];
	char errlog[HN_PATH]; /* the daemon's stderr, appended per start */
	char key[HN_PATH];    /* HMAC key file, when the policy names one */
	const char *sync;     /* "always", "batch" or "none" */
	int with_key;
	const char *user; /* -u USER, or NULL */
	pid_t pid;	  /* 0 when not running */
	long started_at;  /* errlog offset where the running daemon began */
};

/*
 * Makes the directory (under $TMPDIR or /tmp) and names the files in it;
 * writes the policy and, with_key, a 32-byte key. 0 or -1 (errno).
 */
int hn_init(struct hn_daemon *d, const char *sync, int with_key);

/* Starts the daemon and waits (up to 30 s) until it logs "started",
 * which it does once its start record is on disk. 0, or -1 with the
 * reason and the log's tail on stderr. */
int hn_start(struct hn_daemon *d);

/* SIGTERM, then waits up to 20 s. 0 only when it exited with status 0
 * and its log holds no sanitizer report. */
int hn_stop(struct hn_daemon *d);

/* SIGKILL and reap; nothing is flushed. */
void hn_kill(struct hn_daemon *d);

/* Kills a daemon still running and removes the directory (kept, and
 * named on stderr, when HN_KEEP is set); safe to call twice and after a
 * failed hn_init. */
void hn_cleanup(struct hn_daemon *d);

/* The path of a program in the build tree ($top_builddir/NAME), or of
 * the daemon ($TLSPOLICY_MILTER). Static buffer. */
const char *hn_build_path(const char *name);

/* The size of the daemon's log now. */
long hn_errlog_size(const struct hn_daemon *d);

/* 1 if the log holds a line with `a` (and `b`, unless NULL) after byte
 * `from`. */
int hn_errlog_has(const struct hn_daemon *d, long from, const char *a,
		  const char *b);

/* hn_errlog_has, polled for up to ms milliseconds. */
int hn_errlog_wait(const struct hn_daemon *d, long from, const char *a,
		   const char *b, int ms);

/* How many lines of the log after byte `from` hold `a`; -1 if it cannot
 * be read. */
long hn_errlog_count(const struct hn_daemon *d, long from, const char *a);

/* Prints the log's lines after byte `from` to stderr (for a failure). */
void hn_errlog_dump(const struct hn_daemon *d, long from);

/*
 * Makes the daemon, started next, run as nobody (-u): its log directory
 * becomes nobody's, its directory and policy readable to it. For tests
 * run as root, which ignores permissions. 0, 1 when there is no user
 * nobody (nothing changed), or -1 (errno).
 */
int hn_as_nobody(struct hn_daemon *d);

/*
 * One decision the MTA was told. kind 'r': a recipient refused at RCPT,
 * key its address as sent, "<a@b>" (a record of type "rcpt" must hold
 * it); kind 'm': the message, at DATA or end of message, key its queue id
 * (a record of type "message"). on_error: the reply was on_error's, so
 * no decision was taken and none may be on record.
 */
struct hn_decision {
	char kind;
	char key[96];
	char reply[160]; /* the SMTP reply ("550 5.7.1 ...") or "accept" */
	int tagged;	 /* a message that was tagged (header inserted) */
	int on_error;
};

struct hn_mta {
	struct mt_conn *c;
	struct mt_reply *r;
	char err[1024];
};

/* Connects, negotiates, connect and HELO. 0, or -1 with m->err. */
int hn_mta_open(struct hn_mta *m, const char *spec, int timeout_ms);
/* Queues the macros hn_mta_open and hn_mta_tx send for event cmd: a
 * Postfix session over TLSv1.2, with queue id qid (unless NULL) and
 * name=value (unless name is NULL). 0 or -1. For tests that drive a
 * transaction their own way. */
int hn_mta_macros(struct mt_conn *c, int cmd, const char *qid, const char *name,
		  const char *value);
/* Ends the session with SMFIC_QUIT, closes, frees; NULL members fine. */
void hn_mta_close(struct hn_mta *m);

/*
 * One transaction with queue id `qid` (letters and digits): MAIL, RCPT
 * qid-r@refuse.example (refused), RCPT qid-a@tag.example (when tagged)
 * or qid-a@plain.example, DATA, and end of message unless the message
 * was decided at DATA. Stores the decisions the MTA was told in out
 * (room for 2) and their number in *n, also when it fails. Returns 0,
 * or -1 when a reply did not come or was not one the policy can give
 * (m->err says which; the connection is closed and hn_mta_open must be
 * called again).
 */
int hn_mta_tx(struct hn_mta *m, const char *qid, int tagged,
	      struct hn_decision out[2], size_t *n);

/*
 * Runs `tlspolicy-audit verify [--key KEY] FILE...` from the build tree:
 * 1 when it says the chain holds, 0 when it does not (its output is on
 * stderr), -1 when the tool is not built.
 */
int hn_tool_verify(const char *const *files, size_t nfiles, const char *key);

/* Time since an arbitrary start, in milliseconds. */
long hn_now_ms(void);

/*
 * What /proc says about a process (the daemon, for the fault tests):
 * resident set in KiB (VmRSS), user + system CPU time in milliseconds,
 * threads, open descriptors. -1 when it cannot be read.
 */
long hn_proc_rss_kb(pid_t pid);
long hn_proc_cpu_ms(pid_t pid);
long hn_proc_threads(pid_t pid);
long hn_proc_fds(pid_t pid);
/* The same, and in *sockets how many of them are sockets. */
long hn_proc_fds_sockets(pid_t pid, long *sockets);

/* A plain socket connected to the daemon's unix socket, for bytes no
 * client would send; the caller closes it. -1 (errno) on failure. */
int hn_raw_connect(const struct hn_daemon *d);

/* Whether the daemon is still running (not exited, not a zombie). */
int hn_alive(const struct hn_daemon *d);

/* Whether TLSP_TEST_QUICK is set (and not "0"): the slow tests then
 * shorten their loops and waits, and still run every check. For
 * distcheck (tests/run-stages.sh), which is there to show that every
 * test runs from the tarball; the build stage runs them in full. */
int hn_quick(void);

/* Built with a sanitizer (HN_SANITIZED: AddressSanitizer or
 * ThreadSanitizer; HN_UNDER_TSAN: ThreadSanitizer), which makes the
 * daemon slower and bigger. */
#if defined(__SANITIZE_THREAD__)
#define HN_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HN_UNDER_TSAN 1
#endif
#endif
#ifndef HN_UNDER_TSAN
#define HN_UNDER_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__) || HN_UNDER_TSAN
#define HN_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HN_SANITIZED 1
#endif
#endif
#ifndef HN_SANITIZED
#define HN_SANITIZED 0
#endif

#endif
