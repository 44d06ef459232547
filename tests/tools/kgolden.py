#!/usr/bin/env python3
"""Helpers for the golden captures (stdlib, plus optional codec modules).

    kgolden.py produce-records REQUEST.bin OUT.bin
        Extract the records field of the first partition of a captured
        Produce request (frame body as written by kproxy.py).
    kgolden.py decode BATCH.bin
        Decode one RecordBatch (magic 2), check its CRC-32C, decompress
        (gzip always; snappy raw or xerial-framed always; lz4 and zstd
        when the lz4 / zstandard modules are importable) and print the
        records as  offset_delta TAB timestamp_ms TAB key TAB value TAB
        headers  (key/value hex or '-' for null, headers name=hex,...).
        --info prints the batch header to stderr.
    kgolden.py check-batches DIR
        Decode every DIR/*.bin and compare with DIR/*.txt; a codec whose
        module is missing is skipped.  Ends with "N passed, N failed".
    kgolden.py select RAWDIR OUTDIR [--keep N]
        Copy a small subset of a kproxy.py capture: for every
        (api, version) the first request/response pair, the pair with the
        largest response, and the pair with the largest request (at most
        N pairs, default 2, in that order of preference).  Sequence
        numbers are kept, so the files still sort in capture order.

This is test tooling, independent of the samsa C code it helps check.
"""
import argparse
import os
import shutil
import struct
import sys
import zlib

# ---------------------------------------------------------------- readers


class Reader:
    def __init__(self, data, pos=0):
        self.d = data
        self.i = pos

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.i)
        self.i += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def raw(self, n):
        if n < 0 or self.i + n > len(self.d):
            raise ValueError("truncated: need %d bytes at %d" % (n, self.i))
        b = self.d[self.i:self.i + n]
        self.i += n
        return b

    def uvarint(self):
        shift = v = 0
        while True:
            b = self.d[self.i]
            self.i += 1
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7
            if shift > 63:
                raise ValueError("varint too long")

    def varint(self):  # zigzag
        u = self.uvarint()
        return (u >> 1) ^ -(u & 1)

    def string(self, flexible):
        n = self.uvarint() - 1 if flexible else self.take(">h")
        return None if n < 0 else self.raw(n).decode()

    def bytes_(self, flexible):
        n = self.uvarint() - 1 if flexible else self.take(">i")
        return None if n < 0 else self.raw(n)

    def array_len(self, flexible):
        return self.uvarint() - 1 if flexible else self.take(">i")

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.raw(self.uvarint())

# ---------------------------------------------------------------- Produce


def produce_records(body):
    """Records bytes of the first partition of a Produce request body.

    Produce: flexible from v9, topic id instead of topic name from v13.
    Request header v1 (v2 when flexible: plus tagged fields).
    """
    r = Reader(body)
    key, version, _corr = r.take(">hhi")
    if key != 0:
        raise ValueError("not a Produce request (api key %d)" % key)
    flex = version >= 9
    r.string(False)  # client id: always int16-length in the header
    if flex:
        r.skip_tags()
    if version >= 3:
        r.string(flex)  # transactional id
    r.take(">h")  # acks
    r.take(">i")  # timeout
    for _ in range(r.array_len(flex)):
        if version >= 13:
            r.raw(16)  # topic id
        else:
            r.string(flex)
        for _ in range(r.array_len(flex)):
            r.take(">i")  # partition index
            return r.bytes_(flex)
    raise ValueError("Produce request without partitions")

# ---------------------------------------------------------------- codecs


def _crc32c_table():
    poly = 0x82F63B78
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        t.append(c)
    return t


_CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def snappy_raw_decompress(src):
    """Decode one raw snappy block (the format, not the framing)."""
    r = Reader(src)
    n = r.uvarint()
    out = bytearray()
    while r.i < len(src):
        tag = src[r.i]
        r.i += 1
        kind = tag & 3
        if kind == 0:  # literal
            ln = tag >> 2
            if ln >= 60:
                nb = ln - 59
                ln = int.from_bytes(r.raw(nb), "little")
            out += r.raw(ln + 1)
            continue
        if kind == 1:
            ln = ((tag >> 2) & 7) + 4
            off = ((tag >> 5) << 8) | r.raw(1)[0]
        elif kind == 2:
            ln = (tag >> 2) + 1
            off = int.from_bytes(r.raw(2), "little")
        else:
            ln = (tag >> 2) + 1
            off = int.from_bytes(r.raw(4), "little")
        if off == 0 or off > len(out):
            raise ValueError("snappy: bad copy offset")
        for _ in range(ln):  # byte by byte: copies may overlap
            out.append(out[-off])
    if len(out) != n:
        raise ValueError("snappy: length %d, header says %d" % (len(out), n))
    return bytes(out)


XERIAL_MAGIC = b"\x82SNAPPY\x00"


def snappy_decompress(src):
    """Raw snappy, or the xerial framing used by the Java client."""
    if not src.startswith(XERIAL_MAGIC):
        return snappy_raw_decompress(src)
    r = Reader(src, len(XERIAL_MAGIC) + 8)  # magic, version, compatible
    out = bytearray()
    while r.i < len(src):
        out += snappy_raw_decompress(r.raw(r.take(">i")))
    return bytes(out)


def decompress(codec, data):
    if codec == 0:
        return data
    if codec == 1:
        return zlib.decompress(data, 16 + zlib.MAX_WBITS)
    if codec == 2:
        return snappy_decompress(data)
    if codec == 3:
        import lz4.frame
        return lz4.frame.decompress(data)
    if codec == 4:
        import zstandard
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    raise ValueError("unknown compression codec %d" % codec)


CODEC_NAMES = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}

# ---------------------------------------------------------------- batches


def decode_batch(data):
    r = Reader(data)
    (base_offset, length, leader_epoch, magic) = r.take(">qiib")
    if magic != 2:
        raise ValueError("magic %d, want 2" % magic)
    if length + 12 != len(data):
        raise ValueError("batch length %d + 12 != %d bytes" % (length, len(data)))
    crc = r.take(">I")
    if crc32c(data[21:]) != crc:
        raise ValueError("CRC-32C mismatch")
    (attrs, last_delta, base_ts, max_ts, pid, pepoch, base_seq,
     count) = r.take(">hiqqqhii")
    info = dict(base_offset=base_offset, length=length,
                leader_epoch=leader_epoch, crc=crc, attributes=attrs,
                codec=CODEC_NAMES.get(attrs & 7, attrs & 7),
                timestamp_type=(attrs >> 3) & 1,
                transactional=bool(attrs & 0x10), control=bool(attrs & 0x20),
                last_offset_delta=last_delta, base_timestamp=base_ts,
                max_timestamp=max_ts, producer_id=pid, producer_epoch=pepoch,
                base_sequence=base_seq, count=count)
    rr = Reader(decompress(attrs & 7, data[r.i:]))
    records = []
    for _ in range(count):
        ln = rr.varint()
        end = rr.i + ln
        rr.take(">b")  # record attributes (unused)
        ts = base_ts + rr.varint()
        od = rr.varint()
        kl = rr.varint()
        key = None if kl < 0 else rr.raw(kl)
        vl = rr.varint()
        val = None if vl < 0 else rr.raw(vl)
        headers = []
        for _ in range(rr.varint()):
            hk = rr.raw(rr.varint()).decode()
            hl = rr.varint()
            headers.append((hk, None if hl < 0 else rr.raw(hl)))
        if rr.i != end:
            raise ValueError("record length mismatch")
        records.append((od, ts, key, val, headers))
    if rr.i != len(rr.d):
        raise ValueError("%d trailing bytes after records" % (len(rr.d) - rr.i))
    return info, records


def _hex(b):
    return "-" if b is None else b.hex()


