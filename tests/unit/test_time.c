/*
 * test_time.c - time in the policy: the timezone table read from the tz
 * database (checked against the C library's own reading), dates at day
 * boundaries and across DST, the errors of the new keys at their exact
 * positions, scheduled enforcement and exceptions in evaluation at the
 * instants they change, and -n's expiry warnings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "internal.h"
#include "tlspolicy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* "2027-01-31T23:00:00Z" -> seconds, by the test's own arithmetic. */
static int64_t
utc(const char *s)
{
	struct tm tm = {0};

	assert_non_null(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm));
	return (int64_t)timegm(&tm);
}

static void
utc_text(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ------------------------------------------------------------ dates */

struct when_row {
	const char *zone, *text;
	int end_of_day;
	const char *want; /* UTC, or NULL: an error */
	const char *why;  /* the error's reason */
};

static const struct when_row when_rows[] = {
	{"UTC", "2027-01-31", 1, "2027-02-01T00:00:00Z", NULL},
	{"UTC", "2027-01-31", 0, "2027-01-31T00:00:00Z", NULL},
	{"Europe/Berlin", "2027-01-31", 1, "2027-01-31T23:00:00Z", NULL},
	{"Europe/Berlin", "2027-07-31", 1, "2027-07-31T22:00:00Z", NULL},
	/* the day before DST starts, and the 23-hour day itself */
	{"Europe/Berlin", "2027-03-27", 1, "2027-03-27T23:00:00Z", NULL},
	{"Europe/Berlin", "2027-03-28", 1, "2027-03-28T22:00:00Z", NULL},
	{"Europe/Berlin", "2027-03-28", 0, "2027-03-27T23:00:00Z", NULL},
	/* the day before DST ends, and the 25-hour day */
	{"Europe/Berlin", "2027-10-30", 1, "2027-10-30T22:00:00Z", NULL},
	{"Europe/Berlin", "2027-10-31", 1, "2027-10-31T23:00:00Z", NULL},
	{"America/New_York", "2027-03-13", 1, "2027-03-14T05:00:00Z", NULL},
	{"America/New_York", "2027-03-14", 1, "2027-03-15T04:00:00Z", NULL},
	/* the southern hemisphere: DST over the new year */
	{"Australia/Sydney", "2027-01-15", 1, "2027-01-15T13:00:00Z", NULL},
	{"Australia/Sydney", "2027-07-15", 1, "2027-07-15T14:00:00Z", NULL},
	{"America/Sao_Paulo", "2027-01-15", 1, "2027-01-16T03:00:00Z", NULL},
	{"Asia/Kolkata", "2027-01-15", 1, "2027-01-15T18:30:00Z", NULL},
	{"Pacific/Chatham", "2027-01-15", 1, "2027-01-15T10:15:00Z", NULL},
	/* Cuba springs forward at midnight: the day ends at the change */
	{"America/Havana", "2027-03-13", 1, "2027-03-14T05:00:00Z", NULL},
	/* and falls back at 01:00: midnight happens once, in DST */
	{"America/Havana", "2027-11-06", 1, "2027-11-07T04:00:00Z", NULL},
	{"UTC", "2028-02-29", 1, "2028-03-01T00:00:00Z", NULL},
	/* a date-time carries its offset; the zone does not matter */
	{"Europe/Berlin", "2027-01-15T18:00:00+01:00", 1,
	 "2027-01-15T17:00:00Z", NULL},
	{"Europe/Berlin", "2027-01-15T18:00Z", 1, "2027-01-15T18:00:00Z", NULL},
	{"UTC", "2027-01-15T18:00:00-05:30", 0, "2027-01-15T23:30:00Z", NULL},
	{"UTC", "2027-02-29", 1, NULL, "no such day"},
	{"UTC", "2027-13-01", 1, NULL, "no such day"},
	{"UTC", "2027-04-31", 1, NULL, "no such day"},
	{"UTC", "2027-01-15T24:00Z", 1, NULL, "no such time of day"},
	{"UTC", "2027-01-15T18:00", 1, NULL,
	 "a date-time needs its offset: add Z or +HH:MM"},
	{"UTC", "2027-01-15T18:00+1", 1, NULL,
	 "expected Z or an offset +HH:MM after the time"},
	{"UTC", "2027-1-15", 1, NULL,
	 "expected a date (2027-01-31) or a date-time with its offset "
	 "(2027-01-31T18:00:00+01:00 or ...Z)"},
	{"UTC", "15.01.2027", 1, NULL,
	 "expected a date (2027-01-31) or a date-time with its offset "
	 "(2027-01-31T18:00:00+01:00 or ...Z)"},
	{"UTC", "1969-12-31", 1, NULL, "no such day"},
};

static void
test_when(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(when_rows); i++) {
		const struct when_row *r = &when_rows[i];
		const char *why = NULL;
		struct tlsp_tz *tz = tlsp_tz_load(r->zone, &why);
		int64_t t = 0;
		int is_date, rc;
		char got[40];

		if (tz == NULL)
			fail_msg("%s: %s", r->zone, why);
		rc = tlsp_tz_parse_when(tz, r->text, r->end_of_day, &t,
					&is_date, &why);
		if (r->want == NULL) {
			if (rc != -1 || strcmp(why, r->why) != 0)
				fail_msg("%s %s: want error '%s', got %d '%s'",
					 r->zone, r->text, r->why, rc,
					 rc ? why : "");
		} else {
			utc_text(t, got, sizeof(got));
			if (rc != 0 || strcmp(got, r->want) != 0)
				fail_msg("%s %s: want %s, got %d %s", r->zone,
					 r->text, r->want, rc, got);
			assert_int_equal(is_date, strlen(r->text) == 10);
		}
		tlsp_tz_free(tz);
	}
}

