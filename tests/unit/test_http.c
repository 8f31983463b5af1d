// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the HTTP/1.x scanners in include/sluice_http.h (the same code BPF runs). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "sluice_http.h"

/*
 * A scratch buffer as the data plane fills it: `len` payload bytes, and after them stale bytes
 * from an earlier packet. The stale bytes hold a perfectly good key header, so a scanner that
 * reads past len finds it.
 */
struct scratch {
	__u8 buf[SL_HTTP_SCAN];
	__u32 len;
};

static const char stale[] = "\r\nX-API-Key: STALE\r\nAuthorization: Bearer STALE\r\n\r\n";

static void put(struct scratch *s, const char *text, size_t n)
{
	size_t i;

	cr_assert_leq(n, SL_HTTP_SCAN);
	for (i = 0; i < SL_HTTP_SCAN; i++)
		s->buf[i] = stale[i % (sizeof(stale) - 1)];
	memcpy(s->buf, text, n);
	s->len = n;
}

static void puts_(struct scratch *s, const char *text)
{
	put(s, text, strlen(text));
}

/* Result of a key scan, with the key copied out (or "" when none). */
struct kres {
	int res;
	__u32 off, len;
	char key[SL_HTTP_SCAN + 1];
};

static struct kres scan_from(const struct scratch *s, __u32 start, __u32 flags)
{
	struct kres r;

	memset(&r, 0, sizeof(r));
	r.res = sl_http_find_key(s->buf, s->len, start, flags, &r.off, &r.len);
	if (r.off <= SL_HTTP_SCAN && r.len <= SL_HTTP_SCAN - r.off)
		memcpy(r.key, s->buf + r.off, r.len);
	return r;
}

/* Scan a request: from 0 and from the end of its request line, which must agree. */
static struct kres scan(const char *text, __u32 flags)
{
	struct scratch s;
	struct kres a, b;
	__u32 m, po, pl, le;

	puts_(&s, text);
	a = scan_from(&s, 0, flags);
	if (sl_http_request_line(s.buf, s.len, &m, &po, &pl, &le) == SL_HTTP_RL_OK) {
		b = scan_from(&s, le, flags);
		cr_assert_eq(b.res, a.res, "from 0 and from the line end: %s", text);
		cr_assert_eq(b.off, a.off, "%s", text);
		cr_assert_eq(b.len, a.len, "%s", text);
	}
	return a;
}

#define D SL_HTTP_KF_DEFAULT

static void expect_key(const char *text, const char *key)
{
	struct kres r = scan(text, D);

	cr_assert_eq(r.res, SL_HTTP_KEY_FOUND, "%s: result %d", text, r.res);
	cr_assert_str_eq(r.key, key, "%s", text);
}

static void expect_res(const char *text, int res)
{
	struct kres r = scan(text, D);

	cr_assert_eq(r.res, res, "%s: result %d, expected %d", text, r.res, res);
}

/* ---- methods ------------------------------------------------------------------------- */

static __u32 method_of(const char *text)
{
	struct scratch s;

	puts_(&s, text);
	return sl_http_method(s.buf, s.len);
}

Test(http, method_each)
{
	cr_assert_eq(method_of("GET / HTTP/1.1\r\n"), SL_HTTP_GET);
	cr_assert_eq(method_of("POST /v1 HTTP/1.1\r\n"), SL_HTTP_POST);
	cr_assert_eq(method_of("PUT /x HTTP/1.1\r\n"), SL_HTTP_PUT);
	cr_assert_eq(method_of("PATCH /x HTTP/1.1\r\n"), SL_HTTP_PATCH);
	cr_assert_eq(method_of("DELETE /x HTTP/1.1\r\n"), SL_HTTP_DELETE);
	cr_assert_eq(method_of("HEAD / HTTP/1.0\r\n"), SL_HTTP_HEAD);
	cr_assert_eq(method_of("OPTIONS * HTTP/1.1\r\n"), SL_HTTP_OPTIONS);
	cr_assert_eq(method_of("GET "), SL_HTTP_GET, "the space is enough");
	cr_assert_eq(method_of("OPTIONS "), SL_HTTP_OPTIONS);
}

Test(http, method_lengths)
{
	static const char *const tok[] = { "", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD",
					   "OPTIONS" };
	__u32 m;

	for (m = SL_HTTP_NONE; m <= SL_HTTP_OPTIONS; m++)
		cr_assert_eq(sl_http_method_len(m), strlen(tok[m]), "%s", tok[m]);
}

Test(http, method_not_a_request)
{
	static const char *const no[] = {
		"HTTP/1.1 200 OK\r\n", "GETX / HTTP/1.1\r\n", "get / HTTP/1.1\r\n",
		"GET/ HTTP/1.1\r\n",   "GET\t/ HTTP/1.1\r\n", " GET / HTTP/1.1\r\n",
		"POS / HTTP/1.1\r\n",  "DELETED / HTTP/1.1",  "OPTION / HTTP/1.1",
		"PRI * HTTP/2.0\r\n",  "CONNECT a:443 HTTP/1.1\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "", "GET", "POST",
	};
	unsigned i;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert_eq(method_of(no[i]), SL_HTTP_NONE, "%s", no[i]);
}

