/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Policy files: YAML (libyaml document API) -> a validated struct sl_policy, or one clear error. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "policy.h"
#include "sluice_prefix.h"

#define POLICY_MAX_BYTES (1024 * 1024)
/* One full-size Ethernet frame: a byte bucket smaller than this never admits such a frame. */
#define MIN_BYTES_BURST  1514
/* The rule trie holds SL_LPM_MAX_ENTRIES CIDRs over two generations (old and new policy). */
#define MAX_CIDRS        (SL_LPM_MAX_ENTRIES / 2)
#define SHOW_MAX         40 /* characters of user text quoted in a message */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct cidr_ref {
	struct sl_cidr c;
	int line;
	int rule; /* index into sl_policy.rules */
	int seq;  /* order in the file */
};

/* Everything one parse needs; `refs` collects every CIDR for the duplicate check. */
struct pctx {
	const char *file;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
	struct cidr_ref *refs;
	int n_refs;
	int name_line[SL_MAX_RULES];
};

/* One key of a mapping: the parser fills k/v with the nodes found, NULL when absent. */
struct field {
	const char *key;
	yaml_node_t *k;
	yaml_node_t *v;
};

struct word {
	const char *text;
	int val;
};

static const struct word action_words[] = {
	{ "limit", SL_ACT_LIMIT },
	{ "allow", SL_ACT_ALLOW },
	{ "deny", SL_ACT_DENY },
};

static const struct word unit_words[] = {
	{ "packets", 0 },
	{ "bytes", 1 },
};

static const struct word verdict_words[] = {
	{ "pass", SL_CV_PASS },
	{ "drop", SL_CV_DROP },
	{ "limit", SL_CV_LIMIT },
};

static const struct word clock_words[] = {
	{ "auto", SL_CLOCK_AUTO },
	{ "precise", SL_CLOCK_PRECISE },
	{ "tick", SL_CLOCK_TICK },
};

static const struct word bool_words[] = {
	{ "true", 1 }, { "false", 0 }, { "yes", 1 }, { "no", 0 }, { "on", 1 }, { "off", 0 },
};

static void vemit(char *err, size_t errlen, const char *file, int line, const char *fmt,
		  va_list ap)
{
	int n;

	if (!err || !errlen)
		return;
	if (line > 0)
		n = snprintf(err, errlen, "%s:%d: ", file, line);
	else
		n = snprintf(err, errlen, "%s: ", file);
	if (n < 0 || (size_t)n >= errlen)
		return;
	vsnprintf(err + n, errlen - n, fmt, ap);
}

static void __attribute__((format(printf, 5, 6)))
emit(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(err, errlen, file, line, fmt, ap);
	va_end(ap);
}

