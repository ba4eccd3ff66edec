'use strict'
// docs/scenarios.md with the WebAssembly package (its Node flavour, `ws` as the global WebSocket)
// against a real FerroMQ name server and broker reached over WebSocket only. Every scenario
// uses fresh topics and groups, starts from the first offset, counts only its own messages and
// waits with deadlines (no blind sleeps).

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')

const path = require('node:path')
const { execFile } = require('node:child_process')

const { startReadyCluster, startCluster, waitFor, fresh, load, REPO } = require('./cluster')

const { Producer, PushConsumer, PullConsumer, Admin, TransactionProducer } = load()

let ready
let producer
const open = []

/** Creates a fresh topic with `queueNums` queues and waits until its route is known. */
async function topic(prefix, queueNums = 4) {
  const name = fresh(prefix)
  await ready.admin.createTopic(name, { queueNums })
  await waitFor(`the route of ${name}`, 20000, async () => {
    try {
      const route = await ready.admin.topicRoute(name)
      return route.queues.some((q) => q.writeQueueNums === queueNums)
    } catch (e) {
      if (e.code !== 'TopicNotFound') throw e
      return false
    }
  })
  return name
}

/** Starts a push consumer of a fresh group on `topic` collecting into an array. */
async function consume(topicName, { filter, listener, ...options } = {}) {
  const received = []
  const consumer = new PushConsumer({
    ...ready.cluster.client,
    group: fresh('g'),
    consumeFrom: 'firstOffset',
    ...options,
  })
  await consumer.subscribe(topicName, filter)
  consumer.onMessage(listener || ((m) => { received.push(m) }))
  await consumer.start()
  open.push(consumer)
  return { consumer, received }
}

const body = (m) => m.text()

before(async () => {
  ready = await startReadyCluster()
  producer = new Producer({ ...ready.cluster.client, group: fresh('p') })
  await producer.start()
})

after(async () => {
  for (const c of open) await c.shutdown()
  if (producer) await producer.shutdown()
  if (ready) await ready.stop()
})