/* The token must be complete within len, even if the buffer goes on. */
Test(http, method_needs_the_space_within_len)
{
	struct scratch s;

	puts_(&s, "DELETE / HTTP/1.1\r\n");
	s.len = 6;
	cr_assert_eq(sl_http_method(s.buf, s.len), SL_HTTP_NONE);
	s.len = 7;
	cr_assert_eq(sl_http_method(s.buf, s.len), SL_HTTP_DELETE);
}

/* ---- request line -------------------------------------------------------------------- */

struct rl {
	int res;
	__u32 method, off, len, end;
	char path[SL_HTTP_SCAN + 1];
};

static struct rl rline(const char *text, size_t n)
{
	struct scratch s;
	struct rl r;

	memset(&r, 0, sizeof(r));
	put(&s, text, n);
	r.res = sl_http_request_line(s.buf, s.len, &r.method, &r.off, &r.len, &r.end);
	if (r.res != SL_HTTP_RL_NOT_REQ)
		memcpy(r.path, s.buf + r.off, r.len);
	return r;
}

Test(http, request_line_ok)
{
	const char *t = "POST /v1/chat/completions?stream=true HTTP/1.1\r\nHost: a\r\n\r\n";
	struct rl r = rline(t, strlen(t));

	cr_assert_eq(r.res, SL_HTTP_RL_OK);
	cr_assert_eq(r.method, SL_HTTP_POST);
	cr_assert_eq(r.off, 5);
	cr_assert_str_eq(r.path, "/v1/chat/completions");
	cr_assert_eq(r.end, strlen("POST /v1/chat/completions?stream=true HTTP/1.1\r\n"));

	t = "GET /models HTTP/1.0\nHost: a\n\n"; /* bare LF */
	r = rline(t, strlen(t));
	cr_assert_eq(r.res, SL_HTTP_RL_OK);
	cr_assert_str_eq(r.path, "/models");
	cr_assert_eq(r.end, strlen("GET /models HTTP/1.0\n"));

	t = "OPTIONS * HTTP/1.1\r\n";
	r = rline(t, strlen(t));
	cr_assert_eq(r.res, SL_HTTP_RL_OK);
	cr_assert_str_eq(r.path, "*");
	cr_assert_eq(r.end, strlen(t));

	t = "DELETE /a?b?c HTTP/1.1\r\n"; /* the first '?' ends the path */
	r = rline(t, strlen(t));
	cr_assert_eq(r.res, SL_HTTP_RL_OK);
	cr_assert_str_eq(r.path, "/a");

	t = "GET http://example.com/x HTTP/1.1\r\n"; /* absolute form: the whole target */
	r = rline(t, strlen(t));
	cr_assert_str_eq(r.path, "http://example.com/x");
}

Test(http, request_line_every_method)
{
	static const char *const tok[] = { NULL, "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD",
					   "OPTIONS" };
	char t[64];
	struct rl r;
	__u32 m;

	for (m = SL_HTTP_GET; m <= SL_HTTP_OPTIONS; m++) {
		snprintf(t, sizeof(t), "%s /p/%u?q HTTP/1.1\r\nX: y\r\n\r\n", tok[m], m);
		r = rline(t, strlen(t));
		cr_assert_eq(r.res, SL_HTTP_RL_OK, "%s", t);
		cr_assert_eq(r.method, m);
		cr_assert_eq(r.off, strlen(tok[m]) + 1);
		cr_assert_eq(r.len, 4, "%s", t);
		cr_assert_eq(r.end, strlen(tok[m]) + strlen(" /p/1?q HTTP/1.1\r\n"));
	}
}

Test(http, request_line_truncated)
{
	const char *t = "GET /a/very/long/path/that/goes/on";
	struct rl r = rline(t, strlen(t));

	cr_assert_eq(r.res, SL_HTTP_RL_TRUNC);
	cr_assert_str_eq(r.path, "/a/very/long/path/that/goes/on", "the path as far as seen");

	t = "GET /a?x=1&y=2";
	r = rline(t, strlen(t));
	cr_assert_eq(r.res, SL_HTTP_RL_TRUNC);
	cr_assert_str_eq(r.path, "/a", "the path ended at '?'");

	t = "GET /a HTTP/1.";
	r = rline(t, strlen(t));
	cr_assert_eq(r.res, SL_HTTP_RL_TRUNC);
	cr_assert_str_eq(r.path, "/a");

	t = "GET /a HTTP/1.1\r"; /* CR seen, LF not yet */
	r = rline(t, strlen(t));
	cr_assert_eq(r.res, SL_HTTP_RL_TRUNC);

	t = "GET ";
	r = rline(t, strlen(t));
	cr_assert_eq(r.res, SL_HTTP_RL_TRUNC);
	cr_assert_eq(r.len, 0);
}

