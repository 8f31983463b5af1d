# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Checks the billing usage files of `sluice run` as a consumer reads them, against the data plane.

usage: billing.py BILLING_DIR MAPS_DIR [--now RFC3339] [--transient] [--split TENANT]...
                  [--report FILE]

BILLING_DIR holds usage-<period start>.jsonl (open periods) and .jsonl.gz (closed ones).
MAPS_DIR is the pin root's maps/ directory, read with `bpftool -j map dump pinned` once the
daemon has stopped: per tenant, the counted figure is the sum over CPUs and entries of
sl_tstats_v3 plus the tenant's overflow cell in sl_tovf_v1 (tstats.py does the sums; the cells
are handed to it as entries of key id "other").

Checks (each failure is one line in "errors"):
  - every line of every file is a JSON object with the record's fields; a .jsonl's last line
    may lack its '\n' (a crash mid-append) only with --transient;
  - one (id, revision) is one line, byte for byte, wherever it appears; the fields that make an
    id (tenant, key_id, period, since, plan, labels) are the same in all its revisions;
  - the highest revision of each id wins; per tenant, the winners' requests equal req_pass +
    req_dryrun, requests_dropped req_drop, and so on for every counter (with --transient, a
    check between a crash and the restart: at most what the data plane counted);
  - the plan segments of one tenant, key and period tile the period: no overlap, no gap, a new
    plan at each cut;
  - without --transient, with --now (the daemon's clock at its last round, usage.json "time"):
    a period that had ended is .jsonl.gz only and each of its winners is final; an open one is
    .jsonl only with nothing final; nothing else (a *.tmp) is left in BILLING_DIR;
  - with --split TENANT: some period has winners of TENANT with two or more plans.

Prints a table (billed/counted per tenant), the periods and the errors; --report FILE gets the
whole as JSON {"ok", "errors", "files", "lines", "partial_lines", "repeated_lines" (an (id,
revision) met again: appended again after a crash), "ids", "periods", "tenants":
{name: {"billed", "counted", "records", "plans", "split"}}}. Exits 1 when a check failed.
"""
import calendar
import gzip
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

# Record field -> the data plane counter(s) it is charged from (userspace/run.c, rn_collect).
COUNTERS = {"requests": ("req_pass", "req_dryrun"), "requests_dropped": ("req_drop",),
            "requests_quota": ("req_quota",), "units": ("units",), "bytes_in": ("bytes_in",),
            "bytes_out": ("bytes_out",), "overage": ("units_over",)}
IDENTITY = ("tenant", "key_id", "plan", "labels", "period_start", "period_end", "since")
FIELDS = ("id", "revision", "final", "until") + IDENTITY + tuple(COUNTERS)
NAME_RE = re.compile(r"^usage-(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\.(jsonl|jsonl\.gz)$")
CSV_RE = re.compile(r"^usage-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.csv(\.gz)?$")
SL_MAX_TENANTS = 1024


def ts(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def dump(maps, name):
    return json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "pinned",
                                      os.path.join(maps, name)], check=True, timeout=20,
                                     capture_output=True, text=True).stdout)


def counted(maps):
    """Per tenant name, the data plane's counters: sl_tstats_v3 entries plus sl_tovf_v1 cells."""
    entries = dump(maps, "sl_tstats_v3")
    for cell in dump(maps, "sl_tovf_v1"):
        idx = struct.unpack("<I", bytes(int(b, 16) for b in cell["key"]))[0]
        if idx >= SL_MAX_TENANTS or not any(int(b, 16) for v in cell["values"]
                                            for b in v["value"]):
            continue  # unknown-key requests are not billed; most cells are empty
        key = struct.pack("<HBBI", idx, 0xFF, 0, 0xFFFFFFFF)  # no group, key id "other"
        entries.append({"key": ["0x%02x" % b for b in key], "values": cell["values"]})
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, n) for n in ("tstats.json", "tenmeta.json")]
        json.dump(entries, open(paths[0], "w"))
        json.dump(dump(maps, "sl_tenmeta_v1"), open(paths[1], "w"))
        out = subprocess.run([sys.executable, "-S", os.path.join(os.path.dirname(__file__),
                              "tstats.py"), "maps"] + paths, check=True, capture_output=True,
                             text=True).stdout
    tenants = json.loads(out)["tenants"]
    return {name: {field: sum(t[c] for c in src) for field, src in COUNTERS.items()}
            for name, t in tenants.items() if name != "unknown"}


