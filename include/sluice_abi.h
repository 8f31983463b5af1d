/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The kernel<->userspace contract of sluice: map names, limits, and every shared struct. */
#ifndef SLUICE_ABI_H
#define SLUICE_ABI_H

#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */

/*
 * Map names, as pinned under <pin-root>/maps/. At most 15 characters. A change of a key or
 * value layout bumps the _vN suffix so that an old pin is never reused with a new layout.
 */
#define SL_MAP_CONFIG   "sl_config_v1"
#define SL_MAP_RULES    "sl_rules_v1"
#define SL_MAP_BUCKETS  "sl_buckets_v1"
#define SL_MAP_OVERFLOW "sl_ovf_v1"
#define SL_MAP_STATS    "sl_stats_v1"
#define SL_MAP_RULEMETA "sl_rulemeta_v1"
#define SL_MAP_ATTACH   "sl_attach_v2"
#define SL_MAP_DCACHE   "sl_dcache_v1"
#define SL_MAP_HTTP     "sl_http_v2"
#define SL_MAP_KEYS     "sl_keys_v2"
#define SL_MAP_TENANTS  "sl_tenants_v1"
#define SL_MAP_TSTATE   "sl_tstate_v1"
#define SL_MAP_TSTATS   "sl_tstats_v3"
#define SL_MAP_TENMETA  "sl_tenmeta_v1"
#define SL_MAP_SCRATCH  "sl_scratch_v1"
#define SL_MAP_FLOWS    "sl_flows_v1"
#define SL_MAP_TOVF     "sl_tovf_v1"
#define SL_MAP_QCFG     "sl_qcfg_v1"
#define SL_MAP_QCNT     "sl_qcnt_v1"
#define SL_MAP_RCFG     "sl_rcfg_v1"
#define SL_MAP_RTAT     "sl_rtat_v1"
#define SL_MAP_RSTATS   "sl_rstats_v1"
#define SL_MAP_REPLY    "sl_reply_v1"
#define SL_MAP_REJECTS  "sl_rejects_v1"
#define SL_MAP_RJSEEN   "sl_rjseen_v1"
#define SL_MAP_CLOCK    "sl_clock_v1" /* test builds only */

#define SL_PIN_ROOT_DEFAULT "/sys/fs/bpf/sluice"
#define SL_PIN_MAPS_DIR     "maps"
#define SL_PIN_LINKS_DIR    "links"

/* Limits. */
#define SL_MAX_RULES       256 /* rule slots; slot SL_SLOT_PARSE counts pre-rule verdicts */
#define SL_SLOT_PARSE      SL_MAX_RULES
#define SL_NR_SLOTS        (SL_MAX_RULES + 1)
#define SL_LPM_MAX_ENTRIES 8192 /* CIDRs over both policy generations */
#define SL_BUCKETS_DEFAULT 65536 /* aggregates tracked individually; `attach --table-size` */
#define SL_NAME_MAX        48
#define SL_MAX_ATTACH      64

/* HTTP layer limits (docs/http.md). */
#define SL_MAX_TENANTS      1024
#define SL_TENANT_UNKNOWN   SL_MAX_TENANTS /* tenant index of requests with no or an unknown key */
#define SL_MAX_GROUPS       16
#define SL_MAX_GROUP_LIMITS 4
#define SL_MAX_HTTP_PORTS   8
#define SL_MAX_KEYS         65536 /* over all tenants */
/*
 * (tenant, group, key id) counter entries, created on first use (not preallocated). Past this
 * many, a tenant's further combinations count in its SL_MAP_TOVF cell: tenant totals stay
 * exact, only their breakdown by key and group is lost (shown as key id ffffffff).
 */
#define SL_TSTATS_MAX       262144
#define SL_KEY_ID_OTHER     0xffffffffu
/* Bucket-table slot of the per-source buckets of requests with no or an unknown key. */
#define SL_SLOT_UNKNOWN_KEY 0xfffe
#define SL_TENANT_NONE      0xffff /* sl_keyval.tenant[gen]: the key is not in that generation */
#define SL_GROUP_NONE       0xff   /* no API group matched */
#define SL_GROUP_PATH_MAX   128    /* path prefix of a group match, bytes incl. NUL */
#define SL_FLOWS_MAX        65536  /* connections tracked for body and response bytes */
#define SL_MAX_QUOTAS       8      /* quotas of one plan (docs/quotas.md) */
/* Quota counters (tenant x quota, or per key / per source aggregate on request). */
#define SL_QCNT_MAX         131072

