// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice top: a live terminal view of rules, the source aggregates nearest their limit and the
 * HTTP tenants, with rates between two reads; plain-text or JSON snapshots off a terminal.
 */
#define _GNU_SOURCE /* ppoll */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "attach.h"
#include "cmd.h"
#include "json.h"
#include "log.h"
#include "maps.h"
#include "pins.h"
#include "policy.h"
#include "run.h"
#include "stats.h"
#include "tview.h"
#include "util.h"
#include "view.h"

#define TOP_AGG_TEXT 20  /* aggregates in a plain-text snapshot */
#define TOP_AGG_JSON 100 /* ... and in a JSON one */
#define TOP_BAR      20  /* characters of a bar */
#define TOP_FIRST_MS 250 /* the first screen's rates are measured over at most this */

enum top_sort { TOP_BY_ADMIT, TOP_BY_DROP, TOP_BY_NAME, TOP_NR_SORTS };
static const char *const top_sort_name[TOP_NR_SORTS] = { "admitted/s", "dropped/s", "name" };

/* How the buckets of one slot are read: their clock and GCRA parameters in time units. */
struct top_slot {
	bool used, fine, bytes;
	double t_unit; /* time units per admitted unit (1 / rate) */
	double tau;    /* burst tolerance */
	__u8 prefix4, prefix6;
	const char *name;
};

struct top_bkt {
	struct sl_bkey k;
	__u64 tat;
};

/* One read of everything the view shows. */
struct top_read {
	__u64 mono_ns, real_ns;
	__u64 now_tick, now_fine; /* the data plane's clocks at the bucket scan */
	struct sl_view v;
	struct sl_tview tv;
	struct top_bkt *bk; /* buckets busy since the previous read, sorted by key */
	long n_bk, cap_bk;
	struct sl_rquota *q; /* the quotas in `sluice run`'s checkpoint */
	int n_q, q_err;
};

struct top_rule {
	const struct sl_view_rule *r;
	double pass, drop;
};

struct top_agg {
	const struct top_bkt *b;
	const struct top_slot *s;
	double rate; /* units admitted per second; 0 unless measured */
	double used; /* fraction of the burst in use now */
	bool measured; /* the bucket was in use at both reads: rate holds */
};

struct top_quota {
	const struct sl_rquota *q;
	uint64_t used, limit;
};

struct top_tenant {
	const struct sl_tview_tenant *t;
	double pass, drop;
	const struct top_quota *quota; /* its most used quota, or NULL */
	int n_quotas;
};

struct top {
	const struct sl_opts *o;
	struct sl_maps m;
	const char *state_dir;
	long interval_ms, count, ms;
	enum top_sort sort;
	bool tenants_first, tty;
	int rows, cols, line;
	FILE *out;
	struct top_read rd[2];
	int cur, n_reads;
	struct top_slot slots[SL_MAX_RULES + 1]; /* the last one: unknown-key buckets */
	struct sl_trate *trates;                  /* by index of the current tenant view */
	struct top_tenant *ten;
	struct top_rule *rul;
	struct top_agg *agg;
	struct top_quota *quo;
	int n_ten, n_rul, n_quo;
	long n_agg;
};

static const struct top_slot *top_slot_of(const struct top *t, __u16 slot)
{
	const struct top_slot *s = slot < SL_MAX_RULES ? &t->slots[slot] :
				   slot == SL_SLOT_UNKNOWN_KEY ? &t->slots[SL_MAX_RULES] : NULL;

	return s && s->used ? s : NULL;
}

static void top_slots(struct top *t, const struct top_read *r)
{
	const struct sl_httpcfg *h = &r->tv.http;
	struct top_slot *s;

	memset(t->slots, 0, sizeof(t->slots));
	for (int i = 0; i < r->v.n_rules; i++) {
		const struct sl_rulemeta *mt = &r->v.rules[i].meta;

		if (mt->action != SL_ACT_LIMIT || !mt->rate || r->v.rules[i].slot >= SL_MAX_RULES)
			continue;
		s = &t->slots[r->v.rules[i].slot];
		s->used = true;
		s->fine = mt->flags & SL_RF_FINE;
		s->bytes = mt->flags & SL_RF_BYTES;
		s->t_unit = (double)SL_TU_PER_SEC / mt->rate;
		s->tau = mt->burst * s->t_unit;
		s->prefix4 = mt->prefix4;
		s->prefix6 = mt->prefix6;
		s->name = mt->name;
	}
	if (h->n_ports && h->unknown.interval) {
		s = &t->slots[SL_MAX_RULES];
		s->used = true;
		s->fine = h->unknown_flags & SL_RF_FINE;
		s->t_unit = (double)h->unknown.interval / (double)(1ULL << (h->unknown.shift & 63));
		s->tau = (double)h->unknown.tau;
		s->prefix4 = h->unknown_prefix4;
		s->prefix6 = h->unknown_prefix6;
		s->name = "(unknown key)";
	}
}

