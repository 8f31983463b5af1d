/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Replies to refused TCP segments: RSTs and "429 Too Many Requests" (docs/reject.md). */
#ifndef SLUICE_REJECT_BPF_H
#define SLUICE_REJECT_BPF_H

#include "sluice_abi.h"
#include "bucket.bpf.h"
#include "maps.bpf.h"
#include "parse.bpf.h"
#include "http.bpf.h"

/*
 * A refusal whose action is reset or http429 is answered instead of dropped. Two packets are
 * needed: one to the client (its RST, or the 429 response with FIN) and one to this host's
 * socket (a RST with the sequence number it expects next, so that it closes at once rather
 * than answer with a challenge ACK). From one received segment:
 *
 * - TC clones: the clone becomes the client's packet and leaves by the interface it came in
 *   on (bpf_clone_redirect), the segment itself becomes the socket's RST and goes up.
 * - XDP cannot clone: it answers with one packet per segment and keeps the connection in
 *   sl_rejects_v1. http429: the 429 goes out with XDP_TX; the client's next segment (its ACK
 *   of the response, or its FIN) becomes the socket's RST. reset: the segment becomes the
 *   socket's RST; the client's next segment (its retransmission) gets the client's RST.
 * - Then (both hooks) the client's FIN is acknowledged and its other segments dropped, so that
 *   neither side sees a RST after a clean close, until the entry expires (SL_RJ_TTL_NS).
 *
 * Sequence numbers come from the refused segment: the client's RST or 429 starts at its
 * acknowledgement number (what the client expects next from the server) and acknowledges its
 * payload; the socket's RST carries the segment's own sequence number, which is what the
 * socket expects next because the segment never reached it. docs/reject.md says when this is
 * exact (a request start on an HTTP connection always is) and what happens when it is not.
 *
 * A 429 is sent only on a connection whose socket on this host is established: a spoofed
 * segment cannot make sluice send anything bigger than what it sent. Every reply (RSTs and
 * 429s) is taken from the reply slot's bucket first (sl_rcfg_v1); past it the segment is
 * dropped.
 *
 * The frame is built in the scratch map (rb[], IP header at SL_RB_L3) by code shared by both
 * hooks, then copied over the packet, resized, by the hook's own few lines.
 */

#define SL_TCP_FIN 0x01
#define SL_TCP_SYN 0x02
#define SL_TCP_RST 0x04
#define SL_TCP_PSH 0x08
#define SL_TCP_ACK 0x10

/* The window advertised in replies: the client may send its FIN whatever its scale. */
#define SL_RJ_WINDOW 1024

static __always_inline __u64 sl_rj_now_ns(void)
{
	return sl_now_fine() >> SL_TU_SHIFT;
}

/* The counters of struct sl_rstats, in its order. */
enum { RS_RST, RS_429, RS_LIMITED, RS_NOSOCK, RS_NOTPL, RS_FINACK, RS_FDROP, RS_FAILED, RS_NR };
_Static_assert(sizeof(struct sl_rstats) == RS_NR * sizeof(__u64), "one counter per RS_*");

static __always_inline void sl_rstat(__u32 rslot, __u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&sl_rstats_v1, &rslot);

	if (c)
		c[which & (RS_NR - 1)]++; /* per-CPU: a plain add is exact */
}

/*
 * Read what the replies need from the segment described by sc->pkt (a TCP segment from a
 * client): its connection key (with_key), then its socket tuple, sequence and
 * acknowledgement numbers, flags and link-layer header. Returns 0, or -1 if the headers are
 * not directly readable.
 */
