#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A rolling window against real traffic: a hard quota of Q = 10 requests in the last minute
# (window: rolling: 60 slices of 1 s). 6 requests at t0 are served; at t0 + 20 s 4 of 6 are
# (10 in the window); at t0 + 63 s the first 6 have left the window and 6 of 8 are served again
# (the 4 from t0 + 20 s are still in it). nginx's access log and sluice's req_pass agree, and
# `sluice usage` shows the window full. Takes about 70 s: a window has to pass.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"
# shellcheck source=tests/integration/http/quota.sh
. "$(dirname "$0")/http/quota.sh"

http_test_setup nsenter timeout python3 nginx curl ss bpftool

Q=10
quota_keys rho
KR=${QKEY[rho]}
cat >"$T/policy.yaml" <<YAML
$(quota_policy_head quota-rolling)
plans:
$(quota_plan sliding "{name: last-minute, unit: minutes, window: rolling, quota: $Q, mode: hard}")
tenants:
  - {name: rho, plan: sliding, keys_file: keys/rho.keys}
YAML

http_nginx_start 8000
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
quota_run_start 2026-03-10T12:00:00Z "$T/policy.yaml" "$T/state" 1
MARK=$(http_log_mark)
served() { tr ' ' '\n' <<<"$1" | grep -c '^200$' || true; }
wait_until() { # SECONDS since t0 by the wall clock
	while [ "$(date +%s)" -lt $((T0 + $1)) ]; do sleep 0.1; done
}

T0=$(date +%s)
got=$(quota_send 6 "$KR")
sl_log "t0: 6 requests: $got"
sl_assert_eq "$(served "$got")" 6 "t0: 6 of 6 served (the window is empty)"
wait_until 20
got=$(quota_send 6 "$KR")
sl_log "t0 + 20 s: 6 requests: $got"
sl_assert_eq "$(served "$got")" 4 "t0 + 20 s: 4 of 6 served (10 in the window)"
wait_until 40
got=$(quota_send 2 "$KR")
sl_assert_eq "$(served "$got")" 0 "t0 + 40 s: the window is still full"
# The first 6 were admitted within t0 .. t0 + 2 s: out of the window from t0 + 62 s.
wait_until 63
got=$(quota_send 8 "$KR")
sl_log "t0 + 63 s: 8 requests: $got"
sl_assert_eq "$(served "$got")" 6 "t0 + 63 s: 6 of 8 served (the t0 requests left the window)"
sleep 0.5
quota_usage "$T/usage.json"
sl_log "usage: $(sl_json "$T/usage.json" '[(q["quota"], q["used"], q["limit"], q["period_start"], q["period_end"]) for q in d["quotas"]]')"
sl_assert_eq "$(quota_u "$T/usage.json" rho used)" "$Q" "usage: the window holds $Q"
sl_assert_eq "$(quota_u "$T/usage.json" rho remaining)" 0 "usage: nothing remains"

http_log_counts "$MARK" "$KEYMAP" 100 >"$T/log.json"
http_tenants "$T/tenants.json"
sl_assert_eq "$(sl_json "$T/log.json" 'd["rho"]["n"]')" 16 "nginx served 6 + 4 + 6"
sl_assert_eq "$(sl_json "$T/tenants.json" 'd["tenants"]["rho"]["req_pass"]')" 16 \
	"sluice admitted 16 (req_pass)"
