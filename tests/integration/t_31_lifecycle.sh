#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Attach/detach/purge lifecycle:
#   - attaching twice is refused ("already attached"), so is a missing interface (named);
#   - detach removes the XDP program (and, for TC, the filter) but keeps maps and counters;
#   - purge leaves nothing: no pin root, no XDP or TC program on the interface, and the programs
#     this test attached are gone from the kernel;
#   - an XDP program attached by someone else (here: sluice under another pin root) makes
#     `sluice attach` fail with advice to use --hook tc; --hook tc works next to it, and our
#     detach/purge leave the other program attached.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

sl_require_root
sl_require_cmd nsenter timeout python3 ip tc bpftool
sl_fast_python
OTHER=/sys/fs/bpf/sluice-test-o-$$ # a second, independent sluice instance
cleanup() {
	[ -d "$OTHER" ] && timeout 30 "$SLUICE" --pin-root "$OTHER" purge >/dev/null 2>&1
	rm -rf "$OTHER"
}
sl_trap_cleanup cleanup
sl_tmpdir
T=$SL_TMPDIR
sl_netns_setup "$(sl_prefix)"
PIN=$(sl_pin_root)
sl_log "pin root $PIN, other pin root $OTHER, interface $SRV_NS/$SRV_IF"

# expect_fail LABEL PATTERN CMD...: CMD exits 1 and its stderr matches the extended regex PATTERN.
expect_fail() {
	local label=$1 pattern=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	sl_log "$label: exit $rc: $(cat "$T/err")"
	sl_assert_eq "$rc" 1 "$label: exit status"
	grep -qE -- "$pattern" "$T/err" || sl_fail "$label: stderr does not match /$pattern/: $(cat "$T/err")"
	echo "ok: $label: message matches /$pattern/"
}

# xdp_prog: id of the XDP program on SRV_IF, 0 if none.
xdp_prog() {
	sl_json "$(ip -n "$SRV_NS" -j link show dev "$SRV_IF")" 'd[0].get("xdp", {}).get("prog", {}).get("id", 0)'
}

tc_filters() {
	tc -n "$SRV_NS" filter show dev "$SRV_IF" ingress
}

prog_gone() {
	! bpftool prog show id "$1" >/dev/null 2>&1
}

counters() {
	sl_json "$1" '[(r["name"], r["counters"]["pass"]["packets"], r["counters"]["drop"]["packets"]) for r in d["rules"]]'
}

cat >"$T/policy.yaml" <<YAML
version: 1
name: lifecycle
sources:
  - name: clients
    cidr: 10.203.0.0/24
    rate: 1000
    burst: 100
YAML

# --- attach, attach again, attach to a missing interface
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
sl_status "$T/st.json"
PROG_XDP=$(sl_json "$T/st.json" 'd["interfaces"][0]["prog_id"]')
sl_assert_eq "$(xdp_prog)" "$PROG_XDP" "ip link shows sluice's XDP program (status prog_id)"
expect_fail "attach twice" "already attached" sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
expect_fail "attach twice with another hook" "already attached" sl_sluice --netns "$SRV_NS" attach "$SRV_IF" --hook tc
expect_fail "attach to a missing interface" "nosuch0" sl_sluice --netns "$SRV_NS" attach nosuch0
sl_assert_eq "$(xdp_prog)" "$PROG_XDP" "the refused attaches left the program in place"

# --- traffic, so that there are counters to keep
sl_sluice policy apply "$T/policy.yaml"
sl_in_ns_t 20 "$CLI_NS" "$TOOLS/sl_udpflood" --dst "$SRV_IP4" --port 7000 --rate 5000 \
	--count 2000 --json >"$T/flood.json"
sl_status "$T/pre.json"
sl_log "counters before detach: $(counters "$T/pre.json")"
sl_assert_ge "$(sl_ctr "$T/pre.json" clients pass.packets)" 100 "the flood was counted (pass)"
sl_assert_ge "$(sl_ctr "$T/pre.json" clients drop.packets)" 1 "the flood was counted (drop)"

