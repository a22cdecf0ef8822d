/*
 * metrics.c - counters for Prometheus, as a textfile (metrics.h).
 *
 * Why a file and not an HTTP endpoint: node_exporter's textfile
 * collector already runs wherever Postfix is watched, it needs no
 * listening socket, no HTTP parser and no thread per scrape here, and a
 * daemon that has died leaves a file whose timestamp
 * (tlspolicy_metrics_updated_timestamp_seconds) an alert can see.
 *
 * Every count is a relaxed atomic, added to once per event by the milter
 * threads; only this file's thread reads them, every interval. Counts by
 * rule go to at most TLSPM_METRICS_RULES names, each claimed (under a
 * mutex, once per name) in an open-addressing table whose names, once
 * published, never change; the rest go to "other".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "partners.h"
#include "state.h"

#define NACTIONS (TLSP_ACTION_REJECT + 1)
#define NVERSIONS (TLSP_VER_TLSV1_3 + 1)
#define RULE_SLOTS 256 /* > 2 x TLSPM_METRICS_RULES: short probes */
#define NRESULTS 4     /* pass, fail, unknown (enum tlsp_status), exempt */
#define LAT_BUCKETS 12

/* Upper bounds of the decision latency buckets, in ns. */
static const uint64_t lat_bounds_ns[LAT_BUCKETS] = {
	1000,	2500,	5000,	 10000,	  25000,    50000,
	100000, 250000, 1000000, 2500000, 10000000, 100000000};
static const char *const result_names[NRESULTS] = {"pass", "fail", "unknown",
						   "exempt"};
static const char *const stage_names[TLSPM_STAGE_COUNT] = {"mail", "rcpt"};

typedef _Atomic(uint64_t) counter;

struct rule_slot {
	_Atomic(const char *) name; /* NULL: free; set once */
	counter n[NRESULTS];
};

static struct {
	counter decisions[TLSPM_STAGE_COUNT][NACTIONS];
	counter would[TLSPM_STAGE_COUNT][NACTIONS];
	counter version[NVERSIONS];
	counter req[TLSP_REQ_COUNT][2]; /* failed, unknown */
	counter lat[LAT_BUCKETS + 1], lat_sum_ns;
	counter reloads_ok, reloads_failed;
	_Atomic(long) conns;
	struct rule_slot rules[RULE_SLOTS];
	struct rule_slot other;
	_Atomic(size_t) nrules; /* changed under rules_lock */
} m;

int tlspm_metrics_on;

static pthread_mutex_t rules_lock = PTHREAD_MUTEX_INITIALIZER;
/* The policy in force and the thread's state: under `lock`. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static char policy_hash[65];
static time_t policy_loaded, started;
static int last_reload_ok = 1, stop_req;
static char *path, *tmp;
static unsigned interval;
static pthread_t thread;
static int thread_running;
static int failing; /* the last write failed (thread only) */

