/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The HTTP layer: request starts on the policy's ports, keys, tenants, groups, flows, bytes. */
#ifndef SLUICE_HTTP_BPF_H
#define SLUICE_HTTP_BPF_H

#include "sluice_http.h"
#include "sluice_siphash.h"
#include "bucket.bpf.h"
#include "maps.bpf.h"
#include "parse.bpf.h"
#include "quota.bpf.h"

/*
 * Scope (docs/http.md). A TCP segment with payload to one of the generation's HTTP ports is
 * either a request start (its payload begins with a method token) or a body segment.
 *
 * - Request start: its first SL_HTTP_SCAN bytes are copied to the per-CPU scratch buffer and
 *   scanned there for the request line and the key (sluice_http.h states the bounds). The key
 *   names the tenant; the path, method and port name the API group. The request must fit the
 *   tenant's request bucket, its bytes bucket (charged the segment's payload) and the group's
 *   limits in order; a refusal by any gives back what the others took, so nothing is charged
 *   for a refused request. No key, or a key no tenant has: the unknown_key bucket of the
 *   source aggregate.
 * - An admitted request puts (or updates) its connection in sl_flows_v1, but only once the
 *   host's socket for it is established (bpf_skc_lookup_tcp, once per connection): spoofed
 *   segments cannot fill the table. Body segments of the connection are charged to the same
 *   tenant's bytes bucket and counters; responses are counted by TC egress.
 * - A request start that repeats the sequence number of the connection's last admitted one is
 *   a TCP retransmission: passed and counted as such, not charged again.
 *
 * Work is split over global (not static) functions, which the verifier checks once each rather
 * than once per path leading to them: sl_http_scan_*() (~190k verifier steps for the scanners)
 * and sl_http_judge_*(). Each is called from the entry program, never from one another, so the
 * 512-byte stack is shared by two frames at most. Everything they hand each other lives in the
 * scratch map.
 */

/* Whether the first payload byte can start a method (G, P, D, H, O): a cheap early exit. */
static __always_inline int sl_http_maybe_method(__u8 c)
{
	return c == 'G' || c == 'P' || c == 'D' || c == 'H' || c == 'O';
}

/*
 * Copy up to SL_HTTP_SCAN payload bytes at `off` into the scratch buffer. Returns the count.
 * TC reads through bpf_skb_load_bytes (paged data too); XDP frames are one linear buffer,
 * copied 8 bytes at a time by a bounded loop (bpf_xdp_load_bytes needs 5.18).
 */
static __always_inline __u32 sl_http_copy(void *ctx, int is_tc, void *data, void *data_end,
					  __u32 off, __u32 avail, __u8 *buf)
{
	__u64 n = avail < SL_HTTP_SCAN ? avail : SL_HTTP_SCAN;
	__u8 *src;
	__u32 i;

	if (is_tc) {
		if (n == 0 || n > SL_HTTP_SCAN)
			return 0;
		return bpf_skb_load_bytes(ctx, off, buf, n) ? 0 : n;
	}
	if (off > 0x3fff)
		return 0;
	src = data + (off & 0x3fff);
	for (i = 0; i < SL_HTTP_SCAN / 8; i++) { /* bound: 64 words */
		if ((void *)(src + 8) > data_end)
			break;
		*(__u64 *)(buf + i * 8) = *(__u64 *)src;
		src += 8;
	}
	i *= 8;
	for (int j = 0; j < 7; j++) { /* the tail, bytewise */
		if ((void *)(src + 1) > data_end || i >= SL_HTTP_SCAN)
			break;
		buf[i & SL_HTTP_MASK] = *src;
		src++;
		i++;
	}
	return i;
}

/*
 * The scan of a request start in the scratch buffer (sl_http_enter() put the segment there).
 * Sets sc->method, path and, from the key, sc->tenant and sc->key_id (SL_TENANT_UNKNOWN and 0
 * without a known key). Returns 1 for a request, 0 when the payload is not one.
 */
