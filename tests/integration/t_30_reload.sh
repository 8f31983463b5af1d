#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Policy reloads under traffic (XDP native). While one source floods far above its rate:
#   - `policy apply` of an edited file that keeps the rule's name hands out no fresh burst (what
#     is admitted around the apply is rate x time, not a burst) and keeps its counters;
#   - a file with a syntax error is rejected (exit 1, `file:line:` message, `policy check` fails
#     too) and the running policy stays: same hash, same limit;
#   - over the whole flood the source got exactly rate x W + burst: one burst, not two.
# Then 5 concurrent `policy apply` all succeed (the pin-root lock serialises them) and leave one
# complete policy: its name, hash, rules and a working limit.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

sl_require_root
sl_require_cmd nsenter timeout python3
sl_fast_python
sl_trap_cleanup
sl_tmpdir
T=$SL_TMPDIR
sl_netns_setup "$(sl_prefix)"
PIN=$(sl_pin_root)
sl_log "pin root $PIN"

RATE=1000  # packets/s
BURST=1000 # a whole second of rate: a fresh burst would stand out
OFFER=10000
SECS=4
TOL=2

# policy_file FILE NAME OTHER_RATE [EXTRA_RULES]: rule "clients" (the one under test) and rule
# "other" (the one edited), plus EXTRA_RULES extra rules extra1..N.
policy_file() {
	local i
	{
		cat <<YAML
version: 1
name: $2
sources:
  - name: clients
    cidr: 10.203.0.0/24
    rate: $RATE
    burst: $BURST
  - name: other
    cidr: 192.0.2.0/24
    rate: $3
YAML
		for ((i = 1; i <= ${4:-0}; i++)); do
			printf '  - name: extra%d\n    cidr: 198.51.%d.0/24\n    rate: %d\n' "$i" "$i" $((100 * i))
		done
	} >"$1"
}

pass_of() { # pass_of STATUS_FILE: the clients rule's limit.pass.packets
	sl_ctr "$1" clients limit.pass.packets
}

