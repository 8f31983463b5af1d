# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shell helpers for integration tests, the demo and benchmarks: netns, pins, assertions, JSON.
# shellcheck shell=bash
#
# Every test follows this pattern, so that cleanup runs on success, on failure (set -e, sl_fail),
# on Ctrl-C and on the runner's timeout (SIGTERM):
#
#	#!/usr/bin/env bash
#	set -euo pipefail
#	. "$(dirname "$0")/../lib.sh"
#	sl_require_root
#	cleanup() { ...test-specific undo, may be empty...; }
#	sl_trap_cleanup cleanup          # or just: sl_trap_cleanup
#	P=$(sl_prefix)                   # unique per test process: slt<pid>
#	sl_netns_setup "$P"              # exports CLI_NS SRV_NS CLI_IF SRV_IF ... (see below)
#	PIN=$(sl_pin_root)               # /sys/fs/bpf/sluice-test-<pid>
#	sl_tmpdir; T=$SL_TMPDIR
#	sl_spawn_ns "$SRV_NS" 30 "$T/s.json" "$TOOLS/sl_udpsink" --port 7000 --json --ready "$T/r"
#	sl_wait_file "$T/r" 5 "$SL_SPAWNED_PID"
#	sl_in_ns_t 20 "$CLI_NS" "$TOOLS/sl_udpflood" --dst "$SRV_IP4" --port 7000 --count 1000
#	sl_stop_pid "$SL_SPAWNED_PID"
#	sl_assert_ge "$(sl_json "$T/s.json" 'd["packets"]')" 990 "sink got the flood"
#
# The EXIT trap first calls the test's own function, then always: kills every PID registered with
# sl_track_pid (sl_spawn_ns registers its own), deletes the namespaces made by sl_netns_setup,
# removes the pin root and the temporary directory; errors inside cleanup are ignored and the
# test's exit status is kept. Exit status 77 (sl_skip) means "skipped". Once a tracked process
# has been reaped (sl_stop_pid, sl_wait_pid, wait), sl_untrack_pid PID takes it off the list:
# its PID may be reused, and the trap must not kill whatever process got it (a test that starts
# and stops a daemon many times).
#
# Bound every step in time: use sl_in_ns_t / sl_spawn_ns (both wrap `timeout`) or `timeout`
# around any command that could hang. Namespaces are entered with nsenter --net, never
# `ip netns exec`, which remounts /sys and hides /sys/fs/bpf.
#
# Environment (set by tests/integration/run.sh, defaults here for direct runs): SLUICE (the CLI),
# TOOLS (the traffic tools), SL_TEST_PREFIX (namespace name prefix, default "slt").

: "${SLUICE:=build/sluice}"
: "${TOOLS:=build/tools}"
: "${SL_TEST_PREFIX:=slt}"
export SLUICE TOOLS SL_TEST_PREFIX

SL_PIDS=()
SL_NETNS_PREFIXES=()
SL_CLEANUP_FUNC=
SL_TMPDIR=
SL_SPAWNED_PID=

sl_log() {
	echo "# $*"
}

sl_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Exit code 77: the runner prints "SKIP name (REASON)" using the last "SKIP: " line.
sl_skip() {
	echo "SKIP: $*"
	exit 77
}

sl_require_root() {
	[ "$(id -u)" -eq 0 ] || sl_skip "needs root"
}

# sl_require_cmd CMD...: skip the test when a command is missing.
sl_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || sl_skip "command '$c' not found"
	done
}

# A namespace prefix unique to this test process; TAG (one lowercase letter) tells two apart.
# shellcheck disable=SC2120 # the tag is optional
sl_prefix() {
	echo "${SL_TEST_PREFIX}$$${1:-}"
}

# A private temporary directory, removed by the cleanup trap. Call it in the test's own shell
# (not in $(...)) so that cleanup knows it: sl_tmpdir; T=$SL_TMPDIR.
sl_tmpdir() {
	if [ -z "$SL_TMPDIR" ]; then
		SL_TMPDIR=$(mktemp -d "/tmp/sluice-test-$$.XXXXXX")
	fi
}

