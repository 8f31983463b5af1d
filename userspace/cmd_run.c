// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice run: the controller daemon. Reads the data plane's tenant counters, turns quota
 * periods, raises alerts and writes billing usage files that lose and double-count nothing.
 *
 * No loss, no double count (docs/billing.md): the state (last counter values seen, open usage
 * records with their revisions, quotas) is checkpointed atomically BEFORE the billing lines of
 * a new revision are appended. A crash at any instant therefore leaves either the old
 * checkpoint (the new revision was never written: it is counted again from the old "last
 * seen" values) or the new one (its revision may or may not be in the file: it is appended
 * again at start, byte for byte the same line, which a consumer keeping the highest revision
 * of each id takes once). Counters keep counting in the kernel while the daemon is down.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "apply_reply.h"
#include "billing.h"
#include "cmd.h"
#include "json.h"
#include "log.h"
#include "maps.h"
#include "metrics.h"
#include "period.h"
#include "pins.h"
#include "policy.h"
#include "run.h"
#include "sluice_siphash.h"
#include "tenants.h"
#include "util.h"

struct rn {
	const struct sl_opts *o;
	const char *policy_path;
	char state_dir[240];
	char billing_dir[300];
	char ckpt_path[300];
	int interval_ms, flush_ms;
	struct sl_policy pol;
	bool have_pol;
	struct sl_maps m;
	uint32_t tstats_id; /* map id: a new id means new maps (purge and attach): counters from 0 */
	/* state */
	struct sl_rseen *seen;
	int n_seen, cap_seen;
	struct sl_rrec *recs;
	int n_recs, cap_recs;
	struct sl_rquota *q;
	int n_q, cap_q;
	char **events; /* lines not yet known to be in events.jsonl */
	int n_events, cap_events;
	int64_t bp_start, bp_end; /* the open billing period */
	uint64_t flushes, write_errors;
	int64_t last_write_ok;
	int64_t ckpt_saved_ns; /* the checkpoint's last successful save (loaded: its own time) */
	/* --metrics (docs/metrics.md): what the next rendering shows, and the endpoint */
	const char *metrics_addr;
	struct sl_metrics *metrics;
	struct sl_mstate *ms;
	long tstats_entries;   /* entries seen by the last counter read */
	uint64_t tables_read_ns; /* monotonic time of the last table fill count */
	/* injected clock (tests): wall = fake0 + (monotonic - mono0) */
	bool fake;
	int64_t fake0_ns, mono0_ns;
	pid_t hooks[16];
};

static volatile sig_atomic_t rn_hup, rn_term;

static void rn_on_signal(int sig)
{
	if (sig == SIGHUP)
		rn_hup = 1;
	else
		rn_term = 1;
}

/* Wall clock in ns: real, or the injected one (SLUICE_FAKE_NOW=RFC3339, tests only). */
static int64_t rn_now_ns(const struct rn *r)
{
	if (r->fake)
		return r->fake0_ns + ((int64_t)sl_monotonic_ns() - r->mono0_ns);
	return (int64_t)sl_realtime_ns();
}

/* One structured log line (logfmt) on stderr. */
static void __attribute__((format(printf, 4, 5)))
rn_log(const struct rn *r, const char *level, const char *event, const char *fmt, ...)
{
	char ts[40], msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "time=%s level=%s event=%s%s%s\n",
		sl_rfc3339(rn_now_ns(r) / 1000000000, ts, sizeof(ts)), level, event,
		msg[0] ? " " : "", msg);
	fflush(stderr);
}

static void *rn_grow(void *p, int *cap, int need, size_t size)
{
	void *np;
	int nc;

	if (need <= *cap)
		return p;
	nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	np = realloc(p, (size_t)nc * size);
	if (!np)
		return NULL;
	memset((char *)np + (size_t)*cap * size, 0, (size_t)(nc - *cap) * size);
	*cap = nc;
	return np;
}

/* ---- checkpoint ---- */

struct rn_buf {
	char *p;
	size_t len, cap;
	int err;
};

static void rb_put(struct rn_buf *b, const void *d, size_t n)
{
	if (b->err)
		return;
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 4096;
		char *np;

		while (nc < b->len + n)
			nc *= 2;
		np = realloc(b->p, nc);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

struct rn_ckhdr {
	uint32_t n_seen, n_recs, n_q, n_events;
	uint32_t tstats_id, _pad;
	int64_t bp_start, bp_end;
	int64_t saved_ns;
};

static int rn_save(struct rn *r)
{
	struct rn_ckhdr h = { .n_seen = r->n_seen, .n_recs = r->n_recs, .n_q = r->n_q,
			      .n_events = r->n_events, .tstats_id = r->tstats_id,
			      .bp_start = r->bp_start, .bp_end = r->bp_end,
			      .saved_ns = rn_now_ns(r) };
	struct rn_buf b = {};
	int err;

	rb_put(&b, &h, sizeof(h));
	rb_put(&b, r->seen, sizeof(*r->seen) * r->n_seen);
	rb_put(&b, r->recs, sizeof(*r->recs) * r->n_recs);
	rb_put(&b, r->q, sizeof(*r->q) * r->n_q);
	for (int i = 0; i < r->n_events; i++) {
		uint32_t n = (uint32_t)strlen(r->events[i]);

		rb_put(&b, &n, sizeof(n));
		rb_put(&b, r->events[i], n);
	}
	err = b.err ? b.err : sl_ckpt_save(&sl_io_posix, r->ckpt_path, SL_CKPT_VERSION, b.p, b.len);
	free(b.p);
	if (!err)
		r->ckpt_saved_ns = h.saved_ns;
	return err;
}

static int rn_take(const char **p, const char *end, void *out, size_t n)
{
	if ((size_t)(end - *p) < n)
		return -EBADMSG;
	memcpy(out, *p, n);
	*p += n;
	return 0;
}

static int rn_load(struct rn *r)
{
	struct rn_ckhdr h;
	const char *p, *end;
	size_t len;
	void *buf;
	int err;

	err = sl_ckpt_load(r->ckpt_path, SL_CKPT_VERSION, &buf, &len);
	if (err)
		return err;
	p = buf;
	end = p + len;
	err = rn_take(&p, end, &h, sizeof(h));
	if (err)
		goto out;
	r->seen = rn_grow(r->seen, &r->cap_seen, h.n_seen, sizeof(*r->seen));
	r->recs = rn_grow(r->recs, &r->cap_recs, h.n_recs, sizeof(*r->recs));
	r->q = rn_grow(r->q, &r->cap_q, h.n_q, sizeof(*r->q));
	r->events = rn_grow(r->events, &r->cap_events, h.n_events, sizeof(*r->events));
	if ((h.n_seen && !r->seen) || (h.n_recs && !r->recs) || (h.n_q && !r->q) ||
	    (h.n_events && !r->events)) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = rn_take(&p, end, r->seen, sizeof(*r->seen) * h.n_seen)) ||
	    (err = rn_take(&p, end, r->recs, sizeof(*r->recs) * h.n_recs)) ||
	    (err = rn_take(&p, end, r->q, sizeof(*r->q) * h.n_q)))
		goto out;
	r->n_seen = h.n_seen;
	r->n_recs = h.n_recs;
	r->n_q = h.n_q;
	for (uint32_t i = 0; i < h.n_events; i++) {
		uint32_t n;

		if ((err = rn_take(&p, end, &n, sizeof(n))) || (size_t)(end - p) < n) {
			err = -EBADMSG;
			goto out;
		}
		r->events[i] = strndup(p, n);
		p += n;
		r->n_events = i + 1;
	}
	r->tstats_id = h.tstats_id;
	r->bp_start = h.bp_start;
	r->bp_end = h.bp_end;
	r->ckpt_saved_ns = h.saved_ns;
out:
	free(buf);
	return err;
}

/* ---- billing records ---- */

static const struct sl_tenant *rn_pol_tenant(const struct rn *r, const char *name)
{
	for (int i = 0; r->have_pol && i < r->pol.n_tenants; i++)
		if (!strcmp(r->pol.tenants[i].name, name))
			return &r->pol.tenants[i];
	return NULL;
}

/* The open record of (tenant, key id) in the open billing period, split at a plan change. */
static struct sl_rrec *rn_rec(struct rn *r, const struct sl_tenmeta *meta, uint32_t key_id,
			      int64_t now_s)
{
	const struct sl_tenant *t = rn_pol_tenant(r, meta->name);
	const char *plan = t ? r->pol.plans[t->plan].name : meta->plan;
	struct sl_rrec *x = NULL;

	for (int i = 0; i < r->n_recs; i++) {
		struct sl_rrec *c = &r->recs[i];

		if (c->open && c->r.period_start == r->bp_start && c->r.key_id == key_id &&
		    !strcmp(c->r.tenant, meta->name)) {
			if (!strcmp(c->r.plan, plan))
				return c;
			/* A plan change: this segment ends now, a new one starts. */
			c->open = 0;
			c->r.until = now_s > c->r.since ? now_s : c->r.since;
			c->changed = 1;
			break;
		}
	}
	r->recs = rn_grow(r->recs, &r->cap_recs, r->n_recs + 1, sizeof(*r->recs));
	if (!r->recs)
		return NULL;
	x = &r->recs[r->n_recs++];
	memset(x, 0, sizeof(*x));
	sl_strlcpy(x->r.tenant, meta->name, sizeof(x->r.tenant));
	sl_strlcpy(x->r.plan, plan, sizeof(x->r.plan));
	x->r.key_id = key_id;
	x->r.period_start = r->bp_start;
	x->r.period_end = r->bp_end;
	x->r.since = r->bp_start;
	/* A later segment of the same period (plan change) starts at the change. */
	for (int i = 0; i < r->n_recs - 1; i++) {
		const struct sl_rrec *c = &r->recs[i];

		if (c->r.period_start == r->bp_start && c->r.key_id == key_id &&
		    !strcmp(c->r.tenant, meta->name) && c->r.until > x->r.since)
			x->r.since = c->r.until;
	}
	x->r.until = r->bp_end;
	x->open = 1;
	if (t) {
		x->r.n_labels = t->n_labels;
		memcpy(x->r.labels, t->labels, sizeof(x->r.labels));
	}
	sl_brec_id(x->r.tenant, key_id, x->r.period_start, x->r.since, x->r.id);
	return x;
}

