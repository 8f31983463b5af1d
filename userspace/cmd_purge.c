// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice purge: detach from every interface and remove all of sluice's pins. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "attach.h"
#include "cmd.h"
#include "log.h"

int cmd_purge(const struct sl_opts *o, int argc, char **argv)
{
	struct sl_attach_key cur, next;
	struct sl_attach a;
	struct sl_maps m;
	int lock, n = 0, failed = 0;

	if (sl_want_help("purge", argc, argv))
		return SL_EXIT_OK;
	if (argc != 1)
		return sl_usage("purge");
	if (sl_need_root())
		return SL_EXIT_ERR;
	if (access(o->pin_root, F_OK)) {
		if (!o->json)
			printf("nothing to purge under %s\n", o->pin_root);
		return SL_EXIT_OK;
	}
	lock = sl_lock(o->pin_root, 30);
	if (lock < 0) {
		pr_warn("cannot lock %s: %s\n", o->pin_root, strerror(-lock));
		return SL_EXIT_ERR;
	}
	if (sl_maps_open(o->pin_root, &m) == 0) {
		/* Restart the walk after each delete: deleting under get_next_key skips keys. */
		while (!bpf_map_get_next_key(m.attach, NULL, &next)) {
			cur = next;
			if (bpf_map_lookup_elem(m.attach, &cur, &a) ||
			    sl_detach_entry(o->pin_root, &m, &cur, &a)) {
				failed++;
				bpf_map_delete_elem(m.attach, &cur);
				continue;
			}
			n++;
		}
		sl_maps_close(&m);
	}
	if (sl_pins_remove(o->pin_root)) {
		pr_warn("cannot remove %s: %s\n", o->pin_root, strerror(errno));
		failed++;
	}
	sl_unlock(lock);
	if (!o->json)
		printf("purged %s: %d attachment(s) removed%s\n", o->pin_root, n,
		       failed ? ", some failed (see above)" : "");
	return failed ? SL_EXIT_ERR : SL_EXIT_OK;
}
