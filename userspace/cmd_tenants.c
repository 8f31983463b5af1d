// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice tenants: the active policy's tenants, their limits, counters and measured rates. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "tenants.h"
#include "tview.h"
#include "util.h"

static void sl_tstats_fields_json(struct sl_json *j, const struct sl_tstats *s)
{
	sl_json_u64(j, "admitted", s->req_pass);
	sl_json_u64(j, "dropped", s->req_drop);
	sl_json_u64(j, "dry_run", s->req_dryrun);
	sl_json_u64(j, "retransmissions", s->req_retrans);
	sl_json_u64(j, "units", s->units);
	sl_json_u64(j, "bytes_in", s->bytes_in);
	sl_json_u64(j, "bytes_out", s->bytes_out);
	sl_json_u64(j, "bytes_drop", s->bytes_drop);
	sl_json_u64(j, "quota_dropped", s->req_quota);
	sl_json_u64(j, "units_over", s->units_over);
}

static void sl_tenant_json(struct sl_json *j, const struct sl_tview *v, const struct sl_tview_tenant *t,
		    const struct sl_trate *r, bool detail)
{
	char buf[64];

	sl_json_obj_open(j, NULL);
	sl_json_str(j, "name", t->meta.name);
	if (t->idx == SL_TENANT_UNKNOWN) {
		sl_json_null(j, "plan");
	} else {
		sl_json_str(j, "plan", t->meta.plan);
		sl_json_u64(j, "rate", t->meta.rate);
		sl_json_u64(j, "burst", t->meta.burst);
		sl_json_u64(j, "bytes_rate", t->meta.bytes_rate);
		sl_json_u64(j, "bytes_burst", t->meta.bytes_burst);
		sl_json_u64(j, "n_keys", t->meta.n_keys);
	}
	sl_json_str(j, "action", sl_over_action_name(t->meta.action));
	sl_tstats_fields_json(j, &t->total);
	if (r) {
		sl_json_u64(j, "admitted_per_s", (uint64_t)(r->pass + 0.5));
		sl_json_u64(j, "dropped_per_s", (uint64_t)(r->drop + 0.5));
	}
	if (detail) {
		sl_json_arr_open(j, "keys");
		for (int i = 0; i < t->n_keys; i++) {
			sl_json_obj_open(j, NULL);
			if (t->keys[i].id || t->idx != SL_TENANT_UNKNOWN)
				sl_json_str(j, "key_id", sl_key_id_str(t->keys[i].id, buf, sizeof(buf)));
			else
				sl_json_null(j, "key_id");
			sl_tstats_fields_json(j, &t->keys[i].st);
			sl_json_obj_close(j);
		}
		sl_json_arr_close(j);
		sl_json_arr_open(j, "groups");
		for (int i = 0; i < t->n_groups; i++) {
			sl_json_obj_open(j, NULL);
			sl_json_str(j, "group", sl_tview_group_str(v, t->groups[i].id, buf, sizeof(buf)));
			sl_tstats_fields_json(j, &t->groups[i].st);
			sl_json_obj_close(j);
		}
		sl_json_arr_close(j);
	}
	sl_json_obj_close(j);
}

static void sl_tstats_row_text(const char *indent, const char *name, const struct sl_tstats *s)
{
	char b[8][32];

	printf("%s%-*s %10s %10s %8s %8s %10s %10s %10s %10s\n", indent, (int)(24 - strlen(indent)),
	       name, sl_fmt_si(s->req_pass, b[0], 32), sl_fmt_si(s->req_drop, b[1], 32),
	       sl_fmt_si(s->req_dryrun, b[2], 32), sl_fmt_si(s->req_retrans, b[3], 32),
	       sl_fmt_si(s->units, b[4], 32), sl_fmt_si(s->bytes_in, b[5], 32),
	       sl_fmt_si(s->bytes_out, b[6], 32), sl_fmt_si(s->bytes_drop, b[7], 32));
}

