/*
 * test_concurrency.c - many threads evaluating while policies are swapped.
 *
 * The daemon publishes one reference-counted policy; connections pin it
 * and evaluate while a reload thread replaces it. This test does the same
 * with two policies that give different verdicts, so a thread that ever
 * saw a half-swapped or freed policy would get the wrong verdict (or
 * ThreadSanitizer/ASan would report it). Loops are bounded in count.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tlspolicy/policy.h"

#define THREADS 4
#define SWAPS 200
#define MAX_EVALS 50000

static const char *const yaml[2] = {
	"version: 1\nrecipients:\n  example.com: {min_version: TLSv1.3, "
	"action: reject}\n  default: {tls: optional}\n",
	"version: 1\nrecipients:\n  example.com: {min_version: TLSv1.2, "
	"action: defer}\n  .example.com: {tls: required}\n  default: {}\n",
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tlsp_policy *current;
static int done;

static struct tlsp_policy *
pin(void)
{
	struct tlsp_policy *p;

	pthread_mutex_lock(&lock);
	p = tlsp_policy_ref(current);
	pthread_mutex_unlock(&lock);
	return p;
}

struct worker {
	unsigned long evals, wrong;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct tlsp_macros m = {.tls_version = "TLSv1.2",
				.cipher = "ECDHE-RSA-AES128-GCM-SHA256",
				.mta = TLSP_MTA_POSTFIX};
	struct tlsp_facts f;
	struct tlsp_verdict v;
	int stop = 0;

	tlsp_facts_from_macros(&m, &f);
	while (!stop && w->evals < MAX_EVALS) {
		struct tlsp_policy *p = pin();
		/* TLSv1.2: policy 0 rejects (needs 1.3), policy 1 passes. */
		int is_first = tlsp_policy_rule_count(p) == 2;

		tlsp_evaluate(p, &f, "s@sender.example", "r@example.com",
			      time(NULL), &v);
		if (v.action !=
		    (is_first ? TLSP_ACTION_REJECT : TLSP_ACTION_ACCEPT))
			w->wrong++;
		tlsp_policy_unref(p);
		w->evals++;
		pthread_mutex_lock(&lock);
		stop = done;
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static struct tlsp_policy *
load(int which)
{
	struct tlsp_diags d = {0};
	struct tlsp_policy *p = tlsp_policy_load_buffer("t.yaml", yaml[which],
							strlen(yaml[which]),
							TLSP_MTA_UNKNOWN, &d);

	tlsp_diags_free(&d);
	return p;
}

static void
test_swap_under_load(void **state)
{
	pthread_t t[THREADS];
	struct worker w[THREADS];
	unsigned long total = 0;
	int i;

	(void)state;
	current = load(0);
	assert_non_null(current);
	memset(w, 0, sizeof(w));
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	for (i = 1; i <= SWAPS; i++) {
		/* Parse outside the lock, swap inside, release outside. */
		struct tlsp_policy *next = load(i % 2), *old;

		assert_non_null(next);
		pthread_mutex_lock(&lock);
		old = current;
		current = next;
		pthread_mutex_unlock(&lock);
		tlsp_policy_unref(old);
	}
	pthread_mutex_lock(&lock);
	done = 1;
	pthread_mutex_unlock(&lock);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].wrong, 0);
		total += w[i].evals;
	}
	print_message("%lu evaluations across %d swaps\n", total, SWAPS);
	assert_true(total > 0);
	tlsp_policy_unref(current);
}

/* The cipher table is built on first use, possibly by several threads. */
static void *
classify(void *arg)
{
	struct tlsp_cipher_info *ci = arg;

	tlsp_cipher_classify("ECDHE-RSA-AES256-GCM-SHA384", ci);
	return NULL;
}

static void
test_cipher_table_first_use(void **state)
{
	pthread_t t[THREADS];
	struct tlsp_cipher_info ci[THREADS];
	int i;

	(void)state;
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, classify, &ci[i]),
				 0);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(ci[i].bits, 256);
		assert_int_equal(ci[i].forward_secrecy, 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cipher_table_first_use),
		cmocka_unit_test(test_swap_under_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
