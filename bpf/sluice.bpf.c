// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice data plane: per-source-aggregate token buckets, one body for the XDP and TC hooks. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "sluice_abi.h"
#include "sluice_prefix.h"
#include "parse.bpf.h"
#include "maps.bpf.h"
#include "bucket.bpf.h"
#include "http.bpf.h"
#include "reject.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EEXIST 17

static __always_inline void sl_count(__u32 slot, __u32 reason, __u32 outcome, __u64 pkts,
				     __u64 bytes)
{
	struct sl_slot_stats *s = bpf_map_lookup_elem(&sl_stats_v1, &slot);

	if (!s || reason >= SL_NR_REASONS || outcome >= SL_NR_OUTCOMES)
		return;
	/* Per-CPU value: no other CPU writes it, plain adds are exact. */
	s->c[reason][outcome].packets += pkts;
	s->c[reason][outcome].bytes += bytes;
}

/* Count and decide one would-drop, honouring dry-run. */
static __always_inline int sl_drop(__u32 slot, __u32 reason, int dry, __u64 pkts, __u64 bytes)
{
	if (dry) {
		sl_count(slot, reason, SL_O_DRYRUN, pkts, bytes);
		return SL_V_PASS;
	}
	sl_count(slot, reason, SL_O_DROP, pkts, bytes);
	return SL_V_DROP;
}

/* Verdict for packets classified before any rule (malformed, unknown EtherType, fragments). */
static __always_inline int sl_class(__u32 reason, __u8 cv, int dry, __u64 pkts, __u64 bytes)
{
	if (cv == SL_CV_DROP)
		return sl_drop(SL_SLOT_PARSE, reason, dry, pkts, bytes);
	sl_count(SL_SLOT_PARSE, reason, SL_O_PASS, pkts, bytes);
	return SL_V_PASS;
}

/* Index of a source in the per-CPU drop cache. */
static __always_inline __u32 sl_dcache_idx(const struct sl_pkt *p)
{
	return sl_addr_index(p->saddr, SL_DCACHE_BITS);
}

/* Remember that `p`'s source is refused until `until` (see struct sl_dcache_ent). */
static __always_inline void sl_dcache_fill(const struct sl_pkt *p, const struct sl_gcfg *g,
					   __u32 slot, __u32 reason, __u64 until)
{
	__u32 idx = sl_dcache_idx(p);
	struct sl_dcache_ent *e = bpf_map_lookup_elem(&sl_dcache_v1, &idx);

	if (!e)
		return;
	__builtin_memcpy(e->addr, p->saddr, 16);
	e->epoch = g->epoch;
	e->slot = slot;
	e->reason = reason;
	e->family = p->family;
	e->until = until;
}

/* Whether the drop cache already knows that this source is refused now. */
static __always_inline struct sl_dcache_ent *sl_dcache_hit(const struct sl_pkt *p,
							   const struct sl_gcfg *g)
{
	__u32 idx = sl_dcache_idx(p);
	struct sl_dcache_ent *e = bpf_map_lookup_elem(&sl_dcache_v1, &idx);

	if (!e || e->epoch != g->epoch || e->family != p->family ||
	    e->addr[0] != p->saddr[0] || e->addr[1] != p->saddr[1] ||
	    e->addr[2] != p->saddr[2] || e->addr[3] != p->saddr[3])
		return NULL;
	if (e->until != ~0ULL && sl_now_tick(g->jiffy_tu) >= e->until)
		return NULL;
	return e;
}

