// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Policy reload through sl_policy_install(): rules kept by name keep their buckets and counters,
 * removed/re-added and renamed rules start fresh. */
#include "fixture.h"

static struct pb_frame udp_from(const char *src)
{
	struct pb_spec s = { .l3 = PB_IPV4, .src = src, .l4 = IPPROTO_UDP, .payload = 10 };

	return fx_frame(&s);
}

/* Rule "default" (burst 5 at 10/s) plus an extra rule whose text each policy varies. */
#define TWO_RULES(name, extra)                          \
	"version: 1\n"                                  \
	"name: " name "\n"                              \
	"sources:\n"                                    \
	"  - name: default\n"                           \
	"    cidr: [0.0.0.0/0, \"::/0\"]\n"             \
	"    rate: 10\n"                                \
	"    burst: 5\n" extra

#define OTHER(rate)                                     \
	"  - name: other\n"                             \
	"    cidr: 10.0.0.0/8\n"                        \
	"    rate: " #rate "\n"                         \
	"    burst: 3\n"

static long count_buckets_of(struct fx *f, __u32 slot)
{
	struct sl_bkey k, next;
	void *prev = NULL;
	long n = 0;

	while (!bpf_map_get_next_key(f->m.buckets, prev, &next)) {
		k = next;
		prev = &k;
		n += k.slot == slot;
	}
	return n;
}

FX_TEST_BOTH(reload, kept_rule_keeps_bucket_and_counters)
{
	struct pb_frame pf = udp_from("192.0.2.50");
	struct sl_apply_result res;
	__u32 slot;
	struct fx f;

	fx_open(&f);
	res = fx_policy(&f, TWO_RULES("a", OTHER(100)));
	cr_assert_eq(res.added, 2);
	slot = fx_slot(&f, "default");
	cr_assert_eq(fx_send_n(&f, h, &pf, 6), 5);

	/* Policy B: "default" unchanged, "other" changed, a new rule added. */
	res = fx_policy(&f, TWO_RULES("b", OTHER(200) "  - name: new\n"
						       "    cidr: 172.16.0.0/12\n"
						       "    action: deny\n"));
	cr_assert_eq(res.kept, 2);
	cr_assert_eq(res.added, 1);
	cr_assert_eq(res.removed, 0);
	cr_assert_eq(fx_slot(&f, "default"), slot, "a kept rule moved to another slot");
	cr_assert_eq(count_buckets_of(&f, slot), 1);

	/* Still limited: no fresh burst. Counters carried over (5 passed, 1 dropped before). */
	fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP),
		  "burst used before the reload");
	cr_assert_eq(fx_pkts(&f, slot, SL_R_LIMIT, SL_O_PASS), 5);
	cr_assert_eq(fx_pkts(&f, slot, SL_R_LIMIT, SL_O_DROP), 2);
	fx_clock(&f, FX_T0 + 100 * FX_MS);
	cr_assert_eq(fx_send_n(&f, h, &pf, 5), 1, "one token 100 ms later, across the reload");

	/* Re-applying the same policy twice more (both generations) changes nothing either. */
	fx_policy(&f, TWO_RULES("b", OTHER(200)));
	fx_policy(&f, TWO_RULES("b", OTHER(200)));
	cr_assert_eq(fx_slot(&f, "default"), slot);
	cr_assert_eq(fx_send_n(&f, h, &pf, 5), 0);
	cr_assert_eq(fx_pkts(&f, slot, SL_R_LIMIT, SL_O_PASS), 6);
	cr_assert_eq(fx_pkts(&f, slot, SL_R_LIMIT, SL_O_DROP), 2 + 4 + 5);
	fx_close(&f);
}

