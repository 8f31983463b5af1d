// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluice command line: global options, then dispatch through the subcommand table. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "sluice_abi.h"
#include "cmd.h"
#include "log.h"
#include "netns.h"
#include "pins.h"

static int cmd_version(const struct sl_opts *o, int argc, char **argv);
static int cmd_help(const struct sl_opts *o, int argc, char **argv);

static const struct sl_cmd sl_cmds[] = {
	{ "attach", cmd_attach, "IFACE [--hook xdp|tc] [--mode native|skb] [--table-size N]",
	  "load the data plane and attach it to an interface" },
	{ "detach", cmd_detach, "IFACE", "remove what sluice attached to IFACE (maps stay)" },
	{ "policy", cmd_policy, "check FILE | apply FILE | show",
	  "validate, apply atomically, or show the running policy" },
	{ "status", cmd_status, "", "interfaces, policy, per-rule counters, table fill" },
	{ "tenants", cmd_tenants, "[--interval MS]",
	  "HTTP tenants: limits, request and byte counters, rates (-v: per key and group)" },
	{ "run", cmd_run, "--policy FILE [--state-dir DIR] [--billing-dir DIR] [--metrics ADDR:PORT]",
	  "the controller daemon: quotas, alerts, billing usage files (foreground)" },
	{ "usage", cmd_usage, "[--tenant T] [--period current|previous|RFC3339] [--state-dir DIR]",
	  "quota usage per tenant: used, remaining, reset time" },
	{ "quota", cmd_quota, "grant TENANT N [QUOTA] | reset TENANT [QUOTA] [--state-dir DIR]",
	  "add credits to or reset a tenant's quota (through sluice run)" },
	{ "top", cmd_top, "[--interval MS] [--count N] [--state-dir DIR]",
	  "live view: tenants, rules and the aggregates nearest their limit, with rates" },
	{ "gc", cmd_gc, "", "delete idle aggregate buckets (no state is lost)" },
	{ "purge", cmd_purge, "", "detach everything and remove all of sluice's pins" },
	{ "version", cmd_version, "", "print the version" },
	{ "help", cmd_help, "[COMMAND]", "show help" },
};

static void sl_print_help(FILE *f)
{
	fprintf(f, "usage: sluice [GLOBAL OPTIONS] COMMAND [ARGS]\n\n"
		   "sluice limits traffic per source address in XDP or TC.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(sl_cmds) / sizeof(sl_cmds[0]); i++)
		fprintf(f, "  %-8s %-56s %s\n", sl_cmds[i].name, sl_cmds[i].args,
			sl_cmds[i].summary);
	fprintf(f, "\nglobal options (anywhere on the line):\n"
		   "  --pin-root DIR  where maps and links are pinned (default %s)\n"
		   "  --netns NAME    act inside network namespace NAME (keeps the host's bpffs)\n"
		   "  --json          machine-readable output for read commands\n"
		   "  -v, -vv         more detail (libbpf and verifier messages with -vv)\n"
		   "  -h, --help      help; `sluice COMMAND --help` for one command\n"
		   "  --version       print the version\n",
		SL_PIN_ROOT_DEFAULT);
}

static const struct sl_cmd *sl_find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(sl_cmds) / sizeof(sl_cmds[0]); i++)
		if (!strcmp(sl_cmds[i].name, name))
			return &sl_cmds[i];
	return NULL;
}

int sl_usage(const char *cmd)
{
	const struct sl_cmd *c = sl_find_cmd(cmd);

	if (c)
		fprintf(stderr, "usage: sluice %s %s\n", c->name, c->args);
	return SL_EXIT_USAGE;
}

bool sl_want_help(const char *cmd, int argc, char **argv)
{
	const struct sl_cmd *c = sl_find_cmd(cmd);

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			if (c)
				printf("usage: sluice %s %s\n  %s\n", c->name, c->args, c->summary);
			return true;
		}
	}
	return false;
}

static bool sl_has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap >> 5].effective & (1u << (cap & 31));
}

/*
 * Loading sluice's networking programs needs CAP_BPF and CAP_NET_ADMIN, and CAP_PERFMON for the
 * verifier to accept packet pointer arithmetic; CAP_SYS_ADMIN stands for CAP_BPF and CAP_PERFMON
 * (and is their only form before 5.8). Root passes by having them all, not by its uid.
 */
