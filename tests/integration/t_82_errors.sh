#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Errors say what is wrong and what to do; each case checks the exit status and the key phrases:
#   1. no root, or root without CAP_BPF/CAP_NET_ADMIN/CAP_PERFMON: the missing ones are named
#      (attach, policy apply, run), before anything is created;
#   2. bpffs not mounted (private mount namespace): attach mounts it; where it cannot (no
#      /sys/fs/bpf to mount on, or no CAP_SYS_ADMIN) the message says why and how to mount it;
#   3. no such interface, for attach and detach, with and without --netns;
#   4. a driver without native XDP (dummy, or ifb where the kernel has no dummy): the default mode
#      is refused with advice, --mode skb and --hook tc work;
#   5. another XDP program on the interface: refused, naming its id and name, nothing of sluice
#      left attached, and the advice (`ip link set ... xdp off`, --hook tc) is right;
#   6. a kernel older than 5.15 (SLUICE_TEST_KERNEL): the missing features are named, nothing
#      touched;
#   7. a bad policy file on `policy apply`: FILE:LINE: reason, the running policy stays.
# (Numbered as in issue 5; they run in the order that needs the fewest set-ups.)
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

sl_require_root
sl_require_cmd nsenter timeout unshare setpriv python3 ip tc clang
sl_fast_python
# Pin root of the private mount namespaces of case 2 (a bpffs that exists only there).
MPIN=/sys/fs/bpf/sluice-test-m-$$
cleanup() {
	rm -rf "$MPIN"
}
sl_trap_cleanup cleanup
sl_tmpdir
T=$SL_TMPDIR
chmod 0755 "$T" # the unprivileged runs of case 1 read their policy file here
sl_netns_setup "$(sl_prefix)"
PIN=$(sl_pin_root)
SL_BIN=$(readlink -f "$SLUICE")
NSX=(nsenter --net="/run/netns/$SRV_NS") # into the server namespace, nothing else changes
sl_log "pin root $PIN, interface $SRV_NS/$SRV_IF"

# expect_fail LABEL CMD...: CMD exits 1; its stderr is left in $T/err for expect_msg.
expect_fail() {
	local label=$1 rc=0
	shift
	"$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	sl_log "$label: exit $rc: $(cat "$T/err")"
	sl_assert_eq "$rc" 1 "$label: exit status"
	EXPECT_LABEL=$label
}

# expect_msg TEXT...: the last expect_fail's stderr contains every TEXT (fixed strings).
expect_msg() {
	local s
	for s in "$@"; do
		grep -qF -- "$s" "$T/err" ||
			sl_fail "$EXPECT_LABEL: the message lacks '$s': $(cat "$T/err")"
		echo "ok: $EXPECT_LABEL: says '$s'"
	done
}

# drop CAPS: DROP=(argv prefix) that runs a command as root without the capabilities CAPS (e.g.
# bpf,net_admin): capsh (libcap2-bin) when installed, else setpriv. Both take them out of the
# bounding set, so root's next exec lacks them. Put it after nsenter, which needs CAP_SYS_ADMIN.
drop() {
	if command -v capsh >/dev/null 2>&1; then
		# shellcheck disable=SC2016 # $0 and $@ are for the shell capsh runs
		DROP=(capsh --drop="cap_${1//,/,cap_}" -- -c 'exec "$0" "$@"')
	else
		DROP=(setpriv --bounding-set "-${1//,/,-}")
	fi
}

# xdp_prog DEV: id of the XDP program on DEV in the server namespace, 0 if none.
xdp_prog() {
	sl_json "$(ip -n "$SRV_NS" -j link show dev "$1")" \
		'd[0].get("xdp", {}).get("prog", {}).get("id", 0)'
}

# filters: sluice's (or anyone's) tc filters on SRV_IF, ingress and egress; empty if none.
filters() {
	tc -n "$SRV_NS" filter show dev "$SRV_IF" ingress
	tc -n "$SRV_NS" filter show dev "$SRV_IF" egress
}

