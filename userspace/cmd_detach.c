// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice detach IFACE: remove exactly what sluice attached there; maps and counters stay. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "attach.h"
#include "cmd.h"
#include "log.h"

int cmd_detach(const struct sl_opts *o, int argc, char **argv)
{
	struct sl_attach_key k;
	struct sl_attach a;
	struct sl_maps m;
	int lock, err;

	if (sl_want_help("detach", argc, argv))
		return SL_EXIT_OK;
	if (argc != 2 || argv[1][0] == '-')
		return sl_usage("detach");
	if (sl_open_maps_or_explain(o, &m))
		return SL_EXIT_ERR;
	lock = sl_lock(o->pin_root, 30);
	if (lock < 0) {
		pr_warn("cannot lock %s: %s\n", o->pin_root, strerror(-lock));
		sl_maps_close(&m);
		return SL_EXIT_ERR;
	}
	/* By the record first: the interface may be gone, and detach still cleans up after it. */
	err = sl_attach_find(&m, argv[1], &k, &a);
	if (!err)
		err = sl_detach_entry(o->pin_root, &m, &k, &a);
	else if (sl_iface_index(argv[1], o->netns)) /* (0: it said there is no such interface) */
		pr_warn("sluice is not attached to %s%s%s; `sluice status` lists attachments\n",
			argv[1], o->netns ? " in network namespace " : "", o->netns ? o->netns : "");
	sl_unlock(lock);
	sl_maps_close(&m);
	if (err)
		return SL_EXIT_ERR;
	if (!o->json)
		printf("detached from %s (maps and counters kept; `sluice purge` removes them)\n",
		       argv[1]);
	return SL_EXIT_OK;
}
