#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Rule actions and dry-run, end to end (XDP native):
#   allow:          a /32 allow rule for one client: never dropped while the other client, on the
#                   default rule, is limited;
#   deny:           every packet dropped, counted under deny;
#   rule dry_run:   would-drops counted under dryrun, everything reaches the sink;
#   global dry_run: the same for every rule, including a deny rule.
# (malformed: drop vs pass is covered by the BPF_PROG_TEST_RUN tests.)
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
sl_log "pin root $PIN; limited client $CLI_IP4, second client $CLI2_IP4"

RATE=1000 # packets/s
BURST=100
OFFER=8000 # packets/s per sender, two threads
SECS=1.5
TOL=2

# policy NAME GLOBAL_DRY DEFAULT_DRY SECOND_RULE_YAML: rule "default" for the /24, and one more
# rule (a /32 for the second client).
policy() {
	cat >"$T/$1.yaml" <<YAML
version: 1
name: $1
dry_run: $2
sources:
  - name: default
    cidr: 10.203.0.0/24
    prefix: {ipv4: 32}
    rate: $RATE
    burst: $BURST
    dry_run: $3
$4
YAML
	sl_sluice policy apply "$T/$1.yaml"
}

# floods LABEL SRC...: one sl_udpflood per source at OFFER pps for SECS s, all at once.
floods() {
	local label=$1 src pids=() p
	shift
	sleep 0.3 # the default rule's bucket is full again (idle > burst/rate)
	sl_status "$T/$label.before.json"
	sl_sink_start "$label.sink" --port 7000
	for src in "$@"; do
		sl_in_ns_t 30 "$CLI_NS" "$TOOLS/sl_udpflood" --dst "$SRV_IP4" --src "$src" --port 7000 \
			--rate "$OFFER" --duration "$SECS" --threads 2 --json >"$T/$label.$src.json" &
		pids+=("$!")
		sl_track_pid "$!"
	done
	for p in "${pids[@]}"; do
		wait "$p" || sl_fail "$label: a flood failed"
	done
	sl_sink_stop
	sl_status "$T/$label.after.json"
}

delta() { # delta LABEL RULE PATH
	echo $(($(sl_ctr "$T/$1.after.json" "$2" "$3") - $(sl_ctr "$T/$1.before.json" "$2" "$3")))
}
sent() { # sent LABEL SRC
	sl_json "$T/$1.$2.json" 'd["sent"]'
}
got() { # got LABEL SRC
	sl_src_count "$T/$1.sink.json" "$2"
}

# limited LABEL: the default rule admitted rate x W + burst of CLI_IP4's flood (in dry-run too).
limited() {
	local label=$1 exp
	exp=$(sl_allowed "$RATE" "$BURST" "$T/$label.$CLI_IP4.json")
	sl_log "$label: $CLI_IP4 sent $(sent "$label" "$CLI_IP4"), expected admitted rate x W + burst =" \
		"$exp; default rule: limit.pass $(delta "$label" default limit.pass.packets)," \
		"limit.drop $(delta "$label" default limit.drop.packets), limit.dryrun" \
		"$(delta "$label" default limit.dryrun.packets); sink got $(got "$label" "$CLI_IP4")"
	sl_assert_within "$(delta "$label" default limit.pass.packets)" "$exp" "$TOL" \
		"$label: default rule admitted (limit.pass) vs rate x W + burst"
}

sl_sluice --netns "$SRV_NS" attach "$SRV_IF"

# --- allow: CLI2 on an allow /32 is never dropped; CLI on the default rule is limited
policy allow false false "  - name: trusted
    cidr: $CLI2_IP4
    action: allow"
floods allow "$CLI_IP4" "$CLI2_IP4"
limited allow
sl_assert_within "$(got allow "$CLI_IP4")" "$(sl_allowed "$RATE" "$BURST" "$T/allow.$CLI_IP4.json")" "$TOL" \
	"allow: sink got from the limited client vs rate x W + burst"
sl_assert_eq "$(delta allow trusted allow.pass.packets)" "$(sent allow "$CLI2_IP4")" \
	"allow: every packet of $CLI2_IP4 passed under reason allow"
sl_assert_eq "$(delta allow trusted drop.packets)" 0 "allow: nothing of $CLI2_IP4 dropped"
sl_assert_eq "$(got allow "$CLI2_IP4")" "$(sent allow "$CLI2_IP4")" \
	"allow: sink got every packet of $CLI2_IP4"