describe('scenarios over WebSocket', () => {
  it('quickstart: sync sends with tag, key and property all arrive intact', async () => {
    const t = await topic('quickstart')
    const N = 10
    for (let i = 0; i < N; i++) {
      const r = await producer.send({ topic: t, body: `hello ${i}`, tag: 'TagA', keys: [`key-${i}`], properties: { index: String(i) } })
      assert.equal(r.status, 'SEND_OK')
      assert.equal(r.topic, t)
      assert.ok(r.msgId.length > 0)
      assert.equal(typeof r.queueId, 'number')
      assert.equal(typeof r.queueOffset, 'number')
    }
    const { received } = await consume(t)
    await waitFor('all quickstart messages', 30000, () => received.length >= N)
    assert.equal(received.length, N)
    const byBody = new Map(received.map((m) => [body(m), m]))
    for (let i = 0; i < N; i++) {
      const m = byBody.get(`hello ${i}`)
      assert.ok(m, `hello ${i} received`)
      assert.equal(m.topic, t)
      assert.equal(m.tag, 'TagA')
      assert.deepEqual(m.keys, [`key-${i}`])
      assert.equal(m.properties.index, String(i))
      assert.ok(m.body instanceof Uint8Array)
      assert.equal(m.reconsumeTimes, 0)
      assert.equal(typeof m.queueOffset, 'number')
      assert.ok(m.msgId.length > 0)
      assert.ok(m.bornTimestamp > 0 && m.storeTimestamp >= m.bornTimestamp - 1000)
    }
  })

  it('async-oneway: concurrent sends and oneway sends all arrive', async () => {
    const t = await topic('async')
    const N = 20
    const results = await Promise.all(Array.from({ length: N }, (_, i) => producer.send({ topic: t, body: `async ${i}` })))
    for (const r of results) assert.equal(r.status, 'SEND_OK')
    for (let i = 0; i < N; i++) await producer.sendOneway({ topic: t, body: `oneway ${i}` })
    const { received } = await consume(t)
    await waitFor('2N messages', 30000, () => new Set(received.map(body)).size >= 2 * N)
    const bodies = new Set(received.map(body))
    assert.equal(bodies.size, 2 * N)
    for (let i = 0; i < N; i++) {
      assert.ok(bodies.has(`async ${i}`))
      assert.ok(bodies.has(`oneway ${i}`))
    }
  })

  it('batch: one batch lands contiguously in one queue', async () => {
    const t = await topic('batch')
    const N = 10
    const results = await producer.sendBatch(Array.from({ length: N }, (_, i) => ({ topic: t, body: new TextEncoder().encode(`batch ${i}`), keys: [`b${i}`] })))
    assert.equal(results.length, 1)
    assert.equal(results[0].msgId.split(',').length, N)
    const { received } = await consume(t)
    await waitFor('the batch', 30000, () => received.length >= N)
    assert.equal(received.length, N)
    assert.equal(new Set(received.map((m) => m.queueId)).size, 1)
    const offsets = received.map((m) => m.queueOffset).sort((a, b) => a - b)
    for (let i = 0; i < N; i++) assert.equal(offsets[i], results[0].queueOffset + i)
  })

  it('ordered: each sharding key in one queue, in order, also across a rebalance mid-stream', async () => {
    const t = await topic('ordered')
    const keys = ['k1', 'k2', 'k3']
    const M = 10
    const group = fresh('og')
    const queueOf = new Map()
    const sendRound = async (i) => {
      for (const k of keys) {
        // Both spellings: the shardingKey field and sendWithShardingKey.
        const r = i % 2
          ? await producer.send({ topic: t, body: `${k}:${i}`, keys: [k], shardingKey: k })
          : await producer.sendWithShardingKey({ topic: t, body: `${k}:${i}`, keys: [k] }, k)
        if (!queueOf.has(k)) queueOf.set(k, r.queueId)
        assert.equal(r.queueId, queueOf.get(k), `key ${k} stays in one queue`)
      }
    }
    const arrivals = []
    const member = (name) => consume(t, {
      group,
      orderly: true,
      instanceName: fresh(name),
      listener: (m) => { arrivals.push(body(m)) },
    })
    const a = await member('a')
    for (let i = 0; i < M / 2; i++) await sendRound(i)
    await waitFor('the first half', 30000, () => new Set(arrivals).size >= keys.length * M / 2)
    const b = await member('b')
    const mine = (c) => c.assignedQueues().filter((q) => q.topic === t).length
    await waitFor('the rebalance', 30000, () => mine(b.consumer) > 0 && mine(a.consumer) + mine(b.consumer) === 4)
    for (let i = M / 2; i < M; i++) await sendRound(i)
    await waitFor('every ordered message', 60000, () => new Set(arrivals).size >= keys.length * M)
    for (const k of keys) {
      const seq = arrivals.filter((x) => x.startsWith(`${k}:`)).map((x) => Number(x.split(':')[1]))
      let next = 0
      for (const v of seq) {
        assert.ok(v <= next, `${k}: ${v} arrived before ${next} (${seq})`)
        if (v === next) next += 1
      }
      assert.equal(next, M, `${k} complete`)
    }
  })

  it('delayed: delay level 2 arrives 5-6 s after the send', async () => {
    const t = await topic('delayed', 1)
    const arrivals = []
    await consume(t, { listener: (m) => { arrivals.push([Date.now(), body(m)]) } })
    const sentAt = Date.now()
    await producer.send({ topic: t, body: 'delayed', delayLevel: 2 })
    await waitFor('the delayed message', 20000, () => arrivals.length >= 1)
    const dt = arrivals[0][0] - sentAt
    assert.ok(dt >= 4900 && dt <= 6900, `delivered after ${dt} ms`)
    assert.equal(arrivals[0][1], 'delayed')
  })

  it('timer: deliverAt 3 s ahead and delayMs 3000 arrive 3-4 s after the send', async () => {
    const t = await topic('timer', 1)
    const arrivals = new Map()
    await consume(t, { listener: (m) => { arrivals.set(body(m), Date.now()) } })
    const sentAt = Date.now()
    await producer.send({ topic: t, body: 'at', deliverAt: sentAt + 3000 })
    await producer.send({ topic: t, body: 'after', delayMs: 3000 })
    await waitFor('both timer messages', 20000, () => arrivals.size >= 2)
    for (const name of ['at', 'after']) {
      const dt = arrivals.get(name) - sentAt
      assert.ok(dt >= 2900 && dt <= 4900, `${name}: delivered after ${dt} ms`)
    }
  })

  it('transaction: commit delivered, rollback never, unknown committed on check-back', async () => {
    const t = await topic('tx', 1)
    const checked = []
    const executed = []
    const tp = new TransactionProducer({ ...ready.cluster.client, group: fresh('txp') })
    await tp.start({
      execute: (m, transactionId) => {
        assert.ok(transactionId.length > 0)
        executed.push([m.text(), m.tag, m.keys])
        if (m.text() === 'throws') throw new Error('a failing local transaction is unknown')
        return m.text()
      },
      check: (m) => {
        checked.push(body(m))
        return 'commit'
      },
    })
    try {
      for (const state of ['commit', 'rollback', 'unknown', 'throws']) {
        const r = await tp.send({ topic: t, body: state, tag: 'TX', keys: [state] })
        assert.equal(r.state, state === 'throws' ? 'unknown' : state)
        assert.equal(r.send.status, 'SEND_OK')
      }
      assert.deepEqual(executed[0], ['commit', 'TX', ['commit']])
      assert.equal(tp.metrics().sends, 4)
      const { received } = await consume(t)
      await waitFor('commit and the two checked back', 30000, () => received.length >= 3)
      assert.ok(checked.includes('unknown') && checked.includes('throws'), `checked back: ${checked}`)
      // The topic has one queue: once END (sent after every decision) is in, a rolled-back
      // message would have been delivered before it.
      await producer.send({ topic: t, body: 'END' })
      await waitFor('END', 30000, () => received.some((m) => body(m) === 'END'))
      assert.deepEqual(received.map(body).sort(), ['END', 'commit', 'throws', 'unknown'])
      for (const m of received.filter((x) => body(x) !== 'END')) assert.equal(m.properties.TRAN_MSG, 'true')
    } finally {
      await tp.shutdown()
    }
  })

  it('tag-filter: subscribing A || C receives exactly A and C', async () => {
    const t = await topic('tags', 1)
    for (let i = 0; i < 3; i++) {
      for (const tag of ['A', 'B', 'C']) await producer.send({ topic: t, body: `${tag}${i}`, tag })
    }
    await producer.send({ topic: t, body: 'END', tag: 'C' })
    const { received } = await consume(t, { filter: 'A || C' })
    await waitFor('END', 30000, () => received.length >= 7 && received.some((m) => body(m) === 'END'))
    assert.deepEqual(received.map(body).sort(), ['A0', 'A1', 'A2', 'C0', 'C1', 'C2', 'END'])
  })

  it('sql-filter: a > 5 AND b = \'x\' receives exactly the matching ones', async () => {
    const t = await topic('sql', 1)
    for (let a = 1; a <= 10; a++) {
      await producer.send({ topic: t, body: `m${a}`, properties: { a: String(a), b: a % 2 === 0 ? 'x' : 'y' } })
    }
    await producer.send({ topic: t, body: 'END', properties: { a: '100', b: 'x' } })
    const { received } = await consume(t, { filter: { sql92: "a > 5 AND b = 'x'" } })
    await waitFor('END', 30000, () => received.length >= 4 && received.some((m) => body(m) === 'END'))
    assert.deepEqual(received.map(body).sort(), ['END', 'm10', 'm6', 'm8'])
  })

  it('retry-dlq: a failing listener sees reconsumeTimes 0, 1, 2, then the message is in %DLQ%', async () => {
    const t = await topic('retry', 1)
    const group = fresh('rg')
    const seen = []
    let calls = 0
    await consume(t, {
      group,
      maxReconsumeTimes: 2,
      listener: (m) => {
        seen.push(m.reconsumeTimes)
        assert.equal(m.topic, t)
        // Both ways of failing: a throw, and returning false.
        calls += 1
        if (calls % 2) throw new Error('fail on purpose')
        return false
      },
    })
    const sent = await producer.send({ topic: t, body: 'doomed', keys: ['doomed'] })
    await waitFor('three deliveries', 30000, () => seen.length >= 3)
    assert.deepEqual(seen.slice(0, 3), [0, 1, 2])
    const dlq = new PullConsumer({ ...ready.cluster.client, group: fresh('dlq'), consumeFrom: 'firstOffset' })
    await dlq.start()
    try {
      const queues = await waitFor('the DLQ topic', 30000, async () => {
        try {
          const q = await dlq.fetchQueues(`%DLQ%${group}`)
          return q.length ? q : null
        } catch (e) {
          return null
        }
      })
      await dlq.assign(queues)
      const dead = []
      await waitFor('the dead letter', 30000, async () => {
        dead.push(...(await dlq.poll(500)))
        return dead.length >= 1
      })
      assert.equal(dead.length, 1)
      assert.equal(body(dead[0]), 'doomed')
      assert.equal(dead[0].msgId, sent.msgId)
      assert.equal(seen.length, 3, 'no delivery after the DLQ')
    } finally {
      await dlq.shutdown()
    }
  })

  it('async listener: a returned Promise is awaited, a rejection redelivers, orderly waits for each', async () => {
    const t = await topic('asynclistener', 1)
    const n = 6
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
    // Concurrent: 'a-2' rejects on its first delivery, after an await; it comes back once.
    const done = []
    await consume(t, {
      listener: async (m) => {
        await sleep(20)
        if (body(m) === 'a-2' && m.reconsumeTimes === 0) throw new Error('fail on purpose, asynchronously')
        done.push(`${body(m)}@${m.reconsumeTimes}`)
      },
    })
    // Orderly: the next message of the queue only comes once the previous Promise resolved.
    const order = []
    let busy = false
    await consume(t, {
      orderly: true,
      listener: async (m) => {
        assert.equal(busy, false, 'an orderly listener call while the previous one was pending')
        busy = true
        await sleep(30)
        order.push(body(m))
        busy = false
      },
    })
    for (let i = 0; i < n; i++) await producer.send({ topic: t, body: `a-${i}` })
    await waitFor('every message, a-2 redelivered', 30000, () => done.length >= n)
    assert.deepEqual(
      [...done].sort(),
      Array.from({ length: n }, (_, i) => (i === 2 ? 'a-2@1' : `a-${i}@0`)).sort(),
    )
    await waitFor('every message, orderly', 30000, () => order.length >= n)
    assert.deepEqual(order, Array.from({ length: n }, (_, i) => `a-${i}`))
  })

  it('pull: assign, poll each once, seek back re-reads, committed offsets survive a restart', async () => {
    const t = await topic('pull', 2)
    const N = 10
    for (let i = 0; i < N; i++) await producer.send({ topic: t, body: `p${i}` })
    const group = fresh('pg')
    const opts = { ...ready.cluster.client, group, consumeFrom: 'firstOffset', autoCommit: false }
    const c1 = new PullConsumer(opts)
    await c1.start()
    const queues = await c1.fetchQueues(t)
    assert.equal(queues.length, 2)
    await c1.assign(queues)
    const got = []
    await waitFor('all N polled', 30000, async () => {
      got.push(...(await c1.poll(500)))
      return got.length >= N
    })
    assert.equal(got.length, N)
    assert.deepEqual(got.map(body).sort(), Array.from({ length: N }, (_, i) => `p${i}`).sort())
    const q0 = queues[0]
    const inQ0 = got.filter((m) => m.queueId === q0.queueId).map(body).sort()
    await c1.seek(q0, 0)
    const again = []
    await waitFor('the re-read of queue 0', 30000, async () => {
      again.push(...(await c1.poll(500)))
      return again.length >= inQ0.length
    })
    assert.deepEqual(again.map(body).sort(), inQ0)
    await c1.commit()
    await c1.shutdown()

    // A new member of the group starts from the committed offsets: only what comes next.
    const c2 = new PullConsumer(opts)
    await c2.start()
    try {
      await c2.assign(queues)
      await producer.send({ topic: t, body: 'after-restart' })
      const more = []
      await waitFor('the new message', 30000, async () => {
        more.push(...(await c2.poll(500)))
        return more.length >= 1
      })
      // Whatever else was buffered would have arrived in the same polls.
      more.push(...(await c2.poll(500)))
      assert.deepEqual(more.map(body), ['after-restart'])
    } finally {
      await c2.shutdown()
    }
  })

  it('pull as an async iterator: for await yields every message once, ends at shutdown', async () => {
    const t = await topic('iter', 2)
    const N = 6
    for (let i = 0; i < N; i++) await producer.send({ topic: t, body: `i${i}` })
    const c = new PullConsumer({ ...ready.cluster.client, group: fresh('ig'), consumeFrom: 'firstOffset' })
    await c.subscribe(t)
    await c.start()
    const got = []
    const timer = setTimeout(() => c.shutdown(), 30000)
    for await (const m of c) {
      got.push(body(m))
      if (got.length === N) break
    }
    clearTimeout(timer)
    await c.shutdown()
    assert.equal(c.closed, true)
    assert.deepEqual(got.sort(), Array.from({ length: N }, (_, i) => `i${i}`).sort())
    // After shutdown the iteration ends at once.
    for await (const m of c) assert.fail(`unexpected ${m.msgId}`)
  })

  it('request-reply: replies matched to their requests, 16 in flight, an unanswered request times out', async () => {
    const { createReply } = load()
    const t = await topic('rpc')
    const silent = await topic('rpcSilent', 1)
    // The responder: a push consumer answering every request through its own producer.
    const replier = new Producer({ ...ready.cluster.client, group: fresh('rp') })
    await replier.start()
    open.push(replier)
    const refused = []
    await consume(t, {
      listener: async (m) => {
        try {
          const r = await replier.sendReply(createReply(m, `pong:${m.text()}`))
          assert.equal(r.status, 'SEND_OK')
        } catch (e) {
          refused.push(e)
        }
      },
    })
    // One at a time; generous timeouts: the responder's queues may still be settling.
    for (let i = 0; i < 5; i++) {
      const reply = await producer.request({ topic: t, body: `seq-${i}` }, 30000)
      assert.equal(reply.text(), `pong:seq-${i}`)
      assert.equal(reply.topic, 'DefaultCluster_REPLY_TOPIC')
      assert.equal(reply.properties.MSG_TYPE, 'reply')
      assert.ok(reply.properties.CORRELATION_ID.length > 0)
    }
    // 48 requests, 16 in flight, each answered with its own reply.
    const N = 48
    let next = 0
    let inFlight = 0
    let most = 0
    const replies = new Array(N)
    const worker = async () => {
      while (next < N) {
        const i = next++
        inFlight++
        most = Math.max(most, inFlight)
        try {
          replies[i] = (await producer.request({ topic: t, body: `par-${i}` }, 30000)).text()
        } finally {
          inFlight--
        }
      }
    }
    await Promise.all(Array.from({ length: 16 }, worker))
    assert.equal(most, 16)
    for (let i = 0; i < N; i++) assert.equal(replies[i], `pong:par-${i}`)
    assert.deepEqual(refused, [])
    // Nobody consumes `silent`.
    const started = Date.now()
    await assert.rejects(producer.request({ topic: silent, body: 'nobody' }, 1500), (e) => {
      assert.equal(e.code, 'Timeout')
      return true
    })
    assert.ok(Date.now() - started >= 1400, `timed out after ${Date.now() - started} ms`)
    // Bad input.
    await assert.rejects(producer.request({ topic: t, body: 'x' }, 0), (e) => e.code === 'InvalidArgument')
    await assert.rejects(producer.request({ topic: t, body: 'x' }, 1.5), (e) => e.code === 'InvalidArgument')
    await assert.rejects(producer.sendReply({ topic: t, body: 'not a reply' }), (e) => e.code === 'InvalidArgument')
    assert.throws(() => createReply({ topic: t, properties: {} }, 'x'), (e) => e.code === 'InvalidArgument' && /CLUSTER/.test(e.message))
    assert.throws(() => createReply({ topic: t }, 'x'), (e) => e.code === 'InvalidArgument')
    assert.throws(() => createReply({ properties: { CLUSTER: 'c' } }, ''), (e) => e.code === 'InvalidArgument')
  })

  it('namespace: two namespaces share topic and group names without seeing each other', async () => {
    const t = fresh('ns')
    const group = fresh('g')
    const spaces = ['tenantA', 'tenantB']
    for (const ns of spaces) {
      // On the wire the topic is `ns%topic`: create that one.
      const wire = `${ns}%${t}`
      await ready.admin.createTopic(wire, { queueNums: 2 })
      await waitFor(`the route of ${wire}`, 20000, async () => {
        try {
          return (await ready.admin.topicRoute(wire)).queues.length > 0
        } catch (e) {
          if (e.code !== 'TopicNotFound') throw e
          return false
        }
      })
    }
    for (const ns of spaces) {
      const p = new Producer({ ...ready.cluster.client, group: fresh('p'), namespace: ns })
      await p.start()
      try {
        for (let i = 0; i < 3; i++) {
          const r = await p.send({ topic: t, body: `${ns}-${i}` })
          assert.equal(r.status, 'SEND_OK')
          assert.equal(r.topic, t)
        }
      } finally {
        await p.shutdown()
      }
    }
    const got = {}
    for (const ns of spaces) got[ns] = (await consume(t, { group, namespace: ns })).received
    for (const ns of spaces) await waitFor(`${ns}'s messages`, 30000, () => got[ns].length >= 3)
    for (const ns of spaces) {
      assert.deepEqual(got[ns].map(body).sort(), [0, 1, 2].map((i) => `${ns}-${i}`))
      for (const m of got[ns]) assert.equal(m.topic, t)
    }
  })

  it('bad-input: oversized, illegal topic, unknown name server give clear errors; the producer keeps working', async () => {
    const t = await topic('bad', 1)
    await assert.rejects(producer.send({ topic: t, body: new Uint8Array(4 * 1024 * 1024 + 1) }), (e) => {
      assert.equal(e.code, 'InvalidArgument')
      assert.equal(e.retryable, false)
      return true
    })
    await assert.rejects(producer.send({ topic: 'bad topic!', body: 'x' }), (e) => e.code === 'InvalidArgument')
    await assert.rejects(producer.send({ topic: t, body: '' }), (e) => e.code === 'InvalidArgument')
    await assert.rejects(producer.send({ topic: t }), (e) => e.code === 'InvalidArgument')
    await assert.rejects(producer.send({ topic: t, body: 'x', keys: ['a b'] }), (e) => e.code === 'InvalidArgument')
    assert.throws(() => new Producer({ namesrvAddr: '127.0.0.1:9876' }), (e) => e.code === 'InvalidArgument' && /WebSocket URL/.test(e.message))
    assert.throws(() => new Producer({}), (e) => e.code === 'InvalidArgument')
    const lost = new Producer({ namesrvAddr: 'ws://127.0.0.1:1/', group: fresh('p'), sendTimeoutMs: 1000, requestTimeoutMs: 1000 })
    await lost.start()
    await assert.rejects(lost.send({ topic: t, body: 'x' }), (e) => {
      assert.equal(e.code, 'Connect')
      assert.equal(e.retryable, true)
      assert.ok(e instanceof Error && e.message.length > 0)
      return true
    })
    await lost.shutdown()
    const r = await producer.send({ topic: t, body: 'still fine' })
    assert.equal(r.status, 'SEND_OK')
  })

  it('errors: not started and shut down objects raise IllegalState; every kind has its code', async () => {
    const { errorCodes } = load()
    const p = new Producer({ ...ready.cluster.client, group: fresh('p') })
    await assert.rejects(p.send({ topic: 'x', body: 'x' }), (e) => e.code === 'IllegalState' && e.operation === 'send')
    await p.start()
    await p.shutdown()
    await assert.rejects(p.send({ topic: 'x', body: 'x' }), (e) => e.code === 'IllegalState')
    const pairs = errorCodes().map((s) => s.split('='))
    for (const [kind, code] of pairs) assert.equal(code, kind)
    assert.deepEqual(pairs.map(([, c]) => c).sort(), ['Broker', 'Connect', 'ConnectionClosed', 'IllegalState', 'InvalidArgument', 'Io', 'Protocol', 'Timeout', 'TopicNotFound'])
    const c = new PushConsumer({ ...ready.cluster.client, group: fresh('g') })
    await assert.rejects(c.subscribe('x', { tag: 'A', sql92: 'a > 1' }), (e) => e.code === 'InvalidArgument')
    await assert.rejects(c.start(), (e) => e.code === 'InvalidArgument' && /onMessage/.test(e.message))
    // Broadcasting keeps offsets in a local file, which wasm32 has not: a clear Io error.
    const b = new PushConsumer({ ...ready.cluster.client, group: fresh('g'), messageModel: 'broadcasting' })
    await b.subscribe('anything')
    b.onMessage(() => {})
    await assert.rejects(b.start(), (e) => e.code === 'Io' && e.retryable === false)
    await b.shutdown()
  })

  it('metrics: a producer counts sends and a refused one, a consumer what it consumed and its lag down to 0', async () => {
    const t = await topic('metrics')
    const N = 10
    const p = new Producer({ ...ready.cluster.client, group: fresh('p') })
    assert.throws(() => p.metrics(), (e) => e.code === 'IllegalState')
    await p.start()
    try {
      assert.equal(p.metrics().sends, 0)
      for (let i = 0; i < N; i++) await p.send({ topic: t, body: `m${i}` })
      await assert.rejects(p.send({ topic: 'bad/topic', body: 'x' }), (e) => e.code === 'InvalidArgument')
      const m = p.metrics()
      assert.equal(m.sends, N)
      assert.equal(m.messages, N)
      assert.equal(m.sendFailures, 1)
      const h = m.sendLatency
      assert.equal(h.count, N + 1)
      assert.equal(h.counts.reduce((a, b) => a + b, 0), N + 1)
      assert.equal(h.counts.length, h.boundsMs.length + 1)
      assert.ok(h.sumMs >= 0)
    } finally {
      await p.shutdown()
    }
    const { consumer } = await consume(t)
    const mine = (m) => m.queues.filter((q) => q.topic === t)
    await waitFor('consumed and caught up', 30000, () => {
      const m = consumer.metrics()
      return m.consumed === N && mine(m).length === 4 && m.totalLag === 0
    })
    const m = consumer.metrics()
    assert.equal(m.consumeFailures, 0)
    assert.equal(m.consumeLatency.count, N)
    assert.ok(m.rebalances >= 1)
    assert.deepEqual(mine(m).map((q) => q.queueId).sort(), [0, 1, 2, 3])
    assert.equal(mine(m).reduce((a, q) => a + q.brokerMaxOffset, 0), N)
    for (const q of mine(m)) {
      assert.equal(q.lag, 0)
      assert.equal(q.consumerOffset, q.brokerMaxOffset)
      assert.ok(q.brokerName.length > 0)
    }
  })
})

