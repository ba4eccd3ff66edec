package org.ferromq.compat;

import static org.ferromq.compat.Support.require;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.impl.factory.MQClientInstance;
import org.apache.rocketmq.client.producer.selector.SelectMessageQueueByHash;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.body.LockBatchRequestBody;
import org.apache.rocketmq.remoting.protocol.body.UnlockBatchRequestBody;
import org.apache.rocketmq.remoting.protocol.heartbeat.MessageModel;
import org.ferromq.compat.Support.Collector;
import org.ferromq.compat.Support.Expected;
import org.ferromq.compat.Support.Failure;

/**
 * The ordered, delayed and broadcast scenarios of docs/scenarios.md with the official Java client
 * (5.3.3):
 *
 * <pre>OrderedDelayedScenarios &lt;scenario&gt; &lt;namesrv host:port&gt; &lt;topic&gt; &lt;n&gt;</pre>
 *
 * <p>Scenarios: {@code ordered} (n messages per sharding key), {@code delayed} (n messages),
 * {@code broadcast} (n messages), {@code delayed-restart-send} and {@code delayed-restart-receive}
 * (the two halves around a broker restart; n unused). Each uses groups named after the topic (the
 * topic carries the run id), checks every delivered message (topic, body, tag, key, user
 * properties) and ends with one {@code OK: <scenario>: ...} line whose numbers the Rust test
 * compares exactly. Exit 1 with {@code FAIL: ...} on stderr otherwise. The overall deadline is
 * -Dcompat.timeoutMs (default 90000).
 */
public final class OrderedDelayedScenarios {
    private OrderedDelayedScenarios() {}

    public static void main(String[] args) {
        Support.runScenarioMain("OrderedDelayedScenarios", args, OrderedDelayedScenarios::run);
    }

    private static String run(String scenario, String namesrv, String topic, int n) throws Exception {
        long deadline = Support.deadline();
        return switch (scenario) {
            case "ordered" -> ordered(namesrv, topic, n, deadline);
            case "delayed" -> delayed(namesrv, topic, n, deadline);
            case "broadcast" -> broadcast(namesrv, topic, n, deadline);
            case "delayed-restart-send" -> delayedRestartSend(namesrv, topic, deadline);
            case "delayed-restart-receive" -> delayedRestartReceive(namesrv, topic, deadline);
            default -> throw new Failure("unknown scenario " + scenario);
        };
    }

    private static String run(String topic) {
        return topic.substring(topic.lastIndexOf('_') + 1);
    }

    /** The queues of {@code topic} the push consumer holds (for orderly: also locked). */
    private static Set<Integer> heldQueues(DefaultMQPushConsumer consumer, String topic, boolean locked) {
        Set<Integer> held = new HashSet<>();
        consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().forEach((mq, pq) -> {
            if (mq.getTopic().equals(topic) && !pq.isDropped() && (!locked || pq.isLocked())) {
                held.add(mq.getQueueId());
            }
        });
        return held;
    }

    /** Whether the members hold (and have locked) disjoint queue sets of exactly these sizes, in order. */
    private static boolean holding(Map<String, DefaultMQPushConsumer> members, String topic, int... sizes) {
        Set<Integer> all = new HashSet<>();
        int total = 0;
        int i = 0;
        for (DefaultMQPushConsumer c : members.values()) {
            Set<Integer> held = heldQueues(c, topic, true);
            if (held.size() != sizes[i]) {
                return false;
            }
            total += sizes[i++];
            all.addAll(held);
        }
        return all.size() == total;
    }

    private static String holdings(Map<String, DefaultMQPushConsumer> members, String topic) {
        Map<String, Set<Integer>> held = new TreeMap<>();
        members.forEach((label, c) -> held.put(label, heldQueues(c, topic, true)));
        return held.toString();
    }

    // ------------------------------------------------------------------------------------------
    // ordered

    /** One delivery to an orderly listener, in the order the listeners saw them. */
    private record Delivery(String member, String shard, int seq, int queueId, long queueOffset) {}

    private static final List<String> SHARDS = List.of("ORDER0", "ORDER1", "ORDER2");
    /**
     * Owners of each queue over the scenario (AVG over sorted client ids a &lt; b &lt; c): with a, b
     * it is a a b; with a, b, c it is a b c; with b, c it is b b c.
     */
    private static final Map<Integer, List<String>> OWNERS =
        Map.of(0, List.of("a", "b"), 1, List.of("a", "b"), 2, List.of("b", "c"));
    /** Simulated work per message, so that every phase leaves a backlog the rebalance cuts into. */
    private static final long WORK_MILLIS = 15;

