/*
 * daemon.h - starting, serving and stopping the daemon.
 */
#ifndef TLSPM_DAEMON_H
#define TLSPM_DAEMON_H

struct tlspm_options {
	const char *policy_path, *socket, *user, *pidfile;
	int foreground, verbose;
	int run_as_root; /* --run-as-root: no -u or milter.user needed */
};

/* Runs the daemon until SIGTERM; returns an exit code (sysexits.h). */
int tlspm_daemon_run(const struct tlspm_options *);

#endif
