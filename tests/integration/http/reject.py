# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""HTTP/1.1 clients and checks for t_90_reject.sh: what a refused request's client sees.

usage:
  reject.py req ADDR PORT [--key K] [--path P] [--n N] [--keepalive] [--interval S]
                [--src ADDR] [--timeout S] [--pad N]
      N GET requests (default 1), each on a new connection, or all on one with --keepalive
      (one after another, each sent once the previous response was read); --pad N adds a
      header of N more bytes to each request. Prints one JSON
      object: {"results": [...], "statuses": {code: n}, "connections": n} where each result is
      what one request got (see below). After a response that is not 200, or whose connection
      is closing, the connection is read on until EOF, a reset or --timeout s (default 3): its
      "after" field says which; a keep-alive client stops there.
  reject.py parse HEADERS BODY
      The same analysis of a response curl saved (curl -D HEADERS -o BODY).
  reject.py syn ADDR PORT --src ADDR --n N [--wait S]
      N TCP connects at once from --src; after --wait s (default 0.5) counts how each ended:
      {"refused": n, "timeout": n, "connected": n, "other": n}. Nothing is retransmitted
      after: the pending ones are closed.
  reject.py ss FILE PORT
      Connections of `ss -tanH` output (FILE) with local or peer port PORT (not LISTEN), by
      state: {"states": {STATE: n}, "lines": [those not in TIME-WAIT]}.
  reject.py rstats DUMP [SLOT...]
      The per-CPU reply counters of `bpftool -j map dump` of sl_rstats_v1, summed over CPUs:
      {slot: {rst, http429, limited, ...}} for every slot (or the given ones) with a non-zero
      counter.

A result: {"status": 429, "status_line": "HTTP/1.1 429 Too Many Requests", "headers":
[[name, value]...], "body": text, "content_length": n or null, "body_len": n, "trailing": n
(bytes after the body before EOF), "error": null or why the response is incomplete, "after":
"eof" | "rst" | "timeout" | "open" | null, "t": seconds since the start (when the request was
sent), "check": the analysis of a 429 (see analyse())}.
"""
import json
import re
import select
import socket
import sys
import time

T0 = time.monotonic()

SF_STRING = r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"'
SF_PARAM = (r';\s*([a-z*][a-z0-9_.*-]*)(?:=(-?\d{1,15}|"(?:[^"\\]|\\.)*"|'
            r"[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]*))?")


def sf_item(v):
    """A structured-field item whose bare item is a string, with its parameters (RFC 8941):
    ("id", {param: value}) or None. Integer parameters become ints."""
    m = re.match(SF_STRING, v)
    if not m:
        return None
    ident, rest, params = m.group(1), v[m.end():], {}
    while rest:
        p = re.match(SF_PARAM, rest)
        if not p:
            return None
        val = p.group(2)
        if val is None:
            val = True
        elif re.fullmatch(r"-?\d+", val):
            val = int(val)
        params[p.group(1)] = val
        rest = rest[p.end():]
    return ident, params


def analyse(status_line, headers, body, content_length):
    """What the tests check about a refusal's response, as plain values."""
    h = {}
    dup = []
    for k, v in headers:
        if k.lower() in h:
            dup.append(k.lower())
        h[k.lower()] = v
    out = {"status_line": status_line, "duplicate_headers": dup}
    ra = h.get("retry-after")
    out["retry_after_raw"] = ra
    out["retry_after"] = int(ra) if ra is not None and re.fullmatch(r"\d+", ra) else None
    for name, need in (("ratelimit-policy", ("q", "w")), ("ratelimit", ("r", "t"))):
        raw = h.get(name)
        it = sf_item(raw) if raw is not None else None
        key = name.replace("-", "_")
        out[key + "_raw"] = raw
        ok = it is not None and all(isinstance(it[1].get(p), int) and not isinstance(
            it[1].get(p), bool) and it[1][p] >= 0 for p in need)
        out[key] = {"id": it[0], **it[1]} if ok else None
    out["ids_match"] = bool(out["ratelimit_policy"] and out["ratelimit"] and
                            out["ratelimit_policy"]["id"] == out["ratelimit"]["id"])
    out["connection"] = h.get("connection")
    out["content_type"] = h.get("content-type")
    out["content_length"] = content_length
    out["body_len"] = len(body)
    try:
        j = json.loads(body.decode())
    except (UnicodeDecodeError, ValueError):
        j = None
    out["json"] = j
    out["json_error"] = j.get("error") if isinstance(j, dict) else None
    out["json_limit"] = j.get("limit") if isinstance(j, dict) else None
    out["json_tenant"] = j.get("tenant") if isinstance(j, dict) else None
    return out


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0]
    m = re.fullmatch(r"HTTP/1\.[01] (\d{3}) .*", status_line)
    status = int(m.group(1)) if m else None
    headers = []
    for ln in lines[1:]:
        if not ln:
            continue
        k, _, v = ln.partition(":")
        headers.append([k, v.strip(" \t")])
    return status, status_line, headers


