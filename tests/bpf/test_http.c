// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* BPF_PROG_TEST_RUN of the HTTP layer: keys, tenants, unknown keys, groups, flows, bytes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>

#include "fixture.h"
#include "sluice_gcra.h"
#include "sluice_http.h"
#include "sluice_siphash.h"
#include "tenants.h"
#include "httpfx.h"

/* Keys in every accepted form find their tenant; each request counts once, with its key id. */
FX_TEST_BOTH(http, key_forms)
{
	static const char *const reqs[] = {
		HX_GET("/v1/models", "X-API-Key: k-acme-1\r\n"),
		HX_GET("/v1/models", "x-api-key:k-acme-1\r\n"),
		HX_GET("/v1/models", "X-Api-KEY: \t k-acme-1 \r\n"),
		HX_GET("/v1/models", "Authorization: Bearer k-acme-1\r\n"),
		HX_GET("/v1/models", "AUTHORIZATION:   bearer   k-acme-1\r\n"),
		"POST /v1/chat/completions HTTP/1.1\nHost: api\nx-api-key: k-acme-1\n\n",
	};
	struct hx x;

	hx_open(&x);
	hx_tenant(&x, 3, 1000, 1000, 0, 0);
	hx_key(&x, "k-acme-1", 3, 0xabcd0001);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		cr_assert_eq(hx_req(&x, h, reqs[i]), FX_PASS, "request %zu", i);
		cr_assert_eq(hx_stats(&x, 3, SL_GROUP_NONE, 0xabcd0001).req_pass, i + 1,
			     "request %zu was not counted to its tenant:\n%s", i, reqs[i]);
	}
	cr_assert_eq(hx_stats(&x, 3, SL_GROUP_NONE, 0xabcd0001).units, 6);
	cr_assert_eq(hx_nstats(&x), 1, "counted anywhere else");
}

