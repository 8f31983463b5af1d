#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Billing across a purge and re-attach, a crash that left a partial line, and a second daemon.
#
# One tenant (alpha, one key, a plan far above the load: nothing refused) sends requests with
# curl, counted in the access log of nginx too. `sluice run` on an injected clock (an hour-long
# billing period that does not end during the test), --interval 100 --flush-interval 300:
#   a. N requests, billed (a flush read them: billed = counted), `sluice purge`, `sluice attach`
#      again: new maps. The daemon finds them by itself (event=maps_renewed), applies its policy
#      to them (keys in the new sl_keys_v2), M more requests; after SIGTERM the highest revisions
#      bill N + M and the new maps count M. (What is counted between the daemon's last read and
#      the purge is lost with the maps, docs/billing.md: no request is sent in that window.)
#   b. Restart, K1 requests billed, SIGKILL, K2 requests while it is down, a partial line
#      appended to the open period's .jsonl (a crash mid-append). The next start cuts it off
#      (event=billing_file_repaired), every line parses, no partial line is left.
#   c. A second `sluice run` on the same --state-dir is refused (exit 1, the first's pid named);
#      the first keeps running. K3 more requests, SIGTERM: billing.py finds every counter billed
#      = the N of the purged maps + what the data plane counts now, exactly, and the access log
#      agrees: N + M + K1 + K2 + K3 requests billed.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"

http_test_setup nsenter timeout python3 nginx curl ss bpftool

N=40 M=23 K1=11 K2=7 K3=5
FAKE0=2030-01-01T00:10:00Z # the period 00:00-01:00 stays open
FAKE0_S=$(date -u -d "$FAKE0" +%s)
STATE=$T/state
BILL=$STATE/billing
KA=sk-alpha-$$-3e8a61d2
mkdir -p "$T/keys"
printf '%s\n' "$KA" >"$T/keys/alpha.keys"
chmod 600 "$T/keys/alpha.keys"
KEYMAP="{\"$KA\": \"alpha\"}"
cat >"$T/policy.yaml" <<YAML
version: 1
name: billing-purge
sources:
  - {name: everyone, cidr: [0.0.0.0/0, "::/0"], action: allow}
http: {ports: [8000]}
billing: {period: hours, csv: true}
plans:
  gold: {rate: 100000, burst: 100000, action: drop}
tenants:
  - {name: alpha, plan: gold, keys_file: keys/alpha.keys}
YAML

http_nginx_start 8000
sl_sluice --netns "$SRV_NS" attach "$SRV_IF" >/dev/null
MARK=$(http_log_mark)

# daemon_start: `sluice run` in the background (DPID, tracked; its log LOG = $T/run.RUNS.log),
# returns once its loop runs. Its clock: FAKE0 + the real seconds since the first start + 2 s
# per restart (never behind the clock of the daemon before).
DPID='' LOG='' RUNS=0 T0_S=
daemon_start() {
	local fake
	RUNS=$((RUNS + 1))
	T0_S=${T0_S:-$(date +%s)}
	fake=$(date -u -d "@$((FAKE0_S + $(date +%s) - T0_S + 2 * (RUNS - 1)))" +%Y-%m-%dT%H:%M:%SZ)
	LOG=$T/run.$RUNS.log
	SLUICE_FAKE_NOW=$fake "$SLUICE" --pin-root "$PIN" run --policy "$T/policy.yaml" \
		--state-dir "$STATE" --interval 100 --flush-interval 300 >"$LOG" 2>&1 &
	DPID=$!
	sl_track_pid "$DPID"
	sl_wait_for 5 _ready || daemon_fail "does not run its loop"
}
_ready() { [ "$(sl_json "$STATE/usage.json" 'd["pid"]')" = "$DPID" ]; }

daemon_fail() {
	sl_fail "sluice run (pid $DPID) $1; its log ends: $(tail -n 8 "$LOG")"
}

# daemon_term: SIGTERM, it must exit 0; NOW = its clock at its last round.
daemon_term() {
	local rc=0
	sl_stop_pid "$DPID" 10 || rc=$?
	sl_untrack_pid "$DPID"
	sl_assert_eq "$rc" 0 "run $RUNS: sluice run stopped by SIGTERM exits 0"
	NOW=$(sl_json "$STATE/usage.json" 'd["time"]')
}

