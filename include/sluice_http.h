/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* HTTP/1.x request scanning (method, path, API key) over a scratch copy of the payload. */
#ifndef SLUICE_HTTP_H
#define SLUICE_HTTP_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * Contract. The data plane copies the first bytes of a TCP payload into a per-CPU scratch
 * buffer of SL_HTTP_SCAN bytes; `len` of them are payload (a larger len counts as
 * SL_HTTP_SCAN), the rest is stale and never interpreted. Every read is buf[x & SL_HTTP_MASK],
 * so the verifier sees it inside the buffer whatever it knows about x. Offsets returned are
 * into buf. Each scanner is one plain loop of at most SL_HTTP_SCAN iterations (the bound is
 * on each loop), one byte per iteration: no bpf_loop needed (bounded loops: 5.3+; meant for
 * 5.15, measured on 6.18).
 *
 * Verifier cost. The verifier walks a plain loop iteration by iteration, and in each one every
 * path through the body for every distinct state of the loop's variables; a byte scanner
 * written the obvious way (a switch on a state, offsets counted from 0) gives it one state per
 * (machine state, offset where a value began) and it gives up at its 1M instruction limit.
 * Here the loop bodies have no branch but the one that leaves the loop: tests are computed as
 * 0 or 1 (sl_http_is0) and states are selected arithmetically (sl_http_sel), and offsets start
 * from sl_http_zero(), which the verifier cannot tell is 0. It then sees about one state and
 * one path per byte (~140k instructions processed for the 512-byte key scan and the hash).
 * sl_http_hstep() is also the body for a bpf_loop() callback (5.17+): ~25k.
 */
#define SL_HTTP_SCAN 512 /* payload bytes scanned; a power of two */
#define SL_HTTP_MASK (SL_HTTP_SCAN - 1)
#define SL_KEY_MAX   128 /* longest API key accepted, bytes */

enum sl_http_method {
	SL_HTTP_NONE = 0, /* not the start of an HTTP/1.x request */
	SL_HTTP_GET,
	SL_HTTP_POST,
	SL_HTTP_PUT,
	SL_HTTP_PATCH,
	SL_HTTP_DELETE,
	SL_HTTP_HEAD,
	SL_HTTP_OPTIONS,
};

/* sl_http_request_line() results. */
enum sl_http_rl {
	SL_HTTP_RL_OK = 0,  /* whole request line; *line_end is the first header byte */
	SL_HTTP_RL_NOT_REQ, /* no method, empty or malformed target, or not HTTP/1.x */
	SL_HTTP_RL_TRUNC,   /* the line goes on past len: path as far as seen, no line_end */
};

/* sl_http_find_key() flags: which headers carry keys. */
#define SL_HTTP_KF_XAPIKEY 0x1 /* X-API-Key: K */
#define SL_HTTP_KF_BEARER  0x2 /* Authorization: Bearer K */
#define SL_HTTP_KF_DEFAULT (SL_HTTP_KF_XAPIKEY | SL_HTTP_KF_BEARER)

/* sl_http_find_key() results. */
enum sl_http_key {
	SL_HTTP_KEY_FOUND = 0, /* the key is buf[*key_off, *key_off + *key_len), 1..SL_KEY_MAX */
	SL_HTTP_KEY_NONE,      /* headers end (blank line) with no key header */
	SL_HTTP_KEY_TRUNC,     /* headers go on past len with no key header so far */
	SL_HTTP_KEY_CUT,       /* a key header's value runs into len: *key_len bytes seen */
	SL_HTTP_KEY_INVALID,   /* the first key header's value is empty or over SL_KEY_MAX */
};

/* A big-endian 8-byte constant from characters, to compare with loaded or windowed bytes. */
#define SL_STR8(a, b, c, d, e, f, g, h)                                                       \
	((__u64)(a) << 56 | (__u64)(b) << 48 | (__u64)(c) << 40 | (__u64)(d) << 32 |          \
	 (__u64)(e) << 24 | (__u64)(f) << 16 | (__u64)(g) << 8 | (__u64)(h))

