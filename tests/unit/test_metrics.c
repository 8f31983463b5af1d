// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the metrics module (userspace/metrics.c): exposition text, addresses, HTTP. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "metrics.h"
#include "policy.h"
#include "stats.h"

static char *label_of(const char *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	sl_metrics_label(f, v);
	fclose(f);
	return buf;
}

Test(metrics, label_escaping)
{
	char *s = label_of("a\"b\\c\nd e");

	cr_assert_str_eq(s, "a\\\"b\\\\c\\nd e");
	free(s);
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, prefix, strlen(prefix)))
			n++;
	return n;
}

Test(metrics, render)
{
	struct sl_mstate *s = calloc(1, sizeof(*s));
	struct sl_mquota q = { .tenant = "acme", .quota = "daily", .plan = "pro", .used = 7,
			       .limit = 5, .near = true, .period_end = 1777939200 };
	char *text;
	size_t len;

	cr_assert(s);
	s->n_rules = 1;
	strcpy(s->rules[0].name, "default");
	s->rules[0].action = SL_ACT_LIMIT;
	s->rules[0].st.c[SL_R_OVERFLOW][SL_O_DROP].packets = 3;
	s->rules[0].st.c[SL_R_OVERFLOW][SL_O_DROP].bytes = 180;
	s->tenants[2].on = true;
	strcpy(s->tenants[2].name, "we\"ird");
	strcpy(s->tenants[2].plan, "pro");
	s->tenants[2].total.req_pass = 11;
	s->tenants[2].group_pass[0] = 4;
	s->tenants[2].group_drop[SL_MGROUP_NONE] = 1;
	s->n_groups = 1;
	strcpy(s->groups[0], "chat");
	s->quotas = &q;
	s->n_quotas = 1;
	for (int i = 0; i < SL_NR_MTABLES; i++)
		s->tables[i].used = -1;
	s->tables[SL_MT_BUCKETS] = (struct sl_mtable){ 12, 65536 };
	sl_mhist_observe(&s->tick, 0.0002);
	sl_mhist_observe(&s->tick, 0.003);
	sl_mhist_observe(&s->tick, 30);
	s->ticks = 3;
	s->ckpt_age = -1;

	cr_assert_eq(sl_metrics_render(s, &text, &len), 0);
	cr_assert_eq(strlen(text), len);
	/* The rule's own reason is there at 0; another reason only where it counted. */
	cr_assert(strstr(text, "sluice_rule_packets_total{rule=\"default\",reason=\"limit\",outcome=\"pass\"} 0\n"));
	cr_assert(strstr(text, "sluice_rule_packets_total{rule=\"default\",reason=\"overflow\",outcome=\"drop\"} 3\n"));
	cr_assert(strstr(text, "sluice_rule_bytes_total{rule=\"default\",reason=\"overflow\",outcome=\"drop\"} 180\n"));
	cr_assert(!strstr(text, "reason=\"overflow\",outcome=\"pass\""));
	cr_assert(strstr(text, "sluice_tenant_requests_total{tenant=\"we\\\"ird\",outcome=\"admitted\"} 11\n"));
	cr_assert(strstr(text, "sluice_tenant_group_requests_total{tenant=\"we\\\"ird\",group=\"chat\",outcome=\"admitted\"} 4\n"));
	cr_assert(strstr(text, "group=\"(no group)\",outcome=\"dropped\"} 1\n"));
	/* Used past the limit (a soft quota): nothing remains. */
	cr_assert(strstr(text, "sluice_quota_remaining_units{tenant=\"acme\",quota=\"daily\"} 0\n"));
	cr_assert(strstr(text, "sluice_quota_near_limit{tenant=\"acme\",quota=\"daily\"} 1\n"));
	cr_assert(strstr(text, "sluice_quota_period_end_timestamp_seconds{tenant=\"acme\",quota=\"daily\"} 1777939200\n"));
	cr_assert(strstr(text, "sluice_table_entries{table=\"buckets\"} 12\n"));
	cr_assert(!strstr(text, "table=\"flows\""), "tables not read are left out");
	/* Buckets are cumulative; 30 s is only in +Inf. */
	cr_assert(strstr(text, "sluice_controller_tick_duration_seconds_bucket{le=\"0.0005\"} 1\n"));
	cr_assert(strstr(text, "sluice_controller_tick_duration_seconds_bucket{le=\"0.005\"} 2\n"));
	cr_assert(strstr(text, "sluice_controller_tick_duration_seconds_bucket{le=\"2.5\"} 2\n"));
	cr_assert(strstr(text, "sluice_controller_tick_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
	cr_assert(strstr(text, "sluice_controller_tick_duration_seconds_count 3\n"));
	cr_assert(strstr(text, "sluice_checkpoint_age_seconds -1\n"));
	/* One HELP and one TYPE per family, and every sample line is a sluice_ one. */
	cr_assert_eq(count_lines(text, "# HELP "), count_lines(text, "# TYPE "));
	cr_assert_eq(count_lines(text, "# TYPE sluice_tenant_requests_total "), 1);
	cr_assert_eq(count_lines(text, "# HELP sluice_rule_packets_total "), 1);
	cr_assert_eq(count_lines(text, "") - 2 * count_lines(text, "# TYPE "),
		     count_lines(text, "sluice_"));
	cr_assert_eq(text[len - 1], '\n');
	free(text);
	free(s);
}

Test(metrics, replies)
{
	struct sl_mstate *s = calloc(1, sizeof(*s));
	char *text;
	size_t len;

	cr_assert(s);
	s->n_rules = 4;
	strcpy(s->rules[0].name, "blocked");
	s->rules[0].action = SL_ACT_DENY;
	s->rules[0].reject = SL_OVER_RESET;
	s->rules[0].rs.rst = 3;
	s->rules[0].rs.limited = 7;
	strcpy(s->rules[1].name, "quiet");
	s->rules[1].action = SL_ACT_LIMIT; /* reject: drop, nothing counted: no series */
	strcpy(s->rules[2].name, "was");
	s->rules[2].action = SL_ACT_LIMIT; /* drop now, but its replies counted before */
	s->rules[2].rs.fin_acked = 2;
	strcpy(s->rules[3].name, "office");
	s->rules[3].action = SL_ACT_ALLOW;
	s->rules[3].reject = SL_OVER_HTTP429; /* allow never refuses */
	s->http_on = true;
	s->http_replies.http429 = 5;
	s->http_replies.no_template = 1;
	for (int i = 0; i < SL_NR_MTABLES; i++)
		s->tables[i].used = -1;

	cr_assert_eq(sl_metrics_render(s, &text, &len), 0);
	cr_expect_eq(count_lines(text, "# TYPE sluice_replies_total counter"), 1);
	cr_expect(strstr(text, "sluice_replies_total{rule=\"blocked\",kind=\"rst\"} 3\n"));
	cr_expect(strstr(text, "sluice_replies_total{rule=\"blocked\",kind=\"limited\"} 7\n"));
	cr_expect(strstr(text, "sluice_replies_total{rule=\"blocked\",kind=\"http429\"} 0\n"),
		  "every kind of a rule that answers, 0 included");
	cr_expect_eq(count_lines(text, "sluice_replies_total{rule=\"blocked\","), SL_NR_RSTATS);
	cr_expect_eq(count_lines(text, "sluice_replies_total{rule=\"quiet\","), 0);
	cr_expect_eq(count_lines(text, "sluice_replies_total{rule=\"office\","), 0);
	cr_expect(strstr(text, "sluice_replies_total{rule=\"was\",kind=\"fin_acked\"} 2\n"));
	cr_expect(strstr(text, "sluice_replies_total{rule=\"(http)\",kind=\"http429\"} 5\n"));
	cr_expect(strstr(text, "sluice_replies_total{rule=\"(http)\",kind=\"no_template\"} 1\n"));
	cr_expect(strstr(text, "sluice_replies_total{rule=\"(http)\",kind=\"follow_drop\"} 0\n"));
	cr_expect_eq(count_lines(text, "sluice_replies_total{"), 3 * SL_NR_RSTATS);
	free(text);

	/* No HTTP layer and nothing counted there: no (http) series. */
	s->http_on = false;
	memset(&s->http_replies, 0, sizeof(s->http_replies));
	cr_assert_eq(sl_metrics_render(s, &text, &len), 0);
	cr_expect_eq(count_lines(text, "sluice_replies_total{rule=\"(http)\""), 0);
	free(text);
	free(s);
}

Test(metrics, parse_addr)
{
	struct sockaddr_storage ss;
	socklen_t len;

	cr_assert_eq(sl_metrics_parse_addr("127.0.0.1:9464", &ss, &len), 0);
	cr_assert_eq(ss.ss_family, AF_INET);
	cr_assert_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9464);
	cr_assert_eq(sl_metrics_parse_addr("[::1]:9464", &ss, &len), 0);
	cr_assert_eq(ss.ss_family, AF_INET6);
	cr_assert_eq(len, sizeof(struct sockaddr_in6));
	cr_assert_eq(sl_metrics_parse_addr("0.0.0.0:0", &ss, &len), 0);
	cr_assert_eq(sl_metrics_parse_addr("[::]:1", &ss, &len), 0);
	cr_assert_eq(sl_metrics_parse_addr("9464", &ss, &len), -EINVAL);
	cr_assert_eq(sl_metrics_parse_addr("localhost:9464", &ss, &len), -EINVAL);
	cr_assert_eq(sl_metrics_parse_addr("::1:9464", &ss, &len), -EINVAL);
	cr_assert_eq(sl_metrics_parse_addr("[::1]9464", &ss, &len), -EINVAL);
	cr_assert_eq(sl_metrics_parse_addr("127.0.0.1:65536", &ss, &len), -EINVAL);
	cr_assert_eq(sl_metrics_parse_addr("127.0.0.1:-1", &ss, &len), -EINVAL);
	cr_assert_eq(sl_metrics_parse_addr("127.0.0.1:", &ss, &len), -EINVAL);
}

/* One HTTP/1.0 exchange with the endpoint: the whole answer (status line, headers, body). */
static char *http(int port, const char *request)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	static char buf[8192];
	size_t n = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(fd);
	return buf;
}

