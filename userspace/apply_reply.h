/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Installing a policy's replies (docs/reject.md): reply limits and 429 texts per generation. */
#ifndef SLUICE_APPLY_REPLY_H
#define SLUICE_APPLY_REPLY_H

#include "apply.h"

/* What sl_reply_prepare() leaves for sl_reply_commit(). */
struct sl_reply_apply {
	__u8 reset[SL_NR_RSLOTS]; /* 1: the reply bucket's clock changed, its state starts over */
};

/*
 * Before the flip: write generation gen's reply limits (sl_rcfg_v1: every rule's slot and the
 * HTTP layer's; zero, no replies, for the other slots) and its 429 texts (sl_reply_v1: the
 * generation's old texts deleted first). rule_slot[i] is the slot of policy rule i, fresh[s]
 * marks slots given to a new rule (their reply counters and bucket start at 0), tenant_idx[t]
 * the index of policy tenant t. Texts that do not fit the table are warned about and left out
 * (the data plane answers those refusals with a reset); *n_texts counts those written.
 */
int sl_reply_prepare(const struct sl_maps *m, const struct sl_policy *pol, __u32 gen,
		     __u64 tick_ns, const __u16 *rule_slot, const __u8 *fresh,
		     const __u16 *tenant_idx, struct sl_reply_apply *ra, int *n_texts);

/* After the flip and its grace period: reply buckets whose clock changed start over. */
void sl_reply_commit(const struct sl_maps *m, const struct sl_reply_apply *ra);

/*
 * The quota texts of policy tenant ti (index tidx) in generation gen, by the slots `sluice
 * run` gave its quotas: slot[qi] for quota qi of its plan (0xff: none). Texts of slots no
 * http429 quota has are deleted. Returns 0 or a negative errno.
 */
int sl_reply_quotas(const struct sl_maps *m, const struct sl_policy *pol, __u32 gen, int ti,
		    __u16 tidx, const __u8 slot[SL_MAX_QUOTAS]);

#endif
