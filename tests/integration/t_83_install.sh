#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make install and uninstall into a temporary DESTDIR: files and modes, the systemd units, the man
# page, the bash completion, --help of every command and --version. Needs no root features.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

sl_require_cmd make install groff timeout
sl_trap_cleanup
sl_tmpdir
T=$SL_TMPDIR
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SLUICE=$(realpath "$SLUICE")
O=$(dirname "$SLUICE")
[ -x "$SLUICE" ] && [ -f "$O/bpf/sluice.bpf.o" ] ||
	sl_skip "$SLUICE and $O/bpf/sluice.bpf.o are not a build tree's: run make"
VERSION=$(cat "$SRC/VERSION")

# mk DESTDIR PREFIX TARGET: install what is built (-o: never rebuild, as root, into the tree
# because a source changed since the build).
mk() {
	timeout 60 make -s -C "$SRC" O="$O" -o "$SLUICE" -o "$O/bpf/sluice.bpf.o" \
		DESTDIR="$1" PREFIX="$2" "$3" >"$T/make.log" 2>&1 ||
		{ cat "$T/make.log"; sl_fail "make $3 DESTDIR=$1 PREFIX=$2"; }
}

# installed DIR: "MODE PATH" of every file and link under DIR, sorted.
installed() {
	(cd "$1" && find . ! -type d -printf '%m %P\n' | sort)
}

R=$T/root
touch "$T/marker"
mk "$R" /usr install
installed "$R" >"$T/files"
cat "$T/files"
sort >"$T/want" <<'EOF'
755 usr/sbin/sluice
644 usr/lib/sluice/sluice.bpf.o
644 usr/share/man/man8/sluice.8
644 usr/share/bash-completion/completions/sluice
644 lib/systemd/system/sluice.service
644 lib/systemd/system/sluice-attach@.service
EOF
diff -u "$T/want" "$T/files" || sl_fail "make install PREFIX=/usr: files or modes differ"
sl_log "installed: every file, modes 755/644"
cmp "$SLUICE" "$R/usr/sbin/sluice" || sl_fail "the installed binary is not $SLUICE"
cmp "$O/bpf/sluice.bpf.o" "$R/usr/lib/sluice/sluice.bpf.o" || sl_fail "the BPF object differs"
[ -z "$(find "$SRC/packaging" "$O" -newer "$T/marker" -name '*.service' 2>/dev/null)" ] ||
	sl_fail "make install wrote a unit into the source or build tree"

