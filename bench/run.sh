#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# sluice benchmarks (`make bench`): receiver-side throughput, accuracy and CPU of bare XDP_DROP,
# an nft meter, iptables hashlimit and sluice under a live-frames flood; then the per-packet
# cost of the XDP programs under BPF_PROG_TEST_RUN. Figures only: nothing here passes or fails.
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1

usage() {
	cat <<EOF
usage: bench/run.sh [options]        (root; environment variables of the same name work too)
  --rounds N        rounds; every mode runs once per round, interleaved (ROUNDS, default 3)
  --duration SEC    seconds of flood per run, at most 60 (DURATION, default 5)
  --rate R          per-source limit, packets/s, the same for every limiter (RATE, 100)
  --burst B         per-source burst, packets (BURST, 100); see BENCHMARKS.md for why the
                    admitted volume (sources x rate) must stay small next to the flood
  --sources "LIST"  numbers of sources (SOURCES, "1 256 65536")
  --modes "LIST"    of xdp-drop nft hashlimit sluice (MODES, all four)
  --family 4|6      IP version of the flood (FAMILY, 4)
  --gen-cpu N       CPU of the generator (GEN_CPU, 0)
  --rx-cpu N|same   CPU of the receiver: the server veth's NAPI runs threaded, pinned there
                    (RX_CPU, 1); "same" leaves it in softirq on the generator's CPU
  --rt              run the generator and the receiver's NAPI thread SCHED_FIFO, so that other
                    work on the machine cannot preempt them (RT throttling still leaves it
                    5 %); steadier figures, but it starves everything else during a run
  --no-flood        skip the receiver-side comparison
  --no-pktcost      skip the BPF_PROG_TEST_RUN per-packet cost (HTTP rows included)
  --no-http         skip bench/http.sh (wrk into nginx: limit_req vs sluice's HTTP layer);
                    its own options: HTTP_* variables, see bench/http.sh --help
  --quick           1 round of 2 s (a smoke run; its figures are not worth quoting)
Results: \$O/bench/results.md (Markdown, also printed) and \$O/bench/runs.tsv (every run).
EOF
}

O=${O:-build}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
RATE=${RATE:-100}
BURST=${BURST:-100}
SOURCES=${SOURCES:-"1 256 65536"}
MODES=${MODES:-"xdp-drop nft hashlimit sluice"}
FAMILY=${FAMILY:-4}
GEN_CPU=${GEN_CPU:-0}
RX_CPU=${RX_CPU:-1}
DO_FLOOD=1
RT=${RT:-0}
DO_PKTCOST=1
DO_HTTP=${DO_HTTP:-1}
ARGS="$*"

while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--rate) RATE=$2; shift ;;
	--burst) BURST=$2; shift ;;
	--sources) SOURCES=$2; shift ;;
	--modes) MODES=$2; shift ;;
	--family) FAMILY=$2; shift ;;
	--gen-cpu) GEN_CPU=$2; shift ;;
	--rx-cpu) RX_CPU=$2; shift ;;
	--rt) RT=1 ;;
	--no-flood) DO_FLOOD=0 ;;
	--no-pktcost) DO_PKTCOST=0 ;;
	--no-http) DO_HTTP=0 ;;
	--quick) ROUNDS=1; DURATION=2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench/run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

B=$O/bench
SLUICE=$O/sluice
SLUICE_OBJ=$O/bpf/sluice.bpf.o
OUT=$B/results.md
RUNS=$B/runs.tsv
ID=$$
NSC=slbc$ID                  # client (sender) namespace
NSS=slbs$ID                  # server (receiver) namespace
PIN=/sys/fs/bpf/slbench$ID   # bare programs and sluice's pin root
TMPD=
GEN_PID=
NAPI_PID=
SLUICE_ROOT=$PIN/sluice
PCROOT=$PIN/pktcost        # sluice measured by sl_pktcost
CDEV=bc0 SDEV=bs0 IDLE0=bi0 IDLE1=bi1

