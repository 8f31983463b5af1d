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
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "policy.h"
#include "sluice_http.h"
#include "sluice_prefix.h"

#define POLICY_MAX_BYTES (1024 * 1024)
/* One full-size Ethernet frame: a byte bucket smaller than this never admits such a frame. */
#define MIN_BYTES_BURST  1514
/* The rule trie holds SL_LPM_MAX_ENTRIES CIDRs over two generations (old and new policy). */
#define MAX_CIDRS        (SL_LPM_MAX_ENTRIES / 2)
#define SHOW_MAX         40 /* characters of user text quoted in a message */
/* Reply limits (RSTs and 429 responses per second) left out of the policy. */
#define DEFAULT_RULE_REPLIES 100
#define DEFAULT_HTTP_REPLIES 1000

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct cidr_ref {
	struct sl_cidr c;
	int line;
	int rule; /* index into sl_policy.rules */
	int seq;  /* order in the file */
};

enum { L_RATE, L_BURST, L_BRATE, L_BBURST, L_ACTION, L_NR };

/* The limit keys of a plan or of a tenant's overrides as written; a NULL node: not given. */
struct lim_in {
	const yaml_node_t *n[L_NR];
	__u64 v[L_NR]; /* v[L_ACTION]: enum sl_over_action */
};

struct key_slot;

/*
 * Everything one parse needs; `refs` collects every CIDR for the duplicate check, `keyset`
 * every key of every tenant (a hash table, at most half full) for the same purpose.
 */
struct pctx {
	const char *file;
	const char *dir; /* prefix of relative keys_file paths: "" or ends in '/' */
	yaml_document_t *doc;
	char *err;
	size_t errlen;
	__u64 hash; /* FNV-1a 64: the policy's bytes, then each keys file read */
	struct cidr_ref *refs;
	int n_refs;
	int name_line[SL_MAX_RULES];
	int reject_line[SL_MAX_RULES]; /* line of a rule's reject value; 0: not given */
	struct lim_in plan_in[SL_MAX_PLANS];
	int tenant_line[SL_MAX_TENANTS];
	int group_line[SL_MAX_GROUPS];
	struct key_slot *keyset;
	size_t keyset_cap;
	int n_keys;
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

/* How refusals are answered: a rule's reject, the HTTP layer's actions. */
static const struct word over_words[] = {
	{ "drop", SL_OVER_DROP },
	{ "reset", SL_OVER_RESET },
	{ "http429", SL_OVER_HTTP429 },
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

/* drop | reset | http429: how a refusal is answered. */
static int get_over(const struct pctx *c, const yaml_node_t *n, const char *what, __u8 *out)
{
	int v, ret = get_word(c, n, what, over_words, ARRAY_LEN(over_words), &v);

	if (!ret)
		*out = v;
	return ret;
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

/* The first byte of s that is neither an ASCII letter, a digit nor in `extra`; NULL if none. */
static const char *odd_char(const char *s, const char *extra)
{
	for (; *s; s++) {
		unsigned char ch = *s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr(extra, ch))
			continue;
		return s;
	}
	return NULL;
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
	p = odd_char(s, "_.-");
	if (p && (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f)
		return fail(c, line_of(n),
			    "%s \"%s\" contains '%c'; use only letters, digits, '_', '.' and '-'",
			    what, show(sb, s, len), *p);
	if (p)
		return fail(c, line_of(n),
			    "%s \"%s\" contains byte 0x%02x; use only letters, digits, '_', '.' and '-'",
			    what, show(sb, s, len), (unsigned char)*p);
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

/*
 * One aggregate prefix length: 0..32 for IPv4 (`v6` false), 0..128 for IPv6. `what` names the
 * key ("prefix ipv4"), `whole` ends the range hint: what 0 means where the key is ("one bucket
 * for the whole rule").
 */
static int get_prefix_len(const struct pctx *c, const yaml_node_t *n, const char *what, bool v6,
			  const char *whole, __u8 *out)
{
	__u64 v;
	int ret;

	ret = get_count(c, n, what, &v);
	if (ret)
		return ret;
	if (!v6 && v > 32)
		return fail(c, line_of(n),
			    "%s %llu is out of range; give 0 to 32 (32: each address, 0: %s)", what,
			    (unsigned long long)v, whole);
	if (v6 && v > 128)
		return fail(c, line_of(n),
			    "%s %llu is out of range; give 0 to 128 (64: each /64 subnet, 0: %s)",
			    what, (unsigned long long)v, whole);
	*out = v;
	return 0;
}

/* prefix: {ipv4: N, ipv6: N} into *p4 / *p6 (left alone when a key is absent). */
static int get_prefix(const struct pctx *c, const yaml_node_t *n, const char *where,
		      const char *whole, __u8 *p4, __u8 *p6)
{
	struct field f[] = { { .key = "ipv4" }, { .key = "ipv6" } };
	char in[128];
	int ret;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "prefix must be a mapping like {ipv4: 24, ipv6: 56}, not %s", kind(n));
	snprintf(in, sizeof(in), "in prefix %s", where);
	ret = get_fields(c, n, in, f, ARRAY_LEN(f));
	if (ret)
		return ret;
	if (f[0].v) {
		ret = get_prefix_len(c, f[0].v, "prefix ipv4", false, whole, p4);
		if (ret)
			return ret;
	}
	if (f[1].v)
		return get_prefix_len(c, f[1].v, "prefix ipv6", true, whole, p6);
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

/*
 * A mapping {rate: N, burst: M}, either key optional: `noun` names it in messages ("overflow"),
 * `example` shows its shape. *rate_n and *burst_n get the value nodes (NULL: not given) and
 * *rate, *burst their numbers, unchecked.
 */
static int get_rate_burst(const struct pctx *c, const yaml_node_t *n, const char *noun,
			  const char *example, const char *where, const yaml_node_t **rate_n,
			  __u64 *rate, const yaml_node_t **burst_n, __u64 *burst)
{
	struct field f[] = { { .key = "rate" }, { .key = "burst" } };
	char in[128], what[32];
	int ret;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), "%s must be a mapping like %s, not %s", noun, example,
			    kind(n));
	snprintf(in, sizeof(in), "in %s %s", noun, where);
	ret = get_fields(c, n, in, f, ARRAY_LEN(f));
	if (ret)
		return ret;
	*rate_n = f[0].v;
	*burst_n = f[1].v;
	if (f[0].v) {
		snprintf(what, sizeof(what), "%s rate", noun);
		ret = get_count(c, f[0].v, what, rate);
		if (ret)
			return ret;
	}
	if (f[1].v) {
		snprintf(what, sizeof(what), "%s burst", noun);
		return get_count(c, f[1].v, what, burst);
	}
	return 0;
}

static int get_overflow(const struct pctx *c, const yaml_node_t *n, const char *where,
			struct sl_policy_rule *r, bool check)
{
	const yaml_node_t *rate_n, *burst_n;
	int ret;

	ret = get_rate_burst(c, n, "overflow", "{rate: 1000, burst: 2000}", where, &rate_n,
			     &r->ovf_rate, &burst_n, &r->ovf_burst);
	if (ret || !check)
		return ret;
	if (rate_n && r->ovf_rate == 0)
		return fail(c, line_of(rate_n),
			    "overflow rate 0 would drop every new source once the table is full; give at least 1");
	if (burst_n)
		return check_burst(c, burst_n, "overflow burst", r->ovf_burst, r->bytes);
	return 0;
}

/*
 * replies: {rate, burst}, the reply limit (RSTs and 429 responses per second). *out holds the
 * default rate on entry; a burst left out is the rate. `instead` ends the message for rate 0.
 */
static int get_replies(const struct pctx *c, const yaml_node_t *n, const char *where,
		       const char *instead, struct sl_reply_lim *out)
{
	const yaml_node_t *rate_n, *burst_n;
	__u64 rate = out->rate, burst = 0;
	int ret;

	ret = get_rate_burst(c, n, "replies", "{rate: 100, burst: 200}", where, &rate_n, &rate,
			     &burst_n, &burst);
	if (ret)
		return ret;
	if (rate_n && !rate)
		return fail(c, line_of(rate_n),
			    "replies rate 0 would let no reply out; give at least 1 (RSTs and 429 responses per second), or %s",
			    instead);
	if (burst_n && !burst)
		return fail(c, line_of(burst_n),
			    "replies burst 0 would let no reply out; give at least 1 (replies), or leave burst out for a burst of the rate");
	out->rate = rate;
	out->burst = burst_n ? burst : rate;
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
	R_REJECT,
	R_REPLIES,
	R_NR,
};

/* "in NOUN \"name\"" for item `idx` of a list, from its name if usable, before validation. */
static void item_where(const struct pctx *c, const yaml_node_t *n, const char *noun, int idx,
		       char *buf, size_t len)
{
	yaml_node_pair_t *pair;
	SHOWBUF(sb);

	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(c, pair->key), *v = node_at(c, pair->value);

		if (k && v && k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
		    !strcmp(scalar_text(k), "name") && scalar_len(v)) {
			show(sb, scalar_text(v), scalar_len(v));
			snprintf(buf, len, "in %s \"%s\"", noun, sb);
			return;
		}
	}
	snprintf(buf, len, "in %s #%d", noun, idx + 1);
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
		[R_REJECT] = { .key = "reject" },
		[R_REPLIES] = { .key = "replies" },
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
	item_where(c, n, "rule", idx, where, sizeof(where));
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
		ret = get_prefix(c, f[R_PREFIX].v, where, "one bucket for the whole rule",
				 &r->prefix4, &r->prefix6);
		if (ret)
			return ret;
	}

	if (f[R_DRYRUN].v) {
		ret = get_bool(c, f[R_DRYRUN].v, "dry_run", &r->dry_run);
		if (ret)
			return ret;
	}

