#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Helpers of bench/run.sh: decode sluice's stats map, and turn runs.tsv into Markdown.

  report.py sluice-stats < bpftool-json     prints "processed admitted"
  report.py sluice-stats --by-reason < bpftool-json   one line per non-zero counter
  report.py table RUNS.TSV RATE BURST       prints the receiver-side Markdown table
  report.py tstats < bpftool-json           sl_tstats_v3 summed: one line per (tenant, group,
                                            key id), then "total" (fields: TSTATS_FIELDS)
  report.py http-table RUNS.TSV RATE BURST DURATION   bench/http.sh's Markdown tables
  report.py rstats < bpftool-json           sl_rstats_v1 summed: one line per reply slot that
                                            counted anything (fields: RSTATS_FIELDS)
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


# include/sluice_abi.h: struct sl_tstats_key { __u16 tenant; __u8 group, _pad; __u32 key_id; }
# and struct sl_tstats, eight __u64 in this order (PERCPU_HASH: one value per CPU).
TSTATS_FIELDS = ["req_pass", "req_drop", "req_dryrun", "req_retrans", "units", "bytes_in",
                 "bytes_out", "bytes_drop", "req_quota", "units_over"]


def tstats(doc):
    rows = {}
    for entry in doc:
        tenant, group, _, key_id = struct.unpack_from("<HBBI", value_bytes(entry["key"]))
        acc = rows.setdefault((tenant, group, key_id), [0] * len(TSTATS_FIELDS))
        for percpu in entry.get("values", []):
            vals = struct.unpack_from("<10Q", value_bytes(percpu["value"]))
            for i, v in enumerate(vals):
                acc[i] += v
    total = [0] * len(TSTATS_FIELDS)
    for (tenant, group, key_id), acc in sorted(rows.items()):
        print(f"tenant={tenant} group={group} key_id={key_id:08x} " +
              " ".join(f"{k}={v}" for k, v in zip(TSTATS_FIELDS, acc)))
        total = [a + b for a, b in zip(total, acc)]
    print("total " + " ".join(f"{k}={v}" for k, v in zip(TSTATS_FIELDS, total)))


# include/sluice_abi.h: struct sl_rstats, eight __u64 (PERCPU_ARRAY indexed by reply slot).
RSTATS_FIELDS = ["rst", "http429", "limited", "no_socket", "no_template", "fin_acked",
                 "follow_drop", "failed"]


def rstats(doc):
    for entry in doc:
        acc = [0] * len(RSTATS_FIELDS)
        for percpu in entry.get("values", []):
            for i, v in enumerate(struct.unpack_from("<8Q", value_bytes(percpu["value"]))):
                acc[i] += v
        if any(acc):
            print(f"slot={entry_key(entry)} " +
                  " ".join(f"{k}={v}" for k, v in zip(RSTATS_FIELDS, acc)))


HTTP_COLS = ["round", "case", "duration", "wrk_requests", "wrk_non2xx", "wrk_timeouts",
             "served", "rejected", "limiter_admitted", "retrans", "nginx_ns", "napi_ns",
             "ksoftirqd_ns", "softirq_ticks", "window_s"]