    /**
     * Ordered: 3 sharding keys x m messages (seq 0..m-1 per key in user property {@code idx}, sent in
     * that order, interleaved across keys, one round of 3 every {@value #PACE_MILLIS} ms) through
     * {@link SelectMessageQueueByHash} (key hash modulo the route's queues) into a 3-queue topic,
     * consumed by an orderly push group ({@link MessageListenerOrderly}, each message takes
     * {@value #WORK_MILLIS} ms) whose membership changes while the messages flow: members a and b
     * (a holds queues 0 and 1, b queue 2) get the first third; member c joins and the stream goes
     * on while queue 1 moves from a to b and queue 2 from b to c; then a shuts down and the stream
     * goes on while queue 0 moves from a to b.
     *
     * <p>What is asserted, and why:
     * <ol>
     * <li>Every send is SEND_OK and lands in the queue the selector picked; the 3 keys hash to 3
     *     different queues, so every queue move moves a key.</li>
     * <li>The broker grants a queue's lock to one client of the group at a time ({@link #lockProbe}).</li>
     * <li>Each key is first delivered by its queue's owners in turn ({@link #OWNERS}): the old owner
     *     before the move, the new one after it.</li>
     * <li>No message is lost: every (key, seq) is delivered at least once, intact.</li>
     * <li>Each key's messages are all delivered from that one queue.</li>
     * <li>Per key, first deliveries are in strictly increasing order: the first time seq s is seen,
     *     every seq below s has been seen already (so first deliveries are exactly 0, 1, ..., m-1).</li>
     * <li>RocketMQ is at-least-once: when a queue moves, its new owner resumes from the offset the
     *     old owner last committed to the broker (committed asynchronously), so it may deliver again
     *     a few messages the old owner already consumed. Such a redelivery is allowed only in this
     *     form: a key's next delivery either continues with seq + 1, or restarts at an earlier seq
     *     (a rewind) by a different member than the one that delivered the key's previous message,
     *     and a rewind resumes the same contiguous order. So two members consuming one queue at the
     *     same time (a lock granted twice), a member re-reading without a change of owner, or a gap,
     *     all fail.</li>
     * </ol>
     */
    private static String ordered(String namesrv, String topic, int m, long deadline) throws Exception {
        require(m % 3 == 0 && m >= 6, "m must be a multiple of 3, at least 6");
        String run = run(topic);
        String group = topic + "_cg";
        Map<String, Expected> expected = new HashMap<>();
        Map<String, Integer> shardQueue = new LinkedHashMap<>();
        ConcurrentLinkedQueue<Delivery> deliveries = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        Set<String> firstSeen = ConcurrentHashMap.newKeySet();

        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        Map<String, DefaultMQPushConsumer> members = new LinkedHashMap<>();
        try {
            List<MessageQueue> queues = Support.createTopic(producer, topic, 3, deadline);
            SelectMessageQueueByHash selector = new SelectMessageQueueByHash();
            for (String shard : SHARDS) {
                shardQueue.put(shard, selector.select(queues, null, shard).getQueueId());
            }
            require(new HashSet<>(shardQueue.values()).size() == SHARDS.size(),
                "the sharding keys do not hash to distinct queues: " + shardQueue);
            Support.log("sharding key -> queue: " + shardQueue);
            for (String shard : SHARDS) {
                for (int seq = 0; seq < m; seq++) {
                    Expected e = Expected.of(topic, "Ordered", shard, seq, run);
                    expected.put(e.key(), e);
                }
            }

            for (String label : List.of("a", "b", "c")) {
                DefaultMQPushConsumer c = Support.pushConsumer(namesrv, group, group + "-" + label);
                c.subscribe(topic, "*");
                c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
                    for (MessageExt msg : msgs) {
                        Expected e = expected.get(msg.getKeys());
                        if (e == null) {
                            errors.add(label + ": unexpected message keys=" + msg.getKeys());
                            continue;
                        }
                        List<String> bad = e.differences(msg);
                        if (!bad.isEmpty()) {
                            errors.add(label + ": key " + e.key() + ": " + bad);
                        }
                        String shard = e.key().substring(0, e.key().indexOf('-'));
                        deliveries.add(new Delivery(label, shard, Integer.parseInt(e.idx()), msg.getQueueId(),
                            msg.getQueueOffset()));
                        firstSeen.add(e.key());
                        try {
                            TimeUnit.MILLISECONDS.sleep(WORK_MILLIS); // simulated work, see above
                        } catch (InterruptedException ie) {
                            Thread.currentThread().interrupt();
                            return ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT;
                        }
                    }
                    return ConsumeOrderlyStatus.SUCCESS;
                });
                members.put(label, c);
            }

