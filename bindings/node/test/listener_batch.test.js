'use strict'
// The push consumer's listener calls are batched: messages that arrive while the JavaScript
// thread is busy are handed over together and the listener is called once per message. These
// tests check that the listener contract holds in such batches, against a real name server and
// broker: each message answered on its own (a throw, a rejection or 'reconsumeLater' redelivers
// only that message), Promises awaited (several at once), and orderly queues kept in order.
// Each test keeps the JavaScript thread busy in its first listener call so that the following
// messages pile up into one batch.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')

const { Producer, PushConsumer } = require('..')
const { startReadyCluster, waitFor, fresh } = require('./cluster')

/** Keeps the JavaScript thread busy for `ms` (no event-loop turn meanwhile). */
function busy(ms) {
  const end = Date.now() + ms
  while (Date.now() < end) { /* spin */ }
}

describe('listener calls delivered in batches', () => {
  let ready
  let producer
  const open = []

  before(async () => {
    ready = await startReadyCluster()
    producer = new Producer({ namesrvAddr: ready.cluster.namesrvAddr, group: fresh('p') })
    await producer.start()
  })

  after(async () => {
    for (const c of open) await c.shutdown()
    if (producer) await producer.shutdown()
    if (ready) await ready.stop()
  })

  async function consumer(topic, listener, options = {}) {
    const c = new PushConsumer({ namesrvAddr: ready.cluster.namesrvAddr, group: fresh('g'), consumeFrom: 'firstOffset', ...options })
    await c.subscribe(topic)
    await c.start(listener)
    open.push(c)
    return c
  }

  const body = (m) => m.body.toString()

  it('a throw fails only its own message; the rest of the batch is consumed once', async () => {
    const topic = fresh('batch_throw')
    await ready.createTopic(topic, 1)
    const n = 20
    // Sent before the consumer starts: they arrive together, in one pull.
    await Promise.all(Array.from({ length: n }, (_, i) => producer.send({ topic, body: `m${i}` })))
    const seen = []
    let first = true
    const c = await consumer(topic, (m) => {
      if (first) {
        first = false
        busy(300)
      }
      seen.push([body(m), m.reconsumeTimes])
      if (body(m) === 'm7' && m.reconsumeTimes === 0) throw new Error('m7 fails once')
    })
    await waitFor('m7 redelivered', 30000, () => seen.some(([b, r]) => b === 'm7' && r === 1))
    await waitFor('the counters', 10000, () => c.metrics().consumed >= n)
    const metrics = c.metrics()
    assert.equal(metrics.consumeFailures, 1, 'one failed call (m7 the first time)')
    assert.equal(metrics.consumed, n, 'every message consumed once')
    for (let i = 0; i < n; i++) {
      const calls = seen.filter(([b]) => b === `m${i}`)
      assert.equal(calls.length, i === 7 ? 2 : 1, `m${i}: ${JSON.stringify(calls)}`)
    }
  })

  it('Promises are awaited, several at once; a rejection or reconsumeLater redelivers only that message', async () => {
    const topic = fresh('batch_async')
    await ready.createTopic(topic, 4)
    const n = 12
    await Promise.all(Array.from({ length: n }, (_, i) => producer.send({ topic, body: `a${i}` })))
    const firstCalls = new Set()
    let release
    const allCalled = new Promise((resolve) => { release = resolve })
    let busyOnce = true
    const again = []
    await consumer(topic, async (m) => {
      if (busyOnce) {
        busyOnce = false
        busy(200)
      }
      if (m.reconsumeTimes > 0) {
        again.push(body(m))
        return
      }
      firstCalls.add(body(m))
      if (firstCalls.size === n) release()
      // No first call returns before every message was called: they are pending together.
      await allCalled
      if (body(m) === 'a3') return 'reconsumeLater'
      if (body(m) === 'a5') throw new Error('a5 rejects')
      return true
    })
    await waitFor('every message called before any Promise settled', 30000, () => firstCalls.size === n)
    await waitFor('a3 and a5 redelivered', 30000, () => again.includes('a3') && again.includes('a5'))
    assert.deepEqual([...new Set(again)].sort(), ['a3', 'a5'])
  })

  it('orderly: each queue in order across batches, a refused message offered again first', async () => {
    const topic = fresh('batch_orderly')
    await ready.createTopic(topic, 2)
    const perKey = 15
    for (let i = 0; i < perKey; i++) {
      for (const key of ['x', 'y']) {
        await producer.sendWithShardingKey({ topic, body: `${key}-${i}` }, key)
      }
    }
    const seen = { x: [], y: [] }
    let first = true
    let refused = false
    await consumer(topic, (m) => {
      if (first) {
        first = false
        busy(200)
      }
      const [key, i] = body(m).split('-')
      seen[key].push(Number(i))
      if (key === 'x' && i === '4' && !refused) {
        refused = true
        return false
      }
    }, { orderly: true, suspendCurrentQueueTimeMs: 100 })
    await waitFor('both keys consumed', 30000, () => seen.x.length >= perKey + 1 && seen.y.length >= perKey)
    const expected = Array.from({ length: perKey }, (_, i) => i)
    assert.deepEqual(seen.y, expected)
    assert.deepEqual(seen.x, [0, 1, 2, 3, 4, 4, ...expected.slice(5)])
  })
})
