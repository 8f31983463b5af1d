#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Send one HTTP request segment (IPv4/TCP, ACK|PSH, valid checksums) over and over on an
interface through an AF_PACKET socket: the raw-request flood of bench/http.sh.

  reqflood.py --dev IF --src-mac M --dst-mac M --src IP --dst IP --port P --key K
              [--count N] [--seconds S]

Bounded by --count frames (default 200000) and --seconds (default 20), whichever comes first.
Source ports rotate over 1024 values (one TCP 4-tuple per port; none has a socket on the
server, so admitted copies get a RST). Prints JSON: {"sent": N, "errors": N, "elapsed_s": S}.
"""
import argparse
import json
import socket
import struct
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(smac, dmac, src, dst, sport, dport, seq, payload):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, 0x18, 512, 0, 0) + payload
    tcs = csum(s + d + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", tcs) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, s, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dmac + smac + b"\x08\x00" + ip + tcp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", required=True)
    ap.add_argument("--src-mac", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--key", required=True)
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--seconds", type=float, default=20)
    a = ap.parse_args()
    mac = lambda m: bytes.fromhex(m.replace(":", ""))
    payload = ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-API-Key: %s\r\n"
               "Content-Length: 10\r\n\r\n" % a.key).encode()
    frames = [frame(mac(a.src_mac), mac(a.dst_mac), a.src, a.dst, 20000 + i, a.port,
                    1000 + i, payload) for i in range(1024)]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.dev, 0))
    send = s.send
    sent, errors, t0 = 0, 0, time.monotonic()
    deadline = t0 + min(a.seconds, 120)
    count = min(a.count, 10_000_000)
    while sent < count:
        for f in frames:
            try:
                send(f)
            except OSError:  # ENOBUFS and the like: not sent
                errors += 1
        sent += len(frames)
        if time.monotonic() > deadline:
            break
    print(json.dumps({"sent": sent - errors, "errors": errors,
                      "elapsed_s": round(time.monotonic() - t0, 3)}))


if __name__ == "__main__":
    main()
