// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The tick clock and the per-CPU drop cache: never ahead of real time, never a wrong drop. */
#include <arpa/inet.h>
#include "fixture.h"
#include "sluice_prefix.h"

static struct pb_frame udp_from(const char *src)
{
	struct pb_spec s = { .l3 = strchr(src, ':') ? PB_IPV6 : PB_IPV4, .src = src,
			     .l4 = IPPROTO_UDP, .payload = 10 };

	return fx_frame(&s);
}

static __u64 tick(void)
{
	__u64 t = sl_tick_ns();

	cr_assert_gt(t, 0, "the kernel reports no coarse-clock resolution");
	return t;
}

/* The rule's SL_RF_* flags as installed in the trie (via rulemeta, which mirrors them). */
static __u8 rule_flags(struct fx *f, __u32 slot)
{
	struct sl_rulemeta m;

	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.sl_rulemeta_v1), &slot, &m), 0);
	return m.flags;
}

/* Entry of the drop cache that `pf`'s source maps to, on this CPU (test runs are on one CPU). */
static bool dcache_entry(struct fx *f, const char *src, struct sl_dcache_ent *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sl_dcache_ent *all = calloc(ncpu, sizeof(*all));
	__u32 a[4] = {}, idx;
	bool found = false;

	if (strchr(src, ':'))
		inet_pton(AF_INET6, src, a);
	else
		inet_pton(AF_INET, src, a);
	idx = sl_addr_index(a, SL_DCACHE_BITS);
	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.sl_dcache_v1), &idx, all), 0);
	for (int c = 0; c < ncpu && !found; c++) {
		if (!memcmp(all[c].addr, a, 16) && all[c].epoch) {
			*out = all[c];
			found = true;
		}
	}
	free(all);
	return found;
}

FX_TEST_BOTH(clock, auto_picks_tick_or_precise)
{
	struct fx f;

	fx_open(&f);
	/* 5 tokens at 10/s span 500 ms: tick clock. 5 at 1000/s span 5 ms < 2 ticks: precise. */
	fx_policy(&f, "version: 1\nname: c\nsources:\n"
		      "  - {name: slow, cidr: 10.0.0.0/8, rate: 10, burst: 5}\n"
		      "  - {name: fast, cidr: 0.0.0.0/0, rate: 1000, burst: 5}\n");
	cr_assert_eq(rule_flags(&f, fx_slot(&f, "slow")) & SL_RF_FINE, 0);
	cr_assert_neq(rule_flags(&f, fx_slot(&f, "fast")) & SL_RF_FINE, 0);
	fx_policy(&f, "version: 1\nname: c\nclock: precise\nsources:\n"
		      "  - {name: slow, cidr: 10.0.0.0/8, rate: 10, burst: 5}\n");
	cr_assert_neq(rule_flags(&f, fx_slot(&f, "slow")) & SL_RF_FINE, 0);
	fx_policy(&f, "version: 1\nname: c\nclock: tick\nsources:\n"
		      "  - {name: fast, cidr: 0.0.0.0/0, rate: 1000, burst: 5}\n");
	cr_assert_eq(rule_flags(&f, fx_slot(&f, "fast")) & SL_RF_FINE, 0);
	(void)h;
	fx_close(&f);
}

FX_TEST_BOTH(clock, tick_clock_is_never_ahead)
{
	struct pb_frame pf = udp_from("192.0.2.40");
	__u64 t0 = FX_T0 / tick() * tick(); /* a tick boundary */
	__u32 slot;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\nname: c\nsources:\n"
		      "  - {name: default, cidr: 0.0.0.0/0, rate: 10, burst: 5}\n");
	slot = fx_slot(&f, "default");
	fx_clock(&f, t0);
	cr_assert_eq(fx_send_n(&f, h, &pf, 10), 5, "the burst at t0");
	/* The token is due at +100 ms. One ns before the tick that contains it: still refused. */
	fx_clock(&f, t0 + 100 * FX_MS / tick() * tick() - 1);
	fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), "before its tick");
	/* Late by less than one tick at most: from the first tick at or after +100 ms. */
	fx_clock(&f, t0 + (100 * FX_MS + tick() - 1) / tick() * tick());
	fx_expect(&f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "at its tick");
	fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), "only one");
	/*
	 * 10 s of steady offered load after 0.9 s idle: the refilled burst (5), then one every
	 * 100 ms from +1.1 s to +10.9 s (99): the same 104 the precise clock gives.
	 */
	{
		int admitted = 0;

		for (__u64 t = 0; t < 10 * FX_SEC; t += FX_MS) {
			fx_clock(&f, t0 + FX_SEC + t);
			admitted += fx_send(&f, h, &pf) == FX_PASS;
		}
		cr_assert_eq(admitted, 104, "%s: %d admitted over 10 s at 10/s burst 5",
			  fx_hook_name(h), admitted);
	}
	fx_close(&f);
}

