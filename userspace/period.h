/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Quota and billing periods: pure calendar arithmetic, libbpf-free (unit-tested directly).
 * Times are Unix seconds (UTC). Days, weeks and months are calendar periods in the time zone
 * set with sl_tz_set(): they start at local midnight, weeks on Monday, months on the 1st, and
 * last as long as the calendar says (23 or 25 hours across a DST change, 28..31 days a month).
 * Minutes and hours are on the clock: multiples of duration x 60 (x 3600) seconds since the
 * epoch, the same in every zone with a whole-hour offset. Durations above 1 count whole units
 * from a fixed origin (1970-01-01 for days, Monday 1969-12-29 for weeks, January 1970 for
 * months), so "3 months" are the calendar quarters.
 */
#ifndef SLUICE_PERIOD_H
#define SLUICE_PERIOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Use time zone `name` ("UTC" or an IANA name such as "Europe/Berlin") for calendar periods,
 * for the whole process (it sets TZ). Returns 0, or -ENOENT when the zone is not installed
 * (no /usr/share/zoneinfo/NAME), -EINVAL for a malformed name.
 */
int sl_tz_set(const char *name);

/*
 * The period of `unit` (enum sl_period_unit) x `duration` that holds time t: [*start, *end).
 * Returns 0 or -EINVAL (unknown unit, duration 0).
 */
int sl_period_bounds(int unit, uint32_t duration, int64_t t, int64_t *start, int64_t *end);

/*
 * A number for the period that holds t, consecutive for consecutive periods (the period after
 * has index + 1). Used as the quota counter tag.
 */
int64_t sl_period_index(int unit, uint32_t duration, int64_t t);

/* RFC3339 UTC with seconds, "2026-11-22T10:00:00Z". Returns buf. */
const char *sl_rfc3339(int64_t t, char *buf, size_t len);

/*
 * Parse RFC3339 ("2026-11-22T10:00:00Z", "2026-11-22T11:00:00+01:00", fractional seconds
 * ignored) into Unix seconds. Returns 0 or -EINVAL.
 */
int sl_rfc3339_parse(const char *s, int64_t *out);

/* enum sl_period_unit as in policy files ("minutes", ...), and back (-1: unknown). */
const char *sl_period_unit_name(int unit);
int sl_period_unit_parse(const char *s);

#endif
