// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Token buckets with injected time: exact admission counts, units, prefix aggregation, rule
 * selection, allow/deny/no-rule and dry-run, on XDP and TC alike. */
#include "fixture.h"

static struct pb_frame udp_from(const char *src)
{
	struct pb_spec s = { .l3 = strchr(src, ':') ? PB_IPV6 : PB_IPV4, .src = src,
			     .l4 = IPPROTO_UDP, .payload = 10 };

	return fx_frame(&s);
}

#define ONE_RULE(rate, burst)                        \
	"version: 1\n"                               \
	"name: bucket\n"                             \
	"sources:\n"                                 \
	"  - name: default\n"                        \
	"    cidr: [0.0.0.0/0, \"::/0\"]\n"          \
	"    rate: " #rate "\n"                      \
	"    burst: " #burst "\n"

FX_TEST_BOTH(bucket, rate10_burst5_exact)
{
	struct pb_frame pf = udp_from("192.0.2.7");
	__u64 t = FX_T0;
	__u32 slot;
	struct fx f;
	int admitted;

	fx_open(&f);
	fx_policy(&f, ONE_RULE(10, 5));
	slot = fx_slot(&f, "default");

	/* t0: exactly the burst. */
	for (int i = 0; i < 5; i++)
		fx_expect(&f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "burst at t0");
	fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), "6th at t0");

	/* +100 ms: one token. */
	t += 100 * FX_MS;
	fx_clock(&f, t);
	fx_expect(&f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "1 after 100 ms");
	fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), "2nd after 100 ms");
	/* 99.999999 ms later: not yet. */
	t += 100 * FX_MS - 1;
	fx_clock(&f, t);
	fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), "1 ns too early");
	t += 1;

	/* Over one second of steady sending (3 tries every 100 ms): exactly the rate, 10. */
	admitted = 0;
	for (int step = 0; step < 10; step++) {
		fx_clock(&f, t);
		admitted += fx_send_n(&f, h, &pf, 3);
		t += 100 * FX_MS;
	}
	cr_assert_eq(admitted, 10, "%s: %d admitted over 1 s at 10 pps, want 10", fx_hook_name(h),
		     admitted);

	/* A pause refills to the burst, never above it: 1 s idle and 10 s idle both give 5. */
	t += FX_SEC;
	fx_clock(&f, t);
	cr_assert_eq(fx_send_n(&f, h, &pf, 20), 5, "after 1 s idle");
	t += 10 * FX_SEC;
	fx_clock(&f, t);
	cr_assert_eq(fx_send_n(&f, h, &pf, 20), 5, "after 10 s idle");

	cr_assert_eq(fx_pkts(&f, slot, SL_R_LIMIT, SL_O_PASS), 5 + 1 + 10 + 5 + 5);
	cr_assert_eq(fx_pkts(&f, slot, SL_R_LIMIT, SL_O_DROP), 1 + 1 + 1 + 20 + 15 + 15);
	cr_assert_eq(fx_pkts(&f, slot, SL_R_LIMIT, SL_O_DRYRUN), 0);
	fx_close(&f);
}

/* A clock that goes backwards never gives tokens. */
FX_TEST_BOTH(bucket, clock_backwards_gives_nothing)
{
	struct pb_frame pf = udp_from("192.0.2.7");
	struct fx f;

	fx_open(&f);
	fx_policy(&f, ONE_RULE(10, 5));
	cr_assert_eq(fx_send_n(&f, h, &pf, 10), 5);
	fx_clock(&f, FX_T0 - 5 * FX_SEC);
	cr_assert_eq(fx_send_n(&f, h, &pf, 10), 0);
	fx_clock(&f, FX_T0 + 100 * FX_MS);
	cr_assert_eq(fx_send_n(&f, h, &pf, 10), 1);
	fx_close(&f);
}