/* A 600-byte line: the scan ends at SL_HTTP_SCAN, never past it. */
Test(http, request_line_longer_than_scan)
{
	char t[SL_HTTP_SCAN];
	struct rl r;

	memset(t, 'a', sizeof(t));
	memcpy(t, "GET /", 5);
	r = rline(t, sizeof(t));
	cr_assert_eq(r.res, SL_HTTP_RL_TRUNC);
	cr_assert_eq(r.len, SL_HTTP_SCAN - 4);
}

Test(http, request_line_not_a_request)
{
	static const char *const no[] = {
		"GET  / HTTP/1.1\r\n",      /* empty target */
		"GET /a\x01b HTTP/1.1\r\n", /* control byte in the target */
		"GET /a\tb HTTP/1.1\r\n",   "GET /a\x7f HTTP/1.1\r\n",
		"GET /a\r\n",               /* HTTP/0.9 */
		"GET /a HTTP/2.0\r\n",      "GET /a HTTP/1.x\r\n",
		"GET /a http/1.1\r\n",      "GET /a HTTP/1.1X\r\n",
		"GET /a HTTP/1.1\rX",       "GET /a FOO/1.1\r\n\r\n",
		"HTTP/1.1 200 OK\r\n",      "get /a HTTP/1.1\r\n",
	};
	unsigned i;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert_eq(rline(no[i], strlen(no[i])).res, SL_HTTP_RL_NOT_REQ, "%s", no[i]);
}

/* ---- key scan ------------------------------------------------------------------------ */

Test(http, key_both_forms)
{
	expect_key("GET / HTTP/1.1\r\nHost: h\r\nX-API-Key: abc123\r\n\r\n", "abc123");
	expect_key("POST /v1 HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer sk-XYZ_9.8\r\n\r\n",
		   "sk-XYZ_9.8");
}

Test(http, key_name_case)
{
	expect_key("GET / HTTP/1.1\r\nx-api-key: k1\r\n\r\n", "k1");
	expect_key("GET / HTTP/1.1\r\nX-Api-Key: k2\r\n\r\n", "k2");
	expect_key("GET / HTTP/1.1\r\nX-API-KEY: k3\r\n\r\n", "k3");
	expect_key("GET / HTTP/1.1\r\nAUTHORIZATION: Bearer k4\r\n\r\n", "k4");
	expect_key("GET / HTTP/1.1\r\nauthorization: bearer k5\r\n\r\n", "k5");
	expect_key("GET / HTTP/1.1\r\nAuthorization: BEARER k6\r\n\r\n", "k6");
	expect_key("GET / HTTP/1.1\r\naUtHoRiZaTiOn: BeArEr K7\r\n\r\n", "K7");
}

Test(http, key_whitespace)
{
	expect_key("GET / HTTP/1.1\r\nX-API-Key:abc\r\n\r\n", "abc");
	expect_key("GET / HTTP/1.1\r\nX-API-Key:\t\tabc\r\n\r\n", "abc");
	expect_key("GET / HTTP/1.1\r\nX-API-Key: \t abc \t \r\n\r\n", "abc");
	expect_key("GET / HTTP/1.1\r\nX-API-Key: abc def\r\n\r\n", "abc");
	expect_key("GET / HTTP/1.1\r\nX-API-Key: abc\tdef\r\n\r\n", "abc");
	expect_key("GET / HTTP/1.1\r\nAuthorization:Bearer abc\r\n\r\n", "abc");
	expect_key("GET / HTTP/1.1\r\nAuthorization: Bearer\tabc\r\n\r\n", "abc");
	expect_key("GET / HTTP/1.1\r\nAuthorization: \t Bearer \t abc\r\n\r\n", "abc");
	expect_key("GET / HTTP/1.1\r\nAuthorization:\tBearer      abc   \r\n\r\n", "abc");
	/* a CR alone ends the value too */
	expect_key("GET / HTTP/1.1\r\nX-API-Key: abc\rdef\r\n\r\n", "abc");
}

Test(http, key_missing)
{
	expect_res("GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n", SL_HTTP_KEY_NONE);
	expect_res("GET / HTTP/1.1\r\n\r\n", SL_HTTP_KEY_NONE);
	/* keys in the body do not count */
	expect_res("POST / HTTP/1.1\r\nHost: h\r\n\r\nX-API-Key: body\r\n", SL_HTTP_KEY_NONE);
	/* neither do other Authorization schemes */
	expect_res("GET / HTTP/1.1\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n", SL_HTTP_KEY_NONE);
	expect_res("GET / HTTP/1.1\r\nAuthorization: Bearerx k\r\n\r\n", SL_HTTP_KEY_NONE);
	expect_res("GET / HTTP/1.1\r\nAuthorization: xBearer k\r\n\r\n", SL_HTTP_KEY_NONE);
	expect_res("GET / HTTP/1.1\r\nAuthorization: Basic Bearer k\r\n\r\n", SL_HTTP_KEY_NONE);
	expect_res("GET / HTTP/1.1\r\nAuthorization: Bear er k\r\n\r\n", SL_HTTP_KEY_NONE);
	expect_res("GET / HTTP/1.1\r\nAuthorization:\r\n\r\n", SL_HTTP_KEY_NONE);
	expect_res("GET / HTTP/1.1\r\nX-Other: Bearer k\r\n\r\n", SL_HTTP_KEY_NONE);
}

