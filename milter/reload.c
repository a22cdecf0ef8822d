/*
 * reload.c - loading the policy file again, on SIGUSR1.
 *
 * The new policy is parsed outside any lock and published by holder.c;
 * a file with any error leaves the old policy in force, logs every error
 * and writes a reload_failed record. Settings read only at start are
 * compared and, if changed, named in a warning.
 *
 * A stop never waits for a reload's reading and parsing (a file on a
 * hung NFS mount, a policy of a million rules): only the publishing,
 * which touches the holder and the audit log, runs under a gate that
 * tlspm_reload_close() shuts.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "holder.h"
#include "log.h"
#include "metrics.h"
#include "record.h"
#include "reload.h"
#include "state.h"

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static int closed; /* under gate */

static int
differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* Settings read only at start cannot change by a reload: say so. */
static void
warn_start_only(const struct tlsp_policy *old, const struct tlsp_policy *new)
{
	const struct tlsp_settings *a = tlsp_policy_settings(old);
	const struct tlsp_settings *b = tlsp_policy_settings(new);
	const char *changed[16];
	size_t n = 0, i;

	if (differs(a->socket, b->socket))
		changed[n++] = "milter.socket";
	if (a->socket_mode != b->socket_mode)
		changed[n++] = "milter.socket_mode";
	if (differs(a->user, b->user))
		changed[n++] = "milter.user";
	if (differs(a->pidfile, b->pidfile))
		changed[n++] = "milter.pidfile";
	if (differs(a->syslog_facility, b->syslog_facility))
		changed[n++] = "milter.syslog_facility";
	if (differs(a->audit_file, b->audit_file))
		changed[n++] = "audit.file";
	if (a->audit_sync != b->audit_sync)
		changed[n++] = "audit.sync";
	if (differs(a->audit_key_file, b->audit_key_file))
		changed[n++] = "audit.key_file";
	if (a->audit_addresses != b->audit_addresses ||
	    differs(a->audit_pseudonym_key_file, b->audit_pseudonym_key_file))
		changed[n++] = "audit.addresses";
	if (a->audit_checkpoint != b->audit_checkpoint)
		changed[n++] = "audit.checkpoint";
	if (differs(a->audit_spill, b->audit_spill))
		changed[n++] = "audit.spill";
	if (differs(a->metrics_file, b->metrics_file) ||
	    a->metrics_interval != b->metrics_interval ||
	    a->partner_window != b->partner_window ||
	    a->partners_max != b->partners_max)
		changed[n++] = "milter.metrics_file and partner settings";
	for (i = 0; i < n; i++)
		tlspm_log(LOG_WARNING,
			  "reload: %s changed; it takes effect at "
			  "the next restart",
			  changed[i]);
}

/* Joins the errors into one line for the reload_failed record. */
static void
join_errors(const struct tlsp_diags *d, char *buf, size_t bufsz)
{
	char line[1400];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < d->count && len + 3 < bufsz; i++) {
		if (d->v[i].is_warning)
			continue;
		tlsp_diag_format(&d->v[i], line, sizeof(line));
		len += (size_t)snprintf(buf + len, bufsz - len, "%s%s",
					len ? "; " : "", line);
	}
}

void
tlspm_reload_close(void)
{
	pthread_mutex_lock(&gate);
	closed = 1;
	pthread_mutex_unlock(&gate);
}

/* What a loaded (or refused) file changes: the log, the holder and the
 * audit log. Under the gate. */
static int
publish(struct tlsp_policy *p, struct tlsp_diags *d)
{
	struct tlsp_policy *old;
	char errors[4096], line[1400];
	size_t i;

	for (i = 0; i < d->count; i++)
		tlspm_log(d->v[i].is_warning ? LOG_WARNING : LOG_ERR,
			  "reload: %s",
			  tlsp_diag_format(&d->v[i], line, sizeof(line)));
	if (p == NULL) {
		join_errors(d, errors, sizeof(errors));
		old = tlspm_holder_get();
		tlspm_log(LOG_ERR,
			  "reload failed: %zu error%s; keeping policy "
			  "sha256=%s",
			  d->errors, d->errors == 1 ? "" : "s",
			  old ? tlsp_policy_hash(old) : "-");
		tlspm_record_lifecycle(TLSP_EV_RELOAD_FAILED, old, errors);
		tlspm_metrics_reload(NULL);
		tlsp_policy_unref(old);
		return -1;
	}
	old = tlspm_holder_get();
	if (old)
		warn_start_only(old, p);
	tlsp_policy_unref(old);
	/* Swap first: once the record says so, new connections get it. */
	tlspm_holder_set(tlsp_policy_ref(p));
	tlspm_log(LOG_INFO,
		  "reloaded policy %s: rules=%zu profiles=%zu "
		  "sha256=%s",
		  tlsp_policy_path(p), tlsp_policy_rule_count(p),
		  tlsp_policy_profile_count(p), tlsp_policy_hash(p));
	tlspm_record_lifecycle(TLSP_EV_RELOAD, p, NULL);
	tlspm_metrics_reload(p);
	tlsp_policy_unref(p);
	return 0;
}

int
tlspm_reload_policy(void)
{
	struct tlsp_diags d = {0};
	struct tlsp_policy *p;
	int rc = -1;

	p = tlsp_policy_load(tlspm.policy_path, TLSP_MTA_UNKNOWN, &d);
	pthread_mutex_lock(&gate);
	if (!closed)
		rc = publish(p, &d);
	else
		tlsp_policy_unref(p); /* stopping: nothing to publish to */
	pthread_mutex_unlock(&gate);
	tlsp_diags_free(&d);
	return rc;
}

int
tlspm_reload_audit(char *err, size_t errsz)
{
	int rc = 0;

	pthread_mutex_lock(&gate);
	if (!closed && tlspm.audit)
		rc = tlsp_audit_reopen(tlspm.audit);
	if (rc < 0)
		tlsp_audit_last_error(tlspm.audit, err, errsz);
	pthread_mutex_unlock(&gate);
	return rc;
}
