// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * BPF_PROG_TEST_RUN of the replies (bpf/reject.bpf.h): the packets that reset and http429
 * send, checked byte by byte (addresses, ports, sequence and acknowledgement numbers, flags,
 * IP and TCP checksums, the 429 response), and the close that follows on each hook.
 *
 * XDP answers with the rebuilt frame itself (XDP_TX: the test run's data_out). TC answers
 * with a clone sent out of the segment's interface, which in a test run is loopback: a packet
 * socket on lo catches it, and data_out is the segment rewritten into the socket's RST.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>

#include "httpfx.h"

enum { RX_PASS, RX_DROP, RX_TX };

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

struct rx {
	struct hx x;
	struct hx_conn c;
	int lo; /* AF_PACKET socket on lo (TC: the clones) */
	__u32 slot; /* the source rule's slot */
	__u8 scrap[2048];
};

/* The response text the tests install for tenant 1's request bucket. */
#define RX_PREFIX                                  \
	"HTTP/1.1 429 Too Many Requests\r\n"        \
	"Content-Type: application/json\r\n"        \
	"Content-Length: 43\r\n"                    \
	"Connection: close\r\n"                     \
	"RateLimit-Policy: \"requests\";q=1;w=1\r\n" \
	"RateLimit: \"requests\";r="
#define RX_BODY "{\"error\":\"too_many_requests\",\"limit\":\"r\"}\r\n"

static void rx_tpl(struct rx *r, __u8 kind, __u16 idx, __u16 sub, const char *prefix,
		   const char *body)
{
	struct sl_reply_key k = { .gen = (__u8)r->x.gen, .kind = kind, .idx = idx, .sub = sub };
	struct sl_reply_tpl t = {};

	t.plen = (__u16)strlen(prefix);
	t.blen = (__u16)strlen(body);
	cr_assert_leq(t.plen + t.blen, SL_REPLY_TEXT);
	memcpy(t.text, prefix, t.plen);
	memcpy(t.text + t.plen, body, t.blen);
	cr_assert_eq(bpf_map_update_elem(r->x.f.m.reply, &k, &t, BPF_ANY), 0);
}

/* The reply limit of a reply slot (rate, burst per second). */
static void rx_replies(struct rx *r, __u32 rslot, __u64 rate, __u64 burst)
{
	struct sl_rcfg rc = { .flags = SL_RF_FINE };
	__u32 k = r->x.gen * SL_NR_RSLOTS + rslot;

	if (rate)
		cr_assert_eq(sl_gcra_params_make(rate, burst, &rc.lim), 0);
	cr_assert_eq(bpf_map_update_elem(r->x.f.m.rcfg, &k, &rc, BPF_ANY), 0);
}

static void rx_flag(struct rx *r)
{
	struct sl_config cfg;

	cr_assert_eq(sl_config_read(r->x.f.m.config, &cfg), 0);
	cfg.g[r->x.gen].flags |= SL_GF_REJECT;
	cr_assert_eq(sl_config_write(r->x.f.m.config, &cfg), 0);
}

/* Tenant 1 (key "k1"): `rate`/s, burst `burst`, refusals answered with `action`. */
static void rx_tenant(struct rx *r, __u64 rate, __u64 burst, __u8 action)
{
	struct sl_tenant_cfg tc = { .in_use = 1, .flags = SL_RF_FINE, .action = action };
	__u32 k = r->x.gen * SL_MAX_TENANTS + 1;

	cr_assert_eq(sl_gcra_params_make(rate, burst, &tc.req), 0);
	cr_assert_eq(bpf_map_update_elem(r->x.tenants, &k, &tc, BPF_ANY), 0);
	hx_key(&r->x, "k1", 1, 11);
}

static void rx_open(struct rx *r)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };

	memset(r, 0, sizeof(*r));
	hx_open_conn(&r->x, &r->c);
	r->slot = fx_slot(&r->x.f, "all");
	rx_flag(r);
	rx_replies(r, SL_RSLOT_HTTP, 1000, 1000);
	rx_tpl(r, SL_RK_TENANT, 1, 0, RX_PREFIX, RX_BODY);
	r->lo = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	cr_assert_geq(r->lo, 0, "packet socket: %s", strerror(errno));
	sll.sll_ifindex = (int)if_nametoindex("lo");
	cr_assert_eq(bind(r->lo, (struct sockaddr *)&sll, sizeof(sll)), 0);
}

static void rx_close(struct rx *r)
{
	close(r->lo);
	hx_disconnect(&r->c);
}