static bool rn_nonzero(const struct sl_tstats *s)
{
	return s->req_pass || s->req_drop || s->req_dryrun || s->units || s->bytes_in ||
	       s->bytes_out || s->req_quota || s->units_over || s->req_retrans || s->bytes_drop;
}

/* cur - last, or cur whole if any counter went back (the entry was recreated). */
static void rn_delta(const struct sl_tstats *cur, const struct sl_tstats *last,
		     struct sl_tstats *d)
{
	const __u64 *c = (const __u64 *)cur, *l = (const __u64 *)last;
	__u64 *o = (__u64 *)d;
	size_t n = sizeof(*cur) / sizeof(__u64);

	for (size_t i = 0; i < n; i++) {
		if (c[i] < l[i]) {
			*d = *cur;
			return;
		}
	}
	for (size_t i = 0; i < n; i++)
		o[i] = c[i] - l[i];
}

/* ---- reading the data plane ---- */

struct rn_tot {
	uint32_t tidx, key_id;
	struct sl_tstats st;
};

struct rn_scan {
	struct rn_tot *t;
	int n, cap;
	int *slot_of; /* open addressing over (tidx, key_id) */
	int size;
	struct sl_mtenant *mt; /* with --metrics: totals per tenant index and group */
};

/* A counter cell of tenant t's metrics, in API group `group` (SL_GROUP_NONE: none matched). */
static void rn_mt_add(struct sl_mtenant *t, uint8_t group, const struct sl_tstats *v)
{
	int g = group < SL_MAX_GROUPS ? group : SL_MGROUP_NONE;

	sl_tstats_add(&t->total, v);
	t->group_pass[g] += v->req_pass;
	t->group_drop[g] += v->req_drop;
}

static int rn_tot_find(struct rn_scan *s, uint32_t tidx, uint32_t key_id)
{
	uint64_t h = ((uint64_t)tidx << 32 | key_id) * 0x9e3779b97f4a7c15ULL;
	int i = (int)(h >> 40) & (s->size - 1);

	while (s->slot_of[i] >= 0) {
		struct rn_tot *t = &s->t[s->slot_of[i]];

		if (t->tidx == tidx && t->key_id == key_id)
			return s->slot_of[i];
		i = (i + 1) & (s->size - 1);
	}
	s->t = rn_grow(s->t, &s->cap, s->n + 1, sizeof(*s->t));
	if (!s->t)
		return -ENOMEM;
	s->t[s->n] = (struct rn_tot){ .tidx = tidx, .key_id = key_id };
	s->slot_of[i] = s->n;
	return s->n++;
}

static int rn_scan_one(const struct sl_tstats_key *k, const struct sl_tstats *v, void *arg)
{
	struct rn_scan *s = arg;
	int i;

	if (s->mt && k->tenant <= SL_TENANT_UNKNOWN)
		rn_mt_add(&s->mt[k->tenant], k->group, v);
	if (k->tenant >= SL_MAX_TENANTS)
		return 0; /* requests without a known key are not billed */
	i = rn_tot_find(s, k->tenant, k->key_id);
	if (i < 0)
		return i;
	sl_tstats_add(&s->t[i].st, v);
	return 0;
}

/*
 * Whether the pinned maps are other maps than the ones open (a purge, then an attach, made new
 * ones): if so they are opened instead and 1 is returned.
 */
static int rn_maps_renewed(struct rn *r)
{
	char path[512];
	struct sl_maps nm;
	uint32_t id;
	int fd;

	if (sl_pin_path(path, sizeof(path), r->o->pin_root, SL_PIN_MAPS_DIR, SL_MAP_TSTATS))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0; /* purged and not attached again (yet): keep reading the old ones */
	id = sl_map_id(fd);
	close(fd);
	if (!id || id == sl_map_id(r->m.tstats) || sl_maps_open(r->o->pin_root, &nm))
		return 0;
	sl_maps_close(&r->m);
	r->m = nm;
	return 1;
}

static struct sl_rseen *rn_seen(struct rn *r, const struct sl_tenmeta *meta, uint32_t key_id)
{
	struct sl_rseen *s;

	for (int i = 0; i < r->n_seen; i++) {
		s = &r->seen[i];
		if (s->key_id == key_id && s->assigned_ns == meta->assigned_ns &&
		    !strcmp(s->tenant, meta->name))
			return s;
	}
	r->seen = rn_grow(r->seen, &r->cap_seen, r->n_seen + 1, sizeof(*r->seen));
	if (!r->seen)
		return NULL;
	s = &r->seen[r->n_seen++];
	memset(s, 0, sizeof(*s));
	sl_strlcpy(s->tenant, meta->name, sizeof(s->tenant));
	s->assigned_ns = meta->assigned_ns;
	s->key_id = key_id;
	return s;
}

/* Start the metrics' tenant table for a counter read: the active policy's tenants and groups. */
static void rn_mt_begin(struct rn *r, const struct sl_tenmeta *meta)
{
	struct sl_mstate *ms = r->ms;
	struct sl_httpcfg http;
	struct sl_config cfg;
	__u32 gen;

	memset(ms->tenants, 0, sizeof(ms->tenants));
	ms->n_groups = 0;
	if (sl_config_read(r->m.config, &cfg))
		return;
	gen = cfg.gen & 1;
	for (uint32_t t = 0; t < SL_MAX_TENANTS; t++) {
		if (!(meta[t].in_use & (1u << gen)))
			continue;
		ms->tenants[t].on = true;
		sl_strlcpy(ms->tenants[t].name, meta[t].name, sizeof(ms->tenants[t].name));
		sl_strlcpy(ms->tenants[t].plan, meta[t].plan, sizeof(ms->tenants[t].plan));
	}
	if (bpf_map_lookup_elem(r->m.http, &gen, &http) || !http.n_ports)
		return;
	/* Requests with no key or an unknown one, named as `sluice tenants` names them. */
	ms->tenants[SL_TENANT_UNKNOWN].on = true;
	sl_strlcpy(ms->tenants[SL_TENANT_UNKNOWN].name, "(unknown key)", SL_NAME_MAX);
	for (int g = 0; g < http.n_groups && g < SL_MAX_GROUPS; g++) {
		memcpy(ms->groups[g], http.groups[g].name, SL_NAME_MAX - 1);
		ms->groups[g][SL_NAME_MAX - 1] = 0;
	}
	ms->n_groups = http.n_groups < SL_MAX_GROUPS ? http.n_groups : SL_MAX_GROUPS;
}

/*
 * Read every tenant counter and charge what is new since the last read to the open billing
 * period. Returns 0 or a negative errno (nothing charged then). With --metrics, the totals
 * per tenant and group are gathered on the way (r->ms->tenants).
 */
static int rn_collect(struct rn *r, int64_t now_s)
{
	static struct sl_tenmeta meta[SL_MAX_TENANTS];
	struct rn_scan s = { .size = 1 << 12 };
	uint32_t id = sl_map_id(r->m.tstats);
	long n;
	int err = 0;

	if (id && id != r->tstats_id) {
		/* New maps (a purge and attach): their counters started from zero. */
		if (r->tstats_id)
			rn_log(r, "warn", "counters_new", "tstats_map_id=%u previous=%u", id,
			       r->tstats_id);
		for (int i = 0; i < r->n_seen; i++)
			memset(&r->seen[i].last, 0, sizeof(r->seen[i].last));
		r->tstats_id = id;
	}
	for (uint32_t t = 0; t < SL_MAX_TENANTS; t++)
		if (bpf_map_lookup_elem(r->m.tenmeta, &t, &meta[t]))
			memset(&meta[t], 0, sizeof(meta[t]));
	if (r->ms) {
		rn_mt_begin(r, meta);
		s.mt = r->ms->tenants;
	}
	s.slot_of = malloc(sizeof(int) * s.size);
	if (!s.slot_of)
		return -ENOMEM;
	memset(s.slot_of, 0xff, sizeof(int) * s.size);
	n = sl_tstats_scan(r->m.tstats, rn_scan_one, &s);
	if (n < 0) {
		err = (int)n;
		goto out;
	}
	r->tstats_entries = n;
	for (uint32_t t = 0; t <= SL_MAX_TENANTS; t++) {
		struct sl_tstats st;
		int i;

		if ((t < SL_MAX_TENANTS ? !meta[t].name[0] : !s.mt) ||
		    sl_tovf_read(r->m.tovf, t, &st) || !rn_nonzero(&st))
			continue;
		if (s.mt)
			rn_mt_add(&s.mt[t], SL_GROUP_NONE, &st);
		if (t == SL_TENANT_UNKNOWN)
			continue; /* the unknown-key row is not billed */
		i = rn_tot_find(&s, t, SL_KEY_ID_OTHER);
		if (i < 0) {
			err = i;
			goto out;
		}
		sl_tstats_add(&s.t[i].st, &st);
	}
	for (int i = 0; i < s.n; i++) {
		const struct sl_tenmeta *mt = &meta[s.t[i].tidx];
		struct sl_tstats d;
		struct sl_rseen *seen;
		struct sl_rrec *rec;

		if (!mt->name[0])
			continue; /* counters of an index nobody owns (being cleared) */
		seen = rn_seen(r, mt, s.t[i].key_id);
		if (!seen) {
			err = -ENOMEM;
			goto out;
		}
		rn_delta(&s.t[i].st, &seen->last, &d);
		if (d.req_pass || d.req_dryrun || d.req_drop || d.units || d.bytes_in || d.bytes_out ||
		    d.units_over) {
			rec = rn_rec(r, mt, s.t[i].key_id, now_s);
			if (!rec) {
				err = -ENOMEM;
				goto out;
			}
			rec->r.requests += d.req_pass + d.req_dryrun;
			rec->r.requests_dropped += d.req_drop;
			rec->r.requests_quota += d.req_quota;
			rec->r.units += d.units;
			rec->r.bytes_in += d.bytes_in;
			rec->r.bytes_out += d.bytes_out;
			rec->r.overage += d.units_over;
			rec->changed = 1;
		}
		seen->last = s.t[i].st;
	}
out:
	free(s.slot_of);
	free(s.t);
	return err;
}