/* Names that contain a key header's name are other headers. */
Test(http, key_name_must_be_exact)
{
	static const char *const no[] = {
		"X-Api-Keys: k",	  "My-X-API-Key: k",	    "X-API-Key-Id: k",
		"XX-API-Key: k",	  "X-API-Key : k",	    " X-API-Key: k",
		"\tX-API-Key: k",	  "X_API_Key: k",	    "X-APIKey: k",
		"Proxy-Authorization: Bearer k", "Authorizations: Bearer k",
		"Authorization : Bearer k", " Authorization: Bearer k", "Host: x-api-key: k",
		"Host: a\r\n X-API-Key: k", /* a folded continuation line */
	};
	char t[256];
	unsigned i;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(t, sizeof(t), "GET / HTTP/1.1\r\n%s\r\n\r\n", no[i]);
		expect_res(t, SL_HTTP_KEY_NONE);
	}
	/* The request line is no header either, whatever its target. */
	expect_res("GET /x-api-key: HTTP/1.1\r\n\r\n", SL_HTTP_KEY_NONE);
}

Test(http, key_empty_value)
{
	struct kres r;

	expect_res("GET / HTTP/1.1\r\nX-API-Key:\r\n\r\n", SL_HTTP_KEY_INVALID);
	expect_res("GET / HTTP/1.1\r\nX-API-Key: \t \r\n\r\n", SL_HTTP_KEY_INVALID);
	expect_res("GET / HTTP/1.1\nX-API-Key:\n\n", SL_HTTP_KEY_INVALID);
	expect_res("GET / HTTP/1.1\r\nAuthorization: Bearer\r\n\r\n", SL_HTTP_KEY_INVALID);
	expect_res("GET / HTTP/1.1\r\nAuthorization: Bearer  \r\n\r\n", SL_HTTP_KEY_INVALID);
	r = scan("GET / HTTP/1.1\r\nX-API-Key:\r\n\r\n", D);
	cr_assert_eq(r.len, 0);
	cr_assert_eq(r.off, strlen("GET / HTTP/1.1\r\nX-API-Key:"));
}

Test(http, key_length_limit)
{
	char t[SL_HTTP_SCAN], k[SL_KEY_MAX + 2];
	struct kres r;

	memset(k, 'k', sizeof(k));
	k[SL_KEY_MAX] = 0;
	snprintf(t, sizeof(t), "GET / HTTP/1.1\r\nX-API-Key: %s\r\n\r\n", k);
	expect_key(t, k);
	k[1] = 0;
	snprintf(t, sizeof(t), "GET / HTTP/1.1\r\nX-API-Key: %s\r\n\r\n", k);
	expect_key(t, "k");
	memset(k, 'k', sizeof(k));
	k[SL_KEY_MAX + 1] = 0;
	snprintf(t, sizeof(t), "GET / HTTP/1.1\r\nAuthorization: Bearer %s\r\n\r\n", k);
	r = scan(t, D);
	cr_assert_eq(r.res, SL_HTTP_KEY_INVALID, "SL_KEY_MAX + 1 bytes");
	cr_assert_eq(r.len, SL_KEY_MAX + 1);
}

Test(http, key_cut_by_end_of_data)
{
	struct kres r;

	r = scan("GET / HTTP/1.1\r\nHost: h\r\nX-API-Key: abcd", D);
	cr_assert_eq(r.res, SL_HTTP_KEY_CUT);
	cr_assert_str_eq(r.key, "abcd", "the part seen");
	r = scan("GET / HTTP/1.1\r\nAuthorization: Bearer abcd", D);
	cr_assert_eq(r.res, SL_HTTP_KEY_CUT);
	cr_assert_str_eq(r.key, "abcd");
	r = scan("GET / HTTP/1.1\r\nX-API-Key:", D);
	cr_assert_eq(r.res, SL_HTTP_KEY_CUT);
	cr_assert_eq(r.len, 0);
	cr_assert_eq(r.off, strlen("GET / HTTP/1.1\r\nX-API-Key:"));
	r = scan("GET / HTTP/1.1\r\nAuthorization: Bearer \t", D);
	cr_assert_eq(r.res, SL_HTTP_KEY_CUT);
	cr_assert_eq(r.len, 0);
}

/* A value that already exceeds SL_KEY_MAX when the data ends is known to be invalid. */
Test(http, key_cut_but_already_too_long)
{
	char t[SL_HTTP_SCAN];
	struct scratch s;
	struct kres r;

	memset(t, 'v', sizeof(t));
	memcpy(t, "GET / HTTP/1.1\r\nX-API-Key: ", 27);
	put(&s, t, 27 + SL_KEY_MAX);
	r = scan_from(&s, 0, D);
	cr_assert_eq(r.res, SL_HTTP_KEY_CUT, "exactly SL_KEY_MAX seen: may still be valid");
	cr_assert_eq(r.len, SL_KEY_MAX);
	put(&s, t, 27 + SL_KEY_MAX + 1);
	r = scan_from(&s, 0, D);
	cr_assert_eq(r.res, SL_HTTP_KEY_INVALID);
	put(&s, t, sizeof(t));
	r = scan_from(&s, 0, D);
	cr_assert_eq(r.res, SL_HTTP_KEY_INVALID);
}

