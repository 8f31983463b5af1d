/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Map definitions of the sluice data plane; names and layouts come from include/sluice_abi.h. */
#ifndef SLUICE_MAPS_BPF_H
#define SLUICE_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_http.h"
#include "sluice_siphash.h"
#include "parse.bpf.h"

/*
 * Production builds pin every map by name under <pin-root>/maps, so every attachment shares one
 * set of buckets and counters and detaching an interface loses nothing. Test builds
 * (SL_TEST_CLOCK) keep private, unpinned maps.
 */
#ifdef SL_TEST_CLOCK
#define SL_PINNING
#else
#define SL_PINNING __uint(pinning, LIBBPF_PIN_BY_NAME);
#endif

/* The names below must equal the SL_MAP_* strings of sluice_abi.h (checked by the controller). */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_config);
	SL_PINNING
} sl_config_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SL_LPM_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sl_lpm_key);
	__type(value, struct sl_rule);
	SL_PINNING
} sl_rules_v1 SEC(".maps");

/* Plain (preallocated) HASH, not LRU: established aggregates are never evicted by a flood. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_BUCKETS_DEFAULT);
	__type(key, struct sl_bkey);
	__type(value, struct sl_bucket);
	SL_PINNING
} sl_buckets_v1 SEC(".maps");

/* Per rule slot: the shared bucket for sources that find the aggregate table full. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_MAX_RULES);
	__type(key, __u32);
	__type(value, struct sl_bucket);
	SL_PINNING
} sl_ovf_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_NR_SLOTS);
	__type(key, __u32);
	__type(value, struct sl_slot_stats);
	SL_PINNING
} sl_stats_v1 SEC(".maps");

/* Written by the controller only; declared here so that it is created and pinned with the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_MAX_RULES);
	__type(key, __u32);
	__type(value, struct sl_rulemeta);
	SL_PINNING
} sl_rulemeta_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_MAX_ATTACH);
	__type(key, struct sl_attach_key);
	__type(value, struct sl_attach);
	SL_PINNING
} sl_attach_v2 SEC(".maps");

/* Per CPU: sources known to be over their limit until a given time (sluice_abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_DCACHE_SIZE);
	__type(key, __u32);
	__type(value, struct sl_dcache_ent);
	SL_PINNING
} sl_dcache_v1 SEC(".maps");

/* HTTP layer (docs/http.md). Per-generation settings, then per-tenant settings and state. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct sl_httpcfg);
	SL_PINNING
} sl_http_v2 SEC(".maps");

/* Keyed SipHash of an API key -> tenant: the only form in which keys reach the kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_MAX_KEYS);
	__type(key, __u64);
	__type(value, struct sl_keyval);
	SL_PINNING
} sl_keys_v2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SL_MAX_TENANTS);
	__type(key, __u32);
	__type(value, struct sl_tenant_cfg);
	SL_PINNING
} sl_tenants_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_MAX_TENANTS);
	__type(key, __u32);
	__type(value, struct sl_tenant_state);
	SL_PINNING
} sl_tstate_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SL_TSTATS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sl_tstats_key);
	__type(value, struct sl_tstats);
	SL_PINNING
} sl_tstats_v3 SEC(".maps");

/* Per tenant: counters of (group, key id) combinations that found sl_tstats_v3 full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_MAX_TENANTS + 1);
	__type(key, __u32);
	__type(value, struct sl_tstats);
	SL_PINNING
} sl_tovf_v1 SEC(".maps");

/* Quotas (sluice_abi.h): the controller's periods and limits, read under the entry's lock. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_MAX_TENANTS);
	__type(key, __u32);
	__type(value, struct sl_tquota);
	SL_PINNING
} sl_qcfg_v1 SEC(".maps");

/*
 * Quota counters, one word each (tag | used), changed by compare-and-swap only. Preallocated
 * and never LRU: a counter that vanished would hand its tenant a fresh quota.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_QCNT_MAX);
	__type(key, struct sl_qkey);
	__type(value, __u64);
	SL_PINNING
} sl_qcnt_v1 SEC(".maps");

/* Written by the controller only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_MAX_TENANTS);
	__type(key, __u32);
	__type(value, struct sl_tenmeta);
	SL_PINNING
} sl_tenmeta_v1 SEC(".maps");

/*
 * Connections that completed a handshake with this host and sent a request (sluice_abi.h):
 * LRU, so the least recently used connection makes room; spoofed packets never get in.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_FLOWS_MAX);
	__type(key, struct sl_flow_key);
	__type(value, struct sl_flow);
	SL_PINNING
} sl_flows_v1 SEC(".maps");

/* Replies (reject.bpf.h, docs/reject.md). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SL_NR_RSLOTS);
	__type(key, __u32);
	__type(value, struct sl_rcfg);
	SL_PINNING
} sl_rcfg_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_NR_RSLOTS);
	__type(key, __u32);
	__type(value, struct sl_bucket);
	SL_PINNING
} sl_rtat_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_NR_RSLOTS);
	__type(key, __u32);
	__type(value, struct sl_rstats);
	SL_PINNING
} sl_rstats_v1 SEC(".maps");

/* 429 response texts by limit, written by the controller; not preallocated. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_REPLY_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sl_reply_key);
	__type(value, struct sl_reply_tpl);
	SL_PINNING
} sl_reply_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << SL_RJSEEN_BITS);
	__type(key, __u32);
	__type(value, __u64);
	SL_PINNING
} sl_rjseen_v1 SEC(".maps");

/* Connections sluice is closing (reject.bpf.h); LRU, entries also expire. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_REJECTS_MAX);
	__type(key, struct sl_flow_key);
	__type(value, struct sl_reject);
	SL_PINNING
} sl_rejects_v1 SEC(".maps");

/* Reply frames are built in the scratch map: IP header at SL_RB_L3, link layer just before. */
#define SL_RB_SIZE 1024
#define SL_RB_MASK (SL_RB_SIZE - 1)
#define SL_RB_L3   32

