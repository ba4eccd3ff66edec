package org.ferromq.grpc;

import static org.ferromq.grpc.Grpc.progress;

import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;

/**
 * Throughput of the Java 5.x SDK against one endpoint, in two phases that can run apart
 * (scripts/bench-grpc.sh measures the server's CPU of each):
 *
 * <ul>
 *   <li>send: for {@code seconds}, async sends with at most {@code inflight} outstanding, or
 *       (inflight 0) synchronous sends one at a time; {@code RESULT sent=.. send_tps=..};</li>
 *   <li>drain: a simple consumer receives (batches of 32) and async-acks {@code count} messages
 *       with four threads; {@code RESULT received=.. receive_ack_tps=..}.</li>
 * </ul>
 *
 * {@link #run} does both, one after the other, on the same topic.
 */
final class GrpcBench {
    private GrpcBench() {}

    static String run(String endpoint, String topic, String group, int seconds, int size, int inflight)
        throws Exception {
        long sent = send(endpoint, topic, seconds, size, inflight);
        drain(endpoint, topic, group, sent);
        return "sent and drained " + sent;
    }

    /** The send phase; returns how many messages were sent (the warm-up one included). */
    static long send(String endpoint, String topic, int seconds, int size, int inflight) throws Exception {
        byte[] body = new byte[size];
        Arrays.fill(body, (byte) 'x');
        AtomicLong sent = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        Semaphore window = new Semaphore(Math.max(inflight, 1));
        long sendStart;
        long sendEnd;
        try (Producer producer = Grpc.producer(endpoint, topic, null)) {
            // Warm the connection and route before timing.
            producer.send(message(topic, body));
            sent.incrementAndGet();
            sendStart = System.nanoTime();
            long stopAt = sendStart + seconds * 1_000_000_000L;
            while (inflight == 0 && System.nanoTime() < stopAt) {
                try {
                    producer.send(message(topic, body));
                    sent.incrementAndGet();
                } catch (Exception e) {
                    if (failed.incrementAndGet() <= 5) {
                        progress("send failed: " + e);
                    }
                }
            }
            while (inflight > 0 && System.nanoTime() < stopAt) {
                window.acquire();
                producer.sendAsync(message(topic, body)).whenComplete((r, e) -> {
                    if (e == null) {
                        sent.incrementAndGet();
                    } else if (failed.incrementAndGet() <= 5) {
                        progress("send failed: " + e);
                    }
                    window.release();
                });
            }
            window.acquire(Math.max(inflight, 1));
            sendEnd = System.nanoTime();
        }
        double sendSeconds = (sendEnd - sendStart) / 1e9;
        long total = sent.get();
        double sendTps = (total - 1) / sendSeconds;
        Grpc.OUT.println(String.format(Locale.ROOT,
            "RESULT sent=%d send_failures=%d send_seconds=%.2f send_tps=%.1f body_size=%d inflight=%d",
            total, failed.get(), sendSeconds, sendTps, size, inflight));
        return total;
    }

    private static Message message(String topic, byte[] body) {
        return Grpc.PROVIDER.newMessageBuilder().setTopic(topic).setTag("bench").setBody(body).build();
    }

    /** The drain phase: receives and acks {@code total} messages of {@code topic}. */
    static String drain(String endpoint, String topic, String group, long total) throws Exception {
        AtomicLong received = new AtomicLong();
        AtomicLong ackFailures = new AtomicLong();
        Map<String, Boolean> ids = new ConcurrentHashMap<>();
        long recvStart = System.nanoTime();
        try (SimpleConsumer consumer = Grpc.simpleConsumer(endpoint, group, topic)) {
            Thread[] threads = new Thread[4];
            for (int t = 0; t < threads.length; t++) {
                threads[t] = new Thread(() -> {
                    while (received.get() < total && System.currentTimeMillis() < Grpc.DEADLINE) {
                        try {
                            for (MessageView view : consumer.receive(32, Duration.ofSeconds(60))) {
                                if (ids.putIfAbsent(view.getMessageId().toString(), true) == null) {
                                    received.incrementAndGet();
                                }
                                consumer.ackAsync(view).whenComplete((v, e) -> {
                                    if (e != null) {
                                        ackFailures.incrementAndGet();
                                    }
                                });
                            }
                        } catch (Exception e) {
                            progress("receive: " + e);
                        }
                    }
                });
                threads[t].start();
            }
            for (Thread t : threads) {
                t.join();
            }
        }
        double recvSeconds = (System.nanoTime() - recvStart) / 1e9;
        double recvTps = received.get() / recvSeconds;
        Grpc.OUT.println(String.format(Locale.ROOT,
            "RESULT received=%d ack_failures=%d receive_seconds=%.2f receive_ack_tps=%.1f",
            received.get(), ackFailures.get(), recvSeconds, recvTps));
        Grpc.check(received.get() == total, "received " + received.get() + " of " + total);
        return String.format(Locale.ROOT, "received %d at %.0f msg/s", received.get(), recvTps);
    }
}
