/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared setup of the BPF_PROG_TEST_RUN tests: test skeleton, policy install, runs, counters. */
#ifndef SLUICE_TEST_FIXTURE_H
#define SLUICE_TEST_FIXTURE_H

/*
 * Everything here is static inline so that each test_*.c includes it without a separate object.
 * Each criterion test runs in its own process: it opens its own skeleton (private, unpinned
 * maps), so counters and buckets start at zero and no test sees another's state.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sluice_abi.h"
#include "sluice_test.skel.h"
#include "apply.h"
#include "maps.h"
#include "pins.h"
#include "policy.h"
#include "stats.h"
#include "pktbuild.h"

enum fx_hook {
	FX_XDP = 0,
	FX_TC = 1,
};

enum fx_verdict {
	FX_PASS = 0,
	FX_DROP = 1,
};

#define FX_SEC 1000000000ULL
#define FX_MS  1000000ULL
/* The injected clock starts well away from 0, so "idle since boot" is never a special case. */
#define FX_T0  (1000 * FX_SEC)
/* sl_config.secret of every test skeleton (fx_open_sized). */
#define FX_SECRET0 0x0706050403020100ULL
#define FX_SECRET1 0x0f0e0d0c0b0a0908ULL

struct fx {
	struct sluice_test *skel;
	struct sl_maps m;
	int prog[2]; /* by enum fx_hook */
	int clock;
};

static inline const char *fx_hook_name(enum fx_hook h)
{
	return h == FX_XDP ? "xdp" : "tc";
}

static inline const char *fx_verdict_name(int v)
{
	return v == FX_PASS ? "pass" : v == FX_DROP ? "drop" : "?";
}

static inline void fx_clock(struct fx *f, __u64 ns)
{
	__u32 zero = 0;

	cr_assert_eq(bpf_map_update_elem(f->clock, &zero, &ns, BPF_ANY), 0, "set clock: %s",
		     strerror(errno));
}

/* Nonzero: the (tenant, group, key) counter table gets this many entries (to fill it). */
static __u32 fx_tstats_max;

/*
 * Open and load the test skeleton. buckets_max > 0 shrinks the aggregate table (to fill it).
 * The clock is set to FX_T0.
 */
static inline void fx_open_sized(struct fx *f, __u32 buckets_max)
{
	int err;

	if (geteuid() != 0)
		cr_skip_test("BPF_PROG_TEST_RUN tests need root");
	memset(f, 0, sizeof(*f));
	f->skel = sluice_test__open();
	cr_assert_not_null(f->skel, "sluice_test__open: %s", strerror(errno));
	if (buckets_max)
		cr_assert_eq(bpf_map__set_max_entries(f->skel->maps.sl_buckets_v1, buckets_max), 0);
	if (fx_tstats_max)
		cr_assert_eq(bpf_map__set_max_entries(f->skel->maps.sl_tstats_v3, fx_tstats_max), 0);
	err = sluice_test__load(f->skel);
	cr_assert_eq(err, 0, "sluice_test__load: %s", strerror(-err));

	f->m.config = bpf_map__fd(f->skel->maps.sl_config_v1);
	f->m.rules = bpf_map__fd(f->skel->maps.sl_rules_v1);
	f->m.buckets = bpf_map__fd(f->skel->maps.sl_buckets_v1);
	f->m.ovf = bpf_map__fd(f->skel->maps.sl_ovf_v1);
	f->m.stats = bpf_map__fd(f->skel->maps.sl_stats_v1);
	f->m.rulemeta = bpf_map__fd(f->skel->maps.sl_rulemeta_v1);
	f->m.attach = bpf_map__fd(f->skel->maps.sl_attach_v2);
	f->m.http = bpf_map__fd(f->skel->maps.sl_http_v2);
	f->m.keys = bpf_map__fd(f->skel->maps.sl_keys_v2);
	f->m.tenants = bpf_map__fd(f->skel->maps.sl_tenants_v1);
	f->m.tstate = bpf_map__fd(f->skel->maps.sl_tstate_v1);
	f->m.tstats = bpf_map__fd(f->skel->maps.sl_tstats_v3);
	f->m.tenmeta = bpf_map__fd(f->skel->maps.sl_tenmeta_v1);
	f->m.flows = bpf_map__fd(f->skel->maps.sl_flows_v1);
	f->m.tovf = bpf_map__fd(f->skel->maps.sl_tovf_v1);
	f->m.qcfg = bpf_map__fd(f->skel->maps.sl_qcfg_v1);
	f->m.qcnt = bpf_map__fd(f->skel->maps.sl_qcnt_v1);
	f->m.rcfg = bpf_map__fd(f->skel->maps.sl_rcfg_v1);
	f->m.rtat = bpf_map__fd(f->skel->maps.sl_rtat_v1);
	f->m.rstats = bpf_map__fd(f->skel->maps.sl_rstats_v1);
	f->m.reply = bpf_map__fd(f->skel->maps.sl_reply_v1);
	f->m.rejects = bpf_map__fd(f->skel->maps.sl_rejects_v1);
	f->m.rjseen = bpf_map__fd(f->skel->maps.sl_rjseen_v1);
	f->clock = bpf_map__fd(f->skel->maps.sl_clock_v1);
	f->prog[FX_XDP] = bpf_program__fd(f->skel->progs.sluice_xdp);
	f->prog[FX_TC] = bpf_program__fd(f->skel->progs.sluice_tc);
	fx_clock(f, FX_T0);
	{
		/* A fixed API-key secret (the loader makes a random one), so tests can hash keys. */
		struct sl_config cfg;

		cr_assert_eq(sl_config_read(f->m.config, &cfg), 0);
		cfg.secret[0] = FX_SECRET0;
		cfg.secret[1] = FX_SECRET1;
		cr_assert_eq(sl_config_write(f->m.config, &cfg), 0);
	}
}

