#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A machine without bpffs mounted: sluice mounts it at /sys/fs/bpf by itself. Run in a private
# mount namespace, so that unmounting bpffs there touches nothing outside this test. Also: a
# --pin-root outside bpffs is refused with advice, and a non-root user is told to use root.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

sl_require_root
sl_require_cmd unshare timeout stat
sl_trap_cleanup
sl_tmpdir
T=$SL_TMPDIR
SL_BIN=$(readlink -f "$SLUICE")

cat >"$T/p.yaml" <<'YAML'
version: 1
name: bpffs
sources:
  - {name: default, cidr: 0.0.0.0/0, rate: 10, burst: 10}
YAML

# Inside: unmount every bpffs at /sys/fs/bpf, apply a policy (which creates the maps), and
# report the filesystem type there afterwards.
timeout 60 unshare -m --propagation private sh -c '
	while grep -q " /sys/fs/bpf bpf " /proc/self/mounts; do umount /sys/fs/bpf || exit 3; done
	stat -f -c "before %T" /sys/fs/bpf
	"$1" --pin-root /sys/fs/bpf/sluice-bpffs-test policy apply "$2" || exit 4
	stat -f -c "after %T" /sys/fs/bpf
	ls /sys/fs/bpf/sluice-bpffs-test/maps | wc -l | sed "s/^/maps /"
' sh "$SL_BIN" "$T/p.yaml" >"$T/out" 2>&1 || sl_fail "inside the mount namespace: $(cat "$T/out")"
cat "$T/out"
grep -q '^before bpf_fs$' "$T/out" && sl_fail "bpffs was still mounted before the apply"
grep -q '^after bpf_fs$' "$T/out" || sl_fail "sluice did not mount bpffs at /sys/fs/bpf"
grep -q '^maps [1-9]' "$T/out" || sl_fail "no maps pinned after mounting bpffs"
echo "ok: bpffs mounted by sluice and maps pinned"

# The mount and its pins lived in the namespace only: nothing was left on the host.
[ ! -e /sys/fs/bpf/sluice-bpffs-test ] || sl_fail "pins leaked out of the mount namespace"

# A pin root that is not on bpffs (and not under /sys/fs/bpf) is refused with advice.
rc=0
"$SLUICE" --pin-root "$T/notbpf" policy apply "$T/p.yaml" 2>"$T/err" || rc=$?
sl_assert_eq "$rc" 1 "pin root outside bpffs: exit status"
grep -q "not on a bpf filesystem" "$T/err" || sl_fail "no advice for a non-bpffs pin root: $(cat "$T/err")"
echo "ok: $(cat "$T/err")"

# Not root: a clear message, exit 1.
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	rc=0
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$SL_BIN" status 2>"$T/err" || rc=$?
	sl_assert_eq "$rc" 1 "non-root status: exit status"
	grep -q "needs root" "$T/err" || sl_fail "non-root: no 'needs root' advice: $(cat "$T/err")"
	echo "ok: non-root: $(cat "$T/err")"
fi