# --- deny: everything from CLI2 dropped, counted under deny
policy deny false false "  - name: blocked
    cidr: $CLI2_IP4
    action: deny"
floods deny "$CLI2_IP4"
sl_log "deny: $CLI2_IP4 sent $(sent deny "$CLI2_IP4"); deny.drop $(delta deny blocked deny.drop.packets), pass $(delta deny blocked pass.packets); sink got $(got deny "$CLI2_IP4")"
sl_assert_eq "$(delta deny blocked deny.drop.packets)" "$(sent deny "$CLI2_IP4")" \
	"deny: every packet of $CLI2_IP4 dropped under reason deny"
sl_assert_eq "$(delta deny blocked pass.packets)" 0 "deny: nothing passed"
sl_assert_eq "$(got deny "$CLI2_IP4")" 0 "deny: sink got nothing from $CLI2_IP4"

# --- rule dry_run: the default rule would drop, but passes and counts under dryrun
policy rule-dry false true "  - name: blocked
    cidr: $CLI2_IP4
    action: deny"
sl_status "$T/st.json"
sl_assert_eq "$(sl_json "$T/st.json" '[(r["name"], r["dry_run"]) for r in d["rules"]]')" \
	'[["default", true], ["blocked", false]]' "rule-dry: status shows dry_run per rule"
sl_assert_eq "$(sl_json "$T/st.json" 'd["policy"]["dry_run"]')" false "rule-dry: not a global dry-run"
floods rule-dry "$CLI_IP4"
limited rule-dry
sl_assert_eq "$(delta rule-dry default limit.dryrun.packets)" \
	"$(($(sent rule-dry "$CLI_IP4") - $(delta rule-dry default limit.pass.packets)))" \
	"rule-dry: every would-drop counted under limit.dryrun (sent - admitted)"
sl_assert_eq "$(delta rule-dry default drop.packets)" 0 "rule-dry: nothing dropped"
sl_assert_eq "$(got rule-dry "$CLI_IP4")" "$(sent rule-dry "$CLI_IP4")" \
	"rule-dry: sink got every packet of $CLI_IP4"

# --- global dry_run: limit and deny rules both pass everything and count would-drops
policy global-dry true false "  - name: blocked
    cidr: $CLI2_IP4
    action: deny"
sl_status "$T/st.json"
sl_assert_eq "$(sl_json "$T/st.json" 'd["policy"]["dry_run"]')" true "global-dry: status shows the global dry-run"
floods global-dry "$CLI_IP4" "$CLI2_IP4"
limited global-dry
sl_assert_eq "$(delta global-dry default limit.dryrun.packets)" \
	"$(($(sent global-dry "$CLI_IP4") - $(delta global-dry default limit.pass.packets)))" \
	"global-dry: the default rule's would-drops counted under limit.dryrun"
sl_assert_eq "$(delta global-dry blocked deny.dryrun.packets)" "$(sent global-dry "$CLI2_IP4")" \
	"global-dry: the deny rule's would-drops counted under deny.dryrun"
sl_assert_eq "$(($(delta global-dry default drop.packets) + $(delta global-dry blocked drop.packets)))" 0 \
	"global-dry: nothing dropped"
sl_assert_eq "$(got global-dry "$CLI_IP4")" "$(sent global-dry "$CLI_IP4")" \
	"global-dry: sink got every packet of $CLI_IP4"
sl_assert_eq "$(got global-dry "$CLI2_IP4")" "$(sent global-dry "$CLI2_IP4")" \
	"global-dry: sink got every packet of the denied $CLI2_IP4"

# --- and back: dry-run off again limits and denies for real (no stale dry-run state)
policy enforce false false "  - name: blocked
    cidr: $CLI2_IP4
    action: deny"
floods enforce "$CLI_IP4" "$CLI2_IP4"
limited enforce
sl_assert_eq "$(got enforce "$CLI2_IP4")" 0 "enforce: sink got nothing from the denied $CLI2_IP4"
sl_assert_eq "$(delta enforce blocked deny.drop.packets)" "$(sent enforce "$CLI2_IP4")" \
	"enforce: every packet of $CLI2_IP4 dropped under deny"