/** The example's settings: the name server's URL and, in the secure run, the credentials. */
function exampleEnv() {
  const { credentials } = ready.cluster.client
  return {
    FERROMQ_NAMESRV_WS: ready.cluster.namesrvWs,
    ...(credentials ? { FERROMQ_ACCESS_KEY: credentials.accessKey, FERROMQ_SECRET_KEY: credentials.secretKey } : {}),
  }
}

describe('examples', () => {
  it('examples/wasm/node.js runs against the cluster', async () => {
    const script = path.join(REPO, 'examples', 'wasm', 'node.js')
    const out = await new Promise((resolve, reject) => {
      execFile(process.execPath, [script], { env: { ...process.env, ...exampleEnv() }, timeout: 90000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout))
    })
    assert.match(out, /received 3 of 3/)
  })
})

describe('endpoints', () => {
  it('reconnect: after the broker restarts on another WebSocket port, sends find the new endpoint', async () => {
    const t = await topic('reconnect', 2)
    const p = new Producer({ ...ready.cluster.client, group: fresh('p'), instanceName: fresh('i'), sendTimeoutMs: 2000 })
    await p.start()
    try {
      const before = await p.send({ topic: t, body: 'before' })
      assert.equal(before.status, 'SEND_OK')
      const oldWs = ready.cluster.brokerWs
      await ready.cluster.restartBroker()
      assert.notEqual(ready.cluster.brokerWs, oldWs)
      // The cached endpoint is dead: the connection fails, the cache entry goes, and once the
      // restarted broker has announced its new port to the name server, a send gets through.
      const errors = []
      const after = await waitFor('a send after the restart', 40000, async () => {
        try {
          return await p.send({ topic: t, body: 'after' })
        } catch (e) {
          errors.push(e)
          return null
        }
      })
      assert.equal(after.status, 'SEND_OK')
      if (process.env.FERROMQ_TEST_LOG) console.log('errors during the restart:', errors.map((e) => `${e.code}: ${e.message}`))
      for (const e of errors) assert.ok(['Connect', 'ConnectionClosed', 'Timeout', 'Broker', 'TopicNotFound'].includes(e.code), `${e.code}: ${e.message}`)
      const { received } = await consume(t)
      await waitFor('both messages', 30000, () => new Set(received.map(body)).size >= 2)
      assert.deepEqual([...new Set(received.map(body))].sort(), ['after', 'before'])
    } finally {
      await p.shutdown()
    }
  })

  it('a broker without a WebSocket port: a clear Connect error naming it', async () => {
    const cluster = await startCluster({ brokerWebSocket: false })
    const admin = new Admin({ ...cluster.client, instanceName: fresh('i') })
    const p = new Producer({ ...cluster.client, group: fresh('p'), instanceName: fresh('i'), retryTimes: 0 })
    try {
      // The route is known (autoCreateTopicEnable gives TBW102), but the broker announced no
      // WebSocket endpoint.
      await p.start()
      const err = await waitFor('the broker to register', 20000, async () => {
        try {
          await p.send({ topic: fresh('nows'), body: 'x' })
          return null
        } catch (e) {
          return e.code === 'Connect' && /no WebSocket endpoint/.test(e.message) ? e : null
        }
      })
      assert.match(err.message, new RegExp(cluster.brokerAddr.replace(/\./g, '\\.')))
      assert.match(err.message, /webSocketListenPort/)
    } finally {
      await p.shutdown()
      await admin.shutdown()
      await cluster.stop()
    }
  })
})