/* Record the error "FILE:LINE: reason" (no line when line <= 0); returns -EINVAL. */
static int __attribute__((format(printf, 3, 4)))
fail(const struct pctx *c, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(c->err, c->errlen, c->file, line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int nomem(const struct pctx *c)
{
	emit(c->err, c->errlen, c->file, 0, "out of memory while reading the policy");
	return -ENOMEM;
}

static int line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static yaml_node_t *node_at(const struct pctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a single value";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/*
 * Quote user text for a message: at most SHOW_MAX characters (cut on a UTF-8 boundary),
 * control characters shown as '?'. `buf` must hold SHOW_MAX + 4 bytes.
 */
static const char *show(char *buf, const char *s, size_t len)
{
	size_t n = len > SHOW_MAX ? SHOW_MAX : len;
	size_t i;

	while (n < len && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	for (i = 0; i < n; i++) {
		unsigned char ch = s[i];

		buf[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

#define SHOWBUF(name) char name[SHOW_MAX + 4]

static const char *scalar_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static size_t scalar_len(const yaml_node_t *n)
{
	return n->data.scalar.length;
}

/*
 * The text of a scalar value. `what` names the value ("rate", "rule name"), `expect` says what
 * it should be ("a number"). Refuses lists, mappings, empty values and embedded NULs.
 */
static int get_scalar(const struct pctx *c, const yaml_node_t *n, const char *what,
		      const char *expect, const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail(c, line_of(n), "%s must be %s, not %s", what, expect, kind(n));
	if (scalar_len(n) == 0)
		return fail(c, line_of(n), "%s has no value; give %s", what, expect);
	if (strlen(scalar_text(n)) != scalar_len(n))
		return fail(c, line_of(n), "%s contains a NUL character; give %s", what, expect);
	*out = scalar_text(n);
	return 0;
}

/* Optimal-string-alignment distance, capped: enough to catch typos like "brust". */
static int edit_distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), i, j;
	int d[33][33];

	if (la > 32 || lb > 32)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			int cost = a[i - 1] == b[j - 1] ? 0 : 1;
			int v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

static int unknown_key(const struct pctx *c, const yaml_node_t *k, const char *where,
		       const struct field *f, int nf)
{
	char allowed[256] = "", hint[64] = "";
	const char *best = NULL;
	int best_d = 99, i;
	size_t used = 0;
	SHOWBUF(kb);

	for (i = 0; i < nf; i++) {
		int d = edit_distance(scalar_text(k), scalar_len(k), f[i].key);
		int n;

		if (d < best_d) {
			best_d = d;
			best = f[i].key;
		}
		n = snprintf(allowed + used, sizeof(allowed) - used, "%s%s", i ? ", " : "",
			     f[i].key);
		if (n > 0 && (size_t)n < sizeof(allowed) - used)
			used += n;
	}
	if (best && best_d <= (strlen(best) <= 4 ? 1 : 2))
		snprintf(hint, sizeof(hint), "did you mean \"%s\"? ", best);
	return fail(c, line_of(k), "unknown key \"%s\" %s; %sallowed keys: %s",
		    show(kb, scalar_text(k), scalar_len(k)), where, hint, allowed);
}

/*
 * Match the keys of `map` against f[0..nf): unknown keys, duplicate keys and non-scalar keys
 * are errors. `where` places the mapping in messages ("in rule \"web\"").
 */
static int get_fields(const struct pctx *c, const yaml_node_t *map, const char *where,
		      struct field *f, int nf)
{
	yaml_node_pair_t *pair;
	int i;

	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(c, pair->key);
		yaml_node_t *v = node_at(c, pair->value);

		if (!k || !v)
			return fail(c, line_of(map), "malformed mapping %s", where);
		if (k->type != YAML_SCALAR_NODE)
			return fail(c, line_of(k), "a key %s is %s; keys are plain words like rate",
				    where, kind(k));
		for (i = 0; i < nf; i++) {
			if (strlen(f[i].key) == scalar_len(k) &&
			    !memcmp(f[i].key, scalar_text(k), scalar_len(k)))
				break;
		}
		if (i == nf)
			return unknown_key(c, k, where, f, nf);
		if (f[i].k)
			return fail(c, line_of(k),
				    "duplicate key \"%s\" %s (first given on line %d); keep one",
				    f[i].key, where, line_of(f[i].k));
		f[i].k = k;
		f[i].v = v;
	}
	return 0;
}

static int find_word(const struct word *w, int nw, const char *s, bool nocase)
{
	int i;

	for (i = 0; i < nw; i++) {
		if (nocase ? !strcasecmp(w[i].text, s) : !strcmp(w[i].text, s))
			return i;
	}
	return -1;
}

static void word_list(const struct word *w, int nw, char *buf, size_t len)
{
	size_t used = 0;
	int i, n;

	buf[0] = '\0';
	for (i = 0; i < nw; i++) {
		n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", w[i].text);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += n;
	}
}

/* One of a fixed set of words (exact, lowercase), e.g. action: limit. */
static int get_word(const struct pctx *c, const yaml_node_t *n, const char *what,
		    const struct word *w, int nw, int *out)
{
	char list[128];
	const char *s;
	int ret, i;
	SHOWBUF(sb);

	word_list(w, nw, list, sizeof(list));
	if (n->type != YAML_SCALAR_NODE)
		return fail(c, line_of(n), "%s must be one of: %s, not %s", what, list, kind(n));
	ret = get_scalar(c, n, what, "one of the words listed in docs/policy.md", &s);
	if (ret)
		return ret;
	i = find_word(w, nw, s, false);
	if (i < 0)
		return fail(c, line_of(n), "%s \"%s\" is not valid; use one of: %s", what,
			    show(sb, s, strlen(s)), list);
	*out = w[i].val;
	return 0;
}

static int get_bool(const struct pctx *c, const yaml_node_t *n, const char *what, bool *out)
{
	const char *s;
	int ret, i;
	SHOWBUF(sb);

	ret = get_scalar(c, n, what, "true or false", &s);
	if (ret)
		return ret;
	i = find_word(bool_words, ARRAY_LEN(bool_words), s, true);
	if (i < 0)
		return fail(c, line_of(n),
			    "%s \"%s\" is not a boolean; use true or false (yes/no, on/off also work)",
			    what, show(sb, s, strlen(s)));
	*out = bool_words[i].val;
	return 0;
}

/*
 * A non-negative decimal integer with an optional suffix k/K, M/m, G/g (x1000, x10^6, x10^9).
 * Returns 0, or -EINVAL with *why set to a phrase that completes "rate \"x\" ...".
 */
static int parse_count(const char *s, __u64 *out, const char **why)
{
	const char *p = s;
	__u64 v = 0, mul = 1;

	*why = "is not a number; use digits with an optional k, M or G suffix, e.g. 1000 or 10M";
	if (*p == '-') {
		*why = "is negative; give a whole number without a sign";
		return -EINVAL;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = *p - '0';

		if (v > (~0ULL - d) / 10) {
			*why = "is too large: it does not fit in 64 bits";
			return -EINVAL;
		}
		v = v * 10 + d;
	}
	if (*p == '.' || *p == ',') {
		*why = "is not a whole number; sluice counts whole units (write 1500k, not 1.5M)";
		return -EINVAL;
	}
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mul = 1000ULL;
		p++;
		break;
	case 'M':
	case 'm':
		mul = 1000000ULL;
		p++;
		break;
	case 'G':
	case 'g':
		mul = 1000000000ULL;
		p++;
		break;
	default:
		return -EINVAL;
	}
	if (*p == 'i' && mul > 1) {
		*why = "uses a binary suffix; sluice's suffixes k, M, G are powers of 1000";
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	if (v > ~0ULL / mul) {
		*why = "is too large: it does not fit in 64 bits";
		return -EINVAL;
	}
	*out = v * mul;
	return 0;
}

static int get_count(const struct pctx *c, const yaml_node_t *n, const char *what, __u64 *out)
{
	const char *s, *why;
	int ret;
	SHOWBUF(sb);

	ret = get_scalar(c, n, what, "a number", &s);
	if (ret)
		return ret;
	if (parse_count(s, out, &why))
		return fail(c, line_of(n), "%s \"%s\" %s", what, show(sb, s, strlen(s)), why);
	return 0;
}

/* Policy and rule names: [A-Za-z0-9_.-], 1 .. SL_NAME_MAX - 1 characters. */
static int get_name(const struct pctx *c, const yaml_node_t *n, const char *what,
		    char out[SL_NAME_MAX])
{
	const char *s, *p;
	size_t len;
	int ret;
	SHOWBUF(sb);

	ret = get_scalar(c, n, what, "a name of letters, digits, '_', '.' or '-'", &s);
	if (ret)
		return ret;
	len = strlen(s);
	if (len > SL_NAME_MAX - 1)
		return fail(c, line_of(n), "%s \"%s\" is %zu characters long; at most %d fit",
			    what, show(sb, s, len), len, SL_NAME_MAX - 1);
	for (p = s; *p; p++) {
		unsigned char ch = *p;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-')
			continue;
		if (ch >= 0x20 && ch < 0x7f)
			return fail(c, line_of(n),
				    "%s \"%s\" contains '%c'; use only letters, digits, '_', '.' and '-'",
				    what, show(sb, s, len), ch);
		return fail(c, line_of(n),
			    "%s \"%s\" contains byte 0x%02x; use only letters, digits, '_', '.' and '-'",
			    what, show(sb, s, len), ch);
	}
	memcpy(out, s, len + 1);
	return 0;
}

/* Parse without the host-bits check; *why completes "cidr \"x\" ...". */
static int cidr_parse_raw(const char *s, struct sl_cidr *out, const char **why)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned int len = 0, max;
	const char *p;

	memset(out, 0, sizeof(*out));
	*why = "is not an IPv4 or IPv6 address; write a.b.c.d/n or x:x::/n";
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = SL_AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = SL_AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	if (!slash) {
		out->len = max;
		return 0;
	}
	*why = max == 32 ? "has a bad prefix length; IPv4 takes /0 to /32" :
			   "has a bad prefix length; IPv6 takes /0 to /128";
	if (!slash[1])
		return -EINVAL;
	for (p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		len = len * 10 + (*p - '0');
		if (len > max)
			return -EINVAL;
	}
	out->len = len;
	return 0;
}

/* Copy of `c` with the bits past its prefix length cleared. */
static void cidr_masked(const struct sl_cidr *c, struct sl_cidr *m)
{
	__u32 w[4];

	*m = *c;
	memcpy(w, c->addr, sizeof(w));
	sl_prefix_mask(w, c->len);
	memcpy(m->addr, w, sizeof(w));
}

int sl_cidr_parse(const char *s, struct sl_cidr *out)
{
	struct sl_cidr m;
	const char *why;

	if (!s || !out || cidr_parse_raw(s, out, &why))
		return -EINVAL;
	cidr_masked(out, &m);
	if (memcmp(m.addr, out->addr, sizeof(m.addr)))
		return -EINVAL;
	return 0;
}

const char *sl_cidr_str(const struct sl_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int af = 0;

	if (!buf || !len)
		return buf;
	if (c && c->family == SL_AF_INET)
		af = AF_INET;
	else if (c && c->family == SL_AF_INET6)
		af = AF_INET6;
	if (!af || !inet_ntop(af, c->addr, a, sizeof(a)))
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s/%u", a, c->len);
	return buf;
}

const char *sl_action_name(__u8 action)
{
	switch (action) {
	case SL_ACT_LIMIT:
		return "limit";
	case SL_ACT_ALLOW:
		return "allow";
	case SL_ACT_DENY:
		return "deny";
	default:
		return "unknown";
	}
}

const char *sl_class_verdict_name(__u8 v)
{
	switch (v) {
	case SL_CV_PASS:
		return "pass";
	case SL_CV_DROP:
		return "drop";
	case SL_CV_LIMIT:
		return "limit";
	default:
		return "unknown";
	}
}

static int add_ref(struct pctx *c, const struct sl_cidr *cidr, int line, int rule)
{
	struct cidr_ref *r;

	if (c->n_refs >= MAX_CIDRS)
		return fail(c, line,
			    "too many CIDRs: a policy holds at most %d over all rules (the rule table keeps %d for the old and new policy together); use shorter prefixes",
			    MAX_CIDRS, SL_LPM_MAX_ENTRIES);
	if ((c->n_refs & (c->n_refs - 1)) == 0) {
		/* Grow at powers of two. */
		int cap = c->n_refs ? c->n_refs * 2 : 16;

		r = realloc(c->refs, cap * sizeof(*r));
		if (!r)
			return nomem(c);
		c->refs = r;
	}
	r = &c->refs[c->n_refs];
	r->c = *cidr;
	r->line = line;
	r->rule = rule;
	r->seq = c->n_refs++;
	return 0;
}

static int get_cidr(struct pctx *c, const yaml_node_t *n, int rule, struct sl_cidr *out)
{
	char sugg[INET6_ADDRSTRLEN + 8], host[INET6_ADDRSTRLEN + 8];
	const char *s, *why;
	struct sl_cidr m;
	int ret;
	SHOWBUF(sb);

	if (n->type != YAML_SCALAR_NODE)
		return fail(c, line_of(n),
			    "each cidr must be a single address or prefix like 10.0.0.0/8, not %s",
			    kind(n));
	ret = get_scalar(c, n, "cidr", "an address or prefix like 10.0.0.0/8", &s);
	if (ret)
		return ret;
	if (cidr_parse_raw(s, out, &why))
		return fail(c, line_of(n), "cidr \"%s\" %s", show(sb, s, strlen(s)), why);
	cidr_masked(out, &m);
	if (memcmp(m.addr, out->addr, sizeof(m.addr))) {
		struct sl_cidr h = *out;

		h.len = out->family == SL_AF_INET ? 32 : 128;
		sl_cidr_str(&m, sugg, sizeof(sugg));
		sl_cidr_str(&h, host, sizeof(host));
		return fail(c, line_of(n),
			    "cidr %s has host bits set; did you mean %s? (or %s for that one host)",
			    show(sb, s, strlen(s)), sugg, host);
	}
	return add_ref(c, out, line_of(n), rule);
}

static int get_cidrs(struct pctx *c, const yaml_node_t *n, int rule, struct sl_policy_rule *r)
{
	yaml_node_item_t *it;
	int count, ret;

	if (n->type == YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "cidr must be one prefix or a list of prefixes like [10.0.0.0/8, \"::/0\"], not a mapping");
	count = n->type == YAML_SCALAR_NODE ? 1 :
		(int)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count == 0)
		return fail(c, line_of(n), "cidr list is empty; give at least one prefix");
	r->cidrs = calloc(count, sizeof(*r->cidrs));
	if (!r->cidrs)
		return nomem(c);
	if (n->type == YAML_SCALAR_NODE) {
		ret = get_cidr(c, n, rule, &r->cidrs[0]);
		if (ret)
			return ret;
		r->n_cidrs = 1;
		return 0;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = node_at(c, *it);

		if (!e)
			return fail(c, line_of(n), "malformed cidr list");
		ret = get_cidr(c, e, rule, &r->cidrs[r->n_cidrs]);
		if (ret)
			return ret;
		r->n_cidrs++;
	}
	return 0;
}

static int get_prefix(const struct pctx *c, const yaml_node_t *n, const char *where,
		      struct sl_policy_rule *r)
{
	struct field f[] = { { .key = "ipv4" }, { .key = "ipv6" } };
	char in[128];
	__u64 v;
	int ret;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "prefix must be a mapping like {ipv4: 24, ipv6: 56}, not %s", kind(n));
	snprintf(in, sizeof(in), "in prefix %s", where);
	ret = get_fields(c, n, in, f, ARRAY_LEN(f));
	if (ret)
		return ret;
	if (f[0].v) {
		ret = get_count(c, f[0].v, "prefix ipv4", &v);
		if (ret)
			return ret;
		if (v > 32)
			return fail(c, line_of(f[0].v),
				    "prefix ipv4 %llu is out of range; give 0 to 32 (32: each address, 0: one bucket for the whole rule)",
				    (unsigned long long)v);
		r->prefix4 = v;
	}
	if (f[1].v) {
		ret = get_count(c, f[1].v, "prefix ipv6", &v);
		if (ret)
			return ret;
		if (v > 128)
			return fail(c, line_of(f[1].v),
				    "prefix ipv6 %llu is out of range; give 0 to 128 (64: each /64 subnet, 0: one bucket for the whole rule)",
				    (unsigned long long)v);
		r->prefix6 = v;
	}
	return 0;
}

/* A burst in units of the rule: at least 1, and for bytes at least one full frame. */
static int check_burst(const struct pctx *c, const yaml_node_t *n, const char *what, __u64 burst,
		       bool bytes)
{
	if (burst == 0)
		return fail(c, line_of(n),
			    "%s 0 would admit nothing; give at least 1 (or use action: deny)", what);
	if (bytes && burst < MIN_BYTES_BURST)
		return fail(c, line_of(n),
			    "%s %llu bytes is below %d, one full-size Ethernet frame: nothing larger than the burst would ever pass; give at least %d",
			    what, (unsigned long long)burst, MIN_BYTES_BURST, MIN_BYTES_BURST);
	return 0;
}

static int get_overflow(const struct pctx *c, const yaml_node_t *n, const char *where,
			struct sl_policy_rule *r, bool check)
{
	struct field f[] = { { .key = "rate" }, { .key = "burst" } };
	char in[128];
	int ret;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "overflow must be a mapping like {rate: 1000, burst: 2000}, not %s",
			    kind(n));
	snprintf(in, sizeof(in), "in overflow %s", where);
	ret = get_fields(c, n, in, f, ARRAY_LEN(f));
	if (ret)
		return ret;
	if (f[0].v) {
		ret = get_count(c, f[0].v, "overflow rate", &r->ovf_rate);
		if (ret)
			return ret;
		if (check && r->ovf_rate == 0)
			return fail(c, line_of(f[0].v),
				    "overflow rate 0 would drop every new source once the table is full; give at least 1");
	}
	if (f[1].v) {
		ret = get_count(c, f[1].v, "overflow burst", &r->ovf_burst);
		if (ret)
			return ret;
		if (check) {
			ret = check_burst(c, f[1].v, "overflow burst", r->ovf_burst, r->bytes);
			if (ret)
				return ret;
		}
	}
	return 0;
}

enum {
	R_NAME,
	R_CIDR,
	R_PREFIX,
	R_RATE,
	R_UNIT,
	R_BURST,
	R_ACTION,
	R_DRYRUN,
	R_OVERFLOW,
	R_NR,
};

/* The name of rule `idx` if it has a usable one, for messages before it is validated. */
static void rule_where(const struct pctx *c, const yaml_node_t *n, int idx, char *buf,
		       size_t len)
{
	yaml_node_pair_t *pair;
	SHOWBUF(sb);

	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(c, pair->key), *v = node_at(c, pair->value);

		if (k && v && k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
		    !strcmp(scalar_text(k), "name") && scalar_len(v)) {
			show(sb, scalar_text(v), scalar_len(v));
			snprintf(buf, len, "in rule \"%s\"", sb);
			return;
		}
	}
	snprintf(buf, len, "in rule #%d", idx + 1);
}

