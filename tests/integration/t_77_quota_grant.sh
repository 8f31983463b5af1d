#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `sluice quota grant` and `sluice quota reset` through a running `sluice run`, against nginx:
# a hard quota of Q = 5 a day. 5 of 6 requests are served; a grant of 3 answers "ok" and 3 of 4
# more are served (usage: limit 8, used 8); a reset answers "ok" and the count starts over
# (limit 5 again: credits end with a reset); commands naming an unknown tenant or quota fail
# with a message. With the daemon stopped, a grant is queued and applies when it starts.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"
# shellcheck source=tests/integration/http/quota.sh
. "$(dirname "$0")/http/quota.sh"

http_test_setup nsenter timeout python3 nginx curl ss bpftool

Q=5
quota_keys kappa
KK=${QKEY[kappa]}
cat >"$T/policy.yaml" <<YAML
$(quota_policy_head quota-grant)
plans:
$(quota_plan daily "{name: per-day, unit: days, quota: $Q, mode: hard, alert_at: [100], labels: {kind: trial}}")
tenants:
  - {name: kappa, plan: daily, keys_file: keys/kappa.keys}
YAML

http_nginx_start 8000
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
quota_run_start 2026-05-04T09:00:00Z "$T/policy.yaml" "$T/state" 1
MARK=$(http_log_mark)
served() { tr ' ' '\n' <<<"$1" | grep -c '^200$' || true; }
q() { sl_sluice quota "$@" --state-dir "$QUOTA_STATE"; }
usage_is() { # USED LIMIT: what `sluice usage` shows for kappa
	quota_usage "$T/u.json"
	[ "$(quota_u "$T/u.json" kappa used)" = "$1" ] && [ "$(quota_u "$T/u.json" kappa limit)" = "$2" ]
}

got=$(quota_send $((Q + 1)) "$KK")
sl_assert_eq "$(served "$got")" "$Q" "$Q of $((Q + 1)) served"
ev() { python3 -c 'import json,sys; print([(e["quota"], e["threshold_percent"], e["labels"]) for e in map(json.loads, open(sys.argv[1]))])' "$QUOTA_STATE/events.jsonl"; }
sl_wait_for 3 test -s "$QUOTA_STATE/events.jsonl" || sl_fail "no alert at 100 %"
sl_assert_eq "$(ev)" "[('per-day', 100, {'kind': 'trial'})]" "one alert at 100 %, with the quota's labels"
out=$(q grant kappa 3)
sl_log "quota grant kappa 3: $out"
[[ $out == ok:* ]] || sl_fail "quota grant did not answer ok: $out"
got=$(quota_send 4 "$KK")
sl_assert_eq "$(served "$got")" 3 "after a grant of 3: 3 of 4 served"
sl_wait_for 3 usage_is 8 8 || sl_fail "usage after the grant: $(cat "$T/u.json")"
echo "ok: usage shows used 8 of a limit of 8"

out=$(q reset kappa per-day)
sl_log "quota reset kappa per-day: $out"
[[ $out == ok:* ]] || sl_fail "quota reset did not answer ok: $out"
got=$(quota_send $((Q + 1)) "$KK")
sl_assert_eq "$(served "$got")" "$Q" "after the reset: $Q of $((Q + 1)) served (credits ended)"
sl_wait_for 3 usage_is "$Q" "$Q" || sl_fail "usage after the reset: $(cat "$T/u.json")"
echo "ok: usage shows used $Q of $Q after the reset"

rc=0
out=$(q grant nobody 3 2>&1) || rc=$?
sl_log "quota grant nobody 3: exit $rc: $out"
sl_assert_eq "$rc" 1 "a grant for an unknown tenant exits 1"
[[ $out == *'tenant "nobody" has no quota'* ]] || sl_fail "no clear message: $out"
rc=0
out=$(q reset kappa weekly 2>&1) || rc=$?
sl_assert_eq "$rc" 1 "a reset of an unknown quota exits 1"
rc=0
out=$(q grant kappa -4 2>&1) || rc=$?
sl_assert_eq "$rc" 2 "a grant of -4 units is a usage error"

# The daemon stopped: the grant waits in the inbox and applies at the next start.
rc=0
sl_stop_pid "$RUN_PID" 10 || rc=$?
sl_untrack_pid "$RUN_PID"
sl_assert_eq "$rc" 0 "sluice run exits 0 on SIGTERM"
out=$(q grant kappa 2)
sl_log "quota grant kappa 2 (no daemon): $out"
[[ $out == *"is queued"* ]] || sl_fail "the grant without a daemon does not say it is queued: $out"
quota_run_start 2026-05-04T09:00:30Z "$T/policy.yaml" "$T/state" 1
sl_wait_for 5 usage_is "$Q" $((Q + 2)) || sl_fail "the queued grant did not apply: $(cat "$T/u.json")"
echo "ok: the queued grant applied at the start: limit $((Q + 2))"
got=$(quota_send 3 "$KK")
sl_assert_eq "$(served "$got")" 2 "2 of 3 served on the queued credits"
http_log_counts "$MARK" "$KEYMAP" >"$T/log.json"
sl_assert_eq "$(sl_json "$T/log.json" "d.get('kappa', {}).get('n', 0)")" $((Q + 3 + Q + 2)) \
	"nginx served $Q + 3 + $Q + 2"
