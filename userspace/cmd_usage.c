// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice usage: used, remaining and reset time per tenant and quota (from the daemon's
 * checkpoint, with live counters from the data plane where they can be read).
 * sluice quota grant|reset: hand a command to the running `sluice run` through its inbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cmd.h"
#include "json.h"
#include "log.h"
#include "period.h"
#include "pins.h"
#include "policy.h"
#include "run.h"
#include "util.h"

/* One quota period as `usage` shows it. */
struct uz_row {
	const struct sl_rquota *q;
	int64_t start, end;
	uint64_t used, limit;
	bool live; /* used was read from the data plane just now */
};

/* The period of q to show: current, previous, or the one holding time `at`. */
static bool uz_pick(const struct sl_rquota *q, const char *period, int64_t at,
		    struct uz_row *row)
{
	memset(row, 0, sizeof(*row));
	row->q = q;
	if (!strcmp(period, "current") || (at >= q->start && at < q->end && at)) {
		/* A rolling window: the last duration x unit, up to the end of the current slice. */
		row->start = q->rolling ? q->end - (q->end - q->start) * 60 : q->start;
		row->end = q->end;
		row->used = q->used;
		row->limit = q->units + q->credits;
		return true;
	}
	for (uint32_t h = 0; h < q->n_hist; h++) {
		const struct sl_qhist *x = &q->hist[h];

		if ((!strcmp(period, "previous") && h == 0) || (at && at >= x->start && at < x->end)) {
			row->start = x->start;
			row->end = x->end;
			row->used = x->used;
			row->limit = x->limit;
			return true;
		}
	}
	return false;
}

static void uz_live(const struct sl_maps *m, struct uz_row *row)
{
	const struct sl_rquota *q = row->q;
	struct sl_qkey k = { .tenant = (__u16)q->tidx, .slot = q->slot };
	__u64 w;

	/* Rolling windows need the daemon's slice arithmetic: its last reading is shown. */
	if (q->profile != SL_QP_TENANT || q->rolling || row->start != q->start ||
	    bpf_map_lookup_elem(m->qcnt, &k, &w))
		return;
	if ((w >> SL_QUSED_BITS) == sl_rquota_tag(q, sl_rquota_index(q, q->start))) {
		row->used = w & SL_QUSED_MASK;
		row->live = true;
	} else if (row->used == 0) {
		row->live = true; /* nothing counted under this period's tag yet */
	}
}

void sl_usage_current(const struct sl_maps *m, const struct sl_rquota *q, uint64_t *used,
		      uint64_t *limit)
{
	struct uz_row row;

	uz_pick(q, "current", 0, &row);
	if (m)
		uz_live(m, &row);
	*used = row.used;
	*limit = row.limit;
}

static const char *uz_state_dir(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--state-dir"))
			return argv[i + 1];
	return SL_STATE_DIR_DEFAULT;
}

