/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Quotas: exact check-and-consume of a tenant's period quotas (docs/quotas.md). */
#ifndef SLUICE_QUOTA_BPF_H
#define SLUICE_QUOTA_BPF_H

#include "sluice_abi.h"
#include "sluice_prefix.h"
#include "bucket.bpf.h"
#include "maps.bpf.h"

/*
 * A request of a tenant with quotas must fit every one of them. Each quota's usage is one
 * 64-bit word in sl_qcnt_v1: the period's tag above SL_QUSED_BITS, units used below. The data
 * plane moves it with compare-and-swap only, from "used" to "used + weight" and only if that
 * stays within the limit (hard quotas), so two CPUs can never both take the last unit: a hard
 * quota admits exactly its limit, however the requests spread over CPUs. A word carrying an
 * older tag counts as 0 used, so a new period needs no write to the counters: the controller
 * sets the period's tag, limit and end in sl_qcfg_v1, and gives the data plane the next
 * period's too, so that the period turns at its end to the nanosecond even if the controller
 * is late or down.
 *
 * Rolling windows (SL_QF_ROLLING, sluice_abi.h) count cumulatively across the slices of the
 * window; the limit moves up as units leave the window.
 *
 * Soft quotas take the same path but never refuse; what a request takes past the limit is its
 * overage (sc->qover), counted into units_over for billing.
 *
 * A hard quota refuses, rather than admits, when its counter cannot be had (table full) or the
 * compare-and-swap keeps losing (8 tries): never past the limit.
 */

#define SL_QUOTA_TRIES 8

/* The counter key of quota slot i of `tenant` for the request in the scratch map. */
static __always_inline void sl_quota_key(struct sl_scratch *sc, __u32 tenant, __u32 i,
					 const struct sl_qslot *s)
{
	__builtin_memset(&sc->qk, 0, sizeof(sc->qk));
	sc->qk.tenant = tenant;
	sc->qk.slot = i;
	if (s->profile == 1) {
		sc->qk.key_id = sc->key_id;
	} else if (s->profile == 2) {
		sc->qk.family = sc->pkt.family;
		__builtin_memcpy(sc->qk.addr, sc->pkt.saddr, 16);
		sl_prefix_mask(sc->qk.addr, sc->pkt.family == SL_AF_INET ? s->prefix4 : s->prefix6);
	}
}

/*
 * Whether quota slot i admits `w` more units; if so they are taken. The slot's period values
 * for now live in the scratch map (qt, ql, qb), not on the stack, which this function shares
 * with three callers.
 */
static __always_inline int sl_quota_slot(struct sl_scratch *sc, __u32 tenant, __u32 i, __u32 w)
{
	const struct sl_qslot *s = &sc->qs[i & (SL_MAX_QUOTAS - 1)];
	__u64 used, win, old, nw, *cnt;
	__u32 t, wtag;

	sl_quota_key(sc, tenant, i, s);
	cnt = bpf_map_lookup_elem(&sl_qcnt_v1, &sc->qk);
	if (!cnt) {
		sc->qzero = 0;
		bpf_map_update_elem(&sl_qcnt_v1, &sc->qk, &sc->qzero, BPF_NOEXIST);
		cnt = bpf_map_lookup_elem(&sl_qcnt_v1, &sc->qk);
		if (!cnt)
			return s->mode != 0;
	}
	if (s->end_ns && sc->qnow >= s->end_ns) {
		sc->qt = s->tag_next & SL_QTAG_MASK;
		sc->ql = s->limit_next;
		sc->qb = s->base_next;
	} else {
		sc->qt = s->tag & SL_QTAG_MASK;
		sc->ql = s->limit;
		sc->qb = s->base;
	}
	for (t = 0; t < SL_QUOTA_TRIES; t++) {
		old = *(volatile __u64 *)cnt;
		wtag = old >> SL_QUSED_BITS;
		if (!(s->flags & SL_QF_ROLLING)) {
			used = wtag == sc->qt ? old & SL_QUSED_MASK : 0;
			win = used;
		} else {
			/* Another CPU already moved to the next slice: so does this request. */
			if (wtag == (s->tag_next & SL_QTAG_MASK) && sc->qt != wtag) {
				sc->qt = wtag;
				sc->ql = s->limit_next;
				sc->qb = s->base_next;
			}
			used = old & SL_QUSED_MASK;
			win = (used - sc->qb) & SL_QUSED_MASK;
		}
		if (win + w > sc->ql) {
			__u64 over = win >= sc->ql ? w : win + w - sc->ql;

			if (s->mode == 0) {
				/* For the reply: what is left, and the time to the period's end. */
				sc->rj_remain = win < sc->ql ? sc->ql - win : 0;
				sc->rj_wait_ns = s->end_ns > sc->qnow ? s->end_ns - sc->qnow : 0;
				return 0;
			}
			if (over > sc->qover)
				sc->qover = over;
		}
		nw = ((__u64)sc->qt << SL_QUSED_BITS) | ((used + w) & SL_QUSED_MASK);
		if (__sync_val_compare_and_swap(cnt, old, nw) != old)
			continue;
		sc->qtaken |= 1U << (i & (SL_MAX_QUOTAS - 1));
		sc->qtag[i & (SL_MAX_QUOTAS - 1)] = sc->qt;
		/*
		 * Only one CPU moves the word to a new tag, and it keeps what the word held: a
		 * calendar period's final count (profile tenant), or the count a rolling window's
		 * slice starts with.
		 */
		if (wtag != sc->qt && ((s->flags & SL_QF_ROLLING) || s->profile == 0)) {
			if (s->flags & SL_QF_ROLLING) {
				sc->qk.key_id = SL_QSNAP_ID | (sc->qt % SL_QSNAP_RING);
				sc->qzero = ((__u64)sc->qt << SL_QUSED_BITS) | used;
			} else {
				sc->qk.key_id = SL_QSNAP_ID | (wtag % SL_QSNAP_RING);
				sc->qzero = old;
			}
			bpf_map_update_elem(&sl_qcnt_v1, &sc->qk, &sc->qzero, BPF_ANY);
		}
		return 1;
	}
	return s->mode != 0;
}

