#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Refusals answered at the edge (issue 6, bpf/reject.bpf.h): nginx in the server namespace on
# port 8000 with its access log, sluice on the server veth (XDP native; SL_HTTP_HOOK=tc: TC
# ingress, as t_91 runs it), `sluice run` on the real clock (it installs the quota), clients in
# the client namespace:
#   gamma (plan rate far above the load, hard quota of Q_N requests per minute, http429):
#         Q_N requests get 200, the next gets 429 with Retry-After = the seconds to the next
#         minute boundary (+-1) and RateLimit r=0;
#   alpha (rate 2, burst 2, http429), one curl per request: 200, 200, then a complete 429
#         (status line, Retry-After 1..2, RateLimit-Policy and RateLimit as structured fields
#         with the same id and t = Retry-After, Connection: close, Content-Type:
#         application/json, Content-Length = the body's length, a JSON body with error
#         too_many_requests and the limit), curl exits 0;
#   alpha2 (alpha's plan, its own bucket), one keep-alive connection: 200, 200 on it, then the
#         429, read whole (no reset before it), then EOF from the server;
#   delta (high limits), from before gamma's first request until after the last refusal, on
#         new connections and on one keep-alive connection: every request 200;
#   beta (rate 1, burst 1, reset): 200, then curl fails with a reset (exit 56);
#   unknown_key (rate 1, burst 1, http429): 200, then a 429;
#   a source rule `blocked` (10.203.0.3: deny, reject: reset, replies {rate: 1, burst: 3}):
#         of R_N connects at once, 3 are refused by a RST, the rest get no answer (counted as
#         limited).
# Every 429 comes at once (within PROMPT s: before a retransmission, so the refused segment was
# answered, not dropped). Then: nginx's access log has exactly the 200s the clients got, tenant
# for tenant (no refused request reached it); after a bounded settle no connection on port 8000
# is left open on the server (ESTAB, CLOSE-WAIT, LAST-ACK, FIN-WAIT-*, SYN-RECV) or on the
# client (also CLOSE-WAIT, LAST-ACK; TIME-WAIT is reported, not a failure); the reply counters
# of `sluice status --json` equal the pinned per-CPU sums (sl_rstats_v1) and count exactly the
# 429s and RSTs the clients saw, the blocked rule's limited ones, no failed reply.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"

http_test_setup nsenter timeout python3 nginx curl ss bpftool ethtool clang

HOOK=${SL_HTTP_HOOK:-xdp}
Q_N=3         # gamma's quota per minute
R_N=6         # connects from the blocked source
R_BURST=3     # the blocked rule's reply burst
BLOCKED=10.203.0.3
declare -A KEY
mkdir -p "$T/keys"
for n in alpha alpha2 beta gamma delta; do
	KEY[$n]=sk-$n-$$-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	printf '%s\n' "${KEY[$n]}" >"$T/keys/$n.keys"
	chmod 600 "$T/keys/$n.keys"
done
KEYMAP=$(for n in "${!KEY[@]}"; do printf '"%s": "%s"\n' "${KEY[$n]}" "$n"; done |
	paste -sd, | sed 's/^/{/; s/$/}/')

cat >"$T/policy.yaml" <<YAML
version: 1
name: reject
sources:
  - name: everyone
    cidr: [0.0.0.0/0, "::/0"]
    action: allow
  - name: blocked
    cidr: [$BLOCKED]
    action: deny
    reject: reset
    replies: {rate: 1, burst: $R_BURST}
http:
  ports: [8000]
  replies: {rate: 1000, burst: 1000}
plans:
  small: {rate: 2, burst: 2, action: http429}
  resetting: {rate: 1, burst: 1, action: reset}
  metered:
    rate: 100000
    burst: 100000
    action: http429
    quotas:
      - {name: per-minute, unit: minutes, quota: $Q_N, mode: hard}
  big: {rate: 100000, burst: 100000}
tenants:
  - {name: alpha, plan: small, keys_file: keys/alpha.keys}
  - {name: alpha2, plan: small, keys_file: keys/alpha2.keys}
  - {name: beta, plan: resetting, keys_file: keys/beta.keys}
  - {name: gamma, plan: metered, keys_file: keys/gamma.keys}
  - {name: delta, plan: big, keys_file: keys/delta.keys}
