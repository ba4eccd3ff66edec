package org.ferromq.grpc;

import static org.ferromq.grpc.Grpc.OUT;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.SessionCredentialsProvider;
import org.apache.rocketmq.client.apis.StaticSessionCredentialsProvider;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;

/**
 * {@code GrpcTools acl <endpoint> <topic> <group> <n> <accessKey> <secretKey> <wrongSecret>}:
 * the SDK with {@code StaticSessionCredentialsProvider} against a server with ACL on. With the
 * right keys it sends n messages and a simple consumer receives and acks all of them; a
 * producer with the wrong secret must fail to send. Prints
 * {@code sent n received n acked n; wrong secret refused: <exception>}.
 */
final class GrpcAcl {
    private GrpcAcl() {}

    static ClientConfiguration config(String endpoint, String ak, String sk) {
        SessionCredentialsProvider credentials = new StaticSessionCredentialsProvider(ak, sk);
        return ClientConfiguration.newBuilder()
            .setEndpoints(endpoint)
            .enableSsl(false)
            .setRequestTimeout(Duration.ofSeconds(10))
            .setCredentialProvider(credentials)
            .build();
    }

    static String run(String endpoint, String topic, String group, int n, String ak, String sk,
        String wrong) throws Exception {
        try (Producer producer = Grpc.PROVIDER.newProducerBuilder()
            .setClientConfiguration(config(endpoint, ak, sk))
            .setTopics(topic)
            .build()) {
            for (int i = 0; i < n; i++) {
                producer.send(GrpcScenarios.message(topic, i));
            }
        }
        Grpc.progress("sent " + n);
        int received = 0;
        int acked = 0;
        try (SimpleConsumer consumer = Grpc.PROVIDER.newSimpleConsumerBuilder()
            .setClientConfiguration(config(endpoint, ak, sk))
            .setConsumerGroup(group)
            .setAwaitDuration(Duration.ofSeconds(2))
            .setSubscriptionExpressions(Map.of(topic, new FilterExpression("*", FilterExpressionType.TAG)))
            .build()) {
            while (acked < n) {
                Grpc.checkDeadline("messages " + acked + "/" + n);
                List<MessageView> batch;
                try {
                    batch = consumer.receive(16, Duration.ofSeconds(15));
                } catch (Exception e) {
                    Grpc.progress("receive: " + e);
                    continue;
                }
                for (MessageView m : batch) {
                    received++;
                    consumer.ack(m);
                    acked++;
                }
            }
        }
        Grpc.progress("received " + received + " acked " + acked);
        String refused = null;
        Producer bad = null;
        try {
            bad = Grpc.PROVIDER.newProducerBuilder()
                .setClientConfiguration(config(endpoint, ak, wrong))
                .setTopics(topic)
                .build();
            bad.send(GrpcScenarios.message(topic, n));
        } catch (Exception e) {
            // The SDK wraps the server's answer (a failed start, an UnauthorizedException):
            // report the innermost cause, which carries the server's code and message.
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            refused = root.getClass().getSimpleName() + ": " + root.getMessage();
        } finally {
            if (bad != null) {
                bad.close();
            }
        }
        Grpc.check(refused != null, "a send with the wrong secret succeeded");
        return "sent " + n + " received " + received + " acked " + acked + "; wrong secret refused: " + refused;
    }
}
