package org.ferromq.compat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
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
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Round trip through a name server with the official Java client:
 *
 * <pre>ProduceConsume &lt;namesrv host:port&gt; &lt;topic&gt; &lt;n&gt;</pre>
 *
 * <p>Built against rocketmq-client 5.3.3 ({@code tests/compat/java}) and, this source only, 4.9.8
 * ({@code tests/compat/java49}). Creates the topic through the name server's TBW102 route, waits
 * until the name server serves a route for it, sends n sync messages (alternating tags TagA/TagB,
 * unique keys, user properties, distinct UTF-8 bodies), then runs a push consumer (fresh group, CONSUME_FROM_FIRST_OFFSET,
 * "TagA || TagB") that must receive exactly those n messages intact. Exit 0 on success; exit 1
 * with "FAIL: ..." on stderr otherwise. The overall deadline is -Dcompat.timeoutMs (default 90000).
 */
public final class ProduceConsume {
    private ProduceConsume() {}

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: ProduceConsume <namesrv host:port> <topic> <n>");
            System.exit(2);
        }
        int code;
        try {
            code = run(args[0], args[1], Integer.parseInt(args[2]));
        } catch (Throwable t) {
            System.err.println("FAIL: " + t);
            t.printStackTrace();
            code = 1;
        }
        // Client threads are not all daemons; exit explicitly.
        System.exit(code);
    }

    private static int run(String namesrv, String topic, int n) throws Exception {
        long deadline = System.currentTimeMillis() + Long.getLong("compat.timeoutMs", 90_000L);
        String run = Long.toHexString(System.nanoTime());

        DefaultMQProducer producer = new DefaultMQProducer("compat_pg_" + run);
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("compat-producer-" + run);
        producer.setSendMsgTimeout(10_000);
        producer.start();

        Map<String, Expected> expected = new ConcurrentHashMap<>();
        try {
            // Topic creation goes to the broker listed in the name server's TBW102 route.
            // The implementation's createTopic(key, topic, queues) exists in 4.9.x and 5.x alike (the
            // public 5.x method adds an attributes map), so this source builds against both clients.
            producer.getDefaultMQProducerImpl().createTopic("TBW102", topic, 4);
            List<MessageQueue> queues = waitForRoute(producer, topic, deadline);
            System.out.println("route for " + topic + ": " + queues.size() + " queues");

            for (int i = 0; i < n; i++) {
                Expected e = new Expected(
                    i % 2 == 0 ? "TagA" : "TagB",
                    "KEY-" + run + "-" + i,
                    "compat body #" + i + " run " + run + " \u00fc\u20ac\u4e2d",
                    Integer.toString(i),
                    run);
                Message m = new Message(topic, e.tag, e.key, e.body.getBytes(StandardCharsets.UTF_8));
                m.putUserProperty("idx", e.idx);
                m.putUserProperty("run", e.run);
                SendResult r = producer.send(m);
                if (r.getSendStatus() != SendStatus.SEND_OK) {
                    throw new IllegalStateException("send #" + i + " status " + r.getSendStatus());
                }
                expected.put(e.key, e);
            }
            System.out.println("sent " + n + " messages");
        } finally {
            producer.shutdown();
        }

        Map<String, Integer> received = new ConcurrentHashMap<>();
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer("compat_cg_" + run);
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName("compat-consumer-" + run);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "TagA || TagB");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                check(m, topic, expected, received, errors);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        try {
            while (System.currentTimeMillis() < deadline && errors.isEmpty()
                && received.size() < expected.size()) {
                TimeUnit.MILLISECONDS.sleep(50); // polling a condition, bounded by the deadline
            }
        } finally {
            consumer.shutdown();
        }

        if (!errors.isEmpty()) {
            System.err.println("FAIL: " + errors.size() + " bad message(s): " + errors);
            return 1;
        }
        if (received.size() < expected.size()) {
            List<String> missing = new ArrayList<>();
            for (String k : expected.keySet()) {
                if (!received.containsKey(k)) {
                    missing.add(k);
                }
            }
            System.err.println("FAIL: timeout: received " + received.size() + " of " + n
                + " messages; missing keys " + missing);
            return 1;
        }
        System.out.println("OK: received all " + n + " messages intact");
        return 0;
    }

    private static List<MessageQueue> waitForRoute(DefaultMQProducer producer, String topic, long deadline)
        throws Exception {
        Exception last = null;
        while (System.currentTimeMillis() < deadline) {
            try {
                List<MessageQueue> queues = producer.fetchPublishMessageQueues(topic);
                if (!queues.isEmpty()) {
                    return queues;
                }
            } catch (Exception e) {
                last = e;
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
        throw new IllegalStateException("name server never served a route for " + topic, last);
    }

    private static void check(MessageExt m, String topic, Map<String, Expected> expected,
        Map<String, Integer> received, ConcurrentLinkedQueue<String> errors) {
        Expected e = expected.get(m.getKeys());
        String body = new String(m.getBody(), StandardCharsets.UTF_8);
        if (e == null) {
            errors.add("unexpected message keys=" + m.getKeys() + " body=" + body);
            return;
        }
        List<String> bad = new ArrayList<>();
        if (!topic.equals(m.getTopic())) {
            bad.add("topic " + m.getTopic());
        }
        if (!e.body.equals(body)) {
            bad.add("body '" + body + "'");
        }
        if (!e.tag.equals(m.getTags())) {
            bad.add("tag " + m.getTags());
        }
        if (!e.idx.equals(m.getUserProperty("idx"))) {
            bad.add("idx " + m.getUserProperty("idx"));
        }
        if (!e.run.equals(m.getUserProperty("run"))) {
            bad.add("run " + m.getUserProperty("run"));
        }
        if (m.getMsgId() == null || m.getMsgId().isEmpty()) {
            bad.add("no msgId");
        }
        if (!bad.isEmpty()) {
            errors.add("key " + e.key + ": " + bad);
        }
        Integer before = received.put(e.key, 1);
        if (before != null) {
            errors.add("duplicate delivery of key " + e.key);
        }
    }

    private record Expected(String tag, String key, String body, String idx, String run) {}
}
