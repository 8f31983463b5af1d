// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Streaming JSON writer used by every --json command. */
#include <inttypes.h>
#include "json.h"

void sl_json_init(struct sl_json *j, FILE *f, bool pretty)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = true;
	j->pretty = pretty;
}

static void sl_json_indent(struct sl_json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void sl_json_escape(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Separator, indentation and "key": before any value. */
static void sl_json_key(struct sl_json *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth])
			fputc(',', j->f);
		sl_json_indent(j);
	}
	j->first[j->depth] = false;
	if (key) {
		sl_json_escape(j->f, key);
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void sl_json_open(struct sl_json *j, const char *key, char c)
{
	sl_json_key(j, key);
	fputc(c, j->f);
	if (j->depth < SL_JSON_DEPTH - 1)
		j->depth++;
	j->first[j->depth] = true;
}

static void sl_json_close(struct sl_json *j, char c)
{
	bool empty = j->first[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (!empty)
		sl_json_indent(j);
	fputc(c, j->f);
}

void sl_json_obj_open(struct sl_json *j, const char *key)
{
	sl_json_open(j, key, '{');
}

void sl_json_obj_close(struct sl_json *j)
{
	sl_json_close(j, '}');
}

void sl_json_arr_open(struct sl_json *j, const char *key)
{
	sl_json_open(j, key, '[');
}

void sl_json_arr_close(struct sl_json *j)
{
	sl_json_close(j, ']');
}

void sl_json_str(struct sl_json *j, const char *key, const char *val)
{
	sl_json_key(j, key);
	if (val)
		sl_json_escape(j->f, val);
	else
		fputs("null", j->f);
}

void sl_json_u64(struct sl_json *j, const char *key, uint64_t val)
{
	sl_json_key(j, key);
	fprintf(j->f, "%" PRIu64, val);
}

void sl_json_i64(struct sl_json *j, const char *key, int64_t val)
{
	sl_json_key(j, key);
	fprintf(j->f, "%" PRId64, val);
}

void sl_json_bool(struct sl_json *j, const char *key, bool val)
{
	sl_json_key(j, key);
	fputs(val ? "true" : "false", j->f);
}

void sl_json_null(struct sl_json *j, const char *key)
{
	sl_json_key(j, key);
	fputs("null", j->f);
}

void sl_json_end(struct sl_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
