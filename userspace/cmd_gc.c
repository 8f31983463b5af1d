// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice gc: delete aggregate buckets that are idle, i.e. whose TAT is in the past. Such a bucket
 * is in exactly the state of a new one (include/sluice_gcra.h), so deleting it changes no
 * verdict and hands out no extra burst; it only frees room in the table for new sources.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/times.h>
#include <bpf/bpf.h>

#include "sluice_gcra.h"
#include "cmd.h"
#include "json.h"
#include "log.h"
#include "maps.h"
#include "pins.h"
#include "util.h"

struct sl_gc {
	__u64 now_fine;
	__u64 now_tick;
	__u8 fine[SL_MAX_RULES];  /* slot's buckets run on the precise clock */
	__u8 in_use[SL_MAX_RULES];
	/* Slot SL_SLOT_UNKNOWN_KEY: 0 HTTP layer off (leftovers), 1 on, 2 unknown (kept). */
	__u8 unknown_in_use;
	__u8 unknown_fine;
	long deleted;
};

/*
 * The tick clock of the data plane is jiffies x TICK_NSEC. times() returns jiffies converted to
 * USER_HZ units, i.e. that same time rounded down to 1/USER_HZ s: never ahead of the data plane.
 */
__u64 sl_now_tick_user(void)
{
	long hz = sysconf(_SC_CLK_TCK);
	clock_t t = times(NULL);

	if (hz <= 0 || t == (clock_t)-1)
		return 0;
	return ((__u64)t * (1000000000ULL / hz)) << SL_TU_SHIFT;
}

static int sl_gc_one(const struct sl_bkey *k, const struct sl_bucket *b, void *arg)
{
	struct sl_gc *g = arg;
	__u64 now;
	bool fine;

	if (k->slot == SL_SLOT_UNKNOWN_KEY && g->unknown_in_use == 2)
		return 0;
	if (k->slot == SL_SLOT_UNKNOWN_KEY && g->unknown_in_use) {
		fine = g->unknown_fine; /* per-source buckets of requests without a known key */
	} else if (k->slot >= SL_MAX_RULES || !g->in_use[k->slot]) {
		g->deleted++; /* left over from a removed rule or HTTP layer */
		return 1;
	} else {
		fine = g->fine[k->slot];
	}
	now = fine ? g->now_fine : g->now_tick;
	if (!now || b->tat > now)
		return 0;
	g->deleted++;
	return 1;
}

int cmd_gc(const struct sl_opts *o, int argc, char **argv)
{
	struct sl_gc g = { .unknown_in_use = 2 };
	struct sl_maps m;
	long seen;
	int lock;

	if (sl_want_help("gc", argc, argv))
		return SL_EXIT_OK;
	if (argc != 1)
		return sl_usage("gc");
	if (sl_open_maps_or_explain(o, &m))
		return SL_EXIT_ERR;
	lock = sl_lock(o->pin_root, 30);
	if (lock < 0) {
		pr_warn("cannot lock %s: %s\n", o->pin_root, strerror(-lock));
		sl_maps_close(&m);
		return SL_EXIT_ERR;
	}
	{
		struct sl_config cfg;

		if (sl_config_read(m.config, &cfg) == 0) {
			__u32 gen = cfg.gen & 1;
			struct sl_httpcfg hc;

			for (__u32 s = 0; s < SL_MAX_RULES; s++) {
				struct sl_rulemeta mt;

				if (bpf_map_lookup_elem(m.rulemeta, &s, &mt))
					continue;
				g.in_use[s] = !!(mt.in_use & (1u << gen));
				g.fine[s] = !!(mt.flags & SL_RF_FINE);
			}
			if (!bpf_map_lookup_elem(m.http, &gen, &hc)) {
				g.unknown_in_use = hc.n_ports != 0;
				g.unknown_fine = !!(hc.unknown_flags & SL_RF_FINE);
			} else {
				g.unknown_in_use = 2;
			}
		}
	}
	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC; read it after the tick clock (both lag). */
	g.now_tick = sl_now_tick_user();
	g.now_fine = sl_monotonic_ns() << SL_TU_SHIFT;
	seen = sl_buckets_scan(m.buckets, sl_gc_one, &g);
	sl_unlock(lock);
	sl_maps_close(&m);
	if (seen < 0) {
		pr_warn("cannot scan the aggregate table: %s\n", strerror((int)-seen));
		return SL_EXIT_ERR;
	}
	if (o->json) {
		struct sl_json j;

		sl_json_init(&j, stdout, true);
		sl_json_obj_open(&j, NULL);
		sl_json_i64(&j, "scanned", seen);
		sl_json_i64(&j, "deleted", g.deleted);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else {
		printf("gc: %ld idle of %ld aggregate buckets deleted\n", g.deleted, seen);
	}
	return SL_EXIT_OK;
}