int cmd_usage(const struct sl_opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "tenant", required_argument, NULL, 't' },
		{ "period", required_argument, NULL, 'p' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *tenant = NULL, *period = "current", *state = SL_STATE_DIR_DEFAULT;
	struct sl_rquota *q = NULL;
	struct sl_maps m;
	bool have_maps;
	int64_t at = 0;
	int n = 0, c, err, shown = 0;
	char a[40], b[40];

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 't': tenant = optarg; break;
		case 'p': period = optarg; break;
		case 's': state = optarg; break;
		case 'h':
			printf("usage: sluice usage [--tenant T] [--period current|previous|RFC3339] [--state-dir DIR] [--json]\n"
			       "  used, remaining and reset time per tenant and quota, as `sluice run` keeps them\n");
			return SL_EXIT_OK;
		default: return sl_usage("usage");
		}
	}
	if (optind != argc)
		return sl_usage("usage");
	if (strcmp(period, "current") && strcmp(period, "previous") && sl_rfc3339_parse(period, &at)) {
		fprintf(stderr, "sluice usage: --period %s: give current, previous or an RFC3339 time (2026-11-22T10:00:00Z)\n",
			period);
		return SL_EXIT_USAGE;
	}
	err = sl_run_quotas(state, &q, &n);
	if (err) {
		if (err == -ENOENT)
			fprintf(stderr, "sluice usage: no state in %s: `sluice run --policy FILE --state-dir %s` keeps it (or give --state-dir)\n",
				state, state);
		else
			fprintf(stderr, "sluice usage: cannot read %s/checkpoint: %s\n", state,
				strerror(-err));
		return SL_EXIT_ERR;
	}
	have_maps = geteuid() == 0 && !sl_maps_open(o->pin_root, &m);

	struct sl_json j;

	if (o->json) {
		sl_json_init(&j, stdout, true);
		sl_json_obj_open(&j, NULL);
		sl_json_str(&j, "period", period);
		sl_json_arr_open(&j, "quotas");
	} else {
		printf("%-16s %-12s %-4s %-22s %-22s %12s %12s %12s\n", "TENANT", "QUOTA", "MODE",
		       "PERIOD START", "RESETS AT", "USED", "LIMIT", "REMAINING");
	}
	for (int i = 0; i < n; i++) {
		struct uz_row row;
		uint64_t rem;

		if (tenant && strcmp(q[i].tenant, tenant))
			continue;
		if (!uz_pick(&q[i], period, at, &row))
			continue;
		if (have_maps)
			uz_live(&m, &row);
		rem = row.used < row.limit ? row.limit - row.used : 0;
		shown++;
		if (o->json) {
			sl_json_obj_open(&j, NULL);
			sl_json_str(&j, "tenant", q[i].tenant);
			sl_json_str(&j, "plan", q[i].plan);
			sl_json_str(&j, "quota", q[i].quota);
			sl_json_str(&j, "mode", q[i].mode == SL_QM_HARD ? "hard" : "soft");
			sl_json_u64(&j, "duration", q[i].duration);
			sl_json_str(&j, "unit", sl_period_unit_name(q[i].unit));
			sl_json_str(&j, "period_start", sl_rfc3339(row.start, a, sizeof(a)));
			sl_json_str(&j, "period_end", sl_rfc3339(row.end, b, sizeof(b)));
			sl_json_str(&j, "resets_at", b);
			sl_json_u64(&j, "used", row.used);
			sl_json_u64(&j, "limit", row.limit);
			sl_json_u64(&j, "remaining", rem);
			sl_json_u64(&j, "credits", row.start == q[i].start ? q[i].credits : 0);
			sl_json_u64(&j, "overage",
				    q[i].mode == SL_QM_SOFT && row.used > row.limit ? row.used - row.limit : 0);
			sl_json_str(&j, "profile", q[i].profile == SL_QP_TENANT ? "tenant" :
						  q[i].profile == SL_QP_KEY ? "key" : "source");
			/* Profiles key and source: used is the most used key or source aggregate's. */
			sl_json_u64(&j, "subjects", q[i].subjects);
			sl_json_str(&j, "window", q[i].rolling ? "rolling" : "calendar");
			sl_json_bool(&j, "live", row.live);
			sl_json_obj_close(&j);
		} else {
			printf("%-16s %-12s %-4s %-22s %-22s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 "%s\n",
			       q[i].tenant, q[i].quota, q[i].mode == SL_QM_HARD ? "hard" : "soft",
			       sl_rfc3339(row.start, a, sizeof(a)), sl_rfc3339(row.end, b, sizeof(b)),
			       row.used, row.limit, rem,
			       q[i].mode == SL_QM_SOFT && row.used > row.limit ? "  (over)" : "");
		}
	}
	if (o->json) {
		sl_json_arr_close(&j);
		sl_json_obj_close(&j);
		sl_json_end(&j);
	} else if (!shown) {
		printf("(no quota%s%s%s for period %s)\n", tenant ? " of tenant \"" : "",
		       tenant ? tenant : "", tenant ? "\"" : "", period);
	}
	if (have_maps)
		sl_maps_close(&m);
	free(q);
	return SL_EXIT_OK;
}

