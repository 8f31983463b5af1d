// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sl_policy_install's HTTP part: sl_http_v2, tenants by name, keys per generation, state. */
#include <arpa/inet.h>
#include <sys/stat.h>

#include "fixture.h"
#include "sluice_http.h"
#include "tenants.h"

/* A keys file (mode 0600, as the parser insists) in a fresh directory per test. */
static char ax_dir[64];

static const char *ax_keys(const char *name, const char *lines)
{
	static char paths[8][128];
	static int n;
	char *p = paths[n++ % 8];
	FILE *f;

	if (!ax_dir[0]) {
		strcpy(ax_dir, "/tmp/sl-apply-http-XXXXXX");
		cr_assert_not_null(mkdtemp(ax_dir));
	}
	snprintf(p, 128, "%s/%s.keys", ax_dir, name);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(lines, f);
	fclose(f);
	cr_assert_eq(chmod(p, 0600), 0);
	return p;
}

static void ax_cleanup(void)
{
	char cmd[128];

	if (ax_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ax_dir);
		cr_assert_eq(system(cmd), 0);
	}
}

static __u32 ax_gen(struct fx *f)
{
	struct sl_config cfg;

	cr_assert_eq(sl_config_read(f->m.config, &cfg), 0);
	return cfg.gen & 1;
}

/* The sl_keys_v2 entry of a key; false if there is none. */
static bool ax_keyval(struct fx *f, const char *key, struct sl_keyval *kv)
{
	const __u64 secret[2] = { FX_SECRET0, FX_SECRET1 };
	__u64 h = sl_key_hash(secret, key, strlen(key));

	return bpf_map_lookup_elem(f->m.keys, &h, kv) == 0;
}

/* Index of an active tenant by name, from the metadata the controller keeps; -1 if none. */
static int ax_tenant(struct fx *f, const char *name)
{
	__u32 gen = ax_gen(f);
	struct sl_tenmeta tm;

	for (__u32 s = 0; s < SL_MAX_TENANTS; s++) {
		cr_assert_eq(bpf_map_lookup_elem(f->m.tenmeta, &s, &tm), 0);
		if ((tm.in_use & (1u << gen)) && !strcmp(tm.name, name))
			return s;
	}
	return -1;
}

static int ax_count_keys(struct fx *f)
{
	__u64 k, next;
	bool first = true;
	int n = 0;

	while (!bpf_map_get_next_key(f->m.keys, first ? NULL : &k, &next)) {
		first = false;
		k = next;
		n++;
	}
	return n;
}

#define AX_HTTP(groups, tenants)                                                   \
	"http:\n"                                                                  \
	"  ports: [8000, 8080]\n"                                                  \
	"plans:\n"                                                                 \
	"  free: {rate: 5, burst: 10}\n"                                           \
	"  pro: {rate: 100, burst: 200, bytes_rate: 1M, action: http429}\n"        \
	"unknown_key: {rate: 1, burst: 5, prefix: {ipv4: 24, ipv6: 64}}\n"         \
	groups "tenants:\n" tenants

#define AX_GROUPS                                                                  \
	"groups:\n"                                                                \
	"  - name: chat\n"                                                         \
	"    match: {port: 8000, method: POST, path: /v1/chat}\n"                  \
	"    weight: 10\n"                                                         \
	"    limits: [{name: chat-rate, rate: 20, burst: 20}]\n"                   \
	"  - name: other\n"

