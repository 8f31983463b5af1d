#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# IPv6 accuracy (XDP native, both CPUs) and prefix aggregation: with prefix ipv6 64 / ipv4 24
# two client addresses of one /64 (/24) share ONE bucket (together rate x W + burst); with 128
# / 32 each gets its own (each rate x W + burst, together about twice as much).
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
sl_log "pin root $PIN; clients $CLI_IP4 $CLI2_IP4 $CLI_IP6 $CLI2_IP6"

RATE=5000   # packets/s per aggregate
BURST=500
OFFER=15000 # packets/s per sender (3x the rate), two threads on CPU 0 and CPU 1
SECS=2
TOL=2       # percent
RESULTS=()

# policy NAME PREFIX4 PREFIX6: one rule per family, so that counters are per family.
policy() {
	cat >"$T/$1.yaml" <<YAML
version: 1
name: $1
sources:
  - name: v4
    cidr: 10.203.0.0/24
    prefix: {ipv4: $2}
    rate: $RATE
    burst: $BURST
  - name: v6
    cidr: "fd00:203::/64"
    prefix: {ipv6: $3}
    rate: $RATE
    burst: $BURST
YAML
	sl_sluice policy apply "$T/$1.yaml"
}

# floods LABEL SRC...: one sl_udpflood per source address, all at once, OFFER pps each over
# both CPUs for SECS s, into one sink. Reports: $T/LABEL.SRC.json, $T/LABEL.sink.json, status
# before and after: $T/LABEL.before.json, $T/LABEL.after.json.
floods() {
	local label=$1 src dst pids=() p
	shift
	sleep 0.3 # buckets idle for > burst/rate (0.1 s) are full again
	sl_status "$T/$label.before.json"
	sl_sink_start "$label.sink" --port 7000
	for src in "$@"; do
		dst=$SRV_IP4
		[[ $src == *:* ]] && dst=$SRV_IP6
		sl_in_ns_t $((SECS + 20)) "$CLI_NS" "$TOOLS/sl_udpflood" --dst "$dst" --src "$src" \
			--port 7000 --rate "$OFFER" --duration "$SECS" --threads 2 \
			--json >"$T/$label.$src.json" &
		pids+=("$!")
		sl_track_pid "$!"
	done
	for p in "${pids[@]}"; do
		wait "$p" || sl_fail "$label: a flood failed (exit $?)"
	done
	sl_sink_stop
	sl_status "$T/$label.after.json"
}

# admitted LABEL RULE: the rule's limit.pass.packets delta over the run LABEL.
admitted() {
	echo $(($(sl_ctr "$T/$1.after.json" "$2" limit.pass.packets) -
		$(sl_ctr "$T/$1.before.json" "$2" limit.pass.packets)))
}

# counted LABEL RULE: the rule's pass + drop packets delta (every packet it saw).
counted() {
	echo $(($(sl_ctr "$T/$1.after.json" "$2" pass.packets) + $(sl_ctr "$T/$1.after.json" "$2" \
		drop.packets) - $(sl_ctr "$T/$1.before.json" "$2" pass.packets) -
		$(sl_ctr "$T/$1.before.json" "$2" drop.packets)))
}

sent() {
	sl_json "$1" 'd["sent"]'
}

# shared LABEL RULE SRC1 SRC2: the two sources share one bucket.
shared() {
	local label=$1 rule=$2 a=$3 b=$4 exp passed got sent_all
	exp=$(sl_allowed "$RATE" "$BURST" "$T/$label.$a.json" "$T/$label.$b.json")
	passed=$(admitted "$label" "$rule")
	got=$(($(sl_src_count "$T/$label.sink.json" "$a") + $(sl_src_count "$T/$label.sink.json" "$b")))
	sent_all=$(($(sent "$T/$label.$a.json") + $(sent "$T/$label.$b.json")))
	sl_log "$label: $a and $b share one bucket: sent $sent_all, expected rate x W + burst =" \
		"$exp (W = $(sl_window "$T/$label.$a.json" "$T/$label.$b.json") s, first to last" \
		"send of either); admitted $passed (sink: $got =" \
		"$(sl_src_count "$T/$label.sink.json" "$a") + $(sl_src_count "$T/$label.sink.json" "$b"))"
	RESULTS+=("$label: shared bucket $a + $b admitted $passed / expected $exp = $(sl_calc "$passed / $exp"), sink $got")
	sl_assert_eq "$(counted "$label" "$rule")" "$sent_all" "$label: every packet counted once"
	sl_assert_within "$passed" "$exp" "$TOL" "$label: $a + $b together admitted (rule $rule) vs one bucket's rate x W + burst"
	sl_assert_within "$got" "$exp" "$TOL" "$label: $a + $b together received by the sink vs one bucket's rate x W + burst"
}

