'use strict'
// The client core's contract as this package presents it (the same as the Node package's):
// what a listener's answer means, the lifecycle of every object, option strings parsed by the
// core; and the functions that mirror the core's surface (pull pause/resume/seek, push batch
// size and allocation, a JavaScript queue selector, the admin client). Against a real name
// server and broker over WebSocket; waits with deadlines.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')

const { startReadyCluster, waitFor, fresh, load } = require('./cluster')

const { Admin, Producer, PushConsumer, PullConsumer, TransactionProducer } = load()

let ready
let producer
let ns
const open = []

before(async () => {
  ready = await startReadyCluster()
  ns = ready.cluster.namesrvWs
  producer = new Producer({ namesrvAddr: ns, group: fresh('p') })
  await producer.start()
})

after(async () => {
  for (const c of open) await c.shutdown()
  if (producer) await producer.shutdown()
  if (ready) await ready.stop()
})

const illegal = (pattern) => (e) => e.code === 'IllegalState' && pattern.test(e.message)
const invalid = (pattern) => (e) => e.code === 'InvalidArgument' && pattern.test(e.message)

async function freshTopic(prefix, queueNums = 1) {
  const topic = fresh(prefix)
  await ready.createTopic(topic, queueNums)
  return topic
}

/** Polls `c` until `n` messages came. */
async function pollAll(c, n, what) {
  const got = []
  await waitFor(what, 30000, async () => {
    got.push(...(await c.poll(500)))
    return got.length >= n
  })
  return got
}

// Each answer once, then 'success': the message must come again with reconsumeTimes 1.
const RETRY_ANSWERS = [
  ['false', () => false],
  ["'reconsumeLater'", () => 'reconsumeLater'],
  ['a Promise of false', async () => false],
  ['a number (unusable)', () => 42],
  ['an object (unusable)', () => ({ ok: true })],
  ['a throw', () => { throw new Error('listener failure (expected by the test)') }],
  ['a rejected Promise', async () => { throw new Error('listener failure (expected by the test)') }],
]

describe('listener contract', () => {
  for (const [name, answer] of RETRY_ANSWERS) {
    it(`${name} redelivers the message`, async () => {
      const topic = await freshTopic('Answer')
      await producer.send({ topic, body: 'answer' })
      const attempts = []
      // 'CONSUME_FROM_FIRST_OFFSET': a Java spelling, parsed by the core.
      const consumer = new PushConsumer({ namesrvAddr: ns, group: fresh('g'), consumeFrom: 'CONSUME_FROM_FIRST_OFFSET' })
      open.push(consumer)
      await consumer.subscribe(topic)
      await consumer.start((m) => {
        attempts.push(m.reconsumeTimes)
        return attempts.length === 1 ? answer() : 'success'
      })
      await waitFor('the redelivery', 30000, async () => attempts.length >= 2)
      assert.deepEqual(attempts.slice(0, 2), [0, 1])
    })
  }

  it('undefined, null, true and success consume at once', async () => {
    const topic = await freshTopic('Consumed')
    const answers = [undefined, null, true, 'success']
    for (let i = 0; i < answers.length; i++) await producer.send({ topic, body: String(i) })
    const seen = []
    const consumer = new PushConsumer({ namesrvAddr: ns, group: fresh('g'), consumeFrom: 'firstOffset' })
    open.push(consumer)
    await consumer.subscribe(topic)
    consumer.onMessage((m) => {
      seen.push(`${m.text()}@${m.reconsumeTimes}`)
      return answers[Number(m.text())]
    })
    await consumer.start()
    await waitFor('every message', 30000, async () => seen.length >= answers.length)
    await new Promise((resolve) => setTimeout(resolve, 1500))
    assert.deepEqual(seen.sort(), ['0@0', '1@0', '2@0', '3@0'])
  })
})

describe('lifecycle', () => {
  it('a producer starts once and shuts down for good', async () => {
    const p = new Producer({ namesrvAddr: ns, group: fresh('p') })
    await assert.rejects(p.send({ topic: 'T', body: 'x' }), illegal(/not started/))
    await p.start()
    await assert.rejects(p.start(), illegal(/already started/))
    await p.shutdown()
    await p.shutdown()
    await assert.rejects(p.start(), illegal(/cannot be started again/))
    await assert.rejects(p.send({ topic: 'T', body: 'x' }), illegal(/shut down/))
  })

  it('consumers and transaction producers follow the same rules; iteration of a shut-down consumer ends', async () => {
    const c = new PullConsumer({ namesrvAddr: ns, group: fresh('g') })
    await c.shutdown()
    await assert.rejects(c.start(), illegal(/cannot be started again/))
    for await (const m of c) assert.fail(`unexpected ${m.msgId}`)
    const push = new PushConsumer({ namesrvAddr: ns, group: fresh('g') })
    await push.subscribe(fresh('T'))
    await push.shutdown()
    await assert.rejects(push.start(() => {}), illegal(/cannot be started again/))
    assert.throws(() => push.onMessage(() => {}), illegal(/before start/))
    const tx = new TransactionProducer({ namesrvAddr: ns, group: fresh('tx') })
    const listener = { execute: () => 'commit', check: () => 'commit' }
    await tx.start(listener)
    await assert.rejects(tx.start(listener), illegal(/already started/))
    await tx.shutdown()
    await tx.shutdown()
    await assert.rejects(tx.start(listener), illegal(/cannot be started again/))
  })

  it('an admin refuses calls after shutdown', async () => {
    const admin = new Admin({ namesrvAddr: ns })
    await admin.shutdown()
    await admin.shutdown()
    await assert.rejects(admin.topicRoute('TBW102'), illegal(/shut down/))
  })
})

