#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `sluice top` against nginx under load, with `sluice run` keeping a quota: tenant alpha (rate
# 100/s, burst 20) under paced wrk load beyond its rate, beta (a daily hard quota) under light
# load, a UDP flood from a second client address held by rule "flooders" (200 packets/s).
#  1. off a terminal: `top --interval 500 --count 2` prints two plain snapshots with alpha
#     admitted/s > 0 (and at most what its bucket allows) and dropped/s > 0, beta's quota bar,
#     the flooders' aggregate at its limit (admitted/s near 200, burst in use);
#  2. `--json top --count 1` is one JSON document with the same;
#  3. under a pty (python3's pty support): the screen (clear, home, header, tenant rows), s changes
#     the sort, a resize redraws within the new width, q exits 0 within 2 s with the terminal's
#     modes as they were; SIGTERM and ^C restore them too.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/http/lib.sh
. "$(dirname "$0")/http/lib.sh"
# shellcheck source=tests/integration/http/quota.sh
. "$(dirname "$0")/http/quota.sh"

http_test_setup nsenter timeout python3 nginx wrk curl ss bpftool
CLI2_IP4=10.203.0.3 # a second client address, for the flood
sl_in_ns "$CLI_NS" ip addr add "$CLI2_IP4/24" dev "$CLI_IF"
sl_in_ns "$SRV_NS" ip neigh replace "$CLI2_IP4" lladdr "$CLI_MAC" dev "$SRV_IF" nud permanent

quota_keys alpha beta
cat >"$T/policy.yaml" <<YAML
version: 1
name: top-test
sources:
  - name: everyone
    cidr: [0.0.0.0/0, "::/0"]
    prefix: {ipv4: 32, ipv6: 64}
    rate: 100000
    burst: 200000
  - name: flooders
    cidr: [$CLI2_IP4/32]
    rate: 200
    burst: 100
http:
  ports: [8000]
plans:
  small: {rate: 100, burst: 20}
$(quota_plan metered "{name: per-day, unit: days, quota: 20000, mode: hard}")
tenants:
  - {name: alpha, plan: small, keys_file: keys/alpha.keys}
  - {name: beta, plan: metered, keys_file: keys/beta.keys}
YAML

http_nginx_start 8000
sl_sluice --netns "$SRV_NS" attach "$SRV_IF"
quota_run_start "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$T/policy.yaml" "$T/state" 1

printf 'function delay() return %d end\n' 5 >"$T/pace5.lua"
printf 'function delay() return %d end\n' 20 >"$T/pace20.lua"
sl_spawn_ns "$CLI_NS" 40 "$T/wrk.alpha.out" wrk -t1 -c8 -d25s --timeout 5s -s "$T/pace5.lua" \
	-H "X-API-Key: ${QKEY[alpha]}" "http://$SRV_IP4:8000/v1/models"
sl_spawn_ns "$CLI_NS" 40 "$T/wrk.beta.out" wrk -t1 -c2 -d25s --timeout 5s -s "$T/pace20.lua" \
	-H "X-API-Key: ${QKEY[beta]}" "http://$SRV_IP4:8000/v1/models"
sl_spawn_ns "$CLI_NS" 40 "$T/flood.json" "$TOOLS/sl_udpflood" --dst "$SRV_IP4" --port 7000 \
	--src "$CLI2_IP4" --rate 2000 --duration 25 --json
sleep 1.5
top() { sl_sluice top --state-dir "$QUOTA_STATE" "$@"; }

# ------------------------------------------------------------ 1. plain-text snapshots
top --interval 500 --count 2 >"$T/top.txt"
sed 's/^/    | /' "$T/top.txt"
python3 - "$T/top.txt" <<'PY' || sl_fail "the plain snapshots (above) are not as expected"
import re, sys
text = open(sys.argv[1]).read()
snaps = [s for s in re.split(r"\n(?=sluice top )", text) if s.strip()]
def num(v): # 12, 3.5, 1.8k; None for "-"
    m = re.fullmatch(r"([0-9.]+)([kMGT]?)", v)
    return m and float(m.group(1)) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[m.group(2)]
