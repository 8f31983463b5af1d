#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Billing files survive crashes of `sluice run`: nothing lost, nothing billed twice.
#
# Three tenants on rate-limited plans (some requests refused) load nginx through sluice with wrk
# for the whole test. The daemon (--interval 100 --flush-interval 200, one-minute billing
# periods, its clock injected a few seconds before a minute so that a period ends, is finalised
# and gzipped while it is being killed) is SIGKILLed $KILLS times at random instants, 0.1-1.5 s
# after each start, and restarted on the same state directory with its clock where it would be
# (SLUICE_FAKE_NOW = the first start's + the real seconds since, whole seconds, so it never goes
# back). While it runs: one SIGHUP after beta's plan changed in the policy file, one `sluice
# detach` + `sluice attach` of the interface. After each kill, the files as they are must already
# be sound (billing.py --transient: whole lines parse, one content per id and revision, nothing
# billed beyond the counters). At the end (traffic stopped, retransmissions over, SIGTERM):
# billing.py checks every line of every file, highest revision per id, per tenant billed =
# counted by the data plane exactly (requests, requests_dropped and the other counters), closed
# periods .jsonl.gz only and final, beta's record split by plan. SL_SEED=N replays a run's kill
# instants (the seed is logged), SL_KILLS=N changes their number.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"

http_test_setup nsenter timeout python3 nginx wrk ss bpftool

KILLS=${SL_KILLS:-22}
SEED=${SL_SEED:-$(($(date +%s) % 100000))}
RANDOM=$SEED
HUP_AT=$((KILLS / 3))            # the start that gets the SIGHUP
DETACH_AT=$((2 * KILLS / 3))     # the start during which the interface is detached
FAKE0=2030-01-01T00:00:55Z       # a period ends 5 s into the run
FAKE0_S=$(date -u -d "$FAKE0" +%s)
LOAD_SECS=$((3 * KILLS + 20))    # an upper bound: wrk is stopped once the checks are due
STATE=$T/state
BILL=$STATE/billing
sl_log "seed $SEED (replay with SL_SEED=$SEED), $KILLS kills, SIGHUP at start $HUP_AT," \
	"detach at start $DETACH_AT, fake clock from $FAKE0"

mkdir -p "$T/keys"
KA1=sk-alpha-$$-5a1d0c9e KA2=sk-alpha-$$-77b3e210 KB=sk-beta-$$-c0ffee11 KC=sk-gamma-$$-0badf00d
printf '%s\n%s\n' "$KA1" "$KA2" >"$T/keys/alpha.keys"
printf '%s\n' "$KB" >"$T/keys/beta.keys"
printf '%s\n' "$KC" >"$T/keys/gamma.keys"
chmod 600 "$T/keys/"*.keys

policy() { # BETA_PLAN: the policy file, replaced atomically (a start may read it any time)
	cat >"$T/policy.yaml.new" <<YAML
version: 1
name: billing-crash
sources:
  - {name: everyone, cidr: [0.0.0.0/0, "::/0"], action: allow}
http: {ports: [8000]}
billing: {period: minutes}
plans:
  gold: {rate: 60, burst: 10, action: drop}
  silver: {rate: 25, burst: 5, action: drop}
  bronze: {rate: 10, burst: 5, action: drop}
tenants:
  - {name: alpha, plan: gold, keys_file: keys/alpha.keys}
  - {name: beta, plan: $1, keys_file: keys/beta.keys}
  - {name: gamma, plan: bronze, keys_file: keys/gamma.keys}
YAML
	mv "$T/policy.yaml.new" "$T/policy.yaml"
}
policy silver

http_nginx_start 8000
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"

now_us() { echo "${EPOCHREALTIME/./}"; }
T0_US=

# daemon_start: start `sluice run` in the background (DPID, tracked). The first start sets the
# clock to FAKE0; a restart waits for the next whole second of real time since the first and
# starts the clock at FAKE0 + those seconds: the killed daemon's clock was behind that.
DPID=
daemon_start() {
	local el sec=0 fake
	if [ -z "$T0_US" ]; then
		T0_US=$(now_us)
	else
		el=$(($(now_us) - T0_US))
		sec=$(((el + 999999) / 1000000))
		sleep "0.$(printf '%06d' $((sec * 1000000 - el)))" # < 1 s
	fi
	fake=$(date -u -d "@$((FAKE0_S + sec))" +%Y-%m-%dT%H:%M:%SZ)
	SLUICE_FAKE_NOW=$fake "$SLUICE" --pin-root "$PIN" run --policy "$T/policy.yaml" \
		--state-dir "$STATE" --interval 100 --flush-interval 200 >>"$T/run.log" 2>&1 &
	DPID=$!
	sl_track_pid "$DPID"
	START_US=$(now_us)
}

_ready() { [ "$(sl_json "$STATE/usage.json" 'd["pid"]')" = "$DPID" ]; }
# daemon_ready: its main loop runs (signal handlers set): usage.json is written by this PID.
daemon_ready() {
	sl_wait_for 5 _ready || daemon_fail "does not run its loop"
}

daemon_fail() {
	sl_fail "sluice run (pid $DPID) $1; its log ends: $(tail -n 8 "$T/run.log")"
}

logn() { grep -c "$1" "$T/run.log" || true; }
_more() { [ "$(logn "$1")" -gt "$2" ]; }

billing_check() { # ARGS... of billing.py; its lines into the test log, its status returned
	python3 "$HTTP_DIR/billing.py" "$BILL" "$PIN/maps" "$@" | while IFS= read -r l; do
		sl_log "  $l"
	done
}