static void sl_tenants_text(const struct sl_tview *v, const struct sl_trate *rates, bool detail)
{
	char b[6][32];

	if (!v->http.n_ports)
		printf("no HTTP layer in the active policy (`http:` in the policy file)\n");
	printf("%-24s %-10s %10s %10s %10s %-7s %6s", "tenant", "plan", "rate", "burst",
	       "bytes/s", "action", "keys");
	if (rates)
		printf(" %10s %10s", "admit/s", "drop/s");
	printf("\n");
	printf("%-24s %10s %10s %8s %8s %10s %10s %10s %10s\n", "", "admitted", "dropped",
	       "dry-run", "retrans", "units", "bytes in", "bytes out", "bytes drop");
	for (int i = 0; i < v->n; i++) {
		const struct sl_tview_tenant *t = &v->t[i];
		bool unk = t->idx == SL_TENANT_UNKNOWN;

		printf("%-24s %-10s %10s %10s %10s %-7s %6s", t->meta.name, unk ? "-" : t->meta.plan,
		       unk ? "-" : sl_fmt_si(t->meta.rate, b[0], 32),
		       unk ? "-" : sl_fmt_si(t->meta.burst, b[1], 32),
		       t->meta.bytes_rate ? sl_fmt_si(t->meta.bytes_rate, b[2], 32) : "-",
		       sl_over_action_name(t->meta.action),
		       unk ? "-" : sl_fmt_si(t->meta.n_keys, b[3], 32));
		if (rates)
			printf(" %10s %10s", sl_fmt_si(rates[i].pass, b[4], 32),
			       sl_fmt_si(rates[i].drop, b[5], 32));
		printf("\n");
		sl_tstats_row_text("", "", &t->total);
		for (int k = 0; detail && k < t->n_keys; k++) {
			char id[32] = "key (none)";

			if (t->keys[k].id || !unk)
				snprintf(id, sizeof(id), "key %s",
					 sl_key_id_str(t->keys[k].id, b[0], 32));
			sl_tstats_row_text("  ", id, &t->keys[k].st);
		}
		for (int g = 0; detail && g < t->n_groups; g++)
			sl_tstats_row_text("  ", sl_tview_group_str(v, t->groups[g].id, b[0], 32),
					   &t->groups[g].st);
	}
}

void sl_tenants_json(struct sl_json *j, const char *key, const struct sl_tview *v,
		     const struct sl_trate *rates, bool detail)
{
	sl_json_arr_open(j, key);
	for (int i = 0; i < v->n; i++)
		sl_tenant_json(j, v, &v->t[i], rates ? &rates[i] : NULL, detail);
	sl_json_arr_close(j);
}

void sl_trates(const struct sl_tview *before, const struct sl_tview *now, long ms,
	       struct sl_trate *out)
{
	for (int i = 0; i < now->n; i++) {
		const struct sl_tview_tenant *b = sl_tview_find(before, now->t[i].idx);
		const struct sl_tstats *s = &now->t[i].total;

		out[i].pass = b ? (double)(s->req_pass - b->total.req_pass) * 1000.0 / ms : 0;
		out[i].drop = b ? (double)(s->req_drop - b->total.req_drop) * 1000.0 / ms : 0;
	}
}

int cmd_tenants(const struct sl_opts *o, int argc, char **argv)
{
	struct sl_tview before = {}, now = {};
	struct sl_trate *rates = NULL;
	long interval = 1000;
	struct sl_maps m;
	int err, ret = SL_EXIT_ERR;

	if (sl_want_help("tenants", argc, argv))
		return SL_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "--interval") && i + 1 < argc) {
			interval = strtol(argv[++i], &end, 10);
			if (*end || interval < 0 || interval > 3600000) {
				pr_warn("--interval wants milliseconds, 0 to 3600000 (0: no rates)\n");
				return SL_EXIT_USAGE;
			}
		} else {
			return sl_usage("tenants");
		}
	}
	if (sl_open_maps_or_explain(o, &m))
		return SL_EXIT_ERR;
	if (interval > 0) {
		if ((err = sl_tview_read(&m, &before)))
			goto fail;
		usleep(interval * 1000);
	}
	if ((err = sl_tview_read(&m, &now)))
		goto fail;
	if (interval > 0) {
		rates = calloc(now.n ? now.n : 1, sizeof(*rates));
		if (!rates) {
			err = -ENOMEM;
			goto fail;
		}
		sl_trates(&before, &now, interval, rates);
	}
	if (o->json) {
		struct sl_json j;

		sl_json_init(&j, stdout, true);
		sl_tenants_json(&j, NULL, &now, rates, true);
		sl_json_end(&j);
	} else {
		sl_tenants_text(&now, rates, o->verbose > 0);
	}
	ret = SL_EXIT_OK;
	goto out;
fail:
	pr_warn("cannot read the tenant counters: %s\n", strerror(-err));
out:
	free(rates);
	sl_tview_free(&before);
	sl_tview_free(&now);
	sl_maps_close(&m);
	return ret;
}
