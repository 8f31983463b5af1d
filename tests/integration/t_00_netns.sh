#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Self-test of the harness without sluice: netns pair, ping, sl_udpflood -> sl_udpsink, sl_spoof.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

sl_require_root
sl_require_cmd ethtool nsenter timeout python3
sl_trap_cleanup
for tool in sl_udpflood sl_udpsink sl_spoof; do
	[ -x "$TOOLS/$tool" ] || sl_fail "$TOOLS/$tool is missing: run make"
done
sl_tmpdir
T=$SL_TMPDIR

sl_netns_setup "$(sl_prefix)" --second-client
sl_log "client $CLI_NS/$CLI_IF ($CLI_MAC), server $SRV_NS/$SRV_IF ($SRV_MAC)"
sl_ping "$CLI_NS" "$SRV_IP4" 3 || sl_fail "IPv4 ping $CLI_IP4 -> $SRV_IP4"
sl_ping "$CLI_NS" "$SRV_IP6" 3 || sl_fail "IPv6 ping $CLI_IP6 -> $SRV_IP6"

# start_sink NAME ARGS...: a sink in the server namespace, ready when this returns.
start_sink() {
	local name=$1
	shift
	sl_spawn_ns "$SRV_NS" 60 "$T/$name.json" "$TOOLS/sl_udpsink" --json \
		--ready "$T/$name.ready" "$@"
	SINK_PID=$SL_SPAWNED_PID
	sl_wait_file "$T/$name.ready" 5 "$SINK_PID"
}

# 1000 paced datagrams per family, plus 200 from the second client address.
for fam in 4 6; do
	dst_var=SRV_IP$fam src_var=CLI_IP$fam src2_var=CLI2_IP$fam
	start_sink "sink$fam" --port 7000
	sl_in_ns_t 30 "$CLI_NS" "$TOOLS/sl_udpflood" --dst "${!dst_var}" --port 7000 --count 1000 \
		--rate 20000 --json >"$T/flood$fam.json"
	sl_in_ns_t 30 "$CLI_NS" "$TOOLS/sl_udpflood" --dst "${!dst_var}" --src "${!src2_var}" \
		--port 7000 --count 200 --json >"$T/flood${fam}b.json"
	sleep 0.2
	sl_stop_pid "$SINK_PID"
	cat "$T/flood$fam.json" "$T/sink$fam.json"
	sl_assert_eq "$(sl_json "$T/flood$fam.json" 'd["sent"]')" 1000 "IPv$fam flood sent"
	sl_assert_ge "$(sl_json "$T/flood$fam.json" 'd["window"]')" 0.045 "IPv$fam paced window"
	sl_assert_ge "$(sl_json "$T/sink$fam.json" 'd["packets"]')" 1190 "IPv$fam sink received"
	sl_assert_ge "$(sl_json "$T/sink$fam.json" \
		"[s['packets'] for s in d['sources'] if s['addr'] == '${!src_var}'][0]")" \
		990 "IPv$fam datagrams from client address ${!src_var}"
	sl_assert_eq "$(sl_json "$T/sink$fam.json" \
		"[s['packets'] for s in d['sources'] if s['addr'] == '${!src2_var}'][0]")" \
		200 "IPv$fam datagrams from second address ${!src2_var}"
done

# Two threads: two sockets, so two source ports.
start_sink sink2t --port 7000
sl_in_ns_t 30 "$CLI_NS" "$TOOLS/sl_udpflood" --dst "$SRV_IP4" --port 7000 --count 2000 \
	--threads 2 --json >"$T/flood2t.json"
sleep 0.2
sl_stop_pid "$SINK_PID"
sl_assert_eq "$(sl_json "$T/flood2t.json" 'len(set(d["src_ports"]))')" 2 "two source ports"
sl_assert_eq "$(sl_json "$T/flood2t.json" 'd["sent"]')" 2000 "two-thread flood sent"
sl_assert_ge "$(sl_json "$T/sink2t.json" 'd["packets"]')" 1980 "two-thread sink received"

# Spoofed sources over AF_PACKET reach the server interface and its socket. veth marks frames
# without checksum info as verified unless rx checksumming is off: with it off, the sink only
# counts datagrams whose IP and UDP checksums are right.
sl_in_ns "$SRV_NS" ethtool -K "$SRV_IF" rx off >/dev/null
for fam in 4 6; do
	dst_var=SRV_IP$fam
	six=
	[ "$fam" = 6 ] && six=-6
	start_sink "ssink$fam" --port 7001 --max-sources 0
	rx0=$(sl_rx_packets "$SRV_NS" "$SRV_IF")
	sl_in_ns_t 30 "$CLI_NS" "$TOOLS/sl_spoof" $six --ifname "$CLI_IF" --dst-mac "$SRV_MAC" \
		--dst "${!dst_var}" --port 7001 --sources 50 --count 1000 --rate 50000 --seed 1 \
		--json >"$T/spoof$fam.json"
	sleep 0.2
	rx1=$(sl_rx_packets "$SRV_NS" "$SRV_IF")
	sl_stop_pid "$SINK_PID"
	cat "$T/spoof$fam.json" "$T/ssink$fam.json"
	sl_assert_eq "$(sl_json "$T/spoof$fam.json" 'd["sent"]')" 1000 "IPv$fam spoofed frames sent"
	sl_assert_ge $((rx1 - rx0)) 1000 "IPv$fam spoofed frames at $SRV_IF (rx counter)"
	sl_assert_le $((rx1 - rx0)) 1010 "IPv$fam little else at $SRV_IF (rx counter)"
	sl_assert_ge "$(sl_json "$T/ssink$fam.json" 'd["packets"]')" 990 \
		"IPv$fam spoofed datagrams delivered (checksums valid)"
	sl_assert_eq "$(sl_json "$T/ssink$fam.json" 'd["distinct_sources"]')" 50 \
		"IPv$fam distinct spoofed sources"
done
