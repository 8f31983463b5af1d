// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sl_pktcost: nanoseconds per packet of XDP programs under BPF_PROG_TEST_RUN, interleaved. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define MAX_TARGETS 8
#define MAX_ROUNDS  100
#define MAX_PKTS    8
#define PKT_MAX     512

struct target {
	const char *obj_path; /* NULL: an already loaded program, by id */
	const char *prog_name;
	__u32 prog_id;
	struct bpf_object *obj;
	int prog_fd;
};

struct pkt {
	const char *name;
	__u8 data[PKT_MAX];
	int len;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sl_pktcost [--bare OBJ] [--obj OBJ --prog NAME | --prog-id ID [--label L]]..."
		" [options]\n"
		"Runs each program on crafted UDP/TCP over IPv4/IPv6 packets with BPF_PROG_TEST_RUN\n"
		"(repeat N), programs and packets interleaved, several rounds; prints a Markdown table\n"
		"of ns/packet, median and min-max, and the net cost over bare_pass.\n"
		"  --bare OBJ        object with bare_pass and bare_drop (default build/bench/bare.bpf.o)\n"
		"  --obj OBJ --prog NAME   one more program to load and measure (up to %d)\n"
		"  --prog-id ID      one more program, already loaded (e.g. an attached sluice with its\n"
		"                    policy applied: `sluice --json status` has its prog_id)\n"
		"  --label L         name the last --prog-id in the table\n"
		"  --repeat N        runs per measurement, default 1000000\n"
		"  --rounds N        default 5, at most %d\n"
		"  --cpu N           pin to CPU N\n"
		"HTTP layer (instead of the four packets above: TCP/IPv4 to port 80 and HTTP rows):\n"
		"  --http-port P     requests and body segments to TCP port P (an `http.ports` entry)\n"
		"  --key-admit K     key of a tenant whose bucket admits every repeat (row: admit)\n"
		"  --key-drop K      key of a tenant over its limit (row: drop)\n"
		"  --flow            also open an established TCP connection 127.0.0.1:any ->\n"
		"                    127.0.0.1:P in this network namespace (test runs look sockets up\n"
		"                    there), admit one request on its 4-tuple with --key-admit, then\n"
		"                    measure a body segment and a retransmitted request on that flow\n"
		"  --reply N         with --flow and --key-drop (a tenant whose refusals are answered,\n"
		"                    action http429 or reset): N single runs (repeat 1) of an over-limit\n"
		"                    request on the established flow, each answered afresh (the\n"
		"                    program's sl_rejects_v1 entry is deleted after each), next to N\n"
		"                    single runs of bare_drop; prints the median ns of each. Runs\n"
		"                    before the table, whose rows then meet the close-state lookup\n"
		"  --pcap FILE       also write the packets measured to FILE (pcap; tcpdump -vvv -r)\n",
		MAX_TARGETS - 2, MAX_ROUNDS);
}

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((__u16)~sum);
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

struct pkt_spec {
	const char *saddr, *daddr; /* NULL: fd00:205::1 / 10.205.0.1 -> fd00:204::2 / 10.204.0.2 */
	__u16 sport, dport;
	__u32 seq;
	const void *payload; /* NULL: 16 zero bytes */
	int plen;
};

