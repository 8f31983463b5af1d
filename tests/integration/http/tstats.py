# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""sluice's per-tenant HTTP counters, summed per tenant name, as one JSON document.

usage: tstats.py cli TENANTS_JSON            (`sluice --json tenants`: admitted, dropped, ...)
       tstats.py maps TSTATS_JSON TENMETA_JSON  (`bpftool -j map dump pinned` of sl_tstats_v3
                                              and sl_tenmeta_v1: the fallback before the CLI)

Prints {"source": "cli"|"maps", "tenants": {name: {field: n}}, "groups": {"name/group": {...}}}.
Requests with no key or an unknown key are tenant "unknown" (index SL_TENANT_UNKNOWN = 1024).
"""
import json
import struct
import sys

# include/sluice_abi.h: struct sl_tstats, ten __u64 in this order.
FIELDS = ["req_pass", "req_drop", "req_dryrun", "req_retrans", "units", "bytes_in",
          "bytes_out", "bytes_drop", "req_quota", "units_over"]
SL_TENANT_UNKNOWN = 1024


def raw(v):
    return bytes(int(b, 16) for b in v)


def add(dst, name, vals):
    acc = dst.setdefault(name, dict.fromkeys(FIELDS, 0))
    for k in FIELDS:
        acc[k] += int(vals.get(k, 0))


# `sluice --json tenants` field names -> the struct's (include/sluice_abi.h).
CLI_NAMES = {"admitted": "req_pass", "dropped": "req_drop", "dry_run": "req_dryrun",
             "retransmissions": "req_retrans", "quota_dropped": "req_quota"}


def cli_vals(t):
    return {CLI_NAMES.get(k, k): v for k, v in t.items() if CLI_NAMES.get(k, k) in FIELDS}


def from_cli(path):
    doc = json.load(open(path))
    if isinstance(doc, dict):  # tolerate {"tenants": [...], "unknown_key": {...}}
        extra = [dict(v, name="unknown") for k, v in doc.items()
                 if k in ("unknown", "unknown_key") and isinstance(v, dict)]
        doc = doc.get("tenants", []) + extra
    if not isinstance(doc, list) or any(len(cli_vals(t)) != len(FIELDS) for t in doc):
        sys.exit("tstats: `sluice --json tenants` output not understood")
    tenants, groups = {}, {}
    for t in doc:
        name = t.get("name") or "unknown"
        if t.get("unknown") or name in ("-", "(unknown key)", "(unknown)", "unknown_key"):
            name = "unknown"
        add(tenants, name, cli_vals(t))
        for g in t.get("groups", []) or []:
            add(groups, "%s/%s" % (name, g.get("name", g.get("group"))), cli_vals(g))
    return tenants, groups


def from_maps(tstats_path, tenmeta_path):
    names = {}
    for e in json.load(open(tenmeta_path)):
        (idx,) = struct.unpack_from("<I", raw(e["key"]))
        v = raw(e["value"])
        name = v[:48].split(b"\0")[0].decode()
        if name:
            names[idx] = name
    tenants, groups = {}, {}
    for e in json.load(open(tstats_path)):
        tenant, group, _, key_id = struct.unpack_from("<HBBI", raw(e["key"]))
        acc = [0] * len(FIELDS)
        for percpu in e.get("values", []):
            for i, x in enumerate(struct.unpack_from("<10Q", raw(percpu["value"]))):
                acc[i] += x
        vals = dict(zip(FIELDS, acc))
        name = "unknown" if tenant == SL_TENANT_UNKNOWN else names.get(tenant, "#%d" % tenant)
        add(tenants, name, vals)
        add(groups, "%s/%s" % (name, "none" if group == 0xFF else group), vals)
    return tenants, groups


if sys.argv[1] == "cli":
    t, g = from_cli(sys.argv[2])
else:
    t, g = from_maps(sys.argv[2], sys.argv[3])
json.dump({"source": sys.argv[1], "tenants": t, "groups": g}, sys.stdout, indent=1,
          sort_keys=True)
print()
