#!/usr/bin/env python3
"""Record RocketMQ remoting frames sent by official clients and brokers (stdlib only).

Two modes:

  recorder.py serve --port P --outdir D --label L [--max-per-code N] [--pull-hold-ms MS]
      Listen on 127.0.0.1:P and act as a minimal name server *and* broker at the same address.
      Every received frame is written verbatim (length prefix included) to
      D/<L>-<NN>-<CODE_NAME>.bin (at most N files per request code; NN is a global sequence).
      Answers just enough for a client to go on: routes point at this address, sends succeed,
      pulls find nothing (held MS milliseconds, like long polling, to avoid a hot loop).
      Oneway requests (flag & 2) are never answered. Prints "listening on 127.0.0.1:P" once
      the socket is bound.

  recorder.py query --namesrv HOST:PORT --outdir D [--topic TBW102] [--timeout S]
                    [--register-frame FILE]
      Ask a real name server for a topic route with request version 317 (fastjson default,
      unquoted brokerAddrs keys) and 479 (standard JSON, quoted keys), and for the broker
      cluster info; write the raw response frames to
      D/apache-namesrv-route-v317.bin, ...-route-v479.bin, ...-cluster-info.bin and the requests
      to D/query-*.bin. Retries the route request until it succeeds (broker registered).
      With --register-frame, also send that recorded REGISTER_BROKER frame unchanged (same
      opaque) and save the answer as D/apache-namesrv-register-response.bin.

Frame layout: int32 length (excluding itself), int32 (serializeType << 24 | headerLen),
header (JSON when serializeType is 0), body.
"""

import argparse
import json
import os
import socket
import struct
import sys
import threading
import time

CODE_NAMES = {
    10: "SEND_MESSAGE",
    11: "PULL_MESSAGE",
    12: "QUERY_MESSAGE",
    14: "QUERY_CONSUMER_OFFSET",
    15: "UPDATE_CONSUMER_OFFSET",
    17: "UPDATE_AND_CREATE_TOPIC",
    29: "GET_MIN_OFFSET",
    30: "GET_MAX_OFFSET",
    34: "HEART_BEAT",
    35: "UNREGISTER_CLIENT",
    36: "CONSUMER_SEND_MSG_BACK",
    37: "END_TRANSACTION",
    38: "GET_CONSUMER_LIST_BY_GROUP",
    41: "LOCK_BATCH_MQ",
    42: "UNLOCK_BATCH_MQ",
    46: "CHECK_CLIENT_CONFIG",
    100: "PUT_KV_CONFIG",
    101: "GET_KV_CONFIG",
    103: "REGISTER_BROKER",
    104: "UNREGISTER_BROKER",
    105: "GET_ROUTEINFO_BY_TOPIC",
    106: "GET_BROKER_CLUSTER_INFO",
    206: "GET_ALL_TOPIC_LIST_FROM_NAMESERVER",
    310: "SEND_MESSAGE_V2",
    320: "SEND_BATCH_MESSAGE",
    322: "QUERY_DATA_VERSION",
    901: "GET_BROKER_MEMBER_GROUP",
    904: "BROKER_HEARTBEAT",
}

LANGUAGES = ["JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP",
             "GO", "PHP", "OMS", "RUST", "NODE_JS"]

SUCCESS = 0
SYSTEM_ERROR = 1
PULL_NOT_FOUND = 19
QUERY_NOT_FOUND = 22
RESPONSE_VERSION = 479  # V5_3_3: Java clients record the heartbeat response version as broker version


def read_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_frame(sock):
    """Returns the whole frame (length prefix included) or None at EOF."""
    prefix = read_exact(sock, 4)
    if prefix is None:
        return None
    (length,) = struct.unpack(">i", prefix)
    if length < 4 or length > 16 * 1024 * 1024:
        raise ValueError("bad frame length %d" % length)
    rest = read_exact(sock, length)
    if rest is None:
        return None
    return prefix + rest