static __always_inline int sl_rj_capture(struct sl_scratch *sc, void *data, void *data_end,
					 int with_key)
{
	__u8 *tcp = data + (sc->pkt.l4_off & 0x1ff), *l2 = data;
	__u32 i;

	if ((void *)(tcp + 20) > data_end || (void *)(l2 + 24) > data_end)
		return -1;
	if (with_key && sl_http_flow_key(&sc->fk, &sc->pkt, data, data_end, 1))
		return -1;
	sc->seq = bpf_ntohl(*(__be32 *)(tcp + 4));
	sc->rj_ack = bpf_ntohl(*(__be32 *)(tcp + 8));
	sc->rj_tflags = tcp[13];
	for (i = 0; i < 24; i++)
		sc->l2[i] = l2[i];
	sc->payload = sc->bytes - sc->pkt.l4_off - sc->pkt.l4_hlen;
	sl_http_tuple(sc);
	return 0;
}

/* Sequence space the segment takes: payload, plus one each for SYN and FIN. */
static __always_inline __u32 sl_rj_seg_end(const struct sl_scratch *sc)
{
	return sc->seq + sc->payload + !!(sc->rj_tflags & SL_TCP_SYN) +
	       !!(sc->rj_tflags & SL_TCP_FIN);
}

static __always_inline __u32 sl_csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/*
 * The verifier follows each way out of a loop separately; a length that comes out of one as a
 * known constant would make everything after it one path per value. Passing it through the
 * scratch map makes it one unknown value again, bounded by the caller.
 */
static __always_inline __u32 sl_rj_launder(struct sl_scratch *sc, __u32 v)
{
	*(volatile __u32 *)&sc->rj_tmp = v;
	return *(volatile __u32 *)&sc->rj_tmp;
}

/* Write v in decimal at rb[o]; returns the digits written (1..20). */
static __always_inline __u32 sl_rj_num(struct sl_scratch *sc, __u32 o, __u64 v)
{
	__u32 n = 0, i;

	for (i = 0; i < 20; i++) { /* bound: 20 digits of a u64, least significant first */
		sc->digits[i] = '0' + v % 10;
		v /= 10;
		n++;
		if (!v)
			break;
	}
	n = sl_rj_launder(sc, n);
	if (n < 1 || n > 20)
		return 0;
	for (i = 0; i < 20; i++) {
		if (i >= n)
			break;
		sc->rb[(o + i) & SL_RB_MASK] = sc->digits[(n - 1 - i) & 31];
	}
	return sl_rj_launder(sc, n) & 31;
}

static __always_inline __u32 sl_rj_lit(struct sl_scratch *sc, __u32 o, const char *s, __u32 n)
{
	__u32 i;

	for (i = 0; i < n; i++)
		sc->rb[(o + i) & SL_RB_MASK] = s[i];
	return n;
}

/* Copy n bytes of a response text, from `from`, to rb[o]. */
static __always_inline void sl_rj_text(struct sl_scratch *sc, __u32 o,
				       const struct sl_reply_tpl *t, __u32 from, __u32 n)
{
	__u32 i;

	for (i = 0; i < SL_REPLY_TEXT; i++) { /* bound: the text's size */
		if (i >= n)
			break;
		sc->rb[(o + i) & SL_RB_MASK] = t->text[(from + i) & (SL_REPLY_TEXT - 1)];
	}
}

/*
 * The 429 response at rb[o]: the text's prefix, "R;t=T\r\nRetry-After: T\r\n\r\n", its body.
 * Returns the payload length, 0 if the text is unusable.
 */
static __always_inline __u32 sl_rj_429(struct sl_scratch *sc, __u32 o, const struct sl_reply_tpl *t)
{
	__u32 plen = sl_rj_launder(sc, t->plen), blen, n;
	__u64 secs = (sc->rj_wait_ns + 999999999ULL) / 1000000000ULL;

	if (plen > SL_REPLY_TEXT)
		return 0;
	if (!secs)
		secs = 1;
	if (secs > 999999999)
		secs = 999999999;
	sl_rj_text(sc, o, t, 0, plen);
	n = sl_rj_launder(sc, plen); /* the loop's exits narrowed plen: make it one value again */
	if (n > SL_REPLY_TEXT)
		return 0;
	n += sl_rj_num(sc, o + n, sc->rj_remain);
	n += sl_rj_lit(sc, o + n, ";t=", 3);
	n += sl_rj_num(sc, o + n, secs);
	n += sl_rj_lit(sc, o + n, "\r\nRetry-After: ", 15);
	n += sl_rj_num(sc, o + n, secs);
	n += sl_rj_lit(sc, o + n, "\r\n\r\n", 4);
	n = sl_rj_launder(sc, n);
	blen = sl_rj_launder(sc, t->blen);
	if (blen > SL_REPLY_TEXT || n > SL_REPLY_TEXT + 80)
		return 0;
	sl_rj_text(sc, o + n, t, t->plen, blen);
	return sl_rj_launder(sc, n + blen);
}

