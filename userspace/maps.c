// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Map access for the controller: per-CPU reads, batch scans with a one-by-one fallback. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps.h"
#include "stats.h"
#include "tenants.h"

/* Per-CPU values are laid out 8-byte aligned per CPU. */
#define SL_PCPU_STRIDE(sz) (((sz) + 7) & ~(size_t)7)

/* Every CPU's copy of `key` in a per-CPU map: *buf (free it) holds *ncpu values of `stride`. */
/* A zeroed buffer for every CPU's copy of a per-CPU value: *ncpu values of *stride bytes. */
static void *sl_percpu_buf(size_t value_size, int *ncpu, size_t *stride)
{
	*stride = SL_PCPU_STRIDE(value_size);
	*ncpu = libbpf_num_possible_cpus();
	return *ncpu > 0 ? calloc(*ncpu, *stride) : NULL;
}

/* Every CPU's copy of `key` in a per-CPU map into *buf (free it). */
static int sl_percpu_lookup(int fd, const void *key, size_t value_size, void **buf, int *ncpu,
			    size_t *stride)
{
	*buf = sl_percpu_buf(value_size, ncpu, stride);
	if (!*buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, *buf)) {
		int err = -errno;

		free(*buf);
		*buf = NULL;
		return err;
	}
	return 0;
}

/* Entry `key` of a per-CPU array, summed over CPUs into *out by `sum` (sl_stats_sum & co). */
typedef void (*sl_sum_fn)(const void *percpu, int ncpu, size_t stride, void *out);

static int sl_percpu_sum(int fd, __u32 key, size_t value_size, sl_sum_fn sum, void *out)
{
	size_t stride;
	void *buf;
	int ncpu, err = sl_percpu_lookup(fd, &key, value_size, &buf, &ncpu, &stride);

	if (err)
		return err;
	sum(buf, ncpu, stride, out);
	free(buf);
	return 0;
}

int sl_stats_read(int fd, __u32 slot, struct sl_slot_stats *out)
{
	return sl_percpu_sum(fd, slot, sizeof(*out), (sl_sum_fn)sl_stats_sum, out);
}

int sl_rstats_read(int fd, __u32 rslot, struct sl_rstats *out)
{
	return sl_percpu_sum(fd, rslot, sizeof(*out), (sl_sum_fn)sl_rstats_sum, out);
}

int sl_stats_clear(int fd, __u32 slot)
{
	return sl_percpu_zero(fd, slot, sizeof(struct sl_slot_stats));
}

int sl_percpu_zero(int fd, __u32 key, size_t value_size)
{
	size_t stride;
	int ncpu, err = 0;
	void *buf = sl_percpu_buf(value_size, &ncpu, &stride);

	if (!buf)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, &key, buf, BPF_ANY))
		err = -errno;
	free(buf);
	return err;
}

int sl_config_read(int fd, struct sl_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(fd, &zero, cfg) ? -errno : 0;
}

int sl_config_write(int fd, const struct sl_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_update_elem(fd, &zero, cfg, BPF_ANY) ? -errno : 0;
}

__u32 sl_map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

long sl_map_max_entries(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	return info.max_entries;
}

/*
 * Generic scan. Keys to delete are collected and removed after the walk, so deletion never
 * disturbs the iteration order.
 */
typedef int (*sl_raw_fn)(const void *k, const void *v, void *arg);

