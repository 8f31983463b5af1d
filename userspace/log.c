// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Leveled logging to stderr (libbpf's messages arrive through loader.c's bridge). */
#include <stdio.h>
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
