'use strict'
// The helpers that need no server: the stored-message codec, SQL92 selectors, tag hash codes,
// option checks and the error mapping.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')

const { load } = require('./cluster')

const w = load()

describe('offline helpers', () => {
  it('encodeMessage / decodeMessages round-trip every field', () => {
    const bytes = w.encodeMessage({
      topic: 'TopicTest',
      body: new Uint8Array([0, 1, 2, 250, 255]),
      tag: 'TagA',
      keys: ['k1', 'k2'],
      properties: { a: '1', note: 'nü€中' },
      queueId: 3,
      queueOffset: 42,
      commitLogOffset: 123456,
      bornTimestamp: 1700000000000,
      storeTimestamp: 1700000000123,
      bornHost: '10.0.0.1:5555',
      storeHost: '10.0.0.2:10911',
      reconsumeTimes: 2,
      flag: 7,
    })
    assert.ok(bytes instanceof Uint8Array)
    // TOTALSIZE (big-endian) is the whole record.
    assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getInt32(0), bytes.length)
    const [m, ...rest] = w.decodeMessages(bytes)
    assert.equal(rest.length, 0)
    assert.equal(m.topic, 'TopicTest')
    assert.deepEqual(Array.from(m.body), [0, 1, 2, 250, 255])
    assert.equal(m.tag, 'TagA')
    assert.deepEqual(m.keys, ['k1', 'k2'])
    assert.equal(m.properties.a, '1')
    assert.equal(m.properties.note, 'nü€中')
    assert.equal(m.queueId, 3)
    assert.equal(m.queueOffset, 42)
    assert.equal(m.commitLogOffset, 123456)
    assert.equal(m.bornTimestamp, 1700000000000)
    assert.equal(m.storeTimestamp, 1700000000123)
    assert.equal(m.bornHost, '10.0.0.1:5555')
    assert.equal(m.storeHost, '10.0.0.2:10911')
    assert.equal(m.reconsumeTimes, 2)
    assert.equal(m.flag, 7)
    // No UNIQ_KEY: the message id is the offset id (store host + commit log offset).
    assert.equal(m.msgId, m.offsetMsgId)
    assert.equal(m.offsetMsgId, '0A00000200002A9F000000000001E240')
  })

  it('decodeMessages reads several records and text() decodes UTF-8', () => {
    const a = w.encodeMessage({ topic: 'T', body: 'first ü' })
    const b = w.encodeMessage({ topic: 'T', body: 'second' })
    const both = new Uint8Array(a.length + b.length)
    both.set(a)
    both.set(b, a.length)
    const ms = w.decodeMessages(both)
    assert.deepEqual(ms.map((m) => m.text()), ['first ü', 'second'])
    assert.deepEqual(w.decodeMessages(new Uint8Array(0)), [])
  })

  it('decodeMessages rejects malformed input with a Protocol error, at every cut', () => {
    const bytes = w.encodeMessage({ topic: 'T', body: 'hello', properties: { a: '1' } })
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.throws(() => w.decodeMessages(bytes.subarray(0, cut)), (e) => e.code === 'Protocol' && e.retryable === false, `cut at ${cut}`)
    }
  })

  it('encodeMessage refuses bad input with InvalidArgument', () => {
    for (const bad of [{ body: 'x' }, { topic: 'T' }, { topic: 'T', body: '' }, { topic: 'T', body: 5 }, { topic: 'T', body: 'x', bornHost: 'nope' }, { topic: 'T', body: 'x', queueId: 2 ** 40 }]) {
      assert.throws(() => w.encodeMessage(bad), (e) => e.code === 'InvalidArgument', JSON.stringify(bad))
    }
  })

  it('sql92Matches and sql92Outcome decide as the broker does', () => {
    const sel = "a > 5 AND b = 'x'"
    assert.equal(w.sql92Matches(sel, { a: '7', b: 'x' }), true)
    assert.equal(w.sql92Matches(sel, { a: '7', b: 'y' }), false)
    assert.equal(w.sql92Matches(sel, { a: '5', b: 'x' }), false)
    assert.equal(w.sql92Matches(sel, { b: 'x' }), false)
    assert.equal(w.sql92Outcome('a > 5', {}), 'UNKNOWN')
    assert.equal(w.sql92Outcome('a > 5', { a: 'abc' }), 'ERROR')
    assert.equal(w.sql92Outcome('a > 5', { a: '6' }), 'TRUE')
    assert.equal(w.sql92Outcome('a IS NULL', {}), 'TRUE')
    assert.equal(w.sql92Matches("TAGS IN ('A', 'C')", { TAGS: 'C' }), true)
    assert.equal(w.sql92Matches('a BETWEEN 1 AND 3', { a: 2 }), true, 'numbers are read as their text')
    assert.throws(() => w.sql92Matches('a >', {}), (e) => e.code === 'InvalidArgument' && /SQL92/.test(e.message))
    assert.throws(() => w.sql92Matches('a > 1', { a: {} }), (e) => e.code === 'InvalidArgument')
  })

  it('tagHashCode is Java String.hashCode (UTF-16 units)', () => {
    assert.equal(w.tagHashCode('TagA'), 2598919)
    assert.equal(w.tagHashCode(''), 0)
    assert.equal(w.tagHashCode('中'), 0x4e2d)
    assert.equal(w.tagHashCode('😀'), 0xd83d * 31 + 0xde00)
    // Overflow wraps like Java's int: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
    assert.equal(w.tagHashCode('polygenelubricants'), -2147483648)
  })

  it('options are checked when objects are built', () => {
    assert.throws(() => new w.Producer({ namesrvAddr: 'ws://h:1/', retryTimes: -1 }), (e) => e.code === 'InvalidArgument')
    assert.throws(() => new w.PushConsumer({ namesrvAddr: 'ws://h:1/' }), (e) => e.code === 'InvalidArgument' && /group/.test(e.message))
    assert.throws(() => new w.PushConsumer({ namesrvAddr: 'ws://h:1/', group: 'g', consumeFrom: 'middle' }), (e) => e.code === 'InvalidArgument')
    assert.throws(() => new w.PullConsumer({ namesrvAddr: 'http://h:1/', group: 'g' }), (e) => e.code === 'InvalidArgument')
    assert.ok(new w.PullConsumer({ namesrvAddr: 'ws://a:1/;wss://b:2/', group: 'g' }))
    assert.throws(() => new w.Producer({ namesrvAddr: 'ws://h:1/', namespace: 'bad%ns' }), (e) => e.code === 'InvalidArgument' && /namespace/.test(e.message))
    assert.throws(() => new w.PullConsumer({ namesrvAddr: 'ws://h:1/', group: 'g', namespace: 'a b' }), (e) => e.code === 'InvalidArgument' && /namespace/.test(e.message))
    assert.ok(new w.Producer({ namesrvAddr: 'ws://h:1/', namespace: 'tenant_A' }))
    assert.equal(typeof w.PullConsumer.prototype[Symbol.asyncIterator], 'function')
  })

  it('push consumer housekeeping options are taken, and invalid values refused', () => {
    const base = { namesrvAddr: 'ws://h:1/', group: 'g' }
    assert.ok(new w.PushConsumer({
      ...base,
      consumeTimeoutMs: 60000,
      suspendCurrentQueueTimeMs: 10,
      awaitTerminationMs: 0,
      pullThresholdForQueue: 5,
      pullThresholdSizeForQueue: 1 << 20,
      pullThresholdForTopic: 40,
      pullThresholdSizeForTopic: 8 << 20,
    }))
    const refused = [
      [{ consumeTimeoutMs: 0 }, /consume timeout must be more than zero/],
      [{ suspendCurrentQueueTimeMs: 5 }, /from 10 ms to 30 s/],
      [{ pullThresholdForQueue: 0 }, /pull thresholds/],
      [{ pullThresholdForTopic: 0 }, /pull thresholds/],
      [{ pullThresholdSizeForTopic: 0 }, /pull size thresholds/],
    ]
    for (const [options, message] of refused) {
      assert.throws(
        () => new w.PushConsumer({ ...base, ...options }),
        (e) => e.code === 'InvalidArgument' && message.test(e.message),
        JSON.stringify(options)
      )
    }
  })
})
