package org.ferromq.compat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.rocketmq.client.ClientConfig;
import org.apache.rocketmq.client.consumer.AckCallback;
import org.apache.rocketmq.client.consumer.AckResult;
import org.apache.rocketmq.client.consumer.AckStatus;
import org.apache.rocketmq.client.consumer.PopCallback;
import org.apache.rocketmq.client.consumer.PopResult;
import org.apache.rocketmq.client.consumer.PopStatus;
import org.apache.rocketmq.client.impl.MQClientAPIImpl;
import org.apache.rocketmq.client.impl.MQClientManager;
import org.apache.rocketmq.client.impl.factory.MQClientInstance;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.header.AckMessageRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.ChangeInvisibleTimeRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.ExtraInfoUtil;
import org.apache.rocketmq.remoting.protocol.header.PopMessageRequestHeader;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;

/**
 * POP through the official 5.3.3 client's API ({@code MQClientAPIImpl}, docs/pop.md):
 * {@code PopScenario pop <namesrv> <topic> <n>} sends n messages (n >= 6), pops them all (invisible
 * 5 s), acks the first two one by one, batch-acks the next two, changes the invisible time of the
 * fifth to 1 s (the new handle comes back), leaves the rest unacked; then every unacked message
 * must come back once, from the pop retry topic with reconsumeTimes 1 (the changed one first),
 * and no acked one. Prints {@code OK: pop: sent n popped n acked 4 redelivered n-4}.
 * {@code PopScenario push <namesrv> <topic> <n>}: the push consumer in POP mode, see {@link #push}.
 */
public final class PopScenario {
    private PopScenario() {}

    public static void main(String[] args) {
        Support.runScenarioMain("PopScenario", args, PopScenario::run);
    }

    private static String run(String scenario, String namesrv, String topic, int n) throws Exception {
        if ("push".equals(scenario)) {
            return push(namesrv, topic, n);
        }
        Support.require("pop".equals(scenario), "unknown scenario " + scenario);
        Support.require(n >= 6, "n must be at least 6");
        long deadline = Support.deadline();
        String group = "GID_" + topic;
        DefaultMQProducer producer = Support.producer(namesrv, "PID_" + topic);
        for (int i = 0; i < n; i++) {
            Message m = new Message(topic, "tag", "k" + i, ("pop-" + i).getBytes(StandardCharsets.UTF_8));
            SendResult r = producer.send(m);
            Support.require(r.getSendStatus() == SendStatus.SEND_OK, "send " + i + ": " + r);
        }
        Support.log("sent " + n);

        ClientConfig config = new ClientConfig();
        config.setNamesrvAddr(namesrv);
        config.setInstanceName("pop-" + topic);
        MQClientInstance instance = MQClientManager.getInstance().getOrCreateMQClientInstance(config);
        instance.start();
        MQClientAPIImpl api = instance.getMQClientAPIImpl();
        TopicRouteData route = api.getTopicRouteInfoFromNameServer(topic, 5000);
        BrokerData broker = route.getBrokerDatas().get(0);
        String brokerName = broker.getBrokerName();
        String addr = broker.selectBrokerAddr();

        // Pop until every message was seen once.
        Map<String, MessageExt> first = new TreeMap<>();
        while (first.size() < n) {
            Support.require(System.currentTimeMillis() < deadline, "popped only " + first.keySet());
            PopResult r = pop(api, brokerName, addr, topic, group, 5000, 2000);
            if (r.getPopStatus() != PopStatus.FOUND) {
                continue;
            }
            for (MessageExt m : r.getMsgFoundList()) {
                Support.require(m.getReconsumeTimes() == 0, "first delivery with reconsumeTimes 0");
                Support.require(first.put(body(m), m) == null, "popped twice: " + body(m));
            }
        }
        Support.log("popped " + n);
        List<MessageExt> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            all.add(first.get("pop-" + i));
        }
        ack(api, addr, brokerName, topic, group, all.get(0));
        ack(api, addr, brokerName, topic, group, all.get(1));
        List<String> handles = new ArrayList<>();
        handles.add(all.get(2).getProperty(MessageConst.PROPERTY_POP_CK));
        handles.add(all.get(3).getProperty(MessageConst.PROPERTY_POP_CK));
        CompletableFuture<AckResult> batch = new CompletableFuture<>();
        api.batchAckMessageAsync(addr, 5000, callback(batch), topic, group, handles);
        AckResult batchResult = batch.get(10, TimeUnit.SECONDS);
        Support.require(batchResult.getStatus() == AckStatus.OK, "batch ack: " + batchResult);
        String changed = change(api, addr, brokerName, topic, group, all.get(4), 1000);
        Support.require(changed != null && !changed.equals(all.get(4).getProperty(MessageConst.PROPERTY_POP_CK)),
            "change returned a new handle: " + changed);
        Support.log("acked 4, changed 1");