	/* Kept on every rule: allow never refuses, so there it is simply unused. */
	r->reject = SL_OVER_DROP;
	if (f[R_REJECT].v) {
		ret = get_over(c, f[R_REJECT].v, "reject", &r->reject);
		if (ret)
			return ret;
		c->reject_line[idx] = line_of(f[R_REJECT].v);
	}
	r->replies.rate = DEFAULT_RULE_REPLIES;
	if (f[R_REPLIES].v) {
		ret = get_replies(c, f[R_REPLIES].v, where, "use reject: drop", &r->replies);
		if (ret)
			return ret;
	} else {
		r->replies.burst = r->replies.rate;
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

/*
 * The HTTP layer: http, plans, tenants (with their keys files), unknown_key and groups. All of
 * it needs the http section; without it the policy is the L3/L4 rules alone.
 */

/* A keys file holds at most SL_MAX_KEYS keys of SL_KEY_MAX bytes, plus comments. */
#define KEYS_MAX_BYTES (16 * 1024 * 1024)
#define MAX_WEIGHT     1000000
#define LIST_MAX       160 /* characters of a list of names (plans, ports) in a message */

/* A message naming a file other than the policy: a keys file, with its own line numbers. */
static int __attribute__((format(printf, 4, 5)))
fail_in(const struct pctx *c, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(c->err, c->errlen, file, line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A list of names for a message, "a, b, c", cut with "..." at LIST_MAX characters. */
struct name_list {
	char text[LIST_MAX + 8];
	bool full;
};

static void list_add(struct name_list *l, const char *s)
{
	size_t used = strlen(l->text);

	if (l->full)
		return;
	if (used + strlen(s) + 2 > LIST_MAX) {
		snprintf(l->text + used, sizeof(l->text) - used, "%s...", used ? ", " : "");
		l->full = true;
		return;
	}
	snprintf(l->text + used, sizeof(l->text) - used, "%s%s", used ? ", " : "", s);
}

/* A burst of requests (bytes: of request bytes), as given: at least 1, or one full frame. */
static int check_req_burst(const struct pctx *c, const yaml_node_t *n, const char *what,
			   __u64 burst, bool bytes)
{
	if (!bytes && burst == 0)
		return fail(c, line_of(n), "%s 0 would admit no request; give at least 1", what);
	if (bytes && burst < MIN_BYTES_BURST)
		return fail(c, line_of(n),
			    "%s %llu is below %d bytes, one full-size Ethernet frame: a request larger than the burst would never pass; give at least %d",
			    what, (unsigned long long)burst, MIN_BYTES_BURST, MIN_BYTES_BURST);
	return 0;
}

/* A port number, 1..65535. */
static int get_port(const struct pctx *c, const yaml_node_t *n, const char *what, __u16 *out)
{
	__u64 v;
	int ret;

	ret = get_count(c, n, what, &v);
	if (ret)
		return ret;
	if (v < 1 || v > 65535)
		return fail(c, line_of(n), "%s %llu is out of range; give a TCP port, 1 to 65535",
			    what, (unsigned long long)v);
	*out = v;
	return 0;
}

/* The items of a value that may be one scalar or a list of them; *count 0 for an empty list. */
static int get_items(const struct pctx *c, const yaml_node_t *n, const char *what,
		     const char *example, yaml_node_item_t **items, int *count)
{
	if (n->type == YAML_MAPPING_NODE)
		return fail(c, line_of(n), "%s must be one value or a list like %s, not a mapping",
			    what, example);
	if (n->type == YAML_SCALAR_NODE) {
		*items = NULL;
		*count = 1;
		return 0;
	}
	*items = n->data.sequence.items.start;
	*count = (int)(n->data.sequence.items.top - *items);
	return 0;
}

static const yaml_node_t *item_at(const struct pctx *c, const yaml_node_t *n,
				  yaml_node_item_t *items, int i)
{
	return items ? node_at(c, items[i]) : n;
}

static int get_ports(const struct pctx *c, const yaml_node_t *n, struct sl_policy *p)
{
	int lines[SL_MAX_HTTP_PORTS];
	yaml_node_item_t *items = NULL;
	int count = 0, i, j, ret;

	ret = get_items(c, n, "ports", "[80, 8080]", &items, &count);
	if (ret)
		return ret;
	if (count == 0)
		return fail(c, line_of(n), "ports list is empty; give 1 to %d TCP ports",
			    SL_MAX_HTTP_PORTS);
	for (i = 0; i < count; i++) {
		const yaml_node_t *e = item_at(c, n, items, i);

		if (!e)
			return fail(c, line_of(n), "malformed ports list");
		if (i == SL_MAX_HTTP_PORTS)
			return fail(c, line_of(e),
				    "too many ports: %d; http takes at most %d (one per listening socket of the API)",
				    count, SL_MAX_HTTP_PORTS);
		ret = get_port(c, e, "port", &p->http_ports[i]);
		if (ret)
			return ret;
		lines[i] = line_of(e);
		for (j = 0; j < i; j++) {
			if (p->http_ports[j] == p->http_ports[i])
				return fail(c, lines[i],
					    "port %u is listed twice (first on line %d); remove one",
					    p->http_ports[i], lines[j]);
		}
		p->n_http_ports = i + 1;
	}
	return 0;
}

static const struct word header_words[] = {
	{ "x-api-key", SL_HTTP_KF_XAPIKEY },
	{ "authorization: bearer", SL_HTTP_KF_BEARER },
};

static int get_key_headers(const struct pctx *c, const yaml_node_t *n, __u32 *out)
{
	yaml_node_item_t *items = NULL;
	int count = 0, i, w, ret;
	const char *s;
	SHOWBUF(sb);

	ret = get_items(c, n, "key_headers", "[x-api-key, \"authorization: bearer\"]", &items,
			&count);
	if (ret)
		return ret;
	if (count == 0)
		return fail(c, line_of(n),
			    "key_headers is empty; give x-api-key, \"authorization: bearer\" or both (leave key_headers out for both)");
	*out = 0;
	for (i = 0; i < count; i++) {
		const yaml_node_t *e = item_at(c, n, items, i);

		if (!e)
			return fail(c, line_of(n), "malformed key_headers list");
		/* An unquoted `authorization: bearer` in a list is a one-pair mapping to YAML. */
		if (e->type == YAML_MAPPING_NODE)
			return fail(c, line_of(e),
				    "a key header is a mapping here; quote it: \"authorization: bearer\" (unquoted, YAML reads the colon as a key)");
		ret = get_scalar(c, e, "key header", "x-api-key or \"authorization: bearer\"", &s);
		if (ret)
			return ret;
		w = find_word(header_words, ARRAY_LEN(header_words), s, true);
		if (w < 0)
			return fail(c, line_of(e),
				    "key header \"%s\" is not supported; use x-api-key or \"authorization: bearer\"",
				    show(sb, s, strlen(s)));
		if (*out & header_words[w].val)
			return fail(c, line_of(e), "key header \"%s\" is listed twice; remove one",
				    header_words[w].text);
		*out |= header_words[w].val;
	}
	return 0;
}

static int parse_http(const struct pctx *c, const yaml_node_t *n, struct sl_policy *p)
{
	struct field f[] = { { .key = "ports" }, { .key = "key_headers" }, { .key = "replies" } };
	int ret;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), "http must be a mapping like {ports: [8080]}, not %s",
			    kind(n));
	ret = get_fields(c, n, "in http", f, ARRAY_LEN(f));
	if (ret)
		return ret;
	if (!f[0].v)
		return fail(c, line_of(n),
			    "http has no \"ports\" key; add ports: [8080] (the TCP ports the API listens on)");
	ret = get_ports(c, f[0].v, p);
	if (ret)
		return ret;
	p->key_headers = SL_HTTP_KF_DEFAULT;
	if (f[1].v) {
		ret = get_key_headers(c, f[1].v, &p->key_headers);
		if (ret)
			return ret;
	}
	p->http_replies = (struct sl_reply_lim){ DEFAULT_HTTP_REPLIES, DEFAULT_HTTP_REPLIES };
	if (f[2].v)
		return get_replies(c, f[2].v, "in http",
				   "make the HTTP layer's actions drop", &p->http_replies);
	return 0;
}

/*
 * Each value given is checked on its own here; resolve_limits() checks how they combine. A
 * plan also takes a quotas list: with `quotas` non-NULL the key is accepted and its value node
 * (NULL: absent) stored there; overrides pass NULL, so quotas is unknown to them.
 */
static int get_lim_in(const struct pctx *c, const yaml_node_t *n, const char *where,
		      struct lim_in *in, const yaml_node_t **quotas)
{
	struct field f[L_NR + 1] = {
		[L_RATE] = { .key = "rate" },
		[L_BURST] = { .key = "burst" },
		[L_BRATE] = { .key = "bytes_rate" },
		[L_BBURST] = { .key = "bytes_burst" },
		[L_ACTION] = { .key = "action" },
		[L_NR] = { .key = "quotas" },
	};
	int ret, i, v;

	memset(in, 0, sizeof(*in));
	ret = get_fields(c, n, where, f, quotas ? L_NR + 1 : L_NR);
	if (ret)
		return ret;
	if (quotas)
		*quotas = f[L_NR].v;
	for (i = 0; i < L_NR; i++) {
		if (!f[i].v)
			continue;
		in->n[i] = f[i].v;
		if (i == L_ACTION) {
			ret = get_word(c, f[i].v, "action", over_words, ARRAY_LEN(over_words), &v);
			in->v[i] = v;
		} else {
			ret = get_count(c, f[i].v, f[i].key, &in->v[i]);
		}
		if (ret)
			return ret;
	}
	if (in->n[L_RATE] && !in->v[L_RATE])
		return fail(c, line_of(in->n[L_RATE]),
			    "rate 0 would refuse every request; give at least 1 (requests per second)");
	if (in->n[L_BURST]) {
		ret = check_req_burst(c, in->n[L_BURST], "burst", in->v[L_BURST], false);
		if (ret)
			return ret;
	}
	if (in->n[L_BRATE] && !in->v[L_BRATE])
		return fail(c, line_of(in->n[L_BRATE]),
			    "bytes_rate 0 would refuse every request; give at least 1 (request bytes per second), or leave bytes_rate out for no byte limit");
	if (in->n[L_BBURST])
		return check_req_burst(c, in->n[L_BBURST], "bytes_burst", in->v[L_BBURST], true);
	return 0;
}

/*
 * Limits of plan `pi` with the overrides `ovr` applied (NULL: the plan itself). A burst that
 * neither gives defaults to the rate in effect after the overrides. `tenant` names the tenant
 * for messages (NULL for the plan).
 */
static int resolve_limits(const struct pctx *c, const struct sl_policy *p, int pi,
			  const struct lim_in *ovr, const char *tenant, struct sl_req_limits *out)
{
	const struct lim_in *plan = &c->plan_in[pi];
	const yaml_node_t *src[L_NR];
	__u64 v[L_NR];
	int i;

	for (i = 0; i < L_NR; i++) {
		bool o = ovr && ovr->n[i];

		src[i] = o ? ovr->n[i] : plan->n[i];
		v[i] = o ? ovr->v[i] : plan->v[i];
	}
	memset(out, 0, sizeof(*out));
	out->rate = v[L_RATE];
	out->burst = src[L_BURST] ? v[L_BURST] : out->rate;
	out->bytes_rate = src[L_BRATE] ? v[L_BRATE] : 0;
	out->action = src[L_ACTION] ? v[L_ACTION] : SL_OVER_DROP;
	if (src[L_BBURST] && !src[L_BRATE]) {
		if (!tenant)
			return fail(c, line_of(src[L_BBURST]),
				    "bytes_burst in plan \"%s\" has no bytes_rate to go with; add bytes_rate: N (request bytes per second) or remove bytes_burst",
				    p->plans[pi].name);
		return fail(c, line_of(src[L_BBURST]),
			    "bytes_burst for tenant \"%s\" has no bytes_rate to go with, in its overrides or in plan \"%s\"; add bytes_rate: N (request bytes per second) or remove bytes_burst",
			    tenant, p->plans[pi].name);
	}
	if (src[L_BBURST]) {
		out->bytes_burst = v[L_BBURST];
	} else if (out->bytes_rate) {
		out->bytes_burst = out->bytes_rate;
		if (out->bytes_burst < MIN_BYTES_BURST)
			return fail(c, line_of(src[L_BRATE]),
				    "bytes_rate %llu with no bytes_burst gives a bytes_burst of %llu, below %d (one full-size Ethernet frame): a larger request would never pass; add bytes_burst: %d or more",
				    (unsigned long long)out->bytes_rate,
				    (unsigned long long)out->bytes_burst, MIN_BYTES_BURST,
				    MIN_BYTES_BURST);
	}
	return 0;
}

/*
 * labels: {name: text, ...} into labels[0..SL_MAX_LABELS), *n_labels counted as they are read.
 * `owner` completes "... has at most 16" in messages ("a tenant").
 */
static int get_labels(const struct pctx *c, const yaml_node_t *n, const char *where,
		      const char *owner, struct sl_label *labels, int *n_labels)
{
	int lines[SL_MAX_LABELS];
	yaml_node_pair_t *pairs;
	int count, i, j, ret;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "labels must be a mapping of names to text, like {team: ml}, not %s",
			    kind(n));
	pairs = n->data.mapping.pairs.start;
	count = (int)(n->data.mapping.pairs.top - pairs);
	for (i = 0; i < count; i++) {
		yaml_node_t *k = node_at(c, pairs[i].key), *v = node_at(c, pairs[i].value);
		struct sl_label *l = &labels[i];
		const char *s, *q;
		char what[SL_NAME_MAX + 16];
		size_t len;

		if (!k || !v)
			return fail(c, line_of(n), "malformed labels mapping");
		if (i == SL_MAX_LABELS)
			return fail(c, line_of(k),
				    "too many labels %s: %d; %s has at most %d", where, count,
				    owner, SL_MAX_LABELS);
		ret = get_name(c, k, "label name", l->key);
		if (ret)
			return ret;
		lines[i] = line_of(k);
		for (j = 0; j < i; j++) {
			if (!strcmp(labels[j].key, l->key))
				return fail(c, lines[i],
					    "label \"%s\" is given twice %s (first on line %d); keep one",
					    l->key, where, lines[j]);
		}
		snprintf(what, sizeof(what), "label \"%s\"", l->key);
		ret = get_scalar(c, v, what, "some text", &s);
		if (ret)
			return ret;
		len = strlen(s);
		if (len > sizeof(l->value) - 1)
			return fail(c, line_of(v), "%s is %zu bytes long; at most %zu fit", what,
				    len, sizeof(l->value) - 1);
		for (q = s; *q; q++) {
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				return fail(c, line_of(v),
					    "%s contains a control character; labels are one line of printable text",
					    what);
		}
		memcpy(l->value, s, len + 1);
		*n_labels = i + 1;
	}
	return 0;
}

/*
 * Quotas: cost units per period, a list in each plan. Only read and checked here; the data
 * plane counts and refuses, `sluice run` turns the periods over (docs/policy.md, "Quotas,
 * billing and alerts").
 */

/* Bounded so period arithmetic stays far from overflow, and 30000 typed for 30 is caught. */
#define MAX_DURATION  1000
#define MAX_ALERT_PCT 1000 /* percent: soft quotas run past 100 */

/* Periods of quotas and billing. get_period_unit() also takes the singular ("unit: day"). */
static const struct word period_words[] = {
	{ "minutes", SL_PU_MINUTES }, { "hours", SL_PU_HOURS }, { "days", SL_PU_DAYS },
	{ "weeks", SL_PU_WEEKS },     { "months", SL_PU_MONTHS },
};

static const struct word mode_words[] = {
	{ "hard", SL_QM_HARD },
	{ "soft", SL_QM_SOFT },
};

static const struct word window_words[] = {
	{ "calendar", 0 },
	{ "rolling", 1 },
};

static const struct word profile_words[] = {
	{ "tenant", SL_QP_TENANT },
	{ "key", SL_QP_KEY },
	{ "source", SL_QP_SOURCE },
};

static int get_period_unit(const struct pctx *c, const yaml_node_t *n, const char *what,
			   __u8 *out)
{
	char plural[16];
	int ret, i, v;

	/* "duration: 1, unit: day" reads better than "days"; a singular is its plural less 's'. */
	if (n->type == YAML_SCALAR_NODE && scalar_len(n) + 2 <= sizeof(plural) &&
	    strlen(scalar_text(n)) == scalar_len(n)) {
		snprintf(plural, sizeof(plural), "%ss", scalar_text(n));
		i = find_word(period_words, ARRAY_LEN(period_words), plural, false);
		if (i >= 0) {
			*out = period_words[i].val;
			return 0;
		}
	}
	ret = get_word(c, n, what, period_words, ARRAY_LEN(period_words), &v);
	if (ret)
		return ret;
	*out = v;
	return 0;
}

/* How many units one period lasts: 1 .. MAX_DURATION. */
static int get_duration(const struct pctx *c, const yaml_node_t *n, __u32 *out)
{
	__u64 v;
	int ret;

	ret = get_count(c, n, "duration", &v);
	if (ret)
		return ret;
	if (v < 1 || v > MAX_DURATION)
		return fail(c, line_of(n),
			    "duration %llu is out of range; give 1 to %d, counted in the unit (duration: 3 with months is a quarter)",
			    (unsigned long long)v, MAX_DURATION);
	*out = v;
	return 0;
}

/* alert_at: one percent or a list of them, each 1..MAX_ALERT_PCT, once, in ascending order. */
static int get_alerts(const struct pctx *c, const yaml_node_t *n, struct sl_quota *q)
{
	int lines[SL_MAX_ALERTS];
	yaml_node_item_t *items = NULL;
	int count = 0, i, j, ret;
	__u64 v;

	ret = get_items(c, n, "alert_at", "[80, 100]", &items, &count);
	if (ret)
		return ret;
	for (i = 0; i < count; i++) {
		const yaml_node_t *e = item_at(c, n, items, i);

		if (!e)
			return fail(c, line_of(n), "malformed alert_at list");
		if (i == SL_MAX_ALERTS)
			return fail(c, line_of(e),
				    "too many alert_at thresholds in quota \"%s\": %d; a quota takes at most %d",
				    q->name, count, SL_MAX_ALERTS);
		ret = get_count(c, e, "alert_at", &v);
		if (ret)
			return ret;
		if (v < 1 || v > MAX_ALERT_PCT)
			return fail(c, line_of(e),
				    "alert_at %llu is out of range; give a percent of the quota, 1 to %d",
				    (unsigned long long)v, MAX_ALERT_PCT);
		for (j = 0; j < i; j++) {
			if (q->alert_at[j] == v)
				return fail(c, line_of(e),
					    "alert_at %llu is listed twice (first on line %d); remove one",
					    (unsigned long long)v, lines[j]);
		}
		if (i && v < q->alert_at[i - 1])
			return fail(c, line_of(e),
				    "alert_at %llu comes after %u; list the thresholds in ascending order",
				    (unsigned long long)v, q->alert_at[i - 1]);
		q->alert_at[i] = v;
		lines[i] = line_of(e);
		q->n_alerts = i + 1;
	}
	return 0;
}

enum {
	Q_NAME,
	Q_LABELS,
	Q_DURATION,
	Q_UNIT,
	Q_QUOTA,
	Q_MODE,
	Q_ALERTS,
	Q_PROFILE,
	Q_PREFIX4, /* Q_PREFIX4, Q_PREFIX6: in this order */
	Q_PREFIX6,
	Q_ACTION,
	Q_WINDOW,
	Q_NR,
};

static int parse_quota(const struct pctx *c, const yaml_node_t *n, struct sl_plan *pl, int idx,
		       int *name_line)
{
	struct field f[Q_NR] = {
		[Q_NAME] = { .key = "name" },
		[Q_LABELS] = { .key = "labels" },
		[Q_DURATION] = { .key = "duration" },
		[Q_UNIT] = { .key = "unit" },
		[Q_QUOTA] = { .key = "quota" },
		[Q_MODE] = { .key = "mode" },
		[Q_ALERTS] = { .key = "alert_at" },
		[Q_PROFILE] = { .key = "profile" },
		[Q_PREFIX4] = { .key = "prefix4" },
		[Q_PREFIX6] = { .key = "prefix6" },
		[Q_ACTION] = { .key = "action" },
		[Q_WINDOW] = { .key = "window" },
	};
	struct sl_quota *q = &pl->quotas[idx];
	char where[160];
	int ret, i, v;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "quota #%d of plan \"%s\" must be a mapping (name: ..., unit: ..., quota: ...), not %s",
			    idx + 1, pl->name, kind(n));
	q->line = line_of(n);
	item_where(c, n, "quota", idx, where, sizeof(where));
	snprintf(where + strlen(where), sizeof(where) - strlen(where), " of plan \"%s\"",
		 pl->name);
	ret = get_fields(c, n, where, f, Q_NR);
	if (ret)
		return ret;

