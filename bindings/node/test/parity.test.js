'use strict'
// The parity suite (tests/parity/README.md) in Node: the ten cases against a real name server
// and broker, one `<case> <outcome>` line each, compared with tests/parity/expected.txt, the
// text every language's runner must print. Waits with deadlines; the one bounded wait is the
// quiet second of listener_success.

const { it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const { Producer, PushConsumer, PullConsumer } = require('..')
const { startReadyCluster, waitFor, fresh, REPO } = require('./cluster')

const EXPECTED = path.join(REPO, 'tests', 'parity', 'expected.txt')
const WAIT = 30000
// How long listener_success watches for a delivery that should not come.
const QUIET = 1000

let ready
let namesrvAddr

before(async () => {
  ready = await startReadyCluster()
  namesrvAddr = ready.cluster.namesrvAddr
})

after(async () => {
  if (ready) await ready.stop()
})

/** `ok`, or `error=<core error kind>` (`err.code`; whatever was thrown when there is none). */
async function outcome(action) {
  try {
    await action()
    return 'ok'
  } catch (e) {
    return `error=${e && e.code !== undefined ? e.code : String(e)}`
  }
}

async function startTwice() {
  const p = new Producer({ namesrvAddr, group: fresh('parity_pg') })
  await p.start()
  try {
    return await outcome(() => p.start())
  } finally {
    await p.shutdown()
  }
}

async function startAfterShutdown() {
  const p = new Producer({ namesrvAddr, group: fresh('parity_pg') })
  await p.start()
  await p.shutdown()
  return outcome(() => p.start())
}

async function shutdownTwice() {
  const p = new Producer({ namesrvAddr, group: fresh('parity_pg') })
  await p.start()
  await p.shutdown()
  return outcome(() => p.shutdown())
}

/** A push consumer of a fresh topic with `options` and `filter`, subscribed and started. */
function pushConsumerOptions(options, filter) {
  return outcome(async () => {
    const c = new PushConsumer({ namesrvAddr, group: fresh('parity_cg'), ...options })
    try {
      await c.subscribe(fresh('parity_T'), filter)
      await c.start(() => {})
    } finally {
      await c.shutdown()
    }
  })
}

/**
 * Sends one message to a fresh topic and consumes it with `answer`, which is given the number of
 * the delivery (0 for the first); returns the started consumer and the reconsume times of the
 * deliveries once `done` holds of them.
 */
async function consumeOne(kase, answer, done) {
  const topic = fresh(`parity_${kase}`)
  await ready.createTopic(topic, 1)
  const producer = new Producer({ namesrvAddr, group: fresh('parity_pg') })
  await producer.start()
  try {
    await producer.send({ topic, body: kase })
  } finally {
    await producer.shutdown()
  }
  const seen = []
  const consumer = new PushConsumer({ namesrvAddr, group: fresh('parity_cg'), consumeFrom: 'firstOffset' })
  await consumer.subscribe(topic)
  await consumer.start((m) => {
    seen.push(m.reconsumeTimes)
    return answer(seen.length - 1)
  })
  await waitFor(kase, WAIT, async () => done(seen))
  return { consumer, seen }
}

async function listenerSuccess() {
  const { consumer, seen } = await consumeOne('listener_success', () => undefined, (s) => s.length >= 1)
  // The one bounded wait of the suite: a redelivery, if any, would come within it.
  await new Promise((resolve) => setTimeout(resolve, QUIET))
  await consumer.shutdown()
  return `deliveries=${seen.length}`
}

/** The first delivery is refused by `first`, the next ones succeed (`undefined`). */
async function retried(kase, first) {
  const { consumer, seen } = await consumeOne(
    kase,
    (delivery) => (delivery === 0 ? first() : undefined),
    (s) => s.length >= 2,
  )
  await consumer.shutdown()
  return `deliveries=${seen.length} reconsume=${seen.join(',')}`
}

async function pullSeek() {
  const topic = fresh('parity_pull_seek')
  await ready.createTopic(topic, 4)
  const producer = new Producer({ namesrvAddr, group: fresh('parity_pg') })
  await producer.start()
  try {
    for (let i = 0; i < 5; i++) await producer.sendWithShardingKey({ topic, body: `m${i}` }, 'parity')
  } finally {
    await producer.shutdown()
  }
  const consumer = new PullConsumer({ namesrvAddr, group: fresh('parity_pull'), consumeFrom: 'firstOffset' })
  await consumer.start()
  try {
    await consumer.assign(await consumer.fetchQueues(topic))
    const first = await pollUntil(consumer, 5)
    const { brokerName, queueId } = first[0]
    await consumer.seek({ topic, brokerName, queueId }, 2)
    const again = await pollUntil(consumer, 3)
    const offsets = (ms) => ms.map((m) => m.queueOffset).join(',')
    return `offsets=${offsets(first)} after_seek=${offsets(again)}`
  } finally {
    await consumer.shutdown()
  }
}

async function pollUntil(consumer, n) {
  const got = []
  const deadline = Date.now() + WAIT
  while (got.length < n) {
    assert.ok(Date.now() < deadline, `polled ${got.length} of ${n} messages`)
    got.push(...(await consumer.poll(500)))
  }
  return got
}

/** A line-by-line diff of the expected and the printed lines. */
function diff(expected, actual) {
  const out = ['--- tests/parity/expected.txt', '+++ Node runner']
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    if (expected[i] === actual[i]) {
      out.push(` ${expected[i]}`)
    } else {
      if (i < expected.length) out.push(`-${expected[i]}`)
      if (i < actual.length) out.push(`+${actual[i]}`)
    }
  }
  return out.join('\n')
}

it('every case prints the expected outcome', async () => {
  const now = Date.now()
  const cases = [
    ['start_twice', startTwice],
    ['start_after_shutdown', startAfterShutdown],
    ['shutdown_twice', shutdownTwice],
    ['invalid_consume_from', () => pushConsumerOptions({ consumeFrom: 'sideways' })],
    [
      'timestamp_without_timestamp_start',
      () => pushConsumerOptions({ consumeFrom: 'lastOffset', consumeTimestamp: now }),
    ],
    ['tag_and_sql', () => pushConsumerOptions({}, { tag: 'TagA', sql92: 'a > 1' })],
    ['listener_success', listenerSuccess],
    ['listener_retry', () => retried('listener_retry', () => false)],
    [
      'listener_throws',
      () => retried('listener_throws', () => {
        throw new Error('the listener fails its first delivery (expected by the parity suite)')
      }),
    ],
    ['pull_seek', pullSeek],
  ]
  const actual = []
  for (const [kase, run] of cases) {
    const line = `${kase} ${await run()}`
    console.log(line)
    actual.push(line)
  }
  const expected = fs.readFileSync(EXPECTED, 'utf8').replace(/\n$/, '').split('\n')
  assert.ok(
    JSON.stringify(actual) === JSON.stringify(expected),
    `the Node runner's outcomes differ from tests/parity/expected.txt:\n${diff(expected, actual)}`,
  )
})
