#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The random-source flood bound (docs/design.md, "Memory bound and spoofed floods"), with a small
# aggregate table (--table-size 64), rate R = 100/s and burst B = 10 per /32, overflow bucket
# Ro = 200/s, Bo = 20. Four established sources (two real client addresses, two fixed spoofed
# ones) send far above their rate from before a 3-second flood of random spoofed sources until
# after it. Checks:
#   (a) the table fills and never exceeds its size;
#   (b) the flood (every source without an aggregate of its own before it started) gets at most
#       F x B + Ro x W + Bo, F = free entries when it starts; its overflow share is Ro x W + Bo;
#   (c) each established source gets R x W + B (within 2 %, and no second burst): it was neither
#       evicted nor reset;
#   (d) after the flood, `sluice gc` deletes the flood's idle entries (and only those: the
#       established sources, still over their limit, keep theirs), and a brand-new source gets
#       its own bucket again.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

sl_require_root
sl_require_cmd nsenter timeout python3
sl_fast_python
sl_trap_cleanup
sl_tmpdir
T=$SL_TMPDIR
sl_netns_setup "$(sl_prefix)" --second-client
PIN=$(sl_pin_root)
sl_log "pin root $PIN"

TABLE=64
R=100 B=10 RO=200 BO=20
EST_PPS=1000     # per established source: 10x its rate
EST_SECS=5.5     # established senders run from t=0 to t=5.5
FLOOD_PPS=20000  # random sources, from t=1 to t=4
FLOOD_SECS=3
SPOOF_NET=10.204.0.0/31 # the two fixed spoofed established sources: 10.204.0.0 and .1
EST=("$CLI_IP4" "$CLI2_IP4" 10.204.0.0 10.204.0.1)
NEW_SRC=10.205.0.1
TOL=2

cat >"$T/policy.yaml" <<YAML
version: 1
name: flood
sources:
  - name: all
    cidr: 0.0.0.0/0
    prefix: {ipv4: 32}
    rate: $R
    burst: $B
    overflow: {rate: $RO, burst: $BO}
YAML

sl_sluice --netns "$SRV_NS" attach "$SRV_IF" --table-size "$TABLE"
sl_sluice policy apply "$T/policy.yaml"
sl_status "$T/s-start.json"
sl_assert_eq "$(sl_json "$T/s-start.json" 'd["tables"]["buckets"]["max"]')" "$TABLE" "table size"

ctr() { # ctr STATUS PATH: a counter of rule "all"
	sl_ctr "$1" all "$2"
}
# pass of rule "all" (own buckets + overflow) between two snapshots
passed() {
	echo $(($(ctr "$2" pass.packets) - $(ctr "$1" pass.packets)))
}
ovf_passed() {
	echo $(($(ctr "$2" overflow.pass.packets) - $(ctr "$1" overflow.pass.packets)))
}
used() {
	sl_json "$1" 'd["tables"]["buckets"]["used"]'
}

spoof() { # spoof ARGS...: sl_spoof from the client namespace to the sink
	sl_in_ns_t 30 "$CLI_NS" "$TOOLS/sl_spoof" --ifname "$CLI_IF" --dst-mac "$SRV_MAC" \
		--dst "$SRV_IP4" --port 7000 --json "$@"
}

sl_sink_start sink --port 7000 --max-sources 16
PIDS=()
# --- established sources, t = 0 .. 5.5 s
sl_in_ns_t 30 "$CLI_NS" "$TOOLS/sl_udpflood" --dst "$SRV_IP4" --src "$CLI_IP4" --port 7000 \
	--rate "$EST_PPS" --duration "$EST_SECS" --cpu 0 --json >"$T/e1.json" &
PIDS+=("$!")
sl_in_ns_t 30 "$CLI_NS" "$TOOLS/sl_udpflood" --dst "$SRV_IP4" --src "$CLI2_IP4" --port 7000 \
	--rate "$EST_PPS" --duration "$EST_SECS" --cpu 1 --json >"$T/e2.json" &
PIDS+=("$!")
spoof --src-net "$SPOOF_NET" --sources 2 --sport 4000 --rate $((2 * EST_PPS)) \
	--duration "$EST_SECS" --seed 1 >"$T/e34.json" &
PIDS+=("$!")
for p in "${PIDS[@]}"; do sl_track_pid "$p"; done
sleep 1

# --- the flood, t = 1 .. 4 s
sl_status "$T/s0.json"
F=$((TABLE - $(used "$T/s0.json")))
sl_log "before the flood: table $(used "$T/s0.json") of $TABLE used, F = $F free;" \
	"rule all: $(sl_json "$T/s0.json" '[r["counters"] for r in d["rules"]][0]["limit"]')"
sl_assert_eq "$(used "$T/s0.json")" 4 "the four established sources have one bucket each"
spoof --rate "$FLOOD_PPS" --duration "$FLOOD_SECS" --seed 2 >"$T/flood.json"
sl_status "$T/s1.json"
sl_log "flood: $(sl_json "$T/flood.json" '{k: d[k] for k in ("sent", "errors", "window", "rate", "src_net")}')"