/*
 * Build a frame in rb[]: to the client (from the server's address and port, link-layer
 * addresses swapped) or to this host (as the client sent it), with the given flags, sequence
 * and acknowledgement numbers, and the 429 response of `t` as payload if t is not NULL.
 * Sets sc->rlen to the frame length. Returns 0, or -1 if it does not fit.
 */
static __always_inline int sl_rj_build(struct sl_scratch *sc, int to_client, __u8 flags,
				       __u32 seq, __u32 ack, int with_text)
{
	__u32 l3 = sc->pkt.l3_off & 31, iph, tcp, pl, plen = 0, tlen, len4, i, n1, n2;
	__u8 *rb = sc->rb, *ip, *th;
	__u32 *src, *dst;
	__u16 sp, dp;
	__u64 sum;

	if (l3 > 24 || l3 < 14)
		return -1;
	iph = sc->pkt.family == SL_AF_INET ? 20 : 40;
	tcp = SL_RB_L3 + iph;
	pl = tcp + 20;
	if (with_text) {
		/* sl_rj_body() put it at this very offset. */
		plen = sl_rj_launder(sc, sc->rj_plen);
		if (!plen || plen > SL_REPLY_TEXT + 80)
			return -1;
	}
	if (pl + plen > SL_RB_SIZE - 8)
		return -1;
	tlen = 20 + plen;

	/*
	 * Link layer: the segment's own, addresses swapped towards the client. 24 bytes whatever
	 * its length: what lands past it is overwritten by the IP header below.
	 */
	for (i = 0; i < 24; i++)
		rb[(SL_RB_L3 - l3 + i) & SL_RB_MASK] = sc->l2[i];
	if (to_client) {
		for (i = 0; i < 6; i++) {
			rb[(SL_RB_L3 - l3 + i) & SL_RB_MASK] = sc->l2[6 + i];
			rb[(SL_RB_L3 - l3 + 6 + i) & SL_RB_MASK] = sc->l2[i];
		}
	}
	src = to_client ? sc->fk.saddr : sc->fk.caddr;
	dst = to_client ? sc->fk.caddr : sc->fk.saddr;
	sp = to_client ? sc->fk.sport : sc->fk.cport;
	dp = to_client ? sc->fk.cport : sc->fk.sport;

	/* IP header, and the TCP pseudo-header in ph[] for the checksum. */
	ip = rb + SL_RB_L3;
	__builtin_memset(sc->ph, 0, sizeof(sc->ph));
	if (sc->pkt.family == SL_AF_INET) {
		ip[0] = 0x45;
		ip[1] = 0;
		*(__be16 *)(ip + 2) = bpf_htons(20 + tlen);
		*(__be16 *)(ip + 4) = 0;
		*(__be16 *)(ip + 6) = bpf_htons(0x4000); /* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		*(__be16 *)(ip + 10) = 0;
		*(__u32 *)(ip + 12) = src[0];
		*(__u32 *)(ip + 16) = dst[0];
		sum = bpf_csum_diff(NULL, 0, (__be32 *)ip, 20, 0);
		*(__u16 *)(ip + 10) = sl_csum_fold(sum);
		*(__u32 *)(sc->ph + 0) = src[0];
		*(__u32 *)(sc->ph + 4) = dst[0];
		sc->ph[9] = IPPROTO_TCP;
		*(__be16 *)(sc->ph + 10) = bpf_htons(tlen);
		sum = bpf_csum_diff(NULL, 0, (__be32 *)sc->ph, 12, 0);
	} else {
		*(__be32 *)ip = bpf_htonl(0x60000000);
		*(__be16 *)(ip + 4) = bpf_htons(tlen);
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		__builtin_memcpy(ip + 8, src, 16);
		__builtin_memcpy(ip + 24, dst, 16);
		__builtin_memcpy(sc->ph, src, 16);
		__builtin_memcpy(sc->ph + 16, dst, 16);
		*(__be32 *)(sc->ph + 32) = bpf_htonl(tlen);
		sc->ph[39] = IPPROTO_TCP;
		sum = bpf_csum_diff(NULL, 0, (__be32 *)sc->ph, 40, 0);
	}

	th = rb + (tcp & 127);
	*(__be16 *)(th + 0) = bpf_htons(sp);
	*(__be16 *)(th + 2) = bpf_htons(dp);
	*(__be32 *)(th + 4) = bpf_htonl(seq);
	*(__be32 *)(th + 8) = bpf_htonl(ack);
	th[12] = 5 << 4;
	th[13] = flags;
	*(__be16 *)(th + 14) = bpf_htons(flags & SL_TCP_RST ? 0 : SL_RJ_WINDOW);
	*(__be16 *)(th + 16) = 0;
	*(__be16 *)(th + 18) = 0;
	/* Zero up to the next multiple of 4: bpf_csum_diff() sums whole words. */
	for (i = 0; i < 4; i++)
		rb[(pl + plen + i) & SL_RB_MASK] = 0;
	len4 = (tlen + 3) & ~3U;
	n1 = len4 > 512 ? 512 : len4;
	n2 = len4 - n1;
	if (n1 > 512 || n2 > 512 || (tcp & 127) + len4 > SL_RB_SIZE)
		return -1;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)th, n1 & 0x3fc, sum);
	if (n2)
		sum = bpf_csum_diff(NULL, 0, (__be32 *)(th + 512), n2 & 0x1fc, sum);
	*(__u16 *)(th + 16) = sl_csum_fold(sum);
	sc->rlen = l3 + iph + tlen;
	return 0;
}