/* ---- writing billing files and events ---- */

/* Append the dirty records of billing period `ps` to its files. */
static int rn_write_period(struct rn *r, int64_t ps)
{
	struct rn_buf jb = {}, cb = {};
	char path[512], line[4096], hdr[512];
	int err = 0, n;

	for (int i = 0; i < r->n_recs; i++) {
		const struct sl_rrec *x = &r->recs[i];

		if (!x->dirty || x->r.period_start != ps)
			continue;
		n = sl_brec_json(&x->r, line, sizeof(line));
		if (n < 0)
			return n;
		rb_put(&jb, line, (size_t)n);
		if (r->pol.billing.csv) {
			n = sl_brec_csv(&x->r, line, sizeof(line));
			if (n < 0)
				return n;
			rb_put(&cb, line, (size_t)n);
		}
	}
	if (jb.err || cb.err) {
		err = -ENOMEM;
		goto out;
	}
	if (!jb.len)
		goto out;
	if ((err = sl_billing_path(path, sizeof(path), r->billing_dir, ps, "jsonl")))
		goto out;
	if ((err = sl_append(&sl_io_posix, path, NULL, jb.p, jb.len)))
		goto out;
	if (cb.len) {
		if ((err = sl_billing_path(path, sizeof(path), r->billing_dir, ps, "csv")) ||
		    (n = sl_brec_csv_header(hdr, sizeof(hdr))) < 0)
			goto out;
		if ((err = sl_append(&sl_io_posix, path, hdr, cb.p, cb.len)))
			goto out;
	}
	for (int i = 0; i < r->n_recs; i++)
		if (r->recs[i].r.period_start == ps)
			r->recs[i].dirty = 0;
out:
	free(jb.p);
	free(cb.p);
	return err;
}

static void rn_reap_hooks(struct rn *r)
{
	for (size_t i = 0; i < SL_ARRAY_SIZE(r->hooks); i++) {
		int st;

		if (r->hooks[i] > 0 && waitpid(r->hooks[i], &st, WNOHANG) == r->hooks[i]) {
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				rn_log(r, "warn", "alert_hook_failed", "pid=%d status=%d",
				       (int)r->hooks[i], st);
			r->hooks[i] = 0;
		}
	}
}

/* Run the policy's alert hook with one event on stdin (not waited for; reaped later). */
static void rn_hook(struct rn *r, const char *event)
{
	size_t slot = SL_ARRAY_SIZE(r->hooks);
	int fd[2];
	pid_t pid;

	if (!r->have_pol || !r->pol.alert_hook[0])
		return;
	rn_reap_hooks(r);
	for (size_t i = 0; i < SL_ARRAY_SIZE(r->hooks); i++)
		if (r->hooks[i] <= 0) {
			slot = i;
			break;
		}
	if (slot == SL_ARRAY_SIZE(r->hooks)) {
		rn_log(r, "warn", "alert_hook_busy", "hooks_running=%zu (event not handed to the hook; it is in events.jsonl)",
		       SL_ARRAY_SIZE(r->hooks));
		return;
	}
	if (pipe(fd))
		return;
	pid = fork();
	if (pid == 0) {
		dup2(fd[0], 0);
		close(fd[0]);
		close(fd[1]);
		execl("/bin/sh", "sh", "-c", r->pol.alert_hook, (char *)NULL);
		_exit(127);
	}
	close(fd[0]);
	if (pid > 0) {
		ssize_t w = write(fd[1], event, strlen(event));

		(void)w;
		r->hooks[slot] = pid;
	}
	close(fd[1]);
}

static int rn_write_events(struct rn *r)
{
	char path[300];
	int err = 0;

	snprintf(path, sizeof(path), "%s/events.jsonl", r->state_dir);
	while (r->n_events) {
		err = sl_append(&sl_io_posix, path, NULL, r->events[0], strlen(r->events[0]));
		if (err)
			return err;
		rn_hook(r, r->events[0]);
		free(r->events[0]);
		memmove(r->events, r->events + 1, sizeof(*r->events) * (r->n_events - 1));
		r->n_events--;
	}
	return 0;
}

static void rn_event(struct rn *r, const char *line)
{
	r->events = rn_grow(r->events, &r->cap_events, r->n_events + 1, sizeof(*r->events));
	if (r->events)
		r->events[r->n_events++] = strdup(line);
}

/*
 * Give every changed record its next revision, checkpoint, then append. On a write failure
 * (full disk, unwritable directory) the records stay dirty and the next flush tries again.
 */
static int rn_flush(struct rn *r)
{
	int64_t periods[64];
	int np = 0, err;

	for (int i = 0; i < r->n_recs; i++) {
		struct sl_rrec *x = &r->recs[i];

		if (x->changed) {
			x->r.revision++;
			x->changed = 0;
			x->dirty = 1;
		}
	}
	err = rn_save(r);
	if (err) {
		r->write_errors++;
		rn_log(r, "error", "checkpoint_failed", "path=%s error=\"%s\" retry=next_flush",
		       r->ckpt_path, strerror(-err));
		return err;
	}
	for (int i = 0; i < r->n_recs; i++) {
		int j;

		if (!r->recs[i].dirty)
			continue;
		for (j = 0; j < np && periods[j] != r->recs[i].r.period_start; j++)
			;
		if (j == np && np < (int)SL_ARRAY_SIZE(periods))
			periods[np++] = r->recs[i].r.period_start;
	}
	for (int j = 0; j < np; j++) {
		err = rn_write_period(r, periods[j]);
		if (err) {
			char ts[40];

			r->write_errors++;
			rn_log(r, "error", "billing_write_failed",
			       "dir=%s period=%s error=\"%s\" retry=next_flush", r->billing_dir,
			       sl_rfc3339(periods[j], ts, sizeof(ts)), strerror(-err));
			return err;
		}
	}
	err = rn_write_events(r);
	if (err) {
		rn_log(r, "error", "events_write_failed", "dir=%s error=\"%s\" retry=next_flush",
		       r->state_dir, strerror(-err));
		return err;
	}
	r->flushes++;
	r->last_write_ok = rn_now_ns(r) / 1000000000;
	return 0;
}

/*
 * Records of closed periods that are final and written: checkpoint them as clean, compress
 * their file, and forget them.
 */
static void rn_compress_closed(struct rn *r)
{
	bool any = false;

	for (int i = 0; i < r->n_recs; i++)
		if (r->recs[i].r.final && !r->recs[i].dirty && !r->recs[i].changed)
			any = true;
	if (!any || rn_save(r))
		return;
	for (int i = 0; i < r->n_recs;) {
		struct sl_rrec *x = &r->recs[i];
		int64_t ps = x->r.period_start;
		bool ready = true;
		char path[512];
		int err;

		if (!x->r.final) {
			i++;
			continue;
		}
		for (int j = 0; j < r->n_recs; j++)
			if (r->recs[j].r.period_start == ps &&
			    (!r->recs[j].r.final || r->recs[j].dirty || r->recs[j].changed))
				ready = false;
		if (!ready) {
			i++;
			continue;
		}
		sl_billing_path(path, sizeof(path), r->billing_dir, ps, "jsonl");
		err = sl_gzip_file(&sl_io_posix, path);
		if (!err && r->pol.billing.csv) {
			sl_billing_path(path, sizeof(path), r->billing_dir, ps, "csv");
			if (!access(path, F_OK))
				err = sl_gzip_file(&sl_io_posix, path);
		}
		if (err && err != -ENOENT) {
			rn_log(r, "error", "billing_compress_failed", "path=%s error=\"%s\"", path,
			       strerror(-err));
			return;
		}
		rn_log(r, "info", "billing_period_closed", "file=%s.gz", path);
		/* Forget every record of that period. */
		for (int j = 0; j < r->n_recs;) {
			if (r->recs[j].r.period_start == ps) {
				r->recs[j] = r->recs[--r->n_recs];
				continue;
			}
			j++;
		}
		i = 0;
	}
}

