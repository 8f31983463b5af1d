#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The HTTP layer against a real server and real clients: nginx in the server namespace (ports
# 8000 and 8080, IPv4 and IPv6), sluice on the server veth (XDP native; SL_HTTP_HOOK=tc: TC
# ingress, as t_62 runs it), wrk in the client namespace. Two tenants and two unknown-key
# clients load the server at once for 12 s:
#   alpha (plan gold, 100/s, burst 20): two keys, one in X-API-Key to port 8000, one in
#         "Authorization: Bearer" to port 8080, sharing the tenant's bucket;
#   beta  (plan silver, 40/s, burst 10): X-API-Key to port 8000;
#   unknown_key (20/s, burst 20 per source): no key from 10.203.0.1, an unknown key from
#         fd00:203::1 (two aggregates, each its own bucket).
# Checks, per tenant and per unknown source: the requests nginx served (its access log) in
# W = 11 s from the first are rate x W + burst within 2 %; all it served over the run are
# exactly the requests sluice counted as admitted (req_pass, from `sluice tenants`, which must
# equal the pinned per-CPU counters), request for request; refused requests were counted.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"

http_test_setup nsenter timeout python3 nginx wrk curl ss bpftool

HOOK=${SL_HTTP_HOOK:-xdp}
SECS=12 # seconds of load
# The accuracy window: W = WIN s from each client's first served request, inside wrk's run (its
# closed sockets' retransmissions after it ends are not a saturating load).
WIN=11
TOL=2   # percent
A_RATE=100 A_BURST=20
B_RATE=40 B_BURST=10
U_RATE=20 U_BURST=20
KA1=sk-alpha-$$-3c1e9a7f5d
KA2=sk-alpha-$$-b2d4f6a8c0
KB=sk-beta-$$-9e8d7c6b5a
KX=sk-nobody-$$-0000000000 # in no keys file

mkdir -p "$T/keys"
printf '# alpha\n%s\n%s\n' "$KA1" "$KA2" >"$T/keys/alpha.keys"
printf '%s\n' "$KB" >"$T/keys/beta.keys"
chmod 600 "$T/keys/"*.keys
KEYMAP="{\"$KA1\": \"alpha\", \"$KA2\": \"alpha\", \"$KB\": \"beta\"}"

cat >"$T/policy.yaml" <<YAML
version: 1
name: http-tenants
sources:
  - name: everyone
    cidr: [0.0.0.0/0, "::/0"]
    action: allow
http:
  ports: [8000, 8080]
plans:
  gold: {rate: $A_RATE, burst: $A_BURST, action: drop}
  silver: {rate: $B_RATE, burst: $B_BURST, action: drop}
tenants:
  - name: alpha
    plan: gold
    keys_file: keys/alpha.keys
  - name: beta
    plan: silver
    keys_file: keys/beta.keys
unknown_key: {rate: $U_RATE, burst: $U_BURST, prefix: {ipv4: 32, ipv6: 64}, action: drop}
YAML

http_nginx_start 8000 8080
sl_sluice --netns "$SRV_NS" attach "$SRV_IF" --hook "$HOOK"
sl_status "$T/status.json"
sl_assert_eq "$(sl_json "$T/status.json" '[(i["ifname"], i["hook"]) for i in d["interfaces"]]')" \
	"[[\"$SRV_IF\", \"$HOOK\"]]" "attached to $SRV_IF with hook $HOOK"
sl_sluice policy apply "$T/policy.yaml"
http_keys_installed || sl_fail "policy apply installed no keys (sl_keys_v2 is empty)"

# A refused request is dropped, so its client's TCP retransmits it after an RTO (200 ms at
# least) with exponential backoff: with one request in flight per connection, the offered
# rate is about connections / RTO. Enough connections keep every bucket saturated.
MARK=$(http_log_mark)
http_tenants "$T/before.json"
wrk_run() { # NAME CONNS URL [HEADER]
	local name=$1 conns=$2 url=$3
	shift 3
	sl_spawn_ns "$CLI_NS" $((SECS + 20)) "$T/wrk.$name.out" wrk -t1 -c"$conns" -d"${SECS}s" \
		--timeout 10s "$@" "$url"
	WRK_PIDS+=("$SL_SPAWNED_PID")
}
WRK_PIDS=()
wrk_run alpha1 48 "http://$SRV_IP4:8000/v1/models" -H "X-API-Key: $KA1"
wrk_run alpha2 48 "http://$SRV_IP4:8080/v1/embeddings" -H "Authorization: Bearer $KA2"
wrk_run beta 48 "http://$SRV_IP4:8000/v1/models" -H "x-api-key: $KB"
wrk_run nokey 32 "http://$SRV_IP4:8000/v1/models"
wrk_run badkey 32 "http://[$SRV_IP6]:8000/v1/models" -H "X-API-Key: $KX"
for p in "${WRK_PIDS[@]}"; do
	sl_wait_pid "$p" $((SECS + 15))
