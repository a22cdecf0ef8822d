/*
 * daemon.h - starting, serving and stopping the daemon.
 */
#ifndef TLSPM_DAEMON_H
#define TLSPM_DAEMON_H

#include <stddef.h>

struct tlspm_options {
	const char *policy_path, *socket, *user, *pidfile;
	int foreground, verbose;
	int run_as_root; /* --run-as-root: no -u or milter.user needed */
};

/* Runs the daemon until SIGTERM; returns an exit code (sysexits.h). */
int tlspm_daemon_run(const struct tlspm_options *);

struct tlsp_settings;
/*
 * What happens to answered decisions the audit log cannot take when the
 * daemon stops, as one line into buf, for -n and for the start. Returns
 * 1 when that is a warning (they could be lost), 0 when it is not, -1
 * when there is no audit log (buf is then "").
 */
int tlspm_daemon_spill_plan(const struct tlsp_settings *, char *buf,
			    size_t bufsz);

#endif