	if (!f[Q_NAME].v)
		return fail(c, q->line,
			    "quota #%d of plan \"%s\" has no \"name\" key; every quota needs a name, unique within its plan",
			    idx + 1, pl->name);
	ret = get_name(c, f[Q_NAME].v, "quota name", q->name);
	if (ret)
		return ret;
	name_line[idx] = line_of(f[Q_NAME].v);
	for (i = 0; i < idx; i++) {
		if (!strcmp(pl->quotas[i].name, q->name))
			return fail(c, name_line[idx],
				    "quota name \"%s\" is already used in plan \"%s\" on line %d; quota names must be unique within a plan",
				    q->name, pl->name, name_line[i]);
	}
	snprintf(where, sizeof(where), "in quota \"%s\" of plan \"%s\"", q->name, pl->name);

	if (f[Q_LABELS].v) {
		ret = get_labels(c, f[Q_LABELS].v, where, "a quota", q->labels, &q->n_labels);
		if (ret)
			return ret;
	}

	if (!f[Q_UNIT].v)
		return fail(c, q->line,
			    "quota \"%s\" of plan \"%s\" has no \"unit\" key; add unit: days (or minutes, hours, weeks, months)",
			    q->name, pl->name);
	ret = get_period_unit(c, f[Q_UNIT].v, "unit", &q->unit);
	if (ret)
		return ret;
	q->duration = 1;
	if (f[Q_DURATION].v) {
		ret = get_duration(c, f[Q_DURATION].v, &q->duration);
		if (ret)
			return ret;
	}

