/* The C side of the C -> browser interop test: sends COUNT messages with a tag, two keys,
 * user properties (one non-ASCII) and a body ending in binary bytes, and prints one line per
 * send: "SENT\t<i>\t<msg id>".
 *
 *   c_producer NAMESRV TOPIC COUNT RUN */
#include <ferromq.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, fmq_result r) {
    fprintf(stderr, "%s failed: %s: %s\n", what, fmq_result_name(r), fmq_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: c_producer NAMESRV TOPIC COUNT RUN\n");
        return 2;
    }
    const char *namesrv = argv[1], *topic = argv[2], *run = argv[4];
    int count = atoi(argv[3]);
    char group[200];
    snprintf(group, sizeof group, "c2wasm_%s", run);
    fmq_producer *producer = NULL;
    fmq_result r = fmq_producer_new(namesrv, group, &producer);
    if (r != FMQ_OK) return fail("fmq_producer_new", r);
    if ((r = fmq_producer_start(producer)) != FMQ_OK) return fail("fmq_producer_start", r);
    for (int i = 0; i < count; i++) {
        uint8_t body[64];
        int n = snprintf((char *)body, sizeof body, "from C %d", i);
        const uint8_t tail[] = {0x00, 0x01, 0xfe, 0xff};
        memcpy(body + n, tail, sizeof tail);
        char keys[64], idx[16], note[64];
        snprintf(keys, sizeof keys, "ck-%d ckg", i);
        snprintf(idx, sizeof idx, "%d", i);
        snprintf(note, sizeof note, "n\xc3\xbc\xe2\x82\xac\xe4\xb8\xad-%d", i); /* "nü€中-i" */
        fmq_message *msg = NULL;
        if ((r = fmq_message_new(topic, body, (size_t)n + sizeof tail, &msg)) != FMQ_OK)
            return fail("fmq_message_new", r);
        fmq_message_set_tag(msg, "TagC");
        fmq_message_set_keys(msg, keys);
        fmq_message_set_property(msg, "idx", idx);
        fmq_message_set_property(msg, "note", note);
        fmq_message_set_property(msg, "run", run);
        fmq_send_result sent;
        r = fmq_producer_send(producer, msg, &sent);
        fmq_message_free(msg);
        if (r != FMQ_OK) return fail("fmq_producer_send", r);
        printf("SENT\t%d\t%s\n", i, sent.msg_id);
    }
    fmq_producer_shutdown(producer);
    fmq_producer_free(producer);
    printf("OK: sent %d\n", count);
    return 0;
}
