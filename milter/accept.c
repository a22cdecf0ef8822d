/*
 * accept.c - no busy loop at the descriptor limit.
 *
 * libmilter's listener polls its socket and calls accept(); on EMFILE or
 * ENFILE it tries again at once, and since the connection it could not
 * take is still queued the socket stays readable: the daemon would spin
 * on one core until descriptors are free again. This accept(), which
 * libmilter's call resolves to (the executable's symbols come first),
 * keeps one descriptor in reserve: at the limit it gives up the spare,
 * takes the waiting connection and closes it at once (the MTA sees the
 * milter unavailable and applies its default action, a temporary
 * failure by our instructions), then takes the spare back. Each failed
 * accept() thus sheds one connection instead of spinning; when no spare
 * can be had, it sleeps 50 ms. Said at err, at most once an hour.
 *
 * Each connection taken is handed to frame.c, which follows its packets
 * from then on; one it cannot follow is closed unserved.
 *
 * Only tlspolicy-milter links this file; accept4() is the C library's,
 * so there is no dlsym().
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "accept.h"
#include "frame.h"
#include "log.h"
#include "state.h"

static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static int spare = -1;
static _Atomic(unsigned long) shed;
static _Atomic(long) warned_untracked;

void
tlspm_accept_reserve(void)
{
	pthread_mutex_lock(&spare_lock);
	if (spare < 0)
		spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pthread_mutex_unlock(&spare_lock);
}

unsigned long
tlspm_accept_shed(void)
{
	return atomic_load(&shed);
}

/* At the limit: take one waiting connection with the spare descriptor
 * and close it. 1 if one was shed. */
static int
shed_one(int fd)
{
	int c = -1;

	pthread_mutex_lock(&spare_lock);
	if (spare >= 0) {
		close(spare);
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			close(c);
		spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	pthread_mutex_unlock(&spare_lock);
	return c >= 0;
}

/* c for libmilter once frame.c follows it; else closed unserved, and
 * ECONNABORTED, on which libmilter's listener takes the next one. */
static int
tracked(int c)
{
	if (tlspm_frame_track(c) == 0)
		return c;
	close(c);
	if (tlspm_log_rate_ok(&warned_untracked))
		tlspm_log(LOG_ERR,
			  "connection on descriptor %d closed "
			  "unserved: the packet guard cannot follow it",
			  c);
	errno = ECONNABORTED;
	return -1;
}

int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	static const struct timespec pause = {0, 50000000L};
	int c = accept4(fd, sa, len, 0), e;

	if (c >= 0)
		return tracked(c);
	if (errno != EMFILE && errno != ENFILE)
		return c;
	e = errno;
	if (shed_one(fd)) {
		unsigned long n = atomic_fetch_add(&shed, 1) + 1;

		if (tlspm_log_rate_ok(&tlspm.warned_fds))
			tlspm_log(LOG_ERR,
				  "out of file descriptors: closing "
				  "new MTA connections at once (%lu so far); "
				  "raise RLIMIT_NOFILE (LimitNOFILE= in the "
				  "systemd unit)",
				  n);
	} else {
		nanosleep(&pause, NULL);
	}
	errno = e;
	return -1;
}