unknown_key: {rate: 1, burst: 1, action: http429}
YAML
sl_sluice policy check "$T/policy.yaml" >"$T/check.out" 2>&1 ||
	sl_fail "the policy does not parse (reject/replies/http429 keys): $(cat "$T/check.out")"

# The blocked source: a second client address, and the server's neighbour entry for it.
sl_in_ns "$CLI_NS" ip addr add "$BLOCKED/24" dev "$CLI_IF"
sl_in_ns "$SRV_NS" ip neigh replace "$BLOCKED" lladdr "$CLI_MAC" dev "$SRV_IF" nud permanent
# XDP_TX on a veth puts the frame in the peer's NAPI ring, so the peer needs NAPI: GRO on its
# veth enables it (without, the 429s and RSTs that sluice transmits from XDP are silently lost).
# That is not enough on this kernel (6.18): after XDP_TX, veth_xdp_flush() schedules the peer's
# NAPI only if the peer has an XDP program, so the frames wait in the ring until a packet that
# takes the NAPI path arrives, and with TSO on the server's veth none does (nothing arrives;
# `ethtool -S` shows rx_queue_0_xdp_packets 0 on the client, xdp_tx counting on the server).
# An XDP_PASS program on the client's veth gets them delivered at once. Both hooks run the
# same client.
sl_in_ns "$CLI_NS" ethtool -K "$CLI_IF" gro on >/dev/null
printf '%s\n' '__attribute__((section("xdp"), used)) int xdp_pass(void *ctx) { return 2; }' \
	'char _license[] __attribute__((section("license"), used)) = "GPL";' |
	clang -O2 -target bpf -c -x c - -o "$T/xdp_pass.o"
sl_in_ns "$CLI_NS" ip link set dev "$CLI_IF" xdpdrv obj "$T/xdp_pass.o" sec xdp

http_nginx_start 8000
sl_sluice --netns "$SRV_NS" attach "$SRV_IF" --hook "$HOOK"
sl_status "$T/status0.json"
sl_assert_eq "$(sl_json "$T/status0.json" '[(i["ifname"], i["hook"]) for i in d["interfaces"]]')" \
	"[[\"$SRV_IF\", \"$HOOK\"]]" "attached to $SRV_IF with hook $HOOK"

# `sluice run` on the real clock: it applies the policy and gives the data plane the quota's
# period (its end is what Retry-After counts down to).
STATE=$T/state
timeout --foreground -k 2 120 "$SLUICE" --pin-root "$PIN" run --policy "$T/policy.yaml" \
	--state-dir "$STATE" --interval 200 --flush-interval 1000 2>"$T/run.log" &
RUN_PID=$!
sl_track_pid "$RUN_PID"
run_ready() { kill -0 "$RUN_PID" && [ "$(sl_json "$STATE/usage.json" 'len(d["quotas"])')" = 1 ]; }
sl_wait_for 10 run_ready || sl_fail "sluice run did not start: $(tail -c 800 "$T/run.log")"
http_keys_installed || sl_fail "sluice run installed no keys (sl_keys_v2 is empty)"
sl_status "$T/status1.json"
SLOT_BLOCKED=$(sl_json "$T/status1.json" '[r["slot"] for r in d["rules"] if r["name"] == "blocked"][0]')
SLOT_HTTP=$(awk '/define SL_MAX_RULES /{print $3 + 1}' "$(dirname "$0")/../../include/sluice_abi.h")
sl_log "reply slots: blocked $SLOT_BLOCKED, HTTP layer $SLOT_HTTP"

rj() { python3 "$HTTP_DIR/reject.py" "$@"; }
declare -A OK=() # the 200s each client got
SEEN_429=0 SEEN_RST=0