static __always_inline int sl_http_scan(void *ctx, int is_tc, void *data, void *data_end)
{
	__u32 zero = 0, off, gen;
	const struct sl_httpcfg *hc;
	const struct sl_config *cfg;
	struct sl_keyval *kv;
	struct sl_scratch *sc;
	int rl, kr;
	__u64 h, bytes;

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	cfg = bpf_map_lookup_elem(&sl_config_v1, &zero);
	if (!sc || !cfg)
		return 0;
	gen = sc->gen & 1;
	hc = bpf_map_lookup_elem(&sl_http_v2, &gen);
	if (!hc)
		return 0;
	bytes = sc->bytes;
	off = sc->pkt.l4_off + sc->pkt.l4_hlen;
	if (bytes <= off)
		return 0;
	sc->tenant = SL_TENANT_UNKNOWN;
	sc->key_id = 0;

	/*
	 * The copy ends in one of ~65 states with a different known length each; laundering the
	 * length through the map makes it one unknown value, so the scanners are verified once.
	 */
	*(volatile __u32 *)&sc->len = sl_http_copy(ctx, is_tc, data, data_end, off, bytes - off,
						   sc->buf);
	rl = sl_http_request_line(sc->buf, *(volatile __u32 *)&sc->len, &sc->method,
				  &sc->path_off, &sc->path_len, &sc->line_end);
	if (rl == SL_HTTP_RL_NOT_REQ)
		return 0;
	kr = sl_http_find_key(sc->buf, *(volatile __u32 *)&sc->len,
			      rl == SL_HTTP_RL_OK ? sc->line_end : 0, hc->key_flags, &sc->key_off,
			      &sc->key_len);
	if (kr == SL_HTTP_KEY_FOUND) {
		sc->sk.k0 = cfg->secret[0];
		sc->sk.k1 = cfg->secret[1];
		h = sl_siphash(&sc->sk, sc->buf, sc->key_off, sc->key_len);
		kv = bpf_map_lookup_elem(&sl_keys_v2, &h);
		if (kv && kv->tenant[gen & 1] < SL_MAX_TENANTS) {
			sc->tenant = kv->tenant[gen & 1];
			sc->key_id = kv->key_id;
		}
	}
	return 1;
}

