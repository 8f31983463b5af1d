/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The HTTP layer's BPF test helpers: its maps written directly, segments, loopback connections. */
#ifndef SLUICE_TEST_HTTPFX_H
#define SLUICE_TEST_HTTPFX_H

#include <arpa/inet.h>
#include <sys/socket.h>

#include "fixture.h"
#include "sluice_gcra.h"
#include "sluice_http.h"
#include "sluice_siphash.h"
#include "tenants.h"


/*
 * The data plane's HTTP maps are written here directly (not through `policy apply`), so each
 * case states exactly the configuration it runs against. Buckets use the precise clock, which
 * test builds read from sl_clock_v1.
 */
#define HX_PORT   8000
#define HX_SECRET0 0x0706050403020100ULL
#define HX_SECRET1 0x0f0e0d0c0b0a0908ULL

struct hx {
	struct fx f;
	int http, keys, tenants, tstate, tstats, flows, egress;
	__u32 gen;
	struct sl_httpcfg hc;
};

static inline void hx_write_http(struct hx *x)
{
	cr_assert_eq(bpf_map_update_elem(x->http, &x->gen, &x->hc, BPF_ANY), 0);
}

/* A test skeleton with a permissive source rule and an HTTP layer on HX_PORT (and 8080). */
static inline void hx_open(struct hx *x)
{
	struct sl_config cfg;

	memset(x, 0, sizeof(*x));
	fx_open(&x->f);
	fx_policy(&x->f, FX_POLICY_ALL(""));
	x->http = bpf_map__fd(x->f.skel->maps.sl_http_v2);
	x->keys = bpf_map__fd(x->f.skel->maps.sl_keys_v2);
	x->tenants = bpf_map__fd(x->f.skel->maps.sl_tenants_v1);
	x->tstate = bpf_map__fd(x->f.skel->maps.sl_tstate_v1);
	x->tstats = bpf_map__fd(x->f.skel->maps.sl_tstats_v3);
	x->flows = bpf_map__fd(x->f.skel->maps.sl_flows_v1);
	x->egress = bpf_program__fd(x->f.skel->progs.sluice_tc_egress);
	cr_assert_eq(sl_config_read(x->f.m.config, &cfg), 0);
	cfg.secret[0] = HX_SECRET0;
	cfg.secret[1] = HX_SECRET1;
	cr_assert_eq(sl_config_write(x->f.m.config, &cfg), 0);
	x->gen = cfg.gen & 1;

	x->hc.ports[0] = HX_PORT;
	x->hc.ports[1] = 8080;
	x->hc.n_ports = 2;
	x->hc.key_flags = SL_HTTP_KF_DEFAULT;
	x->hc.unknown_prefix4 = 32;
	x->hc.unknown_prefix6 = 64;
	x->hc.unknown_flags = SL_RF_FINE;
	cr_assert_eq(sl_gcra_params_make(1000000, 1000000, &x->hc.unknown), 0);
	hx_write_http(x);
}

static inline void hx_unknown(struct hx *x, __u64 rate, __u64 burst)
{
	cr_assert_eq(sl_gcra_params_make(rate, burst, &x->hc.unknown), 0);
	hx_write_http(x);
}

static inline void hx_tenant(struct hx *x, __u16 t, __u64 rate, __u64 burst, __u64 bytes_rate,
		      __u64 bytes_burst)
{
	struct sl_tenant_cfg tc = { .in_use = 1, .flags = SL_RF_FINE, .bytes_flags = SL_RF_FINE };
	__u32 k = x->gen * SL_MAX_TENANTS + t;

	cr_assert_eq(sl_gcra_params_make(rate, burst, &tc.req), 0);
	if (bytes_rate)
		cr_assert_eq(sl_gcra_params_make(bytes_rate, bytes_burst, &tc.bytes), 0);
	cr_assert_eq(bpf_map_update_elem(x->tenants, &k, &tc, BPF_ANY), 0);
}

static inline __u64 hx_hash(const char *key)
{
	struct sl_sipkey sk = { HX_SECRET0, HX_SECRET1 };

	return sl_siphash_mem(&sk, key, strlen(key));
}

static inline void hx_key(struct hx *x, const char *key, __u16 tenant, __u32 key_id)
{
	struct sl_keyval kv = { .key_id = key_id };
	__u64 h = hx_hash(key);

	kv.tenant[x->gen] = tenant;
	kv.tenant[x->gen ^ 1] = SL_TENANT_NONE;
	cr_assert_eq(bpf_map_update_elem(x->keys, &h, &kv, BPF_ANY), 0);
}

static inline void hx_group(struct hx *x, int i, __u16 port, __u8 method, const char *path,
		     __u32 weight, int n_limits, const __u64 *rate_burst)
{
	struct sl_groupcfg *g = &x->hc.groups[i];

	memset(g, 0, sizeof(*g));
	g->port = port;
	g->method = method;
	g->path_len = (__u8)strlen(path);
	memcpy(g->path, path, strlen(path));
	g->weight = weight;
	g->n_limits = (__u8)n_limits;
	for (int l = 0; l < n_limits; l++) {
		cr_assert_eq(sl_gcra_params_make(rate_burst[2 * l], rate_burst[2 * l + 1],
						 &g->limits[l]), 0);
		g->limit_flags[l] = SL_RF_FINE;
	}
	if (i + 1 > x->hc.n_groups)
		x->hc.n_groups = (__u8)(i + 1);
	hx_write_http(x);
}