/*
 * The zone table against the C library's reading of the same files, from
 * 1990 to 2045 (past the last transition even of "fat" files, so the
 * footer's rules are exercised, hourly there). Only this test process
 * sets TZ, before any thread exists.
 */
static void
test_offsets_match_libc(void **state)
{
	static const char *zones[] = {
		"Europe/Berlin",    "America/New_York", "Australia/Sydney",
		"America/Havana",   "Pacific/Chatham",	"Asia/Kolkata",
		"America/Santiago", "Europe/London",	"Africa/Casablanca",
	};
	size_t i;
	int64_t t;
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	(void)state;
	for (i = 0; i < NELEM(zones); i++) {
		const char *why;
		struct tlsp_tz *tz = tlsp_tz_load(zones[i], &why);
		long mismatches = 0;

		assert_non_null(tz);
		setenv("TZ", zones[i], 1);
		tzset();
		/* every 7 hours, then every hour where the footer rules */
		for (t = utc("1990-01-01T00:00:00Z");
		     t < utc("2045-01-01T00:00:00Z");
		     t += t < utc("2030-01-01T00:00:00Z") ? 7 * 3600 : 3600) {
			time_t tt = (time_t)t;
			struct tm tm;

			localtime_r(&tt, &tm);
			if (tm.tm_gmtoff != tlsp_tz_offset(tz, t) &&
			    mismatches++ < 3)
				print_error("%s at %lld: libc %ld, ours %ld\n",
					    zones[i], (long long)t,
					    (long)tm.tm_gmtoff,
					    tlsp_tz_offset(tz, t));
		}
		assert_int_equal(mismatches, 0);
		tlsp_tz_free(tz);
	}
	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
}

static void
test_format(void **state)
{
	const char *why;
	struct tlsp_tz *tz = tlsp_tz_load("Europe/Berlin", &why);
	char buf[40];

	(void)state;
	tlsp_tz_format(tz, utc("2027-01-31T23:00:00Z"), buf, sizeof(buf));
	assert_string_equal(buf, "2027-02-01T00:00:00+01:00");
	tlsp_tz_format(tz, utc("2027-07-31T22:00:00Z"), buf, sizeof(buf));
	assert_string_equal(buf, "2027-08-01T00:00:00+02:00");
	tlsp_tz_format(NULL, utc("2027-07-31T22:00:00Z"), buf, sizeof(buf));
	assert_string_equal(buf, "2027-07-31T22:00:00Z");
	tlsp_tz_free(tz);
	tz = tlsp_tz_load("America/New_York", &why);
	tlsp_tz_format(tz, utc("2027-01-15T04:59:59Z"), buf, sizeof(buf));
	assert_string_equal(buf, "2027-01-14T23:59:59-05:00");
	tlsp_tz_free(tz);
}

/* ----------------------------------------------------------- errors */

