package org.ferromq.compat;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * The official Java client through a broker failure (the HA failover tests):
 *
 * <pre>HaFailover produce &lt;namesrv&gt; &lt;topic&gt; &lt;seconds&gt; &lt;ackFile&gt; [threads]
 * HaFailover consume &lt;namesrv&gt; &lt;topic&gt; &lt;group&gt; &lt;ackFile&gt;</pre>
 *
 * <p>{@code produce}: {@code threads} (default 4) threads send sync messages with a unique key
 * each for {@code seconds}, through whatever brokers the route offers (latency fault tolerance
 * on, 2 retries, route polled every second). Every key acknowledged with SEND_OK is appended to
 * {@code ackFile} (one per line, flushed at once, so the file is right even if the program is
 * killed). Other outcomes (exceptions, FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE, ...) are
 * counted as failures; the message may still be stored. Prints a progress line every second,
 * then {@code acked by broker name: {broker-a=N, ...}}, {@code failures by kind: {...}} and
 * {@code RESULT acked=N failed=N seconds=S}; exit 0 unless the program itself breaks.
 *
 * <p>{@code consume}: a clustering push consumer of {@code group} (from the first offset) on
 * {@code topic} until every key of {@code ackFile} was received or the deadline
 * (-Dcompat.timeoutMs). Prints {@code RESULT acked=N received=N missing=N duplicates=N extra=N}
 * ({@code received}: distinct acknowledged keys; {@code duplicates}: deliveries beyond the first
 * of a key; {@code extra}: distinct keys not in the file, i.e. failed sends that were stored).
 * Also prints {@code deliveries by broker name: {broker-a=N, ...}}. Exit 1 with the first missing
 * keys if any acknowledged key was not received.
 */
public final class HaFailover {
    private HaFailover() {}

    public static void main(String[] args) {
        int code;
        try {
            if (args.length >= 5 && args[0].equals("produce")) {
                int threads = args.length > 5 ? Integer.parseInt(args[5]) : 4;
                code = produce(args[1], args[2], Integer.parseInt(args[3]), Paths.get(args[4]), threads);
            } else if (args.length == 5 && args[0].equals("consume")) {
                code = consume(args[1], args[2], args[3], Paths.get(args[4]));
            } else {
                System.err.println("usage: HaFailover produce <namesrv> <topic> <seconds> <ackFile> [threads]\n"
                    + "       HaFailover consume <namesrv> <topic> <group> <ackFile>");
                code = 2;
            }
        } catch (Throwable t) {
            System.err.println("FAIL: " + t);
            t.printStackTrace();
            code = 1;
        }
        // Client threads are not all daemons; exit explicitly.
        System.exit(code);
    }

    private static int produce(String namesrv, String topic, int seconds, Path ackFile, int threads)
        throws Exception {
        String run = Long.toHexString(System.nanoTime());
        DefaultMQProducer producer = KeyedSends.producer(namesrv, "ha_pg_" + run, "ha-producer-" + run);
        KeyedSends sends = new KeyedSends();
        Map<String, AtomicInteger> ackedBy = new ConcurrentHashMap<>();
        long start = System.currentTimeMillis();
        long end = start + seconds * 1000L;
        try (BufferedWriter out = Files.newBufferedWriter(ackFile, StandardCharsets.UTF_8)) {
            sends.run(producer, topic, "TagHA", "HA-" + run, threads, () -> System.currentTimeMillis() < end,
                (key, r) -> {
                    synchronized (out) {
                        out.write(key);
                        out.newLine();
                        out.flush();
                    }
                    ackedBy.computeIfAbsent(r.getMessageQueue().getBrokerName(), k -> new AtomicInteger())
                        .incrementAndGet();
                },
                r -> r.getSendStatus() + "@" + r.getMessageQueue().getBrokerName());
        } finally {
            producer.shutdown();
        }
        System.out.println("acked by broker name: " + new java.util.TreeMap<>(ackedBy));
        System.out.println("failures by kind: " + sends.failures);
        System.out.printf("RESULT acked=%d failed=%d seconds=%.1f%n", sends.acked.get(), sends.failed.get(),
            (System.currentTimeMillis() - start) / 1000.0);
        return 0;
    }

    private static int consume(String namesrv, String topic, String group, Path ackFile) throws Exception {
        long deadline = Support.deadline();
        Set<String> expected = new HashSet<>();
        for (String line : Files.readAllLines(ackFile, StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                expected.add(line.trim());
            }
        }
        Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
        Map<String, AtomicInteger> byBroker = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = Support.pushConsumer(namesrv, group, "ha-consumer-" + group);
        consumer.setPollNameServerInterval(1000);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setPullBatchSize(32);
        consumer.setConsumeMessageBatchMaxSize(16);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                deliveries.computeIfAbsent(m.getKeys(), k -> new AtomicInteger()).incrementAndGet();
                byBroker.computeIfAbsent(context.getMessageQueue().getBrokerName(), k -> new AtomicInteger())
                    .incrementAndGet();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        long lastLog = 0;
        try {
            while (System.currentTimeMillis() < deadline) {
                long have = expected.stream().filter(deliveries::containsKey).count();
                if (have == expected.size()) {
                    break;
                }
                if (System.currentTimeMillis() - lastLog >= 2000) {
                    Support.log("received " + have + " of " + expected.size() + "; pulling "
                        + consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().keySet());
                    lastLog = System.currentTimeMillis();
                }
                TimeUnit.MILLISECONDS.sleep(50); // polling a condition, bounded by the deadline
            }
            if (expected.stream().anyMatch(k -> !deliveries.containsKey(k))) {
                // What the client saw, for the failure report.
                var impl = consumer.getDefaultMQPushConsumerImpl();
                System.out.println("subscribed queues: " + impl.getRebalanceImpl().getTopicSubscribeInfoTable().get(topic));
                try {
                    System.out.println("consumer ids: " + impl.getmQClientFactory().findConsumerIdList(topic, group));
                } catch (Exception e) {
                    System.out.println("consumer ids: " + e);
                }
            }
        } finally {
            consumer.shutdown();
        }
        TreeSet<String> missing = new TreeSet<>(expected);
        missing.removeAll(deliveries.keySet());
        long duplicates = deliveries.values().stream().mapToLong(c -> c.get() - 1).sum();
        long extra = deliveries.keySet().stream().filter(k -> !expected.contains(k)).count();
        System.out.println("deliveries by broker name: " + byBroker);
        System.out.printf("RESULT acked=%d received=%d missing=%d duplicates=%d extra=%d%n", expected.size(),
            expected.size() - missing.size(), missing.size(), duplicates, extra);
        if (!missing.isEmpty()) {
            List<String> first = new ArrayList<>(missing).subList(0, Math.min(20, missing.size()));
            System.err.println("FAIL: " + missing.size() + " acknowledged key(s) never delivered, e.g. " + first);
            return 1;
        }
        System.out.println("OK: every acknowledged key received");
        return 0;
    }
}