def format_record(od, ts, key, val, headers):
    hs = ",".join("%s=%s" % (k, _hex(v)) for k, v in headers)
    return "%d\t%d\t%s\t%s\t%s" % (od, ts, _hex(key), _hex(val), hs)

# ---------------------------------------------------------------- select


def read_index(rawdir):
    rows = []
    with open(os.path.join(rawdir, "index.tsv")) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            rows.append(dict(seq=int(p[0]), conn=int(p[1]), dir=p[2],
                             key=int(p[3]), name=p[4], version=int(p[5]),
                             corr=int(p[6]), size=int(p[7]),
                             ref=int(p[8]) if p[8] else None))
    return rows


def fname(row):
    return "%04d-%s-v%d-%s.bin" % (row["seq"], row["name"], row["version"],
                                   row["dir"])


def select(rawdir, outdir, keep=2):
    rows = read_index(rawdir)
    resp_of = {r["ref"]: r for r in rows if r["dir"] == "response" and r["ref"]}
    groups = {}
    for r in rows:
        if r["dir"] == "request":
            groups.setdefault((r["key"], r["version"]), []).append(r)
    os.makedirs(outdir, exist_ok=True)
    n = 0
    for (key, ver), reqs in sorted(groups.items()):
        # Prefer pairs that have a response (acks=0 Produce has none).
        paired = [q for q in reqs if q["seq"] in resp_of] or reqs
        picks = [paired[0]]
        by_resp = max(paired, key=lambda q: resp_of[q["seq"]]["size"]
                      if q["seq"] in resp_of else -1)
        by_req = max(paired, key=lambda q: q["size"])
        for q in (by_resp, by_req):
            if len(picks) < keep and q not in picks:
                picks.append(q)
        for q in picks:
            files = [q] + ([resp_of[q["seq"]]] if q["seq"] in resp_of else [])
            for row in files:
                shutil.copyfile(os.path.join(rawdir, fname(row)),
                                os.path.join(outdir, fname(row)))
                n += 1
    return n

def check_batches(d):
    passed = failed = skipped = 0
    for name in sorted(os.listdir(d)):
        if not name.endswith(".bin"):
            continue
        stem = os.path.join(d, name[:-4])
        with open(stem + ".bin", "rb") as f:
            data = f.read()
        with open(stem + ".txt") as f:
            want = f.read()
        try:
            _, records = decode_batch(data)
        except ImportError as e:
            print("skip %s: %s" % (name, e))
            skipped += 1
            continue
        except ValueError as e:
            print("FAIL %s: %s" % (name, e))
            failed += 1
            continue
        got = "".join(format_record(*r) + "\n" for r in records)
        if got == want:
            passed += 1
        else:
            print("FAIL %s: records differ from %s.txt" % (name, name[:-4]))
            failed += 1
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0

# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description="golden capture helpers")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("produce-records")
    p.add_argument("request")
    p.add_argument("out")
    p = sub.add_parser("decode")
    p.add_argument("batch")
    p.add_argument("--info", action="store_true")
    p = sub.add_parser("check-batches")
    p.add_argument("dir")
    p = sub.add_parser("select")
    p.add_argument("rawdir")
    p.add_argument("outdir")
    p.add_argument("--keep", type=int, default=2)
    a = ap.parse_args()

    if a.cmd == "produce-records":
        with open(a.request, "rb") as f:
            recs = produce_records(f.read())
        with open(a.out, "wb") as f:
            f.write(recs)
    elif a.cmd == "decode":
        with open(a.batch, "rb") as f:
            info, records = decode_batch(f.read())
        if a.info:
            for k, v in info.items():
                print("%s: %s" % (k, v), file=sys.stderr)
        for rec in records:
            print(format_record(*rec))
    elif a.cmd == "check-batches":
        return check_batches(a.dir)
    elif a.cmd == "select":
        print("%d files" % select(a.rawdir, a.outdir, a.keep), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
