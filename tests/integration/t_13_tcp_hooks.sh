#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# TCP under a limit on every hook, in both units. TCP data reaches an ingress hook as non-linear
# skbs (payload in page fragments) and, from a veth peer with TSO/GSO on, as super-packets of
# up to 64 KB: XDP native sees MTU-sized frames (attaching it turns TSO off on the peer), XDP
# generic (skb mode) and TC see the skbs. Whatever the hook, a source must not get more than
# rate x W + burst (+ one tick of rate and a few frames):
#   unit bytes:   payload bytes delivered <= the byte limit;
#   unit packets: wire segments delivered (at least payload / MSS) <= the packet limit;
# and no TCP segment may be classified malformed.
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
sl_log "pin root $PIN, server $SRV_NS/$SRV_IF"

RATE_B=2000000 BURST_B=512000 # unit bytes
RATE_P=1000 BURST_P=250       # unit packets (1000 full segments/s = 1.45 MB/s)
FRAME=1514 MSS=1448
SECS=1.5
TICK_NS=$(python3 -c 'import time; print(int(time.clock_getres(6) * 1e9))') # one jiffy

policy() { # policy UNIT RATE BURST
	cat >"$T/policy-$1.yaml" <<YAML
version: 1
name: tcp-$1
sources:
  - name: clients
    cidr: 10.203.0.0/24
    unit: $1
    rate: $2
    burst: $3
YAML
	sl_sluice policy apply "$T/policy-$1.yaml" >/dev/null
}

FAILED=()
RESULTS=()

# run LABEL UNIT: one TCP transfer of SECS s under the UNIT policy; checks the bound.
run() {
	local label=$1 unit=$2 got w max wire malformed rate burst
	if [ "$unit" = bytes ]; then rate=$RATE_B burst=$BURST_B; else rate=$RATE_P burst=$BURST_P; fi
	policy "$unit" "$rate" "$burst"
	sleep 0.3 # a bucket used before is full again
	sl_status "$T/$label.before.json"
	sl_sink_start "$label.sink" --tcp --port 7001
	sl_in_ns_t 30 "$CLI_NS" "$TOOLS/sl_udpflood" --tcp --dst "$SRV_IP4" --port 7001 \
		--duration "$SECS" --json >"$T/$label.flood.json"
	sl_sink_stop
	sl_status "$T/$label.after.json"

	got=$(sl_json "$T/$label.sink.json" 'd["bytes"]')
	# handshake (1 ms before the first write) to the sink's last read
	w=$(python3 -c 'import json, sys; f = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2])); print("%.6f" % ((s["last_ns"] - f["first_ns"]) / 1e9 + 0.001))' \
		"$T/$label.flood.json" "$T/$label.sink.json")
	malformed=$(($(sl_ctr "$T/$label.after.json" - malformed.pass.packets) -
		$(sl_ctr "$T/$label.before.json" - malformed.pass.packets)))
	if [ "$unit" = bytes ]; then
		wire=$got
		max=$(sl_calc "$rate * $w + $burst + $rate * $TICK_NS / 1e9 + 3 * $FRAME")
	else
		wire=$(((got + MSS - 1) / MSS)) # at least this many segments carried the payload
		max=$(sl_calc "$rate * $w + $burst + $rate * $TICK_NS / 1e9 + 3")
	fi
	sl_log "$label: sink got $got bytes (>= $(((got + MSS - 1) / MSS)) segments) in $w s; limit:" \
		"$rate $unit/s, burst $burst: at most $max $unit; sluice counted limit.pass" \
		"$(($(sl_ctr "$T/$label.after.json" clients limit.pass.packets) - $(sl_ctr "$T/$label.before.json" clients limit.pass.packets))) packets /" \
		"$(($(sl_ctr "$T/$label.after.json" clients limit.pass.bytes) - $(sl_ctr "$T/$label.before.json" clients limit.pass.bytes))) bytes," \
		"limit.drop $(($(sl_ctr "$T/$label.after.json" clients limit.drop.packets) - $(sl_ctr "$T/$label.before.json" clients limit.drop.packets))) packets," \
		"malformed (passed) $malformed packets"
	RESULTS+=("$label: delivered $wire $unit, limit $max ($(sl_calc "$wire / $max") x), malformed $malformed")
	# Every case is checked before the test fails (assertions in subshells), so that the log
	# shows the whole picture.
	(sl_assert_le "$wire" "$max" "$label: TCP $unit delivered <= rate x W + burst (+ tick, 3 frames)") ||
		FAILED+=("$label: delivered $wire $unit, the limit allows $max")
	(sl_assert_eq "$malformed" 0 "$label: TCP segments classified malformed (and passed)") ||
		FAILED+=("$label: $malformed TCP segments classified malformed")
}

for hook in xdp-native xdp-skb tc; do
	case $hook in
	xdp-native) args=() ;;
	xdp-skb) args=(--mode skb) ;;
	tc) args=(--hook tc) ;;
	esac
	sl_sluice --netns "$SRV_NS" attach "$SRV_IF" "${args[@]}" >/dev/null
	sl_log "$hook: client $CLI_IF offloads: $(sl_in_ns "$CLI_NS" ethtool -k "$CLI_IF" | grep -E '^(tcp-segmentation|generic-segmentation)-offload' | tr '\n' ' ')"
	run "$hook-bytes" bytes
	run "$hook-packets" packets
	sl_sluice --netns "$SRV_NS" detach "$SRV_IF" >/dev/null
done

sl_log "summary:"
for r in "${RESULTS[@]}"; do
	sl_log "  $r"
done
[ ${#FAILED[@]} -eq 0 ] || sl_fail "$(printf '%s; ' "${FAILED[@]}")"