# --- detach: program gone, maps and counters stay
sl_sluice --netns "$SRV_NS" detach "$SRV_IF"
sl_assert_eq "$(xdp_prog)" 0 "detach: no XDP program on $SRV_IF"
sl_status "$T/post.json"
sl_assert_eq "$(counters "$T/post.json")" "$(counters "$T/pre.json")" "detach: status works, counters unchanged"
sl_assert_eq "$(sl_json "$T/post.json" 'len(d["interfaces"])')" 0 "detach: no interface listed"
sl_assert_eq "$(sl_json "$T/post.json" 'd["policy"]["name"]')" lifecycle "detach: the policy stays"
[ -e "$PIN/maps/sl_stats_v1" ] || sl_fail "detach: the maps are no longer pinned under $PIN/maps"
echo "ok: detach: maps still pinned ($(find "$PIN/maps" -mindepth 1 | wc -l) maps)"
expect_fail "detach twice" "not attached" sl_sluice --netns "$SRV_NS" detach "$SRV_IF"

# --- TC attach and detach
sl_sluice --netns "$SRV_NS" attach "$SRV_IF" --hook tc
sl_status "$T/st.json"
PROG_TC=$(sl_json "$T/st.json" 'd["interfaces"][0]["prog_id"]')
tc_filters | grep -q "id $PROG_TC " || sl_fail "tc filter show does not list sluice's program $PROG_TC: $(tc_filters)"
echo "ok: tc filter show lists sluice's program $PROG_TC"
sl_assert_eq "$(xdp_prog)" 0 "TC attach: no XDP program"
sl_sluice --netns "$SRV_NS" detach "$SRV_IF"
sl_assert_eq "$(tc_filters)" "" "TC detach: no ingress filter left"

# --- purge: nothing left
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
sl_status "$T/st.json"
PROG_XDP2=$(sl_json "$T/st.json" 'd["interfaces"][0]["prog_id"]')
sl_sluice purge
[ ! -e "$PIN" ] || sl_fail "purge: $PIN still exists: $(find "$PIN")"
echo "ok: purge: pin root $PIN removed"
sl_assert_eq "$(xdp_prog)" 0 "purge: no XDP program on $SRV_IF"
sl_assert_eq "$(tc_filters)" "" "purge: no TC ingress filter on $SRV_IF"
for id in "$PROG_XDP" "$PROG_TC" "$PROG_XDP2"; do
	sl_wait_for 5 prog_gone "$id" || sl_fail "purge: program $id still loaded: $(bpftool prog show id "$id")"
	echo "ok: purge: program $id no longer loaded"
done
if bpftool prog show | grep -E "name sluice_(xdp|tc)" | grep -qE "^($PROG_XDP|$PROG_TC|$PROG_XDP2):"; then
	sl_fail "bpftool still lists a program of this test"
fi
expect_fail "status after purge" "not set up" sl_sluice status

# --- another XDP program on the interface
timeout 30 "$SLUICE" --pin-root "$OTHER" --netns "$SRV_NS" attach "$SRV_IF"
FOREIGN=$(xdp_prog)
sl_log "foreign XDP program $FOREIGN (sluice under $OTHER)"
expect_fail "attach over a foreign XDP program" "--hook tc" sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
expect_fail "attach (skb) over a foreign XDP program" "--hook tc" \
	sl_sluice --netns "$SRV_NS" attach "$SRV_IF" --mode skb
sl_assert_eq "$(xdp_prog)" "$FOREIGN" "the foreign program is untouched by the refused attaches"
sl_sluice --netns "$SRV_NS" attach "$SRV_IF" --hook tc
sl_status "$T/st.json"
sl_assert_eq "$(sl_json "$T/st.json" '[(i["hook"], i["attached"]) for i in d["interfaces"]]')" \
	'[["tc", true]]' "--hook tc works next to the foreign XDP program"
sl_sluice --netns "$SRV_NS" detach "$SRV_IF"
sl_sluice purge
sl_assert_eq "$(xdp_prog)" "$FOREIGN" "our detach and purge leave the foreign XDP program attached"
bpftool prog show id "$FOREIGN" >/dev/null || sl_fail "the foreign program $FOREIGN was unloaded"
sl_assert_eq "$(timeout 30 "$SLUICE" --pin-root "$OTHER" --json status | sl_json - '[(i["ifname"], i["attached"]) for i in d["interfaces"]]')" \
	"[[\"$SRV_IF\", true]]" "the other instance still reports its attachment"
timeout 30 "$SLUICE" --pin-root "$OTHER" purge
sl_assert_eq "$(xdp_prog)" 0 "the other instance's purge removes its program"
[ ! -e "$OTHER" ] || sl_fail "$OTHER still exists after its purge"