FX_TEST_BOTH(bucket, bytes_unit)
{
	struct pb_spec s = { .l3 = PB_IPV4, .src = "192.0.2.8", .l4 = IPPROTO_UDP,
			     .frame_len = 1000 };
	struct pb_frame pf = fx_frame(&s);
	__u32 slot;
	struct fx f;

	cr_assert_eq(pf.len, 1000);
	fx_open(&f);
	fx_policy(&f, "version: 1\n"
		      "name: bytes\n"
		      "clock: precise\n" /* ns-exact boundaries below; tick_clock tests the other */
		      "sources:\n"
		      "  - name: default\n"
		      "    cidr: 0.0.0.0/0\n"
		      "    unit: bytes\n"
		      "    rate: 1000\n"
		      "    burst: 1514\n");
	slot = fx_slot(&f, "default");
	/* 1514 bytes of burst: one 1000-byte frame, not two. */
	fx_expect(&f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "1000 B at t0");
	fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), "2nd 1000 B at t0");
	/* 514 bytes left, +1 byte per ms: 1000 are there after 486 ms, not after 485. */
	fx_clock(&f, FX_T0 + 485 * FX_MS);
	fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), "1000 B at +485 ms");
	fx_clock(&f, FX_T0 + 486 * FX_MS);
	fx_expect(&f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "1000 B at +486 ms");
	fx_expect(&f, h, &pf, FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), "again at +486 ms");
	cr_assert_eq(fx_counter(&f, slot, SL_R_LIMIT, SL_O_PASS).bytes, 2000);
	cr_assert_eq(fx_counter(&f, slot, SL_R_LIMIT, SL_O_DROP).bytes, 3000);
	fx_close(&f);
}

/* Sources sharing one bucket get the burst between them; others have their own. */
static void shared(struct fx *f, enum fx_hook h, const char *a, const char *b, bool same)
{
	struct pb_frame pa = udp_from(a), pb = udp_from(b);
	int na = fx_send_n(f, h, &pa, 3), nb = fx_send_n(f, h, &pb, 5);

	cr_assert_eq(na, 3, "%s: %d of 3 admitted from a fresh bucket", a, na);
	cr_assert_eq(nb, same ? 2 : 5, "%s after %s: %d admitted, want %d (%s bucket)", b, a, nb,
		     same ? 2 : 5, same ? "shared" : "own");
}

FX_TEST_BOTH(bucket, prefix_aggregation_ipv4)
{
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\n"
		      "name: agg\n"
		      "sources:\n"
		      "  - name: default\n"
		      "    cidr: [0.0.0.0/0]\n"
		      "    prefix: {ipv4: 24}\n"
		      "    rate: 10\n"
		      "    burst: 5\n");
	shared(&f, h, "10.1.1.1", "10.1.1.254", true);
	shared(&f, h, "10.1.2.1", "10.1.3.1", false);
	shared(&f, h, "10.1.4.255", "10.1.5.0", false);
	fx_close(&f);
}

FX_TEST_BOTH(bucket, prefix_aggregation_ipv6)
{
	struct fx f;

	fx_open(&f);
	/* Default prefix for IPv6 is /64. */
	fx_policy(&f, "version: 1\n"
		      "name: agg\n"
		      "sources:\n"
		      "  - name: default\n"
		      "    cidr: [\"::/0\"]\n"
		      "    rate: 10\n"
		      "    burst: 5\n"
		      "  - name: hosts\n"
		      "    cidr: [\"2001:db8:ff::/48\"]\n"
		      "    prefix: {ipv6: 128}\n"
		      "    rate: 10\n"
		      "    burst: 5\n");
	shared(&f, h, "2001:db8:1:1::1", "2001:db8:1:1:ffff:ffff:ffff:ffff", true);
	shared(&f, h, "2001:db8:1:2::1", "2001:db8:1:3::1", false);
	shared(&f, h, "2001:db8:ff:1::1", "2001:db8:ff:1::2", false);
	fx_close(&f);
}

/* Prefix aggregation also on odd lengths and across the 32-bit words of an IPv6 address. */
FX_TEST_BOTH(bucket, prefix_aggregation_odd_lengths)
{
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\n"
		      "name: agg\n"
		      "sources:\n"
		      "  - name: default\n"
		      "    cidr: [0.0.0.0/0, \"::/0\"]\n"
		      "    prefix: {ipv4: 13, ipv6: 45}\n"
		      "    rate: 10\n"
		      "    burst: 5\n");
	shared(&f, h, "10.8.0.1", "10.15.255.255", true);  /* 10.8.0.0/13 */
	shared(&f, h, "10.16.0.1", "10.24.0.1", false);
	shared(&f, h, "2001:db8:8::1", "2001:db8:f:ffff::1", true); /* 2001:db8:8::/45 */
	shared(&f, h, "2001:db8:10::1", "2001:db8:18::1", false);
	fx_close(&f);
}

