'use strict'
// The client core's contract as Node sees it, the same in every FerroMQ binding: what a
// listener's answer means, the lifecycle of an object, and option strings parsed by the core.
// Against a real name server and broker; waits with deadlines (no blind sleeps).

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')

const { Admin, Producer, PushConsumer, PullConsumer, ErrorCode } = require('..')
const { startReadyCluster, waitFor, fresh } = require('./cluster')

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

const illegal = (pattern) => (e) => e.code === ErrorCode.IllegalState && pattern.test(e.message)
const invalid = (pattern) => (e) => e.code === ErrorCode.InvalidArgument && pattern.test(e.message)

async function freshTopic(prefix, queueNums = 1) {
  const topic = fresh(prefix)
  await ready.createTopic(topic, queueNums)
  return topic
}

// Each answer once, then 'success': the message must come again with reconsumeTimes 1.
const RETRY_ANSWERS = [
  ['false', () => false],
  ["'reconsumeLater'", () => 'reconsumeLater'],
  ['a Promise of false', async () => false],
  ['a number (unusable)', () => 42],
  ['a rejected Promise', async () => { throw new Error('listener failure (expected by the test)') }],
]

describe('listener contract', () => {
  for (const [name, answer] of RETRY_ANSWERS) {
    it(`${name} redelivers the message`, async () => {
      const topic = fresh('Answer')
      await ready.createTopic(topic, 1)
      await producer.send({ topic, body: 'answer' })
      const attempts = []
      // 'CONSUME_FROM_FIRST_OFFSET': a Java spelling, parsed by the core.
      const consumer = new PushConsumer({
        namesrvAddr: ready.cluster.namesrvAddr,
        group: fresh('g'),
        consumeFrom: 'CONSUME_FROM_FIRST_OFFSET',
      })
      await consumer.subscribe(topic)
      await consumer.start((m) => {
        attempts.push(m.reconsumeTimes)
        return attempts.length === 1 ? answer() : 'success'
      })
      open.push(consumer)
      await waitFor('the redelivery', 30000, async () => attempts.length >= 2)
      assert.deepEqual(attempts.slice(0, 2), [0, 1])
    })
  }
})

describe('lifecycle', () => {
  it('a producer starts once and shuts down for good', async () => {
    const p = new Producer({ namesrvAddr: ready.cluster.namesrvAddr, group: fresh('p') })
    await assert.rejects(p.send({ topic: 'T', body: 'x' }), illegal(/not started/))
    await p.start()
    await assert.rejects(p.start(), illegal(/already started/))
    await p.shutdown()
    await p.shutdown()
    await assert.rejects(p.start(), illegal(/cannot be started again/))
    await assert.rejects(p.send({ topic: 'T', body: 'x' }), illegal(/shut down/))
  })

  it('a consumer shut down before it started stays shut down, and iteration ends', async () => {
    const c = new PullConsumer({ namesrvAddr: ready.cluster.namesrvAddr, group: fresh('g') })
    await c.shutdown()
    await assert.rejects(c.start(), illegal(/cannot be started again/))
    const seen = []
    for await (const m of c) seen.push(m)
    assert.deepEqual(seen, [])
    const push = new PushConsumer({ namesrvAddr: ready.cluster.namesrvAddr, group: fresh('g') })
    await push.subscribe(fresh('T'))
    await push.shutdown()
    await assert.rejects(push.start(() => {}), illegal(/cannot be started again/))
  })

  it('an admin refuses calls after shutdown', async () => {
    const admin = new Admin({ namesrvAddr: ready.cluster.namesrvAddr })
    await admin.topicRoute('TBW102').catch(() => {})
    await admin.shutdown()
    await assert.rejects(admin.topicRoute('TBW102'), illegal(/shut down/))
  })
})

describe('option rules', () => {
  it('option strings and combinations are checked by the core', async () => {
    const namesrvAddr = ready.cluster.namesrvAddr
    await assert.rejects(
      new PullConsumer({ namesrvAddr, group: fresh('g'), consumeFrom: 'latest' }).start(),
      invalid(/"latest" is not a consume-from position: use lastOffset, firstOffset, timestamp/)
    )
    await assert.rejects(
      new PullConsumer({ namesrvAddr, group: fresh('g'), consumeFrom: 'timestamp' }).start(),
      invalid(/needs the consume timestamp/)
    )
    await assert.rejects(
      new PushConsumer({ namesrvAddr, group: fresh('g'), messageModel: 'both' }).start(() => {}),
      invalid(/not a message model/)
    )
    await assert.rejects(
      new PushConsumer({ namesrvAddr, group: fresh('g'), allocation: 'random' }).start(() => {}),
      invalid(/"random" is not an allocation strategy/)
    )
    await assert.rejects(
      new PushConsumer({ namesrvAddr, group: fresh('g'), consumeBatchSize: 0 }).start(() => {}),
      invalid(/consume batch size/)
    )
    const c = new PushConsumer({ namesrvAddr, group: fresh('g') })
    await assert.rejects(c.subscribe('T', { tag: 'A', sql92: 'a > 1' }), invalid(/not both/))
  })
})

