# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Count nginx access-log lines (tests/integration/http/lib.sh's tab format) per tenant.

usage: logcount.py ACCESS_LOG MARK KEYMAP [WINDOW]
  MARK    skip the first MARK lines (those before the run)
  KEYMAP  JSON object key -> tenant name (a file name or the JSON text)
  WINDOW  seconds: also count, per tenant, the lines within WINDOW s of its first ("n_win")

Prints JSON {tenant: {"n", "first", "last", "window", "status": {code: n},
"by_req": {"METHOD URI": n}, "request_length", "request_length_by_status": {code: n},
"bytes_sent", "body_bytes_sent"}}. A request
whose key (X-API-Key, else Authorization: Bearer) is not in KEYMAP, or that has none, counts
under "unknown" and under "unknown@ADDR" (its client address).
"""
import json
import os
import sys

log, mark, keymap = sys.argv[1], int(sys.argv[2]), sys.argv[3]
window = float(sys.argv[4]) if len(sys.argv) > 4 else None
times = {}
keymap = json.load(open(keymap)) if os.path.isfile(keymap) else json.loads(keymap)


def key_of(xkey, auth):
    if xkey != "-":
        return xkey.strip(" \t")
    if auth != "-":
        a = auth.strip(" \t")
        if a[:7].lower() == "bearer " or a[:7].lower() == "bearer\t":
            return a[7:].strip(" \t")
    return None


out = {}


def add(name, t, f):
    e = out.setdefault(name, {"n": 0, "first": t, "last": t, "status": {}, "by_req": {},
                              "request_length": 0, "bytes_sent": 0, "body_bytes_sent": 0,
                                              "request_length_by_status": {}})
    e["n"] += 1
    times.setdefault(name, []).append(t)
    e["first"] = min(e["first"], t)
    e["last"] = max(e["last"], t)
    e["status"][f[4]] = e["status"].get(f[4], 0) + 1
    r = f[2] + " " + f[3]
    e["by_req"][r] = e["by_req"].get(r, 0) + 1
    e["request_length"] += int(f[5])
    e["request_length_by_status"][f[4]] = e["request_length_by_status"].get(f[4], 0) + int(f[5])
    e["body_bytes_sent"] += int(f[6])
    e["bytes_sent"] += int(f[7])


with open(log, errors="replace") as fh:
    for i, line in enumerate(fh):
        if i < mark:
            continue
        f = line.rstrip("\n").split("\t")
        if len(f) != 10:
            sys.exit("logcount: line %d has %d fields: %r" % (i + 1, len(f), line[:200]))
        t = float(f[0])
        k = key_of(f[8], f[9])
        name = keymap.get(k, "unknown") if k is not None else "unknown"
        add(name, t, f)
        if name == "unknown":
            add("unknown@" + f[1], t, f)
for name, e in out.items():
    e["window"] = round(e["last"] - e["first"], 3)
    if window is not None:
        e["n_win"] = sum(1 for t in times[name] if t <= e["first"] + window + 5e-4)
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()
