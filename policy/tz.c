/*
 * tz.c - the policy's `timezone:` and the dates of exceptions and
 * schedules.
 *
 * A date in the policy ("expires: 2027-01-31") means a day on the policy's
 * wall clock, so turning it into an instant needs that zone's offsets.
 * The C library knows them only through the TZ environment variable and
 * tzset(), which a multithreaded daemon must not touch (setenv() races
 * with every getenv(), and localtime_r() in syslog() reads the same
 * state). So this file reads the zone's file of the system's tz database
 * (/usr/share/zoneinfo, the files the C library itself reads; TZDIR as
 * glibc honours it) once, at compile time, into a private table, and
 * converts with that table alone: no global state, no environment
 * changes, and evaluation only compares the instants computed here.
 *
 * The file format is RFC 8536 (TZif): its version 2+ block of 64-bit
 * transitions, then the footer, a POSIX TZ string for the instants after
 * the last transition (Debian's "slim" files stop the table in 1996 for
 * Europe/Berlin and leave the rest to the footer).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define TZ_FILE_MAX (1u << 20)
#define DAY 86400

/* A POSIX TZ rule date: Jn (1..365, no Feb 29), n (0..365), Mm.w.d. */
struct rule_date {
	char kind; /* 'J', 'n', 'M' */
	int m, w, d, n;
	long secs; /* local time of day of the change; may be <0 or >24h */
};

struct footer {
	int valid;	       /* a footer was read */
	long std_off, dst_off; /* seconds east of UTC */
	int has_dst;
	struct rule_date start, end;
};

struct tlsp_tz {
	char name[128];
	size_t n;    /* transitions */
	int64_t *at; /* transition instants, ascending */
	long *off;   /* offset in force from at[i] */
	long before; /* offset before the first transition */
	struct footer ft;
};

/* ------------------------------------------------------------ calendar */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
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

static void
civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
month_days(int y, unsigned m)
{
	static const unsigned md[] = {31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : md[m - 1];
}

/* ---------------------------------------------------- POSIX TZ footer */

static const char *
tz_name(const char *s)
{
	if (*s == '<') {
		const char *e = strchr(s, '>');

		return e ? e + 1 : NULL;
	}
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		s++;
	return s;
}

/* [+-]hh[:mm[:ss]], hours up to 167 (RFC 8536's extension). */
static const char *
tz_time(const char *s, long *out)
{
	long sign = 1, h = 0, m = 0, sec = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9' && h < 1000)
		h = h * 10 + (*s++ - '0');
	if (*s == ':') {
		for (s++; *s >= '0' && *s <= '9' && m < 100; s++)
			m = m * 10 + (*s - '0');
		if (*s == ':')
			for (s++; *s >= '0' && *s <= '9' && sec < 100; s++)
				sec = sec * 10 + (*s - '0');
	}
	if (h > 167 || m > 59 || sec > 59)
		return NULL;
	*out = sign * (h * 3600 + m * 60 + sec);
	return s;
}

static const char *
tz_rule(const char *s, struct rule_date *r)
{
	char *e;

	r->secs = 7200;
	if (*s == 'M') {
		r->kind = 'M';
		r->m = (int)strtol(s + 1, &e, 10);
		if (*e != '.')
			return NULL;
		r->w = (int)strtol(e + 1, &e, 10);
		if (*e != '.')
			return NULL;
		r->d = (int)strtol(e + 1, &e, 10);
		if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d < 0 ||
		    r->d > 6)
			return NULL;
	} else {
		r->kind = *s == 'J' ? 'J' : 'n';
		r->n = (int)strtol(s + (*s == 'J'), &e, 10);
		if (e == s + (*s == 'J') || r->n < (r->kind == 'J') ||
		    r->n > 365)
			return NULL;
	}
	s = e;
	if (*s == '/' && (s = tz_time(s + 1, &r->secs)) == NULL)
		return NULL;
	return s;
}

