/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Token-bucket math (GCRA form) shared by the BPF programs, the controller and the unit tests. */
#ifndef SLUICE_GCRA_H
#define SLUICE_GCRA_H

#include <linux/types.h>
#include "sluice_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * Design. A bucket of rate R (units/s) and burst B is kept as one 64-bit "theoretical arrival
 * time" (TAT), in time units of 1/16 ns. A request of cost c is admitted iff
 *
 *     max(TAT, now) + c*T - now <= tau,     T = 1/R,  tau = B*T
 *
 * and then TAT becomes max(TAT, now) + c*T. This is exactly a token bucket of capacity B
 * refilled at R, so over any window W at most R*W + B units are admitted.
 *
 * Across CPUs the data plane updates TAT with compare-and-swap (sluice_bucket.bpf.h): every
 * admitted unit moves the shared TAT forward exactly once, so the bound holds however packets
 * spread over CPUs. A drop writes nothing. The only error is rounding of c*T to whole time
 * units (1/16 ns), at most 1/16 ns per admitted packet in the client's favour: 0.06% at
 * 10 Mpps on one aggregate, 1.3% for 64-byte packets on a 12.5 GB/s byte bucket.
 *
 * A bucket whose TAT <= now is in the same state as a new one, so idle entries can be deleted
 * (sluice gc) without handing anyone a fresh burst.
 */

/* Time units charged for `cost` units of a bucket with per-unit interval p->interval. */
static __always_inline __u64 sl_gcra_charge(__u64 cost, __u64 interval, __u32 shift)
{
	if (cost > SL_MAX_COST)
		cost = SL_MAX_COST;
	/* interval < 2^SL_INTERVAL_BITS and cost <= 2^20: the product fits in 64 bits. */
	return (cost * interval) >> (shift & 63);
}

/*
 * One admission decision. Returns 1 and sets *new_tat if admitted, 0 if not.
 * A clock that goes backwards (now < a previous now) only makes the test stricter.
 */
static __always_inline int sl_gcra_admit(__u64 tat, __u64 now, __u64 charge, __u64 tau,
					 __u64 *new_tat)
{
	__u64 base = tat > now ? tat : now;
	__u64 next = base + charge;

	if (next < base) /* overflow: cannot be admitted */
		return 0;
	if (next - now > tau)
		return 0;
	*new_tat = next;
	return 1;
}

/*
 * Time units until a bucket with this TAT admits a charge again (0 if it would now): the
 * data plane's Retry-After, and the controller's views.
 */
static __always_inline __u64 sl_gcra_wait(__u64 tat, __u64 now, __u64 charge, __u64 tau)
{
	__u64 base = tat > now ? tat : now;
	__u64 next = base + charge;

	if (next - now <= tau)
		return 0;
	return next - now - tau;
}

#ifndef __bpf__
/*
 * Controller side: turn rate (units/s) and burst (units) into data-plane parameters.
 * Returns 0, or -22 (EINVAL) for a zero rate. Picks the largest shift (most precision) that
 * keeps interval below 2^SL_INTERVAL_BITS; tau saturates at 2^62 time units (146 years).
 */
static inline int sl_gcra_params_make(__u64 rate, __u64 burst, struct sl_gcra_params *p)
{
	unsigned __int128 iv;
	unsigned __int128 tau;
	__u32 shift;

	if (rate == 0)
		return -22;
	for (shift = 32;; shift--) {
		iv = ((unsigned __int128)SL_TU_PER_SEC << shift) / rate;
		if (iv < ((unsigned __int128)1 << SL_INTERVAL_BITS) || shift == 0)
			break;
	}
	if (iv >= ((unsigned __int128)1 << SL_INTERVAL_BITS))
		iv = ((unsigned __int128)1 << SL_INTERVAL_BITS) - 1;
	tau = (unsigned __int128)burst * SL_TU_PER_SEC / rate;
	if (tau > ((unsigned __int128)1 << 62))
		tau = (unsigned __int128)1 << 62;
	p->interval = (__u64)iv;
	p->shift = shift;
	p->tau = (__u64)tau;
	p->_pad = 0;
	return 0;
}

#endif

#endif /* SLUICE_GCRA_H */