struct err_row {
	const char *name;
	const char *yaml;
	const char *want; /* the first error, formatted */
};

#define EXC(body)                                                              \
	"version: 1\nexceptions:\n  - name: x\n    sender: a.example\n"        \
	"    waive: all\n    reason: r\n    owner: o\n" body
#define EXP "    expires: 2027-01-31\n"

static const struct err_row err_rows[] = {
	{"misspelt key", EXC(EXP "    expiers: 2027-01-31\n"),
	 "t.yaml:9:5: exception x: unknown key 'expiers'; did you mean "
	 "'expires'?"},
	{"missing owner",
	 "version: 1\nexceptions:\n  - name: x\n    sender: a.example\n"
	 "    waive: all\n    reason: r\n    expires: 2027-01-31\n",
	 "t.yaml:3:5: exception x: missing 'owner'"},
	{"malformed date", EXC("    expires: 2027-02-30\n"),
	 "t.yaml:8:14: exception x: expires '2027-02-30': no such day"},
	{"date-time without offset", EXC("    expires: 2027-01-30T10:00\n"),
	 "t.yaml:8:14: exception x: expires '2027-01-30T10:00': a date-time "
	 "needs its offset: add Z or +HH:MM"},
	{"unknown requirement",
	 "version: 1\nexceptions:\n  - name: x\n    sender: a.example\n"
	 "    waive: [min_verison]\n    reason: r\n    owner: o\n" EXP,
	 "t.yaml:5:13: exception x: 'waive': unknown requirement "
	 "'min_verison'; did you mean 'min_version'? (or 'all')"},
	{"no selector",
	 "version: 1\nexceptions:\n  - name: x\n    waive: all\n"
	 "    reason: r\n    owner: o\n" EXP,
	 "t.yaml:3:5: exception x: an exception names a 'sender', "
	 "'recipient' or 'client' (or several)"},
	{"bad network",
	 "version: 1\nexceptions:\n  - name: x\n    client: 192.0.2.0/33\n"
	 "    waive: all\n    reason: r\n    owner: o\n" EXP,
	 "t.yaml:4:13: exception x: '192.0.2.0/33' is not a network like "
	 "192.0.2.0/24 or 2001:db8::/32"},
	{"duplicate name",
	 EXC(EXP "  - name: x\n    sender: b.example\n    waive: all\n"
		 "    reason: r\n    owner: o\n" EXP),
	 "t.yaml:9:5: exceptions: duplicate exception name 'x' (the same as "
	 "line 3, column 5)"},
	{"not a list", "version: 1\nexceptions:\n  x: 1\n",
	 "t.yaml:3:3: 'exceptions' expects a list of exceptions, found a "
	 "mapping"},
	{"misspelt top-level key", "version: 1\nexception: []\n",
	 "t.yaml:2:1: unknown top-level key 'exception'; did you mean "
	 "'exceptions'?"},
	{"unknown zone", "version: 1\ntimezone: Europe/Berln\n",
	 "t.yaml:2:11: 'timezone: Europe/Berln': not a time zone of the tz "
	 "database (e.g. Europe/Berlin); did you mean 'Europe/Berlin'?"},
	{"zone in lower case", "version: 1\ntimezone: europe/berlin\n",
	 "t.yaml:2:11: 'timezone: europe/berlin': not a time zone of the tz "
	 "database (e.g. Europe/Berlin); did you mean 'Europe/Berlin'?"},
	{"zone by its city", "version: 1\ntimezone: Berlin\n",
	 "t.yaml:2:11: 'timezone: Berlin': not a time zone of the tz "
	 "database (e.g. Europe/Berlin); did you mean 'Europe/Berlin'?"},
	{"zone as a path", "version: 1\ntimezone: ../../etc/passwd\n",
	 "t.yaml:2:11: 'timezone: ../../etc/passwd': not a time zone of the "
	 "tz database (e.g. Europe/Berlin)"},
	{"malformed enforce_from",
	 "version: 1\nrecipients:\n  a.example:\n    mode: monitor\n"
	 "    enforce_from: 2027-01-32\n",
	 "t.yaml:5:19: recipient:a.example: enforce_from '2027-01-32': no such "
	 "day"},
	{"monitor without until",
	 "version: 1\nrecipients:\n  a.example:\n"
	 "    mode: {monitor: 2027-01-15}\n",
	 "t.yaml:4:21: recipient:a.example: 'mode: {monitor: ...}' expects "
	 "'until DATE', e.g. 'until 2027-01-15'"},
	{"until with a bad date",
	 "version: 1\nrecipients:\n  a.example:\n"
	 "    mode: {monitor: until 2027-02-29}\n",
	 "t.yaml:4:27: recipient:a.example: monitor: until '2027-02-29': no "
	 "such day"},
	{"enforce_from and mode: enforce",
	 "version: 1\nrecipients:\n  a.example:\n    mode: enforce\n"
	 "    enforce_from: 2027-01-15\n",
	 "t.yaml:5:19: recipient:a.example: 'enforce_from' schedules a "
	 "monitored rule; this one says 'mode: enforce'"},
	{"both schedules",
	 "version: 1\nrecipients:\n  a.example:\n"
	 "    mode: {monitor: until 2027-01-15}\n"
	 "    enforce_from: 2027-01-15\n",
	 "t.yaml:5:19: recipient:a.example: give either 'mode: {monitor: "
	 "until ...}' or 'enforce_from', not both"},
	{"misspelt enforce_from",
	 "version: 1\nrecipients:\n  a.example:\n    mode: monitor\n"
	 "    enforce_form: 2027-01-15\n",
	 "t.yaml:5:5: recipient:a.example: unknown key 'enforce_form'; did "
	 "you mean 'enforce_from'?"},
};