/* Whether a `sluice run` holds the state directory's lock. */
static bool uz_daemon_running(const char *state)
{
	char path[300];
	bool running;
	int fd;

	snprintf(path, sizeof(path), "%s/lock", state);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	running = flock(fd, LOCK_SH | LOCK_NB) != 0;
	close(fd);
	return running;
}

int cmd_quota(const struct sl_opts *o, int argc, char **argv)
{
	const char *state = uz_state_dir(argc, argv);
	char cmd[256] = "", path[400], tmp[420], done[420], res[512];
	int args[4], na = 0, fd;

	if (sl_want_help("quota", argc, argv))
		return SL_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--state-dir")) {
			i++;
			continue;
		}
		if (na == 4)
			return sl_usage("quota");
		args[na++] = i;
	}
	if (na < 2 || (strcmp(argv[args[0]], "grant") && strcmp(argv[args[0]], "reset")) ||
	    (!strcmp(argv[args[0]], "grant") && (na < 3 || na > 4)) ||
	    (!strcmp(argv[args[0]], "reset") && na > 3))
		return sl_usage("quota");
	if (!strcmp(argv[args[0]], "grant")) {
		const char *a = argv[args[2]];
		char *end;
		unsigned long long v = strtoull(a, &end, 10);

		/* strtoull takes "-4" (as 2^64 - 4): digits only, and within what a quota counts. */
		if (*end || !v || strspn(a, "0123456789") != strlen(a) || v > SL_QUSED_MASK) {
			fprintf(stderr, "sluice quota grant: %s is not a number of units from 1 to %llu\n",
				argv[args[2]], (unsigned long long)SL_QUSED_MASK);
			return SL_EXIT_USAGE;
		}
	}
	for (int i = 0; i < na; i++) {
		if (strlen(argv[args[i]]) >= SL_NAME_MAX || strpbrk(argv[args[i]], " \t\n")) {
			fprintf(stderr, "sluice quota: \"%s\" is not a tenant, quota or number\n",
				argv[args[i]]);
			return SL_EXIT_USAGE;
		}
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), "%s%s", i ? " " : "",
			 argv[args[i]]);
	}
	snprintf(path, sizeof(path), "%s/%s/%llu-%d.cmd", state, SL_INBOX_DIR,
		 (unsigned long long)sl_realtime_ns(), (int)getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(done, sizeof(done), "%.*s.done", (int)(strlen(path) - 4), path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || dprintf(fd, "%s\n", cmd) < 0 || fsync(fd) || close(fd) || rename(tmp, path)) {
		fprintf(stderr, "sluice quota: cannot write to %s/%s: %s (is --state-dir the one `sluice run` uses?)\n",
			state, SL_INBOX_DIR, strerror(errno));
		unlink(tmp);
		return SL_EXIT_ERR;
	}
	if (!uz_daemon_running(state)) {
		printf("sluice run is not running on %s: \"%s\" is queued and applies when it starts\n",
		       state, cmd);
		return SL_EXIT_OK;
	}
	for (int i = 0; i < 100; i++) { /* up to 10 s */
		FILE *f = fopen(done, "r");

		if (f) {
			size_t r = fread(res, 1, sizeof(res) - 1, f);

			res[r] = 0;
			fclose(f);
			unlink(done);
			fputs(res, strncmp(res, "ok", 2) ? stderr : stdout);
			return strncmp(res, "ok", 2) ? SL_EXIT_ERR : SL_EXIT_OK;
		}
		poll(NULL, 0, 100);
	}
	fprintf(stderr, "sluice quota: sluice run did not answer within 10 s; \"%s\" stays queued in %s/%s\n",
		cmd, state, SL_INBOX_DIR);
	return SL_EXIT_ERR;
}
