/*
 * policybench.c - what a policy costs to compile, to keep, and to ask,
 * by number of domain rules (make bench; never part of make check).
 *
 * For each size the policy is generated in memory in the shape of
 * `mtbench -P` (exact and subdomain rules of every action, a profile, a
 * default, a sender rule) and compiled with tlsp_policy_load_buffer(), in
 * a child process of its own, so that the peak resident set it reports
 * belongs to that size alone. It prints the compile time, the memory the
 * compiled policy keeps (the heap it holds after the YAML is gone, and
 * tlsp_policy_memory()), the peak RSS growth during the compile, and the
 * time tlsp_evaluate() takes per recipient, for recipients drawn at random
 * from the rules (exact and subdomain matches) and for domains that no
 * rule names (the walk up every parent to the default). The lookup ratio
 * against the smallest policy is the "independent of size" check.
 *
 * With -e, the same for policies of N exceptions (issue 23): a rule
 * every session fails (min_version TLSv1.2 against TLSv1), and N
 * exceptions by sender domain (exact and subdomains), recipient domain
 * and client network (IPv4 /24, IPv6 /64), all in one process. It
 * prints the compile time and tlsp_evaluate() per recipient when an
 * exception waives the failure (drawn at random among them) and when
 * none matches (the index is searched and finds nothing), and the ratios
 * against a policy without exceptions (where no lookup is made) and
 * against the smallest size: the "lookup flat" check.
 * With -c, the sizes are instead the number of `client_addr:` networks
 * of one sender rule (issue 23's scale item): the compile CPU time, the
 * bytes per network, and the time tlsp_evaluate() takes for mail from
 * that sender when the client is inside a network drawn at random
 * (hit) and when it is in none (miss, every prefix length searched),
 * with the ratio against the first size; all in this process's CPU
 * time (the machine may be shared; wall time would measure the others).
 *
 * Every loop is bounded: each lookup measurement runs for at most
 * LOOKUP_SECS.
 *
 *   policybench [-c] [-s size,size,...] [-q queries] [-e size,size,...]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mallinfo2 */
#endif

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchpolicy.h"
#include "clock.h"
#include "tlspolicy/policy.h"

#define LOOKUP_SECS 1.0 /* per measurement; three of each per size */
#define NQ 4096		/* distinct recipients per size, cycled */

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Resident and peak resident set of this process, in KiB. */
static long
status_kb(const char *key)
{
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0)
			v = atol(line + n);
	if (f)
		fclose(f);
	return v;
}

/* The policy of `mtbench -P n` (tests/bench/benchpolicy.h), in memory
 * (malloc'd); NULL when out of memory. */