describe('option rules', () => {
  it('option strings and combinations are checked by the core', () => {
    assert.throws(
      () => new PullConsumer({ namesrvAddr: ns, group: fresh('g'), consumeFrom: 'latest' }),
      invalid(/"latest" is not a consume-from position: use lastOffset, firstOffset, timestamp/),
    )
    assert.throws(() => new PullConsumer({ namesrvAddr: ns, group: fresh('g'), consumeFrom: 'timestamp' }), invalid(/needs the consume timestamp/))
    assert.throws(() => new PushConsumer({ namesrvAddr: ns, group: fresh('g'), consumeTimestamp: 1 }), invalid(/consume timestamp goes with/))
    assert.throws(() => new PushConsumer({ namesrvAddr: ns, group: fresh('g'), messageModel: 'both' }), invalid(/not a message model/))
    assert.throws(() => new PushConsumer({ namesrvAddr: ns, group: fresh('g'), allocation: 'random' }), invalid(/not an allocation strategy/))
    assert.throws(() => new PushConsumer({ namesrvAddr: ns, group: fresh('g'), consumeBatchSize: 0 }), invalid(/consume batch size/))
    // Any case and separators, and Java names.
    new PushConsumer({ namesrvAddr: ns, group: fresh('g'), consumeFrom: 'FIRST_OFFSET', messageModel: 'CLUSTERING', allocation: 'AVG_BY_CIRCLE' }).free()
  })

  it('a filter takes a tag expression or SQL92, not both', async () => {
    const c = new PushConsumer({ namesrvAddr: ns, group: fresh('g') })
    await assert.rejects(c.subscribe('T', { tag: 'A', sql92: 'a > 1' }), invalid(/not both/))
    await c.shutdown()
  })
})

describe('push consumer options', () => {
  it('consumeBatchSize and allocation: every message once, one per listener call', async () => {
    const topic = await freshTopic('Batch', 2)
    const N = 8
    for (let i = 0; i < N; i++) await producer.send({ topic, body: `b${i}`, shardingKey: 'one' })
    const seen = []
    const consumer = new PushConsumer({
      namesrvAddr: ns, group: fresh('g'), consumeFrom: 'firstOffset', consumeBatchSize: 4, allocation: 'averagelyByCircle',
    })
    open.push(consumer)
    await consumer.subscribe(topic)
    await consumer.start((m) => {
      assert.equal(typeof m.text, 'function')
      seen.push(m.text())
    })
    await waitFor('every message', 30000, async () => seen.length >= N)
    assert.deepEqual([...seen].sort(), Array.from({ length: N }, (_, i) => `b${i}`).sort())
    // Both queues of the topic (the retry topic's queue is assigned too).
    await waitFor('both queues assigned', 30000, async () => consumer.assignedQueues().filter((q) => q.topic === topic).length === 2)
  })
})

describe('producer queue selector', () => {
  it('sends to the queue the JavaScript selector picks', async () => {
    const topic = await freshTopic('Selector', 4)
    const counts = []
    for (let i = 0; i < 4; i++) {
      const r = await producer.sendWithSelector({ topic, body: `s${i}`, tag: 'S' }, (m, queueCount) => {
        counts.push(queueCount)
        assert.equal(m.text(), `s${i}`)
        assert.equal(m.tag, 'S')
        return queueCount - 1 - i
      })
      assert.equal(r.queueId, 3 - i)
    }
    assert.deepEqual(counts, [4, 4, 4, 4])
  })

  it('a throw or an answer that is no queue index is InvalidArgument, and nothing is sent', async () => {
    const topic = await freshTopic('SelectorBad', 2)
    await assert.rejects(
      producer.sendWithSelector({ topic, body: 'x' }, () => { throw new Error('no queue for you') }),
      invalid(/queue selector threw: no queue for you/),
    )
    for (const bad of [2, -1, 0.5, '0', undefined, NaN]) {
      await assert.rejects(producer.sendWithSelector({ topic, body: 'x' }, () => bad), invalid(/queue selector answered/), String(bad))
    }
    // Nothing was stored: the first message of each queue is at offset 0.
    for (const queueId of [0, 1]) {
      const r = await producer.sendWithSelector({ topic, body: 'ok' }, () => queueId)
      assert.deepEqual([r.queueId, r.queueOffset], [queueId, 0])
    }
  })
})

