// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Quota and billing periods: on-the-clock minutes and hours, calendar days, weeks and months
 * in the process time zone, and RFC3339 times.
 *
 * A calendar period is numbered by its first civil date counted from the origin; its start is
 * the first instant the local clock shows that date (see cal_day_start()), its end the start of
 * the next one. Bounds and index both come from one search (cal_locate()), so they can never
 * disagree about which period holds a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "period.h"
#include "policy.h"
#include "util.h"

#define SL_ZONEINFO_DIR "/usr/share/zoneinfo/"
#define SL_TZ_NAME_MAX	128

/* 1970-01-01 was a Thursday: Monday 1969-12-29 is day -3. */
#define SL_WEEK_ORIGIN_DAY (-3)

/* How far mktime() may land from the start of a day whose midnight does not exist. */
#define SL_GAP_WINDOW 86400

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* A civil date, month and day from 1. */
struct sl_date {
	int y, m, d;
};

/* Days since 1970-01-01 of a civil date; timegm() ignores TZ, which is the point. */
static int64_t date_to_day(const struct sl_date *dt)
{
	struct tm tm = { .tm_year = dt->y - 1900, .tm_mon = dt->m - 1, .tm_mday = dt->d };

	return floor_div((int64_t)timegm(&tm), 86400);
}

static int day_to_date(int64_t day, struct sl_date *dt)
{
	time_t t;
	struct tm tm;

	if (__builtin_mul_overflow(day, 86400, &t) || !gmtime_r(&t, &tm))
		return -EINVAL;
	*dt = (struct sl_date){ tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday };
	return 0;
}

static int date_cmp(const struct tm *tm, const struct sl_date *dt)
{
	int64_t a = ((int64_t)tm->tm_year + 1900) * 10000 + (tm->tm_mon + 1) * 100 + tm->tm_mday;
	int64_t b = (int64_t)dt->y * 10000 + dt->m * 100 + dt->d;

	return (a > b) - (a < b);
}

static bool is_local_midnight(time_t t, const struct sl_date *dt, struct tm *tm)
{
	return localtime_r(&t, tm) && !date_cmp(tm, dt) && !tm->tm_hour && !tm->tm_min &&
	       !tm->tm_sec;
}

/* Does the local clock show date dt or a later one at time t? */
static bool reached(time_t t, const struct sl_date *dt)
{
	struct tm tm;

	return localtime_r(&t, &tm) && date_cmp(&tm, dt) >= 0;
}

/*
 * The first instant the local clock shows date dt. Normally that is 00:00 local, which mktime()
 * finds. Two zone rules need more:
 * - clocks going back over midnight (America/Havana, 01:00 -> 00:00) show 00:00 twice, and which
 *   one mktime() picks depends on its internal guess: take the earlier one, always;
 * - clocks jumping forward over midnight (America/Havana 00:00 -> 01:00, Pacific/Apia skipping
 *   2011-12-30) leave no 00:00 at all: mktime() normalises to an instant before or after the
 *   gap, and the day then starts at the first instant that exists on it, the moment of the jump
 *   (local 01:00 in Havana). A date skipped whole is a period of length 0 that no time maps to.
 */
static int cal_day_start(const struct sl_date *dt, int64_t *out)
{
	struct tm tm = {
		.tm_year = dt->y - 1900, .tm_mon = dt->m - 1, .tm_mday = dt->d, .tm_isdst = -1,
	};
	struct tm lt, early;
	time_t c, lo, hi, alt;

	errno = 0;
	c = mktime(&tm);
	if (c == (time_t)-1 && errno)
		return -EINVAL;

	if (is_local_midnight(c, dt, &lt)) {
		/* An earlier 00:00 has the larger UTC offset in force before a fall-back. */
		alt = c - 43200;
		if (localtime_r(&alt, &early) && early.tm_gmtoff > lt.tm_gmtoff) {
			alt = c - (early.tm_gmtoff - lt.tm_gmtoff);
			if (is_local_midnight(alt, dt, &early))
				c = alt;
		}
		*out = c;
		return 0;
	}

	if (reached(c, dt)) {
		lo = c - SL_GAP_WINDOW;
		hi = c;
	} else {
		lo = c;
		hi = c + SL_GAP_WINDOW;
	}
	if (reached(lo, dt) || !reached(hi, dt)) {
		*out = c; /* no single jump near c: keep what mktime() says */
		return 0;
	}
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;

		if (reached(mid, dt))
			hi = mid;
		else
			lo = mid;
	}
	*out = hi;
	return 0;
}

