#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The built-in demo: two namespaces joined by veth, sluice on the server side, a flooding and a
# well-behaved client; prints what each sent and what got through, then sluice's own counters.
# Then the HTTP layer: nginx behind sluice, two tenants with API keys, one on a plan with a hard
# quota; `sluice run` enforces it, serves Prometheus metrics and writes a billing usage file;
# `sluice usage`, a `sluice top` snapshot, some metrics and the billing file are shown.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
. tests/integration/http/lib.sh
sl_require_root

RATE=${RATE:-1000}     # packets/s allowed per source
BURST=${BURST:-200}
SECS=${SECS:-4}
HOOK=${HOOK:-xdp}

sl_trap_cleanup http_nginx_stop
P=sldemo$$
P=${P:0:11}
sl_netns_setup "$P" --second-client
PIN=$(sl_pin_root)
sl_tmpdir
T=$SL_TMPDIR
S() { "$SLUICE" --pin-root "$PIN" "$@"; }

KA=sk-demo-alpha-$$-7f3a KB=sk-demo-beta-$$-19c4
mkdir -p "$T/keys"
echo "$KA" >"$T/keys/alpha.keys"
echo "$KB" >"$T/keys/beta.keys"
chmod 600 "$T/keys/"*.keys
cat >"$T/policy.yaml" <<YAML
version: 1
name: demo
sources:
  - name: default
    cidr: [0.0.0.0/0, "::/0"]
    prefix: {ipv4: 32, ipv6: 64}
    rate: $RATE
    burst: $BURST
http:
  ports: [8000]
billing: {period: hours}
plans:
  pro: {rate: 200, burst: 50}
  trial:
    rate: 200
    burst: 50
    action: http429         # answered at the kernel edge: 429 with Retry-After (docs/reject.md)
    quotas:
      - {name: hourly, unit: hours, quota: 25, mode: hard, alert_at: [80, 100]}
tenants:
  - {name: alpha, plan: pro, keys_file: keys/alpha.keys}
  - {name: beta, plan: trial, keys_file: keys/beta.keys}
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

if ! command -v nginx >/dev/null || ! command -v curl >/dev/null; then
	echo "== (nginx or curl missing: scripts/install-deps.sh installs them; HTTP part skipped)"
	exit 0
fi
echo
echo "== HTTP: nginx on $SRV_IP4:8000; tenant alpha (plan pro), tenant beta (plan trial: 25 requests an hour, hard, answered with 429)"
http_nginx_start 8000
# The 429s leave by XDP_TX, which on veth only reaches a peer that runs XDP itself (veth kicks
# the peer's NAPI for it then; a NIC needs nothing): an XDP_PASS program on the client's side.
printf '%s\n' '__attribute__((section("xdp"), used)) int xdp_pass(void *ctx) { return 2; }' \
	'char _license[] __attribute__((section("license"), used)) = "GPL";' |
	clang -O2 -target bpf -c -x c - -o "$T/xdp_pass.o"
sl_in_ns_t 10 "$CLI_NS" ip link set dev "$CLI_IF" xdpdrv obj "$T/xdp_pass.o" sec xdp
STATE=$T/state
MPORT=$((20000 + $$ % 20000))
"$SLUICE" --pin-root "$PIN" run --policy "$T/policy.yaml" --state-dir "$STATE" --interval 200 \
	--flush-interval 1000 --metrics "127.0.0.1:$MPORT" 2>"$T/run.log" &
RUN=$!
sl_track_pid "$RUN"
sl_wait_for 10 test -s "$STATE/usage.json" || { cat "$T/run.log"; sl_fail "sluice run did not start"; }
for who in alpha:$KA beta:$KB; do
	n=0 ok=0
	for ((i = 0; i < 40; i++)); do
		code=$(http_curl -o /dev/null -w '%{http_code}' --max-time 0.3 -H "X-API-Key: ${who#*:}" \
			"http://$SRV_IP4:8000/v1/models" || true)
		n=$((n + 1))
		[ "$code" = 200 ] && ok=$((ok + 1))
	done
	echo "   ${who%%:*}: $n requests, $ok answered by nginx"
done
echo "   beta's next request, answered by sluice in the kernel (nginx never sees it):"
http_curl -i -H "X-API-Key: $KB" "http://$SRV_IP4:8000/v1/models" | tr -d '\r' | sed 's/^/     /' || true
echo
sleep 1.5
echo
S usage --state-dir "$STATE"
echo
echo "== sluice top (one snapshot: not a terminal here; run \`sluice top\` for the live view):"
S top --interval 500 --count 1 --state-dir "$STATE" | sed 's/^/   /'
echo
echo "== Prometheus metrics at http://127.0.0.1:$MPORT/metrics (a few of them):"
curl -s --max-time 3 "http://127.0.0.1:$MPORT/metrics" |
	grep -E '^sluice_(tenant_requests_total|quota_(used|limit)_units|table_entries|billing_last_write)' |
	sed 's/^/   /' || echo "   (metrics endpoint did not answer)"
sl_stop_pid "$RUN" 5 || true
echo
echo "== sluice run's log (alerts at 80 % and 100 % of beta's quota):"
grep -E 'quota_alert|policy_applied' "$T/run.log" | sed 's/^/   /'
echo
for f in "$STATE"/billing/usage-*.jsonl; do
	echo "== billing file $f (highest revision of each record):"
	python3 - "$f" <<'PY'
import json, sys
best = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["id"] not in best or r["revision"] > best[r["id"]]["revision"]:
        best[r["id"]] = r
print(f"   {'tenant':<8} {'plan':<6} {'key_id':<9} {'requests':>8} {'dropped':>8} {'by quota':>8} {'bytes_in':>9} {'bytes_out':>9}  revision")
for r in sorted(best.values(), key=lambda r: r["tenant"]):
    print(f"   {r['tenant']:<8} {r['plan']:<6} {r['key_id']:<9} {r['requests']:>8} {r['requests_dropped']:>8} "
          f"{r['requests_quota']:>8} {r['bytes_in']:>9} {r['bytes_out']:>9}  {r['revision']}")
PY
done
rm -rf build/demo && mkdir -p build/demo
cp "$STATE"/billing/usage-* "$STATE/events.jsonl" build/demo/ 2>/dev/null || true
echo
echo "== copies kept in build/demo/: $(cd build/demo && echo *)"
