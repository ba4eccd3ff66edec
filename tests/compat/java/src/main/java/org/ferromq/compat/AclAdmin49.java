package org.ferromq.compat;

import java.util.Arrays;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.ClientConfig;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.impl.MQClientAPIImpl;
import org.apache.rocketmq.client.impl.MQClientManager;
import org.apache.rocketmq.common.PlainAccessConfig;
import org.apache.rocketmq.common.protocol.body.ClusterAclVersionInfo;

/**
 * The ACL 1.0 admin calls of the official Java client 4.9.8 ({@code MQClientAPIImpl}, what
 * Apache's 4.9.x {@code mqadmin updateAclConfig / deleteAclConfig / updateGlobalWhiteAddr /
 * clusterAclConfigVersion} send), signed by its {@code AclClientRPCHook}, against one broker:
 *
 * <pre>AclAdmin49 &lt;brokerAddr&gt; &lt;adminKey&gt; &lt;adminSecret&gt; &lt;userKey&gt; &lt;userSecret&gt; &lt;whiteAddr&gt;</pre>
 *
 * <p>Reads the version; creates the user (PUB on AclAdminTopic); checks the version counter
 * advanced; the user itself is refused the same call (an admin code, AclException remark);
 * replaces the global white addresses with {@code whiteAddr}; deletes the user; a second delete
 * fails with DELETE_ACL_CONFIG_FAILED (210). Prints {@code OK: acl-admin: ...} on success,
 * {@code FAIL: ...} on stderr and exit 1 otherwise. Self-contained (compiled against the 4.9.8
 * client only).
 */
public final class AclAdmin49 {
    private static final long TIMEOUT_MS = 5000;

    private AclAdmin49() {}

    public static void main(String[] args) {
        if (args.length != 6) {
            System.err.println("usage: AclAdmin49 <brokerAddr> <adminKey> <adminSecret> "
                + "<userKey> <userSecret> <whiteAddr>");
            System.exit(2);
        }
        int code;
        try {
            System.out.println("OK: acl-admin: " + run(args));
            code = 0;
        } catch (Throwable t) {
            System.err.println("FAIL: acl-admin: " + t);
            t.printStackTrace();
            code = 1;
        }
        System.exit(code);
    }

    private static MQClientAPIImpl api(String instance, String key, String secret) {
        ClientConfig config = new ClientConfig();
        config.setInstanceName(instance);
        config.setVipChannelEnabled(false);
        AclClientRPCHook hook = new AclClientRPCHook(new SessionCredentials(key, secret));
        MQClientAPIImpl api = MQClientManager.getInstance()
            .getOrCreateMQClientInstance(config, hook)
            .getMQClientAPIImpl();
        api.start();
        return api;
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what);
        }
    }

    private static String run(String[] a) throws Exception {
        String broker = a[0];
        MQClientAPIImpl admin = api("acl-admin-49", a[1], a[2]);
        ClusterAclVersionInfo v0 = admin.getBrokerClusterAclInfo(broker, TIMEOUT_MS);
        long c0 = v0.getAclConfigDataVersion().getCounter().get();
        check(broker.equals(v0.getBrokerAddr()), "brokerAddr " + v0.getBrokerAddr());
        check(!v0.getAllAclConfigDataVersion().isEmpty(), "no file versions");

        PlainAccessConfig user = new PlainAccessConfig();
        user.setAccessKey(a[3]);
        user.setSecretKey(a[4]);
        user.setDefaultTopicPerm("DENY");
        user.setDefaultGroupPerm("SUB");
        user.setTopicPerms(Arrays.asList("AclAdminTopic=PUB"));
        admin.createPlainAccessConfig(broker, user, TIMEOUT_MS);
        ClusterAclVersionInfo v1 = admin.getBrokerClusterAclInfo(broker, TIMEOUT_MS);
        long c1 = v1.getAclConfigDataVersion().getCounter().get();
        check(c1 == c0 + 1, "counter " + c0 + " -> " + c1);

        MQClientAPIImpl self = api("acl-user-49", a[3], a[4]);
        try {
            self.createPlainAccessConfig(broker, user, TIMEOUT_MS);
            throw new IllegalStateException("a non-admin account created an account");
        } catch (MQClientException e) {
            check(e.getResponseCode() == 1, "non-admin code " + e.getResponseCode());
            check(String.valueOf(e.getErrorMessage()).contains("Need admin permission"),
                "non-admin remark " + e.getErrorMessage());
        }

        admin.updateGlobalWhiteAddrsConfig(broker, a[5], null, TIMEOUT_MS);
        admin.deleteAccessConfig(broker, a[3], TIMEOUT_MS);
        try {
            admin.deleteAccessConfig(broker, a[3], TIMEOUT_MS);
            throw new IllegalStateException("a deleted account was deleted again");
        } catch (MQClientException e) {
            check(e.getResponseCode() == 210, "second delete code " + e.getResponseCode());
        }
        long c4 = admin.getBrokerClusterAclInfo(broker, TIMEOUT_MS)
            .getAclConfigDataVersion().getCounter().get();
        check(c4 == c0 + 3, "counter " + c0 + " -> " + c4);
        return "counter " + c0 + " -> " + c4 + ", non-admin refused, second delete refused";
    }
}
