/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One read of the HTTP layer's state: active tenants with counters per key id and group. */
#ifndef SLUICE_TVIEW_H
#define SLUICE_TVIEW_H

#include "sluice_abi.h"
#include "pins.h"

/* Counters of one key id or one group (id: key id, or group index / SL_GROUP_NONE). */
struct sl_tview_row {
	__u32 id;
	struct sl_tstats st;
};

struct sl_tview_tenant {
	__u32 idx;            /* SL_TENANT_UNKNOWN for requests without a known key */
	struct sl_tenmeta meta; /* name "(unknown key)" for SL_TENANT_UNKNOWN */
	struct sl_tstats total;
	struct sl_tview_row *keys, *groups;
	int n_keys, n_groups;
};

struct sl_tview {
	__u32 gen;
	struct sl_httpcfg http; /* of the active generation */
	struct sl_tview_tenant *t; /* active tenants by index, then the unknown-key row */
	int n;
};

/* Admitted and dropped requests per second of one tenant between two reads. */
struct sl_trate {
	double pass, drop;
};

int sl_tview_read(const struct sl_maps *m, struct sl_tview *v);
void sl_tview_free(struct sl_tview *v);

/* The tenant with index idx in v, or NULL. */
const struct sl_tview_tenant *sl_tview_find(const struct sl_tview *v, __u32 idx);

/* "POST :8000 /v1/chat" for group gi of the view's HTTP settings; "(none)" for no group. */
const char *sl_tview_group_str(const struct sl_tview *v, __u32 gi, char *buf, size_t len);

#endif
