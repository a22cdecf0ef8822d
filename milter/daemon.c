/*
 * daemon.c - start, reload and stop, the way admins expect a milter to.
 *
 * Order matters: signals are blocked before any thread exists (so only
 * the reload thread ever receives SIGUSR1/SIGUSR2), the socket and the
 * audit log are opened before privileges are dropped, and the process
 * forks before it starts a thread. libmilter treats SIGHUP, SIGTERM and
 * SIGINT as "stop"; SIGUSR1 reloads the policy, SIGUSR2 reopens the
 * audit log for logrotate.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "accept.h"
#include "callbacks.h"
#include "daemon.h"
#include "expiry.h"
#include "frame.h"
#include "holder.h"
#include "log.h"
#include "metrics.h"
#include "record.h"
#include "reload.h"
#include "state.h"

#define DEFAULT_SOCKET "unix:/run/tlspolicy/tlspolicy.sock"
#define THREAD_STACK (256u * 1024)
#define FD_SCAN 1024	 /* descriptors looked at for the listening socket */
#define STOP_WAIT_SECS 1 /* for the signal thread, at a stop */

static atomic_int stopping;

/* SIGUSR1 reloads, SIGUSR2 reopens the audit log; sigwait, not handlers,
 * so the work runs on an ordinary thread. */