/* Time inside buckets is kept in "time units" of 1/16 ns: 2^64 units last 36 years of uptime. */
#define SL_TU_SHIFT        4
#define SL_TU_PER_SEC      (1000000000ULL << SL_TU_SHIFT)
/* Largest per-packet cost charged (bytes of one GRO skb, or segments); larger is clamped. */
#define SL_MAX_COST        (1ULL << 20)
/* interval < 2^SL_INTERVAL_BITS, so cost * interval never overflows 64 bits. */
#define SL_INTERVAL_BITS   43

enum sl_action {
	SL_ACT_LIMIT = 0, /* token bucket per source aggregate */
	SL_ACT_ALLOW = 1, /* exempt, never limited */
	SL_ACT_DENY  = 2, /* always dropped */
};

/* Verdict for packets that never reach a rule (malformed, fragments, unknown EtherType). */
enum sl_class_verdict {
	SL_CV_PASS  = 0,
	SL_CV_DROP  = 1,
	SL_CV_LIMIT = 2, /* fragments only: charge to the source's rule like any packet */
};

/* Why a packet got its verdict; counters are kept per (slot, reason, outcome). */
enum sl_reason {
	SL_R_LIMIT = 0,     /* the aggregate's own bucket decided */
	SL_R_OVERFLOW,      /* aggregate table full: the rule's shared overflow bucket decided */
	SL_R_CONTENDED,     /* compare-and-swap retries exhausted (dropped, never admitted) */
	SL_R_ALLOW,         /* rule action allow */
	SL_R_DENY,          /* rule action deny */
	SL_R_NO_RULE,       /* no rule matched the source (slot SL_SLOT_PARSE) */
	SL_R_MALFORMED,     /* truncated or invalid header (slot SL_SLOT_PARSE) */
	SL_R_FRAGMENT,      /* non-first IPv4/IPv6 fragment */
	SL_R_UNKNOWN_L3,    /* EtherType other than IPv4/IPv6/ARP (slot SL_SLOT_PARSE) */
	SL_R_NON_IP,        /* ARP and other link control: always passed (slot SL_SLOT_PARSE) */
	SL_NR_REASONS,
};

enum sl_outcome {
	SL_O_PASS = 0,   /* admitted / passed to the stack */
	SL_O_DROP = 1,   /* dropped */
	SL_O_DRYRUN = 2, /* would have been dropped; passed because of dry-run */
	SL_NR_OUTCOMES,
};

struct sl_counter {
	__u64 packets;
	__u64 bytes;
};

/* Value of SL_MAP_STATS (PERCPU_ARRAY indexed by slot). */
struct sl_slot_stats {
	struct sl_counter c[SL_NR_REASONS][SL_NR_OUTCOMES];
};

#define SL_GF_REJECT 0x1

/* Global, per-generation settings. */
struct sl_gcfg {
	__u8 dry_run;    /* 1: every would-drop is passed and counted as SL_O_DRYRUN */
	__u8 malformed;  /* enum sl_class_verdict (pass|drop) */
	__u8 fragments;  /* enum sl_class_verdict (pass|drop|limit) */
	__u8 unknown_l3; /* enum sl_class_verdict (pass|drop) */
	__u32 n_rules;
	/*
	 * Incremented by every apply. Drop-cache entries (SL_MAP_DCACHE) are valid only for the
	 * epoch they were written in; anything that could make a bucket admit earlier than it
	 * would have (a reload, a reset) must bump it.
	 */
	__u32 epoch;
	/*
	 * SL_GF_REJECT: some refusal of this generation answers (reset or http429), so TCP
	 * segments are first checked against the connections being closed (SL_MAP_REJECTS).
	 */
	__u8 flags;
	__u8 _pad[3];
	__u64 jiffy_tu; /* time units per jiffy (TICK_NSEC << SL_TU_SHIFT); 0: tick clock unused */
	__u64 policy_hash;
	__u64 applied_ns; /* CLOCK_REALTIME of the apply, for status */
	char policy_name[SL_NAME_MAX];
};

