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
 * buffer of SL_HTTP_SCAN bytes; `len` (<= SL_HTTP_SCAN; larger is clamped) of them are
 * payload, the rest is stale and never interpreted. Every read is buf[x & SL_HTTP_MASK], so
 * the verifier sees it inside the buffer whatever it knows about x. Offsets returned are into
 * buf. Each scanner is one plain bounded loop of at most SL_HTTP_SCAN iterations, one byte
 * per iteration, with a handful of states: it verifies on 5.15 without bpf_loop.
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

/*
 * Verifier aid: the compiler forgets what it knows about x here, so code after this point uses
 * x as computed, and cannot re-derive it from branch conditions (see sl_http_kstep).
 */
#define sl_http_opaque(x) asm volatile("" : "+r"(x))

/*
 * Verifier aid for the plain loops: returns 0, but the verifier cannot tell. It is the XOR of
 * two copies of one byte of buf, which the compiler may not fold (sl_http_opaque) and the
 * verifier, which does not know they are equal, takes as an unknown byte, shifted up here to
 * span most of the 32-bit range. Each scan adds it to its first offset, so the offsets it
 * records (where a value started, where the target ended) are unknown scalars to the
 * verifier, never constants: its checks on them (a key longer than SL_KEY_MAX?) cannot be
 * decided on one path, nothing marks them precise, and states that differ only in such an
 * offset are pruned as equivalent. With constant offsets it walks every (value start, byte)
 * pair of a 512-byte scan and gives up at its 1M instruction limit. Reads stay in bounds
 * because every index is masked.
 */
static __always_inline __u32 sl_http_zero(const __u8 *buf)
{
	__u32 a = ((const volatile __u8 *)buf)[0];
	__u32 b = ((const volatile __u8 *)buf)[0];

	return (a ^ b) * 0x01010101u;
}

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
 * The target must be visible ASCII (0x21..0x7e); control bytes, CR or LF in it make NOT_REQ.
 * Loop bound: SL_HTTP_SCAN iterations over the target, then straight-line version checks.
 */
static __always_inline int sl_http_request_line(const __u8 *buf, __u32 len, __u32 *method,
						__u32 *path_off, __u32 *path_len,
						__u32 *line_end)
{
	__u32 m = sl_http_method(buf, len);
	__u32 p0 = sl_http_method_len(m) + 1;
	__u32 p, i, pend = 0, sp = 0, in_query = 0, found = 0;
	__u64 v;
	__u8 c;

	*method = m;
	*path_off = p0;
	*path_len = 0;
	*line_end = 0;
	if (m == SL_HTTP_NONE)
		return SL_HTTP_RL_NOT_REQ;
	if (len > SL_HTTP_SCAN)
		len = SL_HTTP_SCAN;
	p = p0 + sl_http_zero(buf);
	for (i = 0; i < SL_HTTP_SCAN; i++) { /* bound: SL_HTTP_SCAN bytes */
		sl_http_opaque(p);
		if (p >= len)
			break;
		c = buf[p & SL_HTTP_MASK];
		if (c == ' ') {
			sp = p;
			found = 1;
			break;
		}
		if (c <= ' ' || c == 0x7f)
			return SL_HTTP_RL_NOT_REQ;
		if (c == '?' && !in_query) {
			in_query = 1;
			pend = p;
		}
		p++;
	}
	if (!in_query)
		pend = p; /* the space, or len */
	*path_len = pend - p0;
	if (!found)
		return SL_HTTP_RL_TRUNC;
	if (sp == p0)
		return SL_HTTP_RL_NOT_REQ; /* empty target */
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
 *
 * Why this shape: the verifier walks every iteration of a plain loop, and in each iteration
 * every distinct state of the loop's variables. Here those are the window (unknown bytes to
 * it), positions (unknown too, see sl_http_zero) and the three states: a few states per byte,
 * not one per (state, offset where something began).
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
	__u32 st;    /* SL_HS_* */
	__u32 flags; /* SL_HTTP_KF_* */
};

/*
 * Zero iff (w & care) | fold == want: `fold` has 0x20 at letters, so both cases match. Kept as
 * arithmetic (ORed, not &&-ed) so that a name check is one branch for the verifier, not four.
 */
#define sl_http_diff(w, care, fold, want) ((((w) & (care)) | (fold)) ^ (want))

static __always_inline int sl_http_is_blank(__u8 c)
{
	return c == ' ' || c == '\t';
}