daemon_start
daemon_ready
http_keys_installed || sl_fail "the daemon's policy installed no keys"
WRK_PIDS=()
for k in "alpha1 $KA1" "alpha2 $KA2" "beta $KB" "gamma $KC"; do
	sl_spawn_ns "$CLI_NS" $((LOAD_SECS + 10)) "$T/wrk.${k%% *}.out" wrk -t1 -c4 \
		-d"${LOAD_SECS}s" --timeout 5s -H "X-API-Key: ${k#* }" "http://$SRV_IP4:8000/v1/models"
	WRK_PIDS+=("$SL_SPAWNED_PID")
done

map_id() { sl_json "$(bpftool -j map show pinned "$PIN/maps/sl_tstats_v3")" 'd["id"]'; }
GZ_AT='' PARTIAL_KILLS=0 MAPS_ID=$(map_id)
for ((k = 1; k <= KILLS; k++)); do
	[ "$k" -eq 1 ] || daemon_start
	if [ "$k" -eq "$HUP_AT" ]; then
		daemon_ready
		n=$(logn event=policy_applied)
		policy gold
		kill -HUP "$DPID"
		sl_wait_for 5 _more event=policy_applied "$n" ||
			daemon_fail "did not apply the policy again on SIGHUP"
		sl_log "start $k: beta moved from plan silver to gold, SIGHUP, policy applied"
	fi
	if [ "$k" -eq "$DETACH_AT" ]; then
		daemon_ready
		sl_sluice --netns "$SRV_NS" detach "$SRV_IF" >/dev/null
		sleep 0.3
		sl_sluice --netns "$SRV_NS" attach "$SRV_IF" >/dev/null
		sl_assert_eq "$(map_id)" "$MAPS_ID" "start $k: detach + attach kept the counter map"
	fi
	ms=$((100 + RANDOM % 1401))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -0 "$DPID" 2>/dev/null || daemon_fail "ended by itself"
	kill -KILL "$DPID"
	rc=0
	wait "$DPID" 2>/dev/null || rc=$?
	sl_untrack_pid "$DPID"
	[ "$rc" -eq 137 ] || daemon_fail "exited with $rc before the SIGKILL"
	up=$((($(now_us) - START_US) / 1000))
	billing_check --transient --report "$T/kill.$k.json" >"$T/kill.$k.log" ||
		sl_fail "after kill $k the billing files are not sound: $(cat "$T/kill.$k.log")"
	read -r lines partial rep gz < <(sl_json "$T/kill.$k.json" '"%d %d %d %d" % (d["lines"],
		d["partial_lines"], d["repeated_lines"],
		sum("jsonl.gz" in p["files"] for p in d["periods"].values()))')
	PARTIAL_KILLS=$((PARTIAL_KILLS + (partial > 0)))
	[ -n "$GZ_AT" ] || [ "$gz" -eq 0 ] || GZ_AT=$k
	sl_log "kill $k: after $ms ms (up $up ms), $lines lines ($partial partial," \
		"$rep repeated), $gz .gz"
done
daemon_start
daemon_ready
sleep 1
sl_assert_ge "${GZ_AT:-0}" 1 "a closed period was gzipped while the daemon was being killed"

http_traffic_stop "${WRK_PIDS[@]}"
for n in alpha1 alpha2 beta gamma; do
	sl_log "wrk $n: $(grep -E 'requests in|timeout' "$T/wrk.$n.out" | tr -s ' ' | tr '\n' ';')"
done

rc=0
sl_stop_pid "$DPID" 10 || rc=$?
sl_untrack_pid "$DPID"
sl_assert_eq "$rc" 0 "sluice run stopped by SIGTERM exits 0"
NOW=$(sl_json "$STATE/usage.json" 'd["time"]')
sl_log "after $KILLS kills, $(logn event=start) starts, $PARTIAL_KILLS kills left a partial line" \
	"($(logn event=billing_file_repaired) repaired at start); daemon clock at the stop: $NOW"
sl_log "billed vs counted:"
billing_check --now "$NOW" --split beta --report "$T/final.json" || true
sl_assert_eq "$(grep -c 'level=error' "$T/run.log" || true)" 0 "no error in the daemon's log"
sl_assert_eq "$(sed -n 's/^time=\([^ ]*\) .*/\1/p' "$T/run.log" | sort -c 2>&1 | head -1)" "" \
	"the daemons' clock never went back over the $(logn event=start) starts"
for t in alpha beta gamma; do
	for f in requests requests_dropped; do
		sl_assert_eq "$(sl_json "$T/final.json" "d['tenants']['$t']['billed']['$f']")" \
			"$(sl_json "$T/final.json" "d['tenants']['$t']['counted']['$f']")" \
			"$t: billed $f = counted by the data plane"
	done
	sl_assert_ge "$(sl_json "$T/final.json" "d['tenants']['$t']['counted']['requests_dropped']")" 1 \
		"$t: some requests were refused"
done
sl_assert_ge "$(sl_json "$T/final.json" 'sum(p["closed"] for p in d["periods"].values())')" 1 \
	"a billing period closed during the run"
sl_assert_eq "$(sl_json "$T/final.json" 'd["tenants"]["beta"]["plans"]')" '["gold", "silver"]' \
	"beta billed under both plans"
sl_assert_eq "$(sl_json "$T/final.json" 'd["errors"]')" "[]" "billing.py: every check passed"
