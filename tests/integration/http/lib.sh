# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Helpers of the HTTP-layer integration tests (t_60_http*.sh): nginx in the server namespace,
# its access log per tenant, sluice's per-tenant counters, curl and wrk in the client namespace.
# shellcheck shell=bash
#
# Needs tests/lib.sh sourced first, sl_netns_setup and sl_tmpdir done (SRV_NS, SL_TMPDIR ...).
#
#	http_nginx_start [PORT...]     nginx (1 worker, master off) on SRV_IP4 and SRV_IP6, ports
#	                               8000 and 8080 by default; access log $SL_TMPDIR/access.log
#	http_nginx_stop                kill it by its PID (the trap does it too)
#	http_log_mark                  the access log's line count now (a start offset)
#	http_log_counts MARK KEYMAP    per-tenant counts of the log lines after MARK (JSON)
#	http_tenants OUT               sluice's per-tenant counters (JSON, CLI or bpftool fallback)
#	http_curl ARGS...              curl in the client namespace, bounded to 10 s
#	http_traffic_stop [--wait SECS] PID...
#	                               end wrk load generators (SIGINT, or let them finish), reset
#	                               the client's sockets to port 8000, wait until the tenant
#	                               counters stop moving

HTTP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NGINX_PID=

# http_test_setup CMD...: the common start of an HTTP test, in the test's own shell: root and
# the commands needed (else skip), the cleanup trap (nginx stopped, then tests/lib.sh's
# teardown), a tmpdir (T), client and server namespaces, a pin root (PIN).
http_test_setup() {
	sl_require_root
	sl_require_cmd "$@"
	sl_fast_python
	sl_trap_cleanup http_nginx_stop
	sl_tmpdir
	T=$SL_TMPDIR
	sl_netns_setup "$(sl_prefix)"
	PIN=$(sl_pin_root)
	sl_log "pin root $PIN, server $SRV_NS/$SRV_IF"
}

# http_nginx_conf PORT...: the server's configuration, everything under $SL_TMPDIR.
# The log is one tab-separated line per request: time ($msec), client address, method, URI,
# status, request length, body bytes sent, bytes sent, then the two key headers (X-API-Key,
# Authorization) as nginx saw them ("-" when absent). nginx escapes control bytes and quotes in
# variables (\xNN), so a key never breaks the format.
http_nginx_conf() {
	local T=$SL_TMPDIR p listen=""
	for p in "$@"; do
		listen+="		listen $SRV_IP4:$p;
		listen [$SRV_IP6]:$p;
"
	done
	mkdir -p "$T/nginx-tmp" "$T/www"
	cat <<NGINX
daemon off;
master_process off;
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx-error.log warn;
user root;
events { worker_connections 1024; }
http {
	log_format tenants '\$msec\t\$remote_addr\t\$request_method\t\$uri\t\$status\t\$request_length\t\$body_bytes_sent\t\$bytes_sent\t\$http_x_api_key\t\$http_authorization';
	access_log $T/access.log tenants;
	client_body_temp_path $T/nginx-tmp/body;
	proxy_temp_path $T/nginx-tmp/proxy;
	fastcgi_temp_path $T/nginx-tmp/fastcgi;
	uwsgi_temp_path $T/nginx-tmp/uwsgi;
	scgi_temp_path $T/nginx-tmp/scgi;
	client_body_buffer_size 64k;
	client_max_body_size 1m;
	large_client_header_buffers 4 16k;
	keepalive_requests 1000000;
	keepalive_timeout 60s;
	server {
$listen		root $T/www;
		location / {
			return 200 "ok\n";
		}
		# A response of a known size, for bytes_out.
		location /big {
			try_files /big.bin =404;
		}
		# Uploads: \`return\` answers before the body is read (curl then stops sending it);
		# proxying reads the whole body first (proxy_request_buffering), so \$request_length
		# counts every byte of the request.
		location /v1/upload {
			proxy_pass http://127.0.0.1:8999;
		}
	}
	server {
		listen 127.0.0.1:8999;
		access_log off;
		location / {
			return 200 "stored\n";
		}
	}
}
NGINX
}

