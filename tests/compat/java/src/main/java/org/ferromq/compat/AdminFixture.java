package org.ferromq.compat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Live clients for Apache's mqadmin to look at (tests/tests/compat_mqadmin.rs):
 *
 * <pre>AdminFixture &lt;namesrv host:port&gt; &lt;topic&gt; &lt;group&gt; &lt;n&gt; &lt;holdMillis&gt;</pre>
 *
 * <p>Creates the topic with 4 queues through the TBW102 route, sends n sync messages with
 * producer group {@code <group>_pg} (message i: tag {@code TagA}, keys {@code AK-i}, body
 * {@code admin-body-i}, to queue i % 4), printing per send
 *
 * <pre>SENT \t i \t brokerName \t queueId \t queueOffset \t offsetMsgId \t msgId(UNIQ_KEY)</pre>
 *
 * <p>then starts a clustering push consumer of {@code group} (subscription {@code *}, from the
 * first offset, offsets committed every second) that prints one line per delivery
 *
 * <pre>RECV \t queueId \t queueOffset \t msgId \t body</pre>
 *
 * <p>and {@code CONSUMER <clientId>} once started. Producer and consumer stay online (so their
 * connections, offsets and running info can be inspected) for holdMillis, then the program prints
 * {@code DONE} and exits 0; the harness usually kills it before. Exit 1 with "FAIL: ..."
 * otherwise.
 */
public final class AdminFixture {
    private AdminFixture() {}

    public static void main(String[] args) {
        if (args.length != 5) {
            System.err.println("usage: AdminFixture <namesrv host:port> <topic> <group> <n> <holdMillis>");
            System.exit(2);
        }
        int code;
        try {
            run(args[0], args[1], args[2], Integer.parseInt(args[3]), Long.parseLong(args[4]));
            code = 0;
        } catch (Throwable t) {
            System.err.println("FAIL: " + t);
            t.printStackTrace();
            code = 1;
        }
        // Client threads are not all daemons; exit explicitly.
        System.exit(code);
    }

    private static void run(String namesrv, String topic, String group, int n, long holdMillis)
        throws Exception {
        long deadline = Support.deadline();
        DefaultMQProducer producer = Support.producer(namesrv, group + "_pg");
        DefaultMQPushConsumer consumer = null;
        try {
            List<MessageQueue> queues = Support.createTopic(producer, topic, 4, deadline);
            for (int i = 0; i < n; i++) {
                Message m = new Message(topic, "TagA", "AK-" + i,
                    ("admin-body-" + i).getBytes(StandardCharsets.UTF_8));
                SendResult r = producer.send(m, queues.get(i % queues.size()));
                if (r.getSendStatus() != SendStatus.SEND_OK) {
                    throw new IllegalStateException("send #" + i + " status " + r.getSendStatus());
                }
                System.out.println("SENT\t" + i + "\t" + r.getMessageQueue().getBrokerName() + "\t"
                    + r.getMessageQueue().getQueueId() + "\t" + r.getQueueOffset() + "\t"
                    + r.getOffsetMsgId() + "\t" + r.getMsgId());
            }
            consumer = Support.pushConsumer(namesrv, group, group + "-consumer");
            consumer.setPersistConsumerOffsetInterval(1000);
            consumer.subscribe(topic, "*");
            AtomicInteger received = new AtomicInteger();
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, context) -> {
                for (MessageExt m : msgs) {
                    received.incrementAndGet();
                    synchronized (System.out) {
                        System.out.println("RECV\t" + m.getQueueId() + "\t" + m.getQueueOffset() + "\t"
                            + m.getMsgId() + "\t" + new String(m.getBody(), StandardCharsets.UTF_8));
                    }
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            System.out.println("CONSUMER " + consumer.getDefaultMQPushConsumerImpl().getmQClientFactory().getClientId());
            long end = System.currentTimeMillis() + holdMillis;
            while (System.currentTimeMillis() < end) {
                Thread.sleep(100); // keeping the clients online for the admin commands, bounded
            }
            System.out.println("DONE received " + received.get());
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            producer.shutdown();
        }
    }
}