def row(snap, name):
    for line in snap.splitlines():
        f = line.split()
        if f and f[0] == name:
            return line, f
    sys.exit("no row %s in a snapshot" % name)
bad = []
if len(snaps) != 2:
    bad.append("%d snapshots, not 2" % len(snaps))
for i, s in enumerate(snaps):
    first = s.splitlines()[0]
    if "policy top-test" not in first or "rates over 0.5" not in first:
        bad.append("snapshot %d header: %r" % (i, first))
    _, a = row(s, "alpha")
    if not (num(a[1]) and 0 < num(a[1]) <= 100 + 20 / 0.4):
        bad.append("alpha admitted/s %s: not in (0, 150]" % a[1])
    if not (num(a[2]) and num(a[2]) > 0):
        bad.append("alpha dropped/s %s: not > 0" % a[2])
    line, b = row(s, "beta")
    if not re.search(r"per-day \[[#.]{20}\] +[0-9]+% [0-9.]+k?/20\.0k", line):
        bad.append("no quota bar in beta's row: %r" % line)
    if not (num(b[1]) and num(b[1]) > 0):
        bad.append("beta admitted/s %s: not > 0" % b[1])
    _, f = row(s, "flooders")
    if not (num(f[3]) and num(f[4]) and num(f[4]) > num(f[3])):
        bad.append("flooders passed/s %s, dropped/s %s: not dropping most" % (f[3], f[4]))
    line, g = row(s, "10.203.0.3/32")
    if g[1] != "flooders" or not (num(g[2]) and 150 <= num(g[2]) <= 250):
        bad.append("flooders' aggregate: %r (admitted/s not 200 +- 50)" % line)
    if not re.search(r"\[#{10,}\.*\] +[0-9]+%", line):
        bad.append("flooders' aggregate holds less than half its burst: %r" % line)
for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo "ok: two snapshots: alpha admitted/s and dropped/s > 0, beta's quota bar, flooders at 200/s"

# ------------------------------------------------------------ 2. JSON
sl_sluice --json top --count 1 --state-dir "$QUOTA_STATE" >"$T/top.json"
# ARRAY KEY VALUE FIELD: FIELD of the item of d[ARRAY] whose KEY is VALUE
item() { sl_json "$T/top.json" "[x['$4'] for x in d['$1'] if x['$2'] == '$3'][0]"; }
sl_assert_ge "$(item tenants name alpha admitted_per_s)" 1 "JSON: alpha admitted_per_s"
sl_assert_ge "$(item tenants name beta admitted_per_s)" 1 "JSON: beta admitted_per_s"
sl_assert_ge "$(item quotas tenant beta used)" 1 "JSON: beta's quota used"
sl_assert_eq "$(item quotas tenant beta limit)" 20000 "JSON: beta's quota limit"
sl_assert_within "$(item aggregates aggregate "$CLI2_IP4/32" admitted_per_s)" 200 25 \
	"JSON: the flooders' aggregate admitted_per_s"
sl_assert_eq "$(item interfaces hook xdp ifname)" "$SRV_IF" "JSON: the interface"