FX_TEST_BOTH(bucket, longest_prefix_wins)
{
	struct pb_frame narrow4 = udp_from("10.1.2.3"), wide4 = udp_from("10.2.0.1");
	struct pb_frame narrow6 = udp_from("2001:db8:1::5"), wide6 = udp_from("2001:db8:2::5");
	struct pb_frame host = udp_from("10.1.2.4");
	__u32 s_wide, s_narrow, s_host;
	struct fx f;

	fx_open(&f);
	/* Written widest last, so that order in the file cannot be what decides. */
	fx_policy(&f, "version: 1\n"
		      "name: lpm\n"
		      "sources:\n"
		      "  - name: host\n"
		      "    cidr: 10.1.2.4\n"
		      "    action: allow\n"
		      "  - name: narrow\n"
		      "    cidr: [10.1.0.0/16, \"2001:db8:1::/48\"]\n"
		      "    rate: 100\n"
		      "  - name: wide\n"
		      "    cidr: [10.0.0.0/8, \"2001:db8::/32\"]\n"
		      "    rate: 100\n");
	s_wide = fx_slot(&f, "wide");
	s_narrow = fx_slot(&f, "narrow");
	s_host = fx_slot(&f, "host");
	fx_expect(&f, h, &narrow4, FX_WANT(FX_PASS, s_narrow, SL_R_LIMIT, SL_O_PASS), "10.1.2.3");
	fx_expect(&f, h, &wide4, FX_WANT(FX_PASS, s_wide, SL_R_LIMIT, SL_O_PASS), "10.2.0.1");
	fx_expect(&f, h, &narrow6, FX_WANT(FX_PASS, s_narrow, SL_R_LIMIT, SL_O_PASS),
		  "2001:db8:1::5");
	fx_expect(&f, h, &wide6, FX_WANT(FX_PASS, s_wide, SL_R_LIMIT, SL_O_PASS), "2001:db8:2::5");
	fx_expect(&f, h, &host, FX_WANT(FX_PASS, s_host, SL_R_ALLOW, SL_O_PASS), "10.1.2.4/32");
	fx_close(&f);
}

FX_TEST_BOTH(bucket, allow_never_limited)
{
	struct pb_frame p4 = udp_from("192.0.2.10"), p6 = udp_from("2001:db8::10");
	__u32 slot;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\n"
		      "name: allow\n"
		      "sources:\n"
		      "  - name: monitoring\n"
		      "    cidr: [192.0.2.10, \"2001:db8::10\"]\n"
		      "    action: allow\n"
		      "  - name: default\n"
		      "    cidr: [0.0.0.0/0, \"::/0\"]\n"
		      "    rate: 1\n"
		      "    burst: 1\n");
	slot = fx_slot(&f, "monitoring");
	fx_expect(&f, h, &p4, FX_WANT(FX_PASS, slot, SL_R_ALLOW, SL_O_PASS), "allowed ipv4");
	fx_expect(&f, h, &p6, FX_WANT(FX_PASS, slot, SL_R_ALLOW, SL_O_PASS), "allowed ipv6");
	cr_assert_eq(fx_send_n(&f, h, &p4, 500), 500);
	cr_assert_eq(fx_send_n(&f, h, &p6, 500), 500);
	cr_assert_eq(fx_pkts(&f, slot, SL_R_ALLOW, SL_O_PASS), 1002);
	cr_assert_eq(fx_counter(&f, slot, SL_R_ALLOW, SL_O_PASS).bytes,
		     501 * (p4.len + p6.len));
	fx_close(&f);
}

FX_TEST_BOTH(bucket, deny_always_dropped)
{
	struct pb_frame p4 = udp_from("203.0.113.77"), p6 = udp_from("2001:db8:bad::1");
	__u32 slot;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\n"
		      "name: deny\n"
		      "sources:\n"
		      "  - name: blocked\n"
		      "    cidr: [203.0.113.0/24, \"2001:db8:bad::/48\"]\n"
		      "    action: deny\n"
		      "  - name: default\n"
		      "    cidr: [0.0.0.0/0, \"::/0\"]\n"
		      "    rate: 1000\n");
	slot = fx_slot(&f, "blocked");
	fx_expect(&f, h, &p4, FX_WANT(FX_DROP, slot, SL_R_DENY, SL_O_DROP), "denied ipv4");
	fx_expect(&f, h, &p6, FX_WANT(FX_DROP, slot, SL_R_DENY, SL_O_DROP), "denied ipv6");
	cr_assert_eq(fx_send_n(&f, h, &p4, 100), 0);
	cr_assert_eq(fx_pkts(&f, slot, SL_R_DENY, SL_O_DROP), 102);
	fx_close(&f);
}

