/*
 * fixture.c - the set-up, transactions and final checks the milter-level
 * daemon tests share (see fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fixture.h"

int
fx_setup(void **state, size_t size, const char *sync, int with_key)
{
	struct hn_daemon *d;

	/* the fixture begins with its daemon: C lets us point at either */
	if (size < sizeof(*d) || (d = calloc(1, size)) == NULL)
		return -1;
	*state = d;
	return hn_init(d, sync, with_key);
}

void
fx_cleanup(struct hn_daemon *d, struct hn_mta *m)
{
	if (m != NULL)
		hn_mta_close(m);
	hn_cleanup(d);
}

size_t
fx_tx(const struct hn_daemon *d, struct hn_mta *m, const char *prefix,
      unsigned *tx, struct hn_decision out[2])
{
	char qid[32];
	size_t n;

	if (m->c == NULL && hn_mta_open(m, d->spec, 10000) < 0)
		fail_msg("%s", m->err);
	snprintf(qid, sizeof(qid), "%.20s%05u", prefix, *tx);
	if (hn_mta_tx(m, qid, (*tx)++ % 2, out, &n) < 0)
		fail_msg("%s", m->err);
	return n;
}

void
fx_tx_decided(const struct hn_daemon *d, struct hn_mta *m, const char *prefix,
	      unsigned *tx, int count)
{
	struct hn_decision told[2];
	size_t n, i;

	while (count-- > 0) {
		n = fx_tx(d, m, prefix, tx, told);
		assert_int_equal(n, 2);
		for (i = 0; i < n; i++)
			if (told[i].on_error)
				fail_msg("%s: on_error (%s)", told[i].key,
					 told[i].reply);
	}
}

void
fx_stop(struct hn_daemon *d, struct hn_mta *m)
{
	if (m != NULL)
		hn_mta_close(m);
	assert_int_equal(hn_stop(d), 0);
}

void
fx_assert_log(struct al_log *log, const char *const *files, size_t nfiles,
	      const char *keyfile)
{
	if (al_load(log, files, nfiles, keyfile) < 0)
		fail_msg("audit chain broken: %s", log->err);
	if (log->torn != 0)
		fail_msg("%zu torn line(s) in the audit log", log->torn);
	assert_true(log->n > 0);
	assert_string_equal(log->v[log->n - 1].type, "stop");
	if (hn_tool_verify(files, nfiles, keyfile) == 0)
		fail_msg("tlspolicy-audit verify failed on the log");
}
