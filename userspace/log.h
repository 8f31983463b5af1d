/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one logging module: pr_warn/pr_info/pr_debug with -v levels; libbpf's output goes here. */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdarg.h>

enum sl_log_level {
	SL_LOG_WARN = 0,
	SL_LOG_INFO = 1,
	SL_LOG_DEBUG = 2,
};

void sl_log_set_level(int level);
int sl_log_get_level(void);
void sl_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Route libbpf's messages through sl_log (-v: warnings, -vv: everything); in loader.c. */
void sl_log_hook_libbpf(void);

#define pr_warn(...)  sl_log(SL_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  sl_log(SL_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)

#endif
