/*
 * harness.c - a real tlspolicy-milter under a test's control, and an MTA
 * that remembers what it was told (see harness.h).
 *
 * The daemon is a child of the test, killed with it (PR_SET_PDEATHSIG),
 * so a test that dies leaves no milter behind. Its log is read back by
 * byte offset, so each phase of a test looks only at what that phase
 * caused.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../bench/clock.h"
#include "harness.h"

/* ============================================================ daemon */

/* Mail over TLSv1.2: refuse.example refuses at RCPT, tag.example tags at
 * end of message, the rest is accepted. Never stripping forged headers
 * lets a message without a tagged recipient be decided, and recorded,
 * at DATA: both places a message's record is written are exercised. */
static const char policy_text[] =
	"version: 1\n"
	"milter: {authserv_id: mx.test.example, strip_forged_headers: never}\n"
	"audit: {file: %s, sync: %s%s%s}\n"
	"recipients:\n"
	"  refuse.example: {min_version: TLSv1.3, action: reject}\n"
	"  tag.example: {min_version: TLSv1.3, action: tag}\n"
	"  default: {}\n";

long
hn_now_ms(void)
{
	return tb_now_ms();
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *
hn_build_path(const char *name)
{
	static char path[HN_PATH];
	const char *b = getenv("top_builddir");

	if (strcmp(name, "tlspolicy-milter") == 0 && getenv("TLSPOLICY_MILTER"))
		return getenv("TLSPOLICY_MILTER");
	snprintf(path, sizeof(path), "%s/%s", b ? b : ".", name);
	return path;
}

static int
write_key(const char *path)
{
	unsigned char k[32];
	FILE *r = fopen("/dev/urandom", "re");
	int fd, ok;

	if (r == NULL)
		return -1;
	ok = fread(k, 1, sizeof(k), r) == sizeof(k);
	fclose(r);
	if (!ok || (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0600)) < 0)
		return -1;
	ok = write(fd, k, sizeof(k)) == (ssize_t)sizeof(k);
	return close(fd) == 0 && ok ? 0 : -1;
}

static int
write_policy(const struct hn_daemon *d)
{
	FILE *f = fopen(d->policy, "we");

	if (f == NULL)
		return -1;
	fprintf(f, policy_text, d->audit, d->sync,
		d->with_key ? ", key_file: " : "", d->with_key ? d->key : "");
	return fclose(f);
}