/* The key is found wherever it sits in the first SL_HTTP_SCAN bytes; past them it is not seen. */
FX_TEST_BOTH(http, key_offsets)
{
	char req[1024], pad[700];
	struct hx x;
	int found = 0;

	hx_open(&x);
	hx_tenant(&x, 1, 1000, 1000, 0, 0);
	hx_key(&x, "offset-key", 1, 7);
	for (size_t n = 0; n < sizeof(pad) - 40; n += 23) {
		/* n bytes of padding headers (X-Pad-i: aaa...), then the key header. */
		size_t used = 0;

		pad[0] = 0;
		while (used + 16 < n) {
			int w = snprintf(pad + used, sizeof(pad) - used, "X-Pad: %.*s\r\n",
					 (int)(n - used > 40 ? 30 : n - used - 11), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
			used += (size_t)w;
		}
		snprintf(req, sizeof(req), "GET /x HTTP/1.1\r\n%sX-API-Key: offset-key\r\n\r\n", pad);
		cr_assert_eq(hx_req(&x, h, req), FX_PASS);
		/* The header's value must end inside the scan window to be read whole. */
		size_t key_end = strstr(req, "offset-key\r\n") - req + strlen("offset-key\r");
		struct sl_tstats t = hx_stats(&x, 1, SL_GROUP_NONE, 7);

		if (key_end < SL_HTTP_SCAN) {
			cr_assert_eq(t.req_pass, (__u64)found + 1, "key ending at %zu not found",
				     key_end);
			found++;
		} else {
			cr_assert_eq(t.req_pass, (__u64)found, "key ending at %zu (past the scan) found",
				     key_end);
		}
	}
	cr_assert_gt(found, 10);
	cr_assert_gt(hx_stats(&x, SL_TENANT_UNKNOWN, SL_GROUP_NONE, 0).req_pass, 0,
		     "requests with the key past the scan are unknown-key requests");
}

/* No key, an unknown key, a key cut by the segment's end: the unknown_key bucket, per source. */
FX_TEST_BOTH(http, unknown_keys)
{
	static const char *const reqs[] = {
		HX_GET("/", ""),
		HX_GET("/", "X-API-Key: not-a-tenant\r\n"),
		"GET / HTTP/1.1\r\nHost: api\r\nX-API-Key: k-acme", /* cut: no end of line */
		HX_GET("/", "X-API-Key:\r\n"),                      /* empty value */
	};
	struct hx_ep other = hx_default_ep;
	struct hx x;
	struct pb_frame pf;

	hx_open(&x);
	hx_tenant(&x, 0, 1000, 1000, 0, 0);
	hx_key(&x, "k-acme", 0, 1);
	hx_unknown(&x, 1, 4);
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(hx_req(&x, h, reqs[i]), FX_PASS, "unknown-key request %zu in burst", i);
	cr_assert_eq(hx_req(&x, h, reqs[0]), FX_DROP, "5th unknown-key request within burst 4");
	cr_assert_eq(hx_stats(&x, SL_TENANT_UNKNOWN, SL_GROUP_NONE, 0).req_pass, 4);
	cr_assert_eq(hx_stats(&x, SL_TENANT_UNKNOWN, SL_GROUP_NONE, 0).req_drop, 1);
	cr_assert_eq(hx_stats(&x, 0, SL_GROUP_NONE, 1).req_pass, 0, "cut key matched a tenant");

	/* Another source aggregate has its own bucket: one unknown client cannot starve others. */
	other.src = "192.0.2.2";
	pf = hx_seg(&other, reqs[0], strlen(reqs[0]));
	cr_assert_eq(fx_send(&x.f, h, &pf), FX_PASS);
	/* And a keyed request from the starved source is its tenant's, not unknown. */
	cr_assert_eq(hx_req(&x, h, HX_GET("/", "X-API-Key: k-acme\r\n")), FX_PASS);
	/* A second later, one more unknown-key request fits. */
	fx_clock(&x.f, FX_T0 + FX_SEC);
	cr_assert_eq(hx_req(&x, h, reqs[1]), FX_PASS);
	cr_assert_eq(hx_req(&x, h, reqs[1]), FX_DROP);
}

/* A tenant gets rate x time + burst requests, and its drops are counted. */
FX_TEST_BOTH(http, tenant_bucket)
{
	const char *req = HX_GET("/v1/models", "X-API-Key: k-free\r\n");
	struct hx x;
	int passed = 0;

	hx_open(&x);
	hx_tenant(&x, 5, 2, 3, 0, 0);
	hx_key(&x, "k-free", 5, 9);
	for (int i = 0; i < 10; i++)
		passed += hx_req(&x, h, req) == FX_PASS;
	cr_assert_eq(passed, 3, "burst 3");
	fx_clock(&x.f, FX_T0 + FX_SEC);
	for (int i = 0; i < 10; i++)
		passed += hx_req(&x, h, req) == FX_PASS;
	cr_assert_eq(passed, 5, "one second at 2/s");
	cr_assert_eq(hx_stats(&x, 5, SL_GROUP_NONE, 9).req_pass, 5);
	cr_assert_eq(hx_stats(&x, 5, SL_GROUP_NONE, 9).req_drop, 15);
}

/* Dry-run: would-be drops pass and are counted as such. */
FX_TEST_BOTH(http, dry_run)
{
	const char *req = HX_GET("/", "X-API-Key: k\r\n");
	struct hx x;

	hx_open(&x);
	fx_policy(&x.f, FX_POLICY_ALL("dry_run: true\n"));
	x.gen ^= 1; /* the apply flipped the generation: rewrite the HTTP layer for the new one */
	hx_write_http(&x);
	hx_tenant(&x, 0, 1, 1, 0, 0);
	hx_key(&x, "k", 0, 1);
	cr_assert_eq(hx_req(&x, h, req), FX_PASS);
	cr_assert_eq(hx_req(&x, h, req), FX_PASS);
	cr_assert_eq(hx_stats(&x, 0, SL_GROUP_NONE, 1).req_pass, 1);
	cr_assert_eq(hx_stats(&x, 0, SL_GROUP_NONE, 1).req_dryrun, 1);
}

/* Not HTTP on the HTTP port (TLS, HTTP/2, garbage, an unknown method): passed, not counted. */
FX_TEST_BOTH(http, not_http)
{
	static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
	static const char *const texts[] = {
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", /* HTTP/2 connection preface */
		"GETX / HTTP/1.1\r\n\r\n",
		"GET / SPDY/3\r\n\r\n",
		"OPTIONS\r\n",
		"hello world\n",
		"POST  / HTTP/1.1\r\n\r\n", /* empty target */
	};
	struct hx x;
	struct pb_frame pf;

	hx_open(&x);
	hx_unknown(&x, 1, 1);
	pf = hx_seg(&hx_default_ep, tls, sizeof(tls) - 1);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(fx_send(&x.f, h, &pf), FX_PASS, "TLS record");
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		for (int j = 0; j < 3; j++)
			cr_assert_eq(hx_req(&x, h, texts[i]), FX_PASS, "%s", texts[i]);
	cr_assert_eq(hx_nstats(&x), 0, "something was counted as a request");
	/* A port that is not an HTTP port is not looked at. */
	{
		struct hx_ep e = hx_default_ep;
		const char *r = HX_GET("/", "");

		e.dport = 9000;
		pf = hx_seg(&e, r, strlen(r));
		for (int j = 0; j < 3; j++)
			cr_assert_eq(fx_send(&x.f, h, &pf), FX_PASS);
		cr_assert_eq(hx_nstats(&x), 0);
	}
}

/* Pipelined requests in one segment: the segment is one request, charged to the first's key. */
FX_TEST_BOTH(http, pipelined)
{
	const char *two = HX_GET("/a", "X-API-Key: k-one\r\n") HX_GET("/b", "X-API-Key: k-two\r\n");
	struct hx x;

	hx_open(&x);
	hx_tenant(&x, 1, 1000, 1000, 0, 0);
	hx_tenant(&x, 2, 1000, 1000, 0, 0);
	hx_key(&x, "k-one", 1, 11);
	hx_key(&x, "k-two", 2, 22);
	cr_assert_eq(hx_req(&x, h, two), FX_PASS);
	cr_assert_eq(hx_stats(&x, 1, SL_GROUP_NONE, 11).req_pass, 1);
	cr_assert_eq(hx_stats(&x, 2, SL_GROUP_NONE, 22).req_pass, 0);
	cr_assert_eq(hx_nstats(&x), 1);
}

/*
 * Groups: first match wins (a path that matches two groups is the first's), the weight is the
 * request's cost in units, and a group's limit that refuses a request gives back what the
 * tenant's bucket took for it.
 */
FX_TEST_BOTH(http, groups)
{
	const char *chat = "POST /v1/chat/completions HTTP/1.1\r\nX-API-Key: kg\r\n\r\n";
	const char *chat_get = "GET /v1/chat/completions HTTP/1.1\r\nX-API-Key: kg\r\n\r\n";
	const char *models = "GET /v1/models?x=1 HTTP/1.1\r\nX-API-Key: kg\r\n\r\n";
	const char *other = "GET /health HTTP/1.1\r\nX-API-Key: kg\r\n\r\n";
	const __u64 chat_lim[] = { 1, 1 };
	struct hx x;

	hx_open(&x);
	hx_tenant(&x, 4, 1, 3, 0, 0); /* burst 3 */
	hx_key(&x, "kg", 4, 44);
	hx_group(&x, 0, HX_PORT, SL_HTTP_POST, "/v1/chat/completions", 10, 1, chat_lim);
	hx_group(&x, 1, 0, 0, "/v1/", 2, 0, NULL);

	cr_assert_eq(hx_req(&x, h, chat), FX_PASS);
	cr_assert_eq(hx_stats(&x, 4, 0, 44).req_pass, 1, "chat counted in group 0");
	cr_assert_eq(hx_stats(&x, 4, 0, 44).units, 10, "weight 10");
	/* The group's limit refuses; the tenant's bucket keeps its 2 remaining requests. */
	cr_assert_eq(hx_req(&x, h, chat), FX_DROP);
	cr_assert_eq(hx_req(&x, h, chat), FX_DROP);
	cr_assert_eq(hx_stats(&x, 4, 0, 44).req_drop, 2);
	/* GET on the chat path is not POST: group 1 (prefix /v1/), weight 2. */
	cr_assert_eq(hx_req(&x, h, chat_get), FX_PASS, "tenant was charged for refused requests");
	cr_assert_eq(hx_req(&x, h, models), FX_PASS);
	cr_assert_eq(hx_stats(&x, 4, 1, 44).req_pass, 2);
	cr_assert_eq(hx_stats(&x, 4, 1, 44).units, 4);
	/* Burst 3 used up: the tenant's own bucket refuses a request of no group. */
	cr_assert_eq(hx_req(&x, h, other), FX_DROP);
	cr_assert_eq(hx_stats(&x, 4, SL_GROUP_NONE, 44).req_drop, 1);
}

/* Group limits apply in order, and a request refused by a later one is charged to none. */
FX_TEST_BOTH(http, group_limits_order)
{
	const char *req = "POST /v1/embeddings HTTP/1.1\r\nX-API-Key: ko\r\n\r\n";
	const __u64 lims[] = { 1000, 5, 1000, 2 }; /* second limit is the tighter one */
	struct hx x;
	int passed = 0;

	hx_open(&x);
	hx_tenant(&x, 2, 1000, 1000, 0, 0);
	hx_key(&x, "ko", 2, 1);
	hx_group(&x, 0, 0, SL_HTTP_POST, "/v1/embeddings", 1, 2, lims);
	for (int i = 0; i < 6; i++)
		passed += hx_req(&x, h, req) == FX_PASS;
	cr_assert_eq(passed, 2);
	/* Had the first limit been charged for the 4 refusals it would now be empty (5 - 6 < 0). */
	const __u64 relaxed[] = { 1000, 5, 1000, 1000 };

	hx_group(&x, 0, 0, SL_HTTP_POST, "/v1/embeddings", 1, 2, relaxed);
	passed = 0;
	for (int i = 0; i < 5; i++)
		passed += hx_req(&x, h, req) == FX_PASS;
	cr_assert_eq(passed, 3, "first limit: burst 5 minus the 2 admitted");
}

/*
 * Body segments of a connection are charged to the tenant of its last admitted request, in
 * bytes_in and its bytes bucket; responses count in bytes_out. A retransmitted request start
 * passes without a second charge.
 */
FX_TEST_BOTH(http, flow_bytes)
{
	const char *req = "POST /v1/chat/completions HTTP/1.1\r\nX-API-Key: kf\r\nContent-Length: "
			  "2000\r\n\r\n";
	static char body[1000];
	struct hx_conn c;
	struct hx x;
	struct sl_tstats t;
	__u32 seq0;

	memset(body, 'b', sizeof(body));
	hx_open_conn(&x, &c);
	/* 2 requests/s, burst 2; bytes: burst 3000 at 1000/s. */
	hx_tenant(&x, 6, 2, 2, 1000, 3000);
	hx_key(&x, "kf", 6, 66);

	seq0 = c.ep.seq;
	cr_assert_eq(hx_conn_send(&x, h, &c, req, strlen(req)), FX_PASS);
	/* The same request start again: a retransmission. */
	c.ep.seq = seq0;
	cr_assert_eq(hx_conn_send(&x, h, &c, req, strlen(req)), FX_PASS);
	t = hx_stats(&x, 6, SL_GROUP_NONE, 66);
	cr_assert_eq(t.req_pass, 1);
	cr_assert_eq(t.req_retrans, 1);
	cr_assert_eq(t.bytes_in, strlen(req));

	/* Body: 1000 bytes fit what is left of the 3000-byte bytes burst ... */
	cr_assert_eq(hx_conn_send(&x, h, &c, body, sizeof(body)), FX_PASS);
	cr_assert_eq(hx_conn_send(&x, h, &c, body, sizeof(body)), FX_PASS);
	/* ... and the next 1000 do not (3000 - len(req) - 2000 < 1000): dropped, counted. */
	cr_assert_eq(hx_conn_send(&x, h, &c, body, sizeof(body)), FX_DROP);
	t = hx_stats(&x, 6, SL_GROUP_NONE, 66);
	cr_assert_eq(t.bytes_in, strlen(req) + 2000);
	cr_assert_eq(t.bytes_drop, 1000);
	cr_assert_eq(t.req_pass, 1, "body segments are not requests");

	hx_response(&x, &c, 700);
	hx_response(&x, &c, 300);
	cr_assert_eq(hx_stats(&x, 6, SL_GROUP_NONE, 66).bytes_out, 1000);
	hx_disconnect(&c);
}

/* A connection without an established socket (spoofed, half-open) never enters the table. */
FX_TEST_BOTH(http, flow_needs_socket)
{
	const char *req = HX_GET("/", "X-API-Key: ks\r\n");
	static char body[200];
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info);
	struct sl_flow_key k;
	struct pb_frame pf;
	struct hx x;

	memset(body, 'b', sizeof(body));
	hx_open(&x);
	hx_tenant(&x, 1, 1000, 1000, 0, 0);
	hx_key(&x, "ks", 1, 5);
	cr_assert_eq(hx_req(&x, h, req), FX_PASS, "the request itself is judged and admitted");
	pf = hx_seg(&hx_default_ep, body, sizeof(body));
	cr_assert_eq(fx_send(&x.f, h, &pf), FX_PASS);
	cr_assert_eq(hx_stats(&x, 1, SL_GROUP_NONE, 5).bytes_in, strlen(req), "body counted");
	cr_assert_neq(bpf_map_get_next_key(x.flows, NULL, &k), 0, "flow table not empty");
	cr_assert_eq(bpf_obj_get_info_by_fd(x.flows, &info, &ilen), 0);
	cr_assert_eq(info.max_entries, SL_FLOWS_MAX);
}

