package org.ferromq.compat;

import java.io.BufferedWriter;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.TreeMap;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.MessageDecoder;

/**
 * The official Java producer through controller-mode failovers (tests/tests/controller_failover.rs):
 *
 * <pre>ControllerFailover produce &lt;namesrv&gt; &lt;topic&gt; &lt;ackFile&gt; &lt;stopFile&gt; &lt;maxSeconds&gt; [threads]</pre>
 *
 * <p>{@code threads} (default 2) threads send sync messages with a unique key each until
 * {@code stopFile} exists (or {@code maxSeconds} pass). In controller mode every replica of a set
 * has the same broker name, so which broker stored a message is read from the acknowledgement's
 * offset message id (the store host). Every key acknowledged with SEND_OK is appended to
 * {@code ackFile} (one key per line, flushed at once: {@code HaFailover consume} reads it), and
 * {@code <ackFile>.at} gets {@code key epochMillis storeHost} for the same send (the time the
 * acknowledgement arrived). Other outcomes are counted as failures. Prints a progress line every
 * second, then {@code failures by kind: {...}} and {@code RESULT acked=N failed=N seconds=S}.
 */
public final class ControllerFailover {
    private ControllerFailover() {}

    public static void main(String[] args) {
        int code;
        try {
            if (args.length >= 6 && args[0].equals("produce")) {
                int threads = args.length > 6 ? Integer.parseInt(args[6]) : 2;
                code = produce(args[1], args[2], Paths.get(args[3]), Paths.get(args[4]),
                    Integer.parseInt(args[5]), threads);
            } else {
                System.err.println("usage: ControllerFailover produce <namesrv> <topic> <ackFile> <stopFile> "
                    + "<maxSeconds> [threads]");
                code = 2;
            }
        } catch (Throwable t) {
            System.err.println("FAIL: " + t);
            t.printStackTrace();
            code = 1;
        }
        System.exit(code);
    }

    /** {@code host:port} of the broker that stored the message, from its offset message id. */
    private static String storeHost(SendResult r) {
        try {
            SocketAddress a = MessageDecoder.decodeMessageId(r.getOffsetMsgId()).getAddress();
            InetSocketAddress i = (InetSocketAddress) a;
            return i.getAddress().getHostAddress() + ":" + i.getPort();
        } catch (Exception e) {
            return "unknown";
        }
    }

    private static int produce(String namesrv, String topic, Path ackFile, Path stopFile, int maxSeconds,
        int threads) throws Exception {
        String run = Long.toHexString(System.nanoTime());
        DefaultMQProducer producer = KeyedSends.producer(namesrv, "cf_pg_" + run, "cf-producer-" + run);
        KeyedSends sends = new KeyedSends();
        long start = System.currentTimeMillis();
        long end = start + maxSeconds * 1000L;
        Path atFile = Paths.get(ackFile + ".at");
        try (BufferedWriter keys = Files.newBufferedWriter(ackFile, StandardCharsets.UTF_8);
             BufferedWriter at = Files.newBufferedWriter(atFile, StandardCharsets.UTF_8)) {
            sends.run(producer, topic, "TagCF", "CF-" + run, threads,
                () -> System.currentTimeMillis() < end && !Files.exists(stopFile),
                (key, r) -> {
                    long now = System.currentTimeMillis();
                    synchronized (keys) {
                        keys.write(key);
                        keys.newLine();
                        keys.flush();
                        at.write(key + " " + now + " " + storeHost(r));
                        at.newLine();
                        at.flush();
                    }
                },
                r -> r.getSendStatus().toString());
        } finally {
            producer.shutdown();
        }
        System.out.println("failures by kind: " + new TreeMap<>(sends.failures));
        System.out.printf("RESULT acked=%d failed=%d seconds=%.1f%n", sends.acked.get(), sends.failed.get(),
            (System.currentTimeMillis() - start) / 1000.0);
        return 0;
    }
}