# separate LABEL RULE SRC...: each source has its own bucket.
separate() {
	local label=$1 rule=$2 src exp got passed total=0 sent_all=0 n
	shift 2
	n=$#
	for src in "$@"; do
		exp=$(sl_allowed "$RATE" "$BURST" "$T/$label.$src.json")
		got=$(sl_src_count "$T/$label.sink.json" "$src")
		sl_log "$label: $src alone: sent $(sent "$T/$label.$src.json"), expected rate x W +" \
			"burst = $exp (W = $(sl_window "$T/$label.$src.json") s); sink received $got"
		RESULTS+=("$label: own bucket $src: sink $got / expected $exp = $(sl_calc "$got / $exp")")
		sl_assert_within "$got" "$exp" "$TOL" "$label: $src received by the sink vs its own rate x W + burst"
		total=$(sl_calc "$total + $exp")
		sent_all=$((sent_all + $(sent "$T/$label.$src.json")))
	done
	passed=$(admitted "$label" "$rule")
	sl_log "$label: rule $rule admitted $passed in all, expected $total ($n bucket(s))"
	RESULTS+=("$label: $n bucket(s) admitted $passed / expected $total = $(sl_calc "$passed / $total")")
	sl_assert_eq "$(counted "$label" "$rule")" "$sent_all" "$label: every packet counted once"
	sl_assert_within "$passed" "$total" "$TOL" "$label: rule $rule admitted vs the sum of $n bucket(s)"
}

sl_sluice --netns "$SRV_NS" attach "$SRV_IF"

# --- IPv6 accuracy: one source, both CPUs
policy agg128 32 128
floods v6 "$CLI_IP6"
sl_assert_eq "$(sl_json "$T/v6.$CLI_IP6.json" 'sorted(d["cpus"])')" "[0, 1]" \
	"IPv6 sender threads on CPU 0 and CPU 1"
separate v6 v6 "$CLI_IP6"
sl_assert_eq "$(sl_json "$T/v6.after.json" 'd["tables"]["buckets"]["used"]')" 1 \
	"one IPv6 source, one bucket"

# --- prefix ipv4 24 / ipv6 64: both addresses of a family share one bucket
policy agg-wide 24 64
floods wide "$CLI_IP4" "$CLI2_IP4" "$CLI_IP6" "$CLI2_IP6"
shared wide v4 "$CLI_IP4" "$CLI2_IP4"
shared wide v6 "$CLI_IP6" "$CLI2_IP6"
sl_assert_eq "$(sl_json "$T/wide.after.json" 'd["tables"]["buckets"]["used"]')" 2 \
	"four sources in one /24 and one /64: two buckets"

# --- prefix ipv4 32 / ipv6 128: one bucket per address
policy agg-narrow 32 128
floods narrow "$CLI_IP4" "$CLI2_IP4" "$CLI_IP6" "$CLI2_IP6"
separate narrow v4 "$CLI_IP4" "$CLI2_IP4"
separate narrow v6 "$CLI_IP6" "$CLI2_IP6"
sl_assert_eq "$(sl_json "$T/narrow.after.json" 'd["tables"]["buckets"]["used"]')" 4 \
	"four sources, one bucket each"

sl_log "summary (rate $RATE/s, burst $BURST per aggregate, $OFFER/s per sender, $SECS s, tolerance $TOL %):"
for r in "${RESULTS[@]}"; do
	sl_log "  $r"
done
