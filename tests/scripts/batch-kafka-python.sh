#!/bin/sh
# Record batches that samsa builds, with each codec, are read back by another
# client's decoder: kafka-python's DefaultRecordBatch checks the CRC and
# yields exactly the records samsa wrote.
set -e
B=${B:-build}
venv=$(tests/tools/pyenv.sh)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
for codec in none gzip snappy lz4 zstd; do
    "$B/tests/tools/mkbatch" "$codec" "$tmp/$codec.bin" > "$tmp/$codec.txt"
    "$venv/bin/python" - "$tmp/$codec.bin" "$tmp/$codec.txt" "$codec" <<'PY'
import sys
from kafka.record.default_records import DefaultRecordBatch

data = open(sys.argv[1], "rb").read()
want = [line.rstrip("\n").split("\t") for line in open(sys.argv[2])]
batch = DefaultRecordBatch(bytearray(data))
assert batch.validate_crc(), "CRC rejected"
codecs = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
assert batch.compression_type == codecs[sys.argv[3]], batch.compression_type

def hexs(b):
    return "-" if b is None else bytes(b).hex()

got = []
for r in batch:
    headers = ",".join("%s=%s" % (k, hexs(v)) for k, v in r.headers)
    got.append([str(r.offset), str(r.timestamp), hexs(r.key), hexs(r.value), headers])
assert got == want, "records differ:\n%r\n%r" % (got, want)
print("%s: %d records read back by kafka-python" % (sys.argv[3], len(got)))
PY
done