/* Ethernet + IPv4/IPv6 + UDP/TCP (ACK|PSH) + payload, valid lengths and checksums. */
static void build_pkt_spec(struct pkt *p, const char *name, bool v6, int proto,
			   const struct pkt_spec *ps)
{
	static const __u8 smac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 1 };
	static const __u8 dmac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 2 };
	static const __u8 zeros[16];
	struct ethhdr *eth = (void *)p->data;
	const void *payload = ps->payload ? ps->payload : zeros;
	int plen = ps->payload ? ps->plen : 16;
	int hlen = proto == IPPROTO_UDP ? sizeof(struct udphdr) : sizeof(struct tcphdr);
	int l4len = hlen + plen;
	__u8 *l4;
	__u32 sum;

	memset(p, 0, sizeof(*p));
	p->name = name;
	memcpy(eth->h_dest, dmac, ETH_ALEN);
	memcpy(eth->h_source, smac, ETH_ALEN);
	if (v6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->payload_len = htons(l4len);
		ip6->nexthdr = proto;
		ip6->hop_limit = 64;
		inet_pton(AF_INET6, ps->saddr ? ps->saddr : "fd00:205::1", &ip6->saddr);
		inet_pton(AF_INET6, ps->daddr ? ps->daddr : "fd00:204::2", &ip6->daddr);
		l4 = (void *)(ip6 + 1);
		sum = csum_add(0, &ip6->saddr, 32);
	} else {
		struct iphdr *ip = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons(sizeof(*ip) + l4len);
		ip->ttl = 64;
		ip->protocol = proto;
		inet_pton(AF_INET, ps->saddr ? ps->saddr : "10.205.0.1", &ip->saddr);
		inet_pton(AF_INET, ps->daddr ? ps->daddr : "10.204.0.2", &ip->daddr);
		ip->check = csum_fold(csum_add(0, ip, sizeof(*ip)));
		l4 = (void *)(ip + 1);
		sum = csum_add(0, &ip->saddr, 8);
	}
	memcpy(l4 + hlen, payload, plen);
	sum += proto + l4len;
	if (proto == IPPROTO_UDP) {
		struct udphdr *udp = (void *)l4;

		udp->source = htons(ps->sport);
		udp->dest = htons(ps->dport);
		udp->len = htons(l4len);
		udp->check = csum_fold(csum_add(sum, udp, l4len));
	} else {
		struct tcphdr *tcp = (void *)l4;

		tcp->source = htons(ps->sport);
		tcp->dest = htons(ps->dport);
		tcp->seq = htonl(ps->seq);
		tcp->ack_seq = htonl(1);
		tcp->doff = 5;
		tcp->ack = 1;
		tcp->psh = 1;
		tcp->window = htons(512);
		tcp->check = csum_fold(csum_add(sum, tcp, l4len));
	}
	p->len = (l4 - p->data) + l4len;
}

/* The basic rows: one source, 16 zero bytes to UDP port 9 or TCP port 80. */
static void build_pkt(struct pkt *p, const char *name, bool v6, int proto)
{
	struct pkt_spec ps = { .sport = 40000, .dport = proto == IPPROTO_UDP ? 9 : 80, .seq = 1 };

	build_pkt_spec(p, name, v6, proto, &ps);
}

/* An HTTP/1.1 request start; with key NULL, no key header. */
static void build_req(struct pkt *p, const char *name, const char *saddr, const char *daddr,
		      __u16 sport, __u16 dport, __u32 seq, const char *key)
{
	static char buf[MAX_PKTS][PKT_MAX];
	static int nb;
	struct pkt_spec ps = { .saddr = saddr, .daddr = daddr, .sport = sport, .dport = dport,
			       .seq = seq };
	char *b = buf[nb++ % MAX_PKTS];

	ps.plen = snprintf(b, PKT_MAX - 80, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
			   "%s%s%sContent-Length: 10\r\n\r\n", key ? "X-API-Key: " : "",
			   key ? key : "", key ? "\r\n" : "");
	if (ps.plen >= PKT_MAX - 80) {
		fprintf(stderr, "sl_pktcost: key too long\n");
		exit(2);
	}
	ps.payload = b;
	build_pkt_spec(p, name, false, IPPROTO_TCP, &ps);
}

/* A body segment: payload that does not start with a method letter. */
static void build_body(struct pkt *p, const char *name, const char *saddr, const char *daddr,
		       __u16 sport, __u16 dport)
{
	static const char body[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
				   "\"content\":\"hello\"}]}";
	struct pkt_spec ps = { .saddr = saddr, .daddr = daddr, .sport = sport, .dport = dport,
			       .seq = 5000, .payload = body, .plen = sizeof(body) - 1 };

	build_pkt_spec(p, name, false, IPPROTO_TCP, &ps);
}

/*
 * An established connection 127.0.0.1:cport -> 127.0.0.1:port in the current network
 * namespace: BPF_PROG_TEST_RUN of XDP runs on this namespace's loopback, and sluice admits a
 * connection to its flow table only when bpf_skc_lookup_tcp finds it established. Returns the
 * client port, or 0. The sockets stay open until the process exits.
 */
static __u16 open_flow(__u16 port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	socklen_t al = sizeof(a);
	int one = 1, ls, cs, as;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	cs = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || cs < 0)
		return 0;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (void *)&a, sizeof(a)) || listen(ls, 1)) {
		fprintf(stderr, "sl_pktcost: cannot listen on 127.0.0.1:%u: %s\n", port,
			strerror(errno));
		return 0;
	}
	if (connect(cs, (void *)&a, sizeof(a))) {
		fprintf(stderr, "sl_pktcost: connect 127.0.0.1:%u: %s\n", port, strerror(errno));
		return 0;
	}
	as = accept(ls, NULL, NULL);
	if (as < 0)
		return 0;
	if (getsockname(cs, (void *)&a, &al))
		return 0;
	return ntohs(a.sin_port);
}

