/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Unit tests of the period arithmetic: calendar edges, DST, alignment, indexes, RFC3339. */

#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "period.h"
#include "policy.h"

#define TPE_HOUR 3600
#define TPE_DAY	 86400

/* TZ is per process: criterion runs every test in its own, so each test sets the zone it needs. */
static void tpe_zone(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	if (strcmp(name, "UTC") && access(path, R_OK))
		cr_skip_test("tzdata not installed (no %s): run sudo scripts/install-deps.sh",
			     path);
	cr_assert_eq(sl_tz_set(name), 0, "sl_tz_set(%s)", name);
}

static int64_t tpe_t(const char *s)
{
	int64_t t;

	cr_assert_eq(sl_rfc3339_parse(s, &t), 0, "cannot parse %s", s);
	return t;
}

/* The period of unit x duration holding `at` is [from, to), `hours` long where that is set. */
struct tpe_case {
	int unit;
	uint32_t duration;
	const char *at, *from, *to;
	int hours;
};

static void tpe_check(const struct tpe_case *c, size_t n)
{
	int64_t s, e;
	char b1[32], b2[32];

	for (; n > 0; n--, c++) {
		cr_assert_eq(sl_period_bounds(c->unit, c->duration, tpe_t(c->at), &s, &e), 0,
			     "bounds at %s", c->at);
		cr_assert(s == tpe_t(c->from) && e == tpe_t(c->to),
			  "%u %s at %s: [%s, %s), want [%s, %s)", c->duration,
			  sl_period_unit_name(c->unit), c->at, sl_rfc3339(s, b1, sizeof(b1)),
			  sl_rfc3339(e, b2, sizeof(b2)), c->from, c->to);
		cr_assert(!c->hours || e - s == (int64_t)c->hours * TPE_HOUR,
			  "%s %s: %lld s, want %d h", sl_period_unit_name(c->unit), c->at,
			  (long long)(e - s), c->hours);
	}
}

#define TPE_CHECK(cases) tpe_check(cases, sizeof(cases) / sizeof(cases[0]))

/* Walk n consecutive periods from `from`: each holds its start, and indexes go up by one. */
struct tpe_walk {
	int unit;
	uint32_t duration;
	const char *from;
	int n;
};

static void tpe_walk(const struct tpe_walk *w, size_t n)
{
	int64_t t, s, e, idx;
	char buf[32];
	int i;

	for (; n > 0; n--, w++) {
		t = tpe_t(w->from);
		for (i = 0; i < w->n; i++) {
			cr_assert_eq(sl_period_bounds(w->unit, w->duration, t, &s, &e), 0);
			sl_rfc3339(t, buf, sizeof(buf));
			cr_assert(s <= t && t < e, "%u %s: %s outside its own period", w->duration,
				  sl_period_unit_name(w->unit), buf);
			idx = sl_period_index(w->unit, w->duration, s);
			cr_assert_eq(sl_period_index(w->unit, w->duration, e - 1), idx,
				     "%u %s: end-1 of the period at %s", w->duration,
				     sl_period_unit_name(w->unit), buf);
			cr_assert_eq(sl_period_index(w->unit, w->duration, e), idx + 1,
				     "%u %s: end of the period at %s", w->duration,
				     sl_period_unit_name(w->unit), buf);
			t = e;
		}
	}
}

#define TPE_WALK(walks) tpe_walk(walks, sizeof(walks) / sizeof(walks[0]))

Test(period, month_ends)
{
	static const struct tpe_case cases[] = {
		{ SL_PU_DAYS, 1, "2026-01-31T12:00:00Z", "2026-01-31T00:00:00Z",
		  "2026-02-01T00:00:00Z", 24 },
		{ SL_PU_MONTHS, 1, "2026-01-31T23:59:59Z", "2026-01-01T00:00:00Z",
		  "2026-02-01T00:00:00Z" },
		{ SL_PU_MONTHS, 1, "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z",
		  "2026-03-01T00:00:00Z" },
		{ SL_PU_DAYS, 1, "2026-12-31T18:00:00Z", "2026-12-31T00:00:00Z",
		  "2027-01-01T00:00:00Z", 24 },
		{ SL_PU_MONTHS, 1, "2026-12-31T23:59:59Z", "2026-12-01T00:00:00Z",
		  "2027-01-01T00:00:00Z" },
	};

	tpe_zone("UTC");
	TPE_CHECK(cases);
	cr_assert_eq(sl_period_index(SL_PU_MONTHS, 1, tpe_t("2027-01-01T00:00:00Z")),
		     sl_period_index(SL_PU_MONTHS, 1, tpe_t("2026-12-31T23:59:59Z")) + 1);
}