if [ "$FAMILY" = 6 ]; then
	CADDR=fd00:204::1 SADDR=fd00:204::2 SRC_BASE=fd00:205:: SRC_NET=fd00:205::/32 PLEN=64
else
	CADDR=10.204.0.1 SADDR=10.204.0.2 SRC_BASE=10.205.0.0 SRC_NET=10.205.0.0/16 PLEN=24
fi

say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }
# Every command that could hang runs under a bound: ins (in the server namespace) and t10.
# (60 s: attach verifies the data plane, which takes seconds on a busy machine.)
ins() { timeout -k 2 60 nsenter --net=/run/netns/"$NSS" "$@"; }
t10() { timeout -k 2 10 "$@"; }

# The per-packet cost of the program sluice really deploys: attached by `sluice attach` to an
# idle veth of its own, configured by `sluice policy apply`, measured by id next to the bare
# programs. One packet from one source, repeated: past its burst every run is a drop.
pktcost_policy() { # NAME RATE BURST CLOCK
	cat <<YAML
version: 1
name: $1
clock: $4
sources:
  - name: default
    cidr: [0.0.0.0/0, "::/0"]
    prefix: {ipv4: 32, ipv6: 64}
    rate: $2
    burst: $3
YAML
}

pktcost_run() { # LABEL RATE BURST CLOCK
	local id
	pktcost_policy pktcost "$2" "$3" "$4" >"$TMPD/pktcost.yaml"
	t10 "$SLUICE" --pin-root "$PCROOT" policy apply "$TMPD/pktcost.yaml" >/dev/null ||
		{ say "pktcost: policy apply failed"; return 1; }
	id=$(t10 "$SLUICE" --pin-root "$PCROOT" --json status | jq -r '.interfaces[0].prog_id')
	echo
	echo "### sluice $1 (rate $2/s, burst $3, clock $4)"
	echo
	timeout -k 5 600 "$B/sl_pktcost" --bare "$B/bare.bpf.o" --prog-id "$id" --label sluice_xdp \
		--cpu "$GEN_CPU" --rounds 5
	echo
	printf 'Paths taken (rule counters, packets): '
	t10 "$SLUICE" --pin-root "$PCROOT" --json status |
		jq -r '[.rules[0].counters | to_entries[] | select(.key != "pass" and .key != "drop"
			and .key != "dryrun") | .key as $r | .value | to_entries[]
			| select(.value.packets > 0) | "\($r)/\(.key) \(.value.packets)"] | join(", ")'
	t10 "$SLUICE" --pin-root "$PCROOT" purge >/dev/null
	ins tc qdisc del dev pc0 clsact 2>/dev/null # left by purge (see teardown_sluice)
}

pktcost() {
	echo
	echo "## Per-packet cost (BPF_PROG_TEST_RUN)"
	if [ ! -x "$SLUICE" ]; then
		say "pktcost: $SLUICE not built, bare programs only"
		timeout -k 5 600 "$B/sl_pktcost" --bare "$B/bare.bpf.o" --cpu "$GEN_CPU" --rounds 5
		return
	fi
	[ -e "/run/netns/$NSS" ] || ip netns add "$NSS"
	ip -n "$NSS" link add pc0 type veth peer name pc1 2>/dev/null
	local mode
	for mode in "drop path, drop cache|$RATE|$BURST|tick" \
		    "drop path, full lookup|$RATE|$BURST|precise" \
		    "admit path|1000000000|1000000000|auto"; do
		IFS='|' read -r label rate burst clock <<<"$mode"
		ins "$SLUICE" --pin-root "$PCROOT" attach pc0 >/dev/null ||
			{ say "pktcost: sluice attach failed"; return; }
		pktcost_run "$label" "$rate" "$burst" "$clock"
	done
	pktcost_http
}