# ---- systemd units
U=$R/lib/systemd/system
grep -q '@SBINDIR@' "$U"/*.service && sl_fail "a unit still has @SBINDIR@"
for want in 'Type=simple' 'ExecStart=/usr/sbin/sluice run --policy ' \
	'ExecReload=kill -HUP $MAINPID' 'StateDirectory=sluice' 'Restart=on-failure'; do
	grep -qF "$want" "$U/sluice.service" || sl_fail "sluice.service has no '$want'"
done
grep -qx 'ExecStart=/usr/sbin/sluice attach %i' "$U/sluice-attach@.service" ||
	sl_fail "sluice-attach@.service does not run /usr/sbin/sluice attach %i"
if command -v systemd-analyze >/dev/null; then
	# Verified outside DESTDIR: the units point at the DESTDIR binary, man at the DESTDIR page.
	mkdir "$T/verify"
	for u in sluice.service sluice-attach@.service; do
		sed "s|/usr/sbin/sluice|$R/usr/sbin/sluice|g" "$U/$u" >"$T/verify/$u"
	done
	for u in sluice.service sluice-attach@lo.service; do
		out=$(cd "$T/verify" && MANPATH=$R/usr/share/man timeout 30 \
			systemd-analyze verify "$T/verify/$u" 2>&1) ||
			sl_fail "systemd-analyze verify $u: $out"
		[ -z "$out" ] || sl_fail "systemd-analyze verify $u warns: $out"
	done
	sl_log "systemd-analyze verify: sluice.service and sluice-attach@lo.service are clean"
else
	sl_log "systemd-analyze not found: units not verified"
fi

# ---- man page
M=$R/usr/share/man/man8/sluice.8
out=$(groff -man -ww -z "$M" 2>&1) || sl_fail "groff failed on sluice.8: $out"
[ -z "$out" ] || sl_fail "groff warns on sluice.8: $out"
if command -v man >/dev/null; then
	out=$(MANWIDTH=100 man --warnings -l "$M" 2>&1 >/dev/null) || sl_fail "man -l: $out"
	[ -z "$out" ] || sl_fail "man --warnings warns on sluice.8: $out"
fi
sl_log "sluice.8 renders without warnings"

# ---- every command of `sluice --help`: its own --help/-h, a man section, a completion
B=$R/usr/sbin/sluice
"$B" --help >"$T/help" || sl_fail "sluice --help exits $?"
"$B" -h | cmp -s - "$T/help" || sl_fail "sluice -h differs from sluice --help"
grep -q '^usage: sluice ' "$T/help" || sl_fail "sluice --help prints no usage line"
mapfile -t CMDS < <(awk '/^commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }' "$T/help")
[ ${#CMDS[@]} -ge 10 ] || sl_fail "sluice --help lists ${#CMDS[@]} commands: ${CMDS[*]}"
sl_log "commands: ${CMDS[*]}"
rc=0
"$B" >/dev/null 2>&1 || rc=$?
sl_assert_eq "$rc" 2 "sluice without a command exits 2"
for c in "${CMDS[@]}"; do
	for h in --help -h; do
		rc=0
		out=$(timeout 10 "$B" "$c" "$h" 2>&1) || rc=$?
		[ "$rc" -eq 0 ] || sl_fail "sluice $c $h exits $rc: $out"
		grep -q "^usage: sluice $c\\b" <<<"$out" ||
			sl_fail "sluice $c $h does not print 'usage: sluice $c': $out"
	done
	grep -qx "\\.SS $c" "$M" || sl_fail "sluice.8 has no section for $c"
done
sl_log "every command: --help and -h exit 0 with its usage line; sluice.8 covers it"
sl_assert_eq "$("$B" --version)" "sluice $VERSION" "sluice --version"
sl_assert_eq "$("$B" version)" "sluice $VERSION" "sluice version"
sl_assert_eq "$("$B" status --version)" "sluice $VERSION" "--version after a command"

# ---- bash completion: comp WORD... prints the candidates for the last word, sorted
C=$R/usr/share/bash-completion/completions/sluice
touch "$T/pol.yaml"
cat >"$T/complete.sh" <<'EOF'
. "$1"
shift
complete -p sluice
COMP_WORDS=(sluice "$@")
COMP_CWORD=$#
_sluice sluice "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd ' '
EOF
comp() {
	timeout 10 bash --norc --noprofile "$T/complete.sh" "$C" "$@" 2>&1
}
out=$(comp at)
grep -qx 'complete -F _sluice sluice' <<<"$out" || sl_fail "complete -p sluice: $out"
sl_assert_eq "$(tail -n 1 <<<"$out")" attach "sluice at<TAB>"
sl_assert_eq "$(comp policy '' | tail -n 1)" "apply check show" "sluice policy <TAB>"
sl_assert_eq "$(comp policy check "$T/pol" | tail -n 1)" "$T/pol.yaml" \
	"sluice policy check FILE<TAB>"
sl_assert_eq "$(comp --json run --policy "$T/pol" | tail -n 1)" "$T/pol.yaml" \
	"sluice run --policy FILE<TAB>"
sl_assert_eq "$(comp attach --hook '' | tail -n 1)" "tc xdp" "sluice attach --hook <TAB>"
grep -qw lo <<<"$(comp attach '' | tail -n 1)" || sl_fail "sluice attach <TAB> lacks lo"
grep -qw lo <<<"$(comp --pin-root /x detach '' | tail -n 1)" ||
	sl_fail "sluice --pin-root DIR detach <TAB> lacks lo"
out=$(comp attach lo --t | tail -n 1)
sl_assert_eq "$out" "--table-size" "sluice attach lo --t<TAB>"
out=$(comp '' | tail -n 1)
for c in "${CMDS[@]}"; do
	grep -qw -- "$c" <<<"$out" || sl_fail "sluice <TAB> lacks $c: $out"
done
sl_log "completion: commands, policy verbs, files, hooks, interfaces, options"

# ---- the default PREFIX keeps the unit under it; uninstall removes everything
mk "$T/local" /usr/local install
grep -qx 'ExecStart=/usr/local/sbin/sluice run --policy /etc/sluice/policy.yaml --state-dir /var/lib/sluice' \
	"$T/local/usr/local/lib/systemd/system/sluice.service" ||
	sl_fail "PREFIX=/usr/local: no unit with /usr/local/sbin/sluice under /usr/local/lib/systemd"
for d in "$R:/usr" "$T/local:/usr/local"; do
	mk "${d%%:*}" "${d#*:}" uninstall
	left=$(installed "${d%%:*}")
	[ -z "$left" ] || sl_fail "make uninstall PREFIX=${d#*:} left: $left"
	[ ! -e "${d%%:*}${d#*:}/lib/sluice" ] || sl_fail "uninstall left ${d#*:}/lib/sluice"
done
sl_log "make uninstall removed every file (PREFIX=/usr and /usr/local)"
