'use strict'
// docs/scenarios.md, "message-trace", with the WebAssembly package (its Node flavour, over
// WebSocket) against a real FerroMQ name server and broker: traced producers, a traced
// transaction producer and traced push consumers (`enableMsgTrace`) write records to
// RMQ_SYS_TRACE_TOPIC; the test queries it by message id through this package's Admin and
// decodes the records with the Node suite's reader (bindings/node/test/trace_records.js).
// client-core/tests/trace.rs checks the same in Rust.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')

const { startReadyCluster, waitFor, fresh, load } = require('./cluster')
const { TRACE_TOPIC, waitForRecords } = require('../../node/test/trace_records')

const { Producer, PushConsumer, TransactionProducer } = load()

describe('message-trace over WebSocket', () => {
  let ready
  let brokerAddr
  const open = []

  before(async () => {
    ready = await startReadyCluster()
    brokerAddr = ready.cluster.brokerAddr
  })

  after(async () => {
    for (const o of open) await o.shutdown()
    if (ready) await ready.stop()
  })

  async function topic(name, queueNums) {
    await ready.createTopic(name, queueNums)
    return name
  }

  async function started(object, ...args) {
    await object.start(...args)
    open.push(object)
    return object
  }

  function tracedProducer(group, options = {}) {
    return started(new Producer({ ...ready.cluster.client, group, enableMsgTrace: true, ...options }))
  }

  /** A traced push consumer of `group` on `t` collecting into `received`. */
  async function tracedConsumer(group, t, received, options = {}) {
    const c = new PushConsumer({ ...ready.cluster.client, group, consumeFrom: 'firstOffset', enableMsgTrace: true, ...options })
    await c.subscribe(t)
    return started(c, (m) => { received.push(m) })
  }

  const records = (msgId, counts, ends = 0) => waitForRecords(ready.admin, waitFor, msgId, counts, ends)

  /** One SubBefore/SubAfter pair of `group` sharing a request id, for a first delivery that succeeded. */
  function checkConsumed(found, group, msgId, keys) {
    assert.equal(found.SubBefore.length, 1)
    assert.equal(found.SubAfter.length, 1)
    // SubBefore: timestamp, regionId, group, requestId, msgId, retryTimes, keys.
    const [before] = found.SubBefore
    assert.equal(before[3], group)
    assert.ok(before[4], 'a request id')
    assert.deepEqual(before.slice(5, 8), [msgId, '0', keys])
    // SubAfter: requestId, msgId, costTime, success, keys, contextCode, timestamp, group.
    const [after] = found.SubAfter
    assert.deepEqual(after.slice(1, 3), [before[4], msgId])
    assert.deepEqual([after[4], after[5], after[6]], ['true', keys, '0'])
    assert.equal(after[8], group)
  }

  it('message-trace: a traced send and consumption are found in the trace topic by the message id', async () => {
    const t = await topic(fresh('traced'), 2)
    const pg = fresh('tracepg')
    const cg = fresh('tracecg')
    const p = await tracedProducer(pg)
    const sent = await p.send({ topic: t, body: 'traced', tag: 'TagT', keys: ['order-1', 'order-2'] })
    const received = []
    await tracedConsumer(cg, t, received)
    await waitFor('the traced message', 30000, () => received.length >= 1)
    assert.equal(received[0].msgId, sent.msgId)
    const found = await records(sent.msgId, { Pub: 1, SubBefore: 1, SubAfter: 1 })
    // Pub: timestamp, regionId, group, topic, msgId, tags, keys, storeHost, bodyLength,
    // costTime, msgType, offsetMsgId, success.
    const [pub] = found.Pub
    assert.deepEqual(pub.slice(3, 8), [pg, t, sent.msgId, 'TagT', 'order-1 order-2'])
    assert.equal(pub[8], brokerAddr)
    assert.equal(pub[9], '6')
    assert.deepEqual([pub[11], pub[12], pub[13]], ['0', sent.offsetMsgId, 'true'])
    checkConsumed(found, cg, sent.msgId, 'order-1 order-2')
  })

  it('message-trace: each message of a traced batch has its own Pub record and consumption pair', async () => {
    const t = await topic(fresh('tracedbatch'), 1)
    const pg = fresh('tracebatchpg')
    const cg = fresh('tracebatchcg')
    const p = await tracedProducer(pg)
    const bodies = [0, 1, 2].map((i) => `batched ${i}`)
    const results = await p.sendBatch(bodies.map((body, i) => ({ topic: t, body, tag: `T${i}`, keys: [`batch-key-${i}`] })))
    assert.equal(results.length, 1)
    const ids = results[0].msgId.split(',')
    const offsetIds = results[0].offsetMsgId.split(',')
    assert.deepEqual([new Set(ids).size, new Set(offsetIds).size], [3, 3])
    const received = []
    await tracedConsumer(cg, t, received)
    await waitFor('the batch', 30000, () => received.length >= 3)
    assert.deepEqual(received.map((m) => m.msgId).sort(), [...ids].sort())
    for (let i = 0; i < 3; i++) {
      const found = await records(ids[i], { Pub: 1, SubBefore: 1, SubAfter: 1 })
      const [pub] = found.Pub
      assert.deepEqual(pub.slice(3, 8), [pg, t, ids[i], `T${i}`, `batch-key-${i}`])
      assert.equal(pub[9], String(bodies[i].length))
      assert.deepEqual([pub[11], pub[12], pub[13]], ['0', offsetIds[i], 'true'])
      checkConsumed(found, cg, ids[i], `batch-key-${i}`)
    }
  })

  it('message-trace: a transaction left unknown and committed on the check-back has both EndTransaction records', async () => {
    const t = await topic(fresh('tracedtx'), 1)
    const pg = fresh('tracetxpg')
    const cg = fresh('tracetxcg')
    const checked = []
    const tp = new TransactionProducer({ ...ready.cluster.client, group: pg, enableMsgTrace: true })
    await started(tp, {
      execute: () => 'unknown',
      check: (m) => {
        checked.push(m.text())
        return 'commit'
      },
    })
    const sent = await tp.send({ topic: t, body: 'checked', keys: ['check-1'] })
    assert.equal(sent.state, 'unknown')
    const msgId = sent.send.msgId
    const received = []
    await tracedConsumer(cg, t, received)
    await waitFor('the committed message', 40000, () => received.length >= 1)
    assert.equal(received[0].msgId, msgId)
    const found = await records(msgId, { Pub: 1, SubBefore: 1, SubAfter: 1 }, 2)
    assert.deepEqual([...new Set(checked)], ['checked'])
    const [pub] = found.Pub
    assert.deepEqual(pub.slice(3, 6), [pg, t, msgId])
    assert.equal(pub[11], '1') // a transaction half message
    // EndTransaction: timestamp, regionId, group, topic, msgId, tags, keys, storeHost, msgType,
    // transactionId, transactionState, fromTransactionCheck. One for the local decision, one
    // per check-back (a slow answer may be asked for again).
    const ends = found.EndTransaction
    const local = ends.filter((r) => r[12] === 'false')
    assert.equal(local.length, 1, JSON.stringify(ends))
    assert.equal(local[0][11], 'UNKNOW')
    const checkedBack = ends.filter((r) => r[12] !== 'false')
    assert.ok(checkedBack.length >= 1)
    for (const r of checkedBack) assert.deepEqual([r[11], r[12]], ['COMMIT_MESSAGE', 'true'])
    for (const end of ends) {
      assert.deepEqual(end.slice(3, 9), [pg, t, msgId, 'null', 'check-1', brokerAddr])
      assert.equal(end[9], '2') // Java writes every end as a transaction commit type
      assert.equal(end[10], sent.send.transactionId)
    }
    checkConsumed(found, cg, msgId, 'check-1')
  })

  it('message-trace: namespaced clients trace the bare names into the bare trace topic', async () => {
    const ns = 'tenantT'
    const t = fresh('tracedns')
    const pg = fresh('tracenspg')
    const cg = fresh('tracenscg')
    await topic(`${ns}%${t}`, 1)
    const p = await tracedProducer(pg, { namespace: ns })
    const sent = await p.send({ topic: t, body: 'in a namespace', keys: ['ns-key'] })
    assert.equal(sent.topic, t)
    const received = []
    await tracedConsumer(cg, t, received, { namespace: ns })
    await waitFor('the namespaced message', 30000, () => received.length >= 1)
    const found = await records(sent.msgId, { Pub: 1, SubBefore: 1, SubAfter: 1 })
    const [pub] = found.Pub
    assert.deepEqual(pub.slice(3, 8), [pg, t, sent.msgId, 'null', 'ns-key'])
    checkConsumed(found, cg, sent.msgId, 'ns-key')
    await assert.rejects(ready.admin.topicRoute(`${ns}%${TRACE_TOPIC}`), (e) => e.code === 'TopicNotFound',
      'nothing was written to the namespaced trace topic')
  })
})