static int top_bkt_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct top_bkt *)a)->k, &((const struct top_bkt *)b)->k,
		      sizeof(struct sl_bkey));
}

struct top_scan {
	const struct top *t;
	struct top_read *r;
	__u64 since_fine, since_tick;
};

/* Keep the buckets whose TAT is past the previous read: the others admitted nothing since. */
static int top_scan_one(const struct sl_bkey *k, const struct sl_bucket *b, void *arg)
{
	struct top_scan *sc = arg;
	const struct top_slot *s = top_slot_of(sc->t, k->slot);
	struct top_read *r = sc->r;

	if (!s || b->tat <= (s->fine ? sc->since_fine : sc->since_tick))
		return 0;
	if (r->n_bk == r->cap_bk) {
		long cap = r->cap_bk ? r->cap_bk * 2 : 256;
		struct top_bkt *nb = realloc(r->bk, cap * sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		r->bk = nb;
		r->cap_bk = cap;
	}
	r->bk[r->n_bk].k = *k;
	r->bk[r->n_bk++].tat = b->tat;
	return 0;
}

static void top_read_free(struct top_read *r)
{
	sl_view_free(&r->v);
	sl_tview_free(&r->tv);
	free(r->bk);
	free(r->q);
	memset(r, 0, sizeof(*r));
}

/* A new read into the older of the two; the other stays as the start of the interval. */
static int top_read(struct top *t)
{
	const struct top_read *p = t->n_reads ? &t->rd[t->cur] : NULL;
	struct top_read *r = &t->rd[t->cur ^ 1];
	struct top_scan sc = { .t = t, .r = r };
	long n;
	int err;

	top_read_free(r);
	r->mono_ns = sl_monotonic_ns();
	r->real_ns = sl_realtime_ns();
	if ((err = sl_view_read(t->o->pin_root, &t->m, &r->v)) ||
	    (err = sl_tview_read(&t->m, &r->tv)))
		return err;
	top_slots(t, r);
	/* As `sluice gc` reads them: the tick clock first, both lag the data plane. */
	r->now_tick = sl_now_tick_user();
	r->now_fine = sl_monotonic_ns() << SL_TU_SHIFT;
	sc.since_tick = p ? p->now_tick : r->now_tick;
	sc.since_fine = p ? p->now_fine : r->now_fine;
	n = sl_buckets_scan(t->m.buckets, top_scan_one, &sc);
	if (n < 0)
		return (int)n;
	qsort(r->bk, r->n_bk, sizeof(*r->bk), top_bkt_cmp);
	r->q_err = sl_run_quotas(t->state_dir, &r->q, &r->n_q);
	t->cur ^= 1;
	t->n_reads++;
	return 0;
}

static enum top_sort top_by; /* for the comparators */

static int top_desc(double a, double b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

static int top_pd_cmp(double pa, double da, double pb, double db, const char *na,
		      const char *nb)
{
	int c = 0;

	if (top_by == TOP_BY_ADMIT)
		c = top_desc(pa, pb) ?: top_desc(da, db);
	else if (top_by == TOP_BY_DROP)
		c = top_desc(da, db) ?: top_desc(pa, pb);
	return c ?: strcmp(na, nb);
}

static int top_tenant_cmp(const void *a, const void *b)
{
	const struct top_tenant *x = a, *y = b;

	return top_pd_cmp(x->pass, x->drop, y->pass, y->drop, x->t->meta.name, y->t->meta.name);
}

static int top_rule_cmp(const void *a, const void *b)
{
	const struct top_rule *x = a, *y = b;

	return top_pd_cmp(x->pass, x->drop, y->pass, y->drop, x->r->meta.name, y->r->meta.name);
}

/* No per-aggregate drop counts: "dropped/s" ranks by burst in use, where drops begin. */
static int top_agg_cmp(const void *a, const void *b)
{
	const struct top_agg *x = a, *y = b;
	int c = 0;

	if (top_by == TOP_BY_ADMIT)
		c = top_desc(x->rate, y->rate) ?: top_desc(x->used, y->used);
	else if (top_by == TOP_BY_DROP)
		c = top_desc(x->used, y->used) ?: top_desc(x->rate, y->rate);
	else
		c = strcmp(x->s->name, y->s->name);
	return c ?: top_bkt_cmp(x->b, y->b);
}

static void top_sort_rows(struct top *t)
{
	top_by = t->sort;
	qsort(t->ten, t->n_ten, sizeof(*t->ten), top_tenant_cmp);
	qsort(t->rul, t->n_rul, sizeof(*t->rul), top_rule_cmp);
	qsort(t->agg, t->n_agg, sizeof(*t->agg), top_agg_cmp);
}

/* Rule r in an earlier view: same slot, same owner. */
static const struct sl_view_rule *top_rule_find(const struct sl_view *v,
						const struct sl_view_rule *r)
{
	for (int i = 0; i < v->n_rules; i++) {
		const struct sl_view_rule *b = &v->rules[i];

		if (b->slot == r->slot && b->meta.assigned_ns == r->meta.assigned_ns)
			return b;
	}
	return NULL;
}

static double top_delta(__u64 now, __u64 before, double secs)
{
	return now > before ? (double)(now - before) / secs : 0;
}

static void top_rules(struct top *t, const struct top_read *p, const struct top_read *c)
{
	double secs = t->ms / 1000.0;

	t->n_rul = 0;
	for (int i = 0; i < c->v.n_rules; i++) {
		const struct sl_view_rule *r = &c->v.rules[i], *b = top_rule_find(&p->v, r);
		struct top_rule *x = &t->rul[t->n_rul++];

		x->r = r;
		x->pass = x->drop = 0;
		if (!b)
			continue;
		x->pass = top_delta(sl_stats_outcome(&r->stats, SL_O_PASS).packets,
				    sl_stats_outcome(&b->stats, SL_O_PASS).packets, secs);
		x->drop = top_delta(sl_stats_outcome(&r->stats, SL_O_DROP).packets,
				    sl_stats_outcome(&b->stats, SL_O_DROP).packets, secs);
	}
}

/*
 * An aggregate's bucket moves its TAT forward by 1/rate per admitted unit, from the later of
 * its TAT and the arrival: over [now1, now2], TAT2 - max(TAT1, now1) is the units admitted
 * (times 1/rate) plus the time the bucket spent idle. With the bucket in use at both reads
 * (the aggregate held at its limit) there is no idle time to speak of and that is its rate.
 * Below its limit a bucket idles between packets and the difference is mostly idle time, so
 * the data plane tells nothing about the rate: such aggregates are listed as active only.
 */
static void top_aggs(struct top *t, const struct top_read *p, const struct top_read *c)
{
	double secs = (double)(c->now_fine - p->now_fine) / SL_TU_PER_SEC;

	t->n_agg = 0;
	for (long i = 0; i < c->n_bk; i++) {
		const struct top_bkt *b = &c->bk[i], *pb;
		const struct top_slot *s = top_slot_of(t, b->k.slot);
		struct top_agg *a = &t->agg[t->n_agg];
		__u64 now1, now2, tat1, base;

		if (!s)
			continue;
		now1 = s->fine ? p->now_fine : p->now_tick;
		now2 = s->fine ? c->now_fine : c->now_tick;
		pb = bsearch(b, p->bk, p->n_bk, sizeof(*p->bk), top_bkt_cmp);
		tat1 = pb ? pb->tat : 0;
		base = tat1 > now1 ? tat1 : now1;
		a->b = b;
		a->s = s;
		if (b->tat <= base)
			continue; /* nothing admitted since the previous read */
		a->measured = tat1 > now1 && b->tat > now2 && secs > 0;
		a->rate = a->measured ? (double)(b->tat - base) / s->t_unit / secs : 0;
		a->used = b->tat <= now2 ? 0 : s->tau > 0 ? (double)(b->tat - now2) / s->tau : 1;
		if (a->used > 1)
			a->used = 1; /* our clock reads lag the data plane's */
		t->n_agg++;
	}
}

static void top_tenants(struct top *t, const struct top_read *c)
{
	t->n_ten = t->n_quo = 0;
	for (int i = 0; i < c->tv.n; i++) {
		struct top_tenant *x = &t->ten[t->n_ten++];

		x->t = &c->tv.t[i];
		x->pass = t->trates[i].pass;
		x->drop = t->trates[i].drop;
		x->quota = NULL;
		x->n_quotas = 0;
		for (int k = 0; k < c->n_q && x->t->idx != SL_TENANT_UNKNOWN; k++) {
			struct top_quota *q = &t->quo[t->n_quo];

			if (!c->q[k].live || strcmp(c->q[k].tenant, x->t->meta.name))
				continue;
			q->q = &c->q[k];
			sl_usage_current(&t->m, q->q, &q->used, &q->limit);
			/* The most used: used/limit compared without dividing. */
			if (!x->quota || (double)q->used * x->quota->limit >
					 (double)x->quota->used * q->limit)
				x->quota = q;
			x->n_quotas++;
			t->n_quo++;
		}
	}
}

/* Rows of the latest interval from the last two reads. */
static int top_compute(struct top *t)
{
	const struct top_read *c = &t->rd[t->cur], *p = &t->rd[t->cur ^ 1];
	int nt = c->tv.n ? c->tv.n : 1;

	t->ms = (long)((c->mono_ns - p->mono_ns + 500000) / 1000000);
	if (t->ms < 1)
		t->ms = 1;
	free(t->trates);
	free(t->ten);
	free(t->rul);
	free(t->agg);
	free(t->quo);
	t->trates = calloc(nt, sizeof(*t->trates));
	t->ten = calloc(nt, sizeof(*t->ten));
	t->rul = calloc(c->v.n_rules ? c->v.n_rules : 1, sizeof(*t->rul));
	t->agg = calloc(c->n_bk ? c->n_bk : 1, sizeof(*t->agg));
	t->quo = calloc(c->n_q ? c->n_q : 1, sizeof(*t->quo));
	if (!t->trates || !t->ten || !t->rul || !t->agg || !t->quo)
		return -ENOMEM;
	sl_trates(&p->tv, &c->tv, t->ms, t->trates);
	top_rules(t, p, c);
	top_aggs(t, p, c);
	top_tenants(t, c);
	top_sort_rows(t);
	return 0;
}

/* ---- text ---- */

/* One line of the screen (cut to the terminal's width and height) or of a snapshot. */
static void __attribute__((format(printf, 2, 3))) top_line(struct top *t, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!t->tty) {
		fprintf(t->out, "%s\n", buf);
		return;
	}
	if (t->line >= t->rows)
		return;
	/* Never the last column: erasing there (ESC [K) would take the wrap-pending character. */
	if (t->cols > 1 && strlen(buf) > (size_t)t->cols - 1)
		buf[t->cols - 1] = '\0';
	fprintf(t->out, "%s%s\x1b[K", t->line ? "\n" : "", buf);
	t->line++;
}

static const char *top_num(double v, char *buf, size_t len)
{
	if (v > 0 && v < 100)
		snprintf(buf, len, "%.1f", v);
	else
		sl_fmt_si(v, buf, len);
	return buf;
}

static const char *top_pct(double part, double whole, char *buf, size_t len)
{
	if (whole > 0)
		snprintf(buf, len, "%.1f%%", 100.0 * part / whole);
	else
		snprintf(buf, len, "-");
	return buf;
}

/* "[#####...............]  25%" */
static const char *top_bar(double frac, char *buf, size_t len)
{
	char bar[TOP_BAR + 1];
	int fill = (int)(frac * TOP_BAR + 0.5);

	fill = fill < 0 ? 0 : fill > TOP_BAR ? TOP_BAR : fill;
	memset(bar, '#', fill);
	memset(bar + fill, '.', TOP_BAR - fill);
	bar[TOP_BAR] = '\0';
	snprintf(buf, len, "[%s] %3.0f%%", bar, frac * 100);
	return buf;
}

static const char *top_hdr(const struct top *t, enum top_sort s, const char *name, char *buf,
			   size_t len)
{
	snprintf(buf, len, "%s%s", t->sort == s ? "*" : "", name);
	return buf;
}

static const char *top_agg_str(const struct top_agg *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	bool v6 = a->b->k.family == SL_AF_INET6;

	inet_ntop(v6 ? AF_INET6 : AF_INET, a->b->k.addr, ip, sizeof(ip));
	snprintf(buf, len, "%s/%u", ip, v6 ? a->s->prefix6 : a->s->prefix4);
	return buf;
}

static void top_header(struct top *t)
{
	const struct top_read *c = &t->rd[t->cur];
	const struct sl_gcfg *g = &c->v.cfg.g[c->v.gen];
	char ts[40], ifs[512] = "", quota[400];

	top_line(t, "sluice top  %s  policy %s  generation %u%s  rates over %.2f s",
		 sl_fmt_time(c->real_ns, ts, sizeof(ts)),
		 g->policy_name[0] ? g->policy_name : "(none applied)", c->v.gen,
		 g->dry_run ? "  DRY-RUN" : "", t->ms / 1000.0);
	for (int i = 0; i < c->v.n_attach; i++) {
		const struct sl_attach *a = &c->v.attach[i].a;
		size_t l = strlen(ifs);

		snprintf(ifs + l, sizeof(ifs) - l, "%s%s %s%s%s%s", i ? ", " : "", a->ifname,
			 sl_hook_name(a->hook), a->hook == SL_HOOK_XDP ? "/" : "",
			 a->hook == SL_HOOK_XDP ? sl_mode_name(a->mode) : "",
			 c->v.attach[i].alive ? "" : " (gone)");
	}
	top_line(t, "interfaces: %s  aggregates: %ld active, %ld of %ld in the table",
		 c->v.n_attach ? ifs : "(none)", t->n_agg, c->v.buckets_used, c->v.buckets_max);
	if (c->q_err == -ENOENT)
		snprintf(quota, sizeof(quota), "none (no `sluice run` state in %s)", t->state_dir);
	else if (c->q_err)
		snprintf(quota, sizeof(quota), "cannot read %s/checkpoint: %s", t->state_dir,
			 strerror(-c->q_err));
	else
		snprintf(quota, sizeof(quota), "%s", t->state_dir);
	top_line(t, "sort: %s%s  quotas: %s", top_sort_name[t->sort],
		 t->tty ? "  keys: s sort, t tenants/sources first, space refresh, q quit" : "",
		 quota);
}

/* Rows shown of a section of n rows, given the room: all, or room - 1 and a "more" line. */
static int top_fit(long n, int room)
{
	return n <= room ? (int)n : room > 0 ? room - 1 : 0;
}

static void top_more(struct top *t, long n, int shown)
{
	if (n > shown)
		top_line(t, "  (+%ld more)", n - shown);
}

static void top_rules_text(struct top *t, int room)
{
	char h[3][16], b[4][32], lim[40];
	int shown = top_fit(t->n_rul, room);

	top_line(t, "%s", "");
	top_line(t, "%-20s %-6s %12s %10s %10s %6s", top_hdr(t, TOP_BY_NAME, "RULE", h[0], 16),
		 "ACTION", "LIMIT", top_hdr(t, TOP_BY_ADMIT, "PASS/S", h[1], 16),
		 top_hdr(t, TOP_BY_DROP, "DROP/S", h[2], 16), "DROP%");
	if (!t->n_rul)
		top_line(t, "(no rules: every packet passes; `sluice policy apply FILE`)");
	for (int i = 0; i < shown; i++) {
		const struct top_rule *x = &t->rul[i];
		const struct sl_rulemeta *mt = &x->r->meta;

		if (mt->action == SL_ACT_LIMIT)
			snprintf(lim, sizeof(lim), "%s%s/s", sl_fmt_si(mt->rate, b[0], 32),
				 mt->flags & SL_RF_BYTES ? "B" : "p");
		else
			snprintf(lim, sizeof(lim), "-");
		top_line(t, "%-20s %-6s %12s %10s %10s %6s%s", mt->name, sl_action_name(mt->action),
			 lim, top_num(x->pass, b[1], 32), top_num(x->drop, b[2], 32),
			 top_pct(x->drop, x->pass + x->drop, b[3], 32),
			 mt->flags & SL_RF_DRYRUN ? "  dry-run" : "");
	}
	top_more(t, t->n_rul, shown);
}

static void top_aggs_text(struct top *t, int room)
{
	char h[3][16], b[2][64], rate[80], addr[64];
	int shown = top_fit(t->n_agg, room);

	top_line(t, "%s", "");
	top_line(t, "%-28s %-20s %10s  %s", top_hdr(t, TOP_BY_NAME, "AGGREGATE", h[0], 16), "RULE",
		 top_hdr(t, TOP_BY_ADMIT, "ADMIT/S", h[1], 16),
		 top_hdr(t, TOP_BY_DROP, "BURST USED", h[2], 16));
	if (!t->n_agg)
		top_line(t, "(no aggregate admitted anything since the last read)");
	for (int i = 0; i < shown; i++) {
		const struct top_agg *a = &t->agg[i];

		snprintf(rate, sizeof(rate), "%s%s", a->measured ? top_num(a->rate, b[0], 64) : "-",
			 a->measured && a->s->bytes ? "B" : "");
		top_line(t, "%-28s %-20s %10s  %s", top_agg_str(a, addr, sizeof(addr)), a->s->name,
			 rate, top_bar(a->used, b[1], sizeof(b[1])));
	}
	top_more(t, t->n_agg, shown);
}

static void top_tenants_text(struct top *t, int room)
{
	char h[3][16], b[6][64], q[160];
	int shown = top_fit(t->n_ten, room);

	top_line(t, "%s", "");
	top_line(t, "%-20s %10s %10s %6s %10s %10s  %s",
		 top_hdr(t, TOP_BY_NAME, "TENANT", h[0], 16),
		 top_hdr(t, TOP_BY_ADMIT, "ADMIT/S", h[1], 16),
		 top_hdr(t, TOP_BY_DROP, "DROP/S", h[2], 16), "DROP%", "ADMITTED", "DROPPED",
		 "QUOTA");
	if (!t->n_ten)
		top_line(t, "(no HTTP tenants: the active policy has no `http:`)");
	for (int i = 0; i < shown; i++) {
		const struct top_tenant *x = &t->ten[i];
		const struct top_quota *z = x->quota;

		snprintf(q, sizeof(q), "-");
		if (z)
			snprintf(q, sizeof(q), "%s %s %s/%s%s", z->q->quota,
				 top_bar(z->limit ? (double)z->used / z->limit : 1, b[4], 64),
				 sl_fmt_si(z->used, b[5], 32), sl_fmt_si(z->limit, b[5] + 32, 32),
				 x->n_quotas > 1 ? " (+more)" : "");
		top_line(t, "%-20s %10s %10s %6s %10s %10s  %s", x->t->meta.name,
			 top_num(x->pass, b[0], 64), top_num(x->drop, b[1], 64),
			 top_pct(x->drop, x->pass + x->drop, b[2], 64),
			 sl_fmt_si(x->t->total.req_pass, b[3], 32),
			 sl_fmt_si(x->t->total.req_drop, b[3] + 32, 32), q);
	}
	top_more(t, t->n_ten, shown);
}

/*
 * The whole screen or snapshot. On a terminal each section gets what room is left after
 * keeping its header and up to 3 rows for each section below it, and at least one row.
 */
static void top_render(struct top *t)
{
	/* Sections: 0 rules, 1 aggregates, 2 tenants, in the order shown. */
	static const int src_first[3] = { 0, 1, 2 }, ten_first[3] = { 2, 0, 1 };
	const int *order = t->tenants_first ? ten_first : src_first;
	long n[3] = { t->n_rul, t->n_agg, t->n_ten };
	int want[3], room[3], left = t->rows - 3;

	for (int i = 0; i < 3; i++) /* an empty section has one line saying so */
		want[i] = n[i] < 1 ? 1 : n[i] > t->rows ? t->rows : (int)n[i];
	for (int i = 0; i < 3 && t->tty; i++) {
		int s = order[i], r = left - 2;

		for (int k = i + 1; k < 3; k++)
			r -= 2 + (want[order[k]] < 3 ? want[order[k]] : 3);
		if (r < 1) /* a small screen: the sections above come first */
			r = left - 2 > 0 ? 1 : 0;
		room[s] = r < want[s] ? r : want[s];
		left -= 2 + room[s];
	}
	if (!t->tty) {
		room[0] = room[2] = 1 << 30;
		room[1] = TOP_AGG_TEXT + 1;
	}
	top_header(t);
	for (int i = 0; i < 3; i++) {
		if (order[i] == 0)
			top_rules_text(t, room[0]);
		else if (order[i] == 1)
			top_aggs_text(t, room[1]);
		else
			top_tenants_text(t, room[2]);
	}
}

/* ---- JSON ---- */

static void top_json(struct top *t, bool pretty)
{
	const struct top_read *c = &t->rd[t->cur];
	const struct sl_gcfg *g = &c->v.cfg.g[c->v.gen];
	struct sl_json j;
	char buf[64];

	sl_json_init(&j, stdout, pretty);
	sl_json_obj_open(&j, NULL);
	sl_json_str(&j, "time", sl_fmt_time(c->real_ns, buf, sizeof(buf)));
	sl_json_u64(&j, "interval_ms", t->ms);
	sl_json_obj_open(&j, "policy");
	sl_json_str(&j, "name", g->policy_name);
	sl_json_u64(&j, "generation", c->v.gen);
	sl_json_bool(&j, "dry_run", g->dry_run);
	sl_json_obj_close(&j);
	sl_json_arr_open(&j, "interfaces");
	for (int i = 0; i < c->v.n_attach; i++) {
		const struct sl_attach *a = &c->v.attach[i].a;

		sl_json_obj_open(&j, NULL);
		sl_json_str(&j, "ifname", a->ifname);
		sl_json_str(&j, "hook", sl_hook_name(a->hook));
		if (a->hook == SL_HOOK_XDP)
			sl_json_str(&j, "mode", sl_mode_name(a->mode));
		sl_json_bool(&j, "attached", c->v.attach[i].alive);
		sl_json_obj_close(&j);
	}
	sl_json_arr_close(&j);
	sl_json_arr_open(&j, "rules");
	for (int i = 0; i < t->n_rul; i++) {
		const struct sl_rulemeta *mt = &t->rul[i].r->meta;

		sl_json_obj_open(&j, NULL);
		sl_json_str(&j, "name", mt->name);
		sl_json_str(&j, "action", sl_action_name(mt->action));
		sl_json_u64(&j, "rate", mt->rate);
		sl_json_u64(&j, "burst", mt->burst);
		sl_json_str(&j, "unit", mt->flags & SL_RF_BYTES ? "bytes" : "packets");
		sl_json_u64(&j, "passed_per_s", (uint64_t)(t->rul[i].pass + 0.5));
		sl_json_u64(&j, "dropped_per_s", (uint64_t)(t->rul[i].drop + 0.5));
		sl_json_obj_close(&j);
	}
	sl_json_arr_close(&j);
	sl_json_i64(&j, "aggregates_active", t->n_agg);
	sl_json_i64(&j, "table_used", c->v.buckets_used);
	sl_json_i64(&j, "table_max", c->v.buckets_max);
	sl_json_arr_open(&j, "aggregates");
	for (long i = 0; i < t->n_agg && i < TOP_AGG_JSON; i++) {
		const struct top_agg *a = &t->agg[i];

		sl_json_obj_open(&j, NULL);
		sl_json_str(&j, "aggregate", top_agg_str(a, buf, sizeof(buf)));
		sl_json_str(&j, "rule", a->s->name);
		if (a->measured)
			sl_json_u64(&j, "admitted_per_s", (uint64_t)(a->rate + 0.5));
		else
			sl_json_null(&j, "admitted_per_s");
		sl_json_u64(&j, "burst_used_percent", (uint64_t)(a->used * 100 + 0.5));
		sl_json_obj_close(&j);
	}
	sl_json_arr_close(&j);
	sl_tenants_json(&j, "tenants", &c->tv, t->trates, false);
	sl_json_arr_open(&j, "quotas");
	for (int i = 0; i < t->n_quo; i++) {
		const struct top_quota *z = &t->quo[i];

		sl_json_obj_open(&j, NULL);
		sl_json_str(&j, "tenant", z->q->tenant);
		sl_json_str(&j, "quota", z->q->quota);
		sl_json_str(&j, "mode", z->q->mode == SL_QM_HARD ? "hard" : "soft");
		sl_json_u64(&j, "used", z->used);
		sl_json_u64(&j, "limit", z->limit);
		sl_json_obj_close(&j);
	}
	sl_json_arr_close(&j);
	sl_json_obj_close(&j);
	sl_json_end(&j);
}

/* ---- the terminal ---- */

static volatile sig_atomic_t top_quit, top_winch, top_tstp;
static struct termios top_saved;
static bool top_raw, top_screen;

static void top_on_signal(int sig)
{
	if (sig == SIGWINCH)
		top_winch = 1;
	else if (sig == SIGTSTP)
		top_tstp = 1;
	else
		top_quit = 1;
}

static void top_write(const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(STDOUT_FILENO, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		len -= w;
	}
}

static void top_term_restore(void)
{
	static const char leave[] = "\x1b[?25h\x1b[?1049l";

	if (top_screen)
		top_write(leave, sizeof(leave) - 1);
	top_screen = false;
	if (top_raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &top_saved);
	top_raw = false;
}

/* The alternate screen without a cursor; keys one at a time without echo (ISIG kept: ^C). */
static void top_term_enter(bool keys)
{
	static const char enter[] = "\x1b[?1049h\x1b[?25l";
	struct termios raw;

	if (keys && !tcgetattr(STDIN_FILENO, &top_saved)) {
		raw = top_saved;
		raw.c_lflag &= ~(ICANON | ECHO | IEXTEN);
		raw.c_iflag &= ~(IXON | ICRNL);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		top_raw = !tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	top_write(enter, sizeof(enter) - 1);
	top_screen = true;
}

static void top_winsize(struct top *t)
{
	struct winsize ws;

	t->rows = 24;
	t->cols = 80;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		t->rows = ws.ws_row;
		t->cols = ws.ws_col;
	}
}

static void top_draw(struct top *t, bool clear)
{
	char *buf = NULL;
	size_t len = 0;

	t->out = open_memstream(&buf, &len);
	if (!t->out)
		return;
	fputs(clear ? "\x1b[2J\x1b[H" : "\x1b[H", t->out);
	t->line = 0;
	top_render(t);
	fputs("\x1b[J", t->out);
	fclose(t->out);
	top_write(buf, len);
	free(buf);
}

/* ^Z: give the terminal back while stopped, take it again on SIGCONT. */
static void top_suspend(struct top *t, bool keys, const struct sigaction *sa)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t tstp;

	sigemptyset(&tstp);
	sigaddset(&tstp, SIGTSTP);
	top_term_restore();
	sigaction(SIGTSTP, &dfl, NULL);
	raise(SIGTSTP); /* pending until unblocked: stops here */
	sigprocmask(SIG_UNBLOCK, &tstp, NULL);
	sigprocmask(SIG_BLOCK, &tstp, NULL);
	sigaction(SIGTSTP, sa, NULL);
	top_term_enter(keys);
	top_winsize(t);
}

