// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Prometheus metrics of `sluice run`: renders a struct sl_mstate as text exposition format
 * 0.0.4 and serves the latest rendering over HTTP from libmicrohttpd's own thread.
 *
 * Threads: the daemon's loop renders and hands the text over with sl_metrics_publish; the HTTP
 * thread only copies the text under the mutex. It never reads a map or the daemon's state, so
 * a slow or stuck scraper cannot delay a tick, and a tick cannot serve half a rendering.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>

#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "stats.h"

/* ---- rendering ---- */

static const double sl_mhist_bound[SL_MHIST_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

void sl_mhist_observe(struct sl_mhist *h, double seconds)
{
	for (int i = 0; i < SL_MHIST_BUCKETS; i++) {
		if (seconds <= sl_mhist_bound[i]) {
			h->n[i]++;
			break;
		}
	}
	h->count++;
	h->sum += seconds;
}

void sl_metrics_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void mx_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",k2="v2"} with kv a NULL-terminated list of label name, value pairs. */
static void mx_name(FILE *f, const char *name, const char *const *kv)
{
	fputs(name, f);
	if (!kv || !kv[0])
		return;
	fputc('{', f);
	for (int i = 0; kv[i]; i += 2) {
		fprintf(f, "%s%s=\"", i ? "," : "", kv[i]);
		sl_metrics_label(f, kv[i + 1]);
		fputc('"', f);
	}
	fputc('}', f);
}

static void mx_u64(FILE *f, const char *name, const char *const *kv, uint64_t v)
{
	mx_name(f, name, kv);
	fprintf(f, " %" PRIu64 "\n", v);
}

static void mx_i64(FILE *f, const char *name, const char *const *kv, int64_t v)
{
	mx_name(f, name, kv);
	fprintf(f, " %" PRId64 "\n", v);
}

static void mx_f64(FILE *f, const char *name, const char *const *kv, double v)
{
	mx_name(f, name, kv);
	fprintf(f, " %.9g\n", v);
}

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* The reason a rule's own verdicts count under, shown even while it is 0. */
static int mx_rule_reason(uint8_t action)
{
	return action == SL_ACT_ALLOW ? SL_R_ALLOW : action == SL_ACT_DENY ? SL_R_DENY : SL_R_LIMIT;
}

static void mx_rules(FILE *f, const struct sl_mstate *s, bool bytes)
{
	const char *name = bytes ? "sluice_rule_bytes_total" : "sluice_rule_packets_total";

	mx_family(f, name, "counter", bytes ?
		  "Bytes of packets classified by a source rule, by reason and outcome." :
		  "Packets classified by a source rule, by reason and outcome (pass, drop, dryrun).");
	for (int i = 0; i < s->n_rules; i++) {
		const struct sl_mrule *r = &s->rules[i];

		for (int re = 0; re < SL_NR_REASONS; re++) {
			for (int o = 0; o < SL_NR_OUTCOMES; o++) {
				const struct sl_counter *c = &r->st.c[re][o];

				if (!c->packets && !c->bytes && re != mx_rule_reason(r->action))
					continue;
				mx_u64(f, name, L("rule", r->name, "reason", sl_reason_name(re),
						  "outcome", sl_outcome_name(o)),
				       bytes ? c->bytes : c->packets);
			}
		}
	}
	name = bytes ? "sluice_unclassified_bytes_total" : "sluice_unclassified_packets_total";
	mx_family(f, name, "counter", bytes ?
		  "Bytes of packets decided before any rule matched, by reason and outcome." :
		  "Packets decided before any rule matched (malformed, fragment, unknown_ethertype, no_rule, non_ip), by reason and outcome.");
	for (int re = 0; re < SL_NR_REASONS; re++) {
		for (int o = 0; o < SL_NR_OUTCOMES; o++) {
			const struct sl_counter *c = &s->unclassified.c[re][o];

			if (c->packets || c->bytes)
				mx_u64(f, name, L("reason", sl_reason_name(re), "outcome",
						  sl_outcome_name(o)),
				       bytes ? c->bytes : c->packets);
		}
	}
}

/* The rule label of the HTTP layer's replies: no rule name has parentheses. */
#define MX_RULE_HTTP "(http)"

static void mx_replies_of(FILE *f, const char *name, const char *rule, const struct sl_rstats *rs)
{
	for (int i = 0; i < SL_NR_RSTATS; i++)
		mx_u64(f, name, L("rule", rule, "kind", sl_rstats_name(i)), sl_rstats_value(rs, i));
}

/* Replies per reply slot: rules that can answer (or did), and the HTTP layer. */
static void mx_replies(FILE *f, const struct sl_mstate *s)
{
	const char *name = "sluice_replies_total";

	mx_family(f, name, "counter",
		  "Refusals answered, and what became of them, per rule (\"(http)\": the HTTP layer): rst, http429, limited (dropped: reply limit), no_socket, no_template (reset instead of a 429), fin_acked, follow_drop, failed.");
	for (int i = 0; i < s->n_rules; i++) {
		const struct sl_mrule *r = &s->rules[i];

		if ((r->action != SL_ACT_ALLOW && r->reject != SL_OVER_DROP) ||
		    sl_rstats_any(&r->rs))
			mx_replies_of(f, name, r->name, &r->rs);
	}
	if (s->http_on || sl_rstats_any(&s->http_replies))
		mx_replies_of(f, name, MX_RULE_HTTP, &s->http_replies);
}

/* One counter family with one sample per tenant: the field at byte offset `off` of its total. */
static void mx_tenant_field(FILE *f, const struct sl_mstate *s, const char *name,
			    const char *help, size_t off)
{
	mx_family(f, name, "counter", help);
	for (int i = 0; i <= SL_MAX_TENANTS; i++) {
		const struct sl_mtenant *t = &s->tenants[i];

		if (t->on)
			mx_u64(f, name, L("tenant", t->name),
			       *(const uint64_t *)((const char *)&t->total + off));
	}
}

static void mx_tenants(FILE *f, const struct sl_mstate *s)
{
	static const struct {
		const char *outcome;
		size_t off;
	} req[] = {
		{ "admitted", offsetof(struct sl_tstats, req_pass) },
		{ "dropped", offsetof(struct sl_tstats, req_drop) },
		{ "dry_run", offsetof(struct sl_tstats, req_dryrun) },
		{ "retransmission", offsetof(struct sl_tstats, req_retrans) },
	};
	const char *name;
	char gname[SL_NAME_MAX + 8];

	name = "sluice_tenant_info";
	mx_family(f, name, "gauge", "1 for each tenant of the running policy, with its plan.");
	for (int i = 0; i <= SL_MAX_TENANTS; i++)
		if (s->tenants[i].on)
			mx_u64(f, name, L("tenant", s->tenants[i].name, "plan", s->tenants[i].plan), 1);
	name = "sluice_tenant_requests_total";
	mx_family(f, name, "counter",
		  "HTTP requests of a tenant by outcome: admitted, dropped, dry_run (would have been dropped, passed), retransmission (of an admitted request, passed, not charged).");
	for (int i = 0; i <= SL_MAX_TENANTS; i++) {
		const struct sl_mtenant *t = &s->tenants[i];

		for (size_t k = 0; t->on && k < sizeof(req) / sizeof(req[0]); k++)
			mx_u64(f, name, L("tenant", t->name, "outcome", req[k].outcome),
			       *(const uint64_t *)((const char *)&t->total + req[k].off));
	}
	mx_tenant_field(f, s, "sluice_tenant_quota_refused_requests_total",
			"Requests of a tenant refused by a hard quota (also counted as dropped).",
			offsetof(struct sl_tstats, req_quota));
	mx_tenant_field(f, s, "sluice_tenant_cost_units_total",
			"Cost units of a tenant's admitted requests (API group weights; 1 without a group).",
			offsetof(struct sl_tstats, units));
	mx_tenant_field(f, s, "sluice_tenant_overage_units_total",
			"Cost units a tenant was admitted past a soft quota.",
			offsetof(struct sl_tstats, units_over));
	name = "sluice_tenant_bytes_total";
	mx_family(f, name, "counter",
		  "TCP payload bytes of a tenant's connections: in (admitted request segments), out (responses).");
	for (int i = 0; i <= SL_MAX_TENANTS; i++) {
		const struct sl_mtenant *t = &s->tenants[i];

		if (!t->on)
			continue;
		mx_u64(f, name, L("tenant", t->name, "direction", "in"), t->total.bytes_in);
		mx_u64(f, name, L("tenant", t->name, "direction", "out"), t->total.bytes_out);
	}
	mx_tenant_field(f, s, "sluice_tenant_refused_bytes_total",
			"Payload bytes of a tenant's request body segments refused by its bytes limit.",
			offsetof(struct sl_tstats, bytes_drop));
	name = "sluice_tenant_group_requests_total";
	mx_family(f, name, "counter",
		  "HTTP requests of a tenant per API group (\"(no group)\": none matched), admitted or dropped.");
	for (int i = 0; i <= SL_MAX_TENANTS; i++) {
		const struct sl_mtenant *t = &s->tenants[i];

		for (int g = 0; t->on && g <= SL_MAX_GROUPS; g++) {
			if (!t->group_pass[g] && !t->group_drop[g])
				continue;
			if (g == SL_MGROUP_NONE)
				snprintf(gname, sizeof(gname), "(no group)");
			else if (g < s->n_groups && s->groups[g][0])
				snprintf(gname, sizeof(gname), "%s", s->groups[g]);
			else
				snprintf(gname, sizeof(gname), "#%d", g);
			mx_u64(f, name, L("tenant", t->name, "group", gname, "outcome", "admitted"),
			       t->group_pass[g]);
			mx_u64(f, name, L("tenant", t->name, "group", gname, "outcome", "dropped"),
			       t->group_drop[g]);
		}
	}
}

static void mx_quotas(FILE *f, const struct sl_mstate *s)
{
	const char *name;

	name = "sluice_quota_info";
	mx_family(f, name, "gauge", "1 for each quota of each tenant, with its plan, mode and window.");
	for (int i = 0; i < s->n_quotas; i++) {
		const struct sl_mquota *q = &s->quotas[i];

		mx_u64(f, name, L("tenant", q->tenant, "quota", q->quota, "plan", q->plan, "mode",
				  q->mode == SL_QM_HARD ? "hard" : "soft", "window",
				  q->rolling ? "rolling" : "calendar"), 1);
	}
	name = "sluice_quota_used_units";
	mx_family(f, name, "gauge", "Units used in the quota's current period (or rolling window).");
	for (int i = 0; i < s->n_quotas; i++)
		mx_u64(f, name, L("tenant", s->quotas[i].tenant, "quota", s->quotas[i].quota),
		       s->quotas[i].used);
	name = "sluice_quota_limit_units";
	mx_family(f, name, "gauge", "Units the quota allows in its current period, credits included.");
	for (int i = 0; i < s->n_quotas; i++)
		mx_u64(f, name, L("tenant", s->quotas[i].tenant, "quota", s->quotas[i].quota),
		       s->quotas[i].limit);
	name = "sluice_quota_remaining_units";
	mx_family(f, name, "gauge", "Units left in the quota's current period (0 when used up).");
	for (int i = 0; i < s->n_quotas; i++) {
		const struct sl_mquota *q = &s->quotas[i];

		mx_u64(f, name, L("tenant", q->tenant, "quota", q->quota),
		       q->used < q->limit ? q->limit - q->used : 0);
	}
	name = "sluice_quota_near_limit";
	mx_family(f, name, "gauge",
		  "1 when usage reached the quota's highest alert_at threshold below 100 % (80 % without one), else 0.");
	for (int i = 0; i < s->n_quotas; i++)
		mx_u64(f, name, L("tenant", s->quotas[i].tenant, "quota", s->quotas[i].quota),
		       s->quotas[i].near);
	name = "sluice_quota_period_end_timestamp_seconds";
	mx_family(f, name, "gauge", "When the quota's current period (rolling: slice) ends, unix time.");
	for (int i = 0; i < s->n_quotas; i++)
		mx_i64(f, name, L("tenant", s->quotas[i].tenant, "quota", s->quotas[i].quota),
		       s->quotas[i].period_end);
}

static void mx_tables(FILE *f, const struct sl_mstate *s)
{
	static const char *const names[SL_NR_MTABLES] = {
		[SL_MT_BUCKETS] = "buckets",
		[SL_MT_TSTATS] = "tenant_counters",
		[SL_MT_FLOWS] = "flows",
		[SL_MT_QCNT] = "quota_counters",
	};

	mx_family(f, "sluice_table_entries", "gauge",
		  "Entries in use in a data-plane table (buckets, tenant_counters, flows, quota_counters).");
	for (int i = 0; i < SL_NR_MTABLES; i++)
		if (s->tables[i].used >= 0)
			mx_i64(f, "sluice_table_entries", L("table", names[i]), s->tables[i].used);
	mx_family(f, "sluice_table_max_entries", "gauge", "Capacity of a data-plane table, entries.");
	for (int i = 0; i < SL_NR_MTABLES; i++)
		if (s->tables[i].used >= 0)
			mx_i64(f, "sluice_table_max_entries", L("table", names[i]), s->tables[i].max);
}

static void mx_controller(FILE *f, const struct sl_mstate *s)
{
	const char *name = "sluice_controller_tick_duration_seconds";
	uint64_t cum = 0;
	char le[32];

	mx_family(f, name, "histogram",
		  "Duration of one tick of sluice run: counters read, quotas, billing, metrics gathered.");
	for (int i = 0; i < SL_MHIST_BUCKETS; i++) {
		cum += s->tick.n[i];
		snprintf(le, sizeof(le), "%g", sl_mhist_bound[i]);
		mx_u64(f, "sluice_controller_tick_duration_seconds_bucket", L("le", le), cum);
	}
	mx_u64(f, "sluice_controller_tick_duration_seconds_bucket", L("le", "+Inf"), s->tick.count);
	mx_f64(f, "sluice_controller_tick_duration_seconds_sum", NULL, s->tick.sum);
	mx_u64(f, "sluice_controller_tick_duration_seconds_count", NULL, s->tick.count);
	mx_family(f, "sluice_controller_ticks_total", "counter", "Ticks of sluice run's loop.");
	mx_u64(f, "sluice_controller_ticks_total", NULL, s->ticks);
	mx_family(f, "sluice_billing_last_write_timestamp_seconds", "gauge",
		  "When the billing files and checkpoint were last written successfully, unix time (0: not yet).");
	mx_i64(f, "sluice_billing_last_write_timestamp_seconds", NULL, s->last_write);
	mx_family(f, "sluice_billing_write_errors_total", "counter",
		  "Failed billing flushes (checkpoint or usage file write), each retried at the next flush.");
	mx_u64(f, "sluice_billing_write_errors_total", NULL, s->write_errors);
	mx_family(f, "sluice_checkpoint_age_seconds", "gauge",
		  "Seconds since the checkpoint was last saved (-1: never).");
	mx_f64(f, "sluice_checkpoint_age_seconds", NULL, s->ckpt_age);
	mx_family(f, "sluice_build_info", "gauge", "1, with the version of sluice.");
	mx_u64(f, "sluice_build_info", L("version", SLUICE_VERSION), 1);
}

int sl_metrics_render(const struct sl_mstate *s, char **text, size_t *len)
{
	FILE *f;

	*text = NULL;
	*len = 0;
	f = open_memstream(text, len);
	if (!f)
		return -ENOMEM;
	mx_rules(f, s, false);
	mx_rules(f, s, true);
	mx_replies(f, s);
	mx_tenants(f, s);
	mx_quotas(f, s);
	mx_tables(f, s);
	mx_controller(f, s);
	if (ferror(f) | fclose(f) || !*text) {
		free(*text);
		*text = NULL;
		*len = 0;
		return -ENOMEM;
	}
	return 0;
}

/* ---- the HTTP endpoint ---- */

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mx_result;
#else
typedef int mx_result;
#endif

struct sl_metrics {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;
	char *text; /* the latest rendering; NULL before the first */
	size_t len;
	int port;
};

int sl_metrics_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon, *port;
	char *end;
	unsigned long p;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - s - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hl);
		port = rb + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		hl = (size_t)(colon - s);
		memcpy(host, s, hl);
		port = colon + 1;
	}
	host[hl] = 0;
	if (!port[0] || strspn(port, "0123456789") != strlen(port))
		return -EINVAL;
	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno || *end || p > 65535)
		return -EINVAL;
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)p);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)p);
		*len = sizeof(*a);
	}
	return 0;
}

