'use strict'
// Run by test-package.sh in a project that installed the npm tarball (no Rust toolchain, no
// FERROMQ_BIN_DIR): the package's own servers start under `ferromq/testing`, and a message
// sent with the package's producer reaches its push consumer.

const test = require('node:test')
const assert = require('node:assert/strict')

const { Admin, Producer, PushConsumer } = require('ferromq')
const { LocalCluster } = require('ferromq/testing')

async function waitFor(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

test('LocalCluster from the installed package: send and consume', async () => {
  const cluster = await LocalCluster.start({ brokers: 1 })
  const open = []
  try {
    assert.equal(cluster.binaries.source, 'bundled', JSON.stringify(cluster.binaries))
    assert.match(cluster.binaries.broker, /node_modules[/\\]ferromq[/\\]bin[/\\]/)
    const topic = `PackageTest_${process.pid}`
    const admin = new Admin(cluster.client)
    open.push(admin)
    await admin.createTopic(topic, { queueNums: 2 })
    await waitFor('the route', 20000, () => admin.topicRoute(topic).then(() => true, () => false))

    const producer = new Producer({ ...cluster.client, group: 'package-test-p' })
    open.push(producer)
    await producer.start()
    const sent = await producer.send({ topic, body: 'hello from the tarball' })
    assert.equal(sent.status, 'SEND_OK')

    const received = []
    const consumer = new PushConsumer({ ...cluster.client, group: 'package-test-c', consumeFrom: 'firstOffset' })
    open.push(consumer)
    await consumer.subscribe(topic)
    await consumer.start((m) => { received.push(m.body.toString()) })
    await waitFor('the message', 30000, () => received.length > 0)
    assert.deepEqual(received, ['hello from the tarball'])
  } finally {
    for (const o of open.reverse()) await o.shutdown()
    await cluster.stop()
  }
  assert.equal(cluster.stopped, true)
})