class Conn:
    def __init__(self, addr, port, src, timeout):
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        if src:
            self.s.bind((src, 0))
        self.s.connect((addr, port))
        self.buf = b""
        self.timeout = timeout

    def fill(self, deadline):
        """Read more into buf: 'data', 'eof', 'rst' or 'timeout'."""
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout"
        self.s.settimeout(left)
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return "timeout"
        except ConnectionResetError:
            return "rst"
        if not d:
            return "eof"
        self.buf += d
        return "data"

    def response(self):
        """One response: (status, status_line, headers, body, content_length, error)."""
        deadline = time.monotonic() + self.timeout
        while b"\r\n\r\n" not in self.buf:
            r = self.fill(deadline)
            if r != "data":
                return None, None, [], self.buf, None, "before the headers: " + r
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        status, status_line, headers = parse_head(head)
        cl = [v for k, v in headers if k.lower() == "content-length"]
        if len(cl) != 1 or not re.fullmatch(r"\d+", cl[0]):
            return status, status_line, headers, b"", None, "no single Content-Length"
        n = int(cl[0])
        while len(self.buf) < n:
            r = self.fill(deadline)
            if r != "data":
                body, self.buf = self.buf, b""
                return status, status_line, headers, body, n, "in the body: " + r
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, status_line, headers, body, n, None

    def drain(self, secs):
        """After a closing response: read on until EOF, a reset or the time is up."""
        deadline = time.monotonic() + secs
        n = len(self.buf)
        self.buf = b""
        while True:
            r = self.fill(deadline)
            if r != "data":
                return r, n + len(self.buf)


def request(key, path, host, pad=0):
    h = "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sluice-t90\r\nAccept: */*\r\n" % (path, host)
    if key:
        h += "X-API-Key: %s\r\n" % key
    if pad:
        h += "X-Pad: %s\r\n" % ("p" * pad)
    return (h + "\r\n").encode()


def one(conn, key, path, host, drain_secs, pad=0):
    res = {"t": round(time.monotonic() - T0, 3)}
    try:
        conn.s.sendall(request(key, path, host, pad))
    except OSError as e:
        res.update(status=None, error="send: %s" % e, after=None)
        return res, False
    status, sl, headers, body, cl, err = conn.response()
    res["dt"] = round(time.monotonic() - T0 - res["t"], 4)
    res.update(status=status, status_line=sl, headers=headers,
               body=body.decode("latin-1"), content_length=cl, body_len=len(body), error=err,
               after=None, trailing=0)
    closing = any(k.lower() == "connection" and v.lower() == "close" for k, v in headers)
    if err is None and (status != 200 or closing):
        res["after"], res["trailing"] = conn.drain(drain_secs)
    if status is not None and status != 200:
        res["check"] = analyse(sl, headers, body, cl)
    return res, err is None and status == 200 and not closing