	if (!f[Q_QUOTA].v)
		return fail(c, q->line,
			    "quota \"%s\" of plan \"%s\" has no \"quota\" key; add quota: N (cost units per period)",
			    q->name, pl->name);
	ret = get_count(c, f[Q_QUOTA].v, "quota", &q->quota);
	if (ret)
		return ret;
	if (!q->quota)
		return fail(c, line_of(f[Q_QUOTA].v),
			    "quota 0 would refuse every request of the plan (or, with mode: soft, make each one overage); give at least 1 (cost units per period), or remove the quota");
	/* The data plane keeps a period's usage in the low SL_QUSED_BITS of one counter word. */
	if (q->quota > SL_QUSED_MASK)
		return fail(c, line_of(f[Q_QUOTA].v),
			    "quota %llu is larger than %llu, the most units the data plane counts in one period; give a smaller quota or a shorter period",
			    (unsigned long long)q->quota, (unsigned long long)SL_QUSED_MASK);

	q->mode = SL_QM_HARD;
	if (f[Q_MODE].v) {
		ret = get_word(c, f[Q_MODE].v, "mode", mode_words, ARRAY_LEN(mode_words), &v);
		if (ret)
			return ret;
		q->mode = v;
	}
	if (f[Q_ALERTS].v) {
		ret = get_alerts(c, f[Q_ALERTS].v, q);
		if (ret)
			return ret;
	}

	q->profile = SL_QP_TENANT;
	if (f[Q_PROFILE].v) {
		ret = get_word(c, f[Q_PROFILE].v, "profile", profile_words,
			       ARRAY_LEN(profile_words), &v);
		if (ret)
			return ret;
		q->profile = v;
	}
	/* Kept for every profile, so a quota's fields never depend on what was left out. */
	q->prefix4 = 32;
	q->prefix6 = 64;
	for (i = Q_PREFIX4; i <= Q_PREFIX6; i++) {
		if (!f[i].v)
			continue;
		if (q->profile != SL_QP_SOURCE)
			return fail(c, line_of(f[i].k),
				    "%s applies only to profile: source (a count per source aggregate); add profile: source or remove %s",
				    f[i].key, f[i].key);
		ret = get_prefix_len(c, f[i].v, f[i].key, i == Q_PREFIX6,
				     "one count for all the tenant's sources",
				     i == Q_PREFIX4 ? &q->prefix4 : &q->prefix6);
		if (ret)
			return ret;
	}

	if (f[Q_WINDOW].v) {
		ret = get_word(c, f[Q_WINDOW].v, "window", window_words, ARRAY_LEN(window_words), &v);
		if (ret)
			return ret;
		q->rolling = v;
	}
	if (q->rolling && q->unit == SL_PU_MONTHS)
		return fail(c, line_of(f[Q_WINDOW].v),
			    "a rolling window needs a fixed length and months have none; use unit: days with duration: 30 (or window: calendar)");
	if (q->rolling && q->profile != SL_QP_TENANT)
		return fail(c, line_of(f[Q_WINDOW].v),
			    "rolling windows count per tenant only; remove profile: %s or use window: calendar",
			    q->profile == SL_QP_KEY ? "key" : "source");

	q->action = pl->lim.action;
	if (f[Q_ACTION].v) {
		ret = get_over(c, f[Q_ACTION].v, "action", &q->action);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_quotas(const struct pctx *c, const yaml_node_t *n, struct sl_plan *pl)
{
	int name_line[SL_MAX_QUOTAS];
	yaml_node_item_t *items;
	int count, i, ret;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n),
			    "quotas of plan \"%s\" must be a list (each quota starting with '- name:'), not %s",
			    pl->name, kind(n));
	items = n->data.sequence.items.start;
	count = (int)(n->data.sequence.items.top - items);
	if (count == 0)
		return fail(c, line_of(n),
			    "quotas of plan \"%s\" is empty; add a quota or remove quotas", pl->name);
	for (i = 0; i < count; i++) {
		yaml_node_t *e = node_at(c, items[i]);

		if (!e)
			return fail(c, line_of(n), "malformed quotas list");
		if (i == SL_MAX_QUOTAS)
			return fail(c, line_of(e),
				    "too many quotas in plan \"%s\": %d; a plan holds at most %d",
				    pl->name, count, SL_MAX_QUOTAS);
		ret = parse_quota(c, e, pl, i, name_line);
		if (ret)
			return ret;
		pl->n_quotas = i + 1;
	}
	return 0;
}

