package org.ferromq.grpc;

import static org.ferromq.grpc.Grpc.OUT;
import static org.ferromq.grpc.Grpc.check;
import static org.ferromq.grpc.Grpc.checkDeadline;
import static org.ferromq.grpc.Grpc.progress;

import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;

/**
 * The proxy-in-front-of-a-cluster programs of {@link GrpcTools} (tests/tests/grpc_cluster.rs):
 *
 * <pre>
 * GrpcTools send-keyed &lt;endpoint&gt; &lt;topic&gt; &lt;from&gt; &lt;n&gt;
 * GrpcTools receive-keyed &lt;endpoint&gt; &lt;topic&gt; &lt;group&gt; &lt;n&gt; &lt;quietSeconds&gt; [allow-duplicates]
 * </pre>
 *
 * <p>{@code send-keyed}: synchronous sends of messages {@code from .. from+n-1} as
 * {@link GrpcScenarios#message} makes them; every send must succeed (the SDK retries a failed
 * attempt itself, so a broker that died behind the proxy must not show); {@code OK: send-keyed:
 * sent n}. {@code receive-keyed}: a simple consumer receives and acks until n distinct messages
 * arrived, then watches quietSeconds more; a message twice fails the run (unless
 * {@code allow-duplicates}: a send that timed out on a hung broker and was retried elsewhere is
 * stored twice, at least once); failed receives (a broker that is gone) are counted and
 * retried. Prints {@code IDX <sorted list>} and {@code OK: receive-keyed: received n duplicates
 * d}.
 */
final class ClusterTools {
    private ClusterTools() {}

    static String sendKeyed(String endpoint, String topic, int from, int n) throws Exception {
        try (Producer producer = Grpc.producer(endpoint, topic, null)) {
            for (int i = from; i < from + n; i++) {
                checkDeadline("send of idx " + i);
                producer.send(GrpcScenarios.message(topic, i));
            }
        }
        progress("sent " + n + " from idx " + from);
        return "sent " + n;
    }

    static String receiveKeyed(String endpoint, String topic, String group, int n, int quietSeconds,
        boolean allowDuplicates) throws Exception {
        Set<Integer> seen = new TreeSet<>();
        int errors = 0;
        int duplicates = 0;
        try (SimpleConsumer consumer = Grpc.simpleConsumer(endpoint, group, topic)) {
            long quietUntil = Long.MAX_VALUE;
            while (seen.size() < n || System.currentTimeMillis() < quietUntil) {
                checkDeadline(n + " messages (have " + seen.size() + ", failed receives " + errors + ")");
                java.util.List<MessageView> views;
                try {
                    views = consumer.receive(16, GrpcScenarios.LONG_INVISIBLE);
                } catch (Exception e) {
                    if (++errors <= 5) {
                        progress("receive failed (retrying): " + e);
                    }
                    Thread.sleep(100);
                    continue;
                }
                for (MessageView view : views) {
                    int i = GrpcScenarios.verify(topic, view);
                    if (!seen.add(i)) {
                        check(allowDuplicates, "idx " + i + " delivered twice");
                        duplicates++;
                        progress("idx " + i + " delivered again");
                    }
                    consumer.ack(view);
                }
                if (seen.size() >= n && quietUntil == Long.MAX_VALUE) {
                    quietUntil = System.currentTimeMillis() + quietSeconds * 1000L;
                }
            }
        }
        check(seen.size() == n, "received " + seen.size() + " expected " + n);
        OUT.println("IDX " + seen.stream().map(String::valueOf).collect(Collectors.joining(",")));
        progress("failed receives: " + errors);
        return "received " + seen.size() + " duplicates " + duplicates;
    }
}
