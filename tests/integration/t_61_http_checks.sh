#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The HTTP layer, request by request, with nginx and curl, on XDP native and then on TC (one pin
# root: detach, attach --hook tc; counters continue). Per hook:
#   - key forms: X-API-Key, Authorization: Bearer, header names and "Bearer" in mixed case,
#     on ports 8000 and 8080, IPv4 and IPv6: each request is the tenant's (req_pass + 1);
#   - no key, an unknown key, and a valid key whose header starts after the first 512 bytes of
#     the request (docs/http.md: not seen): unknown-key requests; the same key 300 bytes in is
#     the tenant's;
#   - a POST with a 20 kB body: the tenant's bytes_in is every byte curl sent (headers and
#     body), bytes_out every byte nginx sent (its $bytes_sent), also for a 64 KiB response;
#   - a group on POST /v1/chat/completions limited to burst 3 (rate 1/s) caps that path only:
#     of 8 parallel POSTs 3 (4 if a token refills) are served, of 8 parallel GETs all; units
#     are the group's weight per admitted request;
#   - non-HTTP payload to port 8000 (a TLS record; text starting like a method), sent while
#     that source's unknown-key requests are being refused, passes untouched: nginx answers
#     each with 400, and sluice counts nothing of it.
# Every request is also in nginx's access log: sluice's req_pass agrees with it exactly.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"

http_test_setup nsenter timeout python3 nginx curl ss bpftool

KA=sk-alpha-$$-5e1d0c9b8a7f
KX=sk-nobody-$$-00000000
mkdir -p "$T/keys"
printf '%s\n' "$KA" >"$T/keys/alpha.keys"
chmod 600 "$T/keys/alpha.keys"
KEYMAP="{\"$KA\": \"alpha\"}"
WEIGHT=3

cat >"$T/policy.yaml" <<YAML
version: 1
name: http-checks
sources:
  - name: everyone
    cidr: [0.0.0.0/0, "::/0"]
    action: allow
http:
  ports: [8000, 8080]
plans:
  pro: {rate: 100, burst: 100}
tenants:
  - name: alpha
    plan: pro
    keys_file: keys/alpha.keys
unknown_key: {rate: 2, burst: 5, prefix: {ipv4: 32, ipv6: 64}}
groups:
  - name: chat
    match: {port: 8000, method: POST, path: /v1/chat/completions}
    weight: $WEIGHT
    limits: [{name: chat-rate, rate: 1, burst: 3}]
  - name: other
YAML

http_nginx_start 8000 8080 9000
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
sl_sluice policy apply "$T/policy.yaml"
http_keys_installed || sl_fail "policy apply installed no keys (sl_keys_v2 is empty)"
# Request bodies: 'x' bytes, and 'G' bytes (every body segment then begins with a letter that
# can begin a method: the layer must still see it as a body segment, docs/http.md).
head -c 20000 /dev/zero | tr '\0' x >"$T/body.x"
head -c 20000 /dev/zero | tr '\0' G >"$T/body.G"

snap() { # NAME: sluice's counters and the access log's line count now
	http_tenants "$T/$1.json"
	http_log_mark >"$T/$1.mark"
}
d() { # FROM TO TENANT FIELD: counter delta
	echo $(($(sl_json "$T/$2.json" "d['tenants'].get('$3', {}).get('$4', 0)") -
		$(sl_json "$T/$1.json" "d['tenants'].get('$3', {}).get('$4', 0)")))
}
logd() { # FROM TO TENANT [FIELD]: from the access log lines between two snapshots
	local from to
	from=$(cat "$T/$1.mark") to=$(cat "$T/$2.mark")
	head -n "$to" "$SL_TMPDIR/access.log" >"$T/log.part"
	python3 "$HTTP_DIR/logcount.py" "$T/log.part" "$from" "$KEYMAP" |
		python3 -c "import json,sys; v = json.load(sys.stdin).get('$3', {}).get('${4:-n}', 0); print(v if isinstance(v, int) else json.dumps(v, sort_keys=True))"
}
# one LABEL TENANT CURL_ARGS...: one request, expected to be TENANT's ("alpha" or "unknown").
one() {
	local label=$1 want=$2 other code
	shift 2
	other=alpha
	[ "$want" = alpha ] && other=unknown
	snap one.0
	code=$(http_curl -o /dev/null -w '%{http_code}' "$@") || true
	snap one.1
	sl_assert_eq "$code" 200 "$HOOK $label: served"
	sl_assert_eq "$(d one.0 one.1 "$want" req_pass)" 1 "$HOOK $label: one admitted request of $want"
	sl_assert_eq "$(d one.0 one.1 "$other" req_pass)" 0 "$HOOK $label: none of $other"
}
reset_client_sockets() {
	sl_in_ns_t 10 "$CLI_NS" ss -K -t state all '( dport = :8000 or dport = :8080 )' >/dev/null
}