static int parse_plans(struct pctx *c, const yaml_node_t *n, struct sl_policy *p)
{
	yaml_node_pair_t *pairs;
	int count, i, j, ret;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "plans must be a mapping of plan names to limits, like {free: {rate: 5}}, not %s",
			    kind(n));
	pairs = n->data.mapping.pairs.start;
	count = (int)(n->data.mapping.pairs.top - pairs);
	if (count == 0)
		return fail(c, line_of(n),
			    "plans is empty; define at least one plan (free: {rate: 5}) or remove plans");
	if (count > SL_MAX_PLANS) {
		yaml_node_t *k = node_at(c, pairs[SL_MAX_PLANS].key);

		return fail(c, k ? line_of(k) : line_of(n),
			    "too many plans: %d; a policy holds at most %d", count, SL_MAX_PLANS);
	}
	p->plans = calloc(count, sizeof(*p->plans));
	if (!p->plans)
		return nomem(c);
	for (i = 0; i < count; i++) {
		yaml_node_t *k = node_at(c, pairs[i].key), *v = node_at(c, pairs[i].value);
		struct sl_plan *pl = &p->plans[i];
		const yaml_node_t *quotas;
		char where[96];

		if (!k || !v)
			return fail(c, line_of(n), "malformed plans mapping");
		p->n_plans = i + 1;
		ret = get_name(c, k, "plan name", pl->name);
		if (ret)
			return ret;
		pl->line = line_of(k);
		for (j = 0; j < i; j++) {
			if (!strcmp(p->plans[j].name, pl->name))
				return fail(c, pl->line,
					    "plan \"%s\" is already defined on line %d; plan names must be unique",
					    pl->name, p->plans[j].line);
		}
		if (v->type != YAML_MAPPING_NODE)
			return fail(c, line_of(v),
				    "plan \"%s\" must be a mapping like {rate: 100, burst: 200}, not %s",
				    pl->name, kind(v));
		snprintf(where, sizeof(where), "in plan \"%s\"", pl->name);
		ret = get_lim_in(c, v, where, &c->plan_in[i], &quotas);
		if (ret)
			return ret;
		if (!c->plan_in[i].n[L_RATE])
			return fail(c, pl->line,
				    "plan \"%s\" has no rate; add rate: N (requests per second)",
				    pl->name);
		ret = resolve_limits(c, p, i, NULL, NULL, &pl->lim);
		if (ret)
			return ret;
		/* After the limits: a quota's action defaults to the plan's. */
		if (quotas) {
			ret = parse_quotas(c, quotas, pl);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static void plan_list(const struct sl_policy *p, struct name_list *l)
{
	int i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < p->n_plans; i++)
		list_add(l, p->plans[i].name);
}

/* The plan a tenant names: its index, or an error listing the plans. */
static int find_plan(const struct pctx *c, const yaml_node_t *n, const struct sl_policy *p,
		     const char *tenant, int *out)
{
	struct name_list list;
	char hint[96] = "";
	int i, d, best_d = 99, best = -1, ret;
	const char *s;
	SHOWBUF(sb);

	ret = get_scalar(c, n, "plan", "the name of a plan defined under plans:", &s);
	if (ret)
		return ret;
	if (!p->n_plans)
		return fail(c, line_of(n),
			    "tenant \"%s\" is on plan \"%s\" but the policy has no plans: section; define the plan there",
			    tenant, show(sb, s, strlen(s)));
	for (i = 0; i < p->n_plans; i++) {
		if (!strcmp(p->plans[i].name, s)) {
			*out = i;
			return 0;
		}
		d = edit_distance(s, strlen(s), p->plans[i].name);
		if (d < best_d) {
			best_d = d;
			best = i;
		}
	}
	plan_list(p, &list);
	if (best >= 0 && best_d <= (strlen(p->plans[best].name) <= 4 ? 1 : 2))
		snprintf(hint, sizeof(hint), "did you mean \"%s\"? ", p->plans[best].name);
	return fail(c, line_of(n), "plan \"%s\" is not defined; %splans: %s",
		    show(sb, s, strlen(s)), hint, list.text);
}

/* Hash slot of one key, for the duplicate check over all tenants. */
struct key_slot {
	const char *key; /* NULL: free; points into a tenant's keys */
	size_t len;
	int tenant;
	int line;
};

static __u64 fnv1a64(__u64 h, const void *buf, size_t len)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_OFFSET 0xcbf29ce484222325ULL

static struct key_slot *keyset_find(const struct pctx *c, const char *key, size_t len)
{
	size_t mask = c->keyset_cap - 1, i = fnv1a64(FNV_OFFSET, key, len) & mask;

	while (c->keyset[i].key &&
	       (c->keyset[i].len != len || memcmp(c->keyset[i].key, key, len)))
		i = (i + 1) & mask;
	return &c->keyset[i];
}

/* Room for one more key, at most half full. */
static int keyset_reserve(struct pctx *c)
{
	struct key_slot *old = c->keyset;
	size_t old_cap = c->keyset_cap, i;

	if ((size_t)(c->n_keys + 1) * 2 <= c->keyset_cap)
		return 0;
	c->keyset_cap = old_cap ? old_cap * 2 : 256;
	c->keyset = calloc(c->keyset_cap, sizeof(*c->keyset));
	if (!c->keyset) {
		c->keyset = old;
		c->keyset_cap = old_cap;
		return nomem(c);
	}
	for (i = 0; i < old_cap; i++) {
		if (old[i].key)
			*keyset_find(c, old[i].key, old[i].len) = old[i];
	}
	free(old);
	return 0;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/*
 * One line of a keys file, [s, s + len), already trimmed and not a comment: check it, refuse
 * duplicates, store it in tenant `ti`. Messages never quote the key.
 */
static int add_key(struct pctx *c, struct sl_policy *p, int ti, const char *s, size_t len,
		   int line)
{
	struct sl_tenant *t = &p->tenants[ti];
	const char *file = t->keys_file;
	struct key_slot *slot;
	char *key, **keys;
	size_t i;
	int ret;

	if (len > SL_KEY_MAX)
		return fail_in(c, file, line,
			       "key is %zu bytes long; at most %d fit (the data plane reads no longer keys)",
			       len, SL_KEY_MAX);
	for (i = 0; i < len; i++) {
		unsigned char ch = s[i];

		if (ch > 0x20 && ch < 0x7f)
			continue;
		if (ch == ' ' || ch == '\t')
			return fail_in(c, file, line,
				       "key has a space or tab at byte %zu; a key is one word of printable ASCII, one key per line",
				       i + 1);
		if (line == 1 && i == 0 && len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
			return fail_in(c, file, line,
				       "the file starts with a UTF-8 byte order mark; save it without one");
		return fail_in(c, file, line,
			       "key has byte 0x%02x at byte %zu; keys are printable ASCII without spaces",
			       ch, i + 1);
	}
	if (c->n_keys >= SL_MAX_KEYS)
		return fail_in(c, file, line,
			       "too many keys: a policy holds at most %d over all tenants",
			       SL_MAX_KEYS);
	ret = keyset_reserve(c);
	if (ret)
		return ret;
	slot = keyset_find(c, s, len);
	if (slot->key && slot->tenant == ti)
		return fail_in(c, file, line,
			       "this key is already on line %d of this file; each key may appear once (keys are never shown)",
			       slot->line);
	if (slot->key)
		return fail_in(c, file, line,
			       "this key of tenant \"%s\" already belongs to tenant \"%s\" (%s:%d); a key identifies one tenant: remove it from one file (keys are never shown)",
			       t->name, p->tenants[slot->tenant].name,
			       p->tenants[slot->tenant].keys_file, slot->line);
	/* Grow at powers of two. */
	if ((t->n_keys & (t->n_keys - 1)) == 0) {
		keys = realloc(t->keys, (t->n_keys ? t->n_keys * 2 : 8) * sizeof(*keys));
		if (!keys)
			return nomem(c);
		t->keys = keys;
	}
	key = malloc(len + 1);
	if (!key)
		return nomem(c);
	memcpy(key, s, len);
	key[len] = '\0';
	t->keys[t->n_keys++] = key;
	slot->key = key;
	slot->len = len;
	slot->tenant = ti;
	slot->line = line;
	c->n_keys++;
	return 0;
}

static int parse_keys(struct pctx *c, struct sl_policy *p, int ti, const char *buf, size_t len)
{
	const char *s = buf, *end = buf + len;
	int line, ret;

	for (line = 1; s < end; line++) {
		const char *nl = memchr(s, '\n', end - s);
		const char *e = nl ? nl : end;

		while (s < e && is_blank(*s))
			s++;
		while (e > s && is_blank(e[-1]))
			e--;
		if (s < e && *s != '#') {
			ret = add_key(c, p, ti, s, e - s, line);
			if (ret)
				return ret;
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	return 0;
}

static const char *file_type(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISFIFO(m))
		return "a pipe";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/*
 * Read tenant ti's keys file, named by node n, into its keys. The file must be a regular file
 * that only its owner may access. Its length (8 bytes, little-endian) and bytes go into the
 * policy hash.
 */
static int read_keys_file(struct pctx *c, const yaml_node_t *n, struct sl_policy *p, int ti)
{
	struct sl_tenant *t = &p->tenants[ti];
	const char *s, *path = t->keys_file;
	size_t cap = 0, len = 0;
	char *buf = NULL, *nb;
	unsigned char lenb[8];
	struct stat st;
	int fd = -1, ret, i, w;
	ssize_t r;
	SHOWBUF(sb);

	ret = get_scalar(c, n, "keys_file", "the path of a file of keys, one per line", &s);
	if (ret)
		return ret;
	w = snprintf(t->keys_file, sizeof(t->keys_file), "%s%s", s[0] == '/' ? "" : c->dir, s);
	if (w < 0 || (size_t)w >= sizeof(t->keys_file))
		return fail(c, line_of(n),
			    "keys_file \"%s\" makes a path of %d bytes; at most %zu fit",
			    show(sb, s, strlen(s)), w, sizeof(t->keys_file) - 1);
	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fail(c, line_of(n),
			    "keys_file %s: cannot open: %s; check the path (a relative path starts at the policy file's directory)",
			    path, strerror(errno));
	if (fstat(fd, &st)) {
		ret = fail(c, line_of(n), "keys_file %s: cannot stat: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = fail(c, line_of(n),
			   "keys_file %s is %s; give the path of a file of keys, one per line", path,
			   file_type(st.st_mode));
		goto cleanup;
	}
	if (st.st_mode & 077) {
		ret = fail(c, line_of(n),
			   "keys_file %s has mode %04o: group or others may access it, and keys are secrets; run chmod 600 %s",
			   path, (unsigned int)(st.st_mode & 07777), path);
		goto cleanup;
	}
	for (;;) {
		if (len == cap) {
			if (cap > KEYS_MAX_BYTES) {
				ret = fail(c, line_of(n),
					   "keys_file %s is larger than %d MiB; a policy holds at most %d keys",
					   path, KEYS_MAX_BYTES >> 20, SL_MAX_KEYS);
				goto cleanup;
			}
			cap = cap ? cap * 2 : 4096;
			if (cap > KEYS_MAX_BYTES + 1)
				cap = KEYS_MAX_BYTES + 1;
			nb = malloc(cap);
			if (!nb) {
				ret = nomem(c);
				goto cleanup;
			}
			/* Copied rather than realloc'd, so no copy of a key is freed unwiped. */
			if (buf) {
				memcpy(nb, buf, len);
				explicit_bzero(buf, len);
				free(buf);
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = fail(c, line_of(n), "keys_file %s: cannot read: %s", path,
				   strerror(errno));
			goto cleanup;
		}
		if (r == 0)
			break;
		len += r;
	}
	for (i = 0; i < 8; i++)
		lenb[i] = (__u64)len >> (8 * i);
	c->hash = fnv1a64(c->hash, lenb, sizeof(lenb));
	c->hash = fnv1a64(c->hash, buf, len);
	ret = parse_keys(c, p, ti, buf, len);
cleanup:
	if (buf) {
		explicit_bzero(buf, len);
		free(buf);
	}
	close(fd);
	return ret;
}

enum {
	TN_NAME,
	TN_PLAN,
	TN_LABELS,
	TN_KEYS,
	TN_OVERRIDES,
	TN_NR,
};

static int parse_tenant(struct pctx *c, const yaml_node_t *n, int idx, struct sl_policy *p)
{
	struct field f[TN_NR] = {
		[TN_NAME] = { .key = "name" },
		[TN_PLAN] = { .key = "plan" },
		[TN_LABELS] = { .key = "labels" },
		[TN_KEYS] = { .key = "keys_file" },
		[TN_OVERRIDES] = { .key = "overrides" },
	};
	struct sl_tenant *t = &p->tenants[idx];
	struct lim_in ovr;
	char where[96];
	int ret, i;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "tenant #%d must be a mapping (name: ..., plan: ..., keys_file: ...), not %s",
			    idx + 1, kind(n));
	t->line = line_of(n);
	item_where(c, n, "tenant", idx, where, sizeof(where));
	ret = get_fields(c, n, where, f, TN_NR);
	if (ret)
		return ret;

	if (!f[TN_NAME].v)
		return fail(c, t->line,
			    "tenant #%d has no \"name\" key; every tenant needs a unique name", idx + 1);
	ret = get_name(c, f[TN_NAME].v, "tenant name", t->name);
	if (ret)
		return ret;
	c->tenant_line[idx] = line_of(f[TN_NAME].v);
	for (i = 0; i < idx; i++) {
		if (!strcmp(p->tenants[i].name, t->name))
			return fail(c, c->tenant_line[idx],
				    "tenant name \"%s\" is already used on line %d; tenant names must be unique",
				    t->name, c->tenant_line[i]);
	}
	snprintf(where, sizeof(where), "in tenant \"%s\"", t->name);

	if (!f[TN_PLAN].v && !p->n_plans)
		return fail(c, t->line,
			    "tenant \"%s\" has no \"plan\" key; define a plan under plans: and add plan: NAME",
			    t->name);
	if (!f[TN_PLAN].v) {
		struct name_list list;

		plan_list(p, &list);
		return fail(c, t->line,
			    "tenant \"%s\" has no \"plan\" key; add plan: NAME (plans: %s)", t->name,
			    list.text);
	}
	ret = find_plan(c, f[TN_PLAN].v, p, t->name, &t->plan);
	if (ret)
		return ret;

	if (f[TN_LABELS].v) {
		ret = get_labels(c, f[TN_LABELS].v, where, "a tenant", t->labels, &t->n_labels);
		if (ret)
			return ret;
	}

	memset(&ovr, 0, sizeof(ovr));
	if (f[TN_OVERRIDES].v) {
		if (f[TN_OVERRIDES].v->type != YAML_MAPPING_NODE)
			return fail(c, line_of(f[TN_OVERRIDES].v),
				    "overrides must be a mapping like {rate: 150}, not %s",
				    kind(f[TN_OVERRIDES].v));
		snprintf(where, sizeof(where), "in overrides of tenant \"%s\"", t->name);
		ret = get_lim_in(c, f[TN_OVERRIDES].v, where, &ovr, NULL);
		if (ret)
			return ret;
	}
	ret = resolve_limits(c, p, t->plan, &ovr, t->name, &t->lim);
	if (ret)
		return ret;

	if (f[TN_KEYS].v)
		return read_keys_file(c, f[TN_KEYS].v, p, idx);
	return 0;
}

static int parse_tenants(struct pctx *c, const yaml_node_t *n, struct sl_policy *p)
{
	yaml_node_item_t *items;
	int count, i, ret;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n),
			    "tenants must be a list of tenants (each starting with '- name:'), not %s",
			    kind(n));
	items = n->data.sequence.items.start;
	count = (int)(n->data.sequence.items.top - items);
	if (count == 0)
		return fail(c, line_of(n),
			    "tenants is empty; add at least one tenant or remove tenants");
	if (count > SL_MAX_TENANTS) {
		yaml_node_t *e = node_at(c, items[SL_MAX_TENANTS]);

		return fail(c, e ? line_of(e) : line_of(n),
			    "too many tenants: %d; a policy holds at most %d", count,
			    SL_MAX_TENANTS);
	}
	p->tenants = calloc(count, sizeof(*p->tenants));
	if (!p->tenants)
		return nomem(c);
	for (i = 0; i < count; i++) {
		yaml_node_t *e = node_at(c, items[i]);

		if (!e)
			return fail(c, line_of(n), "malformed tenants list");
		/* Counted first so that sl_policy_free() releases a half-read tenant's keys. */
		p->n_tenants = i + 1;
		ret = parse_tenant(c, e, i, p);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_unknown_key(const struct pctx *c, const yaml_node_t *n, struct sl_policy *p)
{
	struct field f[] = {
		{ .key = "rate" }, { .key = "burst" }, { .key = "prefix" }, { .key = "action" },
	};
	struct sl_unknown_key *u = &p->unknown_key;
	int ret;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "unknown_key must be a mapping like {rate: 1, burst: 5}, not %s", kind(n));
	ret = get_fields(c, n, "in unknown_key", f, ARRAY_LEN(f));
	if (ret)
		return ret;
	if (f[0].v) {
		ret = get_count(c, f[0].v, "rate", &u->rate);
		if (ret)
			return ret;
		if (!u->rate)
			return fail(c, line_of(f[0].v),
				    "rate 0 would refuse every request without a known key; give at least 1 (requests per second)");
	}
	if (f[1].v) {
		ret = get_count(c, f[1].v, "burst", &u->burst);
		if (ret)
			return ret;
		ret = check_req_burst(c, f[1].v, "burst", u->burst, false);
		if (ret)
			return ret;
	}
	if (f[2].v) {
		ret = get_prefix(c, f[2].v, "in unknown_key",
				 "one bucket for every request without a known key", &u->prefix4,
				 &u->prefix6);
		if (ret)
			return ret;
	}
	if (f[3].v) {
		ret = get_over(c, f[3].v, "action", &u->action);
		if (ret)
			return ret;
	}
	return 0;
}

static const struct word method_words[] = {
	{ "GET", SL_HTTP_GET },	    { "POST", SL_HTTP_POST }, { "PUT", SL_HTTP_PUT },
	{ "PATCH", SL_HTTP_PATCH }, { "DELETE", SL_HTTP_DELETE }, { "HEAD", SL_HTTP_HEAD },
	{ "OPTIONS", SL_HTTP_OPTIONS },
};

static const char *word_name(const struct word *w, size_t n, int val, const char *none)
{
	for (size_t i = 0; i < n; i++)
		if (w[i].val == val)
			return w[i].text;
	return none;
}

const char *sl_over_action_name(__u8 a)
{
	return word_name(over_words, ARRAY_LEN(over_words), a, "unknown");
}

const char *sl_http_method_name(__u8 m)
{
	return word_name(method_words, ARRAY_LEN(method_words), m, "");
}

static int get_path(const struct pctx *c, const yaml_node_t *n, struct sl_group *g)
{
	const char *s;
	size_t len, i;
	int ret;
	SHOWBUF(sb);

	ret = get_scalar(c, n, "path", "a path prefix like /v1/", &s);
	if (ret)
		return ret;
	len = strlen(s);
	show(sb, s, len);
	if (s[0] != '/')
		return fail(c, line_of(n), "path \"%s\" must start with '/', like /v1/chat", sb);
	if (len > sizeof(g->path) - 1)
		return fail(c, line_of(n), "path \"%s\" is %zu bytes long; at most %zu fit", sb,
			    len, sizeof(g->path) - 1);
	for (i = 0; i < len; i++) {
		unsigned char ch = s[i];

		if (ch == '?' || ch == '#')
			return fail(c, line_of(n),
				    "path \"%s\" contains '%c'; paths are matched before any query, so give the path alone",
				    sb, ch);
		if (ch <= 0x20 || ch >= 0x7f)
			return fail(c, line_of(n),
				    "path \"%s\" contains a space, control or non-ASCII byte; write it as sent on the wire (percent-encoded)",
				    sb);
	}
	memcpy(g->path, s, len + 1);
	return 0;
}

static int get_match(const struct pctx *c, const yaml_node_t *n, const char *where,
		     const struct sl_policy *p, struct sl_group *g)
{
	struct field f[] = { { .key = "port" }, { .key = "method" }, { .key = "path" } };
	struct name_list list = { .full = false };
	char in[128], num[8], words[128];
	const char *s;
	int ret, i;
	SHOWBUF(sb);

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "match must be a mapping like {port: 8080, method: POST, path: /v1/}, not %s",
			    kind(n));
	snprintf(in, sizeof(in), "in match %s", where);
	ret = get_fields(c, n, in, f, ARRAY_LEN(f));
	if (ret)
		return ret;
	if (f[0].v) {
		ret = get_port(c, f[0].v, "port", &g->port);
		if (ret)
			return ret;
		for (i = 0; i < p->n_http_ports && p->http_ports[i] != g->port; i++) {
			snprintf(num, sizeof(num), "%u", p->http_ports[i]);
			list_add(&list, num);
		}
		if (i == p->n_http_ports)
			return fail(c, line_of(f[0].v),
				    "port %u is not one of http.ports (%s); add it there, or match one of those",
				    g->port, list.text);
	}
	if (f[1].v) {
		word_list(method_words, ARRAY_LEN(method_words), words, sizeof(words));
		ret = get_scalar(c, f[1].v, "method", "an HTTP method like GET", &s);
		if (ret)
			return ret;
		i = find_word(method_words, ARRAY_LEN(method_words), s, true);
		if (i < 0)
			return fail(c, line_of(f[1].v),
				    "method \"%s\" is not valid; use one of: %s",
				    show(sb, s, strlen(s)), words);
		g->method = method_words[i].val;
	}
	if (f[2].v)
		return get_path(c, f[2].v, g);
	return 0;
}

static int get_group_limit(const struct pctx *c, const yaml_node_t *n, struct sl_group *g,
			   int idx, int *name_line)
{
	struct field f[] = { { .key = "name" }, { .key = "rate" }, { .key = "burst" } };
	struct sl_group_limit *l = &g->limits[idx];
	char where[160];
	int ret, i;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "limit #%d of group \"%s\" must be a mapping (name: ..., rate: ...), not %s",
			    idx + 1, g->name, kind(n));
	item_where(c, n, "limit", idx, where, sizeof(where));
	snprintf(where + strlen(where), sizeof(where) - strlen(where), " of group \"%s\"",
		 g->name);
	ret = get_fields(c, n, where, f, ARRAY_LEN(f));
	if (ret)
		return ret;
	if (!f[0].v)
		return fail(c, line_of(n),
			    "limit #%d of group \"%s\" has no \"name\" key; every limit needs a name, unique within its group",
			    idx + 1, g->name);
	ret = get_name(c, f[0].v, "limit name", l->name);
	if (ret)
		return ret;
	name_line[idx] = line_of(f[0].v);
	for (i = 0; i < idx; i++) {
		if (!strcmp(g->limits[i].name, l->name))
			return fail(c, name_line[idx],
				    "limit name \"%s\" is already used in group \"%s\" on line %d; limit names must be unique within a group",
				    l->name, g->name, name_line[i]);
	}
	if (!f[1].v)
		return fail(c, line_of(n),
			    "limit \"%s\" of group \"%s\" has no rate; add rate: N (requests per second, per tenant)",
			    l->name, g->name);
	ret = get_count(c, f[1].v, "rate", &l->rate);
	if (ret)
		return ret;
	if (!l->rate)
		return fail(c, line_of(f[1].v),
			    "rate 0 would refuse every request of the group; give at least 1 (requests per second)");
	l->burst = l->rate;
	if (f[2].v) {
		ret = get_count(c, f[2].v, "burst", &l->burst);
		if (ret)
			return ret;
		return check_req_burst(c, f[2].v, "burst", l->burst, false);
	}
	return 0;
}

static int get_group_limits(const struct pctx *c, const yaml_node_t *n, struct sl_group *g)
{
	int name_line[SL_MAX_GROUP_LIMITS];
	yaml_node_item_t *items;
	int count, i, ret;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n),
			    "limits must be a list like [{name: per-second, rate: 20}], not %s",
			    kind(n));
	items = n->data.sequence.items.start;
	count = (int)(n->data.sequence.items.top - items);
	for (i = 0; i < count; i++) {
		yaml_node_t *e = node_at(c, items[i]);

		if (!e)
			return fail(c, line_of(n), "malformed limits list");
		if (i == SL_MAX_GROUP_LIMITS)
			return fail(c, line_of(e),
				    "too many limits in group \"%s\": %d; a group holds at most %d",
				    g->name, count, SL_MAX_GROUP_LIMITS);
		ret = get_group_limit(c, e, g, i, name_line);
		if (ret)
			return ret;
		g->n_limits = i + 1;
	}
	return 0;
}