Test(http, headers_truncated)
{
	expect_res("GET / HTTP/1.1\r\nHost: example.com\r\nAccept: */*", SL_HTTP_KEY_TRUNC);
	expect_res("GET / HTTP/1.1\r\nHost: example.com\r\n", SL_HTTP_KEY_TRUNC);
	expect_res("GET / HTTP/1.1\r\nHost: example.com\r\n\r", SL_HTTP_KEY_TRUNC);
	expect_res("GET / HTTP/1.1\r\nX-API-Ke", SL_HTTP_KEY_TRUNC);
	expect_res("GET / HTTP/1.1\r\nAuthorization: Bear", SL_HTTP_KEY_TRUNC);
	expect_res("GET / HTTP/1.1\r\nAuthorization: Bearer", SL_HTTP_KEY_TRUNC);
	expect_res("GET / HTTP/1.1\r\nAuthorization:   ", SL_HTTP_KEY_TRUNC);
	expect_res("GET /", SL_HTTP_KEY_TRUNC);
}

/* Headers longer than the scan: the key after byte SL_HTTP_SCAN is not seen. */
Test(http, headers_longer_than_scan)
{
	char t[SL_HTTP_SCAN + 64];
	struct scratch s;
	struct kres r;

	memset(t, 'c', sizeof(t));
	memcpy(t, "GET / HTTP/1.1\r\nCookie: ", 24);
	memcpy(t + SL_HTTP_SCAN + 2, "\r\nX-API-Key: k\r\n", 16);
	put(&s, t, SL_HTTP_SCAN);
	s.len = sizeof(t); /* a len past the buffer counts as SL_HTTP_SCAN */
	r = scan_from(&s, 0, D);
	cr_assert_eq(r.res, SL_HTTP_KEY_TRUNC);
}

/* The key may sit anywhere in the scanned bytes, up to the very end. */
Test(http, key_at_every_offset)
{
	char t[SL_HTTP_SCAN + 1], pad[SL_HTTP_SCAN];
	struct scratch s;
	struct kres r;
	int n, w, total;

	for (n = 0; n < SL_HTTP_SCAN; n++) {
		memset(pad, 'p', sizeof(pad));
		pad[n] = 0;
		total = snprintf(t, sizeof(t),
				 "GET / HTTP/1.1\r\nX-Pad: %s\r\nX-API-Key: K%d\r\n\r\n", pad, n);
		if (total >= SL_HTTP_SCAN)
			break;
		put(&s, t, total);
		r = scan_from(&s, 0, D);
		cr_assert_eq(r.res, SL_HTTP_KEY_FOUND, "pad %d", n);
		cr_assert_eq(r.off, total - 4 - strlen(r.key));
		w = snprintf(pad, sizeof(pad), "K%d", n);
		cr_assert_eq(r.len, (__u32)w);
		cr_assert_str_eq(r.key, pad);
	}
	cr_assert_gt(n, 400);
	/* Ending exactly at the last byte of the buffer, terminator included. */
	memset(t, 'p', sizeof(t));
	memcpy(t, "GET / HTTP/1.1\r\nX-Pad: ", 23);
	memcpy(t + SL_HTTP_SCAN - 16, "\r\nX-API-Key:  K\n", 16);
	put(&s, t, SL_HTTP_SCAN);
	r = scan_from(&s, 0, D);
	cr_assert_eq(r.res, SL_HTTP_KEY_FOUND);
	cr_assert_eq(r.off, SL_HTTP_SCAN - 2);
	cr_assert_str_eq(r.key, "K");
}