static __always_inline int sl_http_is_vend(__u8 c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Start at a line start: the window holds the LF that ended the previous line. */
static __always_inline void sl_http_hscan_init(struct sl_http_hscan *h, __u32 flags)
{
	h->w0 = '\n';
	h->w1 = 0;
	h->st = SL_HS_LINE;
	h->flags = flags;
}

/* One header byte c. Returns SL_HEV_NONE to go on, else the event at this byte. */
static __always_inline int sl_http_hstep(struct sl_http_hscan *h, __u8 c)
{
	__u64 w0 = (h->w0 << 8) | c;
	__u64 w1 = (h->w1 << 8) | (h->w0 >> 56);
	__u8 prev;

	/*
	 * Verifier aid. The window is computed from c before any branch on c. Without the
	 * barrier clang may rebuild it inside the branches from what they imply ("c is ':'
	 * here"); the verifier would then know some bytes of the window and keep one state per
	 * pattern of known bytes.
	 */
	sl_http_opaque(w0);
	h->w0 = w0;
	h->w1 = w1;

	if (h->st == SL_HS_OWS)
		return sl_http_is_blank(c) ? SL_HEV_NONE : SL_HEV_VALUE;
	if (c == ':') {
		if ((sl_http_diff(w0, ~0ULL, SL_STR8(' ', ' ', ' ', 0, ' ', ' ', ' ', 0),
				  SL_STR8('a', 'p', 'i', '-', 'k', 'e', 'y', ':')) |
		     sl_http_diff(w1, 0xffffffULL, SL_STR8(0, 0, 0, 0, 0, 0, ' ', 0),
				  SL_STR8(0, 0, 0, 0, 0, '\n', 'x', '-')) |
		     (~h->flags & SL_HTTP_KF_XAPIKEY)) == 0)
			h->st = SL_HS_OWS;
		else if ((sl_http_diff(w0, ~0ULL, SL_STR8(' ', ' ', ' ', ' ', ' ', ' ', ' ', 0),
				       SL_STR8('i', 'z', 'a', 't', 'i', 'o', 'n', ':')) |
			  sl_http_diff(w1, 0xffffffffffffffULL,
				       SL_STR8(0, 0, ' ', ' ', ' ', ' ', ' ', ' '),
				       SL_STR8(0, '\n', 'a', 'u', 't', 'h', 'o', 'r')) |
			  (~h->flags & SL_HTTP_KF_BEARER)) == 0)
			h->st = SL_HS_AUTH;
		return SL_HEV_NONE;
	}
	if (!sl_http_is_vend(c))
		return SL_HEV_NONE;
	if (h->st == SL_HS_AUTH) {
		/* "Bearer" right after ':' or a blank, ended by this byte. */
		prev = w0 >> 56;
		if (sl_http_diff(w0, 0x00ffffffffffff00ULL, SL_STR8(0, ' ', ' ', ' ', ' ', ' ', ' ', 0),
				 SL_STR8(0, 'b', 'e', 'a', 'r', 'e', 'r', 0)) == 0 &&
		    (prev == ':' || sl_http_is_blank(prev))) {
			if (c == '\r' || c == '\n')
				return SL_HEV_VALUE; /* "Bearer" ends the line: empty */
			h->st = SL_HS_OWS;
			return SL_HEV_NONE;
		}
		/* A first token ended and was not Bearer: no key on this line. */
		prev = w0 >> 8;
		if (prev != ':' && !sl_http_is_blank(prev))
			h->st = SL_HS_LINE;
	}
	if (c == '\n') {
		h->st = SL_HS_LINE;
		/* Blank line, "\n\n" or "\n\r\n": one product is zero iff either matches. */
		if (((w0 & 0xffff) ^ 0x0a0a) * ((w0 & 0xffffff) ^ 0x0a0d0a) == 0)
			return SL_HEV_END;
	}
	return SL_HEV_NONE;
}

/*
 * The key value that starts at q (SL_HEV_VALUE): it runs to CR, LF, space or tab. Returns
 * FOUND, INVALID (empty, or longer than SL_KEY_MAX) or CUT (len reached first; *key_len is
 * what was seen). Loop bound: SL_KEY_MAX + 1 bytes.
 */
static __always_inline int sl_http_key_value(const __u8 *buf, __u32 len, __u32 q,
					     __u32 *key_off, __u32 *key_len)
{
	__u32 j, n, e = q;

	if (len > SL_HTTP_SCAN)
		len = SL_HTTP_SCAN;
	*key_off = q;
	*key_len = 0;
	n = len - q; /* q < len */
	for (j = 0; j <= SL_KEY_MAX; j++) { /* bound: SL_KEY_MAX + 1 bytes */
		if (j >= n) {
			*key_len = len - q;
			return *key_len > SL_KEY_MAX ? SL_HTTP_KEY_INVALID : SL_HTTP_KEY_CUT;
		}
		sl_http_opaque(e);
		if (sl_http_is_vend(buf[e & SL_HTTP_MASK])) {
			*key_len = e - q;
			return *key_len ? SL_HTTP_KEY_FOUND : SL_HTTP_KEY_INVALID;
		}
		e++;
	}
	*key_len = e - q;
	return SL_HTTP_KEY_INVALID; /* longer than SL_KEY_MAX */
}

/*
 * Find the API key in the header lines that start at `start` (the request line's *line_end;
 * 0 also works: a request line never matches a header name). The first key header of an
 * enabled kind decides; the scan ends in its value, at the blank line that ends the headers,
 * or at len. Loop bound: SL_HTTP_SCAN iterations, one byte each, then sl_http_key_value().
 */
static __always_inline int sl_http_find_key(const __u8 *buf, __u32 len, __u32 start, __u32 flags,
					    __u32 *key_off, __u32 *key_len)
{
	struct sl_http_hscan h;
	__u32 i, n, p, z;
	int ev = SL_HEV_NONE;

	sl_http_hscan_init(&h, flags);
	if (len > SL_HTTP_SCAN)
		len = SL_HTTP_SCAN;
	*key_off = len;
	*key_len = 0;
	/*
	 * Verifier aid: the loop's limit n is made unknown too, so that its exit test does not
	 * narrow len differently at each iteration (code after the loop would then be walked
	 * once per exit).
	 */
	z = sl_http_zero(buf);
	n = (len > start ? len - start : 0) + z;
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
	if (ev == SL_HEV_VALUE)
		return sl_http_key_value(buf, len, p, key_off, key_len);
	if (ev == SL_HEV_END)
		return SL_HTTP_KEY_NONE;
	return h.st == SL_HS_OWS ? SL_HTTP_KEY_CUT : SL_HTTP_KEY_TRUNC;
}

#endif /* SLUICE_HTTP_H */