/*
 * Per CPU: the segment handed to the HTTP layer (a verifier-independent subprogram, which can
 * take only its context as argument) and its first SL_HTTP_SCAN payload bytes.
 */
struct sl_scratch {
	struct sl_pkt pkt;
	__u64 bytes;
	__u32 gen;
	__u32 dry;
	__u32 payload; /* TCP payload bytes */
	__u32 seq;     /* TCP sequence number, host order */
	__u16 tenant;  /* sl_http_scan_*(): the key's tenant, or SL_TENANT_UNKNOWN */
	__u8 is_req;   /* 1: a request start, 0: a body segment */
	__u8 _pad0;
	__u32 key_id;
	struct sl_flow_key fk;
	struct bpf_sock_tuple tuple; /* fk as bpf_skc_lookup_tcp() wants it */
	/* Working variables of the HTTP functions, here rather than on the 512-byte stack. */
	__u32 len, method, path_off, path_len, line_end, key_off, key_len, _pad;
	struct sl_sipkey sk;
	struct sl_tstats_key tk;
	__u32 tidx;
	__u32 _pad1;
	struct sl_tstats tzero;
	struct sl_flow fl;
	/* ...of the quotas (quota.bpf.h)... */
	struct sl_qslot qs[SL_MAX_QUOTAS]; /* the tenant's quotas, copied under its lock */
	struct sl_qkey qk;
	__u64 qzero;
	__u64 qnow;   /* ns, read once per request */
	__u64 ql, qb; /* sl_quota_slot(): limit and base of the slot's period now */
	__u32 qt, _pad3; /* ...and its tag */
	__u64 c_grp[SL_MAX_GROUP_LIMITS]; /* sl_http_tenant(): group charges to give back */
	__u64 qover;  /* units of this request past a soft quota (the most over any one) */
	__u32 qn;     /* quotas in qs[] */
	__u32 qtaken; /* bit i: quota i charged this request (under tag qtag[i]) */
	__u32 qtag[SL_MAX_QUOTAS];
	/* ...of the replies (reject.bpf.h)... */
	__u64 rj_wait_ns;  /* refusal: until the refusing limit admits again */
	__u64 rj_remain;   /* refusal: what is left of the refusing limit (quotas; 0 for buckets) */
	struct sl_reply_key rk; /* refusal: the refusing limit's response text */
	__u8 rj_action;    /* refusal: enum sl_over_action */
	__u8 rj_tflags;    /* TCP flags of the segment */
	__u16 rj_rslot;    /* reply slot */
	__u32 rj_ack;      /* TCP acknowledgement number of the segment, host order */
	__u32 rlen;        /* frame length built in rb[] (from RB_L3 - l3_off) */
	__u32 rj_tmp;      /* sl_rj_launder() */
	__u32 rj_end;      /* sequence number after the segment */
	__u32 rj_plen;     /* sl_rj_body(): payload length */
	__u32 rj_how;      /* sl_rj_prep(): how the refusal is answered */
	__u32 _pad4;
	struct sl_reject rj;
	__u8 ph[40];       /* TCP pseudo-header */
	__u8 digits[32];
	__u8 l2[24];       /* the segment's link-layer header (l3_off bytes) */
	__u8 rb[SL_RB_SIZE + 8]; /* a reply frame; its IP header at SL_RB_L3 */
	/* ...and of the source-rule path (sluice.bpf.c). */
	struct sl_lpm_key lk;
	struct sl_bkey bk;
	struct sl_bucket fresh;
	__u8 buf[SL_HTTP_SCAN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_scratch);
} sl_scratch_v1 SEC(".maps");

#ifdef SL_TEST_CLOCK
/* Test builds read "now" (ns) from here instead of bpf_ktime_get_ns(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sl_clock_v1 SEC(".maps");
#endif

#endif /* SLUICE_MAPS_BPF_H */
