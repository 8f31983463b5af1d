/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Unit tests of the policy parser: the good/bad corpus, field values, CIDRs, hash, truncation. */

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "sluice_http.h"

/* Tests run from the repository root (make test-unit, or the binary run by hand there). */
#define TP_GOOD_DIR "tests/unit/policies/good"
#define TP_BAD_DIR  "tests/unit/policies/bad"
#define TP_EXAMPLE  "examples/policy.yaml"
#define TP_KEYS_DIR "tests/unit/policies/keys"
#define TP_EX_KEYS  "examples/keys"

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

static int tp_is_keys(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 5 && !strcmp(d->d_name + n - 5, ".keys");
}

/*
 * The parser refuses keys files that group or others may read, and git keeps no mode but the
 * executable bit: every test that reads the checked-in keys files makes them 0600 first.
 */
static void tp_keys_private(const char *dir)
{
	struct dirent **ents;
	int n, i;

	n = scandir(dir, &ents, tp_is_keys, alphasort);
	cr_assert_gt(n, 0, "cannot list %s (run from the repository root)", dir);
	for (i = 0; i < n; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		cr_assert_eq(chmod(path, 0600), 0, "chmod %s: %s", path, strerror(errno));
		free(ents[i]);
	}
	free(ents);
}

/* Write a file of `text` with `mode` (exactly: no umask). */
static void tp_write(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(path, mode), 0);
}

