// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of userspace/tenants.c: key ids, key hashes as BPF computes them, counter sums. */
#include <criterion/criterion.h>
#include <string.h>
#include "sluice_siphash.h"
#include "tenants.h"

Test(tenants, key_id_is_low_32_bits_of_siphash_under_the_public_key)
{
	/* The public key is "sluice key id v1" read as two little-endian words. */
	const __u8 kb[16] = "sluice key id v1";
	struct sl_sipkey k = sl_sipkey_from_bytes(kb);
	const char *key = "sk-test-0123456789";

	cr_assert_eq(sl_key_id(key, strlen(key)), (__u32)sl_siphash_mem(&k, key, strlen(key)));
}

Test(tenants, key_id_is_stable_and_distinguishes_keys)
{
	/* Pinned values: ids must never change between releases (outputs and billing use them). */
	__u32 a = sl_key_id("alpha", 5), b = sl_key_id("alphb", 5), e = sl_key_id("", 0);

	cr_assert_eq(a, sl_key_id("alpha", 5));
	cr_assert_neq(a, b);
	cr_assert_neq(a, e);
	cr_assert_neq(sl_key_id("alpha", 4), a, "the length is part of the id");
}

Test(tenants, key_id_is_not_the_secret_hash)
{
	__u64 secret[2] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };

	cr_assert_neq(sl_key_id("alpha", 5), (__u32)sl_key_hash(secret, "alpha", 5));
}

Test(tenants, key_id_str_is_8_lowercase_hex_digits)
{
	char buf[16];

	cr_assert_str_eq(sl_key_id_str(0xabc, buf, sizeof(buf)), "00000abc");
	cr_assert_str_eq(sl_key_id_str(0xDEADBEEF, buf, sizeof(buf)), "deadbeef");
	cr_assert_eq(strlen(sl_key_id_str(sl_key_id("x", 1), buf, sizeof(buf))), 8);
}

Test(tenants, key_hash_matches_the_paper_vectors)
{
	/* Key 00..0f, message 00..0e: the paper's worked example a129ca6149be45e5. */
	__u64 secret[2] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
	char msg[15];

	for (int i = 0; i < 15; i++)
		msg[i] = (char)i;
	cr_assert_eq(sl_key_hash(secret, msg, 15), 0xa129ca6149be45e5ULL);
}

Test(tenants, key_hash_equals_the_bpf_hash_at_any_offset_and_length)
{
	__u64 secret[2] = { 0x1122334455667788ULL, 0x99aabbccddeeff00ULL };
	struct sl_sipkey k = { secret[0], secret[1] };
	static __u8 buf[SL_HTTP_SCAN];
	char key[SL_KEY_MAX];

	for (int i = 0; i < SL_HTTP_SCAN; i++)
		buf[i] = (__u8)(i * 7 + 3);
	for (__u32 off = 0; off < 40; off += 13) {
		for (__u32 len = 1; len <= SL_KEY_MAX; len++) {
			memcpy(key, buf + off, len);
			cr_assert_eq(sl_key_hash(secret, key, len), sl_siphash(&k, buf, off, len),
				     "off %u len %u", off, len);
		}
	}
	/* A key at the end of the scanned bytes: the BPF tail read wraps, the value must not. */
	memcpy(key, buf + SL_HTTP_SCAN - 21, 21);
	cr_assert_eq(sl_key_hash(secret, key, 21), sl_siphash(&k, buf, SL_HTTP_SCAN - 21, 21));
}

Test(tenants, tstats_sum_adds_every_counter_over_cpus)
{
	struct sl_tstats pc[3], sum;

	memset(pc, 0, sizeof(pc));
	for (int c = 0; c < 3; c++) {
		pc[c].req_pass = 1 + c;
		pc[c].req_drop = 10;
		pc[c].req_dryrun = 100;
		pc[c].req_retrans = 2;
		pc[c].units = 5;
		pc[c].bytes_in = 1000;
		pc[c].bytes_out = 7;
		pc[c].bytes_drop = 3;
	}
	sl_tstats_sum(pc, 3, sizeof(pc[0]), &sum);
	cr_assert_eq(sum.req_pass, 6);
	cr_assert_eq(sum.req_drop, 30);
	cr_assert_eq(sum.req_dryrun, 300);
	cr_assert_eq(sum.req_retrans, 6);
	cr_assert_eq(sum.units, 15);
	cr_assert_eq(sum.bytes_in, 3000);
	cr_assert_eq(sum.bytes_out, 21);
	cr_assert_eq(sum.bytes_drop, 9);
}
