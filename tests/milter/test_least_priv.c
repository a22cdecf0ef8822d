/*
 * test_least_priv.c - the daemon under the restrictions of the hardened
 * systemd unit (contrib/systemd/tlspolicy-milter.service), emulated
 * without systemd.
 *
 * The unit says ProtectSystem=strict, ReadWritePaths= for the socket
 * and log directories only, User=, an empty CapabilityBoundingSet=,
 * NoNewPrivileges=yes and UMask=0027. Here: a private mount namespace
 * (unshare -m) in which / is re-mounted read-only and only the two
 * directories are bound read-write, then setpriv to nobody with no
 * capabilities (inheritable, bounding) and no_new_privs, then the
 * daemon. It must start, serve, write its audit log and .head file,
 * reload on SIGUSR1, reopen on SIGUSR2 and stop cleanly with one
 * intact chain. Root only; skipped (77) when the namespace or the
 * mounts are not permitted.
 */
#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

/* $1.. are the daemon's arguments; TLSP_RW the two writable dirs. */
static const char wrapper[] =
	"#!/bin/sh\n"
	"# ProtectSystem=strict, ReadWritePaths=, User=, CapabilityBoundingSet=,\n"
	"# NoNewPrivileges=yes, UMask=0027 (see test_least_priv.c)\n"
	"exec unshare -m --propagation private sh -ec '\n"
	"  mount --rbind / /\n"
	"  mount -o remount,bind,ro /\n"
	"  for d in $TLSP_RW; do\n"
	"    mount --bind \"$d\" \"$d\"\n"
	"    mount -o remount,bind,rw \"$d\"\n"
	"  done\n"
	"  umask 027\n"
	"  exec setpriv --reuid=nobody --regid=nogroup --clear-groups \\\n"
	"    --inh-caps=-all --bounding-set=-all --no-new-privs \\\n"
	"    --pdeathsig=KILL -- \"$TLSP_DAEMON\" \"$@\"\n"
	"' tlspolicy-milter \"$@\"\n";

struct fx {
	struct hn_daemon d;
	struct hn_mta m;
	char rundir[HN_PATH], script[HN_PATH], daemon[HN_PATH];
	unsigned tx;
};

static int
can_sandbox(void)
{
	int st = system("unshare -m --propagation private sh -ec "
			"'mount --rbind / / && mount -o remount,bind,ro /' "
			">/dev/null 2>&1 && command -v setpriv >/dev/null");

	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int
setup(void **state)
{
	struct passwd *pw = getpwnam("nobody");
	struct fx *f;
	FILE *out;
	char rw[2 * HN_PATH + 2];

	if (pw == NULL || fx_setup(state, sizeof(*f), "always", 1) < 0)
		return -1;
	f = *state;
	snprintf(f->daemon, sizeof(f->daemon), "%s",
		 hn_build_path("tlspolicy-milter"));
	if (f->daemon[0] != '/') { /* the daemon chdirs nowhere, but be safe */
		char cwd[HN_PATH / 2];

		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -1;
		snprintf(f->daemon, sizeof(f->daemon), "%s/%s", cwd,
			 hn_build_path("tlspolicy-milter"));
	}
	/* the socket in its own directory, as under /run/tlspolicy */
	snprintf(f->rundir, sizeof(f->rundir), "%s/run", f->d.dir);
	snprintf(f->d.sock, sizeof(f->d.sock), "%s/run/m.sock", f->d.dir);
	snprintf(f->d.spec, sizeof(f->d.spec), "unix:%s", f->d.sock);
	snprintf(f->script, sizeof(f->script), "%s/sandbox.sh", f->d.dir);
	if (mkdir(f->rundir, 0750) < 0 ||
	    chown(f->rundir, pw->pw_uid, pw->pw_gid) < 0 ||
	    chown(f->d.logdir, pw->pw_uid, pw->pw_gid) < 0 ||
	    chown(f->d.key, pw->pw_uid, pw->pw_gid) < 0 ||
	    chmod(f->d.key, 0400) < 0 || chmod(f->d.dir, 0711) < 0 ||
	    chmod(f->d.policy, 0644) < 0)
		return -1;
	if ((out = fopen(f->script, "we")) == NULL)
		return -1;
	fputs(wrapper, out);
	if (fclose(out) != 0 || chmod(f->script, 0755) < 0)
		return -1;
	snprintf(rw, sizeof(rw), "%s %s", f->d.logdir, f->rundir);
	setenv("TLSP_RW", rw, 1);
	setenv("TLSP_DAEMON", f->daemon, 1);
	setenv("TLSPOLICY_MILTER", f->script, 1);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f == NULL)
		return 0;
	fx_cleanup(&f->d, &f->m);
	unsetenv("TLSPOLICY_MILTER");
	free(f);
	return 0;
}

