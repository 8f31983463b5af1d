/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Unit tests of the policy parser: the good/bad corpus, field values, CIDRs, hash, truncation. */

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

/* Tests run from the repository root (make test-unit, or the binary run by hand there). */
#define TP_GOOD_DIR "tests/unit/policies/good"
#define TP_BAD_DIR  "tests/unit/policies/bad"
#define TP_EXAMPLE  "examples/policy.yaml"

static char *tp_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = n;
	return buf;
}

static int tp_is_yaml(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 5 && !strcmp(d->d_name + n - 5, ".yaml");
}

/* Parse a policy given as a string; returns the result, fills err. */
static int tp_parse(const char *text, struct sl_policy *p, char *err, size_t errlen)
{
	return sl_policy_parse("t.yaml", text, strlen(text), p, err, errlen);
}

static const struct sl_policy_rule *tp_rule(const struct sl_policy *p, const char *name)
{
	int i;

	for (i = 0; i < p->n_rules; i++) {
		if (!strcmp(p->rules[i].name, name))
			return &p->rules[i];
	}
	cr_assert_fail("no rule named %s", name);
	return NULL;
}

static void tp_expect_cidr(const struct sl_policy_rule *r, int i, const char *text)
{
	char buf[64];

	cr_assert_lt(i, r->n_cidrs, "rule %s has %d cidrs", r->name, r->n_cidrs);
	cr_expect_str_eq(sl_cidr_str(&r->cidrs[i], buf, sizeof(buf)), text);
}

/*
 * Every file in the bad corpus starts with "# expect: LINE: SUBSTRING" and must be rejected
 * with exactly "PATH:LINE: reason" where reason contains SUBSTRING. LINE 0 means the message
 * has no line ("PATH: reason"), as for an empty file.
 */
Test(policy, bad_corpus)
{
	struct dirent **ents;
	int n, i, checked = 0;

	n = scandir(TP_BAD_DIR, &ents, tp_is_yaml, alphasort);
	cr_assert_gt(n, 0, "cannot list %s (run from the repository root)", TP_BAD_DIR);
	for (i = 0; i < n; i++) {
		char path[512], prefix[600], err[1024], want[512];
		struct sl_policy p;
		size_t len;
		char *buf, *nl;
		int line, off = 0, ret;

		snprintf(path, sizeof(path), "%s/%s", TP_BAD_DIR, ents[i]->d_name);
		buf = tp_read(path, &len);
		nl = strchr(buf, '\n');
		if (nl)
			*nl = '\0';
		cr_assert_eq(sscanf(buf, "# expect: %d: %n", &line, &off), 1,
			     "%s: first line must be '# expect: LINE: SUBSTRING'", path);
		snprintf(want, sizeof(want), "%s", buf + off);
		free(buf);
		cr_assert_gt(strlen(want), 0, "%s: empty SUBSTRING", path);

		memset(err, 'x', sizeof(err));
		ret = sl_policy_load(path, &p, err, sizeof(err));
		cr_expect_lt(ret, 0, "%s: accepted, expected \"%s\"", path, want);
		cr_expect_null(p.rules, "%s: rules left allocated after an error", path);
		cr_expect_eq(p.n_rules, 0);
		if (line > 0)
			snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
		else
			snprintf(prefix, sizeof(prefix), "%s: ", path);
		cr_expect(!strncmp(err, prefix, strlen(prefix)),
			  "%s: got \"%s\", want prefix \"%s\"", path, err, prefix);
		cr_expect_not_null(strstr(err + strlen(prefix) - 1, want),
				   "%s: got \"%s\", want it to contain \"%s\"", path, err, want);
		/* Reasons start lowercase, and the message is one line. */
		if (strlen(err) > strlen(prefix))
			cr_expect(err[strlen(prefix)] < 'A' || err[strlen(prefix)] > 'Z',
				  "%s: reason starts uppercase: %s", path, err);
		cr_expect_null(strchr(err, '\n'), "%s: message spans lines: %s", path, err);
		sl_policy_free(&p);
		checked++;
		free(ents[i]);
	}
	free(ents);
	cr_expect_geq(checked, 25, "only %d bad files", checked);
}