# creq NAME [KEY]: one request with curl (a new connection); prints "HTTP_CODE CURL_EXIT", the
# response's headers and body in $T/c.NAME.h and $T/c.NAME.b, curl's time_total in $T/c.NAME.t.
creq() {
	local name=$1 key=${2:-} rc=0 out
	out=$(sl_in_ns_t 10 "$CLI_NS" curl -sS --max-time 5 -D "$T/c.$name.h" -o "$T/c.$name.b" \
		-w '%{http_code} %{time_total}' ${key:+-H "X-API-Key: $key"} \
		"http://$SRV_IP4:8000/v1/models" 2>"$T/c.$name.err") || rc=$?
	echo "${out#* }" >"$T/c.$name.t"
	echo "${out%% *} $rc"
}
# A refusal is answered at once: well before the client's first retransmission (an RTO is at
# least 200 ms), which would mean the refused segment was dropped instead (counted as failed).
PROMPT=0.15
# ok200 TENANT NAME: the request NAME got 200 (curl exit 0); counted for the access log.
ok200() {
	sl_assert_eq "$(creq "$2" "${KEY[$1]:-}")" "200 0" "$1: $2 admitted (HTTP status, curl exit)"
	OK[$1]=$((${OK[$1]:-0} + 1))
}
# c429 NAME ID Q W TENANT: the checks of a 429 that curl saved: its limit's id (the RateLimit
# fields and the body's "limit"), RateLimit-Policy's q and w (for a bucket its burst and
# max(1, ceil(burst / rate)) s, for a quota the quota and its period), the body's "tenant"
# (null for unknown_key). Leaves the analysis in $T/c.NAME.json.
c429() {
	local f=$T/c.$1.json
	sl_assert_le "$(cat "$T/c.$1.t")" "$PROMPT" "$1: the 429 came at once (s, curl's time_total)"
	rj parse "$T/c.$1.h" "$T/c.$1.b" >"$f"
	sl_log "$1: $(tr -d '\r' <"$T/c.$1.h" | paste -sd'|') body $(cat "$T/c.$1.b")"
	check429 "$f" "d" "$@"
}
# r429 FILE INDEX NAME ID Q W TENANT: the same of a 429 that reject.py req got (result INDEX of
# FILE), and how its connection ended: the whole response read (no reset before it), then EOF.
r429() {
	local f=$1 i=$2
	shift 2
	sl_assert_eq "$(sl_json "$f" "d['results'][$i]['status']")" 429 "$1: 429"
	sl_assert_le "$(sl_json "$f" "d['results'][$i]['dt']")" "$PROMPT" "$1: the 429 came at once (s)"
	sl_assert_eq "$(sl_json "$f" "d['results'][$i]['error']")" null "$1: the whole response was read (no reset before it)"
	sl_assert_eq "$(sl_json "$f" "d['results'][$i]['after']")" eof "$1: then EOF from the server"
	sl_assert_eq "$(sl_json "$f" "d['results'][$i]['trailing']")" 0 "$1: nothing after the body"
	check429 "$f" "d['results'][$i]['check']" "$@"
}
check429() { # FILE EXPR NAME ID Q W TENANT
	local f=$1 c=$2 w=$3 id=$4 q=$5 win=$6 tenant=$7
	v() { sl_json "$f" "($c)$1"; }
	sl_assert_eq "$(v '["status_line"]')" "HTTP/1.1 429 Too Many Requests" "$w: status line"
	sl_assert_eq "$(v '["duplicate_headers"]')" "[]" "$w: no header twice"
	sl_assert_eq "$(v '["retry_after"] is not None')" true \
		"$w: Retry-After is whole seconds ($(v '["retry_after_raw"]'))"
	sl_assert_eq "$(v '["ratelimit_policy"] is not None')" true \
		"$w: RateLimit-Policy is \"id\";q=INT;w=INT ($(v '["ratelimit_policy_raw"]'))"
	sl_assert_eq "$(v '["ratelimit"] is not None')" true \
		"$w: RateLimit is \"id\";r=INT;t=INT ($(v '["ratelimit_raw"]'))"
	sl_assert_eq "$(v '["ratelimit_policy"]["id"]')" "$id" "$w: RateLimit-Policy names the limit"
	sl_assert_eq "$(v '["ratelimit"]["id"]')" "$id" "$w: RateLimit names the same limit"
	sl_assert_eq "$(v '["ratelimit_policy"]["q"]')" "$q" "$w: RateLimit-Policy q"
	sl_assert_eq "$(v '["ratelimit_policy"]["w"]')" "$win" "$w: RateLimit-Policy w"
	sl_assert_eq "$(v '["ratelimit"]["t"]')" \
		"$(v '["retry_after"]')" "$w: RateLimit t = Retry-After"
	sl_assert_eq "$(v '["connection"]')" close "$w: Connection: close"
	sl_assert_eq "$(v '["content_type"]')" application/json "$w: Content-Type"
	sl_assert_eq "$(v '["content_length"]')" "$(v '["body_len"]')" "$w: Content-Length = the body's length"
	sl_assert_eq "$(v '["json_error"]')" too_many_requests "$w: the body is JSON, error too_many_requests"
	sl_assert_eq "$(v '["json_limit"]')" "$id" "$w: the body names the limit"
	sl_assert_eq "$(v '["json_tenant"]')" "$tenant" "$w: the body names the tenant"
	SEEN_429=$((SEEN_429 + 1))
}