# The HTTP layer's cost, on the same deployed program: a policy with an HTTP port, two tenants
# (one whose bucket never empties, one over its limit) and unknown_key; the source rule
# allows, so the rows differ from "TCP/IPv4 :80, not HTTP" by the HTTP layer alone. Run in
# the server namespace: test runs look sockets up in the caller's namespace, where sl_pktcost
# opens a loopback connection for the flow rows.
pktcost_http_policy() { # [SLOW_ACTION]: how tenant slow's refusals are answered (drop)
	local slow_action=${1:-drop} replies=""
	[ "$slow_action" = drop ] || replies=", replies: {rate: 10M, burst: 10M}"
	mkdir -p "$TMPD/keys"
	echo "sk-bench-admit-5d1f0c9a3e7b2468" >"$TMPD/keys/fast.keys"
	echo "sk-bench-drop-8b2e4f6a1c3d5e70" >"$TMPD/keys/slow.keys"
	echo "sk-bench-quota-3a9c1e7f5b2d4086" >"$TMPD/keys/metered.keys"
	chmod 600 "$TMPD/keys/fast.keys" "$TMPD/keys/slow.keys" "$TMPD/keys/metered.keys"
	cat <<YAML
version: 1
name: pktcost-http
sources:
  - name: default
    cidr: [0.0.0.0/0, "::/0"]
    action: allow
http: {ports: [8000]$replies}
plans:
  fast: {rate: 10M, burst: 10M, bytes_rate: 10G, action: drop}
  slow: {rate: 1, burst: 1, action: $slow_action}
  metered:
    rate: 10M
    burst: 10M
    bytes_rate: 10G
    quotas:
      - {name: daily, unit: days, quota: 1000000000000, mode: hard}
      - {name: monthly, unit: months, quota: 1000000000000, mode: soft}
tenants:
  - name: fast
    plan: fast
    keys_file: keys/fast.keys
  - name: slow
    plan: slow
    keys_file: keys/slow.keys
  - name: metered
    plan: metered
    keys_file: keys/metered.keys
unknown_key: {rate: 1, burst: 5, action: drop}
YAML
}

