/*
 * fixture.h - what the milter-level daemon tests share on the cmocka
 * side of tests/milter/harness.h: a daemon per test set up and torn
 * down, transactions that must be decided, the daemon stopped cleanly,
 * and its audit log checked whole at the end. Each test keeps only its
 * own behaviour.
 *
 * These fail the running test (cmocka's fail_msg), so they are called
 * from the test's thread only; worker threads use harness.h directly.
 */
#ifndef TLSP_TESTS_MILTER_FIXTURE_H
#define TLSP_TESTS_MILTER_FIXTURE_H

#include <stddef.h>

#include "auditlog.h"
#include "harness.h"

/*
 * A cmocka setup for a test whose fixture is a struct of `size` bytes
 * beginning with its struct hn_daemon: allocates it zeroed into *state
 * (the test's teardown frees it) and runs hn_init(sync, with_key) on
 * it. 0 or -1, as cmocka wants.
 */
int fx_setup(void **state, size_t size, const char *sync, int with_key);

/* For a teardown: ends m's session (m may be NULL), kills a daemon
 * still running and removes its directory (hn_cleanup). */
void fx_cleanup(struct hn_daemon *d, struct hn_mta *m);

/*
 * One transaction (hn_mta_tx) on m, connecting it first when it is not
 * connected, with queue id "<prefix><n>" (n = (*tx)++, five digits; the
 * message tagged when n is odd). Fails the test when a reply did not
 * come or was not one the policy can give. Stores the decisions the MTA
 * was told in out (room for 2) and returns their number.
 */
size_t fx_tx(const struct hn_daemon *d, struct hn_mta *m, const char *prefix,
	     unsigned *tx, struct hn_decision out[2]);

/* count transactions with fx_tx(), every decision taken: fails the test
 * on one answered with on_error. */
void fx_tx_decided(const struct hn_daemon *d, struct hn_mta *m,
		   const char *prefix, unsigned *tx, int count);

/* Ends m's session (NULL fine), then stops the daemon: it must exit 0
 * with no sanitizer report (hn_stop). Stopping under an open session
 * also works, but makes libmilter race with itself while it shuts its
 * worker pool down, which ThreadSanitizer reports. */
void fx_stop(struct hn_daemon *d, struct hn_mta *m);

/*
 * The audit log of a stopped daemon, files oldest first: the chain
 * holds (HMAC with keyfile, unless NULL), no line is torn, the last
 * record is the stop record, and tlspolicy-audit verify agrees. Leaves
 * what was read in *log, for the test's own checks; the caller frees it
 * with al_free() (it is filled also when this fails).
 */
void fx_assert_log(struct al_log *log, const char *const *files, size_t nfiles,
		   const char *keyfile);

/*
 * Runs prog, a program of the build tree (hn_build_path), with args,
 * stdin from `in` (unless NULL), stdout into the file `out` and stderr
 * into `err`; fails the test, showing err, unless it exits with status
 * `want` within 60 s. Returns the output, NUL-terminated, which the
 * caller frees.
 */
char *fx_run(const char *out, const char *err, const char *prog, const char *in,
	     const char *const *args, int want);

#endif
