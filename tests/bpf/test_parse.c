// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Parser classification through the real programs: families, VLANs, options, IPv6 extension
 * headers, fragments, ARP and unknown EtherTypes, on XDP and TC alike. */
#include "fixture.h"

/*
 * The frames' default source (192.0.2.1 / 2001:db8::1) has a rule of its own, so a frame that
 * lands on slot "src" proves the parser read the source address at the right offset; "other"
 * catches every other address. Both admit everything.
 */
#define PARSE_POLICY(extra)                                                  \
	"version: 1\n"                                                       \
	"name: parse\n" extra "sources:\n"                                   \
	"  - name: src\n"                                                    \
	"    cidr: [192.0.2.1/32, \"2001:db8::1/128\"]\n"                    \
	"    rate: 1000000000\n"                                             \
	"  - name: other\n"                                                  \
	"    cidr: [0.0.0.0/0, \"::/0\"]\n"                                  \
	"    rate: 1000000000\n"

static struct fx_want classified(struct fx *f)
{
	return FX_WANT(FX_PASS, fx_slot(f, "src"), SL_R_LIMIT, SL_O_PASS);
}

static struct fx_want parse_slot(int verdict, __u32 reason)
{
	return FX_WANT(verdict, SL_SLOT_PARSE, reason,
		       verdict == FX_DROP ? SL_O_DROP : SL_O_PASS);
}

FX_TEST_BOTH(parse, catalogue_is_classified)
{
	struct fx f;
	struct fx_case c;

	fx_open(&f);
	fx_policy(&f, PARSE_POLICY(""));
	for (int i = 0; fx_catalog(i, &c); i++) {
		struct pb_frame pf = fx_frame(&c.spec);

		fx_expect(&f, h, &pf, classified(&f), c.name);
	}
	fx_close(&f);
}

FX_TEST_BOTH(parse, other_source_goes_to_its_rule)
{
	struct pb_spec s4 = { .l3 = PB_IPV4, .src = "203.0.113.9", .l4 = IPPROTO_TCP };
	struct pb_spec s6 = { .l3 = PB_IPV6, .src = "2001:db8::2", .l4 = IPPROTO_UDP, .n_vlan = 2 };
	struct pb_frame p4 = fx_frame(&s4), p6 = fx_frame(&s6);
	struct fx f;

	fx_open(&f);
	fx_policy(&f, PARSE_POLICY(""));
	fx_expect(&f, h, &p4, FX_WANT(FX_PASS, fx_slot(&f, "other"), SL_R_LIMIT, SL_O_PASS),
		  "ipv4 203.0.113.9");
	fx_expect(&f, h, &p6, FX_WANT(FX_PASS, fx_slot(&f, "other"), SL_R_LIMIT, SL_O_PASS),
		  "ipv6 2001:db8::2 behind 2 vlans");
	fx_close(&f);
}

FX_TEST_BOTH(parse, vlan_tag_types)
{
	static const __u16 tpids[][2] = {
		{ 0x8100, 0 },      { 0x88a8, 0 },      { 0x8100, 0x8100 },
		{ 0x88a8, 0x8100 }, { 0x88a8, 0x88a8 },
	};
	struct fx f;

	fx_open(&f);
	fx_policy(&f, PARSE_POLICY(""));
	for (size_t i = 0; i < sizeof(tpids) / sizeof(tpids[0]); i++) {
		for (int fam = 0; fam < 2; fam++) {
			struct pb_spec s = { .l3 = fam ? PB_IPV6 : PB_IPV4, .l4 = IPPROTO_UDP };
			struct pb_frame pf;
			char what[64];

			s.n_vlan = tpids[i][1] ? 2 : 1;
			s.vlan_tpid[0] = tpids[i][0];
			s.vlan_tpid[1] = tpids[i][1];
			pf = fx_frame(&s);
			snprintf(what, sizeof(what), "ipv%d tags %#x/%#x", fam ? 6 : 4, tpids[i][0],
				 tpids[i][1]);
			fx_expect(&f, h, &pf, classified(&f), what);
		}
	}
	fx_close(&f);
}