# (a)
sl_assert_le "$(used "$T/s1.json")" "$TABLE" "(a) table used <= max after the flood"
sl_assert_eq "$(used "$T/s1.json")" "$TABLE" "(a) the flood filled the table"

# --- gc while the established sources still send (t ~ 4.3 s)
sleep 0.3 # each flood source sent about one packet: its bucket is idle 10 ms later
sl_sluice --json gc >"$T/gc.json"
sl_status "$T/s-gc.json"
sl_log "gc: $(cat "$T/gc.json"); table now $(used "$T/s-gc.json") of $TABLE"
sl_assert_ge "$(sl_json "$T/gc.json" 'd["deleted"]')" 1 "(d) gc deleted idle entries"
sl_assert_eq "$(sl_json "$T/gc.json" 'd["deleted"]')" $((TABLE - 4)) \
	"(d) gc deleted exactly the flood's entries (table size - 4 established)"
sl_assert_eq "$(used "$T/s-gc.json")" 4 "(d) the established sources (over their limit, not idle) keep their buckets"

# --- a brand-new source gets its own bucket again
spoof --src-net "$NEW_SRC/32" --sources 1 --count 5 >"$T/new.json"
sl_status "$T/s-new.json"
sl_assert_eq "$(used "$T/s-new.json")" 5 "(d) the new source $NEW_SRC has a bucket of its own"
sl_assert_eq "$(ovf_passed "$T/s-gc.json" "$T/s-new.json")" 0 "(d) the new source did not go to the overflow bucket"
# (the established sources keep sending; their packets in this interval are all limit.*)
sl_assert_ge "$(($(ctr "$T/s-new.json" limit.pass.packets) - $(ctr "$T/s-gc.json" limit.pass.packets)))" 5 \
	"(d) the new source's 5 packets admitted under reason limit (own bucket, full burst)"

for p in "${PIDS[@]}"; do
	wait "$p" || sl_fail "an established sender failed"
done
sl_sink_stop
sl_status "$T/s2.json"
sl_assert_eq "$(sl_src_count "$T/sink.json" "$NEW_SRC")" 5 "(d) the sink got the new source's 5 packets"

# (c) established sources: R x W + B each
python3 - "$T" >"$T/est.txt" <<'EOF'
import json, sys
t = sys.argv[1]
def w(f):
    d = json.load(open(f))
    return (d["last_ns"] - d["first_ns"]) / 1e9
print(w(t + "/e1.json"), w(t + "/e2.json"), w(t + "/e34.json"), w(t + "/e34.json"))
EOF
read -r -a WS <"$T/est.txt"
EST_SUM=0
for i in 0 1 2 3; do
	src=${EST[$i]}
	exp=$(sl_calc "$R * ${WS[$i]} + $B")
	got=$(sl_src_count "$T/sink.json" "$src")
	EST_SUM=$((EST_SUM + got))
	sl_log "(c) $src: received $got, expected R x W + B = $R x ${WS[$i]} + $B = $exp"
	sl_assert_within "$got" "$exp" "$TOL" "(c) established $src got R x W + B through the flood"
	sl_assert_le "$got" "$(sl_calc "$exp + 3")" "(c) established $src got no second burst (reset) (+3 slack)"
done

# (b) what the flood got: everything admitted minus what the established sources got (the
# 5 packets of the new source are subtracted too). Over the whole run, the established sources'
# own buckets are the only other admissions.
TOTAL=$(passed "$T/s-start.json" "$T/s2.json")
FLOOD_ADM=$((TOTAL - EST_SUM - 5))
OVF=$(ovf_passed "$T/s0.json" "$T/s1.json")
OVF_ALL=$(ovf_passed "$T/s-start.json" "$T/s2.json")
W=$(sl_window "$T/flood.json")
BOUND=$(sl_calc "$F * $B + $RO * $W + $BO")
SINK_OTHER=$(($(sl_json "$T/sink.json" 'd["packets"]') - EST_SUM - $(sl_src_count "$T/sink.json" "$NEW_SRC")))
sl_log "(b) bound: flood admitted <= F x B + Ro x W + Bo = $F x $B + $RO x $W + $BO = $BOUND"
sl_log "(b) flood admitted: $FLOOD_ADM (all admitted $TOTAL - established $EST_SUM - new source 5);" \
	"of it overflow.pass $OVF_ALL (during the flood $OVF), own buckets $((FLOOD_ADM - OVF_ALL));" \
	"the sink got $SINK_OTHER from flood sources; overflow.drop $(($(ctr "$T/s1.json" overflow.drop.packets) - $(ctr "$T/s0.json" overflow.drop.packets)))"
sl_assert_le "$FLOOD_ADM" "$BOUND" "(b) flood admitted <= F x B + Ro x W + Bo"
sl_assert_le "$SINK_OTHER" "$BOUND" "(b) flood delivered to the sink <= F x B + Ro x W + Bo"
sl_assert_le "$((FLOOD_ADM - OVF_ALL))" "$((F * B))" "(b) flood sources with buckets of their own got <= F x B"
sl_assert_eq "$OVF_ALL" "$OVF" "(b) the overflow bucket admitted only during the flood"
sl_assert_within "$OVF" "$(sl_calc "$RO * $W + $BO")" "$TOL" "(b) the overflow bucket admitted Ro x W + Bo"
