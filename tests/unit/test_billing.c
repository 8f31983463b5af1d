// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of userspace/billing.c: record ids and lines, and writes that fail part-way. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "sluice_abi.h"
#include "billing.h"

/* ---- a private directory per test, removed by the fini hook even when an assert fails ---- */

static char bt_dir[64];

static void bt_setup(void)
{
	strcpy(bt_dir, "/tmp/sluice-billing-XXXXXX");
	cr_assert_not_null(mkdtemp(bt_dir), "mkdtemp: %s", strerror(errno));
}

static int bt_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void bt_teardown(void)
{
	nftw(bt_dir, bt_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* DIR/name; each call has its own buffer slot so two paths can be live at once. */
static const char *bt_path(const char *name)
{
	static char slots[4][128];
	static int next;
	char *p = slots[next++ % 4];

	snprintf(p, sizeof(slots[0]), "%s/%s", bt_dir, name);
	return p;
}

static void bt_put(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* The file's bytes, NUL-terminated, malloc'd; NULL if it does not exist. */
static char *bt_get(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = fopen(path, "r"), *m;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &n);
	cr_assert_not_null(m);
	for (int c; (c = fgetc(f)) != EOF;)
		fputc(c, m);
	fclose(f);
	fclose(m);
	if (len)
		*len = n;
	return buf;
}

static void bt_expect_file(const char *path, const char *want)
{
	char *got = bt_get(path, NULL);

	cr_assert_not_null(got, "%s is missing", path);
	cr_expect_str_eq(got, want, "%s", path);
	free(got);
}

static bool bt_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* ---- injected system calls ---- */

static int bt_writes; /* calls of the injected write() so far */

/* The first call writes half and reports it; the disk is full from then on. */
static ssize_t bt_write_short_enospc(int fd, const void *buf, size_t len)
{
	if (bt_writes++ == 0 && len > 1)
		return write(fd, buf, len / 2);
	errno = ENOSPC;
	return -1;
}

static ssize_t bt_write_eintr_once(int fd, const void *buf, size_t len)
{
	if (bt_writes++ == 0) {
		errno = EINTR;
		return -1;
	}
	return write(fd, buf, len);
}

static ssize_t bt_write_eio(int fd, const void *buf, size_t len)
{
	errno = EIO;
	return -1;
}

static int bt_fsync_eio(int fd)
{
	errno = EIO;
	return -1;
}

static int bt_rename_exdev(const char *from, const char *to)
{
	errno = EXDEV;
	return -1;
}

/* ---- a sample record ---- */

#define T_START 1795341600 /* 2026-11-22T10:00:00Z */

static void bt_sample(struct sl_brec *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->tenant, "acme");
	r->key_id = 0x1a2b3c4d;
	strcpy(r->plan, "pro");
	strcpy(r->labels[0].key, "team");
	strcpy(r->labels[0].value, "ml");
	strcpy(r->labels[1].key, "cost_center");
	strcpy(r->labels[1].value, "4711");
	r->n_labels = 2;
	r->revision = 3;
	r->period_start = T_START;
	r->period_end = T_START + 3600;
	r->since = T_START;
	r->until = T_START + 1800;
	r->requests = 1000;
	r->requests_dropped = 25;
	r->requests_quota = 5;
	r->units = 1200;
	r->bytes_in = 123456;
	r->bytes_out = 654321;
	sl_brec_id(r->tenant, r->key_id, r->period_start, r->since, r->id);
}

/* ---- ids ---- */

Test(billing, id_is_stable_and_depends_on_every_input)
{
	char a[17], b[17];

	/*
	 * Pinned: ids name records consumers already hold, so they may never change. The values
	 * were recomputed with an independent Python SipHash-2-4 (checked against the paper's
	 * n = 15 vector) over the bytes billing.h documents.
	 */
	sl_brec_id("acme", 0x1a2b3c4d, T_START, T_START, a);
	cr_expect_str_eq(a, "e460096905b565ab");
	sl_brec_id("acme", SL_KEY_ID_OTHER, T_START, T_START + 3600, a);
	cr_expect_str_eq(a, "0ad8f969d437706d");

	sl_brec_id("acme", 7, T_START, T_START + 60, a);
	sl_brec_id("acme", 7, T_START, T_START + 60, b);
	cr_expect_str_eq(a, b, "same inputs, different ids");
	cr_expect_eq(strspn(a, "0123456789abcdef"), 16, "not 16 lowercase hex digits: %s", a);

	sl_brec_id("acmf", 7, T_START, T_START + 60, b);
	cr_expect_str_neq(a, b, "tenant ignored");
	sl_brec_id("acme", 8, T_START, T_START + 60, b);
	cr_expect_str_neq(a, b, "key_id ignored");
	sl_brec_id("acme", 7, T_START + 1, T_START + 60, b);
	cr_expect_str_neq(a, b, "period_start ignored");
	sl_brec_id("acme", 7, T_START, T_START + 61, b);
	cr_expect_str_neq(a, b, "since ignored");
}

/* ---- JSON ---- */

struct bt_member {
	char key[32];
	const char *val; /* into the parsed text */
	int val_len;
};

/* Past one JSON string starting at its quote, or NULL. */
static const char *bt_skip_str(const char *s)
{
	for (s++; *s && *s != '"'; s++) {
		if ((unsigned char)*s < 0x20)
			return NULL; /* raw control characters are not JSON */
		if (*s == '\\' && !*++s)
			return NULL;
	}
	return *s ? s + 1 : NULL;
}

/* Past one value: string, nested object or bare word (number, true, false). */
static const char *bt_skip_val(const char *s)
{
	int depth = 0;

	if (*s == '"')
		return bt_skip_str(s);
	if (*s != '{')
		return s + strcspn(s, ",}");
	do {
		if (*s == '"') {
			s = bt_skip_str(s);
			if (!s)
				return NULL;
			continue;
		}
		if (*s == '{')
			depth++;
		else if (*s == '}')
			depth--;
		else if (!*s)
			return NULL;
		s++;
	} while (depth);
	return s;
}

/*
 * The members of a one-line JSON object {"k":v,...}\n, the form sl_brec_json() writes (no
 * white space). Enough of a parser to show the line reads back; returns the count or -1.
 */
static int bt_json_members(const char *s, struct bt_member *m, int max)
{
	int n = 0;

	if (*s++ != '{')
		return -1;
	while (*s != '}') {
		const char *k = s, *end;

		if (n == max || *k != '"')
			return -1;
		end = bt_skip_str(k);
		if (!end || end[0] != ':' || end - k - 2 >= (int)sizeof(m[n].key))
			return -1;
		snprintf(m[n].key, sizeof(m[n].key), "%.*s", (int)(end - k - 2), k + 1);
		m[n].val = end + 1;
		s = bt_skip_val(end + 1);
		if (!s)
			return -1;
		m[n].val_len = (int)(s - m[n].val);
		n++;
		if (*s == ',')
			s++;
		else if (*s != '}')
			return -1;
	}
	return strcmp(s, "}\n") ? -1 : n;
}

static const char *const bt_fields[] = {
	"id", "revision", "final", "tenant", "key_id", "plan", "labels", "period_start",
	"period_end", "since", "until", "requests", "requests_dropped", "requests_quota", "units",
	"bytes_in", "bytes_out", "overage",
};

#define BT_NFIELDS ((int)(sizeof(bt_fields) / sizeof(bt_fields[0])))

static const char bt_sample_json[] =
	"{\"id\":\"e460096905b565ab\",\"revision\":3,\"final\":false,\"tenant\":\"acme\","
	"\"key_id\":\"1a2b3c4d\",\"plan\":\"pro\",\"labels\":{\"team\":\"ml\",\"cost_center\":\"4711\"},"
	"\"period_start\":\"2026-11-22T10:00:00Z\",\"period_end\":\"2026-11-22T11:00:00Z\","
	"\"since\":\"2026-11-22T10:00:00Z\",\"until\":\"2026-11-22T10:30:00Z\","
	"\"requests\":1000,\"requests_dropped\":25,\"requests_quota\":5,\"units\":1200,"
	"\"bytes_in\":123456,\"bytes_out\":654321,\"overage\":0}\n";

Test(billing, json_line_exact_and_reads_back)
{
	struct bt_member m[BT_NFIELDS + 1];
	struct sl_brec r;
	char buf[1024];
	int n, i;

	bt_sample(&r);
	n = sl_brec_json(&r, buf, sizeof(buf));
	cr_assert_eq(n, (int)strlen(bt_sample_json), "%d: %s", n, buf);
	cr_assert_str_eq(buf, bt_sample_json);

	cr_assert_eq(bt_json_members(buf, m, BT_NFIELDS + 1), BT_NFIELDS, "does not parse: %s", buf);
	for (i = 0; i < BT_NFIELDS; i++)
		cr_expect_str_eq(m[i].key, bt_fields[i], "member %d", i);
	cr_expect(!strncmp(m[4].val, "\"1a2b3c4d\"", m[4].val_len));
	cr_expect(!strncmp(m[11].val, "1000", m[11].val_len));

	/* Too small by the NUL: refused, nothing usable left behind. */
	cr_expect_eq(sl_brec_json(&r, buf, (size_t)n), -ENOSPC);
	cr_expect_str_eq(buf, "");
	cr_expect_eq(sl_brec_json(&r, buf, (size_t)n + 1), n);

	r.key_id = SL_KEY_ID_OTHER;
	r.final = true;
	r.n_labels = 0;
	cr_assert_gt(sl_brec_json(&r, buf, sizeof(buf)), 0);
	cr_expect(strstr(buf, "\"final\":true,") && strstr(buf, "\"key_id\":\"other\",") &&
			  strstr(buf, "\"labels\":{},"),
		  "%s", buf);
}

Test(billing, json_escapes_label_text)
{
	struct bt_member m[BT_NFIELDS + 1];
	struct sl_brec r;
	char buf[1024];

	bt_sample(&r);
	strcpy(r.labels[0].key, "note");
	strcpy(r.labels[0].value, "say \"hi\"\nto a\\b\x01");
	r.n_labels = 1;
	cr_assert_gt(sl_brec_json(&r, buf, sizeof(buf)), 0);
	cr_expect(strstr(buf, "\"labels\":{\"note\":\"say \\\"hi\\\"\\nto a\\\\b\\u0001\"},"),
		  "%s", buf);
	cr_expect_eq(bt_json_members(buf, m, BT_NFIELDS + 1), BT_NFIELDS, "does not parse: %s", buf);
	cr_expect_eq(strchr(buf, '\n'), buf + strlen(buf) - 1, "more than one line: %s", buf);
}

Test(billing, json_time_out_of_range)
{
	struct sl_brec r;
	char buf[1024];

	bt_sample(&r);
	r.until = 300000000000LL; /* year ~11476: no four-digit RFC3339 form */
	cr_expect_eq(sl_brec_json(&r, buf, sizeof(buf)), -EOVERFLOW);
}

/* ---- CSV and paths ---- */

Test(billing, csv_header_and_quoting)
{
	struct sl_brec r;
	char buf[1024];
	int n;

	n = sl_brec_csv_header(buf, sizeof(buf));
	cr_assert_str_eq(buf, "id,revision,final,tenant,key_id,plan,labels,period_start,period_end,"
			      "since,until,requests,requests_dropped,requests_quota,units,bytes_in,"
			      "bytes_out,overage\n");
	cr_expect_eq(n, (int)strlen(buf));
	cr_expect_eq(sl_brec_csv_header(buf, 10), -ENOSPC);

	bt_sample(&r);
	r.n_labels = 1;
	cr_assert_gt(sl_brec_csv(&r, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "e460096905b565ab,3,false,acme,1a2b3c4d,pro,team=ml,"
			      "2026-11-22T10:00:00Z,2026-11-22T11:00:00Z,2026-11-22T10:00:00Z,"
			      "2026-11-22T10:30:00Z,1000,25,5,1200,123456,654321,0\n");

	/* Commas, quotes and ';' in values quote the field, quotes doubled (RFC 4180). */
	strcpy(r.labels[0].value, "ml, research");
	strcpy(r.labels[1].key, "said");
	strcpy(r.labels[1].value, "he said \"x\"");
	strcpy(r.labels[2].key, "semi");
	strcpy(r.labels[2].value, "a;b");
	r.n_labels = 3;
	r.key_id = SL_KEY_ID_OTHER;
	cr_assert_gt(sl_brec_csv(&r, buf, sizeof(buf)), 0);
	cr_expect(strstr(buf, ",acme,other,pro,\"team=ml, research;said=he said \"\"x\"\";semi=a;b\","
			      "2026-11-22T10:00:00Z,"),
		  "%s", buf);

	strcpy(r.labels[0].value, "two\nlines");
	r.n_labels = 1;
	cr_assert_gt(sl_brec_csv(&r, buf, sizeof(buf)), 0);
	cr_expect(strstr(buf, ",\"team=two\nlines\","), "%s", buf);
	cr_expect_eq(sl_brec_csv(&r, buf, 20), -ENOSPC);
}

Test(billing, path_names_the_period)
{
	char buf[64];

	cr_assert_eq(sl_billing_path(buf, sizeof(buf), "/var/lib/sluice", T_START, "jsonl.gz"), 0);
	cr_expect_str_eq(buf, "/var/lib/sluice/usage-2026-11-22T10:00:00Z.jsonl.gz");
	cr_expect_eq(sl_billing_path(buf, 40, "/var/lib/sluice", T_START, "csv"), -ENAMETOOLONG);
}

/* ---- appends ---- */

Test(billing, append_short_write_then_enospc_cuts_back, .init = bt_setup, .fini = bt_teardown)
{
	const char *p = bt_path("usage.jsonl");
	struct sl_io io = sl_io_posix;

	cr_assert_eq(sl_append(&sl_io_posix, p, NULL, "line 1\n", 7), 0);
	io.write = bt_write_short_enospc;
	cr_expect_eq(sl_append(&io, p, NULL, "line 2\nline 3\n", 14), -ENOSPC);
	cr_expect_eq(bt_writes, 2, "the short write was not retried");
	bt_expect_file(p, "line 1\n");

	/* The retry goes through whole, an interrupted write() on the way included. */
	bt_writes = 0;
	io.write = bt_write_eintr_once;
	cr_assert_eq(sl_append(&io, p, NULL, "line 2\nline 3\n", 14), 0);
	cr_expect_eq(bt_writes, 2, "EINTR was not retried");
	bt_expect_file(p, "line 1\nline 2\nline 3\n");
}

Test(billing, append_fsync_failure_cuts_back, .init = bt_setup, .fini = bt_teardown)
{
	const char *p = bt_path("usage.csv");
	struct sl_io io = sl_io_posix;

	/* On a new file the header goes too: the next append must write it again. */
	io.fsync = bt_fsync_eio;
	cr_expect_eq(sl_append(&io, p, "h\n", "a\n", 2), -EIO);
	bt_expect_file(p, "");

	cr_assert_eq(sl_append(&sl_io_posix, p, "h\n", "a\n", 2), 0);
	cr_expect_eq(sl_append(&io, p, "h\n", "b\n", 2), -EIO);
	bt_expect_file(p, "h\na\n");
	cr_assert_eq(sl_append(&sl_io_posix, p, "h\n", "c\n", 2), 0);
	bt_expect_file(p, "h\na\nc\n");
}

/* ---- repair ---- */

Test(billing, repair_cuts_partial_last_line, .init = bt_setup, .fini = bt_teardown)
{
	const char *p = bt_path("usage.jsonl");

	bt_put(p, "{\"a\":1}\n{\"b\":2}\n{\"c\":", 21);
	cr_expect_eq(sl_jsonl_repair(&sl_io_posix, p), 5);
	bt_expect_file(p, "{\"a\":1}\n{\"b\":2}\n");
	cr_expect_eq(sl_jsonl_repair(&sl_io_posix, p), 0, "a whole file changed");
	bt_expect_file(p, "{\"a\":1}\n{\"b\":2}\n");

	bt_put(p, "no newline at all", 17);
	cr_expect_eq(sl_jsonl_repair(&sl_io_posix, p), 17);
	bt_expect_file(p, "");
	cr_expect_eq(sl_jsonl_repair(&sl_io_posix, p), 0, "empty file");
	cr_expect_eq(sl_jsonl_repair(&sl_io_posix, bt_path("absent.jsonl")), 0);
}

Test(billing, repair_finds_newline_blocks_back, .init = bt_setup, .fini = bt_teardown)
{
	const char *p = bt_path("usage.jsonl");
	size_t tail = 10000, len;
	char *data = malloc(tail + 2), *got;

	/* A partial line longer than the backward read block. */
	data[0] = 'x';
	data[1] = '\n';
	memset(data + 2, 'y', tail);
	bt_put(p, data, tail + 2);
	cr_expect_eq(sl_jsonl_repair(&sl_io_posix, p), (long)tail);
	got = bt_get(p, &len);
	cr_expect(len == 2 && !memcmp(got, "x\n", 2));
	free(got);
	free(data);
}

/* ---- replace ---- */

Test(billing, replace_failure_leaves_old_file, .init = bt_setup, .fini = bt_teardown)
{
	const char *p = bt_path("ckpt"), *tmp = bt_path("ckpt.tmp");
	struct sl_io io[3] = { sl_io_posix, sl_io_posix, sl_io_posix };
	const int want[3] = { -EXDEV, -EIO, 0 };

	io[0].rename = bt_rename_exdev;
	io[1].write = bt_write_eio;
	bt_put(p, "old", 3);
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(sl_replace(&io[i], p, "new", 3), want[i], "case %d", i);
		bt_expect_file(p, want[i] ? "old" : "new");
		cr_expect_not(bt_exists(tmp), "case %d: %s left behind", i, tmp);
	}
}

/* ---- gzip ---- */

/* gunzip of a whole file; the bytes malloc'd. */
static unsigned char *bt_gunzip(const char *path, size_t *out_len)
{
	size_t in_len, cap = 1 << 20;
	unsigned char *in = (unsigned char *)bt_get(path, &in_len), *out = malloc(cap);
	z_stream zs = { 0 };

	cr_assert_not_null(in, "%s is missing", path);
	cr_assert_eq(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = in;
	zs.avail_in = (uInt)in_len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	cr_assert_eq(inflate(&zs, Z_FINISH), Z_STREAM_END, "not one whole gzip member");
	cr_expect_eq(zs.avail_in, 0, "bytes after the gzip member");
	*out_len = zs.total_out;
	inflateEnd(&zs);
	free(in);
	return out;
}

Test(billing, gzip_round_trip, .init = bt_setup, .fini = bt_teardown)
{
	const char *p = bt_path("usage.jsonl"), *gz = bt_path("usage.jsonl.gz");
	size_t len = 0, got_len;
	char *data = malloc(200000);
	unsigned char *got;

	while (len < 190000)
		len += (size_t)sprintf(data + len, "{\"n\":%zu,\"tenant\":\"t%zu\"}\n", len,
				       len % 97);
	bt_put(p, data, len);
	cr_assert_eq(sl_gzip_file(&sl_io_posix, p), 0);
	cr_expect_not(bt_exists(p), "%s still there", p);
	cr_expect_not(bt_exists(bt_path("usage.jsonl.gz.tmp")), "tmp left behind");
	got = bt_gunzip(gz, &got_len);
	cr_expect_eq(got_len, len);
	cr_expect(!memcmp(got, data, len), "decompressed bytes differ");
	free(got);

	/* A finalisation that crashed after the rename: nothing left to do. */
	cr_expect_eq(sl_gzip_file(&sl_io_posix, p), 0);
	got = bt_gunzip(gz, &got_len);
	cr_expect_eq(got_len, len, "the .gz was touched");
	free(got);

	cr_expect_eq(sl_gzip_file(&sl_io_posix, bt_path("none.jsonl")), -ENOENT);

	bt_put(p, "", 0);
	cr_assert_eq(sl_gzip_file(&sl_io_posix, p), 0);
	got = bt_gunzip(gz, &got_len);
	cr_expect_eq(got_len, 0);
	free(got);
	free(data);
}

Test(billing, gzip_failure_keeps_source, .init = bt_setup, .fini = bt_teardown)
{
	const char *p = bt_path("usage.jsonl");
	struct sl_io io = sl_io_posix;

	bt_put(p, "a\n", 2);
	io.fsync = bt_fsync_eio;
	cr_expect_eq(sl_gzip_file(&io, p), -EIO);
	bt_expect_file(p, "a\n");
	cr_expect_not(bt_exists(bt_path("usage.jsonl.gz")));
	cr_expect_not(bt_exists(bt_path("usage.jsonl.gz.tmp")));
}

/* ---- checkpoint ---- */

Test(billing, checkpoint_round_trip_and_damage, .init = bt_setup, .fini = bt_teardown)
{
	const char *p = bt_path("checkpoint");
	const char payload[] = "counters of every tenant";
	size_t plen = sizeof(payload), len;
	char *file;
	void *buf;

	cr_expect_eq(sl_ckpt_load(p, 1, &buf, &len), -ENOENT);

	cr_assert_eq(sl_ckpt_save(&sl_io_posix, p, 1, payload, plen), 0);
	cr_assert_eq(sl_ckpt_load(p, 1, &buf, &len), 0);
	cr_expect_eq(len, plen);
	cr_expect(!memcmp(buf, payload, plen));
	free(buf);

	file = bt_get(p, &len);
	cr_assert_eq(len, 20 + plen, "header is 20 bytes");
	cr_expect(!memcmp(file, "SLCK\x01\0\0\0", 8), "magic, version little-endian");

	cr_expect_eq(sl_ckpt_load(p, 2, &buf, &len), -EBADMSG, "another version accepted");

	file[20 + 3] ^= 0x01;
	bt_put(p, file, 20 + plen);
	cr_expect_eq(sl_ckpt_load(p, 1, &buf, &len), -EBADMSG, "flipped payload byte accepted");

	file[20 + 3] ^= 0x01;
	bt_put(p, file, 20 + plen - 1);
	cr_expect_eq(sl_ckpt_load(p, 1, &buf, &len), -EBADMSG, "truncated file accepted");
	bt_put(p, file, 10);
	cr_expect_eq(sl_ckpt_load(p, 1, &buf, &len), -EBADMSG, "half a header accepted");
	free(file);

	cr_assert_eq(sl_ckpt_save(&sl_io_posix, p, 7, NULL, 0), 0);
	cr_assert_eq(sl_ckpt_load(p, 7, &buf, &len), 0);
	cr_expect_eq(len, 0);
	free(buf);
}