pktcost_http() {
	local id n
	echo
	echo "### sluice HTTP layer (port 8000; tenant fast 10M/s, burst 10M, bytes 10G/s;"
	echo "tenant slow 1/s, burst 1; unknown_key 1/s, burst 5; source rule: allow)"
	echo
	ins "$SLUICE" --pin-root "$PCROOT" attach pc0 >/dev/null ||
		{ say "pktcost http: sluice attach failed"; echo "(not measured: attach failed)"; return; }
	pktcost_http_policy >"$TMPD/pktcost-http.yaml"
	t10 "$SLUICE" --pin-root "$PCROOT" policy apply "$TMPD/pktcost-http.yaml" >/dev/null ||
		{ say "pktcost http: policy apply failed"; echo "(not measured: apply failed)"; return; }
	n=$(t10 bpftool -j map dump pinned "$PCROOT/maps/sl_keys_v2" | jq length)
	if ! [ "${n:-0}" -gt 0 ]; then
		say "pktcost http: no keys in sl_keys_v2 after apply (controller without HTTP): skipped"
		echo "(not measured: \`policy apply\` installed no keys)"
		t10 "$SLUICE" --pin-root "$PCROOT" purge >/dev/null
		return
	fi
	id=$(t10 "$SLUICE" --pin-root "$PCROOT" --json status | jq -r '.interfaces[0].prog_id')
	ip -n "$NSS" link set lo up
	timeout -k 5 600 nsenter --net=/run/netns/"$NSS" "$B/sl_pktcost" --bare "$B/bare.bpf.o" \
		--prog-id "$id" --label sluice_xdp --cpu "$GEN_CPU" --rounds 5 --http-port 8000 \
		--key-admit "$(cat "$TMPD/keys/fast.keys")" --key-drop "$(cat "$TMPD/keys/slow.keys")" \
		--flow
	# The same with the admitted key's tenant on a plan with two quotas (one hard, one soft):
	# `sluice run` writes them to the data plane (and is stopped again; they stay there).
	echo
	echo "The same tenant limits with two quotas (a hard daily and a soft monthly one, far from"
	echo "full; written to the data plane by \`sluice run\`): the \"key admitted\" row is the cost"
	echo "of a request with quotas."
	echo
	timeout -k 2 20 "$SLUICE" --pin-root "$PCROOT" run --policy "$TMPD/pktcost-http.yaml" \
		--state-dir "$TMPD/run-state" --interval 200 2>"$TMPD/run.log" &
	local rp=$!
	for ((n = 0; n < 50; n++)); do
		[ -s "$TMPD/run-state/usage.json" ] && break
		sleep 0.1
	done
	kill -TERM "$rp" 2>/dev/null
	wait "$rp" 2>/dev/null
	timeout -k 5 600 nsenter --net=/run/netns/"$NSS" "$B/sl_pktcost" --bare "$B/bare.bpf.o" \
		--prog-id "$id" --label sluice_xdp --cpu "$GEN_CPU" --rounds 5 --http-port 8000 \
		--key-admit "$(cat "$TMPD/keys/metered.keys")" --key-drop "$(cat "$TMPD/keys/slow.keys")"
	# Answering refusals: tenant slow's action http429 puts the reply checks on every TCP
	# segment (SL_GF_REJECT); the rows are the same packets as the first run's. Then the cost
	# of one answer: single runs of an over-limit request on the established flow.
	echo
	echo "The same with tenant slow's action http429 (http.replies 10M/s, so never limited)."
	echo "First the cost of one answer (single runs: a 429 on the established flow), then the"
	echo "rows, which run while that reply is recent: every TCP segment meets the lookup for"
	echo "connections being closed. The over-limit row has no socket (from 10.205.0.3): it is"
	echo "refused with the reply checks (reply bucket, socket lookup) and dropped."
	echo
	pktcost_http_policy http429 >"$TMPD/pktcost-http429.yaml"
	if t10 "$SLUICE" --pin-root "$PCROOT" policy apply "$TMPD/pktcost-http429.yaml" >/dev/null; then
		timeout -k 5 600 nsenter --net=/run/netns/"$NSS" "$B/sl_pktcost" --bare "$B/bare.bpf.o" \
			--prog-id "$id" --label sluice_xdp --cpu "$GEN_CPU" --rounds 5 --http-port 8000 \
			--key-admit "$(cat "$TMPD/keys/fast.keys")" \
			--key-drop "$(cat "$TMPD/keys/slow.keys")" --flow --reply 20000
		echo
		echo "Replies counted (sl_rstats_v1, reply slot 257 = the HTTP layer):"
		echo
		t10 bpftool -j map dump pinned "$PCROOT/maps/sl_rstats_v1" |
			python3 bench/report.py rstats | sed 's/^/    /'
	else
		echo "(not measured: the http429 policy did not apply)"
	fi
	echo
	echo "Paths taken (sl_tstats_v3, summed over CPUs; tenant 1024 = no or unknown key):"
	echo
	t10 bpftool -j map dump pinned "$PCROOT/maps/sl_tstats_v3" | python3 bench/report.py tstats |
		sed 's/^/    /'
	printf '\nFlows in sl_flows_v1: %s\n' \
		"$(t10 bpftool -j map dump pinned "$PCROOT/maps/sl_flows_v1" | jq length)"
	t10 "$SLUICE" --pin-root "$PCROOT" purge >/dev/null
	ins tc qdisc del dev pc0 clsact 2>/dev/null # left by purge (see teardown_sluice)
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$GEN_PID" ] && kill -0 "$GEN_PID" 2>/dev/null; then
		kill "$GEN_PID" 2>/dev/null
		wait "$GEN_PID" 2>/dev/null
	fi
	if [ -d "$SLUICE_ROOT" ] && [ -x "$SLUICE" ]; then
		ins "$SLUICE" --pin-root "$SLUICE_ROOT" purge >/dev/null 2>&1
	fi
	if [ -d "$PCROOT" ] && [ -x "$SLUICE" ]; then
		ins "$SLUICE" --pin-root "$PCROOT" purge >/dev/null 2>&1
	fi
	ip netns del "$NSC" 2>/dev/null
	ip netns del "$NSS" 2>/dev/null
	[ -n "$PIN" ] && rm -rf "$PIN"
	[ -n "$TMPD" ] && rm -rf "$TMPD"
	exit "$rc"
}

