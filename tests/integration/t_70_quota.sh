#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Quotas against real traffic: nginx in the server namespace, sluice on the server veth (XDP),
# `sluice run` (the controller daemon) on an injected clock that starts at 12:00:02, so all of
# this falls inside one minute of its clock:
#   hard quotas: alpha (150 per minute) and beta (90 per minute), each loaded by two wrk
#         processes, one pinned to CPU 0 and one to CPU 1 (rate limits far above the load):
#         nginx serves exactly the quota, request for request; sluice's req_pass is exactly
#         the quota, refused requests are counted as refused by the quota (req_quota), the
#         admitted ones are spread over both CPUs (per-CPU counters); `sluice usage` shows the
#         quota used up;
#   a soft quota: gamma (20 per day) sends 30 requests, all served; the billing files (the
#         highest revision of each record, after SIGTERM flushed the daemon) bill 30 requests
#         and 10 of overage; `sluice usage` shows 30 used;
#   alerts at 80 % and 100 % of each quota: events.jsonl has exactly one event per tenant,
#         quota and threshold although the load goes on past 100 % for many daemon ticks, and
#         the alert hook got the same events as JSON on its stdin.
# t_71_quota_month.sh crosses a month boundary in a time zone; t_74_quota_turn.sh turns a period
# with the daemon stopped.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"
# shellcheck source=tests/integration/http/quota.sh
. "$(dirname "$0")/http/quota.sh"

http_test_setup nsenter timeout python3 nginx wrk curl ss bpftool taskset flock
[ "$(nproc)" -ge 2 ] || sl_skip "needs 2 CPUs (clients pinned to CPU 0 and CPU 1), have $(nproc)"

FAKE_NOW=2026-03-10T12:00:02Z # the daemon's clock starts here: 58 s left in the minute
PERIOD=2026-03-10T12:00:00Z
A_N=150 B_N=90   # hard quotas per minute
G_M=20 G_K=10    # gamma's soft quota per day, and the requests it sends beyond it
SECS=6           # seconds of wrk load
PACE_MS=20       # each wrk connection waits this long between requests
quota_keys alpha beta gamma
KA=${QKEY[alpha]} KB=${QKEY[beta]} KG=${QKEY[gamma]}

# The alert hook: each event, as it arrives on stdin, appended to hook.jsonl (one at a time).
cat >"$T/hook.sh" <<HOOK
#!/bin/sh
exec 9>>"$T/hook.lock"
flock 9
cat >>"$T/hook.jsonl"
HOOK
chmod 755 "$T/hook.sh"

cat >"$T/policy.yaml" <<YAML
$(quota_policy_head quota)
alerts: {hook: "$T/hook.sh"}
plans:
$(quota_plan a-plan "{name: per-minute, unit: minutes, quota: $A_N, mode: hard, alert_at: [80, 100]}")
$(quota_plan b-plan "{name: per-minute, unit: minutes, quota: $B_N, mode: hard, alert_at: [80, 100]}")
$(quota_plan g-plan "{name: daily, unit: days, quota: $G_M, mode: soft, alert_at: [80, 100]}")
tenants:
  - {name: alpha, plan: a-plan, keys_file: keys/alpha.keys}
  - {name: beta, plan: b-plan, keys_file: keys/beta.keys}
  - {name: gamma, plan: g-plan, keys_file: keys/gamma.keys}
YAML

http_nginx_start 8000
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
STATE=$T/state
quota_run_start "$FAKE_NOW" "$T/policy.yaml" "$STATE" 3
http_keys_installed || sl_fail "sluice run installed no keys (sl_keys_v2 is empty)"

# ------------------------------------------------------------ 1. hard quotas, on both CPUs
# Paced ($PACE_MS ms between requests on each of 4 connections: ~200 requests/s per wrk) so that
# both of a tenant's processes are admitted before its quota runs out; unpaced, the wrk that
# starts first takes the whole quota in a few milliseconds. A veth runs the receiving side's XDP
# in the NAPI poll that the sending CPU schedules, so each process's requests are mostly judged
# on its own CPU (not all: a poll running on one CPU takes the other's packets too).
printf 'function delay() return %d end\n' "$PACE_MS" >"$T/pace.lua"
MARK=$(http_log_mark)
WRK_PIDS=()
for c in alpha:"$KA" beta:"$KB"; do
	for cpu in 0 1; do
		sl_spawn_ns "$CLI_NS" $((SECS + 20)) "$T/wrk.${c%%:*}.$cpu.out" taskset -c "$cpu" \
			wrk -t1 -c4 -d"${SECS}s" --timeout 10s -s "$T/pace.lua" -H "X-API-Key: ${c#*:}" \
			"http://$SRV_IP4:8000/v1/models"
		WRK_PIDS+=("$SL_SPAWNED_PID")
	done
