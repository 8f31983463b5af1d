/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Policy files: YAML -> struct sl_policy, validated; libbpf-free so unit tests link it directly. */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "sluice_abi.h"

struct sl_cidr {
	__u8 family; /* SL_AF_INET or SL_AF_INET6 */
	__u8 len;    /* prefix length */
	__u8 addr[16];
};

/* A reply limit: RSTs and 429 responses per second, and their burst (docs/reject.md). */
struct sl_reply_lim {
	__u64 rate;  /* replies per second, > 0 */
	__u64 burst; /* replies (default: rate) */
};

struct sl_policy_rule {
	char name[SL_NAME_MAX];
	int line; /* line of the rule in the file, for messages */
	struct sl_cidr *cidrs;
	int n_cidrs;
	__u8 action;  /* enum sl_action */
	__u8 prefix4; /* aggregate prefix for IPv4 sources (default 32) */
	__u8 prefix6; /* aggregate prefix for IPv6 sources (default 64) */
	bool bytes;   /* unit: bytes (else packets) */
	bool dry_run;
	__u64 rate;      /* units per second (limit only) */
	__u64 burst;     /* units (default: rate) */
	__u64 ovf_rate;  /* overflow bucket when the aggregate table is full (default: rate) */
	__u64 ovf_burst; /* (default: burst) */
	__u8 reject;     /* enum sl_over_action: how refused packets are answered (default drop) */
	struct sl_reply_lim replies; /* (default {100, 100}); unused with reject: drop */
};

/* Which clock limit buckets run on (docs/design.md, "Clocks"). */
enum sl_clock_mode {
	SL_CLOCK_AUTO = 0,    /* tick clock where the burst spans two ticks, precise elsewhere */
	SL_CLOCK_PRECISE = 1, /* always the precise clock (~30 ns a packet more on some VMs) */
	SL_CLOCK_TICK = 2,    /* always the tick clock, even where that costs accuracy */
};

/* enum sl_over_action and the SL_MAX_* limits of the HTTP layer live in sluice_abi.h. */
#define SL_MAX_PLANS  64
#define SL_MAX_LABELS 16

struct sl_label {
	char key[SL_NAME_MAX];
	char value[128];
};

/* Request limits of a plan, and of a tenant after its overrides. */
struct sl_req_limits {
	__u64 rate;        /* requests per second, > 0 */
	__u64 burst;       /* requests (default: rate) */
	__u64 bytes_rate;  /* request bytes per second; 0: no bytes limit */
	__u64 bytes_burst; /* bytes (default: bytes_rate, at least 1514) */
	__u8 action;       /* enum sl_over_action (default drop) */
};

/* Quota periods (userspace/period.h does the calendar arithmetic). */
enum sl_period_unit {
	SL_PU_MINUTES = 0, /* on the clock: aligned to multiples of duration x 60 s since the epoch */
	SL_PU_HOURS = 1,   /* on the clock, likewise */
	SL_PU_DAYS = 2,    /* calendar: from local midnight in the policy's time zone */
	SL_PU_WEEKS = 3,   /* calendar: from Monday 00:00 local */
	SL_PU_MONTHS = 4,  /* calendar: from the 1st, 00:00 local */
	SL_NR_PERIOD_UNITS,
};

enum sl_quota_mode {
	SL_QM_HARD = 0, /* the data plane refuses the request that would pass the quota */
	SL_QM_SOFT = 1, /* admitted past the quota; the excess is recorded as overage */
};

/* Whose usage a quota counts (the "client profile"). */
enum sl_quota_profile {
	SL_QP_TENANT = 0, /* the tenant's requests, whatever key (default) */
	SL_QP_KEY = 1,    /* each API key of the tenant separately */
	SL_QP_SOURCE = 2, /* each source aggregate (prefix4/prefix6) of the tenant separately */
};

#define SL_MAX_ALERTS 8 /* thresholds per quota */

struct sl_quota {
	char name[SL_NAME_MAX];
	int line;
	struct sl_label labels[SL_MAX_LABELS];
	int n_labels;
	__u32 duration; /* >= 1, in `unit` */
	__u8 unit;      /* enum sl_period_unit */
	__u8 mode;      /* enum sl_quota_mode (default hard) */
	__u8 profile;   /* enum sl_quota_profile (default tenant) */
	__u8 prefix4, prefix6; /* profile source: aggregate prefixes (default 32, 64) */
	__u8 action;    /* enum sl_over_action of refusals (default: the plan's action) */
	bool rolling;   /* window: rolling (the last duration x unit, in 60 slices), not calendar */
	__u64 quota;    /* cost units per period (requests where no group sets a weight), > 0 */
	__u16 alert_at[SL_MAX_ALERTS]; /* percent of quota, ascending, 1..1000 */
	int n_alerts;
};

