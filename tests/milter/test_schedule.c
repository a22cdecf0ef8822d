/*
 * test_schedule.c - time in the running daemon: a rule scheduled to
 * enforce a few seconds after the start, and an exception ending then,
 * change the daemon's answers at that moment without a reload; the end
 * of the exception is logged once (also across a reload), like the end
 * of one that had expired before the start; the audit records show the
 * mode in effect, the schedule and the waived failure with its
 * exception; and tlspolicy-audit report lists the exception and what it
 * let through in text, CSV and JSON, and `show` prints both.
 *
 * Real daemon, real socket (tests/milter/harness.h); the MTA side sends
 * a Postfix TLSv1 session, which the rules' min_version TLSv1.2 fails.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "jsonread.h"
#include "tlspolicy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char policy_text[] =
	"version: 1\n"
	"milter: {authserv_id: mx.test.example, strip_forged_headers: never}\n"
	"audit: {file: %s, sync: always}\n"
	"timezone: Europe/Berlin\n"
	"exceptions:\n"
	"  - name: lab\n"
	"    client: 192.0.2.50/32\n"
	"    waive: [min_version]\n"
	"    reason: the lab's relay speaks TLS 1.0\n"
	"    owner: ops@test.example\n"
	"    expires: %s\n"
	"    ticket: LAB-7\n"
	"  - name: old\n"
	"    sender: old.example\n"
	"    waive: all\n"
	"    reason: ended before this test\n"
	"    owner: ops@test.example\n"
	"    expires: 2020-01-01\n"
	"recipients:\n"
	"  sched.example:\n"
	"    min_version: TLSv1.2\n"
	"    mode: monitor\n"
	"    enforce_from: %s\n"
	"  exc.example: {min_version: TLSv1.2}\n";

struct fx {
	struct hn_daemon d;
	char out[HN_PATH], err[HN_PATH];
	char at[32]; /* the instant, "2027-01-15T10:00:00Z" */
	time_t t;
};

static int
send_macros(struct mt_conn *c, int cmd, const char *qid, const char *rcpt)
{
	const struct mt_macro m[] = {
		{"j", "mx.test.example"},
		{"{daemon_name}", "smtpd"},
		{"v", "Postfix 3.7.11"},
		{"{tls_version}", "TLSv1"},
		{"{cipher}", "AES128-SHA"},
		{"{cipher_bits}", "128"},
		{"i", cmd == SMFIC_CONNECT || cmd == SMFIC_HELO ? NULL : qid},
		{"{mail_addr}", "s@sender.example"},
		{"{rcpt_addr}", rcpt},
	};

	return mt_macros(c, cmd, m, NELEM(m)) < 0 ? -1 : 0;
}

/* One session from ip, one recipient: refused at RCPT, or accepted and
 * decided at DATA, as `refused` says it must be. */
static void
session(const struct fx *f, const char *ip, const char *qid, const char *rcpt,
	int refused)
{
	char to[132], err[256];
	const char *from = "<s@sender.example>", *arg = to;
	struct mt_reply *r = calloc(1, sizeof(*r));
	struct mt_conn *c;

	assert_non_null(r);
	snprintf(to, sizeof(to), "<%s>", rcpt);
	if ((c = mt_open(f->d.spec, 10000, err, sizeof(err))) == NULL)
		fail_msg("%s: %s", rcpt, err);
	if (mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0 ||
	    send_macros(c, SMFIC_CONNECT, qid, NULL) < 0 ||
	    mt_connect(c, "client.example", SMFIA_INET, 25, ip, r) < 0 ||
	    send_macros(c, SMFIC_HELO, qid, NULL) < 0 ||
	    mt_helo(c, "client.example", r) < 0 ||
	    send_macros(c, SMFIC_MAIL, qid, NULL) < 0 ||
	    mt_mail(c, &from, 1, r) < 0 || r->code != SMFIR_CONTINUE ||
	    send_macros(c, SMFIC_RCPT, qid, rcpt) < 0 ||
	    mt_rcpt(c, &arg, 1, r) < 0)
		fail_msg("%s: %s (last reply %s %s)", rcpt, mt_error(c),
			 mt_code_name(r->code), r->text);
	if (refused) {
		if (r->code != SMFIR_REPLYCODE || r->text[0] != '5')
			fail_msg("%s: RCPT got %s %s, not a refusal", rcpt,
				 mt_code_name(r->code), r->text);
		assert_int_equal(mt_abort(c), 0);
	} else if (r->code != SMFIR_CONTINUE ||
		   send_macros(c, SMFIC_DATA, qid, NULL) < 0 ||
		   mt_data(c, r) < 0 || r->code != SMFIR_ACCEPT) {
		fail_msg("%s: %s (last reply %s %s)", rcpt, mt_error(c),
			 mt_code_name(r->code), r->text);
	}
	assert_int_equal(mt_quit(c), 0);
	mt_close(c);
	free(r);
}