Test(apply_http, fills_config_tenants_and_keys, .fini = ax_cleanup)
{
	const char *ka = ax_keys("acme", "k-acme-1\nk-acme-2\n");
	const char *kg = ax_keys("globex", "k-globex-1\n");
	struct sl_apply_result res;
	struct sl_httpcfg hc;
	struct sl_tenant_cfg tc;
	struct sl_tenmeta tm;
	struct sl_keyval kv;
	struct fx f;
	__u32 gen, k;
	int acme, globex;

	fx_open(&f);
	res = fx_policyf(&f, FX_POLICY_ALL(AX_HTTP(AX_GROUPS,
		"  - {name: acme, plan: pro, keys_file: %s, overrides: {rate: 150}}\n"
		"  - {name: globex, plan: free, keys_file: %s}\n")), ka, kg);
	cr_assert_eq(res.tenants_added, 2);
	cr_assert_eq(res.tenants_kept, 0);
	cr_assert_eq(res.keys, 3);
	gen = ax_gen(&f);

	cr_assert_eq(bpf_map_lookup_elem(f.m.http, &gen, &hc), 0);
	cr_assert_eq(hc.n_ports, 2);
	cr_assert_eq(hc.ports[0], 8000);
	cr_assert_eq(hc.ports[1], 8080);
	cr_assert_eq(hc.key_flags, SL_HTTP_KF_DEFAULT);
	cr_assert_eq(hc.unknown_prefix4, 24);
	cr_assert_eq(hc.unknown_prefix6, 64);
	cr_assert_neq(hc.unknown.interval, 0);
	cr_assert_eq(hc.n_tenants, 2);
	cr_assert_eq(hc.n_groups, 2);
	cr_assert_eq(hc.groups[0].port, 8000);
	cr_assert_eq(hc.groups[0].method, SL_HTTP_POST);
	cr_assert_eq(hc.groups[0].path_len, 8);
	cr_assert_str_eq(hc.groups[0].path, "/v1/chat");
	cr_assert_eq(hc.groups[0].weight, 10);
	cr_assert_eq(hc.groups[0].n_limits, 1);
	cr_assert_neq(hc.groups[0].limits[0].interval, 0);
	cr_assert_eq(hc.groups[1].path_len, 0);
	cr_assert_eq(hc.groups[1].weight, 1);

	acme = ax_tenant(&f, "acme");
	globex = ax_tenant(&f, "globex");
	cr_assert(acme >= 0 && globex >= 0 && acme != globex);
	k = gen * SL_MAX_TENANTS + acme;
	cr_assert_eq(bpf_map_lookup_elem(f.m.tenants, &k, &tc), 0);
	cr_assert_eq(tc.in_use, 1);
	cr_assert_eq(tc.action, SL_OVER_HTTP429);
	cr_assert_neq(tc.bytes.interval, 0, "pro has a bytes limit");
	k = gen * SL_MAX_TENANTS + globex;
	cr_assert_eq(bpf_map_lookup_elem(f.m.tenants, &k, &tc), 0);
	cr_assert_eq(tc.bytes.interval, 0, "free has no bytes limit");
	k = acme;
	cr_assert_eq(bpf_map_lookup_elem(f.m.tenmeta, &k, &tm), 0);
	cr_assert_str_eq(tm.plan, "pro");
	cr_assert_eq(tm.rate, 150);
	cr_assert_eq(tm.burst, 200);
	cr_assert_eq(tm.n_keys, 2);
	cr_assert_eq(tm.in_use, 1u << gen);

	cr_assert(ax_keyval(&f, "k-acme-2", &kv));
	cr_assert_eq(kv.tenant[gen], acme);
	cr_assert_eq(kv.tenant[gen ^ 1], SL_TENANT_NONE);
	cr_assert_eq(kv.key_id, sl_key_id("k-acme-2", 8));
	cr_assert(ax_keyval(&f, "k-globex-1", &kv));
	cr_assert_eq(kv.tenant[gen], globex);
	cr_assert_eq(ax_count_keys(&f), 3);
	fx_close(&f);
}

