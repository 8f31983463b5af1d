// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Leveled logging to stderr, and the bridge that routes libbpf's messages through it. */
#include <stdio.h>
#include <bpf/libbpf.h>
#include "log.h"

static int sl_level = SL_LOG_WARN;

void sl_log_set_level(int level)
{
	sl_level = level;
}

int sl_log_get_level(void)
{
	return sl_level;
}

void sl_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > sl_level)
		return;
	fputs(level == SL_LOG_WARN ? "sluice: " : level == SL_LOG_INFO ? "sluice: " : "sluice: debug: ",
	      stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static int sl_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int mine = level == LIBBPF_WARN ? SL_LOG_INFO : level == LIBBPF_INFO ? SL_LOG_DEBUG : 3;

	/*
	 * libbpf warnings are shown with -v only: every failure it reports is also turned into a
	 * sluice error message that says what to do, and raw libbpf text would only add noise.
	 */
	if (mine > sl_level)
		return 0;
	fputs("libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

void sl_log_hook_libbpf(void)
{
	libbpf_set_print(sl_libbpf_print);
}