/* True if every request group b matches also matches a (so with a first, b never matches). */
static bool group_covers(const struct sl_group *a, const struct sl_group *b)
{
	return (!a->port || a->port == b->port) && (!a->method || a->method == b->method) &&
	       !strncmp(a->path, b->path, strlen(a->path));
}

enum {
	G_NAME,
	G_MATCH,
	G_WEIGHT,
	G_LIMITS,
	G_ACTION,
	G_NR,
};

static int parse_group(struct pctx *c, const yaml_node_t *n, int idx, struct sl_policy *p)
{
	struct field f[G_NR] = {
		[G_NAME] = { .key = "name" },
		[G_MATCH] = { .key = "match" },
		[G_WEIGHT] = { .key = "weight" },
		[G_LIMITS] = { .key = "limits" },
		[G_ACTION] = { .key = "action" },
	};
	struct sl_group *g = &p->groups[idx];
	char where[96];
	__u64 w;
	int ret, i;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "group #%d must be a mapping (name: ..., match: ..., limits: ...), not %s",
			    idx + 1, kind(n));
	g->line = line_of(n);
	item_where(c, n, "group", idx, where, sizeof(where));
	ret = get_fields(c, n, where, f, G_NR);
	if (ret)
		return ret;

	if (!f[G_NAME].v)
		return fail(c, g->line,
			    "group #%d has no \"name\" key; every group needs a unique name", idx + 1);
	ret = get_name(c, f[G_NAME].v, "group name", g->name);
	if (ret)
		return ret;
	c->group_line[idx] = line_of(f[G_NAME].v);
	for (i = 0; i < idx; i++) {
		if (!strcmp(p->groups[i].name, g->name))
			return fail(c, c->group_line[idx],
				    "group name \"%s\" is already used on line %d; group names must be unique",
				    g->name, c->group_line[i]);
	}
	snprintf(where, sizeof(where), "in group \"%s\"", g->name);

	if (f[G_MATCH].v) {
		ret = get_match(c, f[G_MATCH].v, where, p, g);
		if (ret)
			return ret;
	}
	for (i = 0; i < idx; i++) {
		if (group_covers(&p->groups[i], g))
			return fail(c, g->line,
				    "group \"%s\" can never match: group \"%s\" (line %d) comes first and matches all its requests (first match wins); move \"%s\" above it or narrow \"%s\"",
				    g->name, p->groups[i].name, p->groups[i].line, g->name,
				    p->groups[i].name);
	}

	g->weight = 1;
	if (f[G_WEIGHT].v) {
		ret = get_count(c, f[G_WEIGHT].v, "weight", &w);
		if (ret)
			return ret;
		if (w < 1 || w > MAX_WEIGHT)
			return fail(c, line_of(f[G_WEIGHT].v),
				    "weight %llu is out of range; give 1 to %d (cost units of one request)",
				    (unsigned long long)w, MAX_WEIGHT);
		g->weight = w;
	}
	g->action = SL_OVER_INHERIT;
	if (f[G_ACTION].v) {
		ret = get_over(c, f[G_ACTION].v, "action", &g->action);
		if (ret)
			return ret;
	}
	if (f[G_LIMITS].v)
		return get_group_limits(c, f[G_LIMITS].v, g);
	return 0;
}

