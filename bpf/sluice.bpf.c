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

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EEXIST 17

enum sl_verdict {
	SL_V_PASS = 0,
	SL_V_DROP = 1,
};

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

/* Token bucket of the source aggregate (or the rule's overflow bucket when the table is full). */
static __always_inline int sl_limit(const struct sl_rule *r, struct sl_pkt *p, int dry,
				    __u64 pkts, __u64 bytes)
{
	const struct sl_gcra_params *gp = &r->agg;
	struct sl_bucket *b, fresh = {};
	struct sl_bkey key = {};
	__u32 reason = SL_R_LIMIT;
	__u32 slot = r->slot;
	__u64 cost, charge;
	int ret;

	key.slot = r->slot;
	key.family = p->family;
	sl_prefix_mask(p->saddr, p->family == SL_AF_INET ? r->prefix4 : r->prefix6);
	__builtin_memcpy(key.addr, p->saddr, 16);

	b = bpf_map_lookup_elem(&sl_buckets_v1, &key);
	if (!b) {
		/* Only -E2BIG (table full) leaves us without an entry: -EEXIST is a racing CPU. */
		ret = bpf_map_update_elem(&sl_buckets_v1, &key, &fresh, BPF_NOEXIST);
		if (ret == 0 || ret == -EEXIST)
			b = bpf_map_lookup_elem(&sl_buckets_v1, &key);
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
	ret = sl_bucket_take(b, sl_now(), charge, gp->tau);
	if (ret == SL_TAKE_OK) {
		sl_count(slot, reason, SL_O_PASS, pkts, bytes);
		return SL_V_PASS;
	}
	if (ret == SL_TAKE_CONTENDED)
		reason = SL_R_CONTENDED;
	return sl_drop(slot, reason, dry, pkts, bytes);
}

/*
 * The shared body. `bytes` is the frame length and `pkts` the number of wire packets it stands
 * for (GRO segments on TC). Returns SL_V_PASS or SL_V_DROP.
 */
static __always_inline int sl_process(void *data, void *data_end, __u64 bytes, __u64 pkts)
{
	struct sl_lpm_key lk = {};
	const struct sl_gcfg *g;
	struct sl_config *cfg;
	struct sl_pkt p = {};
	struct sl_rule *r;
	__u32 zero = 0;
	int cls, dry;
	__u8 gen;

	cfg = bpf_map_lookup_elem(&sl_config_v1, &zero);
	if (!cfg)
		return SL_V_PASS;
	gen = cfg->gen & 1;
	g = &cfg->g[gen];
	dry = g->dry_run;

	cls = sl_parse(data, data_end, &p);
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

	lk.gen = gen;
	lk.family = p.family;
	lk.prefixlen = SL_LPM_FIXED_BITS + (p.family == SL_AF_INET ? 32 : 128);
	__builtin_memcpy(lk.addr, p.saddr, 16);
	r = bpf_map_lookup_elem(&sl_rules_v1, &lk);
	if (!r) {
		sl_count(SL_SLOT_PARSE, SL_R_NO_RULE, SL_O_PASS, pkts, bytes);
		return SL_V_PASS;
	}
	if (r->slot >= SL_MAX_RULES)
		return SL_V_PASS;
	dry |= r->flags & SL_RF_DRYRUN;

	switch (r->action) {
	case SL_ACT_ALLOW:
		sl_count(r->slot, SL_R_ALLOW, SL_O_PASS, pkts, bytes);
		return SL_V_PASS;
	case SL_ACT_DENY:
		return sl_drop(r->slot, SL_R_DENY, dry, pkts, bytes);
	default:
		return sl_limit(r, &p, dry, pkts, bytes);
	}
}

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	/* Programs without XDP frags support only see single-buffer frames: this is the length. */
	if (sl_process(data, data_end, data_end - data, 1) == SL_V_DROP)
		return XDP_DROP;
	return XDP_PASS;
}

/* Headers the parser may need in the linear area: Ethernet, 2 VLANs, IPv6 + extension headers. */
#define SL_PULL_LEN 256

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
	if (sl_process(data, data_end, skb->len, pkts) == SL_V_DROP)
		return TC_ACT_SHOT;
	/* UNSPEC, not OK: filters after ours (other people's) still run. */
	return TC_ACT_UNSPEC;
}