static inline void fx_open(struct fx *f)
{
	fx_open_sized(f, 0);
}

static inline void fx_close(struct fx *f)
{
	sluice_test__destroy(f->skel);
	f->skel = NULL;
}

/* Parse a policy from text with the real parser and install it with the real apply path. */
static inline struct sl_apply_result fx_policy(struct fx *f, const char *yaml)
{
	struct sl_apply_result res;
	struct sl_policy pol;
	char err[512];
	int ret;

	ret = sl_policy_parse("test.yaml", yaml, strlen(yaml), &pol, err, sizeof(err));
	cr_assert_eq(ret, 0, "policy does not parse: %s\n%s", err, yaml);
	ret = sl_policy_install(&f->m, &pol, &res);
	sl_policy_free(&pol);
	cr_assert_eq(ret, 0, "sl_policy_install: %s", strerror(-ret));
	return res;
}

static inline struct sl_apply_result __attribute__((format(printf, 2, 3)))
fx_policyf(struct fx *f, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cr_assert(n > 0 && (size_t)n < sizeof(buf), "policy text too long");
	return fx_policy(f, buf);
}

/* Slot of the rule `name` in the active policy (from the rule metadata the controller keeps). */
static inline __u32 fx_slot(struct fx *f, const char *name)
{
	struct sl_config cfg;
	struct sl_rulemeta rm;

	cr_assert_eq(sl_config_read(f->m.config, &cfg), 0);
	for (__u32 s = 0; s < SL_MAX_RULES; s++) {
		cr_assert_eq(bpf_map_lookup_elem(f->m.rulemeta, &s, &rm), 0);
		if ((rm.in_use & (1u << (cfg.gen & 1))) && !strcmp(rm.name, name))
			return s;
	}
	cr_assert_fail("no active rule named %s", name);
	return SL_MAX_RULES;
}

static inline struct sl_slot_stats fx_stats(struct fx *f, __u32 slot)
{
	struct sl_slot_stats st;
	int err = sl_stats_read(f->m.stats, slot, &st);

	cr_assert_eq(err, 0, "sl_stats_read(%u): %s", slot, strerror(-err));
	return st;
}

static inline struct sl_counter fx_counter(struct fx *f, __u32 slot, __u32 reason, __u32 outcome)
{
	return fx_stats(f, slot).c[reason][outcome];
}

static inline __u64 fx_pkts(struct fx *f, __u32 slot, __u32 reason, __u32 outcome)
{
	return fx_counter(f, slot, reason, outcome).packets;
}

/*
 * Whether the kernel's test run accepts this frame at all. It refuses (EINVAL) frames shorter
 * than ETH_HLEN for both program types (for XDP it checks data_end - data, so XDP metadata in
 * front does not help), and for TC (skb) also untagged IPv4/IPv6 frames shorter than the fixed
 * IP header: 14 + 20 and 14 + 40 bytes (kernel 6.18). Those cuts are only reachable from a real
 * driver; every other length is tested. truncate::kernel_refuses_* checks this table.
 */
static inline bool fx_can_run(enum fx_hook h, const void *pkt, size_t len)
{
	const __u8 *d = pkt;
	__u16 type;

	if (len < ETH_HLEN)
		return false;
	if (h == FX_XDP)
		return true;
	type = (__u16)(d[12] << 8 | d[13]);
	if (type == ETH_P_IP)
		return len >= ETH_HLEN + 20;
	if (type == ETH_P_IPV6)
		return len >= ETH_HLEN + 40;
	return true;
}

