package org.ferromq.compat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/** Shared pieces of the scenario programs: clients, deadlines, expected messages and checks. */
final class Support {
    private Support() {}

    /** Thrown by a scenario when an expectation does not hold; main prints "FAIL: ..." and exits 1. */
    static final class Failure extends RuntimeException {
        Failure(String message) {
            super(message);
        }
    }

    private static final long START = System.currentTimeMillis();

    /** Prints a progress line with the time since the program started. */
    static void log(String message) {
        System.out.println("[+" + (System.currentTimeMillis() - START) + " ms] " + message);
    }

    /** A client call that may be repeated safely (a read). */
    interface Call<T> {
        T call() throws Exception;
    }

    /**
     * Runs {@code call}, again (three attempts in all) when the client reports a failure of the
     * connection rather than an answer. The Java 5.x client closes a channel when any request on
     * it times out ({@code com.rocketmq.remoting.client.closeSocketIfTimeout} defaults to true),
     * failing every other request in flight on it; on a loaded 2-core CI machine that happens
     * without anything being wrong with the broker. Each retry is reported on stderr.
     */
    static <T> T retryTransient(String what, Call<T> call) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                return call.call();
            } catch (Exception e) {
                if (attempt >= 3 || !isConnectionFailure(e)) {
                    throw e;
                }
                System.err.println("RETRY " + what + " after: " + e);
                Thread.sleep(200L * attempt);
            }
        }
    }

    private static boolean isConnectionFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.apache.rocketmq.remoting.exception.RemotingConnectException
                || t instanceof org.apache.rocketmq.remoting.exception.RemotingSendRequestException
                || t instanceof org.apache.rocketmq.remoting.exception.RemotingTimeoutException) {
                return true;
            }
        }
        return false;
    }

    static void require(boolean condition, String message) {
        if (!condition) {
            throw new Failure(message);
        }
    }

    /** The program's overall deadline (-Dcompat.timeoutMs, default 90000), from now. */
    /** A scenario program's body: returns the text after {@code OK: <scenario>: }. */
    interface ScenarioRunner {
        String run(String scenario, String namesrv, String topic, int n) throws Exception;
    }

    /**
     * The shared {@code main} of the scenario programs: {@code <scenario> <namesrv> <topic> <n>},
     * one {@code OK: ...} line on success, {@code FAIL: ...} on stderr and exit 1 otherwise.
     */
    static void runScenarioMain(String program, String[] args, ScenarioRunner runner) {
        if (args.length != 4) {
            System.err.println("usage: " + program + " <scenario> <namesrv host:port> <topic> <n>");
            System.exit(2);
        }
        int code;
        try {
            String ok = runner.run(args[0], args[1], args[2], Integer.parseInt(args[3]));
            log("done");
            System.out.println("OK: " + args[0] + ": " + ok);
            code = 0;
        } catch (Failure f) {
            System.err.println("FAIL: " + args[0] + ": " + f.getMessage());
            code = 1;
        } catch (Throwable t) {
            System.err.println("FAIL: " + args[0] + ": " + t);
            t.printStackTrace();
            code = 1;
        }
        // Client threads are not all daemons; exit explicitly.
        System.exit(code);
    }

    static long deadline() {
        return System.currentTimeMillis() + Long.getLong("compat.timeoutMs", 90_000L);
    }

    /** Polls {@code condition} every 20 ms until it holds; fails naming {@code what} at the deadline. */
    static void waitFor(String what, long deadline, BooleanSupplier condition) throws InterruptedException {
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new Failure("timeout waiting for " + what);
            }
            TimeUnit.MILLISECONDS.sleep(20); // polling a condition, bounded by the deadline
        }
    }

    static DefaultMQProducer producer(String namesrv, String group) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer(group);
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName(group);
        producer.setSendMsgTimeout(10_000);
        producer.start();
        return producer;
    }

    /** A clustering push consumer of a fresh group, from the first offset, not started. */
    static DefaultMQPushConsumer pushConsumer(String namesrv, String group, String instance) {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(group);
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName(instance);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        return consumer;
    }

    /**
     * Creates {@code topic} with {@code queues} queues through the name server's TBW102 route
     * (UPDATE_AND_CREATE_TOPIC to its broker) and waits until the name server serves its route.
     * Uses the implementation's createTopic(key, topic, queues), which 4.9.x and 5.x both have.
     */
    static List<MessageQueue> createTopic(DefaultMQProducer producer, String topic, int queues, long deadline)
        throws Exception {
        producer.getDefaultMQProducerImpl().createTopic("TBW102", topic, queues);
        List<MessageQueue> route = waitForRoute(producer, topic, deadline);
        require(route.size() == queues, "route of " + topic + " has " + route.size() + " queues, created " + queues);
        log("created " + topic + " with " + queues + " queue(s)");
        return route;
    }

    /** Waits until the name server serves a route for {@code topic}; its queues sorted by id. */
    static List<MessageQueue> waitForRoute(DefaultMQProducer producer, String topic, long deadline)
        throws Exception {
        Exception last = null;
        while (System.currentTimeMillis() < deadline) {
            try {
                List<MessageQueue> queues = new ArrayList<>(producer.fetchPublishMessageQueues(topic));
                if (!queues.isEmpty()) {
                    queues.sort((a, b) -> Integer.compare(a.getQueueId(), b.getQueueId()));
                    return queues;
                }
            } catch (Exception e) {
                last = e;
            }
            TimeUnit.MILLISECONDS.sleep(100); // polling a condition, bounded by the deadline
        }
        throw new Failure("name server never served a route for " + topic + ": " + last);
    }

    /** What a sent message must look like when it comes back. */
    record Expected(String topic, String tag, String key, String body, String idx, String run) {
        static Expected of(String topic, String tag, String kind, int i, String run) {
            return new Expected(topic, tag, kind + "-" + run + "-" + i,
                kind + " body #" + i + " run " + run + " \u00fc\u20ac\u4e2d", Integer.toString(i), run);
        }

        Message message() {
            Message m = new Message(topic, tag, key, body.getBytes(StandardCharsets.UTF_8));
            m.putUserProperty("idx", idx);
            m.putUserProperty("run", run);
            return m;
        }

        /** The differences between this and a delivered message (empty when intact). */
        List<String> differences(MessageExt m) {
            List<String> bad = new ArrayList<>();
            String got = new String(m.getBody(), StandardCharsets.UTF_8);
            if (!topic.equals(m.getTopic())) {
                bad.add("topic " + m.getTopic());
            }
            if (!body.equals(got)) {
                bad.add("body '" + got + "'");
            }
            if (!tag.equals(m.getTags())) {
                bad.add("tag " + m.getTags());
            }
            if (!key.equals(m.getKeys())) {
                bad.add("keys " + m.getKeys());
            }
            if (!idx.equals(m.getUserProperty("idx"))) {
                bad.add("idx " + m.getUserProperty("idx"));
            }
            if (!run.equals(m.getUserProperty("run"))) {
                bad.add("run " + m.getUserProperty("run"));
            }
            if (m.getMsgId() == null || m.getMsgId().isEmpty()) {
                bad.add("no msgId");
            }
            return bad;
        }
    }

    /**
     * Collects deliveries of expected messages (by key) from any number of consumer threads:
     * who received what, unexpected and damaged messages, duplicates.
     */
    static final class Collector {
        final Map<String, Expected> expected = new ConcurrentHashMap<>();
        /** key -> the receiver's label. */
        final Map<String, String> received = new ConcurrentHashMap<>();
        final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();

        void expect(Expected e) {
            expected.put(e.key(), e);
        }

        void accept(String receiver, MessageExt m) {
            Expected e = expected.get(m.getKeys());
            if (e == null) {
                errors.add(receiver + ": unexpected message keys=" + m.getKeys() + " tags=" + m.getTags()
                    + " body=" + new String(m.getBody(), StandardCharsets.UTF_8));
                return;
            }
            List<String> bad = e.differences(m);
            if (!bad.isEmpty()) {
                errors.add(receiver + ": key " + e.key() + ": " + bad);
            }
            String before = received.putIfAbsent(e.key(), receiver);
            if (before != null) {
                errors.add("duplicate delivery of key " + e.key() + " (first to " + before + ", again to "
                    + receiver + " at queue " + m.getQueueId() + " offset " + m.getQueueOffset() + ")");
            }
        }

        long countBy(String receiver) {
            return received.values().stream().filter(receiver::equals).count();
        }

        /** Waits until every expected message arrived (or an error was seen), then checks. */
        void awaitAll(long deadline) throws InterruptedException {
            while (errors.isEmpty() && received.size() < expected.size()
                && System.currentTimeMillis() < deadline) {
                TimeUnit.MILLISECONDS.sleep(20); // polling a condition, bounded by the deadline
            }
            log("received " + received.size() + " of " + expected.size());
            check();
        }

        void check() {
            require(errors.isEmpty(), errors.size() + " bad deliveries: " + errors);
            if (received.size() < expected.size()) {
                TreeSet<String> missing = new TreeSet<>(expected.keySet());
                missing.removeAll(received.keySet());
                throw new Failure("timeout: received " + received.size() + " of " + expected.size()
                    + " messages; missing keys " + missing);
            }
        }
    }
}