/* A TCP segment of the test connection with these flags, numbers and payload. */
static struct pb_frame rx_seg(struct rx *r, __u8 flags, __u32 seq, __u32 ack, const char *text)
{
	struct pb_frame pf;
	size_t len = text ? strlen(text) : 0;
	__u32 a = htonl(ack);

	pf = hx_seg(&r->c.ep, text ? text : "", len);
	pf.data[pf.l4_off + 13] = flags;
	memcpy(pf.data + pf.l4_off + 8, &a, 4);
	a = htonl(seq);
	memcpy(pf.data + pf.l4_off + 4, &a, 4);
	pb_fix_csums(&pf);
	return pf;
}

/* Run a frame; returns RX_PASS, RX_DROP or RX_TX and the frame as the program left it. */
static int rx_run(struct rx *r, enum fx_hook h, const struct pb_frame *in, struct pb_frame *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	int ret;

	o.data_in = in->data;
	o.data_size_in = in->len;
	o.data_out = out->data;
	o.data_size_out = sizeof(out->data);
	o.repeat = 1;
	cr_assert_eq(bpf_prog_test_run_opts(r->x.f.prog[h], &o), 0, "test run: %s", strerror(errno));
	out->len = o.data_size_out;
	out->l3_off = in->l3_off;
	out->l4_off = in->l4_off; /* no IP options in these tests: same offsets */
	ret = (int)o.retval;
	if (h == FX_XDP) {
		cr_assert(ret == XDP_PASS || ret == XDP_DROP || ret == XDP_TX, "xdp returned %d", ret);
		return ret == XDP_PASS ? RX_PASS : ret == XDP_DROP ? RX_DROP : RX_TX;
	}
	cr_assert(ret == TC_ACT_UNSPEC || ret == TC_ACT_SHOT || ret == TC_ACT_REDIRECT,
		  "tc returned %d", ret);
	return ret == TC_ACT_UNSPEC ? RX_PASS : ret == TC_ACT_SHOT ? RX_DROP : RX_TX;
}