# ------------------------------------------------------------ 3. the live view under a pty
# The pty's slave stays open here, so its modes can be read after sluice exits. The child is
# a session leader with the pty as controlling terminal: a resize sends it SIGWINCH.
PTY_PY=$(cat <<'PY'
import fcntl, os, pty, re, select, signal, struct, subprocess, sys, termios, time
log, cmd, bad = open(sys.argv[1], "w"), sys.argv[2:], []
def on_term(*_):
    raise SystemExit(1)
signal.signal(signal.SIGTERM, on_term)
def check(ok, what):
    log.write("%s: %s\n" % ("ok" if ok else "FAIL", what))
    if not ok:
        bad.append(what)
def resize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
def start(): # the pty's modes are read before sluice can change them
    m, s = pty.openpty()
    resize(s, 40, 160)
    def ctty():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    modes = termios.tcgetattr(s)
    return m, s, modes, subprocess.Popen(cmd, stdin=s, stdout=s, stderr=s, preexec_fn=ctty)
def read(m, secs, until=None):
    out, end = b"", time.monotonic() + secs
    while time.monotonic() < end:
        if select.select([m], [], [], max(0, end - time.monotonic()))[0]:
            try:
                d = os.read(m, 65536)
            except OSError:
                break
            out += d
            if not d or (until and until.encode() in out):
                break
    return out
def frames(out): # the screens drawn, as lists of lines without escapes
    text = out.decode(errors="replace")
    return [[re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", l).rstrip("\r") for l in f.split("\n")]
            for f in text.split("\x1b[H")[1:]]
def finish(p, secs):
    t0 = time.monotonic()
    try:
        return p.wait(timeout=secs), time.monotonic() - t0
    except subprocess.TimeoutExpired:
        p.kill()
        return None, secs
m, s, before, p = start()
try:
    out = read(m, 1.5)
    screen = "\n".join(frames(out)[-1] if frames(out) else [])
    log.write(screen + "\n")
    check(b"\x1b[2J" in out and b"\x1b[H" in out, "clear and home sequences")
    check(b"\x1b[?1049h" in out, "the alternate screen")
    check("sluice top" in screen and "policy top-test" in screen, "the header")
    check(re.search(r"^alpha +[0-9]", screen, re.M) is not None, "a row for alpha")
    check("sort: admitted/s" in screen and "*ADMIT/S" in screen, "sorted by admitted/s")
    lf = termios.tcgetattr(s)[3]
    check(not lf & (termios.ICANON | termios.ECHO), "raw mode while running")
    os.write(m, b"s")
    out = read(m, 1.5, "sort: dropped/s")
    check(b"sort: dropped/s" in out and b"*DROP/S" in out, "s: sorted by dropped/s")
    os.write(m, b"t")
    f = frames(read(m, 0.7))
    heads = [l.split()[0].lstrip("*") for l in (f[-2] if len(f) > 1 else []) if l.strip()]
    heads = [h for h in heads if h in ("RULE", "AGGREGATE", "TENANT")]
    check(heads == ["TENANT", "RULE", "AGGREGATE"], "t: tenants first (%s)" % heads)
    resize(s, 20, 60)
    out = read(m, 1.5)
    after = frames(out[out.rfind(b"\x1b[2J"):]) if b"\x1b[2J" in out else []
    check(bool(after) and all(len(l) < 60 for f in after for l in f) and
          all(len(f) <= 20 for f in after), "a resize to 60x20 redraws within it")
    os.write(m, b"q")
    rc, secs = finish(p, 2)
    out = read(m, 0.3)
    check(rc == 0, "q: exit status %s after %.2f s" % (rc, secs))
    check(b"\x1b[?1049l" in out and b"\x1b[?25h" in out, "the screen and cursor given back")
    check(termios.tcgetattr(s) == before, "the terminal's modes restored after q")
    for how in ("SIGTERM", "^C (SIGINT)"):
        os.close(m)
        os.close(s)
        m, s, before, p = start()
        read(m, 1.0, "sort:")
        if how == "SIGTERM":
            p.send_signal(signal.SIGTERM)
        else:
            os.write(m, b"\x03")
        rc, secs = finish(p, 2)
        check(rc == 0, "%s: exit status %s after %.2f s" % (how, rc, secs))
        check(termios.tcgetattr(s) == before, "the terminal's modes restored after " + how)
finally:
    if p.poll() is None:
        p.kill()
sys.exit(1 if bad else 0)
PY
)
timeout -k 2 20 python3 -c "$PTY_PY" "$T/pty.log" \
	"$SLUICE" --pin-root "$PIN" top --interval 300 --state-dir "$QUOTA_STATE" ||
	sl_fail "the live view under a pty: $(cat "$T/pty.log" 2>/dev/null)"
sed 's/^/    | /' "$T/pty.log"
echo "ok: live view: screen, keys, resize; q, SIGTERM and ^C exit 0 with the terminal restored"