Test(apply_http, reapply_moves_keys_keeps_indexes_by_name, .fini = ax_cleanup)
{
	const char *ka = ax_keys("acme", "k-acme-1\nk-acme-2\n");
	const char *kg = ax_keys("globex", "k-globex-1\n");
	const char *ka2 = ax_keys("acme2", "k-acme-1\n");
	const char *kg2 = ax_keys("globex2", "k-globex-1\nk-acme-2\n");
	const char *ki = ax_keys("initech", "k-initech-1\n");
	struct sl_apply_result res;
	struct sl_tenant_state ts;
	struct sl_tenant_cfg tc;
	struct sl_keyval kv;
	struct fx f;
	int acme, globex, globex2, initech;
	__u32 gen, k;

	fx_open(&f);
	fx_policyf(&f, FX_POLICY_ALL(AX_HTTP(AX_GROUPS,
		"  - {name: acme, plan: pro, keys_file: %s}\n"
		"  - {name: globex, plan: free, keys_file: %s}\n")), ka, kg);
	acme = ax_tenant(&f, "acme");
	globex = ax_tenant(&f, "globex");
	/* Bucket state of globex, which must survive the reapply. */
	k = globex;
	memset(&ts, 0, sizeof(ts));
	ts.req_tat = 12345;
	ts.group_tat[0][0] = 777;
	ts.group_tat[1][0] = 888;
	cr_assert_eq(bpf_map_update_elem(f.m.tstate, &k, &ts, BPF_ANY), 0);

	/* acme is gone, initech new, k-acme-2 moves to globex; group 0 changes its limit. */
	res = fx_policyf(&f, FX_POLICY_ALL(AX_HTTP(
		"groups:\n"
		"  - name: chat\n"
		"    match: {port: 8000, method: POST, path: /v1/chat}\n"
		"    limits: [{name: chat-rate, rate: 30, burst: 30}]\n"
		"  - name: other\n",
		"  - {name: initech, plan: free, keys_file: %s}\n"
		"  - {name: globex, plan: free, keys_file: %s}\n")), ki, kg2);
	cr_assert_eq(res.tenants_kept, 1);
	cr_assert_eq(res.tenants_added, 1);
	cr_assert_eq(res.tenants_removed, 1);
	cr_assert_eq(res.keys, 3);
	gen = ax_gen(&f);
	globex2 = ax_tenant(&f, "globex");
	initech = ax_tenant(&f, "initech");
	cr_assert_eq(globex2, globex, "a kept name keeps its index");
	cr_assert_eq(ax_tenant(&f, "acme"), -1);
	cr_assert(initech >= 0 && initech != globex);
	cr_assert_neq(initech, acme, "the removed tenant's index is still used by the old generation");

	cr_assert(ax_keyval(&f, "k-acme-2", &kv));
	cr_assert_eq(kv.tenant[gen], globex);
	cr_assert_eq(kv.tenant[gen ^ 1], SL_TENANT_NONE, "the old generation is retired");
	cr_assert(!ax_keyval(&f, "k-acme-1", &kv), "a key in neither generation is deleted");
	cr_assert(ax_keyval(&f, "k-initech-1", &kv));
	cr_assert_eq(kv.tenant[gen], initech);
	cr_assert_eq(ax_count_keys(&f), 3);

	k = globex;
	cr_assert_eq(bpf_map_lookup_elem(f.m.tstate, &k, &ts), 0);
	cr_assert_eq(ts.req_tat, 12345, "a kept tenant keeps its bucket");
	cr_assert_eq(ts.group_tat[0][0], 0, "a changed group starts over");
	cr_assert_eq(ts.group_tat[1][0], 888, "an unchanged group keeps its state");
	k = gen * SL_MAX_TENANTS + acme;
	cr_assert_eq(bpf_map_lookup_elem(f.m.tenants, &k, &tc), 0);
	cr_assert_eq(tc.in_use, 0, "a removed tenant is not in use in the new generation");

	/* A third apply: the freed index may be reused, and then starts clean. */
	k = acme;
	ts.req_tat = 999;
	cr_assert_eq(bpf_map_update_elem(f.m.tstate, &k, &ts, BPF_ANY), 0);
	res = fx_policyf(&f, FX_POLICY_ALL(AX_HTTP("",
		"  - {name: initech, plan: free, keys_file: %s}\n"
		"  - {name: globex, plan: free, keys_file: %s}\n"
		"  - {name: hooli, plan: pro, keys_file: %s}\n")), ki, kg, ka2);
	cr_assert_eq(res.tenants_kept, 2);
	cr_assert_eq(res.tenants_added, 1);
	cr_assert_eq(ax_tenant(&f, "initech"), initech);
	cr_assert_eq(ax_tenant(&f, "globex"), globex);
	k = ax_tenant(&f, "hooli");
	cr_assert_eq(bpf_map_lookup_elem(f.m.tstate, &k, &ts), 0);
	cr_assert_eq(ts.req_tat, 0, "a fresh index starts with a zero state");
	gen = ax_gen(&f);
	cr_assert(ax_keyval(&f, "k-acme-1", &kv));
	cr_assert_eq(kv.tenant[gen], k);
	cr_assert(!ax_keyval(&f, "k-acme-2", &kv));
	fx_close(&f);
}