struct sl_plan {
	char name[SL_NAME_MAX];
	int line;
	struct sl_req_limits lim;
	struct sl_quota quotas[SL_MAX_QUOTAS];
	int n_quotas;
};

/* Billing usage files written by `sluice run` (docs/billing.md). */
struct sl_billing_cfg {
	__u8 unit;       /* enum sl_period_unit of one billing period (default hours) */
	__u32 duration;  /* (default 1) */
	bool csv;        /* also write CSV beside the JSON Lines (default false) */
};

struct sl_tenant {
	char name[SL_NAME_MAX];
	int line;
	int plan;                 /* index into sl_policy.plans */
	struct sl_req_limits lim; /* the plan's limits with this tenant's overrides applied */
	struct sl_label labels[SL_MAX_LABELS];
	int n_labels;
	char keys_file[512];      /* resolved path (relative paths: to the policy file's directory) */
	char **keys;              /* the keys read from keys_file, raw; never printed */
	int n_keys;
};

struct sl_group_limit {
	char name[SL_NAME_MAX];
	__u64 rate;  /* requests per second, per tenant */
	__u64 burst; /* default: rate */
};

struct sl_group {
	char name[SL_NAME_MAX];
	int line;
	__u16 port;     /* destination port; 0: any of http.ports */
	__u8 method;    /* enum sl_http_method (include/sluice_http.h); 0: any */
	char path[128]; /* path prefix; "": any */
	__u32 weight;   /* cost units per request (default 1) */
	struct sl_group_limit limits[SL_MAX_GROUP_LIMITS];
	int n_limits;
	__u8 action;    /* enum sl_over_action of its limits; SL_OVER_INHERIT: the tenant's */
};

/* Requests with no key, or a key no tenant owns: bucketed per source aggregate. */
struct sl_unknown_key {
	__u64 rate;  /* requests per second (default 1) */
	__u64 burst; /* (default 5) */
	__u8 prefix4, prefix6; /* (default 32, 64) */
	__u8 action;           /* enum sl_over_action */
};

struct sl_policy {
	char path[256];
	int version;
	char name[SL_NAME_MAX];
	bool dry_run;
	__u8 malformed;  /* enum sl_class_verdict */
	__u8 fragments;
	__u8 unknown_l3;
	__u8 clock;      /* enum sl_clock_mode */
	struct sl_policy_rule *rules;
	int n_rules;
	/* HTTP layer: absent `http` key means n_http_ports == 0 and nothing below applies. */
	__u16 http_ports[SL_MAX_HTTP_PORTS];
	int n_http_ports;
	__u32 key_headers; /* SL_HTTP_KF_* (include/sluice_http.h) */
	struct sl_reply_lim http_replies; /* shared by every refusal of the layer ({1000, 1000}) */
	struct sl_plan *plans;
	int n_plans;
	struct sl_tenant *tenants;
	int n_tenants;
	struct sl_unknown_key unknown_key;
	struct sl_group *groups;
	int n_groups;
	/* Quotas and billing (used by `sluice run`). */
	char timezone[64];          /* "UTC" (default) or an IANA zone name, e.g. Europe/Berlin */
	struct sl_billing_cfg billing;
	char alert_hook[512];       /* alerts: {hook: CMD}: run with each alert event as JSON on stdin */
	__u64 hash; /* FNV-1a 64 of the file's bytes */
};

/*
 * Parse and validate a policy file. On error returns a negative errno and writes
 * "FILE:LINE: reason" (or "FILE: reason") to err. On success *out must be freed with
 * sl_policy_free().
 */
int sl_policy_load(const char *path, struct sl_policy *out, char *err, size_t errlen);

/* Same, from a buffer; `name` stands for the file in messages. */
int sl_policy_parse(const char *name, const char *buf, size_t len, struct sl_policy *out,
		    char *err, size_t errlen);

void sl_policy_free(struct sl_policy *p);

/* Parse "a.b.c.d/n" or "v6::/n" (no length: host route). Returns 0 or -EINVAL. */
int sl_cidr_parse(const char *s, struct sl_cidr *out);

/* Format a CIDR as text. */
const char *sl_cidr_str(const struct sl_cidr *c, char *buf, size_t len);

const char *sl_action_name(__u8 action);
const char *sl_class_verdict_name(__u8 v);
/* enum sl_over_action as in policy files: "drop", "reset", "http429". */
const char *sl_over_action_name(__u8 a);
/* enum sl_http_method as in policy files ("GET", ...); "" for 0 (any method). */
const char *sl_http_method_name(__u8 m);

#endif /* SLUICE_POLICY_H */