done
for p in "${WRK_PIDS[@]}"; do
	sl_wait_pid "$p" $((SECS + 15))
done
quota_reset_sockets 8000
sleep 0.5
http_log_counts "$MARK" "$KEYMAP" >"$T/log1.json"
http_tenants "$T/ten1.json"
timeout 20 bpftool -j map dump pinned "$PIN/maps/sl_tstats_v3" >"$T/tstats1.json"
timeout 20 bpftool -j map dump pinned "$PIN/maps/sl_tenmeta_v1" >"$T/tenmeta1.json"
quota_py percpu "$T/tstats1.json" "$T/tenmeta1.json" >"$T/percpu1.json"
quota_usage "$T/usage1.json"
for f in "$T"/wrk.*.out; do
	sl_log "$(basename "$f" .out): $(grep -E 'requests in|timeout' "$f" | tr -s ' ' | tr '\n' ';')"
done

logn() { sl_json "$1" "d.get('$2', {}).get('n', 0)"; }
ctr() { sl_json "$1" "d['tenants'].get('$2', {}).get('$3', 0)"; }
for t in alpha:"$A_N" beta:"$B_N"; do
	n=${t#*:} t=${t%%:*}
	sl_log "$t (hard, $n per minute): nginx served $(logn "$T/log1.json" "$t")" \
		"(statuses $(sl_json "$T/log1.json" "d.get('$t', {}).get('status')")); sluice req_pass" \
		"$(ctr "$T/ten1.json" "$t" req_pass), req_drop $(ctr "$T/ten1.json" "$t" req_drop)," \
		"req_quota $(ctr "$T/ten1.json" "$t" req_quota), req_retrans $(ctr "$T/ten1.json" "$t" req_retrans);" \
		"admitted per CPU $(sl_json "$T/percpu1.json" "d.get('$t', {})");" \
		"usage used $(quota_u "$T/usage1.json" "$t" used) remaining $(quota_u "$T/usage1.json" "$t" remaining)"
	sl_assert_eq "$(logn "$T/log1.json" "$t")" "$n" "$t: nginx served exactly the quota"
	sl_assert_eq "$(ctr "$T/ten1.json" "$t" req_pass)" "$n" "$t: sluice's req_pass is exactly the quota"
	sl_assert_ge "$(ctr "$T/ten1.json" "$t" req_quota)" 1 "$t: requests refused by the quota (req_quota)"
	sl_assert_eq "$(ctr "$T/ten1.json" "$t" req_drop)" "$(ctr "$T/ten1.json" "$t" req_quota)" \
		"$t: every refusal was the quota's (req_drop = req_quota)"
	sl_assert_ge "$(sl_json "$T/percpu1.json" "sum(1 for v in d.get('$t', {}).values() if v > 0)")" 2 \
		"$t: admitted requests on at least two CPUs"
	sl_assert_eq "$(quota_u "$T/usage1.json" "$t" period_start)" "$PERIOD" "$t: usage is of the minute $PERIOD"
	sl_assert_eq "$(quota_u "$T/usage1.json" "$t" used)" "$n" "$t: usage used = the quota"
	sl_assert_eq "$(quota_u "$T/usage1.json" "$t" remaining)" 0 "$t: usage remaining = 0"
done

# ------------------------------------------------------------ 2. a soft quota's overage
# One request every ~0.1 s: the usage passes 80 % and 100 % and goes on past 100 % for ten
# requests, several daemon ticks (200 ms) and flushes (1 s).
MARK=$(http_log_mark)
codes=()
for ((i = 0; i < G_M + G_K; i++)); do
	codes+=("$(http_curl -o /dev/null -w '%{http_code}' -H "X-API-Key: $KG" "http://$SRV_IP4:8000/v1/chat" || true)")
	sleep 0.1
done
sleep 1.5 # two more flushes after the last request
http_log_counts "$MARK" "$KEYMAP" >"$T/log2.json"
quota_usage "$T/usage2.json"
sl_log "gamma (soft, $G_M per day): curl got ${codes[*]}; nginx served $(logn "$T/log2.json" gamma);" \
	"usage used $(quota_u "$T/usage2.json" gamma used) overage $(quota_u "$T/usage2.json" gamma overage)"
sl_assert_eq "$(printf '%s\n' "${codes[@]}" | grep -c '^200$')" $((G_M + G_K)) "gamma: every request answered 200"
sl_assert_eq "$(logn "$T/log2.json" gamma)" $((G_M + G_K)) "gamma: nginx served all $((G_M + G_K))"
sl_assert_eq "$(quota_u "$T/usage2.json" gamma used)" $((G_M + G_K)) "gamma: usage used (daemon running)"
sl_assert_eq "$(quota_u "$T/usage2.json" gamma overage)" "$G_K" "gamma: usage overage (daemon running)"
sl_assert_eq "$(quota_daemon_time | cut -c 1-16)" "${PERIOD:0:16}" \
	"the daemon's clock is still in the minute $PERIOD"

# SIGTERM: the daemon flushes everything and exits 0.
rc=0
sl_stop_pid "$RUN_PID" 10 || rc=$?
sl_assert_eq "$rc" 0 "sluice run exited 0 on SIGTERM"
sl_log "daemon: $(tail -n 1 "$T/run.log")"
quota_py billing "$STATE"/billing/usage-*.jsonl* >"$T/billing.json"
quota_usage "$T/usage3.json"
b() { sl_json "$T/billing.json" "d['tenants'].get('$1', {}).get('$2', 0)"; }
sl_log "billing files: $(sl_json "$T/billing.json" '{f: v["records"] for f, v in d["files"].items()}')"
for t in alpha beta gamma; do
	sl_log "$t billed: $(sl_json "$T/billing.json" "d['tenants'].get('$t')")"
done
sl_assert_eq "$(b gamma requests)" $((G_M + G_K)) "gamma: billed requests (highest revision per id)"
sl_assert_eq "$(b gamma overage)" "$G_K" "gamma: billed overage"
sl_assert_eq "$(quota_u "$T/usage3.json" gamma used)" $((G_M + G_K)) "gamma: usage used (after the daemon stopped)"
sl_assert_eq "$(b alpha requests)" "$A_N" "alpha: billed requests = the quota"
sl_assert_eq "$(b beta requests)" "$B_N" "beta: billed requests = the quota"
sl_assert_ge "$(b alpha requests_quota)" 1 "alpha: billed refusals by the quota"
sl_assert_eq "$(b alpha overage)" 0 "alpha: no overage on a hard quota"

# ------------------------------------------------------------ 3. alerts, once each
# Each hook runs on its own (not waited for): give the last ones a moment to finish.
hook_events() { quota_py events "$T/hook.jsonl" >"$T/hook.json"; }
hook_done() { hook_events && [ "$(sl_json "$T/hook.json" 'd["n"]')" -ge 6 ]; }
sl_wait_for 5 hook_done || true
[ -s "$T/hook.jsonl" ] || sl_fail "the alert hook never ran: $(grep -i hook "$T/run.log" | head -n 3)"
hook_events
quota_py events "$STATE/events.jsonl" >"$T/events.json"
sl_log "events.jsonl: $(sl_json "$T/events.json" 'd["by"]')"
sl_log "events: $(sl_json "$T/events.json" '[(e["tenant"], e["threshold_percent"], e["used"], e["limit"], e["time"]) for e in d["events"]]')"
# The daemon's clock: when each quota reached 100 %, and its last tick before SIGTERM.
last_tick=$(quota_epoch "$(quota_daemon_time)")
for t in alpha beta gamma; do
	full=$(quota_epoch "$(sl_json "$T/events.json" "[e['time'] for e in d['events'] if e['tenant'] == '$t' and e['threshold_percent'] == 100][0]")")
	sl_log "$t: 100 % reached at +$((full - $(quota_epoch "$FAKE_NOW"))) s, the daemon ticked (every 200 ms) for" \
		"$((last_tick - full)) s more, until +$((last_tick - $(quota_epoch "$FAKE_NOW"))) s"
	sl_assert_ge $((last_tick - full)) 2 "$t: the daemon ran on for >= 2 s (10 ticks) past 100 %"
done
WANT='{"alpha/per-minute/100": 1, "alpha/per-minute/80": 1, "beta/per-minute/100": 1, "beta/per-minute/80": 1, "gamma/daily/100": 1, "gamma/daily/80": 1}'
sl_assert_eq "$(sl_json "$T/events.json" 'd["by"]')" "$WANT" \
	"events.jsonl: one event per tenant, quota and threshold"
sl_assert_eq "$(sl_json "$T/events.json" 'all(e["used"] * 100 >= e["threshold_percent"] * e["limit"] for e in d["events"])')" \
	true "every event's usage had reached its threshold"
sl_assert_eq "$(sl_json "$T/events.json" 'sorted({(e["tenant"], e["limit"]) for e in d["events"]})')" \
	"[[\"alpha\", $A_N], [\"beta\", $B_N], [\"gamma\", $G_M]]" "events: the quotas' limits"
sl_log "the alert hook got $(sl_json "$T/hook.json" 'd["n"]') events: $(sl_json "$T/hook.json" 'd["by"]')"
same=no
[ "$(sl_json "$T/hook.json" 'sorted(d["events"], key=lambda e: e["id"])')" = \
	"$(sl_json "$T/events.json" 'sorted(d["events"], key=lambda e: e["id"])')" ] && same=yes
sl_assert_eq "$same" yes "the alert hook got the same events on stdin as events.jsonl"