static int parse_rule(struct pctx *c, const yaml_node_t *n, int idx, struct sl_policy *p)
{
	struct field f[R_NR] = {
		[R_NAME] = { .key = "name" },
		[R_CIDR] = { .key = "cidr" },
		[R_PREFIX] = { .key = "prefix" },
		[R_RATE] = { .key = "rate" },
		[R_UNIT] = { .key = "unit" },
		[R_BURST] = { .key = "burst" },
		[R_ACTION] = { .key = "action" },
		[R_DRYRUN] = { .key = "dry_run" },
		[R_OVERFLOW] = { .key = "overflow" },
	};
	struct sl_policy_rule *r = &p->rules[idx];
	const char *units;
	char where[96];
	bool limit;
	int ret, i, v;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "rule #%d must be a mapping (name: ..., cidr: ..., rate: ...), not %s",
			    idx + 1, kind(n));
	r->line = line_of(n);
	rule_where(c, n, idx, where, sizeof(where));
	ret = get_fields(c, n, where, f, R_NR);
	if (ret)
		return ret;

	if (!f[R_NAME].v)
		return fail(c, r->line,
			    "rule #%d has no \"name\" key; every rule needs a unique name", idx + 1);
	ret = get_name(c, f[R_NAME].v, "rule name", r->name);
	if (ret)
		return ret;
	c->name_line[idx] = line_of(f[R_NAME].v);
	for (i = 0; i < idx; i++) {
		if (!strcmp(p->rules[i].name, r->name))
			return fail(c, c->name_line[idx],
				    "rule name \"%s\" is already used on line %d; rule names must be unique",
				    r->name, c->name_line[i]);
	}
	snprintf(where, sizeof(where), "in rule \"%s\"", r->name);

	if (!f[R_CIDR].v)
		return fail(c, r->line,
			    "rule \"%s\" has no \"cidr\" key; add cidr: 10.0.0.0/8 or a list of prefixes",
			    r->name);
	ret = get_cidrs(c, f[R_CIDR].v, idx, r);
	if (ret)
		return ret;

	r->action = SL_ACT_LIMIT;
	if (f[R_ACTION].v) {
		ret = get_word(c, f[R_ACTION].v, "action", action_words, ARRAY_LEN(action_words),
			       &v);
		if (ret)
			return ret;
		r->action = v;
	}
	limit = r->action == SL_ACT_LIMIT;

	if (f[R_UNIT].v) {
		ret = get_word(c, f[R_UNIT].v, "unit", unit_words, ARRAY_LEN(unit_words), &v);
		if (ret)
			return ret;
		r->bytes = v;
	}
	units = r->bytes ? "bytes" : "packets";

	r->prefix4 = 32;
	r->prefix6 = 64;
	if (f[R_PREFIX].v) {
		ret = get_prefix(c, f[R_PREFIX].v, where, r);
		if (ret)
			return ret;
	}

	if (f[R_DRYRUN].v) {
		ret = get_bool(c, f[R_DRYRUN].v, "dry_run", &r->dry_run);
		if (ret)
			return ret;
	}

	/*
	 * Rate, burst and overflow are read on every rule (so garbage is caught) but only
	 * checked and kept for action limit.
	 */
	if (f[R_RATE].v) {
		ret = get_count(c, f[R_RATE].v, "rate", &r->rate);
		if (ret)
			return ret;
	}
	if (f[R_BURST].v) {
		ret = get_count(c, f[R_BURST].v, "burst", &r->burst);
		if (ret)
			return ret;
	}
	if (!limit) {
		if (f[R_OVERFLOW].v) {
			ret = get_overflow(c, f[R_OVERFLOW].v, where, r, false);
			if (ret)
				return ret;
		}
		r->rate = r->burst = r->ovf_rate = r->ovf_burst = 0;
		return 0;
	}

	if (!f[R_RATE].v)
		return fail(c, r->line,
			    "rule \"%s\" has action limit but no rate; add rate: N (%s per second), or use action: allow or deny",
			    r->name, units);
	if (r->rate == 0)
		return fail(c, line_of(f[R_RATE].v),
			    "rate 0 would drop everything; give at least 1 (%s per second), or use action: deny",
			    units);
	if (f[R_BURST].v) {
		ret = check_burst(c, f[R_BURST].v, "burst", r->burst, r->bytes);
		if (ret)
			return ret;
	} else {
		r->burst = r->rate;
		if (r->bytes && r->burst < MIN_BYTES_BURST)
			return fail(c, line_of(f[R_RATE].v),
				    "rate %llu bytes with no burst gives a burst of %llu bytes, below %d (one full-size Ethernet frame): nothing larger would ever pass; add burst: %d or more",
				    (unsigned long long)r->rate, (unsigned long long)r->burst,
				    MIN_BYTES_BURST, MIN_BYTES_BURST);
	}

	if (f[R_OVERFLOW].v) {
		ret = get_overflow(c, f[R_OVERFLOW].v, where, r, true);
		if (ret)
			return ret;
	}
	/* Given values are never 0 here (checked above): 0 means "not given". */
	if (!r->ovf_rate)
		r->ovf_rate = r->rate;
	if (!r->ovf_burst)
		r->ovf_burst = r->burst;
	return 0;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct cidr_ref *x = a, *y = b;
	int d;

	if (x->c.family != y->c.family)
		return x->c.family - y->c.family;
	if (x->c.len != y->c.len)
		return x->c.len - y->c.len;
	d = memcmp(x->c.addr, y->c.addr, sizeof(x->c.addr));
	if (d)
		return d;
	return x->seq - y->seq;
}