Test(http, pipelined_requests)
{
	const char *t = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
			"GET /b HTTP/1.1\r\nX-API-Key: second\r\n\r\n";
	struct scratch s;
	struct kres r;
	__u32 start = strlen("GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
	__u32 m, po, pl, le;

	expect_res(t, SL_HTTP_KEY_NONE); /* the first request ends at its blank line */
	puts_(&s, t);
	cr_assert_eq(sl_http_request_line(s.buf + start, s.len - start, &m, &po, &pl, &le),
		     SL_HTTP_RL_OK);
	r = scan_from(&s, start + le, D);
	cr_assert_eq(r.res, SL_HTTP_KEY_FOUND);
	cr_assert_str_eq(r.key, "second");
}

Test(http, line_ends)
{
	expect_key("GET / HTTP/1.1\nHost: h\nX-API-Key: lf\n\n", "lf");
	expect_key("GET / HTTP/1.1\r\nHost: h\nX-API-Key: mixed\r\n\r\n", "mixed");
	expect_res("GET / HTTP/1.1\nHost: h\n\nX-API-Key: body\n", SL_HTTP_KEY_NONE);
	expect_res("GET / HTTP/1.1\r\nHost: h\n\r\nX-API-Key: body\n", SL_HTTP_KEY_NONE);
	/* a line holding only blanks is not the end of the headers */
	expect_key("GET / HTTP/1.1\r\n \r\nX-API-Key: k\r\n\r\n", "k");
}

/* The first key header decides, whatever follows. */
Test(http, first_key_header_wins)
{
	expect_key("GET / HTTP/1.1\r\nX-API-Key: one\r\nAuthorization: Bearer two\r\n\r\n", "one");
	expect_key("GET / HTTP/1.1\r\nAuthorization: Bearer two\r\nX-API-Key: one\r\n\r\n", "two");
	expect_res("GET / HTTP/1.1\r\nX-API-Key:\r\nX-API-Key: two\r\n\r\n", SL_HTTP_KEY_INVALID);
	/* a non-Bearer Authorization is not a key header: the scan goes on */
	expect_key("GET / HTTP/1.1\r\nAuthorization: Basic abc\r\nX-API-Key: k\r\n\r\n", "k");
}

Test(http, flags_select_headers)
{
	const char *both = "GET / HTTP/1.1\r\nAuthorization: Bearer b\r\nX-API-Key: x\r\n\r\n";
	struct kres r;

	r = scan(both, SL_HTTP_KF_XAPIKEY);
	cr_assert_eq(r.res, SL_HTTP_KEY_FOUND);
	cr_assert_str_eq(r.key, "x");
	r = scan(both, SL_HTTP_KF_BEARER);
	cr_assert_eq(r.res, SL_HTTP_KEY_FOUND);
	cr_assert_str_eq(r.key, "b");
	r = scan(both, 0);
	cr_assert_eq(r.res, SL_HTTP_KEY_NONE);
}

/* Start offsets: at a line start (0 counts as one), or past len. */
Test(http, start_offsets)
{
	struct scratch s;
	struct kres r;

	puts_(&s, "X-API-Key: first\r\n\r\n");
	r = scan_from(&s, 0, D);
	cr_assert_eq(r.res, SL_HTTP_KEY_FOUND, "a header on the first line scanned");
	cr_assert_str_eq(r.key, "first");
	puts_(&s, "\r\nX-API-Key: k\r\n");
	cr_assert_eq(scan_from(&s, 0, D).res, SL_HTTP_KEY_NONE, "a blank first line");
	cr_assert_eq(scan_from(&s, s.len, D).res, SL_HTTP_KEY_TRUNC);
	cr_assert_eq(scan_from(&s, s.len + 10, D).res, SL_HTTP_KEY_TRUNC);
	cr_assert_eq(scan_from(&s, 0xffffff00u, D).res, SL_HTTP_KEY_TRUNC);
}

/*
 * The pieces a bpf_loop() driver uses: sl_http_hstep() as the callback body, one call per
 * byte from start, then sl_http_key_end(). Same results as sl_http_find_key().
 */
static int drive_steps(const struct scratch *s, __u32 start, __u32 *off, __u32 *len)
{
	struct sl_http_hscan h;
	__u32 p, n = s->len > SL_HTTP_SCAN ? SL_HTTP_SCAN : s->len;
	int ev = SL_HEV_NONE;

	sl_http_hscan_init(&h, SL_HTTP_KF_DEFAULT);
	for (p = start; p < n; p++) {
		ev = sl_http_hstep(&h, s->buf[p]);
		if (ev != SL_HEV_NONE)
			break;
	}
	return sl_http_key_end(&h, ev, p, s->buf, n, off, len);
}

Test(http, step_driver_matches_find_key)
{
	static const char *const t[] = {
		"GET / HTTP/1.1\r\nX-API-Key: k\r\n\r\n",
		"GET / HTTP/1.1\r\nAuthorization: Bearer tok\r\n\r\n",
		"GET / HTTP/1.1\r\nAuthorization: Bearer\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n",
		"GET / HTTP/1.1\r\nX-API-Key:  ",
		"GET / HTTP/1.1\r\nX-API-Key: abc",
	};
	struct scratch s;
	struct kres r;
	__u32 i, off, len;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		puts_(&s, t[i]);
		r = scan_from(&s, 16, D);
		cr_assert_eq(drive_steps(&s, 16, &off, &len), r.res, "%s", t[i]);
		cr_assert_eq(off, r.off, "%s", t[i]);
		cr_assert_eq(len, r.len, "%s", t[i]);
	}
}

/* ---- against a reference --------------------------------------------------------------- */

static int ref_blank(__u8 c)
{
	return c == ' ' || c == '\t';
}