FX_TEST_BOTH(dcache, filled_on_refusal_and_exact_at_until)
{
	struct pb_frame pf = udp_from("192.0.2.41");
	__u64 t0 = FX_T0 / tick() * tick();
	struct sl_dcache_ent e;
	__u32 slot;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\nname: c\nsources:\n"
		      "  - {name: default, cidr: 0.0.0.0/0, rate: 5, burst: 1}\n");
	slot = fx_slot(&f, "default");
	fx_clock(&f, t0);
	fx_expect(&f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "burst");
	fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), "refused");
	cr_assert(dcache_entry(&f, "192.0.2.41", &e), "a refusal fills the drop cache");
	cr_assert_eq(e.slot, slot);
	cr_assert_eq(e.reason, SL_R_LIMIT);
	/* One unit is due 200 ms after t0: that is exactly what the entry says. */
	cr_assert_eq(e.until, (t0 + 200 * FX_MS) << SL_TU_SHIFT);
	/* Drops before `until` (from the cache) count like any drop... */
	fx_clock(&f, t0 + 200 * FX_MS - tick());
	fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), "cached drop");
	/* ...and at `until` the bucket decides again and admits. */
	fx_clock(&f, t0 + 200 * FX_MS);
	fx_expect(&f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "at until");
	fx_close(&f);
}

FX_TEST_BOTH(dcache, reload_invalidates_entries)
{
	struct pb_frame pf = udp_from("192.0.2.42");
	struct sl_dcache_ent e;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\nname: c\nsources:\n"
		      "  - {name: bad, cidr: 192.0.2.42/32, action: deny}\n"
		      "  - {name: default, cidr: 0.0.0.0/0, rate: 5, burst: 1}\n");
	fx_expect(&f, h, &pf, FX_WANT(FX_DROP, fx_slot(&f, "bad"), SL_R_DENY, SL_O_DROP), "deny");
	cr_assert(dcache_entry(&f, "192.0.2.42", &e));
	cr_assert_eq(e.until, ~0ULL, "a deny is cached for the whole epoch");
	fx_expect(&f, h, &pf, FX_WANT(FX_DROP, fx_slot(&f, "bad"), SL_R_DENY, SL_O_DROP),
		  "cached deny");
	/* The same source allowed by the next policy passes at once: the epoch moved. */
	fx_policy(&f, "version: 1\nname: c\nsources:\n"
		      "  - {name: bad, cidr: 192.0.2.42/32, action: allow}\n"
		      "  - {name: default, cidr: 0.0.0.0/0, rate: 5, burst: 1}\n");
	fx_expect(&f, h, &pf, FX_WANT(FX_PASS, fx_slot(&f, "bad"), SL_R_ALLOW, SL_O_PASS),
		  "allowed after reload");
	fx_close(&f);
}

FX_TEST_BOTH(dcache, precise_and_dry_run_rules_are_not_cached)
{
	struct pb_frame a = udp_from("192.0.2.43"), b = udp_from("198.51.100.43");
	struct sl_dcache_ent e;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\nname: c\nsources:\n"
		      "  - {name: fast, cidr: 192.0.2.0/24, rate: 1000, burst: 1}\n"
		      "  - {name: dry, cidr: 0.0.0.0/0, rate: 5, burst: 1, dry_run: true}\n");
	cr_assert_eq(fx_send_n(&f, h, &a, 3), 1);
	cr_assert_not(dcache_entry(&f, "192.0.2.43", &e), "precise-clock refusals are not cached");
	cr_assert_eq(fx_send_n(&f, h, &b, 3), 3, "dry-run passes everything");
	cr_assert_not(dcache_entry(&f, "198.51.100.43", &e), "dry-run would-drops are not cached");
	cr_assert_eq(fx_pkts(&f, fx_slot(&f, "dry"), SL_R_LIMIT, SL_O_DRYRUN), 2);
	fx_close(&f);
}
