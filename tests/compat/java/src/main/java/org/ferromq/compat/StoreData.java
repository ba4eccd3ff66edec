package org.ferromq.compat;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The deterministic message content shared by {@link StoreProduce} and the Rust store
 * compatibility test (tests/tests/store_compat.rs has the same functions; keep them in step).
 */
final class StoreData {
    private StoreData() {}

    /** Body length of message i: mostly small, every 8th one medium, every 16th one large. */
    static int bodySize(int i) {
        switch (i % 16) {
            case 15:
                return 150_000 + (i * 131) % 10_000;
            case 7:
                return 20_000 + (i * 71) % 5_000;
            default:
                return 16 + (i * 977) % 2_000;
        }
    }

    /** Body of message i: xorshift32 bytes, incompressible, so large bodies stay large. */
    static byte[] body(int i) {
        byte[] out = new byte[bodySize(i)];
        int x = 0x9E3779B9 ^ (i * 0x85EBCA6B);
        if (x == 0) {
            x = 1;
        }
        for (int j = 0; j < out.length; j++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            out[j] = (byte) x;
        }
        return out;
    }

    static String tag(int i) {
        return new String[] {"TagA", "TagB", "TagC"}[i % 3];
    }

    /** Two keys: one unique to the message, one shared by every 5th message. */
    static List<String> keys(String prefix, int i) {
        return List.of(prefix + "-" + i, prefix + "G-" + (i % 5));
    }

    static String note(int i) {
        return "n\u00fc\u20ac\u4e2d-" + i;
    }

    /** stdout as UTF-8 whatever the locale, autoflushed. */
    static PrintStream utf8Stdout() {
        return new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    }
}