static char *
generate(long n, size_t *len)
{
	char *buf = NULL;
	FILE *out = open_memstream(&buf, len);

	if (out == NULL)
		return NULL;
	bench_policy_write(out, n);
	if (fclose(out) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void
facts(struct tlsp_facts *f)
{
	struct tlsp_macros m;

	memset(&m, 0, sizeof(m));
	m.mta_version = "Postfix 3.7.11";
	m.tls_version = "TLSv1.2";
	m.cipher = "ECDHE-RSA-AES256-GCM-SHA384";
	m.cipher_bits = "256";
	m.client_addr = "192.0.2.7";
	tlsp_facts_from_macros(&m, f);
}

/* Nanoseconds per tlsp_evaluate() over the given recipients. */
static double
lookup_ns(const struct tlsp_policy *p, const struct tlsp_facts *f,
	  char (*rcpt)[64], long maxq)
{
	struct tlsp_verdict v;
	double t0 = tb_now(), t;
	long q = 0;
	unsigned sink = 0;

	do {
		long i;

		for (i = 0; i < 1024 && q < maxq; i++, q++) {
			tlsp_evaluate(p, f, "<news@sender.example>",
				      rcpt[q % NQ], time(NULL), &v);
			sink += (unsigned)v.action;
		}
		t = tb_now() - t0;
	} while (q < maxq && t < LOOKUP_SECS);
	if (sink == 0xffffffffu) /* keep the calls */
		fputc(' ', stderr);
	return t * 1e9 / (double)q;
}

/*
 * A policy whose sender rule lists n client networks: IPv4 /32, /24 and
 * /28, IPv6 /48 and /128, in the proportions a large partner list might
 * have, none of them overlapping 203.0.113.0/24 (the misses).
 */
static char *
generate_clients(long n, size_t *len)
{
	char *buf = NULL;
	FILE *out = open_memstream(&buf, len);
	long i;

	if (out == NULL)
		return NULL;
	fputs("version: 1\nsenders:\n  partner.example:\n    tls: optional\n"
	      "    client_addr:\n",
	      out);
	for (i = 0; i < n; i++) {
		unsigned a = (unsigned)i;

		switch (i % 5) {
		case 0:
		case 1:
			fprintf(out, "      - 10.%u.%u.%u\n", (a >> 16) & 255,
				(a >> 8) & 255, a & 255);
			break;
		case 2:
			fprintf(out, "      - 172.%u.%u.0/24\n",
				16 + (a >> 16 & 15), (a >> 8) & 255);
			break;
		case 3:
			fprintf(out, "      - \"2001:db8:%x::/48\"\n",
				a & 0xffff);
			break;
		default:
			fprintf(out, "      - 192.168.%u.%u/28\n",
				(a >> 8) & 255, (a & 15) << 4);
		}
	}
	if (fclose(out) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The address inside network i of generate_clients(). */
static void
client_inside(long i, char *out, size_t outsz)
{
	unsigned a = (unsigned)i;

	switch (i % 5) {
	case 0:
	case 1:
		snprintf(out, outsz, "10.%u.%u.%u", (a >> 16) & 255,
			 (a >> 8) & 255, a & 255);
		break;
	case 2:
		snprintf(out, outsz, "172.%u.%u.77", 16 + (a >> 16 & 15),
			 (a >> 8) & 255);
		break;
	case 3:
		snprintf(out, outsz, "2001:db8:%x:1::25", a & 0xffff);
		break;
	default:
		snprintf(out, outsz, "192.168.%u.%u", (a >> 8) & 255,
			 ((a & 15) << 4) + 9);
	}
}

/* This thread's CPU time in seconds: the machine may be shared, and CPU
 * time is not what other processes take from us. */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU nanoseconds per tlsp_evaluate() of partner mail over the clients. */
static double
client_ns(const struct tlsp_policy *p, struct tlsp_facts *fs, long maxq,
	  enum tlsp_action want)
{
	struct tlsp_verdict v;
	double t0 = cpu_now(), t;
	long q = 0, wrong = 0;

	do {
		long i;

		for (i = 0; i < 1024 && q < maxq; i++, q++) {
			tlsp_evaluate(p, &fs[q % NQ], "<a@partner.example>",
				      "<b@example.com>", &v);
			wrong += v.action != want;
		}
		t = cpu_now() - t0;
	} while (q < maxq && t < LOOKUP_SECS);
	if (wrong != 0) {
		fprintf(stderr, "policybench: %ld verdicts not %s\n", wrong,
			tlsp_action_name(want));
		exit(1);
	}
	return t * 1e9 / (double)q;
}

/* One client_addr size, in a child: prints one line of results. */
static int
one_client_size(long n, long maxq)
{
	static struct tlsp_facts hit[NQ], miss[NQ];
	struct tlsp_diags d = {0};
	struct tlsp_policy *p;
	struct mallinfo2 m0, m1;
	uint64_t s = 88172645463325252ULL + (uint64_t)n;
	double t0, secs, h[3], m[3], t;
	long i, rss0, hwm;
	size_t len;
	int k, j;
	char *buf;

	tlsp_cipher_init();
	buf = generate_clients(n, &len);
	if (buf == NULL)
		return 1;
	m0 = mallinfo2();
	rss0 = status_kb("VmRSS:");
	t0 = cpu_now();
	p = tlsp_policy_load_buffer("bench.yaml", buf, len, TLSP_MTA_POSTFIX,
				    &d);
	secs = cpu_now() - t0;
	hwm = status_kb("VmHWM:"); /* before the sessions' facts are made */
	free(buf);
	if (p == NULL) {
		char line[1400];

		for (i = 0; i < (long)d.count; i++)
			fprintf(stderr, "%s\n",
				tlsp_diag_format(&d.v[i], line, sizeof(line)));
		return 1;
	}
	tlsp_diags_free(&d);
	m1 = mallinfo2();
	for (i = 0; i < NQ; i++) {
		struct tlsp_macros mh = {0}, mm = {0};
		char a[64], b[64];

		client_inside((long)(rnd(&s) % (uint64_t)n), a, sizeof(a));
		snprintf(b, sizeof(b), "203.0.113.%u",
			 (unsigned)(rnd(&s) % 256));
		mh.mta_version = mm.mta_version = "Postfix 3.7.11";
		mh.tls_version = mm.tls_version = "TLSv1.2";
		mh.cipher = mm.cipher = "ECDHE-RSA-AES256-GCM-SHA384";
		mh.client_addr = a;
		mm.client_addr = b;
		tlsp_facts_from_macros(&mh, &hit[i]);
		tlsp_facts_from_macros(&mm, &miss[i]);
	}
	for (k = 0; k < 3; k++) {
		h[k] = client_ns(p, hit, maxq / 3, TLSP_ACTION_ACCEPT);
		m[k] = client_ns(p, miss, maxq / 3, TLSP_ACTION_REJECT);
	}
	for (k = 0; k < 3; k++)
		for (j = k + 1; j < 3; j++) {
			if (h[j] < h[k])
				t = h[j], h[j] = h[k], h[k] = t;
			if (m[j] < m[k])
				t = m[j], m[j] = m[k], m[k] = t;
		}
	printf("%ld %.4f %.1f %.1f %.1f %.0f %.0f\n", n, secs,
	       (double)((m1.uordblks + m1.hblkhd) - (m0.uordblks + m0.hblkhd)) /
		       (double)n,
	       (double)tlsp_policy_memory(p) / (double)n,
	       (double)(hwm - rss0) * 1024.0 / (double)n, h[1], m[1]);
	fflush(stdout);
	tlsp_policy_unref(p);
	return 0;
}

/* One size, in a child: prints one line of results. */
static int
one_size(long n, long maxq)
{
	static char rcpt[NQ][64], miss[NQ][64];
	struct tlsp_diags d = {0};
	struct tlsp_policy *p;
	struct tlsp_facts f;
	struct mallinfo2 m0, m1;
	uint64_t s = 88172645463325252ULL + (uint64_t)n;
	long rss0, i;
	size_t len;
	double t0, secs, hit, nohit;
	char *buf;

	tlsp_cipher_init();
	facts(&f);
	buf = generate(n, &len);
	if (buf == NULL)
		return 1;
	m0 = mallinfo2();
	rss0 = status_kb("VmRSS:");
	t0 = tb_now();
	p = tlsp_policy_load_buffer("bench.yaml", buf, len, TLSP_MTA_POSTFIX,
				    &d);
	secs = tb_now() - t0;
	if (p == NULL) {
		char line[1400];

		for (i = 0; i < (long)d.count; i++)
			fprintf(stderr, "%s\n",
				tlsp_diag_format(&d.v[i], line, sizeof(line)));
		return 1;
	}
	tlsp_diags_free(&d);
	m1 = mallinfo2();
	for (i = 0; i < NQ; i++) {
		long r = (long)(rnd(&s) % (uint64_t)n);

		snprintf(rcpt[i], sizeof(rcpt[i]), "<user@%sr%ld.example>",
			 r % 20 == 6 ? "mx." : "", r);
		snprintf(miss[i], sizeof(miss[i]), "<user@a.b.u%u.example.net>",
			 (unsigned)(rnd(&s) % 1000000));
	}
	{ /* the median of three: other work on the machine hits big
	   * tables (cache, TLB) harder than small ones */
		double h[3], m[3], t;
		int k, j;

		for (k = 0; k < 3; k++) {
			h[k] = lookup_ns(p, &f, rcpt, maxq / 3);
			m[k] = lookup_ns(p, &f, miss, maxq / 3);
		}
		for (k = 0; k < 3; k++)
			for (j = k + 1; j < 3; j++) {
				if (h[j] < h[k])
					t = h[j], h[j] = h[k], h[k] = t;
				if (m[j] < m[k])
					t = m[j], m[j] = m[k], m[k] = t;
			}
		hit = h[1];
		nohit = m[1];
	}
	printf("%ld %.4f %.1f %.1f %.1f %.0f %.0f\n", n, secs,
	       (double)((m1.uordblks + m1.hblkhd) - (m0.uordblks + m0.hblkhd)) /
		       (double)n,
	       (double)tlsp_policy_memory(p) / (double)n,
	       (double)(status_kb("VmHWM:") - rss0) * 1024.0 / (double)n, hit,
	       nohit);
	fflush(stdout);
	tlsp_policy_unref(p);
	free(buf);
	return 0;
}

/* ------------------------------------------------------- exceptions */

/* A policy of n exceptions, a quarter of each kind; exception i names
 * sender s<i>.example (even i: exact; odd: .s<i>.example, subdomains),
 * recipient r<i>.example, client 10.<i/256>.<i%256>.0/24, or IPv6
 * 2001:db8:<i/65536>:<i%65536>::/64. */
static char *
generate_exceptions(long n, size_t *len)
{
	char *buf = NULL;
	FILE *out = open_memstream(&buf, len);
	long i;

	if (out == NULL)
		return NULL;
	fprintf(out, "version: 1\ntimezone: Europe/Berlin\n"
		     "recipients:\n  default: {min_version: TLSv1.2}\n");
	fprintf(out, n ? "exceptions:\n" : "exceptions: []\n");
	for (i = 0; i < n; i++) {
		fprintf(out, "  - name: e%ld\n", i);
		switch (i % 4) {
		case 0:
			fprintf(out, "    sender: %ss%ld.example\n",
				(i / 4) % 2 ? "." : "", i);
			break;
		case 1:
			fprintf(out, "    recipient: r%ld.example\n", i);
			break;
		case 2:
			fprintf(out, "    client: 10.%ld.%ld.0/24\n",
				(i / 256) % 256, i % 256);
			break;
		default:
			fprintf(out, "    client: 2001:db8:%lx:%lx::/64\n",
				i >> 16, i & 0xffff);
			break;
		}
		fprintf(out, "    waive: [min_version]\n    reason: bench\n"
			     "    owner: bench@example.com\n"
			     "    expires: 2099-12-31\n");
	}
	if (fclose(out) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

struct env {
	char sender[64], rcpt[64], client[64];
	struct tlsp_facts f;
};

/* CPU seconds of this thread: a machine shared with other work steals
 * wall time, not this. */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define NENV (NQ / 16)
#define EX_ROUNDS 7

/* Checks that each envelope is what it stands for (waived or not). */
static int
env_check(const struct tlsp_policy *p, struct env *e, int want_waived)
{
	struct tlsp_verdict v;
	struct tlsp_macros m;
	long i;

	for (i = 0; i < NENV; i++) {
		memset(&m, 0, sizeof(m));
		m.mta_version = "Postfix 3.7.11";
		m.tls_version = "TLSv1";
		m.cipher = "AES128-SHA";
		m.cipher_bits = "128";
		m.client_addr = e[i].client;
		tlsp_facts_from_macros(&m, &e[i].f);
		tlsp_evaluate(p, &e[i].f, e[i].sender, e[i].rcpt, time(NULL),
			      &v);
		if (!!(v.flags & TLSP_V_WAIVED) != want_waived) {
			fprintf(stderr, "policybench: %s %s %s: waived %d\n",
				e[i].sender, e[i].rcpt, e[i].client,
				!!(v.flags & TLSP_V_WAIVED));
			return -1;
		}
	}
	return 0;
}

/* CPU nanoseconds per tlsp_evaluate() over the envelopes. */
static double
env_ns(const struct tlsp_policy *p, const struct env *e, long maxq)
{
	struct tlsp_verdict v;
	double t0 = cpu_now(), t;
	time_t now = time(NULL);
	unsigned sink = 0;
	long q = 0, i;

	do {
		for (i = 0; i < 1024 && q < maxq; i++, q++) {
			const struct env *x = &e[q % NENV];

			tlsp_evaluate(p, &x->f, x->sender, x->rcpt, now, &v);
			sink += (unsigned)v.action;
		}
		t = cpu_now() - t0;
	} while (q < maxq && t < LOOKUP_SECS / 4);
	if (sink == 0xffffffffu)
		fputc(' ', stderr);
	return t * 1e9 / (double)q;
}

static int
by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Envelopes that one of n exceptions waives (hit) and that none does. */
static void
make_envs(long n, struct env *hit, struct env *miss)
{
	uint64_t s = 88172645463325252ULL + (uint64_t)n;
	long i;

	for (i = 0; i < NENV; i++) {
		long r = n ? (long)(rnd(&s) % (uint64_t)n) : 0;
		struct env *e = &hit[i];

		snprintf(e->sender, sizeof(e->sender), "<a@x.example>");
		snprintf(e->rcpt, sizeof(e->rcpt), "<b@y.example>");
		snprintf(e->client, sizeof(e->client), "192.0.2.%ld", i % 250);
		switch (r % 4) {
		case 0:
			snprintf(e->sender, sizeof(e->sender),
				 "<a@%ss%ld.example>", (r / 4) % 2 ? "mx." : "",
				 r);
			break;
		case 1:
			snprintf(e->rcpt, sizeof(e->rcpt), "<b@r%ld.example>",
				 r);
			break;
		case 2:
			snprintf(e->client, sizeof(e->client), "10.%ld.%ld.9",
				 (r / 256) % 256, r % 256);
			break;
		default:
			snprintf(e->client, sizeof(e->client),
				 "2001:db8:%lx:%lx::9", r >> 16, r & 0xffff);
			break;
		}
		/* nothing matches: other names and networks, deep domains */
		snprintf(miss[i].sender, sizeof(miss[i].sender),
			 "<a@m.n.s%ld.example.net>", r);
		snprintf(miss[i].rcpt, sizeof(miss[i].rcpt),
			 "<b@a.b.r%ld.example.org>", r);
		snprintf(miss[i].client, sizeof(miss[i].client), "192.0.2.%ld",
			 i % 250);
	}
}

#define MAX_EXSIZES 8

/*
 * Every size's policy in this process, measured in interleaved rounds
 * (size after size, EX_ROUNDS times) in CPU time, so that what the
 * machine does meanwhile falls on every size alike; the medians are
 * printed. Size 0, the same rule without exceptions, is the baseline.
 */
static int
exception_sizes(char *sizes, long maxq)
{
	static struct env hit[MAX_EXSIZES][NENV], miss[MAX_EXSIZES][NENV];
	struct tlsp_policy *p[MAX_EXSIZES];
	double secs[MAX_EXSIZES], h[MAX_EXSIZES][EX_ROUNDS],
		m[MAX_EXSIZES][EX_ROUNDS];
	long n[MAX_EXSIZES];
	char *tok, *save = NULL, all[300];
	int k = 0, i, r;

	tlsp_cipher_init();
	snprintf(all, sizeof(all), "0,%s", sizes);
	for (tok = strtok_r(all, ",", &save); tok && k < MAX_EXSIZES;
	     tok = strtok_r(NULL, ",", &save), k++) {
		struct tlsp_diags d = {0};
		size_t len;
		char *buf;
		double t0;

		n[k] = atol(tok);
		if (n[k] < 0 || (buf = generate_exceptions(n[k], &len)) == NULL)
			return 64;
		t0 = cpu_now();
		p[k] = tlsp_policy_load_buffer("bench.yaml", buf, len,
					       TLSP_MTA_POSTFIX, &d);
		secs[k] = cpu_now() - t0;
		free(buf);
		if (p[k] == NULL && d.count > 0) {
			char line[1400];

			fprintf(stderr, "%s\n",
				tlsp_diag_format(&d.v[0], line, sizeof(line)));
		}
		tlsp_diags_free(&d);
		make_envs(n[k], hit[k], miss[k]);
		if (p[k] == NULL || (n[k] && env_check(p[k], hit[k], 1) < 0) ||
		    env_check(p[k], miss[k], 0) < 0) {
			fprintf(stderr, "policybench: %ld exceptions failed\n",
				n[k]);
			return 1;
		}
	}
	for (r = 0; r < EX_ROUNDS; r++)
		for (i = 0; i < k; i++) {
			h[i][r] = n[i] ? env_ns(p[i], hit[i], maxq / EX_ROUNDS)
				       : 0;
			m[i][r] = env_ns(p[i], miss[i], maxq / EX_ROUNDS);
		}
	printf("%-10s %10s %9s %7s %9s %7s %9s\n", "exceptions", "compile_s",
	       "hit_ns/q", "hit_x", "miss_ns/q", "miss_x", "miss/none");
	for (i = 0; i < k; i++) {
		qsort(h[i], EX_ROUNDS, sizeof(double), by_double);
		qsort(m[i], EX_ROUNDS, sizeof(double), by_double);
	}
	for (i = 0; i < k; i++) {
		double hm = h[i][EX_ROUNDS / 2], mm = m[i][EX_ROUNDS / 2];
		double h1 = k > 1 ? h[1][EX_ROUNDS / 2] : 0;
		double m1 = k > 1 ? m[1][EX_ROUNDS / 2] : 0;

		printf("%-10ld %10.3f %9.0f %7.2f %9.0f %7.2f %9.2f\n", n[i],
		       secs[i], hm, n[i] && h1 ? hm / h1 : 0, mm,
		       m1 ? mm / m1 : 0, mm / m[0][EX_ROUNDS / 2]);
		tlsp_policy_unref(p[i]);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char sizes[256] = "10,1000,100000,1000000", *tok, *save = NULL;
	char exsizes[256] = "";
	long maxq = 2000000;
	double base_hit = 0, base_miss = 0;
	int ch, fds[2], clients = 0;

	while ((ch = getopt(argc, argv, "cs:q:e:")) != -1) {
		switch (ch) {
		case 'e':
			snprintf(exsizes, sizeof(exsizes), "%s", optarg);
			break;
		case 'c':
			clients = 1;
			break;
		case 's':
			snprintf(sizes, sizeof(sizes), "%s", optarg);
			break;
		case 'q':
			maxq = atol(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: policybench [-c] [-s sizes] [-q "
				"queries] [-e exception sizes]\n");
			return 64;
		}
	}
	if (exsizes[0] != '\0')
		return exception_sizes(exsizes, maxq);
	printf("%-9s %10s %12s %14s %14s %9s %7s %9s %7s\n",
	       clients ? "networks" : "rules", "compile_s", "heap_B/rule",
	       "policy_B/rule", "peakRSS_B/rule", "hit_ns/q", "hit_x",
	       "miss_ns/q", "miss_x");
	for (tok = strtok_r(sizes, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		long n = atol(tok);
		char line[512];
		FILE *in;
		pid_t pid;
		int st;

		if (n < 1 || pipe(fds) < 0)
			return 64;
		fflush(stdout);
		if ((pid = fork()) == 0) {
			close(fds[0]);
			dup2(fds[1], 1);
			_exit(clients ? one_client_size(n, maxq)
				      : one_size(n, maxq));
		}
		close(fds[1]);
		in = fdopen(fds[0], "r");
		if (in && fgets(line, sizeof(line), in)) {
			long r;
			double secs, heap, pol, peak, hit, miss;

			if (sscanf(line, "%ld %lf %lf %lf %lf %lf %lf", &r,
				   &secs, &heap, &pol, &peak, &hit,
				   &miss) == 7) {
				if (base_hit == 0)
					base_hit = hit, base_miss = miss;
				printf("%-9ld %10.3f %12.0f %14.0f %14.0f %9.0f "
				       "%7.2f %9.0f %7.2f\n",
				       r, secs, heap, pol, peak, hit,
				       hit / base_hit, miss, miss / base_miss);
			}
		}
		if (in)
			fclose(in);
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "policybench: size %ld failed\n", n);
			return 1;
		}
	}
	return 0;
}
