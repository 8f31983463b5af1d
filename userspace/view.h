/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One consistent read of sluice's state from its maps, for status, policy show and metrics. */
#ifndef SLUICE_VIEW_H
#define SLUICE_VIEW_H

#include "sluice_abi.h"
#include "pins.h"
#include "policy.h"

struct sl_view_rule {
	__u32 slot;
	struct sl_rulemeta meta;
	struct sl_cidr cidrs[64];
	int n_cidrs; /* may be more than fit: only the first 64 are kept */
	struct sl_slot_stats stats;
	__u8 reject;           /* enum sl_over_action, from its trie entries */
	struct sl_rcfg rcfg;   /* its reply limit (interval 0: none) */
	struct sl_rstats rstats; /* what its replies did */
};

struct sl_view_attach {
	struct sl_attach_key key;
	struct sl_attach a;
	bool alive;
};

struct sl_view {
	struct sl_config cfg;
	__u32 gen;
	struct sl_view_rule *rules; /* rules of the active generation, in slot order */
	int n_rules;
	struct sl_slot_stats parse; /* counters of slot SL_SLOT_PARSE */
	struct sl_rcfg http_rcfg;   /* the HTTP layer's reply limit (SL_RSLOT_HTTP) */
	struct sl_rstats http_rstats;
	struct sl_view_attach attach[SL_MAX_ATTACH];
	int n_attach;
	long buckets_used;
	long buckets_max;
};

int sl_view_read(const char *pin_root, const struct sl_maps *m, struct sl_view *v);

/*
 * {"rate": N, "burst": N} of a reply limit (both 0: none), and with rs its counters under
 * "counters": {"rst": N, ...}. For status and policy show.
 */
struct sl_json;
void sl_replies_json(struct sl_json *j, const char *key, const struct sl_rcfg *rc,
		     const struct sl_rstats *rs);
void sl_view_free(struct sl_view *v);

#endif
