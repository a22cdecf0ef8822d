/*
 * heapstat.so - an instrument for the reloadmem benchmark section
 * (tests/bench/reloadmem.sh), LD_PRELOADed into tlspolicy-milter; never
 * part of the daemon.
 *
 * RSS says little about a leak under load: malloc keeps what sessions
 * freed in its arenas, and how much depends on how busy the host was (one
 * run moved between 15 and 34 MiB with no reload at all). This reports
 * what the heap holds. A thread of its own, every 50 ms, looks for the
 * file $TLSP_HEAPSTAT.go; when it is there it calls malloc_trim(0) (free
 * pages go back to the kernel), then writes
 *
 *   inuse=BYTES rss_kib=KIB
 *
 * (bytes allocated and not freed, from mallinfo2(), mmapped blocks
 * included; the process's VmRSS after the trim) to $TLSP_HEAPSTAT and
 * removes the .go file. The thread blocks every signal, so the daemon's
 * sigwait() threads still get theirs.
 */
#define _GNU_SOURCE /* mallinfo2, pthread_sigmask, nanosleep under -std=c11 */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char out[4096], go[4200], tmp[4200];

static long
rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void
report(void)
{
	struct mallinfo2 m;
	FILE *f;

	malloc_trim(0);
	m = mallinfo2();
	if ((f = fopen(tmp, "we")) == NULL)
		return;
	fprintf(f, "inuse=%zu rss_kib=%ld\n", m.uordblks + m.hblkhd, rss_kib());
	if (fclose(f) == 0)
		rename(tmp, out);
}

static void *
loop(void *arg)
{
	struct timespec nap = {0, 50000000L};

	(void)arg;
	for (;;) {
		nanosleep(&nap, NULL);
		if (access(go, F_OK) == 0) {
			report();
			unlink(go);
		}
	}
	return NULL;
}

__attribute__((constructor)) static void
heapstat_start(void)
{
	const char *path = getenv("TLSP_HEAPSTAT");
	sigset_t all, old;
	pthread_t t;

	if (path == NULL || strlen(path) >= sizeof(out))
		return;
	snprintf(out, sizeof(out), "%s", path);
	snprintf(go, sizeof(go), "%s.go", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, NULL, loop, NULL) == 0)
		pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
