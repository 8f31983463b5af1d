/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Prometheus metrics of `sluice run` (docs/metrics.md): what the daemon gathers each tick as
 * plain data, its rendering in the text exposition format 0.0.4, and the HTTP endpoint
 * (libmicrohttpd, its own thread) that serves the latest rendering. No libbpf, unit-tested.
 */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include "sluice_abi.h"

/* Bucket bounds of the tick duration histogram, seconds (the +Inf bucket is implicit). */
#define SL_MHIST_BUCKETS 12

struct sl_mhist {
	uint64_t n[SL_MHIST_BUCKETS]; /* observations in (bound[i-1], bound[i]]; cumulative when shown */
	uint64_t count;
	double sum;
};

/* Add one observation of `seconds`. */
void sl_mhist_observe(struct sl_mhist *h, double seconds);

struct sl_mrule {
	char name[SL_NAME_MAX];
	uint8_t action; /* enum sl_action: its reason is shown even while it counts 0 */
	uint8_t reject; /* enum sl_over_action: its reply counters are shown unless drop */
	struct sl_slot_stats st;
	struct sl_rstats rs; /* what its replies did (docs/reject.md) */
};

/* The group column of a tenant's per-group counters for requests that matched no group. */
#define SL_MGROUP_NONE SL_MAX_GROUPS

struct sl_mtenant {
	bool on; /* a tenant of the active policy (or the unknown-key row with an HTTP layer) */
	char name[SL_NAME_MAX];
	char plan[SL_NAME_MAX];
	struct sl_tstats total; /* every key id and group, the overflow cell included */
	uint64_t group_pass[SL_MAX_GROUPS + 1], group_drop[SL_MAX_GROUPS + 1];
};

struct sl_mquota {
	char tenant[SL_NAME_MAX];
	char quota[SL_NAME_MAX];
	char plan[SL_NAME_MAX];
	uint8_t mode;    /* enum sl_quota_mode */
	uint8_t rolling; /* window: rolling */
	bool near;       /* used >= the highest alert_at below 100 % of limit (80 % if none) */
	uint64_t used, limit;
	int64_t period_end; /* unix seconds */
};

enum sl_mtable_id {
	SL_MT_BUCKETS,   /* SL_MAP_BUCKETS: source aggregates */
	SL_MT_TSTATS,    /* SL_MAP_TSTATS: tenant x group x key id counters */
	SL_MT_FLOWS,     /* SL_MAP_FLOWS: connections */
	SL_MT_QCNT,      /* SL_MAP_QCNT: quota counters */
	SL_NR_MTABLES,
};

struct sl_mtable {
	long used, max; /* entries; used < 0: not read */
};

/* Everything one rendering shows; `sluice run` fills it each tick. */
struct sl_mstate {
	struct sl_mrule rules[SL_MAX_RULES];
	int n_rules;
	struct sl_slot_stats unclassified; /* slot SL_SLOT_PARSE */
	bool http_on;                      /* the policy has an HTTP layer */
	struct sl_rstats http_replies;     /* reply slot SL_RSLOT_HTTP */
	struct sl_mtenant tenants[SL_MAX_TENANTS + 1]; /* by data plane index; then unknown key */
	char groups[SL_MAX_GROUPS][SL_NAME_MAX];       /* API group names of the active policy */
	int n_groups;
	struct sl_mquota *quotas;
	int n_quotas, cap_quotas;
	struct sl_mtable tables[SL_NR_MTABLES];
	struct sl_mhist tick;
	uint64_t ticks;
	int64_t last_write;   /* unix seconds of the last successful billing write; 0: none */
	uint64_t write_errors;
	double ckpt_age;      /* seconds since the checkpoint was last saved; < 0: never */
};

/*
 * Render s as exposition text into *text (malloc'd, NUL-terminated, *len bytes without the
 * NUL). Returns 0 or -ENOMEM.
 */
int sl_metrics_render(const struct sl_mstate *s, char **text, size_t *len);

/* Write v as a label value: backslash, double quote and newline escaped. */
void sl_metrics_label(FILE *f, const char *v);

/*
 * "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464", "[::]:9464" (numeric addresses only) into a
 * socket address. Returns 0 or -EINVAL.
 */
int sl_metrics_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/*
 * The HTTP endpoint: GET or HEAD /metrics answers the latest text given to sl_metrics_publish
 * (503 before the first one), any other path 404, any other method 405. Its thread only copies
 * that text.
 */
struct sl_metrics;

/*
 * Listen on addr (sl_metrics_parse_addr) and serve from a thread of its own. Returns 0 and
 * *out, or a negative errno (-EADDRINUSE, -EACCES, -EADDRNOTAVAIL ... from the bind).
 */
int sl_metrics_start(const char *addr, struct sl_metrics **out);
/* The port listened on (useful with port 0). */
int sl_metrics_port(const struct sl_metrics *m);
/* Hand over a rendering (malloc'd; the server owns it from now on, even on failure). */
void sl_metrics_publish(struct sl_metrics *m, char *text, size_t len);
/* Stop serving and free everything (m may be NULL). */
void sl_metrics_stop(struct sl_metrics *m);

#endif