/* The clone TC sent out of lo towards the client (from the server port); false if none. */
static bool rx_clone(struct rx *r, struct pb_frame *out)
{
	for (int i = 0; i < 256; i++) { /* bound: other traffic on lo */
		struct pollfd p = { .fd = r->lo, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			return false;
		n = recv(r->lo, out->data, sizeof(out->data), 0);
		if (n < 54)
			continue;
		out->len = (size_t)n;
		out->l3_off = 14;
		out->l4_off = (out->data[12] == 0x86 && out->data[13] == 0xdd) ? 54 : 34;
		if (out->len < out->l4_off + 20)
			continue;
		if (((out->data[out->l4_off] << 8) | out->data[out->l4_off + 1]) == r->c.ep.dport &&
		    ((out->data[out->l4_off + 2] << 8) | out->data[out->l4_off + 3]) == r->c.ep.sport)
			return true;
	}
	return false;
}

static __u32 rx_sum(const __u8 *p, size_t n, __u32 s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (__u32)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (__u32)p[n - 1] << 8;
	return s;
}

static __u16 rx_fold(__u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

static __u32 rx_get32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

static __u16 rx_get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

/*
 * What a reply must be, field by field, against the segment `in` it answers: to the client
 * (addresses, ports and link-layer addresses swapped) or to this host (as `in` came).
 */
struct rx_want {
	bool to_client;
	__u8 flags;
	__u32 seq, ack;
	const char *payload; /* NULL: none */
};

static void rx_check(const struct pb_frame *in, const struct pb_frame *out, struct rx_want w)
{
	const __u8 *i = in->data, *o = out->data;
	size_t l3 = in->l3_off, l4 = in->l4_off, plen = w.payload ? strlen(w.payload) : 0;
	bool v6 = in->family == 6;
	size_t alen = v6 ? 16 : 4, src = v6 ? 8 : 12, dst = v6 ? 24 : 16;
	__u32 s;

	cr_assert_eq(out->len, l4 + 20 + plen, "frame length %zu, want %zu", out->len,
		     l4 + 20 + plen);
	/* Link layer. */
	cr_assert_arr_eq(o, w.to_client ? i + 6 : i, 6, "destination MAC");
	cr_assert_arr_eq(o + 6, w.to_client ? i : i + 6, 6, "source MAC");
	cr_assert_arr_eq(o + 12, i + 12, 2, "EtherType");
	/* IP. */
	cr_assert_arr_eq(o + l3 + src, i + l3 + (w.to_client ? dst : src), alen, "source address");
	cr_assert_arr_eq(o + l3 + dst, i + l3 + (w.to_client ? src : dst), alen, "destination");
	if (!v6) {
		cr_assert_eq(o[l3], 0x45, "IPv4, 20-byte header");
		cr_assert_eq(rx_get16(o + l3 + 2), out->len - l3, "IPv4 total length");
		cr_assert_eq(rx_get16(o + l3 + 6), 0x4000, "DF, not a fragment");
		cr_assert_eq(o[l3 + 8], 64, "TTL");
		cr_assert_eq(o[l3 + 9], IPPROTO_TCP);
		cr_assert_eq(rx_fold(rx_sum(o + l3, 20, 0)), 0xffff, "IPv4 header checksum");
	} else {
		cr_assert_eq(o[l3] >> 4, 6);
		cr_assert_eq(rx_get16(o + l3 + 4), 20 + plen, "IPv6 payload length");
		cr_assert_eq(o[l3 + 6], IPPROTO_TCP, "next header");
		cr_assert_eq(o[l3 + 7], 64, "hop limit");
	}
	/* TCP. */
	cr_assert_eq(rx_get16(o + l4), rx_get16(i + l4 + (w.to_client ? 2 : 0)), "source port");
	cr_assert_eq(rx_get16(o + l4 + 2), rx_get16(i + l4 + (w.to_client ? 0 : 2)), "dest port");
	cr_assert_eq(rx_get32(o + l4 + 4), w.seq, "seq %u, want %u", rx_get32(o + l4 + 4), w.seq);
	cr_assert_eq(rx_get32(o + l4 + 8), w.ack, "ack %u, want %u", rx_get32(o + l4 + 8), w.ack);
	cr_assert_eq(o[l4 + 12], 5 << 4, "data offset 5, no options");
	cr_assert_eq(o[l4 + 13], w.flags, "flags %#x, want %#x", o[l4 + 13], w.flags);
	cr_assert_eq(rx_get16(o + l4 + 18), 0, "urgent pointer");
	s = rx_sum(o + l3 + src, alen, 0);
	s = rx_sum(o + l3 + dst, alen, s);
	s += IPPROTO_TCP + (__u32)(20 + plen);
	s = rx_sum(o + l4, 20 + plen, s);
	cr_assert_eq(rx_fold(s), 0xffff, "TCP checksum");
	if (plen)
		cr_assert_arr_eq(o + l4 + 20, w.payload, plen, "payload:\n%.*s\nwant:\n%s",
				 (int)(out->len - l4 - 20), (const char *)o + l4 + 20, w.payload);
}

static struct sl_rstats rx_rstats(struct rx *r, __u32 rslot)
{
	struct sl_rstats sum;

	cr_assert_eq(sl_rstats_read(r->x.f.m.rstats, rslot, &sum), 0);
	return sum;
}

static int rx_state(struct rx *r, __u32 *srv_seq)
{
	struct sl_flow_key fk = { .family = SL_AF_INET, .cport = r->c.ep.sport,
				  .sport = r->c.ep.dport };
	struct sl_reject e;

	inet_pton(AF_INET, r->c.ep.src, fk.caddr);
	inet_pton(AF_INET, r->c.ep.dst, fk.saddr);
	if (bpf_map_lookup_elem(r->x.f.m.rejects, &fk, &e))
		return 0;
	if (srv_seq)
		*srv_seq = e.srv_seq;
	return e.state;
}

#define RX_REQ "GET /v1/models HTTP/1.1\r\nHost: api\r\nX-API-Key: k1\r\n\r\n"
/* What the data plane appends to RX_PREFIX for a bucket refusal 1 s from admitting again. */
#define RX_DYN "0;t=1\r\nRetry-After: 1\r\n\r\n"

/*
 * http429 on XDP: the refused request is answered with the 429 and FIN (XDP_TX); the client's
 * ACK of it becomes the socket's RST (passed up); its FIN is acknowledged (XDP_TX); anything
 * else it sends is dropped.
 */
Test(reject, http429_xdp)
{
	const char *resp = RX_PREFIX RX_DYN RX_BODY;
	__u32 S = 5000, A = 7000, L = sizeof(RX_REQ) - 1, P = (__u32)strlen(resp), srv;
	struct pb_frame in, out;
	struct sl_rstats st;
	struct rx r;

	rx_open(&r);
	rx_tenant(&r, 1, 1, SL_OVER_HTTP429);
	in = rx_seg(&r, F_ACK | F_PSH, S - L, A, RX_REQ);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_PASS, "the first request is admitted");

	in = rx_seg(&r, F_ACK | F_PSH, S, A, RX_REQ);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_TX, "the second is answered");
	rx_check(&in, &out, (struct rx_want){ true, F_ACK | F_PSH | F_FIN, A, S + L, resp });
	cr_assert_eq(rx_state(&r, &srv), SL_RJ_SRV_OWED);
	cr_assert_eq(srv, S, "the socket still expects the refused request's sequence number");

	/* The client acknowledges the response and our FIN. */
	in = rx_seg(&r, F_ACK, S + L, A + P + 1, NULL);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_PASS);
	rx_check(&in, &out, (struct rx_want){ false, F_RST, S, 0, NULL });
	cr_assert_eq(rx_state(&r, NULL), SL_RJ_CLOSING);

	/* Its FIN is acknowledged; a stray ACK after it is dropped. */
	in = rx_seg(&r, F_ACK | F_FIN, S + L, A + P + 1, NULL);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_TX);
	rx_check(&in, &out, (struct rx_want){ true, F_ACK, A + P + 1, S + L + 1, NULL });
	in = rx_seg(&r, F_ACK, S + L + 1, A + P + 1, NULL);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_DROP);

	st = rx_rstats(&r, SL_RSLOT_HTTP);
	cr_assert_eq(st.http429, 1);
	cr_assert_eq(st.fin_acked, 1);
	cr_assert_eq(st.follow_drop, 1);
	cr_assert_eq(st.rst + st.limited + st.failed + st.no_socket + st.no_template, 0);
	cr_assert_eq(hx_stats(&r.x, 1, SL_GROUP_NONE, 11).req_drop, 1, "refused, counted once");
	rx_close(&r);
}