/* The compiler forgets what it knows about x here (no instruction is emitted). */
#define sl_http_opaque(x) asm volatile("" : "+r"(x))

/*
 * Returns 0, but the verifier cannot tell: two loads of one byte are two unknowns to it, and
 * their XOR, spread over 32 bits, an unknown number. Scans add it to their first offset, so
 * the offsets they record (where a value starts, where the target ends) are unknown to the
 * verifier rather than constants: no check on them can be decided on one path, and states that
 * differ only in such an offset are pruned as equivalent. Reads stay in bounds because every
 * index is masked. Nothing else writes the per-CPU buffer meanwhile, so the loads agree.
 */
static __always_inline __u32 sl_http_zero(const __u8 *buf)
{
	__u32 a = ((const volatile __u8 *)buf)[0];
	__u32 b = ((const volatile __u8 *)buf)[0];

	return (a ^ b) * 0x01010101u;
}

/*
 * 1 if x == 0, else 0, without a branch. BPF has no "set if equal": clang compiles a compare
 * to a jump, one more path per byte for the verifier. The barriers hide each intermediate
 * value so that clang cannot recognise the idiom and turn it back into a compare.
 */
static __always_inline __u64 sl_http_is0(__u64 x)
{
	__u64 t = -x;

	sl_http_opaque(t);
	t |= x;
	sl_http_opaque(t);
	return (t >> 63) ^ 1;
}

/* 1 if a < b, for a and b below 2^63, without a branch. */
static __always_inline __u64 sl_http_lt(__u64 a, __u64 b)
{
	__u64 d = a - b;

	sl_http_opaque(d);
	return d >> 63;
}

/* cond (0 or 1) ? a : b, without a branch. */
static __always_inline __u64 sl_http_sel(__u64 cond, __u64 a, __u64 b)
{
	__u64 m = -cond;

	sl_http_opaque(m);
	return b ^ ((a ^ b) & m);
}

/* 1 if c is a space or a tab. */
static __always_inline __u64 sl_http_blank(__u64 c)
{
	return sl_http_is0(c ^ ' ') | sl_http_is0(c ^ '\t');
}

/* 1 if c is CR or LF. */
static __always_inline __u64 sl_http_eol(__u64 c)
{
	return sl_http_is0(c ^ '\r') | sl_http_is0(c ^ '\n');
}

/* Zero iff (w & care) | fold == want: `fold` has 0x20 at letters, so both cases match. */
#define sl_http_diff(w, care, fold, want) ((((w) & (care)) | (fold)) ^ (want))

/* 8 bytes from p, big-endian (byte p in the top), each index masked into the buffer. */
static __always_inline __u64 sl_http_load8(const __u8 *buf, __u32 p)
{
	__u64 w = 0;
	int j;

	for (j = 0; j < 8; j++)
		w = (w << 8) | buf[(p + j) & SL_HTTP_MASK];
	return w;
}

/* Length of a method token (0 for SL_HTTP_NONE): one nibble per method, GET in nibble 1. */
static __always_inline __u32 sl_http_method_len(__u32 m)
{
	return (0x74653430u >> ((m & 7) * 4)) & 0xf;
}

/*
 * The method of a request starting at buf[0]: a token of the list, case-sensitive, followed by
 * one space. Returns SL_HTTP_NONE for anything else ("HTTP/1.1 200", "GETX /", "get /", TLS).
 * Straight-line code: no loop.
 */