static bool ref_same(const struct cidr_ref *x, const struct cidr_ref *y)
{
	return x->c.family == y->c.family && x->c.len == y->c.len &&
	       !memcmp(x->c.addr, y->c.addr, sizeof(x->c.addr));
}

/* Each CIDR may appear once in a policy; report the earliest repeat, naming both lines. */
static int check_dup_cidrs(struct pctx *c, const struct sl_policy *p)
{
	const struct cidr_ref *first = NULL, *second = NULL;
	char text[INET6_ADDRSTRLEN + 8];
	int i;

	if (c->n_refs < 2)
		return 0;
	qsort(c->refs, c->n_refs, sizeof(*c->refs), ref_cmp);
	for (i = 1; i < c->n_refs; i++) {
		/* Sorted by seq within equal CIDRs: refs[i] repeats the group's first entry. */
		if (!ref_same(&c->refs[i - 1], &c->refs[i]))
			continue;
		if (i >= 2 && ref_same(&c->refs[i - 2], &c->refs[i]))
			continue;
		if (!second || c->refs[i].seq < second->seq) {
			first = &c->refs[i - 1];
			second = &c->refs[i];
		}
	}
	if (!second)
		return 0;
	sl_cidr_str(&second->c, text, sizeof(text));
	if (first->rule == second->rule)
		return fail(c, second->line,
			    "cidr %s is listed twice in rule \"%s\" (first on line %d); remove one",
			    text, p->rules[second->rule].name, first->line);
	return fail(c, second->line,
		    "cidr %s is already in rule \"%s\" (line %d); a prefix may belong to one rule only",
		    text, p->rules[first->rule].name, first->line);
}