preflight() {
	local c
	[ "$(id -u)" = 0 ] || die "needs root (namespaces, XDP, nft, iptables)"
	for c in ip nsenter nft iptables ip6tables bpftool ethtool jq python3 taskset timeout; do
		command -v "$c" >/dev/null || die "missing command: $c (make deps)"
	done
	if [ ! -x "$B/sl_xdpgen" ] || [ ! -x "$B/sl_pktcost" ] || [ ! -f "$B/bare.bpf.o" ]; then
		say "building the bench tools"
		timeout 300 make -s -f bench/bench.mk O="$O" bench-tools >&2 ||
			die "cannot build the bench tools: make bench-tools"
	fi
	if ! [ "$DURATION" -ge 1 ] 2>/dev/null || [ "$DURATION" -gt 60 ]; then
		die "--duration must be 1..60"
	fi
	[ "$ROUNDS" -ge 1 ] 2>/dev/null || die "--rounds must be >= 1"
	mkdir -p "$B"
	TMPD=$(mktemp -d /tmp/slbench.XXXXXX)
}

# The CPU's busy and total jiffies from /proc/stat (busy = all but idle and iowait).
cpu_ticks() {
	awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i;
		print t - $5 - $6, t }' /proc/stat
}

napi_threads() {
	ps -eo pid=,comm= | awk -v d="napi/$SDEV-" 'index($2, d) == 1 { print $1 }' | sort
}

setup_net() {
	local before after
	ip netns add "$NSC" || die "cannot create namespace $NSC"
	ip netns add "$NSS" || die "cannot create namespace $NSS"
	ip link add name "$CDEV" netns "$NSC" type veth peer name "$SDEV" netns "$NSS" ||
		die "cannot create the veth pair"
	# An idle pair that holds the generator program attached (see sl_xdpgen --idle-dev).
	ip -n "$NSC" link add "$IDLE0" type veth peer name "$IDLE1" || die "cannot create idle veth"
	for d in lo "$CDEV" "$IDLE0" "$IDLE1"; do ip -n "$NSC" link set "$d" up; done
	for d in lo "$SDEV"; do ip -n "$NSS" link set "$d" up; done
	ip -n "$NSC" addr add "$CADDR/$PLEN" dev "$CDEV" nodad 2>/dev/null ||
		ip -n "$NSC" addr add "$CADDR/$PLEN" dev "$CDEV"
	ip -n "$NSS" addr add "$SADDR/$PLEN" dev "$SDEV" nodad 2>/dev/null ||
		ip -n "$NSS" addr add "$SADDR/$PLEN" dev "$SDEV"
	# Admitted packets reach UDP port 9 with no listener; the (rate-limited) ICMP errors
	# have a way back, as they would for a real client.
	ip -n "$NSS" route add "$SRC_NET" via "$CADDR"
	ins sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0

	# GRO on keeps NAPI (and its thread) alive with or without XDP, and lets frames that
	# XDP does not own reach nft and iptables (a veth drops xdp frames without NAPI).
	ins ethtool -K "$SDEV" gro on >/dev/null || die "cannot enable GRO on $SDEV"
	# The receiving veth's NAPI runs threaded, pinned to RX_CPU, so that its work is apart
	# from the generator's (a veth otherwise does it in softirq on the sending CPU). The
	# switch needs NAPI to exist already (EIO before), hence after GRO.
	if [ "$RX_CPU" != same ]; then
		before=$(napi_threads)
		ip netns exec "$NSS" sh -c "echo 1 > /sys/class/net/$SDEV/threaded" ||
			die "cannot make $SDEV's NAPI threaded (use --rx-cpu same)"
		after=$(napi_threads)
		NAPI_PID=$(comm -13 <(echo "$before") <(echo "$after") | head -1)
		[ -n "$NAPI_PID" ] || die "no NAPI thread appeared for $SDEV"
	fi
	SMAC=$(ip -n "$NSS" -j link show "$SDEV" | jq -r '.[0].address')
	mkdir -p "$PIN" || die "cannot create $PIN"
	t10 bpftool prog loadall "$B/bare.bpf.o" "$PIN/bare" || die "cannot load $B/bare.bpf.o"
	# Resolve the neighbours once, so that no run pays for it.
	ins ping -c1 -W1 "$CADDR" >/dev/null 2>&1 || true
}

