// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Pin-root handling: bpffs mount, directories, lock, and pinned maps opened by name. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>

#include "sluice_abi.h"
#include "log.h"
#include "pins.h"
#include "util.h"

int sl_pin_path(char *buf, size_t len, const char *pin_root, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s%s%s%s%s", pin_root, dir ? "/" : "", dir ? dir : "",
			 name ? "/" : "", name ? name : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool sl_is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

int sl_pins_prepare(const char *pin_root)
{
	char path[512];
	char parent[512];
	char *slash;
	int err;

	/* Find the nearest existing ancestor and check it is bpffs; mount /sys/fs/bpf if not. */
	snprintf(parent, sizeof(parent), "%s", pin_root);
	while (access(parent, F_OK) != 0 && (slash = strrchr(parent, '/')) && slash != parent)
		*slash = '\0';
	if (!sl_is_bpffs(parent)) {
		if (strncmp(pin_root, "/sys/fs/bpf", 11) != 0) {
			pr_warn("%s is not on a bpf filesystem; choose a --pin-root under /sys/fs/bpf "
				"or mount bpffs there (mount -t bpf bpf DIR)\n", pin_root);
			return -EINVAL;
		}
		pr_info("mounting bpffs at /sys/fs/bpf\n");
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			err = -errno;
			pr_warn("bpffs is not mounted at /sys/fs/bpf, and mounting it there failed: "
				"%s; mount it (`mount -t bpf bpf /sys/fs/bpf`) or use --pin-root DIR "
				"on a bpffs\n", strerror(errno));
			return err;
		}
	}
	if ((err = sl_pin_path(path, sizeof(path), pin_root, SL_PIN_MAPS_DIR, NULL)) ||
	    (err = sl_mkdir_p(path, 0700)))
		goto fail;
	if ((err = sl_pin_path(path, sizeof(path), pin_root, SL_PIN_LINKS_DIR, NULL)) ||
	    (err = sl_mkdir_p(path, 0700)))
		goto fail;
	return 0;
fail:
	pr_warn("cannot create %s: %s\n", path, strerror(-err));
	return err;
}

bool sl_pins_exist(const char *pin_root)
{
	char path[512];

	if (sl_pin_path(path, sizeof(path), pin_root, SL_PIN_MAPS_DIR, SL_MAP_CONFIG))
		return false;
	return access(path, F_OK) == 0;
}

int sl_lock(const char *pin_root, int wait_s)
{
	int fd = open(pin_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int tries = wait_s * 10;

	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK || tries-- <= 0) {
			int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

			close(fd);
			return err;
		}
		if (tries == wait_s * 10 - 10)
			pr_info("waiting for another sluice command holding %s\n", pin_root);
		usleep(100000);
	}
	return fd;
}

void sl_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}

static int sl_map_get(const char *pin_root, const char *name, int *fd)
{
	char path[512];
	int err = sl_pin_path(path, sizeof(path), pin_root, SL_PIN_MAPS_DIR, name);

	if (err)
		return err;
	*fd = bpf_obj_get(path);
	return *fd < 0 ? -errno : 0;
}

int sl_maps_open(const char *pin_root, struct sl_maps *m)
{
	static const struct {
		const char *name;
		size_t off;
	} maps[] = {
		{ SL_MAP_CONFIG, offsetof(struct sl_maps, config) },
		{ SL_MAP_RULES, offsetof(struct sl_maps, rules) },
		{ SL_MAP_BUCKETS, offsetof(struct sl_maps, buckets) },
		{ SL_MAP_OVERFLOW, offsetof(struct sl_maps, ovf) },
		{ SL_MAP_STATS, offsetof(struct sl_maps, stats) },
		{ SL_MAP_RULEMETA, offsetof(struct sl_maps, rulemeta) },
		{ SL_MAP_ATTACH, offsetof(struct sl_maps, attach) },
		{ SL_MAP_HTTP, offsetof(struct sl_maps, http) },
		{ SL_MAP_KEYS, offsetof(struct sl_maps, keys) },
		{ SL_MAP_TENANTS, offsetof(struct sl_maps, tenants) },
		{ SL_MAP_TSTATE, offsetof(struct sl_maps, tstate) },
		{ SL_MAP_TSTATS, offsetof(struct sl_maps, tstats) },
		{ SL_MAP_TENMETA, offsetof(struct sl_maps, tenmeta) },
		{ SL_MAP_FLOWS, offsetof(struct sl_maps, flows) },
		{ SL_MAP_TOVF, offsetof(struct sl_maps, tovf) },
		{ SL_MAP_QCFG, offsetof(struct sl_maps, qcfg) },
		{ SL_MAP_QCNT, offsetof(struct sl_maps, qcnt) },
		{ SL_MAP_RCFG, offsetof(struct sl_maps, rcfg) },
		{ SL_MAP_RTAT, offsetof(struct sl_maps, rtat) },
		{ SL_MAP_RSTATS, offsetof(struct sl_maps, rstats) },
		{ SL_MAP_REPLY, offsetof(struct sl_maps, reply) },
		{ SL_MAP_REJECTS, offsetof(struct sl_maps, rejects) },
		{ SL_MAP_RJSEEN, offsetof(struct sl_maps, rjseen) },
	};
	_Static_assert(sizeof(maps) / sizeof(maps[0]) == sizeof(*m) / sizeof(int),
		       "every fd of struct sl_maps is opened");
	int err;

	memset(m, 0xff, sizeof(*m)); /* every fd -1 */
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		if ((err = sl_map_get(pin_root, maps[i].name, (int *)((char *)m + maps[i].off)))) {
			sl_maps_close(m);
			return err;
		}
	}
	return 0;
}

void sl_maps_close(struct sl_maps *m)
{
	int *fds = (int *)m;

	for (size_t i = 0; i < sizeof(*m) / sizeof(int); i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static int sl_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) ? -errno : 0;
}

int sl_pins_remove(const char *pin_root)
{
	if (access(pin_root, F_OK))
		return 0;
	return nftw(pin_root, sl_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
