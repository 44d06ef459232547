"""batches.py: the record batch headers of a topic, read with a raw Fetch.

    batches.py BOOTSTRAP TOPIC PARTITIONS

Sends one Fetch v4 (the oldest version Kafka 4 serves) from offset 0 of
each partition to BOOTSTRAP (the single broker, leader of everything) and
prints one JSON line per record batch: {"partition", "base_offset",
"count", "producer_id", "producer_epoch", "base_sequence"}.  The suite uses
it to see that idempotent producers' ids and sequence numbers were kept.
Standard library only; no client library in between.
"""
import json
import socket
import struct
import sys


def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string(self):
        n = self.take(">h")
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def blob(self):
        n = self.take(">i")
        if n < 0:
            return b""
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b


def fetch(bootstrap, topic, partitions):
    host, port = bootstrap.rsplit(":", 1)
    parts = b"".join(struct.pack(">iqi", p, 0, 16 << 20) for p in range(partitions))
    body = (struct.pack(">hhi", 1, 4, 1) + kstr("interop-batches") +
            struct.pack(">iiiib", -1, 0, 0, 64 << 20, 0) +
            struct.pack(">i", 1) + kstr(topic) + struct.pack(">i", partitions) + parts)
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", recv_exact(s, 4))[0]
        r = Reader(recv_exact(s, size))
    r.take(">i")   # correlation id
    r.take(">i")   # throttle
    out = []
    for _ in range(r.take(">i")):
        r.string()
        for _ in range(r.take(">i")):
            p, err, _hw, _lso = r.take(">ihqq")
            if err:
                raise RuntimeError("partition %d: error %d" % (p, err))
            n_aborted = r.take(">i")
            for _ in range(max(n_aborted, 0)):
                r.take(">qq")
            records = r.blob()
            pos = 0
            while pos + 61 <= len(records):
                (base, length, _epoch, magic, _crc, _attrs, last_delta, _bts, _mts,
                 pid, pepoch, bseq, count) = struct.unpack_from(">qiibIhiqqqhii", records, pos)
                if pos + 12 + length > len(records):
                    break   # a partial batch at the end of the response
                if magic != 2:
                    raise RuntimeError("partition %d: magic %d" % (p, magic))
                out.append({"partition": p, "base_offset": base, "count": count,
                            "last_offset_delta": last_delta, "producer_id": pid,
                            "producer_epoch": pepoch, "base_sequence": bseq})
                pos += 12 + length
    return out


def main(a):
    if len(a) != 3:
        sys.stderr.write("usage: batches.py BOOTSTRAP TOPIC PARTITIONS\n")
        return 2
    for b in fetch(a[0], a[1], int(a[2])):
        print(json.dumps(b))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
