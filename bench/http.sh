#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The HTTP layer against nginx limit_req (`make bench`, via bench/run.sh; or alone, as root):
# wrk with an API key into nginx in a second namespace, limited either by nginx's own
# limit_req (keyed by $http_x_api_key) or by sluice's HTTP layer on the server veth (XDP
# native), with the same rate and burst; plus nginx with no limiter, the cost of serving.
# Reports the limiter's accuracy and the server side's CPU per 1,000 rejected requests.
# Figures only: nothing here passes or fails.
set -euo pipefail

cd "$(dirname "$0")/.." || exit 1

usage() {
	cat <<EOF
usage: bench/http.sh [options]          (root; environment variables of the same name work too)
  --rounds N        rounds; each case once per round, interleaved (HTTP_ROUNDS, 3)
  --duration SEC    seconds of wrk per run, 1..60 (HTTP_DURATION, 10)
  --rate R          the key's limit, requests/s, for both limiters (HTTP_RATE, 100)
  --burst B         its burst (HTTP_BURST, 100)
  --conns C         wrk connections (HTTP_CONNS, 32); threads: HTTP_THREADS (2)
  --cases "LIST"    of plain nginx-limit_req sluice sluice-flood (HTTP_CASES, all four):
                    sluice-flood sends raw request segments with the key (bench/reqflood.py,
                    HTTP_FLOOD_COUNT frames, default 300000, at most 30 s) instead of wrk;
                    xdp-drop-flood: the same frames dropped by a bare XDP program (the floor)
  --cli-cpu N       CPU of wrk and of the client veth's NAPI thread (HTTP_CLI_CPU, 0)
  --srv-cpu N       CPU of nginx and of the server veth's NAPI thread (HTTP_SRV_CPU, 1)
  --out FILE        the Markdown section (default \$O/bench/http.md); runs: \$O/bench/http.tsv
EOF
}

O=${O:-build}
ROUNDS=${HTTP_ROUNDS:-3}
DURATION=${HTTP_DURATION:-10}
RATE=${HTTP_RATE:-100}
BURST=${HTTP_BURST:-100}
CONNS=${HTTP_CONNS:-32}
THREADS=${HTTP_THREADS:-2}
CASES=${HTTP_CASES:-"plain nginx-limit_req sluice sluice-flood xdp-drop-flood"}
FLOOD_COUNT=${HTTP_FLOOD_COUNT:-300000}
CLI_CPU=${HTTP_CLI_CPU:-0}
SRV_CPU=${HTTP_SRV_CPU:-1}
OUT=
ARGS="$*"
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--rate) RATE=$2; shift ;;
	--burst) BURST=$2; shift ;;
	--conns) CONNS=$2; shift ;;
	--cases) CASES=$2; shift ;;
	--cli-cpu) CLI_CPU=$2; shift ;;
	--srv-cpu) SRV_CPU=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench/http.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
OUT=${OUT:-$O/bench/http.md}
RUNS=$O/bench/http.tsv

SLUICE=$O/sluice
export SLUICE
export SL_TEST_PREFIX=slh
# shellcheck source=../tests/lib.sh
. tests/lib.sh

PORT=8000
KEY=sk-bench-$$-0f3a9c5e7b1d
PIN=/sys/fs/bpf/sluice-bench-$$
NGINX_PID=   # the nginx master (from its pid file)
NGINX_RUN=   # the `timeout` wrapping it (tracked by lib.sh)
NAPI_SRV=""

say() { echo "bench/http: $*" >&2; }
die() { say "$*"; exit 1; }
sl() { timeout -k 2 60 "$SLUICE" --pin-root "$PIN" "$@"; }

nginx_stop() {
	local p
	if [ -n "$NGINX_PID" ]; then
		# The master, then any worker it leaves (each by its PID, never by name).
		for p in $(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null); do
			kill -TERM "$p" 2>/dev/null || true
		done
		kill -TERM "$NGINX_PID" 2>/dev/null || true
	fi
	[ -n "$NGINX_RUN" ] && { sl_stop_pid "$NGINX_RUN" 5 || true; }
	NGINX_PID="" NGINX_RUN=""
}