/*
 * Value of SL_MAP_CONFIG (ARRAY, one entry). `apply` writes the inactive generation's rules
 * and g[] entry first, then flips `gen`: a packet reads `gen` once and sees one policy whole.
 */
struct sl_config {
	__u32 gen; /* active generation, 0 or 1 */
	/*
	 * Largest MTU of the attached interfaces, kept by attach. On XDP an IP packet longer than
	 * this can only be a GRO aggregate (generic XDP runs after GRO); it is counted as the
	 * number of wire packets it was made of, as TC counts gso_segs.
	 */
	__u32 max_mtu;
	/*
	 * SipHash-2-4 secret for API keys, made from getrandom() when the maps are created and
	 * never printed. Keys are looked up by their keyed hash, never stored raw.
	 */
	__u64 secret[2];
	struct sl_gcfg g[2];
};

#define SL_RF_DRYRUN 0x1 /* rule-level dry-run */
#define SL_RF_BYTES  0x2 /* cost is bytes, not packets */
/*
 * The rule's buckets run on the precise clock (bpf_ktime_get_ns, ~30 ns a read on some VMs)
 * rather than the tick clock (bpf_jiffies64, free). The tick clock lags real time by up to one
 * tick, which admits at most rate x tick extra over any window and loses nothing as long as the
 * burst holds at least two ticks of rate; the controller sets this flag for rules whose burst
 * does not (or for every rule when the policy says `clock: precise`).
 */
#define SL_RF_FINE   0x4

/* Bucket parameters as the data plane uses them (see include/sluice_gcra.h). */
struct sl_gcra_params {
	__u64 interval; /* time units per cost unit, << shift */
	__u64 tau;      /* burst tolerance in time units */
	__u32 shift;
	__u32 _pad;
};

/* Value of SL_MAP_RULES (LPM_TRIE): one rule as the data plane sees it. */
struct sl_rule {
	__u16 slot;
	__u8 action;  /* enum sl_action */
	__u8 flags;   /* SL_RF_* */
	__u8 prefix4; /* aggregate prefix length for IPv4 sources, 0..32 */
	__u8 prefix6; /* aggregate prefix length for IPv6 sources, 0..128 */
	__u8 reject;  /* enum sl_over_action: how refused (limit, deny) packets are answered */
	__u8 _pad;
	__u32 _pad2;
	struct sl_gcra_params agg; /* each source aggregate's bucket */
	struct sl_gcra_params ovf; /* the rule's shared bucket once the aggregate table is full */
};

/*
 * Key of SL_MAP_RULES. The generation is part of the matched bits, so both generations live in
 * one trie: prefixlen = 16 + CIDR length (gen and family bytes always match exactly).
 */
struct sl_lpm_key {
	__u32 prefixlen;
	__u8 gen;
	__u8 family; /* SL_AF_INET or SL_AF_INET6 */
	__u8 addr[16];
	__u8 _pad[2];
};
#define SL_LPM_FIXED_BITS 16

#define SL_AF_INET  4
#define SL_AF_INET6 6

/* Key of SL_MAP_BUCKETS (HASH, no LRU: a flood can never evict an established aggregate). */
struct sl_bkey {
	__u16 slot;
	__u8 family;
	__u8 _pad;
	__u8 addr[16]; /* source address masked to the rule's prefix */
};

/* Value of SL_MAP_BUCKETS and SL_MAP_OVERFLOW: GCRA theoretical arrival time, time units. */
struct sl_bucket {
	__u64 tat;
};

/*
 * Per-CPU drop cache (SL_MAP_DCACHE, PERCPU_ARRAY of SL_DCACHE_SIZE entries, indexed by a hash
 * of the source address). An entry says: under policy epoch `epoch`, packets from `addr` are
 * dropped until tick-clock time `until`, counted under (slot, reason). Buckets only ever move
 * forward, so the verdict cannot change before `until`; over-limit sources are then dropped
 * with one array lookup instead of a trie and a hash lookup.
 */
#define SL_DCACHE_BITS 12
#define SL_DCACHE_SIZE (1u << SL_DCACHE_BITS)
struct sl_dcache_ent {
	__u32 addr[4];
	__u32 epoch;
	__u16 slot;
	__u8 reason;
	__u8 family;
	__u64 until; /* time units of the tick clock; ~0 for deny rules */
};

