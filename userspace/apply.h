/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Installing a validated policy into the data plane's maps, atomically. */
#ifndef SLUICE_APPLY_H
#define SLUICE_APPLY_H

#include "pins.h"
#include "policy.h"

struct sl_apply_result {
	int kept;     /* rules that kept their slot, buckets and counters */
	int added;    /* rules given a fresh slot */
	int removed;  /* rules of the previous policy no longer present */
	long buckets_cleared; /* bucket entries removed (removed rules, changed prefixes) */
	int tenants_kept;     /* tenants that kept their index, bucket state and counters */
	int tenants_added;    /* tenants given a fresh index */
	int tenants_removed;  /* tenants of the previous policy no longer present */
	int keys;             /* API keys installed (distinct) */
	int replies;          /* 429 response texts installed (docs/reject.md) */
	__u32 gen;    /* the generation now active */
};

/*
 * Write pol into the inactive generation, then flip the active generation in one map write.
 * Rules are matched to the running policy by name: a rule that still exists keeps its slot,
 * bucket state and counters. Call with the pin-root lock held. On error the running policy is
 * untouched.
 */
int sl_policy_install(const struct sl_maps *m, const struct sl_policy *pol,
		      struct sl_apply_result *res);

/* Build the data plane's view of one policy rule (exposed for tests). */
int sl_rule_build(const struct sl_policy_rule *pr, __u16 slot, int clock, __u64 tick_ns,
		  struct sl_rule *out);

/* SL_RF_* flags of a rule, including SL_RF_FINE (precise clock) where its burst needs it. */
__u8 sl_rule_flags(const struct sl_policy_rule *pr, int clock, __u64 tick_ns);

/*
 * Whether a bucket of (rate, burst) runs on the precise clock (SL_RF_FINE) under the policy's
 * clock mode: always with `clock: precise` or an unknown tick, never with `clock: tick`, and
 * otherwise when less than two ticks of its rate fit its burst.
 */
bool sl_clock_fine(int clock, __u64 tick_ns, __u64 rate, __u64 burst);

/* Length of a jiffy in ns (the tick clock's resolution), 0 if unknown. */
__u64 sl_tick_ns(void);

#endif
