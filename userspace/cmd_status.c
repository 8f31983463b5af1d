// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice status: attachments, the running policy, per-rule and per-tenant counters, table fill. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "attach.h"
#include "cmd.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "reply.h"
#include "stats.h"
#include "tview.h"
#include "util.h"
#include "view.h"

/* {"limit": {"pass": {"packets": N, "bytes": N}, ...}, ...}, listing only non-zero rows. */
static void sl_counters_json(struct sl_json *j, const char *key, const struct sl_slot_stats *s)
{
	struct sl_counter t;

	sl_json_obj_open(j, key);
	for (int o = 0; o < SL_NR_OUTCOMES; o++) {
		t = sl_stats_outcome(s, o);
		sl_json_obj_open(j, sl_outcome_name(o));
		sl_json_u64(j, "packets", t.packets);
		sl_json_u64(j, "bytes", t.bytes);
		sl_json_obj_close(j);
	}
	for (int r = 0; r < SL_NR_REASONS; r++) {
		bool any = false;

		for (int o = 0; o < SL_NR_OUTCOMES; o++)
			any |= s->c[r][o].packets != 0;
		if (!any)
			continue;
		sl_json_obj_open(j, sl_reason_name(r));
		for (int o = 0; o < SL_NR_OUTCOMES; o++) {
			sl_json_obj_open(j, sl_outcome_name(o));
			sl_json_u64(j, "packets", s->c[r][o].packets);
			sl_json_u64(j, "bytes", s->c[r][o].bytes);
			sl_json_obj_close(j);
		}
		sl_json_obj_close(j);
	}
	sl_json_obj_close(j);
}

static void sl_status_json(const struct sl_view *v, const struct sl_tview *tv)
{
	const struct sl_gcfg *g = &v->cfg.g[v->gen];
	struct sl_json j;
	char buf[64];

	sl_json_init(&j, stdout, true);
	sl_json_obj_open(&j, NULL);
	sl_json_arr_open(&j, "interfaces");
	for (int i = 0; i < v->n_attach; i++) {
		const struct sl_view_attach *a = &v->attach[i];

		sl_json_obj_open(&j, NULL);
		sl_json_str(&j, "ifname", a->a.ifname);
		sl_json_u64(&j, "ifindex", a->key.ifindex);
		sl_json_str(&j, "netns", a->a.netns);
		sl_json_str(&j, "hook", sl_hook_name(a->a.hook));
		if (a->a.hook == SL_HOOK_XDP)
			sl_json_str(&j, "mode", sl_mode_name(a->a.mode));
		sl_json_u64(&j, "prog_id", a->a.prog_id);
		sl_json_str(&j, "since", sl_fmt_time(a->a.attached_ns, buf, sizeof(buf)));
		sl_json_bool(&j, "attached", a->alive);
		sl_json_obj_close(&j);
	}
	sl_json_arr_close(&j);
	sl_json_obj_open(&j, "policy");
	sl_json_str(&j, "name", g->policy_name);
	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)g->policy_hash);
	sl_json_str(&j, "hash", buf);
	sl_json_u64(&j, "generation", v->gen);
	sl_json_str(&j, "applied", sl_fmt_time(g->applied_ns, buf, sizeof(buf)));
	sl_json_bool(&j, "dry_run", g->dry_run);
	sl_json_obj_close(&j);
	sl_json_arr_open(&j, "rules");
	for (int i = 0; i < v->n_rules; i++) {
		const struct sl_view_rule *r = &v->rules[i];

		sl_json_obj_open(&j, NULL);
		sl_json_str(&j, "name", r->meta.name);
		sl_json_u64(&j, "slot", r->slot);
		sl_json_str(&j, "action", sl_action_name(r->meta.action));
		sl_json_u64(&j, "rate", r->meta.rate);
		sl_json_u64(&j, "burst", r->meta.burst);
		sl_json_str(&j, "unit", r->meta.flags & SL_RF_BYTES ? "bytes" : "packets");
		sl_json_bool(&j, "dry_run", r->meta.flags & SL_RF_DRYRUN);
		sl_counters_json(&j, "counters", &r->stats);
		sl_json_str(&j, "reject", sl_over_action_name(r->reject));
		sl_replies_json(&j, "replies", &r->rcfg, &r->rstats);
		sl_json_obj_close(&j);
	}
	sl_json_arr_close(&j);
	sl_counters_json(&j, "unclassified", &v->parse);
	sl_tenants_json(&j, "tenants", tv, NULL, false);
	sl_json_obj_open(&j, "http");
	sl_json_arr_open(&j, "ports");
	for (int i = 0; i < tv->http.n_ports && i < SL_MAX_HTTP_PORTS; i++)
		sl_json_u64(&j, NULL, tv->http.ports[i]);
	sl_json_arr_close(&j);
	sl_json_arr_open(&j, "groups");
	for (__u32 i = 0; i < tv->http.n_groups && i < SL_MAX_GROUPS; i++)
		sl_json_str(&j, NULL, sl_tview_group_str(tv, i, buf, sizeof(buf)));
	sl_json_arr_close(&j);
	sl_replies_json(&j, "replies", &v->http_rcfg, &v->http_rstats);
	sl_json_obj_close(&j);
	sl_json_obj_open(&j, "tables");
	sl_json_obj_open(&j, "buckets");
	sl_json_i64(&j, "used", v->buckets_used);
	sl_json_i64(&j, "max", v->buckets_max);
	sl_json_obj_close(&j);
	sl_json_obj_close(&j);
	sl_json_obj_close(&j);
	sl_json_end(&j);
}

