// The kafkajs driver of samsa's interoperability tests.
//
//   node driver.js produce BOOTSTRAP TOPIC N [BASE_MS]
//   node driver.js consume BOOTSTRAP TOPIC GROUP N TIMEOUT_S
//
// produce sends N messages (key k-i, value v-i, header h=i, timestamp
// BASE_MS+i) with kafkajs' default partitioner (murmur2, as Java's) from an
// idempotent producer (acks=all, one request in flight). consume joins
// GROUP, prints every message as one JSON line, commits each one after
// printing it and leaves the group after N messages; it exits 1 when
// TIMEOUT_S passes first. kafkajs' own log goes to stderr.
'use strict';

const { Kafka, Partitioners, logLevel } = require('kafkajs');

const DEFAULT_BASE = 1700000000000n;

function die(msg) {
  process.stderr.write(`kafkajs driver: ${msg}\n`);
  process.exit(1);
}

function client(bootstrap, id) {
  return new Kafka({
    clientId: id,
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log }) => {
      process.stderr.write(`kafkajs ${namespace} ${level}: ${log.message}\n`);
    },
  });
}

async function produce(bootstrap, topic, n, base) {
  const producer = client(bootstrap, 'interop-kafkajs-producer').producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const messages = [];
  for (let i = 0; i < n; i++) {
    messages.push({
      key: `k-${i}`,
      value: `v-${i}`,
      headers: { h: String(i) },
      timestamp: (base + BigInt(i)).toString(),
    });
  }
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
}

async function consume(bootstrap, topic, group, n, timeoutS) {
  const consumer = client(bootstrap, 'interop-kafkajs-consumer').consumer({ groupId: group });
  const timer = setTimeout(() => die(`timeout after ${got} of ${n} messages`), timeoutS * 1000);
  let got = 0;
  let finished;
  const done = new Promise((resolve) => { finished = resolve; });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      if (got >= n) return;
      const headers = [];
      for (const [name, value] of Object.entries(message.headers || {})) {
        headers.push([name, value === null ? null : value.toString()]);
      }
      process.stdout.write(JSON.stringify({
        partition,
        offset: Number(message.offset),
        key: message.key === null ? null : message.key.toString(),
        value: message.value === null ? null : message.value.toString(),
        headers,
        timestamp: Number(message.timestamp),
      }) + '\n');
      await consumer.commitOffsets([
        { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
      ]);
      got++;
      if (got === n) finished();
    },
  });
  await done;
  await consumer.disconnect();
  clearTimeout(timer);
}

async function main() {
  const a = process.argv.slice(2);
  if ((a.length === 4 || a.length === 5) && a[0] === 'produce') {
    await produce(a[1], a[2], Number(a[3]), a.length === 5 ? BigInt(a[4]) : DEFAULT_BASE);
  } else if (a.length === 6 && a[0] === 'consume') {
    await consume(a[1], a[2], a[3], Number(a[4]), Number(a[5]));
  } else {
    die('usage: driver.js produce BOOTSTRAP TOPIC N [BASE_MS] | consume BOOTSTRAP TOPIC GROUP N TIMEOUT_S');
  }
}

main().then(() => process.exit(0), (err) => die(err && err.stack ? err.stack : String(err)));
