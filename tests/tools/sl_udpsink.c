// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* UDP (or TCP) receiver that counts datagrams and bytes, in total and per source, for tests. */
#include "sl_tools.h"

#include <getopt.h>
#include <poll.h>
#include <sys/uio.h>

#define RX_BATCH     64
#define RX_BUF	     65536
#define MAX_CONNS    256
#define SRC_SLOTS    (1U << 18) /* power of two; 3/4 of it are used */
#define DEF_SHOW_SRC 64

static const char usage[] =
	"usage: sl_udpsink --port P [--bind ADDR] [--duration SEC] [--count N] [--tcp]\n"
	"                  [--ready FILE] [--max-sources N] [--json]\n"
	"  --port P         port to listen on\n"
	"  --bind ADDR      listen on ADDR only (default: all, IPv4 and IPv6 via one dual-stack\n"
	"                   socket)\n"
	"  --duration SEC   exit after SEC seconds (default: run until SIGTERM/SIGINT)\n"
	"  --count N        exit after N datagrams (UDP)\n"
	"  --tcp            accept TCP connections and count the bytes read\n"
	"  --ready FILE     write 'ready' to FILE once the socket is listening\n"
	"  --max-sources N  per-source lines in the report, busiest first (default 64)\n"
	"  --json           print the report as one JSON object\n"
	"Report: packets (TCP: reads), bytes, drops (socket receive-queue overflows),\n"
	"connections, first/last receive as CLOCK_MONOTONIC seconds, distinct sources and\n"
	"per-source counts.\n"
	"Up to 196608 distinct sources are told apart; later new ones add to untracked_packets.\n";

struct src_slot {
	struct in6_addr addr; /* IPv4 as v4-mapped */
	uint64_t packets;
	uint64_t bytes;
	bool used;
};

static struct {
	uint16_t port;
	bool have_port;
	const char *bind;
	bool have_duration;
	double duration;
	uint64_t count;
	bool tcp;
	bool json;
	const char *ready;
	unsigned int show;
} o = { .show = DEF_SHOW_SRC };

static struct src_slot *srcs;
static uint64_t nr_srcs, untracked_pkts, untracked_bytes;
static uint64_t packets, bytes, drops, conns, first_ns, last_ns, start_ns;

static void parse_args(int argc, char **argv)
{
	enum { O_PORT = 256, O_BIND, O_DUR, O_COUNT, O_TCP, O_JSON, O_READY, O_SHOW };
	static const struct option lo[] = {
		{ "port", required_argument, NULL, O_PORT },
		{ "bind", required_argument, NULL, O_BIND },
		{ "duration", required_argument, NULL, O_DUR },
		{ "count", required_argument, NULL, O_COUNT },
		{ "tcp", no_argument, NULL, O_TCP },
		{ "json", no_argument, NULL, O_JSON },
		{ "ready", required_argument, NULL, O_READY },
		{ "max-sources", required_argument, NULL, O_SHOW },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_PORT:
			o.port = sl_parse_u64(optarg, "--port", 65535);
			o.have_port = true;
			break;
		case O_BIND: o.bind = optarg; break;
		case O_DUR:
			o.duration = sl_parse_seconds(optarg, "--duration");
			o.have_duration = true;
			break;
		case O_COUNT: o.count = sl_parse_u64(optarg, "--count", UINT64_MAX); break;
		case O_TCP: o.tcp = true; break;
		case O_JSON: o.json = true; break;
		case O_READY: o.ready = optarg; break;
		case O_SHOW: o.show = sl_parse_u64(optarg, "--max-sources", SRC_SLOTS); break;
		case 'h': fputs(usage, stdout); exit(0);
		default: fputs(usage, stderr); exit(2);
		}
	}
	if (optind < argc)
		sl_die("unexpected argument '%s'", argv[optind]);
	if (!o.have_port)
		sl_die("--port is required (see --help)");
}

