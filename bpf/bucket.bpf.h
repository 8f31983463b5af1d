/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared token buckets: GCRA state updated with compare-and-swap, exact across CPUs. */
#ifndef SLUICE_BUCKET_BPF_H
#define SLUICE_BUCKET_BPF_H

#include "sluice_gcra.h"
#include "maps.bpf.h"

/*
 * Every CPU works on the one 64-bit TAT of a bucket (include/sluice_gcra.h has the math and
 * the error bound). An admit is a compare-and-swap from the TAT it decided on to the new one;
 * if another CPU moved TAT in between, the decision is made again on the fresh value. So each
 * admitted unit advances TAT exactly once and the admitted total never exceeds rate * W + burst,
 * whatever the spread over CPUs. A drop only reads. After SL_CAS_TRIES lost races the packet is
 * dropped (SL_R_CONTENDED): contention can cost admissions, never add them. With 2 CPUs a
 * single retry almost always suffices.
 */
#define SL_CAS_TRIES 8

/* The body's verdict; only the entry points turn it into XDP_* / TC_ACT_*. */
enum sl_verdict {
	SL_V_PASS = 0,
	SL_V_DROP = 1,
	SL_V_TX = 2,    /* send the rebuilt frame back out of the interface it came in on */
	SL_V_REPLY = 3, /* the HTTP layer refused with an answering action: sl_reject_*() */
	SL_V_NONE = 4,  /* sl_rj_follow_*(): not a connection being closed */
};

enum {
	SL_TAKE_OK = 0,
	SL_TAKE_DENIED = 1,
	SL_TAKE_CONTENDED = 2,
};

/* On SL_TAKE_DENIED, *seen is the TAT the refusal was based on. */
static __always_inline int sl_bucket_take(struct sl_bucket *b, __u64 now, __u64 charge,
					  __u64 tau, __u64 *seen)
{
	__u64 old, next;
	int i;

	for (i = 0; i < SL_CAS_TRIES; i++) {
		old = *(volatile __u64 *)&b->tat;
		*seen = old;
		if (!sl_gcra_admit(old, now, charge, tau, &next))
			return SL_TAKE_DENIED;
		if (__sync_val_compare_and_swap(&b->tat, old, next) == old)
			return SL_TAKE_OK;
	}
	return SL_TAKE_CONTENDED;
}

/*
 * Clocks, in bucket time units. The precise clock is CLOCK_MONOTONIC; the tick clock is jiffies
 * times the tick length (jiffy_tu, set by the controller). Test builds derive both from the ns
 * value in sl_clock_v1, the tick clock quantised to whole ticks as jiffies would be.
 */
static __always_inline __u64 sl_now_fine(void)
{
#ifdef SL_TEST_CLOCK
	__u32 zero = 0;
	__u64 *t = bpf_map_lookup_elem(&sl_clock_v1, &zero);

	return t ? *t << SL_TU_SHIFT : 0;
#else
	return bpf_ktime_get_ns() << SL_TU_SHIFT;
#endif
}

static __always_inline __u64 sl_now_tick(__u64 jiffy_tu)
{
#ifdef SL_TEST_CLOCK
	__u64 ns = sl_now_fine() >> SL_TU_SHIFT, tick_ns = jiffy_tu >> SL_TU_SHIFT;

	return tick_ns ? ns / tick_ns * jiffy_tu : 0;
#else
	return bpf_jiffies64() * jiffy_tu;
#endif
}

#endif /* SLUICE_BUCKET_BPF_H */
