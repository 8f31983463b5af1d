// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* API key hashes and ids as the data plane sees them, and tenant counter arithmetic. */
#include <stdio.h>
#include <string.h>

#include "sluice_siphash.h"
#include "tenants.h"

/*
 * The public key of key ids: fixed forever, so that an id names the same key on every host
 * and after every purge. It is no secret: ids are only meant to be short and not reversible.
 * ("sluice key id v1" as two little-endian words.)
 */
static const struct sl_sipkey sl_key_id_key = {
	.k0 = 0x6b20656369756c73ULL, /* "sluice k" */
	.k1 = 0x3176206469207965ULL, /* "ey id v1" */
};

__u32 sl_key_id(const char *key, size_t len)
{
	return (__u32)sl_siphash_mem(&sl_key_id_key, key, len);
}

const char *sl_key_id_str(__u32 id, char *buf, size_t len)
{
	snprintf(buf, len, "%08x", id);
	return buf;
}

__u64 sl_key_hash(const __u64 secret[2], const char *key, size_t len)
{
	struct sl_sipkey k = { .k0 = secret[0], .k1 = secret[1] };

	return sl_siphash_mem(&k, key, len);
}

void sl_tstats_add(struct sl_tstats *out, const struct sl_tstats *in)
{
	out->req_pass += in->req_pass;
	out->req_drop += in->req_drop;
	out->req_dryrun += in->req_dryrun;
	out->req_retrans += in->req_retrans;
	out->units += in->units;
	out->bytes_in += in->bytes_in;
	out->bytes_out += in->bytes_out;
	out->bytes_drop += in->bytes_drop;
	out->req_quota += in->req_quota;
	out->units_over += in->units_over;
}

void sl_tstats_sum(const void *percpu, int ncpu, size_t stride, struct sl_tstats *out)
{
	const char *p = percpu;

	memset(out, 0, sizeof(*out));
	for (int cpu = 0; cpu < ncpu; cpu++)
		sl_tstats_add(out, (const struct sl_tstats *)(p + (size_t)cpu * stride));
}
