/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Billing usage files, the events log and the controller's checkpoint: everything `sluice run`
 * writes to disk, libbpf-free (unit-tested directly, with I/O failures injected through
 * struct sl_io). docs/billing.md describes the files for the consumers.
 *
 * Every write is all-or-nothing: appends are one write of whole lines, and a failed or short
 * append truncates the file back to its previous length; replacements (checkpoint, finalised
 * .jsonl.gz) are written to a temporary file, fsynced, renamed over and the directory fsynced.
 * A crash leaves at worst a partial last line, which sl_jsonl_repair() cuts off at the next
 * start. Errors are returned as negative errnos; nothing is ever left half-written in place.
 */
#ifndef SLUICE_BILLING_H
#define SLUICE_BILLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "policy.h" /* struct sl_label, SL_NAME_MAX */

/* The system calls the writers use; tests replace them to inject failures (ENOSPC, EIO...). */
struct sl_io {
	int (*open)(const char *path, int flags, mode_t mode);
	ssize_t (*write)(int fd, const void *buf, size_t len);
	int (*fsync)(int fd);
	int (*ftruncate)(int fd, off_t len);
	int (*rename)(const char *from, const char *to);
	int (*close)(int fd);
};
/* The real ones. */
extern const struct sl_io sl_io_posix;

/* One usage record (one tenant x key id x billing period x plan segment). */
struct sl_brec {
	char id[17];       /* 16 hex digits, sl_brec_id() */
	uint64_t revision; /* 1, 2, ...: consumers keep the highest of each id */
	bool final;        /* the period is closed; no higher revision will follow */
	char tenant[SL_NAME_MAX];
	uint32_t key_id;   /* 8 hex digits in the files; SL_KEY_ID_OTHER: "other" */
	char plan[SL_NAME_MAX];
	struct sl_label labels[SL_MAX_LABELS]; /* the tenant's labels */
	int n_labels;
	int64_t period_start, period_end; /* Unix seconds of the billing period */
	int64_t since, until; /* the part of the period this record covers (a plan change splits) */
	uint64_t requests, requests_dropped, requests_quota; /* admitted; refused; of those, by quota */
	uint64_t units, bytes_in, bytes_out, overage;
};

/*
 * Deterministic id: the first 8 bytes of SipHash-2-4 under a fixed public key over
 * "tenant \0 key_id period_start since", as 16 hex digits. Same inputs, same id, on any host.
 */
void sl_brec_id(const char *tenant, uint32_t key_id, int64_t period_start, int64_t since,
		char out[17]);

/*
 * One record as a JSON object on one line, '\n' included. Fields: id, revision, final, tenant,
 * key_id, plan, labels (object), period_start, period_end, since, until (RFC3339 UTC),
 * requests, requests_dropped, requests_quota, units, bytes_in, bytes_out, overage. Returns the
 * length, or -ENOSPC if buf is too small (nothing usable written).
 */
int sl_brec_json(const struct sl_brec *r, char *buf, size_t len);
/* The CSV header line, and one record as a CSV line (same fields; labels as k=v;k=v, quoted). */
int sl_brec_csv_header(char *buf, size_t len);
int sl_brec_csv(const struct sl_brec *r, char *buf, size_t len);

/*
 * "DIR/usage-2026-11-22T10:00:00Z.jsonl" (ext "jsonl", "csv", "jsonl.gz") for the billing period
 * starting at period_start. Returns 0 or -ENAMETOOLONG.
 */
int sl_billing_path(char *buf, size_t len, const char *dir, int64_t period_start,
		    const char *ext);

/*
 * Append `len` bytes (whole lines) to `path`, creating it (0644), then fsync. All or nothing:
 * on any failure the file is cut back to its length before the call and a negative errno is
 * returned. If `header` is given and the file is new or empty, it is written first (CSV).
 */
int sl_append(const struct sl_io *io, const char *path, const char *header, const void *buf,
	      size_t len);

/*
 * Cut a partial last line (no trailing '\n', from a crash mid-append) off `path`. Returns the
 * bytes removed (0: the file was whole or absent) or a negative errno.
 */
long sl_jsonl_repair(const struct sl_io *io, const char *path);

/*
 * Replace `path` with `len` bytes atomically: PATH.tmp is written, fsynced, renamed over PATH,
 * and the directory fsynced. A failure leaves PATH as it was (PATH.tmp removed).
 */
int sl_replace(const struct sl_io *io, const char *path, const void *buf, size_t len);

/*
 * Compress `path` (a closed period's .jsonl) with zlib (gzip format) into `path`.gz by
 * sl_replace(), then unlink `path`. If `path` is absent and `path`.gz exists, nothing to do
 * (a finalisation that crashed after the rename): returns 0.
 */
int sl_gzip_file(const struct sl_io *io, const char *path);

/*
 * The checkpoint: an opaque blob stored with a header (magic "SLCK", format version, length,
 * CRC-32 of the payload) by sl_replace(). sl_ckpt_load() returns the payload in a malloc'd
 * buffer, -ENOENT when there is none, -EBADMSG when the header or CRC does not match (never
 * happens with sl_replace(); reported rather than trusted).
 */
int sl_ckpt_save(const struct sl_io *io, const char *path, uint32_t version, const void *buf,
		 size_t len);
int sl_ckpt_load(const char *path, uint32_t version, void **buf, size_t *len);

#endif