static int parse_groups(struct pctx *c, const yaml_node_t *n, struct sl_policy *p)
{
	yaml_node_item_t *items;
	int count, i, ret;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n),
			    "groups must be a list of API groups (each starting with '- name:'), not %s",
			    kind(n));
	items = n->data.sequence.items.start;
	count = (int)(n->data.sequence.items.top - items);
	if (count == 0)
		return fail(c, line_of(n),
			    "groups is empty; add at least one group or remove groups");
	if (count > SL_MAX_GROUPS) {
		yaml_node_t *e = node_at(c, items[SL_MAX_GROUPS]);

		return fail(c, e ? line_of(e) : line_of(n),
			    "too many groups: %d; a policy holds at most %d", count, SL_MAX_GROUPS);
	}
	p->groups = calloc(count, sizeof(*p->groups));
	if (!p->groups)
		return nomem(c);
	for (i = 0; i < count; i++) {
		yaml_node_t *e = node_at(c, items[i]);

		if (!e)
			return fail(c, line_of(n), "malformed groups list");
		p->n_groups = i + 1;
		ret = parse_group(c, e, i, p);
		if (ret)
			return ret;
	}
	return 0;
}

/* The HTTP keys of the top level: f[0] is http, the rest need it. */
static int parse_http_layer(struct pctx *c, struct field *f, int nf, struct sl_policy *p)
{
	const struct field *first = NULL;
	int i, ret;

	if (!f[0].v) {
		for (i = 1; i < nf; i++) {
			if (f[i].k && (!first || line_of(f[i].k) < line_of(first->k)))
				first = &f[i];
		}
		if (first)
			return fail(c, line_of(first->k),
				    "%s needs an http: section naming the ports; add http: {ports: [8080]} with the ports the API listens on",
				    first->key);
		return 0;
	}
	ret = parse_http(c, f[0].v, p);
	if (ret)
		return ret;
	p->unknown_key = (struct sl_unknown_key){
		.rate = 1, .burst = 5, .prefix4 = 32, .prefix6 = 64, .action = SL_OVER_DROP,
	};
	if (f[1].v) {
		ret = parse_plans(c, f[1].v, p);
		if (ret)
			return ret;
	}
	if (f[2].v) {
		ret = parse_tenants(c, f[2].v, p);
		if (ret)
			return ret;
	}
	if (f[3].v) {
		ret = parse_unknown_key(c, f[3].v, p);
		if (ret)
			return ret;
	}
	if (f[4].v)
		return parse_groups(c, f[4].v, p);
	return 0;
}

/*
 * The settings of `sluice run`: timezone, billing, alerts. Top-level and valid without http (a
 * policy may be written before its HTTP layer); the daemon applies them, this only checks.
 */

#define ZONEINFO_DIR "/usr/share/zoneinfo/"

/*
 * timezone: "UTC", or a zone file under ZONEINFO_DIR named by a plain relative path. Checked
 * here with stat() so a typo fails the policy, not the first calendar period; period.c loads it.
 */
