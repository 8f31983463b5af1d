// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Truncated frames at every length and invalid header fields: always a defined verdict, always
 * counted as malformed, never read past the end. */
#include "fixture.h"

#define TRUNC_POLICY(extra)                                                  \
	"version: 1\n"                                                       \
	"name: trunc\n" extra "sources:\n"                                   \
	"  - name: all\n"                                                    \
	"    cidr: [0.0.0.0/0, \"::/0\"]\n"                                  \
	"    rate: 1000000000\n"

/*
 * Header kinds the catalogue must cut through at least once (names from pktbuild.c). Not
 * "ethernet": the kernel runs no frame shorter than ETH_HLEN (see fx_run_segs()).
 */
static const char *const must_cut[] = {
	"vlan", "ipv4", "ipv4 options", "ipv6", "ipv6 hop-by-hop", "ipv6 routing",
	"ipv6 destination options", "ipv6 fragment", "ipv6 AH", "tcp", "tcp options", "udp",
	"icmp", "icmpv6",
};
#define N_MUST_CUT (sizeof(must_cut) / sizeof(must_cut[0]))

static void note_cut(bool *seen, const char *layer)
{
	for (size_t i = 0; i < N_MUST_CUT; i++)
		if (!strcmp(must_cut[i], layer))
			seen[i] = true;
}

/*
 * Cut every catalogue frame at every length below its header length, twice: as is (the IP
 * length fields then claim more than the frame holds) and with the IP length fields shrunk to
 * the cut, so that only the cut header itself can tell. Every one must be malformed, with the
 * policy's verdict; the whole headers (payload cut, lengths fixed) must still be classified.
 */
static void truncate_catalogue(enum fx_hook h, bool drop)
{
	struct fx_want bad = FX_WANT(drop ? FX_DROP : FX_PASS, SL_SLOT_PARSE, SL_R_MALFORMED,
				     drop ? SL_O_DROP : SL_O_PASS);
	bool seen[N_MUST_CUT] = {};
	struct fx_case c;
	__u32 all;
	struct fx f;
	int runs = 0;

	fx_open(&f);
	fx_policy(&f, drop ? TRUNC_POLICY("malformed: drop\n") : TRUNC_POLICY(""));
	all = fx_slot(&f, "all");
	for (int i = 0; fx_catalog(i, &c); i++) {
		struct pb_frame full = fx_frame(&c.spec), pf;
		char what[128];

		for (size_t len = 0; len < full.hdr_len; len++) {
			const char *layer = pb_layer_at(&full, len);

			if (!fx_can_run(h, full.data, len))
				continue;
			note_cut(seen, layer);
			for (int fix = 0; fix < 2; fix++) {
				pf = full;
				pb_truncate(&pf, len, fix);
				snprintf(what, sizeof(what), "%s cut at %zu (in %s)%s", c.name, len,
					 layer, fix ? ", ip length fixed" : "");
				fx_expect(&f, h, &pf, bad, what);
				runs++;
			}
		}
		pf = full;
		pb_truncate(&pf, full.hdr_len, true);
		snprintf(what, sizeof(what), "%s cut after its headers (%zu)", c.name,
			 full.hdr_len);
		fx_expect(&f, h, &pf, FX_WANT(FX_PASS, all, SL_R_LIMIT, SL_O_PASS), what);
	}
	for (size_t i = 0; i < N_MUST_CUT; i++)
		cr_expect(seen[i], "no catalogue frame was cut inside a %s header", must_cut[i]);
	cr_log_info("%s: %d truncated frames", fx_hook_name(h), runs);
	fx_close(&f);
}

FX_TEST_BOTH(truncate, every_length_malformed_pass)
{
	truncate_catalogue(h, false);
}

FX_TEST_BOTH(truncate, every_length_malformed_drop)
{
	truncate_catalogue(h, true);
}