/* IPv6 requests: keys, and per-/64 unknown-key aggregates. */
FX_TEST_BOTH(http, ipv6)
{
	struct hx_ep a = { "2001:db8:1:2::10", "2001:db8::1", 40000, HX_PORT, 1 };
	struct hx_ep b = a;
	const char *anon = HX_GET("/", "");
	const char *keyed = HX_GET("/", "Authorization: Bearer k6\r\n");
	struct pb_frame pf;
	struct hx x;

	hx_open(&x);
	hx_unknown(&x, 1, 1);
	hx_tenant(&x, 9, 1000, 1000, 0, 0);
	hx_key(&x, "k6", 9, 6);
	pf = hx_seg(&a, anon, strlen(anon));
	cr_assert_eq(fx_send(&x.f, h, &pf), FX_PASS);
	b.src = "2001:db8:1:2::99"; /* same /64: same bucket */
	pf = hx_seg(&b, anon, strlen(anon));
	cr_assert_eq(fx_send(&x.f, h, &pf), FX_DROP);
	b.src = "2001:db8:1:3::99"; /* another /64 */
	pf = hx_seg(&b, anon, strlen(anon));
	cr_assert_eq(fx_send(&x.f, h, &pf), FX_PASS);
	pf = hx_seg(&a, keyed, strlen(keyed));
	cr_assert_eq(fx_send(&x.f, h, &pf), FX_PASS);
	cr_assert_eq(hx_stats(&x, 9, SL_GROUP_NONE, 6).req_pass, 1);
}

