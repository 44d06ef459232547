// Drives the Apache Kafka Java client for tests/tools/capture-golden.sh.
//
//   GoldenClient create  BOOTSTRAP TOPIC...
//   GoldenClient produce BOOTSTRAP TOPIC CODEC SPEC
//   GoldenClient consume BOOTSTRAP TOPIC GROUP PROTOCOL COUNT
//
// SPEC is a records file in the tests/data/batches/*.txt format
// (offset_delta, timestamp_ms, key hex or '-', value hex or '-',
// headers name=hex,...); its records are sent to partition 0 of TOPIC as
// one batch (long linger, then flush).  PROTOCOL is classic or consumer
// (the KIP-848 group protocol).  Everything is bounded in time.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class GoldenClient {
    private GoldenClient() {}

    static byte[] unhex(String s) {
        if (s.equals("-")) return null;
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++)
            b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        return b;
    }

    static void create(String bootstrap, List<String> topics) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("client.id", "golden-java-admin");
        try (Admin admin = Admin.create(p)) {
            List<NewTopic> nt = new ArrayList<>();
            for (String t : topics) nt.add(new NewTopic(t, 1, (short) 1));
            admin.createTopics(nt).all().get(60, TimeUnit.SECONDS);
        }
    }

    static void produce(String bootstrap, String topic, String codec, String spec)
            throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("client.id", "golden-java");
        p.put("compression.type", codec);
        p.put("linger.ms", "10000");
        p.put("acks", "all");
        p.put("key.serializer", ByteArraySerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (String line : Files.readAllLines(Paths.get(spec), StandardCharsets.UTF_8)) {
                if (line.isEmpty()) continue;
                String[] f = line.split("\t", -1);
                List<Header> headers = new ArrayList<>();
                if (!f[4].isEmpty()) {
                    for (String h : f[4].split(",")) {
                        int eq = h.indexOf('=');
                        headers.add(new RecordHeader(h.substring(0, eq), unhex(h.substring(eq + 1))));
                    }
                }
                producer.send(new ProducerRecord<>(topic, 0, Long.parseLong(f[1]),
                        unhex(f[2]), unhex(f[3]), headers));
            }
            producer.flush();
        }
    }

    static void consume(String bootstrap, String topic, String group, String protocol,
                        int count) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("client.id", "golden-java-" + protocol);
        p.put("group.id", group);
        p.put("group.protocol", protocol);
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            consumer.subscribe(Collections.singletonList(topic));
            int seen = 0;
            long deadline = System.currentTimeMillis() + 60_000;
            while (seen < count && System.currentTimeMillis() < deadline) {
                ConsumerRecords<byte[], byte[]> recs = consumer.poll(Duration.ofMillis(500));
                seen += recs.count();
            }
            if (seen < count)
                throw new IllegalStateException("consumed " + seen + " of " + count);
            consumer.commitSync(Duration.ofSeconds(30));
        }
    }

    public static void main(String[] args) throws Exception {
        switch (args.length > 0 ? args[0] : "") {
            case "create":
                create(args[1], List.of(args).subList(2, args.length));
                break;
            case "produce":
                produce(args[1], args[2], args[3], args[4]);
                break;
            case "consume":
                consume(args[1], args[2], args[3], args[4], Integer.parseInt(args[5]));
                break;
            default:
                System.err.println("usage: GoldenClient create|produce|consume ...");
                System.exit(2);
        }
    }
}
