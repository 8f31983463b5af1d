// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Policy installation: slot assignment by rule name, double-buffered rules, one-write flip. */
#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "sluice_gcra.h"
#include "apply.h"
#include "apply_http.h"
#include "apply_reply.h"
#include "log.h"
#include "maps.h"
#include "reply.h"
#include "util.h"

__u64 sl_tick_ns(void)
{
	struct timespec ts;

	/* The resolution of the coarse clock is the length of one jiffy (TICK_NSEC). */
	if (clock_getres(CLOCK_MONOTONIC_COARSE, &ts) || ts.tv_sec || ts.tv_nsec <= 0)
		return 0;
	return ts.tv_nsec;
}

/* Whether a bucket needs the precise clock: less than two ticks of its rate fit its burst. */
static bool sl_needs_fine(__u64 rate, __u64 burst, __u64 tick_ns)
{
	return !tick_ns || (unsigned __int128)burst * 1000000000ULL <
				   (unsigned __int128)rate * 2 * tick_ns;
}

bool sl_clock_fine(int clock, __u64 tick_ns, __u64 rate, __u64 burst)
{
	if (!tick_ns || clock == SL_CLOCK_PRECISE)
		return true;
	if (clock == SL_CLOCK_TICK)
		return false;
	return sl_needs_fine(rate, burst, tick_ns);
}

__u8 sl_rule_flags(const struct sl_policy_rule *pr, int clock, __u64 tick_ns)
{
	__u8 f = (pr->dry_run ? SL_RF_DRYRUN : 0) | (pr->bytes ? SL_RF_BYTES : 0);
	__u64 orate = pr->ovf_rate ? pr->ovf_rate : pr->rate;
	__u64 oburst = pr->ovf_burst ? pr->ovf_burst : pr->burst;

	if (pr->action != SL_ACT_LIMIT)
		return f;
	if (sl_clock_fine(clock, tick_ns, pr->rate, pr->burst) ||
	    sl_clock_fine(clock, tick_ns, orate, oburst))
		f |= SL_RF_FINE;
	return f;
}

int sl_rule_build(const struct sl_policy_rule *pr, __u16 slot, int clock, __u64 tick_ns,
		  struct sl_rule *out)
{
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->slot = slot;
	out->action = pr->action;
	out->flags = sl_rule_flags(pr, clock, tick_ns);
	out->prefix4 = pr->prefix4;
	out->prefix6 = pr->prefix6;
	out->reject = pr->reject;
	if (pr->action != SL_ACT_LIMIT)
		return 0;
	err = sl_gcra_params_make(pr->rate, pr->burst, &out->agg);
	if (!err)
		err = sl_gcra_params_make(pr->ovf_rate ? pr->ovf_rate : pr->rate,
					  pr->ovf_burst ? pr->ovf_burst : pr->burst, &out->ovf);
	return err ? -EINVAL : 0;
}

struct sl_slot_clear {
	__u8 doomed[SL_MAX_RULES]; /* 1: delete this slot's buckets */
	__u8 unknown_key;          /* 1: delete the unknown-key buckets (SL_SLOT_UNKNOWN_KEY) */
	__u8 ovf[SL_MAX_RULES];    /* 1: reset this slot's overflow bucket after the flip */
	long n;
};

static int sl_bucket_doomed(const struct sl_bkey *k, const struct sl_bucket *v, void *arg)
{
	struct sl_slot_clear *c = arg;

	/* Slot SL_SLOT_UNKNOWN_KEY is no rule's: only the HTTP layer's settings doom it. */
	if (k->slot == SL_SLOT_UNKNOWN_KEY ? c->unknown_key
					    : k->slot < SL_MAX_RULES && c->doomed[k->slot]) {
		c->n++;
		return 1;
	}
	return 0;
}

struct sl_gen_clear {
	__u8 gen;
};

static int sl_rule_in_gen(const struct sl_lpm_key *k, const struct sl_rule *v, void *arg)
{
	return k->gen == ((struct sl_gen_clear *)arg)->gen ? 1 : 0;
}

int sl_policy_install(const struct sl_maps *m, const struct sl_policy *pol,
		      struct sl_apply_result *res)
{
	struct sl_rulemeta meta[SL_MAX_RULES];
	__u16 slot_of[SL_MAX_RULES];
	struct sl_slot_clear clear = {}, only_fresh = {};
	struct sl_http_apply *ha = NULL;
	struct sl_reply_apply ra;
	struct sl_gen_clear gc;
	struct sl_config cfg;
	__u8 fresh[SL_MAX_RULES] = {};
	__u64 tick = sl_tick_ns();
	__u32 cur, nxt;
	long n;
	int err;

