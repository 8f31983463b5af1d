// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of userspace/reply.c: 429 texts byte for byte, which limits get one, shortening. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "reply.h"
#include "sluice_gcra.h"
#include "stats.h"

/* Every limit kind: rule slots 10..13, tenant indexes 5 and 9 (see tr_slots, tr_tidx). */
static const char tr_policy[] =
	"version: 1\n"
	"name: r\n"
	"sources:\n"
	"  - {name: api, cidr: 10.0.0.0/8, rate: 10, burst: 25, reject: http429}\n"
	"  - {name: blocked, cidr: 192.0.2.0/24, action: deny, reject: http429}\n"
	"  - {name: other, cidr: 0.0.0.0/0, rate: 1, reject: reset}\n"
	"  - {name: office, cidr: 172.16.0.0/12, action: allow, reject: http429}\n"
	"http: {ports: 8080}\n"
	"plans:\n"
	"  pro:\n"
	"    rate: 100\n"
	"    burst: 250\n"
	"    bytes_rate: 1M\n"
	"    bytes_burst: 3M\n"
	"    action: http429\n"
	"    quotas:\n"
	"      - {name: daily, unit: days, quota: 1000}\n"
	"      - {name: soft, unit: hours, quota: 5, mode: soft}\n"
	"      - {name: weekly, unit: weeks, duration: 2, quota: 5k, action: reset}\n"
	"      - {name: roll, unit: minutes, duration: 30, window: rolling, quota: 60}\n"
	"  free: {rate: 5}\n"
	"tenants:\n"
	"  - {name: acme, plan: pro}\n"
	"  - {name: beta, plan: free}\n"
	"unknown_key: {rate: 2, burst: 8, action: http429}\n"
	"groups:\n"
	"  - name: chat\n"
	"    match: {path: /v1/chat}\n"
	"    limits: [{name: rps, rate: 20, burst: 30}, {name: burst, rate: 1, burst: 100}]\n"
	"  - name: embed\n"
	"    match: {path: /v1/embed}\n"
	"    action: drop\n"
	"    limits: [{name: rps, rate: 5}]\n"
	"  - name: bulk\n"
	"    match: {path: /v1/bulk}\n"
	"    action: http429\n"
	"    limits: [{name: rps, rate: 3}]\n";

static const __u16 tr_slots[] = { 10, 11, 12, 13 };
static const __u16 tr_tidx[] = { 5, 9 };

#define TR_MAX 32

struct tr_got {
	struct sl_reply_key k[TR_MAX];
	struct sl_reply_tpl t[TR_MAX];
	int n;
};

static int tr_collect(const struct sl_reply_key *k, const struct sl_reply_tpl *t, void *arg)
{
	struct tr_got *g = arg;

	cr_assert_lt(g->n, TR_MAX);
	g->k[g->n] = *k;
	g->t[g->n] = *t;
	g->n++;
	return 0;
}

static void tr_parse(const char *text, struct sl_policy *p)
{
	char err[512] = "";

	cr_assert_eq(sl_policy_parse("t.yaml", text, strlen(text), p, err, sizeof(err)), 0, "%s",
		     err);
}

static const struct sl_reply_tpl *tr_find(const struct tr_got *g, __u8 kind, __u16 idx,
					  __u16 sub)
{
	for (int i = 0; i < g->n; i++)
		if (g->k[i].kind == kind && g->k[i].idx == idx && g->k[i].sub == sub)
			return &g->t[i];
	return NULL;
}

/* The text's head and body are exactly these; Content-Length is the body's length. */
static void tr_expect(const struct sl_reply_tpl *t, const char *head, const char *body)
{
	cr_assert_not_null(t);
	cr_expect_eq(t->plen, strlen(head));
	cr_expect_eq(t->blen, strlen(body));
	cr_expect(t->plen == strlen(head) && !memcmp(t->text, head, t->plen), "head: %.*s",
		  (int)t->plen, t->text);
	cr_expect(t->blen == strlen(body) && !memcmp(t->text + t->plen, body, t->blen),
		  "body: %.*s", (int)t->blen, t->text + t->plen);
}

#define HEAD(len, policy, id)                                                                  \
	"HTTP/1.1 429 Too Many Requests\r\n"                                                   \
	"Content-Type: application/json\r\n"                                                   \
	"Content-Length: " len "\r\n"                                                          \
	"Connection: close\r\n"                                                                \
	"Cache-Control: no-store\r\n"                                                          \
	"RateLimit-Policy: " policy "\r\n"                                                     \
	"RateLimit: \"" id "\";r="