/* Returns true to quit. */
static bool top_key(struct top *t, char k, __u64 *due, bool *dirty, bool *clear)
{
	switch (k) {
	case 'q':
	case 'Q':
		return true;
	case 's':
	case 'S':
		t->sort = (t->sort + 1) % TOP_NR_SORTS;
		top_sort_rows(t);
		*dirty = true;
		break;
	case 't':
	case 'T':
		t->tenants_first = !t->tenants_first;
		*dirty = true;
		break;
	case ' ':
		*due = 0;
		break;
	case 'L' & 0x1f:
		*dirty = *clear = true;
		break;
	}
	return false;
}

static int top_live(struct top *t)
{
	struct sigaction sa = { .sa_handler = top_on_signal };
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP };
	sigset_t block, wait_mask;
	bool keys = isatty(STDIN_FILENO), dirty = false, clear = true, computed = false;
	long frames = 0;
	__u64 due;
	int err;

	/* The signals arrive only inside ppoll: none is lost between a check and the wait. */
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (size_t i = 0; i < SL_ARRAY_SIZE(sigs); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	atexit(top_term_restore);
	top_term_enter(keys);
	top_winsize(t);
	err = top_read(t);
	due = sl_monotonic_ns() +
	      (t->interval_ms < TOP_FIRST_MS ? t->interval_ms : TOP_FIRST_MS) * 1000000ULL;
	while (!err && !top_quit) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		__u64 now = sl_monotonic_ns(), wait = now >= due ? 0 : due - now;
		struct timespec ts = { wait / 1000000000ULL, wait % 1000000000ULL };
		int n;

		if (dirty && computed) {
			top_draw(t, clear);
			dirty = clear = false;
		}
		if (t->count && frames >= t->count)
			break;
		n = ppoll(&pfd, keys, &ts, &wait_mask);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		if (top_winch) {
			top_winch = 0;
			top_winsize(t);
			dirty = clear = true;
		}
		if (top_tstp) {
			top_tstp = 0;
			top_suspend(t, keys, &sa);
			dirty = clear = true;
		}
		if (n > 0) {
			char buf[64];
			ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));

			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
				break; /* the terminal hung up */
			for (ssize_t i = 0; i < r; i++)
				if (top_key(t, buf[i], &due, &dirty, &clear))
					top_quit = 1;
		}
		if (!top_quit && sl_monotonic_ns() >= due) {
			if ((err = top_read(t)) || (err = top_compute(t)))
				break;
			computed = dirty = true;
			frames++;
			due = sl_monotonic_ns() + t->interval_ms * 1000000ULL;
		}
	}
	top_term_restore();
	sigprocmask(SIG_SETMASK, &wait_mask, NULL);
	return err;
}

