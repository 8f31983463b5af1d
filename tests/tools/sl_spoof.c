// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Sends UDP frames with spoofed IPv4/IPv6 source addresses through AF_PACKET, for flood tests. */
#include "sl_tools.h"

#include <getopt.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#define BATCH	     64
#define MAX_SOURCES  (1U << 24)
#define MAX_PAYLOAD  1400
#define FRAME_MAX    (ETH_HLEN + sizeof(struct ip6_hdr) + sizeof(struct udphdr) + MAX_PAYLOAD)

static const char usage[] =
	"usage: sl_spoof --ifname IF --dst-mac MAC --dst ADDR --port P [-6] [--src-net CIDR]\n"
	"                [--sources N] [--count N] [--duration SEC] [--rate PPS] [--seed S]\n"
	"                [--sport P] [--size BYTES] [--cpu N] [--json]\n"
	"  --ifname IF      send on IF (its own MAC is the source MAC)\n"
	"  --dst-mac MAC    destination MAC, aa:bb:cc:dd:ee:ff\n"
	"  --dst ADDR       destination IPv4 or IPv6 address\n"
	"  --port P         destination UDP port\n"
	"  -6               IPv6 (implied by an IPv6 --dst)\n"
	"  --src-net CIDR   spoofed sources are drawn from here\n"
	"                   (default 198.18.0.0/15, or 2001:db8::/32 for IPv6)\n"
	"  --sources N      cycle over N distinct sources (IPv6: distinct /64s while the net\n"
	"                   has room); default: a random source for every packet\n"
	"  --count N        stop after N packets\n"
	"  --duration SEC   stop after SEC seconds (capped at 120); one of the two is required\n"
	"  --rate PPS       packets per second; 0 = as fast as possible (default)\n"
	"  --seed S         random seed (default: time-based; printed in the report)\n"
	"  --sport P        UDP source port; 0 = random per packet (default)\n"
	"  --size BYTES     UDP payload bytes (default 18: a 60-byte IPv4 frame; max 1400)\n"
	"  --cpu N          pin to CPU N (XDP on a veth peer runs on the sending CPU)\n"
	"  --json           print the report as one JSON object\n";

static struct {
	const char *ifname;
	const char *dst;
	const char *src_net;
	uint8_t dst_mac[6];
	bool have_mac;
	uint16_t port;
	bool have_port;
	bool v6;
	uint64_t sources;
	bool have_count;
	uint64_t count;
	bool have_duration;
	double duration;
	double rate;
	bool have_seed;
	uint64_t seed;
	uint16_t sport;
	unsigned int size;
	int cpu;
	bool json;
} o = { .size = 18, .cpu = -1 };

/* Source network: addr (network byte order, 4 or 16 bytes used) and prefix length. */
static uint8_t net_addr[16], dst_addr[16];
static unsigned int net_plen, addr_len;

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A bijection on [0, 2^bits): odd multiply and xor-shifts, all mod 2^bits. */
static uint64_t permute(uint64_t x, unsigned int bits, uint64_t key)
{
	uint64_t mask = bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
	int r;

	if (!bits)
		return 0;
	for (r = 0; r < 3; r++) {
		x = (x * ((key | 1) & mask)) & mask;
		x = (x + (key >> 17)) & mask;
		x ^= x >> (bits / 2 + 1);
		key = key * 6364136223846793005ULL + 1442695040888963407ULL;
	}
	return x & mask;
}

static void parse_mac(const char *s)
{
	unsigned int b[6], i;
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		sl_die("bad --dst-mac '%s' (aa:bb:cc:dd:ee:ff)", s);
	for (i = 0; i < 6; i++) {
		if (b[i] > 255)
			sl_die("bad --dst-mac '%s'", s);
		o.dst_mac[i] = b[i];
	}
	o.have_mac = true;
}

static void parse_net(const char *cidr)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	int af = o.v6 ? AF_INET6 : AF_INET;
	unsigned int bits = o.v6 ? 128 : 32, i;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	if (!slash)
		sl_die("--src-net '%s' needs a /prefix", cidr);
	*slash = 0;
	if (inet_pton(af, buf, net_addr) != 1)
		sl_die("--src-net '%s' is not an %s prefix", cidr, o.v6 ? "IPv6" : "IPv4");
	net_plen = sl_parse_u64(slash + 1, "--src-net prefix length", bits);
	for (i = net_plen; i < bits; i++) /* clear host bits */
		net_addr[i / 8] &= ~(0x80 >> (i % 8));
}

