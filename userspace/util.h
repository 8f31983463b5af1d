/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Small helpers without libbpf: time and text formatting, safe string copy. */
#ifndef SLUICE_UTIL_H
#define SLUICE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* CLOCK_REALTIME in ns. */
uint64_t sl_realtime_ns(void);
/* CLOCK_MONOTONIC in ns (the clock of bpf_ktime_get_ns). */
uint64_t sl_monotonic_ns(void);
/* RFC3339 UTC, e.g. 2026-11-22T10:00:00Z; "-" for 0. */
const char *sl_fmt_time(uint64_t realtime_ns, char *buf, size_t len);
/* Human number with SI suffix: 1.5k, 12.0M. */
const char *sl_fmt_si(double v, char *buf, size_t len);
/* strncpy that always terminates. */
void sl_strlcpy(char *dst, const char *src, size_t len);

/* mkdir -p with `mode` for the directories it creates. Returns 0 or a negative errno. */
int sl_mkdir_p(const char *path, mode_t mode);

#endif