#define MAX_REPLY 100000

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}


/* The fd of the map `name` that program `prog_fd` uses, or -1. */
static int prog_map(int prog_fd, const char *name)
{
	struct bpf_prog_info pi = {};
	struct bpf_map_info mi;
	__u32 ids[64], len = sizeof(pi), n, i, ml;
	int fd;

	pi.nr_map_ids = 64;
	pi.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &pi, &len))
		return -1;
	n = pi.nr_map_ids < 64 ? pi.nr_map_ids : 64;
	for (i = 0; i < n; i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		ml = sizeof(mi);
		if (!bpf_obj_get_info_by_fd(fd, &mi, &ml) && !strcmp(mi.name, name))
			return fd;
		close(fd);
	}
	return -1;
}

/*
 * The cost of answering a refusal: single runs (a reply rewrites the frame, so repeat > 1
 * would run on the reply), each on a connection sluice has no close state for, alternating
 * with single runs of `base`. Prints the medians.
 */
static int reply_cost(const struct target *t, const struct target *base, __u16 cport,
		      int port, const char *key, int n)
{
	static __u32 d[2][MAX_REPLY];
	__u32 verdicts[8] = {};
	struct pkt req;
	int rj, i, k;

	rj = prog_map(t->prog_fd, "sl_rejects_v1");
	if (rj < 0) {
		fprintf(stderr, "sl_pktcost: %s has no sl_rejects_v1 map\n", t->prog_name);
		return -1;
	}
	for (i = 0; i < n; i++) {
		/* A new request start each time: one at the flow's last sequence number would be
		 * taken for a retransmission. */
		build_req(&req, "refused, answered", "127.0.0.1", "127.0.0.1", cport, port,
			  9000 + (__u32)i * 1000, key);
		for (k = 0; k < 2; k++) {
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = req.data,
				    .data_size_in = req.len, .repeat = 1);

			if (bpf_prog_test_run_opts(k ? base->prog_fd : t->prog_fd, &o)) {
				fprintf(stderr, "sl_pktcost: reply run: %s\n", strerror(errno));
				close(rj);
				return -1;
			}
			d[k][i] = o.duration;
			if (!k)
				verdicts[o.retval & 7]++;
		}
		/* Forget the close state, so that the next run is a fresh refusal. */
		{
			__u8 key_buf[64], next[64];

			while (!bpf_map_get_next_key(rj, NULL, next)) {
				memcpy(key_buf, next, sizeof(key_buf));
				bpf_map_delete_elem(rj, key_buf);
			}
		}
	}
	close(rj);
	qsort(d[0], n, sizeof(__u32), cmp_u32);
	qsort(d[1], n, sizeof(__u32), cmp_u32);
	printf("\n| single runs (repeat 1), %d each | %s | %s |\n|---|---:|---:|\n", n,
	       t->prog_name, base->prog_name);
	printf("| median ns | %u | %u |\n| 10th–90th percentile | %u–%u | %u–%u |\n",
	       d[0][n / 2], d[1][n / 2], d[0][n / 10], d[0][n * 9 / 10], d[1][n / 10],
	       d[1][n * 9 / 10]);
	printf("\nVerdicts of %s: %u TX, %u PASS, %u DROP (TX: answered).\n", t->prog_name,
	       verdicts[3], verdicts[2], verdicts[1]);
	return 0;
}

