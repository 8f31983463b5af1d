// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The production object (not the test build) passes the verifier with every program loaded. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "sluice.skel.h"

/*
 * The other BPF tests run the test build, whose clock reads a map: its verifier walk differs
 * from the production build's, which alone gets the real clocks. This loads the production
 * object as `sluice attach` does, but without pinning, so a program that grows past the
 * verifier's 1M-instruction budget or the 512-byte stack fails here, not at attach time.
 */
Test(verifier, production_object_loads)
{
	struct bpf_map *m;
	struct sluice *skel;
	int err;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	skel = sluice__open();
	cr_assert_not_null(skel, "sluice__open: %s", strerror(errno));
	bpf_object__for_each_map(m, skel->obj)
		bpf_map__set_pin_path(m, NULL);
	err = sluice__load(skel);
	cr_assert_eq(err, 0, "the production BPF object does not load: %s (run `sluice -vv attach` "
			     "for the verifier log)", strerror(-err));
	cr_assert_gt(bpf_program__fd(skel->progs.sluice_xdp), 0);
	cr_assert_gt(bpf_program__fd(skel->progs.sluice_tc), 0);
	cr_assert_gt(bpf_program__fd(skel->progs.sluice_tc_egress), 0);
	sluice__destroy(skel);
}
