// The ferromq-wasm example: a producer and a push consumer in the page, over WebSocket.
//
// Query parameters (all optional):
//   namesrv  the name server's WebSocket URL (ws://127.0.0.1:9877/, as scripts/dev.sh starts it)
//   topic    the topic (WasmDemo; the broker creates it on first send when it auto-creates)
//   mode     demo (send `count` messages and receive them), produce, consume, or bench
//   count    how many messages (5); consume mode waits for that many
//   group    the consumer group (a fresh one by default)
//   run      a tag put in the `run` property of the messages sent (consume counts everything)
//
// The page shows what it sent and received, and keeps it in `window.ferromq` ({ status, sent,
// received, bench, error }) so that a test can read it.
import init, { Producer, PushConsumer, version } from './pkg/ferromq_wasm.js'

const params = new URLSearchParams(location.search)
const namesrv = params.get('namesrv') || 'ws://127.0.0.1:9877/'
const topic = params.get('topic') || 'WasmDemo'
const mode = params.get('mode') || 'demo'
const count = Number(params.get('count') || 5)
const run = params.get('run') || `${Date.now()}`
const group = params.get('group') || `wasm_demo_${run}`

const state = (window.ferromq = { status: 'starting', sent: [], received: [], bench: null, error: null })
const $ = (id) => document.getElementById(id)
$('namesrv').textContent = namesrv
$('topic').textContent = topic
$('mode').textContent = mode

function status(text, error = false) {
  $('status').textContent = text
  $('status').className = error ? 'error' : ''
}

function row(table, cells) {
  const tr = document.createElement('tr')
  for (const c of cells) {
    const td = document.createElement('td')
    td.textContent = c
    tr.appendChild(td)
  }
  $(table).appendChild(tr)
}

/** Resolves when `check()` is true; rejects after `ms`. */
async function until(what, ms, check) {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function produce(producer, n) {
  for (let i = 0; i < n; i++) {
    const body = `hello from the browser ${i}`
    const r = await producer.send({
      topic,
      body,
      tag: 'TagWasm',
      keys: [`wk-${i}`, 'wkg'],
      properties: { idx: String(i), note: `nü€中-${i}`, run },
    })
    state.sent.push({ body, ...r })
    row('sent', [body, r.msgId, r.queueId, r.queueOffset])
  }
}

async function consume() {
  const consumer = new PushConsumer({ namesrvAddr: namesrv, group, consumeFrom: 'firstOffset' })
  await consumer.subscribe(topic, '*')
  consumer.onMessage((m) => {
    const seen = {
      topic: m.topic, tag: m.tag, keys: m.keys, properties: m.properties, body: m.text(),
      bodyHex: Array.from(m.body, (b) => b.toString(16).padStart(2, '0')).join(''),
      msgId: m.msgId, queueId: m.queueId, queueOffset: m.queueOffset,
      reconsumeTimes: m.reconsumeTimes, bornTimestamp: m.bornTimestamp,
    }
    state.received.push(seen)
    row('received', [seen.body, seen.tag, seen.keys.join(' '), JSON.stringify(m.properties), seen.queueId, seen.queueOffset])
  })
  await consumer.start()
  return consumer
}

/** Sends per second: `n` sends awaited one after another, then `n` in flight at once. */
async function bench(producer, n) {
  await producer.send({ topic, body: 'warm-up' })
  const body = new Uint8Array(128).fill(120)
  let t = performance.now()
  for (let i = 0; i < n; i++) await producer.send({ topic, body })
  const sequential = n / ((performance.now() - t) / 1000)
  t = performance.now()
  await Promise.all(Array.from({ length: n }, () => producer.send({ topic, body })))
  const concurrent = n / ((performance.now() - t) / 1000)
  state.bench = { n, bodyBytes: body.length, sequential: Math.round(sequential), concurrent: Math.round(concurrent) }
  $('bench').textContent = `${n} sends of ${body.length} B: ${state.bench.sequential}/s one at a time, ${state.bench.concurrent}/s all in flight`
}

async function main() {
  await init()
  status(`ferromq-wasm ${version()}: connecting`)
  const producer = new Producer({ namesrvAddr: namesrv, group: `wasm_demo_producer_${run}` })
  let consumer = null
  try {
    if (mode !== 'consume') await producer.start()
    if (mode === 'demo' || mode === 'consume') consumer = await consume()
    state.status = 'running'
    if (mode === 'demo' || mode === 'produce') await produce(producer, count)
    if (mode === 'bench') await bench(producer, count)
    if (mode === 'demo' || mode === 'consume') {
      status(`waiting for ${count} messages`)
      await until(`${count} messages`, 60000, () => state.received.length >= count)
    }
    state.status = 'done'
    status(`done: sent ${state.sent.length}, received ${state.received.length}`)
  } finally {
    if (consumer) await consumer.shutdown()
    await producer.shutdown()
  }
}

main().catch((e) => {
  state.status = 'error'
  state.error = `${e.code || ''} ${e.message || e}`
  status(`error: ${state.error}`, true)
})
