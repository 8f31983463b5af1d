// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A full aggregate table: new sources share the rule's overflow bucket, established sources keep
 * their own state. */
#include "fixture.h"

#define TABLE_SIZE 8

static struct pb_frame from(const char *fmt, int i)
{
	char src[64];
	struct pb_spec s = { .l3 = PB_IPV4, .src = src, .l4 = IPPROTO_UDP, .payload = 10 };

	snprintf(src, sizeof(src), fmt, i);
	if (strchr(src, ':'))
		s.l3 = PB_IPV6;
	return fx_frame(&s);
}

static long count_buckets(struct fx *f)
{
	struct sl_bkey k, next;
	long n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(f->m.buckets, prev, &next)) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

FX_TEST_BOTH(table, full_table_uses_overflow_bucket)
{
	__u32 slot, s_other;
	struct fx f;

	fx_open_sized(&f, TABLE_SIZE);
	fx_policy(&f, "version: 1\n"
		      "name: full\n"
		      "sources:\n"
		      "  - name: default\n"
		      "    cidr: [0.0.0.0/0, \"::/0\"]\n"
		      "    rate: 10\n"
		      "    burst: 2\n"
		      "    overflow: {rate: 10, burst: 3}\n"
		      "  - name: other\n"
		      "    cidr: 172.16.0.0/12\n"
		      "    rate: 10\n"
		      "    burst: 2\n"
		      "    overflow: {rate: 10, burst: 4}\n");
	slot = fx_slot(&f, "default");
	s_other = fx_slot(&f, "other");

	/* 8 sources fill the table; each uses its own burst of 2 and is then limited. */
	for (int i = 1; i <= TABLE_SIZE; i++) {
		struct pb_frame pf = from("10.0.0.%d", i);
		char what[64];

		snprintf(what, sizeof(what), "established source 10.0.0.%d", i);
		fx_expect(&f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), what);
		fx_expect(&f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), what);
		fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), what);
	}
	cr_assert_eq(count_buckets(&f), TABLE_SIZE);

	/* New sources, together, get the overflow burst (3) at one instant: no fresh burst each. */
	{
		int passed = 0;

		for (int i = 1; i <= 40; i++) {
			struct pb_frame pf = i % 2 ? from("10.1.0.%d", i)
						   : from("2001:db8:%x::1", i);

			passed += fx_send(&f, h, &pf) == FX_PASS;
		}
		cr_assert_eq(passed, 3, "new sources admitted %d, want the overflow burst 3",
			     passed);
		cr_assert_eq(fx_pkts(&f, slot, SL_R_OVERFLOW, SL_O_PASS), 3);
		cr_assert_eq(fx_pkts(&f, slot, SL_R_OVERFLOW, SL_O_DROP), 37);
	}
	{
		struct pb_frame pf = from("10.2.0.%d", 1);

		fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_OVERFLOW, SL_O_DROP),
			  "new source once the overflow bucket is empty");
	}
	cr_assert_eq(count_buckets(&f), TABLE_SIZE, "the table grew past max_entries");

	/* Established sources keep their own (exhausted) state: no fresh burst. */
	for (int i = 1; i <= TABLE_SIZE; i++) {
		struct pb_frame pf = from("10.0.0.%d", i);

		fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP),
			  "established source after the overflow");
	}

	/* Another rule's new sources have that rule's own overflow bucket (burst 4). */
	{
		int passed = 0;

		for (int i = 1; i <= 10; i++) {
			struct pb_frame pf = from("172.16.0.%d", i);

			passed += fx_send(&f, h, &pf) == FX_PASS;
		}
		cr_assert_eq(passed, 4, "rule other: %d new sources admitted, want 4", passed);
		cr_assert_eq(fx_pkts(&f, s_other, SL_R_OVERFLOW, SL_O_PASS), 4);
		cr_assert_eq(fx_pkts(&f, s_other, SL_R_OVERFLOW, SL_O_DROP), 6);
	}

	/* 100 ms later: one token in each established bucket and one in the overflow bucket. */
	fx_clock(&f, FX_T0 + 100 * FX_MS);
	{
		struct pb_frame e1 = from("10.0.0.%d", 1), e2 = from("10.0.0.%d", 8);
		struct pb_frame n1 = from("10.3.0.%d", 1), n2 = from("10.3.0.%d", 2);

		fx_expect(&f, h, &e1, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS),
			  "established source, one token later");
		fx_expect(&f, h, &e1, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP),
			  "established source, token used");
		fx_expect(&f, h, &e2, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS),
			  "another established source, one token later");
		fx_expect(&f, h, &n1, FX_WANT(FX_PASS, slot, SL_R_OVERFLOW, SL_O_PASS),
			  "new source, one overflow token later");
		fx_expect(&f, h, &n2, FX_WANT(FX_DROP, slot, SL_R_OVERFLOW, SL_O_DROP),
			  "new source, overflow token used");
	}
	fx_close(&f);
}