static void parse_args(int argc, char **argv)
{
	enum { O_IF = 256, O_MAC, O_DST, O_PORT, O_NET, O_SOURCES, O_COUNT, O_DUR, O_RATE,
	       O_SEED, O_SPORT, O_SIZE, O_CPU, O_JSON };
	static const struct option lo[] = {
		{ "ifname", required_argument, NULL, O_IF },
		{ "dst-mac", required_argument, NULL, O_MAC },
		{ "dst", required_argument, NULL, O_DST },
		{ "port", required_argument, NULL, O_PORT },
		{ "src-net", required_argument, NULL, O_NET },
		{ "sources", required_argument, NULL, O_SOURCES },
		{ "count", required_argument, NULL, O_COUNT },
		{ "duration", required_argument, NULL, O_DUR },
		{ "rate", required_argument, NULL, O_RATE },
		{ "seed", required_argument, NULL, O_SEED },
		{ "sport", required_argument, NULL, O_SPORT },
		{ "size", required_argument, NULL, O_SIZE },
		{ "cpu", required_argument, NULL, O_CPU },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "6h", lo, NULL)) != -1) {
		switch (c) {
		case O_IF: o.ifname = optarg; break;
		case O_MAC: parse_mac(optarg); break;
		case O_DST: o.dst = optarg; break;
		case O_PORT:
			o.port = sl_parse_u64(optarg, "--port", 65535);
			o.have_port = true;
			break;
		case O_NET: o.src_net = optarg; break;
		case O_SOURCES: o.sources = sl_parse_u64(optarg, "--sources", MAX_SOURCES); break;
		case O_COUNT:
			o.count = sl_parse_u64(optarg, "--count", UINT64_MAX / 2);
			o.have_count = true;
			break;
		case O_DUR:
			o.duration = sl_parse_seconds(optarg, "--duration");
			o.have_duration = true;
			break;
		case O_RATE: o.rate = sl_parse_u64(optarg, "--rate", 100000000); break;
		case O_SEED:
			o.seed = sl_parse_u64(optarg, "--seed", UINT64_MAX);
			o.have_seed = true;
			break;
		case O_SPORT: o.sport = sl_parse_u64(optarg, "--sport", 65535); break;
		case O_SIZE: o.size = sl_parse_u64(optarg, "--size", MAX_PAYLOAD); break;
		case O_CPU: o.cpu = sl_parse_u64(optarg, "--cpu", CPU_SETSIZE - 1); break;
		case O_JSON: o.json = true; break;
		case '6': o.v6 = true; break;
		case 'h': fputs(usage, stdout); exit(0);
		default: fputs(usage, stderr); exit(2);
		}
	}
	if (optind < argc)
		sl_die("unexpected argument '%s'", argv[optind]);
	if (!o.ifname || !o.have_mac || !o.dst || !o.have_port)
		sl_die("--ifname, --dst-mac, --dst and --port are required (see --help)");
	if (strchr(o.dst, ':'))
		o.v6 = true;
	addr_len = o.v6 ? 16 : 4;
	if (inet_pton(o.v6 ? AF_INET6 : AF_INET, o.dst, dst_addr) != 1)
		sl_die("--dst '%s' is not a numeric %s address", o.dst, o.v6 ? "IPv6" : "IPv4");
	parse_net(o.src_net ? o.src_net : o.v6 ? "2001:db8::/32" : "198.18.0.0/15");
	if (!o.v6 && net_plen < 32 && o.sources > (1ULL << (32 - net_plen)))
		sl_die("--sources %" PRIu64 " exceeds the %u addresses of --src-net", o.sources,
		       1U << (32 - net_plen));
	if (o.v6 && 128 - net_plen < 32 && o.sources > (1ULL << (128 - net_plen)))
		sl_die("--sources %" PRIu64 " exceeds the addresses of --src-net", o.sources);
	if ((o.v6 ? 128 : 32) == net_plen && o.sources > 1)
		sl_die("--src-net is a single address: --sources must be 1");
	if (o.have_count && !o.count)
		sl_die("--count must be at least 1");
	if (!o.have_seed)
		o.seed = sl_mono_ns() ^ ((uint64_t)getpid() << 32);
}

/* ORs a host value into addr from bit position `from` (MSB first) over `bits` bits. */
static void put_bits(uint8_t *addr, unsigned int from, unsigned int bits, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < bits; i++) {
		unsigned int pos = from + bits - 1 - i;

		if (v & (1ULL << i))
			addr[pos / 8] |= 0x80 >> (pos % 8);
	}
}

/*
 * Source number idx (0..N-1) to an address in the source net. Distinct indices map to
 * distinct addresses: a bijection fills the host bits. IPv6 puts the index into the bits
 * between the prefix and /64 first (distinct /64s), the rest into the interface id.
 */