MARK=$(http_log_mark)

# ------------------------------------------------------------ 1. gamma: the quota runs out
# The quota counts per clock minute: start with at least 6 s of the minute left.
s=$(($(date +%s) % 60))
if [ "$s" -ge 54 ]; then
	sl_log "second $s of the minute: waiting for the next one"
	sleep $((61 - s))
fi
# delta (high limits), on new connections and on one keep-alive connection, while the others
# are refused: DELTA_N requests each, every one 200.
DELTA_N=80
sl_spawn_ns "$CLI_NS" 30 "$T/delta-new.json" python3 "$HTTP_DIR/reject.py" req "$SRV_IP4" 8000 \
	--key "${KEY[delta]}" --n "$DELTA_N" --interval 0.05
DELTA1=$SL_SPAWNED_PID
sl_spawn_ns "$CLI_NS" 30 "$T/delta-ka.json" python3 "$HTTP_DIR/reject.py" req "$SRV_IP4" 8000 \
	--key "${KEY[delta]}" --n "$DELTA_N" --interval 0.05 --keepalive
DELTA2=$SL_SPAWNED_PID
for ((i = 1; i <= Q_N; i++)); do
	ok200 gamma "gamma$i"
done
out=$(creq gamma-over "${KEY[gamma]}")
now=$(date +%s)
sl_assert_eq "$out" "429 0" "gamma: request $((Q_N + 1)) refused by the quota with a 429 (curl exit 0)"
c429 gamma-over per-minute "$Q_N" 60 gamma
exp=$((60 - now % 60))
ra=$(sl_json "$T/c.gamma-over.json" 'd["retry_after"]')
sl_log "gamma: Retry-After $ra, seconds to the next minute $exp (date +%s = $now)"
sl_assert_le "$(sl_calc "($ra - $exp) < 0 ? $exp - $ra : $ra - $exp")" 1 \
	"gamma: Retry-After = seconds to the next minute boundary, +-1"
sl_assert_eq "$(sl_json "$T/c.gamma-over.json" 'd["ratelimit"]["r"]')" 0 "gamma: RateLimit r=0"

# ------------------------------------------------------------ 2. alpha
ok200 alpha alpha1
ok200 alpha alpha2
out=$(creq alpha3 "${KEY[alpha]}")
sl_assert_eq "$out" "429 0" "alpha: the 3rd request (burst 2) gets a 429 (curl exit 0)"
c429 alpha3 requests 2 1 alpha
ra=$(sl_json "$T/c.alpha3.json" 'd["retry_after"]')
sl_assert_ge "$ra" 1 "alpha: Retry-After >= 1"
sl_assert_le "$ra" 2 "alpha: Retry-After <= 2 (rate 2/s)"

# One keep-alive connection: the admitted requests on it, then the 429 and the server's close.
sl_in_ns_t 20 "$CLI_NS" python3 "$HTTP_DIR/reject.py" req "$SRV_IP4" 8000 --key "${KEY[alpha2]}" \
	--n 5 --keepalive >"$T/alpha2.json"
sl_log "alpha2: $(sl_json "$T/alpha2.json" '[(r["status"], r["t"], r["after"]) for r in d["results"]]')"
sl_assert_eq "$(sl_json "$T/alpha2.json" '[r["status"] for r in d["results"]]')" "[200, 200, 429]" \
	"alpha2: keep-alive: 200, 200, then 429, and nothing more on the connection"
sl_assert_eq "$(sl_json "$T/alpha2.json" 'd["connections"]')" 1 "alpha2: all on one connection"
r429 "$T/alpha2.json" 2 alpha2 requests 2 1 alpha2
OK[alpha2]=2

# ------------------------------------------------------------ 3. beta: reset
ok200 beta beta1
t0=$(date +%s.%N)
out=$(creq beta2 "${KEY[beta]}")
t1=$(date +%s.%N)
sl_log "beta2: $out after $(sl_calc "$t1 - $t0") s: $(cat "$T/c.beta2.err")"
sl_assert_eq "${out#* }" 56 "beta: the refused request's connection is reset (curl exit 56)"
grep -q -i "reset" "$T/c.beta2.err" || sl_fail "beta: curl does not say reset: $(cat "$T/c.beta2.err")"
SEEN_RST=$((SEEN_RST + 1))

