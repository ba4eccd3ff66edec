'use strict'
// A small benchmark of the Node binding: 1 KiB sends per second, sync (awaited one by one, then
// with the blocking sendSync) and async (a window of sends in flight), and consume throughput
// with a push listener.
//
//   node bench.js [--seconds 5] [--window 128] [--size 1024]
//
// Against FERROMQ_NAMESRV if set; otherwise it starts a name server and a broker from
// target/debug (or FERROMQ_BIN_DIR) on free ports and stops them at the end. Speed is measured
// here, never asserted in tests. For comparable figures, build release servers and addon.

const { Admin, Producer, PushConsumer } = require('.')
const { startCluster, waitFor, fresh } = require('./test/cluster')

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : dflt
}

async function main() {
  const seconds = arg('seconds', 5)
  const window = arg('window', 128)
  const size = arg('size', 1024)
  let cluster
  let namesrvAddr = process.env.FERROMQ_NAMESRV
  if (!namesrvAddr) {
    cluster = await startCluster()
    namesrvAddr = cluster.namesrvAddr
  }
  const admin = new Admin({ namesrvAddr })
  const topic = fresh('bench')
  await waitFor('the broker', 20000, async () => {
    try {
      await admin.createTopic(topic, { queueNums: 8 })
      await admin.topicRoute(topic)
      return true
    } catch (e) {
      return false
    }
  })
  const producer = new Producer({ namesrvAddr, group: fresh('bench_p') })
  await producer.start()
  const body = Buffer.alloc(size, 'x')
  const message = { topic, body }
  let sent = 0

  // Sync: one send at a time.
  let n = 0
  let t0 = process.hrtime.bigint()
  const syncEnd = Date.now() + seconds * 1000
  while (Date.now() < syncEnd) {
    await producer.send(message)
    n++
  }
  let secs = Number(process.hrtime.bigint() - t0) / 1e9
  sent += n
  console.log(`sync send:  ${(n / secs).toFixed(0)} msg/s (${n} in ${secs.toFixed(1)} s, ${size} B)`)

  // sendSync: one send at a time, blocking the JavaScript thread (builds that have it).
  if (typeof producer.sendSync === 'function') {
    n = 0
    t0 = process.hrtime.bigint()
    const blockingEnd = Date.now() + seconds * 1000
    while (Date.now() < blockingEnd) {
      producer.sendSync(message)
      n++
    }
    secs = Number(process.hrtime.bigint() - t0) / 1e9
    sent += n
    console.log(`sendSync:   ${(n / secs).toFixed(0)} msg/s (${n} in ${secs.toFixed(1)} s, ${size} B)`)
  }

  // Async: `window` sends in flight.
  n = 0
  t0 = process.hrtime.bigint()
  const asyncEnd = Date.now() + seconds * 1000
  await Promise.all(Array.from({ length: window }, async () => {
    while (Date.now() < asyncEnd) {
      await producer.send(message)
      n++
    }
  }))
  secs = Number(process.hrtime.bigint() - t0) / 1e9
  sent += n
  console.log(`async send: ${(n / secs).toFixed(0)} msg/s (${n} in ${secs.toFixed(1)} s, window ${window})`)

  // Consume everything sent with a listener.
  let got = 0
  const consumer = new PushConsumer({ namesrvAddr, group: fresh('bench_c'), consumeFrom: 'firstOffset' })
  await consumer.subscribe(topic)
  // Timed from the first message delivered to the last (the group's start-up and rebalance
  // not counted).
  let t1 = t0
  await consumer.start(() => {
    got++
    if (got === 1) t0 = process.hrtime.bigint()
    if (got === sent) t1 = process.hrtime.bigint()
  })
  await waitFor('every message consumed', 300000, () => got >= sent)
  secs = Number(t1 - t0) / 1e9
  console.log(`consume:    ${(got / secs).toFixed(0)} msg/s (${got} in ${secs.toFixed(1)} s, listener)`)

  await consumer.shutdown()
  await producer.shutdown()
  await admin.shutdown()
  if (cluster) await cluster.stop()
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
