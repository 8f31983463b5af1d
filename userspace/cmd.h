/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What every subcommand gets, and the subcommand table's entries. */
#ifndef SLUICE_CMD_H
#define SLUICE_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

/* Global options, parsed by main.c before the subcommand. */
struct sl_opts {
	const char *pin_root;
	const char *netns;
	bool json;
	int verbose;
};

/* Exit codes at the command boundary. */
enum {
	SL_EXIT_OK = 0,
	SL_EXIT_ERR = 1,   /* the command failed; a message said why and what to do */
	SL_EXIT_USAGE = 2, /* bad command line */
};

struct sl_cmd {
	const char *name;
	int (*fn)(const struct sl_opts *o, int argc, char **argv);
	const char *args;    /* one-line synopsis after the name */
	const char *summary; /* one line for `sluice --help` */
};

int cmd_attach(const struct sl_opts *o, int argc, char **argv);
int cmd_detach(const struct sl_opts *o, int argc, char **argv);
int cmd_policy(const struct sl_opts *o, int argc, char **argv);
int cmd_status(const struct sl_opts *o, int argc, char **argv);
int cmd_purge(const struct sl_opts *o, int argc, char **argv);
int cmd_gc(const struct sl_opts *o, int argc, char **argv);
int cmd_tenants(const struct sl_opts *o, int argc, char **argv);
int cmd_run(const struct sl_opts *o, int argc, char **argv);
int cmd_usage(const struct sl_opts *o, int argc, char **argv);
int cmd_quota(const struct sl_opts *o, int argc, char **argv);
int cmd_top(const struct sl_opts *o, int argc, char **argv);

/* Shared by commands: print usage of `cmd` to stderr and return SL_EXIT_USAGE. */
int sl_usage(const char *cmd);
/* True when argv holds -h/--help; prints the command's usage to stdout. */
bool sl_want_help(const char *cmd, int argc, char **argv);
/* Check for root (or the capabilities we need); prints what to do. Returns 0 or -EPERM. */
int sl_need_root(void);
/* Open maps under the pin root, telling the user what to do if sluice is not set up. */
struct sl_maps;
int sl_open_maps_or_explain(const struct sl_opts *o, struct sl_maps *m);

/*
 * The tenants of a view as a JSON array under `key` (cmd_tenants.c; status uses it too).
 * rates (one per tenant of v) may be NULL; detail adds the per key id and per group rows.
 */
struct sl_json;
struct sl_tview;
struct sl_trate;
void sl_tenants_json(struct sl_json *j, const char *key, const struct sl_tview *v,
		     const struct sl_trate *rates, bool detail);
/* Rates of each tenant of `now` against an earlier read `before`, over ms milliseconds. */
void sl_trates(const struct sl_tview *before, const struct sl_tview *now, long ms,
	       struct sl_trate *out);

/*
 * The current period of quota q as `sluice usage` shows it (cmd_usage.c): units used, read live
 * from the data plane when m is not NULL and the quota's profile allows, and the limit.
 */
struct sl_rquota;
void sl_usage_current(const struct sl_maps *m, const struct sl_rquota *q, uint64_t *used,
		      uint64_t *limit);

/* The data plane's tick clock in bucket time units, never ahead of it (cmd_gc.c). */
__u64 sl_now_tick_user(void);

#endif