/* http429 on TC: a clone carries the 429 out, the segment itself is the socket's RST. */
Test(reject, http429_tc)
{
	const char *resp = RX_PREFIX RX_DYN RX_BODY;
	__u32 S = 9000, A = 3000, L = sizeof(RX_REQ) - 1, P = (__u32)strlen(resp);
	struct pb_frame in, out, cl;
	struct rx r;

	rx_open(&r);
	rx_tenant(&r, 1, 1, SL_OVER_HTTP429);
	in = rx_seg(&r, F_ACK | F_PSH, S - L, A, RX_REQ);
	cr_assert_eq(rx_run(&r, FX_TC, &in, &out), RX_PASS);

	in = rx_seg(&r, F_ACK | F_PSH, S, A, RX_REQ);
	cr_assert_eq(rx_run(&r, FX_TC, &in, &out), RX_PASS, "the segment goes up, rewritten");
	rx_check(&in, &out, (struct rx_want){ false, F_RST, S, 0, NULL });
	cr_assert(rx_clone(&r, &cl), "no clone went out of lo");
	rx_check(&in, &cl, (struct rx_want){ true, F_ACK | F_PSH | F_FIN, A, S + L, resp });
	cr_assert_eq(rx_state(&r, NULL), SL_RJ_CLOSING);

	in = rx_seg(&r, F_ACK | F_FIN, S + L, A + P + 1, NULL);
	cr_assert_eq(rx_run(&r, FX_TC, &in, &out), RX_TX, "redirected back out");
	rx_check(&in, &out, (struct rx_want){ true, F_ACK, A + P + 1, S + L + 1, NULL });
	cr_assert_eq(rx_rstats(&r, SL_RSLOT_HTTP).http429, 1);
	rx_close(&r);
}

/*
 * reset on XDP: the socket's RST goes up at once; the client's RST answers its next segment
 * (the retransmission of the refused request).
 */
Test(reject, reset_xdp)
{
	__u32 S = 100, A = 200, L = sizeof(RX_REQ) - 1;
	struct pb_frame in, out;
	struct rx r;

	rx_open(&r);
	rx_tenant(&r, 1, 1, SL_OVER_RESET);
	in = rx_seg(&r, F_ACK | F_PSH, S - L, A, RX_REQ);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_PASS);
	in = rx_seg(&r, F_ACK | F_PSH, S, A, RX_REQ);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_PASS);
	rx_check(&in, &out, (struct rx_want){ false, F_RST, S, 0, NULL });
	cr_assert_eq(rx_state(&r, NULL), SL_RJ_CLI_OWED);

	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_TX, "the retransmission gets the RST");
	rx_check(&in, &out, (struct rx_want){ true, F_RST | F_ACK, A, S + L, NULL });
	cr_assert_eq(rx_state(&r, NULL), 0, "done with the connection");
	cr_assert_eq(rx_rstats(&r, SL_RSLOT_HTTP).rst, 1);
	rx_close(&r);
}