Test(period, feb29_leap_years)
{
	static const struct tpe_case cases[] = {
		{ SL_PU_DAYS, 1, "2024-02-29T06:00:00Z", "2024-02-29T00:00:00Z",
		  "2024-03-01T00:00:00Z" },
		{ SL_PU_DAYS, 1, "2000-02-29T06:00:00Z", "2000-02-29T00:00:00Z",
		  "2000-03-01T00:00:00Z" },
		{ SL_PU_DAYS, 1, "2100-02-28T06:00:00Z", "2100-02-28T00:00:00Z",
		  "2100-03-01T00:00:00Z" },
		{ SL_PU_DAYS, 1, "2023-02-28T06:00:00Z", "2023-02-28T00:00:00Z",
		  "2023-03-01T00:00:00Z" },
	};
	int64_t t;

	tpe_zone("UTC");
	TPE_CHECK(cases);
	cr_assert_eq(sl_rfc3339_parse("2100-02-29T00:00:00Z", &t), -EINVAL);
	cr_assert_eq(sl_rfc3339_parse("2023-02-29T00:00:00Z", &t), -EINVAL);
}

Test(period, month_lengths)
{
	static const int len2026[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	static const struct tpe_case feb[] = {
		{ SL_PU_MONTHS, 1, "2024-02-10T00:00:00Z", "2024-02-01T00:00:00Z",
		  "2024-03-01T00:00:00Z", 29 * 24 },
		{ SL_PU_MONTHS, 1, "2000-02-10T00:00:00Z", "2000-02-01T00:00:00Z",
		  "2000-03-01T00:00:00Z", 29 * 24 },
		{ SL_PU_MONTHS, 1, "2100-02-10T00:00:00Z", "2100-02-01T00:00:00Z",
		  "2100-03-01T00:00:00Z", 28 * 24 },
	};
	int64_t s, e;
	char at[32];
	int m;

	tpe_zone("UTC");
	for (m = 1; m <= 12; m++) {
		snprintf(at, sizeof(at), "2026-%02d-15T12:00:00Z", m);
		cr_assert_eq(sl_period_bounds(SL_PU_MONTHS, 1, tpe_t(at), &s, &e), 0);
		cr_assert_eq(e - s, len2026[m - 1] * TPE_DAY, "month %d", m);
	}
	TPE_CHECK(feb);
}

Test(period, dst_days_berlin)
{
	static const struct tpe_case cases[] = {
		{ SL_PU_DAYS, 1, "2026-03-29T12:00:00+02:00", "2026-03-29T00:00:00+01:00",
		  "2026-03-30T00:00:00+02:00", 23 },
		{ SL_PU_DAYS, 1, "2026-03-29T01:59:59+01:00", "2026-03-29T00:00:00+01:00",
		  "2026-03-30T00:00:00+02:00", 23 },
		{ SL_PU_DAYS, 1, "2026-10-25T12:00:00+01:00", "2026-10-25T00:00:00+02:00",
		  "2026-10-26T00:00:00+01:00", 25 },
		{ SL_PU_DAYS, 1, "2026-10-25T02:30:00+01:00", "2026-10-25T00:00:00+02:00",
		  "2026-10-26T00:00:00+01:00", 25 },
		{ SL_PU_DAYS, 1, "2026-03-28T12:00:00+01:00", "2026-03-28T00:00:00+01:00",
		  "2026-03-29T00:00:00+01:00", 24 },
	};

	tpe_zone("Europe/Berlin");
	TPE_CHECK(cases);
}

Test(period, dst_days_new_york)
{
	static const struct tpe_case cases[] = {
		{ SL_PU_DAYS, 1, "2026-03-08T12:00:00-04:00", "2026-03-08T00:00:00-05:00",
		  "2026-03-09T00:00:00-04:00", 23 },
		{ SL_PU_DAYS, 1, "2026-11-01T12:00:00-05:00", "2026-11-01T00:00:00-04:00",
		  "2026-11-02T00:00:00-05:00", 25 },
		{ SL_PU_DAYS, 1, "2026-11-01T01:30:00-05:00", "2026-11-01T00:00:00-04:00",
		  "2026-11-02T00:00:00-05:00", 25 },
	};

	tpe_zone("America/New_York");
	TPE_CHECK(cases);
}

Test(period, month_starts_at_local_midnight)
{
	static const struct tpe_case cases[] = {
		{ SL_PU_MONTHS, 1, "2026-11-15T12:00:00Z", "2026-10-31T23:00:00Z",
		  "2026-11-30T23:00:00Z" },
		{ SL_PU_MONTHS, 1, "2026-11-01T00:00:00+01:00", "2026-11-01T00:00:00+01:00",
		  "2026-12-01T00:00:00+01:00" },
		/* 23:30 UTC on Oct 31 is already November in Berlin */
		{ SL_PU_MONTHS, 1, "2026-10-31T23:30:00Z", "2026-10-31T23:00:00Z",
		  "2026-11-30T23:00:00Z" },
		{ SL_PU_MONTHS, 1, "2026-10-10T00:00:00Z", "2026-09-30T22:00:00Z",
		  "2026-10-31T23:00:00Z", 31 * 24 + 1 },
		{ SL_PU_MONTHS, 1, "2026-03-10T00:00:00Z", "2026-02-28T23:00:00Z",
		  "2026-03-31T22:00:00Z", 31 * 24 - 1 },
	};

	tpe_zone("Europe/Berlin");
	TPE_CHECK(cases);
}

Test(period, weeks_start_monday)
{
	static const struct tpe_case cases[] = {
		{ SL_PU_WEEKS, 1, "2026-03-01T23:59:59Z", "2026-02-23T00:00:00Z",
		  "2026-03-02T00:00:00Z", 168 },
		{ SL_PU_WEEKS, 1, "2026-03-02T00:00:00Z", "2026-03-02T00:00:00Z",
		  "2026-03-09T00:00:00Z", 168 },
	};
	int64_t sun = tpe_t("2026-03-01T23:59:59Z"), mon = tpe_t("2026-03-02T00:00:00Z");

	tpe_zone("UTC");
	TPE_CHECK(cases);
	cr_assert_eq(sl_period_index(SL_PU_WEEKS, 1, mon),
		     sl_period_index(SL_PU_WEEKS, 1, sun) + 1, "Sunday and Monday share a week");
	/* the origin: Monday 1969-12-29 starts week 0 */
	cr_assert_eq(sl_period_index(SL_PU_WEEKS, 1, tpe_t("1969-12-29T00:00:00Z")), 0);
	cr_assert_eq(sl_period_index(SL_PU_WEEKS, 1, tpe_t("1969-12-28T23:59:59Z")), -1);
	cr_assert_eq(sl_period_index(SL_PU_WEEKS, 1, tpe_t("1970-01-05T00:00:00Z")), 1);
}

Test(period, dst_weeks_berlin)
{
	static const struct tpe_case cases[] = {
		{ SL_PU_WEEKS, 1, "2026-03-29T12:00:00Z", "2026-03-23T00:00:00+01:00",
		  "2026-03-30T00:00:00+02:00", 167 },
		{ SL_PU_WEEKS, 1, "2026-10-25T12:00:00Z", "2026-10-19T00:00:00+02:00",
		  "2026-10-26T00:00:00+01:00", 169 },
		{ SL_PU_WEEKS, 1, "2026-06-10T12:00:00Z", "2026-06-08T00:00:00+02:00",
		  "2026-06-15T00:00:00+02:00", 168 },
	};

	tpe_zone("Europe/Berlin");
	TPE_CHECK(cases);
}

Test(period, quarters_and_two_days_from_origin)
{
	static const struct tpe_case cases[] = {
		{ SL_PU_MONTHS, 3, "2026-05-15T00:00:00Z", "2026-04-01T00:00:00Z",
		  "2026-07-01T00:00:00Z" },
		{ SL_PU_MONTHS, 3, "2026-12-31T23:59:59Z", "2026-10-01T00:00:00Z",
		  "2027-01-01T00:00:00Z" },
		{ SL_PU_MONTHS, 3, "1969-12-31T23:59:59Z", "1969-10-01T00:00:00Z",
		  "1970-01-01T00:00:00Z" },
		/* 2026-01-01 is day 20454 since 1970-01-01: even, so it opens a 2-day period */
		{ SL_PU_DAYS, 2, "2026-01-02T12:00:00Z", "2026-01-01T00:00:00Z",
		  "2026-01-03T00:00:00Z", 48 },
		{ SL_PU_DAYS, 2, "2026-01-03T00:00:00Z", "2026-01-03T00:00:00Z",
		  "2026-01-05T00:00:00Z", 48 },
		{ SL_PU_DAYS, 2, "1969-12-31T12:00:00Z", "1969-12-30T00:00:00Z",
		  "1970-01-01T00:00:00Z", 48 },
		/* two weeks: the origin week and the one after it */
		{ SL_PU_WEEKS, 2, "1970-01-10T00:00:00Z", "1969-12-29T00:00:00Z",
		  "1970-01-12T00:00:00Z", 336 },
	};

	tpe_zone("UTC");
	TPE_CHECK(cases);
	cr_assert_eq(sl_period_index(SL_PU_MONTHS, 3, 0), 0);
	cr_assert_eq(sl_period_index(SL_PU_MONTHS, 3, -1), -1);
	cr_assert_eq(sl_period_index(SL_PU_MONTHS, 3, tpe_t("2026-01-01T00:00:00Z")), 56 * 4);
	cr_assert_eq(sl_period_index(SL_PU_DAYS, 2, tpe_t("2026-01-01T00:00:00Z")), 10227);
}

Test(period, two_days_in_berlin)
{
	/* calendar days in the zone: the same civil dates as in UTC, from local midnight */
	static const struct tpe_case cases[] = {
		{ SL_PU_DAYS, 2, "2026-01-02T12:00:00Z", "2026-01-01T00:00:00+01:00",
		  "2026-01-03T00:00:00+01:00" },
		{ SL_PU_DAYS, 2, "2026-03-29T12:00:00Z", "2026-03-28T00:00:00+01:00",
		  "2026-03-30T00:00:00+02:00", 47 },
		{ SL_PU_MONTHS, 3, "2026-05-15T00:00:00Z", "2026-04-01T00:00:00+02:00",
		  "2026-07-01T00:00:00+02:00" },
	};

	tpe_zone("Europe/Berlin");
	TPE_CHECK(cases);
}

Test(period, minutes_and_hours_on_the_clock)
{
	static const struct tpe_case cases[] = {
		{ SL_PU_MINUTES, 5, "2026-03-01T10:07:30Z", "2026-03-01T10:05:00Z",
		  "2026-03-01T10:10:00Z" },
		{ SL_PU_MINUTES, 5, "2026-03-01T10:10:00Z", "2026-03-01T10:10:00Z",
		  "2026-03-01T10:15:00Z" },
		{ SL_PU_MINUTES, 1, "2026-03-01T10:07:59Z", "2026-03-01T10:07:00Z",
		  "2026-03-01T10:08:00Z" },
		{ SL_PU_HOURS, 2, "2026-03-01T11:30:00Z", "2026-03-01T10:00:00Z",
		  "2026-03-01T12:00:00Z", 2 },
		{ SL_PU_HOURS, 2, "2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z",
		  "2026-03-01T12:00:00Z", 2 },
		{ SL_PU_MINUTES, 5, "1969-12-31T23:59:59Z", "1969-12-31T23:55:00Z",
		  "1970-01-01T00:00:00Z" },
	};

	tpe_zone("UTC");
	TPE_CHECK(cases);
	cr_assert_eq(sl_period_index(SL_PU_HOURS, 2, tpe_t("2026-03-01T11:30:00Z")),
		     tpe_t("2026-03-01T10:00:00Z") / (2 * TPE_HOUR));
	cr_assert_eq(sl_period_index(SL_PU_MINUTES, 5, -1), -1);
}

Test(period, hours_ignore_the_zone)
{
	static const struct tpe_case cases[] = {
		{ SL_PU_HOURS, 2, "2026-03-29T02:30:00+02:00", "2026-03-29T00:00:00Z",
		  "2026-03-29T02:00:00Z", 2 },
	};

	tpe_zone("Europe/Berlin");
	TPE_CHECK(cases);
}

Test(period, bad_unit_or_duration)
{
	int64_t s, e;

	cr_assert_eq(sl_period_bounds(SL_PU_DAYS, 0, 0, &s, &e), -EINVAL);
	cr_assert_eq(sl_period_bounds(SL_PU_MINUTES, 0, 0, &s, &e), -EINVAL);
	cr_assert_eq(sl_period_bounds(SL_NR_PERIOD_UNITS, 1, 0, &s, &e), -EINVAL);
	cr_assert_eq(sl_period_bounds(-1, 1, 0, &s, &e), -EINVAL);
	cr_assert_eq(sl_period_index(SL_NR_PERIOD_UNITS, 1, 0), INT64_MIN);
	cr_assert_eq(sl_period_index(SL_PU_WEEKS, 0, 0), INT64_MIN);
}

Test(period, index_consecutive_utc)
{
	static const struct tpe_walk walks[] = {
		{ SL_PU_MINUTES, 1, "2026-03-01T00:00:00Z", 200 },
		{ SL_PU_MINUTES, 5, "1969-12-31T23:00:00Z", 200 },
		{ SL_PU_HOURS, 1, "2026-03-01T00:00:00Z", 200 },
		{ SL_PU_HOURS, 2, "1969-12-30T00:00:00Z", 200 },
		{ SL_PU_DAYS, 1, "1969-12-01T00:00:00Z", 400 },
		{ SL_PU_DAYS, 2, "2023-12-30T00:00:00Z", 400 },
		{ SL_PU_WEEKS, 1, "1969-12-01T00:00:00Z", 60 },
		{ SL_PU_WEEKS, 2, "2026-01-01T00:00:00Z", 60 },
		{ SL_PU_MONTHS, 1, "1969-06-01T00:00:00Z", 40 },
		{ SL_PU_MONTHS, 3, "2099-01-01T00:00:00Z", 12 },
		{ SL_PU_MONTHS, 12, "1999-01-01T00:00:00Z", 5 },
	};

	tpe_zone("UTC");
	TPE_WALK(walks);
}

Test(period, index_consecutive_across_dst)
{
	static const char *const zones[] = { "Europe/Berlin", "America/New_York" };
	static const struct tpe_walk walks[] = {
		{ SL_PU_HOURS, 1, "2026-03-07T00:00:00Z", 72 },
		{ SL_PU_HOURS, 1, "2026-10-24T00:00:00Z", 240 },
		{ SL_PU_DAYS, 1, "2025-12-25T12:00:00Z", 400 },
		{ SL_PU_DAYS, 3, "2026-01-01T00:00:00Z", 130 },
		{ SL_PU_WEEKS, 1, "2026-01-01T00:00:00Z", 60 },
		{ SL_PU_MONTHS, 1, "2025-12-15T00:00:00Z", 26 },
		{ SL_PU_MONTHS, 3, "2026-01-01T00:00:00Z", 9 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		tpe_zone(zones[i]);
		TPE_WALK(walks);
	}
}

/*
 * Zones whose clocks change at midnight. Havana jumps 00:00 -> 01:00 (no midnight: the day
 * starts at the jump) and falls back 01:00 -> 00:00 (two midnights: the first starts the day,
 * whichever mktime() would pick). Santiago falls back from 00:00 to 23:00 of the day before,
 * which then lasts 25 hours, and jumps 00:00 -> 01:00 in September.
 */
Test(period, clock_changes_at_midnight)
{
	static const struct tpe_case havana[] = {
		{ SL_PU_DAYS, 1, "2026-03-08T12:00:00-04:00", "2026-03-08T01:00:00-04:00",
		  "2026-03-09T00:00:00-04:00", 23 },
		{ SL_PU_DAYS, 1, "2026-03-07T23:59:59-05:00", "2026-03-07T00:00:00-05:00",
		  "2026-03-08T01:00:00-04:00", 24 },
		{ SL_PU_DAYS, 1, "2026-11-01T00:30:00-05:00", "2026-11-01T00:00:00-04:00",
		  "2026-11-02T00:00:00-05:00", 25 },
		{ SL_PU_DAYS, 1, "2026-11-01T00:30:00-04:00", "2026-11-01T00:00:00-04:00",
		  "2026-11-02T00:00:00-05:00", 25 },
	};
	static const struct tpe_case santiago[] = {
		{ SL_PU_DAYS, 1, "2026-04-04T23:30:00-04:00", "2026-04-04T00:00:00-03:00",
		  "2026-04-05T00:00:00-04:00", 25 },
		{ SL_PU_DAYS, 1, "2026-09-06T12:00:00-03:00", "2026-09-06T01:00:00-03:00",
		  "2026-09-07T00:00:00-03:00", 23 },
	};
	static const struct tpe_walk walks[] = {
		{ SL_PU_DAYS, 1, "2026-01-01T12:00:00Z", 365 },
		{ SL_PU_WEEKS, 1, "2026-01-01T12:00:00Z", 53 },
	};

	tpe_zone("America/Havana");
	TPE_CHECK(havana);
	TPE_WALK(walks);
	tpe_zone("America/Santiago");
	TPE_CHECK(santiago);
	TPE_WALK(walks);
}

Test(period, rfc3339_round_trip)
{
	static const char *const same[] = {
		"1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2000-02-29T12:34:56Z",
		"2026-11-22T10:00:00Z", "2100-03-01T00:00:00Z", "9999-12-31T23:59:59Z",
		"0001-01-01T00:00:00Z",
	};
	char buf[32];
	int64_t t;
	unsigned int i;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		cr_assert_str_eq(sl_rfc3339(tpe_t(same[i]), buf, sizeof(buf)), same[i]);
	cr_assert_eq(tpe_t("1970-01-01T00:00:00Z"), 0);
	cr_assert_eq(tpe_t("1969-12-31T23:59:59Z"), -1);
	cr_assert_eq(tpe_t("2026-11-22T10:00:00Z"), 1795341600);
	for (t = -4000000000LL; t < 5000000000LL; t += 7777777)
		cr_assert_eq(tpe_t(sl_rfc3339(t, buf, sizeof(buf))), t, "%s", buf);
}

Test(period, rfc3339_forms)
{
	int64_t z = tpe_t("2026-11-22T10:00:00Z");

	/* parsing never looks at TZ: set one far from UTC where tzdata has it */
	sl_tz_set("America/New_York");
	cr_assert_eq(tpe_t("2026-11-22T10:00:00Z"), z);
	cr_assert_eq(tpe_t("2026-11-22T11:00:00+01:00"), z);
	cr_assert_eq(tpe_t("2026-11-22T04:30:00-05:30"), z);
	cr_assert_eq(tpe_t("2026-11-22T10:00:00-00:00"), z);
	cr_assert_eq(tpe_t("2026-11-22t10:00:00z"), z);
	cr_assert_eq(tpe_t("2026-11-22T10:00:00.999999999Z"), z);
	cr_assert_eq(tpe_t("2026-11-22T11:00:00.5+01:00"), z);
	cr_assert_eq(tpe_t("2026-11-23T09:59:00+23:59"), z);
}

Test(period, rfc3339_rejects)
{
	static const char *const bad[] = {
		"",
		"2026-11-22",
		"2026-11-22T10:00:00",
		"2026-11-22T10:00Z",
		"2026-11-22 10:00:00Z",
		"2026-11-22T10:00:00Zx",
		"2026-11-22T10:00:00Z ",
		" 2026-11-22T10:00:00Z",
		"2026-11-22T10:00:00+01:00x",
		"2026-11-22T10:00:00+01",
		"2026-11-22T10:00:00+0100",
		"2026-11-22T10:00:00+1:00",
		"2026-11-22T10:00:00+24:00",
		"2026-11-22T10:00:00+01:60",
		"2026-11-22T10:00:00.Z",
		"2026-11-22T10:00:00,5Z",
		"2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z",
		"2026-01-00T00:00:00Z",
		"2026-01-32T00:00:00Z",
		"2026-02-30T00:00:00Z",
		"2026-04-31T00:00:00Z",
		"2023-02-29T00:00:00Z",
		"2100-02-29T00:00:00Z",
		"2026-11-22T24:00:00Z",
		"2026-11-22T10:60:00Z",
		"2026-11-22T10:00:60Z",
		"2026-1-22T10:00:00Z",
		"+2026-11-22T10:00:00Z",
		"20261122T100000Z",
		"2026-11-22X10:00:00Z",
		"2026-11-22T10:00:00UTC",
	};
	int64_t t = 42;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(sl_rfc3339_parse(bad[i], &t), -EINVAL, "accepted \"%s\"", bad[i]);
	cr_assert_eq(sl_rfc3339_parse(NULL, &t), -EINVAL);
	cr_assert_eq(t, 42, "a rejected time must leave *out alone");
}

Test(period, tz_set_errors)
{
	int64_t s, e;

	cr_assert_eq(sl_tz_set("UTC"), 0);
	cr_assert_eq(sl_tz_set("Mars/Olympus"), -ENOENT);
	cr_assert_eq(sl_tz_set("../etc/passwd"), -EINVAL);
	cr_assert_eq(sl_tz_set("Europe/../../etc/passwd"), -EINVAL);
	cr_assert_eq(sl_tz_set("/etc/passwd"), -EINVAL);
	cr_assert_eq(sl_tz_set("Europe/Ber lin"), -EINVAL);
	cr_assert_eq(sl_tz_set("Europe/Berlin;"), -EINVAL);
	cr_assert_eq(sl_tz_set(""), -EINVAL);
	cr_assert_eq(sl_tz_set(NULL), -EINVAL);
	/* a directory is not a zone */
	cr_assert_eq(sl_tz_set("Europe"), -ENOENT);
	/* a refused name leaves the zone as it was */
	cr_assert_eq(sl_period_bounds(SL_PU_DAYS, 1, TPE_HOUR, &s, &e), 0);
	cr_assert(s == 0 && e == TPE_DAY, "UTC day 0 is [%lld, %lld)", (long long)s, (long long)e);
}

Test(period, unit_names)
{
	int u;

	for (u = 0; u < SL_NR_PERIOD_UNITS; u++)
		cr_assert_eq(sl_period_unit_parse(sl_period_unit_name(u)), u);
	cr_assert_str_eq(sl_period_unit_name(SL_PU_MINUTES), "minutes");
	cr_assert_str_eq(sl_period_unit_name(SL_PU_MONTHS), "months");
	cr_assert_eq(sl_period_unit_parse("minute"), SL_PU_MINUTES);
	cr_assert_eq(sl_period_unit_parse("hour"), SL_PU_HOURS);
	cr_assert_eq(sl_period_unit_parse("day"), SL_PU_DAYS);
	cr_assert_eq(sl_period_unit_parse("week"), SL_PU_WEEKS);
	cr_assert_eq(sl_period_unit_parse("month"), SL_PU_MONTHS);
	cr_assert_eq(sl_period_unit_parse("Days"), -1);
	cr_assert_eq(sl_period_unit_parse("d"), -1);
	cr_assert_eq(sl_period_unit_parse("monthss"), -1);
	cr_assert_eq(sl_period_unit_parse("fortnights"), -1);
	cr_assert_eq(sl_period_unit_parse(""), -1);
	cr_assert_eq(sl_period_unit_parse(NULL), -1);
	cr_assert_str_eq(sl_period_unit_name(SL_NR_PERIOD_UNITS), "unknown");
}