# ---------------------------------------------------------------------------------- cleanup

# shellcheck disable=SC2120 # the function is optional
sl_trap_cleanup() {
	SL_CLEANUP_FUNC=${1:-}
	trap _sl_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

_sl_on_exit() {
	local rc=$? p
	set +eu
	trap - EXIT INT TERM HUP
	if [ -n "$SL_CLEANUP_FUNC" ]; then
		"$SL_CLEANUP_FUNC"
	fi
	sl_kill_tracked
	for p in "${SL_NETNS_PREFIXES[@]}"; do
		sl_netns_teardown "$p"
	done
	sl_pin_cleanup
	if [ -n "$SL_TMPDIR" ]; then
		rm -rf "$SL_TMPDIR"
	fi
	exit "$rc"
}

sl_track_pid() {
	SL_PIDS+=("$1")
}

# sl_untrack_pid PID: forget a tracked PID (every occurrence) once its process has been reaped,
# so that the cleanup trap never signals another process that reused the number.
sl_untrack_pid() {
	local p keep=()
	for p in "${SL_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	SL_PIDS=("${keep[@]}")
}

# sl_stop_pid PID [SECS]: SIGTERM, wait up to SECS (default 5) for it to exit, then SIGKILL.
# Returns the process's exit status when it is our child (0 if it was already reaped).
sl_stop_pid() {
	local pid=$1 secs=${2:-5} i rc=0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

# sl_wait_pid PID SECS: wait for a background process to end by itself; kill it after SECS.
sl_wait_pid() {
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	sl_stop_pid "$pid" 1
}

sl_kill_tracked() {
	local pid
	for pid in "${SL_PIDS[@]}"; do
		sl_stop_pid "$pid" 2 || true
	done
	SL_PIDS=()
}

# ---------------------------------------------------------------------------------- namespaces

# sl_in_ns NS CMD...: run CMD in namespace NS (network namespace only; /sys and bpffs stay).
sl_in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

# sl_in_ns_t SECS NS CMD...: the same, killed after SECS seconds (exit status 124 then).
# --foreground keeps CMD in the test's process group, so the runner's timeout signal reaches it
# at once and the test's cleanup trap runs (nsenter execs CMD, so nothing sits in between).
sl_in_ns_t() {
	local secs=$1 ns=$2
	shift 2
	timeout --foreground -k 2 "$secs" nsenter --net="/run/netns/$ns" -- "$@"
}

# sl_spawn_ns NS SECS OUT CMD...: start CMD in NS in the background, bounded by SECS, stdout and
# stderr to OUT; the PID is tracked for cleanup and left in SL_SPAWNED_PID. Must be called in the
# test's own shell, not in $(...).
sl_spawn_ns() {
	local ns=$1 secs=$2 out=$3
	shift 3
	timeout --foreground -k 2 "$secs" nsenter --net="/run/netns/$ns" -- "$@" >"$out" 2>&1 &
	SL_SPAWNED_PID=$!
	sl_track_pid "$SL_SPAWNED_PID"
}

# sl_wait_for SECS CMD...: poll CMD every 50 ms until it succeeds; non-zero after SECS.
sl_wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 20; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# sl_wait_file FILE SECS [PID]: wait until FILE exists and is not empty (e.g. sl_udpsink
# --ready); with PID, fail at once if that process has ended (e.g. the sink rejected its flags).
sl_wait_file() {
	local file=$1 secs=$2 pid=${3:-} i
	for ((i = 0; i < secs * 20; i++)); do
		[ -s "$file" ] && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			sl_fail "process $pid ended before writing $file"
		fi
		sleep 0.05
	done
	sl_fail "timed out after $secs s waiting for $file"
}

_sl_mac() {
	sl_in_ns "$1" ip -o link show dev "$2" | sed -n 's|.*link/ether \([0-9a-f:]*\).*|\1|p'
}

_sl_if_ready() {
	local ns=$1 dev=$2
	sl_in_ns "$ns" ip -o link show dev "$dev" | grep -q 'state UP' &&
		[ -z "$(sl_in_ns "$ns" ip -6 addr show dev "$dev" tentative)" ]
}

# sl_netns_setup PREFIX [--second-client]
#
# Client namespace ${PREFIX}c with ${PREFIX}c0 = 10.203.0.1/24, fd00:203::1/64; server namespace
# ${PREFIX}s with ${PREFIX}s0 = 10.203.0.2/24, fd00:203::2/64; one veth pair between them, lo up,
# rp_filter off in the server (spoofed sources reach its sockets), permanent neighbour entries
# both ways (no ARP/ND needed once set up). --second-client adds
# 10.203.0.3 and fd00:203::3 to the client; the IPv6 one is deprecated (preferred_lft 0) so the
# kernel never picks it by itself: bind it with sl_udpflood --src.
# Exports CLI_NS SRV_NS CLI_IF SRV_IF CLI_IP4 SRV_IP4 CLI_IP6 SRV_IP6 CLI_MAC SRV_MAC
# [CLI2_IP4 CLI2_IP6] and returns once both links are up and IPv6 is not tentative.
sl_netns_setup() {
	local p=$1 second=${2:-} i
	unset CLI2_IP4 CLI2_IP6
	if [ $((${#p} + 2)) -gt 15 ]; then
		sl_fail "netns prefix '$p' too long: interface names are limited to 15 characters"
	fi
	CLI_NS=${p}c SRV_NS=${p}s CLI_IF=${p}c0 SRV_IF=${p}s0
	CLI_IP4=10.203.0.1 SRV_IP4=10.203.0.2 CLI_IP6=fd00:203::1 SRV_IP6=fd00:203::2
	export CLI_NS SRV_NS CLI_IF SRV_IF CLI_IP4 SRV_IP4 CLI_IP6 SRV_IP6

	SL_NETNS_PREFIXES+=("$p")
	ip netns add "$CLI_NS"
	ip netns add "$SRV_NS"
	ip link add "$CLI_IF" netns "$CLI_NS" type veth peer name "$SRV_IF" netns "$SRV_NS"
	for i in "$CLI_NS:$CLI_IF" "$SRV_NS:$SRV_IF"; do
		sl_in_ns "${i%%:*}" sysctl -qw "net.ipv6.conf.${i#*:}.accept_dad=0"
		sl_in_ns "${i%%:*}" ip link set lo up
	done
	sl_in_ns "$SRV_NS" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 "net.ipv4.conf.$SRV_IF.rp_filter=0"
	sl_in_ns "$CLI_NS" ip addr add "$CLI_IP4/24" dev "$CLI_IF"
	sl_in_ns "$CLI_NS" ip addr add "$CLI_IP6/64" dev "$CLI_IF" nodad
	sl_in_ns "$SRV_NS" ip addr add "$SRV_IP4/24" dev "$SRV_IF"
	sl_in_ns "$SRV_NS" ip addr add "$SRV_IP6/64" dev "$SRV_IF" nodad
	if [ "$second" = --second-client ]; then
		CLI2_IP4=10.203.0.3 CLI2_IP6=fd00:203::3
		export CLI2_IP4 CLI2_IP6
		sl_in_ns "$CLI_NS" ip addr add "$CLI2_IP4/24" dev "$CLI_IF"
		sl_in_ns "$CLI_NS" ip addr add "$CLI2_IP6/64" dev "$CLI_IF" nodad preferred_lft 0
	elif [ -n "$second" ]; then
		sl_fail "sl_netns_setup: unknown option '$second'"
	fi
	sl_in_ns "$CLI_NS" ip link set "$CLI_IF" up
	sl_in_ns "$SRV_NS" ip link set "$SRV_IF" up
	sl_wait_for 10 _sl_if_ready "$CLI_NS" "$CLI_IF" ||
		sl_fail "$CLI_IF did not come up with usable IPv6"
	sl_wait_for 10 _sl_if_ready "$SRV_NS" "$SRV_IF" ||
		sl_fail "$SRV_IF did not come up with usable IPv6"
	CLI_MAC=$(_sl_mac "$CLI_NS" "$CLI_IF")
	SRV_MAC=$(_sl_mac "$SRV_NS" "$SRV_IF")
	export CLI_MAC SRV_MAC
	# Permanent neighbours: traffic never waits for ARP/ND, which an XDP program under test
	# might drop (a flood to an unresolved neighbour is silently lost after 3 packets).
	for i in "$SRV_IP4" "$SRV_IP6"; do
		sl_in_ns "$CLI_NS" ip neigh replace "$i" lladdr "$SRV_MAC" dev "$CLI_IF" nud permanent
	done
	for i in "$CLI_IP4" "$CLI_IP6" ${CLI2_IP4:+"$CLI2_IP4" "$CLI2_IP6"}; do
		sl_in_ns "$SRV_NS" ip neigh replace "$i" lladdr "$CLI_MAC" dev "$SRV_IF" nud permanent
	done
}

# sl_netns_teardown PREFIX: kill tracked PIDs and anything left inside the two namespaces, then
# delete them. Idempotent; never fails.
sl_netns_teardown() {
	local p=$1 ns pid pids
	sl_kill_tracked
	for ns in "${p}c" "${p}s"; do
		[ -e "/run/netns/$ns" ] || continue
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		for pid in $pids; do
			sl_stop_pid "$pid" 2 || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	return 0
}

_SL_PING_PY=$(cat <<'EOF'
import os, select, socket, struct, sys, time
addr, count = sys.argv[1], int(sys.argv[2])
v6 = ":" in addr
if v6:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    req, rep = 128, 129
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    req, rep = 8, 0

def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF

ident, ok = os.getpid() & 0xFFFF, 0
for seq in range(count):
    body = b"sluice-ping" + bytes(21)
    hdr = struct.pack("!BBHHH", req, 0, 0, ident, seq)
    if not v6:  # the kernel fills in the ICMPv6 checksum itself
        hdr = struct.pack("!BBHHH", req, 0, csum(hdr + body), ident, seq)
    s.sendto(hdr + body, (addr, 0))
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        if not select.select([s], [], [], max(0, end - time.monotonic()))[0]:
            break
        pkt, _ = s.recvfrom(2048)
        if not v6:
            pkt = pkt[(pkt[0] & 0x0F) * 4:]
        t, _, _, i, q = struct.unpack("!BBHHH", pkt[:8])
        if t == rep and i == ident and q == seq:
            ok += 1
            break
print("ping %s: %d/%d replies" % (addr, ok, count))
sys.exit(0 if ok == count else 1)
EOF
)

# sl_ping NS ADDR [COUNT]: ICMP/ICMPv6 echo from NS; succeeds when all COUNT (default 3) replies
# arrive, each within 1 s. Uses raw sockets from python3, so iputils-ping is not needed.
sl_ping() {
	local ns=$1 addr=$2 count=${3:-3}
	sl_in_ns_t $((count * 2 + 5)) "$ns" python3 -c "$_SL_PING_PY" "$addr" "$count"
}

# sl_rx_packets NS DEV / sl_tx_packets NS DEV: the interface's packet counters.
sl_rx_packets() {
	sl_json "$(sl_in_ns "$1" ip -s -j link show dev "$2")" 'd[0]["stats64"]["rx"]["packets"]'
}

sl_tx_packets() {
	sl_json "$(sl_in_ns "$1" ip -s -j link show dev "$2")" 'd[0]["stats64"]["tx"]["packets"]'
}

# ---------------------------------------------------------------------------------- bpffs pins

# sl_pin_root: print this test's pin root /sys/fs/bpf/sluice-test-<pid> (mounting bpffs at
# /sys/fs/bpf first if needed) and export it as SL_PIN_ROOT. The trap removes it with rm -rf.
sl_pin_root() {
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf || sl_fail "cannot mount bpffs at /sys/fs/bpf"
	fi
	SL_PIN_ROOT=/sys/fs/bpf/sluice-test-$$
	export SL_PIN_ROOT
	echo "$SL_PIN_ROOT"
}

sl_pin_cleanup() {
	rm -rf "/sys/fs/bpf/sluice-test-$$" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------- assertions

_SL_NUM_RE='^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$'

_sl_num() {
	[[ $1 =~ $_SL_NUM_RE ]] || sl_fail "$2: '$1' is not a number"
}

# sl_assert_le A B MSG: A <= B (numbers, floats allowed).
sl_assert_le() {
	_sl_num "$1" "$3"
	_sl_num "$2" "$3"
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }' ||
		sl_fail "$3: expected $1 <= $2"
	echo "ok: $3 ($1 <= $2)"
}

# sl_assert_ge A B MSG: A >= B.
sl_assert_ge() {
	_sl_num "$1" "$3"
	_sl_num "$2" "$3"
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }' ||
		sl_fail "$3: expected $1 >= $2"
	echo "ok: $3 ($1 >= $2)"
}

# sl_assert_eq A B MSG: string equality.
sl_assert_eq() {
	[ "$1" = "$2" ] || sl_fail "$3: expected '$2', got '$1'"
	echo "ok: $3 ($1)"
}

# sl_assert_within ACTUAL EXPECTED PERCENT MSG: |ACTUAL - EXPECTED| <= |EXPECTED| * PERCENT / 100.
sl_assert_within() {
	local dev
	_sl_num "$1" "$4"
	_sl_num "$2" "$4"
	_sl_num "$3" "$4"
	dev=$(awk -v a="$1" -v e="$2" 'BEGIN {
		if (e == 0) { printf "%s", (a == 0 ? "0.00" : "inf"); exit }
		d = (a - e) / e * 100; printf "%+.2f", d }')
	awk -v a="$1" -v e="$2" -v p="$3" 'BEGIN {
		d = a - e; if (d < 0) d = -d; m = e < 0 ? -e : e; exit !(d <= m * p / 100) }' ||
		sl_fail "$4: $1 is not within $3% of $2 (off by $dev%)"
	echo "ok: $4 ($1 within $3% of $2, $dev%)"
}

# ---------------------------------------------------------------------------------- JSON

_SL_JSON_PY=$(cat <<'EOF'
import json, os, sys
src, expr = sys.argv[1], sys.argv[2]
if src == "-":
    text = sys.stdin.read()
elif os.path.isfile(src):
    text = open(src).read()
else:
    text = src
try:
    d = json.loads(text)
except ValueError:
    d = None
    for line in reversed(text.splitlines()):
        try:
            d = json.loads(line)
            break
        except ValueError:
            pass
    if d is None:
        sys.exit("sl_json: no JSON in %r" % text[-300:])
try:
    v = eval(expr, {"d": d})
except Exception as e:
    sys.exit("sl_json: %s failed on %s: %s: %s"
             % (expr, json.dumps(d)[:300], type(e).__name__, e))
if isinstance(v, bool) or v is None:
    print(json.dumps(v))
elif isinstance(v, (str, int, float)):
    print(v)
else:
    print(json.dumps(v))
EOF
)

# sl_json FILE_OR_STRING EXPR: evaluate the Python expression EXPR on the parsed JSON `d` and
# print the result: strings bare, true/false/null as in JSON, numbers as is, the rest as JSON.
# FILE_OR_STRING is a file name, "-" for stdin, or the JSON text itself. When the whole text is
# not one JSON document, the last line that is one is used (logs before a --json report).
sl_json() {
	python3 -c "$_SL_JSON_PY" "$1" "$2"
}

# ================================================================================ sluice tests
# Helpers added for the integration tests t_10..t_50 (limiter accuracy, actions, reload, flood,
# JSON). They use this test's pin root (/sys/fs/bpf/sluice-test-<pid>, see sl_pin_root), the
# namespaces of sl_netns_setup and the directory of sl_tmpdir.

# sl_sluice ARGS...: the CLI on this test's pin root, bounded to 60 s.
sl_sluice() {
	timeout -k 2 60 "$SLUICE" --pin-root "/sys/fs/bpf/sluice-test-$$" "$@"
}

# sl_status FILE: `sluice --json status` into FILE.
sl_status() {
	sl_sluice --json status >"$1"
}

_SL_CTR_PY=$(cat <<'EOF_PY'
import json, os, sys
src, rule, path = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.load(open(src)) if os.path.isfile(src) else json.loads(src)
if rule == "-":
    c = d["unclassified"]
else:
    rules = [r for r in d["rules"] if r["name"] == rule]
    if not rules:
        sys.exit("sl_ctr: no rule %r in status (rules: %s)" % (rule, [r["name"] for r in d["rules"]]))
    c = rules[0]["counters"]
for k in path.split("."):
    c = c.get(k, {}) if isinstance(c, dict) else {}
print(c if isinstance(c, int) else 0)
EOF_PY
)

# sl_ctr STATUS RULE PATH: one counter of a `sluice --json status` output (file or text). RULE
# is a rule name, or "-" for the unclassified counters; PATH is dotted: limit.pass.packets,
# drop.packets, deny.drop.bytes ... A reason that has no counters yet (absent) reads 0.
sl_ctr() {
	python3 -c "$_SL_CTR_PY" "$1" "$2" "$3"
}

# sl_sink_start NAME [SL_UDPSINK ARGS...]: start `sl_udpsink --json` in $SRV_NS with its report
# in $SL_TMPDIR/NAME.json and wait until it listens; its PID is left in SL_SINK_PID. Call it in
# the test's own shell, not in $(...). The sink is killed after $SL_SINK_SECS (default 60) s.
sl_sink_start() {
	local name=$1
	shift
	rm -f "$SL_TMPDIR/$name.ready"
	sl_spawn_ns "$SRV_NS" "${SL_SINK_SECS:-60}" "$SL_TMPDIR/$name.json" "$TOOLS/sl_udpsink" \
		--json --ready "$SL_TMPDIR/$name.ready" "$@"
	SL_SINK_PID=$SL_SPAWNED_PID
	sl_wait_file "$SL_TMPDIR/$name.ready" 5 "$SL_SINK_PID"
}

# sl_sink_stop: let in-flight packets arrive (0.2 s), then stop the last sink: its report is
# complete when this returns.
sl_sink_stop() {
	sleep 0.2
	sl_stop_pid "$SL_SINK_PID" || true
}

# sl_src_count SINK_JSON ADDR [FIELD]: packets (or FIELD: bytes) the sink got from ADDR; 0 if none.
sl_src_count() {
	sl_json "$1" "sum(s['${3:-packets}'] for s in d['sources'] if s['addr'] == '$2')"
}

_SL_WIN_PY=$(cat <<'EOF_PY'
import json, sys
first, last = [], []
for f in sys.argv[1:]:
    d = json.load(open(f))
    if d.get("first_ns") and d.get("last_ns"):
        first.append(d["first_ns"])
        last.append(d["last_ns"])
if not first:
    sys.exit("sl_window: no first_ns/last_ns in %s" % sys.argv[1:])
print("%.9f" % ((max(last) - min(first)) / 1e9))
EOF_PY
)

# sl_window REPORT...: seconds from the earliest first_ns to the latest last_ns of the given
# sender reports (sl_udpflood / sl_spoof --json files).
sl_window() {
	python3 -c "$_SL_WIN_PY" "$@"
}

# sl_allowed RATE BURST REPORT...: RATE x W + BURST, W = sl_window REPORT...: what a GCRA/token
# bucket of that rate and burst admits from senders that keep it saturated over that window.
sl_allowed() {
	local rate=$1 burst=$2 w
	shift 2
	w=$(sl_window "$@") || return 1
	awk -v r="$rate" -v b="$burst" -v w="$w" 'BEGIN { printf "%.1f\n", r * w + b }'
}

# sl_calc EXPR: evaluate an awk arithmetic expression, e.g. sl_calc "$a / $b * 100".
sl_calc() {
	awk "BEGIN { printf \"%.10g\n\", ($1) }"
}

# sl_fast_python: make `python3` in this shell (and its subshells) start fast: run the
# interpreter behind a version-manager shim directly, without the site module (a pyenv shim plus
# site-packages cost 0.1-0.3 s per call, and sl_json runs python3 for every value it reads; the
# helpers need only the standard library). Call it once, at the top of a test.
sl_fast_python() {
	local exe
	exe=$(command python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || return 0
	[ -x "$exe" ] || return 0
	eval "python3() { '$exe' -S \"\$@\"; }"
}
