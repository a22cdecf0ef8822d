/*
 * main.c - tlspolicy-milter: options and modes.
 *
 * -n checks a policy and exits; -q answers "what would happen to this
 * session?". Both load the policy exactly as the daemon does, so what they
 * say is what the daemon will do.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "daemon.h"
#include "mtacheck.h"
#include "query.h"
#include "tlspolicy/policy.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_POLICY SYSCONFDIR "/tlspolicy/tlspolicy.yaml"

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: tlspolicy-milter [-c policy.yaml] [-p socket] [-u user[:group]]\n"
		"                        [-P pidfile] [-f] [-v] [--run-as-root]\n"
		"       tlspolicy-milter [-c policy.yaml] -n [--mta postfix|sendmail]\n"
		"                        [--test cases.yaml] [--at TIME]\n"
		"                        [--expiry-warning DAYS]\n"
		"       tlspolicy-milter [-c policy.yaml] -q [--at TIME] key=value ...\n"
		"       tlspolicy-milter -V\n"
		"\n"
		"  -c FILE   policy file (default " DEFAULT_POLICY ")\n"
		"  -p SOCK   milter socket: unix:/path, inet:port@host, inet6:...\n"
		"  -u USER   run as USER[:GROUP] once the socket is open\n"
		"  -P FILE   write the process id to FILE\n"
		"  -f        stay in the foreground, log to stderr\n"
		"  -v        also log each connection (debug)\n"
		"  --run-as-root  serve as root (refused without -u or milter.user)\n"
		"  -n, -t    check the policy and exit 0, or %d on errors\n"
		"  --mta M   warn about requirements MTA M cannot show; with\n"
		"            strip_forged_headers: mta, check Postfix's header_checks\n"
		"  --test F  with -n: run the policy's test cases in F; exit 1\n"
		"            on a verdict not as expected, %d on a bad case file\n"
		"  --at TIME decide (-q) or check (-n) as at TIME: 2027-01-20,\n"
		"            2027-01-20T10:00Z (a date is read in the policy's\n"
		"            timezone; default: now)\n"
		"  --expiry-warning DAYS  -n warns about exceptions expiring\n"
		"            within DAYS days (default 14)\n"
		"  -q        print the verdict for a session described by\n"
		"            mail_addr= rcpt_addr=... tls_version= cipher=\n"
		"            cipher_bits= cert_subject= cert_issuer= verify=\n"
		"            cert_fp= auth_authen= daemon_name= client_addr= mta= v=\n"
		"  -V        print the version\n"
		"See tlspolicy-milter(8) and tlspolicy.yaml(5).\n",
		EX_CONFIG, EX_DATAERR);
}

/* Prints the diagnostics (warnings too, if asked); returns the number of
 * errors. */
static size_t
print_diags(const struct tlsp_diags *d, int warnings, FILE *out)
{
	char line[1400];
	size_t i;

	for (i = 0; i < d->count; i++)
		if (warnings || !d->v[i].is_warning)
			fprintf(out, "%s\n",
				tlsp_diag_format(&d->v[i], line, sizeof(line)));
	if (d->truncated)
		fprintf(out,
			"(further messages suppressed: %zu errors in all)\n",
			d->errors);
	return d->errors;
}

static struct tlsp_policy *
load(const char *path, enum tlsp_mta mta, int warnings, FILE *diag_out)
{
	struct tlsp_diags d = {0};
	struct tlsp_policy *p = tlsp_policy_load(path, mta, &d);

	print_diags(&d, warnings || p == NULL, diag_out);
	tlsp_diags_free(&d);
	return p;
}

/* --at, read on the policy's clock; 0 or -1 (said on stderr). */
static int
resolve_at(const struct tlsp_policy *p, const char *at, time_t *out)
{
	const char *why;

	if (at == NULL) {
		*out = time(NULL);
		return 0;
	}
	if (tlsp_policy_parse_time(p, at, 0, out, &why) == 0)
		return 0;
	fprintf(stderr, "tlspolicy-milter: --at '%s': %s\n", at, why);
	return -1;
}