/* A key that moves to another tenant with the generation flip follows the flip at once. */
FX_TEST_BOTH(http, key_generations)
{
	const char *req = HX_GET("/", "X-API-Key: kmove\r\n");
	struct sl_keyval kv = { .key_id = 3 };
	struct sl_config cfg;
	__u64 hsh = hx_hash("kmove");
	struct hx x;

	hx_open(&x);
	hx_tenant(&x, 1, 1000, 1000, 0, 0);
	x.gen ^= 1;
	hx_tenant(&x, 2, 1000, 1000, 0, 0);
	hx_write_http(&x);
	x.gen ^= 1;
	kv.tenant[x.gen] = 1;
	kv.tenant[x.gen ^ 1] = 2;
	cr_assert_eq(bpf_map_update_elem(x.keys, &hsh, &kv, BPF_ANY), 0);
	cr_assert_eq(hx_req(&x, h, req), FX_PASS);
	cr_assert_eq(hx_stats(&x, 1, SL_GROUP_NONE, 3).req_pass, 1);
	cr_assert_eq(sl_config_read(x.f.m.config, &cfg), 0);
	cfg.gen ^= 1;
	cr_assert_eq(sl_config_write(x.f.m.config, &cfg), 0);
	cr_assert_eq(hx_req(&x, h, req), FX_PASS);
	cr_assert_eq(hx_stats(&x, 2, SL_GROUP_NONE, 3).req_pass, 1);
}

/*
 * Headers that go on in a later segment: the request start is judged on its own segment, so a
 * key that only comes later is not seen (an unknown-key request), and the later segment is a
 * body segment of the connection (docs/http.md).
 */