static int
setup(void **state)
{
	struct fx *f;
	struct tm tm;
	FILE *p;

	if (fx_setup(state, sizeof(struct fx), "always", 0) < 0)
		return -1;
	f = *state;
	snprintf(f->out, sizeof(f->out), "%s/out", f->d.dir);
	snprintf(f->err, sizeof(f->err), "%s/err", f->d.dir);
	/* far enough ahead for a sanitized daemon to start and answer */
	f->t = time(NULL) + (HN_SANITIZED ? 12 : 5);
	gmtime_r(&f->t, &tm);
	strftime(f->at, sizeof(f->at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((p = fopen(f->d.policy, "we")) == NULL)
		return -1;
	fprintf(p, policy_text, f->d.audit, f->at, f->at);
	return fclose(p) != 0 ? -1 : 0;
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

/* ------------------------------------------------------ the records */

/* The verdict's first rule of the decision record for queue id qid
 * ("message") or recipient rcpt ("rcpt"), from the log's lines. */
struct found {
	struct tlspa_json jp;
	char *line;
	const struct tlspa_jv *rule, *verdict;
};

static int
find_record(const char *path, const char *type, const char *qid,
	    const char *rcpt, struct found *out)
{
	FILE *fp = fopen(path, "re");
	size_t cap = 0;
	ssize_t len;
	const struct tlspa_jv *doc, *rc, *rules;

	assert_non_null(fp);
	while ((len = getline(&out->line, &cap, fp)) > 0) {
		out->line[len - 1] = '\0';
		doc = tlspa_json_parse(&out->jp, out->line, (size_t)len - 1);
		if (doc == NULL ||
		    !tlspa_jv_is(tlspa_jv_get(doc, "type"), type))
			continue;
		if (qid && !tlspa_jv_is(tlspa_jv_get(doc, "queue_id"), qid))
			continue;
		rc = tlspa_jv_get(doc, "recipients");
		if (rc == NULL || rc->kids == NULL ||
		    (rcpt &&
		     !tlspa_jv_is(tlspa_jv_get(rc->kids, "addr"), rcpt)))
			continue;
		out->verdict = tlspa_jv_get(rc->kids, "verdict");
		rules = tlspa_jv_get(out->verdict, "rules");
		out->rule = rules ? rules->kids : NULL;
		fclose(fp);
		return out->rule != NULL;
	}
	fclose(fp);
	return 0;
}

static void
found_free(struct found *x)
{
	tlspa_json_free(&x->jp);
	free(x->line);
	memset(x, 0, sizeof(*x));
}

static const char *
str(const struct tlspa_jv *v, const char *key)
{
	const char *s = tlspa_jv_str(tlspa_jv_get(v, key));

	return s ? s : "(absent)";
}

static size_t
count(const struct tlspa_jv *arr)
{
	return arr && arr->type == TLSPA_J_ARR ? arr->len : 0;
}

static void
check_records(const struct fx *f)
{
	struct found x;

	memset(&x, 0, sizeof(x));
	/* before: monitored, with its schedule; the decision is accept */
	assert_true(find_record(f->d.audit, "message", "QB1", NULL, &x));
	assert_string_equal(str(x.rule, "rule"), "recipient:sched.example");
	assert_string_equal(str(x.rule, "mode"), "monitor");
	assert_string_equal(str(x.rule, "enforce_from"), f->at);
	assert_string_equal(str(x.rule, "status"), "fail");
	assert_string_equal(str(x.verdict, "action"), "accept");
	assert_string_equal(str(x.verdict, "would_action"), "reject");
	found_free(&x);
	/* before: the exception waived min_version, so nothing failed */
	assert_true(find_record(f->d.audit, "message", "QB2", NULL, &x));
	{
		const struct tlspa_jv *w = tlspa_jv_get(x.rule, "waived");

		assert_string_equal(str(x.rule, "status"), "pass");
		assert_int_equal(count(tlspa_jv_get(x.rule, "failures")), 0);
		assert_int_equal(count(w), 1);
		assert_string_equal(str(w->kids, "requirement"), "min_version");
		assert_string_equal(str(w->kids, "status"), "fail");
		assert_string_equal(str(w->kids, "required"),
				    "TLSv1.2 or higher");
		assert_string_equal(str(w->kids, "observed"), "TLSv1");
		assert_string_equal(str(w->kids, "exception"), "lab");
		assert_string_equal(str(w->kids, "expires"), f->at);
	}
	found_free(&x);
	/* after: enforced, the rule's mode says so */
	assert_true(find_record(f->d.audit, "rcpt", NULL, "<a2@sched.example>",
				&x));
	assert_string_equal(str(x.rule, "mode"), "enforce");
	assert_string_equal(str(x.rule, "enforce_from"), f->at);
	assert_string_equal(str(x.verdict, "action"), "reject");
	found_free(&x);
	/* after: the exception is gone from the record, the failure back */
	assert_true(find_record(f->d.audit, "rcpt", NULL, "<b2@exc.example>",
				&x));
	assert_null(tlspa_jv_get(x.rule, "waived"));
	assert_int_equal(count(tlspa_jv_get(x.rule, "failures")), 1);
	found_free(&x);
}

/* ------------------------------------------------------- the report */

/* tlspolicy-audit CMD [--format FORMAT] LOG: its output (caller frees). */
static char *
run_tool(const struct fx *f, const char *cmd, const char *format)
{
	char *argv[6];
	long deadline = hn_now_ms() + 60000;
	int status, fd;
	struct stat st;
	char *buf;
	FILE *o;
	pid_t pid;

	fflush(NULL);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		/* copies: exec wants them writable; never freed */
		argv[0] = strdup("tlspolicy-audit");
		argv[1] = strdup(cmd);
		argv[2] = strdup(format ? "--format" : f->d.audit);
		argv[3] = format ? strdup(format) : NULL;
		argv[4] = format ? strdup(f->d.audit) : NULL;
		argv[5] = NULL;
		fd = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(126);
		execv(hn_build_path("tlspolicy-audit"), argv);
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (hn_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("%s: no answer in 60 s", cmd);
		}
		usleep(10000);
	}
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(o = fopen(f->out, "re"));
	assert_int_equal(fstat(fileno(o), &st), 0);
	assert_non_null(buf = malloc((size_t)st.st_size + 1));
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, o), st.st_size);
	buf[st.st_size] = '\0';
	fclose(o);
	return buf;
}