static __always_inline __u32 sl_http_method(const __u8 *buf, __u32 len)
{
	__u64 w = sl_http_load8(buf, 0);

	if (len >= 4) {
		if (w >> 32 == SL_STR8(0, 0, 0, 0, 'G', 'E', 'T', ' '))
			return SL_HTTP_GET;
		if (w >> 32 == SL_STR8(0, 0, 0, 0, 'P', 'U', 'T', ' '))
			return SL_HTTP_PUT;
	}
	if (len >= 5) {
		if (w >> 24 == SL_STR8(0, 0, 0, 'P', 'O', 'S', 'T', ' '))
			return SL_HTTP_POST;
		if (w >> 24 == SL_STR8(0, 0, 0, 'H', 'E', 'A', 'D', ' '))
			return SL_HTTP_HEAD;
	}
	if (len >= 6 && w >> 16 == SL_STR8(0, 0, 'P', 'A', 'T', 'C', 'H', ' '))
		return SL_HTTP_PATCH;
	if (len >= 7 && w >> 8 == SL_STR8(0, 'D', 'E', 'L', 'E', 'T', 'E', ' '))
		return SL_HTTP_DELETE;
	if (len >= 8 && w == SL_STR8('O', 'P', 'T', 'I', 'O', 'N', 'S', ' '))
		return SL_HTTP_OPTIONS;
	return SL_HTTP_NONE;
}

/*
 * The request line "METHOD SP target SP HTTP/1.d CRLF" (bare LF accepted) at buf[0].
 * *method is set (SL_HTTP_NONE if not a request). The path is the target up to its first '?'
 * or space: buf[*path_off, *path_off + *path_len), set for OK and TRUNC (then as far as seen).
 * *line_end (OK only) is the offset just past the line's LF: where headers start.
 * Control bytes (CR, LF, tab, ...) or DEL in the target make NOT_REQ; bytes >= 0x80 pass.
 * Loop bound: SL_HTTP_SCAN iterations over the target, then straight-line version checks.
 */
static __always_inline int sl_http_request_line(const __u8 *buf, __u32 len, __u32 *method,
						__u32 *path_off, __u32 *path_len,
						__u32 *line_end)
{
	__u32 m = sl_http_method(buf, len);
	__u32 p0 = sl_http_method_len(m) + 1;
	__u32 i, n, p, z, pend, sp = 0, stop = 0;
	__u64 q, in_query = 0;
	__u64 v;
	__u8 c;

	*method = m;
	*path_off = p0;
	*path_len = 0;
	*line_end = 0;
	if (m == SL_HTTP_NONE)
		return SL_HTTP_RL_NOT_REQ;
	len = sl_http_sel(sl_http_lt(SL_HTTP_SCAN, len), SL_HTTP_SCAN, len);
	/* len and p0 differ by method: unknown, the loop is walked once for all methods. */
	z = sl_http_zero(buf);
	len += z;
	sl_http_opaque(len);
	p0 += z;
	sl_http_opaque(p0);
	n = len - p0 + z; /* p0 <= len: the method matched */
	p = p0 + z;
	pend = p;
	for (i = 0; i < SL_HTTP_SCAN; i++) { /* bound: SL_HTTP_SCAN bytes */
		if (i >= n)
			break;
		sl_http_opaque(p);
		c = buf[p & SL_HTTP_MASK];
		/* A space ends the target; other control bytes and DEL are not allowed in it. */
		if (sl_http_lt(c, '!') | sl_http_is0(c ^ 0x7f)) {
			sp = p;
			stop = 1;
			break;
		}
		q = sl_http_is0(c ^ '?') & (in_query ^ 1);
		pend = sl_http_sel(q, p, pend);
		in_query |= q;
		p++;
	}
	*path_len = sl_http_sel(in_query, pend, p) - p0;
	if (!stop) /* not i >= n: i differs at each exit, stop does not */
		return SL_HTTP_RL_TRUNC;
	if (buf[sp & SL_HTTP_MASK] != ' ' || sp == p0)
		return SL_HTTP_RL_NOT_REQ; /* control byte, or empty target */
	/* "HTTP/1.d" then CRLF or LF: 9 or 10 bytes after the space. */
	if (len - sp < 10)
		return SL_HTTP_RL_TRUNC;
	v = sl_http_load8(buf, sp + 1);
	if (v >> 8 != SL_STR8(0, 'H', 'T', 'T', 'P', '/', '1', '.') || (__u8)(v - '0') > 9)
		return SL_HTTP_RL_NOT_REQ;
	c = buf[(sp + 9) & SL_HTTP_MASK];
	if (c == '\n') {
		*line_end = sp + 10;
		return SL_HTTP_RL_OK;
	}
	if (c != '\r')
		return SL_HTTP_RL_NOT_REQ;
	if (len - sp < 11)
		return SL_HTTP_RL_TRUNC;
	if (buf[(sp + 10) & SL_HTTP_MASK] != '\n')
		return SL_HTTP_RL_NOT_REQ;
	*line_end = sp + 11;
	return SL_HTTP_RL_OK;
}