__attribute__((noinline)) int sl_http_scan_xdp(struct xdp_md *ctx)
{
	return sl_http_scan(ctx, 0, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
}

__attribute__((noinline)) int sl_http_scan_tc(struct __sk_buff *skb)
{
	return sl_http_scan(skb, 1, (void *)(long)skb->data, (void *)(long)skb->data_end);
}

/*
 * Counters of (tenant, group, key id), created on first use; when the table is full, the
 * tenant's overflow cell. NULL only for a tenant index out of range.
 */
static __always_inline struct sl_tstats *sl_tstats_get(struct sl_scratch *sc, __u16 tenant,
						       __u8 group, __u32 key_id)
{
	struct sl_tstats *st;

	sc->tk.tenant = tenant;
	sc->tk.group = group;
	sc->tk._pad = 0;
	sc->tk.key_id = key_id;
	st = bpf_map_lookup_elem(&sl_tstats_v3, &sc->tk);
	if (st)
		return st;
	__builtin_memset(&sc->tzero, 0, sizeof(sc->tzero));
	bpf_map_update_elem(&sl_tstats_v3, &sc->tk, &sc->tzero, BPF_NOEXIST);
	st = bpf_map_lookup_elem(&sl_tstats_v3, &sc->tk);
	if (st)
		return st;
	sc->tidx = tenant;
	return bpf_map_lookup_elem(&sl_tovf_v1, &sc->tidx);
}

static __always_inline __u64 sl_http_now(__u8 flags, const struct sl_gcfg *g)
{
	return (flags & SL_RF_FINE) ? sl_now_fine() : sl_now_tick(g->jiffy_tu);
}

/*
 * Take `cost` from a bucket. Returns the charge taken (> 0, to give back with sl_http_refund()
 * if a later limit refuses), or 0 if refused, with sc->rj_wait_ns the time until the bucket
 * admits the cost again (for Retry-After).
 */
static __always_inline __u64 sl_http_take(struct sl_scratch *sc, __u64 *tat,
					  const struct sl_gcra_params *gp, __u8 flags,
					  const struct sl_gcfg *g, __u64 cost)
{
	__u64 charge = sl_gcra_charge(cost, gp->interval, gp->shift), seen, now;

	now = sl_http_now(flags, g);
	if (sl_bucket_take((struct sl_bucket *)tat, now, charge, gp->tau, &seen) != SL_TAKE_OK) {
		sc->rj_wait_ns = sl_gcra_wait(seen, now, charge, gp->tau) >> SL_TU_SHIFT;
		return 0;
	}
	return charge ? charge : 1;
}

/*
 * Give back a charge. TAT only moves by atomic steps, so subtracting exactly what was added
 * leaves it where it would be had the request never been admitted (or at most at "now", a
 * full bucket, if it had gone idle meanwhile: nothing extra either way).
 */
static __always_inline void sl_http_refund(__u64 *tat, __u64 charge)
{
	__sync_fetch_and_add(tat, -charge);
}

/*
 * The first API group whose match fits the request in the scratch buffer, or SL_GROUP_NONE.
 * Only the policy's groups are tried, and a path is compared only as far as the group's
 * prefix goes, stopping at the first difference: a request costs the bytes of the prefixes it
 * is compared with, not SL_MAX_GROUPS x SL_HTTP_PREFIX_MAX. Run as a global function (below),
 * so the verifier walks these exits once, not once per state of its caller.
 */
static __always_inline __u32 sl_http_group(const struct sl_httpcfg *hc, struct sl_scratch *sc)
{
	const struct sl_groupcfg *gc;
	__u32 i;

	for (i = 0; i < SL_MAX_GROUPS; i++) { /* bound: 16 groups */
		if (i >= hc->n_groups)
			break;
		gc = &hc->groups[i];
		if (gc->port && gc->port != sc->pkt.dport)
			continue;
		if (gc->method && gc->method != sc->method)
			continue;
		if (sl_http_path_prefix(sc->buf, sc->path_off, sc->path_len, (const __u8 *)gc->path,
					gc->path_len))
			return i;
	}
	return SL_GROUP_NONE;
}

/*
 * sl_http_group() for the request in the scratch map, as a global function: verified once, in
 * one state, rather than once for each state in which sl_http_judge() reaches it. Also hides
 * the group's index from the verifier: the caller walks its rest once, not once per group.
 */
__attribute__((noinline)) int sl_http_group_of(__u32 gen)
{
	const struct sl_httpcfg *hc;
	struct sl_scratch *sc;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	gen &= 1;
	hc = bpf_map_lookup_elem(&sl_http_v2, &gen);
	if (!sc || !hc)
		return SL_GROUP_NONE;
	return sl_http_group(hc, sc);
}

/*
 * A tenant's request against its request bucket, its bytes bucket and its group's limits, in
 * that order. Returns SL_O_PASS or the refusal's outcome; a refusal gives back every charge
 * already taken.
 */
static __always_inline int sl_http_tenant(struct sl_scratch *sc, const struct sl_tenant_cfg *tc,
					  struct sl_tenant_state *ts, const struct sl_groupcfg *gc,
					  __u32 gi, const struct sl_gcfg *g, __u64 payload, int dry)
{
	__u64 c_req, c_bytes = 0, *c_grp = sc->c_grp; /* in the scratch map: stack is short */
	int l, refused = 0;

	__builtin_memset(c_grp, 0, sizeof(sc->c_grp));

	/* Which limit refuses, for the reply (reject.bpf.h). */
	sc->rj_action = tc->action;
	sc->rj_remain = 0;
	sc->rk.kind = SL_RK_TENANT;
	sc->rk.idx = sc->tenant;
	sc->rk.sub = 0;
	c_req = sl_http_take(sc, &ts->req_tat, &tc->req, tc->flags, g, 1);
	if (!c_req)
		return dry ? SL_O_DRYRUN : SL_O_DROP;
	if (tc->bytes.interval && payload) {
		c_bytes = sl_http_take(sc, &ts->bytes_tat, &tc->bytes, tc->bytes_flags, g, payload);
		refused = !c_bytes;
		sc->rk.kind = SL_RK_BYTES;
	}
	if (gc && !refused) {
		for (l = 0; l < SL_MAX_GROUP_LIMITS; l++) { /* bound: 4 limits, in order */
			if (l >= gc->n_limits)
				break;
			c_grp[l] = sl_http_take(sc, &ts->group_tat[gi & (SL_MAX_GROUPS - 1)][l],
						&gc->limits[l], gc->limit_flags[l], g, 1);
			if (!c_grp[l]) {
				refused = 1;
				sc->rk.kind = SL_RK_GROUP;
				sc->rk.idx = gi;
				sc->rk.sub = l;
				if (gc->action != SL_OVER_INHERIT)
					sc->rj_action = gc->action;
				break;
			}
		}
	}
	if (!refused)
		return SL_O_PASS;
	sl_http_refund(&ts->req_tat, c_req);
	if (c_bytes)
		sl_http_refund(&ts->bytes_tat, c_bytes);
	for (l = 0; l < SL_MAX_GROUP_LIMITS; l++)
		if (c_grp[l])
			sl_http_refund(&ts->group_tat[gi & (SL_MAX_GROUPS - 1)][l], c_grp[l]);
	return dry ? SL_O_DRYRUN : SL_O_DROP;
}

/* A request with no key or an unknown key: the unknown_key bucket of its source aggregate. */
static __always_inline int sl_http_unknown(const struct sl_httpcfg *hc, struct sl_scratch *sc,
					   const struct sl_gcfg *g, int dry)
{
	struct sl_bucket *b;

	__builtin_memset(&sc->bk, 0, sizeof(sc->bk));
	sc->bk.slot = SL_SLOT_UNKNOWN_KEY;
	sc->bk.family = sc->pkt.family;
	__builtin_memcpy(sc->bk.addr, sc->pkt.saddr, 16);
	sl_prefix_mask((__u32 *)sc->bk.addr,
		       sc->pkt.family == SL_AF_INET ? hc->unknown_prefix4 : hc->unknown_prefix6);
	b = bpf_map_lookup_elem(&sl_buckets_v1, &sc->bk);
	if (!b) {
		sc->fresh.tat = 0;
		bpf_map_update_elem(&sl_buckets_v1, &sc->bk, &sc->fresh, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&sl_buckets_v1, &sc->bk);
	}
	sc->rj_action = hc->unknown_action;
	sc->rj_remain = 0;
	sc->rj_wait_ns = 0;
	sc->rk.kind = SL_RK_UNKNOWN;
	sc->rk.idx = 0;
	sc->rk.sub = 0;
	/* Table full: refuse unknown clients rather than fail open. */
	if (b && sl_http_take(sc, &b->tat, &hc->unknown, hc->unknown_flags, g, 1))
		return SL_O_PASS;
	return dry ? SL_O_DRYRUN : SL_O_DROP;
}

/*
 * Record an admitted request's connection. A new connection is only taken in once the host's
 * socket for it is established: a spoofed or half-open source has none.
 */
static __always_inline void sl_http_flow_note(void *ctx, struct sl_scratch *sc,
					      struct sl_flow *fl, __u32 gi)
{
	struct bpf_sock *sk;
	__u32 size;
	int est;

	if (fl) {
		fl->tenant = sc->tenant;
		fl->group = gi;
		fl->key_id = sc->key_id;
		fl->req_seq = sc->seq;
		return;
	}
	size = sc->pkt.family == SL_AF_INET ? sizeof(sc->tuple.ipv4) : sizeof(sc->tuple.ipv6);
	sk = bpf_skc_lookup_tcp(ctx, &sc->tuple, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return;
	est = sk->state == BPF_TCP_ESTABLISHED;
	bpf_sk_release(sk);
	if (!est)
		return;
	sc->fl.tenant = sc->tenant;
	sc->fl.group = gi;
	sc->fl._pad = 0;
	sc->fl.key_id = sc->key_id;
	sc->fl.req_seq = sc->seq;
	sc->fl._pad2 = 0;
	bpf_map_update_elem(&sl_flows_v1, &sc->fk, &sc->fl, BPF_ANY);
}

/*
 * A body segment: charged to its connection's tenant (bytes bucket, bytes_in). Segments of
 * connections sluice has not seen a request on pass uncounted.
 */
static __always_inline int sl_http_body_seg(struct sl_scratch *sc, const struct sl_gcfg *g,
					    __u32 gen)
{
	const struct sl_tenant_cfg *tc;
	struct sl_tenant_state *ts;
	struct sl_tstats *st;
	struct sl_flow *fl;
	__u32 tidx;

	fl = bpf_map_lookup_elem(&sl_flows_v1, &sc->fk);
	if (!fl)
		return SL_V_PASS;
	st = sl_tstats_get(sc, fl->tenant, fl->group, fl->key_id);
	if (fl->tenant < SL_MAX_TENANTS) {
		tidx = gen * SL_MAX_TENANTS + fl->tenant;
		tc = bpf_map_lookup_elem(&sl_tenants_v1, &tidx);
		tidx = fl->tenant;
		ts = bpf_map_lookup_elem(&sl_tstate_v1, &tidx);
		if (tc && ts && tc->in_use && tc->bytes.interval &&
		    !sl_http_take(sc, &ts->bytes_tat, &tc->bytes, tc->bytes_flags, g, sc->payload)) {
			if (st)
				st->bytes_drop += sc->payload;
			if (sc->dry)
				goto pass;
			/* The server has this request's start: only a reset can end it cleanly. */
			if (tc->action == SL_OVER_DROP)
				return SL_V_DROP;
			sc->rj_action = SL_OVER_RESET;
			sc->rj_rslot = SL_RSLOT_HTTP;
			return SL_V_REPLY;
		}
	}
pass:
	if (st)
		st->bytes_in += sc->payload;
	return SL_V_PASS;
}

/*
 * Judge the segment sl_http_enter() left in the scratch map (a request start that the scan
 * found to be a request, or a body segment). Returns SL_V_PASS or SL_V_DROP.
 */
static __always_inline int sl_http_judge(void *ctx)
{
	const struct sl_groupcfg *gc = NULL;
	const struct sl_tenant_cfg *tc = NULL;
	const struct sl_httpcfg *hc;
	const struct sl_config *cfg;
	struct sl_tenant_state *ts = NULL;
	const struct sl_gcfg *g;
	struct sl_scratch *sc;
	struct sl_tstats *st;
	struct sl_flow *fl;
	__u32 zero = 0, gen, gi, tidx, w;
	int o, quota = 0;

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	cfg = bpf_map_lookup_elem(&sl_config_v1, &zero);
	if (!sc || !cfg)
		return SL_V_PASS;
	gen = sc->gen & 1;
	g = &cfg->g[gen];
	if (!sc->is_req)
		return sl_http_body_seg(sc, g, gen);
	hc = bpf_map_lookup_elem(&sl_http_v2, &gen);
	if (!hc)
		return SL_V_PASS;

	fl = bpf_map_lookup_elem(&sl_flows_v1, &sc->fk);
	gi = sl_http_group_of(gen);
	if (gi < SL_MAX_GROUPS)
		gc = &hc->groups[gi & (SL_MAX_GROUPS - 1)];
	else
		gi = SL_GROUP_NONE;
	if (sc->tenant < SL_MAX_TENANTS) {
		tidx = gen * SL_MAX_TENANTS + sc->tenant;
		tc = bpf_map_lookup_elem(&sl_tenants_v1, &tidx);
		tidx = sc->tenant;
		ts = bpf_map_lookup_elem(&sl_tstate_v1, &tidx);
		/* Not in use: the tenant is leaving with a reload; its key is no longer known. */
		if (!tc || !ts || !tc->in_use) {
			sc->tenant = SL_TENANT_UNKNOWN;
			sc->key_id = 0;
		}
	}
	w = gc ? gc->weight : 1;
	sc->qover = 0;
	if (sc->tenant < SL_MAX_TENANTS && tc && ts) {
		/* Quotas first: a request the quota refuses costs no bucket tokens. */
		quota = sl_quota_take(sc->tenant, w);
		if (quota) {
			o = sc->dry ? SL_O_DRYRUN : SL_O_DROP;
			sc->rj_action = sc->qs[(quota - 1) & (SL_MAX_QUOTAS - 1)].action;
			sc->rk.kind = SL_RK_QUOTA;
			sc->rk.idx = sc->tenant;
			sc->rk.sub = quota - 1;
		} else
			o = sl_http_tenant(sc, tc, ts, gc, gi, g, sc->payload, sc->dry);
		if (!quota && o != SL_O_PASS && sc->qtaken)
			sl_quota_refund(sc->tenant, w);
	} else {
		o = sl_http_unknown(hc, sc, g, sc->dry);
	}

	st = sl_tstats_get(sc, sc->tenant, gi, sc->key_id);
	if (o == SL_O_DROP) {
		if (st) {
			st->req_drop++;
			st->req_quota += quota != 0;
		}
		if (sc->rj_action == SL_OVER_DROP)
			return SL_V_DROP;
		sc->rj_rslot = SL_RSLOT_HTTP;
		return SL_V_REPLY;
	}
	if (st) {
		if (o == SL_O_PASS)
			st->req_pass++;
		else
			st->req_dryrun++;
		st->units += w;
		st->units_over += o == SL_O_PASS && !quota ? sc->qover : 0;
		st->bytes_in += sc->payload;
	}
	sl_http_flow_note(ctx, sc, fl, gi);
	return SL_V_PASS;
}

__attribute__((noinline)) int sl_http_judge_xdp(struct xdp_md *ctx)
{
	return sl_http_judge(ctx);
}

__attribute__((noinline)) int sl_http_judge_tc(struct __sk_buff *skb)
{
	return sl_http_judge(skb);
}

/* Whether `port` is one of the generation's HTTP ports. */
static __always_inline int sl_http_port(const struct sl_httpcfg *hc, __u16 port)
{
	int i, hit = 0;

#pragma unroll
	for (i = 0; i < SL_MAX_HTTP_PORTS; i++)
		hit |= i < hc->n_ports && hc->ports[i] == port;
	return hit;
}

/*
 * The connection key (client, server) of a segment whose parsed source is `a` and destination
 * `b` (read here: struct sl_pkt keeps only the source, the stack is short). Returns 0 or -1
 * when the destination is not in the directly readable bytes.
 */
static __always_inline int sl_http_flow_key(struct sl_flow_key *fk, const struct sl_pkt *p,
					    void *data, void *data_end, int from_client)
{
	__u32 *dst, *cl, *sv;
	void *ip = data + (p->l3_off & 0x1ff);

	__builtin_memset(fk, 0, sizeof(*fk));
	fk->family = p->family;
	cl = from_client ? fk->caddr : fk->saddr;
	sv = from_client ? fk->saddr : fk->caddr;
	if (p->family == SL_AF_INET) {
		if (ip + 20 > data_end)
			return -1;
		dst = ip + 16;
		sv[0] = dst[0];
		cl[0] = p->saddr[0];
	} else {
		if (ip + 40 > data_end)
			return -1;
		dst = ip + 24;
		__builtin_memcpy(sv, dst, 16);
		__builtin_memcpy(cl, p->saddr, 16);
	}
	fk->cport = from_client ? p->sport : p->dport;
	fk->sport = from_client ? p->dport : p->sport;
	return 0;
}

/* The socket tuple (for bpf_skc_lookup_tcp) of the client segment whose key is in sc->fk. */
static __always_inline void sl_http_tuple(struct sl_scratch *sc)
{
	if (sc->pkt.family == SL_AF_INET) {
		sc->tuple.ipv4.saddr = sc->fk.caddr[0];
		sc->tuple.ipv4.daddr = sc->fk.saddr[0];
		sc->tuple.ipv4.sport = bpf_htons(sc->pkt.sport);
		sc->tuple.ipv4.dport = bpf_htons(sc->pkt.dport);
	} else {
		__builtin_memcpy(sc->tuple.ipv6.saddr, sc->fk.caddr, 16);
		__builtin_memcpy(sc->tuple.ipv6.daddr, sc->fk.saddr, 16);
		sc->tuple.ipv6.sport = bpf_htons(sc->pkt.sport);
		sc->tuple.ipv6.dport = bpf_htons(sc->pkt.dport);
	}
}

/*
 * The rest of the layer for a segment that sl_http_enter() stashed: its connection key and
 * sequence number, then the scan (request starts) and the judgement. A global function: the
 * entry program reaches its call in many verifier states (one per path through the source
 * rules), and a global callee is verified once whatever the caller's state.
 */
static __always_inline int sl_http_seg(void *ctx, int is_tc, void *data, void *data_end)
{
	struct sl_scratch *sc;
	__u32 zero = 0, off;
	__u8 *first;
	__be32 *seq;

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	if (!sc)
		return SL_V_PASS;
	off = sc->pkt.l4_off + sc->pkt.l4_hlen;
	first = data + (off & 0x3fff); /* bounded for the verifier; headers end far sooner */
	/* Unreadable here (TC, paged): the scan decides. */
	sc->is_req = (void *)(first + 1) > data_end || sl_http_maybe_method(*first);
	seq = data + ((sc->pkt.l4_off + 4) & 0x3fff);
	if ((void *)(seq + 1) > data_end || sl_http_flow_key(&sc->fk, &sc->pkt, data, data_end, 1))
		return SL_V_PASS;
	sc->seq = bpf_ntohl(*seq);
	sl_http_tuple(sc);
	/*
	 * A retransmission of the connection's last admitted request start: passed, counted, not
	 * charged again, and not scanned (the scan is most of a request start's cost).
	 */
	if (sc->is_req) {
		struct sl_flow *fl = bpf_map_lookup_elem(&sl_flows_v1, &sc->fk);
		struct sl_tstats *st;

		if (fl && fl->req_seq == sc->seq) {
			st = sl_tstats_get(sc, fl->tenant, fl->group, fl->key_id);
			if (st)
				st->req_retrans++;
			return SL_V_PASS;
		}
	}
	/* Not a request after all (a body that starts like a method): a body segment. */
	if (is_tc) {
		if (sc->is_req && !sl_http_scan_tc(ctx))
			sc->is_req = 0;
		return sl_http_judge_tc(ctx);
	}
	if (sc->is_req && !sl_http_scan_xdp(ctx))
		sc->is_req = 0;
	return sl_http_judge_xdp(ctx);
}

__attribute__((noinline)) int sl_http_seg_xdp(struct xdp_md *ctx)
{
	return sl_http_seg(ctx, 0, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
}

__attribute__((noinline)) int sl_http_seg_tc(struct __sk_buff *skb)
{
	return sl_http_seg(skb, 1, (void *)(long)skb->data, (void *)(long)skb->data_end);
}

/*
 * Whether an admitted segment goes to the HTTP layer: TCP with payload to one of the
 * generation's HTTP ports. If so, stash it in the scratch map for sl_http_seg_*() and return 1.
 * Inline in the entry program, so kept to the cheapest tests.
 */
static __always_inline int sl_http_enter(const struct sl_pkt *p, __u32 gen, __u64 bytes, int dry)
{
	__u32 off = p->l4_off + p->l4_hlen, zero = 0;
	const struct sl_httpcfg *hc;
	struct sl_scratch *sc;

	if (p->l4proto != IPPROTO_TCP || bytes <= off)
		return 0;
	hc = bpf_map_lookup_elem(&sl_http_v2, &gen);
	if (!hc || !hc->n_ports || !sl_http_port(hc, p->dport))
		return 0;
	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	if (!sc)
		return 0;
	sc->pkt = *p;
	sc->bytes = bytes;
	sc->payload = bytes - off;
	sc->gen = gen;
	sc->dry = dry;
	return 1;
}

/* TC egress: response payload on a known connection counts as the tenant's bytes_out. */
static __always_inline void sl_http_egress(struct __sk_buff *skb)
{
	__u32 want = skb->len < SL_PULL_LEN ? skb->len : SL_PULL_LEN, zero = 0, gen, off;
	const struct sl_httpcfg *hc;
	struct sl_config *cfg;
	struct sl_scratch *sc;
	struct sl_tstats *st;
	struct sl_flow *fl;
	void *data, *data_end;
	struct sl_pkt p = {};

	cfg = bpf_map_lookup_elem(&sl_config_v1, &zero);
	if (!cfg)
		return;
	gen = cfg->gen & 1;
	hc = bpf_map_lookup_elem(&sl_http_v2, &gen);
	if (!hc || !hc->n_ports)
		return;
	if (skb->data_end - skb->data < want)
		bpf_skb_pull_data(skb, want);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (sl_parse(data, data_end, skb->len, &p) != SL_PKT_OK || p.l4proto != IPPROTO_TCP)
		return;
	off = p.l4_off + p.l4_hlen;
	if (skb->len <= off || !sl_http_port(hc, p.sport))
		return;
	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	if (!sc || sl_http_flow_key(&sc->fk, &p, data, data_end, 0))
		return;
	fl = bpf_map_lookup_elem(&sl_flows_v1, &sc->fk);
	if (!fl)
		return;
	st = sl_tstats_get(sc, fl->tenant, fl->group, fl->key_id);
	if (st)
		st->bytes_out += skb->len - off;
}

#endif /* SLUICE_HTTP_BPF_H */
