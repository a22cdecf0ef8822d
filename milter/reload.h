/*
 * reload.h - loading the policy file again, on SIGUSR1, and reopening
 * the audit log, on SIGUSR2.
 */
#ifndef TLSPM_RELOAD_H
#define TLSPM_RELOAD_H

#include <stddef.h>

/* Loads the policy file again and publishes it; 0 if swapped, -1 if the
 * old policy stays (the errors are logged and recorded) or the reloads
 * are closed. Runs on the signal thread; the file is read and parsed
 * outside any lock, the result published under the reload gate. */
int tlspm_reload_policy(void);

/* Reopens the audit log (tlsp_audit_reopen), under the reload gate; 0
 * (also when there is no audit log or the reloads are closed), or -1
 * with the reason in err. */
int tlspm_reload_audit(char *err, size_t errsz);

/* Shuts the gate for a stop: waits for a publish or reopen in progress
 * (never for a file being read or parsed), after which no reload
 * touches the holder, the log's records or the audit log. Call before
 * they are torn down. */
void tlspm_reload_close(void);

#endif