/* Without an http section the layer is off, and every key and tenant of before is retired. */
Test(apply_http, no_http_section_retires_everything, .fini = ax_cleanup)
{
	const char *ka = ax_keys("acme", "k-acme-1\n");
	struct sl_apply_result res;
	struct sl_httpcfg hc;
	struct fx f;
	__u32 gen;

	fx_open(&f);
	fx_policyf(&f, FX_POLICY_ALL(AX_HTTP("", "  - {name: acme, plan: pro, keys_file: %s}\n")),
		   ka);
	res = fx_policy(&f, FX_POLICY_ALL(""));
	cr_assert_eq(res.tenants_removed, 1);
	gen = ax_gen(&f);
	cr_assert_eq(bpf_map_lookup_elem(f.m.http, &gen, &hc), 0);
	cr_assert_eq(hc.n_ports, 0);
	cr_assert_eq(ax_count_keys(&f), 0);
	cr_assert_eq(ax_tenant(&f, "acme"), -1);
	fx_close(&f);
}

/* Unknown-key buckets (slot 0xfffe) survive rule changes, and go when their prefix changes. */
Test(apply_http, unknown_key_buckets_follow_their_prefix, .fini = ax_cleanup)
{
	const char *ka = ax_keys("acme", "k-acme-1\n");
	struct sl_bkey bk = { .slot = SL_SLOT_UNKNOWN_KEY, .family = SL_AF_INET };
	struct sl_bucket b = { .tat = 1 };
	struct fx f;

	fx_open(&f);
	fx_policyf(&f, FX_POLICY_ALL(AX_HTTP("", "  - {name: acme, plan: pro, keys_file: %s}\n")),
		   ka);
	cr_assert_eq(bpf_map_update_elem(f.m.buckets, &bk, &b, BPF_ANY), 0);
	/* Same HTTP layer, a new rule: the bucket stays. */
	fx_policyf(&f, "version: 1\nname: t\n" AX_HTTP("",
		"  - {name: acme, plan: pro, keys_file: %s}\n")
		"sources:\n  - {name: other, cidr: [10.0.0.0/8], rate: 10}\n"
		"  - {name: all, cidr: [0.0.0.0/0, \"::/0\"], rate: 1000000000, burst: 1000000000}\n",
		ka);
	cr_assert_eq(bpf_map_lookup_elem(f.m.buckets, &bk, &b), 0, "unknown-key bucket kept");
	fx_policyf(&f, "version: 1\nname: t\n"
		"http:\n  ports: [8000]\n"
		"plans:\n  pro: {rate: 100}\n"
		"unknown_key: {rate: 1, burst: 5, prefix: {ipv4: 16, ipv6: 64}}\n"
		"tenants:\n  - {name: acme, plan: pro, keys_file: %s}\n"
		"sources:\n  - {name: all, cidr: [0.0.0.0/0], rate: 1000}\n", ka);
	cr_assert_neq(bpf_map_lookup_elem(f.m.buckets, &bk, &b), 0,
		      "unknown-key buckets go with a new prefix");
	fx_close(&f);
}

/* End to end: a key installed by apply finds its tenant in the data plane. */
Test(apply_http, data_plane_finds_the_applied_key, .fini = ax_cleanup)
{
	const char *ka = ax_keys("acme", "k-acme-1\n");
	const char *req = "GET /v1/models HTTP/1.1\r\nHost: api\r\nX-API-Key: k-acme-1\r\n\r\n";
	struct pb_spec s = { .l3 = PB_IPV4, .l4 = IPPROTO_TCP, .src = "192.0.2.1",
			     .dst = "198.51.100.1", .sport = 40000, .dport = 8000,
			     .payload = strlen(req) };
	struct sl_tstats_key tk = { .group = SL_GROUP_NONE, .key_id = sl_key_id("k-acme-1", 8) };
	int ncpu = libbpf_num_possible_cpus();
	struct sl_tstats *v = calloc(ncpu, sizeof(*v)), sum;
	struct pb_frame pf;
	struct fx f;

	fx_open(&f);
	fx_policyf(&f, FX_POLICY_ALL(AX_HTTP("", "  - {name: acme, plan: pro, keys_file: %s}\n")),
		   ka);
	pf = fx_frame(&s);
	memcpy(pf.data + pf.l4_off + 20, req, strlen(req));
	pb_fix_csums(&pf);
	cr_assert_eq(fx_send(&f, FX_XDP, &pf), FX_PASS);
	tk.tenant = ax_tenant(&f, "acme");
	cr_assert_eq(bpf_map_lookup_elem(f.m.tstats, &tk, v), 0, "no counters for acme's key");
	sl_tstats_sum(v, ncpu, sizeof(*v), &sum);
	cr_assert_eq(sum.req_pass, 1);
	free(v);
	fx_close(&f);
}
