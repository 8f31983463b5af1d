/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet header parsing for the XDP and TC programs: one cursor, one bounds-checking contract. */
#ifndef SLUICE_PARSE_BPF_H
#define SLUICE_PARSE_BPF_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/*
 * Contract. A cursor walks from the start of the frame towards `end`. Every helper checks that
 * the whole header it is about to read lies before `end` before reading a byte of it, advances
 * the cursor past the header, and returns the next protocol number (>= 0) or a negative
 * SL_PKT_* class. Nothing reads through a pointer that has not passed such a check, so the
 * verifier accepts the code and a truncated frame is classified, never read past its end.
 */
struct sl_cursor {
	void *pos;
	void *end;   /* end of the directly readable bytes (the linear area on TC) */
	void *frame; /* start of the frame */
	__u32 len;   /* whole frame length, which on TC may extend past `end` */
};

/* Packet classes, negative so that parsers can return them in place of a protocol number. */
enum {
	SL_PKT_OK = 0,
	SL_PKT_MALFORMED = -1,  /* truncated or invalid header */
	SL_PKT_FRAGMENT = -2,   /* non-first IPv4/IPv6 fragment: no L4 header */
	SL_PKT_UNKNOWN_L3 = -3, /* EtherType we do not parse */
	SL_PKT_NON_IP = -4,     /* ARP: never limited */
};

/* ICMP and ICMPv6 headers: type, code, checksum and 4 bytes of rest-of-header. */
#define SL_ICMP_HLEN 8

/* Headers the parser may need in the linear area (TC): Ethernet, 2 VLANs, IPv6 + ext headers. */
#define SL_PULL_LEN 256

#define SL_MAX_VLAN   2 /* 802.1ad outer + 802.1Q inner */
#define SL_MAX_EXTHDR 6 /* IPv6 extension headers skipped before giving up (malformed) */

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

/* What the classifier needs from a packet. */
struct sl_pkt {
	__u32 saddr[4]; /* network order; IPv4 in saddr[0] */
	__u8 family;    /* SL_AF_INET / SL_AF_INET6 */
	__u8 l4proto;
	__u16 l3_off;   /* offset of the IP header from the frame start */
	__u16 l4_off;   /* offset of the L4 header from the frame start */
	__u16 l4_hlen;  /* TCP/UDP header length; 0 for other protocols */
	__u16 sport;    /* host order; 0 when not TCP/UDP */
	__u16 dport;
};

struct sl_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct sl_ipv6_opt_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct sl_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

#define SL_HAS(c, ptr, len) ((void *)(ptr) + (len) <= (c)->end)

/* Ethernet plus up to SL_MAX_VLAN tags. Returns the EtherType (host order) or SL_PKT_*. */
static __always_inline int sl_parse_eth(struct sl_cursor *c)
{
	struct ethhdr *eth = c->pos;
	struct sl_vlan_hdr *vh;
	__u16 proto;
	int i;

	if (!SL_HAS(c, eth, sizeof(*eth)))
		return SL_PKT_MALFORMED;
	c->pos = eth + 1;
	proto = bpf_ntohs(eth->h_proto);
#pragma unroll
	for (i = 0; i < SL_MAX_VLAN; i++) {
		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		vh = c->pos;
		if (!SL_HAS(c, vh, sizeof(*vh)))
			return SL_PKT_MALFORMED;
		c->pos = vh + 1;
		proto = bpf_ntohs(vh->proto);
	}
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD)
		return SL_PKT_UNKNOWN_L3; /* a third tag: beyond what we parse */
	return proto;
}

/* IPv4 with options. Returns the L4 protocol or SL_PKT_*; fills family and saddr. */
static __always_inline int sl_parse_ipv4(struct sl_cursor *c, struct sl_pkt *p)
{
	struct iphdr *iph = c->pos;
	__u32 hlen, tot;

	if (!SL_HAS(c, iph, sizeof(*iph)))
		return SL_PKT_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5)
		return SL_PKT_MALFORMED;
	hlen = iph->ihl * 4;
	if (!SL_HAS(c, iph, hlen))
		return SL_PKT_MALFORMED;
	tot = bpf_ntohs(iph->tot_len);
	if (tot < hlen || ((void *)iph - c->frame) + tot > c->len)
		return SL_PKT_MALFORMED; /* claims more than the frame holds */
	p->family = SL_AF_INET;
	p->saddr[0] = iph->saddr;
	c->pos = (void *)iph + hlen;
	if (iph->frag_off & bpf_htons(0x1fff))
		return SL_PKT_FRAGMENT;
	return iph->protocol;
}

