package org.ferromq.compat;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;

/**
 * The official Java client's side of the producer benchmark, in the spirit of Apache's
 * {@code org.apache.rocketmq.example.benchmark.Producer}: so that {@code mqbench producer} figures
 * can be compared with the Java client's on the same broker and machine.
 *
 * <pre>BenchProducer &lt;namesrv&gt; &lt;topic&gt; [--threads 16] [--size 1024] [--seconds 30]
 *     [--mode sync|async] [--inflight 1024]</pre>
 *
 * <p>{@code sync}: each thread sends and waits, as Apache's benchmark does. {@code async}: one
 * thread keeps up to {@code --inflight} async sends outstanding. Prints a line every 10 s and a
 * final {@code RESULT {...}} JSON line: sends per second, failures, average / p50 / p99 / p999 / max
 * send latency in ms (from a 1 ms-resolution histogram).
 */
public final class BenchProducer {
    private BenchProducer() {}

    /** Latency histogram: one bucket per ms up to 10 s, the last bucket holds the rest. */
    private static final int BUCKETS = 10_001;

    private static final AtomicLongArray HISTOGRAM = new AtomicLongArray(BUCKETS);
    private static final AtomicLong OK = new AtomicLong();
    private static final AtomicLong FAILED = new AtomicLong();
    private static final AtomicLong RT_SUM_MICROS = new AtomicLong();
    private static final AtomicLong RT_MAX_MICROS = new AtomicLong();

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: BenchProducer <namesrv> <topic> [--threads N] [--size B] [--seconds S]"
                + " [--mode sync|async] [--inflight N]");
            System.exit(2);
        }
        String namesrv = args[0];
        String topic = args[1];
        int threads = 16;
        int size = 1024;
        int seconds = 30;
        int inflight = 1024;
        String mode = "sync";
        for (int i = 2; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                case "--size" -> size = Integer.parseInt(args[i + 1]);
                case "--seconds" -> seconds = Integer.parseInt(args[i + 1]);
                case "--mode" -> mode = args[i + 1];
                case "--inflight" -> inflight = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        DefaultMQProducer producer = new DefaultMQProducer("bench_java_producer");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("bench-" + ProcessHandle.current().pid());
        producer.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
        producer.setSendMsgTimeout(10_000);
        producer.start();
        byte[] body = new byte[size];
        Arrays.fill(body, (byte) 'x');
        // Warm up: the route and the connection.
        producer.send(new Message(topic, body));

        AtomicBoolean running = new AtomicBoolean(true);
        long start = System.nanoTime();
        long end = start + TimeUnit.SECONDS.toNanos(seconds);
        ExecutorService pool = Executors.newFixedThreadPool(mode.equals("async") ? 1 : threads);
        if (mode.equals("async")) {
            int windowSize = inflight;
            Semaphore window = new Semaphore(windowSize);
            pool.submit(() -> {
                while (running.get()) {
                    window.acquireUninterruptibly();
                    long sent = System.nanoTime();
                    try {
                        producer.send(new Message(topic, body), new SendCallback() {
                            @Override
                            public void onSuccess(SendResult r) {
                                record(sent, r.getSendStatus() == SendStatus.SEND_OK);
                                window.release();
                            }

                            @Override
                            public void onException(Throwable t) {
                                record(sent, false);
                                window.release();
                            }
                        });
                    } catch (Exception e) {
                        record(sent, false);
                        window.release();
                    }
                }
                window.acquireUninterruptibly(windowSize); // drain
                return null;
            });
        } else {
            for (int t = 0; t < threads; t++) {
                pool.submit(() -> {
                    while (running.get()) {
                        long sent = System.nanoTime();
                        try {
                            SendResult r = producer.send(new Message(topic, body));
                            record(sent, r.getSendStatus() == SendStatus.SEND_OK);
                        } catch (Exception e) {
                            record(sent, false);
                        }
                    }
                    return null;
                });
            }
        }
        long lastOk = 0;
        long lastAt = start;
        while (System.nanoTime() < end) {
            long next = Math.min(end, lastAt + TimeUnit.SECONDS.toNanos(10));
            TimeUnit.NANOSECONDS.sleep(Math.max(0, next - System.nanoTime()));
            long now = System.nanoTime();
            long ok = OK.get();
            System.out.printf(Locale.ROOT, "[%3ds] send TPS %.0f, failures %d, max RT %.1f ms%n",
                TimeUnit.NANOSECONDS.toSeconds(now - start), (ok - lastOk) * 1e9 / (now - lastAt), FAILED.get(),
                RT_MAX_MICROS.get() / 1000.0);
            lastOk = ok;
            lastAt = now;
        }
        running.set(false);
        pool.shutdown();
        pool.awaitTermination(30, TimeUnit.SECONDS);
        double elapsed = (System.nanoTime() - start) / 1e9;
        long ok = OK.get();
        long total = ok + FAILED.get();
        System.out.printf(Locale.ROOT,
            "RESULT {\"client\":\"java-5.3.3\",\"mode\":\"%s\",\"threads\":%d,\"size\":%d,\"seconds\":%.1f,"
                + "\"sends\":%d,\"tps\":%.0f,\"failures\":%d,\"avg_rt_ms\":%.3f,\"p50_ms\":%d,\"p99_ms\":%d,"
                + "\"p999_ms\":%d,\"max_rt_ms\":%.1f}%n",
            mode, mode.equals("async") ? inflight : threads, size, elapsed, ok, ok / elapsed, FAILED.get(),
            total == 0 ? 0.0 : RT_SUM_MICROS.get() / 1000.0 / total, percentile(0.5), percentile(0.99),
            percentile(0.999), RT_MAX_MICROS.get() / 1000.0);
        producer.shutdown();
        System.exit(0);
    }

    private static void record(long sentNanos, boolean ok) {
        long micros = (System.nanoTime() - sentNanos) / 1000;
        (ok ? OK : FAILED).incrementAndGet();
        RT_SUM_MICROS.addAndGet(micros);
        RT_MAX_MICROS.accumulateAndGet(micros, Math::max);
        HISTOGRAM.incrementAndGet((int) Math.min(BUCKETS - 1, micros / 1000));
    }

    /** The upper bound in ms of the bucket holding quantile {@code q}. */
    private static long percentile(double q) {
        long total = 0;
        for (int i = 0; i < BUCKETS; i++) {
            total += HISTOGRAM.get(i);
        }
        long want = (long) Math.ceil(total * q);
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += HISTOGRAM.get(i);
            if (seen >= want && seen > 0) {
                return i + 1;
            }
        }
        return 0;
    }
}
