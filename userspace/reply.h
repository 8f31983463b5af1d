/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Replies to refusals (docs/reject.md), the controller's part: which limits answer, and the
 * "429 Too Many Requests" texts the data plane sends. libbpf-free, unit-tested.
 */
#ifndef SLUICE_REPLY_H
#define SLUICE_REPLY_H

#include <stdbool.h>
#include "sluice_abi.h"
#include "policy.h"

/* What one response text says; render it with sl_reply_render(). */
struct sl_reply_spec {
	const char *id;      /* the limit: RateLimit policy id and the body's "limit" */
	const char *tenant;  /* the body's "tenant"; NULL: null */
	__u64 q, w;          /* RateLimit-Policy quota and window (seconds) */
	bool bytes;          /* the quota counts bytes: qu="content-bytes" */
	const char *message; /* a few words for people; the first thing left out if too long */
};

/*
 * Render s into *out (struct sl_reply_tpl: plen bytes of response head up to `;r=` of its
 * RateLimit field, then blen bytes of body). What does not fit SL_REPLY_TEXT is shortened:
 * first the body's message goes, then its "limit" (the fields name the limit too). Returns 0,
 * or -E2BIG if even that does not fit (names longer than policies allow), -EINVAL for no id.
 */
int sl_reply_render(const struct sl_reply_spec *s, struct sl_reply_tpl *out);

/* The RateLimit-Policy window of a bucket: max(1, ceil(burst / rate)) seconds. */
__u64 sl_reply_window(__u64 rate, __u64 burst);

/* Nominal length of a quota's period (or rolling window) in seconds: months count 30 days. */
__u64 sl_reply_quota_window(const struct sl_quota *q);

/*
 * Whether refusals of this policy can be answered (sl_gcfg flag SL_GF_REJECT): a rule that can
 * refuse (limit, deny) with reject other than drop, or an HTTP-layer action other than drop
 * (a tenant's, unknown_key's, a group's, a hard quota's).
 */
bool sl_reply_any(const struct sl_policy *p);

/* How group gi's limits answer tenant ti's requests: the group's action, or the tenant's. */
__u8 sl_reply_group_action(const struct sl_policy *p, int gi, int ti);

/*
 * Every response text the policy needs: one per limit whose action is http429. fn gets each
 * key (gen 0: the caller sets it) and text; rule_slot[i] is the slot of policy rule i,
 * tenant_idx[t] the data plane index of policy tenant t. Quota texts are numbered by the
 * quota's position in its plan (sub = i), as `sluice run` numbers a tenant's slots when it
 * starts; sl_reply_quota_text() renders one for another slot. Returns 0, the first error of
 * a render, or what fn returned if not 0.
 */
typedef int (*sl_reply_fn)(const struct sl_reply_key *k, const struct sl_reply_tpl *t,
			   void *arg);
int sl_reply_each(const struct sl_policy *p, const __u16 *rule_slot, const __u16 *tenant_idx,
		  sl_reply_fn fn, void *arg);

/*
 * The text of quota qi of policy tenant ti, if it has one (a hard quota with action http429):
 * returns 1 and *out, 0 if it has none, or a negative errno.
 */
int sl_reply_quota_text(const struct sl_policy *p, int ti, int qi, struct sl_reply_tpl *out);

/*
 * The rate (per second) and burst of data-plane bucket parameters, as sl_gcra_params_make
 * made them (exact for rates below 2^41 and bursts that did not saturate tau). Both 0 for
 * interval 0 (no bucket).
 */
void sl_reply_lim_of(const struct sl_gcra_params *g, __u64 *rate, __u64 *burst);

#endif
