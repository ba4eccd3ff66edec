# Shell helpers of the benchmark scripts (sourced, not run).

# wait_port <port>: until something listens on 127.0.0.1:<port> (30 s at most).
wait_port() {
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "port $1 did not open" >&2
    exit 1
}

# wait_registered <port>: until the name server on <port> lists a broker in DefaultCluster (asks
# GET_BROKER_CLUSTER_INFO, code 106, over the remoting protocol); a broker's first registration
# can take seconds (the Apache one's especially).
wait_registered() {
    python3 - "$1" <<'PY'
import json, socket, struct, sys, time
port = int(sys.argv[1])
header = json.dumps({"code": 106, "flag": 0, "language": "JAVA", "opaque": 1,
                     "serializeTypeCurrentRPC": "JSON", "version": 0}).encode()
deadline = time.time() + 60
while time.time() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(struct.pack(">II", 4 + len(header), len(header)) + header)
            data = b""
            while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            if b"DefaultCluster" in data:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit("no broker registered with the name server on port %d within 60 s" % port)
PY
}
