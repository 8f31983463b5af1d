/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Counter arithmetic on plain arrays: per-CPU sums, totals, names. No libbpf, unit-tested. */
#ifndef SLUICE_STATS_H
#define SLUICE_STATS_H

#include <stddef.h>
#include "sluice_abi.h"

/*
 * Sum `ncpu` per-CPU copies of one struct sl_slot_stats, laid out `stride` bytes apart (as a
 * per-CPU map lookup returns them), into *out.
 */
void sl_stats_sum(const void *percpu, int ncpu, size_t stride, struct sl_slot_stats *out);

/* out += in, counter by counter. */
void sl_stats_add(struct sl_slot_stats *out, const struct sl_slot_stats *in);

/* Totals over all reasons for one outcome. */
struct sl_counter sl_stats_outcome(const struct sl_slot_stats *s, int outcome);

/* Whether every counter is zero. */
int sl_stats_is_zero(const struct sl_slot_stats *s);

/* Reply counters (struct sl_rstats, all __u64): the sum of `ncpu` per-CPU copies. */
#define SL_NR_RSTATS 8
void sl_rstats_sum(const void *percpu, int ncpu, size_t stride, struct sl_rstats *out);
/* Counter i of struct sl_rstats in its order, and its name ("rst", "http429", ...). */
__u64 sl_rstats_value(const struct sl_rstats *s, int i);
const char *sl_rstats_name(int i);
/* Whether any reply counter is not zero. */
int sl_rstats_any(const struct sl_rstats *s);

const char *sl_reason_name(int reason);   /* "limit", "overflow", ... */
const char *sl_outcome_name(int outcome); /* "pass", "drop", "dryrun" */

#endif