/*
 * Header scan, in two parts. sl_http_hstep() reads one byte at a time and keeps little state:
 * the last 16 bytes read (w0, w1) and one of three states. Header names are matched on the
 * window: at a ':' it must end in "\nX-API-Key:" or "\nAuthorization:" (letters in any case;
 * the LF proves that the name starts its line), so "X-Api-Keys:" and "My-X-API-Key:" do not
 * match. After "Authorization:", when its first token ends, the window must end in
 * "<':' or blank>Bearer<end>". Blanks after the name (or Bearer) are skipped, and the step
 * returns SL_HEV_VALUE at the value's first byte; sl_http_key_value() then reads the value.
 */
enum sl_http_hev {
	SL_HEV_NONE = 0, /* go on */
	SL_HEV_VALUE,    /* this byte starts a key header's value (CR or LF: the value is empty) */
	SL_HEV_END,      /* this byte is the LF of the blank line that ends the headers */
};

enum {
	SL_HS_LINE = 0, /* anywhere else */
	SL_HS_AUTH,     /* after "Authorization:", up to the end of its first token */
	SL_HS_OWS,      /* after "X-API-Key:" or "Bearer", in the blanks before the value */
};

struct sl_http_hscan {
	__u64 w0;    /* the last 8 bytes read, the newest in the low byte */
	__u64 w1;    /* the 8 bytes before them */
	__u64 st;    /* SL_HS_* */
	__u64 flags; /* SL_HTTP_KF_* */
};

/* Start at a line start: the window holds the LF that ended the previous line. */
static __always_inline void sl_http_hscan_init(struct sl_http_hscan *h, __u32 flags)
{
	h->w0 = '\n';
	h->w1 = 0;
	h->st = SL_HS_LINE;
	h->flags = flags;
}

