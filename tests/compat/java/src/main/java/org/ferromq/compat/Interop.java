package org.ferromq.compat;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.client.producer.selector.SelectMessageQueueByHash;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * The official Java client's side of the FerroMQ client interop tests (client-core/tests):
 *
 * <pre>
 * Interop consume &lt;namesrv&gt; &lt;topic&gt; &lt;n&gt; &lt;orderly|concurrent&gt; &lt;graceMillis&gt;
 * Interop ordered-produce &lt;namesrv&gt; &lt;topic&gt; &lt;shards&gt; &lt;perShard&gt;
 * Interop tx-produce &lt;namesrv&gt; &lt;topic&gt;
 * </pre>
 *
 * <p>{@code consume}: a push consumer (fresh group, first offset) prints
 * {@code RECV \t key=.. \t qid=.. \t qoff=.. \t body=.. \t shard=.. \t seq=..} per message in
 * delivery order, until n arrived and then graceMillis more (any message then is printed too, so
 * the test can see what should never come). {@code ordered-produce}: {@code SelectMessageQueueByHash}
 * with the shard name as the sharding key, keys {@code <shard>-<seq>}, properties shard and seq;
 * prints {@code SENT \t key=.. \t qid=..}. {@code tx-produce}: a transaction producer whose local
 * transaction commits {@code tx-commit}, rolls back {@code tx-rollback} and answers UNKNOW for
 * {@code tx-check}, which its check-back commits; waits for that check-back (prints
 * {@code CHECKED \t tx-check}) and, with a watching consumer, for the committed message. Every mode ends with {@code OK}; exit 1 with {@code FAIL: ...}
 * otherwise. Deadline: -Dcompat.timeoutMs (default 90000).
 */
public final class Interop {
    private Interop() {}

    public static void main(String[] args) {
        int code = 0;
        try {
            long deadline = System.currentTimeMillis() + Long.getLong("compat.timeoutMs", 90_000L);
            switch (args[0]) {
                case "consume" -> consume(args[1], args[2], Integer.parseInt(args[3]),
                    args[4].equals("orderly"), Long.parseLong(args[5]), deadline);
                case "ordered-produce" -> orderedProduce(args[1], args[2], Integer.parseInt(args[3]),
                    Integer.parseInt(args[4]));
                case "tx-produce" -> txProduce(args[1], args[2], deadline);
                default -> throw new IllegalArgumentException("unknown mode " + args[0]);
            }
            out().println("OK");
        } catch (Throwable t) {
            System.err.println("FAIL: " + t);
            t.printStackTrace();
            code = 1;
        }
        System.exit(code);
    }

    private static PrintStream out() {
        return StoreData.utf8Stdout();
    }

    private static String instance(String what) {
        return what + "-" + Long.toHexString(System.nanoTime());
    }

    private static void consume(String namesrv, String topic, int n, boolean orderly, long graceMillis,
        long deadline) throws Exception {
        PrintStream out = out();
        CountDownLatch enough = new CountDownLatch(n);
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(topic + "_java_cg");
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName(instance("interop-consumer"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        java.util.function.Consumer<List<MessageExt>> print = msgs -> {
            synchronized (out) {
                for (MessageExt m : msgs) {
                    out.println("RECV\tkey=" + m.getKeys() + "\tqid=" + m.getQueueId() + "\tqoff="
                        + m.getQueueOffset() + "\tbody=" + new String(m.getBody(), StandardCharsets.UTF_8)
                        + "\tshard=" + m.getUserProperty("shard") + "\tseq=" + m.getUserProperty("seq"));
                    out.flush();
                    enough.countDown();
                }
            }
        };
        if (orderly) {
            consumer.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
                print.accept(msgs);
                return ConsumeOrderlyStatus.SUCCESS;
            });
        } else {
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                print.accept(msgs);
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
        }
        consumer.start();
        try {
            Support.require(enough.await(deadline - System.currentTimeMillis(), TimeUnit.MILLISECONDS),
                "timeout: received " + (n - enough.getCount()) + " of " + n);
            TimeUnit.MILLISECONDS.sleep(graceMillis); // the window in which nothing more may come
        } finally {
            consumer.shutdown();
        }
    }