describe('push consumer options', () => {
  it('consumeBatchSize and allocation: every message once, one per listener call', async () => {
    const topic = await freshTopic('Batch', 2)
    const N = 8
    for (let i = 0; i < N; i++) await producer.sendWithShardingKey({ topic, body: `b${i}` }, 'one')
    const seen = []
    const consumer = new PushConsumer({
      namesrvAddr: ready.cluster.namesrvAddr,
      group: fresh('g'),
      consumeFrom: 'firstOffset',
      consumeBatchSize: 4,
      allocation: 'AVG_BY_CIRCLE'
    })
    open.push(consumer)
    await consumer.subscribe(topic)
    await consumer.start((m) => {
      seen.push(m.body.toString())
    })
    await waitFor('every message', 30000, async () => seen.length >= N)
    assert.deepEqual([...seen].sort(), Array.from({ length: N }, (_, i) => `b${i}`).sort())
    await waitFor('both queues assigned', 30000, async () => consumer.assignedQueues().filter((q) => q.topic === topic).length === 2)
  })

  it('consume timeout, suspend time, shutdown bound and pull thresholds reach the core', async () => {
    const namesrvAddr = ready.cluster.namesrvAddr
    const topic = await freshTopic('Housekeeping')
    await producer.send({ topic, body: 'h' })
    const seen = []
    const consumer = new PushConsumer({
      namesrvAddr,
      group: fresh('g'),
      consumeFrom: 'firstOffset',
      consumeTimeoutMs: 60000,
      suspendCurrentQueueTimeMs: 10,
      awaitTerminationMs: 0,
      pullThresholdForQueue: 5,
      pullThresholdSizeForQueue: 1 << 20,
      pullThresholdForTopic: 40,
      pullThresholdSizeForTopic: 8 << 20,
    })
    await consumer.subscribe(topic)
    await consumer.start((m) => {
      seen.push(m.body.toString())
    })
    await waitFor('the message', 30000, async () => seen.length >= 1)
    await consumer.shutdown()
    const refused = [
      [{ consumeTimeoutMs: 0 }, /consume timeout must be more than zero/],
      [{ suspendCurrentQueueTimeMs: 5 }, /from 10 ms to 30 s/],
      [{ suspendCurrentQueueTimeMs: 30001 }, /from 10 ms to 30 s/],
      [{ pullThresholdForQueue: 0 }, /pull thresholds/],
      [{ pullThresholdForTopic: 0 }, /pull thresholds/],
      [{ pullThresholdSizeForTopic: 0 }, /pull size thresholds/],
    ]
    for (const [options, message] of refused) {
      await assert.rejects(
        new PushConsumer({ namesrvAddr, group: fresh('g'), ...options }).start(() => {}),
        invalid(message)
      )
    }
  })
})

