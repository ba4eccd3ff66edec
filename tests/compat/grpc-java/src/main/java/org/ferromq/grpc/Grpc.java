package org.ferromq.grpc;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientException;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.TransactionChecker;

/**
 * What every gRPC program shares: the SDK's service provider, a client configuration for one
 * endpoint (plain text), builders for producers and simple consumers, the program deadline
 * ({@code -Dcompat.timeoutMs}) and a UTF-8, autoflushed stdout with elapsed-time progress lines.
 */
final class Grpc {
    private Grpc() {}

    static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();
    static final PrintStream OUT =
        new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    private static final long START = System.currentTimeMillis();
    static final long DEADLINE = START + Long.getLong("compat.timeoutMs", 90_000L);

    /** Plain-text (no TLS) configuration for {@code endpoint} ("host:port"). */
    static ClientConfiguration config(String endpoint) {
        return ClientConfiguration.newBuilder()
            .setEndpoints(endpoint)
            .enableSsl(false)
            .setRequestTimeout(Duration.ofSeconds(10))
            .build();
    }

    static Producer producer(String endpoint, String topic, TransactionChecker checker)
        throws ClientException {
        var builder = PROVIDER.newProducerBuilder()
            .setClientConfiguration(config(endpoint))
            .setTopics(topic);
        if (checker != null) {
            builder.setTransactionChecker(checker);
        }
        return builder.build();
    }

    /** A simple consumer of {@code group} on {@code topic} (all tags), long polling 2 s. */
    static SimpleConsumer simpleConsumer(String endpoint, String group, String topic)
        throws ClientException {
        return PROVIDER.newSimpleConsumerBuilder()
            .setClientConfiguration(config(endpoint))
            .setConsumerGroup(group)
            .setAwaitDuration(Duration.ofSeconds(2))
            .setSubscriptionExpressions(Map.of(topic, new FilterExpression("*", FilterExpressionType.TAG)))
            .build();
    }

    static void progress(String line) {
        OUT.println("[+" + (System.currentTimeMillis() - START) + "ms] " + line);
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what);
        }
    }

    static void checkDeadline(String waitingFor) {
        if (System.currentTimeMillis() > DEADLINE) {
            throw new IllegalStateException("deadline passed waiting for " + waitingFor);
        }
    }

    static String body(MessageView view) {
        ByteBuffer buf = view.getBody().duplicate();
        byte[] bytes = new byte[buf.remaining()];
        buf.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    static byte[] bytes(MessageView view) {
        ByteBuffer buf = view.getBody().duplicate();
        byte[] bytes = new byte[buf.remaining()];
        buf.get(bytes);
        return bytes;
    }

    /** The single key a scenario message carries. */
    static String key(MessageView view) {
        check(view.getKeys().size() == 1, "expected one key, got " + view.getKeys());
        return view.getKeys().iterator().next();
    }

    static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            progress("close: " + e);
        }
    }
}
