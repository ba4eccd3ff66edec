package org.ferromq.compat;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageClientExt;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Reads a topic back from an Apache broker for the FerroMQ store compatibility test:
 *
 * <pre>StoreConsume &lt;namesrv host:port&gt; &lt;topic&gt; &lt;n&gt; [key ...]</pre>
 *
 * <p>Waits for the topic's route, prints each queue's offsets as the broker reports them
 * ({@code OFFSETS \t queueId \t min \t max}), then a lite pull consumer (fresh group from the first
 * offset, every queue assigned) polls until it has n messages, printing one line each:
 *
 * <pre>RECV \t qid=.. \t qoff=.. \t phy=.. \t msgId=.. \t offsetMsgId=.. \t storeHost=.. \t born=..
 *      \t len=.. \t crc=.. \t storedCrc=.. \t p.NAME=VALUE ...</pre>
 *
 * <p>({@code crc} is CRC-32 &amp; 0x7FFFFFFF of the delivered, decompressed body; properties in
 * name order). For each given key it asks the broker's index ({@code QUERY \t key \t msgId,...}),
 * and it views every 10th message by its offsetMsgId ({@code VIEW \t offsetMsgId \t msgId}).
 * A position delivered again with the same record is counted, not failed (the client delivers at
 * least once). Ends with {@code OK: received n}; exit 1 with "FAIL: ..." when one position comes
 * as two different records, on a short count or at the deadline (-Dcompat.timeoutMs, default
 * 90000).
 */
public final class StoreConsume {
    private StoreConsume() {}

    public static void main(String[] args) {
        if (args.length < 3) {
            System.err.println("usage: StoreConsume <namesrv host:port> <topic> <n> [key ...]");
            System.exit(2);
        }
        int code;
        try {
            List<String> keys = List.of(args).subList(3, args.length);
            code = run(args[0], args[1], Integer.parseInt(args[2]), keys);
        } catch (Throwable t) {
            System.err.println("FAIL: " + t);
            t.printStackTrace();
            code = 1;
        }
        System.exit(code);
    }

    private static int run(String namesrv, String topic, int n, List<String> keys) throws Exception {
        long deadline = System.currentTimeMillis() + Long.getLong("compat.timeoutMs", 90_000L);
        PrintStream out = StoreData.utf8Stdout();
        String run = Long.toHexString(System.nanoTime());

        // A producer is the client's admin handle (maxOffset, queryMessage, viewMessage).
        DefaultMQProducer admin = new DefaultMQProducer("store_admin_" + run);
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("store-admin-" + run);
        admin.start();
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer("store_cg_" + run);
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName("store-consumer-" + run);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setAutoCommit(false);
        consumer.setPullBatchSize(32);
        try {
            List<MessageQueue> queues = waitForRoute(admin, topic, deadline);
            for (MessageQueue mq : queues) {
                long min = Support.retryTransient("minOffset", () -> admin.minOffset(mq));
                long max = Support.retryTransient("maxOffset", () -> admin.maxOffset(mq));
                out.println("OFFSETS\t" + mq.getQueueId() + "\t" + min + "\t" + max);
            }

            // A fresh group starting from the first offset reads every queue from its beginning.
            // No seek: seeking a queue whose pull task is already running lets the client's old
            // and new pull tasks both deliver it (a race in the 5.x lite pull consumer, seen as
            // a duplicate in CI).
            consumer.start();
            consumer.assign(queues);
            Map<String, String> seen = new HashMap<>();
            int redelivered = 0;
            List<MessageExt> views = new ArrayList<>();
            while (seen.size() < n) {
                if (System.currentTimeMillis() > deadline) {
                    System.err.println("FAIL: timeout: received " + seen.size() + " of " + n);
                    return 1;
                }
                for (MessageExt m : consumer.poll(500)) {
                    String where = m.getQueueId() + "@" + m.getQueueOffset();
                    String what = m.getMsgId() + "@" + m.getCommitLogOffset();
                    String before = seen.putIfAbsent(where, what);
                    if (before != null) {
                        // At-least-once delivery may repeat a position; the store must not give
                        // one position two different records.
                        if (!before.equals(what)) {
                            System.err.println("FAIL: " + where + " delivered as " + before
                                + " and as " + what);
                            return 1;
                        }
                        redelivered++;
                        continue;
                    }
                    out.println(describe(m));
                    if (seen.size() % 10 == 1) {
                        views.add(m);
                    }
                }
            }
            if (redelivered > 0) {
                System.err.println("note: the client delivered " + redelivered
                    + " position(s) again, each with the same record");
            }
            if (seen.size() != n) {
                System.err.println("FAIL: received " + seen.size() + " messages, expected " + n);
                return 1;
            }
            for (String key : keys) {
                QueryResult r = Support.retryTransient("queryMessage",
                    () -> admin.queryMessage(topic, key, 64, 0, Long.MAX_VALUE));
                List<String> ids = new ArrayList<>();
                for (MessageExt m : r.getMessageList()) {
                    ids.add(m.getMsgId());
                }
                ids.sort(Comparator.naturalOrder());
                out.println("QUERY\t" + key + "\t" + String.join(",", ids));
            }
            for (MessageExt m : views) {
                MessageExt v = Support.retryTransient("viewMessage",
                    () -> admin.viewMessage(topic, offsetMsgId(m)));
                out.println("VIEW\t" + offsetMsgId(m) + "\t" + v.getMsgId());
            }
        } finally {
            consumer.shutdown();
            admin.shutdown();
        }
        out.println("OK: received " + n);
        return 0;
    }

    /** The broker-side id (store host + commitlog offset) the client decoded from the record. */
    private static String offsetMsgId(MessageExt m) {
        if (m instanceof MessageClientExt c) {
            return c.getOffsetMsgId();
        }
        throw new IllegalStateException("not a client-decoded message: " + m.getClass());
    }

    private static String describe(MessageExt m) {
        CRC32 crc = new CRC32();
        crc.update(m.getBody());
        StringBuilder sb = new StringBuilder("RECV");
        sb.append("\tqid=").append(m.getQueueId())
            .append("\tqoff=").append(m.getQueueOffset())
            .append("\tphy=").append(m.getCommitLogOffset())
            .append("\tmsgId=").append(m.getMsgId())
            .append("\toffsetMsgId=").append(offsetMsgId(m))
            .append("\tstoreHost=").append(m.getStoreHost())
            .append("\tborn=").append(m.getBornTimestamp())
            .append("\tlen=").append(m.getBody().length)
            .append("\tcrc=").append(crc.getValue() & 0x7FFFFFFFL)
            .append("\tstoredCrc=").append(m.getBodyCRC());
        for (Map.Entry<String, String> p : new TreeMap<>(m.getProperties()).entrySet()) {
            sb.append("\tp.").append(p.getKey()).append('=').append(p.getValue());
        }
        return sb.toString();
    }

    private static List<MessageQueue> waitForRoute(DefaultMQProducer admin, String topic, long deadline)
        throws Exception {
        Exception last = null;
        while (System.currentTimeMillis() < deadline) {
            try {
                List<MessageQueue> queues = new ArrayList<>(admin.fetchPublishMessageQueues(topic));
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