            // Phase 1: a and b. Sorted client ids a < b: AVG gives a queues 0 and 1, b queue 2.
            Map<String, DefaultMQPushConsumer> ab = new LinkedHashMap<>();
            ab.put("a", members.get("a"));
            ab.put("b", members.get("b"));
            members.get("a").start();
            members.get("b").start();
            long t0 = System.currentTimeMillis();
            Support.waitFor("a and b to hold and lock 2 + 1 queues", deadline, () -> holding(ab, topic, 2, 1));
            Support.log("a and b balanced after " + (System.currentTimeMillis() - t0) + " ms: "
                + holdings(ab, topic));
            int third = m / 3;
            Map<String, Integer> sentQueue = new HashMap<>();
            int seq = 0;
            while (seq < third) {
                sendRound(producer, selector, topic, run, seq++, expected, sentQueue);
            }

            // Phase 2: c joins; AVG gives a, b, c queues 0, 1, 2, so queue 1 moves from a to b and
            // queue 2 from b to c. The stream goes on until the three have settled (at most to
            // 2m/3 - 1; past that the rest waits for them).
            members.get("c").start();
            long t1 = System.currentTimeMillis();
            Support.log("c started after seq " + (seq - 1) + "; " + firstSeen.size() + " of " + 3 * seq + " consumed");
            while (seq < 2 * third && !holding(members, topic, 1, 1, 1)) {
                sendRound(producer, selector, topic, run, seq++, expected, sentQueue);
            }
            Support.waitFor("a, b and c to hold and lock 1 queue each", deadline,
                () -> holding(members, topic, 1, 1, 1));
            Support.log("a, b, c settled " + (System.currentTimeMillis() - t1) + " ms after c started, sent up to seq "
                + (seq - 1) + ": " + holdings(members, topic) + "; " + firstSeen.size() + " of " + 3 * seq + " consumed");

            // Phase 3: a leaves; AVG gives b queues 0 and 1, so queue 0 moves from a to b. The
            // stream goes on to the end.
            DefaultMQPushConsumer a = members.remove("a");
            long t2 = System.currentTimeMillis();
            a.shutdown();
            Support.log("a shut down in " + (System.currentTimeMillis() - t2) + " ms");
            int settledAt = -1;
            while (seq < m) {
                sendRound(producer, selector, topic, run, seq++, expected, sentQueue);
                if (settledAt < 0 && holding(members, topic, 2, 1)) {
                    settledAt = seq - 1;
                }
            }
            Support.waitFor("b and c to hold and lock 2 + 1 queues", deadline, () -> holding(members, topic, 2, 1));
            Support.log("b, c settled " + (System.currentTimeMillis() - t2) + " ms after a left (sent up to seq "
                + (settledAt < 0 ? seq - 1 : settledAt) + " by then): " + holdings(members, topic));

            lockProbe(producer, group, queues, run);