/* The billing period holding now; closing the previous one (final revisions) if it ended. */
static void rn_billing_period(struct rn *r, int64_t now_s)
{
	int64_t s, e;

	if (now_s < r->bp_end && r->bp_end)
		return;
	if (r->bp_end) {
		for (int i = 0; i < r->n_recs; i++) {
			struct sl_rrec *x = &r->recs[i];

			if (x->r.period_start == r->bp_start && !x->r.final) {
				x->r.final = 1;
				x->open = 0;
				x->changed = 1;
			}
		}
	}
	sl_period_bounds(r->pol.billing.unit, r->pol.billing.duration ? r->pol.billing.duration : 1,
			 now_s, &s, &e);
	r->bp_start = s;
	r->bp_end = e;
}

/* ---- quotas ---- */

uint32_t sl_rquota_tag(const struct sl_rquota *q, int64_t index)
{
	char buf[2 * SL_NAME_MAX + 16];
	struct sl_sipkey k = { 0x7571206563697573ULL, 0x3176206761742061ULL };
	size_t n = strlen(q->tenant) + 1;
	uint32_t h;

	/* The tenant too: a new owner of the index never inherits a count of the same name. */
	memcpy(buf, q->tenant, n);
	memcpy(buf + n, q->quota, strlen(q->quota));
	n += strlen(q->quota);
	buf[n++] = (char)q->unit;
	buf[n++] = (char)q->profile;
	memcpy(buf + n, &q->duration, 4);
	n += 4;
	buf[n++] = (char)q->rolling;
	h = (uint32_t)sl_siphash_mem(&k, buf, n);
	/* A rolling window's slices step by 1, so 64 consecutive ones keep distinct snapshots. */
	if (q->rolling)
		return (h + (uint32_t)index) & SL_QTAG_MASK;
	return (h + ((uint32_t)index << 4) + q->reset_gen) & SL_QTAG_MASK;
}

/* ---- rolling windows ---- */

#define RN_SLICES 60 /* a rolling window is counted in this many slices */

static int64_t rn_slice_s(const struct sl_rquota *q)
{
	static const int64_t unit_s[] = { 60, 3600, 86400, 604800 };
	int64_t w = (q->unit < 4 ? unit_s[q->unit] : 86400) * (int64_t)q->duration;

	return w / RN_SLICES > 0 ? w / RN_SLICES : 1;
}

int64_t sl_rquota_index(const struct sl_rquota *q, int64_t t)
{
	if (q->rolling)
		return t / rn_slice_s(q);
	return sl_period_index(q->unit, q->duration, t);
}

/* The count slice k of q started with, as the data plane recorded it. */
static bool rn_snap(struct rn *r, const struct sl_rquota *q, int64_t k, uint64_t *cum)
{
	uint32_t tag = sl_rquota_tag(q, k);
	struct sl_qkey key = { .tenant = (__u16)q->tidx, .slot = q->slot,
			       .key_id = SL_QSNAP_ID | (tag % SL_QSNAP_RING) };
	__u64 w;

	if (bpf_map_lookup_elem(r->m.qcnt, &key, &w) || (w >> SL_QUSED_BITS) != tag)
		return false;
	*cum = w & SL_QUSED_MASK;
	return true;
}

/* The larger of two counts modulo 2^40 (they are never half the range apart). */
static uint64_t rn_cmax(uint64_t a, uint64_t b)
{
	return ((a - b) & SL_QUSED_MASK) < (1ULL << (SL_QUSED_BITS - 1)) ? a : b;
}

/*
 * The count at the start of slice k (c: the current slice, wcum: the counter now). Exact from
 * ontime_from on: every slice's start was configured in time, so the data plane recorded the
 * start of each slice that had a request, and a slice without a snapshot had none (its start
 * count is the next snapshot's, or the counter's). Before that, a lower bound: the last
 * snapshot before k, so units leave the window late, never early.
 */
static uint64_t rn_cum_start(struct rn *r, const struct sl_rquota *q, int64_t k, int64_t c,
			     uint64_t wcum)
{
	uint64_t v;

	if (k >= q->ontime_from) {
		for (int64_t m = k; m <= c; m++)
			if (rn_snap(r, q, m, &v))
				return v;
		return wcum;
	}
	for (int64_t m = k - 1; m > k - SL_QSNAP_RING && m >= 0; m--)
		if (rn_snap(r, q, m, &v))
			return rn_cmax(v, q->base);
	return q->base;
}

/* The count that has left the window by the start of slice k. */
static uint64_t rn_expired(struct rn *r, const struct sl_rquota *q, int64_t k, int64_t c,
			   uint64_t wcum)
{
	return rn_cmax(q->base, rn_cum_start(r, q, k - RN_SLICES + 1, c, wcum));
}

static uint64_t rn_qword(struct rn *r, const struct sl_rquota *q)
{
	struct sl_qkey k = { .tenant = (__u16)q->tidx, .slot = q->slot };
	__u64 w = 0;

	bpf_map_lookup_elem(r->m.qcnt, &k, &w);
	return w;
}

static uint64_t rn_qlimit(const struct sl_rquota *q)
{
	uint64_t l = q->units + q->credits;

	if (q->rolling && q->start >= q->credit_until)
		return q->units;
	/* The data plane counts SL_QUSED_BITS bits: credits past that would wrap the count. */
	return l < SL_QUSED_MASK ? l : SL_QUSED_MASK;
}

/* Write a tenant's quota slots to the data plane (under its lock). */
static int rn_qwrite(struct rn *r, uint32_t tidx, int64_t now_ns)
{
	struct sl_tquota tq = {};
	int64_t mono = (int64_t)sl_monotonic_ns();

	for (int i = 0; i < SL_MAX_QUOTAS; i++) {
		tq.s[i].mode = SL_QM_SOFT; /* unused slots: soft and unlimited, never refuse */
		tq.s[i].limit = tq.s[i].limit_next = SL_QUSED_MASK;
	}
	for (int i = 0; i < r->n_q; i++) {
		struct sl_rquota *q = &r->q[i];
		struct sl_qslot *s;
		int64_t idx, left;

		if (!q->live || q->tidx != tidx)
			continue;
		s = &tq.s[q->slot];
		idx = sl_rquota_index(q, q->start);
		s->mode = q->mode;
		s->profile = q->profile;
		s->prefix4 = q->prefix4;
		s->prefix6 = q->prefix6;
		s->action = q->action;
		s->tag = sl_rquota_tag(q, idx);
		{
			struct sl_rquota nq = *q;

			nq.reset_gen = 0;
			s->tag_next = sl_rquota_tag(&nq, idx + 1);
		}
		s->limit = rn_qlimit(q);
		s->limit_next = q->units;
		if (q->rolling) {
			uint64_t wcum = rn_qword(r, q) & SL_QUSED_MASK;

			s->flags = SL_QF_ROLLING;
			s->base = rn_expired(r, q, idx, idx, wcum);
			s->base_next = rn_expired(r, q, idx + 1, idx, wcum);
			if (q->end < q->credit_until)
				s->limit_next = rn_qlimit(q);
			q->cfg_slice = idx;
		}
		left = q->end * 1000000000LL - now_ns;
		s->end_ns = (uint64_t)(mono + (left > 0 ? left : 0));
		if (q->slot + 1u > tq.n)
			tq.n = q->slot + 1u;
	}
	return bpf_map_update_elem(r->m.qcfg, &tidx, &tq, BPF_F_LOCK) ? -errno : 0;
}

static void rn_quota_read(struct rn *r, struct sl_rquota *q);
static bool rn_quota_advance(struct rn *r, struct sl_rquota *q, int64_t now_s);

/*
 * The 429 texts of tenant ti's quotas under the slots given here (the apply numbered them by
 * their order in the plan, which a kept quota's slot need not be).
 */
static void rn_quota_texts(struct rn *r, int ti, uint32_t tidx, uint32_t gen)
{
	const struct sl_tenant *t = &r->pol.tenants[ti];
	const struct sl_plan *pl = &r->pol.plans[t->plan];
	uint8_t slot[SL_MAX_QUOTAS];
	int err;

	memset(slot, 0xff, sizeof(slot));
	for (int qi = 0; qi < pl->n_quotas; qi++)
		for (int i = 0; i < r->n_q; i++)
			if (r->q[i].live && r->q[i].tidx == tidx && !strcmp(r->q[i].tenant, t->name) &&
			    !strcmp(r->q[i].quota, pl->quotas[qi].name))
				slot[qi] = r->q[i].slot;
	err = sl_reply_quotas(&r->m, &r->pol, gen, ti, (__u16)tidx, slot);
	if (err)
		rn_log(r, "warn", "quota_texts_failed", "tenant=%s error=\"%s\"", t->name,
		       strerror(-err));
}

/*
 * Match the state's quotas to the policy: every tenant x quota of its plan gets an entry, kept
 * (with its count) where name, unit, duration and profile are unchanged; slots are stable by
 * quota name. Then every tenant's slots are written.
 */