static void
test_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(err_rows); i++) {
		const struct err_row *r = &err_rows[i];
		struct tlsp_diags d = {0};
		struct tlsp_policy *p;
		char line[1024];

		p = tlsp_policy_load_buffer("t.yaml", r->yaml, strlen(r->yaml),
					    TLSP_MTA_UNKNOWN, &d);
		if (p != NULL || d.errors == 0)
			fail_msg("%s: loaded", r->name);
		for (size_t k = 0; k < d.count; k++)
			if (!d.v[k].is_warning) {
				tlsp_diag_format(&d.v[k], line, sizeof(line));
				break;
			}
		if (strcmp(line, r->want) != 0)
			fail_msg("%s:\n want %s\n got  %s", r->name, r->want,
				 line);
		tlsp_diags_free(&d);
	}
}

/* ------------------------------------------------------- evaluation */

static const char policy_yaml[] =
	"version: 1\n"
	"timezone: Europe/Berlin\n"
	"exceptions:\n"
	"  - name: fax-gw\n"
	"    sender: .partner.example\n"
	"    waive: [min_version]\n"
	"    reason: the fax gateway speaks TLS 1.0 only\n"
	"    owner: alice@example.com\n"
	"    expires: 2027-01-31\n"
	"    ticket: CHG-1\n"
	"  - name: lab\n"
	"    client: [192.0.2.0/24, 2001:db8:1::/48]\n"
	"    waive: all\n"
	"    reason: test lab\n"
	"    owner: bob\n"
	"    expires: 2027-03-28\n"
	"  - name: finance-only\n"
	"    sender: partner.example\n"
	"    recipient: finance.example\n"
	"    waive: [tls]\n"
	"    reason: migration\n"
	"    owner: carol\n"
	"    expires: 2027-02-01T12:00:00+01:00\n"
	"recipients:\n"
	"  bank.example:\n"
	"    min_version: TLSv1.2\n"
	"    mode: monitor\n"
	"    enforce_from: 2027-01-15\n"
	"  finance.example:\n"
	"    tls: required\n"
	"    min_version: TLSv1.2\n"
	"    mode: {monitor: until 2027-01-14}\n"
	"  strict.example:\n"
	"    min_version: TLSv1.2\n"
	"    forward_secrecy: true\n"
	"senders:\n"
	"  partner.example:\n"
	"    tls: required\n";

struct ev_row {
	const char *name, *at; /* UTC */
	const char *sender, *rcpt, *client;
	int plaintext;
	enum tlsp_action action, would;
	const char *waived; /* "req:exception,..." or "" */
};

#define ACC TLSP_ACTION_ACCEPT
#define REJ TLSP_ACTION_REJECT

