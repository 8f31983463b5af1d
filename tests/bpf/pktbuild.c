// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Frame builder for the BPF_PROG_TEST_RUN tests: headers, lengths and checksums set right. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "pktbuild.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

#define PB_DEF_SRC4 "192.0.2.1"
#define PB_DEF_DST4 "198.51.100.1"
#define PB_DEF_SRC6 "2001:db8::1"
#define PB_DEF_DST6 "2001:db8:ffff::1"

/* Headers are written byte by byte at known offsets: no alignment assumptions on the buffer. */
static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(__u8 *p, __u32 v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __u32 csum_add(__u32 sum, const __u8 *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (__u32)p[len - 1] << 8;
	return sum;
}

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static void add_layer(struct pb_frame *f, const char *name, size_t off, size_t len)
{
	if (f->n_layers < PB_MAX_LAYER)
		f->layer[f->n_layers++] = (struct pb_layer){ .name = name, .off = off, .len = len };
}

static const char *ext_name(__u8 type)
{
	switch (type) {
	case IPPROTO_HOPOPTS:
		return "ipv6 hop-by-hop";
	case IPPROTO_ROUTING:
		return "ipv6 routing";
	case IPPROTO_DSTOPTS:
		return "ipv6 destination options";
	case IPPROTO_FRAGMENT:
		return "ipv6 fragment";
	case IPPROTO_AH:
		return "ipv6 AH";
	default:
		return "ipv6 ext";
	}
}

static size_t ext_size(const struct pb_ext *e)
{
	if (e->type == IPPROTO_FRAGMENT)
		return 8;
	if (e->type == IPPROTO_AH)
		return ((size_t)e->len + 2) * 4;
	return ((size_t)e->len + 1) * 8;
}

/* Fill one extension header (whose size is ext_size(e)) at p. */
static void put_ext(__u8 *p, const struct pb_ext *e, __u8 next)
{
	size_t sz = ext_size(e);

	memset(p, 0, sz);
	p[0] = next;
	switch (e->type) {
	case IPPROTO_FRAGMENT:
		put16(p + 2, (__u16)(e->frag_off << 3) | (e->mf ? 1 : 0));
		put32(p + 4, 0x5151ce01);
		break;
	case IPPROTO_AH:
		p[1] = e->len;
		put32(p + 4, 0x100);  /* SPI */
		put32(p + 8, 1);      /* sequence number; the rest is the ICV */
		break;
	case IPPROTO_ROUTING:
		p[1] = e->len;
		p[2] = 253; /* routing type reserved for experiments (RFC 4727), segments left 0 */
		break;
	default:
		/* Hop-by-hop and destination options: one PadN option fills the header. */
		p[1] = e->len;
		p[2] = 1;
		p[3] = (__u8)(sz - 4);
		break;
	}
}

static int parse_addr(int family, const char *text, const char *def, __u8 *out)
{
	int af = family == 4 ? AF_INET : AF_INET6;

	return inet_pton(af, text ? text : def, out) == 1 ? 0 : -EINVAL;
}

int pb_build(const struct pb_spec *s, struct pb_frame *f)
{
	__u8 *d = f->data;
	size_t off = 0, ip_off, l4_hlen = 0, ext_total = 0, payload;
	__u16 l3_type;
	int l4 = s->l4 ? s->l4 : IPPROTO_UDP;
	bool has_l4 = true;
	int i;

	memset(f, 0, sizeof(*f));
	f->l4 = -1;
	if (s->n_vlan < 0 || s->n_vlan > PB_MAX_VLAN || s->n_ext < 0 || s->n_ext > PB_MAX_EXT ||
	    s->ip_optlen < 0 || s->ip_optlen > 40 || s->ip_optlen % 4 || s->tcp_optlen < 0 ||
	    s->tcp_optlen > 40 || s->tcp_optlen % 4)
		return -EINVAL;

	switch (s->l3) {
	case PB_IPV4:
		l3_type = ETH_P_IP;
		f->family = 4;
		break;
	case PB_IPV6:
		l3_type = ETH_P_IPV6;
		f->family = 6;
		break;
	case PB_ARP:
		l3_type = ETH_P_ARP;
		break;
	default:
		l3_type = s->ethertype;
		break;
	}

	/* Ethernet and VLAN tags: each type field names what follows it. */
	memcpy(d, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	add_layer(f, "ethernet", 0, ETH_HLEN);
	off = 12;
	for (i = 0; i < s->n_vlan; i++) {
		__u16 tpid = s->vlan_tpid[i];

		if (!tpid)
			tpid = (s->n_vlan > 1 && i == 0) ? ETH_P_8021AD : ETH_P_8021Q;
		put16(d + off, tpid);
		put16(d + off + 2, (__u16)(100 + i)); /* TCI: VLAN id 100, 101, ... */
		add_layer(f, "vlan", off + 2, 4);     /* as parsed: TCI, then the next type */
		off += 4;
	}
	put16(d + off, l3_type);
	off += 2;
	ip_off = off;
	f->l3_off = off;

	if (s->l3 == PB_ARP) {
		static const __u8 arp[28] = {
			0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,        /* Ethernet/IPv4 request */
			0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 192, 0, 2, 1, /* sender */
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 192, 0, 2, 2, /* target */
		};
		memcpy(d + off, arp, sizeof(arp));
		add_layer(f, "arp", off, sizeof(arp));
		f->len = f->hdr_len = off + sizeof(arp);
		return 0;
	}
	if (s->l3 == PB_RAW) {
		payload = s->payload;
		if (s->frame_len > off + payload)
			payload = s->frame_len - off;
		if (off + payload > PB_MAX_FRAME)
			return -EINVAL;
		for (size_t k = 0; k < payload; k++)
			d[off + k] = (__u8)k;
		f->len = off + payload;
		f->hdr_len = off;
		return 0;
	}

	/* Sizes first, so that the IP length fields can be written in one pass. */
	if (f->family == 4) {
		off += 20 + s->ip_optlen;
		has_l4 = s->frag_off == 0;
	} else {
		off += 40;
		for (i = 0; i < s->n_ext; i++) {
			ext_total += ext_size(&s->ext[i]);
			if (s->ext[i].type == IPPROTO_FRAGMENT && s->ext[i].frag_off)
				has_l4 = false;
		}
		off += ext_total;
	}
	if (has_l4) {
		switch (l4) {
		case IPPROTO_TCP:
			l4_hlen = 20 + s->tcp_optlen;
			break;
		case IPPROTO_UDP:
		case IPPROTO_ICMP:
		case IPPROTO_ICMPV6:
			l4_hlen = 8;
			break;
		default:
			l4_hlen = 0;
			break;
		}
	}
	payload = s->payload;
	if (s->frame_len > off + l4_hlen + payload)
		payload = s->frame_len - off - l4_hlen;
	if (off + l4_hlen + payload > PB_MAX_FRAME)
		return -EINVAL;
	f->len = off + l4_hlen + payload;
	f->hdr_len = off + l4_hlen;

	if (f->family == 4) {
		__u8 *ip = d + ip_off;

		memset(ip, 0, 20);
		ip[0] = 0x40 | (__u8)(5 + s->ip_optlen / 4);
		put16(ip + 2, (__u16)(f->len - ip_off));
		put16(ip + 4, 0x1234);
		put16(ip + 6, (__u16)((s->mf ? 0x2000 : 0) | (s->frag_off & 0x1fff)));
		ip[8] = 64;
		ip[9] = (__u8)l4;
		if (parse_addr(4, s->src, PB_DEF_SRC4, ip + 12) ||
		    parse_addr(4, s->dst, PB_DEF_DST4, ip + 16))
			return -EINVAL;
		add_layer(f, "ipv4", ip_off, 20);
		if (s->ip_optlen) {
			memset(ip + 20, 1, s->ip_optlen); /* NOP options */
			add_layer(f, "ipv4 options", ip_off + 20, s->ip_optlen);
		}
	} else {
		__u8 *ip = d + ip_off;
		size_t eoff = ip_off + 40;

		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (__u16)(f->len - ip_off - 40));
		ip[6] = s->n_ext ? s->ext[0].type : (__u8)l4;
		ip[7] = 64;
		if (parse_addr(6, s->src, PB_DEF_SRC6, ip + 8) ||
		    parse_addr(6, s->dst, PB_DEF_DST6, ip + 24))
			return -EINVAL;
		add_layer(f, "ipv6", ip_off, 40);
		for (i = 0; i < s->n_ext; i++) {
			__u8 next = i + 1 < s->n_ext ? s->ext[i + 1].type : (__u8)l4;

			put_ext(d + eoff, &s->ext[i], next);
			add_layer(f, ext_name(s->ext[i].type), eoff, ext_size(&s->ext[i]));
			eoff += ext_size(&s->ext[i]);
		}
	}

	if (has_l4 && l4_hlen) {
		__u8 *h = d + off;

		f->l4_off = off;
		f->l4 = l4;
		memset(h, 0, l4_hlen);
		switch (l4) {
		case IPPROTO_TCP:
			put16(h, s->sport ? s->sport : 40000);
			put16(h + 2, s->dport ? s->dport : 80);
			put32(h + 4, 1000);          /* seq */
			put32(h + 8, 2000);          /* ack */
			h[12] = (__u8)((5 + s->tcp_optlen / 4) << 4);
			h[13] = 0x18;                /* PSH|ACK */
			put16(h + 14, 65535);
			add_layer(f, "tcp", off, 20);
			if (s->tcp_optlen) {
				memset(h + 20, 1, s->tcp_optlen); /* NOP options */
				add_layer(f, "tcp options", off + 20, s->tcp_optlen);
			}
			break;
		case IPPROTO_UDP:
			put16(h, s->sport ? s->sport : 40000);
			put16(h + 2, s->dport ? s->dport : 53);
			put16(h + 4, (__u16)(8 + payload));
			add_layer(f, "udp", off, 8);
			break;
		default: /* ICMP / ICMPv6 echo request */
			h[0] = l4 == IPPROTO_ICMP ? 8 : 128;
			put16(h + 4, 0x51);
			put16(h + 6, 1);
			add_layer(f, l4 == IPPROTO_ICMP ? "icmp" : "icmpv6", off, 8);
			break;
		}
	} else if (has_l4) {
		f->l4_off = off;
		f->l4 = l4;
	}
	for (size_t k = 0; k < payload; k++)
		d[f->hdr_len + k] = (__u8)(0xa0 + k);
	pb_fix_csums(f);
	return 0;
}

void pb_fix_csums(struct pb_frame *f)
{
	__u8 *d = f->data;
	__u8 *ip = d + f->l3_off;
	size_t l4_len, end;
	__u32 sum = 0;
	int csum_at;

	if (f->family == 4) {
		size_t ihl = (size_t)(ip[0] & 0x0f) * 4;

		if (f->l3_off + ihl > f->len || ihl < 20)
			return;
		put16(ip + 10, 0);
		put16(ip + 10, csum_fold(csum_add(0, ip, ihl)));
		end = f->l3_off + get16(ip + 2);
	} else if (f->family == 6) {
		if (f->l3_off + 40 > f->len)
			return;
		end = f->l3_off + 40 + get16(ip + 4);
	} else {
		return;
	}
	if (!f->l4_off || f->l4 < 0)
		return;
	if (end > f->len)
		end = f->len;
	if (end <= f->l4_off)
		return;
	l4_len = end - f->l4_off;

	switch (f->l4) {
	case IPPROTO_TCP:
		csum_at = 16;
		break;
	case IPPROTO_UDP:
		csum_at = 6;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		csum_at = 2;
		break;
	default:
		return;
	}
	if (f->l4_off + csum_at + 2 > f->len)
		return;
	/* Pseudo-header, except for ICMPv4. A first fragment's sum covers only what is here. */
	if (f->l4 != IPPROTO_ICMP) {
		if (f->family == 4)
			sum = csum_add(sum, ip + 12, 8);
		else
			sum = csum_add(sum, ip + 8, 32);
		sum += (__u32)f->l4;
		sum += (__u32)(l4_len & 0xffff) + (__u32)(l4_len >> 16);
	}
	put16(d + f->l4_off + csum_at, 0);
	sum = csum_add(sum, d + f->l4_off, l4_len);
	put16(d + f->l4_off + csum_at, csum_fold(sum));
	if (f->l4 == IPPROTO_UDP && get16(d + f->l4_off + 6) == 0)
		put16(d + f->l4_off + 6, 0xffff); /* 0 means "no checksum" for UDP */
}

void pb_truncate(struct pb_frame *f, size_t len, bool fix_lengths)
{
	__u8 *ip = f->data + f->l3_off;

	if (len >= f->len)
		return;
	f->len = len;
	if (!fix_lengths)
		return;
	if (f->family == 4 && f->l3_off + 20 <= len)
		put16(ip + 2, (__u16)(len - f->l3_off));
	else if (f->family == 6 && f->l3_off + 40 <= len)
		put16(ip + 4, (__u16)(len - f->l3_off - 40));
	pb_fix_csums(f);
}

const char *pb_layer_at(const struct pb_frame *f, size_t len)
{
	int i;

	for (i = 0; i < f->n_layers; i++) {
		const struct pb_layer *l = &f->layer[i];

		if (len >= l->off && len < l->off + l->len)
			return l->name;
	}
	return "nothing";
}