	memset(res, 0, sizeof(*res));
	if ((err = sl_config_read(m->config, &cfg)))
		return err;
	cur = cfg.gen & 1;
	nxt = cur ^ 1;
	for (__u32 s = 0; s < SL_MAX_RULES; s++) {
		if (bpf_map_lookup_elem(m->rulemeta, &s, &meta[s]))
			return -errno;
		meta[s].in_use &= 1u << cur; /* leftovers of an interrupted apply are free */
	}

	/* 1. Slots: same name keeps its slot; new names take a slot the running policy does not use. */
	for (int i = 0; i < pol->n_rules; i++) {
		const struct sl_policy_rule *pr = &pol->rules[i];
		int slot = -1;

		for (int s = 0; s < SL_MAX_RULES && slot < 0; s++)
			if ((meta[s].in_use & (1u << cur)) && !strcmp(meta[s].name, pr->name))
				slot = s;
		if (slot >= 0) {
			res->kept++;
			/*
			 * Old aggregates no longer mean the same after a change of prefix or action,
			 * and a TAT from one clock means nothing on the other.
			 */
			__u8 fine = sl_rule_flags(pr, pol->clock, tick) & SL_RF_FINE;

			if (meta[slot].prefix4 != pr->prefix4 || meta[slot].prefix6 != pr->prefix6 ||
			    meta[slot].action != pr->action || (meta[slot].flags & SL_RF_FINE) != fine) {
				clear.doomed[slot] = 1;
				clear.ovf[slot] = 1;
			}
		} else {
			for (int s = 0; s < SL_MAX_RULES && slot < 0; s++)
				if (!meta[s].in_use && !fresh[s])
					slot = s;
			if (slot < 0)
				return -ENOSPC;
			fresh[slot] = 1;
			res->added++;
		}
		slot_of[i] = slot;
	}

	/* 2. Fresh slots start clean: no counters or buckets of a previous owner. */
	for (int s = 0; s < SL_MAX_RULES; s++) {
		struct sl_bucket zero = {};
		__u32 k = s;

		if (!fresh[s])
			continue;
		only_fresh.doomed[s] = 1;
		if ((err = sl_stats_clear(m->stats, s)))
			return err;
		if (bpf_map_update_elem(m->ovf, &k, &zero, BPF_ANY))
			return -errno;
	}
	/* No packet can reach a fresh slot before the flip, so this removes only stale state. */
	n = sl_buckets_scan(m->buckets, sl_bucket_doomed, &only_fresh);
	if (n < 0)
		return (int)n;
	res->buckets_cleared += only_fresh.n;

	/* 3. The inactive generation's trie entries: clear leftovers, write the new rules. */
	gc.gen = nxt;
	if ((n = sl_rules_scan(m->rules, sl_rule_in_gen, &gc)) < 0)
		return (int)n;
	for (int i = 0; i < pol->n_rules; i++) {
		const struct sl_policy_rule *pr = &pol->rules[i];
		struct sl_rule rv;

		if ((err = sl_rule_build(pr, slot_of[i], pol->clock, tick, &rv)))
			goto undo;
		for (int c = 0; c < pr->n_cidrs; c++) {
			struct sl_lpm_key k = {};

			k.gen = nxt;
			k.family = pr->cidrs[c].family;
			k.prefixlen = SL_LPM_FIXED_BITS + pr->cidrs[c].len;
			memcpy(k.addr, pr->cidrs[c].addr, 16);
			if (bpf_map_update_elem(m->rules, &k, &rv, BPF_ANY)) {
				err = -errno;
				pr_warn("cannot add rule %s to the trie: %s\n", pr->name,
					strerror(errno));
				goto undo;
			}
		}
	}