pin_napi() {
	[ "$RX_CPU" = same ] && return 0
	case "$(cat /proc/"$NAPI_PID"/comm 2>/dev/null)" in
	napi/"$SDEV"-*)
		taskset -pc "$RX_CPU" "$NAPI_PID" >/dev/null || return 1
		if [ "$RT" = 1 ]; then chrt -f -p 50 "$NAPI_PID"; else chrt -o -p 0 "$NAPI_PID"; fi ;;
	*) say "the NAPI thread of $SDEV is gone"; return 1 ;;
	esac
}

# --- modes: setup_X, counters_X (prints "processed admitted"), teardown_X ----------------

setup_xdp-drop() { ins bpftool net attach xdpdrv pinned "$PIN/bare/bare_drop" dev "$SDEV"; }
teardown_xdp-drop() { ins bpftool net detach xdpdrv dev "$SDEV"; }
counters_xdp-drop() {
	ip -n "$NSS" -s -j link show "$SDEV" | jq -r '"\(.[0].stats64.rx.packets) 0"'
}

setup_nft() {
	local ipt=ipv4_addr sel=ip proto=ip
	[ "$FAMILY" = 6 ] && ipt=ipv6_addr sel=ip6 proto=ip6
	# A dynamic set whose elements each carry their own limit: one bucket per source.
	ins nft -f - <<EOF
table netdev slbench {
	counter dropped { }
	counter admitted { }
	set persrc {
		type $ipt
		size 262144
		flags dynamic
	}
	chain ingress {
		type filter hook ingress device "$SDEV" priority 0; policy accept;
		add @persrc { $sel saddr limit rate over $RATE/second burst $BURST packets } counter name "dropped" drop
		meta protocol $proto counter name "admitted"
	}
}
EOF
}
teardown_nft() { ins nft delete table netdev slbench; }
counters_nft() {
	ins nft -j list counters table netdev slbench | jq -r '
		[.nftables[] | select(.counter) | .counter | {(.name): .packets}] | add
		| "\(.dropped + .admitted) \(.admitted)"'
}

IPT=iptables
setup_hashlimit() {
	[ "$FAMILY" = 6 ] && IPT=ip6tables
	ins "$IPT" -t raw -A PREROUTING -m hashlimit --hashlimit-above "$RATE/sec" \
		--hashlimit-burst "$BURST" --hashlimit-mode srcip --hashlimit-name slbench \
		--hashlimit-htable-size 65536 --hashlimit-htable-max 262144 -j DROP &&
		ins "$IPT" -t raw -A PREROUTING # counts what was let through
}
teardown_hashlimit() { ins "$IPT" -t raw -F PREROUTING; }
counters_hashlimit() {
	# Lines of iptables-save -c start with [packets:bytes].
	ins "$IPT-save" -c -t raw | awk '/-A PREROUTING/ { split(substr($1, 2), c, ":");
		p[n++] = c[1] } END { print p[0] + p[1], p[1] }'
}