done
# wrk is gone, but its closed sockets (orphans) still hold refused requests that TCP keeps
# retransmitting: reset them so that nothing arrives after the counts are read.
sl_in_ns_t 10 "$CLI_NS" ss -K -t state all '( dport = :8000 or dport = :8080 )' >/dev/null
sleep 0.5
http_tenants "$T/after.json"
http_log_counts "$MARK" "$KEYMAP" "$WIN" >"$T/log.json"
for n in alpha1 alpha2 beta nokey badkey; do
	sl_log "wrk $n: $(grep -E 'requests in|timeout' "$T/wrk.$n.out" | tr -s ' ' | tr '\n' ';')"
done

ctr() { # NAME FIELD: after - before
	echo $(($(sl_json "$T/after.json" "d['tenants'].get('$1', {}).get('$2', 0)") -
		$(sl_json "$T/before.json" "d['tenants'].get('$1', {}).get('$2', 0)")))
}
logn() { sl_json "$T/log.json" "d.get('$1', {}).get('${2:-n}', 0)"; }

sl_log "counters from: $(sl_json "$T/after.json" 'd["source"]')"
if [ "$(sl_json "$T/after.json" 'd["source"]')" = cli ]; then
	for n in alpha beta unknown; do
		sl_assert_eq "$(sl_json "$T/after.json" "d['tenants']['$n']")" \
			"$(sl_json "$T/after.json.maps" "d['tenants']['$n']")" \
			"$n: \`sluice tenants\` = the sum of the pinned per-CPU counters"
	done
fi
RESULTS=()
check() { # NAME(log) TENANT(sluice, or -) RATE BURST
	local name=$1 tenant=$2 rate=$3 burst=$4 n nw exp
	n=$(logn "$name")
	nw=$(logn "$name" n_win)
	exp=$(sl_calc "$rate * $WIN + $burst")
	sl_log "$name: nginx served $nw in W = $WIN s from its first request, rate x W + burst = $exp;" \
		"$n in all over $(logn "$name" window) s (statuses $(sl_json "$T/log.json" "d.get('$name', {}).get('status')"))"
	RESULTS+=("$name: served $nw in $WIN s, expected $exp ($(sl_calc "100 * ($nw - $exp) / $exp")%); $n in all")
	sl_assert_ge "$(logn "$name" window)" "$WIN" "$name: served over >= $WIN s"
	sl_assert_within "$nw" "$exp" "$TOL" "$name: requests served in W vs rate x W + burst"
	if [ "$tenant" != - ]; then
		sl_log "$tenant: sluice req_pass $(ctr "$tenant" req_pass) req_drop $(ctr "$tenant" req_drop) req_retrans $(ctr "$tenant" req_retrans)"
		sl_assert_eq "$(ctr "$tenant" req_pass)" "$n" "$tenant: sluice's req_pass = requests in nginx's access log"
		sl_assert_ge "$(ctr "$tenant" req_drop)" 1 "$tenant: refused requests counted (req_drop)"
		sl_assert_eq "$(ctr "$tenant" req_dryrun)" 0 "$tenant: nothing in dry-run"
	fi
}
check alpha alpha "$A_RATE" "$A_BURST"
check beta beta "$B_RATE" "$B_BURST"
check "unknown@$CLI_IP4" - "$U_RATE" "$U_BURST"
check "unknown@$CLI_IP6" - "$U_RATE" "$U_BURST"
sl_assert_eq "$(logn unknown)" "$(($(logn "unknown@$CLI_IP4") + $(logn "unknown@$CLI_IP6")))" \
	"every unknown-key request came from one of the two unknown clients"
sl_log "unknown: sluice req_pass $(ctr unknown req_pass) req_drop $(ctr unknown req_drop)"
sl_assert_eq "$(ctr unknown req_pass)" "$(logn unknown)" \
	"unknown-key: sluice's req_pass = requests in nginx's access log"
# Both of alpha's keys and ports were served from the one tenant bucket.
sl_assert_ge "$(sl_json "$T/log.json" "d['alpha']['by_req'].get('GET /v1/models', 0)")" 1 \
	"alpha: served with X-API-Key on port 8000"
sl_assert_ge "$(sl_json "$T/log.json" "d['alpha']['by_req'].get('GET /v1/embeddings', 0)")" 1 \
	"alpha: served with Authorization: Bearer on port 8080"

sl_log "summary (hook $HOOK, load $SECS s, tolerance $TOL %):"
for r in "${RESULTS[@]}"; do
	sl_log "  $r"
done
