// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Gathers config, rules, counters, attachments and table fill into one struct sl_view. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "attach.h"
#include "json.h"
#include "maps.h"
#include "reply.h"
#include "stats.h"
#include "view.h"

struct sl_cidr_collect {
	struct sl_view *v;
	__u32 gen;
};

static int sl_collect_cidr(const struct sl_lpm_key *k, const struct sl_rule *r, void *arg)
{
	struct sl_cidr_collect *c = arg;

	if (k->gen != c->gen)
		return 0;
	for (int i = 0; i < c->v->n_rules; i++) {
		struct sl_view_rule *vr = &c->v->rules[i];

		if (vr->slot != r->slot)
			continue;
		vr->reject = r->reject;
		if (vr->n_cidrs < (int)(sizeof(vr->cidrs) / sizeof(vr->cidrs[0]))) {
			struct sl_cidr *cd = &vr->cidrs[vr->n_cidrs];

			cd->family = k->family;
			cd->len = k->prefixlen - SL_LPM_FIXED_BITS;
			memcpy(cd->addr, k->addr, 16);
		}
		vr->n_cidrs++;
		break;
	}
	return 0;
}

/* Reply slot rslot's limit in generation gen and its counters. */
static int sl_reply_read(const struct sl_maps *m, __u32 gen, __u32 rslot, struct sl_rcfg *rc,
			 struct sl_rstats *rs)
{
	__u32 k = gen * SL_NR_RSLOTS + rslot;

	if (bpf_map_lookup_elem(m->rcfg, &k, rc))
		return -errno;
	return sl_rstats_read(m->rstats, rslot, rs);
}

static int sl_count_bucket(const struct sl_bkey *k, const struct sl_bucket *b, void *arg)
{
	return 0;
}

int sl_view_read(const char *pin_root, const struct sl_maps *m, struct sl_view *v)
{
	struct sl_attach_key cur, next;
	struct sl_cidr_collect cc;
	bool first = true;
	int err;

	memset(v, 0, sizeof(*v));
	if ((err = sl_config_read(m->config, &v->cfg)))
		return err;
	v->gen = v->cfg.gen & 1;
	v->rules = calloc(SL_MAX_RULES, sizeof(*v->rules));
	if (!v->rules)
		return -ENOMEM;
	for (__u32 s = 0; s < SL_MAX_RULES; s++) {
		struct sl_view_rule *vr = &v->rules[v->n_rules];

		if (bpf_map_lookup_elem(m->rulemeta, &s, &vr->meta))
			return -errno;
		if (!(vr->meta.in_use & (1u << v->gen)))
			continue;
		vr->slot = s;
		if ((err = sl_stats_read(m->stats, s, &vr->stats)) ||
		    (err = sl_reply_read(m, v->gen, s, &vr->rcfg, &vr->rstats)))
			return err;
		v->n_rules++;
	}
	if ((err = sl_stats_read(m->stats, SL_SLOT_PARSE, &v->parse)) ||
	    (err = sl_reply_read(m, v->gen, SL_RSLOT_HTTP, &v->http_rcfg, &v->http_rstats)))
		return err;
	cc.v = v;
	cc.gen = v->gen;
	if ((err = sl_rules_scan(m->rules, sl_collect_cidr, &cc)) < 0)
		return err;

	while (v->n_attach < SL_MAX_ATTACH &&
	       !bpf_map_get_next_key(m->attach, first ? NULL : &cur, &next)) {
		struct sl_view_attach *va = &v->attach[v->n_attach];

		first = false;
		cur = next;
		if (bpf_map_lookup_elem(m->attach, &cur, &va->a))
			continue;
		va->key = cur;
		va->alive = sl_attach_alive(pin_root, &cur, &va->a);
		v->n_attach++;
	}
	v->buckets_max = sl_map_max_entries(m->buckets);
	v->buckets_used = sl_buckets_scan(m->buckets, sl_count_bucket, NULL);
	return 0;
}

void sl_replies_json(struct sl_json *j, const char *key, const struct sl_rcfg *rc,
		     const struct sl_rstats *rs)
{
	__u64 rate, burst;

	sl_reply_lim_of(&rc->lim, &rate, &burst);
	sl_json_obj_open(j, key);
	sl_json_u64(j, "rate", rate);
	sl_json_u64(j, "burst", burst);
	if (rs) {
		sl_json_obj_open(j, "counters");
		for (int i = 0; i < SL_NR_RSTATS; i++)
			sl_json_u64(j, sl_rstats_name(i), sl_rstats_value(rs, i));
		sl_json_obj_close(j);
	}
	sl_json_obj_close(j);
}

void sl_view_free(struct sl_view *v)
{
	free(v->rules);
	v->rules = NULL;
}