nothing_created() {
	[ ! -e "$PIN" ] || sl_fail "$1: $PIN was created: $(find "$PIN")"
	echo "ok: $1: nothing created under $PIN"
}

cat >"$T/good.yaml" <<'YAML'
version: 1
name: t82-good
sources:
  - {name: clients, cidr: 10.203.0.0/24, rate: 1000, burst: 100}
YAML
chmod 0644 "$T/good.yaml"

# --- 1. privileges
ADVICE="run as root (sudo) or grant CAP_BPF, CAP_NET_ADMIN (and CAP_PERFMON)"
# refused WHO MISSING PREFIX...: attach, policy apply and run, each started through PREFIX in the
# server namespace, exit 1 and name the MISSING capabilities with the advice.
refused() {
	local who=$1 missing=$2 c
	shift 2
	for c in "attach $SRV_IF" "policy apply $T/good.yaml" \
		"run --policy $T/good.yaml --state-dir $T/state"; do
		# shellcheck disable=SC2086 # the command's words
		expect_fail "${c%% *} as $who" timeout 10 "${NSX[@]}" "$@" "$SL_BIN" --pin-root "$PIN" $c
		expect_msg "$missing missing" "$ADVICE"
	done
}
refused nobody "CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON are" \
	setpriv --reuid=65534 --regid=65534 --clear-groups
drop bpf,net_admin,sys_admin
refused "root without CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN" "CAP_BPF and CAP_NET_ADMIN are" \
	"${DROP[@]}"
# Without CAP_PERFMON (or CAP_SYS_ADMIN, which stands for it) the verifier refuses the programs.
drop perfmon,sys_admin
refused "root without CAP_PERFMON, CAP_SYS_ADMIN" "CAP_PERFMON is" "${DROP[@]}"
[ ! -e "$T/state" ] || sl_fail "a refused run created its state directory"
nothing_created "refused for privileges"
sl_assert_eq "$(xdp_prog "$SRV_IF")" 0 "refused for privileges: nothing attached"

# --- 6. kernel too old: refused before anything is created
for cmd in "attach $SRV_IF" "policy apply $T/good.yaml"; do
	# shellcheck disable=SC2086 # the command's words
	expect_fail "$cmd on kernel 5.4.0" env SLUICE_TEST_KERNEL=5.4.0 "${NSX[@]}" "$SL_BIN" \
		--pin-root "$PIN" $cmd
	expect_msg "kernel 5.4.0 is older than 5.15, the oldest sluice supports: " \
		"(BPF atomics, the shared buckets) needs 5.12" "XDP through a bpf_link (attach) needs 5.9" \
		"; upgrade the kernel"
done
expect_fail "attach on kernel 5.14.21" env SLUICE_TEST_KERNEL=5.14.21 "${NSX[@]}" "$SL_BIN" \
	--pin-root "$PIN" attach "$SRV_IF"
expect_msg "kernel 5.14.21 is older than 5.15, the oldest sluice supports; upgrade the kernel"
nothing_created "refused for the kernel"
sl_assert_eq "$(xdp_prog "$SRV_IF")" 0 "refused for the kernel: nothing attached"

# --- 3. no such interface (attach)
NO_IFACE="no interface nosuch0 (in this network namespace; \`ip link\` lists them; --netns NAME for another)"
expect_fail "attach nosuch0" sl_sluice attach nosuch0
expect_msg "$NO_IFACE"
expect_fail "attach --netns nosuch0" sl_sluice --netns "$SRV_NS" attach nosuch0
expect_msg "no interface nosuch0 in network namespace $SRV_NS (\`ip -n $SRV_NS link\` lists them)"
nothing_created "attach to a missing interface"

# --- 4. a driver without native XDP
KIND=
for k in dummy ifb; do
	if ip -n "$SRV_NS" link add d0 type "$k" 2>/dev/null; then
		KIND=$k
		break
	fi
