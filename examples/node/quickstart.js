'use strict'
// Quickstart: send a few messages with a tag, a key and a property, and consume them.
//
//   FERROMQ_NAMESRV=127.0.0.1:9876 node examples/node/quickstart.js
//
// Uses the package from bindings/node (after `npm run build:debug` there); in an application,
// `require('ferromq')`.

const { Admin, Producer, PushConsumer } = require('../../bindings/node')

async function main() {
  const namesrvAddr = process.env.FERROMQ_NAMESRV || '127.0.0.1:9876'
  const run = `${process.pid}_${Date.now()}`
  const topic = `QuickstartNode_${run}`
  const N = 3

  const admin = new Admin({ namesrvAddr })
  await admin.createTopic(topic, { queueNums: 4 })
  await admin.shutdown()

  const producer = new Producer({ namesrvAddr, group: `quickstart_producer_${run}` })
  await producer.start()
  for (let i = 0; i < N; i++) {
    const result = await producer.send({
      topic,
      body: `Hello FerroMQ ${i}`,
      tag: 'TagA',
      keys: [`order-${i}`],
      properties: { source: 'quickstart' },
    })
    console.log(`sent ${result.msgId} to queue ${result.queue.queueId} at offset ${result.queueOffset}`)
  }
  await producer.shutdown()

  const received = new Set()
  const consumer = new PushConsumer({ namesrvAddr, group: `quickstart_consumer_${run}`, consumeFrom: 'firstOffset' })
  await consumer.subscribe(topic, { tag: 'TagA' })
  let done
  const all = new Promise((resolve) => { done = resolve })
  await consumer.start((message) => {
    console.log(`received ${message.body.toString()} tag=${message.tag} keys=${message.keys} source=${message.properties.source}`)
    received.add(message.body.toString())
    if (received.size === N) done()
  })
  const timeout = setTimeout(() => done(), 30000)
  await all
  clearTimeout(timeout)
  // Shutting down releases the listener, so the process can exit.
  await consumer.shutdown()
  console.log(`received ${received.size} of ${N}`)
  if (received.size !== N) process.exitCode = 1
}

main().catch((e) => {
  console.error(`${e.code ?? ''} ${e.message}`)
  process.exitCode = 1
})