logn() { grep -c "$1" "$LOG" || true; }
_more() { [ "$(logn "$1")" -gt "$2" ]; }

# send COUNT: COUNT requests with alpha's key on one connection, all must be served; then the
# client's sockets are reset and the counters left to settle.
send() {
	local i args=() codes
	for ((i = 0; i < $1; i++)); do
		args+=(-o /dev/null "http://$SRV_IP4:8000/v1/models?n=$i")
	done
	codes=$(http_curl -w '%{http_code}\n' -H "X-API-Key: $KA" "${args[@]}" | grep -c '^200$' ||
		true)
	sl_assert_eq "$codes" "$1" "$1 requests served"
	http_traffic_stop
}

# report OUT [ARGS...]: billing.py on the files and the pinned maps, its lines into the test log.
report() {
	local out=$1
	shift
	rm -f "$out"
	python3 "$HTTP_DIR/billing.py" "$BILL" "$PIN/maps" --report "$out" "$@" >"$out.log" || true
}
show() { # a final report in the test log
	sl_log "billing.py (its ERROR lines on alpha's counters are expected after the purge: the" \
		"$N requests of the purged maps are billed, no longer counted; offset_errors checks them):"
	sed 's/^/#   /' "$1.log"
}
r() { sl_json "$1" "$2"; }
billed() { r "$1" "d['tenants'].get('alpha', {}).get('billed', {}).get('requests', 0)"; }
counted() { r "$1" "d['tenants'].get('alpha', {}).get('counted', {}).get('requests', 0)"; }

# _billed_is EXPECTED [OFFSET_REPORT]: a flush wrote the requests; every counter billed =
# counted by the data plane (+ what OFFSET_REPORT billed from the maps purged since).
_billed_is() {
	report "$T/wait.json" --transient
	[ "$(billed "$T/wait.json")" = "$1" ] && [ "$(offset_errors "$T/wait.json" "${2:-}")" = "[]" ]
}

_OFFSET_PY=$(cat <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
old = json.load(open(sys.argv[2]))["tenants"]["alpha"]["billed"] if sys.argv[2] else {}
a = d["tenants"].get("alpha", {"billed": {}, "counted": {}})
bad = ["alpha: billed %s %d, expected %d (counted now) + %d (purged maps)" % (f, b, a["counted"][f],
       old.get(f, 0)) for f, b in sorted(a["billed"].items()) if b != a["counted"][f] + old.get(f, 0)]
# billing.py's own comparison of alpha's counters is replaced by the one above.
bad += [e for e in d["errors"] if not re.match(r"alpha: billed \w+ \d+, the data plane counted", e)]
print(json.dumps(bad))
EOF
)
# offset_errors REPORT [OFFSET_REPORT]: billing.py's errors, with alpha's counters checked
# against the data plane + what OFFSET_REPORT billed (the purged maps' counts), as JSON.
offset_errors() {
	python3 -c "$_OFFSET_PY" "$1" "${2:-}"
}

# ---- a. purge and re-attach under the running daemon
daemon_start
http_keys_installed || sl_fail "the daemon's policy installed no keys"
send "$N"
sl_wait_for 5 _billed_is "$N" || sl_fail "the first $N requests were not billed: $(cat "$T/wait.json.log")"
cp "$T/wait.json" "$T/purged.json" # what the old maps counted, all billed
sl_log "before the purge: billed $(billed "$T/purged.json") = counted $(counted "$T/purged.json")"
map_id() { r "$(bpftool -j map show pinned "$PIN/maps/sl_tstats_v3")" 'd["id"]'; }
OLD_ID=$(map_id) APPLIED=$(logn event=policy_applied)
sl_sluice purge >/dev/null
[ ! -e "$PIN/maps" ] || sl_fail "purge left $PIN/maps"
sleep 0.5 # the daemon keeps reading the old maps meanwhile
kill -0 "$DPID" 2>/dev/null || daemon_fail "ended after the purge"
sl_sluice --netns "$SRV_NS" attach "$SRV_IF" >/dev/null
NEW_ID=$(map_id)
[ "$NEW_ID" != "$OLD_ID" ] || sl_fail "attach after purge kept the map id $OLD_ID"
sl_wait_for 5 grep -q event=maps_renewed "$LOG" || daemon_fail "did not notice the new maps"
sl_wait_for 5 _more event=policy_applied "$APPLIED" ||
	daemon_fail "did not apply its policy to the new maps"