# http_nginx_start [PORT...]: start nginx in SRV_NS (nsenter --net, foreground, bounded to
# HTTP_NGINX_SECS, default 120 s) and wait until it answers on the first port (a curl from the
# client namespace with no key; sluice is not attached yet, or counts it as unknown-key).
http_nginx_start() {
	local T=$SL_TMPDIR i
	[ $# -gt 0 ] || set -- 8000 8080
	rm -f "$T/nginx.pid" "$T/access.log"
	http_nginx_conf "$@" >"$T/nginx.conf"
	# A 64 KiB file for /big (bytes_out of a larger response).
	head -c 65536 /dev/zero | tr '\0' 'b' >"$T/www/big.bin"
	sl_spawn_ns "$SRV_NS" "${HTTP_NGINX_SECS:-120}" "$T/nginx.out" \
		nginx -e "$T/nginx-error.log" -p "$T" -c "$T/nginx.conf"
	NGINX_PID=$SL_SPAWNED_PID # master_process off: `timeout` -> nsenter execs -> nginx
	for ((i = 0; i < 100; i++)); do
		[ -s "$T/nginx.pid" ] && break
		kill -0 "$NGINX_PID" 2>/dev/null ||
			sl_fail "nginx did not start: $(head -c 500 "$T/nginx.out") $(tail -c 500 "$T/nginx-error.log" 2>/dev/null)"
		sleep 0.05
	done
	[ -s "$T/nginx.pid" ] || sl_fail "nginx wrote no pid file"
	sl_wait_for 5 sl_in_ns_t 3 "$CLI_NS" curl -sf -o /dev/null "http://$SRV_IP4:$1/" ||
		sl_fail "nginx does not answer on $SRV_IP4:$1 ($(tail -c 500 "$T/nginx-error.log"))"
}

# http_nginx_stop: stop nginx (its own PID, from the pid file, then the `timeout` around it).
http_nginx_stop() {
	local p
	if [ -s "$SL_TMPDIR/nginx.pid" ]; then
		p=$(cat "$SL_TMPDIR/nginx.pid")
		kill -QUIT "$p" 2>/dev/null || true
	fi
	if [ -n "$NGINX_PID" ]; then
		sl_stop_pid "$NGINX_PID" 5 || true
	fi
	NGINX_PID=
}

http_log_mark() {
	if [ -f "$SL_TMPDIR/access.log" ]; then
		wc -l <"$SL_TMPDIR/access.log"
	else
		echo 0
	fi
}

# http_log_counts MARK KEYMAP [FILTER...]: JSON {tenant: {n, first, last, statuses, ...}} of
# the access-log lines after line MARK; KEYMAP is a JSON object key -> tenant name; requests
# with no key or a key not in KEYMAP are tenant "unknown" and also "unknown@ADDR".
http_log_counts() {
	python3 "$HTTP_DIR/logcount.py" "$SL_TMPDIR/access.log" "$@"
}

# http_tenants OUT: sluice's per-tenant counters into OUT, as JSON
# {"source": "cli"|"maps", "tenants": {name: {req_pass, ...}}, "groups": {...}}: from
# `sluice --json tenants` when the CLI has it (and its output is understood), else summed from
# the pinned maps; the sum from the maps is always in OUT.maps too, to compare the two.
http_tenants() {
	local out=$1 pin=/sys/fs/bpf/sluice-test-$$
	timeout 20 bpftool -j map dump pinned "$pin/maps/sl_tstats_v3" >"$out.tstats"
	timeout 20 bpftool -j map dump pinned "$pin/maps/sl_tenmeta_v1" >"$out.tenmeta"
	python3 "$HTTP_DIR/tstats.py" maps "$out.tstats" "$out.tenmeta" >"$out.maps"
	if sl_sluice --json tenants >"$out.cli" 2>"$out.err" &&
		python3 "$HTTP_DIR/tstats.py" cli "$out.cli" >"$out" 2>>"$out.err"; then
		return 0
	fi
	cp "$out.maps" "$out"
}

# http_keys_installed: whether sl_keys_v2 has entries (policy apply installed keys).
http_keys_installed() {
	local n
	n=$(timeout 20 bpftool -j map dump pinned "/sys/fs/bpf/sluice-test-$$/maps/sl_keys_v2" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	[ "$n" -gt 0 ]
}

http_curl() {
	sl_in_ns_t 10 "$CLI_NS" curl -s --max-time 5 "$@"
}

_http_quiet() { # the tenant counters equal those of the last call, 0.2 s before
	local h
	h=$(timeout 20 bpftool -j map dump pinned "/sys/fs/bpf/sluice-test-$$/maps/sl_tstats_v3" |
		md5sum)
	[ "$h" = "${HTTP_QUIET:-}" ] || { HTTP_QUIET=$h && sleep 0.2 && return 1; }
}

# http_traffic_stop [--wait SECS] PID...: the end of a load, before counters are compared. Each
# PID (wrk, started with sl_spawn_ns) gets SIGINT (wrk prints its totals on it; `timeout` passes
# it on) and 5 s to end; with --wait SECS it is left to end by itself (its -d duration), killed
# after SECS, and its exit status counts (set -e). The reaped PIDs are untracked. Then the
# client's TCP sockets to port 8000 are reset (requests refused on connections wrk closed are
# retransmitted until then), and it returns once the tenant counters (sl_tstats_v3) are the same
# in two reads 0.2 s apart; it fails when they still move after 2 s.
# shellcheck disable=SC2120 # the PIDs are optional (traffic that ended by itself: curl)
http_traffic_stop() {
	local wait='' p
	if [ "${1:-}" = --wait ]; then
		wait=$2
		shift 2
	fi
	for p in "$@"; do
		if [ -n "$wait" ]; then
			sl_wait_pid "$p" "$wait"
		else
			kill -INT "$p" 2>/dev/null || true
			sl_wait_pid "$p" 5 || true
		fi
		sl_untrack_pid "$p"
	done
	sl_in_ns_t 10 "$CLI_NS" ss -K -t state all '( dport = :8000 )' >/dev/null
	HTTP_QUIET=
	sl_wait_for 2 _http_quiet || sl_fail "the tenant counters still move after the traffic stopped"
}