policy_file "$T/a.yaml" reload-a 50
policy_file "$T/b.yaml" reload-b 60 # edits rule "other" only
cat >"$T/bad.yaml" <<'YAML'
version: 1
name: broken
sources:
  - name: clients
    cidr: [10.203.0.0/24
    rate: 10
YAML

sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
sl_sluice policy apply "$T/a.yaml"
sl_status "$T/start.json"
HASH_A=$(sl_json "$T/start.json" 'd["policy"]["hash"]')

sl_sink_start sink --port 7000
sl_in_ns_t 30 "$CLI_NS" "$TOOLS/sl_udpflood" --dst "$SRV_IP4" --port 7000 --rate "$OFFER" \
	--threads 2 --duration "$SECS" --json >"$T/flood.json" &
FLOOD=$!
sl_track_pid "$FLOOD"
sleep 1.2 # the burst (1000 packets) is gone after 0.11 s at 10,000 pps; now at rate

# --- a good reload that keeps the rule's name
sl_status "$T/r0.json"
T0=$EPOCHREALTIME
sl_sluice --json policy apply "$T/b.yaml" >"$T/apply-b.json"
T1=$EPOCHREALTIME
sleep 0.1
sl_status "$T/r1.json"
T2=$EPOCHREALTIME
ADM=$(($(pass_of "$T/r1.json") - $(pass_of "$T/r0.json")))
DT=$(sl_calc "$T2 - $T0")
sl_log "reload: apply took $(sl_calc "($T1 - $T0) * 1000") ms ($(cat "$T/apply-b.json"));" \
	"admitted $ADM from just before the apply to 100 ms after it, over $DT s:" \
	"rate x time = $(sl_calc "$RATE * $DT"), a fresh burst would add $BURST"
sl_assert_eq "$(sl_json "$T/apply-b.json" '[d["kept"], d["added"], d["removed"], d["buckets_cleared"]]')" \
	"[2, 0, 0, 0]" "reload: both rules kept, no bucket cleared"
sl_assert_le "$ADM" "$(sl_calc "$RATE * $DT + 0.1 * $BURST")" \
	"reload: admitted around the apply <= rate x time + 10 % of a burst (no fresh burst)"
sl_assert_ge "$ADM" "$(sl_calc "0.5 * $RATE * $DT")" "reload: the source is still admitted at its rate"
sl_assert_ge "$(pass_of "$T/r1.json")" "$(pass_of "$T/r0.json")" "reload: counters kept, not reset"
sl_assert_eq "$(sl_json "$T/r1.json" 'd["policy"]["name"]')" reload-b "reload: the new policy runs"
HASH_B=$(sl_json "$T/r1.json" 'd["policy"]["hash"]')

# --- a bad file: rejected, nothing changes
sleep 0.5
rc=0
sl_sluice policy apply "$T/bad.yaml" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
sl_log "bad apply: exit $rc, stderr: $(cat "$T/bad.err")"
sl_assert_eq "$rc" 1 "bad policy: apply exits 1"
grep -qE "^$T/bad.yaml:[0-9]+: " "$T/bad.err" ||
	sl_fail "bad policy: no 'file:line:' message, stderr: $(cat "$T/bad.err")"
echo "ok: bad policy: the message names file:line ($(grep -oE "^$T/bad.yaml:[0-9]+:" "$T/bad.err"))"
rc=0
sl_sluice policy check "$T/bad.yaml" >"$T/check.out" 2>"$T/check.err" || rc=$?
sl_assert_eq "$rc" 1 "bad policy: policy check exits 1 too"
grep -qE "^$T/bad.yaml:[0-9]+: " "$T/check.err" ||
	sl_fail "bad policy check: no 'file:line:' message, stderr: $(cat "$T/check.err")"
sl_status "$T/r2.json"
sl_assert_eq "$(sl_json "$T/r2.json" 'd["policy"]["hash"]')" "$HASH_B" "bad policy: the running policy's hash is unchanged"
sl_assert_eq "$(sl_json "$T/r2.json" '[r["name"] + ":" + str(r["rate"]) for r in d["rules"]]')" \
	'["clients:1000", "other:60"]' "bad policy: the running rules are unchanged"

wait "$FLOOD" || sl_fail "flood failed"
sl_sink_stop
sl_status "$T/end.json"

# --- over the whole flood: one burst only, and the limit held after the bad apply too
EXP=$(sl_allowed "$RATE" "$BURST" "$T/flood.json")
ADM=$(($(pass_of "$T/end.json") - $(pass_of "$T/start.json")))
GOT=$(sl_src_count "$T/sink.json" "$CLI_IP4")
sl_log "whole flood: sent $(sl_json "$T/flood.json" 'd["sent"]') in $(sl_window "$T/flood.json") s;" \
	"expected rate x W + burst = $EXP (with a second burst: $(sl_calc "$EXP + $BURST")); admitted $ADM; sink got $GOT"
sl_assert_within "$ADM" "$EXP" "$TOL" "whole flood: admitted across two applies vs rate x W + one burst"
sl_assert_within "$GOT" "$EXP" "$TOL" "whole flood: sink received vs rate x W + one burst"
[ "$HASH_A" != "$HASH_B" ] || sl_fail "the two policies should have different hashes"

# --- 5 concurrent applies
declare -A NRULES HASH
for i in 1 2 3 4 5; do
	policy_file "$T/c$i.yaml" "conc$i" $((60 + i)) "$i"
	NRULES[conc$i]=$((2 + i))
	HASH[conc$i]=$(sl_sluice --json policy check "$T/c$i.yaml" | sl_json - 'd["hash"]')
done
PIDS=()
for i in 1 2 3 4 5; do
	sl_sluice policy apply "$T/c$i.yaml" >"$T/c$i.out" 2>&1 &
	PIDS+=("$!")
	sl_track_pid "$!"
done
for i in 1 2 3 4 5; do
	rc=0
	wait "${PIDS[$((i - 1))]}" || rc=$?
	sl_assert_eq "$rc" 0 "concurrent apply of c$i.yaml succeeded ($(cat "$T/c$i.out"))"
done
sl_status "$T/conc.json"
NAME=$(sl_json "$T/conc.json" 'd["policy"]["name"]')
sl_log "after 5 concurrent applies: policy $NAME, rules $(sl_json "$T/conc.json" '[r["name"] for r in d["rules"]]')"
[ -n "${NRULES[$NAME]:-}" ] || sl_fail "concurrent applies: running policy '$NAME' is none of conc1..conc5"
sl_assert_eq "$(sl_json "$T/conc.json" 'd["policy"]["hash"]')" "${HASH[$NAME]}" \
	"concurrent applies: the hash is that of $NAME's file"
sl_assert_eq "$(sl_json "$T/conc.json" 'len(d["rules"])')" "${NRULES[$NAME]}" \
	"concurrent applies: status lists $NAME's rules, no more, no fewer"
N=${NAME#conc}
sl_assert_eq "$(sl_json "$T/conc.json" 'sorted(r["name"] for r in d["rules"])')" \
	"$(python3 -c 'import json, sys; n = int(sys.argv[1]); print(json.dumps(sorted(["clients", "other"] + ["extra%d" % i for i in range(1, n + 1)])))' "$N")" \
	"concurrent applies: rule names are $NAME's"
sl_assert_eq "$(sl_json "$T/conc.json" '[r["rate"] for r in d["rules"] if r["name"] == "other"][0]')" \
	$((60 + N)) "concurrent applies: rule other has $NAME's rate"
sl_sluice --json policy show >"$T/show.json"
sl_assert_eq "$(sl_json "$T/show.json" 'sorted(r["name"] for r in d["sources"])')" \
	"$(sl_json "$T/conc.json" 'sorted(r["name"] for r in d["rules"])')" "concurrent applies: policy show agrees with status"
sl_assert_ge "$(pass_of "$T/conc.json")" "$(pass_of "$T/end.json")" "concurrent applies: the clients counters were kept"

# The data plane runs the final policy: the clients limit still holds.
sleep 1.1 # the bucket refills (burst / rate = 1 s)
sl_status "$T/f0.json"
sl_sink_start sink2 --port 7000
sl_in_ns_t 30 "$CLI_NS" "$TOOLS/sl_udpflood" --dst "$SRV_IP4" --port 7000 --rate "$OFFER" \
	--threads 2 --duration 0.5 --json >"$T/flood2.json"
sl_sink_stop
sl_status "$T/f1.json"
EXP=$(sl_allowed "$RATE" "$BURST" "$T/flood2.json")
ADM=$(($(pass_of "$T/f1.json") - $(pass_of "$T/f0.json")))
sl_log "after the concurrent applies: expected rate x W + burst = $EXP, admitted $ADM"
sl_assert_within "$ADM" "$EXP" "$TOL" "after the concurrent applies: admitted vs rate x W + burst"