/* Counters of (tenant, group, key id), summed over CPUs; zero if absent. */
static inline struct sl_tstats hx_stats(struct hx *x, __u16 tenant, __u8 group, __u32 key_id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sl_tstats_key k = { .tenant = tenant, .group = group, .key_id = key_id };
	struct sl_tstats sum = {}, *v = calloc(ncpu, sizeof(*v));

	cr_assert_not_null(v);
	if (!bpf_map_lookup_elem(x->tstats, &k, v))
		sl_tstats_sum(v, ncpu, sizeof(*v), &sum);
	free(v);
	return sum;
}

/* Number of (tenant, group, key) counter entries: "nothing was counted" is 0. */
static inline int hx_nstats(struct hx *x)
{
	struct sl_tstats_key k, next;
	int n = 0;
	bool first = true;

	while (!bpf_map_get_next_key(x->tstats, first ? NULL : &k, &next)) {
		first = false;
		k = next;
		n++;
	}
	return n;
}

/* A TCP segment with `payload` (text, or `len` bytes of it) between two endpoints. */
struct hx_ep {
	const char *src, *dst;
	__u16 sport, dport;
	__u32 seq;
};

static inline struct pb_frame hx_seg(const struct hx_ep *e, const void *payload, size_t len)
{
	struct pb_spec s = { .l3 = strchr(e->src, ':') ? PB_IPV6 : PB_IPV4, .l4 = IPPROTO_TCP,
			     .src = e->src, .dst = e->dst, .sport = e->sport, .dport = e->dport,
			     .payload = len };
	struct pb_frame pf = fx_frame(&s);
	__u32 seq = htonl(e->seq);

	memcpy(pf.data + pf.l4_off + 4, &seq, 4);
	memcpy(pf.data + pf.l4_off + 20, payload, len);
	pb_fix_csums(&pf);
	return pf;
}

static const struct hx_ep hx_default_ep = { "192.0.2.1", "198.51.100.1", 40000, HX_PORT, 1 };

/* Send a request start (text) from the default endpoint; returns FX_PASS or FX_DROP. */
static inline int hx_req(struct hx *x, enum fx_hook h, const char *text)
{
	struct pb_frame pf = hx_seg(&hx_default_ep, text, strlen(text));

	return fx_send(&x->f, h, &pf);
}

#define HX_GET(path, hdrs) "GET " path " HTTP/1.1\r\nHost: api\r\n" hdrs "\r\n"

/* A real TCP connection on loopback, so that bpf_skc_lookup_tcp finds an established socket. */
struct hx_conn {
	int lfd, cfd, afd;
	struct hx_ep ep; /* client -> server */
};

static inline void hx_connect(struct hx_conn *c)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	c->lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(c->lfd, 0);
	cr_assert_eq(bind(c->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(c->lfd, 4), 0);
	cr_assert_eq(getsockname(c->lfd, (struct sockaddr *)&a, &al), 0);
	c->ep.dport = ntohs(a.sin_port);
	c->cfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(c->cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	c->afd = accept(c->lfd, NULL, NULL);
	cr_assert_geq(c->afd, 0);
	al = sizeof(a);
	cr_assert_eq(getsockname(c->cfd, (struct sockaddr *)&a, &al), 0);
	c->ep.sport = ntohs(a.sin_port);
	c->ep.src = "127.0.0.1";
	c->ep.dst = "127.0.0.1";
	c->ep.seq = 1000;
}

/* hx_open() with the HTTP port moved to a real loopback connection's server port. */
static inline void hx_open_conn(struct hx *x, struct hx_conn *c)
{
	hx_open(x);
	hx_connect(c);
	x->hc.ports[0] = c->ep.dport;
	hx_write_http(x);
}

static inline void hx_disconnect(struct hx_conn *c)
{
	close(c->cfd);
	close(c->afd);
	close(c->lfd);
}

static inline int hx_conn_send(struct hx *x, enum fx_hook h, struct hx_conn *c, const char *text,
			size_t len)
{
	struct pb_frame pf = hx_seg(&c->ep, text, len);
	int v = fx_send(&x->f, h, &pf);

	if (v == FX_PASS)
		c->ep.seq += (__u32)len;
	return v;
}

/* A response segment server -> client through TC egress. */
static inline void hx_response(struct hx *x, struct hx_conn *c, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct hx_ep back = { c->ep.dst, c->ep.src, c->ep.dport, c->ep.sport, 5000 };
	static char body[1400];
	struct pb_frame pf;

	memset(body, 'r', sizeof(body));
	cr_assert(len <= sizeof(body));
	pf = hx_seg(&back, body, len);
	o.data_in = pf.data;
	o.data_size_in = pf.len;
	o.repeat = 1;
	cr_assert_eq(bpf_prog_test_run_opts(x->egress, &o), 0, "egress run: %s", strerror(errno));
	cr_assert_eq(o.retval, TC_ACT_UNSPEC, "egress never drops");
}

#endif
