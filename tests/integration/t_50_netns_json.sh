#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# --netns with a namespace made by `ip netns add` (no remount: the host's bpffs stays usable, the
# XDP link is pinned there); status names the namespace; every read command's --json output
# parses (status, policy show, policy check, gc; --json before or after the command); and the
# text of `policy show` is a policy file that re-applies to the same rules and settings.
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
sl_log "pin root $PIN, namespace $SRV_NS (ip netns add), interface $SRV_IF"

# json_ok LABEL FILE: FILE is one JSON object (not just a last line of JSON).
json_ok() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert isinstance(d, dict), type(d)' "$2" ||
		sl_fail "$1: output is not one JSON object: $(head -c 600 "$2")"
	echo "ok: $1: one JSON object ($(wc -c <"$2") bytes, keys $(sl_json "$2" 'sorted(d)'))"
}

MNT_BEFORE=$(sha256sum </proc/self/mountinfo)
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
sl_assert_eq "$(sha256sum </proc/self/mountinfo)" "$MNT_BEFORE" "--netns changed no mount of the caller"
mountpoint -q /sys/fs/bpf || sl_fail "/sys/fs/bpf is no longer a mount point"
LINKS=("$PIN"/links/xdp_*)
[ -e "${LINKS[0]}" ] || sl_fail "no XDP link pinned under $PIN/links: $(ls -la "$PIN/links")"
echo "ok: the XDP link made inside $SRV_NS is pinned in the host's bpffs (${LINKS[*]})"

sl_sluice --json status >"$T/status.json"
json_ok "status --json" "$T/status.json"
sl_assert_eq "$(sl_json "$T/status.json" '[(i["ifname"], i["netns"], i["hook"], i["mode"], i["attached"]) for i in d["interfaces"]]')" \
	"[[\"$SRV_IF\", \"$SRV_NS\", \"xdp\", \"native\", true]]" "status lists the interface with its namespace"
sl_assert_eq "$(sl_json "$T/status.json" 'd["interfaces"][0]["ifindex"]')" \
	"$(sl_json "$(ip -n "$SRV_NS" -j link show dev "$SRV_IF")" 'd[0]["ifindex"]')" \
	"status shows the interface's ifindex inside $SRV_NS"
sl_sluice status >"$T/status.txt"
grep -q "netns $SRV_NS" "$T/status.txt" || sl_fail "text status does not name the namespace: $(cat "$T/status.txt")"
echo "ok: text status names the namespace"

# A policy that uses every feature, so that `policy show` has something to print.
cat >"$T/full.yaml" <<'YAML'
version: 1
name: json-roundtrip
dry_run: false
malformed: drop
fragments: limit
unknown_ethertype: drop
sources:
  - name: default
    cidr: [0.0.0.0/0, "::/0"]
    prefix: {ipv4: 32, ipv6: 64}
    rate: 1000
    burst: 2000
    overflow: {rate: 20k, burst: 40k}
  - name: cgnat
    cidr: 100.64.0.0/10
    unit: bytes
    rate: 50M
    burst: 10M
  - name: partner
    cidr: [198.51.100.0/24, "2001:db8:100::/48"]
    prefix: {ipv4: 24, ipv6: 48}
    rate: 20k
    dry_run: true
  - name: monitoring
    cidr: [192.0.2.10, "2001:db8::10"]
    action: allow
  - name: blocked
    cidr: [203.0.113.0/24, "2001:db8:bad::/48"]
    action: deny
YAML

sl_sluice --json policy check "$T/full.yaml" >"$T/check.json"
json_ok "policy check --json" "$T/check.json"
sl_assert_eq "$(sl_json "$T/check.json" '[d["valid"], d["name"], d["rules"]]')" '[true, "json-roundtrip", 5]' \
	"policy check --json: valid, name, rule count"
sl_sluice policy check "$T/full.yaml" --json >"$T/check2.json"
json_ok "policy check FILE --json (option last)" "$T/check2.json"
sl_sluice policy apply "$T/full.yaml" --json >"$T/apply.json"
json_ok "policy apply --json" "$T/apply.json"
sl_assert_eq "$(sl_json "$T/apply.json" 'd["hash"]')" "$(sl_json "$T/check.json" 'd["hash"]')" \
	"apply and check agree on the file's hash"

sl_sluice --json policy show >"$T/show1.json"
json_ok "policy show --json" "$T/show1.json"
sl_sluice status --json >"$T/status2.json"
json_ok "status --json (option last)" "$T/status2.json"
sl_assert_eq "$(sl_json "$T/status2.json" '[r["name"] for r in d["rules"]]')" \
	'["default", "cgnat", "partner", "monitoring", "blocked"]' "status lists the five rules"
sl_sluice --json gc >"$T/gc.json"
json_ok "gc --json" "$T/gc.json"
sl_assert_eq "$(sl_json "$T/gc.json" 'sorted(d)')" '["deleted", "scanned"]' "gc --json keys"

# `policy show` (text) is a policy file: check it, apply it, and get the same policy back.
sl_sluice policy show >"$T/shown.yaml"
sl_log "policy show:"
sed 's/^/#   /' "$T/shown.yaml"
sl_sluice policy check "$T/shown.yaml" || sl_fail "policy show's output does not pass policy check"
sl_sluice --json policy apply "$T/shown.yaml" >"$T/apply2.json"
sl_assert_eq "$(sl_json "$T/apply2.json" '[d["rules"], d["kept"], d["added"], d["removed"], d["buckets_cleared"]]')" \
	"[5, 5, 0, 0, 0]" "re-applying policy show's output keeps all five rules and their buckets"
sl_sluice --json policy show >"$T/show2.json"
SAME='{k: v for k, v in d.items() if k not in ("hash", "generation", "applied")}'
sl_assert_eq "$(sl_json "$T/show2.json" "$SAME")" "$(sl_json "$T/show1.json" "$SAME")" \
	"policy show --json is the same after re-applying its text (but hash, generation, time)"

# Detach through --netns, then the read commands still work (and parse) without an attachment.
sl_sluice --netns "$SRV_NS" detach "$SRV_IF"
sl_sluice --json status >"$T/status3.json"
json_ok "status --json after detach" "$T/status3.json"
sl_assert_eq "$(sl_json "$T/status3.json" 'd["interfaces"]')" "[]" "no interface after detach"
sl_sluice --netns "$SRV_NS" attach "$SRV_IF" --hook tc
sl_sluice --json status >"$T/status4.json"
sl_assert_eq "$(sl_json "$T/status4.json" '[(i["ifname"], i["netns"], i["hook"], i["attached"]) for i in d["interfaces"]]')" \
	"[[\"$SRV_IF\", \"$SRV_NS\", \"tc\", true]]" "TC attach via --netns listed with its namespace"
sl_sluice --netns "$SRV_NS" detach "$SRV_IF"
[ -z "$(tc -n "$SRV_NS" filter show dev "$SRV_IF" ingress)" ] || sl_fail "TC filter left after detach via --netns"
echo "ok: detach via --netns removed the TC filter"