static void
inc(counter *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t
get(counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* ======================================================= the hot path */

/* Rule names share their prefix ("recipient:") and differ at the end:
 * the length and the last 12 bytes spread them well enough for a table
 * that strcmp() confirms. */
static uint32_t
hash_name(const char *s)
{
	size_t n = strlen(s), i = n > 12 ? n - 12 : 0;
	uint32_t h = 2166136261u ^ (uint32_t)n;

	for (; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* A new name into the table (the miss path: once per rule name). */
static struct rule_slot *
claim(const char *name, uint32_t h)
{
	struct rule_slot *r = &m.other;
	const char *have;
	size_t i, k;
	char *copy;

	pthread_mutex_lock(&rules_lock);
	for (k = 0; k < RULE_SLOTS; k++) {
		i = (h + k) & (RULE_SLOTS - 1);
		have = atomic_load_explicit(&m.rules[i].name,
					    memory_order_acquire);
		if (have != NULL && strcmp(have, name) == 0) {
			r = &m.rules[i];
			break;
		}
		if (have != NULL)
			continue;
		if (atomic_load(&m.nrules) < TLSPM_METRICS_RULES &&
		    (copy = strdup(name)) != NULL) {
			atomic_fetch_add(&m.nrules, 1);
			atomic_store_explicit(&m.rules[i].name, copy,
					      memory_order_release);
			r = &m.rules[i];
		}
		break;
	}
	pthread_mutex_unlock(&rules_lock);
	return r;
}

static struct rule_slot *
rule_slot(const char *name)
{
	uint32_t h = hash_name(name);
	const char *have;
	size_t i, k;

	for (k = 0; k < RULE_SLOTS; k++) {
		i = (h + k) & (RULE_SLOTS - 1);
		have = atomic_load_explicit(&m.rules[i].name,
					    memory_order_acquire);
		if (have == NULL)
			break;
		if (strcmp(have, name) == 0)
			return &m.rules[i];
	}
	/* a full table takes no new name: no lock for those */
	if (atomic_load_explicit(&m.nrules, memory_order_relaxed) >=
	    TLSPM_METRICS_RULES)
		return &m.other;
	return claim(name, h);
}

static void
count_latency(uint64_t t0)
{
	uint64_t ns = tlspm_metrics_clock() - t0;
	size_t i = 0;

	while (i < LAT_BUCKETS && ns > lat_bounds_ns[i])
		i++;
	inc(&m.lat[i]);
	atomic_fetch_add_explicit(&m.lat_sum_ns, ns, memory_order_relaxed);
}

void
tlspm_metrics_decision(enum tlspm_stage stage, const struct tlsp_verdict *v,
		       enum tlsp_version version, const char *sender,
		       const char *client_addr, const char *logid, uint64_t t0)
{
	const struct tlsp_rule_result *r;
	size_t i, j;

	if (!tlspm_metrics_on)
		return;
	inc(&m.decisions[stage][v->action]);
	if (v->would_action != v->action)
		inc(&m.would[stage][v->would_action]);
	if ((unsigned)version < NVERSIONS)
		inc(&m.version[version]);
	for (i = 0; i < v->nrules; i++) {
		r = &v->r[i];
		inc(&rule_slot(tlsp_rule_name(r->rule))
			     ->n[r->exempt ? 3 : (int)r->status]);
		for (j = 0; j < r->nfail; j++)
			inc(&m.req[r->fail[j].req]
				  [r->fail[j].status == TLSP_UNKNOWN]);
	}
	tlspm_partners_observe(sender, client_addr, v, logid, time(NULL));
	count_latency(t0);
}

void
tlspm_metrics_connection(int delta)
{
	if (tlspm_metrics_on)
		atomic_fetch_add_explicit(&m.conns, delta,
					  memory_order_relaxed);
}

void
tlspm_metrics_reload(const struct tlsp_policy *p)
{
	if (!tlspm_metrics_on)
		return;
	inc(p ? &m.reloads_ok : &m.reloads_failed);
	pthread_mutex_lock(&lock);
	last_reload_ok = p != NULL;
	if (p != NULL) {
		snprintf(policy_hash, sizeof(policy_hash), "%s",
			 tlsp_policy_hash(p));
		policy_loaded = time(NULL);
	}
	pthread_mutex_unlock(&lock);
}

/* ========================================================= the file */

/* A label value as the exposition format wants it: '\', '"' and a
 * newline escaped; bytes below 0x20 (which a rule name cannot hold)
 * become '?'. */
static void
label(FILE *f, const char *s)
{
	const char *p;

	for (p = s; *p && *p != '\\' && *p != '"' && (unsigned char)*p >= 0x20;
	     p++)
		;
	if (*p == '\0') { /* the usual case: nothing to escape */
		fputs(s, f);
		return;
	}
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc((unsigned char)*s < 0x20 ? '?' : *s, f);
	}
}

static void
head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP tlspolicy_%s %s\n# TYPE tlspolicy_%s %s\n", name,
		help, name, type);
}

static void
stage_action(FILE *f, const char *name, counter c[][NACTIONS])
{
	size_t s, a;

	for (s = 0; s < TLSPM_STAGE_COUNT; s++)
		for (a = 0; a < NACTIONS; a++)
			fprintf(f,
				"tlspolicy_%s{stage=\"%s\",action=\"%s\"} "
				"%llu\n",
				name, stage_names[s],
				tlsp_action_name((enum tlsp_action)a),
				(unsigned long long)get(&c[s][a]));
}

/* A histogram from non-cumulative bucket counts; bounds in units of
 * 1/scale seconds. */
static void
histogram(FILE *f, const char *name, const uint64_t *bounds, size_t nb,
	  const uint64_t *counts, uint64_t sum, double scale)
{
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i < nb; i++) {
		cum += counts[i];
		fprintf(f, "tlspolicy_%s_bucket{le=\"%g\"} %llu\n", name,
			(double)bounds[i] / scale, (unsigned long long)cum);
	}
	cum += counts[nb];
	fprintf(f, "tlspolicy_%s_bucket{le=\"+Inf\"} %llu\n", name,
		(unsigned long long)cum);
	fprintf(f, "tlspolicy_%s_sum %.9f\n", name, (double)sum / scale);
	fprintf(f, "tlspolicy_%s_count %llu\n", name, (unsigned long long)cum);
}

