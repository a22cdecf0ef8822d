/*
 * test_partners.c - "a partner started failing" (milter/partners.c), on
 * verdicts of the real engine, with the time given: whole log lines are
 * expected, one behaviour per test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "partners.h"
#include "tlspolicy/policy.h"

#define T0 1796600000 /* 2026-12-06T23:33:20Z */

static const char policy_text[] =
	"version: 1\n"
	"recipients:\n"
	"  strict.example: {min_version: TLSv1.3, action: reject}\n";

static struct tlsp_policy *policy;
static FILE *captured;
static int saved_stderr = -1;

/* Loads the policy; the tracker's log lines go to a temporary file. */
static int
setup(void **state)
{
	struct tlsp_diags d = {0};

	(void)state;
	policy = tlsp_policy_load_buffer("t.yaml", policy_text,
					 strlen(policy_text), TLSP_MTA_POSTFIX,
					 &d);
	tlsp_diags_free(&d);
	captured = tmpfile();
	saved_stderr = dup(2);
	if (policy == NULL || captured == NULL || saved_stderr < 0 ||
	    dup2(fileno(captured), 2) < 0)
		return -1;
	tlspm_log_open("test", LOG_MAIL, 1, 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tlspm_partners_free();
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	fclose(captured);
	tlsp_policy_unref(policy);
	return 0;
}

/* One decision for mail from `sender` over `version` to the strict rule,
 * at T0 + t. */
static void
observe(const char *sender, const char *version, long t)
{
	struct tlsp_macros m = {0};
	struct tlsp_facts f;
	struct tlsp_verdict v;

	m.mta = TLSP_MTA_POSTFIX;
	m.tls_version = version;
	m.cipher = "TLS_AES_256_GCM_SHA384";
	tlsp_facts_from_macros(&m, &f);
	tlsp_evaluate(policy, &f, sender, "<x@strict.example>", time(NULL), &v);
	tlspm_partners_observe(sender, "192.0.2.1", &v, "Q1", T0 + t);
}

/* Everything logged so far (malloc'ed). */
static char *
logged(void)
{
	long n;
	char *buf;

	fflush(stderr);
	n = ftell(captured);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	rewind(captured);
	assert_int_equal(fread(buf, 1, (size_t)n, captured), (size_t)n);
	return buf;
}

static void
assert_logged(const char *want)
{
	char *got = logged();

	if (strcmp(got, want) != 0) {
		dup2(saved_stderr, 2); /* where cmocka says it */
		fail_msg("logged:\n%s\nwant:\n%s", got, want);
	}
	free(got);
}

#define FAILING_WHAT                                                           \
	"rule=recipient:strict.example requirement=min_version "               \
	"required=\"TLSv1.3 or higher\" observed=\"TLSv1.2\""

static void
test_fail_and_recover(void **state)
{
	struct tlspm_partners_stats st;

	(void)state;
	assert_int_equal(tlspm_partners_init(3, 100, 60), 0);
	observe("<a@Bank.Example.>", "TLSv1.3", 0);
	observe("<a@bank.example>", "TLSv1.3", 1);
	observe("<b@bank.example>", "TLSv1.3", 2);
	observe("<a@bank.example>", "TLSv1.2", 3);
	observe("<a@bank.example>", "TLSv1.2", 4);
	tlspm_partners_stats(&st);
	assert_int_equal(st.failing, 1);
	observe("<a@bank.example>", "TLSv1.3", 5);
	observe("<a@bank.example>", "TLSv1.3", 6);
	observe("<a@bank.example>", "TLSv1.3", 7);
	assert_logged("tlspolicy-milter: warning: partner failing: "
		      "partner=bank.example " FAILING_WHAT
		      " last_pass=2026-12-06T23:33:22Z passes=3 id=Q1\n"
		      "tlspolicy-milter: notice: partner recovered: "
		      "partner=bank.example failing_since=2026-12-06T23:33:23Z "
		      "failures=2 passes=3\n");
	tlspm_partners_stats(&st);
	assert_int_equal(st.failing, 0);
	assert_int_equal(st.warned, 1);
	assert_int_equal(st.recovered, 1);
	assert_int_equal(st.tracked, 1);
}

/* A failure while still failing: a summary at most once per interval. */
static void
test_summary_rate(void **state)
{
	(void)state;
	assert_int_equal(tlspm_partners_init(1, 100, 10), 0);
	observe("<a@bank.example>", "TLSv1.3", 0);
	observe("<a@bank.example>", "TLSv1.2", 1);
	observe("<a@bank.example>", "TLSv1.2", 5);
	observe("<a@bank.example>", "TLSv1.2", 10);
	observe("<a@bank.example>", "TLSv1.2", 11);
	observe("<a@bank.example>", "TLSv1.2", 20);
	observe("<a@bank.example>", "TLSv1.2", 21);
	/* 9 s after the warning: too soon; 10 s: the first summary; 9 s
	 * after it: too soon again; 10 s: the second */
	assert_logged(
		"tlspolicy-milter: warning: partner failing: "
		"partner=bank.example " FAILING_WHAT
		" last_pass=2026-12-06T23:33:20Z passes=1 id=Q1\n"
		"tlspolicy-milter: warning: partner still failing: "
		"partner=bank.example since=2026-12-06T23:33:21Z failures=4 new=3 "
		"last_pass=2026-12-06T23:33:20Z " FAILING_WHAT "\n"
		"tlspolicy-milter: warning: partner still failing: "
		"partner=bank.example since=2026-12-06T23:33:21Z failures=6 new=2 "
		"last_pass=2026-12-06T23:33:20Z " FAILING_WHAT "\n");
}

/* Failures from a partner that never passed its window: no alert. */
static void
test_never_passing(void **state)
{
	(void)state;
	assert_int_equal(tlspm_partners_init(3, 100, 10), 0);
	observe("<a@new.example>", "TLSv1.2", 0);
	observe("<a@new.example>", "TLSv1.3", 1);
	observe("<a@new.example>", "TLSv1.3", 2);
	observe("<a@new.example>", "TLSv1.2", 3);
	assert_logged("");
}

/* Over the cap the least recently seen partner is forgotten, its state
 * with it; the count never exceeds the cap. */
static void
test_cap(void **state)
{
	struct tlspm_partners_stats st;
	char sender[64];
	int i;

	(void)state;
	assert_int_equal(tlspm_partners_init(1, 20, 10), 0);
	observe("<a@first.example>", "TLSv1.3", 0);
	for (i = 0; i < 500; i++) {
		snprintf(sender, sizeof(sender), "<a@p%d.example>", i);
		observe(sender, "TLSv1.3", 1);
	}
	tlspm_partners_stats(&st);
	assert_true(st.tracked <= 20);
	assert_true(st.tracked >= 16); /* most shards are full */
	observe("<a@first.example>", "TLSv1.2", 2);
	assert_logged("");
}

/* Mail without a sender domain: the client stands for the partner, and
 * a name from the network is escaped. */
static void
test_keys(void **state)
{
	(void)state;
	assert_int_equal(tlspm_partners_init(1, 100, 10), 0);
	observe("<>", "TLSv1.3", 0);
	observe("<>", "TLSv1.2", 1);
	observe("<a@evil\x1b[2J.example>", "TLSv1.3", 2);
	observe("<a@evil\x1b[2J.example>", "TLSv1.2", 3);
	assert_logged("tlspolicy-milter: warning: partner failing: "
		      "partner=[192.0.2.1] " FAILING_WHAT
		      " last_pass=2026-12-06T23:33:20Z passes=1 id=Q1\n"
		      "tlspolicy-milter: warning: partner failing: "
		      "partner=evil\\x1b[2j.example " FAILING_WHAT
		      " last_pass=2026-12-06T23:33:22Z passes=1 id=Q1\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fail_and_recover, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_summary_rate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_never_passing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