/* Token bucket of the source aggregate (or the rule's overflow bucket when the table is full). */
static __always_inline int sl_limit(const struct sl_rule *r, const struct sl_gcfg *g,
				    const struct sl_pkt *p, struct sl_scratch *sc, int dry,
				    __u64 pkts, __u64 bytes)
{
	const struct sl_gcra_params *gp = &r->agg;
	struct sl_bkey *key = &sc->bk; /* keys in the scratch map: the stack is short */
	__u32 reason = SL_R_LIMIT;
	__u32 slot = r->slot;
	__u64 cost, charge, now, seen, c1;
	struct sl_bucket *b;
	int ret;

	__builtin_memset(key, 0, sizeof(*key));
	key->slot = r->slot;
	key->family = p->family;
	__builtin_memcpy(key->addr, p->saddr, 16);
	sl_prefix_mask((__u32 *)key->addr, p->family == SL_AF_INET ? r->prefix4 : r->prefix6);

	b = bpf_map_lookup_elem(&sl_buckets_v1, key);
	if (!b) {
		/* Only -E2BIG (table full) leaves us without an entry: -EEXIST is a racing CPU. */
		sc->fresh.tat = 0;
		ret = bpf_map_update_elem(&sl_buckets_v1, key, &sc->fresh, BPF_NOEXIST);
		if (ret == 0 || ret == -EEXIST)
			b = bpf_map_lookup_elem(&sl_buckets_v1, key);
		if (!b) {
			b = bpf_map_lookup_elem(&sl_ovf_v1, &slot);
			if (!b) /* cannot happen: slot < SL_MAX_RULES; fail closed */
				return sl_drop(slot, SL_R_OVERFLOW, dry, pkts, bytes);
			gp = &r->ovf;
			reason = SL_R_OVERFLOW;
		}
	}

	cost = (r->flags & SL_RF_BYTES) ? bytes : pkts;
	charge = sl_gcra_charge(cost, gp->interval, gp->shift);
	now = (r->flags & SL_RF_FINE) ? sl_now_fine() : sl_now_tick(g->jiffy_tu);
	ret = sl_bucket_take(b, now, charge, gp->tau, &seen);
	if (ret == SL_TAKE_OK) {
		sl_count(slot, reason, SL_O_PASS, pkts, bytes);
		return SL_V_PASS;
	}
	if (ret == SL_TAKE_CONTENDED) {
		sc->rj_wait_ns = 0;
		return sl_drop(slot, SL_R_CONTENDED, dry, pkts, bytes);
	}
	/*
	 * Refused at TAT `seen`: nothing, not even one unit, is admitted before
	 * seen + charge(1) - tau. Only tick-clock buckets are cached: the cache is checked
	 * against the tick clock. Rules that answer refusals are not cached (each refused
	 * segment needs its own answer); they note the wait for Retry-After instead.
	 */
	c1 = sl_gcra_charge(1, gp->interval, gp->shift);
	if (r->reject != SL_OVER_DROP)
		sc->rj_wait_ns = sl_gcra_wait(seen, now, c1, gp->tau) >> SL_TU_SHIFT;
	else if (!dry && !(r->flags & SL_RF_FINE) && seen + c1 > gp->tau)
		sl_dcache_fill(p, g, slot, reason, seen + c1 - gp->tau);
	return sl_drop(slot, reason, dry, pkts, bytes);
}

/*
 * Wire packets behind an XDP frame. An IP packet longer than the largest attached MTU can only
 * be a GRO aggregate (generic XDP runs after GRO): it carried its payload in segments of
 * MTU minus its headers each.
 */
static __always_inline __u64 sl_xdp_segs(const struct sl_config *cfg, const struct sl_pkt *p,
					 __u64 bytes)
{
	__u64 hdrs = p->l4_off - p->l3_off + p->l4_hlen, seg;

	if (!cfg->max_mtu || bytes - p->l3_off <= cfg->max_mtu || !p->l4_hlen ||
	    cfg->max_mtu <= hdrs || bytes <= p->l4_off + p->l4_hlen)
		return 1;
	seg = cfg->max_mtu - hdrs;
	return (bytes - p->l4_off - p->l4_hlen + seg - 1) / seg;
}

/*
 * The shared body. `bytes` is the frame length and `pkts` the number of wire packets it stands
 * for (GRO segments on TC; 0 on XDP: worked out here). Returns SL_V_PASS or SL_V_DROP.
 */