/* "Name:\tvalue" of /proc/PID/status, as a string. */
static void
status_field(pid_t pid, const char *name, char *out, size_t outsz)
{
	char path[64], line[256];
	size_t len = strlen(name);
	FILE *in;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	in = fopen(path, "re");
	assert_non_null(in);
	while (fgets(line, sizeof(line), in) != NULL)
		if (strncmp(line, name, len) == 0 && line[len] == ':') {
			snprintf(out, outsz, "%s",
				 line + len + 1 +
					 strspn(line + len + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
			break;
		}
	fclose(in);
}

/* The daemon's root is mounted read-only, its two directories not. */
static void
assert_mounts(const struct fx *f)
{
	char path[64], line[1024], mnt[512], opts[256];
	int root_ro = 0, rw = 0;
	FILE *in;

	snprintf(path, sizeof(path), "/proc/%ld/mountinfo", (long)f->d.pid);
	in = fopen(path, "re");
	assert_non_null(in);
	while (fgets(line, sizeof(line), in) != NULL) {
		if (sscanf(line, "%*s %*s %*s %*s %511s %255s", mnt, opts) != 2)
			continue;
		if (strcmp(mnt, "/") == 0)
			root_ro |= strncmp(opts, "ro", 2) ==
				   0; /* the top one */
		if ((strcmp(mnt, f->d.logdir) == 0 ||
		     strcmp(mnt, f->rundir) == 0) &&
		    strncmp(opts, "rw", 2) == 0)
			rw++;
	}
	fclose(in);
	assert_true(root_ro);
	assert_int_equal(rw, 2);
}

static void
test_systemd_restrictions(void **state)
{
	struct fx *f = *state;
	char v[128], head[HN_PATH + 8], rotated[HN_PATH + 4];
	const char *files[] = {rotated, f->d.audit};
	struct al_log log = {0};
	struct stat st;
	long off;

	if (geteuid() != 0 || !can_sandbox()) {
		print_message("skipped: needs root, unshare -m, mount and "
			      "setpriv\n");
		skip();
	}
	assert_int_equal(hn_start(&f->d), 0);
	status_field(f->d.pid, "Uid", v, sizeof(v));
	assert_int_equal(strncmp(v, "65534\t65534\t65534\t65534", 23), 0);
	status_field(f->d.pid, "CapEff", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	status_field(f->d.pid, "CapBnd", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	status_field(f->d.pid, "NoNewPrivs", v, sizeof(v));
	assert_string_equal(v, "1");
	assert_mounts(f);
	/* UMask=0027: the socket is not for others */
	assert_int_equal(stat(f->d.sock, &st), 0);
	assert_int_equal(st.st_mode & 0007, 0);
	fx_tx_decided(&f->d, &f->m, "LP", &f->tx, 4);
	assert_int_equal(stat(f->d.audit, &st), 0);
	assert_true(st.st_size > 0);
	/* SIGUSR1: the policy reloads (read-only is enough) */
	off = hn_errlog_size(&f->d);
	assert_int_equal(kill(f->d.pid, SIGUSR1), 0);
	assert_true(hn_errlog_wait(&f->d, off, "reloaded policy", NULL, 10000));
	fx_tx_decided(&f->d, &f->m, "LP", &f->tx, 2);
	/* SIGUSR2 after logrotate's rename: a new file in the log dir */
	snprintf(rotated, sizeof(rotated), "%s.1", f->d.audit);
	assert_int_equal(rename(f->d.audit, rotated), 0);
	off = hn_errlog_size(&f->d);
	assert_int_equal(kill(f->d.pid, SIGUSR2), 0);
	if (!hn_errlog_wait(&f->d, off, "audit: log reopened", NULL, 10000)) {
		hn_errlog_dump(&f->d, off);
		fail_msg("no reopen under the restrictions");
	}
	fx_tx_decided(&f->d, &f->m, "LP", &f->tx, 2);
	fx_stop(&f->d, &f->m);
	/* the writer leaves path.head behind when it stops */
	snprintf(head, sizeof(head), "%s.head", f->d.audit);
	assert_int_equal(stat(head, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	fx_assert_log(&log, files, 2, f->d.key);
	assert_int_equal(al_count_type(&log, "reload"), 1);
	print_message("sandboxed as nobody, no capabilities, / read-only: %u "
		      "transactions, %zu records over 2 files\n",
		      f->tx, log.n);
	al_free(&log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_systemd_restrictions,
						setup, teardown),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	alarm(120);
	if (geteuid() != 0 || getpwnam("nobody") == NULL) {
		fprintf(stderr, "skipped: needs root and a user nobody\n");
		return 77;
	}
	if (!can_sandbox()) {
		fprintf(stderr, "skipped: unshare -m, mount or setpriv is not "
				"permitted here\n");
		return 77;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	return rc;
}