/* One row of the replies table: a reply slot's limit and its counters that are not 0. */
static void sl_replies_row(const char *name, const char *reject, const struct sl_rcfg *rc,
			   const struct sl_rstats *rs)
{
	char b1[32], b2[32], lim[48] = "-";
	__u64 rate, burst;

	sl_reply_lim_of(&rc->lim, &rate, &burst);
	if (rate)
		snprintf(lim, sizeof(lim), "%s/s burst %s", sl_fmt_si(rate, b1, sizeof(b1)),
			 sl_fmt_si(burst, b2, sizeof(b2)));
	printf("%-20s %-8s %-18s", name, reject, lim);
	for (int i = 0; i < SL_NR_RSTATS; i++)
		if (sl_rstats_value(rs, i))
			printf(" %s=%llu", sl_rstats_name(i),
			       (unsigned long long)sl_rstats_value(rs, i));
	printf("%s\n", sl_rstats_any(rs) ? "" : " (none yet)");
}

/* Rules that answer refusals or did, and the HTTP layer (docs/reject.md). */
static void sl_replies_text(const struct sl_view *v, const struct sl_tview *tv)
{
	bool head = false;

	for (int i = 0; i <= v->n_rules; i++) {
		bool http = i == v->n_rules;
		const struct sl_view_rule *r = http ? NULL : &v->rules[i];
		const struct sl_rstats *rs = http ? &v->http_rstats : &r->rstats;

		/* The HTTP layer's row: while something answers (the flag says), or it did. */
		if (http ? !(tv->http.n_ports && (v->cfg.g[v->gen].flags & SL_GF_REJECT)) &&
				   !sl_rstats_any(rs) :
			   (r->reject == SL_OVER_DROP || r->meta.action == SL_ACT_ALLOW) &&
				   !sl_rstats_any(rs))
			continue;
		if (!head)
			printf("\n%-20s %-8s %-18s %s\n", "replies", "reject", "limit", "counters");
		head = true;
		if (http)
			sl_replies_row("(http layer)", "-", &v->http_rcfg, rs);
		else
			sl_replies_row(r->meta.name, sl_over_action_name(r->reject), &r->rcfg, rs);
	}
}