static const struct ev_row ev_rows[] = {
	/* enforce_from 2027-01-15 in Berlin: 2027-01-14T23:00:00Z */
	{"monitor before the schedule", "2027-01-14T22:59:59Z", "a@x.example",
	 "b@bank.example", NULL, 0, ACC, REJ, ""},
	{"enforce at the schedule", "2027-01-14T23:00:00Z", "a@x.example",
	 "b@bank.example", NULL, 0, REJ, REJ, ""},
	/* until 2027-01-14: monitored through that day, the same instant */
	{"until: last second", "2027-01-14T22:59:59Z", "a@x.example",
	 "b@finance.example", NULL, 0, ACC, REJ, ""},
	{"until: enforced", "2027-01-14T23:00:00Z", "a@x.example",
	 "b@finance.example", NULL, 0, REJ, REJ, ""},
	/* expires 2027-01-31 in Berlin: in force until 2027-01-31T23:00Z */
	{"waived before expiry", "2027-01-31T22:59:59Z", "a@mx.partner.example",
	 "b@strict.example", NULL, 0, REJ, REJ, "min_version:fax-gw"},
	{"waived, nothing else fails", "2027-01-31T22:59:59Z",
	 "a@mx.partner.example", "b@bank.example", NULL, 0, ACC, ACC,
	 "min_version:fax-gw"},
	{"expired", "2027-01-31T23:00:00Z", "a@mx.partner.example",
	 "b@bank.example", NULL, 0, REJ, REJ, ""},
	{"subdomains only", "2027-01-20T00:00:00Z", "a@partner.example",
	 "b@bank.example", NULL, 0, REJ, REJ, ""},
	{"client network waives all", "2027-01-20T00:00:00Z", "a@x.example",
	 "b@strict.example", "192.0.2.77", 0, ACC, ACC,
	 "min_version:lab,forward_secrecy:lab"},
	{"IPv6 client network", "2027-01-20T00:00:00Z", "a@x.example",
	 "b@strict.example", "2001:db8:1:ff::1", 0, ACC, ACC,
	 "min_version:lab,forward_secrecy:lab"},
	{"outside the network", "2027-01-20T00:00:00Z", "a@x.example",
	 "b@strict.example", "192.0.3.1", 0, REJ, REJ, ""},
	/* expires 2027-03-28 in Berlin: the 23-hour day ends at 22:00Z */
	{"lab on the DST day", "2027-03-28T21:59:59Z", "a@x.example",
	 "b@strict.example", "192.0.2.1", 0, ACC, ACC,
	 "min_version:lab,forward_secrecy:lab"},
	{"lab after the DST day", "2027-03-28T22:00:00Z", "a@x.example",
	 "b@strict.example", "192.0.2.1", 0, REJ, REJ, ""},
	/* sender and recipient both named: both must match */
	{"pair exception", "2027-01-20T00:00:00Z", "a@partner.example",
	 "b@finance.example", NULL, 1, ACC, ACC,
	 "tls:finance-only,tls:finance-only"},
	{"pair, other recipient", "2027-01-20T00:00:00Z", "a@partner.example",
	 "b@bank.example", NULL, 1, REJ, REJ, ""},
	{"pair after its hour", "2027-02-01T11:00:00Z", "a@partner.example",
	 "b@finance.example", NULL, 1, REJ, REJ, ""},
};

static void
waived_text(const struct tlsp_verdict *v, char *buf, size_t n)
{
	size_t i, j, len = 0;

	buf[0] = '\0';
	for (i = 0; i < v->nrules; i++)
		for (j = v->r[i].nfail; j < v->r[i].nfail + v->r[i].nwaived;
		     j++)
			len += (size_t)snprintf(
				buf + len, n - len, "%s%s:%s", len ? "," : "",
				tlsp_req_name(v->r[i].fail[j].req),
				tlsp_exception_name(v->r[i].fail[j].waived_by));
}

static struct tlsp_policy *
load(const char *yaml)
{
	struct tlsp_diags d = {0};
	struct tlsp_policy *p = tlsp_policy_load_buffer("t.yaml", yaml,
							strlen(yaml),
							TLSP_MTA_POSTFIX, &d);

	if (p == NULL) {
		char line[1024];

		fail_msg("%s", tlsp_diag_format(&d.v[0], line, sizeof(line)));
	}
	tlsp_diags_free(&d);
	return p;
}