FX_TEST_BOTH(reload, removed_then_readded_rule_starts_fresh)
{
	struct pb_frame pf = udp_from("10.1.1.1");
	struct sl_apply_result res;
	__u32 s_other, s_def;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, TWO_RULES("a", OTHER(10)));
	s_other = fx_slot(&f, "other");
	cr_assert_eq(fx_send_n(&f, h, &pf, 5), 3);
	cr_assert_eq(fx_pkts(&f, s_other, SL_R_LIMIT, SL_O_PASS), 3);

	/* B: "other" removed; its source now falls under "default" (its own fresh bucket). */
	res = fx_policy(&f, TWO_RULES("b", ""));
	cr_assert_eq(res.removed, 1);
	cr_assert_eq(count_buckets_of(&f, s_other), 0, "a removed rule's buckets are deleted");
	s_def = fx_slot(&f, "default");
	fx_expect(&f, h, &pf, FX_WANT(FX_PASS, s_def, SL_R_LIMIT, SL_O_PASS),
		  "source of a removed rule");

	/* C: "other" back: fresh slot state, zero counters, a full burst. */
	res = fx_policy(&f, TWO_RULES("c", OTHER(10)));
	cr_assert_eq(res.added, 1);
	s_other = fx_slot(&f, "other");
	for (__u32 r = 0; r < SL_NR_REASONS; r++)
		for (__u32 o = 0; o < SL_NR_OUTCOMES; o++)
			cr_assert_eq(fx_counter(&f, s_other, r, o).packets, 0,
				     "re-added rule has old counters at %u/%u", r, o);
	cr_assert_eq(fx_send_n(&f, h, &pf, 5), 3, "re-added rule gives a fresh burst");
	cr_assert_eq(fx_pkts(&f, s_other, SL_R_LIMIT, SL_O_PASS), 3);
	cr_assert_eq(fx_pkts(&f, s_other, SL_R_LIMIT, SL_O_DROP), 2);
	fx_close(&f);
}

FX_TEST_BOTH(reload, renamed_rule_gets_a_fresh_slot)
{
	struct pb_frame pf = udp_from("192.0.2.60");
	struct sl_apply_result res;
	__u32 s_old, s_new;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, TWO_RULES("a", ""));
	s_old = fx_slot(&f, "default");
	cr_assert_eq(fx_send_n(&f, h, &pf, 6), 5);

	res = fx_policy(&f, "version: 1\n"
			    "name: renamed\n"
			    "sources:\n"
			    "  - name: everyone\n"
			    "    cidr: [0.0.0.0/0, \"::/0\"]\n"
			    "    rate: 10\n"
			    "    burst: 5\n");
	cr_assert_eq(res.added, 1);
	cr_assert_eq(res.removed, 1);
	cr_assert_eq(res.kept, 0);
	s_new = fx_slot(&f, "everyone");
	cr_assert_neq(s_new, s_old, "a renamed rule reused the old rule's slot");
	cr_assert_eq(count_buckets_of(&f, s_old), 0, "the old name's buckets are deleted");
	for (__u32 r = 0; r < SL_NR_REASONS; r++)
		for (__u32 o = 0; o < SL_NR_OUTCOMES; o++)
			cr_assert_eq(fx_counter(&f, s_new, r, o).packets, 0);
	cr_assert_eq(fx_send_n(&f, h, &pf, 6), 5, "a renamed rule starts with a fresh burst");
	cr_assert_eq(fx_pkts(&f, s_new, SL_R_LIMIT, SL_O_PASS), 5);
	cr_assert_eq(fx_pkts(&f, s_new, SL_R_LIMIT, SL_O_DROP), 1);
	fx_close(&f);
}

/* A kept rule whose aggregation prefix changes keeps its slot and counters but not its buckets:
 * the old aggregates no longer mean the same thing. */
FX_TEST_BOTH(reload, kept_rule_with_new_prefix_loses_buckets)
{
	struct pb_frame pf = udp_from("192.0.2.70");
	__u32 slot;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, TWO_RULES("a", ""));
	slot = fx_slot(&f, "default");
	cr_assert_eq(fx_send_n(&f, h, &pf, 6), 5);
	fx_policy(&f, "version: 1\n"
		      "name: b\n"
		      "sources:\n"
		      "  - name: default\n"
		      "    cidr: [0.0.0.0/0, \"::/0\"]\n"
		      "    prefix: {ipv4: 24}\n"
		      "    rate: 10\n"
		      "    burst: 5\n");
	cr_assert_eq(fx_slot(&f, "default"), slot);
	cr_assert_eq(fx_pkts(&f, slot, SL_R_LIMIT, SL_O_PASS), 5);
	cr_assert_eq(count_buckets_of(&f, slot), 0);
	cr_assert_eq(fx_send_n(&f, h, &pf, 6), 5);
	fx_close(&f);
}