/* One header byte c. Returns SL_HEV_NONE to go on, else the event at this byte. No branch. */
static __always_inline int sl_http_hstep(struct sl_http_hscan *h, __u8 c)
{
	__u64 w0 = (h->w0 << 8) | c;
	__u64 w1 = (h->w1 << 8) | (h->w0 >> 56);
	__u64 prev7 = w0 >> 56;         /* the byte 7 before c */
	__u64 prev1 = (w0 >> 8) & 0xff; /* the byte just before c */
	__u64 ows = sl_http_is0(h->st ^ SL_HS_OWS);
	__u64 auth = sl_http_is0(h->st ^ SL_HS_AUTH);
	__u64 colon = sl_http_is0(c ^ ':');
	__u64 blank = sl_http_blank(c);
	__u64 eol = sl_http_eol(c);
	__u64 lf = sl_http_is0(c ^ '\n');
	__u64 xname, aname, bearer, other, empty, st;

	/* "\nX-API-Key:", if enabled */
	xname = colon &
		sl_http_is0(sl_http_diff(w0, ~0ULL, SL_STR8(' ', ' ', ' ', 0, ' ', ' ', ' ', 0),
					 SL_STR8('a', 'p', 'i', '-', 'k', 'e', 'y', ':')) |
			    sl_http_diff(w1, 0xffffffULL, SL_STR8(0, 0, 0, 0, 0, 0, ' ', 0),
					 SL_STR8(0, 0, 0, 0, 0, '\n', 'x', '-')) |
			    (~h->flags & SL_HTTP_KF_XAPIKEY));
	/* "\nAuthorization:", if Bearer is enabled */
	aname = colon &
		sl_http_is0(sl_http_diff(w0, ~0ULL, SL_STR8(' ', ' ', ' ', ' ', ' ', ' ', ' ', 0),
					 SL_STR8('i', 'z', 'a', 't', 'i', 'o', 'n', ':')) |
			    sl_http_diff(w1, 0xffffffffffffffULL,
					 SL_STR8(0, 0, ' ', ' ', ' ', ' ', ' ', ' '),
					 SL_STR8(0, '\n', 'a', 'u', 't', 'h', 'o', 'r')) |
			    (~h->flags & SL_HTTP_KF_BEARER));
	/* In the first token after "Authorization:", c ends "<':' or blank>Bearer" ... */
	bearer = auth & (blank | eol) &
		 sl_http_is0(sl_http_diff(w0, 0x00ffffffffffff00ULL,
					  SL_STR8(0, ' ', ' ', ' ', ' ', ' ', ' ', 0),
					  SL_STR8(0, 'b', 'e', 'a', 'r', 'e', 'r', 0))) &
		 (sl_http_is0(prev7 ^ ':') | sl_http_blank(prev7));
	/* ... or ends another token, or is a second ':': no key on this line. */
	other = auth & (((blank | eol) &
			 ((sl_http_is0(prev1 ^ ':') | sl_http_blank(prev1) | bearer) ^ 1)) |
			colon);
	/* An LF right after an LF or a CRLF: the blank line. */
	empty = lf &
		(sl_http_is0((w0 & 0xffff) ^ 0x0a0a) | sl_http_is0((w0 & 0xffffff) ^ 0x0a0d0a));

	h->w0 = w0;
	h->w1 = w1;
	st = sl_http_sel(lf | other, SL_HS_LINE, h->st);
	st = sl_http_sel(aname, SL_HS_AUTH, st);
	st = sl_http_sel(xname | (bearer & blank), SL_HS_OWS, st);
	h->st = sl_http_sel(ows, SL_HS_OWS, st);

	/* After the blanks, any byte starts the value; "Bearer" at the end of the line: empty. */
	return (int)(((ows & (blank ^ 1)) | (bearer & eol)) * SL_HEV_VALUE |
		     ((ows ^ 1) & empty) * SL_HEV_END);
}

/*
 * The key value that starts at q (where SL_HEV_VALUE was returned; q < len <= SL_HTTP_SCAN):
 * it runs to CR, LF, space or tab. Returns FOUND, INVALID (empty, or longer than SL_KEY_MAX:
 * the scan stops at SL_KEY_MAX + 1 bytes) or CUT (len reached first: *key_len is what was
 * seen, INVALID instead if that is already too long). Loop bound: SL_KEY_MAX + 1 bytes.
 */
static __always_inline int sl_http_key_value(const __u8 *buf, __u32 len, __u32 q,
					     __u32 *key_off, __u32 *key_len)
{
	__u32 j, n = len - q, e = q;
	__u8 c;

	*key_off = q;
	for (j = 0; j <= SL_KEY_MAX; j++) { /* bound: SL_KEY_MAX + 1 bytes */
		if (j >= n) {
			*key_len = n;
			return n > SL_KEY_MAX ? SL_HTTP_KEY_INVALID : SL_HTTP_KEY_CUT;
		}
		sl_http_opaque(e);
		c = buf[e & SL_HTTP_MASK];
		if (sl_http_blank(c) | sl_http_eol(c)) {
			*key_len = e - q;
			return *key_len ? SL_HTTP_KEY_FOUND : SL_HTTP_KEY_INVALID;
		}
		e++;
	}
	*key_len = e - q;
	return SL_HTTP_KEY_INVALID; /* longer than SL_KEY_MAX */
}

