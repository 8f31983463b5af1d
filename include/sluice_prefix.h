/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Source-address aggregation to a prefix, shared by the BPF programs and the controller. */
#ifndef SLUICE_PREFIX_H
#define SLUICE_PREFIX_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define sl_be32(x) __builtin_bswap32(x)
#else
#define sl_be32(x) (x)
#endif

/* Network-order mask of the first `len` bits of a 32-bit word (len may exceed 32). */
static __always_inline __u32 sl_word_mask(__u32 len)
{
	if (len >= 32)
		return 0xffffffffu;
	if (len == 0)
		return 0;
	return sl_be32(~((1u << (32 - len)) - 1));
}

/*
 * Keep the first `len` bits of an address given as 4 network-order words (IPv4 uses w[0] and
 * leaves w[1..3] zero), zero the rest. Straight-line code: the verifier sees no loop.
 */
static __always_inline void sl_prefix_mask(__u32 w[4], __u32 len)
{
	w[0] &= sl_word_mask(len);
	w[1] &= sl_word_mask(len > 32 ? len - 32 : 0);
	w[2] &= sl_word_mask(len > 64 ? len - 64 : 0);
	w[3] &= sl_word_mask(len > 96 ? len - 96 : 0);
}

/*
 * Index of a source address (4 network-order words) in a table of 2^bits entries: the per-CPU
 * drop cache. The high half is folded down before the multiply: sources often differ only in
 * their last bytes, which a network-order load puts in the high bits, and a product's high
 * bits (the index) would then see only those few bits.
 */
static __always_inline __u32 sl_addr_index(const __u32 w[4], __u32 bits)
{
	__u32 h = w[0] ^ w[1] ^ w[2] ^ w[3];

	h ^= h >> 16;
	return (h * 0x9e3779b1u) >> (32 - bits);
}

#endif /* SLUICE_PREFIX_H */