Test(reply, each_kind_exact)
{
	struct sl_policy p;
	struct tr_got *g = calloc(1, sizeof(*g));

	cr_assert_not_null(g);
	tr_parse(tr_policy, &p);
	cr_assert_eq(sl_reply_each(&p, tr_slots, tr_tidx, tr_collect, g), 0);

	tr_expect(tr_find(g, SL_RK_RULE, 10, 0), HEAD("83", "\"api\";q=25;w=3", "api"),
		  "{\"error\":\"too_many_requests\",\"limit\":\"api\",\"tenant\":null,"
		  "\"message\":\"rate limited\"}\n");
	tr_expect(tr_find(g, SL_RK_RULE, 11, 0), HEAD("82", "\"blocked\";q=0;w=1", "blocked"),
		  "{\"error\":\"too_many_requests\",\"limit\":\"blocked\",\"tenant\":null,"
		  "\"message\":\"refused\"}\n");
	tr_expect(tr_find(g, SL_RK_UNKNOWN, 0, 0),
		  HEAD("95", "\"unknown_key\";q=8;w=4", "unknown_key"),
		  "{\"error\":\"too_many_requests\",\"limit\":\"unknown_key\",\"tenant\":null,"
		  "\"message\":\"no known API key\"}\n");
	tr_expect(tr_find(g, SL_RK_TENANT, 5, 0), HEAD("90", "\"requests\";q=250;w=3", "requests"),
		  "{\"error\":\"too_many_requests\",\"limit\":\"requests\",\"tenant\":\"acme\","
		  "\"message\":\"rate limited\"}\n");
	tr_expect(tr_find(g, SL_RK_BYTES, 5, 0),
		  HEAD("92", "\"bytes\";q=3000000;w=3;qu=\"content-bytes\"", "bytes"),
		  "{\"error\":\"too_many_requests\",\"limit\":\"bytes\",\"tenant\":\"acme\","
		  "\"message\":\"byte rate limited\"}\n");
	tr_expect(tr_find(g, SL_RK_GROUP, 0, 0), HEAD("97", "\"chat.rps\";q=30;w=2", "chat.rps"),
		  "{\"error\":\"too_many_requests\",\"limit\":\"chat.rps\",\"tenant\":null,"
		  "\"message\":\"endpoint rate limited\"}\n");
	tr_expect(tr_find(g, SL_RK_QUOTA, 5, 0), HEAD("88", "\"daily\";q=1000;w=86400", "daily"),
		  "{\"error\":\"too_many_requests\",\"limit\":\"daily\",\"tenant\":\"acme\","
		  "\"message\":\"quota used up\"}\n");
	sl_policy_free(&p);
	free(g);
}

