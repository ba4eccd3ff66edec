package org.ferromq.grpc;

import static org.ferromq.grpc.Grpc.OUT;
import static org.ferromq.grpc.Grpc.check;
import static org.ferromq.grpc.Grpc.checkDeadline;
import static org.ferromq.grpc.Grpc.progress;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;

/**
 * Single-purpose gRPC programs for the interop, crash and throughput tests:
 *
 * <pre>
 * GrpcTools send &lt;endpoint&gt; &lt;topic&gt; &lt;n&gt;
 * GrpcTools receive-store &lt;endpoint&gt; &lt;topic&gt; &lt;group&gt; &lt;n&gt;
 * GrpcTools crash-ack-half &lt;endpoint&gt; &lt;topic&gt; &lt;group&gt; &lt;n&gt; &lt;invisibleSeconds&gt;
 * GrpcTools crash-drain &lt;endpoint&gt; &lt;topic&gt; &lt;group&gt; &lt;n&gt; &lt;quietSeconds&gt;
 * GrpcTools send-keyed | receive-keyed ... (see {@link ClusterTools})
 * GrpcTools bench-send &lt;endpoint&gt; &lt;topic&gt; &lt;seconds&gt; &lt;bodySize&gt; &lt;inflight&gt;
 * GrpcTools bench-drain &lt;endpoint&gt; &lt;topic&gt; &lt;group&gt; &lt;count&gt;
 * GrpcTools bench &lt;endpoint&gt; &lt;topic&gt; &lt;group&gt; &lt;seconds&gt; &lt;bodySize&gt; &lt;inflight&gt;
 * GrpcTools push-hold &lt;endpoint&gt; &lt;topic&gt; &lt;group&gt; &lt;seconds&gt;
 * </pre>
 *
 * <p>{@code push-hold}: a push consumer that prints {@code READY} once started and
 * {@code CONSUMED <body>} for each message its listener gets (consumed successfully), and stays
 * up for the given seconds (for the operator commands of compat_grpc_admin).
 *
 * <p>{@code send}: n messages as {@link GrpcScenarios#message} makes them (key
 * {@code <topic>-i}, tag TagA, property idx, a UTF-8 body); {@code OK: send: sent n}.
 * {@code receive-store}: a simple consumer receives and acks the n messages the remoting program
 * {@code StoreProduce} sent (the same deterministic content, checked byte for byte);
 * {@code OK: receive-store: received n}. {@code crash-ack-half}: sends n, receives all of them
 * and acks the even ones (waiting for each ack), prints {@code OK: crash-ack-half: received n
 * acked n/2}. {@code crash-drain} (after the broker was killed and restarted): receives and acks
 * until every odd one came back, then for quietSeconds more; an even (acked) one fails the run;
 * {@code OK: crash-drain: redelivered n/2 acked-again 0}. {@code bench}: async sends with a
 * window of {@code inflight} for the given seconds, then a simple consumer receives and acks
 * the backlog; {@code RESULT name=value ...} with both rates.
 */
public final class GrpcTools {
    private GrpcTools() {}

    public static void main(String[] args) {
        int code = 0;
        try {
            String summary = switch (args[0]) {
                case "send" -> send(args[1], args[2], Integer.parseInt(args[3]));
                case "receive-store" -> receiveStore(args[1], args[2], args[3], Integer.parseInt(args[4]));
                case "crash-ack-half" -> crashAckHalf(args[1], args[2], args[3], Integer.parseInt(args[4]),
                    Integer.parseInt(args[5]));
                case "crash-drain" -> crashDrain(args[1], args[2], args[3], Integer.parseInt(args[4]),
                    Integer.parseInt(args[5]));
                case "send-keyed" -> ClusterTools.sendKeyed(args[1], args[2], Integer.parseInt(args[3]),
                    Integer.parseInt(args[4]));
                case "receive-keyed" -> ClusterTools.receiveKeyed(args[1], args[2], args[3],
                    Integer.parseInt(args[4]), Integer.parseInt(args[5]),
                    args.length > 6 && args[6].equals("allow-duplicates"));
                case "bench-send" -> "sent " + GrpcBench.send(args[1], args[2], Integer.parseInt(args[3]),
                    Integer.parseInt(args[4]), Integer.parseInt(args[5]));
                case "bench-drain" -> GrpcBench.drain(args[1], args[2], args[3], Long.parseLong(args[4]));
                case "bench" -> GrpcBench.run(args[1], args[2], args[3], Integer.parseInt(args[4]),
                    Integer.parseInt(args[5]), Integer.parseInt(args[6]));
                case "acl" -> GrpcAcl.run(args[1], args[2], args[3], Integer.parseInt(args[4]),
                    args[5], args[6], args[7]);
                case "push-hold" -> pushHold(args[1], args[2], args[3], Integer.parseInt(args[4]));
                default -> throw new IllegalArgumentException("unknown mode " + args[0]);
            };
            OUT.println("OK: " + args[0] + ": " + summary);
        } catch (Throwable t) {
            OUT.println("FAIL: " + Arrays.toString(args) + ": " + t);
            t.printStackTrace(OUT);
            code = 1;
        }
        System.exit(code);
    }

    static String send(String endpoint, String topic, int n) throws Exception {
        try (Producer producer = Grpc.producer(endpoint, topic, null)) {
            for (int i = 0; i < n; i++) {
                producer.send(GrpcScenarios.message(topic, i));
            }
        }
        return "sent " + n;
    }