/* ARP is never parsed beyond its EtherType: only a cut Ethernet/VLAN header is malformed. */
FX_TEST_BOTH(truncate, arp_and_unknown_ethertype)
{
	struct fx f;

	fx_open(&f);
	fx_policy(&f, TRUNC_POLICY("malformed: drop\nunknown_ethertype: drop\n"));
	for (int vl = 0; vl <= 2; vl++) {
		for (int kind = 0; kind < 2; kind++) {
			struct pb_spec s = { .l3 = kind ? PB_RAW : PB_ARP, .ethertype = 0x88b5,
					     .payload = 28, .n_vlan = vl };
			struct pb_frame full = fx_frame(&s), pf;
			struct fx_want after =
				kind ? FX_WANT(FX_DROP, SL_SLOT_PARSE, SL_R_UNKNOWN_L3, SL_O_DROP)
				     : FX_WANT(FX_PASS, SL_SLOT_PARSE, SL_R_NON_IP, SL_O_PASS);
			char what[96];

			for (size_t len = 0; len <= full.len; len++) {
				if (!fx_can_run(h, full.data, len))
					continue;
				pf = full;
				pb_truncate(&pf, len, false);
				snprintf(what, sizeof(what), "%s behind %d vlans cut at %zu",
					 kind ? "ethertype 0x88b5" : "arp", vl, len);
				if (len < full.l3_off)
					fx_expect(&f, h, &pf,
						  FX_WANT(FX_DROP, SL_SLOT_PARSE, SL_R_MALFORMED,
							  SL_O_DROP),
						  what);
				else
					fx_expect(&f, h, &pf, after, what);
			}
		}
	}
	fx_close(&f);
}

/*
 * The frames the kernel's test run refuses are exactly those fx_can_run() skips: if this fails,
 * a newer kernel runs more of them and the truncation tests could cover them.
 */
FX_TEST_BOTH(truncate, kernel_refuses_exactly_the_skipped_lengths)
{
	static const __u16 types[] = { ETH_P_IP, ETH_P_IPV6, ETH_P_ARP, 0x8100, 0x88a8, 0x88b5 };
	__u8 buf[64] = {};
	struct fx f;

	fx_open(&f);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		buf[12] = (__u8)(types[t] >> 8);
		buf[13] = (__u8)types[t];
		for (__u32 len = 0; len < sizeof(buf); len++) {
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = len,
				    .repeat = 1);
			int err = bpf_prog_test_run_opts(f.prog[h], &o) ? errno : 0;

			cr_assert_eq(err, fx_can_run(h, buf, len) ? 0 : EINVAL,
				     "ethertype %#x, %u bytes: test run errno %d", types[t], len,
				     err);
		}
	}
	fx_close(&f);
}

/* Edit one header field of a built frame, checksums recomputed. */
#define EDIT(pf, off, val) ((pf).data[(off)] = (__u8)(val), pb_fix_csums(&(pf)))

