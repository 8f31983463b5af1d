#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Billing on a full disk: `sluice run` keeps running and catches up, and nothing is lost.
#
# The billing directory is a 64 KiB tmpfs (the checkpoint stays on the state directory's disk).
# Two rate-limited tenants load nginx through sluice with wrk; after a few revisions are
# written, a filler file takes every free block, so appends fail with ENOSPC (some after a
# short write, into the last page's slack, that must be cut back). The daemon must log
# billing_write_failed and keep going while a billing period ends (its final revisions cannot be
# written yet). Then the filler goes: the next flushes write everything, the closed period is
# finalised and gzipped, and after the traffic stops and a SIGTERM billing.py finds per tenant
# billed = counted by the data plane exactly, and no partial line in any file.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"

http_test_setup nsenter timeout python3 nginx wrk ss bpftool mount umount dd

STATE=$T/state
BILL=$STATE/billing
FAKE0=2030-01-01T00:00:52Z # the period ends 8 s in, while the disk is full
DPID='' MOUNTED=
cleanup() {
	if [ -n "$DPID" ]; then
		sl_stop_pid "$DPID" 5
	fi
	if [ -n "$MOUNTED" ]; then
		umount "$BILL" || umount -l "$BILL"
	fi
	http_nginx_stop
}
sl_trap_cleanup cleanup

mkdir -p "$BILL" "$T/keys"
mount -t tmpfs -o size=64k,mode=0755 sluice-test-billing "$BILL"
MOUNTED=1
KA=sk-alpha-$$-6d1f00aa KB=sk-beta-$$-e5e5e5e5
printf '%s\n' "$KA" >"$T/keys/alpha.keys"
printf '%s\n' "$KB" >"$T/keys/beta.keys"
chmod 600 "$T/keys/"*.keys
cat >"$T/policy.yaml" <<YAML
version: 1
name: billing-disk
sources:
  - {name: everyone, cidr: [0.0.0.0/0, "::/0"], action: allow}
http: {ports: [8000]}
billing: {period: minutes}
plans:
  gold: {rate: 60, burst: 10, action: drop}
  silver: {rate: 25, burst: 5, action: drop}
tenants:
  - {name: alpha, plan: gold, keys_file: keys/alpha.keys}
  - {name: beta, plan: silver, keys_file: keys/beta.keys}
YAML

http_nginx_start 8000
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
SLUICE_FAKE_NOW=$FAKE0 "$SLUICE" --pin-root "$PIN" run --policy "$T/policy.yaml" \
	--state-dir "$STATE" --interval 100 --flush-interval 500 >"$T/run.log" 2>&1 &
DPID=$!
sl_track_pid "$DPID"
usage() { sl_json "$STATE/usage.json" "$1"; }
_ready() { [ "$(usage 'd["pid"]')" = "$DPID" ]; }
sl_wait_for 5 _ready || sl_fail "sluice run did not start: $(tail -5 "$T/run.log")"
WRK_PIDS=() WRK_SECS=18 # past the period's end and the disk's recovery
for k in "alpha $KA" "beta $KB"; do
	sl_spawn_ns "$CLI_NS" $((WRK_SECS + 10)) "$T/wrk.${k%% *}.out" wrk -t1 -c4 \
		-d"${WRK_SECS}s" --timeout 5s -H "X-API-Key: ${k#* }" "http://$SRV_IP4:8000/v1/models"
	WRK_PIDS+=("$SL_SPAWNED_PID")
done
sleep 2

# Every free block to the filler (dd stops at ENOSPC).
dd if=/dev/zero of="$BILL/filler" bs=4k status=none 2>/dev/null || true
sl_log "billing tmpfs full: $(df -k --output=avail "$BILL" | tail -1 | tr -d ' ') KiB free;" \
	"$(find "$BILL" -type f -printf '%f %s B, ')"
nfail() { grep -c 'event=billing_write_failed' "$T/run.log" || true; }
_failing() { [ "$(nfail)" -ge 3 ]; }
sl_wait_for 10 _failing || sl_fail "no billing_write_failed in the log: $(tail -5 "$T/run.log")"
sl_log "log: $(grep -m1 'event=billing_write_failed' "$T/run.log")"
_past() { [[ $(usage 'd["time"]') > 2030-01-01T00:01:01Z ]]; }
sl_wait_for 15 _past || sl_fail "the daemon's clock did not pass the period's end"
kill -0 "$DPID" 2>/dev/null || sl_fail "sluice run ended on a full disk: $(tail -5 "$T/run.log")"
sl_assert_ge "$(usage 'd["write_errors"]')" 3 "usage.json counts the failed writes"
sl_assert_eq "$(find "$BILL" -name '*.gz' | wc -l)" 0 \
	"the closed period is not finalised while its final revisions cannot be written"

rm -f "$BILL/filler"
GZ=$BILL/usage-2030-01-01T00:00:00Z.jsonl.gz
sl_wait_for 10 test -s "$GZ" || sl_fail "no $GZ after the disk had room again"
FAILS=$(nfail)
sl_log "disk free again after $FAILS failed writes: the closed period was finalised" \
	"($(find "$BILL" -type f -printf '%f '))"

http_traffic_stop --wait $((WRK_SECS + 10)) "${WRK_PIDS[@]}"
rc=0
sl_stop_pid "$DPID" 10 || rc=$?
sl_untrack_pid "$DPID"
DPID=
sl_assert_eq "$rc" 0 "sluice run stopped by SIGTERM exits 0"
sl_assert_eq "$(nfail)" "$FAILS" "no failed write since the disk had room"
sl_log "billed vs counted:"
python3 "$HTTP_DIR/billing.py" "$BILL" "$PIN/maps" --now "$(usage 'd["time"]')" \
	--report "$T/final.json" | while IFS= read -r l; do sl_log "  $l"; done || true
for t in alpha beta; do
	for f in requests requests_dropped; do
		sl_assert_eq "$(sl_json "$T/final.json" "d['tenants']['$t']['billed']['$f']")" \
			"$(sl_json "$T/final.json" "d['tenants']['$t']['counted']['$f']")" \
			"$t: billed $f = counted by the data plane"
	done
done
sl_assert_eq "$(sl_json "$T/final.json" 'd["partial_lines"]')" 0 "no file holds a partial line"
sl_assert_eq "$(sl_json "$T/final.json" 'd["errors"]')" "[]" "billing.py: every check passed"