def decode_frame(frame):
    """Returns (header dict, body bytes). Handles JSON and ROCKETMQ binary headers."""
    (word,) = struct.unpack(">i", frame[4:8])
    ser_type = (word >> 24) & 0xFF
    header_len = word & 0xFFFFFF
    raw = frame[8:8 + header_len]
    body = frame[8 + header_len:]
    if ser_type == 0:
        return json.loads(raw.decode("utf-8")), body
    code, lang, version, opaque, flag, remark_len = struct.unpack(">hbhiii", raw[:17])
    pos = 17
    remark = raw[pos:pos + remark_len].decode("utf-8") if remark_len else None
    pos += remark_len
    (ext_len,) = struct.unpack(">i", raw[pos:pos + 4])
    pos += 4
    end = pos + ext_len
    ext = {}
    while pos < end:
        (klen,) = struct.unpack(">h", raw[pos:pos + 2])
        pos += 2
        key = raw[pos:pos + klen].decode("utf-8")
        pos += klen
        (vlen,) = struct.unpack(">i", raw[pos:pos + 4])
        pos += 4
        ext[key] = raw[pos:pos + vlen].decode("utf-8")
        pos += vlen
    header = {"code": code, "language": LANGUAGES[lang] if 0 <= lang < len(LANGUAGES) else lang,
              "version": version, "opaque": opaque, "flag": flag, "extFields": ext}
    if remark is not None:
        header["remark"] = remark
    return header, body


def encode_frame(header, body=b""):
    raw = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return struct.pack(">ii", 4 + len(raw) + len(body), len(raw)) + raw + body


def command(code, opaque, flag, ext=None, remark=None, version=RESPONSE_VERSION):
    header = {"code": code, "flag": flag, "language": "JAVA", "opaque": opaque,
              "serializeTypeCurrentRPC": "JSON", "version": version}
    if ext is not None:
        header["extFields"] = ext
    if remark is not None:
        header["remark"] = remark
    return header


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode("utf-8")


class Recorder:
    def __init__(self, port, outdir, label, max_per_code, pull_hold_ms):
        self.port = port
        self.addr = "127.0.0.1:%d" % port
        self.outdir = outdir
        self.label = label
        self.max_per_code = max_per_code
        self.pull_hold = pull_hold_ms / 1000.0
        self.lock = threading.Lock()
        self.seq = 0
        self.per_code = {}
        self.offsets = {}
        self.consumers = {}  # group -> set of client ids (learned from heartbeats)

    # ---- recording -------------------------------------------------------------------------
    def record(self, frame, code):
        with self.lock:
            count = self.per_code.get(code, 0)
            if count >= self.max_per_code:
                return
            self.per_code[code] = count + 1
            self.seq += 1
            name = "%s-%02d-%s.bin" % (self.label, self.seq, CODE_NAMES.get(code, "CODE_%d" % code))
        with open(os.path.join(self.outdir, name), "wb") as f:
            f.write(frame)

    # ---- answering ---------------------------------------------------------------------------
    def route_body(self):
        broker = "recorder-broker"
        return compact({
            "brokerDatas": [{"brokerAddrs": {"0": self.addr}, "brokerName": broker,
                             "cluster": "DefaultCluster", "enableActingMaster": False}],
            "filterServerTable": {},
            "queueDatas": [{"brokerName": broker, "perm": 6, "readQueueNums": 4,
                            "topicSysFlag": 0, "writeQueueNums": 4}],
        })

    def next_offset(self, topic, queue_id):
        with self.lock:
            key = (topic, queue_id)
            value = self.offsets.get(key, 0)
            self.offsets[key] = value + 1
            return value

    def msg_id(self, offset):
        # offsetMsgId: store host ip (4 bytes) + port (4 bytes) + commit log offset (8 bytes).
        return "7F000001%08X%016X" % (self.port, offset)

    def answer(self, header, body):
        """Returns (response header, response body, delay seconds) or None for no answer."""
        code = header.get("code")
        opaque = header.get("opaque", 0)
        ext = header.get("extFields") or {}

        def ok(extra=None, resp_body=b"", delay=0.0, resp_code=SUCCESS, remark=None):
            return command(resp_code, opaque, 1, extra if extra is not None else {}, remark), resp_body, delay

        if code == 105:  # GET_ROUTEINFO_BY_TOPIC
            return ok(resp_body=self.route_body())
        if code in (10, 310, 320):  # SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE
            topic = ext.get("topic", ext.get("b", ""))
            queue_id = ext.get("queueId", ext.get("e", "0"))
            offset = self.next_offset(topic, queue_id)
            return ok({"msgId": self.msg_id(offset), "queueId": str(queue_id),
                       "queueOffset": str(offset), "MSG_REGION": "DefaultRegion",
                       "TRACE_ON": "true"})
        if code == 11:  # PULL_MESSAGE: nothing new; held like a long poll
            offset = ext.get("queueOffset", "0")
            return ok({"suggestWhichBrokerId": "0", "nextBeginOffset": str(offset),
                       "minOffset": "0", "maxOffset": str(offset)},
                      delay=self.pull_hold, resp_code=PULL_NOT_FOUND, remark="no new message")
        if code == 14:  # QUERY_CONSUMER_OFFSET
            return ok(resp_code=QUERY_NOT_FOUND, remark="Not found, maybe this group consumer boot first")
        if code in (29, 30):  # GET_MIN_OFFSET, GET_MAX_OFFSET
            return ok({"offset": "0"})
        if code == 34:  # HEART_BEAT: remember consumer ids per group
            try:
                data = json.loads(body.decode("utf-8"))
                with self.lock:
                    for consumer in data.get("consumerDataSet") or []:
                        self.consumers.setdefault(consumer.get("groupName"), set()).add(data.get("clientID"))
            except ValueError:
                pass
            return ok()
        if code == 38:  # GET_CONSUMER_LIST_BY_GROUP
            group = ext.get("consumerGroup", "")
            with self.lock:
                ids = sorted(self.consumers.get(group, set()))
            return ok(resp_body=compact({"consumerIdList": ids}))
        if code == 41:  # LOCK_BATCH_MQ
            return ok(resp_body=compact({"lockOKMQSet": []}))
        if code == 322:  # QUERY_DATA_VERSION
            return ok({"changed": "false"})
        return ok()

    def handle(self, conn):
        send_lock = threading.Lock()

        def send(frame):
            with send_lock:
                try:
                    conn.sendall(frame)
                except OSError:
                    pass

        try:
            while True:
                frame = read_frame(conn)
                if frame is None:
                    return
                header, body = decode_frame(frame)
                code = header.get("code")
                flag = header.get("flag", 0)
                if flag & 1:
                    continue  # a response to something we never asked
                self.record(frame, code)
                if flag & 2:
                    continue  # oneway: never answered
                answer = self.answer(header, body)
                if answer is None:
                    continue
                resp_header, resp_body, delay = answer
                out = encode_frame(resp_header, resp_body)
                if delay > 0:
                    threading.Timer(delay, send, args=(out,)).start()
                else:
                    send(out)
        except (OSError, ValueError) as e:
            print("connection error: %s" % e, file=sys.stderr)
        finally:
            conn.close()

    def serve(self):
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(64)
        print("listening on %s" % self.addr, flush=True)
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()