/*
 * How a refusal is answered (docs/reject.md). reset: the client gets a TCP RST and the host's
 * socket is reset too; http429: a request start on an HTTP port gets a complete
 * "429 Too Many Requests" response and the connection is closed on both sides. Whatever cannot
 * be answered that way (not TCP, not a request start, no established socket, reply limit
 * reached) is dropped.
 */
enum sl_over_action {
	SL_OVER_DROP = 0,
	SL_OVER_RESET = 1,
	SL_OVER_HTTP429 = 2,
};
#define SL_OVER_INHERIT 0xff /* sl_groupcfg.action: the tenant's action */

/* One API group as the data plane matches it (first match wins, in policy order). */
struct sl_groupcfg {
	__u16 port;     /* destination port; 0: any */
	__u8 method;    /* enum sl_http_method; 0: any */
	__u8 path_len;  /* bytes of path[] that a request path must start with; 0: any */
	__u8 n_limits;  /* limits[0..n_limits), applied in order */
	__u8 limit_flags[SL_MAX_GROUP_LIMITS]; /* SL_RF_FINE per limit */
	__u8 action;    /* enum sl_over_action of the group's limits */
	__u8 _pad[2];
	__u32 weight;   /* cost units of one request */
	struct sl_gcra_params limits[SL_MAX_GROUP_LIMITS]; /* per tenant, requests */
	char path[SL_GROUP_PATH_MAX];
	char name[SL_NAME_MAX]; /* for outputs only */
};

/* Value of SL_MAP_HTTP (ARRAY[2], one per policy generation). n_ports 0: no HTTP layer. */
struct sl_httpcfg {
	__u16 ports[SL_MAX_HTTP_PORTS];
	__u8 n_ports;
	__u8 key_flags;       /* SL_HTTP_KF_* (sluice_http.h) */
	__u8 unknown_prefix4; /* unknown_key aggregates */
	__u8 unknown_prefix6;
	__u8 unknown_action;  /* enum sl_over_action */
	__u8 unknown_flags;   /* SL_RF_FINE */
	__u8 n_groups;
	__u8 _pad;
	__u32 n_tenants;
	struct sl_gcra_params unknown; /* per source aggregate, requests */
	struct sl_groupcfg groups[SL_MAX_GROUPS];
};

/*
 * Value of SL_MAP_KEYS (HASH keyed by the __u64 keyed SipHash of an API key). The tenant is per
 * policy generation, so a reload that moves or removes keys switches with the generation flip.
 */
struct sl_keyval {
	__u16 tenant[2]; /* tenant index in generation 0 and 1; SL_TENANT_NONE: not in it */
	__u32 key_id;    /* short non-reversible id for outputs (sl_key_id in the controller) */
};

/* Value of SL_MAP_TENANTS (ARRAY[2 * SL_MAX_TENANTS], index gen * SL_MAX_TENANTS + tenant). */
struct sl_tenant_cfg {
	struct sl_gcra_params req;   /* requests per second */
	struct sl_gcra_params bytes; /* request bytes per second; interval 0: no bytes limit */
	__u8 in_use;
	__u8 action; /* enum sl_over_action */
	__u8 flags;  /* SL_RF_FINE: request bucket on the precise clock */
	__u8 bytes_flags; /* SL_RF_FINE: bytes bucket on the precise clock */
	__u8 _pad[4];
};

/*
 * Value of SL_MAP_TSTATE (ARRAY[SL_MAX_TENANTS]): bucket state, kept across reloads. The
 * controller zeroes a tenant's state when its index gets a new owner, and a group column
 * when the group at that position changes name or limits.
 */
struct sl_tenant_state {
	__u64 req_tat;
	__u64 bytes_tat;
	__u64 group_tat[SL_MAX_GROUPS][SL_MAX_GROUP_LIMITS];
};

/* Key and value of SL_MAP_TSTATS (PERCPU_HASH): per tenant, key id and API group. */
struct sl_tstats_key {
	__u16 tenant; /* SL_TENANT_UNKNOWN: no key or an unknown key */
	__u8 group;   /* SL_GROUP_NONE: no group matched */
	__u8 _pad;
	__u32 key_id;
};

