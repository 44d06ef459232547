"""suite.py: the interoperability suite of samsa's broker.

    suite.py TARGET WORKDIR CLIENTS_ENV

Starts the broker under test (tests/interop/broker.sh with TARGET=samsa or
kafka) in WORKDIR/broker, then runs, with the clients named in CLIENTS_ENV
(written by setup.sh):

  matrix     each of kcat, confluent-kafka, kafka-python, kafkajs, franz-go
             and the Java client produces idempotently into its own
             3-partition topic (the stored batch headers, read by a raw
             Fetch, must carry its producer ids and gapless sequences);
             the same client and the next one in that list each consume the
             topic in their own group; check.py checks every message exactly
             and the group's committed offsets must equal the end offsets;
  rebalance  three confluent-kafka members join one group one by one and
             leave again while messages are produced; nothing is lost and
             nothing is consumed again after a commit at or past it
             succeeded;
  restart    the Java client produces (idempotently); confluent-kafka
             consumes half with commits; the broker restarts; the Java
             client consumes the rest from the committed offsets; then a new
             group (kafka-python) reads everything again;
  restart under a live member
             a confluent-kafka member keeps consuming while the broker
             restarts under it, and gets what is produced before and after.

Prints a table, one line per failure reason, and finally
"N passed, N failed"; exits 0 when nothing failed.  Every child runs in its
own process group, is bounded in time and is killed when the suite ends;
waits end early when the broker died or the suite's time budget
(INTEROP_BUDGET_S, default 400 s) is spent, so that a broken broker still
gets its table.
"""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check  # noqa: E402

CLIENTS = ["kcat", "confluent", "kafka-python", "kafkajs", "franz-go", "java"]
PARTITIONS = 3
N = 60           # messages per matrix topic
N_KCAT = 30      # kcat produces one process per message
BATCH = 60       # messages per batch of the rebalance test
N_RESTART = 200
CONSUME_TIMEOUT_S = 60
BASE = (int(time.time()) - 3600) * 1000   # explicit timestamps: BASE + i

children = set()
broker_pid_file = ""
deadline = time.monotonic() + float(os.environ.get("INTEROP_BUDGET_S", "400"))


def log(msg):
    sys.stderr.write("suite: %s\n" % msg)
    sys.stderr.flush()


class Failed(Exception):
    pass


# What a test may raise besides Failed: unreadable or malformed output.
ERRORS = (Failed, OSError, ValueError, KeyError, TypeError)


def spawn(argv, out_path, env=None):
    f = open(out_path, "w")
    err = open(out_path + ".err", "w")
    p = subprocess.Popen(argv, stdout=f, stderr=err, stdin=subprocess.DEVNULL,
                         env=env, start_new_session=True)
    f.close()
    err.close()
    children.add(p)
    return p