static void
test_evaluate(void **state)
{
	struct tlsp_policy *p = load(policy_yaml);
	struct tlsp_verdict *v = malloc(sizeof(*v));
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(ev_rows); i++) {
		const struct ev_row *r = &ev_rows[i];
		struct tlsp_macros m = {.mta = TLSP_MTA_POSTFIX,
					.client_addr = r->client};
		struct tlsp_facts f;
		char got[300];

		if (!r->plaintext) {
			m.tls_version = "TLSv1";
			m.cipher = "AES128-SHA";
			m.cipher_bits = "128";
		}
		tlsp_facts_from_macros(&m, &f);
		tlsp_evaluate(p, &f, r->sender, r->rcpt, (time_t)utc(r->at), v);
		waived_text(v, got, sizeof(got));
		if (v->action != r->action || v->would_action != r->would ||
		    strcmp(got, r->waived) != 0)
			fail_msg("%s: want %s/%s waived '%s', got %s/%s '%s'",
				 r->name, tlsp_action_name(r->action),
				 tlsp_action_name(r->would), r->waived,
				 tlsp_action_name(v->action),
				 tlsp_action_name(v->would_action), got);
		assert_int_equal(!!(v->flags & TLSP_V_WAIVED), got[0] != '\0');
	}
	free(v);
	tlsp_policy_unref(p);
}

/* The mode in effect is what the verdict's rule results carry. */
static void
test_mode_at(void **state)
{
	struct tlsp_policy *p = load(policy_yaml);
	const struct tlsp_rule *bank = tlsp_policy_rule(p, 0);

	(void)state;
	assert_string_equal(tlsp_rule_name(bank), "recipient:bank.example");
	assert_int_equal(tlsp_rule_mode(bank), TLSP_MODE_MONITOR);
	assert_int_equal(tlsp_rule_enforce_from(bank),
			 utc("2027-01-14T23:00:00Z"));
	assert_int_equal(tlsp_rule_mode_at(bank, utc("2027-01-14T22:59:59Z")),
			 TLSP_MODE_MONITOR);
	assert_int_equal(tlsp_rule_mode_at(bank, utc("2027-01-14T23:00:00Z")),
			 TLSP_MODE_ENFORCE);
	assert_int_equal(tlsp_policy_scheduled_count(p), 2);
	assert_string_equal(tlsp_policy_timezone(p), "Europe/Berlin");
	tlsp_policy_unref(p);
}

/* At MAIL the recipient is unknown: an exception naming recipients that
 * could waive the sender rule's failure defers the decision to RCPT. */
static void
test_sender_stage(void **state)
{
	struct tlsp_policy *p = load(policy_yaml);
	struct tlsp_macros m = {.mta = TLSP_MTA_POSTFIX};
	struct tlsp_verdict *v = malloc(sizeof(*v));
	struct tlsp_facts f;

	(void)state;
	tlsp_facts_from_macros(&m, &f);
	assert_int_equal(tlsp_evaluate_sender(p, &f, "a@partner.example",
					      utc("2027-01-20T00:00:00Z"), v),
			 0);
	/* once that exception has ended, MAIL decides */
	assert_int_equal(tlsp_evaluate_sender(p, &f, "a@partner.example",
					      utc("2027-02-01T11:00:00Z"), v),
			 1);
	assert_int_equal(v->action, REJ);
	free(v);
	tlsp_policy_unref(p);
}

/* The same for an exception that names recipients only (any sender
 * may meet it), and only for what it waives. */
static void
test_sender_stage_rcpt_only(void **state)
{
	struct tlsp_policy *p = load(
		"version: 1\nexceptions:\n"
		"  - {name: r, recipient: r.example, waive: tls, reason: x,\n"
		"     owner: o, expires: 2027-02-01}\n"
		"  - {name: m, recipient: m.example, waive: min_version,\n"
		"     reason: x, owner: o, expires: 2027-03-01}\n"
		"senders:\n  partner.example: {tls: required}\n"
		"  other.example: {min_version: TLSv1.3}\n");
	struct tlsp_macros plain = {.mta = TLSP_MTA_POSTFIX};
	struct tlsp_macros tls12 = {.mta = TLSP_MTA_POSTFIX,
				    .tls_version = "TLSv1.2",
				    .cipher = "ECDHE-RSA-AES256-GCM-SHA384"};
	struct tlsp_verdict *v = malloc(sizeof(*v));
	struct tlsp_facts f, g;

	(void)state;
	tlsp_facts_from_macros(&plain, &f);
	tlsp_facts_from_macros(&tls12, &g);
	assert_int_equal(tlsp_evaluate_sender(p, &f, "a@partner.example",
					      utc("2027-02-01T23:59:59Z"), v),
			 0);
	assert_int_equal(tlsp_evaluate_sender(p, &f, "a@partner.example",
					      utc("2027-02-02T00:00:00Z"), v),
			 1);
	/* m waives min_version, which other.example's rule fails */
	assert_int_equal(tlsp_evaluate_sender(p, &g, "a@other.example",
					      utc("2027-02-15T00:00:00Z"), v),
			 0);
	/* at RCPT, only the named recipient gets it */
	tlsp_evaluate(p, &g, "a@other.example", "b@m.example",
		      utc("2027-02-15T00:00:00Z"), v);
	assert_int_equal(v->action, ACC);
	tlsp_evaluate(p, &g, "a@other.example", "b@x.example",
		      utc("2027-02-15T00:00:00Z"), v);
	assert_int_equal(v->action, REJ);
	free(v);
	tlsp_policy_unref(p);
}