Test(metrics, endpoint)
{
	struct sl_metrics *m, *m2;
	char addr[32], *text = strdup("sluice_up 1\n"), *res;
	int port;

	cr_assert_eq(sl_metrics_start("127.0.0.1:0", &m), 0);
	port = sl_metrics_port(m);
	cr_assert_gt(port, 0);
	res = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	cr_assert(!strncmp(res, "HTTP/1.0 503", 12) || !strncmp(res, "HTTP/1.1 503", 12), "%s", res);
	sl_metrics_publish(m, text, strlen(text));
	res = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	cr_assert(strstr(res, " 200 "), "%s", res);
	cr_assert(strstr(res, "text/plain; version=0.0.4"), "%s", res);
	cr_assert(strstr(res, "\r\n\r\nsluice_up 1\n"), "%s", res);
	res = http(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
	cr_assert(strstr(res, " 200 ") && !strstr(res, "sluice_up"), "%s", res);
	res = http(port, "GET /other HTTP/1.0\r\n\r\n");
	cr_assert(strstr(res, " 404 ") && strstr(res, "/metrics"), "%s", res);
	res = http(port, "DELETE /metrics HTTP/1.0\r\n\r\n");
	cr_assert(strstr(res, " 405 ") && strstr(res, "GET, HEAD"), "%s", res);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	cr_assert_eq(sl_metrics_start(addr, &m2), -EADDRINUSE);
	cr_assert_null(m2);
	sl_metrics_stop(m);
	cr_assert_eq(sl_metrics_start(addr, &m2), 0, "the port is free again after a stop");
	sl_metrics_stop(m2);
}

Test(metrics, endpoint_ipv6)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	struct sl_metrics *m;
	char buf[512] = "";
	ssize_t n;
	int fd, err = sl_metrics_start("[::1]:0", &m);

	if (err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT)
		cr_skip_test("no IPv6 loopback here");
	cr_assert_eq(err, 0);
	sl_metrics_publish(m, strdup("sluice_up 1\n"), 12);
	a.sin6_port = htons((uint16_t)sl_metrics_port(m));
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	n = read(fd, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0);
	cr_assert(strstr(buf, " 200 "), "%s", buf);
	close(fd);
	sl_metrics_stop(m);
}
