/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Keyed SipHash-2-4 of API keys, the same in the BPF programs, the controller and the tests. */
#ifndef SLUICE_SIPHASH_H
#define SLUICE_SIPHASH_H

#include <linux/types.h>
#include "sluice_http.h" /* SL_HTTP_SCAN, SL_HTTP_MASK, SL_KEY_MAX */

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012) with 64-bit
 * output. The 128-bit secret is made at attach time; k0 is its first 8 bytes and k1 the next 8,
 * both read little-endian, as in the paper (sl_sipkey_from_bytes). Keys never sit raw in a map:
 * the data plane hashes the key it finds in a request, the controller the keys of the policy.
 *
 * sl_siphash() reads the key from the per-CPU scratch buffer (SL_HTTP_SCAN bytes). Every index
 * is masked with SL_HTTP_MASK, so the verifier sees each read inside the buffer whatever it
 * knows about off and len; the word loop is bounded by SL_KEY_MAX / 8 = 16 iterations.
 * sl_siphash_mem() is the userspace form on a plain pointer; the tests check they agree.
 */
struct sl_sipkey {
	__u64 k0;
	__u64 k1;
};

struct sl_sipstate {
	__u64 v0, v1, v2, v3;
};

#define SL_ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

/* clang would unroll the word loop 16 times; one copy of the body verifies as fast. */
#if defined(__clang__)
#define SL_NO_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define SL_NO_UNROLL
#endif

static __always_inline void sl_sip_init(struct sl_sipstate *s, const struct sl_sipkey *k)
{
	s->v0 = k->k0 ^ 0x736f6d6570736575ULL; /* "somepseu" */
	s->v1 = k->k1 ^ 0x646f72616e646f6dULL; /* "dorandom" */
	s->v2 = k->k0 ^ 0x6c7967656e657261ULL; /* "lygenera" */
	s->v3 = k->k1 ^ 0x7465646279746573ULL; /* "tedbytes" */
}

static __always_inline void sl_sip_round(struct sl_sipstate *s)
{
	s->v0 += s->v1;
	s->v1 = SL_ROTL64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = SL_ROTL64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = SL_ROTL64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = SL_ROTL64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = SL_ROTL64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = SL_ROTL64(s->v2, 32);
}

/* c = 2 compression rounds per 8-byte message word. */
static __always_inline void sl_sip_word(struct sl_sipstate *s, __u64 m)
{
	s->v3 ^= m;
	sl_sip_round(s);
	sl_sip_round(s);
	s->v0 ^= m;
}

/* The last word carries len mod 256 in its top byte; then d = 4 finalization rounds. */
static __always_inline __u64 sl_sip_final(struct sl_sipstate *s, __u64 last)
{
	sl_sip_word(s, last);
	s->v2 ^= 0xff;
	sl_sip_round(s);
	sl_sip_round(s);
	sl_sip_round(s);
	sl_sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/* 8 bytes of the scratch buffer from p, little-endian, each index masked into the buffer. */
static __always_inline __u64 sl_sip_load(const __u8 *buf, __u32 p)
{
	__u64 m = 0;
	int j;

	for (j = 0; j < 8; j++)
		m |= (__u64)buf[(p + j) & SL_HTTP_MASK] << (8 * j);
	return m;
}

/*
 * SipHash-2-4 of buf[off, off + len), buf being a scratch buffer of SL_HTTP_SCAN bytes.
 * Returns 0 when len > SL_KEY_MAX or the range leaves the buffer (a caller bug: the scanner in
 * sluice_http.h never reports such a key). The tail word reads up to 7 bytes past the key,
 * masked into the buffer and then discarded.
 */
static __always_inline __u64 sl_siphash(const struct sl_sipkey *k, const __u8 *buf, __u32 off,
					__u32 len)
{
	struct sl_sipstate s;
	__u32 nw = len >> 3;
	__u32 tail = len & 7;
	__u64 last;
	__u32 i;

	if (len > SL_KEY_MAX || off > SL_HTTP_SCAN - len)
		return 0;
	sl_sip_init(&s, k);
	SL_NO_UNROLL
	for (i = 0; i < SL_KEY_MAX / 8; i++) { /* bound: 16 words */
		if (i >= nw)
			break;
		sl_sip_word(&s, sl_sip_load(buf, off + 8 * i));
	}
	last = sl_sip_load(buf, off + 8 * nw) & ((1ULL << (8 * tail)) - 1);
	return sl_sip_final(&s, last | (__u64)len << 56);
}

#ifndef __bpf__
#include <stddef.h>

/* The 16 secret bytes (as stored, generated, or printed) to the key words. */
static inline struct sl_sipkey sl_sipkey_from_bytes(const __u8 b[16])
{
	struct sl_sipkey k = { 0, 0 };
	int j;

	for (j = 0; j < 8; j++) {
		k.k0 |= (__u64)b[j] << (8 * j);
		k.k1 |= (__u64)b[8 + j] << (8 * j);
	}
	return k;
}

/* Controller side: SipHash-2-4 of any byte string (the policy's keys, any length). */
static inline __u64 sl_siphash_mem(const struct sl_sipkey *k, const void *data, size_t len)
{
	const __u8 *d = (const __u8 *)data;
	struct sl_sipstate s;
	__u64 m, last = (__u64)len << 56;
	size_t i;
	int j;

	sl_sip_init(&s, k);
	for (i = 0; i + 8 <= len; i += 8) {
		m = 0;
		for (j = 0; j < 8; j++)
			m |= (__u64)d[i + j] << (8 * j);
		sl_sip_word(&s, m);
	}
	for (j = 0; i + j < len; j++)
		last |= (__u64)d[i + j] << (8 * j);
	return sl_sip_final(&s, last);
}
#endif

#endif /* SLUICE_SIPHASH_H */
