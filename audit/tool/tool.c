/*
 * tool.c - tlspolicy-audit: main(), and what its commands share.
 *
 * The tool reads audit logs that a hostile party may have written into
 * (an address or a certificate name is whatever the client sent), so
 * everything it prints for a person goes through tlspa_put_safe, and
 * everything it reads goes through the bounded reader and parser of
 * reader.c. Warnings say where (FILE:LINE) and are capped, so a log of
 * garbage cannot flood the terminal. Times are milliseconds since the
 * epoch; day boundaries and dates given without a zone use the zone of
 * --tz through TZ, mktime and localtime_r.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tlspolicy/policy.h"
#include "tool.h"

#define WARN_MAX 100

int tlspa_quiet;
static unsigned long long warnings;

/* ============================================================== usage */

static const struct {
	const char *name;
	const char *usage;
	int (*run)(int, char **);
} commands[] = {
	{"verify", "verify [-q] [--key FILE] [--anchor SEQ:HASH]... FILE...",
	 tlspa_verify_main},
	{"report", "report [--since T] [--until T] [--tz ZONE] [--domain D]...\n"
		   "\t\t[--rule R]... [--format text|csv|json|tlsrpt] [--top N] "
		   "FILE...",
	 tlspa_report_main},
	{"show", "show [--queue-id ID] [--txid ID] [--domain D] [--sender S]\n"
		 "\t\t[--recipient R] [--action A] [--type T] [--since T]\n"
		 "\t\t[--until T] [--tz ZONE] [--json] FILE...",
	 tlspa_show_main},
	{"redact", "redact --value STRING [--key-name sender|addr|name|helo]\n"
		   "\t\t[--key FILE] FILE",
	 tlspa_redact_main},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

int
tlspa_usage(const char *command)
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
		fprintf(stderr, "       tlspolicy-audit -h | -V\n"
			"FILE may be - (standard input) or gzip-compressed; "
			"see tlspolicy-audit(1).\n");
	return TLSPA_EX_ERROR;
}

/* =========================================================== warnings */

void
tlspa_warn(const char *path, unsigned long long lineno, const char *fmt, ...)
{
	va_list ap;

	if (tlspa_quiet || ++warnings > WARN_MAX)
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
tlspa_warn_summary(void)
{
	if (!tlspa_quiet && warnings > WARN_MAX)
		fprintf(stderr, "(%llu more warnings not shown)\n",
			warnings - WARN_MAX);
}

/* =============================================================== time */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* n decimal digits at s into *v; -1 unless all are digits. */
static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

static int
zone_exists(const char *zone)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX];
	struct stat st;

	if (zone[0] == ':')
		zone++;
	if (zone[0] == '/')
		return stat(zone, &st) == 0;
	if (strstr(zone, "..") != NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/usr/share/zoneinfo",
		 zone);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int
tlspa_tz_set(const char *zone)
{
	if (zone == NULL || strcmp(zone, "UTC") == 0 || strcmp(zone, "Z") == 0)
		zone = "UTC0";
	else if (!zone_exists(zone) && strpbrk(zone, "0123456789") == NULL)
		return -1; /* glibc would take an unknown name for UTC */
	if (setenv("TZ", zone, 1) < 0)
		return -1;
	tzset();
	return 0;
}

/* A local time (fields as for mktime) in the zone set, into *ms. */
static int
local_ms(int y, int mo, int d, int h, int mi, int s, int64_t *ms)
{
	struct tm tm = {0};
	time_t t;

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	errno = 0;
	if ((t = mktime(&tm)) == (time_t)-1 && errno != 0)
		return -1;
	*ms = (int64_t)t * 1000;
	return 0;
}

struct tparts {
	int y, mo, d, h, mi, s, frac_ms;
	int has_time, has_zone, off_min;
};

/* Splits "YYYY-MM-DD[THH:MM:SS[.frac][Z|+hh:mm]]". 0, or -1. */
static int
time_split(const char *s, size_t len, struct tparts *t)
{
	size_t i = 19;
	int oh, om, k;

	memset(t, 0, sizeof(*t));
	if (len < 10 || digits(s, 4, &t->y) || s[4] != '-' ||
	    digits(s + 5, 2, &t->mo) || s[7] != '-' || digits(s + 8, 2, &t->d))
		return -1;
	if (t->mo < 1 || t->mo > 12 || t->d < 1 || t->d > 31)
		return -1;
	if (len == 10)
		return 0;
	if (len < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s + 11, 2, &t->h) || s[13] != ':' ||
	    digits(s + 14, 2, &t->mi) || s[16] != ':' ||
	    digits(s + 17, 2, &t->s) || t->h > 23 || t->mi > 59 || t->s > 60)
		return -1;
	t->has_time = 1;
	if (i < len && s[i] == '.') {
		for (k = 0, i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, k++)
			if (k < 3)
				t->frac_ms = t->frac_ms * 10 + (s[i] - '0');
		if (k == 0)
			return -1;
		for (; k < 3; k++)
			t->frac_ms *= 10;
	}
	if (i == len)
		return 0;
	t->has_zone = 1;
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len)
		return 0;
	if ((s[i] != '+' && s[i] != '-') || len - i != 6 ||
	    digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
	    digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
		return -1;
	t->off_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
	return 0;
}

