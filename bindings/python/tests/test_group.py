"""A consumer group of two Python processes splits a topic's partitions:
each gets a disjoint half, and every message is read once, by the member
that owns its partition."""
import json
import os
import queue
import subprocess
import sys
import threading
import time

import samsa
from conftest import create_topic

PARTITIONS = 4
MEMBER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "group_member.py")


class Member(object):
    def __init__(self, bootstrap, group, topic):
        self.proc = subprocess.Popen([sys.executable, MEMBER, bootstrap, group, topic],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     universal_newlines=True)
        self.events = queue.Queue()
        self.owned = set()
        self.messages = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)

    def drain(self, wait=0.1):
        """Applies the events that came in; False once the process ended."""
        try:
            ev = self.events.get(timeout=wait)
        except queue.Empty:
            return True
        while True:
            if ev is None:
                return False
            if "assigned" in ev:
                self.owned = set(ev["assigned"])
            elif "revoked" in ev:
                self.owned -= set(ev["revoked"])
            elif "message" in ev:
                p, off, value = ev["message"]
                assert p in self.owned, "message of partition %d not owned %r" % (p, self.owned)
                self.messages.append((p, off, value))
            elif "error" in ev:
                raise AssertionError("member error %s" % ev["error"])
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                return True

    def stop(self):
        try:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.flush()
        except OSError:
            pass
        try:
            self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        while self.drain(0.5):
            pass


def wait_until(cond, members, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in members:
            assert m.drain(0.05), "a member exited early"
        if cond():
            return
    raise AssertionError("timed out; owned: %r" % [sorted(m.owned) for m in members])


def test_two_processes_split_partitions(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, PARTITIONS)
    group = topic_name + "-group"
    a = Member(bootstrap, group, topic_name)
    members = [a]
    try:
        wait_until(lambda: a.owned == set(range(PARTITIONS)), members)
        b = Member(bootstrap, group, topic_name)
        members.append(b)
        wait_until(lambda: len(a.owned) == PARTITIONS // 2 and len(b.owned) == PARTITIONS // 2
                   and not (a.owned & b.owned), members)

        p = samsa.Producer({"bootstrap.servers": bootstrap})
        expected = set()
        for i in range(40):
            p.produce(topic_name, b"m%d" % i, partition=i % PARTITIONS)
            expected.add((i % PARTITIONS, i // PARTITIONS, "m%d" % i))
        assert p.flush(30) == 0
        p.close()
        wait_until(lambda: len(a.messages) + len(b.messages) >= 40, members)
        assert set(a.messages) | set(b.messages) == expected
        assert len(a.messages) + len(b.messages) == 40
        assert set(p for p, _, _ in a.messages) == a.owned
        assert set(p for p, _, _ in b.messages) == b.owned
    finally:
        for m in members:
            m.stop()
    assert all(m.proc.returncode == 0 for m in members)