/* The schedule and the exceptions, and warnings about the exceptions
 * that end soon or have ended. */
static void
check_dates(const struct tlsp_policy *p, time_t now, unsigned days)
{
	struct tlsp_diags d = {0};

	tlspm_query_print_schedule(p, now, stdout, 50);
	fflush(stdout); /* the warnings follow what they are about */
	tlsp_policy_check_expiry(p, now, days, &d);
	print_diags(&d, 1, stderr);
	tlsp_diags_free(&d);
}

static int
check(const char *path, enum tlsp_mta mta, const char *at, unsigned days)
{
	struct tlsp_policy *p = load(path, mta, 1, stderr);
	char plan[1024];
	size_t i;
	time_t now;
	int rc, errors;

	if (p == NULL) {
		fprintf(stderr, "%s: policy not loaded\n", path);
		return EX_CONFIG;
	}
	if (resolve_at(p, at, &now) < 0) {
		tlsp_policy_unref(p);
		return EX_USAGE;
	}
	printf("%s: OK: %zu rule%s, %zu profile%s, sha256 %s\n", path,
	       tlsp_policy_rule_count(p),
	       tlsp_policy_rule_count(p) == 1 ? "" : "s",
	       tlsp_policy_profile_count(p),
	       tlsp_policy_profile_count(p) == 1 ? "" : "s",
	       tlsp_policy_hash(p));
	/* the files the hash covers, in the order it covers them */
	for (i = 1; i < tlsp_policy_file_count(p); i++) {
		const char *fh, *f = tlsp_policy_file(p, i, &fh);

		printf("%s: includes %s, sha256 %s\n", path, f, fh);
	}
	/* what becomes of answered decisions the log cannot take at stop */
	rc = tlspm_daemon_spill_plan(tlsp_policy_settings(p), plan,
				     sizeof(plan));
	if (rc > 0)
		fprintf(stderr, "%s: warning: %s\n", path, plan);
	else if (rc == 0)
		printf("%s\n", plan);
	check_dates(p, now, days);
	errors = tlspm_mtacheck_strip(path, tlsp_policy_settings(p), mta);
	tlsp_policy_unref(p);
	return errors ? EX_CONFIG : EX_OK;
}

/*
 * -n --test CASES: the policy as -n checks it, then every case through
 * the query mode's code. Exit 0 when every verdict is as expected, 1 on
 * a mismatch, EX_DATAERR for a malformed case file, EX_CONFIG for a
 * policy that does not load.
 */
static int
test(const char *path, enum tlsp_mta mta, const char *cases_path,
     const char *at, unsigned days)
{
	struct tlsp_diags d = {0};
	struct tlsp_cases *cs;
	struct tlsp_policy *p;
	time_t now;
	int rc;

	if ((rc = check(path, mta, at, days)) != EX_OK)
		return rc == EX_USAGE ? rc : EX_CONFIG;
	cs = tlsp_cases_load(cases_path, &d);
	print_diags(&d, 1, stderr);
	tlsp_diags_free(&d);
	if (cs == NULL) {
		fprintf(stderr, "%s: cases not read\n", cases_path);
		return EX_DATAERR;
	}
	p = load(path, mta, 0, stderr);
	if (p == NULL) {
		tlsp_cases_free(cs);
		return EX_CONFIG;
	}
	if (resolve_at(p, at, &now) < 0) {
		tlsp_policy_unref(p);
		tlsp_cases_free(cs);
		return EX_USAGE;
	}
	rc = tlspm_query_cases(p, cs, mta, now, stdout);
	tlsp_policy_unref(p);
	tlsp_cases_free(cs);
	if (rc < 0)
		return EX_DATAERR;
	return rc > 0 ? 1 : EX_OK;
}