static long long
j_int(const struct tlspa_jv *o, const char *key)
{
	const struct tlspa_jv *v = tlspa_jv_get(o, key);

	return v && v->is_int ? v->i : -1;
}

static void
check_report(const struct fx *f)
{
	struct tlspa_json jp = {0};
	const struct tlspa_jv *doc, *ex;
	char *out, want[400];

	out = run_tool(f, "report", "json");
	assert_non_null(doc = tlspa_json_parse(&jp, out, strlen(out) - 1));
	ex = tlspa_jv_get(doc, "exceptions");
	assert_int_equal(count(ex), 1);
	assert_string_equal(str(ex->kids, "exception"), "lab");
	assert_string_equal(str(ex->kids, "expires"), f->at);
	assert_int_equal(j_int(ex->kids, "decisions"), 1);
	assert_int_equal(j_int(ex->kids, "let_through"), 1);
	assert_int_equal(j_int(tlspa_jv_get(ex->kids, "waived"), "min_version"),
			 1);
	assert_int_equal(j_int(tlspa_jv_get(ex->kids, "waived"), "tls"), 0);
	/* the totals count the waived failure apart from the failures */
	assert_int_equal(j_int(tlspa_jv_get(tlspa_jv_get(doc, "total"),
					    "waived"),
			       "min_version"),
			 1);
	tlspa_json_free(&jp);
	free(out);

	out = run_tool(f, "report", "text");
	assert_non_null(strstr(out,
			       "\nExceptions that waived requirements: 1\n"));
	snprintf(want, sizeof(want), "%-21s %8d %8d", f->at, 1, 1);
	if (strstr(out, want) == NULL || strstr(out, "min_version 1\n") == NULL)
		fail_msg("text report without '%s':\n%s", want, out);
	free(out);

	out = run_tool(f, "report", "csv");
	snprintf(want, sizeof(want), "\nexception,lab,%s,1,,,1,", f->at);
	if (strstr(out, want) == NULL)
		fail_msg("csv report without '%s':\n%s", want, out);
	free(out);

	out = run_tool(f, "show", NULL);
	snprintf(want, sizeof(want),
		 "    rule recipient:exc.example: pass, action accept, mode "
		 "enforce\n      waived by exception lab (until %s):\n"
		 "        min_version: fail (required TLSv1.2 or higher, "
		 "observed TLSv1)\n",
		 f->at);
	if (strstr(out, want) == NULL)
		fail_msg("show without '%s':\n%s", want, out);
	snprintf(want, sizeof(want),
		 "    rule recipient:sched.example: fail, action reject, mode "
		 "monitor (enforces from %s)\n",
		 f->at);
	if (strstr(out, want) == NULL)
		fail_msg("show without '%s':\n%s", want, out);
	free(out);
}

