// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of per-CPU counter sums (userspace/stats.c) and the JSON writer. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "stats.h"

Test(stats, percpu_sum)
{
	const int ncpu = 3;
	size_t stride = sizeof(struct sl_slot_stats);
	struct sl_slot_stats *pc = calloc(ncpu, stride), sum;

	for (int c = 0; c < ncpu; c++) {
		pc[c].c[SL_R_LIMIT][SL_O_PASS].packets = 10 * (c + 1);
		pc[c].c[SL_R_LIMIT][SL_O_PASS].bytes = 1000 * (c + 1);
		pc[c].c[SL_R_DENY][SL_O_DROP].packets = c;
		pc[c].c[SL_R_OVERFLOW][SL_O_DRYRUN].packets = 1;
	}
	sl_stats_sum(pc, ncpu, stride, &sum);
	cr_assert_eq(sum.c[SL_R_LIMIT][SL_O_PASS].packets, 60);
	cr_assert_eq(sum.c[SL_R_LIMIT][SL_O_PASS].bytes, 6000);
	cr_assert_eq(sum.c[SL_R_DENY][SL_O_DROP].packets, 3);
	cr_assert_eq(sl_stats_outcome(&sum, SL_O_DROP).packets, 3);
	cr_assert_eq(sl_stats_outcome(&sum, SL_O_DRYRUN).packets, 3);
	cr_assert_eq(sl_stats_outcome(&sum, SL_O_PASS).packets, 60);
	cr_assert(!sl_stats_is_zero(&sum));
	memset(&sum, 0, sizeof(sum));
	cr_assert(sl_stats_is_zero(&sum));
	free(pc);
}

Test(stats, names_cover_every_reason)
{
	for (int r = 0; r < SL_NR_REASONS; r++)
		cr_assert_str_neq(sl_reason_name(r), "?", "reason %d has no name", r);
	for (int o = 0; o < SL_NR_OUTCOMES; o++)
		cr_assert_str_neq(sl_outcome_name(o), "?");
	cr_assert_str_eq(sl_reason_name(SL_NR_REASONS), "?");
}

Test(json, nesting_and_escaping)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct sl_json j;

	sl_json_init(&j, f, false);
	sl_json_obj_open(&j, NULL);
	sl_json_str(&j, "a", "x\"y\\z\n");
	sl_json_arr_open(&j, "l");
	sl_json_u64(&j, NULL, 1);
	sl_json_u64(&j, NULL, 18446744073709551615ULL);
	sl_json_arr_close(&j);
	sl_json_arr_open(&j, "e");
	sl_json_arr_close(&j);
	sl_json_obj_open(&j, "o");
	sl_json_bool(&j, "t", true);
	sl_json_i64(&j, "n", -5);
	sl_json_obj_close(&j);
	sl_json_obj_close(&j);
	sl_json_end(&j);
	fclose(f);
	cr_assert_str_eq(buf, "{\"a\":\"x\\\"y\\\\z\\n\",\"l\":[1,18446744073709551615],\"e\":[],"
			      "\"o\":{\"t\":true,\"n\":-5}}\n");
	free(buf);
}