FX_TEST_BOTH(http, headers_split)
{
	const char *part1 = "GET /v1/models HTTP/1.1\r\nHost: api\r\n";
	const char *part2 = "X-API-Key: klate\r\n\r\n";
	struct hx_conn c;
	struct hx x;

	hx_open_conn(&x, &c);
	hx_tenant(&x, 1, 1000, 1000, 0, 0);
	hx_key(&x, "klate", 1, 1);
	cr_assert_eq(hx_conn_send(&x, h, &c, part1, strlen(part1)), FX_PASS);
	cr_assert_eq(hx_conn_send(&x, h, &c, part2, strlen(part2)), FX_PASS);
	cr_assert_eq(hx_stats(&x, 1, SL_GROUP_NONE, 1).req_pass, 0);
	cr_assert_eq(hx_stats(&x, SL_TENANT_UNKNOWN, SL_GROUP_NONE, 0).req_pass, 1);
	cr_assert_eq(hx_stats(&x, SL_TENANT_UNKNOWN, SL_GROUP_NONE, 0).bytes_in,
		     strlen(part1) + strlen(part2), "the rest of the headers are body bytes");
	hx_disconnect(&c);
}

/* A body segment that starts like a method but is no request line is still a body segment. */
FX_TEST_BOTH(http, body_like_method)
{
	const char *req = "POST /v1/upload HTTP/1.1\r\nX-API-Key: kb\r\nContent-Length: 800\r\n\r\n";
	static char body[1000];
	struct hx_conn c;
	struct hx x;

	memset(body, 'G', sizeof(body));
	hx_open_conn(&x, &c);
	hx_tenant(&x, 2, 1000, 1000, 1000, 1514); /* bytes burst: the request and one body */
	hx_key(&x, "kb", 2, 2);
	cr_assert_eq(hx_conn_send(&x, h, &c, req, strlen(req)), FX_PASS);
	cr_assert_eq(hx_conn_send(&x, h, &c, body, 600), FX_PASS);
	cr_assert_eq(hx_stats(&x, 2, SL_GROUP_NONE, 2).bytes_in, strlen(req) + 600);
	cr_assert_eq(hx_conn_send(&x, h, &c, body, 900), FX_DROP, "bytes bucket not charged");
	cr_assert_eq(hx_stats(&x, 2, SL_GROUP_NONE, 2).bytes_drop, 900);
	cr_assert_eq(hx_stats(&x, 2, SL_GROUP_NONE, 2).req_pass, 1);
	hx_disconnect(&c);
}

/* A full counter table: further (group, key) combinations count in the tenant's overflow cell. */
FX_TEST_BOTH(http, counters_full)
{
	char key[16], req[128];
	struct sl_tstats sum = {};
	struct hx x;

	fx_tstats_max = 2;
	hx_open(&x);
	hx_tenant(&x, 1, 1000, 1000, 0, 0);
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "kfull%d", i);
		hx_key(&x, key, 1, 100 + i);
		snprintf(req, sizeof(req), HX_GET("/", "X-API-Key: %s\r\n"), key);
		cr_assert_eq(hx_req(&x, h, req), FX_PASS);
	}
	cr_assert_eq(hx_nstats(&x), 2);
	cr_assert_eq(hx_stats(&x, 1, SL_GROUP_NONE, 100).req_pass, 1);
	cr_assert_eq(hx_stats(&x, 1, SL_GROUP_NONE, 101).req_pass, 1);
	cr_assert_eq(sl_tovf_read(bpf_map__fd(x.f.skel->maps.sl_tovf_v1), 1, &sum), 0);
	cr_assert_eq(sum.req_pass, 3, "the 3 requests past the table's 2 entries");
	cr_assert_eq(sum.units, 3);
}

/* Body bytes that happen to start a segment with a request line are taken for a request. */
FX_TEST_BOTH(http, body_like_request)
{
	const char *req = "POST /v1/upload HTTP/1.1\r\nX-API-Key: kr\r\nContent-Length: 99\r\n\r\n";
	const char *body = "GET /inside-a-body HTTP/1.1\r\n\r\n";
	struct hx_conn c;
	struct hx x;

	hx_open_conn(&x, &c);
	hx_tenant(&x, 1, 1000, 1000, 0, 0);
	hx_key(&x, "kr", 1, 1);
	cr_assert_eq(hx_conn_send(&x, h, &c, req, strlen(req)), FX_PASS);
	cr_assert_eq(hx_conn_send(&x, h, &c, body, strlen(body)), FX_PASS);
	/* No key in it: an unknown-key request of its own, and the connection now unknown's. */
	cr_assert_eq(hx_stats(&x, 1, SL_GROUP_NONE, 1).req_pass, 1);
	cr_assert_eq(hx_stats(&x, SL_TENANT_UNKNOWN, SL_GROUP_NONE, 0).req_pass, 1);
	hx_disconnect(&c);
}

/*
 * Quotas (bpf/quota.bpf.h). The controller's part (periods, tags) is played here by writing
 * sl_qcfg_v1 directly, under its lock as `sluice run` does.
 */
struct hq_slot {
	__u8 mode, profile, prefix4, prefix6, flags;
	__u32 tag, tag_next;
	__u64 limit, limit_next, end_ns, base, base_next;
};

