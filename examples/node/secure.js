'use strict'
// Credentials and TLS: send one message to a broker with ACL 1.0 on, over TLS, and read it back
// with a pull consumer. The account and the certificate files come from the environment:
//
//   FERROMQ_NAMESRV=10.0.0.5:9876 FERROMQ_ACCESS_KEY=app-orders FERROMQ_SECRET_KEY=... \
//   FERROMQ_TLS_CA=ca.pem [FERROMQ_TLS_CERT=app.pem FERROMQ_TLS_KEY=app.key] \
//     node examples/node/secure.js [topic]
//
// FERROMQ_TLS_CERT / FERROMQ_TLS_KEY are needed only by servers that require client
// certificates (`tls.server.need.client.auth=require`). Uses the package from bindings/node
// (after `npm run build:debug` there); in an application, `require('ferromq')`.

const { Producer, PullConsumer } = require('../../bindings/node')

async function main() {
  const env = process.env
  const security = {
    namesrvAddr: env.FERROMQ_NAMESRV || '127.0.0.1:9876',
    credentials: { accessKey: env.FERROMQ_ACCESS_KEY, secretKey: env.FERROMQ_SECRET_KEY },
    // `tls: true` trusts the system's roots instead of a CA file.
    tls: { caFile: env.FERROMQ_TLS_CA, certFile: env.FERROMQ_TLS_CERT, keyFile: env.FERROMQ_TLS_KEY },
  }
  const topic = process.argv[2] || 'SecureTopic'
  const run = `${process.pid}_${Date.now()}`

  const producer = new Producer({ ...security, group: `secure_producer_${run}` })
  await producer.start()
  const sent = await producer.send({ topic, body: 'signed and encrypted' })
  console.log(`sent ${sent.msgId} over TLS as ${security.credentials.accessKey}`)
  await producer.shutdown()

  const consumer = new PullConsumer({ ...security, group: `secure_consumer_${run}`, consumeFrom: 'firstOffset' })
  await consumer.start()
  await consumer.subscribe(topic)
  const deadline = Date.now() + 30000
  let found = false
  while (!found && Date.now() < deadline) {
    for (const m of await consumer.poll(1000)) {
      if (m.msgId === sent.msgId) found = true
    }
  }
  await consumer.shutdown()
  console.log(found ? 'received it back' : 'the message did not come back')
  if (!found) process.exitCode = 1
}

main().catch((e) => {
  console.error(`${e.code ?? ''} ${e.message}`)
  process.exitCode = 1
})