done
[ -n "$KIND" ] || sl_fail "cannot make a dummy or ifb interface"
ip -n "$SRV_NS" link set d0 up
sl_log "d0 is a $KIND interface (no native XDP)"
expect_fail "attach to $KIND (native)" sl_sluice --netns "$SRV_NS" attach d0
expect_msg "the driver of d0 ($KIND) has no native XDP support" "--mode skb" "--hook tc"
sl_assert_eq "$(xdp_prog d0)" 0 "refused native attach: no XDP program on d0"
sl_status "$T/st.json"
sl_assert_eq "$(sl_json "$T/st.json" 'len(d["interfaces"])')" 0 \
	"refused native attach: nothing recorded"
for how in "--mode skb:xdp/skb" "--hook tc:tc"; do
	# shellcheck disable=SC2086 # the option and its value
	sl_sluice --netns "$SRV_NS" attach d0 ${how%:*} >"$T/out"
	sl_status "$T/st.json"
	sl_assert_eq "$(sl_json "$T/st.json" '[(i["ifname"], i["hook"] + ("/" + i["mode"]
		if i["hook"] == "xdp" else ""), i["attached"]) for i in d["interfaces"]]')" \
		"[[\"d0\", \"${how#*:}\", true]]" "attach d0 ${how%:*} works on $KIND"
	sl_sluice --netns "$SRV_NS" detach d0 >/dev/null
done
sl_assert_eq "$(xdp_prog d0)" 0 "d0: detached"

# --- 3. no such interface (detach; the maps exist now)
expect_fail "detach nosuch0" sl_sluice detach nosuch0
expect_msg "$NO_IFACE"
expect_fail "detach --netns nosuch0" sl_sluice --netns "$SRV_NS" detach nosuch0
expect_msg "no interface nosuch0 in network namespace $SRV_NS (\`ip -n $SRV_NS link\` lists them)"
expect_fail "detach from an interface sluice is not on" sl_sluice --netns "$SRV_NS" detach d0
expect_msg "sluice is not attached to d0 in network namespace $SRV_NS"

# --- 5. another XDP program on the interface
cat >"$T/x.c" <<'C'
#include <linux/bpf.h>
__attribute__((section("xdp"), used)) int t82_pass(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] __attribute__((section("license"), used)) = "GPL";
C
MULTIARCH=$(cc -print-multiarch 2>/dev/null || true)
clang -O2 -target bpf -I"/usr/include/$MULTIARCH" -c "$T/x.c" -o "$T/x.o" 2>"$T/cc.err" ||
	sl_fail "cannot build the other XDP program: $(cat "$T/cc.err")"
