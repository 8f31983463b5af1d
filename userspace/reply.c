// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Which refusals of a policy are answered, and the 429 response texts the data plane sends. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "reply.h"

/* Room to build a text before it is measured against SL_REPLY_TEXT. */
#define RB_CAP (2 * SL_REPLY_TEXT)

struct rbuf {
	char b[RB_CAP];
	size_t n;
	bool over; /* something did not fit RB_CAP */
};

static void __attribute__((format(printf, 2, 3))) rb_put(struct rbuf *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->b + r->n, sizeof(r->b) - r->n, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(r->b) - r->n)
		r->over = true;
	else
		r->n += n;
}

/* A JSON string (RFC 8259), or null for NULL. */
static void rb_json(struct rbuf *r, const char *s)
{
	if (!s) {
		rb_put(r, "null");
		return;
	}
	rb_put(r, "\"");
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			rb_put(r, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			rb_put(r, "\\u%04x", ch);
		else
			rb_put(r, "%c", ch);
	}
	rb_put(r, "\"");
}

/*
 * A structured-field string (RFC 8941 sf-string): printable ASCII, '"' and '\' escaped. Other
 * bytes cannot be in one; names never have them, but they would become '?'.
 */
static void rb_sf(struct rbuf *r, const char *s)
{
	rb_put(r, "\"");
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			rb_put(r, "\\%c", ch);
		else
			rb_put(r, "%c", ch >= 0x20 && ch < 0x7f ? ch : '?');
	}
	rb_put(r, "\"");
}

/*
 * The body at one level of shortening: 0 everything, 1 without the message, 2 without the
 * limit (the RateLimit fields still name it).
 */
static void reply_body(struct rbuf *r, const struct sl_reply_spec *s, int level)
{
	rb_put(r, "{\"error\":\"too_many_requests\"");
	if (level < 2) {
		rb_put(r, ",\"limit\":");
		rb_json(r, s->id);
	}
	rb_put(r, ",\"tenant\":");
	rb_json(r, s->tenant);
	if (level < 1 && s->message) {
		rb_put(r, ",\"message\":");
		rb_json(r, s->message);
	}
	rb_put(r, "}\n");
}

static void reply_head(struct rbuf *r, const struct sl_reply_spec *s, size_t blen)
{
	rb_put(r, "HTTP/1.1 429 Too Many Requests\r\n"
		  "Content-Type: application/json\r\n"
		  "Content-Length: %zu\r\n"
		  "Connection: close\r\n"
		  "Cache-Control: no-store\r\n"
		  "RateLimit-Policy: ", blen);
	rb_sf(r, s->id);
	rb_put(r, ";q=%llu;w=%llu%s\r\nRateLimit: ", (unsigned long long)s->q,
	       (unsigned long long)s->w, s->bytes ? ";qu=\"content-bytes\"" : "");
	rb_sf(r, s->id);
	rb_put(r, ";r=");
}

int sl_reply_render(const struct sl_reply_spec *s, struct sl_reply_tpl *out)
{
	struct rbuf head, body;

	memset(out, 0, sizeof(*out));
	if (!s || !s->id || !s->id[0])
		return -EINVAL;
	for (int level = 0; level < 3; level++) {
		memset(&body, 0, sizeof(body));
		memset(&head, 0, sizeof(head));
		reply_body(&body, s, level);
		reply_head(&head, s, body.n);
		if (head.over || body.over || head.n + body.n > SL_REPLY_TEXT)
			continue;
		memcpy(out->text, head.b, head.n);
		memcpy(out->text + head.n, body.b, body.n);
		out->plen = head.n;
		out->blen = body.n;
		return 0;
	}
	return -E2BIG;
}

__u64 sl_reply_window(__u64 rate, __u64 burst)
{
	__u64 w;

	if (!rate)
		return 1;
	w = burst / rate + (burst % rate != 0);
	return w ? w : 1;
}

