#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Quota profiles through `sluice run`, against nginx: tenant mu has two keys and a hard quota of
# 3 a day per key (profile: key); tenant nu a hard quota of 4 a day per source /24 (profile:
# source), sending from two client addresses of different /24s (IPv4) and from IPv6 (its own
# /64). Each key and each source aggregate gets its own 3 (4); `sluice usage` counts the
# subjects and shows the most used one's count.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"
# shellcheck source=tests/integration/http/quota.sh
. "$(dirname "$0")/http/quota.sh"

http_test_setup nsenter timeout python3 nginx curl ss bpftool

quota_keys mu1 mu2 nu
cat "$T/keys/mu2.keys" >>"$T/keys/mu1.keys" # both keys are mu's
cat >"$T/policy.yaml" <<YAML
$(quota_policy_head quota-profiles)
plans:
$(quota_plan per_key "{name: per-key, unit: days, quota: 3, mode: hard, profile: key}")
$(quota_plan per_source "{name: per-net, unit: days, quota: 4, mode: hard, profile: source, prefix4: 24, prefix6: 64}")
tenants:
  - {name: mu, plan: per_key, keys_file: keys/mu1.keys}
  - {name: nu, plan: per_source, keys_file: keys/nu.keys}
YAML

http_nginx_start 8000
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
quota_run_start 2026-07-01T08:00:00Z "$T/policy.yaml" "$T/state" 2
served() { tr ' ' '\n' <<<"$1" | grep -c '^200$' || true; }
# send_from ADDR URL_HOST N KEY: N requests bound to the client address ADDR.
send_from() {
	local i codes=()
	for ((i = 0; i < $3; i++)); do
		codes+=("$(http_curl --max-time 0.5 --interface "$1" -o /dev/null -w '%{http_code}' \
			-H "X-API-Key: $4" "http://$2:8000/v1/files" || true)")
	done
	quota_reset_sockets 8000
	sleep 0.2
	echo "${codes[*]}"
}

got=$(quota_send 5 "${QKEY[mu1]}")
sl_assert_eq "$(served "$got")" 3 "mu, key 1: 3 of 5 served"
got=$(quota_send 5 "${QKEY[mu2]}")
sl_assert_eq "$(served "$got")" 3 "mu, key 2: its own 3 of 5 served"

# A second IPv4 address in another /24 on the client's interface (the server routes back to it
# through its default route on the veth).
sl_in_ns_t 5 "$CLI_NS" ip addr add 10.213.7.1/32 dev "$CLI_IF"
sl_in_ns_t 5 "$SRV_NS" ip route add 10.213.7.1/32 dev "$SRV_IF"
got=$(send_from "$CLI_IP4" "$SRV_IP4" 6 "${QKEY[nu]}")
sl_assert_eq "$(served "$got")" 4 "nu from $CLI_IP4: 4 of 6 served"
got=$(send_from 10.213.7.1 "$SRV_IP4" 6 "${QKEY[nu]}")
sl_assert_eq "$(served "$got")" 4 "nu from 10.213.7.1 (another /24): its own 4 of 6"
got=$(send_from "$CLI_IP6" "[$SRV_IP6]" 6 "${QKEY[nu]}")
sl_assert_eq "$(served "$got")" 4 "nu over IPv6 (its own /64): 4 of 6"

sleep 0.5
quota_usage "$T/u.json"
sl_log "usage: $(sl_json "$T/u.json" '[(q["tenant"], q["profile"], q["subjects"], q["used"], q["limit"]) for q in d["quotas"]]')"
sl_assert_eq "$(quota_u "$T/u.json" mu subjects)" 2 "usage: mu's quota counts 2 keys"
sl_assert_eq "$(quota_u "$T/u.json" mu used)" 3 "usage: mu's most used key used 3"
sl_assert_eq "$(quota_u "$T/u.json" nu subjects)" 3 "usage: nu's quota counts 3 source aggregates"
sl_assert_eq "$(quota_u "$T/u.json" nu used)" 4 "usage: nu's most used aggregate used 4"
http_tenants "$T/tenants.json"
sl_assert_eq "$(sl_json "$T/tenants.json" 'd["tenants"]["mu"]["req_pass"]')" 6 "sluice admitted mu 3 + 3"
sl_assert_eq "$(sl_json "$T/tenants.json" 'd["tenants"]["nu"]["req_pass"]')" 12 "sluice admitted nu 4 + 4 + 4"
