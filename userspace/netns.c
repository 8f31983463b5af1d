// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * --netns: only the network namespace changes. `ip netns exec` would also unshare the mount
 * namespace and mount a fresh /sys, hiding /sys/fs/bpf and with it every pin.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netns.h"

int sl_netns_enter(const char *name)
{
	char path[512];
	int fd, err = 0;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_warn("network namespace %s not found (%s): list them with `ip netns list`\n",
			name, strerror(errno));
		return err;
	}
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		pr_warn("cannot enter network namespace %s: %s (needs root)\n", name,
			strerror(errno));
	}
	close(fd);
	return err;
}
