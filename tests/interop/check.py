"""check.py: the exact checks of samsa's interoperability suite.

A driver's consume prints one JSON object a line:
    {"partition": P, "offset": O, "key": "k-I", "value": "v-I",
     "headers": [["h", "I"]], "timestamp": T}
for messages that a driver's produce wrote as I = 0..N-1 (key k-I, value
v-I, header h=I, timestamp BASE+I) into a fresh topic of PARTITIONS
partitions with a murmur2 key partitioner.

check_run() returns a list of problems (empty when everything holds):
every message arrives exactly once, in the partition murmur2 gives its key,
the messages of one partition in the order they were produced at offsets
0, 1, 2, ... without gaps, printed in offset order, with key, value,
headers and timestamp intact.  check_group() checks what the members of
one group consumed: everything arrives, fields intact, and a message comes
again only while no commit at or past it has succeeded.  Usable as a
program:

    check.py N PARTITIONS BASE|window:LO:HI FILE...
    check.py --self-test     (damaged runs must all be caught, and the
                              group rule must allow exactly what it should)

(several files: the consumption was split between consumers, in order).
"""
import json
import sys


def murmur2(data):
    """Kafka's murmur2 (the Java client's partitioner hash) of bytes."""
    m = 0x5bd1e995
    h = (0x9747b28c ^ len(data)) & 0xffffffff
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xffffffff
        k ^= k >> 24
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
    rest = data[4 * n4:]
    if len(rest) >= 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if rest:
        h ^= rest[0]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h


def partition_of(i, partitions):
    return (murmur2(b"k-%d" % i) & 0x7fffffff) % partitions


def parse(text):
    """The JSON lines of a consume output; raises ValueError on a bad line."""
    out = []
    for line in text.splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def index_of(m):
    v = m.get("value")
    if not isinstance(v, str) or not v.startswith("v-") or not v[2:].isdigit():
        return None
    return int(v[2:])


def check_message(m, i, partitions, ts):
    """Problems with message m, which carries index i."""
    bad = []
    where = "v-%d (partition %s offset %s)" % (i, m.get("partition"), m.get("offset"))
    if m.get("key") != "k-%d" % i:
        bad.append("%s: key %r" % (where, m.get("key")))
    if m.get("headers") != [["h", str(i)]]:
        bad.append("%s: headers %r" % (where, m.get("headers")))
    if isinstance(ts, tuple):
        if not (ts[0] <= m.get("timestamp", -1) <= ts[1]):
            bad.append("%s: timestamp %r outside [%d, %d]" % (where, m.get("timestamp"), ts[0], ts[1]))
    elif m.get("timestamp") != ts + i:
        bad.append("%s: timestamp %r, want %d" % (where, m.get("timestamp"), ts + i))
    if m.get("partition") != partition_of(i, partitions):
        bad.append("%s: murmur2 partition is %d" % (where, partition_of(i, partitions)))
    return bad


def check_run(msgs, n, partitions, ts):
    """Problems with the messages msgs (in consumption order) of a topic
    produced with n messages; ts is BASE (timestamps BASE+i) or (lo, hi)."""
    bad = []
    seen = {}
    last = {}
    for m in msgs:
        i = index_of(m)
        if i is None or not 0 <= i < n:
            bad.append("unexpected message %r" % (m,))
            continue
        if i in seen:
            bad.append("v-%d delivered twice (offsets %s and %s)" % (i, seen[i].get("offset"), m.get("offset")))
            continue
        seen[i] = m
        bad += check_message(m, i, partitions, ts)
        p = m.get("partition")
        if p in last and m.get("offset") <= last[p]:
            bad.append("partition %s: offset %s printed after %s" % (p, m.get("offset"), last[p]))
        last[p] = m.get("offset")
    missing = [i for i in range(n) if i not in seen]
    if missing:
        bad.append("%d of %d missing, first v-%d" % (len(missing), n, missing[0]))
    for p in range(partitions):
        want = [i for i in range(n) if partition_of(i, partitions) == p]
        got = sorted((seen[i]["offset"], i) for i in want if i in seen)
        if [o for o, _ in got] != list(range(len(got))):
            bad.append("partition %d: offsets %s, want 0..%d" % (p, [o for o, _ in got][:8], len(got) - 1))
        if [i for _, i in got] != [i for i in want if i in seen]:
            bad.append("partition %d: production order not kept" % p)
    return bad


