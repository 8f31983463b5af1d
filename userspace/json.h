/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A small streaming JSON writer for --json output: nesting, commas and string escaping. */
#ifndef SLUICE_JSON_H
#define SLUICE_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#define SL_JSON_DEPTH 16

struct sl_json {
	FILE *f;
	int depth;
	bool first[SL_JSON_DEPTH];
	bool pretty;
};

void sl_json_init(struct sl_json *j, FILE *f, bool pretty);
void sl_json_obj_open(struct sl_json *j, const char *key);   /* key NULL inside arrays / top */
void sl_json_obj_close(struct sl_json *j);
void sl_json_arr_open(struct sl_json *j, const char *key);
void sl_json_arr_close(struct sl_json *j);
void sl_json_str(struct sl_json *j, const char *key, const char *val);
void sl_json_u64(struct sl_json *j, const char *key, uint64_t val);
void sl_json_i64(struct sl_json *j, const char *key, int64_t val);
void sl_json_bool(struct sl_json *j, const char *key, bool val);
void sl_json_null(struct sl_json *j, const char *key);
/* Terminate the document with a newline. */
void sl_json_end(struct sl_json *j);

#endif