/* sl_rj_build() as a global function, verified once. */
__attribute__((noinline)) int sl_rj_make(__u32 to_client, __u32 flags, __u32 seq, __u32 ack,
					 __u32 with_text)
{
	struct sl_scratch *sc;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	if (!sc)
		return -1;
	return sl_rj_build(sc, to_client, flags, seq, ack, with_text);
}

/*
 * The 429 response of the refusing limit (sc->rk) as the payload of the frame sl_rj_make()
 * builds next: sets sc->rj_plen. Returns 0, or -1 without a usable text.
 */
__attribute__((noinline)) int sl_rj_body(void)
{
	const struct sl_reply_tpl *t;
	struct sl_scratch *sc;
	__u32 zero = 0, pl;

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	if (!sc)
		return -1;
	t = bpf_map_lookup_elem(&sl_reply_v1, &sc->rk);
	if (!t)
		return -1;
	pl = SL_RB_L3 + (sc->pkt.family == SL_AF_INET ? 20 : 40) + 20;
	sc->rj_plen = sl_rj_429(sc, pl, t);
	return sc->rj_plen ? 0 : -1;
}

/* The reply slot's bucket: 1 if one more reply may go out now. */
static __always_inline int sl_rj_allowed(struct sl_scratch *sc, const struct sl_config *cfg,
					 __u32 gen)
{
	__u32 idx = (gen & 1) * SL_NR_RSLOTS + sc->rj_rslot, slot = sc->rj_rslot;
	const struct sl_gcfg *g = &cfg->g[gen & 1];
	const struct sl_rcfg *rc;
	struct sl_bucket *b;
	__u64 seen;

	if (sc->rj_rslot >= SL_NR_RSLOTS)
		return 0;
	rc = bpf_map_lookup_elem(&sl_rcfg_v1, &idx);
	b = bpf_map_lookup_elem(&sl_rtat_v1, &slot);
	if (!rc || !b || !rc->lim.interval)
		return 0;
	return sl_bucket_take(b, sl_http_now(rc->flags, g),
			      sl_gcra_charge(1, rc->lim.interval, rc->lim.shift), rc->lim.tau,
			      &seen) == SL_TAKE_OK;
}

