#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A hard monthly quota across a month boundary in a time zone, with nginx and curl: timezone
# Europe/Berlin, `sluice run` on an injected clock that starts at 2026-01-31T22:59:52Z (23:59:52
# in Berlin), hourly billing. Of Q + 3 requests before Berlin midnight Q are served and 3
# refused; once the daemon's clock is past 2026-01-31T23:00:00Z (February 1st in Berlin), Q
# more are served and the next one refused again (the new period's limit is Q, not what was
# left). `sluice usage --period previous` shows January with Q used; the current period starts
# at 2026-01-31T23:00:00Z. The billing period 22:00Z was finalised and compressed
# (usage-2026-01-31T22:00:00Z.jsonl.gz, every record final) with January's requests; the new
# requests are in usage-2026-01-31T23:00:00Z.jsonl.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"
# shellcheck source=tests/integration/http/quota.sh
. "$(dirname "$0")/http/quota.sh"

http_test_setup nsenter timeout python3 nginx curl ss bpftool
[ -f /usr/share/zoneinfo/Europe/Berlin ] ||
	sl_skip "/usr/share/zoneinfo/Europe/Berlin is missing (install tzdata): no time zone to cross a month in"

FAKE_NOW=2026-01-31T22:59:52Z
BOUNDARY=2026-01-31T23:00:00Z # 2026-02-01T00:00:00+01:00
JAN_START=2025-12-31T23:00:00Z
FEB_END=2026-02-28T23:00:00Z
Q=10
quota_keys delta
KD=${QKEY[delta]}

cat >"$T/policy.yaml" <<YAML
$(quota_policy_head quota-month)
timezone: Europe/Berlin
billing: {period: hours}
plans:
$(quota_plan monthly "{name: monthly, unit: months, quota: $Q, mode: hard}")
tenants:
  - {name: delta, plan: monthly, keys_file: keys/delta.keys}
YAML

http_nginx_start 8000
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
quota_run_start "$FAKE_NOW" "$T/policy.yaml" "$T/state" 1
http_keys_installed || sl_fail "sluice run installed no keys (sl_keys_v2 is empty)"

ncode() { tr ' ' '\n' <<<"$CODES" | grep -c "^$1\$" || true; }

# ------------------------------------------------------------ January (Berlin)
MARK=$(http_log_mark)
CODES=$(quota_send $((Q + 3)) "$KD")
t_jan=$(quota_daemon_time)
http_log_counts "$MARK" "$KEYMAP" >"$T/log.jan.json"
sl_log "January: $((Q + 3)) requests until $t_jan (daemon clock): $CODES"
[ "$(quota_epoch "$t_jan")" -lt "$(quota_epoch "$BOUNDARY")" ] ||
	sl_fail "the daemon's clock passed $BOUNDARY before January's requests were done ($t_jan): too slow"
sl_assert_eq "$(ncode 200)" "$Q" "January: $Q served"
sl_assert_eq "$(ncode 000)" 3 "January: 3 refused"
sl_assert_eq "$(sl_json "$T/log.jan.json" "d.get('delta', {}).get('n', 0)")" "$Q" \
	"January: nginx served $Q"

# ------------------------------------------------------------ February (Berlin)
past_boundary() { [ "$(quota_epoch "$(quota_daemon_time)")" -ge $(($(quota_epoch "$BOUNDARY") + 1)) ]; }
sl_wait_for 15 past_boundary || sl_fail "the daemon's clock did not pass $BOUNDARY + 1 s: $(quota_daemon_time)"
sl_log "the daemon's clock: $(quota_daemon_time)"
MARK=$(http_log_mark)
CODES=$(quota_send "$Q" "$KD")
sl_log "February: $Q requests: $CODES"
sl_assert_eq "$(ncode 200)" "$Q" "February: all $Q served (the quota turned)"
CODES=$(quota_send 1 "$KD")
sl_assert_eq "$CODES" 000 "February: request $((Q + 1)) refused (the new period's limit is $Q)"
http_log_counts "$MARK" "$KEYMAP" >"$T/log.feb.json"
sl_assert_eq "$(sl_json "$T/log.feb.json" "d.get('delta', {}).get('n', 0)")" "$Q" \
	"February: nginx served $Q"
http_tenants "$T/ten.json"
sl_log "delta: sluice req_pass $(sl_json "$T/ten.json" "d['tenants']['delta']['req_pass']")" \
	"req_quota $(sl_json "$T/ten.json" "d['tenants']['delta']['req_quota']")"