__u64 sl_reply_quota_window(const struct sl_quota *q)
{
	static const __u64 unit_s[SL_NR_PERIOD_UNITS] = {
		[SL_PU_MINUTES] = 60,
		[SL_PU_HOURS] = 3600,
		[SL_PU_DAYS] = 86400,
		[SL_PU_WEEKS] = 604800,
		[SL_PU_MONTHS] = 2592000, /* 30 days: RateLimit-Policy has no calendar */
	};

	return (q->unit < SL_NR_PERIOD_UNITS ? unit_s[q->unit] : 1) * (q->duration ? q->duration : 1);
}

/* Whether a quota can refuse (soft ones admit past it) and answers with `action`. */
static bool quota_answers(const struct sl_quota *q, __u8 action)
{
	return q->mode == SL_QM_HARD && q->action == action;
}

__u8 sl_reply_group_action(const struct sl_policy *p, int gi, int ti)
{
	__u8 a = p->groups[gi].action;

	return a != SL_OVER_INHERIT ? a : p->tenants[ti].lim.action;
}

bool sl_reply_any(const struct sl_policy *p)
{
	for (int i = 0; i < p->n_rules; i++)
		if (p->rules[i].action != SL_ACT_ALLOW && p->rules[i].reject != SL_OVER_DROP)
			return true;
	if (!p->n_http_ports)
		return false;
	if (p->unknown_key.action != SL_OVER_DROP)
		return true;
	for (int t = 0; t < p->n_tenants; t++) {
		const struct sl_plan *pl = &p->plans[p->tenants[t].plan];

		if (p->tenants[t].lim.action != SL_OVER_DROP)
			return true;
		for (int q = 0; q < pl->n_quotas; q++)
			if (pl->quotas[q].mode == SL_QM_HARD && pl->quotas[q].action != SL_OVER_DROP)
				return true;
		/* Group limits apply to tenants' requests only. */
		for (int g = 0; g < p->n_groups; g++)
			if (sl_reply_group_action(p, g, t) != SL_OVER_DROP)
				return true;
	}
	return false;
}

int sl_reply_quota_text(const struct sl_policy *p, int ti, int qi, struct sl_reply_tpl *out)
{
	const struct sl_tenant *t = &p->tenants[ti];
	const struct sl_quota *q = &p->plans[t->plan].quotas[qi];
	struct sl_reply_spec s = {
		.id = q->name,
		.tenant = t->name,
		.q = q->quota,
		.w = sl_reply_quota_window(q),
		.message = "quota used up",
	};
	int err;

	if (!quota_answers(q, SL_OVER_HTTP429))
		return 0;
	err = sl_reply_render(&s, out);
	return err ? err : 1;
}

/* Render s and hand it to fn under key (kind, idx, sub). */
static int reply_emit(const struct sl_reply_spec *s, __u8 kind, __u16 idx, __u16 sub,
		      sl_reply_fn fn, void *arg)
{
	struct sl_reply_tpl t;
	struct sl_reply_key k = { .kind = kind, .idx = idx, .sub = sub };
	int err = sl_reply_render(s, &t);

	return err ? err : fn(&k, &t, arg);
}

/*
 * Messages are a few words: on XDP the response is written over the request's frame, which
 * can grow by about 216 bytes on veth and generic XDP (docs/reject.md), so every byte counts.
 */