Test(policy, good_corpus_all_parse)
{
	struct dirent **ents;
	int n, i;

	n = scandir(TP_GOOD_DIR, &ents, tp_is_yaml, alphasort);
	cr_assert_gt(n, 0, "cannot list %s (run from the repository root)", TP_GOOD_DIR);
	for (i = 0; i < n; i++) {
		char path[512], err[512] = "";
		struct sl_policy p;

		snprintf(path, sizeof(path), "%s/%s", TP_GOOD_DIR, ents[i]->d_name);
		cr_expect_eq(sl_policy_load(path, &p, err, sizeof(err)), 0, "%s: %s", path, err);
		cr_expect_str_eq(p.path, path);
		cr_expect_eq(p.version, 1);
		cr_expect_gt(p.n_rules, 0);
		sl_policy_free(&p);
		free(ents[i]);
	}
	free(ents);
}

Test(policy, example_parses)
{
	struct sl_policy p;
	char err[512] = "";

	cr_assert_eq(sl_policy_load(TP_EXAMPLE, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_gt(p.n_rules, 1);
	sl_policy_free(&p);
}

Test(policy, minimal_defaults)
{
	const struct sl_policy_rule *r;
	struct sl_policy p;
	char err[512] = "";

	cr_assert_eq(sl_policy_load(TP_GOOD_DIR "/minimal.yaml", &p, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_str_eq(p.name, "minimal");
	cr_expect_eq(p.version, 1);
	cr_expect_eq(p.dry_run, false);
	cr_expect_eq(p.malformed, SL_CV_PASS);
	cr_expect_eq(p.fragments, SL_CV_PASS);
	cr_expect_eq(p.unknown_l3, SL_CV_PASS);
	cr_assert_eq(p.n_rules, 1);
	r = &p.rules[0];
	cr_expect_str_eq(r->name, "all");
	cr_expect_eq(r->line, 5);
	cr_expect_eq(r->action, SL_ACT_LIMIT);
	cr_expect_eq(r->prefix4, 32);
	cr_expect_eq(r->prefix6, 64);
	cr_expect_eq(r->bytes, false);
	cr_expect_eq(r->dry_run, false);
	cr_expect_eq(r->rate, 100);
	cr_expect_eq(r->burst, 100);
	cr_expect_eq(r->ovf_rate, 100);
	cr_expect_eq(r->ovf_burst, 100);
	cr_assert_eq(r->n_cidrs, 1);
	cr_expect_eq(r->cidrs[0].family, SL_AF_INET);
	cr_expect_eq(r->cidrs[0].len, 0);
	sl_policy_free(&p);
}

Test(policy, full_values)
{
	const struct sl_policy_rule *r;
	struct sl_policy p;
	char err[512] = "";

	cr_assert_eq(sl_policy_load(TP_GOOD_DIR "/full.yaml", &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(p.name, "edge-policy.v2_test");
	cr_expect_eq(p.dry_run, true);
	cr_expect_eq(p.malformed, SL_CV_DROP);
	cr_expect_eq(p.fragments, SL_CV_LIMIT);
	cr_expect_eq(p.unknown_l3, SL_CV_DROP);
	cr_assert_eq(p.n_rules, 5);

	r = tp_rule(&p, "default");
	cr_expect_eq(r->line, 10);
	cr_assert_eq(r->n_cidrs, 2);
	tp_expect_cidr(r, 0, "0.0.0.0/0");
	tp_expect_cidr(r, 1, "::/0");
	cr_expect_eq(r->cidrs[1].family, SL_AF_INET6);
	cr_expect_eq(r->prefix4, 24);
	cr_expect_eq(r->prefix6, 56);
	cr_expect_eq(r->rate, 10000000ULL);
	cr_expect_eq(r->bytes, true);
	cr_expect_eq(r->burst, 20000000ULL);
	cr_expect_eq(r->action, SL_ACT_LIMIT);
	cr_expect_eq(r->dry_run, false);
	cr_expect_eq(r->ovf_rate, 1000000000ULL);
	cr_expect_eq(r->ovf_burst, 2000000000ULL);

	r = tp_rule(&p, "office");
	tp_expect_cidr(r, 0, "192.0.2.0/24");
	cr_expect_eq(r->prefix4, 32);
	cr_expect_eq(r->prefix6, 48);
	cr_expect_eq(r->rate, 5000);
	cr_expect_eq(r->bytes, false);
	cr_expect_eq(r->burst, 1);
	cr_expect_eq(r->dry_run, true);
	cr_expect_eq(r->ovf_rate, 100);
	cr_expect_eq(r->ovf_burst, 1, "overflow burst defaults to the rule's burst");

	r = tp_rule(&p, "partners");
	cr_assert_eq(r->n_cidrs, 3);
	tp_expect_cidr(r, 0, "198.51.100.7/32");
	tp_expect_cidr(r, 1, "2001:db8::/32");
	tp_expect_cidr(r, 2, "2001:db8:1::1/128");
	cr_expect_eq(r->rate, 250);
	cr_expect_eq(r->burst, 250);

	r = tp_rule(&p, "monitoring");
	cr_expect_eq(r->action, SL_ACT_ALLOW);
	cr_expect_eq(r->rate, 0, "rate is ignored on allow rules");
	cr_expect_eq(r->burst, 0);
	cr_expect_eq(r->ovf_rate, 0);

	r = tp_rule(&p, "blocked");
	cr_expect_eq(r->action, SL_ACT_DENY);
	tp_expect_cidr(r, 0, "2001:db8:dead::/48");
	sl_policy_free(&p);
}

Test(policy, ipv6_values)
{
	const struct sl_policy_rule *r;
	struct sl_policy p;
	char err[512] = "";

	cr_assert_eq(sl_policy_load(TP_GOOD_DIR "/ipv6.yaml", &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.fragments, SL_CV_DROP);
	r = tp_rule(&p, "isp-a");
	tp_expect_cidr(r, 0, "2001:db8:a::/48");
	cr_expect_eq(r->prefix6, 56);
	cr_expect_eq(r->prefix4, 32);
	cr_expect_eq(r->rate, 1000);
	r = tp_rule(&p, "host");
	tp_expect_cidr(r, 0, "2001:db8:a:1::42/128");
	cr_expect_eq(r->burst, 20);
	r = tp_rule(&p, "everyone");
	cr_expect_eq(r->prefix6, 0);
	sl_policy_free(&p);
}

Test(policy, suffixes)
{
	static const struct {
		const char *rule;
		__u64 rate;
	} want[] = {
		{ "plain", 1234567ULL },
		{ "k-lower", 3000ULL },
		{ "k-upper", 4000ULL },
		{ "m-upper", 5000000ULL },
		{ "m-lower", 6000000ULL },
		{ "g-upper", 7000000000ULL },
		{ "g-lower", 8000000000ULL },
		{ "max", 18446744073709551615ULL },
		{ "max-g", 18446744073000000000ULL },
		{ "leading-zero", 7ULL },
	};
	const struct sl_policy_rule *r;
	struct sl_policy p;
	char err[512] = "";
	size_t i;

	cr_assert_eq(sl_policy_load(TP_GOOD_DIR "/suffixes.yaml", &p, err, sizeof(err)), 0, "%s",
		     err);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		r = tp_rule(&p, want[i].rule);
		cr_expect_eq(r->rate, want[i].rate, "%s: %llu", want[i].rule,
			     (unsigned long long)r->rate);
	}
	r = tp_rule(&p, "bytes-min");
	cr_expect_eq(r->bytes, true);
	cr_expect_eq(r->burst, 1514);
	sl_policy_free(&p);
}

Test(policy, anchors)
{
	struct sl_policy p;
	char err[512] = "";

	cr_assert_eq(sl_policy_load(TP_GOOD_DIR "/anchors.yaml", &p, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(p.n_rules, 2);
	cr_expect_eq(p.rules[1].prefix4, 16);
	cr_expect_eq(p.rules[1].prefix6, 48);
	sl_policy_free(&p);
}

/* Numbers through a one-rule template: accepted values and the reason for rejected ones. */
Test(policy, numbers)
{
	static const struct {
		const char *text;
		int ok;
		__u64 val;
		const char *reason;
	} cases[] = {
		{ "1", 1, 1, NULL },
		{ "1k", 1, 1000, NULL },
		{ "2M", 1, 2000000, NULL },
		{ "3G", 1, 3000000000ULL, NULL },
		{ "18446744073709551615", 1, 18446744073709551615ULL, NULL },
		{ "\"42\"", 1, 42, NULL },
		{ "18446744073709551616", 0, 0, "64 bits" },
		{ "99999999999999999999999", 0, 0, "64 bits" },
		{ "18446744073709552k", 0, 0, "64 bits" },
		{ "-1", 0, 0, "negative" },
		{ "1.0", 0, 0, "whole number" },
		{ "0x10", 0, 0, "not a number" },
		{ "1e6", 0, 0, "not a number" },
		{ "+5", 0, 0, "not a number" },
		{ "5kk", 0, 0, "not a number" },
		{ "5T", 0, 0, "not a number" },
		{ "1Gi", 0, 0, "binary suffix" },
		{ "k", 0, 0, "not a number" },
		{ "''", 0, 0, "no value" },
		{ "~", 0, 0, "not a number" },
		{ "{a: 1}", 0, 0, "not a mapping" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256], err[512] = "";
		struct sl_policy p;
		int ret;

		snprintf(text, sizeof(text),
			 "version: 1\nname: n\nsources:\n  - name: r\n    cidr: 10.0.0.0/8\n"
			 "    rate: %s\n",
			 cases[i].text);
		ret = tp_parse(text, &p, err, sizeof(err));
		if (cases[i].ok) {
			cr_expect_eq(ret, 0, "%s: %s", cases[i].text, err);
			if (!ret)
				cr_expect_eq(p.rules[0].rate, cases[i].val, "%s", cases[i].text);
		} else {
			cr_expect_eq(ret, -EINVAL, "%s accepted", cases[i].text);
			cr_expect(!strncmp(err, "t.yaml:6: ", 10), "%s: %s", cases[i].text, err);
			cr_expect_not_null(strstr(err, cases[i].reason), "%s: %s", cases[i].text,
					   err);
		}
		sl_policy_free(&p);
	}
}

Test(policy, words_and_bools)
{
	static const struct {
		const char *line;
		int ok;
	} cases[] = {
		{ "dry_run: true", 1 },
		{ "dry_run: False", 1 },
		{ "dry_run: YES", 1 },
		{ "dry_run: no", 1 },
		{ "dry_run: on", 1 },
		{ "dry_run: off", 1 },
		{ "dry_run: 1", 0 },
		{ "dry_run: y", 0 },
		{ "dry_run: []", 0 },
		{ "malformed: pass", 1 },
		{ "malformed: drop", 1 },
		{ "malformed: Drop", 0 },
		{ "fragments: limit", 1 },
		{ "malformed: limit", 0 },
		{ "unknown_ethertype: limit", 0 },
		{ "unknown_ethertype: drop", 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256], err[512] = "";
		struct sl_policy p;
		int ret;

		snprintf(text, sizeof(text),
			 "version: 1\nname: n\n%s\nsources:\n  - name: r\n    cidr: 10.0.0.0/8\n"
			 "    rate: 1\n",
			 cases[i].line);
		ret = tp_parse(text, &p, err, sizeof(err));
		if (cases[i].ok)
			cr_expect_eq(ret, 0, "%s: %s", cases[i].line, err);
		else
			cr_expect(ret == -EINVAL && !strncmp(err, "t.yaml:3: ", 10), "%s: %s",
				  cases[i].line, err);
		sl_policy_free(&p);
	}
}

Test(policy, cidr_round_trip)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "10.0.0.0/8", "10.0.0.0/8" },
		{ "10.0.0.0/08", "10.0.0.0/8" },
		{ "192.168.1.1", "192.168.1.1/32" },
		{ "192.168.1.1/32", "192.168.1.1/32" },
		{ "255.255.255.255/32", "255.255.255.255/32" },
		{ "::/0", "::/0" },
		{ "::1", "::1/128" },
		{ "2001:db8::/32", "2001:db8::/32" },
		{ "2001:DB8:0:0::/64", "2001:db8::/64" },
		{ "2001:db8:1:2:3:4:5:6/128", "2001:db8:1:2:3:4:5:6/128" },
		{ "fe80::/10", "fe80::/10" },
		{ "2001:db8:8000::/33", "2001:db8:8000::/33" },
		{ "::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sl_cidr c, again;
		char buf[64];

		cr_expect_eq(sl_cidr_parse(cases[i].in, &c), 0, "%s", cases[i].in);
		cr_expect_str_eq(sl_cidr_str(&c, buf, sizeof(buf)), cases[i].out, "%s",
				 cases[i].in);
		cr_expect_eq(sl_cidr_parse(buf, &again), 0, "%s", buf);
		cr_expect_eq(memcmp(&c, &again, sizeof(c)), 0, "%s", buf);
	}
}

Test(policy, cidr_fields)
{
	struct sl_cidr c;

	cr_assert_eq(sl_cidr_parse("10.1.0.0/16", &c), 0);
	cr_expect_eq(c.family, SL_AF_INET);
	cr_expect_eq(c.len, 16);
	cr_expect_eq(c.addr[0], 10);
	cr_expect_eq(c.addr[1], 1);
	cr_expect_eq(c.addr[4], 0, "IPv4 leaves addr[4..15] zero");
	cr_assert_eq(sl_cidr_parse("2001:db8::", &c), 0);
	cr_expect_eq(c.family, SL_AF_INET6);
	cr_expect_eq(c.len, 128);
	cr_expect_eq(c.addr[0], 0x20);
	cr_expect_eq(c.addr[3], 0xb8);
}

Test(policy, cidr_rejects)
{
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/a", "10.0.0.0/8/8",
		"10.0.0/8", "10.0.0.256", "1.2.3.4 ", " 1.2.3.4", "::/129", "::/1000",
		"2001:db8::g", "fe80::1%eth0", "host.example", "10.0.0.0/8 ",
		/* host bits set */
		"10.1.2.3/16", "2001:db8::1/64", "0.0.0.1/0",
	};
	struct sl_cidr c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(sl_cidr_parse(bad[i], &c), -EINVAL, "accepted \"%s\"", bad[i]);
	cr_expect_eq(sl_cidr_parse(NULL, &c), -EINVAL);
}

Test(policy, cidr_str_edges)
{
	struct sl_cidr c = { .family = 9 };
	char small[6], buf[64];

	cr_expect_str_eq(sl_cidr_str(&c, buf, sizeof(buf)), "?");
	cr_assert_eq(sl_cidr_parse("192.168.100.0/24", &c), 0);
	cr_expect_str_eq(sl_cidr_str(&c, small, sizeof(small)), "192.1", "truncated, terminated");
}

Test(policy, names)
{
	cr_expect_str_eq(sl_action_name(SL_ACT_LIMIT), "limit");
	cr_expect_str_eq(sl_action_name(SL_ACT_ALLOW), "allow");
	cr_expect_str_eq(sl_action_name(SL_ACT_DENY), "deny");
	cr_expect_str_eq(sl_action_name(77), "unknown");
	cr_expect_str_eq(sl_class_verdict_name(SL_CV_PASS), "pass");
	cr_expect_str_eq(sl_class_verdict_name(SL_CV_DROP), "drop");
	cr_expect_str_eq(sl_class_verdict_name(SL_CV_LIMIT), "limit");
	cr_expect_str_eq(sl_class_verdict_name(9), "unknown");
}

Test(policy, hash)
{
	static const char text[] = "version: 1\nname: n\nsources:\n  - name: r\n"
				   "    cidr: 10.0.0.0/8\n    rate: 1 # comment\n";
	struct sl_policy a, b, c;
	char buf[sizeof(text)], err[512];
	__u64 h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < strlen(text); i++) {
		h ^= (unsigned char)text[i];
		h *= 0x100000001b3ULL;
	}
	cr_assert_eq(tp_parse(text, &a, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(a.hash, h, "FNV-1a 64 of the bytes");
	cr_assert_eq(tp_parse(text, &b, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(a.hash, b.hash);
	/* One byte changed inside a comment: same policy, different file, different hash. */
	memcpy(buf, text, sizeof(text));
	buf[strlen(text) - 2] = 'X';
	cr_assert_eq(tp_parse(buf, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_neq(a.hash, c.hash);
	sl_policy_free(&a);
	sl_policy_free(&b);
	sl_policy_free(&c);
}

/* Cut a valid file at every byte: each prefix either parses or fails with a message. */
Test(policy, truncation_never_crashes)
{
	static const char *const files[] = { TP_EXAMPLE, TP_GOOD_DIR "/full.yaml" };
	size_t f;

	for (f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t len, cut, ok = 0;
		char *full = tp_read(files[f], &len);

		for (cut = 0; cut <= len; cut++) {
			struct sl_policy p;
			char err[512];
			char *copy = malloc(cut ? cut : 1);
			int ret;

			/* An exact-size copy, so a read past `cut` shows up under valgrind/ASan. */
			memcpy(copy, full, cut);
			err[0] = '\0';
			ret = sl_policy_parse("cut.yaml", copy, cut, &p, err, sizeof(err));
			if (ret == 0) {
				ok++;
				cr_expect_gt(p.n_rules, 0);
			} else {
				cr_expect_lt(ret, 0);
				cr_expect(!strncmp(err, "cut.yaml", 8) && strlen(err) > 10,
					  "cut at %zu: bad message \"%s\"", cut, err);
				cr_expect_null(p.rules);
			}
			sl_policy_free(&p);
			free(copy);
		}
		cr_expect_gt(ok, 0, "%s: not even the whole file parsed", files[f]);
		free(full);
	}
}

/* Deterministic byte mutations of a valid file: never a crash, always a verdict. */
Test(policy, mutations_never_crash)
{
	static const char subst[] = { '\0', '\n', ':', '-', '[', '{', '"', '*', '&', ' ', '\t',
				      '#', '9', 'k', '/', '\xff' };
	size_t len, i, j;
	char *full = tp_read(TP_GOOD_DIR "/full.yaml", &len);
	char *buf = malloc(len);

	for (i = 0; i < len; i++) {
		for (j = 0; j < sizeof(subst); j++) {
			struct sl_policy p;
			char err[512] = "";
			int ret;

			memcpy(buf, full, len);
			buf[i] = subst[j];
			ret = sl_policy_parse("mut.yaml", buf, len, &p, err, sizeof(err));
			if (ret)
				cr_expect(!strncmp(err, "mut.yaml", 8), "byte %zu -> %d: \"%s\"", i,
					  subst[j], err);
			sl_policy_free(&p);
		}
	}
	free(buf);
	free(full);
}

Test(policy, deep_nesting)
{
	size_t depth = 100000, i;
	char *buf = malloc(2 * depth + 64);
	struct sl_policy p;
	char err[512];
	size_t n = 0;
	int ret;

	n += sprintf(buf, "version: ");
	for (i = 0; i < depth; i++)
		buf[n++] = '[';
	for (i = 0; i < depth; i++)
		buf[n++] = ']';
	buf[n++] = '\n';
	ret = sl_policy_parse("deep.yaml", buf, n, &p, err, sizeof(err));
	cr_expect_lt(ret, 0);
	cr_expect(!strncmp(err, "deep.yaml:", 10), "%s", err);
	sl_policy_free(&p);
	free(buf);
}

Test(policy, too_many_cidrs)
{
	size_t cap = 4200 * 24 + 256, n = 0;
	char *buf = malloc(cap);
	struct sl_policy p;
	char err[512] = "";
	int i, ret;

	n += snprintf(buf + n, cap - n,
		      "version: 1\nname: n\nsources:\n  - name: r\n    rate: 1\n    cidr:\n");
	for (i = 0; i < 4096; i++)
		n += snprintf(buf + n, cap - n, "      - 10.%d.%d.0/24\n", i / 256, i % 256);
	ret = sl_policy_parse("many.yaml", buf, n, &p, err, sizeof(err));
	cr_expect_eq(ret, 0, "4096 cidrs fit: %s", err);
	if (!ret)
		cr_expect_eq(p.rules[0].n_cidrs, 4096);
	sl_policy_free(&p);

	n += snprintf(buf + n, cap - n, "      - 11.0.0.0/8\n");
	ret = sl_policy_parse("many.yaml", buf, n, &p, err, sizeof(err));
	cr_expect_eq(ret, -EINVAL);
	cr_expect(!strncmp(err, "many.yaml:4103: too many CIDRs", 30), "%s", err);
	sl_policy_free(&p);
	free(buf);
}

Test(policy, exactly_max_rules)
{
	size_t cap = 256 * 64 + 128, n = 0;
	char *buf = malloc(cap);
	struct sl_policy p;
	char err[512] = "";
	int i;

	n += snprintf(buf + n, cap - n, "version: 1\nname: n\nsources:\n");
	for (i = 0; i < SL_MAX_RULES; i++)
		n += snprintf(buf + n, cap - n, "  - {name: r%d, cidr: 10.0.%d.0/24, rate: %d}\n",
			      i, i, i + 1);
	cr_assert_eq(sl_policy_parse("max.yaml", buf, n, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.n_rules, SL_MAX_RULES);
	cr_expect_eq(p.rules[255].rate, 256);
	cr_expect_eq(p.rules[255].line, 259);
	sl_policy_free(&p);
	free(buf);
}

Test(policy, load_errors)
{
	char path[] = "/tmp/sluice-policy-XXXXXX", err[512];
	struct sl_policy p;
	char *big;
	int fd, ret;

	ret = sl_policy_load("/nonexistent/policy.yaml", &p, err, sizeof(err));
	cr_expect_eq(ret, -ENOENT);
	cr_expect(!strncmp(err, "/nonexistent/policy.yaml: cannot open: No such file or directory;",
			   64),
		  "%s", err);

	ret = sl_policy_load("tests", &p, err, sizeof(err));
	cr_expect_eq(ret, -EISDIR);
	cr_expect(!strncmp(err, "tests: cannot read: Is a directory;", 35), "%s", err);

	/* Just over 1 MiB of comments: refused before parsing. */
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	big = malloc((1 << 20) + 1);
	memset(big, '#', (1 << 20) + 1);
	cr_assert_eq(write(fd, big, (1 << 20) + 1), (1 << 20) + 1);
	close(fd);
	ret = sl_policy_load(path, &p, err, sizeof(err));
	cr_expect_eq(ret, -EFBIG);
	cr_expect_not_null(strstr(err, "larger than 1 MiB"), "%s", err);
	/* Exactly 1 MiB is allowed (and, all comment, empty). */
	cr_assert_eq(truncate(path, 1 << 20), 0);
	ret = sl_policy_load(path, &p, err, sizeof(err));
	cr_expect_eq(ret, -EINVAL);
	cr_expect_not_null(strstr(err, "policy is empty"), "%s", err);
	unlink(path);
	free(big);
	cr_expect_eq(sl_policy_parse("big", "", (1 << 20) + 1, &p, err, sizeof(err)), -EFBIG);
}

Test(policy, empty_buffers)
{
	struct sl_policy p;
	char err[512];

	cr_expect_eq(sl_policy_parse("e.yaml", "", 0, &p, err, sizeof(err)), -EINVAL);
	cr_expect(!strncmp(err, "e.yaml: the policy is empty", 27), "%s", err);
	cr_expect_eq(sl_policy_parse("e.yaml", NULL, 0, &p, err, sizeof(err)), -EINVAL);
	cr_expect_eq(sl_policy_parse("e.yaml", "\n\n# only\n", 9, &p, err, sizeof(err)), -EINVAL);
	cr_expect(!strncmp(err, "e.yaml: ", 8), "%s", err);
}

Test(policy, small_or_missing_error_buffer)
{
	static const char text[] = "version: 3\n";
	struct sl_policy p;
	char err[8];

	memset(err, 'x', sizeof(err));
	cr_expect_eq(sl_policy_parse("a-long-file-name.yaml", text, strlen(text), &p, err,
				     sizeof(err)),
		     -EINVAL);
	cr_expect_eq(strlen(err), sizeof(err) - 1, "truncated and terminated");
	cr_expect_eq(sl_policy_parse("f", text, strlen(text), &p, NULL, 0), -EINVAL);
	cr_expect_eq(sl_policy_parse("f", text, strlen(text), &p, err, 0), -EINVAL);
}

Test(policy, free_is_idempotent)
{
	struct sl_policy zero = { 0 }, p;
	char err[512];

	sl_policy_free(&zero);
	sl_policy_free(&zero);
	sl_policy_free(NULL);
	cr_assert_eq(sl_policy_load(TP_GOOD_DIR "/full.yaml", &p, err, sizeof(err)), 0, "%s", err);
	sl_policy_free(&p);
	cr_expect_null(p.rules);
	cr_expect_eq(p.n_rules, 0);
	sl_policy_free(&p);
}

/* The message names the key, the line of the duplicate, and the other occurrence. */
Test(policy, duplicate_cidr_reports_earliest_repeat)
{
	static const char text[] = "version: 1\nname: n\nsources:\n"
				   "  - {name: a, cidr: [10.0.0.0/8, 10.1.0.0/16], rate: 1}\n"
				   "  - {name: b, cidr: 10.1.0.0/16, rate: 1}\n"
				   "  - {name: c, cidr: 10.0.0.0/8, rate: 1}\n";
	struct sl_policy p;
	char err[512];

	cr_expect_eq(tp_parse(text, &p, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "t.yaml:5: cidr 10.1.0.0/16 is already in rule \"a\" (line 4); "
			      "a prefix may belong to one rule only");
}