/* Whether this host has an established socket for the segment's connection. */
static __always_inline int sl_rj_established(void *ctx, struct sl_scratch *sc)
{
	__u32 size = sc->pkt.family == SL_AF_INET ? sizeof(sc->tuple.ipv4) : sizeof(sc->tuple.ipv6);
	struct bpf_sock *sk;
	int est;

	sk = bpf_skc_lookup_tcp(ctx, &sc->tuple, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	est = sk->state == BPF_TCP_ESTABLISHED;
	bpf_sk_release(sk);
	return est;
}

/* The sl_rjseen_v1 slot of a client segment: its source address and both ports, mixed. */
static __always_inline __u32 sl_rj_hash(const struct sl_pkt *p)
{
	__u32 h = p->saddr[0] ^ p->saddr[1] ^ p->saddr[2] ^ p->saddr[3];

	h ^= ((__u32)p->sport << 16) | p->dport;
	h *= 0x9e3779b1u;
	return h >> (32 - SL_RJSEEN_BITS);
}

/*
 * Whether the segment's connection may be closing: an entry for a connection of its hash was
 * made less than an entry's lifetime ago. One array read; a collision only costs the lookup.
 */
static __always_inline int sl_rj_recent(const struct sl_pkt *p)
{
	__u32 k = sl_rj_hash(p);
	__u64 *t = bpf_map_lookup_elem(&sl_rjseen_v1, &k);

	return t && *t && bpf_jiffies64() - *t <= SL_RJ_TTL_JIFFIES;
}

static __always_inline void sl_rj_note(struct sl_scratch *sc, __u8 state, __u32 srv_seq)
{
	__u32 k = sl_rj_hash(&sc->pkt);
	__u64 *t = bpf_map_lookup_elem(&sl_rjseen_v1, &k);

	if (t)
		*t = bpf_jiffies64();
	sc->rj.expires_ns = sl_rj_now_ns() + SL_RJ_TTL_NS;
	sc->rj.srv_seq = srv_seq;
	sc->rj.rslot = sc->rj_rslot;
	sc->rj.state = state;
	sc->rj._pad = 0;
	bpf_map_update_elem(&sl_rejects_v1, &sc->fk, &sc->rj, BPF_ANY);
}

/*
 * Resize an XDP frame by delta bytes. Growing, the tail is tried first, then the head (where
 * drivers keep XDP_PACKET_HEADROOM, less the frame's own metadata: ~216 bytes on veth), then
 * both: a 429 can be ~250 bytes longer than a short request, more than either end has on a
 * frame whose tailroom is the skb's (veth, generic XDP). Returns 0 or -1 (frame unchanged).
 */
static __always_inline int sl_rj_resize_xdp(struct xdp_md *ctx, int delta)
{
	int h;

	if (!delta || !bpf_xdp_adjust_tail(ctx, delta))
		return 0;
	if (delta < 0)
		return -1;
	if (!bpf_xdp_adjust_head(ctx, -delta))
		return 0;
	for (h = 192; h >= 64; h -= 64) { /* bound: 3 splits */
		if (h >= delta || bpf_xdp_adjust_head(ctx, -h))
			continue;
		if (!bpf_xdp_adjust_tail(ctx, delta - h))
			return 0;
		bpf_xdp_adjust_head(ctx, h); /* undo: the frame as it was */
	}
	return -1;
}

/* Copy the frame in rb[] over the packet, resizing it. Returns 0 or -1. */
static __always_inline int sl_rj_emit_xdp(struct xdp_md *ctx, struct sl_scratch *sc)
{
	__u32 len = sc->rlen, from = SL_RB_L3 - (sc->pkt.l3_off & 31), i;
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u8 *p;

	if (len > SL_RB_SIZE - 64 || from > SL_RB_L3)
		return -1;
	if (sl_rj_resize_xdp(ctx, (int)len - (int)(data_end - data)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + len != data_end)
		return -1;
	for (i = 0; i < SL_RB_SIZE - 64; i++) { /* bound: the largest frame */
		p = data + i;
		if (i >= len || (void *)(p + 1) > data_end)
			break;
		*p = sc->rb[(from + i) & SL_RB_MASK];
	}
	return 0;
}

static __always_inline int sl_rj_emit_tc(struct __sk_buff *skb, struct sl_scratch *sc)
{
	__u32 len = sc->rlen, from = SL_RB_L3 - (sc->pkt.l3_off & 31);

	if (len > SL_RB_SIZE - 64 || len < 54 || from > SL_RB_L3)
		return -1;
	if (bpf_skb_change_tail(skb, len, 0))
		return -1;
	return bpf_skb_store_bytes(skb, 0, sc->rb + (from & 63), len,
				   BPF_F_RECOMPUTE_CSUM) ? -1 : 0;
}

__attribute__((noinline)) int sl_rj_put_xdp(struct xdp_md *ctx)
{
	struct sl_scratch *sc;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	return sc ? sl_rj_emit_xdp(ctx, sc) : -1;
}

__attribute__((noinline)) int sl_rj_put_tc(struct __sk_buff *skb)
{
	struct sl_scratch *sc;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	return sc ? sl_rj_emit_tc(skb, sc) : -1;
}

/* Build a frame (sl_rj_make) and put it over the packet. Returns 0 or -1. */
static __always_inline int sl_rj_send(void *ctx, int is_tc, __u32 to_client, __u32 flags,
				      __u32 seq, __u32 ack, __u32 with_text)
{
	if (sl_rj_make(to_client, flags, seq, ack, with_text))
		return -1;
	return is_tc ? sl_rj_put_tc(ctx) : sl_rj_put_xdp(ctx);
}

/* How a refusal is answered (sc->rj_how), decided by sl_rj_prep(). */
enum {
	RJ_SYN = 1,   /* a SYN: the client's RST|ACK, nothing else */
	RJ_RESET,     /* RSTs to both sides */
	RJ_429,       /* the 429 response, then the socket's RST */
};

/*
 * Whether and how the refused segment in sc->pkt is answered: its headers read, the action
 * checked against what the segment is, the reply limit taken, and for a 429 the socket and the
 * response text looked up. Sets sc->rj_how; returns 0, or -1 to drop.
 */
static __always_inline int sl_rj_prep(void *ctx, void *data, void *data_end)
{
	const struct sl_httpcfg *hc;
	struct sl_config *cfg;
	struct sl_scratch *sc;
	__u32 zero = 0, gen;
	__u8 *first;

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	cfg = bpf_map_lookup_elem(&sl_config_v1, &zero);
	if (!sc || !cfg || sc->pkt.l4proto != IPPROTO_TCP)
		return -1;
	gen = sc->gen & 1;
	if (sl_rj_capture(sc, data, data_end, 1) || (sc->rj_tflags & SL_TCP_RST))
		return -1;
	if (sc->rj_action == SL_OVER_HTTP429) {
		/* Only a request start on an HTTP port can be answered with a response. */
		hc = bpf_map_lookup_elem(&sl_http_v2, &gen);
		first = data + ((sc->pkt.l4_off + sc->pkt.l4_hlen) & 0x3fff);
		if (!hc || !sc->payload || !sl_http_port(hc, sc->pkt.dport) ||
		    (sc->rj_tflags & SL_TCP_SYN) ||
		    ((void *)(first + 1) <= data_end && !sl_http_maybe_method(*first)))
			return -1;
	} else if (sc->rj_action != SL_OVER_RESET) {
		return -1;
	}
	if (!sl_rj_allowed(sc, cfg, sl_rj_launder(sc, gen) & 1)) {
		sl_rstat(sc->rj_rslot, RS_LIMITED);
		return -1;
	}
	sc->rj_end = sl_rj_seg_end(sc);
	if ((sc->rj_tflags & SL_TCP_SYN) && !(sc->rj_tflags & SL_TCP_ACK)) {
		sc->rj_how = RJ_SYN;
		return 0;
	}
	sc->rj_how = RJ_RESET;
	if (sc->rj_action != SL_OVER_HTTP429)
		return 0;
	if (!sl_rj_established(ctx, sc)) {
		sl_rstat(sc->rj_rslot, RS_NOSOCK);
		return -1;
	}
	sc->rk.gen = gen;
	sc->rk._pad = 0;
	if (!bpf_map_lookup_elem(&sl_reply_v1, &sc->rk)) {
		sl_rstat(sc->rj_rslot, RS_NOTPL);
		return 0; /* no text for this limit: reset instead */
	}
	sc->rj_how = RJ_429;
	return 0;
}

__attribute__((noinline)) int sl_rj_prep_xdp(struct xdp_md *ctx)
{
	return sl_rj_prep(ctx, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
}

__attribute__((noinline)) int sl_rj_prep_tc(struct __sk_buff *skb)
{
	return sl_rj_prep(skb, (void *)(long)skb->data, (void *)(long)skb->data_end);
}

/*
 * A refused segment whose action answers: sc->pkt, bytes, gen, rj_action, rj_rslot, rk,
 * rj_wait_ns and rj_remain are set. Returns the verdict (SL_V_PASS: the segment was rewritten
 * into the socket's RST). Everything lives in the scratch map: this frame stays small, for
 * the stack is shared with the entry program and the builders.
 */
static __always_inline int sl_reject(void *ctx, int is_tc)
{
	struct sl_scratch *sc;
	__u32 zero = 0;

	if (is_tc ? sl_rj_prep_tc(ctx) : sl_rj_prep_xdp(ctx))
		return SL_V_DROP;
	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	if (!sc)
		return SL_V_DROP;
	switch (sc->rj_how) {
	case RJ_SYN: /* no socket yet: the client's RST is all */
		if (sl_rj_send(ctx, is_tc, 1, SL_TCP_RST | SL_TCP_ACK, 0, sc->rj_end, 0))
			goto failed;
		sl_rstat(sc->rj_rslot, RS_RST);
		return SL_V_TX;
	case RJ_429:
		if (sl_rj_body() ||
		    sl_rj_send(ctx, is_tc, 1, SL_TCP_ACK | SL_TCP_PSH | SL_TCP_FIN, sc->rj_ack,
			       sc->rj_end, 1)) {
			/* No room for the response in this frame: reset instead (it only shrinks). */
			sl_rstat(sc->rj_rslot, RS_FAILED);
			sc->rj_how = RJ_RESET;
			goto reset;
		}
		sl_rstat(sc->rj_rslot, RS_429);
		if (!is_tc) {
			/* XDP: the response now, the socket's RST with the client's next segment. */
			sl_rj_note(sc, SL_RJ_SRV_OWED, sc->seq);
			return SL_V_TX;
		}
		break;
	default:
reset:
		if (!is_tc) {
			/* XDP: the socket's RST now, the client's with its next segment. */
			if (sl_rj_send(ctx, 0, 0, SL_TCP_RST, sc->seq, 0, 0))
				goto failed;
			sl_rj_note(sc, SL_RJ_CLI_OWED, sc->seq);
			sl_rstat(sc->rj_rslot, RS_RST);
			return SL_V_PASS;
		}
		if (sl_rj_send(ctx, 1, 1, SL_TCP_RST | SL_TCP_ACK, sc->rj_ack, sc->rj_end, 0))
			goto failed;
		sl_rstat(sc->rj_rslot, RS_RST);
	}
	/* TC: a clone answers the client, the segment itself becomes the socket's RST. */
	if (bpf_clone_redirect(ctx, ((struct __sk_buff *)ctx)->ifindex, 0))
		goto failed;
	if (sl_rj_send(ctx, 1, 0, SL_TCP_RST, sc->seq, 0, 0))
		return SL_V_DROP;
	if (sc->rj_how == RJ_429)
		sl_rj_note(sc, SL_RJ_CLOSING, sc->seq);
	return SL_V_PASS;
failed:
	sl_rstat(sc->rj_rslot, RS_FAILED);
	return SL_V_DROP;
}

__attribute__((noinline)) int sl_reject_xdp(struct xdp_md *ctx)
{
	return sl_reject(ctx, 0);
}

__attribute__((noinline)) int sl_reject_tc(struct __sk_buff *skb)
{
	return sl_reject(skb, 1);
}

/*
 * A TCP segment (sc->pkt, bytes, gen set) of a connection sluice may be closing. Returns
 * SL_V_NONE if it is not one (the segment goes on as any other), else the verdict.
 */
static __always_inline int sl_rj_follow(void *ctx, int is_tc, void *data, void *data_end)
{
	struct sl_scratch *sc;
	struct sl_reject *e;
	__u32 zero = 0, end;

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	if (!sc || sc->pkt.l4proto != IPPROTO_TCP ||
	    sl_http_flow_key(&sc->fk, &sc->pkt, data, data_end, 1))
		return SL_V_NONE;
	/* Most segments are of no closing connection: the key and one lookup, nothing more. */
	e = bpf_map_lookup_elem(&sl_rejects_v1, &sc->fk);
	if (!e || sl_rj_capture(sc, data, data_end, 0))
		return SL_V_NONE;
	sc->rj_rslot = e->rslot;
	/* Expired, or the client opens a new connection on the same ports. */
	if (sl_rj_now_ns() >= e->expires_ns || (sc->rj_tflags & SL_TCP_SYN)) {
		bpf_map_delete_elem(&sl_rejects_v1, &sc->fk);
		return SL_V_NONE;
	}
	if (sc->rj_tflags & SL_TCP_RST) {
		bpf_map_delete_elem(&sl_rejects_v1, &sc->fk);
		sl_rstat(sc->rj_rslot, RS_FDROP);
		return SL_V_DROP;
	}
	end = sl_rj_seg_end(sc);
	switch (e->state) {
	case SL_RJ_SRV_OWED:
		/* The socket's RST, from the client's first segment after the 429. */
		if (sl_rj_send(ctx, is_tc, 0, SL_TCP_RST, e->srv_seq, 0, 0))
			break;
		e->state = SL_RJ_CLOSING;
		return SL_V_PASS;
	case SL_RJ_CLI_OWED:
		if (sl_rj_send(ctx, is_tc, 1, SL_TCP_RST | SL_TCP_ACK, sc->rj_ack, end, 0))
			break;
		bpf_map_delete_elem(&sl_rejects_v1, &sc->fk);
		return SL_V_TX;
	default:
		if (sc->rj_tflags & SL_TCP_FIN) {
			if (sl_rj_send(ctx, is_tc, 1, SL_TCP_ACK, sc->rj_ack, end, 0))
				break;
			sl_rstat(sc->rj_rslot, RS_FINACK);
			return SL_V_TX;
		}
		if (sc->payload) {
			/* Data after the close (a retransmitted request): end it with a RST. */
			if (sl_rj_send(ctx, is_tc, 1, SL_TCP_RST | SL_TCP_ACK, sc->rj_ack, end, 0))
				break;
			bpf_map_delete_elem(&sl_rejects_v1, &sc->fk);
			return SL_V_TX;
		}
		sl_rstat(sc->rj_rslot, RS_FDROP);
		return SL_V_DROP;
	}
	sl_rstat(sc->rj_rslot, RS_FAILED);
	return SL_V_DROP;
}

__attribute__((noinline)) int sl_rj_follow_xdp(struct xdp_md *ctx)
{
	return sl_rj_follow(ctx, 0, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
}

__attribute__((noinline)) int sl_rj_follow_tc(struct __sk_buff *skb)
{
	return sl_rj_follow(skb, 1, (void *)(long)skb->data, (void *)(long)skb->data_end);
}

#endif /* SLUICE_REJECT_BPF_H */
