// The Apache Kafka Java client driver of samsa's interoperability tests.
//
//   InteropClient produce BOOTSTRAP TOPIC N [BASE_MS]
//   InteropClient consume BOOTSTRAP TOPIC GROUP N TIMEOUT_S
//
// produce sends N records (key k-i, value v-i, header h=i, timestamp
// BASE_MS+i) with the client's default partitioner (murmur2 of the key) and
// its default settings otherwise: idempotence on, acks=all. consume joins
// GROUP (classic protocol), prints every record as one JSON line, commits
// each one synchronously after printing it, and closes (leaving the group)
// after N records; it exits 1 when TIMEOUT_S passes first.

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class InteropClient {
    private static final long DEFAULT_BASE = 1700000000000L;

    private InteropClient() {}

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void produce(String bootstrap, String topic, int n, long base) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("client.id", "interop-java-producer");
        p.put("linger.ms", "5");
        p.put("delivery.timeout.ms", "60000");
        p.put("key.serializer", ByteArraySerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                List<Header> headers = new ArrayList<>();
                headers.add(new RecordHeader("h", utf8(Integer.toString(i))));
                acks.add(producer.send(new ProducerRecord<>(topic, null, base + i,
                        utf8("k-" + i), utf8("v-" + i), headers)));
            }
            producer.flush();
            for (Future<RecordMetadata> f : acks) f.get(60, TimeUnit.SECONDS);
        }
    }

    private static void quote(StringBuilder sb, byte[] b) {
        if (b == null) {
            sb.append("null");
            return;
        }
        sb.append('"');
        for (char c : new String(b, StandardCharsets.UTF_8).toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        sb.append('"');
    }

    private static String json(ConsumerRecord<byte[], byte[]> r) {
        StringBuilder sb = new StringBuilder();
        sb.append("{\"partition\":").append(r.partition());
        sb.append(",\"offset\":").append(r.offset());
        sb.append(",\"key\":");
        quote(sb, r.key());
        sb.append(",\"value\":");
        quote(sb, r.value());
        sb.append(",\"headers\":[");
        boolean first = true;
        for (Header h : r.headers()) {
            if (!first) sb.append(',');
            first = false;
            sb.append('[');
            quote(sb, utf8(h.key()));
            sb.append(',');
            quote(sb, h.value());
            sb.append(']');
        }
        sb.append("],\"timestamp\":").append(r.timestamp()).append('}');
        return sb.toString();
    }

    private static int consume(String bootstrap, String topic, String group, int n, int timeoutS) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("client.id", "interop-java-consumer");
        p.put("group.id", group);
        p.put("enable.auto.commit", "false");
        p.put("auto.offset.reset", "earliest");
        p.put("max.poll.records", Integer.toString(n));
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);
        int got = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            consumer.subscribe(Collections.singletonList(topic));
            while (got < n) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    System.err.println("java driver: timeout after " + got + " of " + n + " records");
                    return 1;
                }
                for (ConsumerRecord<byte[], byte[]> r :
                        consumer.poll(Duration.ofNanos(Math.min(left, TimeUnit.SECONDS.toNanos(1))))) {
                    if (got >= n) break;
                    System.out.println(json(r));
                    System.out.flush();
                    consumer.commitSync(Collections.singletonMap(
                            new TopicPartition(r.topic(), r.partition()),
                            new OffsetAndMetadata(r.offset() + 1)), Duration.ofSeconds(30));
                    got++;
                }
            }
        }
        return 0;
    }

    public static void main(String[] a) throws Exception {
        int rc;
        if ((a.length == 4 || a.length == 5) && a[0].equals("produce")) {
            produce(a[1], a[2], Integer.parseInt(a[3]),
                    a.length == 5 ? Long.parseLong(a[4]) : DEFAULT_BASE);
            rc = 0;
        } else if (a.length == 6 && a[0].equals("consume")) {
            rc = consume(a[1], a[2], a[3], Integer.parseInt(a[4]), Integer.parseInt(a[5]));
        } else {
            System.err.println("usage: InteropClient produce BOOTSTRAP TOPIC N [BASE_MS]"
                    + " | consume BOOTSTRAP TOPIC GROUP N TIMEOUT_S");
            rc = 2;
        }
        System.exit(rc);
    }
}