/* Give back the `w` units that sl_quota_take() took from slot i (same period only). */
static __always_inline void sl_quota_untake(struct sl_scratch *sc, __u32 tenant, __u32 i, __u32 w)
{
	__u64 old, *cnt;
	__u32 t;

	sl_quota_key(sc, tenant, i, &sc->qs[i & (SL_MAX_QUOTAS - 1)]);
	cnt = bpf_map_lookup_elem(&sl_qcnt_v1, &sc->qk);
	if (!cnt)
		return;
	for (t = 0; t < SL_QUOTA_TRIES; t++) {
		old = *(volatile __u64 *)cnt;
		/* The period turned meanwhile: the units stay with the closed period. */
		if ((old >> SL_QUSED_BITS) != sc->qtag[i & (SL_MAX_QUOTAS - 1)] ||
		    (old & SL_QUSED_MASK) < w)
			return;
		if (__sync_val_compare_and_swap(cnt, old, old - w) == old)
			return;
	}
}

/*
 * Give back what sl_quota_take() took for this request (a later limit refused it). Global, so
 * verified once whatever the caller's state.
 */
static __always_inline void sl_quota_giveback(struct sl_scratch *sc, __u32 tenant, __u32 w)
{
	__u32 i;

	for (i = 0; i < SL_MAX_QUOTAS; i++)
		if (sc->qtaken & (1U << i))
			sl_quota_untake(sc, tenant, i, w);
	sc->qtaken = 0;
}

__attribute__((noinline)) int sl_quota_refund(__u32 tenant, __u32 w)
{
	struct sl_scratch *sc;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	if (sc)
		sl_quota_giveback(sc, tenant, w);
	return 0;
}

/*
 * Charge a request of `w` units to every quota of `tenant`. Returns 0 when admitted (sc->qover:
 * its units past a soft quota), or 1 + the slot of the hard quota that refused it, having given
 * back what the slots before it took.
 */
__attribute__((noinline)) int sl_quota_take(__u32 tenant, __u32 w)
{
	struct sl_scratch *sc;
	struct sl_tquota *tq;
	__u32 zero = 0, idx = tenant, i, n;

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	if (!sc)
		return 0;
	sc->qtaken = 0;
	sc->qover = 0;
	if (tenant >= SL_MAX_TENANTS)
		return 0;
	tq = bpf_map_lookup_elem(&sl_qcfg_v1, &idx);
	/*
	 * A tenant without quotas costs this lookup only, no lock and no copy. Read unlocked, n
	 * can only be its old or its new value (0..8: one byte differs), so 0 means no quota was
	 * in force at that instant; anything else is read again under the lock below.
	 */
	if (!tq || !*(volatile __u32 *)&tq->n)
		return 0;
	bpf_spin_lock(&tq->lock);
	n = tq->n;
	__builtin_memcpy(sc->qs, tq->s, sizeof(sc->qs));
	bpf_spin_unlock(&tq->lock);
	if (!n)
		return 0;
	sc->qn = n;
	sc->qnow = sl_now_fine() >> SL_TU_SHIFT;
	for (i = 0; i < SL_MAX_QUOTAS; i++) {
		if (i >= n)
			break;
		if (!sl_quota_slot(sc, tenant, i, w)) {
			sl_quota_giveback(sc, tenant, w);
			return 1 + i;
		}
	}
	return 0;
}

#endif /* SLUICE_QUOTA_BPF_H */
