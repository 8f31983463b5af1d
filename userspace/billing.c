// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Usage records to JSON/CSV lines, and the all-or-nothing file writes of billing.h. */
#define _GNU_SOURCE /* memrchr, open_memstream */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "sluice_abi.h"
#include "sluice_siphash.h"
#include "billing.h"
#include "json.h"
#include "tenants.h" /* sl_key_id_str */
#include "util.h"    /* SL_ARRAY_SIZE */

/* ---- system calls ---- */

/* open(2) is variadic; the table wants a fixed signature. */
static int sl_posix_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags, mode);
}

const struct sl_io sl_io_posix = {
	.open = sl_posix_open,
	.write = write,
	.fsync = fsync,
	.ftruncate = ftruncate,
	.rename = rename,
	.close = close,
};

/* -errno of a call that failed; an injected failure that forgot errno still reads as one. */
static int sl_neg_errno(void)
{
	return errno ? -errno : -EIO;
}

static int sl_write_all(const struct sl_io *io, int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n;

		errno = 0;
		n = io->write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sl_neg_errno();
		if (n == 0)
			return -EIO; /* no progress and no error: retrying would spin */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads are never injected: a failed read changes nothing on disk. */
static int sl_pread_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank under us */
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The whole of `path` in a malloc'd buffer (never NULL on success, even when empty). */
static int sl_read_file(const char *path, unsigned char **buf, size_t *len)
{
	unsigned char *data = NULL;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto cleanup;
	}
	data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!data) {
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = sl_pread_all(fd, data, (size_t)st.st_size, 0);
	if (!ret) {
		*buf = data;
		*len = (size_t)st.st_size;
		data = NULL;
	}
cleanup:
	free(data);
	close(fd);
	return ret;
}

/* ---- formatting ---- */

static void sl_put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t sl_get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

#define SL_RFC3339_LEN 21 /* "2026-11-22T10:00:00Z" and its NUL */

/*
 * Unix seconds as RFC3339 UTC. Not util.c's sl_fmt_time(): that one takes nanoseconds and
 * prints "-" for 0, while a billing time is any second, the epoch included. Only four-digit
 * years have the fixed-width form consumers sort by name: others are -EOVERFLOW.
 */
