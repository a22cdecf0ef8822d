/*
 * reload.h - loading the policy file again, on SIGUSR1.
 */
#ifndef TLSPM_RELOAD_H
#define TLSPM_RELOAD_H

/* Loads the policy file again and publishes it; 0 if swapped, -1 if the
 * old policy stays (the errors are logged and recorded). Runs on the
 * signal thread, outside any lock but the holder's pointer swap. */
int tlspm_reload_policy(void);

#endif