/* ------------------------------------------------------------ the test */

static void
test_schedule_and_expiry(void **state)
{
	struct fx *f = *state;
	long from;

	assert_int_equal(hn_start(&f->d), 0);
	/* ended before the start: said once, at the start */
	if (!hn_errlog_wait(&f->d, 0,
			    "exception old expired at "
			    "2020-01-02T00:00:00+01:00",
			    "owner ops@test.example", 5000))
		fail_msg("no line for the exception that ended in 2020");
	session(f, "192.0.2.9", "QB1", "a1@sched.example", 0);
	session(f, "192.0.2.50", "QB2", "b1@exc.example", 0);
	if (time(NULL) >= f->t)
		fail_msg("the sessions before %s ended after it: too slow",
			 f->at);
	from = hn_errlog_size(&f->d);
	while (time(NULL) <= f->t)
		usleep(100000);
	if (!hn_errlog_wait(&f->d, from, "exception lab expired at ",
			    "ticket LAB-7", 5000))
		fail_msg("no line for the exception's end");
	session(f, "192.0.2.9", "QA1", "a2@sched.example", 1);
	session(f, "192.0.2.50", "QA2", "b2@exc.example", 1);
	/* a reload brings both exceptions back: neither is logged again */
	assert_int_equal(kill(f->d.pid, SIGUSR1), 0);
	if (!hn_errlog_wait(&f->d, from, "reloaded policy", NULL, 10000))
		fail_msg("no reload");
	session(f, "192.0.2.50", "QA3", "b3@exc.example", 1);
	assert_int_equal(hn_errlog_count(&f->d, 0, "exception lab expired"), 1);
	assert_int_equal(hn_errlog_count(&f->d, 0, "exception old expired"), 1);
	/* the decision line names the waiver */
	assert_true(hn_errlog_has(&f->d, 0, "rcpt=<b1@exc.example>",
				  "waived=min_version:lab"));
	fx_stop(&f->d, NULL);
	{
		struct al_log log;
		const char *files[] = {f->d.audit};

		fx_assert_log(&log, files, 1, NULL);
		al_free(&log);
	}
	check_records(f);
	check_report(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schedule_and_expiry, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
