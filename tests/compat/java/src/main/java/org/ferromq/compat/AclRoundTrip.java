package org.ferromq.compat;

import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.RPCHook;

/**
 * ACL 1.0 with the official Java client's {@code AclClientRPCHook} against a broker with
 * {@code aclEnable=true}:
 *
 * <pre>AclRoundTrip &lt;namesrv&gt; &lt;topic&gt; &lt;deniedTopic&gt; &lt;n&gt; &lt;adminKey&gt; &lt;adminSecret&gt; &lt;userKey&gt; &lt;userSecret&gt; [&lt;refusalCode&gt; &lt;refusalRemark&gt;]</pre>
 *
 * <p>The admin account creates both topics (UPDATE_AND_CREATE_TOPIC is an admin code); the user
 * account sends n messages to {@code topic} and a push consumer of the user receives all of them;
 * a send of the user to {@code deniedTopic} must fail with the broker's ACL refusal
 * (MQBrokerException, code 1, an AclException remark; ACL 2.0 brokers: pass the code, 16, and a
 * text the remark must contain). Prints {@code OK: acl: ...} on success,
 * {@code FAIL: ...} on stderr and exit 1 otherwise. Deadline: -Dcompat.timeoutMs.
 */
public final class AclRoundTrip {
    private AclRoundTrip() {}

    public static void main(String[] args) {
        if (args.length != 8 && args.length != 10) {
            System.err.println("usage: AclRoundTrip <namesrv> <topic> <deniedTopic> <n> "
                + "<adminKey> <adminSecret> <userKey> <userSecret>");
            System.exit(2);
        }
        int code;
        try {
            int refusalCode = args.length == 10 ? Integer.parseInt(args[8]) : 1;
            String refusalRemark = args.length == 10 ? args[9] : "AclException";
            String ok = run(args[0], args[1], args[2], Integer.parseInt(args[3]),
                hook(args[4], args[5]), hook(args[6], args[7]), refusalCode, refusalRemark);
            System.out.println("OK: acl: " + ok);
            code = 0;
        } catch (Support.Failure f) {
            System.err.println("FAIL: acl: " + f.getMessage());
            code = 1;
        } catch (Throwable t) {
            System.err.println("FAIL: acl: " + t);
            t.printStackTrace();
            code = 1;
        }
        // Client threads are not all daemons; exit explicitly.
        System.exit(code);
    }

    private static RPCHook hook(String accessKey, String secretKey) {
        return new AclClientRPCHook(new SessionCredentials(accessKey, secretKey));
    }

    private static DefaultMQProducer producer(String namesrv, String group, RPCHook hook) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer(group, hook);
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName(group);
        producer.setSendMsgTimeout(10_000);
        producer.start();
        return producer;
    }

    private static String run(String namesrv, String topic, String denied, int n, RPCHook admin, RPCHook user,
        int refusalCode, String refusalRemark) throws Exception {
        long deadline = Support.deadline();
        String run = Long.toHexString(System.nanoTime());

        DefaultMQProducer creator = producer(namesrv, "acl_admin_" + run, admin);
        try {
            Support.createTopic(creator, topic, 2, deadline);
            Support.createTopic(creator, denied, 1, deadline);
        } finally {
            creator.shutdown();
        }

        DefaultMQProducer producer = producer(namesrv, "acl_pg_" + run, user);
        Set<String> expected = ConcurrentHashMap.newKeySet();
        try {
            for (int i = 0; i < n; i++) {
                String body = "acl body #" + i + " run " + run;
                SendResult r = Support.retryTransient("send", () -> producer.send(
                    new Message(topic, "TagA", body.getBytes(StandardCharsets.UTF_8))));
                Support.require(r.getSendStatus() == SendStatus.SEND_OK, "send " + i + ": " + r);
                expected.add(body);
            }
            Support.log("sent " + n + " to " + topic);

            MQBrokerException refusal = null;
            try {
                SendResult r = producer.send(new Message(denied, "TagA", "no".getBytes(StandardCharsets.UTF_8)));
                throw new Support.Failure("send to " + denied + " was accepted: " + r);
            } catch (MQBrokerException | MQClientException e) {
                // After its retries the 5.x producer wraps the broker's answer in an MQClientException.
                for (Throwable t = e; t != null && refusal == null; t = t.getCause()) {
                    if (t instanceof MQBrokerException) {
                        refusal = (MQBrokerException) t;
                    }
                }
                Support.require(refusal != null, "denied send failed without a broker answer: " + e);
            }
            Support.require(refusal.getResponseCode() == refusalCode,
                "denied send answered code " + refusal.getResponseCode());
            Support.require(refusal.getErrorMessage() != null && refusal.getErrorMessage().contains(refusalRemark),
                "denied send remark: " + refusal.getErrorMessage());
            Support.log("denied send refused: " + refusal.getErrorMessage());
        } finally {
            producer.shutdown();
        }

        Set<String> received = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer("acl_cg_" + run, user);
        consumer.setNamesrvAddr(namesrv);
        consumer.setInstanceName("acl_cg_" + run);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                received.add(new String(m.getBody(), StandardCharsets.UTF_8));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        try {
            Support.waitFor("all " + n + " messages", deadline, () -> received.containsAll(expected));
        } finally {
            consumer.shutdown();
        }
        return "sent and received " + n + ", denied topic refused";
    }
}