describe('admin', () => {
  it('cluster info, broker runtime info, topic stats, consumer progress, query by key, view by id, delete', async () => {
    const admin = new Admin({ namesrvAddr: ready.cluster.namesrvAddr })
    try {
      const info = await admin.clusterInfo()
      assert.deepEqual(Object.keys(info.clusters), ['DefaultCluster'])
      assert.equal(info.clusters.DefaultCluster.length, 1)
      const brokerName = info.clusters.DefaultCluster[0]
      assert.equal(info.brokers[0].brokerName, brokerName)
      assert.equal(brokerName, 'broker-a')
      const brokerAddr = info.brokers[0].addrs['0']
      assert.match(brokerAddr, /^127\.0\.0\.1:\d+$/)

      const runtime = await admin.brokerRuntimeInfo(brokerAddr)
      assert.equal(typeof runtime.commitLogMaxOffset, 'string')

      const topic = fresh('Admin')
      await admin.createTopic(topic, { queueNums: 2 })
      await waitFor('the route', 20000, async () => admin.topicRoute(topic).then(() => true, () => false))
      const sent = await producer.sendToQueue({ topic, body: 'admin', keys: ['order-7'] }, { topic, brokerName, queueId: 1 })
      let stats
      await waitFor('the topic stats', 20000, async () => {
        stats = await admin.topicStats(topic)
        return stats.length === 2 && stats[1].maxOffset === 1
      })
      assert.deepEqual(stats.map((s) => [s.topic, s.brokerName, s.queueId, s.minOffset, s.maxOffset]), [[topic, brokerName, 0, 0, 0], [topic, brokerName, 1, 0, 1]])

      const group = fresh('g')
      const c = new PullConsumer({ namesrvAddr: ready.cluster.namesrvAddr, group, consumeFrom: 'firstOffset', autoCommit: false })
      await c.start()
      await c.assign(await c.fetchQueues(topic))
      const got = []
      await waitFor('the admin message', 30000, async () => {
        got.push(...(await c.poll(500)))
        return got.length >= 1
      })
      await c.commit()
      await c.shutdown()
      await waitFor('the consumer progress', 20000, async () => {
        const progress = await admin.consumerProgress(group, topic).catch(() => [])
        const q1 = progress.find((p) => p.queueId === 1)
        return q1 && q1.consumerOffset === 1 && q1.brokerOffset === 1
      })

      const viewed = await admin.viewMessage(sent.offsetMsgId)
      assert.equal(viewed.body.toString(), 'admin')
      assert.equal(viewed.msgId, sent.msgId)
      await waitFor('the key index', 20000, async () => (await admin.queryByKey(topic, 'order-7')).length === 1)
      assert.deepEqual(await admin.queryByKey(topic, 'no-such-key', 4), [])

      await admin.deleteTopic(topic)
      await assert.rejects(admin.topicRoute(topic), (e) => e.code === ErrorCode.TopicNotFound)
    } finally {
      await admin.shutdown()
    }
  })
})

describe('sendSync', () => {
  it('blocks until the broker answered, in order, and throws the errors send rejects with', async () => {
    const topic = await freshTopic('SendSync', 1)
    const p = new Producer({ namesrvAddr: ready.cluster.namesrvAddr, group: fresh('p') })
    assert.throws(() => p.sendSync({ topic, body: 'x' }), illegal(/not started/))
    await p.start()
    const offsets = []
    for (let i = 0; i < 3; i++) {
      const r = p.sendSync({ topic, body: `sync${i}` })
      assert.equal(r.status, 'SEND_OK')
      assert.equal(r.queue.topic, topic)
      offsets.push(r.queueOffset)
    }
    assert.deepEqual(offsets, [0, 1, 2])
    assert.throws(() => p.sendSync({ topic: 'bad topic!', body: 'x' }), (e) => e.code === ErrorCode.InvalidArgument)
    await p.shutdown()
    assert.throws(() => p.sendSync({ topic, body: 'x' }), illegal(/shut down/))
  })
})

describe('producer queue selector', () => {
  it('sends to the queue the JavaScript selector picks', async () => {
    const topic = await freshTopic('Selector', 4)
    const counts = []
    for (let i = 0; i < 4; i++) {
      const r = await producer.sendWithSelector({ topic, body: `s${i}`, tag: 'S' }, (m, queueCount) => {
        counts.push(queueCount)
        assert.equal(m.body.toString(), `s${i}`)
        assert.equal(m.tag, 'S')
        return queueCount - 1 - i
      })
      assert.equal(r.queue.queueId, 3 - i)
    }
    assert.deepEqual(counts, [4, 4, 4, 4])
  })

  it('a throw or an answer that is no queue index is InvalidArgument, and nothing is sent', async () => {
    const topic = await freshTopic('SelectorBad', 2)
    await assert.rejects(
      producer.sendWithSelector({ topic, body: 'x' }, () => { throw new Error('no queue for you') }),
      invalid(/queue selector threw: no queue for you/)
    )
    for (const bad of [2, -1, 0.5, '0', undefined, NaN]) {
      await assert.rejects(producer.sendWithSelector({ topic, body: 'x' }, () => bad), invalid(/queue selector answered/), String(bad))
    }
    // Nothing was stored: the first message of each queue is at offset 0.
    for (const queueId of [0, 1]) {
      const r = await producer.sendWithSelector({ topic, body: 'ok' }, () => queueId)
      assert.deepEqual([r.queue.queueId, r.queueOffset], [queueId, 0])
    }
  })
})