	/* 4. Rule metadata for the new generation (read by status and policy show). */
	for (int i = 0; i < pol->n_rules; i++) {
		const struct sl_policy_rule *pr = &pol->rules[i];
		struct sl_rulemeta *mt = &meta[slot_of[i]];

		if (fresh[slot_of[i]]) {
			memset(mt, 0, sizeof(*mt));
			sl_strlcpy(mt->name, pr->name, sizeof(mt->name));
			mt->assigned_ns = sl_realtime_ns();
		}
		mt->in_use |= 1u << nxt;
		mt->action = pr->action;
		mt->flags = sl_rule_flags(pr, pol->clock, tick);
		mt->prefix4 = pr->prefix4;
		mt->prefix6 = pr->prefix6;
		mt->rate = pr->rate;
		mt->burst = pr->burst;
		mt->ovf_rate = pr->ovf_rate ? pr->ovf_rate : pr->rate;
		mt->ovf_burst = pr->ovf_burst ? pr->ovf_burst : pr->burst;
	}
	for (__u32 s = 0; s < SL_MAX_RULES; s++)
		if (bpf_map_update_elem(m->rulemeta, &s, &meta[s], BPF_ANY)) {
			err = -errno;
			goto undo;
		}

	/* 5. The HTTP layer's settings, tenants and keys of the new generation. */
	if ((err = sl_http_prepare(m, pol, &cfg, tick, &ha, res)))
		goto undo;

	/* 5b. Replies of the new generation: reply limits, 429 texts (docs/reject.md). */
	if ((err = sl_reply_prepare(m, pol, nxt, tick, slot_of, fresh, sl_http_tenant_index(ha),
				    &ra, &res->replies)))
		goto undo;

	/* 6. Global settings of the new generation, then the flip: two writes, in this order. */
	memset(&cfg.g[nxt], 0, sizeof(cfg.g[nxt]));
	cfg.g[nxt].dry_run = pol->dry_run;
	cfg.g[nxt].malformed = pol->malformed;
	cfg.g[nxt].fragments = pol->fragments;
	cfg.g[nxt].unknown_l3 = pol->unknown_l3;
	cfg.g[nxt].n_rules = pol->n_rules;
	cfg.g[nxt].policy_hash = pol->hash;
	cfg.g[nxt].epoch = cfg.g[cur].epoch + 1; /* invalidates every drop-cache entry */
	cfg.g[nxt].jiffy_tu = tick << SL_TU_SHIFT;
	cfg.g[nxt].applied_ns = sl_realtime_ns();
	/* Without answers, TCP segments skip the lookup of connections being closed. */
	cfg.g[nxt].flags = sl_reply_any(pol) ? SL_GF_REJECT : 0;
	sl_strlcpy(cfg.g[nxt].policy_name, pol->name, sizeof(cfg.g[nxt].policy_name));
	if ((err = sl_config_write(m->config, &cfg)))
		goto undo;
	cfg.gen = nxt;
	if ((err = sl_config_write(m->config, &cfg)))
		goto undo;
	res->gen = nxt;

	/*
	 * 7. Retire the old generation. Packets already past their read of `gen` may still look up
	 * old entries: give them a grace period (XDP/TC run to completion in well under that).
	 */
	usleep(20000);
	gc.gen = cur;
	sl_rules_scan(m->rules, sl_rule_in_gen, &gc);
	for (__u32 s = 0; s < SL_MAX_RULES; s++) {
		if (meta[s].in_use & (1u << cur)) {
			if (!(meta[s].in_use & (1u << nxt))) {
				res->removed++;
				clear.doomed[s] = 1;
			}
			meta[s].in_use &= ~(1u << cur);
			bpf_map_update_elem(m->rulemeta, &s, &meta[s], BPF_ANY);
		}
	}
	for (__u32 s = 0; s < SL_MAX_RULES; s++) {
		struct sl_bucket zero = {};

		if (clear.ovf[s])
			bpf_map_update_elem(m->ovf, &s, &zero, BPF_ANY);
	}
	sl_reply_commit(m, &ra);
	clear.unknown_key = sl_http_commit(m, ha, res);
	/*
	 * Removed rules, and kept rules whose prefix, action or clock changed, lose their buckets;
	 * so do the unknown-key aggregates when their prefix or clock changed.
	 */
	n = sl_buckets_scan(m->buckets, sl_bucket_doomed, &clear);
	if (n >= 0)
		res->buckets_cleared += clear.n;
	return 0;

undo:
	/* Nothing points at the inactive generation yet: drop what was written, keep running. */
	gc.gen = nxt;
	sl_rules_scan(m->rules, sl_rule_in_gen, &gc);
	if (ha)
		sl_http_abort(m, ha);
	return err;
}