FX_TEST_BOTH(parse, ipv4_options_every_ihl)
{
	struct fx f;

	fx_open(&f);
	fx_policy(&f, PARSE_POLICY(""));
	for (int ihl = 5; ihl <= 15; ihl++) {
		for (int l4i = 0; l4i < 3; l4i++) {
			static const int l4s[] = { IPPROTO_UDP, IPPROTO_TCP, IPPROTO_ICMP };
			struct pb_spec s = { .l3 = PB_IPV4, .ip_optlen = (ihl - 5) * 4,
					     .l4 = l4s[l4i], .tcp_optlen = 4 * (ihl - 5),
					     .payload = 5 };
			struct pb_frame pf = fx_frame(&s);
			char what[64];

			snprintf(what, sizeof(what), "ipv4 ihl %d l4 %d", ihl, l4s[l4i]);
			fx_expect(&f, h, &pf, classified(&f), what);
		}
	}
	fx_close(&f);
}

FX_TEST_BOTH(parse, ipv6_each_extension_header)
{
	static const struct pb_ext exts[] = {
		{ .type = IPPROTO_HOPOPTS },
		{ .type = IPPROTO_HOPOPTS, .len = 3 },
		{ .type = IPPROTO_ROUTING },
		{ .type = IPPROTO_ROUTING, .len = 4 },
		{ .type = IPPROTO_DSTOPTS },
		{ .type = IPPROTO_DSTOPTS, .len = 1 },
		{ .type = IPPROTO_FRAGMENT, .mf = true }, /* first fragment: offset 0 */
		{ .type = IPPROTO_AH, .len = 4 },
		{ .type = IPPROTO_AH, .len = 1 },
	};
	struct fx f;

	fx_open(&f);
	fx_policy(&f, PARSE_POLICY(""));
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		for (int l4i = 0; l4i < 3; l4i++) {
			static const int l4s[] = { IPPROTO_UDP, IPPROTO_TCP, IPPROTO_ICMPV6 };
			struct pb_spec s = { .l3 = PB_IPV6, .l4 = l4s[l4i], .n_ext = 1,
					     .payload = 3 };
			struct pb_frame pf;
			char what[64];

			s.ext[0] = exts[i];
			pf = fx_frame(&s);
			snprintf(what, sizeof(what), "ipv6 ext %d len %d, l4 %d", exts[i].type,
				 exts[i].len, l4s[l4i]);
			fx_expect(&f, h, &pf, classified(&f), what);
		}
	}
	fx_close(&f);
}

/* A chain of n extension headers cycling through every type the parser skips. */
static struct pb_spec ext_chain(int n)
{
	static const __u8 types[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING,
				      IPPROTO_AH, IPPROTO_FRAGMENT };
	struct pb_spec s = { .l3 = PB_IPV6, .l4 = IPPROTO_UDP, .n_ext = n, .payload = 4 };

	for (int i = 0; i < n; i++) {
		s.ext[i].type = types[i % sizeof(types)];
		s.ext[i].len = s.ext[i].type == IPPROTO_AH ? 2 : 0;
	}
	return s;
}

/* SL_MAX_EXTHDR (6) extension headers are skipped; a seventh makes the packet malformed. */
#define SL_MAX_EXTHDR_EXPECTED 6

FX_TEST_BOTH(parse, ipv6_chain_up_to_the_bound)
{
	struct fx f;

	fx_open(&f);
	fx_policy(&f, PARSE_POLICY(""));
	for (int n = 1; n <= SL_MAX_EXTHDR_EXPECTED; n++) {
		struct pb_spec s = ext_chain(n);
		struct pb_frame pf = fx_frame(&s);
		char what[64];

		snprintf(what, sizeof(what), "ipv6 with a chain of %d extension headers", n);
		fx_expect(&f, h, &pf, classified(&f), what);
	}
	fx_close(&f);
}

FX_TEST_BOTH(parse, ipv6_chain_over_the_bound_is_malformed)
{
	struct fx f;

	fx_open(&f);
	fx_policy(&f, PARSE_POLICY(""));
	for (int n = SL_MAX_EXTHDR_EXPECTED + 1; n <= PB_MAX_EXT; n++) {
		struct pb_spec s = ext_chain(n);
		struct pb_frame pf = fx_frame(&s);
		char what[64];

		snprintf(what, sizeof(what), "ipv6 with a chain of %d extension headers", n);
		fx_expect(&f, h, &pf, parse_slot(FX_PASS, SL_R_MALFORMED), what);
	}
	fx_policy(&f, PARSE_POLICY("malformed: drop\n"));
	{
		struct pb_spec s = ext_chain(SL_MAX_EXTHDR_EXPECTED + 1);
		struct pb_frame pf = fx_frame(&s);

		fx_expect(&f, h, &pf, parse_slot(FX_DROP, SL_R_MALFORMED),
			  "7 extension headers, malformed: drop");
	}
	fx_close(&f);
}