setup_sluice() {
	cat >"$TMPD/policy.yaml" <<EOF
version: 1
name: bench
sources:
  - name: default
    cidr: ["0.0.0.0/0", "::/0"]
    prefix: {ipv4: 32, ipv6: 64}
    rate: $RATE
    burst: $BURST
EOF
	ins "$SLUICE" --pin-root "$SLUICE_ROOT" attach "$SDEV" --hook xdp --mode native \
		>/dev/null && ins "$SLUICE" --pin-root "$SLUICE_ROOT" policy apply \
		"$TMPD/policy.yaml" >/dev/null
}
teardown_sluice() {
	ins "$SLUICE" --pin-root "$SLUICE_ROOT" detach "$SDEV" >/dev/null
	# Fresh buckets for the next run, as nft and hashlimit get.
	ins "$SLUICE" --pin-root "$SLUICE_ROOT" purge >/dev/null
	# Purge leaves sluice's TC egress filter on the interface (seen at a4b0d79): remove it,
	# so that the other modes do not run it.
	ins tc qdisc del dev "$SDEV" clsact 2>/dev/null
	return 0
}
counters_sluice() {
	# `status --json` (rules[].counters, unclassified); the stats map decoded by its ABI
	# layout (include/sluice_abi.h) if that fails.
	ins "$SLUICE" --pin-root "$SLUICE_ROOT" --json status 2>/dev/null | jq -r '
		def n(c): c.pass.packets + c.drop.packets + c.dryrun.packets;
		(([.rules[].counters | n(.)] | add) + n(.unclassified)) as $p
		| ([.rules[].counters | .pass.packets + .dryrun.packets] | add) as $a
		| "\($p) \($a)"' 2>/dev/null ||
		t10 bpftool -j map dump pinned "$SLUICE_ROOT/maps/sl_stats_v1" |
		python3 bench/report.py sluice-stats
}

# --- one run -------------------------------------------------------------------------------

run_one() {
	local round=$1 mode=$2 n=$3 c0 c1 r0 r1 g0 g1 gen rxc=$RX_CPU
	[ "$rxc" = same ] && rxc=$GEN_CPU
	if ! "setup_$mode" >"$TMPD/setup.log" 2>&1; then
		say "$mode: setup failed: $(head -c 300 "$TMPD/setup.log")"
		"teardown_$mode" >/dev/null 2>&1
		printf '%s\t%s\t%s\terror\n' "$round" "$mode" "$n" >>"$RUNS"
		return 1
	fi
	pin_napi
	c0=$("counters_$mode")
	r0=$(cpu_ticks "$rxc") g0=$(cpu_ticks "$GEN_CPU")
	local rt=()
	[ "$RT" = 1 ] && rt=(chrt -f 50)
	timeout -k 5 $((DURATION + 30)) "${rt[@]}" nsenter --net=/run/netns/"$NSC" "$B/sl_xdpgen" \
		--dev "$CDEV" --idle-dev "$IDLE0" --src "$SRC_BASE" --dst "$SADDR" \
		--dst-mac "$SMAC" --sources "$n" --duration "$DURATION" --cpu "$GEN_CPU" \
		--json >"$TMPD/gen.json" 2>"$TMPD/gen.err" &
	GEN_PID=$!
	wait "$GEN_PID"
	local grc=$?
	GEN_PID=
	r1=$(cpu_ticks "$rxc") g1=$(cpu_ticks "$GEN_CPU")
	sleep 0.2 # the 256-frame ring drains in microseconds; counters settle
	c1=$("counters_$mode")
	"teardown_$mode" >/dev/null 2>&1
	if [ "$grc" != 0 ] || [ -z "$c0" ] || [ -z "$c1" ]; then
		say "$mode/$n: run failed (generator rc $grc: $(head -c 300 "$TMPD/gen.err"))"
		printf '%s\t%s\t%s\terror\n' "$round" "$mode" "$n" >>"$RUNS"
		return 1
	fi
	gen=$(jq -r '"\(.sent)\t\(.elapsed_s)"' "$TMPD/gen.json")
	# shellcheck disable=SC2086 # each holds two numbers
	set -- $c0 $c1 $r0 $r1 $g0 $g1
	# processed admitted ; busy% of the receiver's and the generator's CPU
	local row
	row=$(awk -v p0="$1" -v a0="$2" -v p1="$3" -v a1="$4" -v rb0="$5" -v rt0="$6" \
		-v rb1="$7" -v rt1="$8" -v gb0="$9" -v gt0="${10}" -v gb1="${11}" -v gt1="${12}" \
		'BEGIN { printf "%d\t%d\t%.1f\t%.1f", p1 - p0, a1 - a0,
			(rt1 > rt0 ? 100 * (rb1 - rb0) / (rt1 - rt0) : 0),
			(gt1 > gt0 ? 100 * (gb1 - gb0) / (gt1 - gt0) : 0) }')
	printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$mode" "$n" "$gen" "$row" >>"$RUNS"
	say "round $round $mode $n sources: $(echo "$gen $row" | awk '{
		printf "sent %.2f Mpps, processed %.3f Mpps, admitted %d, rx CPU %s%%",
		$1 / $2 / 1e6, $3 / $2 / 1e6, $4, $5 }')"
}

