// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The replies' part of an apply: sl_rcfg_v1 and sl_reply_v1 of one generation, reply buckets. */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "sluice_gcra.h"
#include "apply_reply.h"
#include "log.h"
#include "maps.h"
#include "reply.h"

/* A reply limit as the data plane uses it; NULL (or rate 0): no replies from that slot. */
static int sl_rcfg_build(const struct sl_reply_lim *l, int clock, __u64 tick,
			 struct sl_rcfg *out)
{
	__u64 burst;

	memset(out, 0, sizeof(*out));
	if (!l || !l->rate)
		return 0;
	burst = l->burst ? l->burst : l->rate;
	if (sl_gcra_params_make(l->rate, burst, &out->lim))
		return -EINVAL;
	if (sl_clock_fine(clock, tick, l->rate, burst))
		out->flags = SL_RF_FINE;
	return 0;
}

struct sl_text_put {
	const struct sl_maps *m;
	__u32 gen;
	int n;    /* texts written */
	int full; /* texts the table had no room for */
};

static int sl_text_of_gen(const struct sl_reply_key *k, const struct sl_reply_tpl *v, void *arg)
{
	return k->gen == ((const struct sl_text_put *)arg)->gen;
}

static int sl_text_put(const struct sl_reply_key *k, const struct sl_reply_tpl *t, void *arg)
{
	struct sl_text_put *a = arg;
	struct sl_reply_key key = *k;

	key.gen = a->gen;
	key._pad = 0;
	if (!bpf_map_update_elem(a->m->reply, &key, t, BPF_ANY)) {
		a->n++;
		return 0;
	}
	if (errno != E2BIG && errno != ENOMEM)
		return -errno;
	a->full++;
	return 0;
}

int sl_reply_prepare(const struct sl_maps *m, const struct sl_policy *pol, __u32 gen,
		     __u64 tick, const __u16 *rule_slot, const __u8 *fresh,
		     const __u16 *tenant_idx, struct sl_reply_apply *ra, int *n_texts)
{
	const struct sl_reply_lim *lim[SL_NR_RSLOTS] = { NULL };
	struct sl_text_put put = { .m = m, .gen = gen & 1 };
	__u32 cur = (gen & 1) ^ 1;
	long n;
	int err;

	memset(ra, 0, sizeof(*ra));
	*n_texts = 0;
	for (int i = 0; i < pol->n_rules; i++)
		if (rule_slot[i] < SL_MAX_RULES)
			lim[rule_slot[i]] = &pol->rules[i].replies;
	if (pol->n_http_ports)
		lim[SL_RSLOT_HTTP] = &pol->http_replies;

	for (__u32 s = 0; s < SL_NR_RSLOTS; s++) {
		__u32 k = put.gen * SL_NR_RSLOTS + s, ko = cur * SL_NR_RSLOTS + s;
		struct sl_rcfg nc, oc;

		if ((err = sl_rcfg_build(lim[s], pol->clock, tick, &nc)))
			return err;
		if (bpf_map_lookup_elem(m->rcfg, &ko, &oc))
			return -errno;
		if (s < SL_MAX_RULES && fresh[s]) {
			/* No packet reaches a fresh slot before the flip: clean it now. */
			struct sl_bucket zero = {};

			if ((err = sl_percpu_zero(m->rstats, s, sizeof(struct sl_rstats))))
				return err;
			if (bpf_map_update_elem(m->rtat, &s, &zero, BPF_ANY))
				return -errno;
		} else if (nc.lim.interval && (!oc.lim.interval || oc.flags != nc.flags)) {
			/* A TAT from one clock means nothing on the other. */
			ra->reset[s] = 1;
		}
		if (bpf_map_update_elem(m->rcfg, &k, &nc, BPF_ANY))
			return -errno;
	}

	/* Texts: the generation's old ones go, so a reload leaves none of a removed limit. */
	if ((n = sl_replies_scan(m->reply, sl_text_of_gen, &put)) < 0)
		return (int)n;
	err = sl_reply_each(pol, rule_slot, tenant_idx, sl_text_put, &put);
	if (put.full)
		pr_warn("the table of 429 response texts is full (%d over both generations): %d limit(s) without a text answer with a reset instead\n",
			SL_REPLY_MAX, put.full);
	*n_texts = put.n;
	return err;
}

void sl_reply_commit(const struct sl_maps *m, const struct sl_reply_apply *ra)
{
	struct sl_bucket zero = {};

	for (__u32 s = 0; s < SL_NR_RSLOTS; s++)
		if (ra->reset[s])
			bpf_map_update_elem(m->rtat, &s, &zero, BPF_ANY);
}

int sl_reply_quotas(const struct sl_maps *m, const struct sl_policy *pol, __u32 gen, int ti,
		    __u16 tidx, const __u8 slot[SL_MAX_QUOTAS])
{
	const struct sl_plan *pl = &pol->plans[pol->tenants[ti].plan];
	struct sl_reply_tpl t;

	/* Written or deleted one key at a time: the data plane never misses a text it keeps. */
	for (int sub = 0; sub < SL_MAX_QUOTAS; sub++) {
		struct sl_reply_key k = { .gen = gen & 1, .kind = SL_RK_QUOTA, .idx = tidx,
					  .sub = sub };
		int qi = 0, has = 0;

		while (qi < pl->n_quotas && slot[qi] != sub)
			qi++;
		if (qi < pl->n_quotas && (has = sl_reply_quota_text(pol, ti, qi, &t)) < 0)
			return has;
		if (has && bpf_map_update_elem(m->reply, &k, &t, BPF_ANY))
			return -errno;
		if (!has && bpf_map_delete_elem(m->reply, &k) && errno != ENOENT)
			return -errno;
	}
	return 0;
}
