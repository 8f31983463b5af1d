// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Bounded UDP (sendmmsg) or TCP traffic generator that reports exactly when it sent, for tests. */
#include "sl_tools.h"

#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sys/uio.h>

#define MAX_THREADS	 64
#define MAX_BATCH	 1024
#define DEF_BATCH	 64
#define UDP_MAX_PAYLOAD	 65507
#define TCP_MAX_CHUNK	 (1U << 20)
#define CONNECT_TIMEOUT_MS 3000

static const char usage[] =
	"usage: sl_udpflood --dst ADDR --port P [--src ADDR] [--rate PPS] [--duration SEC]\n"
	"                   [--count N] [--size BYTES] [--cpu N] [--threads N] [--batch N]\n"
	"                   [--tcp] [--json]\n"
	"  --dst ADDR      destination, IPv4 or IPv6 (numeric)\n"
	"  --port P        destination port\n"
	"  --src ADDR      bind this source address (the port is chosen by the kernel)\n"
	"  --rate PPS      total packets (TCP: writes) per second over all threads;\n"
	"                  0 = as fast as possible (default)\n"
	"  --duration SEC  stop after SEC seconds (fractions allowed; capped at 120)\n"
	"  --count N       stop after N successful packets (TCP: writes) in total\n"
	"                  at least one of --count/--duration is required\n"
	"  --size BYTES    UDP payload bytes (default 64) or TCP write size (default 16384)\n"
	"  --cpu N         pin every thread to CPU N\n"
	"  --threads N     N threads, each with its own socket (own source port); without --cpu\n"
	"                  they are pinned round-robin over the allowed CPUs\n"
	"                  (default: 1 thread, not pinned)\n"
	"  --batch N       datagrams per sendmmsg (default 64; paced runs ~0.5 ms of traffic)\n"
	"  --tcp           connect to ADDR:PORT and write SIZE-byte chunks instead\n"
	"  --json          print the report as one JSON object\n"
	"Report: sent (accepted by the device: a veth drop is an ENOBUFS error), errors (packets\n"
	"not sent, by errno; EUNKNOWN when sendmmsg stopped early without one; not fatal),\n"
	"icmp_errors (ICMP errors received, e.g. port unreachable; the send each one failed is\n"
	"retried), first/last = CLOCK_MONOTONIC seconds just before the first and just after the\n"
	"last successful send, window = last - first, elapsed = whole run.\n"
	"Exit status 1 if nothing was sent or a TCP connect failed.\n";

struct opts {
	const char *dst;
	const char *src;
	uint16_t port;
	bool have_port;
	double rate;
	bool have_count;
	uint64_t count;
	bool have_duration;
	double duration;
	long size;
	int cpu;
	unsigned int threads;
	unsigned int batch;
	bool tcp;
	bool json;
};

struct worker {
	pthread_t th;
	unsigned int idx;
	int cpu; /* -1: not pinned */
	int fd;
	uint16_t sport;
	uint64_t quota; /* 0: no count bound */
	double rate;	/* this thread's share; 0 = max */
	uint64_t sent;	/* UDP datagrams or TCP writes that succeeded */
	uint64_t bytes;
	uint64_t first_ns;
	uint64_t last_ns;
	struct sl_errs errs;
	uint64_t icmp;	/* ICMP errors received (UDP) */
	int pin_err;
	int conn_err;  /* TCP: 0 or errno of the failed connect */
	int write_err; /* TCP: errno that ended the connection, 0 if it lasted */
};

static struct opts o = { .cpu = -1, .threads = 1, .size = -1 };
static struct sockaddr_storage dst_sa, src_sa;
static socklen_t dst_len, src_len;
static pthread_barrier_t ready_bar, go_bar;
static uint64_t start_ns, end_ns;