static void *
signal_thread(void *arg)
{
	sigset_t *set = arg;
	char err[256];
	int sig;

	for (;;) {
		/* between signals, watch for exceptions ending */
		struct timespec wait = {tlspm_expiry_watch(time(NULL)), 0};

		sig = sigtimedwait(set, NULL, &wait);
		if (atomic_load(&stopping))
			break;
		if (sig < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (sig < 0)
			break;
		if (sig == SIGUSR1) {
			tlspm_log(LOG_INFO, "SIGUSR1: reloading %s",
				  tlspm.policy_path);
			(void)tlspm_reload_policy();
		} else if (sig == SIGUSR2 && tlspm.audit) {
			if (tlspm_reload_audit(err, sizeof(err)) < 0)
				tlspm_log(LOG_ERR, "audit: reopen failed: %s",
					  err);
			else
				tlspm_log(LOG_INFO, "audit: log reopened");
		}
	}
	return NULL;
}

/* Looks up "user" or "user:group" before anything is opened, so a typo
 * fails at once. */
static int
lookup_user(const char *spec, uid_t *uid, gid_t *gid, char *name, size_t namesz)
{
	char buf[256], *colon;
	struct passwd *pw;
	struct group *gr;

	snprintf(buf, sizeof(buf), "%s", spec);
	colon = strchr(buf, ':');
	if (colon)
		*colon++ = '\0';
	pw = getpwnam(buf);
	if (pw == NULL) {
		fprintf(stderr, "tlspolicy-milter: unknown user '%s'\n", buf);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	snprintf(name, namesz, "%s", pw->pw_name);
	if (colon) {
		gr = getgrnam(colon);
		if (gr == NULL) {
			fprintf(stderr,
				"tlspolicy-milter: unknown group '%s'\n",
				colon);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

static int
drop_privileges(const char *name, uid_t uid, gid_t gid)
{
	/* Already that user (systemd's User=): nothing to drop, and a
	 * process without privileges could not call initgroups(). */
	if (getuid() == uid && geteuid() == uid && getgid() == gid)
		return 0;
	if (initgroups(name, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		tlspm_log_errno(LOG_ERR, "cannot become %s", name);
		return -1;
	}
	if (setuid(0) == 0) { /* paranoia: the drop must be permanent */
		tlspm_log(LOG_ERR, "privileges could be regained; stopping");
		return -1;
	}
	return 0;
}

static int
write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 ||
	    fclose(f) != 0) {
		tlspm_log_errno(LOG_ERR, "pidfile %s", path);
		return -1;
	}
	return 0;
}

static int
daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(EX_OK);
	if (setsid() < 0 || chdir("/") < 0)
		return -1;
	fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return -1;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return 0;
}

/* A copy of path made absolute against the current directory. */
static char *
absolute(const char *path)
{
	char cwd[4096], *out;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return strdup(path);
	out = malloc(strlen(cwd) + strlen(path) + 2);
	if (out)
		sprintf(out, "%s/%s", cwd, path);
	return out;
}

static const char *
unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

/* Which of the first FD_SCAN descriptors are open. */
static void
open_fds(unsigned char *open)
{
	int fd;

	for (fd = 0; fd < FD_SCAN; fd++)
		open[fd] = fcntl(fd, F_GETFD) != -1;
}

/*
 * libmilter does not set TCP_NODELAY, so over TCP a reply sent in two
 * writes (the tag header, then accept) waits for the MTA's delayed ACK:
 * ~40 ms per tagged message on loopback. Accepted sockets inherit the
 * option from the listening socket (Linux, the BSDs), which libmilter
 * keeps to itself: it is the one TCP listener that smfi_opensocket()
 * added to the descriptors open before.
 */
static void
set_nodelay(const unsigned char *before)
{
	int fd, one = 1, v, done = 0;
	socklen_t len;

	for (fd = 0; fd < FD_SCAN; fd++) {
		if (before[fd] || fcntl(fd, F_GETFD) == -1)
			continue;
		len = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 ||
		    v == 0)
			continue;
		len = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 ||
		    (v != AF_INET && v != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			       sizeof(one)) == 0)
			done++;
	}
	if (done == 0)
		fprintf(stderr,
			"tlspolicy-milter: warning: cannot set "
			"TCP_NODELAY on the listening socket: tagged messages "
			"may wait ~40 ms for the MTA's delayed ACK\n");
}

/* Opens the milter socket with the configured mode, owned by the user
 * the daemon will run as. */
static int
open_socket(const char *spec, unsigned mode, const char *user, uid_t uid,
	    gid_t gid)
{
	const char *path = unix_path(spec);
	unsigned char before[FD_SCAN];
	char conn[4096];
	mode_t old;
	int rc;

	snprintf(conn, sizeof(conn), "%s", spec); /* libmilter copies it */
	if (smfi_setconn(conn) != MI_SUCCESS ||
	    smfi_register(tlspm_callbacks) != MI_SUCCESS) {
		fprintf(stderr, "tlspolicy-milter: cannot use socket %s\n",
			spec);
		return -1;
	}
	open_fds(before);
	old = umask(~(mode_t)mode & 0777);
	rc = smfi_opensocket(1);
	umask(old);
	if (rc != MI_SUCCESS) {
		fprintf(stderr, "tlspolicy-milter: cannot open socket %s: %s\n",
			spec, strerror(errno));
		return -1;
	}
	if (strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0)
		set_nodelay(before);
	tlspm_accept_reserve();
	if (path && user && chown(path, uid, gid) < 0) {
		fprintf(stderr, "tlspolicy-milter: chown %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

static struct tlsp_policy *
load_policy(const char *path)
{
	struct tlsp_diags d = {0};
	struct tlsp_policy *p = tlsp_policy_load(path, TLSP_MTA_UNKNOWN, &d);
	char line[1400];
	size_t i;

	for (i = 0; i < d.count; i++)
		fprintf(stderr, "%s\n",
			tlsp_diag_format(&d.v[i], line, sizeof(line)));
	tlsp_diags_free(&d);
	if (p == NULL)
		fprintf(stderr, "%s: policy not loaded\n", path);
	return p;
}

/* What the audit writer has to say goes to syslog: checkpoints (a copy
 * of the chain's state outside the file), failures, recoveries. */
static void
audit_notify(void *arg, int priority, const char *msg)
{
	(void)arg;
	tlspm_log(priority, "%s", msg);
}

int
tlspm_daemon_spill_plan(const struct tlsp_settings *st, char *buf, size_t bufsz)
{
	char err[512];
	int same;

	buf[0] = '\0';
	if (st->audit_file == NULL)
		return -1;
	if (st->audit_spill == NULL && st->audit_sync == TLSP_SYNC_ALWAYS) {
		snprintf(buf, bufsz,
			 "audit: sync: always: no decision is answered before "
			 "its record is on disk, so none can be held at stop "
			 "(audit.spill is not set)");
		return 0;
	}
	if (st->audit_spill == NULL) {
		snprintf(buf, bufsz,
			 "audit.spill is not set: decisions already answered "
			 "whose records are still queued when the daemon stops "
			 "while %s cannot be written (a full disk) will be "
			 "lost; set it to a file on another file system",
			 st->audit_file);
		return 1;
	}
	if (tlsp_audit_spill_check(st->audit_spill, st->audit_file, &same, err,
				   sizeof(err)) < 0) {
		snprintf(buf, bufsz, "audit.spill: %s", err);
		return 1;
	}
	if (same) {
		snprintf(buf, bufsz,
			 "audit.spill %s is on the file system of %s: when "
			 "that is full, records still queued at stop cannot be "
			 "spilled either and are lost; use another file system",
			 st->audit_spill, st->audit_file);
		return 1;
	}
	snprintf(buf, bufsz,
		 "audit: records %s cannot take at stop go to %s (another "
		 "file system), and back into the log at the next start",
		 st->audit_file, st->audit_spill);
	return 0;
}

/* Everything that can fail with a message on the terminal happens before
 * the fork. */
static int
prepare(const struct tlspm_options *o, struct tlsp_policy *p, uid_t *uid,
	gid_t *gid, char *uname, size_t unamesz)
{
	const struct tlsp_settings *st = tlsp_policy_settings(p);
	const char *user = o->user ? o->user : st->user;
	const char *sock = o->socket ? o->socket : st->socket;
	char err[512];

	if (user && lookup_user(user, uid, gid, uname, unamesz) < 0)
		return EX_NOUSER;
	if (st->audit_file) {
		struct tlsp_audit_options ao = {
			.host = tlspm.hostname,
			.sync = (enum tlsp_audit_sync)st->audit_sync,
			.addresses =
				(enum tlsp_audit_addresses)st->audit_addresses,
			.key_file = st->audit_key_file,
			.pseudonym_key_file = st->audit_pseudonym_key_file,
			.checkpoint_secs = (unsigned)st->audit_checkpoint,
			.spill = st->audit_spill,
			.notify = audit_notify,
		};

		tlspm.audit = tlsp_audit_open_with(st->audit_file, &ao, err,
						   sizeof(err));
		if (tlspm.audit == NULL) {
			fprintf(stderr, "tlspolicy-milter: audit log %s: %s\n",
				st->audit_file, err);
			return EX_CANTCREAT;
		}
		/* Ours from now on: the same daemon started later as that
		 * user (by systemd, say) must still be able to append. */
		if (user && getuid() == 0 &&
		    tlsp_audit_chown(tlspm.audit, *uid, *gid) < 0) {
			fprintf(stderr, "tlspolicy-milter: chown %s: %s\n",
				st->audit_file, strerror(errno));
			return EX_CANTCREAT;
		}
	}
	if (open_socket(sock ? sock : DEFAULT_SOCKET,
			st->socket_mode ? st->socket_mode : 0660, user, *uid,
			*gid) < 0)
		return EX_OSERR;
	return EX_OK;
}

static void
set_thread_stack(void)
{
	pthread_attr_t attr;

	/* libmilter's threads would otherwise get 8 MiB of stack each. */
	if (pthread_attr_init(&attr) == 0) {
		pthread_attr_setstacksize(&attr, THREAD_STACK);
		if (pthread_setattr_default_np(&attr) != 0)
			tlspm_log(LOG_WARNING,
				  "cannot set the thread stack size");
		pthread_attr_destroy(&attr);
	}
}

/*
 * Waits a little for the signal thread, which is idle unless a reload is
 * reading or parsing a file: that is not worth waiting for, as its result
 * would be dropped. 1 if it ended, 0 if it is left running.
 */
static int
end_signal_thread(pthread_t thr)
{
	struct timespec until;

	pthread_kill(thr, SIGUSR2);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_SECS;
	if (pthread_timedjoin_np(thr, NULL, &until) == 0)
		return 1;
	tlspm_log(LOG_WARNING,
		  "stopping without waiting for the reload of %s, still "
		  "reading after %d s",
		  tlspm.policy_path, STOP_WAIT_SECS);
	return 0;
}

/* The socket spec may live in the policy: unlink before it is freed.
 * Returns 0 if the signal thread is still running (see above). */
static int
shutdown_daemon(pthread_t thr, const char *pidfile, const char *sock)
{
	struct tlsp_policy *p;
	int ended;

	if (sock && unix_path(sock))
		(void)unlink(unix_path(sock));
	if (pidfile)
		(void)unlink(pidfile);
	atomic_store(&stopping, 1);
	tlspm_reload_close();
	ended = end_signal_thread(thr);
	/* its last counts, the audit log's among them, before that closes */
	tlspm_metrics_stop();
	p = tlspm_holder_get();
	if (tlspm_accept_shed() > 0)
		tlspm_log(LOG_WARNING,
			  "%lu %s closed at once for want of file "
			  "descriptors",
			  tlspm_accept_shed(),
			  tlspm_accept_shed() == 1 ? "connection was"
						   : "connections were");
	if (tlspm_frame_refused() > 0)
		tlspm_log(LOG_WARNING,
			  "%lu %s closed for a malformed milter packet",
			  tlspm_frame_refused(),
			  tlspm_frame_refused() == 1 ? "connection was"
						     : "connections were");
	/* the stop record, and whatever the log cannot take, before the
	 * policy its hash lives in goes */
	tlspm_record_close(p);
	tlspm_log(LOG_INFO, "stopped");
	tlsp_policy_unref(p);
	tlspm_holder_set(NULL);
	return ended;
}

int
tlspm_daemon_run(const struct tlspm_options *o)
{
	static sigset_t set;
	sigset_t stop;
	struct tlsp_policy *p;
	const struct tlsp_settings *st;
	char host[256] = "localhost", uname[64] = "", detail[128], plan[1024];
	char *pidfile, *sock;
	const char *pf;
	uid_t uid = 0;
	gid_t gid = 0;
	pthread_t thr;
	int rc, facility;

	/* Absolute: the daemon chdirs to / and reloads by this path. */
	tlspm.policy_path = realpath(o->policy_path, NULL);
	if (tlspm.policy_path == NULL) {
		fprintf(stderr, "tlspolicy-milter: %s: %s\n", o->policy_path,
			strerror(errno));
		return EX_CONFIG;
	}
	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "localhost");
	tlspm.hostname = strdup(host);
	if (tlspm.hostname == NULL)
		return EX_OSERR;
	p = load_policy(tlspm.policy_path);
	if (p == NULL)
		return EX_CONFIG;
	st = tlsp_policy_settings(p);
	/* Copies: a reload may free the policy these strings live in. */
	pf = o->pidfile ? o->pidfile : st->pidfile;
	pidfile = pf ? absolute(pf) : NULL;
	sock = strdup(o->socket	   ? o->socket
		      : st->socket ? st->socket
				   : DEFAULT_SOCKET);
	if (sock == NULL)
		return EX_OSERR;
	facility = tlspm_log_facility(st->syslog_facility ? st->syslog_facility
							  : "mail");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN); /* a full log gives EFBIG, handled */
	/* Blocked in every thread from here on: libmilter's signal thread
	 * sigwaits for the stop signals, ours for USR1 and USR2. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (geteuid() == 0 && !o->run_as_root && !o->user && !st->user) {
		/* A milter parses what the internet sends: not as root. */
		fprintf(stderr,
			"tlspolicy-milter: refusing to serve as root: "
			"give -u USER (or milter.user), to which it drops once its "
			"socket and log are open, or --run-as-root if you mean "
			"it\n");
		tlsp_policy_unref(p);
		free(pidfile);
		free(sock);
		return EX_USAGE;
	}
	rc = prepare(o, p, &uid, &gid, uname, sizeof(uname));
	if (rc != EX_OK) {
		tlsp_policy_unref(p);
		return rc;
	}
	if (!o->foreground && daemonize() < 0) {
		fprintf(stderr, "tlspolicy-milter: cannot daemonize: %s\n",
			strerror(errno));
		return EX_OSERR;
	}
	tlspm_log_open("tlspolicy-milter", facility, o->foreground, o->verbose);
	if ((pidfile && write_pidfile(pidfile) < 0) ||
	    (uname[0] && drop_privileges(uname, uid, gid) < 0))
		return EX_OSERR;
	if (!uname[0] && getuid() == 0)
		tlspm_log(LOG_WARNING,
			  "running as root (--run-as-root): use -u "
			  "or milter.user");
	set_thread_stack();
	tlspm_holder_set(p);
	snprintf(detail, sizeof(detail), "tlspolicy-milter %s",
		 PACKAGE_VERSION);
	tlspm_record_lifecycle(TLSP_EV_START, p, detail);
	tlspm_log(LOG_INFO,
		  "started %s: policy=%s rules=%zu sha256=%s audit=%s",
		  PACKAGE_VERSION, tlspm.policy_path, tlsp_policy_rule_count(p),
		  tlsp_policy_hash(p), st->audit_file ? st->audit_file : "off");
	rc = tlspm_daemon_spill_plan(st, plan, sizeof(plan));
	if (rc >= 0)
		tlspm_log(rc > 0 ? LOG_WARNING : LOG_INFO, "%s", plan);
	(void)tlspm_metrics_start(st, p);
	/* Only now: a reload frees p and st, and its record must follow the
	 * start record. A USR1 or USR2 sent before this waits, blocked. */
	if (pthread_create(&thr, NULL, signal_thread, &set) != 0) {
		tlspm_log(LOG_ERR, "cannot start the signal thread");
		return EX_OSERR;
	}
	rc = smfi_main() == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
	if (!shutdown_daemon(thr, pidfile, sock)) {
		/* Everything is written; exit's handlers (OpenSSL's among
		 * them) must not run under the reload still parsing. */
		fflush(NULL);
		_exit(rc);
	}
	free(pidfile);
	free(sock);
	return rc;
}