static void sl_status_text(const struct sl_view *v, const struct sl_tview *tv)
{
	const struct sl_gcfg *g = &v->cfg.g[v->gen];
	char b1[32], b2[32], b3[32], b4[32], t[32];

	printf("interfaces:\n");
	if (!v->n_attach)
		printf("  (none: `sluice attach IFACE`)\n");
	for (int i = 0; i < v->n_attach; i++) {
		const struct sl_view_attach *a = &v->attach[i];

		printf("  %-15s %s%s%-7s prog %-6u since %s%s%s%s\n", a->a.ifname,
		       sl_hook_name(a->a.hook), a->a.hook == SL_HOOK_XDP ? "/" : "",
		       a->a.hook == SL_HOOK_XDP ? sl_mode_name(a->a.mode) : "", a->a.prog_id,
		       sl_fmt_time(a->a.attached_ns, t, sizeof(t)), a->a.netns[0] ? " netns " : "",
		       a->a.netns, a->alive ? "" : "  (GONE: interface removed? `sluice detach`)");
	}
	if (g->policy_name[0])
		printf("policy: %s  hash %016llx  generation %u  applied %s%s\n", g->policy_name,
		       (unsigned long long)g->policy_hash, v->gen,
		       sl_fmt_time(g->applied_ns, t, sizeof(t)), g->dry_run ? "  DRY-RUN" : "");
	else
		printf("policy: none applied, every packet passes (`sluice policy apply FILE`)\n");
	printf("\n%-20s %-6s %12s %10s %10s %10s %10s\n", "rule", "action", "rate", "passed",
	       "dropped", "dry-run", "overflow");
	for (int i = 0; i < v->n_rules; i++) {
		const struct sl_view_rule *r = &v->rules[i];
		struct sl_counter p = sl_stats_outcome(&r->stats, SL_O_PASS);
		struct sl_counter d = sl_stats_outcome(&r->stats, SL_O_DROP);
		struct sl_counter y = sl_stats_outcome(&r->stats, SL_O_DRYRUN);
		__u64 ovf = r->stats.c[SL_R_OVERFLOW][SL_O_PASS].packets +
			    r->stats.c[SL_R_OVERFLOW][SL_O_DROP].packets;
		char rate[40];

		if (r->meta.action == SL_ACT_LIMIT)
			snprintf(rate, sizeof(rate), "%s%s/s", sl_fmt_si(r->meta.rate, b1, sizeof(b1)),
				 r->meta.flags & SL_RF_BYTES ? "B" : "p");
		else
			snprintf(rate, sizeof(rate), "-");
		printf("%-20s %-6s %12s %10s %10s %10s %10s%s\n", r->meta.name,
		       sl_action_name(r->meta.action), rate,
		       sl_fmt_si(p.packets, b1, sizeof(b1)), sl_fmt_si(d.packets, b2, sizeof(b2)),
		       sl_fmt_si(y.packets, b3, sizeof(b3)), sl_fmt_si(ovf, b4, sizeof(b4)),
		       r->meta.flags & SL_RF_DRYRUN ? "  dry-run" : "");
	}
	sl_replies_text(v, tv);
	if (tv->n) {
		printf("\n%-20s %-6s %12s %10s %10s %10s %10s %10s\n", "tenant", "plan", "rate",
		       "admitted", "dropped", "units", "bytes in", "bytes out");
		for (int i = 0; i < tv->n; i++) {
			const struct sl_tview_tenant *t = &tv->t[i];
			const struct sl_tstats *s = &t->total;
			char rate[40] = "-";

			if (t->idx != SL_TENANT_UNKNOWN)
				snprintf(rate, sizeof(rate), "%sreq/s",
					 sl_fmt_si(t->meta.rate, b1, sizeof(b1)));
			printf("%-20s %-6s %12s", t->meta.name,
			       t->idx == SL_TENANT_UNKNOWN ? "-" : t->meta.plan, rate);
			printf(" %10s %10s", sl_fmt_si(s->req_pass, b1, sizeof(b1)),
			       sl_fmt_si(s->req_drop, b2, sizeof(b2)));
			printf(" %10s %10s", sl_fmt_si(s->units, b3, sizeof(b3)),
			       sl_fmt_si(s->bytes_in, b4, sizeof(b4)));
			printf(" %10s\n", sl_fmt_si(s->bytes_out, b1, sizeof(b1)));
		}
	}
	printf("\nunclassified:");
	for (int r = 0; r < SL_NR_REASONS; r++) {
		__u64 n = v->parse.c[r][SL_O_PASS].packets + v->parse.c[r][SL_O_DROP].packets +
			  v->parse.c[r][SL_O_DRYRUN].packets;

		if (n)
			printf(" %s=%s (dropped %llu)", sl_reason_name(r), sl_fmt_si(n, b1, sizeof(b1)),
			       (unsigned long long)v->parse.c[r][SL_O_DROP].packets);
	}
	printf("\naggregate table: %ld of %ld entries (%.1f%%)\n", v->buckets_used, v->buckets_max,
	       v->buckets_max > 0 ? 100.0 * v->buckets_used / v->buckets_max : 0.0);
}

int cmd_status(const struct sl_opts *o, int argc, char **argv)
{
	struct sl_tview tv;
	struct sl_view v;
	struct sl_maps m;
	int err;

	if (sl_want_help("status", argc, argv))
		return SL_EXIT_OK;
	if (argc != 1)
		return sl_usage("status");
	if (sl_open_maps_or_explain(o, &m))
		return SL_EXIT_ERR;
	err = sl_view_read(o->pin_root, &m, &v);
	if (!err)
		err = sl_tview_read(&m, &tv);
	else
		memset(&tv, 0, sizeof(tv));
	sl_maps_close(&m);
	if (err) {
		pr_warn("cannot read sluice's state: %s\n", strerror(-err));
		sl_view_free(&v);
		sl_tview_free(&tv);
		return SL_EXIT_ERR;
	}
	if (o->json)
		sl_status_json(&v, &tv);
	else
		sl_status_text(&v, &tv);
	sl_view_free(&v);
	sl_tview_free(&tv);
	return SL_EXIT_OK;
}