static int rn_quota_sync(struct rn *r, int64_t now_ns)
{
	int64_t now_s = now_ns / 1000000000;
	static struct sl_tenmeta meta[SL_MAX_TENANTS];
	bool touched[SL_MAX_TENANTS] = {};
	struct sl_config cfg;
	int err = 0;

	if ((err = sl_config_read(r->m.config, &cfg)))
		return err;

	for (uint32_t t = 0; t < SL_MAX_TENANTS; t++)
		if (bpf_map_lookup_elem(r->m.tenmeta, &t, &meta[t]))
			memset(&meta[t], 0, sizeof(meta[t]));
	for (int i = 0; i < r->n_q; i++) {
		if (r->q[i].live)
			touched[r->q[i].tidx] = true;
		r->q[i].live = 0;
	}
	for (int ti = 0; ti < r->pol.n_tenants; ti++) {
		const struct sl_tenant *t = &r->pol.tenants[ti];
		const struct sl_plan *pl = &r->pol.plans[t->plan];
		uint32_t tidx = SL_MAX_TENANTS;
		uint32_t used_slots = 0;

		for (uint32_t x = 0; x < SL_MAX_TENANTS; x++)
			if (meta[x].name[0] && !strcmp(meta[x].name, t->name))
				tidx = x;
		if (tidx == SL_MAX_TENANTS)
			continue;
		/* First pass: keep the slots of quotas that exist already. */
		for (int pass = 0; pass < 2; pass++) {
			for (int qi = 0; qi < pl->n_quotas; qi++) {
				const struct sl_quota *pq = &pl->quotas[qi];
				struct sl_rquota *q = NULL;

				for (int i = 0; i < r->n_q; i++)
					if (!strcmp(r->q[i].tenant, t->name) &&
					    !strcmp(r->q[i].quota, pq->name))
						q = &r->q[i];
				if (pass == 0) {
					if (q && q->unit == pq->unit && q->duration == pq->duration &&
					    q->profile == pq->profile && q->tidx == tidx &&
					    q->rolling == pq->rolling &&
					    !(used_slots & (1u << q->slot))) {
						used_slots |= 1u << q->slot;
						q->live = 2; /* kept */
					}
					continue;
				}
				if (q && q->live == 2) {
					q->live = 1;
				} else {
					int slot = 0;

					while (used_slots & (1u << slot))
						slot++;
					used_slots |= 1u << slot;
					if (!q) {
						r->q = rn_grow(r->q, &r->cap_q, r->n_q + 1, sizeof(*r->q));
						if (!r->q)
							return -ENOMEM;
						q = &r->q[r->n_q++];
					}
					memset(q, 0, sizeof(*q));
					sl_strlcpy(q->tenant, t->name, sizeof(q->tenant));
					sl_strlcpy(q->quota, pq->name, sizeof(q->quota));
					q->slot = (uint8_t)slot;
					q->unit = pq->unit;
					q->duration = pq->duration;
					q->profile = pq->profile;
					q->rolling = pq->rolling;
					q->tidx = tidx;
					if (q->rolling) {
						int64_t c = now_s / rn_slice_s(q);

						q->start = c * rn_slice_s(q);
						q->end = q->start + rn_slice_s(q);
						/* Counts from now: what the word holds is history. */
						q->base = rn_qword(r, q) & SL_QUSED_MASK;
						q->ontime_from = c + 1;
						q->cfg_slice = c;
					} else {
						sl_period_bounds(q->unit, q->duration, now_s, &q->start,
								 &q->end);
					}
					q->live = 1;
				}
				q->tidx = tidx;
				q->mode = pq->mode;
				q->prefix4 = pq->prefix4;
				q->prefix6 = pq->prefix6;
				q->action = pq->action;
				q->units = pq->quota;
				q->n_alerts = (uint16_t)pq->n_alerts;
				memcpy(q->alert_at, pq->alert_at, sizeof(q->alert_at));
				sl_strlcpy(q->plan, pl->name, sizeof(q->plan));
			}
		}
		touched[tidx] = true;
		rn_quota_texts(r, ti, tidx, cfg.gen);
	}
	/* Kept quotas whose period ended meanwhile (a restart) move on before they are written. */
	for (int i = 0; i < r->n_q; i++) {
		if (!r->q[i].live)
			continue;
		rn_quota_read(r, &r->q[i]);
		rn_quota_advance(r, &r->q[i], now_s);
	}
	/* Quotas gone from the policy are forgotten. */
	for (int i = 0; i < r->n_q;) {
		if (!r->q[i].live) {
			r->q[i] = r->q[--r->n_q];
			continue;
		}
		i++;
	}
	for (uint32_t t = 0; t < SL_MAX_TENANTS; t++)
		if (touched[t] && (err = rn_qwrite(r, t, now_ns)))
			break;
	return err;
}

/* The policy's quota of q (for its labels), or NULL. */
static const struct sl_quota *rn_pol_quota(const struct rn *r, const struct sl_rquota *q)
{
	const struct sl_tenant *t = rn_pol_tenant(r, q->tenant);
	const struct sl_plan *pl;

	if (!t)
		return NULL;
	pl = &r->pol.plans[t->plan];
	for (int i = 0; i < pl->n_quotas; i++)
		if (!strcmp(pl->quotas[i].name, q->quota))
			return &pl->quotas[i];
	return NULL;
}

static void rn_alert(struct rn *r, const struct sl_rquota *q, int a, int64_t now_s)
{
	char id[17], idkey[2 * SL_NAME_MAX + 2], ts[40], pe[40], *line = NULL;
	const struct sl_quota *pq = rn_pol_quota(r, q);
	uint64_t lim = rn_qlimit(q);
	struct sl_json j;
	size_t len = 0;
	FILE *f;

	snprintf(idkey, sizeof(idkey), "%s/%s", q->tenant, q->quota);
	sl_brec_id(idkey, q->alert_at[a], q->start, q->reset_gen, id);
	rn_log(r, "warn", "quota_alert",
	       "tenant=%s quota=%s threshold=%u%% used=%" PRIu64 " limit=%" PRIu64 " period_end=%s",
	       q->tenant, q->quota, q->alert_at[a], q->used, lim,
	       sl_rfc3339(q->end, pe, sizeof(pe)));
	f = open_memstream(&line, &len);
	if (!f)
		return;
	sl_json_init(&j, f, false);
	sl_json_obj_open(&j, NULL);
	sl_json_str(&j, "id", id);
	sl_json_str(&j, "time", sl_rfc3339(now_s, ts, sizeof(ts)));
	sl_json_str(&j, "event", "quota_alert");
	sl_json_str(&j, "tenant", q->tenant);
	sl_json_str(&j, "plan", q->plan);
	sl_json_str(&j, "quota", q->quota);
	sl_json_obj_open(&j, "labels");
	for (int i = 0; pq && i < pq->n_labels; i++)
		sl_json_str(&j, pq->labels[i].key, pq->labels[i].value);
	sl_json_obj_close(&j);
	sl_json_u64(&j, "threshold_percent", q->alert_at[a]);
	sl_json_u64(&j, "used", q->used);
	sl_json_u64(&j, "limit", lim);
	sl_json_u64(&j, "remaining", q->used < lim ? lim - q->used : 0);
	sl_json_str(&j, "mode", q->mode == SL_QM_HARD ? "hard" : "soft");
	sl_json_str(&j, "window", q->rolling ? "rolling" : "calendar");
	sl_json_str(&j, "period_start", sl_rfc3339(q->start, ts, sizeof(ts)));
	sl_json_str(&j, "period_end", pe);
	sl_json_obj_close(&j);
	sl_json_end(&j);
	fclose(f);
	if (line)
		rn_event(r, line);
	free(line);
}

struct rn_subjects {
	struct sl_rquota *q;
	uint32_t tag;
};

/* One key id's or source aggregate's counter of a quota (profiles key and source). */
static int rn_subject_one(const struct sl_qkey *k, const __u64 *w, void *arg)
{
	struct rn_subjects *a = arg;

	if (k->tenant != a->q->tidx || k->slot != a->q->slot || (*w >> SL_QUSED_BITS) != a->tag)
		return 0;
	a->q->subjects++;
	if ((*w & SL_QUSED_MASK) > a->q->used)
		a->q->used = *w & SL_QUSED_MASK;
	return 0;
}

/* Units used in q's current period: the counter, or the most used subject's (key, source). */
static void rn_quota_read(struct rn *r, struct sl_rquota *q)
{
	int64_t idx = sl_rquota_index(q, q->start);
	uint32_t tag = sl_rquota_tag(q, idx);

	if (q->rolling) {
		uint64_t wcum = rn_qword(r, q) & SL_QUSED_MASK;

		q->used = (wcum - rn_expired(r, q, idx, idx, wcum)) & SL_QUSED_MASK;
		q->subjects = 1;
	} else if (q->profile == SL_QP_TENANT) {
		struct sl_qkey k = { .tenant = (__u16)q->tidx, .slot = q->slot };
		__u64 w = 0;

		bpf_map_lookup_elem(r->m.qcnt, &k, &w);
		if ((w >> SL_QUSED_BITS) != tag) {
			/* The next period began: its first request kept this one's word. */
			k.key_id = SL_QSNAP_ID | (tag % SL_QSNAP_RING);
			w = 0;
			bpf_map_lookup_elem(r->m.qcnt, &k, &w);
		}
		q->used = (w >> SL_QUSED_BITS) == tag ? w & SL_QUSED_MASK : 0;
		q->subjects = 1;
	} else {
		struct rn_subjects a = { .q = q, .tag = tag };

		q->used = 0;
		q->subjects = 0;
		sl_qcnt_scan(r->m.qcnt, rn_subject_one, &a);
	}
}

/* Move q to the period (or slice) holding now if its own ended. Returns whether it did. */
static bool rn_quota_advance(struct rn *r, struct sl_rquota *q, int64_t now_s)
{
	int64_t c;

	if (now_s < q->end)
		return false;
	if (q->rolling) {
		c = now_s / rn_slice_s(q);
		/* The data plane turns one slice on its own; past that it went unconfigured. */
		if (c > q->cfg_slice + 1)
			q->ontime_from = c + 1;
		q->start = c * rn_slice_s(q);
		q->end = q->start + rn_slice_s(q);
		if (q->start >= q->credit_until)
			q->credits = 0;
		return true;
	}
	/* Closed: remember it, then the period holding now (counted since its tag). */
	memmove(q->hist + 1, q->hist, sizeof(q->hist[0]) * (SL_QHIST_MAX - 1));
	q->hist[0] = (struct sl_qhist){ q->start, q->end, q->used, rn_qlimit(q) };
	if (q->n_hist < SL_QHIST_MAX)
		q->n_hist++;
	sl_period_bounds(q->unit, q->duration, now_s, &q->start, &q->end);
	q->credits = 0;
	q->reset_gen = 0;
	q->fired = 0;
	q->used = 0;
	return true;
}

