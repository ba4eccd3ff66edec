package org.ferromq.compat;

import static org.ferromq.compat.Support.require;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageAccessor;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.ferromq.compat.Support.Collector;
import org.ferromq.compat.Support.Expected;
import org.ferromq.compat.Support.Failure;

/**
 * The broker scenarios of docs/scenarios.md with the official Java client (5.3.3):
 *
 * <pre>BrokerScenarios &lt;scenario&gt; &lt;namesrv host:port&gt; &lt;topic&gt; &lt;n&gt;</pre>
 *
 * <p>Scenarios: {@code async-oneway}, {@code batch}, {@code group}, {@code lite-pull},
 * {@code tag-filter}, {@code retry-dlq}, {@code orderly-dlq}, {@code retry-send-dlq}, {@code query-view}. Each creates its topic, uses groups
 * named after the topic (the topic carries the run id), checks every delivered message (topic,
 * body, tag, key, user properties) and ends with one {@code OK: <scenario>: ...} line whose numbers
 * the Rust test compares exactly. Exit 1 with {@code FAIL: ...} on stderr otherwise. The overall
 * deadline is -Dcompat.timeoutMs (default 90000).
 */
public final class BrokerScenarios {
    private BrokerScenarios() {}

    public static void main(String[] args) {
        Support.runScenarioMain("BrokerScenarios", args, BrokerScenarios::run);
    }

    private static String run(String scenario, String namesrv, String topic, int n) throws Exception {
        long deadline = Support.deadline();
        return switch (scenario) {
            case "async-oneway" -> asyncOneway(namesrv, topic, n, deadline);
            case "batch" -> batch(namesrv, topic, n, deadline);
            case "group" -> group(namesrv, topic, n, deadline);
            case "lite-pull" -> litePull(namesrv, topic, n, deadline);
            case "tag-filter" -> tagFilter(namesrv, topic, n, deadline);
            case "retry-dlq" -> retryDlq(namesrv, topic, false, deadline);
            case "orderly-dlq" -> retryDlq(namesrv, topic, true, deadline);
            case "retry-send-dlq" -> retrySendDlq(namesrv, topic, deadline);
            case "query-view" -> queryView(namesrv, topic, n, deadline);
            default -> throw new Failure("unknown scenario " + scenario);
        };
    }

    private static String run(String topic) {
        return topic.substring(topic.lastIndexOf('_') + 1);
    }

