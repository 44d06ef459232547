#!/usr/bin/env python3
"""Logging TCP proxy for the Kafka protocol (stdlib only).

    kproxy.py --upstream HOST:PORT --out DIR [--listen PORT] [--port-file F]
              [--max-seconds N]

Listens on 127.0.0.1 (PORT, or a free port when 0), and for each client
connection opens one connection to the upstream broker and copies bytes
both ways unchanged.  On the way it splits each direction into Kafka
frames (int32 size + body) and writes every frame body, without the size
prefix, to DIR:

    NNNN-<ApiName>-v<version>-request.bin
    NNNN-<ApiName>-v<version>-response.bin

NNNN is one sequence shared by all connections, in the order frames were
complete.  A request's api_key / api_version / correlation_id come from
its header; a response is matched to its request by correlation id on the
same connection (the response header holds only that id), and is named
after it.  DIR/index.tsv gets one line per frame:

    seq  conn  dir  api_key  api_name  version  correlation_id  size  ref

(ref: for a response, the seq of its request).  A response whose request
was not seen is written as NNNN-Unknown-v0-response.bin.

Brokers tell clients where to connect next (Metadata, FindCoordinator).
The proxy rewrites nothing, so the broker itself must advertise the
proxy's address: kafka.sh with KAFKA_PROXY_PORT=<proxy port> adds a
listener that does exactly that, and this proxy forwards to it.  Pick the
port first (--listen), start the broker, then start the proxy.

The proxy exits after --max-seconds (default 1800) or on SIGTERM/SIGINT.
"""
import argparse
import os
import signal
import socket
import struct
import sys
import threading
import time

# Kafka API keys and their names (the public protocol numbering).
API_NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata",
    4: "LeaderAndIsr", 5: "StopReplica", 6: "UpdateMetadata",
    7: "ControlledShutdown", 8: "OffsetCommit", 9: "OffsetFetch",
    10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat",
    13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups",
    16: "ListGroups", 17: "SaslHandshake", 18: "ApiVersions",
    19: "CreateTopics", 20: "DeleteTopics", 21: "DeleteRecords",
    22: "InitProducerId", 23: "OffsetForLeaderEpoch",
    24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn", 26: "EndTxn",
    27: "WriteTxnMarkers", 28: "TxnOffsetCommit", 29: "DescribeAcls",
    30: "CreateAcls", 31: "DeleteAcls", 32: "DescribeConfigs",
    33: "AlterConfigs", 34: "AlterReplicaLogDirs", 35: "DescribeLogDirs",
    36: "SaslAuthenticate", 37: "CreatePartitions",
    38: "CreateDelegationToken", 39: "RenewDelegationToken",
    40: "ExpireDelegationToken", 41: "DescribeDelegationToken",
    42: "DeleteGroups", 43: "ElectLeaders", 44: "IncrementalAlterConfigs",
    45: "AlterPartitionReassignments", 46: "ListPartitionReassignments",
    47: "OffsetDelete", 48: "DescribeClientQuotas",
    49: "AlterClientQuotas", 50: "DescribeUserScramCredentials",
    51: "AlterUserScramCredentials", 52: "Vote", 53: "BeginQuorumEpoch",
    54: "EndQuorumEpoch", 55: "DescribeQuorum", 56: "AlterPartition",
    57: "UpdateFeatures", 58: "Envelope", 59: "FetchSnapshot",
    60: "DescribeCluster", 61: "DescribeProducers",
    62: "BrokerRegistration", 63: "BrokerHeartbeat",
    64: "UnregisterBroker", 65: "DescribeTransactions",
    66: "ListTransactions", 67: "AllocateProducerIds",
    68: "ConsumerGroupHeartbeat", 69: "ConsumerGroupDescribe",
    70: "ControllerRegistration", 71: "GetTelemetrySubscriptions",
    72: "PushTelemetry", 73: "AssignReplicasToDirs",
    74: "ListClientMetricsResources", 75: "DescribeTopicPartitions",
    76: "ShareGroupHeartbeat", 77: "ShareGroupDescribe", 78: "ShareFetch",
    79: "ShareAcknowledge", 80: "AddRaftVoter", 81: "RemoveRaftVoter",
    82: "UpdateRaftVoter", 83: "InitializeShareGroupState",
    84: "ReadShareGroupState", 85: "WriteShareGroupState",
    86: "DeleteShareGroupState", 87: "ReadShareGroupStateSummary",
    88: "StreamsGroupHeartbeat", 89: "StreamsGroupDescribe",
    90: "DescribeShareGroupOffsets", 91: "AlterShareGroupOffsets",
    92: "DeleteShareGroupOffsets",
}

MAX_FRAME = 256 << 20