/*
 * Turn ended quota periods, read usage, fire alerts. Returns 0 or the errno of a failed
 * write of a tenant's slots.
 */
static int rn_quota_tick(struct rn *r, int64_t now_ns)
{
	int64_t now_s = now_ns / 1000000000;
	bool dirty[SL_MAX_TENANTS] = {};
	int err = 0;

	for (int i = 0; i < r->n_q; i++) {
		struct sl_rquota *q = &r->q[i];

		/* Read under the period's own tag first: at its end this is its final count. */
		rn_quota_read(r, q);
		if (rn_quota_advance(r, q, now_s))
			dirty[q->tidx] = true;
		rn_quota_read(r, q);
		for (int a = 0; a < q->n_alerts; a++) {
			bool over = q->used * 100 >= (uint64_t)q->alert_at[a] * rn_qlimit(q);

			/* A rolling window fires again once usage fell below the threshold. */
			if (q->rolling && !over)
				q->fired &= ~(1u << a);
			if (q->fired & (1u << a))
				continue;
			if (q->used * 100 >= (uint64_t)q->alert_at[a] * rn_qlimit(q)) {
				q->fired |= 1u << a;
				rn_alert(r, q, a, now_s);
			}
		}
	}
	for (uint32_t t = 0; t < SL_MAX_TENANTS; t++)
		if (dirty[t] && (err = rn_qwrite(r, t, now_ns)))
			break;
	return err;
}

/* ---- metrics (docs/metrics.md) ---- */

#define RN_TABLES_EVERY_NS 5000000000ULL /* table fill is counted at most every 5 s */

static int rn_count_bucket(const struct sl_bkey *k, const struct sl_bucket *v, void *arg)
{
	return 0;
}

static int rn_count_flow(const struct sl_flow_key *k, const struct sl_flow *v, void *arg)
{
	return 0;
}

static int rn_count_qcnt(const struct sl_qkey *k, const __u64 *v, void *arg)
{
	return 0;
}

static void rn_mtable(struct sl_mtable *t, int fd, long used)
{
	t->max = sl_map_max_entries(fd);
	t->used = used >= 0 && t->max >= 0 ? used : -1;
}

/* Whether q's usage reached its highest alert_at below 100 % (80 % without one). */
static bool rn_near_limit(const struct sl_rquota *q, uint64_t limit)
{
	unsigned int pct = 0;

	for (int a = 0; a < q->n_alerts && a < SL_MAX_ALERTS; a++)
		if (q->alert_at[a] < 100 && q->alert_at[a] > pct)
			pct = q->alert_at[a];
	if (!pct)
		pct = 80;
	return q->used * 100 >= (uint64_t)pct * limit;
}

/*
 * Gather what the tenant counters (rn_collect) did not: rules, quotas, table fill, the
 * controller's own figures; count the tick (started at monotonic tick0_ns), render and hand
 * the text to the HTTP thread.
 */
static void rn_metrics(struct rn *r, uint64_t tick0_ns, int64_t now_ns)
{
	struct sl_mstate *ms = r->ms;
	struct sl_config cfg;
	uint64_t mono = sl_monotonic_ns();
	size_t len;
	char *text;
	__u32 gen;

	ms->n_rules = 0;
	if (!sl_config_read(r->m.config, &cfg)) {
		gen = cfg.gen & 1;
		for (__u32 slot = 0; slot < SL_MAX_RULES; slot++) {
			struct sl_mrule *mr = &ms->rules[ms->n_rules];
			struct sl_rulemeta meta;

			if (bpf_map_lookup_elem(r->m.rulemeta, &slot, &meta) ||
			    !(meta.in_use & (1u << gen)) ||
			    sl_stats_read(r->m.stats, slot, &mr->st))
				continue;
			if (sl_rstats_read(r->m.rstats, slot, &mr->rs))
				memset(&mr->rs, 0, sizeof(mr->rs));
			sl_strlcpy(mr->name, meta.name, sizeof(mr->name));
			mr->action = meta.action;
			mr->reject = SL_OVER_DROP;
			for (int i = 0; i < r->pol.n_rules; i++)
				if (!strcmp(r->pol.rules[i].name, meta.name))
					mr->reject = r->pol.rules[i].reject;
			ms->n_rules++;
		}
	}
	if (sl_stats_read(r->m.stats, SL_SLOT_PARSE, &ms->unclassified))
		memset(&ms->unclassified, 0, sizeof(ms->unclassified));
	ms->http_on = r->pol.n_http_ports > 0;
	if (sl_rstats_read(r->m.rstats, SL_RSLOT_HTTP, &ms->http_replies))
		memset(&ms->http_replies, 0, sizeof(ms->http_replies));
	ms->n_quotas = 0;
	ms->quotas = rn_grow(ms->quotas, &ms->cap_quotas, r->n_q, sizeof(*ms->quotas));
	for (int i = 0; ms->quotas && i < r->n_q; i++) {
		const struct sl_rquota *q = &r->q[i];
		struct sl_mquota *mq = &ms->quotas[ms->n_quotas];

		if (!q->live)
			continue;
		sl_strlcpy(mq->tenant, q->tenant, sizeof(mq->tenant));
		sl_strlcpy(mq->quota, q->quota, sizeof(mq->quota));
		sl_strlcpy(mq->plan, q->plan, sizeof(mq->plan));
		mq->mode = q->mode;
		mq->rolling = q->rolling;
		mq->used = q->used;
		mq->limit = rn_qlimit(q);
		mq->near = rn_near_limit(q, mq->limit);
		mq->period_end = q->end;
		ms->n_quotas++;
	}
	/* Counting a table reads all of it: not every tick when ticks are frequent. */
	if (!r->tables_read_ns || mono - r->tables_read_ns >= RN_TABLES_EVERY_NS) {
		rn_mtable(&ms->tables[SL_MT_BUCKETS], r->m.buckets,
			  sl_buckets_scan(r->m.buckets, rn_count_bucket, NULL));
		rn_mtable(&ms->tables[SL_MT_FLOWS], r->m.flows,
			  sl_flows_scan(r->m.flows, rn_count_flow, NULL));
		rn_mtable(&ms->tables[SL_MT_QCNT], r->m.qcnt,
			  sl_qcnt_scan(r->m.qcnt, rn_count_qcnt, NULL));
		r->tables_read_ns = mono;
	}
	rn_mtable(&ms->tables[SL_MT_TSTATS], r->m.tstats, r->tstats_entries);
	ms->ticks++;
	ms->last_write = r->last_write_ok;
	ms->write_errors = r->write_errors;
	ms->ckpt_age = !r->ckpt_saved_ns ? -1 :
		       now_ns > r->ckpt_saved_ns ? (double)(now_ns - r->ckpt_saved_ns) / 1e9 : 0;
	sl_mhist_observe(&ms->tick, (double)(sl_monotonic_ns() - tick0_ns) / 1e9);
	if (sl_metrics_render(ms, &text, &len))
		rn_log(r, "warn", "metrics_render_failed", "error=\"%s\"", strerror(ENOMEM));
	else
		sl_metrics_publish(r->metrics, text, len);
}

/* ---- usage.json, inbox ---- */

static void rn_write_usage(struct rn *r, int64_t now_s)
{
	struct sl_json j;
	char *buf = NULL, path[300], ts[40];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	sl_json_init(&j, f, false);
	sl_json_obj_open(&j, NULL);
	sl_json_str(&j, "time", sl_rfc3339(now_s, ts, sizeof(ts)));
	sl_json_str(&j, "policy", r->pol.name);
	sl_json_str(&j, "timezone", r->pol.timezone);
	sl_json_i64(&j, "pid", getpid());
	sl_json_str(&j, "last_billing_write", r->last_write_ok ? sl_rfc3339(r->last_write_ok, ts, sizeof(ts)) : "");
	sl_json_u64(&j, "write_errors", r->write_errors);
	sl_json_arr_open(&j, "quotas");
	for (int i = 0; i < r->n_q; i++) {
		const struct sl_rquota *q = &r->q[i];
		uint64_t lim = rn_qlimit(q);

		sl_json_obj_open(&j, NULL);
		sl_json_str(&j, "tenant", q->tenant);
		sl_json_str(&j, "plan", q->plan);
		sl_json_str(&j, "quota", q->quota);
		sl_json_str(&j, "mode", q->mode == SL_QM_HARD ? "hard" : "soft");
		sl_json_str(&j, "profile", q->profile == SL_QP_TENANT ? "tenant" :
					  q->profile == SL_QP_KEY ? "key" : "source");
		sl_json_u64(&j, "duration", q->duration);
		sl_json_str(&j, "unit", sl_period_unit_name(q->unit));
		sl_json_u64(&j, "quota", q->units);
		sl_json_u64(&j, "credits", q->credits);
		sl_json_u64(&j, "limit", lim);
		sl_json_u64(&j, "used", q->used);
		sl_json_u64(&j, "remaining", q->used < lim ? lim - q->used : 0);
		sl_json_u64(&j, "overage", q->mode == SL_QM_SOFT && q->used > lim ? q->used - lim : 0);
		sl_json_u64(&j, "subjects", q->subjects);
		sl_json_str(&j, "period_start", sl_rfc3339(q->start, ts, sizeof(ts)));
		sl_json_str(&j, "period_end", sl_rfc3339(q->end, ts, sizeof(ts)));
		sl_json_str(&j, "resets_at", sl_rfc3339(q->end, ts, sizeof(ts)));
		sl_json_arr_open(&j, "history");
		for (uint32_t h = 0; h < q->n_hist; h++) {
			sl_json_obj_open(&j, NULL);
			sl_json_str(&j, "period_start", sl_rfc3339(q->hist[h].start, ts, sizeof(ts)));
			sl_json_str(&j, "period_end", sl_rfc3339(q->hist[h].end, ts, sizeof(ts)));
			sl_json_u64(&j, "used", q->hist[h].used);
			sl_json_u64(&j, "limit", q->hist[h].limit);
			sl_json_obj_close(&j);
		}
		sl_json_arr_close(&j);
		sl_json_obj_close(&j);
	}
	sl_json_arr_close(&j);
	sl_json_obj_close(&j);
	sl_json_end(&j);
	fclose(f);
	snprintf(path, sizeof(path), "%s/usage.json", r->state_dir);
	if (buf)
		sl_replace(&sl_io_posix, path, buf, len);
	free(buf);
}

