// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Traffic generator for BPF_PROG_TEST_RUN live-frames mode: stamps a per-packet source address. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/*
 * Contract with sl_xdpgen.c. The template frame is Ethernet + IPv4 or IPv6 (no options,
 * no extension headers) + UDP, built with the source address `base`. Sent frame k (counted per
 * CPU) gets source base + (k mod n_sources): the IPv4 address, or the IPv6 address's second
 * 32-bit word (bits 32..63, so every source is its own /64). Live frames are not reset to the
 * template between runs, so every field is written from the template values, never from the
 * frame's current content. IPv4 UDP checksums are 0 (none); the IPv6 one is adjusted.
 */
const volatile __u32 n_sources = 1;
const volatile __u32 is_ipv6;
const volatile __u32 base_addr;   /* host order: IPv4 address, or IPv6 word 1 */
const volatile __u16 base_csum;   /* as in the template: IPv4 header or IPv6 UDP checksum */
const volatile __u16 base_w0;     /* template's address word, the two 16-bit halves, as in memory */
const volatile __u16 base_w1;
const volatile __u64 interval_ns; /* >0: send at most one frame per interval (per CPU) */
const volatile __u32 redirect_ifindex; /* 0: XDP_TX (out of the ingress device); else redirect */

struct gen_state {
	__u64 seq;     /* frames seen by the program */
	__u64 sent;    /* frames returned for transmission */
	__u64 paced;   /* frames held back by pacing (dropped, never sent) */
	__u64 next_ns; /* pacing: earliest time of the next transmission */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gen_state);
} gen_state SEC(".maps");

#define PACE_CATCHUP 32

#define OFF_IP4_CSUM (ETH_HLEN + 10)
#define OFF_IP4_SRC  (ETH_HLEN + 12)
#define OFF_IP6_SRC1 (ETH_HLEN + 8 + 4) /* second 32-bit word of the source address */
#define OFF_UDP6_CSUM (ETH_HLEN + 40 + 6)

/* RFC 1624 incremental update: checksum of the template with its address replaced. */
static __always_inline __u16 csum_replace(__u32 new_addr_be)
{
	__u32 s = (__u16)~base_csum;

	s += (__u16)~base_w0 + (__u16)~base_w1;
	s += (new_addr_be & 0xffff) + (new_addr_be >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

SEC("xdp")
int xdpgen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct gen_state *st;
	__u32 zero = 0, addr;
	__u16 csum;

	st = bpf_map_lookup_elem(&gen_state, &zero);
	if (!st)
		return XDP_ABORTED;
	st->seq++;
	if (interval_ns) {
		__u64 now = bpf_ktime_get_ns();

		if (now < st->next_ns) {
			st->paced++;
			return XDP_DROP;
		}
		/*
		 * After a gap (preemption, the time between test-run calls) catch up with at
		 * most PACE_CATCHUP frames back to back, so the 256-frame veth ring never
		 * overflows, and lose the rest of the gap.
		 */
		if (!st->next_ns)
			st->next_ns = now;
		if (st->next_ns + PACE_CATCHUP * interval_ns < now)
			st->next_ns = now - PACE_CATCHUP * interval_ns;
		st->next_ns += interval_ns;
	}
	/* Sources in turn, counted over sent frames: each gets sent/n_sources, +-1. */
	addr = bpf_htonl(base_addr + (n_sources > 1 ? (__u32)(st->sent % n_sources) : 0));
	csum = csum_replace(addr);
	/* sl_xdpgen never builds a frame too short for these writes. */
	if (is_ipv6) {
		if (data + OFF_UDP6_CSUM + 2 > data_end)
			return XDP_ABORTED;
		*(__u32 *)(data + OFF_IP6_SRC1) = addr;
		*(__u16 *)(data + OFF_UDP6_CSUM) = csum ? csum : 0xffff;
	} else {
		if (data + OFF_IP4_SRC + 4 > data_end)
			return XDP_ABORTED;
		*(__u32 *)(data + OFF_IP4_SRC) = addr;
		*(__u16 *)(data + OFF_IP4_CSUM) = csum;
	}
	st->sent++;
	if (redirect_ifindex)
		return bpf_redirect(redirect_ifindex, 0);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