def http_table(path, rate, burst, duration):
    runs = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            v = line.rstrip("\n").split("\t")
            if len(v) != len(HTTP_COLS):
                continue
            row = dict(zip(HTTP_COLS, v))
            for k in HTTP_COLS[2:]:
                row[k] = float(row[k])
            row["cpu_ms"] = (row["nginx_ns"] + row["napi_ns"] + row["ksoftirqd_ns"]) / 1e6
            runs.append(row)
    cases = []
    for r in runs:
        if r["case"] not in cases:
            cases.append(r["case"])
    by = {c: [r for r in runs if r["case"] == c] for c in cases}
    # Server CPU per served request with no limiter at all: what an admitted request costs.
    plain = [r["cpu_ms"] / r["served"] for r in by.get("plain", []) if r["served"]]
    per_served = med(plain) if plain else None
    cap = rate * duration + burst

    out = ["| case | client requests/s (flood: frames/s) | served (200) | rejected by the limiter | admitted / "
           "(rate × window + burst) | window s | server CPU ms | of which nginx / NAPI thread / ksoftirqd | "
           "softirq ticks (server CPU) | ms per 1,000 rejected | net of serving, per 1,000 "
           "rejected | ms per 1,000 served |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    summary = {}
    for c in cases:
        sel = by[c]
        rej = [r for r in sel if r["rejected"] > 0]
        per_rej = [r["cpu_ms"] / r["rejected"] * 1000 for r in rej]
        net = [(r["cpu_ms"] - r["served"] * per_served) / r["rejected"] * 1000 for r in rej] \
            if per_served is not None else []
        served = [r["cpu_ms"] / r["served"] * 1000 for r in sel if r["served"]]
        # Each run's own window: first to last keyed request in nginx's log (the flood: its
        # duration); wrk's -d if there is none.
        acc = [r["limiter_admitted"] / (rate * (r["window_s"] or r["duration"]) + burst)
               for r in sel] if c not in ("plain", "xdp-drop-flood") else []
        summary[c] = (med(per_rej) if per_rej else None, med(net) if net else None)

        def f(xs, fmt):
            return f"{fmt.format(med(xs))} ({span(xs, fmt)})" if xs else "–"
        win = [r["window_s"] for r in sel if r["window_s"]]
        out.append(
            f"| {c} | {f([r['wrk_requests'] / r['duration'] for r in sel], '{:,.0f}')} | "
            f"{f([r['served'] for r in sel], '{:,.0f}')} | "
            f"{f([r['rejected'] for r in sel], '{:,.0f}')} | "
            f"{f(acc, '{:.4f}')} | {f(win, '{:.2f}')} | "
            f"{f([r['cpu_ms'] for r in sel], '{:,.0f}')} | "
            f"{med([r['nginx_ns'] / 1e6 for r in sel]):,.0f} / "
            f"{med([r['napi_ns'] / 1e6 for r in sel]):,.0f} / "
            f"{med([r['ksoftirqd_ns'] / 1e6 for r in sel]):,.0f} | "
            f"{med([r['softirq_ticks'] for r in sel]):.0f} | {f(per_rej, '{:.2f}')} | "
            f"{f(net, '{:.2f}')} | {f(served, '{:.2f}')} |")
    rounds = max((int(r["round"]) for r in runs), default=0)
    out.append("")
    out.append(f"{rounds} round(s) of {duration:g} s of wrk per case (sluice-flood: its "
               "frames, for as long as they take), cases interleaved; median (min–max) over "
               "rounds. Limit {:g} requests/s, burst {:g}: at most {:,.0f} admitted per wrk "
               "run.".format(rate, burst, cap))
    a = summary.get("nginx-limit_req")
    for name in ("sluice", "sluice-flood", "xdp-drop-flood"):
        b = summary.get(name)
        if not (a and b and a[0] and b[0]):
            continue
        line = (f"Server CPU per 1,000 rejected: nginx limit_req {a[0]:.2f} ms, {name} "
                f"{b[0]:.2f} ms: nginx's is {a[0] / b[0]:.1f}× {name}'s")
        if a[1] and b[1]:
            line += (f"; net of the admitted requests' serving cost: {a[1]:.2f} vs "
                     f"{b[1]:.2f} ms" + (f", {a[1] / b[1]:.1f}×" if b[1] > 0 else ""))
        out.append("")
        out.append(line + ".")
    print("\n".join(out))


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
    elif len(sys.argv) == 2 and sys.argv[1] == "tstats":
        tstats(json.load(sys.stdin))
    elif len(sys.argv) == 2 and sys.argv[1] == "rstats":
        rstats(json.load(sys.stdin))
    elif len(sys.argv) == 6 and sys.argv[1] == "http-table":
        http_table(sys.argv[2], *(float(x) for x in sys.argv[3:6]))
    elif len(sys.argv) == 5 and sys.argv[1] == "table":
        table(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