sl_wait_for 5 http_keys_installed || daemon_fail "installed no key in the new sl_keys_v2"
sl_log "maps $OLD_ID -> $NEW_ID: $(grep -m1 event=maps_renewed "$LOG")"
send "$M"
sl_wait_for 5 _billed_is $((N + M)) "$T/purged.json" ||
	sl_fail "not billed: $N + $M requests: $(cat "$T/wait.json.log")"
daemon_term
report "$T/a.json" --now "$NOW"
show "$T/a.json"
sl_assert_eq "$(billed "$T/a.json")" $((N + M)) "purge: alpha billed $N + $M requests"
sl_assert_eq "$(counted "$T/a.json")" "$M" "purge: the new maps counted the $M after it"
sl_assert_eq "$(offset_errors "$T/a.json" "$T/purged.json")" "[]" \
	"purge: every counter billed = purged maps' + new maps'; billing.py's other checks pass"
sl_assert_eq "$(logn event=maps_renewed)" 1 "purge: maps renewed once"
sl_assert_eq "$(logn level=error)" 0 "purge: no error in the daemon's log"

# ---- b. a partial line from a crash is cut off at the next start
daemon_start
send "$K1"
sl_wait_for 5 _billed_is $((N + M + K1)) "$T/purged.json" ||
	sl_fail "not billed: $K1 more requests: $(cat "$T/wait.json.log")"
kill -KILL "$DPID"
rc=0
wait "$DPID" 2>/dev/null || rc=$?
sl_untrack_pid "$DPID"
sl_assert_eq "$rc" 137 "run $RUNS: killed by SIGKILL"
send "$K2" # counted by the data plane while no daemon runs
FILES=("$BILL"/usage-*.jsonl)
sl_assert_eq "${#FILES[@]}" 1 "one open billing file"
F=${FILES[0]}
[ "$(tail -c 1 "$F" | od -An -c | tr -d ' ')" = '\n' ] || sl_fail "$F already ends in a partial line"
SIZE=$(stat -c %s "$F")
PARTIAL='{"id":"abc",'
printf '%s' "$PARTIAL" >>"$F"
sl_log "appended ${#PARTIAL} bytes without a newline to $(basename "$F") ($SIZE bytes)"
daemon_start
sl_wait_for 5 grep -q event=billing_file_repaired "$LOG" || daemon_fail "did not repair $F"
sl_log "$(grep -m1 event=billing_file_repaired "$LOG")"
grep -q "event=billing_file_repaired path=$F cut_bytes=${#PARTIAL} " "$LOG" ||
	sl_fail "the repair is not of $F, ${#PARTIAL} bytes: $(grep event=billing_file_repaired "$LOG")"
echo "ok: repaired: $F, ${#PARTIAL} bytes cut"
sl_assert_eq "$(grep -c '"abc"' "$F" || true)" 0 "repaired: the partial line is gone"
sl_wait_for 5 _billed_is $((N + M + K1 + K2)) "$T/purged.json" ||
	sl_fail "not billed: $K2 requests sent while the daemon was down: $(cat "$T/wait.json.log")"
sl_assert_eq "$(r "$T/wait.json" 'd["partial_lines"]')" 0 "repaired: no partial line in any file"
sl_assert_eq "$(r "$T/wait.json" '[e for e in d["errors"] if "not JSON" in e or "not a usage" in e]')" \
	"[]" "repaired: every line parses as a usage record"
sl_assert_ge "$(stat -c %s "$F")" "$SIZE" "repaired: the lines before the partial one are kept"

