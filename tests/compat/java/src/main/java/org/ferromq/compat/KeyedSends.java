package org.ferromq.compat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;

/**
 * The send loop of the failover fixtures ({@link HaFailover}, {@link ControllerFailover}): threads
 * sending sync messages with a unique key each while a condition holds, through a producer set up
 * to ride out broker failures, counting what was acknowledged and what failed by kind.
 */
final class KeyedSends {
    /** What to do with a key the broker acknowledged with SEND_OK (record it durably). */
    interface OnAck {
        void accept(String key, SendResult result) throws IOException;
    }

    final AtomicLong acked = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();

    /**
     * A started producer that follows a changing route: the route polled every second, latency
     * fault tolerance on, two retries, 3 s per send.
     */
    static DefaultMQProducer producer(String namesrv, String group, String instance) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer(group);
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName(instance);
        producer.setPollNameServerInterval(1000);
        producer.setSendLatencyFaultEnable(true);
        producer.setRetryTimesWhenSendFailed(2);
        producer.setSendMsgTimeout(3000);
        producer.start();
        return producer;
    }

    /**
     * Sends from {@code threads} threads, keys {@code <keyPrefix>-<thread>-<i>} with tag
     * {@code tag}, while {@code go} holds; {@code onAck} gets every SEND_OK, other statuses are
     * counted under {@code failureKind(result)} and exceptions under their class name. Prints a
     * progress line every second; returns when every thread has stopped.
     */
    void run(DefaultMQProducer producer, String topic, String tag, String keyPrefix, int threads,
        BooleanSupplier go, OnAck onAck, Function<SendResult, String> failureKind) throws InterruptedException {
        long start = System.currentTimeMillis();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Thread w = new Thread(() -> {
                for (int i = 0; go.getAsBoolean(); i++) {
                    String key = keyPrefix + "-" + thread + "-" + i;
                    Message m = new Message(topic, tag, key, ("failover body " + key).getBytes(StandardCharsets.UTF_8));
                    try {
                        SendResult r = producer.send(m);
                        if (r.getSendStatus() == SendStatus.SEND_OK) {
                            onAck.accept(key, r);
                            acked.incrementAndGet();
                        } else {
                            fail(failureKind.apply(r));
                        }
                    } catch (IOException e) {
                        throw new IllegalStateException("cannot record the acknowledgement of " + key, e);
                    } catch (Exception e) {
                        fail(e.getClass().getSimpleName());
                    }
                }
            }, keyPrefix + "-send-" + t);
            w.start();
            workers.add(w);
        }
        long next = start + 1000;
        while (workers.stream().anyMatch(Thread::isAlive)) {
            for (Thread w : workers) {
                w.join(Math.max(1, next - System.currentTimeMillis()));
            }
            if (System.currentTimeMillis() >= next) {
                Support.log("acked " + acked.get() + " failed " + failed.get());
                next += 1000;
            }
        }
    }

    private void fail(String kind) {
        failed.incrementAndGet();
        failures.computeIfAbsent(kind, k -> new AtomicInteger()).incrementAndGet();
    }
}
