#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Prometheus metrics of `sluice run --metrics 127.0.0.1:PORT` against nginx: two tenants, one
# over a hard quota of 3 a day. /metrics is fetched with curl and parsed with prometheus_client's
# text parser (it must not raise; every family has HELP and TYPE). The admitted, dropped and
# quota-refused requests per tenant equal sluice's own counters, the quota gauges equal
# `sluice usage --json`, the rule counters and the tick latency histogram are there; another
# path answers 404, POST 405; a second `sluice run` on the same port exits 1 with a clear
# message, and the endpoint closes with the daemon.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"
# shellcheck source=tests/integration/http/quota.sh
. "$(dirname "$0")/http/quota.sh"

http_test_setup nsenter timeout python3 nginx curl ss bpftool

# The parser comes from Debian's python3-prometheus-client: an interpreter that sees it, with
# its site module (sl_fast_python's python3 runs without one).
PYPROM=
for py in "$(command -v python3)" /usr/bin/python3; do
	if [ -x "$py" ] && "$py" -c 'import prometheus_client.parser' 2>/dev/null; then
		PYPROM=$py
		break
	fi
done
[ -n "$PYPROM" ] || sl_skip "python3 module prometheus_client missing (apt-get install python3-prometheus-client)"

# A free port derived from the test's pid.
PORT=
for ((i = 0; i < 50; i++)); do
	p=$((20000 + ($$ + i * 7919) % 40000))
	if [ -z "$(ss -Hltn "sport = :$p")" ]; then
		PORT=$p
		break
	fi
done
[ -n "$PORT" ] || sl_fail "no free TCP port found"
URL=http://127.0.0.1:$PORT

quota_keys alpha beta
cat >"$T/policy.yaml" <<YAML
$(quota_policy_head metrics)
groups:
  - {name: files, match: {path: /v1/files}}
  - {name: other}
plans:
$(quota_plan big "{name: monthly, unit: months, quota: 1000, mode: hard, alert_at: [50, 90, 100]}")
$(quota_plan small "{name: daily, unit: days, quota: 3, mode: hard}")
tenants:
  - {name: alpha, plan: big, keys_file: keys/alpha.keys}
  - {name: beta, plan: small, keys_file: keys/beta.keys}
YAML

http_nginx_start 8000
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
quota_run_start 2026-05-04T09:00:00Z "$T/policy.yaml" "$T/state" 2 --metrics "127.0.0.1:$PORT"
sl_wait_for 5 timeout 5 curl -sf -o /dev/null "$URL/metrics" ||
	sl_fail "no metrics at $URL/metrics: $(tail -c 800 "$T/run.log")"
MARK=$(http_log_mark)
served() { tr ' ' '\n' <<<"$1" | grep -c '^200$' || true; }
sl_assert_eq "$(served "$(quota_send 5 "${QKEY[alpha]}")")" 5 "alpha: 5 of 5 served"
sl_assert_eq "$(served "$(quota_send 5 "${QKEY[beta]}")")" 3 "beta: 3 of 5 served (hard quota of 3)"
http_traffic_stop

_PARSE_PY=$(cat <<'EOF_PY'
import json, re, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
families = list(text_string_to_metric_families(text))  # raises on a malformed exposition
types = re.findall(r"^# TYPE (\S+) ", text, re.M)
helps = re.findall(r"^# HELP (\S+) ", text, re.M)
if len(types) != len(set(types)) or sorted(types) != sorted(helps):
    sys.exit("a family repeats, or lacks HELP or TYPE: %s / %s" % (types, helps))
out = {"families": {}, "samples": []}
for f in families:
    if not f.name.startswith("sluice_") or f.type == "unknown" or not f.documentation:
        sys.exit("family %s: type %s, help %r" % (f.name, f.type, f.documentation))
    for s in f.samples:
        if f.type == "counter" and not s.name.endswith("_total"):
            sys.exit("counter sample %s does not end in _total" % s.name)
        out["samples"].append([s.name, s.labels, s.value])
    out["families"][f.name] = f.type
json.dump(out, sys.stdout)
EOF_PY
)