static int parse_rules(struct pctx *c, const yaml_node_t *n, struct sl_policy *p)
{
	yaml_node_item_t *items;
	int count, i, ret;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n),
			    "sources must be a list of rules (each line starting with '- name:'), not %s",
			    kind(n));
	items = n->data.sequence.items.start;
	count = (int)(n->data.sequence.items.top - items);
	if (count == 0)
		return fail(c, line_of(n), "sources is empty; add at least one rule");
	if (count > SL_MAX_RULES) {
		yaml_node_t *e = node_at(c, items[SL_MAX_RULES]);

		return fail(c, e ? line_of(e) : line_of(n),
			    "too many rules: %d; a policy holds at most %d (a rule may list many cidrs)",
			    count, SL_MAX_RULES);
	}
	p->rules = calloc(count, sizeof(*p->rules));
	if (!p->rules)
		return nomem(c);
	for (i = 0; i < count; i++) {
		yaml_node_t *e = node_at(c, items[i]);

		if (!e)
			return fail(c, line_of(n), "malformed sources list");
		/* Counted first so that sl_policy_free() releases a half-parsed rule. */
		p->n_rules = i + 1;
		ret = parse_rule(c, e, i, p);
		if (ret)
			return ret;
	}
	return check_dup_cidrs(c, p);
}