static int sl_fmt_rfc3339(int64_t secs, char out[SL_RFC3339_LEN])
{
	time_t t = (time_t)secs;
	struct tm tm;

	if ((int64_t)t != secs || !gmtime_r(&t, &tm) || tm.tm_year < 1000 - 1900 ||
	    tm.tm_year > 9999 - 1900)
		return -EOVERFLOW;
	if (!strftime(out, SL_RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return -EOVERFLOW;
	return 0;
}

/*
 * The id key is public on purpose: ids only have to be stable and spread, anyone must be able
 * to recompute one, and nothing secret may be needed to read old files. It is the 16 ASCII
 * bytes "sluice bill id v". The id is the 64-bit SipHash value printed as one hex number, most
 * significant digit first (not its bytes in memory order). Changing any of this renames every
 * record consumers already hold.
 */
static const unsigned char sl_brec_id_key[] = "sluice bill id v"; /* the first 16 bytes */

void sl_brec_id(const char *tenant, uint32_t key_id, int64_t period_start, int64_t since,
		char out[17])
{
	/* Tenant names are at most SL_NAME_MAX - 1 bytes (policy.c); longer ones are cut there. */
	unsigned char msg[SL_NAME_MAX + 4 + 8 + 8];
	struct sl_sipkey k = sl_sipkey_from_bytes(sl_brec_id_key);
	size_t n = strnlen(tenant, SL_NAME_MAX - 1);

	memcpy(msg, tenant, n);
	msg[n++] = '\0'; /* ends the name: no tenant's last bytes can pass for a key id */
	sl_put_le(msg + n, key_id, 4);
	sl_put_le(msg + n + 4, (uint64_t)period_start, 8);
	sl_put_le(msg + n + 12, (uint64_t)since, 8);
	snprintf(out, 17, "%016" PRIx64, (uint64_t)sl_siphash_mem(&k, msg, n + 20));
}

/*
 * The fields of a record, in file order, once for both formats: the JSON keys and the CSV
 * header cannot drift apart.
 */
enum sl_bkind { BF_STR, BF_U64, BF_BOOL, BF_KEY_ID, BF_LABELS, BF_TIME };

struct sl_bfield {
	const char *name;
	enum sl_bkind kind;
	size_t off;
};

#define BF(field, kind) { #field, kind, offsetof(struct sl_brec, field) }
static const struct sl_bfield sl_bfields[] = {
	BF(id, BF_STR),
	BF(revision, BF_U64),
	BF(final, BF_BOOL),
	BF(tenant, BF_STR),
	BF(key_id, BF_KEY_ID),
	BF(plan, BF_STR),
	BF(labels, BF_LABELS),
	BF(period_start, BF_TIME),
	BF(period_end, BF_TIME),
	BF(since, BF_TIME),
	BF(until, BF_TIME),
	BF(requests, BF_U64),
	BF(requests_dropped, BF_U64),
	BF(requests_quota, BF_U64),
	BF(units, BF_U64),
	BF(bytes_in, BF_U64),
	BF(bytes_out, BF_U64),
	BF(overage, BF_U64),
};
#undef BF

/*
 * A scalar field as text: strings point into the record, the rest is printed into tmp.
 * Returns 0 or -EOVERFLOW (a time with no RFC3339 form).
 */
static int sl_bfield_text(const struct sl_brec *r, const struct sl_bfield *f,
			  char tmp[SL_RFC3339_LEN], const char **text)
{
	const char *p = (const char *)r + f->off;
	uint32_t key_id;
	int64_t secs;
	uint64_t u;

	*text = tmp;
	switch (f->kind) {
	case BF_STR:
		*text = p;
		return 0;
	case BF_U64:
		memcpy(&u, p, sizeof(u));
		snprintf(tmp, SL_RFC3339_LEN, "%" PRIu64, u);
		return 0;
	case BF_BOOL:
		*text = *(const bool *)p ? "true" : "false";
		return 0;
	case BF_KEY_ID:
		memcpy(&key_id, p, sizeof(key_id));
		if (key_id == SL_KEY_ID_OTHER)
			*text = "other";
		else
			sl_key_id_str(key_id, tmp, SL_RFC3339_LEN);
		return 0;
	case BF_TIME:
		memcpy(&secs, p, sizeof(secs));
		return sl_fmt_rfc3339(secs, tmp);
	case BF_LABELS:
		break;
	}
	*text = "";
	return 0;
}

static int sl_brec_n_labels(const struct sl_brec *r)
{
	if (r->n_labels < 0)
		return 0;
	return r->n_labels > SL_MAX_LABELS ? SL_MAX_LABELS : r->n_labels;
}

typedef int sl_line_writer(FILE *f, const struct sl_brec *r);

/*
 * Lines are formatted into a growing memory stream and copied out only when whole, so buf
 * never holds a cut line that could be appended by mistake.
 */
static int sl_format_line(sl_line_writer *fn, const struct sl_brec *r, char *buf, size_t len)
{
	char *mem = NULL;
	size_t n = 0;
	FILE *f;
	int ret;

	f = open_memstream(&mem, &n);
	if (!f)
		return -ENOMEM;
	ret = fn(f, r);
	if (ferror(f) && !ret)
		ret = -ENOMEM;
	if (fclose(f) && !ret)
		ret = -ENOMEM;
	if (!ret && (n >= len || n > INT_MAX))
		ret = -ENOSPC;
	if (!ret) {
		memcpy(buf, mem, n + 1);
		ret = (int)n;
	} else if (len) {
		buf[0] = '\0';
	}
	free(mem);
	return ret;
}

static int sl_brec_json_write(FILE *f, const struct sl_brec *r)
{
	char tmp[SL_RFC3339_LEN];
	struct sl_json j;
	const char *text;
	size_t i;
	int ret;

	sl_json_init(&j, f, false);
	sl_json_obj_open(&j, NULL);
	for (i = 0; i < SL_ARRAY_SIZE(sl_bfields); i++) {
		const struct sl_bfield *fd = &sl_bfields[i];

		if (fd->kind == BF_LABELS) {
			sl_json_obj_open(&j, fd->name);
			for (int l = 0; l < sl_brec_n_labels(r); l++)
				sl_json_str(&j, r->labels[l].key, r->labels[l].value);
			sl_json_obj_close(&j);
			continue;
		}
		if (fd->kind == BF_U64) {
			uint64_t u;

			memcpy(&u, (const char *)r + fd->off, sizeof(u));
			sl_json_u64(&j, fd->name, u);
			continue;
		}
		if (fd->kind == BF_BOOL) {
			sl_json_bool(&j, fd->name, *(const bool *)((const char *)r + fd->off));
			continue;
		}
		/* The rest are strings: ids, hex key ids ("other"), RFC3339 times. */
		ret = sl_bfield_text(r, fd, tmp, &text);
		if (ret)
			return ret;
		sl_json_str(&j, fd->name, text);
	}
	sl_json_obj_close(&j);
	sl_json_end(&j);
	return 0;
}

int sl_brec_json(const struct sl_brec *r, char *buf, size_t len)
{
	return sl_format_line(sl_brec_json_write, r, buf, len);
}

/*
 * RFC 4180: a field with a comma, a quote or a line break is quoted, quotes doubled. ';' is
 * quoted too, so a label value holding one stands out from the k=v;k=v separators to a reader
 * (label names never contain ';' or '=', policy.c allows only [A-Za-z0-9_.-]).
 */
static void sl_csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n;")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int sl_brec_csv_write(FILE *f, const struct sl_brec *r)
{
	char labels[SL_MAX_LABELS * (sizeof(struct sl_label) + 2)];
	char tmp[SL_RFC3339_LEN];
	const char *text;
	size_t i, pos;
	int ret;

	for (i = 0; i < SL_ARRAY_SIZE(sl_bfields); i++) {
		const struct sl_bfield *fd = &sl_bfields[i];

		if (i)
			fputc(',', f);
		if (fd->kind != BF_LABELS) {
			ret = sl_bfield_text(r, fd, tmp, &text);
			if (ret)
				return ret;
			sl_csv_field(f, text);
			continue;
		}
		/* Each label is under sizeof(struct sl_label) bytes with '=' and ';': all fit. */
		labels[0] = '\0';
		pos = 0;
		for (int l = 0; l < sl_brec_n_labels(r) && pos < sizeof(labels); l++)
			pos += (size_t)snprintf(labels + pos, sizeof(labels) - pos, "%s%s=%s",
						l ? ";" : "", r->labels[l].key, r->labels[l].value);
		sl_csv_field(f, labels);
	}
	fputc('\n', f);
	return 0;
}

/* The record is unused: the header is the same for all. */
static int sl_brec_csv_header_write(FILE *f, const struct sl_brec *r)
{
	for (size_t i = 0; i < SL_ARRAY_SIZE(sl_bfields); i++)
		fprintf(f, "%s%s", i ? "," : "", sl_bfields[i].name);
	fputc('\n', f);
	return 0;
}

int sl_brec_csv_header(char *buf, size_t len)
{
	return sl_format_line(sl_brec_csv_header_write, NULL, buf, len);
}

int sl_brec_csv(const struct sl_brec *r, char *buf, size_t len)
{
	return sl_format_line(sl_brec_csv_write, r, buf, len);
}

int sl_billing_path(char *buf, size_t len, const char *dir, int64_t period_start,
		    const char *ext)
{
	char start[SL_RFC3339_LEN];
	int n, ret;

	ret = sl_fmt_rfc3339(period_start, start);
	if (ret)
		return ret;
	n = snprintf(buf, len, "%s/usage-%s.%s", dir, start, ext);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- all-or-nothing writes ---- */

/*
 * One writer per file is assumed (the daemon): the length learnt before the write is where a
 * failure cuts back to, and another appender's lines in between would be cut with ours.
 */
int sl_append(const struct sl_io *io, const char *path, const char *header, const void *buf,
	      size_t len)
{
	struct stat st;
	int fd, ret = 0;

	errno = 0;
	fd = io->open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return sl_neg_errno();
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto cleanup;
	}
	if (header && st.st_size == 0)
		ret = sl_write_all(io, fd, header, strlen(header));
	if (!ret)
		ret = sl_write_all(io, fd, buf, len);
	if (!ret) {
		errno = 0;
		if (io->fsync(fd) < 0)
			ret = sl_neg_errno();
	}
	if (ret) {
		/*
		 * Best effort: if even this fails, a later sl_jsonl_repair() still cuts a partial
		 * line, and the caller has the error to retry or stop on.
		 */
		io->ftruncate(fd, st.st_size);
	}
cleanup:
	/*
	 * close() is not an error once fsync() succeeded: the data is on disk, Linux frees the
	 * descriptor anyway, and reporting a failure would make the caller append the lines twice.
	 */
	io->close(fd);
	return ret;
}

/* Offset just past the last '\n' in [0, size), or 0; read backwards in blocks. */
static int sl_last_line_end(int fd, off_t size, off_t *end)
{
	char blk[4096];
	off_t pos = size;
	int ret;

	while (pos > 0) {
		size_t n = pos < (off_t)sizeof(blk) ? (size_t)pos : sizeof(blk);
		char *nl;

		pos -= (off_t)n;
		ret = sl_pread_all(fd, blk, n, pos);
		if (ret)
			return ret;
		nl = memrchr(blk, '\n', n);
		if (nl) {
			*end = pos + (nl - blk) + 1;
			return 0;
		}
	}
	*end = 0;
	return 0;
}

long sl_jsonl_repair(const struct sl_io *io, const char *path)
{
	struct stat st;
	off_t end;
	long ret;
	int fd;

	errno = 0;
	fd = io->open(path, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : sl_neg_errno();
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto cleanup;
	}
	ret = sl_last_line_end(fd, st.st_size, &end);
	if (ret || end == st.st_size)
		goto cleanup;
	errno = 0;
	if (io->ftruncate(fd, end) < 0 || io->fsync(fd) < 0) {
		ret = sl_neg_errno();
		goto cleanup;
	}
	ret = (long)(st.st_size - end);
cleanup:
	io->close(fd);
	return ret;
}

/* The directory entry of a rename is only durable once the directory itself is fsynced. */
static int sl_fsync_dir(const struct sl_io *io, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int fd, ret = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	errno = 0;
	fd = io->open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return sl_neg_errno();
	errno = 0;
	if (io->fsync(fd) < 0)
		ret = sl_neg_errno();
	io->close(fd);
	return ret;
}

/*
 * One exception to "PATH as it was": when only the directory fsync fails, the rename has
 * happened and PATH holds the new bytes; the error says they may not survive a crash.
 */
int sl_replace(const struct sl_io *io, const char *path, const void *buf, size_t len)
{
	char tmp[PATH_MAX];
	int fd, ret;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	errno = 0;
	fd = io->open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = sl_neg_errno();
		goto fail;
	}
	ret = sl_write_all(io, fd, buf, len);
	errno = 0;
	if (!ret && io->fsync(fd) < 0)
		ret = sl_neg_errno();
	/* Before the rename a failed close() is fatal: it may be the first report of a lost write. */
	errno = 0;
	if (io->close(fd) < 0 && !ret)
		ret = sl_neg_errno();
	errno = 0;
	if (!ret && io->rename(tmp, path) < 0)
		ret = sl_neg_errno();
	if (ret)
		goto fail;
	return sl_fsync_dir(io, path);
fail:
	unlink(tmp);
	return ret;
}

/*
 * The whole of in as one gzip member. zlib counts in 32-bit chunks (avail_in, avail_out), so
 * large buffers are fed a gigabyte at a time; the output never outgrows deflateBound().
 */
static int sl_gzip_mem(const unsigned char *in, size_t in_len, unsigned char **out,
		       size_t *out_len)
{
	const size_t chunk = 1u << 30;
	z_stream zs = { 0 };
	unsigned char *o;
	size_t cap;
	int zret;

	/* windowBits 15 + 16: the gzip wrapper, so `zcat` and every gzip reader take the file. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -ENOMEM;
	cap = deflateBound(&zs, in_len);
	o = malloc(cap);
	if (!o) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (unsigned char *)in;
	zs.next_out = o;
	do {
		size_t in_left = in_len - zs.total_in, out_left = cap - zs.total_out;

		zs.avail_in = (uInt)(in_left < chunk ? in_left : chunk);
		zs.avail_out = (uInt)(out_left < chunk ? out_left : chunk);
		zret = deflate(&zs, zs.avail_in == in_left ? Z_FINISH : Z_NO_FLUSH);
	} while (zret == Z_OK);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	if (zret != Z_STREAM_END) {
		free(o);
		return -EIO;
	}
	*out = o;
	return 0;
}

int sl_gzip_file(const struct sl_io *io, const char *path)
{
	unsigned char *in = NULL, *out = NULL;
	size_t in_len, out_len;
	char gz[PATH_MAX];
	struct stat st;
	int ret;

	if ((size_t)snprintf(gz, sizeof(gz), "%s.gz", path) >= sizeof(gz))
		return -ENAMETOOLONG;
	ret = sl_read_file(path, &in, &in_len);
	if (ret == -ENOENT)
		return stat(gz, &st) == 0 ? 0 : -ENOENT;
	if (ret)
		return ret;
	ret = sl_gzip_mem(in, in_len, &out, &out_len);
	if (!ret)
		ret = sl_replace(io, gz, out, out_len);
	/* A crash before this unlink leaves both; the next call compresses again, same bytes. */
	if (!ret && unlink(path) < 0 && errno != ENOENT)
		ret = -errno;
	free(in);
	free(out);
	return ret;
}

/*
 * Checkpoint file: a 20-byte header, all little-endian whatever the host,
 *   0 "SLCK"   4 u32 version   8 u64 payload length   16 u32 CRC-32 (zlib) of the payload
 * then the payload.
 */
#define SL_CKPT_MAGIC "SLCK"
#define SL_CKPT_HDR   20

static uint32_t sl_crc32(const void *buf, size_t len)
{
	return (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), buf, len);
}