static void
render_rules(FILE *f)
{
	const char *name;
	size_t i, k;

	head(f, "rule_results_total", "counter",
	     "Rule evaluations by rule and result (pass, fail, unknown, "
	     "exempt); rules past the first 100 seen are counted as "
	     "rule=\"other\".");
	for (i = 0; i <= RULE_SLOTS; i++) {
		struct rule_slot *r = i < RULE_SLOTS ? &m.rules[i] : &m.other;

		name = i < RULE_SLOTS
			       ? atomic_load_explicit(&r->name,
						      memory_order_acquire)
			       : "other";
		if (name == NULL)
			continue;
		for (k = 0; k < NRESULTS; k++) {
			fputs("tlspolicy_rule_results_total{rule=\"", f);
			label(f, name);
			fprintf(f, "\",result=\"%s\"} %llu\n", result_names[k],
				(unsigned long long)get(&r->n[k]));
		}
	}
}

static void
render_decisions(FILE *f)
{
	uint64_t lat[LAT_BUCKETS + 1];
	size_t i;

	head(f, "decisions_total", "counter",
	     "Decisions (one per MAIL with a sender rule, one per RCPT) by "
	     "stage and action enforced.");
	stage_action(f, "decisions_total", m.decisions);
	head(f, "monitor_would_total", "counter",
	     "Decisions whose monitor-mode rules would have taken a stricter "
	     "action, by stage and that action.");
	stage_action(f, "monitor_would_total", m.would);
	head(f, "decisions_by_tls_version_total", "counter",
	     "Decisions by the session's TLS version (none: plaintext).");
	for (i = 0; i < NVERSIONS; i++)
		fprintf(f,
			"tlspolicy_decisions_by_tls_version_total{version=\"%s\"}"
			" %llu\n",
			tlsp_version_name((enum tlsp_version)i),
			(unsigned long long)get(&m.version[i]));
	head(f, "requirement_results_total", "counter",
	     "Requirements not met in decisions, by requirement and result "
	     "(failed, or unknown: the MTA could not show the evidence).");
	for (i = 0; i < TLSP_REQ_COUNT; i++)
		fprintf(f,
			"tlspolicy_requirement_results_total{requirement=\"%s\","
			"result=\"failed\"} %llu\n"
			"tlspolicy_requirement_results_total{requirement=\"%s\","
			"result=\"unknown\"} %llu\n",
			tlsp_req_name((enum tlsp_req)i),
			(unsigned long long)get(&m.req[i][0]),
			tlsp_req_name((enum tlsp_req)i),
			(unsigned long long)get(&m.req[i][1]));
	render_rules(f);
	for (i = 0; i <= LAT_BUCKETS; i++)
		lat[i] = get(&m.lat[i]);
	head(f, "decision_duration_seconds", "histogram",
	     "Time from a MAIL or RCPT callback's start to its answer, "
	     "record and log line included.");
	histogram(f, "decision_duration_seconds", lat_bounds_ns, LAT_BUCKETS,
		  lat, get(&m.lat_sum_ns), 1e9);
}

