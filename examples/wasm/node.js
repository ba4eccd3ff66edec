'use strict'
// ferromq-wasm in Node: send a few messages with a tag, a key and a property, then read them
// with the pull consumer as an async iterator, all over WebSocket.
//
//   FERROMQ_NAMESRV_WS=ws://127.0.0.1:9877/ node examples/wasm/node.js
//
// Against servers with TLS and ACL (docs/tls.md, docs/security.md): a wss:// URL, Node told to
// trust the servers' CA, and an account of the broker's plain_acl.yml:
//
//   NODE_EXTRA_CA_CERTS=/etc/rocketmq/tls/ca.pem FERROMQ_NAMESRV_WS=wss://ns.example.com:9877/ \
//   FERROMQ_ACCESS_KEY=app-orders FERROMQ_SECRET_KEY=change-me-0f2a9c node examples/wasm/node.js
//
// Uses the package built into bindings/wasm/pkg (bash bindings/wasm/build.sh) and the `ws`
// package from bindings/wasm/node_modules; in an application, `require('ferromq-wasm')` and
// `require('ws')`.

const path = require('node:path')

const wasmDir = path.join(__dirname, '..', '..', 'bindings', 'wasm')
// Node 20 has no global WebSocket: the package uses whatever globalThis.WebSocket is.
globalThis.WebSocket = globalThis.WebSocket || require(path.join(wasmDir, 'node_modules', 'ws'))
const { Admin, Producer, PullConsumer } = require(path.join(wasmDir, 'pkg'))

async function main() {
  const namesrvAddr = process.env.FERROMQ_NAMESRV_WS || 'ws://127.0.0.1:9877/'
  // ACL 1.0: every request signed with an account's keys (the secret key is never sent).
  const credentials = process.env.FERROMQ_ACCESS_KEY
    ? { accessKey: process.env.FERROMQ_ACCESS_KEY, secretKey: process.env.FERROMQ_SECRET_KEY }
    : undefined
  const run = `${process.pid}_${Date.now()}`
  const topic = `QuickstartWasm_${run}`
  const N = 3

  const admin = new Admin({ namesrvAddr, credentials })
  await admin.createTopic(topic, { queueNums: 4 })
  await admin.shutdown()

  const producer = new Producer({ namesrvAddr, credentials, group: `quickstart_producer_${run}` })
  await producer.start()
  for (let i = 0; i < N; i++) {
    const r = await producer.send({ topic, body: `Hello FerroMQ ${i}`, tag: 'TagA', keys: [`order-${i}`], properties: { source: 'quickstart' } })
    console.log(`sent ${r.msgId} to queue ${r.queueId} at offset ${r.queueOffset}`)
  }
  await producer.shutdown()

  const consumer = new PullConsumer({ namesrvAddr, credentials, group: `quickstart_consumer_${run}`, consumeFrom: 'firstOffset' })
  await consumer.subscribe(topic, 'TagA')
  await consumer.start()
  const received = new Set()
  const timeout = setTimeout(() => consumer.shutdown(), 30000) // the loop ends at shutdown
  for await (const m of consumer) {
    console.log(`received ${m.text()} tag=${m.tag} keys=${m.keys} source=${m.properties.source}`)
    received.add(m.text())
    if (received.size === N) break
  }
  clearTimeout(timeout)
  await consumer.shutdown()
  console.log(`received ${received.size} of ${N}`)
  if (received.size !== N) process.exitCode = 1
}

main().catch((e) => {
  console.error(`${e.code ?? ''} ${e.message}`)
  process.exitCode = 1
})