enum {
	T_VERSION,
	T_NAME,
	T_DRYRUN,
	T_MALFORMED,
	T_FRAGMENTS,
	T_UNKNOWN,
	T_CLOCK,
	T_SOURCES,
	T_NR,
};

/* pass | drop, with a pointed message for "limit", which only fragments accept. */
static int get_verdict(const struct pctx *c, const yaml_node_t *n, const char *what,
		       bool allow_limit, __u8 *out)
{
	int v, ret;

	if (!allow_limit && n->type == YAML_SCALAR_NODE && !strcmp(scalar_text(n), "limit"))
		return fail(c, line_of(n),
			    "%s: limit is not valid: these packets have no source rule to charge; use pass or drop (only fragments take limit)",
			    what);
	ret = get_word(c, n, what, verdict_words, allow_limit ? 3 : 2, &v);
	if (ret)
		return ret;
	*out = v;
	return 0;
}

static int parse_top(struct pctx *c, const yaml_node_t *root, struct sl_policy *p)
{
	struct field f[T_NR] = {
		[T_VERSION] = { .key = "version" },
		[T_NAME] = { .key = "name" },
		[T_DRYRUN] = { .key = "dry_run" },
		[T_MALFORMED] = { .key = "malformed" },
		[T_FRAGMENTS] = { .key = "fragments" },
		[T_UNKNOWN] = { .key = "unknown_ethertype" },
		[T_CLOCK] = { .key = "clock" },
		[T_SOURCES] = { .key = "sources" },
	};
	__u64 version;
	const char *s;
	int ret;
	SHOWBUF(sb);

	if (root->type != YAML_MAPPING_NODE)
		return fail(c, line_of(root),
			    "the top level must be a mapping (version: 1, name: ..., sources: ...), not %s",
			    kind(root));
	ret = get_fields(c, root, "at the top level", f, T_NR);
	if (ret)
		return ret;

	if (!f[T_VERSION].v)
		return fail(c, line_of(root), "the policy has no \"version\" key; add version: 1");
	ret = get_scalar(c, f[T_VERSION].v, "version", "the number 1", &s);
	if (ret)
		return ret;
	if (parse_count(s, &version, &s) || version != 1)
		return fail(c, line_of(f[T_VERSION].v),
			    "unsupported version %s; this sluice reads version 1",
			    show(sb, scalar_text(f[T_VERSION].v), scalar_len(f[T_VERSION].v)));
	p->version = 1;

	if (!f[T_NAME].v)
		return fail(c, line_of(root),
			    "the policy has no \"name\" key; add name: NAME (letters, digits, '_', '.', '-')");
	ret = get_name(c, f[T_NAME].v, "policy name", p->name);
	if (ret)
		return ret;

	if (f[T_DRYRUN].v) {
		ret = get_bool(c, f[T_DRYRUN].v, "dry_run", &p->dry_run);
		if (ret)
			return ret;
	}
	p->malformed = p->fragments = p->unknown_l3 = SL_CV_PASS;
	if (f[T_MALFORMED].v) {
		ret = get_verdict(c, f[T_MALFORMED].v, "malformed", false, &p->malformed);
		if (ret)
			return ret;
	}
	if (f[T_FRAGMENTS].v) {
		ret = get_verdict(c, f[T_FRAGMENTS].v, "fragments", true, &p->fragments);
		if (ret)
			return ret;
	}
	if (f[T_UNKNOWN].v) {
		ret = get_verdict(c, f[T_UNKNOWN].v, "unknown_ethertype", false, &p->unknown_l3);
		if (ret)
			return ret;
	}

	p->clock = SL_CLOCK_AUTO;
	if (f[T_CLOCK].v) {
		int v;

		ret = get_word(c, f[T_CLOCK].v, "clock", clock_words,
			       (int)(sizeof(clock_words) / sizeof(clock_words[0])), &v);
		if (ret)
			return ret;
		p->clock = v;
	}

	if (!f[T_SOURCES].v)
		return fail(c, line_of(root),
			    "the policy has no \"sources\" key; add a sources: list with at least one rule");
	return parse_rules(c, f[T_SOURCES].v, p);
}

