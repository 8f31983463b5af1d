#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Helpers of bench/run.sh: decode sluice's stats map, and turn runs.tsv into Markdown.

  report.py sluice-stats < bpftool-json     prints "processed admitted"
  report.py sluice-stats --by-reason < bpftool-json   one line per non-zero counter
  report.py table RUNS.TSV RATE BURST       prints the receiver-side Markdown table
"""
import json
import statistics
import struct
import sys

# include/sluice_abi.h: struct sl_slot_stats { struct sl_counter c[SL_NR_REASONS][SL_NR_OUTCOMES]; }
# with struct sl_counter { __u64 packets, bytes; }, SL_NR_REASONS 10, SL_NR_OUTCOMES 3 and
# outcome 0 = pass. Raw bytes are decoded (not bpftool's BTF view) so this works either way.
SL_NR_REASONS = 10
SL_NR_OUTCOMES = 3
SL_O_PASS = 0


def value_bytes(v):
    return bytes(int(b, 16) for b in v)


REASONS = ["limit", "overflow", "contended", "allow", "deny", "no_rule", "malformed",
           "fragment", "unknown_l3", "non_ip"]
OUTCOMES = ["pass", "drop", "dryrun"]


def sluice_stats(doc, by_reason=None):
    processed = admitted = 0
    for entry in doc:
        for percpu in entry.get("values", []):
            raw = value_bytes(percpu["value"])
            for r in range(SL_NR_REASONS):
                for o in range(SL_NR_OUTCOMES):
                    off = ((r * SL_NR_OUTCOMES) + o) * 16
                    (pkts,) = struct.unpack_from("<Q", raw, off)
                    processed += pkts
                    if by_reason is not None and pkts:
                        k = f"slot{entry_key(entry)}.{REASONS[r]}.{OUTCOMES[o]}"
                        by_reason[k] = by_reason.get(k, 0) + pkts
                    if o == SL_O_PASS:
                        admitted += pkts
    return processed, admitted


def entry_key(entry):
    return int.from_bytes(value_bytes(entry["key"]), "little")


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def span(xs, fmt):
    if not xs:
        return "–"
    return f"{fmt.format(min(xs))}–{fmt.format(max(xs))}"


def table(path, rate, burst):
    cols = ["round", "mode", "sources", "sent", "elapsed", "processed", "admitted",
            "rx_busy", "gen_busy"]
    runs = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            row = dict(zip(cols, line.rstrip("\n").split("\t")))
            if len(row) != len(cols):  # a run that failed
                continue
            for k in cols[2:]:
                row[k] = float(row[k])
            runs.append(row)

    modes, sources = [], []
    for r in runs:
        if r["mode"] not in modes:
            modes.append(r["mode"])
        if r["sources"] not in sources:
            sources.append(r["sources"])

    def cell(mode, n):
        sel = [r for r in runs if r["mode"] == mode and r["sources"] == n]
        if not sel:
            return None
        c = {"n": len(sel)}
        c["mpps"] = [r["processed"] / r["elapsed"] / 1e6 for r in sel]
        c["gen"] = [r["sent"] / r["elapsed"] / 1e6 for r in sel]
        c["cpu"] = [r["rx_busy"] for r in sel]
        c["ns"] = [r["rx_busy"] / 100 * r["elapsed"] * 1e9 / r["processed"]
                   for r in sel if r["processed"] > 0]
        if mode != "xdp-drop":
            acc, adm, exp = [], [], []
            c["under"] = False
            for r in sel:
                # Sources are cycled evenly, so each saw processed/n packets; a source can be
                # admitted at most rate*elapsed + burst of them.
                cap = rate * r["elapsed"] + burst
                e = n * min(r["processed"] / n, cap)
                # Near or under the limit, `expected` is only an upper bound: a bucket
                # admits less than what it saw when that arrived unevenly.
                c["under"] |= r["processed"] / n < 2 * cap
                exp.append(e)
                adm.append(r["admitted"])
                acc.append(r["admitted"] / e if e else float("nan"))
            c["acc"], c["adm"], c["exp"] = acc, adm, exp
        return c

    out = []
    out.append("| sources | mode | processed Mpps (median) | min–max | generator Mpps | "
               "receiver CPU % | receiver ns/pkt | admitted / expected | accuracy | min–max | "
               "× xdp-drop | × nft | × hashlimit |")
    out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sources:
        cells = {m: cell(m, n) for m in modes}
        ref = {m: med(cells[m]["mpps"]) for m in ("xdp-drop", "nft", "hashlimit")
               if cells.get(m)}
        for m in modes:
            c = cells[m]
            if not c:
                continue
            mp = med(c["mpps"])
            ratio = [f"{mp / ref[k]:.2f}" if k in ref and ref[k] else "–"
                     for k in ("xdp-drop", "nft", "hashlimit")]
            if "acc" in c:
                ae = f"{med(c['adm']):,.0f} / {med(c['exp']):,.0f}"
                acc = f"{med(c['acc']):.4f}" + (" †" if c["under"] else "")
                accs = span(c["acc"], "{:.4f}")
            else:
                ae, acc, accs = "–", "–", "–"
            out.append(f"| {int(n)} | {m} | {mp:.3f} | {span(c['mpps'], '{:.3f}')} | "
                       f"{med(c['gen']):.2f} | {med(c['cpu']):.0f} | {med(c['ns']):.0f} | "
                       f"{ae} | {acc} | {accs} | " + " | ".join(ratio) + " |")
    rounds = max((int(r["round"]) for r in runs), default=0)
    out.append("")
    out.append(f"{rounds} round(s); medians over rounds, min–max across them. "
               "`processed` counts packets the receiver's hook handled (dropped + admitted); "
               "`expected` = sources × min(processed/sources, rate × seconds + burst). "
               "† = in some run a source saw less than twice its allowance: the flood did not "
               "keep every source over its limit, `expected` is an upper bound and accuracy "
               "below 1 is no error of the limiter.")
    print("\n".join(out))


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "sluice-stats":
        p, a = sluice_stats(json.load(sys.stdin))
        print(p, a)
    elif len(sys.argv) == 3 and sys.argv[1:] == ["sluice-stats", "--by-reason"]:
        by = {}
        sluice_stats(json.load(sys.stdin), by)
        for k in sorted(by):
            print(k, by[k])
    elif len(sys.argv) == 5 and sys.argv[1] == "table":
        table(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