static __always_inline int sl_process(void *ctx, int is_tc, void *data, void *data_end,
				      __u64 bytes, __u64 pkts)
{
	struct sl_scratch *sc;
	struct sl_lpm_key *lk;
	struct sl_dcache_ent *e;
	const struct sl_gcfg *g;
	struct sl_config *cfg;
	struct sl_pkt p = {};
	struct sl_rule *r;
	__u32 zero = 0;
	int cls, dry, v;
	__u8 gen;

	cfg = bpf_map_lookup_elem(&sl_config_v1, &zero);
	if (!cfg)
		return SL_V_PASS;
	gen = cfg->gen & 1;
	g = &cfg->g[gen];
	dry = g->dry_run;

	cls = sl_parse(data, data_end, bytes, &p);
	if (!pkts)
		pkts = cls == SL_PKT_OK ? sl_xdp_segs(cfg, &p, bytes) : 1;
	switch (cls) {
	case SL_PKT_OK:
		break;
	case SL_PKT_FRAGMENT:
		if (g->fragments == SL_CV_LIMIT)
			break; /* charged to the source's rule below */
		return sl_class(SL_R_FRAGMENT, g->fragments, dry, pkts, bytes);
	case SL_PKT_NON_IP:
		sl_count(SL_SLOT_PARSE, SL_R_NON_IP, SL_O_PASS, pkts, bytes);
		return SL_V_PASS;
	case SL_PKT_UNKNOWN_L3:
		return sl_class(SL_R_UNKNOWN_L3, g->unknown_l3, dry, pkts, bytes);
	default:
		return sl_class(SL_R_MALFORMED, g->malformed, dry, pkts, bytes);
	}

	/* Connections being closed after a reply (reject.bpf.h) come first. */
	if ((g->flags & SL_GF_REJECT) && p.l4proto == IPPROTO_TCP && sl_rj_recent(&p)) {
		sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
		if (!sc)
			return SL_V_PASS;
		sc->pkt = p;
		sc->bytes = bytes;
		sc->gen = gen;
		v = is_tc ? sl_rj_follow_tc(ctx) : sl_rj_follow_xdp(ctx);
		if (v != SL_V_NONE)
			return v;
	}

	/* The drop path's short cut: one per-CPU array lookup for a source known to be over. */
	e = sl_dcache_hit(&p, g);
	if (e) {
		sl_count(e->slot, e->reason, SL_O_DROP, pkts, bytes);
		return SL_V_DROP;
	}

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	if (!sc)
		return SL_V_PASS;
	lk = &sc->lk;
	__builtin_memset(lk, 0, sizeof(*lk));
	lk->gen = gen;
	lk->family = p.family;
	lk->prefixlen = SL_LPM_FIXED_BITS + (p.family == SL_AF_INET ? 32 : 128);
	__builtin_memcpy(lk->addr, p.saddr, 16);
	r = bpf_map_lookup_elem(&sl_rules_v1, lk);
	if (!r) {
		sl_count(SL_SLOT_PARSE, SL_R_NO_RULE, SL_O_PASS, pkts, bytes);
		goto http;
	}
	if (r->slot >= SL_MAX_RULES)
		return SL_V_PASS;
	dry |= r->flags & SL_RF_DRYRUN;

	switch (r->action) {
	case SL_ACT_ALLOW:
		sl_count(r->slot, SL_R_ALLOW, SL_O_PASS, pkts, bytes);
		break;
	case SL_ACT_DENY:
		sc->rj_wait_ns = 0;
		if (!dry && r->reject == SL_OVER_DROP)
			sl_dcache_fill(&p, g, r->slot, SL_R_DENY, ~0ULL);
		if (sl_drop(r->slot, SL_R_DENY, dry, pkts, bytes) == SL_V_PASS)
			break;
		goto refused;
	default:
		if (sl_limit(r, g, &p, sc, dry, pkts, bytes) == SL_V_DROP)
			goto refused;
	}
http:
	/* Admitted by the source rules: segments on the HTTP ports meet their tenant's limits. */
	if (!sl_http_enter(&p, gen, bytes, g->dry_run))
		return SL_V_PASS;
	v = is_tc ? sl_http_seg_tc(ctx) : sl_http_seg_xdp(ctx);
	if (v != SL_V_REPLY)
		return v;
	return is_tc ? sl_reject_tc(ctx) : sl_reject_xdp(ctx);
refused:
	if (r->reject == SL_OVER_DROP || p.l4proto != IPPROTO_TCP)
		return SL_V_DROP;
	sc->pkt = p;
	sc->bytes = bytes;
	sc->gen = gen;
	sc->rj_action = r->reject;
	sc->rj_rslot = r->slot;
	sc->rj_remain = 0;
	sc->rk.kind = SL_RK_RULE;
	sc->rk.idx = r->slot;
	sc->rk.sub = 0;
	return is_tc ? sl_reject_tc(ctx) : sl_reject_xdp(ctx);
}

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	/* Programs without XDP frags support only see single-buffer frames: this is the length. */
	switch (sl_process(ctx, 0, data, data_end, data_end - data, 0)) {
	case SL_V_DROP:
		return XDP_DROP;
	case SL_V_TX:
		return XDP_TX;
	default:
		return XDP_PASS;
	}
}

SEC("tc")
int sluice_tc(struct __sk_buff *skb)
{
	__u32 want = skb->len < SL_PULL_LEN ? skb->len : SL_PULL_LEN;
	__u64 pkts = skb->gso_segs ? skb->gso_segs : 1;
	void *data, *data_end;

	if (skb->data_end - skb->data < want)
		bpf_skb_pull_data(skb, want);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	switch (sl_process(skb, 1, data, data_end, skb->len, pkts)) {
	case SL_V_DROP:
		return TC_ACT_SHOT;
	case SL_V_TX: /* a reply: back out of the interface the segment came in on */
		return bpf_redirect(skb->ifindex, 0);
	default:
		/* UNSPEC, not OK: filters after ours (other people's) still run. */
		return TC_ACT_UNSPEC;
	}
}

/*
 * TC egress: response bytes of the HTTP layer's connections, charged to the tenant whose
 * request the connection carries (sl_flows_v1). Never drops.
 */
SEC("tc")
int sluice_tc_egress(struct __sk_buff *skb)
{
	sl_http_egress(skb);
	return TC_ACT_UNSPEC;
}