_MGET_PY=$(cat <<'EOF_PY'
import json, sys
d = json.load(open(sys.argv[1]))
name, want = sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
vals = [v for n, l, v in d["samples"] if n == name and all(l.get(k) == x for k, x in want.items())]
if not vals:
    sys.exit("no sample %s%s in /metrics" % (name, want))
t = sum(vals)
print(int(t) if t == int(t) else t)
EOF_PY
)

# fetch: /metrics with curl (headers in $T/m.hdr), parsed into $T/m.json.
fetch() {
	timeout 10 curl -sf --max-time 5 -D "$T/m.hdr" -o "$T/m.txt" "$URL/metrics" &&
		"$PYPROM" -c "$_PARSE_PY" "$T/m.txt" >"$T/m.json"
}
# mget NAME [LABEL=VALUE...]: the sum of the matching samples of the last fetch.
mget() {
	python3 -c "$_MGET_PY" "$T/m.json" "$@"
}

http_tenants "$T/ten.json"
tc() { sl_json "$T/ten.json" "d['tenants']['$1']['$2']"; }
# The daemon reads the counters every 200 ms: its next rendering has the stopped traffic.
caught_up() {
	fetch && [ "$(mget sluice_tenant_requests_total tenant=beta outcome=dropped)" = "$(tc beta req_drop)" ] &&
		[ "$(mget sluice_tenant_requests_total tenant=alpha outcome=admitted)" = "$(tc alpha req_pass)" ]
}
sl_wait_for 5 caught_up || fetch || sl_fail "/metrics does not parse: $(head -c 600 "$T/m.txt")"
sl_log "/metrics: $(wc -l <"$T/m.txt") lines, $(sl_json "$T/m.json" 'len(d["families"])') families"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/m.hdr" ||
	sl_fail "content type: $(grep -i content-type "$T/m.hdr")"

for t in alpha beta; do
	sl_assert_eq "$(mget sluice_tenant_requests_total tenant=$t outcome=admitted)" "$(tc $t req_pass)" \
		"$t: admitted in /metrics = sluice's counters"
	sl_assert_eq "$(mget sluice_tenant_requests_total tenant=$t outcome=dropped)" "$(tc $t req_drop)" \
		"$t: dropped in /metrics = sluice's counters"
	sl_assert_eq "$(mget sluice_tenant_quota_refused_requests_total tenant=$t)" "$(tc $t req_quota)" \
		"$t: refused by quota in /metrics = sluice's counters"
	sl_assert_eq "$(mget sluice_tenant_bytes_total tenant=$t direction=in)" "$(tc $t bytes_in)" \
		"$t: request bytes in /metrics = sluice's counters"
done
http_log_counts "$MARK" "$KEYMAP" >"$T/log.json"
sl_assert_eq "$(mget sluice_tenant_requests_total tenant=alpha outcome=admitted)" \
	"$(sl_json "$T/log.json" "d['alpha']['n']")" "alpha: admitted = what nginx served"
sl_assert_eq "$(mget sluice_tenant_requests_total tenant=beta outcome=admitted)" 3 "beta: 3 admitted"
sl_assert_ge "$(mget sluice_tenant_quota_refused_requests_total tenant=beta)" 2 "beta: refused by its quota"
sl_assert_eq "$(mget sluice_tenant_group_requests_total tenant=alpha group=files outcome=admitted)" 5 \
	"alpha: 5 admitted in group files"
sl_assert_eq "$(mget sluice_tenant_info tenant=beta plan=small)" 1 "tenant info with the plan"

