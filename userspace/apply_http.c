// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The HTTP layer's part of an apply: sl_http_v2, tenants by name, keys per generation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "sluice_gcra.h"
#include "apply_http.h"
#include "log.h"
#include "maps.h"
#include "tenants.h"
#include "util.h"

/* Reset flags of a kept tenant's state (sl_tstate_v1) after the flip. */
#define SL_TR_REQ   0x1 /* request bucket: its clock changed */
#define SL_TR_BYTES 0x2 /* bytes bucket: its clock changed or it was off */

/* One API key of the new policy, by hash. */
struct sl_newkey {
	__u64 h;
	__u32 ord; /* position in the policy: of a key listed twice, the first one wins */
	struct sl_keyval v;
};

struct sl_http_apply {
	__u32 cur, nxt;
	int keys_fd;
	struct sl_tenmeta meta[SL_MAX_TENANTS];
	__u8 fresh[SL_MAX_TENANTS];
	__u8 reset[SL_MAX_TENANTS]; /* SL_TR_* */
	__u8 removed[SL_MAX_TENANTS];
	__u8 zero_group[SL_MAX_GROUPS];
	bool clear_unknown;
	struct sl_newkey *keys; /* sorted by h, distinct */
	size_t n_keys;
	__u16 idx_of[SL_MAX_TENANTS]; /* policy tenant -> index */
	int err;                      /* first error of a map walk */
};

static int sl_tenant_build(const struct sl_req_limits *l, int clock, __u64 tick,
			   struct sl_tenant_cfg *out)
{
	__u64 burst = l->burst ? l->burst : l->rate;
	__u64 bburst = l->bytes_burst ? l->bytes_burst : l->bytes_rate;

	memset(out, 0, sizeof(*out));
	if (sl_gcra_params_make(l->rate, burst, &out->req))
		return -EINVAL;
	if (l->bytes_rate && sl_gcra_params_make(l->bytes_rate, bburst, &out->bytes))
		return -EINVAL;
	out->in_use = 1;
	out->action = l->action;
	out->flags = sl_clock_fine(clock, tick, l->rate, burst) ? SL_RF_FINE : 0;
	if (l->bytes_rate && sl_clock_fine(clock, tick, l->bytes_rate, bburst))
		out->bytes_flags = SL_RF_FINE;
	return 0;
}

static int sl_httpcfg_build(const struct sl_policy *pol, __u64 tick, struct sl_httpcfg *hc)
{
	const struct sl_unknown_key *u = &pol->unknown_key;
	__u64 ub = u->burst ? u->burst : u->rate;

	memset(hc, 0, sizeof(*hc));
	if (!pol->n_http_ports)
		return 0;
	if (pol->n_http_ports > SL_MAX_HTTP_PORTS || pol->n_groups > SL_MAX_GROUPS ||
	    pol->n_tenants > SL_MAX_TENANTS)
		return -E2BIG;
	for (int i = 0; i < pol->n_http_ports; i++)
		hc->ports[i] = pol->http_ports[i];
	hc->n_ports = pol->n_http_ports;
	hc->key_flags = pol->key_headers;
	hc->unknown_prefix4 = u->prefix4;
	hc->unknown_prefix6 = u->prefix6;
	hc->unknown_action = u->action;
	if (sl_gcra_params_make(u->rate, ub, &hc->unknown))
		return -EINVAL;
	if (sl_clock_fine(pol->clock, tick, u->rate, ub))
		hc->unknown_flags = SL_RF_FINE;
	hc->n_tenants = pol->n_tenants;
	hc->n_groups = pol->n_groups;
	for (int i = 0; i < pol->n_groups; i++) {
		const struct sl_group *g = &pol->groups[i];
		struct sl_groupcfg *gc = &hc->groups[i];
		size_t plen = strlen(g->path);

		if (plen >= SL_GROUP_PATH_MAX || g->n_limits > SL_MAX_GROUP_LIMITS)
			return -E2BIG;
		gc->port = g->port;
		gc->method = g->method;
		gc->path_len = plen;
		memcpy(gc->path, g->path, plen);
		sl_strlcpy(gc->name, g->name, sizeof(gc->name));
		gc->weight = g->weight ? g->weight : 1;
		gc->action = g->action; /* SL_OVER_INHERIT: the tenant's */
		gc->n_limits = g->n_limits;
		for (int l = 0; l < g->n_limits; l++) {
			__u64 rate = g->limits[l].rate;
			__u64 burst = g->limits[l].burst ? g->limits[l].burst : rate;

			if (sl_gcra_params_make(rate, burst, &gc->limits[l]))
				return -EINVAL;
			if (sl_clock_fine(pol->clock, tick, rate, burst))
				gc->limit_flags[l] = SL_RF_FINE;
		}
	}
	return 0;
}