static struct sl_rquota *rn_find_q(struct rn *r, const char *tenant, const char *quota, int from)
{
	for (int i = from; i < r->n_q; i++)
		if (!strcmp(r->q[i].tenant, tenant) && (!quota || !strcmp(r->q[i].quota, quota)))
			return &r->q[i];
	return NULL;
}

/* One command from `sluice quota`: "grant TENANT N [QUOTA]" or "reset TENANT [QUOTA]". */
static void rn_command(struct rn *r, const char *text, char *res, size_t reslen, int64_t now_ns)
{
	char verb[16] = "", tenant[SL_NAME_MAX] = "", a3[SL_NAME_MAX] = "", a4[SL_NAME_MAX] = "";
	const char *quota = NULL;
	unsigned long long n = 0;
	int k = sscanf(text, "%15s %47s %47s %47s", verb, tenant, a3, a4), hits = 0;
	bool grant = !strcmp(verb, "grant");

	if (k < 2 || (!grant && strcmp(verb, "reset")) || (grant && k < 3)) {
		snprintf(res, reslen, "error: malformed command \"%s\"\n", text);
		return;
	}
	if (grant) {
		char *end;

		n = strtoull(a3, &end, 10);
		if (*end || !n || strspn(a3, "0123456789") != strlen(a3) || n > SL_QUSED_MASK) {
			snprintf(res, reslen, "error: grant needs a positive number of units, not \"%s\"\n", a3);
			return;
		}
		quota = k >= 4 ? a4 : NULL;
	} else {
		quota = k >= 3 ? a3 : NULL;
	}
	for (struct sl_rquota *q = rn_find_q(r, tenant, quota, 0); q;
	     q = rn_find_q(r, tenant, quota, (int)(q - r->q) + 1)) {
		if (grant) {
			q->credits += n;
			/* A rolling window's credits last one window from the grant. */
			if (q->rolling)
				q->credit_until = now_ns / 1000000000 + rn_slice_s(q) * RN_SLICES;
		} else if (q->rolling) {
			q->base = rn_qword(r, q) & SL_QUSED_MASK;
			q->credits = 0;
			q->fired = 0;
			q->used = 0;
		} else {
			q->reset_gen = (q->reset_gen + 1) & 0xf;
			q->credits = 0;
			q->fired = 0;
			q->used = 0;
		}
		hits++;
		rn_log(r, "info", grant ? "quota_grant" : "quota_reset",
		       "tenant=%s quota=%s units=%llu limit=%" PRIu64, q->tenant, q->quota, n,
		       rn_qlimit(q));
	}
	if (!hits) {
		snprintf(res, reslen, "error: tenant \"%s\" has no quota%s%s%s in the running policy\n",
			 tenant, quota ? " \"" : "", quota ? quota : "", quota ? "\"" : "");
		return;
	}
	for (int i = 0; i < r->n_q; i++)
		if (!strcmp(r->q[i].tenant, tenant))
			rn_qwrite(r, r->q[i].tidx, now_ns);
	snprintf(res, reslen, "ok: %s %s: %d quota(s)%s\n", verb, tenant, hits,
		 grant ? " credited for the current period" : " reset; counting starts again now");
}

