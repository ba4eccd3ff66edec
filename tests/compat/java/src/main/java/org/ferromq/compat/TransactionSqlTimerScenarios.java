package org.ferromq.compat;

import static org.ferromq.compat.Support.require;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.ferromq.compat.Support.Collector;
import org.ferromq.compat.Support.Expected;
import org.ferromq.compat.Support.Failure;

/**
 * The transaction, sql-filter and timer scenarios of docs/scenarios.md with the official Java client
 * (5.3.3):
 *
 * <pre>TransactionSqlTimerScenarios &lt;scenario&gt; &lt;namesrv host:port&gt; &lt;topic&gt; &lt;n&gt;</pre>
 *
 * <p>Scenarios: {@code transaction} (n unused), {@code sql-filter} (n unused: a fixed set of
 * messages), {@code timer} (n messages). Each creates its one-queue topic, uses groups named after
 * the topic (the topic carries the run id), checks every delivered message (topic, body, tag, key,
 * user properties) and ends with one {@code OK: <scenario>: ...} line whose numbers the Rust test
 * compares exactly. Exit 1 with {@code FAIL: ...} on stderr otherwise. The overall deadline is
 * -Dcompat.timeoutMs (default 90000).
 */
public final class TransactionSqlTimerScenarios {
    private TransactionSqlTimerScenarios() {}

    public static void main(String[] args) {
        Support.runScenarioMain("TransactionSqlTimerScenarios", args, TransactionSqlTimerScenarios::run);
    }

    private static String run(String scenario, String namesrv, String topic, int n) throws Exception {
        long deadline = Support.deadline();
        return switch (scenario) {
            case "transaction" -> transaction(namesrv, topic, deadline);
            case "sql-filter" -> sqlFilter(namesrv, topic, deadline);
            case "timer" -> timer(namesrv, topic, n, deadline);
            default -> throw new Failure("unknown scenario " + scenario);
        };
    }

    private static String run(String topic) {
        return topic.substring(topic.lastIndexOf('_') + 1);
    }

    /** Each delivered message's first delivery (by key) and when it was. */
    private static final class Deliveries {
        final Map<String, Long> at = new ConcurrentHashMap<>();
        final Map<String, MessageExt> first = new ConcurrentHashMap<>();
    }

