package org.ferromq.grpc;

import static org.ferromq.grpc.Grpc.progress;

import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;

/**
 * Throughput of the Java 5.x SDK against one endpoint: async sends with at most
 * {@code inflight} outstanding for {@code seconds}, then simple-consumer receive (batches of 32)
 * and async ack of that backlog by four threads. Ends with
 * {@code RESULT name=value ...} (sent, send_tps, received, receive_ack_tps, ...).
 */
final class GrpcBench {
    private GrpcBench() {}

    static String run(String endpoint, String topic, String group, int seconds, int size, int inflight)
        throws Exception {
        byte[] body = new byte[size];
        Arrays.fill(body, (byte) 'x');
        AtomicLong sent = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        Semaphore window = new Semaphore(inflight);
        long sendStart;
        long sendEnd;
        try (Producer producer = Grpc.producer(endpoint, topic, null)) {
            // Warm the connection and route before timing.
            producer.send(Grpc.PROVIDER.newMessageBuilder().setTopic(topic).setTag("warm").setBody(body).build());
            sent.incrementAndGet();
            sendStart = System.nanoTime();
            long stopAt = sendStart + seconds * 1_000_000_000L;
            while (System.nanoTime() < stopAt) {
                window.acquire();
                Message m = Grpc.PROVIDER.newMessageBuilder().setTopic(topic).setTag("bench").setBody(body).build();
                producer.sendAsync(m).whenComplete((r, e) -> {
                    if (e == null) {
                        sent.incrementAndGet();
                    } else if (failed.incrementAndGet() <= 5) {
                        progress("send failed: " + e);
                    }
                    window.release();
                });
            }
            window.acquire(inflight);
            sendEnd = System.nanoTime();
        }
        double sendSeconds = (sendEnd - sendStart) / 1e9;
        long total = sent.get();
        double sendTps = (total - 1) / sendSeconds;
        progress(String.format("sent %d in %.1f s: %.0f msg/s, %d failed", total, sendSeconds, sendTps, failed.get()));

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
        Grpc.OUT.println(String.format(java.util.Locale.ROOT,
            "RESULT sent=%d send_failures=%d send_seconds=%.2f send_tps=%.1f received=%d ack_failures=%d"
                + " receive_seconds=%.2f receive_ack_tps=%.1f body_size=%d inflight=%d",
            total, failed.get(), sendSeconds, sendTps, received.get(), ackFailures.get(), recvSeconds, recvTps,
            size, inflight));
        Grpc.check(received.get() == total, "received " + received.get() + " of " + total);
        return String.format("send %.0f msg/s receive+ack %.0f msg/s", sendTps, recvTps);
    }
}
