// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Per-CPU counter sums and counter names. */
#include <string.h>
#include "stats.h"

void sl_stats_add(struct sl_slot_stats *out, const struct sl_slot_stats *in)
{
	for (int r = 0; r < SL_NR_REASONS; r++) {
		for (int o = 0; o < SL_NR_OUTCOMES; o++) {
			out->c[r][o].packets += in->c[r][o].packets;
			out->c[r][o].bytes += in->c[r][o].bytes;
		}
	}
}

void sl_stats_sum(const void *percpu, int ncpu, size_t stride, struct sl_slot_stats *out)
{
	const char *p = percpu;

	memset(out, 0, sizeof(*out));
	for (int cpu = 0; cpu < ncpu; cpu++)
		sl_stats_add(out, (const struct sl_slot_stats *)(p + (size_t)cpu * stride));
}

struct sl_counter sl_stats_outcome(const struct sl_slot_stats *s, int outcome)
{
	struct sl_counter t = { 0, 0 };

	if (outcome < 0 || outcome >= SL_NR_OUTCOMES)
		return t;
	for (int r = 0; r < SL_NR_REASONS; r++) {
		t.packets += s->c[r][outcome].packets;
		t.bytes += s->c[r][outcome].bytes;
	}
	return t;
}

int sl_stats_is_zero(const struct sl_slot_stats *s)
{
	static const struct sl_slot_stats zero;

	return memcmp(s, &zero, sizeof(zero)) == 0;
}

_Static_assert(sizeof(struct sl_rstats) == SL_NR_RSTATS * sizeof(__u64),
	       "struct sl_rstats is SL_NR_RSTATS counters");

__u64 sl_rstats_value(const struct sl_rstats *s, int i)
{
	return i >= 0 && i < SL_NR_RSTATS ? ((const __u64 *)s)[i] : 0;
}

void sl_rstats_sum(const void *percpu, int ncpu, size_t stride, struct sl_rstats *out)
{
	const char *p = percpu;
	__u64 *o = (__u64 *)out;

	memset(out, 0, sizeof(*out));
	for (int cpu = 0; cpu < ncpu; cpu++)
		for (int i = 0; i < SL_NR_RSTATS; i++)
			o[i] += sl_rstats_value((const struct sl_rstats *)(p + (size_t)cpu * stride), i);
}

int sl_rstats_any(const struct sl_rstats *s)
{
	for (int i = 0; i < SL_NR_RSTATS; i++)
		if (sl_rstats_value(s, i))
			return 1;
	return 0;
}

const char *sl_rstats_name(int i)
{
	/* As in struct sl_rstats; also the `kind` label of sluice_replies_total. */
	static const char *const names[SL_NR_RSTATS] = {
		"rst", "http429", "limited", "no_socket", "no_template", "fin_acked", "follow_drop",
		"failed",
	};

	return i >= 0 && i < SL_NR_RSTATS ? names[i] : "?";
}

const char *sl_reason_name(int reason)
{
	static const char *const names[SL_NR_REASONS] = {
		[SL_R_LIMIT] = "limit",
		[SL_R_OVERFLOW] = "overflow",
		[SL_R_CONTENDED] = "contended",
		[SL_R_ALLOW] = "allow",
		[SL_R_DENY] = "deny",
		[SL_R_NO_RULE] = "no_rule",
		[SL_R_MALFORMED] = "malformed",
		[SL_R_FRAGMENT] = "fragment",
		[SL_R_UNKNOWN_L3] = "unknown_ethertype",
		[SL_R_NON_IP] = "non_ip",
	};

	if (reason < 0 || reason >= SL_NR_REASONS || !names[reason])
		return "?";
	return names[reason];
}

const char *sl_outcome_name(int outcome)
{
	static const char *const names[SL_NR_OUTCOMES] = {
		[SL_O_PASS] = "pass",
		[SL_O_DROP] = "drop",
		[SL_O_DRYRUN] = "dryrun",
	};

	if (outcome < 0 || outcome >= SL_NR_OUTCOMES)
		return "?";
	return names[outcome];
}