static int64_t
utc_ms(const struct tparts *t)
{
	int64_t days = days_from_civil(t->y, (unsigned)t->mo, (unsigned)t->d);

	return ((days * 86400 + t->h * 3600 + t->mi * 60 + t->s) -
		(int64_t)t->off_min * 60) * 1000 + t->frac_ms;
}

int
tlspa_time_rfc3339(const char *s, size_t len, int64_t *ms)
{
	struct tparts t;

	if (time_split(s, len, &t) < 0 || !t.has_time || !t.has_zone)
		return -1;
	*ms = utc_ms(&t);
	return 0;
}

int
tlspa_time_arg(const char *s, int is_until, int64_t *ms)
{
	struct tparts t;

	if (time_split(s, strlen(s), &t) < 0)
		return -1;
	if (t.has_zone) {
		*ms = utc_ms(&t);
		return 0;
	}
	if (!t.has_time && is_until)
		t.d++; /* mktime normalises the 32nd */
	if (local_ms(t.y, t.mo, t.d, t.h, t.mi, t.s, ms) < 0)
		return -1;
	*ms += t.frac_ms;
	return 0;
}

void
tlspa_time_format(int64_t ms, char buf[32])
{
	time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "?");
}

void
tlspa_time_day(int64_t ms, char day[16], int64_t *start, int64_t *end)
{
	time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL) {
		snprintf(day, 16, "?");
		*start = *end = ms;
		return;
	}
	if (strftime(day, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(day, 16, "?");
	if (local_ms(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, 0, 0, 0,
		     start) < 0 ||
	    local_ms(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday + 1, 0, 0, 0,
		     end) < 0)
		*start = *end = ms;
}

/* ================================================= addresses, text */

size_t
tlspa_domain(const char *addr, size_t len, char *out, size_t outsz)
{
	const char *at = NULL;
	size_t i, n;

	out[0] = '\0';
	for (i = 0; i < len; i++)
		if (addr[i] == '@')
			at = addr + i;
	if (at == NULL || outsz == 0)
		return 0;
	n = len - (size_t)(at + 1 - addr);
	if (n > 0 && at[n] == '>')
		n--;
	if (n > 0 && at[n] == '.')
		n--;
	if (n >= outsz)
		n = outsz - 1;
	for (i = 0; i < n; i++) {
		char c = at[1 + i];

		out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	out[n] = '\0';
	return n;
}

int
tlspa_domain_match(const char *d, const char *p)
{
	size_t dl = strlen(d), pl = strlen(p);

	if (p[0] == '.')
		return dl > pl && strcasecmp(d + dl - pl, p) == 0;
	return strcasecmp(d, p) == 0;
}

/* Length of the printable character at s, or 0 if it must be escaped. */
static size_t
printable(const unsigned char *s, size_t n)
{
	unsigned cp;
	size_t k = tlsp_utf8_decode(s, n, &cp);

	if (k == 0 || cp < 0x20 || cp == 0x7f || cp == '\\')
		return 0;
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	if (cp == 0x2028 || cp == 0x2029 || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0xfeff)
		return 0;
	return k;
}

void
tlspa_put_safe(FILE *f, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, run = 0;

	while (i < len) {
		if (u[i] >= 0x20 && u[i] < 0x7f && u[i] != '\\') {
			i++;
			run++;
			continue;
		}
		if ((k = printable(u + i, len - i)) > 0) {
			i += k;
			run += k;
			continue;
		}
		fwrite(s + i - run, 1, run, f);
		run = 0;
		if (u[i] == '\\')
			fputs("\\\\", f);
		else
			fprintf(f, "\\x%02x", u[i]);
		i++;
	}
	fwrite(s + i - run, 1, run, f);
}

char *
tlspa_safe(const char *s, size_t len, char *out, size_t outsz)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, j = 0, k, n;
	const char *piece;
	char esc[8];

	while (i < len) {
		if ((k = printable(u + i, len - i)) > 0) {
			piece = s + i;
			n = k;
		} else {
			if (u[i] == '\\')
				snprintf(esc, sizeof(esc), "\\\\");
			else
				snprintf(esc, sizeof(esc), "\\x%02x", u[i]);
			piece = esc;
			n = strlen(esc);
			k = 1;
		}
		if (j + n + 4 > outsz) {
			memcpy(out + j, "...", 4);
			return out;
		}
		memcpy(out + j, piece, n);
		j += n;
		i += k;
	}
	out[j] = '\0';
	return out;
}

void
tlspa_put_value(FILE *f, const struct tlspa_jv *v)
{
	const char *d;

	if (v == NULL) {
		fputc('-', f);
	} else if (v->type == TLSPA_J_STR && v->len == 0) {
		fputs("\"\"", f);
	} else if (v->type == TLSPA_J_STR) {
		tlspa_put_safe(f, v->s, v->len);
	} else if ((d = tlspa_jv_digest(v)) != NULL) {
		fprintf(f, "[redacted sha256:%.16s...]", d);
	} else if (v->type == TLSPA_J_NUM) {
		tlspa_put_safe(f, v->s, v->len);
	} else if (v->type == TLSPA_J_NULL) {
		fputs("null", f);
	} else if (v->type == TLSPA_J_TRUE || v->type == TLSPA_J_FALSE) {
		fputs(v->type == TLSPA_J_TRUE ? "true" : "false", f);
	} else {
		fputs(v->type == TLSPA_J_OBJ ? "{...}" : "[...]", f);
	}
}

/* ======================================================== scanning */

static int
scan_line(struct tlspa_scan *s)
{
	const struct tlspa_line *ln = &s->line;
	const struct tlspa_jv *t;

	if (ln->overlong) {
		tlspa_warn(ln->path, ln->lineno, "line of %zu bytes skipped "
			   "(longer than %zu)", ln->len, s->lines.max);
		return 0;
	}
	if ((s->rec = tlspa_json_parse(&s->json, ln->p, ln->len)) == NULL) {
		tlspa_warn(ln->path, ln->lineno, "not a record: %s at byte %zu%s",
			   s->json.err, s->json.errpos + 1,
			   ln->lf ? "" : " (torn last line)");
		return 0;
	}
	if (s->rec->type != TLSPA_J_OBJ || tlspa_jv_get(s->rec, "seq") == NULL) {
		tlspa_warn(ln->path, ln->lineno, "not a record: no \"seq\"");
		return 0;
	}
	t = tlspa_jv_get(s->rec, "time");
	if (t == NULL || t->type != TLSPA_J_STR ||
	    tlspa_time_rfc3339(t->s, t->len, &s->ms) < 0)
		s->ms = TLSPA_TIME_MIN;
	return 1;
}

int
tlspa_scan_next(struct tlspa_scan *s)
{
	int rc;

	if (!s->started) {
		s->started = 1;
		s->lines.files = s->files;
		s->lines.nfiles = s->nfiles;
	}
	while ((rc = tlspa_lines_next(&s->lines, &s->line)) > 0) {
		if (!scan_line(s)) {
			s->bad++;
			continue;
		}
		if ((s->since != TLSPA_TIME_MIN || s->until != TLSPA_TIME_MAX) &&
		    (s->ms == TLSPA_TIME_MIN || s->ms < s->since ||
		     s->ms >= s->until)) {
			s->outside++;
			continue;
		}
		s->records++;
		return 1;
	}
	if (rc < 0)
		fprintf(stderr, "tlspolicy-audit: %s\n", s->lines.err);
	return rc;
}

void
tlspa_scan_close(struct tlspa_scan *s)
{
	tlspa_lines_close(&s->lines);
	tlspa_json_free(&s->json);
}

/* =============================================================== main */

int
main(int argc, char **argv)
{
	size_t i;
	int rc;

	if (argc < 2)
		return tlspa_usage(NULL);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		tlspa_usage(NULL);
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
		tlspa_warn_summary();
		if (fflush(stdout) == EOF || ferror(stdout)) {
			fprintf(stderr, "tlspolicy-audit: standard output: %s\n",
				strerror(errno));
			return rc != 0 ? rc : TLSPA_EX_ERROR;
		}
		return rc;
	}
	fprintf(stderr, "tlspolicy-audit: unknown command '%s'\n", argv[1]);
	return tlspa_usage(NULL);
}
