// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP (pinned bpf_link) and TC (clsact ingress filter) attachment, plus the clsact egress filter
 * of the HTTP layer's response bytes, recorded in SL_MAP_ATTACH.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sluice.skel.h"
#include "attach.h"
#include "loader.h"
#include "maps.h"
#include "log.h"
#include "netns.h"
#include "util.h"

const char *sl_hook_name(int hook)
{
	return hook == SL_HOOK_TC ? "tc" : "xdp";
}

const char *sl_mode_name(int mode)
{
	return mode == SL_MODE_SKB ? "skb" : "native";
}

__u64 sl_netns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (__u64)st.st_ino;
}

__u32 sl_iface_index(const char *ifname, const char *netns)
{
	__u32 ifindex = if_nametoindex(ifname);

	if (ifindex)
		return ifindex;
	if (netns)
		pr_warn("no interface %s in network namespace %s (`ip -n %s link` lists them)\n",
			ifname, netns, netns);
	else
		pr_warn("no interface %s (in this network namespace; `ip link` lists them; "
			"--netns NAME for another)\n", ifname);
	return 0;
}

/* The driver's name (ethtool), or "" when it does not say. */
static void sl_iface_driver(const char *ifname, char *buf, size_t len)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { .ifr_data = (void *)&di };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	buf[0] = '\0';
	if (fd < 0)
		return;
	sl_strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		sl_strlcpy(buf, di.driver, len);
	close(fd);
}

/*
 * Refuse an interface that already runs an XDP program sluice did not attach under this pin
 * root (an own attachment was ruled out before): the kernel allows one per interface and mode,
 * and replacing someone's program is not ours to do. Returns 0 or -EBUSY (reported).
 */
static int sl_xdp_foreign(const struct sl_attach_req *req, __u32 ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info), id;
	const char *mode = "native", *ipmode = "xdp";
	char ip[80] = "ip";
	int fd;

	if (bpf_xdp_query(ifindex, 0, &q))
		return 0; /* cannot tell: the attach itself will say */
	id = q.drv_prog_id;
	if (!id && (id = q.hw_prog_id)) {
		mode = "offload";
		ipmode = "xdpoffload";
	} else if (!id && (id = q.skb_prog_id)) {
		mode = "generic";
		ipmode = "xdpgeneric";
	}
	if (!id)
		return 0;
	/* The name needs CAP_SYS_ADMIN (BPF_PROG_GET_FD_BY_ID); the id alone is enough. */
	fd = bpf_prog_get_fd_by_id(id);
	if (fd >= 0) {
		if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
			info.name[0] = '\0';
		close(fd);
	}
	if (req->netns)
		snprintf(ip, sizeof(ip), "ip -n %s", req->netns);
	pr_warn("another XDP program is attached to %s (id %u%s%s, %s mode): detach it "
		"(`%s link set dev %s %s off`) or attach sluice with --hook tc\n", req->ifname, id,
		info.name[0] ? ", name " : "", info.name, mode, ip, req->ifname, ipmode);
	return -EBUSY;
}

static void sl_link_pin_path(char *buf, size_t len, const char *pin_root,
			     const struct sl_attach_key *k)
{
	char name[64];

	snprintf(name, sizeof(name), "xdp_%llu_%u", (unsigned long long)k->netns_ino, k->ifindex);
	sl_pin_path(buf, len, pin_root, SL_PIN_LINKS_DIR, name);
}

static int sl_attach_xdp(const char *pin_root, const struct sl_attach_req *req, int prog_fd,
			 const struct sl_attach_key *k)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	char path[512];
	int fd, err;

	lo.flags = req->mode == SL_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fd = bpf_link_create(prog_fd, k->ifindex, BPF_XDP, &lo);
	if (fd < 0) {
		err = -errno;
		if (sl_xdp_foreign(req, k->ifindex))
			return -EBUSY; /* attached since the check before loading */
		if (req->mode == SL_MODE_NATIVE && (err == -EOPNOTSUPP || err == -EINVAL)) {
			char drv[32];

			sl_iface_driver(req->ifname, drv, sizeof(drv));
			pr_warn("the driver of %s%s%s%s has no native XDP support: attach with --mode "
				"skb (generic XDP, any driver, slower) or --hook tc\n", req->ifname,
				drv[0] ? " (" : "", drv, drv[0] ? ")" : "");
		} else {
			pr_warn("cannot attach XDP to %s: %s\n", req->ifname, strerror(-err));
		}
		return err;
	}
	sl_link_pin_path(path, sizeof(path), pin_root, k);
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		pr_warn("cannot pin the XDP link at %s: %s\n", path, strerror(errno));
		close(fd); /* unpinned link: closing detaches */
		return err;
	}
	close(fd);
	return 0;
}

