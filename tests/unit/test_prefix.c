// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of source aggregation (include/sluice_prefix.h), as the data plane does it. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "sluice_prefix.h"

static void v4(const char *s, __u32 w[4])
{
	memset(w, 0, 16);
	cr_assert_eq(inet_pton(AF_INET, s, &w[0]), 1);
}

static void v6(const char *s, __u32 w[4])
{
	cr_assert_eq(inet_pton(AF_INET6, s, w), 1);
}

static void check4(const char *in, unsigned len, const char *want)
{
	__u32 a[4], b[4];

	v4(in, a);
	v4(want, b);
	sl_prefix_mask(a, len);
	cr_assert_arr_eq(a, b, 16, "%s/%u", in, len);
}

static void check6(const char *in, unsigned len, const char *want)
{
	__u32 a[4], b[4];

	v6(in, a);
	v6(want, b);
	sl_prefix_mask(a, len);
	cr_assert_arr_eq(a, b, 16, "%s/%u", in, len);
}

Test(prefix, ipv4)
{
	check4("203.0.113.77", 32, "203.0.113.77");
	check4("203.0.113.77", 24, "203.0.113.0");
	check4("203.0.113.77", 25, "203.0.113.0");
	check4("203.0.113.200", 25, "203.0.113.128");
	check4("203.0.113.77", 16, "203.0.0.0");
	check4("203.0.113.77", 8, "203.0.0.0");
	check4("203.0.113.77", 0, "0.0.0.0");
	check4("255.255.255.255", 31, "255.255.255.254");
}

Test(prefix, ipv6)
{
	check6("2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6");
	check6("2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::");
	check6("2001:db8:1:2:3:4:5:6", 56, "2001:db8:1::");
	check6("2001:db8:1:2ff:3:4:5:6", 56, "2001:db8:1:200::");
	check6("2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::");
	check6("2001:db8:1:2:3:4:5:6", 32, "2001:db8::");
	check6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 33, "2001:db8:8000::");
	check6("2001:db8:1:2:3:4:5:6", 96, "2001:db8:1:2:3:4::");
	check6("2001:db8:1:2:3:4:5:6", 97, "2001:db8:1:2:3:4::");
	check6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 127, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
}

Test(prefix, same_aggregate)
{
	__u32 a[4], b[4];

	v6("2001:db8:0:1::1", a);
	v6("2001:db8:0:1:ffff::9", b);
	sl_prefix_mask(a, 64);
	sl_prefix_mask(b, 64);
	cr_assert_arr_eq(a, b, 16, "two hosts of one /64 share an aggregate");
	v6("2001:db8:0:2::1", b);
	sl_prefix_mask(b, 64);
	cr_assert_arr_neq(a, b, 16, "the next /64 is another aggregate");
}

Test(prefix, addr_index_spreads_last_bytes)
{
	/*
	 * 256 hosts of one /24 (they differ only in the last byte) spread over the table: 248
	 * distinct entries of 4096 with this hash (a collision only evicts a cache entry; the
	 * next packet takes the full path).
	 */
	unsigned char seen[4096] = { 0 };
	int distinct = 0;

	for (int i = 0; i < 256; i++) {
		__u32 a[4];
		char s[32];

		snprintf(s, sizeof(s), "10.205.0.%d", i);
		v4(s, a);
		__u32 idx = sl_addr_index(a, 12);

		cr_assert_lt(idx, 4096);
		distinct += !seen[idx]++;
	}
	cr_assert_geq(distinct, 240, "%d distinct entries for 256 hosts", distinct);
}
