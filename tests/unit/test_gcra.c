// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the token-bucket math in include/sluice_gcra.h (the same code BPF runs). */
#include <criterion/criterion.h>
#include <stdint.h>
#include "sluice_gcra.h"

#define NS(x) ((__u64)(x) << SL_TU_SHIFT) /* ns -> time units */
#define SEC(x) NS((__u64)(x) * 1000000000ULL)

struct bucket {
	struct sl_gcra_params p;
	__u64 tat;
};

static struct bucket mk(__u64 rate, __u64 burst)
{
	struct bucket b = { .tat = 0 };

	cr_assert_eq(sl_gcra_params_make(rate, burst, &b.p), 0);
	return b;
}

static int take(struct bucket *b, __u64 now, __u64 cost)
{
	__u64 next;
	__u64 charge = sl_gcra_charge(cost, b->p.interval, b->p.shift);

	if (!sl_gcra_admit(b->tat, now, charge, b->p.tau, &next))
		return 0;
	b->tat = next;
	return 1;
}

/* Admitted count of `n` unit requests at one instant. */
static int burst_at(struct bucket *b, __u64 now, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += take(b, now, 1);
	return ok;
}

Test(gcra, burst_then_rate)
{
	struct bucket b = mk(10, 5);
	__u64 t0 = SEC(100);

	cr_assert_eq(burst_at(&b, t0, 100), 5, "a full bucket admits exactly the burst");
	cr_assert_eq(burst_at(&b, t0 + NS(99999999), 10), 0, "nothing before one interval");
	cr_assert_eq(burst_at(&b, t0 + NS(100000000), 10), 1, "one per 100 ms at 10/s");
	/* Idle from 0.6 s to 1.1 s: the bucket refilled to its burst, not beyond. */
	cr_assert_eq(burst_at(&b, t0 + SEC(1) + NS(100000000), 100), 5);
}

Test(gcra, long_idle_caps_at_burst)
{
	struct bucket b = mk(1000, 50);

	cr_assert_eq(burst_at(&b, SEC(1), 1000), 50);
	/* A day idle refills to the burst, never beyond. */
	cr_assert_eq(burst_at(&b, SEC(1) + SEC(86400), 100000), 50);
}

Test(gcra, clock_going_backwards_never_admits_more)
{
	struct bucket b = mk(100, 10);
	__u64 t = SEC(50);

	cr_assert_eq(burst_at(&b, t, 100), 10);
	/* The clock jumps back 10 s: a backwards step makes the bucket look emptier, not fuller. */
	cr_assert_eq(burst_at(&b, t - SEC(10), 100), 0);
	cr_assert_eq(burst_at(&b, t, 100), 0);
	cr_assert_eq(burst_at(&b, t + NS(10000000), 100), 1);
}

Test(gcra, exact_over_long_window)
{
	/* Offered load far above the rate for 10 s: admitted == rate*W + burst. */
	struct bucket b = mk(1000, 100);
	__u64 t0 = SEC(7), admitted = 0;

	for (__u64 t = 0; t <= 10000000000ULL; t += 100000) /* every 100 us */
		admitted += burst_at(&b, t0 + NS(t), 5);
	cr_assert_eq(admitted, 1000 * 10 + 100, "got %llu", (unsigned long long)admitted);
}

Test(gcra, tiny_rate)
{
	struct bucket b = mk(1, 1);

	cr_assert_eq(burst_at(&b, SEC(10), 5), 1);
	cr_assert_eq(burst_at(&b, SEC(10) + NS(999999999), 5), 0);
	cr_assert_eq(burst_at(&b, SEC(11), 5), 1);
	cr_assert_lt(b.p.interval, 1ULL << SL_INTERVAL_BITS);
}

Test(gcra, huge_rate_bytes)
{
	/* 100 Gbit/s in bytes with 1500-byte packets for 1 ms: within 0.1% of rate*W + burst. */
	__u64 rate = 12500000000ULL, burst = 1500 * 64;
	struct bucket b = mk(rate, burst);
	__u64 admitted = 0, t0 = SEC(1);

	for (__u64 t = 0; t < 1000000; t += 10) /* 1 ms in 10 ns steps */
		for (int k = 0; k < 2; k++)
			admitted += 1500 * take(&b, t0 + NS(t), 1500);
	double expect = rate * 0.001 + burst;

	cr_assert(admitted <= expect * 1.001 + 1500 && admitted >= expect * 0.999 - 1500,
		  "admitted %llu expected %.0f", (unsigned long long)admitted, expect);
}

Test(gcra, precision_across_rates)
{
	static const __u64 rates[] = { 1, 3, 7, 1000, 999983, 10000000, 123456789, 12500000000ULL };

	for (unsigned i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		struct sl_gcra_params p;
		long double want = (long double)SL_TU_PER_SEC / rates[i];
		long double got;

		cr_assert_eq(sl_gcra_params_make(rates[i], 1, &p), 0);
		got = (long double)sl_gcra_charge(1000, p.interval, p.shift) / 1000;
		cr_assert(got <= want * 1.00001L + 1 && got >= want * 0.99999L - 1,
			  "rate %llu: %Lf per unit, want %Lf", (unsigned long long)rates[i], got, want);
	}
}

Test(gcra, overflow_guards)
{
	struct sl_gcra_params p;
	__u64 next = 0;

	cr_assert_eq(sl_gcra_params_make(0, 10, &p), -22, "rate 0 is refused");
	/* Enormous burst saturates tau instead of wrapping. */
	cr_assert_eq(sl_gcra_params_make(1, UINT64_MAX, &p), 0);
	cr_assert_eq(p.tau, 1ULL << 62);
	/* Cost above SL_MAX_COST is clamped: the product stays below 2^64. */
	sl_gcra_params_make(1, 1, &p);
	cr_assert_leq(sl_gcra_charge(UINT64_MAX, p.interval, p.shift),
		      (SL_MAX_COST * p.interval) >> p.shift);
	/* TAT near the top of the range: admit refuses rather than wrapping. */
	cr_assert_eq(sl_gcra_admit(UINT64_MAX - 5, 0, 100, UINT64_MAX, &next), 0);
}

Test(gcra, cost_larger_than_burst_never_passes)
{
	struct bucket b = mk(1000, 1500); /* bytes */

	cr_assert_eq(take(&b, SEC(3), 1501), 0);
	cr_assert_eq(take(&b, SEC(3), 1500), 1);
}

Test(gcra, wait_time)
{
	struct bucket b = mk(10, 1);

	cr_assert_eq(burst_at(&b, SEC(1), 1), 1);
	cr_assert_eq(sl_gcra_wait(b.tat, SEC(1), sl_gcra_charge(1, b.p.interval, b.p.shift), b.p.tau),
		     NS(100000000));
	cr_assert_eq(sl_gcra_wait(b.tat, SEC(2), sl_gcra_charge(1, b.p.interval, b.p.shift), b.p.tau),
		     0);
}
