/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers shared by the test traffic tools: clocks, pacing, bounds, arguments, addresses. */
#ifndef SL_TOOLS_H
#define SL_TOOLS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Every sending run is bounded: no run lasts longer than this, whatever the flags say. */
#define SL_MAX_DURATION_S 120.0
#define SL_MAX_ERRNO	  256

static const char *sl_prog = "sl_tool";

static inline void __attribute__((noreturn, format(printf, 1, 2))) sl_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", sl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* Set by SIGINT/SIGTERM: loops and sleeps end early and the report is still printed. */
static volatile sig_atomic_t sl_stop;

static inline void sl_on_signal(int sig)
{
	(void)sig;
	sl_stop = 1;
}

static inline uint64_t sl_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline void sl_sleep_until(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !sl_stop)
		;
}

/* Prints a CLOCK_MONOTONIC nanosecond stamp as seconds with 9 decimals (0 = never). */
static inline void sl_fmt_ns(char *buf, size_t len, uint64_t ns)
{
	snprintf(buf, len, "%" PRIu64 ".%09" PRIu64, ns / 1000000000, ns % 1000000000);
}

static inline uint64_t sl_parse_u64(const char *s, const char *what, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		sl_die("bad %s '%s' (an integer from 0 to %" PRIu64 ")", what, s, max);
	return v;
}

static inline double sl_parse_seconds(const char *s, const char *what)
{
	double v;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e6)
		sl_die("bad %s '%s' (seconds, e.g. 2.5)", what, s);
	return v;
}

/*
 * Settles the stop conditions: at least one of count/duration must be given, and the duration
 * is capped at SL_MAX_DURATION_S (also when only a count was given). Returns the duration in ns.
 */
static inline uint64_t sl_bound(bool have_count, bool have_duration, double duration)
{
	if (!have_count && !have_duration)
		sl_die("refusing an unbounded run: give --count and/or --duration");
	if (!have_duration || duration > SL_MAX_DURATION_S) {
		if (have_duration)
			fprintf(stderr, "%s: duration capped at %.0f s\n", sl_prog,
				SL_MAX_DURATION_S);
		duration = SL_MAX_DURATION_S;
	}
	return (uint64_t)(duration * 1e9);
}

/* Pins the calling thread to one CPU; returns 0 or a negative errno. */
static inline int sl_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return 0;
}

/* The n-th CPU this process may run on, cycling; -1 if none. */
static inline int sl_nth_allowed_cpu(unsigned int n)
{
	unsigned int count, i, seen = 0;
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	count = CPU_COUNT(&set);
	if (!count)
		return -1;
	n %= count;
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (seen++ == n)
			return i;
	}
	return -1;
}

/*
 * Pacing contract: packet k (k = 0, 1, ...) is due at start + k / rate. sl_pace_due() says how
 * many packets may go now (at most max); when it returns 0 the caller sleeps with
 * sl_pace_wait(). rate 0 means unpaced. Pacing is by attempts, so failed sends use their slot.
 */
struct sl_pacer {
	uint64_t start_ns;
	double	 rate;
	uint64_t done;
};

static inline unsigned int sl_pace_due(const struct sl_pacer *p, uint64_t now, unsigned int max)
{
	uint64_t due;

	if (p->rate <= 0)
		return max;
	if (now < p->start_ns)
		return 0;
	due = (uint64_t)((double)(now - p->start_ns) * p->rate / 1e9) + 1;
	if (due <= p->done)
		return 0;
	return due - p->done > max ? max : (unsigned int)(due - p->done);
}

static inline void sl_pace_wait(const struct sl_pacer *p, uint64_t end_ns)
{
	uint64_t next = p->start_ns + (uint64_t)((double)p->done * 1e9 / p->rate);

	sl_sleep_until(next < end_ns ? next : end_ns);
}

/* Paced sends burst at most ~0.5 ms of traffic at a time, so a 256-slot veth ring keeps up. */
static inline unsigned int sl_pace_batch(double rate, unsigned int max)
{
	double b = rate / 2000.0;

	if (rate <= 0)
		return max;
	if (b < 1)
		return 1;
	return b > max ? max : (unsigned int)b;
}

/* Tally of failed sends by errno, merged across threads at exit. */
struct sl_errs {
	uint64_t total;
	uint64_t by_errno[SL_MAX_ERRNO];
};

static inline void sl_errs_add(struct sl_errs *e, int err, uint64_t n)
{
	e->total += n;
	e->by_errno[err > 0 && err < SL_MAX_ERRNO ? err : 0] += n;
}

static inline void sl_errs_merge(struct sl_errs *dst, const struct sl_errs *src)
{
	int i;

	dst->total += src->total;
	for (i = 0; i < SL_MAX_ERRNO; i++)
		dst->by_errno[i] += src->by_errno[i];
}

static inline const char *sl_errno_name(int err)
{
	const char *n = err ? strerrorname_np(err) : NULL;

	/* 0: a sendmmsg() that stopped early; the kernel does not say why */
	return n ? n : "EUNKNOWN";
}

/* Prints `"ENOBUFS":3,...` (json) or `ENOBUFS=3 ...` (text); nothing when there were no errors. */
static inline void sl_errs_print(FILE *f, const struct sl_errs *e, bool json)
{
	bool first = true;
	int i;

	for (i = 0; i < SL_MAX_ERRNO; i++) {
		if (!e->by_errno[i])
			continue;
		if (json)
			fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",", sl_errno_name(i),
				e->by_errno[i]);
		else
			fprintf(f, " %s=%" PRIu64, sl_errno_name(i), e->by_errno[i]);
		first = false;
	}
}

/* Parses a numeric IPv4/IPv6 address (IPv6 may carry %scope); returns 0 or -EINVAL. */
static inline int sl_parse_sockaddr(const char *host, uint16_t port, struct sockaddr_storage *ss,
			     socklen_t *len)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST, .ai_family = AF_UNSPEC };
	struct addrinfo *res;

	if (getaddrinfo(host, NULL, &hints, &res) || !res)
		return -EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	return 0;
}

/* SIGINT/SIGTERM end the run early but still print the report; SIGPIPE is ignored. */
static inline void sl_install_signals(void)
{
	struct sigaction sa = { .sa_handler = sl_on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Default timer slack (50 us) would smear paced sends. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
}

#endif /* SL_TOOLS_H */