for m in native:xdp generic:xdpgeneric; do
	mode=${m%:*} ipmode=${m#*:}
	ip -n "$SRV_NS" link set dev "$SRV_IF" "$ipmode" obj "$T/x.o" sec xdp
	OTHER=$(xdp_prog "$SRV_IF")
	[ "$OTHER" != 0 ] || sl_fail "ip link did not attach the other XDP program ($mode)"
	sl_log "other XDP program: id $OTHER, $mode mode"
	OFF="ip -n $SRV_NS link set dev $SRV_IF $ipmode off"
	for how in "" "--mode skb"; do
		# shellcheck disable=SC2086 # the option and its value
		expect_fail "attach over a $mode XDP program${how:+ ($how)}" \
			sl_sluice --netns "$SRV_NS" attach "$SRV_IF" $how
		expect_msg "another XDP program is attached to $SRV_IF (id $OTHER, name t82_pass, $mode mode)" \
			"detach it (\`$OFF\`)" "--hook tc"
	done
	sl_assert_eq "$(xdp_prog "$SRV_IF")" "$OTHER" "the other $mode program stays"
	sl_assert_eq "$(filters)" "" "no tc filter of sluice on $SRV_IF"
	sl_status "$T/st.json"
	sl_assert_eq "$(sl_json "$T/st.json" 'len(d["interfaces"])')" 0 "nothing of sluice attached"
	[ -z "$(ls -A "$PIN/links")" ] || sl_fail "a link is pinned: $(ls -A "$PIN/links")"
	$OFF # the advice works
	sl_assert_eq "$(xdp_prog "$SRV_IF")" 0 "\`$OFF\` removed the other program"
done

# --- 7. a bad policy file on apply: FILE:LINE: reason, the running policy stays
sl_sluice policy apply "$T/good.yaml" >/dev/null
sl_status "$T/st.json"
HASH=$(sl_json "$T/st.json" 'd["policy"]["hash"]')
cat >"$T/bad.yaml" <<'YAML'
version: 1
name: t82-bad
sources:
  - name: clients
    cidr: 10.203.0.0/24
    rate: 10
    burst: 0
YAML
FIXTURE=$(dirname "$0")/../unit/policies/bad/cidr-bad-text.yaml
FIXTURE_EXPECT=$(sed -n 's/^# expect: //p' "$FIXTURE")
for f in "$T/bad.yaml:7: burst 0 would admit nothing" "$FIXTURE:$FIXTURE_EXPECT"; do
	expect_fail "policy apply ${f%%:*}" sl_sluice policy apply "${f%%:*}"
	expect_msg "$f" "policy not applied; the running policy is unchanged"
	sl_status "$T/st.json"
	sl_assert_eq "$(sl_json "$T/st.json" '(d["policy"]["name"], d["policy"]["hash"])')" \
		"[\"t82-good\", \"$HASH\"]" "after the bad apply: the running policy stays"
done

# --- 2. bpffs not mounted, in private mount namespaces (nothing outside this test changes)
# mns SCRIPT [CMD...]: run the sh SCRIPT in a private mount namespace after unmounting bpffs
# from /sys/fs/bpf there; "$@" in SCRIPT is CMD, in the server's network namespace.
mns() {
	local script=$1
	shift
	timeout 30 unshare -m --propagation private sh -c '
		while grep -q " /sys/fs/bpf bpf " /proc/self/mounts; do umount /sys/fs/bpf || exit 3; done
		'"$script" sh "${NSX[@]}" "$@"
}
mns '"$@" attach '"$SRV_IF"' --hook tc && stat -f -c "bpffs %T" /sys/fs/bpf && "$@" purge' \
	"$SL_BIN" --pin-root "$MPIN" >"$T/out" 2>&1 ||
	sl_fail "attach without bpffs mounted: $(cat "$T/out")"
grep -q "^attached to $SRV_IF (tc)" "$T/out" || sl_fail "attach without bpffs: $(cat "$T/out")"
grep -q "^bpffs bpf_fs" "$T/out" || sl_fail "sluice did not mount bpffs: $(cat "$T/out")"
echo "ok: attach without bpffs mounted: sluice mounted it ($(tr '\n' ' ' <"$T/out"))"
sl_assert_eq "$(filters)" "" "its purge removed the filters"
[ ! -e "$MPIN" ] || sl_fail "pins leaked out of the mount namespace"

# A read-only empty tmpfs over /sys/fs/bpf would not stop the mount (bpffs mounts on top of it),
# so it goes over /sys/fs: there is no /sys/fs/bpf left to mount on.
MOUNT_ADVICE=("bpffs is not mounted at /sys/fs/bpf" "mount it (\`mount -t bpf bpf /sys/fs/bpf\`)"
	"or use --pin-root DIR on a bpffs")
expect_fail "attach with no /sys/fs/bpf to mount on" mns \
	'mount -t tmpfs -o ro,size=64k sluice-t82 /sys/fs || exit 3; "$@"' \
	"$SL_BIN" --pin-root "$MPIN" attach "$SRV_IF" --hook tc
expect_msg "${MOUNT_ADVICE[@]}" "mounting it there failed: No such file or directory"
drop sys_admin
expect_fail "attach without CAP_SYS_ADMIN to mount bpffs" mns '"$@"' "${DROP[@]}" "$SL_BIN" \
	--pin-root "$MPIN" attach "$SRV_IF" --hook tc
expect_msg "${MOUNT_ADVICE[@]}" "mounting it there failed: Operation not permitted"
sl_assert_eq "$(filters)" "" "the refused attaches left no filter"
