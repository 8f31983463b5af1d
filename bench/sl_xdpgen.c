// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sl_xdpgen: send UDP frames from N sources out of a veth with BPF_PROG_TEST_RUN live frames. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xdpgen.skel.h"

#define MAX_DURATION 60
#define MAX_FRAME    1500
#define CALL_NS      (50 * 1000000ULL) /* aim each test-run call at 50 ms */

struct gen_opts {
	const char *dev;
	const char *idle_dev;
	const char *src, *dst;
	const char *src_mac, *dst_mac;
	__u32 sources;
	__u32 size;
	__u16 sport, dport;
	double duration;
	int cpu;
	__u32 batch;
	__u64 rate;
	bool redirect;
	bool json;
	bool verbose;
};

/* Mirror of struct gen_state in xdpgen.bpf.c. */
struct gen_state {
	__u64 seq, sent, paced, next_ns;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sl_xdpgen --dev IFACE --src ADDR --dst ADDR [options]\n"
		"Sends Ethernet/IP/UDP frames out of IFACE (a veth: its peer receives them) with\n"
		"BPF_PROG_TEST_RUN in live-frames mode, cycling the source over N addresses.\n"
		"Run it in the sender's network namespace (nsenter --net=/run/netns/NAME).\n"
		"  --dev IFACE       device the frames leave by\n"
		"  --idle-dev IFACE  idle device that holds the program attached during the run;\n"
		"                    without it every test-run call pays ~20 ms of synchronisation\n"
		"  --src ADDR        first source address (IPv4, or IPv6: the sources differ in\n"
		"                    bits 32..63, one /64 each)\n"
		"  --dst ADDR        destination address (same family)\n"
		"  --src-mac MAC     default: IFACE's address\n"
		"  --dst-mac MAC     default: ff:ff:ff:ff:ff:ff (give the peer's for unicast)\n"
		"  --sources N       number of source addresses, default 1\n"
		"  --size BYTES      frame size without FCS, default 60 (IPv4) / 62 (IPv6)\n"
		"  --sport/--dport P UDP ports, default 40000 / 9\n"
		"  --duration SEC    how long to send, default 5, at most %d\n"
		"  --cpu N           pin to CPU N (the receiver's veth XDP runs on the same CPU\n"
		"                    unless its NAPI is threaded)\n"
		"  --batch N         frames per batch, 1..256, default 64\n"
		"  --rate PPS        pace inside the program (per CPU); default 0: as fast as possible\n"
		"  --redirect        bpf_redirect(IFACE) instead of XDP_TX (same path, for checking)\n"
		"  --json            one JSON object on stdout\n"
		"  -v                libbpf warnings and per-call progress on stderr\n",
		MAX_DURATION);
}

static int parse_mac(const char *s, __u8 mac[ETH_ALEN])
{
	unsigned int b[ETH_ALEN];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (i = 0; i < ETH_ALEN; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = b[i];
	}
	return 0;
}

static int dev_mac(const char *dev, __u8 mac[ETH_ALEN])
{
	struct ifreq ifr = {};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(fd);
	return err;
}

static __u32 csum_add(__u32 sum, const void *buf, size_t len)
{
	const __u8 *p = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (__u32)p[len - 1] << 8;
	return sum;
}

/* Folded, complemented, in network byte order. */
static __u16 csum_finish(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((__u16)~sum);
}

/*
 * Build the template frame with the first source address. Returns its length, or a negative
 * errno. *is6 tells the family, *csum_off where the checksum the program adjusts lives, and
 * *addr_off the 32-bit address word it rewrites.
 */