/* The packets as a pcap file (Ethernet), so that they can be read with tcpdump. */
static int write_pcap(const char *path, const struct pkt *pkts, int n)
{
	struct { __u32 magic; __u16 maj, min; __s32 zone; __u32 sigfigs, snaplen, linktype; } fh = {
		0xa1b2c3d4, 2, 4, 0, 0, 65535, 1 };
	FILE *f = fopen(path, "w");
	int i;

	if (!f) {
		fprintf(stderr, "sl_pktcost: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fwrite(&fh, sizeof(fh), 1, f);
	for (i = 0; i < n; i++) {
		__u32 rh[4] = { i, 0, pkts[i].len, pkts[i].len };

		fwrite(rh, sizeof(rh), 1, f);
		fwrite(pkts[i].data, pkts[i].len, 1, f);
	}
	return fclose(f) ? -1 : 0;
}

static int load_target(struct target *t)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	int err;

	if (!t->obj_path) {
		/* A program someone else loaded and configured, e.g. an attached sluice. */
		t->prog_fd = bpf_prog_get_fd_by_id(t->prog_id);
		if (t->prog_fd < 0) {
			err = -errno;
			fprintf(stderr, "sl_pktcost: no program with id %u: %s\n", t->prog_id,
				strerror(-err));
			return err;
		}
		return 0;
	}
	t->obj = bpf_object__open_file(t->obj_path, NULL);
	if (!t->obj) {
		err = -errno;
		fprintf(stderr, "sl_pktcost: cannot open %s: %s\n", t->obj_path, strerror(-err));
		return err;
	}
	/* Private maps: never reuse (or create) pins of a running instance. */
	bpf_object__for_each_map(map, t->obj)
		bpf_map__set_pin_path(map, NULL);
	prog = bpf_object__find_program_by_name(t->obj, t->prog_name);
	if (!prog) {
		fprintf(stderr, "sl_pktcost: no program %s in %s\n", t->prog_name, t->obj_path);
		return -ENOENT;
	}
	/* Load only the program measured: the others may need attach-time setup. */
	bpf_object__for_each_program(prog, t->obj)
		bpf_program__set_autoload(prog, !strcmp(bpf_program__name(prog), t->prog_name));
	err = bpf_object__load(t->obj);
	if (err) {
		fprintf(stderr, "sl_pktcost: cannot load %s: %s\n", t->obj_path, strerror(-err));
		return err;
	}
	t->prog_fd = bpf_program__fd(bpf_object__find_program_by_name(t->obj, t->prog_name));
	return 0;
}

static double median(const __u32 *v, int n)
{
	__u32 s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_u32);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

static const char *verdict(__u32 ret)
{
	static const char *const names[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };

	return ret < 5 ? names[ret] : "?";
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bare", required_argument, NULL, 'B' },
		{ "obj", required_argument, NULL, 'o' },
		{ "prog", required_argument, NULL, 'p' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "prog-id", required_argument, NULL, 'i' },
		{ "label", required_argument, NULL, 'l' },
		{ "http-port", required_argument, NULL, 'P' },
		{ "key-admit", required_argument, NULL, 'A' },
		{ "key-drop", required_argument, NULL, 'D' },
		{ "flow", no_argument, NULL, 'F' },
		{ "pcap", required_argument, NULL, 'W' },
		{ "reply", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static struct target t[MAX_TARGETS];
	static struct pkt pkts[MAX_PKTS];
	static __u32 ns[MAX_TARGETS][MAX_PKTS][MAX_ROUNDS], ret[MAX_TARGETS][MAX_PKTS];
	const char *bare = "build/bench/bare.bpf.o", *obj = NULL;
	const char *key_admit = NULL, *key_drop = NULL, *pcap = NULL;
	int nt = 2, rounds = 5, cpu = -1, np = 0, http_port = 0, flow = 0, nreply = 0, i, j, r, c;
	int status = 1;
	struct pkt prime;
	__u16 cport = 0;
	__u32 repeat = 1000000;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'B': bare = optarg; break;
		case 'o': obj = optarg; break;
		case 'p':
			if (!obj || nt == MAX_TARGETS) {
				usage(stderr);
				return 2;
			}
			t[nt].obj_path = obj;
			t[nt++].prog_name = optarg;
			obj = NULL;
			break;
		case 'r': repeat = strtoul(optarg, NULL, 0); break;
		case 'n': rounds = atoi(optarg); break;
		case 'c': cpu = atoi(optarg); break;
		case 'i':
			if (obj || nt == MAX_TARGETS) {
				usage(stderr);
				return 2;
			}
			t[nt].prog_id = strtoul(optarg, NULL, 0);
			t[nt++].prog_name = "prog";
			break;
		case 'l':
			if (nt == 2) {
				usage(stderr);
				return 2;
			}
			t[nt - 1].prog_name = optarg;
			break;
		case 'P': http_port = atoi(optarg); break;
		case 'A': key_admit = optarg; break;
		case 'D': key_drop = optarg; break;
		case 'F': flow = 1; break;
		case 'W': pcap = optarg; break;
		case 'R': nreply = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (obj || optind != argc || repeat < 1 || rounds < 1 || rounds > MAX_ROUNDS ||
	    http_port < 0 || http_port > 65535 || (!http_port && (key_admit || key_drop || flow)) ||
	    (flow && !key_admit) || nreply < 0 || nreply > MAX_REPLY ||
	    (nreply && (!flow || !key_drop || nt != 3))) {
		usage(stderr);
		return 2;
	}
	libbpf_set_print(libbpf_print);
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			fprintf(stderr, "sl_pktcost: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
			return 1;
		}
	}
	t[0] = (struct target){ .obj_path = bare, .prog_name = "bare_pass" };
	t[1] = (struct target){ .obj_path = bare, .prog_name = "bare_drop" };
	for (i = 0; i < nt; i++)
		if (load_target(&t[i]))
			goto cleanup;
	if (!http_port) {
		build_pkt(&pkts[np++], "UDP/IPv4", false, IPPROTO_UDP);
		build_pkt(&pkts[np++], "TCP/IPv4", false, IPPROTO_TCP);
		build_pkt(&pkts[np++], "UDP/IPv6", true, IPPROTO_UDP);
		build_pkt(&pkts[np++], "TCP/IPv6", true, IPPROTO_TCP);
	} else {
		/* Each kind from its own source, so that no bucket is shared between rows. */
		build_pkt(&pkts[np++], "TCP/IPv4 :80, not HTTP", false, IPPROTO_TCP);
		if (key_admit)
			build_req(&pkts[np++], "request, key, admitted (no socket: flow not kept)",
				  "10.205.0.2", NULL, 40000, http_port, 1000, key_admit);
		if (key_drop)
			build_req(&pkts[np++], "request, key, over limit: drop", "10.205.0.3", NULL,
				  40000, http_port, 1000, key_drop);
		build_req(&pkts[np++], "request, no key: unknown_key, over: drop", "10.205.0.4",
			  NULL, 40000, http_port, 1000, NULL);
		build_body(&pkts[np++], "body segment, no flow", "10.205.0.5", NULL, 40000,
			   http_port);
		if (flow) {
			cport = open_flow(http_port);
			if (!cport)
				goto cleanup;
			build_req(&prime, "prime", "127.0.0.1", "127.0.0.1", cport, http_port, 7000,
				  key_admit);
			build_body(&pkts[np++], "body segment, known flow", "127.0.0.1", "127.0.0.1",
				   cport, http_port);
			build_req(&pkts[np++], "request retransmission, known flow", "127.0.0.1",
				  "127.0.0.1", cport, http_port, 7000, key_admit);
			/* One admitted request on the connection's 4-tuple puts it in the flow table. */
			for (i = 2; i < nt; i++) {
				LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = prime.data,
					    .data_size_in = prime.len, .repeat = 1);

				if (bpf_prog_test_run_opts(t[i].prog_fd, &o) || o.retval != 2)
					fprintf(stderr, "sl_pktcost: %s: the priming request was "
						"not passed (verdict %s)\n", t[i].prog_name,
						verdict(o.retval));
			}
		}
	}

	if (pcap && write_pcap(pcap, pkts, np))
		goto cleanup;

	/*
	 * The replies first: the rows below then run while a reply is recent, so every TCP
	 * segment meets the close-state lookup (its cost once a policy has answered).
	 */
	if (nreply && reply_cost(&t[2], &t[1], cport, http_port, key_drop, nreply))
		goto cleanup;

	/* Rounds outermost: a slow spell of the machine hits every program alike. */
	for (r = 0; r < rounds; r++)
		for (j = 0; j < np; j++)
			for (i = 0; i < nt; i++) {
				LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkts[j].data,
					    .data_size_in = pkts[j].len, .repeat = repeat);

				if (bpf_prog_test_run_opts(t[i].prog_fd, &o)) {
					fprintf(stderr, "sl_pktcost: test run of %s: %s\n",
						t[i].prog_name, strerror(errno));
					goto cleanup;
				}
				ns[i][j][r] = o.duration;
				ret[i][j] = o.retval;
			}

	printf("| program | packet | ns/packet median | min–max | net of bare_pass | verdict |\n");
	printf("|---|---|---:|---:|---:|---|\n");
	for (j = 0; j < np; j++) {
		double base = median(ns[0][j], rounds);

		for (i = 0; i < nt; i++) {
			__u32 lo = ns[i][j][0], hi = lo;

			for (r = 1; r < rounds; r++) {
				lo = ns[i][j][r] < lo ? ns[i][j][r] : lo;
				hi = ns[i][j][r] > hi ? ns[i][j][r] : hi;
			}
			printf("| %s | %s | %.1f | %u–%u | %+.1f | %s |\n", t[i].prog_name,
			       pkts[j].name, median(ns[i][j], rounds), lo, hi,
			       median(ns[i][j], rounds) - base, verdict(ret[i][j]));
		}
	}
	printf("\n%d rounds × %u runs per program and packet%s; `verdict` is the last run's.\n",
	       rounds, repeat, cpu >= 0 ? ", pinned" : "");
	status = 0;
cleanup:
	for (i = 0; i < nt; i++) {
		if (!t[i].obj_path && t[i].prog_fd > 0)
			close(t[i].prog_fd);
		bpf_object__close(t[i].obj);
	}
	return status;
}