/* dir/name into dst; -1 if it does not fit. */
static int
join(char *dst, size_t dstsz, const char *dir, const char *name)
{
	int n = snprintf(dst, dstsz, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= dstsz ? -1 : 0;
}

int
hn_init(struct hn_daemon *d, const char *sync, int with_key)
{
	const char *tmp = getenv("TMPDIR");

	memset(d, 0, sizeof(*d));
	d->sync = sync;
	d->with_key = with_key;
	d->started_at = -1;
	/* short: the socket's path must fit in sun_path */
	if (join(d->dir, sizeof(d->dir), tmp && *tmp ? tmp : "/tmp",
		 "tlsp-audit-XXXXXX") < 0 ||
	    mkdtemp(d->dir) == NULL) {
		d->dir[0] = '\0';
		return -1;
	}
	if (join(d->logdir, sizeof(d->logdir), d->dir, "log") < 0 ||
	    join(d->audit, sizeof(d->audit), d->logdir, "audit.log") < 0 ||
	    join(d->sock, sizeof(d->sock), d->dir, "m.sock") < 0 ||
	    join(d->policy, sizeof(d->policy), d->dir, "policy.yaml") < 0 ||
	    join(d->errlog, sizeof(d->errlog), d->dir, "milter.log") < 0 ||
	    join(d->key, sizeof(d->key), d->dir, "chain.key") < 0 ||
	    strlen(d->sock) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -1;
	snprintf(d->spec, sizeof(d->spec), "unix:%s", d->sock);
	if (mkdir(d->logdir, 0755) < 0)
		return -1;
	if (with_key && write_key(d->key) < 0)
		return -1;
	return write_policy(d);
}

int
hn_as_nobody(struct hn_daemon *d)
{
	struct passwd *pw = getpwnam("nobody");

	if (pw == NULL)
		return 1;
	if (chown(d->logdir, pw->pw_uid, pw->pw_gid) < 0 ||
	    chmod(d->dir, 0711) < 0 || chmod(d->policy, 0644) < 0)
		return -1;
	d->user = "nobody";
	return 0;
}

/* execv() with a const argument list (in a child: the copies are never
 * freed). */
static void
exec_args(const char *path, const char *const *args)
{
	char *argv[16];
	size_t i;

	for (i = 0; args[i] != NULL && i + 1 < sizeof(argv) / sizeof(argv[0]);
	     i++)
		if ((argv[i] = strdup(args[i])) == NULL)
			_exit(126);
	argv[i] = NULL;
	execv(path, argv);
}

static void
child_exec(const struct hn_daemon *d)
{
	const char *argv[12];
	int fd, i = 0;

	/* a test that dies takes its milter with it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = open(d->errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0)
		_exit(126);
	dup2(fd, 1);
	dup2(fd, 2);
	argv[i++] = "tlspolicy-milter";
	argv[i++] = "--run-as-root"; /* tests run as root in CI */
	argv[i++] = "-f";
	argv[i++] = "-c";
	argv[i++] = d->policy;
	argv[i++] = "-p";
	argv[i++] = d->spec;
	if (d->user) {
		argv[i++] = "-u";
		argv[i++] = d->user;
	}
	argv[i] = NULL;
	exec_args(hn_build_path("tlspolicy-milter"), argv);
	_exit(127);
}

int
hn_start(struct hn_daemon *d)
{
	long deadline = hn_now_ms() + 30000;
	int status;

	d->started_at = hn_errlog_size(d);
	if ((d->pid = fork()) < 0)
		return -1;
	if (d->pid == 0)
		child_exec(d);
	while (hn_now_ms() < deadline) {
		if (hn_errlog_has(d, d->started_at, "info: started ", NULL))
			return 0;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			fprintf(stderr,
				"daemon exited at start (status 0x%x):\n",
				status);
			d->pid = 0;
			hn_errlog_dump(d, d->started_at);
			return -1;
		}
		sleep_ms(20);
	}
	fprintf(stderr, "daemon did not log \"started\" within 30 s:\n");
	hn_errlog_dump(d, d->started_at);
	hn_kill(d);
	return -1;
}

/* A sanitizer report does not change the exit status: look for one. */
static int
sanitizer_clean(const struct hn_daemon *d)
{
	static const char *const marks[] = {
		"ERROR: AddressSanitizer",
		"ERROR: LeakSanitizer",
		"WARNING: ThreadSanitizer",
		"runtime error:",
		"SUMMARY: AddressSanitizer",
		"SUMMARY: UndefinedBehaviorSanitizer",
	};
	size_t i;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (hn_errlog_has(d, d->started_at, marks[i], NULL)) {
			fprintf(stderr, "sanitizer report in %s\n", d->errlog);
			hn_errlog_dump(d, d->started_at);
			return -1;
		}
	return 0;
}

/* libmilter notices a stop signal when its listener wakes up, which a
 * connection makes it do at once (otherwise within ~5 s). */
static void
poke(const struct hn_daemon *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	memcpy(sa.sun_path, d->sock, strlen(d->sock) + 1); /* checked in init */
	(void)connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
}

int
hn_stop(struct hn_daemon *d)
{
	long deadline = hn_now_ms() + 20000, next_poke;
	int status = -1;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	next_poke = hn_now_ms() + 300;
	while (waitpid(d->pid, &status, WNOHANG) != d->pid) {
		if (hn_now_ms() > deadline) {
			fprintf(stderr, "daemon did not stop on SIGTERM\n");
			hn_kill(d);
			return -1;
		}
		if (hn_now_ms() > next_poke) {
			poke(d);
			next_poke = hn_now_ms() + 300;
		}
		sleep_ms(20);
	}
	d->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "daemon exit status 0x%x; its log:\n", status);
		hn_errlog_dump(d, d->started_at);
		return -1;
	}
	return sanitizer_clean(d);
}

void
hn_kill(struct hn_daemon *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	d->pid = 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		chmod(path, 0700); /* a test may have left it read-only */
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "cleanup: %s: %s\n", path, strerror(errno));
	return 0;
}

