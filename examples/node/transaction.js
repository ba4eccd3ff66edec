'use strict'
// Transactional messages: the local transaction decides commit or rollback; an undecided one
// ('unknown') is settled later when the broker checks back.
//
//   FERROMQ_NAMESRV=127.0.0.1:9876 node examples/node/transaction.js

const { Admin, PushConsumer, TransactionProducer } = require('../../bindings/node')

async function main() {
  const namesrvAddr = process.env.FERROMQ_NAMESRV || '127.0.0.1:9876'
  const run = `${process.pid}_${Date.now()}`
  const topic = `TransactionNode_${run}`

  const admin = new Admin({ namesrvAddr })
  await admin.createTopic(topic, { queueNums: 4 })
  await admin.shutdown()

  const producer = new TransactionProducer({ namesrvAddr, group: `tx_producer_${run}` })
  await producer.start({
    // Runs right after the half message is stored.
    execute: (message, transactionId) => {
      const decision = message.properties.decision
      console.log(`execute ${transactionId}: ${decision}`)
      return decision
    },
    // The broker asks about messages left 'unknown'.
    check: async (message) => {
      console.log(`check-back for ${message.body.toString()}: commit`)
      return 'commit'
    },
  })
  for (const decision of ['commit', 'rollback', 'unknown']) {
    const r = await producer.send({ topic, body: `order ${decision}`, properties: { decision } })
    console.log(`sent ${r.send.msgId}: ${r.state}`)
  }

  const received = new Set()
  const consumer = new PushConsumer({ namesrvAddr, group: `tx_consumer_${run}`, consumeFrom: 'firstOffset' })
  await consumer.subscribe(topic)
  let done
  const both = new Promise((resolve) => { done = resolve })
  await consumer.start((message) => {
    console.log(`received ${message.body.toString()}`)
    received.add(message.body.toString())
    if (received.size === 2) done()
  })
  const timeout = setTimeout(() => done(), 30000)
  await both
  clearTimeout(timeout)
  await consumer.shutdown()
  await producer.shutdown()
  console.log(`delivered: ${[...received].sort().join(', ')}`)
  if (received.has('order rollback') || received.size !== 2) process.exitCode = 1
}

main().catch((e) => {
  console.error(`${e.code ?? ''} ${e.message}`)
  process.exitCode = 1
})