static long sl_scan(int fd, size_t ksz, size_t vsz, sl_raw_fn fn, void *arg)
{
	const __u32 chunk = 1024;
	char *keys = malloc(ksz * chunk), *vals = malloc(vsz * chunk);
	char *del = NULL, *cur = malloc(ksz), *next = malloc(ksz);
	size_t ndel = 0, cap = 0;
	long seen = 0;
	__u32 batch_in = 0, batch_out = 0;
	bool first = true, batch = true, done = false;
	int err = 0;

	if (!keys || !vals || !cur || !next) {
		err = -ENOMEM;
		goto out;
	}
	while (!done && err >= 0) {
		__u32 n = chunk;

		if (batch) {
			LIBBPF_OPTS(bpf_map_batch_opts, opts);

			err = bpf_map_lookup_batch(fd, first ? NULL : &batch_in, &batch_out, keys,
						   vals, &n, &opts);
			if (err && first && errno != ENOENT) {
				/* map type or kernel without batch support: one by one */
				batch = false;
				err = 0;
				continue;
			}
			if (err && errno != ENOENT) {
				err = -errno;
				break;
			}
			done = err != 0; /* ENOENT: this was the last batch */
			err = 0;
			batch_in = batch_out;
		} else {
			if (bpf_map_get_next_key(fd, first ? NULL : cur, next)) {
				if (errno != ENOENT)
					err = -errno;
				break;
			}
			memcpy(cur, next, ksz);
			memcpy(keys, cur, ksz);
			if (bpf_map_lookup_elem(fd, cur, vals))
				continue; /* deleted meanwhile */
			n = 1;
		}
		first = false;
		for (__u32 i = 0; i < n; i++) {
			int r = fn(keys + i * ksz, vals + i * vsz, arg);

			seen++;
			if (r < 0) {
				err = r;
				break;
			}
			if (r == 1) {
				if (ndel == cap) {
					char *nd = realloc(del, ksz * (cap ? cap * 2 : 256));

					if (!nd) {
						err = -ENOMEM;
						break;
					}
					del = nd;
					cap = cap ? cap * 2 : 256;
				}
				memcpy(del + ndel * ksz, keys + i * ksz, ksz);
				ndel++;
			}
		}
	}
	for (size_t i = 0; i < ndel; i++)
		bpf_map_delete_elem(fd, del + i * ksz);
out:
	free(keys);
	free(vals);
	free(cur);
	free(next);
	free(del);
	return err < 0 ? err : seen;
}

long sl_buckets_scan(int fd, sl_bucket_fn fn, void *arg)
{
	return sl_scan(fd, sizeof(struct sl_bkey), sizeof(struct sl_bucket), (sl_raw_fn)fn, arg);
}

long sl_rules_scan(int fd, sl_rule_fn fn, void *arg)
{
	return sl_scan(fd, sizeof(struct sl_lpm_key), sizeof(struct sl_rule), (sl_raw_fn)fn, arg);
}

long sl_keys_scan(int fd, sl_key_fn fn, void *arg)
{
	return sl_scan(fd, sizeof(__u64), sizeof(struct sl_keyval), (sl_raw_fn)fn, arg);
}

long sl_flows_scan(int fd, sl_flow_fn fn, void *arg)
{
	return sl_scan(fd, sizeof(struct sl_flow_key), sizeof(struct sl_flow), (sl_raw_fn)fn, arg);
}

long sl_qcnt_scan(int fd, sl_qcnt_fn fn, void *arg)
{
	return sl_scan(fd, sizeof(struct sl_qkey), sizeof(__u64), (sl_raw_fn)fn, arg);
}

long sl_replies_scan(int fd, sl_reply_tpl_fn fn, void *arg)
{
	return sl_scan(fd, sizeof(struct sl_reply_key), sizeof(struct sl_reply_tpl), (sl_raw_fn)fn,
		       arg);
}

struct sl_tstats_sum_arg {
	sl_tstats_fn fn;
	void *arg;
	int ncpu;
};

static int sl_tstats_one(const void *k, const void *v, void *arg)
{
	struct sl_tstats_sum_arg *a = arg;
	struct sl_tstats sum;

	sl_tstats_sum(v, a->ncpu, SL_PCPU_STRIDE(sizeof(sum)), &sum);
	return a->fn(k, &sum, a->arg);
}

long sl_tstats_scan(int fd, sl_tstats_fn fn, void *arg)
{
	struct sl_tstats_sum_arg a = { .fn = fn, .arg = arg, .ncpu = libbpf_num_possible_cpus() };

	if (a.ncpu <= 0)
		return -EINVAL;
	return sl_scan(fd, sizeof(struct sl_tstats_key),
		       SL_PCPU_STRIDE(sizeof(struct sl_tstats)) * a.ncpu, sl_tstats_one, &a);
}

int sl_tovf_read(int fd, __u32 tenant, struct sl_tstats *out)
{
	return sl_percpu_sum(fd, tenant, sizeof(*out), (sl_sum_fn)sl_tstats_sum, out);
}
