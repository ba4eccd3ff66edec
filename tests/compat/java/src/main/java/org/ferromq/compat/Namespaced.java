package org.ferromq.compat;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * The official Java client with a namespace ({@code ClientConfig.setNamespace}), for the
 * FerroMQ client's namespace interop tests (client-core/tests/namespace_java.rs):
 *
 * <pre>
 * Namespaced produce &lt;namesrv&gt; &lt;namespace&gt; &lt;topic&gt; &lt;n&gt;
 * Namespaced consume &lt;namesrv&gt; &lt;namespace&gt; &lt;topic&gt; &lt;group&gt; &lt;n&gt;
 * </pre>
 *
 * <p>{@code produce} sends n messages with keys {@code java-<i>} and prints
 * {@code SENT \t key=.. \t topic=<the send result's queue topic>}. {@code consume} runs a push
 * consumer of group in the namespace from the first offset and prints
 * {@code RECV \t key=.. \t topic=<message topic> \t body=..} per message until n arrived. Both
 * end with {@code OK}; exit 1 with {@code FAIL: ...} otherwise. Deadline: -Dcompat.timeoutMs
 * (default 90000).
 */
public final class Namespaced {
    private Namespaced() {}

    public static void main(String[] args) {
        int code = 0;
        try {
            long deadline = System.currentTimeMillis() + Long.getLong("compat.timeoutMs", 90_000L);
            switch (args[0]) {
                case "produce" -> produce(args[1], args[2], args[3], Integer.parseInt(args[4]));
                case "consume" -> consume(args[1], args[2], args[3], args[4], Integer.parseInt(args[5]),
                    deadline);
                default -> throw new IllegalArgumentException("unknown mode " + args[0]);
            }
            StoreData.utf8Stdout().println("OK");
        } catch (Throwable t) {
            System.err.println("FAIL: " + t);
            t.printStackTrace();
            code = 1;
        }
        System.exit(code);
    }

    @SuppressWarnings("deprecation")
    private static void produce(String namesrv, String namespace, String topic, int n) throws Exception {
        PrintStream out = StoreData.utf8Stdout();
        DefaultMQProducer producer = new DefaultMQProducer(topic + "_java_pg");
        producer.setNamesrvAddr(namesrv);
        producer.setNamespace(namespace);
        producer.setInstanceName("ns-producer-" + Long.toHexString(System.nanoTime()));
        producer.start();
        try {
            for (int i = 0; i < n; i++) {
                Message m = new Message(topic, "TagA", "java-" + i,
                    ("java " + i).getBytes(StandardCharsets.UTF_8));
                SendResult r = producer.send(m);
                Support.require(r.getSendStatus() == SendStatus.SEND_OK, "send: " + r);
                out.println("SENT\tkey=java-" + i + "\ttopic=" + r.getMessageQueue().getTopic());
            }
        } finally {
            producer.shutdown();
        }
    }

    @SuppressWarnings("deprecation")
    private static void consume(String namesrv, String namespace, String topic, String group, int n,
        long deadline) throws Exception {
        PrintStream out = StoreData.utf8Stdout();
        CountDownLatch enough = new CountDownLatch(n);
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(namesrv);
        consumer.setNamespace(namespace);
        consumer.setInstanceName("ns-consumer-" + Long.toHexString(System.nanoTime()));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            synchronized (out) {
                for (MessageExt m : msgs) {
                    out.println("RECV\tkey=" + m.getKeys() + "\ttopic=" + m.getTopic() + "\tbody="
                        + new String(m.getBody(), StandardCharsets.UTF_8));
                    out.flush();
                    enough.countDown();
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        try {
            Support.require(enough.await(deadline - System.currentTimeMillis(), TimeUnit.MILLISECONDS),
                "timeout: received " + (n - enough.getCount()) + " of " + n);
        } finally {
            consumer.shutdown();
        }
    }
}