/* Parses "CET-1CEST,M3.5.0,M10.5.0/3"; an empty string is no footer. */
static int
footer_parse(const char *s, struct footer *ft)
{
	long off;

	memset(ft, 0, sizeof(*ft));
	if (*s == '\0')
		return 0;
	if ((s = tz_name(s)) == NULL || (s = tz_time(s, &off)) == NULL)
		return -1;
	ft->valid = 1;
	ft->std_off = -off; /* POSIX counts west of Greenwich */
	if (*s == '\0')
		return 0;
	if ((s = tz_name(s)) == NULL)
		return -1;
	ft->has_dst = 1;
	ft->dst_off = ft->std_off + 3600;
	if (*s != ',' && *s != '\0') {
		if ((s = tz_time(s, &off)) == NULL)
			return -1;
		ft->dst_off = -off;
	}
	if (*s != ',' || (s = tz_rule(s + 1, &ft->start)) == NULL ||
	    *s != ',' || (s = tz_rule(s + 1, &ft->end)) == NULL || *s != '\0')
		return -1;
	return 0;
}

/* The day (days since the epoch) a rule names in year y. */
static int64_t
rule_day(const struct rule_date *r, int y)
{
	int64_t first;
	int wd, day;

	if (r->kind == 'J') /* 1..365, Feb 29 never counted */
		return days_from_civil(y, 1, 1) + r->n - 1 +
		       (leap(y) && r->n >= 60);
	if (r->kind == 'n')
		return days_from_civil(y, 1, 1) + r->n;
	first = days_from_civil(y, (unsigned)r->m, 1);
	wd = (int)(((first % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
	day = 1 + (r->d - wd + 7) % 7 + (r->w - 1) * 7;
	while ((unsigned)day > month_days(y, (unsigned)r->m))
		day -= 7;
	return first + day - 1;
}

static long
footer_offset(const struct footer *ft, int64_t t)
{
	int64_t start, end;
	unsigned m, d;
	int y;

	if (!ft->has_dst)
		return ft->std_off;
	civil_from_days((t + ft->std_off) / DAY - ((t + ft->std_off) % DAY < 0),
			&y, &m, &d);
	/* the change to DST happens on standard time, the way back on DST */
	start = rule_day(&ft->start, y) * DAY + ft->start.secs - ft->std_off;
	end = rule_day(&ft->end, y) * DAY + ft->end.secs - ft->dst_off;
	if (start < end)
		return t >= start && t < end ? ft->dst_off : ft->std_off;
	return t >= end && t < start ? ft->std_off : ft->dst_off;
}

/* ------------------------------------------------------------- TZif */

static int64_t
be(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < bytes; i++)
		v = (v << 8) | p[i];
	if (bytes == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

/* Reads the v2+ block (or the v1 block of a v1 file) and the footer. */
static int
tzif_parse(const unsigned char *b, size_t len, struct tlsp_tz *tz)
{
	size_t isut, isstd, leapc, timec, typec, charc, body, i;
	int v2, tbytes = 4;
	const unsigned char *p = b, *types, *idx;

	if (len < 44 || memcmp(b, "TZif", 4) != 0)
		return -1;
	v2 = b[4] >= '2';
	for (;;) {
		if ((size_t)(p - b) + 44 > len)
			return -1;
		isut = (size_t)be(p + 20, 4);
		isstd = (size_t)be(p + 24, 4);
		leapc = (size_t)be(p + 28, 4);
		timec = (size_t)be(p + 32, 4);
		typec = (size_t)be(p + 36, 4);
		charc = (size_t)be(p + 40, 4);
		if (timec > 100000 || typec == 0 || typec > 256 ||
		    leapc > 100000 || charc > 100000)
			return -1;
		body = timec * (size_t)(tbytes + 1) + typec * 6 + charc +
		       leapc * (size_t)(tbytes + 4) + isstd + isut;
		if ((size_t)(p - b) + 44 + body > len)
			return -1;
		if (!v2 || tbytes == 8)
			break;
		p += 44 + body; /* skip the v1 block */
		tbytes = 8;
	}
	p += 44;
	idx = p + timec * (size_t)tbytes;
	types = idx + timec;
	tz->n = timec;
	tz->at = calloc(timec ? timec : 1, sizeof(*tz->at));
	tz->off = calloc(timec ? timec : 1, sizeof(*tz->off));
	if (tz->at == NULL || tz->off == NULL)
		return -1;
	for (i = 0; i < timec; i++) {
		if (idx[i] >= typec)
			return -1;
		tz->at[i] = be(p + i * (size_t)tbytes, tbytes);
		tz->off[i] = (long)be(types + idx[i] * 6, 4);
	}
	/* before the first transition: the first standard-time type */
	tz->before = (long)be(types, 4);
	for (i = 0; i < typec; i++)
		if (types[i * 6 + 4] == 0) {
			tz->before = (long)be(types + i * 6, 4);
			break;
		}
	if (v2) {
		const unsigned char *f = types + typec * 6 + charc +
					 leapc * (size_t)(tbytes + 4) + isstd +
					 isut;
		char foot[128];
		size_t fl;

		if (f < b + len && *f == '\n') {
			const unsigned char *nl =
				memchr(f + 1, '\n', len - (size_t)(f + 1 - b));

			fl = nl ? (size_t)(nl - f - 1) : 0;
			if (nl == NULL || fl >= sizeof(foot))
				return -1;
			memcpy(foot, f + 1, fl);
			foot[fl] = '\0';
			if (footer_parse(foot, &tz->ft) < 0)
				return -1;
		}
	}
	return 0;
}

/* A zone name as the tz database spells them: no absolute path, no "..",
 * only its characters. */
static int
name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= 100 || name[0] == '/' || name[0] == '.' ||
	    strstr(name, "..") != NULL)
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
			    "XYZ0123456789/_+-") == n;
}

static const char *
tzdir(void)
{
	const char *d = getenv("TZDIR");

	return d && d[0] == '/' ? d : "/usr/share/zoneinfo";
}

struct tlsp_tz *
tlsp_tz_load(const char *name, const char **why)
{
	struct tlsp_tz *tz;
	unsigned char *buf = NULL;
	char path[PATH_MAX];
	struct stat st;
	ssize_t got;
	size_t len = 0;
	int fd = -1;

	*why = "not a time zone of the tz database (e.g. Europe/Berlin)";
	if ((tz = calloc(1, sizeof(*tz))) == NULL)
		return *why = "out of memory", NULL;
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	if (strcmp(name, "UTC") == 0) /* needs no file */
		return tz;
	if (!name_ok(name))
		goto fail;
	snprintf(path, sizeof(path), "%s/%s", tzdir(), name);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > TZ_FILE_MAX)
		goto fail;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (len < (size_t)st.st_size &&
	       (got = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)got;
	if (tzif_parse(buf, len, tz) < 0) {
		*why = "its tz database file is not one this tlspolicy reads";
		goto fail;
	}
	close(fd);
	free(buf);
	return tz;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	tlsp_tz_free(tz);
	return NULL;
}

void
tlsp_tz_free(struct tlsp_tz *tz)
{
	if (tz == NULL)
		return;
	free(tz->at);
	free(tz->off);
	free(tz);
}

const char *
tlsp_tz_name(const struct tlsp_tz *tz)
{
	return tz ? tz->name : "UTC";
}

long
tlsp_tz_offset(const struct tlsp_tz *tz, int64_t t)
{
	size_t lo = 0, hi;

	if (tz == NULL || (tz->n == 0 && !tz->ft.valid))
		return tz && tz->n == 0 ? tz->before : 0;
	if (tz->n == 0 || t >= tz->at[tz->n - 1])
		return tz->ft.valid ? footer_offset(&tz->ft, t)
				    : tz->off[tz->n - 1];
	if (t < tz->at[0])
		return tz->before;
	hi = tz->n - 1; /* at[lo] <= t < at[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->off[lo];
}

/*
 * The instant a wall-clock time names. A time that happens twice (the
 * hour repeated in autumn) is the first; one that does not happen (the
 * hour skipped in spring, or midnight in a zone that changes at 00:00)
 * is read with the offset before the gap, as mktime() does, which puts
 * a skipped midnight at the instant of the change: a day never ends early.
 */
int64_t
tlsp_tz_from_local(const struct tlsp_tz *tz, int64_t local)
{
	long a = tlsp_tz_offset(tz, local - DAY);
	long b = tlsp_tz_offset(tz, local + DAY);
	long hi = a > b ? a : b, lo = a > b ? b : a;

	if (tlsp_tz_offset(tz, local - hi) == hi)
		return local - hi;
	if (tlsp_tz_offset(tz, local - lo) == lo)
		return local - lo;
	return local - lo; /* in a gap: lo is the offset before it */
}

/* ----------------------------------------------------------------- dates */

static int
digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
tlsp_tz_parse_when(const struct tlsp_tz *tz, const char *s, int end_of_day,
		   int64_t *out, int *is_date, const char **why)
{
	int y, mo, d, h, mi, sec = 0, oh, om;
	long off;
	int64_t day;

	*why = "expected a date (2027-01-31) or a date-time with its offset "
	       "(2027-01-31T18:00:00+01:00 or ...Z)";
	if (digits(s, 4, &y) < 0 || s[4] != '-' || digits(s + 5, 2, &mo) < 0 ||
	    s[7] != '-' || digits(s + 8, 2, &d) < 0)
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    (unsigned)d > month_days(y, (unsigned)mo)) {
		*why = "no such day";
		return -1;
	}
	day = days_from_civil(y, (unsigned)mo, (unsigned)d);
	if (s[10] == '\0') {
		*is_date = 1;
		*out = tlsp_tz_from_local(tz, (day + (end_of_day != 0)) * DAY);
		return 0;
	}
	*is_date = 0;
	if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) < 0 || s[13] != ':' ||
	    digits(s + 14, 2, &mi) < 0)
		return -1;
	s += 16;
	if (*s == ':') {
		if (digits(s + 1, 2, &sec) < 0)
			return -1;
		s += 3;
	}
	if (h > 23 || mi > 59 || sec > 59) {
		*why = "no such time of day";
		return -1;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0') {
		off = 0;
	} else if ((*s == '+' || *s == '-') && digits(s + 1, 2, &oh) == 0 &&
		   s[3] == ':' && digits(s + 4, 2, &om) == 0 && s[6] == '\0' &&
		   oh <= 18 && om <= 59) {
		off = (oh * 3600L + om * 60L) * (*s == '-' ? -1 : 1);
	} else {
		*why = *s == '\0' ? "a date-time needs its offset: add Z "
				    "or +HH:MM"
				  : "expected Z or an offset +HH:MM after the "
				    "time";
		return -1;
	}
	*out = day * DAY + h * 3600L + mi * 60L + sec - off;
	return 0;
}