static void
render_audit(FILE *f)
{
	struct tlsp_audit_stats a;

	tlsp_audit_stats(tlspm.audit, &a);
	head(f, "audit_enabled", "gauge", "1 when an audit log is written.");
	fprintf(f, "tlspolicy_audit_enabled %d\n", tlspm.audit != NULL);
	head(f, "audit_records_written_total", "counter",
	     "Records appended to the audit log.");
	fprintf(f, "tlspolicy_audit_records_written_total %llu\n",
		(unsigned long long)a.written);
	head(f, "audit_write_errors_total", "counter",
	     "Batches of records the audit log could not take (write or "
	     "fdatasync failed).");
	fprintf(f, "tlspolicy_audit_write_errors_total %llu\n",
		(unsigned long long)a.write_errors);
	head(f, "audit_queue_depth", "gauge",
	     "Records waiting for the audit writer.");
	fprintf(f, "tlspolicy_audit_queue_depth %llu\n",
		(unsigned long long)a.queued);
	head(f, "audit_fsync_duration_seconds", "histogram",
	     "Time fdatasync took on the audit log.");
	histogram(f, "audit_fsync_duration_seconds", tlsp_audit_sync_bounds_us,
		  TLSP_AUDIT_SYNC_BUCKETS, a.sync_bucket, a.sync_us, 1e6);
}

static void
render_partners(FILE *f)
{
	struct tlspm_partners_stats p;

	tlspm_partners_stats(&p);
	head(f, "partners_failing", "gauge",
	     "Partners (sender domains, or clients) that passed their rules "
	     "and now fail them.");
	fprintf(f, "tlspolicy_partners_failing %llu\n",
		(unsigned long long)p.failing);
	head(f, "partners_tracked", "gauge",
	     "Partners tracked for alerts (at most milter.partners_max).");
	fprintf(f, "tlspolicy_partners_tracked %llu\n",
		(unsigned long long)p.tracked);
	head(f, "partner_alerts_total", "counter",
	     "Partner alert lines logged, by kind.");
	fprintf(f,
		"tlspolicy_partner_alerts_total{kind=\"failing\"} %llu\n"
		"tlspolicy_partner_alerts_total{kind=\"still_failing\"} %llu\n"
		"tlspolicy_partner_alerts_total{kind=\"recovered\"} %llu\n",
		(unsigned long long)p.warned, (unsigned long long)p.summaries,
		(unsigned long long)p.recovered);
}

static void
render_process(FILE *f, time_t now)
{
	char hash[65];
	time_t loaded;
	int ok;

	pthread_mutex_lock(&lock);
	memcpy(hash, policy_hash, sizeof(hash));
	loaded = policy_loaded;
	ok = last_reload_ok;
	pthread_mutex_unlock(&lock);
	head(f, "build_info", "gauge", "The daemon's version.");
	fputs("tlspolicy_build_info{version=\"", f);
	label(f, PACKAGE_VERSION);
	fputs("\"} 1\n", f);
	head(f, "start_time_seconds", "gauge",
	     "When the daemon started (Unix time).");
	fprintf(f, "tlspolicy_start_time_seconds %lld\n", (long long)started);
	head(f, "metrics_updated_timestamp_seconds", "gauge",
	     "When this file was written (Unix time): a file older than a "
	     "few intervals is a dead daemon's.");
	fprintf(f, "tlspolicy_metrics_updated_timestamp_seconds %lld\n",
		(long long)now);
	head(f, "metrics_interval_seconds", "gauge",
	     "How often this file is written (milter.metrics_interval).");
	fprintf(f, "tlspolicy_metrics_interval_seconds %u\n", interval);
	head(f, "policy_info", "gauge",
	     "The policy in force, by the SHA-256 of its file.");
	fprintf(f, "tlspolicy_policy_info{sha256=\"%s\"} 1\n", hash);
	head(f, "policy_loaded_timestamp_seconds", "gauge",
	     "When the policy in force was loaded (Unix time).");
	fprintf(f, "tlspolicy_policy_loaded_timestamp_seconds %lld\n",
		(long long)loaded);
	head(f, "policy_reloads_total", "counter",
	     "Policy reloads (SIGUSR1) by result.");
	fprintf(f,
		"tlspolicy_policy_reloads_total{result=\"ok\"} %llu\n"
		"tlspolicy_policy_reloads_total{result=\"failed\"} %llu\n",
		(unsigned long long)get(&m.reloads_ok),
		(unsigned long long)get(&m.reloads_failed));
	head(f, "policy_last_reload_ok", "gauge",
	     "0 when the last reload failed (the old policy stays in force), "
	     "else 1.");
	fprintf(f, "tlspolicy_policy_last_reload_ok %d\n", ok);
	head(f, "connections_open", "gauge", "MTA connections open now.");
	fprintf(f, "tlspolicy_connections_open %ld\n",
		atomic_load_explicit(&m.conns, memory_order_relaxed));
}