static void source_addr(uint64_t idx, uint8_t *out)
{
	unsigned int host = addr_len * 8 - net_plen;
	uint64_t s = o.seed ^ (idx * 0xd1b54a32d192ed03ULL);

	memcpy(out, net_addr, addr_len);
	if (!o.v6) {
		put_bits(out, net_plen, host, permute(idx, host, o.seed));
		return;
	}
	if (net_plen < 64) {
		unsigned int k = 64 - net_plen;
		uint64_t lo_bits = k >= 64 ? idx : idx >> k;
		uint64_t hi = permute(k >= 64 ? idx : idx & ((1ULL << k) - 1), k, o.seed);

		put_bits(out, net_plen, k, hi);
		/* interface id: random top half, the index overflow in the low 32 bits */
		put_bits(out, 64, 32, splitmix64(&s) >> 32);
		put_bits(out, 96, 32, lo_bits);
	} else {
		put_bits(out, net_plen, host, permute(idx, host, o.seed));
	}
}

static void random_addr(uint64_t *rng, uint8_t *out)
{
	unsigned int i, host = addr_len * 8 - net_plen;
	uint8_t r[16];
	uint64_t a = splitmix64(rng), b = splitmix64(rng);

	memcpy(r, &a, 8);
	memcpy(r + 8, &b, 8);
	memcpy(out, net_addr, addr_len);
	for (i = net_plen; i < net_plen + host; i++)
		if (r[i / 8] & (0x80 >> (i % 8)))
			out[i / 8] |= 0x80 >> (i % 8);
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

/* Fills frame with Ethernet + IP + UDP for src; returns the frame length. */
static size_t build(uint8_t *f, const uint8_t *mac_src, const uint8_t *src, uint16_t sport,
		    uint16_t ip_id)
{
	struct ethhdr *eth = (struct ethhdr *)f;
	unsigned int l4 = sizeof(struct udphdr) + o.size;
	struct udphdr *udp;
	uint32_t sum;

	memcpy(eth->h_dest, o.dst_mac, 6);
	memcpy(eth->h_source, mac_src, 6);
	if (o.v6) {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)(f + ETH_HLEN);

		eth->h_proto = htons(ETH_P_IPV6);
		memset(ip6, 0, sizeof(*ip6));
		ip6->ip6_flow = htonl(6U << 28);
		ip6->ip6_plen = htons(l4);
		ip6->ip6_nxt = IPPROTO_UDP;
		ip6->ip6_hlim = 64;
		memcpy(&ip6->ip6_src, src, 16);
		memcpy(&ip6->ip6_dst, dst_addr, 16);
		udp = (struct udphdr *)(ip6 + 1);
	} else {
		struct iphdr *ip = (struct iphdr *)(f + ETH_HLEN);

		eth->h_proto = htons(ETH_P_IP);
		memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons(sizeof(*ip) + l4);
		ip->id = htons(ip_id);
		ip->frag_off = htons(IP_DF);
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		memcpy(&ip->saddr, src, 4);
		memcpy(&ip->daddr, dst_addr, 4);
		ip->check = csum_fold(csum_add(0, ip, sizeof(*ip)));
		udp = (struct udphdr *)(ip + 1);
	}
	udp->source = htons(sport);
	udp->dest = htons(o.port);
	udp->len = htons(l4);
	udp->check = 0;
	memset(udp + 1, 'S', o.size);
	/* pseudo-header: addresses, protocol, UDP length */
	sum = csum_add(0, src, addr_len);
	sum = csum_add(sum, dst_addr, addr_len);
	sum += IPPROTO_UDP + l4;
	sum = csum_add(sum, udp, l4);
	udp->check = csum_fold(sum);
	if (!udp->check)
		udp->check = 0xffff; /* zero means "no checksum"; IPv6 forbids it */
	return (uint8_t *)(udp + 1) + o.size - f;
}