/* A fresh private directory under /tmp for files a test makes; removed by tp_rmdir(). */
static void tp_mkdtemp(char dir[64])
{
	snprintf(dir, 64, "/tmp/sluice-policy-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

static void tp_rmdir(const char *dir)
{
	struct dirent **ents;
	int n, i;

	n = scandir(dir, &ents, NULL, alphasort);
	for (i = 0; i < n; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, ".."))
			unlink(path);
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
	rmdir(dir);
}

/* Every pointer and count that an error must leave empty. */
static void tp_expect_empty(const struct sl_policy *p, const char *what)
{
	cr_expect_null(p->rules, "%s: rules left allocated after an error", what);
	cr_expect_null(p->plans, "%s: plans left allocated after an error", what);
	cr_expect_null(p->tenants, "%s: tenants left allocated after an error", what);
	cr_expect_null(p->groups, "%s: groups left allocated after an error", what);
	cr_expect_eq(p->n_rules + p->n_plans + p->n_tenants + p->n_groups + p->n_http_ports, 0,
		     "%s", what);
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
 * has no line ("PATH: reason"), as for an empty file. An error inside a keys file names that
 * file: "# expect: KEYS:LINE: SUBSTRING", KEYS relative to the policy's directory as the
 * policy names it, wants "DIR/KEYS:LINE: reason".
 */
Test(policy, bad_corpus)
{
	struct dirent **ents;
	int n, i, checked = 0;

	tp_keys_private(TP_KEYS_DIR);
	n = scandir(TP_BAD_DIR, &ents, tp_is_yaml, alphasort);
	cr_assert_gt(n, 0, "cannot list %s (run from the repository root)", TP_BAD_DIR);
	for (i = 0; i < n; i++) {
		char path[512], prefix[600], err[1024], want[512], keys[256];
		struct sl_policy p;
		size_t len;
		char *buf, *nl;
		int line, off = 0, ret;

		snprintf(path, sizeof(path), "%s/%s", TP_BAD_DIR, ents[i]->d_name);
		buf = tp_read(path, &len);
		nl = strchr(buf, '\n');
		if (nl)
			*nl = '\0';
		if (sscanf(buf, "# expect: %d: %n", &line, &off) == 1) {
			if (line > 0)
				snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
			else
				snprintf(prefix, sizeof(prefix), "%s: ", path);
		} else {
			cr_assert_eq(sscanf(buf, "# expect: %255[^:]:%d: %n", keys, &line, &off), 2,
				     "%s: first line must be '# expect: [KEYS:]LINE: SUBSTRING'",
				     path);
			snprintf(prefix, sizeof(prefix), "%s/%s:%d: ", TP_BAD_DIR, keys, line);
		}
		cr_assert_gt(off, 0, "%s: no SUBSTRING", path);
		snprintf(want, sizeof(want), "%s", buf + off);
		free(buf);
		cr_assert_gt(strlen(want), 0, "%s: empty SUBSTRING", path);

		memset(err, 'x', sizeof(err));
		ret = sl_policy_load(path, &p, err, sizeof(err));
		cr_expect_lt(ret, 0, "%s: accepted, expected \"%s\"", path, want);
		tp_expect_empty(&p, path);
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

	tp_keys_private(TP_KEYS_DIR);
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

	tp_keys_private(TP_EX_KEYS);
	cr_assert_eq(sl_policy_load(TP_EXAMPLE, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_gt(p.n_rules, 1);
	cr_expect_eq(p.n_http_ports, 2);
	cr_expect_eq(p.n_plans, 2);
	cr_assert_eq(p.n_tenants, 2);
	cr_expect_str_eq(p.tenants[0].keys_file, "examples/keys/acme.keys");
	cr_expect_gt(p.tenants[0].n_keys, 0);
	cr_expect_gt(p.tenants[1].n_keys, 0);
	cr_expect_eq(p.n_groups, 2);
	cr_expect_str_eq(p.timezone, "UTC");
	cr_assert_eq(p.plans[0].n_quotas, 1);
	cr_expect_eq(p.plans[0].quotas[0].mode, SL_QM_HARD);
	cr_expect_eq(p.plans[0].quotas[0].unit, SL_PU_DAYS);
	cr_expect_eq(p.plans[0].quotas[0].n_alerts, 2);
	cr_assert_eq(p.plans[1].n_quotas, 1);
	cr_expect_eq(p.plans[1].quotas[0].mode, SL_QM_SOFT);
	cr_expect_eq(p.plans[1].quotas[0].unit, SL_PU_MONTHS);
	cr_expect_eq(p.plans[1].quotas[0].quota, 3000000);
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

/*
 * sl_policy_parse() looks for relative keys files from the current directory: go where the
 * policy is, as sl_policy_load() would look. Tests run in processes of their own.
 */
static int tp_chdir_to(const char *file)
{
	char dir[256];
	char *slash;
	int home = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	cr_assert_geq(home, 0);
	snprintf(dir, sizeof(dir), "%s", file);
	slash = strrchr(dir, '/');
	cr_assert_not_null(slash);
	*slash = '\0';
	cr_assert_eq(chdir(dir), 0, "chdir %s: %s", dir, strerror(errno));
	return home;
}

static void tp_chdir_back(int home)
{
	cr_assert_eq(fchdir(home), 0);
	close(home);
}

/* Cut a valid file at every byte: each prefix either parses or fails with a message. */
Test(policy, truncation_never_crashes)
{
	static const char *const files[] = { TP_EXAMPLE, TP_GOOD_DIR "/full.yaml",
					     TP_GOOD_DIR "/http.yaml", TP_GOOD_DIR "/quotas.yaml" };
	struct sl_policy p0;
	char err0[512];
	size_t f;

	tp_keys_private(TP_KEYS_DIR);
	tp_keys_private(TP_EX_KEYS);
	for (f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t len, cut, ok = 0;
		char *full = tp_read(files[f], &len);
		int home = tp_chdir_to(files[f]);

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
				tp_expect_empty(&p, "cut");
			}
			sl_policy_free(&p);
			free(copy);
		}
		tp_chdir_back(home);
		cr_expect_gt(ok, 0, "%s: not even the whole file parsed", files[f]);
		/* The last cut is the whole file. */
		cr_expect_eq(sl_policy_load(files[f], &p0, err0, sizeof(err0)), 0, "%s", err0);
		sl_policy_free(&p0);
		free(full);
	}
}

/* Deterministic byte mutations of a valid file: never a crash, always a verdict. */
static void tp_mutate(const char *file)
{
	static const char subst[] = { '\0', '\n', ':', '-', '[', '{', '"', '*', '&', ' ', '\t',
				      '#', '9', 'k', '/', '\xff' };
	size_t len, i, j;
	char *full = tp_read(file, &len);
	char *buf = malloc(len);
	int home = tp_chdir_to(file);

	for (i = 0; i < len; i++) {
		for (j = 0; j < sizeof(subst); j++) {
			struct sl_policy p;
			char err[512] = "";
			int ret;

			memcpy(buf, full, len);
			buf[i] = subst[j];
			ret = sl_policy_parse("mut.yaml", buf, len, &p, err, sizeof(err));
			if (ret)
				cr_expect(!strncmp(err, "mut.yaml", 8) || strstr(err, ".keys:"),
					  "byte %zu -> %d: \"%s\"", i, subst[j], err);
			sl_policy_free(&p);
		}
	}
	tp_chdir_back(home);
	free(buf);
	free(full);
}

Test(policy, mutations_never_crash)
{
	tp_mutate(TP_GOOD_DIR "/full.yaml");
}

Test(policy, mutations_never_crash_http)
{
	tp_keys_private(TP_KEYS_DIR);
	tp_mutate(TP_GOOD_DIR "/http.yaml");
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

/* The HTTP layer. */

static const struct sl_plan *tp_plan(const struct sl_policy *p, const char *name)
{
	int i;

	for (i = 0; i < p->n_plans; i++) {
		if (!strcmp(p->plans[i].name, name))
			return &p->plans[i];
	}
	cr_assert_fail("no plan named %s", name);
	return NULL;
}

static const struct sl_tenant *tp_tenant(const struct sl_policy *p, const char *name)
{
	int i;

	for (i = 0; i < p->n_tenants; i++) {
		if (!strcmp(p->tenants[i].name, name))
			return &p->tenants[i];
	}
	cr_assert_fail("no tenant named %s", name);
	return NULL;
}

static void tp_expect_lim(const struct sl_req_limits *l, const char *who, __u64 rate, __u64 burst,
			  __u64 bytes_rate, __u64 bytes_burst, __u8 action)
{
	cr_expect_eq(l->rate, rate, "%s: rate %llu", who, (unsigned long long)l->rate);
	cr_expect_eq(l->burst, burst, "%s: burst %llu", who, (unsigned long long)l->burst);
	cr_expect_eq(l->bytes_rate, bytes_rate, "%s: bytes_rate %llu", who,
		     (unsigned long long)l->bytes_rate);
	cr_expect_eq(l->bytes_burst, bytes_burst, "%s: bytes_burst %llu", who,
		     (unsigned long long)l->bytes_burst);
	cr_expect_eq(l->action, action, "%s: action %u", who, l->action);
}

static void tp_expect_label(const struct sl_tenant *t, int i, const char *key, const char *value)
{
	cr_assert_lt(i, t->n_labels, "tenant %s has %d labels", t->name, t->n_labels);
	cr_expect_str_eq(t->labels[i].key, key);
	cr_expect_str_eq(t->labels[i].value, value);
}

Test(policy, http_full_values)
{
	const struct sl_tenant *t;
	const struct sl_group *g;
	struct sl_policy p;
	char err[512] = "", k128[129];

	tp_keys_private(TP_KEYS_DIR);
	cr_assert_eq(sl_policy_load(TP_GOOD_DIR "/http.yaml", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.n_http_ports, 3);
	cr_expect_eq(p.http_ports[0], 8000);
	cr_expect_eq(p.http_ports[1], 8080);
	cr_expect_eq(p.http_ports[2], 443);
	cr_expect_eq(p.key_headers, SL_HTTP_KF_BEARER);

	cr_assert_eq(p.n_plans, 4);
	cr_expect_str_eq(p.plans[0].name, "free", "plans keep the file's order");
	cr_expect_eq(p.plans[0].line, 12);
	tp_expect_lim(&tp_plan(&p, "free")->lim, "free", 5, 10, 0, 0, SL_OVER_DROP);
	tp_expect_lim(&tp_plan(&p, "pro")->lim, "pro", 100, 200, 50000000, 50000000,
		      SL_OVER_HTTP429);
	tp_expect_lim(&tp_plan(&p, "bulk")->lim, "bulk", 1000, 1000, 2000, 1514, SL_OVER_RESET);
	tp_expect_lim(&tp_plan(&p, "tiny")->lim, "tiny", 2, 2, 0, 0, SL_OVER_DROP);

	cr_assert_eq(p.n_tenants, 5);
	t = &p.tenants[0];
	cr_expect_str_eq(t->name, "acme");
	cr_expect_eq(t->line, 22);
	cr_expect_str_eq(p.plans[t->plan].name, "pro");
	tp_expect_lim(&t->lim, "acme", 150, 200, 50000000, 50000000, SL_OVER_HTTP429);
	cr_assert_eq(t->n_labels, 3);
	tp_expect_label(t, 0, "team", "ml");
	tp_expect_label(t, 1, "cost_center", "4711");
	tp_expect_label(t, 2, "region", "eu-west-1");
	cr_expect_str_eq(t->keys_file, TP_GOOD_DIR "/../keys/acme.keys");
	cr_assert_eq(t->n_keys, 4);
	cr_expect_str_eq(t->keys[0], "ak-0001-acme");
	cr_expect_str_eq(t->keys[1], "ak-0002-acme-indented", "surrounding whitespace trimmed");
	memset(k128, 'x', sizeof(k128));
	memcpy(k128, "ak-0003-", 8);
	memcpy(k128 + 124, "-end", 5);
	cr_expect_str_eq(t->keys[2], k128, "a key of SL_KEY_MAX bytes");
	cr_expect_str_eq(t->keys[3], "ak-0004-#-inside-and-no-final-newline");

	t = tp_tenant(&p, "beta.io");
	cr_expect_str_eq(p.plans[t->plan].name, "free");
	tp_expect_lim(&t->lim, "beta.io", 5, 30, 1000000, 1000000, SL_OVER_RESET);
	cr_expect_eq(t->n_labels, 0);
	cr_assert_eq(t->n_keys, 2);
	cr_expect_str_eq(t->keys[0], "bk-0001-beta");
	cr_expect_str_eq(t->keys[1], "bk-0002-beta");

	t = tp_tenant(&p, "gamma");
	tp_expect_lim(&t->lim, "gamma", 7, 7, 0, 0, SL_OVER_DROP);
	cr_expect_str_eq(t->keys_file, "");
	cr_expect_eq(t->n_keys, 0);
	cr_expect_null(t->keys);

	t = tp_tenant(&p, "delta");
	tp_expect_lim(&t->lim, "delta", 100, 200, 3000, 3000, SL_OVER_HTTP429);
	cr_expect_eq(t->n_keys, 0, "a keys file of comments only");

	t = tp_tenant(&p, "eps");
	tp_expect_lim(&t->lim, "eps", 1000, 1, 2000, 9000, SL_OVER_RESET);

	cr_expect_eq(p.unknown_key.rate, 2);
	cr_expect_eq(p.unknown_key.burst, 8);
	cr_expect_eq(p.unknown_key.prefix4, 24);
	cr_expect_eq(p.unknown_key.prefix6, 48);
	cr_expect_eq(p.unknown_key.action, SL_OVER_HTTP429);

	cr_assert_eq(p.n_groups, 4);
	g = &p.groups[0];
	cr_expect_str_eq(g->name, "chat");
	cr_expect_eq(g->line, 45);
	cr_expect_eq(g->port, 8000);
	cr_expect_eq(g->method, SL_HTTP_POST);
	cr_expect_str_eq(g->path, "/v1/chat/completions");
	cr_expect_eq(g->weight, 10);
	cr_assert_eq(g->n_limits, 1);
	cr_expect_str_eq(g->limits[0].name, "chat-rate");
	cr_expect_eq(g->limits[0].rate, 20);
	cr_expect_eq(g->limits[0].burst, 20);
	g = &p.groups[1];
	cr_expect_str_eq(g->name, "embed");
	cr_expect_eq(g->port, 0);
	cr_expect_eq(g->method, SL_HTTP_POST, "methods are case-insensitive");
	cr_expect_str_eq(g->path, "/v1/embeddings");
	cr_expect_eq(g->weight, 1000);
	cr_assert_eq(g->n_limits, 2);
	cr_expect_str_eq(g->limits[0].name, "per-second");
	cr_expect_eq(g->limits[0].rate, 50);
	cr_expect_eq(g->limits[0].burst, 50, "burst defaults to rate");
	cr_expect_str_eq(g->limits[1].name, "per-burst");
	cr_expect_eq(g->limits[1].rate, 5);
	cr_expect_eq(g->limits[1].burst, 100);
	g = &p.groups[2];
	cr_expect_str_eq(g->name, "models");
	cr_expect_eq(g->port, 443);
	cr_expect_eq(g->method, SL_HTTP_GET);
	cr_expect_str_eq(g->path, "");
	cr_expect_eq(g->weight, 1);
	cr_expect_eq(g->n_limits, 0);
	g = &p.groups[3];
	cr_expect_str_eq(g->name, "rest");
	cr_expect(g->port == 0 && g->method == 0 && !g->path[0] && g->weight == 1 && !g->n_limits);
	sl_policy_free(&p);
	cr_expect(!p.plans && !p.tenants && !p.groups && !p.n_tenants);
}

Test(policy, http_minimal_defaults)
{
	struct sl_policy p;
	char err[512] = "";

	cr_assert_eq(sl_policy_load(TP_GOOD_DIR "/http-minimal.yaml", &p, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(p.n_http_ports, 1, "one port without a list");
	cr_expect_eq(p.http_ports[0], 8080);
	cr_expect_eq(p.key_headers, SL_HTTP_KF_XAPIKEY | SL_HTTP_KF_BEARER);
	cr_expect_eq(p.key_headers, SL_HTTP_KF_DEFAULT);
	cr_expect(!p.n_plans && !p.plans && !p.n_tenants && !p.tenants && !p.n_groups &&
		  !p.groups);
	cr_expect_eq(p.unknown_key.rate, 1);
	cr_expect_eq(p.unknown_key.burst, 5);
	cr_expect_eq(p.unknown_key.prefix4, 32);
	cr_expect_eq(p.unknown_key.prefix6, 64);
	cr_expect_eq(p.unknown_key.action, SL_OVER_DROP);
	sl_policy_free(&p);
}

Test(policy, no_http_layer)
{
	struct sl_policy p;
	char err[512] = "";

	cr_assert_eq(sl_policy_load(TP_GOOD_DIR "/full.yaml", &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.n_http_ports, 0);
	cr_expect_eq(p.key_headers, 0);
	cr_expect(!p.plans && !p.tenants && !p.groups);
	cr_expect(!p.unknown_key.rate && !p.unknown_key.burst, "no http: nothing applies");
	sl_policy_free(&p);
}

/* Each HTTP section, without http, is refused at its own line; the earliest one is named. */
Test(policy, http_needed_by_each_section)
{
	static const char *const sections[] = {
		"plans:\n  free: {rate: 1}\n",
		"tenants:\n  - {name: a, plan: free}\n",
		"unknown_key: {rate: 1}\n",
		"groups:\n  - name: all\n",
	};
	static const char *const keys[] = { "plans", "tenants", "unknown_key", "groups" };
	size_t i;

	for (i = 0; i < 4; i++) {
		char text[512], err[512] = "", want[128];
		struct sl_policy p;

		snprintf(text, sizeof(text),
			 "version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n"
			 "%s%s",
			 sections[i], sections[(i + 1) % 4]);
		cr_expect_eq(tp_parse(text, &p, err, sizeof(err)), -EINVAL, "%s", keys[i]);
		snprintf(want, sizeof(want),
			 "t.yaml:5: %s needs an http: section naming the ports;", keys[i]);
		cr_expect(!strncmp(err, want, strlen(want)), "%s: %s", keys[i], err);
		tp_expect_empty(&p, keys[i]);
		sl_policy_free(&p);
	}
}

/* Effective tenant limits: the plan, then the overrides, then bursts defaulting to rates. */
Test(policy, tenant_overrides)
{
	static const struct {
		const char *plan, *ovr;
		__u64 rate, burst, bytes_rate, bytes_burst;
		__u8 action;
	} cases[] = {
		{ "{rate: 10}", "{}", 10, 10, 0, 0, SL_OVER_DROP },
		{ "{rate: 10}", "{rate: 20}", 20, 20, 0, 0, SL_OVER_DROP },
		{ "{rate: 10, burst: 15}", "{rate: 20}", 20, 15, 0, 0, SL_OVER_DROP },
		{ "{rate: 10}", "{burst: 3}", 10, 3, 0, 0, SL_OVER_DROP },
		{ "{rate: 10, burst: 15}", "{burst: 1k}", 10, 1000, 0, 0, SL_OVER_DROP },
		{ "{rate: 1k}", "{rate: 2M}", 2000000, 2000000, 0, 0, SL_OVER_DROP },
		{ "{rate: 10, bytes_rate: 1M}", "{}", 10, 10, 1000000, 1000000, SL_OVER_DROP },
		{ "{rate: 10, bytes_rate: 1M}", "{bytes_rate: 2M}", 10, 10, 2000000, 2000000,
		  SL_OVER_DROP },
		{ "{rate: 10, bytes_rate: 1M, bytes_burst: 5M}", "{bytes_rate: 2M}", 10, 10,
		  2000000, 5000000, SL_OVER_DROP },
		{ "{rate: 10}", "{bytes_rate: 1M}", 10, 10, 1000000, 1000000, SL_OVER_DROP },
		{ "{rate: 10}", "{bytes_rate: 1M, bytes_burst: 3M}", 10, 10, 1000000, 3000000,
		  SL_OVER_DROP },
		{ "{rate: 10, bytes_rate: 1000, bytes_burst: 1514}", "{bytes_rate: 500}", 10, 10,
		  500, 1514, SL_OVER_DROP },
		{ "{rate: 10, bytes_rate: 1M}", "{bytes_burst: 1514}", 10, 10, 1000000, 1514,
		  SL_OVER_DROP },
		{ "{rate: 10, action: reset}", "{}", 10, 10, 0, 0, SL_OVER_RESET },
		{ "{rate: 10, action: reset}", "{action: http429}", 10, 10, 0, 0, SL_OVER_HTTP429 },
		{ "{rate: 10, action: http429}", "{action: drop}", 10, 10, 0, 0, SL_OVER_DROP },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512], err[512] = "", who[160];
		struct sl_policy p;

		snprintf(text, sizeof(text),
			 "version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n"
			 "http: {ports: 80}\nplans:\n  p: %s\ntenants:\n  - {name: t, plan: p, overrides: %s}\n",
			 cases[i].plan, cases[i].ovr);
		snprintf(who, sizeof(who), "%s + %s", cases[i].plan, cases[i].ovr);
		cr_expect_eq(tp_parse(text, &p, err, sizeof(err)), 0, "%s: %s", who, err);
		if (p.n_tenants == 1)
			tp_expect_lim(&p.tenants[0].lim, who, cases[i].rate, cases[i].burst,
				      cases[i].bytes_rate, cases[i].bytes_burst, cases[i].action);
		sl_policy_free(&p);
	}
}

Test(policy, key_headers_and_methods)
{
	static const struct {
		const char *text;
		__u32 flags; /* 0: refused */
	} headers[] = {
		{ "x-api-key", SL_HTTP_KF_XAPIKEY },
		{ "[X-Api-Key]", SL_HTTP_KF_XAPIKEY },
		{ "[\"AUTHORIZATION: BEARER\"]", SL_HTTP_KF_BEARER },
		{ "[\"authorization: bearer\", x-api-key]", SL_HTTP_KF_DEFAULT },
		{ "[\"authorization:bearer\"]", 0 },
		{ "[authorization]", 0 },
		{ "[bearer]", 0 },
		{ "\"\"", 0 },
	};
	static const struct {
		const char *text;
		__u8 method;
	} methods[] = {
		{ "GET", SL_HTTP_GET },
		{ "post", SL_HTTP_POST },
		{ "Put", SL_HTTP_PUT },
		{ "PATCH", SL_HTTP_PATCH },
		{ "delete", SL_HTTP_DELETE },
		{ "HEAD", SL_HTTP_HEAD },
		{ "options", SL_HTTP_OPTIONS },
		{ "CONNECT", 0 },
		{ "GET ", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		char text[512], err[512] = "";
		struct sl_policy p;
		int ret;

		snprintf(text, sizeof(text),
			 "version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n"
			 "http:\n  ports: 80\n  key_headers: %s\n",
			 headers[i].text);
		ret = tp_parse(text, &p, err, sizeof(err));
		if (headers[i].flags)
			cr_expect(!ret && p.key_headers == headers[i].flags, "%s: %s %#x",
				  headers[i].text, err, p.key_headers);
		else
			cr_expect(ret == -EINVAL && !strncmp(err, "t.yaml:7: ", 10), "%s: %s",
				  headers[i].text, err);
		sl_policy_free(&p);
	}
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		char text[512], err[512] = "";
		struct sl_policy p;
		int ret;

		snprintf(text, sizeof(text),
			 "version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n"
			 "http: {ports: 80}\ngroups:\n  - {name: g, match: {method: \"%s\"}}\n",
			 methods[i].text);
		ret = tp_parse(text, &p, err, sizeof(err));
		if (methods[i].method)
			cr_expect(!ret && p.groups[0].method == methods[i].method, "%s: %s",
				  methods[i].text, err);
		else
			cr_expect(ret == -EINVAL && strstr(err, "is not valid; use one of: GET"),
				  "%s: %s", methods[i].text, err);
		sl_policy_free(&p);
	}
}

/* First match wins: a group after one that matches all its requests is refused, others not. */
Test(policy, group_order)
{
	static const struct {
		const char *first, *second;
		int ok;
	} cases[] = {
		{ "{path: /v1/chat}", "{path: /v1/}", 1 },
		{ "{path: /v1/}", "{path: /v1/chat}", 0 },
		{ "{path: /v1}", "{path: /v2}", 1 },
		{ "{path: /v1}", "{path: /v1}", 0 },
		{ "{method: POST, path: /v1}", "{method: GET, path: /v1}", 1 },
		{ "{port: 80, path: /v1}", "{path: /v1}", 1 },
		{ "{path: /v1}", "{port: 80, path: /v1}", 0 },
		{ "{port: 80}", "{port: 81}", 1 },
		{ "{method: GET}", "{port: 81, method: GET, path: /x}", 0 },
		{ "{}", "{path: /x}", 0 },
		/* "" is any target, "/" not: OPTIONS * or an absolute-form target. */
		{ "{path: /}", "{port: 80}", 1 },
	};
	static const char want[] = "t.yaml:8: group \"b\" can never match: group \"a\" (line 7)";
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512], err[512] = "";
		struct sl_policy p;
		int ret;

		snprintf(text, sizeof(text),
			 "version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n"
			 "http: {ports: [80, 81]}\ngroups:\n  - {name: a, match: %s}\n"
			 "  - {name: b, match: %s}\n",
			 cases[i].first, cases[i].second);
		ret = tp_parse(text, &p, err, sizeof(err));
		if (cases[i].ok)
			cr_expect_eq(ret, 0, "%s then %s: %s", cases[i].first, cases[i].second,
				     err);
		else
			cr_expect(ret == -EINVAL && !strncmp(err, want, strlen(want)),
				  "%s then %s: %s", cases[i].first, cases[i].second, err);
		sl_policy_free(&p);
	}
}

/* A policy in dir/policy.yaml with tenants a and b on keys files ka and kb (NULL: none). */
static void tp_write_tenants(const char *dir, const char *ka, const char *kb)
{
	char path[128], text[1024];
	int n;

	n = snprintf(text, sizeof(text),
		     "version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n"
		     "http: {ports: 80}\nplans: {p: {rate: 1}}\ntenants:\n");
	n += snprintf(text + n, sizeof(text) - n, "  - {name: a, plan: p%s%s}\n",
		      ka ? ", keys_file: " : "", ka ? ka : "");
	snprintf(text + n, sizeof(text) - n, "  - {name: b, plan: p%s%s}\n",
		 kb ? ", keys_file: " : "", kb ? kb : "");
	snprintf(path, sizeof(path), "%s/policy.yaml", dir);
	tp_write(path, text, 0644);
}

static int tp_load_dir(const char *dir, struct sl_policy *p, char *err, size_t errlen)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/policy.yaml", dir);
	return sl_policy_load(path, p, err, errlen);
}

/* Only the owner may have any access to a keys file; the message says the mode and the fix. */
Test(policy, keys_file_permissions)
{
	static const struct {
		mode_t mode;
		int ok;
	} cases[] = {
		{ 0600, 1 }, { 0400, 1 }, { 0700, 1 }, { 0640, 0 }, { 0644, 0 },
		{ 0604, 0 }, { 0620, 0 }, { 0602, 0 }, { 0610, 0 }, { 0666, 0 },
	};
	char dir[64], keys[128];
	size_t i;

	tp_mkdtemp(dir);
	tp_write_tenants(dir, "k.keys", NULL);
	snprintf(keys, sizeof(keys), "%s/k.keys", dir);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[1024] = "", want[300];
		struct sl_policy p;
		int ret;

		tp_write(keys, "key-1\n", cases[i].mode);
		ret = tp_load_dir(dir, &p, err, sizeof(err));
		if (cases[i].ok) {
			cr_expect_eq(ret, 0, "mode %04o: %s", cases[i].mode, err);
			cr_expect(p.n_tenants == 2 && p.tenants[0].n_keys == 1, "mode %04o",
				  cases[i].mode);
			cr_expect_str_eq(p.tenants[0].keys_file, keys);
		} else {
			cr_expect_eq(ret, -EINVAL, "mode %04o accepted", cases[i].mode);
			snprintf(want, sizeof(want),
				 "%s/policy.yaml:8: keys_file %s has mode %04o: group or others may access it, and keys are secrets; run chmod 600 %s",
				 dir, keys, cases[i].mode, keys);
			cr_expect_str_eq(err, want);
			tp_expect_empty(&p, "permissions");
		}
		sl_policy_free(&p);
	}
	tp_rmdir(dir);
}

/*
 * Relative keys_file paths start at the policy file's directory for sl_policy_load(), at the
 * current directory for sl_policy_parse(); absolute paths are taken as they are.
 */
Test(policy, keys_file_relative_paths)
{
	char dir[64], path[128], text[512], err[1024] = "";
	struct sl_policy p;
	size_t len;
	char *buf;

	tp_keys_private(TP_KEYS_DIR);
	tp_mkdtemp(dir);
	tp_write_tenants(dir, "k.keys", NULL);
	snprintf(path, sizeof(path), "%s/k.keys", dir);
	tp_write(path, "key-in-tmp\n", 0600);

	cr_assert_eq(tp_load_dir(dir, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(p.tenants[0].keys_file, path);
	cr_expect_str_eq(p.tenants[0].keys[0], "key-in-tmp");
	sl_policy_free(&p);

	/* The same bytes from a buffer: k.keys is looked for here, in the repository root. */
	snprintf(path, sizeof(path), "%s/policy.yaml", dir);
	buf = tp_read(path, &len);
	cr_expect_eq(sl_policy_parse("buf.yaml", buf, len, &p, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err,
			 "buf.yaml:8: keys_file k.keys: cannot open: No such file or directory; check the path (a relative path starts at the policy file's directory)");
	free(buf);

	/* From a buffer, a path relative to the current directory works. */
	snprintf(text, sizeof(text),
		 "version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n"
		 "http: {ports: 80}\nplans: {p: {rate: 1}}\n"
		 "tenants:\n  - {name: a, plan: p, keys_file: %s/beta.keys}\n"
		 "  - {name: b, plan: p, keys_file: %s/k.keys}\n",
		 TP_KEYS_DIR, dir);
	cr_assert_eq(tp_parse(text, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(p.tenants[0].keys_file, TP_KEYS_DIR "/beta.keys");
	cr_expect_eq(p.tenants[0].n_keys, 2);
	snprintf(path, sizeof(path), "%s/k.keys", dir);
	cr_expect_str_eq(p.tenants[1].keys_file, path, "absolute: as given");
	cr_expect_eq(p.tenants[1].n_keys, 1);
	sl_policy_free(&p);

	/* An absolute path from a policy file is not put under the policy's directory. */
	tp_write_tenants(dir, path, NULL);
	cr_assert_eq(tp_load_dir(dir, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(p.tenants[0].keys_file, path);
	sl_policy_free(&p);
	tp_rmdir(dir);
}

/* Duplicate keys are refused, naming lines and tenants, and never showing the key. */
Test(policy, keys_duplicates_never_shown)
{
	static const char secret[] = "SeCrEt-0123456789abcdef";
	char dir[64], ka[128], kb[128], want[1024], err[1024] = "";
	char text[256];
	struct sl_policy p;

	tp_mkdtemp(dir);
	snprintf(ka, sizeof(ka), "%s/a.keys", dir);
	snprintf(kb, sizeof(kb), "%s/b.keys", dir);

	/* Across tenants. */
	snprintf(text, sizeof(text), "a-1\n%s\n", secret);
	tp_write(ka, text, 0600);
	snprintf(text, sizeof(text), "# b's keys\nb-1\n\n  %s\n", secret);
	tp_write(kb, text, 0600);
	tp_write_tenants(dir, "a.keys", "b.keys");
	cr_expect_eq(tp_load_dir(dir, &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:4: this key of tenant \"b\" already belongs to tenant \"a\" (%s:2); a key identifies one tenant: remove it from one file (keys are never shown)",
		 kb, ka);
	cr_expect_str_eq(err, want);
	cr_expect_null(strstr(err, "SeCrEt"), "the key leaked: %s", err);
	tp_expect_empty(&p, "dup across");
	sl_policy_free(&p);

	/* Both tenants on one file: every key is someone else's. */
	tp_write_tenants(dir, "a.keys", "a.keys");
	cr_expect_eq(tp_load_dir(dir, &p, err, sizeof(err)), -EINVAL);
	cr_expect(!strncmp(err, ka, strlen(ka)) && strstr(err, ":1: this key of tenant \"b\""),
		  "%s", err);
	sl_policy_free(&p);

	/* Within one tenant. */
	snprintf(text, sizeof(text), "%s\na-1\n%s\n", secret, secret);
	tp_write(ka, text, 0600);
	tp_write_tenants(dir, "a.keys", NULL);
	cr_expect_eq(tp_load_dir(dir, &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:3: this key is already on line 1 of this file; each key may appear once (keys are never shown)",
		 ka);
	cr_expect_str_eq(err, want);
	sl_policy_free(&p);

	/* Keys that differ only in case are different keys. */
	tp_write(ka, "Key-1\nkey-1\nKEY-1\n", 0600);
	cr_expect_eq(tp_load_dir(dir, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.tenants[0].n_keys, 3);
	sl_policy_free(&p);

	/* A refused key is not shown either. */
	snprintf(text, sizeof(text), "ok\n%s %s\n", secret, secret);
	tp_write(ka, text, 0600);
	cr_expect_eq(tp_load_dir(dir, &p, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, ":2: key has a space or tab at byte 24"), "%s", err);
	cr_expect_null(strstr(err, "SeCrEt"), "the key leaked: %s", err);
	sl_policy_free(&p);
	tp_rmdir(dir);
}

/* Keys file syntax: CRLF, blanks, comments, whitespace, the last line without a newline. */
Test(policy, keys_file_format)
{
	static const struct {
		const char *text;
		int ok;        /* number of keys, or -LINE of the error */
		const char *first;
	} cases[] = {
		{ "k1\r\nk2\r\n", 2, "k1" },
		{ "\n\n  \t \r\n# c\n\t# c2\nk1", 1, "k1" },
		{ " \tk1 \t\r\n", 1, "k1" },
		{ "k1#not-a-comment\n", 1, "k1#not-a-comment" },
		{ "!~\n", 1, "!~" },
		{ "", 0, NULL },
		{ "\n", 0, NULL },
		{ "k1\nk 2\n", -2, NULL },
		{ "k1\nk\t2\n", -2, NULL },
		{ "k1\n\xc3\xa9t\xc3\xa9\n", -2, NULL },
		{ "k1\nk\x7f\n", -2, NULL },
		{ "k1\nk\r2\n", -2, NULL },
	};
	char dir[64], keys[128];
	size_t i;

	tp_mkdtemp(dir);
	snprintf(keys, sizeof(keys), "%s/k.keys", dir);
	tp_write_tenants(dir, "k.keys", NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[1024] = "", want[160];
		struct sl_policy p;
		int ret;

		tp_write(keys, cases[i].text, 0600);
		ret = tp_load_dir(dir, &p, err, sizeof(err));
		if (cases[i].ok >= 0) {
			cr_expect_eq(ret, 0, "case %zu: %s", i, err);
			if (!ret) {
				cr_expect_eq(p.tenants[0].n_keys, cases[i].ok, "case %zu", i);
				if (cases[i].first && p.tenants[0].n_keys)
					cr_expect_str_eq(p.tenants[0].keys[0], cases[i].first);
			}
		} else {
			snprintf(want, sizeof(want), "%s:%d: key has ", keys, -cases[i].ok);
			cr_expect(ret == -EINVAL && !strncmp(err, want, strlen(want)),
				  "case %zu: %s", i, err);
		}
		sl_policy_free(&p);
	}
	tp_rmdir(dir);
}

/*
 * The hash covers the policy's bytes, then for each tenant with a keys file, in order, the
 * file's length (8 bytes, little-endian) and bytes: editing a keys file changes it, and so does
 * moving a key from one file to the next.
 */
Test(policy, hash_covers_keys_files)
{
	char dir[64], ka[128], kb[128], path[128], err[1024] = "";
	struct sl_policy p;
	__u64 h = 0xcbf29ce484222325ULL, h1, h2;
	const char *parts[2] = { "k1\nk2\n", "k3\n" };
	size_t len, i, j;
	char *buf;

	tp_mkdtemp(dir);
	snprintf(ka, sizeof(ka), "%s/a.keys", dir);
	snprintf(kb, sizeof(kb), "%s/b.keys", dir);
	snprintf(path, sizeof(path), "%s/policy.yaml", dir);
	tp_write_tenants(dir, "a.keys", "b.keys");
	tp_write(ka, parts[0], 0600);
	tp_write(kb, parts[1], 0600);

	buf = tp_read(path, &len);
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)buf[i]) * 0x100000001b3ULL;
	free(buf);
	for (j = 0; j < 2; j++) {
		for (i = 0; i < 8; i++)
			h = (h ^ (((__u64)strlen(parts[j]) >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
		for (i = 0; i < strlen(parts[j]); i++)
			h = (h ^ (unsigned char)parts[j][i]) * 0x100000001b3ULL;
	}
	cr_assert_eq(tp_load_dir(dir, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.hash, h, "policy bytes, then each keys file's length and bytes");
	h1 = p.hash;
	sl_policy_free(&p);

	/* One byte of a keys file. */
	tp_write(kb, "k4\n", 0600);
	cr_assert_eq(tp_load_dir(dir, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_neq(p.hash, h1);
	sl_policy_free(&p);

	/* The same bytes over both files, split differently. */
	tp_write(ka, "k1\n", 0600);
	tp_write(kb, "k2\nk3\n", 0600);
	cr_assert_eq(tp_load_dir(dir, &p, err, sizeof(err)), 0, "%s", err);
	h2 = p.hash;
	cr_expect_neq(h2, h1, "a key moved to another tenant");
	sl_policy_free(&p);

	/* A comment in a keys file is part of the file. */
	tp_write(kb, "k2\nk3\n# new\n", 0600);
	cr_assert_eq(tp_load_dir(dir, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_neq(p.hash, h2);
	sl_policy_free(&p);
	tp_rmdir(dir);
}

/* SL_MAX_KEYS over all tenants, at the key that goes over. */
Test(policy, max_keys)
{
	char dir[64], ka[128], kb[128], err[1024] = "", want[256];
	size_t cap = (size_t)SL_MAX_KEYS * 8, n = 0;
	char *text = malloc(cap);
	struct sl_policy p;
	int i;

	tp_mkdtemp(dir);
	snprintf(ka, sizeof(ka), "%s/a.keys", dir);
	snprintf(kb, sizeof(kb), "%s/b.keys", dir);
	for (i = 0; i < SL_MAX_KEYS - 1; i++)
		n += snprintf(text + n, cap - n, "%x\n", i);
	tp_write(ka, text, 0600);
	tp_write(kb, "last\n", 0600);
	tp_write_tenants(dir, "a.keys", "b.keys");
	cr_assert_eq(tp_load_dir(dir, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.tenants[0].n_keys, SL_MAX_KEYS - 1);
	cr_expect_eq(p.tenants[1].n_keys, 1);
	cr_expect_str_eq(p.tenants[0].keys[SL_MAX_KEYS - 2], "fffe");
	sl_policy_free(&p);

	tp_write(kb, "last\none-too-many\n", 0600);
	cr_expect_eq(tp_load_dir(dir, &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:2: too many keys: a policy holds at most %d over all tenants", kb, SL_MAX_KEYS);
	cr_expect_str_eq(err, want);
	sl_policy_free(&p);
	free(text);
	tp_rmdir(dir);
}

Test(policy, max_tenants)
{
	size_t cap = (SL_MAX_TENANTS + 1) * 40 + 256, n = 0;
	char *buf = malloc(cap), err[512] = "";
	struct sl_policy p;
	int i;

	n += snprintf(buf + n, cap - n,
		      "version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n"
		      "http: {ports: 80}\nplans: {p: {rate: 1}}\ntenants:\n");
	for (i = 0; i < SL_MAX_TENANTS; i++)
		n += snprintf(buf + n, cap - n, "  - {name: t%d, plan: p}\n", i);
	cr_assert_eq(sl_policy_parse("max.yaml", buf, n, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.n_tenants, SL_MAX_TENANTS);
	cr_expect_str_eq(p.tenants[SL_MAX_TENANTS - 1].name, "t1023");
	cr_expect_eq(p.tenants[SL_MAX_TENANTS - 1].line, 8 + SL_MAX_TENANTS - 1);
	sl_policy_free(&p);

	n += snprintf(buf + n, cap - n, "  - {name: t%d, plan: p}\n", SL_MAX_TENANTS);
	cr_expect_eq(sl_policy_parse("max.yaml", buf, n, &p, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "max.yaml:1032: too many tenants: 1025; a policy holds at most 1024");
	sl_policy_free(&p);
	free(buf);
}

/* An error after tenants have read keys frees them all (valgrind checks the "all"). */
Test(policy, error_after_keys_frees_them)
{
	static const char text[] =
		"version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n"
		"http: {ports: 80}\nplans: {p: {rate: 1}}\n"
		"tenants:\n  - {name: a, plan: p, keys_file: " TP_KEYS_DIR "/acme.keys}\n"
		"  - {name: b, plan: p, keys_file: " TP_KEYS_DIR "/beta.keys}\n"
		"groups:\n  - {name: g, weight: 0}\n";
	struct sl_policy p;
	char err[512] = "";

	tp_keys_private(TP_KEYS_DIR);
	cr_expect_eq(tp_parse(text, &p, err, sizeof(err)), -EINVAL);
	cr_expect(!strncmp(err, "t.yaml:11: weight 0", 19), "%s", err);
	tp_expect_empty(&p, "late error");
	sl_policy_free(&p);
}

/* The list of plans in a message is cut at a bounded length, whatever the names. */
Test(policy, plan_list_in_messages)
{
	static const char want[] = "l.yaml:72: plan \"nope\" is not defined; plans: a..., "
				   "plan-with-a-rather-long-name-01, ";
	size_t cap = 64 * 80 + 512, n = 0;
	char *buf = malloc(cap), err[1024] = "";
	struct sl_policy p;
	int i;

	n += snprintf(buf + n, cap - n,
		      "version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n"
		      "http: {ports: 80}\nplans:\n  a...: {rate: 1}\n");
	for (i = 1; i < SL_MAX_PLANS; i++)
		n += snprintf(buf + n, cap - n, "  plan-with-a-rather-long-name-%02d: {rate: 1}\n",
			      i);
	n += snprintf(buf + n, cap - n, "tenants:\n  - {name: t, plan: nope}\n");
	cr_expect_eq(sl_policy_parse("l.yaml", buf, n, &p, err, sizeof(err)), -EINVAL);
	cr_expect(!strncmp(err, want, strlen(want)), "%s", err);
	cr_expect_lt(strlen(err), 300, "%s", err);
	cr_expect(!strcmp(err + strlen(err) - 5, ", ..."), "%s", err);
	sl_policy_free(&p);
	free(buf);
}

/* Quotas, the time zone, billing and alerts. */

/* The head of a policy with an HTTP layer and plan p; a test appends p's quotas list. */
#define TP_QHEAD                                                                    \
	"version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n" \
	"http: {ports: 80}\nplans:\n  p:\n    rate: 1\n    quotas:\n"

/* The head of a policy without an HTTP layer, for the top-level settings. */
#define TP_THEAD "version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n"

static void tp_expect_quota(const struct sl_quota *q, const char *name, __u32 duration,
			    __u8 unit, __u64 quota, __u8 mode, __u8 profile, __u8 prefix4,
			    __u8 prefix6, __u8 action)
{
	cr_expect_str_eq(q->name, name);
	cr_expect_eq(q->duration, duration, "%s: duration %u", name, q->duration);
	cr_expect_eq(q->unit, unit, "%s: unit %u", name, q->unit);
	cr_expect_eq(q->quota, quota, "%s: quota %llu", name, (unsigned long long)q->quota);
	cr_expect_eq(q->mode, mode, "%s: mode %u", name, q->mode);
	cr_expect_eq(q->profile, profile, "%s: profile %u", name, q->profile);
	cr_expect_eq(q->prefix4, prefix4, "%s: prefix4 %u", name, q->prefix4);
	cr_expect_eq(q->prefix6, prefix6, "%s: prefix6 %u", name, q->prefix6);
	cr_expect_eq(q->action, action, "%s: action %u", name, q->action);
}

Test(policy, quota_values)
{
	static const __u16 pro_alerts[] = { 50, 90, 100, 150, 200, 300, 500, 1000 };
	const struct sl_plan *pl;
	const struct sl_quota *q;
	struct sl_policy p;
	char err[512] = "";
	int i;

	cr_assert_eq(sl_policy_load(TP_GOOD_DIR "/quotas.yaml", &p, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_str_eq(p.timezone, "UTC");
	cr_expect_eq(p.billing.unit, SL_PU_DAYS, "billing period: day");
	cr_expect_eq(p.billing.duration, 7);
	cr_expect_eq(p.billing.csv, true);
	cr_expect_str_eq(p.alert_hook, "/bin/sh -c \"cat >> /var/log/sluice-alerts.jsonl\"");

	pl = tp_plan(&p, "free");
	cr_assert_eq(pl->n_quotas, 3);
	q = &pl->quotas[0];
	tp_expect_quota(q, "daily", 1, SL_PU_DAYS, 1000, SL_QM_HARD, SL_QP_TENANT, 32, 64,
			SL_OVER_DROP);
	cr_expect_eq(q->line, 21);
	cr_assert_eq(q->n_labels, 2);
	cr_expect_str_eq(q->labels[0].key, "kind");
	cr_expect_str_eq(q->labels[0].value, "trial");
	cr_expect_str_eq(q->labels[1].key, "sku");
	cr_expect_str_eq(q->labels[1].value, "free-daily");
	cr_assert_eq(q->n_alerts, 2);
	cr_expect_eq(q->alert_at[0], 80);
	cr_expect_eq(q->alert_at[1], 100);
	q = &pl->quotas[1];
	tp_expect_quota(q, "per-key", 1, SL_PU_HOURS, 10000, SL_QM_HARD, SL_QP_KEY, 32, 64,
			SL_OVER_HTTP429);
	cr_expect_eq(q->n_labels, 0);
	cr_expect_eq(q->n_alerts, 0);
	q = &pl->quotas[2];
	tp_expect_quota(q, "per-net", 15, SL_PU_MINUTES, 500, SL_QM_HARD, SL_QP_SOURCE, 24, 56,
			SL_OVER_HTTP429);
	cr_assert_eq(q->n_alerts, 1, "one threshold without a list");
	cr_expect_eq(q->alert_at[0], 50);

	pl = tp_plan(&p, "pro");
	cr_assert_eq(pl->n_quotas, 2);
	q = &pl->quotas[0];
	tp_expect_quota(q, "quarterly", 3, SL_PU_MONTHS, 2000000, SL_QM_SOFT, SL_QP_SOURCE, 32,
			64, SL_OVER_RESET);
	cr_assert_eq(q->n_alerts, SL_MAX_ALERTS);
	for (i = 0; i < SL_MAX_ALERTS; i++)
		cr_expect_eq(q->alert_at[i], pro_alerts[i], "alert %d: %u", i, q->alert_at[i]);
	q = &pl->quotas[1];
	tp_expect_quota(q, "weekly", 1, SL_PU_WEEKS, 1, SL_QM_HARD, SL_QP_TENANT, 32, 64,
			SL_OVER_DROP);
	cr_expect(!q->n_labels && !q->n_alerts);

	cr_expect_eq(tp_plan(&p, "plain")->n_quotas, 0);
	sl_policy_free(&p);
}

/* No timezone, billing or alerts: the defaults, with or without an HTTP layer. */
Test(policy, run_settings_defaults)
{
	static const char *const files[] = { TP_GOOD_DIR "/minimal.yaml",
					     TP_GOOD_DIR "/http-minimal.yaml" };
	size_t i;

	for (i = 0; i < 2; i++) {
		struct sl_policy p;
		char err[512] = "";

		cr_assert_eq(sl_policy_load(files[i], &p, err, sizeof(err)), 0, "%s", err);
		cr_expect_str_eq(p.timezone, "UTC", "%s", files[i]);
		cr_expect_eq(p.billing.unit, SL_PU_HOURS, "%s", files[i]);
		cr_expect_eq(p.billing.duration, 1, "%s", files[i]);
		cr_expect_eq(p.billing.csv, false, "%s", files[i]);
		cr_expect_str_eq(p.alert_hook, "", "%s", files[i]);
		sl_policy_free(&p);
	}
}

/* Each key of billing has its own default, and the settings need no http section. */
Test(policy, billing_partial)
{
	static const struct {
		const char *billing;
		__u8 unit;
		__u32 duration;
		bool csv;
	} cases[] = {
		{ "{}", SL_PU_HOURS, 1, false },
		{ "{period: months}", SL_PU_MONTHS, 1, false },
		{ "{duration: 15, period: minute}", SL_PU_MINUTES, 15, false },
		{ "{csv: true}", SL_PU_HOURS, 1, true },
		{ "{period: weeks, duration: 1000, csv: off}", SL_PU_WEEKS, 1000, false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512], err[512] = "";
		struct sl_policy p;

		snprintf(text, sizeof(text), TP_THEAD "billing: %s\n", cases[i].billing);
		cr_assert_eq(tp_parse(text, &p, err, sizeof(err)), 0, "%s: %s", cases[i].billing,
			     err);
		cr_expect_eq(p.billing.unit, cases[i].unit, "%s", cases[i].billing);
		cr_expect_eq(p.billing.duration, cases[i].duration, "%s", cases[i].billing);
		cr_expect_eq(p.billing.csv, cases[i].csv, "%s", cases[i].billing);
		sl_policy_free(&p);
	}
}

/* Period words for quotas and billing alike: plural or singular, lowercase, nothing else. */
Test(policy, period_unit_words)
{
	static const struct {
		const char *text;
		int unit; /* -1: refused */
	} words[] = {
		{ "minutes", SL_PU_MINUTES }, { "minute", SL_PU_MINUTES }, { "hours", SL_PU_HOURS },
		{ "hour", SL_PU_HOURS },      { "days", SL_PU_DAYS },	   { "day", SL_PU_DAYS },
		{ "weeks", SL_PU_WEEKS },     { "week", SL_PU_WEEKS },	   { "months", SL_PU_MONTHS },
		{ "month", SL_PU_MONTHS },    { "Days", -1 },		   { "dayss", -1 },
		{ "s", -1 },		      { "\"\"", -1 },		   { "years", -1 },
		{ "\"day\\0\"", -1 },	      { "1d", -1 },		   { "[days]", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		char text[512], err[512] = "";
		struct sl_policy p;
		int ret;

		snprintf(text, sizeof(text), TP_QHEAD "      - {name: q, unit: %s, quota: 1}\n",
			 words[i].text);
		ret = tp_parse(text, &p, err, sizeof(err));
		if (words[i].unit >= 0)
			cr_expect(!ret && p.plans[0].quotas[0].unit == words[i].unit,
				  "quota unit %s: %s", words[i].text, err);
		else
			cr_expect(ret == -EINVAL && !strncmp(err, "t.yaml:10: unit", 15),
				  "quota unit %s: %s", words[i].text, err);
		sl_policy_free(&p);

		snprintf(text, sizeof(text), TP_THEAD "billing: {period: %s}\n", words[i].text);
		ret = tp_parse(text, &p, err, sizeof(err));
		if (words[i].unit >= 0)
			cr_expect(!ret && p.billing.unit == words[i].unit, "billing period %s: %s",
				  words[i].text, err);
		else
			cr_expect(ret == -EINVAL && !strncmp(err, "t.yaml:5: period", 16),
				  "billing period %s: %s", words[i].text, err);
		sl_policy_free(&p);
	}
}

/* Exactly SL_MAX_QUOTAS quotas and SL_MAX_ALERTS thresholds fit; the limits are in range. */
Test(policy, quota_limits)
{
	char text[2048], err[512] = "";
	struct sl_policy p;
	size_t n;
	int i;

	n = snprintf(text, sizeof(text), TP_QHEAD);
	for (i = 0; i < SL_MAX_QUOTAS; i++)
		n += snprintf(text + n, sizeof(text) - n,
			      "      - {name: q%d, unit: days, quota: 1, alert_at: [1, 2, 3, 4, 5, 6, 7, 1000]}\n",
			      i);
	cr_assert_eq(tp_parse(text, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.plans[0].n_quotas, SL_MAX_QUOTAS);
	cr_expect_str_eq(p.plans[0].quotas[SL_MAX_QUOTAS - 1].name, "q7");
	cr_expect_eq(p.plans[0].quotas[SL_MAX_QUOTAS - 1].line, 10 + SL_MAX_QUOTAS - 1);
	cr_expect_eq(p.plans[0].quotas[0].n_alerts, SL_MAX_ALERTS);
	cr_expect_eq(p.plans[0].quotas[0].alert_at[SL_MAX_ALERTS - 1], 1000);
	sl_policy_free(&p);

	snprintf(text, sizeof(text),
		 TP_QHEAD "      - {name: q, unit: day, duration: 1000, quota: 1099511627775, "
			  "alert_at: [], profile: source, prefix4: 0, prefix6: 128}\n");
	cr_assert_eq(tp_parse(text, &p, err, sizeof(err)), 0, "%s", err);
	tp_expect_quota(&p.plans[0].quotas[0], "q", 1000, SL_PU_DAYS, SL_QUSED_MASK, SL_QM_HARD,
			SL_QP_SOURCE, 0, 128, SL_OVER_DROP);
	cr_expect_eq(p.plans[0].quotas[0].n_alerts, 0, "alert_at: [] is no alerts");
	sl_policy_free(&p);

	snprintf(text, sizeof(text),
		 TP_QHEAD "      - {name: q, unit: days, quota: 1, profile: source, prefix6: 129}\n");
	cr_expect_eq(tp_parse(text, &p, err, sizeof(err)), -EINVAL);
	cr_expect(!strncmp(err, "t.yaml:10: prefix6 129 is out of range; give 0 to 128", 52),
		  "%s", err);
	tp_expect_empty(&p, "prefix6");
	sl_policy_free(&p);
}

/* A quota's action is the plan's unless it names one; a tenant's overrides do not change it. */
Test(policy, quota_action_default)
{
	static const char text[] =
		"version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n"
		"http: {ports: 80}\nplans:\n"
		"  a: {rate: 1, action: reset, quotas: [{name: q, unit: days, quota: 1}]}\n"
		"  b: {rate: 1, quotas: [{name: q, unit: days, quota: 1, action: http429}]}\n"
		"tenants:\n  - {name: t, plan: a, overrides: {action: http429}}\n";
	struct sl_policy p;
	char err[512] = "";

	cr_assert_eq(tp_parse(text, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(tp_plan(&p, "a")->quotas[0].action, SL_OVER_RESET);
	cr_expect_eq(tp_plan(&p, "b")->quotas[0].action, SL_OVER_HTTP429);
	cr_expect_eq(p.tenants[0].lim.action, SL_OVER_HTTP429);
	sl_policy_free(&p);
}

/* reject and replies of rules, replies of the HTTP layer, group actions (docs/reject.md). */
Test(policy, reject_values)
{
	struct sl_policy p;
	char err[512] = "";

	cr_assert_eq(sl_policy_load(TP_GOOD_DIR "/reject.yaml", &p, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(tp_rule(&p, "all")->reject, SL_OVER_DROP);
	cr_expect_eq(tp_rule(&p, "all")->replies.rate, 100, "default reply rate");
	cr_expect_eq(tp_rule(&p, "all")->replies.burst, 100);
	cr_expect_eq(tp_rule(&p, "rst")->reject, SL_OVER_RESET);
	cr_expect_eq(tp_rule(&p, "rst")->replies.rate, 20);
	cr_expect_eq(tp_rule(&p, "rst")->replies.burst, 20, "burst defaults to the reply rate");
	cr_expect_eq(tp_rule(&p, "api")->reject, SL_OVER_HTTP429);
	cr_expect_eq(tp_rule(&p, "api")->replies.rate, 5);
	cr_expect_eq(tp_rule(&p, "api")->replies.burst, 50);
	cr_expect_eq(tp_rule(&p, "burst-only")->replies.rate, 100);
	cr_expect_eq(tp_rule(&p, "burst-only")->replies.burst, 7);
	cr_expect_eq(tp_rule(&p, "blocked")->reject, SL_OVER_RESET, "deny rules answer too");
	cr_expect_eq(tp_rule(&p, "office")->reject, SL_OVER_HTTP429, "kept on allow, unused");
	cr_expect_eq(p.http_replies.rate, 2000);
	cr_expect_eq(p.http_replies.burst, 3000);
	cr_assert_eq(p.n_groups, 3);
	cr_expect_eq(p.groups[0].action, SL_OVER_HTTP429);
	cr_expect_eq(p.groups[1].action, SL_OVER_DROP);
	cr_expect_eq(p.groups[2].action, SL_OVER_INHERIT, "no action: the tenant's");
	cr_expect_eq(tp_tenant(&p, "acme")->lim.action, SL_OVER_HTTP429);
	cr_expect_eq(tp_plan(&p, "free")->quotas[0].action, SL_OVER_HTTP429);
	cr_expect_eq(tp_tenant(&p, "beta")->lim.action, SL_OVER_DROP);
	sl_policy_free(&p);
}

Test(policy, reject_defaults)
{
	struct sl_policy p;
	char err[512] = "";

	cr_assert_eq(sl_policy_load(TP_GOOD_DIR "/minimal.yaml", &p, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(p.rules[0].reject, SL_OVER_DROP);
	cr_expect_eq(p.rules[0].replies.rate, 100);
	cr_expect_eq(p.rules[0].replies.burst, 100);
	cr_expect(!p.http_replies.rate && !p.http_replies.burst, "no http: no HTTP reply limit");
	sl_policy_free(&p);
	cr_assert_eq(sl_policy_load(TP_GOOD_DIR "/http-minimal.yaml", &p, err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_eq(p.http_replies.rate, 1000);
	cr_expect_eq(p.http_replies.burst, 1000);
	sl_policy_free(&p);
	/* A group's action: given, or the tenant's; only the http burst given keeps rate 1000. */
	cr_assert_eq(tp_parse("version: 1\nname: n\nsources:\n  - {name: r, cidr: 10.0.0.0/8, rate: 1}\n"
			      "http: {ports: 80, replies: {burst: 5}}\ngroups:\n  - {name: g, action: reset}\n",
			      &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(p.http_replies.rate, 1000);
	cr_expect_eq(p.http_replies.burst, 5);
	cr_expect_eq(p.groups[0].action, SL_OVER_RESET);
	sl_policy_free(&p);
}

static void tp_expect_tz_refused(const char *tz, const char *want)
{
	char text[512], err[512] = "";
	struct sl_policy p;

	snprintf(text, sizeof(text), TP_THEAD "timezone: %s\n", tz);
	cr_expect_eq(tp_parse(text, &p, err, sizeof(err)), -EINVAL, "%s: accepted", tz);
	cr_expect(!strncmp(err, "t.yaml:5: ", 10) && strstr(err, want), "%s: %s", tz, err);
	tp_expect_empty(&p, tz);
	sl_policy_free(&p);
}

Test(policy, timezone_names)
{
	char text[512], err[512] = "", longname[80];
	struct sl_policy p;

	snprintf(text, sizeof(text), TP_THEAD "timezone: \"UTC\"\n");
	cr_assert_eq(tp_parse(text, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(p.timezone, "UTC");
	sl_policy_free(&p);

	memset(longname, 'A', 64);
	longname[64] = '\0';
	tp_expect_tz_refused(longname, "is 64 characters long; at most 63 fit");
	tp_expect_tz_refused("\"\"", "timezone has no value");
	tp_expect_tz_refused("{name: UTC}", "timezone must be UTC or a zone name");
	tp_expect_tz_refused("Etc/../UTC", "contains \"..\"");
	tp_expect_tz_refused("/usr/share/zoneinfo/UTC", "is a path");
	tp_expect_tz_refused("\"Europe/Berlin \"", "contains ' '");
	tp_expect_tz_refused("\"Europe/Berlin\\t\"", "contains byte 0x09");
	tp_expect_tz_refused("\"Europe/M\\u00fcnchen\"", "contains byte 0xc3");
	tp_expect_tz_refused("\"Europe/Berlin\\0\"", "contains a NUL character");
	tp_expect_tz_refused("Nowhere/Atlantis", "is not installed (/usr/share/zoneinfo/Nowhere/");
}

Test(policy, timezone_berlin)
{
	char text[512], err[512] = "";
	struct sl_policy p;
	struct stat st;

	if (stat("/usr/share/zoneinfo/Europe/Berlin", &st))
		cr_skip_test("tzdata not installed (/usr/share/zoneinfo/Europe/Berlin missing): sudo scripts/install-deps.sh");
	snprintf(text, sizeof(text), TP_THEAD "timezone: Europe/Berlin\n");
	cr_assert_eq(tp_parse(text, &p, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(p.timezone, "Europe/Berlin");
	sl_policy_free(&p);

	/* The letter case of the file name counts, as it does for TZ. */
	tp_expect_tz_refused("europe/berlin", "is not installed");
	tp_expect_tz_refused("Europe", "is not a zone: /usr/share/zoneinfo/Europe is a directory");
	tp_expect_tz_refused("Europe/", "is not a zone: /usr/share/zoneinfo/Europe/ is a directory");
}

/* Parse `alerts: {hook: HOOK}`; returns the result, and the hook or the error in out. */
static int tp_hook(const char *hook, char *out, size_t len)
{
	char *text = malloc(strlen(hook) + 256), err[1024] = "";
	struct sl_policy p;
	int ret;

	cr_assert_not_null(text);
	sprintf(text, TP_THEAD "alerts:\n  hook: %s\n", hook);
	ret = tp_parse(text, &p, err, sizeof(err));
	snprintf(out, len, "%s", ret ? err : p.alert_hook);
	if (ret)
		tp_expect_empty(&p, hook);
	sl_policy_free(&p);
	free(text);
	return ret;
}

Test(policy, alert_hook)
{
	char dir[64], exe[128], plain[128], got[1024], hook[1024], want[512];

	tp_mkdtemp(dir);
	snprintf(exe, sizeof(exe), "%s/notify", dir);
	snprintf(plain, sizeof(plain), "%s/notes", dir);
	tp_write(exe, "#!/bin/sh\ncat >/dev/null\n", 0700);
	tp_write(plain, "not a program\n", 0600);

	cr_expect_eq(tp_hook(exe, got, sizeof(got)), 0, "%s", got);
	cr_expect_str_eq(got, exe);
	snprintf(hook, sizeof(hook), "\"%s --channel billing\"", exe);
	cr_expect_eq(tp_hook(hook, got, sizeof(got)), 0, "arguments after the program: %s", got);
	cr_expect(!strcmp(got + strlen(exe), " --channel billing"), "%s", got);
	cr_expect_eq(tp_hook("notify-billing --all", got, sizeof(got)), 0,
		     "a bare name is found in PATH when it runs: %s", got);
	cr_expect_str_eq(got, "notify-billing --all");

	cr_expect_eq(tp_hook(plain, got, sizeof(got)), -EINVAL);
	snprintf(want, sizeof(want),
		 "t.yaml:6: hook program %s is not executable (mode 0600); run chmod +x %s", plain,
		 plain);
	cr_expect_str_eq(got, want);
	cr_expect_eq(tp_hook(dir, got, sizeof(got)), -EINVAL);
	cr_expect(strstr(got, "is a directory; give the path of an executable file"), "%s", got);
	snprintf(hook, sizeof(hook), "%s/gone -x", dir);
	cr_expect_eq(tp_hook(hook, got, sizeof(got)), -EINVAL);
	snprintf(want, sizeof(want), "t.yaml:6: hook program %s/gone: No such file or directory;",
		 dir);
	cr_expect(!strncmp(got, want, strlen(want)), "%s", got);
	cr_expect_eq(tp_hook("\"/bin/sh\\n-c x\"", got, sizeof(got)), -EINVAL);
	cr_expect(strstr(got, "hook contains a control character at byte 8"), "%s", got);
	cr_expect_eq(tp_hook("\" /bin/sh\"", got, sizeof(got)), -EINVAL);
	cr_expect(strstr(got, "hook starts with a space"), "%s", got);
	cr_expect_eq(tp_hook("[/bin/sh]", got, sizeof(got)), -EINVAL);
	cr_expect(strstr(got, "hook must be a command"), "%s", got);

	/* At most sizeof(alert_hook) - 1 bytes. */
	memset(hook, 'x', 511);
	hook[511] = '\0';
	cr_expect_eq(tp_hook(hook, got, sizeof(got)), 0, "%s", got);
	cr_expect_eq(strlen(got), 511);
	hook[511] = 'x';
	hook[512] = '\0';
	cr_expect_eq(tp_hook(hook, got, sizeof(got)), -EINVAL);
	cr_expect_str_eq(got, "t.yaml:6: hook is 512 bytes long; at most 511 fit");
	tp_rmdir(dir);
}

Test(policy, mutations_never_crash_quotas)
{
	tp_mutate(TP_GOOD_DIR "/quotas.yaml");
}
