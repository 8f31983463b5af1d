// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice attach IFACE [--hook xdp|tc] [--mode native|skb] [--table-size N] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "cmd.h"
#include "loader.h"
#include "log.h"

int cmd_attach(const struct sl_opts *o, int argc, char **argv)
{
	struct sl_attach_req req = { .hook = SL_HOOK_XDP, .mode = SL_MODE_NATIVE,
				     .netns = o->netns };
	int lock, err;

	if (sl_want_help("attach", argc, argv))
		return SL_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--hook") && v) {
			if (!strcmp(v, "xdp"))
				req.hook = SL_HOOK_XDP;
			else if (!strcmp(v, "tc"))
				req.hook = SL_HOOK_TC;
			else {
				pr_warn("--hook takes xdp or tc, not '%s'\n", v);
				return SL_EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(a, "--mode") && v) {
			if (!strcmp(v, "native") || !strcmp(v, "drv"))
				req.mode = SL_MODE_NATIVE;
			else if (!strcmp(v, "skb") || !strcmp(v, "generic"))
				req.mode = SL_MODE_SKB;
			else {
				pr_warn("--mode takes native or skb, not '%s'\n", v);
				return SL_EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(a, "--table-size") && v) {
			char *end;

			req.table_size = strtol(v, &end, 10);
			if (*end || req.table_size < 16 || req.table_size > (1L << 24)) {
				pr_warn("--table-size takes a number of aggregates from 16 to 16777216\n");
				return SL_EXIT_USAGE;
			}
			i++;
		} else if (a[0] == '-') {
			pr_warn("unknown or incomplete option '%s'\n", a);
			return sl_usage("attach");
		} else if (!req.ifname) {
			req.ifname = a;
		} else {
			return sl_usage("attach");
		}
	}
	if (!req.ifname)
		return sl_usage("attach");
	/* Everything that can be checked without touching anything, first. */
	if (sl_need_root() || sl_kernel_check() || !sl_iface_index(req.ifname, req.netns))
		return SL_EXIT_ERR;
	if ((err = sl_pins_prepare(o->pin_root)))
		return SL_EXIT_ERR;
	lock = sl_lock(o->pin_root, 30);
	if (lock < 0) {
		pr_warn("cannot lock %s: %s\n", o->pin_root, strerror(-lock));
		return SL_EXIT_ERR;
	}
	err = sl_attach_iface(o->pin_root, &req);
	sl_unlock(lock);
	if (err)
		return SL_EXIT_ERR;
	if (!o->json)
		printf("attached to %s (%s%s%s)\n", req.ifname, sl_hook_name(req.hook),
		       req.hook == SL_HOOK_XDP ? ", " : "",
		       req.hook == SL_HOOK_XDP ? sl_mode_name(req.mode) : "");
	return SL_EXIT_OK;
}