def read_lines(path, errors, transient):
    """The lines of one file as (line number, text); a partial last line is left out."""
    data = gzip.open(path, "rb").read() if path.endswith(".gz") else open(path, "rb").read()
    lines = data.split(b"\n")
    partial = lines.pop()  # b"" when the file ends with '\n'
    if partial and (not transient or path.endswith(".gz")):
        errors.append("%s: partial last line (%d bytes, no '\\n'): %r"
                      % (os.path.basename(path), len(partial), partial[-80:]))
    return [(i + 1, t.decode("utf-8", "replace")) for i, t in enumerate(lines)], bool(partial)


def check(bdir, maps, now, transient, split):
    errors, report = [], {"files": 0, "lines": 0, "partial_lines": 0, "repeated_lines": 0}
    lines_of = {}   # (id, revision) -> the line's text
    first = {}      # id -> its first record (identity fields)
    win = {}        # id -> the winning record
    files = {}      # period start -> set of extensions
    for name in sorted(os.listdir(bdir)):
        m = NAME_RE.match(name)
        if not m and CSV_RE.match(name):
            continue  # the CSV beside (billing: {csv: true}): the tests read it themselves
        if not m:
            if not (transient and name.endswith(".tmp")):
                errors.append("%s: not a billing file (left over?)" % name)
            continue
        ps, ext = ts(m.group(1)), m.group(2)
        files.setdefault(ps, set()).add(ext)
        lines, partial = read_lines(os.path.join(bdir, name), errors, transient)
        report["files"] += 1
        report["lines"] += len(lines)
        report["partial_lines"] += partial
        for n, text in lines:
            where = "%s:%d" % (name, n)
            try:
                rec = json.loads(text)
            except ValueError as e:
                errors.append("%s: not JSON (%s): %r" % (where, e, text[:120]))
                continue
            if not isinstance(rec, dict) or any(f not in rec for f in FIELDS):
                errors.append("%s: not a usage record (fields %s)" % (where, sorted(rec)))
                continue
            if ts(rec["period_start"]) != ps:
                errors.append("%s: period_start %s in the file of %s"
                              % (where, rec["period_start"], m.group(1)))
            rid, rev = rec["id"], rec["revision"]
            seen = lines_of.setdefault((rid, rev), text)
            if seen is not text:
                report["repeated_lines"] += 1  # written again after a crash: allowed if equal
            if seen != text:
                errors.append("%s: id %s revision %d has another content elsewhere:\n  %s\n  %s"
                              % (where, rid, rev, seen, text))
            f0 = first.setdefault(rid, rec)
            diff = [k for k in IDENTITY if rec[k] != f0[k]]
            if diff:
                errors.append("%s: id %s changes %s between revisions" % (where, rid, diff))
            if rid not in win or rev > win[rid]["revision"]:
                win[rid] = rec
    report["ids"] = len(win)
    report["periods"] = {}
    for ps in sorted(files):
        recs = [r for r in win.values() if ts(r["period_start"]) == ps]
        label = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ps))
        closed = now is not None and recs and ts(recs[0]["period_end"]) <= now
        report["periods"][label] = {"files": sorted(files[ps]), "ids": len(recs),
                                    "final": sum(r["final"] for r in recs),
                                    "closed": bool(closed)}
        if transient or now is None:
            continue
        if closed and files[ps] != {"jsonl.gz"}:
            errors.append("period %s ended: expected .jsonl.gz only, found %s"
                          % (label, sorted(files[ps])))
        if closed and not all(r["final"] for r in recs):
            errors.append("period %s ended: winners not final: %s" % (label, sorted(
                r["id"] for r in recs if not r["final"])))
        if not closed and (files[ps] != {"jsonl"} or any(r["final"] for r in recs)):
            errors.append("period %s is open: expected .jsonl only and no final record, found "
                          "%s and %d final" % (label, sorted(files[ps]),
                                               sum(r["final"] for r in recs)))
    # Plan segments of (tenant, key id, period): contiguous from period start to end.
    segs = {}
    for r in win.values():
        segs.setdefault((r["tenant"], r["key_id"], r["period_start"]), []).append(r)
    for (tenant, key, ps), rs in sorted(segs.items()):
        rs.sort(key=lambda r: ts(r["since"]))
        cuts = zip(rs, rs[1:])
        if (rs[0]["since"] != ps or rs[-1]["until"] != rs[-1]["period_end"] or
                any(a["until"] != b["since"] or a["plan"] == b["plan"] for a, b in cuts)):
            errors.append("%s key %s period %s: segments do not tile the period: %s" % (
                tenant, key, ps, [(r["plan"], r["since"], r["until"]) for r in rs]))
    # Per tenant: billed (the winners) against counted (the data plane).
    dp = counted(maps)
    tenants = {}
    for r in win.values():
        t = tenants.setdefault(r["tenant"], {"billed": dict.fromkeys(COUNTERS, 0),
                                             "records": 0, "plans": set(), "split": False})
        t["records"] += 1
        t["plans"].add(r["plan"])
        for f in COUNTERS:
            t["billed"][f] += r[f]
    for (tenant, key, ps), rs in segs.items():
        if len(rs) > 1:
            tenants[tenant]["split"] = True
    for name in sorted(set(tenants) | set(dp)):
        t = tenants.setdefault(name, {"billed": dict.fromkeys(COUNTERS, 0), "records": 0,
                                      "plans": set(), "split": False})
        t["counted"] = dp.get(name, dict.fromkeys(COUNTERS, 0))
        t["plans"] = sorted(t["plans"])
        for f in COUNTERS:
            b, c = t["billed"][f], t["counted"][f]
            if b > c or (b != c and not transient):
                errors.append("%s: billed %s %d, the data plane counted %d (%+d)"
                              % (name, f, b, c, b - c))
    for name in split:
        if not tenants.get(name, {}).get("split"):
            errors.append("%s: no period has two plan segments (plans %s)"
                          % (name, tenants.get(name, {}).get("plans")))
    report["tenants"] = tenants
    report["errors"] = errors
    report["ok"] = not errors
    return report