cleanup() {
	nginx_stop
	if [ -d "$PIN" ]; then
		sl purge >/dev/null 2>&1 || true
		rm -rf "$PIN"
	fi
}

preflight() {
	local c
	[ "$(id -u)" = 0 ] || die "needs root (namespaces, XDP)"
	for c in nginx wrk curl nsenter taskset ethtool jq python3 bpftool timeout; do
		command -v "$c" >/dev/null ||
			die "missing command: $c (sudo scripts/install-deps.sh; or apt-get install nginx-light wrk curl)"
	done
	case " $CASES " in *" sluice "*|*" sluice-flood "*)
		[ -x "$SLUICE" ] || die "$SLUICE not built (make O=$O all), or leave sluice out of --cases" ;;
	esac
	if ! [ "$DURATION" -ge 1 ] 2>/dev/null || [ "$DURATION" -gt 60 ]; then die "--duration must be 1..60"; fi
	[ "$ROUNDS" -ge 1 ] 2>/dev/null || die "--rounds must be >= 1"
	mkdir -p "$O/bench"
}

napi_threads() { ps -eo pid=,comm= | awk '$2 ~ /^napi\// { print $1 }' | sort; }

# GRO on gives each veth a NAPI; made threaded, each side's receive work runs in its own
# kernel thread, pinned apart: the server's (XDP, IP, TCP) next to nginx on SRV_CPU, the
# client's next to wrk. Otherwise a veth receives in softirq on the *sending* CPU, which
# would charge the server's receive work to the client's CPU and the reverse.
thread_napi() { # NS DEV CPU -> prints the NAPI thread's PID
	local ns=$1 dev=$2 cpu=$3 before after pid
	# TSO off: a veth hands a TCP skb to the peer's NAPI only if it is not a TSO one
	# (veth_skb_is_eligible_for_gro); sluice's attach turns it off on the peer anyway.
	sl_in_ns "$ns" ethtool -K "$dev" gro on tso off >/dev/null
	before=$(napi_threads)
	ip netns exec "$ns" sh -c "echo 1 > /sys/class/net/$dev/threaded"
	after=$(napi_threads)
	pid=$(comm -13 <(echo "$before") <(echo "$after") | head -1)
	[ -n "$pid" ] || die "no NAPI thread appeared for $dev"
	taskset -pc "$cpu" "$pid" >/dev/null
	echo "$pid"
}