def cmd_req(a):
    addr, port = a[0], int(a[1])
    opt = {"--key": None, "--path": "/v1/models", "--n": "1", "--interval": "0",
           "--src": None, "--timeout": "3", "--pad": "0"}
    keep = False
    i = 2
    while i < len(a):
        if a[i] == "--keepalive":
            keep = True
            i += 1
            continue
        opt[a[i]] = a[i + 1]
        i += 2
    n, timeout, interval = int(opt["--n"]), float(opt["--timeout"]), float(opt["--interval"])
    host = "[%s]:%d" % (addr, port) if ":" in addr else "%s:%d" % (addr, port)
    results, conns, conn = [], 0, None
    for k in range(n):
        if k and interval:
            time.sleep(interval)
        if conn is None:
            try:
                conn = Conn(addr, port, opt["--src"], timeout)
                conns += 1
            except OSError as e:
                results.append({"status": None, "error": "connect: %s" % e, "after": None,
                                "t": round(time.monotonic() - T0, 3)})
                continue
        res, reusable = one(conn, opt["--key"], opt["--path"], host, timeout, int(opt["--pad"]))
        results.append(res)
        if not (keep and reusable):
            conn.s.close()
            conn = None
            if keep:
                break
    if conn is not None:
        conn.s.close()
    st = {}
    for r in results:
        st[str(r["status"])] = st.get(str(r["status"]), 0) + 1
    print(json.dumps({"results": results, "statuses": st, "connections": conns}))


def cmd_parse(a):
    head = open(a[0], "rb").read()
    body = open(a[1], "rb").read()
    # curl -D writes every response's headers; the last block is the final response.
    blocks = [b for b in head.split(b"\r\n\r\n") if b.strip()]
    status, sl, headers = parse_head(blocks[-1] if blocks else b"")
    cl = [v for k, v in headers if k.lower() == "content-length"]
    cl = int(cl[0]) if len(cl) == 1 and cl[0].isdigit() else None
    out = analyse(sl, headers, body, cl)
    out["status"] = status
    print(json.dumps(out))


def cmd_syn(a):
    addr, port = a[0], int(a[1])
    opt = {"--src": None, "--n": "1", "--wait": "0.5"}
    for i in range(2, len(a), 2):
        opt[a[i]] = a[i + 1]
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    socks = []
    for _ in range(int(opt["--n"])):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        if opt["--src"]:
            s.bind((opt["--src"], 0))
        s.connect_ex((addr, port))
        socks.append(s)
    deadline = time.monotonic() + float(opt["--wait"])
    pending = set(socks)
    out = {"refused": 0, "timeout": 0, "connected": 0, "other": 0}
    while pending and time.monotonic() < deadline:
        _, w, _ = select.select([], list(pending), [], max(0, deadline - time.monotonic()))
        for s in w:
            e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            out["connected" if e == 0 else "refused" if e == 111 else "other"] += 1
            pending.discard(s)
    out["timeout"] = len(pending)
    for s in socks:
        s.close()
    print(json.dumps(out))


def cmd_ss(a):
    port = ":%s" % a[1]
    states, lines = {}, []
    for ln in open(a[0]):
        f = ln.split()
        if len(f) < 5 or f[0] == "LISTEN":
            continue
        if f[3].endswith(port) or f[4].endswith(port):
            states[f[0]] = states.get(f[0], 0) + 1
            if f[0] != "TIME-WAIT":
                lines.append(" ".join(f))
    print(json.dumps({"states": states, "lines": lines}))


RSTATS = ["rst", "http429", "limited", "no_socket", "no_template", "fin_acked", "follow_drop",
          "failed"]  # struct sl_rstats, in order


def hexbytes(v):
    return bytes(int(x, 16) for x in v)


def cmd_rstats(a):
    d = json.load(open(a[0]))
    want = {int(x) for x in a[1:]}
    out = {}
    for e in d:
        k = e.get("key")
        if isinstance(k, list):  # without BTF: the key's bytes, little-endian
            k = int.from_bytes(hexbytes(k), "little")
        k = int(k)
        if want and k not in want:
            continue
        tot = dict.fromkeys(RSTATS, 0)
        for c in e.get("values", []):
            v = c.get("value", {})
            if isinstance(v, list):  # without BTF: 8 little-endian u64s
                b = hexbytes(v)
                v = {f: int.from_bytes(b[8 * i:8 * i + 8], "little") for i, f in enumerate(RSTATS)}
            for f, x in v.items():
                tot[f] = tot.get(f, 0) + int(x)
        if any(tot.values()) or k in want:
            out[str(k)] = tot
    for k in want:
        out.setdefault(str(k), dict.fromkeys(RSTATS, 0))
    print(json.dumps(out))


CMDS = {"req": cmd_req, "parse": cmd_parse, "syn": cmd_syn, "ss": cmd_ss, "rstats": cmd_rstats}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS:
        sys.exit(__doc__)
    CMDS[sys.argv[1]](sys.argv[2:])