flood() {
	local modes="" m round n
	for m in $MODES; do
		case "$m" in
		xdp-drop|nft|hashlimit) modes="$modes $m" ;;
		sluice)
			if [ -x "$SLUICE" ] && [ -f "$SLUICE_OBJ" ]; then
				modes="$modes $m"
			else
				say "sluice: skipped ($SLUICE or $SLUICE_OBJ not built: make all)"
			fi ;;
		*) die "unknown mode $m" ;;
		esac
	done
	setup_net
	printf '# round\tmode\tsources\tsent\telapsed_s\tprocessed\tadmitted\trx_busy_pct\tgen_busy_pct\n' >"$RUNS"
	for round in $(seq 1 "$ROUNDS"); do
		for n in $SOURCES; do
			for m in $modes; do
				run_one "$round" "$m" "$n"
			done
		done
	done
}

header() {
	local rx=$RX_CPU
	[ "$rx" = same ] && rx="$GEN_CPU (softirq, shared with the generator)"
	cat <<EOF
# sluice benchmark results

- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); kernel $(uname -r); $(nproc) CPUs
  ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo))
- Command: \`bench/run.sh $ARGS\` (O=$O)
- Flood: IPv$FAMILY UDP, $( [ "$FAMILY" = 6 ] && echo 62 || echo 60)-byte frames, BPF_PROG_TEST_RUN live frames from CPU $GEN_CPU into a
  veth; receiver hook on the peer, NAPI on CPU $rx; $DURATION s per run, $ROUNDS round(s),
  modes interleaved within each round$( [ "$RT" = 1 ] && echo "; generator and NAPI thread SCHED_FIFO").
- Limit for every limiter: $RATE packets/s per source, burst $BURST.
- Load average before the runs: $LOAD0 (other work on the machine skews figures: compare
  within one table, and mind the min–max).
EOF
}

main() {
	preflight
	LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	{
		header
		if [ "$DO_FLOOD" = 1 ]; then
			flood
			echo
			echo "## Receiver side"
			echo
			python3 bench/report.py table "$RUNS" "$RATE" "$BURST"
		fi
		if [ "$DO_PKTCOST" = 1 ]; then
			pktcost
		fi
		if [ "$DO_HTTP" = 1 ]; then
			if O="$O" bench/http.sh --out "$TMPD/http.md" >/dev/null; then
				cat "$TMPD/http.md"
			else
				say "bench/http.sh failed (see above)"
			fi
		fi
	} >"$TMPD/results.md"
	cp "$TMPD/results.md" "$OUT"
	cat "$OUT"
	say "written to $OUT (every run: $RUNS)"
}

main