    private static void orderedProduce(String namesrv, String topic, int shards, int perShard) throws Exception {
        PrintStream out = out();
        DefaultMQProducer producer = new DefaultMQProducer(topic + "_java_pg");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName(instance("interop-producer"));
        producer.start();
        try {
            SelectMessageQueueByHash selector = new SelectMessageQueueByHash();
            for (int seq = 0; seq < perShard; seq++) {
                for (int s = 0; s < shards; s++) {
                    String shard = "SHARD" + s;
                    Message m = new Message(topic, "Ordered", shard + "-" + seq,
                        ("java " + shard + " #" + seq).getBytes(StandardCharsets.UTF_8));
                    m.putUserProperty("shard", shard);
                    m.putUserProperty("seq", Integer.toString(seq));
                    SendResult r = producer.send(m, selector, shard);
                    Support.require(r.getSendStatus() == SendStatus.SEND_OK, "send: " + r);
                    out.println("SENT\tkey=" + shard + "-" + seq + "\tqid=" + r.getMessageQueue().getQueueId());
                }
            }
        } finally {
            producer.shutdown();
        }
    }

    private static void txProduce(String namesrv, String topic, long deadline) throws Exception {
        PrintStream out = out();
        CountDownLatch checked = new CountDownLatch(1);
        CountDownLatch delivered = new CountDownLatch(1);
        TransactionMQProducer producer = new TransactionMQProducer(topic + "_java_txpg");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName(instance("interop-tx"));
        producer.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return switch (msg.getKeys()) {
                    case "tx-commit" -> LocalTransactionState.COMMIT_MESSAGE;
                    case "tx-rollback" -> LocalTransactionState.ROLLBACK_MESSAGE;
                    default -> LocalTransactionState.UNKNOW;
                };
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                // The true state: a check-back may also come for a message whose end request
                // was still in flight.
                return switch (msg.getKeys()) {
                    case "tx-check" -> {
                        checked.countDown();
                        yield LocalTransactionState.COMMIT_MESSAGE;
                    }
                    case "tx-commit" -> LocalTransactionState.COMMIT_MESSAGE;
                    default -> LocalTransactionState.ROLLBACK_MESSAGE;
                };
            }
        });
        producer.start();
        // Watches the topic so the producer stays up until the checked-back commit is stored.
        DefaultMQPushConsumer watch = new DefaultMQPushConsumer(topic + "_java_txwatch");
        watch.setNamesrvAddr(namesrv);
        watch.setInstanceName(instance("interop-tx-watch"));
        watch.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        watch.subscribe(topic, "*");
        watch.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            if (msgs.stream().anyMatch(m -> "tx-check".equals(m.getKeys()))) {
                delivered.countDown();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        watch.start();
        try {
            for (String key : List.of("tx-commit", "tx-rollback", "tx-check")) {
                Message m = new Message(topic, "Tx", key, ("java " + key).getBytes(StandardCharsets.UTF_8));
                m.putUserProperty("shard", "tx");
                TransactionSendResult r = producer.sendMessageInTransaction(m, null);
                Support.require(r.getSendStatus() == SendStatus.SEND_OK, "half send: " + r);
                out.println("SENT\tkey=" + key + "\tstate=" + r.getLocalTransactionState());
            }
            Support.require(checked.await(deadline - System.currentTimeMillis(), TimeUnit.MILLISECONDS),
                "timeout: no check-back for tx-check");
            out.println("CHECKED\ttx-check");
            Support.require(delivered.await(deadline - System.currentTimeMillis(), TimeUnit.MILLISECONDS),
                "timeout: tx-check checked back but never delivered");
        } finally {
            watch.shutdown();
            producer.shutdown();
        }
    }
}