/* Exactly the limits whose action is http429 get a text, under the data plane's keys. */
Test(reply, which_limits)
{
	static const struct {
		__u8 kind;
		__u16 idx, sub;
	} want[] = {
		{ SL_RK_RULE, 10, 0 },	 /* api: limit, http429 */
		{ SL_RK_RULE, 11, 0 },	 /* blocked: deny, http429 (other: reset; office: allow) */
		{ SL_RK_UNKNOWN, 0, 0 },
		{ SL_RK_TENANT, 5, 0 },	 /* acme; beta drops */
		{ SL_RK_BYTES, 5, 0 },	 /* acme has a bytes limit */
		{ SL_RK_QUOTA, 5, 0 },	 /* daily; soft never refuses, weekly resets */
		{ SL_RK_QUOTA, 5, 3 },	 /* roll */
		{ SL_RK_GROUP, 0, 0 },	 /* chat inherits, and acme answers with 429 */
		{ SL_RK_GROUP, 0, 1 },
		{ SL_RK_GROUP, 2, 0 },	 /* bulk: http429; embed drops */
	};
	struct sl_policy p;
	struct tr_got *g = calloc(1, sizeof(*g));

	cr_assert_not_null(g);
	tr_parse(tr_policy, &p);
	cr_assert_eq(sl_reply_each(&p, tr_slots, tr_tidx, tr_collect, g), 0);
	cr_expect_eq(g->n, (int)(sizeof(want) / sizeof(want[0])));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect_not_null(tr_find(g, want[i].kind, want[i].idx, want[i].sub),
				   "no text for kind %u idx %u sub %u", want[i].kind, want[i].idx,
				   want[i].sub);
	for (int i = 0; i < g->n; i++) {
		const struct sl_reply_tpl *t = &g->t[i];
		const char *cl = strstr(t->text, "Content-Length: ");
		char head[SL_REPLY_TEXT + 1];

		cr_expect_eq(g->k[i].gen, 0);
		cr_expect_eq(g->k[i]._pad, 0);
		cr_expect_leq(t->plen + t->blen, SL_REPLY_TEXT);
		memcpy(head, t->text, t->plen);
		head[t->plen] = '\0';
		cr_expect_eq(strlen(head), t->plen, "no NUL in the head");
		cr_expect(t->plen > 3 && !memcmp(head + t->plen - 3, ";r=", 3), "%s", head);
		cr_assert_not_null(cl);
		cr_expect_eq(strtoul(cl + 16, NULL, 10), t->blen, "Content-Length is the body's");
		cr_expect_eq(t->text[t->plen + t->blen - 1], '\n');
	}
	cr_expect_str_eq(strstr(tr_find(g, SL_RK_QUOTA, 5, 3)->text, "RateLimit-Policy"),
			 "RateLimit-Policy: \"roll\";q=60;w=1800\r\nRateLimit: \"roll\";r="
			 "{\"error\":\"too_many_requests\",\"limit\":\"roll\",\"tenant\":\"acme\","
			 "\"message\":\"quota used up\"}\n");
	sl_policy_free(&p);
	free(g);
}

/* A group inheriting from tenants that never answer with 429 needs no text. */
Test(reply, group_inherits_drop)
{
	struct sl_policy p;
	struct tr_got g = { .n = 0 };

	tr_parse("version: 1\nname: r\nsources:\n  - {name: all, cidr: 0.0.0.0/0, rate: 1}\n"
		 "http: {ports: 80}\nplans:\n  a: {rate: 1, action: reset}\n"
		 "tenants:\n  - {name: t, plan: a}\n"
		 "groups:\n  - {name: g, limits: [{name: l, rate: 1}]}\n",
		 &p);
	cr_assert_eq(sl_reply_each(&p, tr_slots, tr_tidx, tr_collect, &g), 0);
	cr_expect_eq(g.n, 0);
	cr_expect(sl_reply_any(&p), "the tenant resets");
	cr_expect_eq(sl_reply_group_action(&p, 0, 0), SL_OVER_RESET, "inherited");
	sl_policy_free(&p);
}

/* Names of 47 characters, the most a name has: the message goes, then the body's limit. */
Test(reply, shortened)
{
	char name[48], text[2048], n2[48];
	struct sl_policy p;
	struct tr_got *g = calloc(1, sizeof(*g));
	const struct sl_reply_tpl *t;

	cr_assert_not_null(g);
	memset(name, 'a', 47);
	name[47] = '\0';
	memset(n2, 'b', 47);
	n2[47] = '\0';
	snprintf(text, sizeof(text),
		 "version: 1\nname: r\nsources:\n"
		 "  - {name: %s, cidr: 0.0.0.0/0, rate: 1, burst: 18446744073709551615, reject: http429}\n"
		 "http: {ports: 80}\nplans:\n"
		 "  p: {rate: 1, burst: 18446744073709551615, action: http429,"
		 " quotas: [{name: %s, unit: months, duration: 1000, quota: 1099511627775}]}\n"
		 "tenants:\n  - {name: %s, plan: p}\n"
		 "groups:\n  - {name: %s, limits: [{name: %s, rate: 1, burst: 18446744073709551615}]}\n",
		 name, name, n2, name, n2);
	tr_parse(text, &p);
	cr_assert_eq(sl_reply_each(&p, tr_slots, tr_tidx, tr_collect, g), 0);
	cr_assert_eq(g->n, 4);
	for (int i = 0; i < g->n; i++) {
		t = &g->t[i];
		cr_expect_leq(t->plen + t->blen, SL_REPLY_TEXT, "kind %u: %u + %u", g->k[i].kind,
			      t->plen, t->blen);
		cr_expect_eq(strtoul(strstr(t->text, "Content-Length: ") + 16, NULL, 10), t->blen);
	}
	/* The quota: 47 + 47 characters of names fit, message and all. */
	t = tr_find(g, SL_RK_QUOTA, 5, 0);
	cr_assert_not_null(t);
	snprintf(text, sizeof(text),
		 "{\"error\":\"too_many_requests\",\"limit\":\"%s\",\"tenant\":\"%s\","
		 "\"message\":\"quota used up\"}\n", name, n2);
	cr_expect_eq(t->blen, strlen(text));
	cr_expect(!memcmp(t->text + t->plen, text, t->blen), "%.*s", t->blen, t->text + t->plen);
	cr_expect_not_null(strstr(t->text, ";q=1099511627775;w=2592000000\r\n"));
	/* The group: an id of 95 characters three times and a 20-digit burst: no limit either. */
	t = tr_find(g, SL_RK_GROUP, 0, 0);
	cr_assert_not_null(t);
	cr_expect_eq(t->blen, strlen("{\"error\":\"too_many_requests\",\"tenant\":null}\n"));
	cr_expect(!memcmp(t->text + t->plen, "{\"error\":\"too_many_requests\",\"tenant\":null}\n",
			  t->blen));
	snprintf(text, sizeof(text), "RateLimit: \"%s.%s\";r=", name, n2);
	cr_expect_eq(strlen(text), 12 + 95 + 4);
	cr_expect(!memcmp(t->text + t->plen - strlen(text), text, strlen(text)));
	sl_policy_free(&p);
	free(g);
}