static void hq_set(struct hx *x, __u16 tenant, int n, const struct hq_slot *q)
{
	struct sl_tquota tq = { .n = (__u32)n };
	__u32 k = tenant;

	for (int i = 0; i < n; i++) {
		tq.s[i] = (struct sl_qslot){ .mode = q[i].mode, .profile = q[i].profile,
					    .prefix4 = q[i].prefix4, .prefix6 = q[i].prefix6,
					    .flags = q[i].flags,
					    .tag = q[i].tag, .tag_next = q[i].tag_next,
					    .limit = q[i].limit, .limit_next = q[i].limit_next,
					    .end_ns = q[i].end_ns, .base = q[i].base,
					    .base_next = q[i].base_next };
	}
	cr_assert_eq(bpf_map_update_elem(x->f.m.qcfg, &k, &tq, BPF_F_LOCK), 0, "qcfg: %s",
		     strerror(errno));
}

/* The counter word of (tenant, slot) with profile tenant; 0 if absent. */
static __u64 hq_word(struct hx *x, __u16 tenant, __u8 slot)
{
	struct sl_qkey k = { .tenant = tenant, .slot = slot };
	__u64 w = 0;

	bpf_map_lookup_elem(x->f.m.qcnt, &k, &w);
	return w;
}

/* A word the data plane kept at a turn of tag `tag` (sluice_abi.h, SL_QSNAP_ID); ~0: none. */
static __u64 hq_snap(struct hx *x, __u16 tenant, __u8 slot, __u32 tag)
{
	struct sl_qkey k = { .tenant = tenant, .slot = slot,
			     .key_id = SL_QSNAP_ID | (tag % SL_QSNAP_RING) };
	__u64 w = ~0ULL;

	bpf_map_lookup_elem(x->f.m.qcnt, &k, &w);
	return w;
}

#define HQ_WORD(tag, used) (((__u64)(tag) << SL_QUSED_BITS) | (used))
#define HQ_REQ HX_GET("/v1/chat", "X-API-Key: qk-1\r\n")

/* A tenant with a generous rate and key qk-1 (key id 0x51). */
static void hq_open(struct hx *x)
{
	hx_open(x);
	hx_tenant(x, 2, 1000000, 1000000, 0, 0);
	hx_key(x, "qk-1", 2, 0x51);
}

/* A hard quota admits exactly its limit; refusals count as req_drop and req_quota. */
FX_TEST_BOTH(quota, hard_exact)
{
	struct hq_slot q = { .tag = 7, .limit = 5 };
	struct sl_tstats t;
	struct hx x;
	int pass = 0;

	hq_open(&x);
	hq_set(&x, 2, 1, &q);
	for (int i = 0; i < 9; i++)
		pass += hx_req(&x, h, HQ_REQ) == FX_PASS;
	cr_assert_eq(pass, 5);
	t = hx_stats(&x, 2, SL_GROUP_NONE, 0x51);
	cr_assert_eq(t.req_pass, 5);
	cr_assert_eq(t.req_drop, 4);
	cr_assert_eq(t.req_quota, 4);
	cr_assert_eq(t.units_over, 0);
	cr_assert_eq(hq_word(&x, 2, 0), HQ_WORD(7, 5));
}

/* Quotas count cost units: a group of weight 3 takes 3, and a request that would pass is refused. */
FX_TEST_BOTH(quota, weights)
{
	struct hq_slot q = { .tag = 1, .limit = 10 };
	struct hx x;

	hq_open(&x);
	hx_group(&x, 0, 0, 0, "/heavy", 3, 0, NULL);
	hq_set(&x, 2, 1, &q);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(hx_req(&x, h, HX_GET("/heavy", "X-API-Key: qk-1\r\n")), FX_PASS);
	/* 9 used: another 3 would make 12 > 10, but 1 fits. */
	cr_assert_eq(hx_req(&x, h, HX_GET("/heavy", "X-API-Key: qk-1\r\n")), FX_DROP);
	cr_assert_eq(hx_req(&x, h, HQ_REQ), FX_PASS);
	cr_assert_eq(hx_req(&x, h, HQ_REQ), FX_DROP);
	cr_assert_eq(hq_word(&x, 2, 0), HQ_WORD(1, 10));
	cr_assert_eq(hx_stats(&x, 2, 0, 0x51).req_quota, 1);
}

/* A request the rate bucket refuses gives its quota units back. */
FX_TEST_BOTH(quota, refund_on_rate_refusal)
{
	struct hq_slot q = { .tag = 1, .limit = 100 };
	struct hx x;
	int pass = 0;

	hq_open(&x);
	hx_tenant(&x, 2, 1, 2, 0, 0);
	hq_set(&x, 2, 1, &q);
	for (int i = 0; i < 6; i++)
		pass += hx_req(&x, h, HQ_REQ) == FX_PASS;
	cr_assert_eq(pass, 2);
	cr_assert_eq(hq_word(&x, 2, 0), HQ_WORD(1, 2), "refused requests used quota");
	cr_assert_eq(hx_stats(&x, 2, SL_GROUP_NONE, 0x51).req_quota, 0);
}