void
hn_cleanup(struct hn_daemon *d)
{
	hn_kill(d);
	if (d->dir[0] == '\0')
		return;
	chmod(d->logdir, 0700);
	if (getenv("HN_KEEP") != NULL) {
		fprintf(stderr, "HN_KEEP: left %s\n", d->dir);
		d->dir[0] = '\0';
		return;
	}
	nftw(d->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	d->dir[0] = '\0';
}

/* ======================================================== its log */

long
hn_errlog_size(const struct hn_daemon *d)
{
	struct stat st;

	return stat(d->errlog, &st) == 0 ? (long)st.st_size : 0;
}

int
hn_errlog_has(const struct hn_daemon *d, long from, const char *a,
	      const char *b)
{
	FILE *f = fopen(d->errlog, "re");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (f == NULL)
		return 0;
	if (from > 0)
		fseek(f, from, SEEK_SET);
	while (!found && getline(&line, &cap, f) > 0)
		found = strstr(line, a) != NULL &&
			(b == NULL || strstr(line, b) != NULL);
	free(line);
	fclose(f);
	return found;
}

int
hn_errlog_wait(const struct hn_daemon *d, long from, const char *a,
	       const char *b, int ms)
{
	long deadline = hn_now_ms() + ms;

	for (;;) {
		if (hn_errlog_has(d, from, a, b))
			return 1;
		if (hn_now_ms() > deadline)
			return 0;
		sleep_ms(20);
	}
}

long
hn_errlog_count(const struct hn_daemon *d, long from, const char *a)
{
	FILE *f = fopen(d->errlog, "re");
	char *line = NULL;
	size_t cap = 0;
	long n = 0;

	if (f == NULL)
		return -1;
	if (from > 0)
		fseek(f, from, SEEK_SET);
	while (getline(&line, &cap, f) > 0)
		n += strstr(line, a) != NULL;
	free(line);
	fclose(f);
	return n;
}

void
hn_errlog_dump(const struct hn_daemon *d, long from)
{
	FILE *f = fopen(d->errlog, "re");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

	if (f == NULL)
		return;
	if (from > 0)
		fseek(f, from, SEEK_SET);
	while (getline(&line, &cap, f) > 0 && n++ < 200)
		fprintf(stderr, "  | %s", line);
	free(line);
	fclose(f);
}

/* =========================================================== the tool */

int
hn_tool_verify(const char *const *files, size_t nfiles, const char *key)
{
	const char *argv[16], *tool = hn_build_path("tlspolicy-audit");
	long deadline = hn_now_ms() + 60000;
	size_t i, n = 0;
	int status;
	pid_t pid;

	if (access(tool, X_OK) < 0 || nfiles > 10)
		return -1;
	argv[n++] = "tlspolicy-audit";
	argv[n++] = "verify";
	if (key != NULL) {
		argv[n++] = "--key";
		argv[n++] = key;
	}
	for (i = 0; i < nfiles; i++)
		argv[n++] = files[i];
	argv[n] = NULL;
	fflush(NULL);
	if ((pid = fork()) < 0)
		return 0;
	if (pid == 0) {
		dup2(2, 1);
		exec_args(tool, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (hn_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr,
				"tlspolicy-audit verify: no answer in 60 s\n");
			return 0;
		}
		sleep_ms(10);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 1;
	fprintf(stderr,
		"tlspolicy-audit verify: exit status 0x%x (a sanitizer "
		"report above is the tool's, not the log's)\n",
		status);
	return 0;
}

/* =========================================================== the MTA */

/* The macros of a Postfix session over TLSv1.2, and the stage's own. */
static int
macros(struct mt_conn *c, int cmd, const char *qid, const char *name,
       const char *value)
{
	const struct mt_macro m[] = {
		{"j", "mx.test.example"},
		{"{daemon_name}", "smtpd"},
		{"v", "Postfix 3.7.11"},
		{"{tls_version}", "TLSv1.2"},
		{"{cipher}", "ECDHE-RSA-AES256-GCM-SHA384"},
		{"{cipher_bits}", "256"},
		{"i", qid},
		{name ? name : "{none}", value},
	};

	return mt_macros(c, cmd, m, sizeof(m) / sizeof(m[0])) < 0 ? -1 : 0;
}

int
hn_mta_macros(struct mt_conn *c, int cmd, const char *qid, const char *name,
	      const char *value)
{
	return macros(c, cmd, qid, name, value);
}

int
hn_mta_open(struct hn_mta *m, const char *spec, int timeout_ms)
{
	char err[256];

	m->err[0] = '\0';
	if (m->r == NULL && (m->r = calloc(1, sizeof(*m->r))) == NULL) {
		snprintf(m->err, sizeof(m->err), "out of memory");
		return -1;
	}
	if ((m->c = mt_open(spec, timeout_ms, err, sizeof(err))) == NULL) {
		snprintf(m->err, sizeof(m->err), "connect: %s", err);
		return -1;
	}
	if (mt_negotiate(m->c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0 ||
	    macros(m->c, SMFIC_CONNECT, NULL, NULL, NULL) < 0 ||
	    mt_connect(m->c, "client.example", SMFIA_INET, 25, "192.0.2.10",
		       m->r) < 0 ||
	    macros(m->c, SMFIC_HELO, NULL, NULL, NULL) < 0 ||
	    mt_helo(m->c, "client.example", m->r) < 0) {
		snprintf(m->err, sizeof(m->err), "session start: %s",
			 mt_error(m->c));
		mt_close(m->c);
		m->c = NULL;
		return -1;
	}
	return 0;
}

void
hn_mta_close(struct hn_mta *m)
{
	if (m->c != NULL)
		(void)mt_quit(m->c); /* as Postfix does; fails fast if broken */
	mt_close(m->c);
	m->c = NULL;
	free(m->r);
	m->r = NULL;
}

/* "y 550 5.7.1 ..." or the reply's name, for messages. */
static const char *
shown(const struct mt_reply *r)
{
	static _Thread_local char buf[200];

	if (r->code == SMFIR_REPLYCODE)
		snprintf(buf, sizeof(buf), "y %.190s", r->text);
	else
		snprintf(buf, sizeof(buf), "%s", mt_code_name(r->code));
	return buf;
}

static int
on_error_reply(const struct mt_reply *r)
{
	return r->code == SMFIR_REPLYCODE &&
	       strcmp(r->text, HN_ON_ERROR_REPLY) == 0;
}

static void
decided(struct hn_decision *d, char kind, const char *key,
	const struct mt_reply *r, int tagged)
{
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	snprintf(d->key, sizeof(d->key), "%s", key);
	d->on_error = on_error_reply(r);
	d->tagged = tagged && !d->on_error;
	snprintf(d->reply, sizeof(d->reply), "%.159s",
		 r->code == SMFIR_REPLYCODE ? r->text : "accept");
}

/* A stage's event failed or got a reply that is not in `want`. */
static int
broken(struct hn_mta *m, const char *qid, const char *stage, int io)
{
	if (io)
		snprintf(m->err, sizeof(m->err), "%.64s %s: %.600s", qid, stage,
			 mt_error(m->c));
	else
		snprintf(m->err, sizeof(m->err),
			 "%.64s %s: unexpected reply %s", qid, stage,
			 shown(m->r));
	mt_close(m->c);
	m->c = NULL;
	return -1;
}

/* The message at end of message: accepted (and tagged when it should
 * be), or on_error. Appends its decision. */
static int
eom(struct hn_mta *m, const char *qid, int tagged, struct hn_decision *d)
{
	struct mt_reply *r = m->r;

	if (macros(m->c, SMFIC_BODYEOB, qid, NULL, NULL) < 0 ||
	    mt_eom(m->c, r) < 0)
		return broken(m, qid, "EOM", 1);
	if (r->code == SMFIR_ACCEPT &&
	    (mt_reply_find(r, SMFIR_INSHEADER, "X-TLS-Policy") != NULL) ==
		    tagged) {
		decided(d, 'm', qid, r, tagged);
		return 0;
	}
	if (on_error_reply(r)) {
		decided(d, 'm', qid, r, 0);
		return 0;
	}
	return broken(m, qid, "EOM", 0);
}

int
hn_mta_tx(struct hn_mta *m, const char *qid, int tagged,
	  struct hn_decision out[2], size_t *n)
{
	char from[] = "<s@sender.example>", refused[128], to[128];
	const char *arg;
	struct mt_reply *r = m->r;

	*n = 0;
	if (m->c == NULL)
		return -1;
	snprintf(refused, sizeof(refused), "<%s-r@refuse.example>", qid);
	snprintf(to, sizeof(to), "<%s-a@%s>", qid,
		 tagged ? "tag.example" : "plain.example");
	arg = from;
	if (macros(m->c, SMFIC_MAIL, qid, "{mail_addr}", "s@sender.example") <
		    0 ||
	    mt_mail(m->c, &arg, 1, r) < 0)
		return broken(m, qid, "MAIL", 1);
	if (r->code != SMFIR_CONTINUE)
		return broken(m, qid, "MAIL", 0);
	/* refused at RCPT: the record is the decision */
	arg = refused;
	if (macros(m->c, SMFIC_RCPT, qid, "{rcpt_addr}", refused) < 0 ||
	    mt_rcpt(m->c, &arg, 1, r) < 0)
		return broken(m, qid, "RCPT refused", 1);
	if (r->code != SMFIR_REPLYCODE ||
	    (strncmp(r->text, HN_REFUSED_REPLY, strlen(HN_REFUSED_REPLY)) !=
		     0 &&
	     !on_error_reply(r)))
		return broken(m, qid, "RCPT refused", 0);
	decided(&out[(*n)++], 'r', refused, r, 0);
	/* accepted at RCPT: decided with the message */
	arg = to;
	if (macros(m->c, SMFIC_RCPT, qid, "{rcpt_addr}", to) < 0 ||
	    mt_rcpt(m->c, &arg, 1, r) < 0)
		return broken(m, qid, "RCPT", 1);
	if (r->code != SMFIR_CONTINUE)
		return broken(m, qid, "RCPT", 0);
	if (macros(m->c, SMFIC_DATA, qid, NULL, NULL) < 0 ||
	    mt_data(m->c, r) < 0)
		return broken(m, qid, "DATA", 1);
	if (!tagged && (r->code == SMFIR_ACCEPT || on_error_reply(r))) {
		decided(&out[(*n)++], 'm', qid, r, 0);
		return 0;
	}
	if (!tagged || r->code != SMFIR_CONTINUE)
		return broken(m, qid, "DATA", 0);
	if (mt_header(m->c, "Received", "from client.example", r) < 0)
		return broken(m, qid, "header", 1);
	if (eom(m, qid, tagged, &out[*n]) < 0)
		return -1;
	(*n)++;
	return 0;
}

/* ============================================================ /proc */

/* The number after "name:" in /proc/PID/status, or -1. */
static long
proc_status(pid_t pid, const char *name)
{
	char path[64], line[256];
	size_t len = strlen(name);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, len) == 0 && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

long
hn_proc_rss_kb(pid_t pid)
{
	return proc_status(pid, "VmRSS");
}

long
hn_proc_threads(pid_t pid)
{
	return proc_status(pid, "Threads");
}

long
hn_proc_cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || hz <= 0)
		return -1;
	buf[n] = '\0';
	/* after "(comm)": state is field 3, utime 14, stime 15 */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		   &st) != 2)
		return -1;
	return (long)((ut + st) * 1000 / (unsigned long long)hz);
}

long
hn_proc_fds(pid_t pid)
{
	return hn_proc_fds_sockets(pid, NULL);
}

long
hn_proc_fds_sockets(pid_t pid, long *sockets)
{
	char path[64], link[16];
	struct dirent *e;
	long n = 0, ns = 0;
	ssize_t k;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		if (sockets == NULL)
			continue;
		k = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		ns += k > 7 && memcmp(link, "socket:", 7) == 0;
	}
	closedir(d);
	if (sockets)
		*sockets = ns;
	return n;
}

int
hn_quick(void)
{
	const char *q = getenv("TLSP_TEST_QUICK");

	return q != NULL && *q != '\0' && strcmp(q, "0") != 0;
}

int
hn_raw_connect(const struct hn_daemon *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(d->sock) >= sizeof(sa.sun_path))
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memcpy(sa.sun_path, d->sock, strlen(d->sock) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
hn_alive(const struct hn_daemon *d)
{
	char path[64], buf[512], *p;
	siginfo_t si = {0};
	ssize_t n;
	int fd;

	/* WNOWAIT: a daemon that died stays for hn_stop to reap and report */
	if (d->pid <= 0 ||
	    waitid(P_PID, (id_t)d->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
	    si.si_pid != 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)d->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}