/* Whether a tenant's state of a group means the same under both: same match, same limits. */
static bool sl_group_same(const struct sl_groupcfg *a, const struct sl_groupcfg *b)
{
	return !strcmp(a->name, b->name) && a->port == b->port && a->method == b->method &&
	       a->path_len == b->path_len &&
	       !memcmp(a->path, b->path, a->path_len) && a->n_limits == b->n_limits &&
	       !memcmp(a->limit_flags, b->limit_flags, sizeof(a->limit_flags)) &&
	       !memcmp(a->limits, b->limits, sizeof(a->limits[0]) * a->n_limits);
}

static int sl_newkey_cmp(const void *a, const void *b)
{
	const struct sl_newkey *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static struct sl_newkey *sl_newkey_find(const struct sl_http_apply *ha, __u64 h)
{
	size_t lo = 0, hi = ha->n_keys;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ha->keys[mid].h == h)
			return &ha->keys[mid];
		if (ha->keys[mid].h < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Hash every key of the policy, sorted by hash; a key listed twice keeps its first tenant. */
static int sl_keys_collect(struct sl_http_apply *ha, const struct sl_policy *pol,
			   const __u64 secret[2])
{
	size_t n = 0, out = 0;

	for (int t = 0; t < pol->n_tenants; t++)
		n += pol->tenants[t].n_keys;
	if (n > SL_MAX_KEYS)
		return -E2BIG;
	ha->keys = calloc(n ? n : 1, sizeof(*ha->keys));
	if (!ha->keys)
		return -ENOMEM;
	n = 0;
	for (int t = 0; t < pol->n_tenants; t++) {
		const struct sl_tenant *pt = &pol->tenants[t];

		for (int i = 0; i < pt->n_keys; i++) {
			struct sl_newkey *k = &ha->keys[n];
			size_t len = strlen(pt->keys[i]);

			k->h = sl_key_hash(secret, pt->keys[i], len);
			k->ord = n++;
			k->v.tenant[ha->nxt] = ha->idx_of[t];
			k->v.tenant[ha->cur] = SL_TENANT_NONE;
			k->v.key_id = sl_key_id(pt->keys[i], len);
		}
	}
	qsort(ha->keys, n, sizeof(*ha->keys), sl_newkey_cmp);
	for (size_t i = 0; i < n; i++)
		if (!out || ha->keys[out - 1].h != ha->keys[i].h)
			ha->keys[out++] = ha->keys[i];
	ha->n_keys = out;
	return 0;
}

/*
 * Before the flip: a key the new policy keeps tells its running tenant (kept in the entry);
 * a key it drops loses its tenant in the new generation.
 */
static int sl_key_prepare(const __u64 *h, const struct sl_keyval *v, void *arg)
{
	struct sl_http_apply *ha = arg;
	struct sl_newkey *nk = sl_newkey_find(ha, *h);
	struct sl_keyval nv = *v;

	if (nk) {
		nk->v.tenant[ha->cur] = v->tenant[ha->cur];
		return 0;
	}
	if (v->tenant[ha->nxt] == SL_TENANT_NONE)
		return 0;
	nv.tenant[ha->nxt] = SL_TENANT_NONE;
	if (bpf_map_update_elem(ha->keys_fd, h, &nv, BPF_ANY))
		return -errno;
	return 0;
}

/* After the flip: no key is in the old generation any more; keys in neither go. */
static int sl_key_retire(const __u64 *h, const struct sl_keyval *v, void *arg)
{
	struct sl_http_apply *ha = arg;
	struct sl_keyval nv = *v;

	if (v->tenant[ha->nxt] == SL_TENANT_NONE)
		return 1;
	if (v->tenant[ha->cur] == SL_TENANT_NONE)
		return 0;
	nv.tenant[ha->cur] = SL_TENANT_NONE;
	bpf_map_update_elem(ha->keys_fd, h, &nv, BPF_ANY);
	return 0;
}

/* The flip did not happen: keys that only the new generation had go. */
static int sl_key_unwind(const __u64 *h, const struct sl_keyval *v, void *arg)
{
	struct sl_http_apply *ha = arg;

	return v->tenant[ha->cur] == SL_TENANT_NONE ? 1 : 0;
}

/* Counters of a previous owner of a fresh index. */
static int sl_tstats_stale(const struct sl_tstats_key *k, const struct sl_tstats *v, void *arg)
{
	const struct sl_http_apply *ha = arg;

	return k->tenant < SL_MAX_TENANTS && ha->fresh[k->tenant];
}

/* Connections of removed tenants would keep charging bytes to them. */
static int sl_flow_stale(const struct sl_flow_key *k, const struct sl_flow *v, void *arg)
{
	const struct sl_http_apply *ha = arg;

	return v->tenant < SL_MAX_TENANTS && ha->removed[v->tenant];
}

/* Index of each policy tenant: a name the running policy has keeps its own. */
static int sl_tenants_assign(struct sl_http_apply *ha, const struct sl_maps *m,
			     const struct sl_policy *pol, __u64 tick, struct sl_apply_result *res)
{
	for (int i = 0; i < pol->n_tenants; i++) {
		const struct sl_tenant *pt = &pol->tenants[i];
		struct sl_tenant_cfg oc, nc;
		__u32 k;
		int idx = -1;

		for (int s = 0; s < SL_MAX_TENANTS && idx < 0; s++)
			if ((ha->meta[s].in_use & (1u << ha->cur)) &&
			    !strcmp(ha->meta[s].name, pt->name))
				idx = s;
		if (idx >= 0) {
			res->tenants_kept++;
			/* A TAT from one clock means nothing on the other. */
			k = ha->cur * SL_MAX_TENANTS + idx;
			if (bpf_map_lookup_elem(m->tenants, &k, &oc))
				return -errno;
			if (sl_tenant_build(&pt->lim, pol->clock, tick, &nc))
				return -EINVAL;
			if (oc.flags != nc.flags)
				ha->reset[idx] |= SL_TR_REQ;
			if (oc.bytes_flags != nc.bytes_flags || !oc.bytes.interval)
				ha->reset[idx] |= SL_TR_BYTES;
		} else {
			for (int s = 0; s < SL_MAX_TENANTS && idx < 0; s++)
				if (!ha->meta[s].in_use && !ha->fresh[s])
					idx = s;
			if (idx < 0)
				return -ENOSPC;
			ha->fresh[idx] = 1;
			res->tenants_added++;
		}
		ha->idx_of[i] = idx;
	}
	return 0;
}

int sl_http_prepare(const struct sl_maps *m, const struct sl_policy *pol,
		    const struct sl_config *cfg, __u64 tick, struct sl_http_apply **out,
		    struct sl_apply_result *res)
{
	struct sl_httpcfg hc, old;
	struct sl_http_apply *ha;
	long n;
	int err;

	*out = NULL;
	if (pol->n_tenants > SL_MAX_TENANTS)
		return -E2BIG;
	ha = calloc(1, sizeof(*ha));
	if (!ha)
		return -ENOMEM;
	*out = ha;
	ha->cur = cfg->gen & 1;
	ha->nxt = ha->cur ^ 1;
	ha->keys_fd = m->keys;
	for (__u32 s = 0; s < SL_MAX_TENANTS; s++) {
		if (bpf_map_lookup_elem(m->tenmeta, &s, &ha->meta[s]))
			return -errno;
		ha->meta[s].in_use &= 1u << ha->cur; /* leftovers of an interrupted apply are free */
	}
	if ((err = sl_httpcfg_build(pol, tick, &hc)))
		return err;
	if (bpf_map_lookup_elem(m->http, &ha->cur, &old))
		return -errno;
	for (int i = 0; i < hc.n_groups; i++)
		ha->zero_group[i] = !sl_group_same(&old.groups[i], &hc.groups[i]);
	ha->clear_unknown = !hc.n_ports || !old.n_ports ||
			    old.unknown_prefix4 != hc.unknown_prefix4 ||
			    old.unknown_prefix6 != hc.unknown_prefix6 ||
			    old.unknown_flags != hc.unknown_flags;
	if ((err = sl_tenants_assign(ha, m, pol, tick, res)))
		return err;
	if ((err = sl_keys_collect(ha, pol, cfg->secret)))
		return err;

	/* Fresh indexes start clean: no bucket state or counters of a previous owner. */
	for (__u32 s = 0; s < SL_MAX_TENANTS; s++) {
		struct sl_tenant_state zero = {};

		if (!ha->fresh[s])
			continue;
		if (bpf_map_update_elem(m->tstate, &s, &zero, BPF_ANY))
			return -errno;
		if ((err = sl_percpu_zero(m->tovf, s, sizeof(struct sl_tstats))))
			return err;
		/* ...nor its quotas (`sluice run` writes the new owner's). */
		{
			struct sl_tquota q0 = {};

			if (bpf_map_update_elem(m->qcfg, &s, &q0, BPF_F_LOCK))
				return -errno;
		}
	}
	if (res->tenants_added && (n = sl_tstats_scan(m->tstats, sl_tstats_stale, ha)) < 0)
		return (int)n;

	/* The new generation's tenants: the policy's in use, every other index not. */
	for (__u32 s = 0; s < SL_MAX_TENANTS; s++) {
		struct sl_tenant_cfg tc = {};
		__u32 k = ha->nxt * SL_MAX_TENANTS + s;

		for (int i = 0; i < pol->n_tenants; i++)
			if (ha->idx_of[i] == s &&
			    (err = sl_tenant_build(&pol->tenants[i].lim, pol->clock, tick, &tc)))
				return err;
		if (bpf_map_update_elem(m->tenants, &k, &tc, BPF_ANY))
			return -errno;
	}
	if (bpf_map_update_elem(m->http, &ha->nxt, &hc, BPF_ANY))
		return -errno;

	/* Keys: the running generation's tenant of each stays as it is until the flip. */
	if ((n = sl_keys_scan(m->keys, sl_key_prepare, ha)) < 0)
		return (int)n;
	for (size_t i = 0; i < ha->n_keys; i++)
		if (bpf_map_update_elem(m->keys, &ha->keys[i].h, &ha->keys[i].v, BPF_ANY)) {
			err = -errno;
			if (err == -E2BIG || err == -ENOMEM)
				pr_warn("the key table is full (%d keys over both generations)\n",
					SL_MAX_KEYS);
			return err;
		}
	res->keys = ha->n_keys;

	/* Tenant metadata for the new generation (read by `sluice tenants` and status). */
	for (int i = 0; i < pol->n_tenants; i++) {
		const struct sl_tenant *pt = &pol->tenants[i];
		struct sl_tenmeta *mt = &ha->meta[ha->idx_of[i]];

		if (ha->fresh[ha->idx_of[i]]) {
			memset(mt, 0, sizeof(*mt));
			sl_strlcpy(mt->name, pt->name, sizeof(mt->name));
			mt->assigned_ns = sl_realtime_ns();
		}
		sl_strlcpy(mt->plan, pol->plans[pt->plan].name, sizeof(mt->plan));
		mt->in_use |= 1u << ha->nxt;
		mt->n_keys = pt->n_keys;
		mt->rate = pt->lim.rate;
		mt->burst = pt->lim.burst ? pt->lim.burst : pt->lim.rate;
		mt->bytes_rate = pt->lim.bytes_rate;
		mt->bytes_burst = pt->lim.bytes_rate ? (pt->lim.bytes_burst ? pt->lim.bytes_burst
								    : pt->lim.bytes_rate)
						     : 0;
		mt->action = pt->lim.action;
	}
	for (__u32 s = 0; s < SL_MAX_TENANTS; s++)
		if (bpf_map_update_elem(m->tenmeta, &s, &ha->meta[s], BPF_ANY))
			return -errno;
	return 0;
}

bool sl_http_commit(const struct sl_maps *m, struct sl_http_apply *ha,
		    struct sl_apply_result *res)
{
	bool clear_unknown = ha->clear_unknown, any_removed = false;

	sl_keys_scan(m->keys, sl_key_retire, ha);
	for (__u32 s = 0; s < SL_MAX_TENANTS; s++) {
		struct sl_tenmeta *mt = &ha->meta[s];

		if (!(mt->in_use & (1u << ha->cur)))
			continue;
		if (!(mt->in_use & (1u << ha->nxt))) {
			res->tenants_removed++;
			ha->removed[s] = 1;
			any_removed = true;
		}
		mt->in_use &= ~(1u << ha->cur);
		bpf_map_update_elem(m->tenmeta, &s, mt, BPF_ANY);
	}
	if (any_removed)
		sl_flows_scan(m->flows, sl_flow_stale, ha);

	/* Kept tenants: state of changed groups and clocks starts over (fresh ones are zero). */
	for (__u32 s = 0; s < SL_MAX_TENANTS; s++) {
		struct sl_tenant_state ts;
		bool dirty = false;

		if (!(ha->meta[s].in_use & (1u << ha->nxt)) || ha->fresh[s])
			continue;
		if (bpf_map_lookup_elem(m->tstate, &s, &ts))
			continue;
		if (ha->reset[s] & SL_TR_REQ)
			ts.req_tat = 0;
		if (ha->reset[s] & SL_TR_BYTES)
			ts.bytes_tat = 0;
		dirty = ha->reset[s] != 0;
		for (int g = 0; g < SL_MAX_GROUPS; g++) {
			if (!ha->zero_group[g])
				continue;
			memset(ts.group_tat[g], 0, sizeof(ts.group_tat[g]));
			dirty = true;
		}
		/*
		 * A read-modify-write of the whole value: a request admitted meanwhile may lose its
		 * charge of the other buckets, once, for this apply.
		 */
		if (dirty)
			bpf_map_update_elem(m->tstate, &s, &ts, BPF_ANY);
	}
	free(ha->keys);
	free(ha);
	return clear_unknown;
}

const __u16 *sl_http_tenant_index(const struct sl_http_apply *ha)
{
	return ha->idx_of;
}

void sl_http_abort(const struct sl_maps *m, struct sl_http_apply *ha)
{
	sl_keys_scan(m->keys, sl_key_unwind, ha);
	free(ha->keys);
	free(ha);
}