/* Value of SL_MAP_TSTATS, and of SL_MAP_TOVF (PERCPU_ARRAY[SL_MAX_TENANTS + 1], by tenant). */
struct sl_tstats {
	__u64 req_pass;   /* requests admitted */
	__u64 req_drop;   /* requests refused (each refused segment: a retransmission counts again) */
	__u64 req_dryrun; /* requests that would have been refused (dry-run), passed */
	__u64 req_retrans; /* retransmissions of an admitted request start: passed, not charged */
	__u64 units;      /* cost units of admitted requests (group weight; 1 without a group) */
	__u64 bytes_in;   /* TCP payload bytes of admitted request segments (start and body) */
	__u64 bytes_out;  /* TCP payload bytes of responses on the same connections (TC egress) */
	__u64 bytes_drop; /* payload bytes of body segments refused by the tenant's bytes bucket */
	__u64 req_quota;  /* of req_drop: refused by a hard quota */
	__u64 units_over; /* cost units admitted past a soft quota (billing overage) */
};

/*
 * Key of SL_MAP_FLOWS (LRU_HASH): a connection, seen from the client. Only connections whose
 * socket on this host is established (bpf_skc_lookup_tcp) and that sent a request get an
 * entry, so spoofed packets cannot fill the table.
 */
struct sl_flow_key {
	__u32 caddr[4]; /* client (source of requests), network order */
	__u32 saddr[4]; /* server */
	__u16 cport;    /* host order */
	__u16 sport;
	__u8 family;
	__u8 _pad[3];
};

/* Value of SL_MAP_FLOWS: whose requests the connection carries now. */
struct sl_flow {
	__u16 tenant;
	__u8 group;
	__u8 _pad;
	__u32 key_id;
	__u32 req_seq; /* TCP sequence number of the last admitted request start */
	__u32 _pad2;
};

/*
 * Quotas (docs/quotas.md). The controller (`sluice run`) owns SL_MAP_QCFG and writes it whole
 * with BPF_F_LOCK; the data plane reads a tenant's entry under the same lock, so it always sees
 * one consistent period. The data plane owns SL_MAP_QCNT: each counter is one word, tag in the
 * top SL_QTAG_BITS, units used below, changed only by compare-and-swap. A word whose tag is not
 * the period's tag counts as 0 used: a new period (or a reset) needs no write to the counters.
 */
#define SL_QTAG_BITS  24
#define SL_QUSED_BITS (64 - SL_QTAG_BITS)
#define SL_QUSED_MASK ((1ULL << SL_QUSED_BITS) - 1)
#define SL_QTAG_MASK  ((1U << SL_QTAG_BITS) - 1)

/* One quota of a tenant as the data plane enforces it. */
struct sl_qslot {
	__u8 mode;     /* enum sl_quota_mode (userspace/policy.h): 0 hard, 1 soft */
	__u8 profile;  /* enum sl_quota_profile: 0 tenant, 1 per key id, 2 per source aggregate */
	__u8 prefix4;  /* profile 2 */
	__u8 prefix6;
	__u8 action;   /* enum sl_over_action of refusals */
	__u8 flags;    /* SL_QF_* */
	__u8 _pad[2];
	__u32 tag;      /* tag of the current period */
	__u32 tag_next; /* tag from end_ns on (the controller moves everything along after) */
	__u64 limit;      /* units allowed in the current period, credits included */
	__u64 limit_next; /* units allowed from end_ns on */
	__u64 end_ns;     /* bpf_ktime_get_ns() at the end of the current period; 0: no end */
	/* Rolling windows: the count (mod 2^SL_QUSED_BITS) that has left the window by now. */
	__u64 base;
	__u64 base_next;  /* from end_ns on */
};

/*
 * A rolling window (profile tenant only): the window is cut into slices, each slice is a
 * "period" with its own tag, and the counter word counts units cumulatively across slices
 * instead of from 0. `base` is the count that has left the window (the controller works it
 * out from the slices' starting counts), so "(used - base) + weight <= limit" (modulo
 * 2^SL_QUSED_BITS, so the count may wrap) is "units in the window <= quota". The request that
 * moves the word
 * to a new slice's tag records the count at that slice's start under the counter's key with
 * key_id SL_QSNAP_ID | (tag % SL_QSNAP_RING), value (tag << SL_QUSED_BITS | count).
 *
 * A calendar quota of profile tenant keeps the same way the word a new period replaces: under
 * key_id SL_QSNAP_ID | (old tag % SL_QSNAP_RING), the old word itself, so the controller reads
 * a closed period's final count even when the first request of the next one came first.
 */