/*
 * The result once the byte loop has stopped: with event ev at offset p, or (SL_HEV_NONE) at
 * len. For sl_http_find_key and for a bpf_loop() driver of sl_http_hstep().
 */
static __always_inline int sl_http_key_end(const struct sl_http_hscan *h, int ev, __u32 p,
					   const __u8 *buf, __u32 len, __u32 *key_off,
					   __u32 *key_len)
{
	*key_off = len;
	*key_len = 0;
	if (ev == SL_HEV_VALUE)
		return sl_http_key_value(buf, len, p, key_off, key_len);
	if (ev == SL_HEV_END)
		return SL_HTTP_KEY_NONE;
	return h->st == SL_HS_OWS ? SL_HTTP_KEY_CUT : SL_HTTP_KEY_TRUNC;
}

/*
 * Find the API key in the header lines that start at `start` (the request line's *line_end;
 * 0 also works: a request line never matches a header name). The first key header of an
 * enabled kind decides: the scan ends in its value, at the blank line that ends the headers,
 * or at len. Loop bound: SL_HTTP_SCAN iterations, one byte each, then sl_http_key_value().
 */
static __always_inline int sl_http_find_key(const __u8 *buf, __u32 len, __u32 start, __u32 flags,
					    __u32 *key_off, __u32 *key_len)
{
	struct sl_http_hscan h;
	__u32 i, n, p, z;
	int ev = SL_HEV_NONE;

	sl_http_hscan_init(&h, flags);
	len = sl_http_sel(sl_http_lt(SL_HTTP_SCAN, len), SL_HTTP_SCAN, len);
	/*
	 * len, n and p are unknown to the verifier: len, because callers' checks may have made
	 * it a constant on some paths and a range on others (the loop would be walked for each),
	 * n, because its exit test would otherwise narrow len differently at each iteration (the
	 * code after the loop would be walked once per exit).
	 */
	z = sl_http_zero(buf);
	len += z;
	sl_http_opaque(len);
	n = sl_http_sel(sl_http_lt(len, start), 0, (__u64)len - start) + z;
	p = start + z;
	for (i = 0; i < SL_HTTP_SCAN; i++) { /* bound: SL_HTTP_SCAN bytes */
		if (i >= n)
			break;
		sl_http_opaque(p);
		ev = sl_http_hstep(&h, buf[p & SL_HTTP_MASK]);
		if (ev != SL_HEV_NONE)
			break;
		p++;
	}
	return sl_http_key_end(&h, ev, p, buf, len, key_off, key_len);
}

/*
 * 1 if the path buf[path_off, path_off + path_len) starts with prefix[0, plen), else 0.
 * plen 0 matches every path; a path shorter than the prefix matches none; a prefix of
 * SL_HTTP_PREFIX_MAX bytes or more matches nothing. Compares only as far as the prefix goes and
 * stops at the first difference (bound: SL_HTTP_PREFIX_MAX iterations). Early exits are cheap
 * to verify only where nothing much follows: the data plane calls it from a global function.
 */
#define SL_HTTP_PREFIX_MAX 128
static __always_inline __u32 sl_http_path_prefix(const __u8 *buf, __u32 path_off, __u32 path_len,
						 const __u8 *prefix, __u32 plen)
{
	__u32 j;

	if (plen > path_len || plen >= SL_HTTP_PREFIX_MAX)
		return 0;
	for (j = 0; j < SL_HTTP_PREFIX_MAX; j++) /* bound: SL_HTTP_PREFIX_MAX bytes */
		if (j >= plen || buf[(path_off + j) & SL_HTTP_MASK] != prefix[j])
			break;
	return j >= plen;
}

#endif /* SLUICE_HTTP_H */
