/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Attaching the data plane to interfaces and removing exactly what was attached. */
#ifndef SLUICE_ATTACH_H
#define SLUICE_ATTACH_H

#include <linux/types.h>
#include "sluice_abi.h"
#include "pins.h"

struct sl_attach_req {
	const char *ifname;
	const char *netns; /* name for the record, may be NULL */
	int hook;          /* enum sl_hook */
	int mode;          /* enum sl_xdp_mode */
	long table_size;   /* 0: default or pinned */
};

/* Inode of the caller's network namespace (part of every attachment's key). */
__u64 sl_netns_ino(void);

/*
 * ifindex of `ifname` in the caller's network namespace (`netns`: its name for the message, or
 * NULL); 0 when there is none, after telling the user where to look.
 */
__u32 sl_iface_index(const char *ifname, const char *netns);

/* Load and attach. Call with the pin-root lock held. Reports errors to the user. */
int sl_attach_iface(const char *pin_root, const struct sl_attach_req *req);

/* Detach one recorded attachment and forget it. Reports errors to the user. */
int sl_detach_entry(const char *pin_root, const struct sl_maps *m,
		    const struct sl_attach_key *k, const struct sl_attach *a);

/* Find the attachment of `ifname` in the caller's namespace. Returns 0 or -ENOENT. */
int sl_attach_find(const struct sl_maps *m, const char *ifname, struct sl_attach_key *k,
		   struct sl_attach *a);

/* Whether the recorded attachment is still in place (link pinned / filter present). */
bool sl_attach_alive(const char *pin_root, const struct sl_attach_key *k,
		     const struct sl_attach *a);

const char *sl_hook_name(int hook);
const char *sl_mode_name(int mode);

#endif