quota_usage "$T/u.json"
for tq in alpha:monthly beta:daily; do
	t=${tq%:*} q=${tq#*:}
	for f in used limit remaining; do
		sl_assert_eq "$(mget sluice_quota_${f}_units tenant="$t" quota="$q")" \
			"$(quota_u "$T/u.json" "$t" "$f")" "$t/$q: $f in /metrics = sluice usage"
	done
	sl_assert_eq "$(mget sluice_quota_period_end_timestamp_seconds tenant="$t" quota="$q")" \
		"$(quota_epoch "$(quota_u "$T/u.json" "$t" period_end)")" "$t/$q: period end = sluice usage"
done
sl_assert_eq "$(mget sluice_quota_near_limit tenant=beta quota=daily)" 1 "beta: near its limit (3 of 3)"
sl_assert_eq "$(mget sluice_quota_near_limit tenant=alpha quota=monthly)" 0 "alpha: not near (5 of 1000, alert at 90 %)"

sl_status "$T/status.json"
sl_assert_ge "$(mget sluice_rule_packets_total rule=everyone reason=allow outcome=pass)" 20 \
	"rule everyone: allowed packets counted"
sl_assert_le "$(mget sluice_rule_packets_total rule=everyone reason=allow outcome=pass)" \
	"$(sl_ctr "$T/status.json" everyone allow.pass.packets)" "rule everyone: at most what status shows later"
sl_assert_ge "$(mget sluice_rule_bytes_total rule=everyone reason=allow outcome=pass)" 1000 \
	"rule everyone: allowed bytes counted"

sl_assert_eq "$(sl_json "$T/m.json" 'd["families"]["sluice_controller_tick_duration_seconds"]')" \
	histogram "tick duration is a histogram"
n=$(mget sluice_controller_tick_duration_seconds_count)
sl_assert_ge "$n" 5 "tick duration observations"
sl_assert_eq "$(mget sluice_controller_tick_duration_seconds_bucket le=+Inf)" "$n" "+Inf bucket = count"
sl_assert_ge "$(mget sluice_controller_ticks_total)" "$n" "ticks counted"
sl_assert_ge "$(mget sluice_billing_last_write_timestamp_seconds)" "$(quota_epoch 2026-05-04T09:00:00Z)" \
	"a billing write since the start (daemon clock)"
sl_assert_eq "$(mget sluice_billing_write_errors_total)" 0 "no billing write errors"
sl_assert_le "$(mget sluice_checkpoint_age_seconds)" 10 "checkpoint saved recently"
sl_assert_eq "$(mget sluice_table_max_entries table=buckets)" \
	"$(sl_json "$T/status.json" 'd["tables"]["buckets"]["max"]')" "bucket table size = status"
sl_assert_ge "$(mget sluice_table_entries table=tenant_counters)" 2 "tenant counter entries"
for t in flows quota_counters; do
	sl_assert_ge "$(mget sluice_table_max_entries table=$t)" 1 "table $t has a size"
done

code=$(timeout 10 curl -s --max-time 5 -o "$T/404.txt" -w '%{http_code}' "$URL/other")
sl_assert_eq "$code" 404 "another path answers 404"
code=$(timeout 10 curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X POST "$URL/metrics")
sl_assert_eq "$code" 405 "POST answers 405"
code=$(timeout 10 curl -s --max-time 5 -I -o /dev/null -w '%{http_code}' "$URL/metrics")
sl_assert_eq "$code" 200 "HEAD answers 200"

rc=0
out=$(timeout 10 "$SLUICE" --pin-root "$PIN" run --policy "$T/policy.yaml" --state-dir "$T/state2" \
	--metrics "127.0.0.1:$PORT" 2>&1) || rc=$?
sl_log "second sluice run: exit $rc: $out"
sl_assert_eq "$rc" 1 "a second sluice run on the same metrics port exits 1"
[[ $out == *"cannot listen on 127.0.0.1:$PORT: Address already in use; choose another --metrics port"* ]] ||
	sl_fail "no clear message: $out"

rc=0
sl_stop_pid "$RUN_PID" 10 || rc=$?
sl_untrack_pid "$RUN_PID"
sl_assert_eq "$rc" 0 "sluice run exits 0 on SIGTERM"
if timeout 5 curl -s --max-time 2 -o /dev/null "$URL/metrics"; then
	sl_fail "the endpoint still answers after the daemon stopped"
fi
echo "ok: the endpoint closed with the daemon"
