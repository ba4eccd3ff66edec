package org.ferromq.compat;

import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;

/**
 * The official Java client's side of the consume benchmark: a push consumer of a new group,
 * starting from the first stored message, drains a backlog, so that {@code mqbench consumer
 * --from-first --messages N} figures can be compared with the Java client's on the same broker.
 *
 * <pre>BenchConsumer &lt;namesrv&gt; &lt;topic&gt; &lt;group&gt; [--messages 1000000] [--seconds 120]</pre>
 *
 * <p>The listener only counts (Apache's defaults otherwise: 20 consume threads, 32 messages a
 * pull). The clock starts at the first message and stops when {@code --messages} have been
 * consumed or {@code --seconds} have passed. Prints a final {@code RESULT {...}} JSON line:
 * messages consumed in that window and per second.
 */
public final class BenchConsumer {
    private BenchConsumer() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: BenchConsumer <namesrv> <topic> <group> [--messages N] [--seconds S]");
            System.exit(2);
        }
        String namesrv = args[0];
        String topic = args[1];
        String group = args[2];
        long target = 1_000_000;
        int seconds = 120;
        for (int i = 3; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--messages" -> target = Long.parseLong(args[i + 1]);
                case "--seconds" -> seconds = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        AtomicLong consumed = new AtomicLong();
        AtomicLong firstAt = new AtomicLong();
        AtomicLong lastAt = new AtomicLong();
        AtomicLong atLast = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        long want = target;
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName("bench-" + ProcessHandle.current().pid());
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            long now = System.nanoTime();
            firstAt.compareAndSet(0, now);
            long n = consumed.addAndGet(messages.size());
            if (n >= want && lastAt.compareAndSet(0, now)) {
                atLast.set(n);
                done.countDown();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        boolean all = done.await(seconds, TimeUnit.SECONDS);
        long end = all ? lastAt.get() : System.nanoTime();
        long n = all ? atLast.get() : consumed.get();
        double elapsed = firstAt.get() == 0 ? 0 : (end - firstAt.get()) / 1e9;
        System.out.printf(Locale.ROOT,
            "RESULT {\"client\":\"java-5.3.3\",\"mode\":\"consume\",\"seconds\":%.2f,\"messages\":%d,"
                + "\"tps\":%.0f,\"failures\":0,\"complete\":%b}%n",
            elapsed, n, elapsed > 0 ? n / elapsed : 0.0, all);
        consumer.shutdown();
        System.exit(0);
    }
}
