// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice policy check FILE | apply FILE | show */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sluice.skel.h"
#include "apply.h"
#include "cmd.h"
#include "json.h"
#include "loader.h"
#include "log.h"
#include "policy.h"
#include "reply.h"
#include "util.h"
#include "view.h"

static int sl_policy_check(const struct sl_opts *o, const char *file)
{
	char err[512];
	struct sl_policy p;

	if (sl_policy_load(file, &p, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return SL_EXIT_ERR;
	}
	if (o->json) {
		struct sl_json j;
		char h[32];

		snprintf(h, sizeof(h), "%016llx", (unsigned long long)p.hash);
		sl_json_init(&j, stdout, true);
		sl_json_obj_open(&j, NULL);
		sl_json_str(&j, "file", file);
		sl_json_bool(&j, "valid", true);
		sl_json_str(&j, "name", p.name);
		sl_json_str(&j, "hash", h);
		sl_json_u64(&j, "rules", p.n_rules);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else {
		printf("%s: ok, policy %s, %d rule(s), hash %016llx\n", file, p.name, p.n_rules,
		       (unsigned long long)p.hash);
	}
	sl_policy_free(&p);
	return SL_EXIT_OK;
}

static int sl_policy_apply(const struct sl_opts *o, const char *file)
{
	struct sl_apply_result res;
	char err[512];
	struct sl_policy p;
	struct sl_maps m;
	int lock, ret = SL_EXIT_ERR, e;

	/* Validate before touching anything: a bad file leaves the running policy in place. */
	if (sl_policy_load(file, &p, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		fprintf(stderr, "sluice: policy not applied; the running policy is unchanged\n");
		return SL_EXIT_ERR;
	}
	if (sl_need_root() || sl_kernel_check() || sl_pins_prepare(o->pin_root))
		goto out_free;
	lock = sl_lock(o->pin_root, 30);
	if (lock < 0) {
		pr_warn("cannot lock %s: %s\n", o->pin_root, strerror(-lock));
		goto out_free;
	}
	if (!sl_pins_exist(o->pin_root)) {
		/* Applying before attaching: create (and pin) the maps now. */
		struct sluice *skel;

		if (sl_load(o->pin_root, 0, -1, &skel))
			goto out_unlock;
		sl_unload(skel);
	}
	if (sl_open_maps_or_explain(o, &m))
		goto out_unlock;
	e = sl_policy_install(&m, &p, &res);
	sl_maps_close(&m);
	if (e) {
		pr_warn("cannot apply %s: %s; the running policy is unchanged\n", file,
			e == -ENOSPC ? "no free rule slot or tenant index (removed rules and "
				       "tenants free theirs on the next apply)" : strerror(-e));
		goto out_unlock;
	}
	if (o->json) {
		struct sl_json j;
		char h[32];

		snprintf(h, sizeof(h), "%016llx", (unsigned long long)p.hash);
		sl_json_init(&j, stdout, true);
		sl_json_obj_open(&j, NULL);
		sl_json_str(&j, "policy", p.name);
		sl_json_str(&j, "hash", h);
		sl_json_u64(&j, "generation", res.gen);
		sl_json_u64(&j, "rules", p.n_rules);
		sl_json_u64(&j, "kept", res.kept);
		sl_json_u64(&j, "added", res.added);
		sl_json_u64(&j, "removed", res.removed);
		sl_json_u64(&j, "buckets_cleared", res.buckets_cleared);
		sl_json_obj_open(&j, "tenants");
		sl_json_u64(&j, "count", p.n_tenants);
		sl_json_u64(&j, "kept", res.tenants_kept);
		sl_json_u64(&j, "added", res.tenants_added);
		sl_json_u64(&j, "removed", res.tenants_removed);
		sl_json_u64(&j, "keys", res.keys);
		sl_json_obj_close(&j);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else {
		printf("applied policy %s (hash %016llx): %d rule(s): %d kept, %d added, %d removed\n",
		       p.name, (unsigned long long)p.hash, p.n_rules, res.kept, res.added,
		       res.removed);
		if (p.n_tenants || res.tenants_removed)
			printf("  %d tenant(s): %d kept, %d added, %d removed; %d key(s)\n",
			       p.n_tenants, res.tenants_kept, res.tenants_added, res.tenants_removed,
			       res.keys);
	}
	ret = SL_EXIT_OK;
out_unlock:
	sl_unlock(lock);
out_free:
	sl_policy_free(&p);
	return ret;
}

static void sl_show_rule_json(struct sl_json *j, const struct sl_view_rule *r)
{
	char buf[64];

	sl_json_obj_open(j, NULL);
	sl_json_str(j, "name", r->meta.name);
	sl_json_u64(j, "slot", r->slot);
	sl_json_arr_open(j, "cidr");
	for (int c = 0; c < r->n_cidrs && c < 64; c++)
		sl_json_str(j, NULL, sl_cidr_str(&r->cidrs[c], buf, sizeof(buf)));
	sl_json_arr_close(j);
	sl_json_str(j, "action", sl_action_name(r->meta.action));
	if (r->meta.action == SL_ACT_LIMIT) {
		sl_json_obj_open(j, "prefix");
		sl_json_u64(j, "ipv4", r->meta.prefix4);
		sl_json_u64(j, "ipv6", r->meta.prefix6);
		sl_json_obj_close(j);
		sl_json_u64(j, "rate", r->meta.rate);
		sl_json_str(j, "unit", r->meta.flags & SL_RF_BYTES ? "bytes" : "packets");
		sl_json_u64(j, "burst", r->meta.burst);
		sl_json_obj_open(j, "overflow");
		sl_json_u64(j, "rate", r->meta.ovf_rate);
		sl_json_u64(j, "burst", r->meta.ovf_burst);
		sl_json_obj_close(j);
	}
	sl_json_bool(j, "dry_run", r->meta.flags & SL_RF_DRYRUN);
	sl_json_str(j, "reject", sl_over_action_name(r->reject));
	sl_replies_json(j, "replies", &r->rcfg, NULL);
	sl_json_obj_close(j);
}

static int sl_policy_show(const struct sl_opts *o)
{
	const struct sl_gcfg *g;
	struct sl_view v;
	struct sl_maps m;
	char buf[64];
	int err;

	if (sl_open_maps_or_explain(o, &m))
		return SL_EXIT_ERR;
	err = sl_view_read(o->pin_root, &m, &v);
	sl_maps_close(&m);
	if (err) {
		pr_warn("cannot read sluice's state: %s\n", strerror(-err));
		sl_view_free(&v);
		return SL_EXIT_ERR;
	}
	g = &v.cfg.g[v.gen];
	if (o->json) {
		struct sl_json j;

		sl_json_init(&j, stdout, true);
		sl_json_obj_open(&j, NULL);
		sl_json_u64(&j, "version", 1);
		sl_json_str(&j, "name", g->policy_name);
		snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)g->policy_hash);
		sl_json_str(&j, "hash", buf);
		sl_json_u64(&j, "generation", v.gen);
		sl_json_str(&j, "applied", sl_fmt_time(g->applied_ns, buf, sizeof(buf)));
		sl_json_bool(&j, "dry_run", g->dry_run);
		sl_json_str(&j, "malformed", sl_class_verdict_name(g->malformed));
		sl_json_str(&j, "fragments", sl_class_verdict_name(g->fragments));
		sl_json_str(&j, "unknown_ethertype", sl_class_verdict_name(g->unknown_l3));
		sl_json_arr_open(&j, "sources");
		for (int i = 0; i < v.n_rules; i++)
			sl_show_rule_json(&j, &v.rules[i]);
		sl_json_arr_close(&j);
		sl_json_obj_close(&j);
		sl_json_end(&j);
		sl_view_free(&v);
		return SL_EXIT_OK;
	}
	if (!g->n_rules && !g->policy_name[0]) {
		printf("no policy applied: every packet passes (`sluice policy apply FILE`)\n");
		sl_view_free(&v);
		return SL_EXIT_OK;
	}
	/* The running policy, written back in the policy file format. */
	printf("# applied %s, hash %016llx, generation %u\n",
	       sl_fmt_time(g->applied_ns, buf, sizeof(buf)), (unsigned long long)g->policy_hash,
	       v.gen);
	printf("version: 1\nname: %s\ndry_run: %s\nmalformed: %s\nfragments: %s\n"
	       "unknown_ethertype: %s\nsources:\n", g->policy_name, g->dry_run ? "true" : "false",
	       sl_class_verdict_name(g->malformed), sl_class_verdict_name(g->fragments),
	       sl_class_verdict_name(g->unknown_l3));
	for (int i = 0; i < v.n_rules; i++) {
		const struct sl_view_rule *r = &v.rules[i];
		__u64 rate, burst;

		printf("  - name: %s\n    cidr: [", r->meta.name);
		for (int c = 0; c < r->n_cidrs && c < 64; c++)
			printf("%s\"%s\"", c ? ", " : "", sl_cidr_str(&r->cidrs[c], buf, sizeof(buf)));
		printf("]\n    action: %s\n", sl_action_name(r->meta.action));
		if (r->meta.action == SL_ACT_LIMIT)
			printf("    prefix: {ipv4: %u, ipv6: %u}\n    rate: %llu\n    unit: %s\n"
			       "    burst: %llu\n    overflow: {rate: %llu, burst: %llu}\n",
			       r->meta.prefix4, r->meta.prefix6, (unsigned long long)r->meta.rate,
			       r->meta.flags & SL_RF_BYTES ? "bytes" : "packets",
			       (unsigned long long)r->meta.burst, (unsigned long long)r->meta.ovf_rate,
			       (unsigned long long)r->meta.ovf_burst);
		if (r->meta.flags & SL_RF_DRYRUN)
			printf("    dry_run: true\n");
		printf("    reject: %s\n", sl_over_action_name(r->reject));
		sl_reply_lim_of(&r->rcfg.lim, &rate, &burst);
		if (rate)
			printf("    replies: {rate: %llu, burst: %llu}\n", (unsigned long long)rate,
			       (unsigned long long)burst);
	}
	sl_view_free(&v);
	return SL_EXIT_OK;
}

int cmd_policy(const struct sl_opts *o, int argc, char **argv)
{
	if (sl_want_help("policy", argc, argv))
		return SL_EXIT_OK;
	if (argc == 3 && !strcmp(argv[1], "check"))
		return sl_policy_check(o, argv[2]);
	if (argc == 3 && !strcmp(argv[1], "apply"))
		return sl_policy_apply(o, argv[2]);
	if (argc == 2 && !strcmp(argv[1], "show"))
		return sl_policy_show(o);
	return sl_usage("policy");
}
