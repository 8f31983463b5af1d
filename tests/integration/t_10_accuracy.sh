#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Accuracy of the shared bucket: one IPv4 source flooding from both CPUs is admitted
# rate x W + burst (W = the sender's first..last send) within 2 %, counted by sluice and by the
# sink, on XDP native, XDP skb (generic) and TC, switching hooks by detach/attach on one pin root
# (counters survive the detach). One more run from a single CPU must get the same full rate:
# per-CPU buckets with rate/N each would give it half.
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

RATE=5000   # packets/s
BURST=500   # packets
OFFER=40000 # packets/s offered, 8x the rate
SECS=2      # flood duration
TOL=2       # percent

cat >"$T/policy.yaml" <<YAML
version: 1
name: accuracy
sources:
  - name: clients
    cidr: 10.203.0.0/24
    prefix: {ipv4: 32}
    rate: $RATE
    burst: $BURST
YAML

RESULTS=()

# flood LABEL SL_UDPFLOOD ARGS...: one flood from CLI_IP4 at OFFER pps for SECS s into a fresh
# sink; checks admitted (sluice's counter delta and the sink's count) against rate x W + burst.
flood() {
	local label=$1 sent w exp passed dropped total got
	shift
	sleep 0.3 # the bucket is idle for > burst/rate (0.1 s): full again
	sl_status "$T/$label.before.json"
	sl_sink_start "$label.sink" --port 7000
	sl_in_ns_t $((SECS + 20)) "$CLI_NS" "$TOOLS/sl_udpflood" --dst "$SRV_IP4" --port 7000 \
		--rate "$OFFER" --duration "$SECS" --json "$@" >"$T/$label.flood.json"
	sl_sink_stop
	sl_status "$T/$label.after.json"

	sent=$(sl_json "$T/$label.flood.json" 'd["sent"]')
	w=$(sl_window "$T/$label.flood.json")
	exp=$(sl_allowed "$RATE" "$BURST" "$T/$label.flood.json")
	passed=$(($(sl_ctr "$T/$label.after.json" clients limit.pass.packets) -
		$(sl_ctr "$T/$label.before.json" clients limit.pass.packets)))
	dropped=$(($(sl_ctr "$T/$label.after.json" clients drop.packets) -
		$(sl_ctr "$T/$label.before.json" clients drop.packets)))
	total=$(($(sl_ctr "$T/$label.after.json" clients pass.packets) -
		$(sl_ctr "$T/$label.before.json" clients pass.packets) + dropped))
	got=$(sl_src_count "$T/$label.sink.json" "$CLI_IP4")
	sl_log "$label: cpus $(sl_json "$T/$label.flood.json" 'd["cpus"]'), sent $sent in W = $w s;" \
		"expected rate x W + burst = $RATE x $w + $BURST = $exp;" \
		"sluice admitted $passed, dropped $dropped; sink received $got"
	RESULTS+=("$label: admitted $passed / expected $exp = $(sl_calc "$passed / $exp"), sink $got / expected = $(sl_calc "$got / $exp")")
	sl_assert_ge "$sent" "$(sl_calc "3 * $exp")" "$label: offered at least 3x the limit"
	sl_assert_eq "$total" "$sent" "$label: every sent packet counted once (pass + drop)"
	sl_assert_within "$passed" "$exp" "$TOL" \
		"$label: sluice admitted (limit.pass.packets delta) vs rate x W + burst"
	sl_assert_within "$got" "$exp" "$TOL" "$label: sink received from $CLI_IP4 vs rate x W + burst"
}

# check_attached HOOK MODE: status lists SRV_IF, attached, with that hook (and mode).
check_attached() {
	sl_status "$T/st.json"
	sl_assert_eq "$(sl_json "$T/st.json" \
		'[(i["ifname"], i["hook"], i.get("mode", "-"), i["attached"]) for i in d["interfaces"]]')" \
		"[[\"$SRV_IF\", \"$1\", \"$2\", true]]" "status lists $SRV_IF attached with $1/$2"
}

# counters FILE: the rule's pass/drop packet counters, for comparing two snapshots.
counters() {
	sl_json "$1" '[(r["name"], r["counters"]["pass"]["packets"], r["counters"]["drop"]["packets"]) for r in d["rules"]]'
}

# detach_keeps: detach, check that the counters are unchanged and no interface is listed.
detach_keeps() {
	local before after
	sl_status "$T/pre-detach.json"
	before=$(counters "$T/pre-detach.json")
	sl_sluice --netns "$SRV_NS" detach "$SRV_IF"
	sl_status "$T/post-detach.json"
	after=$(counters "$T/post-detach.json")
	sl_assert_eq "$after" "$before" "counters unchanged by detach"
	sl_assert_eq "$(sl_json "$T/post-detach.json" 'len(d["interfaces"])')" 0 \
		"no interface listed after detach"
	KEPT=$before
}

# --- XDP native, both CPUs, then one CPU
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
sl_sluice policy apply "$T/policy.yaml"
check_attached xdp native
flood xdp-native --threads 2
sl_assert_eq "$(sl_json "$T/xdp-native.flood.json" 'sorted(d["cpus"])')" "[0, 1]" \
	"the two sender threads ran on CPU 0 and CPU 1"
flood xdp-native-cpu0 --threads 1 --cpu 0
sl_assert_eq "$(sl_json "$T/xdp-native-cpu0.flood.json" 'd["cpus"]')" "[0]" \
	"single-CPU sender ran on CPU 0"
detach_keeps

# --- XDP generic (skb mode): re-attach on the same pin root; counters continue
sl_sluice --netns "$SRV_NS" attach "$SRV_IF" --mode skb
check_attached xdp skb
sl_status "$T/st.json"
sl_assert_eq "$(counters "$T/st.json")" "$KEPT" "counters unchanged by a re-attach (skb mode)"
flood xdp-skb --threads 2
detach_keeps

# --- TC clsact ingress
sl_sluice --netns "$SRV_NS" attach "$SRV_IF" --hook tc
check_attached tc -
sl_status "$T/st.json"
sl_assert_eq "$(counters "$T/st.json")" "$KEPT" "counters unchanged by a re-attach (tc)"
flood tc --threads 2
detach_keeps

sl_log "summary (rate $RATE/s, burst $BURST, offered $OFFER/s for $SECS s, tolerance $TOL %):"
for r in "${RESULTS[@]}"; do
	sl_log "  $r"
done