/* IPv6 and its extension headers. Returns the L4 protocol or SL_PKT_*. */
static __always_inline int sl_parse_ipv6(struct sl_cursor *c, struct sl_pkt *p)
{
	struct ipv6hdr *ip6 = c->pos;
	struct sl_ipv6_opt_hdr *oh;
	struct sl_ipv6_frag_hdr *fh;
	__u8 next;
	int i;

	if (!SL_HAS(c, ip6, sizeof(*ip6)))
		return SL_PKT_MALFORMED;
	if (ip6->version != 6)
		return SL_PKT_MALFORMED;
	if (((void *)(ip6 + 1) - c->frame) + bpf_ntohs(ip6->payload_len) > c->len)
		return SL_PKT_MALFORMED; /* claims more than the frame holds */
	p->family = SL_AF_INET6;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	c->pos = ip6 + 1;
	next = ip6->nexthdr;

	/* SL_MAX_EXTHDR headers to skip, plus one more step to see the protocol after them. */
#pragma unroll
	for (i = 0; i <= SL_MAX_EXTHDR; i++) {
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			oh = c->pos;
			if (!SL_HAS(c, oh, sizeof(*oh)))
				return SL_PKT_MALFORMED;
			if (!SL_HAS(c, oh, (oh->hdrlen + 1) * 8))
				return SL_PKT_MALFORMED;
			next = oh->nexthdr;
			c->pos = (void *)oh + (oh->hdrlen + 1) * 8;
			break;
		case IPPROTO_AH:
			oh = c->pos;
			if (!SL_HAS(c, oh, sizeof(*oh)))
				return SL_PKT_MALFORMED;
			if (!SL_HAS(c, oh, (oh->hdrlen + 2) * 4))
				return SL_PKT_MALFORMED;
			next = oh->nexthdr;
			c->pos = (void *)oh + (oh->hdrlen + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			fh = c->pos;
			if (!SL_HAS(c, fh, sizeof(*fh)))
				return SL_PKT_MALFORMED;
			if (fh->frag_off & bpf_htons(0xfff8))
				return SL_PKT_FRAGMENT;
			next = fh->nexthdr;
			c->pos = fh + 1;
			break;
		default:
			return next;
		}
	}
	return SL_PKT_MALFORMED; /* more extension headers than SL_MAX_EXTHDR */
}

/* Checks that the L4 header is whole and records ports. Returns SL_PKT_OK or SL_PKT_*. */
static __always_inline int sl_parse_l4(struct sl_cursor *c, struct sl_pkt *p, void *frame,
				       int proto)
{
	struct tcphdr *th;
	struct udphdr *uh;

	p->l4proto = proto;
	p->l4_off = c->pos - frame;
	switch (proto) {
	case IPPROTO_TCP:
		th = c->pos;
		if (!SL_HAS(c, th, sizeof(*th)))
			return SL_PKT_MALFORMED;
		if (th->doff < 5 || !SL_HAS(c, th, th->doff * 4))
			return SL_PKT_MALFORMED;
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
		p->l4_hlen = th->doff * 4;
		break;
	case IPPROTO_UDP:
		uh = c->pos;
		if (!SL_HAS(c, uh, sizeof(*uh)))
			return SL_PKT_MALFORMED;
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
		p->l4_hlen = sizeof(*uh);
		break;
	case IPPROTO_ICMP:
		if (p->family != SL_AF_INET || !SL_HAS(c, c->pos, SL_ICMP_HLEN))
			return SL_PKT_MALFORMED;
		break;
	case IPPROTO_ICMPV6:
		if (p->family != SL_AF_INET6 || !SL_HAS(c, c->pos, SL_ICMP_HLEN))
			return SL_PKT_MALFORMED;
		break;
	default:
		break; /* other protocols are classified by source address alone */
	}
	return SL_PKT_OK;
}

/*
 * Parse a frame. [data, data_end) are the bytes that can be read directly; `len` is the whole
 * frame's length (TC: skb->len, which counts paged data past data_end). Headers must lie in the
 * readable part; length fields are checked against the whole frame. Returns SL_PKT_OK with *p
 * filled, or a negative class. For SL_PKT_FRAGMENT the family and source address are filled
 * too, so fragments can be charged to their source.
 */
static __always_inline int sl_parse(void *data, void *data_end, __u32 len, struct sl_pkt *p)
{
	struct sl_cursor c = { .pos = data, .end = data_end, .frame = data, .len = len };
	int proto;

	proto = sl_parse_eth(&c);
	if (proto < 0)
		return proto;
	p->l3_off = c.pos - data;
	if (proto == ETH_P_IP)
		proto = sl_parse_ipv4(&c, p);
	else if (proto == ETH_P_IPV6)
		proto = sl_parse_ipv6(&c, p);
	else if (proto == ETH_P_ARP)
		return SL_PKT_NON_IP;
	else
		return SL_PKT_UNKNOWN_L3;
	if (proto < 0)
		return proto;
	return sl_parse_l4(&c, p, data, proto);
}

#endif /* SLUICE_PARSE_BPF_H */