static int sl_attach_tc(const struct sl_attach_req *req, int prog_fd, __u32 ifindex,
			struct sl_attach *rec)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, to, .handle = SL_TC_HANDLE, .priority = SL_TC_PRIO,
		    .prog_fd = prog_fd);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_warn("cannot add a clsact qdisc to %s: %s\n", req->ifname, strerror(-err));
		return err;
	}
	rec->created_qdisc = err == 0;
	err = bpf_tc_attach(&hook, &to);
	if (err) {
		if (err == -EEXIST)
			pr_warn("a tc filter with sluice's handle 0x%x prio %d is already on %s "
				"ingress: `sluice detach %s` or `tc filter del dev %s ingress`\n",
				SL_TC_HANDLE, SL_TC_PRIO, req->ifname, req->ifname, req->ifname);
		else
			pr_warn("cannot attach the tc program to %s: %s\n", req->ifname,
				strerror(-err));
		return err;
	}
	rec->tc_handle = to.handle;
	rec->tc_prio = to.priority;
	rec->prog_id = to.prog_id;
	return 0;
}

/*
 * The egress filter that counts response bytes (sluice_tc_egress), on either hook. Optional:
 * without it the HTTP layer works, only bytes_out stays 0, so failure is a warning.
 */
static void sl_attach_egress(const struct sl_attach_req *req, int prog_fd, __u32 ifindex,
			     struct sl_attach *rec)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, to, .handle = SL_TC_HANDLE, .priority = SL_TC_PRIO,
		    .prog_fd = prog_fd);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (!err || err == -EEXIST)
		err = bpf_tc_attach(&hook, &to);
	if (err) {
		pr_warn("warning: cannot attach the egress filter to %s (%s): response bytes of "
			"the HTTP layer are not counted there\n", req->ifname, strerror(-err));
		return;
	}
	rec->egress_prog_id = to.prog_id;
}

static __u32 sl_iface_mtu(const char *ifname)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), mtu = 0;

	/* An ioctl, not /sys/class/net: after --netns, /sys still shows the host's namespace. */
	if (fd < 0)
		return 0;
	sl_strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
	if (!ioctl(fd, SIOCGIFMTU, &ifr))
		mtu = ifr.ifr_mtu;
	close(fd);
	return mtu > 0 ? mtu : 0;
}

/* sl_config.max_mtu := the largest MTU recorded over all attachments. */
static int sl_update_max_mtu(int attach_fd, int config_fd)
{
	struct sl_attach_key cur, next;
	struct sl_config cfg;
	struct sl_attach a;
	bool first = true;
	__u32 mtu = 0;
	int err;

	while (!bpf_map_get_next_key(attach_fd, first ? NULL : &cur, &next)) {
		first = false;
		cur = next;
		if (!bpf_map_lookup_elem(attach_fd, &cur, &a) && a.mtu > mtu)
			mtu = a.mtu;
	}
	if ((err = sl_config_read(config_fd, &cfg)))
		return err;
	if (cfg.max_mtu == mtu)
		return 0;
	cfg.max_mtu = mtu;
	return sl_config_write(config_fd, &cfg);
}

int sl_attach_iface(const char *pin_root, const struct sl_attach_req *req)
{
	struct sl_attach_key k = { .netns_ino = sl_netns_ino() };
	struct sl_attach rec = {};
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info);
	struct sluice *skel = NULL;
	struct sl_maps m;
	int err, prog_fd;

	k.ifindex = sl_iface_index(req->ifname, req->netns);
	if (!k.ifindex)
		return -ENODEV;
	if (sl_pins_exist(pin_root) && sl_maps_open(pin_root, &m) == 0) {
		struct sl_attach cur;

		err = bpf_map_lookup_elem(m.attach, &k, &cur);
		sl_maps_close(&m);
		if (!err) {
			char t[32];

			pr_warn("sluice is already attached to %s (%s, since %s): `sluice detach %s` "
				"first to change hook or mode\n", req->ifname, sl_hook_name(cur.hook),
				sl_fmt_time(cur.attached_ns, t, sizeof(t)), req->ifname);
			return -EEXIST;
		}
	}

	if (req->hook == SL_HOOK_XDP && (err = sl_xdp_foreign(req, k.ifindex)))
		return err;

	err = sl_load(pin_root, req->table_size, req->hook, &skel);
	if (err)
		return err;
	prog_fd = bpf_program__fd(req->hook == SL_HOOK_TC ? skel->progs.sluice_tc
							  : skel->progs.sluice_xdp);
	if (req->hook == SL_HOOK_TC) {
		err = sl_attach_tc(req, prog_fd, k.ifindex, &rec);
	} else {
		err = sl_attach_xdp(pin_root, req, prog_fd, &k);
		if (!bpf_obj_get_info_by_fd(prog_fd, &info, &ilen))
			rec.prog_id = info.id;
	}
	if (err)
		goto out;
	sl_attach_egress(req, bpf_program__fd(skel->progs.sluice_tc_egress), k.ifindex, &rec);

	sl_strlcpy(rec.ifname, req->ifname, sizeof(rec.ifname));
	sl_strlcpy(rec.netns, req->netns ? req->netns : "", sizeof(rec.netns));
	rec.hook = req->hook;
	rec.mode = req->mode;
	rec.attached_ns = sl_realtime_ns();
	rec.mtu = sl_iface_mtu(req->ifname);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.sl_attach_v2), &k, &rec, BPF_ANY)) {
		err = -errno;
		pr_warn("attached, but cannot record it (%s): `sluice detach` will not find it\n",
			strerror(errno));
	}
	sl_update_max_mtu(bpf_map__fd(skel->maps.sl_attach_v2),
			  bpf_map__fd(skel->maps.sl_config_v1));