# ------------------------------------------------------------ 4. unknown key: 429
ok200 unknown nokey1
out=$(creq nokey2)
sl_assert_eq "$out" "429 0" "unknown key: the 2nd request (burst 1) gets a 429"
c429 nokey2 unknown_key 1 1 null

# ------------------------------------------------------------ 5. a rule's reset and reply limit
rj_syn() { sl_in_ns_t 10 "$CLI_NS" python3 "$HTTP_DIR/reject.py" syn "$SRV_IP4" 8000 --src "$BLOCKED" "$@"; }
rj_syn --n "$R_N" --wait 0.5 >"$T/syn.json"
sl_log "blocked: $(cat "$T/syn.json")"
sl_assert_eq "$(sl_json "$T/syn.json" 'd["refused"]')" "$R_BURST" \
	"blocked: $R_BURST of $R_N connects refused by a RST (the rule's reply burst)"
sl_assert_eq "$(sl_json "$T/syn.json" 'd["timeout"]')" $((R_N - R_BURST)) \
	"blocked: the others past the reply limit get no answer"

# ------------------------------------------------------------ 6. delta was not disturbed
sl_log "delta: $(sl_json "$T/delta-new.json" 'd["results"][-1]["t"]') s of requests, from before gamma's first"
for p in "$DELTA1" "$DELTA2"; do
	sl_wait_pid "$p" 20
	sl_untrack_pid "$p"
done
for f in delta-new delta-ka; do
	sl_log "$f: $(sl_json "$T/$f.json" 'd["statuses"]') on $(sl_json "$T/$f.json" 'd["connections"]') connections"
	sl_assert_eq "$(sl_json "$T/$f.json" 'd["statuses"]')" "{\"200\": $DELTA_N}" "$f: every request of delta 200"
done
sl_assert_eq "$(sl_json "$T/delta-ka.json" 'd["connections"]')" 1 "delta-ka: all on its one connection"
OK[delta]=$((2 * DELTA_N))

# ------------------------------------------------------------ 7. nothing left open
settled() { # NS PORT BADSTATES -> $T/ss.NS.json
	sl_in_ns_t 5 "$1" ss -tanH >"$T/ss.$1.txt"
	rj ss "$T/ss.$1.txt" "$2" >"$T/ss.$1.json"
	[ "$(sl_json "$T/ss.$1.json" "[s for s in d['states'] if s in '$3'.split()]")" = "[]" ]
}
SRV_BAD="ESTAB CLOSE-WAIT LAST-ACK FIN-WAIT-1 FIN-WAIT-2 SYN-RECV CLOSING"
CLI_BAD="ESTAB CLOSE-WAIT LAST-ACK FIN-WAIT-1 FIN-WAIT-2 SYN-SENT CLOSING"
sl_wait_for 3 settled "$SRV_NS" 8000 "$SRV_BAD" || true
sl_wait_for 3 settled "$CLI_NS" 8000 "$CLI_BAD" || true
for ns in "$SRV_NS" "$CLI_NS"; do
	sl_log "$ns port 8000: $(sl_json "$T/ss.$ns.json" 'd["states"]') $(sl_json "$T/ss.$ns.json" 'd["lines"]')"
done
settled "$SRV_NS" 8000 "$SRV_BAD" || sl_fail "server: connections left on port 8000 after 3 s: $(sl_json "$T/ss.$SRV_NS.json" 'd["lines"]')"
echo "ok: server: no connection on port 8000 left open (TIME-WAIT: $(sl_json "$T/ss.$SRV_NS.json" 'd["states"].get("TIME-WAIT", 0)'))"
settled "$CLI_NS" 8000 "$CLI_BAD" || sl_fail "client: connections left on port 8000 after 3 s: $(sl_json "$T/ss.$CLI_NS.json" 'd["lines"]')"
echo "ok: client: no connection to port 8000 left open (TIME-WAIT: $(sl_json "$T/ss.$CLI_NS.json" 'd["states"].get("TIME-WAIT", 0)'))"

