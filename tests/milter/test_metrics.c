/*
 * test_metrics.c - the Prometheus textfile of a real daemon, and its
 * "partner started failing" lines.
 *
 *   counts    known traffic (one session per row of `traffic`), then the
 *             file the daemon writes at its stop must hold exactly the
 *             counts the rows add up to; a failed and a good reload move
 *             their counters and the policy's hash; `promtool check
 *             metrics` takes the file, and every metric the Grafana
 *             dashboard and the alerting rules of contrib/prometheus/
 *             query is in it (tests/check-dashboard.py)
 *   audit     the audit log failing (RLIMIT_FSIZE) moves the write error
 *             counter while the daemon runs
 *   atomic    a reader in a loop, while the file is rewritten every second
 *             under traffic, never sees it half written
 *   partners  a partner that passes, fails and recovers is named in
 *             exactly one warning and one recovered line, with at most one
 *             summary per interval; a partner's name from the network is
 *             escaped in the log
 *
 * promtool comes with Debian's prometheus package (contrib/quickstart.sh
 * installs it); without it that check is skipped, except under CI.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define INTERVAL 1   /* milter.metrics_interval of these daemons */
#define WINDOW 3     /* milter.partner_window */
#define WAIT_MS 8000 /* for the file to show a change */

static const char policy_text[] =
	"version: 1\n"
	"milter: {authserv_id: mx.test.example, strip_forged_headers: never,\n"
	"  metrics_file: %s, metrics_interval: %d, partner_window: %d}\n"
	"audit: {file: %s, sync: always}\n"
	"recipients:\n"
	"  refuse.example: {min_version: TLSv1.3, action: reject}\n"
	"  watch.example: {min_version: TLSv1.3, action: reject, mode: "
	"monitor}\n"
	"  cert.example: {client_cert: verified, action: defer}\n";

struct fx {
	struct hn_daemon d;
	char prom[HN_PATH + 32]; /* the metrics file */
};

/* ======================================================= the daemon */

static int
write_policy(struct fx *f, const char *extra)
{
	FILE *p = fopen(f->d.policy, "we");

	if (p == NULL)
		return -1;
	fprintf(p, policy_text, f->prom, INTERVAL, WINDOW, f->d.audit);
	if (extra)
		fputs(extra, p);
	return fclose(p);
}

static int
setup(void **state)
{
	struct fx *f;

	if (fx_setup(state, sizeof(struct fx), "always", 0) < 0)
		return -1;
	f = *state;
	snprintf(f->prom, sizeof(f->prom), "%s/prom", f->d.dir);
	if (mkdir(f->prom, 0755) < 0)
		return -1;
	strcat(f->prom, "/tlspolicy.prom");
	if (write_policy(f, NULL) < 0)
		return -1;
	if (hn_start(&f->d) < 0)
		return -1;
	/* The socket listens before the daemon writes its first file (it
	 * writes it after dropping privileges): wait for that first one. */
	for (long until = hn_now_ms() + WAIT_MS; access(f->prom, F_OK) != 0;
	     usleep(20000))
		if (hn_now_ms() >= until) {
			fprintf(stderr, "%s: not written at start\n", f->prom);
			return -1;
		}
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f != NULL)
		fx_cleanup(&f->d, NULL);
	free(f);
	return 0;
}

/* ====================================================== the sessions */

/* One session: client version (NULL: plaintext), sender, recipient, and
 * the reply it must get: 'a' accepted at DATA, 'r' refused (5xx), 'd'
 * deferred (4xx), 'e' on_error (the 451 of a decision not recorded). */
struct sess {
	const char *version, *sender, *rcpt;
	char want;
};

