/*
 * fixture.c - the set-up, transactions and final checks the milter-level
 * daemon tests share (see fixture.h).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

int
fx_setup(void **state, size_t size, const char *sync, int with_key)
{
	struct hn_daemon *d;

	/* the fixture begins with its daemon: C lets us point at either */
	if (size < sizeof(*d) || (d = calloc(1, size)) == NULL)
		return -1;
	*state = d;
	return hn_init(d, sync, with_key);
}

void
fx_cleanup(struct hn_daemon *d, struct hn_mta *m)
{
	if (m != NULL)
		hn_mta_close(m);
	hn_cleanup(d);
}

size_t
fx_tx(const struct hn_daemon *d, struct hn_mta *m, const char *prefix,
      unsigned *tx, struct hn_decision out[2])
{
	char qid[32];
	size_t n;

	if (m->c == NULL && hn_mta_open(m, d->spec, 10000) < 0)
		fail_msg("%s", m->err);
	snprintf(qid, sizeof(qid), "%.20s%05u", prefix, *tx);
	if (hn_mta_tx(m, qid, (*tx)++ % 2, out, &n) < 0)
		fail_msg("%s", m->err);
	return n;
}

void
fx_tx_decided(const struct hn_daemon *d, struct hn_mta *m, const char *prefix,
	      unsigned *tx, int count)
{
	struct hn_decision told[2];
	size_t n, i;

	while (count-- > 0) {
		n = fx_tx(d, m, prefix, tx, told);
		assert_int_equal(n, 2);
		for (i = 0; i < n; i++)
			if (told[i].on_error)
				fail_msg("%s: on_error (%s)", told[i].key,
					 told[i].reply);
	}
}

void
fx_stop(struct hn_daemon *d, struct hn_mta *m)
{
	if (m != NULL)
		hn_mta_close(m);
	assert_int_equal(hn_stop(d), 0);
}

void
fx_assert_log(struct al_log *log, const char *const *files, size_t nfiles,
	      const char *keyfile)
{
	if (al_load(log, files, nfiles, keyfile) < 0)
		fail_msg("audit chain broken: %s", log->err);
	if (log->torn != 0)
		fail_msg("%zu torn line(s) in the audit log", log->torn);
	assert_true(log->n > 0);
	assert_string_equal(log->v[log->n - 1].type, "stop");
	if (hn_tool_verify(files, nfiles, keyfile) == 0)
		fail_msg("tlspolicy-audit verify failed on the log");
}

/* Copies a file to stderr (what a program said before it failed). */
static void
show_file(const char *path)
{
	char buf[4096];
	size_t n;
	FILE *in = fopen(path, "re");

	if (in == NULL)
		return;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(in);
}

char *
fx_run(const char *out, const char *err, const char *prog, const char *in,
       const char *const *args, int want)
{
	char *argv[24], *buf;
	long deadline = hn_now_ms() + 60000;
	size_t n = 0, len;
	int status, fd;
	struct stat st;
	pid_t pid;
	FILE *o;

	fflush(NULL);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		/* copies: exec wants them writable; never freed */
		if ((argv[n++] = strdup(prog)) == NULL)
			_exit(126);
		for (; *args != NULL && n + 1 < sizeof(argv) / sizeof(*argv);
		     args++)
			if ((argv[n++] = strdup(*args)) == NULL)
				_exit(126);
		argv[n] = NULL;
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(126);
		fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(126);
		if (in != NULL &&
		    ((fd = open(in, O_RDONLY)) < 0 || dup2(fd, 0) < 0))
			_exit(126);
		execv(hn_build_path(prog), argv);
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (hn_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("%s %s: no answer in 60 s", prog,
				 args[0] ? args[0] : "");
		}
		usleep(10000);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != want) {
		show_file(err);
		fail_msg("%s %s: exit status 0x%x, not %d", prog,
			 args[0] ? args[0] : "", status, want);
	}
	assert_non_null(o = fopen(out, "re"));
	assert_int_equal(fstat(fileno(o), &st), 0);
	len = (size_t)st.st_size;
	assert_non_null(buf = malloc(len + 1));
	assert_int_equal(fread(buf, 1, len, o), len);
	buf[len] = '\0';
	fclose(o);
	return buf;
}