static int ref_vend(__u8 c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int ref_prefix(const __u8 *p, __u32 n, const char *name)
{
	__u32 i, l = strlen(name);

	if (n < l)
		return 0;
	for (i = 0; i < l; i++) {
		__u8 c = p[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != (__u8)name[i])
			return 0;
	}
	return 1;
}

/*
 * The rules of sl_http_find_key, written the plain way: split into lines, look at each line's
 * start, then at its fields.
 */
static int ref_find_key(const __u8 *b, __u32 len, __u32 start, __u32 flags, __u32 *off,
			__u32 *klen)
{
	__u32 p = start, e, q, t, v, k;

	if (len > SL_HTTP_SCAN)
		len = SL_HTTP_SCAN;
	*off = len;
	*klen = 0;
	while (p < len) {
		for (e = p; e < len && b[e] != '\n'; e++)
			;
		if (e < len && (e == p || (e == p + 1 && b[p] == '\r')))
			return SL_HTTP_KEY_NONE;
		v = 0;
		if ((flags & SL_HTTP_KF_XAPIKEY) && ref_prefix(b + p, e - p, "x-api-key:")) {
			v = p + 10;
		} else if ((flags & SL_HTTP_KF_BEARER) &&
			   ref_prefix(b + p, e - p, "authorization:")) {
			for (q = p + 14; q < len && ref_blank(b[q]); q++)
				;
			for (t = q; t < len && !ref_vend(b[t]); t++)
				;
			if (t == len)
				return SL_HTTP_KEY_TRUNC;
			if (t - q == 6 && ref_prefix(b + q, 6, "bearer")) {
				if (!ref_blank(b[t])) {
					*off = t;
					return SL_HTTP_KEY_INVALID;
				}
				v = t;
			}
		}
		if (v) {
			for (; v < len && ref_blank(b[v]); v++)
				;
			*off = v;
			if (v == len)
				return SL_HTTP_KEY_CUT;
			for (k = v; k < len && !ref_vend(b[k]) && k - v <= SL_KEY_MAX; k++)
				;
			*klen = k - v;
			if (k - v > SL_KEY_MAX)
				return SL_HTTP_KEY_INVALID;
			if (k == len)
				return SL_HTTP_KEY_CUT;
			return k == v ? SL_HTTP_KEY_INVALID : SL_HTTP_KEY_FOUND;
		}
		if (e == len)
			break;
		p = e + 1;
	}
	return SL_HTTP_KEY_TRUNC;
}

static __u64 rnd_state = 0x2545f4914f6cdd1dULL;

static __u32 rnd(__u32 n)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (__u32)((rnd_state * 0x2545f4914f6cdd1dULL) >> 33) % n;
}

static const char *pick(const char *const *v, unsigned n)
{
	return v[rnd(n)];
}

#define PICK(v) pick(v, sizeof(v) / sizeof(v[0]))

/* Random requests built from the pieces the rules care about, cut at random lengths. */
static size_t gen_request(char *t, size_t cap)
{
	static const char *const rlines[] = { "GET / HTTP/1.1", "POST /v1/chat?x=1 HTTP/1.1",
					      "DELETE /a HTTP/1.0", "X-API-Key: k HTTP/1.1" };
	static const char *const names[] = {
		"Host", "Accept", "X-API-Key", "x-api-key", "X-Api-KEY", "X-Api-Keys",
		"My-X-API-Key", " X-API-Key", "X-API-Key ", "Authorization", "AUTHORIZATION",
		"authorization", "Proxy-Authorization", "Authorizatio", "X-API-Ke", "",
	};
	static const char *const seps[] = { ":", ": ", ":\t", ": \t  ", "", " :" };
	static const char *const vals[] = {
		"", "abc", "Bearer k1", "bearer  k2", "BEARER\tk3", "Basic dXNl", "Bearerx y",
		"xBearer z", "Bearer", "Bearer ", " Bearer k4", "k with space", "\rBearer k5",
		"a:b", "Bearer \r", "Bearer a\rb", "@", NULL, NULL,
	};
	static const char *const eols[] = { "\r\n", "\r\n", "\n", "\r", "" };
	size_t n = 0;
	int i, lines = rnd(8), j, l;
	const char *v;

	n += snprintf(t + n, cap - n, "%s%s", PICK(rlines), rnd(4) ? "\r\n" : "\n");
	for (i = 0; i < lines && n < cap; i++) {
		v = PICK(vals);
		if (rnd(3) == 0) {
			/* a blank or blank-ish line */
			n += snprintf(t + n, cap - n, "%s",
				      rnd(2) ? "\r\n" : (rnd(2) ? "\n" : " \r\n"));
			continue;
		}
		n += snprintf(t + n, cap - n, "%s%s", PICK(names), PICK(seps));
		if (!v) {
			/* a random token, sometimes past SL_KEY_MAX */
			l = rnd(4) ? rnd(40) : SL_KEY_MAX - 2 + rnd(5);
			if (rnd(2))
				n += snprintf(t + n, cap - n, "Bearer ");
			for (j = 0; j < l && n + 1 < cap; j++)
				t[n++] = "abcXYZ019-_.~+/="[rnd(16)];
			t[n < cap ? n : cap - 1] = 0;
		} else {
			n += snprintf(t + n, cap - n, "%s", v);
		}
		if (n < cap)
			n += snprintf(t + n, cap - n, "%s", PICK(eols));
	}
	if (n >= cap)
		n = cap - 1;
	return n;
}