static int
send_macros(struct mt_conn *c, int cmd, const struct sess *s)
{
	const struct mt_macro m[] = {
		{"j", "mx.test.example"},
		{"{daemon_name}", "smtpd"},
		{"v", "Postfix 3.7.11"},
		{"{tls_version}", s->version},
		{"{cipher}", s->version ? "ECDHE-RSA-AES256-GCM-SHA384" : NULL},
		{"{cipher_bits}", s->version ? "256" : NULL},
		{"i", cmd == SMFIC_CONNECT || cmd == SMFIC_HELO ? NULL : "Q1"},
		{"{mail_addr}", cmd == SMFIC_MAIL ? s->sender : NULL},
		{"{rcpt_addr}", cmd == SMFIC_RCPT ? s->rcpt : NULL},
	};

	return mt_macros(c, cmd, m, NELEM(m)) < 0 ? -1 : 0;
}

/* Runs s; 0 when the reply was the one wanted, else -1 with why in err. */
static int
session(const struct hn_daemon *d, const struct sess *s, char *err,
	size_t errsz)
{
	char from[300], to[300];
	const char *fa = from, *ta = to;
	struct mt_reply *r = calloc(1, sizeof(*r));
	struct mt_conn *c;
	int ok = 0;

	snprintf(from, sizeof(from), "<%s>", s->sender);
	snprintf(to, sizeof(to), "<%s>", s->rcpt);
	if (r == NULL || (c = mt_open(d->spec, 10000, err, errsz)) == NULL) {
		free(r);
		return -1;
	}
	if (mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0 ||
	    send_macros(c, SMFIC_CONNECT, s) < 0 ||
	    mt_connect(c, "client.example", SMFIA_INET, 25, "192.0.2.7", r) <
		    0 ||
	    send_macros(c, SMFIC_HELO, s) < 0 ||
	    mt_helo(c, "client.example", r) < 0 ||
	    send_macros(c, SMFIC_MAIL, s) < 0 || mt_mail(c, &fa, 1, r) < 0 ||
	    r->code != SMFIR_CONTINUE || send_macros(c, SMFIC_RCPT, s) < 0 ||
	    mt_rcpt(c, &ta, 1, r) < 0) {
		snprintf(err, errsz, "%s: %s (last reply %s %.200s)", s->rcpt,
			 mt_error(c), mt_code_name(r->code), r->text);
		goto out;
	}
	if (r->code == SMFIR_REPLYCODE) {
		ok = (s->want == 'r' && r->text[0] == '5') ||
		     (s->want == 'e' &&
		      strncmp(r->text, "451 4.7.0", 9) == 0) ||
		     (s->want == 'd' && r->text[0] == '4' &&
		      strncmp(r->text, "451 4.7.0 TLS policy check", 26) != 0);
		(void)mt_abort(c);
	} else if (r->code == SMFIR_CONTINUE && s->want == 'a') {
		ok = send_macros(c, SMFIC_DATA, s) == 0 && mt_data(c, r) == 0 &&
		     r->code == SMFIR_ACCEPT;
	}
	if (!ok)
		snprintf(err, errsz,
			 "%s from %s over %s: got %s %.300s, want %c", s->rcpt,
			 s->sender, s->version ? s->version : "none",
			 mt_code_name(r->code), r->text, s->want);
out:
	(void)mt_quit(c);
	mt_close(c);
	free(r);
	return ok ? 0 : -1;
}

