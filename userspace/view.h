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
	struct sl_view_attach attach[SL_MAX_ATTACH];
	int n_attach;
	long buckets_used;
	long buckets_max;
};

int sl_view_read(const char *pin_root, const struct sl_maps *m, struct sl_view *v);
void sl_view_free(struct sl_view *v);

#endif
