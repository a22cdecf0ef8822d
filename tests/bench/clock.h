/*
 * clock.h - the monotonic clock, read the one way the benchmarks and the
 * milter-level tests read it: in seconds for measurements, in
 * milliseconds for deadlines. Header only (static inline), so that each
 * program keeps its own sources list.
 */
#ifndef TLSP_TESTS_BENCH_CLOCK_H
#define TLSP_TESTS_BENCH_CLOCK_H

#include <time.h>

/* Seconds since an arbitrary start, to the nanosecond. */
static inline double
tb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds since an arbitrary start. */
static inline long
tb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
