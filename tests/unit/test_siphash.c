// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the keyed SipHash-2-4 in include/sluice_siphash.h (the same code BPF runs). */
#include <criterion/criterion.h>
#include <string.h>
#include "sluice_siphash.h"

/*
 * The test vectors of the SipHash paper (appendix A and the reference vector table): key
 * 00 01 .. 0f, message 00 01 .. (n-1) for n = 0..63, SipHash-2-4 with 64-bit output, here as
 * the integer (the table lists its bytes little-endian). Recomputed with an independent
 * Python implementation of the paper's definition, which reproduces the paper's worked
 * example (n = 15: a129ca6149be45e5) and the table's first and last entries.
 */
static const __u64 sip_vectors[64] = {
	0x726fdb47dd0e0e31ULL, /* 0 */
	0x74f839c593dc67fdULL, /* 1 */
	0x0d6c8009d9a94f5aULL, /* 2 */
	0x85676696d7fb7e2dULL, /* 3 */
	0xcf2794e0277187b7ULL, /* 4 */
	0x18765564cd99a68dULL, /* 5 */
	0xcbc9466e58fee3ceULL, /* 6 */
	0xab0200f58b01d137ULL, /* 7 */
	0x93f5f5799a932462ULL, /* 8 */
	0x9e0082df0ba9e4b0ULL, /* 9 */
	0x7a5dbbc594ddb9f3ULL, /* 10 */
	0xf4b32f46226bada7ULL, /* 11 */
	0x751e8fbc860ee5fbULL, /* 12 */
	0x14ea5627c0843d90ULL, /* 13 */
	0xf723ca908e7af2eeULL, /* 14 */
	0xa129ca6149be45e5ULL, /* 15 */
	0x3f2acc7f57c29bdbULL, /* 16 */
	0x699ae9f52cbe4794ULL, /* 17 */
	0x4bc1b3f0968dd39cULL, /* 18 */
	0xbb6dc91da77961bdULL, /* 19 */
	0xbed65cf21aa2ee98ULL, /* 20 */
	0xd0f2cbb02e3b67c7ULL, /* 21 */
	0x93536795e3a33e88ULL, /* 22 */
	0xa80c038ccd5ccec8ULL, /* 23 */
	0xb8ad50c6f649af94ULL, /* 24 */
	0xbce192de8a85b8eaULL, /* 25 */
	0x17d835b85bbb15f3ULL, /* 26 */
	0x2f2e6163076bcfadULL, /* 27 */
	0xde4daaaca71dc9a5ULL, /* 28 */
	0xa6a2506687956571ULL, /* 29 */
	0xad87a3535c49ef28ULL, /* 30 */
	0x32d892fad841c342ULL, /* 31 */
	0x7127512f72f27cceULL, /* 32 */
	0xa7f32346f95978e3ULL, /* 33 */
	0x12e0b01abb051238ULL, /* 34 */
	0x15e034d40fa197aeULL, /* 35 */
	0x314dffbe0815a3b4ULL, /* 36 */
	0x027990f029623981ULL, /* 37 */
	0xcadcd4e59ef40c4dULL, /* 38 */
	0x9abfd8766a33735cULL, /* 39 */
	0x0e3ea96b5304a7d0ULL, /* 40 */
	0xad0c42d6fc585992ULL, /* 41 */
	0x187306c89bc215a9ULL, /* 42 */
	0xd4a60abcf3792b95ULL, /* 43 */
	0xf935451de4f21df2ULL, /* 44 */
	0xa9538f0419755787ULL, /* 45 */
	0xdb9acddff56ca510ULL, /* 46 */
	0xd06c98cd5c0975ebULL, /* 47 */
	0xe612a3cb9ecba951ULL, /* 48 */
	0xc766e62cfcadaf96ULL, /* 49 */
	0xee64435a9752fe72ULL, /* 50 */
	0xa192d576b245165aULL, /* 51 */
	0x0a8787bf8ecb74b2ULL, /* 52 */
	0x81b3e73d20b49b6fULL, /* 53 */
	0x7fa8220ba3b2eceaULL, /* 54 */
	0x245731c13ca42499ULL, /* 55 */
	0xb78dbfaf3a8d83bdULL, /* 56 */
	0xea1ad565322a1a0bULL, /* 57 */
	0x60e61c23a3795013ULL, /* 58 */
	0x6606d7e446282b93ULL, /* 59 */
	0x6ca4ecb15c5f91e1ULL, /* 60 */
	0x9f626da15c9625f3ULL, /* 61 */
	0xe51b38608ef25f57ULL, /* 62 */
	0x958a324ceb064572ULL, /* 63 */
};

static struct sl_sipkey paper_key(void)
{
	__u8 k[16];
	int i;

	for (i = 0; i < 16; i++)
		k[i] = i;
	return sl_sipkey_from_bytes(k);
}

/* Deterministic generator for the randomised cases (xorshift64*). */
static __u64 rnd_state = 0x9e3779b97f4a7c15ULL;