static bool is_calendar(int unit)
{
	return unit == SL_PU_DAYS || unit == SL_PU_WEEKS || unit == SL_PU_MONTHS;
}

/* Number of the calendar period that holds civil date dt. */
static int64_t cal_number(int unit, uint32_t duration, const struct sl_date *dt)
{
	int64_t day = date_to_day(dt);

	switch (unit) {
	case SL_PU_DAYS:
		return floor_div(day, duration);
	case SL_PU_WEEKS:
		return floor_div(floor_div(day - SL_WEEK_ORIGIN_DAY, 7), duration);
	default:
		return floor_div(((int64_t)dt->y - 1970) * 12 + dt->m - 1, duration);
	}
}

/* Start of calendar period n. */
static int cal_start(int unit, uint32_t duration, int64_t n, int64_t *out)
{
	struct sl_date dt;
	int64_t first, years;
	int err;

	if (__builtin_mul_overflow(n, (int64_t)duration, &first))
		return -EINVAL;
	switch (unit) {
	case SL_PU_DAYS:
		err = day_to_date(first, &dt);
		break;
	case SL_PU_WEEKS:
		if (__builtin_mul_overflow(first, 7, &first))
			return -EINVAL;
		err = day_to_date(first + SL_WEEK_ORIGIN_DAY, &dt);
		break;
	default:
		/* first is a month number; its year must fit struct tm */
		years = floor_div(first, 12);
		if (years > 1000000000 || years < -1000000000)
			return -EINVAL;
		dt = (struct sl_date){ (int)(1970 + years), (int)(first - years * 12 + 1), 1 };
		err = 0;
		break;
	}
	return err ? err : cal_day_start(&dt, out);
}

/*
 * The calendar period that holds t. The local date gives the number; the checks against the
 * computed bounds step to the neighbour where a clock change makes the two disagree (the
 * repeated hour before a fall-back at midnight, a day that starts after its 00:00).
 */
static int cal_locate(int unit, uint32_t duration, int64_t t, int64_t *n, int64_t *start,
		      int64_t *end)
{
	time_t tt = t;
	struct sl_date dt;
	struct tm tm;
	int64_t s, e;
	int i, err;

	if (!localtime_r(&tt, &tm))
		return -EINVAL;
	dt = (struct sl_date){ tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday };
	*n = cal_number(unit, duration, &dt);
	for (i = 0; i < 4; i++) {
		err = cal_start(unit, duration, *n, &s);
		if (!err)
			err = cal_start(unit, duration, *n + 1, &e);
		if (err)
			return err;
		if (t < s) {
			(*n)--;
		} else if (t >= e) {
			(*n)++;
		} else {
			*start = s;
			*end = e;
			return 0;
		}
	}
	return -EINVAL;
}

static int64_t clock_len(int unit, uint32_t duration)
{
	return (int64_t)duration * (unit == SL_PU_MINUTES ? 60 : 3600);
}

int sl_period_bounds(int unit, uint32_t duration, int64_t t, int64_t *start, int64_t *end)
{
	int64_t n, len;

	if (!duration)
		return -EINVAL;
	if (is_calendar(unit))
		return cal_locate(unit, duration, t, &n, start, end);
	if (unit != SL_PU_MINUTES && unit != SL_PU_HOURS)
		return -EINVAL;
	len = clock_len(unit, duration);
	if (__builtin_mul_overflow(floor_div(t, len), len, start) ||
	    __builtin_add_overflow(*start, len, end))
		return -EINVAL;
	return 0;
}

/* INT64_MIN where sl_period_bounds() would fail: no period has that number. */
int64_t sl_period_index(int unit, uint32_t duration, int64_t t)
{
	int64_t n, start, end;

	if (!duration)
		return INT64_MIN;
	if (is_calendar(unit))
		return cal_locate(unit, duration, t, &n, &start, &end) ? INT64_MIN : n;
	if (unit != SL_PU_MINUTES && unit != SL_PU_HOURS)
		return INT64_MIN;
	return floor_div(t, clock_len(unit, duration));
}