    /** A push consumer that hands every delivery to {@code collector} as {@code label}. */
    private static DefaultMQPushConsumer collecting(String namesrv, String group, String label, String topic,
        String expression, Collector collector) throws Exception {
        DefaultMQPushConsumer consumer = Support.pushConsumer(namesrv, group, group + "-" + label);
        consumer.subscribe(topic, expression);
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                collector.accept(label, m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        return consumer;
    }

    /** n async sends (callbacks) and n oneway sends; one push consumer receives all 2n intact. */
    private static String asyncOneway(String namesrv, String topic, int n, long deadline) throws Exception {
        Collector collector = new Collector();
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        try {
            Support.createTopic(producer, topic, 4, deadline);
            CountDownLatch callbacks = new CountDownLatch(n);
            AtomicInteger ok = new AtomicInteger();
            List<String> sendErrors = new CopyOnWriteArrayList<>();
            for (int i = 0; i < n; i++) {
                Expected e = Expected.of(topic, "Async", "ASYNC", i, run(topic));
                collector.expect(e);
                producer.send(e.message(), new SendCallback() {
                    @Override
                    public void onSuccess(SendResult r) {
                        if (r.getSendStatus() == SendStatus.SEND_OK && r.getMsgId() != null) {
                            ok.incrementAndGet();
                        } else {
                            sendErrors.add(e.key() + ": " + r);
                        }
                        callbacks.countDown();
                    }

                    @Override
                    public void onException(Throwable t) {
                        sendErrors.add(e.key() + ": " + t);
                        callbacks.countDown();
                    }
                });
            }
            require(callbacks.await(deadline - System.currentTimeMillis(), TimeUnit.MILLISECONDS),
                "only " + (n - callbacks.getCount()) + " of " + n + " async callbacks ran");
            require(sendErrors.isEmpty(), "async sends failed: " + sendErrors);
            for (int i = 0; i < n; i++) {
                Expected e = Expected.of(topic, "Oneway", "ONEWAY", i, run(topic));
                collector.expect(e);
                producer.sendOneway(e.message());
            }
            Support.log("sent " + n + " async (" + ok.get() + " callbacks SEND_OK) and " + n + " oneway");
        } finally {
            producer.shutdown();
        }
        DefaultMQPushConsumer consumer =
            collecting(namesrv, topic + "_cg", "c", topic, "Async || Oneway", collector);
        consumer.start();
        Support.log("consumer started");
        try {
            collector.awaitAll(deadline);
        } finally {
            consumer.shutdown();
            Support.log("consumer shut down");
        }
        return n + " async SEND_OK, " + collector.received.size() + " of " + 2 * n + " consumed intact";
    }

    /**
     * One batch of n messages: the send result names one queue and the first offset; the push
     * consumer receives all n, message i at that queue and offset first + i.
     */
    private static String batch(String namesrv, String topic, int n, long deadline) throws Exception {
        Collector collector = new Collector();
        SendResult result;
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        try {
            Support.createTopic(producer, topic, 4, deadline);
            List<Message> batch = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Expected e = Expected.of(topic, "Batch", "BATCH", i, run(topic));
                collector.expect(e);
                batch.add(e.message());
            }
            result = producer.send(batch);
            require(result.getSendStatus() == SendStatus.SEND_OK, "batch send status " + result.getSendStatus());
            require(result.getMsgId().split(",").length == n, "batch result msgIds " + result.getMsgId());
            Support.log("batch: " + result);
        } finally {
            producer.shutdown();
        }
        Map<String, MessageExt> byKey = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = Support.pushConsumer(namesrv, topic + "_cg", topic + "_cg");
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                byKey.put(m.getKeys(), m);
                collector.accept("c", m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        Support.log("consumer started");
        try {
            collector.awaitAll(deadline);
        } finally {
            consumer.shutdown();
            Support.log("consumer shut down");
        }
        String[] ids = result.getMsgId().split(",");
        int queue = result.getMessageQueue().getQueueId();
        long first = result.getQueueOffset();
        int sameIds = 0;
        for (int i = 0; i < n; i++) {
            MessageExt m = byKey.get(Expected.of(topic, "Batch", "BATCH", i, run(topic)).key());
            require(m.getQueueId() == queue && m.getQueueOffset() == first + i,
                "batch message " + i + " at queue " + m.getQueueId() + " offset " + m.getQueueOffset()
                    + ", expected queue " + queue + " offset " + (first + i));
            sameIds += ids[i].equals(m.getMsgId()) ? 1 : 0;
        }
        // Not asserted: an Apache 5.3.3 broker appends the batch's own properties (with the batch's
        // UNIQ_KEY) to every message, so they all arrive with that one msgId.
        Support.log("batch: " + sameIds + " of " + n + " consumed msgIds as in the send result");
        return n + " consumed; offsets " + first + ".." + (first + n - 1) + " contiguous in one queue";
    }

    /** The queues of {@code topic} the push consumer currently holds. */
    private static Set<Integer> heldQueues(DefaultMQPushConsumer consumer, String topic) {
        Set<Integer> held = new HashSet<>();
        consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().forEach((mq, pq) -> {
            if (mq.getTopic().equals(topic) && !pq.isDropped()) {
                held.add(mq.getQueueId());
            }
        });
        return held;
    }

    /**
     * Two members of one clustering group share the 4 queues (2 each); n messages spread over all
     * queues: both receive some, together exactly all. Then member a shuts down and n more
     * messages are sent: member b takes a's queues (NOTIFY_CONSUMER_IDS_CHANGED or its periodic
     * rebalance) and receives all of them, none of the first n again.
     */
    private static String group(String namesrv, String topic, int n, long deadline) throws Exception {
        require(n % 4 == 0, "n must be a multiple of 4");
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        DefaultMQPushConsumer a = null;
        DefaultMQPushConsumer b = null;
        try {
            Support.createTopic(producer, topic, 4, deadline);
            Collector first = new Collector();
            Collector second = new Collector();
            String group = topic + "_cg";
            // One listener per member that routes deliveries of either round to its collector.
            a = Support.pushConsumer(namesrv, group, group + "-a");
            b = Support.pushConsumer(namesrv, group, group + "-b");
            for (var member : List.of(Map.entry("a", a), Map.entry("b", b))) {
                String label = member.getKey();
                member.getValue().subscribe(topic, "*");
                member.getValue().registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                    for (MessageExt m : msgs) {
                        (m.getKeys().startsWith("FIRST") ? first : second).accept(label, m);
                    }
                    return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                });
            }
            a.start();
            b.start();
            DefaultMQPushConsumer ma = a;
            DefaultMQPushConsumer mb = b;
            long t0 = System.currentTimeMillis();
            Support.waitFor("both members to hold 2 queues each", deadline, () -> {
                Set<Integer> qa = heldQueues(ma, topic);
                Set<Integer> qb = heldQueues(mb, topic);
                return qa.size() == 2 && qb.size() == 2 && !qa.removeAll(qb);
            });
            Support.log("balanced after " + (System.currentTimeMillis() - t0) + " ms: a holds "
                + heldQueues(a, topic) + ", b holds " + heldQueues(b, topic));

            // The producer spreads the messages over the 4 queues; each goes to the queue's holder.
            Set<Integer> ofA = heldQueues(a, topic);
            long toA = 0;
            for (int i = 0; i < n; i++) {
                Expected e = Expected.of(topic, "Group", "FIRST", i, run(topic));
                first.expect(e);
                SendResult r = producer.send(e.message());
                require(r.getSendStatus() == SendStatus.SEND_OK, "send " + i + ": " + r.getSendStatus());
                toA += ofA.contains(r.getMessageQueue().getQueueId()) ? 1 : 0;
            }
            first.awaitAll(deadline);
            long byA = first.countBy("a");
            long byB = first.countBy("b");
            require(byA == toA && byB == n - toA, "first " + n + " split a=" + byA + " b=" + byB
                + ", but " + toA + " went to a's queues " + ofA);
            require(byA > 0 && byB > 0, "one member received nothing: a=" + byA + " b=" + byB);

            a.shutdown();
            a = null;
            long t1 = System.currentTimeMillis();
            for (int i = 0; i < n; i++) {
                Expected e = Expected.of(topic, "Group", "SECOND", i, run(topic));
                second.expect(e);
                SendResult r = producer.send(e.message());
                require(r.getSendStatus() == SendStatus.SEND_OK, "send " + i + ": " + r.getSendStatus());
            }
            second.awaitAll(deadline);
            Support.log("b took over all queues " + heldQueues(b, topic) + " and received the rest "
                + (System.currentTimeMillis() - t1) + " ms after a shut down");
            require(second.countBy("b") == n, "after a left, b received " + second.countBy("b") + " of " + n);
            require(heldQueues(b, topic).size() == 4, "b holds " + heldQueues(b, topic));
            // Late duplicates of the first round (a's offsets not committed) would show up here.
            first.check();
            return "first " + n + " split " + byA + "/" + byB + ", after a left b received all " + n;
        } finally {
            if (a != null) {
                a.shutdown();
            }
            if (b != null) {
                b.shutdown();
            }
            producer.shutdown();
        }
    }

    /** Polls until {@code want} messages arrived (failing on a repeat of queue@offset). */
    private static List<MessageExt> pollExactly(DefaultLitePullConsumer consumer, int want, long deadline)
        throws InterruptedException {
        List<MessageExt> got = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        while (got.size() < want) {
            require(System.currentTimeMillis() < deadline, "timeout: polled " + got.size() + " of " + want);
            for (MessageExt m : consumer.poll(200)) {
                require(seen.add(m.getQueueId() + "@" + m.getQueueOffset()),
                    "polled queue " + m.getQueueId() + " offset " + m.getQueueOffset() + " twice");
                got.add(m);
            }
        }
        require(got.size() == want, "polled " + got.size() + " messages, expected " + want);
        List<MessageExt> extra = consumer.poll(300);
        require(extra.isEmpty(), "polled " + extra.size() + " more than expected, first at queue "
            + (extra.isEmpty() ? "" : extra.get(0).getQueueId() + " offset " + extra.get(0).getQueueOffset()));
        return got;
    }

    private static DefaultLitePullConsumer litePullConsumer(String namesrv, String group, String instance)
        throws Exception {
        DefaultLitePullConsumer consumer = new DefaultLitePullConsumer(group);
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName(instance);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setAutoCommit(false);
        consumer.setPullBatchSize(8);
        consumer.start();
        Support.log("consumer started");
        return consumer;
    }

    /**
     * Lite pull consumer, two queues, n messages (i to queue i % 2): assign + poll reads all n
     * once, at the offsets the sends reported; seek back on queue 0 re-reads its tail; a commit
     * of (queue 0: 3, queue 1: 1) survives a restart of the consumer, which then reads exactly
     * the messages from those offsets on.
     */
    private static String litePull(String namesrv, String topic, int n, long deadline) throws Exception {
        require(n % 2 == 0 && n >= 8, "n must be even and at least 8");
        Map<String, Expected> expected = new HashMap<>();
        Map<String, String> where = new HashMap<>();
        List<MessageQueue> queues;
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        try {
            queues = Support.createTopic(producer, topic, 2, deadline);
            for (int i = 0; i < n; i++) {
                Expected e = Expected.of(topic, "Pull", "PULL", i, run(topic));
                SendResult r = producer.send(e.message(), queues.get(i % 2));
                require(r.getSendStatus() == SendStatus.SEND_OK, "send " + i + ": " + r.getSendStatus());
                require(r.getQueueOffset() == i / 2, "send " + i + " stored at offset " + r.getQueueOffset()
                    + " of queue " + r.getMessageQueue().getQueueId() + ", expected " + i / 2);
                expected.put(e.key(), e);
                where.put(e.key(), (i % 2) + "@" + (i / 2));
            }
        } finally {
            producer.shutdown();
        }
        String group = topic + "_cg";
        MessageQueue q0 = queues.get(0);
        MessageQueue q1 = queues.get(1);
        int perQueue = n / 2;

        DefaultLitePullConsumer first = litePullConsumer(namesrv, group, group + "-1");
        try {
            first.assign(queues);
            checkPolled(pollExactly(first, n, deadline), expected, where, 0, 0);
            first.seek(q0, 2);
            List<MessageExt> again = pollExactly(first, perQueue - 2, deadline);
            checkPolled(again, expected, where, 2, perQueue);
            Map<MessageQueue, Long> commit = new HashMap<>();
            commit.put(q0, 3L);
            commit.put(q1, 1L);
            first.commitSync(commit, true);
        } finally {
            first.shutdown();
        }

        DefaultLitePullConsumer second = litePullConsumer(namesrv, group, group + "-2");
        try {
            long c0 = second.committed(q0);
            long c1 = second.committed(q1);
            require(c0 == 3 && c1 == 1, "committed offsets after restart: queue 0 " + c0 + ", queue 1 " + c1
                + "; expected 3 and 1");
            second.assign(queues);
            List<MessageExt> rest = pollExactly(second, n - 4, deadline);
            checkPolled(rest, expected, where, 3, 1);
        } finally {
            second.shutdown();
        }
        return "polled " + n + " once, re-read " + (perQueue - 2) + " after seek, committed 3/1 survived restart, "
            + (n - 4) + " read after restart";
    }

    /** Every polled message intact, at its send position, and queue 0 from {@code from0}, queue 1 from {@code from1}. */
    private static void checkPolled(List<MessageExt> polled, Map<String, Expected> expected, Map<String, String> where,
        long from0, long from1) {
        for (MessageExt m : polled) {
            Expected e = expected.get(m.getKeys());
            require(e != null, "unexpected message keys=" + m.getKeys());
            List<String> bad = e.differences(m);
            require(bad.isEmpty(), "key " + e.key() + ": " + bad);
            String at = m.getQueueId() + "@" + m.getQueueOffset();
            require(where.get(e.key()).equals(at), "key " + e.key() + " polled at " + at + ", sent to "
                + where.get(e.key()));
            long from = m.getQueueId() == 0 ? from0 : from1;
            require(m.getQueueOffset() >= from, "polled queue " + at + ", expected offsets from " + from);
        }
    }

    /**
     * Tags A, B, C (n each, interleaved) and a final C sentinel in a one-queue topic; a push
     * consumer subscribed to "A || C" with one consume thread receives exactly the A and C ones.
     */
    private static String tagFilter(String namesrv, String topic, int n, long deadline) throws Exception {
        Collector collector = new Collector();
        Expected sentinel;
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        try {
            Support.createTopic(producer, topic, 1, deadline);
            for (int i = 0; i < 3 * n; i++) {
                String tag = List.of("A", "B", "C").get(i % 3);
                Expected e = Expected.of(topic, tag, "TAG" + tag, i, run(topic));
                if (!tag.equals("B")) {
                    collector.expect(e);
                }
                SendResult r = producer.send(e.message());
                require(r.getSendStatus() == SendStatus.SEND_OK, "send " + i + ": " + r.getSendStatus());
            }
            sentinel = Expected.of(topic, "C", "END", 3 * n, run(topic));
            collector.expect(sentinel);
            require(producer.send(sentinel.message()).getSendStatus() == SendStatus.SEND_OK, "sentinel send");
        } finally {
            producer.shutdown();
        }
        DefaultMQPushConsumer consumer = collecting(namesrv, topic + "_cg", "c", topic, "A || C", collector);
        consumer.setConsumeThreadMin(1);
        consumer.setConsumeThreadMax(1);
        consumer.start();
        Support.log("consumer started");
        try {
            // One queue, one consume thread: once the sentinel is in, everything before it is too.
            Support.waitFor("the sentinel", deadline,
                () -> !collector.errors.isEmpty() || collector.received.containsKey(sentinel.key()));
            collector.check();
        } finally {
            consumer.shutdown();
            Support.log("consumer shut down");
        }
        Map<String, Integer> byTag = new TreeMap<>();
        for (String key : collector.received.keySet()) {
            byTag.merge(collector.expected.get(key).tag(), 1, Integer::sum);
        }
        return "received " + byTag + " of A/B/C x" + n + " (+1 C sentinel)";
    }

    /**
     * A listener that always answers RECONSUME_LATER, maxReconsumeTimes 2: the message comes back
     * with reconsumeTimes 0, 1, 2, then lands in %DLQ%group (read with a lite pull consumer).
     * With {@code orderly}, an orderly listener always answers SUSPEND_CURRENT_QUEUE_A_MOMENT: the
     * client redelivers locally with reconsumeTimes 0, 1, 2, then sends the message to
     * %RETRY%group while holding the queue lock, and the broker dead-letters it.
     */
    private static String retryDlq(String namesrv, String topic, boolean orderly, long deadline) throws Exception {
        String group = topic + "_cg";
        Expected e = Expected.of(topic, "Retry", "RETRY", 0, run(topic));
        SendResult sent;
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        try {
            Support.createTopic(producer, topic, 1, deadline);
            createRetryTopic(namesrv, producer, group, topic, deadline);
            sent = producer.send(e.message());
            require(sent.getSendStatus() == SendStatus.SEND_OK, "send: " + sent.getSendStatus());

            List<String> deliveries = new CopyOnWriteArrayList<>();
            List<Integer> reconsumeTimes = new CopyOnWriteArrayList<>();
            DefaultMQPushConsumer consumer = Support.pushConsumer(namesrv, group, group);
            consumer.setMaxReconsumeTimes(2);
            consumer.subscribe(topic, "*");
            java.util.function.Consumer<List<MessageExt>> record = msgs -> {
                for (MessageExt m : msgs) {
                    List<String> bad = e.differences(m);
                    if (!sent.getMsgId().equals(m.getMsgId())) {
                        bad.add("msgId " + m.getMsgId());
                    }
                    deliveries.add(bad.isEmpty() ? "ok" : bad.toString());
                    reconsumeTimes.add(m.getReconsumeTimes());
                    Support.log("delivery " + reconsumeTimes.size() + ": reconsumeTimes "
                        + m.getReconsumeTimes() + " from queue " + m.getQueueId() + " offset " + m.getQueueOffset()
                        + " of " + m.getProperty(MessageConst.PROPERTY_RETRY_TOPIC) + "/" + m.getTopic());
                }
            };
            if (orderly) {
                consumer.setSuspendCurrentQueueTimeMillis(100);
                consumer.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
                    record.accept(msgs);
                    return ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT;
                });
            } else {
                consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                    record.accept(msgs);
                    return ConsumeConcurrentlyStatus.RECONSUME_LATER;
                });
            }
            consumer.start();
            Support.log("consumer started");
            MessageExt dead;
            try {
                Support.waitFor("3 deliveries", deadline, () -> reconsumeTimes.size() >= 3);
                // The DLQ topic is created by the broker; its route shows up once registered.
                // A fourth delivery means the message was not dead-lettered: stop waiting then.
                String dlq = "%DLQ%" + group;
                List<MessageQueue> dlqQueues = List.of();
                while (dlqQueues.isEmpty()) {
                    require(reconsumeTimes.size() <= 3, "delivered again after reconsumeTimes 2, reconsumeTimes "
                        + reconsumeTimes + "; %DLQ% route: none");
                    require(System.currentTimeMillis() < deadline, "timeout: no route for " + dlq
                        + " after deliveries with reconsumeTimes " + reconsumeTimes);
                    try {
                        dlqQueues = producer.fetchPublishMessageQueues(dlq);
                    } catch (Exception notYet) {
                        dlqQueues = List.of();
                    }
                    if (dlqQueues.isEmpty()) {
                        TimeUnit.MILLISECONDS.sleep(100); // polling a condition, bounded by the deadline
                    }
                }
                require(dlqQueues.size() == 1, "DLQ has " + dlqQueues.size() + " queues");
                DefaultLitePullConsumer reader = litePullConsumer(namesrv, topic + "_dlq_reader", topic + "-dlq");
                try {
                    reader.assign(dlqQueues);
                    List<MessageExt> polled = pollExactly(reader, 1, deadline);
                    dead = polled.get(0);
                } finally {
                    reader.shutdown();
                }
                require(producer.maxOffset(dlqQueues.get(0)) == 1,
                    "DLQ max offset " + producer.maxOffset(dlqQueues.get(0)));
            } finally {
                consumer.shutdown();
                Support.log("consumer shut down");
            }
            require(reconsumeTimes.equals(List.of(0, 1, 2)), "reconsumeTimes of the deliveries " + reconsumeTimes
                + ", expected [0, 1, 2]");
            require(deliveries.stream().allMatch("ok"::equals), "damaged redeliveries: " + deliveries);
            String body = new String(dead.getBody(), StandardCharsets.UTF_8);
            require(body.equals(e.body()) && e.key().equals(dead.getKeys()) && e.tag().equals(dead.getTags())
                && e.idx().equals(dead.getUserProperty("idx")), "DLQ message differs: " + dead);
            require(sent.getMsgId().equals(dead.getMsgId()), "DLQ msgId " + dead.getMsgId());
            require(topic.equals(dead.getProperty(MessageConst.PROPERTY_RETRY_TOPIC)),
                "DLQ RETRY_TOPIC " + dead.getProperty(MessageConst.PROPERTY_RETRY_TOPIC));
            Support.log("DLQ message: reconsumeTimes " + dead.getReconsumeTimes() + ", properties "
                + dead.getProperties());
            return "deliveries with reconsumeTimes " + reconsumeTimes + ", then 1 message in %DLQ%";
        } finally {
            producer.shutdown();
        }
    }

    /**
     * Makes the broker create {@code %RETRY%group} (a member's heartbeat does) and waits for its
     * route, with a short-lived member that consumes nothing, so that the scenario's consumer finds
     * the retry topic's route when it starts. (A consumer that starts first only learns it at its
     * next route poll, up to 30 s later, as with an Apache broker.)
     */
    private static List<MessageQueue> createRetryTopic(String namesrv, DefaultMQProducer producer, String group,
        String topic, long deadline) throws Exception {
        DefaultMQPushConsumer warmUp = Support.pushConsumer(namesrv, group, group + "-warmup");
        warmUp.subscribe(topic, "*");
        warmUp.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) ->
            ConsumeConcurrentlyStatus.RECONSUME_LATER);
        warmUp.start();
        try {
            return Support.waitForRoute(producer, "%RETRY%" + group, deadline);
        } finally {
            warmUp.shutdown();
        }
    }

    /** Waits for the route of {@code topic}, failing early with {@code abort}'s message. */
    private static List<MessageQueue> routeOf(DefaultMQProducer producer, String topic, long deadline,
        java.util.function.Supplier<String> abort) throws InterruptedException {
        while (true) {
            String why = abort.get();
            require(why == null, why + "; no route for " + topic);
            require(System.currentTimeMillis() < deadline, "timeout: no route for " + topic);
            try {
                List<MessageQueue> queues = producer.fetchPublishMessageQueues(topic);
                if (!queues.isEmpty()) {
                    return queues;
                }
            } catch (Exception notYet) {
                // no route yet
            }
            TimeUnit.MILLISECONDS.sleep(100); // polling a condition, bounded by the deadline
        }
    }

    /** The only message in a one-queue topic, read with a lite pull consumer of a fresh group. */
    private static MessageExt onlyMessage(String namesrv, String reader, List<MessageQueue> queues, long deadline)
        throws Exception {
        require(queues.size() == 1, queues.size() + " queues in " + queues);
        DefaultLitePullConsumer consumer = litePullConsumer(namesrv, reader, reader);
        try {
            consumer.assign(queues);
            return pollExactly(consumer, 1, deadline).get(0);
        } finally {
            consumer.shutdown();
            Support.log("consumer shut down");
        }
    }

    /**
     * What the push consumer does itself when CONSUMER_SEND_MSG_BACK fails: a SEND_MESSAGE to
     * %RETRY%group with RETRY_TOPIC, RECONSUME_TIME and MAX_RECONSUME_TIMES (maxReconsumeTimes 2).
     * With reconsumeTimes 2 the broker stores it in the retry topic and the group consumes it
     * (topic restored, reconsumeTimes 2); with reconsumeTimes 3 (> 2) it goes to %DLQ%group.
     */
    private static String retrySendDlq(String namesrv, String topic, long deadline) throws Exception {
        String group = topic + "_cg";
        String retryTopic = "%RETRY%" + group;
        Collector collector = new Collector();
        Map<String, Integer> reconsumeTimes = new ConcurrentHashMap<>();
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        DefaultMQPushConsumer consumer = Support.pushConsumer(namesrv, group, group);
        try {
            Support.createTopic(producer, topic, 1, deadline);
            List<MessageQueue> retryQueues = createRetryTopic(namesrv, producer, group, topic, deadline);
            Expected within = Expected.of(topic, "Retry", "WITHIN", 0, run(topic));
            Expected over = Expected.of(topic, "Retry", "OVER", 1, run(topic));
            consumer.subscribe(topic, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                    reconsumeTimes.put(m.getKeys(), m.getReconsumeTimes());
                    if (over.key().equals(m.getKeys())) {
                        collector.errors.add("the reconsumeTimes 3 message was stored in " + retryTopic
                            + " (delivered from queue " + m.getQueueId() + " offset " + m.getQueueOffset()
                            + " with reconsumeTimes " + m.getReconsumeTimes() + "), not in %DLQ%" + group);
                        continue;
                    }
                    collector.accept("c", m);
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            Support.log("consumer started");

            collector.expect(within);
            for (var entry : List.of(Map.entry(within, 2), Map.entry(over, 3))) {
                Message m = entry.getKey().message();
                m.setTopic(retryTopic);
                MessageAccessor.putProperty(m, MessageConst.PROPERTY_RETRY_TOPIC, topic);
                MessageAccessor.setReconsumeTime(m, entry.getValue().toString());
                MessageAccessor.setMaxReconsumeTimes(m, "2");
                SendResult r = producer.send(m);
                require(r.getSendStatus() == SendStatus.SEND_OK, "send to " + retryTopic + ": " + r);
            }
            collector.awaitAll(deadline);
            require(reconsumeTimes.get(within.key()) == 2, "reconsumeTimes " + reconsumeTimes);

            String dlq = "%DLQ%" + group;
            List<MessageQueue> dlqQueues = routeOf(producer, dlq, deadline, () -> {
                // A second message in the retry topic means "over" was stored there, not dead-lettered.
                try {
                    long stored = producer.maxOffset(retryQueues.get(0));
                    return stored > 1 ? "reconsumeTimes 3 > maxReconsumeTimes 2 stored in " + retryTopic
                        + " (max offset " + stored + ") instead of " + dlq : null;
                } catch (Exception e) {
                    return "maxOffset of " + retryTopic + ": " + e;
                }
            });
            MessageExt dead = onlyMessage(namesrv, topic + "_dlq_reader", dlqQueues, deadline);
            require(over.key().equals(dead.getKeys()) && over.body().equals(new String(dead.getBody(),
                StandardCharsets.UTF_8)) && topic.equals(dead.getProperty(MessageConst.PROPERTY_RETRY_TOPIC)),
                "DLQ message differs: " + dead);
            long stored = producer.maxOffset(retryQueues.get(0));
            require(stored == 1, "retry topic max offset " + stored + ", expected 1");
            collector.check();
            return "reconsumeTimes 2 consumed from %RETRY%, reconsumeTimes 3 in %DLQ%";
        } finally {
            consumer.shutdown();
            Support.log("consumer shut down");
            producer.shutdown();
        }
    }

    /**
     * n messages with their own keys plus two sharing a key: queryMessage by key finds exactly the
     * right ones (the index is built asynchronously, so it is polled), viewMessage by offsetMsgId
     * and by client msgId returns each message intact.
     */
    private static String queryView(String namesrv, String topic, int n, long deadline) throws Exception {
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        try {
            Support.createTopic(producer, topic, 4, deadline);
            long begin = System.currentTimeMillis() - 60_000;
            List<Expected> sentMessages = new ArrayList<>();
            List<SendResult> results = new ArrayList<>();
            for (int i = 0; i < n + 2; i++) {
                Expected e = Expected.of(topic, "Query", "QUERY", i, run(topic));
                if (i >= n) {
                    e = new Expected(topic, e.tag(), "SHARED-" + run(topic), e.body(), e.idx(), e.run());
                }
                SendResult r = producer.send(e.message());
                require(r.getSendStatus() == SendStatus.SEND_OK, "send " + i + ": " + r.getSendStatus());
                sentMessages.add(e);
                results.add(r);
            }
            long end = System.currentTimeMillis() + 60_000;
            for (int i = 0; i < n + 1; i++) {
                Expected e = sentMessages.get(i);
                int want = i < n ? 1 : 2;
                List<MessageExt> found = List.of();
                while (found.size() < want && System.currentTimeMillis() < deadline) {
                    try {
                        QueryResult q = producer.queryMessage(topic, e.key(), 32, begin, end);
                        found = q.getMessageList();
                    } catch (Exception notYet) {
                        found = List.of();
                    }
                    if (found.size() < want) {
                        TimeUnit.MILLISECONDS.sleep(50); // the index is built asynchronously
                    }
                }
                require(found.size() == want, "queryMessage(" + e.key() + ") found " + found.size()
                    + " messages, expected " + want);
                Set<String> idsFound = new HashSet<>();
                for (MessageExt m : found) {
                    idsFound.add(m.getMsgId());
                    require(e.key().equals(m.getKeys()) && topic.equals(m.getTopic()),
                        "queryMessage(" + e.key() + ") returned keys " + m.getKeys() + " topic " + m.getTopic());
                }
                Set<String> idsSent = new HashSet<>();
                for (int j = i; j < (i < n ? i + 1 : n + 2); j++) {
                    idsSent.add(results.get(j).getMsgId());
                }
                require(idsFound.equals(idsSent), "queryMessage(" + e.key() + ") ids " + idsFound + ", sent " + idsSent);
            }
            for (int i = 0; i < n + 2; i++) {
                Expected e = sentMessages.get(i);
                SendResult r = results.get(i);
                // The implementation's viewMessage: VIEW_MESSAGE_BY_ID only, no fallback to a key query.
                MessageExt byOffset = producer.getDefaultMQProducerImpl().viewMessage(topic, r.getOffsetMsgId());
                List<String> bad = e.differences(byOffset);
                require(bad.isEmpty(), "viewMessage(offsetMsgId " + r.getOffsetMsgId() + "): " + bad);
                require(r.getMsgId().equals(byOffset.getMsgId()) && byOffset.getQueueId() == r.getMessageQueue().getQueueId()
                        && byOffset.getQueueOffset() == r.getQueueOffset(),
                    "viewMessage(offsetMsgId " + r.getOffsetMsgId() + ") is msgId " + byOffset.getMsgId() + " at "
                        + byOffset.getQueueId() + "@" + byOffset.getQueueOffset() + ", sent " + r);
                // A client msgId is no offsetMsgId: the client falls back to QUERY_MESSAGE by UNIQ_KEY.
                MessageExt byMsgId = producer.viewMessage(topic, r.getMsgId());
                bad = e.differences(byMsgId);
                require(bad.isEmpty(), "viewMessage(msgId " + r.getMsgId() + "): " + bad);
            }
            return (n + 1) + " keys queried (" + n + " x1, 1 x2), " + (n + 2) + " viewed by offsetMsgId and msgId";
        } finally {
            producer.shutdown();
        }
    }
}