def kill(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()
    children.discard(p)


def broker_dead():
    """True when the broker's pid file names a process that is gone (no pid
    file, as during a restart, is not a death)."""
    try:
        pid = int(open(broker_pid_file).read())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
        return False
    except ProcessLookupError:
        return True
    except PermissionError:
        return False


def wait(p, timeout_s, watch=True):
    """Exit status of p, or None (after killing it) past timeout_s, past the
    suite's deadline or, when watch, as soon as the broker died."""
    end = min(time.monotonic() + timeout_s, deadline)
    while True:
        try:
            rc = p.wait(timeout=0.2)
            children.discard(p)
            return rc
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() >= end or (watch and broker_dead()):
            kill(p)
            return None


def why(rc):
    if rc is not None:
        return "exit %d" % rc
    if broker_dead():
        return "the broker died"
    if time.monotonic() >= deadline:
        return "out of the suite's time budget (INTEROP_BUDGET_S)"
    return "timed out"


def run(argv, out_path, timeout_s, env=None, watch=True):
    rc = wait(spawn(argv, out_path, env), timeout_s, watch)
    if rc != 0:
        tail = open(out_path + ".err").read()[-1500:]
        raise Failed("%s: %s\n%s" % (" ".join(argv[:3]), why(rc), tail))


class Members:
    """A consumer group of member.py processes (confluent-kafka) on a fresh
    topic, fed in batches of BATCH messages by member.py produce."""

    def __init__(self, suite, topic, group):
        self.suite, self.topic, self.group = suite, topic, group
        self.member_py = os.path.join(HERE, "py", "member.py")
        self.procs = {}
        self.live = []
        self.produced = 0
        suite.create(topic)

    def produce(self):
        first = self.produced
        run([self.suite.py, self.member_py, "produce", self.suite.bootstrap, self.topic,
             str(first), str(BATCH), str(BASE)],
            self.suite.path("produce-%s-%d" % (self.topic, first)), 60, self.suite.env)
        self.produced += BATCH
        return range(first, first + BATCH)

    def out(self, name):
        return self.suite.path("member-%s-%s" % (self.topic, name))

    def start(self, name):
        self.procs[name] = spawn([self.suite.py, self.member_py, "member", self.suite.bootstrap,
                                  self.topic, self.group, name], self.out(name), self.suite.env)
        self.live.append(name)

    def stop(self, name, produce_meanwhile):
        """SIGTERM member name, produce a batch while it leaves if asked, and
        wait until it closed and the batch was consumed by the others."""
        self.procs[name].send_signal(signal.SIGTERM)
        self.live.remove(name)
        batch = self.produce() if produce_meanwhile else None
        if wait(self.procs[name], 30) != 0:
            raise Failed("member %s did not close cleanly" % name)
        if batch is not None:
            self.wait_for("the group consumed while %s left" % name, self.consumed(batch))

    def kill_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                kill(p)

    def lines(self, name):
        # A running member may be in the middle of appending a line: a read
        # can see the first part of it. Only whole lines count.
        text = open(self.out(name)).read()
        return check.parse(text[:text.rfind("\n") + 1])

    def msgs(self):
        return [m for name in self.procs for m in self.lines(name) if "event" not in m]

    def wait_for(self, what, cond, timeout_s=45):
        end = time.monotonic() + timeout_s
        while not cond():
            for name in self.live:
                if self.procs[name].poll() is not None:
                    raise Failed("member %s exited with %s while waiting until %s"
                                 % (name, self.procs[name].returncode, what))
            if time.monotonic() > end or time.monotonic() > deadline or broker_dead():
                raise Failed("%s waiting until %s" % (why(None), what))
            time.sleep(0.1)

    def consumed(self, batch):
        want = set(batch)
        return lambda: want <= {check.index_of(m) for m in self.msgs()}

    def wait_for_batch(self, when):
        b = self.produce()
        self.wait_for("the group consumed %s" % when, self.consumed(b))
        return b

    def settled(self):
        """Every live member's last event gave it partitions, together all."""
        owned = []
        for name in self.live:
            ev = [m for m in self.lines(name) if m.get("event") in ("assign", "revoke")]
            if not ev or ev[-1]["event"] != "assign" or not ev[-1]["partitions"]:
                return False
            owned += ev[-1]["partitions"]
        return sorted(owned) == list(range(PARTITIONS))

    def everyone_got(self, batch):
        want = set(batch)
        got = {m["member"] for name in self.live for m in self.lines(name)
               if "event" not in m and check.index_of(m) in want}
        if got != set(self.live):
            raise Failed("with members %s settled, only %s consumed" % (sorted(self.live),
                                                                       sorted(got)))

    def verify(self):
        """Everything produced was consumed with its fields intact, and no
        message was consumed again once a commit at or past its offset had
        succeeded (in the order of the members' clock); the group's
        committed offsets are the end offsets."""
        n = self.produced
        bad = check.check_group(self.msgs(), n, PARTITIONS, BASE)
        if bad:
            raise Failed("; ".join(bad[:5]))
        self.suite.committed_all(self.topic, self.group, n)


class Suite:
    def __init__(self, target, work, env_file):
        self.target = target
        self.work = work
        self.bdir = os.path.join(work, "broker")
        global broker_pid_file
        broker_pid_file = os.path.join(self.bdir, "pid")
        self.env = dict(os.environ, TARGET=target)
        for line in open(env_file):
            line = line.strip()
            if line and not line.startswith("#"):
                k, v = line.split("=", 1)
                self.env[k] = v.strip("'")
        self.env["NODE_PATH"] = self.env["INTEROP_NODE_PATH"]
        self.py = self.env["INTEROP_PYTHON"]
        self.results = []   # (name, ok, detail)
        self.bootstrap = None

    def broker(self, cmd):
        run([os.path.join(HERE, "broker.sh"), cmd, self.bdir],
            os.path.join(self.work, "broker-%s.out" % cmd), 150, self.env, watch=False)
        self.bootstrap = open(os.path.join(self.bdir, "bootstrap")).read().strip()

    def client(self, name):
        return {
            "kcat": [os.path.join(HERE, "kcat", "driver.sh")],
            "confluent": [self.py, os.path.join(HERE, "py", "driver.py"), "confluent"],
            "kafka-python": [self.py, os.path.join(HERE, "py", "driver.py"), "kafka-python"],
            "kafkajs": ["node", os.path.join(HERE, "js", "driver.js")],
            "franz-go": [self.env["INTEROP_FRANZDRIVER"]],
            "java": ["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                     "-Dlog4j2.configurationFile=" + os.path.join(HERE, "java", "log4j2.properties"),
                     "-cp", self.env["INTEROP_JAVA_CP"], "InteropClient"],
        }[name]

    def path(self, name):
        return os.path.join(self.work, name)

    def create(self, topic):
        run([self.py, os.path.join(HERE, "py", "driver.py"), "create", self.bootstrap, topic,
             str(PARTITIONS)], self.path("create-" + topic), 60, self.env)

    def offsets(self, topic, group):
        out = self.path("offsets-%s-%s" % (topic, group))
        run([self.py, os.path.join(HERE, "py", "driver.py"), "offsets", self.bootstrap, topic,
             group, str(PARTITIONS)], out, 60, self.env)
        return {int(k): v for k, v in json.load(open(out)).items()}

    def produce(self, client, topic, n):
        """Produce n messages with client, then check from the stored batch
        headers that the producer was idempotent: a producer id on every
        batch, sequence numbers from 0 without gaps per producer and
        partition."""
        run(self.client(client) + ["produce", self.bootstrap, topic, str(n), str(BASE)],
            self.path("produce-" + topic), 90, self.env)
        out = self.path("batches-" + topic)
        run(["python3", os.path.join(HERE, "py", "batches.py"), self.bootstrap, topic,
             str(PARTITIONS)], out, 60, self.env)
        seq = {}
        total = 0
        for b in check.parse(open(out).read()):
            k = (b["partition"], b["producer_id"])
            if b["producer_id"] < 0 or b["producer_epoch"] < 0:
                raise Failed("%s: batch at %d@%d has no producer id" % (client, b["base_offset"],
                                                                      b["partition"]))
            if b["base_sequence"] != seq.get(k, 0):
                raise Failed("%s: batch at %d@%d has sequence %d, want %d"
                             % (client, b["base_offset"], b["partition"], b["base_sequence"],
                                seq.get(k, 0)))
            seq[k] = b["base_sequence"] + b["last_offset_delta"] + 1
            total += b["count"]
        if total != n:
            raise Failed("%s: %d records in the stored batches, want %d" % (client, total, n))

    def consume_start(self, client, topic, group, n):
        return spawn(self.client(client) + ["consume", self.bootstrap, topic, group, str(n),
                                            str(CONSUME_TIMEOUT_S)],
                     self.path("consume-%s-%s" % (topic, group)), self.env)

    def consume_result(self, p, topic, group):
        out = self.path("consume-%s-%s" % (topic, group))
        rc = wait(p, CONSUME_TIMEOUT_S + 15)
        if rc != 0:
            raise Failed("consumer %s: %s\n%s" % (group, why(rc), open(out + ".err").read()[-1500:]))
        return check.parse(open(out).read())

    def record(self, name, fn):
        t0 = time.monotonic()
        try:
            fn()
            self.results.append((name, True, ""))
            log("%s: passed (%.1fs)" % (name, time.monotonic() - t0))
        except ERRORS as e:
            self.results.append((name, False, str(e)))
            log("%s: FAILED (%.1fs): %s" % (name, time.monotonic() - t0, e))

    def committed_all(self, topic, group, want_total=None):
        offs = self.offsets(topic, group)
        for p, (committed, end) in sorted(offs.items()):
            if committed != end:
                raise Failed("group %s: partition %d committed %d, end %d" % (group, p, committed, end))
        if want_total is not None and sum(e for _, e in offs.values()) != want_total:
            raise Failed("topic %s holds %d messages, want %d"
                         % (topic, sum(e for _, e in offs.values()), want_total))

    def checker_self_test(self):
        bad = check.self_test()
        if bad:
            raise Failed("; ".join(bad))

    # The matrix: every producer, read back by itself and by the next client.
    def matrix(self):
        cells = {}
        for k, prod in enumerate(CLIENTS):
            cross = CLIENTS[(k + 1) % len(CLIENTS)]
            topic = "interop-" + prod
            n = N_KCAT if prod == "kcat" else N
            t0 = int(time.time() * 1000)
            row = cells[prod] = {}
            try:
                self.create(topic)
                self.produce(prod, topic, n)
            except ERRORS as e:
                row["produce"] = (False, str(e))
                row["self"] = row["cross"] = (False, "not run: produce failed")
                continue
            row["produce"] = (True, "")
            ts = (t0 - 1000, int(time.time() * 1000) + 1000) if prod == "kcat" else BASE
            groups = {"self": (prod, "g-%s-%s" % (prod, prod)),
                      "cross": (cross, "g-%s-%s" % (prod, cross))}
            procs = {c: self.consume_start(cl, topic, g, n) for c, (cl, g) in groups.items()}
            for col, (cl, g) in groups.items():
                try:
                    msgs = self.consume_result(procs[col], topic, g)
                    bad = check.check_run(msgs, n, PARTITIONS, ts)
                    if bad:
                        raise Failed("; ".join(bad[:5]))
                    self.committed_all(topic, g, n)
                    row[col] = (True, "")
                except ERRORS as e:
                    row[col] = (False, str(e))
        for prod in CLIENTS:
            row = cells[prod]
            cross = CLIENTS[(CLIENTS.index(prod) + 1) % len(CLIENTS)]
            for col, who in (("produce", prod), ("self", prod), ("cross", cross)):
                ok, detail = row[col]
                name = "matrix %s -> %s" % (prod, who) if col != "produce" else "matrix produce %s" % prod
                self.results.append((name, ok, detail))
                if not ok:
                    log("%s: FAILED: %s" % (name, detail))
        self.cells = cells

    def print_matrix(self):
        w = max(len(c) for c in CLIENTS)
        print("%-*s  %-7s  %-*s  %-6s  %-*s  %-6s" % (w, "producer", "produce", w, "consumer", "result",
                                                    w, "consumer", "result"))
        for k, prod in enumerate(CLIENTS):
            row = self.cells[prod]
            cross = CLIENTS[(k + 1) % len(CLIENTS)]

            def r(c):
                return "pass" if row[c][0] else "FAIL"
            print("%-*s  %-7s  %-*s  %-6s  %-*s  %-6s" % (w, prod, r("produce"), w, prod, r("self"),
                                                        w, cross, r("cross")))

    # Group rebalancing: three members join one by one, then leave.
    def rebalance(self):
        g = Members(self, "interop-rebalance", "g-rebalance")
        try:
            for name in ("m1", "m2", "m3"):
                g.start(name)
                g.wait_for("%s joined" % name, g.consumed(g.produce()))
                g.wait_for("the group settled with %s" % name, g.settled)
                g.everyone_got(g.wait_for_batch("after %s joined" % name))
            for name in ("m1", "m2", "m3"):
                g.stop(name, len(g.live) > 1)
                if g.live:
                    g.wait_for("the group settled without %s" % name, g.settled)
                    g.everyone_got(g.wait_for_batch("after %s left" % name))
        finally:
            g.kill_all()
        g.verify()

    # A broker restart under a running group member.
    def restart_live(self):
        g = Members(self, "interop-restart-live", "g-restart-live")
        try:
            g.start("m1")
            g.wait_for("m1 consumed", g.consumed(g.produce()))
            first = g.produce()
            self.broker("restart")
            g.wait_for("m1 consumed what was produced before the restart", g.consumed(first))
            g.wait_for_batch("after the restart")
            g.stop("m1", False)
        finally:
            g.kill_all()
        g.verify()

    # A broker restart in the middle of a group's work.
    def restart(self):
        topic, group = "interop-restart", "g-restart"
        half = N_RESTART // 2
        self.create(topic)
        self.produce("java", topic, N_RESTART)
        first = self.consume_result(self.consume_start("confluent", topic, group, half), topic, group)
        offs = self.offsets(topic, group)
        if sum(c for c, _ in offs.values() if c > 0) != half:
            raise Failed("before the restart: committed %s after consuming %d" % (offs, half))
        self.broker("restart")
        second = self.consume_result(self.consume_start("java", topic, group, N_RESTART - half),
                                     topic, group)
        bad = check.check_run(sorted(first + second, key=lambda m: (m["partition"], m["offset"])),
                              N_RESTART, PARTITIONS, BASE)
        if bad:
            raise Failed("across the restart: " + "; ".join(bad[:5]))
        self.committed_all(topic, group, N_RESTART)
        again = self.consume_result(self.consume_start("kafka-python", topic, group + "-again",
                                                       N_RESTART), topic, group + "-again")
        bad = check.check_run(again, N_RESTART, PARTITIONS, BASE)
        if bad:
            raise Failed("new group after the restart: " + "; ".join(bad[:5]))

    def main(self):
        t0 = time.monotonic()
        try:
            self.broker("start")
            log("broker (%s) at %s" % (self.target, self.bootstrap))
        except Failed as e:
            log("broker start failed: %s" % e)
            print("interop (%s): broker did not start" % self.target)
            print("0 passed, 1 failed")
            return 1
        self.record("checker self-test", self.checker_self_test)
        t1 = time.monotonic()
        self.matrix()
        log("matrix: %d of %d passed (%.1fs)" % (sum(1 for n, ok, _ in self.results if ok and
                                                  n.startswith("matrix")),
                                                 3 * len(CLIENTS), time.monotonic() - t1))
        self.record("rebalance (confluent-kafka, 3 members)", self.rebalance)
        self.record("restart (java, confluent-kafka, kafka-python)", self.restart)
        self.record("restart under a live member (confluent-kafka)", self.restart_live)
        print("interop against %s: matrix (each producer's topic read by two consumers)" % self.target)
        self.print_matrix()
        for name, ok, _ in self.results:
            if not name.startswith("matrix"):
                print("%-48s %s" % (name, "pass" if ok else "FAIL"))
        passed = sum(1 for _, ok, _ in self.results if ok)
        failed = len(self.results) - passed
        print("interop: %.0fs%s" % (time.monotonic() - t0,
                                    ", logs in %s" % self.work if failed else ""))
        print("%d passed, %d failed" % (passed, failed))
        return 1 if failed else 0


def main(a):
    if len(a) != 3:
        sys.stderr.write("usage: suite.py TARGET WORKDIR CLIENTS_ENV\n")
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    s = Suite(a[0], a[1], a[2])
    try:
        return s.main()
    finally:
        for p in list(children):
            kill(p)
        try:
            subprocess.run([os.path.join(HERE, "broker.sh"), "stop", s.bdir], env=s.env,
                           timeout=60, stdout=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            log("broker stop timed out")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
