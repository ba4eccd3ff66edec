'use strict'
// docs/scenarios.md, "consume-timeout" and "shutdown", with the WebAssembly package (its Node
// flavour, over WebSocket) against a real FerroMQ name server and broker (every delay level
// but 2 is 1 s, so a message sent back comes again within a second or two). The stuck
// listeners return a Promise that a gate resolves later: the one JavaScript thread stays free
// for the client's own tasks (the expiry check, pulls, shutdown) and the test's polling.
// client-core/tests/housekeeping.rs asserts the same in Rust.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')

const { startReadyCluster, waitFor, fresh, load } = require('./cluster')

const { Producer, PushConsumer } = load()

/** A Promise the test resolves with `open()`. */
function gate() {
  let open
  const promise = new Promise((resolve) => { open = resolve })
  return { promise, open: () => open() }
}

describe('consume-timeout and shutdown over WebSocket', () => {
  let ready
  const open = []

  before(async () => {
    ready = await startReadyCluster()
  })

  after(async () => {
    for (const c of open) await c.shutdown()
    if (ready) await ready.stop()
  })

  /** A fresh one-queue topic holding one message with `body`, and its send result. */
  async function oneMessage(prefix, body) {
    const topic = fresh(prefix)
    await ready.createTopic(topic, 1)
    const p = new Producer({ ...ready.cluster.client, group: fresh('p') })
    await p.start()
    try {
      return { topic, sent: await p.send({ topic, body }) }
    } finally {
      await p.shutdown()
    }
  }

  /** The group's committed offset of queue 0 of `topic` on the broker (-1 while none). */
  async function committed(group, topic) {
    try {
      const row = (await ready.admin.consumerProgress(group, topic)).find((r) => r.topic === topic && r.queueId === 0)
      return row ? row.consumerOffset : -1
    } catch (e) {
      return -1
    }
  }

  async function consumer(group, topic, listener, options = {}) {
    const c = new PushConsumer({ ...ready.cluster.client, group, consumeFrom: 'firstOffset', ...options })
    await c.subscribe(topic)
    await c.start(listener)
    open.push(c)
    return c
  }

  it('consume-timeout: a stuck call is redelivered with reconsumeTimes 1 and the offset moves past it', async () => {
    const { topic, sent } = await oneMessage('expire', 'stuck')
    const group = fresh('gexpire')
    const g = gate()
    let firstReturned = false
    const again = []
    await consumer(group, topic, async (m) => {
      if (m.reconsumeTimes === 0) {
        await g.promise
        firstReturned = true
      } else {
        again.push(m)
      }
    }, { consumeTimeoutMs: 1000 })
    try {
      await waitFor('the redelivery', 30000, () => again.length >= 1)
      assert.equal(again[0].text(), 'stuck')
      assert.equal(again[0].msgId, sent.msgId)
      assert.equal(again[0].reconsumeTimes, 1)
      await waitFor('the offset to pass the stuck message', 30000, async () => (await committed(group, topic)) >= 1)
      assert.equal(firstReturned, false, 'the first call is still stuck')
    } finally {
      g.open()
    }
    await waitFor('the stuck call to end', 30000, () => firstReturned)
    assert.equal(again.length, 1, 'redelivered once')
  })

  it('shutdown: a call that ends within awaitTerminationMs is committed before shutdown() resolves', async () => {
    const { topic } = await oneMessage('shutdownwait', 'slow')
    const group = fresh('gwait')
    const g = gate()
    let entered = false
    let finished = false
    const c = await consumer(group, topic, async () => {
      entered = true
      await g.promise
      finished = true
    }, { awaitTerminationMs: 30000 })
    await waitFor('the listener call', 30000, () => entered)
    // The call ends a second after shutdown began.
    const opener = setTimeout(g.open, 1000)
    try {
      await c.shutdown()
    } finally {
      clearTimeout(opener)
      g.open()
    }
    assert.equal(finished, true, 'shutdown waited for the call')
    assert.equal(await committed(group, topic), 1)
  })

  it('shutdown: a call outliving awaitTerminationMs is abandoned and the next member gets the message', async () => {
    const { topic, sent } = await oneMessage('shutdownabandon', 'abandoned')
    const group = fresh('gabandon')
    const g = gate()
    let entered = false
    let finished = false
    const first = await consumer(group, topic, async () => {
      entered = true
      await g.promise
      finished = true
    }, { awaitTerminationMs: 300, instanceName: fresh('first') })
    try {
      await waitFor('the listener call', 30000, () => entered)
      await first.shutdown()
      assert.equal(finished, false, 'the call is still running')
      assert.ok((await committed(group, topic)) < 1, 'nothing committed')
      const got = []
      const second = await consumer(group, topic, (m) => { got.push(m) }, { instanceName: fresh('second') })
      await waitFor('the redelivery to the next member', 30000, () => got.length >= 1)
      assert.equal(got[0].msgId, sent.msgId)
      assert.equal(got[0].text(), 'abandoned')
      // The abandoned call ends now; its answer commits nothing of its own.
      g.open()
      await waitFor('the abandoned call to end', 30000, () => finished)
      await second.shutdown()
      assert.equal(await committed(group, topic), 1)
      assert.equal(got.length, 1)
    } finally {
      g.open()
    }
  })
})
