/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The state of `sluice run` (docs/quotas.md, docs/billing.md): what it checkpoints, and what
 * `sluice usage` and `sluice quota` read from or hand to it through the state directory.
 */
#ifndef SLUICE_RUN_H
#define SLUICE_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include "billing.h"
#include "sluice_abi.h"

#define SL_STATE_DIR_DEFAULT "/var/lib/sluice"
#define SL_CKPT_VERSION      2
#define SL_QHIST_MAX         32 /* closed periods remembered per quota */

/* Last counter values seen per (tenant name, index assignment, key id). */
struct sl_rseen {
	char tenant[SL_NAME_MAX];
	uint64_t assigned_ns; /* sl_tenmeta.assigned_ns: a new owner of the index starts at 0 */
	uint32_t key_id;
	uint32_t _pad;
	struct sl_tstats last;
};

/* One usage record of the billing files and whether it still needs writing. */
struct sl_rrec {
	struct sl_brec r;
	uint8_t changed; /* counted into since its last revision */
	uint8_t dirty;   /* this revision is not known to be in the file yet */
	uint8_t open;    /* the plan segment is still growing (until = period end so far) */
	uint8_t _pad[5];
};

/* One closed quota period. */
struct sl_qhist {
	int64_t start, end;
	uint64_t used, limit;
};

/* One quota of one tenant, as the controller runs it. */
struct sl_rquota {
	char tenant[SL_NAME_MAX];
	char quota[SL_NAME_MAX];
	char plan[SL_NAME_MAX];
	uint32_t tidx;     /* tenant index in the data plane */
	uint8_t slot;      /* index into sl_tquota.s[] */
	uint8_t unit, mode, profile;
	uint8_t reset_gen; /* bumped by `sluice quota reset`: a new tag, a fresh count */
	uint8_t live;      /* in the running policy */
	uint8_t prefix4, prefix6, action; /* profile source aggregates; refusal action */
	uint8_t rolling;   /* window: rolling; start/end are then the current slice's */
	uint8_t _pad[2];
	uint16_t n_alerts;
	uint16_t alert_at[SL_MAX_ALERTS];
	uint32_t duration;
	uint32_t fired;    /* bit i: alert_at[i] has fired this period */
	uint64_t units;    /* the quota: units per period */
	uint64_t credits;  /* granted for the current period (`sluice quota grant`) */
	int64_t start, end; /* the current period */
	uint64_t used;     /* at the last read (the most used subject for key/source profiles) */
	uint32_t subjects; /* key ids / source aggregates counted (profiles key and source) */
	/* Rolling windows (docs/quotas.md): */
	uint64_t base;         /* the count (mod 2^40) at the last reset or first configuration */
	int64_t credit_until;  /* credits count in slices starting before this time */
	int64_t cfg_slice;     /* the slice last written as current to the data plane */
	int64_t ontime_from;   /* from this slice on, every slice's start was configured in time */
	uint32_t n_hist;
	struct sl_qhist hist[SL_QHIST_MAX]; /* most recent first */
};

/* Commands that `sluice quota` leaves in STATE/inbox for the daemon. */
#define SL_INBOX_DIR "inbox"

/* The data plane tag of quota q in the period (or rolling slice) with index `index`. */
uint32_t sl_rquota_tag(const struct sl_rquota *q, int64_t index);
/* The index of the period (or rolling slice) of q holding time t. */
int64_t sl_rquota_index(const struct sl_rquota *q, int64_t t);
/* The quotas in STATE_DIR/checkpoint (malloc'd array, *n entries). Returns 0 or -errno. */
int sl_run_quotas(const char *state_dir, struct sl_rquota **q, int *n);

#endif