/* Off a terminal: count snapshots, each over the interval before it. */
static int top_snapshots(struct top *t)
{
	int err = top_read(t);

	t->out = stdout;
	for (long i = 0; !err && i < t->count; i++) {
		poll(NULL, 0, (int)t->interval_ms);
		if ((err = top_read(t)) || (err = top_compute(t)))
			break;
		if (t->o->json) {
			top_json(t, t->count == 1);
		} else {
			if (i)
				printf("\n");
			top_render(t);
		}
		fflush(stdout);
	}
	return err;
}

static void top_help(void)
{
	printf("usage: sluice top [--interval MS] [--count N] [--state-dir DIR] [--json]\n"
	       "  A view that refreshes like top(1): policy, generation, interfaces, time; the\n"
	       "  rules (passed/s, dropped/s) and the source aggregates nearest their limit; the\n"
	       "  HTTP tenants (admitted/s, dropped/s, dropped %%, most used quota as a bar).\n"
	       "  Rates are measured between two reads of the per-CPU counters.\n"
	       "  --interval MS    refresh interval, 10 to 3600000 (default 1000)\n"
	       "  --count N        stop after N screens or snapshots (default: at q on a\n"
	       "                   terminal, 1 snapshot otherwise)\n"
	       "  --state-dir DIR  where `sluice run` keeps the quotas (default %s)\n"
	       "  --json           JSON snapshots (one a line when --count is above 1)\n"
	       "  keys: q quit; s sort by admitted/s, dropped/s or name (* marks the column);\n"
	       "        t tenants or sources first; space refresh now.\n"
	       "  When stdout is not a terminal it prints plain-text snapshots instead.\n"
	       "  Aggregates: the data plane keeps one bucket time (GCRA TAT) per aggregate\n"
	       "  and counts packets per rule only, so neither the drops of an aggregate nor\n"
	       "  the rate of one below its limit can be measured. Listed are the aggregates\n"
	       "  with packets admitted since the last read, by the share of their burst in\n"
	       "  use (sort dropped/s); admitted/s is shown for those held at their limit\n"
	       "  (bucket in use at both reads: how far its time moved).\n",
	       SL_STATE_DIR_DEFAULT);
}