/* Of two quotas, the second refusing gives back what the first took. */
FX_TEST_BOTH(quota, second_refuses)
{
	struct hq_slot q[2] = { { .tag = 1, .limit = 100 }, { .tag = 4, .limit = 2 } };
	struct hx x;

	hq_open(&x);
	hq_set(&x, 2, 2, q);
	for (int i = 0; i < 5; i++)
		hx_req(&x, h, HQ_REQ);
	cr_assert_eq(hq_word(&x, 2, 0), HQ_WORD(1, 2));
	cr_assert_eq(hq_word(&x, 2, 1), HQ_WORD(4, 2));
	cr_assert_eq(hx_stats(&x, 2, SL_GROUP_NONE, 0x51).req_quota, 3);
}

/* At end_ns the period turns on its own: the next tag and limit apply, the count restarts. */
FX_TEST_BOTH(quota, period_turns_at_end)
{
	struct hq_slot q = { .tag = 7, .tag_next = 8, .limit = 2, .limit_next = 3,
			     .end_ns = FX_T0 + FX_SEC };
	struct hx x;
	int pass = 0;

	hq_open(&x);
	hq_set(&x, 2, 1, &q);
	for (int i = 0; i < 4; i++)
		pass += hx_req(&x, h, HQ_REQ) == FX_PASS;
	cr_assert_eq(pass, 2);
	fx_clock(&x.f, FX_T0 + FX_SEC - 1);
	cr_assert_eq(hx_req(&x, h, HQ_REQ), FX_DROP, "turned before its end");
	fx_clock(&x.f, FX_T0 + FX_SEC);
	for (pass = 0; pass < 4 && hx_req(&x, h, HQ_REQ) == FX_PASS;)
		pass++;
	cr_assert_eq(pass, 3);
	cr_assert_eq(hq_word(&x, 2, 0), HQ_WORD(8, 3));
	cr_assert_eq(hq_snap(&x, 2, 0, 7), HQ_WORD(7, 2), "the closed period's count is kept");
	/* A new tag from the controller (a reset) starts the count over. */
	q = (struct hq_slot){ .tag = 9, .limit = 1 };
	hq_set(&x, 2, 1, &q);
	cr_assert_eq(hx_req(&x, h, HQ_REQ), FX_PASS);
	cr_assert_eq(hx_req(&x, h, HQ_REQ), FX_DROP);
}

/*
 * A rolling window counts across slices; its limit grows by what leaves the window, and the
 * request that opens a slice records the count the slice starts with.
 */
FX_TEST_BOTH(quota, rolling_window)
{
	struct hq_slot q = { .flags = SL_QF_ROLLING, .tag = 10, .tag_next = 11, .limit = 5,
			     .limit_next = 5, .base_next = 2, .end_ns = FX_T0 + FX_SEC };
	struct hx x;
	int pass = 0;

	hq_open(&x);
	hq_set(&x, 2, 1, &q);
	for (int i = 0; i < 7; i++)
		pass += hx_req(&x, h, HQ_REQ) == FX_PASS;
	cr_assert_eq(pass, 5);
	cr_assert_eq(hq_snap(&x, 2, 0, 10), HQ_WORD(10, 0));
	/* The next slice: 2 units have left the window, so 2 more fit, counted on from 5. */
	fx_clock(&x.f, FX_T0 + FX_SEC);
	for (pass = 0; pass < 5 && hx_req(&x, h, HQ_REQ) == FX_PASS;)
		pass++;
	cr_assert_eq(pass, 2);
	cr_assert_eq(hq_word(&x, 2, 0), HQ_WORD(11, 7));
	cr_assert_eq(hq_snap(&x, 2, 0, 11), HQ_WORD(11, 5));
	/* The controller moves on (tag 11 current, 12 next): the count is not reset. */
	q = (struct hq_slot){ .flags = SL_QF_ROLLING, .tag = 11, .tag_next = 12, .limit = 5,
			      .limit_next = 5, .base = 3, .end_ns = FX_T0 + 2 * FX_SEC };
	hq_set(&x, 2, 1, &q);
	cr_assert_eq(hx_req(&x, h, HQ_REQ), FX_PASS);
	cr_assert_eq(hx_req(&x, h, HQ_REQ), FX_DROP);
	cr_assert_eq(hq_word(&x, 2, 0), HQ_WORD(11, 8));
	/* The count wraps modulo 2^40; the window is what is past base, across the wrap. */
	{
		struct sl_qkey k = { .tenant = 2 };
		__u64 w = HQ_WORD(11, SL_QUSED_MASK - 1);

		cr_assert_eq(bpf_map_update_elem(x.f.m.qcnt, &k, &w, BPF_ANY), 0);
		q.base = SL_QUSED_MASK - 3; /* 2 in the window */
		hq_set(&x, 2, 1, &q);
		for (pass = 0; pass < 6 && hx_req(&x, h, HQ_REQ) == FX_PASS;)
			pass++;
		cr_assert_eq(pass, 3);
		cr_assert_eq(hq_word(&x, 2, 0), HQ_WORD(11, 1));
	}
}