# Nanoseconds a task (all its threads) has run: /proc/PID/task/*/schedstat, field 1.
runtime_ns() {
	local pid t s=0 v
	for pid in "$@"; do
		for t in /proc/"$pid"/task/*/schedstat; do
			read -r v _ <"$t" 2>/dev/null || continue
			s=$((s + v))
		done
	done
	echo "$s"
}

# shellcheck disable=SC2046 # PIDs, one word each
nginx_pids() { echo "$NGINX_PID" $(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null); }

# The softirq column of /proc/stat for one CPU, in USER_HZ ticks (tick-sampled here: no
# CONFIG_IRQ_TIME_ACCOUNTING, so softirq time run on a task's back is also in that task's
# runtime; shown, not added).
softirq_ticks() { awk -v c="cpu$1" '$1 == c { print $8 }' /proc/stat; }

nginx_conf() { # LIMIT(0|1)
	local T=$SL_TMPDIR lz="" lr=""
	if [ "$1" = 1 ]; then
		lz="limit_req_zone \$http_x_api_key zone=k:10m rate=${RATE}r/s;"
		# Rejections are not written to the error log (error_log is at "error"): nginx is
		# measured at its cheapest.
		lr="limit_req zone=k burst=$BURST nodelay; limit_req_status 429; limit_req_log_level warn;"
	fi
	mkdir -p "$T/nginx-tmp" "$T/www"
	cat <<EOF
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx-error.log error;
user root;
events { worker_connections 4096; }
http {
	# When, what, and whether the request had a key (the readiness check has none).
	map \$http_x_api_key \$haskey { "" 0; default 1; }
	log_format st '\$msec \$status \$haskey';
	access_log $T/access.log st buffer=64k flush=1s;
	client_body_temp_path $T/nginx-tmp/body;
	proxy_temp_path $T/nginx-tmp/proxy;
	fastcgi_temp_path $T/nginx-tmp/fastcgi;
	uwsgi_temp_path $T/nginx-tmp/uwsgi;
	scgi_temp_path $T/nginx-tmp/scgi;
	keepalive_requests 10000000;
	$lz
	server {
		listen $SRV_IP4:$PORT backlog=4096;
		root $T/www;
		# limit_req works in the preaccess phase, after rewrite, where a plain "return" would
		# already have answered: the answer comes from a named location reached after it.
		location / {
			$lr
			try_files /.none @ok;
		}
		location @ok {
			return 200 "ok\n";
		}
	}
}
EOF
}

nginx_start() { # LIMIT
	local T=$SL_TMPDIR i
	rm -f "$T/nginx.pid" "$T/access.log"
	nginx_conf "$1" >"$T/nginx.conf"
	sl_spawn_ns "$SRV_NS" $((DURATION + 60)) "$T/nginx.out" \
		taskset -c "$SRV_CPU" nginx -c "$T/nginx.conf" -g 'daemon off;'
	NGINX_RUN=$SL_SPAWNED_PID
	for ((i = 0; i < 100; i++)); do
		[ -s "$T/nginx.pid" ] && break
		kill -0 "$NGINX_RUN" 2>/dev/null || die "nginx did not start: $(head -c 500 "$T/nginx.out")"
		sleep 0.05
	done
	NGINX_PID=$(cat "$T/nginx.pid" 2>/dev/null) || die "nginx wrote no pid file"
	# Up and answering (no key: neither limiter charges it to the key under test).
	sl_wait_for 5 sl_in_ns_t 3 "$CLI_NS" curl -sf -o /dev/null "http://$SRV_IP4:$PORT/" ||
		die "nginx does not answer on $SRV_IP4:$PORT"
}

sluice_policy() {
	mkdir -p "$SL_TMPDIR/keys"
	echo "$KEY" >"$SL_TMPDIR/keys/bench.keys"
	chmod 600 "$SL_TMPDIR/keys/bench.keys"
	cat >"$SL_TMPDIR/http.yaml" <<EOF
version: 1
name: bench-http
sources:
  - name: default
    cidr: [0.0.0.0/0, "::/0"]
    action: allow
http:
  ports: [$PORT]
plans:
  bench: {rate: $RATE, burst: $BURST, action: drop}
tenants:
  - name: bench
    plan: bench
    keys_file: keys/bench.keys
unknown_key: {rate: 100, burst: 100, action: drop}
EOF
}

# "req_pass req_drop req_retrans" of the tenants (unknown-key requests left out), summed from
# the pinned sl_tstats_v3 by its ABI layout (include/sluice_abi.h; bench/report.py tstats).
sluice_counts() {
	bpftool -j map dump pinned "$PIN/maps/sl_tstats_v3" | python3 bench/report.py tstats |
		awk '$1 ~ /^tenant=/ && $1 != "tenant=1024" {
			for (i = 2; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] } }
			END { printf "%d %d %d\n", s["req_pass"], s["req_drop"], s["req_retrans"] }'
}

rx_packets() { sl_in_ns "$SRV_NS" ip -s -j link show dev "$SRV_IF" | jq '.[0].stats64.rx.packets'; }

keys_installed() { [ "$(bpftool -j map dump pinned "$PIN/maps/sl_keys_v2" | jq length)" -gt 0 ]; }

# One run: prints a line of http.tsv (see report.py HTTP_COLS).
run_case() { # ROUND CASE
	local round=$1 c=$2 T=$SL_TMPDIR n0 n1 a0 a1 k0 k1 s0 s1 sc0 sc1 ksoft
	local served r429 win rej adm=0 retr=0 wreq wnon wto dur=$DURATION
	ksoft=$(pgrep -x "ksoftirqd/$SRV_CPU" | head -1) # a kernel thread, read only
	case "$c" in
	plain) nginx_start 0 ;;
	nginx-limit_req) nginx_start 1 ;;
	xdp-drop-flood)
		# The floor of the flood's receive path: the same frames, all dropped by a bare XDP
		# program (bench/bare.bpf.c) instead of sluice.
		nginx_start 0
		mkdir -p "$PIN"
		if ! timeout 20 bpftool prog loadall "$O/bench/bare.bpf.o" "$PIN/bare" ||
			! sl_in_ns "$SRV_NS" timeout 20 bpftool net attach xdpdrv \
				pinned "$PIN/bare/bare_drop" dev "$SRV_IF"; then
			say "cannot attach bare_drop ($O/bench/bare.bpf.o: make bench-tools)"
			rm -rf "$PIN/bare"
			nginx_stop
			return 1
		fi
		sc0="0 $(rx_packets) 0" ;;
	sluice|sluice-flood)
		nginx_start 0
		sl_in_ns "$SRV_NS" timeout -k 2 60 "$SLUICE" --pin-root "$PIN" attach "$SRV_IF" \
			--hook xdp --mode native >/dev/null || { say "sluice attach failed"; nginx_stop; return 1; }
		sl policy apply "$SL_TMPDIR/http.yaml" >/dev/null ||
			{ say "policy apply failed"; nginx_stop; return 1; }
		if ! keys_installed; then
			say "sluice: sl_keys_v2 is empty after apply (the controller does not install keys yet): skipped"
			sl purge >/dev/null 2>&1 || true
			nginx_stop
			return 1
		fi
		sc0=$(sluice_counts) ;;
	esac
	# Let the start-up settle (the readiness check, sluice's attach) before counting.
	sleep 0.5
	# shellcheck disable=SC2046 # PIDs, one word each
	n0=$(runtime_ns $(nginx_pids)) a0=$(runtime_ns "$NAPI_SRV") k0=$(runtime_ns "$ksoft")
	s0=$(softirq_ticks "$SRV_CPU")
	if [ "$c" = sluice-flood ] || [ "$c" = xdp-drop-flood ]; then
		# Raw request segments with the key, no connection behind them: every one reaches
		# the XDP program (nothing backs off), and past the burst every one is refused.
		sl_in_ns_t 40 "$CLI_NS" taskset -c "$CLI_CPU" python3 bench/reqflood.py \
			--dev "$CLI_IF" --src-mac "$CLI_MAC" --dst-mac "$SRV_MAC" --src "$CLI_IP4" \
			--dst "$SRV_IP4" --port "$PORT" --key "$KEY" --count "$FLOOD_COUNT" \
			--seconds 30 >"$T/flood.json" 2>&1 ||
			say "$c: reqflood exited with $? ($(tail -c 200 "$T/flood.json"))"
		read -r wreq wto dur < <(jq -r '"\(.sent) \(.errors) \(.elapsed_s)"' "$T/flood.json") ||
			wreq=0 wto=0
		wnon=0
	else
		sl_in_ns_t $((DURATION + 20)) "$CLI_NS" taskset -c "$CLI_CPU" wrk -t"$THREADS" \
			-c"$CONNS" -d"${DURATION}s" --timeout 2s -H "X-API-Key: $KEY" \
			"http://$SRV_IP4:$PORT/v1/chat/completions" >"$T/wrk.out" 2>&1 ||
			say "$c: wrk exited with $? ($(tail -c 200 "$T/wrk.out"))"
		wreq=$(awk '/requests in/ { print $1 }' "$T/wrk.out")
		wnon=$(awk '/Non-2xx/ { print $NF }' "$T/wrk.out")
		wto=$(awk '/Socket errors/ { print $NF }' "$T/wrk.out")
	fi
	sleep 0.3 # in-flight segments land
	# shellcheck disable=SC2046
	n1=$(runtime_ns $(nginx_pids)) a1=$(runtime_ns "$NAPI_SRV") k1=$(runtime_ns "$ksoft")
	s1=$(softirq_ticks "$SRV_CPU")
	if [ "$c" = xdp-drop-flood ]; then
		# shellcheck disable=SC2086
		set -- $sc0
		rej=$(($(rx_packets) - $2))
		sl_in_ns "$SRV_NS" timeout 20 bpftool net detach xdpdrv dev "$SRV_IF" || true
		rm -rf "$PIN/bare"
	elif [ "$c" = sluice ] || [ "$c" = sluice-flood ]; then
		sc1=$(sluice_counts)
		# shellcheck disable=SC2086
		set -- $sc0 $sc1
		adm=$(($4 - $1)) rej=$(($5 - $2)) retr=$(($6 - $3))
		sl purge >/dev/null 2>&1 || true # fresh buckets for the next run
		# purge leaves sluice's TC egress filter on the interface (seen at a4b0d79): remove
		# it, so that no later case runs it on nginx's responses.
		sl_in_ns "$SRV_NS" tc qdisc del dev "$SRV_IF" clsact 2>/dev/null || true
	fi
	nginx_stop # flushes the access log
	# Requests with the key only (the readiness check has none). The window: first to last of
	# them, as nginx logged them (sluice-flood: the flood's duration).
	read -r served r429 win < <(awk '$3 == 1 { if (!n++) f = $1; l = $1; s += $2 == 200;
		r += $2 == 429 } END { printf "%d %d %.3f\n", s, r, n ? l - f : 0 }' "$T/access.log")
	case "$c" in *-flood) win=$dur ;; esac
	if [ "$c" = nginx-limit_req ]; then
		rej=$r429
		adm=$served
	elif [ "$c" = plain ]; then
		rej=0 adm=$served
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$c" \
		"$dur" "${wreq:-0}" "${wnon:-0}" "${wto:-0}" "$served" "$rej" "$adm" "$retr" \
		$((n1 - n0)) $((a1 - a0)) $((k1 - k0)) $((s1 - s0)) "$win"
	say "round $round $c: client ${wreq:-0} requests (${wnon:-0} non-2xx, ${wto:-0} timeouts), served $served, rejected $rej, admitted $adm, server CPU $(((n1 - n0 + a1 - a0 + k1 - k0) / 1000000)) ms"
}

main() {
	preflight
	sl_trap_cleanup cleanup
	sl_tmpdir
	sl_fast_python
	local P round c load0
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	P=$(sl_prefix)
	sl_netns_setup "$P"
	NAPI_SRV=$(thread_napi "$SRV_NS" "$SRV_IF" "$SRV_CPU")
	thread_napi "$CLI_NS" "$CLI_IF" "$CLI_CPU" >/dev/null
	sluice_policy
	printf '# %s\n' "$(IFS=$'\t'; echo "round case duration wrk_requests wrk_non2xx wrk_timeouts served rejected limiter_admitted retrans nginx_ns napi_ns ksoftirqd_ns softirq_ticks window_s" | tr ' ' '\t')" >"$RUNS"
	for round in $(seq 1 "$ROUNDS"); do
		for c in $CASES; do
			run_case "$round" "$c" >>"$RUNS" || true
		done
	done
	{
		echo
		echo "## HTTP: wrk with a key, nginx limit_req vs sluice's HTTP layer"
		echo
		echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo "? (not a git checkout; version $(cat VERSION 2>/dev/null))"); kernel $(uname -r); $(nginx -v 2>&1 | sed 's/.*: //'); $(wrk -v 2>&1 | head -1 | awk '{ print $1, $2 }')"
		echo "- Command: \`bench/http.sh $ARGS\` (O=$O); load average before: $load0"
		echo "- \`wrk -t$THREADS -c$CONNS -d${DURATION}s --timeout 2s -H 'X-API-Key: K'\` on CPU $CLI_CPU (client namespace);"
		echo "  nginx (1 worker) and the server veth's threaded NAPI on CPU $SRV_CPU; limit $RATE requests/s, burst $BURST."
		echo
		python3 bench/report.py http-table "$RUNS" "$RATE" "$BURST" "$DURATION"
	} >"$SL_TMPDIR/http.md"
	cp "$SL_TMPDIR/http.md" "$OUT"
	cat "$OUT"
	say "written to $OUT (every run: $RUNS)"
}

main
