// Generates the Apache-written config files under broker/store/tests/configs_vectors, and
// checks that Apache reads files FerroMQ wrote. See README.md there.
//
//   java -cp "<rocketmq 5.3.3 jars>:." ConfigsProbe write <dir>
//   java -cp "<rocketmq 5.3.3 jars>:." ConfigsProbe read <dir with FerroMQ's four files>

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.apache.rocketmq.broker.offset.ConsumerOffsetManager;
import org.apache.rocketmq.broker.schedule.DelayOffsetSerializeWrapper;
import org.apache.rocketmq.broker.subscription.SubscriptionGroupManager;
import org.apache.rocketmq.broker.topic.TopicConfigManager;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.protocol.DataVersion;
import org.apache.rocketmq.remoting.protocol.RemotingSerializable;
import org.apache.rocketmq.remoting.protocol.subscription.ExponentialRetryPolicy;
import org.apache.rocketmq.remoting.protocol.subscription.GroupRetryPolicy;
import org.apache.rocketmq.remoting.protocol.subscription.GroupRetryPolicyType;
import org.apache.rocketmq.remoting.protocol.subscription.SimpleSubscriptionData;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;

public class ConfigsProbe {
    static Path dir;

    static void out(String name, String text) throws Exception {
        Files.write(dir.resolve(name), text.getBytes(StandardCharsets.UTF_8));
    }

    static String in(String name) throws Exception {
        return new String(Files.readAllBytes(dir.resolve(name)), StandardCharsets.UTF_8);
    }

    static ConcurrentMap<Integer, Long> queues(long... offsets) {
        ConcurrentMap<Integer, Long> q = new ConcurrentHashMap<>();
        for (int i = 0; i < offsets.length; i++) {
            q.put(i, offsets[i]);
        }
        return q;
    }

    public static void main(String[] args) throws Exception {
        dir = Paths.get(args[1]);
        if (args[0].equals("read")) {
            read();
        } else {
            write();
        }
    }

    static void write() throws Exception {
        Files.createDirectories(dir);
        ConsumerOffsetManager offsets = new ConsumerOffsetManager();
        ConcurrentHashMap<String, ConcurrentMap<Integer, Long>> table = new ConcurrentHashMap<>();
        table.put("TopicA@GroupA", queues(10, 20, 30));
        table.put("%RETRY%GroupA@GroupA", queues(0));
        table.put("TopicA@GroupB", queues(5));
        table.put("RMQ_SYS_TRANS_HALF_TOPIC@CID_RMQ_SYS_TRANS", queues(3));
        offsets.setOffsetTable(table);
        offsets.getDataVersion().nextVersion();
        offsets.getDataVersion().nextVersion();
        out("apache-5.3.3-consumerOffset.pretty.json", offsets.encode(true));
        ConsumerOffsetManager one = new ConsumerOffsetManager();
        ConcurrentHashMap<String, ConcurrentMap<Integer, Long>> oneTable = new ConcurrentHashMap<>();
        oneTable.put("TopicA@GroupA", queues(10, 20, 30));
        one.setOffsetTable(oneTable);
        one.getDataVersion().nextVersion();
        out("apache-5.3.3-consumerOffset.compact.json", one.encode(false));

        DelayOffsetSerializeWrapper delay = new DelayOffsetSerializeWrapper();
        ConcurrentMap<Integer, Long> levels = new ConcurrentHashMap<>();
        levels.put(1, 0L);
        levels.put(2, 17L);
        levels.put(3, 5L);
        delay.setOffsetTable(levels);
        DataVersion dv = new DataVersion();
        dv.nextVersion();
        delay.setDataVersion(dv);
        out("apache-5.3.3-delayOffset.pretty.json", delay.toJson(true));
        out("apache-5.3.3-delayOffset.compact.json", delay.toJson(false));

        SubscriptionGroupManager groups = new SubscriptionGroupManager();
        SubscriptionGroupConfig c = new SubscriptionGroupConfig();
        c.setGroupName("GroupA");
        c.setConsumeBroadcastEnable(false);
        c.setRetryMaxTimes(3);
        c.setSubscriptionDataSet(new HashSet<>(Arrays.asList(
            new SimpleSubscriptionData("TopicA", "TAG", "TagA || TagB", 5))));
        GroupRetryPolicy p = new GroupRetryPolicy();
        p.setType(GroupRetryPolicyType.EXPONENTIAL);
        p.setExponentialRetryPolicy(new ExponentialRetryPolicy(1000, 60000, 3));
        c.setGroupRetryPolicy(p);
        Map<String, String> attrs = new HashMap<>();
        attrs.put("+consume.lag", "1");
        c.setAttributes(attrs);
        groups.getSubscriptionGroupTable().put("GroupA", c);
        ConcurrentMap<String, Integer> forbidden = new ConcurrentHashMap<>();
        forbidden.put("TopicA", 5);
        groups.getForbiddenTable().put("GroupA", forbidden);
        groups.getDataVersion().nextVersion();
        out("apache-5.3.3-subscriptionGroup.pretty.json", groups.encode(true));
        out("apache-5.3.3-subscriptionGroupConfig.compact.json", RemotingSerializable.toJson(c, false));

        TopicConfigManager topics = new TopicConfigManager();
        topics.getTopicConfigTable().put("TopicA", new TopicConfig("TopicA", 4, 4));
        TopicConfig b = new TopicConfig("TopicB", 2, 2, 7);
        b.setOrder(true);
        b.getAttributes().put("+message.type", "FIFO");
        topics.getTopicConfigTable().put("TopicB", b);
        topics.getDataVersion().nextVersion();
        out("apache-5.3.3-topics.pretty.json", topics.encode(true));
        out("apache-5.3.3-topics.compact.json", topics.encode(false));
    }

    static void read() throws Exception {
        TopicConfigManager topics = new TopicConfigManager();
        topics.decode(in("topics.json"));
        System.out.println("topics.json " + topics.encode(false));
        ConsumerOffsetManager offsets = new ConsumerOffsetManager();
        offsets.decode(in("consumerOffset.json"));
        System.out.println("consumerOffset.json " + offsets.encode(false));
        DelayOffsetSerializeWrapper delay =
            RemotingSerializable.fromJson(in("delayOffset.json"), DelayOffsetSerializeWrapper.class);
        System.out.println("delayOffset.json " + delay.toJson(false));
        SubscriptionGroupManager groups = new SubscriptionGroupManager();
        groups.decode(in("subscriptionGroup.json"));
        System.out.println("subscriptionGroup.json " + groups.encode(false));
    }
}