        // The unacked ones come back, the changed one first, each once.
        TreeSet<String> want = new TreeSet<>();
        for (int i = 4; i < n; i++) {
            want.add("pop-" + i);
        }
        List<String> order = new ArrayList<>();
        while (order.size() < want.size()) {
            Support.require(System.currentTimeMillis() < deadline, "redelivered only " + order);
            PopResult r = pop(api, brokerName, addr, topic, group, 60_000, 3000);
            if (r.getPopStatus() != PopStatus.FOUND) {
                continue;
            }
            for (MessageExt m : r.getMsgFoundList()) {
                String b = body(m);
                Support.require(want.contains(b), "an acked message came back: " + b);
                Support.require(!order.contains(b), "redelivered twice: " + b);
                Support.require(m.getReconsumeTimes() == 1, b + " reconsumeTimes " + m.getReconsumeTimes());
                Support.require(topic.equals(m.getTopic()), "topic " + m.getTopic());
                String[] ck = ExtraInfoUtil.split(m.getProperty(MessageConst.PROPERTY_POP_CK));
                Support.require(ExtraInfoUtil.getRealTopic(ck, topic, group).startsWith("%RETRY%"),
                    "from the retry topic: " + m.getProperty(MessageConst.PROPERTY_POP_CK));
                order.add(b);
                ack(api, addr, brokerName, topic, group, m);
            }
        }
        Support.require("pop-4".equals(order.get(0)), "the changed message first: " + order);
        PopResult last = pop(api, brokerName, addr, topic, group, 60_000, 1500);
        Support.require(last.getPopStatus() != PopStatus.FOUND, "nothing more: " + last.getMsgFoundList());
        producer.shutdown();
        instance.shutdown();
        return "sent " + n + " popped " + n + " acked 4 redelivered " + (n - 4);
    }

    /**
     * {@code push}: a push consumer with {@code clientRebalance=false} on a broker whose default
     * request mode is POP consumes n messages; the first delivery of {@code pop-0} answers
     * RECONSUME_LATER (the client changes its invisible time), so it comes back once with
     * reconsumeTimes 1. Every other message is delivered exactly once.
     */
    private static String push(String namesrv, String topic, int n) throws Exception {
        long deadline = Support.deadline();
        String group = "GID_" + topic;
        DefaultMQProducer producer = Support.producer(namesrv, "PID_" + topic);
        Support.createTopic(producer, topic, 2, deadline);
        Map<String, List<Integer>> deliveries = new java.util.concurrent.ConcurrentHashMap<>();
        org.apache.rocketmq.client.consumer.DefaultMQPushConsumer consumer =
            Support.pushConsumer(namesrv, group, "push-" + topic);
        consumer.setClientRebalance(false);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener(
            (org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently) (msgs, ctx) -> {
                org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus status =
                    org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                for (MessageExt m : msgs) {
                    List<Integer> seen = deliveries.computeIfAbsent(body(m),
                        k -> java.util.Collections.synchronizedList(new ArrayList<>()));
                    // Popped, not pulled: the client gave it a receipt handle.
                    seen.add(m.getProperty(MessageConst.PROPERTY_POP_CK) == null ? -100 : m.getReconsumeTimes());
                    if ("pop-0".equals(body(m)) && seen.size() == 1) {
                        status = org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus.RECONSUME_LATER;
                    }
                }
                return status;
            });
        consumer.start();
        Support.log("push consumer started");
        for (int i = 0; i < n; i++) {
            Message m = new Message(topic, "tag", "k" + i, ("pop-" + i).getBytes(StandardCharsets.UTF_8));
            SendResult r = producer.send(m);
            Support.require(r.getSendStatus() == SendStatus.SEND_OK, "send " + i + ": " + r);
        }
        Support.log("sent " + n);
        Support.waitFor("every message consumed, pop-0 twice", deadline, () -> {
            if (deliveries.size() < n) {
                return false;
            }
            List<Integer> zero = deliveries.get("pop-0");
            return zero != null && zero.size() >= 2;
        });
        TimeUnit.MILLISECONDS.sleep(1500); // a late duplicate would show up here
        for (int i = 0; i < n; i++) {
            List<Integer> seen = deliveries.get("pop-" + i);
            List<Integer> want = i == 0 ? java.util.Arrays.asList(0, 1) : java.util.Collections.singletonList(0);
            Support.require(want.equals(new ArrayList<>(seen)),
                "pop-" + i + " reconsumeTimes " + seen + ", want " + want + " (-100: delivered without POP_CK, pulled)");
        }
        consumer.shutdown();
        producer.shutdown();
        return "consumed " + n + " redelivered 1";
    }

    private static String body(MessageExt m) {
        return new String(m.getBody(), StandardCharsets.UTF_8);
    }

    private static PopResult pop(MQClientAPIImpl api, String brokerName, String addr, String topic,
        String group, long invisible, long poll) throws Exception {
        PopMessageRequestHeader h = new PopMessageRequestHeader();
        h.setConsumerGroup(group);
        h.setTopic(topic);
        h.setQueueId(-1);
        h.setMaxMsgNums(32);
        h.setInvisibleTime(invisible);
        h.setPollTime(poll);
        h.setBornTime(System.currentTimeMillis());
        h.setInitMode(0);
        h.setExpType("TAG");
        h.setExp("*");
        h.setOrder(false);
        h.setBrokerName(brokerName);
        CompletableFuture<PopResult> f = new CompletableFuture<>();
        api.popMessageAsync(brokerName, addr, h, poll + 10_000, new PopCallback() {
            @Override
            public void onSuccess(PopResult r) {
                f.complete(r);
            }

            @Override
            public void onException(Throwable e) {
                f.completeExceptionally(e);
            }
        });
        return f.get(poll + 15_000, TimeUnit.MILLISECONDS);
    }

    private static AckCallback callback(CompletableFuture<AckResult> f) {
        return new AckCallback() {
            @Override
            public void onSuccess(AckResult r) {
                f.complete(r);
            }

            @Override
            public void onException(Throwable e) {
                f.completeExceptionally(e);
            }
        };
    }

    private static void ack(MQClientAPIImpl api, String addr, String brokerName, String topic, String group,
        MessageExt m) throws Exception {
        String ck = m.getProperty(MessageConst.PROPERTY_POP_CK);
        String[] parts = ExtraInfoUtil.split(ck);
        AckMessageRequestHeader h = new AckMessageRequestHeader();
        h.setConsumerGroup(group);
        h.setTopic(ExtraInfoUtil.getRealTopic(parts, topic, group));
        h.setQueueId(ExtraInfoUtil.getQueueId(parts));
        h.setOffset(ExtraInfoUtil.getQueueOffset(parts));
        h.setExtraInfo(ck);
        h.setBrokerName(brokerName);
        CompletableFuture<AckResult> f = new CompletableFuture<>();
        api.ackMessageAsync(addr, 5000, callback(f), h);
        AckResult r = f.get(10, TimeUnit.SECONDS);
        Support.require(r.getStatus() == AckStatus.OK, "ack " + body(m) + ": " + r);
    }

    private static String change(MQClientAPIImpl api, String addr, String brokerName, String topic, String group,
        MessageExt m, long invisible) throws Exception {
        String ck = m.getProperty(MessageConst.PROPERTY_POP_CK);
        String[] parts = ExtraInfoUtil.split(ck);
        ChangeInvisibleTimeRequestHeader h = new ChangeInvisibleTimeRequestHeader();
        h.setConsumerGroup(group);
        h.setTopic(ExtraInfoUtil.getRealTopic(parts, topic, group));
        h.setQueueId(ExtraInfoUtil.getQueueId(parts));
        h.setOffset(ExtraInfoUtil.getQueueOffset(parts));
        h.setExtraInfo(ck);
        h.setInvisibleTime(invisible);
        h.setBrokerName(brokerName);
        CompletableFuture<AckResult> f = new CompletableFuture<>();
        api.changeInvisibleTimeAsync(brokerName, addr, h, 5000, callback(f));
        AckResult r = f.get(10, TimeUnit.SECONDS);
        Support.require(r.getStatus() == AckStatus.OK, "change " + body(m) + ": " + r);
        return r.getExtraInfo();
    }
}