    static String receiveStore(String endpoint, String topic, String group, int n) throws Exception {
        Set<Integer> seen = new HashSet<>();
        try (SimpleConsumer consumer = Grpc.simpleConsumer(endpoint, group, topic)) {
            while (seen.size() < n) {
                checkDeadline(n + " StoreProduce messages (have " + seen.size() + ")");
                for (MessageView view : consumer.receive(16, GrpcScenarios.LONG_INVISIBLE)) {
                    int i = Integer.parseInt(view.getProperties().get("idx"));
                    check(Arrays.equals(Grpc.bytes(view), StoreContent.body(i)), "body of idx " + i);
                    check(view.getTag().orElse("").equals(StoreContent.tag(i)), "tag of idx " + i + ": " + view.getTag());
                    check(new HashSet<>(view.getKeys()).equals(new HashSet<>(StoreContent.keys(i))),
                        "keys of idx " + i + ": " + view.getKeys());
                    check(StoreContent.note(i).equals(view.getProperties().get("note")),
                        "note of idx " + i + ": " + view.getProperties().get("note"));
                    check(seen.add(i), "idx " + i + " twice");
                    consumer.ack(view);
                }
            }
        }
        return "received " + seen.size();
    }

    static String crashAckHalf(String endpoint, String topic, String group, int n, int invisibleSeconds)
        throws Exception {
        try (Producer producer = Grpc.producer(endpoint, topic, null)) {
            List<CompletableFuture<?>> window = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                window.add(producer.sendAsync(GrpcScenarios.message(topic, i)));
                if (window.size() == 256) {
                    CompletableFuture.allOf(window.toArray(new CompletableFuture[0])).join();
                    window.clear();
                }
            }
            CompletableFuture.allOf(window.toArray(new CompletableFuture[0])).join();
        }
        progress("sent " + n);
        Set<Integer> seen = new HashSet<>();
        int acked = 0;
        try (SimpleConsumer consumer = Grpc.simpleConsumer(endpoint, group, topic)) {
            while (seen.size() < n) {
                checkDeadline(n + " messages (have " + seen.size() + ")");
                for (MessageView view : consumer.receive(32, Duration.ofSeconds(invisibleSeconds))) {
                    int i = GrpcScenarios.verify(topic, view);
                    if (seen.add(i) && i % 2 == 0) {
                        consumer.ack(view);
                        acked++;
                    }
                }
            }
        }
        return "received " + seen.size() + " acked " + acked;
    }

    static String crashDrain(String endpoint, String topic, String group, int n, int quietSeconds)
        throws Exception {
        Set<Integer> again = new HashSet<>();
        int odd = n / 2;
        try (SimpleConsumer consumer = Grpc.simpleConsumer(endpoint, group, topic)) {
            long quietUntil = Long.MAX_VALUE;
            while (again.size() < odd || System.currentTimeMillis() < quietUntil) {
                checkDeadline(odd + " unacked messages again (have " + again.size() + ")");
                for (MessageView view : consumer.receive(32, GrpcScenarios.LONG_INVISIBLE)) {
                    int i = GrpcScenarios.verify(topic, view);
                    check(i % 2 == 1, "acked idx " + i + " delivered again after the restart");
                    check(again.add(i), "idx " + i + " twice after the restart");
                    consumer.ack(view);
                }
                if (again.size() == odd && quietUntil == Long.MAX_VALUE) {
                    progress("all " + odd + " unacked ones back; watching " + quietSeconds + " s more");
                    quietUntil = System.currentTimeMillis() + quietSeconds * 1000L;
                }
            }
        }
        return "redelivered " + again.size() + " acked-again 0";
    }

    /** The same bytes {@code StoreData} (tests/compat/java) gives StoreProduce; keep in step. */
    static final class StoreContent {
        private StoreContent() {}

        static int bodySize(int i) {
            return switch (i % 16) {
                case 15 -> 150_000 + (i * 131) % 10_000;
                case 7 -> 20_000 + (i * 71) % 5_000;
                default -> 16 + (i * 977) % 2_000;
            };
        }

        static byte[] body(int i) {
            byte[] out = new byte[bodySize(i)];
            int x = 0x9E3779B9 ^ (i * 0x85EBCA6B);
            if (x == 0) {
                x = 1;
            }
            for (int j = 0; j < out.length; j++) {
                x ^= x << 13;
                x ^= x >>> 17;
                x ^= x << 5;
                out[j] = (byte) x;
            }
            return out;
        }

        static String tag(int i) {
            return new String[] {"TagA", "TagB", "TagC"}[i % 3];
        }

        static List<String> keys(int i) {
            return List.of("SK-" + i, "SKG-" + (i % 5));
        }

        static String note(int i) {
            return "n\u00fc\u20ac\u4e2d-" + i;
        }
    }

    private static String pushHold(String endpoint, String topic, String group, int seconds) throws Exception {
        java.util.concurrent.atomic.AtomicInteger consumed = new java.util.concurrent.atomic.AtomicInteger();
        try (org.apache.rocketmq.client.apis.consumer.PushConsumer consumer = Grpc.PROVIDER.newPushConsumerBuilder()
            .setClientConfiguration(Grpc.config(endpoint))
            .setConsumerGroup(group)
            .setSubscriptionExpressions(java.util.Map.of(topic,
                new org.apache.rocketmq.client.apis.consumer.FilterExpression("*",
                    org.apache.rocketmq.client.apis.consumer.FilterExpressionType.TAG)))
            .setMessageListener(view -> {
                OUT.println("CONSUMED " + java.nio.charset.StandardCharsets.UTF_8.decode(view.getBody()));
                OUT.flush();
                consumed.incrementAndGet();
                return org.apache.rocketmq.client.apis.consumer.ConsumeResult.SUCCESS;
            })
            .build()) {
            OUT.println("READY");
            OUT.flush();
            Thread.sleep(seconds * 1000L);
        }
        return "consumed " + consumed.get();
    }
}