void
tlsp_tz_format(const struct tlsp_tz *tz, int64_t t, char *buf, size_t bufsz)
{
	long off = tlsp_tz_offset(tz, t);
	int64_t l = t + off, day = l / DAY - (l % DAY < 0);
	long secs = (long)(l - day * DAY), ao = off < 0 ? -off : off;
	unsigned m, d;
	int y;

	civil_from_days(day, &y, &m, &d);
	if (off == 0)
		snprintf(buf, bufsz, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", y, m,
			 d, secs / 3600, secs / 60 % 60, secs % 60);
	else
		snprintf(buf, bufsz,
			 "%04d-%02u-%02uT%02ld:%02ld:%02ld%c%02ld:%02ld", y, m,
			 d, secs / 3600, secs / 60 % 60, secs % 60,
			 off < 0 ? '-' : '+', ao / 3600, ao / 60 % 60);
}

/* The zone of the database's zone.tab nearest `name`, for "did you
 * mean": into out, or "" when none is near. */
void
tlsp_tz_suggest(const char *name, char *out, size_t outsz)
{
	char path[PATH_MAX], line[512];
	const char **cands = NULL;
	char *names = NULL;
	size_t n = 0, cap = 0, used = 0, i;
	const char *near;
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/zone.tab", tzdir());
	if ((f = fopen(path, "re")) == NULL)
		return;
	names = malloc(64 * 1024);
	while (names && fgets(line, sizeof(line), f) && n < 2000) {
		char *z, *save = NULL;

		if (line[0] == '#' || strtok_r(line, "\t", &save) == NULL ||
		    strtok_r(NULL, "\t", &save) == NULL ||
		    (z = strtok_r(NULL, "\t\n", &save)) == NULL ||
		    used + strlen(z) + 1 > 64 * 1024)
			continue;
		memcpy(names + used, z, strlen(z) + 1);
		if (n == cap) {
			const char **t = realloc(cands,
						 (cap + 256) * sizeof(*cands));

			if (t == NULL)
				break;
			cands = t;
			cap += 256;
		}
		cands[n++] = names + used;
		used += strlen(z) + 1;
	}
	fclose(f);
	for (i = 0; i < n && strcasecmp(cands[i], name) != 0; i++)
		;
	near = i < n ? cands[i] : NULL; /* "europe/berlin" */
	if (near == NULL && n > 0)
		near = tlsp_diag_suggest(name, cands, n);
	for (i = 0; near == NULL && i < n; i++) /* "berlin" */
		if (strcasecmp(strrchr(cands[i], '/')
				       ? strrchr(cands[i], '/') + 1
				       : cands[i],
			       name) == 0)
			near = cands[i];
	if (near)
		snprintf(out, outsz, "%s", near);
	free(cands);
	free(names);
}