checks() {
	local pad300 pad700 i sent out ch_ok get_ok pids wrk_pid b
	snap start

	# --- key forms
	one "X-API-Key" alpha -H "X-API-Key: $KA" "http://$SRV_IP4:8000/v1/models"
	one "Authorization: Bearer" alpha -H "Authorization: Bearer $KA" "http://$SRV_IP4:8000/v1/models"
	one "mixed-case x-Api-KEY, port 8080" alpha -H "x-Api-KEY: $KA" "http://$SRV_IP4:8080/v1/models"
	one "mixed-case AUTHORIZATION: bEaReR, IPv6" alpha -H "AUTHORIZATION: bEaReR $KA" \
		"http://[$SRV_IP6]:8000/v1/models"
	one "no key" unknown "http://$SRV_IP4:8000/v1/models"
	one "unknown key" unknown -H "X-API-Key: $KX" "http://$SRV_IP4:8000/v1/models"
	pad300=() pad700=()
	for i in 1 2 3 4 5 6; do pad300+=(-H "X-Pad-$i: $(printf '%040d' 0)"); done
	for i in $(seq 1 14); do pad700+=(-H "X-Pad-$i: $(printf '%040d' 0)"); done
	one "key header at ~350 bytes" alpha "${pad300[@]}" -H "X-API-Key: $KA" "http://$SRV_IP4:8000/v1/models"
	one "key header after 512 bytes" unknown "${pad700[@]}" -H "X-API-Key: $KA" "http://$SRV_IP4:8000/v1/models"

	# --- bytes: a 20 kB POST body in (proxied, so nginx reads it all), then a 64 KiB response
	for b in x G; do
		snap bytes.0
		out=$(http_curl -o /dev/null -H "Expect:" -H "X-API-Key: $KA" --data-binary "@$T/body.$b" \
			-w '%{http_code} %{size_request} %{size_upload}' "http://$SRV_IP4:8080/v1/upload")
		sleep 0.2
		snap bytes.1
		sl_log "$HOOK POST ($b body): curl sent (status, request bytes, body bytes) $out;" \
			"sluice: bytes_in $(d bytes.0 bytes.1 alpha bytes_in) bytes_out $(d bytes.0 bytes.1 alpha bytes_out)"
		sl_assert_eq "${out%% *}" 200 "$HOOK POST ($b body): served"
		sent=$(echo "$out" | cut -d' ' -f2) # %{size_request}: request head and body
		sl_assert_eq "$(echo "$out" | cut -d' ' -f3)" 20000 "$HOOK POST ($b body): curl sent the 20 kB body"
		sl_assert_eq "$(logd bytes.0 bytes.1 alpha request_length)" "$sent" \
			"$HOOK POST ($b body): nginx read every byte (\$request_length)"
		sl_assert_eq "$(d bytes.0 bytes.1 alpha req_pass)" 1 "$HOOK POST ($b body): one request"
		sl_assert_eq "$(d bytes.0 bytes.1 alpha bytes_out)" "$(logd bytes.0 bytes.1 alpha bytes_sent)" \
			"$HOOK POST ($b body): bytes_out = nginx's \$bytes_sent"
		sl_assert_eq "$(d bytes.0 bytes.1 alpha bytes_in)" "$sent" \
			"$HOOK POST ($b body): bytes_in = every byte of the request (head and body)"
	done
	snap bytes.2
	out=$(http_curl -o /dev/null -H "X-API-Key: $KA" -w '%{http_code} %{size_header} %{size_download}' \
		"http://$SRV_IP4:8000/big")
	sleep 0.2
	snap bytes.3
	sl_log "$HOOK GET /big: curl got (status, header bytes, body bytes) $out"
	sl_assert_eq "$(d bytes.2 bytes.3 alpha bytes_out)" \
		$(($(echo "$out" | cut -d' ' -f2) + $(echo "$out" | cut -d' ' -f3))) \
		"$HOOK GET /big: bytes_out = every byte curl received"
	sl_assert_eq "$(d bytes.2 bytes.3 alpha bytes_out)" "$(logd bytes.2 bytes.3 alpha bytes_sent)" \
		"$HOOK GET /big: bytes_out = nginx's \$bytes_sent"

	# --- groups: POST /v1/chat/completions at most burst 3 (+1/s), GET unaffected
	sleep 3.1 # the chat bucket is full again (3 at 1/s)
	snap grp.0
	pids=()
	for i in $(seq 1 8); do
		sl_in_ns_t 10 "$CLI_NS" curl -s -o /dev/null --max-time 0.8 -H "Expect:" -H "X-API-Key: $KA" \
			--data-binary '{"model":"m","messages":[]}' "http://$SRV_IP4:8000/v1/chat/completions" &
		pids+=($!)
	done
	for i in $(seq 1 8); do
		sl_in_ns_t 10 "$CLI_NS" curl -s -o /dev/null --max-time 0.8 -H "X-API-Key: $KA" \
			"http://$SRV_IP4:8000/v1/chat/models" &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	reset_client_sockets # refused POSTs in closed sockets: TCP would retransmit them
	sleep 0.2
	snap grp.1
	ch_ok=$(sl_json "$(logd grp.0 grp.1 alpha by_req)" 'd.get("POST /v1/chat/completions", 0)')
	get_ok=$(sl_json "$(logd grp.0 grp.1 alpha by_req)" 'd.get("GET /v1/chat/models", 0)')
	sl_log "$HOOK groups: served $ch_ok of 8 chat POSTs, $get_ok of 8 GETs; sluice: pass" \
		"$(d grp.0 grp.1 alpha req_pass) drop $(d grp.0 grp.1 alpha req_drop) units $(d grp.0 grp.1 alpha units)"
	sl_assert_ge "$ch_ok" 3 "$HOOK groups: chat POSTs served >= the group's burst"
	sl_assert_le "$ch_ok" 4 "$HOOK groups: chat POSTs served <= burst + 1 s of rate"
	sl_assert_eq "$get_ok" 8 "$HOOK groups: every GET served (the group limit is on chat only)"
	sl_assert_eq "$(d grp.0 grp.1 alpha req_pass)" $((ch_ok + get_ok)) "$HOOK groups: req_pass = served"
	sl_assert_ge "$(d grp.0 grp.1 alpha req_drop)" $((8 - ch_ok)) "$HOOK groups: refused POSTs counted"
	sl_assert_eq "$(d grp.0 grp.1 alpha units)" $((WEIGHT * ch_ok + get_ok)) \
		"$HOOK groups: units = weight $WEIGHT per chat request + 1 per other request"

	# --- non-HTTP payload, while this source's unknown-key requests are being refused: wrk
	# without a key keeps the bucket empty; 20 payloads that are not HTTP (a TLS record, and
	# text that starts like a method) each reach nginx, which answers 400
	snap junk.0
	sl_spawn_ns "$CLI_NS" 20 "$T/wrk.junk.out" wrk -t1 -c8 -d3s --timeout 5s "http://$SRV_IP4:8000/v1/models"
	wrk_pid=$SL_SPAWNED_PID
	sleep 1
	sl_in_ns_t 10 "$CLI_NS" python3 -c '
import socket, sys
ok = 0
for i in range(20):
    s = socket.create_connection((sys.argv[1], 8000), timeout=2)
    s.sendall(b"\x16\x03\x01\x00\x05hello, this is not HTTP\r\n\r\n" if i % 2 else
              b"Hello, this is not HTTP either\r\n\r\n")
    ok += s.recv(100).startswith(b"HTTP/1.1 400")
    s.close()
print(ok)' "$SRV_IP4" >"$T/junk.out"
	sl_wait_pid "$wrk_pid" 10
	reset_client_sockets
	sleep 0.2
	snap junk.1
	sl_log "$HOOK non-HTTP: answered with 400: $(cat "$T/junk.out") of 20, while sluice refused" \
		"$(d junk.0 junk.1 unknown req_drop) and admitted $(d junk.0 junk.1 unknown req_pass) unknown-key requests;" \
		"log: $(logd junk.0 junk.1 unknown status)"
	sl_assert_eq "$(cat "$T/junk.out")" 20 "$HOOK non-HTTP: nginx answered every payload"
	sl_assert_eq "$(sl_json "$(logd junk.0 junk.1 unknown status)" 'd.get("400", 0)')" 20 \
		"$HOOK non-HTTP: 20 x 400 in the access log"
	sl_assert_ge "$(d junk.0 junk.1 unknown req_drop)" 1 "$HOOK non-HTTP: meanwhile unknown-key requests were refused"
	sl_assert_eq "$(d junk.0 junk.1 unknown req_pass)" "$(sl_json "$(logd junk.0 junk.1 unknown status)" 'd.get("200", 0)')" \
		"$HOOK non-HTTP: unknown req_pass = the no-key requests served (the payloads not counted)"
	sl_assert_eq "$(d junk.0 junk.1 unknown bytes_in)" \
		"$(sl_json "$(logd junk.0 junk.1 unknown request_length_by_status)" 'd.get("200", 0)')" \
		"$HOOK non-HTTP: unknown bytes_in = bytes of the no-key requests served (the payloads not counted)"

	# --- everything this hook saw: log and counters agree (the key past 512 bytes aside)
	sleep 0.3
	snap end
	sl_assert_eq "$(d start end alpha req_pass)" $(($(logd start end alpha) - 1)) \
		"$HOOK: alpha's req_pass = its access-log lines, less the one key sluice cannot see"
	sl_assert_eq "$(d start end unknown req_pass)" $(($(logd start end unknown) + 1 - 20)) \
		"$HOOK: unknown req_pass = unknown access-log lines + that one, less 20 non-HTTP"
}

HOOK=xdp
checks
sl_sluice --netns "$SRV_NS" detach "$SRV_IF"
sl_sluice --netns "$SRV_NS" attach "$SRV_IF" --hook tc
sleep 2.6 # the unknown-key bucket is full again (5 at 2/s)
HOOK=tc
checks