sl_assert_eq "$(sl_json "$T/ten.json" "d['tenants']['delta']['req_pass']")" $((2 * Q)) \
	"delta: sluice's req_pass = $Q + $Q"

quota_usage "$T/usage.cur.json"
quota_usage "$T/usage.prev.json" --period previous
for p in prev cur; do
	sl_log "usage ($p): $(sl_json "$T/usage.$p.json" "[(q['period_start'], q['period_end'], q['used'], q['limit'], q['remaining']) for q in d['quotas']]")"
done
sl_assert_eq "$(quota_u "$T/usage.prev.json" delta period_start)" "$JAN_START" \
	"usage --period previous: January starts at Berlin midnight"
sl_assert_eq "$(quota_u "$T/usage.prev.json" delta period_end)" "$BOUNDARY" \
	"usage --period previous: January ends at Berlin midnight"
sl_assert_eq "$(quota_u "$T/usage.prev.json" delta used)" "$Q" "usage --period previous: January's used"
sl_assert_eq "$(quota_u "$T/usage.cur.json" delta period_start)" "$BOUNDARY" \
	"usage: the current period starts at $BOUNDARY"
sl_assert_eq "$(quota_u "$T/usage.cur.json" delta period_end)" "$FEB_END" \
	"usage: the current period ends at $FEB_END"
sl_assert_eq "$(quota_u "$T/usage.cur.json" delta used)" "$Q" "usage: February's used"
sl_assert_eq "$(quota_u "$T/usage.cur.json" delta remaining)" 0 "usage: February's remaining"
# A time picks the period holding it: mid-January (Berlin) is January, mid-February February.
quota_usage "$T/usage.jan.json" --period 2026-01-15T12:00:00+01:00
sl_assert_eq "$(quota_u "$T/usage.jan.json" delta period_start)" "$JAN_START" \
	"usage --period 2026-01-15T12:00:00+01:00: January"
sl_assert_eq "$(quota_u "$T/usage.jan.json" delta used)" "$Q" "usage --period (January): used"
quota_usage "$T/usage.feb.json" --period 2026-02-10T00:00:00Z
sl_assert_eq "$(quota_u "$T/usage.feb.json" delta period_start)" "$BOUNDARY" \
	"usage --period 2026-02-10T00:00:00Z: February"

# ------------------------------------------------------------ billing files
rc=0
sl_stop_pid "$RUN_PID" 10 || rc=$?
sl_assert_eq "$rc" 0 "sluice run exited 0 on SIGTERM"
sl_log "daemon: $(grep -E 'billing_period_closed|event=stop' "$T/run.log" | tr '\n' ' ')"
B=$T/state/billing
sl_log "billing files: $(cd "$B" && echo *)"
OLD=$B/usage-2026-01-31T22:00:00Z.jsonl
NEW=$B/usage-2026-01-31T23:00:00Z.jsonl
[ -f "$OLD.gz" ] || sl_fail "no $(basename "$OLD").gz after the boundary"
[ ! -e "$OLD" ] || sl_fail "$(basename "$OLD") is still there beside its .gz"
[ -f "$NEW" ] || sl_fail "no $(basename "$NEW")"
quota_py billing "$OLD.gz" >"$T/bill.old.json"
quota_py billing "$NEW" >"$T/bill.new.json"
for f in old new; do
	sl_log "billing $f: $(sl_json "$T/bill.$f.json" '[(n, v["records"], v["final"], v["tenants"]) for n, v in d["files"].items()]')"
done
sl_assert_ge "$(sl_json "$T/bill.old.json" '[v["records"] for v in d["files"].values()][0]')" 1 \
	"$(basename "$OLD").gz has records"
sl_assert_eq "$(sl_json "$T/bill.old.json" 'all(v["final"] == v["records"] for v in d["files"].values())')" \
	true "$(basename "$OLD").gz: every record final"
sl_assert_eq "$(sl_json "$T/bill.old.json" "d['tenants']['delta']['requests']")" "$Q" \
	"$(basename "$OLD").gz: January's $Q requests"
sl_assert_ge "$(sl_json "$T/bill.old.json" "d['tenants']['delta']['requests_quota']")" 3 \
	"$(basename "$OLD").gz: January's refusals by the quota"
sl_assert_eq "$(sl_json "$T/bill.new.json" "d['tenants']['delta']['requests']")" "$Q" \
	"$(basename "$NEW"): February's $Q requests"