static int top_long(const char *opt, const char *arg, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(arg, &end, 10);
	if (errno || end == arg || *end || *out < lo || *out > hi) {
		fprintf(stderr, "sluice top: %s %s: give a number from %ld to %ld\n", opt, arg, lo,
			hi);
		return -EINVAL;
	}
	return 0;
}

int cmd_top(const struct sl_opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct top *t = calloc(1, sizeof(*t));
	int c, err, ret = SL_EXIT_USAGE;
	bool have_count = false;

	if (!t)
		return SL_EXIT_ERR;
	t->o = o;
	t->state_dir = SL_STATE_DIR_DEFAULT;
	t->interval_ms = 1000;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (top_long("--interval", optarg, 10, 3600000, &t->interval_ms))
				goto out;
			break;
		case 'c':
			if (top_long("--count", optarg, 1, 1L << 30, &t->count))
				goto out;
			have_count = true;
			break;
		case 's': t->state_dir = optarg; break;
		case 'h':
			top_help();
			ret = SL_EXIT_OK;
			goto out;
		default: sl_usage("top"); goto out;
		}
	}
	if (optind != argc) {
		sl_usage("top");
		goto out;
	}
	ret = SL_EXIT_ERR;
	if (sl_open_maps_or_explain(o, &t->m))
		goto out;
	t->tty = !o->json && isatty(STDOUT_FILENO);
	if (!t->tty && !have_count)
		t->count = 1;
	err = t->tty ? top_live(t) : top_snapshots(t);
	if (err)
		pr_warn("cannot read sluice's state: %s\n", strerror(-err));
	else
		ret = SL_EXIT_OK;
	sl_maps_close(&t->m);
	top_read_free(&t->rd[0]);
	top_read_free(&t->rd[1]);
	free(t->trates);
	free(t->ten);
	free(t->rul);
	free(t->agg);
	free(t->quo);
out:
	free(t);
	return ret;
}