FX_TEST_BOTH(bucket, no_rule_passes)
{
	struct pb_frame p4 = udp_from("192.0.2.1"), p6 = udp_from("2001:db8::1");
	struct pb_frame in = udp_from("10.9.9.9");
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\n"
		      "name: norule\n"
		      "sources:\n"
		      "  - name: ten\n"
		      "    cidr: 10.0.0.0/8\n"
		      "    action: deny\n");
	fx_expect(&f, h, &p4, FX_WANT(FX_PASS, SL_SLOT_PARSE, SL_R_NO_RULE, SL_O_PASS),
		  "ipv4 outside every rule");
	fx_expect(&f, h, &p6, FX_WANT(FX_PASS, SL_SLOT_PARSE, SL_R_NO_RULE, SL_O_PASS),
		  "ipv6 with an ipv4-only policy");
	fx_expect(&f, h, &in, FX_WANT(FX_DROP, fx_slot(&f, "ten"), SL_R_DENY, SL_O_DROP),
		  "ipv4 inside the rule");
	fx_close(&f);
}

/* Would-drops are passed and counted as dry-run, and do not charge the bucket. */
static void dry_run_checks(struct fx *f, enum fx_hook h, __u32 slot, const char *src)
{
	struct pb_frame pf = udp_from(src);

	fx_expect(f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "dry-run, in burst");
	fx_expect(f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "dry-run, in burst");
	for (int i = 0; i < 50; i++)
		fx_expect(f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_DRYRUN),
			  "dry-run, over burst");
	/* Had the 50 would-drops been charged, the bucket would be 5 s in debt. */
	fx_clock(f, FX_T0 + 100 * FX_MS);
	fx_expect(f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS),
		  "dry-run, one token 100 ms later");
	fx_expect(f, h, &pf, FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_DRYRUN),
		  "dry-run, over again");
}

FX_TEST_BOTH(bucket, rule_dry_run)
{
	struct pb_frame enforced = udp_from("10.0.0.1");
	__u32 slot, s_enf;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\n"
		      "name: dry\n"
		      "sources:\n"
		      "  - name: trial\n"
		      "    cidr: 192.0.2.0/24\n"
		      "    rate: 10\n"
		      "    burst: 2\n"
		      "    dry_run: true\n"
		      "  - name: enforced\n"
		      "    cidr: 10.0.0.0/8\n"
		      "    rate: 10\n"
		      "    burst: 2\n");
	slot = fx_slot(&f, "trial");
	s_enf = fx_slot(&f, "enforced");
	dry_run_checks(&f, h, slot, "192.0.2.3");
	/* The other rule is enforced. */
	cr_assert_eq(fx_send_n(&f, h, &enforced, 2), 2);
	fx_expect(&f, h, &enforced, FX_WANT(FX_DROP, s_enf, SL_R_LIMIT, SL_O_DROP),
		  "rule without dry_run");
	fx_close(&f);
}

FX_TEST_BOTH(bucket, global_dry_run)
{
	struct pb_frame denied = udp_from("203.0.113.1");
	struct pb_spec bad = { .l3 = PB_IPV4, .l4 = IPPROTO_TCP };
	struct pb_spec frag = { .l3 = PB_IPV4, .frag_off = 10, .payload = 8 };
	struct pb_spec unk = { .l3 = PB_RAW, .ethertype = 0x88b5, .payload = 46 };
	struct pb_frame pbad, pfrag = fx_frame(&frag), punk = fx_frame(&unk);
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\n"
		      "name: dry\n"
		      "dry_run: true\n"
		      "malformed: drop\n"
		      "fragments: drop\n"
		      "unknown_ethertype: drop\n"
		      "sources:\n"
		      "  - name: blocked\n"
		      "    cidr: 203.0.113.0/24\n"
		      "    action: deny\n"
		      "  - name: default\n"
		      "    cidr: [0.0.0.0/0, \"::/0\"]\n"
		      "    rate: 10\n"
		      "    burst: 2\n");
	dry_run_checks(&f, h, fx_slot(&f, "default"), "2001:db8::77");
	fx_expect(&f, h, &denied, FX_WANT(FX_PASS, fx_slot(&f, "blocked"), SL_R_DENY, SL_O_DRYRUN),
		  "deny under global dry-run");
	pbad = fx_frame(&bad);
	pbad.data[pbad.l4_off + 12] = 0x40; /* doff 4 */
	fx_expect(&f, h, &pbad,
		  FX_WANT(FX_PASS, SL_SLOT_PARSE, SL_R_MALFORMED, SL_O_DRYRUN),
		  "malformed: drop under global dry-run");
	fx_expect(&f, h, &pfrag, FX_WANT(FX_PASS, SL_SLOT_PARSE, SL_R_FRAGMENT, SL_O_DRYRUN),
		  "fragments: drop under global dry-run");
	fx_expect(&f, h, &punk, FX_WANT(FX_PASS, SL_SLOT_PARSE, SL_R_UNKNOWN_L3, SL_O_DRYRUN),
		  "unknown_ethertype: drop under global dry-run");
	fx_close(&f);
}