def summary(rep):
    """The report as lines for the test log: one row per tenant, the files, the errors."""
    cols = [("requests", "requests"), ("requests_dropped", "dropped"), ("units", "units"),
            ("bytes_in", "bytes_in"), ("bytes_out", "bytes_out")]
    yield "%-8s %-14s %4s  %s" % ("tenant", "plans", "ids", "  ".join(
        "%21s" % ("%s billed/counted" % c) for _, c in cols))
    for name, t in sorted(rep["tenants"].items()):
        yield "%-8s %-14s %4d  %s" % (name, ",".join(t["plans"]) or "-", t["records"], "  ".join(
            "%21s" % ("%d/%d" % (t["billed"][f], t["counted"][f])) for f, _ in cols))
    yield "%d files, %d lines (%d partial, %d repeated), %d ids; periods: %s" % (
        rep["files"], rep["lines"], rep["partial_lines"], rep["repeated_lines"], rep["ids"],
        "; ".join(
            "%s %s %s, %d ids, %d final" % (p, "closed" if v["closed"] else "open",
                                            "+".join(v["files"]), v["ids"], v["final"])
            for p, v in sorted(rep["periods"].items())))
    for e in rep["errors"]:
        yield "ERROR: " + e


def main(argv):
    args, opt = [], {"--now": None, "--report": None, "--transient": False, "--split": []}
    it = iter(argv)
    for a in it:
        if a == "--transient":
            opt[a] = True
        elif a == "--split":
            opt[a].append(next(it))
        elif a in opt:
            opt[a] = next(it)
        else:
            args.append(a)
    if len(args) != 2:
        sys.exit(__doc__)
    now = ts(opt["--now"]) if opt["--now"] else None
    rep = check(args[0], args[1], now, opt["--transient"], opt["--split"])
    if opt["--report"]:
        with open(opt["--report"], "w") as f:
            json.dump(rep, f, indent=1, sort_keys=True)
    for line in summary(rep):
        print(line)
    return 0 if rep["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
