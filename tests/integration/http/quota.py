# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""What the quota tests (t_70_quota*.sh) read back: per-CPU counters, billing files, alerts.

usage: quota.py percpu TSTATS_JSON TENMETA_JSON   admitted requests per tenant and CPU, from
                                                  `bpftool -j map dump pinned` of sl_tstats_v3
                                                  and sl_tenmeta_v1: {tenant: {cpu: req_pass}}
       quota.py billing FILE...                   usage files (JSON Lines, .gz too): the highest
                                                  revision of each record id, per file and
                                                  tenant summed (docs: no loss, no double count)
       quota.py events FILE...                    alert events (JSON Lines, or JSON objects one
                                                  after another as a hook got them on stdin)

billing prints {"files": {name: {"records": n, "final": n final of them, "tenants": {tenant:
{requests, requests_dropped, requests_quota, units, overage}}}}, "tenants": {the same summed
over the files}}; events {"n": n, "by": {"tenant/quota/threshold": n}, "events": [...]}.
"""
import gzip
import json
import os
import struct
import sys

SUMS = ["requests", "requests_dropped", "requests_quota", "units", "overage"]


def hexbytes(v):
    return bytes(int(b, 16) for b in v)


def percpu(tstats_path, tenmeta_path):
    names = {}
    for e in json.load(open(tenmeta_path)):
        (idx,) = struct.unpack_from("<I", hexbytes(e["key"]))
        name = hexbytes(e["value"])[:48].split(b"\0")[0].decode()
        if name:
            names[idx] = name
    out = {}
    for e in json.load(open(tstats_path)):
        (tenant,) = struct.unpack_from("<H", hexbytes(e["key"]))
        per = out.setdefault(names.get(tenant, "#%d" % tenant), {})
        for v in e.get("values", []):
            # struct sl_tstats (include/sluice_abi.h) starts with req_pass.
            (n,) = struct.unpack_from("<Q", hexbytes(v["value"]))
            per[str(v["cpu"])] = per.get(str(v["cpu"]), 0) + n
    return out


def lines(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as fh:
        return fh.read()


def json_objects(text):
    """The JSON objects in text, one after another (newlines between them or not)."""
    dec, i, out = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def billing(paths):
    files, total = {}, {}
    for p in paths:
        best = {}
        for rec in json_objects(lines(p)):
            if rec["id"] not in best or rec["revision"] > best[rec["id"]]["revision"]:
                best[rec["id"]] = rec
        f = {"records": len(best), "final": sum(1 for r in best.values() if r["final"]),
             "tenants": {}}
        for rec in best.values():
            for acc in (f["tenants"].setdefault(rec["tenant"], dict.fromkeys(SUMS, 0)),
                        total.setdefault(rec["tenant"], dict.fromkeys(SUMS, 0))):
                for k in SUMS:
                    acc[k] += rec[k]
        files[os.path.basename(p)] = f
    return {"files": files, "tenants": total}


def events(paths):
    evs = [e for p in paths for e in json_objects(lines(p))]
    by = {}
    for e in evs:
        k = "%s/%s/%s" % (e["tenant"], e["quota"], e["threshold_percent"])
        by[k] = by.get(k, 0) + 1
    return {"n": len(evs), "by": by, "events": evs}


if sys.argv[1] == "percpu":
    doc = percpu(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "billing":
    doc = billing(sys.argv[2:])
elif sys.argv[1] == "events":
    doc = events(sys.argv[2:])
else:
    sys.exit(__doc__)
json.dump(doc, sys.stdout, indent=1, sort_keys=True)
print()
