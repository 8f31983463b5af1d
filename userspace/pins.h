/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The pin root: bpffs mounting, the command lock, and opening sluice's pinned maps by name. */
#ifndef SLUICE_PINS_H
#define SLUICE_PINS_H

#include <stdbool.h>
#include <stddef.h>

struct sl_maps {
	int config;
	int rules;
	int buckets;
	int ovf;
	int stats;
	int rulemeta;
	int attach;
	/* HTTP layer */
	int http;
	int keys;
	int tenants;
	int tstate;
	int tstats;
	int tenmeta;
	int flows;
	int tovf;
	/* quotas */
	int qcfg;
	int qcnt;
	int rcfg;    /* replies (docs/reject.md) */
	int rtat;
	int rstats;
	int reply;
	int rejects;
	int rjseen;
};

/* Path of <pin_root>/<dir>/<name> (dir or name may be NULL). Returns 0 or -ENAMETOOLONG. */
int sl_pin_path(char *buf, size_t len, const char *pin_root, const char *dir, const char *name);

/* Mount bpffs at /sys/fs/bpf if the pin root is not on one, and create the pin directories. */
int sl_pins_prepare(const char *pin_root);

/* Whether sluice's maps are pinned under pin_root. */
bool sl_pins_exist(const char *pin_root);

/*
 * Take the exclusive lock of the pin root (flock on its directory), waiting up to `wait_s`
 * seconds. Returns an fd to pass to sl_unlock(), or a negative errno.
 */
int sl_lock(const char *pin_root, int wait_s);
void sl_unlock(int fd);

/* Open every pinned map. Returns 0 or a negative errno (-ENOENT: not set up). */
int sl_maps_open(const char *pin_root, struct sl_maps *m);
void sl_maps_close(struct sl_maps *m);

/* Remove the pin root and everything below it. */
int sl_pins_remove(const char *pin_root);

#endif