/* reset on TC: both RSTs from the one segment. */
Test(reject, reset_tc)
{
	__u32 S = 0xfffffff0u, A = 0xffffffffu, L = sizeof(RX_REQ) - 1; /* both wrap */
	struct pb_frame in, out, cl;
	struct rx r;

	rx_open(&r);
	rx_tenant(&r, 1, 1, SL_OVER_RESET);
	in = rx_seg(&r, F_ACK | F_PSH, S - L, A, RX_REQ);
	cr_assert_eq(rx_run(&r, FX_TC, &in, &out), RX_PASS);
	in = rx_seg(&r, F_ACK | F_PSH, S, A, RX_REQ);
	cr_assert_eq(rx_run(&r, FX_TC, &in, &out), RX_PASS);
	rx_check(&in, &out, (struct rx_want){ false, F_RST, S, 0, NULL });
	cr_assert(rx_clone(&r, &cl), "no clone went out of lo");
	rx_check(&in, &cl, (struct rx_want){ true, F_RST | F_ACK, A, S + L, NULL });
	cr_assert_eq(rx_state(&r, NULL), 0, "nothing left to close");
	rx_close(&r);
}

/* A hard quota: Retry-After is the time to the period's end, RateLimit r what is left. */
FX_TEST_BOTH(reject, quota_retry_after)
{
	const char *pre = "HTTP/1.1 429 Too Many Requests\r\nRateLimit: \"q\";r=";
	const char *want = "HTTP/1.1 429 Too Many Requests\r\nRateLimit: \"q\";r=1;t=43\r\n"
			   "Retry-After: 43\r\n\r\n{}";
	struct sl_tquota tq = { .n = 1 };
	struct pb_frame in, out, cl;
	__u32 zero = 0, t = 1, P = (__u32)strlen(want);
	struct rx r;
	int v;

	rx_open(&r);
	rx_tenant(&r, 1000, 1000, SL_OVER_DROP);
	tq.s[0].action = SL_OVER_HTTP429;
	tq.s[0].tag = 5;
	tq.s[0].limit = 3;
	tq.s[0].end_ns = FX_T0 + 42 * FX_SEC + 1; /* 42.000000001 s: 43 whole seconds */
	cr_assert_eq(bpf_map_update_elem(r.x.f.m.qcfg, &t, &tq, BPF_ANY), 0);
	rx_tpl(&r, SL_RK_QUOTA, 1, 0, pre, "{}");
	(void)zero;
	/* Two requests of weight 1, then one of weight 2 (a group) that would pass the limit. */
	hx_group(&r.x, 0, 0, 0, "/v1/heavy", 2, 0, NULL);
	for (int i = 0; i < 2; i++) {
		in = rx_seg(&r, F_ACK | F_PSH, 100 + i * 60, 1, RX_REQ);
		cr_assert_eq(rx_run(&r, h, &in, &out), RX_PASS);
	}
	in = rx_seg(&r, F_ACK | F_PSH, 500, 1,
		    "GET /v1/heavy HTTP/1.1\r\nHost: api\r\nX-API-Key: k1\r\n\r\n");
	v = rx_run(&r, h, &in, &out);
	if (h == FX_XDP) {
		cr_assert_eq(v, RX_TX);
	} else {
		cr_assert_eq(v, RX_PASS);
		cr_assert(rx_clone(&r, &cl));
		out = cl;
	}
	rx_check(&in, &out, (struct rx_want){ true, F_ACK | F_PSH | F_FIN, 1,
					      500 + (__u32)strlen("GET /v1/heavy HTTP/1.1\r\n"
								  "Host: api\r\nX-API-Key: k1\r\n\r\n"),
					      want });
	(void)P;
	rx_close(&r);
}

/* A segment whose connection has no established socket here is never answered with a 429. */
FX_TEST_BOTH(reject, no_socket_no_429)
{
	struct pb_frame in, out;
	struct sl_rstats st;
	struct rx r;

	rx_open(&r);
	rx_tenant(&r, 1, 1, SL_OVER_HTTP429);
	r.c.ep.sport ^= 1; /* another client port: no such connection */
	in = rx_seg(&r, F_ACK | F_PSH, 1, 1, RX_REQ);
	cr_assert_eq(rx_run(&r, h, &in, &out), RX_PASS);
	in = rx_seg(&r, F_ACK | F_PSH, 100, 1, RX_REQ);
	cr_assert_eq(rx_run(&r, h, &in, &out), RX_DROP, "spoofed or half-open: dropped");
	st = rx_rstats(&r, SL_RSLOT_HTTP);
	cr_assert_eq(st.no_socket, 1);
	cr_assert_eq(st.http429 + st.rst, 0);
	r.c.ep.sport ^= 1;
	rx_close(&r);
}