int sl_reply_each(const struct sl_policy *p, const __u16 *rule_slot, const __u16 *tenant_idx,
		  sl_reply_fn fn, void *arg)
{
	struct sl_reply_tpl qt;
	char id[2 * SL_NAME_MAX], msg[128];
	bool tenant_429 = false;
	int err;

	for (int i = 0; i < p->n_rules; i++) {
		const struct sl_policy_rule *r = &p->rules[i];
		bool limit = r->action == SL_ACT_LIMIT;
		struct sl_reply_spec s = {
			.id = r->name,
			.q = limit ? r->burst : 0,
			.w = limit ? sl_reply_window(r->rate, r->burst) : 1,
			.bytes = limit && r->bytes,
			.message = msg,
		};

		if (r->action == SL_ACT_ALLOW || r->reject != SL_OVER_HTTP429)
			continue;
		if (limit)
			snprintf(msg, sizeof(msg), "rate limited");
		else
			snprintf(msg, sizeof(msg), "refused");
		if ((err = reply_emit(&s, SL_RK_RULE, rule_slot[i], 0, fn, arg)))
			return err;
	}
	if (!p->n_http_ports)
		return 0;

	if (p->unknown_key.action == SL_OVER_HTTP429) {
		const struct sl_unknown_key *u = &p->unknown_key;
		struct sl_reply_spec s = { .id = "unknown_key", .q = u->burst,
					   .w = sl_reply_window(u->rate, u->burst), .message = msg };

		snprintf(msg, sizeof(msg), "no known API key");
		if ((err = reply_emit(&s, SL_RK_UNKNOWN, 0, 0, fn, arg)))
			return err;
	}

	for (int ti = 0; ti < p->n_tenants; ti++) {
		const struct sl_tenant *t = &p->tenants[ti];
		const struct sl_req_limits *l = &t->lim;
		const struct sl_plan *pl = &p->plans[t->plan];

		if (l->action == SL_OVER_HTTP429) {
			struct sl_reply_spec s = { .id = "requests", .tenant = t->name, .q = l->burst,
						   .w = sl_reply_window(l->rate, l->burst),
						   .message = msg };

			tenant_429 = true;
			snprintf(msg, sizeof(msg), "rate limited");
			if ((err = reply_emit(&s, SL_RK_TENANT, tenant_idx[ti], 0, fn, arg)))
				return err;
			if (l->bytes_rate) {
				s.id = "bytes";
				s.q = l->bytes_burst;
				s.w = sl_reply_window(l->bytes_rate, l->bytes_burst);
				s.bytes = true;
				snprintf(msg, sizeof(msg), "byte rate limited");
				if ((err = reply_emit(&s, SL_RK_BYTES, tenant_idx[ti], 0, fn, arg)))
					return err;
			}
		}
		for (int qi = 0; qi < pl->n_quotas; qi++) {
			struct sl_reply_key k = { .kind = SL_RK_QUOTA, .idx = tenant_idx[ti],
						  .sub = qi };

			err = sl_reply_quota_text(p, ti, qi, &qt);
			if (err > 0)
				err = fn(&k, &qt, arg);
			if (err)
				return err;
		}
	}

	/* Group texts are per group, not per tenant: needed if any tenant gets a 429 from them. */
	for (int gi = 0; gi < p->n_groups && p->n_tenants; gi++) {
		const struct sl_group *g = &p->groups[gi];

		if (g->action != SL_OVER_HTTP429 && !(g->action == SL_OVER_INHERIT && tenant_429))
			continue;
		for (int l = 0; l < g->n_limits; l++) {
			struct sl_reply_spec s = { .id = id, .q = g->limits[l].burst,
						   .w = sl_reply_window(g->limits[l].rate,
									g->limits[l].burst),
						   .message = msg };

			snprintf(id, sizeof(id), "%s.%s", g->name, g->limits[l].name);
			snprintf(msg, sizeof(msg), "endpoint rate limited");
			if ((err = reply_emit(&s, SL_RK_GROUP, gi, l, fn, arg)))
				return err;
		}
	}
	return 0;
}

void sl_reply_lim_of(const struct sl_gcra_params *g, __u64 *rate, __u64 *burst)
{
	unsigned __int128 x;

	*rate = *burst = 0;
	if (!g->interval)
		return;
	/* interval = floor((TU << shift) / rate), tau = floor(burst * TU / rate): round back. */
	x = ((unsigned __int128)SL_TU_PER_SEC << (g->shift & 63)) + g->interval / 2;
	*rate = (__u64)(x / g->interval);
	x = (unsigned __int128)g->tau * *rate + SL_TU_PER_SEC / 2;
	*burst = (__u64)(x / SL_TU_PER_SEC);
}