int
tlspm_metrics_render(FILE *f, time_t now)
{
	render_process(f, now);
	render_decisions(f);
	render_audit(f);
	render_partners(f);
	return ferror(f) ? -1 : 0;
}

/* The file, whole: a temporary file in its directory (its name does not
 * end in .prom, so the collector skips it), renamed over the old one.
 * 0644: the collector runs as another user. Never inlined: the benchmark
 * counts one write's instructions by this function's calls. */
static __attribute__((noinline)) int
write_file(void)
{
	FILE *f;
	int fd, rc;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0644) < 0 || (f = fdopen(fd, "w")) == NULL) {
		close(fd);
		(void)unlink(tmp);
		return -1;
	}
	rc = tlspm_metrics_render(f, time(NULL));
	if (fclose(f) != 0 || rc < 0 || rename(tmp, path) < 0) {
		rc = errno;
		(void)unlink(tmp);
		errno = rc;
		return -1;
	}
	return 0;
}

/* Loud when writing starts failing and when it works again. */
static void
write_and_say(void)
{
	if (write_file() < 0) {
		if (!failing)
			tlspm_log_errno(LOG_ERR,
					"metrics: cannot write %s (via %s)",
					path, tmp);
		failing = 1;
	} else if (failing) {
		tlspm_log(LOG_NOTICE, "metrics: %s written again", path);
		failing = 0;
	}
}

static void *
metrics_main(void *arg)
{
	struct timespec until;

	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stop_req) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)interval;
		while (!stop_req &&
		       pthread_cond_timedwait(&wake, &lock, &until) == 0)
			;
		if (stop_req)
			break;
		pthread_mutex_unlock(&lock);
		write_and_say();
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int
tlspm_metrics_start(const struct tlsp_settings *st, const struct tlsp_policy *p)
{
	size_t n;

	if (st->metrics_file == NULL)
		return 0;
	n = strlen(st->metrics_file);
	path = strdup(st->metrics_file);
	tmp = malloc(n + 32);
	if (path == NULL || tmp == NULL ||
	    tlspm_partners_init((unsigned)st->partner_window,
				(size_t)st->partners_max,
				(unsigned)st->metrics_interval) < 0)
		goto oom;
	/* "x.prom" -> "x.prom.1234.tmp": not *.prom, same directory */
	snprintf(tmp, n + 32, "%s.%ld.tmp", path, (long)getpid());
	interval = (unsigned)st->metrics_interval;
	started = policy_loaded = time(NULL);
	snprintf(policy_hash, sizeof(policy_hash), "%s", tlsp_policy_hash(p));
	tlspm_metrics_on = 1;
	write_and_say();
	if (pthread_create(&thread, NULL, metrics_main, NULL) != 0)
		goto oom;
	thread_running = 1;
	tlspm_log(LOG_INFO,
		  "metrics: %s every %u s; partner alerts after %d decisions, "
		  "at most %d partners",
		  path, interval, st->partner_window, st->partners_max);
	return 0;
oom:
	tlspm_log(LOG_ERR, "metrics: out of memory; no metrics");
	tlspm_metrics_on = 0;
	return -1;
}

void
tlspm_metrics_stop(void)
{
	if (!thread_running)
		return;
	pthread_mutex_lock(&lock);
	stop_req = 1;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	thread_running = 0;
	write_and_say();
	tlspm_partners_free();
	tlspm_metrics_on = 0;
}