static int yaml_error(const struct pctx *c, const yaml_parser_t *yp, const char *buf, size_t len)
{
	const char *problem = yp->problem ? yp->problem : "unknown error";
	size_t i, end;
	int line;

	switch (yp->error) {
	case YAML_MEMORY_ERROR:
		return nomem(c);
	case YAML_READER_ERROR:
		/* Reader errors carry a byte offset, not a mark. */
		end = yp->problem_offset < len ? yp->problem_offset : len;
		for (line = 1, i = 0; i < end; i++)
			line += buf[i] == '\n';
		return fail(c, line,
			    "not a valid text file: %s at byte %zu; save the policy as UTF-8 text",
			    problem, yp->problem_offset);
	case YAML_COMPOSER_ERROR:
		/* Aliases: the only composer error a single document can have. */
		return fail(c, (int)yp->problem_mark.line + 1,
			    "invalid YAML: %s; an alias (*name) must refer to an anchor (&name) defined above it",
			    problem);
	default:
		line = (int)yp->problem_mark.line + 1;
		if (strstr(problem, "tab character"))
			return fail(c, line,
				    "invalid YAML: %s; indent with spaces, YAML does not allow tabs",
				    problem);
		if (yp->context && (int)yp->context_mark.line + 1 != line)
			return fail(c, line,
				    "invalid YAML: %s %s that starts on line %d; check indentation, quotes and brackets",
				    problem, yp->context, (int)yp->context_mark.line + 1);
		if (yp->context)
			return fail(c, line,
				    "invalid YAML: %s %s; check indentation, quotes and brackets",
				    problem, yp->context);
		return fail(c, line, "invalid YAML: %s; check indentation, quotes and brackets",
			    problem);
	}
}