    /**
     * A push consumer (one consume thread) of group {@code <topic>_cg} that hands every delivery to
     * {@code collector} and records first deliveries in {@code deliveries}.
     */
    private static DefaultMQPushConsumer collecting(String namesrv, String topic, MessageSelector selector,
        Collector collector, Deliveries deliveries) throws Exception {
        String group = topic + "_cg";
        DefaultMQPushConsumer consumer = Support.pushConsumer(namesrv, group, group);
        consumer.setConsumeThreadMin(1);
        consumer.setConsumeThreadMax(1);
        consumer.subscribe(topic, selector);
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            long now = System.currentTimeMillis();
            for (MessageExt m : msgs) {
                deliveries.at.putIfAbsent(m.getKeys(), now);
                deliveries.first.putIfAbsent(m.getKeys(), m);
                collector.accept("c", m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        return consumer;
    }

    // ------------------------------------------------------------------------------------------
    // transaction

    /** The local transaction's answer, and the check-back's answer, per kind (the key's prefix). */
    private static final Map<String, LocalTransactionState> LOCAL = Map.of(
        "COMMIT", LocalTransactionState.COMMIT_MESSAGE,
        "ROLLBACK", LocalTransactionState.ROLLBACK_MESSAGE,
        "UNKNOW", LocalTransactionState.UNKNOW,
        "PROBE", LocalTransactionState.UNKNOW);
    private static final Map<String, LocalTransactionState> CHECK = Map.of(
        "COMMIT", LocalTransactionState.COMMIT_MESSAGE,
        "ROLLBACK", LocalTransactionState.ROLLBACK_MESSAGE,
        "UNKNOW", LocalTransactionState.COMMIT_MESSAGE,
        "PROBE", LocalTransactionState.ROLLBACK_MESSAGE);

    private static String kind(String key) {
        return key == null || key.indexOf('-') < 0 ? String.valueOf(key) : key.substring(0, key.indexOf('-'));
    }

    /**
     * Transaction: a {@link TransactionMQProducer} sends three half messages into a one-queue topic;
     * the local transaction answers COMMIT_MESSAGE, ROLLBACK_MESSAGE and UNKNOW; the check-back
     * (checkLocalTransaction) answers COMMIT_MESSAGE for the UNKNOW one (and, were it asked, the
     * local answer for the others). A push consumer (one queue, one thread) must receive COMMIT and
     * UNKNOW once each, intact, with the msgId their sends returned and, as Apache delivers them,
     * {@code TRAN_MSG=true}; ROLLBACK never.
     *
     * <p>"Never" is made meaningful without a blind sleep: once both arrived, a fourth half message
     * PROBE (local UNKNOW, answered ROLLBACK on check-back) is sent and the program waits for its
     * check-back. The broker's checker walks the half queue in order, so by then it has passed over
     * ROLLBACK (and the re-appended UNKNOW) at least once after their transaction timeout: a
     * rollback the broker lost would have been checked back (counted here, must be 0) and a
     * rollback taken as a commit would already be in the topic. Then a normal sentinel message goes
     * to the same queue; when the consumer reaches it, everything stored before it was delivered:
     * exactly COMMIT, UNKNOW and the sentinel, never ROLLBACK or PROBE.
     *
     * <p>Check-backs are counted per kind: UNKNOW and PROBE at least once (the exact number depends
     * on the broker's check rounds), COMMIT and ROLLBACK never; each check-back carries the message
     * intact (real topic, body, tag, key, user properties) and the transaction id of its send.
     */
    private static String transaction(String namesrv, String topic, long deadline) throws Exception {
        String run = run(topic);
        Collector collector = new Collector();
        Deliveries delivered = new Deliveries();
        Map<String, Expected> sent = new ConcurrentHashMap<>();
        Map<String, String> transactionIds = new ConcurrentHashMap<>();
        Map<String, Integer> checks = new ConcurrentHashMap<>();
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        TransactionMQProducer producer = new TransactionMQProducer(topic + "_pg");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName(topic + "_pg");
        producer.setSendMsgTimeout(10_000);
        producer.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                LocalTransactionState state = LOCAL.get(kind(msg.getKeys()));
                if (state == null) {
                    errors.add("local transaction for an unexpected message keys=" + msg.getKeys());
                    return LocalTransactionState.ROLLBACK_MESSAGE;
                }
                return state;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                String kind = kind(msg.getKeys());
                checks.merge(kind, 1, Integer::sum);
                Support.log("check-back for " + msg.getKeys() + " (transactionId " + msg.getTransactionId() + ")");
                Expected e = sent.get(kind);
                if (e == null) {
                    errors.add("check-back for an unexpected message keys=" + msg.getKeys());
                    return LocalTransactionState.UNKNOW;
                }
                List<String> bad = e.differences(msg);
                if (!bad.isEmpty()) {
                    errors.add("check-back of " + kind + ": " + bad);
                }
                String id = transactionIds.get(kind);
                if (id != null && !id.equals(msg.getTransactionId())) {
                    errors.add("check-back of " + kind + ": transactionId " + msg.getTransactionId() + ", sent "
                        + id);
                }
                return CHECK.get(kind);
            }
        });
        producer.start();
        DefaultMQPushConsumer consumer = null;
        try {
            Support.createTopic(producer, topic, 1, deadline);
            consumer = collecting(namesrv, topic, MessageSelector.byTag("*"), collector, delivered);
            consumer.start();

            Map<String, String> msgIds = new HashMap<>();
            long sentAt = System.currentTimeMillis();
            for (String kind : List.of("COMMIT", "ROLLBACK", "UNKNOW")) {
                String msgId = sendHalf(producer, topic, kind, run, sent, transactionIds);
                msgIds.put(kind, msgId);
                if (!kind.equals("ROLLBACK")) {
                    collector.expect(sent.get(kind));
                }
            }
            Support.log("sent COMMIT, ROLLBACK and UNKNOW half messages");
            collector.awaitAll(deadline);
            require(errors.isEmpty(), errors.toString());
            Support.log("COMMIT consumed after " + (delivered.at.get(sent.get("COMMIT").key()) - sentAt)
                + " ms, UNKNOW after " + (delivered.at.get(sent.get("UNKNOW").key()) - sentAt) + " ms");
            for (String kind : List.of("COMMIT", "UNKNOW")) {
                MessageExt m = delivered.first.get(sent.get(kind).key());
                Support.log(kind + " delivered with properties " + new TreeMap<>(m.getProperties()));
                require(msgIds.get(kind).equals(m.getMsgId()), kind + " delivered with msgId " + m.getMsgId()
                    + ", its send returned " + msgIds.get(kind));
                // Apache delivers a committed message with every property of its half message.
                require("true".equals(m.getProperty(MessageConst.PROPERTY_TRANSACTION_PREPARED)), kind
                    + " delivered with TRAN_MSG=" + m.getProperty(MessageConst.PROPERTY_TRANSACTION_PREPARED)
                    + ", Apache keeps TRAN_MSG=true on committed messages");
            }

            sendHalf(producer, topic, "PROBE", run, sent, transactionIds);
            long probeAt = System.currentTimeMillis();
            Support.waitFor("the check-back of PROBE", deadline,
                () -> !errors.isEmpty() || checks.getOrDefault("PROBE", 0) > 0);
            require(errors.isEmpty(), errors.toString());
            Support.log("PROBE checked back after " + (System.currentTimeMillis() - probeAt) + " ms");

            Expected sentinel = Expected.of(topic, "Tx", "END", 4, run);
            collector.expect(sentinel);
            SendResult r = producer.send(sentinel.message());
            require(r.getSendStatus() == SendStatus.SEND_OK, "sentinel send: " + r.getSendStatus());
            collector.awaitAll(deadline);
            require(errors.isEmpty(), errors.toString());
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            producer.shutdown();
        }
        Support.log("check-backs per kind: " + new TreeMap<>(checks));
        require(checks.getOrDefault("COMMIT", 0) == 0, "COMMIT was checked back " + checks.get("COMMIT") + " time(s)");
        require(checks.getOrDefault("ROLLBACK", 0) == 0,
            "ROLLBACK was checked back " + checks.get("ROLLBACK") + " time(s)");
        require(checks.getOrDefault("UNKNOW", 0) >= 1, "UNKNOW was never checked back");
        require(collector.received.size() == 3, "received " + collector.received.keySet());
        return "COMMIT and UNKNOW (committed on check-back) consumed once each, intact; ROLLBACK and PROBE "
            + "(rolled back on check-back) never; check-backs COMMIT=0 ROLLBACK=0 UNKNOW>=1 PROBE>=1";
    }

    /** Sends the half message of {@code kind}; checks the local transaction's state in the result. */
    private static String sendHalf(TransactionMQProducer producer, String topic, String kind, String run,
        Map<String, Expected> sent, Map<String, String> transactionIds) throws Exception {
        Expected e = Expected.of(topic, "Tx", kind, sent.size(), run);
        sent.put(kind, e);
        TransactionSendResult r = producer.sendMessageInTransaction(e.message(), null);
        require(r.getSendStatus() == SendStatus.SEND_OK, "half send " + kind + ": " + r.getSendStatus());
        require(r.getLocalTransactionState() == LOCAL.get(kind), "half send " + kind + ": local state "
            + r.getLocalTransactionState());
        transactionIds.put(kind, r.getTransactionId() != null ? r.getTransactionId() : r.getMsgId());
        return r.getMsgId();
    }

    // ------------------------------------------------------------------------------------------
    // sql-filter

    /** The subscription of docs/scenarios.md. */
    static final String SQL = "a > 5 AND b = 'x'";

    /**
     * The messages: user property a = 1..10 with b = 'x', then with b = 'y'; then edge cases: a
     * missing, b missing, a not a number, a a decimal ({@code Integer.valueOf} fails against the
     * int literal 5), a with a plus sign (Java parses it), a past the int range, b in another case.
     * {@code null} means the property is not set. The last is the sentinel (matches).
     */
    private static List<String[]> sqlCases() {
        List<String[]> cases = new ArrayList<>();
        for (String b : List.of("x", "y")) {
            for (int a = 1; a <= 10; a++) {
                cases.add(new String[] {Integer.toString(a), b});
            }
        }
        cases.add(new String[] {null, "x"});
        cases.add(new String[] {"7", null});
        cases.add(new String[] {"abc", "x"});
        cases.add(new String[] {"5.5", "x"});
        cases.add(new String[] {"+7", "x"});
        cases.add(new String[] {"2147483648", "x"});
        cases.add(new String[] {"6", "X"});
        cases.add(new String[] {"100", "x"}); // the sentinel
        return cases;
    }

    /** What {@link #SQL} must select: a an int above 5 and b exactly "x". */
    private static boolean matches(String a, String b) {
        if (a == null || !"x".equals(b)) {
            return false;
        }
        try {
            return Integer.parseInt(a) > 5;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /**
     * SQL92: {@link #sqlCases} sent in order to a one-queue topic, each with a, b as user properties;
     * a push consumer (one thread) subscribed with {@code MessageSelector.bySql("a > 5 AND b = 'x'")}
     * must receive exactly the matching ones, once each and intact. The last message (a = 100,
     * b = 'x') is the sentinel: when it arrived, every message before it was filtered.
     */
    private static String sqlFilter(String namesrv, String topic, long deadline) throws Exception {
        String run = run(topic);
        Collector collector = new Collector();
        Map<String, String[]> props = new HashMap<>();
        List<String[]> cases = sqlCases();
        String sentinelKey = null;
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        try {
            Support.createTopic(producer, topic, 1, deadline);
            for (int i = 0; i < cases.size(); i++) {
                String[] ab = cases.get(i);
                Expected e = Expected.of(topic, "Sql", "SQL", i, run);
                Message m = e.message();
                if (ab[0] != null) {
                    m.putUserProperty("a", ab[0]);
                }
                if (ab[1] != null) {
                    m.putUserProperty("b", ab[1]);
                }
                props.put(e.key(), ab);
                if (matches(ab[0], ab[1])) {
                    collector.expect(e);
                }
                SendResult r = producer.send(m);
                require(r.getSendStatus() == SendStatus.SEND_OK, "send " + i + ": " + r.getSendStatus());
                sentinelKey = e.key();
            }
        } finally {
            producer.shutdown();
        }
        Support.log("sent " + cases.size() + " messages");
        DefaultMQPushConsumer consumer =
            collecting(namesrv, topic, MessageSelector.bySql(SQL), collector, new Deliveries());
        consumer.start();
        try {
            String last = sentinelKey;
            // One queue, one consume thread: once the sentinel is in, everything before it is too.
            Support.waitFor("the sentinel", deadline,
                () -> !collector.errors.isEmpty() || collector.received.containsKey(last));
            collector.check();
        } finally {
            consumer.shutdown();
        }
        List<String> selected = new ArrayList<>();
        for (String key : collector.received.keySet()) {
            selected.add(Integer.parseInt(key.substring(key.lastIndexOf('-') + 1)) + ":" + props.get(key)[0]);
        }
        selected.sort((x, y) -> Integer.compare(Integer.parseInt(x.substring(0, x.indexOf(':'))),
            Integer.parseInt(y.substring(0, y.indexOf(':')))));
        List<String> as = new ArrayList<>();
        for (String s : selected) {
            as.add(s.substring(s.indexOf(':') + 1));
        }
        return "received " + collector.received.size() + " of " + cases.size() + " with " + SQL + ": a=" + as;
    }

    // ------------------------------------------------------------------------------------------
    // timer

    /** docs/scenarios.md, "The list": "consumed 3-4 s after the send" for a deliver-at time 3 s ahead. */
    private static final long TIMER_MILLIS = 3_000;
    private static final long TIMER_TOLERANCE_MILLIS = 1_000;

    /**
     * Timer (5.x API): a push consumer holds the one queue (a probe message shows it consuming);
     * then n messages, the even ones with {@code setDelayTimeSec(3)}, the odd ones with
     * {@code setDeliverTimeMs(t + 3000)} where t is the time just before the send. Each is consumed
     * once, intact, with the msgId of its send, between 3000 and 4000 ms after t.
     */
    private static String timer(String namesrv, String topic, int n, long deadline) throws Exception {
        String run = run(topic);
        Collector collector = new Collector();
        Deliveries delivered = new Deliveries();
        DefaultMQProducer producer = Support.producer(namesrv, topic + "_pg");
        DefaultMQPushConsumer consumer = null;
        List<String> latencies = new ArrayList<>();
        try {
            Support.createTopic(producer, topic, 1, deadline);
            consumer = collecting(namesrv, topic, MessageSelector.byTag("*"), collector, delivered);
            consumer.start();
            Expected probe = Expected.of(topic, "Probe", "PROBE", n, run);
            collector.expect(probe);
            require(producer.send(probe.message()).getSendStatus() == SendStatus.SEND_OK, "probe send");
            collector.awaitAll(deadline);
            Support.log("consumer is consuming (probe consumed)");

            Map<String, Long> sentAt = new HashMap<>();
            Map<String, String> msgIds = new HashMap<>();
            for (int i = 0; i < n; i++) {
                boolean relative = i % 2 == 0;
                Expected e = Expected.of(topic, "Timer", relative ? "DELAYSEC" : "DELIVERMS", i, run);
                collector.expect(e);
                Message m = e.message();
                long t = System.currentTimeMillis();
                if (relative) {
                    m.setDelayTimeSec(TIMER_MILLIS / 1000);
                } else {
                    m.setDeliverTimeMs(t + TIMER_MILLIS);
                }
                SendResult r = producer.send(m);
                require(r.getSendStatus() == SendStatus.SEND_OK, "send " + e.key() + ": " + r.getSendStatus());
                sentAt.put(e.key(), t);
                msgIds.put(e.key(), r.getMsgId());
            }
            Support.log("sent " + n + " timer messages");
            collector.awaitAll(deadline);
            for (Map.Entry<String, Long> s : sentAt.entrySet()) {
                String key = s.getKey();
                long latency = delivered.at.get(key) - s.getValue();
                latencies.add(kind(key) + "#" + key.substring(key.lastIndexOf('-') + 1) + "=" + latency + "ms");
                require(latency >= TIMER_MILLIS, key + " consumed " + latency + " ms after the send, before its "
                    + TIMER_MILLIS + " ms");
                require(latency <= TIMER_MILLIS + TIMER_TOLERANCE_MILLIS, key + " consumed " + latency
                    + " ms after the send, more than " + (TIMER_MILLIS + TIMER_TOLERANCE_MILLIS) + " ms");
                MessageExt m = delivered.first.get(key);
                require(msgIds.get(key).equals(m.getMsgId()), key + " msgId " + m.getMsgId() + ", sent "
                    + msgIds.get(key));
            }
            latencies.sort(null);
            Support.log("send-to-consume " + latencies);
        } finally {
            if (consumer != null) {
                consumer.shutdown();
            }
            producer.shutdown();
        }
        return n + " timer messages (delayTimeSec 3 / deliverTimeMs +3000) consumed once each, 3000-4000 ms "
            + "after the send";
    }
}
