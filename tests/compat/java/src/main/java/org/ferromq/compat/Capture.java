package org.ferromq.compat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;

/**
 * Drives the frames recorded as golden vectors (see tests/compat/recorder/recorder.py):
 *
 * <pre>Capture &lt;addr host:port&gt; &lt;topic&gt; &lt;consumeMillis&gt;</pre>
 *
 * <p>A producer sends one message (tag TagA, key KEY1, user property a=1, body "hello") and one
 * batch of three; then a push consumer subscribed to "TagA || TagB" runs for consumeMillis
 * (heartbeat, rebalance, pulls) and shuts down. Exits 0 when both sends were acknowledged.
 */
public final class Capture {
    private Capture() {}

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: Capture <addr host:port> <topic> <consumeMillis>");
            System.exit(2);
        }
        int code = 0;
        try {
            run(args[0], args[1], Long.parseLong(args[2]));
        } catch (Throwable t) {
            System.err.println("FAIL: " + t);
            t.printStackTrace();
            code = 1;
        }
        System.exit(code);
    }

    private static void run(String addr, String topic, long consumeMillis) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("capture_pg");
        producer.setNamesrvAddr(addr);
        producer.setInstanceName("capture-producer");
        producer.start();
        try {
            Message one = new Message(topic, "TagA", "KEY1", "hello".getBytes(StandardCharsets.UTF_8));
            one.putUserProperty("a", "1");
            SendResult r1 = producer.send(one);
            System.out.println("single: " + r1);

            List<Message> batch = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Message m = new Message(topic, "TagA", "BATCH" + i, ("batch-" + i).getBytes(StandardCharsets.UTF_8));
                batch.add(m);
            }
            SendResult r2 = producer.send(batch);
            System.out.println("batch: " + r2);
        } finally {
            producer.shutdown();
        }

        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer("capture_cg");
        consumer.setNamesrvAddr(addr);
        consumer.setInstanceName("capture-consumer");
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "TagA || TagB");
        consumer.registerMessageListener(
            (MessageListenerConcurrently) (msgs, ctx) -> ConsumeConcurrentlyStatus.CONSUME_SUCCESS);
        consumer.start();
        try {
            TimeUnit.MILLISECONDS.sleep(consumeMillis); // capture window, not a synchronisation
        } finally {
            consumer.shutdown();
        }
    }
}