static int get_timezone(const struct pctx *c, const yaml_node_t *n, struct sl_policy *p)
{
	char path[sizeof(ZONEINFO_DIR) + sizeof(p->timezone)];
	const char *s, *q;
	struct stat st;
	size_t len;
	int ret;
	SHOWBUF(sb);

	ret = get_scalar(c, n, "timezone", "UTC or a zone name like Europe/Berlin", &s);
	if (ret)
		return ret;
	len = strlen(s);
	show(sb, s, len);
	if (len > sizeof(p->timezone) - 1)
		return fail(c, line_of(n), "timezone \"%s\" is %zu characters long; at most %zu fit",
			    sb, len, sizeof(p->timezone) - 1);
	if (strcmp(s, "UTC")) {
		if (s[0] == '/')
			return fail(c, line_of(n),
				    "timezone \"%s\" is a path; give a zone name as under %s, like Europe/Berlin",
				    sb, ZONEINFO_DIR);
		if (strstr(s, ".."))
			return fail(c, line_of(n),
				    "timezone \"%s\" contains \"..\"; give a zone name as under %s, like Europe/Berlin",
				    sb, ZONEINFO_DIR);
		/* Zone names are ASCII; '.' is refused too, which keeps out zone.tab & co. */
		q = odd_char(s, "/_-+");
		if (q && (unsigned char)*q >= 0x20 && (unsigned char)*q < 0x7f)
			return fail(c, line_of(n),
				    "timezone \"%s\" contains '%c'; zone names have only letters, digits, '/', '_', '-' and '+'",
				    sb, *q);
		if (q)
			return fail(c, line_of(n),
				    "timezone \"%s\" contains byte 0x%02x; zone names have only letters, digits, '/', '_', '-' and '+'",
				    sb, (unsigned char)*q);
		snprintf(path, sizeof(path), "%s%s", ZONEINFO_DIR, s);
		if (stat(path, &st))
			return fail(c, line_of(n),
				    "timezone \"%s\" is not installed (%s: %s); check the spelling and case, like Europe/Berlin or UTC, or install the tzdata package",
				    sb, path, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return fail(c, line_of(n),
				    "timezone \"%s\" is not a zone: %s is %s; name one zone, like Europe/Berlin",
				    sb, path, file_type(st.st_mode));
	}
	memcpy(p->timezone, s, len + 1);
	return 0;
}

static int parse_billing(const struct pctx *c, const yaml_node_t *n, struct sl_billing_cfg *b)
{
	struct field f[] = { { .key = "period" }, { .key = "duration" }, { .key = "csv" } };
	int ret;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "billing must be a mapping like {period: hours, duration: 1, csv: false}, not %s",
			    kind(n));
	ret = get_fields(c, n, "in billing", f, ARRAY_LEN(f));
	if (ret)
		return ret;
	if (f[0].v) {
		ret = get_period_unit(c, f[0].v, "period", &b->unit);
		if (ret)
			return ret;
	}
	if (f[1].v) {
		ret = get_duration(c, f[1].v, &b->duration);
		if (ret)
			return ret;
	}
	if (f[2].v)
		return get_bool(c, f[2].v, "csv", &b->csv);
	return 0;
}

/*
 * alerts.hook: one command line, run with each alert event as JSON on stdin. Its program (the
 * text before the first blank) is checked now when it is an absolute path, so a typo fails the
 * policy rather than the first alert; a bare name is looked up in PATH when the hook runs.
 */
static int get_hook(const struct pctx *c, const yaml_node_t *n, struct sl_policy *p)
{
	char prog[sizeof(p->alert_hook)];
	const char *s;
	struct stat st;
	size_t len, i;
	int ret;

	ret = get_scalar(c, n, "hook", "a command like /usr/local/bin/notify-billing", &s);
	if (ret)
		return ret;
	len = strlen(s);
	if (len > sizeof(p->alert_hook) - 1)
		return fail(c, line_of(n), "hook is %zu bytes long; at most %zu fit", len,
			    sizeof(p->alert_hook) - 1);
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return fail(c, line_of(n),
				    "hook contains a control character at byte %zu; give one command line",
				    i + 1);
	}
	for (i = 0; i < len && s[i] != ' '; i++)
		prog[i] = s[i];
	prog[i] = '\0';
	if (i == 0)
		return fail(c, line_of(n),
			    "hook starts with a space; start it with the program to run");
	if (prog[0] == '/') {
		if (stat(prog, &st))
			return fail(c, line_of(n),
				    "hook program %s: %s; give the path of an installed program (or a name to look up in PATH)",
				    prog, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return fail(c, line_of(n),
				    "hook program %s is %s; give the path of an executable file", prog,
				    file_type(st.st_mode));
		if (access(prog, X_OK))
			return fail(c, line_of(n),
				    "hook program %s is not executable (mode %04o); run chmod +x %s",
				    prog, (unsigned int)(st.st_mode & 07777), prog);
	}
	memcpy(p->alert_hook, s, len + 1);
	return 0;
}

static int parse_alerts(const struct pctx *c, const yaml_node_t *n, struct sl_policy *p)
{
	struct field f[] = { { .key = "hook" } };
	int ret;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n),
			    "alerts must be a mapping like {hook: /usr/local/bin/notify-billing}, not %s",
			    kind(n));
	ret = get_fields(c, n, "in alerts", f, ARRAY_LEN(f));
	if (ret)
		return ret;
	if (!f[0].v)
		return fail(c, line_of(n),
			    "alerts has no \"hook\" key; add hook: COMMAND (run with each alert event as JSON on stdin), or remove alerts");
	return get_hook(c, f[0].v, p);
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
	T_TIMEZONE,
	T_BILLING,
	T_ALERTS,
	T_HTTP, /* T_HTTP and after: in the order parse_http_layer() expects */
	T_PLANS,
	T_TENANTS,
	T_UNKEY,
	T_GROUPS,
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

/* reject: http429 answers requests on http.ports: a policy without them could answer none. */
static int check_rule_rejects(const struct pctx *c, const struct sl_policy *p)
{
	for (int i = 0; i < p->n_rules && !p->n_http_ports; i++) {
		if (p->rules[i].reject == SL_OVER_HTTP429)
			return fail(c, c->reject_line[i],
				    "reject: http429 in rule \"%s\" answers HTTP requests on http.ports, and the policy has no http: section; add http: {ports: [8080]} with the API's ports, or use reject: reset",
				    p->rules[i].name);
	}
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
		[T_TIMEZONE] = { .key = "timezone" },
		[T_BILLING] = { .key = "billing" },
		[T_ALERTS] = { .key = "alerts" },
		[T_HTTP] = { .key = "http" },
		[T_PLANS] = { .key = "plans" },
		[T_TENANTS] = { .key = "tenants" },
		[T_UNKEY] = { .key = "unknown_key" },
		[T_GROUPS] = { .key = "groups" },
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

	memcpy(p->timezone, "UTC", sizeof("UTC"));
	if (f[T_TIMEZONE].v) {
		ret = get_timezone(c, f[T_TIMEZONE].v, p);
		if (ret)
			return ret;
	}
	p->billing = (struct sl_billing_cfg){ .unit = SL_PU_HOURS, .duration = 1, .csv = false };
	if (f[T_BILLING].v) {
		ret = parse_billing(c, f[T_BILLING].v, &p->billing);
		if (ret)
			return ret;
	}
	if (f[T_ALERTS].v) {
		ret = parse_alerts(c, f[T_ALERTS].v, p);
		if (ret)
			return ret;
	}

	if (!f[T_SOURCES].v)
		return fail(c, line_of(root),
			    "the policy has no \"sources\" key; add a sources: list with at least one rule");
	ret = parse_rules(c, f[T_SOURCES].v, p);
	if (ret)
		return ret;
	ret = parse_http_layer(c, &f[T_HTTP], T_NR - T_HTTP, p);
	if (ret)
		return ret;
	return check_rule_rejects(c, p);
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

/* sl_policy_parse(), with relative keys_file paths resolved under `dir` ("" or ends in '/'). */
static int parse_buf(const char *name, const char *dir, const char *buf, size_t len,
		     struct sl_policy *out, char *err, size_t errlen)
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
	c->dir = dir;
	c->hash = fnv1a64(FNV_OFFSET, buf, len);
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
	p.hash = c->hash;
	*out = p;
	memset(&p, 0, sizeof(p));
cleanup:
	sl_policy_free(&p);
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&yp);
	if (c) {
		free(c->refs);
		free(c->keyset);
	}
	free(c);
	return ret;
}

int sl_policy_parse(const char *name, const char *buf, size_t len, struct sl_policy *out,
		    char *err, size_t errlen)
{
	return parse_buf(name, "", buf, len, out, err, errlen);
}

int sl_policy_load(const char *path, struct sl_policy *out, char *err, size_t errlen)
{
	size_t cap = 64 * 1024, len = 0;
	char *buf = NULL, *nb, *dir = NULL;
	const char *slash;
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
	/* Keys files named relative to the policy are found next to it. */
	slash = strrchr(path, '/');
	dir = strndup(path, slash ? (size_t)(slash - path + 1) : 0);
	if (!dir) {
		ret = -ENOMEM;
		emit(err, errlen, path, 0, "out of memory while reading the policy");
		goto cleanup;
	}
	ret = parse_buf(path, dir, buf, len, out, err, errlen);
cleanup:
	free(dir);
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
	for (i = 0; i < p->n_tenants && p->tenants; i++) {
		struct sl_tenant *t = &p->tenants[i];
		int k;

		/* Keys are secrets: wipe them before their memory goes back to the allocator. */
		for (k = 0; k < t->n_keys; k++) {
			explicit_bzero(t->keys[k], strlen(t->keys[k]));
			free(t->keys[k]);
		}
		free(t->keys);
	}
	free(p->tenants);
	free(p->plans);
	free(p->groups);
	memset(p, 0, sizeof(*p));
}
