/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A small packet builder for BPF_PROG_TEST_RUN: Ethernet/VLAN/IPv4/IPv6/L4 frames in a buffer. */
#ifndef SLUICE_PKTBUILD_H
#define SLUICE_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PB_MAX_FRAME 4096
#define PB_MAX_VLAN  3  /* one more than the parser accepts, to build the "third tag" case */
#define PB_MAX_EXT   10 /* IPv6 extension headers, a few more than SL_MAX_EXTHDR */
#define PB_MAX_LAYER (2 + PB_MAX_VLAN + PB_MAX_EXT + 4)

enum pb_l3 {
	PB_IPV4 = 0,
	PB_IPV6,
	PB_ARP,
	PB_RAW, /* spec.ethertype followed by the payload bytes */
};

/* One IPv6 extension header. */
struct pb_ext {
	__u8 type;      /* IPPROTO_HOPOPTS, _ROUTING, _DSTOPTS, _FRAGMENT or _AH */
	__u8 len;       /* its length field: 8-byte units after the first 8 (AH: RFC 4302 units) */
	__u16 frag_off; /* fragment only: offset in 8-byte units */
	bool mf;        /* fragment only: more fragments */
};

/*
 * What to build. Zero is a sensible default for every field: an untagged IPv4 UDP packet
 * from 192.0.2.1 to 198.51.100.1 with no payload.
 */
struct pb_spec {
	int n_vlan;                   /* 0..PB_MAX_VLAN tags */
	__u16 vlan_tpid[PB_MAX_VLAN]; /* 0: 0x88a8 for the outer of two, else 0x8100 */
	enum pb_l3 l3;
	__u16 ethertype;              /* PB_RAW only */
	const char *src;              /* source address as text; NULL: a default of the family */
	const char *dst;
	int ip_optlen;                /* IPv4 option bytes: a multiple of 4, at most 40 */
	__u16 frag_off;               /* IPv4: fragment offset, 8-byte units */
	bool mf;                      /* IPv4: more fragments */
	int n_ext;                    /* IPv6 extension headers, in order */
	struct pb_ext ext[PB_MAX_EXT];
	int l4;                       /* IPPROTO_UDP (also 0), _TCP, _ICMP, _ICMPV6, or other */
	int tcp_optlen;               /* TCP option bytes: a multiple of 4, at most 40 */
	__u16 sport, dport;
	size_t payload;               /* bytes after the L4 header */
	size_t frame_len;             /* nonzero: grow the payload so the frame is this long */
};

/* One header of a built frame, for messages ("cut inside ipv6 ext #2"). */
struct pb_layer {
	const char *name;
	size_t off;
	size_t len;
};

struct pb_frame {
	__u8 data[PB_MAX_FRAME];
	size_t len;
	size_t l3_off;  /* start of the IP (or ARP) header */
	size_t l4_off;  /* start of the L4 header; 0 when there is none (non-first fragment) */
	size_t hdr_len; /* end of the last header: every shorter cut truncates a header */
	int family;     /* 4, 6, or 0 for ARP and raw frames */
	int l4;         /* the L4 protocol built (IPPROTO_*), -1 when none */
	int n_layers;
	struct pb_layer layer[PB_MAX_LAYER];
};

/* Build a frame. Returns 0, or -EINVAL for a spec that does not fit (sizes, addresses). */
int pb_build(const struct pb_spec *s, struct pb_frame *f);

/*
 * Cut the frame to `len` bytes. With fix_lengths, the IPv4 tot_len / IPv6 payload_len (when the
 * fixed IP header is still whole) are rewritten to agree with the shorter frame, so that the
 * cut is only visible in the header it falls into, not through the IP length check.
 */
void pb_truncate(struct pb_frame *f, size_t len, bool fix_lengths);

/* Recompute the IPv4 header checksum and the L4 checksum after editing header fields. */
void pb_fix_csums(struct pb_frame *f);

/* Name of the header that a cut at `len` bytes falls into, or "nothing" at hdr_len or beyond. */
const char *pb_layer_at(const struct pb_frame *f, size_t len);

#endif /* SLUICE_PKTBUILD_H */