static void parse_args(int argc, char **argv)
{
	enum { O_DST = 256, O_SRC, O_PORT, O_RATE, O_DUR, O_COUNT, O_SIZE, O_CPU, O_THREADS,
	       O_BATCH, O_TCP, O_JSON };
	static const struct option lo[] = {
		{ "dst", required_argument, NULL, O_DST },
		{ "src", required_argument, NULL, O_SRC },
		{ "port", required_argument, NULL, O_PORT },
		{ "rate", required_argument, NULL, O_RATE },
		{ "duration", required_argument, NULL, O_DUR },
		{ "count", required_argument, NULL, O_COUNT },
		{ "size", required_argument, NULL, O_SIZE },
		{ "cpu", required_argument, NULL, O_CPU },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "tcp", no_argument, NULL, O_TCP },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_DST: o.dst = optarg; break;
		case O_SRC: o.src = optarg; break;
		case O_PORT:
			o.port = sl_parse_u64(optarg, "--port", 65535);
			o.have_port = true;
			break;
		case O_RATE: o.rate = sl_parse_u64(optarg, "--rate", 100000000); break;
		case O_DUR:
			o.duration = sl_parse_seconds(optarg, "--duration");
			o.have_duration = true;
			break;
		case O_COUNT:
			o.count = sl_parse_u64(optarg, "--count", UINT64_MAX / 2);
			o.have_count = true;
			break;
		case O_SIZE: o.size = sl_parse_u64(optarg, "--size", TCP_MAX_CHUNK); break;
		case O_CPU: o.cpu = sl_parse_u64(optarg, "--cpu", CPU_SETSIZE - 1); break;
		case O_THREADS: o.threads = sl_parse_u64(optarg, "--threads", MAX_THREADS); break;
		case O_BATCH: o.batch = sl_parse_u64(optarg, "--batch", MAX_BATCH); break;
		case O_TCP: o.tcp = true; break;
		case O_JSON: o.json = true; break;
		case 'h': fputs(usage, stdout); exit(0);
		default: fputs(usage, stderr); exit(2);
		}
	}
	if (optind < argc)
		sl_die("unexpected argument '%s'", argv[optind]);
	if (!o.dst || !o.have_port)
		sl_die("--dst and --port are required (see --help)");
	if (o.threads < 1)
		sl_die("--threads must be at least 1");
	if (o.have_count && o.count == 0)
		sl_die("--count must be at least 1");
	if (o.size < 0)
		o.size = o.tcp ? 16384 : 64;
	if (!o.tcp && o.size > UDP_MAX_PAYLOAD)
		sl_die("--size %ld exceeds the UDP maximum %d", o.size, UDP_MAX_PAYLOAD);
	if (o.tcp && o.size == 0)
		sl_die("--size must be at least 1 with --tcp");
	if (sl_parse_sockaddr(o.dst, o.port, &dst_sa, &dst_len))
		sl_die("--dst '%s' is not a numeric IPv4/IPv6 address", o.dst);
	if (o.src) {
		if (sl_parse_sockaddr(o.src, 0, &src_sa, &src_len))
			sl_die("--src '%s' is not a numeric IPv4/IPv6 address", o.src);
		if (src_sa.ss_family != dst_sa.ss_family)
			sl_die("--src and --dst are of different address families");
	}
}