static __u64 rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dULL;
}

Test(siphash, key_from_bytes)
{
	struct sl_sipkey k = paper_key();

	cr_assert_eq(k.k0, 0x0706050403020100ULL);
	cr_assert_eq(k.k1, 0x0f0e0d0c0b0a0908ULL);
}

Test(siphash, paper_vectors_plain)
{
	struct sl_sipkey k = paper_key();
	__u8 msg[64];
	int n;

	for (n = 0; n < 64; n++)
		msg[n] = n;
	for (n = 0; n < 64; n++)
		cr_assert_eq(sl_siphash_mem(&k, msg, n), sip_vectors[n], "length %d", n);
}

/* The BPF-shaped variant, the message placed at several offsets of a scratch buffer. */
Test(siphash, paper_vectors_scratch)
{
	static const __u32 offs[] = { 0, 1, 7, 8, 100, 255, 256, SL_HTTP_SCAN - 64 };
	struct sl_sipkey k = paper_key();
	__u8 buf[SL_HTTP_SCAN];
	unsigned o;
	int n;

	for (o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
		memset(buf, 0xa5, sizeof(buf));
		for (n = 0; n < 64; n++)
			buf[offs[o] + n] = n;
		for (n = 0; n < 64; n++)
			cr_assert_eq(sl_siphash(&k, buf, offs[o], n), sip_vectors[n],
				     "offset %u length %d", offs[o], n);
	}
}

/* Ends at the last byte of the buffer: the tail word's masked reads wrap, and are dropped. */
Test(siphash, key_at_buffer_end)
{
	struct sl_sipkey k = paper_key();
	__u8 buf[SL_HTTP_SCAN];
	int n;

	for (n = 0; n <= SL_KEY_MAX; n++) {
		memset(buf, 0x3c, sizeof(buf));
		memset(buf + SL_HTTP_SCAN - n, 0x41, n);
		cr_assert_eq(sl_siphash(&k, buf, SL_HTTP_SCAN - n, n),
			     sl_siphash_mem(&k, buf + SL_HTTP_SCAN - n, n), "length %d", n);
	}
}

/* Random keys, contents, offsets and lengths 0..SL_KEY_MAX: both variants agree. */
Test(siphash, scratch_equals_plain_random)
{
	__u8 buf[SL_HTTP_SCAN];
	struct sl_sipkey k;
	__u32 off, len;
	int i, j;

	for (i = 0; i < 20000; i++) {
		k.k0 = rnd();
		k.k1 = rnd();
		for (j = 0; j < SL_HTTP_SCAN; j++)
			buf[j] = rnd();
		len = rnd() % (SL_KEY_MAX + 1);
		off = rnd() % (SL_HTTP_SCAN - len + 1);
		cr_assert_eq(sl_siphash(&k, buf, off, len), sl_siphash_mem(&k, buf + off, len),
			     "off %u len %u", off, len);
	}
}

/* Bytes around the key do not matter, the key and the secret do. */
Test(siphash, depends_on_key_and_secret_only)
{
	struct sl_sipkey k = { 1, 2 }, k2 = { 1, 3 };
	__u8 a[SL_HTTP_SCAN], b[SL_HTTP_SCAN];
	__u64 h;

	memset(a, 'x', sizeof(a));
	memset(b, 'y', sizeof(b));
	memcpy(a + 10, "sk-test-0123456789", 18);
	memcpy(b + 300, "sk-test-0123456789", 18);
	h = sl_siphash(&k, a, 10, 18);
	cr_assert_eq(sl_siphash(&k, b, 300, 18), h);
	cr_assert_eq(sl_siphash_mem(&k, "sk-test-0123456789", 18), h);
	cr_assert_neq(sl_siphash(&k2, a, 10, 18), h, "another secret, another hash");
	cr_assert_neq(sl_siphash(&k, a, 10, 17), h, "a prefix hashes differently");
	a[27] = '8';
	cr_assert_neq(sl_siphash(&k, a, 10, 18), h, "one byte changed");
}

/* Out-of-range requests are caller bugs: they return 0 and read nothing outside buf. */
Test(siphash, out_of_range_is_zero)
{
	struct sl_sipkey k = paper_key();
	__u8 buf[SL_HTTP_SCAN];

	memset(buf, 1, sizeof(buf));
	cr_assert_eq(sl_siphash(&k, buf, 0, SL_KEY_MAX + 1), 0);
	cr_assert_eq(sl_siphash(&k, buf, SL_HTTP_SCAN - 3, 4), 0);
	cr_assert_eq(sl_siphash(&k, buf, SL_HTTP_SCAN + 1, 0), 0);
	cr_assert_eq(sl_siphash(&k, buf, 0xfffffff0u, 32), 0);
	cr_assert_neq(sl_siphash(&k, buf, SL_HTTP_SCAN, 0), 0, "empty key at the end is valid");
}