#define SL_QF_ROLLING 0x1
#define SL_QSNAP_ID   0x80000000u
#define SL_QSNAP_RING 64

/* Value of SL_MAP_QCFG (ARRAY[SL_MAX_TENANTS], by tenant index). */
struct sl_tquota {
	struct bpf_spin_lock lock;
	__u32 n; /* slots in use, s[0..n) */
	struct sl_qslot s[SL_MAX_QUOTAS];
};

/* Key of SL_MAP_QCNT (HASH). Profile tenant: key_id 0, family 0, addr 0. */
struct sl_qkey {
	__u16 tenant;
	__u8 slot;
	__u8 family;  /* profile source: SL_AF_INET or SL_AF_INET6 */
	__u32 key_id; /* profile key */
	__u32 addr[4]; /* profile source: masked source address */
};

/* Value of SL_MAP_TENMETA (ARRAY[SL_MAX_TENANTS]): which tenant name owns an index. */
struct sl_tenmeta {
	char name[SL_NAME_MAX];
	char plan[SL_NAME_MAX];
	__u32 in_use; /* bitmask of generations */
	__u32 n_keys;
	__u64 rate, burst, bytes_rate, bytes_burst;
	__u8 action;
	__u8 _pad[7];
	__u64 assigned_ns; /* CLOCK_REALTIME when the index was given to this name */
};

/* Value of SL_MAP_RULEMETA (ARRAY indexed by slot): which rule name owns a slot. */
struct sl_rulemeta {
	char name[SL_NAME_MAX];
	__u32 in_use; /* bitmask of the generations whose policy uses this slot */
	__u8 action;  /* the rule as last applied, for status and `policy show` */
	__u8 flags;
	__u8 prefix4;
	__u8 prefix6;
	__u64 assigned_ns; /* CLOCK_REALTIME when the slot was given to this name */
	__u64 rate;
	__u64 burst;
	__u64 ovf_rate;
	__u64 ovf_burst;
};

enum sl_hook {
	SL_HOOK_XDP = 0,
	SL_HOOK_TC = 1,
};

enum sl_xdp_mode {
	SL_MODE_NATIVE = 0,
	SL_MODE_SKB = 1,
};

/* TC filter identity used by sluice on clsact ingress. */
#define SL_TC_HANDLE 0x51c
#define SL_TC_PRIO   1

/* Key of SL_MAP_ATTACH: ifindexes are per network namespace, so the namespace is part of it. */
struct sl_attach_key {
	__u64 netns_ino; /* inode of the network namespace */
	__u32 ifindex;
	__u32 _pad;
};

/* Value of SL_MAP_ATTACH: what sluice attached where. */
struct sl_attach {
	char ifname[16];
	char netns[32]; /* --netns name given at attach ("" for the caller's namespace) */
	__u32 hook;      /* enum sl_hook */
	__u32 mode;      /* enum sl_xdp_mode, XDP only */
	__u32 prog_id;
	__u32 tc_handle; /* TC only */
	__u32 tc_prio;   /* TC only */
	__u32 created_qdisc;
	__u32 mtu; /* at attach time; the largest over all attachments goes to sl_config.max_mtu */
	__u32 egress_prog_id; /* TC egress filter (response bytes of the HTTP layer); 0: none */
	__u64 attached_ns; /* CLOCK_REALTIME */
};

/*
 * Replies (docs/reject.md). Reply slots: a rule's slot for its refusals, SL_RSLOT_HTTP for
 * every refusal of the HTTP layer (tenants, groups, quotas, unknown keys).
 */
#define SL_RSLOT_HTTP SL_NR_SLOTS
#define SL_NR_RSLOTS  (SL_NR_SLOTS + 1)

/*
 * Value of SL_MAP_RCFG (ARRAY[2 * SL_NR_RSLOTS], index gen * SL_NR_RSLOTS + reply slot): the
 * reply limit, a bucket of replies (RSTs and 429s alike) per reply slot, so that sluice cannot
 * be made to send more than this whatever arrives. interval 0: no replies at all (drop).
 */
struct sl_rcfg {
	struct sl_gcra_params lim;
	__u8 flags; /* SL_RF_FINE */
	__u8 _pad[7];
};

