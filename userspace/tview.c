// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Gathers tenant metadata and per-CPU-summed tenant counters into one struct sl_tview. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "maps.h"
#include "policy.h"
#include "tenants.h"
#include "tview.h"
#include "util.h"

struct sl_tview_collect {
	struct sl_tview *v;
	int row_of[SL_MAX_TENANTS + 1];
	int err;
};

/* Add st to the row `id` of a growing array (linear: a tenant has few keys and groups). */
static int sl_row_add(struct sl_tview_row **rows, int *n, __u32 id, const struct sl_tstats *st)
{
	struct sl_tview_row *r;

	for (int i = 0; i < *n; i++)
		if ((*rows)[i].id == id) {
			sl_tstats_add(&(*rows)[i].st, st);
			return 0;
		}
	if (!*n || (*n >= 4 && !(*n & (*n - 1)))) { /* capacity 4, 8, 16, ... */
		r = realloc(*rows, sizeof(*r) * (*n ? *n * 2 : 4));
		if (!r)
			return -ENOMEM;
		*rows = r;
	}
	r = &(*rows)[(*n)++];
	r->id = id;
	r->st = *st;
	return 0;
}

static int sl_tview_one(const struct sl_tstats_key *k, const struct sl_tstats *st, void *arg)
{
	struct sl_tview_collect *c = arg;
	struct sl_tview_tenant *t;
	int err;

	if (k->tenant > SL_TENANT_UNKNOWN || c->row_of[k->tenant] < 0)
		return 0; /* a tenant the active policy no longer has */
	t = &c->v->t[c->row_of[k->tenant]];
	sl_tstats_add(&t->total, st);
	if ((err = sl_row_add(&t->keys, &t->n_keys, k->key_id, st)) ||
	    (err = sl_row_add(&t->groups, &t->n_groups, k->group, st)))
		return err;
	return 0;
}

int sl_tview_read(const struct sl_maps *m, struct sl_tview *v)
{
	struct sl_tview_collect *c;
	struct sl_config cfg;
	long n;
	int err;

	memset(v, 0, sizeof(*v));
	if ((err = sl_config_read(m->config, &cfg)))
		return err;
	v->gen = cfg.gen & 1;
	if (bpf_map_lookup_elem(m->http, &v->gen, &v->http))
		return -errno;
	v->t = calloc(SL_MAX_TENANTS + 1, sizeof(*v->t));
	c = calloc(1, sizeof(*c));
	if (!v->t || !c) {
		free(c);
		return -ENOMEM;
	}
	c->v = v;
	for (__u32 s = 0; s <= SL_MAX_TENANTS; s++) {
		struct sl_tview_tenant *t = &v->t[v->n];

		c->row_of[s] = -1;
		if (s == SL_TENANT_UNKNOWN) {
			if (!v->http.n_ports)
				break;
			sl_strlcpy(t->meta.name, "(unknown key)", sizeof(t->meta.name));
			t->meta.action = v->http.unknown_action;
		} else if (bpf_map_lookup_elem(m->tenmeta, &s, &t->meta)) {
			err = -errno;
			goto out;
		} else if (!(t->meta.in_use & (1u << v->gen))) {
			continue;
		}
		t->idx = s;
		c->row_of[s] = v->n++;
	}
	n = sl_tstats_scan(m->tstats, sl_tview_one, c);
	err = n < 0 ? (int)n : 0;
	/* Combinations that found the counter table full: whole in the totals, not itemised. */
	for (int i = 0; !err && i < v->n; i++) {
		struct sl_tstats_key k = { .tenant = v->t[i].idx, .group = SL_GROUP_NONE,
					   .key_id = SL_KEY_ID_OTHER };
		struct sl_tstats st;

		if ((err = sl_tovf_read(m->tovf, v->t[i].idx, &st)))
			break;
		if (st.req_pass || st.req_drop || st.req_dryrun || st.req_retrans || st.bytes_in ||
		    st.bytes_out || st.bytes_drop || st.units || st.units_over)
			err = sl_tview_one(&k, &st, c);
	}
out:
	free(c);
	return err;
}

void sl_tview_free(struct sl_tview *v)
{
	for (int i = 0; v->t && i < v->n; i++) {
		free(v->t[i].keys);
		free(v->t[i].groups);
	}
	free(v->t);
	v->t = NULL;
	v->n = 0;
}

const struct sl_tview_tenant *sl_tview_find(const struct sl_tview *v, __u32 idx)
{
	for (int i = 0; i < v->n; i++)
		if (v->t[i].idx == idx)
			return &v->t[i];
	return NULL;
}

const char *sl_tview_group_str(const struct sl_tview *v, __u32 gi, char *buf, size_t len)
{
	const struct sl_groupcfg *g;

	if (gi >= v->http.n_groups || gi >= SL_MAX_GROUPS) {
		snprintf(buf, len, "(no group)");
		return buf;
	}
	g = &v->http.groups[gi];
	snprintf(buf, len, "%.*s", (int)sizeof(g->name), g->name);
	return buf;
}
