/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Reading and writing sluice's maps: per-CPU sums, batch scans, config. */
#ifndef SLUICE_MAPS_H
#define SLUICE_MAPS_H

#include <linux/types.h>
#include "sluice_abi.h"

/* Sum of one slot's per-CPU counters. */
int sl_stats_read(int fd, __u32 slot, struct sl_slot_stats *out);
/* Zero one slot's counters on every CPU. */
int sl_stats_clear(int fd, __u32 slot);
/* A tenant's overflow counters (SL_MAP_TOVF), summed over CPUs. */
struct sl_tstats;
int sl_tovf_read(int fd, __u32 tenant, struct sl_tstats *out);
/* Zero entry `key` of any per-CPU array on every CPU. */
int sl_percpu_zero(int fd, __u32 key, size_t value_size);

int sl_config_read(int fd, struct sl_config *cfg);
int sl_config_write(int fd, const struct sl_config *cfg);

/* max_entries of a map, or a negative errno. */
long sl_map_max_entries(int fd);
/* The kernel's id of a map (a new id: a new map, e.g. after a purge), 0 on error. */
__u32 sl_map_id(int fd);

/*
 * Call fn for every bucket (key, value), reading in batches where the kernel supports it and
 * one key at a time otherwise. fn returns 0 to go on, 1 to delete this entry, <0 to stop.
 * Returns the number of entries seen, or a negative errno.
 */
typedef int (*sl_bucket_fn)(const struct sl_bkey *k, const struct sl_bucket *v, void *arg);
long sl_buckets_scan(int fd, sl_bucket_fn fn, void *arg);

/* Same for the rules trie. */
typedef int (*sl_rule_fn)(const struct sl_lpm_key *k, const struct sl_rule *v, void *arg);
long sl_rules_scan(int fd, sl_rule_fn fn, void *arg);

/* Same for the API keys (SL_MAP_KEYS, keyed by the key's hash) and connections (SL_MAP_FLOWS). */
typedef int (*sl_key_fn)(const __u64 *h, const struct sl_keyval *v, void *arg);
long sl_keys_scan(int fd, sl_key_fn fn, void *arg);
typedef int (*sl_flow_fn)(const struct sl_flow_key *k, const struct sl_flow *v, void *arg);
long sl_flows_scan(int fd, sl_flow_fn fn, void *arg);
/* Same for the quota counters (SL_MAP_QCNT: tag and units used in one word). */
typedef int (*sl_qcnt_fn)(const struct sl_qkey *k, const __u64 *v, void *arg);
long sl_qcnt_scan(int fd, sl_qcnt_fn fn, void *arg);

/* Same for the 429 response texts (SL_MAP_REPLY). */
typedef int (*sl_reply_tpl_fn)(const struct sl_reply_key *k, const struct sl_reply_tpl *v,
			       void *arg);
long sl_replies_scan(int fd, sl_reply_tpl_fn fn, void *arg);

/* A reply slot's counters (SL_MAP_RSTATS), summed over CPUs. */
int sl_rstats_read(int fd, __u32 rslot, struct sl_rstats *out);

/* Same for the tenant counters (SL_MAP_TSTATS); fn sees each entry summed over CPUs. */
typedef int (*sl_tstats_fn)(const struct sl_tstats_key *k, const struct sl_tstats *v, void *arg);
long sl_tstats_scan(int fd, sl_tstats_fn fn, void *arg);

#endif