static mx_result mx_answer(struct MHD_Connection *c, unsigned int status, const char *ctype,
			   char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	mx_result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

#define MX_TEXT "text/plain; charset=utf-8"

static mx_result mx_request(void *cls, struct MHD_Connection *c, const char *url,
			    const char *method, const char *version, const char *upload_data,
			    size_t *upload_data_size, void **con_cls)
{
	static char not_found[] = "not found: sluice's metrics are at /metrics\n";
	static char not_allowed[] = "only GET and HEAD are served\n";
	static char starting[] = "sluice run has not read the counters yet; try again in a second\n";
	struct sl_metrics *m = cls;
	char *copy = NULL;
	bool have = false;
	size_t len = 0;

	/* A request body (never expected) is read and ignored. */
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return mx_answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, MX_TEXT, not_allowed,
				 sizeof(not_allowed) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return mx_answer(c, MHD_HTTP_NOT_FOUND, MX_TEXT, not_found, sizeof(not_found) - 1,
				 MHD_RESPMEM_PERSISTENT);
	pthread_mutex_lock(&m->lock);
	have = m->text != NULL;
	if (have) {
		copy = malloc(m->len ? m->len : 1);
		if (copy) {
			memcpy(copy, m->text, m->len);
			len = m->len;
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (!have)
		return mx_answer(c, MHD_HTTP_SERVICE_UNAVAILABLE, MX_TEXT, starting,
				 sizeof(starting) - 1, MHD_RESPMEM_PERSISTENT);
	if (!copy)
		return MHD_NO;
	return mx_answer(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", copy, len,
			 MHD_RESPMEM_MUST_FREE);
}

static void mx_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	pr_info("metrics endpoint: %s\n", msg);
}

/* A listening TCP socket on addr, or a negative errno. */
static int mx_listen(const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1, fd, err;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Not SO_REUSEPORT: a second listener on the port must fail, not share it. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int sl_metrics_start(const char *addr, struct sl_metrics **out)
{
	struct sockaddr_storage ss;
	struct sl_metrics *m;
	sigset_t all, old;
	socklen_t len;
	int fd, err;

	*out = NULL;
	if ((err = sl_metrics_parse_addr(addr, &ss, &len)))
		return err;
	fd = mx_listen(&ss, len);
	if (fd < 0)
		return fd;
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_init(&m->lock, NULL);
	len = sizeof(ss);
	if (!getsockname(fd, (struct sockaddr *)&ss, &len))
		m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
				((struct sockaddr_in *)&ss)->sin_port);
	/* The HTTP thread inherits this mask: SIGTERM, SIGHUP ... go to the daemon's loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
				(ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				0, NULL, NULL, mx_request, m,
				MHD_OPTION_EXTERNAL_LOGGER, mx_log, NULL,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, 32u,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->d) {
		close(fd);
		pthread_mutex_destroy(&m->lock);
		free(m);
		return -EIO;
	}
	*out = m;
	return 0;
}

int sl_metrics_port(const struct sl_metrics *m)
{
	return m->port;
}

void sl_metrics_publish(struct sl_metrics *m, char *text, size_t len)
{
	char *old;

	if (!text)
		return;
	pthread_mutex_lock(&m->lock);
	old = m->text;
	m->text = text;
	m->len = len;
	pthread_mutex_unlock(&m->lock);
	free(old);
}

void sl_metrics_stop(struct sl_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d); /* joins the HTTP thread and closes the listening socket */
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m);
}