/* Profiles carry schedules; a rule's own mode replaces them. */
static void
test_profile_schedule(void **state)
{
	struct tlsp_policy *p = load(
		"version: 1\nprofiles:\n  rollout:\n    min_version: TLSv1.2\n"
		"    enforce_from: 2027-01-15T06:00:00Z\n"
		"recipients:\n  a.example: rollout\n"
		"  b.example: {profile: rollout, mode: enforce}\n"
		"  c.example: {profile: rollout, action: defer}\n");

	(void)state;
	assert_int_equal(tlsp_rule_enforce_from(tlsp_policy_rule(p, 0)),
			 utc("2027-01-15T06:00:00Z"));
	assert_int_equal(tlsp_rule_enforce_from(tlsp_policy_rule(p, 1)), 0);
	assert_int_equal(tlsp_rule_mode(tlsp_policy_rule(p, 1)),
			 TLSP_MODE_ENFORCE);
	assert_int_equal(tlsp_rule_enforce_from(tlsp_policy_rule(p, 2)),
			 utc("2027-01-15T06:00:00Z"));
	/* a scheduled rule's action counts among those the milter needs */
	assert_true(tlsp_policy_actions(p) & (1u << TLSP_ACTION_DEFER));
	tlsp_policy_unref(p);
}

static void
test_expiry_warnings(void **state)
{
	struct tlsp_policy *p = load(policy_yaml);
	struct tlsp_diags d = {0};
	char line[512];

	(void)state;
	tlsp_policy_check_expiry(p, utc("2027-01-20T00:00:00Z"), 14, &d);
	assert_int_equal(d.count, 2);
	assert_string_equal(tlsp_diag_format(&d.v[0], line, sizeof(line)),
			    "t.yaml:4:5: warning: exception fax-gw expires in "
			    "12 days (2027-02-01T00:00:00+01:00; owner "
			    "alice@example.com)");
	assert_string_equal(tlsp_diag_format(&d.v[1], line, sizeof(line)),
			    "t.yaml:17:5: warning: exception finance-only "
			    "expires in 13 days (2027-02-01T12:00:00+01:00; "
			    "owner carol)");
	tlsp_diags_free(&d);
	memset(&d, 0, sizeof(d));
	tlsp_policy_check_expiry(p, utc("2027-02-15T00:00:00Z"), 3, &d);
	assert_int_equal(d.count, 2);
	assert_string_equal(tlsp_diag_format(&d.v[0], line, sizeof(line)),
			    "t.yaml:4:5: warning: exception fax-gw expired at "
			    "2027-02-01T00:00:00+01:00 and is ignored: remove "
			    "it or give it a new date");
	tlsp_diags_free(&d);
	memset(&d, 0, sizeof(d));
	tlsp_policy_check_expiry(p, utc("2026-12-01T00:00:00Z"), 14, &d);
	assert_int_equal(d.count, 0);
	tlsp_diags_free(&d);
	tlsp_policy_unref(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_when),
		cmocka_unit_test(test_offsets_match_libc),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_evaluate),
		cmocka_unit_test(test_mode_at),
		cmocka_unit_test(test_sender_stage),
		cmocka_unit_test(test_sender_stage_rcpt_only),
		cmocka_unit_test(test_profile_schedule),
		cmocka_unit_test(test_expiry_warnings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
