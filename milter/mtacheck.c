/*
 * mtacheck.c - what `-n --mta postfix` checks on the MTA's side for
 * `strip_forged_headers: mta`: that Postfix removes every incoming copy
 * of the tag header before the milter would have seen it.
 *
 * Postfix's cleanup applies header_checks to the headers it receives, not
 * to those a milter adds (milter_header_checks does that), so an IGNORE
 * rule for the tag header removes forged copies and spares ours. Postfix
 * answers each question itself: postconf for the settings, postmap -q for
 * the tables, so every table type is read as cleanup reads it (MAIL_CONFIG
 * in the environment picks another configuration directory, as for any
 * Postfix command). Sendmail has nothing that does this.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mtacheck.h"

#define OUT_MAX 8192

/*
 * Runs argv (searched in PATH) with stdin and stderr on /dev/null and
 * its stdout, cut at outsz - 1 bytes, in out. Returns its exit status,
 * or -1 when it could not run (127: not found).
 */
static int
run(char *const argv[], char *out, size_t outsz)
{
	int fd[2], status, devnull;
	size_t len = 0;
	ssize_t n;
	char sink[512];
	pid_t pid;

	out[0] = '\0';
	if (pipe(fd) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(fd[1], 1) < 0 ||
		    dup2(devnull, 2) < 0)
			_exit(126);
		close(fd[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	for (;;) {
		if (len + 1 < outsz)
			n = read(fd[0], out + len, outsz - 1 - len);
		else
			n = read(fd[0], sink, sizeof(sink)); /* drain */
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len + 1 < outsz)
			len += (size_t)n;
	}
	out[len] = '\0';
	close(fd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Cuts trailing white space (postconf's newline). */
static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/* `postconf -h NAME` into out; 0, or -1 (reported) when postconf fails. */
static int
postconf(const char *path, const char *name, char *out, size_t outsz)
{
	char arg[64], *argv[] = {"postconf", "-h", arg, NULL};
	int rc;

	snprintf(arg, sizeof(arg), "%s", name);
	rc = run(argv, out, outsz);

	if (rc != 0) {
		fprintf(stderr,
			"%s: warning: strip_forged_headers: mta: cannot run "
			"'postconf -h %s' (%s): Postfix's side is not "
			"checked\n",
			path, name,
			rc == 127 ? "not found"
				  : "failed; is MAIL_CONFIG right?");
		return -1;
	}
	chomp(out);
	return 0;
}

/* Services of master.cf that turn header_checks off or replace it. */
static int
check_overrides(const char *path)
{
	char *argv[] = {"postconf", "-P", NULL};
	char out[OUT_MAX], *line, *save = NULL;
	int errors = 0;

	if (run(argv, out, sizeof(out)) != 0)
		return 0; /* older postconf: main.cf is checked anyway */
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "/receive_override_options =") &&
		    strstr(line, "no_header_body_checks")) {
			fprintf(stderr,
				"%s: error: strip_forged_headers: mta: "
				"master.cf turns header_checks off: %s\n",
				path, line);
			errors++;
		} else if (strstr(line, "/header_checks =")) {
			fprintf(stderr,
				"%s: warning: strip_forged_headers: mta: "
				"master.cf replaces header_checks for a "
				"service (%s); only main.cf's is checked\n",
				path, line);
		}
	}
	return errors;
}

/*
 * What the first of the tables that knows `probe` answers, as cleanup
 * looks them up (first match wins), in answer; "" when none does.
 */
static void
lookup(const char *tables, char *probe, char *answer, size_t answersz)
{
	char copy[OUT_MAX], *t, *save = NULL;

	snprintf(copy, sizeof(copy), "%s", tables);
	answer[0] = '\0';
	for (t = strtok_r(copy, " ,\t\n", &save); t;
	     t = strtok_r(NULL, " ,\t\n", &save)) {
		char *argv[] = {"postmap", "-q", probe, t, NULL};

		if (run(argv, answer, answersz) == 0) {
			chomp(answer);
			return;
		}
		answer[0] = '\0';
	}
}

/* Whether a header_checks answer removes the header. */
static int
ignores(const char *answer)
{
	return strncasecmp(answer, "IGNORE", 6) == 0 &&
	       (answer[6] == '\0' || isspace((unsigned char)answer[6]));
}

/* Printable: a probe's line breaks shown as \n and \t. */
static const char *
shown(const char *probe, char *buf, size_t bufsz)
{
	size_t i, n = 0;

	for (i = 0; probe[i] && n + 3 < bufsz; i++) {
		if (probe[i] == '\n' || probe[i] == '\t') {
			buf[n++] = '\\';
			buf[n++] = probe[i] == '\n' ? 'n' : 't';
		} else {
			buf[n++] = probe[i];
		}
	}
	buf[n] = '\0';
	return buf;
}

static int
check_postfix(const char *path, const char *name)
{
	/* The copies a sender can forge: any case, folded, and with white
	 * space before the colon (which Postfix and the milter protocol
	 * still read as this header). */
	const char *forms[] = {": forged", ":forged; tls-policy=pass",
			       ": forged;\n\ttls-policy=pass", " : forged"};
	char tables[OUT_MAX], opts[OUT_MAX], probe[400], answer[1024], b[900];
	char low[200], up[200];
	const char *names[3];
	size_t i, j;
	int errors = 0;

	if (postconf(path, "receive_override_options", opts, sizeof(opts)) <
		    0 ||
	    postconf(path, "header_checks", tables, sizeof(tables)) < 0)
		return 0;
	if (strstr(opts, "no_header_body_checks")) {
		fprintf(stderr,
			"%s: error: strip_forged_headers: mta: "
			"receive_override_options = %s turns header_checks "
			"off\n",
			path, opts);
		errors++;
	}
	errors += check_overrides(path);
	if (tables[0] == '\0') {
		fprintf(stderr,
			"%s: error: strip_forged_headers: mta: Postfix's "
			"header_checks is empty: incoming %s headers would "
			"pass; add a table with /^%s[[:space:]]*:/ IGNORE\n",
			path, name, name);
		return errors + 1;
	}
	for (i = 0; name[i] && i + 1 < sizeof(low); i++) {
		low[i] = (char)tolower((unsigned char)name[i]);
		up[i] = (char)toupper((unsigned char)name[i]);
	}
	low[i] = up[i] = '\0';
	names[0] = name, names[1] = low, names[2] = up;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		for (j = 0; j < 3; j++) {
			snprintf(probe, sizeof(probe), "%s%s", names[j],
				 forms[i]);
			lookup(tables, probe, answer, sizeof(answer));
			if (ignores(answer))
				continue;
			fprintf(stderr,
				"%s: error: strip_forged_headers: mta: "
				"header_checks = %s does not IGNORE the "
				"header \"%s\" (%s%s); add "
				"/^%s[[:space:]]*:/ IGNORE (regexp tables "
				"ignore case)\n",
				path, tables, shown(probe, b, sizeof(b)),
				answer[0] ? "it answers " : "no table matches",
				answer, name);
			errors++;
			break; /* one error per form */
		}
	if (errors == 0)
		printf("%s: strip_forged_headers: mta: Postfix's header_checks "
		       "(%s) removes incoming %s headers\n",
		       path, tables, name);
	return errors;
}

int
tlspm_mtacheck_strip(const char *path, const struct tlsp_settings *st,
		     enum tlsp_mta mta)
{
	const char *name = st->tag_header ? st->tag_header : "X-TLS-Policy";

	if (st->strip_forged != TLSP_STRIP_MTA)
		return 0;
	switch (mta) {
	case TLSP_MTA_POSTFIX:
		return check_postfix(path, name);
	case TLSP_MTA_SENDMAIL:
		fprintf(stderr,
			"%s: error: strip_forged_headers: mta: Sendmail "
			"cannot remove incoming %s headers before the milter "
			"(it has no header filter like Postfix's "
			"header_checks): use auto or always\n",
			path, name);
		return 1;
	default:
		fprintf(stderr,
			"%s: warning: strip_forged_headers: mta: the MTA must "
			"remove incoming %s headers; -n --mta postfix checks "
			"Postfix's header_checks (Sendmail cannot do it)\n",
			path, name);
		return 0;
	}
}
