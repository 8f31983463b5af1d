/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* API keys as the data plane knows them (keyed hash, short id) and tenant counter sums. */
#ifndef SLUICE_TENANTS_H
#define SLUICE_TENANTS_H

#include <stddef.h>
#include <linux/types.h>
#include "sluice_abi.h"

/*
 * Short id of an API key for outputs: the low 32 bits of SipHash-2-4 under a fixed, public
 * key. Stable across purges, restarts and hosts (unlike the map's hash, keyed by the secret),
 * and not reversible to the key. Printed as 8 lowercase hex digits (sl_key_id_str).
 */
__u32 sl_key_id(const char *key, size_t len);
/* buf must hold 9 bytes. */
const char *sl_key_id_str(__u32 id, char *buf, size_t len);

/* Key of SL_MAP_KEYS for an API key: SipHash-2-4 under sl_config.secret, as BPF computes it. */
__u64 sl_key_hash(const __u64 secret[2], const char *key, size_t len);

/* out += in, counter by counter. */
void sl_tstats_add(struct sl_tstats *out, const struct sl_tstats *in);

/* Sum `ncpu` per-CPU copies of one struct sl_tstats laid out `stride` bytes apart. */
void sl_tstats_sum(const void *percpu, int ncpu, size_t stride, struct sl_tstats *out);

#endif
