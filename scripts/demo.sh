#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The built-in demo: two namespaces joined by veth, sluice on the server side, a flooding and a
# well-behaved client; prints what each sent and what got through, then sluice's own counters.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
sl_require_root

RATE=${RATE:-1000}     # packets/s allowed per source
BURST=${BURST:-200}
SECS=${SECS:-4}
HOOK=${HOOK:-xdp}

sl_trap_cleanup
P=sldemo$$
P=${P:0:11}
sl_netns_setup "$P" --second-client
PIN=$(sl_pin_root)
sl_tmpdir
T=$SL_TMPDIR
S() { "$SLUICE" --pin-root "$PIN" "$@"; }

cat >"$T/policy.yaml" <<YAML
version: 1
name: demo
sources:
  - name: default
    cidr: [0.0.0.0/0, "::/0"]
    prefix: {ipv4: 32, ipv6: 64}
    rate: $RATE
    burst: $BURST
YAML

echo "== sluice demo: every source limited to $RATE packets/s (burst $BURST), $HOOK on $SRV_IF"
S --netns "$SRV_NS" attach "$SRV_IF" --hook "$HOOK"
S policy apply "$T/policy.yaml"

sl_spawn_ns "$SRV_NS" $((SECS + 20)) "$T/sink.json" "$TOOLS/sl_udpsink" --port 7000 --json \
	--ready "$T/ready"
SINK=$SL_SPAWNED_PID
sl_wait_file "$T/ready" 5

echo "== $CLI2_IP4 floods as fast as it can from both CPUs; $CLI_IP4 sends 300 packets/s"
sl_in_ns_t $((SECS + 10)) "$CLI_NS" "$TOOLS/sl_udpflood" --dst "$SRV_IP4" --port 7000 \
	--src "$CLI2_IP4" --threads 2 --duration "$SECS" --json >"$T/flood.json" &
FLOOD=$!
sl_in_ns_t $((SECS + 10)) "$CLI_NS" "$TOOLS/sl_udpflood" --dst "$SRV_IP4" --port 7000 \
	--src "$CLI_IP4" --rate 300 --duration "$SECS" --json >"$T/good.json"
wait "$FLOOD"
sleep 0.3
sl_stop_pid "$SINK"

python3 - "$T" "$RATE" "$BURST" "$CLI_IP4" "$CLI2_IP4" <<'PY'
import json, sys
t, rate, burst, good_ip, flood_ip = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
sink = json.load(open(f"{t}/sink.json"))
per = {s["addr"] if "addr" in s else s.get("source", ""): s for s in sink.get("sources", [])}
def got(ip):
    for k, v in per.items():
        if k.split(":")[0] == ip or k == ip or k.startswith(ip + ":") or k.startswith("[" + ip):
            return v.get("packets", 0)
    return 0
print()
print(f"{'source':<14} {'sent':>10} {'received':>10} {'allowed at most':>16}")
for name, ip in (("good", good_ip), ("flood", flood_ip)):
    snd = json.load(open(f"{t}/{name}.json"))
    window = snd.get("window", snd.get("elapsed", 0))
    cap = int(rate * window + burst)
    print(f"{ip:<14} {snd['sent']:>10} {got(ip):>10} {cap:>16}   ({name})")
PY
echo
S status