describe('pull consumer', () => {
  it('pause stops a queue, resume restarts it; seekToBegin, seekToEnd, committed, assignment, nextMessage', async () => {
    const topic = await freshTopic('PullSurface', 1)
    const c = new PullConsumer({ namesrvAddr: ns, group: fresh('g'), consumeFrom: 'firstOffset', autoCommit: false })
    open.push(c)
    assert.deepEqual(c.assignment(), [])
    await c.start()
    const [q] = await c.fetchQueues(topic)
    await c.assign([q])
    assert.deepEqual(c.assignment(), [q])
    await producer.send({ topic, body: 'first' })
    const first = await c.nextMessage(30000)
    assert.equal(first.text(), 'first')
    assert.equal(await c.nextMessage(200), null)

    c.pause([q])
    await producer.send({ topic, body: 'while paused' })
    assert.deepEqual(await c.poll(1500), [])
    c.resume([q])
    const resumed = await pollAll(c, 1, 'the message sent while paused')
    assert.deepEqual(resumed.map((m) => m.text()), ['while paused'])

    await c.seekToBegin(q)
    const all = await pollAll(c, 2, 'a re-read from the beginning')
    assert.deepEqual(all.map((m) => m.queueOffset), [0, 1])
    await c.commit()
    assert.equal(await c.committed(q), 2)

    await c.seekToEnd(q)
    await producer.send({ topic, body: 'after the end' })
    const after = await pollAll(c, 1, 'the message after the end')
    assert.deepEqual(after.map((m) => m.text()), ['after the end'])
    await c.shutdown()
    assert.equal(c.closed, true)
    assert.throws(() => c.pause([q]), illegal(/shut down/))
  })
})

describe('admin', () => {
  it('cluster info, topic stats, consumer progress, query by key, view by id, delete', async () => {
    const admin = new Admin({ namesrvAddr: ns })
    try {
      const info = await admin.clusterInfo()
      assert.deepEqual(Object.keys(info.clusters), ['DefaultCluster'])
      assert.deepEqual(info.clusters.DefaultCluster, ['broker-a'])
      assert.equal(info.brokers[0].brokerName, 'broker-a')
      assert.equal(info.brokers[0].addrs['0'], ready.cluster.brokerAddr)

      const topic = fresh('Admin')
      await admin.createTopic(topic, { queueNums: 2 })
      await waitFor('the route', 20000, async () => admin.topicRoute(topic).then(() => true, () => false))
      const route = await admin.topicRoute(topic)
      assert.equal(route.queues[0].perm, 6)
      assert.equal(route.brokers[0].cluster, 'DefaultCluster')

      const sent = await producer.sendWithSelector({ topic, body: 'admin', keys: ['order-7'] }, () => 1)
      let stats
      await waitFor('the topic stats', 20000, async () => {
        stats = await admin.topicStats(topic)
        return stats.length === 2 && stats[1].maxOffset === 1
      })
      assert.deepEqual(stats.map((s) => [s.topic, s.queueId, s.minOffset, s.maxOffset]), [[topic, 0, 0, 0], [topic, 1, 0, 1]])

      const group = fresh('g')
      const c = new PullConsumer({ namesrvAddr: ns, group, consumeFrom: 'firstOffset', autoCommit: false })
      await c.start()
      await c.assign(await c.fetchQueues(topic))
      await pollAll(c, 1, 'the admin message')
      await c.commit()
      await c.shutdown()
      await waitFor('the consumer progress', 20000, async () => {
        const progress = await admin.consumerProgress(group, topic).catch(() => [])
        const q1 = progress.find((p) => p.queueId === 1)
        return q1 && q1.consumerOffset === 1 && q1.brokerOffset === 1
      })

      const viewed = await admin.viewMessage(sent.offsetMsgId)
      assert.equal(viewed.text(), 'admin')
      assert.equal(viewed.msgId, sent.msgId)
      await waitFor('the key index', 20000, async () => (await admin.queryByKey(topic, 'order-7')).length === 1)
      assert.deepEqual(await admin.queryByKey(topic, 'no-such-key', 4), [])

      await admin.deleteTopic(topic)
      await assert.rejects(admin.topicRoute(topic), (e) => e.code === 'TopicNotFound')
    } finally {
      await admin.shutdown()
    }
  })
})