def api_name(key):
    return API_NAMES.get(key, "Api%d" % key)


class Recorder:
    """Numbers frames, writes them to the output directory, keeps the index."""

    def __init__(self, out):
        self.out = out
        os.makedirs(out, exist_ok=True)
        self.lock = threading.Lock()
        self.seq = 0
        self.index = open(os.path.join(out, "index.tsv"), "a", buffering=1)

    def write(self, conn, direction, key, name, version, corr, body, ref=""):
        with self.lock:
            if self.index.closed:
                return 0
            self.seq += 1
            seq = self.seq
            fname = "%04d-%s-v%d-%s.bin" % (seq, name, version, direction)
            with open(os.path.join(self.out, fname), "wb") as f:
                f.write(body)
            self.index.write("%d\t%d\t%s\t%d\t%s\t%d\t%d\t%d\t%s\n" % (
                seq, conn, direction, key, name, version, corr, len(body), ref))
        return seq


class Connection:
    def __init__(self, cid, client, upstream, rec):
        self.cid = cid
        self.client = client
        self.upstream = upstream
        self.rec = rec
        self.pending = {}  # correlation id -> (api_key, version, request seq)
        self.lock = threading.Lock()

    def on_request(self, body):
        if len(body) < 8:
            print("kproxy: conn %d: short request header" % self.cid,
                  file=sys.stderr)
            return
        key, version, corr = struct.unpack_from(">hhi", body, 0)
        seq = self.rec.write(self.cid, "request", key, api_name(key),
                             version, corr, body)
        with self.lock:
            self.pending[corr] = (key, version, seq)

    def on_response(self, body):
        if len(body) < 4:
            print("kproxy: conn %d: short response header" % self.cid,
                  file=sys.stderr)
            return
        (corr,) = struct.unpack_from(">i", body, 0)
        with self.lock:
            req = self.pending.pop(corr, None)
        if req is None:
            self.rec.write(self.cid, "response", -1, "Unknown", 0, corr, body)
        else:
            key, version, seq = req
            self.rec.write(self.cid, "response", key, api_name(key),
                           version, corr, body, str(seq))

    def pump(self, src, dst, on_frame):
        buf = bytearray()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                buf += data
                # Record complete frames before forwarding the bytes that
                # complete them: a response cannot overtake its request.
                while len(buf) >= 4:
                    (size,) = struct.unpack_from(">i", buf, 0)
                    if size < 0 or size > MAX_FRAME:
                        raise ValueError("bad frame size %d" % size)
                    if len(buf) < 4 + size:
                        break
                    on_frame(bytes(buf[4:4 + size]))
                    del buf[:4 + size]
                dst.sendall(data)
        except (OSError, ValueError) as e:
            print("kproxy: conn %d: %s" % (self.cid, e), file=sys.stderr)
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def run(self):
        t = threading.Thread(target=self.pump,
                             args=(self.upstream, self.client, self.on_response),
                             daemon=True)
        t.start()
        self.pump(self.client, self.upstream, self.on_request)
        t.join()
        self.client.close()
        self.upstream.close()


def main():
    ap = argparse.ArgumentParser(
        description="Kafka logging proxy",
        epilog="See the module docstring for the output format.")
    ap.add_argument("--upstream", required=True, help="broker HOST:PORT")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--listen", type=int, default=0,
                    help="loopback port to listen on (0: pick a free one)")
    ap.add_argument("--port-file", help="write the listening port here")
    ap.add_argument("--max-seconds", type=float, default=1800,
                    help="exit after this long (default 1800)")
    a = ap.parse_args()

    uhost, _, uport = a.upstream.rpartition(":")
    uport = int(uport)
    rec = Recorder(a.out)

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.listen))
    srv.listen(64)
    port = srv.getsockname()[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, a.port_file)
    print("kproxy: 127.0.0.1:%d -> %s, writing to %s" % (port, a.upstream, a.out),
          file=sys.stderr, flush=True)

    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    deadline = time.monotonic() + a.max_seconds
    srv.settimeout(0.5)
    cid = 0
    try:
        while time.monotonic() < deadline:
            try:
                client, _ = srv.accept()
            except socket.timeout:
                continue
            client.settimeout(None)
            try:
                upstream = socket.create_connection((uhost, uport), timeout=10)
                upstream.settimeout(None)
            except OSError as e:
                print("kproxy: upstream %s: %s" % (a.upstream, e), file=sys.stderr)
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            cid += 1
            conn = Connection(cid, client, upstream, rec)
            threading.Thread(target=conn.run, daemon=True).start()
        print("kproxy: time limit reached", file=sys.stderr)
    finally:
        srv.close()
        with rec.lock:
            rec.index.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