Test(reply, render_edges)
{
	struct sl_reply_spec s = { .id = "x", .tenant = "a\"b\\c\x01", .q = 1, .w = 1 };
	struct sl_reply_tpl t;
	char id[300];
	const char *want = "{\"error\":\"too_many_requests\",\"limit\":\"x\","
			   "\"tenant\":\"a\\\"b\\\\c\\u0001\"}\n";

	cr_assert_eq(sl_reply_render(&s, &t), 0);
	cr_expect_eq(t.blen, strlen(want), "no message: none in the body");
	cr_expect(!memcmp(t.text + t.plen, want, t.blen), "%.*s", t.blen, t.text + t.plen);
	s.id = "q\"\\\x7f";
	cr_assert_eq(sl_reply_render(&s, &t), 0);
	cr_expect_not_null(strstr(t.text, "RateLimit-Policy: \"q\\\"\\\\?\";q=1;w=1\r\n"),
			   "an sf-string: escaped, printable");
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	s.id = id;
	cr_expect_eq(sl_reply_render(&s, &t), -E2BIG);
	cr_expect_eq(t.plen + t.blen, 0);
	s.id = "";
	cr_expect_eq(sl_reply_render(&s, &t), -EINVAL);
}

Test(reply, windows)
{
	struct sl_quota q = { .unit = SL_PU_MINUTES, .duration = 30 };

	cr_expect_eq(sl_reply_window(10, 25), 3);
	cr_expect_eq(sl_reply_window(10, 30), 3);
	cr_expect_eq(sl_reply_window(100, 100), 1);
	cr_expect_eq(sl_reply_window(1000, 1), 1, "at least 1 s");
	cr_expect_eq(sl_reply_window(1, 100), 100);
	cr_expect_eq(sl_reply_window(0, 5), 1);
	cr_expect_eq(sl_reply_quota_window(&q), 1800);
	q = (struct sl_quota){ .unit = SL_PU_HOURS, .duration = 2 };
	cr_expect_eq(sl_reply_quota_window(&q), 7200);
	q = (struct sl_quota){ .unit = SL_PU_DAYS, .duration = 1 };
	cr_expect_eq(sl_reply_quota_window(&q), 86400);
	q = (struct sl_quota){ .unit = SL_PU_WEEKS, .duration = 2 };
	cr_expect_eq(sl_reply_quota_window(&q), 1209600);
	q = (struct sl_quota){ .unit = SL_PU_MONTHS, .duration = 3 };
	cr_expect_eq(sl_reply_quota_window(&q), 3 * 2592000);
}