/* Non-first fragments: IPv4 offset, IPv6 fragment header alone and after other headers. */
static int nonfirst_fragments(struct pb_frame *out)
{
	struct pb_spec s[] = {
		{ .l3 = PB_IPV4, .frag_off = 185, .mf = true, .payload = 64 },
		{ .l3 = PB_IPV4, .frag_off = 1, .payload = 8 },            /* last fragment */
		{ .l3 = PB_IPV4, .frag_off = 0x1fff, .ip_optlen = 8, .payload = 8, .n_vlan = 1 },
		{ .l3 = PB_IPV6, .n_ext = 1, .payload = 64,
		  .ext = { { .type = IPPROTO_FRAGMENT, .frag_off = 181, .mf = true } } },
		{ .l3 = PB_IPV6, .n_ext = 1, .payload = 8,
		  .ext = { { .type = IPPROTO_FRAGMENT, .frag_off = 1 } } },
		{ .l3 = PB_IPV6, .n_ext = 3, .payload = 8, .n_vlan = 2,
		  .ext = { { .type = IPPROTO_HOPOPTS },
			   { .type = IPPROTO_DSTOPTS, .len = 1 },
			   { .type = IPPROTO_FRAGMENT, .frag_off = 0x1fff } } },
	};
	int n = sizeof(s) / sizeof(s[0]);

	for (int i = 0; i < n; i++)
		out[i] = fx_frame(&s[i]);
	return n;
}

FX_TEST_BOTH(parse, nonfirst_fragment_default_pass)
{
	struct pb_frame pf[8];
	int n = nonfirst_fragments(pf);
	struct fx f;

	fx_open(&f);
	fx_policy(&f, PARSE_POLICY(""));
	for (int i = 0; i < n; i++) {
		char what[48];

		snprintf(what, sizeof(what), "non-first fragment #%d", i);
		fx_expect(&f, h, &pf[i], parse_slot(FX_PASS, SL_R_FRAGMENT), what);
	}
	fx_close(&f);
}

FX_TEST_BOTH(parse, nonfirst_fragment_drop)
{
	struct pb_frame pf[8];
	int n = nonfirst_fragments(pf);
	struct fx f;

	fx_open(&f);
	fx_policy(&f, PARSE_POLICY("fragments: drop\n"));
	for (int i = 0; i < n; i++) {
		char what[48];

		snprintf(what, sizeof(what), "non-first fragment #%d, fragments: drop", i);
		fx_expect(&f, h, &pf[i], parse_slot(FX_DROP, SL_R_FRAGMENT), what);
	}
	fx_close(&f);
}

FX_TEST_BOTH(parse, nonfirst_fragment_limit_charges_the_source_rule)
{
	struct pb_frame pf[8];
	int n = nonfirst_fragments(pf);
	__u32 slot;
	struct fx f;

	fx_open(&f);
	/* One bucket per family for "src" (prefix 0): burst 3 is shared by all IPv4 fragments. */
	fx_policy(&f, "version: 1\n"
		      "name: frag\n"
		      "fragments: limit\n"
		      "sources:\n"
		      "  - name: src\n"
		      "    cidr: [192.0.2.0/24, \"2001:db8::/64\"]\n"
		      "    prefix: {ipv4: 0, ipv6: 0}\n"
		      "    rate: 1\n"
		      "    burst: 3\n");
	slot = fx_slot(&f, "src");
	for (int i = 0; i < n; i++) {
		char what[64];

		snprintf(what, sizeof(what), "fragments: limit, fragment #%d within burst", i);
		fx_expect(&f, h, &pf[i], FX_WANT(FX_PASS, slot, SL_R_LIMIT, SL_O_PASS), what);
	}
	/* Each family has used its burst of 3: the next fragment of either is limited. */
	fx_expect(&f, h, &pf[0], FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP),
		  "fragments: limit, ipv4 fragment over the burst");
	fx_expect(&f, h, &pf[3], FX_WANT(FX_DROP, slot, SL_R_LIMIT, SL_O_DROP),
		  "fragments: limit, ipv6 fragment over the burst");
	fx_close(&f);
}