static __u64 fnv1a64(const char *buf, size_t len)
{
	__u64 h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)buf[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int sl_policy_parse(const char *name, const char *buf, size_t len, struct sl_policy *out,
		    char *err, size_t errlen)
{
	struct pctx *c = NULL;
	struct sl_policy p;
	yaml_parser_t yp;
	yaml_document_t doc, next;
	yaml_node_t *root;
	bool have_parser = false, have_doc = false;
	int ret;

	memset(&p, 0, sizeof(p));
	if (out)
		memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (!name)
		name = "<policy>";
	if (!out || (!buf && len)) {
		emit(err, errlen, name, 0, "internal error: no policy buffer or output");
		return -EINVAL;
	}
	if (!buf)
		buf = "";
	if (len > POLICY_MAX_BYTES) {
		emit(err, errlen, name, 0,
		     "policy is %zu bytes, over the %d-byte limit; check that this is the policy file",
		     len, POLICY_MAX_BYTES);
		return -EFBIG;
	}

	/* Heap, not stack: the name-line table would make the frame large. */
	c = calloc(1, sizeof(*c));
	if (!c) {
		emit(err, errlen, name, 0, "out of memory while reading the policy");
		return -ENOMEM;
	}
	c->file = name;
	c->err = err;
	c->errlen = errlen;
	c->doc = &doc;

	if (!yaml_parser_initialize(&yp)) {
		ret = nomem(c);
		goto cleanup;
	}
	have_parser = true;
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&yp, &doc)) {
		ret = yaml_error(c, &yp, buf, len);
		goto cleanup;
	}
	have_doc = true;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		ret = fail(c, 0,
			   "the policy is empty; it needs at least version: 1, a name and a sources list");
		goto cleanup;
	}

	/* One document per file: a second one (after ---) is almost surely a mistake. */
	if (!yaml_parser_load(&yp, &next)) {
		ret = yaml_error(c, &yp, buf, len);
		goto cleanup;
	}
	if (yaml_document_get_root_node(&next)) {
		int line = (int)next.start_mark.line + 1;

		yaml_document_delete(&next);
		ret = fail(c, line,
			   "a second YAML document starts here; a policy file holds exactly one (remove the ---)");
		goto cleanup;
	}
	yaml_document_delete(&next);

	ret = parse_top(c, root, &p);
	if (ret)
		goto cleanup;

	snprintf(p.path, sizeof(p.path), "%s", name);
	p.hash = fnv1a64(buf, len);
	*out = p;
	memset(&p, 0, sizeof(p));
cleanup:
	sl_policy_free(&p);
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&yp);
	if (c)
		free(c->refs);
	free(c);
	return ret;
}

int sl_policy_load(const char *path, struct sl_policy *out, char *err, size_t errlen)
{
	size_t cap = 64 * 1024, len = 0;
	char *buf = NULL, *nb;
	ssize_t n;
	int fd, ret;

	if (out)
		memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (!path || !out) {
		emit(err, errlen, path ? path : "<policy>", 0, "internal error: no path or output");
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		emit(err, errlen, path, 0, "cannot open: %s; check the path and its permissions",
		     strerror(-ret));
		return ret;
	}
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		emit(err, errlen, path, 0, "out of memory while reading the policy");
		goto cleanup;
	}
	/* Read to EOF (works for pipes too), one byte past the limit to see if it is exceeded. */
	for (;;) {
		if (len == cap) {
			if (cap > POLICY_MAX_BYTES) {
				ret = -EFBIG;
				emit(err, errlen, path, 0,
				     "file is larger than 1 MiB, the limit for a policy; check that this is the policy file");
				goto cleanup;
			}
			cap = cap * 2 > POLICY_MAX_BYTES + 1 ? POLICY_MAX_BYTES + 1 : cap * 2;
			nb = realloc(buf, cap);
			if (!nb) {
				ret = -ENOMEM;
				emit(err, errlen, path, 0,
				     "out of memory while reading the policy");
				goto cleanup;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			emit(err, errlen, path, 0, "cannot read: %s; %s", strerror(-ret),
			     ret == -EISDIR ? "give the path of the policy file, not a directory" :
					      "check the file");
			goto cleanup;
		}
		if (n == 0)
			break;
		len += n;
	}
	ret = sl_policy_parse(path, buf, len, out, err, errlen);
cleanup:
	free(buf);
	close(fd);
	return ret;
}

void sl_policy_free(struct sl_policy *p)
{
	int i;

	if (!p)
		return;
	for (i = 0; i < p->n_rules && p->rules; i++)
		free(p->rules[i].cidrs);
	free(p->rules);
	memset(p, 0, sizeof(*p));
}
