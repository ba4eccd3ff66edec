'use strict'
// docs/scenarios.md with the Node binding against a real FerroMQ name server and broker.
// Every scenario uses fresh topics and groups, starts from the first offset, counts only its
// own messages and waits with deadlines (no blind sleeps).

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFile } = require('node:child_process')

const { Admin, Producer, PushConsumer, PullConsumer, TransactionProducer, ErrorCode, replyTo } = require('..')
const { startCluster, waitFor, fresh, REPO } = require('./cluster')

/**
 * The scenario list against a fresh name server and broker: in plaintext, or (`secure`) with
 * ACL 1.0 on the broker and mutual TLS enforced by both servers, every client passing the
 * application account's credentials and the client TLS settings (`cluster.client`).
 */
function scenarios(secure) {
  let cluster
  let admin
  let producer
  const open = []

  /** Creates a fresh topic with `queueNums` queues and waits until its route is known. */
  async function topic(prefix, queueNums = 4) {
    const name = fresh(prefix)
    await admin.createTopic(name, { queueNums })
    // The broker publishes the new topic to the name server on its own schedule; a producer
    // that asked before would fall back to the auto-create route.
    await waitFor(`the route of ${name}`, 20000, async () => {
      try {
        const route = await admin.topicRoute(name)
        return route.queues.some((q) => q.writeQueueNums === queueNums)
      } catch (e) {
        if (e.code !== ErrorCode.TopicNotFound) throw e
        return false
      }
    })
    return name
  }

  /** Starts a push consumer of a fresh group on `topic` collecting into an array. */
  async function consume(topicName, { filter, listener, ...options } = {}) {
    const received = []
    const consumer = new PushConsumer({
      ...cluster.client,
      group: fresh('g'),
      consumeFrom: 'firstOffset',
      ...options,
    })
    await consumer.subscribe(topicName, filter)
    await consumer.start(listener || ((m) => { received.push(m) }))
    open.push(consumer)
    return { consumer, received }
  }

  const body = (m) => m.body.toString()

  /** The security options and the servers' refusals (the secure run only, on its servers). */
  function security() {
    const { ACL_APP, makePki } = require('./cluster')
    const rejectsWith = (promise, codes, check = () => true) => assert.rejects(promise, (e) => {
      assert.ok(codes.includes(e.code), `code ${e.code} (${e.message}) is one of ${codes}`)
      return check(e)
    })
    // Objects of one instance name share the first one's credentials and TLS settings, so each
    // of these gets its own.
    const producerWith = (options) => new Producer({ ...cluster.client, group: fresh('p'), instanceName: fresh('sec'), retryTimes: 0, ...options })

    it('security: a wrong secret is the broker\'s ACL refusal, SYSTEM_ERROR with the AclException', async () => {
      const t = await topic('aclwrong', 1)
      const p = producerWith({ credentials: { accessKey: ACL_APP.accessKey, secretKey: 'not-the-secret' } })
      await p.start()
      try {
        await rejectsWith(p.send({ topic: t, body: 'refused' }), [ErrorCode.Broker], (e) => {
          assert.equal(e.responseCode, 1)
          assert.ok(e.remark.startsWith('org.apache.rocketmq.acl.common.AclException: Check signature failed'), e.remark)
          assert.ok(e.remark.includes(ACL_APP.accessKey))
          return true
        })
      } finally {
        await p.shutdown()
      }
      const stats = await admin.topicStats(t)
      assert.ok(stats.every((q) => q.maxOffset === 0), 'nothing stored')
    })

    it('security: an unknown access key and missing credentials are refused', async () => {
      const t = await topic('aclnokey', 1)
      for (const [credentials, reason] of [
        [{ accessKey: 'nobody-at-all', secretKey: 'whatever-secret' }, 'No acl config for nobody-at-all'],
        [undefined, 'No accessKey is configured'],
      ]) {
        const p = producerWith({ credentials })
        await p.start()
        try {
          await rejectsWith(p.send({ topic: t, body: 'refused' }), [ErrorCode.Broker], (e) => e.responseCode === 1 && e.remark.includes(reason))
        } finally {
          await p.shutdown()
        }
      }
    })

    it('security: a security token is sent and signed', async () => {
      const t = await topic('acltoken', 1)
      const p = producerWith({ credentials: { ...ACL_APP, securityToken: 'sts-token' } })
      await p.start()
      try {
        assert.equal((await p.send({ topic: t, body: 'signed' })).status, 'SEND_OK')
      } finally {
        await p.shutdown()
      }
    })

    it('security: plaintext against enforcing TLS, no client certificate, another CA: connection errors', async () => {
      const other = makePki(path.join(cluster.dir, 'other-pki'))
      const cases = [
        [{ tls: undefined }, [ErrorCode.ConnectionClosed, ErrorCode.Connect]],
        [{ tls: false }, [ErrorCode.ConnectionClosed, ErrorCode.Connect]],
        [{ tls: { caFile: cluster.pki.ca } }, [ErrorCode.ConnectionClosed, ErrorCode.Connect]],
        [{ tls: { caFile: other.ca, certFile: cluster.pki.client, keyFile: cluster.pki.clientKey } }, [ErrorCode.Connect]],
      ]
      for (const [options, codes] of cases) {
        // Long timeouts: the refusal must come from the server closing, not from a timeout.
        const p = producerWith({ ...options, requestTimeoutMs: 30000, sendTimeoutMs: 30000 })
        await p.start()
        try {
          await rejectsWith(p.send({ topic: 'AnyTopic', body: 'x' }), codes)
        } finally {
          await p.shutdown()
        }
      }
    })

    it('security: unusable options reject start() with InvalidArgument', async () => {
      const bad = path.join(cluster.dir, 'bad.pem')
      fs.writeFileSync(bad, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n')
      const cases = [
        [{ credentials: { accessKey: '', secretKey: 'x' } }, /accessKey and secretKey/],
        [{ credentials: { accessKey: 'x', secretKey: '' } }, /accessKey and secretKey/],
        [{ tls: { certFile: cluster.pki.client } }, /certFile and keyFile/],
        [{ tls: { serverName: '' } }, /serverName/],
        [{ tls: { caFile: path.join(cluster.dir, 'missing.pem') } }, /missing\.pem/],
        [{ tls: { caFile: bad } }, /bad\.pem/],
      ]
      for (const [options, message] of cases) {
        for (const make of [
          () => producerWith(options),
          () => new PushConsumer({ ...cluster.client, group: fresh('g'), instanceName: fresh('sec'), ...options }),
          () => new PullConsumer({ ...cluster.client, group: fresh('g'), instanceName: fresh('sec'), ...options }),
          () => new TransactionProducer({ ...cluster.client, group: fresh('t'), instanceName: fresh('sec'), ...options }),
        ]) {
          const o = make()
          const started = o instanceof PushConsumer ? o.subscribe('AnyTopic').then(() => o.start(() => {})) : o instanceof TransactionProducer ? o.start({ execute: () => 'commit', check: () => 'commit' }) : o.start()
          await rejectsWith(started, [ErrorCode.InvalidArgument], (e) => message.test(e.message))
        }
        const a = new Admin({ ...cluster.adminClient, instanceName: fresh('sec'), ...options })
        await rejectsWith(a.clusterInfo(), [ErrorCode.InvalidArgument], (e) => message.test(e.message))
        await a.shutdown()
      }
      // Values of the wrong type are refused by the napi layer at construction.
      assert.throws(() => new Producer({ ...cluster.client, tls: 'yes' }))
      assert.throws(() => new Producer({ ...cluster.client, credentials: { accessKey: 'x' } }))
    })

    it('examples/node/secure.js runs against the secure cluster', async () => {
      const script = path.join(REPO, 'examples', 'node', 'secure.js')
      const t = await topic('secureexample', 2)
      const env = {
        ...process.env,
        FERROMQ_NAMESRV: cluster.namesrvAddr,
        FERROMQ_ACCESS_KEY: ACL_APP.accessKey,
        FERROMQ_SECRET_KEY: ACL_APP.secretKey,
        FERROMQ_TLS_CA: cluster.pki.ca,
        FERROMQ_TLS_CERT: cluster.pki.client,
        FERROMQ_TLS_KEY: cluster.pki.clientKey,
      }
      const out = await new Promise((resolve, reject) => execFile(process.execPath, [script, t], { env, timeout: 60000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`secure.js: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)))
      assert.match(out, /received it back/)
    })
  }

  describe(secure ? 'scenarios with ACL and TLS' : 'scenarios', () => {
    before(async () => {
      cluster = await startCluster({ secure })
      admin = new Admin(cluster.adminClient)
      // The broker registers with the name server shortly after booting.
      await waitFor('the broker to register', 20000, async () => {
        try {
          await admin.createTopic(fresh('warmup'), { queueNums: 1 })
          return true
        } catch (e) {
          return false
        }
      })
      producer = new Producer({ ...cluster.client, group: fresh('p') })
      await producer.start()
    })

    after(async () => {
      for (const c of open) await c.shutdown()
      if (producer) await producer.shutdown()
      if (admin) await admin.shutdown()
      if (cluster) await cluster.stop()
    })

    it('quickstart: sync sends with tag, key and property all arrive intact', async () => {
      const t = await topic('quickstart')
      const N = 10
      for (let i = 0; i < N; i++) {
        const r = await producer.send({ topic: t, body: `hello ${i}`, tag: 'TagA', keys: [`key-${i}`], properties: { index: String(i) } })
        assert.equal(r.status, 'SEND_OK')
        assert.equal(r.queue.topic, t)
        assert.ok(r.msgId.length > 0)
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
        assert.ok(Buffer.isBuffer(m.body))
        assert.equal(m.reconsumeTimes, 0)
        assert.equal(typeof m.queueOffset, 'number')
        assert.ok(m.bornTimestamp > 0 && m.storeTimestamp >= m.bornTimestamp - 1000)
      }
    })

    it('async-oneway: awaited-together sends and oneway sends all arrive', async () => {
      const t = await topic('async')
      const N = 20
      const results = await Promise.all(Array.from({ length: N }, (_, i) => producer.send({ topic: t, body: `async ${i}` })))
      assert.equal(results.length, N)
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
      const results = await producer.sendBatch(Array.from({ length: N }, (_, i) => ({ topic: t, body: Buffer.from(`batch ${i}`), keys: [`b${i}`] })))
      assert.equal(results.length, 1)
      assert.equal(results[0].msgId.split(',').length, N)
      const { received } = await consume(t)
      await waitFor('the batch', 30000, () => received.length >= N)
      assert.equal(received.length, N)
      assert.equal(new Set(received.map((m) => m.queueId)).size, 1)
      assert.equal(received[0].queueId, results[0].queue.queueId)
      const offsets = received.map((m) => m.queueOffset).sort((a, b) => a - b)
      for (let i = 0; i < N; i++) assert.equal(offsets[i], results[0].queueOffset + i)
      assert.deepEqual(received.map(body).sort(), Array.from({ length: N }, (_, i) => `batch ${i}`).sort())
    })

    it('ordered: each sharding key in one queue, in order, also across a rebalance mid-stream', async () => {
      const t = await topic('ordered')
      const keys = ['k1', 'k2', 'k3']
      const M = 10
      const group = fresh('og')
      const queueOf = new Map()
      const sendRound = async (i) => {
        for (const k of keys) {
          const r = await producer.sendWithShardingKey({ topic: t, body: `${k}:${i}`, keys: [k] }, k)
          if (!queueOf.has(k)) queueOf.set(k, r.queue.queueId)
          assert.equal(r.queue.queueId, queueOf.get(k), `key ${k} stays in one queue`)
        }
      }
      // One arrival log for both members: listeners run on the one JavaScript thread.
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
        // A handover may redeliver what was not committed yet; order must hold regardless.
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
      const { received } = await consume(t)
      const sentAt = Date.now()
      await producer.send({ topic: t, body: 'delayed', delayLevel: 2 })
      const arrivals = []
      await waitFor('the delayed message', 20000, () => {
        if (received.length && !arrivals.length) arrivals.push(Date.now())
        return received.length >= 1
      })
      const dt = arrivals[0] - sentAt
      assert.ok(dt >= 4900 && dt <= 6900, `delivered after ${dt} ms`)
      assert.equal(body(received[0]), 'delayed')
    })

    it('timer: deliver-at 3 s ahead arrives 3-4 s after the send', async () => {
      const t = await topic('timer', 1)
      const { received } = await consume(t)
      const sentAt = Date.now()
      await producer.send({ topic: t, body: 'timer', deliverTimeMs: sentAt + 3000 })
      const arrivals = []
      await waitFor('the timer message', 20000, () => {
        if (received.length && !arrivals.length) arrivals.push(Date.now())
        return received.length >= 1
      })
      const dt = arrivals[0] - sentAt
      assert.ok(dt >= 2900 && dt <= 4900, `delivered after ${dt} ms`)
      assert.equal(body(received[0]), 'timer')
    })

    it('transaction: commit delivered, rollback never, unknown committed on check-back', async () => {
      const t = await topic('tx')
      const checked = []
      const tp = new TransactionProducer({ ...cluster.client, group: fresh('txp') })
      await tp.start({
        execute: (m, transactionId) => {
          assert.ok(transactionId.length > 0)
          return m.body.toString()
        },
        check: async (m) => {
          checked.push(body(m))
          return 'commit'
        },
      })
      try {
        const results = {}
        for (const state of ['commit', 'rollback', 'unknown']) {
          const r = await tp.send({ topic: t, body: state, keys: [state] })
          assert.equal(r.state, state)
          assert.equal(r.send.status, 'SEND_OK')
          results[state] = r
        }
        assert.equal(tp.metrics().sends, 3)
        const { received } = await consume(t)
        await waitFor('commit and the checked-back unknown', 30000, () => received.length >= 2)
        assert.ok(checked.includes('unknown'), 'the broker checked the unknown one back')
        assert.deepEqual(received.map(body).sort(), ['commit', 'unknown'])
        for (const m of received) assert.equal(m.properties.TRAN_MSG, 'true')
        // The rolled-back one never reaches the topic: its queues hold exactly two messages
        // (the end offsets, read by seeking to the end and committing).
        const counter = new PullConsumer({ ...cluster.client, group: fresh('count'), autoCommit: false })
        await counter.start()
        try {
          const queues = await counter.fetchQueues(t)
          await counter.assign(queues)
          for (const q of queues) await counter.seekToEnd(q)
          await counter.commit()
          let total = 0
          for (const q of queues) total += (await counter.committed(q)) ?? 0
          assert.equal(total, 2)
        } finally {
          await counter.shutdown()
        }
        assert.deepEqual(received.map(body).sort(), ['commit', 'unknown'])
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
      const { received } = await consume(t, { filter: { tag: 'A || C' }, consumeThreads: 1 })
      // END is stored last in the topic's only queue: once it and six others are in, anything
      // B would have been delivered too.
      await waitFor('END', 30000, () => received.length >= 7 && received.some((m) => body(m) === 'END'))
      assert.deepEqual(received.map(body).sort(), ['A0', 'A1', 'A2', 'C0', 'C1', 'C2', 'END'])
    })

    it('sql-filter: a > 5 AND b = \'x\' receives exactly the matching ones', async () => {
      const t = await topic('sql', 1)
      for (let a = 1; a <= 10; a++) {
        await producer.send({ topic: t, body: `m${a}`, properties: { a: String(a), b: a % 2 === 0 ? 'x' : 'y' } })
      }
      await producer.send({ topic: t, body: 'END', properties: { a: '100', b: 'x' } })
      const { received } = await consume(t, { filter: { sql92: "a > 5 AND b = 'x'" }, consumeThreads: 1 })
      await waitFor('END', 30000, () => received.length >= 4 && received.some((m) => body(m) === 'END'))
      assert.deepEqual(received.map(body).sort(), ['END', 'm10', 'm6', 'm8'])
    })

    it('bad filter: a malformed SQL92 expression is an InvalidArgument', async () => {
      const c = new PushConsumer({ ...cluster.client, group: fresh('g') })
      await assert.rejects(c.subscribe('whatever', { tag: 'A', sql92: 'a > 1' }), (e) => e.code === ErrorCode.InvalidArgument)
    })

    it('broadcast: two broadcasting members each receive every message', async () => {
      const t = await topic('broadcast')
      const N = 8
      const group = fresh('bg')
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferromq-bcast-'))
      const members = []
      for (const name of ['m1', 'm2']) {
        members.push(await consume(t, { group, messageModel: 'broadcasting', instanceName: fresh(name), offsetStoreDir: path.join(dir, name) }))
      }
      for (const { consumer } of members) {
        await waitFor('queues assigned', 20000, () => consumer.assignedQueues().length === 4)
      }
      for (let i = 0; i < N; i++) await producer.send({ topic: t, body: `b${i}` })
      for (const { received } of members) {
        await waitFor('every message at every member', 30000, () => received.length >= N)
        assert.deepEqual(received.map(body).sort(), Array.from({ length: N }, (_, i) => `b${i}`).sort())
      }
      fs.rmSync(dir, { recursive: true, force: true })
    })

    it('retry-dlq: a failing listener sees reconsumeTimes 0, 1, 2, then the message is in %DLQ%', async () => {
      const t = await topic('retry', 1)
      const group = fresh('rg')
      const seen = []
      await consume(t, {
        group,
        maxReconsumeTimes: 2,
        listener: async (m) => {
          seen.push(m.reconsumeTimes)
          assert.equal(m.topic, t)
          throw new Error('fail on purpose')
        },
      })
      const sent = await producer.send({ topic: t, body: 'doomed', keys: ['doomed'] })
      await waitFor('three deliveries', 30000, () => seen.length >= 3)
      assert.deepEqual(seen.slice(0, 3), [0, 1, 2])
      const dlq = new PullConsumer({ ...cluster.client, group: fresh('dlq'), consumeFrom: 'firstOffset' })
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

    it('pull: assign, poll each once, seek back re-reads, committed offsets survive a restart', async () => {
      const t = await topic('pull', 2)
      const N = 10
      for (let i = 0; i < N; i++) await producer.send({ topic: t, body: `p${i}` })
      const group = fresh('pg')
      const opts = { ...cluster.client, group, consumeFrom: 'firstOffset', autoCommit: false }
      const c1 = new PullConsumer(opts)
      await c1.start()
      const queues = await c1.fetchQueues(t)
      assert.equal(queues.length, 2)
      await c1.assign(queues)
      assert.equal(c1.assignment().length, 2)
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
      const ends = new Map()
      for (const m of got) ends.set(m.queueId, Math.max(ends.get(m.queueId) ?? -1, m.queueOffset + 1))
      await c1.shutdown()

      const c2 = new PullConsumer(opts)
      await c2.start()
      try {
        for (const q of queues) assert.equal(await c2.committed(q), ends.get(q.queueId) ?? null)
        await c2.assign(queues)
        await producer.send({ topic: t, body: 'after-restart' })
        const more = []
        await waitFor('the new message only', 30000, async () => {
          more.push(...(await c2.poll(500)))
          return more.length >= 1
        })
        assert.deepEqual(more.map(body), ['after-restart'])
      } finally {
        await c2.shutdown()
      }
    })

    it('pull as an async iterator: for await yields every message, ends at shutdown', async () => {
      const t = await topic('iter', 2)
      const N = 6
      for (let i = 0; i < N; i++) await producer.send({ topic: t, body: `i${i}` })
      const c = new PullConsumer({ ...cluster.client, group: fresh('ig'), consumeFrom: 'firstOffset' })
      await c.start()
      await c.subscribe(t)
      const got = []
      const timer = setTimeout(() => c.shutdown(), 30000)
      for await (const m of c) {
        got.push(body(m))
        if (got.length === N) break
      }
      clearTimeout(timer)
      await c.shutdown()
      assert.deepEqual(got.sort(), Array.from({ length: N }, (_, i) => `i${i}`).sort())
    })

    it('namespace: two namespaces share topic and group names without seeing each other', async () => {
      const t = fresh('ns')
      const group = fresh('g')
      const spaces = ['tenantA', 'tenantB']
      for (const ns of spaces) {
        // On the wire the topic is `ns%topic`: create that one.
        const wire = `${ns}%${t}`
        await admin.createTopic(wire, { queueNums: 2 })
        await waitFor(`the route of ${wire}`, 20000, async () => {
          try {
            return (await admin.topicRoute(wire)).queues.length > 0
          } catch (e) {
            if (e.code !== ErrorCode.TopicNotFound) throw e
            return false
          }
        })
      }
      for (const ns of spaces) {
        const p = new Producer({ ...cluster.client, group: fresh('p'), namespace: ns })
        await p.start()
        try {
          for (let i = 0; i < 3; i++) {
            const r = await p.send({ topic: t, body: `${ns}-${i}` })
            assert.equal(r.queue.topic, t)
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
      const bad = new Producer({ ...cluster.client, group: fresh('p'), namespace: 'bad%ns' })
      await assert.rejects(bad.start(), (e) => e.code === ErrorCode.InvalidArgument && /namespace/.test(e.message))
    })

    it('request-reply: each request gets its own reply, also 16 in flight; an unanswered one times out', async () => {
      const t = await topic('rpc')
      const wait = { timeoutMs: 20000 }
      const replier = new Producer({ ...cluster.client, group: fresh('replier') })
      await replier.start()
      open.push(replier)
      // The responder answers `pong:<body>` (a body starting with `slow` after 1.5 s) and notes
      // the queue each body came on.
      const arrived = new Map()
      await consume(t, {
        listener: async (m) => {
          arrived.set(body(m), m.queueId)
          if (body(m).startsWith('slow')) await new Promise((resolve) => setTimeout(resolve, 1500))
          const reply = replyTo(m, `pong:${body(m)}`)
          assert.equal(reply.properties.MSG_TYPE, 'reply')
          await replier.sendReply(reply).catch((e) => console.error(`reply not delivered: ${e.message}`))
        },
      })
      const N = 10
      let reply
      for (let i = 0; i < N; i++) {
        reply = await producer.request({ topic: t, body: `req-${i}` }, wait)
        assert.equal(body(reply), `pong:req-${i}`)
      }
      assert.ok(reply.topic.endsWith('_REPLY_TOPIC'), reply.topic)
      assert.equal(reply.properties.MSG_TYPE, 'reply')
      assert.equal(reply.properties.TTL, '20000')
      assert.ok(reply.properties.CORRELATION_ID)
      const replies = await Promise.all(Array.from({ length: 16 }, (_, i) => producer.request({ topic: t, body: `many-${i}` }, wait)))
      assert.deepEqual(replies.map(body), Array.from({ length: 16 }, (_, i) => `pong:many-${i}`))
      const queue = { topic: t, brokerName: (await admin.topicRoute(t)).queues[0].brokerName, queueId: 2 }
      assert.equal(body(await producer.request({ topic: t, body: 'to-queue' }, { ...wait, queue })), 'pong:to-queue')
      assert.equal(body(await producer.request({ topic: t, body: 'keyed' }, { ...wait, shardingKey: 'k' })), 'pong:keyed')
      assert.equal(body(await producer.requestWithSelector({ topic: t, body: 'picked' }, (m, n) => n - 1, wait)), 'pong:picked')
      assert.deepEqual([arrived.get('to-queue'), arrived.get('picked')], [2, 3])
      await producer.request({ topic: t, body: 'keyed-again' }, { ...wait, shardingKey: 'k' })
      assert.equal(arrived.get('keyed-again'), arrived.get('keyed'))

      // Answered too late: Timeout after timeoutMs, and the late reply (arriving while the next
      // request waits) is not taken for that request's.
      const began = Date.now()
      await assert.rejects(producer.request({ topic: t, body: 'slow-1' }, { timeoutMs: 500 }), (e) => e.code === ErrorCode.Timeout)
      const took = Date.now() - began
      assert.ok(took >= 450 && took < 1400, `timed out after ${took} ms`)
      assert.equal(body(await producer.request({ topic: t, body: 'slow-2' }, wait)), 'pong:slow-2')

      // Nobody consumes this topic.
      const nobody = await topic('rpcnobody', 1)
      await assert.rejects(producer.request({ topic: nobody, body: 'anyone?' }, { timeoutMs: 1000 }), (e) => e.code === ErrorCode.Timeout && e.retryable !== undefined)

      // Unusable arguments.
      for (const timeoutMs of [0, -1]) {
        await assert.rejects(producer.request({ topic: t, body: 'x' }, { timeoutMs }), (e) => e.code === ErrorCode.InvalidArgument && /timeout/.test(e.message))
      }
      await assert.rejects(producer.sendReply({ topic: t, body: 'not a reply' }), (e) => e.code === ErrorCode.InvalidArgument)
      await assert.rejects(producer.requestWithSelector({ topic: t, body: 'x' }, () => 0, { shardingKey: 'k' }), (e) => e.code === ErrorCode.InvalidArgument)
      assert.throws(() => replyTo({ ...reply, properties: {} }, 'x'), (e) => e.code === ErrorCode.InvalidArgument)
    })

    it('bad-input: oversized, illegal topic, unknown name server give clear errors; the producer keeps working', async () => {
      const t = await topic('bad', 1)
      await assert.rejects(producer.send({ topic: t, body: Buffer.alloc(4 * 1024 * 1024 + 1) }), (e) => {
        assert.equal(e.code, ErrorCode.InvalidArgument)
        assert.equal(e.retryable, false)
        return true
      })
      await assert.rejects(producer.send({ topic: 'bad topic!', body: 'x' }), (e) => e.code === ErrorCode.InvalidArgument)
      await assert.rejects(producer.send({ topic: t, body: '' }), (e) => e.code === ErrorCode.InvalidArgument)
      const lost = new Producer({ ...cluster.client, namesrvAddr: '127.0.0.1:1', group: fresh('p'), sendTimeoutMs: 1000, requestTimeoutMs: 1000 })
      await lost.start()
      await assert.rejects(lost.send({ topic: t, body: 'x' }), (e) => {
        assert.equal(e.code, ErrorCode.Connect)
        assert.equal(e.retryable, true)
        assert.ok(e instanceof Error && e.message.length > 0)
        return true
      })
      await lost.shutdown()
      const r = await producer.send({ topic: t, body: 'still fine' })
      assert.equal(r.status, 'SEND_OK')
    })

    it('errors: not started and shut down objects raise IllegalState', async () => {
      const p = new Producer({ ...cluster.client, group: fresh('p') })
      await assert.rejects(p.send({ topic: 'x', body: 'x' }), (e) => e.code === ErrorCode.IllegalState && e.operation === 'send')
      await p.start()
      await p.shutdown()
      await assert.rejects(p.send({ topic: 'x', body: 'x' }), (e) => e.code === ErrorCode.IllegalState)
      assert.deepEqual(Object.values(ErrorCode).sort(), ['Broker', 'Connect', 'ConnectionClosed', 'IllegalState', 'InvalidArgument', 'Io', 'Protocol', 'Timeout', 'TopicNotFound', 'Unknown'].sort())
    })

    it('metrics: a producer counts sends and a refused one, a consumer what it consumed and its lag down to 0', async () => {
      const t = await topic('metrics')
      const N = 10
      const p = new Producer({ ...cluster.client, group: fresh('p') })
      assert.throws(() => p.metrics(), (e) => e.code === ErrorCode.IllegalState)
      await p.start()
      try {
        assert.equal(p.metrics().sends, 0)
        for (let i = 0; i < N; i++) await p.send({ topic: t, body: `m${i}` })
        await assert.rejects(p.send({ topic: 'bad/topic', body: 'x' }), (e) => e.code === ErrorCode.InvalidArgument)
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

    if (!secure) {
      const runExample = (name) => new Promise((resolve, reject) => {
        const script = path.join(REPO, 'examples', 'node', name)
        execFile(process.execPath, [script], { env: { ...process.env, FERROMQ_NAMESRV: cluster.namesrvAddr }, timeout: 60000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${name}: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout))
      })

      it('examples/node/quickstart.js runs against the cluster', async () => {
        assert.match(await runExample('quickstart.js'), /received 3 of 3/)
      })

      it('examples/node/transaction.js runs against the cluster', async () => {
        assert.match(await runExample('transaction.js'), /delivered: order commit, order unknown/)
      })
    }

    if (secure) security()
  })
}

scenarios(false)
scenarios(true)