def query(namesrv, outdir, topic, timeout, register_frame=None):
    host, port = namesrv.rsplit(":", 1)
    opaque = [100]

    def call(code, version, ext):
        opaque[0] += 1
        req = encode_frame({"code": code, "extFields": ext, "flag": 0, "language": "JAVA",
                            "opaque": opaque[0], "serializeTypeCurrentRPC": "JSON",
                            "version": version})
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(req)
            resp = read_frame(s)
        if resp is None:
            raise OSError("connection closed by %s" % namesrv)
        return req, resp

    def save(name, frame):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(frame)

    deadline = time.time() + timeout
    while True:
        req, resp = call(105, 317, {"topic": topic})
        header, _ = decode_frame(resp)
        if header.get("code") == SUCCESS:
            break
        if time.time() > deadline:
            raise SystemExit("no route for %s from %s: %s" % (topic, namesrv, header))
        time.sleep(0.2)
    save("query-route-v317.bin", req)
    save("apache-namesrv-route-v317.bin", resp)
    req, resp = call(105, 479, {"topic": topic})
    save("query-route-v479.bin", req)
    save("apache-namesrv-route-v479.bin", resp)
    req, resp = call(106, 479, {})
    save("query-cluster-info.bin", req)
    save("apache-namesrv-cluster-info.bin", resp)
    if register_frame:
        with open(register_frame, "rb") as f:
            req = f.read()
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(req)
            resp = read_frame(s)
        if resp is None:
            raise OSError("connection closed by %s after REGISTER_BROKER" % namesrv)
        save("apache-namesrv-register-response.bin", resp)
    print("saved name server responses to %s" % outdir, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--outdir", required=True)
    s.add_argument("--label", required=True)
    s.add_argument("--max-per-code", type=int, default=4)
    s.add_argument("--pull-hold-ms", type=int, default=500)
    q = sub.add_parser("query")
    q.add_argument("--namesrv", required=True)
    q.add_argument("--outdir", required=True)
    q.add_argument("--topic", default="TBW102")
    q.add_argument("--timeout", type=float, default=60.0)
    q.add_argument("--register-frame")
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    if args.mode == "serve":
        Recorder(args.port, args.outdir, args.label, args.max_per_code, args.pull_hold_ms).serve()
    else:
        query(args.namesrv, args.outdir, args.topic, args.timeout, args.register_frame)


if __name__ == "__main__":
    main()
