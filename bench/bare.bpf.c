// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Baselines for the benchmarks: XDP programs that do nothing but return a verdict. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* The floor of BPF_PROG_TEST_RUN: the test loop's own cost per packet. */
SEC("xdp")
int bare_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* The fastest any receiver-side XDP filter can be on this machine. */
SEC("xdp")
int bare_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