static bool tz_name_ok(const char *name)
{
	const char *p;

	if (!name || !*name || *name == '/' || strstr(name, "..") ||
	    strlen(name) >= SL_TZ_NAME_MAX)
		return false;
	for (p = name; *p; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || strchr("_+-/", *p)))
			return false;
	}
	return true;
}

/*
 * TZ names the zone file by its full path, so glibc reads the very file checked here, not one
 * under a TZDIR of the environment. Not thread-safe (setenv, tzset): call it before threads.
 */
int sl_tz_set(const char *name)
{
	char path[sizeof(SL_ZONEINFO_DIR) + SL_TZ_NAME_MAX];
	char tz[sizeof(path) + 1];
	struct stat st;

	if (!tz_name_ok(name))
		return -EINVAL;
	if (!strcmp(name, "UTC")) {
		/* A POSIX rule, not a file: UTC works without tzdata. */
		sl_strlcpy(tz, "UTC0", sizeof(tz));
	} else {
		snprintf(path, sizeof(path), SL_ZONEINFO_DIR "%s", name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			return -ENOENT;
		snprintf(tz, sizeof(tz), ":%s", path);
	}
	if (setenv("TZ", tz, 1))
		return -errno;
	tzset();
	return 0;
}

const char *sl_rfc3339(int64_t t, char *buf, size_t len)
{
	int64_t day = floor_div(t, 86400), sec = t - day * 86400;
	struct sl_date dt;

	if (day_to_date(day, &dt)) {
		snprintf(buf, len, "-");
		return buf;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", dt.y, dt.m, dt.d, (int)(sec / 3600),
		 (int)(sec / 60 % 60), (int)(sec % 60));
	return buf;
}

/* Exactly n digits at *s, advancing it; -1 if they are not there. */
static int digits(const char **s, int n)
{
	int v = 0;

	for (; n > 0; n--, (*s)++) {
		if (**s < '0' || **s > '9')
			return -1;
		v = v * 10 + (**s - '0');
	}
	return v;
}

static bool expect(const char **s, const char *any)
{
	if (!**s || !strchr(any, **s))
		return false;
	(*s)++;
	return true;
}

/*
 * RFC3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), 'T' and 'Z' in either case.
 * A leap second (:60) is refused: Unix time has no place for it.
 */
int sl_rfc3339_parse(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	struct sl_date dt;

	if (!s)
		return -EINVAL;
	if ((y = digits(&s, 4)) < 0 || !expect(&s, "-") || (mo = digits(&s, 2)) < 0 ||
	    !expect(&s, "-") || (d = digits(&s, 2)) < 0 || !expect(&s, "Tt") ||
	    (h = digits(&s, 2)) < 0 || !expect(&s, ":") || (mi = digits(&s, 2)) < 0 ||
	    !expect(&s, ":") || (sec = digits(&s, 2)) < 0)
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if ((oh = digits(&s, 2)) < 0 || !expect(&s, ":") || (om = digits(&s, 2)) < 0)
			return -EINVAL;
	} else if (!expect(&s, "Zz")) {
		return -EINVAL;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 ||
	    sec > 59 || oh > 23 || om > 59)
		return -EINVAL;
	dt = (struct sl_date){ y, mo, d };
	*out = date_to_day(&dt) * 86400 + h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
	return 0;
}

static const char *const unit_names[SL_NR_PERIOD_UNITS] = {
	[SL_PU_MINUTES] = "minutes", [SL_PU_HOURS] = "hours", [SL_PU_DAYS] = "days",
	[SL_PU_WEEKS] = "weeks",     [SL_PU_MONTHS] = "months",
};

const char *sl_period_unit_name(int unit)
{
	if (unit < 0 || unit >= SL_NR_PERIOD_UNITS)
		return "unknown";
	return unit_names[unit];
}

/* The plural, or the singular: the plural without its final 's'. */
int sl_period_unit_parse(const char *s)
{
	size_t n;
	int u;

	if (!s)
		return -1;
	n = strlen(s);
	for (u = 0; u < SL_NR_PERIOD_UNITS; u++) {
		if (!strcmp(s, unit_names[u]) ||
		    (n + 1 == strlen(unit_names[u]) && !strncmp(s, unit_names[u], n)))
			return u;
	}
	return -1;
}
