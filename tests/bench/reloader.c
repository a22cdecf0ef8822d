/*
 * reloader - reloads a running daemon COUNT times, one after the other,
 * for the reload sections of tests/bench/run.sh.
 *
 *   reloader [-t TARGET -g GOOD... [-b BAD...]] [-r EVERY] [-T SECS]
 *            PID LOGFILE COUNT
 *
 * Sends SIGUSR1 and waits for the daemon's next "reloaded policy" (or
 * "reload failed") line in LOGFILE, its stderr, before the next one; at
 * most 60 s each. It reads the log's new bytes every 5 ms and starts no
 * process: a shell loop of grep and sleep forks about 60 times a second,
 * and on the 2-core virtual machine of tests/bench/RESULTS.md that alone
 * raised the milter's p99 under load as much as the reloads did.
 *
 * With -t, each reload first puts a file in place at TARGET (the policy
 * path), atomically (a hard link renamed over it): the GOOD files in
 * turn, alternating with the BAD ones in turn when there are any (good,
 * bad, good, bad...); each good one must load and each bad one be
 * refused. -r prints "rss reload=N kib=K" (the daemon's VmRSS) after
 * every EVERY reloads; -T gives up after SECS seconds in all.
 *
 * Prints "reloads=N failed=F secs=S"; exits 0 when every reload ended as
 * its file says (without -t: all COUNT reloaded).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define POLL_NS 5000000L
#define WAIT_S 60

static const char *const ok_line = "reloaded policy";
static const char *const bad_line = "reload failed";

/* Counts the lines of the log's new bytes that say how a reload ended,
 * remembering a partial last line for the next call. */
struct tail {
	int fd;
	char line[4096];
	size_t len;
	unsigned ok, bad;
};

static int
tail_read(struct tail *t)
{
	char buf[65536];
	ssize_t n, i;

	while ((n = read(t->fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (t->len < sizeof(t->line) - 1)
					t->line[t->len++] = buf[i];
				continue;
			}
			t->line[t->len] = '\0';
			t->ok += strstr(t->line, ok_line) != NULL;
			t->bad += strstr(t->line, bad_line) != NULL;
			t->len = 0;
		}
	}
	return n < 0 ? -1 : 0;
}

#define MAX_FILES 16

struct plan {
	const char *target;
	const char *good[MAX_FILES], *bad[MAX_FILES];
	unsigned ngood, nbad;
	unsigned long rss_every;
	double max_secs; /* 0: no limit */
	unsigned long want_ok, want_bad;
};

/* Hard-links `file` next to the target and renames it over the target,
 * so the daemon never sees half a file. */
static int
install(const char *target, const char *file)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s.reloader", target);
	(void)unlink(tmp);
	if (link(file, tmp) < 0 || rename(tmp, target) < 0) {
		fprintf(stderr, "reloader: %s -> %s: %s\n", file, target,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Puts reload i's file in place, counting what it must give. */
static int
prepare(struct plan *pl, unsigned long i)
{
	unsigned long k = pl->nbad ? i / 2 : i;

	if (pl->target == NULL) {
		pl->want_ok++;
		return 0;
	}
	if (pl->nbad && i % 2 == 1) {
		pl->want_bad++;
		return install(pl->target, pl->bad[k % pl->nbad]);
	}
	pl->want_ok++;
	return install(pl->target, pl->good[k % pl->ngood]);
}

static long
rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int
options(int argc, char **argv, struct plan *pl)
{
	int ch;

	while ((ch = getopt(argc, argv, "t:g:b:r:T:")) != -1) {
		switch (ch) {
		case 't':
			pl->target = optarg;
			break;
		case 'g':
		case 'b':
			if ((ch == 'g' ? pl->ngood : pl->nbad) == MAX_FILES)
				return -1;
			if (ch == 'g')
				pl->good[pl->ngood++] = optarg;
			else
				pl->bad[pl->nbad++] = optarg;
			break;
		case 'r':
			pl->rss_every = strtoul(optarg, NULL, 10);
			break;
		case 'T':
			pl->max_secs = strtod(optarg, NULL);
			break;
		default:
			return -1;
		}
	}
	if ((pl->target != NULL) != (pl->ngood > 0) ||
	    (pl->nbad && !pl->ngood) || argc - optind != 3)
		return -1;
	return optind;
}

int
main(int argc, char **argv)
{
	struct timespec nap = {0, POLL_NS};
	struct tail t = {0};
	struct plan pl = {0};
	unsigned long count, i;
	double t0, deadline;
	pid_t pid;
	char *end;
	int at;

	if ((at = options(argc, argv, &pl)) < 0) {
		fprintf(stderr, "usage: reloader [-t TARGET -g GOOD... [-b "
				"BAD...]] [-r EVERY] [-T SECS] PID LOGFILE "
				"COUNT\n");
		return 2;
	}
	argv += at - 1;
	pid = (pid_t)strtol(argv[1], &end, 10);
	if (*end || pid <= 0) {
		fprintf(stderr, "reloader: bad pid '%s'\n", argv[1]);
		return 2;
	}
	count = strtoul(argv[3], &end, 10);
	if (*end || count == 0 || count > 100000) {
		fprintf(stderr, "reloader: bad count '%s'\n", argv[3]);
		return 2;
	}
	if ((t.fd = open(argv[2], O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "reloader: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	if (tail_read(&t) < 0) { /* what is there already does not count */
		fprintf(stderr, "reloader: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	t.ok = t.bad = 0;
	t0 = tb_now();
	for (i = 0; i < count; i++) {
		if (pl.max_secs > 0 && tb_now() - t0 > pl.max_secs) {
			fprintf(stderr,
				"reloader: gave up after %lu reloads: over "
				"%.0f s\n",
				i, pl.max_secs);
			break;
		}
		if (prepare(&pl, i) < 0)
			break;
		if (kill(pid, SIGUSR1) < 0) {
			fprintf(stderr, "reloader: kill %ld: %s\n", (long)pid,
				strerror(errno));
			break;
		}
		deadline = tb_now() + WAIT_S;
		while (t.ok + t.bad < i + 1 && tb_now() < deadline) {
			nanosleep(&nap, NULL);
			if (tail_read(&t) < 0) {
				fprintf(stderr, "reloader: %s: %s\n", argv[2],
					strerror(errno));
				return 1;
			}
		}
		if (t.ok + t.bad < i + 1) {
			fprintf(stderr,
				"reloader: reload %lu did not end in %d s\n",
				i + 1, WAIT_S);
			break;
		}
		if (pl.rss_every && (i + 1) % pl.rss_every == 0)
			printf("rss reload=%lu kib=%ld\n", i + 1, rss_kib(pid));
	}
	printf("reloads=%u failed=%u secs=%.3f\n", t.ok, t.bad, tb_now() - t0);
	return t.ok == pl.want_ok && t.bad == pl.want_bad &&
			       t.ok + t.bad == count
		       ? 0
		       : 1;
}
