#!/usr/bin/env python3
"""Minimal Kafka readiness probe (stdlib only).

    kprobe.py HOST:PORT [--timeout SECONDS]

Sends ApiVersions v0 and Metadata v1 (all topics) on one connection and
succeeds (exit 0) once the broker answers both and lists at least one live
broker in the Metadata response.  Retries until the timeout (default 0:
a single attempt).  Prints the brokers seen on success.
"""
import argparse
import socket
import struct
import sys
import time


def _frame(api_key, api_version, corr, body=b""):
    client_id = b"kprobe"
    hdr = struct.pack(">hhih", api_key, api_version, corr, len(client_id)) + client_id
    msg = hdr + body
    return struct.pack(">i", len(msg)) + msg


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf += chunk
    return bytes(buf)


def _recv_frame(sock):
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    if size < 4 or size > 64 << 20:
        raise ValueError("bad frame size %d" % size)
    return _recv_exact(sock, size)


class _Reader:
    def __init__(self, data):
        self.d, self.i = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.i)
        self.i += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.d[self.i:self.i + n].decode()
        self.i += n
        return s


def probe(host, port, timeout=5.0):
    """Return the list of (node_id, host, port) brokers, or raise."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(_frame(18, 0, 1))  # ApiVersions v0
        r = _Reader(_recv_frame(s))
        if r.take(">i") != 1:
            raise ValueError("ApiVersions: correlation id mismatch")
        err = r.take(">h")
        if err != 0:
            raise ValueError("ApiVersions error %d" % err)
        s.sendall(_frame(3, 1, 2, struct.pack(">i", -1)))  # Metadata v1, all topics
        r = _Reader(_recv_frame(s))
        if r.take(">i") != 2:
            raise ValueError("Metadata: correlation id mismatch")
        brokers = []
        for _ in range(r.take(">i")):
            node = r.take(">i")
            bhost = r.string()
            bport = r.take(">i")
            r.string()  # rack
            brokers.append((node, bhost, bport))
        return brokers


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bootstrap", help="HOST:PORT")
    ap.add_argument("--timeout", type=float, default=0.0,
                    help="keep retrying for this many seconds")
    a = ap.parse_args()
    host, _, port = a.bootstrap.rpartition(":")
    deadline = time.monotonic() + a.timeout
    last = None
    while True:
        try:
            brokers = probe(host, int(port))
            if brokers:
                for b in brokers:
                    print("broker %d at %s:%d" % b)
                return 0
            last = "no live broker in Metadata yet"
        except (OSError, ValueError, struct.error) as e:
            last = str(e)
        if time.monotonic() >= deadline:
            print("kprobe: %s: %s" % (a.bootstrap, last), file=sys.stderr)
            return 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
