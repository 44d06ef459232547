"""txn_produce.py BOOTSTRAP TOPIC: writes to partition 0 of TOPIC, with
confluent-kafka's transactional producer, in this order: "a0".."a4" in a
transaction that is aborted, "c0".."c4" in one that is committed,
"p0".."p1" without a transaction (another producer), "a5".."a6" in
another aborted transaction, and "c5" in a last committed one. The log then
ends with a COMMIT marker, after which no record follows. Prints the
values a read_committed consumer must see, one per line."""
import sys

from confluent_kafka import Producer

bootstrap, topic = sys.argv[1], sys.argv[2]
conf = {"bootstrap.servers": bootstrap, "linger.ms": 0}
txn = Producer(dict(conf, **{"transactional.id": "samsa-test-" + topic}))
plain = Producer(conf)
txn.init_transactions(30)


def send(p, values):
    for v in values:
        p.produce(topic, v.encode(), partition=0)
    p.flush(30)


def transaction(values, commit):
    txn.begin_transaction()
    send(txn, values)
    if commit:
        txn.commit_transaction(30)
    else:
        txn.abort_transaction(30)


transaction(["a%d" % i for i in range(5)], False)
transaction(["c%d" % i for i in range(5)], True)
send(plain, ["p0", "p1"])
transaction(["a5", "a6"], False)
transaction(["c5"], True)
for v in ["c0", "c1", "c2", "c3", "c4", "p0", "p1", "c5"]:
    print(v)
