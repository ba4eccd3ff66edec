'use strict'
// The parity suite (tests/parity/README.md) with the WebAssembly package, its Node flavour,
// against a real name server and broker reached over WebSocket: the ten cases in order, one
// `<case> <outcome>` line each, which must equal tests/parity/expected.txt. Error outcomes name
// the core's error kind (`err.code`). Topics and groups are fresh per run.

const { it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const { startReadyCluster, waitFor, fresh, load, REPO } = require('./cluster')

const { Producer, PushConsumer, PullConsumer } = load()

const EXPECTED = path.join(REPO, 'tests', 'parity', 'expected.txt')
const QUIET_MS = 1000

let ready
let producer
const open = []

before(async () => {
  ready = await startReadyCluster()
  producer = new Producer({ namesrvAddr: ready.cluster.namesrvWs, group: fresh('parity_p') })
  await producer.start()
})

after(async () => {
  for (const c of open) await c.shutdown()
  if (producer) await producer.shutdown()
  if (ready) await ready.stop()
})

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** `ok` when `run` succeeds, else `error=<kind>`. */
async function outcome(run) {
  try {
    await run()
    return 'ok'
  } catch (e) {
    return `error=${e && e.code ? e.code : `not-a-ferromq-error(${e})`}`
  }
}

function newProducer() {
  return new Producer({ namesrvAddr: ready.cluster.namesrvWs, group: fresh('parity_p') })
}

function pushOptions(extra) {
  return { namesrvAddr: ready.cluster.namesrvWs, group: fresh('parity_g'), ...extra }
}

/** One message to a fresh topic; `answer(attempt)` is the listener's answer to each delivery. */
async function deliveries(answer) {
  const topic = fresh('ParityListener')
  await ready.createTopic(topic, 1)
  await producer.send({ topic, body: 'parity' })
  const reconsume = []
  const consumer = new PushConsumer(pushOptions({ consumeFrom: 'firstOffset' }))
  open.push(consumer)
  await consumer.subscribe(topic)
  await consumer.start((m) => {
    reconsume.push(m.reconsumeTimes)
    return answer(reconsume.length)
  })
  return { consumer, reconsume }
}

async function settle({ consumer, reconsume }, atLeast) {
  await waitFor(`${atLeast} deliveries`, 30000, async () => reconsume.length >= atLeast)
  await sleep(QUIET_MS)
  await consumer.shutdown()
  return reconsume
}

const CASES = [
  ['start_twice', async () => {
    const p = newProducer()
    await p.start()
    try {
      return await outcome(() => p.start())
    } finally {
      await p.shutdown()
    }
  }],
  ['start_after_shutdown', async () => {
    const p = newProducer()
    await p.start()
    await p.shutdown()
    return outcome(() => p.start())
  }],
  ['shutdown_twice', async () => {
    const p = newProducer()
    await p.start()
    await p.shutdown()
    return outcome(() => p.shutdown())
  }],
  // The constructor checks the options; start() is reached only if it did not.
  ['invalid_consume_from', () => outcome(async () => {
    const c = new PushConsumer(pushOptions({ consumeFrom: 'sideways' }))
    open.push(c)
    await c.start(() => {})
  })],
  ['timestamp_without_timestamp_start', () => outcome(async () => {
    const c = new PushConsumer(pushOptions({ consumeTimestamp: Date.now() }))
    open.push(c)
    await c.start(() => {})
  })],
  ['tag_and_sql', () => outcome(async () => {
    const c = new PushConsumer(pushOptions({}))
    open.push(c)
    await c.subscribe(fresh('ParityFilter'), { tag: 'A', sql92: 'a > 1' })
  })],
  ['listener_success', async () => {
    const seen = await settle(await deliveries(() => undefined), 1)
    return `deliveries=${seen.length}`
  }],
  ['listener_retry', async () => {
    const seen = await settle(await deliveries((n) => (n === 1 ? false : undefined)), 2)
    return `deliveries=${seen.length} reconsume=${seen.join(',')}`
  }],
  ['listener_throws', async () => {
    const seen = await settle(await deliveries((n) => {
      if (n === 1) throw new Error('listener failure (expected by the parity suite)')
    }), 2)
    return `deliveries=${seen.length} reconsume=${seen.join(',')}`
  }],
  ['pull_seek', async () => {
    const topic = fresh('ParitySeek')
    await ready.createTopic(topic, 4)
    for (let i = 0; i < 5; i++) {
      await producer.send({ topic, body: `m${i}`, shardingKey: 'parity' })
    }
    const c = new PullConsumer({ namesrvAddr: ready.cluster.namesrvWs, group: fresh('parity_g'), consumeFrom: 'firstOffset' })
    open.push(c)
    await c.subscribe(topic)
    await c.start()
    const collect = async (n) => {
      const got = []
      await waitFor(`${n} pulled messages`, 30000, async () => {
        got.push(...(await c.poll(500)))
        return got.length >= n
      })
      return got
    }
    const first = await collect(5)
    const { brokerName, queueId } = first[0]
    await c.seek({ topic, brokerName, queueId }, 2)
    const again = await collect(3)
    await c.shutdown()
    const offsets = (ms) => ms.map((m) => m.queueOffset).join(',')
    return `offsets=${offsets(first)} after_seek=${offsets(again)}`
  }],
]

it('prints the outcomes of tests/parity/expected.txt', async () => {
  const lines = []
  for (const [name, run] of CASES) {
    let result
    try {
      result = await run()
    } catch (e) {
      result = `failed: ${e && e.stack ? e.stack : e}`
    }
    const line = `${name} ${result}`
    console.log(line)
    lines.push(line)
  }
  const expected = fs.readFileSync(EXPECTED, 'utf8').split('\n').filter((l) => l !== '')
  assert.deepEqual(lines, expected)
})
