#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs the integration tests (t_*.sh whose name contains $1, all by default), each bounded in time.
#
# Prints PASS/FAIL/SKIP per test, the last 40 lines of a failing test's output, and as its last line
# "N passed, M failed, K skipped". Exits 1 when anything failed, including namespaces or pin roots
# that a test left behind (they are deleted and reported as a failure). Full logs are kept in
# $SL_LOG_DIR (default build/integration-logs). SL_TEST_TIMEOUT overrides the 300 s limit per test.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1

TEST_TIMEOUT=${SL_TEST_TIMEOUT:-300}
filter=${1:-}
SLUICE=$(realpath -m "${SLUICE:-build/sluice}")
TOOLS=$(realpath -m "${TOOLS:-build/tools}")
SL_TEST_PREFIX=slt
SL_LOG_DIR=$(realpath -m "${SL_LOG_DIR:-build/integration-logs}")
export SLUICE TOOLS SL_TEST_PREFIX SL_LOG_DIR

tests=()
for t in tests/integration/t_*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ -n "$filter" ] && [[ $name != *"$filter"* ]]; then
		continue
	fi
	tests+=("$t")
done

passed=0 failed=0 skipped=0

if [ "$(id -u)" -ne 0 ]; then
	echo "integration tests need root (network namespaces, XDP, bpffs): skipping all"
	for t in "${tests[@]}"; do
		echo "SKIP $(basename "$t" .sh) (needs root)"
		skipped=$((skipped + 1))
	done
	echo "$passed passed, $failed failed, $skipped skipped"
	exit 0
fi

# Namespaces and pin roots are named after the test's PID (slt<pid>c, sluice-test-<pid>): those
# whose process is gone are leftovers. Live ones belong to a concurrent run and are not touched.
# A test killed with its timeout process can linger as a zombie for a moment: that is dead too.
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

leftovers() {
	local ns pin pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		if [[ $ns =~ ^${SL_TEST_PREFIX}([0-9]+) ]]; then
			pid=${BASH_REMATCH[1]}
			alive "$pid" || echo "netns:$ns"
		fi
	done
	for pin in /sys/fs/bpf/sluice-test-*; do
		[ -e "$pin" ] || continue
		pid=${pin##*-}
		alive "$pid" || echo "pin:$pin"
	done
}

remove_leftover() {
	case $1 in
	netns:*)
		local ns=${1#netns:} pid
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
		;;
	pin:*) rm -rf "${1#pin:}" ;;
	esac
}

mkdir -p "$SL_LOG_DIR"
leaks=()
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	log=$SL_LOG_DIR/$name.log
	timeout -k 10 "$TEST_TIMEOUT" bash "$t" >"$log" 2>&1 </dev/null
	rc=$?
	case $rc in
	0)
		echo "PASS $name"
		passed=$((passed + 1))
		;;
	77)
		reason=$(grep -o '^SKIP: .*' "$log" | tail -n 1 | cut -c 7-)
		echo "SKIP $name (${reason:-no reason given})"
		skipped=$((skipped + 1))
		;;
	*)
		echo "FAIL $name"
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "    (timed out after $TEST_TIMEOUT s)"
		else
			echo "    (exit status $rc)"
		fi
		tail -n 40 "$log" | sed 's/^/    | /'
		failed=$((failed + 1))
		;;
	esac
	for l in $(leftovers); do
		leaks+=("$l (after $name)")
		remove_leftover "$l"
	done
done

if [ ${#leaks[@]} -gt 0 ]; then
	echo "FAIL leftovers: tests left these behind (now removed):"
	printf '    %s\n' "${leaks[@]}"
	failed=$((failed + 1))
fi
echo "logs: $SL_LOG_DIR"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
