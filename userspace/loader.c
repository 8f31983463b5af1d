// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Skeleton load with pinned maps: every attachment and command shares one set of maps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sluice_abi.h"
#include "sluice_siphash.h"
#include "sluice.skel.h"
#include "loader.h"
#include "log.h"
#include "maps.h"
#include "pins.h"

_Static_assert(sizeof(SL_MAP_BUCKETS) <= 16, "map names are cut at 15 characters");
_Static_assert(sizeof(SL_MAP_RULEMETA) <= 16, "map names are cut at 15 characters");

/*
 * The API-key secret is made once, when the maps are created (both words still 0), and kept
 * with the pinned config for as long as the pins live: every key hash in sl_keys_v2 uses it.
 * It is never printed.
 */
static int sl_secret_init(int config_fd)
{
	struct sl_config cfg;
	__u8 b[16];
	struct sl_sipkey k;
	ssize_t n;
	int err;

	if ((err = sl_config_read(config_fd, &cfg)))
		return err;
	if (cfg.secret[0] || cfg.secret[1])
		return 0;
	n = getrandom(b, sizeof(b), 0);
	if (n != (ssize_t)sizeof(b)) {
		err = n < 0 ? -errno : -EIO;
		pr_warn("cannot make the API-key secret (getrandom: %s)\n", strerror(-err));
		return err;
	}
	k = sl_sipkey_from_bytes(b);
	cfg.secret[0] = k.k0;
	cfg.secret[1] = k.k1;
	memset(b, 0, sizeof(b));
	err = sl_config_write(config_fd, &cfg);
	memset(&cfg, 0, sizeof(cfg));
	return err;
}

/* What the data plane uses that the oldest kernels lack, newest first. */
static const struct {
	int major, minor;
	const char *feature;
} sl_kernel_features[] = {
	{ 5, 12, "compare-and-swap on map values (BPF atomics, the shared buckets)" },
	{ 5, 9, "XDP through a bpf_link (attach)" },
	{ 5, 5, "bpf_jiffies64 (the tick clock)" },
	{ 5, 3, "bounded loops (the HTTP scanner)" },
	{ 5, 2, "bpf_skc_lookup_tcp (the HTTP flow table)" },
	{ 5, 1, "bpf_spin_lock and BPF_F_LOCK (tenant plans)" },
};

int sl_kernel_check(void)
{
	/* Test hook: the release this check sees instead of uname's, e.g. 5.4.0. */
	const char *rel = getenv("SLUICE_TEST_KERNEL");
	char list[512] = "";
	struct utsname u;
	int major, minor;

	if (!rel || !*rel) {
		if (uname(&u))
			return 0;
		rel = u.release;
	}
	if (sscanf(rel, "%d.%d", &major, &minor) != 2)
		return 0; /* unknown format: let the load tell */
	/* Minor numbers stay below 1000: major * 1000 + minor orders releases. */
	if (major * 1000 + minor >= SL_KERNEL_MIN_MAJOR * 1000 + SL_KERNEL_MIN_MINOR)
		return 0;
	for (size_t i = 0; i < sizeof(sl_kernel_features) / sizeof(sl_kernel_features[0]); i++) {
		int fmaj = sl_kernel_features[i].major, fmin = sl_kernel_features[i].minor;

		if (major * 1000 + minor >= fmaj * 1000 + fmin)
			continue;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s needs %d.%d",
			 list[0] ? ", " : ": ", sl_kernel_features[i].feature, fmaj, fmin);
	}
	pr_warn("kernel %s is older than %d.%d, the oldest sluice supports%s; upgrade the kernel\n",
		rel, SL_KERNEL_MIN_MAJOR, SL_KERNEL_MIN_MINOR, list);
	return -EOPNOTSUPP;
}

int sl_load(const char *pin_root, long table_size, int hook, struct sluice **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	char maps_dir[512], path[512];
	struct sluice *skel;
	long pinned = 0;
	int fd, err;

	if ((err = sl_pin_path(maps_dir, sizeof(maps_dir), pin_root, SL_PIN_MAPS_DIR, NULL)))
		return err;
	oo.pin_root_path = maps_dir;

	/* The aggregate table's size is fixed once its map is pinned. */
	sl_pin_path(path, sizeof(path), pin_root, SL_PIN_MAPS_DIR, SL_MAP_BUCKETS);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		pinned = sl_map_max_entries(fd);
		close(fd);
		if (table_size && pinned > 0 && table_size != pinned) {
			pr_warn("the aggregate table under %s already has %ld entries; drop "
				"--table-size, or `sluice purge` first to resize (counters are lost)\n",
				pin_root, pinned);
			return -EEXIST;
		}
	}

	skel = sluice__open_opts(&oo);
	if (!skel) {
		err = -errno;
		pr_warn("cannot open the BPF object: %s\n", strerror(-err));
		return err;
	}
	if (pinned > 0)
		table_size = pinned;
	if (table_size > 0 && (err = bpf_map__set_max_entries(skel->maps.sl_buckets_v1,
							      table_size)))
		goto fail;
	bpf_program__set_autoload(skel->progs.sluice_xdp, hook == SL_HOOK_XDP);
	bpf_program__set_autoload(skel->progs.sluice_tc, hook == SL_HOOK_TC);
	/* Response bytes of the HTTP layer: TC egress, whichever hook takes the ingress. */
	bpf_program__set_autoload(skel->progs.sluice_tc_egress,
				  hook == SL_HOOK_XDP || hook == SL_HOOK_TC);

	err = sluice__load(skel);
	if (err) {
		if (err == -EPERM || err == -EACCES)
			pr_warn("loading BPF needs root (CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON or "
				"CAP_SYS_ADMIN): run as root\n");
		else if (err == -EINVAL && pinned)
			pr_warn("the maps pinned under %s do not match this sluice's layout "
				"(upgraded?); `sluice purge` removes them (and their counters), or use "
				"another --pin-root\n", pin_root);
		else
			pr_warn("cannot load the BPF programs: %s (run with -v for the verifier "
				"log)\n", strerror(-err));
		goto fail;
	}
	if ((err = sl_secret_init(bpf_map__fd(skel->maps.sl_config_v1))))
		goto fail;
	*out = skel;
	return 0;
fail:
	sluice__destroy(skel);
	return err;
}

void sl_unload(struct sluice *skel)
{
	sluice__destroy(skel);
}

static int sl_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int mine = level == LIBBPF_WARN ? SL_LOG_INFO : level == LIBBPF_INFO ? SL_LOG_DEBUG : 3;

	/*
	 * libbpf warnings are shown with -v only: every failure it reports is also turned into a
	 * sluice error message that says what to do, and raw libbpf text would only add noise.
	 */
	if (mine > sl_log_get_level())
		return 0;
	fputs("libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

void sl_log_hook_libbpf(void)
{
	libbpf_set_print(sl_libbpf_print);
}
