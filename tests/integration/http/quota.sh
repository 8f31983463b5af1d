# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Helpers of the quota tests (t_70_quota*.sh): `sluice run` on an injected clock, `sluice usage`,
# billing files and alert events read back with quota.py.
# shellcheck shell=bash
#
# Needs tests/lib.sh and http/lib.sh sourced first and http_test_setup done (T, PIN, CLI_NS).
#
#	quota_run_start FAKE_NOW POLICY STATE NQ [ARGS...]
#	                                           `sluice run [ARGS...]` in the background (RUN_PID,
#	                                           tracked: the `timeout` around it, which passes
#	                                           SIGTERM on; RUN_DAEMON_PID: sluice itself), its
#	                                           log in $T/run.log; returns once NQ quotas are in
#	                                           STATE/usage.json (the data plane has them then)
#	quota_usage OUT [ARGS...]                  `sluice --json usage --state-dir $QUOTA_STATE`
#	quota_u USAGE_JSON TENANT FIELD            one field of a tenant's (first) quota there
#	quota_daemon_time                          the daemon's clock at its last tick (RFC3339)
#	quota_epoch RFC3339                        seconds since 1970
#	quota_reset_sockets PORT                   kill the client's sockets to PORT (ss -K)
#	quota_py ARGS...                           http/quota.py (percpu, billing, events)
#	quota_keys NAME...                         a keys file $T/keys/NAME.keys per tenant with
#	                                           one new key, QKEY[NAME]; KEYMAP for
#	                                           http_log_counts. In the test's own shell.
#	quota_policy_head NAME                     a policy's first lines: version, name, every
#	                                           source allowed, HTTP on port 8000
#	quota_plan NAME QUOTA...                   a plan (indented for plans:) with rate limits
#	                                           far above any load here, and these quotas (each
#	                                           a YAML flow mapping)
#	quota_send N KEY                           N requests with KEY one after another; prints
#	                                           their status codes (000: refused, given up)

QUOTA_STATE=

quota_run_start() {
	local fake=$1 policy=$2 nq=$4
	QUOTA_STATE=$3
	shift 4
	SLUICE_FAKE_NOW=$fake timeout --foreground -k 2 120 "$SLUICE" --pin-root "$PIN" run \
		--policy "$policy" --state-dir "$QUOTA_STATE" --interval 200 --flush-interval 1000 \
		"$@" 2>"$T/run.log" &
	RUN_PID=$!
	sl_track_pid "$RUN_PID"
	# usage.json is written after the first quota sync: the quotas are in the data plane then.
	sl_wait_for 10 _quota_ready "$nq" ||
		sl_fail "sluice run did not start: $(tail -c 800 "$T/run.log")"
	# shellcheck disable=SC2034 # for the test (SIGSTOP, SIGCONT); sluice run writes it there
	RUN_DAEMON_PID=$(cat "$QUOTA_STATE/lock")
	sl_log "daemon: $(head -n 2 "$T/run.log" | tr '\n' ' ')"
}

_quota_ready() {
	kill -0 "$RUN_PID" && [ "$(sl_json "$QUOTA_STATE/usage.json" 'len(d["quotas"])')" = "$1" ]
}

quota_usage() {
	local out=$1
	shift
	sl_sluice --json usage --state-dir "$QUOTA_STATE" "$@" >"$out"
}

quota_u() {
	sl_json "$1" "[q['$3'] for q in d['quotas'] if q['tenant'] == '$2'][0]"
}

quota_daemon_time() {
	sl_json "$QUOTA_STATE/usage.json" 'd["time"]'
}

quota_epoch() {
	date -u -d "$1" +%s
}

quota_reset_sockets() {
	sl_in_ns_t 10 "$CLI_NS" ss -K -t state all "( dport = :$1 )" >/dev/null
}

quota_py() {
	python3 "$HTTP_DIR/quota.py" "$@"
}

quota_keys() {
	local n m=""
	declare -gA QKEY
	mkdir -p "$T/keys"
	for n in "$@"; do
		QKEY[$n]=sk-$n-$$-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
		printf '%s\n' "${QKEY[$n]}" >"$T/keys/$n.keys"
		chmod 600 "$T/keys/$n.keys"
		m+="${m:+, }\"${QKEY[$n]}\": \"$n\""
	done
	# shellcheck disable=SC2034 # for http_log_counts in the test
	KEYMAP="{$m}"
}

quota_policy_head() {
	cat <<YAML
version: 1
name: $1
sources:
  - name: everyone
    cidr: [0.0.0.0/0, "::/0"]
    action: allow
http:
  ports: [8000]
YAML
}

quota_plan() {
	printf '  %s:\n    rate: 100000\n    burst: 100000\n    quotas:\n' "$1"
	shift
	printf '      - %s\n' "$@"
}

# A refused request is dropped: curl gives up after 0.5 s, and its socket is killed before the
# next call returns, so that TCP does not deliver the request later (in another period).
quota_send() {
	local i codes=()
	for ((i = 0; i < $1; i++)); do
		codes+=("$(http_curl --max-time 0.5 -o /dev/null -w '%{http_code}' \
			-H "X-API-Key: $2" "http://$SRV_IP4:8000/v1/files" || true)")
	done
	quota_reset_sockets 8000
	sleep 0.2
	echo "${codes[*]}"
}