static uint16_t sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* Creates (and for UDP binds) the worker's socket so that setup errors show before sending. */
static int open_socket(struct worker *w)
{
	struct timeval tmo = { .tv_usec = 100000 };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int buf = 4 << 20, one = 1;
	int fd;

	fd = socket(dst_sa.ss_family, (o.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Bounded blocking: a full send buffer never stalls past the end of the run. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
	if (!o.tcp) {
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		/*
		 * Without RECVERR the UDP stack hides a device drop (a full veth XDP ring) and
		 * reports success: with it, the send fails with ENOBUFS and "sent" stays exact.
		 */
		if (dst_sa.ss_family == AF_INET)
			setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
		else
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	}
	if (o.src) {
		if (bind(fd, (struct sockaddr *)&src_sa, src_len))
			goto err;
	} else if (!o.tcp) {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = dst_sa.ss_family;
		if (bind(fd, (struct sockaddr *)&ss, ss.ss_family == AF_INET ?
			 sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)))
			goto err;
	}
	if (!o.tcp && !getsockname(fd, (struct sockaddr *)&ss, &len))
		w->sport = sockaddr_port(&ss);
	w->fd = fd;
	return 0;
err:
	len = -errno;
	close(fd);
	return (int)len;
}

/* Writes a recognisable header (magic, thread, sequence) into payloads that have room. */
static inline void stamp(char *p, long size, unsigned int thread, uint64_t seq)
{
	if (size < 16)
		return;
	memcpy(p, "SLUF", 4);
	memcpy(p + 4, &thread, 4);
	memcpy(p + 8, &seq, 8);
}

static bool hard_error(int err)
{
	return err == EINVAL || err == EMSGSIZE || err == EBADF || err == EAFNOSUPPORT ||
	       err == EDESTADDRREQ || err == ENOTSOCK;
}

/*
 * RECVERR queues ICMP errors (port unreachable, ...), and each also fails the next send with its
 * errno although that packet was fine. Returns how many were queued (dropped here).
 */
static unsigned int drain_errqueue(int fd)
{
	char buf[256], ctl[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned int i;

	for (i = 0; i < 1024; i++) {
		m.msg_control = ctl;
		m.msg_controllen = sizeof(ctl);
		if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
	}
	return i;
}

static void run_udp(struct worker *w)
{
	struct sl_pacer pacer = { .start_ns = start_ns, .rate = w->rate };
	unsigned int batch = o.batch ? o.batch : sl_pace_batch(w->rate, DEF_BATCH);
	struct mmsghdr *msgs = calloc(batch, sizeof(*msgs));
	struct iovec *iov = calloc(batch, sizeof(*iov));
	char *bufs = calloc(batch, o.size ? o.size : 1);
	unsigned int i, n, want;
	uint64_t now, t0, t1;
	int r, err;

	if (!msgs || !iov || !bufs)
		sl_die("out of memory");
	for (i = 0; i < batch; i++) {
		memset(bufs + i * o.size, 'x', o.size);
		iov[i].iov_base = bufs + i * o.size;
		iov[i].iov_len = o.size;
		msgs[i].msg_hdr.msg_name = &dst_sa;
		msgs[i].msg_hdr.msg_namelen = dst_len;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	sl_sleep_until(start_ns);
	while (!sl_stop) {
		now = sl_mono_ns();
		if (now >= end_ns)
			break;
		want = batch;
		if (w->quota && w->quota - w->sent < want)
			want = w->quota - w->sent;
		if (!want)
			break;
		n = sl_pace_due(&pacer, now, want);
		if (!n) {
			sl_pace_wait(&pacer, end_ns);
			continue;
		}
		for (i = 0; i < n; i++)
			stamp(bufs + i * o.size, o.size, w->idx, w->sent + i);
		t0 = now;
		r = sendmmsg(w->fd, msgs, n, 0);
		t1 = sl_mono_ns();
		if (r > 0) {
			if (!w->first_ns)
				w->first_ns = t0;
			w->last_ns = t1;
			w->sent += r;
			w->bytes += (uint64_t)r * o.size;
			pacer.done += r;
			if ((unsigned int)r < n) {
				/* sendmmsg stopped at a failed message and dropped its errno */
				if (drain_errqueue(w->fd)) {
					w->icmp++;
				} else {
					sl_errs_add(&w->errs, 0, 1);
					pacer.done++;
				}
			}
			continue;
		}
		err = errno;
		if (err == EINTR)
			continue;
		if (err != ENOBUFS && err != EAGAIN && drain_errqueue(w->fd)) {
			w->icmp++; /* a stale ICMP error, not this packet's fate: send it again */
			continue;
		}
		sl_errs_add(&w->errs, err, 1);
		pacer.done++;
		if (hard_error(err))
			break;
		if (err == EAGAIN || err == ENOBUFS || !w->rate)
			sl_sleep_until(sl_mono_ns() + 20000); /* let the queue drain */
	}
	free(bufs);
	free(iov);
	free(msgs);
}

/* Non-blocking connect bounded by CONNECT_TIMEOUT_MS and the run's end; 0 or an errno. */
static int tcp_connect(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int fl = fcntl(fd, F_GETFL), err = 0, ms;
	socklen_t len = sizeof(err);
	uint64_t now = sl_mono_ns();

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&dst_sa, dst_len) && errno != EINPROGRESS)
		return errno;
	ms = CONNECT_TIMEOUT_MS;
	if (end_ns > now && (end_ns - now) / 1000000 < (uint64_t)ms)
		ms = (end_ns - now) / 1000000 + 1;
	for (;;) {
		int r = poll(&pfd, 1, ms);

		if (r < 0 && errno == EINTR && !sl_stop)
			continue;
		if (r <= 0)
			return r < 0 ? errno : ETIMEDOUT;
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
	fcntl(fd, F_SETFL, fl);
	return err;
}

static void run_tcp(struct worker *w)
{
	struct sl_pacer pacer = { .start_ns = start_ns, .rate = w->rate };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char *buf = malloc(o.size);
	uint64_t now, t0;
	ssize_t r;

	if (!buf)
		sl_die("out of memory");
	memset(buf, 'x', o.size);
	stamp(buf, o.size, w->idx, 0);
	sl_sleep_until(start_ns);
	w->conn_err = tcp_connect(w->fd);
	if (w->conn_err)
		goto out;
	if (!getsockname(w->fd, (struct sockaddr *)&ss, &len))
		w->sport = sockaddr_port(&ss);
	while (!sl_stop) {
		now = sl_mono_ns();
		if (now >= end_ns || (w->quota && w->sent >= w->quota))
			break;
		if (!sl_pace_due(&pacer, now, 1)) {
			sl_pace_wait(&pacer, end_ns);
			continue;
		}
		t0 = now;
		r = send(w->fd, buf, o.size, MSG_NOSIGNAL);
		if (r > 0) {
			if (!w->first_ns)
				w->first_ns = t0;
			w->last_ns = sl_mono_ns();
			w->bytes += r;
			w->sent++;
			pacer.done++;
			continue;
		}
		if (errno == EINTR || errno == EAGAIN)
			continue; /* SO_SNDTIMEO expired: the peer or a limiter is slow */
		w->write_err = errno;
		sl_errs_add(&w->errs, errno, 1);
		break;
	}
out:
	free(buf);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->cpu >= 0)
		w->pin_err = sl_pin_cpu(w->cpu);
	pthread_barrier_wait(&ready_bar);
	pthread_barrier_wait(&go_bar);
	if (!w->pin_err) {
		if (o.tcp)
			run_tcp(w);
		else
			run_udp(w);
	}
	return NULL;
}

static void report(struct worker *ws, uint64_t stop_ns)
{
	uint64_t sent = 0, bytes = 0, first = 0, last = 0, icmp = 0;
	unsigned int i, connected = 0;
	int conn_err = 0, write_err = 0;
	char fbuf[32], lbuf[32];
	struct sl_errs errs = {};
	double window, elapsed, rate;

	for (i = 0; i < o.threads; i++) {
		struct worker *w = &ws[i];

		sent += w->sent;
		bytes += w->bytes;
		icmp += w->icmp;
		sl_errs_merge(&errs, &w->errs);
		if (w->first_ns && (!first || w->first_ns < first))
			first = w->first_ns;
		if (w->last_ns > last)
			last = w->last_ns;
		if (o.tcp && !w->conn_err)
			connected++;
		if (w->conn_err && !conn_err)
			conn_err = w->conn_err;
		if (w->write_err && !write_err)
			write_err = w->write_err;
	}
	window = last > first ? (last - first) / 1e9 : 0;
	elapsed = (stop_ns - start_ns) / 1e9;
	rate = window > 0 ? sent / window : 0;
	sl_fmt_ns(fbuf, sizeof(fbuf), first);
	sl_fmt_ns(lbuf, sizeof(lbuf), last);

	if (o.json) {
		printf("{\"mode\":\"%s\",\"dst\":\"%s\",\"port\":%u,\"threads\":%u,",
		       o.tcp ? "tcp" : "udp", o.dst, o.port, o.threads);
		if (o.tcp)
			printf("\"connections\":%u,\"connected\":%u,\"connect_result\":\"%s\","
			       "\"write_result\":\"%s\",\"writes\":%" PRIu64 ",",
			       o.threads, connected, conn_err ? sl_errno_name(conn_err) : "ok",
			       write_err ? sl_errno_name(write_err) : "ok", sent);
		else
			printf("\"sent\":%" PRIu64 ",", sent);
		printf("\"errors\":%" PRIu64 ",\"icmp_errors\":%" PRIu64 ",\"errnos\":{",
		       errs.total, icmp);
		sl_errs_print(stdout, &errs, true);
		printf("},\"bytes\":%" PRIu64 ",\"size\":%ld,\"first\":%s,\"last\":%s,"
		       "\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64 ",\"window\":%.9f,"
		       "\"elapsed\":%.9f,\"rate\":%.1f,\"src_ports\":[",
		       bytes, o.size, fbuf, lbuf, first, last, window, elapsed, rate);
		for (i = 0; i < o.threads; i++)
			printf("%s%u", i ? "," : "", ws[i].sport);
		printf("],\"cpus\":[");
		for (i = 0; i < o.threads; i++)
			printf("%s%d", i ? "," : "", ws[i].cpu);
		printf("]}\n");
	} else {
		if (o.tcp)
			printf("tcp connect=%s connected=%u/%u write=%s writes=%" PRIu64 " ",
			       conn_err ? sl_errno_name(conn_err) : "ok", connected, o.threads,
			       write_err ? sl_errno_name(write_err) : "ok", sent);
		else
			printf("udp sent=%" PRIu64 " ", sent);
		printf("errors=%" PRIu64 " icmp_errors=%" PRIu64 " bytes=%" PRIu64 " first=%s "
		       "last=%s window=%.6f elapsed=%.6f rate=%.0f/s threads=%u",
		       errs.total, icmp, bytes, fbuf, lbuf, window, elapsed, rate, o.threads);
		sl_errs_print(stdout, &errs, false);
		putchar('\n');
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct worker ws[MAX_THREADS] = {};
	uint64_t dur_ns, stop_ns;
	unsigned int i;
	int err;

	sl_prog = "sl_udpflood";
	parse_args(argc, argv);
	dur_ns = sl_bound(o.have_count, o.have_duration, o.duration);
	sl_install_signals();

	for (i = 0; i < o.threads; i++) {
		struct worker *w = &ws[i];

		w->idx = i;
		w->cpu = o.cpu >= 0 ? o.cpu : (o.threads > 1 ? sl_nth_allowed_cpu(i) : -1);
		w->rate = o.rate / o.threads;
		if (o.have_count)
			w->quota = o.count / o.threads + (i < o.count % o.threads);
		if (o.have_count && !w->quota) {
			o.threads = i; /* more threads than packets: the rest would idle */
			break;
		}
		err = open_socket(w);
		if (err)
			sl_die("socket for thread %u: %s", i, strerror(-err));
	}
	if (pthread_barrier_init(&ready_bar, NULL, o.threads + 1) ||
	    pthread_barrier_init(&go_bar, NULL, o.threads + 1))
		sl_die("pthread_barrier_init failed");
	for (i = 0; i < o.threads; i++)
		if ((err = pthread_create(&ws[i].th, NULL, worker_main, &ws[i])))
			sl_die("pthread_create: %s", strerror(err));
	pthread_barrier_wait(&ready_bar);
	/* Threads are pinned and waiting: one common start, so paced threads stay in step. */
	start_ns = sl_mono_ns() + 2000000;
	end_ns = start_ns + dur_ns;
	pthread_barrier_wait(&go_bar);
	for (i = 0; i < o.threads; i++)
		pthread_join(ws[i].th, NULL);
	stop_ns = sl_mono_ns();

	for (i = 0; i < o.threads; i++) {
		if (ws[i].pin_err)
			sl_die("cannot pin thread %u to CPU %d: %s", i, ws[i].cpu,
			       strerror(-ws[i].pin_err));
		close(ws[i].fd);
	}
	report(ws, stop_ns);
	/* Exit 1 when nothing got out at all or a TCP connection failed: a test setup problem. */
	for (i = 0; i < o.threads; i++)
		if (ws[i].conn_err || ws[i].sent)
			break;
	if (i == o.threads)
		return 1;
	for (i = 0; i < o.threads; i++)
		if (ws[i].conn_err)
			return 1;
	return 0;
}
