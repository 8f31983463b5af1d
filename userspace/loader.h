/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Loading the data-plane object with its maps pinned (or reused) under the pin root. */
#ifndef SLUICE_LOADER_H
#define SLUICE_LOADER_H

struct sluice;

/* The oldest kernel sluice supports. */
#define SL_KERNEL_MIN_MAJOR 5
#define SL_KERNEL_MIN_MINOR 15

/*
 * Refuse a kernel older than SL_KERNEL_MIN_*, naming what the data plane needs that it lacks.
 * Touches nothing; call before preparing pins. Returns 0 or -EOPNOTSUPP (reported here).
 * SLUICE_TEST_KERNEL=RELEASE in the environment stands for uname's release (tests).
 */
int sl_kernel_check(void);

/*
 * Open and load the BPF object; maps are pinned by name under <pin_root>/maps, reusing pins that
 * exist. `hook` (enum sl_hook, or -1 for none) selects which program is loaded. `table_size` 0
 * keeps the pinned (or default) aggregate table size. Errors are reported to the user here.
 */
int sl_load(const char *pin_root, long table_size, int hook, struct sluice **out);
void sl_unload(struct sluice *skel);

#endif
