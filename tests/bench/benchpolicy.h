/*
 * benchpolicy.h - the policy the load benchmark runs against: `mtbench
 * -P N` prints it for the daemon, mtbench draws its recipients knowing
 * what each rule answers, and policybench compiles the same policy in
 * memory. One description, so the three cannot drift apart. Header only
 * (static inline), for the two benchmark programs.
 *
 * Recipient rule i has kind i % 20. KIND_SUB is a subdomain rule
 * (".rI.example", recipients at mx.rI.example); the rest are exact.
 */
#ifndef TLSP_TESTS_BENCH_BENCHPOLICY_H
#define TLSP_TESTS_BENCH_BENCHPOLICY_H

#include <stdio.h>

enum kind {
	KIND_REJECT,	 /* min TLSv1.2, reject */
	KIND_DEFER,	 /* min TLSv1.2, defer */
	KIND_TAG,	 /* min TLSv1.3, tag */
	KIND_QUARANTINE, /* min TLSv1.3, quarantine */
	KIND_MONITOR,	 /* profile modern, monitor: never refuses */
	KIND_MODERN,	 /* profile modern, reject */
	KIND_SUB,	 /* subdomain rule, min TLSv1.2, reject */
	KIND_OPTIONAL,	 /* kinds 7..19: tls optional */
	KIND_DEFAULT = 100,
};
#define NKINDS 20

/* The kind of recipient rule i; KIND_DEFAULT for i < 0 (no rule). */
static inline enum kind
kind_of(long i)
{
	return i < 0			    ? KIND_DEFAULT
	       : i % NKINDS < KIND_OPTIONAL ? (enum kind)(i % NKINDS)
					    : KIND_OPTIONAL;
}

/* Writes the policy with n recipient rules (r0.example ...) to out. */
static inline void
bench_policy_write(FILE *out, long n)
{
	static const char *const spec[KIND_OPTIONAL + 1] = {
		"{min_version: TLSv1.2, action: reject}",
		"{min_version: TLSv1.2, action: defer}",
		"{min_version: TLSv1.3, action: tag}",
		"{min_version: TLSv1.3, action: quarantine}",
		"{profile: modern, mode: monitor}",
		"modern",
		"{min_version: TLSv1.2, action: reject}",
		"{tls: optional}",
	};
	long i;

	fputs("version: 1\n"
	      "profiles:\n"
	      "  modern: {min_version: TLSv1.2, forward_secrecy: true, "
	      "action: reject}\n"
	      "recipients:\n",
	      out);
	for (i = 0; i < n; i++) {
		enum kind k = kind_of(i);

		fprintf(out, "  %sr%ld.example: %s\n", k == KIND_SUB ? "." : "",
			i, spec[k]);
	}
	fputs("  default: {tls: optional}\n"
	      "senders:\n"
	      "  partner.example: {min_version: TLSv1.2, action: reject}\n",
	      out);
}

#endif