/* Value of SL_MAP_RTAT (ARRAY[SL_NR_RSLOTS]): the reply buckets' state. */

/*
 * SL_MAP_RJSEEN (ARRAY[1 << SL_RJSEEN_BITS] of __u64, indexed by a hash of the client's
 * address and both ports): bpf_jiffies64() when an entry for a connection of that hash was
 * last put in SL_MAP_REJECTS. A TCP segment whose slot is older than an entry lives skips the
 * lookup there: one array read instead of building a key and an LRU lookup.
 */
#define SL_RJSEEN_BITS 16
/* SL_RJ_TTL_NS in jiffies at HZ 1000, the largest HZ: longer (safe) at smaller HZ. */
#define SL_RJ_TTL_JIFFIES 30000ULL

/* Value of SL_MAP_RSTATS (PERCPU_ARRAY[SL_NR_RSLOTS]): what the replies did. */
struct sl_rstats {
	__u64 rst;        /* refusals answered with RSTs (client, and the host's socket) */
	__u64 http429;    /* refusals answered with a 429 response */
	__u64 limited;    /* refusals dropped because the reply limit was reached */
	__u64 no_socket;  /* http429 refusals dropped: no established socket (spoofed?) */
	__u64 no_template; /* http429 refusals answered with RSTs: no response text for the limit */
	__u64 fin_acked;  /* client FINs of closed connections acknowledged */
	__u64 follow_drop; /* other client segments of closed connections dropped */
	__u64 failed;     /* a reply could not be built: a 429 without room to grow (reset
			   instead), or a RST (dropped) */
};

/*
 * Key of SL_MAP_REPLY (HASH): which limit a 429 response text belongs to. Written by the
 * controller for every limit whose action is http429, per generation.
 */
enum sl_reply_kind {
	SL_RK_RULE = 0,     /* idx: rule slot */
	SL_RK_UNKNOWN = 1,  /* unknown_key bucket; idx 0 */
	SL_RK_TENANT = 2,   /* the tenant's request bucket; idx: tenant */
	SL_RK_BYTES = 3,    /* the tenant's bytes bucket; idx: tenant */
	SL_RK_GROUP = 4,    /* idx: group, sub: limit index */
	SL_RK_QUOTA = 5,    /* idx: tenant, sub: quota slot */
};

struct sl_reply_key {
	__u8 gen;
	__u8 kind; /* enum sl_reply_kind */
	__u16 idx;
	__u16 sub;
	__u16 _pad;
};

/*
 * Value of SL_MAP_REPLY. text[0..plen) is the response up to and including `;r=` of its
 * RateLimit field; the data plane appends "R;t=T\r\nRetry-After: T\r\n\r\n" (R: what is left
 * of the limit, T: whole seconds until it admits again), then text[plen..plen+blen), the body
 * (its length is in the prefix's Content-Length). plen + blen <= SL_REPLY_TEXT.
 */
#define SL_REPLY_TEXT 512
#define SL_REPLY_MAX  32768 /* response texts over both generations (~10.5k a generation at most) */
#define SL_REJECTS_MAX 65536 /* connections being closed */
struct sl_reply_tpl {
	__u16 plen;
	__u16 blen;
	__u32 _pad;
	char text[SL_REPLY_TEXT];
};

/* Value of SL_MAP_REJECTS (LRU_HASH keyed by struct sl_flow_key): a connection being closed. */
enum sl_rj_state {
	SL_RJ_SRV_OWED = 1, /* XDP http429: the 429 went out; the host's socket is reset next */
	SL_RJ_CLI_OWED = 2, /* XDP reset: the host's socket was reset; the client's RST is next */
	SL_RJ_CLOSING = 3,  /* both sides done: ACK the client's FIN, drop its other segments */
};

struct sl_reject {
	__u64 expires_ns; /* bpf_ktime_get_ns() after which the entry is ignored */
	__u32 srv_seq;    /* the host socket's next expected sequence number (its rcv_nxt) */
	__u16 rslot;      /* reply slot, for counters */
	__u8 state;       /* enum sl_rj_state */
	__u8 _pad;
};
#define SL_RJ_TTL_NS (30ULL * 1000000000ULL)

#endif /* SLUICE_ABI_H */