/* A soft quota admits past its limit and counts the units past it as overage. */
FX_TEST_BOTH(quota, soft_overage)
{
	struct hq_slot q = { .mode = 1, .tag = 1, .limit = 4 };
	struct sl_tstats t;
	struct hx x;

	hq_open(&x);
	hx_group(&x, 0, 0, 0, "/heavy", 3, 0, NULL);
	hq_set(&x, 2, 1, &q);
	/* 3 (used 3), 3 (6: 2 over), 3 (9: 3 over), 1 (10: 1 over). */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(hx_req(&x, h, HX_GET("/heavy", "X-API-Key: qk-1\r\n")), FX_PASS);
	cr_assert_eq(hx_req(&x, h, HQ_REQ), FX_PASS);
	t = hx_stats(&x, 2, 0, 0x51);
	cr_assert_eq(t.req_pass, 3);
	cr_assert_eq(t.units, 9);
	cr_assert_eq(t.units_over, 5);
	cr_assert_eq(hx_stats(&x, 2, SL_GROUP_NONE, 0x51).units_over, 1);
	cr_assert_eq(hq_word(&x, 2, 0), HQ_WORD(1, 10));
}

/* Profile key: each key of the tenant has its own count; profile source: each aggregate. */
FX_TEST_BOTH(quota, profiles)
{
	struct hq_slot q[2] = { { .profile = 1, .tag = 1, .limit = 2 },
				{ .profile = 2, .prefix4 = 24, .tag = 1, .limit = 3 } };
	struct hx_ep a = hx_default_ep, b = hx_default_ep;
	struct pb_frame pf;
	struct hx x;
	int pass = 0;

	hq_open(&x);
	hx_key(&x, "qk-2", 2, 0x52);
	hq_set(&x, 2, 1, q);
	for (int i = 0; i < 4; i++) {
		pass += hx_req(&x, h, HQ_REQ) == FX_PASS;
		pass += hx_req(&x, h, HX_GET("/v1/chat", "X-API-Key: qk-2\r\n")) == FX_PASS;
	}
	cr_assert_eq(pass, 4, "two per key");

	hq_set(&x, 2, 1, &q[1]);
	a.src = "192.0.2.7";  /* same /24 as the default source */
	b.src = "192.0.3.7";
	pass = 0;
	for (int i = 0; i < 3; i++) {
		pf = hx_seg(&a, HQ_REQ, strlen(HQ_REQ));
		pass += fx_send(&x.f, h, &pf) == FX_PASS;
		pf = hx_seg(&b, HQ_REQ, strlen(HQ_REQ));
		pass += fx_send(&x.f, h, &pf) == FX_PASS;
		pass += hx_req(&x, h, HQ_REQ) == FX_PASS;
	}
	cr_assert_eq(pass, 6, "three per /24 (192.0.2.0/24 and 192.0.3.0/24)");
}

/* Dry-run: an exhausted hard quota passes the request as dryrun and takes nothing more. */
FX_TEST_BOTH(quota, quota_dry_run)
{
	struct hq_slot q = { .tag = 1, .limit = 1 };
	struct sl_tstats t;
	struct hx x;

	hx_open(&x);
	fx_policy(&x.f, FX_POLICY_ALL("dry_run: true\n"));
	x.gen ^= 1;
	hx_write_http(&x);
	hx_tenant(&x, 2, 1000000, 1000000, 0, 0);
	hx_key(&x, "qk-1", 2, 0x51);
	hq_set(&x, 2, 1, &q);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(hx_req(&x, h, HQ_REQ), FX_PASS);
	t = hx_stats(&x, 2, SL_GROUP_NONE, 0x51);
	cr_assert_eq(t.req_pass, 1);
	cr_assert_eq(t.req_dryrun, 2);
	cr_assert_eq(hq_word(&x, 2, 0), HQ_WORD(1, 1));
}

/* Both CPUs at once on one hard quota: exactly the limit is admitted, never one more. */
struct hq_race {
	struct hx *x;
	int cpu;
	struct pb_frame pf;
	int err;
};

static void *hq_race_run(void *arg)
{
	struct hq_race *r = arg;
	LIBBPF_OPTS(bpf_test_run_opts, o);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	o.data_in = r->pf.data;
	o.data_size_in = r->pf.len;
	o.repeat = 20000;
	r->err = bpf_prog_test_run_opts(r->x->f.prog[FX_XDP], &o);
	return NULL;
}

Test(quota, both_cpus_exact)
{
	struct hq_slot q = { .tag = 3, .limit = 25000 };
	struct hq_race r[2];
	pthread_t th[2];
	struct sl_tstats t;
	struct hx x;

	if (libbpf_num_possible_cpus() < 2)
		cr_skip_test("needs two CPUs");
	hq_open(&x);
	hq_set(&x, 2, 1, &q);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct hq_race){ .x = &x, .cpu = i,
					 .pf = hx_seg(&hx_default_ep, HQ_REQ, strlen(HQ_REQ)) };
		cr_assert_eq(pthread_create(&th[i], NULL, hq_race_run, &r[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(r[i].err, 0, "test run on cpu %d: %s", i, strerror(errno));
	}
	t = hx_stats(&x, 2, SL_GROUP_NONE, 0x51);
	cr_assert_eq(t.req_pass + t.req_drop, 40000);
	cr_assert_eq(t.req_pass, 25000, "admitted %llu of a 25000 quota",
		     (unsigned long long)t.req_pass);
	cr_assert_eq(t.req_quota, 15000);
	cr_assert_eq(hq_word(&x, 2, 0), HQ_WORD(3, 25000));
}