# ------------------------------------------------------------ 8. nginx saw only the admitted
http_log_counts "$MARK" "$KEYMAP" >"$T/log.json"
sl_log "access log: $(sl_json "$T/log.json" '{k: v["n"] for k, v in d.items()}')"
total=0
for n in alpha alpha2 beta gamma delta unknown; do
	sl_assert_eq "$(sl_json "$T/log.json" "d.get('$n', {}).get('n', 0)")" "${OK[$n]:-0}" \
		"$n: the access log has exactly the 200s its clients got"
	total=$((total + ${OK[$n]:-0}))
done
sl_assert_eq "$(($(http_log_mark) - MARK))" "$total" "the access log has as many lines as 200s were seen"
sl_assert_eq "$(sl_json "$T/log.json" 'sorted({s for v in d.values() for s in v["status"]})')" '["200"]' \
	"every request nginx logged it answered 200"

# ------------------------------------------------------------ 9. reply counters
# From `sluice status --json` (rules[].replies and http.replies: {rate, burst, counters}), which
# must equal the pinned per-CPU counters summed; from the maps alone if status has none.
timeout 20 bpftool -j map dump pinned "$PIN/maps/sl_rstats_v1" >"$T/rstats.dump"
rj rstats "$T/rstats.dump" "$SLOT_HTTP" "$SLOT_BLOCKED" >"$T/rstats.maps.json"
sl_status "$T/status2.json"
sl_log "reply counters (sl_rstats_v1): $(cat "$T/rstats.maps.json")"
if [ "$(sl_json "$T/status2.json" '"replies" in d.get("http", {})')" = true ]; then
	sl_json "$T/status2.json" "{'$SLOT_HTTP': d['http']['replies']['counters'],
		'$SLOT_BLOCKED': [r['replies']['counters'] for r in d['rules'] if r['name'] == 'blocked'][0]}" \
		>"$T/rstats.json"
	sl_log "reply counters (sluice status): $(cat "$T/rstats.json")"
	sl_assert_eq "$(sl_json "$T/rstats.json" 'sorted(d.items())')" \
		"$(sl_json "$T/rstats.maps.json" 'sorted(d.items())')" \
		"\`sluice status\` reply counters = the sum of the pinned per-CPU counters"
	sl_assert_eq "$(sl_json "$T/status2.json" '[(r["reject"], r["replies"]["rate"], r["replies"]["burst"]) for r in d["rules"] if r["name"] == "blocked"][0]')" \
		"[\"reset\", 1, $R_BURST]" "status: blocked answers with reset, reply limit 1/s burst $R_BURST"
	sl_assert_eq "$(sl_json "$T/status2.json" '[d["http"]["replies"][k] for k in ("rate", "burst")]')" \
		"[1000, 1000]" "status: the HTTP layer's reply limit 1000/s burst 1000"
else
	sl_log "sluice status --json has no reply counters: checking the maps' sums"
	cp "$T/rstats.maps.json" "$T/rstats.json"
fi
rs() { sl_json "$T/rstats.json" "d['$1'].get('$2', 0)"; }
sl_assert_eq "$(rs "$SLOT_HTTP" http429)" "$SEEN_429" "HTTP layer: http429 = the 429s the clients got"
sl_assert_eq "$(rs "$SLOT_HTTP" rst)" "$SEEN_RST" "HTTP layer: rst = the resets the clients got"
# Each 429'd client's FIN is acknowledged once (on XDP, a FIN that came with the ACK that reset
# the socket is acknowledged when it is retransmitted).
sl_assert_ge "$(rs "$SLOT_HTTP" fin_acked)" "$SEEN_429" "HTTP layer: fin_acked >= the 429s (each client's FIN acknowledged)"
for c in limited no_socket no_template failed; do
	sl_assert_eq "$(rs "$SLOT_HTTP" "$c")" 0 "HTTP layer: $c = 0"
done
sl_assert_eq "$(rs "$SLOT_BLOCKED" rst)" "$R_BURST" "blocked: rst = the connects refused"
sl_assert_eq "$(rs "$SLOT_BLOCKED" limited)" $((R_N - R_BURST)) "blocked: limited = the connects past the reply limit"
sl_assert_eq "$(rs "$SLOT_BLOCKED" failed)" 0 "blocked: failed = 0"

sl_log "summary (hook $HOOK): 200s ${total}, 429s $SEEN_429, resets $SEEN_RST, blocked connects" \
	"refused $(sl_json "$T/syn.json" 'd["refused"]') of $R_N"