/*
 * Run one frame through a hook; returns FX_PASS or FX_DROP (any other return code fails the
 * test). gso_segs > 0 (TC only) goes into the __sk_buff context.
 */
static inline int fx_run_segs(struct fx *f, enum fx_hook h, const void *pkt, size_t len,
			      __u32 gso_segs)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct __sk_buff skb = {};
	int err, ret;

	cr_assert(len <= PB_MAX_FRAME);
	o.data_in = pkt;
	o.data_size_in = len;
	o.repeat = 1;
	if (h == FX_TC && gso_segs) {
		skb.gso_segs = gso_segs;
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
	}
	err = bpf_prog_test_run_opts(f->prog[h], &o);
	cr_assert_eq(err, 0, "%s test run of a %zu-byte frame failed: %s", fx_hook_name(h), len,
		     strerror(errno));
	ret = (int)o.retval;
	if (h == FX_XDP) {
		cr_assert(ret == XDP_PASS || ret == XDP_DROP, "xdp returned %d", ret);
		return ret == XDP_PASS ? FX_PASS : FX_DROP;
	}
	cr_assert(ret == TC_ACT_UNSPEC || ret == TC_ACT_SHOT, "tc returned %d", ret);
	return ret == TC_ACT_UNSPEC ? FX_PASS : FX_DROP;
}

static inline int fx_run(struct fx *f, enum fx_hook h, const void *pkt, size_t len)
{
	return fx_run_segs(f, h, pkt, len, 0);
}

static inline int fx_send(struct fx *f, enum fx_hook h, const struct pb_frame *pf)
{
	return fx_run(f, h, pf->data, pf->len);
}

/* Send n copies at the current clock; returns how many passed. */
static inline int fx_send_n(struct fx *f, enum fx_hook h, const struct pb_frame *pf, int n)
{
	int passed = 0;

	for (int i = 0; i < n; i++)
		passed += fx_send(f, h, pf) == FX_PASS;
	return passed;
}

/* What one run must do: its verdict and the one counter cell that must move. */
struct fx_want {
	int verdict;
	__u32 slot;
	__u32 reason;
	__u32 outcome;
};

#define FX_WANT(v, s, r, o) \
	((struct fx_want){ .verdict = (v), .slot = (s), .reason = (r), .outcome = (o) })

/*
 * Run a frame and check the verdict, that counter (slot, reason, outcome) grew by `pkts`
 * packets and `len` bytes, and that no other cell of that slot or of SL_SLOT_PARSE moved.
 */
static inline void fx_expect_segs(struct fx *f, enum fx_hook h, const void *pkt, size_t len,
				  __u32 gso_segs, struct fx_want w, const char *what)
{
	__u32 slots[2] = { w.slot, SL_SLOT_PARSE };
	struct sl_slot_stats before[2], after[2];
	int ns = w.slot == SL_SLOT_PARSE ? 1 : 2;
	__u64 pkts = gso_segs ? gso_segs : 1;
	bool ok_cell = false, others = false;
	char moved[512] = "";
	int v;

	for (int i = 0; i < ns; i++)
		before[i] = fx_stats(f, slots[i]);
	v = fx_run_segs(f, h, pkt, len, gso_segs);
	for (int i = 0; i < ns; i++)
		after[i] = fx_stats(f, slots[i]);

	/* Every cell that moved, for the messages: "slot 256 malformed/pass +1p +60B". */
	for (int i = 0; i < ns; i++) {
		for (__u32 r = 0; r < SL_NR_REASONS; r++) {
			for (__u32 o = 0; o < SL_NR_OUTCOMES; o++) {
				__u64 dp = after[i].c[r][o].packets - before[i].c[r][o].packets;
				__u64 db = after[i].c[r][o].bytes - before[i].c[r][o].bytes;
				size_t used = strlen(moved);

				if (!dp && !db)
					continue;
				snprintf(moved + used, sizeof(moved) - used,
					 " slot %u %s/%s +%llup +%lluB;",
					 slots[i], sl_reason_name(r), sl_outcome_name(o),
					 (unsigned long long)dp, (unsigned long long)db);
				if (slots[i] == w.slot && r == w.reason && o == w.outcome)
					ok_cell = dp == pkts && db == len;
				else
					others = true;
			}
		}
	}
	cr_assert_eq(v, w.verdict, "%s [%s, %zu bytes]: verdict %s, want %s (moved:%s)", what,
		     fx_hook_name(h), len, fx_verdict_name(v), fx_verdict_name(w.verdict), moved);
	cr_assert(ok_cell && !others,
		  "%s [%s, %zu bytes]: want slot %u %s/%s +%llup +%zuB and nothing else; moved:%s",
		  what, fx_hook_name(h), len, w.slot, sl_reason_name(w.reason),
		  sl_outcome_name(w.outcome), (unsigned long long)pkts, len, moved);
}

