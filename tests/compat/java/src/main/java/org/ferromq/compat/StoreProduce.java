package org.ferromq.compat;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Fills an Apache broker's store with known content for the FerroMQ store compatibility test:
 *
 * <pre>StoreProduce &lt;namesrv host:port&gt; &lt;topic&gt; &lt;n&gt;</pre>
 *
 * <p>Creates the topic with 4 queues through the TBW102 route, waits for its route, then sends n
 * sync messages, message i to queue i % queues, with the {@link StoreData} body (bodies of 4 KiB
 * and more are zlib-compressed by the client, as by default), tag, keys {@code SK-i SKG-(i%5)}
 * and user properties {@code idx}, {@code size} and {@code note}. Prints one line per send:
 *
 * <pre>SENT \t i \t queueId \t queueOffset \t offsetMsgId \t msgId(UNIQ_KEY)</pre>
 *
 * <p>then {@code OK: sent n}. Exit 0 on success; exit 1 with "FAIL: ..." otherwise. The overall
 * deadline is -Dcompat.timeoutMs (default 90000).
 */
public final class StoreProduce {
    private StoreProduce() {}

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: StoreProduce <namesrv host:port> <topic> <n>");
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
        System.exit(code);
    }

    private static int run(String namesrv, String topic, int n) throws Exception {
        long deadline = System.currentTimeMillis() + Long.getLong("compat.timeoutMs", 90_000L);
        PrintStream out = StoreData.utf8Stdout();
        String run = Long.toHexString(System.nanoTime());

        DefaultMQProducer producer = new DefaultMQProducer("store_pg_" + run);
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("store-producer-" + run);
        producer.setSendMsgTimeout(10_000);
        producer.setRetryTimesWhenSendFailed(0);
        producer.start();
        try {
            producer.createTopic("TBW102", topic, 4, null);
            List<MessageQueue> queues = waitForRoute(producer, topic, deadline);
            out.println("route for " + topic + ": " + queues.size() + " queues");
            for (int i = 0; i < n; i++) {
                Message m = new Message(topic, StoreData.tag(i), StoreData.body(i));
                m.setKeys(StoreData.keys("SK", i));
                m.putUserProperty("idx", Integer.toString(i));
                m.putUserProperty("size", Integer.toString(StoreData.bodySize(i)));
                m.putUserProperty("note", StoreData.note(i));
                SendResult r = producer.send(m, queues.get(i % queues.size()));
                if (r.getSendStatus() != SendStatus.SEND_OK) {
                    throw new IllegalStateException("send #" + i + " status " + r.getSendStatus());
                }
                out.println("SENT\t" + i + "\t" + r.getMessageQueue().getQueueId() + "\t"
                    + r.getQueueOffset() + "\t" + r.getOffsetMsgId() + "\t" + r.getMsgId());
            }
        } finally {
            producer.shutdown();
        }
        out.println("OK: sent " + n);
        return 0;
    }

    private static List<MessageQueue> waitForRoute(DefaultMQProducer producer, String topic, long deadline)
        throws Exception {
        Exception last = null;
        while (System.currentTimeMillis() < deadline) {
            try {
                List<MessageQueue> queues = new ArrayList<>(producer.fetchPublishMessageQueues(topic));
                if (!queues.isEmpty()) {
                    queues.sort(Comparator.comparingInt(MessageQueue::getQueueId));
                    return queues;
                }
            } catch (Exception e) {
                last = e;
            }
            TimeUnit.MILLISECONDS.sleep(100); // polling a condition, bounded by the deadline
        }
        throw new IllegalStateException("name server never served a route for " + topic, last);
    }
}