Test(http, find_key_matches_reference)
{
	char t[SL_HTTP_SCAN * 2];
	struct scratch s;
	__u32 o1, l1, o2, l2, start, len;
	int i, r1, r2;
	int seen[8] = { 0 };

	for (i = 0; i < 200000; i++) {
		size_t n = gen_request(t, sizeof(t));

		len = n > SL_HTTP_SCAN ? SL_HTTP_SCAN : n;
		if (rnd(2))
			len = rnd(len + 1); /* cut anywhere */
		put(&s, t, len);
		start = rnd(3) ? 0 : rnd(len + 2);
		r1 = sl_http_find_key(s.buf, s.len, start, SL_HTTP_KF_DEFAULT, &o1, &l1);
		r2 = ref_find_key(s.buf, s.len, start, SL_HTTP_KF_DEFAULT, &o2, &l2);
		cr_assert_eq(r1, r2, "case %d start %u len %u: %d vs reference %d\n%.*s", i, start,
			     len, r1, r2, (int)len, t);
		if (r1 == SL_HTTP_KEY_FOUND || r1 == SL_HTTP_KEY_CUT) {
			cr_assert_eq(o1, o2, "case %d offset", i);
			cr_assert_eq(l1, l2, "case %d length", i);
		}
		seen[r1]++;
	}
	for (i = SL_HTTP_KEY_FOUND; i <= SL_HTTP_KEY_INVALID; i++)
		cr_assert_gt(seen[i], 1000, "result %d seen %d times only", i, seen[i]);
}

/* Bytes of a small alphabet that makes names, blanks and line ends collide often. */
Test(http, find_key_matches_reference_noise)
{
	static const char *const bits[] = { "\r", "\n", " ", "\t", ":", "x-api-key", "X-API-KEY",
					    "authorization", "Bearer", "bearer", "k", "\r\n",
					    "\n\n", "-" };
	char t[SL_HTTP_SCAN + 32];
	struct scratch s;
	__u32 o1, l1, o2, l2;
	int i, r1, r2;
	size_t n;

	for (i = 0; i < 100000; i++) {
		n = 0;
		while (n < SL_HTTP_SCAN && rnd(64))
			n += snprintf(t + n, sizeof(t) - n, "%s", PICK(bits));
		if (n > SL_HTTP_SCAN)
			n = SL_HTTP_SCAN;
		put(&s, t, n);
		r1 = sl_http_find_key(s.buf, s.len, 0, SL_HTTP_KF_DEFAULT, &o1, &l1);
		r2 = ref_find_key(s.buf, s.len, 0, SL_HTTP_KF_DEFAULT, &o2, &l2);
		cr_assert_eq(r1, r2, "case %d: %d vs reference %d\n%.*s", i, r1, r2, (int)n, t);
		if (r1 == SL_HTTP_KEY_FOUND || r1 == SL_HTTP_KEY_CUT) {
			cr_assert_eq(o1, o2, "case %d", i);
			cr_assert_eq(l1, l2, "case %d", i);
		}
	}
}

/* Group path prefixes: compared to a reference on every (path, prefix) pair of a small set. */
static __u32 ref_path_prefix(const char *path, size_t plen_path, const char *pre)
{
	size_t n = strlen(pre);

	return n <= plen_path && !memcmp(path, pre, n);
}

Test(http, path_prefix)
{
	static const char *const paths[] = { "/", "/v1", "/v1/", "/v1/chat/completions",
					     "/v1beta/models", "/health", "/v1/chat" };
	static const char *const prefixes[] = { "", "/", "/v1", "/v1/", "/v1/chat/completions",
						"/v1/chat/completionsX", "/health", "/x" };
	__u8 buf[SL_HTTP_SCAN];
	__u8 pre[SL_HTTP_PREFIX_MAX];

	for (size_t off = 0; off < SL_HTTP_SCAN; off += 97) {
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			size_t pl = strlen(paths[i]);

			memset(buf, 'z', sizeof(buf));
			for (size_t k = 0; k < pl; k++)
				buf[(off + k) & SL_HTTP_MASK] = (__u8)paths[i][k];
			for (size_t j = 0; j < sizeof(prefixes) / sizeof(prefixes[0]); j++) {
				memset(pre, 0, sizeof(pre));
				memcpy(pre, prefixes[j], strlen(prefixes[j]));
				cr_assert_eq(sl_http_path_prefix(buf, (__u32)off, (__u32)pl, pre,
								 (__u32)strlen(prefixes[j])),
					     ref_path_prefix(paths[i], pl, prefixes[j]),
					     "path %s at %zu, prefix '%s'", paths[i], off, prefixes[j]);
			}
		}
	}
	/* Bytes past the path's end never count, even where the buffer would match. */
	memcpy(buf, "/v1/chat", 8);
	memcpy(pre, "/v1/chat", 8);
	cr_assert_eq(sl_http_path_prefix(buf, 0, 3, pre, 8), 0);
	/* The longest prefix a group may have (127 bytes) matches itself. */
	memset(buf, 'a', sizeof(buf));
	memset(pre, 'a', sizeof(pre));
	cr_assert_eq(sl_http_path_prefix(buf, 5, 200, pre, SL_HTTP_PREFIX_MAX - 1), 1);
}
