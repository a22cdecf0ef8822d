/*
 * tool.c - tlspolicy-audit: main(), its usage and its warnings.
 *
 * The tool reads audit logs that a hostile party may have written into
 * (an address or a certificate name is whatever the client sent), so
 * everything it prints for a person is made safe (text.c), and
 * everything it reads goes through the bounded reader and parser of
 * reader.c and jsonread.c. Warnings say where (FILE:LINE) and are
 * capped, so a log of garbage cannot flood the terminal. Each command
 * lives in a file of its own; times are in time.c, the record scanner
 * of report and show in scan.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

#define WARN_MAX TLSPA_TOOL_SAY_MAX

int tlspa_tool_quiet;
static unsigned long long warnings, breaks;

/* ============================================================== usage */

static const struct {
	const char *name;
	const char *usage;
	int (*run)(int, char **);
} commands[] = {
	{"verify",
	 "verify [-q] [--key FILE] [--anchor SEQ:HASH]... [--allow-empty]\n"
	 "\t\t[--ignore-breaks] FILE...\n"
	 "       verify [OPTIONS] --host NAME [--key FILE] [--anchor A]... "
	 "FILE...\n"
	 "\t\t[--host NAME ...]...",
	 tlspa_verify_main},
	{"report",
	 "report [--since T] [--until T] [--tz ZONE] [--domain D]...\n"
	 "\t\t[--rule R]... [--format text|csv|json|tlsrpt] [--top N]\n"
	 "\t\t[--format html -o OUT] [--key FILE] [--anchor SEQ:HASH]...\n"
	 "\t\t[--allow-empty] [--ignore-breaks] FILE...\n"
	 "       report [OPTIONS] --host NAME [--key FILE] [--anchor A]... "
	 "FILE...\n"
	 "\t\t[--host NAME ...]...",
	 tlspa_report_main},
	{"show",
	 "show [--queue-id ID] [--txid ID] [--domain D] [--sender S]\n"
	 "\t\t[--recipient R] [--action A] [--type T] [--since T]\n"
	 "\t\t[--until T] [--tz ZONE] [--json] [--key FILE] [--allow-empty]\n"
	 "\t\t[--ignore-breaks] FILE...",
	 tlspa_show_main},
	{"replay",
	 "replay --policy DRAFT [--as-enforced] [--fail-on ACTION,...]\n"
	 "\t\t[--since T] [--until T] [--tz ZONE] [--domain D]...\n"
	 "\t\t[--format text|csv|json] [--top N] [--key FILE]\n"
	 "\t\t[--allow-empty] [--ignore-breaks] FILE...",
	 tlspa_replay_main},
	{"suggest",
	 "suggest [--min-messages N] [--min-days N] [--since T] [--until T]\n"
	 "\t\t[--tz ZONE] [--domain D]... [--key FILE] [--allow-empty]\n"
	 "\t\t[--ignore-breaks] FILE...",
	 tlspa_suggest_main},
	{"inventory",
	 "inventory [--since T] [--until T] [--tz ZONE] [--domain D]...\n"
	 "\t\t[--format text|csv|json] [--top N] [--key FILE]\n"
	 "\t\t[--allow-empty] [--ignore-breaks] FILE...",
	 tlspa_inventory_main},
	{"redact",
	 "redact --value STRING [--key-name sender|addr|name|helo]\n"
	 "\t\t[--key FILE] [--allow-empty] [--ignore-breaks] FILE",
	 tlspa_redact_main},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

int
tlspa_tool_usage(const char *command)
{
	size_t i;
	int first = 1;

	for (i = 0; i < NCOMMANDS; i++) {
		if (command != NULL && strcmp(command, commands[i].name) != 0)
			continue;
		fprintf(stderr, "%s tlspolicy-audit %s\n",
			first ? "usage:" : "      ", commands[i].usage);
		first = 0;
	}
	if (command == NULL)
		fprintf(stderr,
			"       tlspolicy-audit -h | -V\n"
			"FILE may be - (standard input) or gzip-compressed; "
			"see tlspolicy-audit(1).\n");
	return TLSPA_EX_ERROR;
}

/* =========================================================== warnings */

void
tlspa_tool_warn(const char *path, unsigned long long lineno, const char *fmt,
		...)
{
	va_list ap;

	if (tlspa_tool_quiet || ++warnings > WARN_MAX)
		return;
	if (path != NULL && lineno > 0)
		fprintf(stderr, "%s:%llu: warning: ", path, lineno);
	else if (path != NULL)
		fprintf(stderr, "%s: warning: ", path);
	else
		fprintf(stderr, "warning: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
tlspa_tool_warn_summary(void)
{
	if (!tlspa_tool_quiet && warnings > WARN_MAX)
		fprintf(stderr, "(%llu more warnings not shown)\n",
			warnings - WARN_MAX);
	if (breaks > WARN_MAX)
		fprintf(stderr, "(%llu more breaks not shown)\n",
			breaks - WARN_MAX);
}

void
tlspa_tool_break(const char *path, unsigned long long lineno, const char *fmt,
		 ...)
{
	va_list ap;

	if (++breaks > WARN_MAX)
		return;
	fprintf(stderr, "%s:%llu: ", path, lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
tlspa_tool_key(struct tlsp_chain_key *key, const char *path)
{
	char err[512];

	tlsp_chain_key_free(key);
	if (tlsp_chain_key_load(path, key, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "tlspolicy-audit: --key %s\n", err);
	return -1;
}

void
tlspa_tool_say(void *arg, enum tlspa_follow_kind kind, const char *path,
	       unsigned long long lineno, const char *text)
{
	(void)arg;
	if (kind == TLSPA_FOLLOW_BREAK)
		tlspa_tool_break(path, lineno, "%s", text);
	else if (kind == TLSPA_FOLLOW_WARN)
		tlspa_tool_warn(path, lineno, "%s", text);
	else if (!tlspa_tool_quiet)
		fprintf(stderr, "%s:%llu: note: %s\n", path, lineno, text);
}

void
tlspa_tool_unsaid(enum tlspa_follow_kind kind, unsigned long long n)
{
	if (kind == TLSPA_FOLLOW_BREAK)
		breaks += n;
	else if (kind == TLSPA_FOLLOW_WARN && !tlspa_tool_quiet)
		warnings += n;
}

/* =============================================================== main */

int
main(int argc, char **argv)
{
	size_t i;
	int rc;

	if (argc < 2)
		return tlspa_tool_usage(NULL);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		tlspa_tool_usage(NULL);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("tlspolicy-audit %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		rc = commands[i].run(argc - 1, argv + 1);
		tlspa_tool_warn_summary();
		if (fflush(stdout) == EOF || ferror(stdout)) {
			fprintf(stderr,
				"tlspolicy-audit: standard output: %s\n",
				strerror(errno));
			return rc != 0 ? rc : TLSPA_EX_ERROR;
		}
		return rc;
	}
	fprintf(stderr, "tlspolicy-audit: unknown command '%s'\n", argv[1]);
	return tlspa_tool_usage(NULL);
}