/* The reply limit: past its burst, refusals are dropped and counted as limited. */
FX_TEST_BOTH(reject, reply_limit)
{
	struct pb_frame in, out, cl;
	struct sl_rstats st;
	int answered = 0, dropped = 0;
	struct rx r;

	rx_open(&r);
	rx_tenant(&r, 1, 1, SL_OVER_RESET);
	rx_replies(&r, SL_RSLOT_HTTP, 1, 3);
	in = rx_seg(&r, F_ACK | F_PSH, 1, 1, RX_REQ);
	cr_assert_eq(rx_run(&r, h, &in, &out), RX_PASS);
	for (int i = 0; i < 10; i++) {
		/* Each a new connection's request (no close state to follow). */
		r.c.ep.sport = (__u16)(50000 + i);
		in = rx_seg(&r, F_ACK | F_PSH, 100, 1, RX_REQ);
		switch (rx_run(&r, h, &in, &out)) {
		case RX_DROP:
			dropped++;
			break;
		default:
			answered++;
		}
		while (h == FX_TC && rx_clone(&r, &cl))
			;
	}
	cr_assert_eq(answered, 3, "burst 3");
	cr_assert_eq(dropped, 7);
	st = rx_rstats(&r, SL_RSLOT_HTTP);
	cr_assert_eq(st.rst, 3);
	cr_assert_eq(st.limited, 7);
	rx_close(&r);
}

/* No response text for the refusing limit: the connection is reset instead. */
Test(reject, no_template_resets)
{
	struct pb_frame in, out;
	struct sl_reply_key k = { .kind = SL_RK_TENANT, .idx = 1 };
	struct rx r;

	rx_open(&r);
	rx_tenant(&r, 1, 1, SL_OVER_HTTP429);
	k.gen = (__u8)r.x.gen;
	cr_assert_eq(bpf_map_delete_elem(r.x.f.m.reply, &k), 0);
	in = rx_seg(&r, F_ACK | F_PSH, 1, 1, RX_REQ);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_PASS);
	in = rx_seg(&r, F_ACK | F_PSH, 100, 9, RX_REQ);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_PASS);
	rx_check(&in, &out, (struct rx_want){ false, F_RST, 100, 0, NULL });
	cr_assert_eq(rx_rstats(&r, SL_RSLOT_HTTP).no_template, 1);
	rx_close(&r);
}

/* Dry-run: a refusal is passed and counted, never answered. */
FX_TEST_BOTH(reject, dry_run_never_answers)
{
	struct pb_frame in, out;
	struct sl_config cfg;
	struct sl_rstats st;
	struct rx r;

	rx_open(&r);
	rx_tenant(&r, 1, 1, SL_OVER_HTTP429);
	cr_assert_eq(sl_config_read(r.x.f.m.config, &cfg), 0);
	cfg.g[r.x.gen].dry_run = 1;
	cr_assert_eq(sl_config_write(r.x.f.m.config, &cfg), 0);
	for (int i = 0; i < 3; i++) {
		in = rx_seg(&r, F_ACK | F_PSH, 100 + 60 * i, 1, RX_REQ);
		cr_assert_eq(rx_run(&r, h, &in, &out), RX_PASS);
		cr_assert_eq(out.len, in.len, "unchanged");
		cr_assert_arr_eq(out.data, in.data, in.len);
	}
	st = rx_rstats(&r, SL_RSLOT_HTTP);
	cr_assert_eq(st.http429 + st.rst + st.limited, 0);
	cr_assert_eq(hx_stats(&r.x, 1, SL_GROUP_NONE, 11).req_dryrun, 2);
	rx_close(&r);
}

