package org.ferromq.grpc;

import static org.ferromq.grpc.Grpc.check;
import static org.ferromq.grpc.Grpc.checkDeadline;
import static org.ferromq.grpc.Grpc.progress;
import static org.ferromq.grpc.GrpcScenarios.LONG_INVISIBLE;
import static org.ferromq.grpc.GrpcScenarios.message;
import static org.ferromq.grpc.GrpcScenarios.verify;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;

/** The consumer scenarios of {@link GrpcScenarios}: invisibility, redelivery, DLQ, push. */
final class ConsumerScenarios {
    private ConsumerScenarios() {}

    /**
     * Invisible duration for receives that wait for a redelivery: the shortest Apache's proxy
     * accepts by default ({@code minInvisibleTimeMillsForRecv}, 10 s).
     */
    static final Duration SHORT_INVISIBLE = Duration.ofSeconds(10);

    /** What change-invisible shortens idx 0 to (ChangeInvisibleDuration has no minimum). */
    static final Duration CHANGED_INVISIBLE = Duration.ofSeconds(2);

    static void sendN(String endpoint, String topic, int n) throws Exception {
        List<Message> messages = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            messages.add(message(topic, i));
        }
        try (Producer producer = Grpc.producer(endpoint, topic, null)) {
            GrpcScenarios.sendAll(producer, messages);
        }
    }

    /**
     * Every message is received with a 30 s invisible duration; idx 0's is changed to 2 s and it
     * is not acked: it comes back (attempt 2) long before 30 s. All others are acked at once and
     * never come back.
     */
    static String changeInvisible(String endpoint, String topic, String group, int n) throws Exception {
        sendN(endpoint, topic, n);
        Set<Integer> seen = new HashSet<>();
        long changedAt = 0;
        int redelivered = 0;
        try (SimpleConsumer consumer = Grpc.simpleConsumer(endpoint, group, topic)) {
            while (seen.size() < n || redelivered == 0) {
                checkDeadline("all " + n + " and idx 0 again (have " + seen.size() + ")");
                for (MessageView view : consumer.receive(16, LONG_INVISIBLE)) {
                    int i = verify(topic, view);
                    if (seen.add(i)) {
                        check(view.getDeliveryAttempt() == 1, "idx " + i + " first attempt " + view.getDeliveryAttempt());
                        if (i == 0) {
                            consumer.changeInvisibleDuration(view, CHANGED_INVISIBLE);
                            changedAt = System.currentTimeMillis();
                            progress("changed idx 0 to " + CHANGED_INVISIBLE);
                        } else {
                            consumer.ack(view);
                        }
                        continue;
                    }
                    check(i == 0, "acked idx " + i + " came back");
                    long after = System.currentTimeMillis() - changedAt;
                    check(after < LONG_INVISIBLE.toMillis() - 5_000,
                        "idx 0 came back only after " + after + " ms");
                    check(view.getDeliveryAttempt() == 2, "idx 0 attempt " + view.getDeliveryAttempt());
                    progress("idx 0 back after " + after + " ms");
                    consumer.ack(view);
                    redelivered++;
                }
            }
        }
        return "received " + seen.size() + " changed 1 redelivered " + redelivered + " attempt 2";
    }

    /**
     * Received with a 10 s invisible duration; even ones are acked, odd ones not: exactly the odd
     * ones come back (attempt 2) and are then acked.
     */
    static String redelivery(String endpoint, String topic, String group, int n) throws Exception {
        sendN(endpoint, topic, n);
        Set<Integer> seen = new HashSet<>();
        Set<Integer> again = new HashSet<>();
        int odd = n / 2;
        int acked = 0;
        try (SimpleConsumer consumer = Grpc.simpleConsumer(endpoint, group, topic)) {
            while (seen.size() < n || again.size() < odd) {
                checkDeadline("redeliveries (first " + seen.size() + " again " + again.size() + ")");
                for (MessageView view : consumer.receive(16, SHORT_INVISIBLE)) {
                    int i = verify(topic, view);
                    if (seen.add(i)) {
                        check(view.getDeliveryAttempt() == 1, "idx " + i + " first attempt " + view.getDeliveryAttempt());
                        if (i % 2 == 0) {
                            consumer.ack(view);
                            acked++;
                        }
                        continue;
                    }
                    check(i % 2 == 1, "acked idx " + i + " came back");
                    check(view.getDeliveryAttempt() == 2, "idx " + i + " attempt " + view.getDeliveryAttempt());
                    check(again.add(i), "idx " + i + " came back twice");
                    consumer.ack(view);
                }
            }
        }
        return "received " + seen.size() + " acked " + acked + " redelivered " + again.size() + " attempt 2";
    }

    /**
     * The group allows 2 attempts (retryMaxTimes 1). Nothing is acked: each message is delivered
     * twice, then lands in {@code %DLQ%<group>}, where another group receives all of them intact.
     */
    static String dlq(String endpoint, String topic, String group, int n) throws Exception {
        sendN(endpoint, topic, n);
        String dlqTopic = "%DLQ%" + group;
        Map<Integer, Integer> attempts = new HashMap<>();
        Set<Integer> dead = new HashSet<>();
        try (SimpleConsumer consumer = Grpc.simpleConsumer(endpoint, group, topic);
             SimpleConsumer dlqConsumer = Grpc.simpleConsumer(endpoint, group + "_dlq", dlqTopic)) {
            while (dead.size() < n) {
                checkDeadline(n + " messages in " + dlqTopic + " (have " + dead.size() + ", attempts " + attempts + ")");
                for (MessageView view : consumer.receive(16, SHORT_INVISIBLE)) {
                    int i = verify(topic, view);
                    int attempt = attempts.merge(i, 1, Integer::sum);
                    check(view.getDeliveryAttempt() == attempt,
                        "idx " + i + " attempt " + view.getDeliveryAttempt() + " expected " + attempt);
                    check(attempt <= 2, "idx " + i + " delivered a third time");
                }
                for (MessageView view : dlqConsumer.receive(16, LONG_INVISIBLE)) {
                    String idx = view.getProperties().get("idx");
                    check(idx != null, "DLQ message without idx: " + view);
                    int i = Integer.parseInt(idx);
                    check(Grpc.key(view).equals(topic + "-" + i), "DLQ key " + view.getKeys());
                    check(Grpc.body(view).equals(GrpcScenarios.bodyOf(topic, i)), "DLQ body of idx " + i);
                    check(dead.add(i), "idx " + i + " twice in the DLQ");
                    dlqConsumer.ack(view);
                }
            }
        }
        for (int i = 0; i < n; i++) {
            check(attempts.getOrDefault(i, 0) == 2, "idx " + i + " attempts " + attempts.get(i));
        }
        return "received " + attempts.size() + " attempts 2 each, dead-lettered " + dead.size();
    }

    /**
     * A push consumer (concurrent): idx 0 fails once and is delivered again (attempt 2); every
     * message is consumed successfully exactly once, and nothing more arrives within 2 s.
     */
    static String pushConcurrent(String endpoint, String topic, String group, int n) throws Exception {
        sendN(endpoint, topic, n);
        Map<Integer, Integer> deliveries = new ConcurrentHashMap<>();
        Set<Integer> done = ConcurrentHashMap.newKeySet();
        AtomicReference<String> error = new AtomicReference<>();
        AtomicInteger failures = new AtomicInteger();
        try (PushConsumer consumer = Grpc.PROVIDER.newPushConsumerBuilder()
            .setClientConfiguration(Grpc.config(endpoint))
            .setConsumerGroup(group)
            .setSubscriptionExpressions(Map.of(topic, new FilterExpression("*", FilterExpressionType.TAG)))
            .setConsumptionThreadCount(4)
            .setMessageListener(view -> {
                try {
                    int i = verify(topic, view);
                    int count = deliveries.merge(i, 1, Integer::sum);
                    if (i == 0 && count == 1) {
                        failures.incrementAndGet();
                        return ConsumeResult.FAILURE;
                    }
                    check(view.getDeliveryAttempt() == count, "idx " + i + " attempt "
                        + view.getDeliveryAttempt() + " delivery " + count);
                    check(done.add(i), "idx " + i + " consumed successfully twice");
                } catch (Throwable t) {
                    error.compareAndSet(null, t.toString());
                }
                return ConsumeResult.SUCCESS;
            })
            .build()) {
            waitFor(() -> done.size() >= n, error, n + " consumed (have " + done.size() + ")");
            long quiet = System.currentTimeMillis() + 2_000;
            while (System.currentTimeMillis() < quiet) {
                Thread.sleep(100);
            }
        }
        check(error.get() == null, String.valueOf(error.get()));
        int total = deliveries.values().stream().mapToInt(Integer::intValue).sum();
        check(total == n + 1, "deliveries " + total + " expected " + (n + 1) + ": " + deliveries);
        return "consumed " + done.size() + " deliveries " + total + " failed-then-redelivered " + failures.get();
    }

    /**
     * A push consumer of an orderly group on a FIFO topic with three message groups: per group,
     * messages are consumed in send order and one at a time.
     */
    static String pushFifo(String endpoint, String topic, String group, int n) throws Exception {
        int groups = 3;
        try (Producer producer = Grpc.producer(endpoint, topic, null)) {
            for (int i = 0; i < n; i++) {
                producer.send(Grpc.PROVIDER.newMessageBuilder()
                    .setTopic(topic)
                    .setKeys(topic + "-" + i)
                    .setTag("TagA")
                    .setMessageGroup("mg" + (i % groups))
                    .addProperty("idx", Integer.toString(i))
                    .setBody(GrpcScenarios.bodyOf(topic, i).getBytes(StandardCharsets.UTF_8))
                    .build());
            }
        }
        progress("sent " + n + " in " + groups + " message groups");
        Map<String, Integer> next = new ConcurrentHashMap<>();
        Set<String> busy = ConcurrentHashMap.newKeySet();
        AtomicInteger consumed = new AtomicInteger();
        AtomicReference<String> error = new AtomicReference<>();
        try (PushConsumer consumer = Grpc.PROVIDER.newPushConsumerBuilder()
            .setClientConfiguration(Grpc.config(endpoint))
            .setConsumerGroup(group)
            .setSubscriptionExpressions(Map.of(topic, new FilterExpression("*", FilterExpressionType.TAG)))
            .setConsumptionThreadCount(4)
            .setMessageListener(view -> {
                String mg = view.getMessageGroup().orElse("");
                try {
                    check(busy.add(mg), "two messages of " + mg + " consumed at once");
                    int i = verify(topic, view);
                    check(mg.equals("mg" + (i % groups)), "idx " + i + " message group '" + mg + "'");
                    int expected = next.getOrDefault(mg, i % groups);
                    check(i == expected, mg + ": got idx " + i + " expected " + expected);
                    next.put(mg, i + groups);
                    consumed.incrementAndGet();
                    busy.remove(mg);
                } catch (Throwable t) {
                    error.compareAndSet(null, t.toString());
                }
                return ConsumeResult.SUCCESS;
            })
            .build()) {
            waitFor(() -> consumed.get() >= n, error, n + " consumed (have " + consumed.get() + ")");
        }
        check(error.get() == null, String.valueOf(error.get()));
        check(consumed.get() == n, "consumed " + consumed.get() + " expected " + n);
        return "groups " + groups + " consumed " + consumed.get() + " in order";
    }

    private static void waitFor(java.util.function.BooleanSupplier done, AtomicReference<String> error,
        String what) throws InterruptedException {
        while (!done.getAsBoolean() && error.get() == null) {
            checkDeadline(what);
            Thread.sleep(50);
        }
        check(error.get() == null, String.valueOf(error.get()));
    }
}
