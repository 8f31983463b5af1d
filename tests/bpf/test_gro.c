// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* TC sees GRO-merged skbs: one skb of gso_segs segments costs gso_segs packets. */
#include "fixture.h"

/* Skip (with the reason) if this kernel's skb test run does not take gso_segs in the context. */
static void need_gso_ctx(struct fx *f, const struct pb_frame *pf)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct __sk_buff skb = { .gso_segs = 4 };

	o.data_in = pf->data;
	o.data_size_in = pf->len;
	o.ctx_in = &skb;
	o.ctx_size_in = sizeof(skb);
	if (bpf_prog_test_run_opts(f->prog[FX_TC], &o) && errno == EINVAL)
		cr_skip_test("this kernel's BPF_PROG_TEST_RUN rejects __sk_buff.gso_segs: "
			     "GRO accounting not testable here");
	/* The probe ran the program (from a source of its own): counters start from zero. */
	cr_assert_eq(sl_stats_clear(f->m.stats, fx_slot(f, "default")), 0);
}

Test(gro, tc_gso_segs_count_as_packets)
{
	struct pb_spec s = { .l3 = PB_IPV4, .src = "192.0.2.80", .l4 = IPPROTO_TCP,
			     .frame_len = 1400 };
	struct pb_frame pf = fx_frame(&s);
	__u32 slot;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\n"
		      "name: gro\n"
		      "sources:\n"
		      "  - name: default\n"
		      "    cidr: [0.0.0.0/0, \"::/0\"]\n"
		      "    rate: 10\n"
		      "    burst: 10\n");
	slot = fx_slot(&f, "default");
	{
		/* Probe from another source, so its bucket does not disturb the one under test. */
		struct pb_spec ps = s;
		struct pb_frame probe;

		ps.src = "192.0.2.81";
		probe = fx_frame(&ps);
		need_gso_ctx(&f, &probe);
	}

	/* Burst 10 packets: two 4-segment skbs fit (8), a third (12) does not. */
	fx_expect_segs(&f, FX_TC, pf.data, pf.len, 4,
		       FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "gso_segs 4, first");
	fx_expect_segs(&f, FX_TC, pf.data, pf.len, 4,
		       FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "gso_segs 4, second");
	fx_expect_segs(&f, FX_TC, pf.data, pf.len, 4,
		       FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), "gso_segs 4, over the burst");
	/* The 2 packets left still take two plain skbs (gso_segs 0 and 1 both mean one). */
	fx_expect_segs(&f, FX_TC, pf.data, pf.len, 0,
		       FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "gso_segs 0");
	fx_expect_segs(&f, FX_TC, pf.data, pf.len, 1,
		       FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "gso_segs 1");
	fx_expect_segs(&f, FX_TC, pf.data, pf.len, 1,
		       FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), "gso_segs 1, empty");
	cr_assert_eq(fx_pkts(&f, slot, SL_R_LIMIT, SL_O_PASS), 10);
	cr_assert_eq(fx_pkts(&f, slot, SL_R_LIMIT, SL_O_DROP), 5);
	fx_close(&f);
}

/* A byte bucket charges the skb's length, whatever the segment count. */
Test(gro, tc_gso_bytes_unit_charges_length)
{
	struct pb_spec s = { .l3 = PB_IPV6, .src = "2001:db8::80", .l4 = IPPROTO_TCP,
			     .frame_len = 1000 };
	struct pb_frame pf = fx_frame(&s);
	__u32 slot;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\n"
		      "name: gro\n"
		      "sources:\n"
		      "  - name: default\n"
		      "    cidr: [0.0.0.0/0, \"::/0\"]\n"
		      "    unit: bytes\n"
		      "    rate: 1000\n"
		      "    burst: 2500\n");
	slot = fx_slot(&f, "default");
	{
		struct pb_spec ps = s;
		struct pb_frame probe;

		ps.src = "2001:db8:1::81";
		probe = fx_frame(&ps);
		need_gso_ctx(&f, &probe);
	}
	fx_expect_segs(&f, FX_TC, pf.data, pf.len, 8,
		       FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "1000 B in 8 segments");
	fx_expect_segs(&f, FX_TC, pf.data, pf.len, 8,
		       FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), "2000 B in 16 segments");
	fx_expect_segs(&f, FX_TC, pf.data, pf.len, 8,
		       FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP), "3000 B > burst 2500");
	fx_close(&f);
}

/*
 * Generic XDP runs after GRO, so it can see one frame standing for many wire packets. Past the
 * largest attached MTU, the frame counts as ceil(payload / (MTU - headers)) packets.
 */
Test(gro, xdp_aggregate_counts_wire_packets)
{
	/*
	 * 14 Ethernet + 20 IPv4 + 20 TCP + 2,946 payload: 4 segments of 960 at MTU 1000 (the test
	 * run takes frames up to about 3.5 KB, so the MTU is small rather than the frame large).
	 */
	struct pb_spec s = { .l3 = PB_IPV4, .src = "192.0.2.81", .l4 = IPPROTO_TCP,
			     .frame_len = 3000 };
	struct pb_frame pf = fx_frame(&s);
	struct sl_config cfg;
	__u32 slot;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, "version: 1\nname: gro\nsources:\n"
		      "  - {name: default, cidr: 0.0.0.0/0, rate: 100, burst: 100}\n");
	slot = fx_slot(&f, "default");
	cr_assert_eq(sl_config_read(f.m.config, &cfg), 0);
	cfg.max_mtu = 1000;
	cr_assert_eq(sl_config_write(f.m.config, &cfg), 0);
	cr_assert_eq(fx_send(&f, FX_XDP, &pf), FX_PASS);
	cr_assert_eq(fx_pkts(&f, slot, SL_R_LIMIT, SL_O_PASS), 4, "a 4-segment aggregate");
	/* A frame that fits the MTU is one packet, whatever its size. */
	s.frame_len = 1014;
	pf = fx_frame(&s);
	cr_assert_eq(fx_send(&f, FX_XDP, &pf), FX_PASS);
	cr_assert_eq(fx_pkts(&f, slot, SL_R_LIMIT, SL_O_PASS), 5, "a frame within the MTU");
	/* Without a known MTU (nothing attached), every frame is one packet. */
	cfg.max_mtu = 0;
	cr_assert_eq(sl_config_write(f.m.config, &cfg), 0);
	s.frame_len = 3000;
	pf = fx_frame(&s);
	cr_assert_eq(fx_send(&f, FX_XDP, &pf), FX_PASS);
	cr_assert_eq(fx_pkts(&f, slot, SL_R_LIMIT, SL_O_PASS), 6, "no MTU known");
	fx_close(&f);
}