static int build_frame(const struct gen_opts *o, const __u8 smac[ETH_ALEN],
		       const __u8 dmac[ETH_ALEN], __u8 *buf, bool *is6, int *addr_off,
		       int *csum_off)
{
	struct in6_addr s6, d6;
	struct in_addr s4, d4;
	struct ethhdr *eth = (void *)buf;
	struct udphdr *udp;
	int l3len, len;

	memset(buf, 0, MAX_FRAME);
	memcpy(eth->h_dest, dmac, ETH_ALEN);
	memcpy(eth->h_source, smac, ETH_ALEN);

	if (inet_pton(AF_INET, o->src, &s4) == 1) {
		struct iphdr *ip = (void *)(eth + 1);

		if (inet_pton(AF_INET, o->dst, &d4) != 1)
			return -EINVAL;
		len = o->size ? o->size : 60;
		if (len < ETH_HLEN + 20 + 8 || len > MAX_FRAME)
			return -ERANGE;
		*is6 = false;
		eth->h_proto = htons(ETH_P_IP);
		l3len = len - ETH_HLEN;
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons(l3len);
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->saddr = s4.s_addr;
		ip->daddr = d4.s_addr;
		ip->check = csum_finish(csum_add(0, ip, sizeof(*ip)));
		udp = (void *)(ip + 1);
		udp->source = htons(o->sport);
		udp->dest = htons(o->dport);
		udp->len = htons(l3len - sizeof(*ip));
		udp->check = 0; /* IPv4: no checksum */
		*addr_off = (__u8 *)&ip->saddr - buf;
		*csum_off = (__u8 *)&ip->check - buf;
		return len;
	}
	if (inet_pton(AF_INET6, o->src, &s6) == 1) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		__u32 sum, plen;

		if (inet_pton(AF_INET6, o->dst, &d6) != 1)
			return -EINVAL;
		len = o->size ? o->size : 62;
		if (len < ETH_HLEN + 40 + 8 || len > MAX_FRAME)
			return -ERANGE;
		*is6 = true;
		eth->h_proto = htons(ETH_P_IPV6);
		plen = len - ETH_HLEN - sizeof(*ip6);
		ip6->version = 6;
		ip6->payload_len = htons(plen);
		ip6->nexthdr = IPPROTO_UDP;
		ip6->hop_limit = 64;
		ip6->saddr = s6;
		ip6->daddr = d6;
		udp = (void *)(ip6 + 1);
		udp->source = htons(o->sport);
		udp->dest = htons(o->dport);
		udp->len = htons(plen);
		sum = csum_add(0, &ip6->saddr, 32);
		sum += plen + IPPROTO_UDP;
		sum = csum_add(sum, udp, plen);
		udp->check = csum_finish(sum);
		if (!udp->check)
			udp->check = 0xffff;
		*addr_off = (__u8 *)&ip6->saddr + 4 - buf;
		*csum_off = (__u8 *)&udp->check - buf;
		return len;
	}
	return -EINVAL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_args(int argc, char **argv, struct gen_opts *o)
{
	static const struct option longopts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "idle-dev", required_argument, NULL, 'I' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'D' },
		{ "src-mac", required_argument, NULL, 'm' },
		{ "dst-mac", required_argument, NULL, 'M' },
		{ "sources", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 'z' },
		{ "sport", required_argument, NULL, 'p' },
		{ "dport", required_argument, NULL, 'P' },
		{ "duration", required_argument, NULL, 't' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "batch", required_argument, NULL, 'b' },
		{ "rate", required_argument, NULL, 'r' },
		{ "redirect", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	char *end;
	int c;

	*o = (struct gen_opts){ .sources = 1, .sport = 40000, .dport = 9, .duration = 5,
				.cpu = -1, .batch = 64 };
	while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		errno = 0;
		end = NULL;
		switch (c) {
		case 'd': o->dev = optarg; break;
		case 'I': o->idle_dev = optarg; break;
		case 's': o->src = optarg; break;
		case 'D': o->dst = optarg; break;
		case 'm': o->src_mac = optarg; break;
		case 'M': o->dst_mac = optarg; break;
		case 'n': o->sources = strtoul(optarg, &end, 0); break;
		case 'z': o->size = strtoul(optarg, &end, 0); break;
		case 'p': o->sport = strtoul(optarg, &end, 0); break;
		case 'P': o->dport = strtoul(optarg, &end, 0); break;
		case 't': o->duration = strtod(optarg, &end); break;
		case 'c': o->cpu = strtol(optarg, &end, 0); break;
		case 'b': o->batch = strtoul(optarg, &end, 0); break;
		case 'r': o->rate = strtoull(optarg, &end, 0); break;
		case 'R': o->redirect = true; break;
		case 'j': o->json = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
		if (end && (*end || errno)) {
			fprintf(stderr, "sl_xdpgen: bad number '%s'\n", optarg);
			return -EINVAL;
		}
	}
	if (optind != argc || !o->dev || !o->src || !o->dst) {
		usage(stderr);
		return -EINVAL;
	}
	if (o->sources < 1 || o->sources > (1u << 24)) {
		fprintf(stderr, "sl_xdpgen: --sources must be 1..%u\n", 1u << 24);
		return -EINVAL;
	}
	if (!(o->duration > 0 && o->duration <= MAX_DURATION)) {
		fprintf(stderr, "sl_xdpgen: --duration must be in (0, %d]\n", MAX_DURATION);
		return -EINVAL;
	}
	if (o->batch < 1 || o->batch > 256) {
		fprintf(stderr, "sl_xdpgen: --batch must be 1..256\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	__u8 frame[MAX_FRAME], smac[ETH_ALEN], dmac[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct xdpgen *skel = NULL;
	struct bpf_link *idle_link = NULL;
	struct gen_opts o;
	struct gen_state *st = NULL;
	struct gen_state tot = {};
	int ifindex, idle_ifindex = 0, len, addr_off, csum_off, ncpu, i, err, ret = 1;
	__u64 calls = 0, repeat = 1 << 16;
	double t0, t1, deadline, elapsed;
	bool is6;
	__u32 addr;

	if (parse_args(argc, argv, &o))
		return 2;
	if (!o.verbose)
		libbpf_set_print(libbpf_print);

	ifindex = if_nametoindex(o.dev);
	if (!ifindex) {
		fprintf(stderr, "sl_xdpgen: no device %s in this network namespace\n", o.dev);
		return 1;
	}
	if (o.idle_dev) {
		idle_ifindex = if_nametoindex(o.idle_dev);
		if (!idle_ifindex) {
			fprintf(stderr, "sl_xdpgen: no device %s\n", o.idle_dev);
			return 1;
		}
	}
	if (o.src_mac ? parse_mac(o.src_mac, smac) : dev_mac(o.dev, smac)) {
		fprintf(stderr, "sl_xdpgen: cannot get the source MAC\n");
		return 1;
	}
	if (o.dst_mac && parse_mac(o.dst_mac, dmac)) {
		fprintf(stderr, "sl_xdpgen: bad --dst-mac %s\n", o.dst_mac);
		return 1;
	}
	len = build_frame(&o, smac, dmac, frame, &is6, &addr_off, &csum_off);
	if (len < 0) {
		fprintf(stderr, "sl_xdpgen: bad addresses or --size (%s)\n", strerror(-len));
		return 1;
	}
	if (o.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(o.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			fprintf(stderr, "sl_xdpgen: cannot pin to CPU %d: %s\n", o.cpu, strerror(errno));
			return 1;
		}
	}

	skel = xdpgen__open();
	if (!skel) {
		fprintf(stderr, "sl_xdpgen: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	memcpy(&addr, frame + addr_off, 4);
	skel->rodata->n_sources = o.sources;
	skel->rodata->is_ipv6 = is6;
	skel->rodata->base_addr = ntohl(addr);
	memcpy((void *)&skel->rodata->base_csum, frame + csum_off, 2);
	memcpy((void *)&skel->rodata->base_w0, frame + addr_off, 2);
	memcpy((void *)&skel->rodata->base_w1, frame + addr_off + 2, 2);
	skel->rodata->interval_ns = o.rate ? 1000000000ULL / o.rate : 0;
	skel->rodata->redirect_ifindex = o.redirect ? ifindex : 0;
	if ((__u64)ntohl(addr) + o.sources - 1 > UINT32_MAX) {
		fprintf(stderr, "sl_xdpgen: --src + --sources wraps around\n");
		goto cleanup;
	}
	err = xdpgen__load(skel);
	if (err) {
		fprintf(stderr, "sl_xdpgen: cannot load the BPF program: %s\n", strerror(-err));
		goto cleanup;
	}
	/* Attached anywhere, the program stays in the XDP dispatcher between test-run calls. */
	if (idle_ifindex) {
		idle_link = bpf_program__attach_xdp(skel->progs.xdpgen, idle_ifindex);
		if (!idle_link) {
			fprintf(stderr, "sl_xdpgen: cannot attach to %s: %s\n", o.idle_dev,
				strerror(errno));
			goto cleanup;
		}
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	t0 = now_s();
	deadline = t0 + o.duration;
	for (t1 = t0; !stop && t1 < deadline;) {
		/* The kernel wants data_end = frame length and no metadata in ctx_in. */
		struct xdp_md ctx_in = { .data_end = len, .ingress_ifindex = ifindex };
		LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = frame, .data_size_in = len,
			    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in),
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = o.batch);
		double tc = t1, rate;

		topts.repeat = repeat;
		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdpgen), &topts);
		t1 = now_s();
		if (err && errno != EINTR) {
			fprintf(stderr, "sl_xdpgen: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
			goto cleanup;
		}
		calls++;
		/* Size the next call to ~50 ms, or to what is left of the run. */
		rate = repeat / (t1 - tc > 1e-6 ? t1 - tc : 1e-6);
		{
			double left = deadline - t1, span = CALL_NS / 1e9;
			double want = rate * (left < span ? left : span);

			repeat = want < o.batch ? o.batch : want > (1u << 30) ? (1u << 30) : want;
		}
		if (o.verbose)
			fprintf(stderr, "call %llu: %.2f Mpps, next repeat %llu\n",
				(unsigned long long)calls, rate / 1e6, (unsigned long long)repeat);
	}
	elapsed = t1 - t0;

	ncpu = libbpf_num_possible_cpus();
	st = calloc(ncpu, sizeof(*st));
	i = 0;
	if (!st || bpf_map_lookup_elem(bpf_map__fd(skel->maps.gen_state), &i, st)) {
		fprintf(stderr, "sl_xdpgen: cannot read the counters\n");
		goto cleanup;
	}
	for (i = 0; i < ncpu; i++) {
		tot.seq += st[i].seq;
		tot.sent += st[i].sent;
		tot.paced += st[i].paced;
	}
	if (o.json)
		printf("{\"sent\":%llu,\"seen\":%llu,\"paced\":%llu,\"elapsed_s\":%.6f,"
		       "\"pps\":%.0f,\"calls\":%llu,\"sources\":%u,\"frame_bytes\":%d,"
		       "\"family\":%d,\"interrupted\":%s}\n",
		       (unsigned long long)tot.sent, (unsigned long long)tot.seq,
		       (unsigned long long)tot.paced, elapsed, tot.sent / elapsed,
		       (unsigned long long)calls, o.sources, len, is6 ? 6 : 4,
		       stop ? "true" : "false");
	else
		printf("sent %llu frames (%d bytes, IPv%d, %u sources) in %.3f s: %.3f Mpps"
		       " (%llu test-run calls%s)\n",
		       (unsigned long long)tot.sent, len, is6 ? 6 : 4, o.sources, elapsed,
		       tot.sent / elapsed / 1e6, (unsigned long long)calls,
		       stop ? ", interrupted" : "");
	ret = 0;
cleanup:
	free(st);
	bpf_link__destroy(idle_link);
	xdpgen__destroy(skel);
	return ret;
}