def check_group(msgs, n, partitions, ts):
    """Problems with what the members of one group consumed: msgs are lines
    in the drivers' format plus "member", "committed" (whether the commit
    of that message succeeded) and "t" (the time after that commit).  Every
    message 0..n-1 arrives with its fields intact; none is consumed again
    once a commit at or past its offset succeeded (in the order of t)."""
    bad = []
    seen = set()
    for m in msgs:
        i = index_of(m)
        if i is None or not 0 <= i < n:
            bad.append("unexpected %r" % (m,))
            continue
        bad += check_message(m, i, partitions, ts)
        seen.add(i)
    missing = [i for i in range(n) if i not in seen]
    if missing:
        bad.append("%d of %d never consumed, first v-%d" % (len(missing), n, missing[0]))
    for p in range(partitions):
        upto, by = 0, None
        for m in sorted((m for m in msgs if m.get("partition") == p), key=lambda m: m["t"]):
            if m["offset"] < upto:
                bad.append("partition %d: offset %d consumed again by %s after %s committed "
                           "offset %d" % (p, m["offset"], m["member"], by, upto))
            if m["committed"] and m["offset"] + 1 > upto:
                upto, by = m["offset"] + 1, m["member"]
    return bad


def self_test():
    """Problems found in the checker itself: a perfect run must pass and each
    kind of damage must be caught."""
    n, parts, base = 30, 3, 1700000000000
    good, next_offset = [], {}
    for i in range(n):
        p = partition_of(i, parts)
        good.append({"partition": p, "offset": next_offset.get(p, 0), "key": "k-%d" % i,
                     "value": "v-%d" % i, "headers": [["h", str(i)]], "timestamp": base + i})
        next_offset[p] = next_offset.get(p, 0) + 1
    good.sort(key=lambda m: (m["partition"], m["offset"]))
    bad = ["perfect run: %s" % b for b in check_run(good, n, parts, base)]
    if sorted(next_offset) != list(range(parts)):
        bad.append("keys k-0..k-%d do not reach every partition" % (n - 1))

    def damaged(name, fn):
        msgs = [dict(m) for m in good]
        fn(msgs)
        if not check_run(msgs, n, parts, base):
            bad.append("damage not caught: " + name)
    damaged("lost message", lambda ms: ms.pop(5))
    damaged("duplicate", lambda ms: ms.append(dict(ms[3])))
    damaged("reordered partition", lambda ms: ms.__setitem__(slice(0, 2), [ms[1], ms[0]]))
    damaged("key", lambda ms: ms[4].update(key="k-x"))
    damaged("null key", lambda ms: ms[4].update(key=None))
    damaged("header", lambda ms: ms[4].update(headers=[["h", "0"]]))
    damaged("no header", lambda ms: ms[4].update(headers=[]))
    damaged("timestamp", lambda ms: ms[4].update(timestamp=ms[4]["timestamp"] + 1))
    damaged("partition", lambda ms: ms[4].update(partition=(ms[4]["partition"] + 1) % parts))
    damaged("offset gap", lambda ms: ms[-1].update(offset=ms[-1]["offset"] + 1))
    damaged("foreign message", lambda ms: ms.append(dict(ms[0], value="v-999")))
    if check_run(good, n, parts, (base + 1, base + n - 2)) == []:
        bad.append("damage not caught: timestamp outside the window")

    group = [dict(m, member="a", committed=True, t=k) for k, m in enumerate(good)]
    bad += ["perfect group: %s" % b for b in check_group(group, n, parts, base)]

    def group_case(name, fn, caught):
        msgs = [dict(m) for m in group]
        fn(msgs)
        if bool(check_group(msgs, n, parts, base)) != caught:
            bad.append("group rule wrong: " + name)
    # m[1] follows m[0] in the same partition (offsets 0 and 1).
    group_case("again after its commit",
               lambda ms: ms.append(dict(ms[0], member="b", t=len(ms))), True)
    group_case("again after a commit past it",
               lambda ms: (ms[0].update(committed=False),
                           ms.append(dict(ms[0], member="b", t=len(ms)))), True)
    group_case("again after its commit failed",
               lambda ms: (ms[1].update(committed=False),
                           ms.insert(2, dict(ms[1], member="b", t=1.5))), False)
    group_case("lost", lambda ms: ms.pop(3), True)
    return bad


def main(a):
    if a == ["--self-test"]:
        bad = self_test()
        for b in bad:
            print(b)
        print("check.py self-test: %s" % ("ok" if not bad else "FAILED"))
        return 1 if bad else 0
    if len(a) < 4:
        sys.stderr.write("usage: check.py N PARTITIONS BASE|window:LO:HI FILE...\n")
        return 2
    n, partitions = int(a[0]), int(a[1])
    if a[2].startswith("window:"):
        _, lo, hi = a[2].split(":")
        ts = (int(lo), int(hi))
    else:
        ts = int(a[2])
    msgs = []
    for f in a[3:]:
        with open(f) as fh:
            msgs += parse(fh.read())
    bad = check_run(msgs, n, partitions, ts)
    for b in bad[:20]:
        print(b)
    print("%s: %d messages, %d problems" % ("ok" if not bad else "FAILED", len(msgs), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
