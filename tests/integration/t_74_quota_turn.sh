#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The data plane turns a quota period by itself, with the controller stopped: a hard quota of 5
# per minute, `sluice run` on an injected clock from 12:00:56. 5 of 6 requests are served; the
# daemon is stopped (SIGSTOP) before its clock reaches 12:01:00; once that instant has passed
# (by the daemon's clock), 5 of 6 requests are served again: the data plane switched to the
# next period's tag and limit at the end it was given (bpf/quota.bpf.h), not waiting for the
# controller. After SIGCONT the controller catches up: `sluice usage` shows 12:00 with 5 used
# and the current period from 12:01:00 with 5 used.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"
# shellcheck source=tests/integration/http/quota.sh
. "$(dirname "$0")/http/quota.sh"

http_test_setup nsenter timeout python3 nginx curl ss bpftool
RUN_DAEMON_PID=
cleanup() { # a stopped daemon would not act on the trap's SIGTERM
	[ -z "$RUN_DAEMON_PID" ] || kill -CONT "$RUN_DAEMON_PID" 2>/dev/null || true
	http_nginx_stop
}
sl_trap_cleanup cleanup

FAKE_NOW=2026-03-10T12:00:56Z
PREV=2026-03-10T12:00:00Z
BOUNDARY=2026-03-10T12:01:00Z
N=5
quota_keys eps
KE=${QKEY[eps]}

cat >"$T/policy.yaml" <<YAML
$(quota_policy_head quota-turn)
plans:
$(quota_plan minute "{name: per-minute, unit: minutes, quota: $N, mode: hard}")
tenants:
  - {name: eps, plan: minute, keys_file: keys/eps.keys}
YAML

http_nginx_start 8000
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
quota_run_start "$FAKE_NOW" "$T/policy.yaml" "$T/state" 1
# The daemon's clock started before it was ready: it reaches the boundary at most this late.
boundary_by=$(($(date +%s%N) + ($(quota_epoch "$BOUNDARY") - $(quota_epoch "$FAKE_NOW")) * 1000000000))

MARK=$(http_log_mark)
got=$(quota_send $((N + 1)) "$KE")
kill -STOP "$RUN_DAEMON_PID"
stopped_at=$(quota_daemon_time)
sl_log "12:00: $((N + 1)) requests: $got; daemon stopped, its last tick at $stopped_at"
[ "$(quota_epoch "$stopped_at")" -lt "$(quota_epoch "$BOUNDARY")" ] ||
	sl_fail "the daemon's clock reached $BOUNDARY before it was stopped ($stopped_at): too slow"
sl_assert_eq "$got" "$(printf '200 %.0s' $(seq "$N"))000" "12:00: $N served, the next refused"

# Past the boundary by the daemon's clock (+ 0.3 s), the daemon still stopped.
while [ "$(date +%s%N)" -lt $((boundary_by + 300000000)) ]; do
	sleep 0.05
done
got=$(quota_send $((N + 1)) "$KE")
sl_log "12:01, daemon stopped: $((N + 1)) requests: $got"
sl_assert_eq "$got" "$(printf '200 %.0s' $(seq "$N"))000" \
	"12:01, daemon stopped: $N served (the data plane turned the period), the next refused"
sl_assert_eq "$(quota_daemon_time)" "$stopped_at" "the daemon did not tick meanwhile"
http_log_counts "$MARK" "$KEYMAP" >"$T/log.json"
sl_assert_eq "$(sl_json "$T/log.json" "d.get('eps', {}).get('n', 0)")" $((2 * N)) "nginx served $N + $N"

kill -CONT "$RUN_DAEMON_PID"
caught_up() { [ "$(quota_u "$QUOTA_STATE/usage.json" eps period_start)" = "$BOUNDARY" ]; }
sl_wait_for 5 caught_up || sl_fail "the daemon did not turn the period after SIGCONT"
quota_usage "$T/usage.cur.json"
quota_usage "$T/usage.prev.json" --period previous
for p in prev cur; do
	sl_log "usage ($p): $(sl_json "$T/usage.$p.json" "[(q['period_start'], q['used'], q['limit'], q['live']) for q in d['quotas']]")"
done
sl_assert_eq "$(quota_u "$T/usage.cur.json" eps period_start)" "$BOUNDARY" "usage: the period from $BOUNDARY"
sl_assert_eq "$(quota_u "$T/usage.cur.json" eps used)" "$N" "usage: 12:01's used (counted by the data plane alone)"
sl_assert_eq "$(quota_u "$T/usage.prev.json" eps period_start)" "$PREV" \
	"usage --period previous: the minute before"
rc=0
sl_stop_pid "$RUN_PID" 10 || rc=$?
sl_assert_eq "$rc" 0 "sluice run exited 0 on SIGTERM"
# The closed period keeps what it counted, although the data plane's counter moved on to the
# next period before the controller read it.
sl_assert_eq "$(quota_u "$T/usage.prev.json" eps used)" "$N" "usage --period previous: 12:00's used"