int sl_need_root(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};
	static const struct {
		int cap;
		const char *name;
	} need[] = { { CAP_BPF, "CAP_BPF" }, { CAP_NET_ADMIN, "CAP_NET_ADMIN" },
		     { CAP_PERFMON, "CAP_PERFMON" } };
	const char *miss[3];
	char list[64] = "";
	int n = 0;

	if (syscall(SYS_capget, &hdr, d)) {
		if (geteuid() == 0)
			return 0; /* cannot tell: let the kernel decide */
		memset(d, 0, sizeof(d));
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!sl_has_cap(d, need[i].cap) &&
		    !(need[i].cap != CAP_NET_ADMIN && sl_has_cap(d, CAP_SYS_ADMIN)))
			miss[n++] = need[i].name;
	if (!n)
		return 0;
	for (int i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 !i ? "" : i == n - 1 ? " and " : ", ", miss[i]);
	pr_warn("this command needs root: %s %s missing; run as root (sudo) or grant CAP_BPF, "
		"CAP_NET_ADMIN (and CAP_PERFMON)\n", list, n > 1 ? "are" : "is");
	return -EPERM;
}

int sl_open_maps_or_explain(const struct sl_opts *o, struct sl_maps *m)
{
	int err;

	if (sl_need_root())
		return -EPERM;
	err = sl_maps_open(o->pin_root, m);
	if (err == -ENOENT)
		pr_warn("sluice is not set up under %s: run `sluice attach IFACE` (or `sluice "
			"policy apply FILE`) first, or pass the --pin-root you used\n", o->pin_root);
	else if (err)
		pr_warn("cannot open sluice's maps under %s: %s\n", o->pin_root, strerror(-err));
	return err;
}

static int cmd_version(const struct sl_opts *o, int argc, char **argv)
{
	if (sl_want_help("version", argc, argv))
		return SL_EXIT_OK;
	printf("sluice %s\n", SLUICE_VERSION);
	return SL_EXIT_OK;
}

static int cmd_help(const struct sl_opts *o, int argc, char **argv)
{
	const struct sl_cmd *c = argc > 1 ? sl_find_cmd(argv[1]) : NULL;

	if (sl_want_help("help", argc, argv))
		return SL_EXIT_OK;
	if (c)
		printf("usage: sluice %s %s\n  %s\n", c->name, c->args, c->summary);
	else
		sl_print_help(stdout);
	return SL_EXIT_OK;
}

/* Take the global options out of argv wherever they stand; returns the new argc or -1. */
static int sl_global_opts(int argc, char **argv, struct sl_opts *o, bool *help, bool *version)
{
	int out = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--pin-root") || !strcmp(a, "--netns")) {
			if (i + 1 >= argc) {
				pr_warn("%s needs a value\n", a);
				return -1;
			}
			if (a[2] == 'p')
				o->pin_root = argv[++i];
			else
				o->netns = argv[++i];
		} else if (!strncmp(a, "--pin-root=", 11)) {
			o->pin_root = a + 11;
		} else if (!strncmp(a, "--netns=", 8)) {
			o->netns = a + 8;
		} else if (!strcmp(a, "--json")) {
			o->json = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			o->verbose++;
		} else if (!strcmp(a, "-vv")) {
			o->verbose += 2;
		} else if (!strcmp(a, "--version")) {
			*version = true;
		} else if (out == 1 && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			*help = true; /* before a command: global help */
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	struct sl_opts o = { .pin_root = SL_PIN_ROOT_DEFAULT };
	bool help = false, version = false;
	const struct sl_cmd *c;
	size_t len;

	argc = sl_global_opts(argc, argv, &o, &help, &version);
	if (argc < 0)
		return SL_EXIT_USAGE;
	sl_log_set_level(o.verbose);
	sl_log_hook_libbpf();
	if (version)
		return cmd_version(&o, 0, NULL);
	if (help || argc < 2) {
		sl_print_help(help ? stdout : stderr);
		return help ? SL_EXIT_OK : SL_EXIT_USAGE;
	}
	len = strlen(o.pin_root);
	while (len > 1 && o.pin_root[len - 1] == '/') /* "dir/" and "dir" are one pin root */
		((char *)o.pin_root)[--len] = '\0';

	c = sl_find_cmd(argv[1]);
	if (!c) {
		pr_warn("unknown command '%s'; `sluice --help` lists them\n", argv[1]);
		return SL_EXIT_USAGE;
	}
	if (o.netns && sl_netns_enter(o.netns))
		return SL_EXIT_ERR;
	return c->fn(&o, argc - 1, argv + 1);
}