static void to_mapped(const struct sockaddr_storage *ss, struct in6_addr *a)
{
	if (ss->ss_family == AF_INET) {
		memset(a, 0, sizeof(*a));
		a->s6_addr[10] = a->s6_addr[11] = 0xff;
		memcpy(&a->s6_addr[12], &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else {
		*a = ((const struct sockaddr_in6 *)ss)->sin6_addr;
	}
}

static void fmt_addr(const struct in6_addr *a, char *buf, size_t len)
{
	if (IN6_IS_ADDR_V4MAPPED(a))
		inet_ntop(AF_INET, &a->s6_addr[12], buf, len);
	else
		inet_ntop(AF_INET6, a, buf, len);
}

/* Open addressing over SRC_SLOTS; once full, further new sources are only summed. */
static void account(const struct sockaddr_storage *ss, uint64_t len, uint64_t n)
{
	struct in6_addr a;
	uint64_t h = 1469598103934665603ULL, now = sl_mono_ns();
	unsigned int i, probe;

	packets += n;
	bytes += len;
	if (!first_ns)
		first_ns = now;
	last_ns = now;
	to_mapped(ss, &a);
	for (i = 0; i < 16; i++)
		h = (h ^ a.s6_addr[i]) * 1099511628211ULL;
	for (probe = 0; probe < SRC_SLOTS; probe++) {
		struct src_slot *s = &srcs[(h + probe) & (SRC_SLOTS - 1)];

		if (!s->used) {
			if (nr_srcs >= SRC_SLOTS * 3 / 4)
				break;
			s->used = true;
			s->addr = a;
			nr_srcs++;
		}
		if (!memcmp(&s->addr, &a, sizeof(a))) {
			s->packets += n;
			s->bytes += len;
			return;
		}
	}
	untracked_pkts += n;
	untracked_bytes += len;
}

static int open_listener(void)
{
	struct sockaddr_storage ss = {};
	socklen_t len = sizeof(struct sockaddr_in6);
	int one = 1, zero = 0, buf = 8 << 20;
	int fd;

	if (o.bind) {
		if (sl_parse_sockaddr(o.bind, o.port, &ss, &len))
			sl_die("--bind '%s' is not a numeric IPv4/IPv6 address", o.bind);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons(o.port);
	}
	fd = socket(ss.ss_family, (o.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		sl_die("socket: %s", strerror(errno));
	if (ss.ss_family == AF_INET6 && !o.bind)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!o.tcp) {
		/* A large queue so bursts are not lost here; drops are reported when they are. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ss, len))
		sl_die("bind port %u: %s", o.port, strerror(errno));
	if (o.tcp && listen(fd, 128))
		sl_die("listen: %s", strerror(errno));
	return fd;
}

static void rx_udp(int fd)
{
	static char bufs[RX_BATCH][2048];
	struct sockaddr_storage from[RX_BATCH];
	char ctl[RX_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	int i, n, rounds;

	/* Bounded drain, so that the duration and signals are checked under a flood too. */
	for (rounds = 0; rounds < 64; rounds++) {
		for (i = 0; i < RX_BATCH; i++) {
			/* Datagrams longer than the buffer count their full length (MSG_TRUNC). */
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &from[i], .msg_namelen = sizeof(from[i]),
				.msg_iov = &iov[i], .msg_iovlen = 1,
				.msg_control = ctl[i], .msg_controllen = sizeof(ctl[i]),
			};
		}
		n = recvmmsg(fd, msgs, RX_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
		if (n <= 0)
			return;
		for (i = 0; i < n; i++) {
			struct cmsghdr *c;

			if (o.count && packets >= o.count)
				return;
			account(&from[i], msgs[i].msg_len, 1);
			for (c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c;
			     c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
				uint32_t d;

				if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL)
					continue;
				memcpy(&d, CMSG_DATA(c), sizeof(d));
				/* the kernel reports the socket's running total */
				if (d > drops)
					drops = d;
			}
		}
	}
}

struct conn {
	int fd;
	struct sockaddr_storage peer;
};

static void serve(int lfd, uint64_t end_ns)
{
	static char buf[RX_BUF];
	struct pollfd pfd[MAX_CONNS + 1];
	struct conn cs[MAX_CONNS];
	unsigned int nc = 0, i;
	uint64_t now;
	int ms, r;

	for (;;) {
		if (sl_stop || (o.count && packets >= o.count))
			break;
		now = sl_mono_ns();
		if (end_ns && now >= end_ns)
			break;
		ms = 100;
		if (end_ns && (end_ns - now) / 1000000 < 100)
			ms = (end_ns - now) / 1000000 + 1;
		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (i = 0; i < nc; i++)
			pfd[i + 1] = (struct pollfd){ .fd = cs[i].fd, .events = POLLIN };
		r = poll(pfd, nc + 1, ms);
		if (r < 0 && errno != EINTR)
			sl_die("poll: %s", strerror(errno));
		if (r <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			if (!o.tcp) {
				rx_udp(lfd);
			} else if (nc < MAX_CONNS) {
				socklen_t len = sizeof(cs[nc].peer);
				int fd = accept4(lfd, (struct sockaddr *)&cs[nc].peer, &len,
						 SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (fd >= 0) {
					cs[nc++].fd = fd;
					conns++;
				}
			}
		}
		/* Walk backwards so that closing (swap with the last) skips nothing. */
		for (i = nc; i-- > 0;) {
			ssize_t n;

			if (!pfd[i + 1].revents)
				continue;
			n = read(cs[i].fd, buf, sizeof(buf));
			if (n > 0) {
				account(&cs[i].peer, n, 1);
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			close(cs[i].fd);
			cs[i] = cs[--nc];
		}
	}
	for (i = 0; i < nc; i++)
		close(cs[i].fd);
}

static int cmp_slot(const void *a, const void *b)
{
	const struct src_slot *x = a, *y = b;

	if (x->used != y->used)
		return y->used - x->used;
	return x->packets < y->packets ? 1 : x->packets > y->packets ? -1 : 0;
}

static void report(uint64_t stop_ns)
{
	char fbuf[32], lbuf[32], abuf[INET6_ADDRSTRLEN];
	unsigned int i, show = o.show < nr_srcs ? o.show : nr_srcs;

	qsort(srcs, SRC_SLOTS, sizeof(*srcs), cmp_slot);
	sl_fmt_ns(fbuf, sizeof(fbuf), first_ns);
	sl_fmt_ns(lbuf, sizeof(lbuf), last_ns);
	if (o.json) {
		printf("{\"mode\":\"%s\",\"port\":%u,\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
		       ",\"drops\":%" PRIu64 ",\"connections\":%" PRIu64
		       ",\"first\":%s,\"last\":%s,"
		       "\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64 ",\"elapsed\":%.9f,"
		       "\"distinct_sources\":%" PRIu64 ",\"untracked_packets\":%" PRIu64
		       ",\"sources\":[",
		       o.tcp ? "tcp" : "udp", o.port, packets, bytes, drops, conns, fbuf, lbuf,
		       first_ns, last_ns, (stop_ns - start_ns) / 1e9, nr_srcs, untracked_pkts);
		for (i = 0; i < show; i++) {
			fmt_addr(&srcs[i].addr, abuf, sizeof(abuf));
			printf("%s{\"addr\":\"%s\",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
			       i ? "," : "", abuf, srcs[i].packets, srcs[i].bytes);
		}
		printf("]}\n");
	} else {
		printf("%s packets=%" PRIu64 " bytes=%" PRIu64 " drops=%" PRIu64
		       " connections=%" PRIu64 " first=%s last=%s elapsed=%.6f sources=%" PRIu64
		       "\n",
		       o.tcp ? "tcp" : "udp", packets, bytes, drops, conns, fbuf, lbuf,
		       (stop_ns - start_ns) / 1e9, nr_srcs);
		for (i = 0; i < show; i++) {
			fmt_addr(&srcs[i].addr, abuf, sizeof(abuf));
			printf("  src %s packets=%" PRIu64 " bytes=%" PRIu64 "\n", abuf,
			       srcs[i].packets, srcs[i].bytes);
		}
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	uint64_t end_ns = 0;
	int fd;

	sl_prog = "sl_udpsink";
	parse_args(argc, argv);
	srcs = calloc(SRC_SLOTS, sizeof(*srcs));
	if (!srcs)
		sl_die("out of memory");
	sl_install_signals();
	fd = open_listener();
	start_ns = sl_mono_ns();
	if (o.have_duration)
		end_ns = start_ns + (uint64_t)(o.duration * 1e9);
	if (o.ready) {
		FILE *f = fopen(o.ready, "w");

		if (!f || fputs("ready\n", f) < 0 || fclose(f))
			sl_die("cannot write --ready file %s", o.ready);
	}
	serve(fd, end_ns);
	close(fd);
	report(sl_mono_ns());
	return 0;
}