static inline void fx_expect(struct fx *f, enum fx_hook h, const struct pb_frame *pf,
			     struct fx_want w, const char *what)
{
	fx_expect_segs(f, h, pf->data, pf->len, 0, w, what);
}

/* Build a frame or fail the test. */
static inline struct pb_frame fx_frame(const struct pb_spec *s)
{
	struct pb_frame pf;

	cr_assert_eq(pb_build(s, &pf), 0, "pb_build refused the spec");
	return pf;
}

/*
 * The catalogue of valid frames every parser test walks: each family and L4 protocol, VLAN
 * tags, IPv4 and TCP options, IPv6 extension headers. All come from 192.0.2.1 or 2001:db8::1.
 * Returns false past the end.
 */
struct fx_case {
	const char *name;
	struct pb_spec spec;
};

static inline bool fx_catalog(int i, struct fx_case *c)
{
	const struct fx_case all[] = {
		{ "ipv4 udp", { .l3 = PB_IPV4, .l4 = IPPROTO_UDP, .payload = 18 } },
		{ "ipv4 tcp", { .l3 = PB_IPV4, .l4 = IPPROTO_TCP, .payload = 10 } },
		{ "ipv4 icmp", { .l3 = PB_IPV4, .l4 = IPPROTO_ICMP, .payload = 32 } },
		{ "ipv4 gre (unparsed l4)", { .l3 = PB_IPV4, .l4 = IPPROTO_GRE, .payload = 8 } },
		{ "ipv4 options+tcp options",
		  { .l3 = PB_IPV4, .ip_optlen = 40, .l4 = IPPROTO_TCP, .tcp_optlen = 40 } },
		{ "ipv4 1 vlan udp", { .l3 = PB_IPV4, .n_vlan = 1, .l4 = IPPROTO_UDP } },
		{ "ipv4 2 vlans tcp", { .l3 = PB_IPV4, .n_vlan = 2, .l4 = IPPROTO_TCP } },
		{ "ipv6 udp", { .l3 = PB_IPV6, .l4 = IPPROTO_UDP, .payload = 18 } },
		{ "ipv6 tcp", { .l3 = PB_IPV6, .l4 = IPPROTO_TCP, .tcp_optlen = 12 } },
		{ "ipv6 icmpv6", { .l3 = PB_IPV6, .l4 = IPPROTO_ICMPV6, .payload = 32 } },
		{ "ipv6 1 vlan udp", { .l3 = PB_IPV6, .n_vlan = 1, .l4 = IPPROTO_UDP } },
		{ "ipv6 2 vlans icmpv6", { .l3 = PB_IPV6, .n_vlan = 2, .l4 = IPPROTO_ICMPV6 } },
		{ "ipv6 5 ext headers tcp",
		  { .l3 = PB_IPV6, .l4 = IPPROTO_TCP, .tcp_optlen = 8, .n_ext = 5,
		    .ext = { { .type = IPPROTO_HOPOPTS, .len = 1 },
			     { .type = IPPROTO_DSTOPTS },
			     { .type = IPPROTO_ROUTING, .len = 2 },
			     { .type = IPPROTO_FRAGMENT, .mf = true },
			     { .type = IPPROTO_AH, .len = 4 } } } },
	};

	if (i < 0 || (size_t)i >= sizeof(all) / sizeof(all[0]))
		return false;
	*c = all[i];
	return true;
}

/* One test per hook, both running the same body in their own process (fresh maps). */
#define FX_TEST_BOTH(suite, name)                                  \
	static void name##_body(enum fx_hook h);                  \
	Test(suite, name##_xdp) { name##_body(FX_XDP); }          \
	Test(suite, name##_tc) { name##_body(FX_TC); }            \
	static void name##_body(enum fx_hook h)

/* A permissive policy: every IPv4 and IPv6 source is classified to rule "all" and admitted. */
#define FX_POLICY_ALL(extra)                                                       \
	"version: 1\n"                                                             \
	"name: t\n" extra "sources:\n"                                             \
	"  - name: all\n"                                                          \
	"    cidr: [0.0.0.0/0, \"::/0\"]\n"                                        \
	"    rate: 1000000000\n"                                                   \
	"    burst: 1000000000\n"

#endif /* SLUICE_TEST_FIXTURE_H */