/* The test connection over IPv6 loopback instead (the same ports field of the HTTP layer). */
static void rx_connect6(struct rx *r)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t al = sizeof(a);

	hx_disconnect(&r->c);
	r->c.lfd = socket(AF_INET6, SOCK_STREAM, 0);
	cr_assert_geq(r->c.lfd, 0);
	cr_assert_eq(bind(r->c.lfd, (struct sockaddr *)&a, sizeof(a)), 0, "bind ::1: %s",
		     strerror(errno));
	cr_assert_eq(listen(r->c.lfd, 4), 0);
	cr_assert_eq(getsockname(r->c.lfd, (struct sockaddr *)&a, &al), 0);
	r->c.ep.dport = ntohs(a.sin6_port);
	r->c.cfd = socket(AF_INET6, SOCK_STREAM, 0);
	cr_assert_eq(connect(r->c.cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	r->c.afd = accept(r->c.lfd, NULL, NULL);
	cr_assert_geq(r->c.afd, 0);
	al = sizeof(a);
	cr_assert_eq(getsockname(r->c.cfd, (struct sockaddr *)&a, &al), 0);
	r->c.ep.sport = ntohs(a.sin6_port);
	r->c.ep.src = "::1";
	r->c.ep.dst = "::1";
	r->x.hc.ports[0] = r->c.ep.dport;
	hx_write_http(&r->x);
	/* The handshake went over lo too: not a clone. */
	for (int i = 0; i < 64 && recv(r->lo, r->scrap, sizeof(r->scrap), MSG_DONTWAIT) > 0; i++)
		;
}

/* IPv6: the same 429, with an IPv6 header and the IPv6 pseudo-header in the checksum. */
FX_TEST_BOTH(reject, http429_ipv6)
{
	const char *resp = RX_PREFIX RX_DYN RX_BODY;
	__u32 S = 77, A = 88, L = sizeof(RX_REQ) - 1;
	struct pb_frame in, out, cl;
	struct rx r;
	int v;

	rx_open(&r);
	rx_connect6(&r);
	rx_tenant(&r, 1, 1, SL_OVER_HTTP429);
	in = rx_seg(&r, F_ACK | F_PSH, S - L, A, RX_REQ);
	cr_assert_eq(in.family, 6);
	cr_assert_eq(rx_run(&r, h, &in, &out), RX_PASS);
	in = rx_seg(&r, F_ACK | F_PSH, S, A, RX_REQ);
	v = rx_run(&r, h, &in, &out);
	if (h == FX_TC) {
		cr_assert_eq(v, RX_PASS);
		rx_check(&in, &out, (struct rx_want){ false, F_RST, S, 0, NULL });
		cr_assert(rx_clone(&r, &cl));
		out = cl;
	} else {
		cr_assert_eq(v, RX_TX);
	}
	rx_check(&in, &out, (struct rx_want){ true, F_ACK | F_PSH | F_FIN, A, S + L, resp });
	rx_close(&r);
}

/* The source rule "all" with a bucket of `burst` packets and refusals answered by `reject`. */
static void rx_rule(struct rx *r, __u64 burst, __u8 reject)
{
	struct sl_lpm_key k = { .prefixlen = SL_LPM_FIXED_BITS, .gen = (__u8)r->x.gen,
				.family = SL_AF_INET };
	struct sl_rule rule;

	cr_assert_eq(bpf_map_lookup_elem(r->x.f.m.rules, &k, &rule), 0, "rule all, IPv4");
	cr_assert_eq(sl_gcra_params_make(1, burst, &rule.agg), 0);
	rule.flags |= SL_RF_FINE;
	rule.reject = reject;
	cr_assert_eq(bpf_map_update_elem(r->x.f.m.rules, &k, &rule, BPF_ANY), 0);
	rx_replies(r, r->slot, 100, 100);
}

/*
 * A source rule with reject: reset answers a SYN over its limit with RST|ACK (there is no
 * socket to reset yet) and any other TCP segment with the pair of RSTs; UDP is dropped.
 */
FX_TEST_BOTH(reject, rule_reset)
{
	struct pb_spec us = { .l4 = IPPROTO_UDP, .src = "127.0.0.1", .dst = "127.0.0.1",
			      .dport = 53, .payload = 20 };
	struct pb_frame in, out, cl, udp = fx_frame(&us);
	struct rx r;

	rx_open(&r);
	rx_rule(&r, 1, SL_OVER_RESET);
	in = rx_seg(&r, F_SYN, 4242, 0, NULL);
	cr_assert_eq(rx_run(&r, h, &in, &out), RX_PASS, "within the burst");
	cr_assert_eq(rx_run(&r, h, &in, &out), RX_TX, "a SYN over the limit: RST|ACK back");
	rx_check(&in, &out, (struct rx_want){ true, F_RST | F_ACK, 0, 4243, NULL });

	in = rx_seg(&r, F_ACK | F_PSH, 1000, 2000, "hello");
	cr_assert_eq(rx_run(&r, h, &in, &out), RX_PASS, "the socket's RST goes up");
	rx_check(&in, &out, (struct rx_want){ false, F_RST, 1000, 0, NULL });
	if (h == FX_TC) {
		cr_assert(rx_clone(&r, &cl));
		rx_check(&in, &cl, (struct rx_want){ true, F_RST | F_ACK, 2000, 1005, NULL });
	}
	cr_assert_eq(fx_send(&r.x.f, h, &udp), FX_DROP, "UDP cannot be answered: dropped");
	cr_assert_eq(rx_rstats(&r, r.slot).rst, 2);
	/* Refusals that are answered never enter the drop cache: each needs its answer. */
	in = rx_seg(&r, F_SYN, 5000, 0, NULL);
	cr_assert_eq(rx_run(&r, h, &in, &out), RX_TX);
	rx_close(&r);
}

/* A body segment refused by the bytes bucket: the server has the request, so a reset. */
Test(reject, body_refused_resets)
{
	struct sl_tenant_cfg tc = { .in_use = 1, .flags = SL_RF_FINE, .bytes_flags = SL_RF_FINE,
				    .action = SL_OVER_HTTP429 };
	static char body[1000];
	struct pb_frame in, out;
	struct rx r;
	__u32 k;

	rx_open(&r);
	rx_tenant(&r, 1000, 1000, SL_OVER_HTTP429);
	k = r.x.gen * SL_MAX_TENANTS + 1;
	cr_assert_eq(sl_gcra_params_make(1000, 1000, &tc.req), 0);
	cr_assert_eq(sl_gcra_params_make(1, 1600, &tc.bytes), 0);
	cr_assert_eq(bpf_map_update_elem(r.x.tenants, &k, &tc, BPF_ANY), 0);
	in = rx_seg(&r, F_ACK | F_PSH, 10, 20,
		    "POST /v1/x HTTP/1.1\r\nHost: api\r\nX-API-Key: k1\r\nContent-Length: 2000\r\n\r\n");
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_PASS, "the request start fits");
	memset(body, 'b', sizeof(body) - 1);
	in = rx_seg(&r, F_ACK | F_PSH, 3000, 20, body);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_PASS);
	in = rx_seg(&r, F_ACK | F_PSH, 4000, 20, body);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_PASS, "over the bytes: the socket's RST");
	rx_check(&in, &out, (struct rx_want){ false, F_RST, 4000, 0, NULL });
	cr_assert_eq(rx_rstats(&r, SL_RSLOT_HTTP).rst, 1);
	rx_close(&r);
}

