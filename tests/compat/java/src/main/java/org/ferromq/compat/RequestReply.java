package org.ferromq.compat;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.RequestCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.utils.MessageUtil;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * The official Java client's side of the request-reply interop tests
 * (client-core/tests/request_reply_java.rs):
 *
 * <pre>
 * RequestReply respond &lt;namesrv&gt; &lt;topic&gt; &lt;n&gt;
 * RequestReply request &lt;namesrv&gt; &lt;topic&gt; &lt;n&gt; &lt;timeoutMillis&gt;
 * </pre>
 *
 * <p>{@code respond}: a push consumer (fresh group, first offset) answers every request with
 * {@code MessageUtil.createReplyMessage(request, "pong:" + body)} sent by a producer; prints
 * {@code READY} once started and {@code REPLIED \t body=..} per reply the broker accepted; ends
 * after n replies. {@code request}: n requests with bodies {@code java-<i>}, one at a time, each
 * through {@code request(msg, RequestCallback, timeout)}; each reply must be {@code pong:<body>}
 * (prints {@code REPLY \t body=..}). The sync {@code request(msg, timeout)} of the 5.3.x client
 * is not used: it returns a RequestTimeoutException as soon as the request is sent unless the
 * reply was faster (its send callback counts the reply latch down; apache/rocketmq#6726), and
 * the callback form calls {@code onSuccess(null)} when the request is sent, then
 * {@code onSuccess(reply)}: the null is skipped here. Every mode ends with {@code OK}; exit 1
 * with {@code FAIL: ...} otherwise. Deadline: -Dcompat.timeoutMs (default 90000).
 */
public final class RequestReply {
    private RequestReply() {}

    public static void main(String[] args) {
        int code = 0;
        try {
            long deadline = System.currentTimeMillis() + Long.getLong("compat.timeoutMs", 90_000L);
            switch (args[0]) {
                case "respond" -> respond(args[1], args[2], Integer.parseInt(args[3]), deadline);
                case "request" -> request(args[1], args[2], Integer.parseInt(args[3]),
                    Long.parseLong(args[4]));
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

    private static void respond(String namesrv, String topic, int n, long deadline) throws Exception {
        PrintStream out = out();
        DefaultMQProducer producer = new DefaultMQProducer(topic + "_java_reply_pg");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName(instance("rr-replier"));
        producer.start();
        CountDownLatch replied = new CountDownLatch(n);
        AtomicInteger failures = new AtomicInteger();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(topic + "_java_responder");
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName(instance("rr-responder"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                try {
                    Message reply = MessageUtil.createReplyMessage(m,
                        ("pong:" + body).getBytes(StandardCharsets.UTF_8));
                    SendResult r = producer.send(reply, 10_000);
                    Support.require(r.getSendStatus() == SendStatus.SEND_OK, "reply send: " + r);
                    synchronized (out) {
                        out.println("REPLIED\tbody=" + body);
                        out.flush();
                    }
                    replied.countDown();
                } catch (Exception e) {
                    failures.incrementAndGet();
                    System.err.println("reply to " + body + " failed: " + e);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        out.println("READY");
        out.flush();
        try {
            Support.require(replied.await(deadline - System.currentTimeMillis(), TimeUnit.MILLISECONDS),
                "timeout: replied " + (n - replied.getCount()) + " of " + n + ", failures " + failures.get());
        } finally {
            consumer.shutdown();
            producer.shutdown();
        }
    }

    private static void request(String namesrv, String topic, int n, long timeout) throws Exception {
        PrintStream out = out();
        DefaultMQProducer producer = new DefaultMQProducer(topic + "_java_request_pg");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName(instance("rr-requester"));
        producer.start();
        try {
            for (int i = 0; i < n; i++) {
                String body = "java-" + i;
                CompletableFuture<Message> got = new CompletableFuture<>();
                producer.request(new Message(topic, body.getBytes(StandardCharsets.UTF_8)), new RequestCallback() {
                    @Override
                    public void onSuccess(Message message) {
                        // The 5.3.x client also calls onSuccess(null) once the request is sent.
                        if (message != null) {
                            got.complete(message);
                        }
                    }

                    @Override
                    public void onException(Throwable e) {
                        got.completeExceptionally(e);
                    }
                }, timeout);
                check(got.get(timeout + 5_000, TimeUnit.MILLISECONDS), body);
                out.println("REPLY	body=" + body);
            }
        } finally {
            producer.shutdown();
        }
    }

    private static void check(Message reply, String body) {
        Support.require(reply != null, "no reply to " + body);
        String got = new String(reply.getBody(), StandardCharsets.UTF_8);
        Support.require(got.equals("pong:" + body), "reply to " + body + " is " + got);
        Support.require(reply.getProperty(MessageConst.PROPERTY_CORRELATION_ID) != null,
            "reply to " + body + " has no correlation id");
    }
}