static int open_packet_socket(uint8_t *mac)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct ifreq ifr = {};
	int buf = 4 << 20;
	struct timeval tmo = { .tv_usec = 100000 };
	int fd;

	/* Protocol 0: a send-only socket that never queues received frames. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		sl_die("AF_PACKET socket: %s (needs CAP_NET_RAW)", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o.ifname);
	if (ioctl(fd, SIOCGIFINDEX, &ifr))
		sl_die("interface %s: %s", o.ifname, strerror(errno));
	sll.sll_ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		sl_die("MAC of %s: %s", o.ifname, strerror(errno));
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		sl_die("bind to %s: %s", o.ifname, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
	return fd;
}

int main(int argc, char **argv)
{
	static uint8_t frames[BATCH][FRAME_MAX];
	struct mmsghdr msgs[BATCH] = {};
	struct iovec iov[BATCH];
	struct sl_pacer pacer = {};
	struct sl_errs errs = {};
	uint64_t dur_ns, start_ns, end_ns, now, t0, t1, rng, sent = 0, next_src = 0;
	uint64_t first = 0, last = 0;
	unsigned int i, n, want, batch;
	uint16_t ip_id = 0;
	uint8_t mac[6], src[16];
	char fbuf[32], lbuf[32];
	double window;
	int fd, r, err;

	sl_prog = "sl_spoof";
	parse_args(argc, argv);
	dur_ns = sl_bound(o.have_count, o.have_duration, o.duration);
	sl_install_signals();
	if (o.cpu >= 0 && (err = sl_pin_cpu(o.cpu)))
		sl_die("cannot pin to CPU %d: %s", o.cpu, strerror(-err));
	fd = open_packet_socket(mac);
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = frames[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	rng = o.seed;
	batch = sl_pace_batch(o.rate, BATCH);
	start_ns = sl_mono_ns();
	end_ns = start_ns + dur_ns;
	pacer = (struct sl_pacer){ .start_ns = start_ns, .rate = o.rate };

	while (!sl_stop) {
		now = sl_mono_ns();
		if (now >= end_ns)
			break;
		want = batch;
		if (o.have_count && o.count - sent < want)
			want = o.count - sent;
		if (!want)
			break;
		n = sl_pace_due(&pacer, now, want);
		if (!n) {
			sl_pace_wait(&pacer, end_ns);
			continue;
		}
		for (i = 0; i < n; i++) {
			uint16_t sport = o.sport ? o.sport : 1024 + splitmix64(&rng) % 64512;

			if (o.sources) {
				source_addr((next_src + i) % o.sources, src);
			} else {
				random_addr(&rng, src);
			}
			iov[i].iov_len = build(frames[i], mac, src, sport, ip_id++);
		}
		t0 = now;
		r = sendmmsg(fd, msgs, n, 0);
		t1 = sl_mono_ns();
		if (r > 0) {
			if (!first)
				first = t0;
			last = t1;
			sent += r;
			next_src += r;
			pacer.done += r;
			if ((unsigned int)r < n) {
				/* sendmmsg stopped at a failed message and dropped its errno */
				sl_errs_add(&errs, 0, 1);
				pacer.done++;
				next_src++;
			}
			continue;
		}
		err = errno;
		if (err == EINTR)
			continue;
		sl_errs_add(&errs, err, 1);
		pacer.done++;
		next_src++;
		if (err == ENETDOWN || err == ENXIO || err == EINVAL || err == EMSGSIZE)
			break;
		if (err == EAGAIN || err == ENOBUFS || !o.rate)
			sl_sleep_until(sl_mono_ns() + 20000);
	}
	t1 = sl_mono_ns();
	close(fd);

	window = last > first ? (last - first) / 1e9 : 0;
	sl_fmt_ns(fbuf, sizeof(fbuf), first);
	sl_fmt_ns(lbuf, sizeof(lbuf), last);
	if (o.json) {
		printf("{\"mode\":\"spoof\",\"family\":%d,\"ifname\":\"%s\",\"dst\":\"%s\","
		       "\"port\":%u,"
		       "\"src_net\":\"%s\",\"sources\":%" PRIu64 ",\"seed\":%" PRIu64
		       ",\"sent\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"errnos\":{",
		       o.v6 ? 6 : 4, o.ifname, o.dst,
		       o.port, o.src_net ? o.src_net : o.v6 ? "2001:db8::/32" : "198.18.0.0/15",
		       o.sources, o.seed, sent, errs.total);
		sl_errs_print(stdout, &errs, true);
		printf("},\"first\":%s,\"last\":%s,\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64
		       ",\"window\":%.9f,\"elapsed\":%.9f,\"rate\":%.1f}\n",
		       fbuf, lbuf, first, last, window, (t1 - start_ns) / 1e9,
		       window > 0 ? sent / window : 0);
	} else {
		printf("spoof sent=%" PRIu64 " errors=%" PRIu64 " sources=%" PRIu64 " seed=%" PRIu64
		       " first=%s last=%s window=%.6f elapsed=%.6f rate=%.0f/s",
		       sent, errs.total, o.sources, o.seed, fbuf, lbuf, window,
		       (t1 - start_ns) / 1e9, window > 0 ? sent / window : 0);
		sl_errs_print(stdout, &errs, false);
		putchar('\n');
	}
	return sent ? 0 : 1;
}