# ---- c. a second daemon on the same state directory
rc=0
SLUICE_FAKE_NOW=$FAKE0 timeout --foreground -k 2 10 "$SLUICE" --pin-root "$PIN" run --policy "$T/policy.yaml" \
	--state-dir "$STATE" --interval 100 --flush-interval 300 >"$T/second.out" 2>&1 || rc=$?
sl_log "second daemon: exit $rc: $(cat "$T/second.out")"
sl_assert_eq "$rc" 1 "a second sluice run on $STATE exits 1"
grep -q "pid $DPID\b" "$T/second.out" || sl_fail "the refusal does not name pid $DPID"
echo "ok: the refusal names the running daemon's pid $DPID"
sl_assert_eq "$(cat "$STATE/lock")" "$DPID" "the lock still holds the first daemon's pid"
T1=$(r "$STATE/usage.json" 'd["time"]')
_ticks() { kill -0 "$DPID" && [[ $(r "$STATE/usage.json" 'd["time"]') > $T1 ]]; }
sl_wait_for 5 _ticks || daemon_fail "stopped running after the second one was refused"
echo "ok: the first daemon keeps running"
# A broken policy on SIGHUP: logged with file:line, the running policy (and billing) stay.
cp "$T/policy.yaml" "$T/policy.good"
printf 'plans:\n  gold: {rate: 0}\n' >>"$T/policy.yaml"
hups=$(logn policy_invalid)
kill -HUP "$DPID"
sl_wait_for 5 _more policy_invalid "$hups" || daemon_fail "logged no policy_invalid after SIGHUP"
line=$(grep policy_invalid "$LOG" | tail -n 1)
sl_log "SIGHUP with a broken policy: $line"
[[ $line == *"policy.yaml:"[0-9]*": "* && $line == *action=kept_running_policy* ]] ||
	sl_fail "the policy error names no file:line or does not keep the running policy: $line"
kill -0 "$DPID" || daemon_fail "exited on a broken policy"
cp "$T/policy.good" "$T/policy.yaml"
send "$K3"
sl_wait_for 5 _billed_is $((N + M + K1 + K2 + K3)) "$T/purged.json" ||
	sl_fail "not billed: $K3 more requests: $(cat "$T/wait.json.log")"
daemon_term
report "$T/final.json" --now "$NOW"
show "$T/final.json"
TOTAL=$((N + M + K1 + K2 + K3))
sl_assert_eq "$(billed "$T/final.json")" "$TOTAL" "alpha billed $N + $M + $K1 + $K2 + $K3 requests"
sl_assert_eq "$(offset_errors "$T/final.json" "$T/purged.json")" "[]" \
	"every counter billed = purged maps' + the data plane's; billing.py's other checks pass"
sl_assert_eq "$(r "$T/final.json" 'd["partial_lines"]')" 0 "no file holds a partial line"
http_log_counts "$MARK" "$KEYMAP" >"$T/log.json"
sl_assert_eq "$(r "$T/log.json" "d.get('alpha', {}).get('n', 0)")" "$TOTAL" \
	"nginx served alpha $TOTAL requests: as many as billed"
for i in $(seq 2 "$RUNS"); do
	sl_assert_eq "$(grep level=error "$T/run.$i.log" | grep -vc event=policy_invalid || true)" 0 \
		"run $i: no error in its log (but the broken policy's)"
done
# The CSV beside the JSON Lines (billing: {csv: true}) holds the same revisions: the highest of
# each id there bills the same requests.
csv_billed=$(python3 - "$BILL" <<'PY'
import csv, glob, gzip, sys
best = {}
for f in glob.glob(sys.argv[1] + "/usage-*.csv") + glob.glob(sys.argv[1] + "/usage-*.csv.gz"):
    op = gzip.open if f.endswith(".gz") else open
    with op(f, "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["id"] not in best or int(row["revision"]) > int(best[row["id"]]["revision"]):
                best[row["id"]] = row
print(sum(int(r["requests"]) for r in best.values() if r["tenant"] == "alpha"))
PY
)
sl_assert_eq "$csv_billed" "$TOTAL" "the CSV's highest revisions bill alpha $TOTAL requests too"
