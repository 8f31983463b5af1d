/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Installing a policy's HTTP layer (settings, tenants, keys) with the generation flip. */
#ifndef SLUICE_APPLY_HTTP_H
#define SLUICE_APPLY_HTTP_H

#include <stdbool.h>
#include "apply.h"

struct sl_http_apply;

/*
 * Before the flip: write pol's HTTP settings, tenants (by name: a kept name keeps its index,
 * bucket state and counters) and keys into the inactive generation of cfg. The running
 * generation is not touched. *out is set as soon as there is state to undo, even on error:
 * pass it to sl_http_abort() then, or to sl_http_commit() after a successful flip.
 */
int sl_http_prepare(const struct sl_maps *m, const struct sl_policy *pol,
		    const struct sl_config *cfg, __u64 tick_ns, struct sl_http_apply **out,
		    struct sl_apply_result *res);

/*
 * After the flip and its grace period: retire the old generation's keys and tenants, reset
 * the state of changed groups and clocks. Frees ha. Returns whether the unknown-key buckets
 * (slot SL_SLOT_UNKNOWN_KEY) must go: their prefix or clock changed.
 */
bool sl_http_commit(const struct sl_maps *m, struct sl_http_apply *ha,
		    struct sl_apply_result *res);

/* The data plane index of each of the policy's tenants, in policy order (valid until freed). */
const __u16 *sl_http_tenant_index(const struct sl_http_apply *ha);

/* The flip did not happen: forget keys only the new generation had. Frees ha. */
void sl_http_abort(const struct sl_maps *m, struct sl_http_apply *ha);

#endif
