/*
 * reloader - reloads a running daemon COUNT times, one after the other,
 * for the reload section of tests/bench/run.sh.
 *
 *   reloader PID LOGFILE COUNT
 *
 * Sends SIGUSR1 and waits for the daemon's next "reloaded policy" (or
 * "reload failed") line in LOGFILE, its stderr, before the next one; at
 * most 60 s each. It reads the log's new bytes every 5 ms and starts no
 * process: a shell loop of grep and sleep forks about 60 times a second,
 * and on the 2-core virtual machine of tests/bench/RESULTS.md that alone
 * raised the milter's p99 under load as much as the reloads did.
 *
 * Prints "reloads=N failed=F secs=S"; exits 0 when all COUNT reloaded.
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

int
main(int argc, char **argv)
{
	struct timespec nap = {0, POLL_NS};
	struct tail t = {0};
	unsigned long count, i;
	double t0, deadline;
	pid_t pid;
	char *end;

	if (argc != 4) {
		fprintf(stderr, "usage: reloader PID LOGFILE COUNT\n");
		return 2;
	}
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
	}
	printf("reloads=%u failed=%u secs=%.3f\n", t.ok, t.bad, tb_now() - t0);
	return t.ok == count && t.bad == 0 ? 0 : 1;
}