out:
	sl_unload(skel);
	return err;
}

int sl_attach_find(const struct sl_maps *m, const char *ifname, struct sl_attach_key *k,
		   struct sl_attach *a)
{
	struct sl_attach_key cur, next;
	__u64 ino = sl_netns_ino();
	bool first = true;

	/* By name rather than ifindex: the interface may already be gone. */
	while (!bpf_map_get_next_key(m->attach, first ? NULL : &cur, &next)) {
		first = false;
		cur = next;
		if (cur.netns_ino != ino || bpf_map_lookup_elem(m->attach, &cur, a))
			continue;
		if (!strncmp(a->ifname, ifname, sizeof(a->ifname))) {
			*k = cur;
			return 0;
		}
	}
	return -ENOENT;
}

bool sl_attach_alive(const char *pin_root, const struct sl_attach_key *k,
		     const struct sl_attach *a)
{
	char path[512];

	if (a->hook == SL_HOOK_XDP) {
		sl_link_pin_path(path, sizeof(path), pin_root, k);
		return access(path, F_OK) == 0;
	}
	if (k->netns_ino != sl_netns_ino())
		return true; /* cannot look into another namespace from here; trust the record */
	{
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = k->ifindex,
			    .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, to, .handle = a->tc_handle, .priority = a->tc_prio);

		return bpf_tc_query(&hook, &to) == 0 && to.prog_id == a->prog_id;
	}
}

/* Remove sluice's filter at one clsact attach point, if it still runs program prog_id. */
static int sl_detach_tc(const struct sl_attach_key *k, const struct sl_attach *a,
			enum bpf_tc_attach_point point, __u32 prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = k->ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, to, .handle = a->tc_handle, .priority = a->tc_prio);
	int err;

	if (point == BPF_TC_EGRESS) {
		to.handle = SL_TC_HANDLE;
		to.priority = SL_TC_PRIO;
	}
	err = bpf_tc_query(&hook, &to);
	if (err == -ENOENT || err == -ENODEV || err == -EINVAL)
		return 0; /* already gone, e.g. with its interface */
	if (err)
		return err;
	if (to.prog_id != prog_id) {
		pr_warn("the tc filter 0x%x on %s %s runs program %u, not sluice's %u: left alone\n",
			to.handle, a->ifname, point == BPF_TC_EGRESS ? "egress" : "ingress",
			to.prog_id, prog_id);
		return 0;
	}
	to.prog_id = 0;
	to.prog_fd = 0;
	to.flags = 0;
	/*
	 * The clsact qdisc is left in place even if sluice created it: destroying it would also
	 * remove any filter someone else added since. It costs nothing when empty.
	 */
	return bpf_tc_detach(&hook, &to);
}

/* The TC filters of an attachment: ingress (TC hook) and egress (either hook). */
static int sl_detach_filters(const struct sl_attach_key *k, const struct sl_attach *a)
{
	int err = 0, e;

	if (a->hook == SL_HOOK_TC)
		err = sl_detach_tc(k, a, BPF_TC_INGRESS, a->prog_id);
	if (!err && a->egress_prog_id &&
	    (e = sl_detach_tc(k, a, BPF_TC_EGRESS, a->egress_prog_id)))
		pr_warn("warning: cannot remove the egress filter from %s: %s; `tc filter del "
			"dev %s egress` removes it\n", a->ifname, strerror(-e), a->ifname);
	return err;
}

int sl_detach_entry(const char *pin_root, const struct sl_maps *m,
		    const struct sl_attach_key *k, const struct sl_attach *a)
{
	char path[512];
	int fd, err = 0;

	if (a->hook == SL_HOOK_XDP) {
		sl_link_pin_path(path, sizeof(path), pin_root, k);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			/* Detach even if something else holds the link open. */
			if (bpf_link_detach(fd) && errno != ENOLINK && errno != EINVAL)
				err = -errno;
			close(fd);
		}
		if (!err && unlink(path) && errno != ENOENT)
			err = -errno;
	}
	if (!err && (a->hook == SL_HOOK_TC || a->egress_prog_id)) {
		if (k->netns_ino == sl_netns_ino()) {
			err = sl_detach_filters(k, a);
		} else if (a->netns[0]) {
			/* TC filters in another namespace: go there, as attach did. */
			int self = open("/proc/self/ns/net", O_RDONLY);

			err = sl_netns_enter(a->netns);
			if (!err) {
				err = sl_detach_filters(k, a);
				if (self >= 0)
					setns(self, CLONE_NEWNET);
			}
			if (self >= 0)
				close(self);
		}
	}
	if (err) {
		pr_warn("cannot detach from %s: %s\n", a->ifname, strerror(-err));
		return err;
	}
	bpf_map_delete_elem(m->attach, k);
	sl_update_max_mtu(m->attach, m->config);
	return 0;
}