static void
run(const struct fx *f, const struct sess *s)
{
	char err[512];

	if (session(&f->d, s, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

/* ========================================================= the file */

/* The file's text (malloc'ed), or NULL when it cannot be read. */
static char *
slurp(const char *path)
{
	FILE *in = fopen(path, "re");
	size_t n = 0, cap = 65536;
	char *buf = malloc(cap + 1);

	if (in == NULL || buf == NULL) {
		if (in)
			fclose(in);
		free(buf);
		return NULL;
	}
	while (!feof(in) && !ferror(in)) {
		if (n == cap) {
			char *nb = realloc(buf, 2 * cap + 1);

			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		n += fread(buf + n, 1, cap - n, in);
	}
	fclose(in);
	buf[n] = '\0';
	return buf;
}

/* The value of the sample "series" (name and labels exactly as written),
 * or -1 when the text has none. */
static double
sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

static void
assert_sample(const char *text, const char *series, double want)
{
	double got = sample(text, series);

	if (got != want)
		fail_msg("%s: %g, want %g", series, got, want);
}

/* Waits until the file's `series` is `want`; fails after WAIT_MS. */
static void
wait_sample(const struct fx *f, const char *series, double want)
{
	long until = hn_now_ms() + WAIT_MS;
	double got = -2;
	char *t;

	while (hn_now_ms() < until) {
		if ((t = slurp(f->prom)) != NULL) {
			got = sample(t, series);
			free(t);
			if (got == want)
				return;
		}
		usleep(50000);
	}
	fail_msg("%s: %g after %d ms, want %g", series, got, WAIT_MS, want);
}

/* Lines in a file. */
static long
lines(const char *path)
{
	char *t = slurp(path), *p;
	long n = 0;

	if (t == NULL)
		return -1;
	for (p = t; *p; p++)
		n += *p == '\n';
	free(t);
	return n;
}

/* Runs argv with stdout and stderr to the test's stderr; its status. */
static int
spawn(char *const argv[])
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		dup2(2, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
have(const char *prog)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* ========================================================== the tests */

static const struct sess traffic[] = {
	{"TLSv1.3", "a@one.example", "x@refuse.example", 'a'},
	{"TLSv1.2", "b@two.example", "x@refuse.example", 'r'},
	{"TLSv1.2", "c@two.example", "x@watch.example", 'a'},
	{NULL, "d@three.example", "x@other.example", 'a'},
	{"TLSv1.2", "e@two.example", "x@cert.example", 'd'},
};

/* The hash in the daemon's last "started" or "reloaded" line. */
static void
logged_hash(const struct fx *f, char out[65])
{
	char *t = slurp(f->d.errlog), *p, *last = NULL;

	assert_non_null(t);
	for (p = t; (p = strstr(p, "sha256=")) != NULL; p += 7)
		last = p + 7;
	assert_non_null(last);
	snprintf(out, 65, "%.64s", last);
	free(t);
}

static void
test_counts(void **state)
{
	struct fx *f = *state;
	char *t, series[200], hash[65], *argv[8];
	char src[HN_PATH];
	long from, records;
	size_t i;

	for (i = 0; i < NELEM(traffic); i++)
		run(f, &traffic[i]);
	/* a reload that fails, then one that works */
	from = hn_errlog_size(&f->d);
	assert_int_equal(write_policy(f, "  bad.example: {min_versoin: x}\n"),
			 0);
	assert_int_equal(kill(f->d.pid, SIGUSR1), 0);
	assert_true(hn_errlog_wait(&f->d, from, "reload failed", NULL, 10000));
	wait_sample(f, "tlspolicy_policy_last_reload_ok", 0);
	from = hn_errlog_size(&f->d);
	assert_int_equal(write_policy(f, "  new.example: {tls: required}\n"),
			 0);
	assert_int_equal(kill(f->d.pid, SIGUSR1), 0);
	assert_true(hn_errlog_wait(&f->d, from, "reloaded policy", NULL,
				   10000));
	logged_hash(f, hash);
	fx_stop(&f->d, NULL);

	/* the file written at the stop */
	assert_non_null(t = slurp(f->prom));
	assert_sample(
		t,
		"tlspolicy_decisions_total{stage=\"rcpt\",action=\"accept\"}",
		3);
	assert_sample(
		t,
		"tlspolicy_decisions_total{stage=\"rcpt\",action=\"reject\"}",
		1);
	assert_sample(
		t, "tlspolicy_decisions_total{stage=\"rcpt\",action=\"defer\"}",
		1);
	assert_sample(
		t, "tlspolicy_decisions_total{stage=\"rcpt\",action=\"tag\"}",
		0);
	assert_sample(
		t,
		"tlspolicy_decisions_total{stage=\"mail\",action=\"accept\"}",
		0);
	assert_sample(
		t,
		"tlspolicy_monitor_would_total{stage=\"rcpt\",action=\"reject\"}",
		1);
	assert_sample(
		t,
		"tlspolicy_monitor_would_total{stage=\"rcpt\",action=\"accept\"}",
		0);
	assert_sample(
		t,
		"tlspolicy_decisions_by_tls_version_total{version=\"TLSv1.3\"}",
		1);
	assert_sample(
		t,
		"tlspolicy_decisions_by_tls_version_total{version=\"TLSv1.2\"}",
		3);
	assert_sample(
		t, "tlspolicy_decisions_by_tls_version_total{version=\"none\"}",
		1);
	assert_sample(
		t,
		"tlspolicy_requirement_results_total{requirement=\"min_version\",result=\"failed\"}",
		2);
	assert_sample(
		t,
		"tlspolicy_requirement_results_total{requirement=\"client_cert\",result=\"failed\"}",
		1);
	assert_sample(
		t,
		"tlspolicy_requirement_results_total{requirement=\"tls\",result=\"failed\"}",
		0);
	assert_sample(
		t,
		"tlspolicy_rule_results_total{rule=\"recipient:refuse.example\",result=\"pass\"}",
		1);
	assert_sample(
		t,
		"tlspolicy_rule_results_total{rule=\"recipient:refuse.example\",result=\"fail\"}",
		1);
	assert_sample(
		t,
		"tlspolicy_rule_results_total{rule=\"recipient:watch.example\",result=\"fail\"}",
		1);
	assert_sample(
		t,
		"tlspolicy_rule_results_total{rule=\"recipient:cert.example\",result=\"fail\"}",
		1);
	assert_sample(
		t,
		"tlspolicy_rule_results_total{rule=\"other\",result=\"pass\"}",
		0);
	assert_sample(t, "tlspolicy_decision_duration_seconds_count", 5);
	assert_sample(t,
		      "tlspolicy_decision_duration_seconds_bucket{le=\"+Inf\"}",
		      5);
	assert_sample(t, "tlspolicy_policy_reloads_total{result=\"ok\"}", 1);
	assert_sample(t, "tlspolicy_policy_reloads_total{result=\"failed\"}",
		      1);
	assert_sample(t, "tlspolicy_policy_last_reload_ok", 1);
	snprintf(series, sizeof(series), "tlspolicy_policy_info{sha256=\"%s\"}",
		 hash);
	assert_sample(t, series, 1);
	assert_sample(t, "tlspolicy_connections_open", 0);
	assert_sample(t, "tlspolicy_audit_enabled", 1);
	assert_sample(t, "tlspolicy_audit_write_errors_total", 0);
	assert_sample(t, "tlspolicy_audit_queue_depth", 0);
	/* every record but the stop record, written after the file */
	records = lines(f->d.audit);
	assert_true(records > 5);
	assert_sample(t, "tlspolicy_audit_records_written_total",
		      (double)(records - 1));
	/* sync: always: a sync per record (a batch may hold several) */
	assert_true(sample(t, "tlspolicy_audit_fsync_duration_seconds_count") >=
		    1);
	assert_true(sample(t, "tlspolicy_metrics_updated_timestamp_seconds") >=
		    sample(t, "tlspolicy_start_time_seconds"));
	assert_sample(t, "tlspolicy_metrics_interval_seconds", INTERVAL);
	/* one.example and two.example; other.example has no rule */
	assert_sample(t, "tlspolicy_partners_tracked", 2);
	free(t);

	/* the real tools on the real output */
	snprintf(src, sizeof(src), "%s",
		 getenv("top_srcdir") ? getenv("top_srcdir") : ".");
	if (have("promtool")) {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "promtool check metrics < %s >&2",
			 f->prom);
		assert_int_equal(system(cmd), 0);
	} else if (getenv("CI")) {
		fail_msg("promtool is missing under CI: contrib/quickstart.sh "
			 "installs the prometheus package");
	} else {
		fprintf(stderr, "promtool not installed: not checked\n");
	}
	if (have("python3")) {
		char script[HN_PATH + 40], dash[HN_PATH + 60],
			rules[HN_PATH + 60];

		snprintf(script, sizeof(script), "%s/tests/check-dashboard.py",
			 src);
		snprintf(dash, sizeof(dash),
			 "%s/contrib/prometheus/tlspolicy-dashboard.json", src);
		snprintf(rules, sizeof(rules),
			 "%s/contrib/prometheus/tlspolicy-rules.yml", src);
		argv[0] = "python3";
		argv[1] = script;
		argv[2] = f->prom;
		argv[3] = dash;
		argv[4] = rules;
		argv[5] = NULL;
		assert_int_equal(spawn(argv), 0);
	}
}

/* Sets the daemon's soft RLIMIT_FSIZE; the old limit into *old. */
static int
fsize_limit(pid_t pid, rlim_t cur, struct rlimit *old)
{
	struct rlimit nl;

	if (prlimit(pid, RLIMIT_FSIZE, NULL, old) < 0)
		return -1;
	nl = *old;
	nl.rlim_cur = cur;
	return prlimit(pid, RLIMIT_FSIZE, &nl, NULL);
}

static void
test_audit_error(void **state)
{
	struct fx *f = *state;
	const struct sess ok = {"TLSv1.2", "a@one.example", "x@refuse.example",
				'r'},
			  broken = {"TLSv1.2", "a@one.example",
				    "x@refuse.example", 'e'};
	struct rlimit old;
	struct stat st;

	run(f, &ok);
	wait_sample(f, "tlspolicy_audit_write_errors_total", 0);
	assert_int_equal(stat(f->d.audit, &st), 0);
	assert_int_equal(fsize_limit(f->d.pid, (rlim_t)st.st_size, &old), 0);
	run(f, &broken);
	assert_int_equal(prlimit(f->d.pid, RLIMIT_FSIZE, &old, NULL), 0);
	/* the failure is counted, and the count reaches the file */
	{
		long until = hn_now_ms() + WAIT_MS;
		double got = 0;
		char *t;

		while (hn_now_ms() < until && got < 1) {
			if ((t = slurp(f->prom)) != NULL) {
				got = sample(
					t,
					"tlspolicy_audit_write_errors_total");
				free(t);
			}
			usleep(50000);
		}
		assert_true(got >= 1);
	}
	run(f, &ok); /* and the log takes records again */
	fx_stop(&f->d, NULL);
}

static void
test_atomic(void **state)
{
	struct fx *f = *state;
	const char *first = "# HELP tlspolicy_build_info ";
	const char *last_series =
		"tlspolicy_partner_alerts_total{kind=\"recovered\"} ";
	long t0 = hn_now_ms(), until = t0 + (hn_quick() ? 3500 : 4500);
	double stamp, prev = -1;
	unsigned reads = 0, rewrites = 0, n = 0;
	char *t, *end;

	/* the window, and longer (at most 15 s) until two rewrites were seen:
	 * a stalled metrics thread on a loaded machine is not a failure */
	while (hn_now_ms() < until ||
	       (rewrites < 2 && hn_now_ms() < t0 + 15000)) {
		if ((t = slurp(f->prom)) == NULL)
			fail_msg("%s vanished while it was rewritten", f->prom);
		end = strstr(t, last_series);
		if (strncmp(t, first, strlen(first)) != 0 || end == NULL ||
		    strchr(end, '\n') == NULL || strchr(end, '\n')[1] != '\0')
			fail_msg("read %u: half a file:\n%s", reads, t);
		stamp = sample(t,
			       "tlspolicy_metrics_updated_timestamp_seconds");
		if (prev >= 0 && stamp != prev)
			rewrites++;
		prev = stamp;
		free(t);
		reads++;
		if (reads % 200 == 0) { /* traffic between reads */
			const struct sess s = {"TLSv1.3", "a@one.example",
					       "x@refuse.example", 'a'};

			run(f, &s);
			n++;
		}
	}
	fprintf(stderr, "%u reads, %u rewrites seen, %u sessions\n", reads,
		rewrites, n);
	assert_true(rewrites >= 2);
	fx_stop(&f->d, NULL);
	assert_non_null(t = slurp(f->prom));
	assert_sample(
		t,
		"tlspolicy_decisions_total{stage=\"rcpt\",action=\"accept\"}",
		n);
	free(t);
}

static void
test_partners(void **state)
{
	struct fx *f = *state;
	const struct sess pass = {"TLSv1.3", "x@Partner.example.",
				  "y@refuse.example", 'a'},
			  fail = {"TLSv1.2", "x@partner.example",
				  "y@refuse.example", 'r'},
			  evil_pass = {"TLSv1.3", "x@evil\x1b[31m.example",
				       "y@refuse.example", 'a'},
			  evil_fail = {"TLSv1.2", "x@evil\x1b[31m.example",
				       "y@refuse.example", 'r'};
	long from = hn_errlog_size(&f->d), i, summaries;
	time_t s0, s1, s2, s3; /* the daemon limits summaries by time(NULL) */
	char *t;

	for (i = 0; i < WINDOW; i++)
		run(f, &pass);
	s0 = time(NULL);
	for (i = 0; i < 4; i++)
		run(f, &fail);
	s1 = time(NULL);
	assert_int_equal(hn_errlog_count(&f->d, from, "partner failing:"), 1);
	assert_true(hn_errlog_has(
		&f->d, from,
		"partner failing: partner=partner.example "
		"rule=recipient:refuse.example requirement=min_version "
		"required=\"TLSv1.3 or higher\" observed=\"TLSv1.2\" last_pass=",
		"passes=3 id="));
	wait_sample(f, "tlspolicy_partners_failing", 1);
	/* a failure an interval later: one summary */
	usleep((INTERVAL * 1000 + 200) * 1000);
	s2 = time(NULL);
	run(f, &fail);
	run(f, &fail);
	s3 = time(NULL);
	summaries = hn_errlog_count(&f->d, from, "partner still failing:");
	if (s0 == s1 && s2 == s3) {
		assert_int_equal(summaries, 1);
		assert_true(hn_errlog_has(
			&f->d, from,
			"partner still failing: partner=partner.example",
			"failures=5 new=4 last_pass="));
	} else { /* a second began inside a group: one more each time */
		assert_true(summaries >= 1 &&
			    summaries <= 1 + (s1 - s0) + (s3 - s2));
	}
	for (i = 0; i < WINDOW; i++)
		run(f, &pass);
	assert_int_equal(hn_errlog_count(&f->d, from, "partner recovered:"), 1);
	assert_true(hn_errlog_has(&f->d, from,
				  "partner recovered: partner=partner.example",
				  "failures=6 passes=3"));
	wait_sample(f, "tlspolicy_partners_failing", 0);
	/* a name from the network is escaped */
	for (i = 0; i < WINDOW; i++)
		run(f, &evil_pass);
	run(f, &evil_fail);
	assert_true(hn_errlog_has(
		&f->d, from, "partner failing: partner=evil\\x1b[31m.example",
		NULL));
	fx_stop(&f->d, NULL);
	assert_int_equal(hn_errlog_count(&f->d, from, "partner failing:"), 2);
	assert_int_equal(hn_errlog_count(&f->d, from, "partner recovered:"), 1);
	assert_int_equal(hn_errlog_count(&f->d, from, "\x1b"), 0);
	assert_non_null(t = slurp(f->prom));
	assert_sample(t, "tlspolicy_partners_failing", 1);
	assert_sample(t, "tlspolicy_partner_alerts_total{kind=\"failing\"}", 2);
	assert_sample(t, "tlspolicy_partner_alerts_total{kind=\"recovered\"}",
		      1);
	assert_sample(t,
		      "tlspolicy_partner_alerts_total{kind=\"still_failing\"}",
		      (double)summaries);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partners, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