            while (errors.isEmpty() && firstSeen.size() < expected.size()) {
                require(System.currentTimeMillis() < deadline, "timeout: " + firstSeen.size() + " of "
                    + expected.size() + " delivered; missing " + missing(expected.keySet(), firstSeen));
                TimeUnit.MILLISECONDS.sleep(20); // polling a condition, bounded by the deadline
            }
            require(errors.isEmpty(), errors.size() + " bad deliveries: " + errors);
            for (Map.Entry<String, Integer> sent : sentQueue.entrySet()) {
                String shard = sent.getKey().substring(0, sent.getKey().indexOf('-'));
                require(sent.getValue().equals(shardQueue.get(shard)), "message " + sent.getKey() + " was stored in queue "
                    + sent.getValue() + ", the selector picked " + shardQueue.get(shard));
            }
        } finally {
            for (DefaultMQPushConsumer c : members.values()) {
                c.shutdown();
            }
            producer.shutdown();
        }

        List<Delivery> all = new ArrayList<>(deliveries);
        int redelivered = 0;
        Map<String, Integer> perMember = new TreeMap<>();
        for (String shard : SHARDS) {
            int queue = shardQueue.get(shard);
            int highest = -1;
            Delivery previous = null;
            List<String> trace = new ArrayList<>();
            List<String> owners = new ArrayList<>();
            List<String> handovers = new ArrayList<>();
            for (Delivery d : all) {
                if (!d.shard().equals(shard)) {
                    continue;
                }
                trace.add(d.member() + ":" + d.seq());
                require(d.queueId() == queue, shard + " seq " + d.seq() + " delivered from queue " + d.queueId()
                    + ", the key's queue is " + queue);
                require(d.queueOffset() == offsetOf(all, shard, d.seq()), shard + " seq " + d.seq()
                    + " delivered at offsets " + d.queueOffset() + " and " + offsetOf(all, shard, d.seq()));
                if (d.seq() > highest) {
                    require(d.seq() == highest + 1, shard + ": first delivery of seq " + d.seq() + " after "
                        + highest + " (a gap or out of order); deliveries " + trace);
                    highest = d.seq();
                    if (owners.isEmpty() || !owners.get(owners.size() - 1).equals(d.member())) {
                        owners.add(d.member());
                        handovers.add(d.member() + " from seq " + d.seq());
                    }
                } else {
                    redelivered++;
                }
                if (previous != null && d.seq() != previous.seq() + 1) {
                    require(d.seq() <= previous.seq() && !d.member().equals(previous.member()),
                        shard + ": seq " + d.seq() + " by " + d.member() + " right after seq " + previous.seq() + " by "
                            + previous.member() + " is neither the next one nor a replay by a new owner; deliveries "
                            + trace);
                }
                perMember.merge(d.member(), 1, Integer::sum);
                previous = d;
            }
            require(highest == m - 1, shard + ": highest seq delivered " + highest);
            Support.log(shard + " (queue " + queue + "): " + handovers + "; deliveries " + trace);
            List<String> chain = OWNERS.get(queue);
            require(owners.equals(chain), shard + " (queue " + queue + ") first delivered by " + handovers
                + ", expected the queue's owners " + chain);
        }
        Support.log("deliveries per member " + perMember + ", " + redelivered + " redelivered after a rebalance");
        require(perMember.size() == 3, "not every member consumed: " + perMember);
        return SHARDS.size() + " keys x " + m + " in 3 queues, each key in one queue in order across 2 rebalances "
            + "(2 -> 3 -> 2 members), all " + 3 * m + " delivered; a foreign client locked none of the 3 queues";
    }

    /**
     * While b and c hold the locks of all 3 queues: LOCK_BATCH_MQ of all of them for a foreign
     * client id in the group is granted none, also after that client's UNLOCK_BATCH_MQ of them (it
     * releases only the caller's own locks); the same client in another group is granted all 3
     * (locks are per group), and releases them again.
     */
    private static void lockProbe(DefaultMQProducer producer, String group, List<MessageQueue> queues, String run)
        throws Exception {
        MQClientInstance factory = producer.getDefaultMQProducerImpl().getMqClientFactory();
        String broker = factory.findBrokerAddressInPublish(queues.get(0).getBrokerName());
        String intruder = "127.0.0.1@intruder-" + run;
        Set<MessageQueue> all = new HashSet<>(queues);
        require(lock(factory, broker, group, intruder, all).isEmpty(), "LOCK_BATCH_MQ for " + intruder + " in " + group
            + " granted " + lock(factory, broker, group, intruder, all) + " while b and c hold all queues");
        UnlockBatchRequestBody unlock = new UnlockBatchRequestBody();
        unlock.setConsumerGroup(group);
        unlock.setClientId(intruder);
        unlock.setMqSet(all);
        factory.getMQClientAPIImpl().unlockBatchMQ(broker, unlock, 3000, false);
        Set<MessageQueue> after = lock(factory, broker, group, intruder, all);
        require(after.isEmpty(), "after " + intruder + "'s UNLOCK_BATCH_MQ, LOCK_BATCH_MQ granted it " + after);
        String other = group + "_other";
        Set<MessageQueue> otherGroup = lock(factory, broker, other, intruder, all);
        require(otherGroup.equals(all), "LOCK_BATCH_MQ in another group granted " + otherGroup + " of " + all);
        unlock.setConsumerGroup(other);
        factory.getMQClientAPIImpl().unlockBatchMQ(broker, unlock, 3000, false);
        Support.log("lock probe: a foreign client is granted none of the group's locked queues, all in another group");
    }

    private static Set<MessageQueue> lock(MQClientInstance factory, String broker, String group, String clientId,
        Set<MessageQueue> queues) throws Exception {
        LockBatchRequestBody body = new LockBatchRequestBody();
        body.setConsumerGroup(group);
        body.setClientId(clientId);
        body.setMqSet(queues);
        return factory.getMQClientAPIImpl().lockBatchMQ(broker, body, 3000);
    }

    /** The queue offset of the first delivery of (shard, seq). */
    private static long offsetOf(List<Delivery> all, String shard, int seq) {
        for (Delivery d : all) {
            if (d.shard().equals(shard) && d.seq() == seq) {
                return d.queueOffset();
            }
        }
        return -1;
    }

    private static String missing(Set<String> expected, Set<String> seen) {
        Set<String> missing = new java.util.TreeSet<>(expected);
        missing.removeAll(seen);
        return missing.toString();
    }

    /** Pause between two rounds of sends: the messages flow while the group changes. */
    private static final long PACE_MILLIS = 60;

    /** Sends seq of every key through the hash selector, then pauses {@value #PACE_MILLIS} ms. */
    private static void sendRound(DefaultMQProducer producer, SelectMessageQueueByHash selector, String topic,
        String run, int seq, Map<String, Expected> expected, Map<String, Integer> sentQueue) throws Exception {
        for (String shard : SHARDS) {
            Expected e = Expected.of(topic, "Ordered", shard, seq, run);
            require(expected.containsKey(e.key()), "not expected: " + e.key());
            SendResult r = producer.send(e.message(), selector, shard);
            require(r.getSendStatus() == SendStatus.SEND_OK, "send " + e.key() + ": " + r.getSendStatus());
            sentQueue.put(e.key(), r.getMessageQueue().getQueueId());
        }
        TimeUnit.MILLISECONDS.sleep(PACE_MILLIS); // pacing the stream, not a synchronisation
    }

    // ------------------------------------------------------------------------------------------
    // delayed

    /** docs/scenarios.md, "The list": "consumed 5-6 s after the send" for delay level 2. */
    private static final long LEVEL2_MILLIS = 5_000;
    private static final long DELAY_TOLERANCE_MILLIS = 1_000;

    /**
     * Delayed: a push consumer holds all 4 queues; then n messages with delay level 2 (5 s), message
     * i to queue i % 4. Each is consumed once, intact, from the queue it was sent to, without the
     * DELAY property, with msgId as sent, between 5 s (strictly: not earlier) and 6 s after its
     * born timestamp (set by this client at the send; broker and client share the clock).
     */
    private static String delayed(String namesrv, String topic, int n, long deadline) throws Exception {
        String run = run(topic);
        Collector collector = new Collector();
        Map<String, Long> consumedAt = new ConcurrentHashMap<>();
        Map<String, MessageExt> delivered = new ConcurrentHashMap<>();
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        DefaultMQPushConsumer consumer = Support.pushConsumer(namesrv, topic + "_cg", topic + "_cg");
        try {
            List<MessageQueue> queues = Support.createTopic(producer, topic, 4, deadline);
            consumer.subscribe(topic, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                long now = System.currentTimeMillis();
                for (MessageExt msg : msgs) {
                    consumedAt.putIfAbsent(msg.getKeys(), now);
                    delivered.putIfAbsent(msg.getKeys(), msg);
                    collector.accept("c", msg);
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            Support.waitFor("the consumer to hold all 4 queues", deadline,
                () -> heldQueues(consumer, topic, false).size() == 4);
            Support.log("consumer holds all queues");

            Map<String, SendResult> sent = new HashMap<>();
            for (int i = 0; i < n; i++) {
                Expected e = Expected.of(topic, "Delayed", "DELAYED", i, run);
                collector.expect(e);
                Message msg = e.message();
                msg.setDelayTimeLevel(2);
                SendResult r = producer.send(msg, queues.get(i % queues.size()));
                require(r.getSendStatus() == SendStatus.SEND_OK, "send " + i + ": " + r);
                sent.put(e.key(), r);
            }
            Support.log("sent " + n + " with delay level 2");
            collector.awaitAll(deadline);

            List<String> latencies = new ArrayList<>();
            for (Map.Entry<String, SendResult> s : sent.entrySet()) {
                MessageExt msg = delivered.get(s.getKey());
                long latency = consumedAt.get(s.getKey()) - msg.getBornTimestamp();
                latencies.add(s.getKey().substring(s.getKey().lastIndexOf('-') + 1) + "=" + latency + "ms");
                require(latency >= LEVEL2_MILLIS, s.getKey() + " consumed " + latency + " ms after its born timestamp, "
                    + "before the 5000 ms of delay level 2");
                require(latency <= LEVEL2_MILLIS + DELAY_TOLERANCE_MILLIS, s.getKey() + " consumed " + latency
                    + " ms after its born timestamp, more than 6000 ms");
                require(msg.getQueueId() == s.getValue().getMessageQueue().getQueueId(), s.getKey() + " delivered from queue "
                    + msg.getQueueId() + ", sent to " + s.getValue().getMessageQueue().getQueueId());
                require(msg.getMsgId().equals(s.getValue().getMsgId()), s.getKey() + " msgId " + msg.getMsgId()
                    + ", sent " + s.getValue().getMsgId());
                require(msg.getProperty(MessageConst.PROPERTY_DELAY_TIME_LEVEL) == null,
                    s.getKey() + " still carries DELAY=" + msg.getProperty(MessageConst.PROPERTY_DELAY_TIME_LEVEL));
            }
            latencies.sort(null);
            Support.log("born-to-consume " + latencies);
        } finally {
            consumer.shutdown();
            producer.shutdown();
        }
        return n + " with delay level 2 consumed once each, 5000-6000 ms after the send, in the queue sent to";
    }

    // ------------------------------------------------------------------------------------------
    // delayed across a broker restart

    /** Delay level 3 (10 s): long enough for the test to restart the broker before it is due. */
    private static final int PENDING_LEVEL = 3;
    private static final long PENDING_MILLIS = 10_000;

    /**
     * First half: in a 1-queue topic, message EARLY with delay level 1 (1 s) and message PENDING
     * with delay level 3 (10 s). Waits until EARLY was delivered into the topic (max offset 1) while
     * PENDING is not (and cannot be: its time is not up). Prints
     * {@code PENDING_SENT_AT <epoch ms before the send>}: the test stops the broker before that +
     * 10 s.
     */
    private static String delayedRestartSend(String namesrv, String topic, long deadline) throws Exception {
        String run = run(topic);
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        try {
            List<MessageQueue> queues = Support.createTopic(producer, topic, 1, deadline);
            Message early = Expected.of(topic, "Delayed", "EARLY", 0, run).message();
            early.setDelayTimeLevel(1);
            SendResult r = producer.send(early);
            require(r.getSendStatus() == SendStatus.SEND_OK, "send EARLY: " + r);
            Message pending = Expected.of(topic, "Delayed", "PENDING", 1, run).message();
            pending.setDelayTimeLevel(PENDING_LEVEL);
            long sentAt = System.currentTimeMillis();
            r = producer.send(pending);
            require(r.getSendStatus() == SendStatus.SEND_OK, "send PENDING: " + r);
            System.out.println("PENDING_SENT_AT " + sentAt);
            MessageQueue mq = queues.get(0);
            Support.waitFor("EARLY (delay level 1) to be delivered into " + topic, deadline, () -> {
                try {
                    return producer.maxOffset(mq) >= 1;
                } catch (Exception e) {
                    return false;
                }
            });
            long maxOffset = producer.maxOffset(mq);
            long elapsed = System.currentTimeMillis() - sentAt;
            require(maxOffset == 1, "max offset of " + topic + " is " + maxOffset + " " + elapsed
                + " ms after the sends, expected 1 (EARLY only)");
            Support.log("EARLY delivered, PENDING still pending " + elapsed + " ms after its send");
        } finally {
            producer.shutdown();
        }
        return "EARLY delivered after 1 s, PENDING (level " + PENDING_LEVEL + ") pending";
    }

    /**
     * Second half, after the restart: a push consumer of a fresh group from the first offset
     * receives EARLY and PENDING, each once and intact; PENDING not earlier than 10 s after its
     * born timestamp and at most 1 s after it was due or the consumer was ready, whichever is
     * later. The topic then holds exactly 2 messages: the restarted broker neither lost PENDING
     * nor delivered EARLY again (its delay offsets survived).
     */
    private static String delayedRestartReceive(String namesrv, String topic, long deadline) throws Exception {
        String run = run(topic);
        Collector collector = new Collector();
        Expected early = Expected.of(topic, "Delayed", "EARLY", 0, run);
        Expected pending = Expected.of(topic, "Delayed", "PENDING", 1, run);
        collector.expect(early);
        collector.expect(pending);
        Map<String, Long> consumedAt = new ConcurrentHashMap<>();
        Map<String, Long> bornAt = new ConcurrentHashMap<>();
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg2");
        DefaultMQPushConsumer consumer = Support.pushConsumer(namesrv, topic + "_cg", topic + "_cg");
        try {
            List<MessageQueue> queues = Support.waitForRoute(producer, topic, deadline);
            require(queues.size() == 1, "route of " + topic + " after the restart: " + queues);
            consumer.subscribe(topic, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                long now = System.currentTimeMillis();
                for (MessageExt msg : msgs) {
                    consumedAt.putIfAbsent(msg.getKeys(), now);
                    bornAt.putIfAbsent(msg.getKeys(), msg.getBornTimestamp());
                    collector.accept("c", msg);
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            Support.waitFor("the consumer to hold the queue", deadline,
                () -> heldQueues(consumer, topic, false).size() == 1);
            long ready = System.currentTimeMillis();
            Support.log("consumer holds the queue");
            collector.awaitAll(deadline);
            long born = bornAt.get(pending.key());
            long latency = consumedAt.get(pending.key()) - born;
            Support.log("PENDING consumed " + latency + " ms after its born timestamp; consumer ready "
                + (ready - born) + " ms after it");
            require(latency >= PENDING_MILLIS, "PENDING consumed " + latency + " ms after its born timestamp, before "
                + "the " + PENDING_MILLIS + " ms of delay level " + PENDING_LEVEL);
            long due = Math.max(born + PENDING_MILLIS, ready);
            require(consumedAt.get(pending.key()) - due <= DELAY_TOLERANCE_MILLIS, "PENDING consumed "
                + (consumedAt.get(pending.key()) - due) + " ms after it was due and the consumer ready");
            long maxOffset = producer.maxOffset(queues.get(0));
            require(maxOffset == 2, "max offset of " + topic + " is " + maxOffset + ", expected 2 (EARLY, PENDING)");
        } finally {
            consumer.shutdown();
            producer.shutdown();
        }
        return "EARLY and PENDING consumed once each, PENDING after its 10 s, topic holds 2";
    }

    // ------------------------------------------------------------------------------------------
    // broadcast

    /**
     * Broadcast: two members of one group in BROADCASTING mode (offsets kept by each client) both
     * hold all 4 queues; n messages spread over them; each member receives every one, once, intact.
     */
    private static String broadcast(String namesrv, String topic, int n, long deadline) throws Exception {
        String run = run(topic);
        String group = topic + "_cg";
        Map<String, Collector> collectors = new LinkedHashMap<>();
        Map<String, DefaultMQPushConsumer> members = new LinkedHashMap<>();
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        try {
            Support.createTopic(producer, topic, 4, deadline);
            for (String label : List.of("a", "b")) {
                Collector collector = new Collector();
                DefaultMQPushConsumer c = Support.pushConsumer(namesrv, group, group + "-" + label);
                c.setMessageModel(MessageModel.BROADCASTING);
                c.subscribe(topic, "*");
                c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                    for (MessageExt msg : msgs) {
                        collector.accept(label, msg);
                    }
                    return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                });
                collectors.put(label, collector);
                members.put(label, c);
                c.start();
            }
            Support.waitFor("both members to hold all 4 queues", deadline, () -> members.values().stream()
                .allMatch(c -> heldQueues(c, topic, false).size() == 4));
            Support.log("both members hold all 4 queues");
            for (int i = 0; i < n; i++) {
                Expected e = Expected.of(topic, "Broadcast", "BROADCAST", i, run);
                for (Collector collector : collectors.values()) {
                    collector.expect(e);
                }
                SendResult r = producer.send(e.message());
                require(r.getSendStatus() == SendStatus.SEND_OK, "send " + i + ": " + r.getSendStatus());
            }
            for (Collector collector : collectors.values()) {
                collector.awaitAll(deadline);
            }
        } finally {
            for (DefaultMQPushConsumer c : members.values()) {
                c.shutdown();
            }
            producer.shutdown();
        }
        return "members a and b received " + collectors.get("a").countBy("a") + " and "
            + collectors.get("b").countBy("b") + " of " + n;
    }
}
