#!/usr/bin/env python3
"""Capture golden protocol frames and record batches from real clients.

Called by tests/tools/capture-golden.sh, which fetches and starts the
broker (advertising --proxy-port) and prepares the clients.  For each
client this starts kproxy.py on --proxy-port in front of the broker's
proxied listener, runs the client through it (create topics, produce one
batch per codec, consume with a group, commit), stops the proxy, then

  * copies a small subset of the frames to DATA/golden/<client>/
    (kgolden.select: first and largest of each api/version), and
  * finds, among the captured Produce requests, the batch of each codec,
    checks that it decodes to exactly the records the client was told to
    send, and writes DATA/batches/<client>-<codec>.bin and .txt.

Clients: kcat (Debian's, on Debian's librdkafka), kafka-python, librdkafka
(the confluent-kafka binding with its bundled librdkafka) and java (the
kafka-clients jar of the broker's version, via tests/tools/java/).  kcat
cannot set timestamps, so its expected timestamps are the ones found in
its batches, checked to lie within the capture's time window.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kgolden  # noqa: E402

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
BASE_TS = 1700000000000  # 2023-11-14T22:13:20Z


def spec_records(client, codec):
    """The records each client sends for one batch: offset_delta, ts, key,
    value, headers.  Null key, null value, empty value, binary bytes,
    duplicate and empty headers, and a timestamp below the maximum."""
    tag = ("value-0 %s/%s " % (client, codec)).encode()
    return [
        (0, BASE_TS, b"key-0", tag + b"samsa " * 24, []),
        (1, BASE_TS + 1, None, b"\x00\x01\x02\xfe\xff binary",
         [("trace", b"abc")]),
        (2, BASE_TS + 1000, b"key-2", b"", [("h1", b"v1"), ("empty", b"")]),
        (3, BASE_TS + 500, b"key-3", None,
         [("h", b"\xff\x00"), ("h", b"\x01\x02")]),
    ]


def spec_text(records):
    return "".join(kgolden.format_record(*r) + "\n" for r in records)


def log(msg):
    print("capture: %s" % msg, file=sys.stderr, flush=True)


def run(cmd, timeout=120, **kw):
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, timeout=timeout, **kw)


class Proxy:
    def __init__(self, port, upstream, out):
        self.port_file = out + ".port"
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.p = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "kproxy.py"),
             "--listen", str(port), "--upstream", upstream, "--out", out,
             "--port-file", self.port_file, "--max-seconds", "900"])
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port_file):
            if self.p.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("kproxy did not start")
            time.sleep(0.05)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def kcat_records(codec):
    """What drive_kcat sends: kcat cannot set timestamps (None: taken from
    the batch, and checked to lie within the run) and puts the same -H
    headers on every message.  -Z turns the empty value into a null."""
    hs = [("trace", b"abc"), ("h1", b"v1")]
    return [
        (0, None, b"key-0", ("kcat value zero %s " % codec).encode() + b"samsa " * 24, hs),
        (1, None, b"key-1", b"kcat value one", hs),
        (2, None, b"key-2", None, hs),
    ]


def produce_batches(raw, after_seq):
    """Decoded batches of the Produce requests captured after after_seq."""
    out = []
    for row in kgolden.read_index(raw):
        if row["seq"] > after_seq and row["dir"] == "request" and row["key"] == 0:
            with open(os.path.join(raw, kgolden.fname(row)), "rb") as f:
                recs = kgolden.produce_records(f.read())
            if recs:
                out.append(kgolden.decode_batch(recs)[1])
    return out


def last_seq(raw):
    rows = kgolden.read_index(raw)
    return rows[-1]["seq"] if rows else 0


def drive_kcat(a, raw, bootstrap, topics):
    for codec in CODECS:
        want = kcat_records(codec)
        lines = b"".join(k + b":" + (v or b"") + b"\n" for _, _, k, v, _ in want)
        cmd = ["kcat", "-b", bootstrap, "-P", "-t", topics[codec], "-p", "0",
               "-K", ":", "-Z", "-H", "trace=abc", "-H", "h1=v1",
               "-X", "client.id=golden-kcat", "-X", "linger.ms=1000"]
        if codec != "none":
            cmd += ["-z", codec]
        # librdkafka now and then sends the first message on its own;
        # try again until one Produce request carries all of them.
        for attempt in range(4):
            seq = last_seq(raw)
            run(cmd, input=lines)
            time.sleep(0.3)
            if any(len(b) == len(want) for b in produce_batches(raw, seq)):
                break
            log("kcat split the %s batch, producing it again" % codec)
    run(["kcat", "-b", bootstrap, "-G", "golden-kcat", "-X",
         "client.id=golden-kcat", "-X", "auto.offset.reset=earliest",
         "-c", "3", "-e", "-q", topics["none"]], stdout=subprocess.DEVNULL)


def drive_python(a, client, bootstrap, topics, specs):
    base = [a.python, os.path.join(HERE, "golden_py_clients.py"), client]
    run(base + ["create", bootstrap] + [topics[c] for c in CODECS])
    for codec in CODECS:
        run(base + ["produce", bootstrap, topics[codec], codec, specs[codec]])
    run(base + ["consume", bootstrap, topics["none"], "golden-" + client, "4"])


def drive_java(a, bootstrap, topics, specs):
    base = ["java", "-Xmx256m", "-Dlog4j2.configurationFile=" + a.java_log4j,
            "-cp", a.java_cp, "GoldenClient"]
    run(base + ["create", bootstrap] + [topics[c] for c in CODECS])
    for codec in CODECS:
        run(base + ["produce", bootstrap, topics[codec], codec, specs[codec]])
    run(base + ["consume", bootstrap, topics["none"], "golden-java", "classic", "4"])
    run(base + ["consume", bootstrap, topics["none"], "golden-java-848",
                "consumer", "4"])


def extract_batches(client, raw, data, specs, window):
    """Find each codec's batch among the Produce requests; check; save.

    specs: codec -> records as in spec_records (a None timestamp matches
    any timestamp inside window, the (start, end) ms of the capture)."""
    found = {}
    rows = [r for r in kgolden.read_index(raw)
            if r["dir"] == "request" and r["key"] == 0]
    for row in rows:
        with open(os.path.join(raw, kgolden.fname(row)), "rb") as f:
            recs = kgolden.produce_records(f.read())
        if not recs:
            continue
        info, records = kgolden.decode_batch(recs)
        for codec, want in specs.items():
            if codec not in found and matches(records, want, window):
                if info["codec"] != codec:
                    raise SystemExit("%s: %s batch has codec %s" %
                                     (client, codec, info["codec"]))
                found[codec] = (recs, row, records)
    os.makedirs(os.path.join(data, "batches"), exist_ok=True)
    for codec in CODECS:
        if codec not in found:
            raise SystemExit("%s: no Produce request with the %s batch "
                             "(%d Produce requests, time window %s)" %
                             (client, codec, len(rows), window))
        recs, row, records = found[codec]
        stem = os.path.join(data, "batches", "%s-%s" % (client, codec))
        with open(stem + ".bin", "wb") as f:
            f.write(recs)
        with open(stem + ".txt", "w") as f:
            f.write(spec_text(records))
        log("%s-%s: %d bytes from %s" % (client, codec, len(recs),
                                         kgolden.fname(row)))


def matches(got, want, window):
    if len(got) != len(want):
        return False
    for g, w in zip(got, want):
        if w[1] is None:
            if not window[0] <= g[1] <= window[1]:
                return False
            w = (w[0], g[1]) + tuple(w[2:])
        if tuple(g) != tuple(w):
            return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy-port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--data", required=True, help="tests/data")
    ap.add_argument("--clients", default="kcat,kafka-python,librdkafka,java")
    ap.add_argument("--python", default=sys.executable,
                    help="python with the client packages")
    ap.add_argument("--java-cp", default="")
    ap.add_argument("--java-log4j", default="")
    a = ap.parse_args()
    # TERM unwinds like an exception: the running client is killed by
    # subprocess.run and the proxy stopped by the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    bootstrap = "127.0.0.1:%d" % a.proxy_port
    for client in a.clients.split(","):
        log("=== %s" % client)
        raw = os.path.join(a.work, "raw", client)
        os.makedirs(os.path.join(a.work, "specs"), exist_ok=True)
        topics = {c: "golden-%s-%s" % (client, c) for c in CODECS}
        specs, spec_files = {}, {}
        for c in CODECS:
            if client == "kcat":
                specs[c] = kcat_records(c)
                continue
            specs[c] = spec_records(client, c)
            spec_files[c] = os.path.join(a.work, "specs",
                                         "%s-%s.txt" % (client, c))
            with open(spec_files[c], "w") as f:
                f.write(spec_text(specs[c]))
        t0 = int(time.time() * 1000)
        proxy = Proxy(a.proxy_port, a.upstream, raw)
        try:
            if client == "kcat":
                drive_kcat(a, raw, bootstrap, topics)
            elif client in ("kafka-python", "librdkafka"):
                drive_python(a, client, bootstrap, topics, spec_files)
            elif client == "java":
                drive_java(a, bootstrap, topics, spec_files)
            else:
                raise SystemExit("unknown client " + client)
            time.sleep(0.5)  # let the last responses through the proxy
        finally:
            proxy.stop()
        out = os.path.join(a.data, "golden", client)
        shutil.rmtree(out, ignore_errors=True)
        n = kgolden.select(raw, out)
        log("%s: kept %d frame files in %s" % (client, n, out))
        window = (t0, int(time.time() * 1000))
        extract_batches(client, raw, a.data, specs, window)
    return 0


if __name__ == "__main__":
    sys.exit(main())