FX_TEST_BOTH(parse, first_fragment_is_classified)
{
	struct pb_spec s[] = {
		{ .l3 = PB_IPV4, .mf = true, .l4 = IPPROTO_UDP, .payload = 64 },
		{ .l3 = PB_IPV4, .mf = true, .l4 = IPPROTO_TCP, .ip_optlen = 4, .payload = 64 },
		{ .l3 = PB_IPV6, .n_ext = 1, .l4 = IPPROTO_UDP, .payload = 64,
		  .ext = { { .type = IPPROTO_FRAGMENT, .mf = true } } },
		{ .l3 = PB_IPV6, .n_ext = 2, .l4 = IPPROTO_ICMPV6, .payload = 64,
		  .ext = { { .type = IPPROTO_HOPOPTS },
			   { .type = IPPROTO_FRAGMENT, .mf = true } } },
	};
	struct fx f;

	fx_open(&f);
	/* Even with fragments dropped, a first fragment carries its L4 header: it is classified. */
	fx_policy(&f, PARSE_POLICY("fragments: drop\n"));
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		struct pb_frame pf = fx_frame(&s[i]);
		char what[48];

		snprintf(what, sizeof(what), "first fragment #%zu", i);
		fx_expect(&f, h, &pf, classified(&f), what);
	}
	fx_close(&f);
}

FX_TEST_BOTH(parse, arp_always_passes)
{
	static const char *const policies[] = {
		PARSE_POLICY(""),
		PARSE_POLICY("unknown_ethertype: drop\nmalformed: drop\nfragments: drop\n"),
	};
	struct fx f;

	fx_open(&f);
	for (int p = 0; p < 2; p++) {
		fx_policy(&f, policies[p]);
		for (int vl = 0; vl <= 2; vl++) {
			struct pb_spec s = { .l3 = PB_ARP, .n_vlan = vl };
			struct pb_frame pf = fx_frame(&s);
			char what[64];

			snprintf(what, sizeof(what), "arp behind %d vlans, policy %d", vl, p);
			fx_expect(&f, h, &pf, parse_slot(FX_PASS, SL_R_NON_IP), what);
		}
	}
	fx_close(&f);
}

/* Frames the parser does not handle: other EtherTypes, and a third VLAN tag. */
static int unknown_frames(struct pb_frame *out)
{
	struct pb_spec s[] = {
		{ .l3 = PB_RAW, .ethertype = 0x88b5, .payload = 46 }, /* local experimental */
		{ .l3 = PB_RAW, .ethertype = 0x8847, .payload = 46 }, /* MPLS */
		{ .l3 = PB_RAW, .ethertype = 0x0000, .payload = 46 }, /* 802.3 length field */
		{ .l3 = PB_RAW, .ethertype = 0x88cc, .payload = 46, .n_vlan = 2 },
		{ .l3 = PB_IPV4, .n_vlan = 3, .l4 = IPPROTO_UDP },     /* third tag */
		{ .l3 = PB_IPV6, .n_vlan = 3, .l4 = IPPROTO_UDP,
		  .vlan_tpid = { 0x8100, 0x8100, 0x8100 } },
		{ .l3 = PB_IPV4, .n_vlan = 3, .l4 = IPPROTO_UDP,
		  .vlan_tpid = { 0x88a8, 0x88a8, 0x88a8 } },
	};
	int n = sizeof(s) / sizeof(s[0]);

	for (int i = 0; i < n; i++)
		out[i] = fx_frame(&s[i]);
	return n;
}

FX_TEST_BOTH(parse, unknown_ethertype_pass_and_drop)
{
	struct pb_frame pf[8];
	int n = unknown_frames(pf);
	struct fx f;

	fx_open(&f);
	fx_policy(&f, PARSE_POLICY(""));
	for (int i = 0; i < n; i++) {
		char what[48];

		snprintf(what, sizeof(what), "unknown l3 #%d, default", i);
		fx_expect(&f, h, &pf[i], parse_slot(FX_PASS, SL_R_UNKNOWN_L3), what);
	}
	fx_policy(&f, PARSE_POLICY("unknown_ethertype: drop\n"));
	for (int i = 0; i < n; i++) {
		char what[48];

		snprintf(what, sizeof(what), "unknown l3 #%d, unknown_ethertype: drop", i);
		fx_expect(&f, h, &pf[i], parse_slot(FX_DROP, SL_R_UNKNOWN_L3), what);
	}
	fx_close(&f);
}
