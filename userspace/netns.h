/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Enter a named network namespace while keeping this process's mounts (and so bpffs). */
#ifndef SLUICE_NETNS_H
#define SLUICE_NETNS_H

/* setns() into /run/netns/NAME (or NAME if it is a path). Returns 0 or a negative errno. */
int sl_netns_enter(const char *name);

#endif