/*
 * The close-state lookup is skipped unless an entry was made for a connection of the same
 * hash within an entry's lifetime: a stale entry (written here, no reply made) is not looked
 * at.
 */
Test(reject, close_state_skipped_when_idle)
{
	struct sl_flow_key fk = { .family = SL_AF_INET };
	struct sl_reject e = { .expires_ns = ~0ULL, .state = SL_RJ_CLOSING };
	__u64 never = 0;
	__u32 k;
	struct pb_frame in, out;
	struct rx r;

	rx_open(&r);
	rx_tenant(&r, 1000, 1000, SL_OVER_HTTP429);
	fk.cport = r.c.ep.sport;
	fk.sport = r.c.ep.dport;
	inet_pton(AF_INET, r.c.ep.src, fk.caddr);
	inet_pton(AF_INET, r.c.ep.dst, fk.saddr);
	cr_assert_eq(bpf_map_update_elem(r.x.f.m.rejects, &fk, &e, BPF_ANY), 0);
	for (k = 0; k < (1u << SL_RJSEEN_BITS); k += 1) /* no reply ever */
		cr_assert_eq(bpf_map_update_elem(r.x.f.m.rjseen, &k, &never, BPF_ANY), 0);
	in = rx_seg(&r, F_ACK, 5, 5, NULL);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_PASS, "no reply for ~30 s: not looked up");
	cr_assert_arr_eq(out.data, in.data, in.len);
	/* A reply on it just now (sl_rj_note's stamp): the same pure ACK is a closing one's. */
	rx_tenant(&r, 1, 1, SL_OVER_HTTP429);
	in = rx_seg(&r, F_ACK | F_PSH, 100, 1, RX_REQ);
	rx_run(&r, FX_XDP, &in, &out); /* admitted */
	in = rx_seg(&r, F_ACK | F_PSH, 200, 1, RX_REQ);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_TX, "answered: stamps the time");
	in = rx_seg(&r, F_ACK, 5, 5, NULL);
	cr_assert_eq(rx_run(&r, FX_XDP, &in, &out), RX_PASS, "SRV_OWED: the socket's RST");
	cr_assert_eq(out.data[out.l4_off + 13], F_RST);
	rx_close(&r);
}