static int
query(const char *path, enum tlsp_mta mta, const char *at, int argc,
      char *const argv[])
{
	struct tlspm_query q;
	struct tlsp_policy *p;
	char err[256];

	if (tlspm_query_parse(argc, argv, &q, err, sizeof(err)) < 0) {
		fprintf(stderr, "tlspolicy-milter: -q: %s\n", err);
		return EX_USAGE;
	}
	if (q.m.mta == TLSP_MTA_UNKNOWN)
		q.m.mta = mta;
	p = load(path, q.m.mta, 0, stderr);
	if (p == NULL) {
		fprintf(stderr, "%s: policy not loaded\n", path);
		return EX_CONFIG;
	}
	if (resolve_at(p, at, &q.at) < 0) {
		tlsp_policy_unref(p);
		return EX_USAGE;
	}
	q.at_given = at != NULL;
	tlspm_query_run(p, &q, stdout);
	tlsp_policy_unref(p);
	return EX_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"mta", required_argument, NULL, 'M'},
		{"help", no_argument, NULL, 'h'},
		{"run-as-root", no_argument, NULL, 'R'},
		{"test", required_argument, NULL, 'T'},
		{"at", required_argument, NULL, 'A'},
		{"expiry-warning", required_argument, NULL, 'W'},
		{NULL, 0, NULL, 0},
	};
	struct tlspm_options o = {.policy_path = DEFAULT_POLICY};
	const char *path = DEFAULT_POLICY, *cases = NULL;
	enum tlsp_mta mta = TLSP_MTA_UNKNOWN;
	const char *at = NULL;
	unsigned long days = 14;
	int days_given = 0;
	char *end;
	int ch, mode = 0, m;

	while ((ch = getopt_long(argc, argv, "+c:nqtVhp:u:P:fv", longopts,
				 NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'p':
			o.socket = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'P':
			o.pidfile = optarg;
			break;
		case 'f':
			o.foreground = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'n':
		case 't': /* as opendkim and postfix users expect */
			mode = 'n';
			break;
		case 'q':
			mode = ch;
			break;
		case 'M':
			m = tlsp_mta_lookup(optarg);
			if (m < 0) {
				fprintf(stderr,
					"tlspolicy-milter: --mta: expected "
					"postfix or sendmail, not '%s'\n",
					optarg);
				return EX_USAGE;
			}
			mta = (enum tlsp_mta)m;
			break;
		case 'R':
			o.run_as_root = 1;
			break;
		case 'T':
			cases = optarg;
			break;
		case 'A':
			at = optarg;
			break;
		case 'W':
			errno = 0;
			days = strtoul(optarg, &end, 10);
			days_given = 1;
			if (errno || end == optarg || *end || days > 3650) {
				fprintf(stderr,
					"tlspolicy-milter: --expiry-warning: "
					"expected days from 0 to 3650, not "
					"'%s'\n",
					optarg);
				return EX_USAGE;
			}
			break;
		case 'V':
			printf("tlspolicy-milter %s\n", PACKAGE_VERSION);
			return EX_OK;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	/* options of the checker and the query mode never start a daemon */
	if ((cases != NULL && mode != 'n') || (at != NULL && mode == 0) ||
	    (days_given && mode != 'n')) {
		fprintf(stderr, "tlspolicy-milter: --test and --expiry-warning "
				"go with -n, --at with -n or -q\n");
		return EX_USAGE;
	}
	if (cases && mode == 'n' && optind == argc)
		return test(path, mta, cases, at, (unsigned)days);
	if (mode == 'n' && optind == argc)
		return check(path, mta, at, (unsigned)days);
	if (mode == 'q')
		return query(path, mta, at, argc - optind, argv + optind);
	if (mode == 0 && optind == argc) {
		o.policy_path = path;
		return tlspm_daemon_run(&o);
	}
	usage(stderr);
	return EX_USAGE;
}