static bool rn_inbox(struct rn *r, int64_t now_ns)
{
	char dir[300], path[600], done[600], text[256], res[256];
	struct dirent *de;
	bool any = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", r->state_dir, SL_INBOX_DIR);
	d = opendir(dir);
	if (!d)
		return false;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		FILE *f;

		if (l < 5 || strcmp(de->d_name + l - 4, ".cmd"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		text[0] = 0;
		if (!fgets(text, sizeof(text), f))
			text[0] = 0;
		fclose(f);
		text[strcspn(text, "\n")] = 0;
		rn_command(r, text, res, sizeof(res), now_ns);
		/* The change is checkpointed before the command is answered. */
		rn_save(r);
		snprintf(done, sizeof(done), "%.*s.done", (int)(strlen(path) - 4), path);
		sl_replace(&sl_io_posix, done, res, strlen(res));
		unlink(path);
		any = true;
	}
	closedir(d);
	return any;
}

/* The quotas of a state directory's checkpoint, for `sluice usage` (malloc'd array). */
int sl_run_quotas(const char *state_dir, struct sl_rquota **q, int *n)
{
	struct rn *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	snprintf(r->ckpt_path, sizeof(r->ckpt_path), "%s/checkpoint", state_dir);
	err = rn_load(r);
	*q = err ? NULL : r->q;
	*n = err ? 0 : r->n_q;
	if (err)
		free(r->q);
	free(r->seen);
	free(r->recs);
	for (int i = 0; i < r->n_events; i++)
		free(r->events[i]);
	free(r->events);
	free(r);
	return err;
}

/* ---- main loop ---- */

static int rn_apply_policy(struct rn *r, bool first)
{
	struct sl_apply_result res;
	struct sl_policy p;
	char err[512];
	int lock, e;

	if (sl_policy_load(r->policy_path, &p, err, sizeof(err))) {
		rn_log(r, "error", "policy_invalid", "error=\"%s\" action=%s", err,
		       first ? "not_started" : "kept_running_policy");
		return -EINVAL;
	}
	e = sl_tz_set(p.timezone[0] ? p.timezone : "UTC");
	if (e) {
		rn_log(r, "error", "policy_invalid",
		       "file=%s error=\"time zone %s is not installed (install tzdata)\" action=%s",
		       r->policy_path, p.timezone, first ? "not_started" : "kept_running_policy");
		sl_policy_free(&p);
		if (r->have_pol)
			sl_tz_set(r->pol.timezone);
		return e;
	}
	lock = sl_lock(r->o->pin_root, 30);
	if (lock < 0) {
		rn_log(r, "error", "policy_apply_failed", "error=\"cannot lock %s: %s\"", r->o->pin_root,
		       strerror(-lock));
		sl_policy_free(&p);
		return lock;
	}
	e = sl_policy_install(&r->m, &p, &res);
	sl_unlock(lock);
	if (e) {
		rn_log(r, "error", "policy_apply_failed", "file=%s error=\"%s\" action=%s",
		       r->policy_path, strerror(-e), first ? "not_started" : "kept_running_policy");
		sl_policy_free(&p);
		return e;
	}
	if (r->have_pol)
		sl_policy_free(&r->pol);
	r->pol = p;
	r->have_pol = true;
	rn_log(r, "info", "policy_applied",
	       "file=%s policy=%s hash=%016llx tenants=%d generation=%u", r->policy_path, p.name,
	       (unsigned long long)p.hash, p.n_tenants, res.gen);
	return 0;
}

/* Repair the open billing files (a partial last line from a crash) and rewrite dirty records. */
static void rn_recover(struct rn *r)
{
	char path[512];
	long cut;

	for (int i = 0; i < r->n_recs; i++) {
		int64_t ps = r->recs[i].r.period_start;
		bool seen = false;

		for (int j = 0; j < i; j++)
			if (r->recs[j].r.period_start == ps)
				seen = true;
		if (seen)
			continue;
		for (int e = 0; e < 2; e++) {
			sl_billing_path(path, sizeof(path), r->billing_dir, ps, e ? "csv" : "jsonl");
			cut = sl_jsonl_repair(&sl_io_posix, path);
			if (cut > 0)
				rn_log(r, "warn", "billing_file_repaired",
				       "path=%s cut_bytes=%ld reason=partial_last_line", path, cut);
		}
	}
	snprintf(path, sizeof(path), "%s/events.jsonl", r->state_dir);
	cut = sl_jsonl_repair(&sl_io_posix, path);
	if (cut > 0)
		rn_log(r, "warn", "events_file_repaired", "path=%s cut_bytes=%ld", path, cut);
}

static int rn_sleep_ms(const struct rn *r, int64_t now_ns, int64_t next_ns)
{
	int64_t ms = (next_ns - now_ns + 999999) / 1000000;

	if (ms < 1)
		ms = 1;
	if (ms > r->interval_ms)
		ms = r->interval_ms;
	poll(NULL, 0, (int)ms);
	return 0;
}

static void rn_usage(FILE *f)
{
	fprintf(f,
		"usage: sluice run --policy FILE [--state-dir DIR] [--billing-dir DIR]\n"
		"                  [--interval MS] [--flush-interval MS] [--metrics ADDR:PORT]\n"
		"  Runs in the foreground: applies FILE (again on SIGHUP), enforces quotas, writes\n"
		"  billing usage files; SIGTERM flushes everything and exits. Needs `sluice attach`.\n"
		"  --state-dir DIR       checkpoint, usage.json, events.jsonl (default %s)\n"
		"  --billing-dir DIR     usage-<period start>.jsonl files (default STATE-DIR/billing)\n"
		"  --interval MS         how often counters are read and quotas checked (default 1000)\n"
		"  --flush-interval MS   how often a billing revision is written (default 10000)\n"
		"  --metrics ADDR:PORT   serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                        (127.0.0.1:9464, [::1]:9464, 0.0.0.0:9464; docs/metrics.md)\n",
		SL_STATE_DIR_DEFAULT);
}

int cmd_run(const struct sl_opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "billing-dir", required_argument, NULL, 'b' },
		{ "interval", required_argument, NULL, 'i' },
		{ "flush-interval", required_argument, NULL, 'f' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static struct rn r;
	const char *fake = getenv("SLUICE_FAKE_NOW");
	int c, lockfd, err, ret = SL_EXIT_ERR;
	int64_t now_ns, next_flush;
	char path[300];
	struct sigaction sa = { .sa_handler = rn_on_signal };

	r.o = o;
	r.interval_ms = 1000;
	r.flush_ms = 10000;
	snprintf(r.state_dir, sizeof(r.state_dir), "%s", SL_STATE_DIR_DEFAULT);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'p': r.policy_path = optarg; break;
		case 's': snprintf(r.state_dir, sizeof(r.state_dir), "%s", optarg); break;
		case 'b': snprintf(r.billing_dir, sizeof(r.billing_dir), "%s", optarg); break;
		case 'i': r.interval_ms = atoi(optarg); break;
		case 'f': r.flush_ms = atoi(optarg); break;
		case 'm': r.metrics_addr = optarg; break;
		case 'h': rn_usage(stdout); return SL_EXIT_OK;
		default: rn_usage(stderr); return SL_EXIT_USAGE;
		}
	}
	if (!r.policy_path || optind != argc || r.interval_ms < 10 || r.flush_ms < r.interval_ms) {
		if (r.policy_path && (r.interval_ms < 10 || r.flush_ms < r.interval_ms))
			fprintf(stderr, "sluice run: --interval must be >= 10 ms and --flush-interval >= --interval\n");
		rn_usage(stderr);
		return SL_EXIT_USAGE;
	}
	if (r.metrics_addr) {
		struct sockaddr_storage ss;
		socklen_t alen;

		if (sl_metrics_parse_addr(r.metrics_addr, &ss, &alen)) {
			fprintf(stderr, "sluice run: --metrics %s: give a numeric address and a port, e.g. 127.0.0.1:9464 or [::1]:9464\n",
				r.metrics_addr);
			return SL_EXIT_USAGE;
		}
	}
	if (fake) {
		int64_t t;

		if (sl_rfc3339_parse(fake, &t)) {
			fprintf(stderr, "sluice run: SLUICE_FAKE_NOW=%s is not RFC3339\n", fake);
			return SL_EXIT_USAGE;
		}
		r.fake = true;
		r.fake0_ns = t * 1000000000LL;
		r.mono0_ns = (int64_t)sl_monotonic_ns();
	}
	if (!r.billing_dir[0])
		snprintf(r.billing_dir, sizeof(r.billing_dir), "%s/billing", r.state_dir);
	snprintf(r.ckpt_path, sizeof(r.ckpt_path), "%s/checkpoint", r.state_dir);
	if (sl_need_root())
		return SL_EXIT_ERR;
	snprintf(path, sizeof(path), "%s/%s", r.state_dir, SL_INBOX_DIR);
	if ((err = sl_mkdir_p(path, 0755)) || (err = sl_mkdir_p(r.billing_dir, 0755))) {
		fprintf(stderr, "sluice run: cannot create %s or %s: %s\n", path, r.billing_dir,
			strerror(-err));
		return SL_EXIT_ERR;
	}
	snprintf(path, sizeof(path), "%s/lock", r.state_dir);
	lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB)) {
		char pid[32] = "?";
		ssize_t n = lockfd >= 0 ? pread(lockfd, pid, sizeof(pid) - 1, 0) : -1;

		if (n > 0)
			pid[strcspn(pid, "\n")] = 0;
		fprintf(stderr, "sluice run: another sluice run (pid %s) uses %s; stop it first or give --state-dir\n",
			pid, r.state_dir);
		return SL_EXIT_ERR;
	}
	if (ftruncate(lockfd, 0) == 0)
		dprintf(lockfd, "%d\n", (int)getpid());
	if (sl_open_maps_or_explain(o, &r.m))
		return SL_EXIT_ERR;
	/* Before the policy is applied: a port in use changes nothing. */
	if (r.metrics_addr) {
		err = sl_metrics_start(r.metrics_addr, &r.metrics);
		if (!err && !(r.ms = calloc(1, sizeof(*r.ms))))
			err = -ENOMEM;
		if (err) {
			fprintf(stderr, "sluice run: cannot listen on %s: %s; %s\n", r.metrics_addr,
				strerror(-err), err == -EADDRNOTAVAIL ?
				"give an address of this host (or 127.0.0.1, 0.0.0.0)" :
				"choose another --metrics port");
			goto out;
		}
	}
	err = rn_load(&r);
	if (err && err != -ENOENT) {
		fprintf(stderr, "sluice run: the checkpoint %s cannot be read (%s); move it away to start fresh (usage not yet written to the billing files would then be billed again from the counters)\n",
			r.ckpt_path, strerror(-err));
		goto out;
	}
	rn_log(&r, "info", "start", "pid=%d state_dir=%s billing_dir=%s checkpoint=%s%s%s%s%s",
	       (int)getpid(), r.state_dir, r.billing_dir, err ? "none" : "loaded",
	       r.fake ? " fake_now=" : "", r.fake ? fake : "",
	       r.metrics ? " metrics=" : "", r.metrics ? r.metrics_addr : "");
	if (rn_apply_policy(&r, true))
		goto out;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rn_recover(&r);
	now_ns = rn_now_ns(&r);
	if ((err = rn_quota_sync(&r, now_ns)))
		rn_log(&r, "error", "quota_write_failed", "error=\"%s\"", strerror(-err));
	/* Revisions the last run checkpointed are written again (the same lines) first. */
	rn_flush(&r);
	next_flush = now_ns + (int64_t)r.flush_ms * 1000000;
	for (;;) {
		bool stop = rn_term, hup = rn_hup;
		uint64_t tick0_ns = sl_monotonic_ns();
		int64_t now_s, wake;

		now_ns = rn_now_ns(&r);
		now_s = now_ns / 1000000000;
		if (!r.bp_end)
			rn_billing_period(&r, now_s); /* the first start */
		if (rn_maps_renewed(&r)) {
			/* New maps hold no policy yet: apply it, then count them from zero. */
			rn_log(&r, "warn", "maps_renewed", "pin_root=%s action=policy_applied_again",
			       r.o->pin_root);
			if (!rn_apply_policy(&r, false) && (err = rn_quota_sync(&r, now_ns)))
				rn_log(&r, "error", "quota_write_failed", "error=\"%s\"", strerror(-err));
		}
		/*
		 * What was counted since the last read goes to the open period; at its end it is
		 * closed (final revisions) right after. A period that ended while the daemon was
		 * down gets what was counted meanwhile: billed late, never lost.
		 */
		if ((err = rn_collect(&r, now_s)))
			rn_log(&r, "error", "counters_read_failed", "error=\"%s\"", strerror(-err));
		if (now_s >= r.bp_end) {
			rn_billing_period(&r, now_s);
			next_flush = 0;
		}
		if ((err = rn_quota_tick(&r, now_ns)))
			rn_log(&r, "error", "quota_write_failed", "error=\"%s\"", strerror(-err));
		if (rn_inbox(&r, now_ns))
			next_flush = 0;
		if (hup) {
			rn_hup = 0;
			/* Usage so far is billed under the old plans before the new policy applies. */
			rn_flush(&r);
			if (!rn_apply_policy(&r, false) && (err = rn_quota_sync(&r, now_ns)))
				rn_log(&r, "error", "quota_write_failed", "error=\"%s\"", strerror(-err));
			next_flush = 0;
		}
		if (stop || now_ns >= next_flush) {
			rn_flush(&r);
			rn_compress_closed(&r);
			next_flush = now_ns + (int64_t)r.flush_ms * 1000000;
		}
		rn_write_usage(&r, now_s);
		rn_reap_hooks(&r);
		if (r.metrics)
			rn_metrics(&r, tick0_ns, now_ns);
		if (stop)
			break;
		/* Wake at the next period end too, so boundaries are read on time. */
		wake = next_flush;
		if (r.bp_end && r.bp_end * 1000000000LL < wake)
			wake = r.bp_end * 1000000000LL;
		for (int i = 0; i < r.n_q; i++)
			if (r.q[i].end * 1000000000LL < wake)
				wake = r.q[i].end * 1000000000LL;
		rn_sleep_ms(&r, rn_now_ns(&r), wake);
	}
	rn_log(&r, "info", "stop", "flushes=%" PRIu64 " write_errors=%" PRIu64, r.flushes,
	       r.write_errors);
	ret = r.write_errors && r.last_write_ok == 0 ? SL_EXIT_ERR : SL_EXIT_OK;
out:
	sl_metrics_stop(r.metrics);
	if (r.ms)
		free(r.ms->quotas);
	free(r.ms);
	sl_maps_close(&r.m);
	close(lockfd);
	return ret;
}