int sl_ckpt_save(const struct sl_io *io, const char *path, uint32_t version, const void *buf,
		 size_t len)
{
	unsigned char *file;
	int ret;

	if (len > SIZE_MAX - SL_CKPT_HDR)
		return -EFBIG;
	file = malloc(SL_CKPT_HDR + len);
	if (!file)
		return -ENOMEM;
	memcpy(file, SL_CKPT_MAGIC, 4);
	sl_put_le(file + 4, version, 4);
	sl_put_le(file + 8, len, 8);
	sl_put_le(file + 16, sl_crc32(buf, len), 4);
	if (len)
		memcpy(file + SL_CKPT_HDR, buf, len);
	ret = sl_replace(io, path, file, SL_CKPT_HDR + len);
	free(file);
	return ret;
}

int sl_ckpt_load(const char *path, uint32_t version, void **buf, size_t *len)
{
	unsigned char *file;
	size_t n, plen;
	int ret;

	ret = sl_read_file(path, &file, &n);
	if (ret)
		return ret;
	if (n < SL_CKPT_HDR || memcmp(file, SL_CKPT_MAGIC, 4) ||
	    sl_get_le(file + 4, 4) != version || sl_get_le(file + 8, 8) != n - SL_CKPT_HDR) {
		free(file);
		return -EBADMSG;
	}
	plen = n - SL_CKPT_HDR;
	if (sl_get_le(file + 16, 4) != sl_crc32(file + SL_CKPT_HDR, plen)) {
		free(file);
		return -EBADMSG;
	}
	/* Hand back the file's own buffer, payload moved to its start: one allocation, one free. */
	memmove(file, file + SL_CKPT_HDR, plen);
	*buf = file;
	*len = plen;
	return 0;
}
