/*
 * time.c - the times of tlspolicy-audit: --since/--until arguments, the
 * "time" of records, days for TLS-RPT.
 *
 * Times are milliseconds since the epoch; day boundaries and dates given
 * without a zone use the zone of --tz through TZ, mktime and
 * localtime_r.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tool.h"

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
tlspa_time_zone(const char *zone)
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
		for (k = 0, i++; i < len && s[i] >= '0' && s[i] <= '9';
		     i++, k++)
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
		(int64_t)t->off_min * 60) *
		       1000 +
	       t->frac_ms;
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
