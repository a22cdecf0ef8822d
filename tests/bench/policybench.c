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
 * Every loop is bounded: each lookup measurement runs for at most
 * LOOKUP_SECS.
 *
 *   policybench [-s size,size,...] [-q queries]
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

int
main(int argc, char **argv)
{
	char sizes[256] = "10,1000,100000,1000000", *tok, *save = NULL;
	long maxq = 2000000;
	double base_hit = 0, base_miss = 0;
	int ch, fds[2];

	while ((ch = getopt(argc, argv, "s:q:")) != -1) {
		switch (ch) {
		case 's':
			snprintf(sizes, sizeof(sizes), "%s", optarg);
			break;
		case 'q':
			maxq = atol(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: policybench [-s sizes] [-q queries]\n");
			return 64;
		}
	}
	printf("%-9s %10s %12s %14s %14s %9s %7s %9s %7s\n", "rules",
	       "compile_s", "heap_B/rule", "policy_B/rule", "peakRSS_B/rule",
	       "hit_ns/q", "hit_x", "miss_ns/q", "miss_x");
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
			_exit(one_size(n, maxq));
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