/* The SL_GF_REJECT decision of apply (userspace/apply.c). */
Test(reply, any)
{
	static const struct {
		const char *tail;
		bool any;
	} cases[] = {
		{ "", false },
		{ "    reject: drop\n", false },
		{ "    reject: reset\n", true },
		{ "    action: deny\n    reject: reset\n", true },
		{ "    action: allow\n    reject: reset\n", false }, /* allow never refuses */
		{ "    reject: http429\nhttp: {ports: 80}\n", true },
		{ "http: {ports: 80}\n", false },
		{ "http: {ports: 80}\nunknown_key: {action: reset}\n", true },
		{ "http: {ports: 80}\nplans: {a: {rate: 1, action: http429}}\n", false }, /* no tenant */
		{ "http: {ports: 80}\nplans: {a: {rate: 1, action: http429}}\n"
		  "tenants: [{name: t, plan: a}]\n", true },
		{ "http: {ports: 80}\nplans: {a: {rate: 1}}\ntenants: [{name: t, plan: a}]\n", false },
		{ "http: {ports: 80}\nplans: {a: {rate: 1}}\ntenants: [{name: t, plan: a}]\n"
		  "groups: [{name: g, action: reset}]\n", true },
		{ "http: {ports: 80}\nplans: {a: {rate: 1}}\n"
		  "groups: [{name: g, action: reset}]\n", false }, /* groups limit tenants only */
		{ "http: {ports: 80}\nplans: {a: {rate: 1, quotas: [{name: q, unit: days, quota: 5,"
		  " action: reset}]}}\ntenants: [{name: t, plan: a}]\n", true },
		{ "http: {ports: 80}\nplans: {a: {rate: 1, quotas: [{name: q, unit: days, quota: 5,"
		  " mode: soft, action: reset}]}}\ntenants: [{name: t, plan: a}]\n", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[1024];
		struct sl_policy p;

		snprintf(text, sizeof(text),
			 "version: 1\nname: r\nsources:\n  - name: all\n    cidr: 0.0.0.0/0\n"
			 "    rate: 1\n%s", cases[i].tail);
		tr_parse(text, &p);
		cr_expect_eq(sl_reply_any(&p), cases[i].any, "case %zu: %s", i, cases[i].tail);
		sl_policy_free(&p);
	}
}

/* policy show and status read reply limits back from the data plane's parameters. */
Test(reply, lim_round_trip)
{
	static const __u64 rates[] = { 1, 3, 7, 100, 1000, 12345, 1000000, 123456789, 1000000000 };
	struct sl_gcra_params g = { 0 };
	__u64 r, b;

	sl_reply_lim_of(&g, &r, &b);
	cr_expect(!r && !b, "interval 0: no bucket");
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		__u64 bursts[] = { 1, rates[i], 3 * rates[i] + 1, 1000000 };

		for (size_t j = 0; j < sizeof(bursts) / sizeof(bursts[0]); j++) {
			cr_assert_eq(sl_gcra_params_make(rates[i], bursts[j], &g), 0);
			sl_reply_lim_of(&g, &r, &b);
			cr_expect_eq(r, rates[i], "rate %llu burst %llu", (unsigned long long)rates[i],
				     (unsigned long long)bursts[j]);
			cr_expect_eq(b, bursts[j], "rate %llu burst %llu",
				     (unsigned long long)rates[i], (unsigned long long)bursts[j]);
		}
	}
}

Test(reply, rstats)
{
	struct sl_rstats pc[3] = {
		{ .rst = 1, .http429 = 2, .failed = 3 },
		{ .rst = 10, .limited = 4, .follow_drop = 1 },
		{ .no_socket = 5, .no_template = 6, .fin_acked = 7 },
	};
	struct sl_rstats sum, zero = { 0 };

	sl_rstats_sum(pc, 3, sizeof(pc[0]), &sum);
	cr_expect_eq(sum.rst, 11);
	cr_expect_eq(sum.http429, 2);
	cr_expect_eq(sum.limited, 4);
	cr_expect_eq(sum.no_socket, 5);
	cr_expect_eq(sum.no_template, 6);
	cr_expect_eq(sum.fin_acked, 7);
	cr_expect_eq(sum.follow_drop, 1);
	cr_expect_eq(sum.failed, 3);
	cr_expect_str_eq(sl_rstats_name(0), "rst");
	cr_expect_str_eq(sl_rstats_name(2), "limited");
	cr_expect_str_eq(sl_rstats_name(SL_NR_RSTATS - 1), "failed");
	cr_expect_eq(sl_rstats_value(&sum, 4), 6, "no_template");
	cr_expect(sl_rstats_any(&sum) && !sl_rstats_any(&zero));
}