static void put16(__u8 *p, unsigned v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

/* Invalid header fields, each made into one frame. Returns the number of frames. */
static int bad_fields(struct pb_frame *out, const char **names)
{
	struct pb_spec v4 = { .l3 = PB_IPV4, .l4 = IPPROTO_UDP, .payload = 20 };
	struct pb_spec v4o = { .l3 = PB_IPV4, .l4 = IPPROTO_UDP, .ip_optlen = 8, .payload = 20 };
	struct pb_spec v6 = { .l3 = PB_IPV6, .l4 = IPPROTO_UDP, .payload = 20 };
	struct pb_spec t4 = { .l3 = PB_IPV4, .l4 = IPPROTO_TCP, .tcp_optlen = 8, .payload = 20 };
	struct pb_spec t6 = { .l3 = PB_IPV6, .l4 = IPPROTO_TCP, .payload = 20 };
	struct pb_spec ext = { .l3 = PB_IPV6, .l4 = IPPROTO_UDP, .payload = 20, .n_ext = 1,
			       .ext = { { .type = IPPROTO_DSTOPTS } } };
	int n = 0;
	struct pb_frame pf;

#define ADD(name)               \
	do {                    \
		names[n] = name; \
		out[n++] = pf;  \
	} while (0)

	/* IPv4: ihl below 5. */
	for (int ihl = 0; ihl < 5; ihl++) {
		static const char *const nm[] = { "ipv4 ihl 0", "ipv4 ihl 1", "ipv4 ihl 2",
						  "ipv4 ihl 3", "ipv4 ihl 4" };
		pf = fx_frame(&v4);
		EDIT(pf, pf.l3_off, 0x40 | ihl);
		ADD(nm[ihl]);
	}
	/* IPv4 EtherType, other versions in the header. */
	for (int ver = 0; ver < 16; ver += 3) { /* 0, 3, 6, 9, 12, 15 */
		static const char *const nm[] = { "ipv4 version 0", "ipv4 version 3",
						  "ipv4 version 6", "ipv4 version 9",
						  "ipv4 version 12", "ipv4 version 15" };
		pf = fx_frame(&v4);
		EDIT(pf, pf.l3_off, ver << 4 | 5);
		ADD(nm[ver / 3]);
	}
	/* tot_len beyond the frame, by 1 and by a lot. */
	pf = fx_frame(&v4);
	put16(pf.data + pf.l3_off + 2, (unsigned)(pf.len - pf.l3_off + 1));
	pb_fix_csums(&pf);
	ADD("ipv4 tot_len one past the frame");
	pf = fx_frame(&v4);
	put16(pf.data + pf.l3_off + 2, 0xffff);
	pb_fix_csums(&pf);
	ADD("ipv4 tot_len 65535");
	/* tot_len below the header length. */
	pf = fx_frame(&v4);
	put16(pf.data + pf.l3_off + 2, 19);
	pb_fix_csums(&pf);
	ADD("ipv4 tot_len 19 < ihl*4 20");
	pf = fx_frame(&v4);
	put16(pf.data + pf.l3_off + 2, 0);
	pb_fix_csums(&pf);
	ADD("ipv4 tot_len 0");
	pf = fx_frame(&v4o);
	put16(pf.data + pf.l3_off + 2, 27);
	pb_fix_csums(&pf);
	ADD("ipv4 tot_len 27 < ihl*4 28");
	/* ihl larger than the frame's IP part (header claims 60 bytes, frame has 48). */
	pf = fx_frame(&v4);
	EDIT(pf, pf.l3_off, 0x4f);
	ADD("ipv4 ihl 15 past the frame");

	/* IPv6: other versions in the header. */
	for (int ver = 0; ver < 16; ver += 5) { /* 0, 5, 10, 15 */
		static const char *const nm[] = { "ipv6 version 0", "ipv6 version 5",
						  "ipv6 version 10", "ipv6 version 15" };
		pf = fx_frame(&v6);
		EDIT(pf, pf.l3_off, ver << 4);
		ADD(nm[ver / 5]);
	}
	pf = fx_frame(&v6);
	EDIT(pf, pf.l3_off, 4 << 4);
	ADD("ipv6 version 4");
	/* payload_len beyond the frame. */
	pf = fx_frame(&v6);
	put16(pf.data + pf.l3_off + 4, (unsigned)(pf.len - pf.l3_off - 40 + 1));
	pb_fix_csums(&pf);
	ADD("ipv6 payload_len one past the frame");
	pf = fx_frame(&v6);
	put16(pf.data + pf.l3_off + 4, 0xffff);
	pb_fix_csums(&pf);
	ADD("ipv6 payload_len 65535");
	/* An extension header whose length runs past the frame. */
	pf = fx_frame(&ext);
	EDIT(pf, pf.l3_off + 41, 255);
	ADD("ipv6 dstopts hdrlen 255 past the frame");

	/* TCP data offset below 5, and one past the frame. */
	for (int doff = 0; doff < 5; doff++) {
		static const char *const nm4[] = { "ipv4 tcp doff 0", "ipv4 tcp doff 1",
						   "ipv4 tcp doff 2", "ipv4 tcp doff 3",
						   "ipv4 tcp doff 4" };
		static const char *const nm6[] = { "ipv6 tcp doff 0", "ipv6 tcp doff 1",
						   "ipv6 tcp doff 2", "ipv6 tcp doff 3",
						   "ipv6 tcp doff 4" };
		pf = fx_frame(&t4);
		EDIT(pf, pf.l4_off + 12, doff << 4);
		ADD(nm4[doff]);
		pf = fx_frame(&t6);
		EDIT(pf, pf.l4_off + 12, doff << 4);
		ADD(nm6[doff]);
	}
	pf = fx_frame(&t6);
	EDIT(pf, pf.l4_off + 12, 15 << 4); /* 60-byte header, 40 bytes of TCP in the frame */
	ADD("ipv6 tcp doff 15 past the frame");

	/* ICMP of the wrong family: ICMPv4 in IPv6, ICMPv6 in IPv4. */
	{
		struct pb_spec s = { .l3 = PB_IPV6, .l4 = IPPROTO_ICMP, .payload = 8 };

		pf = fx_frame(&s);
		ADD("icmpv4 in ipv6");
		s.l3 = PB_IPV4;
		s.l4 = IPPROTO_ICMPV6;
		pf = fx_frame(&s);
		ADD("icmpv6 in ipv4");
	}
#undef ADD
	return n;
}

static void bad_fields_run(enum fx_hook h, bool drop)
{
	struct fx_want bad = FX_WANT(drop ? FX_DROP : FX_PASS, SL_SLOT_PARSE, SL_R_MALFORMED,
				     drop ? SL_O_DROP : SL_O_PASS);
	struct pb_frame *pf = calloc(64, sizeof(*pf));
	const char *names[64];
	struct fx f;
	int n;

	cr_assert_not_null(pf);
	n = bad_fields(pf, names);
	cr_assert(n <= 64);
	fx_open(&f);
	fx_policy(&f, drop ? TRUNC_POLICY("malformed: drop\n") : TRUNC_POLICY(""));
	for (int i = 0; i < n; i++)
		fx_expect(&f, h, &pf[i], bad, names[i]);
	fx_close(&f);
	free(pf);
}

FX_TEST_BOTH(bad_fields, malformed_pass)
{
	bad_fields_run(h, false);
}

FX_TEST_BOTH(bad_fields, malformed_drop)
{
	bad_fields_run(h, true);
}

/* Near misses that are valid: Ethernet padding after tot_len / payload_len, payload_len 0. */
FX_TEST_BOTH(bad_fields, valid_near_misses)
{
	struct pb_spec v4 = { .l3 = PB_IPV4, .l4 = IPPROTO_UDP, .payload = 4 };
	struct pb_spec v6 = { .l3 = PB_IPV6, .l4 = IPPROTO_TCP };
	struct pb_frame pf;
	__u32 all;
	struct fx f;

	fx_open(&f);
	fx_policy(&f, TRUNC_POLICY("malformed: drop\n"));
	all = fx_slot(&f, "all");

	pf = fx_frame(&v4);
	pf.len = 60; /* minimum Ethernet frame: 14 bytes of padding after the datagram */
	fx_expect(&f, h, &pf, FX_WANT(FX_PASS, all, SL_R_LIMIT, SL_O_PASS),
		  "ipv4 in a padded minimum frame");
	pf = fx_frame(&v4);
	put16(pf.data + pf.l3_off + 2, (unsigned)(pf.len - pf.l3_off)); /* exactly the frame */
	pb_fix_csums(&pf);
	fx_expect(&f, h, &pf, FX_WANT(FX_PASS, all, SL_R_LIMIT, SL_O_PASS),
		  "ipv4 tot_len equal to the frame");
	pf = fx_frame(&v6);
	pf.len += 26; /* padding after the IPv6 payload */
	fx_expect(&f, h, &pf, FX_WANT(FX_PASS, all, SL_R_LIMIT, SL_O_PASS),
		  "ipv6 with trailing padding");
	fx_close(&f);
}
